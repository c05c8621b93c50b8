/* libc-check - self-test of the x86vmx libc (and of the system calls under it): printf
 * formatting, number parsing, memory and string functions, and the allocator (many sizes, both
 * small classes and mmapped blocks, contents kept across realloc, calloc zeroing on reuse, every
 * block freed at the end). One "check:" line per group; exit status 1 if any fails.
 *
 * usage: libc-check [ROUNDS]       default: 2 rounds of the allocator test
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <prng.h>
#include "common.h"

#define USAGE "[ROUNDS]"

static cksum_t ck;
static int fmt_bad;

#define EXPECT_FMT(expected, ...)                                                         \
    do {                                                                                  \
        char buf_[128];                                                                   \
        int n_ = snprintf(buf_, sizeof buf_, __VA_ARGS__);                                \
        if (strcmp(buf_, expected) != 0 || n_ != (int)strlen(expected)) {                 \
            printf("  format %s: got \"%s\" (%d), expected \"%s\"\n", #__VA_ARGS__, buf_, \
                   n_, expected);                                                         \
            fmt_bad++;                                                                    \
        }                                                                                 \
        cksum_bytes(&ck, buf_, (size_t)n_);                                               \
    } while (0)

static void test_format(void)
{
    EXPECT_FMT("42", "%d", 42);
    EXPECT_FMT("-42", "%i", -42);
    EXPECT_FMT("-2147483648", "%d", INT_MIN);
    EXPECT_FMT("4294967295", "%u", UINT_MAX);
    EXPECT_FMT("-9223372036854775808", "%ld", LONG_MIN);
    EXPECT_FMT("18446744073709551615", "%llu", ULLONG_MAX);
    EXPECT_FMT("18446744073709551615", "%lu", ULONG_MAX);
    EXPECT_FMT("deadbeef", "%x", 0xdeadbeefu);
    EXPECT_FMT("DEADBEEF", "%X", 0xdeadbeefu);
    EXPECT_FMT("123456789abcdef0", "%lx", 0x123456789abcdef0UL);
    EXPECT_FMT("0x1f", "%#x", 31);
    EXPECT_FMT("0", "%#x", 0);
    EXPECT_FMT("17", "%o", 15);
    EXPECT_FMT("017", "%#o", 15);
    EXPECT_FMT("[   42]", "[%5d]", 42);
    EXPECT_FMT("[42   ]", "[%-5d]", 42);
    EXPECT_FMT("[00042]", "[%05d]", 42);
    EXPECT_FMT("[-0042]", "[%05d]", -42);
    EXPECT_FMT("[+42]", "[%+d]", 42);
    EXPECT_FMT("[ 42]", "[% d]", 42);
    EXPECT_FMT("[  007]", "[%5.3d]", 7);
    EXPECT_FMT("[]", "[%.0d]", 0);
    EXPECT_FMT("[00000000000000ff]", "[%016lx]", 0xffUL);
    EXPECT_FMT("[  abc]", "[%*s]", 5, "abc");
    EXPECT_FMT("[abc  ]", "[%-*s]", 5, "abc");
    EXPECT_FMT("[ab]", "[%.2s]", "abc");
    const char *volatile null_string = NULL; /* (hidden from the compiler's format checks) */
    EXPECT_FMT("[(null)]", "[%s]", null_string);
    EXPECT_FMT("[x]", "[%c]", 'x');
    EXPECT_FMT("[  x]", "[%3c]", 'x');
    EXPECT_FMT("100%", "%d%%", 100);
    EXPECT_FMT("0x1000", "%p", (void *)0x1000);
    EXPECT_FMT("-1 255 65535", "%hhd %hhu %hu", -1, 255, 65535);
    EXPECT_FMT("12345 -6", "%zu %td", (size_t)12345, (ptrdiff_t)-6);
    EXPECT_FMT("a1b2c", "a%db%dc", 1, 2);
    char small[6];
    int n = snprintf(small, sizeof small, "%s", "truncated");
    if (n != 9 || strcmp(small, "trunc") != 0) fmt_bad++;
    check("printf formatting", fmt_bad == 0);
}

