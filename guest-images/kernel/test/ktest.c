/*
 * ktest.c - test program for the guest kernel (tests/kernel/kernel.test.ts). A static x86-64
 * Linux executable without a C library: raw system calls through start.S. argv[1] selects a test;
 * each prints "key=value" lines that the test checks, then exits 0 (or dies on purpose).
 * It runs natively on Linux too (most modes), which is how its expectations were cross-checked.
 */
typedef unsigned long u64;
typedef long i64;

long sys6(long nr, long a, long b, long c, long d, long e, long f);
long syscall_clobber_check(void);
u64 fs_load(u64 off);
void do_ud2(void), do_div0(void), do_cli(void), do_int3(void);
extern u64 initial_rsp, initial_rdx;
extern char __ehdr_start[], _end[];
void _start(void);

#define SYS(nr, a, b, c) sys6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define PAGE 4096UL

struct timespec { i64 sec, nsec; };

void *memset(void *d, int c, u64 n) { char *p = d; while (n--) *p++ = (char)c; return d; }
void *memcpy(void *d, const void *s, u64 n) { char *p = d; const char *q = s; while (n--) *p++ = *q++; return d; }
static u64 slen(const char *s) { u64 n = 0; while (s[n]) n++; return n; }
static int seq(const char *a, const char *b) { while (*a && *a == *b) a++, b++; return *a == *b; }
static void puts_(const char *s) { SYS(1, 1, s, slen(s)); }
static void putu(u64 v) { char b[24]; int n = 0; do b[n++] = '0' + v % 10; while (v /= 10); while (n) SYS(1, 1, &b[--n], 1); }
static void puti(i64 v) { if (v < 0) { puts_("-"); putu(-(u64)v); } else putu(v); }
static void putx(u64 v) { char b[18]; int n = 0; do b[n++] = "0123456789abcdef"[v & 15]; while (v >>= 4); puts_("0x"); while (n) SYS(1, 1, &b[--n], 1); }
static void kv(const char *k, i64 v) { puts_(k); puts_("="); puti(v); puts_("\n"); }
static void kx(const char *k, u64 v) { puts_(k); puts_("="); putx(v); puts_("\n"); }
static void ks(const char *k, const char *v) { puts_(k); puts_("="); puts_(v); puts_("\n"); }

static long mmap_(u64 addr, u64 len, long prot, long flags, long fd, long off) { return sys6(9, addr, len, prot, flags, fd, off); }
#define PROT_RW 3
#define MAP_PA 0x22                     /* MAP_PRIVATE | MAP_ANONYMOUS */

static int all_zero(const unsigned char *p, u64 n) { for (u64 i = 0; i < n; i++) if (p[i]) return 0; return 1; }
static u64 mono(void) { struct timespec t; SYS(228, 1, &t, 0); return t.sec * 1000000000UL + t.nsec; }

static int t_args(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    kv("argc", argc);
    for (long i = 0; i < argc; i++) { puts_("argv["); putu(i); puts_("]="); puts_(argv[i]); puts_("\n"); }
    kv("argv_null", argv[argc] == 0);
    char **envp = argv + argc + 1;
    kv("envp_null", envp[0] == 0);
    kv("rsp_mod16", initial_rsp % 16);
    kx("rdx", initial_rdx);
    kv("stack_high", initial_rsp > 0x7fff00000000UL);
    while (*envp)
        envp++;
    u64 *aux = (u64 *)(envp + 1);
    int seen_random = 0;
    for (; aux[0]; aux += 2) {
        switch (aux[0]) {
        case 6: kv("AT_PAGESZ", aux[1]); break;
        case 25: {
            const unsigned char *r = (const unsigned char *)aux[1];
            seen_random = 1;
            kv("AT_RANDOM_nonzero", !all_zero(r, 16));
            break;
        }
        case 3: kv("AT_PHDR_ok", aux[1] == (u64)__ehdr_start + *(u64 *)(__ehdr_start + 32)); break;
        case 5: kv("AT_PHNUM", aux[1]); break;
        case 9: kv("AT_ENTRY_ok", aux[1] == (u64)_start); break;
        case 31: kv("AT_EXECFN_ok", seq((char *)aux[1], argv[0])); break;
        case 15: ks("AT_PLATFORM", (char *)aux[1]); break;
        }
    }
    kv("AT_RANDOM_present", seen_random);
    return 0;
}

