/* The SMTP dialogue (RFC 5321), run by the unprivileged child.  A const
 * table {verb, handler, allowed states, reply when the state is wrong}; the
 * dispatcher checks the state so handlers never do.  Replies are buffered
 * by lib/io and leave only when the child is about to wait for input, which
 * is PIPELINING (RFC 2920) done right: in order, one write per batch. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "reply.h"
#include "smtp.h"
#include "tls.h"

#define S_INIT 1      /* before HELO/EHLO */
#define S_HELO 2      /* no transaction */
#define S_MAIL 4      /* MAIL accepted, no valid RCPT yet */
#define S_RCPT 8      /* at least one RCPT accepted */
#define S_BDAT 16     /* BDAT chunks under way */
#define S_ANY (S_INIT | S_HELO | S_MAIL | S_RCPT | S_BDAT)

struct sess {
	struct io *io;
	const struct session_opts *o;
	int state;
	int utf8;
	int quit;
	unsigned errors;
	size_t nrcpt;
	uint64_t limit;
	int barelf;           /* conf_bare_newline() for this client */
	struct bdat_state bdat;
	int authed;           /* SMTP AUTH succeeded */
	char authname[256];
};

typedef int (*cmd_fn)(struct sess *s, const char *arg, size_t len);
struct cmd {
	const char *verb;
	cmd_fn fn;
	int states;
	int wrong;            /* reply when the state does not allow it */
};

static int cmd_helo(struct sess *s, const char *arg, size_t len);
static int cmd_ehlo(struct sess *s, const char *arg, size_t len);
static int cmd_mail(struct sess *s, const char *arg, size_t len);
static int cmd_rcpt(struct sess *s, const char *arg, size_t len);
static int cmd_data(struct sess *s, const char *arg, size_t len);
static int cmd_bdat(struct sess *s, const char *arg, size_t len);
static int cmd_rset(struct sess *s, const char *arg, size_t len);
static int cmd_noop(struct sess *s, const char *arg, size_t len);
static int cmd_vrfy(struct sess *s, const char *arg, size_t len);
static int cmd_etrn(struct sess *s, const char *arg, size_t len);
static int cmd_help(struct sess *s, const char *arg, size_t len);
static int cmd_quit(struct sess *s, const char *arg, size_t len);
static int cmd_unimpl(struct sess *s, const char *arg, size_t len);
static int cmd_starttls(struct sess *s, const char *arg, size_t len);
static int cmd_auth(struct sess *s, const char *arg, size_t len);

static const struct cmd cmds[] = {
	{ "HELO", cmd_helo, S_ANY, 0 },
	{ "EHLO", cmd_ehlo, S_ANY, 0 },
	{ "MAIL", cmd_mail, S_HELO, SR_NESTED_MAIL },
	{ "RCPT", cmd_rcpt, S_MAIL | S_RCPT, SR_NEED_MAIL },
	{ "DATA", cmd_data, S_MAIL | S_RCPT, SR_NEED_RCPT },
	{ "BDAT", cmd_bdat, S_ANY, 0 },      /* checks itself: it must eat the chunk */
	{ "RSET", cmd_rset, S_ANY, 0 },
	{ "NOOP", cmd_noop, S_ANY, 0 },
	{ "VRFY", cmd_vrfy, S_ANY, 0 },
	{ "ETRN", cmd_etrn, S_HELO, SR_IN_TXN },
	{ "HELP", cmd_help, S_ANY, 0 },
	{ "QUIT", cmd_quit, S_ANY, 0 },
	{ "STARTTLS", cmd_starttls, S_HELO, SR_IN_TXN },
	{ "AUTH", cmd_auth, S_HELO, SR_IN_TXN },
	/* known to RFC 5321 (or 821) but not offered: 502, not 500 (4.2.4) */
	{ "EXPN", cmd_unimpl, S_ANY, 0 },
	{ "TURN", cmd_unimpl, S_ANY, 0 },
	{ "SEND", cmd_unimpl, S_ANY, 0 },
	{ "SOML", cmd_unimpl, S_ANY, 0 },
	{ "SAML", cmd_unimpl, S_ANY, 0 },
};

/* An error reply counts towards SMTP_ERRORS_MAX. */
static int err(struct sess *s, int which)
{
	s->errors++;
	return reply(s->io, which);
}

