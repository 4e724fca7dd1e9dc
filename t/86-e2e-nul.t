#!/bin/sh
# NUL in stored mail (issue 10 item 6): smtpd stores a message's bytes as
# received, NUL included; POP3 and IMAP literals never carry NUL: it is sent
# as 0x80 (Dovecot's replacement), so sizes and literal lengths still match.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
[ -x "$B/pop3d" ] || skip_all "pop3d not built"
nuls() { tr -cd '\000' < "$1" | wc -c; }
hi() { tr -cd '\200' < "$1" | wc -c; }
# 1: smtpd stores NUL as received
printf 'EHLO c\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: n\000l\r\n\r\nab\000cd\r\n.\r\nQUIT\r\n' |
	"$B/smtpd" -c "$FCONF" > /dev/null
i=0; while [ $i -lt 100 ] && [ -n "$(ls -A "$T_TMP/queue/q" 2>/dev/null)" ]; do sleep 0.1; i=$((i+1)); done
is "$(nuls "$SPOOL/alice")" 2 "smtpd stored both NULs (header and body) unchanged"
# 2-4: POP3 RETR and TOP
printf 'USER alice\r\nPASS alice-pw\r\nLIST 1\r\nRETR 1\r\nTOP 1 0\r\nQUIT\r\n' | "$B/pop3d" -c "$FCONF" > "$T_TMP/pop"
grep -aq '^+OK 1 ' "$T_TMP/pop"; ok $? "POP3 session ran"
is "$(nuls "$T_TMP/pop")" 0 "POP3 sends no NUL"
is "$(hi "$T_TMP/pop")" 3 "POP3: each NUL sent as 0x80 (RETR 2, TOP 1)"
# 5-7: IMAP literals
printf 'a LOGIN alice alice-pw\r\nb EXAMINE INBOX\r\nc FETCH 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[TEXT])\r\nd LOGOUT\r\n' |
	"$B/imapd" -c "$FCONF" > "$T_TMP/imap"
grep -aq '^c OK' "$T_TMP/imap"; ok $? "IMAP FETCH ran"
is "$(nuls "$T_TMP/imap")" 0 "IMAP literals carry no NUL"
is "$(hi "$T_TMP/imap")" 4 "IMAP: each NUL sent as 0x80 (BODY[] 2, header 1, text 1)"
size=$(grep -ao 'RFC822.SIZE [0-9]*' "$T_TMP/imap" | sed 's/.* //')
lit=$(grep -ao 'BODY\[\] {[0-9]*}' "$T_TMP/imap" | tr -dc 0-9)
is "$lit" "$size" "BODY[] literal length = RFC822.SIZE ($size)"
done_testing
