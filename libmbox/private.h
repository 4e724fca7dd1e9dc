/* Internal helpers shared inside libmbox (not for programs). */
#ifndef FACTEUR_MBOX_PRIVATE_H
#define FACTEUR_MBOX_PRIVATE_H

#include "bounds.h"
#include "mbox.h"

/* ---- scan / meta / read / rewrite / journal ----------------------------- */

#define MBOX_BLOCK 65536      /* read unit of the scanner and readers (popa3d) */
#define MBOX_LINE_HEAD 4096   /* a line's first bytes always seen in one piece */
#define MBOX_PAD 50           /* spaces after X-Keywords (Dovecot's padding) */

/* meta.c: 1 if the header line h[0..n) (or its start, up to the colon)
 * is a field named one of names[0..count), any case, blanks before the
 * colon allowed */
int mbox_field_named(const char *h, size_t n, const char *const *names, size_t count);
/* meta.c: metadata header kinds (0 = a visible header) */
enum { MBOX_MK_NONE = 0, MBOX_MK_STATUS, MBOX_MK_XSTATUS, MBOX_MK_XKEYWORDS,
       MBOX_MK_XUID, MBOX_MK_XIMAPBASE, MBOX_MK_XIMAP, MBOX_MK_CLEN };
/* Kind of the header line p[0..n) (its name must be followed by ':'). */
int mbox_meta_kind(const char *p, size_t n);
/* Value part of a header line of that kind (after the colon). */
const char *mbox_meta_value(const char *p, size_t n, size_t *vlen_r);
uint32_t mbox_meta_status(const char *v, size_t n);
uint32_t mbox_meta_xstatus(const char *v, size_t n);
/* Unsigned decimal with optional blanks around; -1 if not one. */
int mbox_meta_u64(const char *v, size_t n, uint64_t *r);
/* X-IMAPbase / X-IMAP value: uidvalidity, uidlast, keywords (into sc). */
int mbox_meta_base(struct mbox_scan *sc, const char *v, size_t n,
		   uint32_t *uv_r, uint32_t *last_r);
uint64_t mbox_meta_keywords(const struct mbox_scan *sc, const char *v, size_t n);
/* The metadata block for one message: optional base line (X-IMAPbase, or
 * X-IMAP when pseudo), X-UID, Status, X-Status, X-Keywords + padding up to
 * total length want (0 = MBOX_PAD spaces), Content-Length when clen >= 0.
 * Returns the length, or -1 (ENOSPC) if it cannot be made exactly want. */
struct mbox_meta_out {
	int base;             /* 0 none, 1 X-IMAPbase, 2 X-IMAP */
	uint32_t uid, flags;
	uint64_t keywords;
	int64_t clen;         /* -1: none */
};
long mbox_meta_format(const struct mbox_scan *sc, const struct mbox_meta_out *o,
		      char *buf, size_t cap, size_t want);

/* scan.c */
/* Is p[0..n) a From_ line ("From " sender date)?  Date into *t_r (may be NULL). */
int mbox_scan_from_line(const char *p, size_t n, int64_t *t_r);
/* Is there a From_ line at off (its first MBOX_FROM_HEAD bytes read)?
 * 1 yes, 0 no, -1 error. */
#define MBOX_FROM_HEAD 1024
int mbox_scan_from_at(int fd, uint64_t off, uint64_t eof);
/* Is the first line of p[0..n) a From_ line?  1 or 0. */
int mbox_scan_from_head(const char *p, size_t n);
/* Scans fd's [0, eof) like mbox_scan, but with the pseudo message kept
 * visible as msgs[0] (for the rewriter). */
int mbox_scan_fd(int fd, uint64_t eof, struct mbox_scan *sc, int keep_pseudo);

/* read.c: a block reader that yields line pieces; the first piece of a
 * line holds at least min(line length, MBOX_LINE_HEAD) bytes. */
