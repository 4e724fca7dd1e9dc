/* The command table and dispatcher (RFC 3501 section 6).  The dispatcher
 * checks the state, syncs the selected mailbox before the command (EXPUNGE
 * responses are held back while a command uses sequence numbers, section
 * 7.4.1) and writes the generic tagged replies, so handlers do neither. */
#include <errno.h>
#include <string.h>
#include "imap.h"
#include "bounds.h"
#include "log.h"

#define F_UID 1       /* may follow "UID " */
#define F_SEQS 2      /* takes sequence numbers unless UID: no EXPUNGE before */
#define F_NOSYNC 4    /* no mailbox sync before it */
#define F_NOVIEW 8    /* does not need the selected mailbox's view */

struct imap_command {
	const char *name;
	imap_handler fn;
	int states;
	int flags;
};

static const struct imap_command commands[] = {
	{ "CAPABILITY", cmd_capability, IMAP_S_ANY, 0 },
	{ "NOOP", cmd_noop, IMAP_S_ANY, 0 },
	{ "LOGOUT", cmd_logout, IMAP_S_ANY, F_NOSYNC | F_NOVIEW },
	{ "ID", cmd_id, IMAP_S_ANY, 0 },
	{ "STARTTLS", cmd_starttls, IMAP_S_NOTAUTH, 0 },
	{ "LOGIN", cmd_login, IMAP_S_NOTAUTH, 0 },
	{ "AUTHENTICATE", cmd_authenticate, IMAP_S_NOTAUTH, 0 },
	{ "ENABLE", cmd_enable, IMAP_S_LOGGED, 0 },
	{ "NAMESPACE", cmd_namespace, IMAP_S_LOGGED, 0 },
	{ "IDLE", cmd_idle, IMAP_S_LOGGED, 0 },
	{ "SELECT", cmd_select, IMAP_S_LOGGED, F_NOSYNC | F_NOVIEW },
	{ "EXAMINE", cmd_examine, IMAP_S_LOGGED, F_NOSYNC | F_NOVIEW },
	{ "CREATE", cmd_create, IMAP_S_LOGGED, 0 },
	{ "DELETE", cmd_delete, IMAP_S_LOGGED, 0 },
	{ "RENAME", cmd_rename, IMAP_S_LOGGED, 0 },
	{ "SUBSCRIBE", cmd_subscribe, IMAP_S_LOGGED, 0 },
	{ "UNSUBSCRIBE", cmd_unsubscribe, IMAP_S_LOGGED, 0 },
	{ "LIST", cmd_list, IMAP_S_LOGGED, 0 },
	{ "LSUB", cmd_lsub, IMAP_S_LOGGED, 0 },
	{ "STATUS", cmd_status, IMAP_S_LOGGED, 0 },
	{ "APPEND", cmd_append, IMAP_S_LOGGED, 0 },
	{ "CHECK", cmd_check, IMAP_S_SELECTED, 0 },
	{ "CLOSE", cmd_close, IMAP_S_SELECTED, F_NOSYNC },
	{ "UNSELECT", cmd_unselect, IMAP_S_SELECTED, F_NOSYNC | F_NOVIEW },
	{ "EXPUNGE", cmd_expunge, IMAP_S_SELECTED, F_UID },
	{ "SEARCH", cmd_search, IMAP_S_SELECTED, F_UID | F_SEQS },
	{ "FETCH", cmd_fetch, IMAP_S_SELECTED, F_UID | F_SEQS },
	{ "STORE", cmd_store, IMAP_S_SELECTED, F_UID | F_SEQS },
	{ "COPY", cmd_copy, IMAP_S_SELECTED, F_UID | F_SEQS },
	{ "MOVE", cmd_move, IMAP_S_SELECTED, F_UID | F_SEQS },
	{ "SORT", cmd_sort, IMAP_S_SELECTED, F_UID | F_SEQS },
	{ "THREAD", cmd_thread, IMAP_S_SELECTED, F_UID | F_SEQS },
	{ "CANCELUPDATE", cmd_cancelupdate, IMAP_S_SELECTED, 0 },
};

void imap_capabilities(struct imap_sess *s, struct buf *b)
{
	buf_adds(b, "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS UNSELECT CONDSTORE QRESYNC "
		 "MOVE CHILDREN SPECIAL-USE ESEARCH LIST-EXTENDED LIST-STATUS");
	/* imap/cmd_sort.c, imap/cmd_thread.c */
	buf_adds(b, " SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES"
		 " CONTEXT=SEARCH CONTEXT=SORT");
	/* imap/cmd_append.c, imap/catenate.c, imap/binary.c */
	buf_adds(b, " MULTIAPPEND BINARY CATENATE CREATE-SPECIAL-USE");
	/* imap/cmd_mailbox.c (STATUS SIZE, RFC 8438), imap/esearch.c (RFC 5182) */
	buf_adds(b, " STATUS=SIZE SEARCHRES");
	if (s->state == IMAP_S_NOTAUTH && s->tls_offer && !s->tls)
		buf_adds(b, " STARTTLS");
	if (s->state == IMAP_S_NOTAUTH)
		buf_adds(b, s->login_ok ? " AUTH=PLAIN" : " LOGINDISABLED");
}

void imap_tagged(struct imap_sess *s, const struct imap_cmd *c, const char *status,
		 const char *fmt, ...)
{
	va_list ap;

	imap_putn(s, c->tag, c->taglen);
	imap_put(s, " %s ", status);
	va_start(ap, fmt);
	io_vprintf(s->io, fmt, ap);
	va_end(ap);
	imap_putn(s, "\r\n", 2);
}

