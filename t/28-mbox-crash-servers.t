#!/bin/sh
# Crash safety through the servers (issue 19): a journal directory on a
# full disk refuses POP3 QUIT (-ERR [SYS/TEMP]) and IMAP EXPUNGE (NO)
# cleanly, the mailbox byte-identical and still readable; then a bounded
# loop of kill -9 at random instants of SMTP delivery, POP3 DELE+QUIT and
# IMAP STORE+EXPUNGE on a mailbox of 300 messages, counting lost,
# duplicated and torn messages (all must be 0).  Before it, an SMTP
# delivery killed at each of its file-changing calls in turn.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/pop3/lib.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
need_cmd python3
need_cmd setsid
[ -x "$B/imapd" ] && [ -x "$B/smtpd" ] || skip_all "servers not built"
pop3_env
MT=$B/t/bin/mboxtool
ROUNDS=${CRASH_ROUNDS:-20}
imap() { crlf | "$B/imapd" -c "$FCONF" | nocr; }
# pop3j / imapj: sessions whose journal directory is $JF
pop3j() { crlf | env MBOX_JOURNAL_DIR="$JF" "$B/pop3d" -c "$FCONF" | nocr; }
imapj() { crlf | env MBOX_JOURNAL_DIR="$JF" "$B/imapd" -c "$FCONF" | nocr; }
# break_stale: the dotlock of a killed process (the §7.4 rule breaks it
# after 5 s; the loop does not wait for that)
break_stale() {
	[ -f "$SPOOL/${1:-alice}.lock" ] || return 0
	p=$(cut -d: -f1 "$SPOOL/${1:-alice}.lock" 2>/dev/null)
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null || rm -f "$SPOOL/${1:-alice}.lock"
}

# gen N: N messages <bK@kill.test>, bodies of 200 B to 6 KiB
gen() {
	python3 - "$1" <<'PY'
import sys
for k in range(1, int(sys.argv[1]) + 1):
    sys.stdout.write("From gen@example.test  Mon Jan  2 15:04:05 2006\n"
                     "Message-ID: <b%d@kill.test>\nSubject: m%d\n\n" % (k, k))
    n = (k * 977) % 6000 + 200
    i = 0
    while n > 0:
        s = "b%d line %d %s\n" % (k, i, "z" * 40)
        sys.stdout.write(s)
        n -= len(s)
        i += 1
    sys.stdout.write("\n")
PY
}
# count: lost (in "keep" but absent), duplicated, torn (body or NUL) of
# the mailbox, as "lost=L duplicated=D torn=T"
count() {
	python3 - "$SPOOL/alice" "$T_TMP/keep" "$T_TMP/ref" <<'PY'
import mailbox, sys, collections
data = open(sys.argv[1], 'rb').read()
keep = set(open(sys.argv[2]).read().split())
ref = {}
for line in open(sys.argv[3]):
    mid, h = line.split()
    ref[mid] = h
import hashlib
seen = collections.Counter()
torn = data.count(b'\0') and 1 or 0
for m in mailbox.mbox(sys.argv[1]):
    mid = (m['Message-ID'] or '').strip()
    seen[mid] += 1
    body = m.get_payload(decode=True) or b''
    h = hashlib.md5(body.rstrip(b'\n')).hexdigest()
    if mid not in ref or (ref[mid] != '-' and ref[mid] != h):
        torn += 1
lost = sum(1 for k in keep if seen[k] == 0)
dup = sum(c - 1 for c in seen.values() if c > 1)
print("lost=%d duplicated=%d torn=%d" % (lost, dup, torn))
# which ones, for the test's diagnostics
sys.stderr.write("lost: %s\nduplicated: %s\n" % (
    " ".join(sorted(k for k in keep if seen[k] == 0)),
    " ".join(sorted(k for k, c in seen.items() if c > 1))))
PY
}
# refs: Message-ID and body hash of every message of the mailbox now
refs() {
	python3 - "$SPOOL/alice" <<'PY'
import mailbox, sys, hashlib
for m in mailbox.mbox(sys.argv[1]):
    b = m.get_payload(decode=True) or b''
    print((m['Message-ID'] or '').strip(), hashlib.md5(b.rstrip(b'\n')).hexdigest())
PY
}
ms() { date +%s%N | cut -c1-13; }
# kill_run PROG [OUT]: PROG -c FCONF on $T_TMP/in in a process group of its
# own, killed with -9 after a random part of $span ms (if still running)
kill_run() {
	setsid "$B/$1" -c "$FCONF" < "$T_TMP/in" > "${2:-/dev/null}" 2>/dev/null &
	p=$!
	rnd_sleep "$span"
	kill -9 "-$p" 2>/dev/null && killed=$((killed + 1))
	wait "$p" 2>/dev/null
	break_stale
}
# rnd_sleep MAX_MS: a random pause in [0, MAX_MS]
rnd_sleep() { sleep "$(awk -v r="$(od -An -N2 -tu2 /dev/urandom)" -v m="$1" 'BEGIN { printf "%.3f", (r % (m + 1)) / 1000 }')"; }

