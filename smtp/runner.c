/* The queue runner: the one process that runs the queue (maildrop pickup,
 * then every queue file in order of arrival, deferred ones retried), one
 * message after another, in itself; only the per-mailbox delivery children
 * (deliver.c) and the relay agents (relay.c: at most default_process_limit,
 * kept across its passes) are forked, and it alone writes the queue.  At most one runs at a time: it holds an flock on
 * queue_directory/runner.lock.  A request (ETRN, sendmail, a session whose
 * mail was deferred) creates queue_directory/run.request and starts a
 * runner only when none holds the lock; the runner removes the request
 * before each pass and looks again after unlocking, so a request made
 * while it runs is never lost and never starts a second runner:
 *
 *   requester: request file; trylock -> fails: the holder will see it
 *   runner:    lock; while (take request) pass; unlock; request? again
 *
 * A session of smtpd that queued mail asks for its delivery with the
 * lighter new.request: a pass that delivers only the files new since the
 * last such pass (pass_new: batches, one child per mailbox, the short
 * lock budget; remote and deferred recipients are left to a full pass),
 * so that concurrent one-message sessions share the delivery processes
 * and fsyncs of one runner instead of forking one each.  Light passes
 * have a runner of their own, started and locked the same way
 * (new.request, new.lock): new mail never waits behind a full pass (a
 * remote host slow to answer, a mailbox held for its whole lock budget).  So at
 * most two runners exist, whatever clients and local users do; both may
 * meet on a queue file, whose flock makes one of them skip it.
 *
 * The files live in queue_directory, which only root may write. */
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
#include "bounds.h"
#include "log.h"
#include "priv.h"
#include "smtp.h"