static int t_write(void) {
    kv("write1", SYS(1, 1, "out\n", 4));
    kv("write2", SYS(1, 2, "err\n", 4));
    kv("write_zero", SYS(1, 1, "x", 0));
    kv("write_badptr", SYS(1, 1, 8, 4));
    kv("write_kernelptr", SYS(1, 1, 0xffffffff80100000UL, 4));
    kv("write_badfd", SYS(1, 7, "x", 1));
    struct { const char *b; u64 n; } iov[2] = {{"vec", 3}, {"tor\n", 4}};
    kv("writev", SYS(20, 1, iov, 2));
    kv("regs_preserved", syscall_clobber_check());
    kv("getpid", SYS(39, 0, 0, 0));
    return 0;
}

static int t_brk(void) {
    u64 b0 = SYS(12, 0, 0, 0);
    kv("brk0_aligned", b0 % PAGE == 0);
    kv("brk0_after_end", b0 >= (u64)_end && b0 - (u64)_end < PAGE);
    u64 want = b0 + 3 * PAGE + 100;
    kv("brk_grow", SYS(12, want, 0, 0) == (long)want);
    unsigned char *h = (unsigned char *)b0;
    kv("heap_zero", all_zero(h, 3 * PAGE + 100));
    memset(h, 0xAB, 3 * PAGE + 100);
    kv("brk_shrink", SYS(12, b0 + 10, 0, 0) == (long)(b0 + 10));
    kv("brk_regrow", SYS(12, b0 + 2 * PAGE, 0, 0) == (long)(b0 + 2 * PAGE));
    kv("kept_bytes", h[0] == 0xAB && h[9] == 0xAB);
    kv("fresh_page_zero", all_zero(h + PAGE, PAGE));
    kv("brk_below_start", SYS(12, b0 - PAGE, 0, 0) == (long)(b0 + 2 * PAGE));
    kv("brk_huge", SYS(12, 0x7ffffffff000UL, 0, 0) == (long)(b0 + 2 * PAGE));
    return 0;
}

static int t_mmap(void) {
    long a = mmap_(0, 16 * PAGE, PROT_RW, MAP_PA, -1, 0);
    kv("mmap_ok", a > 0 && a % PAGE == 0);
    kv("mmap_high", (u64)a > 0x7f0000000000UL);
    kv("mmap_zero", all_zero((unsigned char *)a, 16 * PAGE));
    long b = mmap_(0, 100, PROT_RW, MAP_PA, -1, 0);
    kv("mmap_topdown", b == a - (long)PAGE);
    memset((void *)a, 0x5A, 16 * PAGE);
    kv("munmap_middle", SYS(11, a + 4 * PAGE, 2 * PAGE, 0));
    kv("neighbours_kept", ((unsigned char *)a)[4 * PAGE - 1] == 0x5A && ((unsigned char *)a)[6 * PAGE] == 0x5A);
    long c = mmap_(a + 4 * PAGE, 2 * PAGE, PROT_RW, MAP_PA, -1, 0);
    kv("hint_used", c == a + 4 * (long)PAGE);
    kv("hint_zero", all_zero((unsigned char *)c, 2 * PAGE));
    long d = mmap_(a, PAGE, PROT_RW, MAP_PA | 0x10, -1, 0);
    kv("fixed_replaces", d == a && all_zero((unsigned char *)a, PAGE) && ((unsigned char *)a)[PAGE] == 0x5A);
    kv("fixed_noreplace", mmap_(a, PAGE, PROT_RW, MAP_PA | 0x100000, -1, 0));
    kv("fixed_unaligned", mmap_(a + 1, PAGE, PROT_RW, MAP_PA | 0x10, -1, 0));
    kv("shared", mmap_(0, PAGE, PROT_RW, 0x21, -1, 0));
    kv("file_fd3", mmap_(0, PAGE, PROT_RW, 0x02, 3, 0));
    kv("file_fd0", mmap_(0, PAGE, PROT_RW, 0x02, 0, 0));
    kv("len0", mmap_(0, 0, PROT_RW, MAP_PA, -1, 0));
    kv("munmap_unaligned", SYS(11, a + 1, PAGE, 0));
    kv("munmap_len0", SYS(11, a, 0, 0));
    kv("munmap_all", SYS(11, a, 16 * PAGE, 0));
    long e = mmap_(0, 16 * PAGE, PROT_RW, MAP_PA, -1, 0);
    kv("remap_zero", e == a && all_zero((unsigned char *)e, 16 * PAGE));
    kv("mprotect_ro", SYS(10, e, PAGE, 1));
    kv("read_after_mprotect", ((volatile unsigned char *)e)[0]);
    kv("mprotect_unmapped", SYS(10, 0x10000000, PAGE, 1));
    return 0;
}

