/* lib/io.c: the bounded line reader and the batched writer. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "tap.h"

/* An io reading from a pipe that holds data (written by a child, in chunks
 * of `step` bytes so lines get split across reads). */
static pid_t feed(struct io *io, const char *data, size_t len, size_t step, int timeout)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		exit(1);
	pid = fork();
	if (pid == 0) {
		size_t off = 0;
		close(p[0]);
		while (off < len) {
			size_t k = len - off < step ? len - off : step;
			if (write(p[1], data + off, k) < 0)
				_exit(1);
			off += k;
		}
		_exit(0);
	}
	close(p[1]);
	io_init(io, p[0], -1, timeout);
	return pid;
}

static void reap(struct io *io, pid_t pid)
{
	close(io->fd_in);
	waitpid(pid, NULL, 0);
}

static struct io io;

static void test_lines(size_t step)
{
	static const char in[] = "HELO a\r\nbare lf\nCR\rinside\r\nnul\0byte\r\nlast";
	char buf[64];
	size_t len;
	pid_t pid = feed(&io, in, sizeof in - 1, step, 5);
	int r;

	r = io_getline(&io, buf, sizeof buf, &len);
	ok(r == IO_OK && len == 6 && !memcmp(buf, "HELO a", 6) && io.eol == IO_EOL_CRLF,
	   "CRLF line (step %zu)", step);
	r = io_getline(&io, buf, sizeof buf, &len);
	ok(r == IO_OK && len == 7 && !memcmp(buf, "bare lf", 7) && io.eol == IO_EOL_LF,
	   "bare LF line (step %zu)", step);
	r = io_getline(&io, buf, sizeof buf, &len);
	ok(r == IO_OK && len == 9 && !memcmp(buf, "CR\rinside", 9), "bare CR is data (step %zu)", step);
	r = io_getline(&io, buf, sizeof buf, &len);
	ok(r == IO_OK && len == 8 && !memcmp(buf, "nul\0byte", 8), "NUL kept with its length (step %zu)",
	   step);
	r = io_getline(&io, buf, sizeof buf, &len);
	ok(r == IO_OK && len == 4 && io.eol == IO_EOL_NONE, "last line without terminator (step %zu)", step);
	r = io_getline(&io, buf, sizeof buf, &len);
	ok(r == IO_EOF, "then EOF (step %zu)", step);
	reap(&io, pid);
}

static void test_long(void)
{
	char in[300];
	char buf[16];
	size_t len;
	pid_t pid;
	int r;

	memset(in, 'x', 200);
	memcpy(in + 200, "\r\nnext\r\n", 8);
	pid = feed(&io, in, 208, 7, 5);
	r = io_getline(&io, buf, sizeof buf, &len);
	ok(r == IO_LONG && len == 0, "overlong line reported as IO_LONG");
	r = io_getline(&io, buf, sizeof buf, &len);
	ok(r == IO_OK && len == 4 && !memcmp(buf, "next", 4), "the session goes on with the next line");
	reap(&io, pid);

	/* exactly max bytes fits */
	pid = feed(&io, "0123456789abcdef\n", 17, 3, 5);
	r = io_getline(&io, buf, sizeof buf, &len);
	ok(r == IO_OK && len == 16, "a line of exactly max bytes fits");
	reap(&io, pid);
}

