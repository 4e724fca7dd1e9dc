/* Appending messages to a mailbox given by path (APPEND, COPY, MOVE): one
 * write lock, all the messages or none (mbox_append_many), keywords registered in
 * X-IMAPbase, UIDs assigned and returned for UIDPLUS (RFC 4315). */
#include <errno.h>
#include <string.h>
#include "imap.h"
#include "bounds.h"
#include "log.h"

int imap_append_to(struct imap_sess *s, const char *path, int create, const struct mbox_append *a,
		   size_t n, uint32_t *uidvalidity_r, uint32_t *uids_r)
{
	struct mbox mb;
	struct mbox_scan sc;
	size_t before, k, done = 0;
	unsigned ms = conf_lock_ms(s->conf, IMAP_LOCK_TIMEOUT_MS);
	int r = -1, e = 0;

	memset(&sc, 0, sizeof sc);
	memset(uids_r, 0, n * sizeof *uids_r);
	if (mbox_open(&mb, path, MBOX_RDWR | (create ? MBOX_CREATE : 0)) < 0)
		return -1;
	if (mbox_lock(&mb, MBOX_LOCK_WRITE, ms) < 0 || mbox_scan(&mb, &sc) < 0)
		goto out;
	before = sc.count;
	/* keywords must be listed in X-IMAPbase to count (Dovecot's rule) */
	for (k = 0; k < n; k++) {
		const char *p = a[k].keywords;
		while (p && *p) {
			size_t l = strcspn(p, " ");
			if (l)
				mbox_keyword_index(&sc, p, l, 1);
			p += l;
			p += strspn(p, " ");
		}
	}
	/* one transaction: all the messages or none (RFC 3502, and COPY) */
	if (mbox_append_many(&mb, a, n, NULL) == 0)
		done = n;
	e = done < n ? errno : 0;
	if (mbox_scan_update(&mb, &sc) < 0)
		goto out;
	if (sc.count == before + done)
		for (k = 0; k < done; k++) {
			struct mbox_msg *m = &sc.msgs[before + k];
			const char *p = a[k].keywords;
			uint64_t mask = 0;
			while (p && *p) {
				size_t l = strcspn(p, " ");
				int i = l ? mbox_keyword_index(&sc, p, l, 1) : -1;
				if (i >= 0)
					mask |= (uint64_t)1 << i;
				p += l;
				p += strspn(p, " ");
			}
			if (mask != m->keywords) {
				m->dirty = 1;
				m->new_flags = m->flags;
				m->new_keywords = mask;
			}
		}
	imap_uv_prepare(s, &sc);
	if (mbox_rewrite(&mb, &sc, MBOX_RW_UIDS) < 0)
		goto out;
	*uidvalidity_r = sc.uidvalidity;
	for (k = 0; k < n; k++)
		uids_r[k] = k < done && sc.count == before + done ? sc.msgs[before + k].uid : 0;
	if (e) {
		errno = e;
		goto out;
	}
	r = 0;
out:
	e = errno;
	mbox_scan_free(&sc);
	mbox_close(&mb);
	errno = e;
	return r;
}
