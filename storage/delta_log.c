/*
 * Reading a Delta table's log into a snapshot (storage/delta.h, delta_snapshot_load and friends),
 * following delta-io/delta PROTOCOL.md "Delta Log Entries", "Checkpoints", "Last Checkpoint
 * File" and "Action Reconciliation".
 *
 * Loading lists `_delta_log/` once and sorts what it finds: commits `%020d.json`, classic
 * checkpoints `%020d.checkpoint.parquet`, multi-part ones `%020d.checkpoint.%010d.%010d.parquet`
 * (a set counts only when all its parts are there), v2 UUID-named ones
 * `%020d.checkpoint.<uuid>.json|parquet` (their sidecars are read from `_delta_log/_sidecars/`),
 * and `_last_checkpoint`. Everything else is ignored: `.crc` files, log compactions, hidden
 * temporary files. `_last_checkpoint` is only a hint, used to choose between checkpoints of one
 * version; a corrupt one, or one naming a checkpoint that is not there, is logged and ignored.
 * The state of version v is the newest complete checkpoint c <= v plus the commits c+1..v, which
 * must all be there (else SM_ERR_CORRUPT naming the missing one); a checkpoint that cannot be
 * read (or lacks protocol or metadata, which every checkpoint must hold) is logged and an older
 * one is used, down to replaying every commit from 0 when they are all there.
 *
 * DESIGN: replay is one forward pass, O(actions), with open-addressing hash tables keyed by the
 * logical file identity (canonical path, deletion vector id), by txn appId and by domain. Later
 * actions replace earlier ones of the same key; what is left as `add` is the active file set,
 * what is left as `remove` the tombstones. Within one commit the protocol forbids an add and a
 * remove of the same identity, so file order within a commit does not matter. Paths are compared
 * after canonicalisation (delta_path_key: "a%20b" and "a b", "x" and "file:<root>/x" are one
 * file, as Spark's DeltaLog.canonicalizePath and the canonicalized-paths-* golden tables want).
 * The snapshot and everything in it live in one arena; keys, tables and scratch buffers are
 * freed when the load returns.
 *
 * Reader protocol support (delta_check_reader_support), decided per feature by one question:
 * are the active files, read as plain Parquet by their column names, the table's rows?
 *   reader version 1            yes.
 *   reader version 2            column mapping: yes only when delta.columnMapping.mode is absent
 *                               or `none` (else files use physical column names).
 *   reader version 3, features  timestampNtz (int64 timestamps without a zone: plain Parquet),
 *                               v2Checkpoint (a log format this reader reads),
 *                               vacuumProtocolCheck (readers need nothing): supported;
 *                               columnMapping: only in mode none;
 *                               deletionVectors (deleted rows are still in the files),
 *                               typeWidening[-preview] (old files hold narrower types than the
 *                               schema), variantType[-preview] and variantShredding[-preview]
 *                               (no smelter type; shredded files are not plain columns),
 *                               catalogManaged / catalogOwned-preview (commits live in a
 *                               catalog), and any feature unknown to smelter: refused.
 *   reader version > 3          refused; a table format other than parquet: refused.
 * Refusal is SM_ERR_USAGE naming the feature and what to do, decided on the final protocol after
 * replay, and skipped when opts->ignore_unsupported_features (for `table history`).
 *
 * Commit timestamps (time travel by timestamp, delta_commit_actions.timestamp): a commit's
 * commitInfo.inCommitTimestamp, else its commitInfo.timestamp, else the commit file's mtime.
 * PROTOCOL.md asks readers without in-commit timestamps to use the file modification time; we
 * prefer commitInfo.timestamp because it survives copying a table (every golden table here has
 * fresh mtimes but its original commit times), and fall back to the mtime only when a commit has
 * no commitInfo timestamp. Loading at a timestamp picks the latest version whose commit
 * timestamp is <= it; a timestamp before the first available commit is SM_ERR_USAGE.
 */
#include "storage/delta.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "core/durable.h"
#include "core/log.h"
#include "storage/delta_internal.h"

#define LOG_COMPONENT "delta"

static int nomem(sm_error *err)
{
    return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
}

/* ---- open-addressing index map ----------------------------------------------------------- */

/* Maps a 64-bit hash to an index into a vector kept by the caller, who decides equality. Linear
 * probing; the table doubles at 70% load. */
typedef struct imap {
    uint64_t *hashes;
    int32_t *idx; /* -1: empty slot */
    size_t cap;   /* a power of two, or 0 */
    size_t n;
} imap;

typedef bool (*imap_eq_fn)(const void *ctx, int32_t idx);

static uint64_t hash_bytes(const char *s, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static uint64_t hash_finish(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

static uint64_t hash_str(const char *s)
{
    return hash_finish(hash_bytes(s, strlen(s), UINT64_C(0xcbf29ce484222325)));
}

static void imap_free(imap *m)
{
    free(m->hashes);
    free(m->idx);
    memset(m, 0, sizeof *m);
}

static int32_t imap_find(const imap *m, uint64_t h, imap_eq_fn eq, const void *ctx)
{
    if (m->cap == 0) {
        return -1;
    }
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->idx[i] < 0) {
            return -1;
        }
        if (m->hashes[i] == h && eq(ctx, m->idx[i])) {
            return m->idx[i];
        }
    }
}

static void imap_place(uint64_t *hashes, int32_t *idx, size_t cap, uint64_t h, int32_t v)
{
    size_t i = h & (cap - 1);
    while (idx[i] >= 0) {
        i = (i + 1) & (cap - 1);
    }
    hashes[i] = h;
    idx[i] = v;
}

/* Inserts (h -> v); the key must not be in the map. */
static int imap_put(imap *m, uint64_t h, int32_t v, sm_error *err)
{
    if ((m->n + 1) * 10 > m->cap * 7) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        uint64_t *hashes = malloc(sizeof *hashes * cap);
        int32_t *idx = malloc(sizeof *idx * cap);
        if (!hashes || !idx) {
            free(hashes);
            free(idx);
            return nomem(err);
        }
        memset(idx, 0xff, sizeof *idx * cap);
        for (size_t i = 0; i < m->cap; i++) {
            if (m->idx[i] >= 0) {
                imap_place(hashes, idx, cap, m->hashes[i], m->idx[i]);
            }
        }
        free(m->hashes);
        free(m->idx);
        m->hashes = hashes;
        m->idx = idx;
        m->cap = cap;
    }
    imap_place(m->hashes, m->idx, m->cap, h, v);
    m->n++;
    return 0;
}

