/* Who users are and whether their password is right: PAM (service from
 * pam_service) or a crypt(3) passwd-file ("user:hash:uid:gid::home" lines,
 * any scheme libcrypt knows).  Also the recipient lookup of smtpd.
 * passwd-file: extra fields after home, # comments and blank lines are
 * fine; a malformed line is skipped and logged as FILE:LINE; a Dovecot
 * "{SHA512-CRYPT}"-style prefix is ignored; hashes whose method
 * crypt_checksalt(3) does not call OK (unknown, legacy: DES, md5) never
 * match; uid 0 never logs in. */
#ifndef FACTEUR_AUTH_H
#define FACTEUR_AUTH_H

#include <limits.h>
#include <sys/types.h>
#include "conf.h"

struct auth_user {
	char name[256];      /* canonical login name (the passwd entry's) */
	uid_t uid;
	gid_t gid;
	char home[PATH_MAX];
	int virtual_user;    /* from the passwd-file, not the system */
};

/* auth.c */
/* Looks a user up without a password (SMTP recipients, -bs): the
 * passwd-file if auth is passwd-file:PATH, else getpwnam.  Name matching is
 * case-insensitive for the passwd-file and tries the lower-cased name for
 * system users.  0 found, -1 not found (errno ENOENT) or error (other errno). */
int auth_lookup(const struct conf *c, const char *name, struct auth_user *u_r);
/* Checks name/password.  0 ok and u_r filled; -1 refused (EACCES) or a
 * temporary failure (EAGAIN: PAM or the file could not be read).  Runs as
 * root under xinetd; as non-root only passwd-file users whose uid is ours
 * may log in.  Does not sleep: the caller applies the failure delay, the
 * same for unknown users and wrong passwords.  Never logs the password. */
int auth_check(const struct conf *c, const char *name, const char *pass, struct auth_user *u_r);
/* The client's address for PAM_RHOST (priv_preauth sets it); NULL clears. */
void auth_set_rhost(const char *addr);

#endif
