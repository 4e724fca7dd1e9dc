/* Expunge, flag, keyword and UID changes (mbox-interop.md §7.7, §7.8).
 *
 * The algorithm, under the write lock the caller holds:
 *  0. (An interrupted rewrite or append was finished when the write lock
 *     was taken: lock.c -> recover.c.)  mbox_scan_update: mail appended
 *     since the scan becomes more entries
 *     (kept byte for byte) and flags another agent patched in place are
 *     taken in (only our requests are written over them); a structural
 *     change (messages moved, removed, renumbered) -> ESTALE, nothing
 *     written.
 *  1. Work out each message's new metadata: flags, keywords, UIDs handed
 *     out from uidnext (MBOX_RW_UIDS, with a new UIDVALIDITY = time() when
 *     there was none), X-IMAPbase in the first kept message (X-IMAP in the
 *     pseudo message when there is one; a new pseudo message when every
 *     message goes and the mailbox had UIDs).
 *  2. A changed message whose metadata lines form one run that the new
 *     block fits in (Dovecot's padding after X-Keywords) is patched in
 *     place: one pwrite of the same length.  Crash: that message's flags
 *     are old or new (a run that crosses a 4 KiB page could in theory be
 *     torn between the pages: metadata lines only, never mail).
 *  3. From D, the first message that must move or grow (or go), to EOF the
 *     new image T is built in the journal (journal.c: T streamed in 1 MiB
 *     writes, then a hash of each old 4 KiB block of [D,E), then a header
 *     with D, E, the grown size G, a random key and keyed hashes; one
 *     fsync).  Crash while writing it, or ENOSPC: the journal does not
 *     verify (or is removed) and the mailbox is untouched.
 *  4. The growth is reserved (FALLOC_FL_KEEP_SIZE; ENOSPC: journal
 *     dropped, mailbox untouched) and the file grown to G, T is copied
 *     over [D, ...) in block-aligned chunks, the file truncated to
 *     D + len T and fsync'ed.  Crash anywhere from the journal's fsync to
 *     its removal: every block holds its old bytes, T's or growth zeros,
 *     and the next lock (read or write) copies T again: the mailbox ends
 *     wholly new (recover.c).
 *  5. The journal is removed.  sc is updated from what T holds (offsets
 *     shifted, new metadata), or rebuilt by a scan in the rare cases where
 *     that could differ from what a scan finds (see new_table). */
#include "private.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


struct item {
	struct mbox_msg m;    /* offsets (for the pseudo message: its own) */
	struct mbox_meta_out out;
	int change;           /* its metadata must be rewritten */
	int expunge;
	int inplace;          /* the change fits where the old lines are */
	uint64_t run_off, run_len;
	/* where T puts it (rewrite_tail), for the new table: */
	uint64_t noff;        /* its From_ line */
	uint64_t nbody;       /* its body; 0 = not known (rescan) */
};

/* Where a message's metadata lines are: one run (groups == 1) or not. */
struct hplan {
	uint64_t run_off, run_len, term_off;
	int groups, has_cl, run_lf;
};

static int hdr_plan(int fd, const struct mbox_msg *m, struct hplan *hp, struct mbox_reader *r)
{
	const char *p;
	size_t n;
	int first, eol, ret, hidden = 0, in_group = 0, kind;
	uint64_t off;

	memset(hp, 0, sizeof(*hp));
	hp->term_off = m->body_off;
	mbox_reader_init(r, fd, m->hdr_off, m->body_off);
	for (;;) {
		off = mbox_reader_off(r);
		if ((ret = mbox_reader_next(r, &p, &n, &first, &eol)) <= 0)
			break;
		if (first) {
			if (eol && (n == 1 || (n == 2 && p[0] == '\r'))) {
				hp->term_off = off;
				break;
			}
			if (p[0] != ' ' && p[0] != '\t') {
				kind = mbox_meta_kind(p, n);
				hidden = kind != MBOX_MK_NONE;
				if (kind == MBOX_MK_CLEN)
					hp->has_cl = 1;
			}
			if (hidden && !in_group) {
				hp->groups++;
				hp->run_off = off;
			}
			in_group = hidden;
		}
		if (in_group) {
			hp->run_len = off + n - hp->run_off;
			hp->run_lf = eol;
		}
	}
	return ret < 0 ? -1 : 0;
}

/* ---- building T in the journal ------------------------------------------- */

