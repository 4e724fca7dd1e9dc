#!/bin/sh
# docs/tp-fr.md, the lab in French with facteur, replayed (issue 17): every
# dialogue block marked `<!-- replay: smtp|pop3|imap -->` is typed again
# (client lines found by following the protocol, t/tp/replay.py) against
# facteur under xinetd with the lab's settings (machine 7, mail7.com, users
# foo and bar), and the real answers must be those of the document, up to
# dates, queue ids and sizes.  `<!-- replay: mbox USER -->` blocks are
# compared with the user's mailbox, `<!-- replay: conf -->` is the config
# used.  TP_GEN=1 prints the real transcripts (to write the document).
. "$(dirname "$0")/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/lib/xinetd.sh"
need_root "xinetd, users with their own uids"
xinetd_need
S=$FACTEUR_SRC
DOC=$S/docs/tp-fr.md
[ -f "$DOC" ] || skip_all "no docs/tp-fr.md"
facteur_env

# block KIND [ARG]: the fenced blocks after each <!-- replay: KIND ARG -->,
# written to $T_TMP/blk.N, their number printed
block() {
	awk -v want="$*" -v dir="$T_TMP" '
		/^<!-- replay: / { k = $0; sub(/^<!-- replay: /, "", k); sub(/ -->$/, "", k); armed = (k == want); next }
		armed && /^```/ && !inb { inb = 1; n++; f = dir "/blk." n; printf "" > f; next }
		inb && /^```/ { inb = 0; armed = 0; close(f); next }
		inb { print > f }
		END { print n + 0 }' "$DOC"
}

# the lab's configuration, as the document gives it, plus the private paths
n=$(block conf)
is "$n" 1 "one configuration block"
grep -v -e '^myhostname' -e '^mydomain' -e '^myorigin' -e '^mydestination' -e '^mynetworks' \
	-e '^login_trusted_networks' "$FCONF" > "$FCONF.new"
cat "$T_TMP/blk.1" >> "$FCONF.new"
mv "$FCONF.new" "$FCONF"
ok "$(grep -qx 'mydestination = mail7.com, localhost.localdomain, localhost' "$FCONF"; echo $?)" \
	"the document's config has the lab's mydestination"
# users foo and bar (passwords foo, bar) with their own uids, as adduser
: > "$T_TMP/passwd"
# (the uids env.sh chose for alice and bob: its per-process range)
i=0
for u in foo bar; do
	id=$((T_UID_BASE + i)); i=$((i + 1))
	mkdir -p "$T_TMP/home/$u/mail"; chown -R "$id:$id" "$T_TMP/home/$u"; chmod 700 "$T_TMP/home/$u"
	echo "$u:$("$B/t/bin/mkhash" "$u"):$id:$id::$T_TMP/home/$u" >> "$T_TMP/passwd"
done
# a certificate, as Debian's ssl-cert gives one: the document's EHLO and
# IMAP greeting show STARTTLS, as on the lab's machines
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" -days 2 \
	-subj /CN=smtp7.mail7.com > /dev/null 2>&1 && chmod 600 "$T_TMP/key.pem" || { echo "Bail out! openssl req"; exit 1; }
printf 'tls_cert_file = %s\ntls_key_file = %s\n' "$T_TMP/cert.pem" "$T_TMP/key.pem" >> "$FCONF"
PS=$(free_port) PP=$(free_port) PI=$(free_port)
xinetd_start smtp="$PS" pop3="$PP" imap="$PI"

R=$S/t/tp/replay.py
replay() { # replay PROTO PORT FILE NAME: typed again, compared
	if [ -n "${TP_GEN:-}" ]; then
		"$PYTHON" "$R" "$1" "$2" --cmds < "$3" | sed "s/^/# $1: /"
		return
	fi
	"$PYTHON" "$R" "$1" "$2" < "$3" > "$3.real" 2>&1
	"$PYTHON" "$R" normalize < "$3" > "$3.want"
	"$PYTHON" "$R" normalize < "$3.real" > "$3.got"
	same_file "$3.got" "$3.want" "$4"
	cmp -s "$3.got" "$3.want" || diff "$3.want" "$3.got" | sed 's/^/# /' | head -n 20
}
wait_mail() { # wait_mail USER N: until the mailbox holds N messages (10 s)
	i=0
	until [ "$(grep -c '^From ' "$T_TMP/spool/$1" 2>/dev/null)" -ge "$2" ] || [ $i -gt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# SMTP, then the mailbox, then POP3 and IMAP: in the document's order
n=$(block smtp)
ok "$([ "$n" -ge 1 ]; echo $?)" "SMTP dialogues in the document ($n)"
for k in $(seq 1 "$n"); do replay smtp "$PS" "$T_TMP/blk.$k" "SMTP dialogue $k"; done
wait_mail foo 1
n=$(block mbox foo)
if [ "$n" -ge 1 ] && [ -z "${TP_GEN:-}" ]; then
	"$PYTHON" "$R" normalize < "$T_TMP/blk.1" > "$T_TMP/mbox.want"
	"$PYTHON" "$R" normalize < "$T_TMP/spool/foo" > "$T_TMP/mbox.got"
	same_file "$T_TMP/mbox.got" "$T_TMP/mbox.want" "/var/mail/foo as shown"
	cmp -s "$T_TMP/mbox.got" "$T_TMP/mbox.want" || diff "$T_TMP/mbox.want" "$T_TMP/mbox.got" | sed 's/^/# /' | head
elif [ -n "${TP_GEN:-}" ]; then
	sed 's/^/# mbox: /' "$T_TMP/spool/foo"
else
	ok 1 "a /var/mail/foo block"
fi
n=$(block pop3)
ok "$([ "$n" -ge 1 ]; echo $?)" "POP3 dialogues in the document ($n)"
for k in $(seq 1 "$n"); do replay pop3 "$PP" "$T_TMP/blk.$k" "POP3 dialogue $k"; done
n=$(block imap)
ok "$([ "$n" -ge 1 ]; echo $?)" "IMAP dialogues in the document ($n)"
for k in $(seq 1 "$n"); do replay imap "$PI" "$T_TMP/blk.$k" "IMAP dialogue $k"; done

# the replay can fail: a changed answer is caught
printf '220 x ESMTP\nquit\n221 2.0.0 Au revoir\n' > "$T_TMP/bad"
"$PYTHON" "$R" smtp "$PS" < "$T_TMP/bad" | "$PYTHON" "$R" normalize > "$T_TMP/bad.got"
"$PYTHON" "$R" normalize < "$T_TMP/bad" > "$T_TMP/bad.want"
ok "$(! cmp -s "$T_TMP/bad.got" "$T_TMP/bad.want"; echo $?)" "a transcript that differs is caught"
[ -n "${TP_GEN:-}" ] && { ls -ln "$T_TMP/spool" "$T_TMP" | sed "s/^/# /"; tail -n 20 "$T_TMP/log" | sed "s/^/# log: /"; }
done_testing
