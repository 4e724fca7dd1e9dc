/* Mailbox names (RFC 3501 5.1, modified UTF-7 5.1.3), flags (2.3.2) and
 * dates (9, date and date-time).  Names map to files under the folder root;
 * anything that could leave it (absolute paths, "..", hidden dot names such
 * as Dovecot's .imap and .subscriptions, control characters) is refused. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "imap.h"

#define NAME_MAX_LEN 512

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

int imap_name_resolve(struct imap_sess *s, const char *name, size_t len, char *path_r,
		      size_t pathmax, char *canon_r, size_t canonmax)
{
	size_t i, start = 0;
	int r;

	if (len == 0 || len > NAME_MAX_LEN || memchr(name, '\0', len))
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

/* 1 system flag (*flag_r), 2 \Recent, 0 keyword, -1 invalid */
int imap_flag_parse(const char *p, size_t len, uint32_t *flag_r)
{
	static const struct { const char *n; uint32_t f; } t[] = {
		{ "\\Seen", MBOX_F_SEEN }, { "\\Answered", MBOX_F_ANSWERED },
		{ "\\Flagged", MBOX_F_FLAGGED }, { "\\Deleted", MBOX_F_DELETED },
		{ "\\Draft", MBOX_F_DRAFT },
	};
	size_t i;

	if (len == 0)
		return -1;
	if (p[0] != '\\')
		return 0;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (str_ieq(p, len, t[i].n, strlen(t[i].n))) {
			*flag_r = t[i].f;
			return 1;
		}
	if (str_ieq(p, len, "\\Recent", 7))
		return 2;
	return -1;
}

static int flag_token(struct imap_parser *ps, const char **p_r, size_t *len_r)
{
	char *p = ps->p;
	const char *a;
	size_t n;

	if (p < ps->end && *p == '\\')
		ps->p++;
	if (imap_atom(ps, &a, &n) < 0) {
		ps->p = p;
		return -1;
	}
	*p_r = p;
	*len_r = (size_t)(ps->p - p);
	return 0;
}

int imap_flag_list(struct imap_parser *ps, uint32_t *flags_r, const char **kw, size_t *nkw,
		   size_t kwmax, int allow_recent)
{
	int paren = imap_peek(ps) == '(';
	const char *p;
	size_t n;

	*flags_r = 0;
	*nkw = 0;
	if (paren) {
		ps->p++;
		if (imap_peek(ps) == ')') {
			ps->p++;
			return 0;
		}
	}
	for (;;) {
		uint32_t f = 0;
		int r;

		if (flag_token(ps, &p, &n) < 0)
			return -1;
		r = imap_flag_parse(p, n, &f);
		if (r < 0 || (r == 2 && !allow_recent))
			return -1;
		if (r == 1) {
			*flags_r |= f;
		} else if (r == 0) {
			if (*nkw >= kwmax)
				return -1;
			kw[(*nkw)++] = imap_dupz(ps, p, n);
		}
		if (paren && imap_peek(ps) == ')') {
			ps->p++;
			return 0;
		}
		if (imap_sp(ps) < 0)
			return paren ? -1 : 0;
		if (!paren)
			return -1;
	}
}

static const char *const mon[] = { "jan", "feb", "mar", "apr", "may", "jun",
				   "jul", "aug", "sep", "oct", "nov", "dec" };

static int month(const char *p)
{
	int i;

	for (i = 0; i < 12; i++)
		if (!strncasecmp(p, mon[i], 3))
			return i;
	return -1;
}

static int num(const char *p, size_t n, int *v)
{
	uint32_t x;

	if (parse_u32(p, n, 100000, &x) < 0)
		return -1;
	*v = (int)x;
	return 0;
}

/* "1-Feb-1994" or "01-Feb-1994": the day number (days since 1970-01-01) */
int imap_date_parse(const char *p, size_t len, int64_t *t_r)
{
	const char *d1 = memchr(p, '-', len), *d2;
	struct tm tm;
	int day, m, y;

	if (!d1 || d1 - p < 1 || d1 - p > 2)
		return -1;
	d2 = d1 + 4;
	if ((size_t)(d2 - p) >= len || *d2 != '-' || (size_t)(d2 + 5 - p) != len)
		return -1;
	if (num(p, (size_t)(d1 - p), &day) < 0 || (m = month(d1 + 1)) < 0 ||
	    num(d2 + 1, 4, &y) < 0 || day < 1 || day > 31)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_mday = day;
	tm.tm_mon = m;
	tm.tm_year = y - 1900;
	*t_r = (int64_t)timegm(&tm) / 86400;
	return 0;
}

/* "17-Jul-1996 02:44:25 -0700" (day may be " 7") -> time_t */
int imap_datetime_parse(const char *p, size_t len, int64_t *t_r)
{
	struct tm tm;
	int day, m, y, hh, mm, ss, zh, zm, sign;

	if (len != 26 || p[2] != '-' || p[6] != '-' || p[11] != ' ' || p[14] != ':' ||
	    p[17] != ':' || p[20] != ' ' || (p[21] != '+' && p[21] != '-'))
		return -1;
	if (p[0] == ' ') {
		if (num(p + 1, 1, &day) < 0)
			return -1;
	} else if (num(p, 2, &day) < 0) {
		return -1;
	}
	if ((m = month(p + 3)) < 0 || num(p + 7, 4, &y) < 0 || num(p + 12, 2, &hh) < 0 ||
	    num(p + 15, 2, &mm) < 0 || num(p + 18, 2, &ss) < 0 || num(p + 22, 2, &zh) < 0 ||
	    num(p + 24, 2, &zm) < 0)
		return -1;
	if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zm > 59 || y < 1970)
		return -1;
	sign = p[21] == '-' ? -1 : 1;
	memset(&tm, 0, sizeof tm);
	tm.tm_mday = day;
	tm.tm_mon = m;
	tm.tm_year = y - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	*t_r = (int64_t)timegm(&tm) - sign * (zh * 3600 + zm * 60);
	return 0;
}
