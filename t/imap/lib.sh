# Helpers for the imap tests.  Source after t/lib/tap.sh and t/lib/env.sh
# (which gives users, mkbox, mkfolder, deliver, as_user, wait_for).
#   imap_env          facteur_env; IMAP_UID/IMAP_GID are alice's
#   as_user_bg CMD... &  as_user alice in the background; $! is CMD's pid
#   imap              a piped session: stdin is the client's script (LF ends
#                     sent as CRLF, one write), stdout the replies, CR removed
#   imap_raw          the same without any conversion
#   tagged TAG FILE   the tagged reply line of TAG in FILE
#   sess_start imapd NAME FD / say FD / expect PAT NAME / sess_end NAME FD (t/lib/sess.sh)
IMAP_SRC=$FACTEUR_SRC/t/imap

imap_env() {
	[ -x "$B/imapd" ] || skip_all "imapd not built"
	[ -x "$B/t/bin/mkhash" ] || skip_all "t/bin/mkhash not built"
	[ -x "$B/t/bin/mboxtool" ] || skip_all "t/bin/mboxtool not built"
	facteur_env
	IMAP_UID=$(user_uid alice)
	IMAP_GID=$(user_gid alice)
	MAILDIR_A=$T_TMP/home/alice/mail
}

as_user_bg() { exec "$B/t/bin/runas" "$IMAP_UID" "$IMAP_GID" env HOME="$T_TMP/home/alice" "$@"; }

# msg N: a small test message
msg() {
	printf 'From: Sender %s <s%s@example.test>\nTo: alice@example.test\nSubject: message %s\nDate: Fri, 27 Nov 2026 10:00:0%s +0000\nMessage-ID: <m%s@example.test>\n\nbody of message %s\n' \
		"$1" "$1" "$1" "$(( $1 % 10 ))" "$1" "$1"
}

imap() { crlf | "$B/imapd" -c "$FCONF" | nocr; }
imap_raw() { "$B/imapd" -c "$FCONF"; }
tagged() { grep "^$1 " "$2" | tail -n 1; }

# sessions through a fifo: sess_start imapd NAME FD, say FD ..., expect
# PATTERN NAME, sess_end NAME FD (t/lib/sess.sh, shared with POP3)
. "$FACTEUR_SRC/t/lib/sess.sh"

# Dovecot's imap, preauthenticated as alice, on a copy of alice's INBOX:
# commands on stdin (LF ends), replies on stdout (CR removed), its log in
# $T_TMP/dv.err.  dovecot_ok: installed, and a uid Dovecot accepts.
dovecot_ok() { [ -x /usr/lib/dovecot/imap ] && { [ "$(id -u)" = 0 ] || [ "$(id -u)" -ge 500 ]; }; }
dovecot_imap() {
	di_h=$T_TMP/dv
	mkdir -p "$di_h/mail"
	cp "$SPOOL/alice" "$di_h/inbox"
	if [ "$(id -u)" = 0 ]; then chown -R "$IMAP_UID:$IMAP_GID" "$di_h"; fi
	crlf | as_user alice env -i USER=alice HOME="$di_h" PATH=/usr/bin:/bin TZ=UTC /usr/lib/dovecot/imap \
		-o "mail_location=mbox:$di_h/mail:INBOX=$di_h/inbox" 2> "$T_TMP/dv.err" | nocr
}
