/* Mailbox names (RFC 3501 5.1, modified UTF-7 5.1.3).  Names map to files
 * under the folder root;
 * anything that could leave it (absolute paths, "..", hidden dot names such
 * as Dovecot's .imap and .subscriptions, control characters) is refused. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "imap.h"


int imap_utf7_valid(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)p[i++];
		size_t n = 0;
		if (c < 0x20 || c > 0x7e)
			return 0;
		if (c != '&')
			continue;
		while (i < len && p[i] != '-') {
			c = (unsigned char)p[i++];
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '+' || c == ','))
				return 0;
			n++;
		}
		if (i >= len)
			return 0;          /* unterminated shift */
		i++;
		if (n > 0 && (n * 6) / 16 == 0)
			return 0;          /* not even one UTF-16 unit */
	}
	return 1;
}

/* After ENABLE IMAP4rev2 the client's names are UTF-8 (RFC 9051 5.1):
 * they are stored, and resolved, as modified UTF-7. */
int imap_name_resolve(struct imap_sess *s, const char *name, size_t len, char *path_r,
		      size_t pathmax, char *canon_r, size_t canonmax)
{
	char m[IMAP_NAME_MAX * 4 + 1];
	int n;

	if (!s->rev2)
		return imap_name_resolve_stored(s, name, len, path_r, pathmax, canon_r, canonmax);
	if (len > IMAP_NAME_MAX || (n = imap_utf8_to_mutf7(name, len, m, sizeof m)) < 0)
		return -1;
	return imap_name_resolve_stored(s, m, (size_t)n, path_r, pathmax, canon_r, canonmax);
}

int imap_name_resolve_stored(struct imap_sess *s, const char *name, size_t len, char *path_r,
			     size_t pathmax, char *canon_r, size_t canonmax)
{
	size_t i, start = 0;
	int r;

	if (len == 0 || len > IMAP_NAME_MAX || memchr(name, '\0', len))
		return -1;
	if (str_ieq(name, len, "INBOX", 5)) {
		if (str_copyz(canon_r, canonmax, "INBOX") < 0 ||
		    str_copyz(path_r, pathmax, s->spool) < 0)
			return -1;
		return 1;
	}
	/* INBOX is a file (the spool): it has no children */
	if (len > 5 && str_iprefix(name, len, "INBOX/"))
		return -1;
	if (!imap_utf7_valid(name, len))
		return -1;
	for (i = 0; i <= len; i++) {
		if (i < len && name[i] != '/')
			continue;
		if (i == start || name[start] == '.' || name[start] == '~')
			return -1;     /* "", ".", "..", ".hidden", "~user" */
		start = i + 1;
	}
	if (str_copy(canon_r, canonmax, name, len) < 0)
		return -1;
	r = snprintf(path_r, pathmax, "%s/%.*s", s->root, (int)len, name);
	if (r < 0 || (size_t)r >= pathmax)
		return -1;
	return 0;
}

const char *imap_special_use(const struct imap_sess *s, const char *name)
{
	static const struct { const char *name, *use; } t[] = {
		{ "Sent", "\\Sent" }, { "Sent Messages", "\\Sent" }, { "Sent Items", "\\Sent" },
		{ "Trash", "\\Trash" }, { "Deleted Messages", "\\Trash" },
		{ "Drafts", "\\Drafts" }, { "Junk", "\\Junk" }, { "Spam", "\\Junk" },
		{ "Archive", "\\Archive" }, { "Archives", "\\Archive" },
	};
	const char *stored = imap_special_use_stored(s, name);
	size_t i;

	if (stored)
		return stored;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (!strcasecmp(name, t[i].name))
			return t[i].use;
	return NULL;
}
