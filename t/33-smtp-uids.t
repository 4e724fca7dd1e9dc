#!/bin/sh
# Privilege split (root only): the child that parses SMTP runs as
# default_privs (nobody), each delivery as its recipient.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
need_root "setuid to default_privs and to recipients"
need_cmd strace
smtp_env
# the session's uid as seen by the child: strace the setres* calls
printf 'EHLO c\nMAIL FROM:<bob@example.test>\nRCPT TO:<alice@example.test>\nRCPT TO:<bob@example.test>\nDATA\nSubject: uids\n\n.\nQUIT\n' | crlf > "$T_TMP/in"
strace -f -e trace=setresuid,chroot -o "$T_TMP/st" "$B/smtpd" -c "$FCONF" < "$T_TMP/in" > "$T_TMP/out"
grep -q '^250 2.0.0 Ok: queued' "$T_TMP/out"
ok $? "message queued as root under the split"
nobody=$(id -u nobody)
grep -Eq "setresuid\\($nobody, $nobody, $nobody\\) += 0" "$T_TMP/st"
ok $? "the parsing child became nobody ($nobody)"
grep -Eq "chroot\\(\"$T_TMP/empty\"\\) += 0" "$T_TMP/st"
ok $? "the parsing child is chrooted to empty_directory"
wait_queue
ok $? "delivered"
is "$(stat -c %u "$T_TMP/spool/alice")" 64001 "alice's mailbox created by alice's uid"
is "$(stat -c %u "$T_TMP/spool/bob")" 64002 "bob's mailbox created by bob's uid"
grep -Eq "setresuid\\(64001, 64001, 64001\\) += 0" "$T_TMP/st" &&
	grep -q 'relay=local, status=sent' "$T_TMP/log"
ok $? "delivery ran as the recipient"
is "$(stat -c %u "$T_TMP/queue/q")" 0 "the queue belongs to root"
# a user with uid 0 is refused: deferred, never delivered as root
echo "rootish:x:0:0::/root" >> "$T_TMP/passwd"
printf 'HELO c\nMAIL FROM:<bob@example.test>\nRCPT TO:<rootish@example.test>\nDATA\n\n.\nQUIT\n' | smtp_run > /dev/null
wait_log 'to=<rootish@example.test>, status=deferred'
ok $? "delivery to uid 0 refused (deferred)"
done_testing
