#!/bin/sh
# CONDSTORE and QRESYNC (RFC 7162, issue 15) on the mailbox index: the
# flows of the RFC's examples (ENABLE, SELECT (CONDSTORE), FETCH MODSEQ and
# (CHANGEDSINCE), STORE (UNCHANGEDSINCE) with [MODIFIED], SEARCH MODSEQ,
# STATUS HIGHESTMODSEQ, UID EXPUNGE with VANISHED, SELECT (QRESYNC ...) with
# VANISHED (EARLIER), UID FETCH (CHANGEDSINCE .. VANISHED)), changes by
# another session and by another program (mutt-style rewrite) seen on the
# next resync, the index lost (HIGHESTMODSEQ never goes back), and mbsync.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
O=$T_TMP/out
for i in 1 2 3 4 5 6; do msg $i | deliver alice; done
IDX=$T_TMP/home/alice/.libmbox/index

hms() { sed -n 's/.*HIGHESTMODSEQ \([0-9]*\).*/\1/p' "$1" | tail -n 1; }
modseq_of() { sed -n "s/^\* $2 FETCH (.*MODSEQ (\([0-9]*\)).*/\1/p" "$1" | tail -n 1; }

imap > "$O" <<'IN'
a1 LOGIN alice alice-pw
a2 CAPABILITY
a3 ENABLE CONDSTORE
a4 SELECT INBOX (CONDSTORE)
a5 FETCH 1:* (FLAGS)
a6 LOGOUT
IN
grep -q '^\* CAPABILITY .* CONDSTORE QRESYNC' "$O"; ok $? "CONDSTORE and QRESYNC advertised"
grep -q '^\* ENABLED CONDSTORE$' "$O"; ok $? "ENABLE CONDSTORE"
H0=$(hms "$O")
[ -n "$H0" ] && [ "$H0" -gt 0 ]; ok $? "SELECT (CONDSTORE): OK [HIGHESTMODSEQ $H0]"
is "$(grep -c '^\* [0-9] FETCH (FLAGS (.*) MODSEQ ([0-9]*))$' "$O")" 6 "with CONDSTORE on, FETCH FLAGS carries MODSEQ"
[ -d "$IDX" ] && [ "$(stat -c %a "$IDX")" = 700 ] && ls "$IDX" | grep -q '\.index$'; ok $? "the index is in ~/.libmbox/index (0700)"

# --- STORE, CHANGEDSINCE, UNCHANGEDSINCE, SEARCH MODSEQ, STATUS ---------------
imap > "$O" <<IN
b1 LOGIN alice alice-pw
b2 SELECT INBOX
b3 STORE 2 +FLAGS (\\Seen)
b4 FETCH 1:* (UID FLAGS) (CHANGEDSINCE $H0)
b5 STORE 2,3 (UNCHANGEDSINCE $H0) +FLAGS.SILENT (\\Flagged)
b6 SEARCH MODSEQ $((H0 + 1))
b7 UID SEARCH RETURN (ALL) MODSEQ $((H0 + 1))
b8 STATUS Trash (HIGHESTMODSEQ)
b9 FETCH 4 (MODSEQ)
b10 STORE 4 (UNCHANGEDSINCE 0) +FLAGS (\\Answered)
b11 LOGOUT
IN
grep -q '^\* 2 FETCH (FLAGS (\\Seen))$' "$O"; ok $? "STORE before any CONDSTORE-enabling command: no MODSEQ"
M2=$(sed -n 's/^\* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (\([0-9]*\)))$/\1/p' "$O")
[ "$M2" -gt "$H0" ]; ok $? "the changed message has a modseq above the old HIGHESTMODSEQ"
grep '^\* [0-9] FETCH (UID' "$O" | grep -v '^\* 2 FETCH' | grep -q . ; r=$?
grep -q '^\* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (' "$O" && [ $r -ne 0 ]; ok $? "FETCH (CHANGEDSINCE): only the changed message"
grep -q '^\* 3 FETCH (MODSEQ (' "$O"; ok $? "STORE .SILENT with UNCHANGEDSINCE: FETCH (MODSEQ) of the stored one"
grep -q '^b5 OK \[MODIFIED 2\]' "$O"; ok $? "STORE (UNCHANGEDSINCE): OK [MODIFIED 2] for the one changed since"
grep -q '^\* SEARCH 2 3 (MODSEQ [0-9]*)$' "$O"; ok $? "SEARCH MODSEQ: the changed messages and their highest modseq"
grep -q '^\* ESEARCH (TAG "b7") UID ALL 2:3 MODSEQ [0-9]*$' "$O"; ok $? "ESEARCH with MODSEQ"
grep -q '^b8 NO' "$O"; ok $? "STATUS of a missing mailbox: NO"
grep -q '^\* 4 FETCH (MODSEQ ([0-9]*))$' "$O"; ok $? "FETCH MODSEQ"
grep -q '^b10 OK \[MODIFIED 4\]' "$O"; ok $? "UNCHANGEDSINCE 0 always fails"
imap > "$O" <<'IN'
c1 LOGIN alice alice-pw
c2 STATUS INBOX (MESSAGES HIGHESTMODSEQ)
c3 LOGOUT
IN
H1=$(sed -n 's/^\* STATUS "INBOX" (MESSAGES 6 HIGHESTMODSEQ \([0-9]*\))$/\1/p' "$O")
[ -n "$H1" ] && [ "$H1" -gt "$M2" ]; ok $? "STATUS HIGHESTMODSEQ ($H1) above every change"

