/* Bounces: one RFC 3464 delivery status notification per queue run for the
 * recipients that failed permanently, from MAILER-DAEMON with the null
 * envelope sender (so it can never bounce back), to the original envelope
 * sender, queued like any message.  None when the sender was <> or every
 * failed recipient asked NOTIFY without FAILURE (RFC 3461 4.1). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "smtp.h"

/* issue 12: set while writing a delay warning (delay_warning_time) */
static int delayed;

static int due(const struct q_rcpt *r)
{
	if (delayed)
		return r->state == Q_DEFERRED && r->kind == RCPT_REMOTE &&
		       (r->notify == 0 || (r->notify & DSN_DELAY));
	return r->state == Q_FAILED && (r->notify == 0 || (r->notify & DSN_FAILURE));
}

/* Copies the original message (after the envelope); headers only if hdrs. */
static int copy_message(struct q_writer *w, int fd, const struct q_env *e, int hdrs)
{
	char b[65536];
	off_t off = e->data_off;
	int prev_nl = 1;

	while (off < e->size) {
		size_t want = sizeof b, i;
		ssize_t n;
		if ((off_t)want > e->size - off)
			want = (size_t)(e->size - off);
		n = pread(fd, b, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (hdrs) {
			for (i = 0; i < (size_t)n; i++) {
				if (b[i] == '\n' && prev_nl)
					return queue_write(w, b, i);
				prev_nl = b[i] == '\n';
			}
		}
		if (queue_write(w, b, (size_t)n) < 0)
			return -1;
		off += n;
	}
	return 0;
}

static int report(const struct conf *c, const struct q_env *e, const char *id, struct buf *b)
{
	char date[64], arrival[64];
	size_t i;

	if (str_rfc5322_date((long long)time(NULL), date, sizeof date) < 0 ||
	    str_rfc5322_date(e->time, arrival, sizeof arrival) < 0)
		return -1;
	buf_printf(b, "From: MAILER-DAEMON@%s (Mail Delivery System)\n"
		   "To: <%s>\nSubject: %s\nDate: %s\n"
		   "Message-ID: <%s.%s@%s>\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
		   "Content-Type: multipart/report; report-type=delivery-status;\n"
		   "\tboundary=\"%s/%s\"\nContent-Transfer-Encoding: 8bit\n\n"
		   "This is a MIME-encapsulated message.\n\n",
		   c->myhostname, e->sender, delayed ? "Delayed Mail (still being retried)" :
		   "Undelivered Mail Returned to Sender", date, id, e->id, c->myhostname, id, c->myhostname);
	buf_printf(b, "--%s/%s\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
		   "This is the mail system at host %s.\n\n"
		   "%s",
		   id, c->myhostname, c->myhostname, delayed ?
		   "Your message could not be delivered for some time to one or more\n"
		   "recipients. It will be tried again; you need not send it again.\n\n" :
		   "I'm sorry to have to inform you that your message could not\n"
		   "be delivered to one or more recipients. It's attached below.\n\n");
	for (i = 0; i < e->r.n; i++)
		if (due(&e->r.v[i]))
			buf_printf(b, "<%s>: %s\n", e->r.v[i].orig[0] ? e->r.v[i].orig : e->r.v[i].addr,
				   e->r.v[i].reason);
	buf_printf(b, "\n--%s/%s\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
		   "Reporting-MTA: dns; %s\nX-Facteur-Queue-ID: %s\n", id, c->myhostname, c->myhostname, e->id);
	if (e->envid[0]) {
		/* stored as xtext (RFC 3461 4.4): the DSN carries the text */
		char t[SMTP_XTEXT_MAX];
		addr_xtext_decode(e->envid, t, sizeof t);
		buf_printf(b, "Original-Envelope-Id: %s\n", t);
	}
	buf_printf(b, "X-Facteur-Sender: rfc822; %s\nArrival-Date: %s\n", e->sender, arrival);
	for (i = 0; i < e->r.n; i++) {
		const struct q_rcpt *r = &e->r.v[i];
		char status[16];
		const char *said;
		size_t k = strcspn(r->reason, " ");
		if (!due(r))
			continue;
		if (str_copy(status, sizeof status, r->reason, k) < 0 || status[0] != (delayed ? '4' : '5'))
			str_copyz(status, sizeof status, delayed ? "4.0.0" : "5.0.0");
		buf_printf(b, "\nFinal-Recipient: rfc822; %s\n", r->addr);
		if (r->orcpt[0]) {
			char t[SMTP_XTEXT_MAX];
			addr_xtext_decode(r->orcpt, t, sizeof t);
			buf_printf(b, "Original-Recipient: %s\n", t);
		}
		else if (r->orig[0])
			buf_printf(b, "Original-Recipient: rfc822; %s\n", r->orig);
		/* issue 12: a remote server's reply (relay.c: "host H[ip] said: R") */
		said = r->kind == RCPT_REMOTE ? strstr(r->reason, " said: ") : NULL;
		if (said && !strncmp(r->reason + k, " host ", 6))
			buf_printf(b, "Action: %s\nStatus: %s\nRemote-MTA: dns; %.*s\nDiagnostic-Code: smtp; %s\n",
				   delayed ? "delayed" : "failed", status, (int)strcspn(r->reason + k + 6, "["), r->reason + k + 6, said + 7);
		else
			buf_printf(b, "Action: %s\nStatus: %s\nDiagnostic-Code: X-Facteur; %s\n",
				   delayed ? "delayed" : "failed", status, r->reason[k] ? r->reason + k + 1 : r->reason);
	}
	return buf_printf(b, "\n--%s/%s\nContent-Description: Undelivered Message%s\nContent-Type: %s\n"
			  "Content-Transfer-Encoding: 8bit\n\n",
			  id, c->myhostname, e->ret == 'H' || delayed ? " Headers" : "",
			  e->ret == 'H' || delayed ? "text/rfc822-headers" : "message/rfc822");
}

int bounce_queue(const struct conf *c, int fd, const struct q_env *e, char *id_r, size_t idlen)
{
	struct q_env be;
	struct q_writer w;
	struct buf b;
	size_t i, n = 0;
	int r = -1, rc;

	id_r[0] = '\0';
	for (i = 0; i < e->r.n; i++)
		n += due(&e->r.v[i]);
	if (n == 0 || !e->sender[0]) {
		if (n)
			log_msg(LOG_INFO, "%s: no bounce for the null sender", e->id);
		return 0;
	}
	memset(&be, 0, sizeof be);
	be.uid = -1;
	be.time = (long long)time(NULL);
	str_copyz(be.peer, sizeof be.peer, "local");
	rc = rcpt_resolve(c, e->sender, DSN_NEVER, "", 1, &be.r);
	if (rc != RCPT_OK && rc != RCPT_REMOTE) {
		log_msg(LOG_WARNING, "%s: bounce to <%s> undeliverable (%c), dropped", e->id, e->sender, rc);
		queue_env_free(&be);
		return 0;
	}
	if (queue_create(c, &w) < 0) {
		queue_env_free(&be);
		return -1;
	}
	str_copyz(be.id, sizeof be.id, w.id);
	buf_init(&b);
	if (queue_write_env(&w, &be) < 0 || queue_received(c, &be, &b) < 0 || report(c, e, w.id, &b) < 0 ||
	    queue_write(&w, b.s, b.len) < 0 || copy_message(&w, fd, e, e->ret == 'H' || delayed) < 0)
		goto out;
	buf_reset(&b);
	if (buf_printf(&b, "\n--%s/%s--\n", w.id, c->myhostname) < 0 || queue_write(&w, b.s, b.len) < 0)
		goto out;
	if (queue_commit(c, &w) < 0)
		goto out;
	log_msg(LOG_INFO, "%s: sender %s notification: %s", e->id, delayed ? "delay" : "non-delivery", w.id);
	str_copyz(id_r, idlen, w.id);
	r = 0;
out:
	if (r < 0)
		queue_abort(&w);
	buf_free(&b);
	queue_env_free(&be);
	return r;
}

/* issue 12: the delay_warning_time notice, for the deferred remote
 * recipients (headers only, as Postfix's). */
int bounce_delay_queue(const struct conf *c, int fd, const struct q_env *e, char *id_r, size_t idlen)
{
	int r;

	delayed = 1;
	r = bounce_queue(c, fd, e, id_r, idlen);
	delayed = 0;
	return r;
}
