/* SEARCH substring matching (RFC 3501 6.4.4): on headers decoded from
 * RFC 2047 and bodies decoded from QP/base64 and converted to UTF-8,
 * case-insensitively.  An ASCII needle is matched with ASCII case folding
 * on the decoded text; any other needle folds both sides with mime_fold
 * (simple case folding of Latin, Greek and Cyrillic: the scripts of the
 * charsets iconv converts for us). */
#include "mime_int.h"

#include <string.h>

static unsigned long fold_cp(unsigned long c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if ((c >= 0xc0 && c <= 0xde && c != 0xd7) || (c >= 0x391 && c <= 0x3ab && c != 0x3a2) ||
	    (c >= 0x410 && c <= 0x42f))
		return c + 32;
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177) || (c >= 0x460 && c <= 0x481) ||
	    (c >= 0x48a && c <= 0x4bf) || (c >= 0x1e00 && c <= 0x1eff))
		return c | 1;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return (c & 1) ? c + 1 : c;
	if (c == 0x3c2)
		return 0x3c3; /* final sigma */
	return c;
}

int mime_fold(const char *in, size_t n, struct buf *out)
{
	size_t i = 0;
	const unsigned char *s = (const unsigned char *)in;

	if (buf_reserve(out, n) < 0)
		return -1;
	while (i < n) {
		unsigned long c = s[i];
		size_t len = 1;
		char enc[4];
		if (c >= 0xc2 && c <= 0xdf && i + 1 < n && (s[i + 1] & 0xc0) == 0x80) {
			c = ((c & 0x1f) << 6) | (s[i + 1] & 0x3f);
			len = 2;
		} else if (c >= 0xe0 && c <= 0xef && i + 2 < n && (s[i + 1] & 0xc0) == 0x80 &&
			   (s[i + 2] & 0xc0) == 0x80) {
			c = ((c & 0x0f) << 12) | ((unsigned long)(s[i + 1] & 0x3f) << 6) | (s[i + 2] & 0x3f);
			len = 3;
		} else if (c >= 0x80) {
			if (buf_addc(out, (char)c) < 0) /* 4-byte and invalid: as is */
				return -1;
			i++;
			continue;
		}
		c = fold_cp(c);
		if (c < 0x80) {
			enc[0] = (char)c;
			if (buf_addc(out, enc[0]) < 0)
				return -1;
		} else if (c < 0x800) {
			enc[0] = (char)(0xc0 | (c >> 6));
			enc[1] = (char)(0x80 | (c & 0x3f));
			if (buf_add(out, enc, 2) < 0)
				return -1;
		} else {
			enc[0] = (char)(0xe0 | (c >> 12));
			enc[1] = (char)(0x80 | ((c >> 6) & 0x3f));
			enc[2] = (char)(0x80 | (c & 0x3f));
			if (buf_add(out, enc, 3) < 0)
				return -1;
		}
		i += len;
	}
	return 0;
}

struct srch {
	const char *p;
	size_t len;
	const char *needle; /* folded unless ascii */
	size_t nlen;
	int ascii;
	int found;       /* addr_cb: an address matched */
	struct buf a, b; /* scratch */
};

/* ASCII case-insensitive search: memchr to the next candidate for the
 * needle's first byte (both cases), then compare */
static int ifind(const char *h, size_t n, const char *nd, size_t nl)
{
	unsigned char lc = (unsigned char)nd[0], uc = lc;
	const char *p = h, *end, *a, *b;

	if (nl == 0)
		return 1;
	if (nl > n)
		return 0;
	if (lc >= 'A' && lc <= 'Z')
		lc = (unsigned char)(lc + 32);
	if (lc >= 'a' && lc <= 'z')
		uc = (unsigned char)(lc - 32);
	end = h + (n - nl) + 1;
	while (p < end) {
		a = memchr(p, lc, (size_t)(end - p));
		b = uc != lc ? memchr(p, uc, (size_t)((a ? a : end) - p)) : NULL;
		if (b)
			a = b;
		if (!a)
			return 0;
		if (str_ieq(a, nl, nd, nl))
			return 1;
		p = a + 1;
	}
	return 0;
}

/* Charsets where ASCII bytes are ASCII characters and no other byte
 * converts to one: an ASCII needle is searched without iconv. */
static int ascii_compatible(const char *cs, size_t n)
{
	static const char *const pfx[] = { "us-ascii", "utf-8", "utf8", "iso-8859-", "iso8859-",
					   "latin", "windows-125", "cp125", "koi8-", "ascii" };
	size_t i;

	if (n == 0)
		return 1;
	for (i = 0; i < sizeof pfx / sizeof pfx[0]; i++)
		if (str_iprefix(cs, n, pfx[i]))
			return 1;
	return 0;
}

/* does text (UTF-8) contain the needle? */
static int has(struct srch *s, const char *t, size_t n)
{
	if (s->ascii)
		return ifind(t, n, s->needle, s->nlen);
	buf_reset(&s->b);
	if (mime_fold(t, n, &s->b) < 0)
		return -1;
	return s->b.len >= s->nlen && memmem(s->b.s, s->b.len, s->needle, s->nlen) != NULL;
}

