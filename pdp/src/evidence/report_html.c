/* report_html.c - the report document as one HTML page: tables and inline SVG charts */
#include "evidence/report_html.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/timefmt.h"

/* A series of a chart: the document's member, what a reader sees, and its fill (#p-FILL). */
struct series {
	const char *key;
	const char *label;
	const char *fill;
};

/* The log's decisions, in the order the timeline stacks them and the tables list them. */
static const struct series decisions[] = {
    {"allow", "allow", "allow"},       {"deny", "deny", "deny"},
    {"step-up", "step-up", "step-up"}, {"unauthenticated", "unauthenticated", "unauthenticated"},
    {"error", "error", "error"},
};
#define N_DECISIONS (sizeof(decisions) / sizeof(decisions[0]))

static const struct series policy_series[] = {
    {"applied", "applied", "applied"},
    {"denied", "denied", "deny"},
    {"stepped_up", "stepped up", "step-up"},
};

static const struct series would_series[] = {
    {"deny", "would deny", "deny"},
    {"step-up", "would step up", "step-up"},
};

static const struct series latency_series[] = {
    {"latency", "latency (\xc2\xb5s)", "applied"},
};

/* The latency percentiles, as the document names them and as a reader does. */
static const struct {
	const char *key, *label;
} percentiles[] = {
    {"p50", "p50"}, {"p90", "p90"}, {"p99", "p99"}, {"p999", "p99.9"}, {"max", "max"},
};
#define N_PERCENTILES (sizeof(percentiles) / sizeof(percentiles[0]))

/* Incident kinds in words; another kind shows as the document names it. */
static const struct {
	const char *kind, *words;
} incident_kinds[] = {
    {"store-unavailable", "context store unavailable"},
    {"store-stale", "context store stale (decisions on stale records)"},
    {"keys-unavailable", "signing keys unavailable"},
};

/* The page being written, and the first thing wrong with the document or the write. */
struct page {
	FILE *out;
	char *err;
	size_t errsz;
	bool failed;
};

static void
bad(struct page *p, const char *at, const char *key, const char *what)
{
	if (p->failed)
		return;
	p->failed = true;
	snprintf(p->err, p->errsz, "%s%s%s: %s", at, *at && *key ? "." : "", key, what);
}

static void
put(struct page *p, const char *s)
{
	fputs(s, p->out);
}

