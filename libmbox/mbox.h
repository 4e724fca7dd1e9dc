/* libmbox: the only code in facteur that opens, locks, appends to, scans,
 * reads or rewrites a mailbox.  The lock protocol and the format follow
 * ../shared/design/mbox-interop.md (quoted below as "spec §N").
 *
 * Errors: functions return 0 (or a count) on success and -1 with errno set.
 * Two errno values carry libmbox meanings:
 *   EAGAIN  the lock could not be had within the time budget
 *           (SMTP 451 4.2.0, POP3 -ERR [IN-USE], IMAP NO [INUSE])
 *   ESTALE  the mailbox changed behind our back since the scan, in a way
 *           that makes the requested operation unsafe; nothing was written
 * Everything else (ENOSPC, EDQUOT, EFBIG, EIO, ENOENT, EACCES...) passes
 * through unchanged.  The library never prints and never exits. */
#ifndef FACTEUR_MBOX_H
#define FACTEUR_MBOX_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- lock.c: open, lock, unlock, close --------------------------------- */

#define MBOX_RDONLY 0
#define MBOX_RDWR 1
#define MBOX_CREATE 2       /* create if missing: O_EXCL|O_NOFOLLOW, 0600, as the euid */

#define MBOX_LOCK_NONE 0
#define MBOX_LOCK_READ 1    /* fcntl F_RDLCK only (spec §7.2) */
#define MBOX_LOCK_WRITE 2   /* fcntl F_WRLCK, then the dotlock, non-blocking, back-off */

#define MBOX_LOCKSTATE_SIZE 4224  /* lock.c's private state, below */

struct mbox {
	int fd;
	int mode;           /* MBOX_RDONLY / MBOX_RDWR (| MBOX_CREATE as given) */
	int lock;           /* MBOX_LOCK_* held now */
	char path[PATH_MAX];
	/* the lock's own state (libmbox/private.h), not for programs */
	union {
		unsigned char b[MBOX_LOCKSTATE_SIZE];
		uint64_t align;
	} lk;
};

/* Opens path (O_NOFOLLOW|O_CLOEXEC).  Refuses anything that is not a
 * regular file with one link (EINVAL), and a file not owned by the euid when
 * the euid is not root (EPERM: Postfix's strict_mailbox_ownership).
 * MBOX_CREATE creates a missing mailbox (never replaces one).  */
int mbox_open(struct mbox *mb, const char *path, int mode);
/* Takes a lock with a bounded wait (timeout_ms total; spec §7.2-7.4: OFD
 * fcntl lock, then for writing a NFS-safe dotlock made with a unique temp
 * file, link() and a link-count check; stale dotlocks broken by the §7.4
 * rule; random growing back-off, never blocking on one lock while holding
 * the other).  After locking it checks that path still names the file we
 * hold; if another agent replaced it, it reopens and starts over.
 * EAGAIN when the budget is spent.  Asking for a lock while holding another
 * one first releases it.
 * Crash recovery (§7.8) is part of taking the lock: a write lock first
 * cuts back a partial append and finishes an interrupted rewrite; a read
 * lock that finds one unfinished takes the write lock briefly to do the
 * same (reopening the file read-write if it was opened read-only), so no
 * reader ever sees a torn mailbox.  An error of that recovery (ENOSPC...)
 * fails the lock. */
int mbox_lock(struct mbox *mb, int kind, unsigned timeout_ms);
/* fsyncs if it held the write lock and the file changed since libmbox last
 * fsync'ed it (a reader wrote nothing; an append fsyncs itself), removes our
 * dotlock (only if it is still ours), then drops the kernel lock. */
int mbox_unlock(struct mbox *mb);
/* Unlocks if needed and closes. */
int mbox_close(struct mbox *mb);
/* Refreshes the dotlock's mtime during long work (spec §7.2 step 4). */
void mbox_lock_touch(struct mbox *mb);

/* ---- meta.c: flags and metadata headers -------------------------------- */

