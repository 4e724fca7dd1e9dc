#!/bin/sh
# CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267): RETURN (PARTIAL n:m) of SEARCH
# and SORT, RETURN (UPDATE) with ADDTO/REMOVEFROM as flags change (this
# session's STORE, another agent's change seen while idling), new mail
# arrives and messages are expunged, CANCELUPDATE; PARTIAL put to Dovecot
# on a copy of the mailbox; bad input.  Piped sessions, no network.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
O=$T_TMP/out
mkbox alice < /dev/null
for i in 1 2 3 4 5 6; do msg $i | as_user alice "$B/t/bin/mboxtool" append "$SPOOL/alice" > /dev/null; done
# esr TAG: the ESEARCH lines of TAG, joined by "|"
esr() { grep "^\\* ESEARCH (TAG \"$1\")" "${2:-$O}" | tr '\n' '|' | sed 's/|$//'; }
st() { awk -v t="$1" '$1 == t { print $2; exit }' "${2:-$O}"; }

imap > "$O" <<'IN'
a LOGIN alice alice-pw
a2 CAPABILITY
b SELECT INBOX
c SEARCH RETURN (UPDATE COUNT) UNSEEN
d STORE 2 +FLAGS (\Seen)
e NOOP
f UID SORT RETURN (UPDATE ALL) (REVERSE SUBJECT) UTF-8 UNSEEN
g STORE 3,5 +FLAGS (\Seen)
h STORE 2 -FLAGS (\Seen)
i NOOP
j CANCELUPDATE "c" "f"
k STORE 1 +FLAGS (\Seen)
l NOOP
m SEARCH RETURN (PARTIAL 2:3) ALL
n SEARCH RETURN (PARTIAL 3:2 COUNT) UNSEEN
o UID SEARCH RETURN (PARTIAL 1:2 MIN) ALL
q SORT RETURN (PARTIAL 1:2) (REVERSE SUBJECT) UTF-8 ALL
q2 SORT RETURN (PARTIAL 10:20) (SUBJECT) UTF-8 ALL
q3 SEARCH RETURN (CONTEXT COUNT) ALL
r CANCELUPDATE "zz"
w SEARCH RETURN (UPDATE) DELETED
x STORE 4 +FLAGS (\Deleted)
y EXPUNGE
y2 NOOP
IN
grep -q '^\* CAPABILITY .* ESORT .*CONTEXT=SEARCH CONTEXT=SORT' "$O"; ok $? "CAPABILITY lists ESORT CONTEXT=SEARCH CONTEXT=SORT"
is "$(esr c)" '* ESEARCH (TAG "c") COUNT 6|* ESEARCH (TAG "c") REMOVEFROM (0 2)|* ESEARCH (TAG "c") REMOVEFROM (0 3,5)|* ESEARCH (TAG "c") ADDTO (0 2)' \
	"SEARCH RETURN (UPDATE COUNT): the count, then REMOVEFROM and ADDTO as flags change"
is "$(esr f)" '* ESEARCH (TAG "f") UID ALL 6,5,4,3,1|* ESEARCH (TAG "f") UID REMOVEFROM (0 3,5)|* ESEARCH (TAG "f") UID ADDTO (3 2)' \
	"UID SORT RETURN (UPDATE ALL): ALL in sort order, then ADDTO at the position in sort order"
is "$(st j)" OK "CANCELUPDATE of two tags"
is "$(awk '/^j OK/ { f = 1; next } f && /^\* ESEARCH \(TAG "[cf]"\)/' "$O")" "" "no update after CANCELUPDATE"
is "$(esr m)" '* ESEARCH (TAG "m") PARTIAL (2:3 2:3)' "SEARCH RETURN (PARTIAL 2:3)"
is "$(esr n)" '* ESEARCH (TAG "n") COUNT 3 PARTIAL (2:3 4,6)' "PARTIAL 3:2 is 2:3; with COUNT"
is "$(esr o)" '* ESEARCH (TAG "o") UID MIN 1 PARTIAL (1:2 1:2)' "UID SEARCH RETURN (PARTIAL MIN)"
is "$(esr q)" '* ESEARCH (TAG "q") PARTIAL (1:2 6,5)' "SORT RETURN (PARTIAL 1:2): the first two in sort order"
is "$(esr q2)" '* ESEARCH (TAG "q2") PARTIAL (10:20 NIL)' "PARTIAL beyond the result: NIL"
is "$(esr q3)" '* ESEARCH (TAG "q3") COUNT 6' "RETURN (CONTEXT COUNT): CONTEXT is a hint"
is "$(st r)" NO "CANCELUPDATE of an unknown tag: NO"
is "$(esr w)" '* ESEARCH (TAG "w")|* ESEARCH (TAG "w") ADDTO (0 4)' "RETURN (UPDATE) alone: an empty result, then ADDTO"
is "$(grep -c '^\* ESEARCH (TAG "w")' "$O")" 2 "an expunged message is not reported again after its EXPUNGE"

# --- while idling: another agent's flag change, new mail --------------------------
sess_start imapd s 3
say 3 "a LOGIN alice alice-pw" "b SELECT INBOX" "c UID SEARCH RETURN (UPDATE) UNSEEN" \
	"d SORT RETURN (UPDATE) (REVERSE ARRIVAL) UTF-8 UNSEEN" "e IDLE"
