/* The message table: one pass over the mailbox in 64 KiB pread blocks with
 * memchr for line ends (popa3d's way), never holding more than a block plus
 * MBOX_LINE_HEAD bytes of one line.  Boundaries, metadata and UID rules:
 * mbox-interop.md §4, §5, §7.6, §7.7 (Dovecot's rules). */
#include "private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the From_ line --------------------------------------------------------- */

static int alpha3(const char *p, const char *list)
{
	for (int i = 0; list[i * 3]; i++)
		if ((p[0] | 0x20) == (list[i * 3] | 0x20) && (p[1] | 0x20) == list[i * 3 + 1] &&
		    (p[2] | 0x20) == list[i * 3 + 2])
			return i;
	return -1;
}

static int num(const char *p, size_t n, size_t *i, int min_d, int max_d, int *v)
{
	int d = 0, x = 0;

	while (*i < n && d < max_d && p[*i] >= '0' && p[*i] <= '9') {
		x = x * 10 + (p[*i] - '0');
		(*i)++;
		d++;
	}
	*v = x;
	return d >= min_d && !(*i < n && p[*i] >= '0' && p[*i] <= '9') ? 0 : -1;
}

static int spaces(const char *p, size_t n, size_t *i)
{
	size_t s = *i;

	while (*i < n && p[*i] == ' ')
		(*i)++;
	return *i > s ? 0 : -1;
}

/* "+hhmm" / "-hhmm" -> seconds east of UTC */
static int numeric_tz(const char *p, size_t n, size_t i, long *off_r)
{
	int v;
	size_t j = i + 1;

	if (i >= n || (p[i] != '+' && p[i] != '-') || num(p, n, &j, 4, 4, &v) < 0 ||
	    v % 100 >= 60 || v / 100 > 14)
		return -1;
	*off_r = (p[i] == '-' ? -1 : 1) * ((v / 100) * 3600L + (v % 100) * 60L);
	return 0;
}

static time_t local_time(struct tm *tm)
{
	/* mktime is slow; most messages of a mailbox share the hour */
	static int cy = -1, cm, cd, ch;
	static time_t base;
	int mi = tm->tm_min, se = tm->tm_sec;

	if (tm->tm_year != cy || tm->tm_mon != cm || tm->tm_mday != cd || tm->tm_hour != ch) {
		struct tm t = *tm;
		t.tm_min = t.tm_sec = 0;
		t.tm_isdst = -1;
		base = mktime(&t);
		if (base == (time_t)-1)
			return 0;
		cy = tm->tm_year, cm = tm->tm_mon, cd = tm->tm_mday, ch = tm->tm_hour;
	}
	return base + mi * 60 + se;
}

/* asctime date at p[i..n): "Www Mmm dd hh:mm[:ss] [TZ ]yyyy[ extra]" */
static int from_date(const char *p, size_t n, size_t i, int64_t *t_r)
{
	struct tm tm;
	int v, mon;
	long off = 0;
	int have_off = 0;

	memset(&tm, 0, sizeof(tm));
	if (n - i < 3 || alpha3(p + i, "sunmontuewedthufrisat") < 0)
		return -1;
	i += 3;
	if (i < n && p[i] == ',')
		i++;
	if (spaces(p, n, &i) < 0 || n - i < 3 ||
	    (mon = alpha3(p + i, "janfebmaraprmayjunjulaugsepoctnovdec")) < 0)
		return -1;
	i += 3;
	if (spaces(p, n, &i) < 0 || num(p, n, &i, 1, 2, &tm.tm_mday) < 0 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || spaces(p, n, &i) < 0 ||
	    num(p, n, &i, 1, 2, &tm.tm_hour) < 0 || tm.tm_hour > 23 ||
	    i >= n || p[i++] != ':' || num(p, n, &i, 2, 2, &tm.tm_min) < 0 || tm.tm_min > 59)
		return -1;
	if (i < n && p[i] == ':') {
		i++;
		if (num(p, n, &i, 2, 2, &tm.tm_sec) < 0 || tm.tm_sec > 60)
			return -1;
	}
	if (spaces(p, n, &i) < 0)
		return -1;
	/* an optional timezone before the year: "+0100" or letters ("CET") */
	if (i < n && (p[i] < '0' || p[i] > '9')) {
		if (numeric_tz(p, n, i, &off) == 0) {
			have_off = 1;
			i += 5;
		} else {
			size_t s = i;
			while (i < n && i - s < 8 && ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z'))
				i++;
			if (i == s)
				return -1;
		}
		if (spaces(p, n, &i) < 0)
			return -1;
	}
	size_t ys = i;
	if (num(p, n, &i, 2, 4, &v) < 0 || i - ys == 3)
		return -1;
	tm.tm_year = i - ys == 4 ? v - 1900 : (v < 70 ? v + 100 : v);
	if (i < n && p[i] != ' ')
		return -1;
	if (!have_off && i < n) {
		size_t j = i;
		spaces(p, n, &j);
		if (numeric_tz(p, n, j, &off) == 0)
			have_off = 1;
	}
	tm.tm_mon = mon;
	if (t_r) {
		if (have_off) {
			time_t t = timegm(&tm);
			*t_r = t == (time_t)-1 ? 0 : (int64_t)t - off;
		} else {
			*t_r = (int64_t)local_time(&tm);
		}
	}
	return 0;
}

int mbox_scan_from_line(const char *p, size_t n, int64_t *t_r)
{
	if (n < 5 || memcmp(p, "From ", 5) != 0)
		return 0;
	while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	if (n > MBOX_LINE_HEAD)
		n = MBOX_LINE_HEAD;
	/* the sender has no fixed form: the date starts after a space */
	for (size_t i = 5; i + 10 < n; i++)
		if (p[i - 1] == ' ' && p[i] != ' ' && from_date(p, n, i, t_r) == 0)
			return 1;
	return 0;
}

/* ---- a From_ line at an offset -------------------------------------------- */

int mbox_scan_from_head(const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);

	return mbox_scan_from_line(p, nl ? (size_t)(nl - p) : n, NULL);
}

