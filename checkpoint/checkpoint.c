/*
 * The checkpoint directory of a query (checkpoint.h): metadata, the offsets and commits logs,
 * the recovery rule, retention and state blobs. The file format is in checkpoint_entry.c.
 *
 * DESIGN: the invariant kept is "at most the last batch is uncommitted, and each log is a
 * contiguous run of batch ids". Writers enforce it (offsets/N+1 only after commits/N, commits/N
 * only for the latest offsets) and put-if-absent makes each entry appear once, whole, so a crash
 * at any instruction leaves a directory that satisfies it; sm_ckpt_plan checks it and reads it
 * back as "re-run N" or "go on with N+1". Purge removes the oldest entries first, fsyncing the
 * directory after each removal, so even a crash mid-purge cannot persist a later removal without
 * an earlier one and open a gap.
 *
 * Listing re-reads the directory on every call instead of caching what was written: a second
 * process writing the same checkpoint (a mistake) is then seen as early as possible.
 */
#include "checkpoint/checkpoint_internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/durable.h"
#include "core/log.h"
#include "core/uuid.h"

struct sm_ckpt {
    char *dir;
    char *meta_path;
    char *offsets_dir;
    char *commits_dir;
    char *state_dir;
    char id[37];
    int64_t created_ms;
};

typedef enum entry_kind {
    KIND_OFFSETS,
    KIND_COMMIT,
} entry_kind;

static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        s = NULL;
    }
    va_end(ap);
    return s;
}

static void copy_error(sm_error *dst, const sm_error *src)
{
    if (dst && dst != src) {
        *dst = *src;
    }
}

/* SM_ERR_IO with sys_errno ENOENT: the documented "missing" of the read functions. */
static int not_found(sm_error *err, const char *path, const char *what)
{
    sm_error_set(err, SM_ERR_IO, "%s: %s", path, what);
    if (err) {
        err->sys_errno = ENOENT;
    }
    return SM_ERR_IO;
}

/* Path of an entry in a fixed buffer: paths are bounded by PATH_MAX anyway. */
static void entry_path(const sm_ckpt *ck, entry_kind kind, int64_t id, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%" PRId64, kind == KIND_OFFSETS ? ck->offsets_dir : ck->commits_dir, id);
}

/* ---- listing ------------------------------------------------------------------------------- */

typedef struct id_list {
    int64_t *ids; /* ascending */
    size_t n;
} id_list;

static void id_list_free(id_list *l)
{
    free(l->ids);
    l->ids = NULL;
    l->n = 0;
}

static int64_t id_list_last(const id_list *l)
{
    return l->n ? l->ids[l->n - 1] : -1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* 1: `name` is a canonical batch id; 0: not a batch name at all (ignored); -1: looks like one
 * but is not canonical ("007", too long). */
static int parse_batch_name(const char *name, int64_t *out)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return 0;
        }
    }
    if (n == 0) {
        return 0;
    }
    if (n > 18 || (n > 1 && name[0] == '0')) {
        return -1;
    }
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (name[i] - '0');
    }
    *out = v;
    return 1;
}

/* The batch ids named in `dir`, ascending. Dot files (temporaries) and names that are not
 * numbers are not entries and are passed over; a number that is not canonical is corrupt. */
static int list_ids(const char *dir, id_list *out, sm_error *err)
{
    out->ids = NULL;
    out->n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        return sm_error_sys(err, SM_ERR_IO, errno, "list %s", dir);
    }
    size_t cap = 0;
    int rc = SM_OK;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        int64_t id;
        int k = parse_batch_name(de->d_name, &id);
        if (k == 0) {
            continue;
        }
        if (k < 0) {
            rc = sm_error_set(err, SM_ERR_CORRUPT,
                              "%s/%s: not a batch file name (batch ids are written without "
                              "leading zeros); move it out of the checkpoint directory",
                              dir, de->d_name);
            break;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            int64_t *nids = realloc(out->ids, ncap * sizeof *nids);
            if (!nids) {
                rc = sm_error_set(err, SM_ERR_NOMEM, "list %s: out of memory", dir);
                break;
            }
            out->ids = nids;
            cap = ncap;
        }
        out->ids[out->n++] = id;
        errno = 0;
    }
    if (rc == SM_OK && errno != 0) {
        rc = sm_error_sys(err, SM_ERR_IO, errno, "list %s", dir);
    }
    closedir(d);
    if (rc != SM_OK) {
        id_list_free(out);
        return rc;
    }
    if (out->n > 1) {
        qsort(out->ids, out->n, sizeof *out->ids, cmp_i64);
    }
    return SM_OK;
}

