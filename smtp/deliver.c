/* Local delivery from the queue.  One queue file at a time under flock
 * (so smtpd's immediate run and `sendmail -q` never deliver twice), one
 * child per recipient that becomes that recipient (euid/egid, saved gid
 * mail) and appends with mbox_deliver, which locks, quotes and rolls back.
 * Results are written into the file's recipient line before the next one:
 * a crash can make a message delivered twice, never lost (the success of
 * the last one is not synced when the file is removed right after).
 * smtpd runs its session's files itself once the client is gone
 * (deliver_after_session, short lock budget); a session that goes on
 * hands them to its delivery worker (worker.c), which delivers them in
 * batches (deliver_batch: one child and one lock per mailbox); a detached
 * runner (deliver_spawn) takes what stayed locked.
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
static void child(const struct conf *c, unsigned lms, int qfd, const struct q_env *e, const struct auth_user *u,
		  const char *path, const struct buf *prefix, int wfd)
{
	struct mbox_append a;
	int code = 0;

	if (priv_become_delivery(c, u->uid, u->gid) < 0) {
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

/* Records the outcome of one recipient's delivery (code: 0 or an errno)
 * in its queue line.  A success is synced only when sync_done is set: the
 * caller syncs it later or removes the file. */
static int apply_result(int qfd, const struct q_env *e, struct q_rcpt *r, int code,
			const char *path, const char *uname, int sync_done)
{
	char reason[Q_REASON_LEN + 1];

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
	if (code == EACCES || code == EPERM) {
		const char *slash = strrchr(path, '/');
		int dl = slash ? (int)(slash - path) : 1;
		/* something the admin must fix: say what is expected */
		log_msg(LOG_ERR, "%s: cannot create or lock mailbox %s: %s: the spool %.*s must be "
			"root:mail 2775 (mail_privileged_group = mail) or 1777, and the mailbox owned by %s",
			e->id, path, strerror(code), dl, slash ? path : ".", uname);
	}
	/* the reason field is fixed-width: truncation is fine */
	if (snprintf(reason, sizeof reason, "4.2.0 cannot update mailbox of %.60s: %s", uname,
		     code == EAGAIN ? "lock timeout" : strerror(code)) < 0)
		reason[0] = '\0';
	log_msg(LOG_INFO, "%s: to=<%s>, status=deferred (%s)", e->id, r->addr, reason);
	if ((long long)time(NULL) - e->time > Q_LIFETIME_SEC) {
		reason[0] = '5';
		return queue_set_state(qfd, r, Q_FAILED, reason);
	}
	return queue_set_state(qfd, r, Q_DEFERRED, reason);
}

/* The recipient's account and mailbox; 0, or -1 with its state set. */
static int resolve(const struct conf *c, int qfd, struct q_rcpt *r, struct auth_user *u,
		   char *path, size_t pathlen)
{
	if (auth_lookup(c, r->user, u) < 0) {
		if (errno == ENOENT)
			queue_set_state(qfd, r, Q_FAILED, "5.1.1 unknown user");
		else
			queue_set_state(qfd, r, Q_DEFERRED, "4.3.0 user lookup failed");
		return -1;
	}
	if (conf_spool_path(c, u->name, path, pathlen) < 0) {
		queue_set_state(qfd, r, Q_FAILED, "5.1.1 bad mailbox name");
		return -1;
	}
	return 0;
}

/* Runs one recipient; sets its state in the file.  A success is synced
 * only when more work on the file follows (sync_done): the last one is
 * followed by the removal of the file, or by the caller's fdatasync. */
static int deliver_one(const struct conf *c, unsigned lms, int qfd, const struct q_env *e,
		       struct q_rcpt *r, int sync_done)
{
	struct auth_user u;
	struct buf prefix;
	char path[PATH_MAX];
	int p[2], code = EIO, status;
	pid_t pid;

