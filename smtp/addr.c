/* RFC 5321 4.1.2 paths and the ESMTP parameters of MAIL and RCPT
 * (SIZE RFC 1870, BODY RFC 6152, SMTPUTF8 RFC 6531, RET/ENVID/NOTIFY/ORCPT
 * RFC 3461).  Lenient where Postfix is (spaces after the colon, a path
 * without angle brackets: the lab types "mail from: darth@starwars.univ"),
 * strict about what gets stored. */
#include <string.h>
#include "smtp.h"

size_t addr_at(const char *p, size_t len)
{
	size_t i = len;

	while (i > 0)
		if (p[--i] == '@')
			return i;
	return len;
}

int addr_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i], n, cp, k;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		if (i + n >= len)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int addr_clean(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x21 || c == 0x7f || c == '<' || c == '>' || c == '\\')
			return 0;
	}
	return 1;
}

static int has_8bit(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

static int domain_ok(const char *d, size_t len)
{
	size_t i;

	if (len == 0 || len > SMTP_DOMAIN_MAX)
		return 0;
	if (d[0] == '[')
		return d[len - 1] == ']' && len > 2;
	if (d[0] == '.' || d[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return 0;
		if (c == '.' && i + 1 < len && d[i + 1] == '.')
			return 0;
	}
	return 1;
}

/* Extracts the path after "FROM:"/"TO:".  *end_r: where parameters start. */
static int get_path(const char *arg, size_t len, size_t *pos, const char **p_r, size_t *n_r)
{
	size_t i = *pos, start;
	int quoted = 0;

	while (i < len && arg[i] == ' ')
		i++;
	if (i < len && arg[i] == '<') {
		start = ++i;
		while (i < len && (quoted || arg[i] != '>')) {
			if (arg[i] == '"')
				quoted = !quoted;
			else if (arg[i] == '\\' && quoted && i + 1 < len)
				i++;
			i++;
		}
		if (i >= len)
			return ADDR_SYNTAX;
		*p_r = arg + start;
		*n_r = i - start;
		i++;
		if (i < len && arg[i] != ' ')
			return ADDR_SYNTAX;
	} else {
		start = i;
		while (i < len && arg[i] != ' ')
			i++;
		if (i == start)
			return ADDR_SYNTAX;
		*p_r = arg + start;
		*n_r = i - start;
	}
	*pos = i;
	return 0;
}

/* Validates a path and copies it (source route dropped) into out. */
static int check_path(const char *p, size_t n, int utf8, int empty_ok, char *out, size_t outlen)
{
	size_t at;

	/* RFC 5321 4.1.2 source route "@a,@b:": accepted and ignored */
	if (n > 0 && p[0] == '@') {
		const char *colon = memchr(p, ':', n);
		if (!colon)
			return ADDR_SYNTAX;
		n -= (size_t)(colon + 1 - p);
		p = colon + 1;
	}
	if (n == 0) {
		if (!empty_ok)
			return ADDR_SYNTAX;
		out[0] = '\0';
		return 0;
	}
	if (n > SMTP_PATH_MAX)
		return ADDR_LONG;
	if (memchr(p, '\0', n))
		return ADDR_SYNTAX;
	if (has_8bit(p, n)) {
		if (!utf8)
			return ADDR_UTF8;
		if (!addr_utf8_valid(p, n))
			return ADDR_SYNTAX;
	}
	at = addr_at(p, n);
	if (at == 0)
		return ADDR_SYNTAX;
	if (at < n && !domain_ok(p + at + 1, n - at - 1))
		return ADDR_SYNTAX;
	if (at > SMTP_LOCAL_MAX && !utf8)
		return ADDR_LONG;
	/* quoted local parts with spaces are refused: unsafe to store */
	if (!addr_clean(p, n))
		return ADDR_SYNTAX;
	if (str_copy(out, outlen, p, n) < 0)
		return ADDR_LONG;
	return 0;
}

static int xtext_ok(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 33 || c > 126 || c == '=')
			return 0;
	}
	return 1;
}

/* Calls fn for each "KEY[=VALUE]" after the path. */
static int next_param(const char *arg, size_t len, size_t *pos, const char **k, size_t *kl,
		      const char **v, size_t *vl)
{
	size_t i = *pos, s;
	const char *eq;

	while (i < len && arg[i] == ' ')
		i++;
	if (i >= len)
		return 0;
	s = i;
	while (i < len && arg[i] != ' ')
		i++;
	*k = arg + s;
	eq = memchr(arg + s, '=', i - s);
	if (eq) {
		*kl = (size_t)(eq - (arg + s));
		*v = eq + 1;
		*vl = (size_t)(arg + i - (eq + 1));
	} else {
		*kl = i - s;
		*v = NULL;
		*vl = 0;
	}
	*pos = i;
	return 1;
}

