/* The rewrite journal (mbox-interop.md §7.8 steps 4-7 and recovery).
 *
 * A journal file "<dev>-<ino>.journal" in the journal directory holds a
 * 1 KiB text header {magic, dev, ino, D, E, len T, a random key, hash of
 * the old bytes [D,E), hash of T, path, hash of the header} and then T,
 * the new image of [D, new EOF).  T is written first, the header last,
 * then file and directory are fsync'ed once: a journal whose header or T
 * does not hash to what the header says was never committed, and the
 * mailbox was not touched yet (the copy starts only after that fsync).
 *
 * The hashes are mbox_h128 keyed with a key drawn at random for each
 * journal: they only have to notice accidental change (a torn journal, a
 * mailbox rewritten by another agent after a stale-lock break), and a
 * 128-bit keyed hash does that as surely as SHA-256 at twenty times the
 * speed.  Version 1 journals (SHA-256) are still recovered.
 *
 * Recovery, under the write lock: old [D,E) still intact -> apply T (bytes
 * beyond E, appended after a stale-lock break, are first added to the
 * journal, so they are never only in the moving part); [D, D+len T) equals
 * T -> the copy had finished; neither (a crash mid-copy, or another agent
 * rewrote the file) -> every message of T whose client view is not in the
 * mailbox is appended.  Mail may be duplicated, never lost. */
#include "private.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL_MAGIC1 "facteur-mbox-journal 1\n"   /* SHA-256 */
#define JOURNAL_MAGIC "facteur-mbox-journal 2\n"    /* mbox_h128 */
#define TOUCH_EVERY (64ULL << 20)   /* refresh the dotlock while copying */

/* ---- SHA-256 (FIPS 180-4) ------------------------------------------------ */

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(struct mbox_sha256 *c, const unsigned char *b)
{
	uint32_t w[64], t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)b[i * 4] << 24 | (uint32_t)b[i * 4 + 1] << 16 |
		       (uint32_t)b[i * 4 + 2] << 8 | b[i * 4 + 3];
	for (; i < 64; i++)
		w[i] = (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10)) + w[i - 7] +
		       (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) + w[i - 16];
	uint32_t a = c->h[0], bb = c->h[1], cc = c->h[2], d = c->h[3];
	uint32_t e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & bb) ^ (a & cc) ^ (bb & cc));
		h = g, g = f, f = e, e = d + t1;
		d = cc, cc = bb, bb = a, a = t1 + t2;
	}
	c->h[0] += a, c->h[1] += bb, c->h[2] += cc, c->h[3] += d;
	c->h[4] += e, c->h[5] += f, c->h[6] += g, c->h[7] += h;
}

void mbox_sha256_init(struct mbox_sha256 *c)
{
	static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memcpy(c->h, h0, sizeof(h0));
	c->n = 0;
}

void mbox_sha256_add(struct mbox_sha256 *c, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t used = (size_t)(c->n % 64);

	c->n += n;
	if (used) {
		size_t k = 64 - used < n ? 64 - used : n;
		memcpy(c->b + used, p, k);
		p += k;
		n -= k;
		if (used + k < 64)
			return;
		sha_block(c, c->b);
	}
	for (; n >= 64; p += 64, n -= 64)
		sha_block(c, p);
	memcpy(c->b, p, n);
}

void mbox_sha256_end(struct mbox_sha256 *c, unsigned char out[32])
{
	uint64_t bits = c->n * 8;
	unsigned char pad[72] = { 0x80 };
	size_t used = (size_t)(c->n % 64);
	size_t k = used < 56 ? 56 - used : 120 - used;

	for (int i = 0; i < 8; i++)
		pad[k + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
	mbox_sha256_add(c, pad, k + 8);
	for (int i = 0; i < 8; i++) {
		out[i * 4] = (unsigned char)(c->h[i] >> 24);
		out[i * 4 + 1] = (unsigned char)(c->h[i] >> 16);
		out[i * 4 + 2] = (unsigned char)(c->h[i] >> 8);
		out[i * 4 + 3] = (unsigned char)c->h[i];
	}
}

/* ---- mbox_h128 ------------------------------------------------------------ */

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

static void hex(const unsigned char *h, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[i * 2] = x[h[i] >> 4];
		out[i * 2 + 1] = x[h[i] & 15];
	}
	out[n * 2] = 0;
}