int mbox_scan_from_at(int fd, uint64_t off, uint64_t eof)
{
	char buf[MBOX_FROM_HEAD];
	size_t n;

	if (off >= eof)
		return 0;
	n = eof - off < sizeof(buf) ? (size_t)(eof - off) : sizeof(buf);
	if (mbox_pread_full(fd, buf, n, off) < 0)
		return -1;
	return mbox_scan_from_head(buf, n);
}

/* ---- the scanner ------------------------------------------------------------ */

enum { S_JUNK, S_HDR, S_BODY };

struct scan {
	struct mbox_scan *sc;
	int fd;
	uint64_t eof;
	int state;
	int keep_pseudo;
	int first;            /* the message in progress is the file's first */
	struct mbox_msg m;    /* in progress */
	int pseudo;           /* it has X-IMAP */
	int hidden;           /* last header line was metadata */
	int last_kind;
	int has_cl, has_xuid, has_base;
	uint64_t cl;
	uint32_t xuid;
	char kw[1024];        /* X-Keywords value, resolved at the header's end */
	size_t kwlen;
	int has_kw;
	/* body */
	uint64_t forced;      /* next From_ by Content-Length, or UINT64_MAX */
	uint64_t forced_end;  /* body end for it */
	uint64_t lf, bare, nbody;
	uint64_t last_ls;     /* last body line: start, */
	int last_empty, last_bare, last_lf; /* empty?, bare LF?, has LF? */
	int prev_empty;
};

static int add_msg(struct scan *s)
{
	struct mbox_scan *sc = s->sc;

	if (sc->count == sc->cap) {
		size_t nc = sc->cap ? sc->cap * 2 : 64;
		struct mbox_msg *nm = realloc(sc->msgs, nc * sizeof(*nm));
		if (!nm)
			return -1;
		sc->msgs = nm;
		sc->cap = nc;
	}
	sc->msgs[sc->count++] = s->m;
	return 0;
}

/* Content-Length check (Dovecot/mutt): trusted only when the line at
 * body_off + N is a From_ line, or the file ends there (a separator line
 * between them allowed). */
