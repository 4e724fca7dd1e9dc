#!/bin/sh
# Issue 14, the two compliance bugs.
# 1. UIDVALIDITY is never reused for a name (RFC 3501 2.3.1.1): DELETE,
#    CREATE and APPEND within one second give a larger value, from the
#    per-user state ~/mail/.imap/dovecot-uidvalidity, shared with Dovecot
#    serving the same home (each then continues above the other).
# 2. SEARCH FROM/TO/CC/BCC match on the parsed address too: comments and
#    folding inside the local part or the domain; same hits as Dovecot.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
H=$T_TMP/home/alice
DOVECOT=/usr/lib/dovecot/imap
have_dovecot() { [ -x "$DOVECOT" ] && { [ "$(id -u)" = 0 ] || [ "$(id -u)" -ge 500 ]; }; }
dovecot() {
	as_user alice env -i USER=alice HOME="$H" PATH=/usr/bin:/bin "$DOVECOT" \
		-o "mail_location=mbox:$H/mail:INBOX=$SPOOL/alice" 2>> "$T_TMP/dovecot.err" | nocr
}
uv() { sed -n "s/^\* STATUS \"\{0,1\}$1\"\{0,1\} (.*UIDVALIDITY \([0-9]*\).*/\1/p" "$2"; }
: | mkbox alice

imap > "$T_TMP/uv.out" <<'IN'
a1 LOGIN alice alice-pw
a2 CREATE Foo
a3 APPEND Foo {19+}
Subject: first

x
a4 STATUS Foo (UIDVALIDITY UIDNEXT)
a5 DELETE Foo
a6 CREATE Foo
a7 APPEND Foo {20+}
Subject: second

y
a8 STATUS Foo (UIDVALIDITY UIDNEXT)
a9 DELETE Foo
b1 CREATE Foo
b2 APPEND Foo {19+}
Subject: third

z
b3 STATUS Foo (UIDVALIDITY UIDNEXT)
IN
set -- $(uv Foo "$T_TMP/uv.out")
is "$#" 3 "three STATUS replies"
[ "${1:-0}" -gt 0 ] && [ "${2:-0}" -gt "${1:-0}" ] && [ "${3:-0}" -gt "${2:-0}" ]
ok $? "DELETE, CREATE, APPEND in the same second: UIDVALIDITY grows ($*)"
grep -q '^a7 OK \[APPENDUID '"${2:-x}"' 1\]' "$T_TMP/uv.out"; ok $? "APPENDUID names the new UIDVALIDITY"
is "$(cat "$H/mail/.imap/dovecot-uidvalidity" 2>/dev/null)" "$(printf '%08x' "${3:-0}")" "state file holds the last value, Dovecot's format"
[ -e "$H/mail/.imap/dovecot-uidvalidity.$(printf '%08x' "${3:-0}")" ]; ok $? "and the counter file named after it"
last=${3:-0}

# a mailbox Postfix or procmail created without metadata gets one too
printf 'From a@b  Fri Nov 27 10:00:00 2026\nSubject: p\n\nbody\n\n' > "$H/mail/Procmail"
if [ "$(id -u)" = 0 ]; then chown "$IMAP_UID:$IMAP_GID" "$H/mail/Procmail"; fi
printf 'c1 LOGIN alice alice-pw\nc2 STATUS Procmail (UIDVALIDITY)\n' | imap > "$T_TMP/uv2.out"
v=$(uv Procmail "$T_TMP/uv2.out")
[ "${v:-0}" -gt "$last" ]; ok $? "a mailbox without X-IMAPbase gets the next value too ($v > $last)"
last=${v:-$last}

if have_dovecot; then
	printf 'd1 CREATE Bar\nd2 APPEND Bar {9+}\nSubject:x\nd3 STATUS Bar (UIDVALIDITY)\nd4 LOGOUT\n' | crlf | dovecot > "$T_TMP/d.out"
	dv=$(uv Bar "$T_TMP/d.out")
	[ "${dv:-0}" -gt "$last" ]; ok $? "Dovecot in the same home continues above facteur ($dv > $last)"
	printf 'e1 LOGIN alice alice-pw\ne2 CREATE Baz\ne3 APPEND Baz {9+}\nSubject:x\ne4 STATUS Baz (UIDVALIDITY)\n' | imap > "$T_TMP/uv3.out"
	fv=$(uv Baz "$T_TMP/uv3.out")
	[ "${fv:-0}" -gt "${dv:-0}" ]; ok $? "and facteur above Dovecot ($fv > $dv)"
