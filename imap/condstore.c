/* CONDSTORE and QRESYNC (RFC 7162): the parts that are not one line in
 * another command's file.  Mod-sequences come from libmbox (index.c):
 * each message has the modseq of its last flag change or its arrival,
 * the mailbox a HIGHESTMODSEQ above all of them that also grows on an
 * expunge, kept in the mailbox index and never going back (a floor
 * survives the index).  Expunges are not logged: VANISHED (EARLIER)
 * reports every UID of the client's set that is not in the mailbox, which
 * RFC 7162 3.2.5.1 and 3.2.6 allow (UIDs expunged before the client's
 * modseq may be included).
 *
 * CONDSTORE is enabled by ENABLE CONDSTORE or QRESYNC, SELECT/EXAMINE
 * (CONDSTORE), FETCH MODSEQ or (CHANGEDSINCE), STORE (UNCHANGEDSINCE),
 * SEARCH MODSEQ (3.1); from then on every FETCH response with FLAGS also
 * carries MODSEQ.  QRESYNC only by ENABLE; then expunges are reported
 * as VANISHED instead of EXPUNGE (imap_view.c: imap_cs_expunged). */
#include <stdlib.h>
#include <string.h>
#include "imap.h"

void imap_cs_enable(struct imap_sess *s, int qresync)
{
	int was = s->condstore;

	s->condstore = 1;
	if (qresync)
		s->qresync = 1;
	/* enabled while a mailbox is selected: tell its HIGHESTMODSEQ (3.1) */
	if (!was && s->state == IMAP_S_SELECTED)
		imap_put(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
			 (unsigned long long)imap_cs_highest(s));
}

/* mod-sequence-valzer: 0 .. 2^63-1 */
int imap_cs_number(struct imap_parser *ps, uint64_t *v)
{
	const char *p = ps->p;

	while (p < ps->end && *p >= '0' && *p <= '9')
		p++;
	if (p == ps->p || parse_u64(ps->p, (size_t)(p - ps->p), INT64_MAX, v) < 0)
		return -1;
	ps->p = (char *)p;
	return 0;
}

/* "* VANISHED (EARLIER) set" for the UIDs of set below UIDNEXT that the
 * mailbox does not hold; nothing if there are none.  -1: no memory. */
int imap_cs_vanished_earlier(struct imap_sess *s, const struct imap_seq *set)
{
	uint32_t *u = NULL, next = s->view.uidnext;
	size_t n = 0, cap = 0, i, j = 0;

	for (i = 0; i < set->n; i++) {
		uint32_t lo = set->r[i].lo, hi = set->r[i].hi, x;
		size_t a = 0, b = s->view.count;
		if (hi >= next)
			hi = next - 1;
		/* the view is in UID order: the first entry >= lo */
		while (a < b) {
			size_t mid = a + (b - a) / 2;
			if (s->view.v[mid].uid < lo)
				a = mid + 1;
			else
				b = mid;
		}
		j = a;
		for (x = lo; x && x <= hi; x++) {
			while (j < s->view.count && s->view.v[j].uid < x)
				j++;
			if (j < s->view.count && s->view.v[j].uid == x && !s->view.v[j].gone)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 256;
				uint32_t *nu = realloc(u, nc * sizeof *u);
				if (!nu) {
					free(u);
					return -1;
				}
				u = nu;
				cap = nc;
			}
			u[n++] = x;
			if (x == UINT32_MAX)
				break;
		}
	}
	if (n) {
		imap_put(s, "* VANISHED (EARLIER) ");
		imap_put_ordered_set(s, u, n);
		imap_put(s, "\r\n");
	}
	free(u);
	return 0;
}

/* ---- SELECT / EXAMINE parameters (3.1.8, 3.2.5) ---------------------------- */

/* After the mailbox name: [SP "(" select-param *(SP select-param) ")"].
 * 0 ok, -1 BAD. */
