/* SORT and UID SORT (RFC 5256 3): keys ARRIVAL CC DATE FROM REVERSE SIZE
 * SUBJECT TO, DISPLAYFROM DISPLAYTO (RFC 5957); ESORT (RFC 5267 3):
 * "SORT RETURN (MIN MAX COUNT ALL) (keys) charset search" answered by
 * ESEARCH, MIN/MAX being the first and last message in sort order and ALL
 * the messages in sort order.  Ties are broken by sequence number.
 * Strings compare as mime_sort_fold leaves them; DATE is the Date: header
 * in UTC, else INTERNALDATE (RFC 5256 2.2), as Dovecot does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "imap.h"
#include "bounds.h"
#include "sort.h"


enum { S_ARRIVAL, S_CC, S_DATE, S_FROM, S_SIZE, S_SUBJECT, S_TO, S_DFROM, S_DTO };

struct sortkey {
	int key, reverse;
};

static struct sortkey keys[IMAP_SORT_KEYS_MAX];
static size_t nkeys;

int imap_sort_charset(struct imap_sess *s, struct imap_cmd *c)
{
	const char *p;
	size_t l;

	if (imap_astring(&c->ps, &p, &l) < 0 || imap_sp(&c->ps) < 0)
		return -1;
	if (!str_ieq(p, l, "UTF-8", 5) && !str_ieq(p, l, "US-ASCII", 8)) {
		imap_tagged(s, c, "NO", "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset.");
		return 1;
	}
	return 0;
}

enum imap_res imap_sort_select(struct imap_sess *s, struct imap_cmd *c, struct imap_sortmsg **m_r,
			       size_t *n_r)
{
	const struct imap_sortfact **facts;
	struct imap_sortmsg *m;
	uint32_t *idx;
	size_t n, i, o = 0;
	enum imap_res r;

	*m_r = NULL;
	*n_r = 0;
	r = imap_search_keys(s, c, &idx, &n);
	if (r != IMAP_OK)
		return r;
	m = malloc((n ? n : 1) * sizeof *m);
	if (!m || imap_sortfacts(s, &facts) < 0) {
		free(m);
		free(idx);
		imap_tagged(s, c, "NO", "[SERVERBUG] Out of memory.");
		return IMAP_DONE;
	}
	for (i = 0; i < n; i++) {
		const struct imap_sortfact *f = facts[idx[i]];
		const struct mbox_msg *mm;
		long k = imap_view_index(s, idx[i]);
		if (!f || k < 0)
			continue;   /* expunged meanwhile */
		mm = &s->sc.msgs[k];
		m[o].i = idx[i];
		m[o].f = f;
		m[o].arrival = mm->internaldate;
		m[o].size = mm->hdr_size + mm->body_size;
		m[o].date = f->sent != INT64_MIN ? f->sent : mm->internaldate;
		o++;
	}
	free(facts);
	free(idx);
	*m_r = m;
	*n_r = o;
	return IMAP_OK;
}

static int cmp64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_msgs(const void *pa, const void *pb)
{
	const struct imap_sortmsg *a = pa, *b = pb;
	size_t k;

	for (k = 0; k < nkeys; k++) {
		int r = 0;
		switch (keys[k].key) {
		case S_ARRIVAL: r = cmp64(a->arrival, b->arrival); break;
		case S_DATE: r = cmp64(a->date, b->date); break;
		case S_SIZE: r = a->size < b->size ? -1 : a->size > b->size; break;
		case S_SUBJECT:
			r = strcmp(imap_sortfact_str(a->f, SF_SUBJECT), imap_sortfact_str(b->f, SF_SUBJECT));
			break;
		case S_FROM: case S_TO: case S_CC: case S_DFROM: case S_DTO: {
			int sf = keys[k].key == S_FROM ? SF_FROM : keys[k].key == S_TO ? SF_TO :
				 keys[k].key == S_CC ? SF_CC : keys[k].key == S_DFROM ? SF_DFROM : SF_DTO;
			r = strcmp(imap_sortfact_str(a->f, sf), imap_sortfact_str(b->f, sf));
			break;
		}
		}
		if (r)
			return keys[k].reverse ? -r : r;
	}
	return a->i < b->i ? -1 : a->i > b->i;
}

