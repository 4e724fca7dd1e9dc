#!/bin/sh
# The systemd units (issue 17): systemd-analyze verify on every unit, the
# socket/service pairs (Accept=yes, the client on stdin/stdout, the ports of
# the xinetd drop-ins), the hardening lines, the queue timer and the cron
# line.  PID 1 is not systemd in CI, so real socket activation cannot run:
# each service's ExecStart runs instead under systemd-socket-activate
# --inetd (one process per connection, as Accept=yes), wrapped in setpriv
# with the unit's NoNewPrivileges and CapabilityBoundingSet, and serves a
# real SMTP -> POP3 -> IMAP round trip, and the TLS and submission units
# (587, 465, 995, 993: STARTTLS, AUTH, implicit TLS with stunnel4).  What only systemd does (PrivateTmp,
# ProtectSystem, KillMode) is checked as text, not run.
. "$(dirname "$0")/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"

S=$FACTEUR_SRC
tmpdir
facteur_env
diag "PID 1 is $(cat /proc/1/comm 2>/dev/null)$([ -d /run/systemd/system ] && echo ' (systemd)' ||
	echo ': no systemd, socket activation emulated with systemd-socket-activate')"

# the units as make install writes them, pointing at this build and config
U=$T_TMP/units
mkdir -p "$U" "$T_TMP/etc"
cp "$FCONF" "$T_TMP/etc/facteur.conf"
for f in "$S"/systemd/facteur-*; do
	sed -e "s|@LIBEXEC@|$B|g" -e "s|@SYSCONFDIR@|$T_TMP/etc|g" "$f" > "$U/${f##*/}"
done
key() { sed -n "s/^$2=//p" "$U/$1" | tail -n 1; }   # key UNIT KEY: its value

## the pairs
n=0
for s in "$U"/facteur-*.socket; do
	n=$((n + 1))
	name=${s##*/}; p=${name#facteur-}; p=${p%.socket}; svc=facteur-$p@.service
	is "$(key "$name" Accept)" yes "$name: Accept=yes (one process per connection)"
	ok "$([ -f "$U/$svc" ] && [ "$(key "$svc" StandardInput)" = socket ] &&
		[ "$(key "$svc" StandardOutput)" = socket ]; echo $?)" "$svc: the client on stdin/stdout"
	e=$(key "$svc" StandardError)
	ok "$([ -n "$e" ] && [ "$e" != socket ] && [ "$e" != inherit ]; echo $?)" \
		"$svc: stderr (=$e) never the client's socket"
	# the same port as the xinetd drop-in's service name
	xs=$(sed -n 's/^service[[:space:]]*//p' "$S/xinetd.d/facteur-$p" 2>/dev/null)
	port=$(getent services "$xs" | awk '{ sub("/.*", "", $2); print $2; exit }')
	is "$(key "$name" ListenStream)" "${port:-?}" "$name: port of xinetd's facteur-$p ($xs)"
	is "$(key "$name" WantedBy)" sockets.target "$name: [Install] WantedBy=sockets.target"
	for k in NoNewPrivileges PrivateTmp ProtectSystem CapabilityBoundingSet; do
		[ -n "$(key "$svc" $k)" ] || { diag "$svc lacks $k"; k=; break; }
	done
	ok "$([ -n "$k" ]; echo $?)" "$svc: hardened (NoNewPrivileges, PrivateTmp, ProtectSystem, capabilities)"
done
ok "$([ $n -ge 7 ]; echo $?)" "a socket unit per port: 25, 587, 465, 110, 995, 143, 993 ($n)"
for p in imaps pop3s submissions; do
	ok "$(key "facteur-$p@.service" ExecStart | grep -q -- ' -T\( \|$\)'; echo $?)" "facteur-$p@.service: implicit TLS (-T)"
done
for p in submission submissions; do
	ok "$(key "facteur-$p@.service" ExecStart | grep -q -- ' -S\( \|$\)'; echo $?)" "facteur-$p@.service: submission (-S, AUTH before MAIL)"
done
is "$(key facteur-smtp@.service KillMode)" process \
	"smtpd: KillMode=process (delivery outlives the session)"
is "$(key facteur-queue.service ExecStart)" "$B/sendmail -c $T_TMP/etc/facteur.conf -q" \
	"facteur-queue.service runs sendmail -q"
is "$(key facteur-queue.timer OnCalendar)" "*:0/5" "facteur-queue.timer: every 5 minutes"

