/* The root side of smtpd.  It never sees the client: it reads the child's
 * records, resolves recipients (the child cannot read the aliases or the
 * passwd-file from its chroot), writes the queue file and answers with the
 * queue id.  Records are trusted for nothing: every length is bounded and
 * every address checked again before it is stored.  EOF or an abort before
 * the end marker removes the temp file: nothing half-queued. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "smtp.h"
#include "tls.h"

struct txn {
	int open;               /* MAIL seen */
	int writing;            /* queue file started */
	int werr;               /* a write failed: answer failure at the end */
	int started;            /* message bytes written */
	struct q_env e;
	struct q_writer w;
	size_t nrcpt;           /* RCPT commands accepted */
};

static void txn_reset(struct txn *t, int keep_helo)
{
	char helo[sizeof t->e.helo], with[sizeof t->e.with];

	if (t->writing)
		queue_abort(&t->w);
	str_copyz(helo, sizeof helo, t->e.helo);
	str_copyz(with, sizeof with, t->e.with);
	queue_env_free(&t->e);
	memset(t, 0, sizeof *t);
	t->w.fd = -1;
	t->e.uid = -1;
	if (keep_helo) {
		str_copyz(t->e.helo, sizeof t->e.helo, helo);
		str_copyz(t->e.with, sizeof t->e.with, with);
	}
}

/* RFC 3848: ESMTPS, ESMTPA, ESMTPSA (and UTF8SMTP's, RFC 6531) */
static void with_suffix(const struct recv_ctx *x, struct q_env *e)
{
	size_t n = strlen(e->with);

	str_copyz(e->auth, sizeof e->auth, x->authname);
	if (!n || strstr(e->with, "SMTP") != e->with + n - 4)
		return;
	if (x->tls && n + 1 < sizeof e->with)
		e->with[n++] = 'S';
	if (x->authname[0] && n + 1 < sizeof e->with)
		e->with[n++] = 'A';
	e->with[n] = '\0';
}

static int start_file(struct recv_ctx *x, struct txn *t)
{
	struct buf b;
	int r;

	if (queue_create(x->c, &t->w) < 0)
		return -1;
	t->writing = 1;
	str_copyz(t->e.id, sizeof t->e.id, t->w.id);
	str_copyz(t->e.peer, sizeof t->e.peer, x->peer->addr);
	t->e.uid = x->local_uid;
	if (t->e.utf8 && !strcmp(t->e.with, "ESMTP"))
		str_copyz(t->e.with, sizeof t->e.with, "UTF8SMTP");
	with_suffix(x, &t->e);
	buf_init(&b);
	r = queue_write_env(&t->w, &t->e) < 0 || queue_received(x->c, &t->e, &b) < 0 ||
	    queue_write(&t->w, b.s, b.len) < 0 ? -1 : 0;
	buf_free(&b);
	return r;
}

/* Postfix's reject line, so that pflogsumm and fail2ban's postfix filter
 * (t/89) read it: "ID: reject: RCPT from unknown[ip]: 554 5.7.1 <a>: Relay
 * access denied; from=<s> to=<a> proto=ESMTP helo=<h>", the reply the
 * session child sends for the same verdict (session.c). */
static void log_reject(const struct recv_ctx *x, const struct txn *t, const char *a, char verdict)
{
	const char *code = "451 4.3.0", *what = "Temporary lookup failure";

	switch (verdict) {
	case RCPT_UNKNOWN:
		code = "550 5.1.1";
		what = "Recipient address rejected: User unknown in local recipient table";
		break;
	case RCPT_DENIED:
		code = "554 5.7.1";
		what = "Relay access denied";
		break;
	case RCPT_TOOMANY:
		code = "452 4.5.3";
		what = "Error: too many recipients";
		break;
	}
	log_msg(LOG_INFO, "reject: RCPT from unknown[%s]: %s <%s>: %s; from=<%s> to=<%s> proto=%s helo=<%s>",
		x->peer->addr, code, a, what, t->e.sender, a, t->e.with[0] == 'E' ? "ESMTP" : "SMTP", t->e.helo);
}

