# Helpers for the pop3 tests.  Source after t/lib/tap.sh and t/lib/env.sh.
#   pop3_env          facteur_env, plus (as root) a uid of their own for the
#                     passwd-file users: uid 0 may not log in, and as root
#                     pop3d really drops to them (no system account needed)
#   mkbox USER        the user's spool mailbox from stdin, owned by the user
#   pop3              a piped session: stdin is the client's script (LF ends,
#                     sent as CRLF in one write), stdout the replies, CR removed
#   pop3_raw          the same without any conversion
#   wait_for PAT FILE bounded wait (10 s) until FILE holds a line matching PAT
#   uv_hex USER       the mailbox's UIDVALIDITY in 8 hex digits (from X-IMAPbase)
POP3_SRC=$FACTEUR_SRC/t/pop3

pop3_env() {
	[ -x "$B/pop3d" ] || skip_all "pop3d not built"
	[ -x "$B/t/bin/mkhash" ] || skip_all "t/bin/mkhash not built"
	facteur_env
	POP3_UID=$(id -u)
	POP3_GID=$(id -g)
	if [ "$POP3_UID" = 0 ]; then
		POP3_UID=$((61000 + $$ % 3000))
		POP3_GID=$POP3_UID
		sed -i "s/^\([^:]*:[^:]*\):0:0:/\1:$POP3_UID:$POP3_GID:/" "$T_TMP/passwd"
		chmod 755 "$T_TMP"
		chown -R "$POP3_UID:$POP3_GID" "$T_TMP/home" "$T_TMP/journal"
	fi
	SPOOL=$T_TMP/spool
}

mkbox() {
	cat > "$SPOOL/$1" && chmod 600 "$SPOOL/$1"
	if [ "$(id -u)" = 0 ]; then chown "$POP3_UID:$POP3_GID" "$SPOOL/$1"; fi
}

pop3() { crlf 2>/dev/null | "$B/pop3d" -c "$FCONF" | nocr; }
pop3_raw() { "$B/pop3d" -c "$FCONF"; }

wait_for() {
	wf_i=0
	until grep -q -- "$1" "$2" 2>/dev/null; do
		wf_i=$((wf_i + 1))
		[ $wf_i -le 100 ] || return 1
		sleep 0.1
	done
}

uv_hex() {
	sed -n 's/^X-IMAPbase: *\([0-9][0-9]*\) .*/\1/p' "$SPOOL/$1" | head -n 1 | { read -r uv && printf '%08x' "$uv"; }
}

# An interactive session through a fifo: sess_start, then `say CMD...` (one
# line each), `expect PATTERN` (bounded wait for a reply), sess_end (closes
# the client side and waits for pop3d).  Replies go to $T_TMP/sess.out.
sess_start() {
	trap '' PIPE # a pop3d that ended must not kill the test with SIGPIPE
	rm -f "$T_TMP/sess.fifo" "$T_TMP/sess.out"
	mkfifo "$T_TMP/sess.fifo"
	"$B/pop3d" -c "$FCONF" < "$T_TMP/sess.fifo" > "$T_TMP/sess.out" &
	SESS_PID=$!
	exec 3> "$T_TMP/sess.fifo"
}
say() { for l in "$@"; do printf '%s\r\n' "$l" >&3; done 2>/dev/null; }
expect() { wait_for "$1" "$T_TMP/sess.out"; }
sess_end() { exec 3>&-; wait "$SESS_PID"; }
# view USER: the user's mailbox as users see it (t/pop3/view.py)
view() { python3 "$POP3_SRC/view.py" "$SPOOL/$1" $2; }
# deliver USER: appends stdin as a new message, through libmbox when mboxtool is built
deliver() {
	if [ -x "$B/t/bin/mboxtool" ]; then
		"$B/t/bin/mboxtool" append "$SPOOL/$1" -s "${2:-sender@example.test}" > /dev/null
	else
		{ printf 'From %s  %s\n' "${2:-sender@example.test}" "$(LC_ALL=C date -u '+%a %b %e %H:%M:%S %Y')"; cat; echo; } >> "$SPOOL/$1"
	fi
}
