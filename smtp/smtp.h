/* Internal interfaces of the SMTP side: smtpd (session child + root parent),
 * the queue, local delivery, bounces, aliases and the sendmail injector. */
#ifndef FACTEUR_SMTP_H
#define FACTEUR_SMTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "conf.h"
#include "bounds.h"
#include "io.h"
#include "net.h"
#include "rec.h"
#include "str.h"

/* A queue recipient's reason field: fixed width so it is updated in place. */
#define Q_REASON_LEN 120

/* DSN NOTIFY bits (RFC 3461 4.1); 0 = not given (default: FAILURE) */
#define DSN_NEVER 1
#define DSN_SUCCESS 2
#define DSN_FAILURE 4
#define DSN_DELAY 8

/* ---- records between the session child and the root parent (lib/rec.h)
 * A reader that sees EOF before the end marker of a message queues
 * nothing.  Also the format of maildrop files (MAIL..END only). */
/* child -> parent */
#define REC_HELO 'H'     /* HELO/EHLO name; payload[0] 'E' or 'H' then name */
#define REC_MAIL 'F'     /* begin a transaction: sender */
#define REC_MAILP 'P'    /* its parameters: ret(1) body(1) utf8(1) envid */
#define REC_RCPT 'T'     /* add a recipient: notify(1) addr \0 orcpt; answered */
#define REC_DATA 'D'     /* message bytes (LF line ends, unstuffed) */
#define REC_END 'E'      /* message complete: commit; answered */
#define REC_ABORT 'A'    /* drop the transaction */
#define REC_ETRN 'Q'     /* request a queue run; answered */
#define REC_AUTH 'U'     /* SMTP AUTH: user NUL password; answered REC_AUTHED */
#define REC_STARTTLS 'S' /* 220 sent: the client socket follows (SCM_RIGHTS),
			    then the child ends (lib/tls.h) */
/* parent -> child */
#define REC_VERDICT 'v'  /* payload[0] a RCPT_* code, then text */
#define REC_QUEUED 'K'   /* payload: queue id */
#define REC_FAIL 'X'     /* payload: one FAIL_* byte, the reply the child gives */
#define FAIL_QUEUE 'q'   /* 451 4.3.0 queue file write error */
#define FAIL_NOSPACE 's' /* 452 4.3.1 Insufficient system storage (ENOSPC, EDQUOT) */
#define REC_AUTHED 'a'   /* 'Y' + login name, 'N', 'T' temporary, 'Q' last failure */

/* ---- addr.c: RFC 5321 paths and ESMTP parameters ---- */
struct smtp_mail {
	char sender[SMTP_ADDR_MAX];   /* "" for <> */
	char ret;                     /* 'F' FULL, 'H' HDRS, 0 */
	char body;                    /* '7', '8', 0 */
	int utf8;                     /* SMTPUTF8 asked */
	uint64_t size;                /* SIZE= declared, 0 none */
	int auth;                     /* AUTH= given (RFC 4954 section 5) */
	char envid[SMTP_XTEXT_MAX];
};
struct smtp_rcpt {
	char addr[SMTP_ADDR_MAX];
	unsigned notify;
	char orcpt[SMTP_XTEXT_MAX];
};
/* Outcomes of parsing: 0 ok, else an ADDR_* error the caller maps to a reply */
#define ADDR_SYNTAX 1     /* 501 5.5.4 / 501 5.1.7 */
#define ADDR_PARAM 2      /* 555 5.5.4 unknown or bad parameter */
#define ADDR_UTF8 3       /* 553 5.6.7 non-ASCII without SMTPUTF8 */
#define ADDR_LONG 4       /* 501 5.1.3 path too long */
int addr_parse_mail(const char *arg, size_t len, struct smtp_mail *m_r);
int addr_parse_rcpt(const char *arg, size_t len, int utf8, struct smtp_rcpt *r_r);
/* Is p a well-formed UTF-8 byte string? */
int addr_utf8_valid(const char *p, size_t len);
/* Address bytes safe to store (no controls, space, tab, '<', '>')? */
int addr_clean(const char *p, size_t len);
/* addr_clean, but a leading quoted local part may hold space and \\. */
int addr_storable(const char *p, size_t len);
/* A domain (letters, digits, hyphens, dots, UTF-8) or an address literal? */
int addr_domain_ok(const char *d, size_t len);
/* An address literal [1.2.3.4], [IPv6:...], [tag:text] (RFC 5321 4.1.3)? */
int addr_literal_ok(const char *d, size_t len);
/* xtext (ENVID, ORCPT) to text for a DSN; undecodable bytes kept,
 * controls as '?'.  -1: truncated. */
