#!/bin/sh
# A session that goes on after a message hands its queue ids to one
# delivery worker, which delivers them in batches (one process and one lock
# per mailbox): every message delivered once, in order, with the same bytes
# as a single delivery; no mailbox lock held while the session idles; a
# locked mailbox defers the batch's messages for it and `sendmail -q`
# delivers them after the release; as root each mailbox written by its owner.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
[ -x "$B/smtpd" ] || { echo "Bail out! $B/smtpd not built"; exit 1; }
[ -x "$B/t/bin/mboxtool" ] || { echo "Bail out! mboxtool not built"; exit 1; }
smtp_env
M=$T_TMP/spool

# msg TO SUBJECT: one transaction of a session script.  Scripts written
# into an open session (a fifo) go through crlf per write: sed buffers.
msg() { printf 'MAIL FROM:<carol@example.test>\nRCPT TO:<%s>\nDATA\nSubject: %s\n\nbody of %s\n.\n' "$1" "$2" "$2"; }

# 1: twelve messages in one session, alternating mailboxes, one of them
# to two recipients; all written before the replies are read (PIPELINING)
{
	echo 'EHLO c'
	i=1
	while [ $i -le 12 ]; do
		if [ $((i % 3)) = 0 ]; then msg bob@example.test "m$i"; else msg alice@example.test "m$i"; fi
		i=$((i + 1))
	done
	printf 'MAIL FROM:<carol@example.test>\nRCPT TO:<alice@example.test>\nRCPT TO:<bob@example.test>\nDATA\nSubject: both\n\n.\nQUIT\n'
} | smtp_run > "$T_TMP/out1"
is "$(grep -c '^250 2.0.0 Ok: queued as' "$T_TMP/out1")" 13 "13 messages queued in one session"
wait_queue
ok $? "queue empty after the worker"
is "$(grep -c 'delivery worker started' "$T_TMP/log")" 1 "one delivery worker for the session"
grep -q 'batch: ' "$T_TMP/log"
ok $? "delivered in batches"
is "$(grep '^Subject:' "$M/alice" | tr '\n' ' ')" \
	"Subject: m1 Subject: m2 Subject: m4 Subject: m5 Subject: m7 Subject: m8 Subject: m10 Subject: m11 Subject: both " \
	"alice: every message once, in order"
is "$(grep '^Subject:' "$M/bob" | tr '\n' ' ')" "Subject: m3 Subject: m6 Subject: m9 Subject: m12 Subject: both " \
	"bob: every message once, in order"
