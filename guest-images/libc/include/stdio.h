/* stdio.h - x86vmx libc: output only. stdout (fd 1) is buffered and flushed at every newline,
   when its buffer fills, by fflush and at exit; stderr (fd 2) is unbuffered. There is no input
   stream and no file opening: the guest kernel knows fds 0, 1 and 2 only. */
#ifndef _X86VMX_STDIO_H
#define _X86VMX_STDIO_H

#include <stddef.h>
#include <stdarg.h>

#define EOF (-1)

typedef struct __x86vmx_file FILE;
extern FILE *const stdout;
extern FILE *const stderr;

int fputc(int c, FILE *f);
int putchar(int c);
int fputs(const char *s, FILE *f);
int puts(const char *s);
size_t fwrite(const void *buf, size_t size, size_t count, FILE *f);
int fflush(FILE *f);

/* printf subset. Conversions: d i u x X o c s p %. Flags: - 0 + space #. Width and precision
   (numbers or *). Length modifiers: hh h l ll z t j. No floating point. */
int printf(const char *restrict fmt, ...) __attribute__((format(printf, 1, 2)));
int fprintf(FILE *restrict f, const char *restrict fmt, ...) __attribute__((format(printf, 2, 3)));
int dprintf(int fd, const char *restrict fmt, ...) __attribute__((format(printf, 2, 3)));
int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...) __attribute__((format(printf, 3, 4)));
int vprintf(const char *restrict fmt, va_list ap);
int vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap);
int vdprintf(int fd, const char *restrict fmt, va_list ap);
int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap);

#endif
