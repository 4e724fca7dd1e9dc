#!/bin/sh
# Crash safety (issue 19): kill the process at every write, pwrite,
# ftruncate, fsync, fdatasync, rename, link, unlink and fallocate call of an
# expunge, a flag change (through the journal and in place), a UID
# assignment and an append (t/shim/crashpoint.c, LD_PRELOAD), then let the
# next reader recover and check strictly (t/lib/mboxcheck.py): every message
# wholly old or new, nothing lost, no duplicate, no NUL, UIDs and
# UIDVALIDITY kept; the result parsed by Python's mailbox and by Dovecot to
# the same Message-ID list.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
need_cmd python3
tmpdir
T=$T_TMP
MT="$B/t/bin/mboxtool"
SHIM="$B/t/crashpoint.so"
[ -x "$MT" ] && [ -f "$SHIM" ] || { echo "Bail out! $MT or $SHIM not built"; exit 1; }
export MBOX_JOURNAL_DIR="$T/journal"
mkdir -p "$MBOX_JOURNAL_DIR" "$T/res" "$T/box"
# the shim is preloaded before the sanitizer runtime of a SANITIZE=1 build
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
CHECK="python3 $FACTEUR_SRC/t/lib/mboxcheck.py"
M=$T/box/inbox

# gen FILE [extra]: six messages with Dovecot-style metadata and no padding
# (so flag changes must grow the headers), bodies over several 4 KiB pages;
# "extra" appends three messages without X-UID (delivered later)
gen() {
	python3 - "$@" <<'PY'
import sys
out = []
n = 9 if len(sys.argv) > 2 else 6
for i in range(1, n + 1):
    out.append("From sender%d@example.test  Mon Jan  2 15:04:%02d 2006\n" % (i, i))
    if i == 1:
        out.append("X-IMAPbase: 1700000000 0000000006\n")
    out.append("Message-ID: <m%d@crash.test>\nSubject: message %d\n" % (i, i))
    if i <= 6:
        out.append("X-UID: %d\n" % i)
    out.append("\n")
    size = (i * 2900) % 9000 + 300
    line = 0
    while size > 0:
        s = ">From quoted %d\n" % line if line % 17 == 5 else "m%d line %d %s\n" % (i, line, "x" * 50)
        out.append(s)
        size -= len(s)
        line += 1
    out.append("\n")
open(sys.argv[1], "w").write("".join(out))
PY
}

gen "$T/meta"
gen "$T/extra" extra
cp "$T/meta" "$M" && "$MT" setflags "$M" 3 F >/dev/null && cp "$M" "$T/padded"
grep -q '^X-Keywords: ' "$T/padded"; ok $? "a flag change gave message 3 its padding"
python3 - "$T/big" <<'PY'
import sys
open(sys.argv[1], "w").write("Message-ID: <new@crash.test>\nSubject: appended\n\n" +
    "".join("appended line %d %s\n" % (i, "y" * 60) for i in range(120)))
PY

