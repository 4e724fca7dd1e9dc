#!/bin/sh
# Issue 14 item 7: LIST-EXTENDED (RFC 5258) and LIST-STATUS (RFC 5819),
# advertised; the RFCs' examples on our layout, bad options, and the same
# mailboxes, attributes, CHILDINFO and STATUS data as Dovecot on the same home.
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
. "$FACTEUR_SRC/t/lib/env.sh"
. "$FACTEUR_SRC/t/imap/lib.sh"
imap_env
H=$T_TMP/home/alice
: | mkbox alice
for i in 1 2 3; do msg $i | deliver alice; done

cat > "$T_TMP/setup" <<'IN'
a1 LOGIN alice alice-pw
a2 CREATE Foo/Bar
a3 CREATE Foo/Baz
a4 CREATE Top
a5 SUBSCRIBE Foo/Bar
a6 SUBSCRIBE Top
a7 APPEND Top (\Seen) {21+}
Subject: seen

body
a8 APPEND Top {23+}
Subject: unseen

body
a9 CAPABILITY
IN
imap < "$T_TMP/setup" > "$T_TMP/setup.out"
grep -q '^\* CAPABILITY .* LIST-EXTENDED LIST-STATUS' "$T_TMP/setup.out"; ok $? "LIST-EXTENDED and LIST-STATUS advertised"

# the commands, run by facteur and by Dovecot
cat > "$T_TMP/cmds" <<'IN'
LIST "" % RETURN (STATUS (MESSAGES UNSEEN))
LIST (SUBSCRIBED) "" *
LIST (SUBSCRIBED RECURSIVEMATCH) "" %
LIST (SUBSCRIBED RECURSIVEMATCH) "" *
LIST (SUBSCRIBED RECURSIVEMATCH) "" Foo
LIST (SUBSCRIBED) "" * RETURN (CHILDREN STATUS (MESSAGES UIDNEXT))
LIST "" (INBOX Top "Foo/%") RETURN (SUBSCRIBED)
LIST (REMOTE) "" %
LIST () "" % RETURN ()
LIST (RECURSIVEMATCH) "" %
LIST (REMOTE RECURSIVEMATCH) "" %
LIST (FOO) "" %
LIST "" % RETURN (FOO)
LIST "" % RETURN (STATUS ())
LIST "" % RETURN (STATUS (BOGUS))
LIST "" % RETURN (STATUS MESSAGES)
IN
{ echo "l0 LOGIN alice alice-pw"; awk '{ print "l" NR " " $0 }' "$T_TMP/cmds"; } | imap > "$T_TMP/f.out"
r() { sed -n "/^l$(($1 - 1)) /,/^l$1 /p" "$T_TMP/f.out" | sed 1d; }

# RFC 5819 3: each selectable mailbox's STATUS right after its LIST line
is "$(r 1)" '* LIST (\HasNoChildren) "/" "INBOX"
* STATUS "INBOX" (MESSAGES 3 UNSEEN 3)
* LIST (\Noselect \HasChildren) "/" "Foo"
* LIST (\NoInferiors) "/" "Top"
* STATUS "Top" (MESSAGES 2 UNSEEN 1)
l1 OK LIST completed.' "LIST RETURN (STATUS): STATUS after each selectable mailbox, none for \\Noselect"
is "$(r 2 | grep -c '\\Subscribed')" 2 "SUBSCRIBED selection lists the two subscriptions"
is "$(r 3)" '* LIST (\NoInferiors \Subscribed) "/" "Top"
* LIST (\Noselect \HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))
l3 OK LIST completed.' "RECURSIVEMATCH with %: the unsubscribed parent with CHILDINFO (RFC 5258 example 6)"
lacks_in CHILDINFO "with *: the children are listed, no CHILDINFO" "$(r 4)"
is "$(r 5 | head -n 1)" '* LIST (\Noselect \HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))' "RECURSIVEMATCH on the parent's own name"
is "$(r 6 | grep -c '^\* STATUS')" 2 "SUBSCRIBED with RETURN (STATUS)"
r 6 | grep -q '^\* STATUS "Top" (MESSAGES 2 UIDNEXT 3)$'; ok $? "STATUS items in the RETURN option"
is "$(r 7 | grep -c '^\* LIST')" 4 "several patterns (INBOX, Top, Foo/Bar, Foo/Baz)"
r 7 | grep -q '^\* LIST (\\NoInferiors \\Subscribed) "/" "Foo/Bar"$'; ok $? "RETURN (SUBSCRIBED) marks subscriptions"
is "$(r 8 | grep -c '^\* LIST')" 3 "REMOTE: no remote mailboxes, the local ones"
is "$(r 9 | grep -c '^\* LIST')" 3 "empty selection and return options"
for i in 10 11 12 13 14 15 16; do
	r $i | grep -q "^l$i BAD"; ok $? "BAD: $(sed -n "${i}p" "$T_TMP/cmds")"
done

DOVECOT=/usr/lib/dovecot/imap
if [ -x "$DOVECOT" ] && { [ "$(id -u)" = 0 ] || [ "$(id -u)" -ge 500 ]; }; then
	{ awk '{ print "l" NR " " $0 }' "$T_TMP/cmds"; echo "lz LOGOUT"; } | crlf |
		as_user alice env -i USER=alice HOME="$H" PATH=/usr/bin:/bin "$DOVECOT" \
		-o "mail_location=mbox:$H/mail:INBOX=$SPOOL/alice" 2>/dev/null | nocr > "$T_TMP/d.out"
	# compare: names (unquoted), Noselect/NonExistent, Subscribed, CHILDINFO,
	# STATUS data, tagged status; sorted per command
	norm() {
		awk '/^l[0-9]+ /{ print $1, $2; next }
		     /^\* LIST/ { n = $NF; if ($0 ~ /CHILDINFO/) n = $(NF-2) " CHILDINFO"
			 a = ""; if ($0 ~ /\\Noselect|\\NoSelect/) a = a " noselect"; if ($0 ~ /\\NonExistent/) a = a " nonexistent"
			 if ($0 ~ /\\Subscribed/) a = a " subscribed"; gsub(/"/, "", n); print "LIST", n a; next }
		     /^\* STATUS/ { gsub(/"/, ""); print; next }' "$1" |
		awk '/^l[0-9]+ / { print $0; next } { print }' | sort
	}
	norm "$T_TMP/f.out" | grep -v '^l0 ' > "$T_TMP/f.norm"
	norm "$T_TMP/d.out" | grep -v '^lz ' > "$T_TMP/d.norm"
	same_file "$T_TMP/f.norm" "$T_TMP/d.norm" "the same lists, attributes, CHILDINFO, STATUS and results as Dovecot"
else
	skip "dovecot-imapd not installed"
fi
done_testing