/* ver 1: SHA-256 (32 bytes); ver 2: mbox_h128 keyed with key (16 bytes) */
static int digest_range(int ver, int fd, uint64_t off, uint64_t n, const uint64_t key[2],
			unsigned char out[32])
{
	struct mbox_sha256 sc;
	struct mbox_h128 hc;
	char *buf = malloc(MBOX_JBUF);

	if (!buf)
		return -1;
	if (ver == 1)
		mbox_sha256_init(&sc);
	else
		mbox_h128_init(&hc, key);
	while (n) {
		size_t k = n < MBOX_JBUF ? (size_t)n : MBOX_JBUF;
		if (mbox_pread_full(fd, buf, k, off) < 0) {
			free(buf);
			return -1;
		}
		if (ver == 1)
			mbox_sha256_add(&sc, buf, k);
		else
			mbox_h128_add(&hc, buf, k);
		off += k;
		n -= k;
	}
	free(buf);
	if (ver == 1)
		mbox_sha256_end(&sc, out);
	else
		mbox_h128_end(&hc, out);
	return 0;
}

int mbox_hash_range(int fd, uint64_t off, uint64_t n, const uint64_t key[2],
		    unsigned char out[16])
{
	unsigned char o[32];

	if (digest_range(2, fd, off, n, key, o) < 0)
		return -1;
	memcpy(out, o, 16);
	return 0;
}

/* ---- where journals live ------------------------------------------------- */

static char journal_dir_set[PATH_MAX];

void mbox_set_journal_dir(const char *dir)
{
	if (!dir || strlen(dir) >= sizeof(journal_dir_set))
		journal_dir_set[0] = 0;
	else
		memcpy(journal_dir_set, dir, strlen(dir) + 1);
}

