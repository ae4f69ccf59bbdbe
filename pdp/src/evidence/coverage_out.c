/* coverage_out.c - a coverage assessment as Markdown, JSON and CSV */
#include <ctype.h>
#include <jansson.h>
#include <string.h>

#include "evidence/coverage.h"

static const char *const status_titles[] = {"not met", "partly", "met"};

/*
 * s for Markdown, as text: control characters as '?'; outside code spans
 * (backtick pairs; backticks are escaped when they do not pair up) the
 * characters that would start a link, an image, raw HTML or * emphasis, or
 * an entity (& before a letter or #), and a leading # (a heading), escaped
 * with a backslash; in a table cell '|' escaped and line breaks as spaces.
 */
static void
md_text(FILE *out, const char *s, bool cell)
{
	size_t ticks = 0;
	bool code = false;

	for (const char *t = s; *t != '\0'; t++)
		ticks += *t == '`';
	if (*s == '#')
		fputc('\\', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '`' && ticks % 2 == 0) {
			code = !code;
			fputc(c, out);
		} else if (cell && c == '\n') {
			fputc(' ', out);
		} else if (c < 0x20 || c == 0x7f) {
			fputc(c == '\n' ? '\n' : '?', out);
		} else if ((cell && c == '|') ||
		           (!code &&
		            (strchr("\\`*[]<>", c) != NULL ||
		             (c == '&' && (isalpha((unsigned char)s[1]) || s[1] == '#'))))) {
			fprintf(out, "\\%c", c);
		} else {
			fputc(c, out);
		}
	}
}

/* A URL as an autolink when it can be one (no space, control character, < or >), else as
 * text. */
static void
md_url(FILE *out, const char *url)
{
	for (const unsigned char *c = (const unsigned char *)url; *c != '\0'; c++)
		if (*c <= 0x20 || *c == 0x7f || *c == '<' || *c == '>') {
			md_text(out, url, false);
			return;
		}
	fprintf(out, "<%s>", url);
}

/* 0 when everything written reached out, else -1. */
static int
flushed(FILE *out)
{
	return fflush(out) != 0 || ferror(out) ? -1 : 0;
}

/* The controls that stand between a pillar (p < 0: every pillar) and stage, listed. */
static void
md_needed(FILE *out, const struct coverage *cov, int p, int stage)
{
	bool first = true;

	for (size_t i = 0; i < cov->n; i++) {
		if ((p >= 0 && cov->results[i].control->pillar != p) ||
		    !coverage_needed(cov, i, stage))
			continue;
		fprintf(out, "%s", first ? "" : ", ");
		md_text(out, cov->results[i].control->id, true);
		first = false;
	}
}

/* Each '\n'-separated item of text as a list item. */
static void
md_items(FILE *out, const char *text)
{
	while (*text != '\0') {
		size_t n = strcspn(text, "\n");
		char item[CHECK_EVIDENCE_MAX];

		snprintf(item, sizeof(item), "%.*s", (int)n, text);
		fputs("- ", out);
		md_text(out, item, false);
		fputc('\n', out);
		text += n + (text[n] == '\n');
	}
}

static void
md_head(FILE *out, const struct coverage *cov)
{
	const struct coverage_facts *f = cov->facts;
	const struct coverage_tests *t = f->tests;

	fprintf(out, "# Zero Trust coverage of ");
	md_text(out, f->policy_dir, false);
	fprintf(out, "\n\nPolicies: %zu in %zu file%s, revision %s. Config: ", f->set->n_policies,
	        f->set->n_files, f->set->n_files == 1 ? "" : "s", f->set->revision);
	md_text(out, f->config->path != NULL ? f->config->path : "none given (defaults)", false);
	fprintf(out, ". Test cases: ");
	if (t->error != NULL)
		md_text(out, t->error, false);
	else
		fprintf(out, "%zu, %zu passed", t->n_cases, t->n_passed);
	fprintf(out, ".\nChecklist: ");
	md_text(out, cov->cl->title, false);
	fprintf(out, ", version %u (", cov->cl->version);
	md_text(out, cov->cl->name, false);
	fprintf(out, ").\n\n**Overall stage: %s.** ", stage_titles[cov->stage]);
	fprintf(out, "A stage is reached when every control that evidences it, or a lower "
	             "stage, is met.");
	for (int s = cov->stage + 1; s < STAGE_COUNT; s++) {
		bool any = false;

		for (size_t i = 0; i < cov->n && !any; i++)
			any = coverage_needed(cov, i, s);
		if (!any)
			continue;
		fprintf(out, " To reach %s: ", stage_titles[s]);
		md_needed(out, cov, -1, s);
		fputc('.', out);
		break;
	}
	fputs("\n\n", out);
}