/* A gap in an ascending id list is corrupt: Spark's verifyBatchIds. */
static int check_contiguous(const char *dir, const id_list *l, sm_error *err)
{
    for (size_t i = 1; i < l->n; i++) {
        if (l->ids[i] != l->ids[i - 1] + 1) {
            return sm_error_set(err, SM_ERR_CORRUPT,
                                "%s: batch %" PRId64 " is missing between %" PRId64 " and %" PRId64
                                " (a gap in the log); " CKPT_ADVICE_DAMAGED,
                                dir, l->ids[i - 1] + 1, l->ids[i - 1], l->ids[i]);
        }
    }
    return SM_OK;
}

/* ---- opening ------------------------------------------------------------------------------- */

/* Removes `.<name>.<pid>.<n>.tmp` files of core/durable.h whose writer process is gone. */
static void sweep_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t n = strlen(name);
        if (name[0] != '.' || n < 8 || strcmp(name + n - 4, ".tmp") != 0) {
            continue;
        }
        /* ".<name>.<pid>.<n>.tmp": the pid is the second number from the end. */
        char buf[256];
        if (n - 4 >= sizeof buf) {
            continue;
        }
        memcpy(buf, name, n - 4);
        buf[n - 4] = '\0';
        char *dot_n = strrchr(buf, '.');
        if (!dot_n || dot_n == buf) {
            continue;
        }
        *dot_n = '\0';
        char *dot_pid = strrchr(buf, '.');
        if (!dot_pid || dot_pid == buf) {
            continue;
        }
        char *end;
        long pid = strtol(dot_pid + 1, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == (long)getpid()) {
            continue;
        }
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
            continue; /* alive (or not ours to ask): its writer may still be running */
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (unlink(path) == 0) {
            sm_log_info("checkpoint", "removed %s, left by a writer that is gone", path);
        }
    }
    closedir(d);
}

/* True when `dir` exists and names at least one batch. */
static bool has_entries(const char *dir)
{
    id_list l;
    sm_error ignored;
    if (list_ids(dir, &l, &ignored) != SM_OK) {
        return ignored.code == SM_ERR_CORRUPT; /* something is there, and it is a batch name */
    }
    bool any = l.n > 0;
    id_list_free(&l);
    return any;
}

static int fsync_parent(const char *dir, sm_error *err)
{
    char *copy = strdup(dir);
    if (!copy) {
        return sm_error_set(err, SM_ERR_NOMEM, "open checkpoint %s: out of memory", dir);
    }
    size_t len = strlen(copy);
    while (len > 1 && copy[len - 1] == '/') {
        copy[--len] = '\0';
    }
    char *slash = strrchr(copy, '/');
    int rc;
    if (!slash) {
        rc = sm_fsync_dir(".", err);
    } else if (slash == copy) {
        rc = sm_fsync_dir("/", err);
    } else {
        *slash = '\0';
        rc = sm_fsync_dir(copy, err);
    }
    free(copy);
    return rc;
}

static int write_metadata(sm_ckpt *ck, sm_error *err)
{
    char id[37];
    int rc = sm_uuid4(id, err);
    if (rc != SM_OK) {
        return rc;
    }
    json_t *body;
    if ((rc = ckpt_metadata_to_json(id, sm_wall_ms(), &body, err)) != SM_OK) {
        return rc;
    }
    sm_buf b = SM_BUF_INIT;
    rc = ckpt_frame_json(body, &b, err);
    json_decref(body);
    if (rc == SM_OK) {
        rc = sm_durable_write_file(ck->meta_path, b.data, b.len, SM_DURABLE_NOREPLACE, err);
    }
    sm_buf_free(&b);
    if (rc == SM_ERR_CONFLICT) {
        return SM_OK; /* another process created it first: read theirs */
    }
    return rc;
}

