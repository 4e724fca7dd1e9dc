#!/bin/sh
# lib/auth.c with a passwd-file: hash schemes made by t/bin/mkhash, malformed
# lines, case, uid rules.  As root it runs twice: as root and as nobody.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
tmpdir

h() { "$B/t/bin/mkhash" "$@" || echo "mkhash-failed"; }

# mkfixture DIR UID GID: the unit test knows these line numbers
mkfixture() {
	d=$1 u=$2 g=$3
	mkdir -p "$d/home"
	{
	echo "# facteur test passwd-file"                                    # 1
	echo "   # indented comment"                                         # 2
	echo ""                                                              # 3
	echo "alice:$(h alice-pw '$y$'):$u:$g::$d/home"                       # 4
	echo "bob:$(h bob-pw '$6$'):$u:$g::$d/home:/bin/sh:extra:fields"      # 5
	printf 'carol:%s:%s:%s:Carol C:%s\r\n' "$(h carol-pw '$2b$')" "$u" "$g" "$d/home" # 6
	echo "dave:{SHA512-CRYPT}$(h dave-pw '$6$'):$u:$g::$d/home"           # 7
	echo "broken:xyz"                                                    # 8
	echo "eve:$(h eve-pw):12x:$g::$d/home"                               # 9
	echo "frank:$(h frank-pw):$u:$g::relative"                           # 10
	echo "other:$(h other-pw):$((u + 1)):$g::$d/home"                    # 11
	echo "rooty:$(h rooty-pw):0:0::$d/home"                              # 12
	echo "legacy:$(h legacy-pw '$1$'):$u:$g::$d/home"                    # 13
	echo "locked:!$(h locked-pw):$u:$g::$d/home"                         # 14
	echo "alice:$(h second-pw):$u:$g::$d/home2"                          # 15
	echo "Mixed:$(h mixed-pw):$u:$g::$d/home"                            # 16
	echo ":$(h empty-pw):$u:$g::$d/home"                                 # 17
	printf 'long:%05000d:%s:%s::%s\n' 0 "$u" "$g" "$d/home"              # 18
	printf 'nul\000x:%s:%s:%s::%s\n' "$(h x)" "$u" "$g" "$d/home"        # 19
	printf '%0300d:%s:%s:%s::%s\n' 0 "$(h x)" "$u" "$g" "$d/home"        # 20
	echo "zed:$(h zed-pw):$u:$g::$d/home"                                # 21
	} > "$d/passwd"
}

[ -x "$B/t/unit/auth" ] && [ -x "$B/t/bin/mkhash" ] || { echo "Bail out! build first"; exit 1; }

if [ "$(id -u)" = 0 ]; then
	mkfixture "$T_TMP/root" 4242 4242
	lacks "$T_TMP/root/passwd" mkhash-failed "mkhash made every hash"
	sub_tap root "$B/t/unit/auth" passwd "$T_TMP/root/passwd" "$T_TMP/root/log" 4242 4242
	# the non-root rules, for real: as nobody with a fixture of nobody's uid
	nu=$(id -u nobody) ng=$(id -g nobody)
	chmod 755 "$T_TMP"
	mkdir "$T_TMP/nobody"
	mkfixture "$T_TMP/nobody" "$nu" "$ng"
	chown -R nobody "$T_TMP/nobody"
	if ! command -v setpriv >/dev/null 2>&1 ||
	   ! setpriv --reuid="$nu" --regid="$ng" --clear-groups test -x "$B/t/unit/auth"; then
		skip "nobody cannot run $B/t/unit/auth (setpriv missing or the build dir is private)"
	else
		sub_tap nobody setpriv --reuid="$nu" --regid="$ng" --clear-groups \
			"$B/t/unit/auth" passwd "$T_TMP/nobody/passwd" "$T_TMP/nobody/log" "$nu" "$ng"
	fi
else
	mkfixture "$T_TMP" "$(id -u)" "$(id -g)"
	lacks "$T_TMP/passwd" mkhash-failed "mkhash made every hash"
	sub_tap user "$B/t/unit/auth" passwd "$T_TMP/passwd" "$T_TMP/log" "$(id -u)" "$(id -g)"
fi
# issue 16: the servers do not load libpam, libcrypt or libresolv at each
# exec; lib/dyn.h loads them at first use (the checks above went through it)
# (a sanitizer build links them on purpose: see the Makefile)
for p in smtpd pop3d imapd sendmail; do
	readelf -d "$B/$p" > "$T_TMP/needed" 2>&1
	if grep -q 'Shared library: \[libasan' "$T_TMP/needed"; then
		skip "$p: a sanitizer build links libpam, libcrypt, libresolv (Makefile)"
		continue
	fi
	grep -q NEEDED "$T_TMP/needed" && ! grep -Eq 'Shared library: \[lib(pam|crypt|resolv)\.' "$T_TMP/needed"
	ok $? "$p: libpam, libcrypt, libresolv not linked (dlopen()ed when needed)"
done
done_testing
