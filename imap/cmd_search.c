/* SEARCH and UID SEARCH (RFC 3501 6.4.4): flags, keywords, sequence and UID
 * sets, sizes, internal and sent dates, header substrings (FROM TO CC BCC
 * SUBJECT HEADER), BODY and TEXT, NOT, OR and parentheses.  Text matching
 * is libmime's: case-insensitive on decoded UTF-8 (RFC 2047 words, QP and
 * base64 bodies, charsets).  CHARSET US-ASCII and UTF-8; others get NO
 * [BADCHARSET].
 * The keys are parsed into a small tree, then evaluated per message, the
 * message text loaded only when a key needs it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "imap.h"
#include "mime.h"
#include "sort.h"


enum { K_AND, K_OR, K_NOT, K_ALL, K_FLAG, K_UNFLAG, K_NEW, K_OLD, K_RECENT, K_KW, K_UNKW,
       K_SEQ, K_UID, K_LARGER, K_SMALLER, K_BEFORE, K_ON, K_SINCE, K_SBEFORE, K_SON, K_SSINCE,
       K_HEADER, K_BODY, K_TEXT, K_MODSEQ };

struct node {
	int op;
	uint32_t flag;
	uint64_t num;
	int64_t day;
	const char *field, *str;
	size_t flen, slen;
	struct imap_seq set;
	struct node *a, *b;   /* AND: a = first child, b = next sibling */
	struct node *next;
};

struct search {
	struct node pool[SEARCH_NODES_MAX];
	size_t n;
	int depth;
	int modseq;              /* a MODSEQ key was given (RFC 7162 3.1.5) */
	/* per message */
	struct imap_sess *s;
	size_t i;
	long k;
	char *hdr, *body;        /* the header block; the whole message */
	size_t hlen, blen;
	int hdr_ok, body_ok;
	struct mime_part *hroot, *broot;
};

static struct node *new_node(struct search *q, int op)
{
	struct node *n;

	if (q->n >= SEARCH_NODES_MAX)
		return NULL;
	n = &q->pool[q->n++];
	memset(n, 0, sizeof *n);
	n->op = op;
	return n;
}

static int key_list(struct imap_parser *ps, struct search *q, struct node *and, int paren);

static int date_arg(struct imap_parser *ps, struct node *n)
{
	const char *p;
	size_t l;

	if (imap_sp(ps) < 0 || imap_astring(ps, &p, &l) < 0)
		return -1;
	return imap_date_parse(p, l, &n->day);
}

/* a string argument; a NUL in it (a literal) is a syntax error (RFC 3501 CHAR8) */
static int str_arg(struct imap_parser *ps, const char **p, size_t *l)
{
	return imap_sp(ps) < 0 || imap_astring(ps, p, l) < 0 || memchr(*p, '\0', *l) ? -1 : 0;
}

static struct node *key(struct imap_parser *ps, struct search *q)
{
	static const struct { const char *n; int op; uint32_t f; } simple[] = {
		{ "ALL", K_ALL, 0 }, { "ANSWERED", K_FLAG, MBOX_F_ANSWERED },
		{ "DELETED", K_FLAG, MBOX_F_DELETED }, { "DRAFT", K_FLAG, MBOX_F_DRAFT },
		{ "FLAGGED", K_FLAG, MBOX_F_FLAGGED }, { "SEEN", K_FLAG, MBOX_F_SEEN },
		{ "UNANSWERED", K_UNFLAG, MBOX_F_ANSWERED }, { "UNDELETED", K_UNFLAG, MBOX_F_DELETED },
		{ "UNDRAFT", K_UNFLAG, MBOX_F_DRAFT }, { "UNFLAGGED", K_UNFLAG, MBOX_F_FLAGGED },
		{ "UNSEEN", K_UNFLAG, MBOX_F_SEEN }, { "NEW", K_NEW, 0 }, { "OLD", K_OLD, 0 },
		{ "RECENT", K_RECENT, 0 },
	};
	static const struct { const char *n; int op; } dated[] = {
		{ "BEFORE", K_BEFORE }, { "ON", K_ON }, { "SINCE", K_SINCE },
		{ "SENTBEFORE", K_SBEFORE }, { "SENTON", K_SON }, { "SENTSINCE", K_SSINCE },
	};
	static const char *const hdrs[] = { "FROM", "TO", "CC", "BCC", "SUBJECT" };
	struct node *n;
	const char *p;
	size_t l, i;
	int c = imap_peek(ps);

