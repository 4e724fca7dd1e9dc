#!/bin/sh
# The Debian package (issue 17): dpkg-buildpackage -us -uc -b from a copy of
# the tree (which stays clean), lintian, the .deb's fields and files, then
# its maintainer scripts run for real by dpkg into a private root (dpkg
# --root --force-script-chrootless: the scripts honour $DPKG_ROOT), through
# install, reinstall, remove and purge, without touching this machine, where
# Postfix and Dovecot run as test peers.  apt's answer to the real Postfix is
# only simulated (apt-get -s).
. "$(dirname "$0")/lib/tap.sh"

need_root "dpkg --root and chown in the private root"
need_cmd dpkg-buildpackage
need_cmd dh
S=$FACTEUR_SRC
tmpdir
getent group mail >/dev/null || skip_all "no group mail on this machine"

## build from a copy
git_state() { git -C "$S" status --porcelain 2>/dev/null; }
before=$(git_state)
mkdir "$T_TMP/src"
if git -C "$S" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$S" && git ls-files -co --exclude-standard -z | tar --null --ignore-failed-read -cf - -T - 2>/dev/null)
else
	(cd "$S" && tar --exclude=./build --exclude=./build-san -cf - .)
fi | tar -xf - -C "$T_TMP/src"
(cd "$T_TMP/src" && dpkg-buildpackage -us -uc -b -j2) > "$T_TMP/build.log" 2>&1
r=$?
ok $r "dpkg-buildpackage -us -uc -b"
[ $r = 0 ] || { tail -n 30 "$T_TMP/build.log" | sed 's/^/# /'; done_testing; exit; }
is "$(git_state)" "$before" "the source tree is left as it was"
deb=$(ls "$T_TMP"/facteur_*_*.deb 2>/dev/null | head -n 1)
ok "$([ -f "$deb" ]; echo $?)" "facteur_*.deb built (${deb##*/})"

## lintian: no error, no warning (the info tags left are explained in debian/README.lintian)
if command -v lintian >/dev/null 2>&1; then
	lintian --allow-root "$T_TMP"/facteur_*.changes > "$T_TMP/lintian.out" 2>&1
	sed 's/^/# /' "$T_TMP/lintian.out"
	ok "$(! grep -q '^E:' "$T_TMP/lintian.out"; echo $?)" "lintian: no error"
	ok "$(! grep -q '^W:' "$T_TMP/lintian.out"; echo $?)" "lintian: no warning"
else
	skip "lintian not installed"
fi

## fields
field() { dpkg-deb -f "$deb" "$1"; }
has() { # has LIST ITEM: ITEM is one of the comma-separated LIST
	echo "$1" | tr ',' '\n' | sed 's/^ *//; s/ *$//' | grep -qx "$2"
}
r=0
for v in mail-transport-agent pop3-server imap-server; do has "$(field Provides)" $v || r=1; done
ok $r "Provides: mail-transport-agent, pop3-server, imap-server"
ok "$(has "$(field Conflicts)" mail-transport-agent && has "$(field Replaces)" mail-transport-agent; echo $?)" \
	"Conflicts and Replaces: mail-transport-agent (Debian policy 7.5 for MTAs)"
ok "$(! field Conflicts | grep -Eq 'pop3-server|imap-server'; echo $?)" \
	"no conflict with other POP3/IMAP servers (Dovecot only Provides them too)"
ok "$(field Recommends | grep -q 'stunnel4' && field Recommends | grep -q 'ssl-cert'; echo $?)" \
	"Recommends: stunnel4 (TLS) and ssl-cert (the default certificate)"
ok "$(field Depends | grep -q 'libpam0g' && field Depends | grep -q 'libpam-runtime'; echo $?)" \
	"Depends on libpam0g (named: dlopen()ed, lib/dyn.h) and libpam-runtime (common-auth)"

