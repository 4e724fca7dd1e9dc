#!/bin/sh
# smtpd piped sessions: the lab's dialogue byte for byte, every command in
# every state, PIPELINING, BDAT, 8-bit and SMTPUTF8, bad input.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
[ -x "$B/smtpd" ] || { echo "Bail out! $B/smtpd not built"; exit 1; }
smtp_env
conf_set mydestination '$myhostname, localhost, example.test, starwars.univ'
printf 'luke: alice\nprog: |/bin/cat\nfile: /tmp/x, :include:/etc/x\n' >> "$T_TMP/aliases"
S=$FACTEUR_SRC/t/smtp
ids() { sed -E 's/queued as [0-9A-F]+/queued as ID/'; }

# 1-2: the lab's dialogue, CRLF kept, and the mailbox it leaves
crlf < "$S/lab.in" | "$B/smtpd" -c "$FCONF" | ids > "$T_TMP/lab.got"
same_file "$T_TMP/lab.got" "$S/lab.out" "lab dialogue byte for byte"
wait_queue
mbox_filter < "$T_TMP/spool/alice" > "$T_TMP/lab.mbox"
same_file "$T_TMP/lab.mbox" "$S/lab.mbox" "lab message in alice's mailbox (alias luke)"
rm -f "$T_TMP/spool/alice"

# 3: the same byte by byte (every read split) gives the same replies
if [ -x "$B/t/bin/trickle" ]; then
	crlf < "$S/lab.in" | "$B/t/bin/trickle" "$B/smtpd" -c "$FCONF" | ids > "$T_TMP/lab2.got"
	same_file "$T_TMP/lab2.got" "$S/lab.out" "lab dialogue through trickle (1 byte per read)"
	wait_queue; rm -f "$T_TMP/spool/alice"
else
	skip "trickle not built"
fi

# commands in the wrong state
got=$(printf 'MAIL FROM:<a@example.test>\nRCPT TO:<alice@example.test>\nDATA\nBDAT 3 LAST\nabcETRN x\nNOOP\nRSET\nVRFY alice\nHELP\nQUIT\n' | smtp_run | tail -n +2 | cut -c1-9)
is "$got" "503 5.5.1
503 5.5.1
503 5.5.1
503 5.5.1
503 5.5.1
250 2.0.0
250 2.0.0
252 2.0.0
214 2.0.0
221 2.0.0" "before HELO: transaction commands 503, others work, BDAT chunk eaten"
got=$(printf 'HELO x\nRCPT TO:<alice@example.test>\nDATA\nMAIL FROM:<>\nMAIL FROM:<>\nDATA\nETRN example.test\nRCPT TO:<alice@example.test>\nBDAT 2\nxyMAIL FROM:<>\nDATA\nRSET\nRCPT TO:<alice@example.test>\nQUIT\n' | smtp_run | tail -n +3)
is "$got" "503 5.5.1 Error: need MAIL command
503 5.5.1 Error: need RCPT command
250 2.1.0 Ok
503 5.5.1 Error: nested MAIL command
554 5.5.1 Error: no valid recipients
503 5.5.1 Error: MAIL transaction in progress
250 2.1.5 Ok
250 2.0.0 Ok: 2 bytes
503 5.5.1 Error: BDAT transfer in progress
503 5.5.1 Error: BDAT transfer in progress
250 2.0.0 Ok
503 5.5.1 Error: need MAIL command
221 2.0.0 Bye" "transaction states: 503 in the wrong state, RSET ends BDAT"