static int read_metadata(sm_ckpt *ck, char *data, size_t len, sm_error *err)
{
    /* Spark's metadata is bare JSON ({"id":"..."}); anything without our version line is not
     * ours, and must not be mistaken for damage to be "repaired" by deleting. */
    if (len > 0 && data[0] != 'v') {
        bool spark = data[0] == '{' && strstr(data, "\"id\"") != NULL;
        return ckpt_corrupt(err, ck->meta_path, CKPT_ADVICE_FOREIGN, "%s",
                            spark ? "no version line; this looks like a Spark Structured "
                                    "Streaming checkpoint"
                                  : "no version line; not written by smelter");
    }
    json_t *body;
    int rc = ckpt_parse_file(ck->meta_path, data, len, CKPT_ADVICE_DAMAGED, &body, err);
    if (rc != SM_OK) {
        return rc;
    }
    rc = ckpt_metadata_from_json(ck->meta_path, body, ck->id, &ck->created_ms, err);
    json_decref(body);
    return rc;
}

void sm_ckpt_close(sm_ckpt *ck)
{
    if (!ck) {
        return;
    }
    free(ck->dir);
    free(ck->meta_path);
    free(ck->offsets_dir);
    free(ck->commits_dir);
    free(ck->state_dir);
    free(ck);
}

int sm_ckpt_open(const char *dir, bool create, sm_ckpt **out, sm_error *err)
{
    *out = NULL;
    if (!dir || !*dir) {
        return sm_error_set(err, SM_ERR_USAGE, "checkpoint: empty directory name");
    }
    sm_ckpt *ck = calloc(1, sizeof *ck);
    if (!ck) {
        return sm_error_set(err, SM_ERR_NOMEM, "open checkpoint %s: out of memory", dir);
    }
    int rc;
    char *data = NULL;
    size_t len = 0;
    ck->dir = strdup(dir);
    ck->meta_path = str_printf("%s/metadata", dir);
    ck->offsets_dir = str_printf("%s/offsets", dir);
    ck->commits_dir = str_printf("%s/commits", dir);
    ck->state_dir = str_printf("%s/state", dir);
    if (!ck->dir || !ck->meta_path || !ck->offsets_dir || !ck->commits_dir || !ck->state_dir) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "open checkpoint %s: out of memory", dir);
        goto fail;
    }

    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT) {
            rc = sm_error_sys(err, SM_ERR_IO, errno, "open checkpoint %s", dir);
            goto fail;
        }
        if (!create) {
            rc = sm_error_set(err, SM_ERR_USAGE, "open checkpoint %s: no such directory", dir);
            goto fail;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        rc = sm_error_set(err, SM_ERR_USAGE, "open checkpoint %s: not a directory", dir);
        goto fail;
    }

    sm_error rerr;
    rc = sm_read_file(ck->meta_path, CKPT_MAX_ENTRY_BYTES, &data, &len, &rerr);
    if (rc != SM_OK && rerr.sys_errno != ENOENT) {
        copy_error(err, &rerr);
        goto fail;
    }
    if (rc != SM_OK) {
        if (has_entries(ck->offsets_dir) || has_entries(ck->commits_dir)) {
            rc = sm_error_set(err, SM_ERR_CORRUPT,
                              "%s: missing, but the directory holds batches; " CKPT_ADVICE_DAMAGED,
                              ck->meta_path);
            goto fail;
        }
        if (!create) {
            rc = sm_error_set(err, SM_ERR_USAGE,
                              "open checkpoint %s: not a checkpoint directory (no metadata file)",
                              dir);
            goto fail;
        }
        /* Directories first, metadata last: a crash in between leaves empty directories, which
         * the next open completes. */
        if ((rc = sm_mkdir_p(ck->offsets_dir, err)) != SM_OK ||
            (rc = sm_mkdir_p(ck->commits_dir, err)) != SM_OK ||
            (rc = sm_mkdir_p(ck->state_dir, err)) != SM_OK ||
            (rc = sm_fsync_dir(dir, err)) != SM_OK || (rc = fsync_parent(dir, err)) != SM_OK ||
            (rc = write_metadata(ck, err)) != SM_OK) {
            goto fail;
        }
        rc = sm_read_file(ck->meta_path, CKPT_MAX_ENTRY_BYTES, &data, &len, err);
    }
    if (rc != SM_OK) {
        goto fail;
    }
    if ((rc = read_metadata(ck, data, len, err)) != SM_OK) {
        goto fail;
    }
    free(data);
    data = NULL;

    /* An existing checkpoint: its directories are made if missing (an older layout or a hand
     * copy), stale temporaries swept. */
    if ((rc = sm_mkdir_p(ck->offsets_dir, err)) != SM_OK ||
        (rc = sm_mkdir_p(ck->commits_dir, err)) != SM_OK ||
        (rc = sm_mkdir_p(ck->state_dir, err)) != SM_OK) {
        goto fail;
    }
    sweep_temporaries(ck->dir);
    sweep_temporaries(ck->offsets_dir);
    sweep_temporaries(ck->commits_dir);
    sweep_temporaries(ck->state_dir);
    *out = ck;
    return SM_OK;

