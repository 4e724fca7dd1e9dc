/* trickle [-d MICROSECONDS] PROGRAM [ARGS...]
 *
 * Runs PROGRAM with its stdin a pipe fed from our stdin one byte per write;
 * stdout and stderr are passed through.  After each byte we wait until
 * PROGRAM has read it (FIONREAD on the pipe drops to 0), so every read(2) of
 * PROGRAM returns a single byte: the split-everywhere test of Dovecot's
 * test_istream_set_size.  -d adds a pause between bytes.  A PROGRAM that
 * stops reading for TRICKLE_WAIT_US is given the next byte anyway.
 * Exit status: PROGRAM's (128+signal if killed), 2 on usage or setup error. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TRICKLE_WAIT_US 5000000L  /* bound on waiting for one byte to be read */
#define TRICKLE_POLL_US 50L
#define TRICKLE_SPINS 200
#define TRICKLE_DELAY_MAX 10000000UL

static void usage(void)
{
	fputs("usage: trickle [-d MICROSECONDS] PROGRAM [ARGS...]\n", stderr);
	exit(2);
}

static void sleep_us(unsigned long us)
{
	struct timespec ts = { (time_t)(us / 1000000UL), (long)(us % 1000000UL) * 1000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* digits only, bounded: no strtoul sign or wrap-around surprises */
static int parse_delay(const char *s, unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > TRICKLE_DELAY_MAX)
			return -1;
	}
	*out = v;
	return 0;
}

/* Waits until the reader has taken everything out of the pipe, or gave up
 * reading (exited, or busy beyond the bound). */
static void wait_drained(int fd, pid_t child)
{
	long waited = 0;
	int spins = 0;
	siginfo_t si;
	int n;

	while (waited < TRICKLE_WAIT_US) {
		if (ioctl(fd, FIONREAD, &n) == -1 || n == 0)
			return;
		/* peek at the child without reaping it: main() collects the status */
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == child)
			return;
		/* the reader usually wakes at once: yield a few times first */
		if (spins < TRICKLE_SPINS) {
			spins++;
			sched_yield();
			continue;
		}
		sleep_us(TRICKLE_POLL_US);
		waited += TRICKLE_POLL_US;
	}
}

/* Copies stdin to fd byte by byte; stops quietly when the reader is gone. */
static int feed(int fd, pid_t child, unsigned long delay)
{
	char buf[4096];
	ssize_t n, i;

	for (;;) {
		n = read(0, buf, sizeof buf);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("trickle: read");
			return -1;
		}
		for (i = 0; i < n; i++) {
			ssize_t w = write(fd, buf + i, 1);

			if (w < 0 && errno == EINTR) {
				i--;
				continue;
			}
			if (w < 0 && errno == EPIPE)
				return 0;
			if (w < 0) {
				perror("trickle: write");
				return -1;
			}
			wait_drained(fd, child);
			if (delay)
				sleep_us(delay);
		}
	}
}

int main(int argc, char **argv)
{
	unsigned long delay = 0;
	int fds[2], opt, status;
	pid_t child;

	while ((opt = getopt(argc, argv, "+d:")) != -1) {
		if (opt != 'd' || parse_delay(optarg, &delay) == -1)
			usage();
	}
	if (optind >= argc)
		usage();
	/* a reader that exits early must not kill us before we report its status */
	signal(SIGPIPE, SIG_IGN);
	if (pipe(fds) == -1) {
		perror("trickle: pipe");
		return 2;
	}
	child = fork();
	if (child == -1) {
		perror("trickle: fork");
		return 2;
	}
	if (child == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(fds[0], 0) == -1)
			_exit(127);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "trickle: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	feed(fds[1], child, delay);
	close(fds[1]);
	while (waitpid(child, &status, 0) == -1) {
		if (errno != EINTR) {
			perror("trickle: waitpid");
			return 2;
		}
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
