/* The SMTP client side of one connection (RFC 5321, RFC 2920 PIPELINING,
 * RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN).
 * Runs in relay.c's unprivileged agent.  Every wait has the RFC 5321
 * 4.5.3.2 timeout of its stage (Postfix's smtp_*_timeout keys); every
 * reply is bounded (line length, line count).  Results are per recipient:
 * 2xx sent, 4xx deferred, 5xx bounced; a lost connection or a timeout is a
 * 4xx for what the server had not acknowledged. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "smtp.h"


struct reply {
	int code;                       /* 0: none (lost or timed out) */
	char text[CLIENT_TEXT_MAX];     /* "550 5.1.1 text..." (lines joined) */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_close(struct client_conn *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

/* Waits for fd readiness until deadline: 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd p;
	long long left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		p.fd = fd;
		p.events = ev;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int send_all(struct client_conn *k, const char *p, size_t n, unsigned timeout)
{
	long long deadline = now_ms() + (long long)timeout * 1000;

	while (n > 0) {
		ssize_t w = write(k->fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			/* a transfer that moves restarts the clock (smtp_data_xfer_timeout
			 * bounds one write, as Postfix's) */
			deadline = now_ms() + (long long)timeout * 1000;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN && wait_fd(k->fd, POLLOUT, deadline) > 0)
			continue;
		return -1;
	}
	return 0;
}

/* One reply line into out (cut at outlen-1): 1, 0 EOF/timeout, -1 error. */
static int get_line(struct client_conn *k, char *out, size_t outlen, long long deadline)
{
	size_t o = 0, total = 0;

	for (;;) {
		while (k->in_pos < k->in_len) {
			char ch = k->in[k->in_pos++];
			if (ch == '\n') {
				if (o > 0 && out[o - 1] == '\r')
					o--;
				out[o] = '\0';
				return 1;
			}
			if (o + 1 < outlen)
				out[o++] = ch;
			if (++total > 1000000)
				return -1;
		}
		if (wait_fd(k->fd, POLLIN, deadline) <= 0) {
			k->timedout = 1;
			return 0;
		}
		ssize_t r = read(k->fd, k->in, sizeof k->in);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return 0;
		k->in_pos = 0;
		k->in_len = (size_t)r;
	}
}

/* Reads one (multi-line) reply.  0 ok, -1 lost/timeout (rp->code 0).
 * The EHLO keywords are handed to ehlo when given. */
static int get_reply(struct client_conn *k, unsigned timeout, struct reply *rp, struct client_conn *ehlo)
{
	char line[CLIENT_REPLY_LINE_MAX];
	long long deadline = now_ms() + (long long)timeout * 1000;
	size_t tl = 0, nlines = 0;

	rp->code = 0;
	rp->text[0] = '\0';
	for (;;) {
		size_t len;
		int cont, i;
		if (get_line(k, line, sizeof line, deadline) <= 0)
			return -1;
		len = strlen(line);
		if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
		    line[2] < '0' || line[2] > '9' || (len > 3 && line[3] != ' ' && line[3] != '-'))
			return -1;      /* not SMTP: treat as a broken connection */
		cont = len > 3 && line[3] == '-';
		if (++nlines > CLIENT_REPLY_LINES_MAX)
			return -1;
		/* keep printable ASCII only: the text goes into logs and DSNs */
		for (i = 0; line[i]; i++)
			if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
				line[i] = '?';
		if (ehlo && nlines > 1) {
			const char *kw = line + 4;
			if (!strncasecmp(kw, "PIPELINING", 10) && (!kw[10] || kw[10] == ' '))
				ehlo->pipelining = 1;
			else if (!strncasecmp(kw, "8BITMIME", 8) && (!kw[8] || kw[8] == ' '))
				ehlo->eightbit = 1;
			else if (!strncasecmp(kw, "SMTPUTF8", 8) && (!kw[8] || kw[8] == ' '))
				ehlo->smtputf8 = 1;
			else if (!strncasecmp(kw, "DSN", 3) && (!kw[3] || kw[3] == ' '))
				ehlo->dsn = 1;
			else if (!strncasecmp(kw, "SIZE", 4) && (!kw[4] || kw[4] == ' '))
				ehlo->size_max = kw[4] ? strtoull(kw + 5, NULL, 10) : 0;
		}
		if (nlines == 1) {
			rp->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
			tl = (size_t)snprintf(rp->text, sizeof rp->text, "%.3s %s", line, len > 4 ? line + 4 : "");
			if (tl >= sizeof rp->text)
				tl = sizeof rp->text - 1;
		} else if (!ehlo && tl + 2 < sizeof rp->text) {
			int w = snprintf(rp->text + tl, sizeof rp->text - tl, " %s", len > 4 ? line + 4 : "");
			tl = w < 0 || (size_t)w >= sizeof rp->text - tl ? sizeof rp->text - 1 : tl + (size_t)w;
		}
		if (!cont)
			return 0;
	}
}

