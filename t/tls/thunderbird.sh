#!/bin/sh
# A real Thunderbird (Debian's package, under Xvfb) against facteur with TLS
# (issue 13 item 6).  Manual / CI-optional: not in `make check` nor
# t/deps.txt (Thunderbird is ~100 MB and a UI).  As root, under the test
# lock, from the top of the tree after `make`:
#   flock /tmp/facteur-tests.lock sh t/tls/thunderbird.sh
# Needs: thunderbird xvfb xauth dbus libnss3-tools xdotool imagemagick
# (screenshots), stunnel4, xinetd.
#
# facteur's imapd, pop3d and smtpd run under a private xinetd on 127.0.0.1,
# on the real ports (993 imaps, 143 imap + STARTTLS, 995 pop3s, 465
# submissions, 587 submission + STARTTLS) when all are free, else on free
# ports (TB_FREE_PORTS=1 forces that), with a certificate from a test CA.
# A fresh Thunderbird profile trusts that CA only (certutil -A into its NSS
# db), resolves mail.example.test to 127.0.0.1 (network.dns.localDomains),
# and has, pre-configured, the settings the account wizard's guess chooses
# (t/tls/autoconfig.py): alice IMAP 993 SSL/TLS + SMTP 465 SSL/TLS, bob
# POP3 995 SSL/TLS (leave on server) + SMTP 587 STARTTLS, carol IMAP 143
# STARTTLS + SMTP 587; all "normal password", the passwords in logins.json
# (encrypted with the profile's key4.db through Thunderbird's own NSS).
# The wizard itself is UI and is not driven here.  Thunderbird runs for
# TB_SECONDS (60) under xvfb-run; two messages are composed from the
# command line and sent with Ctrl+Return (xdotool) through 465 and 587.
# What facteur logged and Thunderbird's protocol log (MOZ_LOG) are printed;
# TB_KEEP=DIR copies both (and a screenshot) to DIR.
. "${FACTEUR_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
xinetd_need
for c in thunderbird xvfb-run certutil openssl xdotool; do need_cmd "$c"; done
STUNNEL=$(command -v stunnel4 || echo /usr/bin/stunnel4)
[ -x "$STUNNEL" ] || skip_all "stunnel4 not installed"
TB_LIB=/usr/lib/thunderbird
[ -r "$TB_LIB/libnss3.so" ] || skip_all "no $TB_LIB/libnss3.so"
[ -x "$B/imapd" ] || skip_all "imapd not built (make)"
facteur_env
for u in alice bob carol; do
	printf 'From: lab@example.test\nTo: %s@example.test\nSubject: tb-inbox-%s\nDate: Fri, 4 Dec 2026 12:00:00 +0000\nMessage-ID: <tb-%s@example.test>\n\nA message for %s.\n' \
		"$u" "$u" "$u" "$u" | deliver "$u"
done

# --- a test CA and a server certificate for the lab's host names ------------
cd "$T_TMP" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=facteur test CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign > /dev/null 2>&1 &&
openssl req -newkey rsa:2048 -nodes -keyout key.pem -out srv.csr -subj /CN=mail.example.test > /dev/null 2>&1 &&
printf 'subjectAltName=DNS:mail.example.test,DNS:imap.example.test,DNS:pop.example.test,DNS:smtp.example.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > srv.ext &&
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext -out cert.pem > /dev/null 2>&1 ||
	{ echo "Bail out! openssl failed"; exit 1; }
chmod 600 key.pem ca.key
conf_set tls_cert_file "$T_TMP/cert.pem"
conf_set tls_key_file "$T_TMP/key.pem"
conf_set stunnel_path "$STUNNEL"

# --- ports: the real ones if all are free ------------------------------------
port_free() { ! ss -Htln "sport = :$1" | grep -q .; }
P_imaps=993 P_imap=143 P_pop3s=995 P_smtps=465 P_sub=587
if [ -n "${TB_FREE_PORTS:-}" ] || ! { port_free 993 && port_free 143 && port_free 995 && port_free 465 && port_free 587; }; then
	for s in imaps imap pop3s smtps sub; do eval "P_$s=$(free_port)"; done