static void putf(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
putf(struct page *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(p->out, fmt, ap);
	va_end(ap);
}

/* The length of the valid UTF-8 sequence at u (1 to 4), or 0 when it is not one. */
static size_t
utf8_len(const unsigned char *u)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 3;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if (u[0] == 0xe0)
		lo = 0xa0;
	else if (u[0] == 0xed)
		hi = 0x9f;
	else if (u[0] == 0xf0)
		lo = 0x90;
	else if (u[0] == 0xf4)
		hi = 0x8f;
	if (u[1] < lo || u[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (u[i] < 0x80 || u[i] > 0xbf)
			return 0;
	return n;
}

/*
 * Writes s as HTML text, safe in an element and in a quoted attribute alike:
 * the markup characters as references, control characters and bytes that are
 * not UTF-8 as U+FFFD. At most max characters (0: all), then an ellipsis.
 */
static void
esc_n(struct page *p, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t chars = 0, n;

	for (; *u != '\0'; u += n, chars++) {
		if (max != 0 && chars == max) {
			put(p, "\xe2\x80\xa6");
			return;
		}
		n = utf8_len(u);
		if (n == 0) {
			put(p, "\xef\xbf\xbd");
			n = 1;
		} else if (n > 1) {
			/* C1 controls (U+0080 to U+009F) are not text either. */
			if (u[0] == 0xc2 && u[1] < 0xa0)
				put(p, "\xef\xbf\xbd");
			else
				fwrite(u, 1, n, p->out);
		} else if (*u == '&') {
			put(p, "&amp;");
		} else if (*u == '<') {
			put(p, "&lt;");
		} else if (*u == '>') {
			put(p, "&gt;");
		} else if (*u == '"') {
			put(p, "&quot;");
		} else if (*u == '\'') {
			put(p, "&#39;");
		} else if ((*u < 0x20 && *u != '\t' && *u != '\n') || *u == 0x7f) {
			put(p, "\xef\xbf\xbd");
		} else {
			fputc(*u, p->out);
		}
	}
}

static void
esc(struct page *p, const char *s)
{
	esc_n(p, s, 0);
}

/* n with a comma between groups of three digits, as a reader scans it. */
static void
num(struct page *p, int64_t n)
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%" PRId64, n);
	int first = n < 0 ? 1 : 0;

	for (int i = 0; i < len; i++) {
		if (i > first && (len - i) % 3 == 0)
			fputc(',', p->out);
		fputc(digits[i], p->out);
	}
}

/* a + b for counts (never negative), held at INT64_MAX rather than past it. */
static int64_t
sat_add(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* part as a percentage of whole, or a dash when whole is 0. */
static void
pct(struct page *p, int64_t part, int64_t whole)
{
	if (whole <= 0)
		put(p, "\xe2\x80\x93");
	else
		putf(p, "%.1f%%", 100.0 * (double)part / (double)whole);
}

/* --- reading the document: absent is empty, the wrong type is refused --------------- */

static const json_t *
typed(struct page *p, const json_t *obj, const char *key, json_type type, const char *what,
      const char *at)
{
	const json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_typeof(v) != type) {
		bad(p, at, key, what);
		return NULL;
	}
	return v;
}

static const json_t *
object(struct page *p, const json_t *obj, const char *key, const char *at)
{
	return typed(p, obj, key, JSON_OBJECT, "not an object", at);
}

static const json_t *
list(struct page *p, const json_t *obj, const char *key, const char *at)
{
	return typed(p, obj, key, JSON_ARRAY, "not an array", at);
}

static const char *
text(struct page *p, const json_t *obj, const char *key, const char *at)
{
	return json_string_value(typed(p, obj, key, JSON_STRING, "not a string", at));
}

static int64_t
count(struct page *p, const json_t *obj, const char *key, const char *at)
{
	const json_t *v = typed(p, obj, key, JSON_INTEGER, "not a non-negative integer", at);

	if (v == NULL)
		return 0;
	if (json_integer_value(v) < 0) {
		bad(p, at, key, "not a non-negative integer");
		return 0;
	}
	return (int64_t)json_integer_value(v);
}

/* The i-th item of rows if it is an object, else refused (at names it). */
static const json_t *
row(struct page *p, const json_t *rows, size_t i, char *at, size_t atsz, const char *name)
{
	const json_t *r = json_array_get(rows, i);

	snprintf(at, atsz, "%s[%zu]", name, i);
	if (!json_is_object(r)) {
		bad(p, at, "", "not an object");
		return NULL;
	}
	return r;
}

/* Writes the string, or the placeholder when absent. */
static void
esc_or(struct page *p, const char *s, const char *none)
{
	if (s != NULL && *s != '\0')
		esc(p, s);
	else
		put(p, none);
}

/* An RFC 3339 time (evidence/timefmt.c's) in ms since the epoch; false when s is not one. */
static bool
parse_time(const char *s, double *ms)
{
	int64_t v;

	if (s == NULL || timefmt_parse(s, strlen(s), &v) != 0)
		return false;
	*ms = (double)v;
	return true;
}

/*
 * A time as a short axis label in UTC ("11-23 04:00"), cut from its canonical
 * form, so only digits reach the page; as given (escaped) when it is not one.
 */
static void
short_time(struct page *p, const char *s)
{
	char buf[TIMEFMT_SIZE];
	int64_t v;

	if (s != NULL && timefmt_parse(s, strlen(s), &v) == 0) {
		timefmt_format(v, buf);
		putf(p, "%.5s %.5s", buf + 5, buf + 11);
	} else {
		esc_n(p, s != NULL ? s : "", 16);
	}
}

/* --- charts ---------------------------------------------------------------------------- */

/* A chart's figures: n_rows rows of n_series counts, row-major; labels from the document. */
struct chart {
	const char *name;  /* data-chart, and the id prefix of its title */
	const char *title; /* what the chart shows, for assistive technology */
	const struct series *series;
	size_t n_series;
	size_t n_rows;
	const char **labels;
	int64_t *values;
};

static bool
chart_alloc(struct page *p, struct chart *c, size_t n_rows)
{
	c->n_rows = n_rows;
	c->labels = calloc(n_rows ? n_rows : 1, sizeof(*c->labels));
	c->values = calloc(n_rows ? n_rows * c->n_series : 1, sizeof(*c->values));
	if (c->labels == NULL || c->values == NULL) {
		bad(p, c->name, "", "out of memory");
		return false;
	}
	return true;
}

static void
chart_free(struct chart *c)
{
	free(c->labels);
	free(c->values);
}

/*
 * The chart of the rows of list (an array of objects, or absent): each row's
 * label_key string, and each series' count in the row, or in its member sub
 * when sub is set.
 */
static bool
chart_from_rows(struct page *p, struct chart *c, const json_t *rows, const char *name,
                const char *label_key, const char *sub)
{
	char at[96], sub_at[112];
	size_t n = json_array_size(rows);

	if (!chart_alloc(p, c, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		const json_t *r = row(p, rows, i, at, sizeof(at), name), *from = r;

		c->labels[i] = text(p, r, label_key, at);
		if (sub != NULL) {
			from = object(p, r, sub, at);
			snprintf(sub_at, sizeof(sub_at), "%s.%s", at, sub);
		}
		for (size_t s = 0; s < c->n_series; s++)
			c->values[i * c->n_series + s] =
			    count(p, from, c->series[s].key, sub != NULL ? sub_at : at);
	}
	return !p->failed;
}

/* The smallest 1, 2 or 5 times a power of ten at or above v (1 at least): the axis's top. */
static int64_t
axis_top(int64_t v)
{
	for (int64_t m = 1; m <= INT64_MAX / 10; m *= 10) {
		if (v <= m)
			return m;
		if (v <= 2 * m)
			return 2 * m;
		if (v <= 5 * m)
			return 5 * m;
	}
	return v;
}

static void
chart_open(struct page *p, const struct chart *c, int width, int height)
{
	putf(p,
	     "<svg class=\"chart\" data-chart=\"%s\" role=\"img\" aria-labelledby=\"%s-title\" "
	     "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
	     "xmlns=\"http://www.w3.org/2000/svg\">\n<title id=\"%s-title\">",
	     c->name, c->name, width, height, width, height, c->name);
	esc(p, c->title);
	put(p, "</title>\n");
}

/* The series' names with their fills, so no series is told by colour alone. */
static void
legend(struct page *p, const struct series *series, size_t n)
{
	put(p, "<ul class=\"legend\">");
	for (size_t s = 0; s < n; s++)
		putf(p,
		     "<li><svg class=\"swatch\" width=\"14\" height=\"14\" aria-hidden=\"true\">"
		     "<rect width=\"14\" height=\"14\" fill=\"url(#p-%s)\"/></svg>%s</li>",
		     series[s].fill, series[s].label);
	put(p, "</ul>\n");
}

/*
 * Horizontal bars: a group of one bar per series for each row, the label on
 * the left, the count after each bar. Every bar is a rect with data-series
 * (and data-row), also for a count of 0, so a chart holds rows x series of them.
 */
static void
hbar_chart(struct page *p, const struct chart *c)
{
	const int width = 960, label_w = 260, value_w = 90, bar_h = 14, pad = 12;
	const int plot_w = width - label_w - value_w;
	const int group_h = (int)c->n_series * bar_h + pad;
	int height = (int)c->n_rows * group_h + pad;
	int64_t max = 0;

	if (c->n_rows == 0)
		height = 40;
	for (size_t i = 0; i < c->n_rows * c->n_series; i++)
		if (c->values[i] > max)
			max = c->values[i];
	max = axis_top(max);
	chart_open(p, c, width, height);
	if (c->n_rows == 0)
		put(p, "<text x=\"8\" y=\"24\" class=\"none\">Nothing to chart.</text>\n");
	for (size_t r = 0; r < c->n_rows; r++) {
		int y0 = pad + (int)r * group_h;
		const char *label = c->labels[r] != NULL ? c->labels[r] : "";

		putf(p, "<g data-row=\"%zu\"><text x=\"%d\" y=\"%d\" class=\"label\">", r,
		     label_w - 8, y0 + (int)c->n_series * bar_h / 2 + 4);
		esc_n(p, label, 34);
		put(p, "</text>\n");
		for (size_t s = 0; s < c->n_series; s++) {
			int64_t v = c->values[r * c->n_series + s];
			double w = (double)v / (double)max * plot_w;
			int y = y0 + (int)s * bar_h;

			putf(p,
			     "<rect data-series=\"%s\" data-row=\"%zu\" x=\"%d\" y=\"%d\" "
			     "width=\"%.1f\" height=\"%d\" fill=\"url(#p-%s)\"><title>",
			     c->series[s].key, r, label_w, y, w, bar_h - 2, c->series[s].fill);
			esc(p, label);
			putf(p, " \xe2\x80\x94 %s: ", c->series[s].label);
			num(p, v);
			putf(p, "</title></rect><text x=\"%.1f\" y=\"%d\" class=\"value\">",
			     label_w + w + 4, y + bar_h - 3);
			num(p, v);
			put(p, "</text>\n");
		}
		put(p, "</g>\n");
	}
	put(p, "</svg>\n");
	legend(p, c->series, c->n_series);
}

/* The incident's kind in words. */
static void
incident_kind(struct page *p, const char *kind)
{
	for (size_t i = 0; kind != NULL && i < sizeof(incident_kinds) / sizeof(incident_kinds[0]);
	     i++)
		if (strcmp(kind, incident_kinds[i].kind) == 0) {
			put(p, incident_kinds[i].words);
			return;
		}
	esc_or(p, kind, "(no kind)");
}

/* --- tables ---------------------------------------------------------------------------- */

/* How a column shows its member. */
enum cell {
	CELL_TEXT,     /* a string, escaped */
	CELL_CODE,     /* a string as code: ids, file names */
	CELL_REASON,   /* a string that may be long: wraps anywhere */
	CELL_COUNT,    /* a count, right-aligned */
	CELL_INDEX,    /* the row's number from 1 (no member) */
	CELL_STATE,    /* a policy's state, as a badge */
	CELL_INCIDENT, /* an incident's kind, in words */
};

/* A column: its heading, the row's member it shows (in the row's object sub when set). */
struct column {
	const char *heading;
	const char *key;
	const char *sub;
	enum cell cell;
};

static void
cell(struct page *p, const struct column *col, const json_t *obj, size_t i, const char *at)
{
	const char *s = NULL;

	if (col->cell != CELL_COUNT && col->cell != CELL_INDEX)
		s = text(p, obj, col->key, at);
	switch (col->cell) {
	case CELL_TEXT:
	case CELL_REASON:
		esc_or(p, s, "\xe2\x80\x94");
		break;
	case CELL_CODE:
		put(p, "<code>");
		esc_or(p, s, "\xe2\x80\x94");
		put(p, "</code>");
		break;
	case CELL_COUNT:
		num(p, count(p, obj, col->key, at));
		break;
	case CELL_INDEX:
		num(p, (int64_t)i + 1);
		break;
	case CELL_STATE:
		if (s == NULL) {
			put(p, "<span class=\"none\">not in the set now</span>");
			break;
		}
		put(p, "<span class=\"badge ");
		esc(p, s);
		put(p, "\">");
		esc(p, s);
		put(p, "</span>");
		break;
	case CELL_INCIDENT:
		incident_kind(p, s);
		break;
	}
}

/* The class of a column's cells: figures align right, long text wraps. */
static const char *
cell_class(enum cell c)
{
	if (c == CELL_COUNT || c == CELL_INDEX)
		return " class=\"n\"";
	return c == CELL_REASON ? " class=\"reason\"" : "";
}

/*
 * The rows of list (an array of objects; name is its path for errors) as a
 * table with a header row and, in each row, the first column as the row's
 * header.
 */
static void
table(struct page *p, const json_t *rows, const char *name, const char *caption,
      const struct column *cols, size_t n_cols)
{
	char at[128], sub_at[160];

	put(p, "<table>\n");
	if (caption != NULL)
		putf(p, "<caption>%s</caption>\n", caption);
	put(p, "<thead><tr>");
	for (size_t c = 0; c < n_cols; c++)
		putf(p, "<th scope=\"col\"%s>%s</th>", cell_class(cols[c].cell), cols[c].heading);
	put(p, "</tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < json_array_size(rows); i++) {
		const json_t *r = row(p, rows, i, at, sizeof(at), name);

		put(p, "<tr>");
		for (size_t c = 0; c < n_cols; c++) {
			const json_t *obj = r;
			const char *where = at;
			const char *tag = c == 0 ? "th" : "td";

			if (cols[c].sub != NULL) {
				obj = object(p, r, cols[c].sub, at);
				snprintf(sub_at, sizeof(sub_at), "%s.%s", at, cols[c].sub);
				where = sub_at;
			}
			putf(p, "<%s%s%s>", tag, c == 0 ? " scope=\"row\"" : "",
			     cell_class(cols[c].cell));
			cell(p, &cols[c], obj, i, where);
			putf(p, "</%s>", tag);
		}
		put(p, "</tr>\n");
	}
	put(p, "</tbody>\n</table>\n");
}

/* --- the sections ---------------------------------------------------------------------- */

static const char style[] =
    "body{font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;color:#1b1b1b;"
    "background:#fafafa;margin:0}\n"
    "main,header,footer,nav{max-width:1100px;margin:0 auto;padding:0 20px}\n"
    "header{padding-top:18px}h1{margin:0 0 4px;font-size:26px}\n"
    "h2{margin:32px 0 10px;padding-bottom:4px;border-bottom:2px solid #ccc;font-size:20px}\n"
    "h3{margin:18px 0 6px;font-size:17px}\n"
    "nav ul{list-style:none;padding:0;margin:10px 0;display:flex;flex-wrap:wrap;gap:6px 16px}\n"
    "section{margin-bottom:12px}\n"
    "dl.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px;"
    "margin:0}\n"
    "dl.cards div{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px}\n"
    "dl.cards dt{font-size:13px;color:#555}dl.cards dd{margin:0;font-size:22px;"
    "font-weight:600}\n"
    "dl.cards dd small{font-size:13px;font-weight:400;color:#555;margin-left:6px}\n"
    "table{border-collapse:collapse;margin:8px 0;background:#fff;min-width:40%}\n"
    "caption{text-align:left;font-weight:600;padding:4px 0}\n"
    "th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}\n"
    "th{background:#f0f0f0}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "td.reason{max-width:560px;overflow-wrap:anywhere}\n"
    "code{font:13px ui-monospace,monospace;background:#eee;padding:1px 4px;border-radius:3px;"
    "overflow-wrap:anywhere}\n"
    "#report-only{background:#fff8e1;border:2px solid #f9a825;border-radius:8px;"
    "padding:4px 16px 12px}\n"
    "#report-only h2{border-color:#f9a825}\n"
    "article.ro{border-top:1px solid #f0d98c;padding-top:4px}\n"
    "p.impact{font-size:16px}\n"
    ".none{color:#555;font-style:italic}\n"
    ".badge{display:inline-block;padding:0 6px;border-radius:9px;font-size:12px;"
    "border:1px solid #888}\n"
    ".badge.report-only{background:#fff3c4;border-color:#f9a825}\n"
    ".badge.disabled{background:#eee}\n"
    "svg.chart{display:block;max-width:100%;height:auto;background:#fff;border:1px solid #ddd;"
    "border-radius:6px;margin:8px 0}\n"
    "svg.chart text{font:12px system-ui,sans-serif;fill:#333}\n"
    "svg.chart text.label{text-anchor:end}svg.chart text.end{text-anchor:end}\n"
    "svg.chart text.marker{font-weight:700;fill:#4a148c}\n"
    "svg.chart line.grid{stroke:#e3e3e3}svg.chart line.axis{stroke:#888}\n"
    "ul.legend{list-style:none;padding:0;margin:0 0 8px;display:flex;flex-wrap:wrap;"
    "gap:4px 18px;font-size:13px}\n"
    "ul.legend svg{vertical-align:-2px;margin-right:5px;border:1px solid #999}\n"
    "footer{color:#555;font-size:13px;margin:32px auto 24px}\n";

/* The fills every chart names (#p-NAME): a colour and a texture each, so that no series is
 * told by colour alone, in print or to a reader who does not see the colours. */
static const char fills[] =
    "<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>\n"
    "<pattern id=\"p-allow\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\">"
    "<rect width=\"8\" height=\"8\" fill=\"#43a047\"/></pattern>\n"
    "<pattern id=\"p-applied\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\">"
    "<rect width=\"8\" height=\"8\" fill=\"#1e88e5\"/></pattern>\n"
    "<pattern id=\"p-deny\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
    "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#c62828\"/>"
    "<rect width=\"2\" height=\"6\" fill=\"#fff\" fill-opacity=\".5\"/></pattern>\n"
    "<pattern id=\"p-step-up\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">"
    "<rect width=\"6\" height=\"6\" fill=\"#ef6c00\"/>"
    "<circle cx=\"3\" cy=\"3\" r=\"1.3\" fill=\"#fff\" fill-opacity=\".7\"/></pattern>\n"
    "<pattern id=\"p-unauthenticated\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">"
    "<rect width=\"6\" height=\"6\" fill=\"#757575\"/>"
    "<rect width=\"6\" height=\"2\" fill=\"#fff\" fill-opacity=\".5\"/></pattern>\n"
    "<pattern id=\"p-error\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">"
    "<rect width=\"6\" height=\"6\" fill=\"#6a1b9a\"/>"
    "<path d=\"M0 0L6 6M6 0L0 6\" stroke=\"#fff\" stroke-opacity=\".6\"/></pattern>\n"
    "<pattern id=\"p-incident\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" "
    "patternTransform=\"rotate(-45)\"><rect width=\"8\" height=\"8\" fill=\"#7b1fa2\" "
    "fill-opacity=\".12\"/><rect width=\"2\" height=\"8\" fill=\"#7b1fa2\" "
    "fill-opacity=\".45\"/></pattern>\n"
    "</defs></svg>\n";

static void
page_head(struct page *p, const json_t *window)
{
	const char *first = text(p, window, "first", "window");
	const char *last = text(p, window, "last", "window");

	put(p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	       /* Nothing from outside, not even if a string slipped through as markup. */
	       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	       "style-src 'unsafe-inline'; img-src data:\">\n"
	       "<link rel=\"icon\" href=\"data:,\">\n<title>PDP report: ");
	if (first != NULL && last != NULL) {
		esc(p, first);
		put(p, " to ");
		esc(p, last);
	} else {
		put(p, "no decisions");
	}
	putf(p, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", style);
	put(p, fills);
}

static void
page_header(struct page *p, const json_t *doc, const json_t *window)
{
	const json_t *inputs = list(p, doc, "inputs", "");
	const char *first = text(p, window, "first", "window");
	const char *last = text(p, window, "last", "window");
	const char *since = text(p, window, "since", "window");
	const char *until = text(p, window, "until", "window");
	int64_t lines = 0, skipped = count(p, object(p, doc, "skipped", ""), "count", "skipped");
	char at[96];

	for (size_t i = 0; i < json_array_size(inputs); i++)
		lines = sat_add(lines,
		                count(p, row(p, inputs, i, at, sizeof(at), "inputs"), "lines", at));
	put(p, "<header>\n<h1>Policy decision report</h1>\n<p class=\"window\">");
	if (first != NULL && last != NULL) {
		put(p, "Decisions from <time>");
		esc(p, first);
		put(p, "</time> to <time>");
		esc(p, last);
		put(p, "</time>");
	} else {
		put(p, "No decision in the window");
	}
	put(p, " (asked: since ");
	esc_or(p, since, "the start");
	put(p, ", until ");
	esc_or(p, until, "the end");
	put(p, "). ");
	num(p, (int64_t)json_array_size(inputs));
	put(p, json_array_size(inputs) == 1 ? " log read, " : " logs read, ");
	num(p, lines);
	put(p, " lines, ");
	num(p, skipped);
	put(p, " skipped.</p>\n</header>\n"
	       "<nav aria-label=\"Sections\"><ul>"
	       "<li><a href=\"#totals\">Totals</a></li>"
	       "<li><a href=\"#report-only\">Report-only impact</a></li>"
	       "<li><a href=\"#timeline\">Over time</a></li>"
	       "<li><a href=\"#incidents\">Incidents</a></li>"
	       "<li><a href=\"#policies\">Policies</a></li>"
	       "<li><a href=\"#apps\">Apps</a></li>"
	       "<li><a href=\"#reasons\">Reasons</a></li>"
	       "<li><a href=\"#latency\">Latency</a></li>"
	       "<li><a href=\"#skipped\">Skipped lines</a></li>"
	       "</ul></nav>\n<main>\n");
}

static void
card(struct page *p, const char *label, int64_t n, int64_t of)
{
	putf(p, "<div><dt>%s</dt><dd>", label);
	num(p, n);
	if (of >= 0) {
		put(p, "<small>");
		pct(p, n, of);
		put(p, "</small>");
	}
	put(p, "</dd></div>\n");
}

static void
section_totals(struct page *p, const json_t *doc)
{
	const json_t *totals = object(p, doc, "totals", "");
	const json_t *by = object(p, totals, "by_decision", "totals");
	int64_t all = count(p, totals, "decisions", "totals");

	put(p, "<section id=\"totals\">\n<h2>Totals</h2>\n<dl class=\"cards\">\n");
	card(p, "decisions", all, -1);
	for (size_t s = 0; s < N_DECISIONS; s++)
		card(p, decisions[s].label, count(p, by, decisions[s].key, "totals.by_decision"),
		     all);
	card(p, "users (distinct, estimated)", count(p, totals, "users_distinct", "totals"), -1);
	card(p, "devices (distinct, estimated)", count(p, totals, "devices_distinct", "totals"),
	     -1);
	put(p, "</dl>\n</section>\n");
}

/* A comma-separated list of the request ids in examples, each as code. */
static void
examples(struct page *p, const json_t *ids, const char *at)
{
	size_t n = json_array_size(ids);

	if (n == 0) {
		put(p, "<span class=\"none\">none kept</span>");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *id = json_array_get(ids, i);

		if (!json_is_string(id)) {
			bad(p, at, "examples", "not an array of strings");
			return;
		}
		put(p, i ? ", <code>" : "<code>");
		esc(p, json_string_value(id));
		put(p, "</code>");
	}
}

static const struct column would_columns[] = {
    {"App", "app", NULL, CELL_TEXT},
    {"Would deny", "deny", NULL, CELL_COUNT},
    {"Would step up", "step-up", NULL, CELL_COUNT},
};

static void
report_only_policy(struct page *p, const json_t *ro, const char *at)
{
	const char *id = text(p, ro, "id", at);
	const json_t *would = object(p, ro, "would", at);
	const json_t *users = object(p, ro, "users_distinct", at);
	const json_t *apps = list(p, ro, "by_app", at);
	int64_t evaluated = count(p, ro, "evaluated", at), deny, step_up;
	char would_at[112], users_at[112], apps_at[112];

	snprintf(would_at, sizeof(would_at), "%s.would", at);
	snprintf(users_at, sizeof(users_at), "%s.users_distinct", at);
	deny = count(p, would, "deny", would_at);
	step_up = count(p, would, "step-up", would_at);
	put(p, "<article class=\"ro\">\n<h3><code>");
	esc_or(p, id, "(no id)");
	put(p, "</code></h3>\n<p class=\"impact\">Enforcing it would have <strong>denied ");
	num(p, deny);
	put(p, "</strong> requests (");
	num(p, count(p, users, "deny", users_at));
	put(p, " distinct users) and <strong>stepped up ");
	num(p, step_up);
	put(p, "</strong> (");
	num(p, count(p, users, "step-up", users_at));
	put(p, " distinct users), of ");
	num(p, evaluated);
	put(p, " requests it was evaluated on: ");
	pct(p, sat_add(deny, step_up), evaluated);
	put(p, " of them would have changed.</p>\n");
	if (json_array_size(apps) > 0) {
		snprintf(apps_at, sizeof(apps_at), "%s.by_app", at);
		table(p, apps, apps_at, "By app", would_columns,
		      sizeof(would_columns) / sizeof(would_columns[0]));
	}
	put(p, "<p>Example request ids: ");
	examples(p, list(p, ro, "examples", at), at);
	put(p, "</p>\n</article>\n");
}

static void
section_report_only(struct page *p, const json_t *doc)
{
	const json_t *ros = list(p, doc, "report_only", "");
	struct chart c = {.name = "report-only",
	                  .title = "What each report-only policy would change if enforced",
	                  .series = would_series,
	                  .n_series = 2};
	char at[96];

	put(p, "<section id=\"report-only\">\n<h2>Report-only policies: what enforcing them "
	       "would change</h2>\n");
	if (json_array_size(ros) == 0) {
		put(p, "<p class=\"none\">No report-only policy was evaluated in this "
		       "window.</p>\n</section>\n");
		return;
	}
	put(p, "<p>Each report-only policy was evaluated on every request it applies to; "
	       "these requests would have been answered differently had it been enabled.</p>\n");
	if (chart_from_rows(p, &c, ros, "report_only", "id", "would"))
		hbar_chart(p, &c);
	chart_free(&c);
	for (size_t i = 0; i < json_array_size(ros); i++) {
		const json_t *ro = row(p, ros, i, at, sizeof(at), "report_only");

		if (ro != NULL)
			report_only_policy(p, ro, at);
	}
	put(p, "</section>\n");
}

/* "hour", "5 minutes", "90 seconds": the bucket width in words. */
static void
bucket_words(struct page *p, int64_t seconds)
{
	static const struct {
		int64_t unit;
		const char *one, *many;
	} units[] = {{86400, "day", "days"}, {3600, "hour", "hours"}, {60, "minute", "minutes"}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (seconds >= units[i].unit && seconds % units[i].unit == 0) {
			if (seconds == units[i].unit)
				put(p, units[i].one);
			else
				putf(p, "%" PRId64 " %s", seconds / units[i].unit, units[i].many);
			return;
		}
	putf(p, "%" PRId64 " %s", seconds, seconds == 1 ? "second" : "seconds");
}

/* Geometry of the timeline's plot, in the SVG's units. */
enum { TL_W = 960, TL_H = 290, TL_LEFT = 64, TL_RIGHT = 16, TL_TOP = 28, TL_BOTTOM = 46 };

/*
 * The incidents as numbered bands over the timeline, where their times fall
 * within it; x(t) is linear from the first bucket's start, bucket_ms a bar.
 */
static void
timeline_incidents(struct page *p, const json_t *incidents, double t0, double bucket_ms,
                   double bar_w, size_t n_buckets)
{
	const double left = TL_LEFT, right = TL_LEFT + bar_w * (double)n_buckets;
	char at[96];

	for (size_t i = 0; i < json_array_size(incidents); i++) {
		const json_t *inc = row(p, incidents, i, at, sizeof(at), "incidents");
		const char *kind = text(p, inc, "kind", at);
		double start, end, x1, x2;

		if (!parse_time(text(p, inc, "start", at), &start) ||
		    !parse_time(text(p, inc, "end", at), &end))
			continue;
		if (end < start)
			end = start;
		x1 = left + (start - t0) / bucket_ms * bar_w;
		x2 = left + (end - t0) / bucket_ms * bar_w;
		x1 = x1 < left ? left : x1 > right ? right : x1;
		x2 = x2 < x1 ? x1 : x2 > right ? right : x2;
		if (x2 - x1 < 3) { /* an instant still shows */
			x2 = x1 + 3 <= right ? x1 + 3 : right;
			x1 = x2 - 3;
		}
		putf(p,
		     "<rect class=\"incident\" data-incident=\"%zu\" x=\"%.1f\" y=\"%d\" "
		     "width=\"%.1f\" "
		     "height=\"%d\" fill=\"url(#p-incident)\" stroke=\"#7b1fa2\"><title>Incident "
		     "%zu: ",
		     i + 1, x1, TL_TOP, x2 - x1, TL_H - TL_TOP - TL_BOTTOM, i + 1);
		incident_kind(p, kind);
		put(p, ", ");
		esc(p, text(p, inc, "start", at));
		put(p, " to ");
		esc(p, text(p, inc, "end", at));
		put(p, ", ");
		num(p, count(p, inc, "decisions", at));
		putf(p,
		     " decisions</title></rect><text class=\"marker\" x=\"%.1f\" "
		     "y=\"%d\">#%zu</text>\n",
		     x1, TL_TOP - 8, i + 1);
	}
}

/* Decisions per bucket, stacked by result: one rect per bucket and decision (0 high when
 * none), so the chart holds buckets x decisions of them. */
static void
timeline_chart(struct page *p, const struct chart *c, int64_t bucket_seconds,
               const json_t *incidents)
{
	const double plot_w = TL_W - TL_LEFT - TL_RIGHT, plot_h = TL_H - TL_TOP - TL_BOTTOM;
	const double bottom = TL_H - TL_BOTTOM;
	double bar_w = plot_w / (double)(c->n_rows ? c->n_rows : 1);
	double gap = bar_w > 4 ? bar_w * 0.15 : 0, t0;
	int64_t max = 0;

	for (size_t r = 0; r < c->n_rows; r++) {
		int64_t sum = 0;

		for (size_t s = 0; s < c->n_series; s++)
			sum = sat_add(sum, c->values[r * c->n_series + s]);
		if (sum > max)
			max = sum;
	}
	max = axis_top(max);
	chart_open(p, c, TL_W, TL_H);
	putf(p, "<line class=\"axis\" x1=\"%d\" y1=\"%.0f\" x2=\"%d\" y2=\"%.0f\"/>\n", TL_LEFT,
	     bottom, TL_W - TL_RIGHT, bottom);
	for (int k = 1; k <= 2; k++) {
		double y = bottom - plot_h * k / 2;

		if (k == 1 && max % 2 != 0)
			continue;
		putf(p,
		     "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
		     "<text class=\"end\" x=\"%d\" y=\"%.1f\">",
		     TL_LEFT, y, TL_W - TL_RIGHT, y, TL_LEFT - 6, y + 4);
		num(p, k == 2 ? max : max / 2);
		put(p, "</text>\n");
	}
	putf(p, "<text class=\"end\" x=\"%d\" y=\"%.1f\">0</text>\n", TL_LEFT - 6, bottom + 4);
	if (c->n_rows == 0)
		putf(p,
		     "<text x=\"%d\" y=\"%.0f\" class=\"none\">No decisions in this "
		     "window.</text>\n",
		     TL_LEFT + 12, bottom - plot_h / 2);
	for (size_t r = 0; r < c->n_rows; r++) {
		double x = TL_LEFT + bar_w * (double)r + gap / 2, acc = 0;

		putf(p, "<g data-bucket=\"%zu\">", r);
		for (size_t s = 0; s < c->n_series; s++) {
			int64_t v = c->values[r * c->n_series + s];
			double h = (double)v / (double)max * plot_h;

			putf(p,
			     "<rect data-series=\"%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
			     "height=\"%.2f\" fill=\"url(#p-%s)\"><title>",
			     c->series[s].key, x, bottom - acc - h, bar_w - gap, h,
			     c->series[s].fill);
			esc(p, c->labels[r] != NULL ? c->labels[r] : "");
			putf(p, " \xe2\x80\x94 %s: ", c->series[s].label);
			num(p, v);
			put(p, "</title></rect>");
			acc += h;
		}
		put(p, "</g>\n");
	}
	/* The first, middle and last buckets' starts under the axis. */
	for (size_t k = 0; c->n_rows > 0 && k < 3; k++) {
		size_t r = k == 0 ? 0 : k == 1 ? c->n_rows / 2 : c->n_rows - 1;
		const char *anchor = k == 0 ? "start" : k == 1 ? "middle" : "end";
		double x = k == 0   ? TL_LEFT
		           : k == 1 ? TL_LEFT + bar_w * ((double)r + 0.5)
		                    : TL_LEFT + bar_w * (double)c->n_rows;

		if ((k == 1 && c->n_rows < 3) || (k == 2 && c->n_rows < 2))
			continue;
		putf(p, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"%s\">", x, bottom + 18, anchor);
		short_time(p, c->labels[r]);
		put(p, "</text>\n");
	}
	if (c->n_rows > 0 && bucket_seconds > 0 && parse_time(c->labels[0], &t0))
		timeline_incidents(p, incidents, t0, (double)bucket_seconds * 1000.0, bar_w,
		                   c->n_rows);
	put(p, "</svg>\n");
	legend(p, c->series, c->n_series);
}

/* The timeline's figures as a table: a bucket's start and its count of each decision. */
static const struct column bucket_columns[] = {
    {"Bucket start", "start", NULL, CELL_TEXT},
    {"allow", "allow", NULL, CELL_COUNT},
    {"deny", "deny", NULL, CELL_COUNT},
    {"step-up", "step-up", NULL, CELL_COUNT},
    {"unauthenticated", "unauthenticated", NULL, CELL_COUNT},
    {"error", "error", NULL, CELL_COUNT},
};

static void
section_timeline(struct page *p, const json_t *doc)
{
	const json_t *timeline = object(p, doc, "timeline", "");
	const json_t *buckets = list(p, timeline, "buckets", "timeline");
	const json_t *incidents = list(p, doc, "incidents", "");
	int64_t bucket_seconds = count(p, timeline, "bucket_seconds", "timeline");
	struct chart c = {.name = "timeline",
	                  .title = "Decisions over time, stacked by result",
	                  .series = decisions,
	                  .n_series = N_DECISIONS};

	put(p, "<section id=\"timeline\">\n<h2>Decisions over time</h2>\n<p>Decisions per ");
	bucket_words(p, bucket_seconds);
	put(p, ", stacked by result");
	if (json_array_size(incidents) > 0)
		put(p, "; hatched bands mark the incidents, numbered as listed below");
	put(p, ".</p>\n");
	if (chart_from_rows(p, &c, buckets, "timeline.buckets", "start", NULL)) {
		timeline_chart(p, &c, bucket_seconds, incidents);
		put(p, "<details><summary>The figures as a table</summary>\n");
		table(p, buckets, "timeline.buckets", NULL, bucket_columns,
		      sizeof(bucket_columns) / sizeof(bucket_columns[0]));
		put(p, "</details>\n");
	}
	chart_free(&c);
	put(p, "</section>\n");
}

static const struct column incident_columns[] = {
    {"#", NULL, NULL, CELL_INDEX},
    {"What", "kind", NULL, CELL_INCIDENT},
    {"From", "start", NULL, CELL_TEXT},
    {"To", "end", NULL, CELL_TEXT},
    {"Decisions during it", "decisions", NULL, CELL_COUNT},
};

static void
section_incidents(struct page *p, const json_t *doc)
{
	const json_t *incidents = list(p, doc, "incidents", "");

	put(p, "<section id=\"incidents\">\n<h2>Incidents</h2>\n");
	if (json_array_size(incidents) == 0)
		put(p, "<p class=\"none\">No store outage, stale store or key failure in this "
		       "window.</p>\n");
	else
		table(p, incidents, "incidents", NULL, incident_columns,
		      sizeof(incident_columns) / sizeof(incident_columns[0]));
	put(p, "</section>\n");
}

static const struct column policy_columns[] = {
    {"Policy", "id", NULL, CELL_CODE},
    {"State", "state", NULL, CELL_STATE},
    {"Applied", "applied", NULL, CELL_COUNT},
    {"Denied", "denied", NULL, CELL_COUNT},
    {"Stepped up", "stepped_up", NULL, CELL_COUNT},
    {"Users affected (distinct)", "users_affected_distinct", NULL, CELL_COUNT},
};

static void
section_policies(struct page *p, const json_t *doc)
{
	const json_t *policies = list(p, doc, "policies", "");
	struct chart c = {.name = "policies",
	                  .title = "Per policy: requests it applied to, denied and stepped up",
	                  .series = policy_series,
	                  .n_series = 3};

	put(p, "<section id=\"policies\">\n<h2>Policies</h2>\n");
	put(p, "<p>What each policy did while enforced: the requests it applied to, denied and "
	       "stepped up. A report-only policy's evaluations are counted in the report-only "
	       "section above.</p>\n");
	if (json_array_size(policies) == 0) {
		put(p, "<p class=\"none\">No policy applied to a request in this window.</p>\n"
		       "</section>\n");
		return;
	}
	if (chart_from_rows(p, &c, policies, "policies", "id", NULL))
		hbar_chart(p, &c);
	chart_free(&c);
	table(p, policies, "policies", NULL, policy_columns,
	      sizeof(policy_columns) / sizeof(policy_columns[0]));
	put(p, "</section>\n");
}

static const struct column app_columns[] = {
    {"App", "app", NULL, CELL_TEXT},
    {"Decisions", "decisions", NULL, CELL_COUNT},
    {"allow", "allow", "by_decision", CELL_COUNT},
    {"deny", "deny", "by_decision", CELL_COUNT},
    {"step-up", "step-up", "by_decision", CELL_COUNT},
    {"unauthenticated", "unauthenticated", "by_decision", CELL_COUNT},
    {"error", "error", "by_decision", CELL_COUNT},
};

static void
section_apps(struct page *p, const json_t *doc)
{
	const json_t *apps = list(p, doc, "apps", "");

	put(p, "<section id=\"apps\">\n<h2>Apps</h2>\n");
	if (json_array_size(apps) == 0)
		put(p, "<p class=\"none\">No decision for an app in this window.</p>\n");
	else
		table(p, apps, "apps", NULL, app_columns,
		      sizeof(app_columns) / sizeof(app_columns[0]));
	put(p, "</section>\n");
}

static const struct column reason_columns[] = {
    {"Reason", "reason", NULL, CELL_REASON},
    {"Requests", "count", NULL, CELL_COUNT},
    {"Over-count at most", "error", NULL, CELL_COUNT},
};

static void
reasons_table(struct page *p, const json_t *doc, const char *key, const char *heading)
{
	const json_t *reasons = list(p, doc, key, "");

	putf(p, "<h3>%s</h3>\n", heading);
	if (json_array_size(reasons) == 0)
		put(p, "<p class=\"none\">None in this window.</p>\n");
	else
		table(p, reasons, key, NULL, reason_columns,
		      sizeof(reason_columns) / sizeof(reason_columns[0]));
}

static void
section_latency(struct page *p, const json_t *doc)
{
	const json_t *lat = object(p, doc, "latency_us", "");
	struct chart c = {.name = "latency",
	                  .title = "Decision latency percentiles, in microseconds",
	                  .series = latency_series,
	                  .n_series = 1};

	put(p, "<section id=\"latency\">\n<h2>Latency</h2>\n<p>Time from the request parsed to "
	       "the answer ready, in microseconds.</p>\n<table>\n<thead><tr>");
	for (size_t i = 0; i < N_PERCENTILES; i++)
		putf(p, "<th scope=\"col\" class=\"n\">%s</th>", percentiles[i].label);
	put(p, "</tr></thead>\n<tbody><tr>");
	if (chart_alloc(p, &c, N_PERCENTILES)) {
		for (size_t i = 0; i < N_PERCENTILES; i++) {
			c.labels[i] = percentiles[i].label;
			c.values[i] = count(p, lat, percentiles[i].key, "latency_us");
			put(p, "<td class=\"n\">");
			num(p, c.values[i]);
			put(p, "</td>");
		}
		put(p, "</tr></tbody>\n</table>\n");
		hbar_chart(p, &c);
	}
	chart_free(&c);
	put(p, "</section>\n");
}

static const struct column skipped_columns[] = {
    {"Input", "input", NULL, CELL_CODE},
    {"Line", "line", NULL, CELL_COUNT},
    {"Reason", "reason", NULL, CELL_REASON},
};

static const struct column input_columns[] = {
    {"Log", "name", NULL, CELL_CODE},
    {"Lines", "lines", NULL, CELL_COUNT},
    {"Decisions", "decisions", NULL, CELL_COUNT},
    {"Skipped", "skipped", NULL, CELL_COUNT},
};

static void
section_skipped(struct page *p, const json_t *doc)
{
	const json_t *skipped = object(p, doc, "skipped", "");
	const json_t *ex = list(p, skipped, "examples", "skipped");
	const json_t *inputs = list(p, doc, "inputs", "");
	int64_t n = count(p, skipped, "count", "skipped");

	put(p, "<section id=\"skipped\">\n<h2>Skipped lines</h2>\n<p>");
	num(p, n);
	put(p, n == 1 ? " line was" : " lines were");
	put(p, " not a decision and left out of every figure above");
	if (json_array_size(ex) > 0 && (int64_t)json_array_size(ex) < n)
		put(p, "; the first ones");
	put(p, json_array_size(ex) > 0 ? ":</p>\n" : ".</p>\n");
	if (json_array_size(ex) > 0)
		table(p, ex, "skipped.examples", NULL, skipped_columns,
		      sizeof(skipped_columns) / sizeof(skipped_columns[0]));
	put(p, "<h3>Logs read</h3>\n");
	if (json_array_size(inputs) == 0)
		put(p, "<p class=\"none\">None.</p>\n");
	else
		table(p, inputs, "inputs", NULL, input_columns,
		      sizeof(input_columns) / sizeof(input_columns[0]));
	put(p, "</section>\n");
}

int
report_html_write(FILE *out, const json_t *doc, char *err, size_t errsz)
{
	struct page p = {.out = out, .err = err, .errsz = errsz};
	const char *format = json_string_value(json_object_get(doc, "format"));
	const json_t *window;

	if (!json_is_object(doc) || format == NULL || strcmp(format, "pdp-report/1") != 0) {
		snprintf(err, errsz, "format: not a pdp-report/1 document");
		return -1;
	}
	window = object(&p, doc, "window", "");
	page_head(&p, window);
	page_header(&p, doc, window);
	section_totals(&p, doc);
	section_report_only(&p, doc);
	section_timeline(&p, doc);
	section_incidents(&p, doc);
	section_policies(&p, doc);
	section_apps(&p, doc);
	put(&p, "<section id=\"reasons\">\n<h2>Reasons</h2>\n");
	reasons_table(&p, doc, "top_deny_reasons", "Top deny reasons");
	reasons_table(&p, doc, "top_step_up_reasons", "Top step-up reasons");
	put(&p, "</section>\n");
	section_latency(&p, doc);
	section_skipped(&p, doc);
	put(&p, "</main>\n<footer>Made by <code>pdp report</code> (pdp-report/1). Distinct counts "
	        "are estimates; a top reason's count exceeds the truth by at most its over-count."
	        "</footer>\n</body>\n</html>\n");
	if (p.failed)
		return -1;
	if (fflush(out) != 0 || ferror(out)) {
		snprintf(err, errsz, "writing the page: %s", strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}
