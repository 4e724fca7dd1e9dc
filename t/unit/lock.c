/* libmbox lock.c: open checks, fcntl + dotlock exclusion between
 * processes, back-off and EAGAIN, stale dotlocks, identity changes. */
#include "mbox.h"
#include "private.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/facteur-lock.XXXXXX";
static char path[256], lockpath[300];
static char host[256];

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void new_mbox(const char *name)
{
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(lockpath, sizeof lockpath, "%s.lock", path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "x\n", 2) != 2)
		diag("cannot create %s", path);
	close(fd);
}

static int read_file(const char *p, char *buf, size_t size)
{
	int fd = open(p, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return (int)n;
}

static void write_lock_file(const char *content, time_t age)
{
	struct timespec ts[2];
	int fd = open(lockpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t n = strlen(content);

	if (fd < 0 || write(fd, content, n) != (ssize_t)n)
		diag("cannot write %s", lockpath);
	close(fd);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age;
	ts[1] = ts[0];
	utimensat(AT_FDCWD, lockpath, ts, 0);
}

/* Temp files the dotlock code forgot. */
static int leftover_temps(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, ".lk.", 4) == 0)
			n++;
	if (d)
		closedir(d);
	return n;
}

/* A child that tries a lock; exit 0 locked, 1 EAGAIN, 2 other error.
 * It writes one byte to go_fd once it starts, when go_fd >= 0. */
static pid_t child_lock(int kind, unsigned timeout, int *status_pipe)
{
	int p[2];
	pid_t pid;

	if (pipe(p) == -1)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct mbox mb;
		int r;

		close(p[0]);
		if (mbox_open(&mb, path, kind == MBOX_LOCK_WRITE ? MBOX_RDWR : MBOX_RDONLY) == -1)
			_exit(3);
		r = mbox_lock(&mb, kind, timeout);
		if (r == 0 && write(p[1], "L", 1) != 1)
			_exit(4);
		r = r == 0 ? 0 : errno == EAGAIN ? 1 : 2;
		mbox_close(&mb);
		_exit(r);
	}
	close(p[1]);
	*status_pipe = p[0];
	return pid;
}

