#!/bin/sh
# lib/priv.c: the pre-auth split and privilege drops (t/unit/priv.c).  As
# root it runs twice: as root (uids, chroot) and as nobody (the non-root path).
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
tmpdir

[ -x "$B/t/unit/priv" ] || { echo "Bail out! build first"; exit 1; }
if [ "$(id -u)" = 0 ]; then
	sub_tap root "$B/t/unit/priv"
	chmod 755 "$T_TMP"
	mkdir "$T_TMP/nobody" && chown nobody "$T_TMP/nobody"
	if ! command -v setpriv >/dev/null 2>&1 ||
	   ! setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups test -x "$B/t/unit/priv"; then
		skip "nobody cannot run $B/t/unit/priv (setpriv missing or the build dir is private)"
	else
		TMPDIR=$T_TMP/nobody sub_tap nobody setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" \
			--clear-groups "$B/t/unit/priv"
	fi
else
	sub_tap user "$B/t/unit/priv"
fi
done_testing
