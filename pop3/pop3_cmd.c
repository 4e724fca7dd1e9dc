/* The POP3 command table and the loop that reads, checks and dispatches
 * commands.  The loop checks state and argument count so handlers never do
 * (style.md item 11).  Both processes use it: the pre-auth child in
 * AUTHORIZATION, the parent, as the user, in TRANSACTION. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "pop3.h"
#include "str.h"

static const struct pop3_cmd pop3_cmds[] = {
	{ "USER", pop3_cmd_user, POP3_AUTH, 1, 1, "USER name" },
	{ "PASS", pop3_cmd_pass, POP3_AUTH, 0, -1, "PASS password" },
	{ "AUTH", pop3_cmd_auth, POP3_AUTH, 0, -1, "AUTH [mechanism [initial-response]]" },
	{ "STLS", pop3_cmd_stls, POP3_AUTH, 0, 0, "STLS" },
	{ "CAPA", pop3_cmd_capa, POP3_AUTH | POP3_TRANS, 0, 0, "CAPA" },
	{ "QUIT", pop3_cmd_quit_auth, POP3_AUTH, 0, 0, "QUIT" },
	{ "QUIT", pop3_cmd_quit, POP3_TRANS, 0, 0, "QUIT" },
	{ "STAT", pop3_cmd_stat, POP3_TRANS, 0, 0, "STAT" },
	{ "LIST", pop3_cmd_list, POP3_TRANS, 0, 1, "LIST [message]" },
	{ "UIDL", pop3_cmd_uidl, POP3_TRANS, 0, 1, "UIDL [message]" },
	{ "RETR", pop3_cmd_retr, POP3_TRANS, 1, 1, "RETR message" },
	{ "TOP", pop3_cmd_top, POP3_TRANS, 2, 2, "TOP message lines" },
	{ "DELE", pop3_cmd_dele, POP3_TRANS, 1, 1, "DELE message" },
	{ "RSET", pop3_cmd_rset, POP3_TRANS, 0, 0, "RSET" },
	{ "NOOP", pop3_cmd_noop, POP3_TRANS, 0, 0, "NOOP" },
};

static int pop3_vreply(struct pop3 *s, const char *status, const char *fmt, va_list ap)
{
	char text[512];
	int n = vsnprintf(text, sizeof text, fmt, ap);

	if (n < 0)
		n = 0;
	else if ((size_t)n >= sizeof text)
		n = sizeof text - 1; /* our own texts only: never reached */
	io_puts(s->io, status);
	if (n > 0) {
		io_put(s->io, " ", 1);
		io_put(s->io, text, (size_t)n);
	}
	io_put(s->io, "\r\n", 2);
	return POP3_CONT;
}

int pop3_ok(struct pop3 *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pop3_vreply(s, "+OK", fmt, ap);
	va_end(ap);
	return POP3_CONT;
}

int pop3_err(struct pop3 *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pop3_vreply(s, "-ERR", fmt, ap);
	va_end(ap);
	return POP3_CONT;
}

long pop3_msgno(struct pop3 *s, const char *p, size_t len)
{
	struct pop3_box *b = s->box;
	uint32_t n;

	/* parse_u32 refuses signs, spaces and overflow: "LIST 4294967297" is
	 * an error, not message 1 (popa3d's rule) */
	if (parse_u32(p, len, UINT32_MAX, &n) < 0) {
		pop3_err(s, "Invalid message number.");
		return -1;
	}
	if (n == 0 || n > b->count) {
		pop3_err(s, "There is no message %u.", (unsigned)n);
		return -1;
	}
	if (b->msgs[n - 1].deleted) {
		pop3_err(s, "Message %u is deleted.", (unsigned)n);
		return -1;
	}
	return (long)n - 1;
}

/* Splits "VERB arg arg" on runs of spaces; the text after the verb and one
 * space is kept whole for PASS (spaces belong to the password) and AUTH. */
