#!/bin/sh
# libmbox's structure (issue 11 item 1): no cycle in the file-level call
# graph (t/lib/callgraph.sh), mbox_lock the only caller of recovery, no
# reader that locks behind its caller's back, lock internals not public.
# Also smtp's call graph has no cycle (item 4: scheduling in runner.c),
# every limit lives in lib/bounds.h and the lock-timeout rule is one
# function (item 3); imapd's call graph has no cycle and SMTP replies are
# written by smtp/reply.c only (item 5).
. "${FACTEUR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/tap.sh"
S=$FACTEUR_SRC/libmbox
[ -f "$S/recover.c" ] || { echo "Bail out! no $S/recover.c"; exit 1; }
sh "$FACTEUR_SRC/t/lib/callgraph.sh" "$S" > "${TMPDIR:-/tmp}/cg.$$"
r=$?
sed 's/^/# /' "${TMPDIR:-/tmp}/cg.$$"
ok $r "libmbox's call graph has no cycle"
grep -q '^lock -> recover$' "${TMPDIR:-/tmp}/cg.$$"; ok $? "lock calls recover"
is "$(grep -l 'mbox_recover(' "$S"/*.c | xargs -n1 basename | sort | tr '\n' ' ')" "lock.c recover.c " \
	"mbox_recover is called from lock.c only"
rm -f "${TMPDIR:-/tmp}/cg.$$"
is "$(grep -c 'mbox_lock(' "$S/read.c" "$S/scan.c" "$S/recover.c" "$S/journal.c" | awk -F: '{s += $2} END {print s}')" 0 \
	"read, scan, recover and journal never take a lock"
grep -qE 'dotlocked|lock_ino|lockpath|mbox_set_crash|getenv' "$S/mbox.h"; r=$?
[ $r -eq 1 ]; ok $? "mbox.h shows no lock internals"

# smtp: no cycle (runner -> deliver -> relay, deliver never calls the runner)
sh "$FACTEUR_SRC/t/lib/callgraph.sh" "$FACTEUR_SRC/smtp" > "${TMPDIR:-/tmp}/cg.$$"
r=$?
grep -E 'tsort|no cycle' "${TMPDIR:-/tmp}/cg.$$" | sed 's/^/# /'
ok $r "smtp's call graph has no cycle"
lacks "${TMPDIR:-/tmp}/cg.$$" '^(deliver|receive|relay|pickup) -> runner$' "only smtpd's worker, sendmail and the runner itself schedule runs"
rm -f "${TMPDIR:-/tmp}/cg.$$"
# limits: a limit-like #define outside lib/bounds.h is a defect, except
# format facts and derived values named here
F=$FACTEUR_SRC
grep -nE '^#define [A-Z0-9_]*(_MAX|_SEC|_MS|_LIMIT|TIMEOUT)\b' "$F"/lib/*.[ch] "$F"/smtp/*.[ch] "$F"/pop3/*.[ch] \
	"$F"/imap/*.[ch] "$F"/imap/mime/*.[ch] "$F"/libmbox/*.[ch] |
	grep -vE '/lib/bounds\.h:|define (IO_TIMEOUT|Q_ID_MAX|R_MAX|POP3_LINE_MAX|POP3_ARGS_MAX|HOLD_MAX|MBOX_KW_MAX|PREC_MAX|IMAP_R_MAX|MODSEQ_MAX) ' \
	> "${TMPDIR:-/tmp}/lim.$$"
sed 's/^/# /' "${TMPDIR:-/tmp}/lim.$$"
is "$(wc -l < "${TMPDIR:-/tmp}/lim.$$")" 0 "every limit is in lib/bounds.h"
rm -f "${TMPDIR:-/tmp}/lim.$$"
is "$(grep -l 'lock_timeout' "$F"/smtp/*.c "$F"/pop3/*.c "$F"/imap/*.c | wc -l)" 0 \
	"no server reads lock_timeout itself: conf_lock_ms is the one rule"
grep -q '^unsigned conf_lock_ms(' "$F/lib/conf.c"; ok $? "conf_lock_ms is in lib/conf.c"

# imap: helpers where their names say: no command file calls another's,
# no cycle (imap_view -> imap_seq -> ..., flags and dates in imap_parse)
sh "$FACTEUR_SRC/t/lib/callgraph.sh" "$F/imap" > "${TMPDIR:-/tmp}/cg.$$"
ok $? "imap's call graph has no cycle"
lacks "${TMPDIR:-/tmp}/cg.$$" '^(imap_[a-z]*|cmd_[a-z]*) -> cmd_(fetch|copy|select|store)$' \
	"no file calls into cmd_fetch, cmd_copy, cmd_select or cmd_store"
rm -f "${TMPDIR:-/tmp}/cg.$$"
# smtp: every server reply comes from the table in reply.c
grep -nE '(io_printf|io_puts)\([^,]*, *"[2-5][0-9][0-9][ -]|replyf\(' "$F"/smtp/*.c | grep -v '/smtp/reply\.c:' \
	> "${TMPDIR:-/tmp}/rp.$$"
sed 's/^/# /' "${TMPDIR:-/tmp}/rp.$$"
is "$(wc -l < "${TMPDIR:-/tmp}/rp.$$")" 0 "SMTP replies are written by reply.c only"
rm -f "${TMPDIR:-/tmp}/rp.$$"
done_testing
