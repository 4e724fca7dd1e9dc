/* Who users are and whether their password is right: a crypt(3)
 * passwd-file or PAM.  An unknown user and a wrong password give the same
 * answer after the same work (crypt against a dummy hash), so neither the
 * reply nor its timing tells which names exist. */
#include "auth.h"
#include "bounds.h"
#include "dyn.h"
#include "log.h"
#include "str.h"

#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PWFILE_PREFIX "passwd-file:"

/* Used when the passwd-file has no valid hash to copy the cost from:
 * yescrypt, Debian's default, of a password nobody knows. */
static const char dummy_hash[] = "$y$j9T$wDBR0HxRzbspqCl/.WkKV/$pdt8.NH.ekZVHee9IKEDTPXF89xkbxfFA/4ft7uWV.7";

static char auth_rhost[64];

/* crypt_r's state is 32 KiB: static, and wiped after each use since it
 * holds intermediate values of the password. */
static struct crypt_data auth_cd;

struct pwent {
	char name[AUTH_USER_MAX + 1];
	char hash[AUTH_HASH_MAX];
	uid_t uid;
	gid_t gid;
	char home[PATH_MAX];
};

void auth_set_rhost(const char *addr)
{
	if (!addr || str_copyz(auth_rhost, sizeof auth_rhost, addr) < 0)
		auth_rhost[0] = '\0';
}

static const char *pwfile_path(const struct conf *c)
{
	if (strncmp(c->auth, PWFILE_PREFIX, sizeof PWFILE_PREFIX - 1) == 0)
		return c->auth + sizeof PWFILE_PREFIX - 1;
	return NULL;
}

/* Dovecot's doveadm pw writes "{SHA512-CRYPT}$6$..." or "{CRYPT}$2y$...":
 * any {...CRYPT} scheme prefix is plain crypt(3) after it. */
static void strip_scheme(const char **p, size_t *len)
{
	const char *close;

	if (*len == 0 || **p != '{')
		return;
	close = memchr(*p, '}', *len);
	if (!close || close - *p < 6 || memcmp(close - 5, "CRYPT", 5) != 0)
		return;
	*len -= (size_t)(close + 1 - *p);
	*p = close + 1;
}

/* One line (no terminator) into e: "user:hash:uid:gid:gecos:home[:...]".
 * 0, or -1 with the reason in *why_r. */
static int pwfile_parse(const char *line, size_t len, struct pwent *e, const char **why_r)
{
	const char *f[6], *end = line + len, *p = line, *hash;
	size_t fl[6], hlen;
	uint32_t v;
	int n = 0;

	if (memchr(line, '\0', len)) {
		*why_r = "NUL byte";
		return -1;
	}
	while (n < 6) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		f[n] = p;
		fl[n] = colon ? (size_t)(colon - p) : (size_t)(end - p);
		n++;
		if (!colon)
			break;
		p = colon + 1;
	}
	if (n < 6) {
		*why_r = "fewer than 6 fields";
		return -1;
	}
	if (fl[0] == 0 || str_copy(e->name, sizeof e->name, f[0], fl[0]) < 0) {
		*why_r = "bad user name";
		return -1;
	}
	hash = f[1];
	hlen = fl[1];
	strip_scheme(&hash, &hlen);
	if (str_copy(e->hash, sizeof e->hash, hash, hlen) < 0) {
		*why_r = "hash too long";
		return -1;
	}
	/* (uid_t)-1 means "no change" to setresuid: never a user */
	if (parse_u32(f[2], fl[2], UINT32_MAX - 1, &v) < 0) {
		*why_r = "bad uid";
		return -1;
	}
	e->uid = (uid_t)v;
	if (parse_u32(f[3], fl[3], UINT32_MAX - 1, &v) < 0) {
		*why_r = "bad gid";
		return -1;
	}
	e->gid = (gid_t)v;
	if (fl[5] == 0 || f[5][0] != '/' || str_copy(e->home, sizeof e->home, f[5], fl[5]) < 0) {
		*why_r = "home is not an absolute path";
		return -1;
	}
	return 0;
}

/* Reads one line of at most max bytes (terminator dropped, CR before LF
 * too).  1 line, 0 EOF, -1 the line was too long (skipped up to its LF). */
static int pwfile_getline(FILE *f, char *buf, size_t max, size_t *len_r)
{
	size_t n = 0;
	int ch, over = 0;

	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (n < max)
			buf[n++] = (char)ch;
		else
			over = 1;
	}
	if (ch == EOF && n == 0 && !over)
		return 0;
	*len_r = 0;
	if (over)
		return -1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	*len_r = n;
	return 1;
}

