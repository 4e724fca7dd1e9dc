/* AUTHORIZATION state (RFC 1939 section 7, RFC 5034, RFC 4616 PLAIN): runs
 * in the unprivileged pre-auth child.  Credentials go to the root parent
 * through priv_login(); nothing here reads a password file or the spool. */
#include <errno.h>
#include <string.h>
#include "log.h"
#include "pop3.h"
#include "priv.h"
#include "str.h"

#define POP3_NOPLAIN "[AUTH] Plaintext authentication disallowed on non-secure connections."

/* Plaintext login from outside login_trusted_networks: refused, and counted
 * so that a client cannot go on trying forever. */
static int pop3_noplain(struct pop3 *s)
{
	s->errors++;
	return pop3_err(s, "%s", POP3_NOPLAIN);
}

/* Asks the parent; the reply texts follow Dovecot's. */
static int pop3_login(struct pop3 *s, const char *user, size_t ulen, const char *pass, size_t plen)
{
	int r = priv_login(s->io, user, ulen, pass, plen, NULL, 0);

	if (r == 1)
		return POP3_LOGIN; /* the parent sends "+OK" after opening the mailbox */
	if (r == PRIV_LOGIN_LAST) {
		/* the parent counted AUTH_FAILS_MAX failures */
		pop3_err(s, "[AUTH] Authentication failed. Too many failures, closing.");
		io_flush(s->io);
		return POP3_LEAVE;
	}
	if (r < 0) {
		int gone = errno == EPIPE;

		pop3_err(s, "[SYS/TEMP] Temporary authentication failure, try again later.");
		io_flush(s->io);
		return gone ? POP3_LEAVE : POP3_CONT;
	}
	s->auth_fails++;
	return pop3_err(s, "[AUTH] Authentication failed.");
}

int pop3_cmd_user(struct pop3 *s, const struct pop3_args *a)
{
	if (!s->trusted)
		return pop3_noplain(s);
	if (a->argl[0] > AUTH_USER_MAX || str_copy(s->user, sizeof s->user, a->argv[0], a->argl[0]) < 0) {
		s->errors++;
		return pop3_err(s, "User name too long.");
	}
	s->user_len = a->argl[0];
	s->have_user = 1;
	return pop3_ok(s, "%s", "");
}

int pop3_cmd_pass(struct pop3 *s, const struct pop3_args *a)
{
	int r;

	if (!s->trusted)
		return pop3_noplain(s);
	if (!s->have_user) {
		s->errors++;
		return pop3_err(s, "No user name given: send USER first.");
	}
	/* RFC 1939 section 7: the argument is the rest of the line, spaces
	 * included */
	r = pop3_login(s, s->user, s->user_len, a->rest, a->rest_len);
	s->have_user = 0;
	str_wipe((void *)a->rest, a->rest_len);
	return r;
}

/* PLAIN message: [authzid] NUL authcid NUL passwd (RFC 4616 section 2). */
static int pop3_plain(struct pop3 *s, const char *b64, size_t len)
{
	unsigned char raw[AUTH_USER_MAX * 2 + AUTH_PASS_MAX + 3];
	const unsigned char *nul1, *nul2;
	size_t n, zlen, ulen;
	int r;

	if (len == 1 && b64[0] == '=')
		len = 0; /* RFC 5034 section 4: "=" is an empty initial response */
	if (b64_decode(b64, len, raw, sizeof raw, &n) < 0) {
		s->errors++;
		return pop3_err(s, "Invalid base64 data in the PLAIN response.");
	}
	nul1 = memchr(raw, '\0', n);
	nul2 = nul1 ? memchr(nul1 + 1, '\0', n - (size_t)(nul1 + 1 - raw)) : NULL;
	if (!nul2 || memchr(nul2 + 1, '\0', n - (size_t)(nul2 + 1 - raw))) {
		str_wipe(raw, sizeof raw);
		s->errors++;
		return pop3_err(s, "Malformed PLAIN response: expected authzid NUL user NUL password.");
	}
	zlen = (size_t)(nul1 - raw);
	ulen = (size_t)(nul2 - nul1 - 1);
	if (zlen && !str_ieq((const char *)raw, zlen, (const char *)nul1 + 1, ulen)) {
		str_wipe(raw, sizeof raw);
		return pop3_err(s, "[AUTH] Logging in as another user (authzid) is not supported.");
	}
	r = pop3_login(s, (const char *)nul1 + 1, ulen, (const char *)nul2 + 1,
		       n - (size_t)(nul2 + 1 - raw));
	str_wipe(raw, sizeof raw);
	return r;
}

int pop3_cmd_auth(struct pop3 *s, const struct pop3_args *a)
{
	static char resp[SASL_LINE_MAX];
	size_t len;
	int r;

	if (a->argc == 0) {
		/* not in RFC 5034, but clients (and Dovecot) list mechanisms so */
		pop3_ok(s, "%s", "");
		if (s->trusted)
			io_puts(s->io, "PLAIN\r\n");
		io_puts(s->io, ".\r\n");
		return POP3_CONT;
	}
	if (!str_ieq(a->argv[0], a->argl[0], "PLAIN", 5)) {
		s->errors++;
		return pop3_err(s, "Unsupported authentication mechanism.");
	}
	if (!s->trusted)
		return pop3_noplain(s);
	if (a->argc == 2)
		return pop3_plain(s, a->argv[1], a->argl[1]);
	io_puts(s->io, "+ \r\n");
	r = io_getline(s->io, resp, sizeof resp, &len);
	if (r == IO_LONG) {
		s->errors++;
		return pop3_err(s, "Authentication response too long.");
	}
	if (r != IO_OK)
		return POP3_LEAVE;
	if (len == 1 && resp[0] == '*')
		return pop3_err(s, "Authentication cancelled.");
	r = pop3_plain(s, resp, len);
	str_wipe(resp, len);
	return r;
}

int pop3_cmd_capa(struct pop3 *s, const struct pop3_args *a)
{
	struct io *io = s->io;

	pop3_ok(s, "Capability list follows");
	io_puts(io, "TOP\r\nUIDL\r\n");
	/* RFC 2449 section 6: USER and SASL are only for AUTHORIZATION, and
	 * only offered where plaintext login is allowed */
	if (s->state == POP3_AUTH && s->trusted)
		io_puts(io, "USER\r\nSASL PLAIN\r\n");
	if (s->state == POP3_AUTH && s->tls_offer && !s->tls)
		io_puts(io, "STLS\r\n");
	io_puts(io, "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\n"
		    "IMPLEMENTATION facteur\r\n.\r\n");
	return POP3_CONT;
}

/* RFC 2595 section 4: the parent starts TLS, then a fresh child carries
 * on in AUTHORIZATION with nothing learnt before (no second greeting) */
int pop3_cmd_stls(struct pop3 *s, const struct pop3_args *a)
{
	if (s->tls) {
		s->errors++;
		return pop3_err(s, "[IN-USE] TLS is already active.");
	}
	if (!s->tls_offer) {
		s->errors++;
		return pop3_err(s, "TLS support isn't enabled.");
	}
	pop3_ok(s, "Begin TLS negotiation now.");
	if (priv_starttls(s->io) < 0)
		return POP3_LEAVE;
	return POP3_LOGIN;
}

int pop3_cmd_quit_auth(struct pop3 *s, const struct pop3_args *a)
{
	pop3_ok(s, "Logging out.");
	io_flush(s->io);
	return POP3_LEAVE;
}