int addr_xtext_decode(const char *p, char *out, size_t outlen);
/* Splits "local@domain": *at_r is the index of the last '@' or len. */
size_t addr_at(const char *p, size_t len);

/* ---- alias.c: /etc/aliases (text form) ---- */
/* Looks name up (case-insensitive).  Calls fn for each target that is a
 * plain address; |command, /file and :include: targets are skipped and
 * logged.  1 found, 0 not an alias, -1 error (the file cannot be read). */
typedef int (*alias_fn)(void *arg, const char *target, size_t len);
int alias_lookup(const struct conf *c, const char *name, size_t len, alias_fn fn, void *arg);

/* ---- rcpt.c: what a RCPT address resolves to ---- */
#define RCPT_OK 'l'        /* local: one or more mailboxes */
#define RCPT_REMOTE 'r'    /* not ours: relay (from mynetworks only) */
#define RCPT_UNKNOWN 'u'   /* 550 5.1.1 */
#define RCPT_DENIED 'd'    /* 554 5.7.1 relay access denied */
#define RCPT_TEMP 't'      /* 451 4.3.0 lookup failure */
#define RCPT_TOOMANY 'm'   /* 452 4.5.3 */
struct q_rcpt;
struct rcpt_list {
	struct q_rcpt *v;
	size_t n, cap;
};
/* Resolves addr (the RCPT path) into final recipients appended to list
 * (duplicates dropped).  relay_ok: the client may relay. */
int rcpt_resolve(const struct conf *c, const char *addr, unsigned notify, const char *orcpt,
		 int relay_ok, struct rcpt_list *list);
void rcpt_list_free(struct rcpt_list *l);
/* The address the client connected to: user@[it] is local. */
void rcpt_set_self(const char *local_addr);

/* ---- queue.c: queue files ---- */
/* queue_directory/tmp   files being written (ours only)
 * queue_directory/q     complete messages, one file each, named by id
 * A file is a text envelope, "data\n", then the message (LF line ends).
 * Each recipient line has a fixed-width state/attempts/reason prefix that
 * delivery overwrites in place. */
#define Q_PENDING 'P'
#define Q_DEFERRED 'X'
#define Q_FAILED 'F'     /* failed permanently, bounce not yet sent */
#define Q_BOUNCED 'B'    /* failed, sender told (or no bounce due) */
#define Q_DONE 'D'
#define Q_TRYING 'T'     /* local delivery under way; found so by a later
                            load, it was interrupted: look for a stored
                            copy before delivering again */
