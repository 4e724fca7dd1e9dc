/* Decoding for SEARCH: quoted-printable (RFC 2045 6.7), base64 (6.8),
 * RFC 2047 encoded words, charsets to UTF-8 with iconv (glibc).  Bad input
 * is decoded as far as it goes, never refused: search must still work on
 * broken mail. */
#include "mime_int.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* q: RFC 2047 "Q" (underscore is a space) */
static int qp(const char *in, size_t n, struct buf *out, int q)
{
	size_t i = 0;

	if (buf_reserve(out, n) < 0)
		return -1;
	while (i < n) {
		unsigned char c = (unsigned char)in[i];
		if (c == '=') {
			size_t j = i + 1;
			int h1 = j < n ? hexval((unsigned char)in[j]) : -1;
			int h2 = j + 1 < n ? hexval((unsigned char)in[j + 1]) : -1;
			if (h1 >= 0 && h2 >= 0) {
				if (buf_addc(out, (char)(h1 * 16 + h2)) < 0)
					return -1;
				i += 3;
				continue;
			}
			/* soft line break, with transport padding tolerated */
			while (j < n && (in[j] == ' ' || in[j] == '\t'))
				j++;
			if (j < n && in[j] == '\r')
				j++;
			if (j < n && in[j] == '\n') {
				i = j + 1;
				continue;
			}
			if (j == n && !q) {
				i = n;
				continue;
			}
		} else if (c == '_' && q) {
			c = ' ';
		}
		if (buf_addc(out, (char)c) < 0)
			return -1;
		i++;
	}
	return 0;
}

int mime_decode_qp(const char *in, size_t n, struct buf *out)
{
	return qp(in, n, out, 0);
}

int mime_decode_base64(const char *in, size_t n, struct buf *out)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned long acc = 0;
	int bits = 0;
	size_t i;

	if (buf_reserve(out, n / 4 * 3 + 3) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *a;
		if (in[i] == '=')
			break;
		if (in[i] == '\0' || (a = strchr(alpha, in[i])) == NULL)
			continue; /* line breaks and junk are skipped */
		acc = (acc << 6) | (unsigned long)(a - alpha);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (buf_addc(out, (char)((acc >> bits) & 0xff)) < 0)
				return -1;
		}
	}
	return 0;
}

static int is_utf8_alias(const char *cs, size_t n)
{
	return n == 0 || str_ieq(cs, n, "us-ascii", 8) || str_ieq(cs, n, "utf-8", 5) ||
	       str_ieq(cs, n, "utf8", 4) || str_ieq(cs, n, "ascii", 5);
}

int mime_to_utf8(const char *cs, size_t csl, const char *in, size_t n, struct buf *out)
{
	char name[64], obuf[4096];
	iconv_t cd;
	char *ip = (char *)(uintptr_t)in;
	size_t il = n;

	if (is_utf8_alias(cs, csl) || csl >= sizeof name)
		return buf_add(out, in, n);
	memcpy(name, cs, csl);
	name[csl] = '\0';
	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return buf_add(out, in, n); /* unknown charset: bytes as they are */
	while (il > 0) {
		char *op = obuf;
		size_t ol = sizeof obuf;
		size_t r = iconv(cd, &ip, &il, &op, &ol);
		if (buf_add(out, obuf, (size_t)(op - obuf)) < 0) {
			iconv_close(cd);
			return -1;
		}
		if (r == (size_t)-1 && errno != E2BIG) {
			/* EILSEQ/EINVAL: replace one byte and go on */
			if (buf_add(out, "\xef\xbf\xbd", 3) < 0) {
				iconv_close(cd);
				return -1;
			}
			ip++;
			il--;
		}
	}
	iconv_close(cd);
	return 0;
}

/* One encoded word at v[i]: "=?cs?E?text?=" -> decoded to out, *end_r past it. */
static int encoded_word(const char *v, size_t n, size_t i, struct buf *out, size_t *end_r)
{
	size_t cs, csl, e, t, te;
	struct buf raw;
	int ret;

	if (i + 8 > n || v[i] != '=' || v[i + 1] != '?')
		return 0;
	cs = i + 2;
	for (e = cs; e < n && v[e] != '?' && v[e] > ' '; e++)
		;
	if (e + 3 >= n || v[e] != '?' || v[e + 2] != '?' || e == cs)
		return 0;
	csl = e - cs;
	{
		const char *star = memchr(v + cs, '*', csl); /* RFC 2231 language */
		if (star)
			csl = (size_t)(star - (v + cs));
	}
	t = e + 3;
	for (te = t; te + 1 < n && !(v[te] == '?' && v[te + 1] == '=') && v[te] != ' ' && v[te] != '\t'; te++)
		;
	if (te + 1 >= n || v[te] != '?' || v[te + 1] != '=')
		return 0;
	buf_init(&raw);
	if (v[e + 1] == 'B' || v[e + 1] == 'b')
		ret = mime_decode_base64(v + t, te - t, &raw);
	else if (v[e + 1] == 'Q' || v[e + 1] == 'q')
		ret = qp(v + t, te - t, &raw, 1);
	else {
		buf_free(&raw);
		return 0;
	}
	if (ret == 0)
		ret = mime_to_utf8(v + cs, csl, raw.s ? raw.s : "", raw.len, out);
	buf_free(&raw);
	*end_r = te + 2;
	return ret < 0 ? -1 : 1;
}

int mime_decode_header(const char *v, size_t n, struct buf *out)
{
	size_t i = 0, end, pending_ws = 0;
	int prev_encoded = 0, r;

	while (i < n) {
		char c = v[i];
		if (c == '\r' || c == '\n') {
			i++;
			continue;
		}
		if (c == ' ' || c == '\t') {
			pending_ws++;
			i++;
			continue;
		}
		/* white space between two encoded words is dropped (RFC 2047 6.2) */
		if (pending_ws && !prev_encoded && v[i] == '=' && i + 1 < n && v[i + 1] == '?') {
			if (buf_addc(out, ' ') < 0)
				return -1;
			pending_ws = 0;
		}
		r = encoded_word(v, n, i, out, &end);
		if (r < 0)
			return -1;
		if (r == 1) {
			i = end;
			prev_encoded = 1;
			pending_ws = 0;
			continue;
		}
		if (pending_ws) {
			if (buf_addc(out, ' ') < 0)
				return -1;
			pending_ws = 0;
		}
		prev_encoded = 0;
		if (buf_addc(out, c) < 0)
			return -1;
		i++;
	}
	return 0;
}

int mime_decode_body(const char *p, size_t len, const struct mime_part *m, struct buf *out)
{
	const char *v, *b = p + m->body_off;
	size_t vl;
	struct rfc822 r;
	struct buf enc;
	int ret;

	if (!mime_hdr_find(p + m->hdr_off, m->hdr_len, "Content-Transfer-Encoding", &v, &vl))
		return buf_add(out, b, m->body_len);
	buf_init(&enc);
	rfc822_init(&r, v, vl);
	if (rfc822_skip(&r, NULL) < 0 || rfc822_atom(&r, &enc, RFC822_TOKEN) < 0) {
		buf_free(&enc);
		return -1;
	}
	if (str_ieq(enc.s, enc.len, "base64", 6))
		ret = mime_decode_base64(b, m->body_len, out);
	else if (str_ieq(enc.s, enc.len, "quoted-printable", 16))
		ret = mime_decode_qp(b, m->body_len, out);
	else
		ret = buf_add(out, b, m->body_len);
	buf_free(&enc);
	return ret;
}
