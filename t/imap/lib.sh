# Helpers for the imap tests.  Source after t/lib/tap.sh and t/lib/env.sh.
#   imap_env          facteur_env, plus (as root) a uid of their own for the
#                     passwd-file users (uid 0 may not log in; as root imapd
#                     really drops to them, no system account needed)
#   mkbox USER        the user's INBOX from stdin, owned by the user
#   mkfolder USER NAME  a folder mailbox from stdin
#   deliver USER [SENDER]  appends stdin to the INBOX through libmbox
#   imap              a piped session: stdin is the client's script (LF ends
#                     sent as CRLF, one write), stdout the replies, CR removed
#   imap_raw          the same without any conversion
#   tagged TAG FILE   the tagged reply line of TAG in FILE
#   wait_for PAT FILE bounded wait (10 s) for a line matching PAT
#   sess_start / say / expect / sess_end: an interactive session via a fifo
IMAP_SRC=$FACTEUR_SRC/t/imap

imap_env() {
	[ -x "$B/imapd" ] || skip_all "imapd not built"
	[ -x "$B/t/bin/mkhash" ] || skip_all "t/bin/mkhash not built"
	[ -x "$B/t/bin/mboxtool" ] || skip_all "t/bin/mboxtool not built"
	facteur_env
	IMAP_UID=$(id -u)
	IMAP_GID=$(id -g)
	if [ "$IMAP_UID" = 0 ]; then
		IMAP_UID=$((64000 + $$ % 1000))
		IMAP_GID=$IMAP_UID
		sed -i "s/^\([^:]*:[^:]*\):0:0:/\1:$IMAP_UID:$IMAP_GID:/" "$T_TMP/passwd"
		chmod 755 "$T_TMP"
		chown -R "$IMAP_UID:$IMAP_GID" "$T_TMP/home" "$T_TMP/journal"
	fi
	SPOOL=$T_TMP/spool
	MAILDIR_A=$T_TMP/home/alice/mail
}

# as_user CMD...: runs a command as the mailbox owner (root: setpriv)
as_user() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid="$IMAP_UID" --regid="$IMAP_GID" --clear-groups -- "$@"
	else
		"$@"
	fi
}

# as_user_bg CMD... &: the same in the background; $! is then CMD's pid
as_user_bg() {
	if [ "$(id -u)" = 0 ]; then
		exec setpriv --reuid="$IMAP_UID" --regid="$IMAP_GID" --clear-groups -- "$@"
	else
		exec "$@"
	fi
}

mkbox() {
	cat > "$SPOOL/$1" && chmod 600 "$SPOOL/$1"
	if [ "$(id -u)" = 0 ]; then chown "$IMAP_UID:$IMAP_GID" "$SPOOL/$1"; fi
}

mkfolder() {
	f=$T_TMP/home/$1/mail/$2
	mkdir -p "$(dirname "$f")"
	cat > "$f" && chmod 600 "$f"
	if [ "$(id -u)" = 0 ]; then chown -R "$IMAP_UID:$IMAP_GID" "$T_TMP/home/$1"; fi
}

deliver() {
	as_user "$B/t/bin/mboxtool" append "$SPOOL/$1" -s "${2:-sender@example.test}" > /dev/null
}

# msg N: a small test message
msg() {
	printf 'From: Sender %s <s%s@example.test>\nTo: alice@example.test\nSubject: message %s\nDate: Fri, 27 Nov 2026 10:00:0%s +0000\nMessage-ID: <m%s@example.test>\n\nbody of message %s\n' \
		"$1" "$1" "$1" "$(( $1 % 10 ))" "$1" "$1"
}

imap() { crlf | "$B/imapd" -c "$FCONF" | nocr; }
imap_raw() { "$B/imapd" -c "$FCONF"; }
tagged() { grep "^$1 " "$2" | tail -n 1; }

wait_for() {
	wf_i=0
	until grep -q -- "$1" "$2" 2>/dev/null; do
		wf_i=$((wf_i + 1))
		[ $wf_i -le 100 ] || return 1
		sleep 0.1
	done
}

sess_start() {
	SESS=${1:-sess}
	rm -f "$T_TMP/$SESS.fifo" "$T_TMP/$SESS.out"
	mkfifo "$T_TMP/$SESS.fifo"
	"$B/imapd" -c "$FCONF" < "$T_TMP/$SESS.fifo" > "$T_TMP/$SESS.out" &
	eval "SESS_PID_$SESS=\$!"
	eval "exec ${2:-3}> \"\$T_TMP/\$SESS.fifo\""
}
say() { fd=$1; shift; for l in "$@"; do printf '%s\r\n' "$l" >&"$fd"; done; }
expect() { wait_for "$1" "$T_TMP/$2.out"; }
sess_end() { eval "exec $2>&-"; eval "wait \$SESS_PID_$1"; }