static int qpath(const struct conf *c, const char *name, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", c->queue_directory, name);

	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* light: the light passes' runner (new.lock), else the full one */
static int lock_open(const struct conf *c, int light)
{
	char p[PATH_MAX];

	if (qpath(c, light ? "new.lock" : "runner.lock", p, sizeof p) < 0)
		return -1;
	return open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

#define REQ_RUN "run.request"
#define REQ_NEW "new.request"

/* The request carries this process's forcing (retry.c: sendmail -qf,
 * -qR, -qS, ETRN domain), appended, so a runner already active gets it.
 * A new.request carries nothing. */
static int request_set(const struct conf *c, const char *name)
{
	char p[PATH_MAX], f[RUN_REQUEST_MAX];
	struct stat st;
	int fd, n = 0, r = 0;

	if (qpath(c, name, p, sizeof p) < 0)
		return -1;
	if (!strcmp(name, REQ_RUN))
		n = retry_force_lines(f, sizeof f);
	fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	/* bounded: past RUN_REQUEST_MAX the runner forces every one anyway */
	if (n > 0 && fstat(fd, &st) == 0 && st.st_size < RUN_REQUEST_MAX && write(fd, f, (size_t)n) != n)
		r = -1;
	close(fd);
	return r;
}

/* 1 a request was pending (now taken, its forcing merged), 0 none.  It is
 * renamed before it is read: a request written after that makes a new
 * file, which the runner sees before it exits. */
static int request_take(const struct conf *c, int light)
{
	char p[PATH_MAX], t[PATH_MAX], f[RUN_REQUEST_MAX];
	ssize_t n;
	int fd;

	if (qpath(c, light ? REQ_NEW : REQ_RUN, p, sizeof p) < 0 ||
	    qpath(c, light ? "new.taken" : "run.taken", t, sizeof t) < 0 || rename(p, t) < 0)
		return 0;
	fd = open(t, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		n = read(fd, f, sizeof f);
		if (n == (ssize_t)sizeof f)
			retry_force(1, NULL, NULL);
		else if (n > 0)
			retry_force_parse(f, (size_t)n);
		close(fd);
	}
	unlink(t);
	return 1;
}

static int request_pending(const struct conf *c, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	return qpath(c, name, p, sizeof p) == 0 && lstat(p, &st) == 0;
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

/* The files of q/ in order of arrival (their birth times, else their
 * mtimes, which a deferral changes), not the directory's; with since > 0
 * only those whose inode changed at or after since (seconds): a file is
 * linked into q/ when committed, which sets its ctime.  -1 on error. */
static int list_queue(const char *dir, long long since, struct qent **v_r, size_t *n_r)
{
	DIR *d;
	struct dirent *de;
	struct qent *v = NULL;
	struct statx sx;
	struct statx_timestamp ts;
	size_t n = 0, cap = 0;

	*v_r = NULL;
	*n_r = 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= Q_ID_MAX ||
		    statx(dirfd(d), de->d_name, AT_SYMLINK_NOFOLLOW,
			  STATX_BTIME | STATX_MTIME | STATX_CTIME, &sx) < 0)
			continue;
		if (since > 0 && (long long)sx.stx_ctime.tv_sec < since)
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
	*v_r = v;
	*n_r = n;
	return 0;
}

/* The full pass: maildrop pickup, stale temp files, then every queue file
 * in order of arrival, deferred recipients retried, remote ones sent. */
static int pass(const struct conf *c)
{
	char dir[PATH_MAX];
	struct qent *v;
	size_t n, i;

	pickup_run(c);
	queue_sweep_tmp(c);
	if (queue_path(c, NULL, dir, sizeof dir) < 0 || list_queue(dir, 0, &v, &n) < 0)
		return -1;
	deliver_in_runner(1);
	for (i = 0; i < n; i++) {
		deliver_file(c, v[i].id, 1);
		deliver_reap(c, 0);     /* what the relay agents finished */
	}
	deliver_reap(c, 1);
	deliver_in_runner(0);
	free(v);
	return 0;
}

/* files per batch of the light pass (each is open and flocked meanwhile).
 * A file the light pass does not see (a clock stepped back past its
 * slack) is only late: the full pass (sendmail -q, the timer) takes it. */
#define NEW_CHUNK 64

/* The light pass: the files of q/ new since this runner's previous light
 * pass, their pending local recipients only, in batches (deliver_batch:
 * one child per mailbox, the short lock budget); what they leave
 * (deferred, remote recipients) asks for a full pass. */
static int pass_new(const struct conf *c)
{
	static long long last;          /* start of the previous light pass */
	char dir[PATH_MAX];
	char (*ids)[Q_ID_MAX];
	struct qent *v;
	size_t n, i, k;
	long long start = (long long)time(NULL);
	int more = 0;

	if (queue_path(c, NULL, dir, sizeof dir) < 0 || list_queue(dir, last ? last - 1 : 0, &v, &n) < 0)
		return -1;
	last = start;
	ids = n ? malloc(NEW_CHUNK * sizeof *ids) : NULL;
	for (i = 0; ids && i < n; i += k) {
		for (k = 0; k < NEW_CHUNK && i + k < n; k++)
			str_copyz(ids[k], sizeof ids[k], v[i + k].id);
		if (deliver_batch(c, ids, k) > 0)
			more = 1;
	}
	if (more || (n && !ids))        /* no memory: a full pass takes them */
		runner_request(c);
	free(ids);
	free(v);
	return 0;
}

/* Passes while this process holds the runner lock and requests are
 * pending; returns at once when another runner holds it (it reads the
 * requests before it exits). */
static int runner_loop(const struct conf *c, int light)
{
	unsigned passes = 0;
	int fd = lock_open(c, light);

	if (fd < 0) {
		log_msg(LOG_ERR, "queue run: %s: %m", c->queue_directory);
		return -1;
	}
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			log_msg(LOG_DEBUG, "queue run requested (a runner is active)");
			break;
		}
		while (request_take(c, light)) {
			passes++;
			/* the mail group, for every delivery child of the pass */
			priv_mail_gid_cache(c);
			if (light)
				pass_new(c);
			else
				pass(c);
		}
		if (!light)
			relay_end();    /* the agents' connections, kept across passes */
		flock(fd, LOCK_UN);
		if (!request_pending(c, light ? REQ_NEW : REQ_RUN))
			break;
	}
	close(fd);
	if (passes && light)
		log_msg(LOG_DEBUG, "light passes done (%u)", passes);
	else if (passes)
		log_msg(LOG_INFO, "queue run done (%u pass%s)", passes, passes == 1 ? "" : "es");
	return 0;
}

int runner_run(const struct conf *c)
{
	if (queue_mkdirs(c) < 0 || request_set(c, REQ_RUN) < 0) {
		log_msg(LOG_ERR, "queue run: %s: %m", c->queue_directory);
		return -1;
	}
	return runner_loop(c, 0);
}

void runner_detach(const struct conf *c, const char *ident, int keep)
{
	int fd;

	setsid();
	log_close();
	if (keep > 3)
		close_range(3, (unsigned)keep - 1, 0);
	close_range(keep >= 3 ? (unsigned)keep + 1 : 3, ~0U, 0);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	log_open(ident, c->log);
}

static int request(const struct conf *c, int light)
{
	pid_t pid;
	int fd, status;

	if (request_set(c, light ? REQ_NEW : REQ_RUN) < 0 || (fd = lock_open(c, light)) < 0) {
		log_msg(LOG_ERR, "queue run request: %s: %m", c->queue_directory);
		return -1;
	}
	/* a runner is active: it will see the request */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return 0;
	}
	flock(fd, LOCK_UN);
	close(fd);
	pid = fork();
	if (pid < 0) {
		log_msg(LOG_ERR, "queue runner fork: %m (left to the next run)");
		return -1;
	}
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		runner_detach(c, "queue", -1);
		_exit(runner_loop(c, light) < 0 ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

int runner_request(const struct conf *c)
{
	return request(c, 0);
}

int runner_request_new(const struct conf *c)
{
	return request(c, 1);
}
