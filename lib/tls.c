/* TLS by stunnel4: see tls.h for the shape.  Everything here runs as root
 * in the process that owns the client socket, before any client byte is
 * read by it: stunnel is told what to do by a config written into a pipe
 * (stunnel -fd 3), never by the client. */
#include "tls.h"
#include "fdpass.h"
#include "log.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int tls_argv_implicit(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-T"))
			return 1;
	return 0;
}

int tls_plaintext_ok(const struct conf *c, const struct peer *p, int tls)
{
	if (tls || p->local)
		return 1;
	if (c->tls_security_level == CONF_TLS_ENCRYPT)
		return 0;
	return net_login_trusted(&c->login_trusted_networks, p);
}

unsigned tls_handshake_sec(unsigned idle_sec)
{
	return idle_sec && idle_sec < TLS_HANDSHAKE_SEC ? idle_sec : TLS_HANDSHAKE_SEC;
}

/* Both ends of STARTTLS's hand-over: one byte with the socket. */
int tls_send_fd(int sock, int fd)
{
	return fdpass_send(sock, fd, "F", 1);
}

int tls_recv_fd(int sock)
{
	char one;
	int fd, type;
	socklen_t tl = sizeof type;

	fd = fdpass_recv(sock, &one, 1);
	if (fd < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM) {
		close(fd);
		return -1;
	}
	return fd;
}