# syntax errors, unknown commands, overlong lines, NUL
long=$(head -c 3000 /dev/zero | tr '\0' a)
got=$( { printf 'HELO\nEHLO\nHELO x\nFOO bar\nSTARTTLS\nAUTH PLAIN\nMAIL\nMAIL FROM:<a b@c>\nMAIL FROM:<a@example.test> FOO=1\nMAIL TO:<x>\nMAIL FROM:<a@example.test> BODY=9BIT\nMAIL FROM:<a@example.test>\nRCPT TO:<>\nRCPT TO:<@>\nRCPT TO:<alice@example.test> NOTIFY=NEVER,SUCCESS\nDATA x\nVRFY\nQUIT x\nNOOP %s\n' "$long"; printf 'NO\0OP\nNOOP\nQUIT\n'; } | smtp_run | tail -n +2 | cut -c1-9)
is "$got" "501 5.5.4
501 5.5.4
250 mail.
500 5.5.2
502 5.5.1
503 5.5.1
501 5.5.4
501 5.1.7
555 5.5.4
501 5.1.7
555 5.5.4
250 2.1.0
501 5.1.3
501 5.1.3
555 5.5.4
501 5.5.4
501 5.5.4
501 5.5.4
500 5.5.6
501 5.5.4
250 2.0.0
221 2.0.0" "syntax 501 5.5.4, unknown 500 5.5.2, long line 500 5.5.6, NUL 501, session goes on"

# too many errors end the session
got=$(for i in $(seq 1 25); do echo BOGUS; done | smtp_run | tail -1)
is "$got" "421 4.7.0 mail.example.test Error: too many errors" "error limit closes with 421"

# PIPELINING: a whole transaction in one write, replies in order
got=$(printf 'EHLO c\nMAIL FROM:<bob@example.test>\nRCPT TO:<alice@example.test>\nRCPT TO:<nobody@example.test>\nRCPT TO:<carol@example.test>\nDATA\nSubject: pipelined\n\nbody\n.\nMAIL FROM:<bob@example.test>\nRCPT TO:<bob@example.test>\nDATA\nSubject: second\n\n.\nQUIT\n' | smtp_run | tail -n +12 | ids)
is "$got" "250 2.1.0 Ok
250 2.1.5 Ok
550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in local recipient table
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID
221 2.0.0 Bye" "pipelined: two transactions in one write, replies in order"
wait_queue
ok $? "queue drained"
grep -q '^Subject: pipelined' "$T_TMP/spool/alice" && grep -q '^Subject: pipelined' "$T_TMP/spool/carol" \
	&& grep -q '^Subject: second' "$T_TMP/spool/bob"
ok $? "pipelined messages delivered"
if command -v strace >/dev/null 2>&1; then
	printf 'EHLO c\r\nNOOP\r\nNOOP\r\nNOOP\r\nQUIT\r\n' > "$T_TMP/pl.in"
	strace -f -e trace=write -o "$T_TMP/strace" "$B/smtpd" -c "$FCONF" < "$T_TMP/pl.in" > /dev/null
	n=$(grep -c 'write(1, "[0-9]' "$T_TMP/strace")
	is "$n" 2 "replies batched: greeting+EHLO..QUIT leave in 2 writes or fewer"
else
	skip "no strace"
