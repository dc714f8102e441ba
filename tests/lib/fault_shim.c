/* fault_shim.c - an LD_PRELOAD library that makes writes to chosen files fail, the way a full
 * disk (ENOSPC) or a failing one (EIO) does, so that the fault tests (tests/system/faults*)
 * can check that every writer of micl exits cleanly: exit 1, a message naming the file, no
 * partial file, the previous file untouched.
 *
 * Configured by the environment:
 *   MICL_FAULT_PATH   substring of the path as opened; only those files fail (required)
 *   MICL_FAULT_AFTER  bytes that may be written, over all matching files, before writes fail
 *                     (default 0); the write that crosses the limit is cut short, as on a disk
 *                     that fills up
 *   MICL_FAULT_ERRNO  ENOSPC (default) or EIO
 *   MICL_FAULT_ON     write (default): write, pwrite, writev and stdio fail; fsync: only
 *                     fsync and fdatasync fail, after MICL_FAULT_AFTER bytes were written;
 *                     kill: the process kills itself with SIGKILL at the write that would
 *                     cross the limit: kill -9 in the middle of writing that file; sigint,
 *                     sighup, sigterm: the same with that signal, which micl handles
 *
 * A file descriptor is tracked from open, open64, openat, creat or fopen of a matching path to
 * its close. libhdf5 (the sec2 driver) writes with pwrite and write, which are interposed here.
 * glibc's stdio writes through an internal write that no preloaded library sees, so the stdio
 * output functions are interposed instead: past the limit they set the stream's error flag and
 * errno as glibc does when its write fails. Under ASan the sanitizer's runtime must come first
 * in LD_PRELOAD (the tests put the binary's libasan before this library); its interceptors
 * then call these functions as the "real" ones. Every message of the shim starts "fault_shim:".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD 65536

static int g_ready;          /* configuration read */
static const char *g_path;   /* substring, NULL = shim off */
static long long g_after;    /* bytes allowed */
static long long g_written;  /* bytes written to matching files so far */
static int g_errno = ENOSPC; /* the errno of a failure */
static int g_on_fsync;       /* 1: fail fsync/fdatasync instead of writes */
static int g_signal;         /* a signal to raise instead of a failing write, or 0 */
static unsigned char g_tracked[MAX_FD];

static void configure(void) {
    if (g_ready) return;
    g_ready = 1;
    const char *p = getenv("MICL_FAULT_PATH");
    g_path = p && *p ? p : NULL;
    const char *a = getenv("MICL_FAULT_AFTER");
    g_after = a ? atoll(a) : 0;
    const char *e = getenv("MICL_FAULT_ERRNO");
    if (e && strcmp(e, "EIO") == 0) g_errno = EIO;
    const char *on = getenv("MICL_FAULT_ON");
    g_on_fsync = on && strcmp(on, "fsync") == 0;
    const char *names[] = {"kill", "sigint", "sighup", "sigterm"};
    const int sigs[] = {SIGKILL, SIGINT, SIGHUP, SIGTERM};
    for (int i = 0; on && i < 4; i++)
        if (strcmp(on, names[i]) == 0) g_signal = sigs[i];
}

static void *next(const char *name) {
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        static const char msg[] = "fault_shim: a libc function is missing\n";
        ssize_t (*w)(int, const void *, size_t) = dlsym(RTLD_NEXT, "write");
        if (w) w(2, msg, sizeof msg - 1);
        abort();
    }
    return f;
}