static int readable(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

int tls_usable(const struct conf *c, char *why, size_t whylen)
{
	why[0] = '\0';
	if (c->tls_security_level == CONF_TLS_NONE)
		return 0;
	if (access(c->stunnel_path, X_OK) < 0)
		snprintf(why, whylen, "stunnel_path %s: %s", c->stunnel_path, strerror(errno));
	else if (!readable(c->tls_cert_file))
		snprintf(why, whylen, "tls_cert_file %s: %s", c->tls_cert_file, strerror(errno));
	else if (!readable(c->tls_key_file))
		snprintf(why, whylen, "tls_key_file %s: %s", c->tls_key_file, strerror(errno));
	else
		return 1;
	return 0;
}

int tls_offer(const struct conf *c, const struct peer *p)
{
	char why[PATH_MAX + 128];

	/* over a pipe (tests, the demo, sendmail -bs) there is nothing to
	 * put TLS on */
	if (!p->is_socket || p->local)
		return 0;
	if (tls_usable(c, why, sizeof why))
		return 1;
	if (why[0])
		log_msg(LOG_WARNING, "TLS not offered: %s", why);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* stunnel's whole configuration: inetd mode (no accept), plaintext to
 * sock.  As root it drops to default_privs once the key is loaded. */
static int make_config(const struct conf *c, const char *sock, unsigned timeout_sec, char *out,
		       size_t outlen)
{
	char ids[96] = "";
	int n;

	if (geteuid() == 0) {
		struct passwd *pw = getpwnam(c->default_privs);
		if (!pw || pw->pw_uid == 0) {
			errno = ENOENT;
			return -1;
		}
		snprintf(ids, sizeof ids, "setuid = %lu\nsetgid = %lu\n", (unsigned long)pw->pw_uid,
			 (unsigned long)pw->pw_gid);
	}
	n = snprintf(out, outlen,
		     "%s"
		     "syslog = yes\n"
		     "debug = mail.err\n"
		     "cert = %s\n"
		     "key = %s\n"
		     "sslVersionMin = TLSv1.2\n"
		     "connect = %s\n"
		     "TIMEOUTbusy = %u\n"
		     "TIMEOUTclose = 5\n",
		     ids, c->tls_cert_file, c->tls_key_file, sock, timeout_sec);
	if (n < 0 || (size_t)n >= outlen || strchr(c->tls_cert_file, '\n') || strchr(c->tls_key_file, '\n')) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return n;
}

/* In the forked child: fd 0/1 the client, 2 /dev/null, 3 the config. */
static void exec_stunnel(const struct conf *c, int cfd)
{
	char *argv[] = { "stunnel4", "-fd", "3", NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	int fd;

	if (cfd == 3)
		fcntl(3, F_SETFD, 0);
	else if (dup2(cfd, 3) < 0)
		_exit(127);
	fd = open("/dev/null", O_WRONLY);
	if (fd >= 0 && fd != 2) {
		dup2(fd, 2);
		close(fd);
	}
	for (fd = 4; fd < 1024; fd++)
		close(fd);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	execve(c->stunnel_path, argv, envp);
	_exit(127);
}

/* Waits for stunnel's one connection: the fd, or -1 on timeout, stunnel's
 * exit (handshake failed, client gone) or error. */
static int accept_stunnel(int lfd, pid_t pid, unsigned timeout_sec)
{
	long long deadline = now_ms() + (long long)timeout_sec * 1000;
	struct pollfd pfd = { lfd, POLLIN, 0 };
	int status;

	for (;;) {
		long long left = deadline - now_ms();
		struct ucred cr;
		socklen_t cl = sizeof cr;
		int r, fd;

		if (left <= 0) {
			log_msg(LOG_INFO, "tls: no handshake within %u s", timeout_sec);
			return -1;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			log_msg(LOG_INFO, "tls: handshake failed or client gone (stunnel exit %d)",
				WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			return -1;
		}
		r = poll(&pfd, 1, left < 200 ? (int)left : 200);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		/* the 0700 directory is the first guard, this the second */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 && cr.pid == pid)
			return fd;
		log_msg(LOG_WARNING, "tls: connection from pid %ld on the private socket refused",
			(long)cr.pid);
		close(fd);
	}
}

int tls_begin(const struct conf *c, unsigned timeout_sec)
{
	char dir[] = "/tmp/facteur-tls.XXXXXX", cfg[2 * PATH_MAX + 512];
	struct sockaddr_un sa;
	struct peer p;
	int lfd = -1, fd = -1, cp[2] = { -1, -1 }, n;
	pid_t pid = -1;

	net_get_peer(&p);
	net_pin_peer(&p);
	if (!mkdtemp(dir)) {
		log_msg(LOG_ERR, "tls: mkdtemp: %m");
		return -1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/s", dir);
	n = make_config(c, sa.sun_path, timeout_sec, cfg, sizeof cfg);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (n < 0 || lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1) < 0 ||
	    chmod(sa.sun_path, 0600) < 0) {
		log_msg(LOG_ERR, "tls: private socket: %m");
		goto out;
	}
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam(c->default_privs);
		/* stunnel runs as default_privs: it alone may enter and connect */
		if (!pw || chown(dir, pw->pw_uid, pw->pw_gid) < 0 ||
		    chown(sa.sun_path, pw->pw_uid, pw->pw_gid) < 0) {
			log_msg(LOG_ERR, "tls: chown %s: %m", dir);
			goto out;
		}
	}
	if (pipe2(cp, O_CLOEXEC) < 0 || write(cp[1], cfg, (size_t)n) != n) {
		log_msg(LOG_ERR, "tls: config pipe: %m");
		goto out;
	}
	close(cp[1]);
	cp[1] = -1;
	pid = fork();
	if (pid < 0) {
		log_msg(LOG_ERR, "tls: fork: %m");
		goto out;
	}
	if (pid == 0)
		exec_stunnel(c, cp[0]);
	fd = accept_stunnel(lfd, pid, timeout_sec);
out:
	if (cp[0] >= 0)
		close(cp[0]);
	if (cp[1] >= 0)
		close(cp[1]);
	if (lfd >= 0)
		close(lfd);
	unlink(sa.sun_path);
	rmdir(dir);
	if (fd < 0) {
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return -1;
	}
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	/* stderr may still be the client socket (xinetd gives it as fd 2) */
	if (p.is_socket) {
		struct stat st;
		if (fstat(2, &st) == 0 && S_ISSOCK(st.st_mode)) {
			int dn = open("/dev/null", O_WRONLY | O_CLOEXEC);
			if (dn >= 0 && dn != 2) {
				dup2(dn, 2);
				close(dn);
			}
		}
	}
	log_msg(LOG_INFO, "tls: started for %s (stunnel pid %ld)", p.addr, (long)pid);
	return 0;
}
