#!/bin/sh
# End to end under xinetd on 127.0.0.1 with real clients: python3 imaplib
# (every core command), curl imap://, mbsync syncing INBOX and a folder both
# ways with a flag change and a new delivery, mutt (under tmux) reading and
# deleting, fetchmail over IMAP.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
xinetd_need
imap_env
P=$(free_port)
xinetd_start imap=$P
ok $? "xinetd serves imapd on 127.0.0.1:$P"

fresh() { # fresh USER: an INBOX of three messages
	mkbox "$1" < /dev/null
	for i in 1 2 3; do msg $i | deliver "$1"; done
}
# state USER MAILBOX: "uid flags" lines from a piped session as the user
state() {
	printf 's1 LOGIN %s %s-pw\ns2 EXAMINE "%s"\ns3 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])\n' "$1" "$1" "$2" |
		imap | awk '/^\* [0-9]+ FETCH/ { u = $5; f = $0; sub(/.*FLAGS \(/, "", f); sub(/\).*/, "", f) }
			/^Subject:/ { print u, $3, f }'
}

# --- python3 imaplib ----------------------------------------------------------
fresh alice
"$PYTHON" "$IMAP_SRC/e2e.py" "$P" $((T_N + 1)) > "$T_TMP/py.out" 2>&1
cat "$T_TMP/py.out"
T_N=$((T_N + $(grep -c '^\(not \)\?ok ' "$T_TMP/py.out")))
T_FAIL=$((T_FAIL + $(grep -c '^not ok ' "$T_TMP/py.out")))
grep -q '^ok' "$T_TMP/py.out"; ok $? "python3 imaplib ran"

# --- curl imap:// -------------------------------------------------------------
if command -v curl > /dev/null; then
	fresh bob
	curl -s --max-time 20 -u bob:bob-pw "imap://127.0.0.1:$P/INBOX;UID=2" > "$T_TMP/curl.msg"
	grep -q '^Subject: message 2' "$T_TMP/curl.msg"; ok $? "curl fetches a message by UID"
	curl -s --max-time 20 -u bob:bob-pw "imap://127.0.0.1:$P/" > "$T_TMP/curl.list"
	grep -q 'INBOX' "$T_TMP/curl.list"; ok $? "curl lists mailboxes"
	curl -s --max-time 20 -u bob:bob-pw "imap://127.0.0.1:$P/INBOX?SUBJECT%20%22message%203%22" > "$T_TMP/curl.search"
	grep -q 'SEARCH 3' "$T_TMP/curl.search"; ok $? "curl searches"
	curl -s --max-time 20 -u bob:wrong "imap://127.0.0.1:$P/INBOX;UID=1" > /dev/null
	[ $? != 0 ]; ok $? "curl with a wrong password fails"
else
	skip "curl not installed"
fi

# --- mbsync: INBOX and a folder, both ways -----------------------------------
if command -v mbsync > /dev/null; then
	fresh carol
	printf 'From w@example.test  Fri Nov 27 10:00:00 2026\nFrom: w@example.test\nSubject: work 1\n\nwork body\n\n' | mkfolder carol Work
	mkdir -p "$T_TMP/md"
	cat > "$T_TMP/mbsyncrc" <<RC
IMAPAccount fac
Host 127.0.0.1
Port $P
User carol
Pass carol-pw
SSLType None
AuthMechs LOGIN PLAIN

IMAPStore remote
Account fac

MaildirStore local
Path $T_TMP/md/
Inbox $T_TMP/md/INBOX
SubFolders Verbatim

