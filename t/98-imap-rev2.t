#!/bin/sh
# IMAP4rev2 (RFC 9051) beside IMAP4rev1: ENABLE IMAP4rev2, then no \Recent
# and no RECENT response, SEARCH answered with ESEARCH, LIST in the SELECT
# response, OK [CLOSED], UID in unsolicited FETCH, NO [HASCHILDREN], UTF-8
# mailbox names (stored as modified UTF-7, so rev1 sessions and Dovecot see
# the same folders); STATUS SIZE and DELETED (RFC 8438, RFC 9051 6.3.11)
# and SEARCHRES (RFC 5182) in both modes; a rev1 session unchanged; bad
# input; a raw-socket client in python; side by side with Dovecot (2.3 has
# no IMAP4rev2: the rev1 parts, STATUS=SIZE and SEARCHRES).
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
O=$T_TMP/out
mkbox alice < /dev/null
for i in 1 2 3 4 5; do msg $i | as_user alice "$B/t/bin/mboxtool" append "$SPOOL/alice" > /dev/null; done
st() { awk -v t="$1" '$1 == t { print $2; exit }' "${2:-$O}"; }
# untagged lines between the previous tagged reply and TAG's, joined by "|"
resp() { awk -v t="$1" '$1 == t { exit } /^[^*]/ { r = ""; next } { r = r (r == "" ? "" : "|") $0 } END { print r }' "${2:-$O}"; }
esr() { grep "^\\* ESEARCH (TAG \"$1\")" "${2:-$O}" | tr '\n' '|' | sed 's/|$//'; }

# --- capability, ENABLE ------------------------------------------------------------
imap > "$O" <<'IN'
a CAPABILITY
b ENABLE IMAP4rev2
c LOGIN alice alice-pw
d ENABLE IMAP4rev2
e ENABLE IMAP4rev2
f ENABLE CONDSTORE IMAP4rev2 X-UNKNOWN
IN
grep -q '^\* CAPABILITY IMAP4rev1 IMAP4rev2 .* STATUS=SIZE SEARCHRES' "$O"; ok $? "CAPABILITY: IMAP4rev2 beside IMAP4rev1, STATUS=SIZE, SEARCHRES"
grep -q '^\* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 ' "$O"; ok $? "the greeting too"
grep -q '^c OK \[CAPABILITY IMAP4rev1 IMAP4rev2 ' "$O"; ok $? "and the OK of LOGIN"
is "$(st b)" BAD "ENABLE before login: BAD (RFC 5161 3.1: authenticated state only)"
is "$(resp d)" "* ENABLED IMAP4rev2" "ENABLE IMAP4rev2: * ENABLED IMAP4rev2"
is "$(resp e)" "* ENABLED" "a second ENABLE IMAP4rev2: nothing newly enabled"
is "$(resp f)" "* ENABLED CONDSTORE" "unknown names are ignored, rev2 already on"

# --- rev1 stays as it was ------------------------------------------------------------
imap > "$O" <<'IN'
a LOGIN alice alice-pw
b EXAMINE INBOX
c FETCH 1 FLAGS
d SEARCH ALL
IN
is "$(resp b | tr '|' '\n' | grep -c 'RECENT\|UNSEEN')" 2 "rev1: EXAMINE has * n RECENT and OK [UNSEEN n]"
is "$(resp c)" '* 1 FETCH (FLAGS (\Recent))' "rev1: \\Recent in FETCH FLAGS"
is "$(resp d)" '* SEARCH 1 2 3 4 5' "rev1: SEARCH gives * SEARCH"

# --- rev2: SELECT, \Recent, ESEARCH ---------------------------------------------------
mkfolder alice Archive < /dev/null
SZ=$(printf 'a LOGIN alice alice-pw\nb EXAMINE INBOX\nc FETCH 1:* RFC822.SIZE\n' | imap |
	awk '/RFC822.SIZE/ { gsub(/\)/, ""); n += $NF } END { print n }')