static int child_wait(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void t_open(void)
{
	struct mbox mb;
	char p2[300], buf[64];
	int fd;

	new_mbox("open");
	ok(mbox_open(&mb, path, MBOX_RDWR) == 0 && mb.fd >= 0 && mb.lock == MBOX_LOCK_NONE,
	   "open an existing mailbox");
	ok(strcmp(mbox_ls(&mb)->lockpath, lockpath) == 0, "lock path is MBOX.lock");
	ok(fcntl(mb.fd, F_GETFD) & FD_CLOEXEC, "fd is close-on-exec");
	mbox_close(&mb);
	ok(mb.fd == -1, "close resets fd");

	snprintf(p2, sizeof p2, "%s/missing", dir);
	ok(mbox_open(&mb, p2, MBOX_RDWR) == -1 && errno == ENOENT, "missing without CREATE: ENOENT");
	ok(mbox_open(&mb, p2, MBOX_RDWR | MBOX_CREATE) == 0, "missing with CREATE: created");
	mbox_close(&mb);
	fd = open(p2, O_WRONLY | O_APPEND);
	ok(fd >= 0 && write(fd, "keep\n", 5) == 5, "write some content");
	close(fd);
	ok(mbox_open(&mb, p2, MBOX_RDWR | MBOX_CREATE) == 0 && read_file(p2, buf, sizeof buf) == 5,
	   "CREATE never replaces an existing mailbox");
	mbox_close(&mb);

	snprintf(p2, sizeof p2, "%s/symlink", dir);
	ok(symlink(path, p2) == 0 && mbox_open(&mb, p2, MBOX_RDWR) == -1 && errno == ELOOP,
	   "symlink refused (ELOOP)");
	ok(mbox_open(&mb, p2, MBOX_RDWR | MBOX_CREATE) == -1, "symlink refused with CREATE");
	ok(mbox_open(&mb, dir, MBOX_RDONLY) == -1 && errno == EINVAL, "directory refused (EINVAL)");
	snprintf(p2, sizeof p2, "%s/fifo", dir);
	ok(mkfifo(p2, 0600) == 0 && mbox_open(&mb, p2, MBOX_RDONLY) == -1 && errno == EINVAL,
	   "FIFO refused without hanging (EINVAL)");
	snprintf(p2, sizeof p2, "%s/hardlink", dir);
	ok(link(path, p2) == 0 && mbox_open(&mb, path, MBOX_RDWR) == -1 && errno == EINVAL,
	   "file with two links refused (EINVAL)");
	unlink(p2);
	ok(mbox_open(&mb, "", MBOX_RDONLY) == -1 && errno == EINVAL, "empty path: EINVAL");
	{
		static char longp[PATH_MAX + 10];
		memset(longp, 'a', sizeof longp - 1);
		ok(mbox_open(&mb, longp, MBOX_RDONLY) == -1 && errno == ENAMETOOLONG,
		   "path too long: ENAMETOOLONG");
	}
}

static void t_write_lock(void)
{
	struct mbox mb;
	char buf[512], want[512];
	struct stat st;
	pid_t pid;
	int sp, r;
	long long t0;

	new_mbox("w");
	ok(mbox_open(&mb, path, MBOX_RDWR) == 0 && mbox_lock(&mb, MBOX_LOCK_WRITE, 1000) == 0,
	   "write lock taken");
	ok(mb.lock == MBOX_LOCK_WRITE && mbox_ls(&mb)->dotlocked, "state says write + dotlock");
	snprintf(want, sizeof want, "%ld:%s\n", (long)getpid(), host);
	if (strlen(want) > 16)
		snprintf(want, sizeof want, "%ld\n", (long)getpid());
	ok(read_file(lockpath, buf, sizeof buf) > 0 && strcmp(buf, want) == 0,
	   "dotlock content \"%.*s\"", (int)strcspn(want, "\n"), want);
	ok(lstat(lockpath, &st) == 0 && st.st_nlink == 1 && st.st_ino == mbox_ls(&mb)->lock_ino,
	   "dotlock has one link and is ours");
	ok(leftover_temps() == 0, "no temp file left behind");

	t0 = ms_now();
	pid = child_lock(MBOX_LOCK_WRITE, 400, &sp);
	r = child_wait(pid);
	close(sp);
	ok(r == 1, "another process's write lock: EAGAIN (%d)", r);
	ok(ms_now() - t0 >= 350 && ms_now() - t0 < 5000, "after about the budget (%lld ms)",
	   ms_now() - t0);
	pid = child_lock(MBOX_LOCK_READ, 200, &sp);
	r = child_wait(pid);
	close(sp);
	ok(r == 1, "another process's read lock: EAGAIN (%d)", r);

	/* the waiter gets it once we let go */
	pid = child_lock(MBOX_LOCK_WRITE, 5000, &sp);
	{
		struct pollfd pfd = { sp, POLLIN, 0 };
		ok(poll(&pfd, 1, 300) == 0, "a writer waits while we hold the lock");
	}
	ok(mbox_unlock(&mb) == 0 && mb.lock == MBOX_LOCK_NONE && !mbox_ls(&mb)->dotlocked, "unlocked");
	r = child_wait(pid);
	close(sp);
	ok(r == 0, "waiting writer got the lock after release (%d)", r);
	ok(access(lockpath, F_OK) == -1 && errno == ENOENT, "dotlock removed");
	ok(leftover_temps() == 0, "still no temp file");

	/* relocking a held lock switches it */
	ok(mbox_lock(&mb, MBOX_LOCK_WRITE, 500) == 0 && mbox_lock(&mb, MBOX_LOCK_READ, 500) == 0 &&
	   mb.lock == MBOX_LOCK_READ && access(lockpath, F_OK) == -1,
	   "write -> read drops the dotlock");
	mbox_close(&mb);
}

static void t_read_lock(void)
{
	struct mbox mb;
	pid_t pid;
	int sp, r;

	new_mbox("r");
	ok(mbox_open(&mb, path, MBOX_RDONLY) == 0 && mbox_lock(&mb, MBOX_LOCK_READ, 500) == 0,
	   "read lock taken");
	ok(access(lockpath, F_OK) == -1, "no dotlock for reading");
	pid = child_lock(MBOX_LOCK_READ, 0, &sp);
	r = child_wait(pid);
	close(sp);
	ok(r == 0, "read locks share (%d)", r);
	pid = child_lock(MBOX_LOCK_WRITE, 300, &sp);
	r = child_wait(pid);
	close(sp);
	ok(r == 1, "write lock excluded by a reader (%d)", r);
	ok(mbox_lock(&mb, MBOX_LOCK_WRITE, 100) == -1 && errno == EBADF,
	   "write lock on a read-only open: EBADF");
	ok(mbox_lock(&mb, 7, 100) == -1 && errno == EINVAL, "unknown lock kind: EINVAL");
	mbox_close(&mb);
	ok(mbox_lock(&mb, MBOX_LOCK_READ, 100) == -1 && errno == EBADF, "lock after close: EBADF");
}

static void t_dotlock(void)
{
	struct mbox mb, mb2;
	char buf[512], content[512];
	struct timespec ts[2];
	struct stat st;
	pid_t dead;
	long long t0;

	new_mbox("d");
	/* a live pid on this host: never broken */
	snprintf(content, sizeof content, "%ld:%s\n", (long)getppid(), host);
	write_lock_file(content, 3600);
	ok(mbox_open(&mb, path, MBOX_RDWR) == 0, "open");
	t0 = ms_now();
	ok(mbox_lock(&mb, MBOX_LOCK_WRITE, 500) == -1 && errno == EAGAIN,
	   "foreign dotlock of a live pid: EAGAIN");
	ok(ms_now() - t0 >= 450, "waited the budget (%lld ms)", ms_now() - t0);
	ok(read_file(lockpath, buf, sizeof buf) > 0 && strcmp(buf, content) == 0,
	   "live lock left in place");
	ok(mb.lock == MBOX_LOCK_NONE && !mbox_ls(&mb)->dotlocked, "state: not locked");
	ok(mbox_open(&mb2, path, MBOX_RDONLY) == 0 && mbox_lock(&mb2, MBOX_LOCK_READ, 0) == 0,
	   "kernel lock released after the failure");
	mbox_close(&mb2);
	ok(leftover_temps() == 0, "no temp file left after failing");

	dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	/* a dead pid, but too fresh */
	snprintf(content, sizeof content, "%ld:%s\n", (long)dead, host);
	write_lock_file(content, 0);
	ok(mbox_lock(&mb, MBOX_LOCK_WRITE, 300) == -1 && errno == EAGAIN,
	   "dead pid, lock younger than 5 s: EAGAIN");
	/* dead pid of another host */
	snprintf(content, sizeof content, "%ld:otherhost\n", (long)dead);
	write_lock_file(content, 60);
	ok(mbox_lock(&mb, MBOX_LOCK_WRITE, 300) == -1 && errno == EAGAIN,
	   "dead pid of another host: EAGAIN");
	/* old mtimes but a fresh ctime: rule (b) does not apply */
	write_lock_file("garbage\n", 1000);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 1000;
	ts[1] = ts[0];
	utimensat(AT_FDCWD, path, ts, 0);
	ok(mbox_lock(&mb, MBOX_LOCK_WRITE, 300) == -1 && errno == EAGAIN,
	   "old mtimes with a fresh ctime: not stale");
	/* dead pid, 10 s old: stale */
	snprintf(content, sizeof content, "%ld:%s\n", (long)dead, host);
	write_lock_file(content, 10);
	ok(mbox_lock(&mb, MBOX_LOCK_WRITE, 3000) == 0, "stale lock of a dead pid broken");
	snprintf(content, sizeof content, "%ld", (long)getpid());
	ok(read_file(lockpath, buf, sizeof buf) > 0 && strncmp(buf, content, strlen(content)) == 0,
	   "the dotlock is ours now");
	/* bare dead pid on a local filesystem */
	mbox_unlock(&mb);
	snprintf(content, sizeof content, "%ld\n", (long)dead);
	write_lock_file(content, 10);
	ok(mbox_lock(&mb, MBOX_LOCK_WRITE, 3000) == 0, "stale bare-pid lock broken (local fs)");

	/* touch refreshes our lock */
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 100;
	ts[1] = ts[0];
	utimensat(AT_FDCWD, lockpath, ts, 0);
	mbox_lock_touch(&mb);
	ok(stat(lockpath, &st) == 0 && st.st_mtime >= time(NULL) - 5, "mbox_lock_touch refreshes mtime");

	/* someone replaced our dotlock: unlock leaves theirs */
	unlink(lockpath);
	write_lock_file("theirs\n", 0);
	ok(mbox_unlock(&mb) == 0 && read_file(lockpath, buf, sizeof buf) > 0 &&
	   strcmp(buf, "theirs\n") == 0, "unlock keeps a dotlock that is not ours");
	unlink(lockpath);
	mbox_close(&mb);
}

static void t_identity(void)
{
	struct mbox mb;
	char tmp[300], buf[64];
	struct stat st;
	ino_t old;
	int fd;

	new_mbox("id");
	ok(mbox_open(&mb, path, MBOX_RDWR) == 0, "open");
	old = mbox_ls(&mb)->ino;
	snprintf(tmp, sizeof tmp, "%s/id.new", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ok(fd >= 0 && write(fd, "new\n", 4) == 4, "a new file");
	close(fd);
	ok(rename(tmp, path) == 0, "renamed over the mailbox (another agent)");
	ok(mbox_lock(&mb, MBOX_LOCK_WRITE, 1000) == 0, "lock succeeds");
	ok(stat(path, &st) == 0 && mbox_ls(&mb)->ino == st.st_ino && mbox_ls(&mb)->ino != old, "reopened the new file");
	ok(pread(mb.fd, buf, 4, 0) == 4 && memcmp(buf, "new\n", 4) == 0, "fd reads the new file");
	mbox_unlock(&mb);

	unlink(path);
	ok(mbox_lock(&mb, MBOX_LOCK_WRITE, 500) == -1 && errno == ENOENT,
	   "unlinked mailbox without CREATE: ENOENT");
	mbox_close(&mb);

	new_mbox("id2");
	ok(mbox_open(&mb, path, MBOX_RDWR | MBOX_CREATE) == 0, "open with CREATE");
	unlink(path);
	ok(mbox_lock(&mb, MBOX_LOCK_WRITE, 500) == 0 && stat(path, &st) == 0 && st.st_ino == mbox_ls(&mb)->ino,
	   "unlinked mailbox with CREATE: recreated");
	mbox_close(&mb);
}

/* As root: privilege checks from a child running as nobody. */
static void t_root(void)
{
	struct passwd *pw = getpwnam("nobody");
	struct group *gr = getgrnam("mail");
	char sub[300], mpath[400];
	pid_t pid;
	int st, fd;

	if (geteuid() != 0 || !pw || !gr) {
		ok(1, "# SKIP needs root, user nobody and group mail");
		return;
	}
	/* a spool dir writable by group mail only, as /var/mail */
	snprintf(sub, sizeof sub, "%s/spool", dir);
	snprintf(mpath, sizeof mpath, "%s/nobody", sub);
	fd = -1;
	if (mkdir(sub, 0700) == -1 || chown(sub, 0, gr->gr_gid) == -1 || chmod(sub, 02775) == -1 ||
	    chmod(dir, 0755) == -1 ||
	    (fd = open(mpath, O_WRONLY | O_CREAT, 0600)) < 0 ||
	    fchown(fd, pw->pw_uid, pw->pw_gid) == -1)
		diag("setup failed: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	if (chmod(path, 0644) == -1)
		diag("chmod: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		struct mbox mb;
		gid_t g = pw->pw_gid;
		int code = 0;

		if (setgroups(0, NULL) == -1 || setresgid(g, g, gr->gr_gid) == -1 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
			_exit(10);
		if (mbox_open(&mb, mpath, MBOX_RDWR) == -1)
			_exit(11);
		if (mbox_lock(&mb, MBOX_LOCK_WRITE, 1000) == -1) {
			diag("lock as nobody: %s", strerror(errno));
			fflush(stdout);
			code |= 1;
		}
		else if (getegid() != g || access(mbox_ls(&mb)->lockpath, F_OK) == -1)
			code |= 2;
		if (mbox_unlock(&mb) == -1 || access(mbox_ls(&mb)->lockpath, F_OK) == 0)
			code |= 4;
		/* without the saved gid the dotlock cannot be made */
		if (setresgid(g, g, g) == -1)
			_exit(12);
		if (mbox_lock(&mb, MBOX_LOCK_WRITE, 300) != -1 || errno != EACCES)
			code |= 8;
		mbox_close(&mb);
		/* not the owner */
		if (mbox_open(&mb, path, MBOX_RDONLY) != -1 || errno != EPERM)
			code |= 16;
		_exit(code);
	}
	ok(waitpid(pid, &st, 0) == pid && WIFEXITED(st), "child as nobody ran");
	st = WEXITSTATUS(st);
	ok(st < 10 && !(st & 1), "setgid-mail spool: dotlock made with the saved gid (%d)", st);
	ok(st < 10 && !(st & 2), "egid back to the user's after locking");
	ok(st < 10 && !(st & 4), "dotlock removed at unlock (saved gid again)");
	ok(st < 10 && !(st & 8), "no saved gid: EACCES");
	ok(st < 10 && !(st & 16), "mailbox of another user: EPERM");
	if (chmod(dir, 0700) == -1)
		diag("chmod: %s", strerror(errno));
}

int main(void)
{
	char cmd[300];

	if (gethostname(host, sizeof host) == -1)
		host[0] = 0;
	host[sizeof host - 1] = 0;
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(cmd, sizeof cmd, "%s/journal", dir);
	setenv("MBOX_JOURNAL_DIR", cmd, 1);     /* never the real home */
	t_open();
	t_write_lock();
	t_read_lock();
	t_dotlock();
	t_identity();
	t_root();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("cleanup failed");
	return done_testing();
}
