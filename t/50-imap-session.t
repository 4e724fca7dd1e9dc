#!/bin/sh
# imapd piped sessions: greeting, every command in every state, literals
# (synchronising and LITERAL+), FETCH/STORE/SEARCH/COPY/MOVE/APPEND/EXPUNGE,
# folder commands, and bad input (syntax, sequence sets, NUL, overlong lines,
# oversized literals, disconnect mid-literal).
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
O=$T_TMP/out

# --- the main dialogue as a golden transcript (t/imap/session.in, .out):
# CAPABILITY, LOGIN, SELECT, FETCH, UID FETCH, STORE, SEARCH, EXPUNGE,
# STATUS, LOGOUT on a mailbox with a fixed UIDVALIDITY
mkbox bob < "$IMAP_SRC/session.mbox"
imap < "$IMAP_SRC/session.in" > "$T_TMP/session.got"
same_file "$T_TMP/session.got" "$IMAP_SRC/session.out" "main dialogue: transcript byte for byte"
rm -f "$SPOOL/bob"

# --- not authenticated ------------------------------------------------------
imap > "$O" <<'IN'
a1 CAPABILITY
a2 NOOP
a3 SELECT INBOX
a4 FETCH 1 FLAGS
a5 LOGIN alice wrong
a6 FROB
a7 LOGIN alice
a8 AUTHENTICATE CRAM-MD5
a9 ID ("name" "test")
a10 LOGOUT
a11 NOOP
IN
head -n 1 "$O" | grep -q '^\* OK \[CAPABILITY IMAP4rev1 .*AUTH=PLAIN.*\] facteur ready\.$'; ok $? "greeting carries CAPABILITY with AUTH=PLAIN"
grep -q '^\* CAPABILITY IMAP4rev1 .*LITERAL+.*IDLE.*UIDPLUS.*MOVE' "$O"; ok $? "CAPABILITY lists the extensions"
is "$(tagged a2 "$O")" "a2 OK NOOP completed." "NOOP before login"
tagged a3 "$O" | grep -q '^a3 BAD'; ok $? "SELECT before login: BAD"
tagged a4 "$O" | grep -q '^a4 BAD'; ok $? "FETCH before login: BAD"
tagged a5 "$O" | grep -q '^a5 NO \[AUTHENTICATIONFAILED\]'; ok $? "wrong password: NO [AUTHENTICATIONFAILED]"
is "$(tagged a6 "$O")" "a6 BAD Unknown command" "unknown command: BAD"
tagged a7 "$O" | grep -q '^a7 BAD'; ok $? "LOGIN without password: BAD"
tagged a8 "$O" | grep -q '^a8 NO'; ok $? "unknown SASL mechanism: NO"
grep -q '^\* ID ("name" "facteur"' "$O"; ok $? "ID answers"
grep -q '^\* BYE' "$O" && tagged a10 "$O" | grep -q '^a10 OK'; ok $? "LOGOUT: BYE then OK"
lacks "$O" '^a11' "nothing after LOGOUT"

# LOGINDISABLED outside trusted networks, LOGIN accepted inside
FACTEUR_TEST_PEER=203.0.113.5 imap > "$O" <<'IN'
b1 CAPABILITY
b2 LOGIN alice alice-pw
b3 AUTHENTICATE PLAIN AGFsaWNlAGFsaWNlLXB3
IN
grep -q '^\* CAPABILITY .*LOGINDISABLED' "$O" && ! grep -q 'AUTH=PLAIN' "$O"; ok $? "untrusted peer: LOGINDISABLED, no AUTH=PLAIN"
tagged b2 "$O" | grep -q '^b2 NO \[PRIVACYREQUIRED\]'; ok $? "untrusted peer: LOGIN refused"
tagged b3 "$O" | grep -q '^b3 NO \[PRIVACYREQUIRED\]'; ok $? "untrusted peer: AUTHENTICATE refused"
FACTEUR_TEST_PEER=192.168.0.7 imap > "$O" <<'IN'
b1 LOGIN alice alice-pw
IN
tagged b1 "$O" | grep -q '^b1 OK \[CAPABILITY '; ok $? "login_trusted_networks peer may log in"

# AUTHENTICATE PLAIN: initial response, continuation, cancel, bad base64
imap > "$O" <<'IN'
c1 AUTHENTICATE PLAIN
*
c2 AUTHENTICATE PLAIN
!!!notbase64
c3 AUTHENTICATE PLAIN AGFsaWNlAHdyb25n
c4 AUTHENTICATE PLAIN
AGFsaWNlAGFsaWNlLXB3
c5 CAPABILITY
IN
tagged c1 "$O" | grep -q '^c1 BAD'; ok $? "AUTHENTICATE cancelled with *"
tagged c2 "$O" | grep -q '^c2 BAD'; ok $? "AUTHENTICATE with bad base64: BAD"
tagged c3 "$O" | grep -q '^c3 NO \[AUTHENTICATIONFAILED\]'; ok $? "AUTHENTICATE PLAIN wrong password"
grep -q '^+ $' "$O"; ok $? "continuation request for the response"
tagged c4 "$O" | grep -q '^c4 OK \[CAPABILITY IMAP4rev1.*\] Logged in$'; ok $? "AUTHENTICATE PLAIN on a continuation line"
lacks "$O" '^\* CAPABILITY .*AUTH=PLAIN' "no AUTH= after login"
tagged c5 "$O" | grep -q '^c5 OK'; ok $? "pipelined command after AUTHENTICATE served by the user process"

# three failures end the session
imap > "$O" <<'IN'
d1 LOGIN alice x
d2 LOGIN alice y
d3 LOGIN alice z
d4 NOOP
IN
grep -q '^\* BYE' "$O" && ! grep -q '^d4' "$O"; ok $? "three failed logins: BYE"

