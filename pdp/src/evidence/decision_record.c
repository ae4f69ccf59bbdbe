/* decision_record.c - one decision-log line read into a record of borrowed slices */
#include "evidence/decision_record.h"

#include <string.h>

#include "core/hex.h"
#include "core/utf8.h"
#include "evidence/timefmt.h"

/*
 * A strict scanner of the one shape service/decision_line.c writes, not a
 * general JSON parser: the report reads millions of lines, and building a
 * tree of each (jansson) would cost more than the whole aggregation. Nothing
 * is copied or unescaped here; escapes are only checked.
 */
struct scan {
	const char *p, *e;
};

static inline void
ws(struct scan *s)
{
	while (s->p < s->e && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r'))
		s->p++;
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether any byte of w is a quote, a backslash or a control character (below 0x20). */
static inline bool
special8(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');

	return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((w - ONES * 0x20) & ~w)) & HIGHS;
}

/* A string at s->p into out; NULL or why not. */
static const char *
scan_string(struct scan *s, struct slice *out)
{
	const char *p = s->p, *e = s->e;

	if (p >= e || *p != '"')
		return "expected a string";
	out->p = ++p;
	for (;;) {
		/* Plain bytes eight at a time, then one at a time: the common case. */
		while (e - p >= 8) {
			uint64_t w;

			memcpy(&w, p, 8);
			if (special8(w))
				break;
			p += 8;
		}
		while (p < e && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
			p++;
		if (p >= e)
			return "unterminated string";
		if (*p == '"')
			break;
		if (*p != '\\')
			return "control character in a string";
		if (e - p < 2)
			return "unterminated string";
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			p += 2;
			break;
		case 'u':
			if (e - p < 6 || hex_value(p[2]) < 0 || hex_value(p[3]) < 0 ||
			    hex_value(p[4]) < 0 || hex_value(p[5]) < 0)
				return "bad \\u escape";
			p += 6;
			break;
		default:
			return "bad escape in a string";
		}
	}
	out->n = (size_t)(p - out->p);
	s->p = p + 1;
	return NULL;
}

/* An integer (the log writes no other number) at s->p. */
static const char *
scan_int(struct scan *s, int64_t *v)
{
	const char *p = s->p;
	bool neg = false;
	int64_t x = 0;
	int n = 0;

	if (p < s->e && *p == '-') {
		neg = true;
		p++;
	}
	for (; p < s->e && *p >= '0' && *p <= '9'; p++, n++) {
		if (n == 18)
			return "number out of range";
		x = x * 10 + (*p - '0');
	}
	if (n == 0 || (n > 1 && p[-n] == '0'))
		return "bad number";
	if (p < s->e && (*p == '.' || *p == 'e' || *p == 'E'))
		return "not an integer";
	*v = neg ? -x : x;
	s->p = p;
	return NULL;
}

static inline bool
eat(struct scan *s, char c)
{
	ws(s);
	if (s->p < s->e && *s->p == c) {
		s->p++;
		ws(s);
		return true;
	}
	return false;
}

/* A member's value that is not the record's: a string or an integer, else refused. */
static const char *
scan_other(struct scan *s)
{
	struct slice skip;
	int64_t v;

	if (s->p < s->e && *s->p == '"')
		return scan_string(s, &skip);
	if (s->p < s->e && (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')))
		return scan_int(s, &v);
	return "a member is not a string or an integer";
}

static bool
decision_of(struct slice v, enum decision *d)
{
	if (SLICE_IS(v, "allow"))
		*d = DECISION_ALLOW;
	else if (SLICE_IS(v, "deny"))
		*d = DECISION_DENY;
	else if (SLICE_IS(v, "step-up"))
		*d = DECISION_STEP_UP;
	else if (SLICE_IS(v, "unauthenticated"))
		*d = DECISION_UNAUTHENTICATED;
	else if (SLICE_IS(v, "error"))
		*d = DECISION_ERROR;
	else
		return false;
	return true;
}

/*
 * One entry of "policies" (report_only false) or "report_only": a flat
 * object with "id" and "result" (or "would"), and maybe "reason".
 */
static const char *
scan_listed(struct scan *s, bool report_only, struct slice *id, struct slice *reason, int *verdict)
{
	struct slice key, v;
	unsigned seen = 0;
	const char *err;

	if (!eat(s, '{'))
		return "a listed policy is not an object";
	if (eat(s, '}'))
		return "a listed policy without an id";
	do {
		unsigned bit = 0;

		if ((err = scan_string(s, &key)) != NULL)
			return err;
		if (!eat(s, ':'))
			return "expected ':'";
		if (s->p < s->e && *s->p != '"')
			return "a listed policy's member is not a string";
		if ((err = scan_string(s, &v)) != NULL)
			return err;
		if (SLICE_IS(key, "id")) {
			bit = 1;
			*id = v;
		} else if (SLICE_IS(key, "reason")) {
			bit = 2;
			*reason = v;
		} else if (!report_only && SLICE_IS(key, "result")) {
			bit = 4;
			if (SLICE_IS(v, "satisfied"))
				*verdict = RESULT_SATISFIED;
			else if (SLICE_IS(v, "unmet"))
				*verdict = RESULT_UNMET;
			else if (SLICE_IS(v, "block"))
				*verdict = RESULT_BLOCK;
			else
				return "a listed policy's result is unknown";
		} else if (report_only && SLICE_IS(key, "would")) {
			enum decision d;

			bit = 4;
			if (!decision_of(v, &d))
				return "a report-only policy's \"would\" is not a decision";
			*verdict = (int)d;
		}
		if (seen & bit)
			return "a listed policy's member given twice";
		seen |= bit;
		ws(s);
	} while (eat(s, ','));
	if (!eat(s, '}'))
		return "expected ',' or '}' in a listed policy";
	if ((seen & 5) != 5)
		return report_only ? "a report-only policy without its id or \"would\""
		                   : "a listed policy without its id or result";
	return NULL;
}

static const char *
scan_list(struct scan *s, bool report_only, struct decision_record *r)
{
	const char *err;

	if (!eat(s, '['))
		return report_only ? "\"report_only\" is not an array"
		                   : "\"policies\" is not an array";
	if (eat(s, ']'))
		return NULL;
	do {
		struct slice id = {0}, reason = {0};
		int verdict = 0;

		if ((err = scan_listed(s, report_only, &id, &reason, &verdict)) != NULL)
			return err;
		if (report_only && r->n_report_only < DECISION_RECORD_LISTED) {
			r->report_only[r->n_report_only++] =
			    (struct record_report_only){id, reason, (enum decision)verdict};
		} else if (!report_only && r->n_policies < DECISION_RECORD_LISTED) {
			r->policies[r->n_policies++] =
			    (struct record_policy){id, reason, (enum policy_result)verdict};
		}
	} while (eat(s, ','));
	if (!eat(s, ']'))
		return "expected ',' or ']' in a list of policies";
	return NULL;
}

static const char *
scan_truncated(struct scan *s)
{
	struct slice v;
	const char *err;

	if (!eat(s, '['))
		return "\"truncated\" is not an array";
	if (eat(s, ']'))
		return NULL;
	do {
		if ((err = scan_string(s, &v)) != NULL)
			return err;
	} while (eat(s, ','));
	return eat(s, ']') ? NULL : "expected ',' or ']' in \"truncated\"";
}

/* The record's string members, by key: each a bit of the "seen" mask and a slot. */
enum {
	K_TIME,
	K_DECISION,
	K_REQUEST_ID,
	K_IP,
	K_COUNTRY,
	K_METHOD,
	K_HOST,
	K_URI,
	K_USER,
	K_APP,
	K_DEVICE,
	K_STORE,
	K_REASON,
	K_REVISION,
	K_LATENCY,
	K_POLICIES,
	K_REPORT_ONLY,
	K_TRUNCATED,
	K_OTHER,
};

/* The key's slot: by length, then the bytes (the keys are few and fixed). */
static int
key_of(struct slice k)
{
#define IS(lit) (memcmp(k.p, lit, sizeof(lit) - 1) == 0)
	switch (k.n) {
	case 2:
		return IS("ip") ? K_IP : K_OTHER;
	case 3:
		return IS("uri") ? K_URI : IS("app") ? K_APP : K_OTHER;
	case 4:
		return IS("time") ? K_TIME : IS("host") ? K_HOST : IS("user") ? K_USER : K_OTHER;
	case 5:
		return IS("store") ? K_STORE : K_OTHER;
	case 6:
		return IS("method")   ? K_METHOD
		       : IS("device") ? K_DEVICE
		       : IS("reason") ? K_REASON
		                      : K_OTHER;
	case 7:
		return IS("country") ? K_COUNTRY : K_OTHER;
	case 8:
		return IS("decision")   ? K_DECISION
		       : IS("policies") ? K_POLICIES
		       : IS("revision") ? K_REVISION
		                        : K_OTHER;
	case 9:
		return IS("truncated") ? K_TRUNCATED : K_OTHER;
	case 10:
		return IS("request_id") ? K_REQUEST_ID : IS("latency_us") ? K_LATENCY : K_OTHER;
	case 11:
		return IS("report_only") ? K_REPORT_ONLY : K_OTHER;
	}
	return K_OTHER;
#undef IS
}

static struct slice *
slot_of(struct decision_record *r, int key)
{
	switch (key) {
	case K_REQUEST_ID:
		return &r->request_id;
	case K_IP:
		return &r->ip;
	case K_COUNTRY:
		return &r->country;
	case K_METHOD:
		return &r->method;
	case K_HOST:
		return &r->host;
	case K_URI:
		return &r->uri;
	case K_USER:
		return &r->user;
	case K_APP:
		return &r->app;
	case K_DEVICE:
		return &r->device;
	case K_STORE:
		return &r->store;
	case K_REASON:
		return &r->reason;
	case K_REVISION:
		return &r->revision;
	}
	return NULL;
}

const char *
decision_record_parse(const char *line, size_t n, struct decision_record *r)
{
	struct scan s = {line, line + n};
	struct slice key, v;
	uint32_t seen = 0;
	const char *err;

	memset(r, 0, offsetof(struct decision_record, policies));
	r->n_policies = r->n_report_only = 0;
	r->truncated = false;
	r->latency_us = -1;
	ws(&s);
	if (!eat(&s, '{'))
		return "not a JSON object";
	if (eat(&s, '}'))
		return "missing \"time\"";
	do {
		int k;

		if ((err = scan_string(&s, &key)) != NULL)
			return err;
		if (!eat(&s, ':'))
			return "expected ':'";
		k = key_of(key);
		if (k != K_OTHER) {
			if (seen & (1u << k))
				return "a member given twice";
			seen |= 1u << k;
		}
		switch (k) {
		case K_TIME:
			if ((err = scan_string(&s, &v)) != NULL)
				return err;
			if (timefmt_parse(v.p, v.n, &r->time_ms) != 0)
				return "\"time\" is not an RFC 3339 time";
			break;
		case K_DECISION:
			if ((err = scan_string(&s, &v)) != NULL)
				return err;
			if (!decision_of(v, &r->decision))
				return "\"decision\" is not a decision";
			break;
		case K_LATENCY:
			if ((err = scan_int(&s, &r->latency_us)) != NULL)
				return err;
			if (r->latency_us < 0)
				return "\"latency_us\" is negative";
			break;
		case K_POLICIES:
		case K_REPORT_ONLY:
			if ((err = scan_list(&s, k == K_REPORT_ONLY, r)) != NULL)
				return err;
			break;
		case K_TRUNCATED:
			if ((err = scan_truncated(&s)) != NULL)
				return err;
			r->truncated = true;
			break;
		case K_OTHER:
			if ((err = scan_other(&s)) != NULL)
				return err;
			break;
		default:
			if (s.p < s.e && *s.p != '"')
				return "a member is not a string";
			if ((err = scan_string(&s, slot_of(r, k))) != NULL)
				return err;
		}
		ws(&s);
	} while (eat(&s, ','));
	if (!eat(&s, '}'))
		return s.p >= s.e ? "truncated line" : "expected ',' or '}'";
	if (s.p != s.e)
		return "data after the object";
	if (!(seen & (1u << K_TIME)))
		return "missing \"time\"";
	if (!(seen & (1u << K_DECISION)))
		return "missing \"decision\"";
	return NULL;
}

static unsigned
hex4(const char *p)
{
	return (unsigned)(hex_value(p[0]) << 12 | hex_value(p[1]) << 8 | hex_value(p[2]) << 4 |
	                  hex_value(p[3]));
}

char *
decision_slice_text(struct slice s, char *buf, size_t size)
{
	const char *p = s.p, *e = s.p + s.n;
	size_t o = 0;

	if (size == 0)
		return buf;
	while (p != NULL && p < e) {
		char ch[4];
		size_t len;

		if (*p == '\\' && e - p >= 2) {
			unsigned c = 0;

			switch (p[1]) {
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u':
				if (e - p < 6)
					goto done;
				c = hex4(p + 2);
				p += 4;
				if (c >= 0xd800 && c <= 0xdbff && e - p >= 8 && p[2] == '\\' &&
				    p[3] == 'u' && hex4(p + 4) >= 0xdc00 && hex4(p + 4) <= 0xdfff) {
					c = 0x10000 + ((c - 0xd800) << 10) + (hex4(p + 4) - 0xdc00);
					p += 6;
				} else if (c >= 0xd800 && c <= 0xdfff) {
					c = 0xfffd; /* a lone surrogate */
				}
				break;
			default:
				c = (unsigned char)p[1];
			}
			if (c == 0)
				c = 0xfffd; /* text stays a C string */
			p += 2;
			len = utf8_put(ch, c);
		} else if ((unsigned char)*p < 0x80 ||
		           (len = utf8_sequence((const unsigned char *)p,
		                                (const unsigned char *)e)) > 0) {
			len = (unsigned char)*p < 0x80 ? 1 : len;
			memcpy(ch, p, len);
			p += len;
		} else {
			len = utf8_put(ch, 0xfffd);
			p++;
		}
		if (o + len >= size)
			break;
		memcpy(buf + o, ch, len);
		o += len;
	}
done:
	buf[o] = '\0';
	return buf;
}
