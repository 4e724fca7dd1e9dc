#!/bin/sh
# The same sessions sent in one write (pipelined) and one byte per read
# (t/bin/trickle): the parser must give byte-identical replies at every
# split point, literals and bad input included.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
[ -x "$B/t/bin/trickle" ] || skip_all "t/bin/trickle not built"
for i in 1 2 3 4; do msg $i | deliver alice; done
printf 'From x@y  Fri Nov 27 10:00:00 2026\nSubject: w\n\nwork\n\n' | mkfolder alice Work
# claim \Recent and assign UIDs once, so the compared sessions are read-only
printf 'a LOGIN alice alice-pw\nb SELECT INBOX\nc SELECT Work\n' | imap > /dev/null

{
	printf 'x1 CAPABILITY\r\n'
	printf 'x2 LOGIN {5}\r\nalice {8+}\r\nalice-pw\r\n'
	printf 'x3 EXAMINE "INBOX"\r\n'
	printf 'x4 FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (From Subject)])\r\n'
	printf 'x5 UID FETCH 2:* (BODY.PEEK[] BODY.PEEK[TEXT]<2.5>)\r\n'
	printf 'x6 SEARCH OR SUBJECT {9}\r\nmessage 2 FROM "s3"\r\n'
	printf 'x7 LIST "" *\r\nx8 STATUS Work (MESSAGES UIDNEXT)\r\n'
	printf 'x9 FETCH 0 FLAGS\r\nx10 SELECT IN\000BOX\r\nx11 FROB\r\n\r\n'
	printf 'x12 FETCH 1 (BODY[HEADER.FIELDS (Subject\r\n'
	printf 'x13 ID NIL\nx14 NAMESPACE\r\nx15 LOGOUT\r\n'
} > "$T_TMP/in"
imap_raw < "$T_TMP/in" > "$T_TMP/one"
"$B/t/bin/trickle" "$B/imapd" -c "$FCONF" < "$T_TMP/in" > "$T_TMP/trickled"
ok $? "trickled session ran"
grep -q '^x15 OK' "$T_TMP/one"; ok $? "single-write session completed"
same_file "$T_TMP/trickled" "$T_TMP/one" "byte-at-a-time replies are identical"
is "$(grep -c '^+ ' "$T_TMP/one")" 2 "two continuation requests (synchronising literals only)"
done_testing
