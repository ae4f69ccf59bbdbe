/* admin.c - `pdp admin`: operators and feeds write context records and publish their events */
#include "cli/admin.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "context/record.h"
#include "context/redis_link.h"
#include "context/store.h"
#include "core/clock.h"
#include "core/yaml_doc.h"
#include "service/config.h"

/* An admin command waits this long for Redis at least, whatever the request timeout. */
#define ADMIN_TIMEOUT_MS 3000
/* A revoked jti outlives its token's exp by this much, covering any issuer's leeway. */
#define JTI_MARGIN_S 300
/* Longest id (device, user, jti) taken. */
#define ID_MAX 1024
/* Most fields one `device set` takes. */
#define MAX_FIELDS 16

static void
admin_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: pdp admin [-c CONFIG] [--address ADDR] [--prefix P] [--ignore-generation]\n"
	    "                 COMMAND ...\n"
	    "\n"
	    "  device set ID FIELD=VALUE...  write a device record (compliant=0|1, managed=0|1,\n"
	    "                                trust=none|registered|joined|hybrid,\n"
	    "                                platform=android|ios|windows|macos|linux,\n"
	    "                                os_version=TEXT); updated is set to now\n"
	    "  device clear ID               delete a device record\n"
	    "  device show ID                print a device record\n"
	    "  user risk USER LEVEL          set a user's risk: none|low|medium|high\n"
	    "  user disable USER             deny the user everywhere\n"
	    "  user enable USER              undo disable\n"
	    "  user revoke USER              revoke the user's sessions: every token issued\n"
	    "                                until now is refused (revoked_before = now + 1 s)\n"
	    "  user clear USER               delete a user record\n"
	    "  user show USER                print a user record\n"
	    "  jti revoke JTI (--exp UNIX | --ttl DURATION)\n"
	    "                                revoke one token until it expires\n"
	    "  flush                         make every PDP drop its cached records\n"
	    "  init                          mark the store as holding the full state: writes\n"
	    "                                the generation marker PREFIXgeneration (refused\n"
	    "                                if it is there); PDPs read records only while it is\n"
	    "  generation show               print the generation marker\n"
	    "  generation new                replace it with a fresh one (a restored store):\n"
	    "                                every PDP drops its cached records\n"
	    "\n"
	    "Each write publishes its event on PREFIXevents, so PDPs apply it at once.\n"
	    "Record writes are refused while the store has no generation marker (it lost its\n"
	    "data, or was never initialised); --ignore-generation writes anyway, to fill a\n"
	    "store again before `init`.\n"
	    "ADDR: unix:/path or tcp:host:port (default: the config's store address).\n");
}

/* What a write needs of the generation marker first. */
enum gen_need { GEN_PRESENT, GEN_ABSENT, GEN_ANY };

struct admin {
	struct redis_link link;
	redisContext *c;
	const char *prefix;
	char channel[256];
	char gen_key[300];
	enum gen_need need; /* of the next write */
};

static int __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pdp admin: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Runs the appended commands; prints and returns -1 on any error reply. */
static int
run(struct admin *a, redisReply **replies, size_t n)
{
	char err[256];

	if (redis_link_exchange(a->c, replies, n, clock_ms() + ADMIN_TIMEOUT_MS, err,
	                        sizeof(err)) != 0) {
		fail("%s: %s", a->link.address, err);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (replies[i]->type == REDIS_REPLY_ERROR) {
			fail("%s: %s", a->link.address, replies[i]->str);
			for (size_t j = 0; j < n; j++)
				freeReplyObject(replies[j]);
			return -1;
		}
	}
	return 0;
}

static void
key_of(char *buf, size_t bufsz, const struct admin *a, const char *kind, const char *id)
{
	snprintf(buf, bufsz, "%s%s:%s", a->prefix, kind, id);
}

/*
 * Watches the generation marker and checks it is as a->need says, so that
 * the transaction after runs only if it stays so. 0, or 1 printed.
 */
