/* CREATE, DELETE, RENAME (RFC 3501 6.3.3-5) and STATUS (6.3.10).
 * A trailing "/" in CREATE makes a directory (a level of hierarchy that is
 * not itself a mailbox, as in Dovecot's mbox layout).  RENAME INBOX moves
 * every message of INBOX into the new mailbox and leaves INBOX empty.
 * Results: NO [ALREADYEXISTS] [NONEXISTENT] [CANNOT] [INUSE]; BAD. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "imap.h"
#include "bounds.h"
#include "log.h"


/* a name argument resolved; replies itself and returns -1 when refused */
static int name_arg(struct imap_sess *s, struct imap_cmd *c, const char *n, size_t nl,
		    char *path, char *canon)
{
	int r = imap_name_resolve(s, n, nl, path, PATH_MAX, canon, 1024);

	if (r < 0)
		imap_tagged(s, c, "NO", "[CANNOT] Invalid mailbox name.");
	return r;
}

enum imap_res cmd_create(struct imap_sess *s, struct imap_cmd *c)
{
	const char *n;
	size_t nl;
	char path[PATH_MAX], canon[1024];
	const char *use = NULL;
	int dir = 0, r;

	if (imap_astring(&c->ps, &n, &nl) < 0)
		return IMAP_BAD;
	if (!imap_eol(&c->ps)) {
		/* CREATE-SPECIAL-USE (RFC 6154 3): " (USE (\Attr))" */
		r = imap_create_params(s, c, &use);
		if (r)
			return r < 0 ? IMAP_BAD : IMAP_DONE;
	}
	if (nl > 1 && n[nl - 1] == '/') {
		dir = 1;
		nl--;
	}
	r = name_arg(s, c, n, nl, path, canon);
	if (r < 0)
		return IMAP_DONE;
	if (r == 1) {
		imap_tagged(s, c, "NO", "[ALREADYEXISTS] INBOX always exists.");
		return IMAP_DONE;
	}
	if (mbox_folder_create(s->root, canon, dir) < 0) {
		if (errno == EEXIST || errno == ENOTDIR)
			imap_tagged(s, c, "NO", errno == EEXIST ? "[ALREADYEXISTS] Mailbox already exists." :
				    "[CANNOT] A parent is a mailbox, it cannot hold others.");
		else
			imap_no_errno(s, c, errno);
		return IMAP_DONE;
	}
	if ((use || imap_special_use_stored(s, canon)) && imap_special_use_set(s, canon, use, NULL) < 0) {
		mbox_folder_delete(s->root, canon);
		imap_tagged(s, c, "NO", "[SERVERBUG] The special use could not be recorded.");
		return IMAP_DONE;
	}
	return IMAP_OK;
}

enum imap_res cmd_delete(struct imap_sess *s, struct imap_cmd *c)
{
	const char *n;
	size_t nl;
	char path[PATH_MAX], canon[1024];
	int r;

	if (imap_astring(&c->ps, &n, &nl) < 0 || !imap_eol(&c->ps))
		return IMAP_BAD;
	r = name_arg(s, c, n, nl, path, canon);
	if (r < 0)
		return IMAP_DONE;
	if (r == 1) {
		imap_tagged(s, c, "NO", "[CANNOT] INBOX can't be deleted.");
		return IMAP_DONE;
	}
	if (s->state == IMAP_S_SELECTED && !strcmp(s->sel_name, canon))
		imap_view_close(s);
	if (mbox_folder_delete(s->root, canon) < 0) {
		if (errno == ENOTEMPTY || errno == EEXIST)
			imap_tagged(s, c, "NO", "[%s] Mailbox has children, delete them first.",
				    s->rev2 ? "HASCHILDREN" : "CANNOT");   /* RFC 9051 7.1 */
		else
			imap_no_errno(s, c, errno);
		return IMAP_DONE;
	}
	if (imap_special_use_stored(s, canon))
		imap_special_use_set(s, canon, NULL, NULL);
	return IMAP_OK;
}

