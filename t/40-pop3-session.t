#!/bin/sh
# pop3d piped sessions: the lab's dialogue, every command in every state,
# arguments good and bad, RETR/TOP byte-exact with dot-stuffing, bad input.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/pop3/lib.sh"
pop3_env

# --- the lab's dialogue, typed as in `nc 127.0.0.1 pop3` -------------------
mkbox alice < "$POP3_SRC/lab.mbox"
pop3 < "$POP3_SRC/lab.in" > "$T_TMP/got"
same_file "$T_TMP/got" "$POP3_SRC/lab.out" "lab dialogue: transcript (t/pop3/lab.in, lab.out)"
# the octet count is what RETR sends (CRLF included)
printf 'USER alice\r\nPASS alice-pw\r\nRETR 1\r\nQUIT\r\n' | pop3_raw > "$T_TMP/raw"
n=$(sed -n '/^+OK 427 octets/,/^\.\r$/p' "$T_TMP/raw" | sed '1d;$d' | wc -c)
is "$n" 427 "RETR sends exactly the octets LIST announced"
is "$(grep -c "$(printf '\r$')" "$T_TMP/raw")" "$(wc -l < "$T_TMP/raw" | tr -d ' ')" "every reply line ends in CRLF"
lacks "$T_TMP/raw" '^X-UID|^X-IMAPbase' "metadata headers written at login are not shown"