/* Grows a malloc'ed vector to hold one more element. */
static int vec_reserve(void **data, size_t *cap, size_t n, size_t elem, sm_error *err)
{
    if (n < *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap * 2 : 64;
    if (ncap > (size_t)INT32_MAX) {
        return sm_error_set(err, SM_ERR_NOMEM, "more than %d entries", INT32_MAX);
    }
    void *p = realloc(*data, ncap * elem);
    if (!p) {
        return nomem(err);
    }
    *data = p;
    *cap = ncap;
    return 0;
}

/* ---- listing ----------------------------------------------------------------------------- */

typedef enum ck_type {
    CKT_V2_JSON = 0, /* preference order within a version */
    CKT_V2_PARQUET,
    CKT_CLASSIC,
    CKT_MULTI,
} ck_type;

/* One checkpoint file from the listing. */
typedef struct ck_file_entry {
    int64_t version;
    ck_type type;
    int part, parts; /* multi-part: 1-based part of `parts` */
    char *name;      /* file name in _delta_log */
} ck_file_entry;

/* A checkpoint: one file, or a complete set of parts. */
typedef struct ck_instance {
    int64_t version;
    ck_type type;
    int parts; /* multi-part: number of parts (names[parts]); else 1 */
    const char **names;
} ck_instance;

typedef struct log_listing {
    int64_t *commits; /* ascending */
    size_t n_commits, cap_commits;
    ck_file_entry *files;
    size_t n_files, cap_files;
    ck_instance *ckpts; /* complete checkpoints, version descending, preferred first */
    size_t n_ckpts;
    bool has_last_checkpoint;
} log_listing;

static void listing_free(log_listing *l)
{
    for (size_t i = 0; i < l->n_files; i++) {
        free(l->files[i].name);
    }
    for (size_t i = 0; i < l->n_ckpts; i++) {
        free(l->ckpts[i].names);
    }
    free(l->files);
    free(l->commits);
    free(l->ckpts);
    memset(l, 0, sizeof *l);
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

static bool parse_digits(const char *s, size_t n, int64_t *out)
{
    uint64_t v = 0;
    if (!all_digits(s, n)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (v > (uint64_t)INT64_MAX / 10) {
            return false;
        }
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX) {
        return false;
    }
    *out = (int64_t)v;
    return true;
}

typedef enum name_kind { NK_OTHER = 0, NK_COMMIT, NK_CHECKPOINT } name_kind;

/* Classifies a file name of _delta_log. */
static name_kind classify(const char *name, int64_t *version, ck_type *type, int *part, int *parts)
{
    size_t n = strlen(name);
    const char *rest;
    size_t rn;

    if (n <= DELTA_VERSION_DIGITS || !parse_digits(name, DELTA_VERSION_DIGITS, version)) {
        return NK_OTHER;
    }
    rest = name + DELTA_VERSION_DIGITS;
    rn = n - DELTA_VERSION_DIGITS;
    if (strcmp(rest, ".json") == 0) {
        return NK_COMMIT;
    }
    if (rn <= 12 || strncmp(rest, ".checkpoint.", 12) != 0) {
        return NK_OTHER;
    }
    rest += 12;
    rn -= 12;
    if (strcmp(rest, "parquet") == 0) {
        *type = CKT_CLASSIC;
        return NK_CHECKPOINT;
    }
    /* %010d.%010d.parquet */
    if (rn == 10 + 1 + 10 + 8 && rest[10] == '.' && rest[21] == '.' &&
        strcmp(rest + 22, "parquet") == 0) {
        int64_t o, p;
        if (!parse_digits(rest, 10, &o) || !parse_digits(rest + 11, 10, &p) || p < 1 || o < 1 ||
            o > p || p > 1000000) {
            return NK_OTHER;
        }
        *type = CKT_MULTI;
        *part = (int)o;
        *parts = (int)p;
        return NK_CHECKPOINT;
    }
    /* <uuid>.json | <uuid>.parquet: one non-empty segment without a dot */
    {
        const char *dot = strchr(rest, '.');
        if (!dot || dot == rest || strchr(dot + 1, '.')) {
            return NK_OTHER;
        }
        if (strcmp(dot, ".json") == 0) {
            *type = CKT_V2_JSON;
            return NK_CHECKPOINT;
        }
        if (strcmp(dot, ".parquet") == 0) {
            *type = CKT_V2_PARQUET;
            return NK_CHECKPOINT;
        }
    }
    return NK_OTHER;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Version descending, then type preference, then parts, then part, then name. */
static int cmp_ck_file(const void *a, const void *b)
{
    const ck_file_entry *x = a, *y = b;
    if (x->version != y->version) {
        return x->version > y->version ? -1 : 1;
    }
    if (x->type != y->type) {
        return (int)x->type - (int)y->type;
    }
    if (x->parts != y->parts) {
        return x->parts - y->parts;
    }
    if (x->part != y->part) {
        return x->part - y->part;
    }
    return strcmp(x->name, y->name);
}

/* Groups sorted checkpoint files into complete instances. */
static int build_instances(log_listing *l, sm_error *err)
{
    size_t i = 0;
    if (l->n_files == 0) {
        return 0;
    }
    qsort(l->files, l->n_files, sizeof *l->files, cmp_ck_file);
    if (!(l->ckpts = calloc(l->n_files, sizeof *l->ckpts))) {
        return nomem(err);
    }
    while (i < l->n_files) {
        const ck_file_entry *f = &l->files[i];
        ck_instance *ck = &l->ckpts[l->n_ckpts];
        if (f->type != CKT_MULTI) {
            if (!(ck->names = malloc(sizeof(char *)))) {
                return nomem(err);
            }
            ck->version = f->version;
            ck->type = f->type;
            ck->parts = 1;
            ck->names[0] = f->name;
            l->n_ckpts++;
            i++;
            continue;
        }
        /* a set: same version and part count; complete when parts 1..n are all present */
        size_t j = i;
        int expect = 1;
        while (j < l->n_files && l->files[j].version == f->version &&
               l->files[j].type == CKT_MULTI && l->files[j].parts == f->parts) {
            if (l->files[j].part == expect) {
                expect++;
            }
            j++;
        }
        if (expect == f->parts + 1) {
            if (!(ck->names = malloc(sizeof(char *) * (size_t)f->parts))) {
                return nomem(err);
            }
            ck->version = f->version;
            ck->type = CKT_MULTI;
            ck->parts = f->parts;
            expect = 1;
            for (size_t k = i; k < j; k++) {
                if (l->files[k].part == expect) {
                    ck->names[expect - 1] = l->files[k].name;
                    expect++;
                }
            }
            l->n_ckpts++;
        } else {
            sm_log_debug(LOG_COMPONENT,
                         "multi-part checkpoint %" PRId64 " in %d parts is incomplete: ignored",
                         f->version, f->parts);
        }
        i = j;
    }
    return 0;
}

/* Lists <table>/_delta_log. SM_ERR_USAGE when it is not there (not a Delta table). */
static int list_log(const char *table, log_listing *l, sm_error *err)
{
    sm_buf dir = SM_BUF_INIT;
    DIR *d = NULL;
    struct dirent *de;
    int rc = 0;

    memset(l, 0, sizeof *l);
    if (sm_buf_append(&dir, table, strlen(table), err) != 0 ||
        sm_buf_append(&dir, "/" DELTA_LOG_DIR, sizeof("/" DELTA_LOG_DIR), err) != 0) {
        rc = SM_ERR_NOMEM;
        goto done;
    }
    dir.len--; /* NUL-terminated */
    if (!(d = opendir((const char *)dir.data))) {
        if (errno == ENOENT || errno == ENOTDIR) {
            rc = sm_error_set(err, SM_ERR_USAGE,
                              "%s: not a Delta table (no %s/ directory): give the path of a "
                              "table's root directory",
                              table, DELTA_LOG_DIR);
        } else {
            rc = sm_error_sys(err, SM_ERR_IO, errno, "%s: list %s", table, (const char *)dir.data);
        }
        goto done;
    }
    for (;;) {
        int64_t version;
        ck_type type = CKT_CLASSIC;
        int part = 0, parts = 0;
        errno = 0;
        if (!(de = readdir(d))) {
            if (errno) {
                rc = sm_error_sys(err, SM_ERR_IO, errno, "%s: list %s", table,
                                  (const char *)dir.data);
                goto done;
            }
            break;
        }
        if (de->d_name[0] == '.') {
            continue;
        }
        if (strcmp(de->d_name, DELTA_LAST_CKPT) == 0) {
            l->has_last_checkpoint = true;
            continue;
        }
        switch (classify(de->d_name, &version, &type, &part, &parts)) {
        case NK_COMMIT:
            if ((rc = vec_reserve((void **)&l->commits, &l->cap_commits, l->n_commits,
                                  sizeof *l->commits, err)) != 0) {
                goto done;
            }
            l->commits[l->n_commits++] = version;
            break;
        case NK_CHECKPOINT:
            if ((rc = vec_reserve((void **)&l->files, &l->cap_files, l->n_files, sizeof *l->files,
                                  err)) != 0) {
                goto done;
            }
            if (!(l->files[l->n_files].name = strdup(de->d_name))) {
                rc = nomem(err);
                goto done;
            }
            l->files[l->n_files].version = version;
            l->files[l->n_files].type = type;
            l->files[l->n_files].part = type == CKT_MULTI ? part : 1;
            l->files[l->n_files].parts = type == CKT_MULTI ? parts : 1;
            l->n_files++;
            break;
        case NK_OTHER:
            break;
        }
    }
    if (l->n_commits) {
        qsort(l->commits, l->n_commits, sizeof *l->commits, cmp_i64);
    }
    rc = build_instances(l, err);
done:
    if (d) {
        closedir(d);
    }
    sm_buf_free(&dir);
    if (rc != 0) {
        listing_free(l);
    }
    return rc;
}

/* True when every commit in [from, to] is listed (an empty range is). */
static bool commits_cover(const log_listing *l, int64_t from, int64_t to)
{
    size_t lo = 0, hi = l->n_commits;
    if (from > to) {
        return true;
    }
    while (lo < hi) { /* first index with commits[i] >= from */
        size_t mid = lo + (hi - lo) / 2;
        if (l->commits[mid] < from) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo >= l->n_commits || l->commits[lo] != from) {
        return false;
    }
    return lo + (size_t)(to - from) < l->n_commits && l->commits[lo + (size_t)(to - from)] == to;
}

/* The first version in [from, to] whose commit is not listed; call when !commits_cover. */
static int64_t first_missing(const log_listing *l, int64_t from, int64_t to)
{
    int64_t expect = from;
    for (size_t i = 0; i < l->n_commits && expect <= to; i++) {
        if (l->commits[i] < expect) {
            continue;
        }
        if (l->commits[i] != expect) {
            return expect;
        }
        expect++;
    }
    return expect;
}

static bool has_commit(const log_listing *l, int64_t v)
{
    return commits_cover(l, v, v);
}

/* ---- _last_checkpoint -------------------------------------------------------------------- */

typedef struct last_ckpt {
    bool valid;
    int64_t version;
    int parts; /* 0: not multi-part */
} last_ckpt;

/* Reads the hint; any problem is logged and leaves it invalid — never an error. */
static void read_last_checkpoint(const char *table, last_ckpt *out)
{
    sm_buf path = SM_BUF_INIT;
    sm_error e;
    char *data = NULL;
    size_t len = 0;
    json_t *j = NULL;
    json_error_t jerr;

    memset(out, 0, sizeof *out);
    if (sm_buf_append(&path, table, strlen(table), NULL) != 0 ||
        sm_buf_append(&path, "/" DELTA_LOG_DIR "/" DELTA_LAST_CKPT,
                      sizeof("/" DELTA_LOG_DIR "/" DELTA_LAST_CKPT), NULL) != 0) {
        goto done;
    }
    if (sm_read_file((const char *)path.data, (size_t)64 << 20, &data, &len, &e) != 0) {
        sm_log_warn(LOG_COMPONENT, "%s: ignored (the log is listed instead)", e.msg);
        goto done;
    }
    if (!(j = json_loadb(data, len, 0, &jerr))) {
        sm_log_warn(LOG_COMPONENT, "%s: not JSON (%s): ignored, the log is listed instead",
                    (const char *)path.data, jerr.text);
        goto done;
    }
    json_t *v = json_object_get(j, "version"), *p = json_object_get(j, "parts");
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (p && !json_is_null(p) && (!json_is_integer(p) || json_integer_value(p) < 1))) {
        sm_log_warn(LOG_COMPONENT,
                    "%s: no valid 'version' or 'parts': ignored, the log is listed instead",
                    (const char *)path.data);
        goto done;
    }
    out->valid = true;
    out->version = (int64_t)json_integer_value(v);
    out->parts =
        p && json_is_integer(p) && json_integer_value(p) > 1 && json_integer_value(p) < INT32_MAX
            ? (int)json_integer_value(p)
            : 0;
done:
    json_decref(j);
    free(data);
    sm_buf_free(&path);
}

/* ---- replay ------------------------------------------------------------------------------ */

typedef struct file_entry {
    delta_file f;
    const char *key; /* canonical path (delta_path_key) */
    bool is_add;
} file_entry;

typedef struct replay {
    const char *table;
    const char *root_abs;
    sm_arena *arena;   /* the snapshot's */
    sm_arena *scratch; /* keys; dies with the replay */

    file_entry *files;
    size_t n_files, cap_files;
    imap fmap;

    delta_txn *txns;
    size_t n_txns, cap_txns;
    imap tmap;

    delta_domain *domains;
    size_t n_domains, cap_domains;
    imap dmap;

    delta_protocol protocol;
    delta_metadata metadata;
    bool has_protocol, has_metadata;

    bool in_checkpoint;
    delta_sidecar *sidecars;
    size_t n_sidecars, cap_sidecars;

    int64_t commit_ts; /* of the last commit replayed: commitInfo, or -1 */
} replay;

static int replay_init(replay *r, const char *table, const char *root_abs, sm_error *err)
{
    memset(r, 0, sizeof *r);
    r->table = table;
    r->root_abs = root_abs;
    r->arena = sm_arena_create(1 << 20, 0);
    r->scratch = sm_arena_create(1 << 20, 0);
    if (!r->arena || !r->scratch) {
        sm_arena_destroy(r->arena);
        sm_arena_destroy(r->scratch);
        r->arena = r->scratch = NULL;
        return nomem(err);
    }
    r->commit_ts = -1;
    return 0;
}

/* Frees the replay's working state; the arena too unless `keep_arena` (it became a snapshot's). */
static void replay_free(replay *r, bool keep_arena)
{
    free(r->files);
    free(r->txns);
    free(r->domains);
    free(r->sidecars);
    imap_free(&r->fmap);
    imap_free(&r->tmap);
    imap_free(&r->dmap);
    sm_arena_destroy(r->scratch);
    if (!keep_arena) {
        sm_arena_destroy(r->arena);
    }
    memset(r, 0, sizeof *r);
}

typedef struct file_probe {
    const replay *r;
    const char *key;
    const char *dv;
} file_probe;

static bool file_eq(const void *ctx, int32_t idx)
{
    const file_probe *p = ctx;
    const file_entry *e = &p->r->files[idx];
    if (strcmp(e->key, p->key) != 0) {
        return false;
    }
    if (!e->f.dv_id || !p->dv) {
        return !e->f.dv_id && !p->dv;
    }
    return strcmp(e->f.dv_id, p->dv) == 0;
}

static bool txn_eq(const void *ctx, int32_t idx)
{
    const file_probe *p = ctx;
    return strcmp(p->r->txns[idx].app_id, p->key) == 0;
}

static bool domain_eq(const void *ctx, int32_t idx)
{
    const file_probe *p = ctx;
    return strcmp(p->r->domains[idx].domain, p->key) == 0;
}

static int replay_file(replay *r, const delta_file *f, bool is_add, sm_error *err)
{
    file_probe probe = {r, NULL, f->dv_id};
    uint64_t h;
    int32_t idx;
    int rc;

    if ((rc = delta_path_key(r->root_abs, f->path, r->scratch, &probe.key, err)) != 0) {
        return rc;
    }
    h = hash_bytes(probe.key, strlen(probe.key), UINT64_C(0xcbf29ce484222325));
    if (f->dv_id) {
        h = hash_bytes("\0", 1, h);
        h = hash_bytes(f->dv_id, strlen(f->dv_id), h);
    }
    h = hash_finish(h);
    if ((idx = imap_find(&r->fmap, h, file_eq, &probe)) >= 0) {
        r->files[idx].f = *f;
        r->files[idx].key = probe.key;
        r->files[idx].is_add = is_add;
        return 0;
    }
    if ((rc = vec_reserve((void **)&r->files, &r->cap_files, r->n_files, sizeof *r->files, err)) !=
        0) {
        return rc;
    }
    r->files[r->n_files].f = *f;
    r->files[r->n_files].key = probe.key;
    r->files[r->n_files].is_add = is_add;
    if ((rc = imap_put(&r->fmap, h, (int32_t)r->n_files, err)) != 0) {
        return rc;
    }
    r->n_files++;
    return 0;
}

static int replay_txn(replay *r, const delta_txn *t, sm_error *err)
{
    file_probe probe = {r, t->app_id, NULL};
    uint64_t h = hash_str(t->app_id);
    int32_t idx = imap_find(&r->tmap, h, txn_eq, &probe);
    int rc;
    if (idx >= 0) {
        r->txns[idx] = *t;
        return 0;
    }
    if ((rc = vec_reserve((void **)&r->txns, &r->cap_txns, r->n_txns, sizeof *r->txns, err)) != 0 ||
        (rc = imap_put(&r->tmap, h, (int32_t)r->n_txns, err)) != 0) {
        return rc;
    }
    r->txns[r->n_txns++] = *t;
    return 0;
}

static int replay_domain(replay *r, const delta_domain *d, sm_error *err)
{
    file_probe probe = {r, d->domain, NULL};
    uint64_t h = hash_str(d->domain);
    int32_t idx = imap_find(&r->dmap, h, domain_eq, &probe);
    int rc;
    if (idx >= 0) {
        r->domains[idx] = *d;
        return 0;
    }
    if ((rc = vec_reserve((void **)&r->domains, &r->cap_domains, r->n_domains, sizeof *r->domains,
                          err)) != 0 ||
        (rc = imap_put(&r->dmap, h, (int32_t)r->n_domains, err)) != 0) {
        return rc;
    }
    r->domains[r->n_domains++] = *d;
    return 0;
}

/* The delta_action_fn of replay. */
static int replay_action(void *ctx, const delta_action *a, sm_error *err)
{
    replay *r = ctx;
    switch (a->type) {
    case DELTA_ACT_ADD:
        return replay_file(r, &a->u.file, true, err);
    case DELTA_ACT_REMOVE:
        return replay_file(r, &a->u.file, false, err);
    case DELTA_ACT_METADATA:
        r->metadata = a->u.metadata;
        r->has_metadata = true;
        return 0;
    case DELTA_ACT_PROTOCOL:
        r->protocol = a->u.protocol;
        r->has_protocol = true;
        return 0;
    case DELTA_ACT_TXN:
        return replay_txn(r, &a->u.txn, err);
    case DELTA_ACT_DOMAIN:
        return replay_domain(r, &a->u.domain, err);
    case DELTA_ACT_COMMIT_INFO:
        if (!r->in_checkpoint) {
            r->commit_ts = a->commit_timestamp;
        }
        return 0;
    case DELTA_ACT_SIDECAR:
        /* v2-checkpoint actions "do not participate in log replay" when found in commits */
        if (r->in_checkpoint) {
            int rc = vec_reserve((void **)&r->sidecars, &r->cap_sidecars, r->n_sidecars,
                                 sizeof *r->sidecars, err);
            if (rc != 0) {
                return rc;
            }
            r->sidecars[r->n_sidecars++] = a->u.sidecar;
        }
        return 0;
    case DELTA_ACT_CHECKPOINT_METADATA:
    case DELTA_ACT_NONE:
        return 0;
    }
    return 0;
}

/* Reads a whole log file; SM_ERR_IO names it. */
static int slurp(const char *path, char **data, size_t *len, sm_error *err)
{
    return sm_read_file(path, DELTA_MAX_LOG_FILE, data, len, err);
}

static int replay_json_file(replay *r, const char *path, sm_error *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc;
    if ((rc = slurp(path, &data, &len, err)) != 0) {
        return rc;
    }
    rc = delta_parse_json_lines(data, len, path, r->arena, replay_action, r, err);
    free(data);
    return rc;
}

/* <table>/_delta_log/<name> into `out` (NUL-terminated). */
static int log_file_path(const char *table, const char *name, sm_buf *out, sm_error *err)
{
    sm_buf_reset(out);
    if (sm_buf_append(out, table, strlen(table), err) != 0 ||
        sm_buf_append(out, "/" DELTA_LOG_DIR "/", sizeof DELTA_LOG_DIR + 1, err) != 0 ||
        sm_buf_append(out, name, strlen(name) + 1, err) != 0) {
        return SM_ERR_NOMEM;
    }
    out->len--;
    return 0;
}

/* The file of a sidecar action: a bare name (or a relative path) in _delta_log/_sidecars/, or an
 * absolute path or file: URI. */
static int sidecar_path(const char *table, const char *sc, sm_buf *out, sm_error *err)
{
    if (sc[0] == '/' || delta_path_has_scheme(sc, NULL)) {
        return delta_file_local_path(table, sc, out, err);
    }
    sm_buf_reset(out);
    if (sm_buf_append(out, table, strlen(table), err) != 0 ||
        sm_buf_append(out, "/" DELTA_LOG_DIR "/" DELTA_SIDECAR_DIR "/",
                      sizeof("/" DELTA_LOG_DIR "/" DELTA_SIDECAR_DIR "/") - 1, err) != 0 ||
        delta_percent_decode(sc, strlen(sc), out, err) != 0 || sm_buf_append_byte(out, 0, err)) {
        return SM_ERR_NOMEM;
    }
    out->len--;
    return 0;
}

/* Reads checkpoint `ck` (all its parts and sidecars) into a fresh replay. */
static int replay_checkpoint(replay *r, const ck_instance *ck, sm_error *err)
{
    sm_buf path = SM_BUF_INIT;
    int rc = 0;

    r->in_checkpoint = true;
    for (int i = 0; i < ck->parts && rc == 0; i++) {
        if ((rc = log_file_path(r->table, ck->names[i], &path, err)) != 0) {
            break;
        }
        if (ck->type == CKT_V2_JSON) {
            rc = replay_json_file(r, (const char *)path.data, err);
        } else {
            rc = delta_read_checkpoint_parquet((const char *)path.data, (const char *)path.data,
                                               r->arena, replay_action, r, err);
        }
    }
    for (size_t i = 0; i < r->n_sidecars && rc == 0; i++) {
        if ((rc = sidecar_path(r->table, r->sidecars[i].path, &path, err)) != 0) {
            break;
        }
        rc = delta_read_checkpoint_parquet((const char *)path.data, (const char *)path.data,
                                           r->arena, replay_action, r, err);
    }
    r->in_checkpoint = false;
    if (rc == 0 && (!r->has_protocol || !r->has_metadata)) {
        rc = sm_error_set(
            err, SM_ERR_CORRUPT, "%s/" DELTA_LOG_DIR "/%s: checkpoint %" PRId64 " has no %s action",
            r->table, ck->names[0], ck->version, !r->has_protocol ? "protocol" : "metaData");
    }
    sm_buf_free(&path);
    return rc;
}

static int replay_commits(replay *r, int64_t from, int64_t to, sm_error *err)
{
    sm_buf path = SM_BUF_INIT;
    int rc = 0;
    for (int64_t v = from; v <= to && rc == 0; v++) {
        r->commit_ts = -1;
        if ((rc = delta_log_path(r->table, v, ".json", &path, err)) == 0) {
            rc = replay_json_file(r, (const char *)path.data, err);
        }
    }
    sm_buf_free(&path);
    return rc;
}

/* ---- protocol support -------------------------------------------------------------------- */

static const char *config_value(const delta_metadata *m, const char *key)
{
    for (int i = 0; m && i < m->n_configuration; i++) {
        if (strcmp(m->configuration[i].key, key) == 0) {
            return m->configuration[i].value;
        }
    }
    return NULL;
}

static int refuse_column_mapping(const char *table, const char *mode, sm_error *err)
{
    return sm_error_set(err, SM_ERR_USAGE,
                        "%s: reader feature 'columnMapping' (delta.columnMapping.mode '%s') is "
                        "not supported (its data files name columns by physical names or field "
                        "ids; rewrite the table without column mapping, e.g. CREATE TABLE ... AS "
                        "SELECT in Spark, or read it with Spark or delta-rs)",
                        table, mode);
}

int delta_check_reader_support(const char *table, const delta_protocol *p, const delta_metadata *m,
                               sm_error *err)
{
    const char *mode = config_value(m, "delta.columnMapping.mode");
    bool cm_none = !mode || strcasecmp(mode, "none") == 0;

    if (m && m->format && strcasecmp(m->format, "parquet") != 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: data format '%s' is not supported (smelter reads Parquet tables "
                            "only)",
                            table, m->format);
    }
    if (p->min_reader_version < 1 || p->min_reader_version > 3) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: reader version %d is not supported (smelter reads Delta tables "
                            "of reader versions 1 to 3; this one needs another Delta reader)",
                            table, (int)p->min_reader_version);
    }
    if (p->min_reader_version == 2) {
        return cm_none ? 0 : refuse_column_mapping(table, mode, err);
    }
    if (p->min_reader_version < 3) {
        return 0;
    }
    for (int i = 0; i < p->n_reader_features; i++) {
        const char *f = p->reader_features[i];
        if (strcmp(f, "timestampNtz") == 0 || strcmp(f, "v2Checkpoint") == 0 ||
            strcmp(f, "vacuumProtocolCheck") == 0) {
            continue;
        }
        if (strcmp(f, "columnMapping") == 0) {
            if (cm_none) {
                continue;
            }
            return refuse_column_mapping(table, mode, err);
        }
        if (strcmp(f, "deletionVectors") == 0) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: reader feature 'deletionVectors' is not supported (rows "
                                "deleted through deletion vectors are still in the data files "
                                "and would be read back; in Spark, purge them with REORG TABLE "
                                "... APPLY (PURGE) and ALTER TABLE ... DROP FEATURE "
                                "deletionVectors)",
                                table);
        }
        if (strncmp(f, "typeWidening", 12) == 0) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: reader feature '%s' is not supported (data files written "
                                "before a column's type was widened hold the narrower type; in "
                                "Spark, ALTER TABLE ... DROP FEATURE typeWidening rewrites them)",
                                table, f);
        }
        if (strncmp(f, "variant", 7) == 0) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: reader feature '%s' is not supported (variant columns have "
                                "no smelter type; cast them to string in a copy of the table)",
                                table, f);
        }
        if (strncmp(f, "catalog", 7) == 0) {
            return sm_error_set(err, SM_ERR_USAGE,
                                "%s: reader feature '%s' is not supported (the table's commits "
                                "are managed by a catalog, which smelter does not talk to; read "
                                "it through its catalog)",
                                table, f);
        }
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: reader feature '%s' is not supported (unknown to smelter: it may "
                            "change how the data files must be read; read the table with a "
                            "Delta reader that knows it)",
                            table, f);
    }
    return 0;
}