	if (++q->depth > SEARCH_DEPTH_MAX)
		return NULL;
	if (c == '(') {
		ps->p++;
		n = new_node(q, K_AND);
		if (!n || key_list(ps, q, n, 1) < 0 || imap_peek(ps) != ')')
			return NULL;
		ps->p++;
		q->depth--;
		return n;
	}
	if ((c >= '0' && c <= '9') || c == '*' || c == '$') {
		n = new_node(q, K_SEQ);
		if (!n || imap_seq_parse(ps, &n->set) < 0)
			return NULL;
		q->depth--;
		return n;
	}
	if (imap_atom(ps, &p, &l) < 0)
		return NULL;
	for (i = 0; i < sizeof simple / sizeof simple[0]; i++)
		if (str_ieq(p, l, simple[i].n, strlen(simple[i].n))) {
			n = new_node(q, simple[i].op);
			if (n)
				n->flag = simple[i].f;
			q->depth--;
			return n;
		}
	for (i = 0; i < sizeof dated / sizeof dated[0]; i++)
		if (str_ieq(p, l, dated[i].n, strlen(dated[i].n))) {
			n = new_node(q, dated[i].op);
			if (!n || date_arg(ps, n) < 0)
				return NULL;
			q->depth--;
			return n;
		}
	for (i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++)
		if (str_ieq(p, l, hdrs[i], strlen(hdrs[i]))) {
			n = new_node(q, K_HEADER);
			if (!n || str_arg(ps, &n->str, &n->slen) < 0)
				return NULL;
			n->field = hdrs[i];
			n->flen = strlen(hdrs[i]);
			q->depth--;
			return n;
		}
	n = NULL;
	if (str_ieq(p, l, "HEADER", 6)) {
		n = new_node(q, K_HEADER);
		if (!n || str_arg(ps, &n->field, &n->flen) < 0 || str_arg(ps, &n->str, &n->slen) < 0)
			return NULL;
	} else if (str_ieq(p, l, "BODY", 4) || str_ieq(p, l, "TEXT", 4)) {
		n = new_node(q, l == 4 && (p[0] == 'B' || p[0] == 'b') ? K_BODY : K_TEXT);
		if (!n || str_arg(ps, &n->str, &n->slen) < 0)
			return NULL;
	} else if (str_ieq(p, l, "KEYWORD", 7) || str_ieq(p, l, "UNKEYWORD", 9)) {
		n = new_node(q, l == 7 ? K_KW : K_UNKW);
		if (!n || imap_sp(ps) < 0 || imap_atom(ps, &n->str, &n->slen) < 0)
			return NULL;
	} else if (str_ieq(p, l, "LARGER", 6) || str_ieq(p, l, "SMALLER", 7)) {
		const char *d;
		size_t dl;
		n = new_node(q, l == 6 ? K_LARGER : K_SMALLER);
		if (!n || imap_sp(ps) < 0 || imap_atom(ps, &d, &dl) < 0 ||
		    parse_u64(d, dl, UINT64_MAX / 2, &n->num) < 0)
			return NULL;
	} else if (str_ieq(p, l, "MODSEQ", 6)) {
		/* MODSEQ ["/flags/\\Seen" priv|shared|all] n: the entry is taken
		 * as the whole message (no per-flag modseqs, as Dovecot) */
		const char *e;
		size_t el;
		n = new_node(q, K_MODSEQ);
		if (!n || imap_sp(ps) < 0)
			return NULL;
		if (imap_peek(ps) == '"') {
			if (imap_astring(ps, &e, &el) < 0 || imap_sp(ps) < 0 ||
			    imap_atom(ps, &e, &el) < 0 || imap_sp(ps) < 0 ||
			    !(str_ieq(e, el, "priv", 4) || str_ieq(e, el, "shared", 6) ||
			      str_ieq(e, el, "all", 3)))
				return NULL;
		}
		if (imap_cs_number(ps, &n->num) < 0)
			return NULL;
		q->modseq = 1;
	} else if (str_ieq(p, l, "UID", 3)) {
		n = new_node(q, K_UID);
		if (!n || imap_sp(ps) < 0 || imap_seq_parse(ps, &n->set) < 0)
			return NULL;
	} else if (str_ieq(p, l, "NOT", 3)) {
		n = new_node(q, K_NOT);
		if (!n || imap_sp(ps) < 0 || !(n->a = key(ps, q)))
			return NULL;
	} else if (str_ieq(p, l, "OR", 2)) {
		n = new_node(q, K_OR);
		if (!n || imap_sp(ps) < 0 || !(n->a = key(ps, q)) || imap_sp(ps) < 0 ||
		    !(n->b = key(ps, q)))
			return NULL;
	}
	q->depth--;
	return n;
}

