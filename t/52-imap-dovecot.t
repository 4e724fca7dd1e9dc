#!/bin/sh
# Interop with Dovecot (Debian's dovecot-imapd run preauthenticated on stdin
# with mail_location mbox): Dovecot reads a mailbox facteur flagged and
# expunged in and shows the same UIDs, flags and UIDVALIDITY, also with an
# index it built before; and facteur reads what Dovecot wrote.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
DOVECOT=/usr/lib/dovecot/imap
[ -x "$DOVECOT" ] || skip_all "dovecot-imapd not installed"
imap_env
[ "$(id -u)" = 0 ] || [ "$(id -u)" -ge 500 ] || skip_all "Dovecot refuses uids below 500"

H=$T_TMP/home/alice
dovecot() {
	as_user alice env -i USER=alice HOME="$H" PATH=/usr/bin:/bin "$DOVECOT" \
		-o "mail_location=mbox:$H/mail:INBOX=$SPOOL/alice" 2>> "$T_TMP/dovecot.err" | nocr
}
# "UID FLAGS" per message, \Recent dropped, flags sorted
flagmap() {
	grep '^\* [0-9]* FETCH' | sed 's/\\Recent//' | awk '{
		uid = ""; fl = ""
		if (match($0, /UID [0-9]+/)) uid = substr($0, RSTART + 4, RLENGTH - 4)
		if (match($0, /FLAGS \([^)]*\)/)) fl = substr($0, RSTART + 7, RLENGTH - 8)
		n = split(fl, f, " "); s = ""
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (f[j] < f[i]) { t = f[i]; f[i] = f[j]; f[j] = t }
		for (i = 1; i <= n; i++) s = s " " f[i]
		print uid ":" s }'
}
uidvalidity() { sed -n 's/^\* OK \[UIDVALIDITY \([0-9]*\)\].*/\1/p' "$1" | head -n 1; }

mkbox alice < /dev/null
for i in 1 2 3 4 5 6; do msg $i | deliver alice; done

# 1. Dovecot first: it gives the UIDs and builds its index
printf 'd1 SELECT INBOX\nd2 UID STORE 1 +FLAGS (\\Seen)\nd3 UID STORE 2 +FLAGS ($Label1)\nd4 CREATE Folder\nd5 APPEND Folder (\\Flagged $Work) {26}\nSubject: from dovecot\n\nx\nd6 UID FETCH 1:* (FLAGS)\nd7 LOGOUT\n' | crlf | dovecot > "$T_TMP/d1.out"
grep -q '^d5 OK \[APPENDUID' "$T_TMP/d1.out"; ok $? "Dovecot session on the mailbox"
printf 'd1 SELECT INBOX\nd6 UID FETCH 1:* (FLAGS)\nd7 LOGOUT\n' | crlf | dovecot > "$T_TMP/d1b.out"
flagmap < "$T_TMP/d1b.out" > "$T_TMP/d1.map"

# 2. facteur reads what Dovecot wrote
imap > "$T_TMP/f1.out" <<'IN'
f1 LOGIN alice alice-pw
f2 SELECT INBOX
f3 UID FETCH 1:* (FLAGS)
f4 SELECT Folder
f5 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])
IN
sed -n '/^f2 /,/^f3 /p' "$T_TMP/f1.out" | flagmap > "$T_TMP/f1.map"
same_file "$T_TMP/f1.map" "$T_TMP/d1.map" "facteur shows Dovecot's UIDs and flags"
is "$(uidvalidity "$T_TMP/f1.out")" "$(uidvalidity "$T_TMP/d1.out")" "same UIDVALIDITY"
sed -n '/^f4 /,/^f5 /p' "$T_TMP/f1.out" | grep -q '^\* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent \$Work) BODY\[HEADER.FIELDS (Subject)\]'; ok $? "facteur reads Dovecot's APPEND with flags and keyword"