/* ---- commit timestamps ------------------------------------------------------------------- */

static int64_t file_mtime_ms(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return 0;
    }
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

/* The commit timestamp of version v (see the header comment); SM_ERR_IO/CORRUPT naming it. */
static int commit_timestamp(const char *table, int64_t v, int64_t *ts_out, sm_error *err)
{
    sm_buf path = SM_BUF_INIT;
    char *data = NULL;
    size_t len = 0;
    int rc;
    int64_t ts = -1;

    if ((rc = delta_log_path(table, v, ".json", &path, err)) != 0 ||
        (rc = slurp((const char *)path.data, &data, &len, err)) != 0) {
        goto done;
    }
    for (const char *p = data, *end = data + len; p < end && ts < 0;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        json_t *line, *ci;
        /* only lines that can hold commitInfo are parsed */
        if (memmem(p, (size_t)(le - p), "\"commitInfo\"", 12) &&
            (line = json_loadb(p, (size_t)(le - p), 0, NULL))) {
            if ((ci = json_object_get(line, "commitInfo")) && json_is_object(ci)) {
                ts = delta_commit_info_timestamp(ci);
            }
            json_decref(line);
        }
        p = nl ? nl + 1 : end;
    }
    if (ts < 0) {
        ts = file_mtime_ms((const char *)path.data);
    }
    *ts_out = ts;
done:
    free(data);
    sm_buf_free(&path);
    return rc;
}

