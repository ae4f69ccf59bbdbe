/* fcgi_server.c - FastCGI transports: a listening socket and the threads that answer on it */
#include "fcgi_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcgiapp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fcgi_loop.h"
#include "log.h"

struct worker {
	pthread_t thread;
	fcgi_handler *handler;
	void *ctx;
	unsigned index;
	time_t last_accept_error;
	int listen_fd;
	atomic_bool *stop;
};

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
	return fd;
bad:
	snprintf(err, errsz, "%s: expected unix:/path or tcp:host:port", address);
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

void
fcgi_finish(FCGX_Request *req)
{
	int unread = -1;

	if (ioctl(req->ipcFd, FIONREAD, &unread) == 0 && unread == 0)
		FCGX_Detach(req);
	FCGX_Finish_r(req);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	FCGX_Request req;
	struct response *rs;

	rs = malloc(sizeof(*rs));
	if (rs == NULL || FCGX_InitRequest(&req, w->listen_fd, 0) != 0) {
		log_error("worker: out of memory");
		free(rs);
		return NULL;
	}
	while (!atomic_load(w->stop)) {
		int rc = FCGX_Accept_r(&req);

		if (rc < 0) {
			/* The listening socket was shut down to stop us, or accept failed
			 * (out of descriptors, say): back off instead of spinning, and say
			 * why at most once a second. */
			if (atomic_load(w->stop))
				break;
			if (time(NULL) != w->last_accept_error) {
				w->last_accept_error = time(NULL);
				log_warn("accept failed: %s", strerror(-rc));
			}
			usleep(10000);
			continue;
		}
		w->handler(w->ctx, w->index, (const char *const *)req.envp, rs);
		FCGX_PutStr(rs->buf, (int)rs->len, req.out);
		fcgi_finish(&req);
	}
	FCGX_Free(&req, 1);
	free(rs);
	return NULL;
}

struct fcgi_server {
	struct fcgi_loops *loops; /* epoll; else libfcgi's workers: */
	struct worker *workers;
	unsigned started;
	atomic_bool stop;
};

static void workers_start(struct fcgi_server *s, int listen_fd, unsigned threads,
                          fcgi_handler *handler, void *ctx);

struct fcgi_server *
fcgi_start(enum transport t, int listen_fd, unsigned threads, fcgi_handler *handler, void *ctx)
{
	struct fcgi_server *s = calloc(1, sizeof(*s));
	sigset_t block, old;

	if (s == NULL)
		return NULL;
	atomic_init(&s->stop, false);
	/* The threads never take the process's signals: they all go to the caller's handlers. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (t == TRANSPORT_EPOLL)
		s->loops = fcgi_loops_start(listen_fd, threads, handler, ctx);
	else
		workers_start(s, listen_fd, threads, handler, ctx);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (s->loops == NULL && s->started == 0) {
		free(s->workers);
		free(s);
		return NULL;
	}
	if (s->loops == NULL)
		log_info("serving with %u libfcgi threads", s->started);
	return s;
}

static void
workers_start(struct fcgi_server *s, int listen_fd, unsigned threads, fcgi_handler *handler,
              void *ctx)
{
	if ((s->workers = calloc(threads, sizeof(*s->workers))) == NULL)
		return;
	for (; s->started < threads; s->started++) {
		struct worker *w = &s->workers[s->started];

		w->handler = handler;
		w->ctx = ctx;
		w->index = s->started;
		w->listen_fd = listen_fd;
		w->stop = &s->stop;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			break;
	}
}

void
fcgi_stop(struct fcgi_server *s, int listen_fd)
{
	struct timespec deadline;

	log_info("stopping: finishing requests in flight");
	if (s->loops != NULL) {
		fcgi_loops_stop(s->loops);
		free(s);
		return;
	}
	atomic_store(&s->stop, true);
	/* Wakes every worker blocked in accept(); new connections are refused from here on. */
	shutdown(listen_fd, SHUT_RDWR);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += 900 * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (unsigned i = 0; i < s->started; i++) {
		if (pthread_timedjoin_np(s->workers[i].thread, NULL, &deadline) != 0) {
			/* The process exits next; its stuck thread goes with it. */
			log_warn("a worker did not finish its request in time; exiting anyway");
			return;
		}
	}
	free(s->workers);
	free(s);
}