imap > "$O" <<'IN'
a LOGIN alice alice-pw
b ENABLE IMAP4rev2
c SELECT INBOX
d FETCH 1:2 FLAGS
e SEARCH ALL
f UID SEARCH DELETED
g SEARCH RETURN (COUNT) ALL
h SEARCH RECENT
h2 SEARCH NEW
h3 SEARCH OLD
i STORE 2 +FLAGS (\Deleted)
j SELECT Archive
k STATUS INBOX (MESSAGES RECENT UNSEEN DELETED SIZE)
l LIST "" % RETURN (STATUS (SIZE DELETED MESSAGES))
IN
is "$(resp c | sed 's/|\* OK \[UIDVALIDITY [0-9]*\] UIDs valid//')" '* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)|* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.|* 5 EXISTS|* LIST () "/" "INBOX"|* OK [UIDNEXT 6] Predicted next UID' \
	"rev2 SELECT: no RECENT, no UNSEEN, * LIST () \"/\" INBOX (RFC 9051 6.3.2)"
is "$(resp d)" '* 1 FETCH (FLAGS ())|* 2 FETCH (FLAGS ())' "rev2: no \\Recent in FETCH FLAGS"
is "$(resp e)" '* ESEARCH (TAG "e") ALL 1:5' "rev2: SEARCH answered with ESEARCH"
is "$(resp f)" '* ESEARCH (TAG "f") UID' "rev2: an empty UID SEARCH: * ESEARCH (TAG) UID"
is "$(resp g)" '* ESEARCH (TAG "g") COUNT 5' "rev2: RETURN options as before"
is "$(resp h)|$(resp h2)|$(resp h3)" '* ESEARCH (TAG "h") ALL 1:5|* ESEARCH (TAG "h2") ALL 1:5|* ESEARCH (TAG "h3")' \
	"RECENT/NEW/OLD still accepted, as Dovecot does (this session's new messages)"
is "$(resp j | cut -d'|' -f1)" '* OK [CLOSED] Previous mailbox closed.' "rev2: OK [CLOSED] when SELECT closes the previous mailbox"
grep -q '^\* LIST () "/" "Archive"' "$O"; ok $? "rev2 SELECT of a folder: its LIST"
is "$(resp k)" "* STATUS \"INBOX\" (MESSAGES 5 RECENT 0 UNSEEN 5 DELETED 1 SIZE $SZ)" "STATUS DELETED and SIZE (the sum of RFC822.SIZE)"
grep -q "^\\* STATUS \"INBOX\" (MESSAGES 5 DELETED 1 SIZE $SZ)" "$O"; ok $? "LIST ... RETURN (STATUS (SIZE DELETED ..))"
imap > "$O" <<'IN'
a LOGIN alice alice-pw
b SELECT INBOX
c STATUS Archive (SIZE MESSAGES)
d STATUS INBOX (DELETED)
IN
is "$(resp c)" '* STATUS "Archive" (MESSAGES 0 SIZE 0)' "rev1 too: STATUS SIZE (STATUS=SIZE, RFC 8438), of an empty mailbox"
is "$(st d)" BAD "rev1: STATUS DELETED is BAD, as in Dovecot 2.3 (an IMAP4rev2 item)"

# unsolicited FETCH: with UID in rev2 (RFC 9051 7.5.2)
sess_start imapd s 3
say 3 "a LOGIN alice alice-pw" "b ENABLE IMAP4rev2" "c SELECT INBOX"
expect "^c OK" s
as_user alice "$B/t/bin/mboxtool" setflags "$SPOOL/alice" 3 ROF > /dev/null
msg 6 | as_user alice "$B/t/bin/mboxtool" append "$SPOOL/alice" > /dev/null
say 3 "d NOOP"
expect "^d OK" s
say 3 "e LOGOUT"
expect "^e OK" s
sess_end s 3
nocr < "$T_TMP/s.out" > "$T_TMP/s.txt"
grep -q '^\* 3 FETCH (UID 3 FLAGS (\\Flagged \\Seen))' "$T_TMP/s.txt"; ok $? "rev2: a flag change made elsewhere comes with UID"
is "$(resp d "$T_TMP/s.txt" | grep -c RECENT)" 0 "rev2: new mail without * n RECENT"
grep -q '^\* 6 EXISTS' "$T_TMP/s.txt"; ok $? "new mail: * 6 EXISTS"

