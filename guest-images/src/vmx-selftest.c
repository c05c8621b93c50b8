/*
 * vmx-selftest.c - a small hypervisor that checks a CPU's VMX implementation against the Intel SDM
 * (Vol. 3C: 24 VMCS, 25 non-root operation, 26 VM entries, 27 VM exits, 28 EPT/VPID/PML/SPP,
 * 30 VMX instruction reference; Appendix A capability MSRs, Appendix C exit reasons). Written for
 * this project; section numbers follow the 2016-2022 editions (later ones renumber the chapters
 * by one but keep the titles).
 *
 * Runs at CPL0 on the bare machine (x86vmx direct-boot contract A, or the Bochs shim that recreates
 * it): enables VMX from what CPUID and the capability MSRs report (never a hard-coded revision
 * identifier or control value), then for every check builds a fresh VMCS, enters a 64-bit guest
 * that runs one of the snippets in vmx-selftest-asm.S on the same identity mapping (or through an
 * EPT identity map of 0-16 MiB), and inspects the VM exit. Output, one line per check:
 *     PASS: <name>
 *     FAIL: <name> (expected 0x..., got 0x...)
 *     SKIP: <name> (not supported: ...)
 * then "vmx-selftest: K skipped" and "vmx-selftest: N passed, M failed"; exit status 0 iff M == 0.
 * A host exception inside a check group is a FAIL of that group (try_call), and a VMX-preemption
 * timer (when supported) bounds every guest run, so one broken behaviour cannot hang the run.
 */
typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

/* ---------------------------------------------------------------- lib/ and vmx-selftest-asm.S */
struct gregs {
    u64 rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};
extern void serial_putc(int c);
extern void exit(int status) __attribute__((noreturn));
extern u64 vm_enter(struct gregs *g, int resume);
extern u64 vm_enter_movss(struct gregs *g, int resume);
extern i64 try_call(void (*fn)(void *), void *arg);
extern u64 caught_vector, caught_error, caught_rip, caught_cr2;
extern char host_stubs[], guest_stubs[];
extern u64 ram_size;
extern char __bss_end[];
extern char g_vmcall[], g_cpuid[], g_hlt[], g_invlpg[], g_rdtsc[], g_vmread[], g_vmptrst[], g_vmxon[],
    g_vmlaunch[], g_invept[], g_invvpid[], g_mov_to_cr0[], g_mov_from_cr0[], g_mov_from_cr4[],
    g_mov_from_cr3[], g_mov_to_cr3[], g_mov_to_cr8[], g_mov_from_cr8[], g_clts[], g_lmsw[], g_out_imm[],
    g_in_imm[], g_in_dx_word[], g_in_dx_dword[], g_rep_outsb[], g_rdmsr[], g_wrmsr[], g_ud2[], g_int3[],
    g_read_rbx[], g_write_rbx[], g_write_rbx_rcx[], g_write_rbx_rcx_2nd[], g_write4[], g_write4_2nd[],
    g_write4_3rd[], g_write4_4th[], g_rep_stosq[], g_jmp_rbx[], g_sti_nop[], g_loop[], g_real16[];

#define GUEST_HANDLER_MARK 0x6A7E

/* gcc may emit calls to these for structure copies/clears */
void *memset(void *d, int c, unsigned long n) { u8 *p = d; while (n--) *p++ = (u8)c; return d; }
void *memcpy(void *d, const void *s, unsigned long n) { u8 *p = d; const u8 *q = s; while (n--) *p++ = *q++; return d; }

/* ---------------------------------------------------------------- VMCS field encodings (SDM App. B) */
enum {
    F_VPID = 0x0000,
    F_G_ES_SEL = 0x0800, F_G_CS_SEL = 0x0802, F_G_SS_SEL = 0x0804, F_G_DS_SEL = 0x0806, F_G_FS_SEL = 0x0808,
    F_G_GS_SEL = 0x080A, F_G_LDTR_SEL = 0x080C, F_G_TR_SEL = 0x080E, F_G_PML_INDEX = 0x0812,
    F_H_ES_SEL = 0x0C00, F_H_CS_SEL = 0x0C02, F_H_SS_SEL = 0x0C04, F_H_DS_SEL = 0x0C06, F_H_FS_SEL = 0x0C08,
    F_H_GS_SEL = 0x0C0A, F_H_TR_SEL = 0x0C0C,
    F_IO_A = 0x2000, F_IO_B = 0x2002, F_MSR_BITMAP = 0x2004, F_ENTRY_MSR_LOAD = 0x200A, F_PML_ADDR = 0x200E,
    F_TSC_OFFSET = 0x2010, F_EPTP = 0x201A, F_SPPTP = 0x2030, F_GPA = 0x2400,
    F_LINK = 0x2800, F_G_DEBUGCTL = 0x2802,
    F_PIN = 0x4000, F_PROC = 0x4002, F_EXC_BITMAP = 0x4004, F_PFEC_MASK = 0x4006, F_PFEC_MATCH = 0x4008,
    F_CR3_COUNT = 0x400A, F_EXIT_CTLS = 0x400C, F_EXIT_MSR_STORE_COUNT = 0x400E, F_EXIT_MSR_LOAD_COUNT = 0x4010,
    F_ENTRY_CTLS = 0x4012, F_ENTRY_MSR_LOAD_COUNT = 0x4014, F_ENTRY_INTR = 0x4016, F_ENTRY_ERR = 0x4018,
    F_ENTRY_LEN = 0x401A, F_PROC2 = 0x401E,
    F_INSN_ERROR = 0x4400, F_EXIT_REASON = 0x4402, F_EXIT_INTR = 0x4404, F_EXIT_INTR_ERR = 0x4406,
    F_IDT_VEC = 0x4408, F_EXIT_LEN = 0x440C, F_EXIT_INFO = 0x440E,
    F_G_ES_LIM = 0x4800, F_G_CS_LIM = 0x4802, F_G_SS_LIM = 0x4804, F_G_DS_LIM = 0x4806, F_G_FS_LIM = 0x4808,
    F_G_GS_LIM = 0x480A, F_G_LDTR_LIM = 0x480C, F_G_TR_LIM = 0x480E, F_G_GDTR_LIM = 0x4810, F_G_IDTR_LIM = 0x4812,
    F_G_ES_AR = 0x4814, F_G_CS_AR = 0x4816, F_G_SS_AR = 0x4818, F_G_DS_AR = 0x481A, F_G_FS_AR = 0x481C,
    F_G_GS_AR = 0x481E, F_G_LDTR_AR = 0x4820, F_G_TR_AR = 0x4822, F_G_INTERRUPTIBILITY = 0x4824,
    F_G_ACTIVITY = 0x4826, F_G_SYSENTER_CS = 0x482A, F_PREEMPT = 0x482E, F_H_SYSENTER_CS = 0x4C00,
    F_CR0_MASK = 0x6000, F_CR4_MASK = 0x6002, F_CR0_SHADOW = 0x6004, F_CR4_SHADOW = 0x6006, F_CR3_TARGET0 = 0x6008,
    F_QUAL = 0x6400, F_GLA = 0x640A,
    F_G_CR0 = 0x6800, F_G_CR3 = 0x6802, F_G_CR4 = 0x6804, F_G_ES_BASE = 0x6806, F_G_CS_BASE = 0x6808,
    F_G_SS_BASE = 0x680A, F_G_DS_BASE = 0x680C, F_G_FS_BASE = 0x680E, F_G_GS_BASE = 0x6810,
    F_G_LDTR_BASE = 0x6812, F_G_TR_BASE = 0x6814, F_G_GDTR_BASE = 0x6816, F_G_IDTR_BASE = 0x6818,
    F_G_DR7 = 0x681A, F_G_RSP = 0x681C, F_G_RIP = 0x681E, F_G_RFLAGS = 0x6820, F_G_PENDING_DBG = 0x6822,
    F_G_SYSENTER_ESP = 0x6824, F_G_SYSENTER_EIP = 0x6826,
    F_H_CR0 = 0x6C00, F_H_CR3 = 0x6C02, F_H_CR4 = 0x6C04, F_H_FS_BASE = 0x6C06, F_H_GS_BASE = 0x6C08,
    F_H_TR_BASE = 0x6C0A, F_H_GDTR_BASE = 0x6C0C, F_H_IDTR_BASE = 0x6C0E, F_H_SYSENTER_ESP = 0x6C10,
    F_H_SYSENTER_EIP = 0x6C12, F_H_RSP = 0x6C14, F_H_RIP = 0x6C16,
};
/* an encoding no CPU defines: natural-width host-state field with index 1FFH (SDM 24.11.2) */
#define F_UNSUPPORTED 0x7FFE

/* ---------------------------------------------------------------- controls (SDM 24.6-24.8) */
#define PIN_EXT_INT   (1u << 0)
#define PIN_NMI       (1u << 3)
#define PIN_PREEMPT   (1u << 6)
#define PROC_INT_WIN  (1u << 2)
#define PROC_TSC_OFF  (1u << 3)
#define PROC_HLT      (1u << 7)
#define PROC_INVLPG   (1u << 9)
#define PROC_RDTSC    (1u << 12)
#define PROC_CR3_LOAD (1u << 15)
#define PROC_CR3_STORE (1u << 16)
#define PROC_CR8_LOAD (1u << 19)
#define PROC_CR8_STORE (1u << 20)
#define PROC_TPR_SHADOW (1u << 21)
#define PROC_UNCOND_IO (1u << 24)
#define PROC_IO_BITMAPS (1u << 25)
#define PROC_MSR_BITMAPS (1u << 28)
#define PROC_SECONDARY (1u << 31)
#define P2_EPT        (1u << 1)
#define P2_VPID       (1u << 5)
#define P2_UNRESTRICTED (1u << 7)
#define P2_PML        (1u << 17)
#define P2_SPP        (1u << 23)
#define EXIT_HOST64   (1u << 9)
#define EXIT_ACK_INT  (1u << 15)
#define EXIT_SAVE_TIMER (1u << 22)
#define ENTRY_IA32E   (1u << 9)

/* exit reasons (SDM Appendix C) */
enum {
    R_EXC = 0, R_EXTINT = 1, R_TRIPLE = 2, R_INT_WIN = 7, R_CPUID = 10, R_HLT = 12, R_INVLPG = 14, R_RDTSC = 16,
    R_VMCALL = 18, R_VMLAUNCH = 20, R_VMPTRST = 22, R_VMREAD = 23, R_VMXON = 27, R_CR = 28, R_IO = 30,
    R_RDMSR = 31, R_WRMSR = 32, R_BAD_GUEST = 33, R_BAD_MSR_LOAD = 34, R_EPT_VIOL = 48, R_EPT_MISCONF = 49,
    R_INVEPT = 50, R_PREEMPT = 52, R_INVVPID = 53, R_PML_FULL = 62, R_SPP = 66,
};
#define ENTRY_FAIL (1u << 31)

