/* imapd: IMAP4rev1 server on fds 0/1, started by xinetd per connection.
 * The pre-auth dialogue runs in an unprivileged child (lib/priv.h); the root
 * parent checks the credentials, becomes the user, sends the tagged OK of the
 * LOGIN/AUTHENTICATE itself and runs the authenticated session. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "imap.h"
#include "auth.h"
#include "bounds.h"
#include "log.h"
#include "priv.h"
#include "tls.h"

static void greet(struct imap_sess *s)
{
	struct buf b;

	buf_init(&b);
	imap_capabilities(s, &b);
	imap_put(s, "* OK [CAPABILITY %s] facteur ready.\r\n", b.s ? b.s : "");
	buf_free(&b);
}

/* the child: greeting and pre-auth commands until a login is accepted */
static void preauth(struct io *io, void *arg)
{
	struct imap_sess *s = arg;

	s->io = io;
	if (!s->resumed)
		greet(s);
	imap_loop(s);
	io_flush(io);
}

/* libmbox keeps rewrite journals in ~/.libmbox/journal of the euid's passwd
 * entry; a passwd-file user's home is the one from the login (the uid may
 * have no entry, or a system entry with another home) */
static void journal_in_home(const char *home)
{
	char dir[PATH_MAX];
	int r;

	if (getenv("MBOX_JOURNAL_DIR") || !*home)
		return;
	r = snprintf(dir, sizeof dir, "%s/.libmbox", home);
	if (r < 0 || (size_t)r + 8 >= sizeof dir)
		return;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return;
	r = snprintf(dir, sizeof dir, "%s/.libmbox/journal", home);
	if (r > 0 && (size_t)r < sizeof dir)
		mbox_set_journal_dir(dir);
}

static int session_paths(struct imap_sess *s, const struct auth_user *u)
{
	char idx[PATH_MAX];

	journal_in_home(u->home);
	/* the mailbox index (libmbox), "" = none */
	mbox_set_index_dir(conf_index_dir(s->conf, u->home, idx, sizeof idx) == 0 ? idx : NULL);
	if (str_copyz(s->user, sizeof s->user, u->name) < 0 ||
	    str_copyz(s->home, sizeof s->home, u->home) < 0 ||
	    conf_folder_root(s->conf, u->home, s->root, sizeof s->root) < 0 ||
	    conf_spool_path(s->conf, u->name, s->spool, sizeof s->spool) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct conf conf;
	static struct io io;
	static struct imap_sess s;
	struct auth_user u;
	char ctx[PRIV_CTX_MAX], err[512];
	size_t ctxlen = 0;
	struct buf caps;
	unsigned idle;
	int r;

	signal(SIGPIPE, SIG_IGN);
	conf_defaults_zeroed(&conf);   /* static: still zero */
	if (conf_load(&conf, conf_argv_path(argc, argv), err, sizeof err) < 0) {
		log_open("imapd", "syslog");
		log_msg(LOG_ERR, "config: %s", err);
		io_init(&io, 0, 1, 10);
		io_puts(&io, "* BYE Server configuration error\r\n");
		io_flush(&io);
		return 1;
	}
	log_open("imapd", conf.log);
	memset(&s, 0, sizeof s);
	s.conf = &conf;
	s.mb.fd = -1;
	net_get_peer(&s.peer);
	s.state = IMAP_S_NOTAUTH;
	buf_init(&s.cmd);
	/* a silent client is dropped sooner before login */
	idle = conf.imap_timeout && conf.imap_timeout < IMAP_PREAUTH_IDLE_SEC ? conf.imap_timeout
									    : IMAP_PREAUTH_IDLE_SEC;
	io_init(&io, 0, 1, (int)idle);
	s.io = &io;
	s.tls_offer = tls_offer(&conf, &s.peer);
	/* -T: the xinetd drop-in for port 993 (implicit TLS, RFC 8314) */
	if (tls_argv_implicit(argc, argv)) {
		if (!s.tls_offer || tls_begin(&conf, tls_handshake_sec(idle)) < 0)
			return 1;
		s.tls = 1;
	}
	s.login_ok = tls_plaintext_ok(&conf, &s.peer, s.tls);
	log_msg(LOG_INFO, "connect from %s%s", s.peer.addr, s.tls ? " (TLS)" : "");

	while ((r = priv_preauth(&conf, &io, preauth, &s, &u, ctx, sizeof ctx, &ctxlen)) == PRIV_PREAUTH_TLS) {
		/* STARTTLS: the child answered and ended; a new one goes on */
		if (s.tls || !s.tls_offer || tls_begin(&conf, tls_handshake_sec(idle)) < 0)
			return 1;
		s.tls = s.resumed = 1;
		s.login_ok = 1;
	}
	if (r < 0)
		return 0;
	/* now the user; the child's unread input is back in io */
	s.state = IMAP_S_AUTH;
	s.errors = 0;
	io.timeout_ms = (int)(conf.imap_timeout ? conf.imap_timeout : IMAP_IDLE_SEC) * 1000;
	if (ctxlen == 0 || ctxlen > 200 || session_paths(&s, &u) < 0) {
		log_msg(LOG_ERR, "login of %s: bad session context", u.name);
		io_puts(&io, "* BYE Internal error\r\n");
		io_flush(&io);
		return 1;
	}
	log_msg(LOG_INFO, "login: user=%s uid=%ld", u.name, (long)getuid());
	buf_init(&caps);
	imap_capabilities(&s, &caps);
	io_put(&io, ctx, ctxlen);
	imap_put(&s, " OK [CAPABILITY %s] Logged in\r\n", caps.s ? caps.s : "");
	buf_free(&caps);
	r = imap_loop(&s);
	imap_view_close(&s);
	io_flush(&io);
	log_msg(LOG_INFO, "%s: user=%s in=%llu out=%llu", r == IMAP_LOGOUT ? "logout" : "disconnect",
		s.user, io.bytes_in, io.bytes_out);
	buf_free(&s.cmd);
	return 0;
}