fail:
    free(data);
    sm_ckpt_close(ck);
    return rc;
}

const char *sm_ckpt_query_id(const sm_ckpt *ck)
{
    return ck->id;
}

int64_t sm_ckpt_created_ms(const sm_ckpt *ck)
{
    return ck->created_ms;
}

const char *sm_ckpt_dir(const sm_ckpt *ck)
{
    return ck->dir;
}

/* ---- reading entries ----------------------------------------------------------------------- */

/* Reads and checks the framing of one entry. ENOENT is SM_ERR_IO with sys_errno ENOENT. */
static int load_body(const char *path, json_t **body, sm_error *err)
{
    *body = NULL;
    char *data;
    size_t len;
    sm_error rerr;
    int rc = sm_read_file(path, CKPT_MAX_ENTRY_BYTES, &data, &len, &rerr);
    if (rc != SM_OK) {
        if (rerr.sys_errno == ENOENT) {
            return not_found(err, path, "no such batch entry");
        }
        if (rc == SM_ERR_NOMEM) {
            return ckpt_corrupt(err, path, CKPT_ADVICE_DAMAGED, "larger than %zu bytes",
                                CKPT_MAX_ENTRY_BYTES);
        }
        copy_error(err, &rerr);
        return rc;
    }
    rc = ckpt_parse_file(path, data, len, CKPT_ADVICE_DAMAGED, body, err);
    free(data);
    return rc;
}

int sm_ckpt_read_offsets(sm_ckpt *ck, int64_t batch_id, sm_arena *arena, sm_ckpt_offsets **out,
                         sm_error *err)
{
    *out = NULL;
    char path[4096];
    entry_path(ck, KIND_OFFSETS, batch_id, path, sizeof path);
    json_t *body;
    int rc = load_body(path, &body, err);
    if (rc == SM_OK) {
        rc = ckpt_offsets_from_json(path, body, batch_id, arena, out, err);
        json_decref(body);
    }
    return rc;
}

int sm_ckpt_read_commit(sm_ckpt *ck, int64_t batch_id, sm_arena *arena, sm_ckpt_commit **out,
                        sm_error *err)
{
    *out = NULL;
    char path[4096];
    entry_path(ck, KIND_COMMIT, batch_id, path, sizeof path);
    json_t *body;
    int rc = load_body(path, &body, err);
    if (rc == SM_OK) {
        rc = ckpt_commit_from_json(path, body, batch_id, arena, out, err);
        json_decref(body);
    }
    return rc;
}

const sm_ckpt_range *sm_ckpt_offsets_find(const sm_ckpt_offsets *entry, const char *source,
                                          int32_t partition)
{
    for (size_t i = 0; i < entry->n_sources; i++) {
        const sm_ckpt_source *s = &entry->sources[i];
        if (strcmp(s->name, source) != 0) {
            continue;
        }
        for (size_t j = 0; j < s->n_ranges; j++) {
            if (s->ranges[j].partition == partition) {
                return &s->ranges[j];
            }
        }
        return NULL;
    }
    return NULL;
}