gen 300 | mkbox alice
# (the exit status is not used: a sanitizer build's leak check cannot run in
# a process that t/bin/runas started setgid)
as_user alice "$MT" assign-uids "$SPOOL/alice" >/dev/null 2>&1
is "$(grep -c '^X-UID: ' "$SPOOL/alice")" 300 "300 messages with UIDs"

# --- a full disk for the journal ---------------------------------------------
JF=$T_TMP/jfull
if [ "$(id -u)" != 0 ]; then
	for i in 1 2 3 4 5 6; do skip "full disk: tmpfs mount needs root"; done
elif ! { mkdir -p "$JF" && mount -t tmpfs -o size=64k,mode=0755 tmpfs "$JF"; } 2>/dev/null; then
	for i in 1 2 3 4 5 6; do skip "cannot mount tmpfs here"; done
else
	trap 'umount "$JF" 2>/dev/null; rm -rf "$T_TMP"' EXIT
	chown "$POP3_UID:$POP3_GID" "$JF"
	as_user alice dd if=/dev/zero of="$JF/fill" bs=4k 2>/dev/null
	cp "$SPOOL/alice" "$T_TMP/before"
	printf 'USER alice\nPASS alice-pw\nDELE 1\nDELE 150\nQUIT\n' | pop3j > "$T_TMP/out"
	grep -q '^-ERR \[SYS/TEMP\]' "$T_TMP/out"; r=$?
	ok $r "POP3 QUIT with the journal's disk full: -ERR [SYS/TEMP]"
	[ $r -eq 0 ] || sed 's/^/# /' "$T_TMP/out"
	same_file "$SPOOL/alice" "$T_TMP/before" "POP3: mailbox byte-identical"
	printf 'USER alice\nPASS alice-pw\nSTAT\nRETR 150\nQUIT\n' | pop3j > "$T_TMP/out"
	grep -q '^+OK 300 ' "$T_TMP/out" && grep -q '^b150 line 0 ' "$T_TMP/out"; ok $? "POP3: login and read still work"
	printf 'a LOGIN alice alice-pw\nb SELECT INBOX\nc UID STORE 2 +FLAGS (\\Deleted)\nd LOGOUT\n' |
		imapj > "$T_TMP/out"
	cp "$SPOOL/alice" "$T_TMP/before"
	printf 'a LOGIN alice alice-pw\nb SELECT INBOX\nc EXPUNGE\nd UID FETCH 2 (FLAGS BODY.PEEK[TEXT])\ne LOGOUT\n' |
		imapj > "$T_TMP/out"
	grep -q '^c NO' "$T_TMP/out"; r=$?
	ok $r "IMAP EXPUNGE with the journal's disk full: NO"
	[ $r -eq 0 ] || sed 's/^/# /' "$T_TMP/out"
	grep -q '^d OK' "$T_TMP/out" && grep -q '^b2 line 0 ' "$T_TMP/out"; ok $? "IMAP: the message is still read"
	same_file "$SPOOL/alice" "$T_TMP/before" "IMAP: mailbox byte-identical"
	# the message flagged \Deleted above is deleted by the next good EXPUNGE
	printf 'a LOGIN alice alice-pw\nb SELECT INBOX\nc EXPUNGE\nd LOGOUT\n' | imap > /dev/null
	umount "$JF"
	trap 'rm -rf "$T_TMP"' EXIT
fi