# --- authenticated: folders ---------------------------------------------
for i in 1 2 3 4 5; do msg $i | deliver alice; done
imap > "$O" <<'IN'
e1 LOGIN alice alice-pw
e2 NAMESPACE
e3 LIST "" "INBOX"
e4 LIST "" "Trash"
e5 CREATE Trash
e6 SUBSCRIBE Trash
e7 CREATE Sent
e8 SUBSCRIBE Sent
e9 CREATE "work/2024"
e10 CREATE work/
e11 CREATE Trash
e12 CREATE INBOX
e13 CREATE "../escape"
e14 CREATE "/etc/x"
e15 CREATE "a//b"
e16 CREATE ".hidden"
e17 LIST "" "*"
e18 LIST "" "%"
e19 LIST "" ""
e20 LSUB "" "*"
e21 RENAME work/2024 work/2025
e22 RENAME nosuch other
e23 RENAME Trash Sent
e24 DELETE work
e25 DELETE work/2025
e26 DELETE work
e27 DELETE nosuch
e28 DELETE INBOX
e29 STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)
e30 STATUS nosuch (MESSAGES)
e31 STATUS INBOX (BOGUS)
e32 UNSUBSCRIBE Trash
e33 LSUB "" "*"
e34 CREATE "&AOk-t&AOk-"
e35 CREATE "bad&utf7"
e36 LIST "" "&AOk-t&AOk-"
e37 CHECK
e38 FETCH 1 FLAGS
e39 LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN)
e40 LIST "" "*" RETURN (SPECIAL-USE)
e41 ENABLE X-NOT-AN-EXTENSION
e42 CREATE lvl/one
e44 LIST "lvl/" "%"
e43 LIST "" "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"
IN
grep -q '^\* NAMESPACE (("" "/")) NIL NIL$' "$O"; ok $? "NAMESPACE"
grep -q '^\* LIST (\\HasNoChildren) "/" "INBOX"$' "$O"; ok $? "LIST \"\" INBOX"
tagged e4 "$O" | grep -q '^e4 OK' && ! sed -n '/^e3 /,/^e4 /p' "$O" | grep -q 'Trash'; ok $? "LIST of a missing Trash: nothing"
for t in e5 e6 e7 e8 e9 e21 e25 e26 e32 e34; do tagged $t "$O" | grep -q "^$t OK"; ok $? "$t: $(grep "^$t " "$O" | head -c 60)"; done
tagged e10 "$O" | grep -q '^e10 NO \[ALREADYEXISTS\]'; ok $? "CREATE of an existing directory: ALREADYEXISTS"
tagged e11 "$O" | grep -q '^e11 NO \[ALREADYEXISTS\]'; ok $? "CREATE existing: ALREADYEXISTS"
tagged e12 "$O" | grep -q '^e12 NO \[ALREADYEXISTS\]'; ok $? "CREATE INBOX: ALREADYEXISTS"
for t in e13 e14 e15 e16 e35; do tagged $t "$O" | grep -q "^$t NO \[CANNOT\]"; ok $? "$t: invalid name refused"; done
[ ! -e "$T_TMP/home/alice/escape" ] && [ ! -e /etc/x ] && [ ! -e "$MAILDIR_A/.hidden" ]; ok $? "nothing created outside the folder root"
sed -n '/^e16 /,/^e17 /p' "$O" > "$T_TMP/l"
grep -q '^\* LIST (\\NoInferiors \\Trash) "/" "Trash"$' "$T_TMP/l"; ok $? "LIST * : Trash with \\Trash"
grep -q '^\* LIST (\\NoInferiors \\Sent) "/" "Sent"$' "$T_TMP/l"; ok $? "LIST * : Sent with \\Sent"
grep -q '^\* LIST (\\Noselect \\HasChildren) "/" "work"$' "$T_TMP/l"; ok $? "LIST * : directory is \\Noselect \\HasChildren"
grep -q '"work/2024"$' "$T_TMP/l"; ok $? "LIST * : nested mailbox"
lacks_in 'work/2024' "LIST % does not descend" "$(sed -n '/^e17 /,/^e18 /p' "$O")"
grep -q '^\* LIST (\\Noselect) "/" ""$' "$O"; ok $? "LIST \"\" \"\": the delimiter"
sed -n '/^e19 /,/^e20 /p' "$O" | grep -c '^\* LSUB' | grep -qx 2; ok $? "LSUB lists the two subscriptions"
tagged e22 "$O" | grep -q '^e22 NO \[NONEXISTENT\]'; ok $? "RENAME of a missing mailbox: NONEXISTENT"
tagged e23 "$O" | grep -q '^e23 NO \[ALREADYEXISTS\]'; ok $? "RENAME onto an existing mailbox: ALREADYEXISTS"
tagged e24 "$O" | grep -q '^e24 NO \[CANNOT\]'; ok $? "DELETE of a directory with children: CANNOT"
tagged e27 "$O" | grep -q '^e27 NO \[NONEXISTENT\]'; ok $? "DELETE missing: NONEXISTENT"
tagged e28 "$O" | grep -q '^e28 NO'; ok $? "DELETE INBOX: NO"
grep -q '^\* STATUS "INBOX" (MESSAGES 5 RECENT 5 UIDNEXT 6 UIDVALIDITY [0-9]* UNSEEN 5)$' "$O"; ok $? "STATUS INBOX"
tagged e30 "$O" | grep -q '^e30 NO \[NONEXISTENT\]'; ok $? "STATUS of a missing mailbox"
tagged e31 "$O" | grep -q '^e31 BAD'; ok $? "STATUS with a bad item: BAD"
lacks_in '"Trash"' "UNSUBSCRIBE removes it" "$(sed -n '/^e32 /,/^e33 /p' "$O")"
grep -q '^\* LIST (\\NoInferiors) "/" "&AOk-t&AOk-"$' "$O"; ok $? "modified UTF-7 name"
tagged e38 "$O" | grep -q '^e38 BAD'; ok $? "FETCH without a selected mailbox: BAD"
sed -n '/^e38 /,/^e39 /p' "$O" | grep -q '^\* LIST (.*\\Subscribed) "/" "Sent"'; ok $? "LIST (SUBSCRIBED)"
sed -n '/^e39 /,/^e40 /p' "$O" | grep -q '^\* LIST (\\NoInferiors \\Trash) "/" "Trash"'; ok $? "LIST RETURN (SPECIAL-USE)"
grep -q '^\* ENABLED$' "$O"; ok $? "ENABLE of an unknown extension: empty ENABLED"
sed -n '/^e42 /,/^e44 /p' "$O" | grep -q '^\* LIST (\\NoInferiors) "/" "lvl/one"$'; ok $? "LIST with a reference"
tagged e43 "$O" | grep -q '^e43 OK'; ok $? "LIST with many wildcards ends (no backtracking blow-up)"
printf 'V\t2\n\nSent\n' > "$T_TMP/want"
same_file "$MAILDIR_A/.subscriptions" "$T_TMP/want" "subscriptions in Dovecot's format"