static void check_cl(struct scan *s)
{
	uint64_t pos = s->m.body_off + s->cl;
	char b[4];
	size_t n;

	s->forced = UINT64_MAX;
	if (s->cl > s->eof || pos > s->eof)
		return;
	if (pos == s->eof) {
		s->forced = s->forced_end = pos;
		return;
	}
	n = s->eof - (pos - 1) < 3 ? (size_t)(s->eof - (pos - 1)) : 3;
	if (mbox_pread_full(s->fd, b, n, pos - 1) < 0)
		return;
	if (b[1] == '\n') {
		if (pos + 1 == s->eof || mbox_scan_from_at(s->fd, pos + 1, s->eof) == 1) {
			s->forced = pos + 1;
			s->forced_end = pos;
		}
	} else if (n == 3 && b[1] == '\r' && b[2] == '\n') {
		if (pos + 2 == s->eof || mbox_scan_from_at(s->fd, pos + 2, s->eof) == 1) {
			s->forced = pos + 2;
			s->forced_end = pos;
		}
	} else if (b[0] == '\n' && b[1] == 'F' && mbox_scan_from_at(s->fd, pos, s->eof) == 1) {
		s->forced = pos;
		s->forced_end = pos;
	}
}

/* The header block ended at off (body starts there). */
static void header_end(struct scan *s, uint64_t body_off)
{
	struct mbox_scan *sc = s->sc;

	s->m.body_off = body_off;
	if (s->has_kw)
		s->m.keywords = mbox_meta_keywords(sc, s->kw, s->kwlen);
	/* X-UID valid only in a strictly increasing prefix, <= uidlast
	 * (Dovecot); without X-IMAPbase there is no uidlast, so none is. */
	if (!s->pseudo) {
		uint32_t prev = sc->count ? sc->msgs[sc->count - 1].uid : 0;
		if (s->has_xuid && sc->missing_uids == 0 && s->xuid > prev &&
		    s->xuid < sc->uidnext)
			s->m.uid = s->xuid;
		else
			s->m.uid = 0;
	}
	s->forced = UINT64_MAX;
	if (s->has_cl)
		check_cl(s);
	s->lf = s->bare = s->nbody = 0;
	s->last_ls = body_off;
	s->last_empty = s->last_bare = s->last_lf = 0;
}

static int msg_end(struct scan *s, uint64_t next)
{
	struct mbox_msg *m = &s->m;
	struct mbox_scan *sc = s->sc;
	int partial = 0;

	if (s->state == S_HDR)
		header_end(s, next);
	m->next = next;
	if (s->forced != UINT64_MAX && s->forced == next)
		m->body_end = s->forced_end;
	else if (s->nbody && s->last_empty)
		m->body_end = s->last_ls;   /* the separator empty line */
	else
		m->body_end = next;
	if (!s->nbody) {
		m->body_end = m->body_off;
	} else if (m->body_end == s->last_ls) {
		s->lf--;                    /* the separator is not body */
		s->bare -= (uint64_t)s->last_bare;
	} else if (m->body_end < next) {
		/* Content-Length ends the body inside the last line */
		if (s->last_lf) {
			s->lf--;
			s->bare -= (uint64_t)s->last_bare;
		}
		partial = 1;
	} else {
		partial = !s->last_lf;
	}
	m->body_size = (m->body_end - m->body_off) + s->bare;
	m->body_lines = (uint32_t)(s->lf + (uint64_t)partial);
	if (s->pseudo && s->first) {
		sc->pseudo = 1;
		if (!s->keep_pseudo) {
			sc->data_start = next;
			return 0;
		}
	} else if (m->uid == 0) {
		sc->missing_uids++;
	}
	if (sc->count == 0 && !(s->pseudo && s->first))
		sc->data_start = m->offset;
	return add_msg(s);
}

static void msg_start(struct scan *s, uint64_t off, uint64_t len, const char *p, size_t n)
{
	memset(&s->m, 0, sizeof(s->m));
	s->m.offset = off;
	s->m.hdr_off = off + len;
	mbox_scan_from_line(p, n, &s->m.internaldate);
	s->first = s->sc->count == 0 && !s->sc->pseudo;
	s->pseudo = 0;
	s->hidden = 0;
	s->last_kind = 0;
	s->has_cl = s->has_xuid = s->has_base = s->has_kw = 0;
	s->kwlen = 0;
	s->forced = UINT64_MAX;
	s->state = S_HDR;
}

