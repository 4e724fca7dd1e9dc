/* BODY and BODYSTRUCTURE (RFC 3501 7.4.2): a serializer over the part
 * tree; it reads each part's MIME header again rather than keeping parsed
 * copies in the tree. */
#include "mime_int.h"

#include <string.h>

struct bs {
	const char *p;
	size_t len;
	struct buf *out, tmp;
	int ext;
};

static int hdr(struct bs *b, const struct mime_part *m, const char *name, const char **v_r, size_t *vl_r)
{
	return mime_hdr_find(b->p + m->hdr_off, m->hdr_len, name, v_r, vl_r);
}

/* an unfolded header value as nstring, NIL when absent */
static int put_field(struct bs *b, const struct mime_part *m, const char *name)
{
	const char *v;
	size_t vl;

	if (!hdr(b, m, name, &v, &vl))
		return buf_add(b->out, "NIL", 3);
	buf_reset(&b->tmp);
	if (mime_unfold(v, vl, &b->tmp) < 0)
		return -1;
	return mime_put_nstring(b->out, b->tmp.s ? b->tmp.s : "", b->tmp.len);
}

static int put_params(struct buf *out, const struct params *pr)
{
	size_t i;

	if (pr->n == 0)
		return buf_add(out, "NIL", 3);
	for (i = 0; i < pr->n; i++)
		if (buf_addc(out, i ? ' ' : '(') < 0 || mime_put_nstring(out, PARAM_A(pr, i), pr->alen[i]) < 0 ||
		    buf_addc(out, ' ') < 0 || mime_put_nstring(out, PARAM_V(pr, i), pr->vlen[i]) < 0)
			return -1;
	return buf_addc(out, ')');
}

/* ("attachment" ("filename" "a.txt")) or NIL */
static int put_disposition(struct bs *b, const struct mime_part *m)
{
	struct params d;
	const char *v;
	size_t vl;
	int ret = -1;

	if (!hdr(b, m, "Content-Disposition", &v, &vl))
		return buf_add(b->out, "NIL", 3);
	params_init(&d);
	if (params_parse(&d, v, vl, 0) < 0)
		goto out;
	if (d.v1len == 0) {
		ret = buf_add(b->out, "NIL", 3);
		goto out;
	}
	if (buf_addc(b->out, '(') < 0 || mime_put_nstring(b->out, d.s.s + d.v1off, d.v1len) < 0 ||
	    buf_addc(b->out, ' ') < 0 || put_params(b->out, &d) < 0)
		goto out;
	ret = buf_addc(b->out, ')');
out:
	params_free(&d);
	return ret;
}

/* Content-Language: one tag as a string, several as a list */
static int put_language(struct bs *b, const struct mime_part *m)
{
	struct rfc822 r;
	const char *v;
	size_t vl, n = 0, start = b->out->len;

	if (!hdr(b, m, "Content-Language", &v, &vl))
		return buf_add(b->out, "NIL", 3);
	rfc822_init(&r, v, vl);
	for (;;) {
		if (rfc822_skip(&r, NULL) < 0)
			return -1;
		if (r.p >= r.end)
			break;
		if (*r.p == ',') {
			r.p++;
			continue;
		}
		buf_reset(&b->tmp);
		if (rfc822_atom(&r, &b->tmp, RFC822_TOKEN) <= 0) {
			r.p++;
			continue;
		}
		if (buf_addc(b->out, n++ ? ' ' : '(') < 0 || mime_put_nstring(b->out, b->tmp.s, b->tmp.len) < 0)
			return -1;
	}
	if (n == 0)
		return buf_add(b->out, "NIL", 3);
	(void)start; /* always a list, even of one tag, as Dovecot sends it */
	return buf_addc(b->out, ')');
}

static int part(struct bs *b, const struct mime_part *m);

static int multipart(struct bs *b, const struct mime_part *m, const struct params *ct)
{
	const struct mime_part *k;

	if (buf_addc(b->out, '(') < 0)
		return -1;
	if (m->children == NULL) {
		/* no boundary line found: an empty text part, as Dovecot does */
		if (buf_adds(b->out, b->ext ? "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
					    : "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)") < 0)
			return -1;
	}
	for (k = m->children; k; k = k->next)
		if (part(b, k) < 0)
			return -1;
	if (buf_addc(b->out, ' ') < 0 || mime_put_nstring(b->out, ct->s.s + ct->v2off, ct->v2len) < 0)
		return -1;
	if (b->ext && (buf_addc(b->out, ' ') < 0 || put_params(b->out, ct) < 0 || buf_addc(b->out, ' ') < 0 ||
		       put_disposition(b, m) < 0 || buf_addc(b->out, ' ') < 0 || put_language(b, m) < 0 ||
		       buf_addc(b->out, ' ') < 0 || put_field(b, m, "Content-Location") < 0))
		return -1;
	return buf_addc(b->out, ')');
}