static int key_list(struct imap_parser *ps, struct search *q, struct node *and, int paren)
{
	struct node **tail = &and->a;

	for (;;) {
		struct node *n = key(ps, q);
		if (!n)
			return -1;
		*tail = n;
		tail = &n->next;
		if (imap_sp(ps) < 0)
			return 0;
		if (paren && imap_peek(ps) == ')')
			return -1;
	}
}

static void free_sets(struct search *q)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		imap_seq_free(&q->pool[i].set);
}

/* ---- evaluation ---------------------------------------------------------- */

/* the header (body = 0) or the whole message (body = 1), parsed once */
static int load(struct search *q, int body)
{
	struct imap_sess *s = q->s;

	if (body && !q->body_ok) {
		if (imap_view_load(s, q->k, MBOX_PART_ALL, &q->body, &q->blen) < 0 ||
		    !(q->broot = mime_parse(q->body, q->blen)))
			return -1;
		q->body_ok = 1;
	}
	if (!body && !q->hdr_ok) {
		if (imap_view_load(s, q->k, MBOX_PART_HEADER, &q->hdr, &q->hlen) < 0 ||
		    !(q->hroot = mime_parse(q->hdr, q->hlen)))
			return -1;
		q->hdr_ok = 1;
	}
	return 0;
}

static void unload(struct search *q)
{
	mime_free(q->hroot);
	mime_free(q->broot);
	free(q->hdr);
	free(q->body);
	q->hroot = q->broot = NULL;
	q->hdr = q->body = NULL;
	q->hdr_ok = q->body_ok = 0;
}

static int64_t local_day(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm))
		return 0;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return (int64_t)timegm(&tm) / 86400;
}

/* the Date: header's day as written: RFC 3501 ignores its time and zone */
static int sent_day(struct search *q, int64_t *day)
{
	long long d;

	if (mime_header_sent_day(q->hdr, q->hlen, q->hroot, &d) < 0)
		return -1;
	*day = (int64_t)d;
	return 0;
}

static int eval(struct search *q, const struct node *n)
{
	struct imap_sess *s = q->s;
	const struct imap_vmsg *v = &s->view.v[q->i];
	const struct mbox_msg *m = &s->sc.msgs[q->k];
	int64_t d;

	switch (n->op) {
	case K_AND: {
		const struct node *c;
		for (c = n->a; c; c = c->next)
			if (!eval(q, c))
				return 0;
		return 1;
	}
	case K_OR: return eval(q, n->a) || eval(q, n->b);
	case K_NOT: return !eval(q, n->a);
	case K_ALL: return 1;
	case K_FLAG: return (v->flags & n->flag) != 0;
	case K_UNFLAG: return !(v->flags & n->flag);
	case K_NEW: return v->recent && !(v->flags & MBOX_F_SEEN);
	case K_OLD: return !v->recent;
	case K_RECENT: return v->recent;
	case K_KW:
	case K_UNKW: {
		int k = mbox_keyword_index(&s->sc, n->str, n->slen, 0);
		int has = k >= 0 && (v->keywords & ((uint64_t)1 << k));
		return n->op == K_KW ? has : !has;
	}
	case K_SEQ: return imap_seq_has(&n->set, (uint32_t)(q->i + 1), 0);
	case K_UID: return imap_seq_has(&n->set, v->uid, 0);
	case K_LARGER: return m->hdr_size + m->body_size > n->num;
	case K_SMALLER: return m->hdr_size + m->body_size < n->num;
	case K_MODSEQ: return m->modseq >= n->num;
	case K_BEFORE: return local_day(m->internaldate) < n->day;
	case K_ON: return local_day(m->internaldate) == n->day;
	case K_SINCE: return local_day(m->internaldate) >= n->day;
	case K_SBEFORE:
	case K_SON:
	case K_SSINCE:
		if (load(q, 0) < 0 || sent_day(q, &d) < 0)
			return 0;
		return n->op == K_SBEFORE ? d < n->day : n->op == K_SON ? d == n->day : d >= n->day;
	case K_HEADER: {
		char name[256];
		if (load(q, 0) < 0 || str_copy(name, sizeof name, n->field, n->flen) < 0)
			return 0;
		return mime_search_text(q->hdr, q->hlen, q->hroot, MIME_SEARCH_HEADER, name, n->str,
					n->slen) == 1;
	}
	case K_BODY:
	case K_TEXT:
		if (load(q, 1) < 0)
			return 0;
		return mime_search_text(q->body, q->blen, q->broot, n->op == K_BODY ? MIME_SEARCH_BODY :
					MIME_SEARCH_TEXT, NULL, n->str, n->slen) == 1;
	}
	return 0;
}