#define Q_ID_MAX 32
struct q_rcpt {
	char kind;                      /* RCPT_OK local, RCPT_REMOTE */
	char state;
	unsigned attempts;
	unsigned notify;
	char reason[Q_REASON_LEN + 1];
	char user[CONF_NAME_MAX];       /* local mailbox owner */
	char addr[SMTP_ADDR_MAX];       /* final address */
	char orig[SMTP_ADDR_MAX];       /* as the client gave it */
	char orcpt[SMTP_XTEXT_MAX];
	off_t off;                      /* of the state byte in the file */
};
struct q_env {
	char id[Q_ID_MAX];
	long long time;
	char sender[SMTP_ADDR_MAX];
	long long uid;                  /* local submitter, -1 none */
	char ret, body;
	int utf8;
	char envid[SMTP_XTEXT_MAX];
	char peer[64];
	char helo[256];
	char with[16];                  /* SMTP, ESMTP, UTF8SMTP (+S, A: RFC 3848), "" (local) */
	char auth[256];                 /* SMTP AUTH login, for Received; not stored */
	struct rcpt_list r;
	off_t data_off;
	off_t size;
};
struct q_writer {
	int fd;
	int dirfd;
	char id[Q_ID_MAX];
	char tmp[PATH_MAX];
	uint64_t bytes;
};
int queue_mkdirs(const struct conf *c);
/* Creates the temp file and the id. */
int queue_create(const struct conf *c, struct q_writer *w);
/* Removes tmp/ files of dead writers (the queue runner calls it). */
void queue_sweep_tmp(const struct conf *c);
int queue_write_env(struct q_writer *w, const struct q_env *e);
int queue_write(struct q_writer *w, const void *p, size_t n);
/* fsync, rename into q/, fsync the directory. */
int queue_commit(const struct conf *c, struct q_writer *w);
void queue_abort(struct q_writer *w);
/* Parses an open queue file. */
int queue_load(int fd, struct q_env *e);
void queue_env_free(struct q_env *e);
/* Overwrites recipient i's state, attempts and reason, then fdatasync. */
int queue_set_state(int fd, struct q_rcpt *r, char state, const char *reason);
/* The same without the fdatasync: for a state nobody needs after a crash
 * (the file is about to be removed, or synced by the caller later). */
int queue_set_state_nosync(int fd, struct q_rcpt *r, char state, const char *reason);
/* Path of the q/ directory or of a file in it. */
int queue_path(const struct conf *c, const char *name, char *out, size_t outlen);
/* mailq: writes the listing to fd. */
int queue_list(const struct conf *c, int fd);
/* A header line "Received: ..." for a message (ends in LF). */
int queue_received(const struct conf *c, const struct q_env *e, struct buf *b);

/* ---- deliver.c: running queue files ----
 * deliver.c decides nothing about when: it returns 1 when what it left
 * (deferred, remote recipients outside the runner) needs a queue run, and
 * its caller asks for one (runner_request); the runner's pass is in
 * runner.c.  So the call graph has no cycle: runner -> deliver -> relay. */
/* Delivers every pending local recipient of one queue file (deferred ones
 * too when retry is set), sends bounces, removes the file when all done.
 * Silently returns 0 if another process is working on the file.  1: a
 * queue run is needed; -1 error. */
int deliver_file(const struct conf *c, const char *id, int retry);
/* Set by the runner around its pass: deliveries (bounces too) then send
 * remote recipients themselves instead of leaving them to a run. */
void deliver_in_runner(int on);
/* In the runner: finishes the files whose remote recipients came back
 * from the relay agents; wait: until none is out (the end of a pass). */
void deliver_reap(const struct conf *c, int wait);
/* Delivers the pending local recipients of n files as one batch: one
 * process (as the owner) and one lock per mailbox, messages in queue
 * order, each fsync'ed (libmbox) before its state is written; one fsync of
 * the queue directory for the files removed.  Files another runner holds
 * are skipped.  Lock budget SMTP_QUICK_LOCK_MS: what it left deferred and
 * remote recipients need the queue runner: 1 (the caller requests a run).
 * Overwrites ids. */
int deliver_batch(const struct conf *c, char (*ids)[Q_ID_MAX], size_t n);

/* ---- pickup.c: maildrop/ files into the queue (run by the runner) ---- */
int pickup_run(const struct conf *c);

/* ---- runner.c: the single queue runner ----
 * All scheduling of queue runs goes through these two calls.  At most one
 * runner exists (flock on queue_directory/runner.lock); it delivers in its
 * own process, one message after another (its pass), with no
 * descriptor of its requester.  A request while it runs is remembered
 * (queue_directory/run.request) and served by another pass before it
 * exits.  Its pass: maildrop pickup, then each queue file (deliver_file),
 * remote recipients sent by relay.c in the same pass. */
/* Asks for a queue run and returns at once: starts a detached runner
 * unless one is active.  For smtpd (ETRN, deferred mail) and sendmail. */
int runner_request(const struct conf *c);
/* The same for a light pass (runner.c pass_new), which has a runner of its
 * own (new.request, new.lock): smtpd after a session that queued mail,
 * which is then delivered in batches shared with the other sessions, with
 * no process forked per session, and never behind a full pass. */
