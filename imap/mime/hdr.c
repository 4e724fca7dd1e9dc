/* Header fields of a header block: iteration, lookup, unfolding. */
#include "mime.h"

#include <string.h>

/* End of the line starting at i (index of the byte after its LF, or n). */
static size_t line_end(const char *h, size_t n, size_t i)
{
	const char *lf = memchr(h + i, '\n', n - i);
	return lf ? (size_t)(lf - h) + 1 : n;
}

int mime_hdr_next(const char *h, size_t hlen, size_t *pos, struct mime_field *f)
{
	size_t i = *pos, e, c, v;

	while (i < hlen) {
		e = line_end(h, hlen, i);
		/* the blank line ends the header */
		if (h[i] == '\n' || (h[i] == '\r' && i + 1 < hlen && h[i + 1] == '\n'))
			break;
		/* continuation lines of an unparsable line are skipped with it */
		while (e < hlen && (h[e] == ' ' || h[e] == '\t'))
			e = line_end(h, hlen, e);
		for (c = i; c < e && h[c] != ':' && h[c] != '\n'; c++)
			;
		if (c == e || h[c] != ':' || c == i) {
			i = e; /* no colon: not a field (mbox From_ lines, junk) */
			continue;
		}
		f->name = h + i;
		f->namelen = c - i;
		while (f->namelen > 0 && (f->name[f->namelen - 1] == ' ' || f->name[f->namelen - 1] == '\t'))
			f->namelen--; /* obs-fields allow WSP before the colon */
		v = c + 1;
		f->value = h + v;
		f->valuelen = e - v;
		if (f->valuelen > 0 && f->value[f->valuelen - 1] == '\n')
			f->valuelen--;
		if (f->valuelen > 0 && f->value[f->valuelen - 1] == '\r')
			f->valuelen--;
		*pos = e;
		return 1;
	}
	*pos = hlen;
	return 0;
}

int mime_hdr_find(const char *h, size_t hlen, const char *name, const char **v_r, size_t *vlen_r)
{
	struct mime_field f;
	size_t pos = 0, nl = strlen(name);

	while (mime_hdr_next(h, hlen, &pos, &f))
		if (str_ieq(f.name, f.namelen, name, nl)) {
			*v_r = f.value;
			*vlen_r = f.valuelen;
			return 1;
		}
	return 0;
}

int mime_unfold(const char *v, size_t n, struct buf *out)
{
	size_t i = 0, start = out->len;

	while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n'))
		i++;
	while (i < n) {
		if (v[i] == '\r' || v[i] == '\n') {
			/* a fold and the white space after it become one space */
			while (i < n && (v[i] == '\r' || v[i] == '\n'))
				i++;
			if (i < n && (v[i] == ' ' || v[i] == '\t')) {
				while (i < n && (v[i] == ' ' || v[i] == '\t'))
					i++;
				if (buf_addc(out, ' ') < 0)
					return -1;
			}
			continue;
		}
		if (buf_addc(out, v[i]) < 0)
			return -1;
		i++;
	}
	while (out->len > start && (out->s[out->len - 1] == ' ' || out->s[out->len - 1] == '\t'))
		out->len--;
	if (out->s)
		out->s[out->len] = '\0';
	return 0;
}
