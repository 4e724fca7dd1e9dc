#!/bin/sh
# TLS through stunnel4 and SMTP AUTH, end to end under xinetd on 127.0.0.1:
# STARTTLS/STLS and implicit TLS (465/993/995) for the three programs with
# openssl s_client, swaks, curl, mbsync, fetchmail, mutt (ssl_force_tls) and
# python3 (smtplib, imaplib, poplib); the capabilities before and after
# TLS; AUTH PLAIN/LOGIN, failures, relaying and the Received header; the
# injection test (CVE-2011-0411 class); tls_security_level = encrypt; a
# missing certificate; a client that drops after TLS and one that never
# finishes the handshake.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
. "$FACTEUR_SRC/t/pop3/lib.sh"
xinetd_need
need_cmd openssl
STUNNEL=$(command -v stunnel4 || echo /usr/bin/stunnel4)
[ -x "$STUNNEL" ] || skip_all "stunnel4 not installed"
pop3_env
mkbox alice < "$POP3_SRC/lab.mbox"
mkbox bob < "$POP3_SRC/lab.mbox"

# a certificate of our own (root-only key, like the snakeoil pair)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" -days 2 \
	-subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,DNS:mail.example.test" > /dev/null 2>&1 || { echo "Bail out! openssl req failed"; exit 1; }
chmod 600 "$T_TMP/key.pem"
conf_set tls_cert_file "$T_TMP/cert.pem"
conf_set tls_key_file "$T_TMP/key.pem"
conf_set stunnel_path "$STUNNEL"
# variants: encrypt; a missing certificate; 3 s timeouts (handshake deadline)
sed 's/^tls_security_level.*//' "$FCONF" > "$T_TMP/enc.conf" && echo "tls_security_level = encrypt" >> "$T_TMP/enc.conf"
grep -v '^tls_cert_file' "$FCONF" > "$T_TMP/nocert.conf" && echo "tls_cert_file = $T_TMP/no-such.pem" >> "$T_TMP/nocert.conf"
{ cat "$FCONF"; printf 'imap_timeout = 3\npop3_timeout = 3\nsmtpd_timeout = 3\n'; } > "$T_TMP/short.conf"
{ cat "$FCONF"; printf 'smtpd_sasl_auth_enable = yes\n'; } > "$T_TMP/sasl.conf"

set -- smtp submission submissions pop3 pop3s imap imaps smtp_enc imap_enc pop3_enc smtp_nocert pop3_nocert \
	imaps_nocert imaps_short pop3_short smtp_sasl
PORTS=
for s in "$@"; do
	p=$(free_port)
	eval "P_$s=$p"
	PORTS="$PORTS $s=$p"
done
xinetd_service f-smtp "$P_smtp" "$B/smtpd" -c "$FCONF"
xinetd_service f-submission "$P_submission" "$B/smtpd" -c "$FCONF" -S
xinetd_service f-submissions "$P_submissions" "$B/smtpd" -c "$FCONF" -T -S
xinetd_service f-pop3 "$P_pop3" "$B/pop3d" -c "$FCONF"
xinetd_service f-pop3s "$P_pop3s" "$B/pop3d" -c "$FCONF" -T
xinetd_service f-imap "$P_imap" "$B/imapd" -c "$FCONF"
xinetd_service f-imaps "$P_imaps" "$B/imapd" -c "$FCONF" -T
xinetd_service f-smtp-enc "$P_smtp_enc" "$B/smtpd" -c "$T_TMP/enc.conf"
xinetd_service f-imap-enc "$P_imap_enc" "$B/imapd" -c "$T_TMP/enc.conf"
xinetd_service f-pop3-enc "$P_pop3_enc" "$B/pop3d" -c "$T_TMP/enc.conf"
xinetd_service f-smtp-nocert "$P_smtp_nocert" "$B/smtpd" -c "$T_TMP/nocert.conf"
xinetd_service f-pop3-nocert "$P_pop3_nocert" "$B/pop3d" -c "$T_TMP/nocert.conf"
xinetd_service f-imaps-nocert "$P_imaps_nocert" "$B/imapd" -c "$T_TMP/nocert.conf" -T
xinetd_service f-imaps-short "$P_imaps_short" "$B/imapd" -c "$T_TMP/short.conf" -T
xinetd_service f-pop3-short "$P_pop3_short" "$B/pop3d" -c "$T_TMP/short.conf"
xinetd_service f-smtp-sasl "$P_smtp_sasl" "$B/smtpd" -c "$T_TMP/sasl.conf"
xinetd_start
ok $? "xinetd serves 16 facteur services with and without TLS"

