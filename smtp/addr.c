/* RFC 5321 4.1.2 paths and the ESMTP parameters of MAIL and RCPT
 * (SIZE RFC 1870, BODY RFC 6152, SMTPUTF8 RFC 6531, RET/ENVID/NOTIFY/ORCPT
 * RFC 3461).  Lenient where Postfix is (spaces after the colon, a path
 * without angle brackets: the lab types "mail from: darth@starwars.univ"),
 * strict about what gets stored. */
#include <arpa/inet.h>
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

/* A quoted local part ("a b"@x, RFC 5321 4.1.2) may hold space and
 * backslash pairs; everything else as addr_clean.  No tab, no control, and
 * never '<' or '>' outside the quotes, so the queue file and the records
 * stay line- and tab-safe. */
int addr_storable(const char *p, size_t len)
{
	size_t i = 0;

	if (len > 0 && p[0] == '"') {
		for (i = 1; i < len && p[i] != '"'; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c == '\\' && i + 1 < len)
				c = (unsigned char)p[++i];
			if (c < 0x20 || c == 0x7f)
				return 0;
		}
		if (i >= len)
			return 0;
		i++;
	}
	return addr_clean(p + i, len - i);
}

static int has_8bit(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

int addr_literal_ok(const char *d, size_t len)
{
	char ip[64];
	unsigned char bin[16];
	size_t i, tag;

	if (len < 3 || d[0] != '[' || d[len - 1] != ']' || len - 2 >= sizeof ip)
		return 0;
	memcpy(ip, d + 1, len - 2);
	ip[len - 2] = '\0';
	if (inet_pton(AF_INET, ip, bin) == 1)
		return 1;
	if (str_iprefix(ip, len - 2, "IPv6:"))
		return inet_pton(AF_INET6, ip + 5, bin) == 1;
	/* General-address-literal: Standardized-tag ":" 1*dcontent */
	for (tag = 0; tag < len - 2 && ip[tag] != ':'; tag++)
		if (!((ip[tag] >= 'a' && ip[tag] <= 'z') || (ip[tag] >= 'A' && ip[tag] <= 'Z') ||
		      (ip[tag] >= '0' && ip[tag] <= '9') || (ip[tag] == '-' && tag > 0)))
			return 0;
	if (tag == 0 || tag + 1 >= len - 2 || ip[tag - 1] == '-')
		return 0;
	for (i = tag + 1; i < len - 2; i++) {
		unsigned char c = (unsigned char)ip[i];
		if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']')
			return 0;
	}
	return 1;
}

