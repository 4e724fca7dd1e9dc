/* lib/priv.c: priv_preauth/priv_login with a toy POP3-like child driven
 * through a socketpair, and (as root) the uids on both sides of the split,
 * priv_drop and priv_become_delivery.
 *
 * Each scenario: the test writes the client's whole input into one end of
 * a socketpair and shuts it; a server process S runs priv_preauth on the
 * other end and reports "key=value ..." through a pipe; the test then
 * reads what the client received. */
#include "auth.h"
#include "bounds.h"
#include "conf.h"
#include "io.h"
#include "log.h"
#include "priv.h"
#include "str.h"
#include "tap.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VUID 4242 /* the passwd-file user's uid when we are root */

static struct conf c;
static char tmp[256], logpath[300];
static uid_t user_uid;
static gid_t user_gid;
static char report[8192], client[200000];
static size_t client_len;

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		diag("cannot write %s", path);
	if (fd >= 0)
		close(fd);
}

static const char *mkhash(const char *pw)
{
	static struct crypt_data cd;
	const char *salt = crypt_gensalt("$6$", 1000, NULL, 0);
	return salt ? crypt_r(pw, salt, &cd) : "*";
}

/* ---- the toy pre-auth child: USER/PASS/QUIT and a few misbehaviours ---- */

static int find_pair_fd(const struct io *io)
{
	int fd, v;
	socklen_t l;

	for (fd = 3; fd < 64; fd++) {
		l = sizeof v;
		if (fd != io->fd_in && getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) == 0 && v == SOCK_STREAM)
			return fd;
	}
	return -1;
}

static void toy(struct io *io, void *arg)
{
	static char user[4096], big[4096];
	char line[256];
	size_t len, ulen = 0;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	struct stat st;
	int r, fd;

	(void)arg;
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	io_printf(io, "+OK toy ruid=%lu euid=%lu suid=%lu rgid=%lu egid=%lu groups=%d chroot=%s fds=%s\r\n",
		  (unsigned long)ru, (unsigned long)eu, (unsigned long)su, (unsigned long)rg,
		  (unsigned long)eg, getgroups(0, NULL), stat("/etc", &st) < 0 ? "yes" : "no",
		  fcntl(100, F_GETFD) < 0 ? "closed" : "open");
	for (;;) {
		r = io_getline(io, line, sizeof line, &len);
		if (r == IO_LONG) {
			io_puts(io, "-ERR too long\r\n");
			continue;
		}
		if (r != IO_OK)
			return;
		if (len >= 5 && memcmp(line, "USER ", 5) == 0) {
			ulen = len - 5;
			memcpy(user, line + 5, ulen);
			io_puts(io, "+OK\r\n");
		} else if (len >= 5 && memcmp(line, "PASS ", 5) == 0) {
			r = priv_login(io, user, ulen, line + 5, len - 5, "ctx-TAG", 7);
			if (r == 1)
				return;
			if (r == -1) {
				io_printf(io, "-ERR temp %s\r\n", errno == EAGAIN ? "EAGAIN" : errno == EPIPE ? "EPIPE" : "?");
				continue;
			}
			io_printf(io, "%s\r\n", r == 0 ? "-ERR auth" : "-ERR auth last");
			if (r == PRIV_LOGIN_LAST) {
				/* the parent stopped listening */
				errno = 0;
				r = priv_login(io, user, ulen, "x", 1, "", 0);
				io_printf(io, "again %d %s\r\n", r, errno == EPIPE ? "EPIPE" : "?");
				io_puts(io, "+OK bye\r\n");
				return;
			}
		} else if (len > 8 && memcmp(line, "BIGUSER ", 8) == 0) {
			/* a name longer than any line: priv_login must clip it and the parent refuse */
			memset(big, 'a', sizeof big);
			r = priv_login(io, big, (size_t)atoi(line + 8), "x", 1, "", 0);
			io_printf(io, "BIGUSER %d\r\n", r);
		} else if (len > 8 && memcmp(line, "BIGPASS ", 8) == 0) {
			memset(big, 'p', sizeof big);
			r = priv_login(io, "alice", 5, big, (size_t)atoi(line + 8), "", 0);
			io_printf(io, "BIGPASS %d\r\n", r);
		} else if (len == 6 && memcmp(line, "BIGCTX", 6) == 0) {
			r = priv_login(io, "alice", 5, "alice-pw", 8, big, PRIV_CTX_MAX + 1);
			io_printf(io, "BIGCTX %d\r\n", r);
		} else if (len == 4 && memcmp(line, "EVIL", 4) == 0) {
			/* a record longer than any record may be */
			fd = find_pair_fd(io);
			io_flush(io);
			if (fd >= 0 && write(fd, "U\xff\xff\xff\xff", 5) != 5)
				return;
			sleep(5); /* the parent must kill us */
			return;
		} else if (len == 5 && memcmp(line, "EVIL2", 5) == 0) {
			/* ASK without a password record */
			fd = find_pair_fd(io);
			io_flush(io);
			if (fd >= 0 && write(fd, "U\0\0\0\5aliceA\0\0\0\0", 15) != 15)
				return;
			sleep(5);
			return;
		} else if (len == 5 && memcmp(line, "CRASH", 5) == 0) {
			/* half a record, then death */
			fd = find_pair_fd(io);
			io_flush(io);
			if (fd >= 0 && write(fd, "U\0\0", 3) != 3)
				return;
			_exit(3);
		} else if (len == 4 && memcmp(line, "STLS", 4) == 0) {
			io_puts(io, "+OK go\r\n");
			r = priv_starttls(io);
			/* once asked, no more logins nor a second STARTTLS */
			if (r == 0 && priv_starttls(io) == -1 && priv_login(io, "alice", 5, "alice-pw", 8, "", 0) == -1)
				return;
			io_puts(io, "-ERR stls\r\n");
			return;
		} else if (len == 4 && memcmp(line, "QUIT", 4) == 0) {
			io_puts(io, "+OK bye\r\n");
			return;
		} else {
			io_puts(io, "-ERR what\r\n");
		}
	}
}