# --- openssl s_client -------------------------------------------------------
sclient() { # sclient ARGS...: stdin is the session (LF, sent as CRLF), stdout what came back
	crlf | timeout 20 openssl s_client -quiet -crlf -connect "127.0.0.1:$1" "$@" 2>/dev/null | nocr
}
out=$(printf 'EHLO c.test\nQUIT\n' | { sleep 0.5; cat; } | timeout 20 openssl s_client -quiet -starttls smtp \
	-connect "127.0.0.1:$P_smtp" 2>/dev/null | nocr)
case $out in *"250-mail.example.test"*"221 2.0.0 Bye"*) r=0 ;; *) r=1 ;; esac
ok $r "openssl s_client -starttls smtp: EHLO and QUIT under TLS"
case $out in *STARTTLS*) r=1 ;; *) r=0 ;; esac
ok $r "... and EHLO under TLS lists no STARTTLS"
out=$(printf 'CAPA\nQUIT\n' | { sleep 0.5; cat; } | timeout 20 openssl s_client -quiet -starttls pop3 \
	-connect "127.0.0.1:$P_pop3" 2>/dev/null | nocr)
case $out in *"+OK Capability list follows"*USER*"+OK Logging out."*) r=0 ;; *) r=1 ;; esac
ok $r "openssl s_client -starttls pop3: CAPA (USER) and QUIT under TLS"
out=$(printf 'a CAPABILITY\nb LOGOUT\n' | { sleep 0.5; cat; } | timeout 20 openssl s_client -quiet -starttls imap \
	-connect "127.0.0.1:$P_imap" 2>/dev/null | nocr)
case $out in *"* CAPABILITY "*AUTH=PLAIN*"b OK"*) r=0 ;; *) r=1 ;; esac
ok $r "openssl s_client -starttls imap: CAPABILITY (AUTH=PLAIN) and LOGOUT under TLS"
for s in submissions imaps pop3s; do
	eval "p=\$P_$s"
	out=$(printf 'QUIT\n' | { sleep 0.5; cat; } | timeout 20 openssl s_client -quiet -connect "127.0.0.1:$p" 2>/dev/null | nocr | head -n 1)
	case $out in "220 mail.example.test ESMTP facteur"|"* OK [CAPABILITY "*|"+OK facteur ready.") r=0 ;; *) r=1 ;; esac
	ok $r "openssl s_client -connect (implicit TLS, $s): greeting under TLS: $out"
done

# stunnel runs as default_privs, never as root
p=$(sed -n 's/.*tls: started for .* (stunnel pid \([0-9]*\)).*/\1/p' "$T_TMP/log" | tail -n 1)
exec 4<>/dev/null
"$PYTHON" - "$P_imaps" <<'PY' &
import socket, ssl, sys, time
c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
s = c.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10))
s.recv(1000); time.sleep(2); s.close()
PY
hold=$!
sleep 1
p=$(sed -n 's/.*tls: started for .* (stunnel pid \([0-9]*\)).*/\1/p' "$T_TMP/log" | tail -n 1)
is "$(ps -o user= -p "$p" 2>/dev/null | tr -d ' ')" "$(id -nu nobody 2>/dev/null || echo nobody)" \
	"stunnel (pid $p) runs as default_privs, not root"
wait $hold