struct mbox_reader {
	int fd;
	uint64_t pos, end;    /* file offset of buf[0]; stop here */
	size_t len, i;
	int mid;              /* inside a line */
	void *win;            /* read.c's read-ahead window, or NULL: pread */
	char buf[MBOX_BLOCK];
};
void mbox_reader_init(struct mbox_reader *r, int fd, uint64_t start, uint64_t end);
/* 1 = a piece (*p, *n; *first: a line starts here; *eol: it ends here),
 * 0 = end, -1 = error. */
int mbox_reader_next(struct mbox_reader *r, const char **p, size_t *n,
		     int *first, int *eol);
static inline uint64_t mbox_reader_off(const struct mbox_reader *r)
{
	return r->pos + r->i;
}

/* lock.c: bumped at every lock taken or given back by this process: what
 * was read under one lock (read.c's window) is not trusted under another */
extern unsigned long mbox_lock_epoch;

/* read.c: the client view of a message of fd (no lock logic: for
 * callers that hold the lock, and for recovery reading a journal). */
int mbox_view_stream(int fd, const struct mbox_msg *m, int parts, mbox_sink_fn sink, void *arg);

/* fileio.c */
/* pread every byte of [off, off+n) (EINTR and short reads handled); a
 * short file gives ESTALE. */
int mbox_pread_full(int fd, void *buf, size_t n, uint64_t off);
/* pwrite all n bytes at off, EINTR retried. */
int mbox_pwrite_full(int fd, const void *buf, size_t n, uint64_t off);
/* fsync of the directory holding path. */
int mbox_fsync_dir_of(const char *path);

/* hash.c: the one hash, a fast keyed 128-bit hash (four xxHash64-style
 * lanes): detects accidental change when keyed with a random key; not a
 * cryptographic hash. */
struct mbox_h128 {
	uint64_t v[4], key[2], n;
	unsigned char b[32];
};
void mbox_h128_init(struct mbox_h128 *c, const uint64_t key[2]);
void mbox_h128_add(struct mbox_h128 *c, const void *p, size_t n);
void mbox_h128_end(struct mbox_h128 *c, unsigned char out[16]);
/* 64 bits of the hash of p[0..n) */
uint64_t mbox_h64(const uint64_t key[2], const void *p, size_t n);
/* a 64-bit finaliser (seeding keys without entropy) */
uint64_t mbox_hash_mix(uint64_t x);
/* mbox_h128 of fd's [off, off+n) */
int mbox_hash_range(int fd, uint64_t off, uint64_t n, const uint64_t key[2],
		    unsigned char out[16]);

/* lock.c's state inside struct mbox (mbox.h keeps it opaque) */
struct mbox_lockstate {
	int dotlocked;      /* we own path.lock */
	int ofd;            /* kernel lock is an OFD lock (else classic fcntl) */
	dev_t dev;          /* the file we hold */
	ino_t ino;
	dev_t lock_dev;     /* our dotlock's identity, checked before unlink */
	ino_t lock_ino;
	/* the file as of its last fsync under this lock (or the lock's start):
	 * mbox_unlock fsyncs only if it changed since (lock.c) */
	int synced;
	off_t s_size;
	struct timespec s_mtim, s_ctim;
	char lockpath[PATH_MAX + 8];
};
_Static_assert(sizeof(struct mbox_lockstate) <= MBOX_LOCKSTATE_SIZE, "grow MBOX_LOCKSTATE_SIZE");
static inline struct mbox_lockstate *mbox_ls(struct mbox *mb)
{
	return (struct mbox_lockstate *)(void *)&mb->lk;
}
static inline const struct mbox_lockstate *mbox_ls_c(const struct mbox *mb)
{
	return (const struct mbox_lockstate *)(const void *)&mb->lk;
}
/* lock.c: the write-locked file was just fsync'ed (or nothing was written
 * yet): mbox_unlock needs no fsync unless it changes again. */
void mbox_lock_synced(struct mbox *mb);
/* lock.c: refresh the dotlock during long work (arg: the struct mbox) */
typedef void (*mbox_touch_fn)(void *arg);

