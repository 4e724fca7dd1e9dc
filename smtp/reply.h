/* The SMTP reply table (reply.c). */
#ifndef FACTEUR_SMTP_REPLY_H
#define FACTEUR_SMTP_REPLY_H

#include "io.h"

enum {
	SR_OK, SR_MAIL_OK, SR_RCPT_OK, SR_DATA_GO, SR_BYE, SR_VRFY, SR_ETRN_OK, SR_HELP,
	SR_NEED_HELO, SR_NESTED_MAIL, SR_NEED_MAIL, SR_NEED_RCPT, SR_IN_TXN, SR_IN_BDAT, SR_NO_VALID,
	SR_UNKNOWN_CMD, SR_NOT_IMPL, SR_LINE_LONG, SR_NUL,
	SR_SYN_HELO, SR_SYN_EHLO, SR_SYN_MAIL, SR_SYN_RCPT, SR_SYN_DATA, SR_SYN_BDAT, SR_SYN_RSET,
	SR_SYN_QUIT, SR_SYN_VRFY, SR_SYN_ETRN,
	SR_BAD_SENDER, SR_BAD_RCPT, SR_BAD_PARAM, SR_NEED_UTF8, SR_SIZE_DECLARED, SR_TOO_BIG,
	SR_TOO_MANY_RCPT, SR_QUEUE_ERR, SR_NO_SPACE, SR_ETRN_DENIED, SR_INTERNAL,
	/* with one %s: a host name, an address, a queue id, a count */
	SR_GREETING, SR_HELO_OK, SR_QUEUED, SR_BDAT_OK, SR_TIMEOUT, SR_TOO_MANY_ERRORS, SR_BARE_LF,
	SR_RCPT_UNKNOWN, SR_RCPT_RELAY, SR_RCPT_TEMP,
	/* STARTTLS and AUTH */
	SR_SYN_STARTTLS, SR_TLS_ACTIVE, SR_TLS_GO, SR_NEED_STARTTLS, SR_AUTHED_ALREADY, SR_AUTH_OFF,
	SR_AUTH_NEED_TLS, SR_SYN_AUTH, SR_AUTH_REQUIRED, SR_AUTH_MECH, SR_AUTH_ABORTED, SR_AUTH_DECODE,
	SR_AUTH_OK, SR_AUTH_TEMP, SR_AUTH_FAILED, SR_AUTH_TOO_MANY, SR_AUTH_PLAIN_BAD, SR_AUTH_AUTHZID,
	SR_AUTH_CHALLENGE
};

/* reply.c: the only code that writes SMTP replies */
int reply(struct io *io, int which);
int reply_code(int which);
/* A reply whose text holds one %s: arg goes there (no format string is
 * ever built from data). */
int reply_s(struct io *io, int which, const char *arg);
/* The EHLO reply: exactly what is implemented, in Postfix's order; STARTTLS
 * and AUTH only when offered. */
int reply_ehlo(struct io *io, const char *host, unsigned long long size, int starttls, int auth);

#endif
