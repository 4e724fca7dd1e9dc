#!/bin/sh
# Issue 17 item 5: facteur's mail.log lines in Postfix's shape (smtpd) and
# Dovecot's (pop3d, imapd), one line per event, read by fail2ban's stock
# postfix and dovecot filters (fail2ban-regex) as etc/fail2ban/jail-facteur.conf
# configures them: failed POP3/IMAP logins, failed SMTP AUTH, relay and
# unknown-user rejects are found with the client's address; successful
# logins are not; a user name crafted to look like another address does not
# move the ban to it.  The lines are checked in both shapes facteur writes:
# syslog's (as in /var/log/mail.log) and the log = FILE one.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
need_root "logins fork a privilege-separated child"
need_cmd fail2ban-regex
S=$FACTEUR_SRC
JAIL=$S/etc/fail2ban/jail-facteur.conf
tmpdir
facteur_env
conf_set login_trusted_networks 192.0.2.0/24
conf_set smtpd_sasl_auth_enable yes
BAD=192.0.2.5 GOOD=192.0.2.9
b64() { printf "$1" | base64 | tr -d '\n'; }
# run ADDR PROGRAM: a session piped into PROGRAM, as if from ADDR
run() { FACTEUR_TEST_PEER=$1 "$B/$2" -c "$FCONF" > "$T_TMP/out.$2" 2>&1; }

## the sessions
printf 'USER alice\r\nPASS wrong\r\nQUIT\r\n' | run $BAD pop3d
grep -q '^-ERR \[AUTH\]' "$T_TMP/out.pop3d"; ok $? "POP3: wrong password refused"
printf 'a1 LOGIN alice wrong\r\na2 LOGIN "x,10.9.9.9): unknown user" wrong\r\na3 LOGOUT\r\n' | run $BAD imapd
is "$(grep -c '^a[12] NO \[AUTHENTICATIONFAILED\]' "$T_TMP/out.imapd")" 2 "IMAP: two failed logins (one with a crafted name)"
printf 'EHLO x.test\r\nAUTH PLAIN %s\r\nAUTH LOGIN %s\r\n%s\r\nMAIL FROM:<s@x.test>\r\nRCPT TO:<u@remote.test>\r\nRCPT TO:<nobody@example.test>\r\nQUIT\r\n' \
	"$(b64 '\0alice\0wrong')" "$(b64 alice)" "$(b64 wrong2)" | run $BAD smtpd
is "$(grep -c '^535 ' "$T_TMP/out.smtpd")" 2 "SMTP: AUTH PLAIN and AUTH LOGIN with a wrong password: 535"
grep -q '^554 5.7.1 <u@remote.test>: Relay access denied' "$T_TMP/out.smtpd"; ok $? "SMTP: relaying refused"
grep -q '^550 5.1.1 <nobody@example.test>' "$T_TMP/out.smtpd"; ok $? "SMTP: unknown user refused"
# successes, from another address: never a match
printf 'USER alice\r\nPASS alice-pw\r\nQUIT\r\n' | run $GOOD pop3d
printf 'a1 LOGIN alice alice-pw\r\na2 LOGOUT\r\n' | run $GOOD imapd
printf 'EHLO y.test\r\nAUTH PLAIN %s\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nQUIT\r\n' \
	"$(b64 '\0alice\0alice-pw')" | run $GOOD smtpd
grep -q '^235 ' "$T_TMP/out.smtpd"; ok $? "SMTP AUTH from $GOOD succeeds"
sleep 0.5

## the lines themselves
L=$T_TMP/log
sed 's/^/# /' "$L" | grep -e "$BAD" -e "$GOOD" | grep -v 'connect from'
is "$(grep -c 'pop3d\[[0-9]*\]: passwd-file(alice,192.0.2.5,<[0-9A-F]*>): unknown user or password mismatch' "$L")" 1 \
	"POP3 failure: one line, Dovecot's auth shape passwd-file(user,rip,<session>)"
