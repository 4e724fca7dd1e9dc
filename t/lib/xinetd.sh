# End-to-end harness: our servers under a private xinetd on 127.0.0.1.
# Source after t/lib/tap.sh and t/lib/env.sh (facteur_env sets FCONF).
#   free_port                        prints a free TCP port on 127.0.0.1
#   xinetd_start smtp=P pop3=P imap=P  any subset; runs $B/smtpd (pop3d, imapd)
#                                    -c $FCONF, waits until every port listens
#   xinetd_service NAME PORT SERVER [ARGS...]  adds any service to the next start
#   xinetd_start_custom NAME PORT SERVER [ARGS...]  one custom service, started
#   xinetd_dropin FILE PORT          an installed drop-in, moved to 127.0.0.1:PORT
#   xinetd_stop                      stops it (also done at exit)
# Files: $T_TMP/xinetd.conf, xinetd.log (service starts and exits),
# xinetd.err (xinetd's own messages), xinetd.out (its stderr), xinetd.pid.
# Sanitizer reports of the servers go to $T_TMP/san/report.*, and
# xinetd_stop turns them into a failing test.
# xinetd needs root (the user attribute): as non-root the test is skipped, so
# call xinetd_need (or xinetd_start) before printing any result.  The EXIT
# trap in place (tmpdir's, yours) is kept, with xinetd stopped first; an
# EXIT trap you set later must call xinetd__kill itself.
# $PYTHON is the python3 to use (Debian's if there).
# Limits are generous for tests; override with XINETD_INSTANCES,
# XINETD_PER_SOURCE, XINETD_CPS ("rate wait").

XINETD_PID=
XINETD_SERVICES=
# Debian's python3 (a pyenv shim in PATH can take seconds to start)
if [ -z "${PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi

xinetd_need() {
	need_root "xinetd runs services as a given user"
	XINETD_BIN=$(command -v xinetd 2>/dev/null || echo /usr/sbin/xinetd)
	[ -x "$XINETD_BIN" ] || skip_all "xinetd not installed"
	command -v "$PYTHON" >/dev/null 2>&1 || skip_all "python3 not installed"
	[ -n "${T_TMP:-}" ] || tmpdir
	xinetd__chain_trap
}

# Prepends "stop xinetd" to the EXIT trap, keeping what is there (tmpdir's
# cleanup, a test's userdel).  dash cannot read traps in $(...): use a file.
xinetd__chain_trap() {
	trap > "$T_TMP/.traps"
	xinetd__old=
	xinetd__line=$(grep ' EXIT$' "$T_TMP/.traps")
	rm -f "$T_TMP/.traps"
	case $xinetd__line in *xinetd__kill*) return 0 ;; esac
	if [ -n "$xinetd__line" ]; then
		xinetd__line=${xinetd__line#trap -- }
		eval "xinetd__old=${xinetd__line% EXIT}"
	fi
	trap "xinetd__kill; $xinetd__old" EXIT
	# a killed test must run it too (dash runs EXIT traps only on exit)
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Ports already handed out are remembered in $T_TMP so that two calls in one
# test never give the same port.
free_port() {
	"$PYTHON" -c 'import os, socket, sys
seen = set()
f = sys.argv[1]
if f and os.path.exists(f):
    seen = set(open(f).read().split())
for _ in range(100):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = str(s.getsockname()[1]); s.close()
    if p not in seen:
        break
if f:
    open(f, "a").write(p + "\n")
print(p)' "${T_TMP:+$T_TMP/ports-used}"
}

# xinetd_service NAME PORT SERVER [ARGS...]: a service block for the next
# xinetd_start.  server_args is split on blanks by xinetd: no quoting.
xinetd_service() {
	[ $# -ge 3 ] || { echo "Bail out! xinetd_service NAME PORT SERVER [ARGS]"; exit 1; }
	xs_name=$1 xs_port=$2 xs_server=$3
	shift 3
	case $xs_port in ''|*[!0-9]*) echo "Bail out! bad port '$xs_port' for $xs_name"; exit 1 ;; esac
	xinetd_need
	[ -x "$xs_server" ] || skip_all "$xs_server not built"
	{
		echo "service $xs_name"
		echo "{"
		echo "	type = UNLISTED"
		echo "	socket_type = stream"
		echo "	protocol = tcp"
		echo "	wait = no"
		echo "	user = root"
		echo "	bind = 127.0.0.1"
		echo "	port = $xs_port"
		echo "	server = $xs_server"
		[ $# -gt 0 ] && echo "	server_args = $*"
		echo "}"
	} >> "$T_TMP/xinetd.services"
	XINETD_SERVICES="$XINETD_SERVICES $xs_port"
}

# xinetd_dropin FILE PORT: an installed drop-in (xinetd.d/facteur-*) for the
# next xinetd_start, as it is but for the port: UNLISTED on 127.0.0.1:PORT.
# Its disable line is kept, so a drop-in left disabled does not listen.
xinetd_dropin() {
	[ -r "$1" ] || { echo "Bail out! xinetd_dropin: no file $1"; exit 1; }
	case $2 in ''|*[!0-9]*) echo "Bail out! bad port '$2' for $1"; exit 1 ;; esac
	xinetd_need
	awk -v port="$2" '
		/^[[:space:]]*(port|bind|type)[[:space:]]*=/ { next }
		{ print }
		/^[[:space:]]*\{/ && !done { print "\ttype = UNLISTED\n\tbind = 127.0.0.1\n\tport = " port; done = 1 }
	' "$1" >> "$T_TMP/xinetd.services"
	XINETD_SERVICES="$XINETD_SERVICES $2"
}

# xinetd_start [smtp=PORT] [pop3=PORT] [imap=PORT]: add these services (to
# any added by xinetd_service), write the config, start, wait for the ports.
xinetd_start() {
	xinetd_need
	for xinetd__a in "$@"; do
		[ -n "${FCONF:-}" ] || { echo "Bail out! xinetd_start: FCONF unset (call facteur_env)"; exit 1; }
		case $xinetd__a in
		smtp=*) xinetd_service facteur-smtp "${xinetd__a#*=}" "$B/smtpd" -c "$FCONF" ;;
		pop3=*) xinetd_service facteur-pop3 "${xinetd__a#*=}" "$B/pop3d" -c "$FCONF" ;;
		imap=*) xinetd_service facteur-imap "${xinetd__a#*=}" "$B/imapd" -c "$FCONF" ;;
		*) echo "Bail out! xinetd_start: unknown argument '$xinetd__a'"; exit 1 ;;
		esac
	done
	[ -n "$XINETD_SERVICES" ] || { echo "Bail out! xinetd_start: no service"; exit 1; }
	[ -z "$XINETD_PID" ] || { echo "Bail out! xinetd_start: already running"; exit 1; }
	{
		echo "# written by t/lib/xinetd.sh"
		echo "defaults"
		echo "{"
		echo "	instances = ${XINETD_INSTANCES:-100}"
		echo "	per_source = ${XINETD_PER_SOURCE:-100}"
		echo "	cps = ${XINETD_CPS:-1000 1}"
		echo "	log_type = FILE $T_TMP/xinetd.log"
		echo "	log_on_success = PID HOST EXIT DURATION"
		echo "	log_on_failure = HOST"
		echo "}"
		cat "$T_TMP/xinetd.services"
	} > "$T_TMP/xinetd.conf"
	rm -f "$T_TMP/xinetd.services" "$T_TMP/xinetd.pid"
	# sanitizer reports must not go to stderr, which is the client's socket;
	# servers write them after dropping root: a sticky world-writable dir
	mkdir -p "$T_TMP/san" && chmod 1777 "$T_TMP/san"
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T_TMP/san/report" \
	UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T_TMP/san/report:print_stacktrace=1" \
		"$XINETD_BIN" -dontfork -f "$T_TMP/xinetd.conf" -pidfile "$T_TMP/xinetd.pid" \
		-filelog "$T_TMP/xinetd.err" \
		</dev/null >"$T_TMP/xinetd.out" 2>&1 &
	XINETD_PID=$!
	# watchdog: if the test dies without its traps (SIGKILL), xinetd goes too
	( while kill -0 $$ && kill -0 "$XINETD_PID"; do sleep 1; done
	  kill "$XINETD_PID" ) </dev/null >/dev/null 2>&1 &
	XINETD_WATCH=$!
	# bounded wait (10 s) until every port listens; the check reads
	# /proc/net/tcp so it does not start a server (which would log a session)
	xinetd__end=$(($(date +%s) + 10))
	until xinetd__listening "$XINETD_PID" $XINETD_SERVICES; do
		if [ "$(date +%s)" -gt $xinetd__end ] || ! kill -0 "$XINETD_PID" 2>/dev/null ||
		    grep -q "failed to start" "$T_TMP/xinetd.err" 2>/dev/null; then
			echo "Bail out! xinetd did not listen on:$XINETD_SERVICES"
			cat "$T_TMP/xinetd.out" "$T_TMP/xinetd.err" 2>/dev/null | tail -n 20 | sed 's/^/# /'
			xinetd__kill
			exit 1
		fi
		sleep 0.1
	done
	XINETD_SERVICES=
}

