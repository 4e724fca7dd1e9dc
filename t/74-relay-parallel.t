#!/bin/sh
# The queue runner relays in parallel, within bounds (issue 12 item 7): the
# due remote recipients of a pass go to at most default_process_limit relay
# agents at once, at most smtp_destination_concurrency_limit of them with a
# connection to one next hop.  Three slow remotes (t/smtp/remote.py waits
# before its MAIL reply) at [10.74.0.2], [10.74.0.3], [10.74.0.4] port 25
# in a private network namespace: transactions overlap across remotes and
# within one, never more connections than the limits, every message once;
# an agent killed in the middle of a transaction leaves its recipient
# deferred, and the next run delivers it once.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
[ -x "$B/smtpd" ] || { echo "Bail out! $B/smtpd not built"; exit 1; }
need_root "a network namespace, port 25 inside it"
need_cmd unshare
need_cmd ip
need_cmd ss
command -v "$PYTHON" >/dev/null 2>&1 || skip_all "python3 not installed"
if [ -z "${FACTEUR_NETNS:-}" ]; then
	unshare --net --fork env FACTEUR_NETNS=1 sh "$0" "$@"
	exit $?
fi
ip link set lo up || { echo "Bail out! cannot bring lo up in the namespace"; exit 1; }
# remote addresses (a literal of 127/8 names this host: local mail)
for n in 2 3 4; do ip addr add "10.74.0.$n/32" dev lo || { echo "Bail out! ip addr add"; exit 1; }; done
smtp_env
trap 'for f in "$T_TMP"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done; rm -rf "$T_TMP"' EXIT
# no retry before sendmail -qf forces one (so each attempt below is counted)
conf_set minimal_backoff_time 1h
conf_set maximal_backoff_time 1h
conf_set default_process_limit 4
conf_set smtp_destination_concurrency_limit 2

# sink N DELAY: a remote on 10.74.0.N:25 answering MAIL after DELAY s
sink() {
	rm -rf "$T_TMP/s$1"
	"$PYTHON" "$FACTEUR_SRC/t/smtp/remote.py" --listen "10.74.0.$1:25" --out "$T_TMP/s$1" \
		--delay-mail "$2" > "$T_TMP/s$1.ready" 2>"$T_TMP/s$1.err" &
	echo $! > "$T_TMP/s$1.pid"
	i=0; while ! grep -q ready "$T_TMP/s$1.ready" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
}
stop_sink() { kill "$(cat "$T_TMP/s$1.pid")" 2>/dev/null; wait "$(cat "$T_TMP/s$1.pid")" 2>/dev/null; rm -f "$T_TMP/s$1.pid"; }
send() { s=$1; shift; printf 'Subject: %s\n\nbody of %s\n' "$s" "$s" | "$B/sendmail" -c "$FCONF" -f alice@example.test "$@"; }
count() { grep -c -- "$1" "$T_TMP/log" 2>/dev/null; }
# rcpts N: the recipients of the messages sink N accepted, one a line
rcpts() { "$PYTHON" -c '
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/msg-*.json"):
    print("\n".join(json.load(open(f))["rcpts"]))' "$T_TMP/s$1"; }

# 1: four messages for three remotes, deferred while they are down
for m in 1 2 3 4; do
	send "m$m" "a$m@[10.74.0.2]" "b$m@[10.74.0.3]" "c$m@[10.74.0.4]"
done
i=0; while [ "$(count 'status=deferred')" -lt 12 ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
is "$(count 'status=deferred')" 12 "12 recipients deferred while the remotes are down"
sink 2 1; sink 3 1; sink 4 1
"$B/sendmail" -c "$FCONF" -qf
wait_queue; ok $? "queue empty after one run"
for n in 2 3 4; do
	is "$(rcpts $n | sort | tr '\n' ' ')" "$(for m in 1 2 3 4; do printf '%s@[10.74.0.%s] ' "$(echo "$n" | tr 234 abc)$m" "$n"; done)" \
		"remote 10.74.0.$n got each of its 4 recipients once"
done
# overlap: the most connections open at once, per remote and in all, and
# the most remotes inside a transaction (MAIL received, reply pending) at once
"$PYTHON" - "$T_TMP" > "$T_TMP/conc" <<'PY'
import sys
ev = []
for n in (2, 3, 4):
    for l in open("%s/s%d/events" % (sys.argv[1], n)):
        what, c, t = l.split()
        ev.append((float(t), what, n, int(c)))
ev.sort()
open_ = {2: set(), 3: set(), 4: set()}
mail = {}
per = {2: 0, 3: 0, 4: 0}
tot = 0
both = 0
for t, what, n, c in ev:
    if what == "open":
        open_[n].add(c)
    elif what == "close":
        open_[n].discard(c)
    elif what == "mail":
        mail[(n, c)] = t
    per[n] = max(per[n], len(open_[n]))
    tot = max(tot, sum(len(s) for s in open_.values()))
    # remotes with a transaction started in the last second (their delay)
    busy = {k[0] for k, v in mail.items() if t - v < 0.95}
    both = max(both, len(busy))
print(max(per.values()), tot, both)
PY
read per tot busy < "$T_TMP/conc"
: "${per:=0}" "${tot:=0}" "${busy:=0}"
diag "most connections to one remote: $per, in all: $tot, remotes in a transaction at once: $busy"
[ "$per" -eq 2 ]; ok $? "two connections at once to one remote (smtp_destination_concurrency_limit = 2), never more"
[ "$tot" -ge 3 ] && [ "$tot" -le 4 ]; ok $? "at most 4 connections in all (default_process_limit = 4)"
[ "$busy" -ge 2 ]; ok $? "transactions with different remotes overlap"
grep -q 'relay agent failed' "$T_TMP/log"; is $? 1 "no agent failure"

# 2: an agent killed in the middle of a transaction (before MAIL's reply)
stop_sink 2
sink 2 4
send m5 "k@[10.74.0.2]"
# the MAIL is in (the remote waits 4 s to answer it): the agent's connection
i=0; while ! grep -q '^mail ' "$T_TMP/s2/events" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
pid=$(ss -Htnp dst 10.74.0.2:25 | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
[ -n "$pid" ] && [ "$(ps -o user= -p "$pid")" != root ]
ok $? "the agent in the transaction does not run as root (pid $pid)"
[ -n "$pid" ] && kill -9 "$pid"
wait_log 'to=<k@\[10.74.0.2\]>, relay=none, .*status=deferred (relay agent failed)'
ok $? "killed agent: its recipient is deferred"
is "$(rcpts 2 | grep -c '^k@')" 0 "nothing reached the remote"
"$B/sendmail" -c "$FCONF" -qf
wait_queue; ok $? "the next run empties the queue"
is "$(rcpts 2 | grep -c '^k@')" 1 "delivered once"
stop_sink 2; stop_sink 3; stop_sink 4
done_testing
