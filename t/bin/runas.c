/* runas UID GID CMD [ARGS...]: runs CMD as a mailbox owner on a Debian
 * host, the way a setgid-mail mail tool runs (mutt_dotlock, dotlockfile):
 * uid UID, groups {GID}, real gid GID and effective/saved gid "mail" (exec
 * copies the effective gid into the saved one, so the exact state of our
 * servers after login cannot cross an exec).  t/bin/mboxtool then drops the
 * effective gid back to GID at once and keeps mail as the saved gid only,
 * which is what smtpd, pop3d and imapd have (lib/priv.c). */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct group *g;
	uid_t uid;
	gid_t gid, sgid;

	if (argc < 4) {
		fputs("usage: runas UID GID CMD [ARGS...]\n", stderr);
		return 2;
	}
	uid = (uid_t)strtoul(argv[1], NULL, 10);
	gid = (gid_t)strtoul(argv[2], NULL, 10);
	g = getgrnam("mail");
	sgid = g ? g->gr_gid : gid;
	if (uid == 0 || setgroups(1, &gid) < 0 || setresgid(gid, sgid, sgid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		fprintf(stderr, "runas: %s\n", strerror(errno ? errno : EPERM));
		return 2;
	}
	execvp(argv[3], argv + 3);
	fprintf(stderr, "runas: %s: %s\n", argv[3], strerror(errno));
	return 127;
}
