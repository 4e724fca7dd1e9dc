/* Local delivery from the queue.  One queue file at a time under flock
 * (so smtpd's immediate run and `sendmail -q` never deliver twice), one
 * child per recipient that becomes that recipient (euid/egid, saved gid
 * mail) and appends with mbox_deliver, which locks, quotes and rolls back.
 * Results are written into the file's recipient line before the next one:
 * a crash can make a message delivered twice, never lost (the success of
 * the last one is not synced when the file is removed right after).
 * smtpd runs its session's files itself once the client is gone
 * (deliver_after_session, short lock budget) and only detaches a runner
 * (deliver_spawn) while the session goes on or for what stayed locked.
 *   temporary (lock timeout, disk full, I/O): deferred, retried by -q
 *   permanent (user gone, quota/file too big): bounced (bounce.c) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "auth.h"
#include "log.h"
#include "mbox.h"
#include "priv.h"
#include "smtp.h"

static unsigned lock_ms(const struct conf *c)
{
	return c->lock_timeout ? c->lock_timeout * 1000u : SMTP_LOCK_TIMEOUT_MS;
}

static int build_prefix(const struct q_env *e, const struct q_rcpt *r, struct buf *b)
{
	if (buf_printf(b, "Return-Path: <%s>\n", e->sender) < 0)
		return -1;
	if (r->orig[0] && !str_ieq(r->orig, strlen(r->orig), r->addr, strlen(r->addr)) &&
	    buf_printf(b, "X-Original-To: %s\n", r->orig) < 0)
		return -1;
	return buf_printf(b, "Delivered-To: %s\n", r->addr);
}

/* The child: become the recipient, append, report errno through the pipe. */
static void child(unsigned lms, int qfd, const struct q_env *e, const struct auth_user *u,
		  const char *path, const struct buf *prefix, int wfd)
{
	struct mbox_append a;
	int code = 0;

	if (priv_become_delivery(u->uid, u->gid) < 0) {
		code = errno ? errno : EPERM;
		log_msg(LOG_ERR, "%s: cannot become uid %ld: %m", e->id, (long)u->uid);
	} else {
		memset(&a, 0, sizeof a);
		a.sender = e->sender;
		a.prefix = prefix->s;
		a.prefix_len = prefix->len;
		a.data = NULL;
		a.fd = qfd;
		a.data_off = (uint64_t)e->data_off;
		a.len = (size_t)(e->size - e->data_off);
		a.strip_meta = 1;
		a.date = e->time;
		if (mbox_deliver(path, &a, lms) < 0)
			code = errno ? errno : EIO;
	}
	if (write(wfd, &code, sizeof code) != sizeof code)
		_exit(2);
	_exit(0);
}

/* Runs one recipient; sets its state in the file.  A success is synced
 * only when more work on the file follows (sync_done): the last one is
 * followed by the removal of the file, or by the caller's fdatasync. */
static int deliver_one(const struct conf *c, unsigned lms, int qfd, const struct q_env *e,
		       struct q_rcpt *r, int sync_done)
{
	struct auth_user u;
	struct buf prefix;
	char path[PATH_MAX], reason[Q_REASON_LEN + 1];
	int p[2], code = EIO, status;
	pid_t pid;

