/* Reading one IMAP command (RFC 3501 section 4.3 literals, RFC 7888
 * LITERAL+) and tokenizing it.  A command is kept in memory as its lines with
 * each literal inlined as "{n}\r\n" followed by its n bytes, so the tokenizer
 * sees one buffer with explicit lengths.  Bounds: IMAP_LINE_MAX per line,
 * message_size_limit per literal and for the whole command.  Also the
 * parsing of flag lists (RFC 3501 2.3.2) and dates (9, date, date-time). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "imap.h"
#include "bounds.h"
#include "log.h"


static char line[IMAP_LINE_MAX];

/* A line ending in {n} or {n+}: 1 and n, nonsync; 0 otherwise. */
static int literal_at_end(const char *p, size_t len, uint64_t *n_r, int *nonsync_r)
{
	size_t i, e;

	if (len < 3 || p[len - 1] != '}')
		return 0;
	e = len - 1;
	*nonsync_r = 0;
	if (p[e - 1] == '+') {
		*nonsync_r = 1;
		e--;
	}
	i = e;
	while (i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9')
		i--;
	if (i == e || i == 0 || p[i - 1] != '{')
		return 0;
	if (parse_u64(p + i, e - i, UINT64_MAX / 2, n_r) < 0)
		return 0;
	return 1;
}

/* The tag of a (possibly broken) command, for error replies: "*" if none. */
static void put_tag_of(struct imap_sess *s, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && i < 64 && imap_is_atom_char((unsigned char)p[i]) && p[i] != '+'; i++)
		;
	if (i == 0 || (i < len && p[i] != ' '))
		imap_putn(s, "*", 1);
	else
		imap_putn(s, p, i);
}

static int fail_line(struct imap_sess *s, struct buf *cmd, const char *code, const char *text)
{
	const char *p = cmd->len ? cmd->s : line;
	size_t n = cmd->len ? cmd->len : 0;

	put_tag_of(s, p, n);
	imap_put(s, " %s%s\r\n", code, text);
	buf_reset(cmd);
	return IMAP_RD_AGAIN;
}

/* A line over IMAP_LINE_MAX: the rest is read and dropped, and the reply is
 * tagged (a client waits for its tag, an untagged BAD would hang it).  A
 * sync literal announced at its end was never acknowledged, so the client
 * aborts it; a LITERAL+ one is already on its way: refuse and close. */
static int long_line(struct imap_sess *s, struct buf *cmd, size_t len)
{
	uint64_t n;
	int r, nonsync = 0, lit;

	if (cmd->len == 0 && buf_add(cmd, line, len < 256 ? len : 256) < 0)
		return IMAP_RD_ERR;
	do {
		r = io_getpart(s->io, line, sizeof line, &len);
	} while (r == IO_PART);
	if (r != IO_OK)
		return r == IO_EOF ? IMAP_RD_EOF : IMAP_RD_ERR;
	lit = literal_at_end(line, len, &n, &nonsync);
	fail_line(s, cmd, "BAD [TOOBIG] ", "Command line too long");
	if (lit && nonsync) {
		imap_put(s, "* BYE Command line too long\r\n");
		return IMAP_RD_ERR;
	}
	return IMAP_RD_AGAIN;
}

static int read_command(struct imap_sess *s, struct buf *cmd);

int imap_read_command(struct imap_sess *s, struct buf *cmd)
{
	int r = read_command(s, cmd);

	io_deadline(s->io, 0, 0);
	return r;
}

static int read_command(struct imap_sess *s, struct buf *cmd)
{
	uint64_t limit = s->conf->message_size_limit + 2 * (uint64_t)IMAP_LINE_MAX;
	uint64_t litmax = s->conf->message_size_limit;
	unsigned segs = 0;

	/* before login only names and passwords come as literals */
	if (s->state == IMAP_S_NOTAUTH)
		litmax = limit = IMAP_PREAUTH_LITERAL_MAX;

	buf_reset(cmd);
	for (;;) {
		size_t len = 0, got = 0;
		uint64_t n;
		int nonsync, r;

		r = io_getpart(s->io, line, sizeof line, &len);
		if (r == IO_PART)
			return long_line(s, cmd, len);
		if (r == IO_EOF)
			return IMAP_RD_EOF;
		if (r == IO_TIMEOUT) {
			imap_put(s, "* BYE Autologout; idle for too long\r\n");
			return IMAP_RD_ERR;
		}
		if (r != IO_OK)
			return IMAP_RD_ERR;
		if (buf_add(cmd, line, len) < 0)
			return IMAP_RD_ERR;
		if (!literal_at_end(line, len, &n, &nonsync))
			return IMAP_RD_OK;
		if (++segs > IMAP_SEGMENTS_MAX || n > litmax ||
		    cmd->len + n > limit) {
			if (nonsync) {
				/* RFC 7888 section 4: the bytes are on their way;
				 * refusing and closing keeps us in sync */
				fail_line(s, cmd, "BAD [TOOBIG] ", "Literal too large");
				imap_put(s, "* BYE Literal too large\r\n");
				return IMAP_RD_ERR;
			}
			return fail_line(s, cmd, "NO [LIMIT] ", "Literal too large");
		}
		if (buf_add(cmd, "\r\n", 2) < 0 || buf_reserve(cmd, n + 1) < 0)
			return IMAP_RD_ERR;
		if (!nonsync)
			imap_put(s, "+ Ready for literal data\r\n");
		/* the rest of the command, literals included, has one deadline
		 * (idle limit plus MIN_DATA_RATE): no byte-per-timeout client
		 * holds the session for ever */
		if (segs == 1)
			io_deadline(s->io, s->io->timeout_ms / 1000, MIN_DATA_RATE);
		r = io_read(s->io, cmd->s + cmd->len, n, &got);
		if (got < n) {
			if (r == IO_TIMEOUT)
				imap_put(s, "* BYE Autologout; idle for too long\r\n");
			return r == IO_TIMEOUT || r == IO_ERR ? IMAP_RD_ERR : IMAP_RD_EOF;
		}
		cmd->len += n;
		cmd->s[cmd->len] = '\0';
	}
}

