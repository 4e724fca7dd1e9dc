#!/bin/sh
# smtpd under a bounded mutational fuzz: 240 sessions made from valid
# transcripts with random bytes, truncation, long lines, NULs, bare CR/LF
# and huge BDAT sizes (fixed seeds, so a failure replays).  Every session
# must end cleanly (no signal, no sanitizer report with SANITIZE=1), answer
# in well-formed reply lines, and queue exactly what it said it queued.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
[ -x "$B/smtpd" ] || { echo "Bail out! $B/smtpd not built"; exit 1; }
need_cmd python3
smtp_env
conf_set smtpd_timeout 5
mkdir -p "$T_TMP/san" "$T_TMP/fuzz"
chmod 777 "$T_TMP/san"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T_TMP/san/report"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T_TMP/san/report:print_stacktrace=1"

# three seeds side by side (sessions mostly wait on fsync)
for seed in 1 2 3; do
	mkdir -p "$T_TMP/fuzz/$seed"
	python3 "$FACTEUR_SRC/t/smtp/fuzz.py" "$B/smtpd" "$FCONF" 80 "$seed" "$T_TMP/fuzz/$seed" \
		> "$T_TMP/fuzz/$seed/out" 2>&1 &
	eval "pid$seed=\$!"
done
for seed in 1 2 3; do
	eval "wait \$pid$seed"
	ok $? "seed $seed: 80 mutated sessions end cleanly with well-formed replies"
	sed 's/^/# /' "$T_TMP/fuzz/$seed/out" | tail -5
	cat "$T_TMP/fuzz/$seed/ids" >> "$T_TMP/fuzz/ids"
done
# what the sessions said they queued is exactly what the log says was committed
wait_queue
sort -u "$T_TMP/fuzz/ids" > "$T_TMP/fuzz/said"
sed -n 's/.*: \([0-9A-F]\{6,\}\): from=<.*/\1/p' "$T_TMP/log" | sort -u > "$T_TMP/fuzz/committed"
same_file "$T_TMP/fuzz/committed" "$T_TMP/fuzz/said" "queue files committed = 'queued as' replies ($(wc -l < "$T_TMP/fuzz/said") messages)"
is "$(find "$T_TMP/queue/tmp" -type f 2>/dev/null | wc -l)" 0 "no half-written queue file left in tmp/"
# give detached delivery runners a moment to finish before reading reports
sleep 0.5
if ! sanitized; then
	skip "no sanitizer report: not a SANITIZE=1 build"
elif ls "$T_TMP/san"/report* >/dev/null 2>&1; then
	head -40 "$T_TMP"/san/report* | sed 's/^/# /'
	ok 1 "no sanitizer report"
else
	ok 0 "no sanitizer report"
fi
lacks "$T_TMP/log" 'protocol error from the session child' "the root parent never saw a bad record from the child"
done_testing