# --- selected: SELECT, FETCH, STORE, SEARCH -------------------------------
imap > "$O" <<'IN'
f1 LOGIN alice alice-pw
f2 SELECT INBOX
f3 FETCH 1:* (UID FLAGS RFC822.SIZE)
f4 UID FETCH 1:* (FLAGS)
f5 UID FETCH 2 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To Received)])
f6 UID FETCH 2 (UID RFC822.SIZE BODY.PEEK[])
f7 FETCH 3 (BODY[TEXT])
f8 FETCH 3 FLAGS
f9 FETCH 4 (BODY[]<0.10> BODY.PEEK[HEADER]<5.3>)
f10 FETCH 5 (RFC822.HEADER RFC822.TEXT)
f11 FETCH 1 fast
f12 STORE 1 +FLAGS (\Deleted)
f13 STORE 2 FLAGS.SILENT (\Answered \Flagged)
f14 UID STORE 3 -FLAGS (\Seen)
f15 STORE 4 +FLAGS ($Label1 Junk)
f16 SEARCH DELETED
f17 SEARCH UNSEEN
f18 UID SEARCH FLAGGED
f19 SEARCH OR ANSWERED DELETED
f20 SEARCH NOT SEEN
f21 SEARCH SUBJECT "message 4"
f22 SEARCH FROM s5
f23 SEARCH HEADER Message-ID "<m2@"
f24 SEARCH BODY "of message 3"
f25 SEARCH LARGER 10 SMALLER 100000
f26 SEARCH KEYWORD Junk
f27 SEARCH UID 2:4 2:*
f28 SEARCH SENTON 27-Nov-2026
f29 SEARCH SINCE 1-Jan-2020 BEFORE 1-Jan-2100
f30 SEARCH CHARSET UTF-8 ALL
f31 SEARCH CHARSET KOI8-R ALL
f32 SEARCH (SEEN FLAGGED) NEW
f33 SEARCH TEXT "Sender 1"
f34 SEARCH BOGUS
f35 FETCH 1 RFC822.SIZE
IN
grep -q '^\* 5 EXISTS$' "$O" && grep -q '^\* 5 RECENT$' "$O"; ok $? "SELECT: EXISTS and RECENT"
grep -q '^\* OK \[UIDVALIDITY [0-9]*\]' "$O" && grep -q '^\* OK \[UIDNEXT 6\]' "$O"; ok $? "SELECT: UIDVALIDITY, UIDNEXT"
grep -q '^\* OK \[PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\\*)\]' "$O"; ok $? "SELECT: PERMANENTFLAGS"
is "$(tagged f2 "$O")" "f2 OK [READ-WRITE] SELECT completed." "SELECT: READ-WRITE"
size=$(msg 1 | sed 's/$/\r/' | wc -c | tr -d ' ')
grep -q "^\* 1 FETCH (UID 1 FLAGS (\\\\Recent) RFC822.SIZE $size)\$" "$O"; ok $? "FETCH UID FLAGS RFC822.SIZE ($size, CRLF)"
grep -q '^\* 2 FETCH (UID 2 RFC822.SIZE [0-9]* FLAGS (\\Recent) BODY\[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To Received)\] {' "$O"; ok $? "Thunderbird's header fetch"
sed -n '/^f5 /,/^f6 /p' "$O" | grep -q '^\* 2 FETCH (UID 2 RFC822.SIZE [0-9]* BODY\[\] {'"$size"'}$'; ok $? "BODY.PEEK[] literal has RFC822.SIZE octets"
sed -n '/^f6 /,/^f7 /p' "$O" | grep -q 'FLAGS (\\Seen \\Recent)'; ok $? "BODY[TEXT] sets \\Seen and reports FLAGS"
sed -n '/^f8 /,/^f9 /p' "$O" | grep -q '^\* 4 FETCH (FLAGS (\\Seen \\Recent) BODY\[\]<0> {10}$'; ok $? "partial BODY[]<0.10>"
sed -n '/^f8 /,/^f9 /p' "$O" | grep -q ' BODY\[HEADER\]<5> {3}$'; ok $? "partial BODY.PEEK[HEADER]<5.3>"
sed -n '/^f9 /,/^f10 /p' "$O" | grep -q 'RFC822.HEADER {' && sed -n '/^f9 /,/^f10 /p' "$O" | grep -q 'RFC822.TEXT {'; ok $? "RFC822.HEADER and RFC822.TEXT"
grep -q '^\* 1 FETCH (FLAGS (\\Recent) INTERNALDATE "[0-9][0-9]-[A-Z][a-z][a-z]-20[0-9][0-9] [0-9:]* [-+][0-9]*" RFC822.SIZE [0-9]*)$' "$O"; ok $? "FETCH FAST"
grep -q '^\* 1 FETCH (FLAGS (\\Deleted \\Recent))$' "$O"; ok $? "STORE +FLAGS reports"
lacks_in '^\* 2 FETCH' "STORE .SILENT is silent" "$(sed -n '/^f12 /,/^f13 /p' "$O")"
grep -q '^\* 3 FETCH (UID 3 FLAGS (\\Recent))$' "$O"; ok $? "UID STORE -FLAGS reports with UID"
grep -q '^\* FLAGS (.*\$Label1 Junk)' "$O" && grep -q '^\* 4 FETCH (FLAGS (\\Seen \\Recent \$Label1 Junk))$' "$O"; ok $? "keywords: new FLAGS, stored"
is "$(sed -n '/^f15 /,/^f16 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 1" "SEARCH DELETED"
is "$(sed -n '/^f16 /,/^f17 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 1 2 3" "SEARCH UNSEEN (RFC822.TEXT set \\Seen on 5)"
is "$(sed -n '/^f17 /,/^f18 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 2" "UID SEARCH FLAGGED"
is "$(sed -n '/^f18 /,/^f19 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 1 2" "SEARCH OR"
is "$(sed -n '/^f19 /,/^f20 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 1 2 3" "SEARCH NOT SEEN"
is "$(sed -n '/^f20 /,/^f21 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 4" "SEARCH SUBJECT"
is "$(sed -n '/^f21 /,/^f22 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 5" "SEARCH FROM"
is "$(sed -n '/^f22 /,/^f23 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 2" "SEARCH HEADER"
is "$(sed -n '/^f23 /,/^f24 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 3" "SEARCH BODY"
is "$(sed -n '/^f24 /,/^f25 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 1 2 3 4 5" "SEARCH LARGER SMALLER"
is "$(sed -n '/^f25 /,/^f26 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 4" "SEARCH KEYWORD"
is "$(sed -n '/^f26 /,/^f27 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 2 3 4" "SEARCH UID sets"
is "$(sed -n '/^f27 /,/^f28 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 1 2 3 4 5" "SEARCH SENTON"
is "$(sed -n '/^f28 /,/^f29 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 1 2 3 4 5" "SEARCH SINCE BEFORE"
tagged f30 "$O" | grep -q '^f30 OK'; ok $? "SEARCH CHARSET UTF-8"
tagged f31 "$O" | grep -q '^f31 NO \[BADCHARSET'; ok $? "SEARCH CHARSET KOI8-R: BADCHARSET"
is "$(sed -n '/^f31 /,/^f32 /p' "$O" | grep '^\* SEARCH')" "* SEARCH" "SEARCH parenthesised, empty result"
is "$(sed -n '/^f32 /,/^f33 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 1" "SEARCH TEXT"
tagged f34 "$O" | grep -q '^f34 BAD'; ok $? "SEARCH with an unknown key: BAD"
lacks "$O" '^X-UID|^X-IMAPbase|^Status:|^X-Keywords' "metadata headers are never shown"
grep -q '^X-IMAPbase: [0-9]* 0000000005' "$SPOOL/alice"; ok $? "UIDs persisted in the mbox"

