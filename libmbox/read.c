/* What clients are shown: a message without its metadata headers, every
 * LF made CRLF (existing CRLF kept), exactly hdr_size + body_size bytes
 * (mbox-interop.md §7.6).  Also the line-piece reader the rewriter uses. */
#include "private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the read-ahead window ---------------------------------------------- */

/* A FETCH of 1:* reads message after message: one pread and one fstat per
 * WIN_SIZE bytes instead of three calls per message (a syscall costs more
 * than the bytes here).  Used only under a read lock (no writer that locks
 * can change the file, and we do not write under it) and only under the
 * very lock it was filled under (mbox_lock_epoch). */
#define WIN_SIZE (256 * 1024)

struct win {
	int fd;
	unsigned long epoch;
	uint64_t off, eof;    /* file offset of buf[0]; the size at the fill */
	size_t len;
	char buf[WIN_SIZE];
};

static struct win *the_win;

/* the window for mb (emptied if filled under another lock), or NULL */
static struct win *win_for(const struct mbox *mb)
{
	struct win *w = the_win;

	if (mb->lock != MBOX_LOCK_READ)
		return NULL;
	if (!w && !(w = the_win = malloc(sizeof(*w))))
		return NULL;   /* no window: plain reads */
	if (w->fd != mb->fd || w->epoch != mbox_lock_epoch) {
		w->fd = mb->fd;
		w->epoch = mbox_lock_epoch;
		w->len = 0;
		w->off = w->eof = 0;
	}
	return w;
}

/* fills w from off on, n bytes at least (n <= WIN_SIZE); ESTALE past
 * the end */
static int win_fill(struct win *w, uint64_t off, size_t n)
{
	struct stat st;
	size_t len;

	if (fstat(w->fd, &st) < 0)
		return -1;
	w->len = 0;
	w->eof = (uint64_t)st.st_size;
	if (off > w->eof || n > w->eof - off) {
		errno = ESTALE;
		return -1;
	}
	len = w->eof - off < WIN_SIZE ? (size_t)(w->eof - off) : WIN_SIZE;
	if (mbox_pread_full(w->fd, w->buf, len, off) < 0)
		return -1;
	w->off = off;
	w->len = len;
	return 0;
}

/* makes w hold [off, off + n), n <= WIN_SIZE */
static int win_cover(struct win *w, uint64_t off, size_t n)
{
	if (w->len && off >= w->off && off - w->off + n <= w->len)
		return 0;
	return win_fill(w, off, n);
}

/* the file's size as the window last saw it (filled first if empty) */
static int win_eof(struct win *w, uint64_t off, uint64_t *eof_r)
{
	if (!w->len && win_fill(w, off, 0) < 0)
		return -1;
	*eof_r = w->eof;
	return 0;
}

/* mbox_scan_from_at through the window */
static int win_from_at(struct win *w, uint64_t off)
{
	size_t n;

	if (off >= w->eof)
		return 0;
	n = w->eof - off < MBOX_FROM_HEAD ? (size_t)(w->eof - off) : MBOX_FROM_HEAD;
	if (win_cover(w, off, n) < 0)
		return -1;
	return mbox_scan_from_head(w->buf + (off - w->off), n);
}

/* ---- the line-piece reader ---------------------------------------------- */

void mbox_reader_init(struct mbox_reader *r, int fd, uint64_t start, uint64_t end)
{
	r->fd = fd;
	r->pos = start;
	r->end = end;
	r->len = r->i = 0;
	r->mid = 0;
	r->win = NULL;
}

static int reader_fill(struct mbox_reader *r, uint64_t off)
{
	size_t w = r->end - off < MBOX_BLOCK ? (size_t)(r->end - off) : MBOX_BLOCK;
	struct win *win = r->win;

	if (win) {
		if (win_cover(win, off, w) < 0)
			return -1;
		memcpy(r->buf, win->buf + (off - win->off), w);
	} else if (mbox_pread_full(r->fd, r->buf, w, off) < 0)
		return -1;
	r->pos = off;
	r->len = w;
	r->i = 0;
	return 0;
}

int mbox_reader_next(struct mbox_reader *r, const char **p, size_t *n,
		     int *first, int *eol)
{
	char *q, *nl;
	size_t avail, k;

	if (r->i == r->len) {
		if (r->pos + r->len >= r->end)
			return 0;
		if (reader_fill(r, r->pos + r->len) < 0)
			return -1;
	}
	q = r->buf + r->i;
	avail = r->len - r->i;
	nl = memchr(q, '\n', avail);
	if (!nl && !r->mid && avail < MBOX_LINE_HEAD && r->i > 0 &&
	    r->pos + r->len < r->end) {
		/* a line starts near the block's end: reread from it so its
		 * head comes in one piece */
		if (reader_fill(r, r->pos + r->i) < 0)
			return -1;
		q = r->buf;
		avail = r->len;
		nl = memchr(q, '\n', avail);
	}
	k = nl ? (size_t)(nl - q) + 1 : avail;
	*p = q;
	*n = k;
	*first = !r->mid;
	*eol = nl != NULL;
	r->mid = !nl;
	r->i += k;
	return 1;
}

/* ---- the client view ---------------------------------------------------- */

struct view {
	mbox_sink_fn sink;
	void *arg;
	uint64_t left;        /* bytes still allowed */
	char prev;            /* last byte emitted (for CRLF) */
	size_t n;
	char buf[16384];
};

static int view_flush(struct view *v)
{
	if (v->n && v->sink(v->arg, v->buf, v->n) < 0)
		return -1;
	v->n = 0;
	return 0;
}

