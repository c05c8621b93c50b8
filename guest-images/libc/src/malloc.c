/* malloc.c - x86vmx libc: the memory allocator.
 *
 * Every block starts with a 16-byte header {info, magic}, so user pointers are 16-byte aligned.
 *
 * Small blocks (header + request <= 64 KiB) come in 43 size classes: 32..128 bytes in steps of
 * 16, then four classes per power of two (160, 192, 224, 256, 320, ... 65536). Each class has a
 * LIFO free list threaded through the freed blocks themselves; a block never changes class and is
 * never split or merged. When a class's list is empty, a new block is carved from the top of the
 * heap, which grows with brk in steps of at least 128 KiB (page-aligned). Fresh heap pages are
 * thus touched for the first time by the program, which is what makes the kernel zero them. If
 * brk fails, 1 MiB (or larger) arenas are mapped with mmap instead. Heap memory is never given
 * back.
 *
 * Large blocks (header + request > 64 KiB) are mapped individually with mmap (whole pages) and
 * returned to the kernel with munmap by free.
 *
 * info is the class index for small blocks and the mapping length for large ones. magic tells
 * small, large and freed blocks apart; free() of anything else aborts with a message.
 */
#define __X86VMX_LIBC_INTERNAL
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HDR 16
#define NCLASSES 43
#define SMALL_MAX 65536UL
#define PAGE 4096UL
#define BRK_STEP (128 * 1024UL)
#define ARENA_MMAP (1024 * 1024UL)

#define MAGIC_SMALL 0x736d616c6c426c6bUL /* "smallBlk" */
#define MAGIC_LARGE 0x6c61726765426c6bUL /* "largeBlk" */
#define MAGIC_FREE 0x66726565426c6b21UL  /* "freeBlk!" */

struct hdr {
    size_t info;
    size_t magic;
};

struct free_block {
    struct hdr h;
    struct free_block *next;
};

static struct free_block *free_lists[NCLASSES];
static uintptr_t arena_cur, arena_end; /* unused part of the current arena */
static int brk_failed;
static struct malloc_stats stats;

static size_t class_size(unsigned idx)
{
    if (idx < 7) return (idx + 2) * 16;
    unsigned k = idx - 7, b = 7 + k / 4, sub = k % 4;
    return (size_t)(5 + sub) << (b - 2);
}

/* Smallest class whose block size is >= total (32 <= total <= SMALL_MAX). */
static unsigned class_of(size_t total)
{
    if (total <= 128) return (unsigned)((total + 15) / 16 - 2);
    unsigned b = 63 - (unsigned)__builtin_clzl(total - 1); /* 2^b < total <= 2^(b+1) */
    unsigned sub = (unsigned)((total - 1) >> (b - 2)) & 3;
    return 7 + (b - 7) * 4 + sub;
}

static uintptr_t round_up(uintptr_t v, uintptr_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* Makes at least `need` bytes available at arena_cur. */
static int arena_grow(size_t need)
{
    if (!brk_failed) {
        uintptr_t top = (uintptr_t)sbrk(0);
        if (top != (uintptr_t)-1) {
            if (top != arena_end) arena_cur = arena_end = round_up(top, HDR); /* first use, or brk moved */
            uintptr_t new_end = round_up(arena_end + (need > BRK_STEP ? need : BRK_STEP), PAGE);
            if (sbrk((long)(new_end - top)) != (void *)-1) {
                stats.heap_bytes += new_end - top;
                arena_end = new_end;
                return 0;
            }
        }
        brk_failed = 1;
    }
    size_t len = round_up(need > ARENA_MMAP ? need : ARENA_MMAP, PAGE);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    stats.heap_bytes += len;
    arena_cur = (uintptr_t)p;
    arena_end = arena_cur + len;
    return 0;
}

static void *large_alloc(size_t size)
{
    if (size > SIZE_MAX - HDR - PAGE) return NULL;
    size_t len = round_up(size + HDR, PAGE);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    struct hdr *h = p;
    h->info = len;
    h->magic = MAGIC_LARGE;
    stats.large_allocs++;
    stats.mapped_bytes += len;
    return (char *)p + HDR;
}

void *malloc(size_t size)
{
    if (size == 0) size = 1;
    if (size > SMALL_MAX - HDR) return large_alloc(size);
    unsigned idx = class_of(size + HDR);
    struct free_block *b = free_lists[idx];
    if (b) {
        free_lists[idx] = b->next;
    } else {
        size_t bs = class_size(idx);
        if (arena_end - arena_cur < bs && arena_grow(bs) != 0) return NULL;
        b = (struct free_block *)arena_cur;
        arena_cur += bs;
    }
    b->h.info = idx;
    b->h.magic = MAGIC_SMALL;
    stats.small_allocs++;
    return (char *)b + HDR;
}

static __attribute__((noreturn)) void bad_pointer(const char *fn, struct hdr *h)
{
    fflush(stdout);
    dprintf(2, "%s(): invalid pointer or double free (header magic 0x%lx)\n", fn, (unsigned long)h->magic);
    abort();
}

void free(void *ptr)
{
    if (!ptr) return;
    struct hdr *h = (struct hdr *)((char *)ptr - HDR);
    if (h->magic == MAGIC_SMALL && h->info < NCLASSES) {
        struct free_block *b = (struct free_block *)h;
        unsigned idx = (unsigned)h->info;
        h->magic = MAGIC_FREE;
        b->next = free_lists[idx];
        free_lists[idx] = b;
        stats.small_frees++;
    } else if (h->magic == MAGIC_LARGE) {
        size_t len = h->info;
        stats.large_frees++;
        stats.mapped_bytes -= len;
        munmap(h, len);
    } else {
        bad_pointer("free", h);
    }
}

/* Usable bytes of a live block. */
static size_t capacity(void *ptr)
{
    struct hdr *h = (struct hdr *)((char *)ptr - HDR);
    if (h->magic == MAGIC_SMALL && h->info < NCLASSES) return class_size((unsigned)h->info) - HDR;
    if (h->magic == MAGIC_LARGE) return h->info - HDR;
    bad_pointer("realloc", h);
}

void *calloc(size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) return NULL;
    void *p = malloc(total);
    if (p && total <= SMALL_MAX - HDR) memset(p, 0, total); /* large blocks are fresh zero pages */
    return p;
}

void *realloc(void *ptr, size_t size)
{
    if (!ptr) return malloc(size);
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    size_t cap = capacity(ptr);
    /* Keep the block if it is big enough and the request belongs to the same kind of block. */
    if (size <= cap && (size > SMALL_MAX - HDR) == (cap > SMALL_MAX - HDR)) return ptr;
    void *q = malloc(size);
    if (!q) return NULL;
    memcpy(q, ptr, size < cap ? size : cap);
    free(ptr);
    return q;
}

void malloc_get_stats(struct malloc_stats *out)
{
    *out = stats;
}