static void header_meta(struct scan *s, int kind, const char *p, size_t n, int cont)
{
	const char *v;
	size_t vl;
	uint64_t x;
	uint32_t uv, last;

	if (cont) {
		v = p, vl = n;
		while (vl && (v[vl - 1] == '\n' || v[vl - 1] == '\r'))
			vl--;
	} else {
		v = mbox_meta_value(p, n, &vl);
	}
	switch (kind) {
	case MBOX_MK_STATUS:
		s->m.flags |= mbox_meta_status(v, vl);
		break;
	case MBOX_MK_XSTATUS:
		s->m.flags |= mbox_meta_xstatus(v, vl);
		break;
	case MBOX_MK_XKEYWORDS:
		if (s->kwlen >= sizeof(s->kw) - 1)
			break;
		if (vl > sizeof(s->kw) - 1 - s->kwlen)
			vl = sizeof(s->kw) - 1 - s->kwlen;
		memcpy(s->kw + s->kwlen, v, vl);
		s->kwlen += vl;
		s->kw[s->kwlen++] = ' ';
		s->has_kw = 1;
		break;
	case MBOX_MK_XUID:
		if (!cont && !s->has_xuid && mbox_meta_u64(v, vl, &x) == 0 && x <= UINT32_MAX) {
			s->has_xuid = 1;
			s->xuid = (uint32_t)x;
		} else if (!cont) {
			s->has_xuid = 1;   /* broken X-UID: invalid */
			s->xuid = 0;
		}
		break;
	case MBOX_MK_XIMAP:
	case MBOX_MK_XIMAPBASE:
		if (cont || !s->first || s->has_base)
			break;
		s->has_base = 1;
		if (kind == MBOX_MK_XIMAP)
			s->pseudo = 1;
		if (mbox_meta_base(s->sc, v, vl, &uv, &last) == 0) {
			s->sc->uidvalidity = uv;
			s->sc->uidnext = last + 1;
		}
		break;
	case MBOX_MK_CLEN:
		if (!cont && !s->has_cl && mbox_meta_u64(v, vl, &x) == 0) {
			s->has_cl = 1;
			s->cl = x;
		}
		break;
	}
}

/* One line: p[0..n) are its first bytes (all of it, or MBOX_LINE_HEAD),
 * off/len its place in the file (len with the LF), lf: ends in LF,
 * cr: the byte before the LF is CR. */
static inline int line(struct scan *s, const char *p, size_t n, uint64_t off,
		       uint64_t len, int lf, int cr)
{
	int empty = lf && (len == 1 || (len == 2 && cr));

	switch (s->state) {
	case S_BODY:
		if (s->forced != UINT64_MAX) {
			if (off == s->forced) {
				if (msg_end(s, off) < 0)
					return -1;
				msg_start(s, off, len, p, n);
				return 0;
			}
		} else if (s->prev_empty && n >= 5 && p[0] == 'F' &&
			   mbox_scan_from_line(p, n, NULL)) {
			if (msg_end(s, off) < 0)
				return -1;
			msg_start(s, off, len, p, n);
			s->prev_empty = 0;
			return 0;
		}
		s->nbody++;
		s->lf += (uint64_t)lf;
		s->bare += (uint64_t)(lf && !cr);
		s->last_ls = off;
		s->last_empty = empty;
		s->last_bare = lf && !cr;
		s->last_lf = lf;
		s->prev_empty = empty;
		return 0;
	case S_HDR:
		if (empty) {
			s->m.hdr_size += 2;
			header_end(s, off + len);
			s->state = S_BODY;
			s->prev_empty = 1;
			return 0;
		}
		if (p[0] == ' ' || p[0] == '\t') {
			if (s->hidden)
				header_meta(s, s->last_kind, p, n, 1);
			else
				s->m.hdr_size += len + (uint64_t)(lf && !cr);
			return 0;
		}
		s->last_kind = mbox_meta_kind(p, n);
		s->hidden = s->last_kind != MBOX_MK_NONE;
		if (s->hidden)
			header_meta(s, s->last_kind, p, n, 0);
		else
			s->m.hdr_size += len + (uint64_t)(lf && !cr);
		return 0;
	default:
		/* junk before the first message: any From_ line starts mail */
		if (n >= 5 && p[0] == 'F' && mbox_scan_from_line(p, n, NULL))
			msg_start(s, off, len, p, n);
		return 0;
	}
}

static int scan_finish(struct scan *s)
{
	if (s->state == S_JUNK) {
		if (s->sc->count == 0 && !s->sc->pseudo)
			s->sc->data_start = s->eof;
		return 0;
	}
	return msg_end(s, s->eof);
}

/* A line longer than MBOX_LINE_HEAD: find its end from pe on.  buf is
 * reused; last = the byte before pe. */
