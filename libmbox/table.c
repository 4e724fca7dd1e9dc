/* The message table as programs get it: mbox_scan and mbox_scan_update
 * (mbox.h), the scanner (scan.c) with the mailbox index (index.c) in front
 * of it.  Kept apart from both so that neither calls the other's caller:
 * table -> index -> scan, table -> scan. */
#include "private.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int mbox_scan(struct mbox *mb, struct mbox_scan *sc)
{
	struct stat st;

	if (fstat(mb->fd, &st) < 0)
		return -1;
	if (mbox_index_load(mb, sc, &st) == 1)
		return 0;
	if (mbox_scan_whole(mb, sc, &st) < 0)
		return -1;
	mbox_index_rebuilt(mb, sc, NULL, 1);
	return 0;
}

int mbox_scan_update(struct mbox *mb, struct mbox_scan *sc)
{
	struct mbox_scan ns;
	struct stat st;
	int same, moved;

	if (fstat(mb->fd, &st) < 0)
		return -1;
	same = st.st_dev == sc->dev && st.st_ino == sc->ino;
	if (same && (uint64_t)st.st_size == sc->size && st.st_mtim.tv_sec == sc->mtime_sec &&
	    st.st_mtim.tv_nsec == sc->mtime_nsec)
		return 0;
	/* replaced or shrunk: a new table; appended to, or patched in place
	 * (another agent's flag change: same size, new mtime), or both, in
	 * any order: the known messages keep their requests if they are all
	 * still where they were */
	moved = !same || (uint64_t)st.st_size < sc->size;
	memset(&ns, 0, sizeof(ns));
	/* the file as a facteur writer left it (its rewrite rewrote the index,
	 * its appends extended the index header): the index describes it,
	 * modseqs included, and only an appended tail is read.  Anything else
	 * (mutt, Dovecot, procmail) fails the index's checks: the whole file.
	 * An index behind this table's modseqs is not taken either: a change
	 * must never get a modseq a client has already been shown. */
	if (mbox_index_load(mb, &ns, &st) == 1) {
		if (same && ns.uidvalidity == sc->uidvalidity && ns.highestmodseq < sc->highestmodseq) {
			mbox_scan_free(&ns);
			memset(&ns, 0, sizeof(ns));
		} else {
			goto fresh;
		}
	}
	if (mbox_scan_whole(mb, &ns, &st) < 0) {
		if (moved) {
			int e = errno;
			mbox_scan_free(sc);
			errno = e;
		}
		return -1;
	}
	mbox_index_rebuilt(mb, &ns, sc, 1);
fresh:
	if (!moved && mbox_scan_merge(sc, &ns, (uint64_t)st.st_size > sc->size) == 0)
		return 0;
	mbox_scan_free(sc);
	*sc = ns;
	return 1;
}
