/*
 * defs.h - constants shared by the x86vmx guest images (C preprocessor, used by the .S files).
 * Only #defines here: this header is included by 64-bit and 32-bit code alike.
 */
#ifndef X86VMX_GUEST_DEFS_H
#define X86VMX_GUEST_DEFS_H

/* Devices (fixed by the x86vmx machine). */
#define COM1_THR        0x3F8   /* 16550 transmit holding register */
#define COM1_LSR        0x3FD   /* line status register; bit 5 = THR empty */
#define LSR_THRE        0x20
#define DEBUG_EXIT_PORT 0xF4    /* out 0xf4, al: end the run with status al */
#define FWCFG_SEL_PORT  0x510
#define FWCFG_DATA_PORT 0x511
#define PIC1_CMD        0x20
#define PIC1_DATA       0x21
#define PIC2_CMD        0xA0
#define PIC2_DATA       0xA1
#define PIT_CH0         0x40
#define PIT_MODE        0x43
#define LAPIC_BASE      0xFEE00000

/* Selectors of the GDT built by lib/gdt.S (same layout as the loader's GDT at 0x500, plus a TSS
 * and a not-present data descriptor). */
#define SEL_KCODE64     0x08
#define SEL_KDATA       0x10
#define SEL_KCODE32     0x18
#define SEL_UDATA       0x20    /* DPL3 data; use with RPL3 as 0x23 */
#define SEL_UCODE64     0x28    /* DPL3 64-bit code; use with RPL3 as 0x2B */
#define SEL_TSS         0x30    /* 16-byte 64-bit TSS descriptor (0x30 and 0x38) */
#define SEL_NOTPRESENT  0x40    /* writable data descriptor with P=0 */
#define GDT_LIMIT       0x47    /* last byte of descriptor 0x40; selector 0x48 is beyond the limit */

/* Interrupt frame built by lib/idt.S on the handler stack (offsets from the frame pointer passed
 * in RDI to hooks and to exc_record). The stub pushes a dummy error code 0 for vectors the CPU
 * pushes none for, then the vector number; isr_common then pushes RAX first, R15 last. */
#define F_R15     0
#define F_R14     8
#define F_R13    16
#define F_R12    24
#define F_R11    32
#define F_R10    40
#define F_R9     48
#define F_R8     56
#define F_RBP    64
#define F_RDI    72
#define F_RSI    80
#define F_RDX    88
#define F_RCX    96
#define F_RBX   104
#define F_RAX   112
#define F_VECTOR 120
#define F_ERROR 128
#define F_RIP   136     /* hardware frame starts here (SDM Vol 3A 6.14.2, 64-bit mode stack frame) */
#define F_CS    144
#define F_RFLAGS 152
#define F_RSP   160
#define F_SS    168
#define FRAME_SIZE 176

/* Record layout of one logged exception (lib/exc.S, exc_log). */
#define X_VECTOR  0
#define X_ERROR   8
#define X_RIP    16
#define X_CS     24
#define X_RFLAGS 32
#define X_RSP    40
#define X_SS     48
#define X_CR2    56
#define X_FRAME  64     /* linear address of the hardware frame (the saved RIP slot) */
#define X_SIZE  128
#define X_LOG_ENTRIES 16

/* Page-table entry bits (SDM Vol 3A 4.5, Tables 4-14..4-20). */
#define PTE_P    0x001
#define PTE_RW   0x002
#define PTE_US   0x004
#define PTE_PWT  0x008
#define PTE_PCD  0x010
#define PTE_A    0x020
#define PTE_D    0x040
#define PTE_PS   0x080
#define PTE_G    0x100
#define PTE_XD   0x8000000000000000

/* Page-fault error code bits (SDM Vol 3A 4.7). */
#define PF_P     0x01
#define PF_W     0x02
#define PF_U     0x04
#define PF_RSVD  0x08
#define PF_ID    0x10

/* lib/pt.S builds an identity map of 0..4 GiB (2 MiB pages, U=1, RW=1) and a separate, initially
 * empty "test space" at PML4 slot 1 for the tests to map as they please:
 *   TEST_VA + 0x000000 .. +0x1FFFFF : 4 KiB pages through pt_pt_t[0..511]   (pt_pd_t[0])
 *   TEST_VA + 0x200000 .. +0x3FFFFF : one 2 MiB page, entry pt_pd_t[1]
 *   TEST_VA + 0x40000000 ..         : one 1 GiB page, entry pt_pdpt_t[1]  */
#define TEST_VA        0x8000000000
#define TEST_VA_2M     0x8000200000
#define TEST_VA_1G     0x8040000000

/* Exception vectors (SDM Vol 3A 6.3.1, Table 6-1). */
#define VEC_DE  0
#define VEC_DB  1
#define VEC_BP  3
#define VEC_UD  6
#define VEC_NM  7
#define VEC_DF  8
#define VEC_NP  11
#define VEC_SS  12
#define VEC_GP  13
#define VEC_PF  14

#endif
