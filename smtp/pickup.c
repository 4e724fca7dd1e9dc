/* maildrop pickup: maildrop/ (mode 1733) holds record streams (rec.c)
 * written by sendmail for users who cannot write the queue.  The runner
 * first moves each file into pickup/ (root only): from then on no user can
 * rename, replace or add to its name, and a file that cannot be moved is
 * not read.  It is opened without following links or blocking and must be
 * a regular file with one link, of bounded size.  Only envelope and
 * message records are accepted (MAIL, its parameters, RCPT, DATA, END: no
 * HELO, no ETRN), trusted for nothing; the owner's uid (the kernel's, not
 * the file's word) goes into the Received header.  A file that does not
 * parse goes to corrupt/ (quarantine, as Postfix's); one that parsed but
 * could not be queued (disk full) stays in pickup/ for the next run, for
 * a day at most. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "smtp.h"


static int opendir_at(const struct conf *c, const char *sub)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof p, "%s/%s", c->queue_directory, sub);

	if (n < 0 || (size_t)n >= sizeof p) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

static void quarantine(int pfd, int cfd, const char *name, long uid, const char *why)
{
	log_msg(LOG_WARNING, "pickup/%s from uid %ld: %s, moved to corrupt/", name, uid, why);
	if ((cfd < 0 || renameat(pfd, name, cfd, name) < 0) && unlinkat(pfd, name, 0) < 0)
		unlinkat(pfd, name, AT_REMOVEDIR);
}

static void pickup_one(const struct conf *c, int pfd, int cfd, const char *name)
{
	struct recv_ctx x;
	struct peer peer;
	struct stat st;
	int fd, r;

	fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (uint64_t)st.st_size > c->message_size_limit + 2 * 1024 * 1024) {
		if (fd >= 0)
			close(fd);
		quarantine(pfd, cfd, name, fd >= 0 ? (long)st.st_uid : -1L,
			   "not a regular file, linked elsewhere or too big");
		return;
	}
	memset(&peer, 0, sizeof peer);
	peer.local = 1;
	str_copyz(peer.addr, sizeof peer.addr, "local");
	memset(&x, 0, sizeof x);
	x.c = c;
	x.peer = &peer;
	x.relay_ok = 1;
	x.maildrop = 1;
	x.local_uid = (long long)st.st_uid;
	x.outfd = -1;
	r = receive_loop(&x, fd);
	close(fd);
	if (r == 0 && x.queued > 0) {
		unlinkat(pfd, name, 0);
		return;
	}
	/* only a queue write error (r < 0, records fine) is worth a retry */
	if (r == 0 || x.proto_err || time(NULL) - st.st_mtime > PICKUP_KEEP_SEC)
		quarantine(pfd, cfd, name, (long)st.st_uid,
			   r < 0 && !x.proto_err ? "not queued for a day" : "bad records");
	else
		log_msg(LOG_WARNING, "pickup/%s from uid %ld: not queued, kept for the next run", name,
			(long)st.st_uid);
}

/* maildrop/NAME -> pickup/mPID.N (never over an existing name) */
static void move_in(int mfd, int pfd, const char *name, unsigned *seq)
{
	char to[64];
	int tries;

	for (tries = 0; tries < 100; tries++) {
		snprintf(to, sizeof to, "m%ld.%u.%ld", (long)getpid(), (*seq)++, (long)time(NULL));
		if (renameat2(mfd, name, pfd, to, RENAME_NOREPLACE) == 0 || errno != EEXIST)
			return;
	}
}

int pickup_run(const struct conf *c)
{
	DIR *d;
	struct dirent *de;
	unsigned seq = 0;
	int mfd, pfd, cfd, dfd;

	pfd = opendir_at(c, "pickup");
	if (pfd < 0)
		return -1;
	mfd = opendir_at(c, "maildrop");
	if (mfd >= 0) {
		dfd = dup(mfd);
		d = dfd >= 0 ? fdopendir(dfd) : NULL;
		while (d && (de = readdir(d)))
			if (de->d_name[0] == 'm')   /* complete (t*: being written) */
				move_in(mfd, pfd, de->d_name, &seq);
		if (d)
			closedir(d);
		else if (dfd >= 0)
			close(dfd);
		close(mfd);
	}
	cfd = opendir_at(c, "corrupt");
	dfd = dup(pfd);
	d = dfd >= 0 ? fdopendir(dfd) : NULL;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			pickup_one(c, pfd, cfd, de->d_name);
	if (d)
		closedir(d);
	else if (dfd >= 0)
		close(dfd);
	if (cfd >= 0)
		close(cfd);
	close(pfd);
	return 0;
}