#define MBOX_F_SEEN     0x01  /* Status: R */
#define MBOX_F_OLD      0x02  /* Status: O (not \Recent) */
#define MBOX_F_ANSWERED 0x04  /* X-Status: A */
#define MBOX_F_FLAGGED  0x08  /* X-Status: F */
#define MBOX_F_DRAFT    0x10  /* X-Status: T */
#define MBOX_F_DELETED  0x20  /* X-Status: D */
#define MBOX_KW_MAX 64        /* keywords per mailbox (bits of a uint64_t) */

/* ---- scan.c: the message table ------------------------------------------ */

struct mbox_msg {
	uint64_t offset;      /* the From_ line */
	uint64_t hdr_off;     /* first header line (after the From_ line) */
	uint64_t body_off;    /* first body byte (after the empty line) */
	uint64_t body_end;    /* end of the body: the separator empty line before
	                         the next From_ line (or EOF) is not part of it */
	uint64_t next;        /* offset of the next From_ line, or EOF */
	uint64_t hdr_size;    /* visible header bytes as served: metadata headers
	                         removed, CRLF line ends, empty line included */
	uint64_t body_size;   /* body bytes as served (CRLF line ends) */
	uint32_t body_lines;  /* lines in the body (IMAP BODYSTRUCTURE, POP3 TOP) */
	uint32_t uid;         /* X-UID if valid (spec §7.7), else 0 = unassigned */
	uint32_t flags;       /* MBOX_F_* from Status / X-Status */
	uint64_t keywords;    /* bit i: scan->keywords[i] (from X-Keywords) */
	int64_t internaldate; /* the From_ line's date as time_t; 0 if unparseable */
	uint64_t modseq;      /* RFC 7162 mod-sequence (index.c): last change */
	/* Requests for mbox_rewrite(), set by callers: */
	uint32_t new_flags;   /* used when dirty */
	uint64_t new_keywords;
	unsigned dirty : 1;   /* write new_flags/new_keywords */
	unsigned expunge : 1; /* remove this message */
};

struct mbox_scan {
	struct mbox_msg *msgs;   /* visible messages, in file order */
	size_t count, cap;
	uint32_t uidvalidity;    /* from X-IMAPbase / X-IMAP; 0 = none */
	uint32_t uidnext;        /* uidlast + 1 (1 when none) */
	char *keywords[MBOX_KW_MAX]; /* from X-IMAPbase, in order */
	size_t nkeywords;
	int pseudo;              /* message 1 is a pseudo message (X-IMAP), hidden */
	uint64_t data_start;     /* offset of the first visible message (after junk
	                            and the pseudo message) */
	size_t missing_uids;     /* messages with uid == 0 */
	int base_dirty;          /* rewrite X-IMAPbase (uidvalidity, uidnext, keywords) */
	/* Identity of the file as scanned, for change detection: */
	dev_t dev;
	ino_t ino;
	uint64_t size;
	int64_t mtime_sec;
	long mtime_nsec;
	int64_t ctime_sec;       /* (index.c validates with the ctime too) */
	long ctime_nsec;
	uint64_t highestmodseq;  /* RFC 7162: above every msgs[].modseq and
	                            every expunge seen (index.c) */
};

/* Scans the whole file under a lock the caller holds (read or write): every
 * message with its offsets, sizes, flags, keywords and UID.  Tolerates CRLF
 * mailboxes, junk before the first From_ line, a missing final newline, an
 * empty file; never reads past EOF.  Message boundaries follow spec §7.6
 * (a parseable From_ line after an empty line, or Content-Length when it
 * points at one).  sc must be zeroed (or freed) before the first call. */