static int long_line_end(struct scan *s, char *buf, uint64_t pe, char last,
			 uint64_t *end_r, int *lf_r, int *cr_r)
{
	*lf_r = *cr_r = 0;
	while (pe < s->eof) {
		size_t w = s->eof - pe < MBOX_BLOCK ? (size_t)(s->eof - pe) : MBOX_BLOCK;
		if (mbox_pread_full(s->fd, buf, w, pe) < 0)
			return -1;
		char *nl = memchr(buf, '\n', w);
		if (nl) {
			*lf_r = 1;
			*cr_r = (nl > buf ? nl[-1] : last) == '\r';
			pe += (uint64_t)(nl - buf) + 1;
			break;
		}
		last = buf[w - 1];
		pe += w;
	}
	*end_r = pe;
	return 0;
}

/* Scans [start, eof) of fd; start is 0 or a From_ line. */
static int scan_run(struct scan *s, uint64_t start)
{
	char *buf = malloc(MBOX_BLOCK);
	char *head = malloc(MBOX_LINE_HEAD);
	uint64_t pos = start;    /* file offset of buf[0] */
	size_t keep = 0;         /* head of an unfinished line in buf[0..keep) */
	int ret = -1;

	if (!buf || !head)
		goto out;
	s->state = S_JUNK;
	s->prev_empty = 1;
	while (pos + keep < s->eof) {
		size_t want = MBOX_BLOCK - keep;
		if (want > s->eof - (pos + keep))
			want = (size_t)(s->eof - (pos + keep));
		if (mbox_pread_full(s->fd, buf + keep, want, pos + keep) < 0)
			goto out;
		size_t have = keep + want;
		char *p = buf, *e = buf + have;
		char *nl;
		while (p < e && (nl = memchr(p, '\n', (size_t)(e - p)))) {
			size_t n = (size_t)(nl - p) + 1;
			if (line(s, p, n > MBOX_LINE_HEAD ? MBOX_LINE_HEAD : n,
				 pos + (uint64_t)(p - buf), n, 1, nl > p && nl[-1] == '\r') < 0)
				goto out;
			p = nl + 1;
		}
		size_t rest = (size_t)(e - p);
		if (rest <= MBOX_LINE_HEAD && pos + have < s->eof) {
			/* an unfinished line: keep its head for the next block */
			memmove(buf, p, rest);
			pos += (uint64_t)(p - buf);
			keep = rest;
			continue;
		}
		if (rest) {
			uint64_t ls = pos + (uint64_t)(p - buf), end;
			size_t hn = rest > MBOX_LINE_HEAD ? MBOX_LINE_HEAD : rest;
			int lf, cr;
			memcpy(head, p, hn);
			if (long_line_end(s, buf, pos + have, e[-1], &end, &lf, &cr) < 0 ||
			    line(s, head, hn, ls, end - ls, lf, cr) < 0)
				goto out;
			pos = end;
		} else {
			pos += have;
		}
		keep = 0;
	}
	ret = scan_finish(s);
out:
	free(buf);
	free(head);
	return ret;
}

static void scan_reset(struct mbox_scan *sc)
{
	mbox_scan_free(sc);
	sc->uidnext = 1;
}

static void scan_setup(struct scan *s, struct mbox_scan *sc, int fd, uint64_t eof)
{
	memset(s, 0, sizeof(*s));
	s->sc = sc;
	s->fd = fd;
	s->eof = eof;
	s->forced = UINT64_MAX;
}

int mbox_scan_fd(int fd, uint64_t eof, struct mbox_scan *sc, int keep_pseudo)
{
	struct scan *s = malloc(sizeof(*s));
	int r;

	if (!s)
		return -1;
	scan_reset(sc);
	scan_setup(s, sc, fd, eof);
	s->keep_pseudo = keep_pseudo;
	sc->size = eof;
	r = scan_run(s, 0);
	free(s);
	return r;
}

void mbox_scan_identity(struct mbox_scan *sc, const struct stat *st)
{
	sc->dev = st->st_dev;
	sc->ino = st->st_ino;
	sc->size = (uint64_t)st->st_size;
	sc->mtime_sec = (int64_t)st->st_mtim.tv_sec;
	sc->mtime_nsec = st->st_mtim.tv_nsec;
	sc->ctime_sec = (int64_t)st->st_ctim.tv_sec;
	sc->ctime_nsec = st->st_ctim.tv_nsec;
}

int mbox_scan_whole(struct mbox *mb, struct mbox_scan *sc, const struct stat *st)
{
	if (mbox_scan_fd(mb->fd, (uint64_t)st->st_size, sc, 0) < 0) {
		int e = errno;
		scan_reset(sc);
		errno = e;
		return -1;
	}
	mbox_scan_identity(sc, st);
	return 0;
}

