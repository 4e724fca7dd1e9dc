#!/bin/sh
# Privilege separation (root only): before login the client talks to a child
# running as default_privs; after login the session runs as the user.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
need_root "imapd drops privileges only when started as root"
imap_env
msg 1 | deliver alice
nobody=$(id -u nobody)

uid_of() { awk '/^Uid:/ { print $2, $3, $4 }' "/proc/$1/status" 2>/dev/null; }

sess_start imapd p 3
expect '^\* OK \[CAPABILITY' p; ok $? "greeting"
child=$(pgrep -P "$SESS_PID_p" | head -n 1)
[ -n "$child" ]; ok $? "a pre-auth child exists"
is "$(uid_of "$child")" "$nobody $nobody $nobody" "pre-auth child runs as default_privs (nobody)"
is "$(uid_of "$SESS_PID_p" | cut -d' ' -f1)" 0 "parent is root before login"
root_dir=$(readlink "/proc/$child/root")
is "$root_dir" "$T_TMP/empty" "pre-auth child is chrooted to empty_directory"
say 3 "p1 LOGIN alice alice-pw"
expect '^p1 OK' p; ok $? "login"
is "$(uid_of "$SESS_PID_p")" "$IMAP_UID $IMAP_UID $IMAP_UID" "session runs as the user (real, effective, saved)"
say 3 "p2 SELECT INBOX"
expect '^p2 OK' p; ok $? "the user's INBOX is served"
say 3 "p3 LOGOUT"
sess_end p 3
grep -q "login: user=alice uid=$IMAP_UID" "$T_TMP/log"; ok $? "log shows the session uid"
done_testing