/* Finds name (case-insensitive, first match wins) in the passwd-file.  1
 * found, 0 not found, -1 unreadable (errno).  Reads the whole file either
 * way.  dummy_r gets the first valid hash: unknown users are then checked
 * at the cost of the file's own scheme. */
static int pwfile_find(const char *path, const char *name, size_t nlen, struct pwent *e_r,
		       char *dummy_r, size_t dummymax)
{
	static char line[CONF_LINE_MAX];
	static struct pwent e;
	unsigned long lineno = 0;
	size_t len = 0;
	int found = 0, r;
	/* loaded by check_pwfile, the only caller asking for a dummy */
	const struct dyn_crypt *cr = dummy_r ? dyn_crypt() : NULL;
	FILE *f;

	if (dummy_r)
		dummy_r[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return -1;
	while ((r = pwfile_getline(f, line, sizeof line, &len)) != 0) {
		const char *why = "line too long", *s = line;
		size_t k = 0;

		lineno++;
		while (k < len && (s[k] == ' ' || s[k] == '\t'))
			k++;
		if (r > 0 && (k == len || s[k] == '#'))
			continue;
		if (r < 0 || pwfile_parse(line, len, &e, &why) < 0) {
			log_msg(LOG_WARNING, "%s:%lu: malformed passwd-file line skipped: %s", path, lineno, why);
			continue;
		}
		if (cr && !dummy_r[0] && cr->checksalt(e.hash) == CRYPT_SALT_OK)
			str_copyz(dummy_r, dummymax, e.hash);
		if (!found && str_ieq(e.name, strlen(e.name), name, nlen)) {
			*e_r = e;
			found = 1;
		}
	}
	str_wipe(line, sizeof line);
	str_wipe(&e, sizeof e);
	if (ferror(f)) {
		int saved = errno;
		fclose(f);
		errno = saved ? saved : EIO;
		return -1;
	}
	fclose(f);
	return found;
}

/* Same time whatever the contents; lengths are public (hash formats fix them). */
static int hash_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = (unsigned char)(la != lb);

	for (i = 0; i < lb; i++)
		d |= (unsigned char)((unsigned char)a[i < la ? i : 0] ^ (unsigned char)b[i]);
	return d == 0;
}

static void fill_user(struct auth_user *u, const char *name, uid_t uid, gid_t gid,
		      const char *home, int virtual_user)
{
	memset(u, 0, sizeof *u);
	str_copyz(u->name, sizeof u->name, name);
	u->uid = uid;
	u->gid = gid;
	str_copyz(u->home, sizeof u->home, home);
	u->virtual_user = virtual_user;
}

/* getpwnam: 1 found, 0 no such user, -1 error (errno EAGAIN). */
static int sys_getpw(const char *name, struct passwd **pw_r)
{
	errno = 0;
	*pw_r = getpwnam(name);
	if (*pw_r)
		return 1;
	/* getpwnam(3) lists these as "not found" depending on the backend */
	if (errno == 0 || errno == ENOENT || errno == ESRCH || errno == EBADF || errno == EPERM)
		return 0;
	errno = EAGAIN;
	return -1;
}

static int sys_fill(struct auth_user *u, const struct passwd *pw)
{
	if (strlen(pw->pw_name) >= sizeof u->name || strlen(pw->pw_dir) >= sizeof u->home) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fill_user(u, pw->pw_name, pw->pw_uid, pw->pw_gid, pw->pw_dir, 0);
	return 0;
}

