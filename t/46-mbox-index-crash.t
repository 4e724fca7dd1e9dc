#!/bin/sh
# The index writer killed at every step (issue 15): the process dies (SIGKILL,
# t/shim/crashpoint.c) at each write, pwrite, rename, unlink... of a first
# indexing scan, of an append that extends the index, of a flag change, an
# expunge and a UID assignment that rewrite it.  After each crash the next
# open must give the table a scan without index gives, serve the same bytes,
# and leave an index the open after it uses as is.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
need_cmd python3
tmpdir
T=$T_TMP
IT="$B/t/bin/idxtool"
MT="$B/t/bin/mboxtool"
SHIM="$B/t/crashpoint.so"
[ -x "$IT" ] && [ -x "$MT" ] && [ -f "$SHIM" ] || { echo "Bail out! tools not built"; exit 1; }
export MBOX_JOURNAL_DIR="$T/journal"
export MBOX_INDEX_DIR="$T/index"
# no leak check at exit: its report would be more calls to count (and LSan
# cannot stop the world in some sandboxes), leaks are not the point here
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0:detect_leaks=0"
mkdir -p "$MBOX_JOURNAL_DIR" "$T/box"
M=$T/box/inbox

python3 - "$T/base" <<'PY'
import sys
out = []
for i in range(1, 41):
    out.append("From s%d@example.test  Mon Jan  2 15:04:%02d 2006\n" % (i, i % 60))
    if i == 1:
        out.append("X-IMAPbase: 1700000000 0000000036 work\n")
    out.append("Message-ID: <c%d@crash.test>\nSubject: m %d\n" % (i, i))
    if i <= 36:
        out.append("X-UID: %d\nStatus: O\n" % i)
    out.append("\n" + "".join("line %d of %d %s\n" % (k, i, "z" * 60) for k in range(i * 3)) + "\n")
open(sys.argv[1], "w").write("".join(out))
PY
printf 'From: a@b\nSubject: appended\n\nnew body\n' > "$T/msg"

# fresh: the mailbox and a warm index (unless "cold")
fresh() {
	rm -rf "$MBOX_INDEX_DIR" "$MBOX_JOURNAL_DIR"/* "$M.lock"
	cp "$T/base" "$M"
	[ "$1" = cold ] || "$IT" dump "$M" >/dev/null
}
op() {
	case $1 in
	index) "$IT" dump "$M" ;;
	append) "$MT" append "$M" -s x@y -d 1136214245 < "$T/msg" ;;
	flags) "$MT" setflags "$M" 7 RF ;;
	expunge) "$MT" expunge "$M" 3 20 ;;
	uids) "$MT" assign-uids "$M" ;;
	esac
}
# verify NAME: after a crash, the next open is right; the one after uses the index
verify() {
	rm -f "$M.lock"
	"$MT" scan "$M" >/dev/null 2>&1     # recovery, as the next reader
	MBOX_INDEX_DIR= "$IT" dump "$M" --no-modseq | sed 1d > "$T/ref"
	"$IT" dump "$M" --no-modseq > "$T/cur" || return 1
	sed 1d "$T/cur" | cmp -s - "$T/ref" || { diag "$1: wrong table"; return 1; }
	for u in 1 7 20 36; do
		MBOX_INDEX_DIR= "$IT" serve "$M" $u > "$T/a" 2>/dev/null
		"$IT" serve "$M" $u > "$T/b" 2>/dev/null
		cmp -s "$T/a" "$T/b" || { diag "$1: uid $u served differently"; return 1; }
	done
	case $("$IT" dump "$M" | head -1) in use=1 | use=2) ;; *) diag "$1: index not used after"; return 1 ;; esac
	return 0
}

total=0
for s in index append flags expunge uids; do
	mode=warm
	[ $s = index ] && mode=cold
	fresh $mode
	CRASH_COUNT="$T/count" LD_PRELOAD="$SHIM" op $s >/dev/null 2>&1
	k=$(cat "$T/count")
	verify "$s uncrashed"; ok $? "$s: $k calls that change files; right without a crash"
	bad=0
	n=1
	while [ "$n" -le "$k" ]; do
		fresh $mode
		CRASH_AT=$n LD_PRELOAD="$SHIM" op $s >/dev/null 2>&1
		rc=$?
		[ $rc -eq 137 ] || { bad=$((bad + 1)); diag "$s: crash point $n: exit $rc, not killed"; }
		verify "$s: $n" || bad=$((bad + 1))
		n=$((n + 1))
	done
	total=$((total + k))
	is "$bad" 0 "$s: killed at each of its $k calls, the next open right, the index usable again"
done
diag "crash points tried: $total"

done_testing
