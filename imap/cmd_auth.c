/* LOGIN (RFC 3501 6.2.3) and AUTHENTICATE PLAIN (6.2.2, RFC 4616, SASL-IR
 * RFC 4959).  These run in the unprivileged pre-auth child: credentials go to
 * the root parent through priv_login(); on success the parent writes the
 * tagged OK [CAPABILITY ...] itself, so nothing is written here.
 * Results: NO [AUTHENTICATIONFAILED], NO [UNAVAILABLE], NO [PRIVACYREQUIRED]
 * (LOGINDISABLED), BAD for syntax and a cancelled exchange. */
#include <string.h>
#include "imap.h"
#include "bounds.h"
#include "log.h"
#include "priv.h"


static enum imap_res verdict(struct imap_sess *s, struct imap_cmd *c, const char *user,
			     size_t ulen, const char *pass, size_t plen)
{
	int r;

	if (ulen == 0 || ulen > AUTH_USER_MAX || plen > AUTH_PASS_MAX) {
		r = 0;
	} else {
		r = priv_login(s->io, user, ulen, pass, plen, c->tag, c->taglen);
		if (r == 1)
			return IMAP_LOGIN;
	}
	if (r == PRIV_LOGIN_LAST) {
		imap_tagged(s, c, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
		imap_put(s, "* BYE Too many authentication failures\r\n");
		return IMAP_FATAL;
	}
	if (r < 0) {
		imap_tagged(s, c, "NO", "[UNAVAILABLE] Temporary authentication failure.");
		return IMAP_DONE;
	}
	imap_tagged(s, c, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
	if (++s->auth_fails >= AUTH_FAILS_MAX) {
		imap_put(s, "* BYE Too many authentication failures\r\n");
		return IMAP_FATAL;
	}
	return IMAP_DONE;
}

static enum imap_res no_plaintext(struct imap_sess *s, struct imap_cmd *c)
{
	imap_tagged(s, c, "NO", "[PRIVACYREQUIRED] Plaintext authentication disallowed "
		    "on non-secure connections%s.", s->tls_offer ? ": use STARTTLS" : "");
	return IMAP_DONE;
}

/* RFC 3501 6.2.1: the parent starts TLS, then a fresh child carries on
 * in not-authenticated state with nothing learnt before (no greeting; the
 * client asks for CAPABILITY again, RFC 3501 6.2.1 and 2595 3.1) */
enum imap_res cmd_starttls(struct imap_sess *s, struct imap_cmd *c)
{
	if (!imap_eol(&c->ps))
		return IMAP_BAD;
	if (s->tls) {
		imap_tagged(s, c, "BAD", "TLS is already active.");
		return IMAP_DONE;
	}
	if (!s->tls_offer) {
		imap_tagged(s, c, "BAD", "TLS support isn't enabled.");
		return IMAP_DONE;
	}
	imap_tagged(s, c, "OK", "Begin TLS negotiation now.");
	if (priv_starttls(s->io) < 0)
		return IMAP_FATAL;
	return IMAP_LOGIN;
}

enum imap_res cmd_login(struct imap_sess *s, struct imap_cmd *c)
{
	const char *u, *p;
	size_t ul, pl;

	if (imap_astring(&c->ps, &u, &ul) < 0 || imap_sp(&c->ps) < 0 ||
	    imap_astring(&c->ps, &p, &pl) < 0 || !imap_eol(&c->ps))
		return IMAP_BAD;
	if (!s->login_ok)
		return no_plaintext(s, c);
	return verdict(s, c, u, ul, p, pl);
}

/* authzid NUL authcid NUL passwd; an authzid other than authcid is refused */
static enum imap_res plain(struct imap_sess *s, struct imap_cmd *c, const char *b64, size_t len)
{
	unsigned char d[AUTH_USER_MAX * 2 + AUTH_PASS_MAX + 4];
	size_t dl = 0;
	const unsigned char *z1, *z2;
	enum imap_res r;

	if (len == 1 && b64[0] == '=')
		len = 0;
	if (b64_decode(b64, len, d, sizeof d, &dl) < 0) {
		imap_tagged(s, c, "BAD", "Invalid base64 data.");
		return IMAP_DONE;
	}
	z1 = memchr(d, 0, dl);
	z2 = z1 ? memchr(z1 + 1, 0, dl - (size_t)(z1 + 1 - d)) : NULL;
	if (!z2) {
		str_wipe(d, sizeof d);
		imap_tagged(s, c, "BAD", "Malformed PLAIN response.");
		return IMAP_DONE;
	}
	if (z1 != d && ((size_t)(z1 - d) != (size_t)(z2 - z1 - 1) ||
			memcmp(d, z1 + 1, (size_t)(z1 - d)))) {
		str_wipe(d, sizeof d);
		imap_tagged(s, c, "NO", "[AUTHORIZATIONFAILED] Authorization identity refused.");
		return IMAP_DONE;
	}
	r = verdict(s, c, (const char *)z1 + 1, (size_t)(z2 - z1 - 1), (const char *)z2 + 1,
		    dl - (size_t)(z2 + 1 - d));
	str_wipe(d, sizeof d);
	return r;
}

enum imap_res cmd_authenticate(struct imap_sess *s, struct imap_cmd *c)
{
	static char line[SASL_LINE_MAX];
	const char *mech, *ir;
	size_t ml, il, len = 0;
	enum imap_res r;
	int rd;

	if (imap_atom(&c->ps, &mech, &ml) < 0)
		return IMAP_BAD;
	if (!str_ieq(mech, ml, "PLAIN", 5)) {
		if (!imap_eol(&c->ps) && (imap_sp(&c->ps) < 0 || imap_atom(&c->ps, &ir, &il) < 0))
			return IMAP_BAD;
		imap_tagged(s, c, "NO", "Unsupported authentication mechanism.");
		return IMAP_DONE;
	}
	if (!imap_eol(&c->ps)) {
		if (imap_sp(&c->ps) < 0 || imap_atom(&c->ps, &ir, &il) < 0 || !imap_eol(&c->ps))
			return IMAP_BAD;
		if (!s->login_ok)
			return no_plaintext(s, c);
		return plain(s, c, ir, il);
	}
	if (!s->login_ok)
		return no_plaintext(s, c);
	imap_put(s, "+ \r\n");
	rd = io_getline(s->io, line, sizeof line, &len);
	if (rd == IO_LONG) {
		imap_tagged(s, c, "BAD", "Response too long.");
		return IMAP_DONE;
	}
	if (rd != IO_OK)
		return IMAP_FATAL;
	if (len == 1 && line[0] == '*') {
		imap_tagged(s, c, "BAD", "Authentication cancelled.");
		return IMAP_DONE;
	}
	r = plain(s, c, line, len);
	str_wipe(line, len);
	return r;
}
