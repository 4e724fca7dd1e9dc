/* RFC 5322 tokenizer: white space and comments, atoms, quoted strings,
 * and the address-list grammar (display names, route-addrs, groups,
 * missing @domain), tolerant of obsolete syntax like Dovecot's
 * message-address.c. */
#include "mime_int.h"

#include <string.h>

void rfc822_init(struct rfc822 *r, const char *p, size_t n)
{
	r->p = p;
	r->end = p + n;
}

int rfc822_skip(struct rfc822 *r, struct buf *comment)
{
	unsigned depth;

	for (;;) {
		while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n'))
			r->p++;
		if (r->p >= r->end || *r->p != '(')
			return 0;
		/* a comment; nesting is a counter, not recursion */
		if (comment)
			buf_reset(comment);
		r->p++;
		depth = 1;
		while (r->p < r->end && depth > 0) {
			char c = *r->p++;
			if (c == '\\' && r->p < r->end)
				c = *r->p++;
			else if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				break;
			if (c == '\r' || c == '\n')
				continue;
			if (comment && buf_addc(comment, c) < 0)
				return -1;
		}
	}
}

int rfc822_quoted(struct rfc822 *r, struct buf *out)
{
	if (r->p >= r->end || *r->p != '"')
		return 0;
	r->p++;
	while (r->p < r->end && *r->p != '"') {
		char c = *r->p++;
		if (c == '\\' && r->p < r->end)
			c = *r->p++;
		else if (c == '\r' || c == '\n')
			continue; /* unfolding */
		if (buf_addc(out, c) < 0)
			return -1;
	}
	if (r->p < r->end)
		r->p++;
	if (out->s == NULL && buf_reserve(out, 1) < 0) /* "" is a value, not NIL */
		return -1;
	return 1;
}

static int is_atext(unsigned char c, int kind)
{
	if (c <= ' ' || c == 0x7f)
		return 0;
	if (kind == RFC822_TOKEN)
		return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
	if (c == '.')
		return kind == RFC822_DOTATOM;
	return strchr("()<>@,;:\\\"[]", c) == NULL;
}

int rfc822_atom(struct rfc822 *r, struct buf *out, int kind)
{
	const char *s = r->p;

	while (r->p < r->end && is_atext((unsigned char)*r->p, kind))
		r->p++;
	if (r->p == s)
		return 0;
	return buf_add(out, s, (size_t)(r->p - s)) < 0 ? -1 : 1;
}

/* phrase: words (atoms, dots, quoted strings) joined by one space */
static int phrase(struct rfc822 *r, struct buf *out)
{
	int n = 0, got;

	for (;;) {
		const char *save;
		if (rfc822_skip(r, NULL) < 0)
			return -1;
		save = r->p;
		if (n > 0 && r->p < r->end && (is_atext((unsigned char)*r->p, RFC822_DOTATOM) || *r->p == '"'))
			if (buf_addc(out, ' ') < 0)
				return -1;
		got = rfc822_quoted(r, out);
		if (got == 0)
			got = rfc822_atom(r, out, RFC822_DOTATOM);
		if (got < 0)
			return -1;
		if (got == 0) {
			r->p = save;
			return n;
		}
		n++;
	}
}

/* local-part: words separated by dots, kept unquoted */
static int local_part(struct rfc822 *r, struct buf *out)
{
	int got, n = 0;

	for (;;) {
		if (rfc822_skip(r, NULL) < 0)
			return -1;
		got = rfc822_quoted(r, out);
		if (got == 0)
			got = rfc822_atom(r, out, RFC822_ATOM);
		if (got < 0)
			return -1;
		n += got;
		if (rfc822_skip(r, NULL) < 0)
			return -1;
		if (r->p < r->end && *r->p == '.') {
			r->p++;
			if (buf_addc(out, '.') < 0)
				return -1;
			continue;
		}
		return n;
	}
}

/* domain: dot-atom or [domain-literal] (kept with brackets) */
static int domain(struct rfc822 *r, struct buf *out)
{
	if (rfc822_skip(r, NULL) < 0)
		return -1;
	if (r->p < r->end && *r->p == '[') {
		const char *s = r->p;
		while (r->p < r->end && *r->p != ']')
			r->p++;
		if (r->p < r->end)
			r->p++;
		return buf_add(out, s, (size_t)(r->p - s)) < 0 ? -1 : 1;
	}
	for (;;) {
		const char *save;
		int got = rfc822_atom(r, out, RFC822_ATOM);
		if (got <= 0)
			return got;
		save = r->p;
		if (rfc822_skip(r, NULL) < 0)
			return -1;
		if (r->p < r->end && *r->p == '.') {
			r->p++;
			if (buf_addc(out, '.') < 0 || rfc822_skip(r, NULL) < 0)
				return -1;
			continue;
		}
		r->p = save; /* a comment after the address may name it */
		return 1;
	}
}

struct addrstate {
	struct buf name, adl, local, host, comment;
	rfc822_addr_cb *cb;
	void *ctx;
};

