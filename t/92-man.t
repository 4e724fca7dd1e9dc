#!/bin/sh
# The man pages (issue 17): each one passes mandoc -T lint and groff -ww
# without a message, facteur.conf(5), README and etc/facteur.conf list exactly
# the keys of lib/conf.c (the TLS and relay keys too), each server's page
# names its program, and README points to them.
. "$(dirname "$0")/lib/tap.sh"
S=$FACTEUR_SRC
tmpdir
have_mandoc=$(command -v mandoc >/dev/null 2>&1 && echo 1)
have_groff=$(command -v groff >/dev/null 2>&1 && echo 1)
[ -n "$have_mandoc$have_groff" ] || skip_all "neither mandoc nor groff installed"
pages=$(ls "$S"/man/*.[1-8] 2>/dev/null)
for want in facteur.7 facteur.conf.5 smtpd.8 pop3d.8 imapd.8 sendmail.8; do
	ok "$([ -f "$S/man/$want" ]; echo $?)" "man/$want exists"
done
for p in $pages; do
	n=${p##*/}
	if [ -n "$have_mandoc" ]; then
		mandoc -T lint -W style "$p" > "$T_TMP/lint" 2>&1
		ok "$([ ! -s "$T_TMP/lint" ]; echo $?)" "$n: mandoc -T lint -W style silent"
		sed 's/^/# /' "$T_TMP/lint"
	fi
	if [ -n "$have_groff" ]; then
		groff -ww -z -man "$p" > "$T_TMP/lint" 2>&1
		ok "$([ ! -s "$T_TMP/lint" ]; echo $?)" "$n: groff -ww -z silent"
		sed 's/^/# /' "$T_TMP/lint"
	fi
	# .TH NAME SECTION matches the file name
	th=$(sed -n 's/^\.TH \([^ ]*\) \([0-9]\) .*/\1.\2/p' "$p" | tr 'A-Z' 'a-z')
	is "$th" "$n" "$n: .TH names it"
done
# bad input: the lint does complain
printf '.TH X 1\n.SH NAME\nx \\- y\n.BOGUS\n.SH\n' > "$T_TMP/bad.1"
if [ -n "$have_mandoc" ]; then
	ok "$(mandoc -T lint "$T_TMP/bad.1" 2>&1 | grep -q .; echo $?)" "mandoc -T lint reports a broken page"
fi
# The keys of lib/conf.c's table, facteur.conf(5)'s entries (.TP then .B
# key), README's table rows (| `key` |) and etc/facteur.conf's (#key =) must
# be the same sets, so that they cannot drift apart.
conf_keys() { sed -n 's/^[[:space:]]*{"\([a-z_0-9]*\)", K_.*/\1/p' "$1" | sort -u; }
man_keys() { awk 'tp && /^\.B [a-z_0-9]+$/ { print $2 } { tp = ($0 == ".TP") }' "$1" | sort -u; }
readme_keys() { sed -n 's/^| `\([a-z_0-9]*\)` |.*/\1/p' "$1" | sort -u; }
example_keys() { sed -n 's/^#\{0,1\}\([a-z_0-9]*\) *=.*/\1/p' "$1" | sort -u; }
# same_keys NAME WANT-FILE GOT-FILE: diag what differs
same_keys() {
	if cmp -s "$2" "$3"; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diff "$2" "$3" | sed -n 's/^< /#   missing: /p; s/^> /#   not a key of lib\/conf.c: /p'
	fi
}
conf_keys "$S/lib/conf.c" > "$T_TMP/keys"
n=$(wc -l < "$T_TMP/keys")
ok "$([ "$n" -ge 40 ]; echo $?)" "lib/conf.c's key table read ($n keys)"
man_keys "$S/man/facteur.conf.5" > "$T_TMP/man.keys"
same_keys "facteur.conf(5) documents exactly the keys of lib/conf.c" "$T_TMP/keys" "$T_TMP/man.keys"
readme_keys "$S/README.md" > "$T_TMP/readme.keys"
same_keys "README's key tables list exactly the keys of lib/conf.c" "$T_TMP/keys" "$T_TMP/readme.keys"
example_keys "$S/etc/facteur.conf" > "$T_TMP/example.keys"
same_keys "etc/facteur.conf shows exactly the keys of lib/conf.c" "$T_TMP/keys" "$T_TMP/example.keys"
# the comparison fails when a key is left out, or a stale one stays
grep -v '^\.B smtp_helo_name$' "$S/man/facteur.conf.5" > "$T_TMP/short.5"
man_keys "$T_TMP/short.5" > "$T_TMP/short.keys"
ok "$(! cmp -s "$T_TMP/keys" "$T_TMP/short.keys"; echo $?)" "a page missing smtp_helo_name is caught"
{ cat "$S/README.md"; echo '| `no_such_key` | 1 | x | x |'; } > "$T_TMP/stale.md"
readme_keys "$T_TMP/stale.md" > "$T_TMP/stale.keys"
ok "$(! cmp -s "$T_TMP/keys" "$T_TMP/stale.keys"; echo $?)" "a README row for a key that no longer exists is caught"
r=0
for p in smtpd pop3d imapd sendmail; do grep -q "^\.B /usr/libexec/facteur/$p\|^\.B $p\$" "$S/man/$p.8" || r=1; done
ok $r "each program's page names it"
r=0
for p in facteur.7 facteur.conf.5 smtpd.8 pop3d.8 imapd.8 sendmail.8; do
	n=${p%.*}; s=${p##*.}
	grep -q "$n($s)" "$S/README.md" || { r=1; diag "README.md does not point to $n($s)"; }
done
ok $r "README.md points to the man pages"
# rendered, the pages read: man renders each without a warning
if command -v man >/dev/null 2>&1; then
	r=0
	for p in $pages; do
		MANWIDTH=80 man --warnings -l "$p" 2>"$T_TMP/w" >/dev/null || r=1
		[ -s "$T_TMP/w" ] && { r=1; sed 's/^/# /' "$T_TMP/w"; }
	done
	ok $r "man --warnings -l: every page renders without a warning"
fi
done_testing
