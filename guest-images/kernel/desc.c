/*
 * desc.c - GDT, 64-bit TSS and IDT (SDM Vol. 3A 3.4.5, 7.7, 6.14).
 *
 * GDT (selector: descriptor). The user selectors are ordered for SYSRET: STAR[63:48] = 0x20 gives
 * CS = 0x20 + 16 = 0x30 and SS = 0x20 + 8 = 0x28 (RPL 3); STAR[47:32] = 0x10 gives SYSCALL
 * CS = 0x10, SS = 0x18. This is Linux's layout.
 *   0x08 32-bit code DPL0 (boot only)   0x10 64-bit code DPL0   0x18 data DPL0
 *   0x20 32-bit code DPL3 (SYSRET base, never loaded)   0x28 data DPL3   0x30 64-bit code DPL3
 *   0x38 64-bit TSS (16 bytes): RSP0 = kernel_stack_top, IST1 = df_stack_top (#DF), no I/O bitmap
 * IDT: 256 64-bit interrupt gates (IF cleared on entry) to isr_stubs + 16 * vector, selector
 * 0x10, DPL0 except #BP (DPL3, so INT3 in ring 3 is a breakpoint, not a #GP); #DF on IST1.
 */
#include "kernel.h"

struct tss {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
} __attribute__((packed));

struct gate {
    u16 offset_lo, selector;
    u8 ist, type_attr;
    u16 offset_mid;
    u32 offset_hi, reserved;
} __attribute__((packed));

struct dtr {
    u16 limit;
    u64 base;
} __attribute__((packed));

static u64 gdt[9] __attribute__((aligned(16))) = {
    0,
    0x00CF9A000000FFFFUL,               /* 0x08 */
    0x00AF9A000000FFFFUL,               /* 0x10 */
    0x00CF92000000FFFFUL,               /* 0x18 */
    0x00CFFA000000FFFFUL,               /* 0x20 */
    0x00CFF2000000FFFFUL,               /* 0x28 */
    0x00AFFA000000FFFFUL,               /* 0x30 */
    0, 0,                               /* 0x38 TSS */
};
static struct tss tss __attribute__((aligned(16)));
static struct gate idt[256] __attribute__((aligned(16)));

void tss_set_rsp0(u64 rsp0) { tss.rsp[0] = rsp0; }

void desc_init(void) {
    tss.rsp[0] = (u64)kernel_stack_top;
    tss.ist[0] = (u64)df_stack_top;
    tss.iomap_base = sizeof(struct tss);
    u64 base = (u64)&tss, limit = sizeof(struct tss) - 1;
    gdt[7] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89UL << 40) | (((limit >> 16) & 0xF) << 48) |
             (((base >> 24) & 0xFF) << 56);
    gdt[8] = base >> 32;

    struct dtr gdtr = {sizeof(gdt) - 1, (u64)gdt};
    __asm__ volatile(
        "lgdt %0\n\t"
        "pushq %1\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movl %2, %%eax\n\t"
        "movl %%eax, %%ss\n\t"
        "xorl %%eax, %%eax\n\t"         /* DS, ES, FS, GS null: unused in 64-bit mode */
        "movl %%eax, %%ds\n\t"
        "movl %%eax, %%es\n\t"
        "movl %%eax, %%fs\n\t"
        "movl %%eax, %%gs\n\t"
        "movw %3, %%ax\n\t"
        "ltr %%ax"
        :
        : "m"(gdtr), "i"(SEL_KCODE), "i"(SEL_KDATA), "i"(SEL_TSS)
        : "rax", "memory");
    wrmsr(MSR_FS_BASE, 0);
    wrmsr(MSR_GS_BASE, 0);
    wrmsr(MSR_KERNEL_GS_BASE, 0);

    for (int v = 0; v < 256; v++) {
        u64 h = (u64)isr_stubs + 16 * v;
        idt[v].offset_lo = h & 0xFFFF;
        idt[v].selector = SEL_KCODE;
        idt[v].ist = v == 8 ? 1 : 0;
        idt[v].type_attr = v == 3 ? 0xEE : 0x8E;
        idt[v].offset_mid = (h >> 16) & 0xFFFF;
        idt[v].offset_hi = h >> 32;
        idt[v].reserved = 0;
    }
    struct dtr idtr = {sizeof(idt) - 1, (u64)idt};
    __asm__ volatile("lidt %0" ::"m"(idtr));
}