Channel ch
Far :remote:
Near :local:
Patterns INBOX Work
Create Both
Expunge Both
Sync All
SyncState *
RC
	timeout 60 mbsync -c "$T_TMP/mbsyncrc" -a > "$T_TMP/mbsync1.out" 2>&1
	ok $? "mbsync: first sync"
	[ -n "${IMAP_DEBUG:-}" ] && sed 's/^/# /' "$T_TMP/mbsync1.out"
	is "$(ls "$T_TMP/md/INBOX/cur" "$T_TMP/md/INBOX/new" 2>/dev/null | grep -c ,)" 3 "mbsync: INBOX pulled (3)"
	is "$(ls "$T_TMP/md/Work/cur" "$T_TMP/md/Work/new" 2>/dev/null | grep -c ,)" 1 "mbsync: Work pulled (1)"
	# near side: mark the "message 2" file seen and flagged; add a message to Work
	f=$(grep -l '^Subject: message 2' "$T_TMP/md/INBOX/cur/"* "$T_TMP/md/INBOX/new/"* 2>/dev/null | head -n 1)
	base=$(basename "$f" | sed 's/:2,.*//')
	mv "$f" "$T_TMP/md/INBOX/cur/$base:2,FS"
	printf 'From: n@example.test\nSubject: near 1\n\nfrom the maildir\n' > "$T_TMP/md/Work/new/1234.near.x"
	# far side: a new delivery
	msg 4 | deliver carol
	timeout 60 mbsync -c "$T_TMP/mbsyncrc" -a > "$T_TMP/mbsync2.out" 2>&1
	ok $? "mbsync: second sync"
	state carol INBOX > "$T_TMP/carol.inbox"
	grep -q '^2 2 \\Flagged \\Seen$' "$T_TMP/carol.inbox"; ok $? "mbsync: flag change reached the server"
	is "$(ls "$T_TMP/md/INBOX/cur" "$T_TMP/md/INBOX/new" | grep -c ,)" 4 "mbsync: the new delivery reached the maildir"
	state carol Work > "$T_TMP/carol.work"
	grep -q ' 1 ' "$T_TMP/carol.work" && [ "$(wc -l < "$T_TMP/carol.work")" = 2 ]; ok $? "mbsync: a maildir message was uploaded to Work"
	lacks_in '^(X-UID|X-IMAPbase|Status:|X-Keywords)' "no metadata header leaked to the client" \
		"$(cat "$T_TMP/md/INBOX/cur/"* "$T_TMP/md/INBOX/new/"* 2>/dev/null)"
else
	skip "mbsync not installed"
fi

# --- mutt under tmux: read one message, delete another ------------------------
if command -v mutt > /dev/null && command -v tmux > /dev/null; then
	fresh alice
	cat > "$T_TMP/muttrc" <<RC
set imap_user=alice
set imap_pass=alice-pw
set folder=imap://127.0.0.1:$P/
set spoolfile=+INBOX
set delete=yes
set quit=yes
set move=no
set mark_old=no
set pager_stop=yes
set ssl_starttls=no
set ssl_force_tls=no
set imap_passive=yes
set header_cache=
set message_cachedir=
RC
	tmux -L "fct$$" new-session -d -x 120 -y 40 "mutt -n -F $T_TMP/muttrc -f imap://127.0.0.1:$P/INBOX"
	i=0
	until tmux -L "fct$$" capture-pane -p 2>/dev/null | grep -q 'message 3'; do
		i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.2
	done
	ok $([ $i -lt 100 ]; echo $?) "mutt shows the index"
	tmux -L "fct$$" send-keys Enter; sleep 1
	tmux -L "fct$$" send-keys q; sleep 0.5
	tmux -L "fct$$" send-keys D '~s "message 2"' Enter; sleep 0.5
	[ -n "${IMAP_DEBUG:-}" ] && tmux -L "fct$$" capture-pane -p | sed 's/^/# /'
	tmux -L "fct$$" send-keys '$'; sleep 1
	[ -n "${IMAP_DEBUG:-}" ] && tmux -L "fct$$" capture-pane -p | sed 's/^/# /'
	tmux -L "fct$$" send-keys q; sleep 1
	tmux -L "fct$$" kill-server 2>/dev/null
	state alice INBOX > "$T_TMP/alice.mutt"
	grep -q '^[0-9]* 1 \\Seen' "$T_TMP/alice.mutt"; ok $? "mutt: the message read is \\Seen on the server"
	lacks "$T_TMP/alice.mutt" '^[0-9]* 2 ' "mutt: the deleted message is expunged"
	is "$(wc -l < "$T_TMP/alice.mutt" | tr -d ' ')" 2 "mutt: two messages left"
else
	skip "mutt or tmux not installed"
fi

# --- fetchmail over IMAP ------------------------------------------------------
if command -v fetchmail > /dev/null; then
	fresh bob
	cat > "$T_TMP/fetchmailrc" <<RC
set no syslog
poll 127.0.0.1 service $P protocol IMAP auth password timeout 30
  user "bob" password "bob-pw" is "root" here
  mda "/bin/sh -c 'cat >> $T_TMP/fetched'"
  fetchall
  sslproto ""
  nokeep
RC
	chmod 600 "$T_TMP/fetchmailrc"
	FETCHMAILHOME=$T_TMP timeout 60 fetchmail -f "$T_TMP/fetchmailrc" --nosyslog --pidfile "$T_TMP/fm.pid" > "$T_TMP/fm.out" 2>&1
	rc=$?
	[ $rc = 0 ] || sed 's/^/# /' "$T_TMP/fm.out" | head -n 20
	ok $rc "fetchmail ran"
	is "$(grep -c '^Subject: message' "$T_TMP/fetched" 2>/dev/null)" 3 "fetchmail got the three messages"
	is "$(state bob INBOX | wc -l | tr -d ' ')" 0 "fetchmail's nokeep deleted them on the server"
else
	skip "fetchmail not installed"
fi

xinetd_stop
done_testing