int runner_request_new(const struct conf *c);
/* Runs the queue in this process until no request is pending (sendmail
 * -q); returns at once, leaving the request, when another runner is
 * active.  0, or -1 if the queue directory is unusable. */
int runner_run(const struct conf *c);
/* In a process that must outlive its caller (the runner, smtpd's worker):
 * own session, fds 0-2 on /dev/null, every other descriptor but keep (-1:
 * none) closed, SIGPIPE ignored, the log reopened as ident. */
void runner_detach(const struct conf *c, const char *ident, int keep);

/* ---- worker.c: smtpd's per-session delivery worker ---- */
struct worker {
	int on;                         /* started */
	int fd;                         /* ids to it, "ID\n" */
};
/* Forks the detached worker (runner_detach: none of the session's
 * descriptors).  0, or -1 (then deliver another way). */
int worker_start(const struct conf *c, struct worker *w);
/* Hands ids over; -1 if the worker is gone (they stay queued). */
int worker_send(struct worker *w, char (*ids)[Q_ID_MAX], size_t n);
/* EOF for the worker: it finishes what it has and exits. */
void worker_close(struct worker *w);
/* smtpd's scheduling of its session's ids (the recv_ctx hooks below):
 * ids wait for the end of the session (then delivered by the runner, see
 * runner_request_new) unless the session goes on or idles RECV_PEND_WAIT_MS: then the
 * worker takes them, and every later id at once. */
struct session_ids {
	size_t npend;
	char pend[RECV_PEND_MAX][Q_ID_MAX];
	struct worker worker;
};
struct recv_ctx;
void worker_on_queued(struct recv_ctx *x, const char *id);
void worker_on_wait(struct recv_ctx *x, int fd);
void worker_on_record(struct recv_ctx *x);
void worker_on_etrn(struct recv_ctx *x);
/* After the session: the worker gets the rest, or the runner's light pass
 * delivers them (runner_request_new). */
void worker_session_end(const struct conf *c, struct session_ids *si);

/* ---- bounce.c: RFC 3464 delivery status notifications ---- */
/* Queues one bounce for every Q_FAILED recipient of e (data read from fd)
 * and returns its id in id_r ("" when no bounce is due). */
int bounce_queue(const struct conf *c, int fd, const struct q_env *e, char *id_r, size_t idlen);
/* The same as a "delayed" notice (Action: delayed, headers only) for the
 * deferred remote recipients that did not refuse NOTIFY=DELAY (issue 12). */
int bounce_delay_queue(const struct conf *c, int fd, const struct q_env *e, char *id_r, size_t idlen);

/* ---- receive.c: the root side of smtpd ---- */
/* Reads the child's records from fd until EOF; writes queue files. */
struct recv_ctx {
	const struct conf *c;
	const struct peer *peer;
	int relay_ok;                   /* the parent's own check of the client */
	int maildrop;                   /* a maildrop file: envelope and message
					 * records only */
	long long local_uid;            /* -1, or the submitting uid (-bs) */
	int outfd;                      /* verdicts to the child; -1: a file */
	unsigned queued;                /* messages committed */
	int proto_err;                  /* stopped on a bad record */
	int etrn_done;                  /* one ETRN per session is acted on */
	/* hooks, each may be NULL: a committed id (NULL: left to the queue
	 * runner's next pass), before waiting for a record, a record arrived */
	void (*on_queued)(struct recv_ctx *x, const char *id);
	void (*on_wait)(struct recv_ctx *x, int fd);
	void (*on_record)(struct recv_ctx *x);
	/* an ETRN the parent accepted (its forcing already recorded): smtpd
	 * requests a queue run; NULL (maildrop, tools): nothing */
	void (*on_etrn)(struct recv_ctx *x);
	struct session_ids *ids;        /* smtpd's, for the worker_on_* hooks */
	int tls;                        /* the session runs under TLS */
	int tls_fd;                     /* STARTTLS: the client socket from the child, else -1 */
	char authname[256];             /* SMTP AUTH login, "" none */
	unsigned auth_fails;
};
int receive_loop(struct recv_ctx *x, int fd);