# xinetd_start_custom NAME PORT SERVER [ARGS...]
xinetd_start_custom() {
	xinetd_need
	xinetd_service "$@"
	xinetd_start
}

# xinetd__listening PID PORT...: true when PID holds a LISTEN socket on
# 127.0.0.1:PORT for every PORT (not some other process on a reused port)
xinetd__listening() {
	xl_pid=$1
	shift
	xl_inodes=$(ls -l "/proc/$xl_pid/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p')
	xl_want=
	for xl_p in "$@"; do xl_want="$xl_want $(printf '0100007F:%04X' "$xl_p")"; done
	awk -v want="$xl_want" -v inodes="$xl_inodes" '
		BEGIN { n = split(want, w, " "); split(inodes, t, "\n"); for (i in t) ino[t[i]] = 1 }
		NR > 1 && $4 == "0A" && ($10 in ino) { have[$2] = 1 }
		END { for (i = 1; i <= n; i++) if (!(w[i] in have)) exit 1 }' /proc/net/tcp
}

xinetd__kill() {
	[ -n "$XINETD_PID" ] || return 0
	[ -z "${XINETD_WATCH:-}" ] || kill "$XINETD_WATCH" 2>/dev/null
	XINETD_WATCH=
	kill "$XINETD_PID" 2>/dev/null
	# xinetd ends its servers on SIGTERM; bounded wait, then SIGKILL
	xinetd__i=0
	while kill -0 "$XINETD_PID" 2>/dev/null && [ $xinetd__i -lt 50 ]; do
		sleep 0.1
		xinetd__i=$((xinetd__i + 1))
	done
	kill -9 "$XINETD_PID" 2>/dev/null
	wait "$XINETD_PID" 2>/dev/null
	XINETD_PID=
}

xinetd_stop() {
	xinetd__kill
	set -- "$T_TMP"/san/report.*
	if [ -e "$1" ]; then
		ok 1 "servers under xinetd: no sanitizer report"
		cat "$@" | head -n 60 | sed 's/^/# /'
		rm -f "$@"
	fi
}
