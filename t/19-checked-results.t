#!/bin/sh
# Results that were unchecked (issue 11.6), each with its failure injected
# (t/shim/failpoint.c, or a lock held by another process):
# - recording a recipient's state in the queue file (pwrite) fails after
#   the delivery: logged; the message is done (the file goes), and a later
#   queue run does not deliver it again;
# - the fdatasync that makes the delivered states durable before the file
#   stays fails: logged, nothing delivered twice;
# - a local recipient deferred past maximal_queue_lifetime fails with a
#   5.2.0 reason (built as such, not by patching the first byte) and bounces;
# - IMAP: the read lock cannot be had for a FETCH: NO [INUSE], logged.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
[ -x "$B/smtpd" ] && [ -x "$B/imapd" ] && [ -f "$B/t/failpoint.so" ] || { echo "Bail out! build first"; exit 1; }
need_cmd python3
imap_env
Q=$T_TMP/queue
M=$T_TMP/spool
SM="$B/sendmail -c $FCONF"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
SHIM=$B/t/failpoint.so
# session SUBJECT RCPT...: one message from alice
session() {
	s=$1; shift
	{ printf 'EHLO c\nMAIL FROM:<alice@example.test>\n'
	  for r; do printf 'RCPT TO:<%s>\n' "$r"; done
	  printf 'DATA\nSubject: %s\n\nbody\n.\nQUIT\n' "$s"; }
}
copies() { grep -c "^Subject: $1\$" "$M/$2" 2>/dev/null; }

# 1-4: the state record (pwrite into queue/q) fails after the delivery
session pw bob@example.test | smtp_run LD_PRELOAD="$SHIM" FAIL_CALLS=pwrite FAIL_PATH="$Q/q/" \
	FAIL_LOG="$T_TMP/fail1" > "$T_TMP/r"
grep -q '^250 2.0.0 Ok: queued' "$T_TMP/r" && wait_queue; ok $? "queued, and the queue file is gone"
[ -s "$T_TMP/fail1" ] && grep -q 'cannot record <bob@example.test> as D in its queue file: No space left on device (delivered; may be delivered again)' "$T_TMP/log"
ok $? "the failed record is logged"
$SM -q
is "$(copies pw bob)" 1 "delivered once, also after another queue run"
lacks "$T_TMP/log" 'bounced|status=deferred' "neither deferred nor bounced"

# 5-8: the sync of the delivered states fails while the file stays (a
# remote recipient is left for the runner; its relayhost is a closed port)
PORT=$(free_port)
conf_set relayhost "[127.0.0.1]:$PORT"
conf_set minimal_backoff_time 1h
conf_set maximal_backoff_time 2h
session fs bob@example.test x@remote.test | smtp_run FACTEUR_TEST_PEER=127.0.0.1 LD_PRELOAD="$SHIM" \
	FAIL_CALLS=fdatasync FAIL_PATH="$Q/q/" FAIL_LOG="$T_TMP/fail2" > "$T_TMP/r"
grep -q '^250 2.0.0 Ok: queued' "$T_TMP/r"; ok $? "queued"
wait_log 'cannot sync the queue file: No space left on device (a crash now may deliver again)'
ok $? "the failed fdatasync is logged"
wait_log 'to=<x@remote.test>.*status=deferred'
$SM -q
is "$(copies fs bob)" 1 "the local copy delivered once"
$SM -bp | grep -q 'x@remote.test'; ok $? "the remote recipient still queued"
conf_set relayhost ""
rm -f "$Q/q/"* "$Q/defer/"* 2>/dev/null

# 9-12: a local recipient deferred past maximal_queue_lifetime: 5.2.0, bounce
conf_set lock_timeout 1
conf_set maximal_queue_lifetime 1s
as_user bob "$B/t/bin/mboxtool" lock "$M/bob" write 30 > "$T_TMP/lock.out" &
LPID=$!
wait_for locked "$T_TMP/lock.out"
session old bob@example.test | smtp_run > "$T_TMP/r"
grep -q '^250 2.0.0 Ok: queued' "$T_TMP/r"; ok $? "queued while bob's mailbox is locked"
sleep 2
$SM -q
kill "$LPID"; wait "$LPID" 2>/dev/null
grep -q 'to=<bob@example.test>, status=expired (5.2.0 cannot update mailbox of bob: lock timeout)' "$T_TMP/log"
ok $? "past maximal_queue_lifetime: expired with a 5.2.0 reason"
wait_queue
wait_for '^Subject: Undelivered Mail Returned to Sender' "$M/alice"; ok $? "bounced to the sender"
is "$(copies old bob)" 0 "not delivered"
conf_set maximal_queue_lifetime 5d
conf_set lock_timeout 20

# 13-14: IMAP: the read lock of a FETCH cannot be had
mkbox alice < /dev/null
msg 1 | deliver alice
conf_set lock_timeout 1
sess_start imapd f 3
say 3 "f1 LOGIN alice alice-pw" "f2 SELECT INBOX"
expect '^f2 OK' f
as_user_bg "$B/t/bin/mboxtool" lock "$M/alice" write 30 > "$T_TMP/lock2.out" &
LPID=$!
wait_for locked "$T_TMP/lock2.out"
say 3 "f3 FETCH 1 BODY.PEEK[]"
expect '^f3 ' f
kill "$LPID"; wait "$LPID" 2>/dev/null
say 3 "f4 LOGOUT"
sess_end f 3
tagged f3 "$T_TMP/f.out" | grep -q '^f3 NO \[INUSE\]'; ok $? "FETCH without the read lock: NO [INUSE]"
grep -q 'INBOX: read lock:' "$T_TMP/log"; ok $? "the lock failure is logged"
done_testing
