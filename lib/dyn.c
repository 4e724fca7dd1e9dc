/* Loading on first use (dyn.h).  A library that loaded once stays loaded:
 * later calls cost a pointer test. */
#include "dyn.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static char dyn_err[200];

static void set_error(const char *lib)
{
	const char *e = dlerror();

	if (snprintf(dyn_err, sizeof dyn_err, "%s: %s", lib, e ? e : "unknown error") < 0)
		dyn_err[0] = '\0';
}

/* dlsym gives an object pointer; POSIX guarantees it converts to the
 * function's, C does not: copied bytewise (fp is a function pointer). */
static int sym(void *h, const char *name, void *fp, size_t size)
{
	void *p = dlsym(h, name);

	if (!p || size != sizeof p)
		return -1;
	memcpy(fp, &p, sizeof p);
	return 0;
}
#define SYM(h, name, field) (sym((h), (name), &(field), sizeof(field)) < 0)

static void *open_lib(const char *soname)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		set_error(soname);
	return h;
}

const struct dyn_pam *dyn_pam(void)
{
	static struct dyn_pam p;
	static int loaded;
	void *h;

	if (loaded)
		return &p;
	if (!(h = open_lib("libpam.so.0")))
		return NULL;
	if (SYM(h, "pam_start", p.start) || SYM(h, "pam_end", p.end) ||
	    SYM(h, "pam_authenticate", p.authenticate) || SYM(h, "pam_acct_mgmt", p.acct_mgmt) ||
	    SYM(h, "pam_set_item", p.set_item) || SYM(h, "pam_get_item", p.get_item) ||
	    SYM(h, "pam_strerror", p.strerror)) {
		set_error("libpam.so.0");
		return NULL;
	}
	loaded = 1;
	return &p;
}

const struct dyn_crypt *dyn_crypt(void)
{
	static struct dyn_crypt p;
	static int loaded;
	void *h;

	if (loaded)
		return &p;
	if (!(h = open_lib("libcrypt.so.1")))
		return NULL;
	if (SYM(h, "crypt_r", p.crypt_r) || SYM(h, "crypt_checksalt", p.checksalt)) {
		set_error("libcrypt.so.1");
		return NULL;
	}
	loaded = 1;
	return &p;
}

const struct dyn_resolv *dyn_resolv(void)
{
	static struct dyn_resolv p;
	static int loaded;
	void *h;

	if (loaded)
		return &p;
	if (!(h = open_lib("libresolv.so.2")))
		return NULL;
	if (SYM(h, "ns_initparse", p.initparse) || SYM(h, "ns_parserr", p.parserr)) {
		set_error("libresolv.so.2");
		return NULL;
	}
	loaded = 1;
	return &p;
}

const char *dyn_error(void)
{
	return dyn_err;
}
