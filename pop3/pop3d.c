/* pop3d: POP3 server on fds 0/1, started by xinetd (as root) per connection.
 *
 *   root parent ---- priv_preauth ----> child (default_privs, chroot):
 *                                        greeting, CAPA, USER/PASS, AUTH
 *   checks the password, becomes the user
 *   opens the mailbox, "+OK Logged in.", TRANSACTION and UPDATE states
 *
 * Usage: pop3d [-c CONFIG].  Nothing is ever written to stderr. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>
#include "auth.h"
#include "log.h"
#include "pop3.h"
#include "priv.h"
#include "str.h"
#include "tls.h"

static struct io pop3_io;

/* The pre-auth child's whole life. */
static void pop3_preauth_child(struct io *io, void *arg)
{
	struct pop3 *s = arg;

	if (!s->resumed)
		pop3_ok(s, "facteur ready.");
	if (pop3_loop(s) != POP3_LOGIN)
		io_flush(io);
}

/* libmbox puts its rewrite journal under the euid's passwd home; a user of
 * the passwd-file has no passwd entry, so give it the file's home. */
static void pop3_journal_dir(const struct auth_user *u)
{
	char dir[PATH_MAX];
	int n;

	if (getenv("MBOX_JOURNAL_DIR") || !u->virtual_user || !u->home[0])
		return;
	n = snprintf(dir, sizeof dir, "%s/.libmbox", u->home);
	if (n < 0 || (size_t)n >= sizeof dir - 8)
		return;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return;
	memcpy(dir + n, "/journal", 9);
	mbox_set_journal_dir(dir);
}

static int pop3_fail_early(const char *text)
{
	/* stderr may be the socket: write the reply to fd 1 only */
	ssize_t r = write(1, text, strlen(text));

	(void)r;
	return 1;
}

int main(int argc, char **argv)
{
	static struct conf c;
	static struct pop3_box box;
	struct auth_user u;
	struct peer peer;
	struct pop3 s;
	char err[512], ctx[PRIV_CTX_MAX];
	size_t ctxlen = 0;
	unsigned idle;
	int r;

	signal(SIGPIPE, SIG_IGN);
	conf_defaults_zeroed(&c);   /* static: still zero */
	if (conf_load(&c, conf_argv_path(argc, argv), err, sizeof err) < 0) {
		log_open("pop3d", "syslog");
		log_msg(LOG_ERR, "config: %s", err);
		return pop3_fail_early("-ERR [SYS/TEMP] Server configuration error.\r\n");
	}
	log_open("pop3d", c.log);
	net_get_peer(&peer);
	idle = c.pop3_timeout ? c.pop3_timeout : POP3_IDLE_SEC;
	io_init(&pop3_io, 0, 1, (int)idle);

	memset(&s, 0, sizeof s);
	s.c = &c;
	s.io = &pop3_io;
	s.peer = &peer;
	s.state = POP3_AUTH;
	s.tls_offer = tls_offer(&c, &peer);
	/* -T: the xinetd drop-in for port 995 (implicit TLS, RFC 8314) */
	if (tls_argv_implicit(argc, argv)) {
		if (!s.tls_offer || tls_begin(&c, tls_handshake_sec(idle)) < 0)
			return 1;
		s.tls = 1;
	}
	s.trusted = tls_plaintext_ok(&c, &peer, s.tls);
	log_msg(LOG_INFO, "connect from %s%s%s", peer.addr, s.tls ? " (TLS)" : "",
		s.trusted ? "" : " (plaintext login refused)");

	memset(&u, 0, sizeof u);
	while ((r = priv_preauth(&c, &pop3_io, pop3_preauth_child, &s, &u, ctx, sizeof ctx, &ctxlen)) ==
	       PRIV_PREAUTH_TLS) {
		/* STLS: the child answered and ended; a new one goes on under TLS */
		if (s.tls || !s.tls_offer || tls_begin(&c, tls_handshake_sec(idle)) < 0)
			return 1;
		s.tls = s.resumed = 1;
		s.trusted = 1;
	}
	if (r < 0)
		return 0;

	/* the parent, now running as the user */
	pop3_journal_dir(&u);
	{
		char idx[PATH_MAX];
		mbox_set_index_dir(conf_index_dir(&c, u.home, idx, sizeof idx) == 0 ? idx : NULL);
	}
	str_copyz(s.authname, sizeof s.authname, u.name);
	s.state = POP3_TRANS;
	s.box = &box;
	if (pop3_box_open(&box, &c, u.name) < 0) {
		int e = errno;

		log_msg(LOG_ERR, "user %s: cannot open mailbox: %s", u.name, strerror(e));
		if (e == EAGAIN)
			pop3_err(&s, "[IN-USE] Mailbox is locked by another program, try again later.");
		else
			pop3_err(&s, "[SYS/TEMP] Cannot open the mailbox.");
		io_flush(&pop3_io);
		pop3_box_close(&box);
		return 1;
	}
	log_msg(LOG_INFO, "user %s: logged in from %s (uid %u), %zu messages, %llu octets", u.name,
		peer.addr, (unsigned)getuid(), box.count, (unsigned long long)box.total_size);
	pop3_ok(&s, "Logged in.");
	pop3_loop(&s);
	io_flush(&pop3_io);
	pop3_box_close(&box);
	return 0;
}