int
coverage_markdown(FILE *out, const struct coverage *cov)
{
	md_head(out, cov);
	fprintf(out, "## Pillars\n\n| Pillar | Stage reached | Controls met | To reach the next "
	             "stage |\n|---|---|---|---|\n");
	for (int p = 0; p < PILLAR_COUNT; p++) {
		const struct coverage_pillar *pl = &cov->pillars[p];

		if (pl->n_controls == 0)
			continue;
		fprintf(out, "| %s | %s | %zu of %zu | ", pillar_names[p], stage_titles[pl->stage],
		        pl->n_met, pl->n_controls);
		if (pl->next >= 0) {
			fprintf(out, "%s: ", stage_titles[pl->next]);
			md_needed(out, cov, p, pl->next);
		} else {
			fputs("the checklist has no higher stage for this pillar", out);
		}
		fputs(" |\n", out);
	}
	fprintf(out, "\n## Controls\n\n| Control | Pillar · function | Evidences | Result "
	             "|\n|---|---|---|---|\n");
	for (size_t i = 0; i < cov->n; i++) {
		const struct control *c = cov->results[i].control;

		fputs("| ", out);
		md_text(out, c->id, true);
		fprintf(out, " | %s · ", pillar_names[c->pillar]);
		md_text(out, c->function, true);
		fprintf(out, " | %s | %s |\n", stage_titles[c->stage],
		        status_titles[cov->results[i].result.status]);
	}
	for (size_t i = 0; i < cov->n; i++) {
		const struct control *c = cov->results[i].control;
		const struct check_result *r = &cov->results[i].result;

		fputs("\n### ", out);
		md_text(out, c->id, false);
		fputs(": ", out);
		md_text(out, c->title, false);
		fprintf(out, "\n\n**%s** · %s · ", status_titles[r->status],
		        pillar_names[c->pillar]);
		md_text(out, c->function, false);
		fprintf(out, " · evidences %s when met (check: %s)\n\nEvidence:\n\n",
		        stage_titles[c->stage], c->check.kind->name);
		md_items(out, r->evidence[0] ? r->evidence : "none");
		if (r->raise[0] != '\0' || c->next != NULL) {
			fputs("\nTo raise it: ", out);
			md_text(out, r->raise[0] != '\0' ? r->raise : c->next, false);
			fputs("\n", out);
		}
		fputs("\nWhy: ", out);
		md_text(out, c->rationale, false);
		fputs(" (sources:", out);
		for (size_t j = 0; j < c->n_sources; j++) {
			fputc(' ', out);
			md_text(out, c->sources[j], false);
		}
		fputs(")\n", out);
	}
	fputs("\n## Sources\n\n", out);
	for (size_t i = 0; i < cov->cl->n_sources; i++) {
		const struct checklist_source *s = &cov->cl->sources[i];

		fputs("- ", out);
		md_text(out, s->id, false);
		fputs(": ", out);
		md_text(out, s->title, false);
		fputs(", ", out);
		md_url(out, s->url);
		fputc('\n', out);
	}
	return flushed(out);
}

/* --- JSON ------------------------------------------------------------------------- */

/* A JSON array of the '\n'-separated items of text. */
static json_t *
json_items(const char *text)
{
	json_t *a = json_array();

	while (a != NULL && *text != '\0') {
		size_t n = strcspn(text, "\n");

		json_array_append_new(a, json_stringn(text, n));
		text += n + (text[n] == '\n');
	}
	return a;
}

/* The ids of the controls that stand between pillar p (< 0: all) and stage. */
static json_t *
json_needed(const struct coverage *cov, int p, int stage)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < cov->n; i++)
		if ((p < 0 || cov->results[i].control->pillar == p) &&
		    coverage_needed(cov, i, stage))
			json_array_append_new(a, json_string(cov->results[i].control->id));
	return a;
}

/* Sets key of o to v (stolen); a NULL v (jansson refused a string, or memory ran out)
 * counts in *bad, so the document fails rather than lose a member. */
static void
set(json_t *o, const char *key, json_t *v, int *bad)
{
	*bad |= json_object_set_new(o, key, v) != 0;
}

static void
append(json_t *a, json_t *v, int *bad)
{
	*bad |= json_array_append_new(a, v) != 0;
}

/* A control as a JSON object. */
static json_t *
json_control(const struct control *c, const struct check_result *r, int *bad)
{
	json_t *o = json_object(), *srcs = json_array();

	set(o, "id", json_string(c->id), bad);
	set(o, "title", json_string(c->title), bad);
	set(o, "pillar", json_string(pillar_names[c->pillar]), bad);
	set(o, "function", json_string(c->function), bad);
	set(o, "stage", json_string(stage_names[c->stage]), bad);
	set(o, "check", json_string(c->check.kind->name), bad);
	set(o, "result", json_string(check_status_names[r->status]), bad);
	set(o, "evidence", json_items(r->evidence), bad);
	set(o, "rationale", json_string(c->rationale), bad);
	if (r->raise[0] != '\0' || c->next != NULL)
		set(o, "raise", json_string(r->raise[0] ? r->raise : c->next), bad);
	for (size_t j = 0; j < c->n_sources; j++)
		append(srcs, json_string(c->sources[j]), bad);
	set(o, "sources", srcs, bad);
	return o;
}

