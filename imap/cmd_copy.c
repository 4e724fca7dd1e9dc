/* COPY / UID COPY (RFC 3501 6.4.7, COPYUID of RFC 4315) and MOVE / UID MOVE
 * (RFC 6851), plus imap_append_to(), shared with APPEND and RENAME INBOX:
 * appends messages to a mailbox under its write lock, all or none
 * (mbox_append_many), then gives them UIDs
 * (MBOX_RW_UIDS) so that COPYUID/APPENDUID can name them.
 * Results: OK [COPYUID ..]; NO [TRYCREATE] (no such target); NO [CANNOT];
 * NO [INUSE]; NO [OVERQUOTA]; messages expunged by another session are
 * skipped: OK [EXPUNGEISSUED] (untagged when COPYUID takes the tagged one). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "imap.h"
#include "bounds.h"
#include "log.h"

#define COPY_BATCH 64
#define COPY_BATCH_BYTES (32u << 20)

/* "1:3,5" from a list of numbers in the given order (runs compressed) */
static void put_uidset(struct buf *b, const uint32_t *u, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		while (j + 1 < n && u[j + 1] == u[j] + 1)
			j++;
		if (b->len && b->s[b->len - 1] != ' ')
			buf_addc(b, ',');
		if (j > i)
			buf_printf(b, "%u:%u", u[i], u[j]);
		else
			buf_printf(b, "%u", u[i]);
		i = j + 1;
	}
}

static void kw_string(struct imap_sess *s, uint64_t kw, struct buf *b)
{
	size_t k;

	buf_reset(b);
	for (k = 0; k < s->sc.nkeywords && k < MBOX_KW_MAX; k++)
		if ((kw & ((uint64_t)1 << k)) && s->sc.keywords[k]) {
			if (b->len)
				buf_addc(b, ' ');
			buf_adds(b, s->sc.keywords[k]);
		}
}

struct batch {
	struct mbox_append a[COPY_BATCH];
	char *data[COPY_BATCH];
	struct buf kw[COPY_BATCH];
	uint32_t src[COPY_BATCH], dst[COPY_BATCH];
	size_t n, bytes;
};

static void batch_clear(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->data[i]);
	b->n = 0;
	b->bytes = 0;
}

static int flush_batch(struct imap_sess *s, const char *path, struct batch *b, uint32_t *uv,
		       struct buf *srcs, struct buf *dsts, uint32_t *moved, size_t *nmoved)
{
	size_t i;
	int r, e;

	if (!b->n)
		return 0;
	r = imap_append_to(s, path, 0, b->a, b->n, uv, b->dst);
	e = errno;
	for (i = 0; i < b->n; i++)
		if (b->dst[i]) {
			put_uidset(srcs, &b->src[i], 1);
			put_uidset(dsts, &b->dst[i], 1);
			moved[(*nmoved)++] = b->src[i];
		}
	batch_clear(b);
	errno = e;
	return r;
}

/* what a COPY or MOVE did, for its reply */
struct copy {
	const char *path;
	struct buf srcs, dsts;   /* COPYUID source and destination sets */
	uint32_t uv, *moved;     /* source UIDs that were copied */
	size_t nmoved, gone;
	int err;                 /* errno of a failure, 0 if none */
};

/* Loads the selected messages in batches and appends each batch. */
static void copy_messages(struct imap_sess *s, const unsigned char *sel, struct copy *cp)
{
	static struct batch b;
	size_t i;
	int r = 0;

	for (i = 0; i < COPY_BATCH; i++)
		buf_init(&b.kw[i]);
	b.n = 0;
	imap_view_read_begin(s);
	for (i = 0; i < s->view.count && r == 0; i++) {
		struct mbox_append *a = &b.a[b.n];
		size_t len = 0;
		long k;
		if (!sel[i])
			continue;
		k = imap_view_index(s, i);
		if (k < 0 || imap_view_load(s, k, MBOX_PART_ALL, &b.data[b.n], &len) < 0) {
			cp->gone++;
			continue;
		}
		memset(a, 0, sizeof *a);
		a->data = b.data[b.n];
		a->len = len;
		a->fd = -1;
		a->date = s->sc.msgs[k].internaldate;
		a->strip_meta = 1;
		a->flags = s->sc.msgs[k].flags & ~MBOX_F_OLD;
		kw_string(s, s->sc.msgs[k].keywords, &b.kw[b.n]);
		a->keywords = b.kw[b.n].len ? b.kw[b.n].s : NULL;
		b.src[b.n] = s->view.v[i].uid;
		b.bytes += len;
		if (++b.n == COPY_BATCH || b.bytes > COPY_BATCH_BYTES) {
			/* no lock on the source while the target is written */
			imap_view_read_end(s);
			r = flush_batch(s, cp->path, &b, &cp->uv, &cp->srcs, &cp->dsts, cp->moved,
					&cp->nmoved);
			cp->err = r < 0 ? errno : 0;
			imap_view_read_begin(s);
		}
	}
	imap_view_read_end(s);
	if (r == 0) {
		r = flush_batch(s, cp->path, &b, &cp->uv, &cp->srcs, &cp->dsts, cp->moved, &cp->nmoved);
		cp->err = r < 0 ? errno : 0;
	}
	batch_clear(&b);
	for (i = 0; i < COPY_BATCH; i++)
		buf_free(&b.kw[i]);
}

