#!/bin/sh
# pop3d and the mailbox: UIDs persisted at login, QUIT expunges DELE'd and
# marks RETR'd messages, a disconnect changes nothing, mail delivered during
# a session is kept, locks and outside changes give -ERR [IN-USE].
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/pop3/lib.sh"
pop3_env
conf_set lock_timeout 1
V=$POP3_SRC/view.py
python3 "$V" "$POP3_SRC/three.mbox" > "$T_TMP/view3"
# --- login assigns and persists UIDs; UIDLs are stable ----------------------
mkbox bob < "$POP3_SRC/three.mbox"
printf 'USER bob\nPASS bob-pw\nUIDL\nQUIT\n' | pop3 > "$T_TMP/u1"
is "$(grep -c '^X-UID: ' "$SPOOL/bob")" 3 "login wrote X-UID into every message"
is "$(sed -n '1,/^$/p' "$SPOOL/bob" | grep -c '^X-IMAPbase: [0-9]* 0000000003$')" 1 "... and X-IMAPbase into the first"
view bob > "$T_TMP/got"
same_file "$T_TMP/got" "$T_TMP/view3" "... and changed nothing users see"
cp "$SPOOL/bob" "$T_TMP/bob.synced"
printf 'USER bob\nPASS bob-pw\nUIDL\nQUIT\n' | pop3 > "$T_TMP/u2"
same_file "$T_TMP/u2" "$T_TMP/u1" "UIDLs are the same in the next session"
cmp -s "$SPOOL/bob" "$T_TMP/bob.synced"; ok $? "a session without RETR/DELE leaves the mailbox byte-identical"

# --- DELE then disconnect: nothing changes -----------------------------------
printf 'USER bob\nPASS bob-pw\nDELE 1\nDELE 2\nRETR 3\n' | pop3 > /dev/null
cmp -s "$SPOOL/bob" "$T_TMP/bob.synced"; ok $? "DELE then disconnect: mailbox byte-identical"

# a QUIT cut off by EOF (no line end) is not a QUIT
printf 'USER bob\r\nPASS bob-pw\r\nDELE 1\r\nQUIT' | pop3_raw > /dev/null
cmp -s "$SPOOL/bob" "$T_TMP/bob.synced"; ok $? "DELE then QUIT without CRLF at EOF: mailbox byte-identical"

# --- DELE then QUIT --------------------------------------------------------
printf 'USER bob\nPASS bob-pw\nDELE 2\nQUIT\n' | pop3 > "$T_TMP/got"
is "$(tail -n 1 "$T_TMP/got")" "+OK Logging out." "DELE 2, QUIT: +OK"
python3 - "$T_TMP/view3" 2 > "$T_TMP/want" <<'PY'
import sys
v = open(sys.argv[1], 'rb').read().split(b'\nFrom ')
n = int(sys.argv[2]) - 1
keep = [m for i, m in enumerate(v) if i != n]
sys.stdout.buffer.write(b'\nFrom '.join(keep))
PY
view bob > "$T_TMP/got"
same_file "$T_TMP/got" "$T_TMP/want" "DELE 2, QUIT: messages 1 and 3 kept byte for byte, 2 gone"
printf 'USER bob\nPASS bob-pw\nUIDL\nQUIT\n' | pop3 > "$T_TMP/got"
grep -v '^2 ' "$T_TMP/u1" | sed 's/^3 /2 /' > "$T_TMP/want"
same_file "$T_TMP/got" "$T_TMP/want" "the kept messages keep their UIDLs"

# --- RETR marks seen (Status: RO), TOP does not -----------------------------
mkbox carol < "$POP3_SRC/three.mbox"
printf 'USER carol\nPASS carol-pw\nRETR 2\nTOP 3 1\nQUIT\n' | pop3 > /dev/null
view carol x | grep '^status=' > "$T_TMP/got"
printf 'status=O\nstatus=RO\nstatus=\n' > "$T_TMP/want"
same_file "$T_TMP/got" "$T_TMP/want" "RETR'd message marked Status: RO, TOP'd one left alone"
view carol > "$T_TMP/got"
same_file "$T_TMP/got" "$T_TMP/view3" "... and the messages are otherwise unchanged"

