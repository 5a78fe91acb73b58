/*
 * sm_registry — a Confluent Schema Registry REST client: writer schemas by id
 * (`GET <url>/schemas/ids/<id>`), for the Avro decoder's fetch hook (docs/avro.md).
 *
 * A small HTTP/1.1 GET client over POSIX sockets, no TLS: `http://host[:port][/base/path]`
 * only (https:// is refused: put a local TLS proxy in front, or use a registry directory).
 * Every request has one overall deadline (connect, send and receive) and a bounded response
 * (SM_REGISTRY_MAX_BODY). Basic auth is Confluent's basic.auth.user.info, "user:pass"; error
 * messages name the URL but never the password.
 *
 * Answers are cached: a schema forever (schemas are immutable per id), a definite "no"
 * (HTTP 404, or a schema that is not Avro) for negative_ttl_ms, so a stream of messages with an
 * unknown id does not hammer the registry. Transient failures (5xx, 408, 429, refused or reset
 * connections, timeouts) are retried max_attempts times in all with exponential backoff
 * (backoff_ms, doubling, capped at SM_REGISTRY_BACKOFF_CAP_MS) and are not cached.
 *
 * @thread any: one registry may be shared by every consumer thread. A mutex guards the cache
 * and the counter; it is not held during network I/O, so two threads missing the same id at
 * once may both ask the registry (the first answer stored wins; both are the same schema).
 */
#ifndef SM_INGEST_REGISTRY_H
#define SM_INGEST_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct sm_registry sm_registry;

typedef struct sm_registry_conf {
    const char *url;         /* "http://host[:port][/base]" (borrowed; copied by open) */
    const char *basic_auth;  /* "user:pass" or NULL (borrowed; copied by open) */
    int64_t timeout_ms;      /* per request, connect to last byte; default 10000 */
    int max_attempts;        /* requests per fetch for transient failures; default 3 */
    int64_t backoff_ms;      /* wait before the 2nd attempt, doubling after; default 100 */
    int64_t negative_ttl_ms; /* how long a 404 is remembered; default 30000 */
} sm_registry_conf;

#define SM_REGISTRY_MAX_BODY       (4u << 20) /* bytes of response body */
#define SM_REGISTRY_BACKOFF_CAP_MS 5000       /* longest wait between attempts */
#define SM_REGISTRY_MAX_CACHED     4096       /* ids remembered (negative entries evicted first) */

/* core/error.h has no "not found" code: an id the registry does not know (HTTP 404) is the
 * only failure of sm_registry_fetch returned with this code (never retriable). Malformed
 * answers are SM_ERR_IO, auth failures SM_ERR_USAGE, timeouts SM_ERR_TIMEOUT. */
#define SM_REGISTRY_NOT_FOUND SM_ERR_CORRUPT

void sm_registry_conf_default(sm_registry_conf *c);

/* Checks the configuration and parses the URL (no network). SM_ERR_USAGE naming the problem:
 * a missing or non-http URL (https is refused), a bad host or port, a query or fragment,
 * basic_auth without ':', out-of-range numbers. `userinfo@` in the URL is taken as basic auth
 * when basic_auth is NULL. */
int sm_registry_open(const sm_registry_conf *c, sm_registry **out, sm_error *err);
void sm_registry_free(sm_registry *r); /* accepts NULL */

/* The writer schema text of `id`: exactly sm_avro_fetch_fn (ingest/avro_decode.h), so
 * `opts.fetch = sm_registry_fetch, opts.fetch_ctx = registry`. On SM_OK *text_out is a
 * malloc'ed, NUL-terminated copy of *len_out bytes that the caller frees. Otherwise nothing is
 * returned and err says what (URL, id, HTTP status, what to do): SM_REGISTRY_NOT_FOUND for an
 * unknown id, SM_ERR_USAGE for 401/403 or a non-Avro schema, SM_ERR_TIMEOUT / SM_ERR_IO
 * (retriable) after the attempts ran out, SM_ERR_IO for a malformed answer, SM_ERR_NOMEM for a
 * body over SM_REGISTRY_MAX_BODY. Blocks for at most about
 * max_attempts * timeout_ms + the backoff waits (name resolution excepted). */
int sm_registry_fetch(void *registry, int32_t id, char **text_out, size_t *len_out, sm_error *err);

/* HTTP requests attempted so far (each attempt of each fetch; cache hits make none). */
uint64_t sm_registry_requests(sm_registry *r);

/* The URL as shown in messages: without userinfo and without a trailing '/'. */
const char *sm_registry_url(const sm_registry *r);

#endif
