/* log.h - leveled logging to stderr */
#ifndef PDP_LOG_H
#define PDP_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern enum log_level log_threshold;

/* Parses "error", "warn", "info" or "debug"; returns -1 on anything else. */
int log_level_parse(const char *name, enum log_level *out);
void log_set_level(enum log_level level);

void log_emit(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The level check is a load and a compare, so disabled levels cost nothing. */
#define log_error(...) log_emit(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)                                                                              \
	do {                                                                                       \
		if (log_threshold >= LOG_LVL_WARN)                                                 \
			log_emit(LOG_LVL_WARN, __VA_ARGS__);                                       \
	} while (0)
#define log_info(...)                                                                              \
	do {                                                                                       \
		if (log_threshold >= LOG_LVL_INFO)                                                 \
			log_emit(LOG_LVL_INFO, __VA_ARGS__);                                       \
	} while (0)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_threshold >= LOG_LVL_DEBUG)                                                \
			log_emit(LOG_LVL_DEBUG, __VA_ARGS__);                                      \
	} while (0)

/*
 * Copies src into dst (size dstsz, always NUL-terminated), replacing control
 * characters, quotes and backslashes with escapes, so that anything that came
 * from a request can be logged. Returns dst.
 */
char *log_escape(char *dst, size_t dstsz, const char *src);

/* The same for len bytes of src (which may hold NULs). */
char *log_escape_n(char *dst, size_t dstsz, const char *src, size_t len);

/* Start-up failures only: logs and exits. Never on the request path. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
