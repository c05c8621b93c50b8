/* lib.c - the few C library functions the kernel uses (gcc may also emit calls to memcpy/memset). */
#include "kernel.h"

void *memcpy(void *d, const void *s, size_t n) {
    void *ret = d;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return ret;
}

void *memset(void *d, int c, size_t n) {
    void *ret = d;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return ret;
}

void *memmove(void *d, const void *s, size_t n) {
    if ((u64)d <= (u64)s || (u64)d >= (u64)s + n)
        return memcpy(d, s, n);
    u8 *dd = (u8 *)d + n;
    const u8 *ss = (const u8 *)s + n;
    while (n--)
        *--dd = *--ss;
    return d;
}

int memcmp(const void *a, const void *b, size_t n) {
    const u8 *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b) {
    while (*a && *a == *b)
        a++, b++;
    return (u8)*a - (u8)*b;
}