static size_t pop3_split(const char *line, size_t len, struct pop3_args *a, size_t *verb_len)
{
	size_t i = 0, n = 0, extra = 0;

	memset(a, 0, sizeof *a);
	a->line = line;
	a->len = len;
	while (i < len && line[i] != ' ')
		i++;
	*verb_len = i;
	if (i < len) {
		a->rest = line + i + 1;
		a->rest_len = len - i - 1;
	} else {
		a->rest = line + len;
	}
	for (;;) {
		while (i < len && line[i] == ' ')
			i++;
		if (i == len)
			break;
		size_t st = i;
		while (i < len && line[i] != ' ')
			i++;
		if (n < POP3_ARGS_MAX) {
			a->argv[n] = line + st;
			a->argl[n] = i - st;
			n++;
		} else {
			extra++;
		}
	}
	a->argc = n;
	return n + extra;
}

static const char *pop3_state_err(int state)
{
	return state == POP3_AUTH ? "Not logged in: use USER and PASS, or AUTH, first."
				  : "Not allowed after login.";
}

/* Runs one line.  Returns POP3_CONT, POP3_LEAVE or POP3_LOGIN. */
static int pop3_run(struct pop3 *s, const char *line, size_t len)
{
	struct pop3_args a;
	size_t vlen, nargs, i;
	int known = 0;

	if (memchr(line, '\0', len)) {
		s->errors++;
		return pop3_err(s, "NUL byte in command.");
	}
	nargs = pop3_split(line, len, &a, &vlen);
	/* RFC 2449 section 4: only AUTH's initial response may exceed 255 */
	if (len > POP3_LINE_MAX && !str_ieq(line, vlen, "AUTH", 4)) {
		s->errors++;
		return pop3_err(s, "Line too long.");
	}
	for (i = 0; i < sizeof pop3_cmds / sizeof pop3_cmds[0]; i++) {
		const struct pop3_cmd *c = &pop3_cmds[i];

		if (!str_ieq(line, vlen, c->verb, strlen(c->verb)))
			continue;
		known = 1;
		if (!(c->states & s->state))
			continue;
		if ((int)nargs < c->min_args || (c->max_args >= 0 && (int)nargs > c->max_args)) {
			s->errors++;
			if (c->max_args == 0)
				return pop3_err(s, "%s takes no argument.", c->verb);
			return pop3_err(s, "Syntax: %s", c->usage);
		}
		return c->fn(s, &a);
	}
	s->errors++;
	if (known)
		return pop3_err(s, "%s", pop3_state_err(s->state));
	return pop3_err(s, "Unknown command.");
}

int pop3_loop(struct pop3 *s)
{
	static char line[SASL_LINE_MAX];
	size_t len;

	for (;;) {
		int r = io_getline(s->io, line, sizeof line, &len);

		/* an unterminated last line is not a command: "DELE 1\r\nQU"
		 * then EOF must not become an UPDATE */
		if (r == IO_OK && s->io->eol == IO_EOL_NONE)
			r = IO_EOF;
		if (r == IO_EOF || r == IO_ERR) {
			log_msg(LOG_INFO, "%s: connection closed%s", s->peer->addr,
				s->state == POP3_TRANS ? " without QUIT: mailbox unchanged" : "");
			return POP3_LEAVE;
		}
		if (r == IO_TIMEOUT) {
			pop3_err(s, "Disconnected for inactivity.");
			io_flush(s->io);
			log_msg(LOG_INFO, "%s: idle timeout", s->peer->addr);
			return POP3_LEAVE;
		}
		if (r == IO_LONG) {
			s->errors++;
			pop3_err(s, "Line too long.");
		} else {
			r = pop3_run(s, line, len);
			if (r != POP3_CONT)
				return r;
		}
		if (s->errors >= POP3_ERRORS_MAX) {
			pop3_err(s, "Too many bad commands, closing.");
			io_flush(s->io);
			log_msg(LOG_NOTICE, "%s: too many bad commands", s->peer->addr);
			return POP3_LEAVE;
		}
		if (s->io->werr)
			return POP3_LEAVE;
	}
}
