#!/bin/sh
# Issue 18: commands by sequence number over messages another session has
# expunged (EXPUNGE not yet sent, RFC 3501 7.4.1).  Everything that still
# exists is answered, the gone messages get empty data, the tagged reply is
# OK [EXPUNGEISSUED] (RFC 5530), no EXPUNGE is sent during FETCH, STORE or
# SEARCH; MOVE moves the rest; the FETCH responses are byte-identical to Dovecot's on the same
# mailbox and script.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
command -v python3 > /dev/null || skip_all "python3 not installed"

: | mkbox alice
for i in 1 2 3 4 5; do msg $i | deliver alice; done
mkdir -p "$T_TMP/dspool" && cp "$SPOOL/alice" "$T_TMP/dspool/alice"
if [ "$(id -u)" = 0 ]; then chown -R "$IMAP_UID:$IMAP_GID" "$T_TMP/dspool"; fi

cat > "$T_TMP/script" <<'IN'
A SELECT INBOX
B SELECT INBOX
B STORE 2:3 +FLAGS (\Deleted)
B EXPUNGE
A FETCH 1:5 (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])
A FETCH 2 (UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY BODY.PEEK[TEXT] BODY.PEEK[1] BODY.PEEK[]<0.10>)
A STORE 1:5 +FLAGS.SILENT (\Flagged)
A STORE 1:5 +FLAGS (\Answered)
A SEARCH ALL
A SEARCH SUBJECT "message 2"
A COPY 2:3 INBOX
A COPY 1:3 INBOX
A UID SEARCH ALL
A NOOP
A FETCH 1:* (UID)
IN
python3 "$IMAP_SRC/twosess.py" "exec $B/imapd -c $FCONF" --login alice alice-pw \
	< "$T_TMP/script" > "$T_TMP/f.out"
t() { sed -n "/^a$1 /p" "$T_TMP/f.out"; }
between() { sed -n "/^a$(($1 - 1)) /,/^a$1 /p" "$T_TMP/f.out" | sed 1d; }

is "$(t 2)" "a2 OK [EXPUNGEISSUED] Some messages were already expunged." "FETCH over expunged messages: tagged OK [EXPUNGEISSUED]"
is "$(between 2 | grep -c '^\* [0-9] FETCH (UID [0-9]')" 5 "FETCH answers all five sequence numbers"
between 2 | grep -q '^\* 1 FETCH (UID 1 RFC822.SIZE [1-9][0-9]* BODY\[HEADER.FIELDS (SUBJECT)\] {[0-9]*}$'
ok $? "a message that still exists is served"
between 2 | grep -q '^\* 2 FETCH (UID 2 RFC822.SIZE 0 BODY\[HEADER.FIELDS (SUBJECT)\] NIL)$'
ok $? "an expunged message gets size 0 and NIL"
is "$(between 3 | grep '^\* 2 FETCH')" '* 2 FETCH (UID 2 INTERNALDATE "01-Jan-1970 00:00:00 +0000" RFC822.SIZE 0 ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" 0 0 NIL NIL NIL NIL) BODY ("text" "plain" NIL NIL NIL "7bit" 0 0) BODY[TEXT] NIL BODY[1] NIL BODY[]<0> NIL)' \
	"every item of an expunged message has a valid empty value"
grep -q '^\* [0-9]* EXPUNGE' "$T_TMP/f.out" && [ "$(sed -n '/EXPUNGE$/=' "$T_TMP/f.out" | head -n 1)" -gt "$(sed -n '/^a9 /=' "$T_TMP/f.out")" ]
ok $? "no EXPUNGE sent during FETCH, STORE or SEARCH by sequence number"
is "$(t 4)" "a4 OK [EXPUNGEISSUED] Some messages were already expunged." "STORE over expunged messages: OK [EXPUNGEISSUED]"
is "$(between 5 | grep -c 'FETCH (FLAGS (\\Answered \\Flagged \\Recent))')" 3 "STORE answers for the three that exist"
is "$(between 6 | grep '^\* SEARCH')" "* SEARCH 1 4 5" "SEARCH: the expunged messages do not match"
is "$(t 6)" "a6 OK SEARCH completed." "SEARCH: OK"
is "$(between 7 | grep '^\* SEARCH')" "* SEARCH" "SEARCH on the text of an expunged message: no match"
is "$(t 8)" "a8 OK [EXPUNGEISSUED] Some messages were already expunged." "COPY of only expunged messages: OK [EXPUNGEISSUED]"
between 9 | grep -q '^\* OK \[EXPUNGEISSUED\]' && t 9 | grep -q '^a9 OK \[COPYUID [0-9]* 1 6\]'
ok $? "COPY of a mix: untagged EXPUNGEISSUED, the rest copied with COPYUID"
is "$(between 10 | grep -c '^\* [23] EXPUNGE')" 2 "UID SEARCH may send the EXPUNGEs: sent"
is "$(between 10 | grep '^\* SEARCH')" "* SEARCH 1 4 5 6" "UID SEARCH after them"
is "$(between 12 | grep -c 'FETCH (UID')" 4 "the view is consistent afterwards"