# --- errors -----------------------------------------------------------------------
imap > "$O" <<'IN'
d1 LOGIN alice alice-pw
d2 SELECT INBOX (QRESYNC (1 1))
d3 SELECT INBOX (BOGUS)
d4 SELECT INBOX
d5 FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)
d6 FETCH 1 (FLAGS) (CHANGEDSINCE x)
d7 STORE 1 (UNCHANGEDSINCE) +FLAGS (\Seen)
d8 LOGOUT
IN
grep -q '^d2 BAD' "$O"; ok $? "SELECT (QRESYNC ...) before ENABLE QRESYNC: BAD"
grep -q '^d3 BAD' "$O"; ok $? "an unknown SELECT parameter: BAD"
grep -q '^d5 BAD' "$O" && grep -q '^d6 BAD' "$O" && grep -q '^d7 BAD' "$O"; ok $? "bad modifiers: BAD"

# --- QRESYNC: expunge here, changes by another session and program ---------
UV=$(sed -n 's/^X-IMAPbase: \([0-9]*\) .*/\1/p' "$SPOOL/alice" | head -n 1)
# the session's replies without CR, refreshed after each wait
expect_a() { expect "$1" A; tr -d '\r' < "$T_TMP/A.out" > "$T_TMP/A.txt"; }
sess_start imapd A 3
say 3 "e1 LOGIN alice alice-pw" "e2 ENABLE QRESYNC" "e3 SELECT INBOX"
expect_a "^e3 OK"
say 3 "e4a UID STORE 1 +FLAGS.SILENT (\\Deleted)" "e4 UID EXPUNGE 1"
expect_a "^e4 OK"
grep -q '^e4 OK' "$T_TMP/A.txt" && ! grep -q '^\* 1 EXPUNGE' "$T_TMP/A.txt"; ok $? "UID EXPUNGE under QRESYNC: no EXPUNGE response"
grep -q '^\* ENABLED QRESYNC$' "$T_TMP/A.txt"; ok $? "ENABLE QRESYNC"
grep -q '^e4 OK' "$T_TMP/A.txt" && grep -q '^\* VANISHED 1$' "$T_TMP/A.txt"; ok $? "... but VANISHED 1"
grep -q '^e4 OK \[HIGHESTMODSEQ [0-9]*\]' "$T_TMP/A.txt"; ok $? "... and OK [HIGHESTMODSEQ]"
H2=$(sed -n 's/^e4 OK \[HIGHESTMODSEQ \([0-9]*\)\].*/\1/p' "$T_TMP/A.txt")
[ "$H2" -gt "$H1" ]; ok $? "an expunge raises HIGHESTMODSEQ"
# another session flags message 3: this one sees it with its MODSEQ
imap > "$O" <<'IN'
f1 LOGIN alice alice-pw
f2 SELECT INBOX
f3 UID STORE 3 +FLAGS (\Draft)
f4 LOGOUT
IN
say 3 "e5 NOOP"
expect_a "^e5 OK"
grep -q '^\* 2 FETCH (FLAGS (.*\\Draft.*) MODSEQ ([0-9]*))$' "$T_TMP/A.txt"; ok $? "another session's change: unsolicited FETCH with MODSEQ"
# another session expunges message 5: VANISHED here
imap > "$O" <<'IN'
g1 LOGIN alice alice-pw
g2 SELECT INBOX
g3 UID STORE 5 +FLAGS (\Deleted)
g4 EXPUNGE
g5 LOGOUT
IN
say 3 "e6 NOOP"
expect_a "^e6 OK"
grep -q '^\* VANISHED 5$' "$T_TMP/A.txt"; ok $? "another session's expunge: VANISHED"
say 3 "e7 UID FETCH 1:* (FLAGS) (CHANGEDSINCE $H0 VANISHED)"
expect_a "^e7 OK"
grep -q '^\* VANISHED (EARLIER) 1,5$' "$T_TMP/A.txt"; ok $? "UID FETCH (CHANGEDSINCE .. VANISHED): VANISHED (EARLIER) 1,5"
say 3 "e8 SELECT INBOX"
expect_a "^e8 OK"
grep -q '^\* OK \[CLOSED\]' "$T_TMP/A.txt"; ok $? "SELECT while selected under QRESYNC: OK [CLOSED]"
say 3 "e9 LOGOUT"
expect_a "^e9 OK"
sess_end A 3