int
coverage_json(FILE *out, const struct coverage *cov)
{
	const struct coverage_facts *f = cov->facts;
	const struct coverage_tests *t = f->tests;
	const struct checklist *cl = cov->cl;
	json_t *root = json_object(), *o, *a;
	int bad = root == NULL, rc = -1;

	o = json_object();
	set(o, "id", json_string(cl->id), &bad);
	set(o, "title", json_string(cl->title), &bad);
	set(o, "version", json_integer((json_int_t)cl->version), &bad);
	set(o, "file", json_string(cl->name), &bad);
	a = json_array();
	for (size_t i = 0; i < cl->n_sources; i++)
		append(a,
		       json_pack("{s:s, s:s, s:s}", "id", cl->sources[i].id, "title",
		                 cl->sources[i].title, "url", cl->sources[i].url),
		       &bad);
	set(o, "sources", a, &bad);
	set(root, "checklist", o, &bad);
	set(root, "policies",
	    json_pack("{s:s, s:s, s:I, s:I}", "dir", f->policy_dir, "revision", f->set->revision,
	              "files", (json_int_t)f->set->n_files, "policies",
	              (json_int_t)f->set->n_policies),
	    &bad);
	set(root, "config", f->config->path != NULL ? json_string(f->config->path) : json_null(),
	    &bad);
	o = json_object();
	set(o, "dir", json_string(t->dir), &bad);
	if (t->error != NULL)
		set(o, "error", json_string(t->error), &bad);
	set(o, "cases", json_integer((json_int_t)t->n_cases), &bad);
	set(o, "passed", json_integer((json_int_t)t->n_passed), &bad);
	set(root, "tests", o, &bad);
	set(root, "stage", json_string(stage_names[cov->stage]), &bad);
	a = json_array();
	for (int p = 0; p < PILLAR_COUNT; p++) {
		const struct coverage_pillar *pl = &cov->pillars[p];

		if (pl->n_controls == 0)
			continue;
		o = json_pack("{s:s, s:s, s:I, s:I}", "pillar", pillar_names[p], "stage",
		              stage_names[pl->stage], "controls", (json_int_t)pl->n_controls, "met",
		              (json_int_t)pl->n_met);
		if (o != NULL && pl->next >= 0) {
			set(o, "next_stage", json_string(stage_names[pl->next]), &bad);
			set(o, "to_reach", json_needed(cov, p, pl->next), &bad);
		}
		append(a, o, &bad);
	}
	set(root, "pillars", a, &bad);
	a = json_array();
	for (size_t i = 0; i < cov->n; i++)
		append(a, json_control(cov->results[i].control, &cov->results[i].result, &bad),
		       &bad);
	set(root, "controls", a, &bad);
	if (!bad && json_dumpf(root, out, JSON_INDENT(2)) == 0 && fputc('\n', out) != EOF)
		rc = flushed(out);
	json_decref(root);
	return rc;
}

/* --- CSV ---------------------------------------------------------------------------- */

/*
 * One RFC 4180 field, always quoted, '"' doubled. A field a spreadsheet
 * would read as a formula (starting with =, +, -, @, tab or CR) gets a
 * leading ' so that it stays text.
 */
static void
csv_field(FILE *out, const char *s, bool last)
{
	fputc('"', out);
	if (strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0')
		fputc('\'', out);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputs(last ? "\"\r\n" : "\",", out);
}

int
coverage_csv(FILE *out, const struct coverage *cov)
{
	static const char *const header[] = {"id",     "title",    "pillar",   "function", "stage",
	                                     "result", "evidence", "to_raise", "sources"};

	for (size_t i = 0; i < 9; i++)
		csv_field(out, header[i], i == 8);
	for (size_t i = 0; i < cov->n; i++) {
		const struct control *c = cov->results[i].control;
		const struct check_result *r = &cov->results[i].result;
		char evidence[CHECK_EVIDENCE_MAX * 2], srcs[512] = "";
		size_t o = 0;

		/* One cell: the items joined by "; ". */
		for (const char *e = r->evidence; *e != '\0' && o + 3 < sizeof(evidence); e++) {
			if (*e == '\n') {
				evidence[o++] = ';';
				evidence[o++] = ' ';
			} else {
				evidence[o++] = *e;
			}
		}
		evidence[o] = '\0';
		for (size_t j = 0; j < c->n_sources; j++)
			snprintf(srcs + strlen(srcs), sizeof(srcs) - strlen(srcs), "%s%s",
			         j ? " " : "", c->sources[j]);
		csv_field(out, c->id, false);
		csv_field(out, c->title, false);
		csv_field(out, pillar_names[c->pillar], false);
		csv_field(out, c->function, false);
		csv_field(out, stage_names[c->stage], false);
		csv_field(out, check_status_names[r->status], false);
		csv_field(out, evidence, false);
		csv_field(out, r->raise[0] ? r->raise : c->next != NULL ? c->next : "", false);
		csv_field(out, srcs, true);
	}
	return flushed(out);
}
