/*
 * Fault injection (SQLite's sqlite3FaultSim): durable code asks sm_fault_check() at each step
 * that can fail; a test installs a hook that makes step N fail with a chosen errno, so every
 * error path can be reached. Without a hook sm_fault_check() is one load and a branch.
 *
 * The hook is process-wide test machinery, the one other global besides the logger: install
 * it before starting threads and remove it after.
 */
#ifndef SM_CORE_FAULT_H
#define SM_CORE_FAULT_H

typedef enum sm_fault_point {
    SM_FAULT_OPEN = 0,  /* create the temporary file */
    SM_FAULT_WRITE,     /* write bytes */
    SM_FAULT_FSYNC,     /* fsync the file */
    SM_FAULT_RENAME,    /* rename / link into place */
    SM_FAULT_FSYNC_DIR, /* fsync the directory */
    SM_FAULT_POINT_COUNT
} sm_fault_point;

/* Returns an errno to fail with, or 0 to go on. `ctx` is the hook's own pointer. */
typedef int (*sm_fault_hook)(sm_fault_point point, const char *path, void *ctx);

void sm_fault_install(sm_fault_hook hook, void *ctx); /* NULL removes it */
int sm_fault_check(sm_fault_point point, const char *path);
const char *sm_fault_point_name(sm_fault_point point);

#endif
