#!/bin/sh
# SORT and THREAD end to end under a private xinetd on 127.0.0.1 (a free
# port) with real clients: python3 imaplib (sort, uid('SORT'), thread,
# uid('THREAD'), ESORT), curl imap:// with a custom UID SORT and THREAD
# request, mutt with sort=threads and imap_servernoise showing a thread
# (mutt threads on its side from the headers it fetches: the check is that
# a client threading this mailbox sees the same thread).
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
xinetd_need
imap_env
P=$(free_port)
xinetd_start imap=$P
ok $? "xinetd serves imapd on 127.0.0.1:$P"

# four messages: 1 starts a thread, 3 answers 1, 4 answers 3, 2 stands alone
thread_box() {
	mkbox "$1" < /dev/null
	printf 'From: Zed <zed@example.test>\nSubject: plans\nDate: Mon, 3 Nov 2025 10:00:00 +0000\nMessage-ID: <p1@t>\n\nfirst\n' | deliver "$1"
	printf 'From: amy@example.test\nSubject: alone\nDate: Mon, 3 Nov 2025 09:00:00 +0000\nMessage-ID: <p2@t>\n\nalone\n' | deliver "$1"
	printf 'From: bob@example.test\nSubject: Re: plans\nDate: Mon, 3 Nov 2025 11:00:00 +0000\nMessage-ID: <p3@t>\nIn-Reply-To: <p1@t>\nReferences: <p1@t>\n\nreply\n' | deliver "$1"
	printf 'From: carl@example.test\nSubject: Re: Re: plans\nDate: Mon, 3 Nov 2025 12:00:00 +0000\nMessage-ID: <p4@t>\nReferences: <p1@t> <p3@t>\n\nreply to reply\n' | deliver "$1"
}

# --- python3 imaplib ----------------------------------------------------------
thread_box alice
"$PYTHON" - "$P" > "$T_TMP/py.out" 2>&1 <<'PY'
import imaplib, re, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login('alice', 'alice-pw')
print('caps', ' '.join(sorted(c for c in M.capabilities if 'SORT' in c or 'THREAD' in c)))
M.select('INBOX')
print('sort-date', M.sort('(DATE)', 'UTF-8', 'ALL'))
print('uid-sort-from', M.uid('SORT', '(REVERSE FROM)', 'UTF-8', 'ALL'))
print('sort-subject', M.sort('(SUBJECT DATE)', 'US-ASCII', 'ALL'))
print('thread-refs', M.thread('REFERENCES', 'UTF-8', 'ALL'))
print('uid-thread', M.uid('THREAD', 'ORDEREDSUBJECT', 'UTF-8', 'ALL'))
typ, _ = M._simple_command('SORT', 'RETURN', '(MIN MAX COUNT)', '(DATE)', 'UTF-8', 'ALL')
print('esort', typ, re.sub(rb'^\(TAG "[^"]*"\) ', b'', M.response('ESEARCH')[1][0]).decode())
try:
    M.sort('(BOGUS)', 'UTF-8', 'ALL')
    print('bad-key', 'accepted')
except M.error as e:
    print('bad-key', 'error')
M.logout()
PY
while read -r k v; do
	case $k in
	caps) is "$v" "CONTEXT=SORT ESORT SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES" "imaplib: the capabilities" ;;
	sort-date) is "$v" "('OK', [b'2 1 3 4'])" "imaplib sort (DATE)" ;;
	uid-sort-from) is "$v" "('OK', [b'1 4 3 2'])" "imaplib uid('SORT', '(REVERSE FROM)')" ;;
	sort-subject) is "$v" "('OK', [b'2 1 3 4'])" "imaplib sort (SUBJECT DATE)" ;;
	thread-refs) is "$v" "('OK', [b'(2)(1 3 4)'])" "imaplib thread REFERENCES" ;;
	uid-thread) is "$v" "('OK', [b'(2)(1 (3)(4))'])" "imaplib uid('THREAD', ORDEREDSUBJECT)" ;;
	esort) is "$v" "OK MIN 2 MAX 4 COUNT 4" "imaplib ESORT: SORT RETURN (MIN MAX COUNT)" ;;
	bad-key) is "$v" error "imaplib: a bad sort key is an error" ;;
	esac