static int
watch_generation(struct admin *a)
{
	const char *watch[2] = {"WATCH", a->gen_key}, *get[2] = {"GET", a->gen_key};
	const char *unwatch[1] = {"UNWATCH"};
	redisReply *r[2] = {NULL, NULL};
	bool present;

	if (a->need == GEN_ANY)
		return 0;
	redisAppendCommandArgv(a->c, 2, watch, NULL);
	redisAppendCommandArgv(a->c, 2, get, NULL);
	if (run(a, r, 2) != 0)
		return 1;
	present = r[1]->type == REDIS_REPLY_STRING;
	freeReplyObject(r[0]);
	freeReplyObject(r[1]);
	if (present == (a->need == GEN_PRESENT))
		return 0;
	redisAppendCommandArgv(a->c, 1, unwatch, NULL);
	if (run(a, r, 1) == 0)
		freeReplyObject(r[0]);
	if (present)
		return fail("%s: the store is initialised already (%s is there); "
		            "`pdp admin generation new` replaces it",
		            a->link.address, a->gen_key);
	return fail("%s: no generation marker %s: the store lost its data or was never "
	            "initialised. Nothing written. Write every record again, then "
	            "`pdp admin init` (or give --ignore-generation to write meanwhile)",
	            a->link.address, a->gen_key);
}

/* Most writes one transaction holds (besides MULTI, PUBLISH and EXEC). */
#define WRITES_MAX 2

/*
 * Runs the writes (nw commands: argc[i]/argv[i]; none when nw is 0) and
 * publishes its event in one transaction, so a PDP never hears the event
 * before the write is visible; prints what was done and how many
 * subscribers heard it. The generation marker is checked first (a->need),
 * and the transaction runs only if it did not change meanwhile.
 */
static int
writes_and_publish(struct admin *a, size_t nw, const int *argc, const char *const *argv[],
                   const char *event, const char *done)
{
	redisReply *r[WRITES_MAX + 3] = {NULL};
	const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
	const char *pub[3] = {"PUBLISH", a->channel, event};
	size_t n = nw + 3;
	const redisReply *x;
	long long heard = -1;

	if (nw > WRITES_MAX)
		return fail("internal: %zu writes in one transaction", nw);
	if (watch_generation(a) != 0)
		return 1;
	redisAppendCommandArgv(a->c, 1, multi, NULL);
	for (size_t i = 0; i < nw; i++)
		redisAppendCommandArgv(a->c, argc[i], (const char **)argv[i], NULL);
	redisAppendCommandArgv(a->c, 3, pub, NULL);
	redisAppendCommandArgv(a->c, 1, exec, NULL);
	if (run(a, r, n) != 0)
		return 1;
	x = r[n - 1];
	if (x->type == REDIS_REPLY_NIL) {
		for (size_t i = 0; i < n; i++)
			freeReplyObject(r[i]);
		return fail("%s: the generation marker %s changed meanwhile: nothing written",
		            a->link.address, a->gen_key);
	}
	if (x->type == REDIS_REPLY_ARRAY && x->elements == n - 2 &&
	    x->element[n - 3]->type == REDIS_REPLY_INTEGER)
		heard = x->element[n - 3]->integer;
	for (size_t i = 0; i < n; i++)
		freeReplyObject(r[i]);
	if (heard < 0)
		return fail("%s: the transaction did not run", a->link.address);
	printf("%s; event \"%s\" heard by %lld subscriber%s\n", done, event, heard,
	       heard == 1 ? "" : "s");
	return 0;
}

/* One write (argc/argv; none when argc is 0) and its event: writes_and_publish. */
static int
write_and_publish(struct admin *a, int argc, const char **argv, const char *event, const char *done)
{
	const char *const *argvs[1] = {argv};

	return writes_and_publish(a, argc > 0 ? 1 : 0, &argc, argvs, event, done);
}

