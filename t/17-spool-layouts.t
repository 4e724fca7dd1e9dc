#!/bin/sh
# The spool layouts in use, each set up explicitly (as root; users with uids
# of their own): Debian's root:mail 2775 (the default of t/lib/env.sh), a
# 1777 spool without any mail group, and a 2775 spool whose mailboxes the
# admin made 0660 user:mail.  On each: SMTP delivery creates a missing
# mailbox as Postfix local(8) does (user, the spool's group, 0600), POP3
# and IMAP read, delete and expunge, no lock file is left behind, and a
# user without a mailbox sees an empty INBOX that is not created.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
need_root "mailboxes owned by several uids"
for p in smtpd pop3d imapd t/bin/mboxtool; do [ -x "$B/$p" ] || skip_all "$p not built"; done
smtp_env
ugid() { stat -c '%u:%g %a' "$1" 2>/dev/null; }
mailgid=$(getent group mail | cut -d: -f3)
ua=$(user_uid alice) ga=$(user_gid alice)

send() { # send RCPT SUBJECT [deferred]: one message through a piped smtpd,
	# then a bounded wait until it is delivered (or deferred, and then taken
	# out of the queue so that the next wait is not for it)
	sd_n=$(grep -c "to=<$1@example.test>, status=deferred" "$T_TMP/log" 2>/dev/null)
	printf 'HELO c\nMAIL FROM:<x@example.test>\nRCPT TO:<%s@example.test>\nDATA\nSubject: %s\n\nhello %s\n.\nQUIT\n' \
		"$1" "$2" "$1" | smtp_run > /dev/null
	if [ "${3:-}" = deferred ]; then
		sd_i=0
		while [ "$(grep -c "to=<$1@example.test>, status=deferred" "$T_TMP/log")" = "$sd_n" ] &&
		      [ $sd_i -lt 200 ]; do
			sleep 0.1; sd_i=$((sd_i + 1))
		done
		[ "${4:-}" = keep ] || rm -f "$T_TMP/queue/q/"*
	else
		wait_queue
	fi
}
pop3() { crlf | "$B/pop3d" -c "$FCONF" | nocr; }
imap() { crlf | "$B/imapd" -c "$FCONF" | nocr; }
no_locks() { # no dotlock, no link temporary left in the spool
	[ -z "$(ls -A "$SPOOL" | grep -E '\.lock$|^\.lk\.')" ]
}