/* The latest listed commit whose timestamp is <= ts. */
static int version_at_timestamp(const char *table, const log_listing *l, int64_t ts,
                                int64_t *version, sm_error *err)
{
    int64_t t = 0;
    int rc;
    char want[32], first[32];
    for (size_t i = l->n_commits; i-- > 0;) {
        if ((rc = commit_timestamp(table, l->commits[i], &t, err)) != 0) {
            return rc;
        }
        if (t <= ts) {
            *version = l->commits[i];
            return 0;
        }
    }
    sm_format_iso8601_ms(ts, want, sizeof want);
    if (l->n_commits == 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: cannot load the table as of %s: its log holds no commit file "
                            "to take a timestamp from",
                            table, want);
    }
    sm_format_iso8601_ms(t, first, sizeof first);
    return sm_error_set(err, SM_ERR_USAGE,
                        "%s: timestamp %s is before the earliest available commit (version "
                        "%" PRId64 ", committed at %s)",
                        table, want, l->commits[0], first);
}

/* ---- loading ----------------------------------------------------------------------------- */

void delta_load_opts_default(delta_load_opts *o)
{
    memset(o, 0, sizeof *o);
    o->version = -1;
    o->timestamp = 0;
    o->ignore_unsupported_features = false;
}

/* Orders the checkpoints of the hint's version so that the one it names comes first, and logs
 * when it names none that is there. */
