/* STORE and UID STORE (RFC 3501 6.4.6): FLAGS, +FLAGS, -FLAGS and .SILENT;
 * the UNCHANGEDSINCE modifier of RFC 7162 3.1.3 (OK [MODIFIED set]).
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
	int unch;               /* (UNCHANGEDSINCE n), RFC 7162 3.1.3 */
	uint64_t since;
	unsigned char *modified; /* per view message: failed the test */
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
		st->modified[i] = st->unch && m->modseq > st->since;
		if (st->modified[i])
			continue;
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
	size_t gone = 0, nmod = 0;

	memset(&st, 0, sizeof st);
	if (imap_seq_parse(&c->ps, &set) < 0)
		return IMAP_BAD;
	if (imap_sp(&c->ps) < 0)
		goto bad;
	if (imap_peek(&c->ps) == '(') {
		/* store-modifier: (UNCHANGEDSINCE n) */
		c->ps.p++;
		if (imap_atom(&c->ps, &item, &il) < 0 || !str_ieq(item, il, "UNCHANGEDSINCE", 14) ||
		    imap_sp(&c->ps) < 0 || imap_cs_number(&c->ps, &st.since) < 0 ||
		    imap_peek(&c->ps) != ')')
			goto bad;
		c->ps.p++;
		if (imap_sp(&c->ps) < 0)
			goto bad;
		st.unch = 1;
	}
	if (imap_atom(&c->ps, &item, &il) < 0 || imap_sp(&c->ps) < 0)
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
	if (st.unch)
		imap_cs_enable(s, 0);
	sel = calloc(s->view.count + 1, 2);
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
	st.modified = sel + s->view.count + 1;
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
		if (st.modified[i]) {
			nmod++;
			continue;
		}
		s->view.v[i].flags = s->sc.msgs[k].flags;
		s->view.v[i].keywords = s->sc.msgs[k].keywords;
		/* with CONDSTORE the new MODSEQ goes out even when .SILENT
		 * (RFC 7162 3.1.3: "* 5 FETCH (MODSEQ (320162350))") */
		if (!silent)
			imap_put_fetch_flags(s, i, c->uid);
		else if (s->condstore && c->uid)
			imap_put(s, "* %zu FETCH (UID %u MODSEQ (%llu))\r\n", i + 1, s->view.v[i].uid,
				 (unsigned long long)s->sc.msgs[k].modseq);
		else if (s->condstore)
			imap_put(s, "* %zu FETCH (MODSEQ (%llu))\r\n", i + 1,
				 (unsigned long long)s->sc.msgs[k].modseq);
	}
	if (nmod) {
		/* OK [MODIFIED set]: those that failed UNCHANGEDSINCE */
		uint32_t *u = malloc(nmod * sizeof *u);
		size_t n = 0;
		if (u) {
			for (i = 0; i < s->view.count; i++)
				if (sel[i] && st.modified[i])
					u[n++] = c->uid ? s->view.v[i].uid : (uint32_t)(i + 1);
			imap_putn(s, c->tag, c->taglen);
			imap_put(s, " OK [MODIFIED ");
			imap_put_ordered_set(s, u, n);
			imap_put(s, "] Conditional STORE failed for some messages.\r\n");
			free(u);
			free(sel);
			return IMAP_DONE;
		}
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
