/* The selected mailbox as this session's client sees it.
 *
 * s->sc is the libmbox scan, kept between commands without a lock.  s->view
 * is the client's view: sequence number i+1 -> UID, flags, \Recent.  At each
 * command (and during IDLE) imap_view_sync takes a read lock briefly and
 * brings the scan up to date; messages without a UID, and new messages this
 * session sees first (no Status O), need the write lock: UIDs are assigned and
 * persisted (MBOX_RW_UIDS) before any client sees them, and the messages are
 * marked O so that they are \Recent in exactly this session.  The view is
 * then reconciled by UID: vanished UIDs become EXPUNGE responses (held back
 * while a command uses sequence numbers, RFC 3501 7.4.1), changed flags FETCH
 * FLAGS, new UIDs EXISTS/RECENT.  A changed UIDVALIDITY ends the session with
 * BYE: the client reconnects and resynchronises rather than see wrong data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "imap.h"
#include "bounds.h"
#include "log.h"
#include "mem.h"



long imap_scan_find_uid(const struct mbox_scan *sc, uint32_t uid)
{
	size_t lo = 0, hi = sc->count;

	/* UIDs increase in file order once assigned; uid 0 entries (not yet
	 * assigned) may sit at the end, so search only the assigned prefix */
	while (hi > 0 && sc->msgs[hi - 1].uid == 0)
		hi--;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sc->msgs[mid].uid < uid)
			lo = mid + 1;
		else if (sc->msgs[mid].uid > uid)
			hi = mid;
		else
			return (long)mid;
	}
	return -1;
}

long imap_view_index(struct imap_sess *s, size_t i)
{
	struct imap_vmsg *m = &s->view.v[i];
	long k;

	if (m->gone)
		return -1;
	if (m->idx < s->sc.count && s->sc.msgs[m->idx].uid == m->uid)
		return m->idx;
	k = imap_scan_find_uid(&s->sc, m->uid);
	if (k >= 0)
		m->idx = (uint32_t)k;
	return k;
}

uint32_t imap_view_max_uid(const struct imap_sess *s)
{
	return s->view.count ? s->view.v[s->view.count - 1].uid : 0;
}

void imap_uv_prepare(struct imap_sess *s, struct mbox_scan *sc)
{
	char dir[PATH_MAX];
	uint32_t uv;
	int n;

	if (sc->uidvalidity || sc->count == 0)
		return;
	n = snprintf(dir, sizeof dir, "%s/.imap", s->root);
	if (n < 0 || (size_t)n >= sizeof dir || mbox_uidvalidity_next(dir, &uv) < 0) {
		log_msg(LOG_NOTICE, "uidvalidity state in %s/.imap: %s", s->root, strerror(errno));
		return;   /* libmbox picks the time, as before */
	}
	sc->uidvalidity = uv;
	sc->base_dirty = 1;
}

static int needs_write(const struct imap_sess *s)
{
	size_t i;

	if (s->sc.missing_uids || (s->sc.uidvalidity == 0 && s->sc.count))
		return 1;
	if (s->readonly)
		return 0;
	for (i = 0; i < s->sc.count; i++)
		if (!(s->sc.msgs[i].flags & MBOX_F_OLD))
			return 1;
	return 0;
}

static void clear_requests(struct mbox_scan *sc)
{
	size_t i;

	for (i = 0; i < sc->count; i++) {
		sc->msgs[i].dirty = 0;
		sc->msgs[i].expunge = 0;
	}
}

/* Under the write lock: persist UIDs, claim new messages as our \Recent.
 * recent_r gets a malloc'ed list of the UIDs claimed. */
