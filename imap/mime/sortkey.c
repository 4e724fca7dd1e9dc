/* SORT and THREAD facts (RFC 5256, RFC 5957) from a header block: the base
 * subject (RFC 5256 2.1), the first address of a field as SORT FROM/TO/CC
 * and DISPLAYFROM/DISPLAYTO compare it, message ids (RFC 5256 3, the
 * REFERENCES algorithm).  Sort strings are compared with strcmp after
 * mime_sort_fold: the i;unicode-casemap shape Dovecot uses (titlecase,
 * Latin-1 letters decomposed into base letter and combining mark). */
#include "mime_int.h"

#include <string.h>

static int put_cp(struct buf *out, unsigned long c)
{
	char e[3];

	if (c < 0x80)
		return buf_addc(out, (char)c);
	if (c < 0x800) {
		e[0] = (char)(0xc0 | (c >> 6));
		e[1] = (char)(0x80 | (c & 0x3f));
		return buf_add(out, e, 2);
	}
	e[0] = (char)(0xe0 | (c >> 12));
	e[1] = (char)(0x80 | ((c >> 6) & 0x3f));
	e[2] = (char)(0x80 | (c & 0x3f));
	return buf_add(out, e, 3);
}

/* U+00C0..U+00FF: base letter (upper case) and combining mark, 0 if none */
static const char l1_base[64] = "AAAAAAACEEEEIIII" "DNOOOOO\0OUUUUY\0\0" "AAAAAAACEEEEIIII"
				"\0NOOOOO\0\0UUUUY\0Y";
static const unsigned short l1_mark[64] = {
	0x300, 0x301, 0x302, 0x303, 0x308, 0x30a, 0, 0x327, 0x300, 0x301, 0x302, 0x308, 0x300, 0x301,
	0x302, 0x308, 0, 0x303, 0x300, 0x301, 0x302, 0x303, 0x308, 0, 0, 0x300, 0x301, 0x302, 0x308,
	0x301, 0, 0,
	0x300, 0x301, 0x302, 0x303, 0x308, 0x30a, 0, 0x327, 0x300, 0x301, 0x302, 0x308, 0x300, 0x301,
	0x302, 0x308, 0, 0x303, 0x300, 0x301, 0x302, 0x303, 0x308, 0, 0, 0x300, 0x301, 0x302, 0x308,
	0x301, 0, 0x308,
};

int mime_sort_fold(const char *in, size_t n, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;

	if (buf_reserve(out, n + 1) < 0)
		return -1;
	while (i < n) {
		unsigned long c = s[i];
		int r;
		if (c >= 0xc2 && c <= 0xdf && i + 1 < n && (s[i + 1] & 0xc0) == 0x80) {
			c = ((c & 0x1f) << 6) | (s[i + 1] & 0x3f);
			i += 2;
		} else if (c >= 0xe0 && c <= 0xef && i + 2 < n && (s[i + 1] & 0xc0) == 0x80 &&
			   (s[i + 2] & 0xc0) == 0x80) {
			c = ((c & 0x0f) << 12) | ((unsigned long)(s[i + 1] & 0x3f) << 6) | (s[i + 2] & 0x3f);
			i += 3;
		} else {
			/* ASCII, 4-byte sequences and invalid bytes: as is */
			i++;
			if (c >= 'a' && c <= 'z')
				c -= 32;
			if (buf_addc(out, (char)c) < 0)
				return -1;
			continue;
		}
		if (c >= 0xc0 && c <= 0xff && l1_mark[c - 0xc0] && l1_base[c - 0xc0]) {
			r = buf_addc(out, l1_base[c - 0xc0]) < 0 || put_cp(out, l1_mark[c - 0xc0]) < 0;
			if (r)
				return -1;
			continue;
		}
		if (c >= 0xe0 && c <= 0xfe && c != 0xf7)
			c -= 32;                   /* ae, eth, o-slash, thorn */
		else if ((c >= 0x3b1 && c <= 0x3cb && c != 0x3c2) || (c >= 0x430 && c <= 0x44f))
			c -= 32;                   /* Greek, Cyrillic */
		else if (c == 0x3c2)
			c = 0x3a3;
		else if (c >= 0x450 && c <= 0x45f)
			c -= 80;
		else if (((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177)) && (c & 1))
			c--;
		if (put_cp(out, c) < 0)
			return -1;
	}
	if (out->s)
		out->s[out->len] = '\0';
	return 0;
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP at p[i]: the end, or 0 */
static size_t blob(const char *p, size_t n, size_t i)
{
	size_t j;

	if (i >= n || p[i] != '[')
		return 0;
	for (j = i + 1; j < n && p[j] != '[' && p[j] != ']'; j++)
		;
	if (j >= n || p[j] != ']')
		return 0;
	for (j++; j < n && is_wsp(p[j]); j++)
		;
	return j;
}

/* subj-leader = (*subj-blob subj-refwd) / WSP at p[0]: its length, or 0 */
static size_t leader(const char *p, size_t n)
{
	size_t i = 0, e;

	if (n && is_wsp(p[0]))
		return 1;
	while ((e = blob(p, n, i)) != 0)
		i = e;
	/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" */
	if (i + 2 <= n && str_ieq(p + i, 2, "re", 2))
		i += 2;
	else if (i + 2 <= n && str_ieq(p + i, 2, "fw", 2)) {
		i += 2;
		if (i < n && (p[i] == 'd' || p[i] == 'D'))
			i++;
	} else
		return 0;
	while (i < n && is_wsp(p[i]))
		i++;
	if ((e = blob(p, n, i)) != 0)
		i = e;
	if (i >= n || p[i] != ':')
		return 0;
	return i + 1;
}

int mime_base_subject(const char *v, size_t n, struct buf *out, int *reply_r)
{
	struct buf dec, sp;
	const char *p;
	size_t len, i, e;
	int changed, ret = -1;

	*reply_r = 0;
	buf_init(&dec);
	buf_init(&sp);
	/* (1) encoded words to UTF-8, white space runs to one space */
	if (mime_decode_header(v, n, &dec) < 0)
		goto out;
	for (i = 0; i < dec.len; i++) {
		char c = dec.s[i];
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && sp.len && sp.s[sp.len - 1] == ' ')
			continue;
		if (buf_addc(&sp, c) < 0)
			goto out;
	}
	p = sp.s ? sp.s : "";
	len = sp.len;
	for (;;) {
		/* (2) subj-trailer = "(fwd)" / WSP, from the end */
		for (;;) {
			if (len && is_wsp(p[len - 1]))
				len--;
			else if (len >= 5 && str_ieq(p + len - 5, 5, "(fwd)", 5)) {
				len -= 5;
				*reply_r = 1;
			} else
				break;
		}
		/* (3)-(5) leaders, and a blob that leaves something */
		do {
			changed = 0;
			while ((e = leader(p, len)) != 0) {
				if (e > 1 || !is_wsp(p[0]))
					*reply_r = 1;
				p += e;
				len -= e;
				changed = 1;
			}
			e = blob(p, len, 0);
			if (e && e < len) {
				p += e;
				len -= e;
				changed = 1;
			}
		} while (changed);
		/* (6) "[fwd:" ... "]" */
		if (len >= 6 && str_ieq(p, 5, "[fwd:", 5) && p[len - 1] == ']') {
			p += 5;
			len -= 6;
			*reply_r = 1;
			continue;
		}
		break;
	}
	ret = mime_sort_fold(p, len, out);
out:
	buf_free(&dec);
	buf_free(&sp);
	return ret;
}