# --- SEARCHRES (RFC 5182) ---------------------------------------------------------------
imap > "$O" <<'IN'
a LOGIN alice alice-pw
b SELECT INBOX
c FETCH $ FLAGS
d SEARCH RETURN (SAVE) 2:4
e FETCH $ UID
f UID SEARCH RETURN (SAVE MIN MAX) ALL
g FETCH $ UID
h SEARCH RETURN (SAVE MIN) 3:5
i UID FETCH $ UID
j SEARCH RETURN (SAVE COUNT MIN) 3:4
k SEARCH $
l STORE 3 +FLAGS (\Deleted)
m EXPUNGE
n FETCH $ UID
o SEARCH RETURN (SAVE) UID $ NOT 2
p SEARCH UID $
q UID COPY $ Archive
r SEARCH RETURN (SAVE) BADKEY
s FETCH $ UID
t SEARCH RETURN (SAVE) 1
u UNSELECT
v SELECT INBOX
w FETCH $ UID
x UID EXPUNGE $
IN
is "$(resp c)" "" "FETCH \$ with nothing saved: the empty set, no error"
is "$(st c)" OK "... and OK"
is "$(resp d)" "" "SEARCH RETURN (SAVE): no ESEARCH"
is "$(resp e)" '* 2 FETCH (UID 2)|* 3 FETCH (UID 3)|* 4 FETCH (UID 4)' "FETCH \$: the saved messages"
is "$(resp f)|$(resp g)" '* ESEARCH (TAG "f") UID MIN 1 MAX 6|* 1 FETCH (UID 1)|* 6 FETCH (UID 6)' "SAVE with MIN MAX: only those two are saved"
is "$(resp i)" '* 3 FETCH (UID 3)' "SAVE with MIN alone: the minimum"
is "$(resp j)|$(resp k)" '* ESEARCH (TAG "j") MIN 3 COUNT 2|* SEARCH 3 4' "SAVE with COUNT and MIN: every match"
is "$(resp n)" '* 2 FETCH (UID 4)' "an expunged message leaves the saved result"
is "$(resp o)|$(resp p)" '|* SEARCH' "\$ in SEARCH UID refers to the previous result, then the new one is saved"
is "$(st q)" OK "UID COPY \$ (empty)"
is "$(st r)" BAD "SEARCH RETURN (SAVE) with a bad key: BAD"
is "$(resp s)" "" "... and \$ is empty after a failed SAVE"
is "$(resp w)" "" "UNSELECT/SELECT empties \$"
is "$(st x)" OK "UID EXPUNGE \$"
imap > "$O" <<'IN'
a LOGIN alice alice-pw
b SELECT INBOX
c FETCH $,1 UID
d FETCH 1:$ UID
e SEARCH RETURN (SAVE SAVE) ALL
f SORT RETURN (SAVE) (DATE) UTF-8 ALL
g FETCH $$ UID
h SEARCH RETURN (SAVE) ALL
i UID SEARCH RETURN (SAVE ALL) UID 1:4
j FETCH $ UID
IN
is "$(st c)$(st d)$(st e)$(st f)$(st g)" BADBADBADBADBAD "\$ with other numbers, twice, SAVE twice, SORT RETURN (SAVE): BAD"
is "$(resp i)|$(resp j)" '* ESEARCH (TAG "i") UID ALL 1,4|* 1 FETCH (UID 1)|* 2 FETCH (UID 4)' "SAVE with ALL: the response and the saved result"

# --- UTF-8 mailbox names ---------------------------------------------------------------
{ cat; printf 'm CREATE "bad\377name"\nm2 CREATE "\355\240\200"\nm3 CREATE "\300\257"\n'; } > "$T_TMP/in" <<'IN'
a LOGIN alice alice-pw
b ENABLE IMAP4rev2
c CREATE "Réunions"
d CREATE "A&B"
d2 CREATE "😀"
e CREATE "日本語/子"
f LIST "" *
g STATUS "Réunions" (MESSAGES)
h RENAME "Réunions" "Procès-verbaux"
i APPEND "Procès-verbaux" {12}
Subject: x