## files
dpkg-deb -c "$deb" | awk '{ p = $6; sub(/^\./, "", p); print p ($7 == "->" ? " -> " $8 : "") }' > "$T_TMP/files"
r=0
for f in /usr/libexec/facteur/smtpd /usr/libexec/facteur/sendmail /usr/libexec/facteur/pop3d \
	/usr/libexec/facteur/imapd "/usr/sbin/sendmail -> ../libexec/facteur/sendmail" \
	"/usr/bin/mailq -> ../sbin/sendmail" "/usr/bin/newaliases -> ../sbin/sendmail" \
	"/usr/lib/sendmail -> ../sbin/sendmail" /etc/facteur.conf /etc/pam.d/facteur /etc/cron.d/facteur \
	/etc/xinetd.d/facteur-smtp /etc/xinetd.d/facteur-pop3 /etc/xinetd.d/facteur-imap \
	/etc/xinetd.d/facteur-submission /etc/xinetd.d/facteur-submissions /etc/xinetd.d/facteur-pop3s \
	/etc/xinetd.d/facteur-imaps /usr/share/doc/facteur/examples/jail-facteur.conf \
	/lib/systemd/system/facteur-queue.timer /lib/systemd/system/facteur-queue.service \
	/usr/share/man/man5/facteur.conf.5.gz /usr/share/man/man7/facteur.7.gz \
	/usr/share/man/man8/smtpd.8.gz /usr/share/man/man8/pop3d.8.gz /usr/share/man/man8/imapd.8.gz \
	/usr/share/man/man8/sendmail.8.gz "/usr/share/man/man1/mailq.1.gz -> ../man8/sendmail.8.gz" \
	/var/spool/facteur/; do
	grep -qxF "$f" "$T_TMP/files" || { r=1; diag "missing: $f"; }
done
for p in smtp pop3 imap submission submissions pop3s imaps; do
	for u in "facteur-$p.socket" "facteur-$p@.service"; do
		grep -qxF "/lib/systemd/system/$u" "$T_TMP/files" || { r=1; diag "missing: $u"; }
	done
done
ok $r "programs, sendmail/mailq/newaliases, config, PAM, cron, xinetd and units for the 7 ports, man pages, fail2ban jail example, queue"
ok "$(! grep -Eq '^/(var/empty|usr/local|t/|bench/)' "$T_TMP/files"; echo $?)" \
	"nothing from t/ or bench/, no /usr/local, no /var/empty (postinst makes it)"
mkdir "$T_TMP/x" && dpkg-deb -x "$deb" "$T_TMP/x"
ok "$(! grep -rl '@[A-Z]*@' "$T_TMP/x/etc" "$T_TMP/x/lib" >/dev/null; echo $?)" "placeholders substituted"
ok "$(grep -q '^[[:space:]]*server_args *= -c /etc/facteur.conf -T$' "$T_TMP/x/etc/xinetd.d/facteur-imaps" &&
	grep -qx 'ExecStart=/usr/libexec/facteur/smtpd -c /etc/facteur.conf -T -S' \
	"$T_TMP/x/lib/systemd/system/facteur-submissions@.service"; echo $?)" "TLS ports: imapd -T, smtpd -T -S"
ok "$(grep -qx 'ExecStart=/usr/libexec/facteur/imapd -c /etc/facteur.conf' \
	"$T_TMP/x/lib/systemd/system/facteur-imap@.service"; echo $?)" "units run /usr/libexec/facteur"
dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles | sort > "$T_TMP/conffiles"
printf '%s\n' /etc/cron.d/facteur /etc/facteur.conf /etc/pam.d/facteur /etc/xinetd.d/facteur-imap \
	/etc/xinetd.d/facteur-imaps /etc/xinetd.d/facteur-pop3 /etc/xinetd.d/facteur-pop3s \
	/etc/xinetd.d/facteur-smtp /etc/xinetd.d/facteur-submission /etc/xinetd.d/facteur-submissions \
	| sort > "$T_TMP/conffiles.want"
same_file "$T_TMP/conffiles" "$T_TMP/conffiles.want" "conffiles: every file under /etc"