/* From_ line, visible header lines, new metadata, the empty line, body. */
static int put_changed(struct mbox_journal *j, int fd, const struct mbox_scan *sc,
		       struct item *it, struct mbox_reader *r)
{
	struct hplan hp;
	char meta[MBOX_META_MAX];
	const char *p;
	size_t n;
	int first, eol, ret, hidden = 0, odd = 0;
	uint64_t start = j->tlen;
	long ml;

	it->nbody = 0;
	if (hdr_plan(fd, &it->m, &hp, r) < 0)
		return -1;
	it->out.clen = hp.has_cl ? (int64_t)(it->m.body_end - it->m.body_off) : -1;
	if ((ml = mbox_meta_format(sc, &it->out, meta, sizeof(meta), 0)) < 0)
		return -1;
	if (mbox_journal_copy(j, fd, it->m.offset, it->m.hdr_off - it->m.offset) < 0)
		return -1;
	mbox_reader_init(r, fd, it->m.hdr_off, hp.term_off);
	while ((ret = mbox_reader_next(r, &p, &n, &first, &eol)) > 0) {
		if (first && p[0] != ' ' && p[0] != '\t')
			hidden = mbox_meta_kind(p, n) != MBOX_MK_NONE;
		if (!hidden && mbox_journal_put(j, p, n) < 0)
			return -1;
		/* a last visible line without LF (header at EOF) */
		if (!hidden && !eol && mbox_reader_off(r) == hp.term_off) {
			if (mbox_journal_put(j, "\n", 1) < 0)
				return -1;
			odd = 1;
		}
	}
	if (ret < 0 || mbox_journal_put(j, meta, (size_t)ml) < 0)
		return -1;
	/* the body follows the empty line, now after the metadata; a header
	 * without an empty line is left to the rescan */
	if (!odd && hp.term_off < it->m.body_off)
		it->nbody = it->noff + (j->tlen - start) + (it->m.body_off - hp.term_off);
	return mbox_journal_copy(j, fd, hp.term_off, it->m.next - hp.term_off);
}

static int put_pseudo(struct mbox_journal *j, const struct mbox_scan *sc, struct item *it)
{
	char b[1024], meta[MBOX_META_MAX], date[64], host[256];
	time_t now = time(NULL);
	struct tm tm;
	long ml;
	int r;

	if (!localtime_r(&now, &tm) || !strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm))
		return -1;
	if (gethostname(host, sizeof(host) - 1) < 0)
		memcpy(host, "localhost", 10);
	host[sizeof(host) - 1] = 0;
	r = snprintf(b, sizeof(b),
		     "From MAILER_DAEMON  %s\n"
		     "Date: %s\n"
		     "From: Mail System Internal Data <MAILER-DAEMON@%.200s>\n"
		     "Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
		     "Message-ID: <%lu@%.200s>\n",
		     date, date, host, (unsigned long)sc->uidvalidity, host);
	if (r < 0 || (size_t)r >= sizeof(b)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	it->out.clen = -1;
	if ((ml = mbox_meta_format(sc, &it->out, meta, sizeof(meta), 0)) < 0)
		return -1;
	static const char body[] = "\n"
		"This text is part of the internal format of your mail folder, and is not\n"
		"a real message.  It is created automatically by the mail system software.\n"
		"If deleted, important folder data will be lost, and it will be re-created\n"
		"with the data reset to initial values.\n\n";
	if (mbox_journal_put(j, b, (size_t)r) < 0 || mbox_journal_put(j, meta, (size_t)ml) < 0 ||
	    mbox_journal_put(j, body, sizeof(body) - 1) < 0)
		return -1;
	return 0;
}

/* ---- the plan -------------------------------------------------------------- */

struct plan {
	struct item *it;
	size_t n;
	size_t first_msg;        /* index of sc->msgs[0] in it[] */
	int new_pseudo;          /* every message goes: write a pseudo message */
	uint64_t new_pseudo_at;
	uint32_t uv, next;
};

