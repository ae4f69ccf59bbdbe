/* admin_endpoints.h - the answers to /pdp/health and /pdp/metrics */
#ifndef PDP_ADMIN_ENDPOINTS_H
#define PDP_ADMIN_ENDPOINTS_H

#include "service/stats.h"
#include "transport/request.h"
#include "transport/response.h"

/*
 * Answers the admin request r (r->admin: "health" or "metrics", which
 * deploy/nginx routes here for local callers only) from the snapshot st.
 * One that also carries the auth params is a miswired auth location, and
 * an unknown endpoint a miswired admin one: both 500, so that an admin
 * answer can never pass for an allow.
 */
void admin_answer(struct pdp_stats *st, const struct request *r, struct response *rs);

#endif
