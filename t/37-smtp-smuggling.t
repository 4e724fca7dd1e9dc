#!/bin/sh
# SMTP smuggling (CVE-2023-51764 class): DATA ends only on <CR><LF>.<CR><LF>,
# or <LF>.<LF> for a client excluded from smtpd_forbid_bare_newline that has
# sent no CR at all (the lab's nc); Postfix's smtpd_forbid_bare_newline
# (normal, strict, no) and its _exclusions ($mynetworks by default).
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
[ -x "$B/smtpd" ] || { echo "Bail out! $B/smtpd not built"; exit 1; }
smtp_env
OUT=192.0.2.7     # not in mynetworks
queued() { grep -c 'queued as' "$1"; }
boxes() { cat "$T_TMP/spool/alice" "$T_TMP/spool/bob" 2>/dev/null; }
clean() { wait_queue; rm -f "$T_TMP/spool/alice" "$T_TMP/spool/bob"; }

# the smuggling payload: <LF>.<CR><LF> then a second transaction
smuggle() {
	printf 'EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n'
	printf "Subject: one\r\n\r\nbody\n$1"
	printf 'MAIL FROM:<forged@bank.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n'
	printf 'Subject: smuggled\r\n\r\nx\r\n.\r\nQUIT\r\n'
}
# 1-3: <LF>.<CR><LF> does not end DATA, from outside and from mynetworks
for peer in $OUT 127.0.0.1; do
	smuggle '.\r\n' | smtp_raw FACTEUR_TEST_PEER=$peer > "$T_TMP/r"
	is "$(queued "$T_TMP/r")" 1 "<LF>.<CR><LF> from $peer: one message, not two"
	clean
done
smuggle '.\r\n' | smtp_raw FACTEUR_TEST_PEER=$OUT > /dev/null; wait_queue
grep -q '^MAIL FROM:<forged@bank.example>' "$T_TMP/spool/alice" && [ ! -e "$T_TMP/spool/bob" ]
ok $? "the smuggled commands are content of the first message; bob got nothing"
clean
# 4-5: <CR><LF>.<LF> and <LF>.<LF> in a session with CRs do not end it either
smuggle '\r\n.\n' | smtp_raw FACTEUR_TEST_PEER=127.0.0.1 > "$T_TMP/r"
is "$(queued "$T_TMP/r")" 1 "<CR><LF>.<LF>: one message"
clean
smuggle '\n.\n' | smtp_raw FACTEUR_TEST_PEER=127.0.0.1 > "$T_TMP/r"
is "$(queued "$T_TMP/r")" 1 "<LF>.<LF> after CRs (mixed endings): one message"
clean

# the lab's nc dialogue: bare LF everywhere
lab() { printf 'HELO c\nMAIL FROM:<a@c.example>\nRCPT TO:<alice@example.test>\nDATA\nSubject: lab\n\nhi\n.\nQUIT\n'; }
# 6-8: works from mynetworks and from a local pipe; not from outside (normal)
lab | smtp_raw FACTEUR_TEST_PEER=127.0.0.1 > "$T_TMP/r"
is "$(queued "$T_TMP/r")" 1 "all-LF session from mynetworks: <LF>.<LF> ends DATA"
clean
lab | smtp_raw > "$T_TMP/r"
is "$(queued "$T_TMP/r")" 1 "all-LF local session: <LF>.<LF> ends DATA"
clean
lab | smtp_raw FACTEUR_TEST_PEER=$OUT > "$T_TMP/r"
is "$(queued "$T_TMP/r")" 0 "all-LF from outside (normal): only <CR><LF>.<CR><LF> ends DATA"
clean
# 9: normal keeps bare-LF lines as line ends inside a CRLF-ended message
printf 'EHLO c\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: m\n\nx\ny\r\n.\r\nQUIT\r\n' |
	smtp_raw FACTEUR_TEST_PEER=$OUT > "$T_TMP/r"
is "$(queued "$T_TMP/r")" 1 "normal: bare LF inside content accepted, CRLF.CRLF ends"
clean

# 10-13: strict
conf_set smtpd_forbid_bare_newline strict
printf 'EHLO c\nQUIT\r\n' | smtp_raw FACTEUR_TEST_PEER=$OUT > "$T_TMP/r"
grep -q '^521 5.5.2 .*bare <LF> received' "$T_TMP/r" && ! grep -q '^221' "$T_TMP/r"
ok $? "strict: a command with bare LF gets 521 and the session ends"
printf 'EHLO c\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: m\n\r\nx\r\n.\r\nQUIT\r\n' |
	smtp_raw FACTEUR_TEST_PEER=$OUT > "$T_TMP/r"
grep -q '^521 5.5.2' "$T_TMP/r" && [ "$(queued "$T_TMP/r")" = 0 ]
ok $? "strict: content with bare LF gets 521, nothing queued"
clean
lab | smtp_raw FACTEUR_TEST_PEER=127.0.0.1 > "$T_TMP/r"
is "$(queued "$T_TMP/r")" 1 "strict: mynetworks (the default exclusions) keeps the lab working"
clean
conf_set smtpd_forbid_bare_newline_exclusions 10.0.0.0/8
lab | smtp_raw FACTEUR_TEST_PEER=127.0.0.1 > "$T_TMP/r"
grep -q '^521' "$T_TMP/r"
ok $? "strict: exclusions replaced, mynetworks no longer excluded"
clean

# 14: no: an all-LF session from outside may end with <LF>.<LF>, still never mixed
conf_set smtpd_forbid_bare_newline no
lab | smtp_raw FACTEUR_TEST_PEER=$OUT > "$T_TMP/r"
smuggle '.\r\n' | smtp_raw FACTEUR_TEST_PEER=$OUT > "$T_TMP/r2"
[ "$(queued "$T_TMP/r")" = 1 ] && [ "$(queued "$T_TMP/r2")" = 1 ]
ok $? "no: all-LF ends with <LF>.<LF>; <LF>.<CR><LF> still does not"
clean

# 15: bad value
conf_set smtpd_forbid_bare_newline maybe
printf 'QUIT\r\n' | smtp_raw > "$T_TMP/r"
grep -q '^421' "$T_TMP/r"
ok $? "a bad smtpd_forbid_bare_newline value is a configuration error"
done_testing
