/* explain.c - why a request got its decision: every policy, its verdict, the controls */
#include "policy/explain.h"

#include <jansson.h>
#include <string.h>

const char *
explain_control(const struct policy_set *set, const struct pol_control *c, char *buf, size_t bufsz)
{
	switch (c->type) {
	case CONTROL_STRENGTH:
		snprintf(buf, bufsz, "strength %s", set->strengths[c->strength].id);
		break;
	case CONTROL_COMPLIANT_DEVICE:
		snprintf(buf, bufsz, "compliant_device");
		break;
	case CONTROL_HYBRID_JOINED_DEVICE:
		snprintf(buf, bufsz, "hybrid_joined_device");
		break;
	case CONTROL_APPROVED_CLIENTS: {
		size_t o = (size_t)snprintf(buf, bufsz, "approved_clients [");

		for (size_t i = 0; i < c->clients.n && o < bufsz; i++)
			o += (size_t)snprintf(buf + o, bufsz - o, "%s%s", i ? ", " : "",
			                      set->clients.names[c->clients.ids[i]]);
		if (o < bufsz)
			snprintf(buf + o, bufsz - o, "]");
		break;
	}
	case CONTROL_PASSWORD_CHANGE:
		snprintf(buf, bufsz, "password_change");
		break;
	}
	return buf;
}

static void
print_list(FILE *f, const struct strlist *l)
{
	fputc('[', f);
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%s%s", i ? ", " : "", l->items[i]);
	fputc(']', f);
}

static const char *
app_name(const struct policy_set *set, uint32_t app)
{
	return app == POLICY_NO_ID ? "(none)" : set->apps[app].id;
}

void
explain_text(FILE *f, const struct policy_set *set, const struct eval_input *in,
             const struct eval_result *res, const char *indent)
{
	const struct subject *s = in->subject;
	uint32_t app = eval_map_app(set, in);

	fprintf(f, "%srequest: %s %s%s from %s, country %s, %s client\n", indent,
	        in->method ? in->method : "?", in->host ? in->host : "?", in->uri ? in->uri : "?",
	        in->ip ? in->ip : "(no address)", in->country ? in->country : "unknown",
	        in->client == CLIENT_BROWSER ? "browser" : "api");
	fprintf(f, "%ssubject: %s groups ", indent, s->user);
	print_list(f, &s->groups);
	fprintf(f, " roles ");
	print_list(f, &s->roles);
	fprintf(f, " amr ");
	print_list(f, &s->amr);
	if (s->acr != NULL)
		fprintf(f, " acr %s", s->acr);
	if (s->auth_time > 0)
		fprintf(f, ", signed in %llds ago", (long long)(in->now - s->auth_time));
	fputc('\n', f);
	if (in->device != NULL)
		fprintf(f, "%sdevice: %s compliant=%s trust=%s platform=%s\n", indent,
		        in->device->id ? in->device->id : "?", in->device->compliant ? "yes" : "no",
		        device_trust_names[in->device->trust],
		        in->device->platform >= 0 ? platform_names[in->device->platform]
		                                  : "unknown");
	else
		fprintf(f, "%sdevice: unknown (never compliant)\n", indent);
	fprintf(f, "%suser risk: %s\n", indent,
	        in->user != NULL ? risk_level_names[in->user->risk] : "none (no record)");
	fprintf(f, "%sapp: %s\n", indent, app_name(set, app));
	fprintf(f, "%spolicies (revision %s):\n", indent, set->revision);
	for (size_t p = 0; p < set->n_policies; p++) {
		const struct pol_policy *pol = &set->policies[p];
		struct eval_policy ep;
		char buf[256];

		eval_one(set, in, app, (uint32_t)p, &ep);
		fprintf(f, "%s  %-28s %-11s ", indent, pol->id, policy_state_names[pol->state]);
		if (ep.why != EVAL_APPLIES) {
			fprintf(f, "not applied: %s\n", eval_why_text(ep.why));
			continue;
		}
		if (pol->block) {
			fprintf(f, "APPLIES: grant block\n");
			continue;
		}
		fprintf(f, "APPLIES: %s", ep.satisfied ? "satisfied" : "NOT satisfied");
		if (pol->n_controls > 0)
			fprintf(f,
			        "; require %s:", pol->require == GRANT_REQUIRE_ONE ? "one" : "all");
		for (size_t i = 0; i < pol->n_controls; i++)
			fprintf(f, " %s %s%s",
			        explain_control(set, &pol->controls[i], buf, sizeof(buf)),
			        (ep.unmet & (1u << i)) ? "(unmet)" : "(met)",
			        i + 1 < pol->n_controls ? "," : "");
		if (pol->sign_in_frequency_s != POLICY_NO_FREQUENCY)
			fprintf(f, "; sign-in frequency %llds %s",
			        (long long)(pol->sign_in_frequency_s ? pol->sign_in_frequency_s
			                                             : POLICY_EVERY_TIME_S),
			        ep.frequency_unmet ? "(unmet)" : "(met)");
		fputc('\n', f);
	}
	fprintf(f, "%sdecision: %s", indent, decision_name(res->decision));
	if (res->by_default)
		fprintf(f, " (no enforced policy applies: default_decision)");
	if (res->deciding != NULL)
		fprintf(f, " (%s: %s)", res->deciding, res->reason);
	if (res->decision == DECISION_STEP_UP) {
		for (size_t i = 0; i < res->n_step_up_strengths; i++)
			fprintf(f, "%s%s", i ? ", " : " asking for strength ",
			        set->strengths[res->step_up_strengths[i]].id);
		if (res->max_age >= 0)
			fprintf(f, " max_age=%lld", (long long)res->max_age);
	}
	fputc('\n', f);
}

