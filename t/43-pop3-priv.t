#!/bin/sh
# pop3d as root (as under xinetd): the pre-auth child runs as default_privs
# in a chroot, the parent becomes the user after login (uids shown from
# /proc); login through the real PAM stack with system users it creates.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/pop3/lib.sh"
need_root "setuid, chroot, creating system users"
need_cmd useradd
pop3_env
PAMSVC=facteur-t43-$$
USERS=
cleanup() {
	for u in $USERS; do userdel -r "$u" > /dev/null 2>&1 || userdel "$u" > /dev/null 2>&1; done
	rm -f "/etc/pam.d/$PAMSVC"
	rm -rf "$T_TMP"
}
trap cleanup EXIT
nobody_uid=$(id -u nobody)
ids() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s '[:space:]' ' ' | sed 's/ $//'; }

# --- uids of the processes before and after login --------------------------
mkbox alice < "$POP3_SRC/three.mbox"
sess_start pop3d
expect 'facteur ready'
child=$(pgrep -P "$SESS_PID" | head -n 1)
diag "before login: parent $SESS_PID uid $(ids $SESS_PID Uid), child $child uid $(ids "$child" Uid)"
is "$(ids "$SESS_PID" Uid)" "0 0 0 0" "before login the parent is root"
is "$(ids "$child" Uid)" "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" \
	"the child that reads the client runs as default_privs (nobody)"
is "$(ids "$child" Groups)" "$(id -g nobody)" "... with no supplementary group but its own"
is "$(readlink "/proc/$child/root")" "$T_TMP/empty" "... chrooted to empty_directory"
say 'USER alice' 'PASS alice-pw'
expect 'Logged in'
diag "after login: parent $SESS_PID uid $(ids $SESS_PID Uid) gid $(ids $SESS_PID Gid)"
is "$(ids "$SESS_PID" Uid)" "$POP3_UID $POP3_UID $POP3_UID $POP3_UID" "after login the parent runs as the user"
mailgid=$(getent group mail | cut -d: -f3)
is "$(ids "$SESS_PID" Gid)" "$POP3_GID $POP3_GID $mailgid $POP3_GID" \
	"... with the user's gid, the mail group as saved gid only (dotlocks in a 2775 spool)"
case " $(ids "$SESS_PID" Groups) " in *" 0 "*) ok 1 "no root group left" ;; *) ok 0 "no root group left" ;; esac
kill -0 "$child" 2>/dev/null; ok $((!$?)) "the pre-auth child is gone"
say 'STAT' 'QUIT'
sess_end
is "$(nocr < "$T_TMP/sess.out" | sed -n 4p)" "+OK 3 370" "the session goes on as the user"

# a mailbox the user does not own is not opened (strict ownership)
chown root:root "$SPOOL/alice"
printf 'USER alice\nPASS alice-pw\nQUIT\n' | pop3 | sed -n 3p > "$T_TMP/got"
is "$(cat "$T_TMP/got")" "-ERR [SYS/TEMP] Cannot open the mailbox." "a mailbox owned by someone else is refused"
chown "$POP3_UID:$POP3_GID" "$SPOOL/alice"

# an empty_directory that cannot be made: pre-auth code must not run as
# root, and the log says what to do
conf_set empty_directory "$T_TMP/no-such-dir/empty"
printf 'USER alice\nPASS alice-pw\nQUIT\n' | pop3 > "$T_TMP/got"
lacks "$T_TMP/got" 'Logged in' "uncreatable empty_directory: no session"
grep -q "empty_directory $T_TMP/no-such-dir/empty is missing.*install -d" "$T_TMP/log"
ok $? "... and one log line names the directory and the fix"
# a missing one is created (root, 0755), as make install would
conf_set empty_directory "$T_TMP/new-empty"
printf 'USER alice\nPASS alice-pw\nSTAT\nQUIT\n' | pop3 > "$T_TMP/got"
grep -q 'Logged in' "$T_TMP/got"; ok $? "missing empty_directory: created, the session works"
is "$(stat -c '%U %a' "$T_TMP/new-empty")" "root 755" "... root, mode 755"
conf_set empty_directory "$T_TMP/empty"

# --- PAM ------------------------------------------------------------------
printf '@include common-auth\n@include common-account\n' > "/etc/pam.d/$PAMSVC"
for u in fctpop1 fctpop2; do
	userdel -r "$u" > /dev/null 2>&1
	# as adduser makes them: a home of their own (libmbox's journal lives there)
	useradd -m -s /usr/sbin/nologin "$u" || { echo "Bail out! useradd $u"; exit 1; }
	USERS="$USERS $u"
	echo "$u:$u-Secret1" | chpasswd
done
chage -E 0 fctpop2   # expired account: the password is right, pam_acct_mgmt says no
conf_set auth pam
conf_set pam_service "$PAMSVC"
cat "$POP3_SRC/three.mbox" > "$SPOOL/fctpop1"
chown fctpop1:mail "$SPOOL/fctpop1" && chmod 600 "$SPOOL/fctpop1"
sess_start pop3d
say 'USER fctpop1' 'PASS fctpop1-Secret1'
expect 'Logged in'
is "$(ids "$SESS_PID" Uid)" "$(id -u fctpop1) $(id -u fctpop1) $(id -u fctpop1) $(id -u fctpop1)" \
	"PAM login: the parent runs as the system user"
say 'STAT' 'QUIT'
sess_end
is "$(nocr < "$T_TMP/sess.out" | sed -n 3,4p | tr '\n' '|')" "+OK Logged in.|+OK 3 370|" "PAM login and STAT"
is "$(printf 'USER fctpop1\nPASS wrong\nQUIT\n' | pop3 | sed -n 3p)" "-ERR [AUTH] Authentication failed." \
	"PAM: wrong password"
is "$(printf 'USER fctpop9\nPASS x\nQUIT\n' | pop3 | sed -n 3p)" "-ERR [AUTH] Authentication failed." \
	"PAM: unknown user, same reply"
is "$(printf 'AUTH PLAIN %s\nQUIT\n' "$(printf '\0fctpop1\0fctpop1-Secret1' | base64 -w0)" | pop3 | sed -n 2p)" \
	"+OK Logged in." "PAM: AUTH PLAIN"
is "$(printf 'USER fctpop2\nPASS fctpop2-Secret1\nQUIT\n' | pop3 | sed -n 3p)" "-ERR [AUTH] Authentication failed." \
	"PAM: expired account refused by pam_acct_mgmt"
is "$(printf 'USER root\nPASS x\nQUIT\n' | pop3 | sed -n 3p)" "-ERR [AUTH] Authentication failed." "PAM: root refused"
done_testing
