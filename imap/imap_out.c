/* Output helpers: every user-controlled string reaches the wire through
 * imap_put_astring / qstring / nstring / literal, which choose an atom, a
 * quoted string or a literal from the content (RFC 3501 section 4.3). */
#include <string.h>
#include <time.h>
#include "imap.h"

void imap_put(struct imap_sess *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	io_vprintf(s->io, fmt, ap);
	va_end(ap);
}

void imap_putn(struct imap_sess *s, const char *p, size_t n)
{
	io_put(s->io, p, n);
}

/* The per-message pieces of a FETCH response without printf: a FETCH
 * 1:* (FLAGS) of 100,000 messages spent a third of its time formatting. */
void imap_puts(struct imap_sess *s, const char *str)
{
	io_puts(s->io, str);
}

void imap_put_u64(struct imap_sess *s, uint64_t v)
{
	char b[24];
	size_t i = sizeof b;

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	io_put(s->io, b + i, sizeof b - i);
}

void imap_put_literal(struct imap_sess *s, const char *p, size_t n)
{
	io_put(s->io, "{", 1);
	imap_put_u64(s, n);
	io_put(s->io, "}\r\n", 3);
	io_put_nonul(s->io, p, n);
}

/* quotable: no CR, LF, NUL, 8-bit, and short */
static int quotable(const char *p, size_t n)
{
	size_t i;

	if (n > 1024)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\r' || c == '\n' || c == 0 || c >= 0x80)
			return 0;
	}
	return 1;
}

static void put_quoted(struct imap_sess *s, const char *p, size_t n)
{
	size_t i, start = 0;

	io_put(s->io, "\"", 1);
	for (i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\') {
			io_put(s->io, p + start, i - start);
			io_put(s->io, "\\", 1);
			start = i;
		}
	}
	io_put(s->io, p + start, n - start);
	io_put(s->io, "\"", 1);
}

void imap_put_qstring(struct imap_sess *s, const char *p, size_t n)
{
	if (quotable(p, n))
		put_quoted(s, p, n);
	else
		imap_put_literal(s, p, n);
}

void imap_put_astring(struct imap_sess *s, const char *p, size_t n)
{
	size_t i;

	if (n == 0 || (n == 3 && !strncasecmp(p, "NIL", 3))) {
		imap_put_qstring(s, p, n);
		return;
	}
	for (i = 0; i < n; i++)
		if (!imap_is_atom_char((unsigned char)p[i]) && p[i] != ']')
			break;
	if (i == n)
		io_put(s->io, p, n);
	else
		imap_put_qstring(s, p, n);
}

void imap_put_nstring(struct imap_sess *s, const char *p, size_t n)
{
	if (!p)
		io_put(s->io, "NIL", 3);
	else
		imap_put_qstring(s, p, n);
}

/* mailbox names are always quoted: clients parse them most reliably so;
 * UTF-8 after ENABLE IMAP4rev2 (a stored name that is not valid modified
 * UTF-7 is shown as it is) */
void imap_put_mailbox(struct imap_sess *s, const char *name)
{
	char u[IMAP_NAME_MAX * 2 + 1];
	int n;

	/* RFC 9051 4.3: UTF-8 may be quoted; the conversion let no control through */
	if (s->rev2 && (n = imap_mutf7_to_utf8(name, strlen(name), u, sizeof u)) >= 0)
		put_quoted(s, u, (size_t)n);
	else
		imap_put_qstring(s, name, strlen(name));
}

/* a keyword from the file is shown only if it is a valid atom */
int imap_kw_ok(const char *k)
{
	if (!k || !*k || *k == '\\')
		return 0;
	for (; *k; k++)
		if (!imap_is_atom_char((unsigned char)*k))
			return 0;
	return 1;
}

void imap_put_flags(struct imap_sess *s, const struct imap_vmsg *m)
{
	const char *sep = "";
	size_t k;

	static const struct { uint32_t bit; const char *name; } sys[] = {
		{ MBOX_F_ANSWERED, "\\Answered" }, { MBOX_F_FLAGGED, "\\Flagged" },
		{ MBOX_F_DELETED, "\\Deleted" }, { MBOX_F_SEEN, "\\Seen" }, { MBOX_F_DRAFT, "\\Draft" },
	};

	io_put(s->io, "(", 1);
	for (k = 0; k < sizeof sys / sizeof sys[0]; k++) {
		if (!(m->flags & sys[k].bit))
			continue;
		imap_puts(s, sep);
		imap_puts(s, sys[k].name);
		sep = " ";
	}
	if (m->recent && !s->rev2) {
		imap_puts(s, sep);
		imap_puts(s, "\\Recent");
		sep = " ";
	}
	for (k = 0; k < s->sc.nkeywords && k < MBOX_KW_MAX; k++) {
		if (!(m->keywords & ((uint64_t)1 << k)) || !imap_kw_ok(s->sc.keywords[k]))
			continue;
		imap_puts(s, sep);
		imap_puts(s, s->sc.keywords[k]);
		sep = " ";
	}
	io_put(s->io, ")", 1);
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* INTERNALDATE: "17-Jul-1996 02:44:25 -0700" in local time */
void imap_put_datetime(struct imap_sess *s, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	long off;
	char sign = '+';

	if (!localtime_r(&tt, &tm)) {
		imap_put(s, "\"01-Jan-1970 00:00:00 +0000\"");
		return;
	}
	off = tm.tm_gmtoff / 60;
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	imap_put(s, "\"%02d-%s-%04d %02d:%02d:%02d %c%02ld%02ld\"", tm.tm_mday,
		 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 sign, off / 60, off % 60);
}

/* n numbers in the given order, ascending runs as "a:b" (ESORT ALL,
 * VANISHED, APPENDUID, MODIFIED) */
void imap_put_ordered_set(struct imap_sess *s, const uint32_t *v, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && v[j] == v[j - 1] + 1; j++)
			;
		imap_put(s, "%s%u", i ? "," : "", v[i]);
		if (j - i > 1)
			imap_put(s, ":%u", v[j - 1]);
	}
}
