/* mem.c - x86vmx libc: memcpy, memmove, memset, memcmp, memchr.
   Blocks of 2 KiB and more use REP MOVSB / REP STOSB (fast-string microcode on current CPUs,
   which is also what common x86-64 libcs do at these sizes); smaller ones use 8-byte moves and a
   byte tail. Built with -fno-tree-loop-distribute-patterns so that gcc does not turn these loops
   back into calls to themselves. */
#define __X86VMX_LIBC_INTERNAL
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define REP_THRESHOLD 2048

typedef uint64_t __attribute__((may_alias, aligned(1))) u64u;

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (n >= REP_THRESHOLD) {
        __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
        return dst;
    }
    for (; n >= 8; n -= 8, d += 8, s += 8) *(u64u *)d = *(const u64u *)s;
    for (; n; n--) *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((uintptr_t)d - (uintptr_t)s >= n) return memcpy(dst, src, n); /* no harmful overlap */
    /* dst lies inside [src, src+n): copy from the end. */
    d += n;
    s += n;
    for (; n >= 8; n -= 8) {
        d -= 8;
        s -= 8;
        *(u64u *)d = *(const u64u *)s;
    }
    while (n--) *--d = *--s;
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    if (n >= REP_THRESHOLD) {
        __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
        return dst;
    }
    uint64_t v = (unsigned char)c * 0x0101010101010101UL;
    for (; n >= 8; n -= 8, d += 8) *(u64u *)d = v;
    for (; n; n--) *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n >= 8; n -= 8, x += 8, y += 8) {
        if (*(const u64u *)x != *(const u64u *)y) break;
    }
    for (; n; n--, x++, y++) {
        if (*x != *y) return *x - *y;
    }
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    for (; n; n--, p++) {
        if (*p == (unsigned char)c) return (void *)p;
    }
    return NULL;
}
