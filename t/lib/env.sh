# A private facteur installation for one test: spool, queue, homes, users,
# config.  Source after tap.sh, then call facteur_env.
#   $T_TMP/facteur.conf   config (edit or append keys before starting programs)
#   $T_TMP/passwd         passwd-file: alice/alice-pw, bob/bob-pw, carol/carol-pw,
#                         all with the invoking uid/gid, homes $T_TMP/home/NAME
#   $T_TMP/spool/NAME     INBOX mailboxes (mail_spool_directory)
#   $T_TMP/home/NAME/mail folders (mail_folders = ~/mail)
#   $T_TMP/queue          queue_directory;  $T_TMP/aliases alias_maps
#   $T_TMP/log            the programs' log file
# FCONF is the -c argument for every program.
facteur_env() {
	[ -n "${T_TMP:-}" ] || tmpdir
	mkdir -p "$T_TMP/spool" "$T_TMP/queue" "$T_TMP/empty" "$T_TMP/journal"
	chmod 1777 "$T_TMP/spool" 2>/dev/null
	: > "$T_TMP/passwd"
	for u in alice bob carol; do
		mkdir -p "$T_TMP/home/$u/mail"
		h=$("$B/t/bin/mkhash" "$u-pw") || { echo "Bail out! mkhash failed"; exit 1; }
		echo "$u:$h:$(id -u):$(id -g)::$T_TMP/home/$u" >> "$T_TMP/passwd"
	done
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
	export MBOX_JOURNAL_DIR="$T_TMP/journal"
}
# conf_set KEY VALUE: replace or add a key in $FCONF
conf_set() {
	grep -v "^$1 *=" "$FCONF" > "$FCONF.new"; echo "$1 = $2" >> "$FCONF.new"; mv "$FCONF.new" "$FCONF"
}
# crlf: turn LF line ends of stdin into CRLF (session scripts are written with LF)
crlf() { sed 's/$/\r/'; }
# nocr: strip CR from stdin
nocr() { tr -d '\r'; }
