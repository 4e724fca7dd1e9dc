# Helpers for the t/3*-smtp-*.t tests.  Source after tap.sh and env.sh.
# smtp_env: facteur_env (as root alice/bob/carol have uids of their own:
# delivery refuses uid 0, and each mailbox is written by its owner).
smtp_env() { facteur_env; }
# smtp_run [ENV=VALUE...]: a piped session (stdin: LF script, sent as CRLF);
# prints the replies with CR removed.
smtp_run() { crlf | env "$@" "$B/smtpd" -c "$FCONF" | nocr; }
# smtp_raw: the same, stdin sent as is
smtp_raw() { env "$@" "$B/smtpd" -c "$FCONF" | nocr; }
# wait_queue: waits (at most 20 s) until queue/q holds no file.
wait_queue() {
	i=0
	while [ $i -lt 200 ]; do
		[ -z "$(ls -A "$T_TMP/queue/q" 2>/dev/null)" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
# wait_log PATTERN: waits (at most 20 s) for a line of the log.
wait_log() {
	i=0
	while [ $i -lt 200 ]; do
		grep -q -- "$1" "$T_TMP/log" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
# mbox_filter: makes a mailbox comparable (From_ date, Received date/id)
mbox_filter() {
	sed -E -e 's/^(From [^ ]+  ).*/\1DATE/' \
	    -e 's/id [0-9A-F]+/id ID/' -e 's/; [A-Z][a-z][a-z], .*/; DATE/' \
	    -e 's/^(Date|Arrival-Date): .*/\1: DATE/' -e 's/[0-9A-F]{8,}/ID/g'
}