static int claim(struct imap_sess *s, uint32_t **recent_r, size_t *nrecent_r)
{
	size_t i, n = 0;
	size_t *idx = NULL;

	if (!s->readonly) {
		idx = malloc((s->sc.count + 1) * sizeof *idx);
		if (!idx)
			return -1;
		for (i = 0; i < s->sc.count; i++) {
			struct mbox_msg *m = &s->sc.msgs[i];
			if (m->flags & MBOX_F_OLD)
				continue;
			m->dirty = 1;
			m->new_flags = m->flags | MBOX_F_OLD;
			m->new_keywords = m->keywords;
			idx[n++] = i;
		}
	}
	imap_uv_prepare(s, &s->sc);
	if (mbox_rewrite(&s->mb, &s->sc, MBOX_RW_UIDS) < 0) {
		int e = errno;
		clear_requests(&s->sc);
		free(idx);
		errno = e;
		return -1;
	}
	if (n) {
		*recent_r = malloc(n * sizeof **recent_r);
		if (*recent_r) {
			for (i = 0; i < n; i++)
				(*recent_r)[i] = idx[i] < s->sc.count ? s->sc.msgs[idx[i]].uid : 0;
			*nrecent_r = n;
		}
	}
	free(idx);
	return 0;
}

static int full_rescan(struct imap_sess *s)
{
	mbox_scan_free(&s->sc);
	memset(&s->sc, 0, sizeof s->sc);
	return mbox_scan(&s->mb, &s->sc);
}

/* Brings s->sc up to date.  first: initial scan.  Leaves no lock held.
 * mbox_scan_update also refreshes the flags of known messages (another
 * session's in-place STORE, even before a delivery): reconcile compares
 * them whatever it returned. */
static int refresh(struct imap_sess *s, int first, uint32_t **recent_r, size_t *nrecent_r)
{
	int r, tries;

	if (mbox_lock(&s->mb, MBOX_LOCK_READ, conf_lock_ms(s->conf, IMAP_LOCK_TIMEOUT_MS)) < 0)
		return -1;
	r = first ? mbox_scan(&s->mb, &s->sc) : mbox_scan_update(&s->mb, &s->sc);
	if (r >= 0 && needs_write(s) && (s->mb.mode & MBOX_RDWR)) {
		for (tries = 0; tries < 3; tries++) {
			if (mbox_lock(&s->mb, MBOX_LOCK_WRITE, conf_lock_ms(s->conf, IMAP_LOCK_TIMEOUT_MS)) < 0) {
				r = -1;
				break;
			}
			r = mbox_scan_update(&s->mb, &s->sc);
			if (r < 0 || !needs_write(s))
				break;
			r = claim(s, recent_r, nrecent_r);
			if (r == 0 || errno != ESTALE)
				break;
			r = full_rescan(s);
			if (r < 0)
				break;
		}
	}
	{
		int e = errno;
		mbox_unlock(&s->mb);
		errno = e;
	}
	return r < 0 ? -1 : 0;
}

/* rec is in file order, so in increasing UID order: a binary search */
static int is_recent(uint32_t uid, const uint32_t *rec, size_t n)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rec[mid] < uid)
			lo = mid + 1;
		else if (rec[mid] > uid)
			hi = mid;
		else
			return 1;
	}
	return 0;
}

/* The first view of a mailbox is made at its size (imap_view_open), on huge
 * pages when large (mem.h): growing it by doubling touched each page again. */
