#!/bin/sh
# 8 writer processes x 250 messages into one mailbox while a scanner checks
# every message it sees (regenerated from its X-Test-Id: torn or mixed bytes
# show) and a rewriter adds and expunges its own marker messages, changes
# flags and assigns UIDs.  At the end every writer message is there exactly
# once, byte-identical.  Helper: t/unit/mboxconc.c.
. "$(dirname "$0")/lib/tap.sh"
# tmpfs when there is one: this tests locking and layout, not the disk, and
# fsync on a busy disk would make the run several times longer
[ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && TMPDIR=/dev/shm
tmpdir
export MBOX_JOURNAL_DIR="$T_TMP/journal"
mkdir -p "$MBOX_JOURNAL_DIR"
H="$B/t/unit/mboxconc"
M="$T_TMP/mbox"
W=${CONC_WRITERS:-8}
N=${CONC_MESSAGES:-250}
[ -x "$H" ] || { echo "Bail out! $H not built"; exit 1; }

"$H" scanner "$M" "$T_TMP/stop" > "$T_TMP/scanner.out" 2> "$T_TMP/scanner.err" &
SP=$!
"$H" rewriter "$M" "$T_TMP/stop" > "$T_TMP/rewriter.out" 2> "$T_TMP/rewriter.err" &
RP=$!
pids=
i=1
while [ $i -le $W ]; do
	"$H" writer "$M" $i $N 2> "$T_TMP/writer$i.err" &
	pids="$pids $!"
	i=$((i + 1))
done
fail=0
for p in $pids; do wait $p || fail=1; done
ok $fail "all $W writers delivered $N messages each"
sleep 1   # a few more scanner and rewriter rounds on the complete mailbox
touch "$T_TMP/stop"
wait $SP; ok $? "scanner exited"
wait $RP; ok $? "rewriter exited"
cat "$T_TMP"/writer*.err | head -5 | sed 's/^/# /'

s=$(cat "$T_TMP/scanner.out")
diag "scanner: $s"
case $s in *" torn=0") r=0 ;; *) r=1 ;; esac
ok $r "the scanner never saw a torn message"
head -5 "$T_TMP/scanner.err" | sed 's/^/# /'
case $s in passes=0*|"") r=1 ;; *) r=0 ;; esac
ok $r "the scanner made passes"

w=$(cat "$T_TMP/rewriter.out")
diag "rewriter: $w"
case $w in *" fails=0") r=0 ;; *) r=1 ;; esac
ok $r "every rewrite succeeded (or nothing was stale)"
head -5 "$T_TMP/rewriter.err" | sed 's/^/# /'
case $w in rounds=0*|"") r=1 ;; *) r=0 ;; esac
ok $r "the rewriter made rounds"

c=$("$H" check "$M" $W $N)
r=$?
echo "$c" | head -20 | sed 's/^/# /'
ok $r "each writer message present exactly once and byte-identical"
ls "$MBOX_JOURNAL_DIR" | grep -v '\.append$' | grep -q . ; r=$?
[ $r -ne 0 ]; ok $? "no journal left behind"
# append records stay (one per mailbox), cleared after each append
set -- "$MBOX_JOURNAL_DIR"/*.append
[ -e "$1" ] && [ -z "$(cat "$@" | tr -d '\000')" ]; ok $? "append records exist and are cleared"
done_testing
