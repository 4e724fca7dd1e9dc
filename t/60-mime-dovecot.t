#!/bin/sh
# libmime's ENVELOPE, BODY, BODYSTRUCTURE and BODY[section] on the corpus
# t/mime/*.eml, compared with what Dovecot's imap serves for the same bytes
# (t/mime/compare.py; deliberate differences are listed and explained there).
. "${FACTEUR_SRC:-$(dirname "$0")/..}/t/lib/tap.sh"
need_cmd python3
[ -x /usr/lib/dovecot/imap ] || skip_all "dovecot-imapd not installed"
[ -x "$B/t/bin/mimedump" ] || skip_all "build first: $B/t/bin/mimedump"
tmpdir
n=$(ls "$FACTEUR_SRC"/t/mime/*.eml | wc -l)
[ "$n" -ge 60 ]; ok $? "corpus has at least 60 messages ($n)"
python3 "$FACTEUR_SRC/t/mime/compare.py" "$B" "$FACTEUR_SRC/t/mime" "$T_TMP" > "$T_TMP/out" 2>"$T_TMP/err"
ok $? "compare.py ran"
grep -q '^ok ' "$T_TMP/out"; ok $? "Dovecot answered"
while IFS= read -r line; do
	case $line in
	"ok "*) T_N=$((T_N + 1)); printf 'ok %s - %s\n' $T_N "${line#ok }" ;;
	"not ok "*) T_N=$((T_N + 1)); T_FAIL=$((T_FAIL + 1)); printf 'not ok %s - %s\n' $T_N "${line#not ok }" ;;
	*) printf '%s\n' "$line" ;;
	esac
done < "$T_TMP/out"
sed 's/^/# /' "$T_TMP/err" | head -20
done_testing
