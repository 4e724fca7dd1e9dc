/* The disposable index of a mailbox: a cache of mbox_scan's table, never
 * the truth (the mbox is).  One file per mailbox, DIR/<hash>-<name>.index:
 *
 *   header (256 bytes): magic, byte order, the identity of the mailbox it
 *     describes (dev, inode, size, mtime, ctime: ns), "scanned" (the bytes
 *     the entries cover; below size when mbox_append extended the header
 *     since), uidvalidity, uidnext, pseudo, data_start, count, keywords,
 *     highestmodseq, hashes of the mailbox's first KiB and of the first KiB
 *     of the last message, a hash of the body, the counters (below), a
 *     hash of the header itself.
 *   count entries of 72 bytes (struct ent), in file order.
 *   the keyword names, NUL-terminated.
 *
 * Written whole to NAME.tmp (under its flock) then renamed over NAME: a reader sees
 * the old index or the new one.  No fsync: a torn or empty file after a
 * power cut fails its hashes and is rebuilt.  After mbox_append, mbox_unlock
 * (still under the write lock) rewrites only the header in place (one
 * 256-byte pwrite inside the first page) when the header described the file
 * as it was before the first append: the next open scans from the last
 * known message on.
 *
 * Trusted only when everything matches: a foreign, corrupt, truncated,
 * swapped, symlinked, unreadable index (or one not owned by the euid) is
 * ignored, the mailbox scanned in full and the index replaced.  An index
 * whose identity is not the file's is still used, when sound, as the source
 * of the mod-sequences of the messages whose flags did not change (by UID,
 * same UIDVALIDITY): modseqs survive mutt or Dovecot rewriting the file.
 *
 * Counters: what STATUS and SELECT report (unseen, not-\Recent-yet, deleted,
 * without UID, the first unseen, the size as served), computed from the
 * entries whenever the index is written, with their own keyed hash over
 * them and the header's count and coverage; mbox_index_counts serves them
 * when the header vouches for the file exactly as mbox_index_load would,
 * without reading the entries.  An index without them (an older one) is
 * rewritten at its next full load.
 *
 * Mod-sequences (RFC 7162): each message has the modseq of its last flag
 * change (or arrival); highestmodseq is above all of them and grows on
 * expunge.  DIR/<hash>-<name>.modseq keeps a floor: a value above every
 * modseq given out (reserved in steps of MODSEQ_STEP); when the index is
 * lost the new modseqs start above it, and above the clock (in
 * microseconds) should the floor be lost too, so that a client never sees
 * HIGHESTMODSEQ go back. */
#include "private.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IDX_MAGIC "facteur-mbox-index 1\n"
#define IDX_ENDIAN 0x01020304u
#define IDX_HDR 256
#define IDX_ENT 72
#define IDX_MAX_FILE (1ULL << 32)   /* refused above: never a real index */
#define IDX_PROBE 1024              /* bytes hashed at the start and at the last message */
#define MODSEQ_STEP 65536
#define TAIL_REWRITE_MIN 256        /* new messages before a tail is written into the index */
#define MODSEQ_MAX (1ULL << 62)

static const uint64_t idx_key[2] = { 0x66616374657572ULL, 0x696e646578ULL };
static const uint64_t cnt_key[2] = { 0x636f756e74657273ULL, 0x696e646578ULL };

struct hdr {
	char magic[24];
	uint32_t endian, hdr_size;
	uint64_t dev, ino, size, scanned;
	int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
	uint64_t count, kwbytes;
	uint32_t uidvalidity, uidnext, pseudo, nkeywords;
	uint64_t data_start, highestmodseq;
	uint64_t head_hash, last_hash, body_hash;
	uint32_t racy, pad;
	int64_t tz[2];                 /* local time of two reference dates */
	struct cnt {
		uint32_t unseen, recent, deleted, missing, first_unseen, pad;
		uint64_t size, last_off, hash;   /* hash: cnt_hash() */
	} c;
	unsigned char reserved[IDX_HDR - 24 - 8 - 8 * 4 - 8 * 4 - 16 - 16 - 16 - 24 - 8 - 16 - 48 - 8];
	uint64_t hdr_hash;             /* of the 248 bytes before it */
};
_Static_assert(sizeof(struct hdr) == IDX_HDR, "index header size");

struct ent {
	uint64_t offset, hdr_size, body_size, keywords, modseq;
	int64_t internaldate;
	uint32_t from_len;             /* hdr_off - offset */
	uint32_t head_len;             /* body_off - hdr_off */
	uint32_t sep_len;              /* next - body_end */
	uint32_t body_lines, uid, flags;
};
_Static_assert(sizeof(struct ent) == IDX_ENT, "index entry size");

/* ---- where ------------------------------------------------------------------ */

static char dir_set[PATH_MAX];
static int dir_given;
static int last_use;

void mbox_set_index_dir(const char *dir)
{
	dir_given = 1;
	if (!dir || strlen(dir) >= sizeof dir_set)
		dir_set[0] = 0;
	else
		memcpy(dir_set, dir, strlen(dir) + 1);
}

int mbox_index_last_use(void)
{
	return last_use;
}

static const char *index_dir(void)
{
	const char *env;

	if (dir_given)
		return dir_set;
	env = getenv("MBOX_INDEX_DIR");
	return env ? env : "";
}

