/* ENVELOPE (RFC 3501 7.4.2): date, subject, from, sender, reply-to, to,
 * cc, bcc, in-reply-to, message-id.  Sender and Reply-To default to From
 * when absent, as the RFC requires. */
#include "mime_int.h"

#include <string.h>

struct addrout {
	struct buf *out;
	int n;
};

static int put_addr(void *ctx, const struct rfc822_addr *a)
{
	struct addrout *ao = ctx;
	struct buf *o = ao->out;

	if (buf_addc(o, ao->n++ ? ' ' : '(') < 0 || buf_addc(o, '(') < 0 ||
	    mime_put_nstring(o, a->name, a->namelen) < 0 || buf_addc(o, ' ') < 0 ||
	    mime_put_nstring(o, a->adl, a->adllen) < 0 || buf_addc(o, ' ') < 0 ||
	    mime_put_nstring(o, a->mailbox, a->mailboxlen) < 0 || buf_addc(o, ' ') < 0 ||
	    mime_put_nstring(o, a->host, a->hostlen) < 0)
		return -1;
	return buf_addc(o, ')');
}

/* Addresses of every field called name (Dovecot joins duplicated
 * address fields); appends "(...)" and returns the count, or nothing and 0. */
static int addresses(struct buf *out, const char *h, size_t hlen, const char *name)
{
	struct addrout ao = { out, 0 };
	struct mime_field f;
	size_t pos = 0, nl = strlen(name);

	while (mime_hdr_next(h, hlen, &pos, &f))
		if (str_ieq(f.name, f.namelen, name, nl) && rfc822_addr_list(f.value, f.valuelen, put_addr, &ao) < 0)
			return -1;
	if (ao.n > 0 && buf_addc(out, ')') < 0)
		return -1;
	return ao.n;
}

static int string(struct buf *out, struct buf *tmp, const char *v, size_t vl)
{
	if (v == NULL)
		return buf_add(out, "NIL", 3);
	buf_reset(tmp);
	if (mime_unfold(v, vl, tmp) < 0)
		return -1;
	return mime_put_nstring(out, tmp->s ? tmp->s : "", tmp->len);
}

enum { E_DATE, E_SUBJECT, E_FROM, E_SENDER, E_REPLYTO, E_TO, E_CC, E_BCC, E_INREPLYTO, E_MSGID, E_N };
static const char *const env_names[E_N] = {
	"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "In-Reply-To", "Message-ID",
};

int mime_envelope(const char *p, size_t len, const struct mime_part *msg, struct buf *out)
{
	const char *v[E_N], *h = p + msg->hdr_off;
	size_t vl[E_N], pos = 0;
	struct mime_field f;
	struct buf tmp;
	int i, ret = -1;

	memset(v, 0, sizeof v);
	memset(vl, 0, sizeof vl);
	/* the last of duplicated string fields wins, as in Dovecot */
	while (mime_hdr_next(h, msg->hdr_len, &pos, &f))
		for (i = 0; i < E_N; i++)
			if (str_ieq(f.name, f.namelen, env_names[i], strlen(env_names[i]))) {
				v[i] = f.value;
				vl[i] = f.valuelen;
			}
	buf_init(&tmp);
	if (buf_addc(out, '(') < 0)
		goto out;
	for (i = 0; i < E_N; i++) {
		if (i > 0 && buf_addc(out, ' ') < 0)
			goto out;
		if (i >= E_FROM && i <= E_BCC) {
			int n = addresses(out, h, msg->hdr_len, env_names[i]);
			/* RFC 3501 7.4.2: Sender and Reply-To default to From */
			if (n == 0 && (i == E_SENDER || i == E_REPLYTO))
				n = addresses(out, h, msg->hdr_len, "From");
			if (n < 0 || (n == 0 && buf_add(out, "NIL", 3) < 0))
				goto out;
		} else if (string(out, &tmp, v[i], vl[i]) < 0) {
			goto out;
		}
	}
	ret = buf_addc(out, ')');
out:
	buf_free(&tmp);
	return ret;
}
