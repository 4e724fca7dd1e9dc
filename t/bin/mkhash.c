/* mkhash PASSWORD [PREFIX [COUNT]]: prints a crypt(3) hash (yescrypt "$y$" by
 * default; COUNT: the method's cost parameter, 0 = its default) for
 * passwd-file fixtures. */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct crypt_data cd;
	const char *prefix = argc > 2 ? argv[2] : "$y$";
	const char *salt, *h;

	if (argc < 2) {
		fputs("usage: mkhash PASSWORD [PREFIX [COUNT]]\n", stderr);
		return 2;
	}
	salt = crypt_gensalt(prefix, argc > 3 ? strtoul(argv[3], NULL, 10) : 0, NULL, 0);
	if (!salt)
		return 1;
	memset(&cd, 0, sizeof cd);
	h = crypt_r(argv[1], salt, &cd);
	if (!h || h[0] == '*')
		return 1;
	puts(h);
	return 0;
}
