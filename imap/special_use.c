/* CREATE-SPECIAL-USE (RFC 6154 3): "CREATE name (USE (\Archive))".  The
 * use given at CREATE is kept in ~/mail/.imap/special-use, one
 * "\Use<TAB>name" line per mailbox (replaced atomically: a temporary file
 * renamed over it); LIST shows it before the name-based defaults (Sent,
 * Trash, Drafts, Junk, Archive...).  DELETE forgets it, RENAME moves it.
 * \All and \Flagged would be virtual mailboxes: NO [USEATTR]. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "imap.h"
#include "bounds.h"
#include "log.h"


static const char *const uses[] = { "\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash" };

/* the canonical spelling of a storable use, NULL if none */
const char *imap_special_use_name(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof uses / sizeof uses[0]; i++)
		if (str_ieq(p, n, uses[i], strlen(uses[i])))
			return uses[i];
	return NULL;
}

static int state_path(const struct imap_sess *s, char *out, size_t max, const char *suffix)
{
	int n = snprintf(out, max, "%s/.imap/special-use%s", s->root, suffix);

	return n < 0 || (size_t)n >= max ? -1 : 0;
}

/* the whole file (NUL-terminated) into b; a missing file is empty */
static int load(const struct imap_sess *s, struct buf *b)
{
	char path[PATH_MAX], tmp[4096];
	ssize_t r;
	int fd;

	if (state_path(s, path, sizeof path, "") < 0)
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	while ((r = read(fd, tmp, sizeof tmp)) > 0 && b->len < IMAP_SPECIAL_USE_FILE_MAX)
		if (buf_add(b, tmp, (size_t)r) < 0) {
			close(fd);
			return -1;
		}
	close(fd);
	if (buf_addc(b, '\0') < 0)
		return -1;
	b->len--;
	return r < 0 ? -1 : 0;
}

const char *imap_special_use_stored(const struct imap_sess *s, const char *name)
{
	struct buf b;
	const char *p, *found = NULL;

	buf_init(&b);
	if (load(s, &b) == 0 && b.s) {
		for (p = b.s; p < b.s + b.len;) {
			const char *nl = memchr(p, '\n', (size_t)(b.s + b.len - p));
			const char *tab = memchr(p, '\t', (size_t)((nl ? nl : b.s + b.len) - p));
			size_t ll = (size_t)((nl ? nl : b.s + b.len) - p);
			if (tab && ll - (size_t)(tab - p) - 1 == strlen(name) &&
			    !memcmp(tab + 1, name, strlen(name)))
				found = imap_special_use_name(p, (size_t)(tab - p));
			p += ll + 1;
		}
	}
	buf_free(&b);
	return found;
}

/* Sets (use) or forgets (use NULL) the use of name; from is a name to
 * forget too (RENAME).  0, -1 errno. */
int imap_special_use_set(const struct imap_sess *s, const char *name, const char *use,
			 const char *from)
{
	char path[PATH_MAX], tmp[PATH_MAX], dir[PATH_MAX];
	struct buf b, out;
	const char *p;
	int fd, r = -1, n;

	buf_init(&b);
	buf_init(&out);
	if (load(s, &b) < 0)
		goto done;
	for (p = b.s; p && p < b.s + b.len;) {
		const char *nl = memchr(p, '\n', (size_t)(b.s + b.len - p));
		size_t ll = (size_t)((nl ? nl : b.s + b.len) - p);
		const char *tab = memchr(p, '\t', ll);
		size_t nn = tab ? ll - (size_t)(tab - p) - 1 : 0;
		int drop = tab && ((nn == strlen(name) && !memcmp(tab + 1, name, nn)) ||
				   (from && nn == strlen(from) && !memcmp(tab + 1, from, nn)));
		if (tab && !drop && (buf_add(&out, p, ll) < 0 || buf_addc(&out, '\n') < 0))
			goto done;
		p += ll + 1;
	}
	if (use && (buf_adds(&out, use) < 0 || buf_addc(&out, '\t') < 0 || buf_adds(&out, name) < 0 ||
		    buf_addc(&out, '\n') < 0))
		goto done;
	n = snprintf(dir, sizeof dir, "%s/.imap", s->root);
	if (n < 0 || (size_t)n >= sizeof dir || state_path(s, path, sizeof path, "") < 0 ||
	    state_path(s, tmp, sizeof tmp, ".tmp") < 0)
		goto done;
	if (mkdir(s->root, 0700) < 0 && errno != EEXIST)
		goto done;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		goto done;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto done;
	if ((out.len && write(fd, out.s, out.len) != (ssize_t)out.len) || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		goto done;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		goto done;
	}
	r = 0;
done:
	if (r < 0)
		log_msg(LOG_NOTICE, "special-use state in %s/.imap: %s", s->root, strerror(errno));
	buf_free(&b);
	buf_free(&out);
	return r;
}

/* " (USE (\Drafts))" after CREATE's name: 0 (*use_r set), -1 BAD, 1 NO
 * written (a use we cannot give: USEATTR) */
int imap_create_params(struct imap_sess *s, struct imap_cmd *c, const char **use_r)
{
	const char *p;
	size_t l;

	if (imap_sp(&c->ps) < 0 || imap_peek(&c->ps) != '(')
		return -1;
	c->ps.p++;
	if (imap_atom(&c->ps, &p, &l) < 0 || !str_ieq(p, l, "USE", 3) || imap_sp(&c->ps) < 0 ||
	    imap_peek(&c->ps) != '(')
		return -1;
	c->ps.p++;
	while (imap_peek(&c->ps) != ')') {   /* USE () asks for nothing */
		const char *u;
		if (imap_peek(&c->ps) != '\\')
			return -1;
		c->ps.p++;
		if (imap_atom(&c->ps, &p, &l) < 0)
			return -1;
		u = imap_special_use_name(p - 1, l + 1);
		if (!u || (*use_r && *use_r != u)) {
			imap_tagged(s, c, "NO", "[USEATTR] %s", !u ?
				    "This special use cannot be given to a mailbox here." :
				    "One special use per mailbox.");
			return 1;
		}
		*use_r = u;
		if (imap_peek(&c->ps) != ')' && imap_sp(&c->ps) < 0)
			return -1;
	}
	c->ps.p += 1;
	if (imap_peek(&c->ps) != ')')
		return -1;
	c->ps.p++;
	return imap_eol(&c->ps) ? 0 : -1;
}