static int view_grow(struct imap_view *v, size_t want)
{
	struct imap_vmsg *nv;
	size_t cap = v->cap ? v->cap : 64;

	if (want <= v->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	nv = v->v ? realloc(v->v, cap * sizeof *nv) : mem_big_zalloc(cap, sizeof *nv);
	if (!nv)
		return -1;
	v->v = nv;
	v->cap = cap;
	return 0;
}

void imap_view_flags_lines(struct imap_sess *s)
{
	size_t k;

	imap_put(s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (k = 0; k < s->sc.nkeywords; k++)
		if (imap_kw_ok(s->sc.keywords[k]))
			imap_put(s, " %s", s->sc.keywords[k]);
	imap_put(s, ")\r\n");
	if (s->readonly) {
		imap_put(s, "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n");
	} else {
		imap_put(s, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
		for (k = 0; k < s->sc.nkeywords; k++)
			if (imap_kw_ok(s->sc.keywords[k]))
				imap_put(s, " %s", s->sc.keywords[k]);
		imap_put(s, "%s)] Flags permitted.\r\n", s->sc.nkeywords < MBOX_KW_MAX ? " \\*" : "");
	}
	s->view.nkw_sent = s->sc.nkeywords;
}

/* Appends the scan's messages with UIDs above the view's; the count added,
 * or -1.  \Recent: claimed by this session (rec), or, read-only, not O. */
static long add_new(struct imap_sess *s, const uint32_t *rec, size_t nrec)
{
	struct imap_view *v = &s->view;
	uint32_t maxuid = imap_view_max_uid(s);
	long added = 0;
	size_t j;

	for (j = 0; j < s->sc.count; j++) {
		struct mbox_msg *m = &s->sc.msgs[j];
		struct imap_vmsg *n;
		if (m->uid == 0 || m->uid <= maxuid)
			continue;
		if (view_grow(v, v->count + 1) < 0)
			return -1;
		n = &v->v[v->count++];
		memset(n, 0, sizeof *n);
		n->uid = m->uid;
		n->flags = m->flags;
		n->keywords = m->keywords;
		n->idx = (uint32_t)j;
		n->recent = s->readonly ? !(m->flags & MBOX_F_OLD) : is_recent(m->uid, rec, nrec);
		v->recent += n->recent;
		maxuid = m->uid;
		added++;
	}
	return added;
}

/* Reconciles the view with s->sc by UID and reports the differences. */
static int reconcile(struct imap_sess *s, int flags, const uint32_t *rec, size_t nrec)
{
	struct imap_view *v = &s->view;
	size_t i, o, j = 0, oldrecent = v->recent;
	long added;

	if (s->sc.uidvalidity && v->uidvalidity != s->sc.uidvalidity) {
		if (v->count && !v->uv_placeholder) {
			log_msg(LOG_WARNING, "%s: UIDVALIDITY changed %u -> %u", s->sel_name,
				v->uidvalidity, s->sc.uidvalidity);
			imap_put(s, "* BYE [UIDVALIDITY %u] Mailbox was rebuilt elsewhere, "
				 "please reconnect\r\n", s->sc.uidvalidity);
			s->bye = 1;
			return -1;
		}
		v->uidvalidity = s->sc.uidvalidity;
		v->uv_placeholder = 0;
		imap_put(s, "* OK [UIDVALIDITY %u] UIDs valid\r\n", v->uidvalidity);
	}
	/* 1. match known UIDs; both lists are in increasing UID order */
	for (i = 0; i < v->count; i++) {
		struct imap_vmsg *m = &v->v[i];
		if (m->gone)
			continue;
		while (j < s->sc.count && s->sc.msgs[j].uid && s->sc.msgs[j].uid < m->uid)
			j++;
		if (j >= s->sc.count || s->sc.msgs[j].uid != m->uid) {
			m->gone = 1;
			continue;
		}
		m->idx = (uint32_t)j;
		if ((s->sc.msgs[j].flags & ~MBOX_F_OLD) != (m->flags & ~MBOX_F_OLD) ||
		    s->sc.msgs[j].keywords != m->keywords) {
			m->flags = s->sc.msgs[j].flags;
			m->keywords = s->sc.msgs[j].keywords;
			m->changed = 1;
		}
	}
	/* 2. EXPUNGE responses, when allowed */
	if (flags & IMAP_SYNC_EXPUNGE) {
		for (i = o = 0; i < v->count; i++) {
			if (v->v[i].gone) {
				imap_cs_expunged(s, o + 1, v->v[i].uid);   /* or VANISHED */
				if (v->v[i].recent)
					v->recent--;
				continue;
			}
			v->v[o++] = v->v[i];
		}
		v->count = o;
		imap_cs_expunged_end(s);
	}
	if (s->sc.nkeywords > v->nkw_sent)
		imap_view_flags_lines(s);
	/* 3. flags changed elsewhere */
	for (i = 0; i < v->count; i++) {
		if (!v->v[i].changed)
			continue;
		v->v[i].changed = 0;
		if (!v->v[i].gone)   /* RFC 9051 7.5.2: with UID in IMAP4rev2 */
			imap_put_fetch_flags(s, i, s->rev2);
	}
	/* 4. new messages */
	added = add_new(s, rec, nrec);
	if (added < 0)
		return -1;
	if (s->sc.uidnext > v->uidnext)
		v->uidnext = s->sc.uidnext;
	/* held-back expunged messages still count: EXISTS only grows */
	if (added)
		imap_put(s, "* %zu EXISTS\r\n", v->count);
	if ((added || v->recent != oldrecent) && !s->rev2)
		imap_put(s, "* %zu RECENT\r\n", v->recent);
	return 0;
}

int imap_view_sync(struct imap_sess *s, int flags)
{
	uint32_t *rec = NULL;
	size_t nrec = 0;
	int r;

	if (s->state != IMAP_S_SELECTED)
		return 0;
	if (s->mb.fd < 0) {
		/* the INBOX did not exist at SELECT: has mail arrived? */
		if (mbox_open(&s->mb, s->sel_path, MBOX_RDWR) < 0) {
			s->mb.fd = -1;
			return 0;
		}
		r = refresh(s, 1, &rec, &nrec);
		if (r == 0)
			r = reconcile(s, flags, rec, nrec);
		free(rec);
		return r < 0 && s->bye ? -1 : 0;
	}
	if (refresh(s, 0, &rec, &nrec) < 0) {
		/* busy or unreadable: report nothing this time */
		log_msg(LOG_NOTICE, "%s: sync: %s", s->sel_name, strerror(errno));
		free(rec);
		if (errno == ENOENT || errno == EINVAL) {
			imap_put(s, "* BYE Selected mailbox was removed\r\n");
			s->bye = 1;
			return -1;
		}
		return 0;
	}
	r = reconcile(s, flags, rec, nrec);
	free(rec);
	return r;
}

/* An INBOX the MTA has not created yet, in a spool directory only it may
 * write to: an empty mailbox until the first delivery (as Dovecot shows). */
static int inbox_not_yet(struct imap_sess *s, int readonly)
{
	s->mb.fd = -1;
	s->readonly = readonly;
	memset(&s->sc, 0, sizeof s->sc);
	memset(&s->view, 0, sizeof s->view);
	s->view.uidvalidity = (uint32_t)time(NULL);
	s->view.uv_placeholder = 1;
	s->view.uidnext = 1;
	s->state = IMAP_S_SELECTED;
	return 0;
}

/* SELECT of an unchanged mailbox whose index has its counters, with
 * nothing to write (every message has a UID and, read-write, none is
 * \Recent to claim): the responses from the counters, the view later.
 * 1 done, 0 not possible (nothing changed). */
static int open_lazy(struct imap_sess *s)
{
	struct mbox_counts c;
	struct mbox_peek *p = NULL;
	size_t k;

	if (mbox_lock(&s->mb, MBOX_LOCK_READ, conf_lock_ms(s->conf, IMAP_LOCK_TIMEOUT_MS)) < 0)
		return 0;
	if (mbox_index_peek(&s->mb, &c, &p) != 1 || (c.recent && !s->readonly))
		goto no;
	for (k = 0; k < c.nkeywords; k++) {
		if (!(s->sc.keywords[k] = strdup(mbox_peek_keyword(p, k))))
			goto no;
		s->sc.nkeywords = k + 1;
	}
	mbox_unlock(&s->mb);
	s->sc.uidvalidity = c.uidvalidity;
	s->sc.uidnext = c.uidnext;
	s->sc.highestmodseq = c.highestmodseq;
	s->view.lazy = p;
	s->view.lazy_unseen = c.first_unseen;
	s->view.count = c.count;
	s->view.recent = s->readonly ? c.recent : 0;
	s->view.uidvalidity = c.uidvalidity;
	s->view.uidnext = c.uidnext;
	s->view.nkw_sent = c.nkeywords;
	s->state = IMAP_S_SELECTED;
	return 1;
no:
	mbox_unlock(&s->mb);
	mbox_peek_free(p);
	mbox_scan_free(&s->sc);
	memset(&s->sc, 0, sizeof s->sc);
	return 0;
}

int imap_view_materialize(struct imap_sess *s)
{
	struct mbox_scan sc;
	size_t want = s->view.count;
	int r;

	if (!s->view.lazy)
		return 0;
	r = mbox_peek_table(s->view.lazy, &sc);
	mbox_peek_free(s->view.lazy);
	s->view.lazy = NULL;
	if (r == 0) {
		mbox_scan_free(&s->sc);
		s->sc = sc;
		s->view.count = 0;
		s->view.recent = 0;
		/* as the counters said: \Recent only read-only, from the flags */
		if (view_grow(&s->view, sc.count) < 0 || add_new(s, NULL, 0) < 0)
			r = -1;
		else if (s->view.count != want)
			r = -1, errno = EINVAL;
	}
	if (r < 0) {
		log_msg(LOG_WARNING, "%s: the view announced at SELECT: %s", s->sel_name, strerror(errno));
		imap_put(s, "* BYE Mailbox index unreadable, please reconnect\r\n");
		s->bye = 1;
		return -1;
	}
	return 0;
}

int imap_view_open(struct imap_sess *s, const char *name, const char *path, int readonly)
{
	uint32_t *rec = NULL;
	size_t nrec = 0;
	struct stat st;
	int mode = MBOX_RDWR;

	imap_view_close(s);
	if (str_copyz(s->sel_name, sizeof s->sel_name, name) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (str_copyz(s->sel_path, sizeof s->sel_path, path) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* a missing INBOX is shown empty, not created: the first delivery
	 * creates it with the spool's owner and group (Dovecot does the same) */
	if (!strcmp(name, "INBOX") && lstat(path, &st) < 0 && errno == ENOENT)
		return inbox_not_yet(s, readonly);
	if (mbox_open(&s->mb, path, mode) < 0) {
		if (errno != EACCES || mbox_open(&s->mb, path, MBOX_RDONLY) < 0)
			return -1;
		readonly = 1;
	}
	s->readonly = readonly;
	memset(&s->sc, 0, sizeof s->sc);
	memset(&s->view, 0, sizeof s->view);
	if (open_lazy(s))
		return 0;
	if (refresh(s, 1, &rec, &nrec) < 0) {
		int e = errno;
		free(rec);
		mbox_scan_free(&s->sc);
		mbox_close(&s->mb);
		s->mb.fd = -1;
		errno = e;
		return -1;
	}
	s->view.uidvalidity = s->sc.uidvalidity;
	if (!s->view.uidvalidity) {
		/* empty mailbox without IMAP metadata: no UID was ever given
		 * out, so any value will do until the first message gets one */
		s->view.uidvalidity = s->sc.mtime_sec > 0 ? (uint32_t)s->sc.mtime_sec : 1;
		s->view.uv_placeholder = 1;
	}
	s->view.uidnext = s->sc.uidnext ? s->sc.uidnext : 1;
	s->view.nkw_sent = s->sc.nkeywords;
	s->state = IMAP_S_SELECTED;
	/* fill the view silently; SELECT writes the counts itself */
	if (view_grow(&s->view, s->sc.count) < 0 || add_new(s, rec, nrec) < 0) {
		free(rec);
		imap_view_close(s);
		errno = ENOMEM;
		return -1;
	}
	free(rec);
	return 0;
}

void imap_view_close(struct imap_sess *s)
{
	if (s->updates)         /* RETURN (UPDATE) searches end with the mailbox */
		s->updates(s, 1);
	if (s->mb.fd >= 0) {
		mbox_close(&s->mb);
		s->mb.fd = -1;
	}
	mbox_scan_free(&s->sc);
	memset(&s->sc, 0, sizeof s->sc);
	mbox_peek_free(s->view.lazy);
	free(s->view.v);
	memset(&s->view, 0, sizeof s->view);
	free(s->saved);          /* RFC 5182 2.1: "$" is empty in a new mailbox */
	s->saved = NULL;
	s->nsaved = 0;
	if (s->state == IMAP_S_SELECTED)
		s->state = IMAP_S_AUTH;
	s->sel_name[0] = '\0';
}

int imap_view_write(struct imap_sess *s, imap_mark_fn mark, void *arg)
{
	int tries, r = -1, e = 0;

	if (s->mb.fd < 0)
		return 0;   /* an INBOX not created yet: nothing to change */
	for (tries = 0; tries < 3; tries++) {
		if (mbox_lock(&s->mb, MBOX_LOCK_WRITE, conf_lock_ms(s->conf, IMAP_LOCK_TIMEOUT_MS)) < 0)
			return -1;
		r = mbox_scan_update(&s->mb, &s->sc);
		if (r >= 0)
			r = mark(s, arg);
		if (r >= 0) {
			imap_uv_prepare(s, &s->sc);
			r = mbox_rewrite(&s->mb, &s->sc, MBOX_RW_UIDS);
		}
		e = errno;
		if (r < 0)
			clear_requests(&s->sc);
		if (r < 0 && e == ESTALE && full_rescan(s) >= 0) {
			mbox_unlock(&s->mb);
			continue;
		}
		break;
	}
	mbox_unlock(&s->mb);
	errno = e;
	return r < 0 ? -1 : 0;
}

static unsigned read_count;

/* Takes the read lock for serving messages.  Another session may have
 * rewritten the file since the scan (between the sync and now, or while
 * the lock was let go): the offsets are then stale, and a From_ line at an
 * old offset may well start another message of the same size.  So the
 * scan is brought up to date under the lock first (a fstat when nothing
 * changed); view entries find their message again by UID. */
static void read_lock(struct imap_sess *s)
{
	/* no lock: imap_view_load refuses (EAGAIN), the command answers
	 * NO [INUSE] for what it could not read */
	if (mbox_lock(&s->mb, MBOX_LOCK_READ, conf_lock_ms(s->conf, IMAP_LOCK_TIMEOUT_MS)) < 0) {
		log_msg(LOG_NOTICE, "%s: read lock: %s", s->sel_name, strerror(errno));
		return;
	}
	if (mbox_scan_update(&s->mb, &s->sc) < 0)
		log_msg(LOG_NOTICE, "%s: rescan: %s", s->sel_name, strerror(errno));
}

void imap_view_read_begin(struct imap_sess *s)
{
	read_count = 0;
	if (s->mb.fd >= 0)
		read_lock(s);
}

/* Called before writing a response that may fill the output buffer: a
 * full buffer means a blocking write to a client that may be slow, and no
 * lock is held while waiting for the client. */
void imap_view_read_release(struct imap_sess *s, size_t upcoming)
{
	if (s->mb.lock != MBOX_LOCK_NONE && s->io->out_len + upcoming > IO_OUTBUF / 2)
		mbox_unlock(&s->mb);
}

/* between messages: take the lock back, and let writers in now and then */
void imap_view_read_tick(struct imap_sess *s)
{
	if (s->mb.fd < 0)
		return;
	if (s->mb.lock == MBOX_LOCK_NONE) {
		/* let go for a full buffer (imap_view_read_release): write it
		 * now, or the next message lets go again */
		if (s->io->out_len)
			io_flush(s->io);
		read_lock(s);
		return;
	}
	if (++read_count % IMAP_READ_CHUNK)
		return;
	mbox_unlock(&s->mb);
	read_lock(s);
}

int imap_view_load(struct imap_sess *s, long k, int parts, char **p_r, size_t *len_r)
{
	/* without our lock (it could not be had) the offsets may be stale */
	if (s->mb.lock == MBOX_LOCK_NONE) {
		errno = EAGAIN;
		return -1;
	}
	return mbox_msg_load_locked(&s->mb, &s->sc.msgs[k], parts, p_r, len_r);
}

void imap_view_read_end(struct imap_sess *s)
{
	if (s->mb.lock != MBOX_LOCK_NONE)
		mbox_unlock(&s->mb);
}

/* EXPUNGE, CLOSE and MOVE: removes the view's \Deleted messages (all of
 * them with force), only those in uids if given; report: send EXPUNGE. */
struct expunge_arg {
	const struct imap_seq *uids;
	int force;
};

static int mark_expunge(struct imap_sess *s, void *arg)
{
	struct expunge_arg *a = arg;
	size_t i;

	for (i = 0; i < s->view.count; i++) {
		long k = imap_view_index(s, i);
		if (k < 0)
			continue;
		if (a->uids && !imap_seq_has(a->uids, s->view.v[i].uid, 0))
			continue;
		if (a->force || (s->sc.msgs[k].flags & MBOX_F_DELETED))
			s->sc.msgs[k].expunge = 1;
	}
	return 0;
}

int imap_view_expunge(struct imap_sess *s, const struct imap_seq *uids, int force, int report)
{
	struct expunge_arg a = { uids, force };

	if (imap_view_write(s, mark_expunge, &a) < 0)
		return -1;
	return report ? imap_view_sync(s, IMAP_SYNC_EXPUNGE) : 0;
}

int imap_view_select(struct imap_sess *s, struct imap_cmd *c, struct imap_seq *set,
		    unsigned char *sel)
{
	size_t i;

	if (imap_seq_dollar(s, set, c->uid) < 0)
		return -1;
	if (c->uid) {
		imap_seq_resolve(set, imap_view_max_uid(s));
		for (i = 0; i < s->view.count; i++)
			sel[i] = (unsigned char)imap_seq_has(set, s->view.v[i].uid, 0);
		return 0;
	}
	if (s->view.count == 0)
		return 0;   /* nothing to match, even "1:*" */
	imap_seq_resolve(set, (uint32_t)s->view.count);
	if (set->n && (set->r[set->n - 1].hi > s->view.count || set->r[0].lo == 0))
		return -1;
	for (i = 0; i < s->view.count; i++)
		sel[i] = (unsigned char)imap_seq_has(set, (uint32_t)(i + 1), 0);
	return 0;
}

/* ---- mod-sequences of the view (RFC 7162; the rest is condstore.c) ---------- */

uint64_t imap_cs_highest(const struct imap_sess *s)
{
	return s->sc.highestmodseq ? s->sc.highestmodseq : 1;
}

uint64_t imap_cs_modseq(struct imap_sess *s, size_t i)
{
	long k = imap_view_index(s, i);

	return k >= 0 && s->sc.msgs[k].modseq ? s->sc.msgs[k].modseq : imap_cs_highest(s);
}

/* "* n FETCH ([UID u ]FLAGS (...))" for view message i (FETCH, STORE, and
 * the flag changes imap_view_sync reports) */
void imap_put_fetch_flags(struct imap_sess *s, size_t i, int with_uid)
{
	if (with_uid)
		imap_put(s, "* %zu FETCH (UID %u FLAGS ", i + 1, s->view.v[i].uid);
	else
		imap_put(s, "* %zu FETCH (FLAGS ", i + 1);
	imap_put_flags(s, &s->view.v[i]);
	if (s->condstore)
		imap_put(s, " MODSEQ (%llu)", (unsigned long long)imap_cs_modseq(s, i));
	imap_putn(s, ")\r\n", 3);
}

/* ---- expunges as VANISHED (3.2.10) ------------------------------------------- */

static uint32_t *gone;
static size_t ngone, capgone;

/* An expunge to report: "* seq EXPUNGE", or with QRESYNC its UID kept for
 * one "* VANISHED uids" (imap_cs_expunged_end). */
void imap_cs_expunged(struct imap_sess *s, size_t seq, uint32_t uid)
{
	if (s->qresync) {
		if (ngone == capgone) {
			size_t nc = capgone ? capgone * 2 : 256;
			uint32_t *n = realloc(gone, nc * sizeof *n);
			if (n) {
				gone = n;
				capgone = nc;
			}
		}
		if (ngone < capgone) {
			gone[ngone++] = uid;
			return;
		}
		/* no memory: VANISHED one by one */
		imap_put(s, "* VANISHED %u\r\n", uid);
		return;
	}
	imap_put(s, "* %zu EXPUNGE\r\n", seq);
}

void imap_cs_expunged_end(struct imap_sess *s)
{
	if (ngone) {
		imap_put(s, "* VANISHED ");
		imap_put_ordered_set(s, gone, ngone);
		imap_put(s, "\r\n");
	}
	ngone = 0;
}