static int view_put(struct view *v, const char *p, size_t n)
{
	if (n > v->left) {
		errno = ESTALE;   /* more than scanned: the file changed */
		return -1;
	}
	v->left -= n;
	while (n) {
		size_t k = sizeof(v->buf) - v->n;
		if (k > n)
			k = n;
		memcpy(v->buf + v->n, p, k);
		v->n += k;
		p += k;
		n -= k;
		if (v->n == sizeof(v->buf) && view_flush(v) < 0)
			return -1;
	}
	return 0;
}

/* p[0..n) with every LF not preceded by CR made CRLF */
static int view_conv(struct view *v, const char *p, size_t n)
{
	const char *nl;

	while (n && (nl = memchr(p, '\n', n))) {
		size_t k = (size_t)(nl - p);
		char before = k ? p[k - 1] : v->prev;
		if (view_put(v, p, k) < 0 || (before != '\r' && view_put(v, "\r", 1) < 0) ||
		    view_put(v, "\n", 1) < 0)
			return -1;
		v->prev = '\n';
		p += k + 1;
		n -= k + 1;
	}
	if (n) {
		if (view_put(v, p, n) < 0)
			return -1;
		v->prev = p[n - 1];
	}
	return 0;
}

static int stream_header(int fd, const struct mbox_msg *m, struct view *v,
			 struct mbox_reader *r, struct win *w)
{
	const char *p;
	size_t n;
	int first, eol, hidden = 0, show = 1, ret;

	mbox_reader_init(r, fd, m->hdr_off, m->body_off);
	r->win = w;
	while ((ret = mbox_reader_next(r, &p, &n, &first, &eol)) > 0) {
		if (first) {
			if (p[0] == ' ' || p[0] == '\t')
				show = !hidden;
			else
				show = !(hidden = mbox_meta_kind(p, n) != MBOX_MK_NONE);
		}
		if (show && view_conv(v, p, n) < 0)
			return -1;
	}
	return ret;
}

static int stream_body(int fd, const struct mbox_msg *m, struct view *v,
		       struct mbox_reader *r, struct win *w)
{
	const char *p;
	size_t n;
	int first, eol, ret;

	mbox_reader_init(r, fd, m->body_off, m->body_end);
	r->win = w;
	v->prev = '\n';
	while ((ret = mbox_reader_next(r, &p, &n, &first, &eol)) > 0)
		if (view_conv(v, p, n) < 0)
			return -1;
	return ret;
}

/* mbox_view_stream, reading through w when not NULL */
static int view_stream(int fd, const struct mbox_msg *m, int parts, mbox_sink_fn sink,
		       void *arg, struct win *w)
{
	struct stat st;
	struct view *v;
	struct mbox_reader *r;
	uint64_t eof;
	int ret = -1, from;

	if (w) {
		if (win_eof(w, m->offset, &eof) < 0)
			return -1;
	} else {
		if (fstat(fd, &st) < 0)
			return -1;
		eof = (uint64_t)st.st_size;
	}
	if (m->hdr_off > m->body_off || m->body_off > m->body_end || m->body_end > eof)
		from = 0;
	else if ((from = w ? win_from_at(w, m->offset) : mbox_scan_from_at(fd, m->offset, eof)) < 0)
		return -1;
	if (from != 1) {
		errno = ESTALE;
		return -1;
	}
	v = malloc(sizeof(*v));
	r = malloc(sizeof(*r));
	if (!v || !r)
		goto out;
	v->sink = sink;
	v->arg = arg;
	v->n = 0;
	v->prev = '\n';
	if (parts & MBOX_PART_HEADER) {
		v->left = m->hdr_size;
		if (stream_header(fd, m, v, r, w) < 0)
			goto out;
		if (v->left) {
			errno = ESTALE;
			goto out;
		}
	}
	if (parts & MBOX_PART_BODY) {
		v->left = m->body_size;
		if (stream_body(fd, m, v, r, w) < 0)
			goto out;
		if (v->left) {
			errno = ESTALE;
			goto out;
		}
	}
	ret = view_flush(v);
out:
	free(v);
	free(r);
	return ret;
}

int mbox_view_stream(int fd, const struct mbox_msg *m, int parts, mbox_sink_fn sink, void *arg)
{
	return view_stream(fd, m, parts, sink, arg, NULL);
}

int mbox_msg_stream_locked(struct mbox *mb, const struct mbox_msg *m, int parts,
			   mbox_sink_fn sink, void *arg)
{
	if (mb->fd < 0 || mb->lock == MBOX_LOCK_NONE) {
		errno = mb->fd < 0 ? EBADF : ENOLCK;
		return -1;
	}
	return view_stream(mb->fd, m, parts, sink, arg, win_for(mb));
}

struct load {
	char *p;
	size_t n, cap;
};

static int load_sink(void *arg, const char *p, size_t n)
{
	struct load *l = arg;

	if (n > l->cap - l->n) {
		errno = ESTALE;
		return -1;
	}
	memcpy(l->p + l->n, p, n);
	l->n += n;
	return 0;
}

int mbox_msg_load_locked(struct mbox *mb, const struct mbox_msg *m, int parts,
			 char **p_r, size_t *len_r)
{
	struct load l;
	uint64_t want = 0;

	if (parts & MBOX_PART_HEADER)
		want += m->hdr_size;
	if (parts & MBOX_PART_BODY)
		want += m->body_size;
	if (want >= SIZE_MAX) {
		errno = EFBIG;
		return -1;
	}
	l.cap = (size_t)want;
	l.n = 0;
	if (!(l.p = malloc(l.cap + 1)))
		return -1;
	if (mbox_msg_stream_locked(mb, m, parts, load_sink, &l) < 0) {
		int e = errno;
		free(l.p);
		errno = e;
		return -1;
	}
	l.p[l.n] = 0;   /* a convenience for callers; not counted */
	*p_r = l.p;
	*len_r = l.n;
	return 0;
}