/* RENAME INBOX: copy all of it to the new mailbox, then expunge what was copied */
static int rename_inbox(struct imap_sess *s, const char *to)
{
	struct mbox mb;
	struct mbox_scan sc;
	struct mbox_append *a = NULL;
	char **data = NULL;
	uint32_t uv, *uids = NULL;
	size_t i, n = 0;
	int r = -1, e;

	memset(&sc, 0, sizeof sc);
	if (mbox_folder_create(s->root, to, 0) < 0)
		return -1;
	if (mbox_open(&mb, s->spool, MBOX_RDWR) < 0)
		return errno == ENOENT ? 0 : -1;
	if (mbox_lock(&mb, MBOX_LOCK_WRITE, conf_lock_ms(s->conf, IMAP_LOCK_TIMEOUT_MS)) < 0 || mbox_scan(&mb, &sc) < 0)
		goto out;
	if (sc.missing_uids && mbox_rewrite(&mb, &sc, MBOX_RW_UIDS) < 0)
		goto out;
	a = calloc(sc.count + 1, sizeof *a);
	data = calloc(sc.count + 1, sizeof *data);
	uids = calloc(sc.count + 1, sizeof *uids);
	if (!a || !data || !uids)
		goto out;
	for (n = 0; n < sc.count; n++) {
		size_t len = 0;
		if (mbox_msg_load_locked(&mb, &sc.msgs[n], MBOX_PART_ALL, &data[n], &len) < 0)
			goto out;
		a[n].data = data[n];
		a[n].len = len;
		a[n].fd = -1;
		a[n].date = sc.msgs[n].internaldate;
		a[n].strip_meta = 1;
		a[n].flags = sc.msgs[n].flags & ~MBOX_F_OLD;
	}
	/* INBOX stays write-locked: nothing is delivered in between */
	{
		char path[PATH_MAX];
		int pl = snprintf(path, sizeof path, "%s/%s", s->root, to);
		if (pl < 0 || (size_t)pl >= sizeof path || imap_append_to(s, path, 0, a, n, &uv, uids) < 0)
			goto out;
	}
	for (i = 0; i < n; i++)
		sc.msgs[i].expunge = 1;
	r = mbox_rewrite(&mb, &sc, 0);
out:
	e = errno;
	for (i = 0; data && i < n; i++)
		free(data[i]);
	free(data);
	free(a);
	free(uids);
	mbox_scan_free(&sc);
	mbox_close(&mb);
	errno = e;
	return r;
}

enum imap_res cmd_rename(struct imap_sess *s, struct imap_cmd *c)
{
	const char *a, *b;
	size_t al, bl;
	char pa[PATH_MAX], pb[PATH_MAX], ca[1024], cb[1024];
	int ra, rb;

	if (imap_astring(&c->ps, &a, &al) < 0 || imap_sp(&c->ps) < 0 ||
	    imap_astring(&c->ps, &b, &bl) < 0 || !imap_eol(&c->ps))
		return IMAP_BAD;
	if ((ra = name_arg(s, c, a, al, pa, ca)) < 0 || (rb = name_arg(s, c, b, bl, pb, cb)) < 0)
		return IMAP_DONE;
	if (rb == 1) {
		imap_tagged(s, c, "NO", "[ALREADYEXISTS] INBOX already exists.");
		return IMAP_DONE;
	}
	if (ra == 1) {
		if (rename_inbox(s, cb) < 0) {
			imap_tagged(s, c, "NO", "%s",
				    errno == EEXIST ? "[ALREADYEXISTS] Target mailbox already exists." :
				    "[SERVERBUG] Could not move INBOX.");
			return IMAP_DONE;
		}
		return IMAP_OK;
	}
	if (s->state == IMAP_S_SELECTED && !strcmp(s->sel_name, ca))
		imap_view_close(s);
	if (mbox_folder_rename(s->root, ca, cb) < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			imap_tagged(s, c, "NO", "[ALREADYEXISTS] Target mailbox already exists.");
		else if (errno == ENOENT)
			imap_tagged(s, c, "NO", "[NONEXISTENT] Mailbox doesn't exist.");
		else if (errno == EINVAL || errno == ENOTDIR)
			imap_tagged(s, c, "NO", "[CANNOT] Can't rename a mailbox there.");
		else
			imap_no_errno(s, c, errno);
		return IMAP_DONE;
	}
	{
		/* a use given at CREATE goes with the name (RFC 6154) */
		const char *use = imap_special_use_stored(s, ca);
		if (use || imap_special_use_stored(s, cb))
			imap_special_use_set(s, cb, use, ca);
	}
	return IMAP_OK;
}