static void resolve_sets(struct search *q, struct imap_sess *s)
{
	size_t i;

	for (i = 0; i < q->n; i++) {
		if (q->pool[i].op == K_SEQ) {
			/* "70:*" in a mailbox of 68 matches nothing, as in Dovecot
			 * (RFC 3501 would have a BAD; "68:100" still matches 68) */
			struct imap_seq *set = &q->pool[i].set;
			uint32_t count = (uint32_t)s->view.count;
			size_t j, o = 0;
			if (imap_seq_dollar(s, set, 0) < 0)
				set->n = 0;
			for (j = 0; j < set->n; j++)
				if (!(set->r[j].lo > count && (set->r[j].hi == 0 || set->r[j].hi > count)) &&
				    !(set->r[j].hi > count && set->r[j].lo == 0))
					set->r[o++] = set->r[j];
			set->n = o;
			imap_seq_resolve(set, count);
		}
		else if (q->pool[i].op == K_UID) {
			if (imap_seq_dollar(s, &q->pool[i].set, 1) < 0)
				q->pool[i].set.n = 0;
			imap_seq_resolve(&q->pool[i].set, imap_view_max_uid(s));
		}
	}
}

/* the parsed keys (large: static), and the highest MODSEQ of the last
 * search's matches when it had a MODSEQ key (RFC 7162 3.1.5), else 0 */
static struct search q;
static uint64_t search_modseq;

enum imap_res imap_search_keys(struct imap_sess *s, struct imap_cmd *c, uint32_t **idx_r,
			       size_t *n_r)
{
	struct node *root;
	size_t i, nhit = 0;
	uint32_t *hit;

	memset(&q, 0, sizeof q);
	search_modseq = 0;
	q.s = s;
	*idx_r = NULL;
	*n_r = 0;
	root = new_node(&q, K_AND);
	if (!root || key_list(&c->ps, &q, root, 0) < 0 || !imap_eol(&c->ps)) {
		free_sets(&q);
		return IMAP_BAD;
	}
	hit = malloc((s->view.count ? s->view.count : 1) * sizeof *hit);
	if (!hit) {
		free_sets(&q);
		imap_tagged(s, c, "NO", "[SERVERBUG] Out of memory.");
		return IMAP_DONE;
	}
	resolve_sets(&q, s);
	if (q.modseq)
		imap_cs_enable(s, 0);
	imap_view_read_begin(s);
	for (i = 0; i < s->view.count; i++) {
		q.i = i;
		q.k = imap_view_index(s, i);
		if (q.k < 0)
			continue;
		if (eval(&q, root)) {
			hit[nhit++] = (uint32_t)i;
			if (q.modseq && s->sc.msgs[q.k].modseq > search_modseq)
				search_modseq = s->sc.msgs[q.k].modseq;
		}
		unload(&q);
		imap_view_read_tick(s);
	}
	imap_view_read_end(s);
	free_sets(&q);
	*idx_r = hit;
	*n_r = nhit;
	return IMAP_OK;
}

