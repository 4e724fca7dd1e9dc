/* Mailbox names between UTF-8 (what an IMAP4rev2 client sends and reads,
 * RFC 9051 5.1) and modified UTF-7 (RFC 3501 5.1.3), the form names keep
 * on disk, so that IMAP4rev1 and IMAP4rev2 sessions (and Dovecot) see the
 * same folders.  Both directions are strict: invalid UTF-8 (overlong
 * forms, surrogates, controls) or a malformed shift gives -1. */
#include <stdint.h>
#include <string.h>
#include "imap.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* one UTF-8 sequence at p[0..len): its length and code point, or 0 */
static size_t utf8_decode(const unsigned char *p, size_t len, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) { n = 2; c = p[0] & 0x1f; }
	else if (p[0] >= 0xe0 && p[0] <= 0xef) { n = 3; c = p[0] & 0x0f; }
	else if (p[0] >= 0xf0 && p[0] <= 0xf4) { n = 4; c = p[0] & 0x07; }
	else return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

struct out {
	char *p;
	size_t n, max;
	int err;
};

static void put(struct out *o, char c)
{
	if (o->n + 1 >= o->max) {
		o->err = 1;
		return;
	}
	o->p[o->n++] = c;
}

/* the pending UTF-16 units as modified base64, then '-' */
static void flush16(struct out *o, const uint16_t *u, size_t nu)
{
	uint32_t bits = 0;
	int nb = 0;
	size_t i;

	put(o, '&');
	for (i = 0; i < nu; i++) {
		bits = (bits << 16) | u[i];
		nb += 16;
		while (nb >= 6) {
			nb -= 6;
			put(o, b64[(bits >> nb) & 0x3f]);
		}
	}
	if (nb > 0)
		put(o, b64[(bits << (6 - nb)) & 0x3f]);
	put(o, '-');
}

int imap_utf8_to_mutf7(const char *in, size_t len, char *out, size_t outmax)
{
	struct out o = { out, 0, outmax, 0 };
	uint16_t u[2 * IMAP_NAME_MAX];
	size_t i = 0, nu = 0;

	if (outmax == 0)
		return -1;
	while (i < len) {
		uint32_t c;
		size_t k = utf8_decode((const unsigned char *)in + i, len - i, &c);
		if (k == 0 || c < 0x20 || c == 0x7f)
			return -1;
		i += k;
		if (c < 0x80) {
			if (nu) {
				flush16(&o, u, nu);
				nu = 0;
			}
			put(&o, (char)c);
			if (c == '&')
				put(&o, '-');
			continue;
		}
		if (nu + 2 > sizeof u / sizeof u[0])
			return -1;
		if (c >= 0x10000) {
			c -= 0x10000;
			u[nu++] = (uint16_t)(0xd800 | (c >> 10));
			u[nu++] = (uint16_t)(0xdc00 | (c & 0x3ff));
		} else {
			u[nu++] = (uint16_t)c;
		}
	}
	if (nu)
		flush16(&o, u, nu);
	if (o.err)
		return -1;
	out[o.n] = '\0';
	return (int)o.n;
}

static void put_utf8(struct out *o, uint32_t c)
{
	if (c < 0x80) {
		put(o, (char)c);
	} else if (c < 0x800) {
		put(o, (char)(0xc0 | (c >> 6)));
		put(o, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		put(o, (char)(0xe0 | (c >> 12)));
		put(o, (char)(0x80 | ((c >> 6) & 0x3f)));
		put(o, (char)(0x80 | (c & 0x3f)));
	} else {
		put(o, (char)(0xf0 | (c >> 18)));
		put(o, (char)(0x80 | ((c >> 12) & 0x3f)));
		put(o, (char)(0x80 | ((c >> 6) & 0x3f)));
		put(o, (char)(0x80 | (c & 0x3f)));
	}
}

int imap_mutf7_to_utf8(const char *in, size_t len, char *out, size_t outmax)
{
	struct out o = { out, 0, outmax, 0 };
	size_t i = 0;

	if (outmax == 0)
		return -1;
	while (i < len) {
		unsigned char c = (unsigned char)in[i++];
		uint32_t bits = 0, hi = 0;
		int nb = 0, any = 0;

		if (c < 0x20 || c > 0x7e)
			return -1;
		if (c != '&') {
			put(&o, (char)c);
			continue;
		}
		for (; i < len && in[i] != '-'; i++) {
			const char *d = memchr(b64, in[i], 64);
			if (!d || !in[i])
				return -1;
			bits = (bits << 6) | (uint32_t)(d - b64);
			nb += 6;
			if (nb < 16)
				continue;
			nb -= 16;
			{
				uint32_t w = (bits >> nb) & 0xffff;
				any = 1;
				if (w >= 0xd800 && w <= 0xdbff) {
					if (hi)
						return -1;
					hi = w;
				} else if (w >= 0xdc00 && w <= 0xdfff) {
					if (!hi)
						return -1;
					put_utf8(&o, 0x10000 + ((hi - 0xd800) << 10) + (w - 0xdc00));
					hi = 0;
				} else {
					if (hi || w < 0x80)   /* ASCII is never shifted */
						return -1;
					put_utf8(&o, w);
				}
			}
		}
		if (i >= len || hi || nb >= 6 || (bits & ((1u << nb) - 1)))
			return -1;      /* unterminated, half a pair, stray bits */
		i++;
		if (!any)
			put(&o, '&');   /* "&-" */
	}
	if (o.err)
		return -1;
	out[o.n] = '\0';
	return (int)o.n;
}
