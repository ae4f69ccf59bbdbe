/* redis_link.c - connecting to Redis as the config says, and commands bounded by a deadline */
#include "context/redis_link.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/clock.h"
#include "core/file.h"
#include "core/netaddr.h"

/* A password file holds one line; more is a mistake. */
#define PASSWORD_MAX 1024

static int
read_password(const char *path, char **out, char *err, size_t errsz)
{
	size_t len;

	if (file_read_secret(path, PASSWORD_MAX, out, &len, err, errsz) != 0)
		return -1;
	if (len == 0 || strlen(*out) != len || strchr(*out, '\n') != NULL) {
		explicit_bzero(*out, len);
		free(*out);
		*out = NULL;
		snprintf(err, errsz, "%s: expected one line of at most %d bytes", path,
		         PASSWORD_MAX);
		return -1;
	}
	return 0;
}

/* --- the store's redis keys --------------------------------------------------------- */

static int
check_address(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	char why[160];

	if (netaddr_check_endpoint(((struct redis_config *)t)->address, why, sizeof(why)) != 0)
		return YDOC_ERR(p, v, "%s", why);
	return 0;
}

/* Redis counts master_last_io_seconds_ago in whole seconds. */
static int
h_replica_max_lag(struct ydoc_parse *p, yaml_node_t *v, void *t)
{
	uint64_t ms;

	if (ydoc_get_duration_ms(p->doc, v, &ms, p->err, p->errsz) != 0)
		return -1;
	if (ms % 1000 != 0 || ms < 1000 || ms > 3600000)
		return YDOC_ERR(p, v, "replica_max_lag must be whole seconds, between 1s and 1h");
	((struct redis_config *)t)->replica_max_lag_s = ms / 1000;
	return 0;
}

const struct ydoc_key redis_config_keys[] = {
    YDOC_KEY_STRING_CHECKED("address", struct redis_config, address, check_address),
    YDOC_KEY_STRING("username", struct redis_config, username),
    YDOC_KEY_STRING("password_file", struct redis_config, password_file),
    YDOC_KEY_UNSIGNED("database", struct redis_config, database, 0, 1000000),
    YDOC_KEY_STRING("prefix", struct redis_config, prefix),
    YDOC_KEY_MS64("heartbeat", struct redis_config, heartbeat_ms, 100, 10000),
    YDOC_KEY_MS64("heartbeat_timeout", struct redis_config, heartbeat_timeout_ms, 100, 10000),
    YDOC_KEY_CALL("replica_max_lag", h_replica_max_lag),
    YDOC_KEY_END,
};

void *
redis_config_new(void)
{
	struct redis_config *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->prefix = strdup("pdp:")) == NULL) {
		free(c);
		return NULL;
	}
	c->heartbeat_ms = 1000;
	c->heartbeat_timeout_ms = 2000;
	c->replica_max_lag_s = 3;
	return c;
}

int
redis_config_check(struct ydoc_parse *p, yaml_node_t *v, const void *cfg, bool chosen)
{
	const struct redis_config *c = cfg;

	if (!chosen && (c->address != NULL || c->username != NULL || c->password_file != NULL))
		return YDOC_ERR(p, v, "address, username and password_file are for a redis store");
	if (chosen && c->address == NULL)
		return YDOC_ERR(p, v, "a redis store needs \"address\"");
	return 0;
}

void
redis_config_free(void *cfg)
{
	struct redis_config *c = cfg;

	if (c == NULL)
		return;
	free(c->address);
	free(c->username);
	free(c->password_file);
	free(c->prefix);
	free(c);
}

/* --- connecting -------------------------------------------------------------------- */

