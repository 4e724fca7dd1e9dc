#!/bin/sh
# pop3d login: USER/PASS, AUTH PLAIN both ways, failures and their delay,
# the plaintext rule by peer address (faked with FACTEUR_TEST_PEER).
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/pop3/lib.sh"
pop3_env
mkbox alice < "$POP3_SRC/lab.mbox"
b64() { printf "$1" | base64 -w0; }
# first reply after the greeting (and after USER's +OK)
login_reply() { pop3 | sed -n "${1:-2}p"; }

is "$(printf 'USER alice\nPASS alice-pw\nQUIT\n' | login_reply 3)" "+OK Logged in." "USER/PASS"
is "$(printf 'USER ALICE\nPASS alice-pw\nSTAT\nQUIT\n' | login_reply 4)" "+OK 1 427" \
	"user name is case-insensitive and opens the canonical user's mailbox"
is "$(printf 'USER alice\nPASS wrong\nQUIT\n' | login_reply 3)" "-ERR [AUTH] Authentication failed." "wrong password"
is "$(printf 'USER nosuch\nPASS alice-pw\nQUIT\n' | login_reply 3)" "-ERR [AUTH] Authentication failed." \
	"unknown user: the same reply"
is "$(printf 'USER alice\nPASS\nQUIT\n' | login_reply 3)" "-ERR [AUTH] Authentication failed." "empty password"
is "$(printf 'USER alice\nPASS wrong\nPASS alice-pw\nQUIT\n' | login_reply 4)" \
	"-ERR No user name given: send USER first." "a failed PASS forgets the user name"
is "$(printf 'USER alice\nPASS wrong\nUSER alice\nPASS alice-pw\nSTAT\nQUIT\n' | login_reply 6)" "+OK 1 427" \
	"a second attempt after a failure works"

# a password with spaces: PASS takes the rest of the line (RFC 1939 section 7)
h=$("$B/t/bin/mkhash" 'two  words ')
echo "dave:$h:$(sed -n 's/^alice:[^:]*:\([0-9]*:[0-9]*\):.*/\1/p' "$T_TMP/passwd")::$T_TMP/home/alice" >> "$T_TMP/passwd"
is "$(printf 'USER dave\nPASS two  words \nQUIT\n' | login_reply 3)" "+OK Logged in." "password with spaces"

# as non-root, a passwd-file user with another uid may not log in
if [ "$(id -u)" != 0 ]; then
	echo "eve:$("$B/t/bin/mkhash" eve-pw):$(($(id -u) + 1)):$(id -g)::$T_TMP/home/alice" >> "$T_TMP/passwd"
	is "$(printf 'USER eve\nPASS eve-pw\nQUIT\n' | login_reply 3)" "-ERR [AUTH] Authentication failed." \
		"not root: a user whose uid is not ours is refused"
else
	skip "as root any uid but 0 may log in"
fi

# three failures end the session
printf 'USER alice\nPASS a\nUSER alice\nPASS b\nUSER alice\nPASS c\nUSER alice\nPASS alice-pw\n' | pop3 > "$T_TMP/got"
is "$(tail -n 1 "$T_TMP/got")" "-ERR [AUTH] Authentication failed. Too many failures, closing." \
	"three failed logins close the session"
is "$(wc -l < "$T_TMP/got" | tr -d ' ')" 7 "... and nothing after that is read"

# --- AUTH PLAIN (RFC 4616, RFC 5034) ---------------------------------------
is "$(printf 'AUTH PLAIN %s\nQUIT\n' "$(b64 '\0alice\0alice-pw')" | login_reply)" "+OK Logged in." \
	"AUTH PLAIN with an initial response"
printf 'AUTH PLAIN\n%s\nSTAT\nQUIT\n' "$(b64 '\0alice\0alice-pw')" | pop3 > "$T_TMP/got"
printf '+OK facteur ready.\n+ \n+OK Logged in.\n+OK 1 427\n+OK Logging out.\n' > "$T_TMP/want"
same_file "$T_TMP/got" "$T_TMP/want" "AUTH PLAIN with a continuation"
is "$(printf 'auth plain %s\nQUIT\n' "$(b64 'alice\0alice\0alice-pw')" | login_reply)" "+OK Logged in." \
	"AUTH PLAIN with authzid = authcid, verbs in lower case"
is "$(printf 'AUTH PLAIN %s\nQUIT\n' "$(b64 'bob\0alice\0alice-pw')" | login_reply)" \
	"-ERR [AUTH] Logging in as another user (authzid) is not supported." "AUTH PLAIN authzid of another user"
is "$(printf 'AUTH PLAIN %s\nQUIT\n' "$(b64 '\0alice\0wrong')" | login_reply)" "-ERR [AUTH] Authentication failed." \
	"AUTH PLAIN wrong password"
