#!/bin/sh
# The test harness itself: t/bin/trickle (byte-by-byte feeder) and
# t/lib/xinetd.sh (private xinetd on 127.0.0.1), with trivial services.
. "$(dirname "$0")/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"

TRICKLE=$B/t/bin/trickle
[ -x "$TRICKLE" ] || skip_all "$TRICKLE not built"
command -v "$PYTHON" >/dev/null 2>&1 || skip_all "python3 not installed"
tmpdir

# tcp_talk PORT: sends stdin, half-closes, prints all the reply (5 s bound)
tcp_talk() {
	"$PYTHON" -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.stdin.buffer.read()); s.shutdown(socket.SHUT_WR)
while True:
    b = s.recv(65536)
    if not b: break
    sys.stdout.buffer.write(b)' "$1"
}
# reads.py: prints the largest read(2) size and the byte count
cat > "$T_TMP/reads.py" <<'PY'
import os
sizes = []
while True:
    b = os.read(0, 4096)
    if not b: break
    sizes.append(len(b))
print(max(sizes or [0]), sum(sizes))
PY

## trickle
printf 'EHLO x\r\nbare LF\nend' > "$T_TMP/in"
"$TRICKLE" cat < "$T_TMP/in" > "$T_TMP/out"
same_file "$T_TMP/out" "$T_TMP/in" "trickle: the program's stdout passes through, bytes intact"
head -c 300 /dev/urandom > "$T_TMP/rnd"
is "$("$TRICKLE" "$PYTHON" "$T_TMP/reads.py" < "$T_TMP/rnd")" "1 300" \
	"trickle: every read of the program returns one byte"
printf abc | "$TRICKLE" sh -c 'cat >/dev/null; exit 3'
is "$?" 3 "trickle: exit status of the program"
echo x | "$TRICKLE" sh -c 'kill -9 $$'
is "$?" 137 "trickle: killed program gives 128+signal"
head -c 100000 /dev/zero | "$TRICKLE" head -c 5 > "$T_TMP/out"
is "$?:$(wc -c < "$T_TMP/out")" "0:5" "trickle: program that stops reading early: no SIGPIPE, its status"
start=$(date +%s%N)
printf 0123456789 | "$TRICKLE" -d 20000 cat > /dev/null
ms=$(( ($(date +%s%N) - start) / 1000000 ))
ok "$([ "$ms" -ge 180 ]; echo $?)" "trickle -d 20000: at least 20 ms between bytes ($ms ms for 10)"
out=$("$TRICKLE" -d 12x cat </dev/null 2>&1)
is "$?" 2 "trickle: bad -d value is a usage error"
case $out in *usage*) r=0 ;; *) r=1 ;; esac
ok $r "trickle: usage message on stderr"
"$TRICKLE" -d 99999999999 cat </dev/null 2>/dev/null
is "$?" 2 "trickle: -d out of range is a usage error"
"$TRICKLE" </dev/null 2>/dev/null
is "$?" 2 "trickle: no program is a usage error"
"$TRICKLE" "$T_TMP/no-such-program" </dev/null 2>/dev/null
is "$?" 127 "trickle: program not found gives 127"

## xinetd harness
if [ "$(id -u)" != 0 ] || ! command -v xinetd >/dev/null 2>&1; then
	skip "xinetd harness: needs root and xinetd"
	done_testing
	exit
fi

p=$(free_port)
ok "$(case $p in ''|*[!0-9]*) echo 1 ;; *) [ "$p" -ge 1024 ] && [ "$p" -le 65535 ]; echo $? ;; esac)" \
	"free_port prints a port number ($p)"

# two custom services in one xinetd: an echo and an environment dump
export FACTEUR_HARNESS_MARK=42
p1=$(free_port)
p2=$(free_port)
xinetd_service echo "$p1" /bin/cat
# a server with a heap overflow, built with ASan if the compiler can
pa=
printf '%s\n' '#include <stdlib.h>' '#include <string.h>' '#include <unistd.h>' \
	'int main(void) { char *p = malloc(4); memset(p, 0, 5 + (int)getpid() % 2); free(p);' \
	'write(1, "done\n", 5); return 0; }' > "$T_TMP/bug.c"
if gcc -fsanitize=address -o "$T_TMP/bug" "$T_TMP/bug.c" 2>/dev/null; then
	pa=$(free_port)
	xinetd_service asan "$pa" "$T_TMP/bug"