	if (auth_lookup(c, r->user, &u) < 0) {
		if (errno == ENOENT)
			return queue_set_state(qfd, r, Q_FAILED, "5.1.1 unknown user");
		return queue_set_state(qfd, r, Q_DEFERRED, "4.3.0 user lookup failed");
	}
	if (conf_spool_path(c, u.name, path, sizeof path) < 0)
		return queue_set_state(qfd, r, Q_FAILED, "5.1.1 bad mailbox name");
	buf_init(&prefix);
	if (build_prefix(e, r, &prefix) < 0 || pipe2(p, O_CLOEXEC) < 0) {
		buf_free(&prefix);
		return queue_set_state(qfd, r, Q_DEFERRED, "4.3.0 out of memory");
	}
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(lms, qfd, e, &u, path, &prefix, p[1]);
	}
	close(p[1]);
	buf_free(&prefix);
	if (pid < 0) {
		close(p[0]);
		return queue_set_state(qfd, r, Q_DEFERRED, "4.3.0 cannot fork");
	}
	if (read(p[0], &code, sizeof code) != sizeof code)
		code = EIO;
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (code == 0) {
		log_msg(LOG_INFO, "%s: to=<%s>, relay=local, status=sent (delivered to mailbox %s)",
			e->id, r->addr, path);
		return sync_done ? queue_set_state(qfd, r, Q_DONE, "") :
			queue_set_state_nosync(qfd, r, Q_DONE, "");
	}
	if (code == EDQUOT || code == EFBIG) {
		if (snprintf(reason, sizeof reason, "5.2.2 mailbox full: %s", strerror(code)) < 0)
			reason[0] = '\0';
		log_msg(LOG_INFO, "%s: to=<%s>, status=bounced (%s)", e->id, r->addr, reason);
		return queue_set_state(qfd, r, Q_FAILED, reason);
	}
	/* the reason field is fixed-width: truncation is fine */
	if (snprintf(reason, sizeof reason, "4.2.0 cannot update mailbox of %.60s: %s", u.name,
		     code == EAGAIN ? "lock timeout" : strerror(code)) < 0)
		reason[0] = '\0';
	log_msg(LOG_INFO, "%s: to=<%s>, status=deferred (%s)", e->id, r->addr, reason);
	if ((long long)time(NULL) - e->time > Q_LIFETIME_SEC) {
		reason[0] = '5';
		return queue_set_state(qfd, r, Q_FAILED, reason);
	}
	return queue_set_state(qfd, r, Q_DEFERRED, reason);
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* *deferred_r (if given) counts recipients left deferred by this run. */
static int run_file(const struct conf *c, const char *id, int retry, unsigned lms,
		    size_t *deferred_r)
{
	char path[PATH_MAX], dir[PATH_MAX], bid[Q_ID_MAX];
	struct q_env e;
	struct stat st;
	size_t i, left = 0, failed = 0, todo = 0;
	int fd, unsynced = 0;

	if (!*id || strchr(id, '/') || id[0] == '.' || queue_path(c, id, path, sizeof path) < 0 ||
	    queue_path(c, NULL, dir, sizeof dir) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	/* one runner per file; the loser simply leaves */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &st) < 0 || st.st_nlink == 0) {
		close(fd);
		return 0;
	}
	if (queue_load(fd, &e) < 0) {
		log_msg(LOG_ERR, "%s: bad queue file: %m", id);
		close(fd);
		return -1;
	}
	for (i = 0; i < e.r.n; i++) {
		struct q_rcpt *r = &e.r.v[i];
		if (r->kind == RCPT_OK && (r->state == Q_PENDING || (retry && r->state == Q_DEFERRED)))
			todo++;
	}
	for (i = 0; i < e.r.n; i++) {
		struct q_rcpt *r = &e.r.v[i];
		if (r->kind == RCPT_OK && (r->state == Q_PENDING || (retry && r->state == Q_DEFERRED))) {
			todo--;
			deliver_one(c, lms, fd, &e, r, todo > 0);
			unsynced = todo == 0 && r->state == Q_DONE;
			if (deferred_r && r->state == Q_DEFERRED)
				(*deferred_r)++;
		}
		if (r->state == Q_FAILED)
			failed++;
		if (r->state != Q_DONE && r->state != Q_BOUNCED && r->state != Q_FAILED)
			left++;
	}
	/* the file stays (or bounces follow): the last success must be durable */
	if (unsynced && (left || failed))
		fdatasync(fd);
	if (failed) {
		bid[0] = '\0';
		if (bounce_queue(c, fd, &e, bid, sizeof bid) == 0) {
			for (i = 0; i < e.r.n; i++)
				if (e.r.v[i].state == Q_FAILED)
					queue_set_state(fd, &e.r.v[i], Q_BOUNCED, e.r.v[i].reason);
			if (bid[0])
				deliver_file(c, bid, 0);
		} else {
			left++;
			log_msg(LOG_ERR, "%s: cannot queue the bounce: %m", e.id);
		}
	}
	if (left == 0) {
		unlink(path);
		fsync_dir(dir);
		log_msg(LOG_INFO, "%s: removed", e.id);
	}
	queue_env_free(&e);
	close(fd);
	return 0;
}

int deliver_file(const struct conf *c, const char *id, int retry)
{
	return run_file(c, id, retry, lock_ms(c), NULL);
}


