#!/bin/sh
# Outbound SMTP against a real peer (issue 12): a private Postfix instance
# (its own config, queue and port on 127.0.0.1; the system's Postfix is
# never touched) is facteur's relayhost and delivers pf.test to files;
# facteur (under a private xinetd) is the relayhost of that Postfix for
# every other domain.  Checks: facteur -> Postfix with two recipients, one
# unknown to Postfix (bounced by facteur with Postfix's 550), 8-bit body
# and DSN parameters accepted; Postfix -> facteur lands in the mailbox.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
[ -x "$B/smtpd" ] || { echo "Bail out! $B/smtpd not built"; exit 1; }
need_root "a private Postfix instance"
command -v postfix >/dev/null 2>&1 || [ -x /usr/sbin/postfix ] || skip_all "postfix not installed"
PATH=$PATH:/usr/sbin
smtp_env
xinetd_need
M=$T_TMP/spool

FP=$(free_port)
PP=$(free_port)
PF=$T_TMP/pf
mkdir -p "$PF/etc" "$PF/queue" "$PF/data" "$PF/mail"
chown postfix "$PF/data"; chmod 1777 "$PF/mail"
printf 'u0: %s/mail/u0\nu1: %s/mail/u1\n' "$PF" "$PF" > "$PF/etc/aliases"
cat > "$PF/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = smtp.pf.test
mydestination = pf.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps = hash:$PF/etc/aliases
alias_database = hash:$PF/etc/aliases
local_recipient_maps = \$alias_maps
allow_mail_to_files = alias
default_privs = nobody
relayhost = [127.0.0.1]:$FP
smtp_host_lookup = native
smtpd_recipient_restrictions = permit_mynetworks, reject
maillog_file_prefixes = $T_TMP
maillog_file = $PF/maillog
CF
sed -e "s/^smtp      inet/127.0.0.1:$PP inet/" -e 's/^\([a-z]*  *[a-z]*  *[-yn]  *[-yn]  *\)y /\1n /' \
	/etc/postfix/master.cf > "$PF/etc/master.cf"
grep -q '^postlog' "$PF/etc/master.cf" || printf 'postlog   unix-dgram n  -       n       -       1       postlogd\n' >> "$PF/etc/master.cf"
grep -q "^127.0.0.1:$PP " "$PF/etc/master.cf" || { echo "Bail out! cannot adapt master.cf"; exit 1; }
postalias -c "$PF/etc" "$PF/etc/aliases"
stop_pf() { postfix -c "$PF/etc" stop >/dev/null 2>&1; }
trap 'stop_pf; xinetd__kill; rm -rf "$T_TMP"' EXIT
postfix -c "$PF/etc" start > "$T_TMP/pf.err" 2>&1
st=$?
ok $st "a private Postfix instance starts on 127.0.0.1:$PP"
[ $st = 0 ] || { sed "s/^/# /" "$T_TMP/pf.err"; done_testing; exit 1; }
i=0; while ! "$PYTHON" -c "import socket; socket.create_connection(('127.0.0.1', $PP), 1)" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done

conf_set relayhost "[127.0.0.1]:$PP"
xinetd_start smtp="$FP"
waitfor() { i=0; while ! grep -q -- "$2" "$1" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; grep -q -- "$2" "$1" 2>/dev/null; }

# 1: facteur -> Postfix: two recipients, one unknown there; 8 bits; DSN
# (through facteur's smtpd under xinetd, as a client of the lab would)
"$PYTHON" - "$FP" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.ehlo("client.lab")
s.mail("alice@example.test", ["BODY=8BITMIME", "RET=HDRS", "ENVID=e1"])
s.rcpt("u0@pf.test", ["NOTIFY=FAILURE"])
s.rcpt("nobody-here@pf.test")
s.data("Subject: to postfix\r\nContent-Type: text/plain; charset=utf-8\r\n"
       "Content-Transfer-Encoding: 8bit\r\n\r\ncaf\u00e9\r\n".encode())
s.quit()
PY
waitfor "$T_TMP/log" 'to=<nobody-here@pf.test>.*status='
waitfor "$PF/mail/u0" 'Subject: to postfix'
ok $? "Postfix got the message"
grep -q "to=<u0@pf.test>, relay=127.0.0.1\[127.0.0.1\]:$PP, .*dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as" "$T_TMP/log"
ok $? "facteur logs Postfix's 250 with its queue id"
grep -q 'from client.lab (unknown \[127.0.0.1\])' "$PF/mail/u0" && grep -q 'by mail.example.test (facteur) with ESMTP' "$PF/mail/u0" &&
	grep -q 'by smtp.pf.test (Postfix)' "$PF/mail/u0"
ok $? "both Received lines"
grep -q 'café' "$PF/mail/u0"
ok $? "8-bit body intact"
grep -q 'to=<nobody-here@pf.test>.*dsn=5.1.1, status=bounced (host 127.0.0.1\[127.0.0.1\] said: 550 5.1.1 <nobody-here@pf.test>' "$T_TMP/log"
ok $? "Postfix's 550 for the unknown one: bounced"
waitfor "$M/alice" 'Final-Recipient: rfc822; nobody-here@pf.test'
ok $? "the DSN reaches the sender"
grep -q 'Remote-MTA: dns; 127.0.0.1' "$M/alice"
ok $? "naming Postfix as the remote MTA"
grep -q "$(grep -o 'queued as [0-9A-Za-z]*' "$T_TMP/log" | head -1 | cut -d' ' -f3): from=<alice@example.test>, size=[0-9]*, nrcpt=1" "$PF/maillog"
ok $? "Postfix logs one recipient from facteur's transaction"

# 2: Postfix -> facteur: Postfix's relayhost is our smtpd
"$PYTHON" - "$PP" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.sendmail("u1@pf.test", ["bob@example.test"], "From: u1@pf.test\r\nSubject: from postfix\r\n\r\nhello\r\n")
s.quit()
PY
ok $? "Postfix accepts mail for example.test"
waitfor "$M/bob" '^Subject: from postfix'
ok $? "Postfix relays it to facteur, which delivers it"
grep -q 'by smtp.pf.test (Postfix)' "$M/bob" && grep -q 'from smtp.pf.test (unknown \[127.0.0.1\])' "$M/bob"
ok $? "with Postfix's Received line and ours"
grep -q "to=<bob@example.test>, relay=127.0.0.1\[127.0.0.1\]:$FP, .*status=sent" "$PF/maillog"
ok $? "Postfix logs status=sent to facteur"

done_testing