static int make_plan(struct mbox *mb, struct mbox_scan *sc, int opts, struct plan *pl)
{
	struct mbox_scan ps;
	int base_changed, kept = 0;
	size_t i, k = 0;

	memset(pl, 0, sizeof(*pl));
	pl->it = mem_big_zalloc(sc->count + 1, sizeof(*pl->it));
	if (!pl->it)
		return -1;
	pl->uv = sc->uidvalidity;
	pl->next = sc->uidnext ? sc->uidnext : 1;
	if ((opts & MBOX_RW_UIDS) && pl->uv == 0) {
		time_t t = time(NULL);
		pl->uv = t > 0 && (uint64_t)t < UINT32_MAX ? (uint32_t)t : 1;
	}
	if (sc->pseudo) {
		/* the pseudo message's offsets: scanned with it kept visible */
		memset(&ps, 0, sizeof(ps));
		if (mbox_scan_fd(mb->fd, sc->data_start, &ps, 1) < 0)
			return -1;
		if (ps.count == 0) {
			mbox_scan_free(&ps);
			errno = ESTALE;
			return -1;
		}
		pl->it[0].m = ps.msgs[0];
		pl->it[0].out.base = 2;
		pl->it[0].out.flags = MBOX_F_SEEN | MBOX_F_OLD;
		mbox_scan_free(&ps);
		k = 1;
	}
	pl->first_msg = k;
	for (i = 0; i < sc->count; i++, k++) {
		struct mbox_msg *m = &sc->msgs[i];
		struct item *it = &pl->it[k];
		it->m = *m;
		it->expunge = m->expunge;
		it->out.flags = m->dirty ? m->new_flags : m->flags;
		it->out.keywords = m->dirty ? m->new_keywords : m->keywords;
		it->out.uid = m->uid;
		if (m->expunge)
			continue;
		kept++;
		if ((opts & MBOX_RW_UIDS) && m->uid == 0) {
			if (pl->next == UINT32_MAX) {
				errno = EOVERFLOW;
				return -1;
			}
			it->out.uid = pl->next++;
		}
		it->change = it->out.flags != m->flags || it->out.keywords != m->keywords ||
			     it->out.uid != m->uid;
	}
	pl->n = k;
	base_changed = sc->base_dirty || pl->uv != sc->uidvalidity || pl->next != sc->uidnext;
	if (sc->pseudo) {
		pl->it[0].change = base_changed;
	} else if (pl->uv) {
		if (kept == 0 && sc->count) {
			pl->new_pseudo = 1;
			pl->new_pseudo_at = sc->msgs[0].offset;
		}
		/* X-IMAPbase belongs to the first kept message only */
		for (i = pl->first_msg; i < pl->n; i++) {
			if (pl->it[i].expunge)
				continue;
			pl->it[i].out.base = 1;
			if (base_changed || i != pl->first_msg || sc->uidvalidity == 0)
				pl->it[i].change = 1;
			break;
		}
	}
	for (i = 0; i < pl->n; i++)
		if (pl->it[i].expunge)
			pl->it[i].change = 1;
	return 0;
}

/* Checks whether each changed item fits in place. */
static int plan_inplace(struct mbox *mb, const struct mbox_scan *sc, struct plan *pl,
			struct mbox_reader *r)
{
	struct hplan hp;
	char meta[MBOX_META_MAX];

	for (size_t i = 0; i < pl->n; i++) {
		struct item *it = &pl->it[i];
		if (!it->change || it->expunge)
			continue;
		if (hdr_plan(mb->fd, &it->m, &hp, r) < 0)
			return -1;
		if (hp.groups != 1 || !hp.run_lf || hp.run_len > sizeof(meta))
			continue;
		it->out.clen = hp.has_cl ? (int64_t)(it->m.body_end - it->m.body_off) : -1;
		if (mbox_meta_format(sc, &it->out, meta, sizeof(meta), (size_t)hp.run_len) < 0)
			continue;
		it->inplace = 1;
		it->run_off = hp.run_off;
		it->run_len = hp.run_len;
	}
	return 0;
}

static int patch(struct mbox *mb, const struct mbox_scan *sc, struct item *it)
{
	char meta[MBOX_META_MAX];
	long ml = mbox_meta_format(sc, &it->out, meta, sizeof(meta), (size_t)it->run_len);

	if (ml < 0)
		return -1;
	return mbox_pwrite_full(mb->fd, meta, (size_t)ml, it->run_off);
}

static void set_identity(struct mbox *mb, struct mbox_scan *sc)
{
	struct stat st;

	if (fstat(mb->fd, &st) == 0) {
		sc->size = (uint64_t)st.st_size;
		sc->mtime_sec = (int64_t)st.st_mtim.tv_sec;
		sc->mtime_nsec = st.st_mtim.tv_nsec;
		sc->ctime_sec = (int64_t)st.st_ctim.tv_sec;
		sc->ctime_nsec = st.st_ctim.tv_nsec;
	}
}

