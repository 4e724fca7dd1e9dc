/* Privilege separation.  Code that parses network input before login runs
 * in a child that dropped to default_privs (chrooted to empty_directory when
 * root); the root parent only authenticates and then becomes the user. */
#ifndef FACTEUR_PRIV_H
#define FACTEUR_PRIV_H

#include <stddef.h>
#include <sys/types.h>
#include "bounds.h"
#include "conf.h"
#include "auth.h"
#include "io.h"

/* priv.c */
/* setgroups(1, {gid}) (or initgroups for name != NULL), setresgid,
 * setresuid, then verifies with getresuid/getresgid and that setuid(0) now
 * fails.  Refuses uid 0.  As non-root: succeeds only if uid is already ours
 * (nothing to drop).  -1 on any failure: callers must exit. */
int priv_drop(uid_t uid, gid_t gid, const char *name);
/* Drops to conf default_privs, chrooting to empty_directory when root
 * (created root 0755 when missing).  As non-root it does nothing and
 * succeeds.  Every refusal is logged with the path and the fix. */
int priv_drop_unprivileged(const struct conf *c);
/* A log file (write-only, append) or the syslog socket (AF_UNIX datagram):
 * what a child closing descriptors must keep. */
int priv_is_log_sink(int fd);
/* Closes every descriptor above 2 but the n of keep (negative ones are
 * ignored) and the log's: close_range over the gaps when log.c knows the
 * log's descriptor, else a scan of /proc/self/fd keeping every log sink. */
void priv_close_fds(const int *keep, size_t n);
/* Forks the child that reads client input before login (pop3d, imapd
 * through priv_preauth; smtpd's session).  In the child (0 returned) only
 * fds 0-2 (2 on /dev/null if it was a socket), fd_in, fd_out, keep and the
 * log are open, and it runs as default_privs in empty_directory with
 * NO_NEW_PRIVS, PDEATHSIG SIGKILL, RLIMIT_NPROC 0 and RLIMIT_AS
 * PREAUTH_MEM_MAX; a child that cannot get there exits.  The parent gets
 * the pid, or -1. */
pid_t priv_fork_child(const struct conf *c, int fd_in, int fd_out, int keep);
/* The gid of conf mail_privileged_group, or (gid_t)-1 when the key is
 * empty; -1 (logged) when the group does not exist. */
int priv_mail_gid(const struct conf *c, gid_t *gid_r);
/* Looks the group up now and answers priv_mail_gid from that, in this
 * process and the children it forks after (the queue runner: one lookup
 * per pass instead of one NSS lookup per delivery child).  Called again,
 * it looks up again. */
void priv_mail_gid_cache(const struct conf *c);
/* Becomes the logged-in user (initgroups + setresgid/setresuid) and chdir
 * to home.  Root: the saved gid is the mail_privileged_group, so libmbox can
 * wear it around dotlock and mailbox creation in a root:mail 2775 spool
 * (Dovecot's mail_privileged_group); it is never the effective gid while
 * input is parsed. */
int priv_become_user(const struct conf *c, const struct auth_user *u);
/* For one local delivery (smtpd, in a child per recipient): the same
 * credentials as priv_become_user, with groups {gid} only.  Refuses uid 0
 * (alias root's mail).  Irreversible.  As non-root: succeeds only if uid is
 * ours. */
int priv_become_delivery(const struct conf *c, uid_t uid, gid_t gid);

/* The pre-auth split shared by pop3d and imapd (popa3d's shape, with the
 * child kept alive across failed attempts):
 *
 *   root parent                          child (default_privs, chroot)
 *   priv_preauth(c, io, fn, arg, ...) -> fn(io, arg) speaks the greeting and
 *                                        the pre-auth commands; on
 *                                        credentials it calls priv_login(),
 *                                        which flushes io, asks the parent
 *                                        and returns its verdict
 *   parent: auth_check, the failure
 *           delay, answers ok/fail
 *   on ok: the child must NOT reply; fn returns at once, the wrapper sends
 *   the child's unread input to the parent and exits 0.  The parent puts it
 *   back into io (io_unread), becomes the user (priv_become_user), and
 *   priv_preauth returns 0 with u_r and ctx filled.  The parent then sends
 *   the success reply itself (it may still fail, e.g. mailbox in use).
 *   ctx is an opaque blob the child passes along (the IMAP tag, which
 *   command logged in).
 *
 * priv_preauth returns -1 when the child ended without a login (QUIT,
 * LOGOUT, EOF, timeout, error): the parent then just exits.  The parent
 * never parses client input.  Not root (tests, the demo): the same fork and
 * pipes, without chroot and setuid.
 *
 * The child keeps only fds 0-2 (2 becomes /dev/null when it is a socket),
 * io's fds, its end of the socketpair and the log (log_open first: its
 * append-only file or syslog socket survives the chroot).  The parent
 * ignores SIGPIPE, applies auth_failure_delay after every failure and logs
 * failures with the peer address (never the password); PAM gets PAM_RHOST. */
typedef void (*priv_child_fn)(struct io *io, void *arg);
/* priv_preauth's third outcome: the child answered STARTTLS/STLS and
 * called priv_starttls.  Nothing changed in the parent (still root, io
 * empty): it starts TLS (lib/tls.h) and calls priv_preauth again. */
#define PRIV_PREAUTH_TLS 1
int priv_preauth(const struct conf *c, struct io *io, priv_child_fn fn, void *arg,
		 struct auth_user *u_r, char *ctx_r, size_t ctxmax, size_t *ctxlen_r);
/* In the child: 1 accepted (return from fn at once, write nothing), 0
 * refused (the delay has been applied: reply the failure and go on), -1
 * temporary failure (reply so), PRIV_LOGIN_LAST refused and that was the
 * AUTH_FAILS_MAX-th failure: reply the failure, say goodbye, return from fn
 * (further calls return -1).  On -1 errno is EAGAIN when the parent could
 * not check (PAM or the passwd-file failed), EPIPE when it no longer
 * answers (end the session).  user and pass may hold any bytes; the parent
 * refuses NULs and overlong values. */
#define PRIV_LOGIN_LAST (-2)
/* In the child, after the go-ahead reply was queued in io: flushes it,
 * throws away the client's unread input (pipelined after the command) and
 * asks the parent for TLS; fn must then return at once.  0 or -1. */
int priv_starttls(struct io *io);
int priv_login(struct io *io, const char *user, size_t ulen, const char *pass, size_t plen,
	       const void *ctx, size_t ctxlen);

#endif
