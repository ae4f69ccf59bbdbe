/* store_backends.c - the context store's backends, found by name */
#include <string.h>

#include "context/store_backend.h"

/* Each backend exports one table; this list is the only place that names them. */
extern const struct store_backend store_backend_redis;
extern const struct store_backend store_backend_file;

const struct store_backend *const store_backends[] = {
    &store_backend_redis,
    &store_backend_file,
    NULL,
};

const struct store_backend *
store_backend_find(const char *name)
{
	for (size_t i = 0; store_backends[i] != NULL; i++) {
		if (strcmp(store_backends[i]->name, name) == 0)
			return store_backends[i];
	}
	return NULL;
}