# a mutt-style rewrite between sessions: message 6 gets \Flagged in the file
python3 - "$SPOOL/alice" <<'PY'
import sys
p = sys.argv[1]; s = open(p, "rb").read()
i = s.index(b"Message-ID: <m6@example.test>")
j = s.index(b"\n\n", i)
s = s[:j] + b"\nX-Status: F" + s[j:]
open(p, "r+b").write(s)
PY
imap > "$O" <<IN
h1 LOGIN alice alice-pw
h2 ENABLE QRESYNC
h3 SELECT INBOX (QRESYNC ($UV $H2 1:6))
h4 LOGOUT
IN
grep -q '^\* VANISHED (EARLIER) 1,5$' "$O"; ok $? "SELECT (QRESYNC): VANISHED (EARLIER) for the known UIDs gone"
grep -q '^\* [0-9] FETCH (UID 6 FLAGS (\\Flagged.*) MODSEQ ([0-9]*))$' "$O"; ok $? "... and a FETCH for the message another program changed"
grep -q '^\* [0-9] FETCH (UID 3 ' "$O"; ok $? "... and for the one changed before (modseq above the client's)"
grep '^\* [0-9] FETCH (UID [24] ' "$O" | grep -q .; is $? 1 "... and none for the unchanged ones"
H3=$(hms "$O")
[ "$H3" -gt "$H2" ]; ok $? "HIGHESTMODSEQ after the rewrite is above the one before"
imap > "$O" <<IN
i1 LOGIN alice alice-pw
i2 ENABLE QRESYNC
i3 SELECT INBOX (QRESYNC (12345 $H2))
i4 LOGOUT
IN
grep -q 'VANISHED\|FETCH' "$O"; is $? 1 "QRESYNC with another UIDVALIDITY: a plain SELECT"

# --- the index lost: HIGHESTMODSEQ never goes back ----------------------------
rm -rf "$IDX"
imap > "$O" <<'IN'
j1 LOGIN alice alice-pw
j2 SELECT INBOX (CONDSTORE)
j3 LOGOUT
IN
H4=$(hms "$O")
[ "$H4" -gt "$H3" ]; ok $? "index deleted: HIGHESTMODSEQ $H4 above $H3"

# --- mbsync (this isync does not use CONDSTORE yet: it must sync as before
# with it advertised), over TCP on 127.0.0.1 (a loopback client may log in)
# to imapd started per connection by a small listener on a free port
if command -v mbsync > /dev/null; then
	python3 - "$B/imapd" "$FCONF" "$T_TMP/port" <<'PY' &
