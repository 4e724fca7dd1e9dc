/* Libraries only some sessions need, loaded at their first use instead of
 * at every exec: libpam (with libaudit and libcap-ng) and libcrypt for a
 * login, libresolv's parser for relaying.  Linked into every server they
 * cost each connection about 4 ms of CPU on the development VM (ld.so
 * mapping and relocating five objects, libcap-ng's constructor, a fork
 * copying their mappings), most sessions never calling them: see bench/README,
 * issue 16.  Loaded by soname, as ld.so would, in the process that calls them
 * (smtpd's and the logins' root parents, the queue runner), never in a
 * chroot.  Each returns NULL when the library or a symbol is missing;
 * dyn_error() then says why. */
#ifndef FACTEUR_DYN_H
#define FACTEUR_DYN_H

#include <crypt.h>
#include <resolv.h>
#include <security/pam_appl.h>

struct dyn_pam {
	int (*start)(const char *, const char *, const struct pam_conv *, pam_handle_t **);
	int (*end)(pam_handle_t *, int);
	int (*authenticate)(pam_handle_t *, int);
	int (*acct_mgmt)(pam_handle_t *, int);
	int (*set_item)(pam_handle_t *, int, const void *);
	int (*get_item)(const pam_handle_t *, int, const void **);
	const char *(*strerror)(pam_handle_t *, int);
};

struct dyn_crypt {
	char *(*crypt_r)(const char *, const char *, struct crypt_data *);
	int (*checksalt)(const char *);
};

struct dyn_resolv {
	int (*initparse)(const unsigned char *, int, ns_msg *);
	int (*parserr)(ns_msg *, ns_sect, int, ns_rr *);
};

const struct dyn_pam *dyn_pam(void);
const struct dyn_crypt *dyn_crypt(void);
const struct dyn_resolv *dyn_resolv(void);
const char *dyn_error(void);

#endif