# a second session: nothing is \Recent any more, flags persisted
imap > "$O" <<'IN'
g1 LOGIN alice alice-pw
g2 EXAMINE INBOX
g3 FETCH 1:* FLAGS
g4 STORE 1 +FLAGS (\Seen)
g5 EXPUNGE
g6 FETCH 3 BODY[TEXT]
g7 FETCH 3 FLAGS
IN
grep -q '^\* 0 RECENT$' "$O"; ok $? "\\Recent is seen by one session only"
is "$(tagged g2 "$O")" "g2 OK [READ-ONLY] EXAMINE completed." "EXAMINE: READ-ONLY"
grep -q '^\* 1 FETCH (FLAGS (\\Deleted))$' "$O" && grep -q '^\* 2 FETCH (FLAGS (\\Answered \\Flagged))$' "$O"; ok $? "flags persisted across sessions"
tagged g4 "$O" | grep -q '^g4 NO \[READ-ONLY\]'; ok $? "STORE in EXAMINE: NO"
tagged g5 "$O" | grep -q '^g5 NO'; ok $? "EXPUNGE in EXAMINE: NO"
lacks_in '\\Seen' "EXAMINE: BODY[] does not set \\Seen" "$(sed -n '/^g6 /,/^g7 /p' "$O")"

# --- sequence sets ----------------------------------------------------------
imap > "$O" <<'IN'
h1 LOGIN alice alice-pw
h2 SELECT INBOX
h3 FETCH 0 FLAGS
h4 FETCH 6 FLAGS
h5 FETCH 4:2 UID
h6 FETCH *:4 UID
h7 UID FETCH 4:99 UID
h8 UID FETCH 99:* UID
h9 FETCH 1,,2 UID
h10 FETCH a:b UID
h11 FETCH 1: UID
h12 FETCH 4294967296 UID
h13 FETCH 1 (FLAGS
h14 FETCH 1 BODY[FOO]
h15 FETCH 1 (BODY[]<1.0>)
h16 UID FETCH 2,4,1 UID
h17 STORE 1 +FLAGS (\Recent)
h18 STORE 1 +FLAGS (\Bogus)
h19 STORE 1 BADITEM (\Seen)
h20 COPY 9 Trash
IN
for t in h3 h4 h9 h10 h11 h12 h13 h14 h15 h17 h18 h19 h20; do tagged $t "$O" | grep -q "^$t BAD"; ok $? "$t BAD: $(sed -n "s/^$t //p" "$T_TMP/out" | head -c 40)"; done
is "$(sed -n '/^h4 /,/^h5 /p' "$O" | grep -c '^\*')" 3 "range given backwards (4:2)"
is "$(sed -n '/^h5 /,/^h6 /p' "$O" | grep -c '^\*')" 2 "*:4"
is "$(sed -n '/^h6 /,/^h7 /p' "$O" | grep -c '^\*')" 2 "UID range past the end"
is "$(sed -n '/^h7 /,/^h8 /p' "$O" | grep '^\*')" "* 5 FETCH (UID 5)" "UID 99:* matches the last message (RFC 3501 6.4.8)"
is "$(sed -n '/^h15 /,/^h16 /p' "$O" | grep -c '^\*')" 3 "UID set out of order"

# --- COPY, MOVE, EXPUNGE, CLOSE, UNSELECT -----------------------------------
imap > "$O" <<'IN'
i1 LOGIN alice alice-pw
i2 SELECT INBOX
i3 COPY 2:3 Trash
i4 COPY 1 nosuch
i5 UID MOVE 4 Sent
i6 EXPUNGE
i7 UID EXPUNGE 5
i8 FETCH 1:* UID
i9 UNSELECT
i10 SELECT Trash
i11 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])
i12 STORE 1 +FLAGS (\Deleted)
i13 CLOSE
i14 STATUS Trash (MESSAGES)
i14b CREATE dirx/
i15 SELECT dirx
i16 SELECT nosuch
IN
tagged i3 "$O" | grep -q '^i3 OK \[COPYUID [0-9]* 2,3 1,2\] COPY completed\.$'; ok $? "COPY with COPYUID"
tagged i4 "$O" | grep -q '^i4 NO \[TRYCREATE\]'; ok $? "COPY to a missing mailbox: TRYCREATE"
grep -q '^\* OK \[COPYUID [0-9]* 4 1\] Moved\.$' "$O" && grep -q '^\* 4 EXPUNGE$' "$O"; ok $? "MOVE: COPYUID then EXPUNGE"
grep -q '^\* 1 EXPUNGE$' "$O"; ok $? "EXPUNGE of the \\Deleted message"
is "$(sed -n '/^i7 /,/^i8 /p' "$O" | grep '^\*')" "* 1 FETCH (UID 2)
* 2 FETCH (UID 3)
* 3 FETCH (UID 5)" "UID EXPUNGE 5 left 5 alone (not \\Deleted)"
grep -q '^\* 2 FETCH (UID 2 FLAGS (\\Recent) BODY\[HEADER.FIELDS (Subject)\] {22}$' "$O"; ok $? "copied message in Trash with its flags"
grep -q '^\* STATUS "Trash" (MESSAGES 1)$' "$O"; ok $? "CLOSE expunged silently"
lacks_in EXPUNGE "CLOSE sends no EXPUNGE" "$(sed -n '/^i12 /,/^i13 /p' "$O")"
tagged i15 "$O" | grep -q '^i15 NO \[CANNOT\]'; ok $? "SELECT of a directory: CANNOT"
tagged i16 "$O" | grep -q '^i16 NO \[NONEXISTENT\]'; ok $? "SELECT missing: NONEXISTENT"

