#!/bin/sh
# The lab (../shared/lab), replayed from scratch on the layout it is written
# for: facteur installed by README's own install lines (under a temporary
# PREFIX and SYSCONFDIR), the config, xinetd drop-ins and PAM file as
# installed (ports moved to free ones on 127.0.0.1), users foo and bar made
# with adduser, the real /var/mail as Debian ships it (root:mail 2775), no
# mailbox before the first delivery.  Then the lab's steps: the SMTP
# dialogue typed into nc (bare LF), /var/mail/foo, `mail` sending and
# reading, the POP3 dialogue by hand, IMAP with imaplib and curl.  Then the
# same on a 1777 spool with 0660 user:mail mailboxes.  Everything it made
# is removed at exit.
. "$(dirname "$0")/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
need_root "adduser, the real /var/mail, xinetd"
for c in adduser deluser runuser nc curl make chpasswd; do need_cmd "$c"; done
mail --version 2>/dev/null | grep -q Mailutils || skip_all "mailutils mail not installed"
for p in smtpd pop3d imapd sendmail; do [ -x "$B/$p" ] || skip_all "$p not built"; done
for u in foo bar; do
	! getent passwd "$u" > /dev/null || skip_all "user $u exists on this host: not touching it"
	[ ! -e "/var/mail/$u" ] || skip_all "/var/mail/$u exists: not touching it"
done
[ "$(stat -c '%U:%G %a' /var/mail)" = "root:mail 2775" ] ||
	skip_all "/var/mail is $(stat -c '%U:%G %a' /var/mail), not Debian's root:mail 2775"
xinetd_need
chmod 755 "$T_TMP"
T=$T_TMP
S=$FACTEUR_SRC
PAMSVC=facteur-lab$$
made=
cleanup() {
	for u in foo bar; do
		deluser --remove-home "$u" > /dev/null 2>&1
		rm -f "/var/mail/$u" "/var/mail/$u.lock"
	done
	rm -f "/etc/pam.d/$PAMSVC"
	for d in $made; do rmdir "$d" 2> /dev/null; done
}
trap 'cleanup; rm -rf "$T_TMP"' EXIT
xinetd__chain_trap

# --- README's install block, run line by line ------------------------------
awk '/^<!-- t\/84-lab-install.t runs/ { armed = 1; next }
     armed && /^```/ { if (inside) exit; inside = 1; next }
     inside { print }' "$S/README.md" > "$T/readme.sh"
is "$(wc -l < "$T/readme.sh" | tr -d ' ')" 4 "README's install block found (4 lines)"
for d in /var/empty /var/spool/facteur; do [ -e "$d" ] || made="$made $d"; done
unset MAKEFLAGS MFLAGS MAKELEVEL
PREFIX=$T/usr/local ETC=$T/etc
n=0
while IFS= read -r line; do
	n=$((n + 1))
	case $line in
	"make && make install")
		# built already by make check: install only, here
		cmd="make -C '$S' -o build-all B='$B' install PREFIX='$PREFIX' SYSCONFDIR='$ETC'" ;;
	systemctl*) diag "README line $n: $line (the test starts its own xinetd)"; continue ;;
	*) cmd=$(printf '%s\n' "$line" | sed "s|/etc/|$ETC/|g; s|/usr/local/|$PREFIX/|g") ;;
	esac
	sh -c "$cmd" > "$T/install.out" 2>&1
	r=$?
	ok $r "README line $n: $line"
	[ $r = 0 ] || sed 's/^/# /' "$T/install.out" | tail -n 15
done < "$T/readme.sh"
for s in smtp pop3 imap; do
	grep -Eq '^[[:space:]]*disable[[:space:]]*=[[:space:]]*no' "$ETC/xinetd.d/facteur-$s"
	ok $? "installed facteur-$s enabled by README's sed line"
done
L=$PREFIX/libexec/facteur
CONF=$ETC/facteur.conf

# the lab's settings from README (machine 1), and what this test must keep
# private: the queue, the log, the PAM service name
awk '/^The lab.s settings/ { armed = 1; next }
     armed && /^```/ { if (inside) exit; inside = 1; next }
     inside { print }' "$S/README.md" | sed 's/X/1/g' >> "$CONF"
