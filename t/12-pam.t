#!/bin/sh
# auth_check and the pre-auth split through the real PAM stack with
# etc/pam.d/facteur (installed for the test under a private service name),
# for system users fct1 (password fct1-pw) and fct2 that the test creates
# and removes.  Root only.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
need_root "creates system users"
need_cmd useradd
need_cmd chpasswd
need_cmd flock
[ -x "$B/t/unit/auth" ] && [ -x "$B/t/unit/priv" ] || { echo "Bail out! build first"; exit 1; }
tmpdir
SVC=facteur-test-$$
cleanup() {
	for u in fct1 fct2; do userdel -r "$u" >/dev/null 2>&1; done
	rm -f "/etc/pam.d/$SVC"
	rm -rf "$T_TMP"
}
# other root tests may use the same user names: one at a time
exec 9>/run/lock/facteur-test-users.lock
flock -w 120 9 || { echo "Bail out! test users lock busy"; exit 1; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

for u in fct1 fct2; do userdel -r "$u" >/dev/null 2>&1; done
install -m 644 "$FACTEUR_SRC/etc/pam.d/facteur" "/etc/pam.d/$SVC"
useradd -m -s /bin/sh -G users fct1 && echo 'fct1:fct1-pw' | chpasswd
ok $? "useradd fct1 + chpasswd"
useradd -m -s /bin/sh fct2 && echo 'fct2:fct2-pw' | chpasswd && usermod -L fct2
ok $? "useradd fct2 + chpasswd, locked"

sub_tap auth "$B/t/unit/auth" pam "$SVC" "$T_TMP/log"
usermod -U fct2
sub_tap unlocked "$B/t/unit/auth" pamuser "$SVC" "$T_TMP/log" fct2 fct2-pw ok
chage -E 0 fct2
sub_tap expired "$B/t/unit/auth" pamuser "$SVC" "$T_TMP/log" fct2 fct2-pw refused
lacks "$T_TMP/log" 'fct1-pw|fct2-pw' "no password in the log"

# the whole split: a chrooted nobody child, the root parent asks PAM and
# becomes fct1 with its supplementary groups
sub_tap split "$B/t/unit/priv" pam "$SVC" fct1 fct1-pw
done_testing
