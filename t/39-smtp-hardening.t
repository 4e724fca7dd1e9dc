#!/bin/sh
# Hardening (issue 10 item 7): a socket without a known peer is not local;
# smtpd's session child and the pre-auth children are confined
# (NO_NEW_PRIVS, PDEATHSIG, RLIMIT_NPROC 0, RLIMIT_AS); the delivery child
# holds the message read-only and nothing else of root's; deadlines per
# command line and per body (t/bin/trickle and a slow client); sendmail -f
# by a user is allowed and names the real uid in Received and the log.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
[ -x "$B/smtpd" ] && [ -x "$B/pop3d" ] && [ -x "$B/imapd" ] || { echo "Bail out! build first"; exit 1; }
smtp_env
Q=$T_TMP/queue
M=$T_TMP/spool
# unix_session PROG SCRIPT: PROG with fds 0/1 on a UNIX socketpair
unix_session() {
	python3 - "$B/$1" "$FCONF" "$2" <<'PY'
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen([sys.argv[1], '-c', sys.argv[2]], stdin=b, stdout=b)
b.close()
a.settimeout(20)
a.sendall(sys.argv[3].replace('\n', '\r\n').encode())
out = b''
try:
    while True:
        d = a.recv(65536)
        if not d:
            break
        out += d
except socket.timeout:
    pass
p.wait(timeout=20)
sys.stdout.write(out.decode('latin-1').replace('\r', ''))
PY
}

# 1-3: fail closed: a UNIX socket client is unknown, not local
unix_session smtpd 'EHLO c
MAIL FROM:<a@c.example>
RCPT TO:<x@remote.example>
QUIT
' > "$T_TMP/r"
grep -q '^554 5.7.1' "$T_TMP/r"; ok $? "smtpd: a UNIX-socket client may not relay (was: local)"
grep -q 'connect from unknown' "$T_TMP/log"; ok $? "and is logged as unknown"
unix_session pop3d 'USER alice
PASS alice-pw
QUIT
' > "$T_TMP/r"
! grep -q '^+OK Logged in' "$T_TMP/r"; ok $? "pop3d: no plaintext login for a UNIX-socket client"

# 4-9: confinement of smtpd's session child and pop3d's pre-auth child
# confined NAME PROG: starts PROG on a socket, checks its child, kills PROG
confined() {
	python3 - "$B/$2" "$FCONF" "$B" > "$T_TMP/conf.out" <<'PY'
import os, socket, subprocess, sys, time, signal
a, b = socket.socketpair()
p = subprocess.Popen([sys.argv[1], '-c', sys.argv[2]], stdin=b, stdout=b)
b.close()
a.settimeout(10)
a.recv(1024)                      # the greeting: the child is running
kids = []
for _ in range(50):
    kids = [int(x) for x in open('/proc/%d/task/%d/children' % (p.pid, p.pid)).read().split()]
    if kids:
        break
    time.sleep(0.1)
c = kids[0]
st = open('/proc/%d/status' % c).read()
lim = open('/proc/%d/limits' % c).read()
nnp = [l.split()[1] for l in st.splitlines() if l.startswith('NoNewPrivs:')][0]
nproc = [l.split()[2] for l in lim.splitlines() if l.startswith('Max processes')][0]
asl = [l.split()[3] for l in lim.splitlines() if l.startswith('Max address space')][0]
os.kill(p.pid, signal.SIGKILL)
p.wait()
gone = 0
for _ in range(50):
    try:
        s = open('/proc/%d/stat' % c).read().split()
        if s[2] == 'Z':
            gone = 1
            break
    except FileNotFoundError:
        gone = 1
        break
    time.sleep(0.1)
print(nnp, nproc, asl, gone)
PY
	n=$1
	set -- $(cat "$T_TMP/conf.out")
	is "$1" 1 "$n: NoNewPrivs set in the child"
	case $B in
	*build-san*)
		ok 0 "$n: RLIMIT_NPROC not set under ASan (LeakSanitizer needs a thread)"
		ok 0 "$n: RLIMIT_AS not set under ASan ($3)" ;;
	*)
		is "$2" 0 "$n: RLIMIT_NPROC 0 in the child"
		is "$3" 268435456 "$n: RLIMIT_AS PREAUTH_MEM_MAX in the child" ;;
	esac
	is "$4" 1 "$n: the child dies with its parent (PDEATHSIG)"
}
confined smtpd smtpd
confined pop3d pop3d

# 12-14: deadlines.  smtpd_timeout 2 s: a command line trickled at 0.4 s a
# byte (each read well within 2 s) is cut after 2 s
conf_set smtpd_timeout 2
if [ -x "$B/t/bin/trickle" ]; then
	printf 'EHLO client.example\r\nQUIT\r\n' | "$B/t/bin/trickle" -d 400000 "$B/smtpd" -c "$FCONF" | nocr > "$T_TMP/r"
	grep -q '^421 4.4.2 .*timeout' "$T_TMP/r" && ! grep -q '^250' "$T_TMP/r"
	ok $? "smtpd: a command trickled past smtpd_timeout gets 421"
