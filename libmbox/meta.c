/* Metadata headers: Status, X-Status, X-Keywords, X-UID, X-IMAPbase, X-IMAP,
 * Content-Length (mbox-interop.md §5, §7.7): parse their values and format
 * the block the rewriter writes, in Dovecot's forms. */
#include "private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	size_t len;
	int kind;
} meta_names[] = {
	{ "Status", 6, MBOX_MK_STATUS },
	{ "X-Status", 8, MBOX_MK_XSTATUS },
	{ "X-Keywords", 10, MBOX_MK_XKEYWORDS },
	{ "X-UID", 5, MBOX_MK_XUID },
	{ "X-IMAPbase", 10, MBOX_MK_XIMAPBASE },
	{ "X-IMAP", 6, MBOX_MK_XIMAP },
	{ "Content-Length", 14, MBOX_MK_CLEN },
};

int mbox_meta_kind(const char *p, size_t n)
{
	size_t i;

	/* cheap first-byte filter: this runs on every header line */
	if (n < 6 || !strchr("SsXxCc", p[0]))
		return MBOX_MK_NONE;
	for (i = 0; i < sizeof(meta_names) / sizeof(meta_names[0]); i++) {
		size_t l = meta_names[i].len;
		if (n > l && p[l] == ':' && !strncasecmp(p, meta_names[i].name, l))
			return meta_names[i].kind;
	}
	return MBOX_MK_NONE;
}

const char *mbox_meta_value(const char *p, size_t n, size_t *vlen_r)
{
	const char *c = memchr(p, ':', n);

	if (!c) {
		*vlen_r = 0;
		return p + n;
	}
	c++;
	n -= (size_t)(c - p);
	while (n && (c[n - 1] == '\n' || c[n - 1] == '\r'))
		n--;
	*vlen_r = n;
	return c;
}

uint32_t mbox_meta_status(const char *v, size_t n)
{
	uint32_t f = 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i] == 'R')
			f |= MBOX_F_SEEN;
		else if (v[i] == 'O')
			f |= MBOX_F_OLD;
	}
	return f;
}

uint32_t mbox_meta_xstatus(const char *v, size_t n)
{
	uint32_t f = 0;

	for (size_t i = 0; i < n; i++) {
		switch (v[i]) {
		case 'A': f |= MBOX_F_ANSWERED; break;
		case 'F': f |= MBOX_F_FLAGGED; break;
		case 'T': f |= MBOX_F_DRAFT; break;
		case 'D': f |= MBOX_F_DELETED; break;
		}
	}
	return f;
}

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Next space-separated token of v[*i..n). */
static int token(const char *v, size_t n, size_t *i, const char **t_r, size_t *tl_r)
{
	while (*i < n && blank(v[*i]))
		(*i)++;
	if (*i >= n)
		return 0;
	*t_r = v + *i;
	while (*i < n && !blank(v[*i]))
		(*i)++;
	*tl_r = (size_t)(v + *i - *t_r);
	return 1;
}

static int digits_u64(const char *t, size_t n, uint64_t *r)
{
	uint64_t x = 0;

	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (t[i] < '0' || t[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(t[i] - '0');
	}
	*r = x;
	return 0;
}

int mbox_meta_u64(const char *v, size_t n, uint64_t *r)
{
	size_t i = 0;
	const char *t;
	size_t tl;

	if (!token(v, n, &i, &t, &tl) || digits_u64(t, tl, r) < 0)
		return -1;
	return token(v, n, &i, &t, &tl) ? -1 : 0;
}

int mbox_meta_base(struct mbox_scan *sc, const char *v, size_t n,
		   uint32_t *uv_r, uint32_t *last_r)
{
	size_t i = 0;
	const char *t;
	size_t tl;
	uint64_t uv, last;

	/* lenient about runs of spaces (mailutils pads to 20 columns) */
	if (!token(v, n, &i, &t, &tl) || digits_u64(t, tl, &uv) < 0 ||
	    uv == 0 || uv > UINT32_MAX)
		return -1;
	if (!token(v, n, &i, &t, &tl) || digits_u64(t, tl, &last) < 0 ||
	    last >= UINT32_MAX)
		return -1;
	*uv_r = (uint32_t)uv;
	*last_r = (uint32_t)last;
	/* keywords read from the file are not a change to write back */
	int dirty = sc->base_dirty;
	while (token(v, n, &i, &t, &tl))
		if (mbox_keyword_index(sc, t, tl, 1) >= 0)
			continue;
	sc->base_dirty = dirty;
	return 0;
}

uint64_t mbox_meta_keywords(const struct mbox_scan *sc, const char *v, size_t n)
{
	size_t i = 0;
	const char *t;
	size_t tl;
	uint64_t k = 0;
	int x;

	/* Dovecot honours only keywords listed in X-IMAPbase */
	while (token(v, n, &i, &t, &tl))
		if ((x = mbox_keyword_index((struct mbox_scan *)sc, t, tl, 0)) >= 0)
			k |= 1ULL << x;
	return k;
}

static int keyword_ok(const char *name, size_t len)
{
	/* an IMAP atom: no controls, space or atom-specials */
	if (len == 0 || len > 255)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\]", c))
			return 0;
	}
	return 1;
}

