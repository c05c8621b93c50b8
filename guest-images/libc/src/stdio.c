/* stdio.c - x86vmx libc: the stdout/stderr streams and unformatted output.
   stdout collects output in a 4 KiB buffer and writes it out at each newline (so one line is one
   write system call), when the buffer fills, on fflush and at exit. stderr writes through. */
#define __X86VMX_LIBC_INTERNAL
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "file.h"

static char stdout_buf[4096];
static struct __x86vmx_file stdout_file = {1, 0, 0, sizeof stdout_buf, stdout_buf};
static struct __x86vmx_file stderr_file = {2, 0, 0, 0, NULL};
FILE *const stdout = &stdout_file;
FILE *const stderr = &stderr_file;

int fflush(FILE *f)
{
    if (!f) f = stdout;
    if (f->len == 0) return f->error ? EOF : 0;
    if (write_all(f->fd, f->buf, f->len) != (ssize_t)f->len) f->error = 1;
    f->len = 0;
    return f->error ? EOF : 0;
}

void __file_put(FILE *f, const char *s, size_t n)
{
    if (f->cap == 0) {
        if (write_all(f->fd, s, n) != (ssize_t)n) f->error = 1;
        return;
    }
    if (n > f->cap - f->len) {
        fflush(f);
        if (n >= f->cap) {
            if (write_all(f->fd, s, n) != (ssize_t)n) f->error = 1;
            return;
        }
    }
    memcpy(f->buf + f->len, s, n);
    f->len += n;
    if (memchr(s, '\n', n)) fflush(f);
}

void __file_sink(void *ctx, const char *s, size_t n)
{
    __file_put(ctx, s, n);
}

int fputc(int c, FILE *f)
{
    char ch = (char)c;
    __file_put(f, &ch, 1);
    return f->error ? EOF : (unsigned char)ch;
}

int putchar(int c)
{
    return fputc(c, stdout);
}

int fputs(const char *s, FILE *f)
{
    __file_put(f, s, strlen(s));
    return f->error ? EOF : 0;
}

int puts(const char *s)
{
    size_t n = strlen(s);
    FILE *f = stdout;
    /* String and newline go out in one piece when they fit. */
    if (n < f->cap - f->len) {
        memcpy(f->buf + f->len, s, n);
        f->len += n;
        __file_put(f, "\n", 1);
    } else {
        __file_put(f, s, n);
        __file_put(f, "\n", 1);
    }
    return f->error ? EOF : 0;
}

size_t fwrite(const void *buf, size_t size, size_t count, FILE *f)
{
    if (size == 0 || count == 0) return 0;
    __file_put(f, buf, size * count);
    return f->error ? 0 : count;
}
