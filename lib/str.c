/* Length-carrying strings, strict numbers, base64, dates. */
#include "str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void buf_init(struct buf *b)
{
	b->s = NULL;
	b->len = b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->s);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

int buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (__builtin_add_overflow(b->len, extra, &need) || __builtin_add_overflow(need, 1, &need)) {
		errno = ENOMEM;
		return -1;
	}
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (__builtin_mul_overflow(cap, 2, &cap)) {
			errno = ENOMEM;
			return -1;
		}
	}
	p = realloc(b->s, cap);
	if (!p)
		return -1;
	b->s = p;
	b->cap = cap;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_reserve(b, (size_t)n) < 0)
		return -1;
	if (vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap) != n)
		return -1;
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

int parse_u64(const char *p, size_t len, uint64_t max, uint64_t *out_r)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned d;
		if (p[i] < '0' || p[i] > '9') {
			errno = EINVAL;
			return -1;
		}
		d = (unsigned)(p[i] - '0');
		if (v > (max - d) / 10) {
			errno = ERANGE;
			return -1;
		}
		v = v * 10 + d;
	}
	*out_r = v;
	return 0;
}

int parse_u32(const char *p, size_t len, uint32_t max, uint32_t *out_r)
{
	uint64_t v;

	if (parse_u64(p, len, max, &v) < 0)
		return -1;
	*out_r = (uint32_t)v;
	return 0;
}

static inline unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

int str_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

int str_iprefix(const char *p, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && str_ieq(p, n, prefix, n);
}

const char *str_icase_find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	size_t i;

	if (nlen == 0)
		return hay;
	if (nlen > hlen)
		return NULL;
	for (i = 0; i + nlen <= hlen; i++)
		if (lower((unsigned char)hay[i]) == lower((unsigned char)needle[0]) &&
		    str_ieq(hay + i, nlen, needle, nlen))
			return hay + i;
	return NULL;
}

int str_copy(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	if (dstlen == 0)
		return -1;
	if (srclen >= dstlen) {
		memcpy(dst, src, dstlen - 1);
		dst[dstlen - 1] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dst, src, srclen);
	dst[srclen] = '\0';
	return 0;
}

int str_copyz(char *dst, size_t dstlen, const char *src)
{
	return str_copy(dst, dstlen, src, strlen(src));
}

void str_wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outmax, size_t *outlen_r)
{
	size_t i, o = 0;
	unsigned acc = 0;
	int bits = 0, pad = 0;

	for (i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad)
			goto bad; /* data after padding */
		v = b64_val(c);
		if (v < 0)
			goto bad;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outmax)
				goto bad;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* RFC 4648: length a multiple of 4 with padding; accept unpadded too */
	if (pad > 2 || (pad && (inlen % 4) != 0) || bits >= 6)
		goto bad;
	*outlen_r = o;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int b64_encode(const unsigned char *in, size_t inlen, char *out, size_t outmax, size_t *outlen_r)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0, need = (inlen + 2) / 3 * 4;

	if (need + 1 > outmax) {
		errno = ENOBUFS;
		return -1;
	}
	for (i = 0; i + 2 < inlen; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < inlen) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < inlen ? (unsigned)in[i + 1] << 8 : 0);
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < inlen ? tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	*outlen_r = o;
	return 0;
}

int str_rfc5322_date(long long t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;
	long off;
	int n;
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

	if (!localtime_r(&tt, &tm))
		return -1;
	off = tm.tm_gmtoff / 60;
	/* English names whatever the locale: RFC 5322 3.3 */
	n = snprintf(out, outlen, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday],
		     tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}