int mbox_scan(struct mbox *mb, struct mbox_scan *sc);
/* Brings sc up to date with the file: 0 = every message sc knows is still
 * where it was: unchanged, appended to (new messages added at the end of
 * sc->msgs), and/or flags or keywords patched in place by another agent.
 * The entries keep their indexes and pending requests (dirty, new_flags,
 * new_keywords, expunge); their flags and keywords, and uidnext and the
 * keyword list, are refreshed from the file (known keywords keep their bit;
 * new ones are added after them).  A file changed by facteur's writers is
 * read from the index (mbox_set_index_dir), appended bytes only; any other
 * change means a scan of the whole file.  1 = the file was changed otherwise and sc was
 * rebuilt from scratch (requests lost; callers reconcile by UID); -1 error
 * (sc unchanged, except when the file was replaced or shrank: then empty). */
int mbox_scan_update(struct mbox *mb, struct mbox_scan *sc);
void mbox_scan_free(struct mbox_scan *sc);
/* Index of a keyword, adding it (base_dirty set) when create is true and
 * there is room.  -1 when absent (or full). */
int mbox_keyword_index(struct mbox_scan *sc, const char *name, size_t len, int create);

/* ---- read.c: what clients are shown ------------------------------------- */

#define MBOX_PART_HEADER 1   /* visible header block, including the empty line */
#define MBOX_PART_BODY 2
#define MBOX_PART_ALL 3

/* Streams a message as clients see it: metadata headers (Status, X-Status,
 * X-Keywords, X-UID, X-IMAP, X-IMAPbase, Content-Length) removed, every line
 * ending in CRLF.  Exactly m->hdr_size / m->body_size bytes.  Checks first
 * that a From_ line still starts at m->offset (ESTALE if not).  The caller
 * holds a read or write lock (ENOLCK otherwise): nothing here locks.  sink
 * returning -1 stops the stream (the error is passed on). */
typedef int (*mbox_sink_fn)(void *arg, const char *p, size_t n);
int mbox_msg_stream_locked(struct mbox *mb, const struct mbox_msg *m, int parts,
			   mbox_sink_fn sink, void *arg);
/* The same into a malloc'ed buffer (*p_r, *len_r); free() it. */
int mbox_msg_load_locked(struct mbox *mb, const struct mbox_msg *m, int parts,
			 char **p_r, size_t *len_r);

/* ---- append.c: adding a message ------------------------------------------ */

struct mbox_append {
	const char *sender;       /* envelope sender for the From_ line; NULL or ""
	                             -> MAILER-DAEMON, and so is one holding space
	                             or control characters */
	int64_t date;             /* From_ line date (INTERNALDATE); 0 = now */
	const char *prefix;       /* header lines written first (Return-Path,
	                             Delivered-To, Received...), may be NULL */
	size_t prefix_len;
	const char *data;         /* the message, CRLF or LF line ends, already
	                             dot-unstuffed; or NULL to read it from fd: */
	size_t len;
	int fd;                   /* ... data_fd, from data_off, len bytes */
	uint64_t data_off;
	int strip_meta;           /* drop incoming Status, X-Status, X-Keywords,
	                             X-UID, X-IMAP, X-IMAPbase, Content-Length,
	                             X-Delivery-ID, Return-Path (when a prefix is
	                             given) and "From " header lines (spec §7.5) */
	uint32_t flags;           /* MBOX_F_* to record (IMAP APPEND), 0 for
	                             delivery: then no Status header is written */
	const char *keywords;     /* X-Keywords value (space separated) or NULL */
	uint32_t uid;             /* X-UID to write, 0 for none */
	int once;                 /* a retry of a delivery a crash interrupted:
	                             if a copy is already stored (same From_
	                             line, which needs a fixed date, and bytes,
	                             readers' metadata fields aside), nothing is
	                             written and mbox_append returns 1; only
	                             without flags, keywords and uid */
};

