#!/bin/sh
# FETCH amplification (issue 10 item 4): for adversarial messages (repeated
# RFC 2231 sections, 100,000 parameters, 100,000 parts, deep multipart and
# message/rfc822 nesting) the reply to ENVELOPE BODYSTRUCTURE BODY[n.MIME]
# and imapd's peak memory stay linear in the message size: reply <= 2 x
# size + 256 KiB, and peak RSS above a small message's <= 8 x size.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
python3 - "$T_TMP" <<'PY'
import sys
d = sys.argv[1]
def w(n, body):
    open(d + '/' + n, 'wb').write(b'From: a@b.example\nTo: alice@example.test\nSubject: ' + n.encode() + b'\n' + body)
w('small', b'\nhello\n')
# 32 section-0 duplicates, then 31 big sections: each duplicate used to
# merge the whole list again (32 x the field)
big = b'A' * 130000
ct = b'Content-Type: application/octet-stream' + b';\n name*0=x' * 32 + b''.join(
    b';\n name*%d="%s"' % (i, big) for i in range(1, 32))
w('sections', b'MIME-Version: 1.0\n' + ct + b'\n\nx\n')
# 100,000 parameters in one field
w('params', b'MIME-Version: 1.0\nContent-Type: text/plain' +
  b''.join(b';\n p%d*%d=v%d' % (i % 50, i, i) for i in range(100000)) + b'\n\nx\n')
# 100,000 parts, each with a Content-Type with parameters
w('parts', b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n' +
  b'--x\nContent-Type: text/plain; name*0=a; name*0=b; name*1=c\n\n.\n' * 100000 + b'--x--\n')
# deep multipart and deep message/rfc822 nesting
deep = b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b0\n\n'
for i in range(5000):
    deep += b'--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n' % (i, i + 1)
w('deep', deep)
w('deeprfc', b'MIME-Version: 1.0\n' + b'Content-Type: message/rfc822\n\nFrom: x@y\nSubject: s\nMIME-Version: 1.0\n' * 50000 + b'\nbody\n')
PY
n=0
for m in small sections params parts deep deeprfc; do
	n=$((n + 1))
	deliver alice < "$T_TMP/$m"
	eval "msg_$m=$n"
done
# run_fetch N SECTION: one session; prints "reply_bytes maxrss_kb"
run_fetch() {
	printf 'a LOGIN alice alice-pw\r\nb EXAMINE INBOX\r\nc FETCH %s (ENVELOPE BODYSTRUCTURE BODY.PEEK[%s.MIME])\r\nd LOGOUT\r\n' "$1" "$2" > "$T_TMP/in"
	python3 - "$B/imapd" "$FCONF" "$T_TMP/in" "$T_TMP/out" <<'PY'
import resource, subprocess, sys, os
with open(sys.argv[3], 'rb') as i, open(sys.argv[4], 'wb') as o:
    subprocess.run([sys.argv[1], '-c', sys.argv[2]], stdin=i, stdout=o, timeout=120)
print(os.path.getsize(sys.argv[4]), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
set -- $(run_fetch "$msg_small" 1)
base_rss=$2
grep -q '^c OK' "$T_TMP/out"; ok $? "small message fetched (reply $1 bytes, peak $2 KiB)"
for m in sections params parts deep deeprfc; do
	eval "i=\$msg_$m"
	size=$(wc -c < "$T_TMP/$m")
	set -- $(run_fetch "$i" 1)
	grep -q '^c OK' "$T_TMP/out"; ok $? "$m: FETCH completes"
	[ "$1" -le $((2 * size + 262144)) ]
	ok $? "$m: reply $1 bytes for a $size-byte message (<= 2 x size + 256 KiB)"
	[ $(($2 - base_rss)) -le $((8 * size / 1024)) ]
	ok $? "$m: peak memory $2 KiB, $(($2 - base_rss)) KiB over a small message's (<= 8 x size)"
done
# the first of repeated attributes and sections wins; merged values are capped
set -- $(run_fetch "$msg_sections" 1)
v=$(grep -o '("name" {[0-9]*}' "$T_TMP/out" | head -1 | tr -dc 0-9)
[ -n "$v" ] && [ "$v" -le 8192 ]; ok $? "merged value capped at MIME_PARAM_VALUE_MAX (${v:-no} bytes)"
printf 'From: a@b\nMIME-Version: 1.0\nContent-Type: text/plain; name*0=x; name*0=y; name*1="zz"; name*1=w; Name=q; a=1; A=2\n\nx\n' | deliver alice
printf 'a LOGIN alice alice-pw\nb EXAMINE INBOX\nc FETCH %s BODYSTRUCTURE\n' $((n + 1)) | imap > "$T_TMP/out"
grep -q '("text" "plain" ("name" "xzz" "a" "1" "charset" "us-ascii")' "$T_TMP/out"
ok $? "duplicates dropped, first wins: name*0=x name*1=zz, a=1"
done_testing
