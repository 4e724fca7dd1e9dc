/* Every fixed SMTP reply in one table, {code, enhanced code, text}, so the
 * enhanced status codes (RFC 3463) stay consistent and permanent (5xx) or
 * temporary (4xx) is decided here only.  Texts follow Postfix, which the
 * lab's clients and scripts expect. */
#include <string.h>
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
	[SR_GREETING] = { 220, NULL, "%s ESMTP facteur" },
	[SR_HELO_OK] = { 250, NULL, "%s" },
	[SR_QUEUED] = { 250, "2.0.0", "Ok: queued as %s" },
	[SR_BDAT_OK] = { 250, "2.0.0", "Ok: %s bytes" },
	[SR_TIMEOUT] = { 421, "4.4.2", "%s Error: timeout exceeded" },
	[SR_TOO_MANY_ERRORS] = { 421, "4.7.0", "%s Error: too many errors" },
	[SR_BARE_LF] = { 521, "5.5.2", "%s Error: bare <LF> received" },
	[SR_RCPT_UNKNOWN] = { 550, "5.1.1", "<%s>: Recipient address rejected: User unknown in local recipient table" },
	[SR_RCPT_RELAY] = { 554, "5.7.1", "<%s>: Relay access denied" },
	[SR_RCPT_TEMP] = { 451, "4.3.0", "<%s>: Temporary lookup failure" },
	[SR_SYN_STARTTLS] = { 501, "5.5.4", "Syntax: STARTTLS" },
	[SR_TLS_ACTIVE] = { 554, "5.5.1", "Error: TLS already active" },
	[SR_TLS_GO] = { 220, "2.0.0", "Ready to start TLS" },
	[SR_NEED_STARTTLS] = { 530, "5.7.0", "Must issue a STARTTLS command first" },
	[SR_AUTHED_ALREADY] = { 503, "5.5.1", "Error: already authenticated" },
	[SR_AUTH_OFF] = { 503, "5.5.1", "Error: authentication not enabled" },
	[SR_AUTH_NEED_TLS] = { 538, "5.7.11", "Encryption required for requested authentication mechanism" },
	[SR_SYN_AUTH] = { 501, "5.5.4", "Syntax: AUTH mechanism" },
	[SR_AUTH_REQUIRED] = { 530, "5.7.0", "Authentication required" },
	[SR_AUTH_MECH] = { 504, "5.5.4", "Unsupported authentication mechanism" },
	[SR_AUTH_ABORTED] = { 501, "5.7.0", "Authentication aborted" },
	[SR_AUTH_DECODE] = { 501, "5.5.2", "Error: cannot decode response" },
	[SR_AUTH_OK] = { 235, "2.7.0", "Authentication successful" },
	[SR_AUTH_TEMP] = { 454, "4.7.0", "Temporary authentication failure" },
	[SR_AUTH_FAILED] = { 535, "5.7.8", "Error: authentication failed" },
	[SR_AUTH_TOO_MANY] = { 421, "4.7.0", "Error: too many authentication failures" },
	[SR_AUTH_PLAIN_BAD] = { 501, "5.5.2", "Error: malformed PLAIN response" },
	[SR_AUTH_AUTHZID] = { 535, "5.7.8", "Error: authorization identity refused" },
	/* RFC 4954 4: the base64 challenge, "" for an empty one */
	[SR_AUTH_CHALLENGE] = { 334, NULL, "%s" },
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

int reply_s(struct io *io, int which, const char *arg)
{
	const char *t = replies[which].text, *pc = strstr(t, "%s");

	if (replies[which].esc ? io_printf(io, "%d %s ", replies[which].code, replies[which].esc) < 0
			       : io_printf(io, "%d ", replies[which].code) < 0)
		return -1;
	if (!pc)
		return io_printf(io, "%s\r\n", t);
	if (io_put(io, t, (size_t)(pc - t)) < 0 || io_puts(io, arg) < 0)
		return -1;
	return io_printf(io, "%s\r\n", pc + 2);
}

int reply_ehlo(struct io *io, const char *host, unsigned long long size, int starttls, int auth)
{
	if (io_printf(io, "250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n250-VRFY\r\n250-ETRN\r\n", host, size) < 0 ||
	    (starttls && io_puts(io, "250-STARTTLS\r\n") < 0) || (auth && io_puts(io, "250-AUTH PLAIN LOGIN\r\n") < 0))
		return -1;
	return io_puts(io, "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
}
