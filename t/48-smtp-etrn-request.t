#!/bin/sh
# ETRN forcing through queue_directory/run.request (issues 10.2 and 12):
# while a runner holds runner.lock (simulated with flock), ETRN DOMAIN from
# mynetworks only appends "R DOMAIN" to run.request (nothing delivered, no
# second runner); the runner's next pass forces that domain's deferred
# remote recipients and no other (the other's retry time is an hour away).
# Bad input: a second ETRN of the session, ETRN from outside mynetworks, a
# domain that is no domain, and garbage lines in run.request force nothing.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
[ -x "$B/smtpd" ] && [ -x "$B/sendmail" ] || { echo "Bail out! build first"; exit 1; }
need_cmd python3
smtp_env
Q=$T_TMP/queue
trap '[ -n "${holder:-}" ] && kill "$holder" 2>/dev/null; [ -f "$T_TMP/r.pid" ] && kill "$(cat "$T_TMP/r.pid")" 2>/dev/null; rm -rf "$T_TMP"' EXIT
conf_set minimal_backoff_time 1h
conf_set maximal_backoff_time 2h
PORT=$(free_port)
conf_set relayhost "[127.0.0.1]:$PORT"
SM="$B/sendmail -c $FCONF"
send() { printf 'Subject: to %s\n\nx\n' "$1" | $SM -f alice@example.test "$1"; }
nmsg() { ls "$T_TMP/r" 2>/dev/null | grep -c '^msg-'; }
rcpts() {
	python3 -c 'import glob, json, sys
print(" ".join(sorted(r for f in glob.glob(sys.argv[1] + "/msg-*.json") for r in json.load(open(f))["rcpts"])))' "$T_TMP/r"
}
etrn() { printf 'EHLO c\n%s\nQUIT\n' "$2" | smtp_run FACTEUR_TEST_PEER="$1"; }
# hold / release: another runner, as far as flock can tell
hold() {
	rm -f "$T_TMP/locked"
	python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "w"); fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close(); time.sleep(60)' "$Q/runner.lock" "$T_TMP/locked" &
	holder=$!
	i=0; while [ $i -lt 100 ] && [ ! -e "$T_TMP/locked" ]; do sleep 0.1; i=$((i + 1)); done
}
release() { kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; holder=; }
request() { cat "$Q/run.request" 2>/dev/null; }

# 1-2: two remote recipients deferred (the relayhost's port is closed)
send a@one.test
send b@two.test
wait_log 'to=<b@two.test>.*status=deferred'
is "$(grep -c 'status=deferred' "$T_TMP/log")" 2 "both deferred, port closed"
python3 "$FACTEUR_SRC/t/smtp/remote.py" --listen "127.0.0.1:$PORT" --out "$T_TMP/r" > "$T_TMP/r.ready" 2>"$T_TMP/r.err" &
echo $! > "$T_TMP/r.pid"
i=0; while ! grep -q ready "$T_TMP/r.ready" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
$SM -q
is "$(nmsg)" 0 "remote up, sendmail -q: retry times not reached, nothing sent"

# 3-6: with runner.lock held, ETRN only appends to run.request
hold
[ -e "$T_TMP/locked" ]; ok $? "runner.lock held by another process"
rm -f "$Q/run.request"
printf 'EHLO c\nETRN one.test\nETRN two.test\nQUIT\n' | smtp_run FACTEUR_TEST_PEER=127.0.0.1 > "$T_TMP/out"
is "$(grep -c '^250 2.0.0 Queuing started' "$T_TMP/out")" 2 "ETRN from mynetworks: 250 (twice)"
is "$(request)" "R one.test" "run.request holds 'R one.test', once: the session's second ETRN is not acted on"
sleep 1
is "$(nmsg)" 0 "nothing delivered while the lock is held (no second runner)"

# 7-11: bad input leaves run.request as it is
etrn 192.0.2.7 'ETRN two.test' > "$T_TMP/out"
grep -q '^459 4.7.1' "$T_TMP/out"; ok $? "ETRN from outside mynetworks: 459"
etrn 127.0.0.1 'ETRN two.test;rm' > "$T_TMP/out"
grep -q '^501 5.5.4 Syntax: ETRN domain' "$T_TMP/out"; ok $? "ETRN with a bad domain: 501 (as Postfix)"
# the root side does not trust the child: a bad domain in its record forces nothing
python3 -c 'import sys; sys.stdout.buffer.write(b"H\0\0\0\x02Ex" + b"Q\0\0\0\x0btwo.test;rm")' |
	"$B/t/smtp/recvtool" -c "$FCONF" -r 127.0.0.1 > /dev/null
ok $? "recvtool: the parent answers an ETRN record with a bad domain"
etrn 127.0.0.1 'ETRN' > "$T_TMP/out"
grep -q '^501 5.5.4' "$T_TMP/out"; ok $? "ETRN without a domain: 501"
is "$(request)" "R one.test" "none of them forced anything"

# 12-15: the runner's next pass forces one.test only
release
$SM -q
is "$(rcpts)" "a@one.test" "the next run sends a@one.test only"
grep -q 'to=<b@two.test>' "$Q/q/"* 2>/dev/null || $SM -bp | grep -q 'b@two.test'
ok $? "b@two.test still queued"
[ ! -e "$Q/run.request" ]; ok $? "the request was taken"
$SM -q
is "$(nmsg)" 1 "a later plain run forces nothing more"

# 16: garbage lines in run.request force nothing
printf 'Z two.test\nR\nRtwo.test\nR \n\nA x\n' > "$Q/run.request"
$SM -q
is "$(nmsg)" 1 "garbage request lines: nothing forced"
# 17-19: sendmail -qf while the lock is held: "A"; then everything
hold
$SM -qf
is "$(request)" "A" "sendmail -qf under a held lock appends 'A'"
release
$SM -q
is "$(rcpts)" "a@one.test b@two.test" "the next run forces every deferred recipient"
wait_queue; ok $? "queue empty"
done_testing
