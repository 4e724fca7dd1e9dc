#!/bin/sh
# Issue 18: ten sessions logged in once on one mailbox doing a random mix
# of FETCH (flags, headers, bodies), STORE, APPEND, UID EXPUNGE, SEARCH,
# NOOP and SELECT, each checking what it sees (t/imap/stress.py: sequence
# numbers, UID -> message, its own keyword, its appended messages); then
# the same with a delivery through smtpd every 100 ms and one more session
# expunging half of the mailbox at random moments.  Bounded: 4 s each.
# Zero errors, nothing lost, nothing duplicated.  (bench/imap-stress runs
# it longer, side by side with Dovecot and imap4d.)
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
command -v python3 > /dev/null || skip_all "python3 not installed"
[ -x "$B/smtpd" ] || skip_all "smtpd not built"

: | mkbox alice
i=1
while [ $i -le 150 ]; do msg $i | deliver alice; i=$((i + 1)); done

stress() {
	timeout 300 python3 "$IMAP_SRC/stress.py" --server "exec $B/imapd -c $FCONF" \
		--user alice --password alice-pw --clients 10 --seconds 4 "$@" > "$T_TMP/stress.out" 2>&1
	echo "rc=$?" >> "$T_TMP/stress.out"
	sed 's/^/# /' "$T_TMP/stress.out"
}
stress --seed 1
grep -q '^ops=[0-9]* .* errors=0 ' "$T_TMP/stress.out"; ok $? "10 sessions, random mix: 0 errors"
grep -q '^rc=0$' "$T_TMP/stress.out"; ok $? "stress client exit status 0"
ops=$(sed -n 's/^ops=\([0-9]*\) .*/\1/p' "$T_TMP/stress.out")
[ "${ops:-0}" -gt 100 ]; ok $? "the sessions did work ($ops commands)"

stress --seed 2 --expunger --deliver "FACTEUR_TEST_PEER=127.0.0.1 exec $B/smtpd -c $FCONF" \
	--rcpt alice@example.test --interval 0.1
grep -q '^ops=[0-9]* .* errors=0 ' "$T_TMP/stress.out"; ok $? "with deliveries and a session expunging half the mailbox: 0 errors"
d=$(sed -n 's/.* delivered=\([0-9]*\) .*/\1/p' "$T_TMP/stress.out")
# each delivery waits for the last: on a loaded machine (prove -j2, other
# work) 10 to 40 in 4 s, an ASan smtpd being several times slower
dmin=5; sanitized && dmin=1
[ "${d:-0}" -ge $dmin ]; ok $? "deliveries through smtpd during the run ($d)"
x=$(sed -n 's/.* deleted=\([0-9]*\).*/\1/p' "$T_TMP/stress.out")
[ "${x:-0}" -ge 10 ]; ok $? "messages expunged during the run ($x)"

# the mailbox still parses, and every UID is there once
"$B/t/bin/mboxtool" scan "$SPOOL/alice" > "$T_TMP/scan.out" 2>&1; ok $? "mailbox scans cleanly"
dup=$(grep -a '^X-UID:' "$SPOOL/alice" | sort | uniq -d | wc -l)
is "$dup" 0 "no X-UID twice in the file"
# the cost a read needs and no more: once every message is claimed, a
# session that only reads (SELECT, FETCH, SEARCH, NOOP) never fsyncs (the
# unlock of a read lock used to flush the disk at every command); one
# that stores does (LeakSanitizer cannot run under ptrace: off there)
if command -v strace > /dev/null; then
	printf 'a LOGIN alice alice-pw\nb SELECT INBOX\nb LOGOUT\n' | imap > /dev/null
	{ printf 'a LOGIN alice alice-pw\nb SELECT INBOX\n'
	  for i in 1 2 3 4 5 6 7 8 9 10; do printf 'f%s FETCH %s:* (FLAGS BODY.PEEK[HEADER])\nn%s NOOP\ns%s SEARCH UNSEEN\n' $i $i $i $i; done
	  printf 'z LOGOUT\n'; } | crlf | ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -e trace=fsync,fdatasync -o "$T_TMP/strace.ro" \
		"$B/imapd" -c "$FCONF" | nocr > "$T_TMP/ro.out"
	is "$(grep -c '^f10 OK' "$T_TMP/ro.out")" 1 "read-only session under strace ran"
	is "$(grep -c 'fsync(' "$T_TMP/strace.ro")" 0 "a read-only session never fsyncs"
	printf 'a LOGIN alice alice-pw\nb SELECT INBOX\nc STORE 1 +FLAGS (\\Flagged)\nz LOGOUT\n' | crlf |
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -e trace=fsync,fdatasync -o "$T_TMP/strace.rw" "$B/imapd" -c "$FCONF" > /dev/null
	ok "$(grep -q 'fsync(' "$T_TMP/strace.rw"; echo $?)" "a STORE does fsync (the check can fail)"
else
	skip "strace not installed"
fi
done_testing
