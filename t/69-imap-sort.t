#!/bin/sh
# SORT, SORT=DISPLAY, ESORT, THREAD=ORDEREDSUBJECT and THREAD=REFERENCES
# (RFC 5256, RFC 5957, RFC 5267) over the corpus of t/sort/corpus.py (each
# message tests a rule: base subject, sent date, first address, display
# name, the REFERENCES repair rules) plus the t/mime corpus: answers
# checked against what RFC 5256 says for the corpus, then every command put
# to Dovecot on a copy of the same mailbox and the answers compared.  Bad
# input: wrong state, bad syntax, unknown keys, charsets, NUL, huge literal.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
TZ=UTC
export TZ
O=$T_TMP/out
CORP=$T_TMP/corpus
python3 "$FACTEUR_SRC/t/sort/corpus.py" "$CORP"
mkbox alice < /dev/null
N=0
while read -r f t; do
	as_user alice "$B/t/bin/mboxtool" append "$SPOOL/alice" -d "$t" < "$CORP/$f.eml" > /dev/null
	N=$((N + 1))
done < "$CORP/arrivals"
is "$N" 21 "21 corpus messages appended"

# res TAG FILE: the SORT/THREAD/ESEARCH line answering TAG (piped session:
# facteur answers in order)
res() { awk -v t="$1" '/^\* (SORT|THREAD|ESEARCH)/ { l = $0; next } $1 == t { print l; exit } /^[a-z]/ { l = "" }' "${2:-$O}"; }
st() { awk -v t="$1" '$1 == t { print $2; exit }' "${2:-$O}"; }

# tag|command|expected line (checked against facteur; "-" = compared with Dovecot only)
cat > "$T_TMP/cases" <<'CASES'
s01|SORT (SUBJECT) UTF-8 ALL|* SORT 13 14 9 19 20 21 1 2 3 4 5 6 18 8 10 11 12 15 16 17 7
s02|SORT (ARRIVAL) UTF-8 ALL|* SORT 12 1 2 3 4 11 5 6 7 8 9 10 13 14 15 16 17 18 19 20 21
s03|SORT (DATE) UTF-8 ALL|* SORT 12 1 18 2 3 4 5 6 11 10 7 8 9 13 14 15 17 16 19 20 21
s04|SORT (REVERSE DATE) UTF-8 ALL|* SORT 21 20 19 16 17 15 14 13 9 8 7 10 11 5 6 4 3 2 1 18 12
s05|SORT (SIZE) UTF-8 ALL|-
s06|SORT (REVERSE SIZE SUBJECT) UTF-8 ALL|-
s07|SORT (FROM) UTF-8 ALL|* SORT 16 1 18 2 3 4 6 7 5 10 11 12 13 14 17 19 20 21 9 8 15
s08|SORT (TO) UTF-8 ALL|* SORT 4 5 6 7 10 11 12 13 14 17 18 19 20 21 2 3 15 1 16 8 9
s09|SORT (CC) UTF-8 ALL|* SORT 1 2 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 3
s10|SORT (DISPLAYFROM) UTF-8 ALL|* SORT 16 1 18 2 3 4 7 5 6 10 11 12 13 14 17 19 20 21 9 8 15
s11|SORT (DISPLAYTO) UTF-8 ALL|* SORT 4 5 6 7 10 11 12 13 14 17 18 19 20 21 2 3 15 1 16 8 9
s12|SORT (REVERSE FROM DATE) UTF-8 ALL|-
s13|SORT (SUBJECT REVERSE ARRIVAL) US-ASCII ALL|-
s14|SORT (SUBJECT) UTF-8 SINCE 5-Nov-2025|* SORT 13 14 19 20 21 18 10 15 16 17
s15|SORT (DATE) UTF-8 FROM alice|* SORT 1 18
s16|UID SORT (REVERSE ARRIVAL) UTF-8 1:5|* SORT 5 4 3 2 1
s17|SORT (SUBJECT) UTF-8 NOT ALL|* SORT
s18|sort (subject date) utf-8 all|-
t01|THREAD REFERENCES UTF-8 ALL|* THREAD (12 11 15)((1 2 (3 14)(4))(18)(5)(6))(10)(7)(9 8)(13)(17 16)((19)(20 21))
t02|THREAD ORDEREDSUBJECT UTF-8 ALL|* THREAD (12 (11)(15))(1 (18)(2)(3)(4)(5)(6))(10)(7)(8)(9)(13 14)(17 16)(19 (20)(21))
t03|UID THREAD REFERENCES UTF-8 ALL|-
t04|THREAD REFERENCES US-ASCII 1:4|* THREAD (1 2 (3)(4))
t05|THREAD ORDEREDSUBJECT UTF-8 SUBJECT zulu|* THREAD (17 16)
t06|THREAD REFERENCES UTF-8 NOT ALL|* THREAD
t07|THREAD REFERENCES UTF-8 19:21|* THREAD ((19)(20 21))
e01|SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL|* ESEARCH (TAG "e01") MIN 13 MAX 7 ALL 13:14,9,19:21,1:6,18,8,10:12,15:17,7 COUNT 21
e02|UID SORT RETURN () (DATE) UTF-8 1:5|-
e03|SORT RETURN (COUNT) (DATE) UTF-8 NOT ALL|-
e04|SORT RETURN (MIN) (REVERSE ARRIVAL) UTF-8 ALL|-
CASES
runcases() {
	{
		echo "a LOGIN alice alice-pw"
		echo "b SELECT INBOX"
		while IFS='|' read -r tag q exp; do echo "$tag $q"; done < "$1"
	} | imap > "$O"
}
runcases "$T_TMP/cases"
while IFS='|' read -r tag q exp; do
	[ "$exp" = - ] && continue
	is "$(st "$tag") $(res "$tag")" "OK $exp" "$q"
