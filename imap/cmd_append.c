/* APPEND (RFC 3501 6.3.11; APPENDUID of RFC 4315; LITERAL+ RFC 7888) with
 * MULTIAPPEND (RFC 3502: several messages, all stored or none: one lock,
 * one libmbox append transaction), literal8 (RFC 3516 BINARY: "~{n}") and
 * CATENATE (RFC 4469: a message made of TEXT literals and URL parts,
 * imap/catenate.c).  The literals were read whole by the command reader
 * (each bounded by message_size_limit: NO [LIMIT] before any byte is
 * taken); a built message over the limit gets NO [TOOBIG].  A NUL byte is
 * refused: in a literal it is not IMAP (RFC 3501 4.3), in a literal8
 * (NO [UNKNOWN-CTE]) the mbox would keep it but IMAP could never serve it
 * back.  Bare LF and 8-bit data are stored as given.  A disconnect
 * mid-literal never reaches here, so nothing is stored.  Results: OK
 * [APPENDUID uv uid-set]; NO [TRYCREATE]; NO [CANNOT]; NO [INUSE]; NO
 * [OVERQUOTA]; NO [BADURL url]; NO [TOOBIG]; BAD. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "imap.h"
#include "sort.h"
#include "bounds.h"
#include "log.h"


struct amsg {
	struct buf kws, data;   /* data: the CATENATE result (else msg points into the command) */
	const char *msg;
	size_t len;
	uint32_t flags;
	int64_t date;
};

/* a literal or literal8 ("~{n}"); *bin_r = 1 for literal8 */
static int lit(struct imap_parser *ps, const char **p, size_t *l, int *bin_r)
{
	*bin_r = 0;
	if (imap_peek(ps) == '~') {
		ps->p++;
		*bin_r = 1;
	}
	if (imap_peek(ps) != '{')
		return -1;
	return imap_string(ps, p, l);
}

/* CATENATE (TEXT {n}.. URL "/mbox/;UID=n" ..): 0, -1 BAD, 1 NO written */
static int catenate(struct imap_sess *s, struct imap_cmd *c, struct amsg *m)
{
	const char *p, *v;
	size_t l, vl;
	int nparts = 0, bin;

	if (imap_sp(&c->ps) < 0 || imap_peek(&c->ps) != '(')
		return -1;
	c->ps.p++;
	for (;;) {
		if (imap_atom(&c->ps, &p, &l) < 0 || imap_sp(&c->ps) < 0 || ++nparts > IMAP_CATENATE_PARTS_MAX)
			return -1;
		if (str_ieq(p, l, "TEXT", 4)) {
			if (lit(&c->ps, &v, &vl, &bin) < 0)
				return -1;
			if (memchr(v, '\0', vl)) {
				imap_tagged(s, c, "NO", bin ? "[UNKNOWN-CTE] Binary content (NUL) cannot be stored." :
					    "Message contains NUL characters.");
				return 1;
			}
			if (buf_add(&m->data, v, vl) < 0)
				goto nomem;
		} else if (str_ieq(p, l, "URL", 3)) {
			if (imap_astring(&c->ps, &v, &vl) < 0)
				return -1;
			if (imap_url_fetch(s, v, vl, &m->data) < 0) {
				imap_putn(s, c->tag, c->taglen);
				imap_put(s, " NO [BADURL ");
				imap_putn(s, v, vl > 200 || memchr(v, ']', vl) || memchr(v, '\r', vl) ||
					  memchr(v, '\n', vl) ? 0 : vl);
				imap_put(s, "] The URL does not name a message of yours.\r\n");
				return 1;
			}
			if (memchr(m->data.s, '\0', m->data.len)) {
				imap_tagged(s, c, "NO", "[UNKNOWN-CTE] Binary content (NUL) cannot be stored.");
				return 1;
			}
		} else {
			return -1;
		}
		if (m->data.len > s->conf->message_size_limit) {
			imap_tagged(s, c, "NO", "[TOOBIG] Message too large.");
			return 1;
		}
		if (imap_peek(&c->ps) == ')')
			break;
		if (imap_sp(&c->ps) < 0)
			return -1;
	}
	c->ps.p++;
	m->msg = m->data.s ? m->data.s : "";
	m->len = m->data.len;
	return 0;
nomem:
	imap_tagged(s, c, "NO", "[SERVERBUG] Out of memory.");
	return 1;
}

