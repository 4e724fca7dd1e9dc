/* Commands valid in any state and the small extensions: CAPABILITY, NOOP,
 * LOGOUT (RFC 3501 6.1), ID (RFC 2971), ENABLE (RFC 5161), NAMESPACE
 * (RFC 2342), IDLE (RFC 2177).  NOOP gets the mailbox updates from the
 * dispatcher's sync; IDLE polls the mailbox every few seconds. */
#include <string.h>
#include <time.h>
#include "imap.h"
#include "bounds.h"


enum imap_res cmd_capability(struct imap_sess *s, struct imap_cmd *c)
{
	struct buf b;

	if (!imap_eol(&c->ps))
		return IMAP_BAD;
	buf_init(&b);
	imap_capabilities(s, &b);
	imap_put(s, "* CAPABILITY %s\r\n", b.s ? b.s : "");
	buf_free(&b);
	return IMAP_OK;
}

enum imap_res cmd_noop(struct imap_sess *s, struct imap_cmd *c)
{
	return imap_eol(&c->ps) ? IMAP_OK : IMAP_BAD;
}

enum imap_res cmd_logout(struct imap_sess *s, struct imap_cmd *c)
{
	if (!imap_eol(&c->ps))
		return IMAP_BAD;
	imap_view_close(s);
	imap_put(s, "* BYE Logging out\r\n");
	imap_tagged(s, c, "OK", "LOGOUT completed.");
	return IMAP_LOGOUT;
}

/* ID ( "key" "value" ... ) or NIL: the client's list is read and ignored */
enum imap_res cmd_id(struct imap_sess *s, struct imap_cmd *c)
{
	const char *p;
	size_t n, i;

	if (imap_peek(&c->ps) == '(') {
		c->ps.p++;
		for (i = 0; imap_peek(&c->ps) != ')'; i++) {
			if (i > 60 || (i > 0 && imap_sp(&c->ps) < 0))
				return IMAP_BAD;
			if (i % 2 == 0 ? imap_string(&c->ps, &p, &n) < 0 :
			    imap_string(&c->ps, &p, &n) < 0 && imap_atom(&c->ps, &p, &n) < 0)
				return IMAP_BAD;
		}
		c->ps.p++;
	} else if (imap_atom(&c->ps, &p, &n) < 0 || !str_ieq(p, n, "NIL", 3)) {
		return IMAP_BAD;
	}
	if (!imap_eol(&c->ps))
		return IMAP_BAD;
	imap_put(s, "* ID (\"name\" \"facteur\" \"vendor\" \"facteur\")\r\n");
	return IMAP_OK;
}

/* ENABLE (RFC 5161): CONDSTORE and QRESYNC (RFC 7162 3.1, 3.2.3; QRESYNC
 * implies CONDSTORE), IMAP4rev2 (RFC 9051 6.3.1); anything else is not
 * ours to enable. */
enum imap_res cmd_enable(struct imap_sess *s, struct imap_cmd *c)
{
	const char *p;
	size_t n;
	int cs = 0, qr = 0, r2 = 0;

	do {
		if (imap_atom(&c->ps, &p, &n) < 0)
			return IMAP_BAD;
		if (str_ieq(p, n, "CONDSTORE", 9))
			cs = 1;
		else if (str_ieq(p, n, "QRESYNC", 7))
			qr = 1;
		else if (str_ieq(p, n, "IMAP4rev2", 9))
			r2 = 1;
	} while (imap_sp(&c->ps) == 0);
	if (!imap_eol(&c->ps))
		return IMAP_BAD;
	cs = cs && !s->condstore;
	qr = qr && !s->qresync;
	if (cs || qr)
		imap_cs_enable(s, qr);
	r2 = r2 && !s->rev2;
	if (r2)
		s->rev2 = 1;
	imap_put(s, "* ENABLED%s%s%s\r\n", cs ? " CONDSTORE" : "", qr ? " QRESYNC" : "",
		 r2 ? " IMAP4rev2" : "");
	return IMAP_OK;
}

enum imap_res cmd_namespace(struct imap_sess *s, struct imap_cmd *c)
{
	if (!imap_eol(&c->ps))
		return IMAP_BAD;
	imap_put(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
	return IMAP_OK;
}

enum imap_res cmd_idle(struct imap_sess *s, struct imap_cmd *c)
{
	char line[64];
	time_t start = time(NULL);
	int limit = s->io->timeout_ms > 0 ? s->io->timeout_ms / 1000 : IMAP_IDLE_SEC;

	if (!imap_eol(&c->ps))
		return IMAP_BAD;
	imap_put(s, "+ idling\r\n");
	for (;;) {
		size_t len = 0;
		int r = io_pending(s->io) ? 1 : io_wait(s->io, IMAP_IDLE_POLL_MS);

		if (r < 0)
			return IMAP_FATAL;
		if (r == 0) {
			if (time(NULL) - start > limit) {
				imap_put(s, "* BYE Autologout; idle for too long\r\n");
				return IMAP_FATAL;
			}
			if (s->state == IMAP_S_SELECTED && imap_view_sync(s, IMAP_SYNC_EXPUNGE) < 0)
				return IMAP_FATAL;
			imap_context_notify(s);
			continue;
		}
		r = io_getline(s->io, line, sizeof line, &len);
		if (r == IO_OK && str_ieq(line, len, "DONE", 4)) {
			imap_tagged(s, c, "OK", "IDLE terminated.");
			return IMAP_DONE;
		}
		if (r == IO_OK || r == IO_LONG) {
			imap_tagged(s, c, "BAD", "Expected DONE.");
			return IMAP_DONE;
		}
		return IMAP_FATAL;
	}
}
