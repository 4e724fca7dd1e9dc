#!/bin/sh
# libmbox against the stock Debian mail tools (mbox-interop.md §1, §4):
# dotlockfile (liblockfile) and python3's fcntl locks exclude our appends
# and ours exclude theirs; python3 mailbox and formail read what we write;
# mboxtool reads what procmail writes.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
need_cmd dotlockfile
need_cmd python3
need_cmd formail
need_cmd procmail
tmpdir
T=$T_TMP
MT="$B/t/bin/mboxtool"
export MBOX_JOURNAL_DIR="$T/journal"
[ -x "$MT" ] || { echo "Bail out! $MT not built"; exit 1; }

msg() { printf 'From: s@example.org\nSubject: %s\n\nbody of %s\n' "$1" "$1"; }
# wait_for FILE: until FILE exists and is non-empty (bounded: 10 s)
wait_for() {
	i=0
	while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$1" ]
}
# running PID: still alive?
running() { kill -0 "$1" 2>/dev/null; }
count_msgs() { grep -c '^From ' "$1"; }

# python3 holding a classic fcntl (lockf) write lock on $1 for $2 seconds
py_lock() {
	python3 - "$1" "$2" <<'PY' &
import fcntl, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
PY
}

# --- dotlockfile holds the dotlock ------------------------------------------
M=$T/dl.mbox
msg one | "$MT" append "$M" -s a@b; ok $? "first append"
cp "$M" "$T/dl.before"
dotlockfile -l -r 0 "$M.lock"; ok $? "dotlockfile -l takes $M.lock"
msg two | "$MT" append "$M" -t 8000 -s a@b 2>"$T/err" &
AP=$!
sleep 1
running $AP; ok $? "mboxtool append waits while dotlockfile holds the lock"
same_file "$M" "$T/dl.before" "mailbox untouched while waiting"
dotlockfile -u "$M.lock"; ok $? "dotlockfile -u releases"
wait $AP; ok $? "append succeeded after the release"
is "$(count_msgs "$M")" 2 "two messages now"
[ ! -e "$M.lock" ]; ok $? "no lock file left"

dotlockfile -l -r 0 "$M.lock"
cp "$M" "$T/dl.before"
msg three | "$MT" append "$M" -t 600 -s a@b 2>"$T/err"
is "$?" 75 "lock held past the timeout: exit 75"
same_file "$M" "$T/dl.before" "mailbox unchanged after the timeout"
grep -q 'mboxtool: append: Resource temporarily unavailable' "$T/err"
ok $? "EAGAIN reported"
dotlockfile -u "$M.lock"

# ours excludes dotlockfile
"$MT" lock "$M" write 60 > "$T/held" &
LP=$!
wait_for "$T/held"; ok $? "mboxtool holds the write lock"
dotlockfile -l -r 0 "$M.lock" 2>/dev/null
is "$?" 4 "dotlockfile cannot take the lock we hold (L_MAXTRYS)"
kill $LP
wait $LP; ok $? "mboxtool lock released on SIGTERM"
[ ! -e "$M.lock" ]; ok $? "our dotlock removed"

# --- python3 holds an fcntl lock --------------------------------------------
M=$T/py.mbox
msg one | "$MT" append "$M" -s a@b
cp "$M" "$T/py.before"
py_lock "$M" 60 > "$T/pyheld"
PY=$!
wait_for "$T/pyheld"; ok $? "python3 lockf holds the fcntl lock"
msg two | "$MT" append "$M" -t 8000 -s a@b 2>"$T/err" &
AP=$!
sleep 0.5
running $AP; ok $? "mboxtool append waits for the fcntl lock"
same_file "$M" "$T/py.before" "mailbox untouched while waiting"
kill $PY; wait $PY 2>/dev/null
wait $AP; ok $? "append succeeded after python3 let go"
is "$(count_msgs "$M")" 2 "two messages now"

cp "$M" "$T/py.before"
py_lock "$M" 60 > "$T/pyheld2"
PY=$!
wait_for "$T/pyheld2"
msg three | "$MT" append "$M" -t 500 -s a@b 2>/dev/null
is "$?" 75 "fcntl lock held past the timeout: exit 75"
same_file "$M" "$T/py.before" "mailbox unchanged after the timeout"
kill $PY 2>/dev/null; wait $PY 2>/dev/null

# ours (an OFD lock) excludes python3's classic lock, read and write
"$MT" lock "$M" read 60 > "$T/rheld" &
LP=$!
wait_for "$T/rheld"
python3 - "$M" <<'PY'
import fcntl, sys
f = open(sys.argv[1], "r+")
try:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    sys.exit(1)
sys.exit(0)
PY
is "$?" 1 "python3 cannot write-lock while we hold a read lock"
python3 - "$M" <<'PY'
import fcntl, sys
f = open(sys.argv[1], "r")
fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
PY
ok $? "python3 can read-lock next to our read lock"
kill $LP; wait $LP