# --- APPEND and literals ----------------------------------------------------
printf 'Subject: bare lf\n\n8bit: \303\251t\303\251\n' > "$T_TMP/m1"
n1=$(wc -c < "$T_TMP/m1" | tr -d ' ')
{
	printf 'j1 LOGIN {5}\r\nalice {8}\r\nalice-pw\r\n'
	printf 'j2 APPEND Sent (\\Seen $Sent) "27-Nov-2026 10:00:00 +0100" {%s}\r\n' "$n1"; cat "$T_TMP/m1"; printf '\r\n'
	printf 'j3 APPEND Sent {%s+}\r\n' "$n1"; cat "$T_TMP/m1"; printf '\r\n'
	printf 'j4 APPEND Sent {10+}\r\nab\000cdefghi\r\n'
	printf 'j5 APPEND nosuch {3+}\r\nabc\r\n'
	printf 'j6 APPEND Sent {99999999}\r\n'
	printf 'j7 APPEND Sent (\\Bogus) {3+}\r\nabc\r\n'
	printf 'j8 APPEND Sent "bad date" {3+}\r\nabc\r\n'
	printf 'j9 SELECT Sent\r\nj10 FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)\r\n'
	printf 'j11 LOGOUT\r\n'
} > "$T_TMP/in"
imap_raw < "$T_TMP/in" | nocr > "$O"
tagged j1 "$O" | grep -q '^j1 OK'; ok $? "LOGIN with synchronising literals"
[ "$(grep -c '^+ ' "$O")" -ge 3 ]; ok $? "continuation requests for synchronising literals"
tagged j2 "$O" | grep -q '^j2 OK \[APPENDUID [0-9]* 2\] APPEND completed\.$'; ok $? "APPEND with flags and date: APPENDUID"
tagged j3 "$O" | grep -q '^j3 OK \[APPENDUID [0-9]* 3\]'; ok $? "APPEND with a LITERAL+ literal"
tagged j4 "$O" | grep -q '^j4 NO'; ok $? "APPEND with a NUL byte: NO"
tagged j5 "$O" | grep -q '^j5 NO \[TRYCREATE\]'; ok $? "APPEND to a missing mailbox: TRYCREATE"
tagged j6 "$O" | grep -q '^j6 NO \[LIMIT\]'; ok $? "literal over message_size_limit: NO [LIMIT] before any byte"
tagged j7 "$O" | grep -q '^j7 BAD'; ok $? "APPEND with a bad flag: BAD"
tagged j8 "$O" | grep -q '^j8 BAD'; ok $? "APPEND with a bad date: BAD"
grep -q '^\* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent \$Sent) INTERNALDATE "27-Nov-2026 [0-9:]* [-+][0-9]*" RFC822.SIZE '"$((n1 + 3))"')$' "$O"; ok $? "appended message: flags, date, size with CRLF"
is "$(grep -c '^From ' "$MAILDIR_A/Sent")" 3 "Sent holds exactly three messages"
grep -q "$(printf '\303\251t\303\251')" "$MAILDIR_A/Sent"; ok $? "8-bit data stored as given"

