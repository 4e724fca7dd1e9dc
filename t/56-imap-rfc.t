#!/bin/sh
# RFC 3501 corner cases the review found, as imaptest and real clients probe
# them: flag changes another session made before a delivery (no lost update),
# STATUS of the selected mailbox, LSUB parents, INBOX in patterns, overlong
# lines answered with their tag, EXAMINE and \Recent, and Thunderbird's three
# connections on one INBOX while mail arrives and flags change.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
O=$T_TMP/out
for i in 1 2 3 4 5; do msg $i | deliver alice; done

# --- a flag patched in place, then a delivery: the other session sees both --
sess_start imapd A 3
sess_start imapd B 4
say 3 "a1 LOGIN alice alice-pw" "a2 SELECT INBOX"
say 4 "b1 LOGIN alice alice-pw" "b2 SELECT INBOX"
expect "^a2 OK" A; expect "^b2 OK" B
msg 6 | deliver alice
say 3 "a3 NOOP"
expect "^a3 OK" A
say 3 "a4 UID STORE 4 +FLAGS (\\Flagged)"
expect "^a4 OK" A
msg 7 | deliver alice
say 4 "b3 NOOP"
expect "^b3 OK" B
grep -q '^\* 4 FETCH (FLAGS (\\Flagged\( \\Recent\)\?))' "$T_TMP/B.out"; ok $? "flag changed in place before a delivery: FETCH FLAGS in the other session"
grep -q '^\* 7 EXISTS' "$T_TMP/B.out"; ok $? "and the deliveries: EXISTS"
# B now sets \Seen on the same message: A's \Flagged must survive
say 4 "b4 UID STORE 4 +FLAGS (\\Seen)"
expect "^b4 OK" B
grep -q '^\* 4 FETCH (UID 4 FLAGS (\\Flagged \\Seen\( \\Recent\)\?))' "$T_TMP/B.out"; ok $? "STORE in the other session keeps the flag (no lost update)"
say 3 "a5 NOOP"
expect "^a5 OK" A
grep -q '^\* 4 FETCH (FLAGS (\\Flagged \\Seen\( \\Recent\)\?))' "$T_TMP/A.out"; ok $? "the first session sees the other's \\Seen"
say 3 "a6 LOGOUT"; say 4 "b6 LOGOUT"
expect "^a6 OK" A; expect "^b6 OK" B
sess_end A 3; sess_end B 4
"$B/t/bin/mboxtool" scan "$SPOOL/alice" | grep -q '^4 uid=4 flags=[A-Z]*F' &&
	"$B/t/bin/mboxtool" scan "$SPOOL/alice" | grep '^4 uid=4 ' | grep -q 'flags=[A-Z]*R'
ok $? "both flags are in the file"

# --- STATUS of the selected mailbox; EXAMINE leaves \Recent alone ---------------
msg 8 | deliver alice
imap > "$O" <<'IN'
c1 LOGIN alice alice-pw
c2 EXAMINE INBOX
c3 STATUS INBOX (MESSAGES RECENT)
c4 SELECT INBOX
c5 STATUS INBOX (MESSAGES RECENT UNSEEN)
c6 LOGOUT
IN
grep -q '^\* 1 RECENT' "$O" && grep -c '^\* 1 RECENT' "$O" | grep -q '^2$'; ok $? "EXAMINE shows \\Recent without claiming it; SELECT then gets it"
grep -q '^\* STATUS "INBOX" (MESSAGES 8 RECENT 1 UNSEEN 7)$' "$O"; ok $? "STATUS of the selected mailbox counts this session's \\Recent"
is "$(grep -c '^\* STATUS' "$O")" 2 "STATUS in EXAMINE and SELECT"
grep '^\* STATUS' "$O" | head -n 1 | grep -q '(MESSAGES 8 RECENT 1)$'; ok $? "STATUS while EXAMINEd: the unclaimed message is recent"

# --- LIST/LSUB patterns --------------------------------------------------------
msg 1 | mkfolder alice work/a
msg 1 | mkfolder alice work/b
imap > "$O" <<'IN'
d1 LOGIN alice alice-pw
d2 SUBSCRIBE work/a
d3 SUBSCRIBE work/b
d4 LSUB "" "%"
d5 LSUB "" "*"
d6 LIST "" "in%"
d7 LIST "" "Inbox"
d8 LSUB "work/" "%"
d9 LOGOUT
IN
sed -n '/^d3 OK/,/^d4 /p' "$O" | grep -q '^\* LSUB (\\Noselect) "/" "work"$'; ok $? "LSUB %: an unsubscribed parent of subscriptions, \\Noselect (6.3.9)"
is "$(sed -n '/^d3 OK/,/^d4 /p' "$O" | grep -c '^\* LSUB')" 1 "LSUB %: the parent once, not its children"
lacks_in '"work"' "LSUB *: no unsubscribed parent" "$(sed -n '/^d4 OK/,/^d5 /p' "$O")"
is "$(sed -n '/^d4 OK/,/^d5 /p' "$O" | grep -c '^\* LSUB () "/" "work/[ab]"$')" 2 "LSUB *: both subscriptions"
sed -n '/^d5 OK/,/^d6 /p' "$O" | grep -q '^\* LIST (\\HasNoChildren) "/" "INBOX"$'; ok $? "LIST in%: INBOX is case-insensitive in patterns"
sed -n '/^d6 OK/,/^d7 /p' "$O" | grep -q '"INBOX"$'; ok $? "LIST Inbox: INBOX"
is "$(sed -n '/^d7 OK/,/^d8 /p' "$O" | grep -c '^\* LSUB')" 2 "LSUB with a reference"