import os, socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4)
open(sys.argv[3] + ".tmp", "w").write(str(l.getsockname()[1])); os.rename(sys.argv[3] + ".tmp", sys.argv[3])
l.settimeout(120)
for _ in range(2):
    try:
        c, _a = l.accept()
    except OSError:
        break
    if os.fork() == 0:
        os.dup2(c.fileno(), 0); os.dup2(c.fileno(), 1)
        os.execv(sys.argv[1], [sys.argv[1], "-c", sys.argv[2]])
    c.close()
PY
	LPID=$!
	wait_for . "$T_TMP/port"
	mkdir -p "$T_TMP/mb/inbox"
	cat > "$T_TMP/mbsyncrc" <<RC
IMAPAccount t
Host 127.0.0.1
Port $(cat "$T_TMP/port")
User alice
Pass alice-pw
SSLType None
AuthMechs LOGIN PLAIN

IMAPStore remote
Account t

MaildirStore local
Path $T_TMP/mb/
Inbox $T_TMP/mb/inbox

Channel c
Far :remote:
Near :local:
Patterns INBOX
Create Near
Sync All
Expunge Both
SyncState *
RC
	timeout 60 mbsync -c "$T_TMP/mbsyncrc" -a > "$T_TMP/mbsync.out" 2>&1; r=$?
	is "$r" 0 "mbsync: first sync"
	n=$("$B/t/bin/mboxtool" scan "$SPOOL/alice" | sed -n 's/^count=\([0-9]*\).*/\1/p')
	is "$(ls "$T_TMP/mb/inbox/cur" "$T_TMP/mb/inbox/new" 2>/dev/null | grep -c ',')" "$n" "mbsync: the $n messages"
	f=$(grep -l '^Subject: message 4$' "$T_TMP/mb/inbox/cur"/* "$T_TMP/mb/inbox/new"/* 2>/dev/null | head -n 1)
	[ -n "$f" ] && mv "$f" "$T_TMP/mb/inbox/cur/$(basename "${f%%:2,*}"):2,FS"
	msg 7 | deliver alice
	timeout 60 mbsync -c "$T_TMP/mbsyncrc" -a >> "$T_TMP/mbsync.out" 2>&1; r=$?
	is "$r" 0 "mbsync: second sync"
	is "$(ls "$T_TMP/mb/inbox/cur" "$T_TMP/mb/inbox/new" 2>/dev/null | grep -c ',')" "$((n + 1))" "mbsync: the new message came"
	"$B/t/bin/mboxtool" scan "$SPOOL/alice" | grep '^[0-9]* uid=4 ' | grep -q 'flags=[A-Z]*F'; ok $? "mbsync: the flags set in the maildir reached the mbox (UID 4)"
	[ "$r" = 0 ] || sed "s/^/# /" "$T_TMP/mbsync.out" | head -n 10
	kill $LPID 2>/dev/null; wait $LPID 2>/dev/null
else
	skip "mbsync not installed"
fi
# --- STATUS from the index header's counters (bob's INBOX) ---------------------------
st() { sed -n 's/^\* STATUS "*INBOX"* (\(.*\))$/\1/p' "$1" | tail -n 1; }
status_sess() {
	imap > "$O" <<'IN'
s1 LOGIN bob bob-pw
s2 STATUS INBOX (MESSAGES RECENT UIDNEXT UNSEEN SIZE HIGHESTMODSEQ)
s3 EXAMINE INBOX
s4 FETCH 1:* (RFC822.SIZE)
s5 LOGOUT
IN
	S=$(st "$O")
	sz=$(sed -n 's/^\* [0-9]* FETCH (RFC822.SIZE \([0-9]*\))$/\1/p' "$O" | awk '{ t += $1 } END { print t + 0 }')
	echo "$S" | grep -q "SIZE $sz HIGHESTMODSEQ $(hms "$O")\$"; ok $? "$1: SIZE is the sum of RFC822.SIZE, HIGHESTMODSEQ the one of EXAMINE"
}
for i in 1 2 3 4 5; do msg $i | deliver bob; done
status_sess "first STATUS (UIDs given)"
echo "$S" | grep -q '^MESSAGES 5 RECENT 5 UIDNEXT 6 UNSEEN 5 '; ok $? "first STATUS: $S"
status_sess "STATUS of the unchanged mailbox"
echo "$S" | grep -q '^MESSAGES 5 RECENT 5 UIDNEXT 6 UNSEEN 5 '; ok $? "STATUS again: $S"
imap > "$O" <<'IN'
c1 LOGIN bob bob-pw
c2 SELECT INBOX
c3 STORE 1 +FLAGS.SILENT (\Seen)
c4 STORE 2 +FLAGS.SILENT (\Deleted)
c5 LOGOUT
IN
status_sess "after SELECT and STORE"
echo "$S" | grep -q '^MESSAGES 5 RECENT 0 UIDNEXT 6 UNSEEN 4 '; ok $? "after SELECT (\\Recent claimed) and STORE \\Seen: $S"
# libmbox's append as smtpd's delivery makes it: the index extended
msg 6 | as_user bob env MBOX_INDEX_DIR="$T_TMP/home/bob/.libmbox/index" \
	"$B/t/bin/mboxtool" append "$SPOOL/bob" -s sender@example.test > /dev/null
cp "$SPOOL/bob" "$T_TMP/bob.before"
printf 'd1 LOGIN bob bob-pw\nd2 STATUS INBOX (UIDNEXT MESSAGES)\nd3 LOGOUT\n' | imap > "$O"
grep -q '^\* STATUS "*INBOX"* (MESSAGES 6 UIDNEXT 7)$' "$O"; ok $? "STATUS after a delivery: the UIDNEXT the new message will make"
same_file "$SPOOL/bob" "$T_TMP/bob.before" "... answered from the index and the new tail, the mailbox not written"
status_sess "after a delivery"
echo "$S" | grep -q '^MESSAGES 6 RECENT 1 UIDNEXT 7 UNSEEN 5 '; ok $? "after a delivery: $S"
imap > "$O" <<'IN'
e1 LOGIN bob bob-pw
e2 SELECT INBOX
e3 EXPUNGE
e4 LOGOUT
IN
status_sess "after EXPUNGE"
echo "$S" | grep -q '^MESSAGES 5 RECENT 0 UIDNEXT 7 UNSEEN 4 '; ok $? "after EXPUNGE: $S"
as_user bob python3 - "$SPOOL/bob" <<'PY2'
import mailbox, sys
mb = mailbox.mbox(sys.argv[1]); mb.lock()
for k, m in mb.items():
    m.set_flags("RO"); mb[k] = m
mb.flush(); mb.unlock(); mb.close()
PY2
status_sess "after python mailbox rewrote it"
echo "$S" | grep -q '^MESSAGES 5 RECENT 0 UIDNEXT 7 UNSEEN 0 '; ok $? "after another program marked all seen, never the stale count: $S"

# --- SELECT answered from the counters, the view built at the next command (carol) ---
for i in 1 2 3 4 5 6; do msg $i | deliver carol; done
imap > /dev/null <<'IN'
l1 LOGIN carol carol-pw
l2 SELECT INBOX
l3 STORE 1 +FLAGS (\Seen)
l4 STORE 3 +FLAGS (\Seen $Work)
l5 STORE 2 +FLAGS (\Deleted)
l6 LOGOUT
IN
msg 7 | deliver carol; msg 8 | deliver carol
printf 'l1 LOGIN carol carol-pw\nl2 STATUS INBOX (MESSAGES)\nl3 LOGOUT\n' | imap > /dev/null
cp "$FCONF" "$T_TMP/noindex.conf"
echo "mail_index_directory =" >> "$T_TMP/noindex.conf"
sel_cmp() { # NAME COMMAND: the same replies with the index and without any
	printf 'l1 LOGIN carol carol-pw\nl2 %s\nl3 FETCH 1:* (UID FLAGS)\nl4 LOGOUT\n' "$2" | imap > "$T_TMP/lz"
	printf 'l1 LOGIN carol carol-pw\nl2 %s\nl3 FETCH 1:* (UID FLAGS)\nl4 LOGOUT\n' "$2" | crlf |
		"$B/imapd" -c "$T_TMP/noindex.conf" | nocr > "$T_TMP/lz.ref"
	same_file "$T_TMP/lz" "$T_TMP/lz.ref" "$1: the replies of a server without index"
}
sel_cmp "EXAMINE with 2 \\Recent" "EXAMINE INBOX"
grep -q '^\* 2 RECENT$' "$T_TMP/lz" && grep -q '^\* OK \[UNSEEN 2\]' "$T_TMP/lz" &&
	grep -q '^\* FLAGS (.*\$Work' "$T_TMP/lz"; ok $? "EXAMINE: RECENT 2, UNSEEN 2, the keyword in FLAGS"
printf 'l1 LOGIN carol carol-pw\nl2 SELECT INBOX\nl3 LOGOUT\n' | imap > /dev/null   # claims them
sel_cmp "SELECT of the unchanged mailbox" "SELECT INBOX"
sel_cmp "EXAMINE of the unchanged mailbox" "EXAMINE INBOX"
grep -q '^\* 8 EXISTS$' "$T_TMP/lz" && grep -q '^\* 0 RECENT$' "$T_TMP/lz"; ok $? "8 EXISTS, 0 RECENT"

# changed between SELECT and the next command: reported against the view announced
sess_start imapd lz 7
say 7 "z1 LOGIN carol carol-pw" "z2 SELECT INBOX"
expect '^z2 OK' lz
as_user carol python3 - "$SPOOL/carol" <<'PY2'
import mailbox, sys
mb = mailbox.mbox(sys.argv[1]); mb.lock()
keys = mb.keys()
m = mb[keys[3]]; m.set_flags("RO"); mb[keys[3]] = m   # message 4 seen
mb.remove(keys[1])                                   # message 2 gone
mb.flush(); mb.unlock(); mb.close()
PY2
msg 9 | deliver carol
say 7 "z3 NOOP" "z4 FETCH 1:* (UID)"
expect '^z4 OK' lz
nocr < "$T_TMP/lz.out" > "$T_TMP/lz.o"
grep -q '^\* 2 EXPUNGE$' "$T_TMP/lz.o"; ok $? "another program's expunge after a counters SELECT: * 2 EXPUNGE"
grep -q '^\* 3 FETCH (FLAGS (\\Seen))$' "$T_TMP/lz.o"; ok $? "... its flag change: FETCH of the right message"
grep -q '^\* 8 EXISTS$' "$T_TMP/lz.o"; ok $? "... and the delivery: 8 EXISTS"
is "$(sed -n 's/^\* \([0-9]*\) FETCH (UID \([0-9]*\))$/\1:\2/p' "$T_TMP/lz.o" | tr '\n' ' ')" \
	"1:1 2:3 3:4 4:5 5:6 6:7 7:8 8:9 " "... and every sequence number has its UID"
say 7 "z5 LOGOUT"
sess_end lz 7

# the index file truncated between SELECT and the next command: BYE, never a wrong view
sess_start imapd lz 7
say 7 "y1 LOGIN carol carol-pw" "y2 SELECT INBOX"
expect '^y2 OK' lz
f=$(ls "$T_TMP"/home/carol/.libmbox/index/*.index)
truncate -s 1000 "$f"
say 7 "y3 FETCH 1:* (UID)"
sess_end lz 7
nocr < "$T_TMP/lz.out" > "$T_TMP/lz.o"
grep -q '^\* BYE ' "$T_TMP/lz.o" && ! grep -q '^\* 1 FETCH' "$T_TMP/lz.o"; ok $? "index truncated after SELECT: BYE, nothing served"
printf 'l1 LOGIN carol carol-pw\nl2 SELECT INBOX\nl3 FETCH 8 (UID)\nl4 LOGOUT\n' | imap > "$O"
grep -q '^\* 8 FETCH (UID 9)$' "$O"; ok $? "the next session: right (index rebuilt)"

done_testing
