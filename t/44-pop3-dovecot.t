#!/bin/sh
# pop3d against Dovecot's pop3 on the same mailbox: the same sizes, bytes
# and UIDLs, whichever server assigned the UIDs first.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/pop3/lib.sh"
DOVECOT_POP3=/usr/lib/dovecot/pop3
[ -x "$DOVECOT_POP3" ] || skip_all "dovecot-pop3d not installed"
pop3_env
# dovecot USER: Dovecot's pop3 as a preauthenticated process on stdin, as
# that user with the mail group (Debian's mail_privileged_group = mail)
dovecot() {
	dv=$T_TMP/dv-$1
	mkdir -p "$dv/mail" "$dv/run"
	cat > "$dv/dovecot.conf" <<CONF
mail_location = mbox:$dv/mail:INBOX=$SPOOL/$1:INDEX=MEMORY
protocols = pop3
ssl = no
base_dir = $dv/run
log_path = $dv/dovecot.log
first_valid_uid = 1
mail_privileged_group = mail
CONF
	if [ "$(id -u)" = 0 ]; then
		chown -R "$(user_uid "$1"):$(user_gid "$1")" "$dv"
		crlf | "$B/t/bin/runas" "$(user_uid "$1")" "$(user_gid "$1")" env -i USER="$1" HOME="$dv" \
			"$DOVECOT_POP3" -c "$dv/dovecot.conf" 2>> "$dv/stderr" | nocr
	else
		crlf | env -i USER="$1" HOME="$dv" "$DOVECOT_POP3" -c "$dv/dovecot.conf" 2>> "$dv/stderr" | nocr
	fi
}
# the replies without the texts after +OK, which differ between servers
norm() { sed 's/^+OK .*octets$/&/; t; s/^+OK.*/+OK/'; }
CMDS='STAT
LIST
LIST 2
UIDL
UIDL 3
RETR 1
RETR 2
RETR 3
TOP 1 0
TOP 2 2
TOP 3 100'

# --- facteur assigns the UIDs, Dovecot reads them ---------------------------
mkbox alice < "$POP3_SRC/three.mbox"
printf 'USER alice\nPASS alice-pw\n%s\n' "$CMDS" | pop3 | sed 1,3d | norm > "$T_TMP/f"
printf '%s\n' "$CMDS" | dovecot alice | norm > "$T_TMP/d"
grep -q '^1 00000001' "$T_TMP/d"; ok $? "Dovecot answered (UIDL seen)" || sed 's/^/# /' "$T_TMP/dv-alice/dovecot.log"
same_file "$T_TMP/f" "$T_TMP/d" "facteur first: STAT, LIST, UIDL, RETR, TOP identical to Dovecot's"

# --- Dovecot assigns the UIDs, facteur reads them ---------------------------
mkbox bob < "$POP3_SRC/three.mbox"
uidls() { grep -E '^[0-9]+ [0-9a-f]{16}$'; }
printf 'UIDL\nRETR 1\nQUIT\n' | dovecot bob | uidls > "$T_TMP/d"
grep -q '^X-IMAPbase: ' "$SPOOL/bob"; ok $? "Dovecot wrote its metadata"
printf 'USER bob\nPASS bob-pw\nUIDL\nRETR 1\nQUIT\n' | pop3 | uidls > "$T_TMP/f"
is "$(wc -l < "$T_TMP/f" | tr -d ' ')" 3 "three UIDLs"
same_file "$T_TMP/f" "$T_TMP/d" "Dovecot first: facteur's UIDLs equal Dovecot's"

# --- after facteur's QUIT (expunge and Status), Dovecot sees the same -------
mkbox carol < "$POP3_SRC/three.mbox"
printf 'USER carol\nPASS carol-pw\nRETR 3\nDELE 1\nQUIT\n' | pop3 > /dev/null
printf 'USER carol\nPASS carol-pw\n%s\n' "$(printf '%s\n' "$CMDS" | grep -v ' 3')" | pop3 | sed 1,3d | norm > "$T_TMP/f"
printf '%s\n' "$CMDS" | grep -v ' 3' | dovecot carol | norm > "$T_TMP/d"
same_file "$T_TMP/f" "$T_TMP/d" "after facteur expunged: identical to Dovecot's view"
done_testing