fi
xinetd_start_custom env "$p2" /usr/bin/env -u PWD
pid=$XINETD_PID
is "$(printf 'hello\r\nworld\n' | tcp_talk "$p1" | od -c | head -n 3)" \
	"$(printf 'hello\r\nworld\n' | od -c | head -n 3)" "custom service: /bin/cat echoes through xinetd"
tcp_talk "$p2" < /dev/null > "$T_TMP/env.out"
ok "$(grep -qx FACTEUR_HARNESS_MARK=42 "$T_TMP/env.out"; echo $?)" \
	"servers inherit the test's environment"
ok "$(grep -q "^ASAN_OPTIONS=.*log_path=$T_TMP/san/report" "$T_TMP/env.out" &&
	grep -q "^UBSAN_OPTIONS=.*log_path=$T_TMP/san/report" "$T_TMP/env.out"; echo $?)" \
	"sanitizer reports of servers go to a file, not to the socket"
ok "$(grep -q "^	bind = 127.0.0.1" "$T_TMP/xinetd.conf" &&
	grep -q "^	type = UNLISTED" "$T_TMP/xinetd.conf" &&
	grep -q "^	server_args = -u PWD" "$T_TMP/xinetd.conf" &&
	grep -q "^	log_type = FILE $T_TMP/xinetd.log" "$T_TMP/xinetd.conf"; echo $?)" \
	"xinetd.conf: UNLISTED, bind 127.0.0.1, server_args, log file"
hex=$(printf '%04X' "$p1")
ok "$(grep -q " 0100007F:$hex 00000000:0000 0A" /proc/net/tcp &&
	! grep -q " 00000000:$hex 00000000:0000 0A" /proc/net/tcp; echo $?)" \
	"listens on 127.0.0.1 only"
ok "$(grep -q "START: echo" "$T_TMP/xinetd.log"; echo $?)" "xinetd logs to \$T_TMP/xinetd.log"
if [ -n "$pa" ]; then
	out=$(tcp_talk "$pa" </dev/null 2>&1)
	case $out in *AddressSanitizer*) r=1 ;; *) r=0 ;; esac
	ok $r "ASan report of a server does not reach the client"
	i=0
	until ls "$T_TMP"/san/report.* >/dev/null 2>&1 || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
	ok "$(grep -q "heap-buffer-overflow" "$T_TMP"/san/report.* 2>/dev/null; echo $?)" \
		"ASan report of a server lands in \$T_TMP/san"
	mv "$T_TMP/san" "$T_TMP/san.seen"    # this one was wanted
else
	skip "gcc -fsanitize=address not available"
fi
xinetd_stop
ok "$(! kill -0 "$pid" 2>/dev/null; echo $?)" "xinetd_stop: xinetd is gone"
ok "$(! tcp_talk "$p1" </dev/null >/dev/null 2>&1; echo $?)" "xinetd_stop: port closed"

# the protocol services: $B/smtpd etc. with -c $FCONF (fake programs here)
fake=$T_TMP/fakeb
mkdir -p "$fake"
for prog in smtpd pop3d imapd; do
	printf '#!/bin/sh\necho "${0##*/} $*"\n' > "$fake/$prog"
	chmod +x "$fake/$prog"
done
FCONF=$T_TMP/f.conf
ps=$(free_port) pp=$(free_port) pi=$(free_port)
realb=$B
B=$fake
xinetd_start smtp="$ps" pop3="$pp" imap="$pi"
B=$realb
is "$(tcp_talk "$ps" </dev/null)" "smtpd -c $FCONF" "smtp=PORT runs \$B/smtpd -c \$FCONF"
is "$(tcp_talk "$pp" </dev/null)" "pop3d -c $FCONF" "pop3=PORT runs \$B/pop3d -c \$FCONF"
is "$(tcp_talk "$pi" </dev/null)" "imapd -c $FCONF" "imap=PORT runs \$B/imapd -c \$FCONF"
xinetd_stop

