/* assert.c - x86vmx libc: the failure path of assert(). */
#define __X86VMX_LIBC_INTERNAL
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

void __assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fflush(stdout);
    dprintf(2, "%s:%d: %s: assertion failed: %s\n", file, line, func, expr);
    abort();
}