/* ---- session.c: the SMTP dialogue (unprivileged child) ---- */
struct session_opts {
	const struct conf *c;
	const struct peer *peer;
	int recfd;                      /* to the parent */
	int relay_ok;
	int tls;                        /* under TLS */
	int tls_offer;                  /* STARTTLS may be offered */
	int tls_required;               /* tls_security_level encrypt: STARTTLS first */
	int auth_enable;                /* AUTH offered (smtpd_sasl_auth_enable, -S) */
	int plain_ok;                   /* plaintext passwords acceptable (TLS, trusted) */
	int submission;                 /* -S: AUTH before MAIL (RFC 6409) */
	int resumed;                    /* after STARTTLS: no greeting */
};
void session_run(struct io *io, const struct session_opts *o);

/* ---- sasl.c: SMTP AUTH PLAIN and LOGIN (RFC 4954) ---- */
#define SASL_OK 1       /* 235 sent: authenticated as name_r */
#define SASL_NO 0       /* refused or cancelled, reply sent */
#define SASL_QUIT 2     /* the last failure: 535 and 421 sent, end the session */
/* Child: the exchange for "MECH [initial-response]"; -1 when the session
 * must end (client gone, parent gone). */
int sasl_session(struct io *io, int recfd, const char *arg, size_t len, char *name_r, size_t namemax);
/* Parent: checks a REC_AUTH payload p (n bytes; p[n] writable) and answers. */
int sasl_check(struct recv_ctx *x, char *p, size_t n);

/* ---- data.c: DATA and BDAT bodies ---- */
/* Reads a DATA body up to the final dot, sending it to the parent in
 * REC_DATA records (unless discarding).  barelf: conf_bare_newline()'s
 * mode for the client.  Returns 0 ok, 1 too big (read to the end), -1
 * EOF/timeout/IO error, DATA_BARE_LF a bare LF in strict mode (nothing
 * must be queued in either case). */
#define DATA_BARE_LF (-2)
int data_read_dot(struct io *io, int recfd, uint64_t limit, int barelf, uint64_t *size_r);
struct bdat_state {
	uint64_t size;
	int cr;                         /* last chunk ended in CR */
	int too_big;
};
/* Reads n bytes of a BDAT chunk; sends them on unless st->too_big. */
int data_read_chunk(struct io *io, int recfd, uint64_t n, uint64_t limit, struct bdat_state *st);
int data_bdat_finish(int recfd, struct bdat_state *st);

/* ==== outbound SMTP (issue 12): mx.c, client.c, relay.c, retry.c ==== */
#include <sys/socket.h>
/* ---- mx.c: the addresses of a next hop (relayhost or MX lookup) ---- */
#define MX_TEMP 4
#define MX_PERM 5
struct mx_addr {
	char host[256];                 /* MX host name, or the literal */
	char ip[64];
	int pref;
	struct sockaddr_storage sa;     /* with the port */
	socklen_t salen;
};
struct mx_route {
	struct mx_addr v[MX_ADDRS_MAX]; /* in the order to try */
	size_t n;
	int port;
};
/* nexthop: a domain (MX lookup), "host:port", "[host]" or "[host]:port"
 * (no MX lookup).  0 ok (r->n > 0), else MX_TEMP or MX_PERM with why set
 * to "X.Y.Z text" (null MX, NXDOMAIN, loop to ourselves, DNS failure). */
int mx_route(const struct conf *c, const char *nexthop, struct mx_route *r, char *why, size_t whylen);