else
	skip "trickle not built"
fi
# slow PROG PREFIX N DELAY: PROG gets PREFIX at once, then N bytes one
# every DELAY s (a CRLF every third one) until it stops reading; prints the
# seconds it took, then the replies
slow() {
	python3 - "$B/$1" "$FCONF" "$2" "$3" "$4" <<'PY'
import subprocess, sys, time
p = subprocess.Popen([sys.argv[1], '-c', sys.argv[2]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
t = time.monotonic()
try:
    p.stdin.write(sys.argv[3].encode().decode('unicode_escape').encode())
    p.stdin.flush()
    for i in range(int(sys.argv[4])):
        p.stdin.write(b'x\r\n' if i % 3 == 2 and 'DATA' in sys.argv[3] else b'x')
        p.stdin.flush()
        time.sleep(float(sys.argv[5]))
    p.stdin.close()
except BrokenPipeError:
    pass
print(int(time.monotonic() - t))
sys.stdout.write(p.stdout.read().decode().replace('\r', ''))
PY
}
# a DATA body trickled at 10 bytes/s: the deadline (2 x smtpd_timeout plus
# 1/500 s per byte) ends it; nothing is queued
slow smtpd 'EHLO c\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n' 200 0.1 > "$T_TMP/r"
secs=$(head -1 "$T_TMP/r")
grep -q '^421 4.4.2' "$T_TMP/r" && [ "$secs" -lt 15 ] && [ ! -e "$M/bob" ]
ok $? "smtpd: a DATA body trickled at 10 B/s is cut by its deadline (${secs}s), nothing queued"
conf_set imap_timeout 2
slow imapd 'a LOGIN alice alice-pw\r\nb APPEND INBOX {300+}\r\n' 300 0.05 > "$T_TMP/r"
secs=$(head -1 "$T_TMP/r")
grep -q '^\* BYE' "$T_TMP/r" && ! grep -q '^b OK' "$T_TMP/r" && [ "$secs" -lt 12 ]
ok $? "imapd: an APPEND literal trickled at 20 B/s is cut by its deadline (${secs}s)"
conf_set smtpd_timeout 300
conf_set imap_timeout 1800

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	SM="$B/sendmail -c $FCONF"
	$SM -q
	# 15-16: -f by a user: allowed, the real uid recorded
	printf 'Subject: forged\n\nx\n' | nobody $B/sendmail -c "$FCONF" -f ceo@bank.example bob
	$SM -q
	grep -q '^Return-Path: <ceo@bank.example>' "$M/bob" && grep -q 'from userid 65534' "$M/bob"
	ok $? "sendmail -f by a user: sender kept, Received names uid 65534"
	grep -q 'uid=65534 from=<ceo@bank.example>' "$T_TMP/log"
	ok $? "the log names uid 65534 with the forged sender"
	rm -f "$M/bob"
	# 17-18: the delivery child holds the queue file read-only, nothing else
	bob_uid=$(user_uid bob)
	SPOOL=$M
	mkbox bob < /dev/null
	conf_set lock_timeout 20
	as_user bob "$B/t/bin/mboxtool" lock "$M/bob" write 6 > /dev/null &
	locker=$!
	sleep 0.5
	printf 'Subject: ro\n\nx\n' | $SM bob
	child=
	i=0
	while [ $i -lt 50 ] && [ -z "$child" ]; do
		child=$(ps -u "$bob_uid" -o pid=,comm= 2>/dev/null | awk '$2 != "mboxtool" && $2 != "runas" {print $1; exit}')
		sleep 0.1; i=$((i + 1))
	done
	qfds=0 rw=0 other=0
	for f in /proc/$child/fd/*; do
		l=$(readlink "$f" 2>/dev/null) || continue
		case $l in
		"$Q"/q/*) qfds=$((qfds + 1))
			flags=$(awk '/^flags/ {print $2}' "/proc/$child/fdinfo/${f##*/}")
			[ $((0$flags & 3)) = 0 ] || rw=$((rw + 1)) ;;
		"$Q"/*) other=$((other + 1)) ;;
		esac
	done
	[ -n "$child" ] && [ "$qfds" = 1 ] && [ "$rw" = 0 ]
	ok $? "delivery child $child: the queue file is open read-only ($qfds open, $rw writable)"
	is "$other" 0 "delivery child: no other queue descriptor (runner.lock...)"
	wait "$locker"
	wait_queue
	grep -q '^Subject: ro' "$M/bob"; ok $? "delivered once the lock is free"
else
	for i in 1 2 3 4 5; do skip "needs root and setpriv"; done
fi
done_testing
