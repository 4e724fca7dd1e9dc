/* Privilege separation: dropping to a user with verification, and the
 * pre-auth split of pop3d and imapd (popa3d's shape).  The parent never
 * parses client input: it reads typed, length-prefixed records from the
 * child (type byte, 4-byte big-endian length, bytes), checks every length
 * before reading, and trusts no value in them. */
#include "priv.h"
#include "rec.h"
#include "bounds.h"
#include "log.h"
#include "net.h"
#include "str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* records, child to parent */
#define PREC_USER 'U'
#define PREC_PASS 'P'
#define PREC_CTX 'C'
#define PREC_ASK 'A'  /* check the user and password sent before it */
#define PREC_LEFT 'D' /* after an accepted login: the unread client input */
#define PREC_TLS 'S'  /* STARTTLS/STLS answered: start TLS, then a new child */
/* no record is longer; a longer one means a broken or hostile child */
#define PREC_MAX IO_INBUF
/* answers, parent to child: one byte */
#define ANS_OK 'Y'
#define ANS_FAIL 'N'
#define ANS_TEMP 'T'
#define ANS_LAST 'Q' /* refused, and that was the last attempt */

static int child_fd = -1;  /* in the child: its end of the socketpair */
static int child_state;    /* 0 may ask, 1 logged in, -1 no more asking, 2 TLS asked */

static int verify(uid_t uid, gid_t gid, gid_t sgid, int one_group)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[2];

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -1;
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != sgid)
		goto bad;
	if (one_group && (getgroups(2, groups) != 1 || groups[0] != gid))
		goto bad;
	/* the kernel must now refuse the way back */
	if (setuid(0) == 0 || seteuid(0) == 0)
		goto bad;
	return 0;
bad:
	errno = EPERM;
	return -1;
}

#ifdef __SANITIZE_ADDRESS__
/* Sanitizer builds only, never an installed program: LeakSanitizer's
 * check at exit ptraces the process from a clone with the same
 * credentials, which the kernel refuses when the process is undumpable
 * (any uid change) or keeps a saved gid other than its gid (mail_privileged_
 * group): "LeakSanitizer has encountered a fatal error".  So, at exit
 * (run before LeakSanitizer's own handler, registered earlier), give up
 * the saved gid and be dumpable again. */
