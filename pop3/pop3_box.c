/* The mailbox behind a POP3 session (mbox-interop.md 7.9): lock, scan and
 * persist UIDs at login, then no lock while the client talks (deliveries go
 * on); at QUIT lock again, rescan, and expunge by UID what was DELE'd. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "mem.h"
#include "pop3.h"

static int pop3_box_snapshot(struct pop3_box *b)
{
	size_t i;

	b->count = b->sc.count;
	b->uidvalidity = b->sc.uidvalidity;
	if (b->count == 0)
		return 0;
	b->msgs = mem_big_zalloc(b->count, sizeof *b->msgs);
	if (!b->msgs)
		return -1;
	for (i = 0; i < b->count; i++) {
		const struct mbox_msg *m = &b->sc.msgs[i];

		/* UIDLs are shown only once persisted (interop spec 7.7) */
		if (m->uid == 0) {
			errno = EIO;
			return -1;
		}
		b->msgs[i].uid = m->uid;
		b->msgs[i].size = m->hdr_size + m->body_size;
		b->msgs[i].idx = (long)i;
		b->total_size += b->msgs[i].size;
	}
	return 0;
}

static int pop3_box_reopen(struct pop3_box *b, int mode)
{
	char path[PATH_MAX];

	memcpy(path, b->mb.path, sizeof path);
	mbox_close(&b->mb);
	b->open = 0;
	if (mbox_open(&b->mb, path, mode) < 0)
		return -1;
	b->open = 1;
	return 0;
}

int pop3_box_open(struct pop3_box *b, const struct conf *c, const char *user)
{
	char path[PATH_MAX];
	int e;

	memset(b, 0, sizeof *b);
	b->mb.fd = -1;
	if (conf_spool_path(c, user, path, sizeof path) < 0)
		return -1;
	if (mbox_open(&b->mb, path, MBOX_RDWR) < 0) {
		if (errno == ENOENT)
			return 0; /* no mailbox yet: an empty one (Dovecot) */
		return -1;
	}
	b->open = 1;
	/* a read lock for the scan: the write lock (its dotlock, and the
	 * fsync of its release: 5-20 ms at 100k messages) only when UIDs
	 * must be written first */
	if (mbox_lock(&b->mb, MBOX_LOCK_READ, conf_lock_ms(c, POP3_LOCK_TIMEOUT_MS)) < 0)
		return -1;
	if (mbox_scan(&b->mb, &b->sc) < 0)
		goto fail;
	if (b->sc.count > 0 && (b->sc.missing_uids || b->sc.uidvalidity == 0)) {
		if (mbox_lock(&b->mb, MBOX_LOCK_WRITE, conf_lock_ms(c, POP3_LOCK_TIMEOUT_MS)) < 0 ||
		    mbox_scan_update(&b->mb, &b->sc) < 0)
			goto fail;
		if ((b->sc.missing_uids || (b->sc.uidvalidity == 0 && b->sc.count)) &&
		    mbox_rewrite(&b->mb, &b->sc, MBOX_RW_UIDS) < 0)
			goto fail;
	}
	if (mbox_unlock(&b->mb) < 0)
		return -1;
	/* until QUIT we only read: a read-only descriptor (and no fsync at
	 * each unlock) */
	if (pop3_box_reopen(b, MBOX_RDONLY) < 0)
		return -1;
	return pop3_box_snapshot(b);
fail:
	e = errno;
	mbox_unlock(&b->mb);
	errno = e;
	return -1;
}

/* Maps the snapshot to a rebuilt scan.  Both are in UID order (scan.c keeps
 * only a strictly increasing prefix of X-UIDs), so one merge pass does it.
 * A message whose size changed is treated as gone: it is not ours any more. */
static void pop3_box_remap(struct pop3_box *b)
{
	size_t i, j = 0;

	for (i = 0; i < b->count; i++) {
		struct pop3_msg *p = &b->msgs[i];

		p->idx = -1;
		while (j < b->sc.count && b->sc.msgs[j].uid != 0 && b->sc.msgs[j].uid < p->uid)
			j++;
		if (j < b->sc.count && b->sc.msgs[j].uid == p->uid) {
			const struct mbox_msg *m = &b->sc.msgs[j];

			if (m->hdr_size + m->body_size == p->size)
				p->idx = (long)j;
		}
	}
}

int pop3_box_resync(struct pop3_box *b)
{
	int r = mbox_scan_update(&b->mb, &b->sc);

	if (r < 0)
		return -1;
	if (r == 0)
		return 0; /* unchanged or appended to: our indexes still hold */
	if (b->sc.uidvalidity != b->uidvalidity) {
		/* the UIDs we showed mean nothing now */
		size_t i;

		for (i = 0; i < b->count; i++)
			b->msgs[i].idx = -1;
		errno = ESTALE;
		return -1;
	}
	pop3_box_remap(b);
	return 0;
}

/* Marks the requests in the scan; returns how many there are. */
static size_t pop3_box_requests(struct pop3_box *b)
{
	size_t i, n = 0;

	for (i = 0; i < b->count; i++) {
		const struct pop3_msg *p = &b->msgs[i];
		struct mbox_msg *m;

		if (p->idx < 0 || !(p->deleted || p->retrieved))
			continue;
		m = &b->sc.msgs[p->idx];
		if (p->deleted) {
			m->expunge = 1;
			n++;
		} else if ((m->flags & (MBOX_F_SEEN | MBOX_F_OLD)) != (MBOX_F_SEEN | MBOX_F_OLD)) {
			/* Dovecot marks what POP3 retrieved as Status: RO */
			m->new_flags = m->flags | MBOX_F_SEEN | MBOX_F_OLD;
			m->new_keywords = m->keywords;
			m->dirty = 1;
			n++;
		}
	}
	return n;
}

int pop3_box_update(struct pop3_box *b, const struct conf *c)
{
	size_t i;
	int e;

	if (!b->open)
		return 0;
	for (i = 0; i < b->count; i++)
		if (b->msgs[i].deleted || b->msgs[i].retrieved)
			break;
	if (i == b->count)
		return 0; /* nothing to write: no lock needed */
	if (pop3_box_reopen(b, MBOX_RDWR) < 0)
		return -1;
	if (mbox_lock(&b->mb, MBOX_LOCK_WRITE, conf_lock_ms(c, POP3_LOCK_TIMEOUT_MS)) < 0)
		return -1;
	if (pop3_box_resync(b) < 0)
		goto fail;
	if (pop3_box_requests(b) > 0 && mbox_rewrite(&b->mb, &b->sc, 0) < 0)
		goto fail;
	return mbox_unlock(&b->mb);
fail:
	e = errno;
	mbox_unlock(&b->mb);
	errno = e;
	return -1;
}

void pop3_box_close(struct pop3_box *b)
{
	if (b->open)
		mbox_close(&b->mb);
	b->open = 0;
	mbox_scan_free(&b->sc);
	free(b->msgs);
	b->msgs = NULL;
	b->count = 0;
}
