/* File I/O helpers of libmbox: whole-range pread/pwrite (EINTR and short
 * transfers handled) and fsync of a file's directory.  Nothing here knows
 * about mailboxes. */
#include "private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int mbox_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	char *p = buf;

	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = ESTALE;   /* the file is shorter than we were told */
			return -1;
		}
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int mbox_pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
{
	const char *p = buf;

	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int mbox_fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *sl = strrchr(path, '/');
	size_t n = sl ? (size_t)(sl - path) : 0;
	int fd, r, e;

	if (n == 0)
		n = sl ? 1 : 0;
	if (n == 0) {
		memcpy(dir, ".", 2);
	} else if (n >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	} else {
		memcpy(dir, path, n);
		dir[n] = 0;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	r = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return r;
}