fi
diag "ports: imaps $P_imaps imap $P_imap pop3s $P_pop3s submissions $P_smtps submission $P_sub"
# imapd under strace: what Thunderbird sends, as imapd reads it after TLS
# (Thunderbird's own IMAP log, MOZ_LOG=IMAP:5, stays empty in this build)
mkdir -p "$T_TMP/st"
ST="/usr/bin/strace -ff -qq -e trace=read -s 300 -o"
command -v strace > /dev/null || ST=
xinetd_service f-imaps "$P_imaps" ${ST:+$ST $T_TMP/st/imaps} "$B/imapd" -c "$FCONF" -T
xinetd_service f-imap "$P_imap" ${ST:+$ST $T_TMP/st/imap} "$B/imapd" -c "$FCONF"
xinetd_service f-pop3s "$P_pop3s" "$B/pop3d" -c "$FCONF" -T
xinetd_service f-submissions "$P_smtps" "$B/smtpd" -c "$FCONF" -T -S
xinetd_service f-submission "$P_sub" "$B/smtpd" -c "$FCONF" -S
xinetd_start
ok $? "xinetd serves imaps, imap, pop3s, submissions, submission"

# --- the profile ----------------------------------------------------------------
PROF=$T_TMP/tb-profile
mkdir -p "$PROF" "$T_TMP/tb-home"
certutil -N -d "sql:$PROF" --empty-password &&
	certutil -A -d "sql:$PROF" -n "facteur test CA" -t "C,," -i ca.pem
ok $? "fresh NSS db in the profile, the test CA trusted for servers (certutil -A -t C,,)"
H=mail.example.test
# logins.json: Thunderbird's password manager, encrypted with key4.db's SDR
# key through Thunderbird's own libnss3 (the origins are what
# MsgIncomingServer/SmtpServer look up: imap://, mailbox://, smtp://HOST)
LD_LIBRARY_PATH=$TB_LIB "$PYTHON" - "$PROF" "imap://$H alice alice-pw" "imap://$H carol carol-pw" \
	"mailbox://$H bob bob-pw" "smtp://$H alice alice-pw" "smtp://$H bob bob-pw" "smtp://$H carol carol-pw" <<'PY'
import base64, ctypes, json, sys, time, uuid
prof, entries = sys.argv[1], sys.argv[2:]
nss = ctypes.CDLL("libnss3.so")
class SECItem(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint), ("data", ctypes.c_void_p), ("len", ctypes.c_uint)]
nss.NSS_InitReadWrite.argtypes = [ctypes.c_char_p]
nss.PK11_GetInternalKeySlot.restype = ctypes.c_void_p
nss.PK11_Authenticate.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
nss.PK11SDR_Encrypt.argtypes = [ctypes.POINTER(SECItem)] * 3 + [ctypes.c_void_p]
if nss.NSS_InitReadWrite(("sql:" + prof).encode()) != 0:
    sys.exit("NSS_InitReadWrite failed")
if nss.PK11_Authenticate(nss.PK11_GetInternalKeySlot(), 1, None) != 0:
    sys.exit("PK11_Authenticate failed")
def enc(s):
    b = s.encode()
    buf = ctypes.create_string_buffer(b, len(b))
    out = SECItem(0, None, 0)
    if nss.PK11SDR_Encrypt(ctypes.byref(SECItem(0, None, 0)),
                           ctypes.byref(SECItem(0, ctypes.cast(buf, ctypes.c_void_p), len(b))),
                           ctypes.byref(out), None) != 0:
        sys.exit("PK11SDR_Encrypt failed")
    return base64.b64encode(ctypes.string_at(out.data, out.len)).decode()
now = int(time.time() * 1000)
logins = []
for i, e in enumerate(entries, 1):
    origin, user, pw = e.split(" ")
    logins.append({"id": i, "hostname": origin, "httpRealm": origin, "formSubmitURL": None,
                   "usernameField": "", "passwordField": "", "encryptedUsername": enc(user),
                   "encryptedPassword": enc(pw), "guid": "{%s}" % uuid.uuid4(), "encType": 1,
                   "timeCreated": now, "timeLastUsed": now, "timePasswordChanged": now, "timesUsed": 1})
