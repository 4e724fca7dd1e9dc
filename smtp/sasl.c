/* SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, both sides.
 * The unprivileged session child runs the exchange and sends the
 * credentials to the root parent in one REC_AUTH record (user NUL
 * password); the parent checks them with the code pop3d and imapd use
 * (lib/auth.h: PAM or the passwd-file), applies auth_failure_delay after a
 * failure, counts failures (AUTH_FAILS_MAX per session) and answers with a
 * REC_AUTHED record: 'Y' + the canonical name, 'N', 'T' (temporary), 'Q'
 * (refused, and the session must end).  The password is wiped on both
 * sides after use and never logged. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include "auth.h"
#include "log.h"
#include "reply.h"
#include "smtp.h"

/* a base64 line: PLAIN's authzid NUL authcid NUL password, encoded */

/* ---- the child ---- */

/* Reads one continuation response.  1 a line, 0 cancelled ("*": 501
 * sent), -1 the session must end. */
static int response(struct io *io, char *buf, size_t max, size_t *len_r)
{
	int r = io_getline(io, buf, max, len_r);

	if (r == IO_LONG) {
		reply(io, SR_LINE_LONG);
		return 0;
	}
	if (r != IO_OK || io->eol == IO_EOL_NONE)
		return -1;
	if (*len_r == 1 && buf[0] == '*') {
		reply(io, SR_AUTH_ABORTED);
		return 0;
	}
	return 1;
}

static int decode(struct io *io, const char *b64, size_t len, unsigned char *out, size_t max, size_t *n_r)
{
	if (len == 1 && b64[0] == '=')
		len = 0; /* RFC 4954 section 4: "=" is an empty initial response */
	if (b64_decode(b64, len, out, max, n_r) < 0) {
		reply(io, SR_AUTH_DECODE);
		return -1;
	}
	return 0;
}

/* Asks the parent; writes the reply. */
static int ask(struct io *io, int recfd, char mech, const unsigned char *user, size_t ulen,
	       const unsigned char *pass, size_t plen, char *name_r, size_t namemax)
{
	static char rec[AUTH_USER_MAX + AUTH_PASS_MAX + 5];
	char ans[AUTH_USER_MAX + 2];
	size_t n;
	int type, r;

	/* one byte over a bound is enough for the parent to refuse */
	if (ulen > AUTH_USER_MAX + 1)
		ulen = AUTH_USER_MAX + 1;
	if (plen > AUTH_PASS_MAX + 1)
		plen = AUTH_PASS_MAX + 1;
	rec[0] = mech;   /* 'P' PLAIN, 'L' LOGIN: for the parent's log line */
	memcpy(rec + 1, user, ulen);
	rec[1 + ulen] = '\0';
	memcpy(rec + 2 + ulen, pass, plen);
	io_flush(io);
	r = rec_put(recfd, REC_AUTH, rec, 2 + ulen + plen);
	str_wipe(rec, sizeof rec);
	if (r < 0 || rec_get(recfd, &type, ans, sizeof ans - 1, &n) != 1 || type != REC_AUTHED || n < 1)
		return -1;
	switch (ans[0]) {
	case 'Y':
		ans[n] = '\0';
		str_copyz(name_r, namemax, ans + 1);
		reply(io, SR_AUTH_OK);
		return SASL_OK;
	case 'T':
		reply(io, SR_AUTH_TEMP);
		return SASL_NO;
	case 'Q':
		reply(io, SR_AUTH_FAILED);
		reply(io, SR_AUTH_TOO_MANY);
		return SASL_QUIT;
	default:
		reply(io, SR_AUTH_FAILED);
		return SASL_NO;
	}
}

static int plain(struct io *io, int recfd, const char *b64, size_t len, char *name_r, size_t namemax)
{
	static unsigned char raw[AUTH_USER_MAX * 2 + AUTH_PASS_MAX + 3];
	const unsigned char *z1, *z2;
	size_t n = 0, zl, ul;
	int r;

	if (decode(io, b64, len, raw, sizeof raw, &n) < 0)
		return SASL_NO;
	z1 = memchr(raw, '\0', n);
	z2 = z1 ? memchr(z1 + 1, '\0', n - (size_t)(z1 + 1 - raw)) : NULL;
	if (!z2 || memchr(z2 + 1, '\0', n - (size_t)(z2 + 1 - raw))) {
		str_wipe(raw, sizeof raw);
		reply(io, SR_AUTH_PLAIN_BAD);
		return SASL_NO;
	}
	zl = (size_t)(z1 - raw);
	ul = (size_t)(z2 - z1 - 1);
	if (zl && !str_ieq((const char *)raw, zl, (const char *)z1 + 1, ul)) {
		str_wipe(raw, sizeof raw);
		reply(io, SR_AUTH_AUTHZID);
		return SASL_NO;
	}
	r = ask(io, recfd, 'P', z1 + 1, ul, z2 + 1, n - (size_t)(z2 + 1 - raw), name_r, namemax);
	str_wipe(raw, sizeof raw);
	return r;
}

