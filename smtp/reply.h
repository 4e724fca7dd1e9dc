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
	SR_TOO_MANY_RCPT, SR_QUEUE_ERR, SR_NO_SPACE, SR_ETRN_DENIED, SR_INTERNAL
};

/* reply.c */
int reply(struct io *io, int which);
int reply_code(int which);
/* A reply with variable text (an address, a queue id). */
int replyf(struct io *io, int code, const char *esc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
