/* pop3d internals: the session, the command table and the mailbox view.
 * RFC 1939 (POP3), RFC 2449 (CAPA, response codes), RFC 5034 (AUTH). */
#ifndef FACTEUR_POP3_H
#define FACTEUR_POP3_H

#include <stddef.h>
#include <stdint.h>
#include "conf.h"
#include "io.h"
#include "bounds.h"
#include "mbox.h"
#include "net.h"

/* session states (bits, so a command can be allowed in several) */
#define POP3_AUTH 1     /* AUTHORIZATION: in the unprivileged child */
#define POP3_TRANS 2    /* TRANSACTION: in the parent, as the user */

/* what a handler tells the command loop */
#define POP3_CONT 0     /* read the next command */
#define POP3_LEAVE 1    /* end the session (QUIT, fatal error) */
#define POP3_LOGIN 2    /* child only: login accepted, stop at once */

/* RFC 2449 section 4: a command line (with CRLF) is at most 255 octets. */
#define POP3_LINE_MAX (POP3_CMD_MAX - 2)
#define POP3_ARGS_MAX 2

/* One message of the session's snapshot. */
struct pop3_msg {
	uint32_t uid;
	uint64_t size;          /* octets as RETR sends them, before dot-stuffing */
	long idx;               /* index in the scan, -1 = vanished meanwhile */
	unsigned deleted : 1;   /* DELE'd in this session */
	unsigned retrieved : 1; /* RETR'd: marked seen (Status: RO) at QUIT */
};

struct pop3_box {
	struct mbox mb;
	int open;               /* mb is open (no file = empty mailbox) */
	struct mbox_scan sc;
	uint32_t uidvalidity;   /* as at login: UIDLs are built from it */
	struct pop3_msg *msgs;
	size_t count;
	size_t ndeleted;
	uint64_t deleted_size, total_size;
};

struct pop3 {
	const struct conf *c;
	struct io *io;
	const struct peer *peer;
	int state;
	int trusted;            /* plaintext login allowed from this peer */
	int tls;                /* the session runs under TLS (lib/tls.h) */
	int tls_offer;          /* STLS may be offered (before TLS) */
	int resumed;            /* after STLS: no second greeting */
	unsigned errors;        /* bad commands, bounded by POP3_ERRORS_MAX */
	unsigned auth_fails;
	int have_user;          /* USER given */
	char user[AUTH_USER_MAX + 1];
	size_t user_len;
	char authname[AUTH_USER_MAX + 1]; /* the user logged in (parent) */
	struct pop3_box *box;   /* TRANSACTION only */
	unsigned long nretr;    /* RETRs, for the log */
};

/* A parsed command line: the arguments point into the line. */
struct pop3_args {
	const char *line;       /* whole line, len bytes */
	size_t len;
	const char *rest;       /* everything after "VERB " (PASS, AUTH) */
	size_t rest_len;
	size_t argc;
	const char *argv[POP3_ARGS_MAX];
	size_t argl[POP3_ARGS_MAX];
};

typedef int (*pop3_fn)(struct pop3 *s, const struct pop3_args *a);
struct pop3_cmd {
	const char *verb;
	pop3_fn fn;
	int states;             /* POP3_AUTH | POP3_TRANS */
	int min_args, max_args; /* -1 max: free text (PASS, AUTH) */
	const char *usage;      /* for the syntax error reply */
};

/* pop3_cmd.c */
/* Reads and runs commands until a handler leaves or logs in; returns
 * POP3_LEAVE or POP3_LOGIN. */
int pop3_loop(struct pop3 *s);
int pop3_ok(struct pop3 *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pop3_err(struct pop3 *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a message number argument: index into box->msgs, or -1 after
 * replying -ERR (also for deleted messages). */
long pop3_msgno(struct pop3 *s, const char *p, size_t len);

/* pop3_auth.c: AUTHORIZATION handlers (they run in the child) */
int pop3_cmd_user(struct pop3 *s, const struct pop3_args *a);
int pop3_cmd_pass(struct pop3 *s, const struct pop3_args *a);
int pop3_cmd_auth(struct pop3 *s, const struct pop3_args *a);
int pop3_cmd_capa(struct pop3 *s, const struct pop3_args *a);
int pop3_cmd_stls(struct pop3 *s, const struct pop3_args *a);
int pop3_cmd_quit_auth(struct pop3 *s, const struct pop3_args *a);

/* pop3_trans.c: TRANSACTION handlers (the parent, as the user) */
int pop3_cmd_stat(struct pop3 *s, const struct pop3_args *a);
int pop3_cmd_list(struct pop3 *s, const struct pop3_args *a);
int pop3_cmd_uidl(struct pop3 *s, const struct pop3_args *a);
int pop3_cmd_retr(struct pop3 *s, const struct pop3_args *a);
int pop3_cmd_top(struct pop3 *s, const struct pop3_args *a);
int pop3_cmd_dele(struct pop3 *s, const struct pop3_args *a);
int pop3_cmd_rset(struct pop3 *s, const struct pop3_args *a);
int pop3_cmd_noop(struct pop3 *s, const struct pop3_args *a);
int pop3_cmd_quit(struct pop3 *s, const struct pop3_args *a);

/* pop3_box.c: the mailbox behind a session */
/* Opens the user's spool mailbox, assigns and persists missing UIDs under a
 * short write lock, keeps the snapshot, unlocks.  -1 with errno (EAGAIN:
 * locked by someone else). */
int pop3_box_open(struct pop3_box *b, const struct conf *c, const char *user);
/* Rescans after the file changed and maps the snapshot to it by UID.
 * Caller holds a lock.  -1 with errno (ESTALE: UIDVALIDITY changed). */
int pop3_box_resync(struct pop3_box *b);
/* QUIT: expunges DELE'd and marks RETR'd messages under the write lock.
 * -1 with errno (EAGAIN locked, ESTALE changed unsafely); the mailbox is
 * then unchanged. */
int pop3_box_update(struct pop3_box *b, const struct conf *c);
void pop3_box_close(struct pop3_box *b);

/* pop3_out.c */
/* Sends message i as a multi-line reply ("+OK n octets", dot-stuffed data,
 * "."); lines < 0 = all, else headers and that many body lines (TOP).
 * 0 sent; -1 not sent and -ERR replied (message gone, I/O error before the
 * first byte); -2 failed midway (the session must end). */
int pop3_send_msg(struct pop3 *s, size_t i, long lines);

#endif
