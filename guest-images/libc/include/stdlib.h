/* stdlib.h - x86vmx libc: memory allocation, process exit, number conversion. */
#ifndef _X86VMX_STDLIB_H
#define _X86VMX_STDLIB_H

#include <stddef.h>

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

void *malloc(size_t size);
void free(void *ptr);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);

/* Allocator counters (for programs that report their own behaviour). */
struct malloc_stats {
    unsigned long small_allocs;   /* malloc calls served from the size classes */
    unsigned long small_frees;
    unsigned long large_allocs;   /* blocks mapped individually with mmap */
    unsigned long large_frees;    /* ... and returned with munmap */
    unsigned long heap_bytes;     /* bytes obtained from brk (or fallback mmap arenas) */
    unsigned long mapped_bytes;   /* bytes currently mapped for large blocks */
};
void malloc_get_stats(struct malloc_stats *out);

__attribute__((noreturn)) void exit(int status);
__attribute__((noreturn)) void _Exit(int status);
__attribute__((noreturn)) void abort(void);
int atexit(void (*fn)(void));

extern char **environ;
char *getenv(const char *name);

int atoi(const char *s);
long atol(const char *s);
long strtol(const char *restrict s, char **restrict end, int base);
long long strtoll(const char *restrict s, char **restrict end, int base);
unsigned long strtoul(const char *restrict s, char **restrict end, int base);
unsigned long long strtoull(const char *restrict s, char **restrict end, int base);

int abs(int x);
long labs(long x);

#endif