static void san_exit_creds(void)
{
	gid_t g = getgid();

	if (setresgid(g, g, g) == 0)
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

static void san_ptraceable(void)
{
	static int registered;

	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	if (!registered++)
		atexit(san_exit_creds);
}
#endif

/* setgroups/initgroups, setresgid, setresuid, in that order (popa3d's set_user). */
static int drop_to(uid_t uid, gid_t gid, gid_t sgid, const char *name)
{
	if (uid == 0) {
		log_msg(LOG_ERR, "priv: refusing to run as uid 0");
		errno = EPERM;
		return -1;
	}
	if (geteuid() != 0) {
		if (getuid() == uid && geteuid() == uid)
			return 0;
		errno = EPERM;
		return -1;
	}
	if ((name ? initgroups(name, gid) : setgroups(1, &gid)) < 0 || setresgid(gid, gid, sgid) < 0 ||
	    setresuid(uid, uid, uid) < 0 || verify(uid, gid, sgid, name == NULL) < 0) {
		log_msg(LOG_ERR, "priv: cannot become uid %lu gid %lu: %m", (unsigned long)uid,
			(unsigned long)gid);
		return -1;
	}
#ifdef __SANITIZE_ADDRESS__
	san_ptraceable();
#endif
	return 0;
}

int priv_drop(uid_t uid, gid_t gid, const char *name)
{
	return drop_to(uid, gid, gid, name);
}

/* priv_mail_gid_cache's answer, inherited by the children forked after it */
static struct {
	int set;
	gid_t gid;
	char name[sizeof ((struct conf *)0)->mail_privileged_group];
} mail_gid;

int priv_mail_gid(const struct conf *c, gid_t *gid_r)
{
	struct group *g;

	*gid_r = (gid_t)-1;
	if (!c->mail_privileged_group[0])
		return 0;
	if (mail_gid.set && !strcmp(mail_gid.name, c->mail_privileged_group)) {
		*gid_r = mail_gid.gid;
		return 0;
	}
	errno = 0;
	g = getgrnam(c->mail_privileged_group);
	if (!g) {
		log_msg(LOG_ERR, "priv: mail_privileged_group %s: no such group (Debian has \"mail\"; "
			"create it or set mail_privileged_group empty for a 1777 spool)",
			c->mail_privileged_group);
		errno = ENOENT;
		return -1;
	}
	*gid_r = g->gr_gid;
	return 0;
}

void priv_mail_gid_cache(const struct conf *c)
{
	gid_t g;

	mail_gid.set = 0;
	if (!c->mail_privileged_group[0] || priv_mail_gid(c, &g) < 0)
		return;
	str_copyz(mail_gid.name, sizeof mail_gid.name, c->mail_privileged_group);
	mail_gid.gid = g;
	mail_gid.set = 1;
}

/* The saved gid of a user's process: the mail group when there is one. */
static int saved_gid(const struct conf *c, gid_t gid, gid_t *sgid_r)
{
	gid_t mg;

	*sgid_r = gid;
	if (geteuid() != 0)
		return 0;
	if (priv_mail_gid(c, &mg) < 0)
		return -1;
	if (mg != (gid_t)-1)
		*sgid_r = mg;
	return 0;
}

int priv_become_delivery(const struct conf *c, uid_t uid, gid_t gid)
{
	gid_t sgid;

	if (uid != 0 && saved_gid(c, gid, &sgid) < 0)
		return -1;
	return drop_to(uid, gid, uid == 0 ? gid : sgid, NULL);
}

/* Refuses a writable chroot: it would be a place to build in. */
static int check_empty_dir(const struct stat *st)
{
	return S_ISDIR(st->st_mode) && st->st_uid == 0 && !(st->st_mode & 002) &&
	       (!(st->st_mode & 020) || st->st_gid == 0);
}

/* A decimal id field of a passwd line; -1 if not one. */
static int id_field(const char *p, const char *end, unsigned long *v)
{
	unsigned long x = 0;

	if (p == end)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9' || x > (UINT32_MAX - 9) / 10)
			return -1;
		x = x * 10 + (unsigned long)(*p - '0');
	}
	*v = x;
	return 0;
}

/* name's uid and gid from one line "name:pw:uid:gid:..." (no newline):
 * 1 it is name's, 0 another's, -1 malformed */
static int passwd_line(const char *l, size_t n, const char *name, size_t nlen,
		       uid_t *uid, gid_t *gid)
{
	const char *end = l + n, *f[4], *p = l;
	unsigned long u, g;
	int k;

	if (n <= nlen || memcmp(l, name, nlen) != 0 || l[nlen] != ':')
		return 0;
	for (k = 0; k < 4; k++) {
		f[k] = p;
		while (p < end && *p != ':')
			p++;
		if (p == end)
			return -1;
		p++;
	}
	/* f[2] = uid, f[3] = gid, each ended by the ':' before the next field */
	if (id_field(f[2], f[3] - 1, &u) < 0 || id_field(f[3], p - 1, &g) < 0)
		return -1;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 1;
}

/* default_privs is a system account: /etc/passwd, read with one buffer on
 * the stack, answers without NSS (nsswitch.conf, malloc: 0.4 ms and a
 * dozen page faults in every pre-auth child).  1 found, 0 not there (the
 * caller asks NSS), -1 unreadable or a malformed line for the name. */
