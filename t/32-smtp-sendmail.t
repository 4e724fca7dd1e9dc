#!/bin/sh
# smtp/sendmail: the injector of mail, mutt, cron and scripts.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
[ -x "$B/sendmail" ] || { echo "Bail out! $B/sendmail not built"; exit 1; }
smtp_env
M=$T_TMP/spool
SM="$B/sendmail -c $FCONF"
me=$(id -un)

printf 'Subject: plain\n\nbody\n.\nafter the dot\n' | $SM alice
ok $? "sendmail alice: exit 0"
wait_queue
grep -q '^Subject: plain' "$M/alice" && ! grep -q '^after the dot' "$M/alice"
ok $? "without -i a lone dot ends the message"
grep -q "^From: .*$me@mail.example.test" "$M/alice" && grep -q '^Date: ' "$M/alice" &&
	grep -Eq '^Message-ID: <[0-9]{14}\.[0-9A-F]+@mail.example.test>' "$M/alice"
ok $? "From:, Date:, Message-ID: added when absent"
grep -Eq "^Received: by mail.example.test \\(facteur, from userid $(id -u)\\)" "$M/alice"
ok $? "Received names the invoking uid"
grep -q "^Return-Path: <$me@mail.example.test>" "$M/alice"
ok $? "envelope sender is the invoking user"
rm -f "$M"/*

printf 'From: Me <me@example.test>\nTo: alice@example.test, "Bob B" <bob@example.test>\nCc: (comment) carol\nBcc: team@example.test\nSubject: -t\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n\n.\nkept\n' | $SM -t -oi -f me@example.test -F 'Ignored Name'
ok $? "sendmail -t -oi -f: exit 0"
wait_queue
for u in alice bob carol; do grep -q '^Subject: -t' "$M/$u" || echo "missing $u"; done > "$T_TMP/miss"
is "$(cat "$T_TMP/miss")" "" "-t: To, Cc and Bcc recipients all got it"
is "$(grep -c '^Subject: -t' "$M/alice")" 1 "alice once though named twice (To and Bcc alias)"
! grep -q '^Bcc' "$M/bob" && grep -q '^kept' "$M/bob" && grep -q '^Return-Path: <me@example.test>' "$M/bob"
ok $? "Bcc removed, -oi keeps the dot line, -f sets the sender"
is "$(grep -c '^Message-ID' "$M/bob")" 1 "existing Message-ID kept, none added"
rm -f "$M"/*

printf 'x\n' | $SM nosuchuser 2>"$T_TMP/err"
is $? 67 "unknown user: EX_NOUSER"
grep -q 'nosuchuser@mail.example.test: unknown user' "$T_TMP/err"
ok $? "unknown user: clear message"
printf 'x\n' | $SM 2>/dev/null
is $? 64 "no recipients: EX_USAGE"
$SM -Z 2>/dev/null </dev/null
is $? 64 "unknown option: EX_USAGE"
printf 'x\n' | $SM 'al ice@example.test' 2>/dev/null
is $? 65 "bad address: EX_DATAERR"
is "$(find "$T_TMP/queue/q" "$T_TMP/queue/tmp" -type f | wc -l)" 0 "nothing queued on errors"

got=$(printf 'EHLO me\r\nMAIL FROM:<bob@example.test>\r\nRCPT TO:<carol@example.test>\r\nDATA\r\nSubject: bs\r\n\r\n.\r\nQUIT\r\n' | $SM -bs | nocr | tail -2 | sed -E 's/as [0-9A-F]+/as ID/')
is "$got" "250 2.0.0 Ok: queued as ID
221 2.0.0 Bye" "-bs speaks SMTP on stdin/stdout"
wait_queue
grep -q "from userid $(id -u)" "$M/carol"
ok $? "-bs: Received names the uid"

ln -sf "$B/sendmail" "$T_TMP/mailq"
is "$("$T_TMP/mailq" -c "$FCONF")" "Mail queue is empty" "mailq by name: empty queue"

# a user who cannot write the queue goes through maildrop/ (root only)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	"$B/sendmail" -c "$FCONF" -bp > /dev/null   # root creates maildrop/ 1733
	is "$(stat -c %a "$T_TMP/queue/maildrop")" 1733 "maildrop is 1733"
	printf 'Subject: dropped\n\nhi\n' | setpriv --reuid=65534 --regid=65534 --clear-groups "$B/sendmail" -c "$FCONF" bob
	ok $? "nobody can submit"
	is "$(ls "$T_TMP/queue/maildrop" | wc -l)" 1 "the message waits in maildrop"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$B/sendmail" -c "$FCONF" -q 2>/dev/null
	is $? 77 "a user may not run the queue (EX_NOPERM)"
	$SM -q
	wait_queue
	grep -q '^Subject: dropped' "$M/bob" && grep -q 'from userid 65534' "$M/bob"
	ok $? "sendmail -q picks it up; Received names uid 65534"
	is "$(ls "$T_TMP/queue/maildrop" | wc -l)" 0 "maildrop emptied"
else
	skip "maildrop needs root and setpriv"
fi
done_testing