static void touch(void *arg)
{
	mbox_lock_touch(arg);
}

/* Journal path: [d, E) replaced by T built from items from index k on. */
static int rewrite_tail(struct mbox *mb, struct mbox_scan *sc, struct plan *pl, size_t k,
			uint64_t d, struct mbox_reader *r)
{
	struct mbox_journal *j = malloc(sizeof(*j));
	uint64_t e = sc->size;
	int ret = -1;

	if (!j)
		goto out;
	if (mbox_journal_begin(mb, j) < 0)
		goto out;
	if (pl->new_pseudo) {
		struct item ps;
		memset(&ps, 0, sizeof(ps));
		ps.out.base = 2;
		ps.out.flags = MBOX_F_SEEN | MBOX_F_OLD;
		if (put_pseudo(j, sc, &ps) < 0)
			goto fail;
	}
	for (size_t i = k; i < pl->n; i++) {
		struct item *it = &pl->it[i];
		if (it->expunge)
			continue;
		it->noff = d + j->tlen;
		if (!it->change) {
			it->nbody = it->noff + (it->m.body_off - it->m.offset);
			if (mbox_journal_copy(j, mb->fd, it->m.offset, it->m.next - it->m.offset) < 0)
				goto fail;
		} else if (put_changed(j, mb->fd, sc, it, r) < 0) {
			goto fail;
		}
	}
	if (mbox_journal_commit(mb, j, d, e) < 0)
		goto fail;
	ret = mbox_journal_apply(mb, j, touch, mb);
	goto out;
fail:
	mbox_journal_abort(j);
out:
	free(j);
	return ret;
}

/* After a rewrite whose table is not sure: sc from a scan of the new
 * file (on failure sc is left stale: the caller rescans). */
static int rescan_into(struct mbox *mb, struct mbox_scan *sc)
{
	struct mbox_scan ns;

	memset(&ns, 0, sizeof ns);
	if (mbox_scan(mb, &ns) < 0)
		return -1;
	mbox_scan_free(sc);
	*sc = ns;
	return 0;
}

/* The table entry m of item it as written: where rewrite_tail put it
 * (moved: same relative layout from noff and nbody), its new metadata. */
static void entry_from(struct mbox_msg *m, const struct item *it, int moved, uint64_t kwmask)
{
	if (moved) {
		uint64_t hd = it->m.hdr_off - it->m.offset;
		uint64_t bl = it->m.body_end - it->m.body_off;
		uint64_t tl = it->m.next - it->m.body_off;
		m->offset = it->noff;
		m->hdr_off = it->noff + hd;
		m->body_off = it->nbody;
		m->body_end = it->nbody + bl;
		m->next = it->nbody + tl;
	}
	m->flags = it->out.flags & 0x3f;
	m->keywords = it->out.keywords & kwmask;
	m->uid = it->out.uid;
	m->new_flags = 0;
	m->new_keywords = 0;
	m->dirty = 0;
	m->expunge = 0;
}

/* The table of the rewritten file from the plan: messages before item k
 * did not move, the others are where rewrite_tail put them with the same
 * relative layout.  A scan would find exactly this when every kept message
 * has a UID and the first one carries X-IMAPbase (unchanged copies then
 * parse as before; changed ones have only our metadata lines).  One case
 * is not caught: an unchanged message whose Content-Length the scan had
 * ignored, and which by chance points at a From_ line once the next message
 * is gone; the table then keeps the old (still whole) split.  1 = not sure,
 * rescan. */