## dpkg into a private root
# mkroot DIR: an empty dpkg database, base-files' /var/mail (root:mail 2775)
# holding a user's mailbox, and a Dovecot POP3 (Provides: pop3-server)
mkroot() {
	mkdir -p "$1/var/lib/dpkg/info" "$1/var/lib/dpkg/updates" "$1/etc"
	cat > "$1/var/lib/dpkg/status" <<'ST'
Package: dovecot-pop3d
Status: install ok installed
Priority: optional
Section: mail
Maintainer: test <t@example.org>
Architecture: all
Version: 1:2.3.19.1
Provides: pop3-server
Description: stand-in for the Dovecot POP3 server

ST
	install -d -o root -g mail -m 2775 "$1/var/mail"
	printf 'From bob@example.org Thu Dec  3 10:00:00 2026\nSubject: kept\n\nhello\n\n' > "$1/var/mail/alice"
}
dp() { # dp ROOT ARGS...: dpkg on ROOT, maintainer scripts outside a chroot
	r=$1; shift
	dpkg --root="$r" --force-script-chrootless --force-depends --force-confold \
		--log="$T_TMP/dpkg.log" "$@" </dev/null
}
st() { dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Status}' facteur 2>/dev/null; }
mode() { stat -c '%U:%G %a' "$1" 2>/dev/null; }
host_before=$(ls -d /var/spool/facteur /etc/systemd/system/timers.target.wants/facteur-queue.timer \
	/etc/facteur.conf /usr/libexec/facteur 2>&1)

R=$T_TMP/root
mkroot "$R"
cp "$R/var/mail/alice" "$T_TMP/alice.want"
dp "$R" -i "$deb" > "$T_TMP/dpkg.out" 2>&1
r=$?
ok $r "dpkg -i into a private root with Dovecot's POP3 installed"
[ $r = 0 ] || sed 's/^/# /' "$T_TMP/dpkg.out"
is "$(st "$R")" "install ok installed" "facteur installed and configured"
is "$(mode "$R/var/spool/facteur"):$(mode "$R/var/spool/facteur/q"):$(mode "$R/var/spool/facteur/tmp"):$(mode "$R/var/spool/facteur/maildrop")" \
	"root:root 755:root:root 700:root:root 700:root:root 1733" "postinst: the queue and its modes"
is "$(mode "$R/var/empty")" "root:root 755" "postinst: /var/empty, the pre-login chroot"
ok "$(! grep -q 'facteur: warning' "$T_TMP/dpkg.out"; echo $?)" "postinst: no warning with /var/mail root:mail 2775"
ok "$([ -L "$R/etc/systemd/system/timers.target.wants/facteur-queue.timer" ]; echo $?)" \
	"the queue timer is enabled"
ok "$(! ls "$R"/etc/systemd/system/sockets.target.wants/facteur-* >/dev/null 2>&1; echo $?)" \
	"the sockets are not enabled (the admin enables them, as the xinetd drop-ins)"
ok "$(cmp -s "$(readlink -f "$R/usr/bin/mailq")" "$R/usr/libexec/facteur/sendmail"; echo $?)" \
	"mailq -> sendmail -> /usr/libexec/facteur/sendmail"

# reinstall (an upgrade to the same version): the admin's choices stay
echo "myhostname = admin.example" >> "$R/etc/facteur.conf"
dpkg-statoverride --root "$R" --add root mail 0750 /var/spool/facteur
dp "$R" -i "$deb" > "$T_TMP/dpkg.out" 2>&1
ok $? "dpkg -i again (reinstall)"
ok "$(tail -n 1 "$R/etc/facteur.conf" | grep -qx 'myhostname = admin.example'; echo $?)" "the admin's facteur.conf kept"
is "$(mode "$R/var/spool/facteur")" "root:mail 750" "a dpkg-statoverride on the queue is respected"
dpkg-statoverride --root "$R" --remove /var/spool/facteur

