/*
 * Fault injection — see core/fault.h. The hook and its context are plain statics: they are set
 * by a test before any thread starts and cleared after, so the hot path is one load and a
 * branch and needs no atomics.
 */
#include "core/fault.h"

#include <stddef.h>

static sm_fault_hook fault_hook;
static void *fault_ctx;

void sm_fault_install(sm_fault_hook hook, void *ctx)
{
    fault_hook = hook;
    fault_ctx = hook ? ctx : NULL;
}

int sm_fault_check(sm_fault_point point, const char *path)
{
    if (!fault_hook) {
        return 0;
    }
    return fault_hook(point, path, fault_ctx);
}

const char *sm_fault_point_name(sm_fault_point point)
{
    switch (point) {
    case SM_FAULT_OPEN:
        return "open";
    case SM_FAULT_WRITE:
        return "write";
    case SM_FAULT_FSYNC:
        return "fsync";
    case SM_FAULT_RENAME:
        return "rename";
    case SM_FAULT_FSYNC_DIR:
        return "fsync dir";
    case SM_FAULT_POINT_COUNT:
        break;
    }
    return "unknown";
}
