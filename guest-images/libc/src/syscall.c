/* syscall.c - x86vmx libc: errno conversion and the generic syscall() entry. */
#define __X86VMX_LIBC_INTERNAL
#include <errno.h>
#include <stdarg.h>
#include <unistd.h>
#include "syscall_raw.h"

long __syscall_ret(long r)
{
    if ((unsigned long)r > -4096UL) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

long syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
    long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
    va_end(ap);
    return __syscall_ret(__sys6(number, a, b, c, d, e, f));
}