int auth_lookup(const struct conf *c, const char *name, struct auth_user *u_r)
{
	const char *path = pwfile_path(c);
	size_t nlen = strlen(name), i;
	char lower[AUTH_USER_MAX + 1];
	struct passwd *pw;
	int r;

	if (nlen == 0 || nlen > AUTH_USER_MAX) {
		errno = ENOENT;
		return -1;
	}
	if (path) {
		static struct pwent e;
		r = pwfile_find(path, name, nlen, &e, NULL, 0);
		if (r < 0) {
			/* never "no such user" because the file is missing: that bounces mail */
			log_msg(LOG_ERR, "passwd-file %s: %s", path, strerror(errno));
			errno = EAGAIN;
			return -1;
		}
		if (r == 0) {
			errno = ENOENT;
			return -1;
		}
		fill_user(u_r, e.name, e.uid, e.gid, e.home, 1);
		str_wipe(&e, sizeof e);
		return 0;
	}
	r = sys_getpw(name, &pw);
	if (r == 0) {
		for (i = 0; i < nlen; i++)
			lower[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
		lower[nlen] = '\0';
		if (memcmp(lower, name, nlen) != 0)
			r = sys_getpw(lower, &pw);
	}
	if (r < 0)
		return -1;
	if (r == 0) {
		errno = ENOENT;
		return -1;
	}
	return sys_fill(u_r, pw);
}

/* Is this uid allowed to log in here at all? */
static int uid_allowed(const char *name, uid_t uid)
{
	if (uid == 0) {
		log_msg(LOG_WARNING, "auth: refusing login of uid 0 (user %s)", name);
		return 0;
	}
	if (geteuid() != 0 && uid != getuid()) {
		log_msg(LOG_WARNING, "auth: not root: user %s (uid %lu) is not us (uid %lu)", name,
			(unsigned long)uid, (unsigned long)getuid());
		return 0;
	}
	return 1;
}

/* libcrypt, loaded at the first password check (dyn.h) */
static const struct dyn_crypt *crypt_lib(void)
{
	const struct dyn_crypt *cr = dyn_crypt();

	if (!cr) {
		log_msg(LOG_ERR, "auth: %s", dyn_error());
		errno = EAGAIN;
	}
	return cr;
}

static int check_pwfile(const char *path, const char *name, const char *pass, struct auth_user *u_r)
{
	static struct pwent e;
	char dummy[AUTH_HASH_MAX];
	const char *setting, *out;
	int r, good_scheme = 0, match;
	const struct dyn_crypt *cr = crypt_lib();

	if (!cr)
		return -1;
	r = pwfile_find(path, name, strlen(name), &e, dummy, sizeof dummy);
	if (r < 0) {
		log_msg(LOG_ERR, "passwd-file %s: %s", path, strerror(errno));
		errno = EAGAIN;
		return -1;
	}
	if (r > 0) {
		good_scheme = cr->checksalt(e.hash) == CRYPT_SALT_OK;
		if (!good_scheme)
			log_msg(LOG_WARNING, "%s: user %s: hash method unknown, disabled or legacy: refused",
				path, e.name);
	}
	setting = r > 0 && good_scheme ? e.hash : dummy[0] ? dummy : dummy_hash;
	memset(&auth_cd, 0, sizeof auth_cd);
	out = cr->crypt_r(pass, setting, &auth_cd);
	/* crypt_r fails with a "*..." string, never a valid hash */
	match = out && out[0] != '*' && hash_equal(out, setting);
	str_wipe(&auth_cd, sizeof auth_cd);
	if (r > 0 && good_scheme && match && uid_allowed(e.name, e.uid)) {
		fill_user(u_r, e.name, e.uid, e.gid, e.home, 1);
		str_wipe(&e, sizeof e);
		return 0;
	}
	str_wipe(&e, sizeof e);
	errno = EACCES;
	return -1;
}

struct pam_cred {
	const char *user, *pass;
};

static void pam_resp_free(struct pam_response *resp, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (resp[i].resp) {
			str_wipe(resp[i].resp, strlen(resp[i].resp));
			free(resp[i].resp);
		}
	free(resp);
}

/* Answers only the password prompt (and the user name prompt); PAM frees
 * the answers. */
static int pam_conv_fn(int n, const struct pam_message **msg, struct pam_response **resp_r, void *data)
{
	const struct pam_cred *cr = data;
	struct pam_response *resp;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	resp = calloc((size_t)n, sizeof *resp);
	if (!resp)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		const char *ans;

		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			ans = cr->pass;
			break;
		case PAM_PROMPT_ECHO_ON:
			ans = cr->user;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			log_msg(LOG_INFO, "pam: %.200s", msg[i]->msg ? msg[i]->msg : "");
			continue;
		default:
			pam_resp_free(resp, n);
			return PAM_CONV_ERR;
		}
		resp[i].resp = strdup(ans);
		if (!resp[i].resp) {
			pam_resp_free(resp, n);
			return PAM_BUF_ERR;
		}
	}
	*resp_r = resp;
	return PAM_SUCCESS;
}

/* The caller applies the failure delay; pam_unix's own would double it. */
static void pam_no_delay(int status, unsigned usec, void *data)
{
	(void)status;
	(void)usec;
	(void)data;
}

static int pam_refusal(int r)
{
	switch (r) {
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_MAXTRIES:
	case PAM_PERM_DENIED:
	case PAM_ACCT_EXPIRED:
	case PAM_AUTHTOK_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_CRED_INSUFFICIENT:
		return 1;
	default:
		return 0;
	}
}

