#!/bin/sh
# libmime's ENVELOPE, BODYSTRUCTURE and BODY of every corpus message
# t/mime/NAME.eml against t/mime/NAME.expected, written by hand from the
# RFCs (t/mime/README, t/mime/expected.py).  One mimedump run for all.
. "${FACTEUR_SRC:-$(dirname "$0")/..}/t/lib/tap.sh"
need_cmd python3
[ -x "$B/t/bin/mimedump" ] || skip_all "build first: $B/t/bin/mimedump"
tmpdir
n=$(ls "$FACTEUR_SRC"/t/mime/*.eml | wc -l)
e=$(ls "$FACTEUR_SRC"/t/mime/*.expected | wc -l)
[ "$n" -ge 60 ] && [ "$e" -eq "$n" ]; ok $? "every one of the $n corpus messages has a .expected ($e)"
python3 "$FACTEUR_SRC/t/mime/expected.py" "$B" "$FACTEUR_SRC/t/mime" > "$T_TMP/out" 2>"$T_TMP/err"
ok $? "expected.py ran"
[ "$(grep -c '^ok ' "$T_TMP/out")" -ge $((3 * n)) ]; ok $? "three comparisons per message"
while IFS= read -r line; do
	case $line in
	"ok "*) T_N=$((T_N + 1)); printf 'ok %s - %s\n' $T_N "${line#ok }" ;;
	"not ok "*) T_N=$((T_N + 1)); T_FAIL=$((T_FAIL + 1)); printf 'not ok %s - %s\n' $T_N "${line#not ok }" ;;
	*) printf '%s\n' "$line" ;;
	esac
done < "$T_TMP/out"
sed 's/^/# /' "$T_TMP/err" | head -20
done_testing