static int new_table(struct mbox *mb, struct mbox_scan *sc, const struct plan *pl, size_t k)
{
	struct mbox_msg *msgs;
	size_t i, c = 0;
	uint64_t kwmask = sc->nkeywords >= 64 ? ~0ULL : (1ULL << sc->nkeywords) - 1;

	if (pl->new_pseudo || pl->uv == 0)
		return 1;
	for (i = pl->first_msg; i < pl->n; i++) {
		const struct item *it = &pl->it[i];
		if (it->expunge)
			continue;
		if (it->out.uid == 0 || (i >= k && it->nbody == 0))
			return 1;
		c++;
	}
	if (pl->first_msg && k == 0 && pl->it[0].change && pl->it[0].nbody == 0)
		return 1;   /* the pseudo message's header could not be placed */
	if (!(msgs = mem_big_zalloc(c ? c : 1, sizeof(*msgs))))
		return 1;
	c = 0;
	for (i = pl->first_msg; i < pl->n; i++) {
		const struct item *it = &pl->it[i];
		struct mbox_msg *m = &msgs[c];
		if (it->expunge)
			continue;
		*m = it->m;
		entry_from(m, it, i >= k, kwmask);
		c++;
	}
	free(sc->msgs);
	sc->msgs = msgs;
	sc->count = sc->cap = c;
	if (c == 0)
		sc->cap = 1;
	sc->missing_uids = 0;
	sc->base_dirty = 0;
	if (c)
		sc->data_start = msgs[0].offset;
	set_identity(mb, sc);
	if (c == 0) {
		/* a pseudo message alone (kept): it ends the file */
		sc->data_start = sc->size;
	}
	return 0;
}

/* ---- the common case: UIDs for mail appended since ------------------------ */

/* The first open after deliveries: the messages without a UID are exactly
 * the last ones (mbox_append's), nothing else is asked for but their UIDs
 * (and their own flags: imapd's \Recent claim), and the base line in the
 * first message can be patched in place.  The general path plans, copies
 * and rebuilds a table of every message (and the index's modseqs from a
 * snapshot of it): at 100,000 messages tens of MB of memory for one new
 * message.  Here only the base line and the tail are planned; the same
 * patch and journal steps write them, the table's tail is updated and the
 * index rewritten from it (index.c gives the new messages a new modseq).
 * 1 = not this case (nothing written): the general path; 0 done; -1 error
 * (as the general path's: the file is old or new, sc as it was). */
unsigned long mbox_tail_uids_done;

static int tail_uids(struct mbox *mb, struct mbox_scan *sc, int opts, struct mbox_reader *r)
{
	struct plan pl;
	size_t i, j, k, kk;
	uint32_t oldnext = sc->uidnext;
	int ret = 1;

	if (opts != MBOX_RW_UIDS || !sc->uidvalidity || sc->pseudo || sc->base_dirty ||
	    sc->count < 2 || !sc->uidnext || !sc->highestmodseq || !sc->missing_uids)
		return 1;
	for (k = 0; k < sc->count && sc->msgs[k].uid; k++)
		if (sc->msgs[k].dirty || sc->msgs[k].expunge)
			return 1;
	if (k == 0 || k == sc->count || sc->count - k > UINT32_MAX - sc->uidnext)
		return 1;
	for (i = k; i < sc->count; i++)
		if (sc->msgs[i].uid || sc->msgs[i].expunge)
			return 1;
	memset(&pl, 0, sizeof pl);
	if (!(pl.it = calloc(sc->count - k + 1, sizeof *pl.it)))
		return -1;
	pl.uv = sc->uidvalidity;
	pl.next = sc->uidnext;
	pl.n = sc->count - k + 1;
	pl.it[0].m = sc->msgs[0];
	pl.it[0].out.flags = sc->msgs[0].flags;
	pl.it[0].out.keywords = sc->msgs[0].keywords;
	pl.it[0].out.uid = sc->msgs[0].uid;
	pl.it[0].out.base = 1;
	pl.it[0].change = 1;
	for (i = k, j = 1; i < sc->count; i++, j++) {
		const struct mbox_msg *m = &sc->msgs[i];
		struct item *it = &pl.it[j];
		it->m = *m;
		it->out.flags = m->dirty ? m->new_flags : m->flags;
		it->out.keywords = m->dirty ? m->new_keywords : m->keywords;
		it->out.uid = pl.next++;
		it->change = 1;
	}
	if (plan_inplace(mb, sc, &pl, r) < 0) {
		ret = -1;
		goto out;
	}
	if (!pl.it[0].inplace)
		goto out;               /* the base line must move: everything does */
	ret = -1;
	sc->uidnext = pl.next;          /* the base line is formatted from sc */
	for (kk = 0; kk < pl.n && pl.it[kk].inplace; kk++)
		if (patch(mb, sc, &pl.it[kk]) < 0)
			goto undo;
	if (kk < pl.n) {
		if (rewrite_tail(mb, sc, &pl, kk, pl.it[kk].m.offset, r) < 0)
			goto undo;
	} else if (fsync(mb->fd) < 0) {
		goto undo;
	}
	/* the table: the tail where rewrite_tail put it (as new_table), or
	 * a scan when that is not sure */
	for (j = kk; j < pl.n && pl.it[j].nbody; j++)
		;
	if (j < pl.n) {
		ret = rescan_into(mb, sc);
		goto out;
	}
	for (j = 1; j < pl.n; j++)
		entry_from(&sc->msgs[k + j - 1], &pl.it[j], j >= kk,
			   sc->nkeywords >= 64 ? ~0ULL : (1ULL << sc->nkeywords) - 1);
	ret = 0;
	sc->missing_uids = 0;
	set_identity(mb, sc);
	mbox_index_tail_uids(mb, sc, k);
	mbox_tail_uids_done++;
	goto out;
undo:
	sc->uidnext = oldnext;
out:
	free(pl.it);
	return ret;
}