static void txn_abort(struct sess *s)
{
	if (s->state & (S_MAIL | S_RCPT | S_BDAT))
		rec_put(s->o->recfd, REC_ABORT, NULL, 0);
	s->state = S_HELO;
	s->nrcpt = 0;
	s->utf8 = 0;
	memset(&s->bdat, 0, sizeof s->bdat);
}

static int hello(struct sess *s, const char *arg, size_t len, int ehlo)
{
	char rec[256];

	if (len == 0 || len > 255 || !addr_clean(arg, len))
		return err(s, ehlo ? SR_SYN_EHLO : SR_SYN_HELO);
	if (s->state != S_INIT)
		txn_abort(s);
	rec[0] = ehlo ? 'E' : 'H';
	memcpy(rec + 1, arg, len);
	if (rec_put(s->o->recfd, REC_HELO, rec, len + 1) < 0)
		return -1;
	s->state = S_HELO;
	return 0;
}

static int cmd_helo(struct sess *s, const char *arg, size_t len)
{
	if (hello(s, arg, len, 0) != 0 || s->state != S_HELO)
		return 0;
	return reply_s(s->io, SR_HELO_OK, s->o->c->myhostname);
}

static int cmd_ehlo(struct sess *s, const char *arg, size_t len)
{
	if (hello(s, arg, len, 1) != 0 || s->state != S_HELO)
		return 0;
	/* exactly what is implemented, in Postfix's order (the lab's list);
	 * STARTTLS only before TLS, AUTH only where a password may be sent */
	return reply_ehlo(s->io, s->o->c->myhostname, (unsigned long long)s->limit, s->o->tls_offer && !s->o->tls,
			  s->o->auth_enable && s->o->plain_ok && !s->authed);
}

/* RFC 3207: the go-ahead, then the child ends and hands the client socket
 * to the parent, which starts TLS and a new child (no greeting, nothing
 * known: the client must EHLO again).  Input pipelined after the command
 * is dropped here (RFC 3207 section 6, CVE-2011-0411). */
static int cmd_starttls(struct sess *s, const char *arg, size_t len)
{
	static char junk[IO_INBUF];
	size_t n;

	if (len) {
		s->errors++;
		return reply(s->io, SR_SYN_STARTTLS);
	}
	if (s->o->tls) {
		s->errors++;
		return reply(s->io, SR_TLS_ACTIVE);
	}
	if (!s->o->tls_offer)
		return err(s, SR_NOT_IMPL);
	if (s->authed) {
		s->errors++;
		return reply(s->io, SR_AUTHED_ALREADY);
	}
	if (reply(s->io, SR_TLS_GO) < 0 || io_flush(s->io) < 0)
		return -1;
	n = io_take_pending(s->io, junk, sizeof junk);
	if (n)
		log_msg(LOG_NOTICE, "%zu bytes pipelined after STARTTLS discarded", n);
	if (rec_put(s->o->recfd, REC_STARTTLS, NULL, 0) < 0 || tls_send_fd(s->o->recfd, s->io->fd_in) < 0)
		return -1;
	s->quit = 1;
	return 0;
}

static int cmd_auth(struct sess *s, const char *arg, size_t len)
{
	int r;

	if (!s->o->auth_enable) {
		s->errors++;
		return reply(s->io, SR_AUTH_OFF);
	}
	if (s->authed) {
		s->errors++;
		return reply(s->io, SR_AUTHED_ALREADY);
	}
	if (!s->o->plain_ok) {
		s->errors++;
		return reply(s->io, SR_AUTH_NEED_TLS);
	}
	if (len == 0) {
		s->errors++;
		return reply(s->io, SR_SYN_AUTH);
	}
	r = sasl_session(s->io, s->o->recfd, arg, len, s->authname, sizeof s->authname);
	if (r < 0) {
		s->quit = 1;  /* the client or the parent is gone */
		return 0;
	}
	if (r == SASL_OK)
		s->authed = 1;
	else if (r == SASL_QUIT)
		s->quit = 1;
	return 0;
}

/* tls_security_level encrypt: before TLS only these (Postfix's 530). */
static int allowed_before_tls(const char *verb, size_t vlen)
{
	static const char *const ok[] = { "EHLO", "HELO", "STARTTLS", "NOOP", "RSET", "QUIT" };
	size_t i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (str_ieq(verb, vlen, ok[i], strlen(ok[i])))
			return 1;
	return 0;
}