/* The enhanced status code of a reply, or the class default. */
static void status_of(const struct reply *rp, char *out, size_t len)
{
	const char *t = rp->text + 4;
	size_t n = strspn(t, "0123456789.");

	if (rp->code && n >= 5 && n < len && t[0] == rp->text[0] && t[1] == '.') {
		memcpy(out, t, n);
		out[n] = '\0';
		return;
	}
	snprintf(out, len, "%c.0.0", rp->code ? rp->text[0] : '4');
}

static void set_result(struct client_rcpt *r, const struct client_conn *k, const struct reply *rp,
		       const char *stage)
{
	if (r->code)
		return;
	status_of(rp, r->status, sizeof r->status);
	r->code = rp->text[0];
	if (r->code == '2')
		str_copyz(r->text, sizeof r->text, rp->text);
	else if (snprintf(r->text, sizeof r->text, "host %s[%s] said: %s (in reply to %s command)",
			  k->host, k->ip, rp->text, stage) < 0)
		r->text[0] = '\0';
}

static void set_lost(struct client_rcpt *r, size_t n, const struct client_conn *k, const char *stage)
{
	int timeout = k->timedout;
	size_t i;

	for (i = 0; i < n; i++) {
		if (r[i].code)
			continue;
		r[i].code = '4';
		str_copyz(r[i].status, sizeof r[i].status, "4.4.2");
		if (snprintf(r[i].text, sizeof r[i].text, timeout ? "conversation with %s[%s] timed out while %s" :
			     "lost connection with %s[%s] while %s", k->host, k->ip, stage) < 0)
			r[i].text[0] = '\0';
	}
}

static void set_all(struct client_rcpt *r, size_t n, char code, const char *status, const char *text)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (r[i].code)
			continue;
		r[i].code = code;
		str_copyz(r[i].status, sizeof r[i].status, status);
		str_copyz(r[i].text, sizeof r[i].text, text);
	}
}

