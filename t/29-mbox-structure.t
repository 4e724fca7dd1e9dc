#!/bin/sh
# libmbox's structure (issue 11 item 1): no cycle in the file-level call
# graph (t/lib/callgraph.sh), mbox_lock the only caller of recovery, no
# reader that locks behind its caller's back, lock internals not public.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
S=$FACTEUR_SRC/libmbox
[ -f "$S/recover.c" ] || { echo "Bail out! no $S/recover.c"; exit 1; }
sh "$FACTEUR_SRC/t/lib/callgraph.sh" "$S" > "${TMPDIR:-/tmp}/cg.$$"
r=$?
sed 's/^/# /' "${TMPDIR:-/tmp}/cg.$$"
ok $r "libmbox's call graph has no cycle"
grep -q '^lock -> recover$' "${TMPDIR:-/tmp}/cg.$$"; ok $? "lock calls recover"
is "$(grep -l 'mbox_recover(' "$S"/*.c | xargs -n1 basename | sort | tr '\n' ' ')" "lock.c recover.c " \
	"mbox_recover is called from lock.c only"
rm -f "${TMPDIR:-/tmp}/cg.$$"
is "$(grep -c 'mbox_lock(' "$S/read.c" "$S/scan.c" "$S/recover.c" "$S/journal.c" | awk -F: '{s += $2} END {print s}')" 0 \
	"read, scan, recover and journal never take a lock"
grep -qE 'dotlocked|lock_ino|lockpath|mbox_set_crash|getenv' "$S/mbox.h"; r=$?
[ $r -eq 1 ]; ok $? "mbox.h shows no lock internals"
done_testing
