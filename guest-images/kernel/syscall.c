/*
 * syscall.c - SYSCALL/SYSRET set-up and the system call table (Linux x86-64 numbers and
 * semantics; README.md lists them). Arguments: RDI, RSI, RDX, R10, R8, R9; result in RAX, a
 * negative errno on failure. An unknown number returns -ENOSYS and logs
 * "kernel: unknown system call N" the first time each number is seen (for numbers of 1024 and
 * above, only the first 16 distinct ones are logged).
 *
 * The console: file descriptors 0, 1 and 2 all refer to COM1 (like a terminal opened read-write);
 * output bytes go out unchanged (no newline translation), input is raw: a read returns as soon as
 * at least one byte has arrived, with every byte already waiting (up to the count). A ^D (0x04)
 * byte marks the end of the input: it is not passed on, and the read that meets it returns 0 (end
 * of file) - or, if it has already gathered bytes, returns them and the next read returns 0.
 */
#include "kernel.h"

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define TIMER_ABSTIME 1
#define NS_PER_SEC 1000000000UL

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

struct timespec { i64 tv_sec, tv_nsec; };
struct timeval { i64 tv_sec, tv_usec; };
struct iovec { u64 base, len; };
struct utsname { char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65]; };

void syscall_init(void) {
    wrmsr(MSR_STAR, ((u64)SEL_UCODE32 << 48) | ((u64)SEL_KCODE << 32));
    wrmsr(MSR_LSTAR, (u64)syscall_entry);
    wrmsr(MSR_CSTAR, 0);
    /* clear TF, DF, IF, IOPL, NT, AC on entry */
    wrmsr(MSR_SFMASK, 0x100 | 0x400 | 0x200 | 0x3000 | 0x4000 | 0x40000);
}

/* ---- console ---- */

static int eof_pending;                 /* a ^D ended a read that returned data */

static long sys_read(u64 fd, u64 buf, u64 count) {
    if (fd > 2)
        return -EBADF;
    if (count == 0)
        return 0;
    if (!user_ok(buf, count, 1))
        return -EFAULT;
    if (eof_pending) {
        eof_pending = 0;
        return 0;
    }
    u8 *p = (u8 *)buf;
    for (;;) {
        u64 got = 0;
        int c = -1;
        while (got < count && (c = uart_getc()) >= 0 && c != 0x04)
            p[got++] = (u8)c;
        if (got || c == 0x04) {         /* data, or ^D: end of file */
            uart_rx_irq(0);
            eof_pending = got && c == 0x04;
            return got;
        }
        uart_rx_irq(1);                 /* IRQ4 when a byte arrives; the tick wakes us too */
        if (!uart_rx_ready())           /* nothing arrived before the interrupt was enabled */
            idle_wait();
    }
}

static long sys_write(u64 fd, u64 buf, u64 count) {
    if (fd > 2)
        return -EBADF;
    if (!user_ok(buf, count, 0))
        return -EFAULT;
    uart_write((const char *)buf, count);
    return count;
}

static long sys_writev(u64 fd, u64 iov, u64 n) {
    if (fd > 2)
        return -EBADF;
    if (n > 1024)
        return -EINVAL;
    if (!user_ok(iov, n * sizeof(struct iovec), 0))
        return -EFAULT;
    const struct iovec *v = (const struct iovec *)iov;
    long total = 0;
    for (u64 i = 0; i < n; i++)
        if (!user_ok(v[i].base, v[i].len, 0))
            return -EFAULT;
    for (u64 i = 0; i < n; i++) {
        uart_write((const char *)v[i].base, v[i].len);
        total += v[i].len;
    }
    return total;
}

static long sys_ioctl(u64 fd) { return fd > 2 ? -EBADF : -ENOTTY; }

/* fstat / newfstatat(fd, "", AT_EMPTY_PATH): the console is a character device (ttyS0, 4:64).
 * There is no file system: any path is -ENOENT. */
static long fill_stat(u64 fd, u64 statbuf) {
    if (fd > 2)
        return -EBADF;
    if (!user_ok(statbuf, 144, 1))
        return -EFAULT;
    u8 *st = (u8 *)statbuf;
    memset(st, 0, 144);
    *(u64 *)(st + 16) = 1;              /* st_nlink */
    *(u32 *)(st + 24) = 0020620;        /* st_mode: S_IFCHR | rw--w---- */
    *(u64 *)(st + 40) = (4 << 8) | 64;  /* st_rdev */
    *(u64 *)(st + 56) = 1024;           /* st_blksize */
    return 0;
}

static long sys_newfstatat(u64 dirfd, u64 path, u64 statbuf, u64 flags) {
    if (!user_ok(path, 1, 0))
        return -EFAULT;
    if (*(const char *)path == 0 && (flags & 0x1000))   /* AT_EMPTY_PATH */
        return fill_stat(dirfd, statbuf);
    return -ENOENT;
}