/* "(REVERSE SUBJECT DATE)": 0 or -1 */
static int parse_keys(struct imap_parser *ps)
{
	static const struct { const char *n; int k; } names[] = {
		{ "ARRIVAL", S_ARRIVAL }, { "CC", S_CC }, { "DATE", S_DATE }, { "FROM", S_FROM },
		{ "SIZE", S_SIZE }, { "SUBJECT", S_SUBJECT }, { "TO", S_TO },
		{ "DISPLAYFROM", S_DFROM }, { "DISPLAYTO", S_DTO },
	};
	const char *p;
	size_t l, i;
	int rev = 0;

	nkeys = 0;
	if (imap_peek(ps) != '(')
		return -1;
	ps->p++;
	for (;;) {
		if (imap_atom(ps, &p, &l) < 0)
			return -1;
		if (str_ieq(p, l, "REVERSE", 7)) {
			if (rev || imap_sp(ps) < 0)
				return -1;
			rev = 1;
			continue;
		}
		for (i = 0; i < sizeof names / sizeof names[0]; i++)
			if (str_ieq(p, l, names[i].n, strlen(names[i].n)))
				break;
		if (i == sizeof names / sizeof names[0] || nkeys == IMAP_SORT_KEYS_MAX)
			return -1;
		keys[nkeys].key = names[i].k;
		keys[nkeys++].reverse = rev;
		rev = 0;
		if (imap_peek(ps) == ')')
			break;
		if (imap_sp(ps) < 0)
			return -1;
	}
	ps->p++;
	return imap_sp(ps);
}

enum imap_res imap_sort_run(struct imap_sess *s, struct imap_cmd *c, uint32_t **idx_r, size_t *n_r)
{
	struct imap_sortmsg *m;
	uint32_t *out;
	size_t n, i;
	int cs;
	enum imap_res r;

	*idx_r = NULL;
	*n_r = 0;
	if (parse_keys(&c->ps) < 0)
		return IMAP_BAD;
	if ((cs = imap_sort_charset(s, c)) != 0)
		return cs < 0 ? IMAP_BAD : IMAP_DONE;
	r = imap_sort_select(s, c, &m, &n);
	if (r != IMAP_OK)
		return r;
	qsort(m, n, sizeof *m, cmp_msgs);
	out = malloc((n ? n : 1) * sizeof *out);
	if (!out) {
		free(m);
		imap_tagged(s, c, "NO", "[SERVERBUG] Out of memory.");
		return IMAP_DONE;
	}
	for (i = 0; i < n; i++)
		out[i] = m[i].i;
	free(m);
	*idx_r = out;
	*n_r = n;
	return IMAP_OK;
}

enum imap_res cmd_sort(struct imap_sess *s, struct imap_cmd *c)
{
	struct imap_ret ret;
	uint32_t *out;
	size_t n, i;
	const char *p, *src;
	size_t l;
	char *save = c->ps.p;
	enum imap_res r;

	memset(&ret, 0, sizeof ret);
	if (imap_atom(&c->ps, &p, &l) == 0 && str_ieq(p, l, "RETURN", 6)) {
		if (imap_return_opts(&c->ps, &ret) < 0 || (ret.opts & IMAP_R_SAVE))
			return IMAP_BAD;
	} else {
		c->ps.p = save;
	}
	src = c->ps.p;
	r = imap_sort_run(s, c, &out, &n);
	if (r != IMAP_OK)
		return r;
	if ((ret.opts & IMAP_R_UPDATE) &&
	    imap_context_add(s, c, 1, imap_sort_run, src, (size_t)(c->ps.end - src), out, n) < 0) {
		free(out);
		imap_tagged(s, c, "NO", "[LIMIT] Too many or too large UPDATE searches.");
		return IMAP_DONE;
	}
	for (i = 0; i < n; i++)
		out[i] = c->uid ? s->view.v[out[i]].uid : out[i] + 1;
	if (ret.opts) {
		imap_put_esearch(s, c, &ret, out, n, 1, 0);
	} else {
		imap_put(s, "* SORT");
		for (i = 0; i < n; i++)
			imap_put(s, " %u", out[i]);
		imap_put(s, "\r\n");
	}
	free(out);
	return IMAP_OK;
}
