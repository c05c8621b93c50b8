/* format.h - x86vmx libc internal: the printf formatting engine, writing through a sink. */
#ifndef _X86VMX_FORMAT_H
#define _X86VMX_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

typedef void (*format_sink)(void *ctx, const char *s, size_t n);

/* Formats fmt with ap through sink; returns the number of characters produced. */
int __format(format_sink sink, void *ctx, const char *fmt, va_list ap);

#endif
