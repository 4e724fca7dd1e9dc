/* Local delivery from the queue, always as a batch of files (one file is
 * a batch of one): each file under flock (so no two processes deliver it
 * twice), the recipients grouped by mailbox, one child per mailbox that
 * holds the messages read-only, becomes the owner (euid/egid, saved gid
 * mail), locks once and appends each with libmbox, which quotes, fsyncs
 * and rolls back.  Results are written into the files' recipient lines
 * after each of the child's reports, and each recipient is marked
 * Q_TRYING before the child starts: a delivery a crash interrupted is
 * found so, and its retry first looks for the copy libmbox may have
 * stored (mbox_append's once), so it is neither lost nor delivered twice.
 * Callers: smtpd's delivery worker (deliver_batch, short lock budget),
 * and the queue runner (runner.c): its light pass for the mail of ended
 * sessions (deliver_batch too) and its full pass (deliver_file), which
 * takes what stayed locked.
 *   temporary (lock timeout, disk full, I/O): deferred, retried by the runner
 *   permanent (user gone, quota/file too big): bounced (bounce.c) */
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

/* a job's code when the delivery child ended before it reported it */
#define CODE_UNKNOWN (-1)

static int build_prefix(const struct q_env *e, const struct q_rcpt *r, struct buf *b)
{
	if (buf_printf(b, "Return-Path: <%s>\n", e->sender) < 0)
		return -1;
	if (r->orig[0] && !str_ieq(r->orig, strlen(r->orig), r->addr, strlen(r->addr)) &&
	    buf_printf(b, "X-Original-To: %s\n", r->orig) < 0)
		return -1;
	return buf_printf(b, "Delivered-To: %s\n", r->addr);
}

/* libmbox keeps its crash records (append record, rewrite journal) under
 * the euid's home, from $HOME when the uid has no passwd entry (a
 * passwd-file user), as priv_become_user does for pop3d and imapd.  The
 * journal directory is named here, from the home already looked up (as
 * imapd does): else libmbox asks getpwuid for it at each step of every
 * append, which costs each delivery child an NSS lookup (and loads the
 * NSS modules) three times. */
static void recipient_home(const struct conf *c, const struct auth_user *u)
{
	char dir[PATH_MAX];
	int n;

	if (u->home[0] == '/' && setenv("HOME", u->home, 1) < 0)
		log_msg(LOG_WARNING, "setenv HOME: %m");
	/* the append extends the mailbox index the servers keep (libmbox) */
	mbox_set_index_dir(conf_index_dir(c, u->home, dir, sizeof dir) == 0 ? dir : NULL);
	if (u->home[0] != '/' || getenv("MBOX_JOURNAL_DIR"))
		return;
	n = snprintf(dir, sizeof dir, "%s/.libmbox", u->home);
	if (n < 0 || (size_t)n + sizeof "/journal" > sizeof dir)
		return;
	/* named even when it cannot be made (a home the user cannot write):
	 * libmbox's mkdir of the journal fails the same way and the append
	 * goes on without its record, as when libmbox looked the home up
	 * itself, but without that lookup (for a passwd-file user, a miss in
	 * /etc/passwd that loads libnss_systemd in every delivery child) */
	(void)mkdir(dir, 0700);
	memcpy(dir + n, "/journal", sizeof "/journal");
	mbox_set_journal_dir(dir);
}

/* In a delivery child, before it becomes the recipient: each queue file
 * it needs is reopened read-only on the same descriptor number (the
 * parent's read-write one, with its flock, stays the parent's), and every
 * other descriptor but the result pipe and the log is closed: the child
 * gets the message bytes and nothing else of root's (runner.lock, other
 * queue files, the session socket).  0, or -1: the child must not go on. */
