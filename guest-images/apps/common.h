/* common.h - shared helpers of the x86vmx workload programs: command-line sizes, the checksum
   line and self-check reporting. Every program prints only values that depend on its inputs
   (never addresses or times), so its output is the same natively and in the emulator. */
#ifndef X86VMX_APPS_COMMON_H
#define X86VMX_APPS_COMMON_H

#include <checksum.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* argv[i] as an unsigned number (decimal or 0x hex) in [lo, hi]; def when absent. Exits with
   status 2 and a usage message for anything else. */
static unsigned long arg_num(int argc, char **argv, int i, unsigned long def, unsigned long lo,
                             unsigned long hi, const char *usage)
{
    if (i >= argc) return def;
    char *end;
    unsigned long v = strtoul(argv[i], &end, 0);
    if (*argv[i] == 0 || *end != 0 || *argv[i] == '-' || v < lo || v > hi) {
        fprintf(stderr, "usage: %s %s\n", argv[0], usage);
        fprintf(stderr, "argument %d (%s) must be a number from %lu to %lu\n", i, argv[i], lo, hi);
        exit(2);
    }
    return v;
}

/* Allocation that cannot fail: out of memory ends the program with a message and status 3. */
static void out_of_memory(unsigned long bytes)
{
    fflush(stdout);
    fprintf(stderr, "out of memory (request of %lu bytes)\n", bytes);
    exit(3);
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) out_of_memory(n);
    return p;
}

static inline void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (!p) out_of_memory(count * size);
    return p;
}

static inline void *xrealloc(void *old, size_t n)
{
    void *p = realloc(old, n);
    if (!p) out_of_memory(n);
    return p;
}

/* Prints "check: WHAT ok" or "check: WHAT FAILED" and remembers failures for finish(). */
static int checks_failed;
static void check(const char *what, int ok)
{
    printf("check: %s %s\n", what, ok ? "ok" : "FAILED");
    if (!ok) checks_failed++;
}

/* Last line of every program: the checksum; exit status 0 unless a check failed. */
static int finish(const cksum_t *c)
{
    printf("checksum=0x%016lx\n", (unsigned long)cksum_value(c));
    return checks_failed ? 1 : 0;
}

#endif