static int system_user(const char *name, uid_t *uid, gid_t *gid)
{
	char buf[2048];
	size_t have = 0, nlen = strlen(name), i, start;
	int fd, r = 0, skip = 0;
	ssize_t got;

	if (!nlen || strchr(name, ':'))
		return 0;
	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (r == 0 && (got = read(fd, buf + have, sizeof buf - have)) > 0) {
		have += (size_t)got;
		for (start = i = 0; r == 0 && i < have; i++) {
			if (buf[i] != '\n')
				continue;
			if (!skip)
				r = passwd_line(buf + start, i - start, name, nlen, uid, gid);
			skip = 0;
			start = i + 1;
		}
		if (start == 0 && have == sizeof buf) {
			/* a line longer than the buffer: not a system account's */
			skip = 1;
			have = 0;
		} else {
			memmove(buf, buf + start, have - start);
			have -= start;
		}
	}
	if (r == 0 && have && !skip)
		r = passwd_line(buf, have, name, nlen, uid, gid);
	close(fd);
	return r;
}

int priv_drop_unprivileged(const struct conf *c)
{
	struct passwd *pw;
	struct stat st;
	uid_t uid;
	gid_t gid;
	int r;

	if (geteuid() != 0)
		return 0;
	r = system_user(c->default_privs, &uid, &gid);
	if (r == 0 && (pw = getpwnam(c->default_privs))) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		r = 1;
	}
	if (r != 1) {
		log_msg(LOG_ERR, "priv: default_privs user %s not found (Debian has \"nobody\"; "
			"create it or name another unprivileged user)", c->default_privs);
		errno = ENOENT;
		return -1;
	}
	/* make install creates it; a host set up by hand may lack it */
	if (stat(c->empty_directory, &st) < 0 && errno == ENOENT) {
		if (mkdir(c->empty_directory, 0755) == 0 || errno == EEXIST) {
			if (chmod(c->empty_directory, 0755) == 0)
				log_msg(LOG_NOTICE, "priv: created empty_directory %s (root, 0755)",
					c->empty_directory);
		} else {
			log_msg(LOG_ERR, "priv: empty_directory %s is missing and cannot be created: %m "
				"(run: install -d -m 755 %s)", c->empty_directory, c->empty_directory);
			return -1;
		}
	}
	if (stat(c->empty_directory, &st) < 0 || !check_empty_dir(&st)) {
		log_msg(LOG_ERR, "priv: empty_directory %s must be a directory owned by root, "
			"not writable by others (run: install -d -o root -g root -m 755 %s)",
			c->empty_directory, c->empty_directory);
		errno = EPERM;
		return -1;
	}
	if (chroot(c->empty_directory) < 0 || chdir("/") < 0) {
		log_msg(LOG_ERR, "priv: chroot %s: %m", c->empty_directory);
		return -1;
	}
	return priv_drop(uid, gid, NULL);
}

int priv_become_user(const struct conf *c, const struct auth_user *u)
{
	gid_t sgid;

	/* passwd-file users have no entry in /etc/group; the mail group
	 * stays as the saved gid for dotlocks in the spool */
	if (saved_gid(c, u->gid, &sgid) < 0 ||
	    drop_to(u->uid, u->gid, sgid, u->virtual_user ? NULL : u->name) < 0)
		return -1;
	/* libmbox keeps its rewrite journal in $HOME when the uid has no
	 * passwd entry (virtual users) */
	if (setenv("HOME", u->home, 1) < 0 || setenv("USER", u->name, 1) < 0)
		return -1;
	if (chdir(u->home) < 0) {
		/* the spool INBOX works without a home, as in Dovecot */
		log_msg(LOG_WARNING, "priv: chdir %s: %m", u->home);
		if (chdir("/") < 0)
			return -1;
	}
	return 0;
}

