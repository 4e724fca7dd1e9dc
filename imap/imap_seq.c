/* Sequence sets (RFC 3501 section 9, sequence-set): "1:4,7,9:*".  Ranges may
 * be given either way round ("5:2" = "2:5"); "*" is the largest number in
 * use.  After imap_seq_resolve the ranges are sorted and merged, so lookups
 * are binary searches even for the long UID lists mbsync sends. */
#include <stdlib.h>
#include <string.h>
#include "imap.h"


static int seq_number(struct imap_parser *ps, uint32_t *n_r)
{
	const char *p = ps->p;

	if (p < ps->end && *p == '*') {
		ps->p++;
		*n_r = 0;   /* '*': resolved later */
		return 0;
	}
	while (p < ps->end && *p >= '0' && *p <= '9')
		p++;
	if (p == ps->p || *ps->p == '0')
		return -1;
	if (parse_u32(ps->p, (size_t)(p - ps->p), UINT32_MAX, n_r) < 0)
		return -1;
	ps->p = (char *)p;
	return 0;
}

int imap_seq_parse(struct imap_parser *ps, struct imap_seq *set)
{
	set->r = NULL;
	set->n = 0;
	set->dollar = 0;
	/* "$", the saved search result (RFC 5182 2.1), stands alone */
	if (ps->p < ps->end && *ps->p == '$') {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == ',' || *ps->p == ':' ||
					(*ps->p >= '0' && *ps->p <= '9') || *ps->p == '*' || *ps->p == '$'))
			return -1;
		set->dollar = 1;
		return 0;
	}
	for (;;) {
		uint32_t lo, hi;
		void *nr;

		if (seq_number(ps, &lo) < 0)
			goto bad;
		hi = lo;
		if (ps->p < ps->end && *ps->p == ':') {
			ps->p++;
			if (seq_number(ps, &hi) < 0)
				goto bad;
		}
		if (set->n >= IMAP_SEQ_RANGES_MAX)
			goto bad;
		nr = realloc(set->r, (set->n + 1) * sizeof *set->r);
		if (!nr)
			goto bad;
		set->r = nr;
		set->r[set->n].lo = lo;
		set->r[set->n].hi = hi;
		set->n++;
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		return 0;
	}
bad:
	imap_seq_free(set);
	return -1;
}

static int saved_has(const struct imap_sess *s, uint32_t uid)
{
	size_t lo = 0, hi = s->nsaved;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (uid < s->saved[mid])
			hi = mid;
		else if (uid > s->saved[mid])
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* "$": the saved UIDs (ascending), or the sequence numbers of those still
 * in the view; messages expunged since are no longer in it (RFC 5182 2.1) */
int imap_seq_dollar(struct imap_sess *s, struct imap_seq *set, int uid)
{
	size_t i, n = uid ? s->nsaved : s->view.count;

	if (!set->dollar)
		return 0;
	free(set->r);
	set->r = NULL;
	set->n = 0;
	if (n == 0)
		return 0;
	set->r = malloc(n * sizeof *set->r);
	if (!set->r)
		return -1;
	for (i = 0; i < n; i++) {
		uint32_t x;
		if (uid)
			x = s->saved[i];
		else if (saved_has(s, s->view.v[i].uid))
			x = (uint32_t)(i + 1);
		else
			continue;
		set->r[set->n].lo = set->r[set->n].hi = x;
		set->n++;
	}
	return 0;
}

void imap_seq_free(struct imap_seq *set)
{
	free(set->r);
	set->r = NULL;
	set->n = 0;
}

static int cmp_range(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Replaces '*' by star, orders each range, sorts and merges. */
void imap_seq_resolve(struct imap_seq *set, uint32_t star)
{
	size_t i, o = 0;

	for (i = 0; i < set->n; i++) {
		uint32_t lo = set->r[i].lo ? set->r[i].lo : star;
		uint32_t hi = set->r[i].hi ? set->r[i].hi : star;
		set->r[i].lo = lo < hi ? lo : hi;
		set->r[i].hi = lo < hi ? hi : lo;
	}
	if (set->n > 1)
		qsort(set->r, set->n, sizeof *set->r, cmp_range);
	for (i = 0; i < set->n; i++) {
		if (o > 0 && set->r[i].lo <= set->r[o - 1].hi + (uint64_t)1) {
			if (set->r[i].hi > set->r[o - 1].hi)
				set->r[o - 1].hi = set->r[i].hi;
			continue;
		}
		set->r[o++] = set->r[i];
	}
	set->n = o;
}

int imap_seq_has(const struct imap_seq *set, uint32_t x, uint32_t star)
{
	size_t lo = 0, hi = set->n;

	(void)star;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x < set->r[mid].lo)
			hi = mid;
		else if (x > set->r[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}