fi
rm -f "$T_TMP"/spool/*

# BDAT in several chunks (CRLF split across chunks), then BDAT 0 LAST
printf 'EHLO c\r\nMAIL FROM:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\nBDAT 18\r\nSubject: chunks\r\n\rBDAT 9\r\n\nline1\r\nlBDAT 6 LAST\r\nine2\r\nQUIT\r\n' > "$T_TMP/bdat.in"
got=$(smtp_raw < "$T_TMP/bdat.in" | tail -n +12 | ids)
is "$got" "250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 Ok: 18 bytes
250 2.0.0 Ok: 9 bytes
250 2.0.0 Ok: queued as ID
221 2.0.0 Bye" "BDAT: three chunks, LAST queues"
wait_queue
got=$(sed -n '/^Subject: chunks/,$p' "$T_TMP/spool/alice")
is "$got" "Subject: chunks

line1
line2" "BDAT body joined, CRLF across a chunk boundary becomes LF"
rm -f "$T_TMP/spool/alice"

# 8-bit body, SMTPUTF8 addresses, NUL and From/dot lines in the body
printf 'EHLO c\nMAIL FROM:<d\303\251j\303\240@example.test> SMTPUTF8 BODY=8BITMIME\nRCPT TO:<alice@example.test> NOTIFY=FAILURE ORCPT=rfc822;alice@example.test\nDATA\nSubject: =?utf-8?q?caf=C3=A9?=\n\nd\303\251j\303\240 vu\nFrom the start\n..\n.leading\nnul:\000:end\n.\nMAIL FROM:<d\303\251j\303\240@example.test>\nQUIT\n' | crlf > "$T_TMP/u8.in"
got=$(smtp_raw < "$T_TMP/u8.in" | tail -n +12 | ids)
is "$got" "250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID
553 5.6.7 Non-ASCII address requires SMTPUTF8
221 2.0.0 Bye" "SMTPUTF8 sender accepted when asked, refused otherwise"
wait_queue
printf 'd\303\251j\303\240 vu\n>From the start\n.\nleading\nnul:\000:end\n\n' > "$T_TMP/u8.body"
sed -n '/^Subject: =?utf-8/,$p' "$T_TMP/spool/alice" | tail -n +3 > "$T_TMP/u8.got"
same_file "$T_TMP/u8.got" "$T_TMP/u8.body" "8-bit body, NUL byte, From quoting and dot-unstuffing in the mailbox"
grep -q "^From $(printf 'd\303\251j\303\240')@example.test " "$T_TMP/spool/alice" && grep -q 'with UTF8SMTP' "$T_TMP/spool/alice"
ok $? "UTF-8 envelope sender in the From_ line, Received says UTF8SMTP"
rm -f "$T_TMP/spool/alice"

# SIZE: declared over the limit, and a body over it (read to the end)
conf_set message_size_limit 1000
big=$(head -c 1500 /dev/zero | tr '\0' x)
got=$(printf 'EHLO c\nMAIL FROM:<bob@example.test> SIZE=2000\nMAIL FROM:<bob@example.test> SIZE=500\nRCPT TO:<alice@example.test>\nDATA\n%s\n.\nNOOP\nQUIT\n' "$big" | smtp_run | tail -n +4 | sed -n '/^250 CHUNKING/,$p' | tail -n +2)
is "$got" "552 5.3.4 Message size exceeds fixed limit
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
552 5.3.4 Error: message file too big
250 2.0.0 Ok
221 2.0.0 Bye" "SIZE over the limit: 552 at MAIL; body over the limit: 552 after the dot, session goes on"
got=$(printf 'EHLO c\nMAIL FROM:<bob@example.test>\nRCPT TO:<alice@example.test>\nBDAT 1500\n%sBDAT 3 LAST\nabcQUIT\n' "$big" | tr '\n' '\r' | sed 's/\r/\r\n/g' | smtp_raw | tail -3)
is "$got" "552 5.3.4 Error: message file too big
503 5.5.1 Error: need MAIL command
221 2.0.0 Bye" "BDAT over the limit: 552, later chunk eaten and refused"
sleep 0.3
is "$(find "$T_TMP/queue" -type f ! -name "*.lock" ! -name "*.request" | wc -l)" 0 "nothing queued for oversized messages"
test ! -e "$T_TMP/spool/alice"
ok $? "nothing delivered for oversized messages"
conf_set message_size_limit 10240000

# a client that disconnects mid-DATA leaves nothing
printf 'EHLO c\nMAIL FROM:<bob@example.test>\nRCPT TO:<alice@example.test>\nDATA\nSubject: cut\n\npartial' | crlf | smtp_raw > /dev/null
sleep 0.3
is "$(find "$T_TMP/queue" -type f ! -name "*.lock" ! -name "*.request" | wc -l)" 0 "disconnect mid-DATA: no queue file, no temp file"
test ! -e "$T_TMP/spool/alice"
ok $? "disconnect mid-DATA: nothing delivered"
grep -q 'lost connection after DATA' "$T_TMP/log"
ok $? "disconnect mid-DATA logged"

# 100 recipients; recipient 1001 refused
{ printf 'EHLO c\nMAIL FROM:<bob@example.test>\n'
  for i in $(seq 1 33); do printf 'RCPT TO:<alice@example.test>\nRCPT TO:<Bob@Example.Test>\nRCPT TO:<CAROL@example.test>\n'; done
  printf 'RCPT TO:<team@example.test>\nDATA\nSubject: hundred\n\n.\nQUIT\n'; } | smtp_run > "$T_TMP/100.out"
is "$(grep -c '^250 2.1.5' "$T_TMP/100.out")" 100 "100 recipients accepted (case-insensitive)"
wait_queue
is "$(cat "$T_TMP"/spool/alice "$T_TMP"/spool/bob "$T_TMP"/spool/carol | grep -c '^Subject: hundred')" 3 "each mailbox gets one copy"
rm -f "$T_TMP"/spool/*
{ printf 'EHLO c\nMAIL FROM:<bob@example.test>\n'
  for i in $(seq 1 1001); do printf 'RCPT TO:<alice@example.test>\n'; done; printf 'QUIT\n'; } | smtp_run > "$T_TMP/1001.out"
is "$(grep '^4' "$T_TMP/1001.out")" "452 4.5.3 Error: too many recipients" "recipient 1001: 452 4.5.3"

# recipients: postmaster, unknown, refused alias targets, relay
got=$(printf 'EHLO c\nMAIL FROM:<>\nRCPT TO:<postmaster>\nRCPT TO:<PostMaster@example.test>\nRCPT TO:<ghost@example.test>\nRCPT TO:<prog@example.test>\nRCPT TO:<file@example.test>\nRCPT TO:<x@remote.example>\nRCPT TO:<"al ice"@example.test>\nQUIT\n' | smtp_run FACTEUR_TEST_PEER=192.0.2.7 | tail -n +12)
is "$got" "250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
550 5.1.1 <ghost@example.test>: Recipient address rejected: User unknown in local recipient table
550 5.1.1 <prog@example.test>: Recipient address rejected: User unknown in local recipient table
550 5.1.1 <file@example.test>: Recipient address rejected: User unknown in local recipient table
554 5.7.1 <x@remote.example>: Relay access denied
550 5.1.1 <\"al ice\"@example.test>: Recipient address rejected: User unknown in local recipient table
221 2.0.0 Bye" "postmaster always, unknown 550, |cmd /file :include: refused, relay denied outside mynetworks, quoted local part is syntax (RFC 5321 4.1.2) looked up"
grep -q 'alias prog: target |/bin/cat refused' "$T_TMP/log"
ok $? "refused alias target logged"
got=$(printf 'EHLO c\nETRN example.test\nQUIT\n' | smtp_run FACTEUR_TEST_PEER=192.0.2.7 | tail -2 | head -1)
is "$got" "459 4.7.1 Error: ETRN not allowed for this client" "ETRN refused outside mynetworks"
# the next hop refuses connections: the remote recipient stays deferred
echo 'relayhost = [127.0.0.1]:1' >> "$FCONF"
got=$(printf 'EHLO c\nMAIL FROM:<bob@example.test>\nRCPT TO:<x@remote.example>\nDATA\nSubject: relay\n\n.\nETRN example.test\nQUIT\n' | smtp_run FACTEUR_TEST_PEER=127.0.0.1 | tail -n +12 | ids)
is "$got" "250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID
250 2.0.0 Queuing started
221 2.0.0 Bye" "from mynetworks a remote recipient is queued, ETRN accepted"
wait_for 'to=<x@remote.example>.*status=deferred' "$T_TMP/log"
"$B/sendmail" -c "$FCONF" -bp > "$T_TMP/mailq"
grep -q '(4\.4\.1 connect to 127\.0\.0\.1\[127\.0\.0\.1\]:1: Connection refused)' "$T_TMP/mailq" &&
	grep -q '^ *x@remote.example$' "$T_TMP/mailq" && grep -q '^-- 1 Kbytes in 1 Request' "$T_TMP/mailq"
ok $? "mailq shows the remote recipient deferred, with the reason"
done_testing
