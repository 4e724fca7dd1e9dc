/* STORE and UID STORE (RFC 3501 6.4.6): FLAGS, +FLAGS, -FLAGS and .SILENT.
 * Flags and keywords are written to the mailbox at once (Status, X-Status,
 * X-Keywords) under the write lock, then the new flags are reported.
 * Messages expunged by another session are skipped: OK [EXPUNGEISSUED].
 * Results: OK; NO [READ-ONLY]; NO [LIMIT] (keywords); NO [INUSE]; BAD for a
 * bad sequence set or flag. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "imap.h"

#define SETTABLE (MBOX_F_SEEN | MBOX_F_ANSWERED | MBOX_F_FLAGGED | MBOX_F_DELETED | MBOX_F_DRAFT)

struct store {
	int op;                 /* 0 set, 1 add, -1 remove */
	uint32_t flags;
	const char *kw[IMAP_FLAGLIST_KW_MAX];
	size_t nkw;
	const unsigned char *sel;
};

static int mark_store(struct imap_sess *s, void *arg)
{
	struct store *st = arg;
	uint64_t kwmask = 0;
	size_t i;

	for (i = 0; i < st->nkw; i++) {
		int k = mbox_keyword_index(&s->sc, st->kw[i], strlen(st->kw[i]), st->op >= 0);
		if (k < 0 && st->op >= 0) {
			errno = EMLINK;
			return -1;
		}
		if (k >= 0)
			kwmask |= (uint64_t)1 << k;
	}
	for (i = 0; i < s->view.count; i++) {
		struct mbox_msg *m;
		uint32_t nf;
		uint64_t nk;
		long k;
		if (!st->sel[i] || (k = imap_view_index(s, i)) < 0)
			continue;
		m = &s->sc.msgs[k];
		if (st->op == 0) {
			nf = (m->flags & ~SETTABLE) | st->flags;
			nk = kwmask;
		} else if (st->op > 0) {
			nf = m->flags | st->flags;
			nk = m->keywords | kwmask;
		} else {
			nf = m->flags & ~st->flags;
			nk = m->keywords & ~kwmask;
		}
		if (nf == m->flags && nk == m->keywords)
			continue;
		m->dirty = 1;
		m->new_flags = nf;
		m->new_keywords = nk;
	}
	return 0;
}

enum imap_res cmd_store(struct imap_sess *s, struct imap_cmd *c)
{
	struct imap_seq set;
	struct store st;
	const char *item;
	size_t il, i;
	unsigned char *sel;
	int silent = 0;
	size_t gone = 0;

	memset(&st, 0, sizeof st);
	if (imap_seq_parse(&c->ps, &set) < 0)
		return IMAP_BAD;
	if (imap_sp(&c->ps) < 0 || imap_atom(&c->ps, &item, &il) < 0 || imap_sp(&c->ps) < 0)
		goto bad;
	if (il && (item[0] == '+' || item[0] == '-')) {
		st.op = item[0] == '+' ? 1 : -1;
		item++;
		il--;
	}
	if (il == 12 && str_ieq(item + 5, 7, ".SILENT", 7)) {
		silent = 1;
		il = 5;
	}
	if (!str_ieq(item, il, "FLAGS", 5) ||
	    imap_flag_list(&c->ps, &st.flags, st.kw, &st.nkw, IMAP_FLAGLIST_KW_MAX, 0) < 0 ||
	    !imap_eol(&c->ps))
		goto bad;
	for (i = 0; i < st.nkw; i++)
		if (!st.kw[i])
			goto bad;
	if (s->readonly) {
		imap_seq_free(&set);
		imap_tagged(s, c, "NO", "[READ-ONLY] Mailbox is read-only.");
		return IMAP_DONE;
	}
	sel = calloc(s->view.count + 1, 1);
	if (!sel) {
		imap_seq_free(&set);
		imap_no_errno(s, c, ENOMEM);
		return IMAP_DONE;
	}
	if (imap_view_select(s, c, &set, sel) < 0) {
		imap_seq_free(&set);
		free(sel);
		imap_tagged(s, c, "BAD", "Invalid message sequence number.");
		return IMAP_DONE;
	}
	imap_seq_free(&set);
	st.sel = sel;
	if (imap_view_write(s, mark_store, &st) < 0) {
		free(sel);
		imap_no_errno(s, c, errno);
		return IMAP_DONE;
	}
	if (s->sc.nkeywords > s->view.nkw_sent)
		imap_view_flags_lines(s);
	for (i = 0; i < s->view.count; i++) {
		long k;
		if (!sel[i])
			continue;
		if ((k = imap_view_index(s, i)) < 0) {
			gone++;
			continue;
		}
		s->view.v[i].flags = s->sc.msgs[k].flags;
		s->view.v[i].keywords = s->sc.msgs[k].keywords;
		if (!silent)
			imap_put_fetch_flags(s, i, c->uid);
	}
	free(sel);
	if (gone) {
		/* the others were stored: OK, with a hint to sync (RFC 5530) */
		imap_tagged(s, c, "OK", "[EXPUNGEISSUED] Some messages were already expunged.");
		return IMAP_DONE;
	}
	return IMAP_OK;
bad:
	imap_seq_free(&set);
	return IMAP_BAD;
}