/* ---- tokenizer ---------------------------------------------------------- */

struct arena_blk {
	struct arena_blk *next;
	char data[];
};

void imap_parser_init(struct imap_parser *ps, char *p, size_t len)
{
	ps->p = p;
	ps->end = p + len;
	ps->arena = NULL;
	ps->arena_len = ps->arena_cap = 0;
}

void imap_parser_free(struct imap_parser *ps)
{
	struct arena_blk *b = (struct arena_blk *)ps->arena;

	while (b) {
		struct arena_blk *n = b->next;
		free(b);
		b = n;
	}
	ps->arena = NULL;
}

static char *arena_alloc(struct imap_parser *ps, size_t n)
{
	struct arena_blk *b;

	if (n > SIZE_MAX - sizeof *b - 1)
		return NULL;
	b = malloc(sizeof *b + n + 1);
	if (!b)
		return NULL;
	b->next = (struct arena_blk *)ps->arena;
	ps->arena = (char *)b;
	return b->data;
}

char *imap_dupz(struct imap_parser *ps, const char *p, size_t len)
{
	char *d;

	if (memchr(p, '\0', len))
		return NULL;
	d = arena_alloc(ps, len);
	if (!d)
		return NULL;
	memcpy(d, p, len);
	d[len] = '\0';
	return d;
}

int imap_eol(struct imap_parser *ps)
{
	return ps->p >= ps->end;
}

int imap_peek(struct imap_parser *ps)
{
	return ps->p < ps->end ? (unsigned char)*ps->p : -1;
}

int imap_sp(struct imap_parser *ps)
{
	if (ps->p < ps->end && *ps->p == ' ') {
		ps->p++;
		return 0;
	}
	return -1;
}


static int span(struct imap_parser *ps, const char **p_r, size_t *len_r, const char *extra)
{
	char *q = ps->p;

	while (q < ps->end && (imap_is_atom_char((unsigned char)*q) ||
			       (*q && strchr(extra, *q))))
		q++;
	if (q == ps->p)
		return -1;
	*p_r = ps->p;
	*len_r = (size_t)(q - ps->p);
	ps->p = q;
	return 0;
}

int imap_atom(struct imap_parser *ps, const char **p_r, size_t *len_r)
{
	return span(ps, p_r, len_r, "");
}

static int quoted(struct imap_parser *ps, const char **p_r, size_t *len_r)
{
	char *q = ps->p + 1, *d;
	size_t n = 0;

	/* first pass: length and validity */
	while (q < ps->end && *q != '"') {
		if (*q == '\\') {
			if (q + 1 >= ps->end || (q[1] != '"' && q[1] != '\\'))
				return -1;
			q++;
		} else if (*q == '\r' || *q == '\n' || *q == '\0') {
			return -1;
		}
		q++;
		n++;
	}
	if (q >= ps->end)
		return -1;
	d = arena_alloc(ps, n);
	if (!d)
		return -1;
	*p_r = d;
	*len_r = n;
	for (q = ps->p + 1; *q != '"'; q++) {
		if (*q == '\\')
			q++;
		*d++ = *q;
	}
	*d = '\0';
	ps->p = q + 1;
	return 0;
}

static int literal(struct imap_parser *ps, const char **p_r, size_t *len_r)
{
	char *q = ps->p + 1, *digits = q;
	uint64_t n;

	while (q < ps->end && *q >= '0' && *q <= '9')
		q++;
	if (parse_u64(digits, (size_t)(q - digits), UINT64_MAX / 2, &n) < 0)
		return -1;
	if (q < ps->end && *q == '+')
		q++;
	if (ps->end - q < 3 || q[0] != '}' || q[1] != '\r' || q[2] != '\n')
		return -1;
	q += 3;
	if ((uint64_t)(ps->end - q) < n)
		return -1;
	*p_r = q;
	*len_r = (size_t)n;
	ps->p = q + n;
	return 0;
}

int imap_string(struct imap_parser *ps, const char **p_r, size_t *len_r)
{
	if (ps->p >= ps->end)
		return -1;
	if (*ps->p == '"')
		return quoted(ps, p_r, len_r);
	if (*ps->p == '{')
		return literal(ps, p_r, len_r);
	return -1;
}

int imap_astring(struct imap_parser *ps, const char **p_r, size_t *len_r)
{
	if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '{'))
		return imap_string(ps, p_r, len_r);
	return span(ps, p_r, len_r, "]");
}

int imap_list_mailbox(struct imap_parser *ps, const char **p_r, size_t *len_r)
{
	if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '{'))
		return imap_string(ps, p_r, len_r);
	return span(ps, p_r, len_r, "]%*");
}

/* ---- flags (RFC 3501 2.3.2) and dates (9, date and date-time) ---- */

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
