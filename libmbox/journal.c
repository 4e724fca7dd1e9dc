/* The crash records of libmbox (mbox-interop.md §7.5, §7.8): where they
 * live, their format, writing them, and rolling a rewrite forward.
 *
 * Rewrite journal "<dev>-<ino>.journal": a 1 KiB text header, then T (the
 * new image of [D, X), X = D + len T), then one 64-bit hash per 4 KiB
 * file block of the old bytes [D, E) (blocks aligned on file offsets, the
 * first and last ones partial).  The header holds dev, ino, D, E, the
 * size G = max(E, X) the file has while T is copied, len T, the number of
 * block hashes, a random key, the hash of the old bytes [X, end of X's
 * block) when the rewrite shrinks the file, one hash of T and the block
 * hashes, and a hash of the header itself.  T and the block hashes are
 * written first, the header last, then one fsync of the file and of the
 * directory: a journal whose hashes do not match was never committed, and
 * the mailbox was not touched yet.
 *
 * Apply (the rewrite, and recovery's roll-forward): grow the file to G
 * (space reserved first with FALLOC_FL_KEEP_SIZE: ENOSPC leaves the
 * mailbox as it was; the zeros between E and G are never mail, the
 * journal says where they are), copy T to D in chunks that start and end
 * on block boundaries, truncate to X, fsync, remove the journal.  At every
 * instant each block of [D, G) holds its old bytes, T's, or (past E)
 * zeros, so recovery can always tell our unfinished copy from a change by
 * someone else (recover.c).
 *
 * Append record "<dev>-<ino>.append": before an append, the old size N,
 * the size M the file will have after it (0 if unknown: input from a
 * pipe) and the first bytes the append writes, fdatasync'ed; cleared
 * after the append's fsync.  Recovery cuts a partial append back to N.
 *
 * Directory: mbox_set_journal_dir(), else $MBOX_JOURNAL_DIR, else
 * ~/.libmbox/journal of the euid (created 0700). */
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

#define JOURNAL_MAGIC "facteur-mbox-journal 3\n"
#define APPEND_MAGIC "facteur-mbox-append 1\n"
#define TOUCH_EVERY (64ULL << 20)   /* refresh the dotlock while copying */

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