/* SEARCHRES (RFC 5182 2.4): what RETURN (SAVE ..) keeps, as UIDs in
 * ascending order: MIN and/or MAX alone keep those, else every match */
static void save_result(struct imap_sess *s, const struct imap_ret *ret, const uint32_t *hit,
			size_t nhit)
{
	size_t i, n = 0;
	uint32_t *u;

	free(s->saved);
	s->saved = NULL;
	s->nsaved = 0;
	if (nhit == 0 || !(u = malloc(nhit * sizeof *u)))
		return;
	if ((ret->opts & (IMAP_R_MIN | IMAP_R_MAX)) && !(ret->opts & (IMAP_R_ALL | IMAP_R_COUNT))) {
		if (ret->opts & IMAP_R_MIN)
			u[n++] = s->view.v[hit[0]].uid;
		if ((ret->opts & IMAP_R_MAX) && (n == 0 || nhit > 1))
			u[n++] = s->view.v[hit[nhit - 1]].uid;
	} else {
		for (i = 0; i < nhit; i++)
			u[n++] = s->view.v[hit[i]].uid;
	}
	s->saved = u;
	s->nsaved = n;
}

enum imap_res cmd_search(struct imap_sess *s, struct imap_cmd *c)
{
	struct imap_ret ret;
	const char *p, *src;
	size_t l, i, nhit = 0;
	uint32_t *hit;
	char *save;
	enum imap_res r;

	memset(&ret, 0, sizeof ret);
	save = c->ps.p;
	if (imap_atom(&c->ps, &p, &l) == 0 && str_ieq(p, l, "RETURN", 6)) {
		/* ESEARCH (RFC 4731), CONTEXT=SEARCH (RFC 5267): imap/esearch.c */
		if (imap_return_opts(&c->ps, &ret) < 0)
			return IMAP_BAD;
		save = c->ps.p;
	} else {
		c->ps.p = save;
		if (s->rev2)
			ret.opts = IMAP_R_ALL;   /* RFC 9051 6.4.4: always ESEARCH */
	}
	src = c->ps.p;
	if (imap_atom(&c->ps, &p, &l) == 0 && str_ieq(p, l, "CHARSET", 7)) {
		if (imap_sp(&c->ps) < 0 || imap_astring(&c->ps, &p, &l) < 0 || imap_sp(&c->ps) < 0)
			r = IMAP_BAD;
		else if (!str_ieq(p, l, "UTF-8", 5) && !str_ieq(p, l, "US-ASCII", 8)) {
			imap_tagged(s, c, "NO", "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset.");
			r = IMAP_DONE;
		} else {
			r = IMAP_OK;
		}
		src = c->ps.p;
	} else {
		c->ps.p = save;
		r = IMAP_OK;
	}
	if (r == IMAP_OK)
		r = imap_search_keys(s, c, &hit, &nhit);
	if (r != IMAP_OK) {
		if (ret.opts & IMAP_R_SAVE)   /* a failed SAVE leaves "$" empty (RFC 5182 2.1) */
			save_result(s, &ret, NULL, 0);
		return r;
	}
	if ((ret.opts & IMAP_R_UPDATE) &&
	    imap_context_add(s, c, 0, imap_search_keys, src, (size_t)(c->ps.end - src), hit, nhit) < 0) {
		free(hit);
		if (ret.opts & IMAP_R_SAVE)
			save_result(s, &ret, NULL, 0);
		imap_tagged(s, c, "NO", "[LIMIT] Too many or too large UPDATE searches.");
		return IMAP_DONE;
	}
	if (ret.opts & IMAP_R_SAVE)
		save_result(s, &ret, hit, nhit);
	for (i = 0; i < nhit; i++)
		hit[i] = c->uid ? s->view.v[hit[i]].uid : hit[i] + 1;
	if (ret.opts & ~IMAP_R_SAVE) {
		imap_put_esearch(s, c, &ret, hit, nhit, 0, search_modseq);
	} else if (!ret.opts) {
		imap_put(s, "* SEARCH");
		for (i = 0; i < nhit; i++)
			imap_put(s, " %u", hit[i]);
		if (search_modseq)
			imap_put(s, " (MODSEQ %llu)", (unsigned long long)search_modseq);
		imap_put(s, "\r\n");
	}
	free(hit);
	return IMAP_OK;
}