grep -q "imapd\[[0-9]*\]: passwd-file(x\\\\x2c10.9.9.9\\\\x29:\\\\x20unknown\\\\x20user,$BAD,<" "$L"
ok $? "a crafted user name is escaped (no comma, parenthesis or space left)"
grep -q "imapd\[[0-9]*\]: Login: user=<alice>, method=PLAIN, rip=$GOOD, lip=[^,]*, session=<[0-9A-F]*>" "$L"
ok $? "IMAP success: Dovecot's Login: user=<alice>, method=PLAIN, rip=..."
grep -q "smtpd\[[0-9]*\]: warning: unknown\[$BAD\]: SASL LOGIN authentication failed: authentication failure, sasl_username=alice, session=<" "$L"
ok $? "SMTP AUTH failure: Postfix's warning: unknown[ip]: SASL LOGIN authentication failed"
grep -q "smtpd\[[0-9]*\]: [0-9A-F]*: reject: RCPT from unknown\[$BAD\]: 554 5.7.1 <u@remote.test>: Relay access denied; from=<s@x.test> to=<u@remote.test> proto=ESMTP helo=<x.test>" "$L"
ok $? "relay refused: Postfix's reject: RCPT from unknown[ip]: 554 5.7.1 ... proto=ESMTP helo=<...>"
grep -q "smtpd\[[0-9]*\]: [0-9A-F]*: client=unknown\[$GOOD\], sasl_method=PLAIN, sasl_username=alice" "$L"
ok $? "SMTP AUTH success: Postfix's client=unknown[ip], sasl_method=PLAIN, sasl_username=alice"
# grep ID still pulls a whole session out: the failure carries the session id
id=$(sed -n "s/.*pop3d\[[0-9]*\]: \([0-9A-F]*\): connect from $BAD/\1/p" "$L" | head -n 1)
ok "$([ -n "$id" ] && grep "$id" "$L" | grep -q 'passwd-file(alice,'; echo $?)" \
	"grep of the POP3 session id ($id) finds its failure line"

## fail2ban-regex with the jails' filters
# mail.log as rsyslog writes it (RSYSLOG_TraditionalFileFormat): the
# syslog(3) line facteur sends is "ident[pid]: text", the same text as the file
sed -E 's/^[0-9]{4}-([0-9]{2})-([0-9]{2})T([0-9:]{8}) /Dec \2 \3 mailhost /' "$L" > "$T_TMP/mail.log"
filter() { sed -n "/^\[$1\]/,/^\[/s/^filter *= *//p" "$JAIL"; }
# f2b LOG FILTER NAME WANT: the addresses fail2ban finds, one per match
f2b() {
	fail2ban-regex --out ip "$1" "$2" > "$T_TMP/f2b.out" 2> "$T_TMP/f2b.err"
	n=$(grep -c . "$T_TMP/f2b.out")
	other=$(grep -v -x "$BAD" "$T_TMP/f2b.out" | sort -u | tr '\n' ' ')
	ok "$([ "$n" = "$4" ] && [ -z "$other" ]; echo $?)" "$3: $n matches (want $4), all $BAD${other:+; also: $other}"
	[ -s "$T_TMP/f2b.err" ] && sed 's/^/# f2b: /' "$T_TMP/f2b.err" | tail -n 3
}
fs=$(filter facteur-smtp)
fp=$(filter facteur-pop3-imap)
ok "$([ -n "$fs" ] && [ -n "$fp" ]; echo $?)" "jail-facteur.conf: filters read ($fs; $fp)"
for log in mail.log log; do
	f2b "$T_TMP/$log" "$fs" "$log, $fs: relay, unknown user, 2 SMTP AUTH" 4
	f2b "$T_TMP/$log" "$fp" "$log, $fp: POP3 and 2 IMAP failures" 3
done
# the filters are selective: the lines before this issue's shapes, and a
# success, do not match
{
	echo "Dec  4 10:00:00 mailhost pop3d[1]: 0A0A0A0A: login failed: user=alice rhost=$BAD: unknown user or wrong password (1/3)"
	echo "Dec  4 10:00:00 mailhost smtpd[1]: 0A0A0A0A: reject: RCPT <u@remote.test>: D"
} > "$T_TMP/old.log"
f2b "$T_TMP/old.log" "$fp" "old POP3 shape" 0
f2b "$T_TMP/old.log" "$fs" "old SMTP shape" 0
# and without the _daemon parameter the stock filters find nothing: the
# program names are facteur's own (why the jail names them)
f2b "$T_TMP/mail.log" dovecot "stock dovecot filter without _daemon" 0
done_testing
