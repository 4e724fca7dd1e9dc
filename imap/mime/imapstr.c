/* IMAP string output: NIL, quoted, or literal by content (RFC 3501 4.3). */
#include "bounds.h"
#include "mime.h"


int mime_put_nstring(struct buf *out, const char *s, size_t n)
{
	size_t i;
	int lit = n >= IMAPSTR_QUOTED_MAX;

	if (s == NULL)
		return buf_add(out, "NIL", 3);
	for (i = 0; i < n && !lit; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80 || c == '"' || c == '\\')
			lit = 1;
	}
	if (lit) {
		if (buf_printf(out, "{%zu}\r\n", n) < 0)
			return -1;
		return buf_add(out, s, n);
	}
	if (buf_addc(out, '"') < 0 || buf_add(out, s, n) < 0)
		return -1;
	return buf_addc(out, '"');
}