static int addr_error(struct sess *s, int e, int sender)
{
	switch (e) {
	case ADDR_PARAM:
		return err(s, SR_BAD_PARAM);
	case ADDR_UTF8:
		return err(s, SR_NEED_UTF8);
	default:
		return err(s, sender ? SR_BAD_SENDER : SR_BAD_RCPT);
	}
}

static int cmd_mail(struct sess *s, const char *arg, size_t len)
{
	struct smtp_mail m;
	char p[3 + SMTP_XTEXT_MAX];
	int e;

	if (s->o->submission && !s->authed) {
		s->errors++;
		return reply(s->io, SR_AUTH_REQUIRED);
	}
	if (len == 0)
		return err(s, SR_SYN_MAIL);
	e = addr_parse_mail(arg, len, &m);
	if (!e && m.auth && !s->o->auth_enable)
		e = ADDR_PARAM;
	if (e)
		return addr_error(s, e, 1);
	if (m.size > s->limit)
		return err(s, SR_SIZE_DECLARED);
	p[0] = m.ret ? m.ret : '-';
	p[1] = m.body ? m.body : '-';
	p[2] = m.utf8 ? '1' : '0';
	memcpy(p + 3, m.envid, strlen(m.envid));
	if (rec_put(s->o->recfd, REC_MAIL, m.sender, strlen(m.sender)) < 0 ||
	    rec_put(s->o->recfd, REC_MAILP, p, 3 + strlen(m.envid)) < 0)
		return -1;
	s->state = S_MAIL;
	s->utf8 = m.utf8;
	s->nrcpt = 0;
	return reply(s->io, SR_MAIL_OK);
}

static int cmd_rcpt(struct sess *s, const char *arg, size_t len)
{
	struct smtp_rcpt r;
	char rec[1 + SMTP_ADDR_MAX + SMTP_XTEXT_MAX], v[64];
	size_t alen, olen, vlen;
	int e, type;

	if (len == 0)
		return err(s, SR_SYN_RCPT);
	if (s->nrcpt >= SMTP_RCPT_MAX)
		return err(s, SR_TOO_MANY_RCPT);
	e = addr_parse_rcpt(arg, len, s->utf8, &r);
	if (e)
		return addr_error(s, e, 0);
	alen = strlen(r.addr);
	olen = strlen(r.orcpt);
	rec[0] = (char)r.notify;
	memcpy(rec + 1, r.addr, alen + 1);
	memcpy(rec + 2 + alen, r.orcpt, olen);
	if (rec_put(s->o->recfd, REC_RCPT, rec, 2 + alen + olen) < 0 ||
	    rec_get(s->o->recfd, &type, v, sizeof v, &vlen) != 1 || type != REC_VERDICT || vlen < 1)
		return -1;
	switch (v[0]) {
	case RCPT_OK:
	case RCPT_REMOTE:
		s->nrcpt++;
		s->state = S_RCPT;
		return reply(s->io, SR_RCPT_OK);
	case RCPT_UNKNOWN:
		s->errors++;
		return reply_s(s->io, SR_RCPT_UNKNOWN, r.addr);
	case RCPT_DENIED:
		s->errors++;
		return reply_s(s->io, SR_RCPT_RELAY, r.addr);
	case RCPT_TOOMANY:
		return err(s, SR_TOO_MANY_RCPT);
	default:
		return reply_s(s->io, SR_RCPT_TEMP, r.addr);
	}
}

/* The client went away or stalled inside a body: the session ends with
 * nothing queued (the parent drops the transaction at EOF).  A stalled
 * client is told why, as at the command level (RFC 5321 4.5.3.2.7). */
static int lost(struct sess *s)
{
	s->quit = 1;
	if (!s->io->eof)
		return reply_s(s->io, SR_TIMEOUT, s->o->c->myhostname);
	return 0;
}

/* After the body: commit and tell the client the queue id. */
static int finish(struct sess *s)
{
	char id[Q_ID_MAX + 8];
	size_t n;
	int type;

	if (rec_put(s->o->recfd, REC_END, NULL, 0) < 0 ||
	    rec_get(s->o->recfd, &type, id, sizeof id - 1, &n) != 1)
		return -1;
	s->state = S_HELO;
	s->nrcpt = 0;
	memset(&s->bdat, 0, sizeof s->bdat);
	if (type == REC_FAIL && n == 1 && id[0] == FAIL_NOSPACE)
		return reply(s->io, SR_NO_SPACE);
	if (type != REC_QUEUED)
		return reply(s->io, SR_QUEUE_ERR);
	id[n] = '\0';
	return reply_s(s->io, SR_QUEUED, id);
}