# --- delivery during a session is kept ---------------------------------------
mkbox alice < "$POP3_SRC/three.mbox"
sess_start pop3d
say 'USER alice' 'PASS alice-pw' 'DELE 1' 'RETR 3'
expect '^line 5'
printf 'Subject: arrived meanwhile\n\nnew body\n' | deliver alice late@example.test
say 'STAT' 'QUIT'
sess_end
is "$(tail -n 1 "$T_TMP/sess.out" | nocr)" "+OK Logging out." "QUIT after a delivery during the session: +OK"
is "$(grep -c '^+OK 2 237' "$T_TMP/sess.out")" 1 "STAT shows the snapshot taken at login"
view alice x > "$T_TMP/got"
lacks "$T_TMP/got" '^Subject: one' "message 1 deleted"
grep -q '^new body$' "$T_TMP/got"; ok $? "the message delivered meanwhile is kept"
is "$(grep -c '^From ' "$T_TMP/got")" 3 "three messages left"
is "$(tail -n 1 "$T_TMP/got")" "status=" "the new message is not marked seen"
printf 'USER alice\nPASS alice-pw\nUIDL 3\nTOP 3 0\nQUIT\n' | pop3 > "$T_TMP/got"
grep -q '^+OK 3 00000004' "$T_TMP/got"; ok $? "the new message gets the next UID (4)"

# --- another program removes a message during the session ---------------------
mkbox alice < "$POP3_SRC/three.mbox"
printf 'USER alice\nPASS alice-pw\nQUIT\n' | pop3 > /dev/null
sess_start pop3d
say 'USER alice' 'PASS alice-pw' 'STAT'
expect '^+OK 3 370'
# a mutt-like rewrite: message 2 removed, the others and their X-UIDs kept
python3 - "$SPOOL/alice" <<'PY'
import sys
p = sys.argv[1]
d = open(p, 'rb').read()
parts = d.split(b'\n\nFrom ')
d = parts[0] + b'\n\nFrom ' + parts[2]
with open(p, 'r+b') as f:
    f.write(d); f.truncate()
PY
say 'RETR 2' 'RETR 3' 'DELE 3' 'QUIT'
sess_end
nocr < "$T_TMP/sess.out" > "$T_TMP/got"
grep -q '^-ERR Message 2 was removed by another program.' "$T_TMP/got"; ok $? "RETR of a message removed meanwhile: -ERR"
grep -q '^line 5$' "$T_TMP/got"; ok $? "RETR of another message finds it by UID"
is "$(tail -n 1 "$T_TMP/got")" "+OK Logging out." "QUIT: +OK"
view alice > "$T_TMP/got"
is "$(grep -c '^From ' "$T_TMP/got")" 1 "message 3 deleted by UID after the outside change"
grep -q '^Subject: one' "$T_TMP/got"; ok $? "message 1 kept"

# --- UIDVALIDITY changed behind our back: delete nothing ---------------------
mkbox alice < "$POP3_SRC/three.mbox"
sess_start pop3d
say 'USER alice' 'PASS alice-pw' 'DELE 1'
expect 'marked for deletion'
sed 's/^X-IMAPbase: [0-9]*/X-IMAPbase: 12345/' "$SPOOL/alice" > "$T_TMP/tampered"
cat "$T_TMP/tampered" > "$SPOOL/alice"
say 'QUIT'
sess_end
is "$(tail -n 1 "$T_TMP/sess.out" | nocr)" \
	"-ERR [IN-USE] Mailbox was changed by another program: nothing was deleted." \
	"UIDVALIDITY changed during the session: -ERR [IN-USE]"
cmp -s "$SPOOL/alice" "$T_TMP/tampered"; ok $? "... and the mailbox is untouched"

