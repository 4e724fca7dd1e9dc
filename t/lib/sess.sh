# Interactive sessions of a server through a fifo: the one implementation
# for the POP3 and IMAP tests (sourced by t/pop3/lib.sh and t/imap/lib.sh).
#   sess_start PROG [NAME [FD]]  $B/PROG -c $FCONF reading a fifo held open on
#                                FD (default 3); replies in $T_TMP/NAME.out
#                                (NAME default "sess"); its pid in SESS_PID_NAME
#                                and SESS_PID
#   say [FD] LINE...             each LINE with CRLF to FD (default 3)
#   expect PATTERN [NAME]        bounded wait (10 s) for a reply matching PATTERN
#   sess_end [NAME [FD]]         closes FD and waits for the server
sess_start() {
	ss_prog=$1
	SESS=${2:-sess}
	trap '' PIPE # a server that ended must not kill the test with SIGPIPE
	rm -f "$T_TMP/$SESS.fifo" "$T_TMP/$SESS.out"
	mkfifo "$T_TMP/$SESS.fifo"
	"$B/$ss_prog" -c "$FCONF" < "$T_TMP/$SESS.fifo" > "$T_TMP/$SESS.out" &
	SESS_PID=$!
	eval "SESS_PID_$SESS=\$SESS_PID"
	eval "exec ${3:-3}> \"\$T_TMP/\$SESS.fifo\""
}
say() {
	case $1 in [0-9]) sy_fd=$1; shift ;; *) sy_fd=3 ;; esac
	for l in "$@"; do printf '%s\r\n' "$l" >&"$sy_fd"; done 2>/dev/null
}
expect() { wait_for "$1" "$T_TMP/${2:-sess}.out"; }
sess_end() { eval "exec ${2:-3}>&-"; eval "wait \$SESS_PID_${1:-sess}"; }