# --- SMTP delivery killed at every write, fsync, rename... -------------------
# Each process of a one-message session (smtpd, its worker, the delivery
# child) is killed at its Nth call that changes a file (t/shim/crashpoint.c,
# counted per process from its fork), for every N up to CRASH_CALLS; then
# `sendmail -q` finishes what was queued.  Bob's mailbox must hold each
# acknowledged message once, and no message twice: a delivery child killed
# after its append was fsync'ed, before its report (the call is the write of
# the report), leaves the recipient Q_TRYING, and the retry finds the copy.
SHIM=$B/t/crashpoint.so
CALLS=${CRASH_CALLS:-70}
# crash_session N USER: the session of $T_TMP/in (replies in cp.out) with
# every process killed at its Nth call; then, as the queue runner the
# session started may have died too, and with it the dotlock's owner,
# sendmail -q until the queue is empty (1 if it is not, after 10 s)
# copies LABEL ACKED MBOX ID: <ID@kill.test> must be in MBOX once if
# ACKED is 1, at most once if not; else bad is counted up
copies() {
	cp_c=$(grep -c "^Message-ID: <$4@kill.test>" "$3" 2>/dev/null)
	if [ "$2" = 1 ] && [ "${cp_c:-0}" -ne 1 ]; then
		bad=$((bad + 1)); diag "$1: $4 acknowledged, $cp_c copies"
	elif [ "${cp_c:-0}" -gt 1 ]; then
		bad=$((bad + 1)); diag "$1: $4 not acknowledged, $cp_c copies"
	fi
}
crash_session() {
	setsid env CRASH_AT=$1 LD_PRELOAD="$SHIM" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"$B/smtpd" -c "$FCONF" < "$T_TMP/in" > "$T_TMP/cp.out" 2>/dev/null &
	cs_p=$!
	wait "$cs_p" 2>/dev/null
	cs_i=0     # the session's worker and delivery child, at most 10 s
	while kill -0 -- "-$cs_p" 2>/dev/null && [ $cs_i -lt 200 ]; do sleep 0.05; cs_i=$((cs_i + 1)); done
	cs_k=0
	while [ $cs_k -lt 50 ]; do
		break_stale "$2"
		"$B/sendmail" -c "$FCONF" -q
		[ -z "$(ls -A "$T_TMP/queue/q" 2>/dev/null)" ] && return 0
		sleep 0.2; cs_k=$((cs_k + 1))
	done
	return 1
}
if [ ! -f "$SHIM" ]; then
	skip "crash-point SMTP loop: $SHIM not built"
	skip "crash-point SMTP loop: $SHIM not built"
	skip "crash-point SMTP loop: $SHIM not built"
else
	n=1 acked=0 twice=0 bad=0
	while [ $n -le "$CALLS" ]; do
		printf 'EHLO c\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nMessage-ID: <cp%d@kill.test>\r\nSubject: cp\r\n\r\ncp%d body\r\n.\r\nQUIT\r\n' "$n" "$n" > "$T_TMP/in"
		crash_session "$n" bob || diag "N=$n: the queue is not empty"
		a=0
		grep -q '^250 .*queued' "$T_TMP/cp.out" && a=1 && acked=$((acked + 1))
		copies "N=$n" "$a" "$SPOOL/bob" "cp$n"
		n=$((n + 1))
	done
	twice=$(grep -c 'not delivered again' "$T_TMP/log")
	diag "crash points: $CALLS sessions, $acked acknowledged, $twice retries found the stored copy"
	is "$bad" 0 "SMTP killed at every call: every acknowledged message once, none twice"
	[ "$twice" -gt 0 ]; ok $? "a delivery killed after its append was retried without a second copy"
	python3 - "$SPOOL/bob" <<'PY'
import mailbox, sys, collections
data = open(sys.argv[1], 'rb').read()
seen = collections.Counter()
bad = data.count(b'\0')
for m in mailbox.mbox(sys.argv[1]):
    mid = (m['Message-ID'] or '').strip()
    seen[mid] += 1
    k = mid[3:].split('@')[0]
    if (m.get_payload() or '').strip() != 'cp%s body' % k:
        bad += 1
sys.exit(1 if bad or any(c > 1 for c in seen.values()) else 0)
PY
	ok $? "bob's mailbox parses: no NUL, no torn or repeated message"
fi

# --- a batch delivered in one transaction, killed at every call -------------
# Three messages for carol wait (the light passes' runner lock, new.lock,
# held here) and a fourth session, run with the crash-point shim, starts
# the runner: its delivery child appends the four with one crash record and
# one fsync (smtp/deliver.c); whichever process reaches call N dies there.
# Every acknowledged message must then be in the mailbox once, none twice.
BCALLS=${CRASH_BATCH_CALLS:-60}
if [ ! -f "$SHIM" ] || ! command -v flock > /dev/null 2>&1; then
	skip "batch crash points: $SHIM or flock(1) missing"
	skip "batch crash points: $SHIM or flock(1) missing"