static int on_rcpt(struct recv_ctx *x, struct txn *t, const char *p, size_t n)
{
	const char *addr = p + 1, *orcpt, *z;
	char code[2] = { RCPT_TEMP, 0 };
	size_t alen;

	/* notify(1) addr \0 orcpt */
	z = n > 1 ? memchr(p + 1, '\0', n - 1) : NULL;
	if (!t->open || !z || t->writing)
		return -1;
	alen = (size_t)(z - addr);
	orcpt = z + 1;
	if (alen == 0 || alen >= SMTP_ADDR_MAX || !addr_storable(addr, alen) ||
	    (size_t)(p + n - orcpt) >= SMTP_XTEXT_MAX || memchr(orcpt, '\0', (size_t)(p + n - orcpt)))
		return -1;
	{
		char a[SMTP_ADDR_MAX], o[SMTP_XTEXT_MAX];
		str_copy(a, sizeof a, addr, alen);
		str_copy(o, sizeof o, orcpt, (size_t)(p + n - orcpt));
		if (t->nrcpt >= SMTP_RCPT_MAX)
			code[0] = RCPT_TOOMANY;
		else
			code[0] = (char)rcpt_resolve(x->c, a, (unsigned char)p[0] & 0xf, o, x->relay_ok, &t->e.r);
		if (code[0] == RCPT_OK || code[0] == RCPT_REMOTE)
			t->nrcpt++;
		else
			log_reject(x, t, a, code[0]);
	}
	return x->outfd < 0 ? 0 : rec_put(x->outfd, REC_VERDICT, code, 1);
}

static int on_end(struct recv_ctx *x, struct txn *t)
{
	char id[Q_ID_MAX];
	size_t i;
	int r;

	if (!t->open || t->e.r.n == 0)
		return -1;
	if (!t->writing && !t->werr && start_file(x, t) < 0)
		t->werr = errno ? errno : EIO;
	if (t->werr || queue_commit(x->c, &t->w) < 0) {
		int e = t->werr ? t->werr : errno;
		char why = e == ENOSPC || e == EDQUOT ? FAIL_NOSPACE : FAIL_QUEUE;
		errno = e;
		log_msg(LOG_ERR, "queue file write error in %s: %m (queue_directory must be owned by root "
			"with tmp/ and q/ mode 700, on a file system with room)", x->c->queue_directory);
		/* the temp file goes: nothing half-queued */
		t->writing = t->w.fd >= 0;
		txn_reset(t, 1);
		/* a file (maildrop): -2, not its fault, it is kept for a retry */
		return x->outfd < 0 ? -2 : rec_put(x->outfd, REC_FAIL, &why, 1);
	}
	t->writing = 0;
	str_copyz(id, sizeof id, t->w.id);
	/* a local submitter may name any sender (-f, as Postfix allows): the
	 * log and the Received header name the real uid (Postfix pickup) */
	if (x->local_uid >= 0)
		log_msg(LOG_INFO, "%s: uid=%lld from=<%s>, size=%llu, nrcpt=%zu, client=%s", id, x->local_uid,
			t->e.sender, (unsigned long long)t->w.bytes, t->nrcpt, x->peer->addr);
	else
		log_msg(LOG_INFO, "%s: from=<%s>, size=%llu, nrcpt=%zu, client=%s%s%s%s", id, t->e.sender,
			(unsigned long long)t->w.bytes, t->nrcpt, x->peer->addr, x->tls ? ", tls" : "",
			x->authname[0] ? ", sasl_username=" : "", x->authname);
	for (i = 0; i < t->e.r.n; i++)
		log_msg(LOG_DEBUG, "%s: to=<%s> orig_to=<%s>", id, t->e.r.v[i].addr, t->e.r.v[i].orig);
	txn_reset(t, 1);
	x->queued++;
	r = x->outfd >= 0 ? rec_put(x->outfd, REC_QUEUED, id, strlen(id)) : 0;
	if (x->on_queued)
		x->on_queued(x, id);
	return r;
}

static int on_mailp(struct txn *t, const char *p, size_t n)
{
	if (!t->open || t->writing || n < 3 || n - 3 >= sizeof t->e.envid || !addr_clean(p + 3, n - 3))
		return -1;
	t->e.ret = (p[0] == 'F' || p[0] == 'H') ? p[0] : 0;
	t->e.body = (p[1] == '7' || p[1] == '8') ? p[1] : 0;
	t->e.utf8 = p[2] == '1';
	str_copy(t->e.envid, sizeof t->e.envid, p + 3, n - 3);
	return 0;
}

/* "Name:" at the start of the first line (RFC 5322 2.2 field name), or an
 * empty line (no headers at all, the body follows). */
static int starts_with_header(const char *p, size_t n)
{
	size_t i;

	if (p[0] == '\n')
		return 1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == ':')
			return i > 0;
		if (ch < 33 || ch > 126)
			return 0;
	}
	return 0;
}