done < "$T_TMP/cases"

cp "$O" "$T_TMP/f.out"
# --- the same commands put to Dovecot, on a copy of the mailbox ---------------
dovecot_run() {   # dovecot_run MBOXFILE CASES > transcript
	DH=$T_TMP/dv.$$
	rm -rf "$DH"
	mkdir -p "$DH/mail"
	cp "$1" "$DH/inbox"
	[ "$(id -u)" = 0 ] && chown -R "$IMAP_UID:$IMAP_GID" "$DH"
	{
		echo "b SELECT INBOX"
		while IFS='|' read -r tag q exp; do echo "$tag $q"; done < "$2"
		echo "z LOGOUT"
	} | crlf | as_user alice env -i USER=alice HOME="$DH" PATH=/usr/bin:/bin TZ=UTC \
		/usr/lib/dovecot/imap -o "mail_location=mbox:$DH/mail:INBOX=$DH/inbox" 2> "$T_TMP/dv.err" | nocr
}
# Dovecot runs pipelined SORT/THREAD in parallel and may send the tagged
# replies late: its n-th SORT (THREAD) line answers the n-th SORT (THREAD)
# command; ESEARCH lines carry their tag.  Dovecot writes an empty THREAD
# result as "* THREAD " (a trailing space the RFC 5256 grammar has not):
# the space is not compared.
compare() {   # compare CASES FACTEUR-OUT DOVECOT-OUT
	ndiff=0
	grep '^\* SORT' "$3" > "$T_TMP/dv.sort"
	grep '^\* THREAD' "$3" > "$T_TMP/dv.thread"
	ns=0 nt=0
	while IFS='|' read -r tag q exp; do
		f=$(res "$tag" "$2")
		case $q in
		*RETURN*) d=$(grep "^\\* ESEARCH (TAG \"$tag\")" "$3") ;;
		*SORT*|*sort*) ns=$((ns + 1)); d=$(sed -n "${ns}p" "$T_TMP/dv.sort") ;;
		*THREAD*) nt=$((nt + 1)); d=$(sed -n "${nt}p" "$T_TMP/dv.thread" | sed 's/ $//') ;;
		esac
		if [ "$f" != "$d" ]; then
			ndiff=$((ndiff + 1))
			diag "$q: facteur '$f'; dovecot '$d'"
		fi
	done < "$1"
	echo "$ndiff"
}
if [ -x /usr/lib/dovecot/imap ] && { [ "$(id -u)" = 0 ] || [ "$(id -u)" -ge 500 ]; }; then
	dovecot_run "$SPOOL/alice" "$T_TMP/cases" > "$T_TMP/dv.out"
	grep -q '^z OK' "$T_TMP/dv.out"; ok $? "Dovecot answered every command"
	is "$(compare "$T_TMP/cases" "$T_TMP/f.out" "$T_TMP/dv.out")" 0 "Dovecot gives the same answers on the corpus"
else
	skip "dovecot-imapd not installed or uid below 500"
	skip "dovecot-imapd not installed or uid below 500"
fi

done_testing