/* smtpd_forbid_bare_newline = strict: Postfix's reply, then the end. */
static int bare_lf(struct sess *s)
{
	log_msg(LOG_INFO, "bare <LF> received from %s", s->o->peer->addr);
	reply_s(s->io, SR_BARE_LF, s->o->c->myhostname);
	s->quit = 1;
	return 0;
}

static int cmd_data(struct sess *s, const char *arg, size_t len)
{
	uint64_t size = 0;
	int r;

	if (len)
		return err(s, SR_SYN_DATA);
	if (s->state == S_MAIL)
		return err(s, SR_NO_VALID);
	if (reply(s->io, SR_DATA_GO) < 0)
		return -1;
	/* a line of a body may take longer than a command, within reason;
	 * the whole body has a deadline that grows with what arrives */
	s->io->timeout_ms = (int)(s->o->c->smtpd_timeout * 2 < SMTP_DATA_IDLE_SEC ? s->o->c->smtpd_timeout * 2
										 : SMTP_DATA_IDLE_SEC) * 1000;
	io_deadline(s->io, s->io->timeout_ms / 1000, MIN_DATA_RATE);
	r = data_read_dot(s->io, s->o->recfd, s->limit, s->barelf, &size);
	io_deadline(s->io, 0, 0);
	s->io->timeout_ms = (int)s->o->c->smtpd_timeout * 1000;
	if (r == DATA_BARE_LF)
		return bare_lf(s);
	if (r < 0) {
		log_msg(LOG_INFO, "lost connection after DATA (%llu bytes)", (unsigned long long)size);
		return lost(s);      /* EOF or timeout: the parent drops the file */
	}
	if (r == 1) {
		txn_abort(s);
		return err(s, SR_TOO_BIG);
	}
	return finish(s);
}

static int cmd_bdat(struct sess *s, const char *arg, size_t len)
{
	const char *sp = memchr(arg, ' ', len);
	size_t nlen = sp ? (size_t)(sp - arg) : len;
	int last = 0, ok;
	uint64_t n;

	if (len == 0 || parse_u64(arg, nlen, UINT64_MAX / 2, &n) < 0)
		return err(s, SR_SYN_BDAT);
	if (sp) {
		if (!str_ieq(sp + 1, len - nlen - 1, "LAST", 4))
			return err(s, SR_SYN_BDAT);
		last = 1;
	}
	ok = s->state & (S_RCPT | S_BDAT);
	if (!ok) {
		/* the chunk is still on the wire: eat it, then refuse */
		struct bdat_state junk = { 0, 0, 1 };
		if (data_read_chunk(s->io, s->o->recfd, n, 0, &junk) < 0)
			return lost(s);
		return err(s, s->state == S_INIT ? SR_NEED_HELO : s->state == S_MAIL ? SR_NO_VALID : SR_NEED_MAIL);
	}
	s->state = S_BDAT;
	io_deadline(s->io, (int)s->o->c->smtpd_timeout, MIN_DATA_RATE);
	ok = data_read_chunk(s->io, s->o->recfd, n, s->limit, &s->bdat);
	io_deadline(s->io, 0, 0);
	if (ok < 0) {
		log_msg(LOG_INFO, "lost connection after BDAT (%llu bytes)", (unsigned long long)s->bdat.size);
		return lost(s);
	}
	if (s->bdat.too_big) {
		/* RFC 3030: the transaction has failed; later chunks get 503 */
		txn_abort(s);
		return err(s, SR_TOO_BIG);
	}
	if (!last)
	{
		char nb[24];
		snprintf(nb, sizeof nb, "%llu", (unsigned long long)n);
		return reply_s(s->io, SR_BDAT_OK, nb);
	}
	if (data_bdat_finish(s->o->recfd, &s->bdat) < 0)
		return -1;
	return finish(s);
}

static int cmd_rset(struct sess *s, const char *arg, size_t len)
{
	if (len)
		return err(s, SR_SYN_RSET);
	if (s->state != S_INIT)
		txn_abort(s);
	return reply(s->io, SR_OK);
}

