/* SELECT, EXAMINE (RFC 3501 6.3.1-2), CHECK, CLOSE, EXPUNGE (6.4.1-3),
 * UNSELECT (RFC 3691), UID EXPUNGE (RFC 4315); the CONDSTORE and QRESYNC
 * parameters of SELECT and EXAMINE (RFC 7162, condstore.c).
 * Codes: [READ-WRITE] [READ-ONLY] [UIDVALIDITY] [UIDNEXT] [PERMANENTFLAGS]
 * [UNSEEN]; NO [NONEXISTENT] [INUSE] [CANNOT] [SERVERBUG]. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "imap.h"
#include "log.h"

static enum imap_res do_select(struct imap_sess *s, struct imap_cmd *c, int readonly)
{
	const char *n;
	size_t nl, i;
	char path[PATH_MAX], canon[1024];
	struct stat st;
	struct imap_cs_select q;
	int r;

	/* the name, then RFC 7162 parameters: (CONDSTORE), (QRESYNC (..)) */
	if (imap_astring(&c->ps, &n, &nl) < 0)
		return IMAP_BAD;
	if (imap_cs_select_params(s, &c->ps, &q) < 0) {
		imap_cs_select_free(&q);
		return IMAP_BAD;
	}
	/* RFC 7162 3.2.11, RFC 9051 6.3.2 */
	if ((s->qresync || s->rev2) && s->state == IMAP_S_SELECTED)
		imap_put(s, "* OK [CLOSED] Previous mailbox closed.\r\n");
	imap_view_close(s);
	r = imap_name_resolve(s, n, nl, path, sizeof path, canon, sizeof canon);
	if (r < 0) {
		imap_tagged(s, c, "NO", "[CANNOT] Invalid mailbox name.");
		imap_cs_select_free(&q);
		return IMAP_DONE;
	}
	if (r == 0 && (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))) {
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			imap_tagged(s, c, "NO", "[CANNOT] Mailbox isn't selectable.");
		else
			imap_tagged(s, c, "NO", "[NONEXISTENT] Mailbox doesn't exist.");
		imap_cs_select_free(&q);
		return IMAP_DONE;
	}
	if (imap_view_open(s, canon, path, readonly) < 0) {
		int e = errno;
		log_msg(LOG_NOTICE, "select %s: %s", canon, strerror(e));
		imap_no_errno(s, c, e);
		imap_cs_select_free(&q);
		return IMAP_DONE;
	}
	imap_view_flags_lines(s);
	imap_put(s, "* %zu EXISTS\r\n", s->view.count);
	if (s->rev2) {
		/* RFC 9051 6.3.2: no RECENT, no UNSEEN code; a LIST of the name */
		imap_put(s, "* LIST () \"/\" ");
		imap_put_mailbox(s, s->sel_name);
		imap_put(s, "\r\n");
	} else {
		imap_put(s, "* %zu RECENT\r\n", s->view.recent);
	}
	if (s->view.lazy && s->view.lazy_unseen && !s->rev2)
		imap_put(s, "* OK [UNSEEN %zu] First unseen.\r\n", s->view.lazy_unseen);
	for (i = 0; i < s->view.count && !s->rev2 && !s->view.lazy; i++)
		if (!(s->view.v[i].flags & MBOX_F_SEEN)) {
			imap_put(s, "* OK [UNSEEN %zu] First unseen.\r\n", i + 1);
			break;
		}
	imap_put(s, "* OK [UIDVALIDITY %u] UIDs valid\r\n", s->view.uidvalidity);
	imap_put(s, "* OK [UIDNEXT %u] Predicted next UID\r\n", s->view.uidnext);
	/* QRESYNC's report needs the UIDs */
	if (q.qresync && imap_view_materialize(s) < 0) {
		imap_cs_select_free(&q);
		return IMAP_FATAL;
	}
	r = imap_cs_select_report(s, &q);
	imap_cs_select_free(&q);
	if (r < 0) {
		imap_view_close(s);
		imap_no_errno(s, c, ENOMEM);
		return IMAP_DONE;
	}
	imap_tagged(s, c, "OK", "[%s] %s completed.", s->readonly ? "READ-ONLY" : "READ-WRITE",
		    readonly ? "EXAMINE" : "SELECT");
	return IMAP_DONE;
}

enum imap_res cmd_select(struct imap_sess *s, struct imap_cmd *c)
{
	return do_select(s, c, 0);
}

enum imap_res cmd_examine(struct imap_sess *s, struct imap_cmd *c)
{
	return do_select(s, c, 1);
}

enum imap_res cmd_check(struct imap_sess *s, struct imap_cmd *c)
{
	/* every change is written at once, so there is nothing to flush */
	return imap_eol(&c->ps) ? IMAP_OK : IMAP_BAD;
}

enum imap_res cmd_expunge(struct imap_sess *s, struct imap_cmd *c)
{
	struct imap_seq set;
	int r;

	memset(&set, 0, sizeof set);
	if (c->uid) {
		if (imap_seq_parse(&c->ps, &set) < 0 || !imap_eol(&c->ps) ||
		    imap_seq_dollar(s, &set, 1) < 0) {
			imap_seq_free(&set);
			return IMAP_BAD;
		}
		imap_seq_resolve(&set, imap_view_max_uid(s));
	} else if (!imap_eol(&c->ps)) {
		return IMAP_BAD;
	}
	if (s->readonly) {
		imap_seq_free(&set);
		imap_tagged(s, c, "NO", "[READ-ONLY] Mailbox is read-only.");
		return IMAP_DONE;
	}
	r = imap_view_expunge(s, c->uid ? &set : NULL, 0, 1);
	imap_seq_free(&set);
	if (r < 0) {
		if (s->bye)
			return IMAP_FATAL;
		imap_no_errno(s, c, errno);
		return IMAP_DONE;
	}
	if (s->qresync) {
		/* RFC 7162 3.2.10: the new HIGHESTMODSEQ with the tagged OK */
		imap_tagged(s, c, "OK", "[HIGHESTMODSEQ %llu] Expunge completed.",
			    (unsigned long long)imap_cs_highest(s));
		return IMAP_DONE;
	}
	return IMAP_OK;
}

enum imap_res cmd_close(struct imap_sess *s, struct imap_cmd *c)
{
	int e = 0;

	if (!imap_eol(&c->ps))
		return IMAP_BAD;
	if (!s->readonly && imap_view_expunge(s, NULL, 0, 0) < 0)
		e = errno;
	imap_view_close(s);
	if (e) {
		imap_no_errno(s, c, e);
		return IMAP_DONE;
	}
	return IMAP_OK;
}

enum imap_res cmd_unselect(struct imap_sess *s, struct imap_cmd *c)
{
	if (!imap_eol(&c->ps))
		return IMAP_BAD;
	imap_view_close(s);
	return IMAP_OK;
}
