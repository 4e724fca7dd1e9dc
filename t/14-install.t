#!/bin/sh
# make install into a DESTDIR: file list, modes, @LIBEXEC@ substitution,
# admin's files kept on reinstall; the example config and README cover every
# key.  Then demo/run.sh (make demo) in a private directory, as root.
. "$(dirname "$0")/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"

command -v make >/dev/null 2>&1 || skip_all "make not installed"
tmpdir
S=$FACTEUR_SRC
# the programs are built already (make check); install must not rebuild, and
# must not talk to the jobserver of the make running us
unset MAKEFLAGS MFLAGS MAKELEVEL
inst() { # inst DESTDIR [VAR=VALUE...]: make install, output in $T_TMP/make.out
	d=$1; shift
	make -C "$S" -o build-all install B="$B" DESTDIR="$d" "$@" > "$T_TMP/make.out" 2>&1
}
# the programs the Makefile installs: $(PROGS) of the build.mk fragments
progs=$(make -s -C "$S" --no-print-directory B="$B" \
	--eval 'facteur-print-progs: ; @echo $(notdir $(PROGS))' facteur-print-progs 2>/dev/null) ||
	{ echo "Bail out! cannot read PROGS from the Makefile"; exit 1; }
[ -n "$progs" ] || diag "no program declared yet: only the files are checked"

D=$T_TMP/dest
inst "$D" PREFIX=/usr
r=$?
ok $r "make install DESTDIR=... PREFIX=/usr"
[ $r = 0 ] || sed 's/^/# /' "$T_TMP/make.out" | tail -n 20

L=$D/usr/libexec/facteur
r=0
for p in $progs; do cmp -s "$B/$p" "$L/$p" && [ -x "$L/$p" ] || { r=1; diag "$p not installed"; }; done
ok $r "programs in \$PREFIX/libexec/facteur:$progs"

# the exact file list: nothing from t/ or bench/, nothing forgotten
{
	echo ./etc ./etc/facteur.conf ./etc/pam.d ./etc/pam.d/facteur ./etc/xinetd.d
	for f in "$S"/xinetd.d/facteur-*; do [ -e "$f" ] && echo "./etc/xinetd.d/${f##*/}"; done
	echo ./usr ./usr/libexec ./usr/libexec/facteur
	for p in $progs; do echo "./usr/libexec/facteur/$p"; done
	echo ./var ./var/empty ./var/spool ./var/spool/facteur
	echo ./etc/cron.d ./etc/cron.d/facteur ./usr/lib ./usr/lib/systemd ./usr/lib/systemd/system
	for f in "$S"/systemd/facteur-*; do echo "./usr/lib/systemd/system/${f##*/}"; done
	echo ./usr/share ./usr/share/man ./usr/share/man/man1 ./usr/share/man/man1/mailq.1 \
		./usr/share/man/man1/newaliases.1 ./usr/share/doc ./usr/share/doc/facteur \
		./usr/share/doc/facteur/examples ./usr/share/doc/facteur/examples/jail-facteur.conf
	for f in "$S"/man/*.[1-8]; do echo "./usr/share/man/man${f##*.} ./usr/share/man/man${f##*.}/${f##*/}"; done
} | tr ' ' '\n' | sort -u > "$T_TMP/want"
(cd "$D" && find . -mindepth 1 | sort) > "$T_TMP/got"
same_file "$T_TMP/got" "$T_TMP/want" "installed file list"

mode() { stat -c %a "$1" 2>/dev/null; }
is "$(mode "$D/var/empty"):$(mode "$D/var/spool/facteur")" "755:700" \
	"/var/empty 755 (chroot), queue directory 700"
is "$(mode "$D/etc/facteur.conf"):$(mode "$D/etc/pam.d/facteur")" "644:644" "config and PAM file 644"
ok "$(grep -Eq '^[[:space:]]*(@include[[:space:]]+common-)?auth\b' "$D/etc/pam.d/facteur" &&
	grep -Eq '^[[:space:]]*(@include[[:space:]]+common-)?account\b' "$D/etc/pam.d/facteur"; echo $?)" \
	"PAM file has auth and account"

