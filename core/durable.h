/*
 * Durable files: the one way smelter makes a file appear (STYLE.md "Durable writes").
 *
 *   write <dir>/.<name>.<pid>.<n>.tmp → fsync → rename (or link when the name must not exist
 *   yet: Delta commits) → fsync the directory.
 *
 * A reader sees either no file or the whole file, never a part, also after a crash at any
 * instruction. Writes are sticky: after the first failure every later call fails with the same
 * error and commit removes the temporary file. Each step asks sm_fault_check() first.
 */
#ifndef SM_CORE_DURABLE_H
#define SM_CORE_DURABLE_H

#include <stddef.h>

#include "core/error.h"

typedef enum sm_durable_mode {
    SM_DURABLE_REPLACE = 0, /* rename over an existing file */
    SM_DURABLE_NOREPLACE,   /* fail with SM_ERR_CONFLICT if `path` exists (put-if-absent) */
} sm_durable_mode;

typedef struct sm_durable sm_durable;

/* Opens a temporary file beside `path` (the directory must exist). */
int sm_durable_open(const char *path, sm_durable_mode mode, sm_durable **out, sm_error *err);
/* Appends bytes; sticky error. */
int sm_durable_write(sm_durable *f, const void *data, size_t len, sm_error *err);
/* Bytes written so far. */
size_t sm_durable_size(const sm_durable *f);
/* fsync, move into place, fsync the directory, free `f` (also on error). An error before or in
 * the move removes the temporary file and leaves `path` untouched (for NOREPLACE, still the
 * other writer's). If only the directory fsync after the move fails, the new file stays in
 * place, since a reader may already have seen it, and SM_ERR_IO says "may not survive a crash":
 * treat the write as not known to be durable. */
int sm_durable_commit(sm_durable *f, sm_error *err);
/* Removes the temporary file and frees `f`. Accepts NULL. */
void sm_durable_abort(sm_durable *f);

/* The whole cycle for a buffer already in memory. */
int sm_durable_write_file(const char *path, const void *data, size_t len, sm_durable_mode mode,
                          sm_error *err);

/* fsync of a directory by path. */
int sm_fsync_dir(const char *dir, sm_error *err);

/* mkdir -p with mode 0755; existing directories are fine. */
int sm_mkdir_p(const char *path, sm_error *err);

/* Reads a whole file into a malloc'ed, NUL-terminated buffer (caller frees). Files larger than
 * max_len are refused with SM_ERR_NOMEM. */
int sm_read_file(const char *path, size_t max_len, char **data_out, size_t *len_out, sm_error *err);

#endif