/* Appends one message in mboxo form (spec §7.5): From_ line
 * "From SENDER  Www Mmm dd hh:mm:ss yyyy", headers (prefix first), body with
 * lines matching ^From quoted to >From (never other quoting), CRLF turned
 * into LF, a final LF ensured, then one empty line.  If the file does not end
 * in an empty line it first adds what is missing.  The caller holds the write
 * lock.  The data is fsync'ed before success.  On any error (ENOSPC, EDQUOT,
 * EFBIG, EIO, a signal) the file is truncated back to its old size and the
 * error returned: the mailbox is byte-identical to before.  The old size is
 * recorded (fdatasync'ed) in the journal directory first, so a crash in
 * the middle is cut back at the next lock (ENOSPC there: nothing written).  *offset_r (may be
 * NULL) gets the new message's From_ line offset.  With a->once, 1 when a
 * copy was found and nothing written (*offset_r: the copy's offset). */
int mbox_append(struct mbox *mb, const struct mbox_append *a, uint64_t *offset_r);
/* n messages in one transaction (IMAP MULTIAPPEND, RFC 3502): written one
 * after the other and fsync'ed once; any error truncates the file back to
 * its old size, so either all are stored or none.  One crash record
 * covers them all.  offsets_r (may be NULL) gets each From_ line offset. */
int mbox_append_many(struct mbox *mb, const struct mbox_append *a, size_t n, uint64_t *offsets_r);
/* Open (creating if missing) + write lock + append + unlock + close: what a
 * delivery does.  EAGAIN after timeout_ms. */
int mbox_deliver(const char *path, const struct mbox_append *a, unsigned timeout_ms);

/* ---- rewrite.c: expunge, flags, UIDs ------------------------------------ */

#define MBOX_RW_UIDS 1       /* give X-UIDs to messages with uid 0 and make sure
                                X-IMAPbase exists (new UIDVALIDITY if none) */

/* Applies the requests in sc (expunge, dirty flags/keywords, base_dirty,
 * MBOX_RW_UIDS) under the write lock the caller holds.  First it checks the
 * file with mbox_scan_update: appended mail is kept untouched, and flags
 * another agent changed are taken in (only dirty entries are written with
 * their new_flags/new_keywords); any other change -> ESTALE and nothing is
 * written.  Flag-only changes that fit the
 * header's padding are patched in place; otherwise the range from the first
 * changed message to EOF is rewritten in place through a journal (spec §7.8),
 * never by renaming a new file over the mailbox.  On success sc describes
 * the new file (expunged entries removed, offsets updated, requests
 * cleared).  A mailbox left empty gets Dovecot's pseudo message only when it
 * had IMAP metadata.  Crash at any point: the next lock (read or write)
 * finishes the rewrite, so the mailbox is wholly old or wholly new.  The
 * journal needs free space for the new image of the tail and 8 bytes per
 * 4 KiB of the old tail; without it: ENOSPC, nothing written. */
int mbox_rewrite(struct mbox *mb, struct mbox_scan *sc, int opts);
/* Where journals and append records go (default: $MBOX_JOURNAL_DIR, else
 * ~/.libmbox/journal for the euid's home, created 0700): servers set it
 * for virtual users. */
void mbox_set_journal_dir(const char *dir);

/* ---- index.c: the disposable index of a mailbox ------------------------ */
/* A cache of the message table (offsets, sizes, UIDs, flags, keywords,
 * mod-sequences) in DIR/<hash>-<name>.index, written only by libmbox: by
 * mbox_scan after a scan, mbox_scan_update after a change, mbox_rewrite,
 * and extended by mbox_append.  mbox_scan trusts it only when the mailbox
 * is the file it describes (dev, inode, size, mtime, ctime, bytes at its
 * start and at the last message); a mailbox grown by mbox_append since is
 * scanned from the last known message on; anything else is a full scan
 * and a new index.  Directory: mbox_set_index_dir() (NULL or "" = none),
 * else $MBOX_INDEX_DIR, else none.  The directory is created 0700. */
void mbox_set_index_dir(const char *dir);
/* What the last mbox_scan (or mbox_index_counts) did: 0 no index, 1 index
 * used as is, 2 index + tail scan, 3 full scan (index missing, stale or
 * refused; for mbox_index_counts: no counters to serve), 4 counters served. */