int imap_cs_select_params(struct imap_sess *s, struct imap_parser *ps, struct imap_cs_select *q)
{
	const char *p;
	size_t n;

	memset(q, 0, sizeof *q);
	if (imap_eol(ps))
		return 0;
	if (imap_sp(ps) < 0 || imap_peek(ps) != '(')
		return -1;
	ps->p++;
	do {
		if (imap_atom(ps, &p, &n) < 0)
			return -1;
		if (str_ieq(p, n, "CONDSTORE", 9)) {
			q->condstore = 1;
			continue;
		}
		if (!str_ieq(p, n, "QRESYNC", 7) || !s->qresync || q->qresync)
			return -1;   /* QRESYNC before ENABLE QRESYNC: BAD (3.2.3) */
		q->qresync = 1;
		if (imap_sp(ps) < 0 || imap_peek(ps) != '(')
			return -1;
		ps->p++;
		uint64_t uv;
		if (imap_cs_number(ps, &uv) < 0 || uv == 0 || uv > UINT32_MAX || imap_sp(ps) < 0 ||
		    imap_cs_number(ps, &q->modseq) < 0 || q->modseq == 0)
			return -1;
		q->uidvalidity = (uint32_t)uv;
		if (imap_peek(ps) == ' ') {
			ps->p++;
			if (imap_peek(ps) != '(') {
				if (imap_seq_parse(ps, &q->known) < 0)
					return -1;
				q->has_known = 1;
				if (imap_peek(ps) == ' ')
					ps->p++;
			}
			if (imap_peek(ps) == '(') {
				/* seq-match-data: a hint we may ignore; checked for syntax */
				struct imap_seq a, b;
				ps->p++;
				if (imap_seq_parse(ps, &a) < 0)
					return -1;
				imap_seq_free(&a);
				if (imap_sp(ps) < 0 || imap_seq_parse(ps, &b) < 0)
					return -1;
				imap_seq_free(&b);
				if (imap_peek(ps) != ')')
					return -1;
				ps->p++;
			}
		}
		if (imap_peek(ps) != ')')
			return -1;
		ps->p++;
	} while (imap_sp(ps) == 0);
	if (imap_peek(ps) != ')')
		return -1;
	ps->p++;
	return imap_eol(ps) ? 0 : -1;
}

void imap_cs_select_free(struct imap_cs_select *q)
{
	if (q->has_known)
		imap_seq_free(&q->known);
	q->has_known = 0;
}

/* The untagged part of the answer, after the RFC 3501 lines. */
int imap_cs_select_report(struct imap_sess *s, struct imap_cs_select *q)
{
	struct imap_seq all;
	size_t i;

	if (q->condstore || q->qresync)
		s->condstore = 1;
	if (!s->condstore)
		return 0;
	imap_put(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n", (unsigned long long)imap_cs_highest(s));
	if (!q->qresync || q->uidvalidity != s->view.uidvalidity)
		return 0;   /* a client with an old UIDVALIDITY resynchronises in full */
	if (q->has_known) {
		imap_seq_resolve(&q->known, imap_view_max_uid(s));
		if (imap_cs_vanished_earlier(s, &q->known) < 0)
			return -1;
	} else if (s->view.uidnext > 1) {
		struct { uint32_t lo, hi; } r = { 1, s->view.uidnext - 1 };
		memset(&all, 0, sizeof all);
		all.r = (void *)&r;
		all.n = 1;
		if (imap_cs_vanished_earlier(s, &all) < 0)
			return -1;
	}
	for (i = 0; i < s->view.count; i++) {
		uint64_t ms = imap_cs_modseq(s, i);
		if (ms <= q->modseq || s->view.v[i].gone)
			continue;
		imap_put(s, "* %zu FETCH (UID %u FLAGS ", i + 1, s->view.v[i].uid);
		imap_put_flags(s, &s->view.v[i]);
		imap_put(s, " MODSEQ (%llu))\r\n", (unsigned long long)ms);
	}
	return 0;
}

/* ---- FETCH modifiers (3.1.4.1, 3.2.6) ------------------------------------- */

/* [SP "(" fetch-modifier *(SP fetch-modifier) ")"] after the attributes:
 * CHANGEDSINCE n, VANISHED.  0 ok, -1 BAD. */
int imap_cs_fetch_mods(struct imap_sess *s, struct imap_parser *ps, struct imap_cs_fetch *f)
{
	const char *p;
	size_t n;

	memset(f, 0, sizeof *f);
	if (imap_peek(ps) != ' ')
		return 0;
	ps->p++;
	if (imap_peek(ps) != '(')
		return -1;
	ps->p++;
	do {
		if (imap_atom(ps, &p, &n) < 0)
			return -1;
		if (str_ieq(p, n, "CHANGEDSINCE", 12) && !f->changedsince) {
			if (imap_sp(ps) < 0 || imap_cs_number(ps, &f->since) < 0)
				return -1;
			f->changedsince = 1;
		} else if (str_ieq(p, n, "VANISHED", 8) && !f->vanished && s->qresync) {
			f->vanished = 1;
		} else {
			return -1;
		}
	} while (imap_sp(ps) == 0);
	if (imap_peek(ps) != ')')
		return -1;
	ps->p++;
	return 0;
}
