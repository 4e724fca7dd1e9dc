/* Buffered client I/O: the bounded line reader and the batched writer.
 * Output is flushed only when we are about to wait for input (qmail's
 * saferead), so pipelined commands get their replies in one write(2). */
#include "io.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void io_init(struct io *io, int fd_in, int fd_out, int timeout_sec)
{
	io->fd_in = fd_in;
	io->fd_out = fd_out;
	io->timeout_ms = timeout_sec > 0 ? timeout_sec * 1000 : 0;
	io->eol = IO_EOL_CRLF;
	io->eof = 0;
	io->werr = 0;
	io->in_pos = io->in_len = 0;
	io->out_len = 0;
	io->bytes_in = io->bytes_out = 0;
	io->trace = NULL;
	io->trace_arg = NULL;
	io->line_until = io->hard_until = 0;
	io->rate = 0;
	io->saw_cr = 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void io_deadline(struct io *io, int sec, unsigned rate)
{
	io->hard_until = sec > 0 ? now_ms() + (long long)sec * 1000 : 0;
	io->rate = sec > 0 ? rate : 0;
}

/* How long the next wait may be: the idle limit, cut by the deadlines.
 * 0 = a deadline has passed, -1 = no limit. */
static int wait_budget(const struct io *io)
{
	long long w = io->timeout_ms > 0 ? io->timeout_ms : -1, now = 0;

	if (io->line_until || io->hard_until)
		now = now_ms();
	if (io->line_until && (w < 0 || io->line_until - now < w))
		w = io->line_until - now;
	if (io->hard_until && (w < 0 || io->hard_until - now < w))
		w = io->hard_until - now;
	if (w == -1 && !io->line_until && !io->hard_until)
		return -1;
	return w <= 0 ? 0 : (int)w;
}

int io_write_all(int fd, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int io_flush(struct io *io)
{
	if (io->werr) {
		io->out_len = 0;
		return -1;
	}
	if (io->out_len == 0)
		return 0;
	if (io_write_all(io->fd_out, io->outbuf, io->out_len) < 0) {
		io->werr = 1;
		io->out_len = 0;
		return -1;
	}
	io->bytes_out += io->out_len;
	io->out_len = 0;
	return 0;
}

int io_put(struct io *io, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	if (io->trace && n > 0)
		io->trace(io->trace_arg, '>', buf, n);
	while (n > 0) {
		size_t room = sizeof io->outbuf - io->out_len;
		size_t k = n < room ? n : room;
		if (io->werr)
			return -1;
		memcpy(io->outbuf + io->out_len, p, k);
		io->out_len += k;
		p += k;
		n -= k;
		/* a full buffer goes out now: large responses leave in large writes */
		if (io->out_len == sizeof io->outbuf && io_flush(io) < 0)
			return -1;
	}
	return io->werr ? -1 : 0;
}

int io_put_nonul(struct io *io, const void *buf, size_t n)
{
	const char *p = buf, *z;

	while ((z = n ? memchr(p, '\0', n) : NULL)) {
		if (io_put(io, p, (size_t)(z - p)) < 0 || io_put(io, "\x80", 1) < 0)
			return -1;
		n -= (size_t)(z - p) + 1;
		p = z + 1;
	}
	return io_put(io, p, n);
}

int io_puts(struct io *io, const char *s)
{
	return io_put(io, s, strlen(s));
}

int io_vprintf(struct io *io, const char *fmt, va_list ap)
{
	char tmp[4096];
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof tmp)
		return io_put(io, tmp, (size_t)n);
	/* rare: a long reply; format it in pieces through a heap buffer */
	{
		char *big;
		int m;
		size_t len = (size_t)n + 1;
		big = malloc(len);
		if (!big)
			return -1;
		m = vsnprintf(big, len, fmt, ap);
		if (m < 0 || (size_t)m >= len) {
			free(big);
			return -1;
		}
		m = io_put(io, big, (size_t)m);
		free(big);
		return m;
	}
}

int io_printf(struct io *io, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = io_vprintf(io, fmt, ap);
	va_end(ap);
	return r;
}

/* Waits for input within the idle limit.  1 ready, 0 timeout, -1 error. */
static int wait_input(struct io *io, int timeout_ms)
{
	struct pollfd pfd;
	int r;

	pfd.fd = io->fd_in;
	pfd.events = POLLIN;
	for (;;) {
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		return r > 0 ? 1 : r;
	}
}

/* Refills the input buffer: flush, wait, read.  IO_OK, IO_EOF, IO_ERR,
 * IO_TIMEOUT. */
static int fill(struct io *io)
{
	ssize_t r;
	int w;

	if (io->eof)
		return IO_EOF;
	if (io->in_pos > 0 && io->in_pos == io->in_len)
		io->in_pos = io->in_len = 0;
	if (io->in_pos > 0) {
		memmove(io->inbuf, io->inbuf + io->in_pos, io->in_len - io->in_pos);
		io->in_len -= io->in_pos;
		io->in_pos = 0;
	}
	if (io->in_len == sizeof io->inbuf)
		return IO_OK;
	io_flush(io);
	w = wait_budget(io);
	if (w == 0)
		return IO_TIMEOUT;
	w = wait_input(io, w);
	if (w == 0)
		return IO_TIMEOUT;
	if (w < 0)
		return IO_ERR;
	for (;;) {
		r = read(io->fd_in, io->inbuf + io->in_len, sizeof io->inbuf - io->in_len);
		if (r < 0 && errno == EINTR)
			continue;
		break;
	}
	if (r < 0) {
		/* a reset connection is the client going away */
		if (errno == ECONNRESET) {
			io->eof = 1;
			return IO_EOF;
		}
		return IO_ERR;
	}
	if (r == 0) {
		io->eof = 1;
		return IO_EOF;
	}
	if (io->trace)
		io->trace(io->trace_arg, '<', (const char *)io->inbuf + io->in_len, (size_t)r);
	if (io->hard_until && io->rate)
		io->hard_until += (long long)r * 1000 / io->rate;
	io->in_len += (size_t)r;
	io->bytes_in += (unsigned long long)r;
	return IO_OK;
}

/* Core of both line readers.  part: return pieces of long lines. */
static int getline_common(struct io *io, char *buf, size_t max, size_t *len_r, int part)
{
	size_t got = 0;
	int discarding = 0;
	int r;

	*len_r = 0;
	io->line_until = io->timeout_ms > 0 ? now_ms() + io->timeout_ms : 0;
	for (;;) {
		unsigned char *start = io->inbuf + io->in_pos;
		size_t avail = io->in_len - io->in_pos;
		unsigned char *lf = avail ? memchr(start, '\n', avail) : NULL;
		size_t take = lf ? (size_t)(lf - start) : avail;

		if (!discarding) {
			size_t room = max - got;
			if (take > room) {
				/* never end a piece between the CR and LF of a CRLF */
				if (part && room > 1 && start[room - 1] == '\r')
					room--;
				memcpy(buf + got, start, room);
				if (!io->saw_cr && memchr(start, '\r', room))
					io->saw_cr = 1;
				got += room;
				io->in_pos += room;
				if (part) {
					*len_r = got;
					return IO_PART;
				}
				discarding = 1;
				continue;
			}
			memcpy(buf + got, start, take);
			if (!io->saw_cr && memchr(start, '\r', take))
				io->saw_cr = 1;
			got += take;
		}
		io->in_pos += take;
		if (lf) {
			io->in_pos++;
			if (discarding) {
				*len_r = 0;
				io->eol = IO_EOL_LF;
				return IO_LONG;
			}
			if (got > 0 && buf[got - 1] == '\r') {
				got--;
				io->eol = IO_EOL_CRLF;
			} else {
				io->eol = IO_EOL_LF;
			}
			*len_r = got;
			return IO_OK;
		}
		r = fill(io);
		if (r == IO_EOF) {
			if (discarding) {
				*len_r = 0;
				return IO_LONG;
			}
			if (got > 0) {
				/* a last line without terminator */
				io->eol = IO_EOL_NONE;
				*len_r = got;
				return IO_OK;
			}
			return IO_EOF;
		}
		if (r != IO_OK)
			return r;
	}
}

int io_getline(struct io *io, char *buf, size_t max, size_t *len_r)
{
	return getline_common(io, buf, max, len_r, 0);
}

int io_getpart(struct io *io, char *buf, size_t max, size_t *len_r)
{
	return getline_common(io, buf, max, len_r, 1);
}

int io_read(struct io *io, void *buf, size_t n, size_t *got_r)
{
	unsigned char *p = buf;
	size_t got = 0;
	int r;

	*got_r = 0;
	io->line_until = 0;     /* raw bytes: the caller's io_deadline bounds them */
	while (got < n) {
		size_t avail = io->in_len - io->in_pos;
		if (avail > 0) {
			size_t k = n - got < avail ? n - got : avail;
			memcpy(p + got, io->inbuf + io->in_pos, k);
			if (!io->saw_cr && memchr(p + got, '\r', k))
				io->saw_cr = 1;
			io->in_pos += k;
			got += k;
			*got_r = got;
			continue;
		}
		r = fill(io);
		if (r != IO_OK)
			return r;
	}
	return IO_OK;
}

size_t io_pending(const struct io *io)
{
	return io->in_len - io->in_pos;
}

size_t io_take_pending(struct io *io, void *buf, size_t max)
{
	size_t n = io_pending(io);

	if (n > max)
		n = max;
	memcpy(buf, io->inbuf + io->in_pos, n);
	io->in_pos += n;
	return n;
}

int io_unread(struct io *io, const void *buf, size_t n)
{
	size_t have = io_pending(io);

	if (n == 0)
		return 0;
	if (n + have > sizeof io->inbuf) {
		errno = ENOBUFS;
		return -1;
	}
	memmove(io->inbuf + n, io->inbuf + io->in_pos, have);
	memcpy(io->inbuf, buf, n);
	io->in_pos = 0;
	io->in_len = n + have;
	return 0;
}

int io_wait(struct io *io, int timeout_ms)
{
	if (io_pending(io) > 0 || io->eof)
		return 1;
	io_flush(io);
	return wait_input(io, timeout_ms);
}