static int record_name(const struct mbox *mb, const char *ext, char *buf, size_t size, int create)
{
	const struct mbox_lockstate *ls = mbox_ls_c(mb);
	char dir[PATH_MAX];
	int r;

	if (journal_dir(dir, sizeof(dir), create) < 0)
		return -1;
	r = snprintf(buf, size, "%s/%llx-%llx.%s", dir, (unsigned long long)ls->dev,
		     (unsigned long long)ls->ino, ext);
	if (r < 0 || (size_t)r >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int mbox_journal_path(const struct mbox *mb, char *buf, size_t size)
{
	return record_name(mb, "journal", buf, size, 0);
}

int mbox_append_record_path(const struct mbox *mb, char *buf, size_t size)
{
	return record_name(mb, "append", buf, size, 0);
}

/* ---- small helpers ---------------------------------------------------------- */

static void hex(const unsigned char *h, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[i * 2] = x[h[i] >> 4];
		out[i * 2 + 1] = x[h[i] & 15];
	}
	out[n * 2] = 0;
}

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

void mbox_journal_new_key(uint64_t key[2])
{
	struct timespec ts;

	if (getrandom(key, 2 * sizeof(key[0]), GRND_NONBLOCK) == (ssize_t)(2 * sizeof(key[0])))
		return;
	/* no entropy yet (early boot): still unlike any earlier journal */
	clock_gettime(CLOCK_REALTIME, &ts);
	key[0] = mbox_hash_mix((uint64_t)ts.tv_sec ^ ((uint64_t)ts.tv_nsec << 20));
	key[1] = mbox_hash_mix((uint64_t)getpid() ^ key[0]);
}

/* ---- writing a rewrite journal -------------------------------------------- */

int mbox_journal_begin(struct mbox *mb, struct mbox_journal *j)
{
	j->fd = -1;
	j->tlen = 0;
	j->blen = 0;
	mbox_journal_new_key(j->key);
	mbox_h128_init(&j->th, j->key);
	if (record_name(mb, "journal", j->path, sizeof(j->path), 1) < 0)
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

/* Block i of [d, e): [lo, hi) */
void mbox_journal_block(uint64_t d, uint64_t e, uint64_t i, uint64_t *lo, uint64_t *hi)
{
	uint64_t b0 = d - d % MBOX_JBLOCK;

	*lo = b0 + i * MBOX_JBLOCK;
	if (*lo < d)
		*lo = d;
	*hi = b0 + (i + 1) * MBOX_JBLOCK;
	if (*hi > e)
		*hi = e;
}

uint64_t mbox_journal_nblocks(uint64_t d, uint64_t e)
{
	uint64_t b0 = d - d % MBOX_JBLOCK;

	return e > d ? (e - b0 + MBOX_JBLOCK - 1) / MBOX_JBLOCK : 0;
}

/* Hashes of fd's blocks of [d, e), appended to the journal at *at (and
 * into the body hash c). */
int mbox_journal_put_blocks(int fd, int jfd, uint64_t d, uint64_t e, const uint64_t key[2],
			    struct mbox_h128 *c, uint64_t at)
{
	uint64_t n = mbox_journal_nblocks(d, e), i, lo, hi;
	unsigned char *out = malloc(MBOX_JBUF);
	char *buf = malloc(MBOX_JBUF);
	size_t k = 0;
	int ret = -1;

	if (!out || !buf)
		goto done;
	for (i = 0; i < n;) {
		/* read up to MBOX_JBUF of whole blocks at once */
		uint64_t rlo, rhi, x;
		mbox_journal_block(d, e, i, &rlo, &rhi);
		uint64_t last = i + MBOX_JBUF / MBOX_JBLOCK - 1;
		if (last >= n)
			last = n - 1;
		mbox_journal_block(d, e, last, &x, &rhi);
		if (mbox_pread_full(fd, buf, (size_t)(rhi - rlo), rlo) < 0)
			goto done;
		for (; i <= last; i++) {
			mbox_journal_block(d, e, i, &lo, &hi);
			uint64_t h = mbox_h64(key, buf + (lo - rlo), (size_t)(hi - lo));
			for (int b = 0; b < 8; b++)
				out[k++] = (unsigned char)(h >> (8 * b));
			if (k == MBOX_JBUF) {
				mbox_h128_add(c, out, k);
				if (mbox_pwrite_full(jfd, out, k, at) < 0)
					goto done;
				at += k;
				k = 0;
			}
		}
	}
	mbox_h128_add(c, out, k);
	if (k && mbox_pwrite_full(jfd, out, k, at) < 0)
		goto done;
	ret = 0;
done:
	free(out);
	free(buf);
	return ret;
}

int mbox_journal_write_header(int jfd, const struct mbox *mb, const struct mbox_jhdr *jh)
{
	char h[MBOX_JOURNAL_HDR], bhx[33], hhx[33];
	unsigned char hh[16];
	struct mbox_h128 c;
	int r, r2;

	hex(jh->bh, 16, bhx);
	memset(h, 0, sizeof(h));
	r = snprintf(h, sizeof(h),
		     JOURNAL_MAGIC "%llu %llu %llu %llu %llu %llu %llu %016llx %016llx%016llx\n%s\n",
		     (unsigned long long)jh->dev, (unsigned long long)jh->ino,
		     (unsigned long long)jh->d, (unsigned long long)jh->e,
		     (unsigned long long)jh->g, (unsigned long long)jh->tlen,
		     (unsigned long long)jh->nblk, (unsigned long long)jh->tailhash,
		     (unsigned long long)jh->key[0], (unsigned long long)jh->key[1], bhx);
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
	return mbox_pwrite_full(jfd, h, sizeof(h), 0);
}

/* The old bytes [x, end of x's block) ∩ [.., e), hashed; 0 if none. */
int mbox_journal_tailhash(int fd, uint64_t x, uint64_t e, const uint64_t key[2], uint64_t *h)
{
	char buf[MBOX_JBLOCK];
	uint64_t end = x - x % MBOX_JBLOCK + MBOX_JBLOCK;

	*h = 0;
	if (end > e)
		end = e;
	if (x >= end)
		return 0;
	if (mbox_pread_full(fd, buf, (size_t)(end - x), x) < 0)
		return -1;
	*h = mbox_h64(key, buf, (size_t)(end - x));
	return 0;
}

int mbox_journal_commit(struct mbox *mb, struct mbox_journal *j, uint64_t d, uint64_t e)
{
	struct mbox_jhdr h;
	const struct mbox_lockstate *ls = mbox_ls_c(mb);

	memset(&h, 0, sizeof(h));
	h.dev = (uint64_t)ls->dev;
	h.ino = (uint64_t)ls->ino;
	h.d = d;
	h.e = e;
	h.tlen = j->tlen;
	h.g = d + j->tlen > e ? d + j->tlen : e;
	h.nblk = mbox_journal_nblocks(d, e);
	h.key[0] = j->key[0];
	h.key[1] = j->key[1];
	if (journal_flush(j) < 0 ||
	    mbox_journal_put_blocks(mb->fd, j->fd, d, e, j->key, &j->th, MBOX_JOURNAL_HDR + j->tlen) < 0 ||
	    mbox_journal_tailhash(mb->fd, d + j->tlen, e, j->key, &h.tailhash) < 0)
		return -1;
	mbox_h128_end(&j->th, h.bh);
	/* one fsync: until it returns nothing of the mailbox is touched, and
	 * a journal cut short by a crash fails its hashes at recovery */
	if (mbox_journal_write_header(j->fd, mb, &h) < 0 || fsync(j->fd) < 0 ||
	    mbox_fsync_dir_of(j->path) < 0)
		return -1;
	j->h = h;
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

int mbox_journal_read_header(int jfd, struct mbox_jhdr *h)
{
	char b[MBOX_JOURNAL_HDR + 1], bhx[65], hhx[65];
	unsigned long long v[8], k0, k1, th;
	unsigned char hh[16], want[16];
	size_t ml = sizeof(JOURNAL_MAGIC) - 1;
	struct mbox_h128 c;
	const char *q = b;

	memset(h, 0, sizeof(*h));
	if (mbox_pread_full(jfd, b, MBOX_JOURNAL_HDR, 0) < 0)
		return -1;
	b[MBOX_JOURNAL_HDR] = 0;
	if (memcmp(b, JOURNAL_MAGIC, ml) != 0 ||
	    sscanf(b + ml, "%llu %llu %llu %llu %llu %llu %llu %16llx %16llx%16llx\n%64s\n%64s",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &th, &k0, &k1, bhx, hhx) != 12 ||
	    strlen(hhx) != 32 || unhex(hhx, want, 16) < 0 || strlen(bhx) != 32 ||
	    unhex(bhx, h->bh, 16) < 0)
		goto bad;
	h->dev = v[0], h->ino = v[1], h->d = v[2], h->e = v[3], h->g = v[4];
	h->tlen = v[5], h->nblk = v[6], h->tailhash = th;
	h->key[0] = k0;
	h->key[1] = k1;
	/* the header hash covers everything before its line */
	for (int i = 0; i < 3 && q; i++)
		if ((q = strchr(q, '\n')))
			q++;
	if (!q)
		goto bad;
	mbox_h128_init(&c, h->key);
	mbox_h128_add(&c, b, (size_t)(q - b));
	mbox_h128_end(&c, hh);
	if (memcmp(hh, want, 16) != 0 || h->d > h->e || h->g != (h->d + h->tlen > h->e ? h->d + h->tlen : h->e) ||
	    h->nblk != mbox_journal_nblocks(h->d, h->e) || h->nblk > (UINT64_MAX / 8) / 2)
		goto bad;
	return 0;
bad:
	errno = EPROTO;
	return -1;
}

/* ---- the roll-forward -------------------------------------------------------- */

/* Grows fd to h->g (reserving the space first), copies T (jfd at
 * MBOX_JOURNAL_HDR) to h->d in chunks aligned on blocks, truncates to
 * d + tlen, fsyncs.  ENOSPC/EDQUOT/EFBIG before the first byte of T is
 * written: the size is put back and *untouched is set. */
int mbox_journal_copy_t(int fd, int jfd, const struct mbox_jhdr *h, mbox_touch_fn touch,
			void *arg, int *untouched)
{
	char *buf = NULL;
	struct stat st;
	uint64_t done = 0, touched = 0, x = h->d + h->tlen;
	int r;

	*untouched = 0;
	if (fstat(fd, &st) < 0)
		return -1;
	if ((uint64_t)st.st_size < h->g) {
		/* reserve, then grow: the size changes in one step, and the
		 * journal knows that [E, G) holds zeros, not mail */
		r = fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, (off_t)(h->g - (uint64_t)st.st_size));
		if (r < 0 && errno != EOPNOTSUPP && errno != ENOSYS) {
			*untouched = 1;
			return -1;
		}
		if (ftruncate(fd, (off_t)h->g) < 0) {
			*untouched = 1;
			return -1;
		}
	}
	if (!(buf = malloc(MBOX_JBUF)))
		return -1;
	while (done < h->tlen) {
		/* end each chunk on a block boundary of the mailbox */
		uint64_t at = h->d + done, end = at - at % MBOX_JBUF + MBOX_JBUF;
		size_t k = end - at < h->tlen - done ? (size_t)(end - at) : (size_t)(h->tlen - done);
		if (mbox_pread_full(jfd, buf, k, MBOX_JOURNAL_HDR + done) < 0 ||
		    mbox_pwrite_full(fd, buf, k, at) < 0)
			goto fail;
		done += k;
		if (touch && done - touched >= TOUCH_EVERY) {
			touch(arg);
			touched = done;
		}
	}
	if (ftruncate(fd, (off_t)x) < 0 || fsync(fd) < 0)
		goto fail;
	free(buf);
	return 0;
fail:
	free(buf);
	return -1;
}

int mbox_journal_apply(struct mbox *mb, struct mbox_journal *j, mbox_touch_fn touch, void *arg)
{
	int untouched;

	if (mbox_journal_copy_t(mb->fd, j->fd, &j->h, touch, arg, &untouched) < 0) {
		int e = errno;
		if (untouched) {
			/* the growth could not be reserved: nothing was overwritten */
			if (ftruncate(mb->fd, (off_t)j->h.e) == 0)
				fsync(mb->fd);
			mbox_journal_abort(j);
		} else {
			close(j->fd);   /* kept: recovery finishes the copy */
		}
		j->fd = -1;
		errno = e;
		return -1;
	}
	return mbox_journal_done(j->fd, j->path, &j->fd);
}

int mbox_journal_done(int jfd, const char *path, int *fdp)
{
	close(jfd);
	if (fdp)
		*fdp = -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	mbox_fsync_dir_of(path);
	return 0;
}

/* ---- the append record -------------------------------------------------- */

/* Layout (MBOX_AREC bytes): magic, "dev ino N M plen key0key1\n", the
 * first plen bytes the append writes, a hash of all of it (hex, last 33
 * bytes).  Cleared = all zeros. */
static void arec_hash(const unsigned char *b, size_t n, unsigned char out[16])
{
	static const uint64_t k[2] = { 0x6661637465757221ULL, 0x6d626f782d617070ULL };
	struct mbox_h128 c;

	mbox_h128_init(&c, k);
	mbox_h128_add(&c, b, n);
	mbox_h128_end(&c, out);
}

int mbox_arec_open(struct mbox *mb, int create, int *fd_r)
{
	char p[PATH_MAX];
	struct stat st;
	int fd;

	*fd_r = -1;
	if (record_name(mb, "append", p, sizeof(p), create) < 0)
		return -1;
	fd = open(p, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		/* a new record file: its name must survive a crash */
		static const char zero[MBOX_AREC];
		if (mbox_pwrite_full(fd, zero, sizeof(zero), 0) < 0 || fsync(fd) < 0 ||
		    mbox_fsync_dir_of(p) < 0) {
			int e = errno;
			close(fd);
			unlink(p);
			errno = e;
			return -1;
		}
	}
	*fd_r = fd;
	return 0;
}

int mbox_arec_set(int fd, const struct mbox *mb, const struct mbox_arec *a)
{
	const struct mbox_lockstate *ls = mbox_ls_c(mb);
	unsigned char b[MBOX_AREC], hh[16];
	char hx[33];
	int r;

	memset(b, 0, sizeof(b));
	r = snprintf((char *)b, sizeof(b), APPEND_MAGIC "%llu %llu %llu %llu %zu\n",
		     (unsigned long long)ls->dev, (unsigned long long)ls->ino,
		     (unsigned long long)a->n, (unsigned long long)a->m, a->plen);
	if (r < 0 || (size_t)r + a->plen + 34 > sizeof(b) || a->plen > MBOX_AREC_PREFIX) {
		errno = EOVERFLOW;
		return -1;
	}
	memcpy(b + r, a->prefix, a->plen);
	arec_hash(b, sizeof(b) - 33, hh);
	hex(hh, 16, hx);
	memcpy(b + sizeof(b) - 33, hx, 32);
	b[sizeof(b) - 1] = '\n';
	if (mbox_pwrite_full(fd, b, sizeof(b), 0) < 0)
		return -1;
	return fdatasync(fd);
}

int mbox_arec_clear(int fd, int sync)
{
	static const char zero[MBOX_AREC];

	if (mbox_pwrite_full(fd, zero, sizeof(zero), 0) < 0)
		return -1;
	return sync ? fdatasync(fd) : 0;
}

/* 1 = a record of this mailbox, 0 = none (cleared or another file's), -1 error */
int mbox_arec_get(int fd, const struct mbox *mb, struct mbox_arec *a)
{
	const struct mbox_lockstate *ls = mbox_ls_c(mb);
	unsigned char b[MBOX_AREC + 1], hh[16], want[16];
	unsigned long long dev, ino, n, m;
	size_t plen;
	int used;
	ssize_t r;

	memset(a, 0, sizeof(*a));
	r = pread(fd, b, MBOX_AREC, 0);
	if (r < 0)
		return -1;
	if (r != MBOX_AREC || memcmp(b, APPEND_MAGIC, sizeof(APPEND_MAGIC) - 1) != 0)
		return 0;
	b[MBOX_AREC] = 0;
	arec_hash(b, MBOX_AREC - 33, hh);
	if (unhex((char *)b + MBOX_AREC - 33, want, 16) < 0 || memcmp(hh, want, 16) != 0)
		return 0;   /* torn while being set: the append had not started */
	if (sscanf((char *)b + sizeof(APPEND_MAGIC) - 1, "%llu %llu %llu %llu %zu\n%n", &dev, &ino, &n,
		   &m, &plen, &used) != 5 || plen > MBOX_AREC_PREFIX ||
	    dev != (unsigned long long)ls->dev || ino != (unsigned long long)ls->ino)
		return 0;
	used += (int)sizeof(APPEND_MAGIC) - 1;
	if ((size_t)used + plen + 33 > MBOX_AREC)
		return 0;
	a->n = n;
	a->m = m;
	a->plen = plen;
	memcpy(a->prefix, b + used, plen);
	return 1;
}