static void test_part(void)
{
	char in[100];
	char buf[10];
	size_t len, total = 0;
	pid_t pid;
	int r, parts = 0;

	memset(in, 'y', 25);
	memcpy(in + 25, "\r\n", 2);
	pid = feed(&io, in, 27, 4, 5);
	while ((r = io_getpart(&io, buf, sizeof buf, &len)) == IO_PART) {
		parts++;
		total += len;
	}
	total += len;
	ok(r == IO_OK && parts == 2 && total == 25 && io.eol == IO_EOL_CRLF, "io_getpart pieces (%d parts)",
	   parts);
	reap(&io, pid);

	/* a line one byte longer than a piece: the CRLF still ends it */
	memset(in, 'z', 10);
	memcpy(in + 10, "\r\n", 2);
	pid = feed(&io, in, 12, 5, 5);
	r = io_getpart(&io, buf, sizeof buf, &len);
	ok(r == IO_PART && len == 10, "first piece is full");
	r = io_getpart(&io, buf, sizeof buf, &len);
	ok(r == IO_OK && len == 0 && io.eol == IO_EOL_CRLF, "CRLF ends the line after the piece");
	reap(&io, pid);
}

static void test_read_and_unread(void)
{
	char buf[32];
	size_t len, got;
	pid_t pid = feed(&io, "A1 APPEND {5}\r\nhelloA2 NOOP\r\n", 29, 2, 5);
	int r;

	r = io_getline(&io, buf, sizeof buf, &len);
	ok(r == IO_OK && len == 13, "literal announcement line");
	r = io_read(&io, buf, 5, &got);
	ok(r == IO_OK && got == 5 && !memcmp(buf, "hello", 5), "io_read takes exactly the literal");
	ok(io_unread(&io, "X0 ", 3) == 0, "io_unread");
	r = io_getline(&io, buf, sizeof buf, &len);
	ok(r == IO_OK && len == 10 && !memcmp(buf, "X0 A2 NOOP", 10), "unread bytes come first");
	r = io_read(&io, buf, 5, &got);
	ok(r == IO_EOF && got == 0, "io_read at EOF");
	reap(&io, pid);
}

static void test_timeout(void)
{
	int p[2];
	char buf[8];
	size_t len;

	if (pipe(p) < 0)
		exit(1);
	io_init(&io, p[0], -1, 1);
	ok(io_getline(&io, buf, sizeof buf, &len) == IO_TIMEOUT, "idle timeout");
	close(p[0]);
	close(p[1]);
}

/* Output: nothing is written until input is needed; then one write. */
static void test_batching(void)
{
	int in[2], out[2];
	char buf[64];
	size_t len;
	ssize_t n;

	if (pipe(in) < 0 || pipe(out) < 0)
		exit(1);
	io_init(&io, in[0], out[1], 2);
	if (write(in[1], "a\nb\n", 4) != 4)
		exit(1);
	close(in[1]);
	io_getline(&io, buf, sizeof buf, &len);
	io_puts(&io, "reply a\r\n");
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	n = read(out[0], buf, sizeof buf);
	ok(n < 0 && errno == EAGAIN, "no write while input is pending");
	io_getline(&io, buf, sizeof buf, &len);
	io_puts(&io, "reply b\r\n");
	ok(io_getline(&io, buf, sizeof buf, &len) == IO_EOF, "EOF");
	n = read(out[0], buf, sizeof buf);
	ok(n == 18 && !memcmp(buf, "reply a\r\nreply b\r\n", 18), "both replies in one write (%zd bytes)", n);
	close(in[0]);
	close(out[0]);
	close(out[1]);
}

static void test_dead_peer(void)
{
	int out[2];

	signal(SIGPIPE, SIG_IGN);
	if (pipe(out) < 0)
		exit(1);
	close(out[0]);
	io_init(&io, -1, out[1], 1);
	io_puts(&io, "x");
	ok(io_flush(&io) == -1 && io.werr, "write to a closed peer is an error, not a crash");
	ok(io_puts(&io, "y") == -1, "later output is refused");
	close(out[1]);
}

int main(void)
{
	size_t steps[] = {1, 2, 3, 7, 64, 4096};
	size_t i;

	for (i = 0; i < sizeof steps / sizeof steps[0]; i++)
		test_lines(steps[i]);
	test_long();
	test_part();
	test_read_and_unread();
	test_timeout();
	test_batching();
	test_dead_peer();
	return done_testing();
}
