/* Every fixed SMTP reply in one table, {code, enhanced code, text}, so the
 * enhanced status codes (RFC 3463) stay consistent and permanent (5xx) or
 * temporary (4xx) is decided here only.  Texts follow Postfix, which the
 * lab's clients and scripts expect. */
#include <stdarg.h>
#include "reply.h"

static const struct { int code; const char *esc, *text; } replies[] = {
	[SR_OK] = { 250, "2.0.0", "Ok" },
	[SR_MAIL_OK] = { 250, "2.1.0", "Ok" },
	[SR_RCPT_OK] = { 250, "2.1.5", "Ok" },
	[SR_DATA_GO] = { 354, NULL, "End data with <CR><LF>.<CR><LF>" },
	[SR_BYE] = { 221, "2.0.0", "Bye" },
	[SR_VRFY] = { 252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery" },
	[SR_ETRN_OK] = { 250, "2.0.0", "Queuing started" },
	[SR_HELP] = { 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY ETRN HELP QUIT" },
	[SR_NEED_HELO] = { 503, "5.5.1", "Error: send HELO/EHLO first" },
	[SR_NESTED_MAIL] = { 503, "5.5.1", "Error: nested MAIL command" },
	[SR_NEED_MAIL] = { 503, "5.5.1", "Error: need MAIL command" },
	[SR_NEED_RCPT] = { 503, "5.5.1", "Error: need RCPT command" },
	[SR_IN_TXN] = { 503, "5.5.1", "Error: MAIL transaction in progress" },
	[SR_IN_BDAT] = { 503, "5.5.1", "Error: BDAT transfer in progress" },
	[SR_NO_VALID] = { 554, "5.5.1", "Error: no valid recipients" },
	[SR_UNKNOWN_CMD] = { 500, "5.5.2", "Error: command not recognized" },
	[SR_NOT_IMPL] = { 502, "5.5.1", "Error: command not implemented" },
	[SR_LINE_LONG] = { 500, "5.5.6", "Error: line too long" },
	[SR_NUL] = { 501, "5.5.4", "Syntax error: NUL byte in command" },
	[SR_SYN_HELO] = { 501, "5.5.4", "Syntax: HELO hostname" },
	[SR_SYN_EHLO] = { 501, "5.5.4", "Syntax: EHLO hostname" },
	[SR_SYN_MAIL] = { 501, "5.5.4", "Syntax: MAIL FROM:<address>" },
	[SR_SYN_RCPT] = { 501, "5.5.4", "Syntax: RCPT TO:<address>" },
	[SR_SYN_DATA] = { 501, "5.5.4", "Syntax: DATA" },
	[SR_SYN_BDAT] = { 501, "5.5.4", "Syntax: BDAT count [LAST]" },
	[SR_SYN_RSET] = { 501, "5.5.4", "Syntax: RSET" },
	[SR_SYN_QUIT] = { 501, "5.5.4", "Syntax: QUIT" },
	[SR_SYN_VRFY] = { 501, "5.5.4", "Syntax: VRFY address" },
	[SR_SYN_ETRN] = { 501, "5.5.4", "Syntax: ETRN domain" },
	[SR_BAD_SENDER] = { 501, "5.1.7", "Bad sender address syntax" },
	[SR_BAD_RCPT] = { 501, "5.1.3", "Bad recipient address syntax" },
	[SR_BAD_PARAM] = { 555, "5.5.4", "Unsupported option or bad parameter value" },
	[SR_NEED_UTF8] = { 553, "5.6.7", "Non-ASCII address requires SMTPUTF8" },
	[SR_SIZE_DECLARED] = { 552, "5.3.4", "Message size exceeds fixed limit" },
	[SR_TOO_BIG] = { 552, "5.3.4", "Error: message file too big" },
	[SR_TOO_MANY_RCPT] = { 452, "4.5.3", "Error: too many recipients" },
	[SR_QUEUE_ERR] = { 451, "4.3.0", "Error: queue file write error" },
	/* the queue's file system is full (RFC 3463 4.3.1, Postfix's words) */
	[SR_NO_SPACE] = { 452, "4.3.1", "Insufficient system storage" },
	[SR_ETRN_DENIED] = { 459, "4.7.1", "Error: ETRN not allowed for this client" },
	[SR_INTERNAL] = { 421, "4.3.0", "Error: internal error, closing connection" },
};

int reply(struct io *io, int which)
{
	if (replies[which].esc)
		return io_printf(io, "%d %s %s\r\n", replies[which].code, replies[which].esc, replies[which].text);
	return io_printf(io, "%d %s\r\n", replies[which].code, replies[which].text);
}

int reply_code(int which)
{
	return replies[which].code;
}

int replyf(struct io *io, int code, const char *esc, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (io_printf(io, "%d %s ", code, esc) < 0)
		return -1;
	va_start(ap, fmt);
	r = io_vprintf(io, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	return io_puts(io, "\r\n");
}