int mbox_keyword_index(struct mbox_scan *sc, const char *name, size_t len, int create)
{
	size_t i;
	char *s;

	for (i = 0; i < sc->nkeywords; i++)
		if (strlen(sc->keywords[i]) == len && !memcmp(sc->keywords[i], name, len))
			return (int)i;
	if (!create || sc->nkeywords >= MBOX_KW_MAX || !keyword_ok(name, len))
		return -1;
	if (!(s = malloc(len + 1)))
		return -1;
	memcpy(s, name, len);
	s[len] = 0;
	sc->keywords[sc->nkeywords] = s;
	sc->base_dirty = 1;
	return (int)sc->nkeywords++;
}

/* ---- formatting ----------------------------------------------------------- */

struct out {
	char *p;
	size_t n, cap;
	int over;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->n) {
		o->over = 1;
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* decimal, zero-padded to width digits */
static void put_num(struct out *o, unsigned long long v, int width)
{
	char b[24];
	int i = (int)sizeof(b);

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
		width--;
	} while (v || width > 0);
	put(o, b + i, sizeof(b) - (size_t)i);
}

static void put_keywords(struct out *o, const struct mbox_scan *sc, uint64_t kw)
{
	for (size_t i = 0; i < sc->nkeywords; i++) {
		if (kw & (1ULL << i)) {
			put(o, " ", 1);
			puts_(o, sc->keywords[i]);
		}
	}
}

long mbox_meta_format(const struct mbox_scan *sc, const struct mbox_meta_out *m,
		      char *buf, size_t cap, size_t want)
{
	struct out o = { buf, 0, cap, 0 };
	size_t tail, pad;
	char clbuf[64];
	int cl = 0;

	if (m->base) {
		puts_(&o, m->base == 2 ? "X-IMAP: " : "X-IMAPbase: ");
		put_num(&o, sc->uidvalidity, 1);
		put(&o, " ", 1);
		/* 10 digits, so later UID assignments patch it in place */
		put_num(&o, sc->uidnext ? sc->uidnext - 1ULL : 0ULL, 10);
		put_keywords(&o, sc, ~0ULL);
		put(&o, "\n", 1);
	}
	if (m->uid) {
		puts_(&o, "X-UID: ");
		put_num(&o, m->uid, 1);
		put(&o, "\n", 1);
	}
	if (m->flags & (MBOX_F_SEEN | MBOX_F_OLD)) {
		puts_(&o, "Status: ");
		if (m->flags & MBOX_F_SEEN)
			put(&o, "R", 1);
		if (m->flags & MBOX_F_OLD)
			put(&o, "O", 1);
		put(&o, "\n", 1);
	}
	if (m->flags & (MBOX_F_ANSWERED | MBOX_F_FLAGGED | MBOX_F_DRAFT | MBOX_F_DELETED)) {
		puts_(&o, "X-Status: ");
		if (m->flags & MBOX_F_ANSWERED)
			put(&o, "A", 1);
		if (m->flags & MBOX_F_FLAGGED)
			put(&o, "F", 1);
		if (m->flags & MBOX_F_DRAFT)
			put(&o, "T", 1);
		if (m->flags & MBOX_F_DELETED)
			put(&o, "D", 1);
		put(&o, "\n", 1);
	}
	puts_(&o, "X-Keywords:");
	put_keywords(&o, sc, m->keywords);
	if (m->clen >= 0) {
		int r = snprintf(clbuf, sizeof(clbuf), "Content-Length: %lld\n", (long long)m->clen);
		if (r < 0 || (size_t)r >= sizeof(clbuf))
			o.over = 1;
		else
			cl = r;
	}
	tail = 1 + (size_t)cl;   /* X-Keywords' LF, then Content-Length */
	if (o.over) {
		errno = ENOSPC;
		return -1;
	}
	if (want) {
		if (o.n + tail > want) {
			errno = ENOSPC;
			return -1;
		}
		pad = want - o.n - tail;
	} else {
		pad = MBOX_PAD;
	}
	if (pad > o.cap - o.n) {
		errno = ENOSPC;
		return -1;
	}
	memset(o.p + o.n, ' ', pad);
	o.n += pad;
	put(&o, "\n", 1);
	put(&o, clbuf, (size_t)cl);
	if (o.over) {
		errno = ENOSPC;
		return -1;
	}
	return (long)o.n;
}

int mbox_field_named(const char *h, size_t n, const char *const *names, size_t count)
{
	const char *colon = memchr(h, ':', n);
	size_t i, len;

	if (!colon)
		return 0;       /* not a field */
	len = (size_t)(colon - h);
	while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
		len--;
	for (i = 0; i < count; i++)
		if (strlen(names[i]) == len && strncasecmp(h, names[i], len) == 0)
			return 1;
	return 0;
}
