#!/bin/sh
# BINARY (RFC 3516), MULTIAPPEND (RFC 3502), CATENATE (RFC 4469): FETCH
# BINARY[part]/BINARY.PEEK/BINARY.SIZE over the t/mime corpus side by side
# with Dovecot on a copy of the mailbox, literal8 for decoded parts and
# NULs, UNKNOWN-CTE; APPEND of several messages (all or none), literal8 in
# APPEND, CATENATE with relative and absolute URLs, sections and partials;
# bad input (wrong state, syntax, NUL, bad URLs, over the size limit).
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
O=$T_TMP/out
st() { awk -v t="$1" '$1 == t { print $2; exit }' "${2:-$O}"; }
mkbox alice < /dev/null
for f in "$FACTEUR_SRC"/t/mime/[0-9][0-9]-*.eml; do
	as_user alice "$B/t/bin/mboxtool" append "$SPOOL/alice" < "$f" > /dev/null
done
# 66: a base64 part that decodes to bytes with NULs; 67: an encoding we cannot undo
printf 'Subject: nul\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAECAP8=\n--b--\n' |
	as_user alice "$B/t/bin/mboxtool" append "$SPOOL/alice" > /dev/null
printf 'Subject: uu\nContent-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n`\nend\n' |
	as_user alice "$B/t/bin/mboxtool" append "$SPOOL/alice" > /dev/null

CMDS='c FETCH 1:65 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[2.1])
d FETCH 1:65 (BINARY.PEEK[1] BINARY.PEEK[2]<3.20>)
e FETCH 5 (BINARY.PEEK[] BINARY.SIZE[])
f FETCH 66 (BINARY.PEEK[2] BINARY.SIZE[2])
g FETCH 67 BINARY.PEEK[1]
h FETCH 1 BINARY.PEEK[9]'
{ echo "a LOGIN alice alice-pw"; echo "b SELECT INBOX"; echo "$CMDS"; } | imap > "$O"
is "$(st c)$(st d)$(st e)$(st f)$(st h)" OKOKOKOKOK "FETCH BINARY, BINARY.PEEK, BINARY.SIZE: OK"
printf '* 66 FETCH (BINARY[2] ~{5}\n\000\001\002\000\377 BINARY.SIZE[2] 5)\n' > "$T_TMP/want66"
awk '/^\* 66 FETCH/ { p = 1 } p { print } /BINARY.SIZE\[2\] 5\)/ { p = 0 }' "$O" > "$T_TMP/got66"
cmp -s "$T_TMP/want66" "$T_TMP/got66"; ok $? "a part holding NULs: a literal8 with the bytes as decoded"
grep -aq '^g NO \[UNKNOWN-CTE\]' "$O"; ok $? "x-uuencode: NO [UNKNOWN-CTE]"
grep -aq '^\* 1 FETCH (BINARY\[9\] {0}' "$O"; ok $? "a part that does not exist: empty"
grep -aq '^\* 6 FETCH (BINARY\[1\] ~{37}' "$O"; ok $? "a quoted-printable part, decoded: literal8"
grep -aq '^\* 5 FETCH (BINARY\[1\] {24}' "$O" || grep -aq '^\* 5 FETCH (BINARY\[1\] {' "$O"; ok $? "an 8bit part as stored: a plain literal"

