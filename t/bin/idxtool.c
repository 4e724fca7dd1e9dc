/* idxtool: the mailbox index (libmbox/index.c) seen from tests.
 *   idxtool dump MBOX [--no-modseq]
 *       read lock + mbox_scan, then everything the table holds, one line
 *       per message; first line "use=N" (mbox_index_last_use: 0 no index,
 *       1 index as is, 2 index + tail scan, 3 full scan)
 *   idxtool time MBOX
 *       "use=N T us": the time of open + read lock + mbox_scan + close
 *   idxtool update MBOX CMD [--no-modseq]
 *       read lock + mbox_scan + unlock, then the shell command CMD (which
 *       changes the mailbox), then read lock + mbox_scan_update: a line
 *       "update=R use=N read=B" (its result, mbox_index_last_use, the bytes
 *       it read with read/pread, from /proc/self/io) and the table as dump
 *       prints it
 *   idxtool counts MBOX
 *       read lock + mbox_index_counts (the STATUS counters of the index
 *       header); when it has none, counted from mbox_scan's table (uidnext
 *       as STATUS gives it: past the UIDs the messages without one will
 *       get); a line
 *       "use=N highestmodseq=H" (4: the counters served) and a line of the
 *       counts (the same format either way)
 *   idxtool seal INDEXFILE OFFSET BYTE
 *       writes BYTE (decimal) at OFFSET of the index file's header and
 *       recomputes the header's hash, as a faulty writer would: only the
 *       checks of the header's own content may catch it
 *   idxtool serve MBOX UID
 *       read lock + mbox_scan, then the message with that UID as clients
 *       see it (mbox_msg_stream_locked), or exit 3 if there is none
 * The index directory is $MBOX_INDEX_DIR (unset or empty: none).
 * Exit: 0 ok, 1 error (on stderr), 2 usage, 3 no such UID. */
#include "mbox.h"
#include "private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "idxtool: %s: %s\n", what, strerror(errno));
	return 1;
}

static int open_scan(struct mbox *mb, const char *path, struct mbox_scan *sc)
{
	memset(sc, 0, sizeof *sc);
	if (mbox_open(mb, path, MBOX_RDWR) < 0 && mbox_open(mb, path, MBOX_RDONLY) < 0)
		return -1;
	if (mbox_lock(mb, MBOX_LOCK_READ, 10000) < 0 || mbox_scan(mb, sc) < 0)
		return -1;
	return 0;
}

static void print_table(const struct mbox_scan *sc, int modseq)
{
	size_t i, k;

	printf("count=%zu uidvalidity=%u uidnext=%u pseudo=%d data_start=%llu missing=%zu size=%llu",
	       sc->count, (unsigned)sc->uidvalidity, (unsigned)sc->uidnext, sc->pseudo,
	       (unsigned long long)sc->data_start, sc->missing_uids, (unsigned long long)sc->size);
	if (modseq)
		printf(" highestmodseq=%llu", (unsigned long long)sc->highestmodseq);
	printf("\nkeywords:");
	for (k = 0; k < sc->nkeywords; k++)
		printf(" %s", sc->keywords[k]);
	printf("\n");
	for (i = 0; i < sc->count; i++) {
		const struct mbox_msg *m = &sc->msgs[i];
		printf("%zu uid=%u flags=%x off=%llu hoff=%llu boff=%llu bend=%llu next=%llu "
		       "hsize=%llu bsize=%llu lines=%u date=%lld kw=",
		       i + 1, (unsigned)m->uid, (unsigned)m->flags, (unsigned long long)m->offset,
		       (unsigned long long)m->hdr_off, (unsigned long long)m->body_off,
		       (unsigned long long)m->body_end, (unsigned long long)m->next,
		       (unsigned long long)m->hdr_size, (unsigned long long)m->body_size,
		       (unsigned)m->body_lines, (long long)m->internaldate);
		for (k = 0; k < sc->nkeywords; k++)
			if (m->keywords & (1ULL << k))
				printf("%s,", sc->keywords[k]);
		if (modseq)
			printf(" modseq=%llu", (unsigned long long)m->modseq);
		printf("\n");
	}
}

static int do_dump(const char *path, int modseq)
{
	struct mbox mb;
	struct mbox_scan sc;

	if (open_scan(&mb, path, &sc) < 0)
		return fail("scan");
	printf("use=%d\n", mbox_index_last_use());
	print_table(&sc, modseq);
	fflush(stdout);
	mbox_scan_free(&sc);
	mbox_close(&mb);
	return 0;
}