static long sys_prlimit64(u64 pid, u64 resource, u64 new_limit, u64 old_limit) {
    if (pid != 0 && pid != 1)
        return -ESRCH;
    if (resource > 15)
        return -EINVAL;
    if (new_limit)
        return -EPERM;                  /* limits are fixed */
    if (old_limit) {
        if (!user_ok(old_limit, 16, 1))
            return -EFAULT;
        u64 *l = (u64 *)old_limit;
        l[0] = resource == 3 ? STACK_SIZE : ~0UL;      /* RLIMIT_STACK: the stack reserve */
        l[1] = ~0UL;
    }
    return 0;
}

/* getrandom: pseudo-random bytes (splitmix64 seeded from the TSC: deterministic under x86vmx). */
static long sys_getrandom(u64 buf, u64 len) {
    if (!user_ok(buf, len, 1))
        return -EFAULT;
    static u64 state;
    if (!state)
        state = rdtsc() | 1;
    u8 *p = (u8 *)buf;
    for (u64 i = 0; i < len; i++) {
        if (i % 8 == 0) {
            u64 z = (state += 0x9E3779B97F4A7C15UL);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            for (int k = 0; k < 8 && i + k < len; k++)
                p[i + k] = (u8)(z >> (8 * k));
        }
    }
    return len;
}

/* ---- process ---- */

static noreturn void sys_exit(u64 status) { kexit((int)(status & 0xFF)); }

static long sys_arch_prctl(u64 code, u64 addr) {
    switch (code) {
    case ARCH_SET_FS:
    case ARCH_SET_GS:
        if (addr >= USER_TOP)
            return -EPERM;
        wrmsr(code == ARCH_SET_FS ? MSR_FS_BASE : MSR_GS_BASE, addr);
        return 0;
    case ARCH_GET_FS:
    case ARCH_GET_GS:
        if (!user_ok(addr, 8, 1))
            return -EFAULT;
        *(u64 *)addr = rdmsr(code == ARCH_GET_FS ? MSR_FS_BASE : MSR_GS_BASE);
        return 0;
    default:
        return -EINVAL;
    }
}

static void copy_field(char *dst, const char *src) {
    memset(dst, 0, 65);
    memcpy(dst, src, strlen(src));
}

static long sys_uname(u64 buf) {
    if (!user_ok(buf, sizeof(struct utsname), 1))
        return -EFAULT;
    struct utsname *u = (struct utsname *)buf;
    copy_field(u->sysname, "Linux");   /* the ABI this kernel implements; see README.md */
    copy_field(u->nodename, "x86vmx");
    copy_field(u->release, "6.1.0-x86vmx");
    copy_field(u->version, "#1 x86vmx guest kernel");
    copy_field(u->machine, "x86_64");
    copy_field(u->domainname, "(none)");
    return 0;
}

/* ---- time ---- */

static int clock_now(u64 clk, u64 *ns) {
    switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
        *ns = clock_realtime_ns();
        return 0;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
        *ns = clock_monotonic_ns();
        return 0;
    default:
        return -EINVAL;
    }
}

static long sys_clock_gettime(u64 clk, u64 tsp) {
    u64 ns;
    if (clock_now(clk, &ns))
        return -EINVAL;
    if (!user_ok(tsp, sizeof(struct timespec), 1))
        return -EFAULT;
    struct timespec *ts = (struct timespec *)tsp;
    ts->tv_sec = ns / NS_PER_SEC;
    ts->tv_nsec = ns % NS_PER_SEC;
    return 0;
}

static long sys_clock_getres(u64 clk, u64 tsp) {
    u64 ns;
    if (clock_now(clk, &ns))
        return -EINVAL;
    if (!tsp)
        return 0;
    if (!user_ok(tsp, sizeof(struct timespec), 1))
        return -EFAULT;
    *(struct timespec *)tsp = (struct timespec){0, 1};
    return 0;
}

static long sys_gettimeofday(u64 tvp, u64 tzp) {
    if (tvp) {
        if (!user_ok(tvp, sizeof(struct timeval), 1))
            return -EFAULT;
        u64 ns = clock_realtime_ns();
        *(struct timeval *)tvp = (struct timeval){(i64)(ns / NS_PER_SEC), (i64)(ns % NS_PER_SEC / 1000)};
    }
    if (tzp) {
        if (!user_ok(tzp, 8, 1))
            return -EFAULT;
        *(u64 *)tzp = 0;                /* UTC, no DST */
    }
    return 0;
}