/* DIR/<16 hex of the path's hash>-<the path's last component>.EXT */
static int index_path(const struct mbox *mb, const char *ext, char *buf, size_t size)
{
	const char *dir = index_dir(), *base = strrchr(mb->path, '/');
	char name[41];
	size_t i, n = 0;
	int r;

	if (!*dir) {
		errno = ENOENT;
		return -1;
	}
	base = base ? base + 1 : mb->path;
	for (i = 0; base[i] && n < sizeof name - 1; i++)
		name[n++] = (base[i] >= 'a' && base[i] <= 'z') || (base[i] >= 'A' && base[i] <= 'Z') ||
				    (base[i] >= '0' && base[i] <= '9') || base[i] == '-' || base[i] == '_'
			    ? base[i] : '_';
	name[n] = 0;
	r = snprintf(buf, size, "%s/%016llx-%s.%s", dir,
		     (unsigned long long)mbox_h64(idx_key, mb->path, strlen(mb->path)), name, ext);
	if (r < 0 || (size_t)r >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* ---- reading ------------------------------------------------------------------ */

struct idx {
	struct hdr h;
	unsigned char *buf;            /* the whole file */
	size_t len;
	const struct ent *e;           /* aligned copy inside buf */
	const char *kw[MBOX_KW_MAX];
};

static uint64_t hdr_hash(const struct hdr *h)
{
	return mbox_h64(idx_key, h, offsetof(struct hdr, hdr_hash));
}

/* The counters' own hash: over them and the header fields they depend on,
 * so that counters copied into another header, or left from an older
 * writer, never pass. */
static uint64_t cnt_hash(const struct hdr *h)
{
	struct {
		struct cnt c;
		uint64_t count, scanned, data_start, highestmodseq;
		uint32_t uidvalidity, uidnext;
	} b;

	memset(&b, 0, sizeof b);
	b.c = h->c;
	b.c.hash = 0;
	b.count = h->count;
	b.scanned = h->scanned;
	b.data_start = h->data_start;
	b.highestmodseq = h->highestmodseq;
	b.uidvalidity = h->uidvalidity;
	b.uidnext = h->uidnext;
	return mbox_h64(cnt_key, &b, sizeof b) | 1;   /* never 0: 0 is "none" */
}

/* The counters make sense for this header: 0 or -1. */
static int cnt_ok(const struct hdr *h)
{
	const struct cnt *c = &h->c;

	if (c->hash != cnt_hash(h) || c->pad || c->unseen > h->count || c->recent > h->count ||
	    c->deleted > h->count || c->missing > h->count || c->first_unseen > h->count ||
	    (c->unseen == 0) != (c->first_unseen == 0) ||
	    (c->unseen && c->first_unseen > h->count - c->unseen + 1) ||
	    c->size > 2 * h->scanned + 2 * h->count)
		return -1;
	if (h->count == 0)
		return c->size || c->last_off ? -1 : 0;
	return c->last_off >= h->data_start && c->last_off < h->scanned ? 0 : -1;
}

/* message i (0-based) of a table into the counters */
static inline void cnt_add(struct cnt *c, const struct mbox_msg *m, size_t i)
{
	if (!(m->flags & MBOX_F_SEEN) && !c->unseen++)
		c->first_unseen = (uint32_t)(i + 1);
	c->recent += !(m->flags & MBOX_F_OLD);
	c->deleted += !!(m->flags & MBOX_F_DELETED);
	c->missing += m->uid == 0;
	c->size += m->hdr_size + m->body_size;
	c->last_off = m->offset;
}

/* The counters of sc's table into h (count, scanned... set before). */
static void cnt_fill(struct hdr *h, const struct mbox_scan *sc)
{
	size_t i;

	memset(&h->c, 0, sizeof h->c);
	for (i = 0; i < sc->count; i++)
		cnt_add(&h->c, &sc->msgs[i], i);
	h->c.hash = cnt_hash(h);
}

static void idx_free(struct idx *x)
{
	if (x->buf)
		munmap(x->buf, x->len);
	memset(x, 0, sizeof *x);
}

/* Opens an index file we may trust to be ours: a regular file of the euid
 * with one link, not a symlink. */
static int open_own(const char *path, int flags, struct stat *st)
{
	int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_nlink != 1 ||
	    st->st_uid != geteuid()) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static int hdr_ok(const struct hdr *h)
{
	return !memcmp(h->magic, IDX_MAGIC, sizeof IDX_MAGIC) && h->endian == IDX_ENDIAN &&
	       h->hdr_size == IDX_HDR && h->hdr_hash == hdr_hash(h);
}

/* Every entry and keyword makes sense; 0 or -1. */
static int body_ok(struct idx *x)
{
	const struct hdr *h = &x->h;
	const char *k = (const char *)x->buf + IDX_HDR + h->count * IDX_ENT;
	const char *ke = k + h->kwbytes;
	uint32_t prevuid = 0;
	int zero_seen = 0;
	size_t i;

	if (h->nkeywords > MBOX_KW_MAX || h->scanned > h->size || h->data_start > h->scanned ||
	    h->highestmodseq == 0 || h->highestmodseq > MODSEQ_MAX || h->pseudo > 1 ||
	    (h->count && h->uidnext == 0))
		return -1;
	if (mbox_h64(idx_key, x->buf + IDX_HDR, x->len - IDX_HDR) != h->body_hash)
		return -1;
	for (i = 0; i < h->nkeywords; i++) {
		const char *z = memchr(k, 0, (size_t)(ke - k));
		if (!z || z == k)
			return -1;
		x->kw[i] = k;
		k = z + 1;
	}
	if (k != ke)
		return -1;
	for (i = 0; i < h->count; i++) {
		const struct ent *e = &x->e[i];
		uint64_t next = i + 1 < h->count ? x->e[i + 1].offset : h->scanned;
		uint64_t body_off = e->offset + e->from_len + e->head_len;
		if (e->offset < h->data_start || e->offset >= next || e->from_len < 5 ||
		    body_off < e->offset || e->sep_len > next - body_off ||
		    e->flags & ~0x3fu || e->modseq == 0 || e->modseq > h->highestmodseq ||
		    (h->nkeywords < 64 && e->keywords >> h->nkeywords))
			return -1;
		if (e->uid == 0) {
			zero_seen = 1;
		} else if (zero_seen || e->uid <= prevuid || e->uid >= h->uidnext) {
			return -1;
		} else {
			prevuid = e->uid;
		}
	}
	return 0;
}

/* Reads and checks an index file: 0 sound (x filled), -1 none/unsound.
 * The file is mapped (private, read-only, populated at once: one pass of
 * page-cache pages, no copy); a file changed under the mapping is never
 * a risk: the writer renames a new file, never writes this one, but for
 * mbox_index_appended's header, which is copied first. */
static int idx_map(int fd, const struct stat *st, const struct hdr *h, struct idx *x);

static int idx_read(const struct mbox *mb, struct idx *x)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, r;

	memset(x, 0, sizeof *x);
	if (index_path(mb, "index", path, sizeof path) < 0 ||
	    (fd = open_own(path, O_RDONLY, &st)) < 0)
		return -1;
	r = idx_map(fd, &st, NULL, x);
	close(fd);
	return r;
}

/* idx_read of the open file fd (of stat st); h: its header as read
 * before (mbox_peek_table), else the one in the file. */
static int idx_map(int fd, const struct stat *st, const struct hdr *h, struct idx *x)
{
	void *m;

	memset(x, 0, sizeof *x);
	if ((uint64_t)st->st_size < IDX_HDR || (uint64_t)st->st_size > IDX_MAX_FILE)
		return -1;
	m = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	x->buf = m;
	x->len = (size_t)st->st_size;
	memcpy(&x->h, h ? (const void *)h : (const void *)x->buf, IDX_HDR);
	if (!hdr_ok(&x->h) || x->h.count > (x->len - IDX_HDR) / IDX_ENT ||
	    x->h.kwbytes != x->len - IDX_HDR - x->h.count * IDX_ENT)
		goto bad;
	x->e = (const struct ent *)(const void *)(x->buf + IDX_HDR);   /* page-aligned map */
	if (body_ok(x) < 0)
		goto bad;
	return 0;
bad:
	idx_free(x);
	return -1;
}

/* h64 of fd's [off, min(off + IDX_PROBE, end)) */
static int probe(int fd, uint64_t off, uint64_t end, uint64_t *h)
{
	char b[IDX_PROBE];
	size_t n = end - off < IDX_PROBE ? (size_t)(end - off) : IDX_PROBE;

	if (off > end)
		return -1;
	if (n && mbox_pread_full(fd, b, n, off) < 0)
		return -1;
	*h = mbox_h64(idx_key, b, n);
	return 0;
}

static int same_identity(const struct hdr *h, const struct stat *st)
{
	return h->dev == (uint64_t)st->st_dev && h->ino == (uint64_t)st->st_ino &&
	       h->size == (uint64_t)st->st_size && h->mtime_sec == (int64_t)st->st_mtim.tv_sec &&
	       h->mtime_nsec == (int64_t)st->st_mtim.tv_nsec &&
	       h->ctime_sec == (int64_t)st->st_ctim.tv_sec && h->ctime_nsec == (int64_t)st->st_ctim.tv_nsec;
}

/* A file system with whole-second times: a change within the second of
 * the index would keep them.  Such an index is not trusted. */
static uint32_t racy(const struct stat *st)
{
	time_t now = time(NULL);

	return st->st_mtim.tv_nsec == 0 && st->st_ctim.tv_nsec == 0 &&
	       (now - st->st_mtim.tv_sec < 2 || now - st->st_ctim.tv_sec < 2);
}

/* From_ lines carry local time: INTERNALDATEs depend on the time zone of
 * the scan (TZ).  Two reference dates, winter and summer, as this process
 * reads them; an index made under other rules is not used. */
static void tz_sig(int64_t out[2])
{
	struct tm tm;

	for (int i = 0; i < 2; i++) {
		memset(&tm, 0, sizeof tm);
		tm.tm_year = 125;
		tm.tm_mon = i ? 6 : 0;
		tm.tm_mday = 1;
		tm.tm_hour = 12;
		tm.tm_isdst = -1;
		out[i] = (int64_t)mktime(&tm);
	}
}

/* x's table into sc (first n entries), and the counters of those into c */
static int idx_to_scan(const struct idx *x, size_t n, struct mbox_scan *sc, const struct stat *st,
		       struct cnt *c)
{
	size_t i;

	memset(sc, 0, sizeof *sc);
	sc->cap = n + 64;
	if (!(sc->msgs = mem_big_zalloc(sc->cap, sizeof *sc->msgs)))
		return -1;
	for (i = 0; i < x->h.nkeywords; i++) {
		if (!(sc->keywords[i] = strdup(x->kw[i]))) {
			mbox_scan_free(sc);
			return -1;
		}
		sc->nkeywords = i + 1;
	}
	for (i = 0; i < n; i++) {
		const struct ent *e = &x->e[i];
		struct mbox_msg *m = &sc->msgs[i];
		m->offset = e->offset;
		m->hdr_off = e->offset + e->from_len;
		m->body_off = m->hdr_off + e->head_len;
		m->next = i + 1 < x->h.count ? x->e[i + 1].offset : x->h.scanned;
		m->body_end = m->next - e->sep_len;
		m->hdr_size = e->hdr_size;
		m->body_size = e->body_size;
		m->body_lines = e->body_lines;
		m->uid = e->uid;
		m->flags = e->flags;
		m->keywords = e->keywords;
		m->internaldate = e->internaldate;
		m->modseq = e->modseq;
		if (!m->uid)
			sc->missing_uids++;
		cnt_add(c, m, i);
	}
	sc->count = n;
	sc->uidvalidity = x->h.uidvalidity;
	sc->uidnext = x->h.uidnext;
	sc->pseudo = (int)x->h.pseudo;
	sc->data_start = x->h.data_start;
	sc->highestmodseq = x->h.highestmodseq;
	mbox_scan_identity(sc, st);
	return 0;
}

/* ---- the modseq floor ---------------------------------------------------------- */

static uint64_t floor_read(const struct mbox *mb)
{
	char path[PATH_MAX], b[32];
	struct stat st;
	ssize_t n;
	uint64_t v = 0;
	int fd;

	if (index_path(mb, "modseq", path, sizeof path) < 0 || (fd = open_own(path, O_RDONLY, &st)) < 0)
		return 0;
	n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return 0;
	b[n] = 0;
	for (ssize_t i = 0; i < n && b[i] >= '0' && b[i] <= '9' && v < MODSEQ_MAX; i++)
		v = v * 10 + (uint64_t)(b[i] - '0');
	return v < MODSEQ_MAX ? v : 0;
}

/* The directory of path and its missing parents, 0700. */
static int make_dirs(const char *path)
{
	char d[PATH_MAX];
	const char *sl = strrchr(path, '/');

	if (!sl || sl == path || (size_t)(sl - path) >= sizeof d) {
		errno = ENOENT;
		return -1;
	}
	memcpy(d, path, (size_t)(sl - path));
	d[sl - path] = 0;
	for (char *q = d + 1;; q++) {
		if (*q && *q != '/')
			continue;
		char c = *q;
		*q = 0;
		if (mkdir(d, 0700) < 0 && errno != EEXIST)
			return -1;
		if (!(*q = c))
			break;
	}
	return 0;
}

/* Writes NAME.tmp then renames it over NAME.  NAME.tmp is ours while we
 * hold its flock (a killed writer's lock goes with it; a live one's makes
 * us skip this write: the index is only a cache). */
static int write_replace(const char *path, const void *p, size_t n)
{
	char tmp[PATH_MAX + 8];
	struct stat a, b;
	int fd = -1, r, tries;

	r = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (r < 0 || (size_t)r >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (tries = 0; tries < 4; tries++) {
		fd = open(tmp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
		if (fd < 0) {
			if (errno == ENOENT && tries == 0 && make_dirs(path) == 0)
				continue;
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);
			return -1;   /* another writer at work */
		}
		/* still the file named NAME.tmp (not renamed meanwhile)? */
		if (fstat(fd, &a) == 0 && lstat(tmp, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino && S_ISREG(a.st_mode) && a.st_nlink == 1 &&
		    a.st_uid == geteuid())
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		return -1;
	if (ftruncate(fd, 0) < 0 || mbox_pwrite_full(fd, p, n, 0) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

/* Makes the floor cover hms (reserving ahead). */
static void floor_cover(const struct mbox *mb, uint64_t *floor, uint64_t hms)
{
	char path[PATH_MAX], b[32];
	int n;

	if (hms < *floor)
		return;
	*floor = hms + MODSEQ_STEP;
	n = snprintf(b, sizeof b, "%llu\n", (unsigned long long)*floor);
	if (index_path(mb, "modseq", path, sizeof path) == 0)
		write_replace(path, b, (size_t)n);
}

/* A modseq above all given out for this mailbox, when nothing is known:
 * above the floor, and not below the clock in microseconds (each change
 * takes one pass over the table, far longer than a microsecond, so no
 * modseq given out runs ahead of the clock). */
static uint64_t fresh_base(const struct mbox *mb, uint64_t *floor)
{
	struct timespec ts;
	uint64_t t, f = *floor = floor_read(mb);

	clock_gettime(CLOCK_REALTIME, &ts);
	t = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;

	return f > t ? f + 1 : t;
}

/* ---- mod-sequences: carrying them from an older table -------------------------- */

struct src {
	size_t n;
	const uint32_t *uid, *flags;
	const uint64_t *kw, *modseq;
	const char *const *kwname;
	size_t nkw;
	uint64_t highest;
};

/* Gives every message of sc a modseq: the one src has for the same UID when
 * its flags and keywords are the same, else a new one (highest + 1, shared
 * by this pass); highestmodseq grows when anything changed or vanished. */
static void assign(struct mbox_scan *sc, const struct src *s, uint64_t base)
{
	uint64_t hms = s ? s->highest : 0, next;
	size_t i, j = 0, found = 0;
	int map[MBOX_KW_MAX], changed = 0;

	if (hms < base)
		hms = base;
	next = hms + 1;
	for (i = 0; s && i < s->nkw; i++) {
		size_t k;
		map[i] = -1;
		for (k = 0; k < sc->nkeywords; k++)
			if (!strcmp(s->kwname[i], sc->keywords[k]))
				map[i] = (int)k;
	}
	for (i = 0; i < sc->count; i++) {
		struct mbox_msg *m = &sc->msgs[i];
		int keep = 0;
		if (s && m->uid) {
			while (j < s->n && s->uid[j] && s->uid[j] < m->uid)
				j++;
			if (j < s->n && s->uid[j] == m->uid) {
				uint64_t k = 0, ok = s->kw[j];
				size_t b;
				found++;
				for (b = 0; ok && b < s->nkw; b++, ok >>= 1)
					if (ok & 1)
						k |= map[b] >= 0 ? 1ULL << map[b] : 0;
				keep = ((s->flags[j] ^ m->flags) & ~MBOX_F_OLD) == 0 && k == m->keywords &&
				       s->modseq[j];
			}
		}
		if (keep) {
			m->modseq = s->modseq[j];
		} else {
			m->modseq = next;
			changed = 1;
		}
	}
	if (s) {
		/* a UID of src no longer here: expunged */
		size_t had = 0;
		for (i = 0; i < s->n; i++)
			had += s->uid[i] != 0;
		if (found < had)
			changed = 1;
	}
	sc->highestmodseq = changed || !s ? next : hms;
}

static int src_alloc(struct src *s, size_t n, void **mem)
{
	char *p = mem_big_zalloc(n * (4 + 4 + 8 + 8) + 1, 1);

	memset(s, 0, sizeof *s);
	if (!p)
		return -1;
	*mem = p;
	s->n = n;
	s->kw = (uint64_t *)(void *)p;
	s->modseq = (uint64_t *)(void *)(p + n * 8);
	s->uid = (uint32_t *)(void *)(p + n * 16);
	s->flags = (uint32_t *)(void *)(p + n * 20);
	return 0;
}

static int src_from_scan(struct src *s, const struct mbox_scan *o, void **mem)
{
	size_t i;

	if (src_alloc(s, o->count, mem) < 0)
		return -1;
	for (i = 0; i < o->count; i++) {
		((uint64_t *)s->kw)[i] = o->msgs[i].keywords;
		((uint64_t *)s->modseq)[i] = o->msgs[i].modseq;
		((uint32_t *)s->uid)[i] = o->msgs[i].uid;
		((uint32_t *)s->flags)[i] = o->msgs[i].flags;
	}
	s->kwname = (const char *const *)o->keywords;
	s->nkw = o->nkeywords;
	s->highest = o->highestmodseq;
	return 0;
}

static int src_from_idx(struct src *s, const struct idx *x, void **mem)
{
	size_t i;

	if (src_alloc(s, x->h.count, mem) < 0)
		return -1;
	for (i = 0; i < x->h.count; i++) {
		((uint64_t *)s->kw)[i] = x->e[i].keywords;
		((uint64_t *)s->modseq)[i] = x->e[i].modseq;
		((uint32_t *)s->uid)[i] = x->e[i].uid;
		((uint32_t *)s->flags)[i] = x->e[i].flags;
	}
	s->kwname = x->kw;
	s->nkw = x->h.nkeywords;
	s->highest = x->h.highestmodseq;
	return 0;
}

/* ---- writing --------------------------------------------------------------------- */

/* Builds and writes the index of sc (the file as scanned, under the
 * caller's lock). */
static int idx_write(struct mbox *mb, const struct mbox_scan *sc)
{
	char path[PATH_MAX];
	struct hdr h;
	struct stat st;
	size_t i, kwb = 0, len;
	unsigned char *buf;
	int r;

	if (index_path(mb, "index", path, sizeof path) < 0)
		return -1;
	for (i = 0; i < sc->nkeywords; i++)
		kwb += strlen(sc->keywords[i]) + 1;
	len = IDX_HDR + sc->count * IDX_ENT + kwb;
	if (sc->count > (IDX_MAX_FILE - IDX_HDR) / IDX_ENT || !(buf = mem_big_zalloc(len, 1)))
		return -1;
	memset(&h, 0, sizeof h);
	memcpy(h.magic, IDX_MAGIC, sizeof IDX_MAGIC);
	h.endian = IDX_ENDIAN;
	h.hdr_size = IDX_HDR;
	h.dev = (uint64_t)sc->dev;
	h.ino = (uint64_t)sc->ino;
	h.size = h.scanned = sc->size;
	h.mtime_sec = sc->mtime_sec;
	h.mtime_nsec = sc->mtime_nsec;
	h.ctime_sec = sc->ctime_sec;
	h.ctime_nsec = sc->ctime_nsec;
	st.st_mtim.tv_sec = (time_t)sc->mtime_sec;
	st.st_mtim.tv_nsec = sc->mtime_nsec;
	st.st_ctim.tv_sec = (time_t)sc->ctime_sec;
	st.st_ctim.tv_nsec = sc->ctime_nsec;
	h.racy = racy(&st);
	h.count = sc->count;
	h.kwbytes = kwb;
	h.uidvalidity = sc->uidvalidity;
	h.uidnext = sc->uidnext;
	h.pseudo = (uint32_t)sc->pseudo;
	h.nkeywords = (uint32_t)sc->nkeywords;
	h.data_start = sc->data_start;
	h.highestmodseq = sc->highestmodseq;
	tz_sig(h.tz);
	cnt_fill(&h, sc);
	for (i = 0; i < sc->count; i++) {
		const struct mbox_msg *m = &sc->msgs[i];
		struct ent e;
		uint64_t next = i + 1 < sc->count ? sc->msgs[i + 1].offset : sc->size;
		if (m->next != next || m->hdr_off - m->offset > UINT32_MAX ||
		    m->body_off - m->hdr_off > UINT32_MAX || m->next - m->body_end > UINT32_MAX ||
		    m->modseq == 0 || m->modseq > sc->highestmodseq)
			goto refuse;
		memset(&e, 0, sizeof e);
		e.offset = m->offset;
		e.hdr_size = m->hdr_size;
		e.body_size = m->body_size;
		e.keywords = m->keywords;
		e.modseq = m->modseq;
		e.internaldate = m->internaldate;
		e.from_len = (uint32_t)(m->hdr_off - m->offset);
		e.head_len = (uint32_t)(m->body_off - m->hdr_off);
		e.sep_len = (uint32_t)(m->next - m->body_end);
		e.body_lines = m->body_lines;
		e.uid = m->uid;
		e.flags = m->flags;
		memcpy(buf + IDX_HDR + i * IDX_ENT, &e, IDX_ENT);
	}
	{
		unsigned char *k = buf + IDX_HDR + sc->count * IDX_ENT;
		for (i = 0; i < sc->nkeywords; i++) {
			size_t n = strlen(sc->keywords[i]) + 1;
			memcpy(k, sc->keywords[i], n);
			k += n;
		}
	}
	if (probe(mb->fd, 0, sc->size, &h.head_hash) < 0 ||
	    probe(mb->fd, sc->count ? sc->msgs[sc->count - 1].offset : 0, sc->size, &h.last_hash) < 0)
		goto refuse;
	h.body_hash = mbox_h64(idx_key, buf + IDX_HDR, len - IDX_HDR);
	h.hdr_hash = hdr_hash(&h);
	memcpy(buf, &h, IDX_HDR);
	r = write_replace(path, buf, len);
	free(buf);
	return r;
refuse:
	free(buf);
	errno = EINVAL;
	return -1;
}

/* ---- what scan.c, rewrite.c and append.c call --------------------------------------- */

/* The extension waits for mbox_unlock: the time between an append's fsync
 * and the caller's record of it (smtpd's delivery result) is the window in
 * which a crash delivers a message twice, and it must stay as short as it
 * was.  One mailbox at a time: the identity before the first append made
 * under this write lock. */
static struct {
	int set;
	char path[PATH_MAX];
	struct stat before;
} pend;

/* Does h describe mb's file as it was before the appends made under this
 * write lock (only appended to since)?  Then h is made to describe st,
 * the file now, as mbox_index_unlocking will write it. */
static int pend_extend(const struct mbox *mb, struct hdr *h, const struct stat *st)
{
	if (!pend.set || strcmp(pend.path, mb->path) != 0 || mb->lock != MBOX_LOCK_WRITE ||
	    !same_identity(h, &pend.before) || h->racy || st->st_ino != pend.before.st_ino ||
	    st->st_dev != pend.before.st_dev || (uint64_t)st->st_size <= h->size)
		return 0;
	h->size = (uint64_t)st->st_size;
	h->mtime_sec = (int64_t)st->st_mtim.tv_sec;
	h->mtime_nsec = (int64_t)st->st_mtim.tv_nsec;
	h->ctime_sec = (int64_t)st->st_ctim.tv_sec;
	h->ctime_nsec = (int64_t)st->st_ctim.tv_nsec;
	h->racy = racy(st);
	return 1;
}

void mbox_index_forget_appends(const struct mbox *mb)
{
	if (pend.set && !strcmp(pend.path, mb->path))
		pend.set = 0;
}

int mbox_index_enabled(void)
{
	return *index_dir() != 0;
}

/* Does header h vouch for mb's file of identity st (its last message at
 * last_off)?  The checks every use of an index makes. */
static int vouches(struct mbox *mb, const struct hdr *h, const struct stat *st, uint64_t last_off)
{
	uint64_t hh, lh;
	int64_t tz[2];

	tz_sig(tz);
	if (!same_identity(h, st) || h->racy || h->count == 0 || h->tz[0] != tz[0] ||
	    h->tz[1] != tz[1] || (h->scanned < h->size && h->count < 2))
		return 0;
	return probe(mb->fd, 0, h->scanned, &hh) == 0 && hh == h->head_hash &&
	       probe(mb->fd, last_off, h->scanned, &lh) == 0 && lh == h->last_hash &&
	       mbox_scan_from_at(mb->fd, last_off, h->scanned) == 1;
}

/* The index header of mb's file (identity *st), its counters served:
 * the index file stays open in *fd_r (its stat in *ist).  1 or 0. */
static int counts_hdr(struct mbox *mb, struct hdr *h, struct stat *st, struct stat *ist, int *fd_r,
		      int tail_ok)
{
	char path[PATH_MAX];
	int fd;

	last_use = 0;
	if (!mbox_index_enabled())
		return 0;
	last_use = 3;
	if (mb->lock == MBOX_LOCK_NONE || fstat(mb->fd, st) < 0 ||
	    index_path(mb, "index", path, sizeof path) < 0 ||
	    (fd = open_own(path, O_RDONLY, ist)) < 0)
		return 0;
	if (mbox_pread_full(fd, h, IDX_HDR, 0) < 0 || !hdr_ok(h) ||
	    h->count > (IDX_MAX_FILE - IDX_HDR) / IDX_ENT ||
	    (uint64_t)ist->st_size != IDX_HDR + h->count * IDX_ENT + h->kwbytes ||
	    h->nkeywords > MBOX_KW_MAX || h->kwbytes > MBOX_KW_MAX * 4096 ||
	    (h->scanned != h->size && !tail_ok) || cnt_ok(h) < 0 ||
	    !vouches(mb, h, st, h->c.last_off) ||
	    h->c.missing || !h->uidvalidity) {
		close(fd);
		return 0;
	}
	*fd_r = fd;
	last_use = 4;
	return 1;
}

/* header h's counts, with the counters c (h's own, or adjusted) */
static void counts_out(const struct hdr *h, const struct cnt *c, struct mbox_counts *out)
{
	memset(out, 0, sizeof *out);
	out->count = (size_t)h->count;
	out->unseen = c->unseen;
	out->first_unseen = c->first_unseen;
	out->recent = c->recent;
	out->deleted = c->deleted;
	out->size = c->size;
	out->uidvalidity = h->uidvalidity;
	out->uidnext = h->uidnext;
	out->highestmodseq = h->highestmodseq;
	out->nkeywords = h->nkeywords;
}

/* e's part of the counters taken out (the last message of the index, about
 * to be counted again from a scan) */
static void cnt_sub(struct cnt *c, const struct ent *e, uint32_t count)
{
	if (!(e->flags & MBOX_F_SEEN)) {
		c->unseen--;
		if (c->first_unseen == count)
			c->first_unseen = 0;
	}
	c->recent -= !(e->flags & MBOX_F_OLD);
	c->deleted -= !!(e->flags & MBOX_F_DELETED);
	c->size -= e->hdr_size + e->body_size;
}

/* The counts of a file appended to since its index was written (the
 * header extended by mbox_index_unlocking): the counters less the last
 * known message, plus a scan from that message on (its end may have grown
 * a line end), as mbox_index_load would build the table, without building
 * it.  The new messages have no UID yet: UIDNEXT is the one they will have
 * (the next ones in file order, given at the first open that shows them:
 * mbox_rewrite under the write lock), and nothing is written here.  1, or
 * 0 when anything differs from what the index says. */
static int counts_tail(struct mbox *mb, const struct hdr *h, int fd, const struct stat *st,
		       struct mbox_counts *out)
{
	struct ent e;
	struct mbox_scan t;
	struct cnt c = h->c;
	size_t i;
	int ok = 0;

	if (h->count < 2 || h->count > UINT32_MAX ||
	    mbox_pread_full(fd, &e, IDX_ENT, IDX_HDR + (h->count - 1) * IDX_ENT) < 0 ||
	    e.offset != h->c.last_off || !e.uid)
		return 0;
	memset(&t, 0, sizeof t);
	t.uidnext = h->uidnext;       /* X-UIDs judged as a full load would */
	t.uidvalidity = h->uidvalidity;
	t.pseudo = 1;                 /* not the file's first message */
	if (mbox_scan_tail(mb->fd, (uint64_t)st->st_size, &t, e.offset) < 0)
		goto out;
	if (t.count < 1 || t.msgs[0].offset != e.offset || t.msgs[0].uid != e.uid ||
	    t.msgs[0].hdr_off != e.offset + e.from_len || t.msgs[0].flags != e.flags ||
	    t.count - 1 > UINT32_MAX - h->count || t.missing_uids > UINT32_MAX - h->uidnext)
		goto out;
	cnt_sub(&c, &e, (uint32_t)h->count);
	for (i = 0; i < t.count; i++)
		cnt_add(&c, &t.msgs[i], h->count - 1 + i);
	counts_out(h, &c, out);
	out->count = (size_t)h->count - 1 + t.count;
	out->uidnext = h->uidnext + (uint32_t)t.missing_uids;
	/* new messages: the modseq mbox_index_load gives them */
	if (t.count > 1)
		out->highestmodseq = h->highestmodseq + 1;
	ok = 1;
out:
	mbox_scan_free(&t);
	return ok;
}

int mbox_index_counts(struct mbox *mb, struct mbox_counts *out)
{
	struct stat st, ist;
	struct hdr h;
	int fd, r = 1;

	if (!counts_hdr(mb, &h, &st, &ist, &fd, 1))
		return 0;
	if (h.scanned == h.size)
		counts_out(&h, &h.c, out);
	else if (!(r = counts_tail(mb, &h, fd, &st, out)))
		last_use = 3;
	close(fd);
	return r;
}

/* ---- SELECT without the table: the index file kept open ------------------------- */

struct mbox_peek {
	int fd;                        /* the index file as validated */
	struct hdr h;                  /* its header then */
	struct stat st, ist;           /* the mailbox's identity then; the index file's */
	char *kw;                      /* the keyword names, kwbytes */
	const char *names[MBOX_KW_MAX];
};

void mbox_peek_free(struct mbox_peek *p)
{
	if (!p)
		return;
	close(p->fd);
	free(p->kw);
	free(p);
}

int mbox_index_peek(struct mbox *mb, struct mbox_counts *out, struct mbox_peek **p_r)
{
	struct mbox_peek *p = calloc(1, sizeof *p);
	const char *k, *ke;
	size_t i;

	if (!p)
		return 0;
	if (!counts_hdr(mb, &p->h, &p->st, &p->ist, &p->fd, 0)) {
		free(p);
		return 0;
	}
	if (!(p->kw = malloc(p->h.kwbytes + 1)) ||
	    mbox_pread_full(p->fd, p->kw, p->h.kwbytes, IDX_HDR + p->h.count * IDX_ENT) < 0)
		goto no;
	k = p->kw;
	ke = k + p->h.kwbytes;
	for (i = 0; i < p->h.nkeywords; i++) {
		const char *z = memchr(k, 0, (size_t)(ke - k));
		if (!z || z == k)
			goto no;
		p->names[i] = k;
		k = z + 1;
	}
	if (k != ke)
		goto no;
	counts_out(&p->h, &p->h.c, out);
	*p_r = p;
	return 1;
no:
	last_use = 3;
	mbox_peek_free(p);
	return 0;
}

const char *mbox_peek_keyword(const struct mbox_peek *p, size_t i)
{
	return i < p->h.nkeywords ? p->names[i] : NULL;
}

int mbox_peek_table(struct mbox_peek *p, struct mbox_scan *sc)
{
	struct idx x;
	struct cnt c;
	struct stat now;

	memset(sc, 0, sizeof *sc);
	/* the same inode, never truncated or grown since (mbox_index_unlocking
	 * may have rewritten its header in place: p->h is the header then) */
	if (fstat(p->fd, &now) < 0 || now.st_size != p->ist.st_size ||
	    idx_map(p->fd, &p->ist, &p->h, &x) < 0) {
		errno = EINVAL;
		return -1;
	}
	memset(&c, 0, sizeof c);
	if (idx_to_scan(&x, x.h.count, sc, &p->st, &c) < 0) {
		idx_free(&x);
		return -1;
	}
	c.hash = x.h.c.hash;
	idx_free(&x);
	if (memcmp(&c, &p->h.c, sizeof c) != 0) {
		/* the entries are not what the counters said */
		mbox_scan_free(sc);
		memset(sc, 0, sizeof *sc);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int mbox_index_load(struct mbox *mb, struct mbox_scan *sc, const struct stat *st)
{
	struct idx x;
	struct cnt c;
	size_t n;

	last_use = 0;
	if (!mbox_index_enabled())
		return 0;
	last_use = 3;
	if (idx_read(mb, &x) < 0)
		return 0;
	/* appended to under our own write lock, not yet unlocked: the header
	 * extension mbox_unlock will write holds already */
	if (!same_identity(&x.h, st))
		pend_extend(mb, &x.h, st);
	if (!vouches(mb, &x.h, st, x.h.count ? x.e[x.h.count - 1].offset : 0))
		goto no;
	/* appended to by mbox_append since: the last known message again (its
	 * end may have grown a line end), then the new ones */
	n = x.h.scanned == x.h.size ? x.h.count : x.h.count - 1;
	memset(&c, 0, sizeof c);
	if (idx_to_scan(&x, n, sc, st, &c) < 0)
		goto no;
	if (n < x.h.count) {
		uint64_t start = x.e[n].offset;
		if (mbox_scan_tail(mb->fd, (uint64_t)st->st_size, sc, start) < 0) {
			mbox_scan_free(sc);
			goto no;
		}
		/* the rescanned last message keeps its modseq if unchanged */
		struct src s;
		void *mem;
		if (src_from_idx(&s, &x, &mem) < 0) {
			mbox_scan_free(sc);
			goto no;
		}
		assign(sc, &s, 0);
		free(mem);
		last_use = 2;
		/* the index is left as it is (its header, extended by the appends,
		 * keeps the next open on this same path) until the tail is worth
		 * rewriting the whole file for: the new messages get the same
		 * modseq at every open, as the old ones keep theirs */
		if (sc->count - n > TAIL_REWRITE_MIN && (sc->count - n) * 8 > n)
			idx_write(mb, sc);
	} else {
		last_use = 1;
		/* counters missing (an older writer) or not those of the entries:
		 * never served, and written right now */
		c.hash = x.h.c.hash;
		if (cnt_ok(&x.h) < 0 || memcmp(&c, &x.h.c, sizeof c) != 0)
			idx_write(mb, sc);
	}
	idx_free(&x);
	return 1;
no:
	idx_free(&x);
	return 0;
}

void mbox_index_rebuilt(struct mbox *mb, struct mbox_scan *sc, const struct mbox_scan *old, int disk)
{
	struct idx x;
	struct src s;
	void *mem = NULL;
	uint64_t floor = 0, base;
	int have = 0;

	if (!mbox_index_enabled()) {
		/* modseqs only live as long as this table: carry them */
		if (old && old->uidvalidity == sc->uidvalidity && src_from_scan(&s, old, &mem) == 0) {
			assign(sc, &s, 0);
			free(mem);
		} else {
			assign(sc, NULL, old ? old->highestmodseq : 0);
		}
		return;
	}
	have = disk && idx_read(mb, &x) == 0;
	if (have && x.h.uidvalidity == sc->uidvalidity && x.h.dev == (uint64_t)sc->dev &&
	    x.h.ino == (uint64_t)sc->ino && x.h.size == sc->size && x.h.scanned == sc->size &&
	    x.h.mtime_sec == sc->mtime_sec && x.h.mtime_nsec == sc->mtime_nsec &&
	    x.h.ctime_sec == sc->ctime_sec && x.h.ctime_nsec == sc->ctime_nsec) {
		/* another process of ours indexed this very file: its modseqs
		 * (and a new index all the same: this one was not used, its
		 * time zone may differ) */
		if (src_from_idx(&s, &x, &mem) == 0) {
			assign(sc, &s, 0);
			if (old && old->highestmodseq > sc->highestmodseq)
				sc->highestmodseq = old->highestmodseq;
			free(mem);
			idx_free(&x);
			floor = floor_read(mb);
			floor_cover(mb, &floor, sc->highestmodseq);
			idx_write(mb, sc);
			return;
		}
	}
	/* the floor is only for a table with nothing to carry modseqs from:
	 * a source's highest is above all it ever gave out */
	floor = floor_read(mb);
	if (old && old->uidvalidity == sc->uidvalidity && src_from_scan(&s, old, &mem) == 0) {
		if (have && x.h.uidvalidity == sc->uidvalidity && x.h.highestmodseq > s.highest)
			s.highest = x.h.highestmodseq;
		assign(sc, &s, 0);
	} else if (have && x.h.uidvalidity == sc->uidvalidity && src_from_idx(&s, &x, &mem) == 0) {
		assign(sc, &s, 0);
	} else {
		base = fresh_base(mb, &floor);
		if (have && x.h.highestmodseq >= base)
			base = x.h.highestmodseq + 1;
		assign(sc, NULL, base);
	}
	free(mem);
	if (have)
		idx_free(&x);
	floor_cover(mb, &floor, sc->highestmodseq);
	idx_write(mb, sc);
}

void mbox_index_tail_uids(struct mbox *mb, struct mbox_scan *sc, size_t k)
{
	uint64_t floor;
	size_t i;

	/* their UIDs changed (from none): a new modseq, above everything */
	sc->highestmodseq++;
	for (i = k; i < sc->count; i++)
		sc->msgs[i].modseq = sc->highestmodseq;
	if (!mbox_index_enabled())
		return;
	floor = floor_read(mb);
	floor_cover(mb, &floor, sc->highestmodseq);
	idx_write(mb, sc);
}

struct mbox_scan *mbox_index_snapshot(const struct mbox_scan *sc)
{
	struct mbox_scan *n = calloc(1, sizeof *n);
	size_t i;

	if (!n)
		return NULL;
	*n = *sc;
	n->nkeywords = 0;
	n->msgs = mem_big_zalloc(sc->count + 1, sizeof *n->msgs);
	if (!n->msgs)
		goto fail;
	if (sc->count)                  /* sc->msgs may be NULL then */
		memcpy(n->msgs, sc->msgs, sc->count * sizeof *n->msgs);
	n->cap = sc->count + 1;
	for (i = 0; i < sc->nkeywords; i++) {
		if (!(n->keywords[i] = strdup(sc->keywords[i])))
			goto fail;
		n->nkeywords = i + 1;
	}
	return n;
fail:
	mbox_index_snapshot_free(n);
	return NULL;
}

void mbox_index_snapshot_free(struct mbox_scan *snap)
{
	if (!snap)
		return;
	mbox_scan_free(snap);
	free(snap);
}

void mbox_index_appended(struct mbox *mb, const struct stat *before)
{
	if (!mbox_index_enabled())
		return;
	if (pend.set && !strcmp(pend.path, mb->path) && pend.before.st_ino == before->st_ino &&
	    pend.before.st_dev == before->st_dev)
		return;   /* a later append under the same lock: keep the first state */
	if (strlen(mb->path) >= sizeof pend.path)
		return;
	memcpy(pend.path, mb->path, strlen(mb->path) + 1);
	pend.before = *before;
	pend.set = 1;
}

void mbox_index_unlocking(struct mbox *mb)
{
	char path[PATH_MAX];
	struct stat st, now;
	struct hdr h;
	int fd;

	if (!pend.set || strcmp(pend.path, mb->path) != 0)
		return;
	if (mb->lock == MBOX_LOCK_WRITE && index_path(mb, "index", path, sizeof path) == 0 &&
	    (fd = open_own(path, O_RDWR, &st)) >= 0) {
		if ((uint64_t)st.st_size >= IDX_HDR && mbox_pread_full(fd, &h, IDX_HDR, 0) == 0 &&
		    hdr_ok(&h) && fstat(mb->fd, &now) == 0 && pend_extend(mb, &h, &now)) {
			h.hdr_hash = hdr_hash(&h);
			mbox_pwrite_full(fd, &h, IDX_HDR, 0);
		}
		close(fd);
	}
	pend.set = 0;
}
