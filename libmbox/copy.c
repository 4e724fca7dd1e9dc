/* Finding a copy of a message that an interrupted delivery may already
 * have stored (issue 19): the delivery process was killed after the
 * append was fsync'ed but before its result reached the queue file, so
 * the queue delivers it again.  The caller knows the exact bytes it would
 * write (the From_ line carries the queue's arrival time, not "now"); a
 * copy is a message that starts with that From_ line and whose bytes hash
 * the same once the metadata headers readers add since (Status, X-UID,
 * X-Keywords..., and mutt's Content-Length and Lines) are left out of its
 * header.  Only retries after a crash pay for this: one read of the file. */
#include "private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FIND_BLOCK (1u << 20)
#define NAME_HOLD 32            /* longer than any field name we skip */

/* Fields a reader or a mail client writes into a stored message. */
static const char *const meta_names[] = {
	"Status", "X-Status", "X-Keywords", "X-UID", "X-IMAP", "X-IMAPbase",
	"Content-Length", "Lines",
};

static int meta_field(const char *h, size_t n)
{
	return mbox_field_named(h, n, meta_names, sizeof meta_names / sizeof meta_names[0]);
}

/* The header filter: metadata fields (with their continuation lines)
 * are not hashed; everything else is, until want bytes were. */
struct norm {
	struct mbox_h128 h;
	uint64_t kept, want;
	int body, bol, drop, holding;
	size_t hl;
	char hold[NAME_HOLD];
};

static void keep(struct norm *z, const char *p, size_t n)
{
	if (n > z->want - z->kept)
		n = (size_t)(z->want - z->kept);
	mbox_h128_add(&z->h, p, n);
	z->kept += n;
}

static void norm_byte(struct norm *z, char ch)
{
	if (z->holding) {
		z->hold[z->hl++] = ch;
		if (ch == ':' || ch == '\n' || z->hl == NAME_HOLD) {
			z->drop = meta_field(z->hold, z->hl);
			if (!z->drop)
				keep(z, z->hold, z->hl);
			z->holding = 0;
			z->hl = 0;
			z->bol = ch == '\n';
		}
		return;
	}
	if (z->bol) {
		if (ch == '\n') {       /* the header/body separator */
			z->body = 1;
			keep(z, &ch, 1);
			return;
		}
		z->bol = 0;
		if (ch != ' ' && ch != '\t') {  /* a new field, else a continuation */
			z->holding = 1;
			z->hold[z->hl++] = ch;
			return;
		}
	}
	if (!z->drop)
		keep(z, &ch, 1);
	if (ch == '\n')
		z->bol = 1;
}

/* 1 if the message at off is the copy, 0 if not, -1 on a read error. */
static int same_message(int fd, uint64_t size, uint64_t off, size_t fromlen, uint64_t len,
			const unsigned char want[16], const uint64_t key[2], char *buf)
{
	struct norm z;
	unsigned char got[16];
	size_t i, k, n;

	memset(&z, 0, sizeof z);
	mbox_h128_init(&z.h, key);
	z.want = len;
	z.bol = 1;
	while (z.kept < z.want && off < size) {
		n = size - off < FIND_BLOCK ? (size_t)(size - off) : FIND_BLOCK;
		if (mbox_pread_full(fd, buf, n, off) < 0)
			return -1;
		i = 0;
		if (fromlen) {          /* the From_ line, already compared */
			k = fromlen < n ? fromlen : n;
			keep(&z, buf, k);
			fromlen -= k;
			i = k;
		}
		for (; i < n && !z.body && z.kept < z.want; i++)
			norm_byte(&z, buf[i]);
		if (i < n)
			keep(&z, buf + i, n - i);
		off += n;
	}
	if (z.kept < z.want)
		return 0;
	mbox_h128_end(&z.h, got);
	return memcmp(got, want, 16) == 0;
}

int mbox_find_copy(int fd, uint64_t size, const char *from, size_t fromlen, uint64_t len,
		   const unsigned char hash[16], const uint64_t key[2], uint64_t *off_r)
{
	char *buf, *cand, *pat, *p;
	uint64_t off = 0;
	size_t n, s, plen = fromlen + 1;
	int r = 0;

	if (fromlen == 0 || fromlen >= FIND_BLOCK / 2 || from[fromlen - 1] != '\n') {
		errno = EINVAL;
		return -1;
	}
	buf = malloc(2 * (size_t)FIND_BLOCK + plen);
	if (!buf)
		return -1;
	cand = buf + FIND_BLOCK;
	pat = cand + FIND_BLOCK;        /* "\nFrom SENDER  DATE\n" */
	pat[0] = '\n';
	memcpy(pat + 1, from, fromlen);
	/* blocks overlap by the pattern's length less one, so a match across
	 * two blocks is found whole in the second, and none twice */
	while (r == 0 && off < size) {
		n = size - off < FIND_BLOCK ? (size_t)(size - off) : FIND_BLOCK;
		if (mbox_pread_full(fd, buf, n, off) < 0) {
			r = -1;
			break;
		}
		if (off == 0 && n >= fromlen && memcmp(buf, from, fromlen) == 0 &&
		    (r = same_message(fd, size, 0, fromlen, len, hash, key, cand)) == 1)
			*off_r = 0;
		for (s = 0; r == 0 && (p = memmem(buf + s, n - s, pat, plen)); s = (size_t)(p - buf) + 1)
			if ((r = same_message(fd, size, off + (uint64_t)(p - buf) + 1, fromlen, len, hash,
					      key, cand)) == 1)
				*off_r = off + (uint64_t)(p - buf) + 1;
		if (off + n >= size)
			break;
		off += n - (plen - 1);
	}
	free(buf);
	return r;
}