static int on_data(struct recv_ctx *x, struct txn *t, const char *p, size_t n)
{
	if (!t->open || t->e.r.n == 0)
		return -1;
	if (t->werr)
		return 0;
	if (!t->writing && start_file(x, t) < 0) {
		t->werr = errno ? errno : EIO;
		return 0;
	}
	/* the child enforces message_size_limit; this is a backstop */
	if (t->w.bytes + n > x->c->message_size_limit + 2 * SMTP_REC_MAX + 65536) {
		t->werr = EFBIG;
		return 0;
	}
	/* a message that does not start with a header gets the empty line
	 * that ends our Received header's block (as Postfix's cleanup does) */
	if (!t->started && n > 0 && !starts_with_header(p, n) && queue_write(&t->w, "\n", 1) < 0)
		t->werr = errno ? errno : EIO;
	t->started = 1;
	if (!t->werr && queue_write(&t->w, p, n) < 0)
		t->werr = errno ? errno : EIO;
	return 0;
}

/* ETRN: a request for the single queue runner, at most once a session,
 * and only for a client the parent itself finds may relay (the child's
 * check is not trusted).  ETRN [@|#]domain: that domain's deferred
 * recipients are due in the run it requests (issue 12). */
static void on_etrn(struct recv_ctx *x, const char *p, size_t n)
{
	char d[256] = "";

	if (!x->relay_ok) {
		log_msg(LOG_WARNING, "ETRN from %s refused: not in mynetworks", x->peer->addr);
		return;
	}
	if (x->etrn_done)
		return;
	x->etrn_done = 1;
	if (n > 0 && (p[0] == '@' || p[0] == '#'))
		p++, n--;
	if (n > 0 && n < sizeof d && addr_domain_ok(p, n) && str_copy(d, sizeof d, p, n) == 0)
		retry_force(0, d, NULL);
	else
		d[0] = '\0';
	log_msg(LOG_INFO, "ETRN %s from %s: queue run requested", d[0] ? d : "(no domain)", x->peer->addr);
	if (x->on_etrn)
		x->on_etrn(x);
}

/* Records a maildrop file may hold: an envelope and its message. */
static int maildrop_ok(int type)
{
	return type == REC_MAIL || type == REC_MAILP || type == REC_RCPT || type == REC_DATA ||
	       type == REC_END;
}

int receive_loop(struct recv_ctx *x, int fd)
{
	static char p[SMTP_REC_MAX + 1];
	struct txn t;
	size_t n;
	int type, r, ret = -1;

	memset(&t, 0, sizeof t);
	txn_reset(&t, 0);
	rcpt_set_self(x->peer->local_addr);
	for (;;) {
		if (x->on_wait)
			x->on_wait(x, fd);
		r = rec_get(fd, &type, p, SMTP_REC_MAX, &n);
		if (r == 0) {
			ret = 0;
			break;
		}
		if (r < 0) {
			x->proto_err = 1;
			break;
		}
		if (x->on_record)
			x->on_record(x);
		if (x->maildrop && !maildrop_ok(type))
			goto bad;
		switch (type) {
		case REC_HELO:
			if (n < 1 || n > sizeof t.e.helo)
				goto bad;
			txn_reset(&t, 0);
			str_copy(t.e.helo, sizeof t.e.helo, p + 1, n - 1);
			str_copyz(t.e.with, sizeof t.e.with, p[0] == 'E' ? "ESMTP" : "SMTP");
			continue;
		case REC_MAIL:
			if (n >= SMTP_ADDR_MAX || (n && !addr_storable(p, n)))
				goto bad;
			txn_reset(&t, 1);
			t.open = 1;
			t.e.time = (long long)time(NULL);
			str_copy(t.e.sender, sizeof t.e.sender, p, n);
			continue;
		case REC_MAILP:
			if (on_mailp(&t, p, n) < 0)
				goto bad;
			continue;
		case REC_RCPT:
			if (on_rcpt(x, &t, p, n) < 0)
				goto bad;
			continue;
		case REC_DATA:
			if (on_data(x, &t, p, n) < 0)
				goto bad;
			continue;
		case REC_END:
			r = on_end(x, &t);
			if (r == -2)
				goto out;
			if (r < 0)
				goto bad;
			continue;
		case REC_ABORT:
			txn_reset(&t, 1);
			continue;
		case REC_AUTH:
			if (x->outfd < 0 || sasl_check(x, p, n) < 0)
				goto bad;
			continue;
		case REC_STARTTLS:
			/* the client socket follows; then the child ends */
			if (n != 0 || x->tls || x->tls_fd >= 0 || x->outfd < 0 ||
			    (x->tls_fd = tls_recv_fd(fd)) < 0)
				goto bad;
			continue;
		case REC_ETRN:
			on_etrn(x, p, n);
			if (x->outfd >= 0 && rec_put(x->outfd, REC_QUEUED, "", 0) < 0)
				goto bad;
			continue;
		}
bad:
		log_msg(LOG_ERR, "protocol error from the %s (record %d)",
			x->maildrop ? "maildrop file" : "session child", type);
		x->proto_err = 1;
		break;
	}
out:
	txn_reset(&t, 0);
	return ret;
}