# MOVE (RFC 6851) over a message expunged elsewhere, after a UID FETCH
# (which may send EXPUNGE): the rest moves, EXPUNGE for each, in order
: > "$SPOOL/alice"
for i in 1 2 3 4 5; do msg $i | deliver alice; done
cat > "$T_TMP/script2" <<'IN'
A CREATE Archive
A SELECT INBOX
B SELECT INBOX
B STORE 2 +FLAGS (\Deleted)
B EXPUNGE
A UID FETCH 1:5 (UID FLAGS)
B STORE 3 +FLAGS (\Deleted)
B EXPUNGE
A MOVE 1:4 Archive
A FETCH 1:* (UID)
A STATUS Archive (MESSAGES)
IN
python3 "$IMAP_SRC/twosess.py" "exec $B/imapd -c $FCONF" --login alice alice-pw \
	< "$T_TMP/script2" > "$T_TMP/m.out"
m() { sed -n "/^a$(($1 - 1)) /,/^a$1 /p" "$T_TMP/m.out" | sed 1d; }
is "$(m 3 | grep -c '^\* [0-9] FETCH (UID [1345] ')" 4 "UID FETCH: the 4 left, with the EXPUNGE of UID 2 first"
is "$(m 4 | tr -d '\r' | grep -v '^\* [0-9] RECENT' | sed 's/COPYUID [0-9]* /COPYUID V /' | tr '\n' '|')" \
	"* OK [EXPUNGEISSUED] Some messages were already expunged.|* OK [COPYUID V 1,3,5 1,2,3] Moved.|* 1 EXPUNGE|* 1 EXPUNGE|* 1 EXPUNGE|* 1 EXPUNGE|a4 OK MOVE completed.|" \
	"MOVE over a message expunged elsewhere: EXPUNGEISSUED, the 3 others moved, 4 EXPUNGEs, OK"
is "$(m 5 | grep -c '^\* .*FETCH')" 0 "the view is empty afterwards"
is "$(m 6 | grep '^\* STATUS')" '* STATUS "Archive" (MESSAGES 3)' "Archive holds the 3 moved messages"

# side by side with Dovecot (its index in a home of its own)
DOVECOT=/usr/lib/dovecot/imap
if [ -x "$DOVECOT" ] && { [ "$(id -u)" = 0 ] || [ "$(id -u)" -ge 500 ]; }; then
	DH=$T_TMP/dhome; mkdir -p "$DH/mail"
	if [ "$(id -u)" = 0 ]; then chown -R "$IMAP_UID:$IMAP_GID" "$DH"; fi
	python3 "$IMAP_SRC/twosess.py" "exec $(if [ "$(id -u)" = 0 ]; then echo "setpriv --reuid=$IMAP_UID --regid=$IMAP_GID --clear-groups --"; fi) env -i USER=alice HOME=$DH $DOVECOT -o mail_location=mbox:$DH/mail:INBOX=$T_TMP/dspool/alice 2>/dev/null" \
		< "$T_TMP/script" > "$T_TMP/d.out"
	# the FETCH responses with a UID and the tagged replies of a2 and a3
	pick() { sed -n '/^a1 /,/^a3 /p' "$1" | grep -E '^\* [0-9]+ FETCH \(UID|^a[23] ' | sed 's/ ([0-9.]* + [0-9. +]*secs)//'; }
	pick "$T_TMP/f.out" > "$T_TMP/f.pick"; pick "$T_TMP/d.out" > "$T_TMP/d.pick"
	grep -q '^a2 OK' "$T_TMP/d.pick"; ok $? "Dovecot ran the same script"
	same_file "$T_TMP/f.pick" "$T_TMP/d.pick" "FETCH over expunged messages: byte-identical to Dovecot"
	is "$(sed -n 's/^a4 //p' "$T_TMP/d.out" | cut -c1-2)" "OK" "Dovecot's STORE says OK too"
else
	skip "dovecot-imapd not installed"; skip "dovecot-imapd not installed"; skip "dovecot-imapd not installed"
fi
done_testing