is "$(grep -c 'status=sent' "$T_TMP/log")" 14 "14 deliveries logged"
is "$(ls -A "$T_TMP/queue/tmp" | wc -l)" 0 "no temp file left"
rm -f "$M"/* "$T_TMP/log"

# 2: the bytes of a batched delivery are those of a single one (t/31)
{
	printf 'EHLO client.example\n'
	msg alice@example.test first
	printf 'MAIL FROM:<bob@example.test>\nRCPT TO:<alice@example.test>\nDATA\nFrom: Bob <bob@example.test>\nSubject: bytes\nStatus: RO\n\nFrom here on\n>From stays\n..\n\nend\n.\nQUIT\n'
} | smtp_run > /dev/null
wait_queue
cat > "$T_TMP/want" <<'MBOX'
From carol@example.test  DATE
Return-Path: <carol@example.test>
Delivered-To: alice@example.test
Received: from client.example (localhost [local])
	by mail.example.test (facteur) with ESMTP id ID
	for <alice@example.test>; DATE
Subject: first

body of first

From bob@example.test  DATE
Return-Path: <bob@example.test>
Delivered-To: alice@example.test
Received: from client.example (localhost [local])
	by mail.example.test (facteur) with ESMTP id ID
	for <alice@example.test>; DATE
From: Bob <bob@example.test>
Subject: bytes

>From here on
>From stays
.

end

MBOX
mbox_filter < "$M/alice" > "$T_TMP/got"
same_file "$T_TMP/got" "$T_TMP/want" "batched mailbox bytes: From_ lines, headers, quoting, separators"
rm -f "$M"/* "$T_TMP/log"

# 3: while the session idles after a delivered message, the mailbox is not
# locked (a writer gets it at once); the session then goes on
mkfifo "$T_TMP/fifo"
smtp_raw < "$T_TMP/fifo" > "$T_TMP/out3" &
SPID=$!
exec 7> "$T_TMP/fifo"
{ echo 'EHLO c'; msg alice@example.test idle1; msg bob@example.test idle2; } | crlf >&7
wait_log 'to=<bob@example.test>, relay=local, status=sent'
ok $? "messages of an open session delivered while it idles"
"$B/t/bin/mboxtool" lock "$M/alice" write 0 > "$T_TMP/lk" 2>&1 &
LKPID=$!
i=0; while [ $i -lt 100 ] && ! grep -q locked "$T_TMP/lk"; do sleep 0.1; i=$((i+1)); done
grep -q locked "$T_TMP/lk"
ok $? "no lock held on the mailbox while the session idles"
wait $LKPID
{ msg alice@example.test idle3; echo QUIT; } | crlf >&7
exec 7>&-
wait $SPID
wait_queue
is "$(grep -c '^Subject: idle' "$M/alice")" 2 "the session went on: both of alice's messages"
rm -f "$M"/* "$T_TMP/log"

# 4: a locked mailbox defers the worker's messages for it, not the others;
# `sendmail -q` delivers them after the release, once, in order
conf_set lock_timeout 1
: > "$M/carol"
[ "$(id -u)" = 0 ] && chown "$(user_uid carol):mail" "$M/carol"
"$B/t/bin/mboxtool" lock "$M/carol" write 4 > "$T_TMP/lk" 2>&1 &
LKPID=$!
i=0; while [ $i -lt 100 ] && ! grep -q locked "$T_TMP/lk"; do sleep 0.1; i=$((i+1)); done
{
	echo 'EHLO c'
	msg carol@example.test k1; msg alice@example.test k2; msg carol@example.test k3; msg alice@example.test k4
	echo QUIT
} | smtp_run > "$T_TMP/out4"
is "$(grep -c '^250 2.0.0 Ok: queued as' "$T_TMP/out4")" 4 "4 messages queued"
i=0; while [ $i -lt 100 ] && [ "$(grep -c 'to=<carol@example.test>, status=deferred' "$T_TMP/log")" -lt 2 ]; do sleep 0.1; i=$((i+1)); done
is "$(grep -c 'to=<carol@example.test>, status=deferred' "$T_TMP/log")" 2 "both of carol's deferred"
i=0; while [ $i -lt 100 ] && [ "$(grep -c '^Subject: k' "$M/alice" 2>/dev/null)" -lt 2 ]; do sleep 0.1; i=$((i+1)); done
is "$(grep '^Subject:' "$M/alice" | tr '\n' ' ')" "Subject: k2 Subject: k4 " "alice's delivered meanwhile"
i=0; while [ $i -lt 100 ] && [ "$(ls "$T_TMP/queue/q" | wc -l)" -gt 2 ]; do sleep 0.1; i=$((i+1)); done
is "$(ls "$T_TMP/queue/q" | wc -l)" 2 "carol's two stay queued"
wait $LKPID
"$B/sendmail" -c "$FCONF" -q
ok $? "sendmail -q runs"
is "$(ls "$T_TMP/queue/q" | wc -l)" 0 "queue empty after the run"
is "$(grep '^Subject:' "$M/carol" | tr '\n' ' ')" "Subject: k1 Subject: k3 " "carol's delivered once each, in order"
is "$(grep -c '^Subject: k' "$M/alice")" 2 "alice's not duplicated"
conf_set lock_timeout 0
rm -f "$M"/* "$T_TMP/log"

# 4b: held past the worker's short budget (2 s) but within lock_timeout:
# the runner that takes the deferred files delivers after the release
conf_set lock_timeout 8
: > "$M/carol"
[ "$(id -u)" = 0 ] && chown "$(user_uid carol):mail" "$M/carol"
"$B/t/bin/mboxtool" lock "$M/carol" write 4 > "$T_TMP/lk" 2>&1 &
LKPID=$!
i=0; while [ $i -lt 100 ] && ! grep -q locked "$T_TMP/lk"; do sleep 0.1; i=$((i+1)); done
{ echo 'EHLO c'; msg carol@example.test h1; msg alice@example.test h2; msg carol@example.test h3; echo QUIT; } |
	smtp_run > /dev/null
wait_log 'to=<carol@example.test>, status=deferred'
ok $? "short budget spent: deferred"
wait $LKPID
wait_queue
ok $? "queue empty without a queue run"
# (once each; not necessarily in order: the runner for the first batch and
# the worker's next batch race for the lock, as Postfix's deliveries would)
is "$(grep '^Subject:' "$M/carol" | sort | tr '\n' ' ')" "Subject: h1 Subject: h3 " "the runner delivered them once each"
is "$(grep -c '^Subject: h2' "$M/alice")" 1 "the other mailbox's message once"
conf_set lock_timeout 0
rm -f "$M"/* "$T_TMP/log"

# 5: an unknown user at delivery time (removed after RCPT) bounces; the
# rest of the batch is delivered
grep -v '^bob:' "$T_TMP/passwd" > "$T_TMP/passwd.nobob"
cp "$T_TMP/passwd" "$T_TMP/passwd.all"
# bob goes away between his RCPT and the delivery: hold the session's end
mkfifo "$T_TMP/fifo5"
smtp_raw < "$T_TMP/fifo5" > "$T_TMP/out5" &
SPID=$!
exec 7> "$T_TMP/fifo5"
{ echo 'EHLO c'; msg alice@example.test b1; } | crlf >&7
wait_log 'to=<alice@example.test>, relay=local, status=sent'
printf 'MAIL FROM:<carol@example.test>\nRCPT TO:<bob@example.test>\n' | crlf >&7
i=0; while [ $i -lt 100 ] && [ "$(grep -c '^250 2.1.5' "$T_TMP/out5")" -lt 2 ]; do sleep 0.1; i=$((i+1)); done
cp "$T_TMP/passwd.nobob" "$T_TMP/passwd"
{ printf 'DATA\nSubject: b2\n\n.\n'; msg alice@example.test b3; echo QUIT; } | crlf >&7
exec 7>&-
wait $SPID
wait_queue
cp "$T_TMP/passwd.all" "$T_TMP/passwd"
is "$(grep '^Subject:' "$M/alice" | tr '\n' ' ' | sed 's/Subject: Undelivered.*//')" "Subject: b1 Subject: b3 " \
	"alice's delivered around the failure"
grep -q '^Subject: Undelivered Mail Returned to Sender' "$M/carol" && grep -q 'bob@example.test' "$M/carol"
ok $? "the failed recipient bounced to the sender"
rm -f "$M"/* "$T_TMP/log"

# 6: as root, the worker's deliveries run as each recipient
if [ "$(id -u)" = 0 ]; then
	{ echo 'EHLO c'; msg alice@example.test r1; msg bob@example.test r2; msg alice@example.test r3; echo QUIT; } |
		smtp_run > /dev/null
	wait_queue
	is "$(stat -c %u "$M/alice")" "$(user_uid alice)" "root: alice's mailbox written by alice's uid"
	is "$(stat -c %u "$M/bob")" "$(user_uid bob)" "root: bob's mailbox written by bob's uid"
	is "$(grep -c '^Subject: r' "$M/alice")" 2 "root: alice's two delivered"
else
	for i in 1 2 3; do skip "as root only: deliveries as each recipient"; done
fi
done_testing
