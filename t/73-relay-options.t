#!/bin/sh
# Outbound SMTP (issue 12), what t/70 leaves out, against t/smtp/remote.py
# on loopback: SMTPUTF8 (passed on to a server that offers it; a UTF-8
# address to one that does not bounces 5.6.7 without MAIL being sent, the
# DSN reaching the sender); inet_protocols with an address-literal
# relayhost ([::1]: ipv6 and all send, ipv4 keeps the mail deferred, 4.4.4);
# smtp_connect_timeout against a server whose listen queue is full;
# sendmail -qS sender forcing only that sender's deferred mail.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
[ -x "$B/smtpd" ] || { echo "Bail out! $B/smtpd not built"; exit 1; }
command -v "$PYTHON" >/dev/null 2>&1 || skip_all "python3 not installed"
smtp_env
M=$T_TMP/spool
trap 'for f in "$T_TMP"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done; rm -rf "$T_TMP"' EXIT
conf_set minimal_backoff_time 1h
conf_set maximal_backoff_time 2h

# remote NAME HOST PORT [remote.py options]: a remote listening on HOST:PORT
remote() {
	rn=$1 rh=$2 RPORT=$3; shift 3
	rm -rf "$T_TMP/$rn"
	"$PYTHON" "$FACTEUR_SRC/t/smtp/remote.py" --listen "$rh:$RPORT" --out "$T_TMP/$rn" "$@" \
		> "$T_TMP/$rn.ready" 2>"$T_TMP/$rn.err" &
	echo $! > "$T_TMP/$rn.pid"
	i=0; while ! grep -q ready "$T_TMP/$rn.ready" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
}
stop_remote() { kill "$(cat "$T_TMP/$1.pid")" 2>/dev/null; wait "$(cat "$T_TMP/$1.pid")" 2>/dev/null; rm -f "$T_TMP/$1.pid"; }
nmsg() { ls "$T_TMP/$1" 2>/dev/null | grep -c '^msg-'; }
count() { grep -c -- "$1" "$T_TMP/log" 2>/dev/null; }
json() { "$PYTHON" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
# utf8 RCPT: a message with SMTPUTF8 through smtpd
utf8() {
	printf 'EHLO c\nMAIL FROM:<alice@example.test> SMTPUTF8\nRCPT TO:<%s>\nDATA\nSubject: utf8\n\nx\n.\nQUIT\n' "$1" | smtp_run > "$T_TMP/utf8.out"
}
send() { s=$1 f=$2; shift 2; printf 'Subject: %s\n\nbody\n' "$s" | "$B/sendmail" -c "$FCONF" -f "$f" "$@"; }

# 1: SMTPUTF8 offered: passed on with the UTF-8 address
P=$(free_port)
remote u1 127.0.0.1 "$P"
conf_set relayhost "[127.0.0.1]:$P"
utf8 "j$(printf '\303\266')rg@remote.test"
grep -q '^250 2.0.0 Ok: queued' "$T_TMP/utf8.out"; ok $? "smtpd accepts MAIL ... SMTPUTF8 for a UTF-8 remote address"
wait_log 'to=<j.*rg@remote.test>.*status='
grep -q '^MAIL FROM:<alice@example.test> SIZE=[0-9]* SMTPUTF8$' "$T_TMP/u1/transcript"
ok $? "SMTPUTF8 passed on to a server that offers it"
grep -q "^RCPT TO:<j$(printf '\303\266')rg@remote.test>" "$T_TMP/u1/transcript"
ok $? "the UTF-8 address sent as is"
is "$(nmsg u1)" 1 "delivered"
stop_remote u1

# 2: SMTPUTF8 not offered: bounced 5.6.7, nothing sent, DSN to the sender
remote u2 127.0.0.1 "$P" --no-smtputf8
rm -f "$M/alice"
utf8 "ren$(printf '\303\251')e@remote.test"
wait_log 'to=<ren.*e@remote.test>.*status=bounced'
grep -q 'to=<ren.*e@remote.test>, relay=127.0.0.1\[127.0.0.1\]:'"$P"', .*dsn=5.6.7, status=bounced (SMTPUTF8 is required, but was not offered by host 127.0.0.1\[127.0.0.1\])' "$T_TMP/log"
ok $? "a server without SMTPUTF8: bounced 5.6.7, as Postfix says it"
grep -q '^MAIL' "$T_TMP/u2/transcript"
ok $((!$?)) "no MAIL sent"
wait_for 'Status: 5.6.7' "$M/alice"; ok $? "the DSN reaches the sender"
wait_queue; ok $? "queue empty"
stop_remote u2

# 3: inet_protocols and an IPv6 literal relayhost
if "$PYTHON" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	P6=$(free_port)
	remote v6 ::1 "$P6"
	conf_set relayhost "[::1]:$P6"
	conf_set inet_protocols ipv6
	send v6a alice@example.test a@remote.test
	wait_log 'to=<a@remote.test>.*status='
	grep -q "to=<a@remote.test>, relay=::1\[::1\]:$P6, .*status=sent" "$T_TMP/log"
	ok $? "inet_protocols = ipv6: [::1] used"
	conf_set inet_protocols ipv4
	send v6b alice@example.test b@remote.test
	wait_log 'to=<b@remote.test>.*status='
	grep -q "to=<b@remote.test>, relay=none, .*dsn=4.4.4, status=deferred (no usable address for ::1 (inet_protocols = ipv4))" "$T_TMP/log"
	ok $? "inet_protocols = ipv4: an IPv6 relayhost is not used, the mail is kept (4.4.4)"
	is "$(nmsg v6)" 1 "nothing else reached the IPv6 remote"
	conf_set inet_protocols all
	"$B/sendmail" -c "$FCONF" -qf
	is "$(nmsg v6)" 2 "inet_protocols = all: sent on the forced retry"
	wait_queue; ok $? "queue empty"
	stop_remote v6
else
	skip "no IPv6 loopback"; skip "no IPv6 loopback"; skip "no IPv6 loopback"; skip "no IPv6 loopback"; skip "no IPv6 loopback"
fi
conf_set inet_protocols ipv4

# 4: smtp_connect_timeout: a server that never completes the handshake
# (its listen queue is full, so the kernel drops our SYN)
P=$(free_port)
"$PYTHON" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(0)
fill = []
for i in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", int(sys.argv[1])))
    except BlockingIOError: pass
    fill.append(c)
print("ready", flush=True)
time.sleep(3600)' "$P" > "$T_TMP/full.ready" &
echo $! > "$T_TMP/full.pid"
i=0; while ! grep -q ready "$T_TMP/full.ready" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
sleep 0.5
conf_set relayhost "[127.0.0.1]:$P"
conf_set smtp_connect_timeout 2s
t0=$(date +%s)
send ct carol@example.test c@remote.test
wait_log 'to=<c@remote.test>.*status='
t1=$(date +%s)
grep -q "to=<c@remote.test>, relay=none, .*status=deferred (connect to 127.0.0.1\[127.0.0.1\]:$P: Connection timed out)" "$T_TMP/log"
ok $? "smtp_connect_timeout: deferred, Connection timed out (after $((t1 - t0)) s)"
stop_remote full
conf_set smtp_connect_timeout 30s

# 5: sendmail -qS: only that sender's deferred mail is tried now
P=$(free_port)
conf_set relayhost "[127.0.0.1]:$P"
send s1 alice@example.test s1@remote.test
send s2 bob@example.test s2@remote.test
i=0; while [ "$(count 'to=<s[12]@remote.test>.*status=deferred')" -lt 2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
is "$(count 'to=<s[12]@remote.test>.*status=deferred')" 2 "two senders' mail deferred (remote down)"
remote s 127.0.0.1 "$P"
"$B/sendmail" -c "$FCONF" -q
is "$(nmsg s)" 0 "sendmail -q: not their time yet"
"$B/sendmail" -c "$FCONF" -qS bob@
is "$(nmsg s)" 1 "sendmail -qS bob@: one message sent"
is "$(json "$T_TMP/s/msg-1.json" 'm["from"]')" bob@example.test "bob's"
"$B/sendmail" -c "$FCONF" -bp | grep -q 's1@remote.test'
ok $? "alice's still queued"
"$B/sendmail" -c "$FCONF" -qS ALICE
is "$(nmsg s)" 2 "sendmail -qS ALICE (case-insensitive, as sendmail's): the other one"
"$B/sendmail" -c "$FCONF" -qf
is "$(nmsg s)" 3 "sendmail -qf: the rest (carol's, timed out in 4)"
wait_queue; ok $? "queue empty"
stop_remote s

done_testing