## systemd-analyze verify
if command -v systemd-analyze >/dev/null 2>&1; then
	(cd "$U" && systemd-analyze verify --man=no facteur-*.socket facteur-queue.timer facteur-queue.service \
		facteur-smtp@1.service facteur-pop3@1.service facteur-imap@1.service \
		facteur-submission@1.service facteur-submissions@1.service facteur-pop3s@1.service \
		facteur-imaps@1.service) > "$T_TMP/verify" 2>&1
	r=$?
	sed 's/^/# /' "$T_TMP/verify"
	ok "$([ $r = 0 ] && [ ! -s "$T_TMP/verify" ]; echo $?)" "systemd-analyze verify: every unit, no complaint"
	# the check can fail: a misspelt key is reported
	mkdir "$T_TMP/bad"
	sed 's/^NoDelay=/NoDelai=/' "$U/facteur-pop3.socket" > "$T_TMP/bad/facteur-pop3.socket"
	cp "$U/facteur-pop3@.service" "$T_TMP/bad/"
	(cd "$T_TMP/bad" && systemd-analyze verify --man=no facteur-pop3.socket) > "$T_TMP/verify" 2>&1
	ok "$(grep -q NoDelai "$T_TMP/verify"; echo $?)" "systemd-analyze verify reports a bad key"
	ok "$(systemd-analyze calendar --iterations=2 '*:0/5' 2>/dev/null | grep -q 'Iter. #2'; echo $?)" \
		"the timer's calendar expression parses"
	for p in smtp pop3 imap; do
		systemd-analyze security --offline=yes "$U/facteur-$p@.service" 2>/dev/null |
			sed -n 's/.*Overall exposure level for \([^ ]*\): \(.*\)/# exposure \1: \2/p'
	done
else
	skip "systemd-analyze not installed"
fi

## cron: the line parses and runs the queue here (no systemd timer running)
line=$(sed -e "s|@LIBEXEC@|$B|g" -e "s|@SYSCONFDIR@|$T_TMP/etc|g" "$S/etc/cron.d/facteur" | grep -v '^#' |
	grep -v '^[A-Z]*=' | grep .)
set -f
set -- $line
set +f
ok "$([ "$1 $2 $3 $4 $5 $6" = "*/5 * * * * root" ]; echo $?)" "cron.d: every 5 minutes as root"
cmd=$(echo "$line" | sed 's/^\([^[:space:]]*[[:space:]]*\)\{6\}//')
ok "$(! echo "$cmd" | grep -q %; echo $?)" "cron.d: no % in the command (cron's newline)"

[ "$(id -u)" = 0 ] || { skip "socket activation needs root"; done_testing; exit; }
command -v systemd-socket-activate >/dev/null 2>&1 || { skip "systemd-socket-activate missing"; done_testing; exit; }
command -v setpriv >/dev/null 2>&1 || { skip "setpriv missing"; done_testing; exit; }

sh -c "$cmd"
ok $? "cron.d: the command runs (sendmail -q) without systemd"

## ExecStart under systemd-socket-activate + setpriv (the unit's limits)
# wrap UNIT: the setpriv prefix for the unit's NoNewPrivileges and
# CapabilityBoundingSet
wrap() {
	caps=$(key "$1" CapabilityBoundingSet | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
	echo "setpriv ${caps:+--bounding-set=-all,$caps} $([ "$(key "$1" NoNewPrivileges)" = yes ] && echo --no-new-privs)"
}
PIDS=
# (as root, t/lib/env.sh gave alice, bob and carol uids of their own)
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$T_TMP"' EXIT
chmod 755 "$T_TMP"
# TLS: a certificate of our own (root-only key, like the snakeoil pair)
STUNNEL=$(command -v stunnel4 || echo /usr/bin/stunnel4)
TLS=
if [ -x "$STUNNEL" ] && command -v openssl >/dev/null 2>&1 &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" -days 2 \
		-subj /CN=127.0.0.1 > /dev/null 2>&1; then
	chmod 600 "$T_TMP/key.pem"
	printf 'tls_cert_file = %s\ntls_key_file = %s\nstunnel_path = %s\n' "$T_TMP/cert.pem" "$T_TMP/key.pem" \
		"$STUNNEL" >> "$T_TMP/etc/facteur.conf"
	TLS="submission submissions pop3s imaps"
fi
for p in smtp pop3 imap $TLS; do
	port=$(free_port)
	eval "port_$p=$port"
	# shellcheck disable=SC2046
	systemd-socket-activate --inetd -a -l "127.0.0.1:$port" $(wrap "facteur-$p@.service") \
		$(key "facteur-$p@.service" ExecStart) 2>>"$T_TMP/ssa.err" &
	PIDS="$PIDS $!"
	i=0
	until xinetd__listening $! "$port" || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
done
"$PYTHON" - "$port_smtp" <<'PY' 2>"$T_TMP/py.err"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.sendmail("bob@localhost", ["alice@localhost"], "Subject: via systemd\r\n\r\nsocket-activated\r\n")
s.quit()
PY
ok $? "facteur-smtp@.service's ExecStart, socket-activated: mail accepted"
i=0
until grep -q '^socket-activated$' "$T_TMP/spool/alice" 2>/dev/null || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
ok "$(grep -q '^socket-activated$' "$T_TMP/spool/alice" 2>/dev/null; echo $?)" \
	"delivered under the unit's capability bounding set and no_new_privs"
"$PYTHON" - "$port_pop3" <<'PY' 2>>"$T_TMP/py.err"
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
p.user("alice"); p.pass_("alice-pw")
body = b"\n".join(p.retr(1)[1])
p.quit()
sys.exit(0 if b"socket-activated" in body else 1)
PY
ok $? "facteur-pop3@.service's ExecStart: alice logs in and reads it"
"$PYTHON" - "$port_imap" <<'PY' 2>>"$T_TMP/py.err"
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=10)
m.login("alice", "alice-pw")
m.select("INBOX")
typ, d = m.fetch("1", "(BODY.PEEK[TEXT])")
m.create("Archive")
typ2, _ = m.copy("1", "Archive")
m.logout()
sys.exit(0 if typ == "OK" and typ2 == "OK" and b"socket-activated" in d[0][1] else 1)
PY
ok $? "facteur-imap@.service's ExecStart: alice reads it and copies it to a folder"
"$PYTHON" - "$port_pop3" <<'PY' 2>>"$T_TMP/py.err"
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
p.user("alice")
try:
    p.pass_("wrong")