# --- python3 mailbox and formail read what we write --------------------------
M=$T/rd.mbox
msg one | "$MT" append "$M" -s a@b -d 1700000000
printf 'Subject: two\r\n\r\nFrom the start\r\n>From quoted\r\nend' | "$MT" append "$M" -s ''
printf 'Subject: three\n\nlast\n' | "$MT" append "$M" -s 'c@d'
got=$(python3 - "$M" <<'PY'
import mailbox, sys
box = mailbox.mbox(sys.argv[1], create=False)
msgs = list(box)
print(len(msgs))
for m in msgs:
    print(repr(m["Subject"]), repr(m.get_payload()), m.get_from().split()[0])
PY
)
is "$got" "3
'one' 'body of one\n' a@b
'two' '>From the start\n>From quoted\nend\n' MAILER-DAEMON
'three' 'last\n' c@d" "python3 mailbox.mbox reads count, bodies and senders"
got=$(formail -s formail -c -x Subject: < "$M")
is "$got" " one
 two
 three" "formail -s splits the same three messages"
got=$(formail -s sh -c 'cat >/dev/null; echo m' < "$M" | wc -l)
is "$got" 3 "formail -s counts three"

# --- mboxtool reads what procmail writes -------------------------------------
PM=$T/pm.mbox
printf 'DEFAULT=%s\nLOGFILE=%s/pm.log\nVERBOSE=no\n' "$PM" "$T" > "$T/rc"
msg one | formail | procmail -m "$T/rc" 2>>"$T/pm.err"; ok $? "procmail delivers message 1"
printf 'Subject: two\n\nFrom inside\nbody2' | formail | procmail -m "$T/rc" 2>>"$T/pm.err"
ok $? "procmail delivers message 2"
grep -q '^>From inside' "$PM"; ok $? "procmail quoted the body line"
out=$("$MT" scan "$PM")
ok $? "mboxtool scan of procmail's mailbox"
is "$(echo "$out" | head -n 1 | sed 's/ .*//')" "count=2" "two messages found"
got=$("$MT" cat "$PM" 2 | tr -d '\r')
is "$got" "Subject: two

>From inside
body2" "message 2 served as written (quote kept)"
msg three | "$MT" append "$PM" -s x@y
is "$("$MT" scan "$PM" | head -n 1 | sed 's/ .*//')" "count=3" "our append after procmail's"
msg four | formail | procmail -m "$T/rc" 2>>"$T/pm.err"
got=$(python3 -c 'import mailbox,sys; print(len(mailbox.mbox(sys.argv[1])))' "$PM")
is "$got" 4 "procmail appends after ours: python3 sees four"

# --- concurrent appends by mboxtool and procmail: all land, none mixed ------
M=$T/conc.mbox
printf 'DEFAULT=%s\nLOGFILE=%s/pm2.log\nVERBOSE=no\nLOCKSLEEP=1\n' "$M" "$T" > "$T/rc2"
pids=""
for i in 1 2 3 4 5 6; do
	{ printf 'Subject: f%s\n\n' $i; seq 1 300 | sed "s/^/f$i /"; } > "$T/f$i"
	{ printf 'Subject: p%s\n\n' $i; seq 1 300 | sed "s/^/p$i /"; } > "$T/p$i"
	"$MT" append "$M" -s a@b -t 30000 < "$T/f$i" &
	pids="$pids $!"
	formail < "$T/p$i" | procmail -m "$T/rc2" 2>>"$T/pm.err" &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "12 concurrent deliveries all succeeded"
got=$(python3 - "$M" <<'PY'
import mailbox, sys
bad = 0
msgs = list(mailbox.mbox(sys.argv[1]))
for m in msgs:
    tag = m["Subject"].strip()
    want = "".join("%s %d\n" % (tag, i) for i in range(1, 301))
    body = m.get_payload()
    if body.rstrip("\n") + "\n" != want:
        bad += 1
print(len(msgs), len(set(m["Subject"] for m in msgs)), bad)
PY
)
is "$got" "12 12 0" "12 distinct messages, every body intact"
[ ! -e "$M.lock" ]; ok $? "no lock file left"

# --- bad input -----------------------------------------------------------------
"$MT" append "$T/nodir/x" < /dev/null 2>"$T/err"
is "$?" 1 "append into a missing directory: exit 1"
grep -q 'mboxtool: append: No such file or directory' "$T/err"; ok $? "error named"
ln -s "$M" "$T/link"
"$MT" append "$T/link" < /dev/null 2>/dev/null
is "$?" 1 "append through a symlink refused"
"$MT" append "$M" --bogus < /dev/null 2>/dev/null
is "$?" 2 "unknown option: usage"
"$MT" lock "$M" sideways 1 2>/dev/null
is "$?" 2 "bad lock kind: usage"
done_testing