int mbox_rewrite(struct mbox *mb, struct mbox_scan *sc, int opts)
{
	struct plan pl;
	struct mbox_reader *r = NULL;
	size_t i, k;
	int ret = -1, e;
	uint64_t d = 0;
	uint32_t olduv, oldnext;
	struct mbox_scan *snap;

	if (mb->lock != MBOX_LOCK_WRITE) {
		errno = ENOLCK;
		return -1;
	}
	if ((ret = mbox_scan_update(mb, sc)) != 0) {
		if (ret > 0)
			errno = ESTALE;
		return -1;
	}
	mbox_index_forget_appends(mb);
	ret = -1;
	if (!(r = malloc(sizeof(*r))))
		return -1;
	if ((ret = tail_uids(mb, sc, opts, r)) != 1) {
		if (ret == 0)
			mbox_lock_synced(mb);   /* its writes were fsync'ed */
		free(r);
		return ret;
	}
	ret = -1;
	/* the modseqs of what changes are given from the table as it was */
	if (!(snap = mbox_index_snapshot(sc))) {
		free(r);
		return -1;
	}
	olduv = sc->uidvalidity;
	oldnext = sc->uidnext;
	if (make_plan(mb, sc, opts, &pl) < 0 || plan_inplace(mb, sc, &pl, r) < 0)
		goto out;
	/* the base line is formatted from sc: give it the new values */
	sc->uidvalidity = pl.uv;
	sc->uidnext = pl.next;
	for (k = 0; k < pl.n; k++)
		if (pl.it[k].change && !pl.it[k].inplace)
			break;
	if (pl.new_pseudo && k == pl.n)
		k = pl.first_msg;
	for (i = 0; i < k; i++)
		if (pl.it[i].change && patch(mb, sc, &pl.it[i]) < 0)
			goto undo;
	if (k < pl.n) {
		d = pl.new_pseudo ? pl.new_pseudo_at : pl.it[k].m.offset;
		if (rewrite_tail(mb, sc, &pl, k, d, r) < 0)
			goto undo;
		/* offsets moved: describe the new file, from what was written
		 * when that is sure to be what a scan finds, else by a scan */
		if (new_table(mb, sc, &pl, k) == 0) {
			ret = 0;
			goto out;
		}
		ret = rescan_into(mb, sc);
		goto out;
	}
	if (fsync(mb->fd) < 0)
		goto undo;
	/* in place: only metadata changed; sizes and offsets stay */
	sc->missing_uids = 0;
	for (i = pl.first_msg; i < pl.n; i++) {
		struct mbox_msg *m = &sc->msgs[i - pl.first_msg];
		m->flags = pl.it[i].out.flags;
		m->keywords = pl.it[i].out.keywords;
		m->uid = pl.it[i].out.uid;
		m->dirty = 0;
		if (!m->uid)
			sc->missing_uids++;
	}
	sc->base_dirty = 0;
	set_identity(mb, sc);
	ret = 0;
	goto out;
undo:
	e = errno;
	sc->uidvalidity = olduv;
	sc->uidnext = oldnext;
	errno = e;
out:
	e = errno;
	if (ret == 0) {
		/* every way to success fsync'ed the file (in place, or
		 * the journal's copy): mbox_unlock need not again */
		mbox_lock_synced(mb);
		mbox_index_rebuilt(mb, sc, snap, 0);
	}
	mbox_index_snapshot_free(snap);
	free(pl.it);
	free(r);
	errno = e;
	return ret;
}