/* a NO reply for a failed mailbox operation, from errno */
void imap_no_errno(struct imap_sess *s, struct imap_cmd *c, int e)
{
	if (e == EAGAIN)
		imap_tagged(s, c, "NO", "[INUSE] Mailbox is locked by another process, try again later.");
	else if (e == ENOENT)
		imap_tagged(s, c, "NO", "[NONEXISTENT] Mailbox doesn't exist.");
	else if (e == EACCES || e == EPERM)
		imap_tagged(s, c, "NO", "[NOPERM] Permission denied.");
	else if (e == ENOSPC)
		imap_tagged(s, c, "NO", "[OVERQUOTA] Not enough disk space.");
	else if (e == EMLINK)
		imap_tagged(s, c, "NO", "[LIMIT] Too many keywords in this mailbox.");
	else if (e == EFBIG || e == E2BIG)
		imap_tagged(s, c, "NO", "[LIMIT] Message too large.");
	else if (e == EDQUOT)
		imap_tagged(s, c, "NO", "[OVERQUOTA] Quota exceeded.");
	else
		imap_tagged(s, c, "NO", "[SERVERBUG] Internal error, see the server log.");
}

static const struct imap_command *lookup(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (str_ieq(p, len, commands[i].name, strlen(commands[i].name)))
			return &commands[i];
	return NULL;
}

static int too_many_errors(struct imap_sess *s)
{
	if (++s->errors < IMAP_ERRORS_MAX)
		return 0;
	imap_put(s, "* BYE Too many invalid commands\r\n");
	return 1;
}

int imap_run_one(struct imap_sess *s, struct buf *cmdbuf)
{
	struct imap_cmd c;
	const struct imap_command *k;
	const char *verb;
	size_t vlen;
	enum imap_res r;

	memset(&c, 0, sizeof c);
	imap_parser_init(&c.ps, cmdbuf->s, cmdbuf->len);
	c.tag = "*";
	c.taglen = 1;
	{
		const char *t;
		size_t tl;
		/* tag = 1*<ASTRING-CHAR except "+"> */
		if (imap_atom(&c.ps, &t, &tl) < 0 || memchr(t, '+', tl) || tl > 200 ||
		    imap_sp(&c.ps) < 0) {
			imap_put(s, "* BAD Missing or invalid tag\r\n");
			return too_many_errors(s) ? IMAP_FATAL : IMAP_DONE;
		}
		c.tag = t;
		c.taglen = tl;
	}
	if (imap_atom(&c.ps, &verb, &vlen) < 0) {
		imap_tagged(s, &c, "BAD", "Missing command");
		goto err;
	}
	if (str_ieq(verb, vlen, "UID", 3)) {
		c.uid = 1;
		if (imap_sp(&c.ps) < 0 || imap_atom(&c.ps, &verb, &vlen) < 0) {
			imap_tagged(s, &c, "BAD", "Missing UID command");
			goto err;
		}
	}
	k = lookup(verb, vlen);
	if (!k || (c.uid && !(k->flags & F_UID))) {
		imap_tagged(s, &c, "BAD", "Unknown command");
		goto err;
	}
	c.name = k->name;
	if (!(k->states & s->state)) {
		/* LOGIN, AUTHENTICATE, STARTTLS: only before login (RFC 3501 6.2) */
		imap_tagged(s, &c, "BAD", "%s not allowed %s", k->name,
			    s->state == IMAP_S_NOTAUTH ? "before login" :
			    k->states == IMAP_S_NOTAUTH ? "after login" :
			    s->state == IMAP_S_AUTH ? "without a selected mailbox" : "now");
		goto err;
	}
	if (s->state == IMAP_S_SELECTED && !(k->flags & F_NOVIEW) && imap_view_materialize(s) < 0) {
		imap_parser_free(&c.ps);
		return IMAP_FATAL;
	}
	if (s->state == IMAP_S_SELECTED && !(k->flags & F_NOSYNC)) {
		int fl = (k->flags & F_SEQS) && !c.uid ? 0 : IMAP_SYNC_EXPUNGE;
		if (imap_view_sync(s, fl) < 0) {
			imap_parser_free(&c.ps);
			return IMAP_FATAL;
		}
		if (s->updates)
			s->updates(s, 0);
	}
	if (!imap_eol(&c.ps) && imap_sp(&c.ps) < 0) {
		imap_tagged(s, &c, "BAD", "Syntax error after command name");
		goto err;
	}
	r = k->fn(s, &c);
	if (r == IMAP_OK)
		imap_tagged(s, &c, "OK", "%s%s completed.", c.uid ? "UID " : "", k->name);
	else if (r == IMAP_BAD)
		imap_tagged(s, &c, "BAD", "Syntax error in %s arguments.", k->name);
	imap_parser_free(&c.ps);
	if (r == IMAP_BAD && too_many_errors(s))
		return IMAP_FATAL;
	if (s->bye)
		return IMAP_FATAL;
	return r;
err:
	imap_parser_free(&c.ps);
	return too_many_errors(s) ? IMAP_FATAL : IMAP_DONE;
}

int imap_loop(struct imap_sess *s)
{
	for (;;) {
		int r = imap_read_command(s, &s->cmd);

		if (r == IMAP_RD_EOF)
			return IMAP_LOGOUT;
		if (r == IMAP_RD_ERR)
			return IMAP_FATAL;
		if (r == IMAP_RD_AGAIN) {
			if (too_many_errors(s))
				return IMAP_FATAL;
			continue;
		}
		r = imap_run_one(s, &s->cmd);
		if (r == IMAP_LOGOUT || r == IMAP_FATAL || r == IMAP_LOGIN)
			return r;
	}
}
