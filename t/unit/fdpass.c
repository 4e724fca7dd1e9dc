/* lib/fdpass.c: one descriptor with its bytes over a unix stream
 * socketpair (the way smtpd's STARTTLS hand-over and the relay agents use
 * it), and what must be refused: EOF, no descriptor, two or three where
 * one is expected, other control data, too few bytes.  Every refusal must
 * leave no received descriptor open: /proc/self/fd is counted around each. */
#include "fdpass.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Each case: a stream socketpair sv (sender sv[0]) whose reads give up
 * after 10 s, so a wrong implementation fails instead of hanging, and a
 * pipe p whose ends are the descriptors passed. */
static int sv[2], p[2];

static void setup(void)
{
	struct timeval tv = { 10, 0 };

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 || pipe2(p, O_CLOEXEC) < 0) {
		printf("Bail out! socketpair or pipe: %s\n", strerror(errno));
		exit(1);
	}
}

static void teardown(void)
{
	close(p[0]);
	close(p[1]);
	if (sv[0] >= 0)
		close(sv[0]);
	close(sv[1]);
}

/* sendmsg of n bytes with the k descriptors of fds (k may be 0): what a
 * confused or hostile peer could send, not through fdpass_send */
static int send_raw(int sock, const char *data, size_t n, const int *fds, size_t k)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} u;
	struct msghdr m;
	struct iovec iov = { (void *)data, n };

	memset(&m, 0, sizeof m);
	memset(&u, 0, sizeof u);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (k) {
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(k * sizeof(int));
		u.h.cmsg_level = SOL_SOCKET;
		u.h.cmsg_type = SCM_RIGHTS;
		u.h.cmsg_len = CMSG_LEN(k * sizeof(int));
		memcpy(CMSG_DATA(&u.h), fds, k * sizeof(int));
	}
	return sendmsg(sock, &m, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* One pipe's write end passed, then written through: the bytes come out
 * of the read end we kept. */
static void test_pass_one(void)
{
	int fd, before;
	char one = 0, got[8];

	setup();
	before = open_fds();
	ok(fdpass_send(sv[0], p[1], "F", 1) == 0, "send one fd with one byte");
	fd = fdpass_recv(sv[1], &one, 1);
	ok(fd >= 0 && one == 'F', "received an fd and the byte (fd %d, byte 0x%02x)", fd, (unsigned char)one);
	ok(fd != p[1], "a new descriptor, not the sender's number");
	ok(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "received close-on-exec (MSG_CMSG_CLOEXEC)");
	ok(open_fds() == before + 1, "exactly one descriptor more");
	ok(fd >= 0 && write(fd, "through", 7) == 7 && read(p[0], got, sizeof got) == 7 && !memcmp(got, "through", 7),
	   "written through the received fd, read from the pipe");
	if (fd >= 0)
		close(fd);
	teardown();
}

/* Several bytes with the fd; the stream goes on after them untouched. */
static void test_payload(void)
{
	int fd;
	char buf[5], after[6];

	setup();
	ok(fdpass_send(sv[0], p[0], "hello", 5) == 0, "send an fd with 5 bytes");
	ok(write(sv[0], "after", 5) == 5, "then plain bytes on the stream");
	memset(buf, 0, sizeof buf);
	fd = fdpass_recv(sv[1], buf, sizeof buf);
	ok(fd >= 0 && !memcmp(buf, "hello", 5), "the 5 bytes came with the fd");
	memset(after, 0, sizeof after);
	ok(read(sv[1], after, 5) == 5 && !strcmp(after, "after"), "the bytes after it are left on the stream");
	if (fd >= 0)
		close(fd);
	/* zero bytes cannot carry a descriptor on a stream socket */
	errno = 0;
	ok(fdpass_send(sv[0], p[0], "", 0) < 0 && errno == EINVAL, "send with 0 bytes: EINVAL");
	errno = 0;
	ok(fdpass_recv(sv[1], buf, 0) < 0 && errno == EINVAL, "recv of 0 bytes: EINVAL");
	teardown();
}

/* The peer gone: an error with errno, no crash and no SIGPIPE. */
static void test_eof(void)
{
	char one;

	setup();
	close(sv[0]);
	sv[0] = -1;
	errno = 0;
	ok(fdpass_recv(sv[1], &one, 1) == -1 && errno == EPIPE, "recv at EOF: -1, EPIPE (%s)", strerror(errno));
	errno = 0;
	ok(fdpass_send(sv[1], p[0], "F", 1) == -1 && errno == EPIPE,
	   "send to a closed peer: -1, EPIPE, no SIGPIPE (%s)", strerror(errno));
	teardown();
}

/* sends n bytes and k fds raw, then fdpass_recv of want bytes must refuse
 * it with EPROTO and leave the process with the descriptors it had */
static void refused(const char *what, size_t n, size_t k, size_t want, int passcred)
{
	int fds[3], before, r, on = 1;
	char buf[4];
	size_t i;

	setup();
	if (passcred && setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0)
		exit(1);
	for (i = 0; i < 3; i++)
		fds[i] = p[i % 2];
	ok(send_raw(sv[0], "FFFF", n, fds, k) == 0, "%s: sent %zu byte(s), %zu fd(s)", what, n, k);
	before = open_fds();
	errno = 0;
	r = fdpass_recv(sv[1], buf, want);
	ok(r == -1 && errno == EPROTO, "%s: refused, EPROTO (got %d, %s)", what, r, strerror(errno));
	ok(open_fds() == before, "%s: no descriptor left open (%d before, %d after)", what, before, open_fds());
	if (r >= 0)
		close(r);
	/* the refusal consumed that message only: a good one follows fine
	 * (with SO_PASSCRED every message carries credentials) */
	if (!passcred) {
		r = fdpass_send(sv[0], p[0], "FFFF", want) == 0 ? fdpass_recv(sv[1], buf, want) : -1;
		ok(r >= 0, "%s: a good message after it still comes through", what);
		if (r >= 0)
			close(r);
	}
	teardown();
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* A signal while blocked in recvmsg and sendmsg (no SA_RESTART): EINTR is
 * retried, the fd still arrives. */
static void test_eintr(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	int fd;
	char one;
	pid_t pid;

	setup();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	pid = fork();
	if (pid == 0) {
		usleep(300000);
		_exit(fdpass_send(sv[0], p[1], "F", 1) < 0);
	}
	setitimer(ITIMER_REAL, &it, NULL);
	fd = fdpass_recv(sv[1], &one, 1);
	ok(fd >= 0, "recv interrupted by a signal (%d delivered) still gets the fd", (int)alarms);
	if (alarms == 0)
		diag("the signal came after the send: EINTR not exercised this run");
	if (fd >= 0)
		close(fd);
	waitpid(pid, NULL, 0);
	signal(SIGALRM, SIG_DFL);
	teardown();
}

int main(void)
{
	int start = open_fds();

	if (start < 0)
		skip_all("no /proc/self/fd");
	test_pass_one();
	test_payload();
	test_eof();
	refused("no fd", 1, 0, 1, 0);
	refused("two fds", 1, 2, 1, 0);
	refused("three fds (control data truncated)", 1, 3, 1, 0);
	refused("fd with 1 byte where 4 are expected", 1, 1, 4, 0);
	refused("fd with credentials beside it (SO_PASSCRED)", 1, 1, 1, 1);
	test_eintr();
	ok(open_fds() == start, "no descriptor leaked in the whole run (%d at start, %d at end)", start, open_fds());
	return done_testing();
}
