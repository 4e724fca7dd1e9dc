/* lib/auth.c against a passwd-file made by t/10-auth.t (see mkfixture
 * there for the line numbers), or PAM with the users of t/12-pam.t.
 *   auth passwd FILE LOG UID GID
 *   auth pam SERVICE LOG    (fct1/fct1-pw, fct2 locked)
 *   auth pamuser SERVICE LOG USER PASS ok|refused */
#include "auth.h"
#include "bounds.h"
#include "conf.h"
#include "log.h"
#include "str.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct conf c;
static const char *logpath;

static int check(const char *name, const char *pass, struct auth_user *u)
{
	memset(u, 0, sizeof *u);
	errno = 0;
	return auth_check(&c, name, pass, u);
}

/* refused: -1 with EACCES, and nothing filled in */
static int refused(const char *name, const char *pass)
{
	struct auth_user u;
	int r = check(name, pass, &u);
	return r == -1 && errno == EACCES && u.name[0] == '\0';
}

static int log_has(const char *needle)
{
	static char buf[65536];
	FILE *f = fopen(logpath, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_passwd(const char *file, unsigned long uid, unsigned long gid)
{
	struct auth_user u;
	char want[PATH_MAX + 64], home[PATH_MAX], big[AUTH_PASS_MAX + 2];
	const char *dir_end = strrchr(file, '/');
	int r, root = geteuid() == 0;
	double t0, t1, t2;

	ok(dir_end != NULL, "fixture path is absolute");
	if (!dir_end)
		return;
	snprintf(home, sizeof home, "%.*s/home", (int)(dir_end - file), file);
	snprintf(want, sizeof want, "passwd-file:%s", file);
	str_copyz(c.auth, sizeof c.auth, want);

	r = check("alice", "alice-pw", &u);
	ok(r == 0, "yescrypt: alice with her password");
	ok(strcmp(u.name, "alice") == 0 && u.uid == uid && u.gid == gid && u.virtual_user == 1,
	   "alice: name, uid, gid, virtual (got %s %lu %lu %d)", u.name, (unsigned long)u.uid,
	   (unsigned long)u.gid, u.virtual_user);
	ok(strcmp(u.home, home) == 0, "alice: home %s", u.home);
	ok(check("bob", "bob-pw", &u) == 0 && strcmp(u.name, "bob") == 0,
	   "sha512-crypt: bob (extra fields after home tolerated)");
	ok(check("carol", "carol-pw", &u) == 0 && strcmp(u.home, home) == 0,
	   "bcrypt: carol (CRLF line end, gecos set)");
	ok(check("dave", "dave-pw", &u) == 0, "{SHA512-CRYPT} prefix of doveadm pw");
	ok(check("ALICE", "alice-pw", &u) == 0 && strcmp(u.name, "alice") == 0,
	   "name is case-insensitive; canonical name returned (%s)", u.name);
	ok(check("mixed", "mixed-pw", &u) == 0 && strcmp(u.name, "Mixed") == 0,
	   "Mixed in the file matches mixed (%s)", u.name);

	ok(refused("alice", "wrong"), "wrong password refused with EACCES");
	ok(refused("alice", ""), "empty password refused");
	ok(refused("alice", "alice-pw "), "password with a trailing space refused");
	ok(refused("alice", "second-pw"), "duplicate entry: the first one wins");
	ok(refused("nosuch", "alice-pw"), "unknown user refused with EACCES, like a wrong password");
	ok(refused("", "x"), "empty user name refused");
	ok(refused("rooty", "rooty-pw"), "uid 0 refused even with the right password");
	ok(log_has("refusing login of uid 0"), "uid 0 refusal logged");
	ok(refused("legacy", "legacy-pw"), "md5-crypt ($1$, legacy) refused");
	ok(log_has("legacy: refused"), "legacy method logged");
	ok(refused("locked", "locked-pw"), "locked (!hash) refused");
	ok(refused("broken", "xyz"), "malformed line gives no user");
	ok(refused("eve", "eve-pw"), "line with a bad uid skipped");
	ok(refused("frank", "frank-pw"), "line with a relative home skipped");
	if (root)
		ok(check("other", "other-pw", &u) == 0 && u.uid == uid + 1, "root: a user with another uid logs in");
	else
		ok(refused("other", "other-pw"), "not root: a user whose uid is not ours is refused");

	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ok(refused("alice", big), "password over AUTH_PASS_MAX refused");
	big[AUTH_USER_MAX + 1] = '\0';
	ok(refused(big, "x"), "user name over AUTH_USER_MAX refused");

	ok(log_has("passwd:8: malformed passwd-file line skipped: fewer than 6 fields"), "line 8 logged with file:line");
	ok(log_has("passwd:9: malformed passwd-file line skipped: bad uid"), "line 9: bad uid logged");
	ok(log_has("passwd:10: malformed passwd-file line skipped: home is not"), "line 10: relative home logged");
	ok(log_has("passwd:17: malformed passwd-file line skipped: bad user name"), "line 17: empty user logged");
	ok(log_has("passwd:18: malformed passwd-file line skipped: line too long"), "line 18: overlong line logged");
	ok(log_has("passwd:19: malformed passwd-file line skipped: NUL byte"), "line 19: NUL byte logged");
	ok(log_has("passwd:20: malformed passwd-file line skipped: bad user name"), "line 20: overlong name logged");
	ok(check("zed", "zed-pw", &u) == 0, "a good line after the malformed ones still works");
	ok(!log_has("alice-pw") && !log_has("wrong"), "no password in the log");

	/* the same work for an unknown user: not a timed assert, just shown */
	t0 = now();
	refused("alice", "wrong");
	t1 = now();
	refused("nosuch", "wrong");
	t2 = now();
	diag("wrong password %.1f ms, unknown user %.1f ms", (t1 - t0) * 1e3, (t2 - t1) * 1e3);

	ok(auth_lookup(&c, "Bob", &u) == 0 && strcmp(u.name, "bob") == 0 && u.uid == uid && u.virtual_user,
	   "auth_lookup Bob finds bob in the passwd-file");
	errno = 0;
	ok(auth_lookup(&c, "nosuch", &u) == -1 && errno == ENOENT, "auth_lookup unknown: ENOENT");
	errno = 0;
	ok(auth_lookup(&c, "broken", &u) == -1 && errno == ENOENT, "auth_lookup on a malformed line: ENOENT");
	ok(auth_lookup(&c, "rooty", &u) == 0 && u.uid == 0, "auth_lookup does not judge (uid 0 found)");

	snprintf(want, sizeof want, "passwd-file:%s.missing", file);
	str_copyz(c.auth, sizeof c.auth, want);
	errno = 0;
	ok(check("alice", "alice-pw", &u) == -1 && errno == EAGAIN, "missing passwd-file: EAGAIN, not a refusal");
	errno = 0;
	ok(auth_lookup(&c, "alice", &u) == -1 && errno == EAGAIN,
	   "missing passwd-file: lookup EAGAIN (never a bounce)");
	str_copyz(c.auth, sizeof c.auth, "ldap");
	errno = 0;
	ok(check("alice", "alice-pw", &u) == -1 && errno == EAGAIN, "unknown auth method: EAGAIN");

	str_copyz(c.auth, sizeof c.auth, "pam");
	ok(auth_lookup(&c, "root", &u) == 0 && u.uid == 0 && !u.virtual_user && strcmp(u.home, "/root") == 0,
	   "system lookup: root");
	ok(auth_lookup(&c, "ROOT", &u) == 0 && strcmp(u.name, "root") == 0, "system lookup tries the lower-cased name");
	errno = 0;
	ok(auth_lookup(&c, "fct-no-such-user", &u) == -1 && errno == ENOENT, "system lookup unknown: ENOENT");
	if (!root)
		ok(refused("root", "x"), "not root: PAM refused (EACCES)");
}

static void test_pam(const char *service)
{
	struct auth_user u;

	str_copyz(c.auth, sizeof c.auth, "pam");
	str_copyz(c.pam_service, sizeof c.pam_service, service);
	auth_set_rhost("192.0.2.7");
	ok(check("fct1", "fct1-pw", &u) == 0, "PAM: fct1 with the right password");
	ok(strcmp(u.name, "fct1") == 0 && u.uid != 0 && !u.virtual_user && strcmp(u.home, "/home/fct1") == 0,
	   "PAM: fct1 filled from getpwnam (%s uid %lu home %s)", u.name, (unsigned long)u.uid, u.home);
	ok(refused("fct1", "wrong"), "PAM: wrong password refused (EACCES)");
	ok(refused("fct1", ""), "PAM: empty password refused");
	ok(refused("fct-no-such-user", "fct1-pw"), "PAM: unknown user refused (EACCES)");
	ok(refused("fct2", "fct2-pw"), "PAM: locked account refused");
	ok(check("fct1", "fct1-pw", &u) == 0, "PAM: fct1 again after failures");
	ok(!log_has("fct1-pw"), "PAM: no password in the log");
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: auth passwd FILE LOG UID GID | auth pam SERVICE LOG\n");
		return 2;
	}
	conf_defaults(&c);
	logpath = argv[3];
	log_open("auth-test", logpath);
	if (strcmp(argv[1], "passwd") == 0 && argc == 6) {
		test_passwd(argv[2], strtoul(argv[4], NULL, 10), strtoul(argv[5], NULL, 10));
	} else if (strcmp(argv[1], "pam") == 0) {
		if (geteuid() != 0)
			skip_all("PAM needs root");
		test_pam(argv[2]);
	} else if (strcmp(argv[1], "pamuser") == 0 && argc == 7) {
		struct auth_user u;
		if (geteuid() != 0)
			skip_all("PAM needs root");
		str_copyz(c.auth, sizeof c.auth, "pam");
		str_copyz(c.pam_service, sizeof c.pam_service, argv[2]);
		if (strcmp(argv[6], "ok") == 0)
			ok(check(argv[4], argv[5], &u) == 0 && strcmp(u.name, argv[4]) == 0, "PAM: %s accepted", argv[4]);
		else
			ok(refused(argv[4], argv[5]), "PAM: %s refused", argv[4]);
	} else {
		fprintf(stderr, "auth: bad arguments\n");
		return 2;
	}
	return done_testing();
}