/* ---- the server process S ---- */

static void serve(int cfd, int rep)
{
	static struct io io;
	static char buf[IO_INBUF];
	struct auth_user u;
	char ctx[PRIV_CTX_MAX], cwd[PATH_MAX];
	size_t ctxlen = 0, len, total = 0;
	unsigned long sum = 0;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int r, n = 0;
	char first[64] = "";

	alarm(30);
	io_init(&io, cfd, cfd, 10);
	memset(&u, 0, sizeof u);
	r = priv_preauth(&c, &io, toy, NULL, &u, ctx, sizeof ctx, &ctxlen);
	if (r == 0) {
		/* what the parent reads after the login: the leftover, then the socket */
		while (io_getline(&io, buf, sizeof buf, &len) == IO_OK) {
			if (n++ == 0)
				snprintf(first, sizeof first, "%.*s", (int)(len < 40 ? len : 40), buf);
			total += len + 2;
			for (size_t i = 0; i < len; i++)
				sum = sum * 31 + (unsigned char)buf[i];
		}
		io_puts(&io, "+OK parent here\r\n");
		io_flush(&io);
	}
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	if (!getcwd(cwd, sizeof cwd))
		snprintf(cwd, sizeof cwd, "?");
	n = snprintf(report, sizeof report,
		     "rc=%d name=%s uid=%lu ctx=%.*s first=%s lines=%d bytes=%zu sum=%lu ruid=%lu euid=%lu suid=%lu "
		     "rgid=%lu egid=%lu sgid=%lu groups=%d cwd=%s setuid0=%d\n",
		     r, u.name[0] ? u.name : "-", (unsigned long)u.uid, (int)ctxlen, ctx, first[0] ? first : "-",
		     n, total, sum, (unsigned long)ru, (unsigned long)eu, (unsigned long)su,
		     (unsigned long)rg, (unsigned long)eg, (unsigned long)sg, getgroups(0, NULL), cwd,
		     geteuid() != 0 && setuid(0) == 0);
	if (n > 0 && write(rep, report, (size_t)n) < 0)
		_exit(2);
	_exit(0);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs one scenario; fills report and client.  Returns S's exit status. */
static int run(const char *input, size_t inlen, double *secs)
{
	int cl[2], rp[2], st = -1, extra;
	size_t got = 0;
	ssize_t k;
	pid_t s;
	double t0 = now();

	report[0] = '\0';
	client_len = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, cl) < 0 || pipe(rp) < 0)
		return -1;
	if (write(cl[0], input, inlen) != (ssize_t)inlen)
		diag("short write of the client input");
	shutdown(cl[0], SHUT_WR);
	/* an fd the child must not inherit */
	extra = dup2(rp[1], 100);
	fflush(stdout);
	s = fork();
	if (s == 0) {
		close(cl[0]);
		close(rp[0]);
		serve(cl[1], rp[1]);
	}
	close(cl[1]);
	close(rp[1]);
	if (extra >= 0)
		close(extra);
	while ((k = read(rp[0], report + got, sizeof report - 1 - got)) > 0)
		got += (size_t)k;
	report[got] = '\0';
	while ((k = read(cl[0], client + client_len, sizeof client - 1 - client_len)) > 0)
		client_len += (size_t)k;
	client[client_len] = '\0';
	close(rp[0]);
	close(cl[0]);
	waitpid(s, &st, 0);
	if (secs)
		*secs = now() - t0;
	return st;
}