static int cmd_noop(struct sess *s, const char *arg, size_t len)
{
	return reply(s->io, SR_OK);
}

static int cmd_vrfy(struct sess *s, const char *arg, size_t len)
{
	if (len == 0)
		return err(s, SR_SYN_VRFY);
	return reply(s->io, SR_VRFY);
}

static int cmd_etrn(struct sess *s, const char *arg, size_t len)
{
	char v[8];
	size_t n;
	int type;

	/* RFC 1985: ETRN [@|#]domain; not a domain: 501 as Postfix */
	if (len == 0 || !addr_domain_ok(arg + (arg[0] == '@' || arg[0] == '#'),
					 len - (arg[0] == '@' || arg[0] == '#')))
		return err(s, SR_SYN_ETRN);
	if (!s->o->relay_ok)
		return err(s, SR_ETRN_DENIED);
	/* issue 12: the argument (a domain, "@domain", "#queue") forces those
	 * deferred recipients; anything else still runs the queue */
	if (rec_put(s->o->recfd, REC_ETRN, arg, len < 255 ? len : 255) < 0 || rec_get(s->o->recfd, &type, v, sizeof v, &n) != 1)
		return -1;
	return reply(s->io, SR_ETRN_OK);
}

static int cmd_help(struct sess *s, const char *arg, size_t len)
{
	return reply(s->io, SR_HELP);
}

static int cmd_quit(struct sess *s, const char *arg, size_t len)
{
	if (len)
		return err(s, SR_SYN_QUIT);
	s->quit = 1;
	return reply(s->io, SR_BYE);
}

static int cmd_unimpl(struct sess *s, const char *arg, size_t len)
{
	return err(s, SR_NOT_IMPL);
}

static int dispatch(struct sess *s, char *line, size_t len)
{
	size_t vlen = 0, i;
	const char *arg;

	if (memchr(line, '\0', len))
		return err(s, SR_NUL);
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	while (vlen < len && line[vlen] != ' ')
		vlen++;
	arg = line + vlen;
	i = vlen;
	while (i < len && line[i] == ' ')
		i++;
	arg = line + i;
	if (s->o->tls_required && !s->o->tls && !allowed_before_tls(line, vlen)) {
		s->errors++;
		return reply(s->io, SR_NEED_STARTTLS);
	}
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		const struct cmd *c = &cmds[i];
		if (!str_ieq(line, vlen, c->verb, strlen(c->verb)))
			continue;
		if (!(c->states & s->state))
			return err(s, s->state == S_INIT ? SR_NEED_HELO : s->state == S_BDAT ? SR_IN_BDAT : c->wrong);
		return c->fn(s, arg, (size_t)(line + len - arg));
	}
	return err(s, SR_UNKNOWN_CMD);
}

void session_run(struct io *io, const struct session_opts *o)
{
	static char line[SMTP_CMD_MAX + 1];
	struct sess s;
	unsigned commands = 0;

	memset(&s, 0, sizeof s);
	s.io = io;
	s.o = o;
	s.state = S_INIT;
	s.limit = o->c->message_size_limit;
	s.barelf = conf_bare_newline(o->c, o->peer);
	if (!o->resumed)
		reply_s(io, SR_GREETING, o->c->myhostname);
	while (!s.quit) {
		size_t len = 0;
		int r = io_getline(io, line, SMTP_CMD_MAX, &len);
		if (r == IO_EOF || r == IO_ERR)
			break;
		if (r == IO_TIMEOUT) {
			reply_s(io, SR_TIMEOUT, o->c->myhostname);
			break;
		}
		if (r == IO_LONG) {
			err(&s, SR_LINE_LONG);
		} else if (r == IO_OK && io->eol == IO_EOL_LF && s.barelf == CONF_BARELF_STRICT) {
			bare_lf(&s);
		} else if (r == IO_OK && len == 0 && io->eol == IO_EOL_NONE) {
			break;
		} else if (dispatch(&s, line, len) < 0) {
			reply(io, SR_INTERNAL);
			break;
		}
		if (s.errors >= SMTP_ERRORS_MAX || ++commands >= SMTP_COMMANDS_MAX) {
			reply_s(io, SR_TOO_MANY_ERRORS, o->c->myhostname);
			break;
		}
	}
	io_flush(io);
}