grep -q '^mydestination = mail1.com, localhost.localdomain, localhost$' "$CONF"
ok $? "the lab's settings from README appended to the installed config"
cat >> "$CONF" <<CONF
queue_directory = $T/queue
log = $T/log
pam_service = $PAMSVC
sendmail_path = $L/sendmail
CONF
cp "$ETC/pam.d/facteur" "/etc/pam.d/$PAMSVC"
echo quit | "$L/pop3d" -c "$CONF" > "$T/conf.out" 2>&1
grep -q '^+OK facteur ready' "$T/conf.out"; ok $? "the installed programs load the config"
[ $? = 0 ] || { sed 's/^/# /' "$T/conf.out" "$T/log"; cat "$CONF" | sed 's/^/# /'; }

# --- the lab's users ----------------------------------------------------------
for u in foo bar; do
	adduser --disabled-password --gecos '' "$u" > "$T/adduser.out" 2>&1 && echo "$u:$u" | chpasswd
	ok $? "adduser $u (password $u)"
done
[ ! -e /var/mail/foo ] && [ ! -e /var/mail/bar ]; ok $? "no mailbox before the first delivery"

ps=$(free_port) pp=$(free_port) pi=$(free_port)
xinetd_dropin "$ETC/xinetd.d/facteur-smtp" "$ps"
xinetd_dropin "$ETC/xinetd.d/facteur-pop3" "$pp"
xinetd_dropin "$ETC/xinetd.d/facteur-imap" "$pi"
xinetd_start
wait_file() { i=0; until grep -q -- "$1" "$2" 2>/dev/null || [ $i -ge 200 ]; do sleep 0.1; i=$((i + 1)); done; }

# --- SMTP: the dialogue typed into nc (bare LF, as nc without -C) -----------
printf 'ehlo 127.0.0.1\nmail from: darth@starwars.univ\nrcpt to: foo@mail1.com\ndata\nJe suis ton p\303\250re\n.\nquit\n' |
	nc -q 10 127.0.0.1 "$ps" > "$T/smtp.out" 2>&1
grep -q '^250 2.0.0 Ok: queued as ' "$T/smtp.out"; ok $? "nc SMTP dialogue: 250 2.0.0 Ok: queued as ..."
grep -q '^221 2.0.0 Bye' "$T/smtp.out"; ok $? "nc SMTP dialogue: 221 Bye"
wait_file 'Je suis ton p' /var/mail/foo
grep -q "^Je suis ton p$(printf '\303\250')re\$" /var/mail/foo; ok $? "/var/mail/foo appears with the message"
is "$(stat -c '%U:%G %a' /var/mail/foo)" "foo:mail 600" "/var/mail/foo is foo:mail 0600, as Postfix makes it"
is "$(stat -c '%U:%G %a' /var/mail)" "root:mail 2775" "the spool is untouched"

# --- mail: foo sends to bar through our sendmail, bar reads with mail ------
printf '#!/bin/sh\nexec %s/sendmail -c %s "$@"\n' "$L" "$CONF" > "$T/sendmail"
chmod 755 "$T/sendmail"
printf 'Corps du mail. Avec a\303\247\303\247\303\251nts\n' |
	runuser -u foo -- mail -E "set sendmail=sendmail:$T/sendmail" -s 'Mail 1' bar@mail1.com
ok $? "mail as foo to bar@mail1.com through facteur's sendmail"
# what cron runs (README): the queue run picks the user's maildrop file up
"$L/sendmail" -c "$CONF" -q
wait_file 'Subject: Mail 1' /var/mail/bar
is "$(stat -c '%U:%G %a' /var/mail/bar 2>/dev/null)" "bar:mail 600" "/var/mail/bar created bar:mail 0600"
grep -q "^From: foo@" /var/mail/bar; ok $? "... from foo"
runuser -u bar -- env MAIL=/var/mail/bar mail -H > "$T/mail-h.out" 2>&1
grep -q 'Mail 1' "$T/mail-h.out"; ok $? "bar lists it with mail -H"
[ $? = 0 ] || sed 's/^/# /' "$T/mail-h.out"
printf 'print 1\nexit\n' | runuser -u bar -- env MAIL=/var/mail/bar mail -N > "$T/mail-p.out" 2>&1
grep -q 'Corps du mail' "$T/mail-p.out"; ok $? "bar reads it with mail"
[ $? = 0 ] || sed 's/^/# /' "$T/mail-p.out"