except poplib.error_proto as e:
    sys.exit(0 if b"-ERR" in e.args[0] else 1)
sys.exit(1)
PY
ok $? "bad password: -ERR, the socket keeps serving"
## the TLS and submission units (issue 17 after the TLS merge)
if [ -n "$TLS" ]; then
	"$PYTHON" - "$port_submission" "$port_submissions" <<'PY' 2>>"$T_TMP/py.err"
import smtplib, ssl, sys
ctx = ssl._create_unverified_context()
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo()
code, _ = s.mail("alice@localhost")      # -S: no MAIL before AUTH
s.rset()
s.starttls(context=ctx)
s.ehlo()
s.login("alice", "alice-pw")
s.sendmail("alice@localhost", ["bob@localhost"], "Subject: 587\r\n\r\nvia-submission-unit\r\n")
s.quit()
s = smtplib.SMTP_SSL("127.0.0.1", int(sys.argv[2]), timeout=10, context=ctx)
s.login("alice", "alice-pw")
s.sendmail("alice@localhost", ["bob@localhost"], "Subject: 465\r\n\r\nvia-submissions-unit\r\n")
s.quit()
sys.exit(0 if code == 530 else 1)
PY
	ok $? "facteur-submission@ (STARTTLS, AUTH; MAIL before AUTH gets 530) and facteur-submissions@ (implicit TLS): mail accepted"
	i=0
	until [ "$(grep -c '^via-submissions\{0,1\}-unit$' "$T_TMP/spool/bob" 2>/dev/null)" = 2 ] || [ $i -gt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	is "$(grep -c '^via-submissions\{0,1\}-unit$' "$T_TMP/spool/bob" 2>/dev/null)" 2 "both submitted messages delivered to bob"
	"$PYTHON" - "$port_imaps" "$port_pop3s" <<'PY' 2>>"$T_TMP/py.err"
import imaplib, poplib, ssl, sys
ctx = ssl._create_unverified_context()
m = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]), ssl_context=ctx, timeout=10)
m.login("bob", "bob-pw")
typ, d = m.select("INBOX")
m.logout()
p = poplib.POP3_SSL("127.0.0.1", int(sys.argv[2]), context=ctx, timeout=10)
p.user("bob"); p.pass_("bob-pw")
n, _ = p.stat()
p.quit()
sys.exit(0 if typ == "OK" and int(d[0]) == 2 and n == 2 else 1)
PY
	ok $? "facteur-imaps@ and facteur-pop3s@ (implicit TLS): bob sees both messages"
	printf 'a1 LOGIN bob bob-pw\r\n' | timeout 10 "$PYTHON" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.stdin.buffer.read())
try:
    d = s.recv(100)
except OSError:
    d = b""
sys.exit(0 if not d.startswith(b"* OK") and not d.startswith(b"a1 OK") else 1)' "$port_imaps"
	ok $? "facteur-imaps@: a plaintext client gets no IMAP greeting and no login"
else
	skip "stunnel4 or openssl missing: TLS units not run"
fi
[ -s "$T_TMP/py.err" ] && sed 's/^/# /' "$T_TMP/py.err" | tail -n 5
[ -s "$T_TMP/ssa.err" ] && grep -v -e '^Listening on' -e '^Communication attempt' -e '^Connection from' -e '^Spawned' \
	-e '^Execing' -e 'died with code 0' "$T_TMP/ssa.err" | sed 's/^/# ssa: /' | tail -n 5
[ $T_FAIL = 0 ] || sed 's/^/# log: /' "$T_TMP/log" | tail -n 15
# the limits were really applied: a child of the emulated unit shows them
$(wrap facteur-smtp@.service) sh -c 'grep -E "^(CapBnd|NoNewPrivs)" /proc/self/status' > "$T_TMP/caps"
ok "$(grep -q 'NoNewPrivs:[[:space:]]*1' "$T_TMP/caps" && ! grep -q 'CapBnd:[[:space:]]*000001ffffffffff' "$T_TMP/caps"; echo $?)" \
	"setpriv applies the unit's limits ($(tr '\n\t' '  ' < "$T_TMP/caps"))"
done_testing
