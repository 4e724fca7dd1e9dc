/* The Date: header as a time_t for SENTBEFORE/SENTON/SENTSINCE:
 * RFC 5322 3.3 date-time, with the obsolete forms of 4.3 (two-digit
 * years, named zones, comments, missing seconds). */
#include "mime_int.h"

#include <string.h>

static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant) */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* the next token: a run of letters, or of digits, or one other byte */
struct tok {
	const char *p;
	size_t n;
	int digits;
};

static int next(struct rfc822 *r, struct tok *t)
{
	do {
		if (rfc822_skip(r, NULL) < 0)
			return 0;
	} while (r->p < r->end && *r->p == ',' && ++r->p);
	if (r->p >= r->end)
		return 0;
	t->p = r->p;
	t->digits = *r->p >= '0' && *r->p <= '9';
	if (t->digits)
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	else if ((*r->p | 0x20) >= 'a' && (*r->p | 0x20) <= 'z')
		while (r->p < r->end && (*r->p | 0x20) >= 'a' && (*r->p | 0x20) <= 'z')
			r->p++;
	else
		r->p++;
	t->n = (size_t)(r->p - t->p);
	return 1;
}

static int num(const struct tok *t, uint32_t max, uint32_t *v)
{
	return t->digits && t->n <= 9 && parse_u32(t->p, t->n, max, v) == 0 ? 0 : -1;
}

/* zone offset in minutes, east positive */
static int zone(struct rfc822 *r, long *off_r)
{
	static const struct { const char *name; int hours; } names[] = {
		{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 }, { "EST", -5 }, { "EDT", -4 },
		{ "CST", -6 }, { "CDT", -5 }, { "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
	};
	struct tok t;
	uint32_t v;
	size_t i;
	int sign = 1;

	*off_r = 0;
	if (!next(r, &t))
		return 0; /* no zone: read as UTC */
	if (t.n == 1 && (*t.p == '+' || *t.p == '-')) {
		sign = *t.p == '-' ? -1 : 1;
		if (!next(r, &t) || t.n != 4 || num(&t, 9999, &v) < 0 || v % 100 >= 60)
			return -1;
		*off_r = sign * (long)(v / 100 * 60 + v % 100);
		return 0;
	}
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (str_ieq(t.p, t.n, names[i].name, strlen(names[i].name))) {
			*off_r = names[i].hours * 60L;
			return 0;
		}
	return 0; /* military and unknown zones: RFC 5322 4.3 says treat as -0000 */
}

/* *t_r in UTC, *off_r the zone offset in minutes as written */
static int parse_date(const char *v, size_t n, time_t *t_r, long *off_r)
{
	struct rfc822 r;
	struct tok t;
	uint32_t day, year, hh, mm, ss = 0;
	unsigned mon = 0;
	long off;
	size_t i;
	long long secs;

	rfc822_init(&r, v, n);
	if (!next(&r, &t))
		return -1;
	if (!t.digits && !next(&r, &t)) /* day-of-week */
		return -1;
	if (num(&t, 31, &day) < 0 || day == 0 || !next(&r, &t) || t.n != 3)
		return -1;
	for (i = 0; i < 12; i++)
		if (str_ieq(t.p, 3, months + 3 * i, 3))
			mon = (unsigned)i + 1;
	if (mon == 0 || !next(&r, &t) || num(&t, 99999, &year) < 0)
		return -1;
	if (t.n <= 2)
		year += year < 50 ? 2000 : 1900;
	else if (t.n == 3)
		year += 1900;
	if (!next(&r, &t) || num(&t, 23, &hh) < 0 || !next(&r, &t) || t.n != 1 || *t.p != ':' ||
	    !next(&r, &t) || num(&t, 59, &mm) < 0)
		return -1;
	{
		struct rfc822 save = r;
		if (next(&r, &t) && t.n == 1 && *t.p == ':') {
			if (!next(&r, &t) || num(&t, 60, &ss) < 0)
				return -1;
		} else {
			r = save;
		}
	}
	if (zone(&r, &off) < 0)
		return -1;
	secs = days_from_civil(year, mon, day) * 86400LL + hh * 3600LL + mm * 60LL + ss - off * 60LL;
	*t_r = (time_t)secs;
	*off_r = off;
	return 0;
}

int mime_parse_date(const char *v, size_t n, time_t *t_r)
{
	long off;

	return parse_date(v, n, t_r, &off);
}

int mime_header_date(const char *p, size_t len, const struct mime_part *root, time_t *t_r)
{
	const char *v;
	size_t vl;

	if (!mime_hdr_find(p + root->hdr_off, root->hdr_len, "Date", &v, &vl))
		return -1;
	return mime_parse_date(v, vl, t_r);
}

int mime_header_sent_day(const char *p, size_t len, const struct mime_part *root, long long *day_r)
{
	const char *v;
	size_t vl;
	time_t t;
	long off;
	long long local;

	if (!mime_hdr_find(p + root->hdr_off, root->hdr_len, "Date", &v, &vl) ||
	    parse_date(v, vl, &t, &off) < 0)
		return -1;
	local = (long long)t + off * 60LL;
	*day_r = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	return 0;
}
