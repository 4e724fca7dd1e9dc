#!/bin/sh
# End to end under xinetd on 127.0.0.1: mail delivered (through smtpd when
# it is built, else through libmbox) and read with real POP3 clients:
# python3 poplib, curl, fetchmail (keep, then flush), getmail6.  Each client's
# copy is checked against what was sent.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
. "$FACTEUR_SRC/t/pop3/lib.sh"
xinetd_need
pop3_env
P=$(free_port)
if [ -x "$B/smtpd" ]; then S=$(free_port); xinetd_start pop3="$P" smtp="$S"; else xinetd_start pop3="$P"; fi
mkdir -p "$T_TMP/sent"
python3 "$POP3_SRC/msgs.py" "$T_TMP/sent" 3

# deliver N USER: message N into USER's mailbox; through SMTP when possible
nmsgs() { python3 "$POP3_SRC/view.py" "$SPOOL/$1" 2>/dev/null | grep -c '^From '; }
deliver_n() {
	before=$(nmsgs "$2")
	if [ -n "${S:-}" ]; then
		python3 - "$S" "$T_TMP/sent/msg.$1" "$2" <<'PY' || true
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=20)
s.sendmail('sender@example.test', [sys.argv[3] + '@example.test'], open(sys.argv[2], 'rb').read())
s.quit()
PY
		i=0
		while [ "$(nmsgs "$2")" -le "$before" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		[ "$(nmsgs "$2")" -gt "$before" ] && return 0
		diag "SMTP delivery of message $1 did not arrive: using libmbox"
	fi
	deliver "$2" sender@example.test < "$T_TMP/sent/msg.$1"
	[ "$(id -u)" = 0 ] && chown "$POP3_UID:$POP3_GID" "$SPOOL/$2"
	return 0
}
for n in 1 2 3; do deliver_n $n alice; done
is "$(nmsgs alice)" 3 "three messages delivered"

# --- python3 poplib ---------------------------------------------------------
python3 - "$P" "$T_TMP" <<'PY' > "$T_TMP/py.out" 2>&1
import poplib, sys, subprocess
port, tmp = int(sys.argv[1]), sys.argv[2]
p = poplib.POP3('127.0.0.1', port, timeout=20)
print(p.getwelcome().decode())
print(sorted(p.capa().keys()))
p.user('alice'); print(p.pass_('alice-pw').decode())
count, size = p.stat()
sizes = [int(l.split()[1]) for l in p.list()[1]]
uidl = [l.split()[1].decode() for l in p.uidl()[1]]
ok = True
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    data = b'\r\n'.join(lines) + b'\r\n'
    if len(data) != sizes[i - 1]:
        print("size mismatch", i, len(data), sizes[i - 1]); ok = False
    open('%s/py.%d' % (tmp, i), 'wb').write(data)
print("count", count, "sum", sum(sizes) == size, "uidl", len(set(uidl)) == count, "ok", ok)
p.dele(1)
print(p.quit().decode())
PY
is "$(sed -n 1p "$T_TMP/py.out")" "+OK facteur ready." "poplib: greeting"
grep -q "'UIDL'" "$T_TMP/py.out" && grep -q "'USER'" "$T_TMP/py.out"; ok $? "poplib: CAPA"
is "$(grep '^count' "$T_TMP/py.out")" "count 3 sum True uidl True ok True" \
	"poplib: STAT, LIST, UIDL agree; RETR sends the octets LIST announced"
for n in 1 2 3; do
	python3 "$POP3_SRC/check.py" "$T_TMP/sent/msg.$n" "$T_TMP/py.$n"
	ok $? "poplib: message $n is what was sent (dot lines, long line, 8-bit)"
done
is "$(tail -n 1 "$T_TMP/py.out")" "+OK Logging out." "poplib: DELE 1 and QUIT"
is "$(nmsgs alice)" 2 "... message 1 is gone"

