/* admin_endpoints.h - the answers to /pdp/health and /pdp/metrics */
#ifndef PDP_ADMIN_ENDPOINTS_H
#define PDP_ADMIN_ENDPOINTS_H

#include "service/stats.h"
#include "transport/request.h"
#include "transport/response.h"

enum admin_endpoint { ADMIN_NONE, ADMIN_HEALTH, ADMIN_METRICS };

/*
 * Which endpoint the admin request r asks for (r->admin: "health" or
 * "metrics", which deploy/nginx routes here for local callers only).
 * ADMIN_NONE, to be answered 500, for an unknown endpoint (a miswired admin
 * location) and for one that also carries the auth params (a miswired auth
 * location), so that an admin answer can never pass for an allow.
 */
enum admin_endpoint admin_endpoint_of(const struct request *r);

/* Answers endpoint e (not ADMIN_NONE) from the snapshot st. */
void admin_endpoint_answer(enum admin_endpoint e, const struct pdp_stats *st, struct response *rs);

#endif
