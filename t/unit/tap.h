/* Minimal TAP producer for the C unit tests (prove reads it). */
#ifndef FACTEUR_TAP_H
#define FACTEUR_TAP_H
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;
#define ok(cond, ...) do { \
	int ok_c_ = !!(cond); ++tap_n; \
	printf("%sok %d - ", ok_c_ ? "" : "not ", tap_n); printf(__VA_ARGS__); printf("\n"); \
	if (!ok_c_) { ++tap_failed; printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
	fflush(stdout); } while (0)
#define diag(...) do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)
#define skip_all(why) do { printf("1..0 # SKIP %s\n", why); exit(0); } while (0)
static inline int done_testing(void) { printf("1..%d\n", tap_n); return tap_failed ? 1 : 0; }

/* The one slurp of the unit tests: the whole file, malloc'ed and
 * NUL-terminated, its size in *n_r; NULL (and 0) if it cannot be opened.
 * Free it. */
static inline char *slurp(const char *path, size_t *n_r)
{
	FILE *f = fopen(path, "rb");
	size_t n = 0, cap = 4096, k;
	char *b, *nb;

	*n_r = 0;
	if (!f)
		return NULL;
	if (!(b = malloc(cap)))
		abort();
	while ((k = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (cap - n - 1 == 0) {
			if (!(nb = realloc(b, cap * 2)))
				abort();
			b = nb;
			cap *= 2;
		}
	}
	fclose(f);
	b[n] = '\0';
	*n_r = n;
	return b;
}
#endif
