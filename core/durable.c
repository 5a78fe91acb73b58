/*
 * Durable files — see core/durable.h.
 *
 * DESIGN: a reader sees no file or the whole file. The bytes go to a temporary file beside the
 * target (same directory, so same file system and the rename is atomic), are fsynced, and only
 * then is the file moved into place; the directory is fsynced last so that the new name
 * survives a crash too.
 *
 * Every failure before the move leaves `path` untouched and removes the temporary file. The
 * directory fsync comes after the move, and its failure is different: once rename or link has
 * succeeded the file is visible, and a reader may already have acted on it (a Delta reader on
 * commit N, another process on a checkpoint). Taking it back would make a version appear and
 * then vanish, so the new file stays in place and commit reports an error that says so; the
 * caller treats the write as not known to be durable.
 *
 * Names: .<name>.<pid>.<counter>.tmp. The dot hides it from listings that skip dot files (Delta
 * and Spark ignore files starting with "." or "_"), the pid and process-wide counter make it
 * unique among concurrent writers, and a crash leaves files that a sweeper can recognise.
 */
#include "core/durable.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fault.h"
#include "core/log.h"

struct sm_durable {
    char *path; /* the target, as given */
    char *dir;  /* its directory, for the directory fsync */
    char *tmp;  /* .<name>.<pid>.<n>.tmp beside path */
    int fd;     /* -1 once closed */
    bool tmp_exists;
    sm_durable_mode mode;
    size_t size;
    bool failed; /* sticky: every later call returns `sticky` */
    sm_error sticky;
};

static atomic_uint_fast64_t tmp_counter;

/* Runs the fault hook; when it fires, sets errno as the syscall would and returns true. */
static bool fault_fires(sm_fault_point point, const char *path)
{
    int e = sm_fault_check(point, path);
    if (e) {
        errno = e;
        return true;
    }
    return false;
}

static void copy_error(sm_error *dst, const sm_error *src)
{
    if (dst && dst != src) {
        *dst = *src;
    }
}

/* Records the first failure of `f` (sticky) and hands it to the caller. */
static int fail_sys(sm_durable *f, const char *step, int errnum, sm_error *err)
{
    if (!f->failed) {
        sm_error_sys(&f->sticky, SM_ERR_IO, errnum, "write %s: %s", f->path, step);
        f->failed = true;
    }
    copy_error(err, &f->sticky);
    return f->sticky.code;
}

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

static void durable_free(sm_durable *f)
{
    free(f->path);
    free(f->dir);
    free(f->tmp);
    free(f);
}

void sm_durable_abort(sm_durable *f)
{
    if (!f) {
        return;
    }
    if (f->fd >= 0) {
        close(f->fd);
    }
    if (f->tmp_exists) {
        unlink(f->tmp);
    }
    durable_free(f);
}

int sm_durable_open(const char *path, sm_durable_mode mode, sm_durable **out, sm_error *err)
{
    *out = NULL;
    const char *slash = path ? strrchr(path, '/') : NULL;
    const char *base = slash ? slash + 1 : path;
    if (!path || *base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        return sm_error_set(err, SM_ERR_USAGE, "write %s: not a file name", path ? path : "(null)");
    }
    sm_durable *f = calloc(1, sizeof *f);
    if (!f) {
        return sm_error_set(err, SM_ERR_NOMEM, "write %s: out of memory", path);
    }
    f->fd = -1;
    f->mode = mode;
    int dir_len = slash ? (int)(slash - path) : 0;
    uint_fast64_t n = atomic_fetch_add(&tmp_counter, 1);
    f->path = strdup(path);
    if (!slash) {
        f->dir = strdup(".");
    } else if (dir_len == 0) {
        f->dir = strdup("/");
    } else {
        f->dir = strndup(path, (size_t)dir_len);
    }
    /* The prefix keeps the slash: "" for a bare name, "dir/" otherwise. */
    int prefix_len = slash ? dir_len + 1 : 0;
    f->tmp = str_printf("%.*s.%s.%ld.%llu.tmp", prefix_len, path, base, (long)getpid(),
                        (unsigned long long)n);
    if (!f->path || !f->dir || !f->tmp) {
        durable_free(f);
        return sm_error_set(err, SM_ERR_NOMEM, "write %s: out of memory", path);
    }

    for (;;) {
        if (fault_fires(SM_FAULT_OPEN, f->path)) {
            f->fd = -1;
        } else {
            f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        }
        if (f->fd >= 0 || errno != EINTR) {
            break;
        }
    }
    if (f->fd < 0) {
        int e = errno;
        sm_error_sys(err, SM_ERR_IO, e, "write %s: open", path);
        durable_free(f);
        return SM_ERR_IO;
    }
    f->tmp_exists = true;
    *out = f;
    return SM_OK;
}