static void apply_hint(const char *table, log_listing *l, const last_ckpt *hint)
{
    size_t first = SIZE_MAX, match = SIZE_MAX;
    if (!hint->valid) {
        return;
    }
    for (size_t i = 0; i < l->n_ckpts; i++) {
        const ck_instance *ck = &l->ckpts[i];
        if (ck->version != hint->version) {
            continue;
        }
        if (first == SIZE_MAX) {
            first = i;
        }
        if ((hint->parts == 0 && ck->type != CKT_MULTI) ||
            (hint->parts > 0 && ck->type == CKT_MULTI && ck->parts == hint->parts)) {
            match = i;
            break;
        }
    }
    if (match == SIZE_MAX) {
        sm_log_warn(LOG_COMPONENT,
                    "%s/" DELTA_LOG_DIR "/" DELTA_LAST_CKPT ": names checkpoint %" PRId64
                    "%s, which is missing or incomplete: ignored, "
                    "the log is listed instead",
                    table, hint->version, hint->parts ? " (multi-part)" : "");
        return;
    }
    if (match != first) {
        ck_instance tmp = l->ckpts[match];
        memmove(&l->ckpts[first + 1], &l->ckpts[first], sizeof tmp * (match - first));
        l->ckpts[first] = tmp;
    }
}

