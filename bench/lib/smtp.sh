# bench/lib/smtp.sh: what the SMTP benches (smtp, smtp-phases, smtp-profile)
# share.  Source after t/lib/env.sh and t/lib/xinetd.sh, once facteur_env ran.

# bench_users: the passwd-file users u0..u9 (uids 64100..64109, no system
# accounts), each message of the load goes to one of them
bench_users() {
	: > "$T_TMP/passwd"
	h=$("$B/t/bin/mkhash" x)
	for i in 0 1 2 3 4 5 6 7 8 9; do
		echo "u$i:$h:$((64100 + i)):$((64100 + i))::$T_TMP/home" >> "$T_TMP/passwd"
	done
}

# listening PID PORT: bounded wait until PID listens on 127.0.0.1:PORT
listening() {
	l_i=0
	until xinetd__listening "$1" "$2"; do
		l_i=$((l_i + 1)); [ $l_i -lt 100 ] || return 1
		sleep 0.1
	done
}
# serve LAUNCHER PORT SERVER [ARGS...]: SERVER under LAUNCHER on PORT; for
# xinetd the installed drop-in (its limits and flags) with SERVER in it, the
# daemon started by xinetd_start once every drop-in is added
serve() {
	sv_l=$1 sv_p=$2
	shift 2
	case $sv_l in
	xinetd)
		sed -e "s|@LIBEXEC@/smtpd|$1|" -e 's/^\([[:space:]]*disable[[:space:]]*=\).*/\1 no/' \
			-e "s|^\([[:space:]]*server_args[[:space:]]*=\).*|\1 $(shift; echo "$*")|" \
			"$FACTEUR_SRC/xinetd.d/facteur-smtp" > "$T_TMP/smtp-$sv_p"
		[ $# -gt 1 ] || sed -i '/^[[:space:]]*server_args/d' "$T_TMP/smtp-$sv_p"
		xinetd_dropin "$T_TMP/smtp-$sv_p" "$sv_p" ;;
	tcpserver)
		# -R -H -l: no ident, no reverse DNS, no lookup of the local name
		tcpserver -c 100 -R -H -l localhost 127.0.0.1 "$sv_p" "$@" </dev/null >/dev/null 2>&1 &
		LPIDS="$LPIDS $!"
		listening $! "$sv_p" || { echo "# tcpserver did not listen on $sv_p: skipped"; return 1; } ;;
	systemd)
		systemd-socket-activate -a --inetd -l "127.0.0.1:$sv_p" "$@" </dev/null >/dev/null 2>&1 &
		LPIDS="$LPIDS $!"
		listening $! "$sv_p" || { echo "# systemd-socket-activate did not listen on $sv_p: skipped"; return 1; } ;;
	esac
}