# --- locks held by another program ------------------------------------------
if [ -x "$B/t/bin/mboxtool" ]; then
	mkbox alice < "$POP3_SRC/three.mbox"
	"$B/t/bin/mboxtool" lock "$SPOOL/alice" write 6 > "$T_TMP/lock.out" &
	lpid=$!
	wait_for locked "$T_TMP/lock.out"
	printf 'USER alice\nPASS alice-pw\nSTAT\n' | pop3 > "$T_TMP/got"
	is "$(sed -n 3p "$T_TMP/got")" "-ERR [IN-USE] Mailbox is locked by another program, try again later." \
		"mailbox locked at login: -ERR [IN-USE] after the bounded wait"
	is "$(wc -l < "$T_TMP/got" | tr -d ' ')" 3 "... and the session ends"
	wait $lpid
	cmp -s "$SPOOL/alice" "$POP3_SRC/three.mbox"; ok $? "... mailbox untouched"
	# another program reading: a login that has nothing to write only reads
	hold_read() {
		"$B/t/bin/mboxtool" lock "$SPOOL/alice" read 6 > "$T_TMP/lock.out" &
		lpid=$!
		wait_for locked "$T_TMP/lock.out"
	}
	hold_read
	printf 'USER alice\nPASS alice-pw\nSTAT\n' | pop3 > "$T_TMP/got"
	is "$(sed -n 3p "$T_TMP/got")" "-ERR [IN-USE] Mailbox is locked by another program, try again later." \
		"read lock held, UIDs to write first: -ERR [IN-USE]"
	wait $lpid
	printf 'USER alice\nPASS alice-pw\nQUIT\n' | pop3 > /dev/null     # UIDs written
	hold_read
	printf 'USER alice\nPASS alice-pw\nSTAT\nQUIT\n' | pop3 > "$T_TMP/got"
	is "$(sed -n 3,4p "$T_TMP/got" | cut -d' ' -f1,2 | tr '\n' '|')" "+OK Logged|+OK 3|" \
		"read lock held by another program, nothing to write: the login only reads"
	wait $lpid

	sess_start pop3d
	say 'USER alice' 'PASS alice-pw' 'DELE 1'
	expect 'marked for deletion'
	cp "$SPOOL/alice" "$T_TMP/before"
	"$B/t/bin/mboxtool" lock "$SPOOL/alice" write 6 > "$T_TMP/lock.out" &
	lpid=$!
	wait_for locked "$T_TMP/lock.out"
	say 'QUIT'
	sess_end
	wait $lpid
	is "$(tail -n 1 "$T_TMP/sess.out" | nocr)" \
		"-ERR [IN-USE] Mailbox is locked by another program: nothing was deleted." \
		"mailbox locked at QUIT: -ERR [IN-USE]"
	cmp -s "$SPOOL/alice" "$T_TMP/before"; ok $? "... mailbox untouched"
else
	skip "t/bin/mboxtool not built"
fi

# --- no mailbox, empty mailbox, everything deleted ----------------------------
rm -f "$SPOOL/carol"
printf 'USER carol\nPASS carol-pw\nSTAT\nLIST\nUIDL\nRETR 1\nQUIT\n' | pop3 > "$T_TMP/got"
printf '+OK facteur ready.\n+OK\n+OK Logged in.\n+OK 0 0\n+OK 0 messages:\n.\n+OK\n.\n-ERR There is no message 1.\n+OK Logging out.\n' > "$T_TMP/want"
same_file "$T_TMP/got" "$T_TMP/want" "no mailbox file: an empty maildrop"
test -e "$SPOOL/carol"; ok $((!$?)) "... and none is created"
: | mkbox carol
printf 'USER carol\nPASS carol-pw\nSTAT\nQUIT\n' | pop3 | sed -n 4p > "$T_TMP/got"
is "$(cat "$T_TMP/got")" "+OK 0 0" "empty mailbox file"
mkbox carol < "$POP3_SRC/three.mbox"
printf 'USER carol\nPASS carol-pw\nDELE 1\nDELE 2\nDELE 3\nSTAT\nQUIT\n' | pop3 > "$T_TMP/got"
is "$(sed -n 7p "$T_TMP/got")" "+OK 0 0" "all deleted: STAT 0 0"
is "$(tail -n 1 "$T_TMP/got")" "+OK Logging out." "... QUIT +OK"
printf 'USER carol\nPASS carol-pw\nSTAT\nQUIT\n' | pop3 | sed -n 4p > "$T_TMP/got"
is "$(cat "$T_TMP/got")" "+OK 0 0" "... and the next session finds none"
done_testing
