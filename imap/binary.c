/* BINARY (RFC 3516): FETCH BINARY[part] and BINARY.SIZE[part] give a leaf
 * part's body with its Content-Transfer-Encoding undone: base64 and
 * quoted-printable decoded, 7bit/8bit/binary (or none) as they are; any
 * other encoding cannot be undone: NO [UNKNOWN-CTE].  BINARY[] and a
 * multipart or message part are served as BODY[] would serve them.  A
 * decoded part is sent as a literal8 ("~{n}"), as Dovecot does; so is any
 * part holding a NUL (RFC 3516 4.2). */
#include <errno.h>
#include <string.h>
#include "imap.h"
#include "mime.h"
#include "sort.h"

/* the encoding token of a part header, trimmed: "" when absent */
static void cte(const char *h, size_t hl, const char **v_r, size_t *n_r)
{
	const char *v;
	size_t n;

	*v_r = "";
	*n_r = 0;
	if (!mime_hdr_find(h, hl, "Content-Transfer-Encoding", &v, &n))
		return;
	while (n && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	/* a comment after the token: "base64 (encoded)" */
	{
		size_t i;
		for (i = 0; i < n && v[i] != ' ' && v[i] != '\t' && v[i] != '(' && v[i] != ';'; i++)
			;
		n = i;
	}
	*v_r = v;
	*n_r = n;
}

int imap_binary_section(const char *p, size_t len, const struct mime_part *root, const char *path,
			size_t pathlen, struct buf *out)
{
	const struct mime_part *m;
	const char *v;
	size_t n;

	if (pathlen == 0)
		return buf_add(out, p, len);      /* BINARY[]: the message as BODY[] */
	m = mime_part_find(root, path, pathlen);
	if (!m)
		return 0;                          /* no such part: empty, as BODY[] */
	if (m->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE))
		return buf_add(out, p + m->body_off, m->body_len);
	cte(p + m->hdr_off, m->hdr_len, &v, &n);
	if (n == 0 || str_ieq(v, n, "7bit", 4) || str_ieq(v, n, "8bit", 4) ||
	    str_ieq(v, n, "binary", 6))
		return buf_add(out, p + m->body_off, m->body_len);
	if (str_ieq(v, n, "base64", 6))
		return mime_decode_base64(p + m->body_off, m->body_len, out) < 0 ? -1 : 1;
	if (str_ieq(v, n, "quoted-printable", 16))
		return mime_decode_qp(p + m->body_off, m->body_len, out) < 0 ? -1 : 1;
	errno = EILSEQ;   /* x-uuencode and the like: UNKNOWN-CTE */
	return -1;
}
