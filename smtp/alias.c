/* The aliases file in its text form (aliases(5)): "name: target, target",
 * continuation lines start with blank space, '#' comments.  Only plain
 * addresses are targets: |command, /file and :include: are refused and
 * logged (facteur never runs programs or writes files for an alias). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "smtp.h"

static char *alias_text;       /* the file, read once per process */
static size_t alias_len;
static char alias_loaded[PATH_MAX];

static int alias_load(const char *path)
{
	struct stat st;
	int fd;
	size_t got = 0;

	if (alias_text && !strcmp(alias_loaded, path))
		return 0;
	free(alias_text);
	alias_text = NULL;
	alias_len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			goto empty;
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_size > ALIAS_FILE_MAX) {
		if (errno == 0 || st.st_size > ALIAS_FILE_MAX)
			errno = EFBIG;
		close(fd);
		return -1;
	}
	alias_text = malloc((size_t)st.st_size + 1);
	if (!alias_text) {
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, alias_text + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	alias_len = got;
	alias_text[got] = '\0';
	str_copyz(alias_loaded, sizeof alias_loaded, path);
	return 0;
empty:
	alias_text = calloc(1, 1);
	if (!alias_text)
		return -1;
	str_copyz(alias_loaded, sizeof alias_loaded, path);
	return 0;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Feeds the targets in [p, end) to fn. */
static int alias_targets(const char *name, size_t nlen, const char *p, const char *end,
			 alias_fn fn, void *arg)
{
	while (p < end) {
		const char *s, *e;
		while (p < end && (is_blank(*p) || *p == ',' || *p == '\n'))
			p++;
		if (p >= end)
			break;
		s = p;
		if (*p == '"') {
			p++;
			while (p < end && *p != '"' && *p != '\n')
				p++;
			if (p < end && *p == '"')
				p++;
		} else {
			while (p < end && *p != ',' && *p != '\n')
				p++;
		}
		e = p;
		while (e > s && is_blank(e[-1]))
			e--;
		if (e == s)
			continue;
		if (*s == '|' || *s == '/' || *s == '"' || str_iprefix(s, (size_t)(e - s), ":include:")) {
			log_msg(LOG_WARNING, "alias %.*s: target %.*s refused (only addresses are allowed)",
				(int)nlen, name, (int)(e - s > 200 ? 200 : e - s), s);
			continue;
		}
		if (fn(arg, s, (size_t)(e - s)) < 0)
			return -1;
	}
	return 0;
}

int alias_lookup(const struct conf *c, const char *name, size_t len, alias_fn fn, void *arg)
{
	const char *p, *end;

	if (!c->alias_maps[0])
		return 0;
	if (alias_load(c->alias_maps) < 0) {
		log_msg(LOG_ERR, "aliases %s: %m", c->alias_maps);
		return -1;
	}
	p = alias_text;
	end = alias_text + alias_len;
	while (p < end) {
		const char *line = p, *eol, *colon, *k;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		p = eol < end ? eol + 1 : end;
		if (line == eol || *line == '#' || is_blank(*line))
			continue;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon)
			continue;
		k = colon;
		while (k > line && is_blank(k[-1]))
			k--;
		if (!str_ieq(line, (size_t)(k - line), name, len))
			continue;
		/* the value runs on over continuation lines */
		while (p < end && is_blank(*p) && *p != '\r') {
			const char *n2 = memchr(p, '\n', (size_t)(end - p));
			eol = n2 ? n2 : end;
			p = n2 ? n2 + 1 : end;
		}
		if (alias_targets(name, len, colon + 1, eol, fn, arg) < 0)
			return -1;
		return 1;
	}
	return 0;
}