/* journal.c: the crash records (mbox-interop.md §7.5, §7.8) */
#define MBOX_JOURNAL_HDR 1024  /* header size; T follows */
#define MBOX_JBUF (1u << 20)   /* journal I/O unit, a multiple of MBOX_JBLOCK */
#define MBOX_JBLOCK 4096u      /* the unit a crash may tear: one page */
struct mbox_jhdr {
	uint64_t dev, ino;
	uint64_t d, e;           /* old bytes [D, E) are replaced by T */
	uint64_t g;              /* max(E, D + len T): the size while copying */
	uint64_t tlen, nblk;     /* len T, block hashes after T */
	uint64_t key[2];
	uint64_t tailhash;       /* old [D+tlen, end of its block) when shrinking */
	unsigned char bh[16];    /* hash of T and the block hashes */
};
struct mbox_journal {
	int fd;
	uint64_t tlen;           /* bytes of T written so far */
	uint64_t key[2];         /* random key of the hashes */
	struct mbox_h128 th;     /* hash of T (then of the block hashes) */
	struct mbox_jhdr h;      /* once committed */
	size_t blen;
	char path[PATH_MAX];
	char buf[MBOX_JBUF];
};
int mbox_journal_path(const struct mbox *mb, char *buf, size_t size);
int mbox_append_record_path(const struct mbox *mb, char *buf, size_t size);
void mbox_journal_new_key(uint64_t key[2]);
/* Creates the journal of mb. */
int mbox_journal_begin(struct mbox *mb, struct mbox_journal *j);
/* Appends bytes of T. */
int mbox_journal_put(struct mbox_journal *j, const char *p, size_t n);
/* Appends fd's [off, off+n) to T. */
int mbox_journal_copy(struct mbox_journal *j, int fd, uint64_t off, uint64_t n);
/* Hashes mb's old blocks of [d,e), writes the header, fsyncs file and
 * directory: from here a crash is repaired by recovery. */
int mbox_journal_commit(struct mbox *mb, struct mbox_journal *j, uint64_t d, uint64_t e);
/* Copies T over the mailbox, truncates, fsyncs, removes the journal. */
int mbox_journal_apply(struct mbox *mb, struct mbox_journal *j, mbox_touch_fn touch, void *arg);
/* Drops an uncommitted or failed journal (errno kept). */
void mbox_journal_abort(struct mbox_journal *j);
/* For recovery: */
int mbox_journal_read_header(int jfd, struct mbox_jhdr *h);
int mbox_journal_write_header(int jfd, const struct mbox *mb, const struct mbox_jhdr *h);
void mbox_journal_block(uint64_t d, uint64_t e, uint64_t i, uint64_t *lo, uint64_t *hi);
uint64_t mbox_journal_nblocks(uint64_t d, uint64_t e);
int mbox_journal_put_blocks(int fd, int jfd, uint64_t d, uint64_t e, const uint64_t key[2],
			    struct mbox_h128 *c, uint64_t at);
int mbox_journal_tailhash(int fd, uint64_t x, uint64_t e, const uint64_t key[2], uint64_t *h);
int mbox_journal_copy_t(int fd, int jfd, const struct mbox_jhdr *h, mbox_touch_fn touch,
			void *arg, int *untouched);
/* closes jfd, removes path and fsyncs its directory */
int mbox_journal_done(int jfd, const char *path, int *fdp);

#define MBOX_AREC 512          /* append record size */
#define MBOX_AREC_PREFIX 256   /* first bytes of the append kept in it */
struct mbox_arec {
	uint64_t n;              /* size before the append */
	uint64_t m;              /* size after it, 0 = not known */
	size_t plen;
	unsigned char prefix[MBOX_AREC_PREFIX];
};
/* Opens (create: creating) mb's record file; ENOENT/EACCES/ENOTDIR: no
 * journal directory (or no record). */