# --- swaks ------------------------------------------------------------------
if command -v swaks > /dev/null; then
	swaks --server "127.0.0.1:$P_smtp" --tls --to alice@example.test --from bob@example.test \
		--header "Subject: swaks-tls" > "$T_TMP/swaks1" 2>&1
	ok $? "swaks --tls (STARTTLS on 25)"
	swaks --server "127.0.0.1:$P_submissions" --tlsc --auth PLAIN --auth-user alice --auth-password alice-pw \
		--to bob@example.test --from alice@example.test --header "Subject: swaks-tlsc-plain" > "$T_TMP/swaks2" 2>&1
	ok $? "swaks --tlsc --auth PLAIN (465)"
	swaks --server "127.0.0.1:$P_submission" --tls --auth LOGIN --auth-user bob --auth-password bob-pw \
		--to someone@elsewhere.test --from bob@example.test --header "Subject: swaks-relay" > "$T_TMP/swaks3" 2>&1
	ok $? "swaks --tls --auth LOGIN (587), relaying to another domain"
	swaks --server "127.0.0.1:$P_submission" --tls --auth LOGIN --auth-user bob --auth-password nope \
		--to bob@example.test > "$T_TMP/swaks4" 2>&1
	grep -q '^<~\* 535 5.7.8' "$T_TMP/swaks4"; ok $? "swaks: wrong password: 535 5.7.8"
	swaks --server "127.0.0.1:$P_submission" --auth PLAIN --auth-user bob --auth-password bob-pw \
		--to bob@example.test > "$T_TMP/swaks5" 2>&1
	# loopback is trusted: AUTH is offered without TLS (login_trusted_networks semantics)
	grep -q '^<-  235 2.7.0' "$T_TMP/swaks5"; ok $? "swaks: AUTH without TLS from loopback (trusted)"
	wait_for 'Subject: swaks-tlsc-plain' "$SPOOL/bob"
	grep -B4 'Subject: swaks-tlsc-plain' "$SPOOL/bob" > /dev/null
	awk '/^From /{h=""} {h=h $0 "\n"} /^Subject: swaks-tlsc-plain/{print h; exit}' "$SPOOL/bob" > "$T_TMP/hdr"
	grep -q '(Authenticated sender: alice)' "$T_TMP/hdr" && grep -q 'with ESMTPSA' "$T_TMP/hdr"
	ok $? "Received: (Authenticated sender: alice) ... with ESMTPSA"
	grep -q 'sasl_username=alice' "$T_TMP/log"; ok $? "the log names the authenticated user"
else
	skip "swaks not installed"
fi

# --- curl -------------------------------------------------------------------
if command -v curl > /dev/null; then
	printf 'Subject: curl-smtps\r\n\r\nhello\r\n' > "$T_TMP/curl.msg"
	curl -s -k --max-time 20 --url "smtps://127.0.0.1:$P_submissions" -u alice:alice-pw \
		--mail-from alice@example.test --mail-rcpt bob@example.test -T "$T_TMP/curl.msg"
	ok $? "curl smtps:// (465) with login"
	printf 'Subject: curl-ssl-reqd\r\n\r\nhello\r\n' > "$T_TMP/curl.msg"
	curl -s -k --ssl-reqd --max-time 20 --url "smtp://127.0.0.1:$P_submission" -u alice:alice-pw \
		--mail-from alice@example.test --mail-rcpt bob@example.test -T "$T_TMP/curl.msg"
	ok $? "curl --ssl-reqd smtp:// (587, STARTTLS) with login"
	out=$(curl -s -k --max-time 20 -u alice:alice-pw "imaps://127.0.0.1:$P_imaps/INBOX;UID=1" | grep -c '^Subject:')
	is "$out" 1 "curl imaps:// fetches a message"
	out=$(curl -s -k --ssl-reqd --max-time 20 -u alice:alice-pw "imap://127.0.0.1:$P_imap/INBOX;UID=1" | grep -c '^Subject:')
	is "$out" 1 "curl --ssl-reqd imap:// (STARTTLS) fetches a message"
	out=$(curl -s -k --max-time 20 -u alice:alice-pw "pop3s://127.0.0.1:$P_pop3s/1" | grep -c '^Subject:')
	is "$out" 1 "curl pop3s:// retrieves a message"
	out=$(curl -s -k --ssl-reqd --max-time 20 -u alice:alice-pw "pop3://127.0.0.1:$P_pop3/1" | grep -c '^Subject:')
	is "$out" 1 "curl --ssl-reqd pop3:// (STLS) retrieves a message"
	curl -s -k --ssl-reqd --max-time 20 -u alice:alice-pw "pop3://127.0.0.1:$P_pop3_nocert/1" > /dev/null
	ok "$([ $? -ne 0 ]; echo $?)" "curl --ssl-reqd against a server without a certificate fails (no STLS)"
	wait_for 'Subject: curl-ssl-reqd' "$SPOOL/bob"; ok $? "curl's messages delivered"
else
	skip "curl not installed"
fi