int client_open(const struct conf *c, struct client_conn *k, const struct mx_addr *a, char *why, size_t whylen)
{
	struct reply rp;
	struct buf b;
	int fd, err = 0, one = 1;
	socklen_t el = sizeof err;
	long long deadline;

	memset(k, 0, sizeof *k);
	k->fd = -1;
	str_copyz(k->host, sizeof k->host, a->host);
	str_copyz(k->ip, sizeof k->ip, a->ip);
	k->port = ntohs(a->sa.ss_family == AF_INET ? ((const struct sockaddr_in *)&a->sa)->sin_port
						   : ((const struct sockaddr_in6 *)&a->sa)->sin6_port);
	if (snprintf(k->relay, sizeof k->relay, "%s[%s]:%d", k->host, k->ip, k->port) < 0)
		k->relay[0] = '\0';
	fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto syserr;
	if (c->smtp_bind_address[0]) {
		struct sockaddr_storage src;
		memset(&src, 0, sizeof src);
		src.ss_family = a->sa.ss_family;
		if ((a->sa.ss_family == AF_INET &&
		     inet_pton(AF_INET, c->smtp_bind_address, &((struct sockaddr_in *)&src)->sin_addr) == 1 &&
		     bind(fd, (struct sockaddr *)&src, sizeof(struct sockaddr_in)) < 0) ||
		    (a->sa.ss_family == AF_INET6 &&
		     inet_pton(AF_INET6, c->smtp_bind_address, &((struct sockaddr_in6 *)&src)->sin6_addr) == 1 &&
		     bind(fd, (struct sockaddr *)&src, sizeof(struct sockaddr_in6)) < 0))
			goto syserr;
	}
	deadline = now_ms() + (long long)c->smtp_connect_timeout * 1000;
	if (connect(fd, (const struct sockaddr *)&a->sa, a->salen) < 0) {
		if (errno != EINPROGRESS)
			goto syserr;
		if (wait_fd(fd, POLLOUT, deadline) <= 0) {
			errno = ETIMEDOUT;
			goto syserr;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			errno = err ? err : errno;
			goto syserr;
		}
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	k->fd = fd;
	if (get_reply(k, c->smtp_helo_timeout, &rp, NULL) < 0) {
		snprintf(why, whylen, "4.4.2 %s with %s[%s] while receiving the initial server greeting",
			 k->timedout ? "conversation timed out" : "lost connection", k->host, k->ip);
		goto fail;
	}
	if (rp.code / 100 != 2) {
		snprintf(why, whylen, "%c.0.0 host %s[%s] refused to talk to me: %s", rp.code / 100 == 5 ? '5' : '4',
			 k->host, k->ip, rp.text);
		goto fail;
	}
	buf_init(&b);
	if (buf_printf(&b, "EHLO %s\r\n", c->smtp_helo_name) < 0 || send_all(k, b.s, b.len, c->smtp_helo_timeout) < 0 ||
	    get_reply(k, c->smtp_helo_timeout, &rp, k) < 0) {
		buf_free(&b);
		snprintf(why, whylen, "4.4.2 %s with %s[%s] while performing the EHLO handshake",
			 k->timedout ? "conversation timed out" : "lost connection", k->host, k->ip);
		goto fail;
	}
	k->esmtp = rp.code / 100 == 2;
	if (!k->esmtp) {
		/* RFC 5321 3.2: an old server; HELO, and no extensions */
		k->pipelining = k->eightbit = k->smtputf8 = k->dsn = 0;
		k->size_max = 0;
		buf_reset(&b);
		if (buf_printf(&b, "HELO %s\r\n", c->smtp_helo_name) < 0 ||
		    send_all(k, b.s, b.len, c->smtp_helo_timeout) < 0 || get_reply(k, c->smtp_helo_timeout, &rp, NULL) < 0) {
			buf_free(&b);
			snprintf(why, whylen, "4.4.2 lost connection with %s[%s] while performing the HELO handshake",
				 k->host, k->ip);
			goto fail;
		}
		if (rp.code / 100 != 2) {
			buf_free(&b);
			snprintf(why, whylen, "%c.0.0 host %s[%s] refused to talk to me: %s",
				 rp.code / 100 == 5 ? '5' : '4', k->host, k->ip, rp.text);
			goto fail;
		}
	}
	buf_free(&b);
	k->last_used = now_ms();
	return 0;
syserr:
	snprintf(why, whylen, "4.4.1 connect to %s[%s]:%d: %s", k->host, k->ip, k->port,
		 errno == ETIMEDOUT ? "Connection timed out" : strerror(errno));
	if (fd >= 0)
		close(fd);
	k->fd = -1;
	return -1;
fail:
	conn_close(k);
	return -1;
}

static int has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static void notify_param(struct buf *b, unsigned n)
{
	const char *sep = "";

	if (!n)
		return;
	buf_adds(b, " NOTIFY=");
	if (n & DSN_NEVER) {
		buf_adds(b, "NEVER");
		return;
	}
	if (n & DSN_SUCCESS) {
		buf_adds(b, "SUCCESS");
		sep = ",";
	}
	if (n & DSN_FAILURE) {
		buf_printf(b, "%sFAILURE", sep);
		sep = ",";
	}
	if (n & DSN_DELAY)
		buf_printf(b, "%sDELAY", sep);
}

/* The message from the queue file: LF to CRLF, leading dots doubled. */
static int send_body(const struct conf *c, struct client_conn *k, const struct client_msg *m)
{
	static char in[65536];
	struct buf out;
	long long off = m->data_off;
	int bol = 1, r = -1;

	buf_init(&out);
	while (off < m->size) {
		size_t want = sizeof in, i;
		ssize_t n;
		if ((long long)want > m->size - off)
			want = (size_t)(m->size - off);
		n = pread(m->fd, in, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		buf_reset(&out);
		for (i = 0; i < (size_t)n; i++) {
			if (bol && in[i] == '.' && buf_addc(&out, '.') < 0)
				goto out;
			if (in[i] == '\n' && buf_addc(&out, '\r') < 0)
				goto out;
			if (buf_addc(&out, in[i]) < 0)
				goto out;
			bol = in[i] == '\n';
		}
		if (send_all(k, out.s, out.len, c->smtp_data_xfer_timeout) < 0) {
			r = -2;
			goto out;
		}
		off += n;
	}
	r = send_all(k, bol ? ".\r\n" : "\r\n.\r\n", bol ? 3 : 5, c->smtp_data_xfer_timeout) < 0 ? -2 : 0;
out:
	buf_free(&out);
	return r;
}

int client_send(const struct conf *c, struct client_conn *k, const struct client_msg *m, struct client_rcpt *r,
		size_t n, int *early_r)
{
	struct buf b;
	struct reply rp;
	size_t i, ok = 0;
	unsigned long long wire = (unsigned long long)(m->size - m->data_off);
	int utf8 = has_8bit(m->sender), ret = 0;
	char why[CLIENT_TEXT_MAX];

	*early_r = 0;
	for (i = 0; i < n; i++)
		utf8 |= has_8bit(r[i].addr);
	if (k->size_max && wire > k->size_max) {
		if (snprintf(why, sizeof why, "message size %llu exceeds size limit %llu of server %s[%s]", wire,
			     k->size_max, k->host, k->ip) < 0)
			why[0] = '\0';
		set_all(r, n, '5', "5.3.4", why);
		return 0;
	}
	if (utf8 && !k->smtputf8) {
		if (snprintf(why, sizeof why, "SMTPUTF8 is required, but was not offered by host %s[%s]", k->host,
			     k->ip) < 0)
			why[0] = '\0';
		set_all(r, n, '5', "5.6.7", why);
		return 0;
	}
	buf_init(&b);
	buf_printf(&b, "MAIL FROM:<%s>", m->sender);
	if (k->size_max || (k->esmtp && k->pipelining))
		buf_printf(&b, " SIZE=%llu", wire);
	if (k->eightbit && m->body == '8')
		buf_adds(&b, " BODY=8BITMIME");
	if (k->smtputf8 && m->utf8)
		buf_adds(&b, " SMTPUTF8");
	if (k->dsn && m->ret)
		buf_adds(&b, m->ret == 'H' ? " RET=HDRS" : " RET=FULL");
	if (k->dsn && m->envid[0])
		buf_printf(&b, " ENVID=%s", m->envid);
	buf_adds(&b, "\r\n");
	if (!k->pipelining) {
		if (send_all(k, b.s, b.len, c->smtp_mail_timeout) < 0 || get_reply(k, c->smtp_mail_timeout, &rp, NULL) < 0) {
			*early_r = k->txns > 0;
			set_lost(r, n, k, "sending MAIL FROM");
			goto broken;
		}
		if (rp.code / 100 != 2) {
			for (i = 0; i < n; i++)
				set_result(&r[i], k, &rp, "MAIL FROM");
			goto rset;
		}
		buf_reset(&b);
	}
	for (i = 0; i < n; i++) {
		buf_printf(&b, "RCPT TO:<%s>", r[i].addr);
		if (k->dsn) {
			notify_param(&b, r[i].notify);
			if (r[i].orcpt[0])
				buf_printf(&b, " ORCPT=%s", r[i].orcpt);
		}
		buf_adds(&b, "\r\n");
		if (!k->pipelining) {
			if (send_all(k, b.s, b.len, c->smtp_rcpt_timeout) < 0 ||
			    get_reply(k, c->smtp_rcpt_timeout, &rp, NULL) < 0) {
				set_lost(r, n, k, "sending RCPT TO");
				goto broken;
			}
			buf_reset(&b);
			if (rp.code / 100 == 2)
				ok++;
			else
				set_result(&r[i], k, &rp, "RCPT TO");
		}
	}
	if (k->pipelining) {
		/* RFC 2920: MAIL, every RCPT and DATA in one write */
		buf_adds(&b, "DATA\r\n");
		if (send_all(k, b.s, b.len, c->smtp_mail_timeout) < 0 || get_reply(k, c->smtp_mail_timeout, &rp, NULL) < 0) {
			*early_r = k->txns > 0;
			set_lost(r, n, k, "sending MAIL FROM");
			goto broken;
		}
		if (rp.code / 100 != 2)
			for (i = 0; i < n; i++)
				set_result(&r[i], k, &rp, "MAIL FROM");
		for (i = 0; i < n; i++) {
			struct reply rr;
			if (get_reply(k, c->smtp_rcpt_timeout, &rr, NULL) < 0) {
				set_lost(r, n, k, "sending RCPT TO");
				goto broken;
			}
			if (rr.code / 100 == 2 && rp.code / 100 == 2)
				ok++;
			else
				set_result(&r[i], k, &rr, "RCPT TO");
		}
		if (get_reply(k, c->smtp_data_init_timeout, &rp, NULL) < 0) {
			set_lost(r, n, k, "sending DATA command");
			goto broken;
		}
		if (rp.code != 354) {
			for (i = 0; i < n; i++)
				set_result(&r[i], k, &rp, "DATA");
			goto rset;
		}
		if (ok == 0) {
			/* 354 with nobody to deliver to: end the empty message */
			if (send_all(k, ".\r\n", 3, c->smtp_data_xfer_timeout) < 0 ||
			    get_reply(k, c->smtp_data_done_timeout, &rp, NULL) < 0)
				goto broken;
			goto rset;
		}
	} else {
		if (ok == 0)
			goto rset;
		if (send_all(k, "DATA\r\n", 6, c->smtp_data_init_timeout) < 0 ||
		    get_reply(k, c->smtp_data_init_timeout, &rp, NULL) < 0) {
			set_lost(r, n, k, "sending DATA command");
			goto broken;
		}
		if (rp.code != 354) {
			for (i = 0; i < n; i++)
				set_result(&r[i], k, &rp, "DATA");
			goto rset;
		}
	}
	ret = send_body(c, k, m);
	if (ret == -1) {
		/* our own read error: nothing is lost, the transaction must fail */
		set_all(r, n, '4', "4.3.0", "cannot read the queue file");
		goto broken;
	}
	if (ret < 0 || get_reply(k, c->smtp_data_done_timeout, &rp, NULL) < 0) {
		set_lost(r, n, k, "sending message body");
		goto broken;
	}
	for (i = 0; i < n; i++)
		set_result(&r[i], k, &rp, "end of DATA");
	k->txns++;
	k->last_used = now_ms();
	buf_free(&b);
	return 0;
rset:
	buf_free(&b);
	k->txns++;
	k->last_used = now_ms();
	return client_rset(c, k);
broken:
	buf_free(&b);
	conn_close(k);
	return -1;
}

int client_rset(const struct conf *c, struct client_conn *k)
{
	struct reply rp;

	if (send_all(k, "RSET\r\n", 6, c->smtp_helo_timeout) < 0 || get_reply(k, 20, &rp, NULL) < 0 ||
	    rp.code / 100 != 2) {
		conn_close(k);
		return -1;
	}
	k->last_used = now_ms();
	return 0;
}

void client_quit(const struct conf *c, struct client_conn *k)
{
	struct reply rp;
	unsigned t = c->smtp_quit_timeout < 5 ? c->smtp_quit_timeout : 5;

	if (k->fd < 0)
		return;
	if (send_all(k, "QUIT\r\n", 6, t) == 0)
		get_reply(k, t, &rp, NULL);
	conn_close(k);
}
