#!/bin/sh
# Robustness: every corpus message truncated at every 97th byte, plus
# hostile inputs (deep nesting past MIME_DEPTH_MAX, many parts, NUL, bare
# CR, unterminated quotes and comments) go through parse, ENVELOPE,
# BODYSTRUCTURE, sections and search without a crash.  Under
# `make check SANITIZE=1` ASan/UBSan abort on any bad read.
. "${FACTEUR_SRC:-$(dirname "$0")/..}/t/lib/tap.sh"
[ -x "$B/t/bin/mimedump" ] || skip_all "build first: $B/t/bin/mimedump"
tmpdir
D=$B/t/bin/mimedump
run_all() { # FILE: 0 if every operation exits 0
	"$D" tree "$1" >/dev/null 2>&1 || { echo "# tree failed on $1"; return 1; }
	"$D" date "$1" >/dev/null 2>&1
	# envelope, body, bodystructure and the sections in one run
	"$D" all -s "" -s 1 -s 2.1 -s 1.MIME -s 2.HEADER -s TEXT -s "HEADER.FIELDS (From)" "$1" >/dev/null 2>&1 ||
		{ echo "# envelope, body, bodystructure or a section failed on $1"; return 1; }
	"$D" search "$1" text "zz" >/dev/null 2>&1 || return 1
	"$D" search "$1" body "é" >/dev/null 2>&1 || return 1
}
# one run for the corpus; a crash (ASan abort) loses the lines of the
# messages after it, which then fail here
"$D" robust "$FACTEUR_SRC"/t/mime/*.eml > "$T_TMP/robust" 2>"$T_TMP/robust.err"
ok $? "mimedump robust exits 0 on the corpus"
for f in "$FACTEUR_SRC"/t/mime/*.eml; do
	line=$(grep -F " ok $f" "$T_TMP/robust" | head -1)
	[ -n "$line" ]; ok $? "$(basename "$f") truncated at every 97th byte (${line%% *} prefixes)"
done
sed 's/^/# /' "$T_TMP/robust.err" | head -20
# hostile messages
python3 - "$T_TMP" <<'PY'
import sys
d = sys.argv[1]
def w(n, s): open(d + '/' + n, 'wb').write(s)
deep = b'Content-Type: multipart/mixed; boundary=b0\r\n\r\n'
for i in range(150):
    deep += b'--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n' % (i, i + 1)
w('deep', deep)
rfc = b''.join(b'Content-Type: message/rfc822\r\n\r\n' for _ in range(150)) + b'body\r\n'
w('deeprfc', rfc)
many = b'Content-Type: multipart/mixed; boundary=x\r\n\r\n' + b'--x\r\n\r\na\r\n' * 12000 + b'--x--\r\n'
w('many', many)
w('nul', b'From: a\0b@c\r\nSubject: \0\r\nContent-Type: text/plain; charset="\0\r\n\r\n\0\0\0')
w('quotes', b'From: "unterminated <a@b>\r\nTo: (open comment a@b\r\nCc: <@route\r\nContent-Type: text/plain; name="x\r\nDate: Mon, 32 Foo 99999 99:99\r\n\r\nx')
w('cr', b'From: a@b\rSubject: x\r\rbody\r')
w('empty', b'')
w('ew', b'Subject: =?utf-8?B?====?= =?x?Q?=ZZ?= =?utf-8?q?=?=\r\n\r\n')
PY
for f in deep deeprfc many nul quotes cr empty ew; do
	# (the big ones are not cut: 1000 prefixes of 10000 parts is only slow)
	case $f in many|deep) run_all "$T_TMP/$f" ;; *) run_all "$T_TMP/$f" && "$D" robust "$T_TMP/$f" >/dev/null ;; esac
	ok $? "hostile input: $f"
done
n=$("$D" tree "$T_TMP/many" | wc -l)
[ "$n" -le 10000 ]; ok $? "part count bounded by MIME_PARTS_MAX ($n)"
n=$("$D" tree "$T_TMP/deeprfc" | wc -l)
[ "$n" -le 101 ]; ok $? "depth bounded by MIME_DEPTH_MAX ($n)"
"$D" bodystructure "$T_TMP/deeprfc" | python3 -c 'import sys; s=sys.stdin.read(); sys.exit(0 if s.count("(") == s.count(")") else 1)'
ok $? "BODYSTRUCTURE past the depth limit is still balanced"
done_testing
