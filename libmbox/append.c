/* Appending one message in mboxo form (mbox-interop.md §7.5), the way
 * Postfix local and procmail write it, with qmail's rollback: record the
 * old size, write, fsync; on any error truncate back, so the mailbox is
 * byte-identical to before.  The message is streamed in 64 KiB blocks
 * through two small filters: CRLF -> LF, then a line filter that holds
 * the first bytes of each line until it knows what the line is (a header
 * to drop, a body line "From " to quote), so lines split across blocks
 * are handled and no line is ever held whole. */
#include "private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define APPEND_BLOCK 65536
#define HOLD_MAX 32             /* longer than any header name we drop */

struct ap {
	int fd;
	int dry;                /* only count (and keep the first bytes) */
	int hashing;            /* dry run: also hash every output byte */
	struct mbox_h128 h;
	size_t hlen;
	unsigned char head[MBOX_AREC_PREFIX];  /* first output bytes (dry run) */
	uint64_t pos;           /* where the next output byte goes */
	size_t olen;
	int body;               /* past the header/body separator */
	int bol;                /* input is at the start of a line */
	int drop, prev_drop;    /* this header line / the field it continues */
	int prefix;             /* feeding a->prefix: stricter rules */
	int strip, strip_rp;
	int cr;                 /* a CR waits to see whether LF follows */
	size_t hold_len;
	char hold[HOLD_MAX];
	char out[APPEND_BLOCK];
	char in[APPEND_BLOCK];
};

/* Incoming metadata a delivery must not trust (Dovecot's list). */
static const char *const strip_names[] = {
	"Status", "X-Status", "X-Keywords", "X-UID", "X-IMAP", "X-IMAPbase",
	"Content-Length", "X-Delivery-ID",
};
static const char *const return_path[] = { "Return-Path" };

/* ---- output -------------------------------------------------------------- */

static int out_flush(struct ap *c)
{
	size_t off = 0;
	ssize_t w;

	if (c->dry) {
		size_t k = sizeof c->head - c->hlen;
		if (k > c->olen)
			k = c->olen;
		memcpy(c->head + c->hlen, c->out, k);
		c->hlen += k;
		if (c->hashing)
			mbox_h128_add(&c->h, c->out, c->olen);
		c->pos += c->olen;
		c->olen = 0;
		return 0;
	}
	while (off < c->olen) {
		w = pwrite(c->fd, c->out + off, c->olen - off, (off_t)c->pos);
		if (w < 0)
			return -1;      /* EINTR included: signals are blocked, so it is real */
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		off += (size_t)w;
		c->pos += (uint64_t)w;
	}
	c->olen = 0;
	return 0;
}