int sm_ckpt_latest(sm_ckpt *ck, int64_t *last_offsets, int64_t *last_commit, sm_error *err)
{
    id_list o, c;
    int rc = list_ids(ck->offsets_dir, &o, err);
    if (rc != SM_OK) {
        return rc;
    }
    if ((rc = list_ids(ck->commits_dir, &c, err)) != SM_OK) {
        id_list_free(&o);
        return rc;
    }
    if (last_offsets) {
        *last_offsets = id_list_last(&o);
    }
    if (last_commit) {
        *last_commit = id_list_last(&c);
    }
    id_list_free(&o);
    id_list_free(&c);
    return SM_OK;
}

/* ---- writing entries ----------------------------------------------------------------------- */

/* Checks that a full decode of a parsed body passes (so damage is reported before conflict). */
static int validate_body(entry_kind kind, const char *path, const json_t *body, int64_t id,
                         sm_error *err)
{
    sm_arena *a = sm_arena_create(4096, 0);
    if (!a) {
        return sm_error_set(err, SM_ERR_NOMEM, "%s: out of memory", path);
    }
    int rc;
    if (kind == KIND_OFFSETS) {
        sm_ckpt_offsets *o;
        rc = ckpt_offsets_from_json(path, body, id, a, &o, err);
    } else {
        sm_ckpt_commit *c;
        rc = ckpt_commit_from_json(path, body, id, a, &c, err);
    }
    sm_arena_destroy(a);
    return rc;
}

/* The entry exists (or existed): the same content is an idempotent rewrite, anything else a
 * second writer. */
static int compare_existing(entry_kind kind, const char *path, const json_t *want, int64_t id,
                            sm_error *err)
{
    json_t *have;
    sm_error lerr;
    int rc = load_body(path, &have, &lerr);
    if (rc != SM_OK) {
        if (rc == SM_ERR_IO && lerr.sys_errno == ENOENT) {
            return sm_error_set(err, SM_ERR_CONFLICT,
                                "%s: batch %" PRId64 " is older than this checkpoint's latest "
                                "batch and has been removed: another query is writing this "
                                "checkpoint (only one query may use a checkpoint directory)",
                                path, id);
        }
        copy_error(err, &lerr);
        return rc;
    }
    if (json_equal(have, (json_t *)want)) {
        json_decref(have);
        return SM_OK;
    }
    rc = validate_body(kind, path, have, id, err);
    json_decref(have);
    if (rc != SM_OK) {
        return rc;
    }
    return sm_error_set(err, SM_ERR_CONFLICT,
                        "%s: already written with different content: another query is writing "
                        "this checkpoint (only one query may use a checkpoint directory; stop "
                        "the other one)",
                        path);
}

static int commit_without_offsets(const sm_ckpt *ck, int64_t lc, sm_error *err)
{
    return sm_error_set(err, SM_ERR_CORRUPT,
                        "%s/%" PRId64 ": batch %" PRId64 " is committed but %s/%" PRId64
                        " is missing; " CKPT_ADVICE_DAMAGED,
                        ck->commits_dir, lc, lc, ck->offsets_dir, lc);
}

static int put_entry(entry_kind kind, const char *path, const json_t *body, int64_t id,
                     sm_error *err)
{
    sm_buf b = SM_BUF_INIT;
    int rc = ckpt_frame_json(body, &b, err);
    if (rc == SM_OK) {
        rc = sm_durable_write_file(path, b.data, b.len, SM_DURABLE_NOREPLACE, err);
    }
    sm_buf_free(&b);
    if (rc == SM_ERR_CONFLICT) {
        /* Someone wrote it between our listing and our link. */
        return compare_existing(kind, path, body, id, err);
    }
    return rc;
}

