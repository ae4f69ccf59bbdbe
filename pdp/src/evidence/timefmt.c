/* timefmt.c - RFC 3339 times as the decision log writes them, and the report's time arguments */
#include "evidence/timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* n decimal digits at s into *v; false on a non-digit. */
static bool
digits(const char *s, int n, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

int
timefmt_parse(const char *s, size_t n, int64_t *ms)
{
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0;
	size_t i = 19;
	int sign = 0;

	if (n < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	if (s[i] == '.') {
		size_t start = ++i;

		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (i - start < 3)
				frac = frac * 10 + (unsigned)(s[i] - '0');
		}
		if (i == start)
			return -1;
		for (size_t k = i - start; k < 3; k++)
			frac *= 10;
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '+' ? 1 : -1;
		if (n - i < 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		    !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		i += 6;
	} else {
		return -1;
	}
	if (i != n)
		return -1;
	if (sec == 60)
		sec = 59; /* a leap second is read as the second before it */
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
	       sign * (int64_t)(oh * 3600 + om * 60)) *
	          1000 +
	      frac;
	return 0;
}

char *
timefmt_format(int64_t ms, char *buf)
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	int64_t rem = secs - days * 86400, z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = (int64_t)yoe + era * 400 + (m <= 2);

	char out[64]; /* roomier than the result: the compiler cannot bound every field */

	snprintf(out, sizeof(out), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", (int)(y % 10000), m, d,
	         (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (int)(ms - secs * 1000));
	memcpy(buf, out, TIMEFMT_SIZE - 1);
	buf[TIMEFMT_SIZE - 1] = '\0';
	return buf;
}

int
timefmt_arg(const char *arg, int64_t now_ms, int64_t *ms)
{
	static const struct {
		char unit;
		int64_t ms;
	} units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}, {'w', 604800000}};
	size_t n = strlen(arg), k = strspn(arg, "0123456789");

	if (k > 0 && k <= 6 && n == k + 1) {
		unsigned v;

		digits(arg, (int)k, &v);
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (arg[k] == units[i].unit) {
				*ms = now_ms - (int64_t)v * units[i].ms;
				return 0;
			}
		}
		return -1;
	}
	return timefmt_parse(arg, n, ms);
}