/* Declares real_, the next definition of fn (libc's, or the sanitizer's interceptor). */
#define NEXT(fn)                                                                                   \
    static __typeof__(&fn) real_;                                                                  \
    if (!real_) real_ = (__typeof__(&fn))next(#fn)

static size_t real_fwrite(const void *buf, size_t size, size_t n, FILE *f) {
    NEXT(fwrite);
    return real_(buf, size, n, f);
}

static void track(int fd, const char *path) {
    configure();
    if (fd < 0 || fd >= MAX_FD) return;
    g_tracked[fd] = g_path && path && strstr(path, g_path) != NULL;
}

static int tracked(int fd) {
    configure();
    return g_path && fd >= 0 && fd < MAX_FD && g_tracked[fd];
}

/* How many of n bytes may be written to fd now (n when fd is not tracked); 0 with errno set
 * when none may. */
static size_t allowance(int fd, size_t n) {
    if (!tracked(fd) || g_on_fsync || n == 0) return n;
    long long left = g_after - g_written;
    if (g_signal && left < (long long)n) {
        int sig = g_signal;
        g_signal = 0; /* once: micl's handler may write on its way out */
        raise(sig);
    }
    if (left <= 0) {
        errno = g_errno;
        return 0;
    }
    return (long long)n < left ? n : (size_t)left;
}

static void count(int fd, ssize_t done) {
    if (tracked(fd) && done > 0) g_written += done;
}

/* ---- opening and closing ----------------------------------------------------------------- */

static mode_t mode_arg(int flags, va_list ap) {
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...) {
    NEXT(open);
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    int fd = real_(path, flags, m);
    track(fd, path);
    return fd;
}

int open64(const char *path, int flags, ...) {
    NEXT(open64);
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    int fd = real_(path, flags, m);
    track(fd, path);
    return fd;
}

int openat(int dir, const char *path, int flags, ...) {
    NEXT(openat);
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    int fd = real_(dir, path, flags, m);
    track(fd, path);
    return fd;
}

int creat(const char *path, mode_t m) {
    NEXT(creat);
    int fd = real_(path, m);
    track(fd, path);
    return fd;
}

FILE *fopen(const char *path, const char *mode) {
    NEXT(fopen);
    FILE *f = real_(path, mode);
    if (f) track(fileno(f), path);
    return f;
}

FILE *fopen64(const char *path, const char *mode) {
    NEXT(fopen64);
    FILE *f = real_(path, mode);
    if (f) track(fileno(f), path);
    return f;
}

int close(int fd) {
    NEXT(close);
    if (fd >= 0 && fd < MAX_FD) g_tracked[fd] = 0;
    return real_(fd);
}

int fclose(FILE *f) {
    NEXT(fclose);
    int fd = f ? fileno(f) : -1;
    int r = real_(f);
    if (fd >= 0 && fd < MAX_FD) g_tracked[fd] = 0;
    return r;
}

/* ---- POSIX writes and syncs -------------------------------------------------------------- */

ssize_t write(int fd, const void *buf, size_t n) {
    NEXT(write);
    size_t k = allowance(fd, n);
    if (n && !k) return -1;
    ssize_t r = real_(fd, buf, k);
    count(fd, r);
    return r;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    NEXT(pwrite);
    size_t k = allowance(fd, n);
    if (n && !k) return -1;
    ssize_t r = real_(fd, buf, k, off);
    count(fd, r);
    return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) {
    NEXT(pwrite64);
    size_t k = allowance(fd, n);
    if (n && !k) return -1;
    ssize_t r = real_(fd, buf, k, off);
    count(fd, r);
    return r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt) {
    NEXT(writev);
    size_t total = 0;
    for (int i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    size_t k = allowance(fd, total);
    if (total && !k) return -1;
    if (k < total) { /* a short write: the first buffers, as far as the limit allows */
        ssize_t done = 0;
        for (int i = 0; i < cnt && (size_t)done < k; i++) {
            size_t part = iov[i].iov_len < k - (size_t)done ? iov[i].iov_len : k - (size_t)done;
            ssize_t r = write(fd, iov[i].iov_base, part);
            if (r < 0) return done ? done : -1;
            done += r;
        }
        return done;
    }
    ssize_t r = real_(fd, iov, cnt);
    count(fd, r);
    return r;
}

static int sync_fails(int fd) {
    if (!tracked(fd) || !g_on_fsync || g_written < g_after) return 0;
    errno = g_errno;
    return 1;
}

int fsync(int fd) {
    NEXT(fsync);
    return sync_fails(fd) ? -1 : real_(fd);
}

int fdatasync(int fd) {
    NEXT(fdatasync);
    return sync_fails(fd) ? -1 : real_(fd);
}

/* ---- stdio ------------------------------------------------------------------------------- */

/* _IO_ERR_SEEN of <bits/types/struct_FILE.h>: what ferror reports. */
#define STREAM_ERROR_FLAG 0x0020

/* How many of n bytes may go into stream f; sets its error flag and errno when not all. */
static size_t stream_allowance(FILE *f, size_t n) {
    int fd = f ? fileno(f) : -1;
    if (!tracked(fd) || g_on_fsync) return n;
    size_t k = allowance(fd, n);
    if (k < n) {
        f->_flags |= STREAM_ERROR_FLAG;
        errno = g_errno;
    }
    g_written += (long long)k; /* counted as handed over: stdio's own write is not seen */
    return k;
}

size_t fwrite(const void *buf, size_t size, size_t n, FILE *f) {
    if (!size || !n) return real_fwrite(buf, size, n, f);
    size_t k = stream_allowance(f, size * n) / size;
    return k ? real_fwrite(buf, size, k, f) : 0;
}

int fputs(const char *s, FILE *f) {
    NEXT(fputs);
    size_t n = strlen(s), k = stream_allowance(f, n);
    if (k < n) {
        if (k) real_fwrite(s, 1, k, f);
        return EOF;
    }
    return real_(s, f);
}

int fputc(int c, FILE *f) {
    NEXT(fputc);
    return stream_allowance(f, 1) ? real_(c, f) : EOF;
}

int putc(int c, FILE *f) {
    return fputc(c, f);
}

int vfprintf(FILE *f, const char *fmt, va_list ap) {
    NEXT(vfprintf);
    int fd = fileno(f);
    if (!tracked(fd) || g_on_fsync) return real_(f, fmt, ap);
    char small[4096];
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(small, sizeof small, fmt, cp);
    va_end(cp);
    if (n < 0) return n;
    char *text = (size_t)n < sizeof small ? small : malloc((size_t)n + 1);
    if (!text) return -1;
    if (text != small) vsnprintf(text, (size_t)n + 1, fmt, ap);
    size_t k = stream_allowance(f, (size_t)n);
    size_t done = k ? real_fwrite(text, 1, k, f) : 0;
    if (text != small) free(text);
    return done < (size_t)n ? -1 : n;
}

int fprintf(FILE *f, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int __fprintf_chk(FILE *f, int flag, const char *fmt, ...) {
    (void)flag;
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap) {
    (void)flag;
    return vfprintf(f, fmt, ap);
}
