#!/bin/sh
# make demo: facteur under a private xinetd on 127.0.0.1, with its own spool,
# queue, homes and two passwd-file users, all under BUILD/demo.  Runs in the
# foreground until Ctrl-C.  Usage: sh demo/run.sh BUILD_DIR
# Environment: SMTP_PORT (2525), POP3_PORT (1110), IMAP_PORT (1143);
# DEMO_DIR (BUILD/demo); DEMO_NO_WAIT=1 starts xinetd in the background,
# prints its pid on the last line and returns (for tests).
set -u
B=${1:-}
[ -n "$B" ] && [ -d "$B" ] || { echo "usage: sh demo/run.sh BUILD_DIR (run make demo)" >&2; exit 2; }
B=$(cd "$B" && pwd)
SMTP_PORT=${SMTP_PORT:-2525}
POP3_PORT=${POP3_PORT:-1110}
IMAP_PORT=${IMAP_PORT:-1143}
D=${DEMO_DIR:-$B/demo}

die() { echo "demo: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
	die "needs root: xinetd starts each server as root, which then drops to
      an unprivileged user before reading the client and to the mail user
      after login (as in production).  Run: sudo make demo"
fi
XINETD=$(command -v xinetd 2>/dev/null || echo /usr/sbin/xinetd)
[ -x "$XINETD" ] || die "xinetd is not installed (apt-get install xinetd, or run make demo as root)"
for p in "$SMTP_PORT" "$POP3_PORT" "$IMAP_PORT"; do
	case $p in ''|*[!0-9]*) die "bad port '$p'" ;; esac
	[ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "bad port '$p'"
done

# passwords of a passwd-file: our mkhash (crypt(3)), else openssl
hash() {
	if [ -x "$B/t/bin/mkhash" ]; then "$B/t/bin/mkhash" "$1"
	else openssl passwd -6 "$1"; fi
}
# two unused uids, so alice and bob are really separate (no system account)
free_uid() {
	u=$1
	while getent passwd "$u" >/dev/null || getent group "$u" >/dev/null; do u=$((u + 1)); done
	echo "$u"
}

mkdir -p "$D/spool" "$D/queue" "$D/empty" "$D/home" || die "cannot create $D"
D=$(cd "$D" && pwd)
# after login the servers run as alice or bob: every parent must be searchable
dir=$D
while [ "$dir" != / ] && [ -n "$dir" ]; do
	case $(stat -c %A "$dir") in
	*[xt]) ;;
	*) echo "demo: warning: $dir is not searchable by others: alice and bob cannot reach their mail (chmod o+x)" ;;
	esac
	dir=$(dirname "$dir")
done
chmod 755 "$D/empty"
# the spool as Debian ships /var/mail: root:mail 2775; the servers keep the
# mail group to create mailboxes and dotlocks there.  libmbox's rewrite
# journals live in each user's home (HOME, set at login).
chown root:mail "$D/spool" && chmod 2775 "$D/spool"
: > "$D/passwd.new"
uid=60100
for u in alice bob; do
	uid=$(free_uid "$uid")
	h=$(hash "$u-pw") || die "cannot hash a password (build t/bin/mkhash: make)"
	echo "$u:$h:$uid:$uid::$D/home/$u" >> "$D/passwd.new"
	mkdir -p "$D/home/$u/mail"
	chown -R "$uid:$uid" "$D/home/$u" && chmod 700 "$D/home/$u"
	[ ! -e "$D/spool/$u" ] || chown "$uid:mail" "$D/spool/$u"
	uid=$((uid + 1))
done
mv "$D/passwd.new" "$D/passwd"
chmod 600 "$D/passwd"
printf 'postmaster: alice\nteam: alice, bob\n' > "$D/aliases"
touch "$D/log"
cat > "$D/facteur.conf" <<EOF
# written by demo/run.sh: a private world under $D
myhostname = localhost
mydomain = localdomain
myorigin = localhost
mydestination = localhost, localhost.localdomain
mynetworks = 127.0.0.0/8 [::1]/128
auth = passwd-file:$D/passwd
mail_spool_directory = $D/spool
mail_folders = ~/mail
queue_directory = $D/queue
alias_maps = $D/aliases
empty_directory = $D/empty
sendmail_path = $B/sendmail
log = $D/log
auth_failure_delay = 500
EOF
# `mail` and scripts can use this as their sendmail
cat > "$D/sendmail" <<EOF
#!/bin/sh
exec "$B/sendmail" -c "$D/facteur.conf" "\$@"
EOF
chmod 755 "$D/sendmail"

