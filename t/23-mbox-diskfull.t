#!/bin/sh
# Appends that run out of room mid-message (RLIMIT_FSIZE, a full tmpfs)
# leave the mailbox byte-identical and report the error (mbox-interop.md §7.5).
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
need_cmd prlimit
need_cmd python3
tmpdir
T=$T_TMP
MNT=$T/mnt
trap 'umount "$MNT" 2>/dev/null; rm -rf "$T"' EXIT
MT="$B/t/bin/mboxtool"
export MBOX_JOURNAL_DIR="$T/journal"
[ -x "$MT" ] || { echo "Bail out! $MT not built"; exit 1; }

# big N FILE: a message of about N bytes with "From " lines in its body
big() {
	python3 - "$1" > "$2" <<'PY'
import sys
n = int(sys.argv[1])
out = ["Subject: big\n", "\n"]
size, i = 14, 0
while size < n:
    line = ("From line %d\n" % i) if i % 10 == 0 else ("x" * 70 + "\n")
    out.append(line)
    size += len(line)
    i += 1
sys.stdout.write("".join(out))
PY
}

M=$T/fs.mbox
printf 'Subject: old\n\nkept\n' | "$MT" append "$M" -s a@b; ok $? "mailbox with one message"
cp "$M" "$T/before"
big 200000 "$T/big"

# --- RLIMIT_FSIZE: EFBIG, with SIGXFSZ default and ignored --------------------
prlimit --fsize=50000 "$MT" append "$M" -s a@b < "$T/big" 2>"$T/err"
is "$?" 1 "over RLIMIT_FSIZE: exit 1 (not killed by SIGXFSZ)"
grep -q 'mboxtool: append: File too large' "$T/err"; ok $? "EFBIG reported"
same_file "$M" "$T/before" "mailbox byte-identical after EFBIG"
[ ! -e "$M.lock" ]; ok $? "lock released after the failure"

sh -c 'trap "" XFSZ; exec prlimit --fsize=50000 "$@"' sh "$MT" append "$M" -s a@b \
	< "$T/big" 2>"$T/err"
is "$?" 1 "SIGXFSZ ignored: exit 1"
grep -q 'File too large' "$T/err"; ok $? "EFBIG reported"
same_file "$M" "$T/before" "mailbox byte-identical"

# from a pipe (the in-memory path) as well
cat "$T/big" | prlimit --fsize=50000 "$MT" append "$M" -s a@b 2>"$T/err"
is "$?" 1 "from a pipe: exit 1"
same_file "$M" "$T/before" "mailbox byte-identical"

# the limit cutting the fix-up LFs before the message
printf 'x' >> "$M"
cp "$M" "$T/before2"
prlimit --fsize="$(($(wc -c < "$M") + 1))" "$MT" append "$M" -s a@b < "$T/big" 2>/dev/null
is "$?" 1 "limit inside the fix-up: exit 1"
same_file "$M" "$T/before2" "mailbox byte-identical"
cp "$T/before" "$M"

# and the same append fits without the limit
"$MT" append "$M" -s a@b < "$T/big"; ok $? "unlimited: append succeeds"
is "$(grep -c '^From ' "$M")" 2 "two messages"
is "$(grep -c '^>From line' "$M")" "$(grep -c '^From line' "$T/big")" "every From  body line quoted"

# --- a full tmpfs: ENOSPC ------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	skip "tmpfs mount needs root"
	skip "tmpfs mount needs root"
elif ! { mkdir -p "$MNT" && mount -t tmpfs -o size=256k,mode=0700 tmpfs "$MNT"; } 2>/dev/null; then
	skip "cannot mount tmpfs here"
	skip "cannot mount tmpfs here"
else
	M=$MNT/inbox
	printf 'Subject: old\n\nkept\n' | "$MT" append "$M" -s a@b
	big 100000 "$T/mid"
	"$MT" append "$M" -s a@b < "$T/mid"; ok $? "100 kB fits in the 256 kB tmpfs"
	cp "$M" "$T/before"
	"$MT" append "$M" -s a@b < "$T/big" 2>"$T/err"
	is "$?" 1 "200 kB more does not fit: exit 1"
	grep -q 'mboxtool: append: No space left on device' "$T/err"; ok $? "ENOSPC reported"
	same_file "$M" "$T/before" "mailbox byte-identical after ENOSPC"
	[ ! -e "$M.lock" ]; ok $? "lock released"
	is "$(ls -A "$MNT" | grep -v '^inbox$' | wc -l)" 0 "no temp or lock files left"
	printf 'Subject: small\n\nfits\n' | "$MT" append "$M" -s a@b
	ok $? "a small message still fits after the rollback"
	is "$(grep -c '^From ' "$M")" 3 "three messages"
	umount "$MNT"; ok $? "tmpfs unmounted"
fi
done_testing
