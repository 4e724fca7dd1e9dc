/* smtpd: ESMTP on fds 0/1, started by xinetd (as root) per connection.
 *
 *   root parent                       child (default_privs, chroot)
 *   receive_loop(): records in   <--  session_run(): greeting, commands,
 *   resolves RCPTs, writes the        DATA/BDAT, sends typed records
 *   queue file, answers the id   -->  "250 2.0.0 Ok: queued as ID"
 *   delivery, in batches, one process per mailbox: by the single queue
 *   runner (runner.c, its light pass) once the session has ended, or,
 *   when it goes on, by the session's detached delivery worker
 *   (worker.c); what is deferred, and ETRN, go to the runner's full pass
 *
 * The parent gives up fds 0-2 (the client's socket) right after the fork:
 * only the child ever reads client input.  As non-root (tests, the demo)
 * the same split runs without chroot and setuid.
 * Options: -c FILE (config), -b (local submission from sendmail -bs: the
 * Received header names the invoking uid), -T (implicit TLS: the drop-in
 * for port 465), -S (submission, RFC 6409: AUTH enabled and required
 * before MAIL; the drop-ins for 587 and 465).  STARTTLS: the child hands
 * the client socket back and ends; the parent starts TLS (lib/tls.h) and
 * runs a new child on the plaintext side. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "priv.h"
#include "smtp.h"
#include "tls.h"

static struct conf conf;

static void say(const char *s)
{
	ssize_t r = write(1, s, strlen(s));
	(void)r;
}

static void devnull_fds(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/* One SMTP session: the unprivileged child on fds 0/1, the root parent
 * reading its records.  1 when the child asked for STARTTLS (rx->tls_fd
 * is the client socket), 0 otherwise. */
static int serve(struct session_opts *so, struct recv_ctx *rx)
{
	int sp[2], status, r;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		log_msg(LOG_ERR, "socketpair: %m");
		say("421 4.3.0 Error: internal error\r\n");
		return 0;
	}
	pid = priv_fork_child(&conf, 0, 1, sp[1]);
	if (pid < 0) {
		log_msg(LOG_ERR, "fork: %m");
		say("421 4.3.0 Error: internal error\r\n");
		return 0;
	}
	if (pid == 0) {
		struct io io;
		so->recfd = sp[1];
		io_init(&io, 0, 1, (int)conf.smtpd_timeout);
		session_run(&io, so);
		_exit(0);
	}
	close(sp[1]);
	devnull_fds();
	rx->outfd = sp[0];
	rx->tls = so->tls;
	r = receive_loop(rx, sp[0]);
	close(sp[0]);
	if (r < 0)
		kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return r == 0 && rx->tls_fd >= 0;
}

/* STARTTLS: the client socket back on fds 0/1, stunnel in front of it. */
static int starttls(struct recv_ctx *rx)
{
	int fd = rx->tls_fd, r;

	rx->tls_fd = -1;
	r = dup2(fd, 0) < 0 || dup2(fd, 1) < 0 ? -1 : 0;
	close(fd);
	if (r < 0)
		return -1;
	return tls_begin(&conf, tls_handshake_sec(conf.smtpd_timeout));
}

int main(int argc, char **argv)
{
	struct peer peer;
	struct session_opts so;
	struct recv_ctx rx;
	struct session_ids si;
	char errbuf[512];
	int i, local_submit = 0, submission = 0, tls_ok = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-b"))
			local_submit = 1;
		else if (!strcmp(argv[i], "-S"))
			submission = 1;
	}
	conf_defaults_zeroed(&conf);   /* static: still zero */
	if (conf_load(&conf, conf_argv_path(argc, argv), errbuf, sizeof errbuf) < 0) {
		log_open("smtpd", "syslog");
		log_msg(LOG_ERR, "config: %s", errbuf);
		say("421 4.3.0 Error: server configuration error\r\n");
		return 1;
	}
	log_open("smtpd", conf.log);
	signal(SIGPIPE, SIG_IGN);
	net_get_peer(&peer);
	/* fds 0/1 will be /dev/null or stunnel's: keep the client's address */
	net_pin_peer(&peer);
	tls_ok = !local_submit && tls_offer(&conf, &peer);
	memset(&so, 0, sizeof so);
	so.c = &conf;
	so.peer = &peer;
	/* -T: the xinetd drop-in for port 465 (implicit TLS, RFC 8314) */
	if (tls_argv_implicit(argc, argv)) {
		if (!tls_ok || tls_begin(&conf, tls_handshake_sec(conf.smtpd_timeout)) < 0)
			return 1;
		so.tls = 1;
	}
	/* a local session (pipe, sendmail -bs) is a local user: may relay */
	so.relay_ok = peer.local || net_match(&conf.mynetworks, &peer);
	so.tls_offer = tls_ok && !so.tls;
	so.tls_required = conf.tls_security_level == CONF_TLS_ENCRYPT && !peer.local && !so.tls;
	so.submission = submission;
	so.auth_enable = conf.smtpd_sasl_auth_enable || submission;
	so.plain_ok = tls_plaintext_ok(&conf, &peer, so.tls);
	log_msg(LOG_INFO, "connect from %s%s", peer.addr, so.tls ? " (TLS)" : "");
	memset(&rx, 0, sizeof rx);
	rx.c = &conf;
	rx.peer = &peer;
	rx.relay_ok = so.relay_ok;
	rx.local_uid = local_submit ? (long long)getuid() : -1;
	memset(&si, 0, sizeof si);
	rx.ids = &si;
	rx.on_queued = worker_on_queued;
	rx.on_wait = worker_on_wait;
	rx.on_record = worker_on_record;
	rx.on_etrn = worker_on_etrn;
	rx.tls_fd = -1;
	while (serve(&so, &rx)) {
		/* a new child under TLS, knowing nothing of the old one
		 * (RFC 3207 4.2); an AUTH before STARTTLS cannot be (the child
		 * refuses it), so the parent forgets nothing it must */
		if (!so.tls_offer || starttls(&rx) < 0)
			break;
		so.tls = so.resumed = 1;
		so.tls_offer = so.tls_required = 0;
		so.plain_ok = 1;
	}
	if (rx.tls_fd >= 0)
		close(rx.tls_fd);
	log_msg(LOG_INFO, "disconnect from %s", peer.addr);
	/* the client is gone (fds 0-2 are /dev/null): a session with a
	 * worker leaves it the rest; else the runner gets what it queued */
	worker_session_end(&conf, &si);
	return 0;
}