/* Builds the snapshot from a finished replay (whose arena it takes). */
static int assemble(replay *r, const char *table, int64_t version, int64_t ts, int64_t ckpt_version,
                    delta_snapshot **out, sm_error *err)
{
    delta_snapshot *s = sm_arena_calloc(r->arena, sizeof *s);
    int64_t n_add = 0, n_rm = 0;
    int n_dom = 0;

    if (!s || !(s->table_path = sm_arena_strdup(r->arena, table))) {
        return nomem(err);
    }
    for (size_t i = 0; i < r->n_files; i++) {
        if (r->files[i].is_add) {
            n_add++;
        } else {
            n_rm++;
        }
    }
    for (size_t i = 0; i < r->n_domains; i++) {
        n_dom += !r->domains[i].removed;
    }
    s->files = sm_arena_alloc(r->arena, sizeof(delta_file) * (size_t)(n_add ? n_add : 1));
    s->tombstones = sm_arena_alloc(r->arena, sizeof(delta_file) * (size_t)(n_rm ? n_rm : 1));
    s->txns = sm_arena_alloc(r->arena, sizeof(delta_txn) * (r->n_txns ? r->n_txns : 1));
    s->domains = sm_arena_alloc(r->arena, sizeof(delta_domain) * (size_t)(n_dom ? n_dom : 1));
    if (!s->files || !s->tombstones || !s->txns || !s->domains) {
        return nomem(err);
    }
    for (size_t i = 0; i < r->n_files; i++) {
        if (r->files[i].is_add) {
            s->files[s->n_files++] = r->files[i].f;
        } else {
            s->tombstones[s->n_tombstones++] = r->files[i].f;
        }
    }
    if (r->n_txns) {
        memcpy(s->txns, r->txns, sizeof(delta_txn) * r->n_txns);
    }
    s->n_txns = (int)r->n_txns;
    for (size_t i = 0; i < r->n_domains; i++) {
        if (!r->domains[i].removed) {
            s->domains[s->n_domains++] = r->domains[i];
        }
    }
    s->version = version;
    s->timestamp = ts;
    s->protocol = r->protocol;
    s->metadata = r->metadata;
    s->checkpoint_version = ckpt_version;
    s->arena = r->arena;
    *out = s;
    return 0;
}