/* The write for one record, with its event "KIND ID". */
static int
apply(struct admin *a, int argc, const char **argv, const char *kind, const char *id,
      const char *done)
{
	char event[ID_MAX + 16], what[ID_MAX + 128];

	snprintf(event, sizeof(event), "%s %s", kind, id);
	snprintf(what, sizeof(what), "%s %s: %s", kind, id, done);
	return write_and_publish(a, argc, argv, event, what);
}

static int
show(struct admin *a, const char *kind, const char *id)
{
	char key[ID_MAX + 256];
	const char *argv[2] = {"HGETALL", key};
	redisReply *r = NULL;

	key_of(key, sizeof(key), a, kind, id);
	redisAppendCommandArgv(a->c, 2, argv, NULL);
	if (run(a, &r, 1) != 0)
		return 1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
		freeReplyObject(r);
		return fail("%s: %s", key, "no record");
	}
	printf("%s\n", key);
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		printf("  %s: %s\n", r->element[i]->str, r->element[i + 1]->str);
	freeReplyObject(r);
	return 0;
}

static const char *
copy_nothing(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	(void)n;
	return s;
}

static int
cmd_device(struct admin *a, int argc, char **argv)
{
	char key[ID_MAX + 256], now[32];
	const char *args[2 + 2 * MAX_FIELDS + 2];
	int n = 0;

	if (argc < 2)
		return fail("device: expected set, clear or show, and an id");
	key_of(key, sizeof(key), a, "device", argv[1]);
	if (strcmp(argv[0], "show") == 0 && argc == 2)
		return show(a, "device", argv[1]);
	if (strcmp(argv[0], "clear") == 0 && argc == 2) {
		args[0] = "DEL";
		args[1] = key;
		return apply(a, 2, args, "device", argv[1], "cleared");
	}
	if (strcmp(argv[0], "set") != 0 || argc < 3 || argc - 2 > MAX_FIELDS)
		return fail("device: expected set ID FIELD=VALUE..., clear ID or show ID");
	args[n++] = "HSET";
	args[n++] = key;
	for (int i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		struct device_record d;
		const char *why = "";

		if (eq == NULL)
			return fail("device set: \"%s\": expected FIELD=VALUE", argv[i]);
		*eq = '\0';
		record_device_init(&d);
		/* id and updated are the PDP's to write. */
		if (strcmp(argv[i], "id") == 0 || strcmp(argv[i], "updated") == 0)
			return fail("device set: %s is set by pdp admin itself", argv[i]);
		switch (record_device_set(&d, argv[i], eq + 1, strlen(eq + 1), copy_nothing, NULL,
		                          &why)) {
		case RECORD_SET_OK:
			break;
		case RECORD_SET_UNKNOWN:
			return fail("device set: unknown field \"%s\"", argv[i]);
		case RECORD_SET_BAD:
			return fail("device set: %s", why);
		}
		args[n++] = argv[i];
		args[n++] = eq + 1;
	}
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	args[n++] = "updated";
	args[n++] = now;
	return apply(a, n, args, "device", argv[1], "set");
}

static int
cmd_user(struct admin *a, int argc, char **argv)
{
	char key[ID_MAX + 256], now[32], done[64];
	const char *args[4];
	struct user_record u = {0};
	const char *why = "";

	if (argc < 2)
		return fail("user: expected risk, disable, enable, revoke, clear or show");
	key_of(key, sizeof(key), a, "user", argv[1]);
	args[0] = "HSET";
	args[1] = key;
	if (strcmp(argv[0], "show") == 0 && argc == 2)
		return show(a, "user", argv[1]);
	if (strcmp(argv[0], "clear") == 0 && argc == 2) {
		args[0] = "DEL";
		return apply(a, 2, args, "user", argv[1], "cleared");
	}
	if (strcmp(argv[0], "risk") == 0 && argc == 3) {
		if (record_user_set(&u, "risk", argv[2], strlen(argv[2]), &why) != RECORD_SET_OK)
			return fail("user risk: %s", why);
		args[2] = "risk";
		args[3] = argv[2];
	} else if ((strcmp(argv[0], "disable") == 0 || strcmp(argv[0], "enable") == 0) &&
	           argc == 2) {
		args[2] = "disabled";
		args[3] = argv[0][0] == 'd' ? "1" : "0";
	} else if (strcmp(argv[0], "revoke") == 0 && argc == 2) {
		/* iat counts whole seconds: a token issued earlier in this second is revoked too.
		 */
		snprintf(now, sizeof(now), "%lld", (long long)time(NULL) + 1);
		args[2] = "revoked_before";
		args[3] = now;
	} else {
		return fail("user: unknown command \"%s\" (or wrong arguments)", argv[0]);
	}
	snprintf(done, sizeof(done), "%s=%s", args[2], args[3]);
	return apply(a, 4, args, "user", argv[1], done);
}