static int child_fds(const int *qfds, const char *const *paths, size_t n, int wfd)
{
	struct stat a, b;
	int keep[DELIVER_GROUP_MAX + 1], ro;
	size_t i;

	if (n > DELIVER_GROUP_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		ro = open(paths[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (ro < 0 || fstat(ro, &a) < 0 || fstat(qfds[i], &b) < 0 || a.st_ino != b.st_ino ||
		    a.st_dev != b.st_dev || dup3(ro, qfds[i], O_CLOEXEC) < 0)
			return -1;
		close(ro);
		keep[i] = qfds[i];
	}
	keep[n] = wfd;
	priv_close_fds(keep, n + 1);
	return 0;
}

/* Records the outcome of one recipient's delivery (code: 0 or an errno)
 * in its queue line.  A success is synced only when sync_done is set: the
 * caller syncs it later or removes the file. */
static int apply_result(const struct conf *c, int qfd, const struct q_env *e, struct q_rcpt *r, int code,
			const char *path, const char *uname, int sync_done)
{
	char reason[Q_REASON_LEN + 1];
	/* past the queue lifetime a deferral becomes a failure (5.x.x) */
	int expired = (long long)time(NULL) - e->time > (long long)c->maximal_queue_lifetime;

	if (code == CODE_UNKNOWN) {
		/* the child died (killed, a crash) without saying whether this
		 * one was stored: it stays Q_TRYING, so the next delivery looks
		 * for the copy before writing; expired, the sender is told */
		log_msg(LOG_ERR, "%s: to=<%s>: the delivery process ended before it reported%s", e->id,
			r->addr, expired ? ": expired" : "; tried again");
		return expired ? queue_set_state(qfd, r, Q_FAILED, "5.3.0 delivery process failed")
			       : queue_set_state(qfd, r, Q_TRYING, "4.3.0 delivery process ended early");
	}
	if (code == 0) {
		log_msg(LOG_INFO, "%s: to=<%s>, relay=local, status=sent (delivered to mailbox %s)",
			e->id, r->addr, path);
		return sync_done ? queue_set_state(qfd, r, Q_DONE, "") :
			queue_set_state_nosync(qfd, r, Q_DONE, "");
	}
	if (code == EDQUOT || code == EFBIG) {
		if (snprintf(reason, sizeof reason, "5.2.2 mailbox full: %s", strerror(code)) < 0)
			str_copyz(reason, sizeof reason, "5.2.2 mailbox full");
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
	if (snprintf(reason, sizeof reason, "%c.2.0 cannot update mailbox of %.60s: %s", expired ? '5' : '4',
		     uname, code == EAGAIN ? "lock timeout" : strerror(code)) < 0)
		str_copyz(reason, sizeof reason, expired ? "5.2.0" : "4.2.0");
	log_msg(LOG_INFO, "%s: to=<%s>, status=%s (%s)", e->id, r->addr, expired ? "expired" : "deferred",
		reason);
	return queue_set_state(qfd, r, expired ? Q_FAILED : Q_DEFERRED, reason);
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

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* When this system booted (seconds since the epoch), or 0. */
static long long boot_time(void)
{
	static long long t = -1;
	struct timespec now, up;

	if (t < 0)
		t = clock_gettime(CLOCK_REALTIME, &now) == 0 && clock_gettime(CLOCK_BOOTTIME, &up) == 0 ?
			(long long)now.tv_sec - (long long)up.tv_sec : 0;
	return t;
}

/* A queue file being worked on, under flock. */
struct qfile {
	int fd;
	int unsynced;                   /* a Q_DONE state not yet fdatasync'ed */
	int before_boot;                /* last written before this boot */
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
	/* a power cut may have lost a Q_TRYING written without a sync, not
	 * the mailbox's fsync'ed copy: such a file's deliveries look first */
	f->before_boot = (long long)st.st_mtime < boot_time();
	if (queue_load(f->fd, &f->e) < 0) {
		log_msg(LOG_ERR, "%s: bad queue file: %m", id);
		close(f->fd);
		f->fd = -1;
		return -1;
	}
	return 1;
}

/* A Q_TRYING is a delivery a crash interrupted (the file is ours under
 * flock, so nobody else is delivering it): always taken again. */
static int todo(const struct q_rcpt *r, int retry)
{
	return r->kind == RCPT_OK && (r->state == Q_PENDING || r->state == Q_TRYING ||
				      (retry && r->state == Q_DEFERRED));
}

/* After delivery: bounces for what failed, the file removed when every
 * recipient is done (the directory is not synced: *unlinked_r says the
 * caller must), closed.  *deferred_r (if given) counts deferred ones. */
static int qf_finish(const struct conf *c, struct qfile *f, int *unlinked_r, size_t *deferred_r)
{
	struct q_env *e = &f->e;
	char bid[Q_ID_MAX];
	size_t i, left = 0, failed = 0;
	int need = 0;

	for (i = 0; i < e->r.n; i++) {
		struct q_rcpt *r = &e->r.v[i];
		if (r->state == Q_FAILED)
			failed++;
		if (r->state != Q_DONE && r->state != Q_BOUNCED && r->state != Q_FAILED)
			left++;
		if (deferred_r && (r->state == Q_DEFERRED || r->state == Q_TRYING))
			(*deferred_r)++;
	}
	/* the file stays (or bounces follow): every success must be durable */
	if (f->unsynced && (left || failed) && fdatasync(f->fd) < 0)
		log_msg(LOG_ERR, "%s: cannot sync the queue file: %m (a crash now may deliver again)", e->id);
	if (failed) {
		bid[0] = '\0';
		if (bounce_queue(c, f->fd, e, bid, sizeof bid) == 0) {
			for (i = 0; i < e->r.n; i++)
				if (e->r.v[i].state == Q_FAILED)
					queue_set_state(f->fd, &e->r.v[i], Q_BOUNCED, e->r.v[i].reason);
			if (bid[0])
				need = deliver_file(c, bid, 0) > 0;
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
	return need;
}

/* ---- batches: every delivery (a file of the runner is a batch of one) ----
 * The recipients of several queue files that share a mailbox go to one
 * process running as its owner, which takes the mailbox lock once and
 * appends them in queue order in one transaction (one crash record, one
 * fsync by libmbox before the results are reported; a message a crash may
 * have stored already is looked for and appended on its own), then
 * unlocks: the lock is held only while there is work, never while waiting
 * for more.  The states are written after the child's report; the files
 * done are removed and the queue directory fsync'ed once for the batch. */

/* Set while the runner's pass runs: its deliveries (bounces too) send
 * remote recipients themselves; elsewhere they request a run. */
static int in_runner;

void deliver_in_runner(int on)
{
	in_runner = on;
}

struct job {
	struct qfile *f;
	struct q_rcpt *r;
	struct auth_user u;
	char path[PATH_MAX];
	struct buf prefix;
	int code;                       /* 0, an errno, or CODE_UNKNOWN */
	int grouped;
	int check;                      /* may be stored already: look first */
};


/* The append of j's message (its recipient's prefix, its queue file). */
static void job_append(const struct job *j, struct mbox_append *a)
{
	memset(a, 0, sizeof *a);
	a->sender = j->f->e.sender;
	a->prefix = j->prefix.s;
	a->prefix_len = j->prefix.len;
	a->fd = j->f->fd;
	a->data_off = (uint64_t)j->f->e.data_off;
	a->len = (size_t)(j->f->e.size - j->f->e.data_off);
	a->strip_meta = 1;
	a->date = j->f->e.time;
	a->once = j->check;
}

static void group_child(const struct conf *c, unsigned lms, struct job **g, size_t n,
			struct qfile *fv, size_t nf, int wfd)
{
	static struct mbox_append av[DELIVER_GROUP_MAX];
	struct mbox mb;
	struct mbox_append a;
	size_t i, k;
	int code = 0, rc, batch_ok = 1;

	int qfds[DELIVER_GROUP_MAX];
	const char *qpaths[DELIVER_GROUP_MAX];
	size_t nq = 0;

	/* only the files of this mailbox's messages stay open as the user,
	 * read-only */
	for (k = 0; k < nf; k++) {
		for (i = 0; i < n && g[i]->f != &fv[k]; i++)
			;
		if (i < n && fv[k].fd >= 0 && nq < DELIVER_GROUP_MAX) {
			qfds[nq] = fv[k].fd;
			qpaths[nq++] = fv[k].path;
		}
	}
	if (child_fds(qfds, qpaths, nq, wfd) < 0) {
		code = errno ? errno : EIO;
		log_msg(LOG_ERR, "delivery child: cannot reopen the queue files read-only: %m");
	} else if (priv_become_delivery(c, g[0]->u.uid, g[0]->u.gid) < 0) {
		code = errno ? errno : EPERM;
		log_msg(LOG_ERR, "cannot become uid %ld: %m", (long)g[0]->u.uid);
	} else {
		recipient_home(c, &g[0]->u);
		if (mbox_open(&mb, g[0]->path, MBOX_RDWR | MBOX_CREATE) < 0) {
			code = errno ? errno : EIO;
		} else if (mbox_lock(&mb, MBOX_LOCK_WRITE, lms) < 0) {
			code = errno ? errno : EIO;
			mbox_close(&mb);
		}
	}
	for (i = 0; i < n; i++) {
		struct job *j = g[i];
		size_t run;
		rc = code;
		/* a run of messages no crash may have stored already: one
		 * transaction, one crash record and one fsync for all; if it
		 * fails nothing of it is stored and they go one by one */
		for (run = 0; !code && batch_ok && i + run < n && !g[i + run]->check; run++)
			job_append(g[i + run], &av[run]);
		if (run > 1 && (batch_ok = mbox_append_many(&mb, av, run, NULL) == 0)) {
			for (k = 0; k < run; k++)
				if (write(wfd, &rc, sizeof rc) != sizeof rc)
					_exit(2);
			i += run - 1;
			continue;
		}
		if (!code) {
			job_append(j, &a);
			rc = mbox_append(&mb, &a, NULL);
			if (rc == 1)
				log_msg(LOG_INFO, "%s: to=<%s>: already in %s (stored before an interrupted "
					"delivery): not delivered again", j->f->e.id, j->r->addr, j->path);
			rc = rc < 0 ? (errno ? errno : EIO) : 0;
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
	/* before the child may write: a crash from now on leaves Q_TRYING,
	 * and the next delivery looks for the copy first (no sync needed: a
	 * process killed leaves the page cache; a power cut is caught by the
	 * file's mtime, qf_open) */
	for (i = 0; i < n; i++)
		queue_set_state_nosync(g[i]->f->fd, g[i]->r, Q_TRYING, "");
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
	for (i = 0; i < n; i++)
		g[i]->code = CODE_UNKNOWN;      /* until the child reports it */
	while (got < n) {
		ssize_t r = read(p[0], &code, sizeof code);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != sizeof code)
			break;
		/* recorded as it happens, by root (the child holds the queue
		 * files read-only): a crash of this group redelivers at most
		 * the messages being written (one, or the child's run of them
		 * in one transaction), whose partial copy libmbox cuts back,
		 * never the ones reported before */
		if (code == 0)
			queue_set_state_nosync(g[got]->f->fd, g[got]->r, Q_DONE, "");
		g[got++]->code = code;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* Delivers the todo(retry) recipients of n files with lock budget lms;
 * what a short budget left deferred goes to the queue runner, and so do
 * remote recipients unless remote (the runner itself: relay.c). */
static int batch(const struct conf *c, char (*ids)[Q_ID_MAX], size_t n, int retry, unsigned lms, int remote)
{
	char dir[PATH_MAX];
	struct qfile *fv;
	struct job *jv = NULL, **g = NULL;
	size_t i, k, nf = 0, nj = 0, cap = 0, ng, nrun = 0, deferred, nlater = 0;
	int unlinked = 0, runner = 0, more = 0;   /* more: a bounce or notice needs a run */
	char notice[Q_ID_MAX];

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
			if (!todo(r, retry))
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
			j->check = r->state == Q_TRYING || fv[k].before_boot;
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
	g = nj ? calloc(nj < DELIVER_GROUP_MAX ? nj : DELIVER_GROUP_MAX, sizeof *g) : NULL;
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
		for (k = i; k < nj && ng < DELIVER_GROUP_MAX; k++) {
			if (jv[k].grouped || jv[k].u.uid != jv[i].u.uid || strcmp(jv[k].path, jv[i].path))
				continue;
			jv[k].grouped = 1;
			g[ng++] = &jv[k];
		}
		run_group(c, lms, g, ng, fv, nf);
		for (k = 0; k < ng; k++) {
			apply_result(c, g[k]->f->fd, &g[k]->f->e, g[k]->r, g[k]->code, g[k]->path,
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
		/* remote recipients (issue 12): sent by the runner, else left to it */
		deferred = 0;
		notice[0] = '\0';
		if (remote) {
			/* handed to the relay agents: deliver_reap finishes it
			 * (the file stays open and locked meanwhile) */
			struct qfile *h = malloc(sizeof *h);
			if (h) {
				*h = fv[k];
				if (relay_submit(c, h->fd, h->path, &h->e, retry, h, notice, sizeof notice) > 0)
					continue;
				free(h);
			}
		} else {
			deferred = relay_pending(&fv[k].e);
		}
		runner |= deferred > 0;
		str_copyz(ids[nlater], sizeof ids[0], fv[k].e.id);
		more |= qf_finish(c, &fv[k], &unlinked, &deferred);
		nlater += deferred ? 1 : 0;
		if (notice[0])
			more |= deliver_file(c, notice, 0) > 0;
	}
	free(fv);
	if (unlinked)
		fsync_dir(dir);
	/* what a short lock budget left, and remote recipients outside the
	 * runner, need a queue run: the caller asks for it */
	return (nlater && (lms < conf_lock_ms(c, SMTP_LOCK_TIMEOUT_MS) || runner)) || more ? 1 : 0;
}

/* The runner's files whose remote recipients came back from the relay
 * agents (relay.c): bounces, notices, removal.  wait: until no job is
 * out.  Not reentrant: the bounces it delivers may hand files to the
 * agents, which the loop here finishes too. */
void deliver_reap(const struct conf *c, int wait)
{
	static int busy;
	char notice[Q_ID_MAX], dir[PATH_MAX];
	struct qfile *f;
	int unlinked = 0;

	if (busy)
		return;
	busy = 1;
	do {
		while ((f = relay_done(notice, sizeof notice))) {
			qf_finish(c, f, &unlinked, NULL);
			free(f);
			if (notice[0])
				deliver_file(c, notice, 0);
		}
	} while (wait && relay_wait(c) > 0);
	if (unlinked && queue_path(c, NULL, dir, sizeof dir) == 0)
		fsync_dir(dir);
	busy = 0;
}

/* After a session (smtpd, its worker): a short lock budget, so one mailbox
 * held for long (a POP3 session of a locking server) neither stalls the
 * others nor keeps the smtpd instance; what it defers gets the full budget
 * from the queue runner. */
int deliver_batch(const struct conf *c, char (*ids)[Q_ID_MAX], size_t n)
{
	unsigned lms = conf_lock_ms(c, SMTP_LOCK_TIMEOUT_MS);

	return batch(c, ids, n, 0, lms < SMTP_QUICK_LOCK_MS ? lms : SMTP_QUICK_LOCK_MS, 0);
}

int deliver_file(const struct conf *c, const char *id, int retry)
{
	char one[1][Q_ID_MAX];

	str_copyz(one[0], sizeof one[0], id);
	return batch(c, one, 1, retry, conf_lock_ms(c, SMTP_LOCK_TIMEOUT_MS), in_runner);
}