static json_t *
strlist_json(const struct strlist *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->items[i]));
	return a;
}

void
explain_json(FILE *f, const struct policy_set *set, const struct eval_input *in,
             const struct eval_result *res)
{
	uint32_t app = eval_map_app(set, in);
	json_t *root = json_object(), *pols = json_array(), *subject = json_object();
	char *text;

	json_object_set_new(subject, "user", json_string(in->subject->user));
	json_object_set_new(subject, "groups", strlist_json(&in->subject->groups));
	json_object_set_new(subject, "roles", strlist_json(&in->subject->roles));
	json_object_set_new(subject, "amr", strlist_json(&in->subject->amr));
	json_object_set_new(root, "revision", json_string(set->revision));
	json_object_set_new(root, "subject", subject);
	json_object_set_new(root, "app",
	                    app == POLICY_NO_ID ? json_null() : json_string(set->apps[app].id));
	for (size_t p = 0; p < set->n_policies; p++) {
		const struct pol_policy *pol = &set->policies[p];
		struct eval_policy ep;
		json_t *o = json_object(), *controls = json_array();
		char buf[256];

		eval_one(set, in, app, (uint32_t)p, &ep);
		json_object_set_new(o, "id", json_string(pol->id));
		json_object_set_new(o, "state", json_string(policy_state_names[pol->state]));
		json_object_set_new(o, "applies", json_boolean(ep.why == EVAL_APPLIES));
		if (ep.why != EVAL_APPLIES) {
			json_object_set_new(o, "not_applied", json_string(eval_why_text(ep.why)));
		} else if (pol->block) {
			json_object_set_new(o, "grant", json_string("block"));
		} else {
			json_object_set_new(o, "satisfied", json_boolean(ep.satisfied));
			json_object_set_new(
			    o, "require",
			    json_string(pol->require == GRANT_REQUIRE_ONE ? "one" : "all"));
			for (size_t i = 0; i < pol->n_controls; i++) {
				json_t *c = json_object();

				json_object_set_new(c, "control",
				                    json_string(explain_control(
				                        set, &pol->controls[i], buf, sizeof(buf))));
				json_object_set_new(c, "met",
				                    json_boolean(!(ep.unmet & (1u << i))));
				json_array_append_new(controls, c);
			}
			json_object_set_new(o, "controls", controls);
			controls = NULL;
			if (pol->sign_in_frequency_s != POLICY_NO_FREQUENCY)
				json_object_set_new(o, "sign_in_frequency_met",
				                    json_boolean(!ep.frequency_unmet));
		}
		json_decref(controls);
		json_array_append_new(pols, o);
	}
	json_object_set_new(root, "policies", pols);
	json_object_set_new(root, "decision", json_string(decision_name(res->decision)));
	json_object_set_new(root, "default", json_boolean(res->by_default));
	if (res->deciding != NULL) {
		json_object_set_new(root, "deciding_policy", json_string(res->deciding));
		json_object_set_new(root, "reason", json_string(res->reason));
	}
	if (res->max_age >= 0)
		json_object_set_new(root, "max_age", json_integer(res->max_age));
	text = json_dumps(root, JSON_COMPACT);
	if (text != NULL) {
		fprintf(f, "%s\n", text);
		free(text);
	}
	json_decref(root);
}
