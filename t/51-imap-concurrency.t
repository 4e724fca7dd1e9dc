#!/bin/sh
# Concurrency: two sessions keep INBOX selected while 200 messages are
# delivered and a third session repeatedly expunges some of them.  At the
# end both sessions and a fresh one agree on the UID -> message map, nothing
# was lost or duplicated, and the mailbox still parses cleanly.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env

N=200
mkbox alice < /dev/null
i=0
while [ $i -lt 20 ]; do msg $i | deliver alice; i=$((i + 1)); done

# the message to deliver: every 5th is to be dropped by the expunging session
dmsg() {
	if [ $(($1 % 5)) = 0 ]; then s=drop; else s=keep; fi
	printf 'From: d@example.test\nSubject: %s %s\nMessage-ID: <d%s@example.test>\n\nbody %s\n' "$s" "$1" "$1" "$1"
}
expunger() {
	imap > /dev/null <<'IN'
x1 LOGIN alice alice-pw
x2 SELECT INBOX
x3 UID SEARCH SUBJECT drop
x4 SEARCH SUBJECT drop
x5 STORE 1:* +FLAGS.SILENT ($churn)
IN
	# store \Deleted on the drops, then expunge
	imap > "$T_TMP/x.out" <<'IN'
y1 LOGIN alice alice-pw
y2 SELECT INBOX
y3 UID SEARCH SUBJECT drop
IN
	set=$(sed -n 's/^\* SEARCH //p' "$T_TMP/x.out" | tr ' ' ',')
	[ -n "$set" ] || return 0
	imap > /dev/null <<IN
z1 LOGIN alice alice-pw
z2 SELECT INBOX
z3 UID STORE $set +FLAGS (\\Deleted)
z4 EXPUNGE
IN
}

sess_start imapd a 3
sess_start imapd b 4
say 3 "a1 LOGIN alice alice-pw" "a2 SELECT INBOX"
say 4 "b1 LOGIN alice alice-pw" "b2 SELECT INBOX"
expect '^a2 OK' a; ok $? "session A selected INBOX"
expect '^b2 OK' b; ok $? "session B selected INBOX"

( i=0; while [ $i -lt $N ]; do dmsg $i | deliver alice; i=$((i + 1)); done; touch "$T_TMP/delivered" ) &
DPID=$!
k=0
while [ ! -e "$T_TMP/delivered" ] && [ $k -lt 600 ]; do
	say 3 "a$k NOOP"
	say 4 "b$k UID FETCH 1:* (FLAGS)"
	[ $((k % 5)) = 2 ] && expunger
	k=$((k + 1))
	sleep 0.1
done
wait $DPID
ok $? "all $N deliveries succeeded"
expunger
say 3 "aN NOOP" "aF UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (Message-ID)])" "aZ LOGOUT"
say 4 "bN NOOP" "bF UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (Message-ID)])" "bZ LOGOUT"
expect '^aZ OK' a; ok $? "session A logged out"
expect '^bZ OK' b; ok $? "session B logged out"
sess_end a 3
sess_end b 4
imap > "$T_TMP/c.out" <<'IN'
c1 LOGIN alice alice-pw
c2 SELECT INBOX
cF UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (Message-ID)])
IN

# uid -> message-id maps, from the final FETCH of each session
umap() {
	sed -n "/^${2}N /,/^${2}Z /p" "$1" | nocr | awk '
		/^\* [0-9]+ FETCH \(UID [0-9]+ / { uid = $5 }
		/^Message-ID:/ { print uid, $2 }'
}
umap "$T_TMP/a.out" a > "$T_TMP/a.map"
umap "$T_TMP/b.out" b > "$T_TMP/b.map"
nocr < "$T_TMP/c.out" | awk '/^\* [0-9]+ FETCH \(UID [0-9]+ / { uid = $5 } /^Message-ID:/ { print uid, $2 }' > "$T_TMP/c.map"
want=$((20 + N - N / 5))
is "$(wc -l < "$T_TMP/c.map" | tr -d ' ')" "$want" "fresh session sees every kept message ($want)"
same_file "$T_TMP/a.map" "$T_TMP/c.map" "session A ends with the same UID map"
same_file "$T_TMP/b.map" "$T_TMP/c.map" "session B ends with the same UID map"
is "$(awk '{print $2}' "$T_TMP/c.map" | sort | uniq -d | wc -l | tr -d ' ')" 0 "no message duplicated"
is "$(awk '{print $1}' "$T_TMP/c.map" | sort -n | uniq -d | wc -l | tr -d ' ')" 0 "no UID given twice"
lacks "$T_TMP/c.map" '<d[0-9]*[05]@' "every dropped message is gone"
i=0; missing=0
while [ $i -lt $N ]; do
	if [ $((i % 5)) != 0 ] && ! grep -q "<d$i@" "$T_TMP/c.map"; then missing=$((missing + 1)); fi
	i=$((i + 1))
done
is "$missing" 0 "no kept message lost"
is "$(grep -c '^From ' "$SPOOL/alice")" "$want" "the mailbox parses into the same number of messages"
n=$("$B/t/bin/mboxtool" scan "$SPOOL/alice" 2>/dev/null | grep -c 'uid=' || true)
[ "$n" = 0 ] || is "$n" "$want" "mboxtool scan agrees"
# the sessions saw the expunges as EXPUNGE responses, never as gaps
grep -q '^\* [0-9]* EXPUNGE' "$T_TMP/a.out"; ok $? "session A was told about expunges"
grep -q '^\* [0-9]* EXISTS' "$T_TMP/b.out"; ok $? "session B was told about new mail"
done_testing