static void test_numbers(void)
{
    int bad = 0;
    char *end;
    bad += strtoul("12345", &end, 10) != 12345 || *end;
    bad += strtoul("0x1F", NULL, 0) != 31;
    bad += strtoul("0755", NULL, 0) != 493;
    bad += strtoul("  +99z", &end, 10) != 99 || *end != 'z';
    bad += strtoul("ff", NULL, 16) != 255;
    bad += strtoul("zz", NULL, 36) != 35 * 36 + 35;
    errno = 0;
    bad += strtoul("99999999999999999999999", NULL, 10) != ULONG_MAX || errno != ERANGE;
    errno = 0;
    bad += strtol("-9223372036854775809", NULL, 10) != LONG_MIN || errno != ERANGE;
    bad += strtol("-77", NULL, 10) != -77;
    bad += atoi("  -123abc") != -123;
    bad += strtoul("x", &end, 10) != 0 || *end != 'x';
    bad += abs(-5) != 5 || labs(-5L) != 5;
    check("number parsing", bad == 0);
}

static void test_memory_functions(void)
{
    int bad = 0;
    static unsigned char a[6000], b[6000];
    for (size_t len = 0; len < 2600; len += len < 40 ? 1 : 181) { /* crosses the REP threshold */
        for (size_t i = 0; i < sizeof a; i++) a[i] = (unsigned char)(i * 7 + len);
        memcpy(b, a, sizeof a);
        /* forward-overlapping and backward-overlapping moves against a byte-by-byte model */
        size_t s = 100, d = 100 + len / 3 + 1;
        memmove(a + d, a + s, len);
        for (size_t i = len; i-- > 0;) b[d + i] = b[s + i];
        bad += memcmp(a, b, sizeof a) != 0;
        memmove(a + s, a + d, len);
        for (size_t i = 0; i < len; i++) b[s + i] = b[d + i];
        bad += memcmp(a, b, sizeof a) != 0;
        memset(a + 3, (int)len, len);
        for (size_t i = 0; i < len; i++) b[3 + i] = (unsigned char)len;
        bad += memcmp(a, b, sizeof a) != 0;
        cksum_bytes(&ck, a, sizeof a);
    }
    bad += memcmp("abc", "abd", 3) >= 0 || memcmp("abd", "abc", 3) <= 0 || memcmp("abc", "abc", 3) != 0;
    static const char hello[] = "hello";
    bad += memchr(hello, 'l', 5) != hello + 2 || memchr(hello, 'z', 5) != NULL;
    check("memcpy/memmove/memset/memcmp", bad == 0);

    bad = 0;
    char s[64];
    strcpy(s, "hello");
    strcat(s, ", world");
    bad += strcmp(s, "hello, world") != 0;
    bad += strlen(s) != 12 || strnlen(s, 5) != 5;
    bad += strncmp(s, "help", 3) != 0 || strncmp(s, "help", 4) >= 0;
    bad += strchr(s, 'o') != s + 4 || strrchr(s, 'o') != s + 8 || strchr(s, 'z') != NULL;
    bad += strchr(s, 0) != s + 12;
    bad += strstr(s, "world") != s + 7 || strstr(s, "xyz") != NULL;
    strncpy(s, "ab", 5);
    bad += s[0] != 'a' || s[1] != 'b' || s[2] || s[3] || s[4] || s[5] != ',';
    char *d = strdup("copy");
    bad += !d || strcmp(d, "copy") != 0;
    free(d);
    check("string functions", bad == 0);
}

struct block {
    unsigned char *p;
    size_t size;
    unsigned char tag;
};

/* Checks the pattern at every byte of the first 16, then sparser positions (about
   16 * ln(size) per block); and the last byte when check_last (it moves when a block shrinks). */
static int intact(const struct block *b, int check_last)
{
    for (size_t i = 0; i < b->size; i += 1 + i / 16) {
        if (b->p[i] != (unsigned char)(b->tag + i)) return 0;
    }
    return !check_last || b->size == 0 || b->p[b->size - 1] == (unsigned char)(b->tag + b->size - 1);
}

