/* snprintf.c - x86vmx libc: formatted output into a caller's buffer (always NUL-terminated when
   size > 0; returns the length the full output would have). */
#define __X86VMX_LIBC_INTERNAL
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "format.h"

struct buf_out {
    char *buf;
    size_t size; /* capacity excluding the terminator */
    size_t len;
};

static void buf_sink(void *ctx, const char *s, size_t n)
{
    struct buf_out *o = ctx;
    size_t room = o->size - o->len;
    size_t k = n < room ? n : room;
    memcpy(o->buf + o->len, s, k);
    o->len += k;
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap)
{
    struct buf_out o = {buf, size ? size - 1 : 0, 0};
    int n = __format(buf_sink, &o, fmt, ap);
    if (size) buf[o.len] = 0;
    return n;
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