# --- curl ---------------------------------------------------------------------
if command -v curl > /dev/null 2>&1; then
	curl -s --max-time 20 "pop3://alice:alice-pw@127.0.0.1:$P/1" -o "$T_TMP/curl.1"
	python3 "$POP3_SRC/check.py" "$T_TMP/sent/msg.2" "$T_TMP/curl.1"
	ok $? "curl pop3:// RETR: message 2 (now number 1) as sent"
	curl -s --max-time 20 "pop3://alice:alice-pw@127.0.0.1:$P/" | nocr > "$T_TMP/curl.list"
	is "$(wc -l < "$T_TMP/curl.list" | tr -d ' ')" 2 "curl pop3:// LIST: two messages"
	curl -s --max-time 20 "pop3://alice:wrong@127.0.0.1:$P/" > /dev/null
	is $? 67 "curl with a wrong password: login denied (67)"
else
	skip "curl not installed"
fi

# --- fetchmail: keep (twice: UIDL tracking), then flush -----------------------
if command -v fetchmail > /dev/null 2>&1; then
	mkdir -p "$T_TMP/fm"
	printf '#!/bin/sh\ncat > "$(mktemp %s/fm/msg.XXXXXX)"\n' "$T_TMP" > "$T_TMP/mda.sh"
	chmod +x "$T_TMP/mda.sh"
	fm() {
		printf 'set no syslog\npoll 127.0.0.1 port %s proto pop3 uidl timeout 20\n  user "alice" there with password "alice-pw" is "%s" here\n  options %s sslproto "" mda "%s"\n' \
			"$P" "$(id -un)" "$1" "$T_TMP/mda.sh" > "$T_TMP/fetchmailrc"
		chmod 600 "$T_TMP/fetchmailrc"
		HOME=$T_TMP fetchmail -f "$T_TMP/fetchmailrc" -i "$T_TMP/fetchids" --pidfile "$T_TMP/fm.pid" \
			-s > "$T_TMP/fm.out" 2>&1
	}
	fm keep; r=$?
	is "$r $(ls "$T_TMP/fm" | wc -l | tr -d ' ')" "0 2" "fetchmail keep: two messages fetched"
	is "$(nmsgs alice)" 2 "... and kept on the server"
	fm keep; r=$?
	is "$r $(ls "$T_TMP/fm" | wc -l | tr -d ' ')" "1 2" "fetchmail keep again: nothing new (stable UIDLs)"
	deliver_n 1 alice
	fm 'no keep flush'; r=$?
	is "$r $(ls "$T_TMP/fm" | wc -l | tr -d ' ')" "0 3" "fetchmail flush: the new message fetched"
	is "$(nmsgs alice)" 0 "... and everything deleted on the server"
	found=0
	for f in "$T_TMP"/fm/msg.*; do
		for n in 1 2 3; do python3 "$POP3_SRC/check.py" "$T_TMP/sent/msg.$n" "$f" 2>/dev/null && found=$((found + 1)); done
	done
	is "$found" 3 "fetchmail: each fetched message is one that was sent"
	[ "$r" = 0 ] || sed 's/^/# /' "$T_TMP/fm.out"
else
	skip "fetchmail not installed"
fi

# --- getmail6 -------------------------------------------------------------------
if command -v getmail > /dev/null 2>&1; then
	for n in 1 2 3; do deliver_n $n alice; done
	mkdir -p "$T_TMP/gm"
	GM_AS=
	: > "$T_TMP/gm.mbox"
	cat > "$T_TMP/gm/getmailrc" <<RC
[retriever]
type = SimplePOP3Retriever
server = 127.0.0.1
port = $P
username = alice
password = alice-pw
timeout = 20

[destination]
type = Mboxrd
path = $T_TMP/gm.mbox