# --- TRANSACTION: every command, good and bad arguments --------------------
mkbox bob < "$POP3_SRC/three.mbox"
pop3 > "$T_TMP/got" <<'IN'
USER bob
PASS bob-pw
STAT
LIST
LIST 2
UIDL
UIDL 3
RETR 1
RETR 2
TOP 3 0
TOP 3 2
TOP 3 100
DELE 2
LIST
LIST 2
UIDL 2
RETR 2
TOP 2 1
DELE 2
STAT
RSET
STAT
NOOP
LIST 0
LIST 4
LIST abc
LIST 4294967297
LIST -1
LIST +1
LIST 1 2
RETR
TOP 1
TOP 1 x
TOP 1 -1
DELE
STAT 1
NOOP x
USER bob
PASS x
AUTH PLAIN
FOO
list 1
QUIT
IN
uv=$(uv_hex bob)
ok $((${#uv} != 8)) "login gave the mailbox a UIDVALIDITY ($uv)"
cat > "$T_TMP/want" <<OUT
+OK facteur ready.
+OK
+OK Logged in.
+OK 3 370
+OK 3 messages:
1 133
2 104
3 133
.
+OK 2 104
+OK
1 00000001$uv
2 00000002$uv
3 00000003$uv
.
+OK 3 00000003$uv
+OK 133 octets
Return-Path: <alice@example.test>
From: Alice <alice@example.test>
To: bob@example.test
Subject: one

First message body.
Bye
.
+OK 104 octets
From: Carol <carol@example.test>
Subject: dots

..leading dot
...two dots
..
end
>From quoted line
.
+OK Top of message follows
From: Bob <bob@example.test>
Subject: three
X-Long-Header: continued
 on a second line

.
+OK Top of message follows
From: Bob <bob@example.test>
Subject: three
X-Long-Header: continued
 on a second line

line 1
line 2
.
+OK Top of message follows
From: Bob <bob@example.test>
Subject: three
X-Long-Header: continued
 on a second line

line 1
line 2
line 3
line 4
line 5
.
+OK Message 2 marked for deletion.
+OK 2 messages:
1 133
3 133
.
-ERR Message 2 is deleted.
-ERR Message 2 is deleted.
-ERR Message 2 is deleted.
-ERR Message 2 is deleted.
-ERR Message 2 is deleted.
+OK 2 266
+OK 3 messages, nothing marked for deletion.
+OK 3 370
+OK
-ERR There is no message 0.
-ERR There is no message 4.
-ERR Invalid message number.
-ERR Invalid message number.
-ERR Invalid message number.
-ERR Invalid message number.
-ERR Syntax: LIST [message]
-ERR Syntax: RETR message
-ERR Syntax: TOP message lines
-ERR Invalid number of lines.
-ERR Invalid number of lines.
-ERR Syntax: DELE message
-ERR STAT takes no argument.
-ERR NOOP takes no argument.
-ERR Not allowed after login.
-ERR Not allowed after login.
-ERR Not allowed after login.
-ERR Unknown command.
+OK 1 133
+OK Logging out.
OUT
same_file "$T_TMP/got" "$T_TMP/want" "TRANSACTION: every command, good and bad arguments"
# RSET undid DELE and the seen marks: QUIT changed nothing
grep -c '^X-UID: ' "$SPOOL/bob" > "$T_TMP/n"
is "$(cat "$T_TMP/n")" 3 "DELE+RSET+QUIT: all three messages kept"
lacks "$SPOOL/bob" '^Status: RO' "RSET also undid the seen marks of RETR"

# --- AUTHORIZATION: every command -----------------------------------------
pop3 > "$T_TMP/got" <<'IN'
STAT
LIST
LIST 1
UIDL
RETR 1
TOP 1 1
DELE 1
RSET
NOOP
PASS alice-pw
XYZZY
CAPA
CAPA x
USER
USER a b
QUIT x
QUIT
IN
cat > "$T_TMP/want" <<'OUT'
+OK facteur ready.
-ERR Not logged in: use USER and PASS, or AUTH, first.
-ERR Not logged in: use USER and PASS, or AUTH, first.
-ERR Not logged in: use USER and PASS, or AUTH, first.
-ERR Not logged in: use USER and PASS, or AUTH, first.
-ERR Not logged in: use USER and PASS, or AUTH, first.
-ERR Not logged in: use USER and PASS, or AUTH, first.
-ERR Not logged in: use USER and PASS, or AUTH, first.
-ERR Not logged in: use USER and PASS, or AUTH, first.
-ERR Not logged in: use USER and PASS, or AUTH, first.
-ERR No user name given: send USER first.
-ERR Unknown command.
+OK Capability list follows
TOP
UIDL
USER
SASL PLAIN
RESP-CODES
AUTH-RESP-CODE
PIPELINING
EXPIRE NEVER
IMPLEMENTATION facteur
.
-ERR CAPA takes no argument.
-ERR Syntax: USER name
-ERR Syntax: USER name
-ERR QUIT takes no argument.
+OK Logging out.
OUT
same_file "$T_TMP/got" "$T_TMP/want" "AUTHORIZATION: every command"

# CAPA after login: no USER, no SASL
printf 'USER alice\nPASS alice-pw\nCAPA\nQUIT\n' | pop3 | sed -n '/^+OK Capa/,/^\.$/p' > "$T_TMP/got"
printf '+OK Capability list follows\nTOP\nUIDL\nRESP-CODES\nAUTH-RESP-CODE\nPIPELINING\nEXPIRE NEVER\nIMPLEMENTATION facteur\n.\n' > "$T_TMP/want"
same_file "$T_TMP/got" "$T_TMP/want" "CAPA in TRANSACTION leaves USER and SASL out"

# --- bad input ---------------------------------------------------------------
{
	printf 'NOOP %0300d\r\n' 0
	printf 'USER %05000d\r\n' 0
	printf 'US\000ER alice\r\n'
	printf 'USER alice\r\nPASS alice-pw\r\n'
	printf 'NO\000OP\r\n'
	printf 'LIST %0260d\r\n' 1
	printf 'STAT\nNOOP\r\n'
	printf 'QUIT\r\n'
} | pop3_raw | nocr > "$T_TMP/got"
cat > "$T_TMP/want" <<'OUT'
+OK facteur ready.
-ERR Line too long.
-ERR Line too long.
-ERR NUL byte in command.
+OK
+OK Logged in.
-ERR NUL byte in command.
-ERR Line too long.
+OK 1 427
+OK
+OK Logging out.
OUT
same_file "$T_TMP/got" "$T_TMP/want" "overlong lines, NUL bytes, bare LF: clear replies, session goes on"

# a client that never stops sending garbage is cut off
i=0; : > "$T_TMP/in"
while [ $i -lt 25 ]; do echo GARBAGE >> "$T_TMP/in"; i=$((i + 1)); done
pop3 < "$T_TMP/in" > "$T_TMP/got"
is "$(tail -n 1 "$T_TMP/got")" "-ERR Too many bad commands, closing." "too many bad commands: closed"
is "$(grep -c "^-ERR Unknown" "$T_TMP/got")" 20 "... after 20 errors"

# EOF right after the greeting, or in the middle of a line
printf 'USER al' | pop3_raw | nocr > "$T_TMP/got"
is "$(cat "$T_TMP/got")" "+OK facteur ready." "EOF in the middle of a line: no reply, clean end"

# idle clients are disconnected (pop3_timeout), before and after login
conf_set pop3_timeout 1
sess_start pop3d
expect 'facteur ready'
sleep 1.5
expect 'inactivity'
ok $? "idle before login: disconnected"
say 'USER alice'
sess_end
sess_start pop3d
say 'USER alice' 'PASS alice-pw'
expect 'Logged in'
sleep 1.5
expect 'inactivity'
ok $? "idle after login: disconnected"
sess_end
is "$(nocr < "$T_TMP/sess.out" | tail -n 1)" "-ERR Disconnected for inactivity." "... with a clear reply"
conf_set pop3_timeout 600

# the same session one byte per write gives the same transcript
if [ -x "$B/t/bin/trickle" ]; then
	printf 'USER bob\r\nPASS bob-pw\r\nSTAT\r\nTOP 2 1\r\nUIDL 1\r\nQUIT\r\n' > "$T_TMP/in"
	pop3_raw < "$T_TMP/in" > "$T_TMP/a"
	"$B/t/bin/trickle" "$B/pop3d" -c "$FCONF" < "$T_TMP/in" > "$T_TMP/b"
	same_file "$T_TMP/b" "$T_TMP/a" "byte-by-byte input gives the same replies"
else
	skip "t/bin/trickle not built"
fi
done_testing
