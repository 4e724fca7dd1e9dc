#!/bin/sh
# The disposable mailbox index (issue 15, libmbox/index.c): whatever happens
# to the index or to the mbox between two opens, the table a scan gives is
# the one a scan without an index gives, and the messages served are the
# same bytes.  Reference: idxtool with MBOX_INDEX_DIR empty (no index).
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
need_cmd python3
tmpdir
T=$T_TMP
IT="$B/t/bin/idxtool"
MT="$B/t/bin/mboxtool"
[ -x "$IT" ] && [ -x "$MT" ] || { echo "Bail out! $IT or $MT not built"; exit 1; }
export MBOX_JOURNAL_DIR="$T/journal"
export MBOX_INDEX_DIR="$T/index"
mkdir -p "$MBOX_JOURNAL_DIR" "$T/box"
M=$T/box/inbox

# gen FILE: messages with Dovecot metadata, keywords, a CRLF message, a
# Content-Length one, >From lines, no final newline at the end
gen() {
	python3 - "$1" <<'PY'
import sys
out = []
for i in range(1, 9):
    out.append("From sender%d@example.test  Mon Jan  2 15:04:%02d 2006\n" % (i, i))
    if i == 1:
        out.append("X-IMAPbase: 1700000000 0000000008 $Junk work\n")
    nl = "\r\n" if i == 4 else "\n"
    out.append("Message-ID: <m%d@index.test>%sSubject: message %d%s" % (i, nl, i, nl))
    out.append("X-UID: %d\n" % i)
    out.append("Status: %s\n" % ("RO" if i % 2 else "O"))
    if i % 3 == 0:
        out.append("X-Keywords: work\n")
    body = "".join(">From quoted %d\n" % k if k % 5 == 2 else "m%d line %d %s%s" % (i, k, "x" * 40, nl)
                   for k in range(i * 7))
    if i == 6:
        out.append("Content-Length: %d\n" % len(body))
    out.append(nl)
    out.append(body)
    if i < 8:
        out.append("\n")
open(sys.argv[1], "w").write("".join(out).rstrip("\n"))
PY
}