[options]
read_all = false
delete = false
received = false
delivered_to = false
RC
	# getmail refuses to deliver as root (and needs a passwd entry)
	if [ "$(id -u)" = 0 ]; then
		chown -R nobody: "$T_TMP/gm" "$T_TMP/gm.mbox"
		GM_AS="setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups"
	fi
	gm() { $GM_AS env HOME="$T_TMP/gm" getmail --getmaildir "$T_TMP/gm" --rcfile getmailrc -q > "$T_TMP/gm.out" 2>&1; }
	gm
	ok $? "getmail: ran"; sed "s/^/# /" "$T_TMP/gm.out"
	is "$(grep -c '^From ' "$T_TMP/gm.mbox")" 3 "getmail: three messages"
	gm
	is "$(grep -c '^From ' "$T_TMP/gm.mbox")" 3 "getmail again: nothing new (stable UIDLs)"
	python3 - "$T_TMP/gm.mbox" "$T_TMP/gm" <<'PY'
import mailbox, sys
for i, m in enumerate(mailbox.mbox(sys.argv[1])):
    open('%s/got.%d' % (sys.argv[2], i + 1), 'wb').write(m.as_bytes(unixfrom=False))
PY
	found=0
	for n in 1 2 3; do python3 "$POP3_SRC/check.py" "$T_TMP/sent/msg.$n" "$T_TMP/gm/got.$n" && found=$((found + 1)); done
	is "$found" 3 "getmail: the messages are the ones sent"
	is "$(nmsgs alice)" 3 "getmail (delete = false): all kept on the server"
else
	skip "getmail not installed"
fi
xinetd_stop
lacks "$T_TMP/xinetd.out" 'ERROR|AddressSanitizer' "xinetd: no errors"

# --- xinetd.d/facteur-pop3 as shipped: xinetd accepts it and it serves ----
grep -q '^[[:space:]]*disable[[:space:]]*= yes' "$FACTEUR_SRC/xinetd.d/facteur-pop3"; ok $? "shipped disabled"
grep -q 'server[[:space:]]*= @LIBEXEC@/pop3d$' "$FACTEUR_SRC/xinetd.d/facteur-pop3"; ok $? "server = @LIBEXEC@/pop3d"
P2=$(free_port)
{
	printf 'defaults\n{\n\tlog_type = FILE %s\n}\n' "$T_TMP/xinetd2.log"
	# the file as shipped, made private: our build, our config, a test port
	sed -e "s|@LIBEXEC@|$B|" -e "s|-c @SYSCONFDIR@/facteur.conf|-c $FCONF|" -e 's/disable *= yes/disable = no/' \
		-e "s|^{|{\n\ttype = UNLISTED\n\tport = $P2\n\tbind = 127.0.0.1|" "$FACTEUR_SRC/xinetd.d/facteur-pop3"
} > "$T_TMP/xinetd2.conf"
"$XINETD_BIN" -dontfork -f "$T_TMP/xinetd2.conf" -pidfile "$T_TMP/xinetd2.pid" < /dev/null > "$T_TMP/xinetd2.out" 2>&1 &
X2=$!
i=0
until xinetd__listening "$X2" "$P2" 2>/dev/null || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
python3 - "$P2" > "$T_TMP/x2.out" 2>&1 <<'PY'
import poplib, sys
p = poplib.POP3('127.0.0.1', int(sys.argv[1]), timeout=20)
print(p.getwelcome().decode()); p.user('alice'); p.pass_('alice-pw'); print(p.stat()[0]); p.quit()
PY
is "$(cat "$T_TMP/x2.out" | tr '\n' ' ')" "+OK facteur ready. 3 " "xinetd runs pop3d from xinetd.d/facteur-pop3"
lacks "$T_TMP/xinetd2.out" '[Ee][Rr][Rr][Oo][Rr]|[Bb][Aa][Dd]|[Uu][Nn][Kk][Nn][Oo][Ww][Nn]' "xinetd finds no error in the file" ||
	sed 's/^/# /' "$T_TMP/xinetd2.out"
kill "$X2"; wait "$X2" 2>/dev/null
done_testing
