/* Buffered client I/O shared by smtpd, pop3d and imapd.
 * Input: a bounded line reader.  Output: buffered, flushed only when the
 * program is about to block on input (or the buffer is large), so a batch of
 * replies leaves in one write(2) and pipelined input is answered in order. */
#ifndef FACTEUR_IO_H
#define FACTEUR_IO_H

#include <stddef.h>
#include "bounds.h"
#include <stdarg.h>


/* io_getline / io_read outcomes */
#define IO_OK 1        /* a line (or bytes) was returned */
#define IO_EOF 0       /* the client closed; nothing more to read */
#define IO_ERR (-1)    /* read error (errno set) */
#define IO_LONG (-2)   /* line longer than max: reported, rest discarded to LF */
#define IO_TIMEOUT (-3) /* nothing arrived within the idle timeout */
#define IO_PART (-4)   /* io_getpart only: buffer full, the line goes on */

/* how the last line ended */
#define IO_EOL_CRLF 0
#define IO_EOL_LF 1    /* bare LF */
#define IO_EOL_NONE 2  /* EOF before any LF (last line, no terminator) */

struct io {
	int fd_in, fd_out;
	int timeout_ms;          /* idle limit for one wait for input; <=0: none */
	/* deadlines (monotonic ms, 0 none): a whole line must arrive within
	 * timeout_ms (a client sending a byte per timeout holds no slot for
	 * ever: Postfix smtpd_per_record_deadline); io_deadline bounds a whole
	 * body (DATA, APPEND, a literal), extended by rate bytes/s received
	 * (Postfix smtpd_min_data_rate) */
	long long line_until;
	long long hard_until;
	unsigned rate;
	int saw_cr;              /* a CR was in the input consumed so far */
	int eol;                 /* IO_EOL_* of the line last returned */
	int eof;                 /* input reached EOF */
	int werr;                /* a write failed: output is dropped from now on */
	size_t in_pos, in_len;   /* unread input is inbuf[in_pos, in_len) */
	size_t out_len;
	unsigned long long bytes_in, bytes_out;
	int (*trace)(void *arg, int dir, const char *p, size_t n); /* optional */
	void *trace_arg;
	unsigned char inbuf[IO_INBUF];
	unsigned char outbuf[IO_OUTBUF];
};

/* io.c */
void io_init(struct io *io, int fd_in, int fd_out, int timeout_sec);
/* Reads one line into buf (at most max bytes, terminator not stored, no NUL
 * added).  CRLF and bare LF end a line; a CR not followed by LF is data.
 * *len_r is the length; the line may contain NUL bytes (callers check).
 * IO_LONG: the line was over max; it is discarded up to and including its LF
 * and *len_r is 0.  Flushes output before it blocks. */
int io_getline(struct io *io, char *buf, size_t max, size_t *len_r);
/* Like io_getline, but a line longer than max comes back in pieces: IO_PART
 * for each full piece, IO_OK for the last one (with io->eol set).  For DATA
 * and literal-free bodies where long lines are legal. */
int io_getpart(struct io *io, char *buf, size_t max, size_t *len_r);
/* Bounds everything read from now on to sec seconds plus one second per
 * rate bytes received (rate 0: no credit); sec <= 0 removes the bound.
 * Reads past it return IO_TIMEOUT. */
void io_deadline(struct io *io, int sec, unsigned rate);
/* Reads exactly n raw bytes (an IMAP literal, a BDAT chunk) unless EOF or
 * timeout comes first; *got_r tells how many arrived. */
int io_read(struct io *io, void *buf, size_t n, size_t *got_r);
/* Bytes already received and not yet consumed. */
size_t io_pending(const struct io *io);
/* Hands back the unread input (for passing pipelined input across a
 * privilege boundary) and empties the buffer. */
size_t io_take_pending(struct io *io, void *buf, size_t max);
/* Puts bytes in front of the unread input (the other side of the above). */
int io_unread(struct io *io, const void *buf, size_t n);
/* Waits until input is readable or timeout_ms passes (for IDLE); flushes
 * first.  1 readable, 0 timeout, -1 error. */
int io_wait(struct io *io, int timeout_ms);

int io_put(struct io *io, const void *buf, size_t n);
int io_puts(struct io *io, const char *s);
/* io_put with every NUL sent as 0x80, same length (Dovecot's nonuls
 * stream): for message bytes in IMAP literals and POP3, where NUL is
 * forbidden (RFC 3501 4.3, RFC 1939 3). */
int io_put_nonul(struct io *io, const void *buf, size_t n);
int io_printf(struct io *io, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int io_vprintf(struct io *io, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* write(2) of all n bytes, EINTR retried, no buffering: 0 or -1. */
int io_write_all(int fd, const void *buf, size_t n);
/* Writes all buffered output.  0 or -1 (the peer is gone). */
int io_flush(struct io *io);

#endif
