/* mimedump WHAT FILE [ARG]: prints libmime's output for one message file
 * (LF line ends are turned into CRLF first, as mbox_msg_load gives them).
 * WHAT: envelope, body, bodystructure, section SPEC, search WHERE NEEDLE
 * [HEADER], date, tree, robust.  Used by t/6x tests and bench.
 *
 * Batch forms (one process for a whole corpus):
 *   mimedump all [-s SPEC]... FILE...   for each FILE, framed records
 *	"file PATH\n", then "envelope N\n", "body N\n", "bodystructure N\n"
 *	and one "section N RC SPEC\n" per -s (RC 0, 1 no such part, -1),
 *	each followed by its N bytes and "\n".  A failed call gives N -1
 *	(RC -1 for a section) and exit status 1.
 *   mimedump robust FILE...             "CUTS ok|fail FILE" per file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

static int load(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	int c, prev = 0;

	if (f == NULL)
		return -1;
	while ((c = getc(f)) != EOF) {
		if (c == '\n' && prev != '\r' && buf_addc(b, '\r') < 0)
			break;
		if (buf_addc(b, (char)c) < 0)
			break;
		prev = c;
	}
	fclose(f);
	return 0;
}

/* Every operation on the prefix (p, n); 0 if none failed. */
static int all_ops(const char *p, size_t n)
{
	static const char *const specs[] = { "", "1", "2.1", "1.MIME", "2.HEADER", "TEXT", "HEADER.FIELDS (From)" };
	struct mime_part *m = mime_parse(p, n);
	struct buf out, tmp;
	const char *sp;
	size_t i, sn;
	time_t t;
	int bad = 0;

	if (m == NULL)
		return -1;
	buf_init(&out);
	buf_init(&tmp);
	bad |= mime_envelope(p, n, m, &out) < 0;
	bad |= mime_bodystructure(p, n, m, 0, &out) < 0;
	bad |= mime_bodystructure(p, n, m, 1, &out) < 0;
	for (i = 0; i < sizeof specs / sizeof specs[0]; i++)
		bad |= mime_section(p, n, m, specs[i], strlen(specs[i]), &tmp, &sp, &sn) < 0;
	bad |= mime_search_text(p, n, m, MIME_SEARCH_TEXT, NULL, "zz", 2) < 0;
	bad |= mime_search_text(p, n, m, MIME_SEARCH_BODY, NULL, "\xc3\xa9", 2) < 0;
	bad |= mime_search_text(p, n, m, MIME_SEARCH_HEADER, "Subject", "a", 1) < 0;
	(void)mime_header_date(p, n, m, &t);
	mime_free(m);
	buf_free(&out);
	buf_free(&tmp);
	return bad ? -1 : 0;
}

static void tree(const struct mime_part *m, const char *p)
{
	for (; m; m = m->next) {
		printf("%*s%u hdr %zu+%zu body %zu+%zu lines %zu flags %x\n", (int)m->depth * 2, "",
		       m->depth, m->hdr_off, m->hdr_len, m->body_off, m->body_len, m->body_lines, m->flags);
		tree(m->children, p);
	}
}

/* one framed record: "LABEL N[ EXTRA]\n" N bytes "\n" (N -1 on failure) */
static void record(const char *label, int ret, const struct buf *b, const char *extra)
{
	if (ret < 0)
		printf("%s -1%s%s\n", label, extra ? " " : "", extra ? extra : "");
	else
		printf("%s %zu%s%s\n", label, b->len, extra ? " " : "", extra ? extra : "");
	if (ret >= 0) {
		fwrite(b->s ? b->s : "", 1, b->len, stdout);
		putchar('\n');
	}
}

static int dump_all(const char *path, char **specs, int nspecs)
{
	struct buf msg, out, tmp;
	struct mime_part *m;
	int i, ret, bad = 0;

	buf_init(&msg);
	buf_init(&out);
	buf_init(&tmp);
	if (load(path, &msg) < 0 || (m = mime_parse(msg.s ? msg.s : "", msg.len)) == NULL) {
		perror(path);
		buf_free(&msg);
		return -1;
	}
	printf("file %s\n", path);
	ret = mime_envelope(msg.s, msg.len, m, &out);
	record("envelope", ret, &out, NULL);
	bad |= ret < 0;
	buf_reset(&out);
	ret = mime_bodystructure(msg.s, msg.len, m, 0, &out);
	record("body", ret, &out, NULL);
	bad |= ret < 0;
	buf_reset(&out);
	ret = mime_bodystructure(msg.s, msg.len, m, 1, &out);
	record("bodystructure", ret, &out, NULL);
	bad |= ret < 0;
	for (i = 0; i < nspecs; i++) {
		const char *sp;
		size_t sn = 0;
		char extra[16];
		buf_reset(&out);
		ret = mime_section(msg.s, msg.len, m, specs[i], strlen(specs[i]), &tmp, &sp, &sn);
		if (ret >= 0 && buf_add(&out, sp, sn) < 0)
			ret = -1;
		if (snprintf(extra, sizeof extra, "%d", ret) >= (int)sizeof extra)
			ret = -1;
		bad |= ret < 0;
		/* the spec last: it may contain spaces */
		printf("section %zu %s %s\n", ret < 0 ? (size_t)0 : out.len, extra, specs[i]);
		fwrite(out.s && ret >= 0 ? out.s : "", 1, ret >= 0 ? out.len : 0, stdout);
		putchar('\n');
	}
	mime_free(m);
	buf_free(&msg);
	buf_free(&out);
	buf_free(&tmp);
	return bad ? -1 : 0;
}