j SELECT "Procès-verbaux"
k LIST "" "Pro%"
l DELETE "日本語"
n CREATE "&AOk-"
o SELECT "R&AOk-unions"
p LIST "" "*è*"
IN
imap < "$T_TMP/in" > "$O"
is "$(st c)$(st d)$(st e)" OKOKOK "CREATE with UTF-8 names and &"
ls "$MAILDIR_A" > "$T_TMP/ls"
grep -qx 'Proc&AOg-s-verbaux' "$T_TMP/ls"; ok $? "stored in modified UTF-7, as rev1 clients and Dovecot expect"
grep -qx 'A&-B' "$T_TMP/ls"; ok $? "& stored as &-"
grep -qx '&ZeVnLIqe-' "$T_TMP/ls"; ok $? "CJK stored as &ZeVnLIqe-"
grep -qx '&2D3eAA-' "$T_TMP/ls"; ok $? "outside the BMP: a UTF-16 surrogate pair, &2D3eAA-"
grep -q '^\* LIST (\\NoInferiors) "/" "😀"$' "$O"; ok $? "... and listed back in UTF-8"
grep -q '^\* LIST (\\NoInferiors) "/" "Réunions"$' "$O"; ok $? "LIST shows UTF-8, quoted"
grep -q '^\* LIST (\\Noselect \\HasChildren) "/" "日本語"$' "$O"; ok $? "LIST: a UTF-8 parent"
grep -q '^\* LIST (\\NoInferiors) "/" "日本語/子"$' "$O"; ok $? "LIST: its UTF-8 child"
grep -q '^\* LIST (\\NoInferiors) "/" "A&B"$' "$O"; ok $? "LIST: & as it is"
is "$(resp g)" '* STATUS "Réunions" (MESSAGES 0)' "STATUS of a UTF-8 name"
is "$(st h)$(st i)" OKOK "RENAME, APPEND to UTF-8 names"
grep -q '^j OK' "$O" && grep -q '^\* LIST () "/" "Procès-verbaux"$' "$O"; ok $? "SELECT a UTF-8 name: its LIST in UTF-8"
is "$(resp k)" '* LIST (\NoInferiors) "/" "Procès-verbaux"' "a LIST pattern in UTF-8"
is "$(tagged l "$O" | cut -d' ' -f2-3)" "NO [HASCHILDREN]" "rev2 DELETE of a mailbox with children: NO [HASCHILDREN] (RFC 9051 7.1)"
is "$(tagged m "$O" | cut -d' ' -f2-3)" "NO [CANNOT]" "invalid UTF-8 in a name: NO [CANNOT]"
is "$(tagged m2 "$O" | cut -d' ' -f2-3)$(tagged m3 "$O" | cut -d' ' -f2-3)" "NO [CANNOT]NO [CANNOT]" "a UTF-8 surrogate, an overlong '/': NO [CANNOT]"
is "$(st n)" OK "rev2: &AOk- is a plain name now (stored &-AOk-)"
ls "$MAILDIR_A" | grep -qx '&-AOk-'; ok $? "... stored as &-AOk-"
is "$(tagged o "$O" | cut -d' ' -f2-3)" "NO [NONEXISTENT]" "rev2: the modified UTF-7 spelling is another name"
is "$(resp p)" '* LIST (\NoInferiors) "/" "Procès-verbaux"' "a pattern ending after a non-ASCII run"
# the same folders seen by a rev1 session
imap > "$O" <<'IN'
a LOGIN alice alice-pw
b LIST "" *
c SELECT "Proc&AOg-s-verbaux"
d DELETE "日本語/子"
IN
grep -q '^\* LIST (\\NoInferiors) "/" "Proc&AOg-s-verbaux"$' "$O"; ok $? "rev1 LIST: modified UTF-7"
grep -q '^\* 1 EXISTS' "$O"; ok $? "rev1 SELECT of the modified UTF-7 name: the message APPENDed in rev2"
is "$(tagged d "$O" | cut -d' ' -f2-3)" "NO [CANNOT]" "rev1: 8-bit names refused as before"