#define ST_MESSAGES 1
#define ST_RECENT 2
#define ST_UIDNEXT 4
#define ST_UIDVALIDITY 8
#define ST_UNSEEN 16
#define ST_HIGHESTMODSEQ 32   /* RFC 7162 3.1.6 */
#define ST_DELETED 64         /* RFC 9051 6.3.11 */
#define ST_SIZE 128           /* RFC 8438, RFC 9051 6.3.11 */

static int status_item(const char *p, size_t n)
{
	static const struct { const char *n; int f; } t[] = {
		{ "MESSAGES", ST_MESSAGES }, { "RECENT", ST_RECENT }, { "UIDNEXT", ST_UIDNEXT },
		{ "UIDVALIDITY", ST_UIDVALIDITY }, { "UNSEEN", ST_UNSEEN },
		{ "HIGHESTMODSEQ", ST_HIGHESTMODSEQ }, { "DELETED", ST_DELETED }, { "SIZE", ST_SIZE },
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (str_ieq(p, n, t[i].n, strlen(t[i].n)))
			return t[i].f;
	return 0;
}

/* The counts of a table */
static void status_count(const struct mbox_scan *sc, struct mbox_counts *c)
{
	size_t i;

	memset(c, 0, sizeof *c);
	c->count = sc->count;
	for (i = 0; i < sc->count; i++) {
		c->recent += !(sc->msgs[i].flags & MBOX_F_OLD);
		c->unseen += !(sc->msgs[i].flags & MBOX_F_SEEN);
		c->deleted += !!(sc->msgs[i].flags & MBOX_F_DELETED);
		c->size += sc->msgs[i].hdr_size + sc->msgs[i].body_size;
	}
	c->uidnext = sc->uidnext ? sc->uidnext : 1;
	c->uidvalidity = sc->uidvalidity ? sc->uidvalidity :
			 sc->mtime_sec > 0 ? (uint32_t)sc->mtime_sec : 1;
	c->highestmodseq = sc->highestmodseq ? sc->highestmodseq : 1;
}

/* What STATUS reports of a mailbox: 0, 1 if it is a directory, -1 errno.
 * A mailbox unchanged, or only appended to, since its index was written is
 * answered from the index (the counters, plus a scan of the appended tail,
 * whose UIDNEXT is the one its messages will make: nothing written);
 * otherwise it is scanned, and messages without UIDs get them first. */
static int status_scan(struct imap_sess *s, const char *path, int inbox, struct mbox_counts *c)
{
	struct mbox_scan scan, *sc = &scan;
	struct mbox mb;
	struct stat st;
	int r, e;

	memset(sc, 0, sizeof *sc);
	if (lstat(path, &st) < 0 && errno == ENOENT && inbox) {
		sc->uidnext = 1;     /* no spool yet: an empty INBOX */
		sc->mtime_sec = 1;
		status_count(sc, c);
		return 0;
	}
	if (!inbox && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 1;
	if (mbox_open(&mb, path, MBOX_RDWR) < 0 && mbox_open(&mb, path, MBOX_RDONLY) < 0)
		return -1;
	r = mbox_lock(&mb, MBOX_LOCK_READ, conf_lock_ms(s->conf, IMAP_LOCK_TIMEOUT_MS));
	if (r == 0 && mbox_index_counts(&mb, c) == 1) {
		mbox_close(&mb);
		return 0;
	}
	if (r == 0)
		r = mbox_scan(&mb, sc);
	if (r == 0 && (sc->missing_uids || (!sc->uidvalidity && sc->count)) && (mb.mode & MBOX_RDWR)) {
		r = mbox_lock(&mb, MBOX_LOCK_WRITE, conf_lock_ms(s->conf, IMAP_LOCK_TIMEOUT_MS));
		if (r == 0)
			r = mbox_scan_update(&mb, sc);
		if (r >= 0) {
			imap_uv_prepare(s, sc);
			r = mbox_rewrite(&mb, sc, MBOX_RW_UIDS);
		}
	}
	e = errno;
	mbox_close(&mb);
	if (r == 0)
		status_count(sc, c);
	mbox_scan_free(sc);
	errno = e;
	return r < 0 ? -1 : 0;
}

int imap_status_items(struct imap_parser *ps, int rev2)
{
	const char *it;
	size_t il;
	int items = 0;

	if (imap_peek(ps) != '(')
		return -1;
	ps->p++;
	do {
		int f;
		if (imap_atom(ps, &it, &il) < 0 || !(f = status_item(it, il)) ||
		    (f == ST_DELETED && !rev2))
			return -1;
		items |= f;
	} while (imap_sp(ps) == 0);
	if (imap_peek(ps) != ')')
		return -1;
	ps->p++;
	return items;
}

int imap_status_put(struct imap_sess *s, const char *canon, const char *path, int inbox,
		    int items)
{
	struct mbox_counts c;
	size_t recent;
	const char *sep = "";
	int r;

	r = status_scan(s, path, inbox, &c);
	if (r != 0)
		return r;
	recent = c.recent;
	/* the selected mailbox's \Recent messages were claimed (marked O) by
	 * this session: they are still recent here (RFC 3501 6.3.10) */
	if (s->state == IMAP_S_SELECTED && !s->readonly && !strcmp(canon, s->sel_name))
		recent += s->view.recent;
	imap_put(s, "* STATUS ");
	imap_put_mailbox(s, canon);
	imap_put(s, " (");
	if (items & ST_MESSAGES) { imap_put(s, "%sMESSAGES %zu", sep, c.count); sep = " "; }
	if (items & ST_RECENT) { imap_put(s, "%sRECENT %zu", sep, recent); sep = " "; }
	if (items & ST_UIDNEXT) {
		imap_put(s, "%sUIDNEXT %u", sep, c.uidnext);
		sep = " ";
	}
	if (items & ST_UIDVALIDITY) {
		imap_put(s, "%sUIDVALIDITY %u", sep, c.uidvalidity);
		sep = " ";
	}
	if (items & ST_UNSEEN) {
		imap_put(s, "%sUNSEEN %zu", sep, c.unseen);
		sep = " ";
	}
	if (items & ST_DELETED) {
		imap_put(s, "%sDELETED %zu", sep, c.deleted);
		sep = " ";
	}
	if (items & ST_SIZE) {
		imap_put(s, "%sSIZE %llu", sep, (unsigned long long)c.size);
		sep = " ";
	}
	if (items & ST_HIGHESTMODSEQ)
		imap_put(s, "%sHIGHESTMODSEQ %llu", sep,
			 (unsigned long long)c.highestmodseq);
	imap_put(s, ")\r\n");
	return 0;
}

enum imap_res cmd_status(struct imap_sess *s, struct imap_cmd *c)
{
	const char *n;
	size_t nl;
	char path[PATH_MAX], canon[1024];
	int items, r;

	if (imap_astring(&c->ps, &n, &nl) < 0 || imap_sp(&c->ps) < 0 ||
	    (items = imap_status_items(&c->ps, s->rev2)) < 0 || !imap_eol(&c->ps))
		return IMAP_BAD;
	r = name_arg(s, c, n, nl, path, canon);
	if (r < 0)
		return IMAP_DONE;
	r = imap_status_put(s, canon, path, r == 1, items);
	if (r != 0) {
		if (r > 0)
			imap_tagged(s, c, "NO", "[CANNOT] Mailbox isn't selectable.");
		else
			imap_no_errno(s, c, errno);
		return IMAP_DONE;
	}
	return IMAP_OK;
}