/* bytes this process read with read(2)/pread(2) so far (mmap not counted) */
static long long rchar(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	long long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "rchar: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int do_update(const char *path, const char *cmd, int modseq)
{
	struct mbox mb;
	struct mbox_scan sc;
	long long a, b;
	int r;

	if (open_scan(&mb, path, &sc) < 0)
		return fail("scan");
	mbox_unlock(&mb);
	fflush(stdout);
	if (system(cmd) != 0) {
		fputs("idxtool: the command failed\n", stderr);
		return 1;
	}
	if (mbox_lock(&mb, MBOX_LOCK_READ, 10000) < 0)
		return fail("lock");
	a = rchar();
	r = mbox_scan_update(&mb, &sc);
	b = rchar();
	if (r < 0)
		return fail("update");
	printf("update=%d use=%d read=%lld\n", r, mbox_index_last_use(), b - a);
	print_table(&sc, modseq);
	fflush(stdout);
	mbox_scan_free(&sc);
	mbox_close(&mb);
	return 0;
}

static int sink(void *arg, const char *p, size_t n)
{
	(void)arg;
	return fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

static int do_serve(const char *path, const char *uids)
{
	struct mbox mb;
	struct mbox_scan sc;
	unsigned long uid = strtoul(uids, NULL, 10);
	size_t i;

	if (open_scan(&mb, path, &sc) < 0)
		return fail("scan");
	for (i = 0; i < sc.count; i++)
		if (sc.msgs[i].uid == uid)
			break;
	if (i == sc.count)
		return 3;
	if (mbox_msg_stream_locked(&mb, &sc.msgs[i], MBOX_PART_ALL, sink, NULL) < 0)
		return fail("stream");
	fflush(stdout);
	mbox_scan_free(&sc);
	mbox_close(&mb);
	return 0;
}

static int do_counts(const char *path)
{
	struct mbox mb;
	struct mbox_scan sc;
	struct mbox_counts c;
	size_t i;
	int use;

	memset(&sc, 0, sizeof sc);
	if (mbox_open(&mb, path, MBOX_RDWR) < 0 && mbox_open(&mb, path, MBOX_RDONLY) < 0)
		return fail("open");
	if (mbox_lock(&mb, MBOX_LOCK_READ, 10000) < 0)
		return fail("lock");
	int served = mbox_index_counts(&mb, &c) == 1;

	use = mbox_index_last_use();
	if (!served) {
		if (mbox_scan(&mb, &sc) < 0)
			return fail("scan");
		memset(&c, 0, sizeof c);
		c.count = sc.count;
		for (i = 0; i < sc.count; i++) {
			const struct mbox_msg *m = &sc.msgs[i];
			if (!(m->flags & MBOX_F_SEEN) && !c.unseen++)
				c.first_unseen = i + 1;
			c.recent += !(m->flags & MBOX_F_OLD);
			c.deleted += !!(m->flags & MBOX_F_DELETED);
			c.size += m->hdr_size + m->body_size;
		}
		c.uidvalidity = sc.uidvalidity;
		/* as STATUS says it: messages without a UID get the next
		 * ones, in file order, when first shown */
		c.uidnext = sc.uidnext + (sc.uidvalidity ? (uint32_t)sc.missing_uids : 0);
		c.highestmodseq = sc.highestmodseq;
	}
	printf("use=%d highestmodseq=%llu\n", use, (unsigned long long)c.highestmodseq);
	printf("count=%zu unseen=%zu first_unseen=%zu recent=%zu deleted=%zu size=%llu "
	       "uidvalidity=%u uidnext=%u\n", c.count, c.unseen, c.first_unseen, c.recent,
	       c.deleted, (unsigned long long)c.size, (unsigned)c.uidvalidity, (unsigned)c.uidnext);
	fflush(stdout);
	mbox_scan_free(&sc);
	mbox_close(&mb);
	return 0;
}

/* index.c's header: 256 bytes, its hash over the first 248 with this key */
static int do_seal(const char *path, const char *offs, const char *bytes)
{
	static const uint64_t key[2] = { 0x66616374657572ULL, 0x696e646578ULL };
	unsigned char h[256];
	unsigned long off = strtoul(offs, NULL, 10);
	uint64_t hh;
	FILE *f = fopen(path, "r+b");

	if (!f || fread(h, 1, sizeof h, f) != sizeof h || off >= 248)
		return fail("seal");
	h[off] = (unsigned char)strtoul(bytes, NULL, 10);
	hh = mbox_h64(key, h, 248);
	memcpy(h + 248, &hh, 8);
	if (fseek(f, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, f) != sizeof h || fclose(f) != 0)
		return fail("seal");
	return 0;
}

/* open + read lock + scan + close, in microseconds */
static int do_time(const char *path)
{
	struct mbox mb;
	struct mbox_scan sc;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (open_scan(&mb, path, &sc) < 0)
		return fail("scan");
	mbox_scan_free(&sc);
	mbox_close(&mb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("use=%d %lld us\n", mbox_index_last_use(),
	       (long long)(b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "time"))
		return do_time(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "dump"))
		return do_dump(argv[2], !(argc > 3 && !strcmp(argv[3], "--no-modseq")));
	if (argc >= 4 && !strcmp(argv[1], "update"))
		return do_update(argv[2], argv[3], !(argc > 4 && !strcmp(argv[4], "--no-modseq")));
	if (argc == 3 && !strcmp(argv[1], "counts"))
		return do_counts(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "seal"))
		return do_seal(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "serve"))
		return do_serve(argv[2], argv[3]);
	fputs("usage: idxtool dump MBOX [--no-modseq] | update MBOX CMD [--no-modseq] | serve MBOX UID | counts MBOX | seal INDEX OFF BYTE\n", stderr);
	return 2;
}