int sm_durable_write(sm_durable *f, const void *data, size_t len, sm_error *err)
{
    if (f->failed) {
        copy_error(err, &f->sticky);
        return f->sticky.code;
    }
    const char *p = data;
    while (len > 0) {
        ssize_t n;
        if (fault_fires(SM_FAULT_WRITE, f->path)) {
            n = -1;
        } else {
            n = write(f->fd, p, len);
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail_sys(f, "write", errno, err);
        }
        if (n == 0) {
            return fail_sys(f, "write", EIO, err); /* no progress and no error: give up */
        }
        p += n;
        len -= (size_t)n;
        f->size += (size_t)n;
    }
    return SM_OK;
}

size_t sm_durable_size(const sm_durable *f)
{
    return f->size;
}

/* fsync + close of the directory; returns 0 or an errno. `fault_path` is what the hook sees. */
static int fsync_dir_errno(const char *dir, const char *fault_path)
{
    if (fault_fires(SM_FAULT_FSYNC_DIR, fault_path)) {
        return errno;
    }
    int fd;
    do {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return errno;
    }
    int rc;
    do {
        rc = fsync(fd);
    } while (rc != 0 && errno == EINTR);
    int e = rc != 0 ? errno : 0;
    close(fd);
    return e;
}

int sm_fsync_dir(const char *dir, sm_error *err)
{
    int e = fsync_dir_errno(dir, dir);
    if (e) {
        return sm_error_sys(err, SM_ERR_IO, e, "fsync dir %s", dir);
    }
    return SM_OK;
}

/* Moves tmp to path without replacing: renameat2(RENAME_NOREPLACE), or link + unlink where the
 * file system or kernel lacks it. Returns 0 or an errno (EEXIST: someone was first) and names
 * the failing call in *step. */
static int move_noreplace(sm_durable *f, const char **step)
{
    *step = "rename";
    if (fault_fires(SM_FAULT_RENAME, f->path)) {
        if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
            return errno;
        }
    } else if (renameat2(AT_FDCWD, f->tmp, AT_FDCWD, f->path, RENAME_NOREPLACE) == 0) {
        f->tmp_exists = false;
        return 0;
    } else if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
        return errno;
    }
    /* No RENAME_NOREPLACE here: link() also refuses an existing name, atomically. */
    *step = "link";
    if (fault_fires(SM_FAULT_RENAME, f->path) || link(f->tmp, f->path) != 0) {
        return errno;
    }
    if (unlink(f->tmp) == 0) {
        f->tmp_exists = false;
    } else {
        /* The file is in place; a stray temporary is untidy, not wrong. */
        sm_log_warn("durable", "write %s: committed, but removing %s failed: %s", f->path, f->tmp,
                    strerror(errno));
    }
    return 0;
}

int sm_durable_commit(sm_durable *f, sm_error *err)
{
    int rc;
    if (f->failed) {
        copy_error(err, &f->sticky);
        goto fail;
    }

    for (;;) {
        if (fault_fires(SM_FAULT_FSYNC, f->path)) {
            rc = -1;
        } else {
            rc = fsync(f->fd);
        }
        if (rc == 0 || errno != EINTR) {
            break;
        }
    }
    if (rc != 0) {
        fail_sys(f, "fsync", errno, err);
        goto fail;
    }
    rc = close(f->fd);
    f->fd = -1;
    if (rc != 0 && errno != EINTR) { /* EINTR from close: the fd is gone, data was synced */
        fail_sys(f, "close", errno, err);
        goto fail;
    }

    const char *step = "rename";
    int e;
    if (f->mode == SM_DURABLE_NOREPLACE) {
        e = move_noreplace(f, &step);
        if (e == EEXIST) {
            sm_error_set(&f->sticky, SM_ERR_CONFLICT, "write %s: already exists (another writer?)",
                         f->path);
            f->sticky.sys_errno = EEXIST;
            f->failed = true;
            copy_error(err, &f->sticky);
            goto fail;
        }
    } else if (fault_fires(SM_FAULT_RENAME, f->path) || rename(f->tmp, f->path) != 0) {
        e = errno;
    } else {
        e = 0;
        f->tmp_exists = false;
    }
    if (e) {
        fail_sys(f, step, e, err);
        goto fail;
    }

    e = fsync_dir_errno(f->dir, f->path);
    if (e) {
        /* The file is visible now and stays (see the file comment); only say so. */
        fail_sys(f, "fsync dir", e, NULL);
        size_t len = strlen(f->sticky.msg);
        snprintf(f->sticky.msg + len, sizeof f->sticky.msg - len,
                 " (the file is in place but may not survive a crash)");
        copy_error(err, &f->sticky);
        goto fail;
    }
    durable_free(f);
    return SM_OK;

fail:
    rc = f->sticky.code;
    sm_durable_abort(f);
    return rc;
}