static int
cmd_jti(struct admin *a, int argc, char **argv)
{
	char key[ID_MAX + 256], ttl[32], event[ID_MAX + 16], what[ID_MAX + 128];
	/* Never shortens a revocation: created if absent, else its expiry only extended
	 * (EXPIRE GT keeps one without expiry as it is). */
	const char *set[6] = {"SET", key, "1", "NX", "EX", ttl};
	const char *extend[4] = {"EXPIRE", key, ttl, "GT"};
	const char *const *writes[2] = {set, extend};
	const int argcs[2] = {6, 4};
	long long seconds = -1, now = (long long)time(NULL);

	if (argc != 4 || strcmp(argv[0], "revoke") != 0)
		return fail("jti: expected revoke JTI (--exp UNIX | --ttl DURATION)");
	if (strcmp(argv[2], "--exp") == 0) {
		char *end;
		long long exp = strtoll(argv[3], &end, 10);

		if (*end != '\0' || argv[3][0] == '\0')
			return fail("jti revoke: --exp \"%s\": expected unix seconds", argv[3]);
		seconds = exp - now + JTI_MARGIN_S;
		if (seconds <= 0)
			return fail("jti revoke: the token expired at %s, long enough ago",
			            argv[3]);
	} else if (strcmp(argv[2], "--ttl") == 0) {
		uint64_t ms;

		if (ydoc_parse_duration_ms(argv[3], &ms) != 0 || ms < 1000)
			return fail("jti revoke: --ttl \"%s\": expected a duration of 1s or more",
			            argv[3]);
		seconds = (long long)(ms / 1000);
	} else {
		return fail("jti revoke: expected --exp or --ttl, not \"%s\"", argv[2]);
	}
	key_of(key, sizeof(key), a, "jti", argv[1]);
	snprintf(ttl, sizeof(ttl), "%lld", seconds);
	snprintf(event, sizeof(event), "jti %s", argv[1]);
	snprintf(what, sizeof(what), "jti %s: revoked (a longer revocation is kept)", argv[1]);
	return writes_and_publish(a, 2, argcs, writes, event, what);
}