int mbox_arec_open(struct mbox *mb, int create, int *fd_r);
int mbox_arec_set(int fd, const struct mbox *mb, const struct mbox_arec *a);
int mbox_arec_clear(int fd, int sync);
int mbox_arec_get(int fd, const struct mbox *mb, struct mbox_arec *a);

/* copy.c: the offset of a stored copy of the message whose From_ line is
 * from[0..fromlen) (with its LF) and whose len bytes hash to hash (key)
 * once the metadata fields readers add are left out of its header.
 * 1 found (*off_r), 0 none, -1 error. */
int mbox_find_copy(int fd, uint64_t size, const char *from, size_t fromlen, uint64_t len,
		   const unsigned char hash[16], const uint64_t key[2], uint64_t *off_r);

struct stat;
/* scan.c: a scan of the whole file of identity st into sc (emptied on
 * error); ns, a fresh scan of the file sc was made from: if every message
 * of sc is still where it was, ns takes over sc's pending requests and
 * replaces it (0), else 1 and sc is left as it was (table.c's helpers) */
int mbox_scan_whole(struct mbox *mb, struct mbox_scan *sc, const struct stat *st);
/* the file's identity (dev, inode, size, mtime, ctime) into sc */
void mbox_scan_identity(struct mbox_scan *sc, const struct stat *st);
int mbox_scan_merge(struct mbox_scan *sc, struct mbox_scan *ns, int grown);
/* scan.c: continues a table (sc->msgs[0..count) already known, count >= 1)
 * from start, a From_ line, to eof. */
int mbox_scan_tail(int fd, uint64_t eof, struct mbox_scan *sc, uint64_t start);

/* index.c (see mbox.h) */
int mbox_index_enabled(void);
/* mbox_scan's and mbox_scan_update's first step: 1 = sc filled from an
 * index that vouches for the file of identity st (and a scan of the
 * appended tail), 0 = scan the whole file (sc untouched). */
int mbox_index_load(struct mbox *mb, struct mbox_scan *sc, const struct stat *st);
/* sc is a fresh scan of the whole file (old: the table it replaces, or
 * NULL): gives it mod-sequences (from an index of this very file, else
 * from old or an older index by UID, else above anything given before)
 * and writes the index.  disk: look at the index file for them. */
void mbox_index_rebuilt(struct mbox *mb, struct mbox_scan *sc, const struct mbox_scan *old, int disk);
/* A deep copy of the parts of sc the modseqs need (NULL: no memory). */
struct mbox_scan *mbox_index_snapshot(const struct mbox_scan *sc);
/* rewrite.c's tail_uids gave msgs[k..] their UIDs (nothing else changed):
 * a new modseq for them, and the index written. */
void mbox_index_tail_uids(struct mbox *mb, struct mbox_scan *sc, size_t k);
/* rewrite.c: rewrites done by that path (for tests) */
extern unsigned long mbox_tail_uids_done;
void mbox_index_snapshot_free(struct mbox_scan *snap);
/* mbox_append's: the append was the only change since before (the index
 * header is extended by mbox_index_unlocking, which mbox_unlock calls
 * while it still holds the write lock). */
void mbox_index_appended(struct mbox *mb, const struct stat *before);
void mbox_index_unlocking(struct mbox *mb);
/* mbox_rewrite's: bytes below the appends may change; their extension is
 * off (the rewrite writes an index of its own). */
void mbox_index_forget_appends(const struct mbox *mb);

/* recover.c: called by mbox_lock(WRITE) only, under the write lock:
 * cuts a partial append back, finishes an interrupted rewrite (or, if
 * someone else changed the file meanwhile, appends what is missing).
 * 0 = nothing to do or done, -1 error. */
int mbox_recover(struct mbox *mb, mbox_touch_fn touch);
/* Is there anything for mbox_recover to do?  1 yes, 0 no (cheap: for
 * read locks). */
int mbox_recover_pending(struct mbox *mb);

#endif