/* pam_authenticate + pam_acct_mgmt; canon_r gets PAM's user name. */
static int pam_run(const struct dyn_pam *pam, const char *service, const char *name, const char *pass,
		   char *canon_r, size_t canonmax)
{
	struct pam_cred cr = { name, pass };
	struct pam_conv conv = { pam_conv_fn, &cr };
	pam_handle_t *ph = NULL;
	const void *item = NULL;
	int r;

	r = pam->start(service, name, &conv, &ph);
	if (r != PAM_SUCCESS) {
		log_msg(LOG_ERR, "pam_start(%s): %s", service, pam->strerror(ph, r));
		errno = EAGAIN;
		return -1;
	}
	if (auth_rhost[0])
		pam->set_item(ph, PAM_RHOST, auth_rhost);
	pam->set_item(ph, PAM_FAIL_DELAY, (const void *)pam_no_delay);
	r = pam->authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (r == PAM_SUCCESS)
		r = pam->acct_mgmt(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (r == PAM_SUCCESS && (pam->get_item(ph, PAM_USER, &item) != PAM_SUCCESS || !item ||
				 str_copyz(canon_r, canonmax, item) < 0))
		r = PAM_SYSTEM_ERR;
	if (r != PAM_SUCCESS && !pam_refusal(r))
		log_msg(LOG_ERR, "pam(%s): %s", service, pam->strerror(ph, r));
	pam->end(ph, r);
	if (r == PAM_SUCCESS)
		return 0;
	errno = pam_refusal(r) ? EACCES : EAGAIN;
	return -1;
}

/* The work of a PAM password check, for a name PAM would find unknown at
 * once (pam_unix answers an unknown user ~100 ms sooner than a wrong
 * password).  Measured on Debian 12 (Linux-PAM 1.5.2, yescrypt cost 5): a
 * pam_authenticate + pam_acct_mgmt costs two hashes of Debian's default
 * cost, right or wrong password; t/18-auth-timing.t checks the match. */
#define PAM_DUMMY_HASHES 2
static void dummy_check(const struct dyn_crypt *cr, const char *pass)
{
	int i;

	for (i = 0; i < PAM_DUMMY_HASHES; i++) {
		memset(&auth_cd, 0, sizeof auth_cd);
		cr->crypt_r(pass, dummy_hash, &auth_cd);
	}
	str_wipe(&auth_cd, sizeof auth_cd);
}

/* Is there a system account for name (or its lower-cased form)? */
static int sys_known(const char *name)
{
	char low[AUTH_USER_MAX + 1];
	struct passwd *pw;
	size_t i;

	if (sys_getpw(name, &pw) != 0)
		return 1;                       /* found, or a lookup error: ask PAM */
	for (i = 0; name[i] && i < AUTH_USER_MAX; i++)
		low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	low[i] = '\0';
	return strcmp(low, name) != 0 && sys_getpw(low, &pw) != 0;
}

static int check_pam(const struct conf *c, const char *name, const char *pass, struct auth_user *u_r)
{
	char canon[AUTH_USER_MAX + 1];
	struct passwd *pw;
	const struct dyn_pam *pam;
	const struct dyn_crypt *cr;
	int r;

	if (geteuid() != 0) {
		log_msg(LOG_WARNING, "auth: not root: PAM logins are refused (use auth = passwd-file:PATH)");
		errno = EACCES;
		return -1;
	}
	/* both loaded whichever way the check goes: the same work for an
	 * unknown name as for a known one */
	pam = dyn_pam();
	if (!pam)
		log_msg(LOG_ERR, "auth: %s", dyn_error());
	cr = crypt_lib();
	if (!pam || !cr) {
		errno = EAGAIN;
		return -1;
	}
	/* an account PAM accepted must be in getpwnam anyway (below) */
	if (!sys_known(name)) {
		dummy_check(cr, pass);
		errno = EACCES;
		return -1;
	}
	if (pam_run(pam, c->pam_service, name, pass, canon, sizeof canon) < 0)
		return -1;
	r = sys_getpw(canon, &pw);
	if (r <= 0) {
		log_msg(LOG_ERR, "auth: PAM accepted %s, which getpwnam does not know", canon);
		errno = EAGAIN;
		return -1;
	}
	if (!uid_allowed(pw->pw_name, pw->pw_uid)) {
		errno = EACCES;
		return -1;
	}
	if (sys_fill(u_r, pw) < 0) {
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

int auth_check(const struct conf *c, const char *name, const char *pass, struct auth_user *u_r)
{
	const char *path = pwfile_path(c);
	size_t nlen = strlen(name);

	/* bounds.h: refused before PAM or crypt see them */
	if (nlen == 0 || nlen > AUTH_USER_MAX || strlen(pass) > AUTH_PASS_MAX) {
		errno = EACCES;
		return -1;
	}
	if (path)
		return check_pwfile(path, name, pass, u_r);
	if (strcmp(c->auth, "pam") == 0)
		return check_pam(c, name, pass, u_r);
	log_msg(LOG_ERR, "auth: unknown auth method \"%.100s\"", c->auth);
	errno = EAGAIN;
	return -1;
}