int sm_ckpt_write_offsets(sm_ckpt *ck, const sm_ckpt_offsets *entry, sm_error *err)
{
    json_t *body;
    int rc = ckpt_offsets_to_json(entry, &body, err);
    if (rc != SM_OK) {
        return rc;
    }
    int64_t n = entry->batch_id, lo, lc;
    char path[4096];
    entry_path(ck, KIND_OFFSETS, n, path, sizeof path);
    if ((rc = sm_ckpt_latest(ck, &lo, &lc, err)) != SM_OK) {
        goto done;
    }
    if (lc > lo) {
        rc = commit_without_offsets(ck, lc, err);
    } else if (n <= lo) {
        rc = compare_existing(KIND_OFFSETS, path, body, n, err);
    } else if (n > lo + 1) {
        rc = sm_error_set(err, SM_ERR_INTERNAL,
                          "%s: the latest batch is %" PRId64 ": writing batch %" PRId64
                          " would leave a gap",
                          path, lo, n);
    } else if (lc != lo) {
        rc = sm_error_set(err, SM_ERR_INTERNAL,
                          "%s: batch %" PRId64 " is not committed yet: commit or re-run it before "
                          "starting batch %" PRId64,
                          path, lo, n);
    } else {
        rc = put_entry(KIND_OFFSETS, path, body, n, err);
    }
done:
    json_decref(body);
    return rc;
}

int sm_ckpt_write_commit(sm_ckpt *ck, const sm_ckpt_commit *entry, sm_error *err)
{
    json_t *body;
    int rc = ckpt_commit_to_json(entry, &body, err);
    if (rc != SM_OK) {
        return rc;
    }
    int64_t n = entry->batch_id, lo, lc;
    char path[4096];
    entry_path(ck, KIND_COMMIT, n, path, sizeof path);
    if ((rc = sm_ckpt_latest(ck, &lo, &lc, err)) != SM_OK) {
        goto done;
    }
    if (lc > lo) {
        rc = commit_without_offsets(ck, lc, err);
    } else if (n <= lc) {
        rc = compare_existing(KIND_COMMIT, path, body, n, err);
    } else if (n != lo) {
        rc = sm_error_set(err, SM_ERR_INTERNAL,
                          "%s: batch %" PRId64 " is not the latest batch in offsets/ (%" PRId64
                          "): offsets are written before their commit",
                          path, n, lo);
    } else {
        rc = put_entry(KIND_COMMIT, path, body, n, err);
    }
done:
    json_decref(body);
    return rc;
}

/* ---- the recovery rule --------------------------------------------------------------------- */

/* Reads and checks every entry of one log (into a scratch arena that is reset per entry). */
static int check_all(sm_ckpt *ck, entry_kind kind, const id_list *l, sm_arena *scratch,
                     sm_error *err)
{
    for (size_t i = 0; i < l->n; i++) {
        int rc;
        if (kind == KIND_OFFSETS) {
            sm_ckpt_offsets *o;
            rc = sm_ckpt_read_offsets(ck, l->ids[i], scratch, &o, err);
        } else {
            sm_ckpt_commit *c;
            rc = sm_ckpt_read_commit(ck, l->ids[i], scratch, &c, err);
        }
        sm_arena_reset(scratch);
        if (rc != SM_OK) {
            return rc;
        }
    }
    return SM_OK;
}