static int login(struct io *io, int recfd, const char *ir, size_t irlen, char *name_r, size_t namemax)
{
	static char line[SASL_LINE_MAX];
	static unsigned char user[AUTH_USER_MAX + 2], pass[AUTH_PASS_MAX + 2];
	size_t len = 0, ul = 0, pl = 0;
	int r;

	if (irlen) {
		/* a non-standard initial response: the user name (Postfix takes it) */
		if (decode(io, ir, irlen, user, sizeof user, &ul) < 0)
			return SASL_NO;
	} else {
		reply_s(io, SR_AUTH_CHALLENGE, "VXNlcm5hbWU6"); /* "Username:" */
		if ((r = response(io, line, sizeof line, &len)) <= 0)
			return r < 0 ? -1 : SASL_NO;
		if (decode(io, line, len, user, sizeof user, &ul) < 0)
			return SASL_NO;
	}
	reply_s(io, SR_AUTH_CHALLENGE, "UGFzc3dvcmQ6"); /* "Password:" */
	r = response(io, line, sizeof line, &len);
	if (r <= 0)
		return r < 0 ? -1 : SASL_NO;
	r = decode(io, line, len, pass, sizeof pass, &pl);
	str_wipe(line, len);
	if (r < 0)
		return SASL_NO;
	r = ask(io, recfd, 'L', user, ul, pass, pl, name_r, namemax);
	str_wipe(pass, sizeof pass);
	return r;
}

int sasl_session(struct io *io, int recfd, const char *arg, size_t len, char *name_r, size_t namemax)
{
	static char line[SASL_LINE_MAX];
	const char *sp = memchr(arg, ' ', len);
	size_t mlen = sp ? (size_t)(sp - arg) : len, irlen = sp ? len - mlen - 1 : 0, n = 0;
	int r;

	if (str_ieq(arg, mlen, "LOGIN", 5))
		return login(io, recfd, sp ? sp + 1 : "", irlen, name_r, namemax);
	if (!str_ieq(arg, mlen, "PLAIN", 5)) {
		reply(io, SR_AUTH_MECH);
		return SASL_NO;
	}
	if (sp)
		return plain(io, recfd, sp + 1, irlen, name_r, namemax);
	reply_s(io, SR_AUTH_CHALLENGE, "");
	r = response(io, line, sizeof line, &n);
	if (r <= 0)
		return r < 0 ? -1 : SASL_NO;
	r = plain(io, recfd, line, n, name_r, namemax);
	str_wipe(line, n);
	return r;
}

/* ---- the root parent ---- */

static void delay_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A client-chosen name made safe for one log line. */
static void shown(char *out, size_t outmax, const char *p, size_t n)
{
	size_t o = 0, i;

	for (i = 0; i < n && i < 64 && o + 1 < outmax; i++)
		out[o++] = (p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\') ? p[i] : '?';
	out[o] = '\0';
}

int sasl_check(struct recv_ctx *x, char *p, size_t n)
{
	struct auth_user u;
	char ans[AUTH_USER_MAX + 2], who[72];
	const char *z, *why = NULL, *mech;
	size_t ul, pl;
	int r = -1, temp = 0;

	/* the record: mechanism byte, user NUL password */
	if (n < 2 || (p[0] != 'P' && p[0] != 'L'))
		return -1;
	mech = p[0] == 'P' ? "PLAIN" : "LOGIN";
	p++;
	n--;
	z = memchr(p, '\0', n);
	ul = z ? (size_t)(z - p) : 0;
	pl = z ? n - ul - 1 : 0;
	if (!z)
		return -1;
	if (x->authname[0] || x->auth_fails >= AUTH_FAILS_MAX) {
		str_wipe(p, n);
		return -1;     /* the child knows better than to ask */
	}
	shown(who, sizeof who, p, ul);
	if (ul == 0 || ul > AUTH_USER_MAX || pl > AUTH_PASS_MAX || memchr(z + 1, '\0', pl))
		why = "empty or overlong user name or password, or a NUL byte";
	else {
		char *pass = p + ul + 1;
		pass[pl] = '\0';   /* the record buffer has room for it */
		auth_set_rhost(x->peer->local ? NULL : x->peer->addr);
		r = auth_check(x->c, p, pass, &u);
		temp = r < 0 && errno == EAGAIN;
	}
	str_wipe(p, n + 1);
	if (r == 0) {
		str_copyz(x->authname, sizeof x->authname, u.name);
		x->relay_ok = 1; /* Postfix permit_sasl_authenticated */
		/* Postfix's line */
		log_msg(LOG_INFO, "client=unknown[%s], sasl_method=%s, sasl_username=%s", x->peer->addr, mech,
			u.name);
		ans[0] = 'Y';
		memcpy(ans + 1, u.name, strlen(u.name));
		return rec_put(x->outfd, REC_AUTHED, ans, 1 + strlen(u.name));
	}
	x->auth_fails++;
	/* Postfix's shape (fail2ban's postfix filter, t/89); a temporary
	 * failure is not one Postfix's filter counts */
	log_msg_shaped(LOG_WARNING, "warning: unknown[%s]: SASL %s authentication %s: %s, sasl_username=%s, "
		       "session=<%s> (%u/%d)", x->peer->addr, mech, temp ? "temporarily failed" : "failed",
		       why ? why : temp ? "temporary failure" : "authentication failure", who, log_id(),
		       x->auth_fails, AUTH_FAILS_MAX);
	delay_ms(x->c->auth_failure_delay);
	ans[0] = x->auth_fails >= AUTH_FAILS_MAX ? 'Q' : temp ? 'T' : 'N';
	return rec_put(x->outfd, REC_AUTHED, ans, 1);
}