/* Address fields also match on the parsed addresses, as ENVELOPE shows
 * them ("Name <local@domain>"): comments and folding inside the local part
 * or the domain are gone there (Dovecot matches this form). */
static int is_addr_field(const char *n, size_t l)
{
	static const char *const f[] = { "From", "To", "Cc", "Bcc", "Sender", "Reply-To" };
	size_t i;

	for (i = 0; i < sizeof f / sizeof f[0]; i++)
		if (str_ieq(n, l, f[i], strlen(f[i])))
			return 1;
	return 0;
}

static int addr_cb(void *ctx, const struct rfc822_addr *a)
{
	struct srch *s = ctx;
	struct buf *t = &s->a;
	int r;

	if (!a->mailbox || !a->host)
		return 0;   /* group start or end */
	buf_reset(t);
	if (a->name && (mime_decode_header(a->name, a->namelen, t) < 0 || buf_add(t, " <", 2) < 0))
		return -1;
	if (buf_add(t, a->mailbox, a->mailboxlen) < 0 || buf_add(t, "@", 1) < 0 ||
	    buf_add(t, a->host, a->hostlen) < 0 || (a->name && buf_add(t, ">", 1) < 0))
		return -1;
	r = has(s, t->s, t->len);
	if (r < 0)
		return -1;
	s->found |= r;
	return 0;
}

/* fields of a header block; name NULL = all fields */
static int headers(struct srch *s, const struct mime_part *m, const char *name)
{
	struct mime_field f;
	size_t pos = 0;
	int r;

	while (mime_hdr_next(s->p + m->hdr_off, m->hdr_len, &pos, &f)) {
		if (name && !str_ieq(f.name, f.namelen, name, strlen(name)))
			continue;
		if (s->nlen == 0)
			return 1;
		buf_reset(&s->a);
		if (mime_decode_header(f.value, f.valuelen, &s->a) < 0)
			return -1;
		if (name == NULL && (buf_add(&s->a, " ", 1) < 0 || buf_add(&s->a, f.name, f.namelen) < 0))
			return -1;
		r = has(s, s->a.s ? s->a.s : "", s->a.len);
		if (r != 0)
			return r;
		if (name && is_addr_field(f.name, f.namelen)) {
			s->found = 0;
			if (rfc822_addr_list(f.value, f.valuelen, addr_cb, s) < 0)
				return -1;
			if (s->found)
				return 1;
		}
	}
	return 0;
}

/* text parts of the tree below m; with_headers: nested headers too */
static int bodies(struct srch *s, const struct mime_part *m, int with_headers)
{
	const struct mime_part *k;
	int r;

	if (with_headers && m->parent != NULL && (r = headers(s, m, NULL)) != 0)
		return r;
	if (m->children) {
		for (k = m->children; k; k = k->next)
			if ((r = bodies(s, k, with_headers)) != 0)
				return r;
		return 0;
	}
	if (!(m->flags & MIME_PART_TEXT) || (m->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE)))
		return 0;
	{
		struct params ct;
		const char *cs;
		size_t csl = 0;
		params_init(&ct);
		if (part_ctype(s->p, m, &ct) < 0) {
			params_free(&ct);
			return -1;
		}
		cs = params_get(&ct, "charset", &csl);
		buf_reset(&s->b);
		buf_reset(&s->a);
		r = mime_decode_body(s->p, s->len, m, &s->b);
		if (r == 0 && s->ascii && ascii_compatible(cs ? cs : "", cs ? csl : 0)) {
			params_free(&ct);
			return has(s, s->b.s ? s->b.s : "", s->b.len);
		}
		if (r == 0)
			r = mime_to_utf8(cs ? cs : "", cs ? csl : 0, s->b.s ? s->b.s : "", s->b.len, &s->a);
		params_free(&ct);
		if (r < 0)
			return -1;
	}
	return has(s, s->a.s ? s->a.s : "", s->a.len);
}

int mime_search_text(const char *p, size_t len, const struct mime_part *root, int where,
		     const char *hdrname, const char *needle, size_t nlen)
{
	struct srch s;
	struct buf fn;
	size_t i;
	int r;

	memset(&s, 0, sizeof s);
	s.p = p;
	s.len = len;
	s.ascii = 1;
	for (i = 0; i < nlen; i++)
		if ((unsigned char)needle[i] >= 0x80)
			s.ascii = 0;
	buf_init(&fn);
	if (s.ascii) {
		s.needle = needle;
		s.nlen = nlen;
	} else {
		if (mime_fold(needle, nlen, &fn) < 0)
			return -1;
		s.needle = fn.s;
		s.nlen = fn.len;
	}
	buf_init(&s.a);
	buf_init(&s.b);
	if (where == MIME_SEARCH_HEADER)
		r = hdrname ? headers(&s, root, hdrname) : -1;
	else if (s.nlen == 0)
		r = 1;
	else if (where == MIME_SEARCH_BODY)
		r = bodies(&s, root, 0);
	else if ((r = headers(&s, root, NULL)) == 0)
		r = bodies(&s, root, 1);
	buf_free(&s.a);
	buf_free(&s.b);
	buf_free(&fn);
	return r;
}