if dovecot_ok; then
	{ echo "b SELECT INBOX"; echo "$CMDS"; echo "z LOGOUT"; } | dovecot_imap > "$T_TMP/dv.out"
	# the FETCH responses, without tagged lines and status lines
	strip() { grep -av '^\* OK\|^[a-z][0-9]* \|^\* [0-9]* EXISTS\|^\* [0-9]* RECENT\|^\* FLAGS\|^\* PREAUTH\|^\* BYE\|^imap(\|^\* 67 FETCH (UID 67)$' "$1"; }
	strip "$O" > "$T_TMP/f.fetch"
	strip "$T_TMP/dv.out" > "$T_TMP/d.fetch"
	# Known differences, left out: a multipart or message part (11:
	# BINARY[1] is multipart/alternative; 62: a message/rfc822 part in
	# base64) Dovecot serves with the CRLF that belongs to the next boundary
	# (RFC 2046 5.1.1), and for 62 its BINARY.SIZE says 0; below a
	# message/global part (15) Dovecot's [2.1] is the whole part.  Dovecot
	# sends "* 67 FETCH (UID 67)" before its NO [UNKNOWN-CTE].
	for f in f d; do
		awk '/^\* [0-9]+ FETCH/ { skip = ($2 == 11 || $2 == 15 || $2 == 62) } !skip' "$T_TMP/$f.fetch" > "$T_TMP/$f.cmp"
	done
	cmp -s "$T_TMP/f.cmp" "$T_TMP/d.cmp"; r=$?
	[ $r = 0 ] || diff -a "$T_TMP/f.cmp" "$T_TMP/d.cmp" | head -20 | sed 's/^/# /'
	ok $r "BINARY answers as Dovecot's, byte for byte, on the t/mime corpus"
	grep -aq '^g NO \[UNKNOWN-CTE\]' "$T_TMP/dv.out"; ok $? "Dovecot too: NO [UNKNOWN-CTE]"
else
	skip "dovecot-imapd not installed or uid below 500"
	skip "dovecot-imapd not installed or uid below 500"
fi

# --- MULTIAPPEND, literal8, CATENATE -------------------------------------------------
mkbox bob < /dev/null
msg 1 | as_user bob "$B/t/bin/mboxtool" append "$SPOOL/bob" > /dev/null
msg 2 | as_user bob "$B/t/bin/mboxtool" append "$SPOOL/bob" > /dev/null
python3 - > "$T_TMP/in1" <<'PY'
import sys
w = sys.stdout.buffer.write
def L(s): w(s.encode() + b"\r\n")
def lit(b, mark=b""): return mark + b"{%d}\r\n" % len(b) + b
L("a LOGIN bob bob-pw"); L("a2 SELECT INBOX"); L("b CREATE Drafts")
w(b"c APPEND Drafts (\\Seen) " + lit(b"Subject: a\r\n\r\nA\r\n") + b" " + lit(b"Subject: b\r\n\r\nB\r\n") +
  b' (\\Draft) "03-Nov-2025 20:00:00 -0500" ' + lit(b"Subject: c\r\n\r\n\xc3\xa9\r\n", b"~") + b"\r\n")
L("d STATUS Drafts (MESSAGES UIDNEXT UIDVALIDITY)")
PY
"$B/imapd" -c "$FCONF" < "$T_TMP/in1" | nocr > "$O"
UV=$(sed -n 's/^\* STATUS "Drafts" (MESSAGES 3 UIDNEXT 4 UIDVALIDITY \([0-9]*\))$/\1/p' "$O")
ok $([ -n "$UV" ]; echo $?) "MULTIAPPEND of three messages: STATUS MESSAGES 3 UIDNEXT 4"
grep -q "^c OK \[APPENDUID $UV 1:3\] " "$O"; ok $? "one APPENDUID for the three: 1:3"
python3 - "$UV" > "$T_TMP/in" <<'PY'
import sys
w = sys.stdout.buffer.write
uv = sys.argv[1].encode()
def L(s): w(s.encode() + b"\r\n")
def lit(b, mark=b""): return mark + b"{%d}\r\n" % len(b) + b
L("a LOGIN bob bob-pw"); L("a2 SELECT INBOX")
w(b'e APPEND Drafts CATENATE (URL "/INBOX/;UID=1/;SECTION=TEXT" TEXT ' + lit(b"X: tail\r\n") +
  b' URL "imap://bob@localhost/INBOX/;UID=2/;SECTION=HEADER.FIELDS%20(Subject)" URL "/Drafts;UIDVALIDITY=' +
  uv + b'/;UID=1/;PARTIAL=0.9")\r\n')
