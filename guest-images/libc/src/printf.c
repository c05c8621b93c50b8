/* printf.c - x86vmx libc: formatted output to streams and file descriptors. */
#define __X86VMX_LIBC_INTERNAL
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "file.h"
#include "format.h"

int vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap)
{
    int n = __format(__file_sink, f, fmt, ap);
    return f->error ? -1 : n;
}

int fprintf(FILE *restrict f, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(f, fmt, ap);
    va_end(ap);
    return n;
}

int vprintf(const char *restrict fmt, va_list ap)
{
    return vfprintf(stdout, fmt, ap);
}

int printf(const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(stdout, fmt, ap);
    va_end(ap);
    return n;
}

/* dprintf: collects output in a stack buffer and writes it when full and at the end. */
struct fd_out {
    int fd;
    int error;
    size_t len;
    char buf[256];
};

static void fd_flush(struct fd_out *o)
{
    if (o->len && write_all(o->fd, o->buf, o->len) != (ssize_t)o->len) o->error = 1;
    o->len = 0;
}

static void fd_sink(void *ctx, const char *s, size_t n)
{
    struct fd_out *o = ctx;
    if (n > sizeof o->buf - o->len) {
        fd_flush(o);
        if (n >= sizeof o->buf) {
            if (write_all(o->fd, s, n) != (ssize_t)n) o->error = 1;
            return;
        }
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

int vdprintf(int fd, const char *restrict fmt, va_list ap)
{
    struct fd_out o;
    o.fd = fd;
    o.error = 0;
    o.len = 0;
    int n = __format(fd_sink, &o, fmt, ap);
    fd_flush(&o);
    return o.error ? -1 : n;
}

int dprintf(int fd, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vdprintf(fd, fmt, ap);
    va_end(ap);
    return n;
}
