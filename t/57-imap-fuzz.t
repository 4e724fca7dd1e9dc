#!/bin/sh
# Bounded mutational fuzz of imapd (t/imap/fuzz.py): a few hundred logged-in
# sessions from mutated valid transcripts, fixed seeds, four at a time on
# the same mailboxes.  No crash, no sanitizer report, only well-formed
# responses; the mailboxes still scan cleanly and no message is lost.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
need_cmd python3
imap_env
conf_set auth_failure_delay 0
for i in 1 2 3 4 5 6; do msg $i | deliver alice; done
# the fuzzed sessions may copy into fz/one; create it with a message
msg 100 | mkfolder alice fz/one

# sanitizer reports go to files too (the user process may lose stderr)
mkdir -p "$T_TMP/san" && chmod 1777 "$T_TMP/san"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T_TMP/san/report"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T_TMP/san/report:print_stacktrace=1"
cd "$T_TMP" || exit 1
for seed in 1 2; do
	python3 "$IMAP_SRC/fuzz.py" "$B/imapd" "$FCONF" 100 "$seed" > "fuzz.$seed" 2>&1
	r=$?
	sed -n 's/^# /# /p' "fuzz.$seed" | tail -n 5
	ok $r "fuzz seed $seed: 100 sessions, no crash, sanitizer silent, well-formed replies"
done
if sanitized; then
	is "$(ls "$T_TMP/san" | wc -l)" 0 "no sanitizer report"
else
	skip "no sanitizer report: not a SANITIZE=1 build"
fi
cat "$T_TMP"/san/* 2>/dev/null | head -n 30 | sed 's/^/# /'
[ -f fuzz-fail.in ] && diag "first failing input: $T_TMP/fuzz-fail.in" && sed -n 1,20p fuzz-fail.in | head -c 2000

"$B/t/bin/mboxtool" scan "$SPOOL/alice" > scan.out; ok $? "INBOX scans cleanly"
for i in 1 2 3 4 5 6; do
	grep -q "^Message-ID: <m$i@example.test>" "$SPOOL/alice" || { echo "# message $i lost"; false; } || break
done
ok $? "no message of the INBOX lost"
is "$(sed -n 's/.* uid=\([0-9]*\) .*/\1/p' scan.out | sort -n | uniq -d | wc -l)" 0 "INBOX UIDs unique"
"$B/t/bin/mboxtool" scan "$MAILDIR_A/fz/one" > scan2.out; ok $? "fz/one scans cleanly"
grep -q '^Message-ID: <m100@example.test>' "$MAILDIR_A/fz/one"; ok $? "fz/one keeps its message"
imap > sel.out <<'IN'
c1 LOGIN alice alice-pw
c2 SELECT INBOX
c3 UID FETCH 1:* (UID FLAGS)
c4 LOGOUT
IN
tagged c3 sel.out | grep -q '^c3 OK'; ok $? "the INBOX is served after the fuzzing"
is "$(grep -c '^\* [0-9]* FETCH' sel.out)" "$(grep -c ' uid=' scan.out)" "every message in the file is served"

done_testing