# op NAME: the operation of scenario NAME on $M (stdin from $T/big)
op() {
	case $1 in
	expunge) "$MT" expunge "$M" 2 5 ;;
	flags) "$MT" setflags "$M" 4 RAF ;;
	inplace) "$MT" setflags "$M" 3 RA ;;
	uids) "$MT" assign-uids "$M" ;;
	append) "$MT" append "$M" -s crash@example.test -d 1136214245 < "$T/big" ;;
	esac
}
base() {
	case $1 in uids) cp "$T/extra" "$M" ;; inplace) cp "$T/padded" "$M" ;; *) cp "$T/meta" "$M" ;; esac
	rm -rf "$MBOX_JOURNAL_DIR"/* "$M.lock"
}

total=0
for s in expunge flags inplace uids append; do
	base $s
	cp "$M" "$T/$s.old"
	op $s >/dev/null 2>&1
	cp "$M" "$T/$s.new"
	! cmp -s "$T/$s.old" "$T/$s.new"; ok $? "$s: the operation changes the mailbox"
	base $s
	CRASH_COUNT="$T/count" LD_PRELOAD="$SHIM" op $s >/dev/null 2>&1
	same_file "$M" "$T/$s.new" "$s: the same under the shim without a crash"
	k=$(cat "$T/count")
	bad=0
	n=1
	while [ "$n" -le "$k" ]; do
		base $s
		CRASH_AT=$n LD_PRELOAD="$SHIM" op $s >/dev/null 2>&1
		rc=$?
		[ $rc -eq 137 ] || { bad=$((bad + 1)); diag "$s: crash point $n: exit $rc, not killed"; }
		# the dead process's dotlock (broken after 5 s by the stale rule)
		rm -f "$M.lock"
		# the next reader recovers (taking the write lock briefly)
		"$MT" scan "$M" > "$T/scan" 2>&1 || { bad=$((bad + 1)); diag "$s: $n: scan failed: $(head -1 "$T/scan")"; }
		ls "$MBOX_JOURNAL_DIR" | grep -q '\.journal' && { bad=$((bad + 1)); diag "$s: $n: journal left"; }
		[ -z "$(cat "$MBOX_JOURNAL_DIR"/*.append 2>/dev/null | tr -d '\000')" ] ||
			{ bad=$((bad + 1)); diag "$s: $n: append record left set"; }
		cp "$M" "$T/res/$s.$n"
		n=$((n + 1))
	done
	total=$((total + k))
	is "$bad" 0 "$s: $k crash points, each killed and recovered by the next reader"
	$CHECK "$T/$s.old" "$T/$s.new" "$T"/res/$s.* > "$T/check.$s"
	ok $? "$s: strict check of all $k results"
	grep FAIL "$T/check.$s" | head -5 | sed 's/^/# /'
	diag "$s: $(awk '{print $3}' "$T/check.$s" | sort | uniq -c | tr '\n' ' ')"
done
diag "crash points tried: $total"

# --- the same list for Python's mailbox and Dovecot ------------------------
DOVEADM=$(command -v doveadm)
if [ -z "$DOVEADM" ]; then
	skip "doveadm not installed"
else
	DV=$T/dv
	mkdir -p "$DV/mail" "$DV/run"
	cat > "$DV/dovecot.conf" <<CONF
mail_location = mbox:$DV/mail:INBOX=$DV/inbox:INDEX=MEMORY
base_dir = $DV/run
log_path = $DV/dovecot.log
first_valid_uid = 1
ssl = no
CONF
	if [ "$(id -u)" = 0 ]; then
		chmod 755 "$T"      # Dovecot refuses root: it reads as nobody
		chown -R nobody "$DV"
		AS="setpriv --reuid=$(id -u nobody) --regid=$(id -g nobody) --clear-groups"
	else
		AS=
	fi
	differ=0
	checked=0
	for f in $(md5sum "$T"/res/* | sort -u -k1,1 | awk '{print $2}'); do
		cp "$f" "$DV/inbox"
		[ -n "$AS" ] && chown nobody "$DV/inbox"
		$AS env -i PATH=/usr/bin:/bin HOME="$DV" USER=nobody "$DOVEADM" -c "$DV/dovecot.conf" \
			fetch 'hdr.message-id' mailbox INBOX all 2>>"$DV/err" |
			sed -n 's/^hdr.message-id: //p' > "$DV/d"
		python3 -c 'import mailbox, sys
for m in mailbox.mbox(sys.argv[1]): print(m["Message-ID"])' "$f" > "$DV/p"
		checked=$((checked + 1))
		if ! cmp -s "$DV/d" "$DV/p" || [ ! -s "$DV/p" ]; then
			differ=$((differ + 1))
			diag "differs: $f: $(tail -1 "$DV/err")"
		fi
	done
	is "$differ" 0 "Dovecot and Python's mailbox list the same messages ($checked distinct results)"
fi

# --- stale dotlock temporaries of the killed processes are swept -----------
ls -a "$T/box" | grep -q '^\.lk\.'; ok $? "crashes left .lk temporaries behind"
for f in "$T"/box/.lk.*; do touch -d '-2 minutes' "$f"; done
"$MT" lock "$M" write 0 >/dev/null 2>&1
ls -a "$T/box" | grep -q '^\.lk\.'; r=$?
[ $r -ne 0 ]; ok $? "the next write lock removed those of dead processes"
done_testing
