/* Content-Type and Content-Disposition values: type/subtype or a token,
 * then ;attribute=value parameters (RFC 2045 5.1), with RFC 2231
 * continuations merged: name*0*=a name*1*=b becomes name*="ab", the
 * charset'language' prefix kept, as Dovecot reports them. */
#include "mime_int.h"
#include "bounds.h"

#include <string.h>

void params_init(struct params *pr)
{
	memset(pr, 0, sizeof *pr);
	buf_init(&pr->s);
}

void params_free(struct params *pr)
{
	buf_free(&pr->s);
}

struct raw {
	size_t aoff, alen, voff, vlen;
};

/* "name*3*" -> base length, section number and extended flag; section -1
 * when the name has no *N part. */
static void split_name(const char *a, size_t n, size_t *base_r, long *sec_r, int *ext_r)
{
	size_t i, j;
	long sec = 0;

	*ext_r = n > 0 && a[n - 1] == '*';
	if (*ext_r)
		n--;
	*base_r = n;
	*sec_r = -1;
	for (i = 0; i < n && a[i] != '*'; i++)
		;
	if (i == n || i + 1 == n)
		return;
	for (j = i + 1; j < n; j++) {
		if (a[j] < '0' || a[j] > '9' || sec > 100000)
			return;
		sec = sec * 10 + (a[j] - '0');
	}
	*base_r = i;
	*sec_r = sec;
}

static int add(struct params *pr, const char *a, size_t al, int star, const char *v, size_t vl)
{
	if (pr->n == MIME_PARAMS_MAX)
		return 0;
	pr->aoff[pr->n] = pr->s.len;
	pr->alen[pr->n] = al + (star ? 1 : 0);
	if (buf_add(&pr->s, a, al) < 0 || (star && buf_addc(&pr->s, '*') < 0) || buf_addc(&pr->s, '\0') < 0)
		return -1;
	pr->voff[pr->n] = pr->s.len;
	pr->vlen[pr->n] = vl;
	if (buf_add(&pr->s, v, vl) < 0 || buf_addc(&pr->s, '\0') < 0)
		return -1;
	pr->n++;
	return 0;
}

/* Has pr an attribute named a (a trailing '*' of either ignored)? */
static int have(const struct params *pr, const char *a, size_t al)
{
	size_t i, n;

	for (i = 0; i < pr->n; i++) {
		n = pr->alen[i];
		if (n && PARAM_A(pr, i)[n - 1] == '*')
			n--;
		if (str_ieq(PARAM_A(pr, i), n, a, al))
			return 1;
	}
	return 0;
}

/* Merges continuations found in raw (strings in tmp) into pr.  A repeated
 * attribute or section is dropped (the first wins, as in Dovecot): each
 * raw value is used at most once, so the result is never larger than the
 * field, and a merged value is capped at MIME_PARAM_VALUE_MAX. */
static int merge(struct params *pr, const struct raw *raw, size_t nraw, const char *t)
{
	struct buf v;
	size_t i, k, base, b2;
	long sec, s2, want;
	int ext, e2, first_ext, found;

	buf_init(&v);
	for (i = 0; i < nraw; i++) {
		split_name(t + raw[i].aoff, raw[i].alen, &base, &sec, &ext);
		if (have(pr, t + raw[i].aoff, base))
			continue;
		if (sec < 0) {
			if (add(pr, t + raw[i].aoff, raw[i].alen, 0, t + raw[i].voff, raw[i].vlen) < 0)
				goto fail;
			continue;
		}
		if (sec != 0)
			continue; /* consumed with its section 0; orphans dropped */
		buf_reset(&v);
		first_ext = ext;
		for (want = 0, found = 1; found; want++) {
			found = 0;
			for (k = 0; k < nraw; k++) {
				split_name(t + raw[k].aoff, raw[k].alen, &b2, &s2, &e2);
				if (s2 == want && b2 == base && str_ieq(t + raw[k].aoff, b2, t + raw[i].aoff, base)) {
					size_t room = MIME_PARAM_VALUE_MAX - v.len;
					if (buf_add(&v, t + raw[k].voff, raw[k].vlen < room ? raw[k].vlen : room) < 0)
						goto fail;
					found = 1;
					break;
				}
			}
		}
		if (add(pr, t + raw[i].aoff, base, first_ext, v.s ? v.s : "", v.len) < 0)
			goto fail;
	}
	buf_free(&v);
	return 0;
fail:
	buf_free(&v);
	return -1;
}

int params_parse(struct params *pr, const char *v, size_t n, int ct)
{
	struct rfc822 r;
	struct buf t;
	struct raw raw[MIME_PARAMS_MAX + 1]; /* +1: the slot being filled */
	size_t nraw = 0;
	int ret = -1, got;

	buf_init(&t);
	rfc822_init(&r, v, n);
	/* the value: type "/" subtype, or a token */
	if (rfc822_skip(&r, NULL) < 0)
		goto out;
	pr->v1off = pr->s.len;
	if (rfc822_atom(&r, &pr->s, RFC822_TOKEN) < 0)
		goto out;
	pr->v1len = pr->s.len - pr->v1off;
	if (buf_addc(&pr->s, '\0') < 0 || rfc822_skip(&r, NULL) < 0)
		goto out;
	pr->v2off = pr->s.len;
	if (ct && r.p < r.end && *r.p == '/') {
		r.p++;
		if (rfc822_skip(&r, NULL) < 0 || rfc822_atom(&r, &pr->s, RFC822_TOKEN) < 0)
			goto out;
	}
	pr->v2len = pr->s.len - pr->v2off;
	if (buf_addc(&pr->s, '\0') < 0)
		goto out;
	for (;;) {
		struct raw *x = &raw[nraw];
		while (r.p < r.end && *r.p != ';')
			r.p++; /* junk after the value or a bad parameter */
		if (r.p >= r.end)
			break;
		r.p++;
		if (rfc822_skip(&r, NULL) < 0)
			goto out;
		x->aoff = t.len;
		if (rfc822_atom(&r, &t, RFC822_TOKEN) <= 0)
			continue;
		x->alen = t.len - x->aoff;
		if (rfc822_skip(&r, NULL) < 0)
			goto out;
		if (r.p >= r.end || *r.p != '=')
			continue;
		r.p++;
		if (rfc822_skip(&r, NULL) < 0)
			goto out;
		x->voff = t.len;
		got = rfc822_quoted(&r, &t);
		if (got == 0) {
			/* tolerate unquoted values with tspecials, up to ';' */
			const char *s = r.p;
			while (r.p < r.end && *r.p != ';' && *r.p != ' ' && *r.p != '\t' && *r.p != '\r' &&
			       *r.p != '\n' && *r.p != '(')
				r.p++;
			got = buf_add(&t, s, (size_t)(r.p - s)) < 0 ? -1 : 1;
		}
		if (got < 0)
			goto out;
		x->vlen = t.len - x->voff;
		if (nraw < MIME_PARAMS_MAX)
			nraw++;
	}
	ret = merge(pr, raw, nraw, t.s ? t.s : "");
out:
	buf_free(&t);
	return ret;
}

const char *params_get(const struct params *pr, const char *attr, size_t *len_r)
{
	size_t i, al = strlen(attr);

	for (i = 0; i < pr->n; i++)
		if (str_ieq(PARAM_A(pr, i), pr->alen[i], attr, al)) {
			*len_r = pr->vlen[i];
			return PARAM_V(pr, i);
		}
	return NULL;
}
