#!/bin/sh
# A full queue disk (issue 19 item 9): when writing or committing the queue
# file fails with ENOSPC or EDQUOT, smtpd answers Postfix's
# "452 4.3.1 Insufficient system storage" (RFC 3463 4.3.1), not the generic
# 451, and leaves nothing half-queued (queue/tmp and queue/q empty); the
# session goes on.  ENOSPC from a real full tmpfs queue_directory (root:
# mount); EDQUOT and EIO through t/shim/failpoint.c on the commit's fsync.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/smtp/lib.sh"
[ -x "$B/smtpd" ] && [ -f "$B/t/failpoint.so" ] || { echo "Bail out! build first"; exit 1; }
need_cmd python3
smtp_env
Q=$T_TMP/queue
M=$T_TMP/spool
# the shim is built without the sanitizers (see t/27)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
# big N: a message of N KiB; then a small one, in one session
big() {
	printf 'EHLO c\nMAIL FROM:<alice@example.test>\nRCPT TO:<bob@example.test>\nDATA\nSubject: big\n\n'
	python3 -c 'import sys; sys.stdout.write(("x" * 1023 + "\n") * int(sys.argv[1]))' "$1"
	printf '.\nMAIL FROM:<alice@example.test>\nRCPT TO:<bob@example.test>\nDATA\nSubject: small\n\nsmall one\n.\nQUIT\n'
}
small() {
	printf 'EHLO c\nMAIL FROM:<alice@example.test>\nRCPT TO:<bob@example.test>\nDATA\nSubject: %s\n\nbody\n.\nQUIT\n' "$1"
}
# empty_queue: nothing in queue/tmp nor queue/q
empty_queue() { [ -z "$(ls -A "$Q/tmp" 2>/dev/null)" ] && [ -z "$(ls -A "$Q/q" 2>/dev/null)" ]; }
finals() { grep -E '^(250 2.0.0 Ok: queued|45[12] )' "$1" | cut -c1-9; }

# 1-2: the shim injects nothing unless asked (the tests below can fail)
small plain | smtp_run LD_PRELOAD="$B/t/failpoint.so" > "$T_TMP/r"
grep -q '^250 2.0.0 Ok: queued as' "$T_TMP/r"; ok $? "with the shim loaded and idle: queued"
wait_queue && grep -q '^Subject: plain' "$M/bob"; ok $? "and delivered"

# 3-5: EDQUOT on the commit's fsync: 452 4.3.1, nothing queued
rm -f "$T_TMP/fail.log"
small quota | smtp_run LD_PRELOAD="$B/t/failpoint.so" FAIL_CALLS=fsync FAIL_PATH="$Q/tmp/" \
	FAIL_ERRNO=EDQUOT FAIL_LOG="$T_TMP/fail.log" > "$T_TMP/r"
grep -q '^452 4.3.1 Insufficient system storage$' "$T_TMP/r"; ok $? "EDQUOT committing: 452 4.3.1 Insufficient system storage"
[ -s "$T_TMP/fail.log" ] && empty_queue; ok $? "the failure was injected; nothing half-queued"
grep -q 'queue file write error in .*: Disk quota exceeded' "$T_TMP/log"; ok $? "logged with the cause"

# 6-7: another error (EIO) keeps the generic 451 4.3.0
small eio | smtp_run LD_PRELOAD="$B/t/failpoint.so" FAIL_CALLS=fsync FAIL_PATH="$Q/tmp/" FAIL_ERRNO=EIO > "$T_TMP/r"
grep -q '^451 4.3.0 Error: queue file write error$' "$T_TMP/r"; ok $? "EIO committing: 451 4.3.0 queue file write error"
empty_queue; ok $? "nothing half-queued"

# 8-9: ENOSPC on a write of the queue file (through the shim)
small nospc | smtp_run LD_PRELOAD="$B/t/failpoint.so" FAIL_CALLS=write FAIL_PATH="$Q/tmp/" > "$T_TMP/r"
grep -q '^452 4.3.1 Insufficient system storage$' "$T_TMP/r"; ok $? "ENOSPC writing: 452 4.3.1"
empty_queue; ok $? "nothing half-queued"
lacks "$M/bob" '^Subject: (quota|eio|nospc)' "none of the failed messages delivered"

# 11-16: a real full disk: queue_directory on a 256 KiB tmpfs
if [ "$(id -u)" != 0 ]; then
	for i in 1 2 3 4 5 6; do skip "tmpfs mount needs root"; done
elif ! mount -t tmpfs -o size=256k,mode=0755 tmpfs "$Q" 2>/dev/null; then
	for i in 1 2 3 4 5 6; do skip "cannot mount tmpfs here"; done
else
	trap 'umount "$Q" 2>/dev/null; rm -rf "$T_TMP"' EXIT
	big 600 | smtp_run > "$T_TMP/r"
	is "$(finals "$T_TMP/r" | tr '\n' ' ')" "452 4.3.1 250 2.0.0 " "600 KiB on 256 KiB: 452, then a small message in the same session: 250"
	grep -q '^452 4.3.1 Insufficient system storage$' "$T_TMP/r"; ok $? "the exact reply"
	wait_queue && empty_queue; ok $? "nothing half-queued, the small one delivered"
	is "$(grep '^Subject: \(small\|big\)' "$M/bob")" "Subject: small" "the small one delivered, the big one not"
	# BDAT: the same reply
	{ printf 'EHLO c\nMAIL FROM:<alice@example.test>\nRCPT TO:<bob@example.test>\nBDAT 615000 LAST\n'
	  python3 -c 'import sys; sys.stdout.write(("y" * 1023 + "\n") * 600)'
	  printf "QUIT\n"; } | smtp_run > "$T_TMP/r"
	grep -q '^452 4.3.1 Insufficient system storage$' "$T_TMP/r"; ok $? "BDAT on a full disk: 452 4.3.1"
	empty_queue; ok $? "nothing half-queued"
	umount "$Q"
fi
done_testing
