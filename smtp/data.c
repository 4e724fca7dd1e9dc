/* Message bodies: DATA (RFC 5321 4.1.1.4: a line holding only "." ends it,
 * a leading dot is removed, 4.5.2) and BDAT chunks (RFC 3030: raw bytes,
 * no stuffing).  Lines end in CRLF or a bare LF (accepted, stored as LF),
 * but against SMTP smuggling (CVE-2023-51764: <LF>.<CR><LF> read as the end
 * by one server and as content by the next) only <CR><LF>.<CR><LF> ends
 * DATA, or <LF>.<LF> from a client excluded from smtpd_forbid_bare_newline
 * that has sent no CR at all (nc typed by hand); mixed endings never do;
 * the body reaches the parent in LF form, in records of up to 64 KiB.  A
 * message over message_size_limit is read to its end and dropped. */
#include <errno.h>
#include <string.h>
#include "smtp.h"

struct sink {
	int fd;
	int off;                 /* discarding */
	size_t len;
	char b[SMTP_TEXT_CHUNK];
};

static int sink_flush(struct sink *s)
{
	int r = 0;

	if (s->len && !s->off)
		r = rec_put(s->fd, REC_DATA, s->b, s->len);
	s->len = 0;
	return r;
}

static int sink_add(struct sink *s, const char *p, size_t n)
{
	if (s->off)
		return 0;
	while (n > 0) {
		size_t k = sizeof s->b - s->len;
		if (k > n)
			k = n;
		memcpy(s->b + s->len, p, k);
		s->len += k;
		p += k;
		n -= k;
		if (s->len == sizeof s->b && sink_flush(s) < 0)
			return -1;
	}
	return 0;
}

/* Does this lone "." end DATA?  prev: how the line before it ended. */
static int is_end(const struct io *io, int prev, int barelf)
{
	if (io->eol == IO_EOL_CRLF && prev == IO_EOL_CRLF)
		return 1;
	return barelf == CONF_BARELF_NO && !io->saw_cr && io->eol == IO_EOL_LF && prev == IO_EOL_LF;
}

int data_read_dot(struct io *io, int recfd, uint64_t limit, int barelf, uint64_t *size_r)
{
	static struct sink s;
	static char line[SMTP_TEXT_CHUNK];
	uint64_t size = 0;
	int bol = 1, r, prev = io->eol;
	size_t n;

	s.fd = recfd;
	s.off = 0;
	s.len = 0;
	for (;;) {
		const char *p = line;
		r = io_getpart(io, line, sizeof line, &n);
		if (r != IO_OK && r != IO_PART)
			return -1;
		if (r == IO_OK && io->eol == IO_EOL_NONE)
			return -1;           /* EOF inside the body */
		if (r == IO_OK && io->eol == IO_EOL_LF && barelf == CONF_BARELF_STRICT)
			return DATA_BARE_LF;
		if (bol && r == IO_OK && n == 1 && line[0] == '.' && is_end(io, prev, barelf))
			break;
		if (r == IO_OK)
			prev = io->eol;
		if (bol && n > 0 && line[0] == '.') {
			p++;
			n--;
		}
		size += n + (r == IO_OK ? (io->eol == IO_EOL_CRLF ? 2 : 1) : 0);
		if (size > limit)
			s.off = 1;
		if (sink_add(&s, p, n) < 0 || (r == IO_OK && sink_add(&s, "\n", 1) < 0))
			return -1;
		bol = r == IO_OK;
	}
	if (sink_flush(&s) < 0)
		return -1;
	*size_r = size;
	return s.off ? 1 : 0;
}

int data_read_chunk(struct io *io, int recfd, uint64_t n, uint64_t limit, struct bdat_state *st)
{
	static struct sink s;
	static char in[SMTP_TEXT_CHUNK];

	s.fd = recfd;
	s.len = 0;
	st->size += n;
	if (st->size > limit)
		st->too_big = 1;
	s.off = st->too_big;
	while (n > 0) {
		size_t want = n > sizeof in ? sizeof in : (size_t)n, got = 0, i, start;
		int r = io_read(io, in, want, &got);
		if (r != IO_OK || got != want)
			return -1;
		n -= got;
		if (s.off)
			continue;
		/* CRLF -> LF, also across chunk boundaries */
		start = 0;
		for (i = 0; i < got; i++) {
			if (st->cr) {
				st->cr = 0;
				if (in[i] != '\n' && sink_add(&s, "\r", 1) < 0)
					return -1;
			}
			if (in[i] == '\r') {
				if (sink_add(&s, in + start, i - start) < 0)
					return -1;
				st->cr = 1;
				start = i + 1;
			}
		}
		if (sink_add(&s, in + start, got - start) < 0)
			return -1;
	}
	return sink_flush(&s);
}

int data_bdat_finish(int recfd, struct bdat_state *st)
{
	if (st->cr && !st->too_big) {
		st->cr = 0;
		return rec_put(recfd, REC_DATA, "\r", 1);
	}
	return 0;
}