# bad use fails loudly; each case in a subshell with its own T_TMP
sub() { # sub NAME COMMANDS: runs COMMANDS in a subshell, prints its output
	n=$1; shift
	( T_TMP=$T_TMP/$n; mkdir -p "$T_TMP"; XINETD_PID=; eval "$*" ) 2>&1
}
out=$(sub a 'FCONF=$T_TMP/f.conf; xinetd_start ftp=21')
case $out in "Bail out!"*"unknown argument"*) r=0 ;; *) r=1 ;; esac
ok $r "xinetd_start: unknown service bails out"
out=$(sub b 'xinetd_start_custom x 12ab /bin/cat')
case $out in "Bail out!"*"bad port"*) r=0 ;; *) r=1 ;; esac
ok $r "xinetd_service: bad port bails out"
out=$(sub c 'FCONF=; xinetd_start smtp=2525')
case $out in "Bail out!"*FCONF*) r=0 ;; *) r=1 ;; esac
ok $r "xinetd_start: no config (FCONF unset) bails out"
out=$(sub d "FCONF=\$T_TMP/f.conf; B=$T_TMP/nothing; xinetd_start imap=$(free_port)")
case $out in "1..0 # SKIP"*imapd*) r=0 ;; *) r=1 ;; esac
ok $r "xinetd_start: program not built skips the test"
out=$(sub e 'xinetd_start')
case $out in "Bail out!"*"no service"*) r=0 ;; *) r=1 ;; esac
ok $r "xinetd_start: no service bails out"

# a port taken by another process: no false "started"
busy=$(free_port)
"$PYTHON" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' "$busy" &
holder=$!
i=0
until xinetd__listening "$holder" "$busy" 2>/dev/null || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
out=$(sub f "xinetd_start_custom busy $busy /bin/cat")
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
case $out in "Bail out!"*"did not listen"*) r=0 ;; *) r=1 ;; esac
ok $r "xinetd_start: port in use by another process bails out"
[ $r = 0 ] || diag "$out"

# at exit xinetd is stopped, and the test's own EXIT trap still runs
out=$(FACTEUR_SRC=$FACTEUR_SRC FACTEUR_BUILD=$B MARK=$T_TMP/trap-ran sh -c '
	. "$FACTEUR_SRC/t/lib/tap.sh"; . "$FACTEUR_SRC/t/lib/xinetd.sh"
	tmpdir; trap "rm -rf \"\$T_TMP\"; touch \"\$MARK\"" EXIT
	xinetd_start_custom echo "$(free_port)" /bin/cat
	echo "$XINETD_PID $T_TMP"' 2>&1)
set -- $out
ok "$([ $# = 2 ] && ! kill -0 "$1" 2>/dev/null && [ ! -e "$2" ] && [ -e "$T_TMP/trap-ran" ]; echo $?)" \
	"at exit: xinetd stopped, the test's EXIT trap kept (\$T_TMP removed)"
[ $# = 2 ] || diag "$out"

# a test killed by SIGKILL (no trap runs): the watchdog stops xinetd
TMPDIR=$T_TMP FACTEUR_SRC=$FACTEUR_SRC FACTEUR_BUILD=$B PIDF=$T_TMP/k.pid sh -c '
	. "$FACTEUR_SRC/t/lib/tap.sh"; . "$FACTEUR_SRC/t/lib/xinetd.sh"
	xinetd_start_custom echo "$(free_port)" /bin/cat
	echo "$XINETD_PID" > "$PIDF.new"; mv "$PIDF.new" "$PIDF"; sleep 5' >/dev/null 2>&1 &
victim=$!
i=0
until [ -s "$T_TMP/k.pid" ] || [ $i -gt 150 ]; do sleep 0.1; i=$((i + 1)); done
kill -9 "$victim" 2>/dev/null
wait "$victim" 2>/dev/null
xp=$(cat "$T_TMP/k.pid" 2>/dev/null)
i=0
while [ -n "$xp" ] && kill -0 "$xp" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ok "$([ -n "$xp" ] && ! kill -0 "$xp" 2>/dev/null; echo $?)" "test killed by SIGKILL: its xinetd stops too"

# a sanitizer report left by a server turns into a failing test
out=$(sub g 'mkdir -p $T_TMP/san; echo "ERROR: AddressSanitizer: heap-buffer-overflow" > $T_TMP/san/report.77; T_N=0; xinetd_stop')
case $out in "not ok 1 - "*"# ERROR: AddressSanitizer"*) r=0 ;; *) r=1 ;; esac
ok $r "xinetd_stop: sanitizer reports make a failing test"
out=$(sub h 'T_N=0; xinetd_stop')
is "$out" "" "xinetd_stop: no report, no output"

done_testing
