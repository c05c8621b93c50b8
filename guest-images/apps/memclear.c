/* memclear - models the guest kernel's clear_page_rep path (digest-000 §4): most whole-page writes
 * in the paper's guests were the kernel zeroing freshly allocated pages. Each round this program
 *   1. maps PAGES fresh anonymous pages (mmap), reads a few words of every page (they must be
 *      zero), writes a 64-byte record into every page, reads the records back, and unmaps them;
 *   2. grows the program break by PAGES pages (brk), does the same, and shrinks the break back.
 * Each page is touched for the first time by the program, so the kernel zeroes every one of them
 * (2 x PAGES pages per round); the program's own writes are 64 bytes per page.
 * The program does not use malloc (so the break belongs to it alone).
 *
 * usage: memclear [PAGES [ROUNDS]]       default: 64 pages x 16 rounds (2048 fresh pages, 8 MiB)
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "common.h"

#define USAGE "[PAGES [ROUNDS]]"
#define PAGE 4096UL

static unsigned long nonzero_words, bad_records;

/* Zero check, record write and read-back over `pages` fresh pages at base. */
static void touch(cksum_t *c, unsigned char *base, unsigned long pages, unsigned long round)
{
    for (unsigned long p = 0; p < pages; p++) {
        unsigned char *page = base + p * PAGE;
        /* four words spread over the page, at offsets that move with the page and round */
        for (unsigned k = 0; k < 4; k++) {
            unsigned long off = ((p * 97 + round * 31 + k * 1021) * 8) % PAGE;
            uint64_t w;
            memcpy(&w, page + off, 8);
            if (w != 0) nonzero_words++;
        }
        /* 64-byte record at a cache-line offset that depends on the page and round */
        uint64_t *rec = (uint64_t *)(page + ((p + round) % 64) * 64);
        for (unsigned k = 0; k < 8; k++) rec[k] = mix64((round << 40) ^ (p << 8) ^ k);
    }
    for (unsigned long p = 0; p < pages; p++) {
        const uint64_t *rec = (const uint64_t *)(base + p * PAGE + ((p + round) % 64) * 64);
        for (unsigned k = 0; k < 8; k++) {
            if (rec[k] != mix64((round << 40) ^ (p << 8) ^ k)) bad_records++;
            cksum_u64(c, rec[k]);
        }
    }
}

int main(int argc, char **argv)
{
    unsigned long pages = arg_num(argc, argv, 1, 64, 1, 1UL << 20, USAGE);
    unsigned long rounds = arg_num(argc, argv, 2, 16, 1, 1UL << 40, USAGE);
    printf("memclear: %lu rounds of %lu fresh pages by mmap and %lu by brk (models clear_page_rep)\n",
           rounds, pages, pages);

    cksum_t c;
    cksum_init(&c);
    unsigned long len = pages * PAGE, map_fail = 0, unmap_fail = 0, brk_fail = 0;

    /* Page-align the break once, so the brk rounds use whole pages only (a partial first page
       would not be given back by shrinking the break, nor zeroed when it grows again). */
    uintptr_t cur = (uintptr_t)sbrk(0);
    uintptr_t base = (cur + PAGE - 1) & ~(PAGE - 1);
    if (cur == (uintptr_t)-1 || (base != cur && sbrk((long)(base - cur)) == (void *)-1)) brk_fail++;

    for (unsigned long r = 0; r < rounds; r++) {
        unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            map_fail++;
        } else {
            touch(&c, m, pages, r);
            if (munmap(m, len) != 0) unmap_fail++;
        }

        if (!brk_fail) {
            unsigned char *b = sbrk((long)len);
            if (b == (void *)-1 || (uintptr_t)b != base) {
                brk_fail++;
            } else {
                touch(&c, b, pages, r + rounds);
                if (sbrk(-(long)len) == (void *)-1 || (uintptr_t)sbrk(0) != base) brk_fail++;
            }
        }
    }

    printf("fresh pages touched: %lu by mmap, %lu by brk\n", (rounds - map_fail) * pages,
           brk_fail ? 0UL : rounds * pages);
    check("mmap and munmap succeeded", map_fail == 0 && unmap_fail == 0);
    check("brk grew and shrank back", brk_fail == 0);
    check("fresh pages read as zero", nonzero_words == 0);
    check("records read back", bad_records == 0);
    cksum_u64(&c, rounds * pages);
    return finish(&c);
}