layout() { # layout NAME GROUP-OF-NEW-MAILBOX: the whole round on one spool
	name=$1 grp=$2
	rm -f "$SPOOL"/* "$SPOOL"/.lk.* 2>/dev/null
	send alice "$name one"
	is "$(ugid "$SPOOL/alice")" "$ua:$grp 600" "$name: a new mailbox is alice's, group $grp, mode 600"
	grep -q "^Subject: $name one" "$SPOOL/alice"; ok $? "$name: delivered"
	send alice "$name two"
	is "$(grep -c '^From ' "$SPOOL/alice")" 2 "$name: second delivery appended"
	out=$(printf 'USER alice\nPASS alice-pw\nSTAT\nRETR 1\nDELE 1\nQUIT\n' | pop3)
	case $out in *"+OK 2 "*"hello alice"*"+OK Logging out."*) r=0 ;; *) r=1; diag "$out" ;; esac
	ok $r "$name: POP3 login, STAT, RETR, DELE, QUIT"
	is "$(grep -c '^hello alice' "$SPOOL/alice")" 1 "$name: POP3 deleted one message"
	out=$(printf 'a LOGIN alice alice-pw\nb SELECT INBOX\nc STORE 1 +FLAGS (\\Deleted)\nd EXPUNGE\ne LOGOUT\n' | imap)
	case $out in *"* 1 EXISTS"*"d OK"*) r=0 ;; *) r=1; diag "$out" ;; esac
	ok $r "$name: IMAP SELECT, STORE, EXPUNGE"
	is "$(grep -c '^hello alice' "$SPOOL/alice")" 0 "$name: IMAP expunged the last message"
	is "$(ugid "$SPOOL/alice")" "$ua:$grp 600" "$name: owner, group and mode kept by the rewrites"
	no_locks; ok $? "$name: no lock file left in the spool"
	# bob has no mailbox: empty for POP3 and IMAP, and still none after
	out=$(printf 'USER bob\nPASS bob-pw\nSTAT\nQUIT\n' | pop3)
	case $out in *"+OK 0 0"*) r=0 ;; *) r=1; diag "$out" ;; esac
	ok $r "$name: POP3 without a mailbox: +OK 0 0"
	out=$(printf 'a LOGIN bob bob-pw\nb SELECT INBOX\nc LOGOUT\n' | imap)
	case $out in *"* 0 EXISTS"*"b OK"*) r=0 ;; *) r=1; diag "$out" ;; esac
	ok $r "$name: IMAP SELECT INBOX without a mailbox: empty, OK"
	[ ! -e "$SPOOL/bob" ]; ok $? "$name: ... and neither created the mailbox"
}

# 1. Debian: root:mail 2775, mail_privileged_group = mail (the default)
spool_layout debian
layout debian "$mailgid"

# 2. 1777 (other systems, old Debian): no mail group configured or needed;
# a new mailbox takes the user's own group
spool_layout 1777
conf_set mail_privileged_group ""
layout 1777 "$ga"
conf_set mail_privileged_group mail

# 3. 2775 with mailboxes the admin made 0660 user:mail: the mode is kept
spool_layout debian
rm -f "$SPOOL"/*
: | mkbox alice 660
send alice "m660 one"
is "$(ugid "$SPOOL/alice")" "$ua:$mailgid 660" "0660: delivery keeps the admin's mode"
out=$(printf 'USER alice\nPASS alice-pw\nDELE 1\nQUIT\n' | pop3)
case $out in *"+OK Logging out."*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "0660: POP3 DELE and QUIT"
is "$(ugid "$SPOOL/alice")" "$ua:$mailgid 660" "0660: the POP3 rewrite keeps it"
no_locks; ok $? "0660: no lock file left"

# 4. the control: a 2775 spool without the mail group cannot work, and the
# admin is told why (the bug of a fresh Debian host before this layout)
rm -f "$SPOOL"/*
conf_set mail_privileged_group ""
send carol "no group" deferred keep
[ ! -e "$SPOOL/carol" ]; ok $? "2775 without mail_privileged_group: nothing delivered"
grep -q "status=deferred" "$T_TMP/log" &&
	grep -q "cannot create or lock mailbox $SPOOL/carol: Permission denied: the spool $SPOOL must be root:mail 2775" "$T_TMP/log"
ok $? "... deferred, and one log line names the spool and what it must be"
conf_set mail_privileged_group mail
"$B/sendmail" -c "$FCONF" -q
is "$(ugid "$SPOOL/carol" | cut -d' ' -f2)" 600 "with the group back, sendmail -q delivers it"

# 5. an unknown mail_privileged_group: refused with a log line, not a crash
conf_set mail_privileged_group fct-no-such-group
out=$(printf 'USER alice\nPASS alice-pw\nQUIT\n' | pop3)
case $out in *"Logged in"*) r=1 ;; *) r=0 ;; esac
ok $r "unknown mail_privileged_group: no POP3 session"
grep -q "mail_privileged_group fct-no-such-group: no such group" "$T_TMP/log"; ok $? "... and the log says why"
conf_set mail_privileged_group mail

# 6. delivery never follows a symlink or writes a hard-linked or foreign file
rm -f "$SPOOL"/*
ln -s "$T_TMP/target" "$SPOOL/alice"
send alice "via symlink" deferred
[ ! -e "$T_TMP/target" ]; ok $? "a symlink planted as the mailbox is not followed"
rm -f "$SPOOL/alice"
: | mkbox alice
ln "$SPOOL/alice" "$T_TMP/hardlink"
send alice "hard linked" deferred
[ ! -s "$SPOOL/alice" ]; ok $? "a hard-linked mailbox is not written"
rm -f "$SPOOL/alice" "$T_TMP/hardlink"
: > "$SPOOL/alice"; chown "$(user_uid bob)" "$SPOOL/alice"
send alice "foreign" deferred
[ ! -s "$SPOOL/alice" ]; ok $? "a mailbox owned by another user is not written"

# 7. a queue_directory that cannot hold files: 4xx, and the log names it
conf_set queue_directory "$T_TMP/aliases"
out=$(printf 'HELO c\nMAIL FROM:<x@example.test>\nRCPT TO:<alice@example.test>\nDATA\nSubject: q\n\nq\n.\nQUIT\n' | smtp_run)
case $out in *"
451 "*|*"
452 "*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "broken queue_directory: the message gets a 4xx"
grep -q "queue file write error in $T_TMP/aliases: .*queue_directory must be" "$T_TMP/log"
ok $? "... and one log line names queue_directory and what it must be"
done_testing