# remove: programs go, conffiles and the queue stay, mailboxes untouched
touch "$R/var/spool/facteur/q/QUEUED1"
dp "$R" -r facteur > "$T_TMP/dpkg.out" 2>&1
ok $? "dpkg -r"
ok "$([ ! -e "$R/usr/libexec/facteur/smtpd" ] && [ ! -e "$R/usr/sbin/sendmail" ] &&
	[ -f "$R/etc/facteur.conf" ] && [ -e "$R/var/spool/facteur/q/QUEUED1" ]; echo $?)" \
	"remove: programs gone, config and queue kept"
# purge: the queue and the config go, mailboxes stay
dp "$R" -P facteur > "$T_TMP/dpkg.out" 2>&1
ok $? "dpkg -P (purge)"
ok "$([ ! -e "$R/var/spool/facteur" ] && [ ! -e "$R/etc/facteur.conf" ] &&
	[ ! -e "$R/etc/xinetd.d/facteur-smtp" ] &&
	[ ! -e "$R/etc/systemd/system/timers.target.wants/facteur-queue.timer" ]; echo $?)" \
	"purge: queue, conffiles and the timer's link removed"
same_file "$R/var/mail/alice" "$T_TMP/alice.want" "purge: the mailbox is left byte-identical"
is "$(mode "$R/var/mail")" "root:mail 2775" "purge: /var/mail left as it was"

## bad input: an installed MTA, a missing group
R2=$T_TMP/root2
mkroot "$R2"
cat >> "$R2/var/lib/dpkg/status" <<'ST'
Package: postfix
Status: install ok installed
Priority: optional
Section: mail
Maintainer: test <t@example.org>
Architecture: all
Version: 3.7.11
Provides: mail-transport-agent
Conflicts: mail-transport-agent
Description: stand-in for Postfix

ST
dp "$R2" -i "$deb" > "$T_TMP/dpkg.out" 2>&1
r=$?
ok "$([ $r != 0 ] && grep -q "conflicting packages" "$T_TMP/dpkg.out" && [ "$(st "$R2")" != "install ok installed" ]; echo $?)" \
	"dpkg refuses it beside an installed MTA (Postfix): conflicting packages"
R3=$T_TMP/root3
mkroot "$R3"
echo "mail_privileged_group = fct-nosuchgroup" > "$R3/etc/facteur.conf"
dp "$R3" -i "$deb" > "$T_TMP/dpkg.out" 2>&1
r=$?
ok "$([ $r != 0 ] && grep -q 'fct-nosuchgroup' "$T_TMP/dpkg.out" &&
	[ "$(st "$R3")" = "install ok half-configured" ]; echo $?)" \
	"postinst fails, naming it, when the mail group does not exist"
chmod 755 "$R3/var/mail"; chgrp root "$R3/var/mail"
echo "mail_privileged_group = mail" > "$R3/etc/facteur.conf"
dp "$R3" --configure facteur > "$T_TMP/dpkg.out" 2>&1
ok "$([ $? = 0 ] && grep -q 'warning: /var/mail is not group mail' "$T_TMP/dpkg.out"; echo $?)" \
	"configured once fixed; a spool not of group mail gets a warning"

host_after=$(ls -d /var/spool/facteur /etc/systemd/system/timers.target.wants/facteur-queue.timer \
	/etc/facteur.conf /usr/libexec/facteur 2>&1)
is "$host_after" "$host_before" "this machine's /var/spool, /etc and systemd links untouched"

## apt on this machine, simulated: Postfix goes, Dovecot stays
if dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q ' installed$'; then
	apt-get -s install "$deb" > "$T_TMP/apt.out" 2>&1
	ok "$(grep -q '^Remv postfix' "$T_TMP/apt.out" && ! grep -q '^Remv dovecot' "$T_TMP/apt.out" &&
		grep -q '^Inst facteur' "$T_TMP/apt.out"; echo $?)" \
		"apt-get -s install ./facteur.deb: removes Postfix, keeps Dovecot"
	grep -E '^(Remv|Inst|E:)' "$T_TMP/apt.out" | sed 's/^/# /'
else
	skip "postfix not installed here"
fi

done_testing
