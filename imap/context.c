/* CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4): a SEARCH or SORT with
 * RETURN (UPDATE) is kept (its tag, its criteria as sent, its result as
 * UIDs) until CANCELUPDATE or the mailbox is closed.  Before each command
 * and while idling, if the view changed (messages added or expunged, flags
 * changed: a fingerprint of the view says so), each kept search is run
 * again and the difference sent:
 *	* ESEARCH (TAG "t") [UID] REMOVEFROM (0 set) ADDTO (0 set)    SEARCH
 *	* ESEARCH (TAG "t") [UID] REMOVEFROM (0 set) ADDTO (pos n)...  SORT
 * (for SORT each ADDTO gives the position in the new order, applied in
 * turn after the removals).  Messages already reported by EXPUNGE are left
 * out of REMOVEFROM: the EXPUNGE removed them.  Sequence numbers in the
 * criteria are read again each time, as the view is then. */
#include <stdlib.h>
#include <string.h>
#include "imap.h"
#include "bounds.h"
#include "sort.h"


struct upd {
	char tag[256];
	size_t taglen;
	int uid, sort;
	imap_search_fn run;
	char *src;
	size_t len;
	uint32_t *uids;      /* the result, as UIDs, in result order */
	size_t n;
};

static struct upd upds[IMAP_UPDATES_MAX];
static size_t nupds;
static uint64_t fingerprint;

static uint64_t view_fp(const struct imap_sess *s)
{
	uint64_t h = 1469598103934665603ULL ^ s->view.count;
	size_t i;

	for (i = 0; i < s->view.count; i++) {
		const struct imap_vmsg *v = &s->view.v[i];
		h = (h ^ v->uid) * 1099511628211ULL;
		h = (h ^ (v->flags | (uint32_t)v->gone << 31)) * 1099511628211ULL;
		h = (h ^ v->keywords) * 1099511628211ULL;
	}
	return h;
}

static void upd_free(struct upd *u)
{
	free(u->src);
	free(u->uids);
	memset(u, 0, sizeof *u);
}

static void context_clear(struct imap_sess *s)
{
	size_t i;

	for (i = 0; i < nupds; i++)
		upd_free(&upds[i]);
	nupds = 0;
	s->updates = NULL;
}

static void hook(struct imap_sess *s, int end);

static struct upd *find(const char *tag, size_t taglen)
{
	size_t i;

	for (i = 0; i < nupds; i++)
		if (upds[i].taglen == taglen && !memcmp(upds[i].tag, tag, taglen))
			return &upds[i];
	return NULL;
}

int imap_context_add(struct imap_sess *s, struct imap_cmd *c, int sort, imap_search_fn run,
		     const char *src, size_t len, const uint32_t *idx, size_t n)
{
	struct upd *u = find(c->tag, c->taglen), nu;
	size_t i;

	memset(&nu, 0, sizeof nu);
	/* kept criteria are bounded: 16 of at most one command line each */
	if (c->taglen >= sizeof nu.tag || (!u && nupds >= IMAP_UPDATES_MAX) || len > IMAP_LINE_MAX)
		return -1;
	nu.src = malloc(len + 1);
	nu.uids = malloc((n ? n : 1) * sizeof *nu.uids);
	if (!nu.src || !nu.uids) {
		free(nu.src);
		free(nu.uids);
		return -1;
	}
	memcpy(nu.src, src, len);
	nu.src[len] = '\0';
	nu.len = len;
	memcpy(nu.tag, c->tag, c->taglen);
	nu.taglen = c->taglen;
	nu.uid = c->uid;
	nu.sort = sort;
	nu.run = run;
	for (i = 0; i < n; i++)
		nu.uids[i] = s->view.v[idx[i]].uid;
	nu.n = n;
	if (u)
		upd_free(u);
	else
		u = &upds[nupds++];
	*u = nu;
	fingerprint = view_fp(s);
	s->updates = hook;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int has(const uint32_t *sorted, size_t n, uint32_t x)
{
	return n && bsearch(&x, sorted, n, sizeof x, cmp_u32) != NULL;
}

/* the number the client knows UID uid by: the UID, or its sequence
 * number (0 when no longer in the view) */
static uint32_t number(struct imap_sess *s, int uid_mode, uint32_t uid)
{
	size_t lo = 0, hi = s->view.count;

	if (uid_mode)
		return uid;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->view.v[mid].uid < uid)
			lo = mid + 1;
		else if (s->view.v[mid].uid > uid)
			hi = mid;
		else
			return (uint32_t)mid + 1;
	}
	return 0;
}