/* 1 all n bytes, 0 EOF before the first byte, -1 error or EOF inside. */
int priv_login(struct io *io, const char *user, size_t ulen, const char *pass, size_t plen,
	       const void *ctx, size_t ctxlen)
{
	unsigned char a;

	if (child_fd < 0 || child_state > 0 || ctxlen > PRIV_CTX_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (child_state < 0) {
		/* the parent stopped listening (AUTH_FAILS_MAX, or it is gone) */
		errno = EPIPE;
		return -1;
	}
	/* one byte over the bound is enough for the parent to refuse */
	if (ulen > AUTH_USER_MAX + 1)
		ulen = AUTH_USER_MAX + 1;
	if (plen > AUTH_PASS_MAX + 1)
		plen = AUTH_PASS_MAX + 1;
	io_flush(io);
	if (rec_put(child_fd, PREC_USER, user, ulen) < 0 || rec_put(child_fd, PREC_PASS, pass, plen) < 0 ||
	    rec_put(child_fd, PREC_CTX, ctx, ctxlen) < 0 || rec_put(child_fd, PREC_ASK, NULL, 0) < 0 ||
	    rec_read_full(child_fd, &a, 1) <= 0)
		a = 0;
	switch (a) {
	case ANS_OK:
		child_state = 1;
		return 1;
	case ANS_FAIL:
		return 0;
	case ANS_TEMP:
		errno = EAGAIN;
		return -1;
	case ANS_LAST:
		child_state = -1;
		return PRIV_LOGIN_LAST;
	default:
		child_state = -1;
		errno = EPIPE;
		return -1;
	}
}

int priv_starttls(struct io *io)
{
	static unsigned char junk[IO_INBUF];
	size_t n;

	if (child_fd < 0 || child_state != 0) {
		errno = EINVAL;
		return -1;
	}
	io_flush(io);
	/* RFC 3207 section 6, CVE-2011-0411: nothing the client sent in
	 * plaintext after the command may be taken as sent under TLS */
	n = io_take_pending(io, junk, sizeof junk);
	str_wipe(junk, n);
	if (n)
		log_msg(LOG_NOTICE, "%zu bytes pipelined after STARTTLS discarded", n);
	child_state = 2;
	return rec_put(child_fd, PREC_TLS, NULL, 0);
}

/* Log files and the syslog socket: log.h does not name its descriptor, so
 * keep the write-only append files and AF_UNIX datagram sockets. */
int priv_is_log_sink(int fd)
{
	int fl = fcntl(fd, F_GETFL), v;
	socklen_t l = sizeof v;

	if (fl < 0)
		return 0;
	if ((fl & O_ACCMODE) == O_WRONLY && (fl & O_APPEND))
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0 || v != SOCK_DGRAM)
		return 0;
	l = sizeof v;
	return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) == 0 && v == AF_UNIX;
}

static int is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int kept(int fd, const int *keep, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fd == keep[i])
			return 1;
	return 0;
}

/* The slow way: every open descriptor, as /proc lists them (a procfs
 * lookup of the new pid and a 32 KiB directory buffer: about 0.5 ms in a
 * fresh child), log sinks of any kind kept. */
static void close_scan(const int *keep, size_t n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int fd;

	if (!d) {
		for (fd = 3; fd < 1024; fd++)
			if (!kept(fd, keep, n) && !priv_is_log_sink(fd))
				close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		uint32_t v;
		if (parse_u32(de->d_name, strlen(de->d_name), INT32_MAX, &v) < 0)
			continue;
		fd = (int)v;
		if (fd > 2 && fd != dirfd(d) && !kept(fd, keep, n) && !priv_is_log_sink(fd))
			close(fd);
	}
	closedir(d);
}

