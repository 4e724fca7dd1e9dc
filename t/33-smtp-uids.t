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
strace -f -e trace=setresuid,setresgid,chroot -o "$T_TMP/st" "$B/smtpd" -c "$FCONF" < "$T_TMP/in" > "$T_TMP/out"
grep -q '^250 2.0.0 Ok: queued' "$T_TMP/out"
ok $? "message queued as root under the split"
nobody=$(id -u nobody)
grep -Eq "setresuid\\($nobody, $nobody, $nobody\\) += 0" "$T_TMP/st"
ok $? "the parsing child became nobody ($nobody)"
grep -Eq "chroot\\(\"$T_TMP/empty\"\\) += 0" "$T_TMP/st"
ok $? "the parsing child is chrooted to empty_directory"
wait_queue
ok $? "delivered"
ua=$(user_uid alice) ub=$(user_uid bob)
is "$(stat -c %u "$T_TMP/spool/alice")" "$ua" "alice's mailbox created by alice's uid ($ua)"
is "$(stat -c %u "$T_TMP/spool/bob")" "$ub" "bob's mailbox created by bob's uid ($ub)"
# the spool is root:mail 2775: a new mailbox is user:mail 0600, as Postfix local makes it
is "$(stat -c '%G %a' "$T_TMP/spool/alice")" "mail 600" "new mailbox: group mail, mode 0600"
is "$(stat -c '%U:%G %a' "$T_TMP/spool")" "root:mail 2775" "the spool is Debian's root:mail 2775"
grep -Eq "setresuid\\($ua, $ua, $ua\\) += 0" "$T_TMP/st" &&
	grep -q 'relay=local, status=sent' "$T_TMP/log"
ok $? "delivery ran as the recipient"
mg=$(getent group mail | cut -d: -f3)
grep -Eq "setresgid\\($ua, $ua, $mg\\) += 0" "$T_TMP/st"
ok $? "delivery keeps the mail group ($mg) as saved gid only"
is "$(stat -c %u "$T_TMP/queue/q")" 0 "the queue belongs to root"
# a user with uid 0 is refused: deferred, never delivered as root
echo "rootish:x:0:0::/root" >> "$T_TMP/passwd"
printf 'HELO c\nMAIL FROM:<bob@example.test>\nRCPT TO:<rootish@example.test>\nDATA\n\n.\nQUIT\n' | smtp_run > /dev/null
wait_log 'to=<rootish@example.test>, status=deferred'
ok $? "delivery to uid 0 refused (deferred)"
done_testing