# one service per program that is built
svc() { # svc NAME PORT PROGRAM
	[ -x "$B/$3" ] || { echo "demo: $B/$3 not built: no $1 service" >&2; return 1; }
	cat <<EOF
service $1
{
	type = UNLISTED
	socket_type = stream
	protocol = tcp
	wait = no
	user = root
	bind = 127.0.0.1
	port = $2
	server = $B/$3
	server_args = -c $D/facteur.conf
	instances = 50
	per_source = 20
	cps = 100 5
}
EOF
}
{
	echo "# written by demo/run.sh"
	echo "defaults"
	echo "{"
	echo "	log_type = FILE $D/xinetd.log"
	echo "	log_on_success = PID HOST EXIT DURATION"
	echo "	log_on_failure = HOST"
	echo "}"
} > "$D/xinetd.conf"
n=0
for s in "smtp $SMTP_PORT smtpd" "pop3 $POP3_PORT pop3d" "imap $IMAP_PORT imapd"; do
	# shellcheck disable=SC2086
	svc facteur-$s >> "$D/xinetd.conf" && n=$((n + 1)) && eval "have_${s%% *}=1"
done
[ $n -gt 0 ] || die "no server is built: run make first"

cat <<EOF

=== facteur demo: everything lives in $D ===
Users (passwd-file $D/passwd):  alice / alice-pw    bob / bob-pw
Domain: localhost.  Mailboxes: $D/spool/NAME.  Log: $D/log
EOF
if [ -n "${have_smtp:-}" ]; then cat <<EOF

--- SMTP on 127.0.0.1:$SMTP_PORT (nc -C sends CRLF line ends) ---
  nc -C 127.0.0.1 $SMTP_PORT
  EHLO me
  MAIL FROM:<bob@localhost>
  RCPT TO:<alice@localhost>
  DATA
  Subject: hello

  Hello Alice.
  .
  QUIT
  swaks --server 127.0.0.1:$SMTP_PORT --from bob@localhost --to alice@localhost
  python3 -c 'import smtplib; s = smtplib.SMTP("127.0.0.1", $SMTP_PORT); s.sendmail("bob@localhost", ["alice@localhost"], "Subject: hi\n\nhello\n"); s.quit()'
  The mail command, through our sendmail, then reading alice's mailbox:
  echo hello | mail -E 'set sendmail=sendmail://$D/sendmail' -s test alice@localhost
  mail -f $D/spool/alice
EOF
fi
if [ -n "${have_pop3:-}" ]; then cat <<EOF

--- POP3 on 127.0.0.1:$POP3_PORT ---
  nc -C 127.0.0.1 $POP3_PORT
  USER alice
  PASS alice-pw
  LIST
  RETR 1
  QUIT
  curl -u alice:alice-pw pop3://127.0.0.1:$POP3_PORT/1
  python3 -c 'import poplib; p = poplib.POP3("127.0.0.1", $POP3_PORT); p.user("alice"); p.pass_("alice-pw"); print(p.stat()); p.quit()'
EOF
fi
if [ -n "${have_imap:-}" ]; then cat <<EOF

--- IMAP on 127.0.0.1:$IMAP_PORT ---
  nc -C 127.0.0.1 $IMAP_PORT
  a LOGIN alice alice-pw
  b SELECT INBOX
  c FETCH 1 (FLAGS BODY[])
  d LOGOUT
  curl -u alice:alice-pw 'imap://127.0.0.1:$IMAP_PORT/INBOX;MAILINDEX=1'
  python3 -c 'import imaplib; m = imaplib.IMAP4("127.0.0.1", $IMAP_PORT); m.login("alice", "alice-pw"); print(m.select("INBOX")); m.logout()'
EOF
fi
cat <<EOF

--- Thunderbird (manual configuration; connection security: None, normal password) ---
  incoming: IMAP 127.0.0.1 port $IMAP_PORT (or POP3 port $POP3_PORT), user name alice
  outgoing: SMTP 127.0.0.1 port $SMTP_PORT, no authentication; address alice@localhost

Watch: tail -f $D/log $D/xinetd.log
Trace: strace -f -e trace=read,write,openat,fcntl,link -p <xinetd pid below>
EOF

# xinetd ignores SIGINT: run it in the background, turn Ctrl-C into SIGTERM
rm -f "$D/xinetd.err"
"$XINETD" -dontfork -f "$D/xinetd.conf" -pidfile "$D/xinetd.pid" -filelog "$D/xinetd.err" </dev/null &
pid=$!
if [ -n "${DEMO_NO_WAIT:-}" ]; then
	echo "$pid"
	exit 0
fi
trap 'kill -TERM $pid 2>/dev/null' INT TERM HUP
sleep 1
if grep -q "failed to start" "$D/xinetd.err" 2>/dev/null; then
	grep "ERROR" "$D/xinetd.err" | tail -n 6
	echo "demo: a service did not start (port in use?  set SMTP_PORT, POP3_PORT, IMAP_PORT)"
fi
echo
echo "xinetd pid $pid running (its messages: $D/xinetd.err).  Ctrl-C to stop."
wait $pid
wait $pid 2>/dev/null
echo "demo: stopped; the mailboxes stay in $D/spool"
