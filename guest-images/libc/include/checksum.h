/* checksum.h - x86vmx libc extension: order-sensitive 64-bit checksum the workloads print.
   Each value is folded in through the splitmix64 finalizer; bytes are folded 8 at a time
   (little-endian), with the length folded in last. Not cryptographic. */
#ifndef _X86VMX_CHECKSUM_H
#define _X86VMX_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t h;
    uint64_t n;
} cksum_t;

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
    return z ^ (z >> 31);
}

static inline void cksum_init(cksum_t *c)
{
    c->h = 0x6a09e667f3bcc909UL;
    c->n = 0;
}

static inline void cksum_u64(cksum_t *c, uint64_t v)
{
    c->n++;
    c->h = mix64(c->h ^ (v + c->n * 0x9e3779b97f4a7c15UL));
}

static inline void cksum_bytes(cksum_t *c, const void *p, size_t len)
{
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        __builtin_memcpy(&v, b + i, 8);
        cksum_u64(c, v);
    }
    uint64_t tail = 0;
    for (size_t k = 0; i + k < len; k++) tail |= (uint64_t)b[i + k] << (8 * k);
    cksum_u64(c, tail);
    cksum_u64(c, len);
}

static inline uint64_t cksum_value(const cksum_t *c) { return mix64(c->h + c->n); }

#endif
