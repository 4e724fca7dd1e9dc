/* Opening and locking a mailbox (mbox-interop.md §7.1-7.4).
 *
 * Write lock = OFD fcntl write lock, then an NFS-safe dotlock (unique temp
 * file + link() + link count), both non-blocking: when the dotlock is held
 * by someone else we drop the kernel lock and back off, so we never block
 * on one lock while holding the other (Debian Policy §11.6, mbox(5)).
 * Read lock = OFD fcntl read lock only (as Dovecot and mutt). */
#include "mbox.h"
#include "private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define NFS_MAGIC 0x6969

#define LS(mb) mbox_ls(mb)

enum { TRY_OK = 0, TRY_BUSY = 1, TRY_AGAIN = 2, TRY_KBUSY = 3 };

/* ---- small helpers -------------------------------------------------------- */

unsigned long mbox_lock_epoch;

static unsigned long long rnd_state;
static pid_t rnd_pid;

static unsigned rnd(unsigned lo, unsigned hi)
{
	struct timespec ts;

	if (!rnd_state || rnd_pid != getpid()) {  /* forked: do not wait in step */
		rnd_pid = getpid();
		clock_gettime(CLOCK_REALTIME, &ts);
		rnd_state = ((unsigned long long)getpid() << 32) ^
			(unsigned long long)ts.tv_nsec ^ (unsigned long long)ts.tv_sec;
		rnd_state |= 1;
	}
	/* xorshift64: spreading retries, not secrecy */
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return lo + (unsigned)(rnd_state % (hi - lo + 1ULL));
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
	struct timespec ts, rem;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &rem) == -1 && errno == EINTR)
		ts = rem;
}

/* ---- open ------------------------------------------------------------------ */

/* Regular, one link, and ours unless we are root (Postfix's strict
 * ownership): anything else is not a mailbox we may touch. */