L('f APPEND Drafts CATENATE (URL "/INBOX/;UID=9")')
w(b"g APPEND Drafts " + lit(b"a: b\r\n\r\nok\r\n") + b" " + lit(b"a\0b", b"~") + b"\r\n")
w(b"h APPEND Drafts " + lit(b"a: b\r\n\r\nok\r\n") + b" " + lit(b"a\0b") + b"\r\n")
L('i APPEND Drafts CATENATE (URL "imap://alice@localhost/INBOX/;UID=1")')
L('j APPEND Drafts CATENATE (URL "/INBOX;UIDVALIDITY=1/;UID=1")')
L('k APPEND Drafts CATENATE (URL "/../alice/;UID=1")')
w(b"l APPEND Drafts (\\Seen) " + lit(b"x: 1\r\n\r\n1\r\n") + b" (\\Bogus) " + lit(b"x: 2\r\n\r\n2\r\n") + b"\r\n")
L("m APPEND Drafts")
L("n APPEND Drafts CATENATE ()")
L('o APPEND Drafts CATENATE (TEXT "quoted")')
w(b"p APPEND NoSuchBox " + lit(b"x: 1\r\n\r\n1\r\n") + b" " + lit(b"x: 2\r\n\r\n2\r\n") + b"\r\n")
L("q STATUS Drafts (MESSAGES)")
L("r EXAMINE Drafts"); L("s FETCH 1:* (FLAGS INTERNALDATE BODY.PEEK[])")
PY
"$B/imapd" -c "$FCONF" < "$T_TMP/in" > "$T_TMP/raw"
nocr < "$T_TMP/raw" > "$O"
grep -q "^e OK \[APPENDUID $UV 4\] " "$O"; ok $? "CATENATE: OK [APPENDUID]"
is "$(st f)" NO "CATENATE of a UID that does not exist: NO"
grep -q '^f NO \[BADURL /INBOX/;UID=9\]' "$O"; ok $? "... with [BADURL url]"
grep -aq '^g NO \[UNKNOWN-CTE\]' "$O"; ok $? "MULTIAPPEND with a NUL in a literal8: NO [UNKNOWN-CTE]"
is "$(st h)" NO "MULTIAPPEND with a NUL in a literal: NO"
is "$(st i)$(st j)$(st k)" NONONO "URLs of another user, a wrong UIDVALIDITY, a name with ..: NO"
is "$(st l)" BAD "MULTIAPPEND with a bad flag in the second message: BAD"
is "$(st m)$(st n)$(st o)" BADBADBAD "APPEND without a message, an empty CATENATE, a quoted TEXT: BAD"
grep -q '^p NO \[TRYCREATE\]' "$O"; ok $? "MULTIAPPEND to a missing mailbox: NO [TRYCREATE]"
grep -q '^\* STATUS "Drafts" (MESSAGES 4)' "$O"; ok $? "all or nothing: only the first three and the CATENATE were stored"
# "N FLAGS DATE TIME ZONE BYTES" per message (\Recent left out)
python3 - "$T_TMP/raw" <<'PY' > "$T_TMP/fetch"
import re, sys
d = open(sys.argv[1], 'rb').read()
for m in re.finditer(rb'\* (\d+) FETCH \(FLAGS \(([^)]*)\) INTERNALDATE "([^"]*)" BODY\[\] \{(\d+)\}\r\n', d):
    n = int(m.group(4))
    fl = " ".join(f for f in m.group(2).decode().split() if f != "\\Recent")
    print(m.group(1).decode(), fl or "-", m.group(3).decode(), repr(d[m.end():m.end() + n])[1:])