int delta_snapshot_load(const char *table_path, const delta_load_opts *opts, delta_snapshot **out,
                        sm_error *err)
{
    delta_load_opts dflt;
    log_listing l;
    last_ckpt hint;
    sm_buf root = SM_BUF_INIT;
    replay r;
    int64_t latest = -1, earliest = -1, target;
    const ck_instance *used = NULL;
    sm_error first_err;
    bool have_first_err = false, loaded = false;
    int rc;

    *out = NULL;
    memset(&r, 0, sizeof r);
    if (!opts) {
        delta_load_opts_default(&dflt);
        opts = &dflt;
    }
    if (opts->version >= 0 && opts->timestamp > 0) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "%s: give a version or a timestamp to load, not both", table_path);
    }
    if ((rc = list_log(table_path, &l, err)) != 0) {
        return rc;
    }
    if ((rc = delta_abs_path(table_path, &root, err)) != 0) {
        goto done;
    }
    if (l.n_commits) {
        latest = l.commits[l.n_commits - 1];
        if (l.commits[0] == 0) {
            earliest = 0;
        }
    }
    for (size_t i = 0; i < l.n_ckpts; i++) {
        if (l.ckpts[i].version > latest) {
            latest = l.ckpts[i].version;
        }
        if (earliest < 0 || l.ckpts[i].version < earliest) {
            earliest = l.ckpts[i].version;
        }
    }
    if (latest < 0) {
        rc = sm_error_set(err, SM_ERR_USAGE,
                          "%s: not a Delta table (%s/ holds no commit): give the path of a "
                          "table's root directory",
                          table_path, DELTA_LOG_DIR);
        goto done;
    }
    if (earliest < 0) {
        rc = sm_error_set(err, SM_ERR_CORRUPT,
                          "%s: the log starts at version %" PRId64 " but has neither commit 0 "
                          "nor a checkpoint: no version can be reconstructed",
                          table_path, l.commits[0]);
        goto done;
    }
    if (l.has_last_checkpoint) {
        read_last_checkpoint(table_path, &hint);
        apply_hint(table_path, &l, &hint);
    }

    target = latest;
    if (opts->version >= 0) {
        if (opts->version > latest) {
            rc = sm_error_set(err, SM_ERR_USAGE,
                              "%s: version %" PRId64 " does not exist (the latest is %" PRId64 ")",
                              table_path, opts->version, latest);
            goto done;
        }
        target = opts->version;
    } else if (opts->timestamp > 0) {
        if ((rc = version_at_timestamp(table_path, &l, opts->timestamp, &target, err)) != 0) {
            goto done;
        }
    }
    if (target < earliest) {
        rc = sm_error_set(err, SM_ERR_USAGE,
                          "%s: version %" PRId64 " is no longer available (its log was cleaned "
                          "up); the earliest version that can be loaded is %" PRId64,
                          table_path, target, earliest);
        goto done;
    }

    /* Candidates: checkpoints <= target, newest first, then the commits from 0. The commits
     * after the newest one must all be there: older starts need them too. */
    {
        size_t first_ck = 0;
        int64_t from;
        while (first_ck < l.n_ckpts && l.ckpts[first_ck].version > target) {
            first_ck++;
        }
        from = first_ck < l.n_ckpts ? l.ckpts[first_ck].version + 1 : 0;
        if (!commits_cover(&l, from, target)) {
            int64_t miss = first_missing(&l, from, target);
            sm_buf p = SM_BUF_INIT;
            delta_log_path(table_path, miss, ".json", &p, NULL);
            rc = sm_error_set(err, SM_ERR_CORRUPT,
                              "%s: versions are not contiguous: %s is missing, but version "
                              "%" PRId64 " needs it",
                              table_path, p.data ? (const char *)p.data : "?", target);
            sm_buf_free(&p);
            goto done;
        }
        for (size_t i = first_ck; i <= l.n_ckpts && !loaded; i++) {
            const ck_instance *ck = i < l.n_ckpts ? &l.ckpts[i] : NULL;
            int64_t start = ck ? ck->version + 1 : 0;
            sm_error e;
            if (!commits_cover(&l, start, target)) {
                continue;
            }
            if ((rc = replay_init(&r, table_path, (const char *)root.data, err)) != 0) {
                goto done;
            }
            if (ck && (rc = replay_checkpoint(&r, ck, &e)) != 0) {
                if (rc == SM_ERR_NOMEM) {
                    if (err) {
                        *err = e;
                    }
                    goto done;
                }
                sm_log_warn(LOG_COMPONENT, "%s: checkpoint %" PRId64 " skipped: %s", table_path,
                            ck->version, e.msg);
                if (!have_first_err) {
                    first_err = e;
                    have_first_err = true;
                }
                replay_free(&r, false);
                continue;
            }
            if ((rc = replay_commits(&r, start, target, err)) != 0) {
                goto done;
            }
            used = ck;
            loaded = true;
        }
        if (!loaded) {
            if (have_first_err) {
                rc = first_err.code;
                if (err) {
                    *err = first_err;
                    sm_error_prefix(err,
                                    "%s: no readable checkpoint and no complete log to "
                                    "replay instead",
                                    table_path);
                }
            } else {
                rc = sm_error_set(err, SM_ERR_CORRUPT,
                                  "%s: version %" PRId64 " cannot be "
                                  "reconstructed",
                                  table_path, target);
            }
            goto done;
        }
    }
    if (!r.has_protocol || !r.has_metadata) {
        rc = sm_error_set(err, SM_ERR_CORRUPT,
                          "%s: version %" PRId64 " has no %s action (replayed %s)", table_path,
                          target, !r.has_protocol ? "protocol" : "metaData",
                          used ? "a checkpoint and the commits after it" : "every commit from 0");
        goto done;
    }
    if (!opts->ignore_unsupported_features &&
        (rc = delta_check_reader_support(table_path, &r.protocol, &r.metadata, err)) != 0) {
        goto done;
    }
    {
        int64_t ts = r.commit_ts;
        if (ts < 0 || (used && used->version == target)) {
            if (has_commit(&l, target)) {
                if ((rc = commit_timestamp(table_path, target, &ts, err)) != 0) {
                    goto done;
                }
            } else {
                sm_buf p = SM_BUF_INIT;
                log_file_path(table_path, used ? used->names[0] : "", &p, NULL);
                ts = p.data ? file_mtime_ms((const char *)p.data) : 0;
                sm_buf_free(&p);
            }
        }
        if ((rc = assemble(&r, table_path, target, ts, used ? used->version : -1, out, err)) != 0) {
            goto done;
        }
        replay_free(&r, true);
    }
