#!/bin/sh
# End to end: smtpd under xinetd on 127.0.0.1 with real clients (swaks,
# python3 smtplib, curl), and mailutils `mail` through facteur's sendmail;
# each message checked in the recipient's mailbox.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
xinetd_need
smtp_env
P=$(free_port)
xinetd_start smtp="$P"
M=$T_TMP/spool
wait_for() { # wait_for FILE PATTERN
	i=0; while [ $i -lt 100 ]; do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; i=$((i+1)); done; return 1
}

if command -v swaks >/dev/null 2>&1; then
	swaks --server 127.0.0.1 --port "$P" --from bob@example.test --to alice@example.test \
		--header 'Subject: via swaks' --body 'swaks body' --pipeline > "$T_TMP/swaks.out" 2>&1
	ok $? "swaks (with PIPELINING) exits 0"
	wait_for "$M/alice" '^Subject: via swaks'
	ok $? "swaks message in alice's mailbox"
	grep -q '^swaks body' "$M/alice" && grep -Eq '^Received: from .* \(unknown \[127\.0\.0\.1\]\)' "$M/alice"
	ok $? "swaks body and Received with the peer address"
	swaks --server 127.0.0.1 --port "$P" --from bob@example.test --to nobody@example.test > "$T_TMP/swaks2.out" 2>&1
	grep -q '550 5.1.1' "$T_TMP/swaks2.out"
	ok $? "swaks to an unknown user: 550 5.1.1"
else
	skip "no swaks"; skip "no swaks"; skip "no swaks"; skip "no swaks"
fi

python3 - "$P" > "$T_TMP/py.out" 2>&1 <<'PY'
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "carol@example.test"; m["To"] = "bob@example.test"; m["Subject"] = "via smtplib"
m.set_content("caf\u00e9 cr\u00e8me\n", charset="utf-8", cte="8bit")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
    s.ehlo("py.example")
    assert s.has_extn("pipelining") and s.has_extn("chunking") and not s.has_extn("auth")
    s.send_message(m, mail_options=["BODY=8BITMIME"])
    code, _ = s.noop(); assert code == 250
print("sent")
PY
grep -q sent "$T_TMP/py.out"
ok $? "python3 smtplib sends (EHLO list checked)"
wait_for "$M/bob" '^Subject: via smtplib'
ok $? "smtplib message in bob's mailbox"
grep -q "$(printf 'caf\303\251 cr\303\250me')" "$M/bob"
ok $? "8-bit body intact"

if command -v curl >/dev/null 2>&1; then
	printf 'From: alice@example.test\r\nSubject: via curl\r\n\r\ncurl body\r\n' > "$T_TMP/curl.msg"
	curl -s --max-time 10 "smtp://127.0.0.1:$P" --mail-from alice@example.test --mail-rcpt carol@example.test \
		--upload-file "$T_TMP/curl.msg"
	ok $? "curl smtp:// exits 0"
	wait_for "$M/carol" '^Subject: via curl'
	ok $? "curl message in carol's mailbox"
else
	skip "no curl"; skip "no curl"
fi

if command -v mail >/dev/null 2>&1 && mail --version 2>/dev/null | grep -q Mailutils; then
	# mail passes its own arguments: a wrapper adds our -c
	printf '#!/bin/sh\nexec %s/sendmail -c %s "$@"\n' "$B" "$FCONF" > "$T_TMP/sm"
	chmod +x "$T_TMP/sm"
	echo 'mail body' | mail -E "set sendmail=sendmail:$T_TMP/sm" -s 'via mail' alice@example.test
	wait_for "$M/alice" '^Subject: via mail'
	ok $? "mailutils mail through facteur's sendmail"
	grep -q "from userid $(id -u)" "$M/alice"
	ok $? "Received names the uid"
else
	skip "no mailutils"; skip "no mailutils"
fi
# smtplib send_message with a non-ASCII address: it must pick SMTPUTF8 and
# BODY=8BITMIME from our EHLO on its own
python3 - "$P" > "$T_TMP/py8.out" 2>&1 <<'PY'
import smtplib, sys
from email.message import EmailMessage
from email.policy import SMTPUTF8
m = EmailMessage(policy=SMTPUTF8)
m["From"] = "d\u00e9d\u00e9@example.test"; m["To"] = "alice@example.test"; m["Subject"] = "utf8 \u00e9t\u00e9"
m.set_content("\u00e9t\u00e9\n")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
    s.set_debuglevel(1)
    s.ehlo("py8.example")
    assert s.has_extn("smtputf8") and s.has_extn("8bitmime")
    refused = s.send_message(m)
    assert not refused, refused
print("sent")
PY
grep -q sent "$T_TMP/py8.out" && grep -q 'SMTPUTF8' "$T_TMP/py8.out"
ok $? "python3 smtplib send_message with a UTF-8 sender uses SMTPUTF8"
wait_for "$M/alice" "^Subject: utf8 $(printf '\303\251t\303\251')"
ok $? "SMTPUTF8 message in alice's mailbox, UTF-8 header intact"
grep -q "^From $(printf 'd\303\251d\303\251')@example.test " "$M/alice" && grep -q 'with UTF8SMTP id' "$M/alice"
ok $? "UTF-8 envelope sender in the From_ line, Received says UTF8SMTP (RFC 6531)"

# curl with one refused recipient among good ones
if command -v curl >/dev/null 2>&1 && curl --help all 2>/dev/null | grep -q mail-rcpt-allowfails; then
	printf 'From: bob@example.test\r\nSubject: curl allowfails\r\n\r\nbody\r\n' > "$T_TMP/curl2.msg"
	curl -s --max-time 10 "smtp://127.0.0.1:$P" --mail-from bob@example.test --mail-rcpt nobody@example.test \
		--mail-rcpt bob@example.test --mail-rcpt-allowfails --upload-file "$T_TMP/curl2.msg"
	ok $? "curl --mail-rcpt-allowfails exits 0 with one unknown recipient"
	wait_for "$M/bob" '^Subject: curl allowfails'
	ok $? "curl message reached the good recipient"
	curl -s --max-time 10 "smtp://127.0.0.1:$P" --mail-from bob@example.test --mail-rcpt nobody@example.test \
		--upload-file "$T_TMP/curl2.msg"
	[ $? -ne 0 ]
	ok $? "curl without allowfails: the 550 fails the transfer"
else
	skip "no curl --mail-rcpt-allowfails"; skip "no curl"; skip "no curl"
fi
done_testing