/* runs u's search again; the new result as UIDs in *uids_r */
static int rerun(struct imap_sess *s, struct upd *u, uint32_t **uids_r, size_t *n_r)
{
	struct imap_cmd fc;
	char *copy = malloc(u->len + 1);
	uint32_t *idx = NULL;
	size_t n = 0, i;
	enum imap_res r;

	if (!copy)
		return -1;
	memcpy(copy, u->src, u->len + 1);
	memset(&fc, 0, sizeof fc);
	fc.tag = u->tag;
	fc.taglen = u->taglen;
	fc.uid = u->uid;
	fc.name = u->sort ? "SORT" : "SEARCH";
	imap_parser_init(&fc.ps, copy, u->len);
	r = u->run(s, &fc, &idx, &n);
	imap_parser_free(&fc.ps);
	free(copy);
	if (r != IMAP_OK)
		return -1;
	for (i = 0; i < n; i++)
		idx[i] = s->view.v[idx[i]].uid;
	*uids_r = idx;
	*n_r = n;
	return 0;
}

static void put_set(struct imap_sess *s, uint32_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_u32);
	imap_put_ordered_set(s, v, n);
}

static void notify_one(struct imap_sess *s, struct upd *u)
{
	uint32_t *nw, *olds, *news, *rm;
	size_t nn, i, nrm = 0;
	int any = 0;

	if (rerun(s, u, &nw, &nn) < 0)
		return;
	olds = malloc((u->n ? u->n : 1) * sizeof *olds);
	news = malloc((nn ? nn : 1) * sizeof *news);
	rm = malloc((u->n ? u->n : 1) * sizeof *rm);
	if (!olds || !news || !rm) {
		free(olds);
		free(news);
		free(rm);
		free(nw);
		return;
	}
	memcpy(olds, u->uids, u->n * sizeof *olds);
	memcpy(news, nw, nn * sizeof *news);
	qsort(olds, u->n, sizeof *olds, cmp_u32);
	qsort(news, nn, sizeof *news, cmp_u32);
	for (i = 0; i < u->n; i++) {
		uint32_t k;
		if (has(news, nn, olds[i]) || !(k = number(s, u->uid, olds[i])))
			continue;
		/* an expunged message still in the view (EXPUNGE held back)
		 * is reported; one the client saw expunged is not */
		rm[nrm++] = k;
	}
#define START() do { if (!any) { imap_put(s, "* ESEARCH (TAG "); \
	imap_put_qstring(s, u->tag, u->taglen); imap_put(s, ")%s", u->uid ? " UID" : ""); any = 1; } } while (0)
	if (nrm) {
		START();
		imap_put(s, " REMOVEFROM (0 ");
		put_set(s, rm, nrm);
		imap_put(s, ")");
	}
	if (u->sort) {
		for (i = 0; i < nn; i++) {
			uint32_t k;
			if (has(olds, u->n, nw[i]) || !(k = number(s, u->uid, nw[i])))
				continue;
			START();
			imap_put(s, " ADDTO (%zu %u)", i + 1, k);
		}
	} else {
		size_t na = 0;
		for (i = 0; i < nn; i++) {
			uint32_t k;
			if (!has(olds, u->n, news[i]) && (k = number(s, u->uid, news[i])))
				news[na++] = k;
		}
		if (na) {
			START();
			imap_put(s, " ADDTO (0 ");
			put_set(s, news, na);
			imap_put(s, ")");
		}
	}
#undef START
	if (any)
		imap_put(s, "\r\n");
	free(u->uids);
	u->uids = nw;
	u->n = nn;
	free(olds);
	free(news);
	free(rm);
}

void imap_context_notify(struct imap_sess *s)
{
	uint64_t fp;
	size_t i;

	if (!nupds)
		return;
	if (s->state != IMAP_S_SELECTED) {
		context_clear(s);
		return;
	}
	fp = view_fp(s);
	if (fp == fingerprint)
		return;
	for (i = 0; i < nupds; i++)
		notify_one(s, &upds[i]);
	fingerprint = fp;
}

static void hook(struct imap_sess *s, int end)
{
	if (end)
		context_clear(s);
	else
		imap_context_notify(s);
}

/* CANCELUPDATE "tag" ... (RFC 5267 4.3) */
enum imap_res cmd_cancelupdate(struct imap_sess *s, struct imap_cmd *c)
{
	const char *p;
	size_t l;
	int unknown = 0;

	do {
		struct upd *u;
		if (imap_string(&c->ps, &p, &l) < 0)
			return IMAP_BAD;
		u = find(p, l);
		if (!u) {
			unknown = 1;
			continue;
		}
		upd_free(u);
		*u = upds[--nupds];
		memset(&upds[nupds], 0, sizeof upds[nupds]);
	} while (imap_sp(&c->ps) == 0);
	if (!imap_eol(&c->ps))
		return IMAP_BAD;
	if (unknown) {
		imap_tagged(s, c, "NO", "Unknown tag.");
		return IMAP_DONE;
	}
	imap_tagged(s, c, "OK", "Updates cancelled.");
	return IMAP_DONE;
}