static int out_put(struct ap *c, const char *p, size_t n)
{
	size_t k;

	while (n > 0) {
		if (c->olen == sizeof c->out && out_flush(c) == -1)
			return -1;
		k = sizeof c->out - c->olen;
		if (k > n)
			k = n;
		memcpy(c->out + c->olen, p, k);
		c->olen += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* ---- header decisions ------------------------------------------------------ */

/* Decides on a header line from its first bytes: 1 drop, 0 keep, -1 bad
 * prefix (an empty line or a "From " line would split the message). */
static int header_drop(const struct ap *c, const char *h, size_t n)
{
	if (n >= 5 && memcmp(h, "From ", 5) == 0) {
		if (c->prefix) {
			errno = EINVAL;
			return -1;
		}
		return c->strip;
	}
	if (!c->strip || c->prefix)
		return 0;       /* the caller's own prefix is never stripped */
	return mbox_field_named(h, n, strip_names, sizeof strip_names / sizeof strip_names[0]) ||
	       (c->strip_rp && mbox_field_named(h, n, return_path, 1));
}

/* The flags, keywords and UID the caller asked for, before the empty line. */
static int put_meta(struct ap *c, const struct mbox_append *a)
{
	char line[64];
	size_t n;
	int k;

	if (a->flags & (MBOX_F_SEEN | MBOX_F_OLD)) {
		memcpy(line, "Status: ", 8), n = 8;
		if (a->flags & MBOX_F_SEEN)
			line[n++] = 'R';
		if (a->flags & MBOX_F_OLD)
			line[n++] = 'O';
		line[n++] = '\n';
		if (out_put(c, line, n) == -1)
			return -1;
	}
	if (a->flags & (MBOX_F_ANSWERED | MBOX_F_FLAGGED | MBOX_F_DRAFT | MBOX_F_DELETED)) {
		memcpy(line, "X-Status: ", 10), n = 10;
		if (a->flags & MBOX_F_ANSWERED)
			line[n++] = 'A';
		if (a->flags & MBOX_F_FLAGGED)
			line[n++] = 'F';
		if (a->flags & MBOX_F_DRAFT)
			line[n++] = 'T';
		if (a->flags & MBOX_F_DELETED)
			line[n++] = 'D';
		line[n++] = '\n';
		if (out_put(c, line, n) == -1)
			return -1;
	}
	if (a->keywords && *a->keywords) {
		if (out_put(c, "X-Keywords: ", 12) == -1 ||
		    out_put(c, a->keywords, strlen(a->keywords)) == -1 ||
		    out_put(c, "\n", 1) == -1)
			return -1;
	}
	if (a->uid) {
		k = snprintf(line, sizeof line, "X-UID: %u\n", (unsigned)a->uid);
		if (k < 0 || (size_t)k >= sizeof line) {
			errno = EOVERFLOW;
			return -1;
		}
		if (out_put(c, line, (size_t)k) == -1)
			return -1;
	}
	return 0;
}

/* ---- the line filter (input already LF-normalised) -------------------------- */

/* The held start of a line is decided: write it (quoted, or not at all). */
static int hold_decide(struct ap *c)
{
	int r;

	if (c->body) {
		if (c->hold_len == 5 && memcmp(c->hold, "From ", 5) == 0 &&
		    out_put(c, ">", 1) == -1)
			return -1;
		r = out_put(c, c->hold, c->hold_len);
	} else {
		r = header_drop(c, c->hold, c->hold_len);
		if (r == -1)
			return -1;
		c->drop = c->prev_drop = r;
		r = r ? 0 : out_put(c, c->hold, c->hold_len);
	}
	c->bol = c->hold[c->hold_len - 1] == '\n';
	c->hold_len = 0;
	return r;
}

/* One byte at the start of a line: hold it or decide. */
static int hold_byte(struct ap *c, const struct mbox_append *a, char ch)
{
	if (!c->body && c->hold_len == 0) {
		if (ch == '\n') {       /* the header/body separator */
			if (c->prefix) {
				errno = EINVAL;
				return -1;
			}
			c->body = 1;
			return put_meta(c, a) == -1 ? -1 : out_put(c, "\n", 1);
		}
		if (ch == ' ' || ch == '\t') {  /* continuation: same fate */
			c->drop = c->prev_drop;
			c->bol = 0;
			return c->drop ? 0 : out_put(c, &ch, 1);
		}
	}
	c->hold[c->hold_len++] = ch;
	if (ch == '\n' || c->hold_len == HOLD_MAX)
		return hold_decide(c);
	if (c->body) {
		if (c->hold_len == 5 || ch != "From "[c->hold_len - 1])
			return hold_decide(c);
		return 0;
	}
	if (ch == ':' || (c->hold_len == 5 && memcmp(c->hold, "From ", 5) == 0))
		return hold_decide(c);
	return 0;
}

static int line_feed(struct ap *c, const struct mbox_append *a, const char *p, size_t n)
{
	const char *nl;
	size_t k;

	while (n > 0) {
		if (c->bol) {
			if (hold_byte(c, a, *p) == -1)
				return -1;
			p++, n--;
			continue;
		}
		nl = memchr(p, '\n', n);
		k = nl ? (size_t)(nl - p) + 1 : n;
		if (!(c->drop && !c->body) && out_put(c, p, k) == -1)
			return -1;
		if (nl)
			c->bol = 1;
		p += k;
		n -= k;
	}
	return 0;
}

/* CRLF -> LF; a bare CR is data and kept. */
static int feed(struct ap *c, const struct mbox_append *a, const char *p, size_t n)
{
	const char *cr;
	size_t k;

	while (n > 0) {
		if (c->cr) {
			c->cr = 0;
			if (*p == '\n') {
				if (line_feed(c, a, "\n", 1) == -1)
					return -1;
				p++, n--;
				continue;
			}
			if (line_feed(c, a, "\r", 1) == -1)
				return -1;
		}
		cr = memchr(p, '\r', n);
		k = cr ? (size_t)(cr - p) : n;
		if (k && line_feed(c, a, p, k) == -1)
			return -1;
		if (cr) {
			c->cr = 1;
			k++;
		}
		p += k;
		n -= k;
	}
	return 0;
}

/* End of a piece of input: a pending CR is data, a held line start is
 * decided, an unterminated line gets its LF. */
static int feed_end(struct ap *c, const struct mbox_append *a)
{
	if (c->cr) {
		c->cr = 0;
		if (line_feed(c, a, "\r", 1) == -1)
			return -1;
	}
	if (c->bol && c->hold_len > 0 && hold_decide(c) == -1)
		return -1;
	if (!c->bol) {
		if (!(c->drop && !c->body) && out_put(c, "\n", 1) == -1)
			return -1;
		c->bol = 1;
	}
	return 0;
}

/* ---- the parts of one message ------------------------------------------------ */

static int sender_ok(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return 0;
	for (; s[n]; n++)
		if ((unsigned char)s[n] <= ' ' || (unsigned char)s[n] == 0x7f || n >= MBOX_SENDER_MAX)
			return 0;
	return 1;
}

/* "From SENDER  Www Mmm dd hh:mm:ss yyyy\n": Postfix's "From %s  %.24s"
 * of ctime(), written with fixed English names whatever the locale. */
static int put_from_line(struct ap *c, const struct mbox_append *a)
{
	static const char wd[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	const char *sender = sender_ok(a->sender) ? a->sender : "MAILER-DAEMON";
	char date[64];
	time_t t = a->date ? (time_t)a->date : time(NULL);
	struct tm tm;
	int n;

	if (!localtime_r(&t, &tm) ||
	    tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11) {
		errno = EOVERFLOW;
		return -1;
	}
	n = snprintf(date, sizeof date, "%s %s %2d %02d:%02d:%02d %lld\n",
		     wd[tm.tm_wday], mon[tm.tm_mon], tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, (long long)tm.tm_year + 1900);
	if (n < 0 || (size_t)n >= sizeof date) {
		errno = EOVERFLOW;
		return -1;
	}
	if (out_put(c, "From ", 5) == -1 || out_put(c, sender, strlen(sender)) == -1 ||
	    out_put(c, "  ", 2) == -1)
		return -1;
	return out_put(c, date, (size_t)n);
}

/* The message from a->fd, block by block. */
static int feed_fd(struct ap *c, const struct mbox_append *a)
{
	uint64_t done = 0;
	size_t want;
	ssize_t r;
	int seekable = 1;

	while (done < a->len) {
		want = a->len - done < sizeof c->in ? (size_t)(a->len - done) : sizeof c->in;
		if (seekable) {
			r = pread(a->fd, c->in, want, (off_t)(a->data_off + done));
			if (r < 0 && errno == ESPIPE && done == 0) {
				seekable = 0;   /* a pipe: read it in order */
				continue;
			}
		} else {
			r = read(a->fd, c->in, want);
		}
		if (r < 0)
			return -1;
		if (r == 0) {           /* shorter than announced */
			errno = EIO;
			return -1;
		}
		if (feed(c, a, c->in, (size_t)r) == -1)
			return -1;
		done += (uint64_t)r;
	}
	return 0;
}

/* LFs needed so the file ends in an empty line ("\n\n", or "\n\r\n" in a
 * CRLF mailbox). */
static int missing_lfs(int fd, uint64_t size, size_t *n_r)
{
	char t[3];
	size_t k = size < 3 ? (size_t)size : 3;
	ssize_t r;

	*n_r = 0;
	if (size == 0)
		return 0;
	r = pread(fd, t, k, (off_t)(size - k));
	if (r != (ssize_t)k) {
		if (r >= 0)
			errno = EIO;
		return -1;
	}
	if (t[k - 1] != '\n')
		*n_r = 2;
	else if (k >= 2 && t[k - 2] == '\n')
		*n_r = 0;
	else if (k == 3 && t[0] == '\n' && t[1] == '\r')
		*n_r = 0;
	else
		*n_r = 1;
	return 0;
}

static int write_message(struct ap *c, const struct mbox_append *a)
{
	if (put_from_line(c, a) == -1)
		return -1;
	if (a->prefix_len > 0) {
		c->prefix = 1;
		if (feed(c, a, a->prefix, a->prefix_len) == -1 || feed_end(c, a) == -1)
			return -1;
		c->prefix = 0;
		c->drop = c->prev_drop = 0;
	}
	if (a->data) {
		if (feed(c, a, a->data, a->len) == -1)
			return -1;
	} else if (feed_fd(c, a) == -1) {
		return -1;
	}
	if (feed_end(c, a) == -1)
		return -1;
	if (!c->body && (put_meta(c, a) == -1 || out_put(c, "\n", 1) == -1))
		return -1;      /* headers only: the separator is ours */
	if (out_put(c, "\n", 1) == -1)
		return -1;
	return out_flush(c);
}

static int args_ok(const struct mbox *mb, const struct mbox_append *a)
{
	const char *k;

	if (mb->fd < 0 || !(mb->mode & MBOX_RDWR)) {
		errno = EBADF;
		return 0;
	}
	if (mb->lock != MBOX_LOCK_WRITE) {
		errno = ENOLCK;
		return 0;
	}
	if ((!a->data && a->fd < 0 && a->len > 0) || (a->prefix_len > 0 && !a->prefix)) {
		errno = EINVAL;
		return 0;
	}
	for (k = a->keywords; k && *k; k++)
		if ((unsigned char)*k < ' ' || *k == 0x7f) {
			errno = EINVAL;
			return 0;
		}
	return 1;
}

/* ---- the crash record ---------------------------------------------------------- */

/* the per-message state of the filters (output position and dry-run
 * head are kept: the next message follows) */
static void ap_next(struct ap *c, const struct mbox_append *a)
{
	c->body = 0;
	c->bol = 1;
	c->drop = c->prev_drop = 0;
	c->prefix = 0;
	c->strip = a->strip_meta;
	c->strip_rp = a->strip_meta && a->prefix_len > 0;
	c->cr = 0;
	c->hold_len = 0;
}

static void ap_reset(struct ap *c, const struct mbox *mb, const struct mbox_append *a,
		     uint64_t size, int dry)
{
	c->fd = mb->fd;
	c->dry = dry;
	c->hashing = 0;
	c->hlen = 0;
	c->pos = size;
	c->olen = 0;
	ap_next(c, a);
}

/* Before writing: the old size, the size after the append (from a dry
 * run of the same filters; 0 for a pipe, which cannot be read twice) and
 * its first bytes, made durable in the journal directory (journal.c), so
 * that a crash mid-append is cut back at the next lock.  No journal
 * directory: no record (as before). *rfd_r = -1 then. */
static int record_begin(struct mbox *mb, const struct mbox_append *a, size_t n, struct ap *c,
			uint64_t size, size_t fix, int *rfd_r, int *known_r)
{
	struct mbox_arec r;
	size_t k;
	int seekable = 1;

	for (k = 0; k < n; k++)
		if (!a[k].data && lseek(a[k].fd, 0, SEEK_CUR) == (off_t)-1)
			seekable = 0;
	*rfd_r = -1;
	*known_r = 0;
	if (mbox_arec_open(mb, 1, rfd_r) == -1)
		return (errno == ENOENT || errno == EACCES || errno == ENOTDIR || errno == EROFS) ? 0 : -1;
	memset(&r, 0, sizeof r);
	r.n = size;
	if (seekable) {
		ap_reset(c, mb, a, size, 1);
		if (fix && out_put(c, "\n\n", fix) == -1)
			return -1;
		for (k = 0; k < n; k++) {
			ap_next(c, &a[k]);
			if (write_message(c, &a[k]) == -1)
				return -1;
		}
		r.m = c->pos;
		r.plen = c->hlen;
		memcpy(r.prefix, c->head, c->hlen);
		*known_r = 1;
	} else {
		/* the first bytes are known without reading the input */
		ap_reset(c, mb, a, size, 1);
		if ((fix && out_put(c, "\n\n", fix) == -1) || put_from_line(c, a) == -1)
			return -1;
		r.plen = c->olen < MBOX_AREC_PREFIX ? c->olen : MBOX_AREC_PREFIX;
		memcpy(r.prefix, c->out, r.plen);
	}
	return mbox_arec_set(*rfd_r, mb, &r);
}

/* ---- a retry after a crash ------------------------------------------------------ */

/* 1 if a copy of the message is already in the mailbox (*off_r), 0 if
 * not (or it cannot be told: a pipe, a date of "now", metadata to write),
 * -1 on an error.  The expected bytes come from a dry run of the filters
 * from offset 0, hashed; mbox_find_copy (copy.c) looks for them. */
static int find_copy(struct mbox *mb, const struct mbox_append *a, struct ap *c, uint64_t size,
		     uint64_t *off_r)
{
	unsigned char hash[16];
	uint64_t key[2];
	const unsigned char *nl;

	if (!a->once || !a->date || a->flags || (a->keywords && *a->keywords) || a->uid ||
	    (!a->data && lseek(a->fd, 0, SEEK_CUR) == (off_t)-1))
		return 0;
	mbox_journal_new_key(key);
	ap_reset(c, mb, a, 0, 1);
	c->hashing = 1;
	mbox_h128_init(&c->h, key);
	if (write_message(c, a) == -1)
		return -1;
	mbox_h128_end(&c->h, hash);
	nl = memchr(c->head, '\n', c->hlen);
	if (!nl)
		return 0;       /* a From_ line longer than the head kept */
	return mbox_find_copy(mb->fd, size, (const char *)c->head, (size_t)(nl - c->head) + 1,
			      c->pos, hash, key, off_r);
}

/* ---- public ---------------------------------------------------------------- */

int mbox_append(struct mbox *mb, const struct mbox_append *a, uint64_t *offset_r)
{
	return mbox_append_many(mb, a, 1, offset_r);
}

int mbox_append_many(struct mbox *mb, const struct mbox_append *a, size_t n, uint64_t *offsets_r)
{
	sigset_t block, old, pend, xfsz;
	struct timespec zero = { 0, 0 };
	struct stat st;
	struct ap *c;
	size_t fix, k;
	int xfsz_before, r = -1, e = 0, rfd = -1, known = 0;

	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	for (k = 0; k < n; k++)
		if (!args_ok(mb, &a[k]))
			return -1;
	c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	/* the rollback must run whatever arrives: block all but faults */
	sigfillset(&block);
	sigdelset(&block, SIGSEGV);
	sigdelset(&block, SIGBUS);
	sigdelset(&block, SIGILL);
	sigdelset(&block, SIGFPE);
	sigdelset(&block, SIGABRT);
	sigdelset(&block, SIGTRAP);
	sigdelset(&block, SIGSYS);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigemptyset(&pend);
	sigpending(&pend);
	xfsz_before = sigismember(&pend, SIGXFSZ);

	if (fstat(mb->fd, &st) == -1 || missing_lfs(mb->fd, (uint64_t)st.st_size, &fix) == -1) {
		e = errno;
		goto out;
	}
	if (n == 1 && a->once) {
		uint64_t at;
		int f = find_copy(mb, a, c, (uint64_t)st.st_size, &at);
		if (f != 0) {
			/* stored before the crash: not again; or an error */
			e = errno;
			if (f == 1 && offsets_r)
				offsets_r[0] = at;
			r = f == 1 ? 1 : -1;
			goto out;
		}
	}
	if (record_begin(mb, a, n, c, (uint64_t)st.st_size, fix, &rfd, &known) == -1) {
		e = errno;
		goto out;
	}
	ap_reset(c, mb, a, (uint64_t)st.st_size, 0);
	if (fix && out_put(c, "\n\n", fix) == -1) {
		e = errno;
		goto out;
	}
	for (k = 0; k < n; k++) {
		ap_next(c, &a[k]);
		if (offsets_r)
			offsets_r[k] = c->pos + c->olen;
		if (write_message(c, &a[k]) == -1)
			break;
	}
	if (k < n || fsync(mb->fd) == -1) {
		e = errno;
		/* back to the old size: byte-identical to before, none stored */
		if (ftruncate(mb->fd, st.st_size) == 0)
			fsync(mb->fd);
		goto out;
	}
	r = 0;
	mbox_lock_synced(mb);
	mbox_index_appended(mb, &st);
out:
	if (rfd >= 0) {
		/* done or undone: the record goes (durably when a record without
		 * the final size could not tell a whole message from a cut one) */
		if (mbox_arec_clear(rfd, !known) == -1 && r == 0 && !known) {
			/* unsure: the next lock would cut the message back */
			e = errno;
			r = -1;
		}
		close(rfd);
	}
	sigemptyset(&pend);
	if (!xfsz_before && sigpending(&pend) == 0 && sigismember(&pend, SIGXFSZ)) {
		/* our own EFBIG raised it: the error is returned instead */
		sigemptyset(&xfsz);
		sigaddset(&xfsz, SIGXFSZ);
		sigtimedwait(&xfsz, NULL, &zero);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(c);
	if (r == -1)
		errno = e;
	return r;
}

int mbox_deliver(const char *path, const struct mbox_append *a, unsigned timeout_ms)
{
	struct mbox mb;
	int e;

	if (mbox_open(&mb, path, MBOX_RDWR | MBOX_CREATE) == -1)
		return -1;
	if (mbox_lock(&mb, MBOX_LOCK_WRITE, timeout_ms) == -1 ||
	    mbox_append(&mb, a, NULL) == -1) {
		e = errno;
		mbox_close(&mb);
		errno = e;
		return -1;
	}
	/* the message is fsync'ed: an error now must not cause a retry */
	mbox_close(&mb);
	return 0;
}