done < "$T_TMP/py.out"
grep -q '^bad-key' "$T_TMP/py.out"; ok $? "imaplib ran to the end" || sed 's/^/# /' "$T_TMP/py.out"

# --- curl imap:// with custom requests -------------------------------------------
if command -v curl > /dev/null; then
	curl -s --max-time 20 -u alice:alice-pw "imap://127.0.0.1:$P/INBOX" -X 'UID SORT (DATE) UTF-8 ALL' > "$T_TMP/curl.sort"
	is "$(tr -d '\r' < "$T_TMP/curl.sort")" "* SORT 2 1 3 4" "curl: UID SORT (DATE)"
	curl -s --max-time 20 -u alice:alice-pw "imap://127.0.0.1:$P/INBOX" -X 'THREAD REFERENCES UTF-8 ALL' > "$T_TMP/curl.thread"
	is "$(tr -d '\r' < "$T_TMP/curl.thread")" "* THREAD (2)(1 3 4)" "curl: THREAD REFERENCES"
	curl -s --max-time 20 -u alice:alice-pw "imap://127.0.0.1:$P/INBOX" -X 'SORT (DATE) KOI8-R ALL' > /dev/null
	[ $? != 0 ]; ok $? "curl: SORT with an unknown charset fails (NO [BADCHARSET])"
else
	skip "curl not installed"
	skip "curl not installed"
	skip "curl not installed"
fi

# --- mutt with sort=threads under tmux --------------------------------------------
if command -v mutt > /dev/null && command -v tmux > /dev/null; then
	cat > "$T_TMP/muttrc" <<RC
set imap_user=alice
set imap_pass=alice-pw
set folder=imap://127.0.0.1:$P/
set spoolfile=+INBOX
set sort=threads
set imap_servernoise=yes
set ascii_chars=yes
set index_format="%4C %-12.12L %s"
set ssl_starttls=no
set ssl_force_tls=no
set imap_passive=yes
set header_cache=
set message_cachedir=
set quit=yes
RC
	tmux -L "fcs$$" new-session -d -x 120 -y 40 "mutt -n -F $T_TMP/muttrc -f imap://127.0.0.1:$P/INBOX"
	i=0
	until tmux -L "fcs$$" capture-pane -p 2>/dev/null | grep -q 'alone'; do
		i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.2
	done
	sleep 0.5
	tmux -L "fcs$$" capture-pane -p > "$T_TMP/mutt.screen" 2>/dev/null
	tmux -L "fcs$$" send-keys q; sleep 0.5
	tmux -L "fcs$$" kill-server 2>/dev/null
	ok $([ $i -lt 100 ]; echo $?) "mutt shows the index"
	# the thread: "plans" (1), its reply (3) and the reply's reply (4) drawn
	# as a tree under it, after "alone" (2, the oldest): mutt numbers the
	# lines in display order; it hides a repeated subject
	grep -Eq '^ +1 amy@.* alone' "$T_TMP/mutt.screen" && grep -Eq '^ +2 Zed +plans' "$T_TMP/mutt.screen" &&
		grep -Eq '^ +3 bob@.* `->$' "$T_TMP/mutt.screen" && grep -Eq '^ +4 carl@.* `->Re: Re: plans' "$T_TMP/mutt.screen"
	r=$?
	[ $r = 0 ] || sed 's/^/# /' "$T_TMP/mutt.screen"
	ok $r "mutt sort=threads draws the thread"
else
	skip "mutt or tmux not installed"
	skip "mutt or tmux not installed"
fi

xinetd_stop
done_testing
