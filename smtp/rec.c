/* Records between the unprivileged SMTP child and the root parent: a type
 * byte, a 4-byte big-endian length and the payload (qmail-queue's "don't
 * parse" in spirit: nothing to tokenise, every length explicit). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "io.h"
#include "smtp.h"

/* 1 all read, 0 EOF before any byte, -1 error or EOF in the middle */
static int read_all(int fd, void *p, size_t n)
{
	char *s = p;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, s + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			if (got == 0)
				return 0;
			errno = EPIPE;
			return -1;
		}
		got += (size_t)r;
	}
	return 1;
}

int rec_put(int fd, int type, const void *p, size_t n)
{
	unsigned char h[5];
	char one[5 + 512];

	if (n > REC_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	h[0] = (unsigned char)type;
	h[1] = (unsigned char)(n >> 24);
	h[2] = (unsigned char)(n >> 16);
	h[3] = (unsigned char)(n >> 8);
	h[4] = (unsigned char)n;
	/* small records leave in one write */
	if (n <= 512) {
		memcpy(one, h, 5);
		if (n)
			memcpy(one + 5, p, n);
		return io_write_all(fd, one, 5 + n);
	}
	if (io_write_all(fd, h, 5) < 0)
		return -1;
	return io_write_all(fd, p, n);
}

int rec_get(int fd, int *type_r, void *buf, size_t max, size_t *len_r)
{
	unsigned char h[5];
	size_t n;
	int r;

	r = read_all(fd, h, 5);
	if (r <= 0)
		return r;
	n = ((size_t)h[1] << 24) | ((size_t)h[2] << 16) | ((size_t)h[3] << 8) | h[4];
	if (n > max || n > REC_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (n > 0 && (r = read_all(fd, buf, n)) != 1) {
		if (r == 0)
			errno = EPIPE;
		return -1;
	}
	*type_r = h[0];
	*len_r = n;
	return 1;
}