# ref: the table without an index; cur: with it (use= line apart)
ref() { MBOX_INDEX_DIR= "$IT" dump "$M" --no-modseq | sed 1d; }
cur() { "$IT" dump "$M" --no-modseq > "$T/cur" && head -1 "$T/cur" && sed 1d "$T/cur" > "$T/cur.t"; }
# check NAME USE: the table is right, made the USE way; every message served
# with the index is the same bytes as without
check() {
	ref > "$T/ref.t"
	use=$(cur)
	is "$use" "use=$2" "$1: $2 (1 index, 2 index + tail, 3 full scan)"
	same_file "$T/cur.t" "$T/ref.t" "$1: the same table as a scan without index"
	bad=0
	for u in $(awk '{print $2}' "$T/ref.t" | grep '^uid=' | cut -d= -f2); do
		MBOX_INDEX_DIR= "$IT" serve "$M" "$u" > "$T/m.ref"
		"$IT" serve "$M" "$u" > "$T/m.cur"
		cmp -s "$T/m.ref" "$T/m.cur" || bad=$((bad + 1))
	done
	is "$bad" 0 "$1: every message served with the index is the right one"
}
idx() { ls "$MBOX_INDEX_DIR"/*-inbox.index; }
msg() { printf 'From: a@b\nSubject: new %s\n\nbody %s\n' "$1" "$1"; }

gen "$M"
check "first open" 3
[ -f "$(idx)" ]; ok $? "the index file was written"
is "$(stat -c %a "$MBOX_INDEX_DIR")" 700 "its directory is 0700"
check "second open" 1
"$IT" dump "$M" > "$T/d1"; "$IT" dump "$M" > "$T/d2"
same_file "$T/d2" "$T/d1" "modseqs read back unchanged"

# --- appended by facteur (mbox_append extends the index header) -------------
msg 9 | "$MT" append "$M" -s x@y -d 1136214245 >/dev/null
check "after mbox_append to a file without final newline" 2
check "the open after that (tail not written back yet)" 2
for i in 10 11 12; do msg $i | "$MT" append "$M" -s x@y >/dev/null; done
check "after three appends" 2
"$MT" assign-uids "$M" >/dev/null
check "after UIDs were assigned (rewrite)" 1

# --- changed by other programs ------------------------------------------------
printf 'From other@example.test  Tue Jan  3 10:00:00 2006\nSubject: procmail\n\nhi\n\n' >> "$M"
check "appended to by another program" 3
python3 - "$M" <<'PY'
import sys
p = sys.argv[1]; s = open(p, "rb").read()
i = s.index(b"Status: RO\n")
open(p, "r+b").write(s[:i] + b"Status: OR\n" + s[i + 11:])
PY
touch -d "@$(stat -c %Y "$T/d1")" "$M" 2>/dev/null
check "a flag patched in place, same size, mtime put back" 3
python3 - "$M" <<'PY'
import sys
# mutt: rewrites the file in place, message 3 gone, message 5 flagged
p = sys.argv[1]; s = open(p, "rb").read()
parts = s.split(b"\nFrom ")
del parts[2]
parts[3] = parts[3].replace(b"Status: RO", b"Status: ROF", 1) if b"Status: RO" in parts[3] else parts[3]
f = open(p, "r+b"); f.seek(0); d = b"\nFrom ".join(parts); f.write(d); f.truncate(len(d)); f.close()
PY
check "mutt rewrote it in place" 3
cp "$M" "$T/new" && python3 -c "
import sys; p=sys.argv[1]; s=open(p,'rb').read(); open(p,'wb').write(s.replace(b'm2 line 1 ', b'M2 LINE 1 ', 1))" "$T/new"
mv "$T/new" "$M"
check "replaced by another file (rename)" 3
cp "$M" "$T/same"; cat "$T/same" > "$M"
check "rewritten with the same bytes" 3

# --- From_ dates are local time: an index made under another TZ is not used --
export TZ=UTC
"$IT" dump "$M" > /dev/null
check "under TZ=UTC" 1
export TZ=UTC-10
check "under TZ=UTC-10 (INTERNALDATEs move)" 3
check "again under TZ=UTC-10 (the index was replaced)" 1
export TZ=UTC
"$IT" dump "$M" > /dev/null

# --- the index itself damaged ----------------------------------------------------
check "before damage" 1
I=$(idx)
sz=$(stat -c %s "$I")
printf 'X' | dd of="$I" bs=1 seek=$((sz / 2)) conv=notrunc 2>/dev/null
check "a byte of an entry changed" 3
printf '\001' | dd of="$I" bs=1 seek=100 conv=notrunc 2>/dev/null
check "a byte of the header changed" 3
truncate -s $((sz - 100)) "$I"
check "truncated" 3
: > "$I"
check "empty" 3
head -c 5000 /dev/urandom > "$I"
check "random bytes" 3
# another mailbox's index in its place
cp "$M" "$T/box/other"; "$MT" expunge "$T/box/other" 2 >/dev/null
MBOX_INDEX_DIR="$T/index" "$IT" dump "$T/box/other" >/dev/null
O=$(ls "$MBOX_INDEX_DIR"/*-other.index)
cp "$O" "$I"
check "swapped with another mailbox's index" 3
check "rebuilt after the swap" 1
# a symlink in its place: not followed, replaced
echo "precious" > "$T/target"
rm -f "$I"; ln -s "$T/target" "$I"
check "a symlink in its place" 3
is "$(cat "$T/target")" "precious" "the symlink's target was not written"
[ -f "$I" ] && [ ! -L "$I" ]; ok $? "the symlink was replaced by an index"
ln -f "$I" "$T/hardlink"
check "an index with two links" 3
rm -f "$T/hardlink"
if [ "$(id -u)" = 0 ]; then
	chown nobody "$I"
	check "an index owned by another user" 3
	[ "$(stat -c %U "$I")" = root ]; ok $? "replaced by one of ours"
else
	chmod 000 "$I"
	check "an unreadable index" 3
	[ -r "$I" ]; ok $? "replaced by a readable one"
fi
# the index directory unusable: no index, still right
rm -rf "$MBOX_INDEX_DIR"; : > "$MBOX_INDEX_DIR"
check "the index directory is a file" 3
rm -f "$MBOX_INDEX_DIR"
MBOX_INDEX_DIR= "$IT" dump "$M" | head -1 > "$T/u"
is "$(cat "$T/u")" "use=0" "MBOX_INDEX_DIR empty: no index"

# --- mbox_scan_update (imapd before each command): the index, not the file --
# A session's table brought up to date after a change (idxtool update: scan,
# unlock, the change, update): a facteur writer's change is read from the
# index (appends: only their bytes), any other program's from the whole file.
U=$T/box/upd
python3 - "$U" <<'PY2'
import sys
with open(sys.argv[1], "w") as f:
    f.write("From a@example.test  Mon Jan  2 15:04:05 2006\nX-IMAPbase: 1700000001 0000002000\n"
            "Subject: 1\nX-UID: 1\nStatus: O\n\n" + "body line of message 1\n" * 20 + "\n")
    for i in range(2, 2001):
        f.write("From a@example.test  Mon Jan  2 15:04:05 2006\nSubject: %d\nX-UID: %d\n"
                "Status: O\n\n%s\n" % (i, i, "body line of message %d\n" % i * 20))
PY2
"$IT" dump "$U" >/dev/null
USZ=$(stat -c %s "$U")
# upd NAME CMD USE UPDATE MAXREAD|full: after CMD, the update made the USE
# way, returned UPDATE, read at most MAXREAD bytes (full: at least the
# file), and its table is the one a scan without index gives
upd() {
	"$IT" update "$U" "$2" --no-modseq > "$T/u.out"
	MBOX_INDEX_DIR= "$IT" dump "$U" --no-modseq | sed 1d > "$T/u.ref"
	set -- "$1" "$3" "$4" "$5" "$(head -1 "$T/u.out")"
	read=${5##*read=}
	is "${5% read=*}" "update=$3 use=$2" "update, $1: returned $3, index use $2"
	if [ "$4" = full ]; then
		[ "$read" -ge "$(stat -c %s "$U")" ]; ok $? "update, $1: the whole file read ($read bytes)"
	else
		[ "$read" -le "$4" ]; ok $? "update, $1: $read bytes read (at most $4 of $(stat -c %s "$U"))"
	fi
	sed 1d "$T/u.out" > "$T/u.t"
	same_file "$T/u.t" "$T/u.ref" "update, $1: the table of a whole scan"
}
upd "delivery (mbox_append)" "printf 'Subject: d1\n\nnew\n' | $MT append $U -s x@y >/dev/null" 2 0 8192
upd "three deliveries" "for i in 1 2 3; do printf 'Subject: d\n\nnew\n' | $MT append $U >/dev/null; done" 2 0 8192
# (headers grow: the messages after the first change move, the table is new)
upd "UIDs assigned by another facteur process" "$MT assign-uids $U >/dev/null" 1 1 8192
upd "another facteur process's STORE (headers grow)" "$MT setflags $U 1500 RF >/dev/null" 1 1 8192
upd "another facteur process's STORE (in place)" "$MT setflags $U 1500 RA >/dev/null" 1 0 8192
grep -q "uid=1500 flags=$(MBOX_INDEX_DIR= "$IT" dump "$U" | grep ' uid=1500 ' | sed 's/.*flags=\([0-9a-f]*\).*/\1/') " "$T/u.t" &&
	! grep -q ' uid=1500 flags=0 ' "$T/u.t"; ok $? "update: the flags another session stored are seen"
"$IT" update "$U" "$MT setflags $U 1500 RF >/dev/null" > "$T/u.ms"
"$IT" dump "$U" | sed 1d > "$T/u.ms.ref"
sed 1d "$T/u.ms" > "$T/u.ms.t"
same_file "$T/u.ms.t" "$T/u.ms.ref" "update: the modseqs the writer gave, as every other reader sees them"
upd "another facteur process's expunge" "$MT expunge $U 3 >/dev/null" 1 1 8192
upd "a flag patched in place by another program" "python3 -c \"
import sys; p=sys.argv[1]; s=open(p,'rb').read(); i=s.index(b'Subject: 900\\nX-UID: 900\\nStatus: O\\n')
open(p,'r+b').write(s[:i] + s[i:i+40].replace(b'Status: O\\n', b'Status: R\\n') + s[i+40:])\" $U" 3 0 full
grep -q ' uid=900 flags=1 ' "$T/u.t"; ok $? "update: that flag is seen"
upd "appended to by another program" "printf 'From p@example.test  Tue Jan  3 10:00:00 2006\nSubject: procmail\n\nhi\n\n' >> $U" 3 0 full
upd "rewritten by another program (a message removed)" "python3 -c \"
import sys; p=sys.argv[1]; s=open(p,'rb').read(); i=s.index(b'From a@', 5000); j=s.index(b'From a@', i + 5)
open(p,'wb').write(s[:i] + s[j:])\" $U" 3 1 full
upd "a delivery after the fallback" "printf 'Subject: d2\n\nnew\n' | $MT append $U >/dev/null" 2 0 8192

# --- mod-sequences -----------------------------------------------------------------
check "modseq base" 3
"$IT" dump "$M" > "$T/a"
hms() { sed -n 2p "$1" | sed 's/.*highestmodseq=//'; }
ms() { grep " uid=$2 " "$1" | sed 's/.*modseq=//'; }
"$MT" setflags "$M" 4 RF >/dev/null
"$IT" dump "$M" > "$T/b"
[ "$(hms "$T/b")" -gt "$(hms "$T/a")" ]; ok $? "a flag change raises HIGHESTMODSEQ"
is "$(ms "$T/b" 4)" "$(hms "$T/b")" "the changed message has the new modseq"
is "$(ms "$T/b" 5)" "$(ms "$T/a" 5)" "the others keep theirs"
"$MT" expunge "$M" 5 >/dev/null
"$IT" dump "$M" > "$T/c"
[ "$(hms "$T/c")" -gt "$(hms "$T/b")" ]; ok $? "an expunge raises HIGHESTMODSEQ"
is "$(ms "$T/c" 4)" "$(ms "$T/b" 4)" "... and changes no other modseq"
python3 - "$M" <<'PY'
import sys
p = sys.argv[1]; s = open(p, "rb").read()
open(p, "wb").write(s.replace(b"Status: O\n", b"Status: RO\n", 1))
PY
"$IT" dump "$M" > "$T/d"
[ "$(hms "$T/d")" -gt "$(hms "$T/c")" ]; ok $? "another program's flag change raises HIGHESTMODSEQ"
is "$(ms "$T/d" 4)" "$(ms "$T/c" 4)" "... and keeps the modseq of unchanged messages"
rm -f "$(idx)"
"$IT" dump "$M" > "$T/e"
[ "$(hms "$T/e")" -gt "$(hms "$T/d")" ]; ok $? "index lost: HIGHESTMODSEQ still above the old one (floor)"
[ "$(ms "$T/e" 4)" -gt "$(hms "$T/d")" ]; ok $? "... and so is every modseq"
rm -rf "$MBOX_INDEX_DIR"
"$IT" dump "$M" > "$T/f"
[ "$(hms "$T/f")" -gt "$(hms "$T/e")" ]; ok $? "index and floor lost: still above (clock)"

# --- the STATUS counters of the index header ----------------------------------------
# counts NAME USE: idxtool counts gives USE (4 = served from the header, 3 =
# counted from a scan) and the same counts as a scan without any index
counts() {
	"$IT" counts "$M" > "$T/cn" || { ok 1 "$1: idxtool counts"; return; }
	MBOX_INDEX_DIR= "$IT" counts "$M" | sed 1d > "$T/cn.ref"
	is "$(sed -n 's/ .*//p;q' "$T/cn")" "use=$2" "$1: use=$2 (4 counters served, 3 counted)"
	sed 1d "$T/cn" > "$T/cn.t"
	same_file "$T/cn.t" "$T/cn.ref" "$1: the counts of a scan without index"
}
gen "$M"
rm -rf "$MBOX_INDEX_DIR"
"$IT" dump "$M" > /dev/null
counts "fresh index" 4
is "$(sed -n 's/.*highestmodseq=//p;q' "$T/cn")" "$("$IT" dump "$M" | sed -n '2s/.*highestmodseq=//p')" \
	"HIGHESTMODSEQ is the index's"
grep -q 'count=8 unseen=4 first_unseen=2 recent=0 deleted=0 ' "$T/cn.t"; ok $? "the counts themselves (8, 4 unseen from 2)"
msg c1 | "$MT" append "$M" -s x@y >/dev/null
cp "$M" "$T/before-counts"
counts "after a delivery (no UID yet: the header's counters plus the tail)" 4
same_file "$M" "$T/before-counts" "... counted without writing the mailbox"
grep -q 'count=9 unseen=5 first_unseen=2 recent=1 ' "$T/cn.t"; ok $? "the delivered message counts as unseen and recent"
sed -n 's/.*uidnext=//p' "$T/cn.t" > "$T/predicted"
"$MT" assign-uids "$M" >/dev/null
counts "after the UIDs were given (facteur's rewrite)" 4
grep -q 'count=9 unseen=5 first_unseen=2 recent=1 ' "$T/cn.t"; ok $? "the same counts once it has its UID"
is "$(sed -n 's/.*uidnext=//p' "$T/cn.t")" "$(cat "$T/predicted")" "UIDNEXT is the one predicted before"
"$MT" setflags "$M" 2 RO >/dev/null
counts "after a flag change by facteur" 4
grep -q 'unseen=4 first_unseen=4 ' "$T/cn.t"; ok $? "the first unseen moved on"
"$MT" setflags "$M" 3 ROD >/dev/null
counts "after \\Deleted by facteur" 4
grep -q ' deleted=1 ' "$T/cn.t"; ok $? "one deleted"
"$MT" expunge "$M" 3 >/dev/null
counts "after an expunge by facteur" 4
grep -q 'count=8 .* deleted=0 ' "$T/cn.t"; ok $? "expunged: one fewer, none deleted"
python3 - "$M" <<'PY2'
import mailbox, sys
# another program: python's mailbox rewrites the file (a flag change)
mb = mailbox.mbox(sys.argv[1]); mb.lock()
for k, m in mb.items():
    if "R" not in m.get_flags():
        m.set_flags("RO"); mb[k] = m; break
mb.flush(); mb.unlock(); mb.close()
PY2
counts "after python mailbox rewrote the file" 3
counts "the open after that (index rebuilt)" 4
python3 - "$M" <<'PY2'
import os, sys
# mutt-style in place: same size, a flag letter changed, mtime put back
p = sys.argv[1]; st = os.stat(p); s = open(p, "rb").read()
i = s.index(b"Status: O\n")
open(p, "r+b").write(s[:i] + b"Status: R\n" + s[i + 10:])
os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
PY2
counts "same size, flag changed in place, mtime restored" 3
"$IT" dump "$M" > /dev/null
# the header's counters start at byte 192: unseen (uint32)
cp "$(idx)" "$T/idx.bak"
printf '\377' | dd of="$(idx)" bs=1 seek=192 conv=notrunc 2>/dev/null
counts "a counter corrupted (header hash wrong)" 3
counts "the open after that (index rewritten)" 4
cp "$T/idx.bak" "$(idx)"
"$IT" seal "$(idx)" 192 0
counts "a counter changed and the header hash made right" 3
"$IT" seal "$(idx)" 200 9
counts "\\Deleted count beyond the message count, header hash right" 3
counts "after that (the full load rewrote the counters)" 4

# --- STATUS after deliveries: the header's counters plus a scan of the tail ----------
gen "$M"
rm -rf "$MBOX_INDEX_DIR"
"$MT" assign-uids "$M" >/dev/null
counts "fresh index, every message with a UID" 4
# two more: one already read (Status: RO in what was delivered), one not
printf 'From: a@b\nStatus: RO\nSubject: seen\n\nbody\n' | "$MT" append "$M" -s x@y >/dev/null
msg c3 | "$MT" append "$M" -s x@y >/dev/null
counts "two deliveries, one of them seen" 4
grep -q 'count=10 unseen=5 first_unseen=2 recent=1 ' "$T/cn.t"; ok $? "... counted as such"
"$MT" assign-uids "$M" >/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do "$MT" setflags "$M" $i RO >/dev/null; done
counts "every message seen" 4
msg c4 | "$MT" append "$M" -s x@y >/dev/null
counts "then a delivery: the first unseen is in the tail" 4
grep -q 'count=11 unseen=1 first_unseen=11 ' "$T/cn.t"; ok $? "... found there"
"$MT" assign-uids "$M" >/dev/null
msg c5 | "$MT" append "$M" -s x@y >/dev/null
counts "the last indexed message is the first unseen, then a delivery" 4
grep -q 'count=12 unseen=2 first_unseen=11 ' "$T/cn.t"; ok $? "... still the first unseen"
"$MT" assign-uids "$M" >/dev/null
msg c6 | "$MT" append "$M" -s x@y >/dev/null
python3 - "$M" <<'PY2'
import os, sys
# a delivery after the last indexed message changed size: not a plain append
p = sys.argv[1]; s = open(p, "rb").read()
i = s.rindex(b"\nFrom ")
open(p, "wb").write(s[:i] + b"\nX-Extra: 1" + s[i:])
PY2
counts "the file changed before the tail: counted from a scan" 3
"$MT" assign-uids "$M" >/dev/null

done_testing