# --- POP3 by hand, as the lab types it into nc -------------------------------
printf 'user foo\npass foo\nlist\nretr 1\nquit\n' | nc -q 10 127.0.0.1 "$pp" | tr -d '\r' > "$T/pop3.out"
sed -n 1,3p "$T/pop3.out" | tr '\n' '|' > "$T/pop3.head"
is "$(cat "$T/pop3.head")" "+OK facteur ready.|+OK|+OK Logged in.|" "POP3 by hand: greeting, user, pass foo (PAM)"
grep -q '^+OK 1 messages:' "$T/pop3.out" && grep -q '^1 [0-9]*$' "$T/pop3.out"
ok $? "POP3 list: one message"
grep -q "^Je suis ton p" "$T/pop3.out" && grep -q '^+OK Logging out.' "$T/pop3.out"
ok $? "POP3 retr 1 and quit"

# --- IMAP: python imaplib and curl -------------------------------------------
"$PYTHON" - "$pi" > "$T/imap.out" 2>&1 <<'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=20)
m.login("foo", "foo")
typ, n = m.select("INBOX")
typ2, d = m.fetch("1", "(BODY.PEEK[TEXT])")
m.logout()
print(typ, n[0].decode(), typ2)
sys.exit(0 if typ == "OK" and "Je suis ton p" in d[0][1].decode("utf-8", "replace") else 1)
PY
ok $? "imaplib: LOGIN foo, SELECT INBOX, FETCH the message"
[ $? = 0 ] || sed 's/^/# /' "$T/imap.out"
curl -s --max-time 20 -u foo:foo "imap://127.0.0.1:$pi/INBOX;MAILINDEX=1" > "$T/curl.out" 2>&1
grep -q "Je suis ton p" "$T/curl.out"; ok $? "curl imap://.../INBOX;MAILINDEX=1"
curl -s --max-time 20 -u bar:bar "pop3://127.0.0.1:$pp/1" > "$T/curl2.out" 2>&1
grep -q "Corps du mail" "$T/curl2.out"; ok $? "curl pop3://bar@.../1"
grep -q "status=deferred" "$T/log"; ok $((!$?)) "nothing was ever deferred"

# --- the same on a 1777 spool with 0660 user:mail mailboxes -----------------
# (older or other systems; set up explicitly here, never on /var/mail)
mkdir -p "$T/spool1777" && chmod 1777 "$T/spool1777"
printf 'mail_spool_directory = %s\nmail_privileged_group =\n' "$T/spool1777" >> "$CONF"
: > "$T/spool1777/foo" && chown foo:mail "$T/spool1777/foo" && chmod 660 "$T/spool1777/foo"
printf 'ehlo 127.0.0.1\nmail from: darth@starwars.univ\nrcpt to: foo@mail1.com\ndata\nSubject: 1777\n\nsur un spool 1777\n.\nquit\n' |
	nc -q 10 127.0.0.1 "$ps" > "$T/smtp2.out" 2>&1
wait_file 'sur un spool 1777' "$T/spool1777/foo"
grep -q 'sur un spool 1777' "$T/spool1777/foo" && [ "$(stat -c '%U:%G %a' "$T/spool1777/foo")" = "foo:mail 660" ]
ok $? "1777 spool: delivered into the 0660 foo:mail mailbox, mode kept"
printf 'ehlo 127.0.0.1\nmail from: <>\nrcpt to: bar@mail1.com\ndata\nSubject: new\n\nnouvelle boite\n.\nquit\n' |
	nc -q 10 127.0.0.1 "$ps" > "$T/smtp3.out" 2>&1
wait_file 'nouvelle boite' "$T/spool1777/bar"
is "$(stat -c '%U %a' "$T/spool1777/bar" 2>/dev/null)" "bar 600" "1777 spool: a new mailbox is bar's, 0600"
printf 'user foo\npass foo\nstat\nretr 1\ndele 1\nquit\n' | nc -q 10 127.0.0.1 "$pp" | tr -d '\r' > "$T/pop3b.out"
grep -q '^+OK 1 ' "$T/pop3b.out" && grep -q 'sur un spool 1777' "$T/pop3b.out" && grep -q '^+OK Logging out.' "$T/pop3b.out"
ok $? "1777 spool: POP3 by hand reads and deletes"
is "$(grep -c 'sur un spool' "$T/spool1777/foo")" 0 "1777 spool: the message is gone"
is "$(stat -c '%U:%G %a' "$T/spool1777/foo")" "foo:mail 660" "1777 spool: the rewrite keeps 0660 foo:mail"
curl -s --max-time 20 -u bar:bar "imap://127.0.0.1:$pi/INBOX;MAILINDEX=1" > "$T/curl3.out" 2>&1
grep -q "nouvelle boite" "$T/curl3.out"; ok $? "1777 spool: curl IMAP reads bar's mail"

xinetd_stop
done_testing
