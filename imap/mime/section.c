/* BODY[section] (RFC 3501 6.4.5): the part path, then HEADER, TEXT, MIME,
 * HEADER.FIELDS (list) or HEADER.FIELDS.NOT (list).  HEADER and TEXT
 * after a path are those of a message/rfc822 part's nested message. */
#include "mime_int.h"

#include <errno.h>
#include <string.h>

/* Is name in the list "(A B "C")"?  -1 if the list is malformed. */
static int in_list(const char *l, size_t n, const char *name, size_t nl)
{
	size_t i = 0, s;
	int found = 0, count = 0;

	while (i < n && l[i] == ' ')
		i++;
	if (i >= n || l[i++] != '(')
		return -1;
	for (;;) {
		while (i < n && l[i] == ' ')
			i++;
		if (i >= n)
			return -1;
		if (l[i] == ')')
			break;
		if (l[i] == '"') {
			/* names are atoms in practice; a quoted one may not hold escapes */
			s = ++i;
			while (i < n && l[i] != '"' && l[i] != '\\')
				i++;
			if (i >= n || l[i] != '"')
				return -1;
			if (str_ieq(l + s, i - s, name, nl))
				found = 1;
			i++;
		} else {
			s = i;
			while (i < n && l[i] != ' ' && l[i] != ')' && l[i] != '(' && (unsigned char)l[i] > ' ' &&
			       l[i] != '"')
				i++;
			if (i == s)
				return -1;
			if (str_ieq(l + s, i - s, name, nl))
				found = 1;
		}
		count++;
	}
	if (count == 0 || i + 1 != n)
		return -1; /* RFC 3501: header-list is 1*astring; nothing after ')' */
	return found;
}

static int fields(const char *h, size_t hlen, const char *l, size_t ln, int not, struct buf *out)
{
	struct mime_field f;
	size_t pos = 0, start;
	int r;

	if (in_list(l, ln, "", 0) < 0) {
		errno = EINVAL;
		return -1;
	}
	for (;;) {
		if (!mime_hdr_next(h, hlen, &pos, &f))
			break;
		start = (size_t)(f.name - h);
		r = in_list(l, ln, f.name, f.namelen);
		if (r != not && buf_add(out, f.name, pos - start) < 0)
			return -1;
	}
	/* HEADER.FIELDS always ends with the blank line; .NOT only if the
	 * header had one (both as Dovecot does) */
	if (!not || (hlen >= 1 && h[hlen - 1] == '\n' && (hlen == 1 || h[hlen - 2] == '\n')) ||
	    (hlen >= 2 && h[hlen - 2] == '\r' && h[hlen - 1] == '\n' && (hlen == 2 || h[hlen - 3] == '\n')))
		return buf_add(out, "\r\n", 2);
	return 0;
}

int mime_section(const char *p, size_t len, const struct mime_part *root, const char *spec,
		 size_t n, struct buf *tmp, const char **p_r, size_t *len_r)
{
	const struct mime_part *m = root, *msg;
	size_t i = 0, pathlen = 0;
	const char *t;
	size_t tn;

	*p_r = p;
	*len_r = 0;
	/* the path: numbers separated by dots */
	while (i < n && spec[i] >= '0' && spec[i] <= '9') {
		size_t s = i;
		uint32_t num;
		while (i < n && spec[i] >= '0' && spec[i] <= '9')
			i++;
		if (parse_u32(spec + s, i - s, 1000000, &num) < 0 || num == 0)
			goto bad;
		pathlen = i;
		if (i < n && spec[i] != '.')
			goto bad;
		if (i < n && ++i == n)
			goto bad; /* trailing dot */
	}
	t = spec + i;
	tn = n - i;
	if (pathlen > 0) {
		m = mime_part_find(root, spec, pathlen);
	}
	if (tn == 0) {
		if (m == NULL)
			return 1;
		if (pathlen == 0) {
			*len_r = len;
			return 0;
		}
		*p_r = p + m->body_off;
		*len_r = m->body_len;
		return 0;
	}
	if (str_ieq(t, tn, "MIME", 4)) {
		if (pathlen == 0)
			goto bad;
		if (m == NULL)
			return 1;
		*p_r = p + m->hdr_off;
		*len_r = m->hdr_len;
		return 0;
	}
	/* HEADER, TEXT: syntax first, then the part */
	if (!str_ieq(t, tn, "HEADER", 6) && !str_ieq(t, tn, "TEXT", 4) && !str_iprefix(t, tn, "HEADER.FIELDS "))
		if (!str_iprefix(t, tn, "HEADER.FIELDS.NOT "))
			goto bad;
	if (m == NULL)
		return 1;
	msg = m;
	if (pathlen > 0) {
		if (!(m->flags & MIME_PART_MESSAGE) || m->children == NULL)
			return 1;
		msg = m->children;
	}
	if (str_ieq(t, tn, "HEADER", 6)) {
		*p_r = p + msg->hdr_off;
		*len_r = msg->hdr_len;
	} else if (str_ieq(t, tn, "TEXT", 4)) {
		*p_r = p + msg->body_off;
		*len_r = msg->body_len;
	} else {
		int not = str_iprefix(t, tn, "HEADER.FIELDS.NOT ");
		size_t skip = not ? 18 : 14;
		buf_reset(tmp);
		if (fields(p + msg->hdr_off, msg->hdr_len, t + skip, tn - skip, not, tmp) < 0) {
			return -1; /* EINVAL or ENOMEM */
		}
		*p_r = tmp->s;
		*len_r = tmp->len;
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}
