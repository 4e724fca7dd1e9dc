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

/* The loaders' common part: the library opened and syms() run once;
 * 0 when every symbol resolved. */
static int load(const char *soname, int *loaded, int (*syms)(void *h))
{
	void *h;

	if (*loaded)
		return 0;
	h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h || syms(h) < 0) {
		set_error(soname);
		return -1;
	}
	*loaded = 1;
	return 0;
}

static struct dyn_pam pam;
static struct dyn_crypt crypt_fns;
static struct dyn_resolv resolv;

static int pam_syms(void *h)
{
	return SYM(h, "pam_start", pam.start) || SYM(h, "pam_end", pam.end) ||
	       SYM(h, "pam_authenticate", pam.authenticate) || SYM(h, "pam_acct_mgmt", pam.acct_mgmt) ||
	       SYM(h, "pam_set_item", pam.set_item) || SYM(h, "pam_get_item", pam.get_item) ||
	       SYM(h, "pam_strerror", pam.strerror) ? -1 : 0;
}

static int crypt_syms(void *h)
{
	return SYM(h, "crypt_r", crypt_fns.crypt_r) || SYM(h, "crypt_checksalt", crypt_fns.checksalt) ? -1 : 0;
}

static int resolv_syms(void *h)
{
	return SYM(h, "ns_initparse", resolv.initparse) || SYM(h, "ns_parserr", resolv.parserr) ? -1 : 0;
}

const struct dyn_pam *dyn_pam(void)
{
	static int loaded;

	return load("libpam.so.0", &loaded, pam_syms) < 0 ? NULL : &pam;
}

const struct dyn_crypt *dyn_crypt(void)
{
	static int loaded;

	return load("libcrypt.so.1", &loaded, crypt_syms) < 0 ? NULL : &crypt_fns;
}

const struct dyn_resolv *dyn_resolv(void)
{
	static int loaded;

	return load("libresolv.so.2", &loaded, resolv_syms) < 0 ? NULL : &resolv;
}

const char *dyn_error(void)
{
	return dyn_err;
}