# before login, literals are small
printf 'k0 LOGIN {100000}\r\nk1 CAPABILITY\r\n' | imap_raw | nocr > "$O"
tagged k0 "$O" | grep -q '^k0 NO \[LIMIT\]' && tagged k1 "$O" | grep -q '^k1 OK'; ok $? "a big literal before login: NO [LIMIT], session goes on"
# oversize LITERAL+: BAD [TOOBIG] and the connection closes; nothing stored
before=$(wc -c < "$MAILDIR_A/Sent")
printf 'k1 LOGIN alice alice-pw\r\nk2 APPEND Sent {99999999+}\r\nabc\r\nk3 NOOP\r\n' | imap_raw | nocr > "$O"
tagged k2 "$O" | grep -q '^k2 BAD \[TOOBIG\]' && grep -q '^\* BYE' "$O" && ! grep -q '^k3' "$O"; ok $? "oversize LITERAL+: BAD [TOOBIG], BYE"
# disconnect in the middle of a literal: nothing stored
printf 'k1 LOGIN alice alice-pw\r\nk2 APPEND Sent {100+}\r\nonly a part' | imap_raw > /dev/null
is "$(wc -c < "$MAILDIR_A/Sent")" "$before" "disconnect mid-literal stores nothing"

# overlong line, NUL in a command, bad tags
{
	printf 'l1 LOGIN alice alice-pw\r\n'
	printf 'l2 NOOP %070000d\r\n' 0
	printf 'l3 NOOP\r\n'
	printf 'l4 SELECT IN\000BOX\r\n'
	printf '+plus NOOP\r\n'
	printf '\r\n'
	printf 'l5 noop\n'
	printf 'l6 LOGOUT\r\n'
} | imap_raw | nocr > "$O"
tagged l2 "$O" | grep -q '^l2 BAD \[TOOBIG\]'; ok $? "overlong line: BAD [TOOBIG], tagged (the client waits for its tag)"
tagged l3 "$O" | grep -q '^l3 OK'; ok $? "session goes on after an overlong line"
tagged l4 "$O" | grep -q '^l4 \(BAD\|NO\)'; ok $? "NUL in a command: refused"
grep -q '^\* BAD Missing or invalid tag' "$O"; ok $? "bad tag: untagged BAD"
tagged l5 "$O" | grep -q '^l5 OK'; ok $? "bare LF line end accepted, verbs case-insensitive"

# UID 0 / missing uid mailbox: a Postfix-written INBOX without metadata gets UIDs
cp "$SPOOL/alice" "$T_TMP/alice.before"
printf 'From x@y  Fri Nov 27 10:00:00 2026\nSubject: p\n\nplain\n\n' | mkfolder alice plain
imap > "$O" <<'IN'
m1 LOGIN alice alice-pw
m2 SELECT plain
m3 UID FETCH 1:* (UID BODY.PEEK[])
IN
grep -q '^\* 1 FETCH (UID 1 BODY\[\] {' "$O" && grep -q '^X-UID: 1' "$MAILDIR_A/plain"; ok $? "UIDs assigned and persisted before they are shown"

# IDLE with a delivery during it
sess_start imapd idle 3
say 3 "n1 LOGIN alice alice-pw" "n2 SELECT INBOX" "n3 IDLE"
expect '^+ idling' idle; ok $? "IDLE: continuation"
msg 9 | deliver alice
expect '^\* 4 EXISTS' idle; ok $? "IDLE: a delivery shows up as EXISTS"
printf 'n1 LOGIN alice alice-pw\nn2 SELECT INBOX\nn3 STORE 4 +FLAGS (\\Deleted \\Flagged)\nn4 EXPUNGE\n' | imap > /dev/null
expect '^\* 4 EXPUNGE' idle; ok $? "IDLE: an expunge elsewhere shows up as EXPUNGE"
say 3 "DONE"
expect '^n3 OK' idle; ok $? "IDLE: DONE ends it"
say 3 "n4 LOGOUT"
sess_end idle 3

