# A private facteur installation for one test, on the layout of a stock
# Debian 12 host.  Source after tap.sh, then call facteur_env.
#   $T_TMP/facteur.conf   config (edit or append keys before starting programs)
#   $T_TMP/passwd         passwd-file: alice/alice-pw, bob/bob-pw, carol/carol-pw,
#                         homes $T_TMP/home/NAME (mode 700, owned by the user)
#   $T_TMP/spool/NAME     INBOX mailboxes (mail_spool_directory); no mailbox
#                         exists before the first delivery
#   $T_TMP/home/NAME/mail folders (mail_folders = ~/mail)
#   $T_TMP/queue          queue_directory;  $T_TMP/aliases alias_maps
#   $T_TMP/log            the programs' log file
# FCONF is the -c argument for every program.
#
# As root (the default for `make check` and CI), the layout users have:
# the spool is root:mail 2775 as Debian ships /var/mail, and alice, bob and
# carol each have a uid and gid of their own (distinct from root, from each
# other and from other tests running at the same time), so every mailbox
# write really happens as its owner through the mail group.  A test that
# needs another layout (1777 spool, 0660 mailboxes) sets it up itself and
# says why.  As non-root every user is the invoking uid and the spool is
# 1777 (nothing else is possible); the tests that need uids skip.
#
# Helpers:
#   user_uid NAME / user_gid NAME   the user's uid/gid (from $T_TMP/passwd)
#   as_user NAME CMD...             runs CMD as that user with the credentials
#                                   our servers have after login (root:
#                                   t/bin/runas: saved gid mail), HOME its home
#   mkbox NAME [MODE]               the user's INBOX from stdin, owned by the
#                                   user, group mail (root), MODE default 600
#   mkfolder NAME FOLDER            a folder mailbox from stdin, owned by the user
#   deliver NAME [SENDER]           appends stdin to the INBOX through libmbox,
#                                   as the user (t/bin/mboxtool)
#   wait_for PATTERN FILE           bounded wait (10 s) for a line of FILE
#   spool_layout debian|1777        switches the spool's mode (root only)
facteur_env() {
	[ -n "${T_TMP:-}" ] || tmpdir
	mkdir -p "$T_TMP/spool" "$T_TMP/queue" "$T_TMP/empty"
	: > "$T_TMP/passwd"
	if [ "$(id -u)" = 0 ]; then
		# three consecutive uids per test process, below Debian's 65534
		T_UID_BASE=$((61000 + ($$ % 1300) * 3))
		chmod 755 "$T_TMP"
	fi
	T_N_USER=0
	for u in alice bob carol; do
		mkdir -p "$T_TMP/home/$u/mail"
		h=$("$B/t/bin/mkhash" "$u-pw") || { echo "Bail out! mkhash failed"; exit 1; }
		if [ "$(id -u)" = 0 ]; then
			uid=$((T_UID_BASE + T_N_USER)); gid=$uid
			chown -R "$uid:$gid" "$T_TMP/home/$u"
			chmod 700 "$T_TMP/home/$u"
		else
			uid=$(id -u); gid=$(id -g)
		fi
		T_N_USER=$((T_N_USER + 1))
		echo "$u:$h:$uid:$gid::$T_TMP/home/$u" >> "$T_TMP/passwd"
	done
	chmod 644 "$T_TMP/passwd"
	spool_layout debian
	printf 'postmaster: alice\nteam: alice, bob\n' > "$T_TMP/aliases"
	cat > "$T_TMP/facteur.conf" <<CONF
# test configuration written by t/lib/env.sh
myhostname = mail.example.test
mydomain = example.test
mydestination = \$myhostname, localhost, example.test
mynetworks = 127.0.0.0/8 [::1]/128
login_trusted_networks = 192.168.0.0/24
auth = passwd-file:$T_TMP/passwd
log = $T_TMP/log
mail_spool_directory = $T_TMP/spool
queue_directory = $T_TMP/queue
alias_maps = $T_TMP/aliases
empty_directory = $T_TMP/empty
auth_failure_delay = 10
sendmail_path = $B/sendmail
CONF
	FCONF=$T_TMP/facteur.conf
	SPOOL=$T_TMP/spool
	if [ "$(id -u)" != 0 ]; then
		# never the invoking user's real home
		mkdir -p "$T_TMP/journal"
		export MBOX_JOURNAL_DIR="$T_TMP/journal"
	fi
}

# spool_layout debian: root:mail 2775 (Debian's /var/mail); 1777: the
# world-writable sticky spool of other systems (no mail group needed)
spool_layout() {
	if [ "$(id -u)" != 0 ]; then chmod 1777 "$T_TMP/spool" && chmod g-s "$T_TMP/spool"; return; fi
	case $1 in
	debian) chown root:mail "$T_TMP/spool" && chmod 2775 "$T_TMP/spool" ;;
	1777) chown root:root "$T_TMP/spool" && chmod 1777 "$T_TMP/spool" && chmod g-s "$T_TMP/spool" ;;
	*) echo "Bail out! spool_layout $1"; exit 1 ;;
	esac
}

user_uid() { awk -F: -v u="$1" '$1 == u { print $3 }' "$T_TMP/passwd"; }
user_gid() { awk -F: -v u="$1" '$1 == u { print $4 }' "$T_TMP/passwd"; }

as_user() {
	au_u=$1; shift
	if [ "$(id -u)" = 0 ]; then
		"$B/t/bin/runas" "$(user_uid "$au_u")" "$(user_gid "$au_u")" env HOME="$T_TMP/home/$au_u" "$@"
	else
		env HOME="$T_TMP/home/$au_u" "$@"
	fi
}

mkbox() {
	cat > "$SPOOL/$1" && chmod "${2:-600}" "$SPOOL/$1"
	if [ "$(id -u)" = 0 ]; then chown "$(user_uid "$1"):mail" "$SPOOL/$1"; fi
}

mkfolder() {
	mf_f=$T_TMP/home/$1/mail/$2
	mkdir -p "$(dirname "$mf_f")"
	cat > "$mf_f" && chmod 600 "$mf_f"
	if [ "$(id -u)" = 0 ]; then chown -R "$(user_uid "$1"):$(user_gid "$1")" "$T_TMP/home/$1/mail"; fi
}

deliver() {
	as_user "$1" "$B/t/bin/mboxtool" append "$SPOOL/$1" -s "${2:-sender@example.test}" > /dev/null
}

wait_for() {
	wf_i=0
	until grep -q -- "$1" "$2" 2>/dev/null; do
		wf_i=$((wf_i + 1))
		[ $wf_i -le 100 ] || return 1
		sleep 0.1
	done
}

# conf_set KEY VALUE: replace or add a key in $FCONF
conf_set() {
	grep -v "^$1 *=" "$FCONF" > "$FCONF.new"; echo "$1 = $2" >> "$FCONF.new"; mv "$FCONF.new" "$FCONF"
}
# crlf: turn LF line ends of stdin into CRLF (session scripts are written with LF)
crlf() { sed 's/$/\r/'; }
# nocr: strip CR from stdin
nocr() { tr -d '\r'; }
