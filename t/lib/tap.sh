# TAP helpers for shell tests.  Source it: . "$FACTEUR_SRC/t/lib/tap.sh"
# Environment from `make check`: FACTEUR_BUILD (binaries), FACTEUR_SRC (tree).
: "${FACTEUR_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${FACTEUR_BUILD:=$FACTEUR_SRC/build}"
B=$FACTEUR_BUILD
T_N=0
T_FAIL=0
ok() { # ok COND-STATUS "name"
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ]; then echo "ok $T_N - $2"; else echo "not ok $T_N - $2"; T_FAIL=$((T_FAIL + 1)); fi
}
# is GOT EXPECTED NAME
is() {
	T_N=$((T_N + 1))
	if [ "$1" = "$2" ]; then echo "ok $T_N - $3"; else
		echo "not ok $T_N - $3"; T_FAIL=$((T_FAIL + 1))
		printf '%s\n' "#   got:      $1" "#   expected: $2" | head -n 40
	fi
}
# same_file GOT_FILE EXPECTED_FILE NAME: byte comparison, diff shown on failure
same_file() {
	T_N=$((T_N + 1))
	if cmp -s "$1" "$2"; then echo "ok $T_N - $3"; else
		echo "not ok $T_N - $3"; T_FAIL=$((T_FAIL + 1))
		diff -a -u "$2" "$1" | head -n 60 | sed 's/^/# /'
	fi
}
diag() { echo "# $*"; }
# lacks FILE PATTERN NAME: FILE exists and no line matches PATTERN (grep
# -E); a missing file fails, unlike `grep ...; ok $((!$?))`
lacks() {
	if [ -e "$1" ] && ! grep -Eq -- "$2" "$1"; then ok 0 "$3"; else ok 1 "$3"; fi
}
# lacks_in PATTERN NAME TEXT: the same for TEXT, which must not be empty
# (not at the end of a pipeline: the count would stay in the subshell)
lacks_in() {
	if [ -n "$3" ] && ! printf '%s\n' "$3" | grep -Eq -- "$1"; then ok 0 "$2"; else ok 1 "$2"; fi
}
skip() { T_N=$((T_N + 1)); echo "ok $T_N # SKIP $*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
# sanitized: is $B an ASan+UBSan build (make SANITIZE=1)?
sanitized() { case $B in *build-san*) return 0 ;; esac; return 1; }
need_root() { [ "$(id -u)" = 0 ] || skip_all "needs root ($1)"; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || skip_all "$1 not installed"; }
done_testing() { echo "1..$T_N"; [ "$T_FAIL" -eq 0 ]; }
# sub_tap LABEL CMD...: runs a TAP producer (a C unit test) and folds its
# results into ours, each name prefixed by LABEL; its exit status and plan
# are one more test.
sub_tap() {
	label=$1; shift
	"$@" > "$T_TMP/sub.out" 2>&1; rc=$?
	plan=
	while IFS= read -r line; do
		case $line in
		"ok "*"# SKIP"*) skip "$label: ${line#ok }" ;;
		"ok "*) ok 0 "$label: ${line#ok [0-9]* - }" ;;
		"not ok "*) ok 1 "$label: ${line#not ok [0-9]* - }" ;;
		1..*) plan=${line#1..} ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done < "$T_TMP/sub.out"
	[ "$rc" -eq 0 ] && [ -n "$plan" ]; ok $? "$label: exit status 0 and a plan"
}
# A private temporary directory removed at exit.
tmpdir() { T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/facteur-t.XXXXXX"); trap 'rm -rf "$T_TMP"' EXIT; }