	if (resolve(c, qfd, r, &u, path, sizeof path) < 0)
		return 0;
	buf_init(&prefix);
	if (build_prefix(e, r, &prefix) < 0 || pipe2(p, O_CLOEXEC) < 0) {
		buf_free(&prefix);
		return queue_set_state(qfd, r, Q_DEFERRED, "4.3.0 out of memory");
	}
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(c, lms, qfd, e, &u, path, &prefix, p[1]);
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
	return apply_result(qfd, e, r, code, path, u.name, sync_done);
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

/* A queue file being worked on, under flock. */
struct qfile {
	int fd;
	int unsynced;                   /* a Q_DONE state not yet fdatasync'ed */
	char path[PATH_MAX];
	struct q_env e;
};

/* 1: open, locked and loaded; 0: gone or another runner has it; -1 error. */
static int qf_open(const struct conf *c, const char *id, struct qfile *f)
{
	struct stat st;

	f->fd = -1;
	f->unsynced = 0;
	if (!*id || strchr(id, '/') || id[0] == '.' || queue_path(c, id, f->path, sizeof f->path) < 0)
		return -1;
	f->fd = open(f->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (f->fd < 0)
		return errno == ENOENT ? 0 : -1;
	/* one runner per file; the loser simply leaves */
	if (flock(f->fd, LOCK_EX | LOCK_NB) < 0 || fstat(f->fd, &st) < 0 || st.st_nlink == 0) {
		close(f->fd);
		f->fd = -1;
		return 0;
	}
	if (queue_load(f->fd, &f->e) < 0) {
		log_msg(LOG_ERR, "%s: bad queue file: %m", id);
		close(f->fd);
		f->fd = -1;
		return -1;
	}
	return 1;
}

static int todo(const struct q_rcpt *r, int retry)
{
	return r->kind == RCPT_OK && (r->state == Q_PENDING || (retry && r->state == Q_DEFERRED));
}

/* After delivery: bounces for what failed, the file removed when every
 * recipient is done (the directory is not synced: *unlinked_r says the
 * caller must), closed.  *deferred_r (if given) counts deferred ones. */
static void qf_finish(const struct conf *c, struct qfile *f, int *unlinked_r, size_t *deferred_r)
{
	struct q_env *e = &f->e;
	char bid[Q_ID_MAX];
	size_t i, left = 0, failed = 0;

	for (i = 0; i < e->r.n; i++) {
		struct q_rcpt *r = &e->r.v[i];
		if (r->state == Q_FAILED)
			failed++;
		if (r->state != Q_DONE && r->state != Q_BOUNCED && r->state != Q_FAILED)
			left++;
		if (deferred_r && r->state == Q_DEFERRED)
			(*deferred_r)++;
	}
	/* the file stays (or bounces follow): every success must be durable */
	if (f->unsynced && (left || failed))
		fdatasync(f->fd);
	if (failed) {
		bid[0] = '\0';
		if (bounce_queue(c, f->fd, e, bid, sizeof bid) == 0) {
			for (i = 0; i < e->r.n; i++)
				if (e->r.v[i].state == Q_FAILED)
					queue_set_state(f->fd, &e->r.v[i], Q_BOUNCED, e->r.v[i].reason);
			if (bid[0])
				deliver_file(c, bid, 0);
		} else {
			left++;
			log_msg(LOG_ERR, "%s: cannot queue the bounce: %m", e->id);
		}
	}
	if (left == 0) {
		unlink(f->path);
		retry_remove(c, e->id);         /* issue 12: its retry schedule */
		*unlinked_r = 1;
		log_msg(LOG_INFO, "%s: removed", e->id);
	}
	queue_env_free(e);
	close(f->fd);
	f->fd = -1;
}

/* *deferred_r (if given) counts recipients left deferred by this run.
 * remote: also run the remote recipients (issue 12, relay.c); else their
 * pending ones count in *deferred_r so the caller hands the file on. */
static int run_file(const struct conf *c, const char *id, int retry, unsigned lms,
		    size_t *deferred_r, int remote)
{
	char dir[PATH_MAX];
	struct qfile f;
	size_t i, n = 0;
	int r, unlinked = 0;

	if (queue_path(c, NULL, dir, sizeof dir) < 0)
		return -1;
	r = qf_open(c, id, &f);
	if (r <= 0)
		return r;
	for (i = 0; i < f.e.r.n; i++)
		n += todo(&f.e.r.v[i], retry);
	for (i = 0; i < f.e.r.n; i++) {
		struct q_rcpt *rc = &f.e.r.v[i];
		if (!todo(rc, retry))
			continue;
		n--;
		deliver_one(c, lms, f.fd, &f.e, rc, n > 0);
		f.unsynced = n == 0 && rc->state == Q_DONE;
	}
	/* issue 12: remote recipients */
	if (remote)
		relay_file(c, f.fd, f.path, &f.e, retry);
	else if (deferred_r)
		*deferred_r += relay_pending(&f.e);
	qf_finish(c, &f, &unlinked, deferred_r);
	if (unlinked)
		fsync_dir(dir);
	return 0;
}

/* ---- batches (smtpd's session worker, worker.c) ----
 * The recipients of several queue files that share a mailbox go to one
 * process running as its owner, which takes the mailbox lock once and
 * appends them in queue order (each append fsync'ed by libmbox before its
 * result is reported), then unlocks: the lock is held only while there is
 * work, never while waiting for more.  The states are written after the
 * child's report; the files done are removed and the queue directory
 * fsync'ed once for the batch. */
#define GROUP_MAX 64

static void spawn(const struct conf *c, char (*ids)[Q_ID_MAX], size_t n, int retry);

struct job {
	struct qfile *f;
	struct q_rcpt *r;
	struct auth_user u;
	char path[PATH_MAX];
	struct buf prefix;
	int code;
	int grouped;
};

static void group_child(const struct conf *c, unsigned lms, struct job **g, size_t n,
			struct qfile *fv, size_t nf, int wfd)
{
	struct mbox mb;
	struct mbox_append a;
	size_t i, k;
	int code = 0, rc;

	/* only the files of this mailbox's messages stay open as the user */
	for (k = 0; k < nf; k++) {
		for (i = 0; i < n && g[i]->f != &fv[k]; i++)
			;
		if (i == n && fv[k].fd >= 0)
			close(fv[k].fd);
	}
	if (priv_become_delivery(c, g[0]->u.uid, g[0]->u.gid) < 0) {
		code = errno ? errno : EPERM;
		log_msg(LOG_ERR, "cannot become uid %ld: %m", (long)g[0]->u.uid);
	} else if (mbox_open(&mb, g[0]->path, MBOX_RDWR | MBOX_CREATE) < 0) {
		code = errno ? errno : EIO;
	} else if (mbox_lock(&mb, MBOX_LOCK_WRITE, lms) < 0) {
		code = errno ? errno : EIO;
		mbox_close(&mb);
	}
	for (i = 0; i < n; i++) {
		struct job *j = g[i];
		rc = code;
		if (!code) {
			memset(&a, 0, sizeof a);
			a.sender = j->f->e.sender;
			a.prefix = j->prefix.s;
			a.prefix_len = j->prefix.len;
			a.fd = j->f->fd;
			a.data_off = (uint64_t)j->f->e.data_off;
			a.len = (size_t)(j->f->e.size - j->f->e.data_off);
			a.strip_meta = 1;
			a.date = j->f->e.time;
			if (mbox_append(&mb, &a, NULL) < 0)
				rc = errno ? errno : EIO;
		}
		if (write(wfd, &rc, sizeof rc) != sizeof rc)
			_exit(2);
	}
	/* every append was fsync'ed: a failure to unlock changes nothing */
	if (!code)
		mbox_close(&mb);
	_exit(0);
}

/* Delivers one group (same mailbox); sets each job's code. */
static void run_group(const struct conf *c, unsigned lms, struct job **g, size_t n,
		      struct qfile *fv, size_t nf)
{
	size_t i, got = 0;
	int p[2], status, code;
	pid_t pid;

	for (i = 0; i < n; i++)
		g[i]->code = EIO;
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		group_child(c, lms, g, n, fv, nf, p[1]);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return;
	}
	while (got < n) {
		ssize_t r = read(p[0], &code, sizeof code);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != sizeof code)
			break;
		g[got++]->code = code;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

int deliver_batch(const struct conf *c, char (*ids)[Q_ID_MAX], size_t n)
{
	char dir[PATH_MAX];
	struct qfile *fv;
	struct job *jv = NULL, **g = NULL;
	size_t i, k, nf = 0, nj = 0, cap = 0, ng, nrun = 0, deferred, nlater = 0;
	unsigned lms = lock_ms(c);
	int unlinked = 0, remote = 0;

	/* as after a session: a short lock budget, so one mailbox held for
	 * long does not stall the others; what it defers gets the full
	 * budget in a runner */
	if (lms > SMTP_QUICK_LOCK_MS)
		lms = SMTP_QUICK_LOCK_MS;

	if (n == 0 || queue_path(c, NULL, dir, sizeof dir) < 0)
		return -1;
	fv = calloc(n, sizeof *fv);
	if (!fv)
		return -1;
	for (i = 0; i < n; i++)
		if (qf_open(c, ids[i], &fv[nf]) > 0)
			nf++;
	/* one job per pending local recipient whose account resolves */
	for (k = 0; k < nf; k++) {
		for (i = 0; i < fv[k].e.r.n; i++) {
			struct q_rcpt *r = &fv[k].e.r.v[i];
			struct job *j;
			if (!todo(r, 0))
				continue;
			if (nj == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct job *v = realloc(jv, ncap * sizeof *v);
				if (!v) {
					queue_set_state(fv[k].fd, r, Q_DEFERRED, "4.3.0 out of memory");
					continue;
				}
				jv = v;
				cap = ncap;
			}
			j = &jv[nj];
			memset(j, 0, sizeof *j);
			j->f = &fv[k];
			j->r = r;
			buf_init(&j->prefix);
			if (resolve(c, fv[k].fd, r, &j->u, j->path, sizeof j->path) < 0)
				continue;
			if (build_prefix(&fv[k].e, r, &j->prefix) < 0) {
				buf_free(&j->prefix);
				queue_set_state(fv[k].fd, r, Q_DEFERRED, "4.3.0 out of memory");
				continue;
			}
			nj++;
		}
	}
	g = nj ? calloc(nj < GROUP_MAX ? nj : GROUP_MAX, sizeof *g) : NULL;
	if (nj && !g) {
		for (i = 0; i < nj; i++)
			queue_set_state(jv[i].f->fd, jv[i].r, Q_DEFERRED, "4.3.0 out of memory");
		nj = 0;
	}
	/* groups: the same mailbox and owner, in queue order */
	for (i = 0; i < nj; i++) {
		if (jv[i].grouped)
			continue;
		nrun++;
		ng = 0;
		for (k = i; k < nj && ng < GROUP_MAX; k++) {
			if (jv[k].grouped || jv[k].u.uid != jv[i].u.uid || strcmp(jv[k].path, jv[i].path))
				continue;
			jv[k].grouped = 1;
			g[ng++] = &jv[k];
		}
		run_group(c, lms, g, ng, fv, nf);
		for (k = 0; k < ng; k++) {
			apply_result(g[k]->f->fd, &g[k]->f->e, g[k]->r, g[k]->code, g[k]->path,
				     g[k]->u.name, 0);
			if (g[k]->code == 0)
				g[k]->f->unsynced = 1;
		}
	}
	log_msg(LOG_DEBUG, "batch: %zu files, %zu deliveries, %zu mailbox runs", nf, nj, nrun);
	for (i = 0; i < nj; i++)
		buf_free(&jv[i].prefix);
	free(jv);
	free(g);
	for (k = 0; k < nf; k++) {
		/* issue 12: remote recipients go to a runner */
		deferred = relay_pending(&fv[k].e);
		remote |= deferred > 0;
		str_copyz(ids[nlater], sizeof ids[0], fv[k].e.id);
		qf_finish(c, &fv[k], &unlinked, &deferred);
		nlater += deferred ? 1 : 0;
	}
	free(fv);
	if (unlinked)
		fsync_dir(dir);
	if (nlater && (lms < lock_ms(c) || remote))
		spawn(c, ids, nlater, 1);
	return 0;
}

int deliver_file(const struct conf *c, const char *id, int retry)
{
	return run_file(c, id, retry, lock_ms(c), NULL, 1);
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

struct qent {
	struct timespec t;
	char id[Q_ID_MAX];
};

static int qent_cmp(const void *a, const void *b)
{
	const struct qent *x = a, *y = b;

	if (x->t.tv_sec != y->t.tv_sec)
		return x->t.tv_sec < y->t.tv_sec ? -1 : 1;
	if (x->t.tv_nsec != y->t.tv_nsec)
		return x->t.tv_nsec < y->t.tv_nsec ? -1 : 1;
	return strcmp(x->id, y->id);
}

int deliver_queue(const struct conf *c)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;
	struct qent *v = NULL;
	struct statx sx;
	struct statx_timestamp ts;
	size_t n = 0, cap = 0, i;

	deliver_pickup(c);
	if (queue_path(c, NULL, dir, sizeof dir) < 0)
		return -1;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	/* in order of arrival (the files' birth times, else their mtimes,
	 * which a deferral changes), not the directory's */
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= Q_ID_MAX ||
		    statx(dirfd(d), de->d_name, AT_SYMLINK_NOFOLLOW, STATX_BTIME | STATX_MTIME, &sx) < 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct qent *nv = realloc(v, ncap * sizeof *nv);
			if (!nv)
				break;
			v = nv;
			cap = ncap;
		}
		ts = (sx.stx_mask & STATX_BTIME) ? sx.stx_btime : sx.stx_mtime;
		v[n].t.tv_sec = (time_t)ts.tv_sec;
		v[n].t.tv_nsec = (long)ts.tv_nsec;
		str_copyz(v[n].id, sizeof v[n].id, de->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof *v, qent_cmp);
	for (i = 0; i < n; i++)
		deliver_file(c, v[i].id, 1);
	free(v);
	relay_end();                    /* issue 12 */
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
	relay_end();                    /* issue 12 */
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
		run_file(c, ids[i], 0, lms, &deferred, 0);
		if (deferred && later + nlater != ids + i)
			memmove(later[nlater], ids[i], Q_ID_MAX);
		nlater += deferred ? 1 : 0;
	}
	if (nlater)
		spawn(c, later, nlater, 1);
}