else
	bmsg() { printf 'EHLO c\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<carol@example.test>\r\nDATA\r\nMessage-ID: <%s@kill.test>\r\nSubject: bt\r\n\r\n%s body\r\n.\r\nQUIT\r\n' "$1" "$1"; }
	n=1 bad=0 batched=0
	: > "$T_TMP/queue/new.lock"
	while [ $n -le "$BCALLS" ]; do
		rm -f "$T_TMP/held" "$T_TMP/release"
		flock "$T_TMP/queue/new.lock" sh -c ": > '$T_TMP/held'; i=0; while [ ! -e '$T_TMP/release' ] && [ \$i -lt 300 ]; do sleep 0.05; i=\$((i+1)); done" &
		h=$!
		i=0; while [ ! -e "$T_TMP/held" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
		: > "$T_TMP/bt.acked"
		for k in 1 2 3; do
			bmsg "bt$n.$k" | "$B/smtpd" -c "$FCONF" | grep -q '^250 .*queued' && echo "bt$n.$k" >> "$T_TMP/bt.acked"
		done
		: > "$T_TMP/release"
		wait "$h"
		bmsg "bt$n.4" > "$T_TMP/in"
		crash_session "$n" carol || diag "batch N=$n: the queue is not empty"
		grep -q '^250 .*queued' "$T_TMP/cp.out" && echo "bt$n.4" >> "$T_TMP/bt.acked"
		for k in 1 2 3 4; do
			a=0; grep -qx "bt$n.$k" "$T_TMP/bt.acked" && a=1
			copies "batch N=$n" "$a" "$SPOOL/carol" "bt$n.$k"
		done
		n=$((n + 1))
	done
	batched=$(grep -c 'batch: 4 files, 4 deliveries, 1 mailbox run' "$T_TMP/log")
	diag "batch crash points: $BCALLS rounds, $batched delivered as one batch of four"
	is "$bad" 0 "a batch killed at every call: every acknowledged message once, none twice"
	[ "$batched" -gt 0 ]; ok $? "some rounds delivered the four as one batch"
fi

# --- a power cut: the Q_TRYING written without a sync is lost ----------------
# The queue file then says P, as smtpd fsync'ed it, while the copy the
# delivery fsync'ed is in the mailbox: a file last written before this boot
# is delivered as a retry (looks for the copy first).  Simulated: carol's
# mailbox locked, the queue file saved while its delivery waits, its state
# set back to P; delivered; the saved file put back dated 2001.
: | mkbox carol
"$MT" lock "$SPOOL/carol" write 60 > "$T_TMP/held" &
LP=$!
i=0; while [ ! -s "$T_TMP/held" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
printf 'EHLO c\nMAIL FROM:<alice@example.test>\nRCPT TO:<carol@example.test>\nDATA\nMessage-ID: <pc1@kill.test>\n\npc1\n.\nQUIT\n' | smtp_run > /dev/null
i=0; while [ -z "$(ls -A "$T_TMP/queue/q")" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
q=$(ls "$T_TMP/queue/q" | head -n 1)
sed 's/^rcpt [TX][0-9][0-9][0-9] /rcpt P000 /' "$T_TMP/queue/q/$q" > "$T_TMP/saved"
kill "$LP"; wait "$LP"
"$B/sendmail" -c "$FCONF" -q
wait_queue
is "$(grep -c '^Message-ID: <pc1@kill.test>' "$SPOOL/carol")" 1 "power cut: delivered once"
grep -q '^rcpt P000 ' "$T_TMP/saved"; ok $? "power cut: the saved queue file says P"
install -m 600 "$T_TMP/saved" "$T_TMP/queue/q/$q"
touch -d '2001-09-09 01:46:40 UTC' "$T_TMP/queue/q/$q"
"$B/sendmail" -c "$FCONF" -q
wait_queue; ok $? "power cut: the old queue file was taken"
is "$(grep -c '^Message-ID: <pc1@kill.test>' "$SPOOL/carol")" 1 "power cut: its retry found the copy, not a second one"

# --- kill -9 at random instants -----------------------------------------------
refs > "$T_TMP/ref"
awk '{print $1}' "$T_TMP/ref" > "$T_TMP/keep"
is "$(count 2>/dev/null)" "lost=0 duplicated=0 torn=0" "before the kills: the reference"

# how long one session takes, to spread the kills over it
t0=$(ms); printf 'USER alice\nPASS alice-pw\nQUIT\n' | pop3 > /dev/null; t1=$(ms)
span=$(( (t1 - t0) * 3 / 2 + 5 ))
diag "a POP3 session on this mailbox: $((t1 - t0)) ms; kills spread over $span ms"

killed=0
# POP3: DELE three messages, QUIT; killed somewhere in the session
r=0
while [ $r -lt "$ROUNDS" ]; do
	# message numbers: positions in the mailbox as it is now (after the
	# recovery a reader makes); those messages may go
	as_user alice "$MT" scan "$SPOOL/alice" > /dev/null
	python3 -c 'import mailbox, sys
for m in mailbox.mbox(sys.argv[1]): print((m["Message-ID"] or "").strip())' "$SPOOL/alice" > "$T_TMP/ids"
	set -- $(shuf -n 3 -i 1-200)
	for k in "$@"; do
		id=$(sed -n "${k}p" "$T_TMP/ids")
		grep -vxF -- "$id" "$T_TMP/keep" > "$T_TMP/keep.new"; mv "$T_TMP/keep.new" "$T_TMP/keep"
	done
	printf 'USER alice\r\nPASS alice-pw\r\nDELE %s\r\nDELE %s\r\nDELE %s\r\nQUIT\r\n' "$@" > "$T_TMP/in"
	kill_run pop3d
	r=$((r + 1))
done
# IMAP: UID STORE \Deleted three messages, EXPUNGE; killed somewhere
r=0
while [ $r -lt "$ROUNDS" ]; do
	set -- $(shuf -n 3 -i 1-250)
	for k in "$@"; do grep -vxF "<b$k@kill.test>" "$T_TMP/keep" > "$T_TMP/keep.new"; mv "$T_TMP/keep.new" "$T_TMP/keep"; done
	printf 'a LOGIN alice alice-pw\r\nb SELECT INBOX\r\nc UID STORE %s,%s,%s +FLAGS (\\Deleted)\r\nd EXPUNGE\r\ne LOGOUT\r\n' "$@" > "$T_TMP/in"
	kill_run imapd
	r=$((r + 1))
done
# SMTP: one message a session, delivered by the session's worker; the
# whole process group killed somewhere; what was queued goes out later
r=0
acked=0
while [ $r -lt "$ROUNDS" ]; do
	printf 'EHLO c\r\nMAIL FROM:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nMessage-ID: <s%d@kill.test>\r\nSubject: s\r\n\r\n' "$r" > "$T_TMP/in"
	i=0
	while [ $i -lt 60 ]; do printf 's%d line %d %s\r\n' "$r" "$i" yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy; i=$((i + 1)); done >> "$T_TMP/in"
	printf '.\r\nQUIT\r\n' >> "$T_TMP/in"
	kill_run smtpd "$T_TMP/smtp.out"
	tr -d '\r' < "$T_TMP/in" | sed -n '/^$/,/^\.$/p' | sed '1d;$d' > "$T_TMP/body"
	printf '<s%d@kill.test> %s\n' "$r" "$(python3 -c 'import hashlib,sys; print(hashlib.md5(open(sys.argv[1],"rb").read().rstrip(b"\n")).hexdigest())' "$T_TMP/body")" >> "$T_TMP/ref"
	if grep -q '^250 .*queued' "$T_TMP/smtp.out"; then
		echo "<s$r@kill.test>" >> "$T_TMP/keep"
		acked=$((acked + 1))
	fi
	r=$((r + 1))
done
sleep 1
break_stale
# queue/tmp files of writers that died: the runner removes them (not a
# live writer's); pid 99999999 is above any pid_max
mkdir -p "$T_TMP/queue/tmp"
: > "$T_TMP/queue/tmp/t99999999.1"
: > "$T_TMP/queue/tmp/t$$.1"
touch -d '-1 hour' "$T_TMP/queue/tmp/t99999999.1" "$T_TMP/queue/tmp/t$$.1"
"$B/sendmail" -c "$FCONF" -q
[ ! -e "$T_TMP/queue/tmp/t99999999.1" ] && [ -e "$T_TMP/queue/tmp/t$$.1" ]
ok $? "sendmail -q removed the queue/tmp file of a dead writer only"
rm -f "$T_TMP/queue/tmp/t$$.1"
wait_queue || diag "queue not empty: $(ls "$T_TMP/queue/q" | wc -l) files"
set -- "$T_TMP"/home/alice/.libmbox/journal/*.append
[ -f "$1" ]; ok $? "deliveries kept their append record in the recipient's home"
# a reader recovers whatever is left, then the count
printf 'USER alice\nPASS alice-pw\nQUIT\n' | pop3 > /dev/null
res=$(count 2> "$T_TMP/count.detail")
[ "$res" = "lost=0 duplicated=0 torn=0" ] || { sed 's/^/# /' "$T_TMP/count.detail"; grep -E 'already in|ended before|deferred' "$T_TMP/log" | sed 's/^/# /' | tail -20; }
diag "kill -9 loop: $ROUNDS POP3 + $ROUNDS IMAP + $ROUNDS SMTP sessions, $killed killed, $acked SMTP messages acknowledged"
diag "kill -9 loop: $res"
is "$res" "lost=0 duplicated=0 torn=0" "after the kills: nothing lost, duplicated or torn"
done_testing