/* mmap 16 pages, mark each ("KTESTPG" + index), unmap them all, exit: the test then finds the 16
 * frames on top of the kernel's free list. */
static int t_freelist(void) {
    long a = mmap_(0, 16 * PAGE, PROT_RW, MAP_PA, -1, 0);
    for (int i = 0; i < 16; i++) {
        char *p = (char *)a + i * PAGE;
        memcpy(p, "KTESTPG", 7);
        p[7] = (char)('A' + i);
    }
    kx("addr", a);
    kv("munmap", SYS(11, a, 16 * PAGE, 0));
    return 0;
}

static int t_time(void) {
    struct timespec t1, t2, rt, res;
    u64 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    u64 tsc = (hi << 32) | lo;
    kv("gettime", SYS(228, 1, &t1, 0));
    for (volatile int i = 0; i < 100000; i++)
        ;
    SYS(228, 1, &t2, 0);
    u64 n1 = t1.sec * 1000000000UL + t1.nsec, n2 = t2.sec * 1000000000UL + t2.nsec;
    kv("mono1", n1);
    kv("mono2", n2);
    kv("tsc", tsc);
    kv("nsec_range", t1.nsec >= 0 && t1.nsec < 1000000000);
    SYS(228, 0, &rt, 0);
    u64 r = rt.sec * 1000000000UL + rt.nsec;
    kv("realtime", r);
    struct { i64 sec, usec; } tv;
    kv("gettimeofday", SYS(96, &tv, 0, 0));
    kv("tv_sec", tv.sec);
    kv("tv_usec_range", tv.usec >= 0 && tv.usec < 1000000);
    kv("getres", SYS(229, 1, &res, 0));
    kv("res_nsec", res.nsec);
    kv("bad_clock", SYS(228, 99, &t1, 0));
    kv("bad_ptr", SYS(228, 1, 16, 0));
    return 0;
}

static int t_sleep(const char *ms_s) {
    u64 ms = 0;
    for (; *ms_s; ms_s++) ms = ms * 10 + (*ms_s - '0');
    struct timespec req = {(i64)(ms / 1000), (i64)(ms % 1000) * 1000000}, rem;
    u64 a = mono();
    kv("nanosleep", SYS(35, &req, &rem, 0));
    u64 b = mono();
    kv("slept_ns", b - a);
    struct timespec bad = {0, 1000000000};
    kv("bad_nsec", SYS(35, &bad, 0, 0));
    struct timespec abs = {(i64)((b + 2000000) / 1000000000), (i64)((b + 2000000) % 1000000000)};
    kv("clock_nanosleep_abs", sys6(230, 1, 1, (long)&abs, 0, 0, 0));
    kv("abs_reached", mono() >= b + 2000000);
    return 0;
}

static int t_enosys(void) {
    kv("r999", SYS(999, 0, 0, 0));
    kv("r999_again", SYS(999, 0, 0, 0));
    kv("r1000", SYS(1000, 0, 0, 0));
    return 0;
}

static int t_tls(void) {
    static u64 block[4] = {0x1122334455667788UL, 42, 0, 0};
    block[2] = (u64)block;
    kv("set_fs", SYS(158, 0x1002, block, 0));
    u64 got;
    kv("get_fs", SYS(158, 0x1003, &got, 0));
    kv("get_fs_ok", got == (u64)block);
    int ok = 1;
    for (long i = 0; i < 500000 && ok; i++)     /* ~4 ms of virtual time: several timer interrupts */
        ok = fs_load(0) == 0x1122334455667788UL && fs_load(8) == 42;
    kv("fs_reads_ok", ok);
    kv("bad_code", SYS(158, 0x9999, 0, 0));
    return 0;
}