PY
is "$(sed -n 1p "$T_TMP/fetch" | cut -d' ' -f1,2,6-)" "1 \\Seen 'Subject: a\\r\\n\\r\\nA\\r\\n'" "message 1: its flag, its bytes"
is "$(sed -n 2p "$T_TMP/fetch" | cut -d' ' -f1,2,6-)" "2 - 'Subject: b\\r\\n\\r\\nB\\r\\n'" "message 2: no flag"
is "$(sed -n 3p "$T_TMP/fetch")" "3 \\Draft $(TZ=UTC date -d @1762218000 '+%d-%b-%Y %H:%M:%S +0000') 'Subject: c\\r\\n\\r\\n\\xc3\\xa9\\r\\n'" \
	"message 3 (literal8): its flag, its date (20:00 -0500 is 01:00 UTC), its 8-bit bytes"
# (the mbox ends every message with a line end: the last part's CRLF)
is "$(sed -n 4p "$T_TMP/fetch" | cut -d' ' -f1,2,6-)" "4 - 'body of message 1\\r\\nX: tail\\r\\nSubject: message 2\\r\\n\\r\\nSubject: \\r\\n'" \
	"CATENATE: TEXT of UID 1, a TEXT literal, HEADER.FIELDS of UID 2, 9 bytes of Drafts UID 1"

# --- wrong state, huge literals ------------------------------------------------------
imap > "$O" <<'IN'
a FETCH 1 BINARY[1]
b APPEND INBOX {3}
c LOGIN bob bob-pw
d FETCH 1 BINARY[1]
e SELECT INBOX
f FETCH 1 BINARY[1.]
g FETCH 1 BINARY[TEXT]
h FETCH 1 BINARY.SIZE[1]<0.5>
i FETCH 1 BINARY[1]<5>
j APPEND INBOX {99999999999}
k APPEND INBOX ~{99999999999}
l NOOP
IN
is "$(st a)$(st b)" BADBAD "BINARY and APPEND before login: BAD"
is "$(st d)" BAD "FETCH BINARY without a selected mailbox: BAD"
is "$(st f)$(st g)$(st h)$(st i)" BADBADBADBAD "BINARY[1.], BINARY[TEXT], a partial on BINARY.SIZE, a partial without length: BAD"
is "$(st j)$(st k)" NONO "literal and literal8 over the size limit: NO before any byte is read"
is "$(st l)" OK "the session goes on"
printf 'a CAPABILITY\n' | imap | grep -q '^\* CAPABILITY .* MULTIAPPEND BINARY CATENATE'
ok $? "CAPABILITY lists MULTIAPPEND BINARY CATENATE"

# CATENATE of URLs builds no more than message_size_limit (here 5000)
conf_set message_size_limit 5000
{ msg 9; i=0; while [ $i -lt 40 ]; do i=$((i + 1)); echo "filler line $i of a message of about 2 kB........"; done; } 2>/dev/null |
	as_user bob "$B/t/bin/mboxtool" append "$SPOOL/bob" > /dev/null
two='CATENATE (URL "/INBOX/;UID=3" URL "/INBOX/;UID=3")'
many=$(i=0; while [ $i -lt 32 ]; do i=$((i + 1)); printf ' %s' "$two"; done)
imap > "$O" <<IN
a LOGIN bob bob-pw
b SELECT INBOX
c APPEND Drafts $two
d APPEND Drafts CATENATE (URL "/INBOX/;UID=3" URL "/INBOX/;UID=3" URL "/INBOX/;UID=3")
e APPEND Drafts$many
f STATUS Drafts (MESSAGES)
IN
is "$(st c)" OK "CATENATE of two 2 kB parts: OK"
grep -q '^d NO \[TOOBIG\]' "$O"; ok $? "three, over the limit: NO [TOOBIG]"
grep -q '^e NO \[TOOBIG\]' "$O"; ok $? "32 such messages, together over the bound of one command: NO [TOOBIG]"
grep -q '^\* STATUS "Drafts" (MESSAGES 5)' "$O"; ok $? "only the first was stored"

done_testing
