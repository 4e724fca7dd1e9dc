#!/bin/sh
# Outbound SMTP (issue 12) against scriptable remotes (t/smtp/remote.py) on
# 127.0.0.1, reached through relayhost = [127.0.0.1]:PORT: one transaction
# for two recipients, the bytes as queued, Postfix-style log lines; several
# messages on one connection; a remote down then up (deferred, backoff,
# delivered once); greylisting (4xx then 2xx, mailq shows the reason); 5xx
# for one of two recipients (a DSN for that one only, parsed by python's
# email package); a HELO-only remote; 8BITMIME absent and present; SIZE;
# DSN parameters passed on; stalls (timeouts) and a drop after 354 (no
# loss, no duplicate); queue lifetime expiry; ETRN and -qR forcing; a
# remote answering garbage; the network side running as default_privs.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
[ -x "$B/smtpd" ] || { echo "Bail out! $B/smtpd not built"; exit 1; }
command -v "$PYTHON" >/dev/null 2>&1 || skip_all "python3 not installed"
smtp_env
M=$T_TMP/spool
trap 'for f in "$T_TMP"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done; rm -rf "$T_TMP"' EXIT
conf_set minimal_backoff_time 2s
conf_set maximal_backoff_time 8s

# remote NAME [remote.py options]: a remote on a fresh port; RPORT=its port
remote() {
	rn=$1; shift
	RPORT=$(free_port)
	rm -rf "$T_TMP/$rn"
	"$PYTHON" "$FACTEUR_SRC/t/smtp/remote.py" --listen "127.0.0.1:$RPORT" --out "$T_TMP/$rn" "$@" \
		> "$T_TMP/$rn.ready" 2>"$T_TMP/$rn.err" &
	echo $! > "$T_TMP/$rn.pid"
	i=0; while ! grep -q ready "$T_TMP/$rn.ready" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
	conf_set relayhost "[127.0.0.1]:$RPORT"
}
# remote_on NAME PORT [options]: a remote on a given port (a host coming up)
remote_on() {
	rn=$1; RPORT=$2; shift 2
	rm -rf "$T_TMP/$rn"
	"$PYTHON" "$FACTEUR_SRC/t/smtp/remote.py" --listen "127.0.0.1:$RPORT" --out "$T_TMP/$rn" "$@" \
		> "$T_TMP/$rn.ready" 2>"$T_TMP/$rn.err" &
	echo $! > "$T_TMP/$rn.pid"
	i=0; while ! grep -q ready "$T_TMP/$rn.ready" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
}
stop_remote() { kill "$(cat "$T_TMP/$1.pid")" 2>/dev/null; wait "$(cat "$T_TMP/$1.pid")" 2>/dev/null; rm -f "$T_TMP/$1.pid"; }
# send SUBJECT RCPT...: a message from alice through sendmail
send() { s=$1; shift; printf 'Subject: %s\n\nbody of %s\n.leading dot\n' "$s" "$s" | "$B/sendmail" -c "$FCONF" -f alice@example.test "$@"; }
nmsg() { ls "$T_TMP/$1" 2>/dev/null | grep -c '^msg-'; }
count() { grep -c -- "$1" "$T_TMP/log" 2>/dev/null; }
json() { "$PYTHON" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

# 1: two recipients of one domain, one transaction; bytes as queued
remote r1
send first x@remote.test y@remote.test
wait_log 'to=<y@remote.test>.*status=sent'
ok $? "delivered to the remote"
wait_queue; ok $? "queue empty"
is "$(nmsg r1)" 1 "one message on the remote"
is "$(grep -c '^MAIL FROM' "$T_TMP/r1/transcript")" 1 "one transaction for two recipients"
is "$(json "$T_TMP/r1/msg-1.json" 'm["rcpts"]')" "['x@remote.test', 'y@remote.test']" "both recipients in it"
is "$(head -1 "$T_TMP/r1/transcript")" "EHLO mail.example.test" "EHLO with smtp_helo_name = myhostname"
is "$(json "$T_TMP/r1/msg-1.json" 'm["crlf_only"]')" True "CRLF line ends on the wire"
json "$T_TMP/r1/msg-1.json" 'm["data"]' | tr -d '\r' > "$T_TMP/got1"
grep -q '^\.leading dot$' "$T_TMP/got1" && grep -q '^Subject: first$' "$T_TMP/got1" && grep -q '^Received: by mail.example.test (facteur' "$T_TMP/got1"
ok $? "message bytes intact (dot line unstuffed by the remote, our Received on top)"
grep -q "to=<x@remote.test>, relay=127.0.0.1\[127.0.0.1\]:$RPORT, delay=[0-9]*, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as T1)" "$T_TMP/log"
ok $? "Postfix-style log line (relay=, delay=, dsn=, status=)"
grep -q 'MAIL FROM:<alice@example.test> SIZE=' "$T_TMP/r1/transcript"
ok $? "SIZE declared"
stop_remote r1

# 2: remote down: deferred with the reason; up: retried with backoff,
# three messages on one connection, no duplicate
remote r2
P2=$RPORT
stop_remote r2
send m1 a@remote.test; send m2 b@remote.test; send m3 c@remote.test
i=0; while [ "$(count 'status=deferred')" -lt 3 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
is "$(count 'status=deferred')" 3 "deferred while the remote is down"
grep -q 'to=<a@remote.test>, relay=none, .*dsn=4.4.1, status=deferred (connect to 127.0.0.1\[127.0.0.1\]:'"$P2"': Connection refused)' "$T_TMP/log"
ok $? "the reason is logged"
"$B/sendmail" -c "$FCONF" -bp > "$T_TMP/mailq"
grep -q 'Connection refused' "$T_TMP/mailq" && grep -q 'a@remote.test' "$T_TMP/mailq"
ok $? "mailq shows the deferred recipient and the last reason"
is "$(ls "$T_TMP/queue/defer" | wc -l)" 3 "a retry schedule per deferred message"
n0=$(count 'status=deferred')
"$B/sendmail" -c "$FCONF" -q
is "$(count 'status=deferred')" "$n0" "sendmail -q before the retry time: no attempt"
remote_on r2 "$P2"
sleep 2.2
# one agent for the next hop (else up to 20 in parallel: t/74)
conf_set smtp_destination_concurrency_limit 1
"$B/sendmail" -c "$FCONF" -q
conf_set smtp_destination_concurrency_limit 20
is "$(nmsg r2)" 3 "after the backoff, sendmail -q delivers all three"
is "$(grep -c '^EHLO' "$T_TMP/r2/transcript")" 1 "on one connection"
wait_queue; ok $? "queue empty"
is "$(ls "$T_TMP/queue/defer" | wc -l)" 0 "schedules removed"
"$B/sendmail" -c "$FCONF" -qf
is "$(nmsg r2)" 3 "no duplicate on the next run"
stop_remote r2

# 3: backoff doubles, bounded: times in the schedule
remote r3
P3=$RPORT
stop_remote r3
send back d@remote.test
wait_log 'to=<d@remote.test>.*status=deferred'
t1=$(cut -d' ' -f2 "$T_TMP/queue/defer/"*)
sleep 2.2
"$B/sendmail" -c "$FCONF" -q
t2=$(cut -d' ' -f2 "$T_TMP/queue/defer/"*)
[ $((t2 - t1)) -ge 4 ]
ok $? "second deferral waits twice as long (next times $t1, $t2)"
remote_on r3 "$P3"
"$B/sendmail" -c "$FCONF" -qR remote.test
is "$(nmsg r3)" 1 "sendmail -qR domain forces the retry"
stop_remote r3

# 4: greylisting: 450 then 250
remote r4 --grey 1
send grey g@remote.test
wait_log 'to=<g@remote.test>.*status=deferred'
grep -q 'to=<g@remote.test>.*dsn=4.2.0, status=deferred (host 127.0.0.1\[127.0.0.1\] said: 450 4.2.0 <g@remote.test>: Recipient address rejected: Greylisted (in reply to RCPT TO command))' "$T_TMP/log"
ok $? "450 logged with the remote's words"
"$B/sendmail" -c "$FCONF" -bp | grep -q 'Greylisted'
ok $? "mailq shows the 450"
sleep 2.2
"$B/sendmail" -c "$FCONF" -q
is "$(nmsg r4)" 1 "delivered on the retry"
wait_queue; ok $? "queue empty"
stop_remote r4

# 5: 5xx for one of two recipients: that one bounced, DSN to the sender
remote r5 --reject bad@remote.test
rm -f "$M/alice"
send rej good@remote.test bad@remote.test
wait_log 'to=<bad@remote.test>.*status=bounced'
ok $? "550 bounced"
wait_queue
is "$(json "$T_TMP/r5/msg-1.json" 'm["rcpts"]')" "['good@remote.test']" "the other one delivered"
i=0; while [ ! -s "$M/alice" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
"$PYTHON" - "$M/alice" > "$T_TMP/dsn" <<'PY'
import email, mailbox, sys
msgs = list(mailbox.mbox(sys.argv[1]))
assert len(msgs) == 1, len(msgs)
m = msgs[0]
assert m.get_content_type() == "multipart/report", m.get_content_type()
assert m.get_param("report-type") == "delivery-status"
parts = m.get_payload()
ds = [p for p in parts if p.get_content_type() == "message/delivery-status"][0]
blocks = ds.get_payload()
rcpts = [b for b in blocks if b.get("Final-Recipient")]
for b in rcpts:
    print(b["Final-Recipient"], b["Action"], b["Status"], b["Diagnostic-Code"])
orig = [p for p in parts if p.get_content_type() == "message/rfc822"][0]
print("subject:", orig.get_payload()[0]["Subject"])
print("to:", m["To"])
PY
ok $? "the DSN parses (multipart/report, delivery-status, the message)"
is "$(grep -c 'rfc822' "$T_TMP/dsn")" 1 "one recipient in the DSN"
grep -q '^rfc822; bad@remote.test failed 5.1.1 .*550 5.1.1 <bad@remote.test>: Recipient address rejected: User unknown' "$T_TMP/dsn"
ok $? "for the rejected one, with status 5.1.1 and the remote's reply"
grep -q '^subject: rej' "$T_TMP/dsn" && grep -q '^to: <alice@example.test>' "$T_TMP/dsn"
ok $? "to the envelope sender, with the message"
stop_remote r5

# 5b: a session with several messages (the delivery worker) hands remote
# mail to a runner too
remote r5b
{ printf 'EHLO c\n'; for k in 1 2 3; do printf 'MAIL FROM:<alice@example.test>\nRCPT TO:<w%s@remote.test>\nRCPT TO:<bob@example.test>\nDATA\nSubject: s%s\n\nx\n.\n' $k $k; done; printf 'QUIT\n'; } | smtp_run > /dev/null
i=0; while [ "$(nmsg r5b)" -lt 3 ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
is "$(nmsg r5b)" 3 "three messages of one session relayed"
wait_queue; ok $? "queue empty (local copies delivered too)"
is "$(grep -c '^Subject: s[123]$' "$M/bob")" 3 "the local recipient got the three"
stop_remote r5b

# 6: a null sender's failure bounces to nobody
remote r6 --reject bad@remote.test
printf 'Subject: nul\n\nx\n' | "$B/sendmail" -c "$FCONF" -f '<>' bad@remote.test
wait_log 'no bounce for the null sender'
ok $? "no bounce for <>"
wait_queue; ok $? "queue empty"
stop_remote r6

# 7: HELO-only remote
remote r7 --helo-only
send old h@remote.test
wait_log 'to=<h@remote.test>.*status=sent'
ok $? "delivered to a HELO-only server"
is "$(sed -n 1,2p "$T_TMP/r7/transcript" | tr '\n' ' ')" "EHLO mail.example.test HELO mail.example.test " "EHLO refused, HELO"
is "$(grep '^MAIL' "$T_TMP/r7/transcript")" "MAIL FROM:<alice@example.test>" "no ESMTP parameters"
stop_remote r7

# 8: 8-bit mail: BODY=8BITMIME when offered; sent as is when not
eightbit() {
	printf 'EHLO c\nMAIL FROM:<alice@example.test> BODY=8BITMIME\nRCPT TO:<%s>\nDATA\nSubject: 8bit\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\ncaf\303\251\n.\nQUIT\n' "$1" | smtp_run > /dev/null
}
remote r8
eightbit e@remote.test
wait_log 'to=<e@remote.test>.*status=sent'
grep -q '^MAIL FROM:<alice@example.test> SIZE=[0-9]* BODY=8BITMIME' "$T_TMP/r8/transcript"
ok $? "BODY=8BITMIME to a server with 8BITMIME"
stop_remote r8
remote r9 --no-8bitmime
eightbit f@remote.test
wait_log 'to=<f@remote.test>.*status=sent'
ok $? "8-bit mail delivered to a server without 8BITMIME"
lacks "$T_TMP/r9/transcript" 'BODY=' "no BODY= parameter"
json "$T_TMP/r9/msg-1.json" 'm["data"]' | grep -q "café"
ok $? "sent as is (8-bit bytes intact)"
stop_remote r9

# 9: SIZE: a message over the server's limit bounces without being sent
remote r10 --size 200
rm -f "$M/alice"
send big s@remote.test
wait_log 'to=<s@remote.test>.*status=bounced'
grep -q 'to=<s@remote.test>.*dsn=5.3.4, status=bounced (message size [0-9]* exceeds size limit 200' "$T_TMP/log"
ok $? "over SIZE: bounced 5.3.4"
lacks "$T_TMP/r10/transcript" '^MAIL' "no MAIL sent"
stop_remote r10

# 10: DSN parameters passed on
remote r11
printf 'EHLO c\nMAIL FROM:<alice@example.test> RET=HDRS ENVID=env+2B1\nRCPT TO:<n@remote.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;n@remote.test\nDATA\nSubject: dsn\n\nx\n.\nQUIT\n' | smtp_run > /dev/null
wait_log 'to=<n@remote.test>.*status=sent'
grep -q '^MAIL FROM:<alice@example.test> SIZE=[0-9]* RET=HDRS ENVID=env+2B1$' "$T_TMP/r11/transcript"
ok $? "RET and ENVID passed on"
grep -q '^RCPT TO:<n@remote.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;n@remote.test$' "$T_TMP/r11/transcript"
ok $? "NOTIFY and ORCPT passed on"
stop_remote r11

# 11: a remote that stalls: timeouts defer; the network side is default_privs
conf_set smtp_mail_timeout 3s
remote r12 --stall mail
send stall t@remote.test
i=0; while ! grep -q '^MAIL' "$T_TMP/r12/transcript" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if [ "$(id -u)" = 0 ]; then
	pid=$(ss -tnpH state established "( dport = :$RPORT )" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
	is "$(ps -o user= -p "$pid" 2>/dev/null)" nobody "the SMTP client runs as default_privs (nobody)"
else
	skip "not root"
fi
wait_log 'to=<t@remote.test>.*status=deferred'
grep -q 'to=<t@remote.test>.*status=deferred (conversation with 127.0.0.1\[127.0.0.1\] timed out while sending MAIL FROM)' "$T_TMP/log"
ok $? "smtp_mail_timeout: deferred, timed out"
stop_remote r12
conf_set smtp_helo_timeout 1s
remote r13 --stall greeting
send stall2 u@remote.test
wait_log 'to=<u@remote.test>.*status=deferred'
grep -q 'to=<u@remote.test>.*status=deferred (conversation timed out with 127.0.0.1\[127.0.0.1\] while receiving the initial server greeting)' "$T_TMP/log"
ok $? "smtp_helo_timeout on the greeting: deferred"
stop_remote r13
conf_set smtp_helo_timeout 300s
conf_set smtp_mail_timeout 300s
remote_on r13b "$RPORT"
"$B/sendmail" -c "$FCONF" -qf
is "$(nmsg r13b)" 2 "both delivered once the remote answers"
stop_remote r13b

# 12: a drop after DATA's 354: deferred, then delivered exactly once
remote r14 --drop-after-354
P14=$RPORT
send drop v@remote.test
wait_log 'to=<v@remote.test>.*status=deferred'
grep -q 'to=<v@remote.test>.*status=deferred (lost connection with 127.0.0.1\[127.0.0.1\] while sending message body)' "$T_TMP/log"
ok $? "drop after 354: deferred (lost connection)"
is "$(nmsg r14)" 0 "nothing accepted by the remote"
stop_remote r14
remote_on r15 "$P14"
"$B/sendmail" -c "$FCONF" -qf
is "$(nmsg r15)" 1 "delivered on the retry"
"$B/sendmail" -c "$FCONF" -qf
is "$(nmsg r15)" 1 "once"
wait_queue; ok $? "queue empty"
stop_remote r15

# 13: a garbage reply is a broken connection, not a crash
remote r16
stop_remote r16
"$PYTHON" -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5)
print("ready", flush=True)
while True:
    c,_=s.accept(); c.sendall(b"hello there" + b"x"*5000 + b"\r\n" + b"220-" * 300 + b"\r\n"); c.close()' "$RPORT" > "$T_TMP/g.ready" &
echo $! > "$T_TMP/g.pid"
i=0; while ! grep -q ready "$T_TMP/g.ready" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
send junk w@remote.test
wait_log 'to=<w@remote.test>.*status=deferred'
ok $? "garbage greeting: deferred"
stop_remote g
"$B/sendmail" -c "$FCONF" -bp | grep -q 'w@remote.test'
ok $? "still queued"
remote_on r16b "$RPORT"
"$B/sendmail" -c "$FCONF" -qf
is "$(nmsg r16b)" 1 "delivered once the remote is sane"
stop_remote r16b

# 14: ETRN domain forces the domain's deferred mail
conf_set minimal_backoff_time 1h
conf_set maximal_backoff_time 2h
remote r17
P17=$RPORT
stop_remote r17
send etrn z@remote.test
wait_log 'to=<z@remote.test>.*status=deferred'
remote_on r17 "$P17"
printf 'EHLO c\nETRN other.test\nQUIT\n' | smtp_run > /dev/null
sleep 1
is "$(nmsg r17)" 0 "ETRN for another domain: not retried"
printf 'EHLO c\nETRN remote.test\nQUIT\n' | smtp_run > "$T_TMP/etrn.out"
grep -q '^250' "$T_TMP/etrn.out"
ok $? "ETRN accepted"
i=0; while [ "$(nmsg r17)" = 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
is "$(nmsg r17)" 1 "ETRN remote.test: delivered now"
stop_remote r17

# 15: delay_warning_time: one "delayed" notice, the mail stays queued
conf_set delay_warning_time 1s
remote r19
P19=$RPORT
stop_remote r19
rm -f "$M/alice"
send late k@remote.test
wait_log 'to=<k@remote.test>.*status=deferred'
sleep 1.2
"$B/sendmail" -c "$FCONF" -q
i=0; while ! grep -q '^Action: delayed' "$M/alice" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
grep -q '^Subject: Delayed Mail (still being retried)' "$M/alice" && grep -q '^Final-Recipient: rfc822; k@remote.test' "$M/alice" &&
	grep -q '^Status: 4.4.1' "$M/alice" && grep -q '^Content-Type: text/rfc822-headers' "$M/alice"
ok $? "a delay notice (Action: delayed, 4.4.1, headers only)"
"$B/sendmail" -c "$FCONF" -q
sleep 0.5
is "$(grep -c '^Action: delayed' "$M/alice")" 1 "sent once"
"$B/sendmail" -c "$FCONF" -bp | grep -q 'k@remote.test'
ok $? "the mail stays queued"
conf_set delay_warning_time 0
remote_on r19 "$P19"
"$B/sendmail" -c "$FCONF" -qf
# a runner still busy with the pass above takes -qf's request after it
i=0; while [ "$(nmsg r19)" = 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
is "$(nmsg r19)" 1 "and leaves when the remote is back"
stop_remote r19

# 16: queue lifetime: bounce with the last reason
conf_set minimal_backoff_time 1s
conf_set maximal_queue_lifetime 2s
remote r18
stop_remote r18
rm -f "$M/alice"
send old2 q@remote.test
wait_log 'to=<q@remote.test>.*status=deferred'
sleep 2.5
"$B/sendmail" -c "$FCONF" -q
wait_log 'to=<q@remote.test>.*status=expired'
ok $? "past maximal_queue_lifetime: expired"
i=0; while ! grep -q 'q@remote.test' "$M/alice" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
grep -q '^Diagnostic-Code: .*connect to 127.0.0.1\[127.0.0.1\]:[0-9]*: Connection refused' "$M/alice" && grep -q '^Final-Recipient: rfc822; q@remote.test' "$M/alice"
ok $? "the bounce carries the last reply"
wait_queue; ok $? "queue empty"

done_testing