static int journal_dir(char *buf, size_t size, int create)
{
	const char *env = getenv("MBOX_JOURNAL_DIR");
	int r;

	if (journal_dir_set[0]) {
		r = snprintf(buf, size, "%s", journal_dir_set);
	} else if (env && *env) {
		r = snprintf(buf, size, "%s", env);
	} else {
		/* the euid's home; a virtual user without a passwd entry has the
		 * home its login set in HOME */
		struct passwd *pw = getpwuid(geteuid());
		const char *home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
		struct stat hst;
		if (!home || stat(home, &hst) < 0 || hst.st_uid != geteuid())
			home = getenv("HOME");
		if (!home || home[0] != '/') {
			errno = ENOENT;
			return -1;
		}
		r = snprintf(buf, size, "%s/.libmbox", home);
		if (r < 0 || (size_t)r >= size)
			goto toolong;
		if (create && mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -1;
		r = snprintf(buf, size, "%s/.libmbox/journal", home);
	}
	if (r < 0 || (size_t)r >= size)
		goto toolong;
	if (create && mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}

static int journal_name(const struct mbox *mb, char *buf, size_t size, int create)
{
	char dir[PATH_MAX];
	int r;

	if (journal_dir(dir, sizeof(dir), create) < 0)
		return -1;
	r = snprintf(buf, size, "%s/%llx-%llx.journal", dir, (unsigned long long)mb->dev,
		     (unsigned long long)mb->ino);
	if (r < 0 || (size_t)r >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int mbox_journal_path(const struct mbox *mb, char *buf, size_t size)
{
	return journal_name(mb, buf, size, 0);
}

static void fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *sl = strrchr(path, '/');
	size_t n = sl ? (size_t)(sl - path) : 0;
	int fd;

	if (n == 0 || n >= sizeof(dir))
		return;
	memcpy(dir, path, n);
	dir[n] = 0;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* ---- writing ----------------------------------------------------------- */

/* pwrite all n bytes at off (EINTR retried); shared by rewrite.c */
int mbox_pwrite_full(int fd, const char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static void new_key(uint64_t key[2])
{
	struct timespec ts;

	if (getrandom(key, 2 * sizeof(key[0]), GRND_NONBLOCK) == (ssize_t)(2 * sizeof(key[0])))
		return;
	/* no entropy yet (early boot): still unlike any earlier journal */
	clock_gettime(CLOCK_REALTIME, &ts);
	key[0] = h_mix((uint64_t)ts.tv_sec * P1 ^ (uint64_t)ts.tv_nsec);
	key[1] = h_mix((uint64_t)getpid() * P3 ^ key[0]);
}

int mbox_journal_begin(struct mbox *mb, struct mbox_journal *j)
{
	j->fd = -1;
	j->tlen = 0;
	j->blen = 0;
	new_key(j->key);
	mbox_h128_init(&j->th, j->key);
	if (journal_name(mb, j->path, sizeof(j->path), 1) < 0)
		return -1;
	j->fd = open(j->path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	return j->fd < 0 ? -1 : 0;
}

static int journal_flush(struct mbox_journal *j)
{
	if (j->blen && mbox_pwrite_full(j->fd, j->buf, j->blen, MBOX_JOURNAL_HDR + j->tlen - j->blen) < 0)
		return -1;
	j->blen = 0;
	return 0;
}

int mbox_journal_put(struct mbox_journal *j, const char *p, size_t n)
{
	mbox_h128_add(&j->th, p, n);
	while (n) {
		size_t k = sizeof(j->buf) - j->blen;
		if (k > n)
			k = n;
		memcpy(j->buf + j->blen, p, k);
		j->blen += k;
		j->tlen += k;
		p += k;
		n -= k;
		if (j->blen == sizeof(j->buf) && journal_flush(j) < 0)
			return -1;
	}
	return 0;
}

int mbox_journal_copy(struct mbox_journal *j, int fd, uint64_t off, uint64_t n)
{
	while (n) {
		size_t k = sizeof(j->buf) - j->blen;
		if (k > n)
			k = (size_t)n;
		if (mbox_pread_full(fd, j->buf + j->blen, k, off) < 0)
			return -1;
		mbox_h128_add(&j->th, j->buf + j->blen, k);
		j->blen += k;
		j->tlen += k;
		off += k;
		n -= k;
		if (j->blen == sizeof(j->buf) && journal_flush(j) < 0)
			return -1;
	}
	return 0;
}

struct jhdr {
	int ver;                 /* 1: SHA-256, 2: mbox_h128 */
	size_t dlen;             /* digest length */
	unsigned long long dev, ino, d, e, tlen;
	uint64_t key[2];
	unsigned char oh[32], th[32];
};

static int write_header(int fd, const struct mbox *mb, const struct jhdr *jh)
{
	char h[MBOX_JOURNAL_HDR], ohx[65], thx[65], hhx[33];
	unsigned char hh[16];
	struct mbox_h128 c;
	int r, r2;

	hex(jh->oh, 16, ohx);
	hex(jh->th, 16, thx);
	memset(h, 0, sizeof(h));
	r = snprintf(h, sizeof(h), JOURNAL_MAGIC "%llu %llu %llu %llu %llu %016llx%016llx\n%s\n%s\n",
		     jh->dev, jh->ino, jh->d, jh->e, jh->tlen, (unsigned long long)jh->key[0],
		     (unsigned long long)jh->key[1], ohx, thx);
	if (r < 0 || (size_t)r >= sizeof(h) - 40) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* the header's own hash: a torn header never parses as committed */
	mbox_h128_init(&c, jh->key);
	mbox_h128_add(&c, h, (size_t)r);
	mbox_h128_end(&c, hh);
	hex(hh, 16, hhx);
	r2 = snprintf(h + r, sizeof(h) - (size_t)r, "%s\n%.700s\n", hhx, mb->path);
	if (r2 < 0 || (size_t)r2 >= sizeof(h) - (size_t)r) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mbox_pwrite_full(fd, h, sizeof(h), 0);
}

int mbox_journal_commit(struct mbox *mb, struct mbox_journal *j, uint64_t d, uint64_t e)
{
	struct jhdr h;

	memset(&h, 0, sizeof(h));
	h.ver = 2;
	h.dev = (unsigned long long)mb->dev;
	h.ino = (unsigned long long)mb->ino;
	h.d = d;
	h.e = e;
	h.tlen = j->tlen;
	h.key[0] = j->key[0];
	h.key[1] = j->key[1];
	if (journal_flush(j) < 0 || mbox_hash_range(mb->fd, d, e - d, j->key, h.oh) < 0)
		return -1;
	mbox_h128_end(&j->th, h.th);
	/* one fsync: until it returns nothing of the mailbox is touched, and
	 * a journal cut short by a crash fails its T hash at recovery */
	if (write_header(j->fd, mb, &h) < 0 || fsync(j->fd) < 0)
		return -1;
	fsync_dir_of(j->path);
	return 0;
}

/* Copies jfd's T (tlen bytes) over mb at d, truncates, fsyncs. */
static int copy_t(struct mbox *mb, int jfd, uint64_t d, uint64_t tlen)
{
	char *buf = malloc(MBOX_JBUF);
	struct stat st;
	uint64_t done = 0, touched = 0;

	if (!buf)
		return -1;
	if (fstat(mb->fd, &st) < 0)
		goto fail;
	if (d + tlen > (uint64_t)st.st_size) {
		/* reserve the growth first: ENOSPC here leaves the old bytes */
		int r = posix_fallocate(mb->fd, (off_t)st.st_size,
					(off_t)(d + tlen - (uint64_t)st.st_size));
		if (r) {
			if (ftruncate(mb->fd, st.st_size) == 0)
				fsync(mb->fd);
			errno = r;
			goto fail;
		}
		if (fsync(mb->fd) < 0)
			goto fail;
	}
	while (done < tlen) {
		size_t k = tlen - done < MBOX_JBUF ? (size_t)(tlen - done) : MBOX_JBUF;
		if (mbox_pread_full(jfd, buf, k, MBOX_JOURNAL_HDR + done) < 0 ||
		    mbox_pwrite_full(mb->fd, buf, k, d + done) < 0)
			goto fail;
		done += k;
		if (done - touched >= TOUCH_EVERY) {
			mbox_lock_touch(mb);
			touched = done;
		}
	}
	if (ftruncate(mb->fd, (off_t)(d + tlen)) < 0 || fsync(mb->fd) < 0)
		goto fail;
	free(buf);
	return 0;
fail:
	free(buf);
	return -1;
}

int mbox_journal_apply(struct mbox *mb, struct mbox_journal *j, uint64_t d)
{
	if (copy_t(mb, j->fd, d, j->tlen) < 0) {
		int e = errno;
		/* the growth could not be reserved: nothing was overwritten */
		if (e == ENOSPC || e == EDQUOT || e == EFBIG)
			mbox_journal_abort(j);
		else
			close(j->fd);   /* keep it: recovery finishes the copy */
		j->fd = -1;
		errno = e;
		return -1;
	}
	close(j->fd);
	j->fd = -1;
	unlink(j->path);
	fsync_dir_of(j->path);
	return 0;
}

void mbox_journal_abort(struct mbox_journal *j)
{
	int e = errno;

	if (j->fd >= 0) {
		close(j->fd);
		j->fd = -1;
		unlink(j->path);
	}
	errno = e;
}

/* ---- recovery -------------------------------------------------------------- */

static int unhex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[i * 2 + k];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

static int read_header(int fd, struct jhdr *h)
{
	char b[MBOX_JOURNAL_HDR + 1];
	char ohx[65], thx[65], hhx[65];
	unsigned long long k0, k1;
	unsigned char hh[16], want[16];
	size_t ml = sizeof(JOURNAL_MAGIC) - 1;   /* both magics have this length */

	memset(h, 0, sizeof(*h));
	if (mbox_pread_full(fd, b, MBOX_JOURNAL_HDR, 0) < 0)
		return -1;
	b[MBOX_JOURNAL_HDR] = 0;
	if (memcmp(b, JOURNAL_MAGIC1, ml) == 0) {
		h->ver = 1;
		h->dlen = 32;
		if (sscanf(b + ml, "%llu %llu %llu %llu %llu\n%64s\n%64s", &h->dev, &h->ino, &h->d,
			   &h->e, &h->tlen, ohx, thx) != 7)
			return -1;
	} else if (memcmp(b, JOURNAL_MAGIC, ml) == 0) {
		h->ver = 2;
		h->dlen = 16;
		if (sscanf(b + ml, "%llu %llu %llu %llu %llu %16llx%16llx\n%64s\n%64s\n%64s",
			   &h->dev, &h->ino, &h->d, &h->e, &h->tlen, &k0, &k1, ohx, thx, hhx) != 10 ||
		    strlen(hhx) != 32 || unhex(hhx, want, 16) < 0)
			return -1;
		h->key[0] = k0;
		h->key[1] = k1;
		/* the header hash covers everything before its line */
		const char *q = b;
		for (int i = 0; i < 4 && q; i++)
			if ((q = strchr(q, '\n')))
				q++;
		if (!q)
			return -1;
		struct mbox_h128 c;
		mbox_h128_init(&c, h->key);
		mbox_h128_add(&c, b, (size_t)(q - b));
		mbox_h128_end(&c, hh);
		if (memcmp(hh, want, 16) != 0)
			return -1;
	} else {
		return -1;
	}
	if (strlen(ohx) != h->dlen * 2 || strlen(thx) != h->dlen * 2 ||
	    unhex(ohx, h->oh, h->dlen) < 0 || unhex(thx, h->th, h->dlen) < 0 || h->d > h->e)
		return -1;
	return 0;
}

/* ---- salvage: append T's messages the mailbox lacks ---------------------- */

struct vh {
	struct mbox_sha256 c;
};

static int vh_sink(void *arg, const char *p, size_t n)
{
	mbox_sha256_add(&((struct vh *)arg)->c, p, n);
	return 0;
}

static int view_hash(int fd, const struct mbox_msg *m, unsigned char out[32])
{
	struct mbox tmp;
	struct vh v;

	memset(&tmp, 0, sizeof(tmp));
	tmp.fd = fd;
	tmp.lock = MBOX_LOCK_READ;   /* the caller holds the real lock */
	mbox_sha256_init(&v.c);
	if (mbox_msg_stream(&tmp, m, MBOX_PART_ALL, vh_sink, &v) < 0)
		return -1;
	mbox_sha256_end(&v.c, out);
	return 0;
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Appends jfd's [off, off+n) as one message to mb (raw bytes, then one
 * separating empty line), after making the file end in "\n\n". */
static int append_raw(struct mbox *mb, int jfd, uint64_t off, uint64_t n)
{
	struct stat st;
	char tail[2], *buf;
	uint64_t end, done = 0;
	size_t add = 0;

	if (fstat(mb->fd, &st) < 0)
		return -1;
	end = (uint64_t)st.st_size;
	if (end >= 1) {
		size_t k = end >= 2 ? 2 : 1;
		if (mbox_pread_full(mb->fd, tail, k, end - k) < 0)
			return -1;
		if (tail[k - 1] != '\n')
			add = 2;
		else if (k == 2 && tail[0] != '\n')
			add = 1;
	}
	if (add && mbox_pwrite_full(mb->fd, "\n\n", add, end) < 0)
		return -1;
	end += add;
	if (!(buf = malloc(MBOX_BLOCK)))
		return -1;
	while (done < n) {
		size_t k = n - done < MBOX_BLOCK ? (size_t)(n - done) : MBOX_BLOCK;
		if (mbox_pread_full(jfd, buf, k, off + done) < 0 ||
		    mbox_pwrite_full(mb->fd, buf, k, end + done) < 0) {
			free(buf);
			return -1;
		}
		done += k;
	}
	free(buf);
	end += n;
	return mbox_pwrite_full(mb->fd, "\n", 1, end);
}

static int salvage(struct mbox *mb, int jfd, uint64_t jsize)
{
	struct mbox_scan have, t;
	struct stat st;
	unsigned char (*hs)[32] = NULL, h[32];
	int ret = -1;

	memset(&have, 0, sizeof(have));
	memset(&t, 0, sizeof(t));
	if (fstat(mb->fd, &st) < 0 || mbox_scan_fd(mb->fd, (uint64_t)st.st_size, &have, 1) < 0 ||
	    mbox_scan_fd(jfd, jsize, &t, 1) < 0)
		goto out;
	if (have.count && !(hs = malloc(have.count * sizeof(*hs))))
		goto out;
	for (size_t i = 0; i < have.count; i++)
		if (view_hash(mb->fd, &have.msgs[i], hs[i]) < 0)
			goto out;
	if (have.count)
		qsort(hs, have.count, sizeof(*hs), cmp32);
	for (size_t i = 0; i < t.count; i++) {
		const struct mbox_msg *m = &t.msgs[i];
		if (m->offset < MBOX_JOURNAL_HDR || view_hash(jfd, m, h) < 0)
			continue;
		if (have.count && bsearch(h, hs, have.count, sizeof(*hs), cmp32))
			continue;
		if (append_raw(mb, jfd, m->offset, m->body_end - m->offset) < 0)
			goto out;
	}
	ret = fsync(mb->fd);
out:
	free(hs);
	mbox_scan_free(&have);
	mbox_scan_free(&t);
	return ret;
}

/* Adds the mailbox bytes [e, size) to the journal's T and recommits it,
 * so that applying T moves nothing that exists only in the mailbox. */
static int take_extra(struct mbox *mb, int jfd, struct jhdr *h, uint64_t size)
{
	char *buf = malloc(MBOX_JBUF);
	uint64_t off, n = size - h->e;
	int ret = -1;

	if (!buf)
		return -1;
	for (off = 0; off < n;) {
		size_t k = n - off < MBOX_JBUF ? (size_t)(n - off) : MBOX_JBUF;
		if (mbox_pread_full(mb->fd, buf, k, h->e + off) < 0 ||
		    mbox_pwrite_full(jfd, buf, k, MBOX_JOURNAL_HDR + h->tlen + off) < 0)
			goto out;
		off += k;
	}
	if (h->ver != 2)
		new_key(h->key);   /* a version 1 journal is recommitted as 2 */
	h->ver = 2;
	h->dlen = 16;
	if (fsync(jfd) < 0 || mbox_hash_range(jfd, MBOX_JOURNAL_HDR, h->tlen + n, h->key, h->th) < 0 ||
	    mbox_hash_range(mb->fd, h->d, size - h->d, h->key, h->oh) < 0)
		goto out;
	h->e = size;
	h->tlen += n;
	if (write_header(jfd, mb, h) < 0 || fsync(jfd) < 0)
		goto out;
	ret = 0;
out:
	free(buf);
	return ret;
}

int mbox_journal_recover(struct mbox *mb)
{
	char path[PATH_MAX];
	struct jhdr h;
	struct stat st, jst;
	unsigned char x[32];
	int jfd, ret = -1;

	/* no journal directory we can reach means no journal of ours: a
	 * delivery must not fail because the recipient has no usable home */
	if (journal_name(mb, path, sizeof(path), 0) < 0)
		return (errno == ENOENT || errno == EACCES || errno == ENOTDIR) ? 0 : -1;
	if ((jfd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return (errno == ENOENT || errno == EACCES || errno == ENOTDIR) ? 0 : -1;
	if (fstat(jfd, &jst) < 0 || fstat(mb->fd, &st) < 0)
		goto out;
	if (read_header(jfd, &h) < 0 || (uint64_t)jst.st_size != MBOX_JOURNAL_HDR + h.tlen ||
	    digest_range(h.ver, jfd, MBOX_JOURNAL_HDR, h.tlen, h.key, x) < 0 ||
	    memcmp(x, h.th, h.dlen) != 0) {
		/* never committed: the mailbox was not touched */
		ret = 0;
		goto drop;
	}
	if (h.dev != (unsigned long long)st.st_dev || h.ino != (unsigned long long)st.st_ino) {
		ret = 0;   /* not ours after all (name clash); leave it */
		goto out;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (size >= h.e && digest_range(h.ver, mb->fd, h.d, h.e - h.d, h.key, x) == 0 &&
	    !memcmp(x, h.oh, h.dlen)) {
		/* crashed before the copy: do it now */
		if (size > h.e && take_extra(mb, jfd, &h, size) < 0)
			goto out;
		if (copy_t(mb, jfd, h.d, h.tlen) < 0)
			goto out;
	} else if (size >= h.d + h.tlen &&
		   digest_range(h.ver, mb->fd, h.d, h.tlen, h.key, x) == 0 &&
		   !memcmp(x, h.th, h.dlen)) {
		/* crashed after the copy: nothing to do */
	} else if (salvage(mb, jfd, (uint64_t)jst.st_size) < 0) {
		goto out;
	}
	ret = 0;
drop:
	close(jfd);
	jfd = -1;
	unlink(path);
	fsync_dir_of(path);
out:
	if (jfd >= 0)
		close(jfd);
	return ret;
}
