/* CATENATE's URL parts (RFC 4469 5, IMAP URLs of RFC 5092): a message, or a
 * section of it, from one of the user's own mailboxes:
 *	/Drafts;UIDVALIDITY=385759045/;UID=20/;SECTION=1.2;PARTIAL=0.100
 *	imap://alice@host/INBOX/;UID=7
 * The mailbox name is %-decoded; an absolute URL must name this user (no
 * user means the same session); URLAUTH is not offered.  The message is
 * read under a read lock of its mailbox, the section cut by libmime as
 * FETCH BODY[section] would, then <PARTIAL>. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "imap.h"
#include "bounds.h"
#include "mime.h"
#include "sort.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %-decodes p[0..n) into out (NUL and bad escapes refused) */
static int pct_decode(const char *p, size_t n, struct buf *out)
{
	size_t i;

	buf_reset(out);
	for (i = 0; i < n; i++) {
		int c = (unsigned char)p[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n || (h = hexval(p[i + 1])) < 0 || (l = hexval(p[i + 2])) < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (c == 0 || buf_addc(out, (char)c) < 0)
			return -1;
	}
	return 0;
}

/* the value of ";NAME=" in the part of url after the mailbox; NULL if absent */
static const char *param(const char *p, size_t n, const char *name, size_t *len_r)
{
	size_t nl = strlen(name), i;

	for (i = 0; i + nl <= n; i++)
		if (str_ieq(p + i, nl, name, nl)) {
			size_t j = i + nl;
			while (j < n && p[j] != ';' && p[j] != '/')
				j++;
			*len_r = j - i - nl;
			return p + i + nl;
		}
	return NULL;
}

int imap_url_fetch(struct imap_sess *s, const char *url, size_t n, struct buf *out)
{
	const char *p = url, *end = url + n, *mb_end, *v, *rest;
	struct buf name, sect;
	char path[PATH_MAX], canon[1024];
	uint32_t uv = 0, uid = 0;
	uint64_t poff = 0, plen = UINT64_MAX;
	size_t vl, rl;
	struct mbox mb;
	struct mbox_scan sc;
	long k;
	int inbox, r = -1, have_partial = 0;
	unsigned ms = conf_lock_ms(s->conf, IMAP_LOCK_TIMEOUT_MS);

	if (n > 7 && str_ieq(p, 7, "imap://", 7)) {
		/* imap://[user[;AUTH=..]@]host[:port]/... */
		const char *slash = memchr(p + 7, '/', (size_t)(end - p - 7)), *at;
		if (!slash)
			return -1;
		at = memchr(p + 7, '@', (size_t)(slash - p - 7));
		if (at) {
			const char *semi = memchr(p + 7, ';', (size_t)(at - p - 7));
			const char *ue = semi ? semi : at;
			struct buf u;
			int same;
			buf_init(&u);
			same = pct_decode(p + 7, (size_t)(ue - p - 7), &u) == 0 &&
			       u.len == strlen(s->user) && !memcmp(u.s, s->user, u.len);
			buf_free(&u);
			if (!same)
				return -1;
		}
		p = slash;
	}
	if (p >= end || *p != '/')
		return -1;
	p++;
	/* the mailbox runs to ";UIDVALIDITY=" or "/;UID=" */
	for (mb_end = p; mb_end < end && *mb_end != ';'; mb_end++)
		;
	if (mb_end > p && mb_end[-1] == '/')
		mb_end--;
	rest = mb_end;
	rl = (size_t)(end - rest);
	buf_init(&name);
	buf_init(&sect);
	memset(&sc, 0, sizeof sc);
	if (pct_decode(p, (size_t)(mb_end - p), &name) < 0 || !name.len)
		goto out;
	if ((v = param(rest, rl, ";UIDVALIDITY=", &vl)) && parse_u32(v, vl, UINT32_MAX, &uv) < 0)
		goto out;
	if (!(v = param(rest, rl, "/;UID=", &vl)) || parse_u32(v, vl, UINT32_MAX, &uid) < 0 || !uid)
		goto out;
	if ((v = param(rest, rl, "/;SECTION=", &vl)) && pct_decode(v, vl, &sect) < 0)
		goto out;
	if ((v = param(rest, rl, "/;PARTIAL=", &vl)) || (v = param(rest, rl, ";PARTIAL=", &vl))) {
		const char *dot = memchr(v, '.', vl);
		if (parse_u64(v, dot ? (size_t)(dot - v) : vl, UINT32_MAX, &poff) < 0 ||
		    (dot && parse_u64(dot + 1, vl - (size_t)(dot - v) - 1, UINT32_MAX, &plen) < 0))
			goto out;
		have_partial = 1;
	}
	inbox = imap_name_resolve(s, name.s, name.len, path, sizeof path, canon, sizeof canon);
	if (inbox < 0)
		goto out;
	if (mbox_open(&mb, path, MBOX_RDONLY) < 0)
		goto out;
	if (mbox_lock(&mb, MBOX_LOCK_READ, ms) == 0 && mbox_scan(&mb, &sc) == 0 &&
	    (!uv || sc.uidvalidity == uv) && (k = imap_scan_find_uid(&sc, uid)) >= 0) {
		char *msg;
		size_t ml;
		if (mbox_msg_load_locked(&mb, &sc.msgs[k], MBOX_PART_ALL, &msg, &ml) == 0) {
			struct mime_part *root = mime_parse(msg, ml);
			struct buf tmp;
			const char *sp;
			size_t sn;
			buf_init(&tmp);
			if (root && mime_section(msg, ml, root, sect.s ? sect.s : "", sect.len, &tmp, &sp,
						 &sn) >= 0) {
				if (have_partial) {
					if (poff > sn)
						sn = 0;
					else {
						sp += poff;
						sn -= (size_t)poff;
						if (plen < sn)
							sn = (size_t)plen;
					}
				}
				r = buf_add(out, sp, sn) < 0 ? -1 : 0;
			}
			buf_free(&tmp);
			mime_free(root);
			free(msg);
		}
	}
	mbox_scan_free(&sc);
	mbox_close(&mb);
out:
	buf_free(&name);
	buf_free(&sect);
	if (r < 0)
		errno = EINVAL;
	return r;
}
