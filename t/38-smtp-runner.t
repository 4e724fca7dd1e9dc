#!/bin/sh
# The single queue runner (issue 10 items 1-2): maildrop files are moved
# out of their owner's reach and may carry only envelope and message
# records; one runner at a time (runner.lock), a request while it runs is
# kept; ETRN only requests a run, once a session, re-checked by the root
# parent.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
[ -x "$B/smtpd" ] || { echo "Bail out! $B/smtpd not built"; exit 1; }
smtp_env
SM="$B/sendmail -c $FCONF"
Q=$T_TMP/queue
M=$T_TMP/spool
# recs TYPE:PAYLOAD...: a record stream (rec.c) on stdout; \0 allowed
recs() {
	python3 -c '
import sys
out = b""
for a in sys.argv[1:]:
    t, p = a[0], a[2:].encode().replace(b"\\0", b"\0")
    out += t.encode() + len(p).to_bytes(4, "big") + p
sys.stdout.buffer.write(out)' "$@"
}
msg() { recs 'F:a@c.example' 'P:--0' 'T:\0bob@example.test\0' "D:Subject: $1

hi
" 'E:'; }
runners() { grep -c 'queue run done' "$T_TMP/log"; }

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	$SM -q                     # creates maildrop/ 1733, pickup/ and corrupt/ 0700
	is "$(stat -c %a "$Q/pickup") $(stat -c %a "$Q/corrupt")" "700 700" "pickup/ and corrupt/ are root only"
	# 2-3: a HELO record (forged) in a maildrop file: quarantined, not delivered
	{ recs 'H:Eforged.example'; msg helo; } | nobody sh -c "cat > $Q/maildrop/m1"
	$SM -q
	[ ! -e "$M/bob" ] && [ -z "$(ls -A "$Q/maildrop")" ]
	ok $? "maildrop file with a HELO record: nothing delivered, maildrop emptied"
	[ "$(ls "$Q/corrupt" | wc -l)" = 1 ] && grep -q 'protocol error from the maildrop file' "$T_TMP/log"
	ok $? "it is quarantined in corrupt/ and logged"
	rm -f "$Q/corrupt/"*
	# 4-5: ETRN records: no run spawned from the file, nothing left running
	{ msg etrn; recs 'Q:' 'Q:' 'Q:'; } | nobody sh -c "cat > $Q/maildrop/m2"
	before=$(grep -c 'queue run' "$T_TMP/log")
	$SM -q
	sleep 1
	after=$(grep -c 'queue run' "$T_TMP/log")
	is "$(ls "$Q/corrupt" | wc -l)" 1 "maildrop file with ETRN records quarantined"
	is "$((after - before))" 1 "exactly one queue run, none spawned by the file"
	rm -f "$Q/corrupt/"* "$M/bob"
	# 6: a symlink and a hard link in maildrop are not read
	msg secret > "$T_TMP/rootfile"; chmod 600 "$T_TMP/rootfile"
	nobody ln -s "$T_TMP/rootfile" "$Q/maildrop/m3"
	msg linked > "$T_TMP/home/mine"; chown 65534 "$T_TMP/home/mine"
	ln "$T_TMP/home/mine" "$Q/maildrop/m4" 2>/dev/null
	$SM -q
	[ ! -e "$M/bob" ] && [ -z "$(ls -A "$Q/maildrop")" ] && [ "$(ls "$Q/corrupt" | wc -l)" = 2 ]
	ok $? "symlink and hard link: not delivered, quarantined"
	rm -f "$Q/corrupt/"*
	# 7: a good file from a user: delivered, the real uid in Received
	msg good | nobody sh -c "cat > $Q/maildrop/m5"
	$SM -q
	grep -q '^Subject: good' "$M/bob" && grep -q 'from userid 65534' "$M/bob" && [ -z "$(ls -A "$Q/pickup")" ]
	ok $? "a good maildrop file is delivered with the submitter's uid"
	rm -f "$M/bob"
else
	for i in 1 2 3 4 5 6 7; do skip "maildrop needs root and setpriv"; done
fi

# 8-10: one runner at a time: with runner.lock held, sendmail -q only leaves
# a request; the next run serves it
$SM -q
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "w"); fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close(); time.sleep(30)' "$Q/runner.lock" "$T_TMP/locked" &
holder=$!
i=0; while [ $i -lt 100 ] && [ ! -e "$T_TMP/locked" ]; do sleep 0.1; i=$((i + 1)); done
printf 'Subject: held\n\nx\n' | $SM bob
$SM -q
[ ! -e "$M/bob" ] && [ -n "$(ls -A "$Q/q")" ] && [ -e "$Q/run.request" ]
ok $? "while another runner holds the lock: nothing delivered, the request is kept"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
$SM -q
grep -q '^Subject: held' "$M/bob" && [ ! -e "$Q/run.request" ] && [ -z "$(ls -A "$Q/q")" ]
ok $? "the next run delivers it and takes the request"
rm -f "$M/bob"
# a request while a runner works is served by that runner before it exits
: > "$Q/run.request"
printf 'Subject: later\n\nx\n' | $SM bob
wait_queue
grep -q '^Subject: later' "$M/bob"; ok $? "sendmail's request starts a runner that delivers"
rm -f "$M/bob"

# 11-12: ETRN: one request per session from mynetworks
n0=$(grep -c 'queue run requested' "$T_TMP/log")
printf 'EHLO c\nETRN localhost\nETRN localhost\nETRN localhost\nQUIT\n' | smtp_run FACTEUR_TEST_PEER=127.0.0.1 > "$T_TMP/r"
is "$(grep -c '^250 ' "$T_TMP/r")" 4 "three ETRNs answered 250"
is "$(($(grep -c 'queue run requested' "$T_TMP/log") - n0))" 1 "one queue run requested for the session"
# 13-14: the root parent checks the client itself (a child's ETRN record
# from a client outside mynetworks is refused)
rm -f "$Q/run.request"
recs 'H:Ex' 'Q:' | "$B/t/smtp/recvtool" -c "$FCONF" 192.0.2.7 > /dev/null
ok $? "the parent answers the child's ETRN record"
grep -q 'ETRN from 192.0.2.7 refused' "$T_TMP/log" && [ ! -e "$Q/run.request" ]
ok $? "and requests no run for a client that may not relay"
# 15: a maildrop stream may not carry ETRN even for a trusted submitter
{ msg x; recs 'Q:'; } | "$B/t/smtp/recvtool" -c "$FCONF" -m -r local > /dev/null
is $? 1 "maildrop mode: an ETRN record is a protocol error"
wait_queue
done_testing
