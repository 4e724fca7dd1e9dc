/* The one hash of libmbox: a fast keyed 128-bit hash (four xxHash64-style
 * lanes; several GB/s).  Journals key it with a random key so that it
 * notices accidental change (a torn journal, a block of the mailbox that
 * is neither its old nor its new content, a mailbox rewritten by another
 * agent after a stale-lock break); it is not a cryptographic hash. */
#include "private.h"

#include <stdlib.h>
#include <string.h>

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint64_t h_round(uint64_t acc, uint64_t in)
{
	return rotl64(acc + in * P2, 31) * P1;
}

static uint64_t h_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	return h ^ (h >> 32);
}

void mbox_h128_init(struct mbox_h128 *c, const uint64_t key[2])
{
	c->key[0] = key[0];
	c->key[1] = key[1];
	c->v[0] = key[0] + P1 + P2;
	c->v[1] = key[1] + P2;
	c->v[2] = key[0] ^ P4;
	c->v[3] = key[1] - P1;
	c->n = 0;
}

static void h_stripes(struct mbox_h128 *c, const unsigned char *p, size_t k)
{
	uint64_t v0 = c->v[0], v1 = c->v[1], v2 = c->v[2], v3 = c->v[3];

	for (; k; k--, p += 32) {
		v0 = h_round(v0, le64(p));
		v1 = h_round(v1, le64(p + 8));
		v2 = h_round(v2, le64(p + 16));
		v3 = h_round(v3, le64(p + 24));
	}
	c->v[0] = v0, c->v[1] = v1, c->v[2] = v2, c->v[3] = v3;
}

void mbox_h128_add(struct mbox_h128 *c, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t used = (size_t)(c->n % 32);

	c->n += n;
	if (used) {
		size_t k = 32 - used < n ? 32 - used : n;
		memcpy(c->b + used, p, k);
		p += k;
		n -= k;
		if (used + k < 32)
			return;
		h_stripes(c, c->b, 1);
	}
	h_stripes(c, p, n / 32);
	p += n - n % 32;
	memcpy(c->b, p, n % 32);
}

void mbox_h128_end(struct mbox_h128 *c, unsigned char out[16])
{
	size_t left = (size_t)(c->n % 32), i;
	uint64_t a, b, t;

	/* two different combinations of the four lanes, each with the tail */
	a = rotl64(c->v[0], 1) + rotl64(c->v[1], 7) + rotl64(c->v[2], 12) + rotl64(c->v[3], 18);
	b = rotl64(c->v[0], 23) ^ rotl64(c->v[1], 41) ^ rotl64(c->v[2], 3) ^ rotl64(c->v[3], 57);
	b = b * P5 + c->key[1];
	for (i = 0; i < 4; i++) {
		a = (a ^ h_round(0, c->v[i])) * P1 + P4;
		b = (b ^ h_round(c->key[0], c->v[3 - i])) * P3 + P5;
	}
	a += c->n;
	b ^= c->n * P2;
	for (i = 0; i + 8 <= left; i += 8) {
		t = h_round(0, le64(c->b + i));
		a = rotl64(a ^ t, 27) * P1 + P4;
		b = rotl64(b + t, 31) * P2 + P3;
	}
	for (; i < left; i++) {
		a = rotl64(a ^ (c->b[i] * P5), 11) * P1;
		b = rotl64(b + (c->b[i] * P1), 13) * P5;
	}
	a = h_mix(a);
	b = h_mix(b ^ a);
	for (i = 0; i < 8; i++) {
		out[i] = (unsigned char)(a >> (8 * i));
		out[8 + i] = (unsigned char)(b >> (8 * i));
	}
}

uint64_t mbox_h64(const uint64_t key[2], const void *p, size_t n)
{
	struct mbox_h128 c;
	unsigned char out[16];
	uint64_t v;

	mbox_h128_init(&c, key);
	mbox_h128_add(&c, p, n);
	mbox_h128_end(&c, out);
	memcpy(&v, out, 8);
	return v;
}

uint64_t mbox_hash_mix(uint64_t x)
{
	return h_mix(x);
}

int mbox_hash_range(int fd, uint64_t off, uint64_t n, const uint64_t key[2],
		    unsigned char out[16])
{
	struct mbox_h128 c;
	char *buf = malloc(MBOX_JBUF);

	if (!buf)
		return -1;
	mbox_h128_init(&c, key);
	while (n) {
		size_t k = n < MBOX_JBUF ? (size_t)n : MBOX_JBUF;
		if (mbox_pread_full(fd, buf, k, off) < 0) {
			free(buf);
			return -1;
		}
		mbox_h128_add(&c, buf, k);
		off += k;
		n -= k;
	}
	free(buf);
	mbox_h128_end(&c, out);
	return 0;
}