/* ---------------------------------------------------------------- small machine helpers */
static inline u64 rdmsr(u32 i) { u32 lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(i)); return ((u64)hi << 32) | lo; }
static inline void wrmsr(u32 i, u64 v) { __asm__ volatile("wrmsr" :: "c"(i), "a"((u32)v), "d"((u32)(v >> 32)) : "memory"); }
static inline void cpuid(u32 leaf, u32 sub, u32 r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline u64 rd_cr0(void) { u64 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline u64 rd_cr3(void) { u64 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline u64 rd_cr4(void) { u64 v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void wr_cr0(u64 v) { __asm__ volatile("mov %0, %%cr0" :: "r"(v) : "memory"); }
static inline void wr_cr4(u64 v) { __asm__ volatile("mov %0, %%cr4" :: "r"(v) : "memory"); }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
#define VOL64(a) (*(volatile u64 *)(u64)(a))
#define VOL32(a) (*(volatile u32 *)(u64)(a))

/* ---------------------------------------------------------------- output and counting */
static u64 n_pass, n_fail, n_skip;
static const char *skipping;            /* non-NULL: checks print SKIP, VMX operations do nothing */

static void puts_(const char *s) { while (*s) serial_putc(*s++); }
static void puthex(u64 v) {
    puts_("0x");
    for (int i = 60; i >= 0; i -= 4) serial_putc("0123456789abcdef"[(v >> i) & 15]);
}
static void putdec(u64 v) {
    char b[24]; int n = 0;
    do { b[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) serial_putc(b[--n]);
}
static void pass(const char *name) { n_pass++; puts_("PASS: "); puts_(name); serial_putc('\n'); }
static void skip(const char *name, const char *why) {
    n_skip++; puts_("SKIP: "); puts_(name); puts_(" (not supported: "); puts_(why); puts_(")\n");
}
/* FAIL with free text */
static void fail_text(const char *name, const char *text, u64 v) {
    n_fail++; puts_("FAIL: "); puts_(name); puts_(" ("); puts_(text); puthex(v); puts_(")\n");
}
static void check(const char *name, u64 expected, u64 got) {
    if (skipping) { skip(name, skipping); return; }
    if (expected == got) { pass(name); return; }
    n_fail++;
    puts_("FAIL: "); puts_(name); puts_(" (expected "); puthex(expected); puts_(", got "); puthex(got); puts_(")\n");
}
static void check_mask(const char *name, u64 expected, u64 got, u64 mask) {
    if (skipping) { skip(name, skipping); return; }
    if ((expected & mask) == (got & mask)) { pass(name); return; }
    n_fail++;
    puts_("FAIL: "); puts_(name); puts_(" (expected "); puthex(expected & mask); puts_(", got ");
    puthex(got & mask); puts_(" under mask "); puthex(mask); puts_(")\n");
}
static void check_range(const char *name, u64 lo, u64 hi, u64 got) {
    if (skipping) { skip(name, skipping); return; }
    if (got >= lo && got <= hi) { pass(name); return; }
    n_fail++;
    puts_("FAIL: "); puts_(name); puts_(" (expected "); puthex(lo); puts_(".."); puthex(hi);
    puts_(", got "); puthex(got); puts_(")\n");
}
static void info(const char *s) { puts_("vmx-selftest: "); puts_(s); }

static int summary(void) {
    puts_("vmx-selftest: "); putdec(n_skip); puts_(" skipped\n");
    puts_("vmx-selftest: "); putdec(n_pass); puts_(" passed, "); putdec(n_fail); puts_(" failed\n");
    return n_fail == 0 && n_pass > 0 ? 0 : 1;
}

/* an exception in the host that no try_call catches: report and end the run cleanly */
void host_unexpected(void) {
    n_fail++;
    puts_("FAIL: unexpected host exception (vector "); puthex(caught_vector); puts_(", error ");
    puthex(caught_error); puts_(", rip "); puthex(caught_rip); puts_(", cr2 "); puthex(caught_cr2); puts_(")\n");
    exit(summary());
}

/* ---------------------------------------------------------------- memory */
#define PAGE __attribute__((aligned(4096)))
static u8 vmxon_region[4096] PAGE;
static u8 vmcs_a[4096] PAGE;
static u8 vmcs_b[4096] PAGE;
static u8 vmcs_badrev[4096] PAGE;
static u8 io_bitmap_a[4096] PAGE, io_bitmap_b[4096] PAGE, msr_bitmap[4096] PAGE;
static u64 msr_load_area[512] PAGE;
static u64 ept_pml4[512] PAGE, ept_pdpt[512] PAGE, ept_pd0[512] PAGE, ept_pd1[512] PAGE;
static u64 ept_pt[8][512] PAGE;            /* 4 KiB EPT pages for guest-physical 0-16 MiB */
static u64 pml_log[512] PAGE;
static u64 spp_l4[512] PAGE, spp_l3[512] PAGE, spp_l2[512] PAGE, spp_l1[512] PAGE;
static u64 g_pml4[512] PAGE, g_pdpt[512] PAGE, g_pd[4][512] PAGE;      /* guest identity map 0-4 GiB */
static u64 g_pdpt_t[512] PAGE, g_pd_t[512] PAGE, g_pt_t[512] PAGE;     /* guest VA TEST_VA -> TEST pages */
static u64 host_idt[512] PAGE, guest_idt[512] PAGE;
static u64 gdt[8] __attribute__((aligned(16)));
static u8 tss[104] __attribute__((aligned(16)));
static u8 guest_stack[16384] __attribute__((aligned(16)));
static u64 scratch[512] PAGE;               /* VMPTRST target, OUTS source, INVVPID/INVEPT descriptors */
static struct gregs G;

#define TEST_PAGE(i)  (0x400000ul + (u64)(i) * 0x1000)  /* fixed 4 KiB pages in SPP region 2 (4-6 MiB) */
#define MISS_PAGE     0x600000ul                        /* SPP region 3: no SPP table below level 2 */
#define HUGE_HPA      0x800000ul                        /* host frame of the 2 MiB EPT page test */
#define GPA_2M        0x40000000ul                      /* guest-physical 1 GiB: 2 MiB EPT page -> HUGE_HPA */
#define GPA_1G        0x80000000ul                      /* guest-physical 2 GiB: 1 GiB EPT page -> 0 */
#define TEST_VA       0x8000000000ul                    /* guest PML4 slot 1 -> g_pt_t -> TEST pages */
#define UNMAPPED_VA   0x10000000000ul                   /* guest PML4 slot 2: not present */

/* ---------------------------------------------------------------- capabilities */
static u64 basic, misc, ept_cap, cr0_f0, cr0_f1, cr4_f0, cr4_f1;
static u64 cap_pin, cap_proc, cap_exit, cap_entry, cap_proc2;
static u32 maxphy;
static u32 revision;

static int can_pin(u32 b) { return (u32)(cap_pin >> 32) & b ? 1 : 0; }
static int can_proc(u32 b) { return (u32)(cap_proc >> 32) & b ? 1 : 0; }
static int can_exit(u32 b) { return (u32)(cap_exit >> 32) & b ? 1 : 0; }
static int can_proc2(u32 b) { return can_proc(PROC_SECONDARY) && ((u32)(cap_proc2 >> 32) & b) ? 1 : 0; }
/* ctl = (wanted | allowed0) & allowed1 (SDM A.3) */
static u32 adjust(u64 cap, u32 want) { return (want | (u32)cap) & (u32)(cap >> 32); }

/* ---------------------------------------------------------------- VMX instruction wrappers
 * Return 0 VMsucceed, 1 VMfailInvalid (CF), 2 VMfailValid (ZF) (SDM 30.2). */
#define VMX_STATUS(insn, ...)                                                   \
    u8 cf, zf;                                                                  \
    __asm__ volatile(insn "\n\tsetc %0\n\tsetz %1" : "=qm"(cf), "=qm"(zf) : __VA_ARGS__ : "cc", "memory"); \
    return cf ? 1 : zf ? 2 : 0

static int vmxon_(u64 pa) { VMX_STATUS("vmxon %2", "m"(pa)); }
static int vmclear_(u64 pa) { if (skipping) return 0; VMX_STATUS("vmclear %2", "m"(pa)); }
static int vmptrld_(u64 pa) { if (skipping) return 0; VMX_STATUS("vmptrld %2", "m"(pa)); }
static int vmwrite_(u64 enc, u64 v) { if (skipping) return 0; VMX_STATUS("vmwrite %3, %2", "r"(enc), "rm"(v)); }
static int vmread_(u64 enc, u64 *v) {
    if (skipping) { *v = 0; return 0; }
    u8 cf, zf; u64 r = 0;
    __asm__ volatile("vmread %3, %0\n\tsetc %1\n\tsetz %2" : "+r"(r), "=qm"(cf), "=qm"(zf) : "r"(enc) : "cc", "memory");
    *v = r;
    return cf ? 1 : zf ? 2 : 0;
}
static int vmcall_(void) { VMX_STATUS("vmcall", "i"(0)); }
static int invept_(u64 type, u64 eptp) {
    if (skipping) return 0;
    u64 d[2] = { eptp, 0 };
    VMX_STATUS("invept %2, %3", "m"(*(u64(*)[2])d), "r"(type));
}
static int invvpid_(u64 type, u64 vpid, u64 la) {
    if (skipping) return 0;
    u64 d[2] = { vpid, la };
    VMX_STATUS("invvpid %2, %3", "m"(*(u64(*)[2])d), "r"(type));
}
static u64 vmr(u64 enc) { u64 v; vmread_(enc, &v); return v; }
static u64 insn_error(void) { return vmr(F_INSN_ERROR); }
/* status of a VMX instruction as one number: 0 ok, 0x100 VMfailInvalid, else the error number */
static u64 status_code(int st) { return st == 0 ? 0 : st == 1 ? 0x100 : insn_error(); }

static u64 setup_bad_enc;       /* first field whose VMWRITE failed while building a VMCS */
static void vmw(u64 enc, u64 v) {
    if (vmwrite_(enc, v) != 0 && !setup_bad_enc) setup_bad_enc = enc | 0x80000000ul;
}

/* ---------------------------------------------------------------- host descriptor tables */
static void host_tables(void) {
    gdt[0] = 0;
    gdt[1] = 0x00AF9B000000FFFFul;      /* 0x08 64-bit code, accessed */
    gdt[2] = 0x00CF93000000FFFFul;      /* 0x10 data, accessed */
    gdt[3] = 0x00CF9B000000FFFFul;      /* 0x18 32-bit code */
    gdt[4] = 0; gdt[5] = 0;
    u64 t = (u64)tss;
    gdt[6] = 103 | ((t & 0xFFFFFF) << 16) | (0x89ul << 40) | (((t >> 24) & 0xFF) << 56);   /* 0x30 TSS */
    gdt[7] = t >> 32;
    *(u16 *)(tss + 102) = 104;          /* no I/O permission bitmap */
    struct __attribute__((packed)) { u16 lim; u64 base; } gd = { sizeof gdt - 1, (u64)gdt }, id = { 4095, (u64)host_idt };
    for (int v = 0; v < 256; v++) {
        u64 h = (u64)host_stubs + 16 * (u64)v;
        host_idt[2 * v] = (h & 0xFFFF) | (0x08ul << 16) | (0x8Eul << 40) | (((h >> 16) & 0xFFFF) << 48);
        host_idt[2 * v + 1] = h >> 32;
        u64 g = (u64)guest_stubs + 16 * (u64)v;
        guest_idt[2 * v] = (g & 0xFFFF) | (0x08ul << 16) | (0x8Eul << 40) | (((g >> 16) & 0xFFFF) << 48);
        guest_idt[2 * v + 1] = g >> 32;
    }
    __asm__ volatile(
        "lgdt %0\n\t"
        "lidt %1\n\t"
        "pushq $0x08\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movl $0x10, %%eax\n\t"
        "movl %%eax, %%ds\n\tmovl %%eax, %%es\n\tmovl %%eax, %%ss\n\tmovl %%eax, %%fs\n\tmovl %%eax, %%gs\n\t"
        "movl $0x30, %%eax\n\t"
        "ltr %%ax"
        :: "m"(gd), "m"(id) : "rax", "memory");
}

/* guest page tables: identity 0-4 GiB with 2 MiB pages (A and D preset, so the guest writes no
 * paging entries), plus TEST_VA -> TEST_PAGE(0..511) through g_pt_t */
static void guest_tables(void) {
    for (int i = 0; i < 512; i++) g_pml4[i] = g_pdpt[i] = g_pdpt_t[i] = g_pd_t[i] = 0;
    g_pml4[0] = (u64)g_pdpt | 0x27;
    g_pml4[1] = (u64)g_pdpt_t | 0x27;
    for (int j = 0; j < 4; j++) {
        g_pdpt[j] = (u64)g_pd[j] | 0x27;
        for (int i = 0; i < 512; i++) g_pd[j][i] = (((u64)j << 30) + ((u64)i << 21)) | 0xE3;
    }
    g_pdpt_t[0] = (u64)g_pd_t | 0x27;
    g_pd_t[0] = (u64)g_pt_t | 0x27;
    for (int i = 0; i < 512; i++) g_pt_t[i] = TEST_PAGE(i) | 0x63;
}

/* ---------------------------------------------------------------- EPT (SDM 28.2) */
#define EPT_R 1ul
#define EPT_W 2ul
#define EPT_X 4ul
#define EPT_RWX 7ul
#define EPT_WB (6ul << 3)
#define EPT_A (1ul << 8)
#define EPT_D (1ul << 9)
#define EPT_SPP (1ul << 61)
static int ept_ad;          /* A/D flags enabled in the EPTP being built */

static u64 *ept_pte(u64 gpa) { return &ept_pt[gpa >> 21][(gpa >> 12) & 511]; }
static u64 eptp_value(void) {
    u64 mt = (ept_cap & (1ul << 14)) ? 6 : 0;    /* WB if supported, else UC (SDM A.10) */
    return (u64)ept_pml4 | mt | (3ul << 3) | (ept_ad ? 1ul << 6 : 0);
}
/* EPT identity map of guest-physical 0-16 MiB with 4 KiB pages (A and D preset when A/D flags are
 * on, so that only the pages a check clears are logged or updated), plus, when supported, GPA_2M
 * (a 2 MiB page onto HUGE_HPA) and GPA_1G (a 1 GiB page onto host-physical 0). */
static void ept_build(int ad) {
    ept_ad = ad;
    u64 nl = EPT_RWX | (ad ? EPT_A : 0), leaf = EPT_RWX | EPT_WB | (ad ? EPT_A | EPT_D : 0);
    for (int i = 0; i < 512; i++) ept_pml4[i] = ept_pdpt[i] = ept_pd0[i] = ept_pd1[i] = 0;
    ept_pml4[0] = (u64)ept_pdpt | nl;
    ept_pdpt[0] = (u64)ept_pd0 | nl;
    for (int j = 0; j < 8; j++) {
        ept_pd0[j] = (u64)ept_pt[j] | nl;
        for (int i = 0; i < 512; i++) ept_pt[j][i] = (((u64)j << 21) + ((u64)i << 12)) | leaf;
    }
    if (ept_cap & (1ul << 16)) {
        ept_pdpt[1] = (u64)ept_pd1 | nl;
        ept_pd1[0] = HUGE_HPA | leaf | (1ul << 7);
    }
    if (ept_cap & (1ul << 17)) ept_pdpt[2] = 0 | leaf | (1ul << 7);
}

/* SPP table (SDM 28.2.4.x "Sub-Page Write Permissions"): levels 4-2 map guest-physical region 2
 * (4-6 MiB, the TEST pages) to spp_l1, whose entries are the write-permission vectors;
 * region 3 (MISS_PAGE) has no level-1 table. */
static void spp_build(void) {
    for (int i = 0; i < 512; i++) spp_l4[i] = spp_l3[i] = spp_l2[i] = spp_l1[i] = 0;
    spp_l4[0] = (u64)spp_l3 | 1;
    spp_l3[0] = (u64)spp_l2 | 1;
    spp_l2[2] = (u64)spp_l1 | 1;
}
/* vector with sub-pages in `mask` (bit i = sub-page i) writable: bit 2i of the vector */
static u64 spp_vec(u32 mask) { u64 v = 0; for (int i = 0; i < 32; i++) if (mask & (1u << i)) v |= 1ul << (2 * i); return v; }

/* ---------------------------------------------------------------- VMCS set-up and guest runs */
static int launched;
static u64 watchdog;        /* preemption-timer value bounding every guest run (0 = none) */
static u32 pin_ctl, proc_ctl, proc2_ctl, exit_ctl, entry_ctl;

/* A fresh VMCS with a 64-bit guest that shares the host's GDT/TSS, runs on the guest identity
 * tables, exits on every exception (bitmap all ones, #PF mask/match 0/0) and is bounded by the
 * preemption timer. Controls: (wanted | allowed0) & allowed1. */
static void vm_reset(void) {
    setup_bad_enc = 0;
    if (skipping) return;
    vmclear_((u64)vmcs_a);
    *(u32 *)vmcs_a = revision;
    vmptrld_((u64)vmcs_a);
    launched = 0;
    memset(&G, 0, sizeof G);
    u64 tsel = 0x30;
    pin_ctl = adjust(cap_pin, watchdog ? PIN_PREEMPT : 0);
    proc_ctl = adjust(cap_proc, 0);
    proc2_ctl = 0;
    exit_ctl = adjust(cap_exit, EXIT_HOST64);
    entry_ctl = adjust(cap_entry, ENTRY_IA32E);
    vmw(F_PIN, pin_ctl);
    vmw(F_PROC, proc_ctl);
    vmw(F_EXIT_CTLS, exit_ctl);
    vmw(F_ENTRY_CTLS, entry_ctl);
    if (can_proc(PROC_SECONDARY)) vmw(F_PROC2, 0);
    vmw(F_EXC_BITMAP, 0xFFFFFFFF);
    vmw(F_PFEC_MASK, 0);
    vmw(F_PFEC_MATCH, 0);
    vmw(F_CR3_COUNT, 0);
    vmw(F_EXIT_MSR_STORE_COUNT, 0);
    vmw(F_EXIT_MSR_LOAD_COUNT, 0);
    vmw(F_ENTRY_MSR_LOAD_COUNT, 0);
    vmw(F_ENTRY_INTR, 0);
    vmw(F_CR0_MASK, 0);
    vmw(F_CR4_MASK, 0);
    vmw(F_CR0_SHADOW, 0);
    vmw(F_CR4_SHADOW, 0);
    vmw(F_TSC_OFFSET, 0);
    if (watchdog) vmw(F_PREEMPT, watchdog);
    /* host state (SDM 24.5, checks 26.2.2-26.2.4) */
    vmw(F_H_CR0, rd_cr0());
    vmw(F_H_CR3, rd_cr3());
    vmw(F_H_CR4, rd_cr4());
    vmw(F_H_CS_SEL, 0x08);
    vmw(F_H_SS_SEL, 0x10); vmw(F_H_DS_SEL, 0x10); vmw(F_H_ES_SEL, 0x10); vmw(F_H_FS_SEL, 0x10); vmw(F_H_GS_SEL, 0x10);
    vmw(F_H_TR_SEL, tsel);
    vmw(F_H_FS_BASE, 0); vmw(F_H_GS_BASE, 0);
    vmw(F_H_TR_BASE, (u64)tss);
    vmw(F_H_GDTR_BASE, (u64)gdt);
    vmw(F_H_IDTR_BASE, (u64)host_idt);
    vmw(F_H_SYSENTER_CS, 0); vmw(F_H_SYSENTER_ESP, 0); vmw(F_H_SYSENTER_EIP, 0);
    /* guest state (SDM 24.4, checks 26.3.1) */
    vmw(F_G_CR0, rd_cr0());
    vmw(F_G_CR3, (u64)g_pml4);
    vmw(F_G_CR4, rd_cr4());
    vmw(F_G_DR7, 0x400);
    vmw(F_G_RSP, (u64)guest_stack + sizeof guest_stack - 64);
    vmw(F_G_RIP, (u64)g_vmcall);
    vmw(F_G_RFLAGS, 0x2);
    static const u16 sel[6] = { F_G_ES_SEL, F_G_CS_SEL, F_G_SS_SEL, F_G_DS_SEL, F_G_FS_SEL, F_G_GS_SEL };
    for (int i = 0; i < 6; i++) {
        vmw(sel[i], i == 1 ? 0x08 : 0x10);
        vmw(F_G_ES_BASE + 2 * i, 0);
        vmw(F_G_ES_LIM + 2 * i, 0xFFFFFFFF);
        vmw(F_G_ES_AR + 2 * i, i == 1 ? 0xA09B : 0xC093);
    }
    vmw(F_G_LDTR_SEL, 0); vmw(F_G_LDTR_BASE, 0); vmw(F_G_LDTR_LIM, 0); vmw(F_G_LDTR_AR, 0x10000);
    vmw(F_G_TR_SEL, tsel); vmw(F_G_TR_BASE, (u64)tss); vmw(F_G_TR_LIM, 103); vmw(F_G_TR_AR, 0x8B);
    vmw(F_G_GDTR_BASE, (u64)gdt); vmw(F_G_GDTR_LIM, sizeof gdt - 1);
    vmw(F_G_IDTR_BASE, (u64)guest_idt); vmw(F_G_IDTR_LIM, 4095);
    vmw(F_G_DEBUGCTL, 0);
    vmw(F_G_SYSENTER_CS, 0); vmw(F_G_SYSENTER_ESP, 0); vmw(F_G_SYSENTER_EIP, 0);
    vmw(F_G_INTERRUPTIBILITY, 0);
    vmw(F_G_ACTIVITY, 0);
    vmw(F_G_PENDING_DBG, 0);
    vmw(F_LINK, ~0ul);
}

static void set_pin(u32 want) { pin_ctl = adjust(cap_pin, want | (watchdog ? PIN_PREEMPT : 0)); vmw(F_PIN, pin_ctl); }
static void set_proc(u32 want) { proc_ctl = adjust(cap_proc, want); vmw(F_PROC, proc_ctl); }
static void set_proc2(u32 want) {
    set_proc(proc_ctl | PROC_SECONDARY);
    proc2_ctl = adjust(cap_proc2, want);
    vmw(F_PROC2, proc2_ctl);
}
static void set_exit(u32 want) { exit_ctl = adjust(cap_exit, want | EXIT_HOST64); vmw(F_EXIT_CTLS, exit_ctl); }

/* EPT on, identity map built, optional A/D and extra secondary controls */
static void use_ept(int ad, u32 more2) {
    ept_build(ad);
    set_proc2(P2_EPT | more2);
    vmw(F_EPTP, eptp_value());
}

struct exitinfo {
    u64 fail;           /* RFLAGS | bit 63 if VMLAUNCH/VMRESUME fell through, else 0 */
    u64 err;            /* VM-instruction error when fail */
    u64 reason, qual, len, info, intr, intr_err, gpa, gla, rip, idtv;
};
static struct exitinfo X;

static void collect(u64 r) {
    memset(&X, 0, sizeof X);
    if (r) { X.fail = r; X.err = (r & 0x40) ? insn_error() : 0x100; X.reason = ~0ul; return; }
    X.reason = vmr(F_EXIT_REASON);
    if (!(X.reason & ENTRY_FAIL)) launched = 1;
    X.qual = vmr(F_QUAL);
    X.len = vmr(F_EXIT_LEN);
    X.info = vmr(F_EXIT_INFO);
    X.intr = vmr(F_EXIT_INTR);
    X.intr_err = vmr(F_EXIT_INTR_ERR);
    X.idtv = vmr(F_IDT_VEC);
    X.gla = vmr(F_GLA);
    X.rip = vmr(F_G_RIP);
    if (ept_cap & 0xFFFFFFFF) X.gpa = vmr(F_GPA);
}
/* enter the guest at rip (VMLAUNCH or VMRESUME as the launch state requires) */
static void run(void *rip) {
    if (skipping) { memset(&X, 0, sizeof X); return; }
    if (setup_bad_enc) { info("note: VMWRITE failed while building the VMCS, field "); puthex(setup_bad_enc & 0xFFFF); serial_putc('\n'); }
    vmw(F_G_RIP, (u64)rip);
    collect(vm_enter(&G, launched));
}
static void resume(void) {
    if (skipping) { memset(&X, 0, sizeof X); return; }
    collect(vm_enter(&G, launched));
}
/* skip the exiting instruction (its length from the exit) and resume */
static void skip_resume(void) {
    vmw(F_G_RIP, X.rip + X.len);
    resume();
}

/* a check group: a host exception inside it is one FAIL, not the end of the run */
static void group(const char *name, void (*fn)(void)) {
    skipping = 0;
    i64 v = try_call((void (*)(void *))fn, 0);
    skipping = 0;
    if (v >= 0) {
        n_fail++;
        puts_("FAIL: "); puts_(name); puts_(": host exception (vector "); puthex((u64)v); puts_(", error ");
        puthex(caught_error); puts_(", rip "); puthex(caught_rip); puts_(")\n");
    }
}
/* run fn; return the vector of the exception it raised, or -1 */
static i64 catch_exc(void (*fn)(void *), void *arg) { return try_call(fn, arg); }

/* ================================================================ A. before VMXON */
static int in_vmx;
static void do_vmxon_region(void *p) { vmxon_((u64)p); }
static void do_vmptrld(void *p) { vmptrld_((u64)p); }
static void do_vmread(void *p) { u64 v; (void)p; vmread_(F_G_RIP, &v); }

static void grp_pre_vmxon(void) {
    *(u32 *)vmxon_region = revision;
    u64 cr4 = rd_cr4();
    wr_cr4(cr4 & ~(1ul << 13));
    check("vmxon with cr4.vmxe=0 raises #UD", 6, (u64)catch_exc(do_vmxon_region, vmxon_region));
    wr_cr4((cr4 | (u32)cr4_f0 | (1ul << 13)) & (cr4_f1 | 0xFFFFFFFF00000000ul));   /* SDM 23.8, A.8 */
    check("vmptrld outside vmx operation raises #UD", 6, (u64)catch_exc(do_vmptrld, vmcs_a));
    check("vmread outside vmx operation raises #UD", 6, (u64)catch_exc(do_vmread, 0));
    if (cr0_f0 & (1ul << 5)) {
        u64 cr0 = rd_cr0();
        wr_cr0(cr0 & ~(1ul << 5));
        i64 v = catch_exc(do_vmxon_region, vmxon_region);
        wr_cr0(cr0);
        check("vmxon with cr0.ne=0 (a fixed-1 bit) raises #GP", 13, (u64)v);
    } else {
        skip("vmxon with cr0.ne=0 (a fixed-1 bit) raises #GP", "CR0.NE not fixed to 1 in IA32_VMX_CR0_FIXED0");
    }
    check("vmxon with an unaligned pointer: VMfailInvalid", 1, (u64)vmxon_((u64)vmxon_region + 8));
    *(u32 *)vmxon_region = revision ^ 1;
    check("vmxon with a wrong revision identifier: VMfailInvalid", 1, (u64)vmxon_((u64)vmxon_region));
    *(u32 *)vmxon_region = revision;
    int st = vmxon_((u64)vmxon_region);
    if (st == 0) in_vmx = 1;
    check("vmxon succeeds", 0, (u64)st);
}

/* ================================================================ B. VMX instructions in root */
static u64 flags_after_vmwrite(u64 enc, u64 v, u64 flags_in) {
    u64 f;
    __asm__ volatile("pushq %3\n\tpopfq\n\tvmwrite %2, %1\n\tpushfq\n\tpopq %0" : "=r"(f) : "r"(enc), "r"(v), "r"(flags_in) : "cc", "memory");
    return f;
}
#define ARITH_FLAGS 0x8D5ul     /* CF PF AF ZF SF OF */

static void grp_root_instructions(void) {
    u64 v = 0;
    int st = vmread_(F_G_RIP, &v);
    check("vmread with no current vmcs: VMfailInvalid", 1, (u64)st);
    scratch[0] = 0;
    __asm__ volatile("vmptrst %0" : "=m"(scratch[0]) :: "memory");
    check("vmptrst with no current vmcs stores ffffffff_ffffffff", ~0ul, scratch[0]);
    check("vmxon in root with no current vmcs: VMfailInvalid", 1, (u64)vmxon_((u64)vmxon_region));
    u64 f = flags_after_vmwrite(F_G_RIP, 0, 0x2 | ARITH_FLAGS);
    check("VMfailInvalid sets CF and clears PF AF ZF SF OF", 0x1, f & ARITH_FLAGS);

    *(u32 *)vmcs_a = revision;
    check("vmclear of a fresh vmcs succeeds", 0, (u64)vmclear_((u64)vmcs_a));
    check("vmptrld succeeds", 0, (u64)vmptrld_((u64)vmcs_a));
    scratch[0] = 0;
    __asm__ volatile("vmptrst %0" : "=m"(scratch[0]) :: "memory");
    check("vmptrst stores the current-vmcs pointer", (u64)vmcs_a, scratch[0]);

    check("vmclear unaligned address: VMfailValid 2", 2, status_code(vmclear_((u64)vmcs_b + 0x10)));
    check("vmclear address beyond maxphyaddr: VMfailValid 2", 2, status_code(vmclear_(1ul << maxphy)));
    check("vmclear of the vmxon pointer: VMfailValid 3", 3, status_code(vmclear_((u64)vmxon_region)));
    check("vmptrld unaligned address: VMfailValid 9", 9, status_code(vmptrld_((u64)vmcs_b + 0x10)));
    check("vmptrld of the vmxon pointer: VMfailValid 10", 10, status_code(vmptrld_((u64)vmxon_region)));
    *(u32 *)vmcs_badrev = revision ^ 0x5;
    check("vmptrld with a wrong revision id: VMfailValid 11", 11, status_code(vmptrld_((u64)vmcs_badrev)));
    check("vmread of an unsupported field: VMfailValid 12", 12, status_code(vmread_(F_UNSUPPORTED, &v)));
    check("vmwrite of an unsupported field: VMfailValid 12", 12, status_code(vmwrite_(F_UNSUPPORTED, 1)));
    if (misc & (1ul << 29)) {
        /* A.6: with MISC[29] set, VMWRITE may write any supported field, exit-information fields too */
        check("vmwrite of a read-only field (exit reason) succeeds: IA32_VMX_MISC[29] is set", 0, status_code(vmwrite_(F_EXIT_REASON, 0x1234)));
        check("...and vmread returns the value written", 0x1234, vmr(F_EXIT_REASON));
    } else {
        check("vmwrite of a read-only field (exit reason): VMfailValid 13", 13, status_code(vmwrite_(F_EXIT_REASON, 1)));
        f = flags_after_vmwrite(F_EXIT_REASON, 0, 0x2 | ARITH_FLAGS);
        check("VMfailValid sets ZF and clears CF PF AF SF OF", 0x40, f & ARITH_FLAGS);
    }
    check("vmxon in root: VMfailValid 15", 15, status_code(vmxon_((u64)vmxon_region)));
    f = flags_after_vmwrite(F_G_RIP, 0x1000, 0x2 | ARITH_FLAGS);
    check("VMsucceed clears CF PF AF ZF SF OF", 0, f & ARITH_FLAGS);
    __asm__ volatile("vmptrst %0" : "=m"(scratch[1]) :: "memory");
    check("vmcs still current after the failures (vmptrst)", (u64)vmcs_a, scratch[1]);

    vmwrite_(F_G_ES_SEL, 0x12345);
    check("vmwrite/vmread of a 16-bit field keeps bits 15:0", 0x2345, vmr(F_G_ES_SEL));
    vmwrite_(F_TSC_OFFSET, 0x1122334455667788ul);
    check("vmread of the high half of a 64-bit field (encoding + 1)", 0x11223344, vmr(F_TSC_OFFSET + 1));
    vmwrite_(F_TSC_OFFSET + 1, 0xAABBCCDD);
    check("vmwrite of the high half changes bits 63:32 only", 0xAABBCCDD55667788ul, vmr(F_TSC_OFFSET));
    vmwrite_(F_EXC_BITMAP, 0xFFFFFFFF12345678ul);
    check("vmwrite of a 32-bit field ignores bits 63:32", 0x12345678, vmr(F_EXC_BITMAP));

    vm_reset();
    collect(vm_enter(&G, 1));
    check("vmresume of a clear vmcs: VMfailValid 5", 5, X.err);

    /* VMCLEAR of the current VMCS makes it not current (SDM 30.3 VMCLEAR) */
    vmclear_((u64)vmcs_a);
    scratch[2] = 0;
    __asm__ volatile("vmptrst %0" : "=m"(scratch[2]) :: "memory");
    check("vmclear of the current vmcs leaves no current vmcs", ~0ul, scratch[2]);
    check("vmread after that: VMfailInvalid", 1, (u64)vmread_(F_G_RIP, &v));
}

/* ================================================================ C. VM-entry failures (VMfail) */
static void grp_entry_vmfail(void) {
    u64 r;
    /* a successful entry first, then VMLAUNCH again: error 4 */
    vm_reset();
    run(g_vmcall);
    check("launch of a valid vmcs exits with VMCALL (18)", R_VMCALL, X.reason);
    launched = 0;
    run(g_vmcall);
    check("vmlaunch of a launched vmcs: VMfailValid 4", 4, X.err);

    /* a pin-based control outside its allowed settings (SDM 26.2.1.1) -> error 7 */
    vm_reset();
    {
        u32 a0 = (u32)cap_pin, a1 = (u32)(cap_pin >> 32), bad = pin_ctl;
        if (a0) bad &= ~(a0 & -a0);                         /* clear the lowest must-be-1 bit */
        else { u32 z = ~a1; bad |= z & -z; }                /* set the lowest must-be-0 bit */
        vmw(F_PIN, bad);
    }
    run(g_vmcall);
    check("vmlaunch with invalid pin-based controls: VMfailValid 7", 7, X.err);

    vm_reset();
    vmw(F_CR3_COUNT, ((misc >> 16) & 0x1FF) + 1);
    run(g_vmcall);
    check("vmlaunch with cr3-target count above IA32_VMX_MISC[24:16]: VMfailValid 7", 7, X.err);

    vm_reset();
    if (can_proc(PROC_IO_BITMAPS)) {
        set_proc(PROC_IO_BITMAPS);
        vmw(F_IO_A, (u64)io_bitmap_a + 0x800);
        vmw(F_IO_B, (u64)io_bitmap_b);
        run(g_vmcall);
        check("vmlaunch with an unaligned I/O-bitmap address: VMfailValid 7", 7, X.err);
    } else skip("vmlaunch with an unaligned I/O-bitmap address: VMfailValid 7", "I/O bitmaps");

    vm_reset();
    vmw(F_ENTRY_INTR, 0x80000000u | (1u << 8) | 32);        /* interruption type 1 is reserved (26.2.1.3) */
    run(g_vmcall);
    check("vmlaunch injecting a reserved interruption type: VMfailValid 7", 7, X.err);

    vm_reset();
    vmw(F_H_CR0, rd_cr0() & ~1ul);
    run(g_vmcall);
    check("vmlaunch with host cr0.pe=0: VMfailValid 8", 8, X.err);

    vm_reset();
    vmw(F_H_FS_BASE, 0x8000000000000000ul);
    run(g_vmcall);
    check("vmlaunch with a non-canonical host fs base: VMfailValid 8", 8, X.err);

    vm_reset();
    vmw(F_H_TR_SEL, 0);
    run(g_vmcall);
    check("vmlaunch with host tr selector 0: VMfailValid 8", 8, X.err);

    vm_reset();
    vmw(F_H_CR4, rd_cr4() & ~(1ul << 13));
    run(g_vmcall);
    check("vmlaunch with host cr4.vmxe=0: VMfailValid 8", 8, X.err);

    /* MOV SS blocking (SDM 30.3 VMLAUNCH/VMRESUME: VMfailValid(26)) */
    vm_reset();
    vmw(F_G_RIP, (u64)g_vmcall);
    r = vm_enter_movss(&G, 0);
    collect(r);
    check("vmlaunch right after mov ss: VMfailValid 26", 26, X.err);

    if (can_proc2(P2_VPID)) {
        vm_reset();
        set_proc2(P2_VPID);
        vmw(F_VPID, 0);
        run(g_vmcall);
        check("vmlaunch with enable-vpid and vpid 0: VMfailValid 7", 7, X.err);
        vm_reset();
        set_proc2(P2_VPID);
        vmw(F_VPID, 1);
        run(g_vmcall);
        check("entry with vpid 1 succeeds (VMCALL exit)", R_VMCALL, X.reason);
    } else {
        skip("vmlaunch with enable-vpid and vpid 0: VMfailValid 7", "secondary control enable VPID");
        skip("entry with vpid 1 succeeds (VMCALL exit)", "secondary control enable VPID");
    }
}

/* ================================================================ D. guest-state failures (exit 33/34) */
static void grp_entry_exit33(void) {
    vm_reset();
    vmw(F_G_RFLAGS, 0x0);                                   /* bit 1 must be 1 (26.3.1.4) */
    run(g_vmcall);
    check("guest rflags bit 1 clear: exit reason 0x80000021", ENTRY_FAIL | R_BAD_GUEST, X.reason);
    check("guest rflags bit 1 clear: exit qualification 0", 0, X.qual);

    vm_reset();
    vmw(F_G_CR0, rd_cr0() & ~1ul);                          /* PG=1 with PE=0, and PE fixed to 1 */
    run(g_vmcall);
    check("guest cr0 with pg=1 pe=0: exit reason 0x80000021", ENTRY_FAIL | R_BAD_GUEST, X.reason);

    vm_reset();
    vmw(F_LINK, (u64)vmcs_b + 0x10);                        /* not FFFFFFFF_FFFFFFFFH and unaligned (26.3.1.5) */
    run(g_vmcall);
    check("invalid vmcs link pointer: exit reason 0x80000021", ENTRY_FAIL | R_BAD_GUEST, X.reason);
    check("invalid vmcs link pointer: exit qualification 4", 4, X.qual);

    vm_reset();
    vmw(F_G_TR_AR, 0x10000 | 0x8B);                         /* TR must be usable (26.3.1.2) */
    run(g_vmcall);
    check("guest tr unusable: exit reason 0x80000021", ENTRY_FAIL | R_BAD_GUEST, X.reason);

    vm_reset();
    vmw(F_G_CS_AR, 0xA093);                                 /* CS type 3 is data, not code */
    run(g_vmcall);
    check("guest cs with a data-segment type: exit reason 0x80000021", ENTRY_FAIL | R_BAD_GUEST, X.reason);

    /* VM-entry MSR-load failure (26.4): entry 2 writes a non-canonical FS base -> exit 34, qual 2 */
    vm_reset();
    msr_load_area[0] = 0x175; msr_load_area[1] = 0x1000;        /* IA32_SYSENTER_ESP */
    msr_load_area[2] = 0xC0000100; msr_load_area[3] = 0x8000000000000000ul; /* IA32_FS_BASE, bad */
    vmw(F_ENTRY_MSR_LOAD, (u64)msr_load_area);
    vmw(F_ENTRY_MSR_LOAD_COUNT, 2);
    run(g_vmcall);
    check("msr-load area entry 2 fails: exit reason 0x80000022", ENTRY_FAIL | R_BAD_MSR_LOAD, X.reason);
    check("msr-load area entry 2 fails: exit qualification 2", 2, X.qual);

    /* the MSR-load area loads a good MSR: the guest reads it (RDMSR passed through by a clear bitmap) */
    if (can_proc(PROC_MSR_BITMAPS)) {
        vm_reset();
        msr_load_area[0] = 0xC0000102; msr_load_area[1] = 0x123456789000ul; /* IA32_KERNEL_GS_BASE */
        vmw(F_ENTRY_MSR_LOAD, (u64)msr_load_area);
        vmw(F_ENTRY_MSR_LOAD_COUNT, 1);
        memset(msr_bitmap, 0, 4096);
        set_proc(PROC_MSR_BITMAPS); vmw(F_MSR_BITMAP, (u64)msr_bitmap);
        G.rcx = 0xC0000102;
        run(g_rdmsr);
        check("msr-load area value reaches the guest (kernel_gs_base read without exit)", 0x123456789000ul,
              X.reason == R_VMCALL ? (G.rdx << 32) | (u32)G.rax : ~0ul);
    } else skip("msr-load area value reaches the guest", "use MSR bitmaps");
}

/* ================================================================ E. exits */
static void grp_basic_exits(void) {
    vm_reset();
    G.rax = 0; G.rcx = 0;
    run(g_cpuid);
    check("cpuid: exit reason 10", R_CPUID, X.reason);
    check("cpuid: instruction length 2", 2, X.len);
    check("cpuid: guest rip at the instruction (fault-like)", (u64)g_cpuid, X.rip);
    skip_resume();
    check("resume after advancing rip: next exit is VMCALL at cpuid+2", (u64)g_cpuid + 2, X.reason == R_VMCALL ? X.rip : ~0ul);

    vm_reset();
    run(g_vmcall);
    check("vmcall: exit reason 18", R_VMCALL, X.reason);
    check("vmcall: instruction length 3", 3, X.len);

    vm_reset();
    if (can_proc(PROC_HLT)) {
        set_proc(PROC_HLT);
        vmw(F_G_RFLAGS, 0x202);         /* IF=1: an intercepted HLT, not a machine stop */
        run(g_hlt);
        check("hlt exiting: exit reason 12", R_HLT, X.reason);
        check("hlt exiting: instruction length 1", 1, X.len);
    } else { skip("hlt exiting: exit reason 12", "HLT exiting"); skip("hlt exiting: instruction length 1", "HLT exiting"); }

    vm_reset();
    if (can_proc(PROC_INVLPG)) {
        set_proc(PROC_INVLPG);
        G.rax = 0x00007FFF12345678ul;
        run(g_invlpg);
        check("invlpg exiting: exit reason 14", R_INVLPG, X.reason);
        check("invlpg exiting: qualification = linear address", 0x00007FFF12345678ul, X.qual);
        check("invlpg exiting: instruction length 3", 3, X.len);
    } else skip("invlpg exiting", "INVLPG exiting");

    vm_reset();
    if (can_proc(PROC_RDTSC)) {
        set_proc(PROC_RDTSC);
        run(g_rdtsc);
        check("rdtsc exiting: exit reason 16", R_RDTSC, X.reason);
        check("rdtsc exiting: instruction length 2", 2, X.len);
    } else skip("rdtsc exiting", "RDTSC exiting");

    vm_reset();
    if (can_proc(PROC_TSC_OFF)) {
        u64 off = 1ul << 40;
        set_proc(PROC_TSC_OFF);
        vmw(F_TSC_OFFSET, off);
        u64 t0 = rdtsc();
        run(g_rdtsc);
        u64 t1 = rdtsc();
        u64 g = (G.rdx << 32) | (u32)G.rax;
        check("tsc offsetting: rdtsc does not exit", R_VMCALL, X.reason);
        check_range("tsc offsetting: guest rdtsc = host tsc + offset", t0 + off, t1 + off, g);
    } else skip("tsc offsetting", "TSC offsetting");

    /* VMX instructions in the guest (25.1.3) */
    vm_reset();
    G.rax = F_G_RIP;
    run(g_vmread);
    check("vmread in the guest: exit reason 23", R_VMREAD, X.reason);
    check("vmread in the guest: instruction length 3", 3, X.len);
    /* register form: Reg1 (6:3) = RBX 3, Mem/Reg (10) = 1, Reg2 (31:28) = RAX 0 (Table 27-13) */
    check_mask("vmread in the guest: instruction information (reg1, mem/reg, reg2)", (3u << 3) | (1u << 10), X.info, 0xF0000478);
    vm_reset();
    G.rax = (u64)scratch;
    run(g_vmptrst);
    check("vmptrst in the guest: exit reason 22", R_VMPTRST, X.reason);
    check("vmptrst in the guest: exit qualification = displacement 0", 0, X.qual);
    /* [RAX]: address size 64-bit (9:7 = 2), segment DS (17:15 = 3), index invalid (22), base RAX (26:23 = 0, 27 = 0) */
    check_mask("vmptrst in the guest: instruction information", (2u << 7) | (3u << 15) | (1u << 22), X.info, 0xFC38380);
    vm_reset();
    G.rax = (u64)scratch;
    run(g_vmxon);
    check("vmxon in the guest: exit reason 27", R_VMXON, X.reason);
    check("vmxon in the guest: instruction length 4", 4, X.len);
    vm_reset();
    run(g_vmlaunch);
    check("vmlaunch in the guest: exit reason 20", R_VMLAUNCH, X.reason);
}

static void grp_cr_exits(void) {
    u64 gcr0 = rd_cr0(), gcr4 = rd_cr4();
    /* CR0 guest/host mask with TS, read shadow TS=1 (25.3: reads of masked bits return the shadow) */
    vm_reset();
    vmw(F_CR0_MASK, 0x8); vmw(F_CR0_SHADOW, 0x8);
    run(g_mov_from_cr0);
    check("mov from cr0 returns the read shadow for masked bits (no exit)", (gcr0 & ~8ul) | 8, X.reason == R_VMCALL ? G.rax : ~0ul);

    vm_reset();
    vmw(F_CR0_MASK, 0x8); vmw(F_CR0_SHADOW, 0x8);
    G.rax = gcr0 | 8;
    run(g_mov_to_cr0);
    check("mov to cr0 with masked bits equal to the shadow does not exit", R_VMCALL, X.reason);
    check("...and leaves the masked bit of the real cr0 unchanged (ts=0)", 0, vmr(F_G_CR0) & 8);

    vm_reset();
    vmw(F_CR0_MASK, 0x8); vmw(F_CR0_SHADOW, 0x8);
    G.rax = gcr0 & ~8ul;
    run(g_mov_to_cr0);
    check("mov to cr0 changing a masked bit: exit reason 28", R_CR, X.reason);
    check("mov to cr0: qualification (cr0, mov-to, rax) = 0", 0, X.qual);
    check("mov to cr0: instruction length 3", 3, X.len);

    vm_reset();
    vmw(F_CR0_MASK, 0x8); vmw(F_CR0_SHADOW, 0x8);
    run(g_clts);
    check("clts with cr0.ts masked and shadow 1: exit 28, qualification 0x20", R_CR | (0x20ul << 32), X.reason | (X.qual << 32));

    vm_reset();
    vmw(F_CR0_MASK, 0x8); vmw(F_CR0_SHADOW, 0);
    G.rax = (gcr0 & 0xFFF7) | 8;
    run(g_lmsw);
    check("lmsw setting masked ts (shadow 0): exit 28", R_CR, X.reason);
    check("lmsw: qualification (type 3, source data in 31:16)", 0x30 | (((gcr0 & 0xFFF7) | 8) << 16), X.qual & 0xFFFF00F0ul);

    vm_reset();
    vmw(F_CR4_MASK, 1ul << 13); vmw(F_CR4_SHADOW, 0);
    run(g_mov_from_cr4);
    check("mov from cr4 with vmxe masked, shadow 0: guest reads vmxe=0", gcr4 & ~(1ul << 13), X.reason == R_VMCALL ? G.rax : ~0ul);

    vm_reset();
    if (can_proc(PROC_CR3_STORE)) {
        set_proc(PROC_CR3_STORE);
        run(g_mov_from_cr3);
        check("mov rbx, cr3 with cr3-store exiting: exit 28", R_CR, X.reason);
        check("mov rbx, cr3: qualification 0x313 (cr3, mov-from, rbx)", 0x313, X.qual);
    } else skip("cr3-store exiting", "CR3-store exiting");
    vm_reset();
    if (can_proc(PROC_CR3_LOAD)) {
        set_proc(PROC_CR3_LOAD);
        G.rax = (u64)g_pml4;
        run(g_mov_to_cr3);
        check("mov cr3, rax with cr3-load exiting: exit 28, qualification 3", R_CR | (3ul << 32), X.reason | (X.qual << 32));
        if ((misc >> 16) & 0x1FF) {
            vm_reset();
            set_proc(PROC_CR3_LOAD);
            vmw(F_CR3_COUNT, 1);
            vmw(F_CR3_TARGET0, (u64)g_pml4);
            G.rax = (u64)g_pml4;
            run(g_mov_to_cr3);
            check("mov to cr3 of a cr3-target value does not exit", R_VMCALL, X.reason);
        } else skip("mov to cr3 of a cr3-target value does not exit", "CR3-target values");
    } else skip("cr3-load exiting", "CR3-load exiting");

    vm_reset();
    if (can_proc(PROC_CR8_LOAD) && can_proc(PROC_CR8_STORE)) {
        set_proc(PROC_CR8_LOAD);
        G.rdx = 0;
        run(g_mov_to_cr8);
        check("mov cr8, rdx with cr8-load exiting: exit 28, qualification 0x208", R_CR | (0x208ul << 32), X.reason | (X.qual << 32));
        check("mov cr8, rdx: instruction length 4", 4, X.len);
        vm_reset();
        set_proc(PROC_CR8_STORE);
        run(g_mov_from_cr8);
        check("mov rsi, cr8 with cr8-store exiting: exit 28, qualification 0x618", R_CR | (0x618ul << 32), X.reason | (X.qual << 32));
    } else skip("cr8 exiting", "CR8-load/store exiting");
}

static void grp_io_msr_exits(void) {
    vm_reset();
    if (can_proc(PROC_UNCOND_IO)) {
        set_proc(PROC_UNCOND_IO);
        run(g_out_imm);
        check("out 0x80, al: exit reason 30", R_IO, X.reason);
        check("out 0x80, al: qualification (size 1, out, immediate, port 0x80)", 0x00800040, X.qual);
        check("out 0x80, al: instruction length 2", 2, X.len);
        vm_reset(); set_proc(PROC_UNCOND_IO);
        G.rdx = 0x1234;
        run(g_in_dx_word);
        check("in ax, dx: qualification (size 2, in, dx, port 0x1234)", 0x12340009, X.reason == R_IO ? X.qual : ~0ul);
        vm_reset(); set_proc(PROC_UNCOND_IO);
        G.rdx = 0x3F8; G.rsi = (u64)scratch + 0x40; G.rcx = 3;
        run(g_rep_outsb);
        check("rep outsb: qualification (string, rep, dx, port 0x3f8)", 0x03F80030, X.reason == R_IO ? X.qual : ~0ul);
        check("rep outsb: guest-linear address = rsi", (u64)scratch + 0x40, X.gla);
        if (basic & (1ul << 54))
            check_mask("rep outsb: instruction information (64-bit address, ds)", (2u << 7) | (3u << 15), X.info, 0x38380);
        else skip("rep outsb: instruction information (64-bit address, ds)", "IA32_VMX_BASIC[54]");
    } else skip("unconditional I/O exiting", "unconditional I/O exiting");

    vm_reset();
    if (can_proc(PROC_IO_BITMAPS)) {
        memset(io_bitmap_a, 0, 4096); memset(io_bitmap_b, 0, 4096);
        io_bitmap_a[0x80 / 8] |= 1 << (0x80 % 8);
        set_proc(PROC_IO_BITMAPS);
        vmw(F_IO_A, (u64)io_bitmap_a); vmw(F_IO_B, (u64)io_bitmap_b);
        run(g_in_imm);
        check("i/o bitmap bit set for port 0x80: in al, 0x80 exits, qualification 0x00800048", R_IO | (0x00800048ul << 32), X.reason | (X.qual << 32));
        io_bitmap_a[0x80 / 8] = 0;
        vm_reset(); set_proc(PROC_IO_BITMAPS);
        vmw(F_IO_A, (u64)io_bitmap_a); vmw(F_IO_B, (u64)io_bitmap_b);
        run(g_in_imm);
        check("i/o bitmap bit clear: in al, 0x80 does not exit", R_VMCALL, X.reason);
        io_bitmap_b[0] = 1;                                             /* port 0x8000 */
        vm_reset(); set_proc(PROC_IO_BITMAPS);
        vmw(F_IO_A, (u64)io_bitmap_a); vmw(F_IO_B, (u64)io_bitmap_b);
        G.rdx = 0x7FFE;
        run(g_in_dx_dword);
        check("in eax, dx over ports 7ffe-8001 exits when only bitmap b bit 0 is set", R_IO | (0x7FFE000Bul << 32), X.reason | (X.qual << 32));
        io_bitmap_b[0] = 0;
    } else skip("I/O bitmaps", "use I/O bitmaps");

    vm_reset();
    G.rcx = 0x174;
    run(g_rdmsr);
    check("rdmsr without msr bitmaps: exit reason 31", R_RDMSR, X.reason);
    check("rdmsr: instruction length 2", 2, X.len);
    if (can_proc(PROC_MSR_BITMAPS)) {
        memset(msr_bitmap, 0, 4096);
        msr_bitmap[0x174 / 8] |= 1 << (0x174 % 8);                      /* read-low */
        vm_reset(); set_proc(PROC_MSR_BITMAPS); vmw(F_MSR_BITMAP, (u64)msr_bitmap);
        G.rcx = 0x174;
        run(g_rdmsr);
        check("rdmsr 0x174 with its read bit set: exit 31", R_RDMSR, X.reason);
        msr_bitmap[0x174 / 8] = 0;
        vm_reset(); set_proc(PROC_MSR_BITMAPS); vmw(F_MSR_BITMAP, (u64)msr_bitmap);
        vmw(F_G_SYSENTER_CS, 0x1234);
        G.rcx = 0x174;
        run(g_rdmsr);
        check("rdmsr 0x174 with its bit clear: no exit, reads the guest sysenter_cs loaded at entry", 0x1234, X.reason == R_VMCALL ? (u32)G.rax : ~0ul);
        vm_reset(); set_proc(PROC_MSR_BITMAPS); vmw(F_MSR_BITMAP, (u64)msr_bitmap);
        G.rcx = 0x40000000;
        run(g_rdmsr);
        check("rdmsr of an msr outside the bitmap ranges always exits", R_RDMSR, X.reason);
        msr_bitmap[0xC00 + (0x100 / 8)] |= 1 << (0x100 % 8);            /* write-high: C0000100H */
        vm_reset(); set_proc(PROC_MSR_BITMAPS); vmw(F_MSR_BITMAP, (u64)msr_bitmap);
        G.rcx = 0xC0000100; G.rax = 0x5000; G.rdx = 0;
        run(g_wrmsr);
        check("wrmsr fs_base with its write bit set: exit 32", R_WRMSR, X.reason);
        msr_bitmap[0xC00 + (0x100 / 8)] = 0;
        vm_reset(); set_proc(PROC_MSR_BITMAPS); vmw(F_MSR_BITMAP, (u64)msr_bitmap);
        G.rcx = 0xC0000100; G.rax = 0x5000; G.rdx = 0x1;
        run(g_wrmsr);
        check("wrmsr fs_base with its bit clear: no exit, guest fs base written", 0x100005000ul, X.reason == R_VMCALL ? vmr(F_G_FS_BASE) : ~0ul);
    } else skip("MSR bitmaps", "use MSR bitmaps");
}

static void grp_exception_exits(void) {
    vm_reset();
    run(g_ud2);
    check("#UD with exception bitmap bit 6: exit reason 0", R_EXC, X.reason);
    check("#UD: interruption information 0x80000306", 0x80000306, X.intr);
    check("#UD: guest rip at ud2", (u64)g_ud2, X.rip);
    vm_reset();
    run(g_int3);
    check("int3 with bitmap bit 3: interruption information 0x80000603 (software exception)", 0x80000603, X.reason == R_EXC ? X.intr : ~0ul);
    check("int3: instruction length 1", 1, X.len);

    vm_reset();
    G.rbx = UNMAPPED_VA + 0x10;
    run(g_read_rbx);
    check("#PF with mask/match 0/0 and bit 14: exit, interruption information 0x80000b0e", 0x80000B0E, X.reason == R_EXC ? X.intr : ~0ul);
    check("#PF: error code 0 (not present, read, supervisor)", 0, X.intr_err);
    check("#PF: exit qualification = faulting linear address", UNMAPPED_VA + 0x10, X.qual);
    vm_reset();
    vmw(F_PFEC_MASK, 1); vmw(F_PFEC_MATCH, 1);                  /* PFEC.P=0 does not match: bit 14=1 -> no exit */
    G.rbx = UNMAPPED_VA + 0x10;
    run(g_read_rbx);
    check("#PF not matching mask/match with bit 14 set: delivered to the guest (vector 14)", 14,
          X.reason == R_VMCALL && G.rdx == GUEST_HANDLER_MARK ? G.rax : ~0ul);
    vm_reset();
    vmw(F_EXC_BITMAP, 0xFFFFBFFF);
    vmw(F_PFEC_MASK, 1); vmw(F_PFEC_MATCH, 1);                  /* no match, bit 14=0 -> exit */
    G.rbx = UNMAPPED_VA + 0x10;
    run(g_read_rbx);
    check("#PF not matching mask/match with bit 14 clear: exits", R_EXC, X.reason);
    vm_reset();
    vmw(F_EXC_BITMAP, 0xFFFFBFFF);                              /* match (0/0), bit 14=0 -> no exit */
    G.rbx = UNMAPPED_VA + 0x10;
    run(g_read_rbx);
    check("#PF matching mask/match with bit 14 clear: delivered to the guest", 14,
          X.reason == R_VMCALL && G.rdx == GUEST_HANDLER_MARK ? G.rax : ~0ul);

    /* triple fault: no IDT in the guest, nothing intercepted (exit reason 2) */
    vm_reset();
    vmw(F_EXC_BITMAP, 0);
    vmw(F_G_IDTR_LIM, 0);
    run(g_ud2);
    check("guest triple fault: exit reason 2", R_TRIPLE, X.reason);
}

static void grp_event_exits(void) {
    if (can_proc(PROC_INT_WIN)) {
        vm_reset();
        set_proc(PROC_INT_WIN);
        vmw(F_G_RFLAGS, 0x202);
        run(g_vmcall);
        check("interrupt-window exiting with rflags.if=1: exit 7 before the first instruction", R_INT_WIN | ((u64)g_vmcall << 8),
              X.reason | (X.rip << 8));
        vm_reset();
        set_proc(PROC_INT_WIN);
        run(g_sti_nop);
        check("interrupt window after sti opens after the next instruction (rip = sti+2)", R_INT_WIN | (((u64)g_sti_nop + 2) << 8),
              X.reason | (X.rip << 8));
    } else skip("interrupt-window exiting", "interrupt-window exiting");

    if (can_pin(PIN_PREEMPT)) {
        u64 saved = watchdog;
        vm_reset();
        watchdog = 0;
        set_pin(PIN_PREEMPT);
        if (can_exit(EXIT_SAVE_TIMER)) set_exit(EXIT_SAVE_TIMER);
        vmw(F_PREEMPT, 50);
        run(g_loop);
        check("vmx-preemption timer: exit reason 52", R_PREEMPT, X.reason);
        if (can_exit(EXIT_SAVE_TIMER)) check("preemption timer saved as 0 on its exit", 0, vmr(F_PREEMPT));
        else skip("preemption timer saved as 0 on its exit", "save VMX-preemption timer value");
        vm_reset();
        set_pin(PIN_PREEMPT);
        vmw(F_PREEMPT, 0);
        run(g_vmcall);
        check("preemption timer 0 at entry: exit 52 before any instruction", R_PREEMPT | ((u64)g_vmcall << 8), X.reason | (X.rip << 8));
        watchdog = saved;
    } else skip("vmx-preemption timer", "VMX-preemption timer");

    /* event injection (26.6): the guest's own IDT handlers report vector/error/RIP by VMCALL */
    vm_reset();
    vmw(F_EXC_BITMAP, 0);
    vmw(F_ENTRY_INTR, 0x80000000u | (3u << 8) | (1u << 11) | 13);
    vmw(F_ENTRY_ERR, 0x1234);
    run(g_vmcall);
    check("injected #GP(0x1234) reaches the guest handler: vector", 13, G.rdx == GUEST_HANDLER_MARK ? G.rax : ~0ul);
    check("injected #GP: error code", 0x1234, G.rbx);
    check("injected #GP: saved rip = guest rip", (u64)g_vmcall, G.rcx);
    vm_reset();
    vmw(F_EXC_BITMAP, 0);
    vmw(F_ENTRY_INTR, 0x80000000u | (4u << 8) | 0x30);
    vmw(F_ENTRY_LEN, 2);
    run(g_vmcall);
    check("injected software interrupt 0x30: vector", 0x30, G.rdx == GUEST_HANDLER_MARK ? G.rax : ~0ul);
    check("injected software interrupt: saved rip = rip + instruction length", (u64)g_vmcall + 2, G.rcx);
    vm_reset();
    vmw(F_EXC_BITMAP, 0xFFFFFFFF);
    vmw(F_ENTRY_INTR, 0x80000000u | (6u << 8) | 3);
    vmw(F_ENTRY_LEN, 1);
    run(g_vmcall);
    check("injected #BP (software exception) is not intercepted by the bitmap: vector 3", 3, G.rdx == GUEST_HANDLER_MARK ? G.rax : ~0ul);
    check("injected #BP: saved rip = rip + 1", (u64)g_vmcall + 1, G.rcx);
    vm_reset();
    vmw(F_EXC_BITMAP, 0);
    vmw(F_G_RFLAGS, 0x202);
    vmw(F_ENTRY_INTR, 0x80000000u | (0u << 8) | 0x31);
    run(g_vmcall);
    check("injected external interrupt 0x31: vector", 0x31, G.rdx == GUEST_HANDLER_MARK ? G.rax : ~0ul);
    vm_reset();
    vmw(F_EXC_BITMAP, 0);
    vmw(F_ENTRY_INTR, 0x80000000u | (2u << 8) | 2);
    run(g_vmcall);
    check("injected NMI: vector 2", 2, G.rdx == GUEST_HANDLER_MARK ? G.rax : ~0ul);
    /* a fault while delivering an injected event, intercepted: IDT-vectoring information */
    vm_reset();
    vmw(F_EXC_BITMAP, 1u << 13);
    vmw(F_G_IDTR_LIM, 0x30 * 16 - 1);                 /* vector 0x30 beyond the IDT limit -> #GP */
    vmw(F_ENTRY_INTR, 0x80000000u | (4u << 8) | 0x30);
    vmw(F_ENTRY_LEN, 2);
    run(g_vmcall);
    check("#GP while delivering injected int 0x30: exit 0 with #GP", 0x80000B0D, X.reason == R_EXC ? X.intr : ~0ul);
    check("#GP while delivering: error code 0x30*8+2 (IDT, EXT=0 for INT n)", 0x30 * 8 + 2, X.intr_err);
    check("#GP while delivering: idt-vectoring information = the injected event", 0x80000430, X.idtv & 0x80000FFF);

    /* external interrupt exiting (pin 0) with a local-APIC one-shot timer, acknowledged on exit.
     * SDM 24.6.1 / 25.3: with external-interrupt exiting, RFLAGS.IF does not block external
     * interrupts, so the exit comes with guest IF=0 too; the IF=1 run also drains an interrupt
     * that a CPU failing the first check left pending. */
    if (can_exit(EXIT_ACK_INT) && (rdmsr(0x1B) & (1ul << 11))) {
        u64 apic = rdmsr(0x1B) & 0xFFFFFF000ul;
        u64 saved = watchdog;
        if (watchdog) watchdog = (1ul << 26) >> (misc & 0x1F);   /* a longer bound: the APIC timer's rate is the machine's */
        VOL32(apic + 0xF0) = 0x1FF;                    /* software enable, spurious vector 0xFF */
        VOL32(apic + 0x3E0) = 0xB;                     /* divide by 1 */
        for (int pass_if = 0; pass_if < 2; pass_if++) {
            VOL32(apic + 0x320) = 0x40;                /* one-shot, vector 0x40 */
            vm_reset();
            set_pin(PIN_EXT_INT);
            set_exit(EXIT_ACK_INT);
            if (pass_if) vmw(F_G_RFLAGS, 0x202);
            VOL32(apic + 0x380) = 2000;
            run(g_loop);
            if (!pass_if) {
                check("external interrupt (local APIC timer), guest if=0: exit reason 1", R_EXTINT, X.reason);
                check("external interrupt acknowledged on exit: interruption information 0x80000040", 0x80000040, X.intr);
            } else {
                check("external interrupt (local APIC timer), guest if=1: exit 1 with vector 0x40", R_EXTINT | (0x80000040ul << 8), X.reason | (X.intr << 8));
            }
            VOL32(apic + 0x320) = 0x10000;             /* mask the timer */
            VOL32(apic + 0xB0) = 0;                    /* EOI (the acknowledged vector is in service) */
        }
        watchdog = saved;
    } else skip("external-interrupt exiting with the local APIC timer", "acknowledge interrupt on exit / xAPIC");
}

/* ================================================================ F. VPID, INVVPID */
static void grp_vpid(void) {
    if (!can_proc2(P2_VPID) || !(ept_cap & (1ul << 32))) { skipping = "VPID / INVVPID"; }
    vm_reset();
    for (u64 t = 0; t < 4; t++) {
        static const char *nm[4] = { "invvpid individual-address (type 0) succeeds", "invvpid single-context (type 1) succeeds",
                                     "invvpid all-context (type 2) succeeds", "invvpid single-context-retaining-globals (type 3) succeeds" };
        if (!skipping && !(ept_cap & (1ul << (40 + t)))) { skip(nm[t], "INVVPID type"); continue; }
        check(nm[t], 0, status_code(invvpid_(t, 1, 0x1000)));
    }
    check("invvpid type 4: VMfailValid 28", 28, status_code(invvpid_(4, 1, 0)));
    if (!skipping && (ept_cap & (1ul << 41)))
        check("invvpid single-context with vpid 0: VMfailValid 28", 28, status_code(invvpid_(1, 0, 0)));
    else skip("invvpid single-context with vpid 0: VMfailValid 28", skipping ? skipping : "INVVPID type 1");
    if (!skipping && (ept_cap & (1ul << 40)))
        check("invvpid individual-address, non-canonical address: VMfailValid 28", 28, status_code(invvpid_(0, 1, 0x8000000000000000ul)));
    else skip("invvpid individual-address, non-canonical address: VMfailValid 28", skipping ? skipping : "INVVPID type 0");
    vm_reset();
    set_proc2(P2_VPID); vmw(F_VPID, 1);
    G.rax = 2; G.rbx = (u64)scratch;
    run(g_invvpid);
    check("invvpid in the guest: exit reason 53", R_INVVPID, X.reason);
}

/* ================================================================ G. EPT */

static void grp_ept(void) {
    if (!can_proc2(P2_EPT) || !(ept_cap & (1ul << 6))) skipping = "enable EPT with 4-level walks";
    u64 q;
    /* entry checks on the EPTP (26.2.1.1) */
    vm_reset(); use_ept(0, 0);
    vmw(F_EPTP, (eptp_value() & ~7ul) | 2);
    run(g_vmcall);
    check("ept: eptp memory type 2: VMfailValid 7", 7, X.err);
    vm_reset(); use_ept(0, 0);
    vmw(F_EPTP, (eptp_value() & ~0x38ul) | (1ul << 3));
    run(g_vmcall);
    check("ept: eptp page-walk length 2: VMfailValid 7", 7, X.err);
    if (!skipping && !(ept_cap & (1ul << 21))) {
        vm_reset(); use_ept(0, 0);
        vmw(F_EPTP, eptp_value() | (1ul << 6));
        run(g_vmcall);
        check("ept: eptp a/d enable without support: VMfailValid 7", 7, X.err);
    }
    vm_reset(); use_ept(0, 0);
    run(g_vmcall);
    check("ept: guest runs on an ept identity map (VMCALL exit)", R_VMCALL, X.reason);
    /* guest reads through EPT: TEST_VA -> TEST_PAGE(0) */
    VOL64(TEST_PAGE(0) + 0x18) = 0xFEEDFACE;
    vm_reset(); use_ept(0, 0);
    G.rbx = TEST_VA + 0x18;
    run(g_read_rbx);
    check("ept: guest read through guest paging and ept", 0xFEEDFACE, X.reason == R_VMCALL ? G.rax : ~0ul);

    /* EPT violation: read of a not-present GPA (28.2.3.2; qualification Table 27-7) */
    vm_reset(); use_ept(0, 0);
    *ept_pte(TEST_PAGE(0)) = 0;
    G.rbx = TEST_VA + 0x18;
    run(g_read_rbx);
    check("ept violation, read of a not-present page: exit reason 48", R_EPT_VIOL, X.reason);
    check_mask("ept violation, read not-present: qualification (read, no rwx, linear valid, final)", 0x181, X.qual, 0x1BF);
    check("ept violation, read not-present: guest-physical address", TEST_PAGE(0) + 0x18, X.gpa);
    check("ept violation, read not-present: guest-linear address", TEST_VA + 0x18, X.gla);
    check("ept violation: guest rip at the faulting instruction", (u64)g_read_rbx, X.rip);

    vm_reset(); use_ept(0, 0);
    *ept_pte(TEST_PAGE(1)) = TEST_PAGE(1) | EPT_R | EPT_WB;
    G.rbx = TEST_PAGE(1) + 0x20; G.rax = 1;
    run(g_write_rbx);
    check("ept violation, write to a read-only page: exit reason 48", R_EPT_VIOL, X.reason);
    check_mask("ept violation, write read-only: qualification (write, r--, linear valid, final)", 0x18A, X.qual, 0x1BF);
    check("ept violation, write read-only: guest-physical address", TEST_PAGE(1) + 0x20, X.gpa);

    vm_reset(); use_ept(0, 0);
    VOL32(TEST_PAGE(2)) = 0x00C1010F;                          /* vmcall */
    *ept_pte(TEST_PAGE(2)) = TEST_PAGE(2) | EPT_R | EPT_W | EPT_WB;
    G.rbx = TEST_PAGE(2);
    run(g_jmp_rbx);
    check("ept violation, fetch from a non-executable page: exit reason 48", R_EPT_VIOL, X.reason);
    check_mask("ept violation, fetch: qualification (fetch, rw-, linear valid, final)", 0x19C, X.qual, 0x1BF);
    check("ept violation, fetch: guest-physical address and rip", TEST_PAGE(2) | (TEST_PAGE(2) << 32), X.gpa | (X.rip << 32));
    vm_reset(); use_ept(0, 0);
    G.rbx = TEST_PAGE(2);
    run(g_jmp_rbx);
    check("ept: the same page executable runs its vmcall", R_VMCALL | (TEST_PAGE(2) << 8), X.reason | (X.rip << 8));

    /* EPT misconfigurations (28.2.3.1) */
    vm_reset(); use_ept(0, 0);
    *ept_pte(TEST_PAGE(3)) = TEST_PAGE(3) | EPT_W | EPT_WB;
    G.rbx = TEST_PAGE(3) + 8;
    run(g_read_rbx);
    check("ept misconfiguration, write without read: exit reason 49", R_EPT_MISCONF, X.reason);
    check("ept misconfiguration: guest-physical address", TEST_PAGE(3) + 8, X.gpa);
    vm_reset(); use_ept(0, 0);
    *ept_pte(TEST_PAGE(3)) = TEST_PAGE(3) | EPT_RWX | (2ul << 3);
    G.rbx = TEST_PAGE(3) + 8;
    run(g_read_rbx);
    check("ept misconfiguration, leaf memory type 2: exit reason 49", R_EPT_MISCONF, X.reason);
    vm_reset(); use_ept(0, 0);
    ept_pd0[TEST_PAGE(3) >> 21] |= 1ul << 3;                    /* bits 6:3 reserved in a non-leaf PDE */
    G.rbx = TEST_PAGE(3) + 8;
    run(g_read_rbx);
    check("ept misconfiguration, reserved bit 3 in a non-leaf pde: exit reason 49", R_EPT_MISCONF, X.reason);
    if (maxphy < 52) {
        vm_reset(); use_ept(0, 0);
        *ept_pte(TEST_PAGE(3)) = TEST_PAGE(3) | EPT_RWX | EPT_WB | (1ul << maxphy);
        G.rbx = TEST_PAGE(3) + 8;
        run(g_read_rbx);
        check("ept misconfiguration, address bit at maxphyaddr in a leaf: exit reason 49", R_EPT_MISCONF, X.reason);
    } else skip("ept misconfiguration, address bit at maxphyaddr", "MAXPHYADDR is 52");
    vm_reset(); use_ept(0, 0);
    *ept_pte(TEST_PAGE(3)) = TEST_PAGE(3) | EPT_X | EPT_WB;
    G.rbx = TEST_PAGE(3) + 8;
    run(g_read_rbx);
    if (ept_cap & 1) {
        check("ept execute-only page (supported): read is a violation", R_EPT_VIOL, X.reason);
        check_mask("ept execute-only read: qualification (read, --x, linear valid, final)", 0x1A1, X.qual, 0x1BF);
    } else {
        check("ept execute-only page without support: misconfiguration 49", R_EPT_MISCONF, X.reason);
    }

    /* large EPT pages */
    VOL64(HUGE_HPA + 0x1238) = 0x2222222222222222ul;
    if (!skipping && (ept_cap & (1ul << 16))) {
        vm_reset(); use_ept(0, 0);
        G.rbx = GPA_2M + 0x1238;
        run(g_read_rbx);
        check("ept 2 MiB page: read of gpa 1 GiB + x sees host frame 8 MiB + x", 0x2222222222222222ul, X.reason == R_VMCALL ? G.rax : ~0ul);
        vm_reset(); use_ept(0, 0);
        ept_pd1[0] &= ~EPT_W;
        G.rbx = GPA_2M + 0x1238;
        run(g_write_rbx);
        check("ept 2 MiB read-only page: write violation with its guest-physical address", R_EPT_VIOL | ((GPA_2M + 0x1238) << 8), X.reason | (X.gpa << 8));
    } else { skip("ept 2 MiB page", skipping ? skipping : "IA32_VMX_EPT_VPID_CAP[16]"); }
    if (!skipping && (ept_cap & (1ul << 17))) {
        vm_reset(); use_ept(0, 0);
        G.rbx = GPA_1G + HUGE_HPA + 0x1238;
        run(g_read_rbx);
        check("ept 1 GiB page: read of gpa 2 GiB + x sees host frame x", 0x2222222222222222ul, X.reason == R_VMCALL ? G.rax : ~0ul);
    } else skip("ept 1 GiB page", skipping ? skipping : "IA32_VMX_EPT_VPID_CAP[17]");

    /* guest paging-structure access through EPT (bit 8 clear) */
    vm_reset(); use_ept(0, 0);
    *ept_pte((u64)g_pt_t) = 0;
    G.rbx = TEST_VA + 5 * 0x1000 + 0x10;
    run(g_read_rbx);
    check("ept violation on a guest page-table read: exit reason 48", R_EPT_VIOL, X.reason);
    check_mask("guest page-table read: qualification (read, linear valid, bit 8 clear)", 0x081, X.qual, 0x1BF);
    check("guest page-table read: guest-physical address = the guest pte", (u64)&g_pt_t[5], X.gpa);
    check("guest page-table read: guest-linear address", TEST_VA + 5 * 0x1000 + 0x10, X.gla);

    /* INVEPT (30.3) */
    if (!skipping && (ept_cap & (1ul << 20))) {
        if (ept_cap & (1ul << 25)) check("invept single-context succeeds", 0, status_code(invept_(1, eptp_value())));
        else skip("invept single-context succeeds", "INVEPT type 1");
        if (ept_cap & (1ul << 26)) check("invept all-context succeeds", 0, status_code(invept_(2, 0)));
        else skip("invept all-context succeeds", "INVEPT type 2");
        check("invept type 0: VMfailValid 28", 28, status_code(invept_(0, eptp_value())));
        check("invept type 3: VMfailValid 28", 28, status_code(invept_(3, eptp_value())));
        /* a translation used, then write-protected + INVEPT: the next write must exit */
        vm_reset(); use_ept(0, 0);
        G.rbx = TEST_PAGE(4); G.rax = 7;
        run(g_write_rbx);
        u64 first = X.reason;
        *ept_pte(TEST_PAGE(4)) &= ~EPT_W;
        invept_((ept_cap & (1ul << 25)) ? 1 : 2, eptp_value());
        G.rbx = TEST_PAGE(4) + 8;
        vmw(F_G_RIP, (u64)g_write_rbx);
        resume();
        check("invept: a write after write-protecting a used page exits", (u64)R_VMCALL << 8 | R_EPT_VIOL, first << 8 | X.reason);
        vm_reset(); use_ept(0, 0);
        G.rax = 2; G.rbx = (u64)scratch;
        scratch[0] = eptp_value(); scratch[1] = 0;
        run(g_invept);
        check("invept in the guest: exit reason 50", R_INVEPT, X.reason);
    } else skip("invept", skipping ? skipping : "INVEPT");

    /* accessed and dirty flags (28.2.4) */
    if (!skipping && (ept_cap & (1ul << 21))) {
        vm_reset(); use_ept(1, 0);
        *ept_pte(TEST_PAGE(6)) = TEST_PAGE(6) | EPT_RWX | EPT_WB;
        *ept_pte(TEST_PAGE(7)) = TEST_PAGE(7) | EPT_RWX | EPT_WB;
        ept_pml4[0] &= ~EPT_A;
        G.rbx = TEST_PAGE(6);
        run(g_read_rbx);
        q = *ept_pte(TEST_PAGE(6));
        check("ept a/d: a read sets the accessed flag of the leaf, not dirty", EPT_A, q & (EPT_A | EPT_D));
        check("ept a/d: the walk sets the accessed flag of the pml4e", EPT_A, ept_pml4[0] & EPT_A);
        vm_reset(); use_ept(1, 0);
        *ept_pte(TEST_PAGE(7)) = TEST_PAGE(7) | EPT_RWX | EPT_WB;
        G.rbx = TEST_PAGE(7);
        run(g_write_rbx);
        check("ept a/d: a write sets accessed and dirty", EPT_A | EPT_D, *ept_pte(TEST_PAGE(7)) & (EPT_A | EPT_D));
        vm_reset(); use_ept(1, 0);
        *ept_pte((u64)g_pt_t) = 0;
        G.rbx = TEST_VA + 0x10;
        run(g_read_rbx);
        /* Table 27-7, footnote: with EPT A/D flags on, guest paging-structure accesses are treated as
         * writes for EPT violations, and such a violation sets both bit 0 and bit 1 */
        check_mask("ept a/d: guest page-table access is treated as a write (qualification 0x083)", 0x083, X.qual, 0x1BF);
    } else skip("ept accessed and dirty flags", skipping ? skipping : "IA32_VMX_EPT_VPID_CAP[21]");

    /* unrestricted guest: a real-mode guest with paging off (26.3.1.1) */
    if (!skipping && can_proc2(P2_UNRESTRICTED)) {
        vm_reset(); use_ept(0, P2_UNRESTRICTED);
        entry_ctl = adjust(cap_entry, 0);
        vmw(F_ENTRY_CTLS, entry_ctl);
        vmw(F_G_CR0, (rd_cr0() & ~0x80000001ul));
        vmw(F_G_CR4, rd_cr4() & ~(1ul << 5));
        static const u16 sel[6] = { F_G_ES_SEL, F_G_CS_SEL, F_G_SS_SEL, F_G_DS_SEL, F_G_FS_SEL, F_G_GS_SEL };
        for (int i = 0; i < 6; i++) {
            vmw(sel[i], 0);
            vmw(F_G_ES_BASE + 2 * i, i == 1 ? (u64)g_real16 : 0);
            vmw(F_G_ES_LIM + 2 * i, 0xFFFF);
            vmw(F_G_ES_AR + 2 * i, i == 1 ? 0x9B : 0x93);
        }
        vmw(F_G_CS_SEL, (u64)g_real16 >> 4);
        vmw(F_G_TR_AR, 0x8B); vmw(F_G_TR_BASE, 0); vmw(F_G_TR_LIM, 0xFFFF);
        vmw(F_G_RSP, 0x7000);
        vmw(F_G_RIP, 0);
        collect(vm_enter(&G, 0));
        check("unrestricted guest: real-mode guest runs to vmcall", R_VMCALL, X.reason);
        check("unrestricted guest: ax and cr0.pe seen by the guest", 0x1234, X.reason == R_VMCALL ? (G.rax & 0xFFFF) | (G.rbx & 1) << 16 : ~0ul);
    } else skip("unrestricted guest", skipping ? skipping : "unrestricted guest");
}

/* ================================================================ H. PML (28.2.6) */
static void grp_pml(void) {
    if (!can_proc2(P2_EPT) || !can_proc2(P2_PML) || !(ept_cap & (1ul << 21))) skipping = "enable PML with EPT A/D flags";
    vm_reset();
    set_proc2(P2_PML);
    vmw(F_PML_ADDR, (u64)pml_log);
    vmw(F_G_PML_INDEX, 511);
    run(g_vmcall);
    check("pml: enable PML without enable EPT: VMfailValid 7", 7, X.err);

    for (int i = 0; i < 512; i++) pml_log[i] = 0;
    vm_reset(); use_ept(1, P2_PML);
    vmw(F_PML_ADDR, (u64)pml_log);
    vmw(F_G_PML_INDEX, 511);
    for (int i = 8; i < 12; i++) *ept_pte(TEST_PAGE(i)) = TEST_PAGE(i) | EPT_RWX | EPT_WB;     /* A=D=0 */
    G.rbx = TEST_PAGE(8) + 0x10; G.rcx = TEST_PAGE(9) + 0x7F8; G.rdx = TEST_PAGE(10) + 0xFF8; G.rax = 0x77;
    run(g_write4);            /* writes pages 8, 9, 10, then 8 again */
    check("pml: four writes to three clean pages exit only at vmcall", R_VMCALL, X.reason);
    check("pml: guest pml index decremented from 511 to 508", 508, vmr(F_G_PML_INDEX));
    check("pml: log entry 511 = first page (4 KiB aligned gpa)", TEST_PAGE(8), pml_log[511]);
    check("pml: log entry 510 = second page", TEST_PAGE(9), pml_log[510]);
    check("pml: log entry 509 = third page", TEST_PAGE(10), pml_log[509]);
    check("pml: the second write to a dirty page logs nothing (entry 508 untouched)", 0, pml_log[508]);
    check("pml: leaf dirty flags set", 3 * EPT_D, (*ept_pte(TEST_PAGE(8)) & EPT_D) + (*ept_pte(TEST_PAGE(9)) & EPT_D) + (*ept_pte(TEST_PAGE(10)) & EPT_D));

    /* index 0: one more log, index wraps to FFFFH; the next logging write is a PML-full exit */
    for (int i = 0; i < 512; i++) pml_log[i] = 0;
    vm_reset(); use_ept(1, P2_PML);
    vmw(F_PML_ADDR, (u64)pml_log);
    vmw(F_G_PML_INDEX, 0);
    for (int i = 8; i < 12; i++) *ept_pte(TEST_PAGE(i)) = TEST_PAGE(i) | EPT_RWX | EPT_WB;
    VOL64(TEST_PAGE(9) + 0x100) = 0x1111;
    G.rbx = TEST_PAGE(8); G.rcx = TEST_PAGE(9) + 0x100; G.rax = 0x99;
    run(g_write_rbx_rcx);
    check("pml: index 0 logs at entry 0", TEST_PAGE(8), pml_log[0]);
    check("pml full: exit reason 62", R_PML_FULL, X.reason);
    check("pml full: exit before the second write (rip, memory unchanged)", (u64)g_write_rbx_rcx_2nd | (0x1111ul << 48),
          X.rip | (VOL64(TEST_PAGE(9) + 0x100) << 48));
    check("pml full: guest pml index is ffff", 0xFFFF, vmr(F_G_PML_INDEX));
    check("pml full: exit qualification 0", 0, X.qual & ~0x1000ul);
    /* 28.2.5: on a log-full event "the accessed or dirty flag is not set, and the guest-physical
     * access that triggered the event does not occur" */
    check("pml full: dirty flag of the page not set", 0, *ept_pte(TEST_PAGE(9)) & EPT_D);
    vmw(F_G_PML_INDEX, 511);
    resume();
    check("pml: after resetting the index the write completes and logs at 511",
          R_VMCALL | (0x99ul << 8) | (TEST_PAGE(9) << 16), X.reason | (VOL64(TEST_PAGE(9) + 0x100) << 8) | (pml_log[511] << 16));
}

/* ================================================================ I. SPP (28.2.4.x) */
static void spp_vm(u32 extra_ept_bits) {
    (void)extra_ept_bits;
    vm_reset(); use_ept(0, P2_SPP);
    spp_build();
    vmw(F_SPPTP, (u64)spp_l4);
}
/* make TEST_PAGE(i) SPP-protected (R X, W=0, bit 61) with the given writable sub-page mask */
static void spp_page(int i, u32 mask) {
    *ept_pte(TEST_PAGE(i)) = TEST_PAGE(i) | EPT_R | EPT_X | EPT_WB | EPT_SPP;
    spp_l1[(TEST_PAGE(i) >> 12) & 511] = spp_vec(mask);
}
static void grp_spp(void) {
    if (!can_proc2(P2_EPT) || !can_proc2(P2_SPP)) skipping = "sub-page write permissions (secondary control 23)";
    u64 P;
    vm_reset();
    set_proc2(P2_SPP);
    vmw(F_SPPTP, (u64)spp_l4);
    run(g_vmcall);
    check("spp: sub-page write permissions without enable EPT: VMfailValid 7", 7, X.err);
    spp_vm(0);
    vmw(F_SPPTP, (u64)spp_l4 | 0x8);
    run(g_vmcall);
    check("spp: unaligned spptp: VMfailValid 7", 7, X.err);

    /* page 12: sub-pages 0 and 1 writable, 2.. denied */
    P = TEST_PAGE(12);
    for (int k = 0; k < 512; k++) VOL64(P + 8 * k) = 0;
    spp_vm(0); spp_page(12, 0x3);
    G.rbx = P + 0x40; G.rax = 0xA1;
    run(g_write_rbx);
    check("spp: write to an allowed sub-page proceeds without exit", R_VMCALL | (0xA1ul << 8), X.reason | (VOL64(P + 0x40) << 8));
    spp_vm(0); spp_page(12, 0x3);
    G.rbx = P + 0x108; G.rax = 0xA2;
    run(g_write_rbx);
    check("spp: write to a denied sub-page: exit reason 48", R_EPT_VIOL, X.reason);
    check_mask("spp: denied write: qualification (write, r-x, linear valid, final)", 0x1AA, X.qual, 0x1BF);
    check("spp: denied write: guest-physical address", P + 0x108, X.gpa);
    check("spp: denied write: memory unchanged", 0, VOL64(P + 0x108));
    spp_vm(0); spp_page(12, 0x3);
    G.rbx = P + 0x40; G.rax = 0xA3;
    run(g_read_rbx);
    G.rbx = P + 0x140;
    vmw(F_G_RIP, (u64)g_read_rbx);
    resume();
    check("spp: reads of denied sub-pages do not exit", R_VMCALL, X.reason);
    spp_vm(0); spp_page(12, 0x3);
    G.rbx = P + 0xFC; G.rax = 0xA4A4A4A4A4A4A4A4ul;
    run(g_write_rbx);
    check("spp: 8-byte write across allowed sub-page 1 and denied sub-page 2 exits", R_EPT_VIOL, X.reason);
    check("spp: ...and writes neither part", 0, VOL64(P + 0xF8) | VOL64(P + 0x100));
    spp_vm(0); spp_page(12, 0x3);
    G.rbx = P + 0x7C; G.rax = 0xA5;
    run(g_write_rbx);
    check("spp: 8-byte write across two allowed sub-pages proceeds", R_VMCALL | (0xA5ul << 32), X.reason | (VOL64(P + 0x7C) << 32));
    spp_vm(0); spp_page(12, 0x3);
    *ept_pte(P) |= EPT_W;
    G.rbx = P + 0x208; G.rax = 0xA6;
    run(g_write_rbx);
    check("spp: a page with ept write permission ignores its vector", R_VMCALL | (0xA6ul << 8), X.reason | (VOL64(P + 0x208) << 8));

    /* THE TLB CHECK: allowed sub-page A, then denied sub-page B of the same page, no INVEPT between */
    P = TEST_PAGE(13);
    for (int k = 0; k < 512; k++) VOL64(P + 8 * k) = 0;
    spp_vm(0); spp_page(13, 0x1);
    G.rbx = P + 0x10; G.rcx = P + 0x310; G.rax = 0xB1;
    run(g_write_rbx_rcx);
    check("spp: allowed sub-page write then denied sub-page of the same page: first write done", 0xB1, VOL64(P + 0x10));
    check("spp: denied sub-page of a page whose allowed sub-page was just written still exits",
          R_EPT_VIOL | ((u64)g_write_rbx_rcx_2nd << 8), X.reason | (X.rip << 8));
    check("spp: ...with the denied address and memory unchanged", (P + 0x310) | (VOL64(P + 0x310) << 48), X.gpa | (VOL64(P + 0x310) << 48));

    /* SPP miss: no SPP table for region 3 */
    spp_vm(0);
    *ept_pte(MISS_PAGE) = MISS_PAGE | EPT_R | EPT_X | EPT_WB | EPT_SPP;
    G.rbx = MISS_PAGE + 0x88; G.rax = 1;
    run(g_write_rbx);
    check("spp miss (no level-1 table): exit reason 66", R_SPP, X.reason);
    check("spp miss: qualification bit 11 set", 1ul << 11, X.qual & (1ul << 11));
    check("spp miss: guest-physical address", MISS_PAGE + 0x88, X.gpa);
    /* SPP misconfiguration: an odd bit in the vector */
    spp_vm(0); spp_page(14, 0xFFFFFFFF);
    spp_l1[(TEST_PAGE(14) >> 12) & 511] |= 1ul << 5;
    G.rbx = TEST_PAGE(14) + 0x8; G.rax = 1;
    run(g_write_rbx);
    check("spp misconfiguration (odd vector bit): exit reason 66", R_SPP, X.reason);
    check("spp misconfiguration: qualification bit 11 clear", 0, X.qual & (1ul << 11));
    spp_vm(0); spp_page(14, 0xFFFFFFFF);
    spp_l2[2] |= 1ul << 1;
    G.rbx = TEST_PAGE(14) + 0x8; G.rax = 1;
    run(g_write_rbx);
    check("spp misconfiguration (reserved bit 1 in a non-leaf entry): exit 66 with bit 11 clear", R_SPP, X.reason | (X.qual & (1ul << 11)));

    /* REP STOSQ across allowed sub-page 1 into denied sub-page 2 */
    P = TEST_PAGE(15);
    for (int k = 0; k < 512; k++) VOL64(P + 8 * k) = 0;
    spp_vm(0); spp_page(15, 0x3);
    G.rdi = P + 0x100 - 24; G.rcx = 8; G.rax = 0xC0C0;
    run(g_rep_stosq);
    check("spp: rep stosq exits at the first denied iteration (exit 48, gpa)", R_EPT_VIOL | ((P + 0x100) << 8), X.reason | (X.gpa << 8));
    check("spp: rep stosq: rcx and rdi point at that iteration", 5 | ((P + 0x100) << 8), G.rcx | (G.rdi << 8));
    check("spp: rep stosq: the allowed iterations were written, the denied not",
          0xC0C0 | (0xC0C0ul << 16), VOL64(P + 0xE8) | (VOL64(P + 0xF8) << 16) | (VOL64(P + 0x100) << 32));
    spp_l1[(P >> 12) & 511] = spp_vec(0x7);
    invept_((ept_cap & (1ul << 25)) ? 1 : 2, eptp_value());
    resume();
    check("spp: after granting the sub-page and invept, rep stosq completes", R_VMCALL | (0ul << 8), X.reason | (G.rcx << 8));
    check("spp: completed rep stosq: rdi and last qword", (P + 0x128) | (0xC0C0ul << 48), G.rdi | (VOL64(P + 0x120) << 48));

    /* INVEPT drops cached vectors: allow + write, deny + INVEPT, write again -> exit */
    P = TEST_PAGE(16);
    for (int k = 0; k < 512; k++) VOL64(P + 8 * k) = 0;
    spp_vm(0); spp_page(16, 0x1);
    G.rbx = P + 0x20; G.rax = 0xD1;
    run(g_write_rbx);
    u64 first = X.reason;
    spp_l1[(P >> 12) & 511] = spp_vec(0);
    invept_((ept_cap & (1ul << 25)) ? 1 : 2, eptp_value());
    G.rbx = P + 0x28; G.rax = 0xD2;
    vmw(F_G_RIP, (u64)g_write_rbx);
    resume();
    check("spp: write, deny its sub-page, invept, write again: exits", ((u64)R_VMCALL << 8) | R_EPT_VIOL, (first << 8) | X.reason);
    check("spp: ...and the second write did not happen", 0, VOL64(P + 0x28));
}

static void grp_vmcall_root(void) {
    vm_reset();
    check("vmcall in root: VMfailValid 1", 1, status_code(vmcall_()));
}

/* ================================================================ main */
int main(void) {
    u32 r[4];
    info("VMX self-test: a small hypervisor checking VMX, EPT, VPID, PML and SPP against the SDM\n");
    host_tables();
    guest_tables();
    if ((u64)__bss_end > 0x400000 || ram_size < 16ul << 20) {
        fail_text("memory layout", "image must end below 4 MiB and RAM be >= 16 MiB; ram ", ram_size);
        return summary();
    }
    cpuid(1, 0, r);
    if (!(r[2] & (1u << 5))) { fail_text("cpuid.1:ecx.vmx reported", "ecx ", r[2]); return summary(); }
    pass("cpuid.1:ecx.vmx reported");
    cpuid(0x80000000, 0, r);
    maxphy = 36;
    if (r[0] >= 0x80000008) { cpuid(0x80000008, 0, r); maxphy = r[0] & 0xFF; }

    basic = rdmsr(0x480);
    revision = (u32)basic & 0x7FFFFFFF;
    int tru = (basic >> 55) & 1;
    cap_pin = rdmsr(tru ? 0x48D : 0x481);
    cap_proc = rdmsr(tru ? 0x48E : 0x482);
    cap_exit = rdmsr(tru ? 0x48F : 0x483);
    cap_entry = rdmsr(tru ? 0x490 : 0x484);
    misc = rdmsr(0x485);
    cr0_f0 = rdmsr(0x486); cr0_f1 = rdmsr(0x487); cr4_f0 = rdmsr(0x488); cr4_f1 = rdmsr(0x489);
    cap_proc2 = (cap_proc >> 63) ? rdmsr(0x48B) : 0;
    ept_cap = (can_proc2(P2_EPT) || can_proc2(P2_VPID)) ? rdmsr(0x48C) : 0;
    check("ia32_vmx_basic: bit 31 clear, region size 1..4096", 1, !((basic >> 31) & 1) && ((basic >> 32) & 0x1FFF) >= 1 && ((basic >> 32) & 0x1FFF) <= 4096);
    info("capabilities: basic "); puthex(basic); puts_(" proc2 "); puthex(cap_proc2); puts_(" ept/vpid "); puthex(ept_cap);
    puts_(" misc "); puthex(misc); serial_putc('\n');

    u64 fc = rdmsr(0x3A);
    if (!(fc & 1)) { wrmsr(0x3A, fc | 1 | 4); fc = rdmsr(0x3A); }
    check("ia32_feature_control locked with vmx outside smx enabled", 5, fc & 5);

    /* CR0/CR4 as the fixed MSRs require (SDM 23.8, A.7, A.8) */
    wr_cr0((rd_cr0() | (u32)cr0_f0) & (cr0_f1 | 0xFFFFFFFF00000000ul));
    /* about 8M TSC ticks per guest run; the timer counts every 2^MISC[4:0] ticks (SDM 25.5.1) */
    if (can_pin(PIN_PREEMPT)) watchdog = (8ul << 20) >> (misc & 0x1F);
    group("before vmxon", (void (*)(void))grp_pre_vmxon);
    if (!in_vmx) {
        fail_text("vmx operation", "VMXON did not succeed; status ", (u64)vmxon_((u64)vmxon_region));
        return summary();
    }
    group("vmx instructions in root", (void (*)(void))grp_root_instructions);
    group("vm-entry vmfail", (void (*)(void))grp_entry_vmfail);
    group("vm-entry guest-state failures", (void (*)(void))grp_entry_exit33);
    group("basic exits", (void (*)(void))grp_basic_exits);
    group("cr exits", (void (*)(void))grp_cr_exits);
    group("i/o and msr exits", (void (*)(void))grp_io_msr_exits);
    group("exception exits", (void (*)(void))grp_exception_exits);
    group("events", (void (*)(void))grp_event_exits);
    group("vpid", (void (*)(void))grp_vpid);
    group("ept", (void (*)(void))grp_ept);
    group("pml", (void (*)(void))grp_pml);
    group("spp", (void (*)(void))grp_spp);
    /* Last on purpose: Bochs 2.7 takes VMCALL in VMX root operation to the dual-monitor path and
     * panics ("VMCALL: not implemented yet") although IA32_VMX_BASIC[49] reports no dual-monitor
     * support, which the SDM (30.3 VMCALL) says makes it VMfail(1). */
    group("vmcall in root", (void (*)(void))grp_vmcall_root);
    __asm__ volatile("vmxoff" ::: "cc", "memory");
    return summary();
}
