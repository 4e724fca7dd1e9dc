/* Internal helpers shared inside libmbox (not for programs). */
#ifndef FACTEUR_MBOX_PRIVATE_H
#define FACTEUR_MBOX_PRIVATE_H

#include "mbox.h"

/* ---- scan / meta / read / rewrite / journal ----------------------------- */

#define MBOX_BLOCK 65536      /* read unit of the scanner and readers (popa3d) */
#define MBOX_LINE_HEAD 4096   /* a line's first bytes always seen in one piece */
#define MBOX_PAD 50           /* spaces after X-Keywords (Dovecot's padding) */

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
/* pread every byte of [off, off+n) (EINTR and short reads handled); a
 * short file gives ESTALE. */
int mbox_pread_full(int fd, void *buf, size_t n, uint64_t off);
/* Is there a From_ line at off?  1 yes, 0 no, -1 error. */
int mbox_scan_from_at(int fd, uint64_t off, uint64_t eof);
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

/* journal.c: crash safety for rewrites (mbox-interop.md §7.8) */
struct mbox_sha256 {
	uint32_t h[8];
	uint64_t n;
	unsigned char b[64];
};
void mbox_sha256_init(struct mbox_sha256 *c);
void mbox_sha256_add(struct mbox_sha256 *c, const void *p, size_t n);
void mbox_sha256_end(struct mbox_sha256 *c, unsigned char out[32]);
/* A fast keyed 128-bit hash (four xxHash64-style lanes; several GB/s):
 * detects accidental change (a torn journal, another agent's rewrite)
 * when keyed with a random key; not a cryptographic hash. */
struct mbox_h128 {
	uint64_t v[4], key[2], n;
	unsigned char b[32];
};
void mbox_h128_init(struct mbox_h128 *c, const uint64_t key[2]);
void mbox_h128_add(struct mbox_h128 *c, const void *p, size_t n);
void mbox_h128_end(struct mbox_h128 *c, unsigned char out[16]);
/* mbox_h128 of fd's [off, off+n) */
int mbox_hash_range(int fd, uint64_t off, uint64_t n, const uint64_t key[2],
		    unsigned char out[16]);

#define MBOX_JOURNAL_HDR 1024  /* header size; T follows */
#define MBOX_JBUF (1u << 20)   /* journal I/O unit */
struct mbox_journal {
	int fd;
	uint64_t tlen;           /* bytes of T written so far */
	uint64_t key[2];         /* random key of the hashes */
	struct mbox_h128 th;     /* hash of T */
	size_t blen;
	char path[PATH_MAX];
	char buf[MBOX_JBUF];
};
/* Creates the journal of mb (a leftover one is recovered first). */
int mbox_journal_begin(struct mbox *mb, struct mbox_journal *j);
/* Appends bytes of T. */
int mbox_journal_put(struct mbox_journal *j, const char *p, size_t n);
/* Appends fd's [off, off+n) to T (read straight into the journal buffer). */
int mbox_journal_copy(struct mbox_journal *j, int fd, uint64_t off, uint64_t n);
/* Hashes mb's old [d,e), writes the header (d, e, len T, both hashes, a
 * hash of the header itself) and fsyncs file and directory: from here a
 * crash is repaired by mbox_journal_recover. */
int mbox_journal_commit(struct mbox *mb, struct mbox_journal *j, uint64_t d, uint64_t e);
/* Copies T to d, truncates to d + len T, fsyncs, removes the journal. */
int mbox_journal_apply(struct mbox *mb, struct mbox_journal *j, uint64_t d);
/* Drops an uncommitted or failed journal (errno kept). */
void mbox_journal_abort(struct mbox_journal *j);
/* Finishes or undoes an interrupted rewrite of mb (caller holds the write
 * lock): 0 = nothing to do or recovered, -1 error.  lock.c may call it
 * right after taking a write lock; mbox_scan (under a write lock) and
 * mbox_rewrite call it too. */
int mbox_journal_recover(struct mbox *mb);
/* The journal file name for mb into buf. */
int mbox_journal_path(const struct mbox *mb, char *buf, size_t size);

/* journal.c: pwrite all n bytes at off, EINTR retried. */
int mbox_pwrite_full(int fd, const char *p, size_t n, uint64_t off);

#endif