# xinetd drop-ins: substituted, disabled, pointing at an installed program
n=0
for f in "$D"/etc/xinetd.d/facteur-*; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	name=${f##*/}
	ok "$(! grep -q '@[A-Z]*@' "$f"; echo $?)" "$name: placeholders substituted"
	ok "$(grep -Eq '^[[:space:]]*disable[[:space:]]*=[[:space:]]*yes' "$f"; echo $?)" "$name: disable = yes"
	srv=$(sed -n 's/^[[:space:]]*server[[:space:]]*=[[:space:]]*//p' "$f")
	case $srv in /usr/libexec/facteur/*) r=0 ;; *) r=1 ;; esac
	[ $r = 1 ] || [ -z "$progs" ] || [ -x "$D$srv" ] || r=1
	ok $r "$name: server = $srv, installed"
	is "$(mode "$f")" 644 "$name: mode 644"
done
[ $n -gt 0 ] || skip "no xinetd.d/facteur-* file yet"

# systemd units and the cron file: substituted, pointing at the programs
ok "$(! grep -rq '@[A-Z]*@' "$D/usr/lib/systemd/system" "$D/etc/cron.d" &&
	grep -qx 'ExecStart=/usr/libexec/facteur/smtpd -c /etc/facteur.conf' \
		"$D/usr/lib/systemd/system/facteur-smtp@.service" &&
	grep -q ' /usr/libexec/facteur/sendmail -c /etc/facteur.conf -q$' "$D/etc/cron.d/facteur"; echo $?)" \
	"systemd units and cron.d/facteur substituted (PREFIX=/usr)"

# the config: substituted copy of etc/facteur.conf, every key documented
sed 's|@LIBEXEC@|/usr/libexec/facteur|g' "$S/etc/facteur.conf" > "$T_TMP/conf.want"
same_file "$D/etc/facteur.conf" "$T_TMP/conf.want" "facteur.conf installed with @LIBEXEC@ substituted"
ok "$(grep -qx '#sendmail_path = /usr/libexec/facteur/sendmail' "$D/etc/facteur.conf"; echo $?)" \
	"facteur.conf: sendmail_path default under PREFIX"
keys=$(sed -n 's/^[[:space:]]*{"\([a-z_0-9]*\)", K_.*/\1/p' "$S/lib/conf.c")
[ -n "$keys" ] || diag "no key table found in lib/conf.c"
r=0; rr=0
for k in $keys; do
	grep -q "^#$k = " "$S/etc/facteur.conf" || { r=1; diag "etc/facteur.conf lacks $k"; }
	grep -q "^| \`$k\` " "$S/README.md" 2>/dev/null || { rr=1; diag "README.md lacks $k"; }
done
ok "$([ -n "$keys" ] && [ $r = 0 ]; echo $?)" "etc/facteur.conf shows every key of lib/conf.c"
ok "$([ -n "$keys" ] && [ $rr = 0 ]; echo $?)" "README.md's table lists every key of lib/conf.c"
ok "$(! grep -v '^#' "$S/etc/facteur.conf" | grep -q '[^[:space:]]'; echo $?)" \
	"etc/facteur.conf: everything commented out (no file = same defaults)"

# reinstall over an admin's changes: nothing of theirs is overwritten
echo "myhostname = admin.example" >> "$D/etc/facteur.conf"
echo "# admin" >> "$D/etc/pam.d/facteur"
first=
for f in "$D"/etc/xinetd.d/facteur-*; do
	[ -e "$f" ] || continue
	sed -i 's/disable\( *\)= yes/disable\1= no/' "$f"
	first=${first:-$f}
done
inst "$D" PREFIX=/usr
ok $? "second make install over an existing tree"
ok "$(tail -n 1 "$D/etc/facteur.conf" | grep -qx 'myhostname = admin.example'; echo $?)" "admin's facteur.conf kept"
ok "$(tail -n 1 "$D/etc/pam.d/facteur" | grep -qx '# admin'; echo $?)" "admin's PAM file kept"
if [ -n "$first" ]; then
	ok "$(grep -Eq 'disable *= no' "$first" && grep -Eq 'disable *= yes' "$first.new"; echo $?)" \
		"enabled xinetd file kept, new version beside it as ${first##*/}.new"
else
	skip "no xinetd.d/facteur-* file yet"
fi

# another PREFIX is followed everywhere
D2=$T_TMP/dest2
inst "$D2" PREFIX=/opt/fct
r=$?
for f in "$D2"/etc/xinetd.d/facteur-*; do
	[ -e "$f" ] && { grep -q 'server *= */opt/fct/libexec/facteur/' "$f" || r=1; }
done
grep -qx '#sendmail_path = /opt/fct/libexec/facteur/sendmail' "$D2/etc/facteur.conf" || r=1
[ -z "$progs" ] || [ -d "$D2/opt/fct/libexec/facteur" ] || r=1
ok $r "PREFIX=/opt/fct: programs and paths follow"

# bad destination: make install fails, it does not half-succeed silently
inst /dev/null/x PREFIX=/usr
ok "$([ $? != 0 ]; echo $?)" "make install into an impossible DESTDIR fails"

## make demo: the world it builds, and mail through it
if [ "$(id -u)" != 0 ] || ! command -v xinetd >/dev/null 2>&1; then
	out=$(sh "$S/demo/run.sh" "$B" 2>&1 </dev/null)
	r=$?
	case $r:$out in 1:*"needs root"*) r=0 ;; *) r=1 ;; esac
	ok $r "demo as non-root: says it needs root"
	done_testing
	exit