void priv_close_fds(const int *keep, size_t n)
{
	int log = log_sink_fd(), lo = 3, next;
	size_t i;

	/* the log's descriptor as log.c knows it, checked (glibc may have
	 * reconnected syslog elsewhere): else the scan, which finds it */
	if (log < 0 || !priv_is_log_sink(log)) {
		close_scan(keep, n);
		return;
	}
	/* close_range over the gaps between the kept descriptors */
	for (;;) {
		next = log >= lo ? log : -1;
		for (i = 0; i < n; i++)
			if (keep[i] >= lo && (next < 0 || keep[i] < next))
				next = keep[i];
		if (next < 0)
			break;
		if (next > lo && close_range((unsigned)lo, (unsigned)next - 1, 0) < 0) {
			close_scan(keep, n);
			return;
		}
		lo = next + 1;
	}
	if (close_range((unsigned)lo, ~0U, 0) < 0)
		close_scan(keep, n);
}

/* The child keeps the client, the socketpair and the log; nothing the
 * root parent may have opened.  fd 2 under xinetd is the client's socket:
 * it becomes /dev/null (stray library messages must not reach the client). */
static void child_close_fds(int fd_in, int fd_out, int keep)
{
	int k[3] = { fd_in, fd_out, keep }, fd;

	if (is_socket(2)) {
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0 && fd != 2) {
			dup2(fd, 2);
			close(fd);
		}
	}
	priv_close_fds(k, 3);
}

/* The confinement of a child that reads client input before login: it
 * gains no privilege by exec (NO_NEW_PRIVS), dies with its parent
 * (PDEATHSIG: nothing outlives the session holding the client), cannot
 * fork (RLIMIT_NPROC 0 for default_privs, shared by every session's
 * children, so neither can it signal them from a new process) and has a
 * bounded address space (PREAUTH_MEM_MAX).  Neither limit under ASan: its
 * shadow memory needs terabytes of address space and LeakSanitizer a
 * thread at exit. */
static int confine(const struct conf *c, pid_t parent)
{
	if (priv_drop_unprivileged(c) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ||
	    getppid() != parent)
		return -1;
#ifndef __SANITIZE_ADDRESS__
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_NPROC, &rl) < 0)
		return -1;
	rl.rlim_cur = rl.rlim_max = PREAUTH_MEM_MAX;
	if (setrlimit(RLIMIT_AS, &rl) < 0)
		return -1;
#endif
	return 0;
}

pid_t priv_fork_child(const struct conf *c, int fd_in, int fd_out, int keep)
{
	pid_t parent = getpid(), pid;

	pid = fork();
	if (pid != 0)
		return pid;
	child_close_fds(fd_in, fd_out, keep);
	if (confine(c, parent) < 0) {
		log_msg(LOG_ERR, "pre-auth child: cannot drop privileges: session refused");
		_exit(1);
	}
	return 0;
}

static void child_run(struct io *io, priv_child_fn fn, void *arg, int fd)
{
	static unsigned char left[IO_INBUF];
	size_t n;

	child_fd = fd;
	child_state = 0;
	fn(io, arg);
	io_flush(io);
	if (child_state == 1) {
		n = io_take_pending(io, left, sizeof left);
		if (rec_put(fd, PREC_LEFT, left, n) < 0)
			_exit(1);
	}
	/* _exit: no atexit handlers or stdio buffers of the parent run twice */
	_exit(0);
}

/* One attempt as the child sent it; static so no copy of a password is
 * left on the stack.  Wiped after every use. */
static struct attempt {
	char user[AUTH_USER_MAX + 1];
	char pass[AUTH_PASS_MAX + 1];
	size_t ulen, plen;
	int have_user, have_pass, over;
	unsigned char ctx[PRIV_CTX_MAX];
	size_t ctxlen;
} at;

/* Reads a len-byte value into buf (max bytes, NUL added) or, when longer,
 * reads and drops it and sets at.over. */
static int read_value(int fd, char *buf, size_t max, size_t len, size_t *len_r)
{
	char junk[4096];

	*len_r = 0;
	if (len <= max) {
		if (len && rec_read_full(fd, buf, len) <= 0)
			return -1;
		buf[len] = '\0';
		*len_r = len;
		return 0;
	}
	at.over = 1;
	while (len > 0) {
		size_t k = len < sizeof junk ? len : sizeof junk;
		if (rec_read_full(fd, junk, k) <= 0)
			return -1;
		len -= k;
	}
	str_wipe(junk, sizeof junk);
	return 0;
}