#define KEY(k, kl, s) str_ieq(k, kl, s, sizeof(s) - 1)

int addr_parse_mail(const char *arg, size_t len, struct smtp_mail *m)
{
	size_t pos, pn, kl, vl;
	const char *p, *k, *v;
	int r;

	memset(m, 0, sizeof *m);
	pos = 0;
	while (pos < len && arg[pos] == ' ')
		pos++;
	if (!str_iprefix(arg + pos, len - pos, "FROM:"))
		return ADDR_SYNTAX;
	pos += 5;
	if ((r = get_path(arg, len, &pos, &p, &pn)) != 0)
		return r;
	/* parameters first: SMTPUTF8 decides whether the path may be 8-bit */
	{
		size_t save = pos;
		while (next_param(arg, len, &pos, &k, &kl, &v, &vl)) {
			if (KEY(k, kl, "SMTPUTF8") && !v)
				m->utf8 = 1;
		}
		pos = save;
	}
	if ((r = check_path(p, pn, m->utf8, 1, m->sender, sizeof m->sender)) != 0)
		return r;
	while (next_param(arg, len, &pos, &k, &kl, &v, &vl)) {
		if (KEY(k, kl, "SIZE") && v) {
			if (parse_u64(v, vl, UINT64_MAX / 2, &m->size) < 0)
				return ADDR_PARAM;
		} else if (KEY(k, kl, "BODY") && v && !m->body) {
			if (KEY(v, vl, "7BIT"))
				m->body = '7';
			else if (KEY(v, vl, "8BITMIME"))
				m->body = '8';
			else
				return ADDR_PARAM;
		} else if (KEY(k, kl, "SMTPUTF8") && !v) {
			;
		} else if (KEY(k, kl, "RET") && v && !m->ret) {
			if (KEY(v, vl, "FULL"))
				m->ret = 'F';
			else if (KEY(v, vl, "HDRS"))
				m->ret = 'H';
			else
				return ADDR_PARAM;
		} else if (KEY(k, kl, "ENVID") && v && !m->envid[0]) {
			if (vl == 0 || vl > 100 || !xtext_ok(v, vl) ||
			    str_copy(m->envid, sizeof m->envid, v, vl) < 0)
				return ADDR_PARAM;
		} else
			return ADDR_PARAM;
	}
	return 0;
}

static int parse_notify(const char *v, size_t vl, unsigned *out)
{
	size_t i = 0;

	*out = 0;
	while (i <= vl) {
		size_t s = i;
		while (i < vl && v[i] != ',')
			i++;
		if (KEY(v + s, i - s, "NEVER"))
			*out |= DSN_NEVER;
		else if (KEY(v + s, i - s, "SUCCESS"))
			*out |= DSN_SUCCESS;
		else if (KEY(v + s, i - s, "FAILURE"))
			*out |= DSN_FAILURE;
		else if (KEY(v + s, i - s, "DELAY"))
			*out |= DSN_DELAY;
		else
			return -1;
		i++;
	}
	/* NEVER must stand alone (RFC 3461 4.1) */
	if ((*out & DSN_NEVER) && *out != DSN_NEVER)
		return -1;
	return 0;
}

int addr_parse_rcpt(const char *arg, size_t len, int utf8, struct smtp_rcpt *r)
{
	size_t pos = 0, pn, kl, vl;
	const char *p, *k, *v;
	int e;

	memset(r, 0, sizeof *r);
	while (pos < len && arg[pos] == ' ')
		pos++;
	if (!str_iprefix(arg + pos, len - pos, "TO:"))
		return ADDR_SYNTAX;
	pos += 3;
	if ((e = get_path(arg, len, &pos, &p, &pn)) != 0)
		return e;
	if ((e = check_path(p, pn, utf8, 0, r->addr, sizeof r->addr)) != 0)
		return e;
	while (next_param(arg, len, &pos, &k, &kl, &v, &vl)) {
		if (KEY(k, kl, "NOTIFY") && v && !r->notify) {
			if (parse_notify(v, vl, &r->notify) < 0)
				return ADDR_PARAM;
		} else if (KEY(k, kl, "ORCPT") && v && !r->orcpt[0]) {
			const char *semi = memchr(v, ';', vl);
			if (!semi || semi == v || vl > 500 || !xtext_ok(v, vl) ||
			    str_copy(r->orcpt, sizeof r->orcpt, v, vl) < 0)
				return ADDR_PARAM;
		} else
			return ADDR_PARAM;
	}
	return 0;
}