# --- mbsync (IMAPS and STARTTLS), fetchmail (POP3 STLS and POP3S) ------------
if command -v mbsync > /dev/null; then
	for t in IMAPS:$P_imaps STARTTLS:$P_imap; do
		mkdir -p "$T_TMP/md-${t%%:*}"
		cat > "$T_TMP/mbsyncrc" <<RC
IMAPAccount fac
Host 127.0.0.1
Port ${t#*:}
User alice
Pass alice-pw
SSLType ${t%%:*}
CertificateFile $T_TMP/cert.pem
AuthMechs LOGIN PLAIN

IMAPStore remote
Account fac

MaildirStore local
Path $T_TMP/md-${t%%:*}/
Inbox $T_TMP/md-${t%%:*}/INBOX

Channel ch
Far :remote:
Near :local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
RC
		timeout 60 mbsync -c "$T_TMP/mbsyncrc" -a > "$T_TMP/mbsync.out" 2>&1
		r=$?
		[ $r = 0 ] || sed 's/^/# /' "$T_TMP/mbsync.out" | tail -n 5
		n=$(ls "$T_TMP/md-${t%%:*}/INBOX/cur" "$T_TMP/md-${t%%:*}/INBOX/new" 2>/dev/null | grep -c ,)
		ok "$([ $r = 0 ] && [ "$n" -ge 1 ]; echo $?)" "mbsync SSLType ${t%%:*}: INBOX pulled ($n messages)"
	done
else
	skip "mbsync not installed"
fi
if command -v fetchmail > /dev/null; then
	printf '#!/bin/sh\ncat > "%s/fm.$$"\n' "$T_TMP" > "$T_TMP/mda.sh"
	chmod 755 "$T_TMP/mda.sh"
	for t in "$P_pop3:sslproto tls1.2+" "$P_pop3s:ssl"; do
		printf 'poll 127.0.0.1 service %s protocol pop3 user alice password alice-pw is %s here %s no sslcertck keep fetchall mda "%s"\n' \
			"${t%%:*}" "$(id -un)" "${t#*:}" "$T_TMP/mda.sh" > "$T_TMP/fetchmailrc"
		chmod 600 "$T_TMP/fetchmailrc"
		rm -f "$T_TMP"/fm.*
		HOME=$T_TMP timeout 60 fetchmail -f "$T_TMP/fetchmailrc" --pidfile "$T_TMP/fm.pid" --nosyslog > "$T_TMP/fm.out" 2>&1
		r=$?
		[ $r = 0 ] || sed 's/^/# /' "$T_TMP/fm.out" | tail -n 5
		ok "$([ $r = 0 ] && ls "$T_TMP"/fm.* > /dev/null 2>&1; echo $?)" "fetchmail POP3 with ${t#*:} (port ${t%%:*}): messages fetched"
	done
else
	skip "fetchmail not installed"
fi

# --- mutt with ssl_force_tls: sending (smtps://, smtp:// + STARTTLS) and
# reading (imaps://, imap:// + STARTTLS, pops://, pop:// + STLS); against a
# server without a certificate it must refuse to go on in plaintext
if command -v mutt > /dev/null && command -v script > /dev/null; then
	cat > "$T_TMP/muttrc" <<RC
set ssl_force_tls = yes
set ssl_starttls = yes
set certificate_file = $T_TMP/cert.pem
set from = alice@example.test
set use_from = yes
set smtp_pass = alice-pw
set imap_user = alice
set imap_pass = alice-pw
set pop_user = alice
set pop_pass = alice-pw
set header_cache = ""
set message_cachedir = ""
set confirmcreate = no
set confirmappend = no
set quit = yes
set move = no
set wait_key = no
set mbox_type = mbox
RC
	printf 'hello from mutt\n' > "$T_TMP/mutt.body"
	# mutt_send URL SUBJECT: mutt in batch mode (no terminal needed)
	mutt_send() {
		HOME=$T_TMP timeout 30 mutt -n -F "$T_TMP/muttrc" -e "set smtp_url=\"$1\"" -s "$2" -- bob@example.test \
			< "$T_TMP/mutt.body" > "$T_TMP/mutt.out" 2>&1
	}
	mutt_send "smtps://alice@127.0.0.1:$P_submissions" "mutt-smtps"
	ok $? "mutt ssl_force_tls, smtps:// (465) with AUTH: sent"
	mutt_send "smtp://alice@127.0.0.1:$P_submission" "mutt-starttls"
	ok $? "mutt ssl_force_tls, smtp:// (587, STARTTLS) with AUTH: sent"
	mutt_send "smtp://alice@127.0.0.1:$P_smtp_nocert" "mutt-plain"
	r=$?
	[ $r != 0 ] && grep -q 'Could not send' "$T_TMP/mutt.out"
	ok $? "mutt ssl_force_tls, server without TLS: refuses to send (exit $r)"
	wait_for 'Subject: mutt-starttls' "$SPOOL/bob"
	awk '/^From /{h=""} {h=h $0 "\n"} /^Subject: mutt-starttls/{print h; exit}' "$SPOOL/bob" | grep -q 'with ESMTPSA'
	ok $? "mutt's messages arrive, received with ESMTPSA"
	lacks "$SPOOL/bob" '^Subject: mutt-plain' "nothing sent in plaintext"
	# mutt_read URL: mutt on a pty (script), copying every message to a file
	mutt_read() {
		rm -f "$T_TMP/mutt.mbox"
		HOME=$T_TMP TERM=vt100 timeout 30 script -qec "mutt -n -F '$T_TMP/muttrc' -f '$1' -e 'push \"<tag-pattern>~A<enter><tag-prefix><copy-message>$T_TMP/mutt.mbox<enter><quit>\"'" \
			/dev/null < /dev/null > "$T_TMP/mutt.out" 2>&1
		grep -c '^From ' "$T_TMP/mutt.mbox" 2> /dev/null || echo 0
	}
	n0=$(grep -c 'tls: started' "$T_TMP/log")
	for u in "imaps://127.0.0.1:$P_imaps/INBOX" "imap://127.0.0.1:$P_imap/INBOX" "pops://127.0.0.1:$P_pop3s/" \
		"pop://127.0.0.1:$P_pop3/"; do
		n=$(mutt_read "$u")
		ok "$([ "$n" -ge 1 ]; echo $?)" "mutt ssl_force_tls reads $u ($n messages)"
	done
	is "$(($(grep -c 'tls: started' "$T_TMP/log") - n0))" 4 "... each over TLS"
	n0=$(grep -c 'login: user=alice' "$T_TMP/log")
	is "$(mutt_read "pop://127.0.0.1:$P_pop3_nocert/")" 0 "mutt ssl_force_tls, POP3 server without STLS: nothing read"
	is "$(grep -c 'login: user=alice' "$T_TMP/log")" "$n0" "... and no password sent"
else
	skip "mutt or script not installed"
fi

# --- python3 smtplib, imaplib, poplib, raw sockets ---------------------------
"$PYTHON" "$FACTEUR_SRC/t/tls/e2e.py" "$T_TMP" "$SPOOL" $((T_N + 1)) $PORTS > "$T_TMP/py.out" 2>&1
cat "$T_TMP/py.out"
T_N=$((T_N + $(grep -c '^\(not \)\?ok ' "$T_TMP/py.out")))
T_FAIL=$((T_FAIL + $(grep -c '^not ok ' "$T_TMP/py.out")))
grep -q '^ok' "$T_TMP/py.out"; ok $? "python3 clients ran"

grep -q 'bytes pipelined after STARTTLS discarded' "$T_TMP/log"; ok $? "the injection attempts are logged"
grep -q "TLS not offered: tls_cert_file $T_TMP/no-such.pem" "$T_TMP/log"; ok $? "a missing certificate is logged"
grep -q 'warning: unknown\[127.0.0.1\]: SASL [A-Z]* authentication failed: .*sasl_username=alice' "$T_TMP/log"
ok $? "failed SMTP AUTH logged (Postfix's shape)"

# every session ended (drops, deadlines): no facteur process nor stunnel left
i=0
while [ $i -lt 100 ]; do
	n=$(ps -eo args | grep -c "^$B/[a-z0-9]*d -c $T_TMP/")
	[ "$n" -eq 0 ] && break
	sleep 0.2; i=$((i + 1))
done
is "$n" 0 "every session ended (clients that dropped after TLS or never finished it included)"
ok "$(ls -d /tmp/facteur-tls.* 2>/dev/null | while read -r d; do [ "$(stat -c %U "$d")" = root ] && echo "$d"; done | grep -c . | grep -qx 0; echo $?)" \
	"no private socket directory left behind"
xinetd_stop
done_testing
