# Helpers for the pop3 tests.  Source after t/lib/tap.sh and t/lib/env.sh
# (which gives users, mkbox, deliver, as_user, wait_for).
#   pop3_env          facteur_env; POP3_UID/POP3_GID are alice's
#   pop3              a piped session: stdin is the client's script (LF ends,
#                     sent as CRLF in one write), stdout the replies, CR removed
#   pop3_raw          the same without any conversion
#   uv_hex USER       the mailbox's UIDVALIDITY in 8 hex digits (from X-IMAPbase)
POP3_SRC=$FACTEUR_SRC/t/pop3

pop3_env() {
	[ -x "$B/pop3d" ] || skip_all "pop3d not built"
	[ -x "$B/t/bin/mkhash" ] || skip_all "t/bin/mkhash not built"
	facteur_env
	POP3_UID=$(user_uid alice)
	POP3_GID=$(user_gid alice)
}

pop3() { crlf 2>/dev/null | "$B/pop3d" -c "$FCONF" | nocr; }
pop3_raw() { "$B/pop3d" -c "$FCONF"; }


uv_hex() {
	sed -n 's/^X-IMAPbase: *\([0-9][0-9]*\) .*/\1/p' "$SPOOL/$1" | head -n 1 | { read -r uv && printf '%08x' "$uv"; }
}

# An interactive session through a fifo (t/lib/sess.sh): sess_start pop3d,
# say CMD..., expect PATTERN, sess_end.  Replies go to $T_TMP/sess.out.
. "$FACTEUR_SRC/t/lib/sess.sh"
# view USER: the user's mailbox as users see it (t/pop3/view.py)
view() { python3 "$POP3_SRC/view.py" "$SPOOL/$1" $2; }