int addr_domain_ok(const char *d, size_t len)
{
	size_t i;

	if (len == 0 || len > SMTP_DOMAIN_MAX)
		return 0;
	if (d[0] == '[')
		return addr_literal_ok(d, len);
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

static int atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80 || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* A Quoted-string local part (RFC 5321 4.1.2) ending right before the '@'
 * at index at (or the end).  One that needs no quotes ("alice"@x) is the
 * same mailbox as alice@x (4.1.2, 2.4) and is stored unquoted; one that
 * does ("a b"@x) is stored as given. */
static int quoted_local(const char *p, size_t n, size_t at, char *out, size_t outlen)
{
	char u[SMTP_ADDR_MAX];
	size_t i, k = 0;
	int dot = 1;

	for (i = 1; i < at && p[i] != '"'; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\\') {
			if (++i >= at)
				return ADDR_SYNTAX;
			c = (unsigned char)p[i];
		}
		if ((c < 32 || c == 127) || k + 1 >= sizeof u)
			return ADDR_SYNTAX;
		u[k++] = (char)c;
	}
	if (i + 1 != at)
		return ADDR_SYNTAX;             /* no closing quote right before '@' */
	/* a dot-string after all? */
	for (i = 0; i < k; i++) {
		if (u[i] == '.') {
			if (dot)
				break;
			dot = 1;
		} else if (atext((unsigned char)u[i])) {
			dot = 0;
		} else {
			break;
		}
	}
	if (k > 0 && i == k && !dot) {
		if (k + (n - at) >= sizeof u)
			return ADDR_LONG;
		memcpy(u + k, p + at, n - at);
		return str_copy(out, outlen, u, k + n - at) < 0 ? ADDR_LONG : 0;
	}
	if (!addr_storable(p, n))
		return ADDR_SYNTAX;
	return str_copy(out, outlen, p, n) < 0 ? ADDR_LONG : 0;
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
	if (at < n && !addr_domain_ok(p + at + 1, n - at - 1))
		return ADDR_SYNTAX;
	if (at > SMTP_LOCAL_MAX && !utf8)
		return ADDR_LONG;
	if (p[0] == '"')
		return quoted_local(p, n, at, out, outlen);
	if (!addr_clean(p, n))
		return ADDR_SYNTAX;
	if (str_copy(out, outlen, p, n) < 0)
		return ADDR_LONG;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 3461 4: xtext is "!".."~" except "+" and "=", or "+" and two
 * upper-case hex digits; the decoded text must be printable US-ASCII.
 * Stored re-encoded with every byte that the records, the queue file or a
 * header could trip on ('+', '=', space, '<', '>', '\\', '"') as +HH, so
 * it passes addr_clean.  -1: bad xtext or too long for out. */
static int xtext_canon(const char *p, size_t n, char *out, size_t outlen)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '+') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			h = hexval(p[i + 1]);
			l = hexval(p[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (unsigned char)(h * 16 + l);
			i += 2;
			if (c < 0x20 || c > 0x7e)
				return -1;
		} else if (c < 33 || c > 126 || c == '=') {
			return -1;
		}
		if (k + 4 > outlen)
			return -1;
		if (c == '+' || c == '=' || c == ' ' || c == '<' || c == '>' || c == '\\' || c == '"') {
			static const char hx[] = "0123456789ABCDEF";
			out[k++] = '+';
			out[k++] = hx[c >> 4];
			out[k++] = hx[c & 15];
		} else {
			out[k++] = (char)c;
		}
	}
	out[k] = '\0';
	return 0;
}

int addr_xtext_decode(const char *p, char *out, size_t outlen)
{
	size_t k = 0;

	for (; *p && k + 1 < outlen; p++) {
		int h, l;
		if (*p == '+' && (h = hexval(p[1])) >= 0 && (l = hexval(p[2])) >= 0) {
			int c = h * 16 + l;
			out[k++] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
			p += 2;
		} else {
			out[k++] = *p;
		}
	}
	out[k] = '\0';
	return *p ? -1 : 0;
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
			if (vl == 0 || vl > 100 || xtext_canon(v, vl, m->envid, sizeof m->envid) < 0)
				return ADDR_PARAM;
		} else if (KEY(k, kl, "AUTH") && v && vl <= 500 && !m->auth) {
			/* RFC 4954 section 5: taken and ignored (nothing is
			 * relayed with it); refused where AUTH is not offered */
			m->auth = 1;
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
			/* addr-type ";" xtext, addr-type an atom (rfc822, utf-8) */
			const char *semi = memchr(v, ';', vl);
			size_t tl = semi ? (size_t)(semi - v) : 0, j;
			if (!semi || tl == 0 || vl > 500 || tl + 1 >= sizeof r->orcpt)
				return ADDR_PARAM;
			for (j = 0; j < tl; j++)
				if (!atext((unsigned char)v[j]) || (unsigned char)v[j] >= 0x80)
					return ADDR_PARAM;
			memcpy(r->orcpt, v, tl + 1);
			if (xtext_canon(semi + 1, vl - tl - 1, r->orcpt + tl + 1, sizeof r->orcpt - tl - 1) < 0)
				return ADDR_PARAM;
		} else
			return ADDR_PARAM;
	}
	return 0;
}