static int t_uname(void) {
    char u[6 * 65];
    kv("uname", SYS(63, u, 0, 0));
    ks("sysname", u);
    ks("release", u + 2 * 65);
    ks("machine", u + 4 * 65);
    kv("getpid", SYS(39, 0, 0, 0));
    return 0;
}

static int t_read(void) {
    char buf[64];
    long total = 0, calls = 0;
    for (;;) {
        long n = SYS(0, 0, buf, sizeof buf);
        if (n <= 0) { kv("last", n); break; }
        calls++;
        total += n;
        SYS(1, 1, buf, n);
    }
    kv("total", total);
    kv("calls_positive", calls > 0);
    kv("read_badfd", SYS(0, 9, buf, 1));
    return 0;
}

static int t_stack(void) {
    /* touch 6 MiB below the current stack pointer, one byte per page */
    volatile char *sp = (volatile char *)__builtin_frame_address(0);
    for (u64 off = 0; off < (6UL << 20); off += PAGE)
        sp[-(long)off - 64] = 1;
    kv("deep_stack", 1);
    return 0;
}

static int t_sse(void) {
    volatile double x = 1.0;
    for (int i = 0; i < 20; i++) x = x * 1.5 + 0.25;
    kv("sse_int", (long)x);
    return 0;
}

static int t_bss(void) {
    static char big[3 * PAGE * 64];     /* .bss beyond the file: demand-zero */
    kv("bss_zero", all_zero((unsigned char *)big, sizeof big));
    big[sizeof big - 1] = 1;
    return 0;
}

int ktest_main(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    const char *m = argc > 1 ? argv[1] : "hello";
    if (seq(m, "hello")) { puts_("hello from ktest\n"); return 0; }
    if (seq(m, "args")) return t_args(sp);
    if (seq(m, "write")) return t_write();
    if (seq(m, "brk")) return t_brk();
    if (seq(m, "mmap")) return t_mmap();
    if (seq(m, "freelist")) return t_freelist();
    if (seq(m, "time")) return t_time();
    if (seq(m, "sleep")) return t_sleep(argc > 2 ? argv[2] : "10");
    if (seq(m, "enosys")) return t_enosys();
    if (seq(m, "tls")) return t_tls();
    if (seq(m, "uname")) return t_uname();
    if (seq(m, "read")) return t_read();
    if (seq(m, "stack")) return t_stack();
    if (seq(m, "sse")) return t_sse();
    if (seq(m, "bss")) return t_bss();
    if (seq(m, "exit")) { sys6(60, argc > 2 ? argv[2][0] - '0' : 0, 0, 0, 0, 0, 0); return 99; }
    if (seq(m, "segv")) { *(volatile int *)0 = 1; return 0; }
    if (seq(m, "segv-read")) return *(volatile int *)0x1000;
    if (seq(m, "kernel-write")) { *(volatile int *)0xffffffff80102000UL = 1; return 0; }
    if (seq(m, "text-write")) { *(volatile char *)_start = 0; return 0; }
    if (seq(m, "nx")) { static const unsigned char ret[1] = {0xC3}; ((void (*)(void))ret)(); return 0; }
    if (seq(m, "mprotect-write")) {
        long a = mmap_(0, PAGE, PROT_RW, MAP_PA, -1, 0);
        *(volatile char *)a = 1;
        SYS(10, a, PAGE, 1);
        *(volatile char *)a = 2;
        return 0;
    }
    if (seq(m, "stack-overflow")) {
        volatile char *p = (volatile char *)(0x7ffffffff000UL - (8UL << 20) - PAGE);
        *p = 1;
        return 0;
    }
    if (seq(m, "ud")) { do_ud2(); return 0; }
    if (seq(m, "div0")) { do_div0(); return 0; }
    if (seq(m, "gp")) { do_cli(); return 0; }
    if (seq(m, "int3")) { do_int3(); return 0; }
    ks("unknown_mode", m);
    return 2;
}
