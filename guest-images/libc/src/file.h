/* file.h - x86vmx libc internal: the FILE structure behind stdout and stderr. */
#ifndef _X86VMX_FILE_H
#define _X86VMX_FILE_H

#include <stddef.h>
#include <stdio.h>

struct __x86vmx_file {
    int fd;
    int error;       /* a write failed */
    size_t len;      /* bytes waiting in buf */
    size_t cap;      /* 0: unbuffered */
    char *buf;
};

/* Appends n bytes to f (writing through when unbuffered); flushes if they contain a newline. */
void __file_put(FILE *f, const char *s, size_t n);
/* The format_sink for FILE targets (ctx is the FILE). */
void __file_sink(void *ctx, const char *s, size_t n);

#endif
