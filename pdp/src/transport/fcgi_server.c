/* fcgi_server.c - the FastCGI transport: a listening socket and the event loops that answer on it
 */
#include "transport/fcgi_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"

/* The kernel silently caps a listen backlog at net.core.somaxconn: say so. */
static void
warn_somaxconn(unsigned backlog)
{
	FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
	unsigned max = 0;

	if (f == NULL)
		return;
	if (fscanf(f, "%u", &max) == 1 && max < backlog)
		log_warn(
		    "listen backlog %u is capped at %u by net.core.somaxconn: raise that sysctl "
		    "for bursts of connections",
		    backlog, max);
	fclose(f);
}

int
fcgi_listen(const char *address, unsigned backlog, char *err, size_t errsz)
{
	int fd = -1, one = 1;

	if (strncmp(address, "unix:", 5) == 0) {
		struct sockaddr_un sun;
		const char *path = address + 5;
		mode_t old;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(path) >= sizeof(sun.sun_path)) {
			snprintf(err, errsz, "%s: path too long", address);
			goto fail;
		}
		strcpy(sun.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(err, errsz, "socket: %s", strerror(errno));
			goto fail;
		}
		if (unlink(path) != 0 && errno != ENOENT) {
			snprintf(err, errsz, "%s: cannot replace: %s", path, strerror(errno));
			goto fail;
		}
		old = umask(0117);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
			umask(old);
			snprintf(err, errsz, "bind %s: %s", path, strerror(errno));
			goto fail;
		}
		umask(old);
	} else if (strncmp(address, "tcp:", 4) == 0) {
		struct sockaddr_storage ss;
		socklen_t sl;
		const char *host = address + 4, *colon = strrchr(host, ':');
		char buf[64];
		size_t hl = colon != NULL ? (size_t)(colon - host) : 0;
		int port = colon != NULL ? atoi(colon + 1) : 0;

		memset(&ss, 0, sizeof(ss));
		if (hl >= 2 && host[0] == '[' && hl - 2 < sizeof(buf)) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			memcpy(buf, host + 1, hl - 2);
			buf[hl - 2] = '\0';
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			if (inet_pton(AF_INET6, buf, &s6->sin6_addr) != 1)
				goto bad;
			sl = sizeof(*s6);
		} else if (hl > 0 && hl < sizeof(buf)) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			memcpy(buf, host, hl);
			buf[hl] = '\0';
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)port);
			if (inet_pton(AF_INET, buf, &s4->sin_addr) != 1)
				goto bad;
			sl = sizeof(*s4);
		} else {
			goto bad;
		}
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(err, errsz, "socket: %s", strerror(errno));
			goto fail;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
			snprintf(err, errsz, "bind %s: %s", address, strerror(errno));
			goto fail;
		}
	} else {
		goto bad;
	}
	if (listen(fd, (int)backlog) != 0) {
		snprintf(err, errsz, "listen %s: %s", address, strerror(errno));
		goto fail;
	}
	warn_somaxconn(backlog);
	return fd;
bad:
	snprintf(err, errsz, "%s: expected unix:/path or tcp:host:port", address);
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

struct fcgi_server {
	struct fcgi_loops *loops;
};

struct fcgi_server *
fcgi_start(int listen_fd, unsigned threads, const struct fcgi_limits *lim, fcgi_handler *handler,
           void *ctx)
{
	struct fcgi_listener l = {.fd = listen_fd, .front = FRONT_FASTCGI};

	return fcgi_start_fronts(&l, 1, threads, lim, handler, NULL, ctx);
}

struct fcgi_server *
fcgi_start_fronts(const struct fcgi_listener *ls, size_t n, unsigned threads,
                  const struct fcgi_limits *lim, fcgi_handler *handler, fcgi_accept_hook *accepted,
                  void *ctx)
{
	struct fcgi_server *s = calloc(1, sizeof(*s));
	sigset_t block, old;

	if (s == NULL)
		return NULL;
	/* The threads never take the process's signals: they all go to the caller's handlers. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	s->loops = fcgi_loops_start(ls, n, threads, lim, handler, accepted, ctx);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (s->loops == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void
fcgi_stop(struct fcgi_server *s, int listen_fd)
{
	(void)listen_fd;
	log_info("stopping: finishing requests in flight");
	fcgi_loops_stop(s->loops);
	free(s);
}
