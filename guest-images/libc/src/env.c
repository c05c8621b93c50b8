/* env.c - x86vmx libc: the environment (set by __libc_start) and getenv. */
#define __X86VMX_LIBC_INTERNAL
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

char **environ;

char *getenv(const char *name)
{
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
    }
    return NULL;
}
