/* Recovery after a crash (mbox-interop.md §7.5, §7.8), run by mbox_lock
 * only, under the write lock, before anyone reads or writes.
 *
 * Append record (journal.c) still set: the append did not finish.  If the
 * bytes from the recorded old size N on are still the ones it started to
 * write and the file is shorter than the recorded final size M (or M is
 * not known), the partial message is cut back to N.  A message that
 * reached M is whole and kept; bytes at N that are not ours are never
 * touched.
 *
 * Rewrite journal committed: each 4 KiB block of [D, G) is checked
 * against T (read from the journal), the old block hashes, and (past E)
 * the zeros of the growth.  If every block is one of them, the state is
 * our own unfinished rewrite at some instant (before the growth, mid
 * copy, before the truncate, before the journal's removal), and the copy
 * is simply done again: the mailbox becomes exactly the new one.  Mail
 * appended after a stale-lock break (bytes past G, or past E while the
 * old bytes are intact) is first added to the journal's T and the journal
 * recommitted, so that the copy never moves bytes that exist only in the
 * mailbox.  Any other block means another agent rewrote the file: it is
 * not touched, and every message of T it no longer shows is appended
 * (salvage: duplicates possible, loss never).  A journal that does not
 * verify was never committed: the mailbox was not touched; dropped. */
#include "private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the append record ----------------------------------------------------- */

/* Is there a From_ line start in fd's (from, to)?  (A message of ours
 * never has one after its first line: body lines "From " are quoted.) */
