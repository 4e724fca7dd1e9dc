#!/bin/sh
# libmbox scanning, metadata and reading: the C unit tests t/unit/scan.c
# and t/unit/meta.c, their TAP lines renumbered into one plan.
. "$(dirname "$0")/lib/tap.sh"
export FACTEUR_SRC
tmpdir
for u in scan meta; do
	"$B/t/unit/$u" > "$T_TMP/$u.out" 2>&1
	rc=$?
	while IFS= read -r l; do
		case $l in
		"ok "*) ok 0 "$u: ${l#ok * - }" ;;
		"not ok "*) ok 1 "$u: ${l#not ok * - }" ;;
		"#"*) echo "$l" ;;
		esac
	done < "$T_TMP/$u.out"
	ok $rc "unit/$u exit status"
done
done_testing