/* one append-message: [flags SP] [date SP] literal/literal8/CATENATE */
static int one(struct imap_sess *s, struct imap_cmd *c, struct amsg *m)
{
	const char *kw[IMAP_FLAGLIST_KW_MAX], *p;
	size_t nkw = 0, i, l;
	int bin;

	if (imap_peek(&c->ps) == '(') {
		if (imap_flag_list(&c->ps, &m->flags, kw, &nkw, IMAP_FLAGLIST_KW_MAX, 0) < 0 ||
		    imap_sp(&c->ps) < 0)
			return -1;
		for (i = 0; i < nkw; i++) {
			if (!kw[i])
				return -1;
			if ((i && buf_addc(&m->kws, ' ') < 0) || buf_adds(&m->kws, kw[i]) < 0)
				return -1;
		}
	}
	if (imap_peek(&c->ps) == '"') {
		if (imap_string(&c->ps, &p, &l) < 0 || imap_datetime_parse(p, l, &m->date) < 0 ||
		    imap_sp(&c->ps) < 0)
			return -1;
	}
	if (imap_peek(&c->ps) == 'C' || imap_peek(&c->ps) == 'c') {
		if (imap_atom(&c->ps, &p, &l) < 0 || !str_ieq(p, l, "CATENATE", 8))
			return -1;
		return catenate(s, c, m);
	}
	if (lit(&c->ps, &m->msg, &m->len, &bin) < 0)
		return -1;
	if (m->len && memchr(m->msg, '\0', m->len)) {
		imap_tagged(s, c, "NO", bin ? "[UNKNOWN-CTE] Binary content (NUL) cannot be stored." :
			    "Message contains NUL characters.");
		return 1;
	}
	return 0;
}

/* "5:7" or "5,9" */
static void put_uids(struct imap_sess *s, const uint32_t *u, size_t n)
{
	imap_put_ordered_set(s, u, n);
}

enum imap_res cmd_append(struct imap_sess *s, struct imap_cmd *c)
{
	const char *n;
	size_t nl, nm = 0, i;
	char path[PATH_MAX], canon[1024];
	struct amsg *m = NULL;
	struct mbox_append *a = NULL;
	uint32_t uv = 0, *uids = NULL;
	uint64_t total = 0;
	enum imap_res res = IMAP_DONE;
	int r, inbox, e;

	if (imap_astring(&c->ps, &n, &nl) < 0)
		return IMAP_BAD;
	m = calloc(IMAP_MULTIAPPEND_MAX, sizeof *m);
	if (!m) {
		imap_tagged(s, c, "NO", "[SERVERBUG] Out of memory.");
		return IMAP_DONE;
	}
	while (!imap_eol(&c->ps)) {
		if (imap_sp(&c->ps) < 0 || nm == IMAP_MULTIAPPEND_MAX) {
			res = IMAP_BAD;
			goto out;
		}
		buf_init(&m[nm].kws);
		buf_init(&m[nm].data);
		r = one(s, c, &m[nm++]);
		if (r) {
			res = r < 0 ? IMAP_BAD : IMAP_DONE;
			goto out;
		}
		/* what CATENATE builds is bounded as the literals are: all the
		 * messages of one command together */
		total += m[nm - 1].len;
		if (total > s->conf->message_size_limit + 2 * (uint64_t)IMAP_LINE_MAX) {
			imap_tagged(s, c, "NO", "[TOOBIG] Messages too large.");
			goto out;
		}
	}
	if (nm == 0) {
		res = IMAP_BAD;
		goto out;
	}
	inbox = imap_name_resolve(s, n, nl, path, sizeof path, canon, sizeof canon);
	if (inbox < 0) {
		imap_tagged(s, c, "NO", "[CANNOT] Invalid mailbox name.");
		goto out;
	}
	for (i = 0; i < nm; i++)
		if (m[i].len == 0) {
			imap_tagged(s, c, "NO", "Empty message.");
			goto out;
		}
	a = calloc(nm, sizeof *a);
	uids = calloc(nm, sizeof *uids);
	if (!a || !uids) {
		imap_tagged(s, c, "NO", "[SERVERBUG] Out of memory.");
		goto out;
	}
	for (i = 0; i < nm; i++) {
		a[i].data = m[i].msg;
		a[i].len = m[i].len;
		a[i].fd = -1;
		a[i].date = m[i].date ? m[i].date : (int64_t)time(NULL);
		a[i].strip_meta = 1;
		a[i].flags = m[i].flags;
		a[i].keywords = m[i].kws.len ? m[i].kws.s : NULL;
	}
	r = imap_append_to(s, path, inbox == 1, a, nm, &uv, uids);
	if (r < 0) {
		e = errno;
		log_msg(LOG_NOTICE, "append to %s: %s", canon, strerror(e));
		if (e == ENOENT)
			imap_tagged(s, c, "NO", "[TRYCREATE] Mailbox doesn't exist.");
		else
			imap_no_errno(s, c, e);
		goto out;
	}
	if (s->state == IMAP_S_SELECTED && imap_view_sync(s, IMAP_SYNC_EXPUNGE) < 0) {
		res = IMAP_FATAL;
		goto out;
	}
	if (uids[0]) {
		imap_putn(s, c->tag, c->taglen);
		imap_put(s, " OK [APPENDUID %u ", uv);
		put_uids(s, uids, nm);
		imap_put(s, "] APPEND completed.\r\n");
	} else {
		imap_tagged(s, c, "OK", "APPEND completed.");
	}
out:
	for (i = 0; i < nm; i++) {
		buf_free(&m[i].kws);
		buf_free(&m[i].data);
	}
	free(m);
	free(a);
	free(uids);
	return res;
}