is "$(printf 'AUTH PLAIN\n*\nQUIT\n' | login_reply 3)" "-ERR Authentication cancelled." "AUTH PLAIN cancelled with *"
is "$(printf 'AUTH PLAIN =\nQUIT\n' | login_reply)" \
	"-ERR Malformed PLAIN response: expected authzid NUL user NUL password." "AUTH PLAIN = (empty response)"
is "$(printf 'AUTH PLAIN !!!!\nQUIT\n' | login_reply)" "-ERR Invalid base64 data in the PLAIN response." \
	"AUTH PLAIN bad base64"
is "$(printf 'AUTH PLAIN %s\nQUIT\n' "$(b64 '\0al\0ice\0alice-pw')" | login_reply)" \
	"-ERR Malformed PLAIN response: expected authzid NUL user NUL password." "AUTH PLAIN with a NUL too many"
is "$(printf 'AUTH PLAIN %s\nQUIT\n' "$(b64 'alice-pw')" | login_reply)" \
	"-ERR Malformed PLAIN response: expected authzid NUL user NUL password." "AUTH PLAIN without NULs"
is "$(printf 'AUTH CRAM-MD5\nQUIT\n' | login_reply)" "-ERR Unsupported authentication mechanism." "unknown mechanism"
printf 'AUTH\nQUIT\n' | pop3 | sed -n '2,4p' > "$T_TMP/got"
printf '+OK\nPLAIN\n.\n' > "$T_TMP/want"
same_file "$T_TMP/got" "$T_TMP/want" "AUTH alone lists the mechanisms"
# a long initial response is allowed past 255 octets (RFC 5034 section 4)
long=$(b64 "\\0alice\\0$(printf '%0400d' 7)")
is "$(printf 'AUTH PLAIN %s\nQUIT\n' "$long" | login_reply)" "-ERR [AUTH] Authentication failed." \
	"AUTH PLAIN initial response longer than 255 octets is read"
printf 'AUTH PLAIN\n%s\nQUIT\n' "$(printf '%05000d' 0)" | pop3 | sed -n 3p > "$T_TMP/got"
is "$(cat "$T_TMP/got")" "-ERR Authentication response too long." "overlong SASL response"

# --- the plaintext rule ----------------------------------------------------
NOPLAIN="-ERR [AUTH] Plaintext authentication disallowed on non-secure connections."
export FACTEUR_TEST_PEER=10.1.2.3
is "$(printf 'USER alice\nQUIT\n' | login_reply)" "$NOPLAIN" "untrusted peer: USER refused"
is "$(printf 'PASS alice-pw\nQUIT\n' | login_reply)" "$NOPLAIN" "untrusted peer: PASS refused"
is "$(printf 'AUTH PLAIN %s\nQUIT\n' "$(b64 '\0alice\0alice-pw')" | login_reply)" "$NOPLAIN" \
	"untrusted peer: AUTH PLAIN refused"
printf 'CAPA\nAUTH\nQUIT\n' | pop3 > "$T_TMP/got"
lacks "$T_TMP/got" '^USER$|^SASL|^PLAIN' "untrusted peer: CAPA and AUTH offer no plaintext login"
grep -q '^PIPELINING$' "$T_TMP/got"; ok $? "... but list the rest"
grep -q 'connect from 10.1.2.3' "$T_TMP/log"; ok $? "the peer address is logged"
FACTEUR_TEST_PEER=192.168.0.42
is "$(printf 'USER alice\nPASS alice-pw\nQUIT\n' | login_reply 3)" "+OK Logged in." \
	"login_trusted_networks (the lab's 192.168.0.0/24) may log in"
FACTEUR_TEST_PEER=127.0.0.9
is "$(printf 'USER alice\nPASS alice-pw\nQUIT\n' | login_reply 3)" "+OK Logged in." "loopback may log in"
FACTEUR_TEST_PEER=192.168.1.42
is "$(printf 'USER alice\nQUIT\n' | login_reply)" "$NOPLAIN" "192.168.1.42 is outside 192.168.0.0/24"
FACTEUR_TEST_PEER=192.168.0.77
printf 'USER alice\nPASS not-the-pw\nQUIT\n' | pop3 > /dev/null
grep 'alice' "$T_TMP/log" | grep -q '192.168.0.77'; ok $? "a failed login is logged with the user and the peer"
lacks "$T_TMP/log" 'not-the-pw|alice-pw' "no password in the log"
unset FACTEUR_TEST_PEER

# --- the failure delay: the same for unknown users and wrong passwords -----
conf_set auth_failure_delay 1000
ms() { date +%s%3N; }
t0=$(ms); printf 'USER alice\nPASS wrong\nQUIT\n' | pop3 > /dev/null; t1=$(ms)
printf 'USER nobody-here\nPASS wrong\nQUIT\n' | pop3 > /dev/null; t2=$(ms)
ok $(($t1 - $t0 < 1000)) "wrong password: delayed ($(($t1 - $t0)) ms >= 1000)"
ok $(($t2 - $t1 < 1000)) "unknown user: delayed too ($(($t2 - $t1)) ms >= 1000)"
done_testing