int sm_ckpt_plan(sm_ckpt *ck, sm_arena *arena, sm_ckpt_recovery *plan, sm_error *err)
{
    memset(plan, 0, sizeof *plan);
    id_list o = {0}, c = {0};
    sm_arena *scratch = NULL;
    int rc;
    if ((rc = list_ids(ck->offsets_dir, &o, err)) != SM_OK ||
        (rc = list_ids(ck->commits_dir, &c, err)) != SM_OK ||
        (rc = check_contiguous(ck->offsets_dir, &o, err)) != SM_OK ||
        (rc = check_contiguous(ck->commits_dir, &c, err)) != SM_OK) {
        goto done;
    }
    int64_t lo = id_list_last(&o), lc = id_list_last(&c);
    if (lc > lo) {
        rc = commit_without_offsets(ck, lc, err);
        goto done;
    }
    if (lo >= 0 && lc < lo - 1) {
        rc = sm_error_set(err, SM_ERR_CORRUPT,
                          "%s: batches %" PRId64 " to %" PRId64
                          " have offsets but no commit; only the last batch can be uncommitted; "
                          "" CKPT_ADVICE_DAMAGED,
                          ck->dir, lc + 1, lo);
        goto done;
    }
    if (lc >= 0 && (o.n == 0 || lc < o.ids[0])) {
        rc = sm_error_set(err, SM_ERR_CORRUPT,
                          "%s/%" PRId64 ": missing, but batch %" PRId64
                          " is the latest committed one (retention never removes it); "
                          "" CKPT_ADVICE_DAMAGED,
                          ck->offsets_dir, lc, lc);
        goto done;
    }
    if (!(scratch = sm_arena_create(16384, 0))) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "checkpoint %s: out of memory", ck->dir);
        goto done;
    }
    if ((rc = check_all(ck, KIND_OFFSETS, &o, scratch, err)) != SM_OK ||
        (rc = check_all(ck, KIND_COMMIT, &c, scratch, err)) != SM_OK) {
        goto done;
    }

    sm_ckpt_recovery p = {.last_committed = lc, .oldest_batch_id = o.n ? o.ids[0] : -1};
    p.rerun = lo >= 0 && lc == lo - 1;
    p.next_batch_id = p.rerun ? lo : lo + 1;
    sm_ckpt_offsets *e;
    if (p.rerun) {
        if ((rc = sm_ckpt_read_offsets(ck, lo, arena, &e, err)) != SM_OK) {
            goto done;
        }
        p.rerun_offsets = e;
    }
    if (lc >= 0) {
        sm_ckpt_commit *cm;
        if ((rc = sm_ckpt_read_offsets(ck, lc, arena, &e, err)) != SM_OK ||
            (rc = sm_ckpt_read_commit(ck, lc, arena, &cm, err)) != SM_OK) {
            goto done;
        }
        p.committed_offsets = e;
        p.last_commit = cm;
    }
    *plan = p;

done:
    sm_arena_destroy(scratch);
    id_list_free(&o);
    id_list_free(&c);
    return rc;
}

/* ---- retention ----------------------------------------------------------------------------- */

/* Removes entries of `dir` below `threshold`, oldest first, fsyncing the directory after each. */
static int purge_dir(const char *dir, int64_t threshold, int64_t *removed, sm_error *err)
{
    id_list l;
    int rc = list_ids(dir, &l, err);
    if (rc != SM_OK) {
        return rc;
    }
    *removed = 0;
    char path[4096];
    for (size_t i = 0; i < l.n && l.ids[i] < threshold; i++) {
        snprintf(path, sizeof path, "%s/%" PRId64, dir, l.ids[i]);
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = sm_error_sys(err, SM_ERR_IO, errno, "purge %s", path);
            break;
        }
        if ((rc = sm_fsync_dir(dir, err)) != SM_OK) {
            break;
        }
        (*removed)++;
    }
    id_list_free(&l);
    return rc;
}

/* rm of state/<N>/ (files, then the directory). */
static int remove_state_batch(const char *state_dir, int64_t id, sm_error *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%" PRId64, state_dir, id);
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) {
            return SM_OK;
        }
        return sm_error_sys(err, SM_ERR_IO, errno, "purge %s", dir);
    }
    int rc = SM_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        char path[4096 + 256];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = sm_error_sys(err, SM_ERR_IO, errno, "purge %s", path);
            break;
        }
    }
    closedir(d);
    if (rc == SM_OK && rmdir(dir) != 0 && errno != ENOENT) {
        rc = sm_error_sys(err, SM_ERR_IO, errno, "purge %s", dir);
    }
    return rc;
}

