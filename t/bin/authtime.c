/* authtime CONF N USER PASS: runs auth_check N times and prints the median
 * time of one call in microseconds, then "ok" or "refused" for the last.
 * For the login-timing test (t/18-auth-timing.t). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "auth.h"
#include "log.h"

static int cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static struct conf c;
	struct auth_user u;
	struct timespec t0, t1;
	char err[256];
	long *v;
	int i, n, r = -1;

	if (argc != 5 || (n = atoi(argv[2])) < 1 || n > 1000) {
		fprintf(stderr, "usage: authtime CONF N USER PASS\n");
		return 2;
	}
	conf_defaults(&c);
	if (conf_load(&c, argv[1], err, sizeof err) < 0) {
		fprintf(stderr, "authtime: %s\n", err);
		return 2;
	}
	log_open("authtime", c.log);
	v = calloc((size_t)n, sizeof *v);
	if (!v)
		return 2;
	for (i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = auth_check(&c, argv[3], argv[4], &u);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		v[i] = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
	}
	qsort(v, (size_t)n, sizeof *v, cmp);
	printf("%ld %s\n", v[n / 2], r == 0 ? "ok" : "refused");
	free(v);
	return 0;
}
