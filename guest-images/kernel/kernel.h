/*
 * kernel.h - shared definitions of the x86vmx guest kernel (see README.md for the design).
 *
 * Virtual memory layout (4-level paging, one address space):
 *   0x0000000000000000 .. 0x00007FFFFFFFF000   user (PML4 entries 0..255, built on demand)
 *   0xFFFF800000000000 .. +4 GiB                direct map of physical 0..4 GiB (2 MiB pages)
 *   0xFFFFFFFF80000000 .. +1 GiB                kernel image map of physical 0..1 GiB
 * The kernel is linked at KERNEL_VMA + its physical address (it is loaded at 1 MiB).
 */
#ifndef KERNEL_H
#define KERNEL_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef long i64;
typedef unsigned long size_t;
typedef __builtin_va_list va_list;
#define va_start __builtin_va_start
#define va_arg __builtin_va_arg
#define va_end __builtin_va_end
#define NULL ((void *)0)
#define barrier() __asm__ volatile("" ::: "memory")
#define noreturn __attribute__((noreturn))

/* ---- addresses ---- */
#define KERNEL_VMA 0xFFFFFFFF80000000UL
#define DIRECT_MAP 0xFFFF800000000000UL
#define PAGE_SIZE 4096UL
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define PAGE_DOWN(x) ((x) & ~(PAGE_SIZE - 1))
static inline void *phys_to_virt(u64 p) { return (void *)(p + DIRECT_MAP); }
static inline u64 kimg_to_phys(const void *v) { return (u64)v - KERNEL_VMA; }

/* user address space (see README.md "User address space") */
#define USER_MIN 0x10000UL              /* lowest mappable address (Linux's mmap_min_addr) */
#define USER_TOP 0x7FFFFFFFF000UL       /* one past the highest user address */
#define STACK_TOP USER_TOP
#define STACK_SIZE (8UL << 20)          /* reserved stack range, demand-paged */
#define STACK_BOTTOM (STACK_TOP - STACK_SIZE)
#define MMAP_TOP 0x7FFFF0000000UL       /* mmap without a hint allocates top-down below this */

/* ---- GDT selectors ---- */
#define SEL_KCODE32 0x08
#define SEL_KCODE 0x10
#define SEL_KDATA 0x18
#define SEL_UCODE32 0x20                /* only as the SYSRET base: never loaded */
#define SEL_UDATA 0x28
#define SEL_UCODE 0x30
#define SEL_TSS 0x38

/* ---- port I/O, MSRs, misc instructions ---- */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void wrmsr(u32 msr, u64 v) { __asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32))); }
static inline u64 rdmsr(u32 msr) { u32 lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr)); return ((u64)hi << 32) | lo; }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }
static inline u64 read_cr2(void) { u64 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline u64 read_cr3(void) { u64 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void write_cr3(u64 v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static inline void invlpg(u64 va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }
/* Wait for the next interrupt with interrupts enabled, then disable them again. STI's one-
 * instruction shadow makes "sti; hlt" atomic: an interrupt pending at the STI wakes the HLT. */
static inline void idle_wait(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }
static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d) {
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

#define MSR_EFER 0xC0000080
#define MSR_STAR 0xC0000081
#define MSR_LSTAR 0xC0000082
#define MSR_CSTAR 0xC0000083
#define MSR_SFMASK 0xC0000084
#define MSR_FS_BASE 0xC0000100
#define MSR_GS_BASE 0xC0000101
#define MSR_KERNEL_GS_BASE 0xC0000102

/* ---- trap frame: built by entry.S for interrupts, exceptions and SYSCALL ---- */
struct trapframe {
    u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector, error;                  /* vector: 0..255, or VEC_SYSCALL */
    u64 rip, cs, rflags, rsp, ss;       /* the CPU's interrupt frame */
};
#define VEC_SYSCALL 0x100

/* ---- errno values (Linux) ---- */
#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINTR 4
#define EBADF 9
#define ENOMEM 12
#define EFAULT 14
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define ENOTTY 25
#define ENOSYS 38

/* ---- lib.c ---- */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* ---- uart.c ---- */
void uart_init(void);
void uart_putc(char c);
void uart_write(const char *s, size_t n);
int uart_getc(void);                    /* -1 if no byte is waiting */
void uart_rx_irq(int enable);
int uart_rx_ready(void);
void kprintf(const char *fmt, ...);
void kvprintf(const char *fmt, va_list ap);

/* ---- main.c ---- */
extern int kverbose;
noreturn void kexit(int status);        /* debug-exit port 0xF4 */
noreturn void panic(const char *fmt, ...);

/* ---- desc.c ---- */
void desc_init(void);
void tss_set_rsp0(u64 rsp0);

/* ---- trap.c ---- */
void trap_dispatch(struct trapframe *f);

/* ---- timer.c ---- */
void timer_init(void);
void timer_tick(void);
extern volatile u64 jiffies;
u64 clock_monotonic_ns(void);
u64 clock_realtime_ns(void);
void sleep_until(u64 monotonic_deadline_ns);

/* ---- pmm.c ---- */
struct multiboot_info;
void pmm_init(const struct multiboot_info *mbi, u64 reserved_end);
u64 frame_alloc(void);                  /* physical address, 0 if none left */
void frame_free(u64 phys);
u64 frame_alloc_zeroed(void);           /* frame_alloc + clear_page; kills the program if out of memory */
void clear_page(void *page);
u64 pmm_free_count(void);

/* ---- vm.c ---- */
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
enum vma_kind { VMA_ELF = 1, VMA_HEAP = 2, VMA_STACK = 3, VMA_MMAP = 4 };
void vm_init(u64 pml4_phys, int nx);
int vma_add(u64 start, u64 end, u32 prot, u32 kind);          /* 0 or -errno */
int vma_range_free(u64 start, u64 end);
int vma_prot_or(u64 start, u64 end, u32 prot);                /* add protections to mapped pages */
u64 vm_user_frame(u64 va, int create);   /* physical frame of a user page (populating it) */
int vm_handle_fault(u64 addr, u64 error);                     /* 0 if the fault was resolved */
int user_ok(u64 addr, u64 len, int write);
void vm_set_brk_start(u64 start);
long sys_brk(u64 addr);
long sys_mmap(u64 addr, u64 len, u64 prot, u64 flags, u64 fd, u64 off);
long sys_munmap(u64 addr, u64 len);
long sys_mprotect(u64 addr, u64 len, u64 prot);

/* ---- exec.c ---- */
noreturn void exec_module(u64 image_phys, u64 size, const char *cmdline);

/* ---- syscall.c ---- */
void syscall_init(void);
void syscall_dispatch(struct trapframe *f);

/* ---- entry.S ---- */
extern char isr_stubs[];                /* 256 stubs of 16 bytes */
void syscall_entry(void);
noreturn void enter_user(struct trapframe *f);
extern char kernel_stack_top[], df_stack_top[];

/* linker symbols */
extern char __kernel_start[], __kernel_end[];

#endif
