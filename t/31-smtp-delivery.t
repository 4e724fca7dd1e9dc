#!/bin/sh
# Delivery from the queue: mailbox bytes, a locked mailbox deferred then
# delivered by `sendmail -q` (nothing lost or duplicated), bounces.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
[ -x "$B/smtpd" ] || { echo "Bail out! $B/smtpd not built"; exit 1; }
smtp_env
printf 'ghost: nosuchuser\n' >> "$T_TMP/aliases"
M=$T_TMP/spool

# 1: the exact bytes of a delivery: From_ line, our headers, quoting
printf 'EHLO client.example\nMAIL FROM:<bob@example.test>\nRCPT TO:<alice@example.test>\nDATA\nFrom: Bob <bob@example.test>\nSubject: bytes\nStatus: RO\n\nFrom here on\n>From stays\n..\n\nend\n.\nQUIT\n' | smtp_run > /dev/null
wait_queue
cat > "$T_TMP/want" <<'MBOX'
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
same_file "$T_TMP/got" "$T_TMP/want" "mailbox bytes: From_ line, Return-Path, Delivered-To, Received, quoting, Status dropped"
head -1 "$M/alice" | grep -Eq '^From bob@example.test  [A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3][0-9] [0-9:]{8} [0-9]{4}$'
ok $? "From_ line in mboxo form"

# 2: a second message is appended after one empty line
printf 'HELO c\nMAIL FROM:<>\nRCPT TO:<alice@example.test>\nDATA\nSubject: two\n\nx\n.\nQUIT\n' | smtp_run > /dev/null
wait_queue
is "$(grep -c '^From ' "$M/alice")" 2 "second message appended"
grep -q '^From MAILER-DAEMON ' "$M/alice" && grep -q '^Return-Path: <>$' "$M/alice"
ok $? "null sender: MAILER-DAEMON From_ line, Return-Path <>"

# 3: alias fan-out: X-Original-To on each copy
printf 'HELO c\nMAIL FROM:<carol@example.test>\nRCPT TO:<team@example.test>\nDATA\nSubject: fan\n\n.\nQUIT\n' | smtp_run > /dev/null
wait_queue
grep -q '^X-Original-To: team@example.test' "$M/bob" && grep -q '^Delivered-To: bob@example.test' "$M/bob" &&
	[ "$(grep -c '^X-Original-To: team@example.test' "$M/alice")" = 1 ]
ok $? "alias fan-out: one copy each with X-Original-To"
rm -f "$M"/*

# 4: a locked mailbox defers; sendmail -q delivers after the release
[ -x "$B/t/bin/mboxtool" ] || { echo "Bail out! mboxtool not built"; exit 1; }
conf_set lock_timeout 1
printf 'HELO c\nMAIL FROM:<bob@example.test>\nRCPT TO:<carol@example.test>\nDATA\nSubject: first\n\n.\nQUIT\n' | smtp_run > /dev/null
wait_queue
"$B/t/bin/mboxtool" lock "$M/carol" write 4 > "$T_TMP/lockout" 2>&1 &
LOCKPID=$!
i=0; while [ $i -lt 50 ] && ! grep -q locked "$T_TMP/lockout"; do sleep 0.1; i=$((i+1)); done
printf 'HELO c\nMAIL FROM:<bob@example.test>\nRCPT TO:<carol@example.test>\nRCPT TO:<alice@example.test>\nDATA\nSubject: locked\n\n.\nQUIT\n' | smtp_run > /dev/null
wait_log 'to=<carol@example.test>, status=deferred'
ok $? "locked mailbox: delivery deferred"
sleep 0.3
is "$(ls "$T_TMP/queue/q" | wc -l)" 1 "deferred message stays in the queue"
is "$(grep -c '^Subject: locked' "$M/alice")" 1 "the other recipient got it at once"
"$B/sendmail" -c "$FCONF" -bp | grep -q 'lock timeout'
ok $? "mailq shows the deferral reason"
wait $LOCKPID
"$B/sendmail" -c "$FCONF" -q
ok $? "sendmail -q runs"
is "$(ls "$T_TMP/queue/q" | wc -l)" 0 "queue empty after the run"
is "$(grep -c '^Subject: locked' "$M/carol")" 1 "delivered once after the release"
is "$(grep -c '^Subject: locked' "$M/alice")" 1 "not duplicated for the recipient already done"
is "$(grep -c '^From ' "$M/carol")" 2 "carol's earlier mail intact"
"$B/sendmail" -c "$FCONF" -q
is "$(grep -c '^Subject: locked' "$M/carol")" 1 "a second queue run delivers nothing again"
conf_set lock_timeout 0
rm -f "$M"/*

# 5: a permanent failure bounces to the sender (RFC 3464)
printf 'HELO c\nMAIL FROM:<bob@example.test> RET=FULL ENVID=env42\nRCPT TO:<ghost@example.test>\nDATA\nSubject: to a ghost\n\nsecret body\n.\nQUIT\n' | smtp_run > /dev/null
wait_queue
ok $? "queue empty after the bounce"
grep -q '^Subject: Undelivered Mail Returned to Sender' "$M/bob" && grep -q '^From MAILER-DAEMON ' "$M/bob"
ok $? "bounce reaches the sender, from MAILER-DAEMON with <>"
grep -q 'report-type=delivery-status' "$M/bob" && grep -q '^Status: 5.1.1' "$M/bob" &&
	grep -q '^Final-Recipient: rfc822; nosuchuser@example.test' "$M/bob" &&
	grep -q '^Original-Recipient: rfc822; ghost@example.test' "$M/bob" &&
	grep -q '^Original-Envelope-Id: env42' "$M/bob" && grep -q '^Action: failed' "$M/bob"
ok $? "DSN fields: Status, Final- and Original-Recipient, ENVID, Action"
grep -q '^secret body' "$M/bob" && grep -q '^Subject: to a ghost' "$M/bob"
ok $? "RET=FULL: the original message is attached"
rm -f "$M"/*
printf 'HELO c\nMAIL FROM:<bob@example.test> RET=HDRS\nRCPT TO:<ghost@example.test>\nDATA\nSubject: hdrs only\n\nsecret body\n.\nQUIT\n' | smtp_run > /dev/null
wait_queue
grep -q 'text/rfc822-headers' "$M/bob" && grep -q '^Subject: hdrs only' "$M/bob" && ! grep -q '^secret body' "$M/bob"
ok $? "RET=HDRS: headers only"
rm -f "$M"/*
printf 'HELO c\nMAIL FROM:<bob@example.test>\nRCPT TO:<ghost@example.test> NOTIFY=NEVER\nDATA\n\n.\nMAIL FROM:<>\nRCPT TO:<ghost@example.test>\nDATA\n\n.\nQUIT\n' | smtp_run > /dev/null
wait_queue
ok $? "queue empty"
test ! -e "$M/bob"
ok $? "no bounce for NOTIFY=NEVER nor for the null sender"
grep -q 'no bounce for the null sender' "$T_TMP/log"
ok $? "null-sender failure logged"
done_testing
