#!/bin/sh
# libmbox/folder.c unit tests (t/unit/folder.c): the folder tree under
# mail_folders, create/delete/rename, subscriptions in Dovecot's format.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
[ -x "$B/t/unit/folder" ] || skip_all "t/unit/folder not built"
tmpdir
TMPDIR=$T_TMP "$B/t/unit/folder"