with open(prof + "/logins.json", "w") as f:
    json.dump({"nextId": len(logins) + 1, "logins": logins, "potentiallyVulnerablePasswords": [],
               "dismissedBreachAlertsByLoginGUID": {}, "version": 3}, f)
nss.NSS_Shutdown()
PY
ok $? "logins.json with the three users' passwords"

# the accounts: what the wizard's guess (GuessConfig.sys.mjs) settles on
# for example.test; socketType/try_ssl 3 = SSL/TLS, 2 = STARTTLS;
# authMethod 3 = normal password
cat > "$PROF/user.js" <<JS
user_pref("network.dns.localDomains", "$H");
user_pref("mail.accountmanager.accounts", "account1,account2,account3,account4");
user_pref("mail.accountmanager.defaultaccount", "account1");
user_pref("mail.accountmanager.localfoldersserver", "server4");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account1.identities", "id1");
user_pref("mail.account.account2.server", "server2");
user_pref("mail.account.account2.identities", "id2");
user_pref("mail.account.account3.server", "server3");
user_pref("mail.account.account3.identities", "id3");
user_pref("mail.account.account4.server", "server4");
user_pref("mail.server.server1.type", "imap");
user_pref("mail.server.server1.hostname", "$H");
user_pref("mail.server.server1.port", $P_imaps);
user_pref("mail.server.server1.socketType", 3);
user_pref("mail.server.server1.authMethod", 3);
user_pref("mail.server.server1.userName", "alice");
user_pref("mail.server.server1.name", "alice IMAP 993 SSL/TLS");
user_pref("mail.server.server1.login_at_startup", true);
user_pref("mail.server.server1.check_new_mail", true);
user_pref("mail.server.server2.type", "pop3");
user_pref("mail.server.server2.hostname", "$H");
user_pref("mail.server.server2.port", $P_pop3s);
user_pref("mail.server.server2.socketType", 3);
user_pref("mail.server.server2.authMethod", 3);
user_pref("mail.server.server2.userName", "bob");
user_pref("mail.server.server2.name", "bob POP3 995 SSL/TLS");
user_pref("mail.server.server2.login_at_startup", true);
user_pref("mail.server.server2.check_new_mail", true);
user_pref("mail.server.server2.leave_on_server", true);
user_pref("mail.server.server2.download_on_biff", true);
user_pref("mail.server.server3.type", "imap");
user_pref("mail.server.server3.hostname", "$H");
user_pref("mail.server.server3.port", $P_imap);
user_pref("mail.server.server3.socketType", 2);
user_pref("mail.server.server3.authMethod", 3);
user_pref("mail.server.server3.userName", "carol");
user_pref("mail.server.server3.name", "carol IMAP 143 STARTTLS");
user_pref("mail.server.server3.login_at_startup", true);
user_pref("mail.server.server3.check_new_mail", true);
user_pref("mail.server.server4.type", "none");
user_pref("mail.server.server4.hostname", "Local Folders");
user_pref("mail.server.server4.userName", "nobody");
user_pref("mail.server.server4.name", "Local Folders");
user_pref("mail.identity.id1.fullName", "Alice");
user_pref("mail.identity.id1.useremail", "alice@example.test");
user_pref("mail.identity.id1.smtpServer", "smtp1");
user_pref("mail.identity.id1.valid", true);
user_pref("mail.identity.id2.fullName", "Bob");
user_pref("mail.identity.id2.useremail", "bob@example.test");
user_pref("mail.identity.id2.smtpServer", "smtp2");
user_pref("mail.identity.id2.valid", true);
user_pref("mail.identity.id3.fullName", "Carol");
user_pref("mail.identity.id3.useremail", "carol@example.test");
user_pref("mail.identity.id3.smtpServer", "smtp3");
user_pref("mail.identity.id3.valid", true);
user_pref("mail.smtpservers", "smtp1,smtp2,smtp3");
user_pref("mail.smtp.defaultserver", "smtp1");
user_pref("mail.smtpserver.smtp1.hostname", "$H");
user_pref("mail.smtpserver.smtp1.port", $P_smtps);
user_pref("mail.smtpserver.smtp1.try_ssl", 3);
user_pref("mail.smtpserver.smtp1.authMethod", 3);
user_pref("mail.smtpserver.smtp1.username", "alice");
user_pref("mail.smtpserver.smtp2.hostname", "$H");
user_pref("mail.smtpserver.smtp2.port", $P_sub);
user_pref("mail.smtpserver.smtp2.try_ssl", 2);
user_pref("mail.smtpserver.smtp2.authMethod", 3);
user_pref("mail.smtpserver.smtp2.username", "bob");
user_pref("mail.smtpserver.smtp3.hostname", "$H");
user_pref("mail.smtpserver.smtp3.port", $P_sub);
user_pref("mail.smtpserver.smtp3.try_ssl", 2);
user_pref("mail.smtpserver.smtp3.authMethod", 3);
user_pref("mail.smtpserver.smtp3.username", "carol");
user_pref("mail.warn_on_send_accel_key", false);
user_pref("mailnews.smtp.loglevel", "All");
user_pref("mailnews.pop3.loglevel", "All");
user_pref("devtools.console.stdout.chrome", true);
user_pref("mail.shell.checkDefaultClient", false);
user_pref("mail.spotlight.firstRunDone", true);
user_pref("mail.winsearch.firstRunDone", true);
user_pref("mail.provider.suppress_dialog_on_startup", true);
user_pref("mailnews.start_page.enabled", false);
user_pref("mail.rights.version", 1);
user_pref("app.update.enabled", false);
user_pref("app.update.auto", false);
user_pref("extensions.update.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("mail.instrumentation.postUrl", "");
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("mailnews.auto_config_url", "");
user_pref("messaging-system.rsexperimentloader.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
JS

# --- Thunderbird under Xvfb, bounded ---------------------------------------------
SECS=${TB_SECONDS:-60}
cat > "$T_TMP/tb-run.sh" <<RUN
#!/bin/sh
# inside xvfb-run: Thunderbird, then two messages composed and sent with
# Ctrl+Return once the main window is up
export HOME=$T_TMP/tb-home MOZ_LOG=IMAP:5,timestamp,sync MOZ_LOG_FILE=$T_TMP/moz
export MOZ_DISABLE_AUTO_SAFE_MODE=1 MOZ_CRASHREPORTER_DISABLE=1
thunderbird --profile "$PROF" > "$T_TMP/tb.out" 2>&1 &
tb=\$!
sleep 20
for f in "alice@example.test tb-sent-465" "carol@example.test tb-sent-587"; do
	timeout 20 thunderbird --profile "$PROF" -compose "to='bob@example.test',from='\${f% *}',subject='\${f#* }',body='sent by Thunderbird through facteur'" >> "$T_TMP/tb.out" 2>&1 &
	sleep 6
	import -window root "$T_TMP/screen-\${f#* }.png" 2> /dev/null
	w=\$(xdotool search --name "\${f#* }" | tail -n 1)
	# no window manager: focus the window directly, then the keys
	[ -n "\$w" ] && xdotool windowfocus --sync "\$w" && xdotool key --clearmodifiers ctrl+Return
	echo "compose \${f#* }: window \${w:-none}" >> "$T_TMP/tb.steps"
	sleep 8
done
sleep $((SECS > 40 ? SECS - 40 : 1))
command -v import > /dev/null && import -window root "$T_TMP/screen.png" 2> /dev/null
kill \$tb 2> /dev/null; sleep 3; kill -9 \$tb 2> /dev/null
wait \$tb 2> /dev/null
exit 0
RUN
timeout -k 10 $((SECS + 90)) xvfb-run -a -s "-screen 0 1280x1024x24" dbus-run-session -- sh "$T_TMP/tb-run.sh"
r=$?
ok "$([ $r != 124 ] && [ $r != 137 ]; echo $?)" "Thunderbird ran $SECS s under Xvfb and was stopped (no timeout)"
# a Thunderbird process left over (its profile path is ours alone): by pid
for p in $(pgrep -f -- "--profile $PROF"); do kill -9 "$p" 2> /dev/null; done

diag "--- facteur's log"
sed 's/^/# /' "$T_TMP/log"
# the IMAP commands: read() calls of imapd and its pre-auth child (not of
# stunnel, whose pid is in facteur's log) whose data starts with a tag and
# a command; AUTHENTICATE's base64 line (the password) does not match
for f in "$T_TMP"/st/*; do
	[ -e "$f" ] && ! grep -q "stunnel pid ${f##*.})" "$T_TMP/log" || continue
	sed -n 's/^read([0-9]*, "\([A-Za-z0-9.]* [A-Za-z]\)/\1/p' "$f" | sed 's/\\r\\n".*//; s/\\"/"/g' | sed "s|^|${f##*/}: |"
done | sed 's|^\([a-z]*\)\.[0-9]*:|\1:|' > "$T_TMP/imap.cmds"
diag "--- Thunderbird's IMAP commands (strace of imapd; imaps = 993, imap = 143)"
sed 's/^/# /' "$T_TMP/imap.cmds"
diag "--- Thunderbird's POP3 and SMTP clients (mailnews.*.loglevel All)"
grep -E '^console.debug: (pop3|mailnews.smtp)' "$T_TMP/tb.out" | grep -E '"(C|S): ' | grep -v -E 'C: (AUTH PLAIN |[A-Za-z0-9+/=]{8,}")' | sed 's/^/# /'

g() { grep -q -- "$1" "$2"; }
g 'connect from 127.0.0.1 (TLS)' "$T_TMP/log"; ok $? "facteur logged connections over TLS"
g 'login: user=alice' "$T_TMP/log"; ok $? "alice logged in (IMAP 993 SSL/TLS)"
g 'login: user=carol' "$T_TMP/log"; ok $? "carol logged in (IMAP 143 STARTTLS)"
g 'Login: user=<bob>' "$T_TMP/log"; ok $? "bob logged in (POP3 995 SSL/TLS)"
g 'ID ("name" "Thunderbird"' "$T_TMP/imap.cmds"; ok $? "Thunderbird sent ID (\"name\" \"Thunderbird\" ...)"
grep -q '^imap: [^ ]* STARTTLS' "$T_TMP/imap.cmds"; ok $? "Thunderbird issued STARTTLS on 143"
grep -q 'C: STARTTLS' "$T_TMP/tb.out"; ok $? "Thunderbird issued STARTTLS on 587"
grep -qi '^imaps: [^ ]* select "INBOX"' "$T_TMP/imap.cmds"; ok $? "Thunderbird selected alice's INBOX (993)"
grep -qi '^imaps: [^ ]* UID fetch .*BODY' "$T_TMP/imap.cmds"; ok $? "Thunderbird fetched message contents (993)"
grep -q 'C: RETR 1' "$T_TMP/tb.out"; ok $? "Thunderbird retrieved bob's message over POP3 995"
wait_for 'Subject: tb-sent-465' "$SPOOL/bob"; ok $? "the message sent through 465 reached bob"
wait_for 'Subject: tb-sent-587' "$SPOOL/bob"; ok $? "the message sent through 587 reached bob"
grep -B12 '^Subject: tb-sent-' "$SPOOL/bob" 2> /dev/null | grep -E '^(Received|	|User-Agent|Subject)' | sed 's/^/# /'
if [ -n "${TB_KEEP:-}" ]; then
	mkdir -p "$TB_KEEP" && cp "$T_TMP/log" "$T_TMP/imap.cmds" "$T_TMP/tb.out" "$TB_KEEP/" &&
		cp "$T_TMP"/screen*.png "$T_TMP/tb.steps" "$TB_KEEP/" 2> /dev/null
	cp "$SPOOL/bob" "$TB_KEEP/bob.mbox" 2> /dev/null
fi
xinetd_stop
done_testing