/* value of key in the report ("" if absent) */
static const char *val(const char *key)
{
	static char out[512];
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof pat, " %s=", key);
	p = strstr(report, pat);
	if (!p && strncmp(report, pat + 1, strlen(pat + 1)) == 0)
		p = report - 1;
	out[0] = '\0';
	if (!p)
		return out;
	p += strlen(pat);
	while (p[n] && p[n] != ' ' && p[n] != '\n' && n < sizeof out - 1) {
		out[n] = p[n];
		n++;
	}
	out[n] = '\0';
	return out;
}

static unsigned long uval(const char *key)
{
	return strtoul(val(key), NULL, 10);
}

static int count(const char *needle)
{
	int n = 0;
	const char *p = client;
	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/* does the log file hold needle? */
static int log_has(const char *needle)
{
	static char text[200000];
	FILE *f = fopen(logpath, "r");
	size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;

	if (f)
		fclose(f);
	text[n] = '\0';
	return strstr(text, needle) != NULL;
}

#define RUN(s) run(s, sizeof(s) - 1, NULL)
#define RUNT(s, t) run(s, sizeof(s) - 1, t)

/* STARTTLS/STLS: the child answers, drops what was pipelined after the
 * command and ends; priv_preauth returns PRIV_PREAUTH_TLS, still root,
 * with nothing of the client's input in io (CVE-2011-0411 class). */
static void test_starttls(void)
{
	uid_t me = geteuid();

	RUN("STLS\r\nUSER alice\r\nPASS alice-pw\r\nQUIT\r\n");
	ok(strcmp(val("rc"), "1") == 0, "STLS: priv_preauth returned PRIV_PREAUTH_TLS (rc=%s)", val("rc"));
	ok(strstr(client, "+OK go\r\n") != NULL && count("+OK\r\n") == 0 && count("-ERR") == 0 &&
	   strstr(client, "bye") == NULL, "STLS: the go-ahead, and nothing pipelined after it was run");
	ok(uval("lines") == 0, "STLS: the parent's io holds none of the pipelined input (lines=%lu)", uval("lines"));
	ok(strcmp(val("name"), "-") == 0 && uval("euid") == me, "STLS: nobody logged in, the parent keeps its uid");
}

static void test_login(int root)
{
	static char big[100000];
	size_t n, i;
	unsigned long sum = 0;
	char want[512];
	double secs;

	RUN("USER alice\r\nPASS alice-pw\r\nSTAT\r\nLIST 1\r\n");
	diag("report: %.*s", (int)strcspn(report, "\n"), report);
	ok(strcmp(val("rc"), "0") == 0, "login ok: priv_preauth returned 0");
	ok(strcmp(val("name"), "alice") == 0 && uval("uid") == user_uid, "login ok: user alice, uid %lu",
	   (unsigned long)user_uid);
	ok(strcmp(val("ctx"), "ctx-TAG") == 0, "login ok: ctx passed through");
	ok(strcmp(val("first"), "STAT") == 0 && uval("lines") == 2,
	   "login ok: pipelined input after PASS reaches the parent's io (lines=%lu)", uval("lines"));
	ok(strstr(client, "+OK toy") == client && count("+OK\r\n") == 1 && count("-ERR") == 0,
	   "login ok: the child said nothing after the accepted PASS");
	ok(strstr(client, "+OK parent here\r\n") != NULL, "login ok: the parent writes to the same client");
	ok(uval("ruid") == user_uid && uval("euid") == user_uid && uval("suid") == user_uid,
	   "parent after login: real/effective/saved uid %lu", (unsigned long)user_uid);
	{
		/* root: the mail group stays as the saved gid only (Dovecot's
		 * mail_privileged_group), for dotlocks in a 2775 spool */
		struct group *mg = getgrnam("mail");
		unsigned long sg = root && mg ? (unsigned long)mg->gr_gid : (unsigned long)user_gid;
		ok(uval("rgid") == user_gid && uval("egid") == user_gid && uval("sgid") == sg,
		   "parent after login: real/effective gid %lu, saved gid %lu", (unsigned long)user_gid, sg);
	}
	snprintf(want, sizeof want, "%s/home/alice", tmp);
	ok(strcmp(val("cwd"), want) == 0, "parent after login: cwd is the home (%s)", val("cwd"));
	ok(strcmp(val("setuid0"), "0") == 0, "parent after login: setuid(0) fails");
	ok(strstr(client, "fds=closed") != NULL, "child: an fd of the parent was closed");
	if (root) {
		struct passwd *pw = getpwnam("nobody");
		snprintf(want, sizeof want, "ruid=%lu euid=%lu suid=%lu rgid=%lu egid=%lu groups=1 chroot=yes",
			 (unsigned long)pw->pw_uid, (unsigned long)pw->pw_uid, (unsigned long)pw->pw_uid,
			 (unsigned long)pw->pw_gid, (unsigned long)pw->pw_gid);
		diag("child greeting: %.*s", (int)strcspn(client, "\r"), client);
		ok(strstr(client, want) != NULL, "root: the child runs as nobody, chrooted (%s)", want);
		ok(uval("groups") == 1, "root: parent after login has one group");
	} else {
		snprintf(want, sizeof want, "ruid=%lu euid=%lu", (unsigned long)getuid(), (unsigned long)getuid());
		ok(strstr(client, want) != NULL && strstr(client, "chroot=no"), "not root: the child runs as us, no chroot");
	}

	RUN("USER ALICE\r\nPASS alice-pw\r\n");
	ok(strcmp(val("rc"), "0") == 0 && strcmp(val("name"), "alice") == 0 && strcmp(val("first"), "-") == 0,
	   "login with ALICE: canonical name, no leftover");

	/* a large pipelined tail crosses the boundary intact */
	n = 0;
	n += (size_t)snprintf(big + n, sizeof big - n, "USER bob\r\nPASS bob-pw\r\n");
	for (i = 0; n + 20 < sizeof big; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "NOOP %zu\r\n", i);
	run(big, n, NULL);
	{
		char line[32];
		for (size_t j = 0; j < i; j++) {
			int m = snprintf(line, sizeof line, "NOOP %zu", j);
			for (int k = 0; k < m; k++)
				sum = sum * 31 + (unsigned char)line[k];
		}
	}
	ok(strcmp(val("rc"), "0") == 0 && uval("lines") == i && uval("sum") == sum,
	   "%zu pipelined lines after the login all reach the parent, in order", i);

	RUN("USER alice\r\nPASS wrong\r\nUSER nosuch\r\nPASS alice-pw\r\nUSER alice\r\nPASS alice-pw\r\nSTAT\r\n");
	ok(strcmp(val("rc"), "0") == 0 && count("-ERR auth\r\n") == 2 && strcmp(val("first"), "STAT") == 0,
	   "wrong password and unknown user: the same refusal, then a login");

	RUNT("USER alice\r\nPASS wrong\r\nQUIT\r\n", &secs);
	ok(strcmp(val("rc"), "-1") == 0 && count("-ERR auth\r\n") == 1 && count("+OK bye") == 1,
	   "a failure, then QUIT: no login (rc -1)");
	ok(secs >= 0.2, "the failure delay was applied (%.3f s >= 0.2 s)", secs);

	RUN("USER alice\r\nPASS a\r\nPASS b\r\nPASS c\r\nPASS alice-pw\r\n");
	ok(strcmp(val("rc"), "-1") == 0 && count("-ERR auth\r\n") == 2 && count("-ERR auth last\r\n") == 1 &&
	   count("+OK bye") == 1, "AUTH_FAILS_MAX failures: the last answer is distinct, the session ends");
	ok(count("again -1 EPIPE\r\n") == 1, "after the last failure priv_login gives -1 EPIPE");

	{
		char keep[PATH_MAX];
		str_copyz(keep, sizeof keep, c.auth);
		snprintf(c.auth, sizeof c.auth, "passwd-file:%s/no-such-passwd", tmp);
		RUN("USER alice\r\nPASS alice-pw\r\nQUIT\r\n");
		ok(strcmp(val("rc"), "-1") == 0 && count("-ERR temp EAGAIN\r\n") == 1 && count("+OK bye") == 1,
		   "unreadable passwd-file: priv_login -1 EAGAIN, the session goes on");
		str_copyz(c.auth, sizeof c.auth, keep);
	}

	RUN("USER alice\r\n");
	ok(strcmp(val("rc"), "-1") == 0 && strcmp(val("name"), "-") == 0, "EOF before PASS: no login");
	RUN("");
	ok(strcmp(val("rc"), "-1") == 0, "EOF at once: no login");
	RUN("QUIT\r\n");
	ok(strcmp(val("rc"), "-1") == 0 && count("+OK bye") == 1, "QUIT: no login");

	RUN("USER al\0ice\r\nPASS alice-pw\r\nUSER alice\0\r\nPASS alice-pw\r\nUSER alice\r\nPASS alice-pw\0\r\nQUIT\r\n");
	ok(strcmp(val("rc"), "-1") == 0 && count("-ERR auth\r\n") == 2 && count("-ERR auth last") == 1,
	   "NUL in the user name (inside, at the end) or password: refused");
	ok(count("+OK\r\n") == 3, "NUL: the toy saw 3 USER lines");

	RUN("USER alice\r\nBIGUSER 300\r\nBIGUSER 4000\r\nQUIT\r\n");
	ok(strcmp(val("rc"), "-1") == 0 && count("BIGUSER 0\r\n") == 2, "user name over AUTH_USER_MAX: refused, session goes on");
	RUN("BIGPASS 1025\r\nUSER alice\r\nPASS alice-pw\r\n");
	ok(strcmp(val("rc"), "0") == 0 && count("BIGPASS 0\r\n") == 1, "password over AUTH_PASS_MAX: refused, then a login");
	RUN("BIGUSER 255\r\nQUIT\r\n");
	ok(count("BIGUSER 0\r\n") == 1, "a 255-byte name is just unknown");
	RUN("BIGCTX\r\nQUIT\r\n");
	ok(count("BIGCTX -1\r\n") == 1 && strcmp(val("rc"), "-1") == 0, "ctx over PRIV_CTX_MAX: priv_login -1");

	RUNT("EVIL\r\n", &secs);
	ok(strcmp(val("rc"), "-1") == 0 && secs < 4, "a record length over the bound: child killed, no login (%.1f s)", secs);
	RUNT("EVIL2\r\n", &secs);
	ok(strcmp(val("rc"), "-1") == 0 && secs < 4, "ASK without a password record: child killed (%.1f s)", secs);
	RUN("CRASH\r\n");
	ok(strcmp(val("rc"), "-1") == 0, "child dies inside a record: no login");
}

static void test_root_only(void)
{
	pid_t p;
	int st;
	char dir[PATH_MAX];

	/* pre-auth code must never run as root: a chroot that cannot be
	 * made stops it, with a log line naming the directory */
	snprintf(dir, sizeof dir, "%s", c.empty_directory);
	snprintf(c.empty_directory, sizeof c.empty_directory, "%s/no-such-dir/empty", tmp);
	RUN("USER alice\r\nPASS alice-pw\r\n");
	ok(strcmp(val("rc"), "-1") == 0 && client_len == 0, "root: uncreatable empty_directory: no child speaks, no login");
	ok(log_has(c.empty_directory) && log_has("install -d"), "root: the log names the directory and the fix");
	/* a missing one is created (root, 0755), as make install would */
	snprintf(c.empty_directory, sizeof c.empty_directory, "%s/made-empty", tmp);
	RUN("USER alice\r\nPASS alice-pw\r\n");
	{
		struct stat est;
		ok(strcmp(val("rc"), "0") == 0 && stat(c.empty_directory, &est) == 0 && est.st_uid == 0 &&
		   (est.st_mode & 07777) == 0755, "root: missing empty_directory created root 0755, login works");
	}
	snprintf(c.empty_directory, sizeof c.empty_directory, "%s/wempty", tmp);
	mkdir(c.empty_directory, 0777);
	chmod(c.empty_directory, 0777);
	RUN("USER alice\r\nPASS alice-pw\r\n");
	ok(strcmp(val("rc"), "-1") == 0 && client_len == 0, "root: world-writable empty_directory refused");
	snprintf(c.empty_directory, sizeof c.empty_directory, "%s", dir);
	snprintf(c.default_privs, sizeof c.default_privs, "fct-no-such-user");
	RUN("USER alice\r\nPASS alice-pw\r\n");
	ok(strcmp(val("rc"), "-1") == 0 && client_len == 0, "root: unknown default_privs: no child speaks");
	snprintf(c.default_privs, sizeof c.default_privs, "root");
	RUN("USER alice\r\nPASS alice-pw\r\n");
	ok(strcmp(val("rc"), "-1") == 0 && client_len == 0, "root: default_privs = root refused");
	snprintf(c.default_privs, sizeof c.default_privs, "nobody");

	/* mail_privileged_group: empty = none kept; unknown = refused, logged */
	c.mail_privileged_group[0] = '\0';
	RUN("USER alice\r\nPASS alice-pw\r\n");
	ok(strcmp(val("rc"), "0") == 0 && uval("sgid") == user_gid && uval("egid") == user_gid,
	   "root: mail_privileged_group empty: saved gid is the user's (%s)", val("sgid"));
	snprintf(c.mail_privileged_group, sizeof c.mail_privileged_group, "fct-no-such-group");
	RUN("USER alice\r\nPASS alice-pw\r\n");
	ok(strcmp(val("rc"), "-1") == 0, "root: unknown mail_privileged_group: the login fails");
	ok(log_has("mail_privileged_group fct-no-such-group: no such group"), "root: ... and the log says why");
	snprintf(c.mail_privileged_group, sizeof c.mail_privileged_group, "mail");

	fflush(stdout);
	p = fork();
	if (p == 0) {
		uid_t r, e, s;
		errno = 0;
		if (priv_drop(0, 0, NULL) != -1 || errno != EPERM)
			_exit(1);
		if (priv_drop(VUID, VUID + 1, NULL) != 0)
			_exit(2);
		getresuid(&r, &e, &s);
		if (r != VUID || e != VUID || s != VUID || getgid() != VUID + 1 || getegid() != VUID + 1)
			_exit(3);
		if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
			_exit(4);
		_exit(0);
	}
	waitpid(p, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "root: priv_drop refuses 0, drops and verifies (status %d)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	p = fork();
	if (p == 0) {
		gid_t r, e, s, mail;
		struct group *g = getgrnam("mail");
		if (!g)
			_exit(9);
		mail = g->gr_gid;
		if (priv_become_delivery(&c, 0, 0) != -1)
			_exit(1);
		if (priv_become_delivery(&c, VUID, VUID + 1) != 0)
			_exit(2);
		getresgid(&r, &e, &s);
		if (r != VUID + 1 || e != VUID + 1 || s != mail || getuid() != VUID || geteuid() != VUID)
			_exit(3);
		/* libmbox's dotlock dance: egid to mail and back */
		if (setegid(mail) < 0 || getegid() != mail || setegid(VUID + 1) < 0)
			_exit(4);
		if (setuid(0) == 0 || setegid(0) == 0)
			_exit(5);
		_exit(0);
	}
	waitpid(p, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "root: priv_become_delivery: uid user, gid user, saved gid mail; egid can switch (status %d)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void test_nonroot_only(void)
{
	pid_t p;
	int st;

	fflush(stdout);
	p = fork();
	if (p == 0) {
		if (priv_drop(getuid(), getgid(), NULL) != 0)
			_exit(1);
		if (priv_drop(getuid() + 1, getgid(), NULL) != -1)
			_exit(2);
		if (priv_drop(0, 0, NULL) != -1)
			_exit(3);
		if (priv_become_delivery(&c, getuid(), getgid()) != 0)
			_exit(4);
		if (priv_drop_unprivileged(&c) != 0)
			_exit(5);
		_exit(0);
	}
	waitpid(p, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "not root: priv_drop to ourselves only (status %d)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* priv pam SERVICE USER PASS: the split with PAM and a system user */
static void test_pam(const char *service, const char *user, const char *pass)
{
	struct passwd *pw = getpwnam(user);
	char in[512];
	int n;

	str_copyz(c.auth, sizeof c.auth, "pam");
	str_copyz(c.pam_service, sizeof c.pam_service, service);
	ok(pw != NULL, "PAM: %s exists", user);
	if (!pw)
		return;
	n = snprintf(in, sizeof in, "USER %s\r\nPASS %s\r\nSTAT\r\n", user, pass);
	run(in, (size_t)n, NULL);
	diag("report: %.*s", (int)strcspn(report, "\n"), report);
	ok(strcmp(val("rc"), "0") == 0 && strcmp(val("name"), user) == 0 && strcmp(val("first"), "STAT") == 0,
	   "PAM: %s logs in, the pipelined STAT follows", user);
	ok(uval("ruid") == pw->pw_uid && uval("euid") == pw->pw_uid && uval("suid") == pw->pw_uid &&
	   uval("rgid") == pw->pw_gid && uval("egid") == pw->pw_gid &&
	   uval("sgid") == (getgrnam("mail") ? (unsigned long)getgrnam("mail")->gr_gid : (unsigned long)pw->pw_gid),
	   "PAM: the parent is now %s (uid %lu gid %lu, saved gid mail)", user, (unsigned long)pw->pw_uid,
	   (unsigned long)pw->pw_gid);
	ok(uval("groups") >= 2, "PAM: initgroups gave the supplementary groups (%lu)", uval("groups"));
	ok(strcmp(val("cwd"), pw->pw_dir) == 0, "PAM: cwd is the home %s", pw->pw_dir);
	ok(strstr(client, "euid=65534") && strstr(client, "chroot=yes"), "PAM: the child was nobody, chrooted");
	n = snprintf(in, sizeof in, "USER %s\r\nPASS %s-wrong\r\nQUIT\r\n", user, pass);
	run(in, (size_t)n, NULL);
	ok(strcmp(val("rc"), "-1") == 0 && count("-ERR auth\r\n") == 1, "PAM: wrong password refused");
}

int main(int argc, char **argv)
{
	char path[512], text[4096];
	int root = geteuid() == 0;
	struct io io;

	snprintf(tmp, sizeof tmp, "%s/facteur-priv.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		skip_all("mkdtemp failed");
	chmod(tmp, 0755);
	user_uid = root ? VUID : getuid();
	user_gid = root ? VUID : getgid();
	snprintf(path, sizeof path, "%s/home", tmp);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/home/alice", tmp);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/empty", tmp);
	mkdir(path, 0755);
	snprintf(logpath, sizeof logpath, "%s/log", tmp);

	conf_defaults(&c);
	snprintf(c.empty_directory, sizeof c.empty_directory, "%s/empty", tmp);
	snprintf(c.auth, sizeof c.auth, "passwd-file:%s/passwd", tmp);
	snprintf(c.default_privs, sizeof c.default_privs, "nobody");
	c.auth_failure_delay = 200;
	snprintf(text, sizeof text, "alice:%s:%lu:%lu::%s/home/alice\n", mkhash("alice-pw"),
		 (unsigned long)user_uid, (unsigned long)user_gid, tmp);
	snprintf(path, sizeof path, "%s/passwd", tmp);
	write_file(path, text);
	snprintf(text + strlen(text), sizeof text - strlen(text), "bob:%s:%lu:%lu::%s/home/alice\n",
		 mkhash("bob-pw"), (unsigned long)user_uid, (unsigned long)user_gid, tmp);
	write_file(path, text);
	log_open("priv-test", logpath);
	signal(SIGPIPE, SIG_IGN);
	alarm(300);

	if (argc == 5 && strcmp(argv[1], "pam") == 0) {
		if (!root)
			skip_all("PAM needs root");
		c.auth_failure_delay = 10;
		test_pam(argv[2], argv[3], argv[4]);
		goto out;
	}
	io_init(&io, 0, 1, 0);
	errno = 0;
	ok(priv_login(&io, "a", 1, "b", 1, "", 0) == -1 && errno == EINVAL, "priv_login outside a child: -1 EINVAL");

	test_login(root);
	test_starttls();
	if (root)
		test_root_only();
	else
		test_nonroot_only();

	{
		FILE *f = fopen(logpath, "r");
		static char logtext[200000];
		size_t n = f ? fread(logtext, 1, sizeof logtext - 1, f) : 0;
		if (f)
			fclose(f);
		logtext[n] = '\0';
		ok(strstr(logtext, "(alice,") != NULL && strstr(logtext, "(login failed 1/3)") != NULL,
		   "failures logged with user and rhost, Dovecot's shape: passwd-file(alice,rip,<ID>)");
		ok(strstr(logtext, "(al\\x00ice,") != NULL, "a NUL in a logged name is escaped");
		ok(strstr(logtext, "alice-pw") == NULL && strstr(logtext, "bob-pw") == NULL, "no password in the log");
		if (strstr(logtext, "alice-pw") || strstr(logtext, "bob-pw"))
			diag("log: %s", logtext);
		ok(strstr(logtext, "broke the protocol") != NULL, "a protocol violation is logged");
	}
out:
	snprintf(text, sizeof text, "rm -rf '%s'", tmp);
	if (system(text) != 0)
		diag("cleanup of %s failed", tmp);
	return done_testing();
}