int sm_ckpt_purge(sm_ckpt *ck, int64_t keep, int64_t *deleted_out, sm_error *err)
{
    if (deleted_out) {
        *deleted_out = 0;
    }
    if (keep < 1) {
        return sm_error_set(err, SM_ERR_USAGE,
                            "checkpoint retention must keep at least 1 batch, not %" PRId64, keep);
    }
    int64_t lo, lc;
    int rc = sm_ckpt_latest(ck, &lo, &lc, err);
    if (rc != SM_OK || lc < 0) {
        return rc;
    }
    /* Keep lc-keep+1 .. lc and anything above (the uncommitted batch). */
    int64_t threshold = lc - keep + 1;
    if (threshold <= 0) {
        return SM_OK;
    }
    /* Commits before offsets: the low ends of the two logs need not agree (plan only checks
     * the high ends), and an offsets entry left without its commit below the latest committed
     * batch is harmless. */
    int64_t removed_commits, removed_offsets = 0;
    if ((rc = purge_dir(ck->commits_dir, threshold, &removed_commits, err)) != SM_OK ||
        (rc = purge_dir(ck->offsets_dir, threshold, &removed_offsets, err)) != SM_OK) {
        return rc;
    }
    id_list s;
    if ((rc = list_ids(ck->state_dir, &s, err)) != SM_OK) {
        return rc;
    }
    bool any = false;
    for (size_t i = 0; i < s.n && s.ids[i] < threshold; i++) {
        if ((rc = remove_state_batch(ck->state_dir, s.ids[i], err)) != SM_OK) {
            break;
        }
        any = true;
    }
    id_list_free(&s);
    if (rc == SM_OK && any) {
        rc = sm_fsync_dir(ck->state_dir, err);
    }
    if (deleted_out) {
        *deleted_out = removed_offsets;
    }
    return rc;
}

/* ---- state blobs --------------------------------------------------------------------------- */

static int check_state_name(const char *name, sm_error *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 200 || name[0] == '.') {
        return sm_error_set(err, SM_ERR_INTERNAL, "checkpoint state: bad name \"%s\"",
                            name ? name : "(null)");
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.')) {
            return sm_error_set(err, SM_ERR_INTERNAL, "checkpoint state: bad name \"%s\"", name);
        }
    }
    return SM_OK;
}

int sm_ckpt_write_state(sm_ckpt *ck, int64_t batch_id, const char *name, const void *data,
                        size_t len, sm_error *err)
{
    int rc = check_state_name(name, err);
    if (rc != SM_OK) {
        return rc;
    }
    int64_t lo, lc;
    if ((rc = sm_ckpt_latest(ck, &lo, &lc, err)) != SM_OK) {
        return rc;
    }
    if (batch_id != lo || lc >= lo) {
        return sm_error_set(err, SM_ERR_INTERNAL,
                            "checkpoint state %s of batch %" PRId64
                            ": only the latest batch, before its commit, writes state (latest "
                            "offsets %" PRId64 ", latest commit %" PRId64 ")",
                            name, batch_id, lo, lc);
    }
    char dir[4096], path[4096 + 256];
    snprintf(dir, sizeof dir, "%s/%" PRId64, ck->state_dir, batch_id);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    if (stat(dir, &st) != 0) {
        if ((rc = sm_mkdir_p(dir, err)) != SM_OK ||
            (rc = sm_fsync_dir(ck->state_dir, err)) != SM_OK) {
            return rc;
        }
    }
    sm_buf b = SM_BUF_INIT;
    rc = ckpt_frame_state(data, len, &b, err);
    if (rc == SM_OK) {
        rc = sm_durable_write_file(path, b.data, b.len, SM_DURABLE_REPLACE, err);
    }
    sm_buf_free(&b);
    return rc;
}

int sm_ckpt_read_state(sm_ckpt *ck, int64_t batch_id, const char *name, void **data_out,
                       size_t *len_out, sm_error *err)
{
    *data_out = NULL;
    *len_out = 0;
    int rc = check_state_name(name, err);
    if (rc != SM_OK) {
        return rc;
    }
    char path[4096 + 256];
    snprintf(path, sizeof path, "%s/%" PRId64 "/%s", ck->state_dir, batch_id, name);
    char *data;
    size_t len;
    sm_error rerr;
    if ((rc = sm_read_file(path, SIZE_MAX / 2, &data, &len, &rerr)) != SM_OK) {
        if (rerr.sys_errno == ENOENT) {
            return not_found(err, path, "no such state");
        }
        copy_error(err, &rerr);
        return rc;
    }
    size_t off, n;
    if ((rc = ckpt_parse_state(path, data, len, &off, &n, err)) != SM_OK) {
        free(data);
        return rc;
    }
    memmove(data, data + off, n);
    data[n] = '\0';
    *data_out = data;
    *len_out = n;
    return SM_OK;
}