struct first_addr {
	struct buf *out, tmp;
	int display, done, err;
};

static int first_cb(void *ctx, const struct rfc822_addr *a)
{
	struct first_addr *f = ctx;

	if (f->done)
		return 0;
	f->done = 1;
	buf_reset(&f->tmp);
	if (f->display && a->name && a->namelen) {
		if (mime_decode_header(a->name, a->namelen, &f->tmp) < 0)
			return -1;
	}
	if (f->display && !f->tmp.len && a->mailbox) {
		/* mailbox@host; a group has no host: its name (as Dovecot) */
		if (buf_add(&f->tmp, a->mailbox, a->mailboxlen) < 0 ||
		    (a->host && (buf_addc(&f->tmp, '@') < 0 ||
				 buf_add(&f->tmp, a->host, a->hostlen) < 0)))
			return -1;
	} else if (!f->display && a->mailbox && buf_add(&f->tmp, a->mailbox, a->mailboxlen) < 0)
		return -1;
	return mime_sort_fold(f->tmp.s ? f->tmp.s : "", f->tmp.len, f->out);
}

int mime_sort_addr(const char *h, size_t hlen, const char *field, int display, struct buf *out)
{
	struct first_addr f;
	const char *v;
	size_t vl;
	int r;

	if (!mime_hdr_find(h, hlen, field, &v, &vl))
		return 0;
	memset(&f, 0, sizeof f);
	f.out = out;
	f.display = display;
	buf_init(&f.tmp);
	r = rfc822_addr_list(v, vl, first_cb, &f);
	buf_free(&f.tmp);
	return r < 0 ? -1 : 0;
}

size_t mime_msgids(const char *v, size_t n, struct buf *out, size_t max)
{
	size_t i = 0, count = 0;

	while (i < n && count < max) {
		size_t j, start = out->len;
		int at = 0;
		while (i < n && v[i] != '<') {
			if (v[i] == '(') {  /* a comment may hold '<' */
				int depth = 0;
				for (; i < n; i++) {
					if (v[i] == '\\' && i + 1 < n)
						i++;
					else if (v[i] == '(')
						depth++;
					else if (v[i] == ')' && --depth == 0)
						break;
				}
			}
			if (i < n)
				i++;
		}
		if (i >= n)
			break;
		for (j = i + 1; j < n && v[j] != '>' && v[j] != '<'; j++)
			;
		if (j >= n)
			break;
		if (v[j] == '<') {
			i = j;
			continue;
		}
		if (count && buf_addc(out, ' ') < 0)
			return count;
		for (i++; i < j; i++) {
			if (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n')
				continue;
			if (v[i] == '@')
				at = 1;
			if (buf_addc(out, v[i]) < 0)
				return count;
		}
		i = j + 1;
		if (!at || out->len == start + (count ? 1 : 0)) {
			out->len = start;   /* not an id: dropped */
			continue;
		}
		count++;
	}
	if (out->s)
		out->s[out->len] = '\0';
	return count;
}