int sm_durable_write_file(const char *path, const void *data, size_t len, sm_durable_mode mode,
                          sm_error *err)
{
    sm_durable *f;
    int rc = sm_durable_open(path, mode, &f, err);
    if (rc) {
        return rc;
    }
    rc = sm_durable_write(f, data, len, err);
    if (rc) {
        sm_durable_abort(f);
        return rc;
    }
    return sm_durable_commit(f, err);
}

int sm_mkdir_p(const char *path, sm_error *err)
{
    if (!path || *path == '\0') {
        return sm_error_set(err, SM_ERR_USAGE, "mkdir: empty path");
    }
    char *p = strdup(path);
    if (!p) {
        return sm_error_set(err, SM_ERR_NOMEM, "mkdir %s: out of memory", path);
    }
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/') {
        p[--len] = '\0';
    }
    /* Each prefix ending before a '/', then the whole path. */
    for (char *s = p + 1;; s++) {
        bool last = *s == '\0';
        if (*s != '/' && !last) {
            continue;
        }
        if (s[-1] == '/') { /* "a//b": nothing between the slashes */
            if (last) {
                break;
            }
            continue;
        }
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            sm_error_sys(err, SM_ERR_IO, e, "mkdir %s", p);
            free(p);
            return SM_ERR_IO;
        }
        if (last) {
            break;
        }
        *s = '/';
    }
    struct stat st;
    if (stat(p, &st) != 0) {
        int e = errno;
        sm_error_sys(err, SM_ERR_IO, e, "mkdir %s", p);
        free(p);
        return SM_ERR_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        sm_error_sys(err, SM_ERR_IO, ENOTDIR, "mkdir %s", p);
        free(p);
        return SM_ERR_IO;
    }
    free(p);
    return SM_OK;
}

int sm_read_file(const char *path, size_t max_len, char **data_out, size_t *len_out, sm_error *err)
{
    *data_out = NULL;
    if (len_out) {
        *len_out = 0;
    }
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return sm_error_sys(err, SM_ERR_IO, errno, "read %s", path);
    }
    char *buf = NULL;
    int rc = SM_OK;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = sm_error_sys(err, SM_ERR_IO, errno, "read %s", path);
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = sm_error_sys(err, SM_ERR_IO, EISDIR, "read %s", path);
        goto done;
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_len) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "read %s: %lld bytes is more than the limit of %zu",
                          path, (long long)st.st_size, max_len);
        goto done;
    }
    /* Room for max_len + 1 bytes at most: the extra byte tells a file that grew past the limit
     * (or a pipe longer than it) from one that ends exactly there. */
    size_t lim = max_len < SIZE_MAX - 1 ? max_len + 1 : SIZE_MAX - 1;
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
    if (cap > lim) {
        cap = lim;
    }
    buf = malloc(cap + 1);
    if (!buf) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "read %s: out of memory", path);
        goto done;
    }
    size_t len = 0;
    for (;;) {
        if (len == cap) {
            if (len > max_len) {
                break;
            }
            size_t ncap = cap < 2048 ? 4096 : cap * 2;
            if (ncap > lim || ncap < cap) {
                ncap = lim;
            }
            char *nbuf = realloc(buf, ncap + 1);
            if (!nbuf) {
                rc = sm_error_set(err, SM_ERR_NOMEM, "read %s: out of memory", path);
                goto done;
            }
            buf = nbuf;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = sm_error_sys(err, SM_ERR_IO, errno, "read %s", path);
            goto done;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    if (len > max_len) {
        rc = sm_error_set(err, SM_ERR_NOMEM, "read %s: more than the limit of %zu bytes", path,
                          max_len);
        goto done;
    }
    buf[len] = '\0';
    *data_out = buf;
    buf = NULL;
    if (len_out) {
        *len_out = len;
    }

done:
    free(buf);
    close(fd);
    return rc;
}
