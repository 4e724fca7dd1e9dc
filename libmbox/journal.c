/* The rewrite journal (mbox-interop.md §7.8 steps 4-7 and recovery).
 *
 * A journal file "<dev>-<ino>.journal" in the journal directory holds a
 * 1 KiB text header {magic, dev, ino, D, E, len T, SHA-256 of the old
 * bytes [D,E), SHA-256 of T, path} and then T, the new image of [D, new
 * EOF).  T is written first, the header last, then file and directory are
 * fsync'ed: a journal whose header or T hash does not check out was never
 * committed, and the mailbox was not touched yet.
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
#include <sys/stat.h>
#include <unistd.h>

#define JOURNAL_MAGIC "facteur-mbox-journal 1\n"
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
	uint32_t w[64], s[8], t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)b[i * 4] << 24 | (uint32_t)b[i * 4 + 1] << 16 |
		       (uint32_t)b[i * 4 + 2] << 8 | b[i * 4 + 3];
	for (; i < 64; i++)
		w[i] = (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10)) + w[i - 7] +
		       (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) + w[i - 16];
	memcpy(s, c->h, sizeof(s));
	for (i = 0; i < 64; i++) {
		t1 = s[7] + (ROR(s[4], 6) ^ ROR(s[4], 11) ^ ROR(s[4], 25)) +
		     ((s[4] & s[5]) ^ (~s[4] & s[6])) + K[i] + w[i];
		t2 = (ROR(s[0], 2) ^ ROR(s[0], 13) ^ ROR(s[0], 22)) +
		     ((s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]));
		memmove(s + 1, s, 7 * sizeof(s[0]));
		s[4] += t1;
		s[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		c->h[i] += s[i];
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

static void hex(const unsigned char h[32], char out[65])
{
	static const char x[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[i * 2] = x[h[i] >> 4];
		out[i * 2 + 1] = x[h[i] & 15];
	}
	out[64] = 0;
}

/* hash of fd's [off, off+n) */
int mbox_hash_range(int fd, uint64_t off, uint64_t n, unsigned char out[32])
{
	struct mbox_sha256 c;
	char *buf = malloc(MBOX_BLOCK);

	if (!buf)
		return -1;
	mbox_sha256_init(&c);
	while (n) {
		size_t k = n < MBOX_BLOCK ? (size_t)n : MBOX_BLOCK;
		if (mbox_pread_full(fd, buf, k, off) < 0) {
			free(buf);
			return -1;
		}
		mbox_sha256_add(&c, buf, k);
		off += k;
		n -= k;
	}
	free(buf);
	mbox_sha256_end(&c, out);
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

static int pwrite_full(int fd, const char *p, size_t n, uint64_t off)
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

int mbox_journal_begin(struct mbox *mb, struct mbox_journal *j)
{
	j->fd = -1;
	j->tlen = 0;
	j->blen = 0;
	mbox_sha256_init(&j->th);
	if (journal_name(mb, j->path, sizeof(j->path), 1) < 0)
		return -1;
	j->fd = open(j->path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	return j->fd < 0 ? -1 : 0;
}

static int journal_flush(struct mbox_journal *j)
{
	if (j->blen && pwrite_full(j->fd, j->buf, j->blen, MBOX_JOURNAL_HDR + j->tlen - j->blen) < 0)
		return -1;
	j->blen = 0;
	return 0;
}

int mbox_journal_put(struct mbox_journal *j, const char *p, size_t n)
{
	mbox_sha256_add(&j->th, p, n);
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

static int write_header(int fd, const struct mbox *mb, uint64_t d, uint64_t e, uint64_t tlen,
			const unsigned char oh[32], const unsigned char th[32])
{
	char h[MBOX_JOURNAL_HDR], ohx[65], thx[65];
	int r;

	hex(oh, ohx);
	hex(th, thx);
	memset(h, 0, sizeof(h));
	r = snprintf(h, sizeof(h), JOURNAL_MAGIC "%llu %llu %llu %llu %llu\n%s\n%s\n%.700s\n",
		     (unsigned long long)mb->dev, (unsigned long long)mb->ino,
		     (unsigned long long)d, (unsigned long long)e, (unsigned long long)tlen,
		     ohx, thx, mb->path);
	if (r < 0 || (size_t)r >= sizeof(h)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return pwrite_full(fd, h, sizeof(h), 0);
}

int mbox_journal_commit(struct mbox *mb, struct mbox_journal *j, uint64_t d,
			uint64_t e, const unsigned char old_hash[32])
{
	unsigned char th[32];

	if (journal_flush(j) < 0)
		return -1;
	mbox_sha256_end(&j->th, th);
	if (write_header(j->fd, mb, d, e, j->tlen, old_hash, th) < 0 || fsync(j->fd) < 0)
		return -1;
	fsync_dir_of(j->path);
	return 0;
}

/* Copies jfd's T (tlen bytes) over mb at d, truncates, fsyncs. */
static int copy_t(struct mbox *mb, int jfd, uint64_t d, uint64_t tlen)
{
	char *buf = malloc(MBOX_BLOCK);
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
		size_t k = tlen - done < MBOX_BLOCK ? (size_t)(tlen - done) : MBOX_BLOCK;
		if (mbox_pread_full(jfd, buf, k, MBOX_JOURNAL_HDR + done) < 0 ||
		    pwrite_full(mb->fd, buf, k, d + done) < 0)
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

struct jhdr {
	unsigned long long dev, ino, d, e, tlen;
	unsigned char oh[32], th[32];
};

static int unhex(const char *s, unsigned char out[32])
{
	for (int i = 0; i < 32; i++) {
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
	char ohx[65], thx[65];
	size_t ml = sizeof(JOURNAL_MAGIC) - 1;

	if (mbox_pread_full(fd, b, MBOX_JOURNAL_HDR, 0) < 0)
		return -1;
	b[MBOX_JOURNAL_HDR] = 0;
	if (memcmp(b, JOURNAL_MAGIC, ml) != 0 ||
	    sscanf(b + ml, "%llu %llu %llu %llu %llu\n%64s\n%64s", &h->dev, &h->ino, &h->d,
		   &h->e, &h->tlen, ohx, thx) != 7 ||
	    strlen(ohx) != 64 || strlen(thx) != 64 || unhex(ohx, h->oh) < 0 ||
	    unhex(thx, h->th) < 0 || h->d > h->e)
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
	if (add && pwrite_full(mb->fd, "\n\n", add, end) < 0)
		return -1;
	end += add;
	if (!(buf = malloc(MBOX_BLOCK)))
		return -1;
	while (done < n) {
		size_t k = n - done < MBOX_BLOCK ? (size_t)(n - done) : MBOX_BLOCK;
		if (mbox_pread_full(jfd, buf, k, off + done) < 0 ||
		    pwrite_full(mb->fd, buf, k, end + done) < 0) {
			free(buf);
			return -1;
		}
		done += k;
	}
	free(buf);
	end += n;
	return pwrite_full(mb->fd, "\n", 1, end);
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
	char *buf = malloc(MBOX_BLOCK);
	uint64_t off, n = size - h->e;
	unsigned char th[32];
	int ret = -1;

	if (!buf)
		return -1;
	for (off = 0; off < n;) {
		size_t k = n - off < MBOX_BLOCK ? (size_t)(n - off) : MBOX_BLOCK;
		if (mbox_pread_full(mb->fd, buf, k, h->e + off) < 0 ||
		    pwrite_full(jfd, buf, k, MBOX_JOURNAL_HDR + h->tlen + off) < 0)
			goto out;
		off += k;
	}
	if (fsync(jfd) < 0 || mbox_hash_range(jfd, MBOX_JOURNAL_HDR, h->tlen + n, th) < 0 ||
	    mbox_hash_range(mb->fd, h->d, size - h->d, h->oh) < 0)
		goto out;
	h->e = size;
	h->tlen += n;
	memcpy(h->th, th, 32);
	if (write_header(jfd, mb, h->d, h->e, h->tlen, h->oh, h->th) < 0 || fsync(jfd) < 0)
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
	    mbox_hash_range(jfd, MBOX_JOURNAL_HDR, h.tlen, x) < 0 || memcmp(x, h.th, 32) != 0) {
		/* never committed: the mailbox was not touched */
		ret = 0;
		goto drop;
	}
	if (h.dev != (unsigned long long)st.st_dev || h.ino != (unsigned long long)st.st_ino) {
		ret = 0;   /* not ours after all (name clash); leave it */
		goto out;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (size >= h.e && mbox_hash_range(mb->fd, h.d, h.e - h.d, x) == 0 && !memcmp(x, h.oh, 32)) {
		/* crashed before the copy: do it now */
		if (size > h.e && take_extra(mb, jfd, &h, size) < 0)
			goto out;
		if (copy_t(mb, jfd, h.d, h.tlen) < 0)
			goto out;
	} else if (size >= h.d + h.tlen && mbox_hash_range(mb->fd, h.d, h.tlen, x) == 0 &&
		   !memcmp(x, h.th, 32)) {
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