else
	skip "dovecot-imapd not installed"; skip "dovecot-imapd not installed"
fi
# bad state: a junk file, an unwritable directory: the command still works
: > "$H/mail/.imap/dovecot-uidvalidity.zzzzzzzz"
printf 'f1 LOGIN alice alice-pw\nf2 CREATE Qux\nf3 APPEND Qux {9+}\nSubject:x\nf4 STATUS Qux (UIDVALIDITY)\n' | imap > "$T_TMP/uv4.out"
v=$(uv Qux "$T_TMP/uv4.out")
[ "${v:-0}" -gt "$last" ]; ok $? "a junk name in the state directory is ignored"

# ---- 2. SEARCH on parsed addresses
cat > "$T_TMP/msgs" <<'EOF2'
From: <user-from (comment)@ (comment) domain.org>
To: "Some One" <some (x) . one @ example (y) . test>
Cc: list: member (the member) @ lists.example.test;
Subject: addresses with comments

one
EOF2
{ cat "$T_TMP/msgs"; } | deliver alice
printf 'From: Plain <user-from@domain.org>\nSubject: plain\n\ntwo\n' | deliver alice
printf 'From: Other <other@domain.org>\nSubject: other\n\nthree\n' | deliver alice
cat > "$T_TMP/search" <<'IN'
SEARCH FROM user-from@domain.org
SEARCH FROM "user-from (comment)@"
SEARCH TO some.one@example.test
SEARCH TO "Some One <some.one@"
SEARCH CC member@lists.example.test
SEARCH FROM domain.org
SEARCH BCC user-from@domain.org
SEARCH FROM nobody@domain.org
IN
{ echo "s0 LOGIN alice alice-pw"; echo "s00 EXAMINE INBOX"; awk '{ print "s" NR " " $0 }' "$T_TMP/search"; } | imap > "$T_TMP/s.out"
res() { grep '^\* SEARCH' "$1" | sed 's/ *$//'; }
res "$T_TMP/s.out" > "$T_TMP/s.res"
is "$(sed -n 1p "$T_TMP/s.res")" "* SEARCH 1 2" "FROM user-from@domain.org matches the address with comments"
is "$(sed -n 2p "$T_TMP/s.res")" "* SEARCH 1" "the raw header text still matches"
is "$(sed -n 3p "$T_TMP/s.res")" "* SEARCH 1" "TO with folding and comments around the dots"
is "$(sed -n 4p "$T_TMP/s.res")" "* SEARCH 1" "the display name with the address"
is "$(sed -n 5p "$T_TMP/s.res")" "* SEARCH 1" "CC inside a group"
is "$(sed -n 6p "$T_TMP/s.res")" "* SEARCH 1 2 3" "FROM on the domain"
is "$(sed -n 7p "$T_TMP/s.res")" "* SEARCH" "BCC absent: no match"
is "$(sed -n 8p "$T_TMP/s.res")" "* SEARCH" "FROM nobody: no match"
if have_dovecot; then
	{ echo "s00 EXAMINE INBOX"; awk '{ print "s" NR " " $0 }' "$T_TMP/search"; echo "s99 LOGOUT"; } | crlf | dovecot > "$T_TMP/ds.out"
	res "$T_TMP/ds.out" > "$T_TMP/ds.res"
	# Dovecot matches only the parsed form, and its parser keeps comments
	# between the dots of a local part: lines 2-4 are ours alone
	sed 2,4d "$T_TMP/s.res" > "$T_TMP/s.cmp"; sed 2,4d "$T_TMP/ds.res" > "$T_TMP/ds.cmp"
	same_file "$T_TMP/s.cmp" "$T_TMP/ds.cmp" "the same hits as Dovecot for the issue's address, groups, domains"
else
	skip "dovecot-imapd not installed"
fi
done_testing