static int check_file(const struct stat *st)
{
	uid_t euid = geteuid();

	if (!S_ISREG(st->st_mode) || st->st_nlink != 1) {
		errno = EINVAL;
		return -1;
	}
	if (euid != 0 && st->st_uid != euid) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static int gid_raise(gid_t *old_r);
static void gid_restore(gid_t old);

/* A new mailbox as Postfix local(8) makes it: the user's, mode 0600, never
 * through a symlink.  In a root:mail 2775 spool only the mail group may
 * create it: wear the saved gid around the open alone (the file then takes
 * the spool's setgid group). */
static int create_file(const char *path, int acc)
{
	int flags = acc | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
	gid_t old;
	int fd;

	fd = open(path, flags, 0600);
	if (fd >= 0 || errno != EACCES)
		return fd;
	if (gid_raise(&old) == -1) {
		errno = EACCES;
		return -1;
	}
	fd = open(path, flags, 0600);
	gid_restore(old);
	return fd;
}

/* Opens (or creates) path; returns the fd and its stat. */
static int open_file(const char *path, int mode, struct stat *st)
{
	int acc = (mode & MBOX_RDWR) ? O_RDWR : O_RDONLY;
	int fd = -1, tries, e;

	/* O_NONBLOCK: a FIFO planted at the path must not hang us */
	for (tries = 0; tries < 3 && fd < 0; tries++) {
		fd = open(path, acc | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd >= 0 || errno != ENOENT || !(mode & MBOX_CREATE))
			break;
		fd = create_file(path, acc);
		if (fd < 0 && errno != EEXIST)
			break;
		/* EEXIST: someone created it meanwhile, open theirs */
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, st) == -1 || check_file(st) == -1 ||
	    fcntl(fd, F_SETFL, 0) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int mbox_open(struct mbox *mb, const char *path, int mode)
{
	struct stat st;
	size_t n;
	int fd;

	memset(mb, 0, sizeof *mb);
	mb->fd = -1;
	if (!path || !*path) {
		errno = EINVAL;
		return -1;
	}
	n = strlen(path);
	if (n >= sizeof mb->path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(mb->path, path, n + 1);
	memcpy(LS(mb)->lockpath, path, n);
	memcpy(LS(mb)->lockpath + n, ".lock", sizeof ".lock");
	fd = open_file(path, mode, &st);
	if (fd < 0)
		return -1;
	mb->fd = fd;
	mb->mode = mode;
	LS(mb)->ofd = 1;
	LS(mb)->dev = st.st_dev;
	LS(mb)->ino = st.st_ino;
	return 0;
}

/* Another agent replaced or unlinked the file: drop ours, open the new one. */
static int reopen(struct mbox *mb)
{
	struct stat st;
	int fd = open_file(mb->path, mb->mode, &st);

	if (fd < 0)
		return -1;
	close(mb->fd);
	mb->fd = fd;
	LS(mb)->dev = st.st_dev;
	LS(mb)->ino = st.st_ino;
	return 0;
}

/* 0: path still names our file; 1: changed (reopen); -1: error. */
static int identity_changed(struct mbox *mb)
{
	struct stat fst, pst;

	if (fstat(mb->fd, &fst) == -1)
		return -1;
	if (lstat(mb->path, &pst) == -1)
		return errno == ENOENT ? 1 : -1;
	if (fst.st_nlink != 1 || fst.st_dev != pst.st_dev || fst.st_ino != pst.st_ino)
		return 1;
	return 0;
}

/* ---- kernel lock ------------------------------------------------------------ */

/* 0 locked, TRY_BUSY held by someone else, -1 error. */
static int kernel_lock(struct mbox *mb, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	if (LS(mb)->ofd) {
		if (fcntl(mb->fd, F_OFD_SETLK, &fl) == 0)
			return 0;
		if (errno != EINVAL)
			goto fail;
		LS(mb)->ofd = 0;    /* kernel without OFD locks */
	}
	if (fcntl(mb->fd, F_SETLK, &fl) == 0)
		return 0;
fail:
	if (errno == EAGAIN || errno == EACCES)
		return TRY_BUSY;
	return -1;
}

static void kernel_unlock(struct mbox *mb)
{
	struct flock fl;
	int e = errno;

	memset(&fl, 0, sizeof fl);
	fl.l_type = F_UNLCK;
	fl.l_whence = SEEK_SET;
	fcntl(mb->fd, LS(mb)->ofd ? F_OFD_SETLK : F_SETLK, &fl);
	errno = e;
}

/* ---- dotlock ----------------------------------------------------------------- */

/* The spool is setgid mail (2775 root:mail): a process running as the
 * user keeps gid mail as its saved gid and wears it only around dotlock
 * create/link/unlink (Dovecot's pattern). */
static int gid_raise(gid_t *old_r)
{
	gid_t r, e, s;

	if (getresgid(&r, &e, &s) == -1 || s == e)
		return -1;
	if (setegid(s) == -1)
		return -1;
	*old_r = e;
	return 0;
}

static void gid_restore(gid_t old)
{
	int e = errno;

	if (setegid(old) == -1)
		abort();        /* would leave us with the mail group: never go on */
	errno = e;
}

static int unlink_priv(const char *path)
{
	gid_t old;

	if (unlink(path) == 0)
		return 0;
	if (errno != EACCES && errno != EPERM)
		return -1;
	if (gid_raise(&old) == -1) {
		errno = EACCES;
		return -1;
	}
	if (unlink(path) == -1) {
		gid_restore(old);
		return -1;
	}
	gid_restore(old);
	return 0;
}

static void our_host(char *host, size_t size)
{
	size_t i;

	if (gethostname(host, size) == -1)
		host[0] = 0;
	host[size - 1] = 0;
	for (i = 0; host[i]; i++)
		if (host[i] == '/')
			host[i] = '_';
}

/* Builds "<dir>/.lk.<host>.<pid>.<rand>" next to the mailbox: link() only
 * works inside one filesystem. */
static int temp_name(const struct mbox *mb, const char *host, char *out, size_t size)
{
	const char *slash = strrchr(mb->path, '/');
	int dirlen = slash ? (int)(slash - mb->path) + 1 : 0;
	int n;

	n = snprintf(out, size, "%.*s.lk.%.64s.%ld.%08x", dirlen, mb->path, host,
		     (long)getpid(), rnd(0, 0x7fffffff));
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Creates the temp file with the lock content; *mtime_r = its mtime, the
 * filesystem's idea of "now" (§7.4 b).  fsync'ed as §7.2 step 3 says
 * (liblockfile and Postfix do not): after a machine crash a lock left
 * behind still names its holder, so the pid rule breaks it at once instead
 * of the 300 s age rule of an empty one. */
static int temp_create(const char *tmp, const char *content, size_t len, struct timespec *mtime_r)
{
	struct stat st;
	ssize_t w;
	int fd, e;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	w = write(fd, content, len);
	if (w != (ssize_t)len || fsync(fd) == -1 || fstat(fd, &st) == -1) {
		e = w >= 0 && w != (ssize_t)len ? EIO : errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	close(fd);
	*mtime_r = st.st_mtim;
	return 0;
}

/* One NFS-safe attempt: temp + link + link count (mlock.c, liblockfile).
 * link()'s result is not trusted over NFS; st_nlink == 2 is. */
static int dotlock_link(struct mbox *mb, const char *tmp, const char *content,
			size_t len, struct timespec *fsnow_r)
{
	struct stat st;
	int e, ours;

	if (temp_create(tmp, content, len, fsnow_r) == -1)
		return -1;
	if (link(tmp, LS(mb)->lockpath) == -1)
		e = errno;
	else
		e = 0;
	if (lstat(tmp, &st) == -1) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	ours = st.st_nlink == 2;
	unlink(tmp);
	if (ours) {
		LS(mb)->lock_dev = st.st_dev;
		LS(mb)->lock_ino = st.st_ino;
		LS(mb)->dotlocked = 1;
		return TRY_OK;
	}
	/* no lock file and link failed for a reason of its own: report it */
	if (e && e != EEXIST && lstat(LS(mb)->lockpath, &st) == -1 && errno == ENOENT) {
		errno = e;
		return -1;
	}
	return TRY_BUSY;
}

static int older(const struct timespec *t, const struct timespec *now, long sec)
{
	return now->tv_sec - t->tv_sec >= sec;
}

/* §7.4: is the lock at lockpath (stat *st) stale? */
static int dotlock_stale(struct mbox *mb, const struct stat *st, const char *host,
			 const struct timespec *fsnow)
{
	char buf[128], *colon, *end;
	struct stat mst;
	struct statfs sfs;
	ssize_t n;
	long pid;
	int fd;

	/* (b) we hold the fcntl write lock, nothing moved for 300 s */
	if (fstat(mb->fd, &mst) == 0 &&
	    older(&st->st_mtim, fsnow, LOCK_STALE_AGE_SEC) &&
	    older(&st->st_ctim, fsnow, LOCK_STALE_AGE_SEC) &&
	    older(&mst.st_mtim, fsnow, LOCK_STALE_AGE_SEC))
		return 1;
	/* (a) pid[:host] of a dead process on this host */
	if (!older(&st->st_mtim, fsnow, LOCK_STALE_PID_SEC))
		return 0;
	fd = open(LS(mb)->lockpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno || end == buf || pid <= 0 || (pid_t)pid != pid)
		return 0;
	if (*end == ':') {
		colon = end + 1;
		end = strchr(colon, '\n');
		if (end)
			*end = 0;
		if (strcmp(colon, host) != 0)
			return 0;
	} else if (*end == '\n' || *end == 0) {
		/* a bare pid means this host only if the spool is local */
		if (statfs(LS(mb)->lockpath, &sfs) == -1 || sfs.f_type == NFS_MAGIC)
			return 0;
	} else {
		return 0;
	}
	return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

/* Removes a stale lock unless it changed since we judged it. */
static void dotlock_break(struct mbox *mb, const struct stat *judged)
{
	struct stat st;

	if (lstat(LS(mb)->lockpath, &st) == -1 || st.st_dev != judged->st_dev ||
	    st.st_ino != judged->st_ino ||
	    st.st_mtim.tv_sec != judged->st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != judged->st_mtim.tv_nsec)
		return;
	unlink_priv(LS(mb)->lockpath);
	/* another breaker may have judged the same lock: let it finish */
	sleep_ms(rnd(200, 700));
}

/* Our lock content (§7.4): "<pid>:<host>\n" when it fits in 16 bytes. */
static int lock_content(const char *host, char *out, size_t size)
{
	int n = snprintf(out, size, "%ld:%s\n", (long)getpid(), host);

	if (n < 0 || n > LOCK_CONTENT_MAX)
		n = snprintf(out, size, "%ld\n", (long)getpid());
	if (n < 0 || (size_t)n >= size) {
		errno = EOVERFLOW;
		return -1;
	}
	return n;
}

/* Our inode and our content: inode numbers are reused at once, so a lock
 * someone made after breaking ours may have our old dev/ino. */
static int dotlock_ours(const struct mbox *mb)
{
	char host[256], want[64], got[64];
	struct stat st;
	ssize_t r;
	int n, fd;

	if (lstat(mbox_ls_c(mb)->lockpath, &st) == -1 || st.st_dev != mbox_ls_c(mb)->lock_dev ||
	    st.st_ino != mbox_ls_c(mb)->lock_ino)
		return 0;
	our_host(host, sizeof host);
	n = lock_content(host, want, sizeof want);
	fd = open(mbox_ls_c(mb)->lockpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (n < 0 || fd < 0)
		return 0;
	r = read(fd, got, sizeof got);
	close(fd);
	return r == n && memcmp(got, want, (size_t)n) == 0;
}

/* Our ".lk.<host>.<pid>.<rand>" temporaries of dead processes (a crash
 * between create and unlink) in the mailbox's directory: removed once per
 * process, after it got a dotlock there. */
static void sweep_temps(struct mbox *mb, const char *host)
{
	static int swept;
	char dir[PATH_MAX], pre[128], full[PATH_MAX + 300];
	const char *slash = strrchr(mb->path, '/');
	size_t dl = slash ? (size_t)(slash - mb->path) : 0, pl;
	struct timespec now;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int n;

	if (swept)
		return;
	swept = 1;
	if (dl == 0)
		memcpy(dir, slash ? "/" : ".", 2);
	else if (dl < sizeof dir)
		memcpy(dir, mb->path, dl), dir[dl] = 0;
	else
		return;
	n = snprintf(pre, sizeof pre, ".lk.%.64s.", host);
	if (n < 0 || (size_t)n >= sizeof pre || !(d = opendir(dir)))
		return;
	pl = (size_t)n;
	clock_gettime(CLOCK_REALTIME, &now);
	while ((de = readdir(d))) {
		char *end;
		long pid;
		if (strncmp(de->d_name, pre, pl) != 0)
			continue;
		errno = 0;
		pid = strtol(de->d_name + pl, &end, 10);
		if (errno || *end != '.' || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		n = snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof full || lstat(full, &st) == -1 ||
		    !S_ISREG(st.st_mode) || now.tv_sec - st.st_mtim.tv_sec < LOCK_TEMP_STALE_SEC)
			continue;
		unlink_priv(full);
	}
	closedir(d);
}

/* Under the kernel write lock: TRY_OK, TRY_BUSY (held, not stale) or -1. */
static int dotlock_try(struct mbox *mb, long long deadline)
{
	char host[256], content[64], tmp[PATH_MAX + 128];
	struct timespec fsnow;
	struct stat st;
	gid_t oldgid;
	size_t clen;
	int r, n, broken = 0;

	our_host(host, sizeof host);
	n = lock_content(host, content, sizeof content);
	if (n < 0)
		return -1;
	clen = (size_t)n;
	for (;;) {
		if (temp_name(mb, host, tmp, sizeof tmp) == -1)
			return -1;
		r = dotlock_link(mb, tmp, content, clen, &fsnow);
		if (r == -1 && errno == EACCES && gid_raise(&oldgid) == 0) {
			r = dotlock_link(mb, tmp, content, clen, &fsnow);
			gid_restore(oldgid);
		}
		if (r == TRY_OK)
			sweep_temps(mb, host);
		if (r != TRY_BUSY)
			return r;
		if (lstat(LS(mb)->lockpath, &st) == -1) {
			if (errno != ENOENT)
				return -1;
			/* released between our link and lstat: try again */
		} else if (broken || !dotlock_stale(mb, &st, host, &fsnow)) {
			return TRY_BUSY;
		} else {
			dotlock_break(mb, &st);
			broken = 1;
		}
		if (now_ms() >= deadline)
			return TRY_BUSY;
	}
}

static void dotlock_release(struct mbox *mb)
{
	int e = errno;

	if (!LS(mb)->dotlocked)
		return;
	LS(mb)->dotlocked = 0;
	/* only our own lock: a breaker may have replaced it */
	if (dotlock_ours(mb))
		unlink_priv(LS(mb)->lockpath);
	errno = e;
}

/* ---- public ---------------------------------------------------------------- */

/* One attempt at the whole sequence: TRY_OK, TRY_BUSY, TRY_AGAIN
 * (file replaced, reopened: retry at once) or -1. */
static int lock_once(struct mbox *mb, int kind, long long deadline)
{
	int r;

	r = kernel_lock(mb, kind == MBOX_LOCK_WRITE ? F_WRLCK : F_RDLCK);
	if (r == TRY_BUSY)
		return TRY_KBUSY;
	if (r != 0)
		return r;
	r = identity_changed(mb);
	if (r == 0 && kind == MBOX_LOCK_WRITE) {
		r = dotlock_try(mb, deadline);
		if (r == TRY_OK) {
			/* a dotlock-only writer may have replaced it meanwhile */
			r = identity_changed(mb);
			if (r != 0)
				dotlock_release(mb);
		} else if (r == TRY_BUSY) {
			kernel_unlock(mb);
			return TRY_BUSY;
		} else {
			kernel_unlock(mb);
			return -1;
		}
	}
	if (r == 0)
		return TRY_OK;
	kernel_unlock(mb);
	if (r == -1)
		return -1;
	return reopen(mb) == -1 ? -1 : TRY_AGAIN;
}

/* The wait for a lock, up to deadline; sets mb->lock. */
static int lock_wait(struct mbox *mb, int kind, long long deadline)
{
	long long left, delay, kdelay = LOCK_KWAIT_MIN_MS;
	int r;

	delay = rnd(LOCK_BACKOFF_MIN_MS, 3 * LOCK_BACKOFF_MIN_MS);
	for (;;) {
		r = lock_once(mb, kind, deadline);
		if (r == TRY_OK)
			break;
		if (r == -1)
			return -1;
		left = deadline - now_ms();
		if (left <= 0) {
			errno = EAGAIN;
			return -1;
		}
		if (r == TRY_KBUSY) {
			/* we hold nothing meanwhile: polling the first lock
			 * is the bounded wait §3 allows */
			sleep_ms(kdelay < left ? kdelay : left);
			kdelay = kdelay * 2 > LOCK_KWAIT_MAX_MS ? LOCK_KWAIT_MAX_MS : kdelay * 2;
		} else if (r == TRY_BUSY) {
			sleep_ms(delay < left ? delay : left);
			delay = delay * 3 / 2;
			if (delay > LOCK_BACKOFF_MAX_MS)
				delay = LOCK_BACKOFF_MAX_MS;
		}
	}
	mb->lock = kind;
	mbox_lock_epoch++;
	if (kind == MBOX_LOCK_WRITE)
		mbox_lock_synced(mb);
	return 0;
}

void mbox_lock_synced(struct mbox *mb)
{
	struct stat st;

	LS(mb)->synced = fstat(mb->fd, &st) == 0;
	if (LS(mb)->synced) {
		LS(mb)->s_size = st.st_size;
		LS(mb)->s_mtim = st.st_mtim;
		LS(mb)->s_ctim = st.st_ctim;
	}
}

/* Did the file change since mbox_lock_synced?  Any write moves the size or
 * the mtime and ctime; one within the same clock tick that keeps the size
 * is an in-place rewrite, which fsyncs before it returns (rewrite.c). */
static int changed_since_sync(struct mbox *mb)
{
	const struct mbox_lockstate *ls = LS(mb);
	struct stat st;

	if (!ls->synced || fstat(mb->fd, &st) == -1)
		return 1;
	return st.st_size != ls->s_size ||
	       st.st_mtim.tv_sec != ls->s_mtim.tv_sec || st.st_mtim.tv_nsec != ls->s_mtim.tv_nsec ||
	       st.st_ctim.tv_sec != ls->s_ctim.tv_sec || st.st_ctim.tv_nsec != ls->s_ctim.tv_nsec;
}

static void touch_cb(void *arg)
{
	mbox_lock_touch(arg);
}

/* Under the write lock: finish what a crash left (§7.8); on failure the
 * lock is given back. */
static int write_recover(struct mbox *mb)
{
	int e;

	if (mbox_recover(mb, touch_cb) == 0)
		return 0;
	e = errno;
	mbox_unlock(mb);
	errno = e;
	return -1;
}

/* A reader found a crash record: recovery needs the write lock, taken
 * briefly (on a second, read-write descriptor if ours is read-only; we
 * hold no lock meanwhile, so closing it drops nothing of ours). */
static int reader_recover(struct mbox *mb, long long deadline)
{
	struct mbox w;
	int r, e;

	if (mb->mode & MBOX_RDWR) {
		if (lock_wait(mb, MBOX_LOCK_WRITE, deadline) == -1)
			return -1;
		if (write_recover(mb) == -1)
			return -1;
		return mbox_unlock(mb);
	}
	if (mbox_open(&w, mb->path, MBOX_RDWR) == -1)
		return -1;
	r = lock_wait(&w, MBOX_LOCK_WRITE, deadline);
	if (r == 0)
		r = write_recover(&w);
	e = errno;
	if (mbox_close(&w) == -1 && r == 0)
		return -1;
	errno = e;
	return r;
}

int mbox_lock(struct mbox *mb, int kind, unsigned timeout_ms)
{
	long long deadline;
	int r, tries;

	if (mb->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (mb->lock != MBOX_LOCK_NONE && mbox_unlock(mb) == -1)
		return -1;
	if (kind == MBOX_LOCK_NONE)
		return 0;
	if (kind != MBOX_LOCK_READ && kind != MBOX_LOCK_WRITE) {
		errno = EINVAL;
		return -1;
	}
	if (kind == MBOX_LOCK_WRITE && !(mb->mode & MBOX_RDWR)) {
		errno = EBADF;
		return -1;
	}
	deadline = now_ms() + timeout_ms;
	if (lock_wait(mb, kind, deadline) == -1)
		return -1;
	/* an interrupted rewrite or append is finished before anyone
	 * writes or reads (§7.8) */
	if (kind == MBOX_LOCK_WRITE)
		return write_recover(mb);
	for (tries = 0; tries < 2; tries++) {
		if ((r = mbox_recover_pending(mb)) == 0)
			return 0;
		mbox_unlock(mb);
		if (reader_recover(mb, deadline) == -1 || lock_wait(mb, MBOX_LOCK_READ, deadline) == -1)
			return -1;
	}
	return 0;
}

int mbox_unlock(struct mbox *mb)
{
	int err = 0;

	if (mb->lock == MBOX_LOCK_NONE)
		return 0;
	/* appends made under this lock extend the index now, after their
	 * callers recorded them (index.c) */
	mbox_index_unlocking(mb);
	/* only a write lock has writes to make durable, and only when the
	 * file changed since its last fsync: a reader (imapd's FETCH letting
	 * writers in), a writer that wrote nothing (a POP3 session without
	 * DELE) or an append that fsync'ed its data must not pay another
	 * journal commit (5-20 ms on a large mailbox) */
	if (mb->lock == MBOX_LOCK_WRITE && (mb->mode & MBOX_RDWR) && changed_since_sync(mb) &&
	    fsync(mb->fd) == -1)
		err = errno;
	LS(mb)->synced = 0;
	dotlock_release(mb);
	kernel_unlock(mb);
	mb->lock = MBOX_LOCK_NONE;
	mbox_lock_epoch++;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

int mbox_close(struct mbox *mb)
{
	int r, e = 0;

	if (mb->fd < 0)
		return 0;
	r = mbox_unlock(mb);
	if (r == -1)
		e = errno;
	if (close(mb->fd) == -1 && !e)
		e = errno;
	mb->fd = -1;
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

void mbox_lock_touch(struct mbox *mb)
{
	int e = errno;

	if (LS(mb)->dotlocked && dotlock_ours(mb))
		utimensat(AT_FDCWD, LS(mb)->lockpath, NULL, AT_SYMLINK_NOFOLLOW);
	errno = e;
}
