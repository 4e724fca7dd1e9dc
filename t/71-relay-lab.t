#!/bin/sh
# The lab's exchange between machines (issue 12), on one machine: the test
# runs in its own network and mount namespace (unshare), where two facteur
# hosts listen on port 25 of their own loopback addresses (smtp.mail1.com
# 127.0.0.11, smtp.mail2.com 127.0.0.12; not 127.0.0.1, which is lo's own
# address and so "this host" for both) and a dnsmasq on 127.0.0.53 serves
# the zones through a bind-mounted /etc/resolv.conf.  Checks: alice@mail1.com
# writes to bob@mail2.com through machine 1 and the mail lands in machine
# 2's mailbox with both hosts' Received lines, and the reply comes back;
# MX order (first MX down, second up); no MX (the domain's A record); a
# null MX, a loop back to ourselves and an unknown domain bounce; an MX
# down then up (deferred, retried, delivered once); relayhost = host (its
# MX) and [host] (its address).
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
[ -x "$B/smtpd" ] || { echo "Bail out! $B/smtpd not built"; exit 1; }
need_root "network namespaces, port 25 inside them"
need_cmd unshare
need_cmd ip
DNSMASQ=$(command -v dnsmasq 2>/dev/null || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || skip_all "dnsmasq not installed (Debian package dnsmasq-base)"
command -v "$PYTHON" >/dev/null 2>&1 || skip_all "python3 not installed"
if [ -z "${FACTEUR_NETNS:-}" ]; then
	# everything below runs in a private network (only lo) and mount namespace
	unshare --net --mount --fork env FACTEUR_NETNS=1 sh "$0" "$@"
	exit $?
fi
ip link set lo up || { echo "Bail out! cannot bring lo up in the namespace"; exit 1; }
mount --make-rprivate / || { echo "Bail out! mount namespace"; exit 1; }

tmpdir
ROOT=$T_TMP
chmod 755 "$ROOT"
trap 'for f in "$ROOT"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done; rm -rf "$ROOT"' EXIT

# --- DNS
cat > "$ROOT/dns.conf" <<EOF
port=53
listen-address=127.0.0.53
bind-interfaces
no-resolv
no-hosts
local=/com/
local=/test/
mx-host=mail1.com,smtp.mail1.com,10
mx-host=mail2.com,smtp.mail2.com,10
host-record=smtp.mail1.com,127.0.0.11
host-record=smtp.mail2.com,127.0.0.12
mx-host=two.test,mxa.two.test,10
mx-host=two.test,mxb.two.test,20
host-record=mxa.two.test,127.0.0.3
host-record=mxb.two.test,127.0.0.4
host-record=nomx.test,127.0.0.5
mx-host=null.test,.,0
mx-host=loop.test,smtp.mail1.com,10
mx-host=later.test,mx.later.test,10
mx-host=selfip.test,me.selfip.test,10
host-record=me.selfip.test,127.0.0.1
mx-host=eq.test,mx1.eq.test,10
mx-host=eq.test,mx2.eq.test,10
host-record=mx1.eq.test,127.0.0.7
host-record=mx2.eq.test,127.0.0.8
host-record=mx.later.test,127.0.0.6
EOF
"$DNSMASQ" -k -C "$ROOT/dns.conf" -u root --pid-file="$ROOT/dnsmasq.pidfile" -8 "$ROOT/dnsmasq.log" &
echo $! > "$ROOT/dnsmasq.pid"
echo "nameserver 127.0.0.53" > "$ROOT/resolv.conf"
mount --bind "$ROOT/resolv.conf" /etc/resolv.conf || { echo "Bail out! cannot bind-mount resolv.conf"; exit 1; }
i=0; while ! getent hosts smtp.mail2.com >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
is "$(getent hosts smtp.mail2.com | awk 'NR==1{print $1}')" 127.0.0.12 "the test DNS answers inside the namespace"

# --- two facteur hosts
host_env() {
	T_TMP=$ROOT/h$1
	smtp_env
	conf_set myhostname "smtp.mail$1.com"
	conf_set mydomain "mail$1.com"
	conf_set mydestination "mail$1.com, smtp.mail$1.com, localhost"
	conf_set mynetworks "127.0.0.1$1/32"
	conf_set smtp_bind_address "127.0.0.1$1"
	conf_set inet_protocols ipv4
	conf_set minimal_backoff_time 2s
	conf_set maximal_backoff_time 8s
}
# serve ADDR PROGRAM...: an inetd on ADDR:25 (pid file named after ADDR)
serve() {
	a=$1; shift
	"$PYTHON" "$FACTEUR_SRC/t/smtp/inetd.py" "$a:25" "$@" > "$ROOT/$a.ready" 2>"$ROOT/$a.err" &
	echo $! > "$ROOT/$a.pid"
	i=0; while ! grep -q ready "$ROOT/$a.ready" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
}
# remote ADDR NAME [remote.py options]: a scriptable remote on ADDR:25
remote() {
	a=$1; n=$2; shift 2
	"$PYTHON" "$FACTEUR_SRC/t/smtp/remote.py" --listen "$a:25" --out "$ROOT/$n" "$@" > "$ROOT/$a.ready" 2>"$ROOT/$a.err" &
	echo $! > "$ROOT/$a.pid"
	i=0; while ! grep -q ready "$ROOT/$a.ready" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
}
stop() { kill "$(cat "$ROOT/$1.pid")" 2>/dev/null; wait "$(cat "$ROOT/$1.pid")" 2>/dev/null; rm -f "$ROOT/$1.pid"; }
host_env 1; C1=$FCONF; H1=$ROOT/h1
host_env 2; C2=$FCONF; H2=$ROOT/h2
serve 127.0.0.11 "$B/smtpd" -c "$C1"
serve 127.0.0.12 "$B/smtpd" -c "$C2"
# waitfor FILE PATTERN: at most 20 s
waitfor() { i=0; while ! grep -q -- "$2" "$1" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; grep -q -- "$2" "$1" 2>/dev/null; }
# smtp_send SRCADDR SERVER FROM TO SUBJECT: a client ("Thunderbird") session
smtp_send() {
	"$PYTHON" - "$@" <<'PY'
import smtplib, sys
src, server, frm, to, subj = sys.argv[1:6]
s = smtplib.SMTP(server, 25, source_address=(src, 0), timeout=20)
s.ehlo("client.lab")
s.sendmail(frm, [to], "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\nHello from %s.\r\n" % (frm, to, subj, frm))
s.quit()
PY
}
# idle1: bounded wait (20 s) until no queue runner of machine 1 is up (its
# locks free).  A runner keeps the configuration it started with, as
# Postfix's daemons do until a reload: a conf_set between two messages must
# not be read by a runner still serving the first one.
idle1() {
	i=0
	until flock -n "$H1/queue/runner.lock" true && flock -n "$H1/queue/new.lock" true; do
		i=$((i+1)); [ $i -lt 200 ] || return 1
		sleep 0.1
	done
}
send1() { s=$1; shift; printf 'Subject: %s\n\nbody\n' "$s" | "$B/sendmail" -c "$C1" -f alice@mail1.com "$@"; }

# 1: the lab: alice@mail1.com -> bob@mail2.com through machine 1
smtp_send 127.0.0.11 127.0.0.11 alice@mail1.com bob@mail2.com "lab exchange"
ok $? "machine 1 accepts mail for mail2.com from its network"
waitfor "$H2/spool/bob" '^Subject: lab exchange'
ok $? "it lands in machine 2's mailbox of bob"
grep -q '^Received: from smtp.mail1.com (unknown \[127.0.0.11\])' "$H2/spool/bob" &&
	grep -q 'by smtp.mail2.com (facteur) with ESMTP' "$H2/spool/bob" &&
	grep -q 'by smtp.mail1.com (facteur) with ESMTP' "$H2/spool/bob"
ok $? "with both hosts' Received lines"
grep -q 'to=<bob@mail2.com>, relay=smtp.mail2.com\[127.0.0.12\]:25, delay=[0-9]*, dsn=2.0.0, status=sent' "$H1/log"
ok $? "machine 1 logs relay=smtp.mail2.com[127.0.0.12]:25 ... status=sent"
smtp_send 127.0.0.12 127.0.0.12 bob@mail2.com alice@mail1.com "the reply"
waitfor "$H1/spool/alice" '^Subject: the reply'
st=$?
ok $st "the reply comes back to machine 1"
[ $st = 0 ] || { tail -5 "$H2/log"; tail -5 "$H1/log"; } | sed "s/^/# /"
"$PYTHON" - <<'PY' 2>/dev/null
import smtplib
s = smtplib.SMTP("127.0.0.12", 25, source_address=("127.0.0.11", 0), timeout=20)
s.ehlo("x")
try:
    s.sendmail("alice@mail1.com", ["luke@starwars.univ"], "Subject: x\r\n\r\nx\r\n")
    raise SystemExit(1)
except smtplib.SMTPRecipientsRefused as e:
    raise SystemExit(0 if list(e.recipients.values())[0][0] == 554 else 1)
PY
ok $? "machine 2 does not relay for machine 1 (not in its mynetworks)"

# 2: first MX down, second up
remote 127.0.0.4 mxb
send1 two x@two.test
waitfor "$H1/log" 'to=<x@two.test>.*status='
grep -q 'to=<x@two.test>, relay=mxb.two.test\[127.0.0.4\]:25, .*status=sent' "$H1/log"
ok $? "first MX down: delivered to the second"
grep -q 'connect to mxa.two.test\[127.0.0.3\]:25: Connection refused' "$H1/log"
ok $? "after trying the first (preference 10)"
stop 127.0.0.4

# 3: no MX: the domain's address
remote 127.0.0.5 nomx
send1 nomx y@nomx.test
waitfor "$H1/log" 'to=<y@nomx.test>.*status='
grep -q 'to=<y@nomx.test>, relay=nomx.test\[127.0.0.5\]:25, .*status=sent' "$H1/log"
ok $? "no MX: delivered to the A record"
stop 127.0.0.5

# 4: bounces: null MX, loop, unknown domain
send1 nullmx u@null.test
waitfor "$H1/log" 'to=<u@null.test>.*status='
grep -q 'to=<u@null.test>, relay=none, .*dsn=5.1.10, status=bounced (Domain null.test does not accept mail (nullMX))' "$H1/log"
ok $? "null MX (RFC 7505): bounced 5.1.10"
send1 loop l@loop.test
waitfor "$H1/log" 'to=<l@loop.test>.*status='
grep -q 'to=<l@loop.test>, relay=none, .*dsn=5.4.6, status=bounced (mail for loop.test loops back to myself)' "$H1/log"
ok $? "MX pointing to ourselves: bounced, mail loops back to myself"
send1 selfip s@selfip.test
waitfor "$H1/log" 'to=<s@selfip.test>.*status='
grep -q 'to=<s@selfip.test>, relay=none, .*dsn=5.4.6, status=bounced (mail for selfip.test loops back to myself)' "$H1/log"
ok $? "MX whose address is one of ours: bounced, mail loops back to myself"
send1 nx n@nosuch.test
waitfor "$H1/log" 'to=<n@nosuch.test>.*status='
grep -q 'to=<n@nosuch.test>, relay=none, .*dsn=5.1.2, status=bounced (Host or domain name not found' "$H1/log"
ok $? "unknown domain: bounced 5.1.2"
waitfor "$H1/spool/alice" 'Final-Recipient: rfc822; n@nosuch.test'
grep -q 'Final-Recipient: rfc822; u@null.test' "$H1/spool/alice" && grep -q 'Final-Recipient: rfc822; l@loop.test' "$H1/spool/alice"
ok $? "the sender gets the DSNs"

# 5: MX down, then up: deferred, retried, delivered once
send1 later z@later.test
waitfor "$H1/log" 'to=<z@later.test>.*status=deferred'
ok $? "MX down: deferred"
remote 127.0.0.6 later
sleep 2.2
"$B/sendmail" -c "$C1" -q
# sendmail -q leaves its request to a runner still active (the one the
# deferral started) and returns: wait for that one, bounded
i=0; while [ "$(ls "$ROOT/later" | grep -c '^msg-')" = 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
is "$(ls "$ROOT/later" | grep -c '^msg-')" 1 "delivered by the next queue run after the backoff"
"$B/sendmail" -c "$C1" -qf
is "$(ls "$ROOT/later" | grep -c '^msg-')" 1 "no duplicate"
is "$(ls "$H1/queue/q" | wc -l)" 0 "machine 1's queue is empty"
stop 127.0.0.6

# 6: MX hosts of equal preference are tried in random order
remote 127.0.0.7 eq1
remote 127.0.0.8 eq2
# one at a time, each its own queue run (a run keeps its connection to
# the MX it picked for all its messages): 16 independent picks
k=0; while [ $k -lt 16 ]; do
	send1 "eq$k" "e$k@eq.test"
	waitfor "$H1/log" "to=<e$k@eq.test>.*status=sent"
	k=$((k+1))
done
i=0; while [ "$(grep -c 'to=<e[0-9]*@eq.test>.*status=sent' "$H1/log")" -lt 16 ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
n1=$(ls "$ROOT/eq1" | grep -c '^msg-'); n2=$(ls "$ROOT/eq2" | grep -c '^msg-')
is "$((n1 + n2))" 16 "16 messages to a domain with two MX of equal preference"
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ]
ok $? "both MX used ($n1 and $n2)"
stop 127.0.0.7
stop 127.0.0.8

# 7: relayhost forms (Postfix's meaning): `host` uses host's MX records,
# `[host]` only its address; either way the recipient's own MX is ignored
remote 127.0.0.4 rh
idle1 || diag "a runner of machine 1 is still up"
FCONF=$C1 conf_set relayhost two.test
send1 rh1 r1@mail2.com
waitfor "$H1/log" 'to=<r1@mail2.com>.*status=sent'
grep -q 'to=<r1@mail2.com>, relay=mxb.two.test\[127.0.0.4\]:25, .*status=sent' "$H1/log"
r=$?
ok $r "relayhost = two.test: its MX (the second, the first being down), not mail2.com's"
[ $r -eq 0 ] || diag "$(grep 'r1@mail2.com' "$H1/log")"
idle1 || diag "a runner of machine 1 is still up"
FCONF=$C1 conf_set relayhost '[mxb.two.test]'
nmxa=$(grep -c 'mxa.two.test' "$H1/log")
send1 rh2 r2@mail2.com
waitfor "$H1/log" 'to=<r2@mail2.com>.*status=sent'
grep -q 'to=<r2@mail2.com>, relay=mxb.two.test\[127.0.0.4\]:25, .*status=sent' "$H1/log"
ok $? "relayhost = [mxb.two.test]: its address, no MX lookup"
is "$(grep -c 'mxa.two.test' "$H1/log")" "$nmxa" "... mxa (two.test's first MX, down) not tried for it"
is "$(ls "$ROOT/rh" | grep -c '^msg-')" 2 "both reached the relay host"
[ ! -e "$H2/spool/r1" ]; ok $? "none went to mail2.com's own MX"
FCONF=$C1 conf_set relayhost ''
stop 127.0.0.4

done_testing