# flags changed and messages expunged by another session show up at NOOP
sess_start imapd w 5
say 5 "w1 LOGIN alice alice-pw" "w2 SELECT INBOX"
expect '^w2 OK' w; ok $? "watcher selected INBOX"
imap > "$O" <<'IN'
o1 LOGIN alice alice-pw
o2 SELECT INBOX
o3 STORE 1 FLAGS (\Flagged)
o4 STORE 2 +FLAGS (\Deleted)
o5 EXPUNGE
IN
say 5 "w3 NOOP"
expect '^w3 OK' w
nocr < "$T_TMP/w.out" | grep -q '^\* 1 FETCH (FLAGS (\\Flagged))$'; ok $? "another session's STORE: FETCH FLAGS"
nocr < "$T_TMP/w.out" | grep -q '^\* 2 EXPUNGE$'; ok $? "another session's EXPUNGE: EXPUNGE"
# no EXPUNGE while a FETCH by sequence number runs (RFC 3501 7.4.1)
imap > /dev/null <<'IN'
o1 LOGIN alice alice-pw
o2 SELECT INBOX
o3 STORE 1 +FLAGS (\Deleted)
o4 EXPUNGE
IN
say 5 "w4 FETCH 1 FLAGS"
expect '^w4 ' w
lacks_in '^\* [0-9]* EXPUNGE' "no EXPUNGE during FETCH by sequence number" "$(sed -n '/^w3 /,/^w4 /p' "$T_TMP/w.out")"
say 5 "w5 UID FETCH 1:* UID"
expect '^w5 ' w
nocr < "$T_TMP/w.out" | sed -n '/^w4 /,/^w5 /p' | grep -q '^\* 1 EXPUNGE$'; ok $? "the held-back EXPUNGE comes with the next UID command"
# a mailbox rebuilt behind our back (new UIDVALIDITY): BYE, never wrong data
uv=$(sed -n 's/^X-IMAPbase: \([0-9]*\) .*/\1/p' "$SPOOL/alice")
as_user alice sed -i "s/^X-IMAPbase: $uv /X-IMAPbase: $((uv + 7)) /" "$SPOOL/alice"
say 5 "w6 NOOP"
expect '^\* BYE' w; ok $? "UIDVALIDITY changed elsewhere: BYE [UIDVALIDITY]"
grep -q '^\* BYE \[UIDVALIDITY' "$T_TMP/w.out"; ok $? "the BYE names the new UIDVALIDITY"
sess_end w 5

# a mailbox locked by another agent: NO [INUSE] after lock_timeout
conf_set lock_timeout 1
as_user_bg "$B/t/bin/mboxtool" lock "$SPOOL/alice" write 30 > "$T_TMP/lock.out" &
LPID=$!
wait_for locked "$T_TMP/lock.out"
imap > "$O" <<'IN'
p1 LOGIN alice alice-pw
p2 SELECT INBOX
p3 STATUS INBOX (MESSAGES)
IN
kill "$LPID"; wait "$LPID" 2> /dev/null
conf_set lock_timeout 20
tagged p2 "$O" | grep -q '^p2 NO \[INUSE\]'; ok $? "SELECT of a locked mailbox: NO [INUSE]"
tagged p3 "$O" | grep -q '^p3 NO \[INUSE\]'; ok $? "STATUS of a locked mailbox: NO [INUSE]"

# RENAME INBOX moves the messages and leaves INBOX empty
n=$(grep -c '^From ' "$SPOOL/alice")
imap > "$O" <<'IN'
q1 LOGIN alice alice-pw
q2 RENAME INBOX "Old mail"
q3 STATUS INBOX (MESSAGES)
q4 STATUS "Old mail" (MESSAGES)
q5 SELECT Trash
q6 DELETE Trash
q7 NOOP
q8 FETCH 1 FLAGS
IN
tagged q2 "$O" | grep -q '^q2 OK'; ok $? "RENAME INBOX"
grep -q '^\* STATUS "INBOX" (MESSAGES 0)$' "$O"; ok $? "INBOX is empty after RENAME INBOX"
grep -q "^\\* STATUS \"Old mail\" (MESSAGES $n)\$" "$O"; ok $? "the new mailbox holds INBOX's $n messages"
tagged q6 "$O" | grep -q '^q6 OK' && tagged q8 "$O" | grep -q '^q8 BAD'; ok $? "DELETE of the selected mailbox deselects it"

# autologout: a silent client gets BYE after imap_timeout (shorter before login)
conf_set imap_timeout 2
sess_start imapd t 6
say 6 "t1 LOGIN alice alice-pw"
expect '^t1 OK' t; ok $? "logged in"
expect '^\* BYE Autologout' t; ok $? "idle client: BYE Autologout"
eval "exec 6>&-"; eval "wait \$SESS_PID_t"
sess_start imapd u 6
expect '^\* BYE Autologout' u; ok $? "silent client before login: BYE Autologout"
eval "exec 6>&-"; eval "wait \$SESS_PID_u"
conf_set imap_timeout 1800

# --- what Thunderbird sends (observed against Dovecot), in one piped session
mkbox carol < /dev/null
for i in 1 2 3; do msg $i | deliver carol; done
{
	printf '1 capability\r\n2 authenticate PLAIN\r\n'
	printf '\000carol\000carol-pw' | base64 | tr -d '\n'; printf '\r\n'
	printf '3 namespace\r\n4 ID ("name" "Thunderbird" "version" "153.0")\r\n'
	printf '5 list "" "INBOX"\r\n6 list "" "Trash"\r\n7 create "Trash"\r\n8 subscribe "Trash"\r\n'
	printf '9 create "Sent"\r\n10 subscribe "Sent"\r\n11 lsub "" "*"\r\n12 select "INBOX"\r\n'
	printf '13 UID fetch 1:* (FLAGS)\r\n'
	printf '14 UID fetch 3 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To Received)])\r\n'
	printf '15 UID fetch 3 (UID RFC822.SIZE BODY.PEEK[])\r\n16 IDLE\r\nDONE\r\n17 noop\r\n'
	printf '18 UID fetch 4:* (FLAGS)\r\n19 check\r\n20 uid store 3 +Flags (\\Seen)\r\n'
	printf '21 append "Sent" (\\Seen) {36+}\r\nSubject: sent by tb\r\n\r\nhello there\r\n\r\n'
	printf '22 UID fetch 3 (FLAGS)\r\n'
} | imap_raw | nocr > "$O"
for t in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22; do
	tagged $t "$O" | grep -q "^$t OK" || { diag "$(tagged $t "$O")"; break; }