/* maildrop/mNAME files are the record stream of smtpd's child (rec.c),
 * written by sendmail for users who cannot write the queue.  They are read
 * like the child's records, trusted for nothing; the owner's uid (from the
 * kernel, not the file) goes into the Received header. */
static void pickup_one(const struct conf *c, int dfd, const char *name)
{
	struct recv_ctx x;
	struct peer peer;
	struct stat st;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (uint64_t)st.st_size > c->message_size_limit + 2 * 1024 * 1024) {
		log_msg(LOG_WARNING, "maildrop/%s: not a regular file or too big, removed", name);
		unlinkat(dfd, name, 0);
		close(fd);
		return;
	}
	memset(&peer, 0, sizeof peer);
	peer.local = 1;
	str_copyz(peer.addr, sizeof peer.addr, "local");
	memset(&x, 0, sizeof x);
	x.c = c;
	x.peer = &peer;
	x.relay_ok = 1;
	x.local_uid = (long long)st.st_uid;
	x.outfd = -1;
	if (receive_loop(&x, fd) < 0 || x.queued == 0) {
		/* unusable (or a queue write error: keep it a day for a retry) */
		if (time(NULL) - st.st_mtime < 24 * 3600 && x.queued == 0 && errno != EINVAL) {
			close(fd);
			return;
		}
		log_msg(LOG_WARNING, "maildrop/%s from uid %ld: unusable, removed", name, (long)st.st_uid);
	}
	unlinkat(dfd, name, 0);
	close(fd);
}

int deliver_pickup(const struct conf *c)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int n = snprintf(dir, sizeof dir, "%s/maildrop", c->queue_directory);

	if (n < 0 || (size_t)n >= sizeof dir)
		return -1;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)))
		if (de->d_name[0] == 'm')
			pickup_one(c, dirfd(d), de->d_name);
	closedir(d);
	return 0;
}

int deliver_queue(const struct conf *c)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;

	deliver_pickup(c);
	if (queue_path(c, NULL, dir, sizeof dir) < 0)
		return -1;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			deliver_file(c, de->d_name, 1);
	closedir(d);
	return 0;
}

void deliver_spawn(const struct conf *c, const char *id)
{
	char qid[1][Q_ID_MAX];

	if (!id) {
		deliver_spawn_ids(c, NULL, 0);
		return;
	}
	str_copyz(qid[0], sizeof qid[0], id);
	deliver_spawn_ids(c, qid, 1);
}

static void spawn(const struct conf *c, char (*ids)[Q_ID_MAX], size_t n, int retry)
{
	size_t i;
	pid_t pid;
	int status, fd;

	pid = fork();
	if (pid < 0) {
		log_msg(LOG_ERR, "delivery fork: %m (the queue run will deliver)");
		return;
	}
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		return;
	}
	/* detached from the session: its own session, no client fds */
	setsid();
	if (fork() != 0)
		_exit(0);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	signal(SIGPIPE, SIG_IGN);
	if (!ids)
		deliver_queue(c);
	for (i = 0; ids && i < n; i++)
		deliver_file(c, ids[i], retry);
	_exit(0);
}

void deliver_spawn_ids(const struct conf *c, char (*ids)[Q_ID_MAX], size_t n)
{
	spawn(c, ids, n, 0);
}

/* smtpd's own run at the end of a session: a short lock budget, so a
 * mailbox held for long (a POP3 session of a locking server) never keeps
 * the smtpd instance; what it defers gets the full budget in a runner. */
void deliver_after_session(const struct conf *c, char (*ids)[Q_ID_MAX], size_t n)
{
	char (*later)[Q_ID_MAX] = ids;
	unsigned lms = lock_ms(c);
	size_t i, nlater = 0, deferred;

	if (lms > SMTP_QUICK_LOCK_MS)
		lms = SMTP_QUICK_LOCK_MS;
	for (i = 0; i < n; i++) {
		deferred = 0;
		run_file(c, ids[i], 0, lms, &deferred);
		if (deferred && later + nlater != ids + i)
			memmove(later[nlater], ids[i], Q_ID_MAX);
		nlater += deferred ? 1 : 0;
	}
	if (nlater)
		spawn(c, later, nlater, 1);
}