static int from_line_after(int fd, uint64_t from, uint64_t to, int *found)
{
	char *buf = malloc(MBOX_BLOCK);
	uint64_t off = from;
	int ret = -1;

	*found = 0;
	if (!buf)
		return -1;
	while (off + 1 < to) {
		size_t k = to - off < MBOX_BLOCK ? (size_t)(to - off) : MBOX_BLOCK;
		if (mbox_pread_full(fd, buf, k, off) < 0)
			goto out;
		for (size_t i = 0; i + 1 < k; i++) {
			if (buf[i] != '\n' || buf[i + 1] != 'F')
				continue;
			int r = mbox_scan_from_at(fd, off + i + 1, to);
			if (r < 0)
				goto out;
			if (r == 1) {
				*found = 1;
				ret = 0;
				goto out;
			}
		}
		off += k - 1;   /* overlap one byte: "\nF" across blocks */
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

static int recover_append(struct mbox *mb)
{
	struct mbox_arec a;
	unsigned char have[MBOX_AREC_PREFIX];
	struct stat st;
	uint64_t s, first, upto;
	int fd, r, foreign;

	if (mbox_arec_open(mb, 0, &fd) < 0)
		return (errno == ENOENT || errno == EACCES || errno == ENOTDIR || errno == EROFS) ? 0 : -1;
	r = mbox_arec_get(fd, mb, &a);
	if (r <= 0)
		goto out;
	r = -1;
	if (fstat(mb->fd, &st) < 0)
		goto out;
	s = (uint64_t)st.st_size;
	if (s > a.n) {
		/* ours only if it starts with what we were writing */
		size_t k = s - a.n < a.plen ? (size_t)(s - a.n) : a.plen;
		if (mbox_pread_full(mb->fd, have, k, a.n) < 0)
			goto out;
		if (memcmp(have, a.prefix, k) == 0 && (a.m == 0 || s < a.m)) {
			/* no other agent's message after our partial one */
			first = k ? a.n + k - 1 : a.n;
			upto = a.m && a.m < s ? a.m : s;
			if (from_line_after(mb->fd, first, upto, &foreign) < 0)
				goto out;
			if (!foreign && (ftruncate(mb->fd, (off_t)a.n) < 0 || fsync(mb->fd) < 0))
				goto out;
		}
	}
	r = mbox_arec_clear(fd, 1);
out:
	if (fd >= 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return r < 0 ? -1 : 0;
}

/* ---- the rewrite journal: is the mailbox in one of our states? ------------ */

struct jstate {
	int fd, jfd;
	struct mbox_jhdr h;
	uint64_t s;              /* mailbox size now */
	unsigned char *oh;       /* the old block hashes (8 bytes each) */
	char *a, *b;             /* block buffers */
};

static uint64_t old_hash(const struct jstate *j, uint64_t i)
{
	uint64_t v = 0;

	for (int k = 0; k < 8; k++)
		v |= (uint64_t)j->oh[i * 8 + (uint64_t)k] << (8 * k);
	return v;
}

static int all_zero(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Block [lo, hi) of [D, G), i its index in [D, E) when lo < E.
 * 1 = it holds a state of ours, 0 = not, -1 error.  *old_r: the old bytes
 * (or, past E, growth zeros or nothing). */
static int block_ok(struct jstate *j, uint64_t i, uint64_t lo, uint64_t hi, int *old_r)
{
	const struct mbox_jhdr *h = &j->h;
	uint64_t x = h->d + h->tlen, have = j->s > lo ? (j->s < hi ? j->s : hi) : lo;
	size_t n = (size_t)(have - lo);

	*old_r = 0;
	if (n && mbox_pread_full(j->fd, j->a, n, lo) < 0)
		return -1;
	/* old: the old bytes below E, zeros or nothing above */
	if (lo < h->e) {
		uint64_t oe = hi < h->e ? hi : h->e;
		*old_r = have >= oe && mbox_h64(h->key, j->a, (size_t)(oe - lo)) == old_hash(j, i) &&
			 all_zero(j->a + (oe - lo), (size_t)(have - oe));
	} else {
		*old_r = all_zero(j->a, n);
	}
	if (*old_r)
		return 1;
	/* new: T below X; above X the old bytes not yet truncated, or nothing */
	if (lo < x) {
		uint64_t te = hi < x ? hi : x;
		if (have < te || mbox_pread_full(j->jfd, j->b, (size_t)(te - lo),
						 MBOX_JOURNAL_HDR + (lo - h->d)) < 0 ||
		    memcmp(j->a, j->b, (size_t)(te - lo)) != 0)
			return 0;
		if (have == te)
			return 1;   /* truncated at X (or G = X) */
		/* the rest of the block: old bytes up to its end or E */
		uint64_t oe = hi < h->e ? hi : h->e;
		return have >= oe && oe > te &&
		       mbox_h64(h->key, j->a + (te - lo), (size_t)(oe - te)) == h->tailhash;
	}
	return have == lo;   /* past X: truncated away */
}

/* 1 = every block of [D, G) is in a state of ours; *old_intact: every
 * block below E still holds its old bytes. */
static int our_state(struct jstate *j, int *old_intact)
{
	const struct mbox_jhdr *h = &j->h;
	uint64_t n = mbox_journal_nblocks(h->d, h->g), i, lo, hi;
	int old, r, all = 1;

	*old_intact = 1;
	for (i = 0; i < n; i++) {
		mbox_journal_block(h->d, h->g, i, &lo, &hi);
		r = block_ok(j, i, lo, hi, &old);
		if (r < 0)
			return -1;
		if (lo < h->e && !old)
			*old_intact = 0;
		if (!r)
			all = 0;
	}
	return all;
}

/* Mail appended by another agent at from (G, or E): added to T in a new
 * journal that takes the current bytes as the "old" ones, renamed over
 * the old journal (a crash before the rename leaves the old one valid),
 * so that the copy moves nothing that exists only in the mailbox. */
static int take_extra(struct mbox *mb, struct jstate *j, uint64_t from, const char *path)
{
	struct mbox_jhdr h = j->h;
	struct mbox_h128 c;
	char np[PATH_MAX + 8], *buf = malloc(MBOX_JBUF);
	uint64_t off, n = j->s - from;
	int nfd = -1, ret = -1, r;

	r = snprintf(np, sizeof(np), "%s.new", path);
	if (!buf || r < 0 || (size_t)r >= sizeof(np) ||
	    (nfd = open(np, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		goto out;
	mbox_h128_init(&c, h.key);
	h.tlen += n;
	for (off = 0; off < h.tlen;) {
		size_t k = h.tlen - off < MBOX_JBUF ? (size_t)(h.tlen - off) : MBOX_JBUF;
		uint64_t told = j->h.tlen;
		/* old T, then the extra bytes of the mailbox */
		if (off < told && k > told - off)
			k = (size_t)(told - off);
		if ((off < told ? mbox_pread_full(j->jfd, buf, k, MBOX_JOURNAL_HDR + off)
				: mbox_pread_full(mb->fd, buf, k, from + (off - told))) < 0 ||
		    mbox_pwrite_full(nfd, buf, k, MBOX_JOURNAL_HDR + off) < 0)
			goto out;
		mbox_h128_add(&c, buf, k);
		off += k;
	}
	h.e = j->s;
	h.g = h.d + h.tlen > h.e ? h.d + h.tlen : h.e;
	h.nblk = mbox_journal_nblocks(h.d, h.e);
	if (mbox_journal_put_blocks(mb->fd, nfd, h.d, h.e, h.key, &c, MBOX_JOURNAL_HDR + h.tlen) < 0 ||
	    mbox_journal_tailhash(mb->fd, h.d + h.tlen, h.e, h.key, &h.tailhash) < 0)
		goto out;
	mbox_h128_end(&c, h.bh);
	if (mbox_journal_write_header(nfd, mb, &h) < 0 || fsync(nfd) < 0 || rename(np, path) < 0)
		goto out;
	mbox_fsync_dir_of(path);
	close(j->jfd);
	j->jfd = nfd;
	nfd = -1;
	j->h = h;
	ret = 0;
out:
	if (nfd >= 0) {
		int e = errno;
		close(nfd);
		unlink(np);
		errno = e;
	}
	free(buf);
	return ret;
}

/* ---- salvage: another agent changed the file ------------------------------- */

struct vh {
	struct mbox_h128 c;
};

static int vh_sink(void *arg, const char *p, size_t n)
{
	mbox_h128_add(&((struct vh *)arg)->c, p, n);
	return 0;
}

static int view_hash(int fd, const struct mbox_msg *m, const uint64_t key[2], unsigned char out[16])
{
	struct vh v;

	mbox_h128_init(&v.c, key);
	if (mbox_view_stream(fd, m, MBOX_PART_ALL, vh_sink, &v) < 0)
		return -1;
	mbox_h128_end(&v.c, out);
	return 0;
}

static int cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
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

static int salvage(struct mbox *mb, struct jstate *j)
{
	struct mbox_scan have, t;
	unsigned char (*hs)[16] = NULL, h[16];
	int ret = -1;

	memset(&have, 0, sizeof(have));
	memset(&t, 0, sizeof(t));
	if (mbox_scan_fd(mb->fd, j->s, &have, 1) < 0 ||
	    mbox_scan_fd(j->jfd, MBOX_JOURNAL_HDR + j->h.tlen, &t, 1) < 0)
		goto out;
	if (have.count && !(hs = malloc(have.count * sizeof(*hs))))
		goto out;
	for (size_t i = 0; i < have.count; i++)
		if (view_hash(mb->fd, &have.msgs[i], j->h.key, hs[i]) < 0)
			goto out;
	if (have.count)
		qsort(hs, have.count, sizeof(*hs), cmp16);
	for (size_t i = 0; i < t.count; i++) {
		const struct mbox_msg *m = &t.msgs[i];
		if (m->offset < MBOX_JOURNAL_HDR || view_hash(j->jfd, m, j->h.key, h) < 0)
			continue;
		if (have.count && bsearch(h, hs, have.count, sizeof(*hs), cmp16))
			continue;
		if (append_raw(mb, j->jfd, m->offset, m->body_end - m->offset) < 0)
			goto out;
	}
	ret = fsync(mb->fd);
out:
	free(hs);
	mbox_scan_free(&have);
	mbox_scan_free(&t);
	return ret;
}

/* ---- the rewrite journal ---------------------------------------------------- */

/* Does the journal verify (T and block hashes hash to what the header
 * says, and the file has exactly that length)? */
static int journal_valid(struct jstate *j, uint64_t jsize)
{
	const struct mbox_jhdr *h = &j->h;
	unsigned char x[16];

	if (jsize != MBOX_JOURNAL_HDR + h->tlen + 8 * h->nblk)
		return 0;
	if (mbox_hash_range(j->jfd, MBOX_JOURNAL_HDR, h->tlen + 8 * h->nblk, h->key, x) < 0)
		return -1;
	return memcmp(x, h->bh, 16) == 0 ? 1 : 0;
}

static int load_old_hashes(struct jstate *j)
{
	size_t n = (size_t)(8 * j->h.nblk);

	if (!(j->oh = malloc(n ? n : 1)))
		return -1;
	return n ? mbox_pread_full(j->jfd, j->oh, n, MBOX_JOURNAL_HDR + j->h.tlen) : 0;
}

static int recover_journal(struct mbox *mb, mbox_touch_fn touch)
{
	const struct mbox_lockstate *ls = mbox_ls_c(mb);
	char path[PATH_MAX];
	struct jstate j;
	struct stat st, jst;
	int r, ret = -1, intact, untouched;

	memset(&j, 0, sizeof(j));
	j.fd = mb->fd;
	/* no journal directory we can reach means no journal of ours: a
	 * delivery must not fail because the recipient has no usable home */
	if (mbox_journal_path(mb, path, sizeof(path)) < 0)
		return (errno == ENOENT || errno == EACCES || errno == ENOTDIR) ? 0 : -1;
	if ((j.jfd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return (errno == ENOENT || errno == EACCES || errno == ENOTDIR) ? 0 : -1;
	if (fstat(j.jfd, &jst) < 0)
		goto out;
	/* a header that does not parse (EPROTO) or is cut short (ESTALE), or
	 * a body that does not hash: never committed, the mailbox untouched */
	if (mbox_journal_read_header(j.jfd, &j.h) < 0) {
		if (errno != EPROTO && errno != ESTALE)
			goto out;
		ret = 0;
		goto drop;
	}
	if ((r = journal_valid(&j, (uint64_t)jst.st_size)) < 0)
		goto out;
	if (r == 0) {
		ret = 0;
		goto drop;
	}
	if (j.h.dev != (uint64_t)ls->dev || j.h.ino != (uint64_t)ls->ino) {
		ret = 0;   /* not ours after all (name clash); leave it */
		goto out;
	}
	if (load_old_hashes(&j) < 0 || !(j.a = malloc(MBOX_JBLOCK)) || !(j.b = malloc(MBOX_JBLOCK)))
		goto out;
	if (fstat(mb->fd, &st) < 0)
		goto out;
	j.s = (uint64_t)st.st_size;
	if ((r = our_state(&j, &intact)) < 0)
		goto out;
	if (r == 1 && j.s > j.h.g) {
		/* appended after a stale-lock break, past the grown file */
		if (take_extra(mb, &j, j.h.g, path) < 0)
			goto out;
	} else if (r == 0 && intact && j.s > j.h.e) {
		/* the old bytes are whole, mail was appended before the growth */
		if (take_extra(mb, &j, j.h.e, path) < 0)
			goto out;
		r = 1;
	}
	if (r == 1) {
		if (mbox_journal_copy_t(mb->fd, j.jfd, &j.h, touch, mb, &untouched) < 0)
			goto out;   /* ENOSPC while growing: the journal stays */
	} else if (salvage(mb, &j) < 0) {
		goto out;
	}
	ret = 0;
drop:
	mbox_journal_done(j.jfd, path, &j.jfd);
out:
	if (j.jfd >= 0) {
		int e = errno;
		close(j.jfd);
		errno = e;
	}
	free(j.oh);
	free(j.a);
	free(j.b);
	return ret;
}

int mbox_recover(struct mbox *mb, mbox_touch_fn touch)
{
	if (recover_journal(mb, touch) < 0)
		return -1;
	return recover_append(mb);
}

int mbox_recover_pending(struct mbox *mb)
{
	char path[PATH_MAX];
	char magic[8];
	int fd;
	ssize_t r;

	if (mbox_journal_path(mb, path, sizeof(path)) < 0)
		return 0;
	if (access(path, F_OK) == 0)
		return 1;
	if (mbox_append_record_path(mb, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	r = pread(fd, magic, sizeof(magic), 0);
	close(fd);
	return r == (ssize_t)sizeof(magic) && magic[0] != 0;
}