/* MOVE: the untagged COPYUID, then the originals go (EXPUNGE responses) */
static void move_expunge(struct imap_sess *s, struct copy *cp)
{
	struct imap_seq ms;
	size_t i;

	imap_put(s, "* OK [COPYUID %u %s %s] Moved.\r\n", cp->uv, cp->srcs.s, cp->dsts.s);
	ms.r = malloc(cp->nmoved * sizeof *ms.r);
	ms.n = 0;
	if (!ms.r)
		return;
	for (i = 0; i < cp->nmoved; i++) {
		ms.r[ms.n].lo = ms.r[ms.n].hi = cp->moved[i];
		ms.n++;
	}
	imap_seq_resolve(&ms, 0);
	if (imap_view_expunge(s, &ms, 1, 1) < 0 && !s->bye)
		log_msg(LOG_ERR, "move: expunge failed: %s", strerror(errno));
	free(ms.r);
}

static void copy_reply(struct imap_sess *s, struct imap_cmd *c, int move, struct copy *cp,
		       const char *canon)
{
	const char *uid = c->uid ? "UID " : "";

	if (cp->err) {
		if (cp->err == ENOENT)
			imap_tagged(s, c, "NO", "[TRYCREATE] Mailbox doesn't exist.");
		else
			imap_no_errno(s, c, cp->err);
		log_msg(LOG_NOTICE, "copy to %s: %s", canon, strerror(cp->err));
	} else if (cp->gone && !cp->nmoved) {
		imap_tagged(s, c, "OK", "[EXPUNGEISSUED] Some messages were already expunged.");
	} else if (move && cp->nmoved) {
		if (cp->gone)
			imap_put(s, "* OK [EXPUNGEISSUED] Some messages were already expunged.\r\n");
		move_expunge(s, cp);
		imap_tagged(s, c, "OK", "%sMOVE completed.", uid);
	} else if (cp->nmoved) {
		/* the tagged reply carries COPYUID: the hint goes untagged */
		if (cp->gone)
			imap_put(s, "* OK [EXPUNGEISSUED] Some messages were already expunged.\r\n");
		imap_tagged(s, c, "OK", "[COPYUID %u %s %s] %sCOPY completed.", cp->uv, cp->srcs.s,
			    cp->dsts.s, uid);
	} else {
		imap_tagged(s, c, "OK", "%s%s completed.", uid, move ? "MOVE" : "COPY");
	}
}

static enum imap_res do_copy(struct imap_sess *s, struct imap_cmd *c, int move)
{
	struct imap_seq set;
	struct copy cp;
	const char *n;
	size_t nl;
	char path[PATH_MAX], canon[1024];
	unsigned char *sel;

	if (imap_seq_parse(&c->ps, &set) < 0)
		return IMAP_BAD;
	if (imap_sp(&c->ps) < 0 || imap_astring(&c->ps, &n, &nl) < 0 || !imap_eol(&c->ps)) {
		imap_seq_free(&set);
		return IMAP_BAD;
	}
	memset(&cp, 0, sizeof cp);
	if (imap_name_resolve(s, n, nl, path, sizeof path, canon, sizeof canon) < 0)
		imap_tagged(s, c, "NO", "[CANNOT] Invalid mailbox name.");
	else if (move && s->readonly)
		imap_tagged(s, c, "NO", "[READ-ONLY] Mailbox is read-only.");
	else
		cp.path = path;
	sel = cp.path ? calloc(s->view.count + 1, 1) : NULL;
	cp.moved = cp.path ? calloc(s->view.count + 1, sizeof *cp.moved) : NULL;
	if (cp.path && (!sel || !cp.moved || imap_view_select(s, c, &set, sel) < 0)) {
		imap_tagged(s, c, "BAD", "Invalid message sequence number.");
		cp.path = NULL;
	}
	imap_seq_free(&set);
	if (cp.path) {
		buf_init(&cp.srcs);
		buf_init(&cp.dsts);
		copy_messages(s, sel, &cp);
		copy_reply(s, c, move, &cp, canon);
		buf_free(&cp.srcs);
		buf_free(&cp.dsts);
	}
	free(sel);
	free(cp.moved);
	return s->bye ? IMAP_FATAL : IMAP_DONE;
}

enum imap_res cmd_copy(struct imap_sess *s, struct imap_cmd *c)
{
	return do_copy(s, c, 0);
}

enum imap_res cmd_move(struct imap_sess *s, struct imap_cmd *c)
{
	return do_copy(s, c, 1);
}
