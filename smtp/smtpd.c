/* smtpd: ESMTP on fds 0/1, started by xinetd (as root) per connection.
 *
 *   root parent                       child (default_privs, chroot)
 *   receive_loop(): records in   <--  session_run(): greeting, commands,
 *   resolves RCPTs, writes the        DATA/BDAT, sends typed records
 *   queue file, answers the id   -->  "250 2.0.0 Ok: queued as ID"
 *   delivery, one process per recipient: here once the session has
 *   ended, or, when it goes on, by the session's detached delivery
 *   worker (worker.c), in batches, one process per mailbox; what is
 *   deferred, and ETRN, go to the single queue runner (runner.c)
 *
 * The parent gives up fds 0-2 (the client's socket) right after the fork:
 * only the child ever reads client input.  As non-root (tests, the demo)
 * the same split runs without chroot and setuid.
 * Options: -c FILE (config), -b (local submission from sendmail -bs: the
 * Received header names the invoking uid). */
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

int main(int argc, char **argv)
{
	struct peer peer;
	struct session_opts so;
	struct recv_ctx rx;
	struct session_ids si;
	char errbuf[512];
	int sp[2], i, local_submit = 0, status, r;
	pid_t pid;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-b"))
			local_submit = 1;
	conf_defaults(&conf);
	if (conf_load(&conf, conf_argv_path(argc, argv), errbuf, sizeof errbuf) < 0) {
		log_open("smtpd", "syslog");
		log_msg(LOG_ERR, "config: %s", errbuf);
		say("421 4.3.0 Error: server configuration error\r\n");
		return 1;
	}
	log_open("smtpd", conf.log);
	signal(SIGPIPE, SIG_IGN);
	net_get_peer(&peer);
	memset(&so, 0, sizeof so);
	so.c = &conf;
	so.peer = &peer;
	/* a local session (pipe, sendmail -bs) is a local user: may relay */
	so.relay_ok = peer.local || net_match(&conf.mynetworks, &peer);
	log_msg(LOG_INFO, "connect from %s", peer.addr);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		log_msg(LOG_ERR, "socketpair: %m");
		say("421 4.3.0 Error: internal error\r\n");
		return 1;
	}
	pid = priv_fork_child(&conf, 0, 1, sp[1]);
	if (pid < 0) {
		log_msg(LOG_ERR, "fork: %m");
		say("421 4.3.0 Error: internal error\r\n");
		return 1;
	}
	if (pid == 0) {
		struct io io;
		so.recfd = sp[1];
		io_init(&io, 0, 1, (int)conf.smtpd_timeout);
		session_run(&io, &so);
		_exit(0);
	}
	close(sp[1]);
	devnull_fds();
	memset(&rx, 0, sizeof rx);
	rx.c = &conf;
	rx.peer = &peer;
	rx.relay_ok = so.relay_ok;
	rx.local_uid = local_submit ? (long long)getuid() : -1;
	rx.outfd = sp[0];
	memset(&si, 0, sizeof si);
	rx.ids = &si;
	rx.on_queued = worker_on_queued;
	rx.on_wait = worker_on_wait;
	rx.on_record = worker_on_record;
	r = receive_loop(&rx, sp[0]);
	close(sp[0]);
	if (r < 0)
		kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	log_msg(LOG_INFO, "disconnect from %s", peer.addr);
	/* the client is gone (fds 0-2 are /dev/null): a session with a
	 * worker leaves it the rest; else deliver what it queued right here,
	 * one fork per recipient */
	worker_session_end(&conf, &si);
	return 0;
}