# --- overlong lines: a tagged reply, then the session goes on ------------------
python3 -c '
import sys
w = sys.stdout.buffer.write
w(b"e1 LOGIN alice alice-pw\r\n")
w(b"e2 NOOP " + b"x" * 70000 + b"\r\n")
w(b"e3 APPEND INBOX {5}" + b"y" * 70000 + b" {5}\r\n")
w(b"e4 NOOP\r\n")
w(b"e5 NOOP " + b"z" * 70000 + b" {4+}\r\nabcd\r\n")
w(b"e6 NOOP\r\n")' > "$T_TMP/long.in"
imap_raw < "$T_TMP/long.in" | nocr > "$O"
tagged e2 "$O" | grep -q '^e2 BAD \[TOOBIG\]'; ok $? "overlong line: BAD [TOOBIG] with the command's tag"
tagged e3 "$O" | grep -q '^e3 BAD \[TOOBIG\]' && ! grep -q '^+ ' "$O"; ok $? "overlong line ending in a literal: tagged BAD, no continuation"
is "$(tagged e4 "$O")" "e4 OK NOOP completed." "the session goes on"
tagged e5 "$O" | grep -q '^e5 BAD \[TOOBIG\]' && grep -q '^\* BYE' "$O" && ! grep -q '^e6' "$O"
ok $? "overlong line ending in a LITERAL+ literal: BAD, then BYE (the bytes cannot be told apart)"

# --- Thunderbird: three connections, deliveries, flags from one seen by all ---
: > "$SPOOL/alice"
for i in 1 2 3; do msg $i | deliver alice; done
sess_start imapd T1 3; sess_start imapd T2 4; sess_start imapd T3 5
say 3 "t1 LOGIN alice alice-pw" "t2 SELECT INBOX" "t3 UID FETCH 1:* (FLAGS)" "t4 IDLE"
say 4 "u1 LOGIN alice alice-pw" "u2 SELECT INBOX" "u3 UID FETCH 1:* (FLAGS)"
say 5 "v1 LOGIN alice alice-pw" "v2 SELECT INBOX"
expect "^+ idling" T1; expect "^u3 OK" T2; expect "^v2 OK" T3
i=4
while [ $i -le 12 ]; do msg $i | deliver alice; i=$((i + 1)); done
say 5 "v3 UID STORE 2 +FLAGS (\\Seen)" "v4 UID STORE 3 +FLAGS (\\Flagged \\Seen)" "v5 UID FETCH 11 (UID RFC822.SIZE BODY.PEEK[])"
expect "^v5 OK" T3
wait_for '^\* 3 FETCH (FLAGS (\\Flagged \\Seen\( \\Recent\)\?))' "$T_TMP/T1.out"
ok $? "idling connection: the other's STORE shows up as FETCH FLAGS"
grep -q '^\* 2 FETCH (FLAGS (\\Seen\( \\Recent\)\?))' "$T_TMP/T1.out"; ok $? "idling connection: both flag changes"
wait_for '^\* 12 EXISTS' "$T_TMP/T1.out"; ok $? "idling connection: the deliveries"
say 4 "u4 NOOP" "u5 UID FETCH 4:* (FLAGS)"
expect "^u5 OK" T2
grep -q '^\* 12 EXISTS' "$T_TMP/T2.out" && grep -q '^\* 3 FETCH (FLAGS (\\Flagged \\Seen\( \\Recent\)\?))' "$T_TMP/T2.out"
ok $? "polling connection: EXISTS and FETCH FLAGS at NOOP"
is "$(grep -c '^\* [0-9]* FETCH (UID [0-9]* FLAGS' "$T_TMP/T2.out")" 12 "UID FETCH 1:* then 4:*: 3 + 9 messages"
recents=0
for t in T1 T2 T3; do
	n=$(grep 'RECENT' "$T_TMP/$t.out" | tail -n 1 | sed 's/[^0-9]//g')
	recents=$((recents + ${n:-0}))
done
is "$recents" 12 "every message \\Recent in exactly one of the three sessions"
say 3 "DONE" "t5 LOGOUT"
# Thunderbird drops connections without LOGOUT (the later sessions hold
# the earlier ones' fifos open: end them last started, first)
sess_end T3 5; sess_end T2 4
expect "^t5 OK" T1; sess_end T1 3
"$B/t/bin/mboxtool" scan "$SPOOL/alice" > "$O"; ok $? "mailbox scans cleanly"
is "$(grep -c ' uid=' "$O")" 12 "no message lost or duplicated"
is "$(grep ' uid=' "$O" | sed 's/ .*//' | tr '\n' ' ')" "1 2 3 4 5 6 7 8 9 10 11 12 " "sequence 1..12"
grep '^3 uid=3 ' "$O" | grep -q 'flags=[A-Z]*F'; ok $? "the flag is in the file"

done_testing
