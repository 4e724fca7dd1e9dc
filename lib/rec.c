/* The record format of rec.h, shared by lib/priv.c and the SMTP side. */
#include "rec.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "io.h"

int rec_read_full(int fd, void *p, size_t n)
{
	unsigned char *s = p;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, s + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EPIPE;
			return got == 0 ? 0 : -1;
		}
		got += (size_t)r;
	}
	return 1;
}

int rec_put(int fd, int type, const void *p, size_t n)
{
	unsigned char one[REC_HDR + 512];

	if (n > REC_LEN_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	one[0] = (unsigned char)type;
	one[1] = (unsigned char)(n >> 24);
	one[2] = (unsigned char)(n >> 16);
	one[3] = (unsigned char)(n >> 8);
	one[4] = (unsigned char)n;
	/* small records leave in one write */
	if (n <= 512) {
		if (n)
			memcpy(one + REC_HDR, p, n);
		return io_write_all(fd, one, REC_HDR + n);
	}
	if (io_write_all(fd, one, REC_HDR) < 0)
		return -1;
	return io_write_all(fd, p, n);
}

int rec_get_hdr(int fd, int *type_r, size_t *len_r, size_t max)
{
	unsigned char h[REC_HDR];
	size_t n;
	int r = rec_read_full(fd, h, sizeof h);

	if (r <= 0)
		return r;
	n = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
	if (n > max || n > REC_LEN_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	*type_r = h[0];
	*len_r = n;
	return 1;
}

int rec_get(int fd, int *type_r, void *buf, size_t max, size_t *len_r)
{
	size_t n;
	int r = rec_get_hdr(fd, type_r, &n, max);

	if (r <= 0)
		return r;
	if (n > 0 && rec_read_full(fd, buf, n) != 1) {
		errno = EPIPE;
		return -1;
	}
	*len_r = n;
	return 1;
}
