#!/bin/sh
# Issue 16: the mail of a one-message session is delivered by the single
# queue runner's light pass (new.request), not by a process of the
# session: concurrent sessions share its batches (one child per mailbox),
# every message is delivered once, and what the light pass defers (its
# short lock budget spent) is left to a full pass, which delivers it.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
[ -x "$B/smtpd" ] || { echo "Bail out! $B/smtpd not built"; exit 1; }
[ -x "$B/t/bin/mboxtool" ] || { echo "Bail out! mboxtool not built"; exit 1; }
command -v flock >/dev/null 2>&1 || skip_all "flock(1) not installed"
smtp_env
M=$T_TMP/spool
Q=$T_TMP/queue

one() { printf 'EHLO c\nMAIL FROM:<carol@example.test>\nRCPT TO:<%s>\nDATA\nSubject: %s\n\nbody\n.\nQUIT\n' "$1" "$2" | smtp_run; }

# 1-4: ten one-message sessions at once
i=1
pids=
while [ $i -le 10 ]; do
	if [ $((i % 2)) = 0 ]; then to=bob@example.test; else to=alice@example.test; fi
	one "$to" "c$i" > "$T_TMP/out$i" &
	pids="$pids $!"
	i=$((i + 1))
done
for p in $pids; do wait "$p"; done
is "$(cat "$T_TMP"/out* | grep -c '^250 2.0.0 Ok: queued as')" 10 "ten sessions, ten messages queued"
wait_queue
ok $? "queue empty"
is "$(grep -h '^Subject: c' "$M/alice" "$M/bob" | sort | tr '\n' ' ')" \
	"Subject: c1 Subject: c10 Subject: c2 Subject: c3 Subject: c4 Subject: c5 Subject: c6 Subject: c7 Subject: c8 Subject: c9 " \
	"each delivered once"
# the deliveries are the runner's ("queue" in the log), none a session's
[ "$(grep -c 'queue\[[0-9]*\]: .*batch: ' "$T_TMP/log")" -ge 1 ] &&
	! grep -q 'smtpd\[[0-9]*\]: .*batch: ' "$T_TMP/log"
ok $? "delivered by the queue runner, not by the sessions"
rm -f "$M"/* "$T_TMP/log"

# 5-7: while the light passes' runner is busy (its lock, new.lock, held
# here) sessions only leave new.request; the next one delivers all their
# files as one batch, one child per mailbox
: > "$Q/new.lock"
# held until released below (at most 30 s): slow builds (sanitizers) too
# (the runner of 1-4 may still hold it: it stays LINGER_MS once idle)
flock "$Q/new.lock" sh -c ": > '$T_TMP/held'; i=0; while [ ! -e '$T_TMP/release' ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i+1)); done" &
HOLD=$!
i=0; while [ ! -e "$T_TMP/held" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
for i in 1 2 3 4 5 6; do
	if [ $((i % 3)) = 0 ]; then to=bob@example.test; else to=alice@example.test; fi
	one "$to" "b$i" > /dev/null
done
[ -e "$Q/new.request" ] && [ "$(ls "$Q/q" | wc -l)" = 6 ] && [ ! -e "$M/alice" ]
ok $? "runner busy: six files queued, the request left, nothing delivered by the sessions"
: > "$T_TMP/release"
wait $HOLD
one alice@example.test b7 > /dev/null
wait_queue
ok $? "queue empty once the next session starts a runner"
grep -q 'batch: 7 files, 7 deliveries, 2 mailbox runs' "$T_TMP/log"
ok $? "one batch of seven files, one delivery child per mailbox"
rm -f "$M"/* "$T_TMP/log"

# 8-11: a mailbox held past the light pass's budget (2 s) but within
# lock_timeout: deferred by the light pass, delivered once by the full pass
# it requests, after the release; meanwhile (the full pass waiting for
# that lock) new mail for another mailbox is delivered at once
conf_set lock_timeout 15
: > "$M/carol"
[ "$(id -u)" = 0 ] && chown "$(user_uid carol):mail" "$M/carol"
"$B/t/bin/mboxtool" lock "$M/carol" write 9 > "$T_TMP/lk" 2>&1 &
LKPID=$!
i=0; while [ $i -lt 100 ] && ! grep -q locked "$T_TMP/lk"; do sleep 0.1; i=$((i+1)); done
one carol@example.test d1 > /dev/null
wait_log 'to=<carol@example.test>, status=deferred'
ok $? "light pass: short budget spent, deferred"
one alice@example.test d2 > /dev/null
i=0; while [ $i -lt 50 ] && ! grep -q '^Subject: d2' "$M/alice" 2>/dev/null; do sleep 0.1; i=$((i+1)); done
grep -q '^Subject: d2' "$M/alice" 2>/dev/null && kill -0 $LKPID 2>/dev/null
ok $? "new mail for another mailbox delivered while the full pass waits for the lock"
wait $LKPID
wait_queue
ok $? "queue empty after the release"
is "$(grep -c '^Subject: d1' "$M/carol")" 1 "the full pass delivered it once"
conf_set lock_timeout 0
done_testing