/* Makes up to 64 bytes of a client-chosen name safe for one log line:
 * controls, space and the separators of the Dovecot-shaped lines below
 * become \xHH, so a name cannot end the field early and make a log parser
 * (fail2ban) take a client-chosen address for the client's. */
static void printable(char *out, size_t outmax, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; i < n && i < 64 && o + 5 < outmax; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch <= 0x20 || ch >= 0x7f || strchr("\\,()<>[]=\"", ch)) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	if (i < n && o + 4 < outmax) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Sleeps until ms after start (CLOCK_MONOTONIC): every failed login takes
 * at least auth_failure_delay from its start, whatever made it fail. */
static void delay_from(const struct timespec *start, unsigned ms)
{
	struct timespec t = *start;

	t.tv_sec += (time_t)(ms / 1000);
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}

/* Judges the attempt in at: the answer byte. */
static int judge(const struct conf *c, const struct peer *peer, struct auth_user *u, unsigned *fails)
{
	char shown[300];
	const char *why = NULL;
	int r = -1, temp = 0;
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (at.over && at.ulen == 0)
		str_copyz(shown, sizeof shown, "(too long)");
	else
		printable(shown, sizeof shown, at.user, at.ulen);
	if (at.over)
		why = "invalid credentials: user name or password too long";
	else if (at.ulen == 0 || memchr(at.user, '\0', at.ulen) || memchr(at.pass, '\0', at.plen))
		why = "invalid credentials: empty user name or NUL byte";
	else if ((r = auth_check(c, at.user, at.pass, u)) < 0)
		temp = errno == EAGAIN;
	str_wipe(at.pass, sizeof at.pass);
	/* Dovecot's shapes (fail2ban's dovecot filter, t/89): every login
	 * method here is a plaintext one, which Dovecot logs as PLAIN */
	if (r == 0) {
		log_msg_shaped(LOG_INFO, "Login: user=<%s>, method=PLAIN, rip=%s, lip=%s, session=<%s>", u->name,
			       peer->addr, peer->local_addr[0] ? peer->local_addr : peer->addr, log_id());
		return ANS_OK;
	}
	++*fails;
	log_msg_shaped(LOG_NOTICE, "%s(%s,%s,<%s>): %s (login failed %u/%d)",
		       strncmp(c->auth, "passwd-file:", 12) ? "pam" : "passwd-file", shown, peer->addr, log_id(),
		       why ? why : temp ? "temporary failure" : "unknown user or password mismatch", *fails,
		       AUTH_FAILS_MAX);
	delay_from(&start, c->auth_failure_delay);
	if (*fails >= AUTH_FAILS_MAX)
		return ANS_LAST;
	return temp ? ANS_TEMP : ANS_FAIL;
}

/* Serves the child: 1 logged in (u_r, the ctx in at and the leftover
 * filled), 2 TLS asked, 0 the child ended without a login, -1 protocol
 * violation. */