/* Writes the pattern at the positions intact() reads. */
static void fill(struct block *b)
{
    for (size_t i = 0; i < b->size; i += 1 + i / 16) b->p[i] = (unsigned char)(b->tag + i);
    if (b->size) b->p[b->size - 1] = (unsigned char)(b->tag + b->size - 1);
}

static void test_allocator(unsigned long rounds)
{
    prng_t rng;
    prng_seed(&rng, 7);
    enum { N = 300 };
    static struct block blocks[N];
    int bad = 0, zero_bad = 0, align_bad = 0;
    for (unsigned long r = 0; r < rounds; r++) {
        for (int step = 0; step < 1500; step++) {
            struct block *b = &blocks[prng_below(&rng, N)];
            uint64_t op = prng_below(&rng, 10);
            if (b->p && !intact(b, 1)) bad++;
            if (op < 5 || !b->p) {
                free(b->p);
                /* sizes: mostly small, sometimes up to a few hundred KiB (mmapped) */
                uint64_t k = prng_below(&rng, 100);
                b->size = k < 80 ? prng_below(&rng, 300) : k < 97 ? prng_below(&rng, 20000) : prng_below(&rng, 300000);
                b->tag = (unsigned char)prng_next(&rng);
                if (prng_below(&rng, 4) == 0) {
                    b->p = calloc(1, b->size);
                    for (size_t i = 0; i < b->size; i += 1 + i / 16) zero_bad += b->p[i] != 0;
                } else {
                    b->p = malloc(b->size);
                }
                if (!b->p || ((uintptr_t)b->p & 15)) align_bad++;
                fill(b);
            } else if (op < 8) {
                size_t old = b->size;
                size_t nsize = prng_below(&rng, 4) == 0 ? old / 2 : old + prng_below(&rng, old + 100);
                if (nsize > 400000) nsize = old / 3;
                unsigned char *q = realloc(b->p, nsize ? nsize : 1);
                if (!q) {
                    align_bad++;
                    continue;
                }
                b->p = q;
                b->size = nsize < old ? nsize : old;
                if (!intact(b, nsize >= old)) bad++;
                b->size = nsize;
                fill(b);
            } else {
                free(b->p);
                b->p = NULL;
                b->size = 0;
            }
        }
    }
    uint64_t sum = 0;
    for (int i = 0; i < N; i++) {
        if (blocks[i].p && !intact(&blocks[i], 1)) bad++;
        sum += blocks[i].size;
        free(blocks[i].p);
        blocks[i].p = NULL;
    }
    cksum_u64(&ck, sum);
    struct malloc_stats ms;
    malloc_get_stats(&ms);
    printf("allocator: %lu small and %lu mmapped allocations\n", ms.small_allocs, ms.large_allocs);
    check("allocator keeps contents (malloc/realloc/free)", bad == 0);
    check("allocator alignment (16 bytes)", align_bad == 0);
    check("calloc memory is zero", zero_bad == 0);
    check("every block freed and unmapped",
          ms.small_allocs == ms.small_frees && ms.large_allocs == ms.large_frees && ms.mapped_bytes == 0);
}

static void test_system(void)
{
    struct timespec ts;
    int bad = 0;
    bad += clock_gettime(CLOCK_MONOTONIC, &ts) != 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L;
    bad += clock_gettime(CLOCK_REALTIME, &ts) != 0;
    bad += getpid() <= 0;
    void *b0 = sbrk(0);
    bad += b0 == (void *)-1 || sbrk(0) != b0;
    check("clock_gettime, getpid, sbrk(0)", bad == 0);
}

int main(int argc, char **argv)
{
    unsigned long rounds = arg_num(argc, argv, 1, 2, 1, 1UL << 30, USAGE);
    printf("libc-check: x86vmx libc self-test, %lu allocator round(s)\n", rounds);
    cksum_init(&ck);
    test_format();
    test_numbers();
    test_memory_functions();
    test_allocator(rounds);
    test_system();
    return finish(&ck);
}
