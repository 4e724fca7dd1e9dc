#!/bin/sh
# smtpd against the RFCs' corner cases: RFC 5321 grammar (case, quoted
# local parts, address literals, source routes), ESMTP parameters and
# xtext (RFC 1870, 3461, 6152), 502 for known-but-absent commands, BDAT
# edges (RFC 3030), timeouts inside a body, QUIT inside a pipeline, the
# Received header for IPv4/IPv6/HELO/EHLO peers (RFC 3848 "with").
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
[ -x "$B/smtpd" ] || { echo "Bail out! $B/smtpd not built"; exit 1; }
smtp_env
printf 'ghostly: nosuchuser\n' >> "$T_TMP/aliases"
ids() { sed -E 's/queued as [0-9A-F]+/queued as ID/'; }
clean() { rm -f "$T_TMP"/spool/*; }

# case-insensitive verbs, keywords and parameter names; spaces after the colon
got=$(printf 'ehlo c\nmail from: <bob@example.test> size=10 body=8bitmime\nRcpt To:<ALICE@example.test> notify=success,failure\nrset\nmail FROM:<>\nQuit\n' | smtp_run | tail -n +12)
is "$got" "250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 Ok
250 2.1.0 Ok
221 2.0.0 Bye" "verbs, FROM:/TO: and parameters in any case; MAIL FROM:<>"

# ESMTP parameters: only what EHLO offers; xtext checked
got=$(printf 'EHLO c
MAIL FROM:<a@example.test> BODY=BINARYMIME
MAIL FROM:<a@example.test> BODY=8BITMIME BODY=7BIT
MAIL FROM:<a@example.test> SIZE=x
MAIL FROM:<a@example.test> SIZE=99999999999999999999999
MAIL FROM:<a@example.test> RET=ALL
MAIL FROM:<a@example.test> ENVID=a+zz
MAIL FROM:<a@example.test> ENVID=a+2b
MAIL FROM:<a@example.test> ENVID=a+0A
MAIL FROM:<a@example.test> ENVID=a=b
MAIL FROM:<a@example.test> AUTH=<>
MAIL FROM:<a@example.test> ENVID=<id+2B1@x> RET=HDRS SIZE=0
RCPT TO:<alice@example.test> NOTIFY=NEVER,DELAY
RCPT TO:<alice@example.test> NOTIFY=SOMETIMES
RCPT TO:<alice@example.test> ORCPT=alice@example.test
RCPT TO:<alice@example.test> ORCPT=rfc822;a+4
RCPT TO:<alice@example.test> ORCPT=rf<c;alice@example.test
RCPT TO:<alice@example.test> XFOO=1
RCPT TO:<alice@example.test> ORCPT=rfc822;<al+20ice@example.test> NOTIFY=NEVER
QUIT
' | smtp_run | tail -n +12)
is "$got" "555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
250 2.1.0 Ok
555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
555 5.5.4 Unsupported option or bad parameter value
250 2.1.5 Ok
221 2.0.0 Bye" "unknown or unoffered parameters, bad values, bad xtext: 555 5.5.4; '<' '>' in xtext fine"

# ENVID and ORCPT reach a bounce decoded (RFC 3461 4.2, 4.4)
got=$(printf 'EHLO c\nMAIL FROM:<bob@example.test> ENVID=<e+2B1@x> RET=HDRS\nRCPT TO:<ghostly@example.test> ORCPT=rfc822;<G+20h@example.test>\nDATA\nSubject: to bounce\n\nx\n.\nQUIT\n' | smtp_run | ids | tail -2)
is "$got" "250 2.0.0 Ok: queued as ID
221 2.0.0 Bye" "message for an alias of nobody accepted"
wait_queue
grep -q '^Original-Envelope-Id: <e+1@x>$' "$T_TMP/spool/bob" && grep -q '^Original-Recipient: rfc822;<G h@example.test>$' "$T_TMP/spool/bob"
ok $? "bounce carries ENVID and ORCPT xtext-decoded"
clean

# quoted local parts (RFC 5321 4.1.2): syntax, not an error; "alice" = alice
got=$(printf 'EHLO c\nMAIL FROM:<"x y"@example.test>\nRCPT TO:<"alice"@example.test>\nRCPT TO:<"b\\ob"@example.test>\nRCPT TO:<"al ice"@example.test>\nRCPT TO:<"al\\"ice"@example.test>\nRCPT TO:<"alice@example.test>\nRCPT TO:<"al"ice@example.test>\nRCPT TO:<"al\tice"@example.test>\nDATA\nSubject: quoted\n\n.\nQUIT\n' | smtp_run | ids | tail -n +12)
is "$got" "250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
550 5.1.1 <\"al ice\"@example.test>: Recipient address rejected: User unknown in local recipient table
550 5.1.1 <\"al\\\"ice\"@example.test>: Recipient address rejected: User unknown in local recipient table
501 5.1.3 Bad recipient address syntax
501 5.1.3 Bad recipient address syntax
501 5.1.3 Bad recipient address syntax
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID
221 2.0.0 Bye" "quoted local parts: accepted, unquoted when the quotes are not needed, bad quoting 501"
wait_queue
grep -q '^Delivered-To: alice@example.test$' "$T_TMP/spool/alice" && grep -q '^Delivered-To: bob@example.test$' "$T_TMP/spool/bob" &&
	grep -q '^Return-Path: <"x y"@example.test>$' "$T_TMP/spool/alice" && grep -q '^From MAILER-DAEMON ' "$T_TMP/spool/alice"
ok $? "quoted recipients delivered; quoted sender in Return-Path, From_ line stays parseable"
clean

# address literals (4.1.3) and source routes (4.1.2, C.2: accepted, ignored)
got=$(printf 'EHLO c\nMAIL FROM:<@relay.example:bob@[192.0.2.7]>\nRCPT TO:<alice@[127.0.0.1]>\nRCPT TO:<bob@[IPv6:::1]>\nRCPT TO:<@a.example,@b.example:carol@example.test>\nRCPT TO:<alice@[192.0.2.99]>\nRCPT TO:<alice@[x-tag:abc]>\nRCPT TO:<alice@[999.1.1.1]>\nRCPT TO:<alice@[IPv6:zz::]>\nRCPT TO:<alice@[]>\nRCPT TO:<alice@[1.2.3.4>\nRCPT TO:<@a.example>\nDATA\nSubject: literal\n\n.\nQUIT\n' | smtp_run FACTEUR_TEST_PEER=192.0.2.7 | ids | tail -n +12)
is "$got" "250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
554 5.7.1 <alice@[192.0.2.99]>: Relay access denied
554 5.7.1 <alice@[x-tag:abc]>: Relay access denied
501 5.1.3 Bad recipient address syntax
501 5.1.3 Bad recipient address syntax
501 5.1.3 Bad recipient address syntax
501 5.1.3 Bad recipient address syntax
501 5.1.3 Bad recipient address syntax
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID
221 2.0.0 Bye" "loopback literals are local, others relay, bad literals 501; source routes dropped"
wait_queue
grep -q '^Delivered-To: alice@\[127.0.0.1\]$' "$T_TMP/spool/alice" && grep -q '^Delivered-To: bob@\[IPv6:::1\]$' "$T_TMP/spool/bob" &&
	grep -q '^Delivered-To: carol@example.test$' "$T_TMP/spool/carol" && grep -q '^Return-Path: <bob@\[192.0.2.7\]>$' "$T_TMP/spool/carol"
ok $? "literal and source-routed recipients delivered; route dropped from the sender"
clean

# commands RFC 5321 knows but facteur does not offer: 502, not 500
got=$(printf 'EXPN team\nTURN\nSEND FROM:<a@b>\nSOML FROM:<a@b>\nSAML FROM:<a@b>\nXYZZY\nHELP MAIL\nNOOP any thing\nVRFY <alice@example.test>\nQUIT\n' | smtp_run | tail -n +2)
is "$got" "502 5.5.1 Error: command not implemented
502 5.5.1 Error: command not implemented
502 5.5.1 Error: command not implemented
502 5.5.1 Error: command not implemented
502 5.5.1 Error: command not implemented
500 5.5.2 Error: command not recognized
214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY ETRN HELP QUIT
250 2.0.0 Ok
252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery
221 2.0.0 Bye" "EXPN TURN SEND SOML SAML 502 5.5.1; HELP NOOP VRFY take arguments"

# HELO/EHLO in a transaction resets it (4.1.4); RSET in every state
got=$(printf 'EHLO c\nMAIL FROM:<a@example.test>\nEHLO d\nRCPT TO:<alice@example.test>\nMAIL FROM:<a@example.test>\nRCPT TO:<alice@example.test>\nHELO e\nDATA\nRSET\nRSET\nQUIT\n' | smtp_run | grep -E '^[0-9]{3} [0-9]\.')
is "$got" "250 2.1.0 Ok
503 5.5.1 Error: need MAIL command
250 2.1.0 Ok
250 2.1.5 Ok
503 5.5.1 Error: need RCPT command
250 2.0.0 Ok
250 2.0.0 Ok
221 2.0.0 Bye" "EHLO/HELO drop the open transaction"

# BDAT edges (RFC 3030)
printf 'EHLO c\r\nMAIL FROM:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\nBDAT x\r\nBDAT -1\r\nBDAT 1 FIRST\r\nBDAT\r\nBDAT 0 LAST\r\nMAIL FROM:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\nBDAT 24 LAST\r\nSubject: no newline\r\n\r\nzDATA\r\nQUIT\r\n' > "$T_TMP/bdat.in"
got=$(smtp_raw < "$T_TMP/bdat.in" | ids | tail -n +12)
is "$got" "250 2.1.0 Ok
250 2.1.5 Ok
501 5.5.4 Syntax: BDAT count [LAST]
501 5.5.4 Syntax: BDAT count [LAST]
501 5.5.4 Syntax: BDAT count [LAST]
501 5.5.4 Syntax: BDAT count [LAST]
250 2.0.0 Ok: queued as ID
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 Ok: queued as ID
503 5.5.1 Error: need RCPT command
221 2.0.0 Bye" "BDAT bad sizes 501; BDAT 0 LAST alone is an empty message; DATA after the transaction 503"
wait_queue
is "$(grep -c '^From bob@example.test ' "$T_TMP/spool/alice")" 2 "both BDAT messages delivered"
grep -qx z "$T_TMP/spool/alice" && [ "$(tail -c 2 "$T_TMP/spool/alice" | od -An -c | tr -d ' ')" = '\n\n' ]
ok $? "a last chunk without final newline is ended with one in the mailbox"
clean

# DATA: '..' unstuffed, a 200000-byte line kept whole, bare CR is data
long=$(head -c 200000 /dev/zero | tr '\0' y)
printf 'EHLO c\r\nMAIL FROM:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: long\r\n\r\n..\r\n...x\r\n%s\r\nbare\rcr\r\n.\r\nQUIT\r\n' "$long" > "$T_TMP/long.in"
got=$(smtp_raw < "$T_TMP/long.in" | ids | tail -2)
is "$got" "250 2.0.0 Ok: queued as ID
221 2.0.0 Bye" "long body line accepted"
wait_queue
printf '.\n..x\n%s\nbare\rcr\n\n' "$long" > "$T_TMP/long.want"
sed -n '/^Subject: long/,$p' "$T_TMP/spool/alice" | tail -n +3 > "$T_TMP/long.got"
same_file "$T_TMP/long.got" "$T_TMP/long.want" "dot-unstuffing, long line intact, bare CR kept"
clean

# QUIT inside a pipeline: everything before it is done, nothing after
got=$(printf 'EHLO c\nMAIL FROM:<bob@example.test>\nRCPT TO:<alice@example.test>\nDATA\nSubject: before quit\n\n.\nQUIT\nMAIL FROM:<bob@example.test>\nRCPT TO:<carol@example.test>\nDATA\nSubject: after quit\n\n.\n' | smtp_run | ids | tail -2)
is "$got" "250 2.0.0 Ok: queued as ID
221 2.0.0 Bye" "QUIT ends the pipeline: no reply after 221"
wait_queue
test -s "$T_TMP/spool/alice" && test ! -e "$T_TMP/spool/carol"
ok $? "the message before QUIT delivered, the one after ignored"
clean

# idle timeout at command level and inside DATA and BDAT: 421 4.4.2, nothing queued
conf_set smtpd_timeout 1
got=$( (printf 'EHLO c\r\n'; sleep 2; printf 'NOOP\r\n') | "$B/smtpd" -c "$FCONF" | nocr | tail -1)
is "$got" "421 4.4.2 mail.example.test Error: timeout exceeded" "idle timeout: 421 4.4.2"
got=$( (printf 'EHLO c\r\nMAIL FROM:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: stalled\r\n'; sleep 3; printf '.\r\n') | "$B/smtpd" -c "$FCONF" | nocr | tail -1)
is "$got" "421 4.4.2 mail.example.test Error: timeout exceeded" "stalled DATA: 421 4.4.2"
got=$( (printf 'EHLO c\r\nMAIL FROM:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\nBDAT 100 LAST\r\nSubject: stalled\r\n'; sleep 2; printf 'x\r\n') | "$B/smtpd" -c "$FCONF" | nocr | tail -1)
is "$got" "421 4.4.2 mail.example.test Error: timeout exceeded" "stalled BDAT: 421 4.4.2"
sleep 0.3
is "$(find "$T_TMP/queue" -type f ! -name "*.lock" ! -name "*.request" | wc -l)" 0 "stalled bodies leave no queue file"
conf_set smtpd_timeout 300

# the Received header (Postfix's form; RFC 3848 protocol names)
printf 'EHLO c.example\nMAIL FROM:<bob@example.test>\nRCPT TO:<alice@example.test>\nDATA\nSubject: v6\n\n.\nQUIT\n' | smtp_run FACTEUR_TEST_PEER=::1 > /dev/null
printf 'HELO h.example\nMAIL FROM:<bob@example.test>\nRCPT TO:<bob@example.test>\nRCPT TO:<carol@example.test>\nDATA\nSubject: v4\n\n.\nQUIT\n' | smtp_run FACTEUR_TEST_PEER=192.0.2.7 > /dev/null
wait_queue
got=$(sed -n '/^Received:/,/^Subject/p' "$T_TMP/spool/alice" | mbox_filter)
is "$got" "Received: from c.example (unknown [IPv6:::1])
	by mail.example.test (facteur) with ESMTP id ID
	for <alice@example.test>; DATE
Subject: v6" "Received: IPv6 peer as [IPv6:...], EHLO gives ESMTP, one recipient gives 'for'"
got=$(sed -n '/^Received:/,/^Subject/p' "$T_TMP/spool/bob" | mbox_filter)
is "$got" "Received: from h.example (unknown [192.0.2.7])
	by mail.example.test (facteur) with SMTP id ID; DATE
Subject: v4" "Received: HELO gives SMTP, two recipients no 'for'"
clean
# a real client over a pipe: swaks (PIPELINING, --quit-after, bare LF data)
if command -v swaks >/dev/null 2>&1; then
	P="$B/smtpd -c $FCONF"
	swaks --pipe "$P" --timeout 10 --pipeline --from bob@example.test \
		--to alice@example.test,nobody@example.test,carol@example.test \
		--header 'Subject: swaks pipe' --body "$(printf 'caf\303\251')" > "$T_TMP/sw1.out" 2>&1
	ok $? "swaks --pipe --pipeline: sent despite one refused recipient"
	grep -q '^<\*\* *550 5.1.1 <nobody@example.test>' "$T_TMP/sw1.out" && grep -q '^<- *250 2.0.0 Ok: queued as' "$T_TMP/sw1.out"
	ok $? "swaks saw the 550 for the unknown user and the queue id"
	swaks --pipe "$P" --timeout 10 --from bob@example.test --to bob@example.test --quit-after RCPT > "$T_TMP/sw2.out" 2>&1
	ok $? "swaks --quit-after RCPT"
	# bare-LF lines are content; after CRLF commands only CRLF.CRLF ends it
	printf 'Subject: bare lf\nX: y\n\nline1\n..dot\nline3\r\n.\r\n' > "$T_TMP/lf.msg"
	swaks --pipe "$P" --timeout 10 --from bob@example.test --to carol@example.test --data "$T_TMP/lf.msg" \
		--no-data-fixup > "$T_TMP/sw3.out" 2>&1
	grep -q '^<- *250 2.0.0 Ok: queued as' "$T_TMP/sw3.out"
	ok $? "swaks --no-data-fixup: a bare-LF body up to a CRLF dot is accepted"
	wait_queue
	grep -q '^Subject: swaks pipe' "$T_TMP/spool/alice" && grep -q "^$(printf 'caf\303\251')" "$T_TMP/spool/alice"
	ok $? "pipelined swaks message with an 8-bit body delivered"
	test ! -e "$T_TMP/spool/bob"
	ok $? "--quit-after RCPT: nothing delivered"
	printf 'Subject: bare lf\nX: y\n\nline1\n.dot\nline3\n\n' > "$T_TMP/lf.want"
	sed -n '/^Subject: bare lf/,$p' "$T_TMP/spool/carol" > "$T_TMP/lf.got"
	same_file "$T_TMP/lf.got" "$T_TMP/lf.want" "bare-LF body stored with LF, dot-unstuffed"
	clean
else
	for i in 1 2 3 4 5 6 7; do skip "no swaks"; done
fi
done_testing
