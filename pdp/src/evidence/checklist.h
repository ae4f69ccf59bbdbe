/* checklist.h - a coverage checklist (YAML): its sources, app classes and controls */
#ifndef PDP_EVIDENCE_CHECKLIST_H
#define PDP_EVIDENCE_CHECKLIST_H

#include <stddef.h>

#include "core/arena.h"
#include "evidence/checks.h"

/* The pillars of CISA ZTMM v2 and its cross-cutting capabilities. */
enum pillar {
	PILLAR_IDENTITY,
	PILLAR_DEVICES,
	PILLAR_NETWORKS,
	PILLAR_APPLICATIONS,
	PILLAR_DATA,
	PILLAR_VISIBILITY,
	PILLAR_AUTOMATION,
	PILLAR_GOVERNANCE,
	PILLAR_COUNT
};
/* "Identity" ... "Governance", NULL-ended. */
extern const char *const pillar_names[PILLAR_COUNT + 1];

struct checklist_source {
	const char *id, *title, *url;
};

struct control {
	const char *id, *title, *function, *rationale;
	const char *next;     /* what the stage after this one needs; NULL: not said */
	int pillar;           /* enum pillar */
	int stage;            /* enum stage: what the control evidences when met */
	const char **sources; /* source ids */
	size_t n_sources;
	struct check_params check;
};

struct checklist {
	struct arena mem; /* owns everything below */
	const char *name; /* the file, or "ztmm-checklist.yaml (built in)" */
	const char *id, *title;
	unsigned version;
	struct checklist_source *sources;
	size_t n_sources;
	struct app_class *classes;
	size_t n_classes;
	struct control *controls;
	size_t n_controls;
};

/*
 * Loads the checklist at path, or the built-in one when path is NULL. Every
 * key is checked (unknown keys, missing ones, duplicate ids, a source or app
 * class that is not defined, a check kind or parameter that does not exist):
 * NULL with "file:line:col: reason" in err. Free with checklist_free.
 */
struct checklist *checklist_load(const char *path, char *err, size_t errsz);

/* The same from a buffer; name is used in messages. */
struct checklist *checklist_load_buffer(const char *name, const char *buf, size_t len, char *err,
                                        size_t errsz);

void checklist_free(struct checklist *cl);

/* The built-in checklist (pdp/src/evidence/ztmm-checklist.yaml, embedded at build time). */
extern const unsigned char checklist_builtin[];
extern const size_t checklist_builtin_len;

#endif