done
is "$t" 22 "Thunderbird's dialogue: every command OK"
tagged 2 "$O" | grep -q '^2 OK \[CAPABILITY IMAP4rev1 '; ok $? "Thunderbird: CAPABILITY in the login reply"
tagged 21 "$O" | grep -q '^21 OK \[APPENDUID [0-9]* 1\]'; ok $? "Thunderbird: APPEND LITERAL+ gets APPENDUID"
grep -q '^\* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent))$' "$O"; ok $? "Thunderbird: UID STORE +Flags (\\Seen)"
is "$(sed -n '/^17 /,/^18 /p' "$O" | grep -c '^\* [0-9]* FETCH (UID 3 FLAGS')" 1 "UID fetch n+1:* past the end returns the last message"

# --- structure from libmime: ENVELOPE, BODYSTRUCTURE, part sections, decoded SEARCH
mkbox bob < /dev/null
printf 'From: "Joe" <joe@x.test>\nTo: a@b.test\nSubject: =?UTF-8?Q?caf=C3=A9?=\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nhello\n--XX\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nd=C3=A9j=C3=A0 vu\n--XX--\n' | deliver bob
imap > "$O" <<'IN'
r1 LOGIN bob bob-pw
r2 SELECT INBOX
r3 FETCH 1 (ENVELOPE)
r4 FETCH 1 BODYSTRUCTURE
r5 FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME])
r6 FETCH 1 FULL
r7 SEARCH SUBJECT "café"
r8 SEARCH BODY "DÉJÀ"
r9 SEARCH TEXT "joe@x"
r10 FETCH 1 BODY.PEEK[1.2.3]
r11 FETCH 1 BODY.PEEK[0]
r12 FETCH 1 (BODY[1]<1.3>)
IN
grep -q '^\* 1 FETCH (ENVELOPE (NIL "=?UTF-8?Q?caf=C3=A9?=" (("Joe" NIL "joe" "x.test"))' "$O"; ok $? "ENVELOPE"
grep -q '^\* 1 FETCH (BODYSTRUCTURE (("text" "plain" .*"mixed" ("boundary" "XX")' "$O"; ok $? "BODYSTRUCTURE"
grep -q '^\* 1 FETCH (BODY\[1\] {5}$' "$O" && grep -q '^hello BODY\[2.MIME\] {' "$O"; ok $? "BODY[1] and BODY[2.MIME]"
tagged r6 "$O" | grep -q '^r6 OK' && grep -q 'RFC822.SIZE [0-9]* ENVELOPE (.* BODY ((' "$O"; ok $? "FETCH FULL"
is "$(sed -n '/^r6 /,/^r7 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 1" "SEARCH SUBJECT on an RFC 2047 subject"
is "$(sed -n '/^r7 /,/^r8 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 1" "SEARCH BODY in a quoted-printable part, any case"
is "$(sed -n '/^r8 /,/^r9 /p' "$O" | grep '^\* SEARCH')" "* SEARCH 1" "SEARCH TEXT matches a header"
grep -q '^\* 1 FETCH (BODY\[1.2.3\] {0}$' "$O"; ok $? "a part that does not exist: empty string"
tagged r11 "$O" | grep -q '^r11 BAD'; ok $? "part number 0: BAD"
grep -q ' BODY\[1\]<1> {3}$' "$O"; ok $? "partial of a part"

# an INBOX the MTA has not created yet, in Debian's root:mail 2775 spool
# (imapd could create it with the mail group, and must not)
rm -f "$SPOOL/carol"
sess_start imapd v 7
say 7 "v1 LOGIN carol carol-pw" "v2 SELECT INBOX"
expect '^v2 ' v
nocr < "$T_TMP/v.out" | grep -q '^\* 0 EXISTS$' && grep -q '^v2 OK \[READ-WRITE\]' "$T_TMP/v.out"; ok $? "missing INBOX: selected, empty"
[ ! -e "$SPOOL/carol" ]; ok $? "imapd created no spool file"
msg 1 | deliver carol
say 7 "v3 NOOP"
expect '^v3 OK' v
nocr < "$T_TMP/v.out" | grep -q '^\* 1 EXISTS$'; ok $? "first delivery shows up as EXISTS"
say 7 "v4 UID FETCH 1:* (UID FLAGS)" "v5 LOGOUT"
expect '^v5 OK' v
nocr < "$T_TMP/v.out" | grep -q '^\* 1 FETCH (UID 1 FLAGS (\\Recent))$'; ok $? "the new message has UID 1 and is \\Recent"
eval "exec 7>&-"; eval "wait \$SESS_PID_v"

# an expunge and a delivery between two commands: EXPUNGE, then EXISTS
mkbox bob < /dev/null
for i in 1 2 3; do msg $i | deliver bob; done
sess_start imapd y 7
say 7 "y1 LOGIN bob bob-pw" "y2 SELECT INBOX"
expect '^y2 OK' y
imap > /dev/null <<'IN'
z1 LOGIN bob bob-pw
z2 SELECT INBOX
z3 STORE 2 +FLAGS (\Deleted)
z4 EXPUNGE
IN
msg 4 | deliver bob
say 7 "y3 NOOP" "y4 LOGOUT"
expect '^y4 OK' y
eval "exec 7>&-"; eval "wait \$SESS_PID_y"
is "$(nocr < "$T_TMP/y.out" | sed -n '/^y2 /,/^y3 /p' | grep '^\*' | tr '\n' ' ')" "* 2 EXPUNGE * 3 EXISTS * 3 RECENT " "expunge plus delivery: EXPUNGE then EXISTS 3"

done_testing
