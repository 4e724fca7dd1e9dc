/* SCM_RIGHTS with explicit lengths: see fdpass.h. */
#include "fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for one descriptor (CMSG_SPACE rounds up: on LP64 two fit, which is
 * how a second one sent by mistake is seen and closed). */
union fdpass_ctl {
	struct cmsghdr h;
	char buf[CMSG_SPACE(sizeof(int))];
};

static void msg_init(struct msghdr *m, struct iovec *iov, void *p, size_t n, union fdpass_ctl *u)
{
	memset(m, 0, sizeof *m);
	memset(u, 0, sizeof *u);
	iov->iov_base = p;
	iov->iov_len = n;
	m->msg_iov = iov;
	m->msg_iovlen = 1;
	m->msg_control = u->buf;
	m->msg_controllen = sizeof u->buf;
}

int fdpass_send(int sock, int fd, const void *p, size_t n)
{
	union fdpass_ctl u;
	struct msghdr m;
	struct iovec iov;
	ssize_t r;

	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	/* sendmsg does not write through iov_base */
	msg_init(&m, &iov, (void *)p, n, &u);
	u.h.cmsg_level = SOL_SOCKET;
	u.h.cmsg_type = SCM_RIGHTS;
	u.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&u.h), &fd, sizeof fd);
	do
		r = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	if ((size_t)r != n) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* Counts the descriptors in the control data: *fd_r gets the first, the
 * others are closed at once.  *other_r: anything but SCM_RIGHTS was there. */
static int take_fds(struct msghdr *m, int *fd_r, int *other_r)
{
	const unsigned char *end = (const unsigned char *)m->msg_control + m->msg_controllen;
	struct cmsghdr *h;
	int count = 0;

	for (h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
		size_t k, nfd, room;
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS || h->cmsg_len < CMSG_LEN(0)) {
			*other_r = 1;
			continue;
		}
		/* never read past the buffer, whatever cmsg_len says */
		nfd = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		room = (size_t)(end - CMSG_DATA(h)) / sizeof(int);
		if (nfd > room)
			nfd = room;
		for (k = 0; k < nfd; k++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + k * sizeof fd, sizeof fd);
			if (count++ == 0)
				*fd_r = fd;
			else
				close(fd);
		}
	}
	return count;
}

int fdpass_recv(int sock, void *p, size_t n)
{
	union fdpass_ctl u;
	struct msghdr m;
	struct iovec iov;
	ssize_t r;
	int fd = -1, count, other = 0;

	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	msg_init(&m, &iov, p, n, &u);
	do
		r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	count = take_fds(&m, &fd, &other);
	if (count == 1 && !other && (size_t)r == n && !(m.msg_flags & MSG_CTRUNC))
		return fd;
	if (count > 0)
		close(fd);
	/* EOF only when nothing at all came */
	errno = r == 0 && count == 0 && !other ? EPIPE : EPROTO;
	return -1;
}
