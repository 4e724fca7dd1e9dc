/* Strings with explicit lengths, growable buffers, strict number parsing. */
#ifndef FACTEUR_STR_H
#define FACTEUR_STR_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

/* A growable byte buffer (qmail's stralloc in spirit).  s is always
 * NUL-terminated for convenience but len is the truth. */
struct buf {
	char *s;
	size_t len, cap;
};

/* str.c */
void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);              /* len = 0, keeps memory */
int buf_reserve(struct buf *b, size_t extra); /* -1 ENOMEM or overflow */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Digits only, no sign, no space, value <= max: 0, else -1 (EINVAL/ERANGE). */
int parse_u32(const char *p, size_t len, uint32_t max, uint32_t *out_r);
int parse_u64(const char *p, size_t len, uint64_t max, uint64_t *out_r);
/* ASCII case-insensitive comparisons on explicit lengths. */
int str_ieq(const char *a, size_t alen, const char *b, size_t blen);
int str_iprefix(const char *p, size_t len, const char *prefix); /* p starts with prefix */
const char *str_icase_find(const char *hay, size_t hlen, const char *needle, size_t nlen);
/* Copies with truncation detection: 0, or -1 if src did not fit. */
int str_copy(char *dst, size_t dstlen, const char *src, size_t srclen);
int str_copyz(char *dst, size_t dstlen, const char *src);
/* Overwrites memory the compiler may not optimise away (passwords). */
void str_wipe(void *p, size_t n);
/* Base64 (RFC 4648) for SASL.  decode: -1 on bad input or overflow. */
int b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outmax, size_t *outlen_r);
int b64_encode(const unsigned char *in, size_t inlen, char *out, size_t outmax, size_t *outlen_r);
/* RFC 5322 date "Fri, 27 Nov 2026 15:36:13 +0000" of t, local time. */
int str_rfc5322_date(long long t, char *out, size_t outlen);

#endif