/* Read and check a timespec; *ns = its value in nanoseconds (saturating). */
static long get_timespec(u64 tsp, u64 *ns) {
    if (!user_ok(tsp, sizeof(struct timespec), 0))
        return -EFAULT;
    const struct timespec *ts = (const struct timespec *)tsp;
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= (i64)NS_PER_SEC)
        return -EINVAL;
    u64 s = (u64)ts->tv_sec;
    *ns = s > (~0UL - NS_PER_SEC) / NS_PER_SEC ? ~0UL : s * NS_PER_SEC + (u64)ts->tv_nsec;
    return 0;
}

static u64 deadline_after(u64 ns) {
    u64 now = clock_monotonic_ns();
    return now + ns < now ? ~0UL : now + ns;
}

static long sys_nanosleep(u64 req, u64 rem) {
    u64 ns;
    long r = get_timespec(req, &ns);
    if (r)
        return r;
    sleep_until(deadline_after(ns));
    if (rem && user_ok(rem, sizeof(struct timespec), 1))
        *(struct timespec *)rem = (struct timespec){0, 0};
    return 0;
}

static long sys_clock_nanosleep(u64 clk, u64 flags, u64 req, u64 rem) {
    u64 ns, now;
    if (clk == CLOCK_THREAD_CPUTIME_ID || clock_now(clk, &now))
        return -EINVAL;
    long r = get_timespec(req, &ns);
    if (r)
        return r;
    if (flags & TIMER_ABSTIME) {
        if (ns > now)
            sleep_until(deadline_after(ns - now));
    } else {
        sleep_until(deadline_after(ns));
    }
    if (rem && !(flags & TIMER_ABSTIME) && user_ok(rem, sizeof(struct timespec), 1))
        *(struct timespec *)rem = (struct timespec){0, 0};
    return 0;
}

/* ---- dispatch ---- */

static u8 logged[128];                  /* unknown numbers below 1024 already reported */
static u64 logged_big[16];              /* and up to 16 larger ones */
static int nlogged_big;

static long unknown(u64 nr) {
    if (nr < 1024) {
        if (logged[nr / 8] & (1 << (nr % 8)))
            return -ENOSYS;
        logged[nr / 8] |= (u8)(1 << (nr % 8));
    } else {
        for (int i = 0; i < nlogged_big; i++)
            if (logged_big[i] == nr)
                return -ENOSYS;
        if (nlogged_big == 16)
            return -ENOSYS;             /* enough: stop logging numbers this large */
        logged_big[nlogged_big++] = nr;
    }
    kprintf("kernel: unknown system call %lu\n", nr);
    return -ENOSYS;
}

void syscall_dispatch(struct trapframe *f) {
    u64 nr = f->rax, a = f->rdi, b = f->rsi, c = f->rdx, d = f->r10, e = f->r8, g = f->r9;
    long r;
    switch (nr) {
    case 0: r = sys_read(a, b, c); break;
    case 1: r = sys_write(a, b, c); break;
    case 9: r = sys_mmap(a, b, c, d, e, g); break;
    case 10: r = sys_mprotect(a, b, c); break;
    case 11: r = sys_munmap(a, b); break;
    case 12: r = sys_brk(a); break;
    case 5: r = fill_stat(a, b); break; /* fstat */
    case 16: r = sys_ioctl(a); break;
    case 20: r = sys_writev(a, b, c); break;
    case 35: r = sys_nanosleep(a, b); break;
    case 39: r = 1; break;              /* getpid */
    case 60: sys_exit(a);
    case 63: r = sys_uname(a); break;
    case 89: r = -ENOENT; break;        /* readlink: no file system */
    case 96: r = sys_gettimeofday(a, b); break;
    case 102: case 104: case 107: case 108: r = 0; break;     /* getuid, getgid, geteuid, getegid */
    case 110: r = 0; break;             /* getppid */
    case 158: r = sys_arch_prctl(a, b); break;
    case 186: r = 1; break;             /* gettid */
    case 218: r = 1; break;             /* set_tid_address: the tid */
    case 262: r = sys_newfstatat(a, b, c, d); break;
    case 267: r = -ENOENT; break;       /* readlinkat */
    case 273: r = 0; break;             /* set_robust_list: one thread, nothing to do */
    case 302: r = sys_prlimit64(a, b, c, d); break;
    case 318: r = sys_getrandom(a, b); break;
    case 334: r = -ENOSYS; break;       /* rseq: not supported (known, not logged) */
    case 228: r = sys_clock_gettime(a, b); break;
    case 229: r = sys_clock_getres(a, b); break;
    case 230: r = sys_clock_nanosleep(a, b, c, d); break;
    case 231: sys_exit(a);              /* exit_group */
    default: r = unknown(nr); break;
    }
    f->rax = (u64)r;
}