int mbox_index_last_use(void);
/* What STATUS reports, from the counters in the index header without
 * reading any message entry: 1 = filled, the file (the caller holds a
 * lock) is exactly the one the index describes (the checks of mbox_scan's
 * index use), every message has a UID and there is a UIDVALIDITY; or the
 * file is that one appended to by mbox_append since: the tail is scanned
 * from the last known message and counted in, its new messages without
 * UIDs (uidnext is the one they will make: they get the next UIDs in file
 * order when first shown).  0 = not available (no index, changed file,
 * missing UIDs in the indexed part, unsound counters): mbox_scan instead. */
struct mbox_counts {
	size_t count;
	size_t unseen;
	size_t first_unseen;     /* sequence number of the first unseen, 0 none */
	size_t recent;           /* messages without Status O */
	size_t deleted;
	uint64_t size;           /* the sum of their sizes as served */
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	size_t nkeywords;
};
int mbox_index_counts(struct mbox *mb, struct mbox_counts *c);
/* SELECT's open without the table: mbox_index_counts, and *p (1) keeps
 * the index file open as it was checked, so that mbox_peek_table builds,
 * later and without a lock, the very table those counts describe (the
 * file as it was then; mbox_scan_update brings it up to date).  The
 * keyword names: mbox_peek_keyword (valid while p lives). */
struct mbox_peek;
int mbox_index_peek(struct mbox *mb, struct mbox_counts *c, struct mbox_peek **p);
const char *mbox_peek_keyword(const struct mbox_peek *p, size_t i);
/* sc (need not be initialised) gets the table; -1 with errno (EINVAL: the
 * entries are unsound, or not those the counters described) */
int mbox_peek_table(struct mbox_peek *p, struct mbox_scan *sc);
void mbox_peek_free(struct mbox_peek *p);

/* ---- folder.c: the folder tree under mail_folders, subscriptions -------- */
/* Names are relative paths with '/' between levels, checked by the caller
 * (no "..", no leading '/', no hidden dot components).  A mailbox is a
 * regular file, a directory holds a level of hierarchy (Dovecot's mbox
 * layout); names starting with '.' and *.lock files are never listed.
 * Subscriptions live in ROOT/.subscriptions in Dovecot's format. */
struct mbox_folder {
	char *name;           /* relative path, '/' separated */
	int is_dir;           /* a directory (not selectable) */
	int has_children;     /* a directory with a visible entry */
};
struct mbox_folder_list {
	struct mbox_folder *f;
	size_t count, cap;
};
/* Walks the tree (sorted by name; bounded depth and size).  A missing root
 * is an empty list. */
int mbox_folder_list(const char *root, struct mbox_folder_list *l);
void mbox_folder_list_free(struct mbox_folder_list *l);
/* Creates a mailbox file (0600, O_EXCL) or, with dir, a directory (0700),
 * making missing parents.  EEXIST if the name exists. */
int mbox_folder_create(const char *root, const char *name, int dir);
/* Removes a mailbox file, or an empty directory (ENOTEMPTY otherwise). */
int mbox_folder_delete(const char *root, const char *name);
/* Renames a file or directory without replacing anything (EEXIST), making
 * missing parents of the new name. */
int mbox_folder_rename(const char *root, const char *from, const char *to);
/* Subscribed names (list entries with is_dir 0). */
int mbox_subs_read(const char *root, struct mbox_folder_list *l);
/* Adds (on) or removes a name; the file is replaced atomically under a
 * ROOT/.subscriptions.lock dotlock. */
int mbox_subs_set(const char *root, const char *name, int on);

/* ---- uidvalidity.c: UIDVALIDITY never given twice ----------------------- */
/* The next UIDVALIDITY for a new mailbox of this user: above every value
 * given before from the state in dir (created 0700 if missing), and not
 * below the current time.  Dovecot's format and location (~/mail/.imap for
 * an mbox home), so the two servers never repeat each other's values. */
int mbox_uidvalidity_next(const char *dir, uint32_t *uv_r);

#endif