static int parent_serve(const struct conf *c, int fd, struct auth_user *u_r, size_t ctxmax,
			unsigned char *left, size_t *leftlen_r)
{
	struct peer peer;
	unsigned fails = 0;
	size_t len;
	int type, r;
	unsigned char ans;

	net_get_peer(&peer);
	auth_set_rhost(peer.local ? NULL : peer.addr);
	memset(&at, 0, sizeof at);
	for (;;) {
		r = rec_get_hdr(fd, &type, &len, PREC_MAX);
		if (r <= 0)
			return r;
		switch (type) {
		case PREC_USER:
			if (read_value(fd, at.user, AUTH_USER_MAX, len, &at.ulen) < 0)
				return -1;
			at.have_user = 1;
			break;
		case PREC_PASS:
			if (read_value(fd, at.pass, AUTH_PASS_MAX, len, &at.plen) < 0)
				return -1;
			at.have_pass = 1;
			break;
		case PREC_CTX:
			if (len > sizeof at.ctx || len > ctxmax || (len && rec_read_full(fd, at.ctx, len) <= 0))
				return -1;
			at.ctxlen = len;
			break;
		case PREC_TLS:
			/* the child has ended its part: the parent starts TLS */
			if (len != 0)
				return -1;
			return rec_get_hdr(fd, &type, &len, PREC_MAX) == 0 ? 2 : -1;
		case PREC_ASK:
			if (len != 0 || !at.have_user || !at.have_pass)
				return -1;
			ans = (unsigned char)judge(c, &peer, u_r, &fails);
			at.have_user = at.have_pass = at.over = 0;
			if (io_write_all(fd, &ans, 1) < 0 || ans == ANS_LAST)
				return 0;
			if (ans != ANS_OK)
				break;
			/* the unread input, then EOF */
			if (rec_get_hdr(fd, &type, &len, PREC_MAX) <= 0 || type != PREC_LEFT ||
			    (len && rec_read_full(fd, left, len) <= 0))
				return -1;
			*leftlen_r = len;
			return rec_get_hdr(fd, &type, &len, PREC_MAX) == 0 ? 1 : -1;
		default:
			return -1;
		}
	}
}

int priv_preauth(const struct conf *c, struct io *io, priv_child_fn fn, void *arg,
		 struct auth_user *u_r, char *ctx_r, size_t ctxmax, size_t *ctxlen_r)
{
	static unsigned char left[IO_INBUF];
	struct sigaction sa, old_chld;
	size_t leftlen = 0;
	pid_t pid;
	int sv[2], r, status;

	if (!ctx_r)
		ctxmax = 0;
	if (ctxlen_r)
		*ctxlen_r = 0;
	/* nothing buffered may be written twice, by both processes */
	io_flush(io);
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	/* writes to a gone peer fail with EPIPE instead of killing us */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* SIG_IGN on SIGCHLD would make waitpid fail with ECHILD */
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, &old_chld);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_msg(LOG_ERR, "priv: socketpair: %m");
		sigaction(SIGCHLD, &old_chld, NULL);
		return -1;
	}
	pid = priv_fork_child(c, io->fd_in, io->fd_out, sv[1]);
	if (pid < 0) {
		log_msg(LOG_ERR, "priv: fork: %m");
		close(sv[0]);
		close(sv[1]);
		sigaction(SIGCHLD, &old_chld, NULL);
		return -1;
	}
	if (pid == 0)
		child_run(io, fn, arg, sv[1]);
	close(sv[1]);
	r = parent_serve(c, sv[0], u_r, ctxmax, left, &leftlen);
	str_wipe(&at.pass, sizeof at.pass);
	close(sv[0]);
	if (r < 0) {
		log_msg(LOG_ERR, "priv: pre-auth child broke the protocol: killed");
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	sigaction(SIGCHLD, &old_chld, NULL);
	if (status != 0 && r >= 0) {
		if (WIFSIGNALED(status))
			log_msg(LOG_ERR, "priv: pre-auth child died of signal %d", WTERMSIG(status));
		if (r == 1) {
			log_msg(LOG_ERR, "priv: pre-auth child failed after the login: session ended");
			r = -1;
		}
	}
	if (r == 2)
		return status == 0 ? PRIV_PREAUTH_TLS : -1;
	if (r != 1)
		return -1;
	if (io_unread(io, left, leftlen) < 0 || priv_become_user(c, u_r) < 0) {
		str_wipe(left, leftlen);
		return -1;
	}
	str_wipe(left, leftlen);
	if (ctxmax) {
		memcpy(ctx_r, at.ctx, at.ctxlen);
		if (ctxlen_r)
			*ctxlen_r = at.ctxlen;
	}
	return 0;
}