/* `init` and `generation show|new`: the marker that says the store holds the full state. */
static int
cmd_generation(struct admin *a, bool init, int argc, char **argv)
{
	unsigned char raw[16];
	char value[2 * sizeof(raw) + 1], done[400];
	const char *args[3] = {"SET", a->gen_key, value};

	if (!init && argc == 1 && strcmp(argv[0], "show") == 0) {
		const char *get[2] = {"GET", a->gen_key};
		redisReply *r = NULL;
		int rc = 0;

		redisAppendCommandArgv(a->c, 2, get, NULL);
		if (run(a, &r, 1) != 0)
			return 1;
		if (r->type == REDIS_REPLY_STRING)
			printf("%s %s\n", a->gen_key, r->str);
		else
			rc = fail("%s: no generation marker %s: the store is not ready",
			          a->link.address, a->gen_key);
		freeReplyObject(r);
		return rc;
	}
	if (!(init ? argc == 0 : argc == 1 && strcmp(argv[0], "new") == 0))
		return fail(init ? "init takes no arguments" : "generation: expected show or new");
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return fail("getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(value + 2 * i, 3, "%02x", raw[i]);
	a->need = init ? GEN_ABSENT : GEN_ANY;
	snprintf(done, sizeof(done), "%s %s", a->gen_key, value);
	/* A new store (or a replaced one): whatever a PDP cached is of another. */
	return write_and_publish(a, 3, args, "flush", done);
}

int
admin_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"address", required_argument, NULL, 'a'},
	    {"prefix", required_argument, NULL, 'p'},
	    {"ignore-generation", no_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct redis_config store = {.prefix = "pdp:"};
	struct config *cfg = NULL;
	struct admin a = {0};
	const char *path = NULL, *address = NULL, *prefix = NULL;
	char err[1024];
	int c, rc = 2;
	bool ignore_generation = false;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'a':
			address = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'g':
			ignore_generation = true;
			break;
		case 'h':
			admin_usage(stdout);
			return 0;
		default:
			admin_usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		fprintf(stderr, "pdp admin: needs a command: device, user, jti, flush, init or "
		                "generation\n");
		admin_usage(stderr);
		return 2;
	}
	if (path != NULL) {
		if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
			fprintf(stderr, "pdp admin: %s\n", err);
			return 1;
		}
		const char *type = store_config_name(&cfg->store);

		if (strcmp(type, "redis") == 0)
			store = *(const struct redis_config *)cfg->store.backend_cfg;
		else if (address == NULL) {
			fprintf(stderr, "pdp admin: %s: the store is not redis%s\n", path,
			        strcmp(type, "file") == 0 ? "; edit its file instead" : "");
			goto out;
		}
	}
	if (address != NULL)
		store.address = (char *)address;
	if (prefix != NULL)
		store.prefix = (char *)prefix;
	if (store.address == NULL) {
		fprintf(stderr, "pdp admin: give -c CONFIG or --address ADDR\n");
		goto out;
	}
	a.prefix = store.prefix;
	snprintf(a.channel, sizeof(a.channel), "%sevents", a.prefix);
	snprintf(a.gen_key, sizeof(a.gen_key), "%sgeneration", a.prefix);
	a.need = ignore_generation ? GEN_ANY : GEN_PRESENT;
	rc = 1;
	if (redis_link_init(&a.link, &store, err, sizeof(err)) != 0) {
		fprintf(stderr, "pdp admin: %s\n", err);
		goto out;
	}
	a.c = redis_link_open(&a.link, clock_ms() + ADMIN_TIMEOUT_MS, err, sizeof(err));
	if (a.c == NULL) {
		fprintf(stderr, "pdp admin: %s\n", err);
		goto out;
	}
	for (int i = 1; i < argc; i++) {
		if (strlen(argv[i]) > ID_MAX) {
			rc = fail("an argument longer than %d bytes", ID_MAX);
			goto out;
		}
	}
	if (strcmp(argv[0], "device") == 0)
		rc = cmd_device(&a, argc - 1, argv + 1);
	else if (strcmp(argv[0], "user") == 0)
		rc = cmd_user(&a, argc - 1, argv + 1);
	else if (strcmp(argv[0], "jti") == 0)
		rc = cmd_jti(&a, argc - 1, argv + 1);
	else if (strcmp(argv[0], "flush") == 0 && argc == 1) {
		a.need = GEN_ANY; /* an event only: nothing written */
		rc = write_and_publish(&a, 0, NULL, "flush", "flush");
	} else if (strcmp(argv[0], "init") == 0)
		rc = cmd_generation(&a, true, argc - 1, argv + 1);
	else if (strcmp(argv[0], "generation") == 0)
		rc = cmd_generation(&a, false, argc - 1, argv + 1);
	else
		rc = fail("unknown command \"%s\"", argv[0]);
out:
	redisFree(a.c);
	redis_link_fini(&a.link);
	config_free(cfg);
	return rc;
}