/* text/ * without a charset is given ("charset" "us-ascii"), RFC 2045 5.2;
 * RFC 2231's charset*= is a charset parameter too (no default then) */
static int put_leaf_params(struct buf *out, const struct mime_part *m, const struct params *ct)
{
	size_t l, start = out->len;

	if (!(m->flags & MIME_PART_TEXT) || params_get(ct, "charset", &l) != NULL ||
	    params_get(ct, "charset*", &l) != NULL)
		return put_params(out, ct);
	if (ct->n == 0)
		return buf_adds(out, "(\"charset\" \"us-ascii\")");
	if (put_params(out, ct) < 0)
		return -1;
	out->len = start + (out->len - start) - 1; /* reopen the list */
	return buf_adds(out, " \"charset\" \"us-ascii\")");
}

static int leaf(struct bs *b, const struct mime_part *m, const struct params *ct)
{
	const char *v;
	size_t vl;
	struct buf *o = b->out;

	if (buf_addc(o, '(') < 0 || mime_put_nstring(o, ct->s.s + ct->v1off, ct->v1len) < 0 ||
	    buf_addc(o, ' ') < 0 || mime_put_nstring(o, ct->s.s + ct->v2off, ct->v2len) < 0 ||
	    buf_addc(o, ' ') < 0 || put_leaf_params(o, m, ct) < 0 || buf_addc(o, ' ') < 0 ||
	    put_field(b, m, "Content-ID") < 0 || buf_addc(o, ' ') < 0 ||
	    put_field(b, m, "Content-Description") < 0 || buf_addc(o, ' ') < 0)
		return -1;
	if (hdr(b, m, "Content-Transfer-Encoding", &v, &vl)) {
		struct rfc822 r;
		buf_reset(&b->tmp);
		rfc822_init(&r, v, vl);
		if (rfc822_skip(&r, NULL) < 0 || rfc822_atom(&r, &b->tmp, RFC822_TOKEN) < 0)
			return -1;
		if (b->tmp.len == 0 && buf_adds(&b->tmp, "7bit") < 0)
			return -1;
		if (mime_put_nstring(o, b->tmp.s, b->tmp.len) < 0)
			return -1;
	} else if (buf_adds(o, "\"7bit\"") < 0) {
		return -1;
	}
	if (buf_printf(o, " %zu", m->body_len) < 0)
		return -1;
	/* message/global keeps the basic form: an IMAP4rev1 client's grammar
	 * (RFC 3501) knows only MESSAGE/RFC822 as body-type-msg; Dovecot too */
	if ((m->flags & MIME_PART_MESSAGE) && str_ieq(ct->s.s + ct->v2off, ct->v2len, "rfc822", 6)) {
		if (m->children) {
			if (buf_addc(o, ' ') < 0 || mime_envelope(b->p, b->len, m->children, o) < 0 ||
			    buf_addc(o, ' ') < 0 || part(b, m->children) < 0)
				return -1;
		} else if (buf_adds(o, " (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
				       " (\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)") < 0) {
			return -1; /* too deep: an empty stand-in keeps the syntax valid */
		}
		if (buf_printf(o, " %zu", m->body_lines) < 0)
			return -1;
	} else if ((m->flags & MIME_PART_TEXT) && buf_printf(o, " %zu", m->body_lines) < 0) {
		return -1;
	}
	if (b->ext && (buf_addc(o, ' ') < 0 || put_field(b, m, "Content-MD5") < 0 || buf_addc(o, ' ') < 0 ||
		       put_disposition(b, m) < 0 || buf_addc(o, ' ') < 0 || put_language(b, m) < 0 ||
		       buf_addc(o, ' ') < 0 || put_field(b, m, "Content-Location") < 0))
		return -1;
	return buf_addc(o, ')');
}

static int part(struct bs *b, const struct mime_part *m)
{
	struct params ct;
	int ret;

	params_init(&ct);
	if (part_ctype(b->p, m, &ct) < 0) {
		params_free(&ct);
		return -1;
	}
	ret = (m->flags & MIME_PART_MULTIPART) ? multipart(b, m, &ct) : leaf(b, m, &ct);
	params_free(&ct);
	return ret;
}

int mime_bodystructure(const char *p, size_t len, const struct mime_part *msg, int extended,
		       struct buf *out)
{
	struct bs b;
	int ret;

	b.p = p;
	b.len = len;
	b.out = out;
	b.ext = extended;
	buf_init(&b.tmp);
	ret = part(&b, msg);
	buf_free(&b.tmp);
	return ret;
}
