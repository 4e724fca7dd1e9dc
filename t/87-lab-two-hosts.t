#!/bin/sh
# The lab's two machines, each a network and mount namespace of its own
# (issue 12's test 5, issue 13's Thunderbird step): smtp1.mail1.com
# (192.168.0.1) and smtp2.mail2.com (192.168.0.2) on one bridge with a mail
# user's machine at 192.168.7.7 (outside mynetworks and
# login_trusted_networks) and the lab's DNS (dnsmasq on 192.168.7.7: MX
# smtpX.mailX.com, and the host names Thunderbird guesses).  Each machine
# runs facteur as `make install` put it (a temporary PREFIX/SYSCONFDIR) with every xinetd
# drop-in enabled on its real port (25, 587, 465, 143, 993, 110, 995), the
# lab's settings from README, its own /var/mail (root:mail 2775, bind-
# mounted), /etc/resolv.conf and certificate; users foo87 and bar87 made
# with adduser (PAM).  Checks: a Thunderbird-like guess from the domain finds
# IMAP 993 SSL / 143 STARTTLS, POP3 995 / 110 STLS, SMTP 465 / 587 with a
# normal password and verified TLS; plaintext logins are refused from the
# user's network; foo@mail1.com submits on 587 (STARTTLS + AUTH) to
# bar@mail2.com and to an unknown user there: machine 1 relays it by MX to
# machine 2, bar reads it over IMAPS with both Received lines and the
# authenticated sender, foo gets the DSN for the unknown one; bar answers
# on 465 and foo reads it over POP3 STLS; machine 2 down: deferred, then
# delivered once by `sendmail -q` (the cron line) at its time.
. "$(dirname "$0")/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
need_root "network namespaces, adduser, xinetd on ports 25..995 inside them"
# the lab's foo and bar, under names of their own (t/84 makes foo and bar)
U1=foo87 U2=bar87
for c in unshare nsenter ip adduser deluser chpasswd openssl make; do need_cmd "$c"; done
DNSMASQ=$(command -v dnsmasq 2>/dev/null || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || skip_all "dnsmasq not installed (Debian package dnsmasq-base)"
[ -x "$(command -v stunnel4 || echo /usr/bin/stunnel4)" ] || skip_all "stunnel4 not installed"
for p in smtpd pop3d imapd sendmail; do [ -x "$B/$p" ] || skip_all "$p not built"; done
for u in $U1 $U2; do
	! getent passwd "$u" > /dev/null || skip_all "user $u exists on this host: not touching it"
done
if [ -z "${FACTEUR_NETNS:-}" ]; then
	# the user's machine: a private network (a bridge, the DNS) and mounts
	FACTEUR_NETNS=1 exec unshare --net --mount --fork sh "$0" "$@"
fi
xinetd_need
mount --make-rprivate / || { echo "Bail out! mount namespace"; exit 1; }
chmod 755 "$T_TMP"
T=$T_TMP S=$FACTEUR_SRC
PAMSVC=facteur-lab2$$
AC="$S/t/tls/autoconfig.py"
NSPIDS=
cleanup() {
	for h in 1 2; do [ -s "$T/h$h/xinetd.pid" ] && kill "$(cat "$T/h$h/xinetd.pid")" 2> /dev/null; done
	for p in $NSPIDS; do kill "$p" 2> /dev/null; done
	for u in $U1 $U2; do deluser --remove-home "$u" > /dev/null 2>&1; done
	rm -f "/etc/pam.d/$PAMSVC"
}
trap 'cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T_TMP"' EXIT
xinetd__chain_trap

# --- the network: a bridge, the user's machine 192.168.7.7, the DNS ---------
ip link set lo up && ip link add br0 type bridge && ip link set br0 up &&
	ip addr add 192.168.7.7/16 dev br0 || { echo "Bail out! cannot make the bridge"; exit 1; }
cat > "$T/dns.conf" <<EOF
port=53
listen-address=192.168.7.7
bind-interfaces
no-resolv
no-hosts
local=/com/
mx-host=mail1.com,smtp1.mail1.com,10
mx-host=mail2.com,smtp2.mail2.com,10
host-record=smtp1.mail1.com,smtp.mail1.com,imap.mail1.com,pop.mail1.com,mail.mail1.com,192.168.0.1
host-record=smtp2.mail2.com,smtp.mail2.com,imap.mail2.com,pop.mail2.com,mail.mail2.com,192.168.0.2
EOF
"$DNSMASQ" -k -C "$T/dns.conf" -u root --pid-file="$T/dnsmasq.pidfile" -8 "$T/dnsmasq.log" &
NSPIDS="$NSPIDS $!"
echo "nameserver 192.168.7.7" > "$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf || { echo "Bail out! cannot bind-mount resolv.conf"; exit 1; }
i=0; while ! getent ahostsv4 imap.mail2.com > /dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
is "$(getent ahostsv4 imap.mail2.com | awk 'NR==1{print $1}')" 192.168.0.2 "the lab's DNS answers (imap.mail2.com)"

# --- facteur installed as README says, every drop-in enabled -----------------
unset MAKEFLAGS MFLAGS MAKELEVEL
PREFIX=$T/usr/local ETC=$T/etc L=$T/usr/local/libexec/facteur
make -C "$S" -o build-all B="$B" install PREFIX="$PREFIX" SYSCONFDIR="$ETC" > "$T/install.out" 2>&1
ok $? "make install (PREFIX and SYSCONFDIR under the test's directory)"
sed -i 's/^\([[:space:]]*disable[[:space:]]*=\).*/\1 no/' "$ETC"/xinetd.d/facteur-*
ls "$ETC/xinetd.d" | tr '\n' ' ' > "$T/dropins"
is "$(cat "$T/dropins")" "facteur-imap facteur-imaps facteur-pop3 facteur-pop3s facteur-smtp facteur-submission facteur-submissions " \
	"seven drop-ins installed"
grep -h server_args "$ETC"/xinetd.d/facteur-* | grep -v -- "-c $ETC/facteur.conf" > "$T/bad-args"
[ ! -s "$T/bad-args" ]; ok $? "every drop-in reads SYSCONFDIR/facteur.conf"
cp "$ETC/pam.d/facteur" "/etc/pam.d/$PAMSVC"
for u in $U1 $U2; do
	adduser --disabled-password --gecos '' "$u" > "$T/adduser.out" 2>&1 && echo "$u:$u-pw" | chpasswd
	ok $? "adduser $u"
done

# host N: its namespace (a process holding it), eth0 on the bridge, its
# /var/mail and configuration bind-mounted, its certificate, its xinetd
host() {
	n=$1 H=$T/h$1
	mkdir -p "$H/mail" "$H/queue"
	chown root:mail "$H/mail" && chmod 2775 "$H/mail"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$H/key.pem" -out "$H/cert.pem" -days 2 \
		-subj "/CN=smtp$n.mail$n.com" \
		-addext "subjectAltName=DNS:smtp$n.mail$n.com,DNS:smtp.mail$n.com,DNS:imap.mail$n.com,DNS:pop.mail$n.com,DNS:mail.mail$n.com" \
		> /dev/null 2>&1 && chmod 600 "$H/key.pem" || { echo "Bail out! openssl req"; exit 1; }
	cat "$H/cert.pem" >> "$T/ca.pem"
	# the installed config, the lab's settings from README for machine n
	cp "$ETC/facteur.conf" "$H/facteur.conf"
	awk '/^The lab.s settings/ { armed = 1; next }
	     armed && /^```/ { if (inside) exit; inside = 1; next }
	     inside { print }' "$S/README.md" | sed "s/X/$n/g" >> "$H/facteur.conf"
	cat >> "$H/facteur.conf" <<CONF
inet_protocols = ipv4
queue_directory = $H/queue
log = $H/log
pam_service = $PAMSVC
sendmail_path = $L/sendmail
tls_cert_file = $H/cert.pem
tls_key_file = $H/key.pem
minimal_backoff_time = 2s
maximal_backoff_time = 8s
CONF
	printf 'defaults\n{\n\tinstances = 100\n\tper_source = 100\n\tcps = 1000 1\n\tlog_type = FILE %s/xinetd.log\n}\nincludedir %s/xinetd.d\n' \
		"$H" "$ETC" > "$H/xinetd.conf"
	rm -f "$H/ns.pid"
	unshare --net --mount --fork sh -c "echo \$\$ > '$H/ns.pid'; exec sleep 100000" < /dev/null > /dev/null 2>&1 &
	i=0; while [ ! -s "$H/ns.pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	eval "NS$n=$(cat "$H/ns.pid")"
	NSPIDS="$NSPIDS $(cat "$H/ns.pid")"
	ip link add "h$n" type veth peer name eth0 netns "$(cat "$H/ns.pid")" && ip link set "h$n" master br0 up &&
		in_host "$n" sh -c "ip link set lo up && ip addr add 192.168.0.$n/16 dev eth0 && ip link set eth0 up &&
			mount --bind '$H/mail' /var/mail && mount --bind '$H/facteur.conf' '$ETC/facteur.conf'"
	ok $? "machine $n: 192.168.0.$n, its own /var/mail and $ETC/facteur.conf"
	xinetd_host "$n"
}
# in_host N CMD...: run CMD on machine N
in_host() { h=$1; shift; eval "nsenter -t \$NS$h -n -m -- \"\$@\""; }
# xinetd_host N: (re)start machine N's xinetd, wait for its seven ports
xinetd_host() {
	H=$T/h$1
	rm -f "$H/xinetd.pid"
	in_host "$1" "$XINETD_BIN" -dontfork -f "$H/xinetd.conf" -pidfile "$H/xinetd.pid" -filelog "$H/xinetd.err" \
		< /dev/null > "$H/xinetd.out" 2>&1 &
	i=0
	while [ "$(in_host "$1" ss -Hltn | grep -Ec ':(25|110|143|465|587|993|995) ')" -lt 7 ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	is "$(in_host "$1" ss -Hltn | grep -Ec ':(25|110|143|465|587|993|995) ')" 7 "machine $1: xinetd listens on the seven ports"
}
xinetd_host_stop() {
	p=$(cat "$T/h$1/xinetd.pid" 2> /dev/null) && kill "$p"
	i=0; while [ -n "$p" ] && kill -0 "$p" 2> /dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}
host 1
host 2
H1=$T/h1 H2=$T/h2 CA=$T/ca.pem
# wait for the bridge to forward
i=0; while ! "$PYTHON" -c 'import socket,sys; socket.create_connection(("192.168.0.2", 25), 1).close()' 2> /dev/null &&
	[ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
# pytap FILE: turn the python client's ok/not ok lines into this test's
pytap() {
	while IFS= read -r l; do
		case $l in
		"ok - "*) ok 0 "${l#ok - }" ;;
		"not ok - "*) ok 1 "${l#not ok - }" ;;
		"#"*) echo "$l" ;;
		esac
	done < "$1"
}
waitfor() { i=0; while ! grep -q -- "$2" "$1" 2> /dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; grep -q -- "$2" "$1" 2> /dev/null; }

# --- Thunderbird's account set-up from the user's machine ------------------
for n in 1 2; do
	u=foo87; [ $n = 2 ] && u=bar87
	"$PYTHON" "$AC" probe "mail$n.com" "$CA" "$u" "$u-pw" > "$T/probe$n" 2>&1
	pytap "$T/probe$n"
done
grep -q '^config imap imap.mail1.com 993 SSL password-cleartext$' "$T/probe1" &&
	grep -q '^config pop3 pop.mail1.com 995 SSL password-cleartext$' "$T/probe1" &&
	grep -q '^config smtp smtp.mail1.com 465 SSL password-cleartext$' "$T/probe1"
ok $? "the guess for foo87@mail1.com: IMAP 993 SSL, POP3 995 SSL, SMTP 465 SSL, normal password (no 'no encryption' warning)"
[ $? = 0 ] || sed 's/^/# /' "$T/probe1"
for p in '143 STARTTLS' '110 STARTTLS' '587 STARTTLS'; do
	grep -q "^# [a-z0-9]* [a-z.0-9]*:$p: password allowed" "$T/probe1"
	ok $? "... and the STARTTLS alternative on $p (Thunderbird's other choice) allows a password"
done
"$PYTHON" "$AC" refusals mail1.com "$CA" foo87 foo87-pw > "$T/refusals" 2>&1
pytap "$T/refusals"
grep -q 'imap 143 without TLS' "$T/refusals" || { ok 1 "the plaintext refusals ran"; sed 's/^/# /' "$T/refusals"; }

# --- the lab: foo87@mail1.com writes to bar87@mail2.com -------------------------
"$PYTHON" "$AC" submit 587 smtp.mail1.com "$CA" foo87 foo87-pw foo87@mail1.com "lab over TLS" \
	bar87@mail2.com nobody-here@mail2.com > "$T/submit1" 2>&1
ok $? "foo87 submits on 587 (STARTTLS, MAIL before AUTH refused, AUTH PLAIN) to bar87@mail2.com"
[ $? = 0 ] || sed 's/^/# /' "$T/submit1"
waitfor "$H2/mail/bar87" '^Subject: lab over TLS'
ok $? "machine 1 relays it by MX to machine 2: /var/mail/bar87 there"
is "$(stat -c '%U:%G %a' "$H2/mail/bar87" 2>/dev/null)" "bar87:mail 600" "machine 2's /var/mail/bar87 is bar87:mail 0600"
[ ! -e "$H1/mail/bar87" ]; ok $? "nothing delivered to bar87 on machine 1"
grep -q 'to=<bar87@mail2.com>, relay=smtp2.mail2.com\[192.168.0.2\]:25, delay=[0-9]*, dsn=2.0.0, status=sent' "$H1/log"
ok $? "machine 1 logs relay=smtp2.mail2.com[192.168.0.2]:25 status=sent"
grep -q 'to=<nobody-here@mail2.com>, relay=smtp2.mail2.com\[192.168.0.2\]:25, .*dsn=5.1.1, status=bounced' "$H1/log"
ok $? "machine 2's 550 for nobody-here: bounced by machine 1"
"$PYTHON" "$AC" imapread imap.mail2.com "$CA" bar87 bar87-pw "lab over TLS" > "$T/read2" 2>&1
ok $? "bar87 reads it over IMAPS (993) on machine 2"
grep -q '^Received: from smtp1.mail1.com (unknown \[192.168.0.1\])' "$T/read2" &&
	grep -q 'by smtp2.mail2.com (facteur) with ESMTP ' "$T/read2"
ok $? "with machine 2's Received line (from smtp1.mail1.com [192.168.0.1])"
grep -q '^Received: from tb.client (unknown \[192.168.7.7\])' "$T/read2" && grep -q '(Authenticated sender: foo87)' "$T/read2" &&
	grep -q 'by smtp1.mail1.com (facteur) with ESMTPSA' "$T/read2"
ok $? "and machine 1's: from the user's machine, (Authenticated sender: foo87), ESMTPSA"
[ $? = 0 ] || grep '^Received\|^	' "$T/read2" | sed 's/^/# /'
grep -q "^To: <bar87@mail2.com>, <nobody-here@mail2.com>" "$T/read2"; ok $? "the message as written"
waitfor "$H1/mail/foo87" '^Final-Recipient: rfc822; nobody-here@mail2.com'
ok $? "foo87 gets the DSN on machine 1"
grep -q '^Remote-MTA: dns; smtp2.mail2.com' "$H1/mail/foo87" && grep -q '^Diagnostic-Code: smtp; 550' "$H1/mail/foo87"
ok $? "naming machine 2 and its 550"
is "$(grep -c '^Final-Recipient' "$H1/mail/foo87")" 1 "one recipient in it"

# --- bar87 answers on 465; foo87 reads over POP3 with STLS ------------------------
"$PYTHON" "$AC" submit 465 smtp.mail2.com "$CA" bar87 bar87-pw bar87@mail2.com "the answer" foo87@mail1.com > "$T/submit2" 2>&1
ok $? "bar87 submits on 465 (implicit TLS, AUTH) to foo87@mail1.com"
waitfor "$H1/mail/foo87" '^Subject: the answer'
"$PYTHON" "$AC" popread pop.mail1.com "$CA" foo87 foo87-pw "the answer" > "$T/read1" 2>&1
ok $? "foo87 reads the answer over POP3 STLS (110) on machine 1"
grep -q '(Authenticated sender: bar87)' "$T/read1"; ok $? "sent by bar87, authenticated"

# --- machine 2 down: deferred; up: `sendmail -q` at the retry time -----------
xinetd_host_stop 2
"$PYTHON" "$AC" submit 465 smtp.mail1.com "$CA" foo87 foo87-pw foo87@mail1.com "while down" bar87@mail2.com > "$T/submit3" 2>&1
waitfor "$H1/log" 'to=<bar87@mail2.com>.*status=deferred'
grep -q 'to=<bar87@mail2.com>, relay=none, .*status=deferred (connect to smtp2.mail2.com\[192.168.0.2\]:25: Connection refused)' "$H1/log"
ok $? "machine 2 down: deferred (connection refused)"
in_host 1 "$L/sendmail" -c "$ETC/facteur.conf" -bp > "$T/mailq" 2>&1
grep -q 'Connection refused' "$T/mailq" && grep -q 'bar87@mail2.com' "$T/mailq"
ok $? "mailq on machine 1 shows it with the reason"
xinetd_host 2
in_host 1 "$L/sendmail" -c "$ETC/facteur.conf" -q
is "$(grep -c '^Subject: while down' "$H2/mail/bar87")" 0 "sendmail -q before the retry time: not tried"
sleep 2.2
in_host 1 "$L/sendmail" -c "$ETC/facteur.conf" -q
waitfor "$H2/mail/bar87" '^Subject: while down'
ok $? "sendmail -q after the backoff: delivered"
in_host 1 "$L/sendmail" -c "$ETC/facteur.conf" -qf
sleep 0.5
is "$(grep -c '^Subject: while down' "$H2/mail/bar87")" 1 "once"
is "$(ls "$H1/queue/q" | wc -l)" 0 "machine 1's queue is empty"
lacks "$H1/log" "fatal\|panic" "no fatal error in machine 1's log"
xinetd_host_stop 1
xinetd_host_stop 2
done_testing
