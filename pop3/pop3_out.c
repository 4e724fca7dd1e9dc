/* RETR and TOP replies (RFC 1939 sections 3 and 7): libmbox streams the
 * message as clients see it (metadata headers hidden, CRLF line ends); here
 * we add dot-stuffing, TOP's line cut and the final ".". */
#include <errno.h>
#include <string.h>
#include "log.h"
#include "pop3.h"

struct pop3_out {
	struct pop3 *s;
	uint64_t size;     /* for the "+OK n octets" line */
	int top;           /* TOP: "+OK" without a count */
	int started;       /* the "+OK" line is out: no clean -ERR any more */
	int bol;           /* at the beginning of a line */
	int counting;      /* counting body lines (TOP) */
	uint32_t left;     /* body lines still to send */
	int done;          /* stopped on purpose after the last TOP line */
};

static void pop3_out_start(struct pop3_out *o)
{
	if (o->started)
		return;
	o->started = 1;
	if (o->top)
		pop3_ok(o->s, "Top of message follows");
	else
		pop3_ok(o->s, "%llu octets", (unsigned long long)o->size);
}

static int pop3_out_sink(void *arg, const char *p, size_t n)
{
	struct pop3_out *o = arg;
	struct io *io = o->s->io;

	pop3_out_start(o);
	while (n > 0) {
		const char *nl;
		size_t k;

		if (o->bol && p[0] == '.')
			io_put(io, ".", 1); /* byte-stuff the termination octet */
		nl = memchr(p, '\n', n);
		k = nl ? (size_t)(nl - p) + 1 : n;
		io_put_nonul(io, p, k);
		o->bol = nl != NULL;
		p += k;
		n -= k;
		if (nl && o->counting && --o->left == 0) {
			o->done = 1;
			return -1;
		}
	}
	return io->werr ? -1 : 0;
}

/* Streams one part; 0 done, -1 failed (errno). */
static int pop3_out_part(struct pop3_out *o, struct mbox *mb, const struct mbox_msg *m, int parts)
{
	if (mbox_msg_stream_locked(mb, m, parts, pop3_out_sink, o) == 0 || o->done)
		return 0;
	if (o->s->io->werr)
		errno = EPIPE;
	return -1;
}

static int pop3_out_msg(struct pop3_out *o, struct mbox *mb, const struct mbox_msg *m, long lines)
{
	if (lines < 0)
		return pop3_out_part(o, mb, m, MBOX_PART_ALL);
	if (pop3_out_part(o, mb, m, MBOX_PART_HEADER) < 0)
		return -1;
	if (lines == 0 || m->body_size == 0)
		return 0;
	o->counting = 1;
	o->left = (uint32_t)lines;
	return pop3_out_part(o, mb, m, MBOX_PART_BODY);
}

int pop3_send_msg(struct pop3 *s, size_t i, long lines)
{
	struct pop3_box *b = s->box;
	struct pop3_msg *p = &b->msgs[i];
	struct pop3_out o;
	int r, e;

	memset(&o, 0, sizeof o);
	o.s = s;
	o.size = p->size;
	o.top = lines >= 0;
	o.bol = 1;
	/* under the read lock the file cannot change: check first that our
	 * offsets still hold (mbox-interop.md 7.9), else find it by UID */
	if (mbox_lock(&b->mb, MBOX_LOCK_READ, conf_lock_ms(s->c, POP3_LOCK_TIMEOUT_MS)) < 0) {
		e = errno;
		log_msg(LOG_WARNING, "user %s: RETR: read lock: %s", s->authname, strerror(e));
		if (e == EAGAIN)
			return pop3_err(s, "[IN-USE] Mailbox is locked, try again later."), -1;
		return pop3_err(s, "[SYS/TEMP] Could not read message %zu.", i + 1), -1;
	}
	r = pop3_box_resync(b);
	if (r == 0 && p->idx >= 0)
		r = pop3_out_msg(&o, &b->mb, &b->sc.msgs[p->idx], lines);
	e = errno;
	mbox_unlock(&b->mb);
	if (r == 0 && p->idx >= 0) {
		pop3_out_start(&o);
		if (!o.bol)
			io_put(s->io, "\r\n", 2);
		io_put(s->io, ".\r\n", 3);
		return 0;
	}
	if (o.started) {
		log_msg(LOG_ERR, "user %s: reading message uid %u failed midway: %s", s->authname,
			(unsigned)p->uid, strerror(e));
		return -2;
	}
	if (p->idx < 0 || e == ESTALE) {
		log_msg(LOG_NOTICE, "user %s: message uid %u was removed by another program", s->authname,
			(unsigned)p->uid);
		return pop3_err(s, "Message %zu was removed by another program.", i + 1), -1;
	}
	log_msg(LOG_ERR, "user %s: reading message uid %u: %s", s->authname, (unsigned)p->uid, strerror(e));
	return pop3_err(s, "[SYS/TEMP] Could not read message %zu.", i + 1), -1;
}