static int emit(struct addrstate *st, int has_name)
{
	struct rfc822_addr a;

	memset(&a, 0, sizeof a);
	if (has_name && st->name.len > 0) {
		a.name = st->name.s;
		a.namelen = st->name.len;
	} else if (st->comment.len > 0) {
		a.name = st->comment.s; /* "user@host (Name)": the comment names it */
		a.namelen = st->comment.len;
	}
	if (st->adl.len > 0) {
		a.adl = st->adl.s;
		a.adllen = st->adl.len;
	}
	/* NIL host means a group marker, so fill in as Dovecot does */
	a.mailbox = st->local.len ? st->local.s : "MISSING_MAILBOX";
	a.mailboxlen = st->local.len ? st->local.len : 15;
	a.host = st->host.len ? st->host.s : "MISSING_DOMAIN";
	a.hostlen = st->host.len ? st->host.len : 14;
	return st->cb(st->ctx, &a);
}

/* <[@route,@route:]local@domain> */
static int angle_addr(struct rfc822 *r, struct addrstate *st)
{
	r->p++; /* '<' */
	if (rfc822_skip(r, NULL) < 0)
		return -1;
	if (r->p < r->end && *r->p == '@') {
		/* obs-route: "@a,@b:" kept as the ENVELOPE's adl */
		while (r->p < r->end && *r->p != ':' && *r->p != '>') {
			if (*r->p != ' ' && *r->p != '\t' && *r->p != '\r' && *r->p != '\n' &&
			    buf_addc(&st->adl, *r->p) < 0)
				return -1;
			r->p++;
		}
		if (r->p < r->end && *r->p == ':')
			r->p++;
	}
	if (local_part(r, &st->local) < 0)
		return -1;
	if (r->p < r->end && *r->p == '@') {
		r->p++;
		if (domain(r, &st->host) < 0)
			return -1;
	}
	while (r->p < r->end && *r->p != '>' && *r->p != ',')
		r->p++; /* junk inside the brackets */
	if (r->p < r->end && *r->p == '>')
		r->p++;
	return 0;
}

/* One mailbox (or group when allow_group); 0, or -1 on error. */
static int mailbox(struct rfc822 *r, struct addrstate *st, int allow_group, int *group_r)
{
	const char *start;
	int n;

	buf_reset(&st->name);
	buf_reset(&st->adl);
	buf_reset(&st->local);
	buf_reset(&st->host);
	buf_reset(&st->comment);
	*group_r = 0;
	if (rfc822_skip(r, NULL) < 0)
		return -1;
	start = r->p;
	n = phrase(r, &st->name);
	if (n < 0)
		return -1;
	if (rfc822_skip(r, NULL) < 0)
		return -1;
	if (r->p < r->end && *r->p == ':' && allow_group) {
		r->p++;
		*group_r = 1;
		return 0;
	}
	if (r->p < r->end && *r->p == '<') {
		if (angle_addr(r, st) < 0 || rfc822_skip(r, &st->comment) < 0)
			return -1;
		buf_reset(&st->comment);
		return emit(st, 1);
	}
	/* addr-spec: start again, the words were the local part */
	r->p = start;
	buf_reset(&st->name);
	if (local_part(r, &st->local) < 0)
		return -1;
	if (r->p < r->end && *r->p == '@') {
		r->p++;
		if (domain(r, &st->host) < 0)
			return -1;
	}
	if (rfc822_skip(r, &st->comment) < 0)
		return -1;
	if (st->local.len == 0 && st->host.len == 0 && st->comment.len == 0)
		return 1; /* nothing here */
	return emit(st, 0);
}

/* Skips to the next ',' (or ';' in a group) after junk. */
static void resync(struct rfc822 *r, int in_group)
{
	while (r->p < r->end && *r->p != ',' && !(in_group && *r->p == ';')) {
		if (*r->p == '"') {
			struct buf junk;
			buf_init(&junk);
			(void)rfc822_quoted(r, &junk);
			buf_free(&junk);
			continue;
		}
		r->p++;
	}
}

int rfc822_addr_list(const char *v, size_t n, rfc822_addr_cb *cb, void *ctx)
{
	struct addrstate st;
	struct rfc822 r;
	struct rfc822_addr a;
	int group, in_group = 0, ret = 0, rc;

	memset(&st, 0, sizeof st);
	st.cb = cb;
	st.ctx = ctx;
	rfc822_init(&r, v, n);
	while (ret == 0) {
		if (rfc822_skip(&r, NULL) < 0) {
			ret = -1;
			break;
		}
		if (r.p >= r.end)
			break;
		if (*r.p == ',') {
			r.p++;
			continue;
		}
		if (in_group && *r.p == ';') {
			r.p++;
			memset(&a, 0, sizeof a);
			in_group = 0;
			ret = cb(ctx, &a);
			continue;
		}
		{
			const char *before = r.p;
			rc = mailbox(&r, &st, !in_group, &group);
			if (rc < 0) {
				ret = -1;
				break;
			}
			if (group) {
				memset(&a, 0, sizeof a);
				a.mailbox = st.name.s ? st.name.s : "";
				a.mailboxlen = st.name.len;
				in_group = 1;
				ret = cb(ctx, &a);
				continue;
			}
			if (rfc822_skip(&r, NULL) < 0) {
				ret = -1;
				break;
			}
			if (r.p < r.end && *r.p != ',' && !(in_group && *r.p == ';'))
				resync(&r, in_group);
			if (r.p == before)
				r.p++; /* always progress */
		}
	}
	if (ret == 0 && in_group) {
		memset(&a, 0, sizeof a); /* unterminated group: close it */
		ret = cb(ctx, &a);
	}
	buf_free(&st.name);
	buf_free(&st.adl);
	buf_free(&st.local);
	buf_free(&st.host);
	buf_free(&st.comment);
	return ret < 0 ? -1 : 0;
}