int
redis_link_init(struct redis_link *l, const struct redis_config *cfg, char *err, size_t errsz)
{
	const char *a = cfg->address;

	memset(l, 0, sizeof(*l));
	l->address = a;
	l->database = cfg->database;
	if (a == NULL) {
		snprintf(err, errsz, "no redis address");
		return -1;
	}
	if (strncmp(a, "unix:", 5) == 0 && strlen(a + 5) < sizeof(l->path)) {
		strcpy(l->path, a + 5);
	} else if (strncmp(a, "tcp:", 4) == 0) {
		const char *host = a + 4, *colon = strrchr(host, ':');
		size_t hl = colon != NULL ? (size_t)(colon - host) : 0;

		if (hl >= 2 && host[0] == '[') {
			host++;
			hl -= 2;
		}
		if (colon == NULL || hl == 0 || hl >= sizeof(l->host)) {
			snprintf(err, errsz, "%s: expected tcp:host:port", a);
			return -1;
		}
		memcpy(l->host, host, hl);
		l->port = atoi(colon + 1);
	} else {
		snprintf(err, errsz, "%s: expected unix:/path or tcp:host:port", a);
		return -1;
	}
	if (cfg->username != NULL && (l->username = strdup(cfg->username)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	if (cfg->password_file != NULL &&
	    read_password(cfg->password_file, &l->password, err, errsz) != 0) {
		redis_link_fini(l);
		return -1;
	}
	return 0;
}

void
redis_link_fini(struct redis_link *l)
{
	free(l->username);
	if (l->password != NULL) {
		explicit_bzero(l->password, strlen(l->password));
		free(l->password);
	}
	l->username = l->password = NULL;
}

static struct timeval
left_of(int64_t deadline_ms)
{
	int64_t left = deadline_ms - clock_ms();

	if (left < 1)
		left = 1;
	return (struct timeval){.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
}

int
redis_link_exchange(redisContext *c, redisReply **replies, size_t n, int64_t deadline_ms, char *err,
                    size_t errsz)
{
	int done = 0;
	size_t got = 0;

	/* Sends are small and the socket's send timeout bounds them. */
	while (!done) {
		if (redisBufferWrite(c, &done) != REDIS_OK) {
			snprintf(err, errsz, "write: %s", c->errstr);
			goto fail;
		}
	}
	while (got < n) {
		void *reply = NULL;
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int64_t left;
		int rc;

		if (redisGetReplyFromReader(c, &reply) != REDIS_OK) {
			snprintf(err, errsz, "%s", c->errstr);
			goto fail;
		}
		if (reply != NULL) {
			replies[got++] = reply;
			continue;
		}
		left = deadline_ms - clock_ms();
		if (left <= 0) {
			snprintf(err, errsz, "timed out");
			goto fail;
		}
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0) {
			snprintf(err, errsz, "timed out");
			goto fail;
		}
		if (rc < 0) {
			snprintf(err, errsz, "poll: %s", strerror(errno));
			goto fail;
		}
		if (redisBufferRead(c) != REDIS_OK) {
			snprintf(err, errsz, "%s", c->errstr[0] ? c->errstr : "connection closed");
			goto fail;
		}
	}
	return 0;
fail:
	while (got > 0)
		freeReplyObject(replies[--got]);
	return -1;
}

/* Runs one command that must answer +OK. */
static int
command_ok(redisContext *c, int argc, const char **argv, int64_t deadline_ms, char *err,
           size_t errsz)
{
	redisReply *r = NULL;
	int rc = -1;

	if (redisAppendCommandArgv(c, argc, argv, NULL) != REDIS_OK) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	if (redis_link_exchange(c, &r, 1, deadline_ms, err, errsz) != 0)
		return -1;
	if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0)
		rc = 0;
	else
		snprintf(err, errsz, "%s: %.120s", argv[0],
		         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	freeReplyObject(r);
	return rc;
}

redisContext *
redis_link_open(const struct redis_link *l, int64_t deadline_ms, char *err, size_t errsz)
{
	struct timeval budget = left_of(deadline_ms);
	redisContext *c = l->path[0] != '\0' ? redisConnectUnixWithTimeout(l->path, budget)
	                                     : redisConnectWithTimeout(l->host, l->port, budget);
	char db[16];

	if (c == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if (c->err != 0) {
		snprintf(err, errsz, "connect %s: %s", l->address, c->errstr);
		goto fail;
	}
	/* Reads wait in poll against each deadline; this bounds a blocked send. */
	if (redisSetTimeout(c, budget) != REDIS_OK) {
		snprintf(err, errsz, "%s: cannot set a timeout", l->address);
		goto fail;
	}
	if (l->path[0] == '\0' && redisEnableKeepAlive(c) != REDIS_OK) {
		snprintf(err, errsz, "%s: cannot enable TCP keepalive", l->address);
		goto fail;
	}
	if (l->password != NULL) {
		const char *argv[3] = {"AUTH", l->username, l->password};

		if (l->username == NULL) {
			argv[1] = l->password;
			argv[2] = NULL;
		}
		if (command_ok(c, l->username != NULL ? 3 : 2, argv, deadline_ms, err, errsz) != 0)
			goto fail;
	}
	if (l->database != 0) {
		const char *argv[2] = {"SELECT", db};

		snprintf(db, sizeof(db), "%u", l->database);
		if (command_ok(c, 2, argv, deadline_ms, err, errsz) != 0)
			goto fail;
	}
	return c;
fail:
	redisFree(c);
	return NULL;
}

/* The value of field name in INFO text ("name:value\r\n"), copied to out; false when absent. */
static bool
info_field(const char *info, size_t len, const char *name, char *out, size_t outsz)
{
	size_t n = strlen(name);

	for (size_t at = 0; at < len;) {
		const char *line = info + at, *nl = memchr(line, '\n', len - at);
		size_t ll = nl != NULL ? (size_t)(nl - line) : len - at, vl;

		at += ll + 1;
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll <= n || memcmp(line, name, n) != 0 || line[n] != ':')
			continue;
		vl = ll - n - 1;
		if (vl >= outsz)
			vl = outsz - 1;
		memcpy(out, line + n + 1, vl);
		out[vl] = '\0';
		return true;
	}
	return false;
}

int
redis_link_info_ready(const char *info, size_t len, uint64_t max_lag_s, char *why, size_t whysz)
{
	char role[16], v[32];
	char *end;
	unsigned long long lag;

	if (info_field(info, len, "loading", v, sizeof(v)) && strcmp(v, "0") != 0) {
		snprintf(why, whysz, "loading its data");
		return 0;
	}
	if (!info_field(info, len, "role", role, sizeof(role))) {
		snprintf(why, whysz, "INFO: no role");
		return 0;
	}
	if (strcmp(role, "master") == 0)
		return 1;
	if (strcmp(role, "slave") != 0) {
		snprintf(why, whysz, "INFO: unknown role");
		return 0;
	}
	if (!info_field(info, len, "master_link_status", v, sizeof(v)) || strcmp(v, "up") != 0) {
		snprintf(why, whysz, "replica: the link to its primary is down");
		return 0;
	}
	if (!info_field(info, len, "master_sync_in_progress", v, sizeof(v)) ||
	    strcmp(v, "0") != 0) {
		snprintf(why, whysz, "replica: syncing with its primary");
		return 0;
	}
	if (!info_field(info, len, "master_last_io_seconds_ago", v, sizeof(v)) || v[0] < '0' ||
	    v[0] > '9' || (errno = 0, lag = strtoull(v, &end, 10), errno != 0 || *end != '\0')) {
		snprintf(why, whysz, "replica: INFO says nothing readable of its link");
		return 0;
	}
	if (lag > max_lag_s) {
		snprintf(
		    why, whysz,
		    "replica: nothing heard from its primary for %llu s (replica_max_lag %llu s)",
		    lag, (unsigned long long)max_lag_s);
		return 0;
	}
	return 1;
}