fi
out=$(SMTP_PORT=abc sh "$S/demo/run.sh" "$B" 2>&1 </dev/null)
case $?:$out in 1:*"bad port"*) r=0 ;; *) r=1 ;; esac
ok $r "demo: a bad port is refused"
DD=$T_TMP/demo
chmod 755 "$T_TMP"    # alice and bob must reach their mailboxes
ps=$(free_port) pp=$(free_port) pi=$(free_port)
DEMO_NO_WAIT=1 DEMO_DIR=$DD SMTP_PORT=$ps POP3_PORT=$pp IMAP_PORT=$pi \
	sh "$S/demo/run.sh" "$B" > "$T_TMP/demo.out" 2>&1 </dev/null
r=$?
XINETD_PID=$(tail -n 1 "$T_TMP/demo.out")
xinetd__chain_trap    # exit stops the demo's xinetd
case $XINETD_PID in ''|*[!0-9]*) r=1; XINETD_PID= ;; esac
ok $r "demo starts (DEMO_NO_WAIT)"
[ $r = 0 ] || sed 's/^/# /' "$T_TMP/demo.out" | tail -n 20
ok "$(grep -q "^alice:[^:]*:[1-9][0-9]*:[0-9]*::$DD/home/alice$" "$DD/passwd" &&
	grep -q "^bob:" "$DD/passwd" && grep -q "alice / alice-pw" "$T_TMP/demo.out"; echo $?)" \
	"demo: users alice and bob (non-root uids) in a passwd-file, passwords printed"
ok "$(grep -qx "mail_spool_directory = $DD/spool" "$DD/facteur.conf" &&
	grep -qx "myhostname = localhost" "$DD/facteur.conf"; echo $?)" "demo: private config"
n=0
for s in smtp:$ps:smtpd pop3:$pp:pop3d imap:$pi:imapd; do
	p=${s#*:}; p=${p%%:*}
	if [ -x "$B/${s##*:}" ]; then
		n=$((n + 1))
		grep -q "nc -C 127.0.0.1 $p" "$T_TMP/demo.out" || r=1
		grep -q "port = $p" "$DD/xinetd.conf" || r=1
	else
		grep -q "port = $p" "$DD/xinetd.conf" && r=1
	fi
done
ok $r "demo: a service and instructions for each program built ($n)"
i=0
until xinetd__listening "$XINETD_PID" $( [ -x "$B/smtpd" ] && echo "$ps") || [ $i -gt 50 ]; do
	sleep 0.1; i=$((i + 1))
done
if [ -x "$B/smtpd" ]; then
	"$PYTHON" -c 'import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.sendmail("bob@localhost", ["alice@localhost"], "Subject: demo test\r\n\r\nhello alice\r\n")
s.quit()' "$ps" 2>"$T_TMP/py.err"
	ok $? "demo: SMTP accepts mail for alice@localhost"
	i=0
	until grep -q "^Subject: demo test" "$DD/spool/alice" 2>/dev/null || [ $i -gt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	ok "$(grep -q "^hello alice$" "$DD/spool/alice" 2>/dev/null; echo $?)" "demo: delivered to $DD/spool/alice"
	if [ -x "$B/pop3d" ]; then "$PYTHON" -c 'import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
p.user("alice"); p.pass_("alice-pw")
body = b"\n".join(p.retr(1)[1])
p.quit()
sys.exit(0 if b"hello alice" in body else 1)' "$pp" 2>>"$T_TMP/py.err"
		ok $? "demo: alice reads it over POP3"
	fi
	if [ -x "$B/imapd" ]; then "$PYTHON" -c 'import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=10)
m.login("alice", "alice-pw")
typ, n = m.select("INBOX")
typ2, d = m.fetch("1", "(BODY.PEEK[TEXT])")
m.logout()
sys.exit(0 if typ == "OK" and b"hello alice" in d[0][1] else 1)' "$pi" 2>>"$T_TMP/py.err"
		ok $? "demo: alice reads it over IMAP"
	fi
	[ -s "$T_TMP/py.err" ] && sed 's/^/# /' "$T_TMP/py.err" | tail -n 5
else
	skip "smtpd not built"
fi

done_testing
