# Private instances of the peers the benches compare with, on 127.0.0.1.
# Source after t/lib/tap.sh (T_TMP set).
#   postfix_start DIR PORT [MAIN_CF_LINE...]  a Postfix instance in DIR: its
#       smtpd on PORT, local delivery of u0..u9@example.test to mbox files
#       DIR/mail/uN through aliases (fsync'ed, as facteur's); the extra lines
#       go to main.cf.  Sets PF_MASTER (the master's pid).  1 if it does not
#       start (the reason is printed).
#   postfix_stop DIR
#   dovecot_start DIR POP3_PORT IMAP_PORT  a Dovecot instance in DIR (pop3 and
#       imap, passwd-file $T_TMP/passwd, mbox); sets DV_MASTER.
#   dovecot_stop
DV_MASTER=

postfix_start() {
	pf_dir=$1 pf_port=$2
	shift 2
	command -v postfix >/dev/null 2>&1 || { echo "# postfix not installed"; return 1; }
	mkdir -p "$pf_dir/etc" "$pf_dir/queue" "$pf_dir/data" "$pf_dir/mail"
	chown postfix "$pf_dir/data"; chmod 1777 "$pf_dir/mail"
	: > "$pf_dir/etc/aliases"
	for i in 0 1 2 3 4 5 6 7 8 9; do echo "u$i: $pf_dir/mail/u$i" >> "$pf_dir/etc/aliases"; done
	cat > "$pf_dir/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $pf_dir/queue
data_directory = $pf_dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.example.test
mydestination = example.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps = hash:$pf_dir/etc/aliases
alias_database = hash:$pf_dir/etc/aliases
local_recipient_maps = \$alias_maps
allow_mail_to_files = alias
default_privs = nobody
smtpd_recipient_restrictions = permit_mynetworks, reject
default_process_limit = 100
CF
	for pf_line in "$@"; do echo "$pf_line" >> "$pf_dir/etc/main.cf"; done
	sed "s/^smtp      inet/127.0.0.1:$pf_port inet/" /etc/postfix/master.cf > "$pf_dir/etc/master.cf"
	grep -q "^127.0.0.1:$pf_port " "$pf_dir/etc/master.cf" || { echo "# cannot adapt master.cf"; return 1; }
	# -c: /etc/postfix/main.cf need not exist
	postalias -c "$pf_dir/etc" "$pf_dir/etc/aliases" || return 1
	postfix -c "$pf_dir/etc" check >/dev/null 2>&1
	if ! postfix -c "$pf_dir/etc" start > "$pf_dir/start.err" 2>&1; then
		echo "# postfix did not start:"; sed 's/^/# /' "$pf_dir/start.err"
		return 1
	fi
	pf_i=0
	while ! "$PYTHON" -c "import socket; socket.create_connection(('127.0.0.1', $pf_port), 1)" 2>/dev/null; do
		pf_i=$((pf_i + 1)); [ $pf_i -lt 100 ] || { echo "# postfix does not listen"; return 1; }
		sleep 0.1
	done
	PF_MASTER=$(tr -dc 0-9 < "$pf_dir/queue/pid/master.pid")
	return 0
}

postfix_stop() {
	[ -f "$1/etc/main.cf" ] && postfix -c "$1/etc" stop >/dev/null 2>&1
	chmod 755 "$1/mail" 2>/dev/null
	return 0
}

dovecot_start() {
	dv_dir=$1
	DOVECOT=$(command -v dovecot || echo /usr/sbin/dovecot)
	[ -x "$DOVECOT" ] || { echo "# dovecot not installed"; return 1; }
	mkdir -p "$dv_dir/run" "$dv_dir/state" "$dv_dir/spool"
	chmod 1777 "$dv_dir/spool"
	cat > "$dv_dir/dovecot.conf" <<CONF
protocols = pop3 imap
listen = 127.0.0.1
base_dir = $dv_dir/run
state_dir = $dv_dir/state
log_path = $dv_dir/dovecot.log
ssl = no
passdb {
  driver = passwd-file
  args = scheme=CRYPT $T_TMP/passwd
}
userdb {
  driver = passwd-file
  args = $T_TMP/passwd
}
mail_location = mbox:~/mail:INBOX=$dv_dir/spool/%u
first_valid_uid = 1
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $2
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $3
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
	"$DOVECOT" -F -c "$dv_dir/dovecot.conf" > "$dv_dir/out" 2>&1 &
	DV_MASTER=$!
	dv_i=0
	until "$PYTHON" -c "import socket; socket.create_connection(('127.0.0.1', $3), 1)" 2>/dev/null; do
		dv_i=$((dv_i + 1))
		if [ $dv_i -ge 50 ]; then
			echo "# dovecot did not start:"; tail -5 "$dv_dir/out" "$dv_dir/dovecot.log" | sed 's/^/# /'
			dovecot_stop
			return 1
		fi
		sleep 0.2
	done
	return 0
}

dovecot_stop() {
	[ -n "$DV_MASTER" ] || return 0
	kill "$DV_MASTER" 2>/dev/null
	wait "$DV_MASTER" 2>/dev/null
	DV_MASTER=
}
