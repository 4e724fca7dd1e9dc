/* RETURN options of SEARCH and SORT and the ESEARCH response: ESEARCH
 * (RFC 4731: MIN MAX COUNT ALL), ESORT and CONTEXT=SEARCH/CONTEXT=SORT
 * (RFC 5267: PARTIAL, UPDATE, CONTEXT), SAVE (RFC 5182, cmd_search.c keeps
 * the result). */
#include <string.h>
#include "imap.h"
#include "sort.h"

int imap_return_opts(struct imap_parser *ps, struct imap_ret *r)
{
	static const struct { const char *n; int bit; } opts[] = {
		{ "MIN", IMAP_R_MIN }, { "MAX", IMAP_R_MAX }, { "ALL", IMAP_R_ALL },
		{ "COUNT", IMAP_R_COUNT }, { "PARTIAL", IMAP_R_PARTIAL }, { "UPDATE", IMAP_R_UPDATE },
		{ "CONTEXT", IMAP_R_CONTEXT }, { "SAVE", IMAP_R_SAVE },
	};
	const char *p;
	size_t l, i;
	int first = 1;

	memset(r, 0, sizeof *r);
	if (imap_sp(ps) < 0 || imap_peek(ps) != '(')
		return -1;
	ps->p++;
	while (imap_peek(ps) != ')') {
		if (!first && imap_sp(ps) < 0)
			return -1;
		first = 0;
		if (imap_atom(ps, &p, &l) < 0)
			return -1;
		for (i = 0; i < sizeof opts / sizeof opts[0]; i++)
			if (str_ieq(p, l, opts[i].n, strlen(opts[i].n)))
				break;
		if (i == sizeof opts / sizeof opts[0] || (r->opts & opts[i].bit))
			return -1;
		r->opts |= opts[i].bit;
		if (opts[i].bit == IMAP_R_PARTIAL) {
			/* PARTIAL n:m, positions from 1 (RFC 5267 4.4) */
			const char *d, *colon;
			uint32_t a, b;
			if (imap_sp(ps) < 0 || imap_atom(ps, &d, &l) < 0 ||
			    !(colon = memchr(d, ':', l)) ||
			    parse_u32(d, (size_t)(colon - d), UINT32_MAX, &a) < 0 ||
			    parse_u32(colon + 1, l - (size_t)(colon - d) - 1, UINT32_MAX, &b) < 0 ||
			    a == 0 || b == 0)
				return -1;
			r->plo = a < b ? a : b;
			r->phi = a < b ? b : a;
		}
	}
	ps->p++;
	if (imap_sp(ps) < 0)
		return -1;
	/* RETURN () is ALL; UPDATE or CONTEXT alone leave the result empty,
	 * SAVE alone gives no ESEARCH at all (RFC 5182 2.4) */
	if (!r->opts)
		r->opts |= IMAP_R_ALL;
	if ((r->opts & IMAP_R_PARTIAL) && (r->opts & IMAP_R_ALL))
		return -1;   /* RFC 5267 4.4: not both */
	return 0;
}

void imap_put_esearch(struct imap_sess *s, struct imap_cmd *c, const struct imap_ret *r,
		      const uint32_t *hit, size_t n, int count_last, uint64_t modseq)
{
	imap_put(s, "* ESEARCH (TAG ");
	imap_put_qstring(s, c->tag, c->taglen);
	imap_put(s, ")%s", c->uid ? " UID" : "");
	if ((r->opts & IMAP_R_MIN) && n)
		imap_put(s, " MIN %u", hit[0]);
	if ((r->opts & IMAP_R_MAX) && n)
		imap_put(s, " MAX %u", hit[n - 1]);
	if ((r->opts & IMAP_R_COUNT) && !count_last)
		imap_put(s, " COUNT %zu", n);
	if ((r->opts & IMAP_R_ALL) && n) {
		imap_put(s, " ALL ");
		imap_put_ordered_set(s, hit, n);
	}
	if (r->opts & IMAP_R_PARTIAL) {
		imap_put(s, " PARTIAL (%u:%u ", r->plo, r->phi);
		if (r->plo <= n) {
			size_t hi = r->phi < n ? r->phi : n;
			imap_put_ordered_set(s, hit + r->plo - 1, hi - r->plo + 1);
		} else {
			imap_put(s, "NIL");
		}
		imap_put(s, ")");
	}
	if ((r->opts & IMAP_R_COUNT) && count_last)
		imap_put(s, " COUNT %zu", n);
	if (modseq)     /* a MODSEQ search key was given (RFC 7162 3.1.5) */
		imap_put(s, " MODSEQ %llu", (unsigned long long)modseq);
	imap_put(s, "\r\n");
}