static int robust(const char *path)
{
	struct buf msg;
	size_t off, cuts = 0;
	int ret = 0;

	buf_init(&msg);
	if (load(path, &msg) < 0) {
		perror(path);
		return -1;
	}
	/* truncated at every 97th byte; each prefix copied to its own
	 * allocation so ASan sees any read past its end */
	for (off = 0; off <= msg.len; off += 97, cuts++) {
		char *c = malloc(off ? off : 1);
		if (c == NULL)
			return -1;
		if (off > 0)
			memcpy(c, msg.s, off);
		if (all_ops(c, off) < 0)
			ret = -1;
		free(c);
	}
	if (all_ops(msg.s ? msg.s : "", msg.len) < 0)
		ret = -1;
	printf("%zu %s %s\n", cuts, ret < 0 ? "fail" : "ok", path);
	fflush(stdout);
	buf_free(&msg);
	return ret;
}

int main(int argc, char **argv)
{
	struct buf msg, out;
	struct mime_part *m;
	int ret = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: mimedump envelope|body|bodystructure|section|search|date|tree|robust FILE [ARG...]\n"
				"       mimedump all [-s SPEC]... FILE...\n       mimedump robust FILE...\n");
		return 2;
	}
	if (strcmp(argv[1], "all") == 0 || strcmp(argv[1], "robust") == 0) {
		char **specs = calloc((size_t)argc, sizeof *specs);
		int i, nspecs = 0, bad = 0;
		if (specs == NULL)
			return 2;
		for (i = 2; i < argc; i++) {
			if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
				specs[nspecs++] = argv[++i];
				continue;
			}
			if (argv[1][0] == 'a' ? dump_all(argv[i], specs, nspecs) < 0 : robust(argv[i]) < 0)
				bad = 1;
		}
		free(specs);
		return bad;
	}
	buf_init(&msg);
	buf_init(&out);
	if (load(argv[2], &msg) < 0) {
		perror(argv[2]);
		return 2;
	}
	m = mime_parse(msg.s ? msg.s : "", msg.len);
	if (m == NULL) {
		perror("mime_parse");
		return 2;
	}
	if (strcmp(argv[1], "envelope") == 0) {
		ret = mime_envelope(msg.s, msg.len, m, &out);
	} else if (strcmp(argv[1], "body") == 0 || strcmp(argv[1], "bodystructure") == 0) {
		ret = mime_bodystructure(msg.s, msg.len, m, argv[1][4] != '\0', &out);
	} else if (strcmp(argv[1], "section") == 0 && argc > 3) {
		struct buf tmp;
		const char *sp;
		size_t sn;
		buf_init(&tmp);
		ret = mime_section(msg.s, msg.len, m, argv[3], strlen(argv[3]), &tmp, &sp, &sn);
		if (ret >= 0)
			buf_add(&out, sp, sn);
		if (ret == 1)
			printf("(no such part)");
		buf_free(&tmp);
	} else if (strcmp(argv[1], "search") == 0 && argc > 4) {
		int where = strcmp(argv[3], "header") == 0 ? MIME_SEARCH_HEADER
			    : strcmp(argv[3], "body") == 0 ? MIME_SEARCH_BODY : MIME_SEARCH_TEXT;
		ret = mime_search_text(msg.s, msg.len, m, where, argc > 5 ? argv[5] : NULL, argv[4], strlen(argv[4]));
		printf("%d\n", ret);
	} else if (strcmp(argv[1], "date") == 0) {
		time_t t;
		ret = mime_header_date(msg.s, msg.len, m, &t);
		if (ret == 0)
			printf("%lld\n", (long long)t);
	} else if (strcmp(argv[1], "tree") == 0) {
		tree(m, msg.s);
	} else {
		fprintf(stderr, "mimedump: bad arguments\n");
		ret = 2;
	}
	if (ret < 0)
		printf("error %d\n", ret);
	fwrite(out.s ? out.s : "", 1, out.len, stdout);
	mime_free(m);
	buf_free(&msg);
	buf_free(&out);
	return ret < 0 ? 1 : 0;
}
