/* APPEND (RFC 3501 6.3.11; APPENDUID of RFC 4315; LITERAL+ RFC 7888).
 * The literal was read whole by the command reader (bounded by
 * message_size_limit: NO [LIMIT] before any byte is taken).  A message with
 * a NUL byte is refused (RFC 3501 4.3: literal8 is BINARY's); bare LF and
 * 8-bit data are stored as given.  A disconnect mid-literal never reaches
 * here, so nothing is stored.  Results: OK [APPENDUID uv uid]; NO
 * [TRYCREATE]; NO [CANNOT]; NO [INUSE]; NO [OVERQUOTA]; BAD. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include "imap.h"
#include "log.h"


enum imap_res cmd_append(struct imap_sess *s, struct imap_cmd *c)
{
	const char *n, *kw[IMAP_FLAGLIST_KW_MAX], *msg;
	size_t nl, nkw = 0, ml, i;
	char path[PATH_MAX], canon[1024];
	struct mbox_append a;
	struct buf kws;
	uint32_t flags = 0, uv = 0, uid = 0;
	int64_t date = 0;
	int r, inbox;

	if (imap_astring(&c->ps, &n, &nl) < 0 || imap_sp(&c->ps) < 0)
		return IMAP_BAD;
	if (imap_peek(&c->ps) == '(') {
		if (imap_flag_list(&c->ps, &flags, kw, &nkw, IMAP_FLAGLIST_KW_MAX, 0) < 0 ||
		    imap_sp(&c->ps) < 0)
			return IMAP_BAD;
		for (i = 0; i < nkw; i++)
			if (!kw[i])
				return IMAP_BAD;
	}
	if (imap_peek(&c->ps) == '"') {
		const char *d;
		size_t dl;
		if (imap_string(&c->ps, &d, &dl) < 0 || imap_datetime_parse(d, dl, &date) < 0 ||
		    imap_sp(&c->ps) < 0)
			return IMAP_BAD;
	}
	if (imap_peek(&c->ps) != '{' || imap_string(&c->ps, &msg, &ml) < 0 || !imap_eol(&c->ps))
		return IMAP_BAD;
	inbox = imap_name_resolve(s, n, nl, path, sizeof path, canon, sizeof canon);
	if (inbox < 0) {
		imap_tagged(s, c, "NO", "[CANNOT] Invalid mailbox name.");
		return IMAP_DONE;
	}
	if (ml == 0 || memchr(msg, '\0', ml)) {
		imap_tagged(s, c, "NO", ml ? "Message contains NUL characters." : "Empty message.");
		return IMAP_DONE;
	}
	buf_init(&kws);
	for (i = 0; i < nkw; i++) {
		if (i)
			buf_addc(&kws, ' ');
		buf_adds(&kws, kw[i]);
	}
	memset(&a, 0, sizeof a);
	a.data = msg;
	a.len = ml;
	a.fd = -1;
	a.date = date ? date : (int64_t)time(NULL);
	a.strip_meta = 1;
	a.flags = flags;
	a.keywords = kws.len ? kws.s : NULL;
	r = imap_append_to(s, path, inbox == 1, &a, 1, &uv, &uid);
	buf_free(&kws);
	if (r < 0) {
		int e = errno;
		log_msg(LOG_NOTICE, "append to %s: %s", canon, strerror(e));
		if (e == ENOENT)
			imap_tagged(s, c, "NO", "[TRYCREATE] Mailbox doesn't exist.");
		else
			imap_no_errno(s, c, e);
		return IMAP_DONE;
	}
	if (s->state == IMAP_S_SELECTED && imap_view_sync(s, IMAP_SYNC_EXPUNGE) < 0)
		return IMAP_FATAL;
	if (uid)
		imap_tagged(s, c, "OK", "[APPENDUID %u %u] APPEND completed.", uv, uid);
	else
		imap_tagged(s, c, "OK", "APPEND completed.");
	return IMAP_DONE;
}