/* ---- client.c: one SMTP client connection (runs as default_privs) ---- */
struct client_rcpt {
	unsigned idx;                   /* in the queue file */
	unsigned notify;
	char addr[SMTP_ADDR_MAX];
	char orcpt[SMTP_XTEXT_MAX];
	char code;                      /* result: '2', '4', '5'; 0 none yet */
	char status[16];                /* X.Y.Z */
	char text[CLIENT_TEXT_MAX];
};
struct client_msg {
	int fd;                         /* the queue file, read-only */
	long long data_off, size;
	char sender[SMTP_ADDR_MAX];
	char envid[SMTP_XTEXT_MAX];
	char ret, body;
	int utf8;
};
struct client_conn {
	int fd;                         /* -1 closed */
	int esmtp, pipelining, eightbit, smtputf8, dsn;
	int timedout;                   /* the last wait ran out */
	unsigned long long size_max;    /* 0: none announced */
	unsigned txns;
	long long last_used;
	char host[256], ip[64];
	int port;
	char relay[340];                /* host[ip]:port */
	size_t in_pos, in_len;
	char in[8192];
};
/* Connects to one address and says hello (EHLO, then HELO if refused).
 * 0 ready; -1 failed with c->... closed and why "4.x.x text" (or "5.x.x"
 * for a 5xx greeting, which the caller treats like a refusal). */
int client_open(const struct conf *c, struct client_conn *k, const struct mx_addr *a, char *why, size_t whylen);
/* One transaction for n recipients: sets every rcpt's code/status/text.
 * Returns 0, or -1 when the connection is unusable afterwards (closed);
 * *early_r says it broke before the MAIL reply (a stale cached connection:
 * the caller retries on a fresh one, nothing was sent). */
int client_send(const struct conf *c, struct client_conn *k, const struct client_msg *m, struct client_rcpt *r,
		size_t n, int *early_r);
/* RSET on a kept connection: 0 usable. */
int client_rset(const struct conf *c, struct client_conn *k);
void client_quit(const struct conf *c, struct client_conn *k);

/* ---- relay.c: remote recipients of queue files ---- */
/* Hands the due remote recipients of the locked, loaded queue file (fd,
 * path, e) to the relay agents (unprivileged, in parallel: see relay.c),
 * one job per next hop.  retry: deferred ones whose time has come (or
 * forced) are due too; pending ones always are.  1: jobs are out, the
 * file must stay open, locked and loaded until relay_done returns tag;
 * 0: nothing to send (notice: the id of a delay_warning_time notice queued
 * for the caller to deliver, or ""); -1 error (nothing sent).  May wait
 * for results of earlier jobs, never of this file's. */
int relay_submit(const struct conf *c, int fd, const char *path, struct q_env *e, int retry, void *tag,
		 char *notice, size_t noticelen);
/* Waits for at least one job's results (recorded in its queue file): 1,
 * or 0 when no job is out. */
int relay_wait(const struct conf *c);
/* The tag of a file whose jobs all ended (states and retry times written,
 * not its removal nor its bounces: the caller's), and its notice; NULL. */
void *relay_done(char *notice, size_t noticelen);
/* Remote recipients of e still pending (never tried): a runner is due. */
size_t relay_pending(const struct q_env *e);
/* Ends the agents (QUIT to every kept connection); none may be busy. */
void relay_end(void);

/* ---- retry.c: per-recipient schedule beside the queue file ---- */
/* queue_directory/defer/ID holds "INDEX NEXT-ATTEMPT" lines for the
 * deferred remote recipients of q/ID, replaced atomically (write, fsync,
 * rename); the reason and attempt count stay in the queue file. */
/* *warned: the delay_warning_time notice was sent (a "warned" line). */
int retry_load(const struct conf *c, const char *id, long long *next, size_t n, int *warned);
int retry_save(const struct conf *c, const char *id, const long long *next, size_t n, int warned);
void retry_remove(const struct conf *c, const char *id);
/* Seconds until the next attempt after attempts tries: minimal_backoff_time
 * doubled per attempt, at most maximal_backoff_time. */
long long retry_backoff(const struct conf *c, unsigned attempts);
/* Forcing (sendmail -qf, -qR domain, -qS sender, ETRN domain): deferred
 * recipients that match are due at once.  all: every one. */
void retry_force(int all, const char *domain, const char *sender);
int retry_forced(const char *domain, const char *sender);
/* The forcing of this process as run.request lines (runner.c); length or -1. */
int retry_force_lines(char *out, size_t len);
/* Merges lines of run.request into this process's forcing. */
void retry_force_parse(const char *p, size_t len);

#endif