# 3. facteur flags and expunges, delivery in between
imap > "$T_TMP/f2.out" <<'IN'
g1 LOGIN alice alice-pw
g2 SELECT INBOX
g3 UID STORE 3 +FLAGS (\Flagged \Answered)
g4 UID STORE 4 +FLAGS (\Deleted)
g5 UID STORE 5 +FLAGS (\Draft $Label1 NewKw)
g6 UID STORE 1 -FLAGS (\Seen)
g7 EXPUNGE
IN
msg 7 | deliver alice
imap > "$T_TMP/f3.out" <<'IN'
h1 LOGIN alice alice-pw
h2 SELECT INBOX
h3 UID FETCH 1:* (FLAGS)
IN
grep -q '^\* 4 EXPUNGE' "$T_TMP/f2.out"; ok $? "facteur expunged UID 4"
sed -n '/^h2 /,/^h3 /p' "$T_TMP/f3.out" | flagmap > "$T_TMP/f3.map"

# 4. Dovecot again, with its old index: same UIDs and flags, no UIDVALIDITY change
: > "$T_TMP/dovecot.err"
printf 'e1 SELECT INBOX\ne2 UID FETCH 1:* (FLAGS)\ne3 LOGOUT\n' | crlf | dovecot > "$T_TMP/d2.out"
flagmap < "$T_TMP/d2.out" > "$T_TMP/d2.map"
same_file "$T_TMP/d2.map" "$T_TMP/f3.map" "Dovecot (existing index) shows facteur's UIDs and flags"
is "$(uidvalidity "$T_TMP/d2.out")" "$(uidvalidity "$T_TMP/d1.out")" "UIDVALIDITY unchanged for Dovecot"
grep -qi 'uidvalidity changed\|corrupt\|broken' "$T_TMP/dovecot.err"; ok $((!$?)) "Dovecot logs no resync trouble"
grep -q '^7: *$' "$T_TMP/d2.map"; ok $? "the new delivery got UID 7 for both"

# 5. a fresh Dovecot (index removed) reads facteur's metadata alone
rm -rf "$H/mail/.imap"
printf 'e1 SELECT INBOX\ne2 UID FETCH 1:* (FLAGS)\ne3 LOGOUT\n' | crlf | dovecot > "$T_TMP/d3.out"
flagmap < "$T_TMP/d3.out" > "$T_TMP/d3.map"
same_file "$T_TMP/d3.map" "$T_TMP/f3.map" "Dovecot without an index: same UIDs and flags from the mbox headers"
is "$(uidvalidity "$T_TMP/d3.out")" "$(uidvalidity "$T_TMP/d1.out")" "UIDVALIDITY kept in X-IMAPbase"
# 6. folders and subscriptions, both ways (Dovecot's ~/mail/.subscriptions)
imap > "$T_TMP/f4.out" <<'IN'
k1 LOGIN alice alice-pw
k2 CREATE "Lists/facteur"
k3 SUBSCRIBE "Lists/facteur"
k4 SUBSCRIBE Folder
IN
printf 'l1 CREATE "Arch/2024"\nl2 SUBSCRIBE "Arch/2024"\nl3 LSUB "" "*"\nl4 LIST "" "*"\nl5 LOGOUT\n' | crlf | dovecot > "$T_TMP/d4.out"
grep -q '^\* LSUB ([^)]*) "/" "\?Lists/facteur"\?$' "$T_TMP/d4.out"; ok $? "Dovecot sees facteur's subscription"
grep -q '^\* LIST ([^)]*) "/" "\?Lists/facteur"\?$' "$T_TMP/d4.out"; ok $? "Dovecot lists facteur's nested folder"
imap > "$T_TMP/f5.out" <<'IN'
m1 LOGIN alice alice-pw
m2 LSUB "" "*"
m3 LIST "" "*"
IN
grep -q '^\* LSUB () "/" "Arch/2024"$' "$T_TMP/f5.out"; ok $? "facteur sees Dovecot's subscription"
grep -q '^\* LIST (\\NoInferiors) "/" "Arch/2024"$' "$T_TMP/f5.out"; ok $? "facteur lists Dovecot's nested folder"
grep -q '"\.imap' "$T_TMP/f5.out"; ok $((!$?)) "Dovecot's index directory is never listed"
done_testing