expect "^+ idling" s
as_user alice "$B/t/bin/mboxtool" setflags "$SPOOL/alice" 6 RO > /dev/null
expect 'TAG "c") UID REMOVEFROM' s
msg 7 | as_user alice "$B/t/bin/mboxtool" append "$SPOOL/alice" > /dev/null
expect 'TAG "d") ADDTO' s
say 3 "DONE" "f LOGOUT"
expect "^f OK" s
sess_end s 3
tr -d '\r' < "$T_TMP/s.out" > "$T_TMP/s.txt"
is "$(esr c "$T_TMP/s.txt")" '* ESEARCH (TAG "c") UID|* ESEARCH (TAG "c") UID REMOVEFROM (0 6)|* ESEARCH (TAG "c") UID ADDTO (0 7)' \
	"while idling: REMOVEFROM after another agent's flag change, ADDTO for new mail"
is "$(esr d "$T_TMP/s.txt")" '* ESEARCH (TAG "d")|* ESEARCH (TAG "d") REMOVEFROM (0 5)|* ESEARCH (TAG "d") ADDTO (1 6)' \
	"SORT updates while idling: the new message first in REVERSE ARRIVAL order"

# --- PARTIAL with Dovecot on a copy of the mailbox ---------------------------------
cat > "$T_TMP/pcases" <<'CASES'
p1 SEARCH RETURN (PARTIAL 1:3) ALL
p2 UID SEARCH RETURN (PARTIAL 2:100) ALL
p3 SEARCH RETURN (PARTIAL 50:60) ALL
p4 SEARCH RETURN (MIN MAX PARTIAL 2:2) ALL
p5 SORT RETURN (PARTIAL 1:3) (REVERSE ARRIVAL) UTF-8 ALL
p6 UID SORT RETURN (MIN MAX COUNT PARTIAL 2:4) (SUBJECT) UTF-8 ALL
CASES
{ echo "a LOGIN alice alice-pw"; echo "b SELECT INBOX"; cat "$T_TMP/pcases"; } | imap > "$O"
if dovecot_ok; then
	{ echo "b SELECT INBOX"; cat "$T_TMP/pcases"; echo "z LOGOUT"; } | dovecot_imap > "$T_TMP/dv.out"
	nd=0
	for t in p1 p2 p3 p4 p5 p6; do
		# Dovecot writes COUNT after PARTIAL for SORT, as facteur does
		f=$(esr $t) d=$(esr $t "$T_TMP/dv.out")
		[ "$f" = "$d" ] || { nd=$((nd + 1)); diag "$t: facteur '$f'; dovecot '$d'"; }
	done
	is "$nd" 0 "PARTIAL answers as Dovecot's"
else
	skip "dovecot-imapd not installed or uid below 500"
fi

# --- bad input ------------------------------------------------------------------------
imap > "$O" <<'IN'
a SEARCH RETURN (UPDATE) ALL
b CANCELUPDATE "x"
c LOGIN alice alice-pw
d CANCELUPDATE "x"
e SELECT INBOX
f SEARCH RETURN (ALL PARTIAL 1:2) ALL
g SEARCH RETURN (PARTIAL 0:2) ALL
h SEARCH RETURN (PARTIAL -1:2) ALL
i CANCELUPDATE
j SEARCH RETURN (PARTIAL 1) ALL
k SORT RETURN (UPDATE UPDATE) (DATE) UTF-8 ALL
l CANCELUPDATE x y
m SEARCH RETURN (PARTIAL 1:99999999999) ALL
IN
is "$(st a)$(st b)" BADBAD "before login: BAD"
is "$(st d)" BAD "CANCELUPDATE without a selected mailbox: BAD"
is "$(st f)$(st g)$(st h)$(st i)$(st j)" BADBADBADBADBAD "PARTIAL with ALL, from 0, negative, missing range; CANCELUPDATE without a tag"
is "$(st k)" BAD "a RETURN option twice: BAD"
is "$(st l)" BAD "CANCELUPDATE takes strings (RFC 5267 tag-string), not atoms: BAD"
is "$(st m)" BAD "a PARTIAL bound over 2^32: BAD"
# more than 16 kept searches: NO [LIMIT]; closing the mailbox ends them
{
	echo "a LOGIN alice alice-pw"; echo "b SELECT INBOX"
	i=0; while [ $i -lt 17 ]; do i=$((i + 1)); echo "u$i SEARCH RETURN (UPDATE) SEEN"; done
	echo "c STORE 1:* -FLAGS (\\Seen)"; echo "d SELECT INBOX"; echo "e STORE 1:* +FLAGS (\\Seen)"; echo "f NOOP"
	echo "g CANCELUPDATE \"u1\""
} | imap > "$O"
is "$(st u16) $(tagged u17 "$O" | cut -d' ' -f2-3)" "OK NO [LIMIT]" "16 kept searches; the 17th: NO [LIMIT]"
is "$(awk '/^d OK/ { f = 1; next } f && /^\* ESEARCH/' "$O")" "" "SELECT ends the kept searches"
is "$(st g)" NO "after SELECT their tags are unknown"
# the criteria of a kept search are bounded (one command line, 64 KiB)
python3 -c '
import sys
w = sys.stdout.buffer.write
w(b"a LOGIN alice alice-pw\r\nb SELECT INBOX\r\n")
w(b"c SEARCH RETURN (UPDATE) BODY {70000}\r\n" + b"x" * 70000 + b"\r\n")
w(b"d SEARCH RETURN (UPDATE) BODY {7000}\r\n" + b"x" * 7000 + b"\r\n")
' | "$B/imapd" -c "$FCONF" | nocr > "$O"
grep -q '^c NO \[LIMIT\]' "$O"; ok $? "UPDATE with 70 kB of criteria: NO [LIMIT]"
is "$(st d)" OK "with 7 kB: kept"

done_testing
