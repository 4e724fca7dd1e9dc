#!/bin/sh
# CREATE-SPECIAL-USE (RFC 6154 3): CREATE name (USE (\Attr)), the use shown
# by LIST (plain, SPECIAL-USE selection, RETURN (SPECIAL-USE)), kept across
# sessions, moved by RENAME, forgotten by DELETE; USEATTR for uses that
# cannot be given; bad syntax; wrong state.  (Dovecot 2.3 does not offer
# CREATE-SPECIAL-USE: nothing to compare with.)
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
O=$T_TMP/out
st() { awk -v t="$1" '$1 == t { print $2; exit }' "${2:-$O}"; }
lines() { awk -v t="$1" '/^\* LIST/ { l = l $0 "|"; next } $1 == t { print l; exit } /^[a-z]/ { l = "" }' "$O" | sed 's/|$//'; }
mkbox alice < /dev/null
imap > "$O" <<'IN'
a LOGIN alice alice-pw
a2 CAPABILITY
b CREATE Old (USE (\Archive))
c CREATE Brouillons (USE (\Drafts))
d CREATE All (USE (\All))
d2 CREATE Flagged (USE (\Flagged))
e CREATE X (USE (\Foo))
f CREATE Y (USE (\Sent \Trash))
g CREATE Z (USE ())
o CREATE Junkish (use (\junk))
i LIST "" *
j LIST (SPECIAL-USE) "" *
IN
grep -q '^\* CAPABILITY .* CREATE-SPECIAL-USE' "$O"; ok $? "CAPABILITY lists CREATE-SPECIAL-USE"
is "$(st b)$(st c)$(st o)" OKOKOK "CREATE with USE (\\Archive), (\\Drafts), lower case (\\junk)"
is "$(tagged d "$O" | cut -d' ' -f2-3)$(tagged d2 "$O" | cut -d' ' -f2-3)$(tagged e "$O" | cut -d' ' -f2-3)" \
	"NO [USEATTR]NO [USEATTR]NO [USEATTR]" "\\All, \\Flagged (virtual here) and an unknown use: NO [USEATTR]"
is "$(tagged f "$O" | cut -d' ' -f2-3)" "NO [USEATTR]" "two uses for one mailbox: NO [USEATTR]"
is "$(st g)" OK "USE (): a plain mailbox"
is "$(lines i)" '* LIST (\HasNoChildren) "/" "INBOX"|* LIST (\NoInferiors \Drafts) "/" "Brouillons"|* LIST (\NoInferiors \Junk) "/" "Junkish"|* LIST (\NoInferiors \Archive) "/" "Old"|* LIST (\NoInferiors) "/" "Z"' \
	"LIST shows the uses given at CREATE; refused CREATEs made nothing"
is "$(lines j)" '* LIST (\NoInferiors \Drafts) "/" "Brouillons"|* LIST (\NoInferiors \Junk) "/" "Junkish"|* LIST (\NoInferiors \Archive) "/" "Old"' \
	"LIST (SPECIAL-USE) selects them"
imap > "$O" <<'IN'
a LOGIN alice alice-pw
k RENAME Old Older
l DELETE Brouillons
m CREATE Brouillons
n LIST "" * RETURN (SPECIAL-USE)
p CREATE Older (USE (\Trash))
q CREATE Sent (USE (\Archive))
r LIST "" Sent
IN
is "$(lines n)" '* LIST (\HasNoChildren) "/" "INBOX"|* LIST (\NoInferiors) "/" "Brouillons"|* LIST (\NoInferiors \Junk) "/" "Junkish"|* LIST (\NoInferiors \Archive) "/" "Older"|* LIST (\NoInferiors) "/" "Z"' \
	"a new session: RENAME moved the use, DELETE forgot it"
grep -q '^p NO \[ALREADYEXISTS\]' "$O"; ok $? "CREATE of an existing name with USE: NO [ALREADYEXISTS], the use unchanged"
is "$(lines r)" '* LIST (\NoInferiors \Archive) "/" "Sent"' "a use given at CREATE wins over the name's default"
imap > "$O" <<'IN'
a CREATE X (USE (\Drafts))
b LOGIN alice alice-pw
c CREATE W (FOO (\Sent))
d CREATE W (USE \Sent)
e CREATE W (USE (Sent))
f CREATE W (USE (\Sent)
g CREATE W (USE (\Sent)) extra
h CREATE INBOX (USE (\Sent))
i LIST "" W
IN
is "$(st a)" BAD "before login: BAD"
is "$(st c)$(st d)$(st e)$(st f)$(st g)" BADBADBADBADBAD "unknown parameter, no list, no backslash, unclosed, trailing text: BAD"
is "$(st h)" NO "CREATE INBOX (USE ..): NO"
is "$(lines i)" "" "no W was made"
[ ! -e "$MAILDIR_A/.imap/special-use.tmp" ]; ok $? "no temporary file left"
is "$(stat -c %a "$MAILDIR_A/.imap/special-use")" 600 "the state file is private"
done_testing