# --- python, raw socket through a pipe: what a rev2 client does ---------------------------
python3 - "$B/imapd" "$FCONF" > "$T_TMP/py.out" 2>&1 <<'PY'
import subprocess, sys
p = subprocess.Popen([sys.argv[1], "-c", sys.argv[2]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def cmd(tag, line):
    p.stdin.write(("%s %s\r\n" % (tag, line)).encode()); p.stdin.flush()
    out = []
    while True:
        l = p.stdout.readline().decode("utf-8").rstrip("\r\n")
        out.append(l)
        if l.startswith(tag + " "):
            return out
greet = p.stdout.readline().decode()
assert "IMAP4rev2" in greet, greet
cmd("a", "LOGIN alice alice-pw")
assert cmd("b", "ENABLE IMAP4rev2")[0] == "* ENABLED IMAP4rev2"
r = cmd("c", "SELECT INBOX")
assert not any("RECENT" in l for l in r), r
assert '* LIST () "/" "INBOX"' in r, r
r = cmd("d", "UID SEARCH RETURN (SAVE) ALL")
assert r[-1].startswith("d OK") and len(r) == 1, r
r = cmd("e", "UID FETCH $ (UID FLAGS)")
assert len(r) > 1 and all("\\Recent" not in l for l in r), r
r = cmd("f", 'LIST "" "Proc*" RETURN (STATUS (SIZE))')
assert any(l == '* LIST (\\NoInferiors) "/" "Procès-verbaux"' for l in r), r
assert any(l.startswith('* STATUS "Procès-verbaux" (SIZE ') for l in r), r
cmd("z", "LOGOUT")
print("ok")
PY
is "$(tail -n 1 "$T_TMP/py.out")" ok "python raw client: rev2 greeting, ENABLE, SELECT, SAVE and \$, UTF-8 LIST with STATUS SIZE"

# --- side by side with Dovecot (2.3: no IMAP4rev2; STATUS=SIZE and SEARCHRES) ----------------
cat > "$T_TMP/dcases" <<'CASES'
c1 SEARCH RETURN (SAVE) 2:4
c2 FETCH $ (UID)
c3 UID SEARCH RETURN (SAVE MIN MAX) ALL
c4 UID FETCH $ (UID)
c5 SEARCH RETURN (SAVE COUNT MIN) 2:3
c6 SEARCH $
c7 SEARCH RETURN (SAVE MAX) 1
c8 UID SEARCH UID $
c9 STATUS INBOX (MESSAGES SIZE)
CASES
{ echo "a LOGIN alice alice-pw"; echo "b SELECT INBOX"; cat "$T_TMP/dcases"; } | imap > "$O"
if dovecot_ok; then
	{ echo "b SELECT INBOX"; cat "$T_TMP/dcases"; echo "z LOGOUT"; } | dovecot_imap > "$T_TMP/dv.out"
	grep -q "^\\* PREAUTH \\[CAPABILITY.* SEARCHRES .*STATUS=SIZE" "$T_TMP/dv.out"; ok $? "Dovecot offers STATUS=SIZE and SEARCHRES too"
	# Dovecot runs pipelined commands side by side: compare the data lines, sorted
	data() { grep '^\* \(ESEARCH\|SEARCH\|STATUS\|[0-9]* FETCH\)' "$1" | sed 's/^\* STATUS "INBOX"/* STATUS INBOX/' | sort; }
	data "$O" > "$T_TMP/f.data"
	data "$T_TMP/dv.out" > "$T_TMP/d.data"
	diff "$T_TMP/f.data" "$T_TMP/d.data" > "$T_TMP/fd.diff"; r=$?
	[ $r = 0 ] || diag "$(cat "$T_TMP/fd.diff")"
	ok $r "SEARCHRES and STATUS SIZE answers as Dovecot's"
else
	skip "dovecot-imapd not installed or uid below 500"
	skip "dovecot-imapd not installed or uid below 500"
fi

done_testing