int mbox_scan_tail(int fd, uint64_t eof, struct mbox_scan *sc, uint64_t start)
{
	struct scan *s = malloc(sizeof(*s));
	int r;

	if (!s)
		return -1;
	scan_setup(s, sc, fd, eof);
	r = scan_run(s, start);
	free(s);
	return r;
}

/* Does fresh message f describe the same message as the scanned m?  The
 * last message before an append may have grown a line end (a mailbox
 * without its final separator): only its start is compared then. */
static int same_msg(const struct mbox_msg *m, const struct mbox_msg *f, int grown_last)
{
	if (m->offset != f->offset || m->hdr_off != f->hdr_off || m->body_off != f->body_off ||
	    m->hdr_size != f->hdr_size || m->uid != f->uid || m->internaldate != f->internaldate)
		return 0;
	return grown_last || (m->body_end == f->body_end && m->next == f->next &&
			      m->body_size == f->body_size && m->body_lines == f->body_lines);
}

/* Gives ns (a fresh scan) sc's keyword list, in sc's order so that the
 * caller's keyword bits (views, pending new_keywords) keep their meaning,
 * followed by the keywords only the file has; the fresh entries' bits are
 * renumbered to match.  1 = the union does not fit. */
static int merge_keywords(struct mbox_scan *sc, struct mbox_scan *ns)
{
	char *kw[MBOX_KW_MAX];
	size_t map[MBOX_KW_MAX], n = sc->nkeywords, fn = ns->nkeywords, i, j;
	int moved = 0;

	for (j = 0; j < fn; j++) {
		for (i = 0; i < sc->nkeywords; i++)
			if (!strcmp(sc->keywords[i], ns->keywords[j]))
				break;
		if (i == sc->nkeywords) {
			if (n == MBOX_KW_MAX)
				return 1;
			i = n++;
		}
		map[j] = i;
		moved |= i != j;
	}
	memcpy(kw, sc->keywords, sc->nkeywords * sizeof(*kw));
	for (j = 0; j < fn; j++) {
		if (map[j] < sc->nkeywords)
			free(ns->keywords[j]);
		else
			kw[map[j]] = ns->keywords[j];
	}
	memcpy(ns->keywords, kw, n * sizeof(*kw));
	ns->nkeywords = n;
	sc->nkeywords = 0;          /* the strings now belong to ns */
	if (!moved)
		return 0;
	for (i = 0; i < ns->count; i++) {
		uint64_t k = ns->msgs[i].keywords, out = 0;
		for (j = 0; k && j < fn; j++, k >>= 1)
			if (k & 1)
				out |= 1ULL << map[j];
		ns->msgs[i].keywords = out;
	}
	return 0;
}

/* ns is a fresh scan of the file sc was made from.  If every message of sc
 * is still where it was, ns takes over sc's pending requests (the file's
 * flags and keywords win for everything else) and replaces sc: 0.  Else 1
 * (sc is left as it was). */
int mbox_scan_merge(struct mbox_scan *sc, struct mbox_scan *ns, int grown)
{
	size_t i;

	if (ns->count < sc->count || ns->uidvalidity != sc->uidvalidity ||
	    ns->pseudo != sc->pseudo || ns->uidnext < sc->uidnext ||
	    (!grown && ns->count != sc->count))
		return 1;
	for (i = 0; i < sc->count; i++)
		if (!same_msg(&sc->msgs[i], &ns->msgs[i], grown && i + 1 == sc->count))
			return 1;
	if (merge_keywords(sc, ns))
		return 1;
	for (i = 0; i < sc->count; i++) {
		const struct mbox_msg *m = &sc->msgs[i];
		struct mbox_msg *f = &ns->msgs[i];
		f->new_flags = m->new_flags;
		f->new_keywords = m->new_keywords;
		f->dirty = m->dirty;
		f->expunge = m->expunge;
	}
	ns->base_dirty = sc->base_dirty;
	mbox_scan_free(sc);
	*sc = *ns;
	return 0;
}

void mbox_scan_free(struct mbox_scan *sc)
{
	for (size_t i = 0; i < sc->nkeywords && i < MBOX_KW_MAX; i++)
		free(sc->keywords[i]);
	free(sc->msgs);
	memset(sc, 0, sizeof(*sc));
}