done:
    if (rc != 0) {
        replay_free(&r, false);
    }
    listing_free(&l);
    sm_buf_free(&root);
    return rc;
}

void delta_snapshot_free(delta_snapshot *s)
{
    if (s) {
        sm_arena_destroy(s->arena); /* s itself lives there */
    }
}

int delta_latest_version(const char *table_path, int64_t *version_out, sm_error *err)
{
    log_listing l;
    int rc;
    *version_out = -1;
    if ((rc = list_log(table_path, &l, err)) != 0) {
        if (rc == SM_ERR_USAGE) {
            sm_error_clear(err); /* no _delta_log: no commit */
            return 0;
        }
        return rc;
    }
    if (l.n_commits) {
        *version_out = l.commits[l.n_commits - 1];
    }
    for (size_t i = 0; i < l.n_ckpts; i++) {
        if (l.ckpts[i].version > *version_out) {
            *version_out = l.ckpts[i].version;
        }
    }
    listing_free(&l);
    return 0;
}

int64_t delta_snapshot_txn_version(const delta_snapshot *s, const char *app_id)
{
    for (int i = 0; s && i < s->n_txns; i++) {
        if (strcmp(s->txns[i].app_id, app_id) == 0) {
            return s->txns[i].version;
        }
    }
    return -1;
}

const char *delta_snapshot_config(const delta_snapshot *s, const char *key)
{
    return s ? config_value(&s->metadata, key) : NULL;
}

/* ---- one commit -------------------------------------------------------------------------- */

typedef struct commit_collect {
    sm_arena *arena;
    delta_file *adds, *removes;
    size_t n_adds, cap_adds, n_removes, cap_removes;
    delta_txn *txns;
    size_t n_txns, cap_txns;
    delta_domain *domains;
    size_t n_domains, cap_domains;
    delta_protocol *protocol;
    delta_metadata *metadata;
    const char *commit_info;
    int64_t ts;
} commit_collect;

static int collect_action(void *ctx, const delta_action *a, sm_error *err)
{
    commit_collect *c = ctx;
    int rc = 0;
    switch (a->type) {
    case DELTA_ACT_ADD:
        if ((rc = vec_reserve((void **)&c->adds, &c->cap_adds, c->n_adds, sizeof *c->adds, err)) ==
            0) {
            c->adds[c->n_adds++] = a->u.file;
        }
        break;
    case DELTA_ACT_REMOVE:
        if ((rc = vec_reserve((void **)&c->removes, &c->cap_removes, c->n_removes,
                              sizeof *c->removes, err)) == 0) {
            c->removes[c->n_removes++] = a->u.file;
        }
        break;
    case DELTA_ACT_TXN:
        if ((rc = vec_reserve((void **)&c->txns, &c->cap_txns, c->n_txns, sizeof *c->txns, err)) ==
            0) {
            c->txns[c->n_txns++] = a->u.txn;
        }
        break;
    case DELTA_ACT_DOMAIN:
        if ((rc = vec_reserve((void **)&c->domains, &c->cap_domains, c->n_domains,
                              sizeof *c->domains, err)) == 0) {
            c->domains[c->n_domains++] = a->u.domain;
        }
        break;
    case DELTA_ACT_PROTOCOL:
        if (!c->protocol && !(c->protocol = sm_arena_alloc(c->arena, sizeof *c->protocol))) {
            return nomem(err);
        }
        *c->protocol = a->u.protocol;
        break;
    case DELTA_ACT_METADATA:
        if (!c->metadata && !(c->metadata = sm_arena_alloc(c->arena, sizeof *c->metadata))) {
            return nomem(err);
        }
        *c->metadata = a->u.metadata;
        break;
    case DELTA_ACT_COMMIT_INFO: {
        char *text = json_dumps(a->commit_info, JSON_COMPACT);
        if (!text) {
            return nomem(err);
        }
        c->commit_info = sm_arena_strdup(c->arena, text);
        free(text);
        if (!c->commit_info) {
            return nomem(err);
        }
        c->ts = a->commit_timestamp;
        break;
    }
    default:
        break;
    }
    return rc;
}

/* Copies n elements of a malloc'ed vector into the arena (NULL when n == 0). */
static void *to_arena(sm_arena *a, const void *v, size_t n, size_t elem, bool *ok)
{
    void *p;
    if (n == 0) {
        return NULL;
    }
    if (!(p = sm_arena_alloc(a, n * elem))) {
        *ok = false;
        return NULL;
    }
    memcpy(p, v, n * elem);
    return p;
}

int delta_read_commit(const char *table_path, int64_t version, sm_arena *arena,
                      delta_commit_actions *out, sm_error *err)
{
    sm_buf path = SM_BUF_INIT;
    commit_collect c;
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    bool ok = true;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&c, 0, sizeof c);
    c.arena = arena;
    c.ts = -1;
    if (version < 0) {
        return sm_error_set(err, SM_ERR_USAGE, "%s: version %" PRId64 " does not exist", table_path,
                            version);
    }
    if ((rc = delta_log_path(table_path, version, ".json", &path, err)) != 0) {
        goto done;
    }
    if (stat((const char *)path.data, &st) != 0) {
        rc =
            errno == ENOENT
                ? sm_error_set(err, SM_ERR_USAGE, "%s: version %" PRId64 " has no commit file (%s)",
                               table_path, version, (const char *)path.data)
                : sm_error_sys(err, SM_ERR_IO, errno, "stat %s", (const char *)path.data);
        goto done;
    }
    if ((rc = slurp((const char *)path.data, &data, &len, err)) != 0 ||
        (rc = delta_parse_json_lines(data, len, (const char *)path.data, arena, collect_action, &c,
                                     err)) != 0) {
        goto done;
    }
    out->version = version;
    out->timestamp =
        c.ts >= 0 ? c.ts : (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    out->protocol = c.protocol;
    out->metadata = c.metadata;
    out->commit_info = c.commit_info;
    out->n_adds = (int)c.n_adds;
    out->n_removes = (int)c.n_removes;
    out->n_txns = (int)c.n_txns;
    out->n_domains = (int)c.n_domains;
    out->adds = to_arena(arena, c.adds, c.n_adds, sizeof *c.adds, &ok);
    out->removes = to_arena(arena, c.removes, c.n_removes, sizeof *c.removes, &ok);
    out->txns = to_arena(arena, c.txns, c.n_txns, sizeof *c.txns, &ok);
    out->domains = to_arena(arena, c.domains, c.n_domains, sizeof *c.domains, &ok);
    if (!ok) {
        rc = nomem(err);
    }
done:
    free(c.adds);
    free(c.removes);
    free(c.txns);
    free(c.domains);
    free(data);
    sm_buf_free(&path);
    return rc;
}
