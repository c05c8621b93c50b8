/*
 * timer.S - interrupts from timers: (a) 8259A PIC pair + 8254 PIT channel 0, (b) local APIC timer
 * in periodic mode, (c) the STI interrupt shadow.
 *
 * (a) and (b) wait with "sti; hlt" for interrupts; if a timer never fires the image waits
 * forever (the harness's instruction/time limit catches that). Prints PASS/FAIL per check and
 * "SUMMARY pass=N fail=M"; exit 0 iff all passed. Expected PASS lines: 17.
 *
 * References: Intel 8259A datasheet (ICW1-4, OCW1-3), Intel 82C54 datasheet (control word,
 * mode 2 rate generator), Intel SDM Vol 3A (2016-2022 numbering) 10.4.4 "Local APIC Status and
 * Location" (IA32_APIC_BASE), 10.4.3 / 10.9 (SVR), 10.5.1 "Local Vector Table", 10.5.4 "APIC
 * Timer", 10.8.4 "Interrupt Acceptance for Fixed Interrupts" (IRR/ISR), 10.8.5 "Signaling
 * Interrupt Servicing Completion" (EOI), 6.8.3 and Vol 2B "STI" (interrupt shadow),
 * Vol 2A "HLT" (resumes at the instruction after HLT when an interrupt is taken).
 */
.intel_syntax noprefix
#include "lib/defs.h"
#include "lib/test.inc"

#define PIT_DIVISOR   119           /* 1193182 Hz / 119 = ~10.03 kHz, period ~99.7 us */
#define N_TICKS       10
#define APIC_INITIAL  20000         /* APIC timer period in (divided) bus clocks */

#define APIC_SVR      0x0F0
#define APIC_EOI      0x0B0
#define APIC_ISR      0x100         /* ISR bits 0..255 in eight registers 0x100..0x170 */
#define APIC_IRR      0x200
#define APIC_LVT_TMR  0x320
#define APIC_LVT_LINT0 0x350
#define APIC_TMR_INIT 0x380
#define APIC_TMR_CUR  0x390
#define APIC_TMR_DIV  0x3E0

    .section .text
    .globl main
main:
    push rbx
    push r12
    push r13
    PUTS "timer: 8259 PIC + 8254 PIT, local APIC timer, STI shadow\n"
    call idt_init
    mov edi, 0x27                   /* spurious IRQ7 / IRQ15 of the 8259s: no EOI (8259A) */
    lea rsi, [rip + ignore_irq]
    call idt_set_hook
    mov edi, 0x2F
    call idt_set_hook
    mov edi, 0xFF                   /* APIC spurious vector: no EOI (10.9) */
    call idt_set_hook

/* IA32_APIC_BASE (MSR 0x1B): base 0xFEE00000, bit 11 global enable, bit 8 BSP (10.4.4). */
    mov ecx, 0x1B
    rdmsr
    shl rdx, 32
    or rax, rdx
    and rax, ~0x6FF                 /* keep base, EN (11), BSP (8); drop x2APIC (10), reserved */
    CHECK_EQ("IA32_APIC_BASE = 0xfee00000 | EN | BSP", 0xFEE00900, rax)

/* Software-enable the local APIC (SVR bit 8, spurious vector 0xFF) and make LINT0 ExtINT,
 * unmasked ("virtual wire": the 8259's INTR reaches the CPU through LINT0; 10.5.1). */
    mov rbx, LAPIC_BASE
    mov dword ptr [rbx + APIC_SVR], 0x1FF
    mov dword ptr [rbx + APIC_LVT_LINT0], 0x700
    mov dword ptr [rbx + APIC_LVT_TMR], 0x10000     /* timer masked for now */

/* --- (a) 8259 + 8254 ------------------------------------------------------------------------ */
    mov al, 0x11                    /* ICW1: edge triggered, cascade, ICW4 needed */
    out PIC1_CMD, al
    out PIC2_CMD, al
    mov al, 0x20                    /* ICW2: master vectors 0x20..0x27 */
    out PIC1_DATA, al
    mov al, 0x28                    /* ICW2: slave vectors 0x28..0x2F */
    out PIC2_DATA, al
    mov al, 0x04                    /* ICW3 master: slave on IRQ2 */
    out PIC1_DATA, al
    mov al, 0x02                    /* ICW3 slave: cascade identity 2 */
    out PIC2_DATA, al
    mov al, 0x01                    /* ICW4: 8086 mode, normal EOI */
    out PIC1_DATA, al
    out PIC2_DATA, al
    mov al, 0xFE                    /* OCW1: only IRQ0 unmasked */
    out PIC1_DATA, al
    mov al, 0xFF
    out PIC2_DATA, al

    mov edi, 0x20
    lea rsi, [rip + pit_irq]
    call idt_set_hook

    mov al, 0x34                    /* 82C54 control: counter 0, LSB then MSB, mode 2, binary */
    out PIT_MODE, al
    mov al, PIT_DIVISOR & 0xFF
    out PIT_CH0, al
    mov al, PIT_DIVISOR >> 8
    out PIT_CH0, al

.Lpit_wait:
    sti
    hlt
.Lpit_after_hlt:
    cli
    cmp qword ptr [rip + pit_count], N_TICKS
    jb .Lpit_wait

    CHECK_EQ("PIT IRQ0 interrupts received", N_TICKS, qword ptr [rip + pit_count])
    CHECK_EQ("PIT IRQ0 delivered on vector 0x20", 0x20, qword ptr [rip + pit_vector])
    lea rax, [rip + .Lpit_after_hlt]
    CHECK_EQ("PIT IRQ0 saved rip is the instruction after hlt", rax, qword ptr [rip + pit_rip])
    mov al, 0x0B                    /* OCW3: read ISR on next read of the command port */
    out PIC1_CMD, al
    in al, PIC1_CMD
    movzx eax, al
    CHECK_EQ("8259 master ISR clear after EOI", 0, rax)
    in al, PIC1_DATA                /* reading the data port returns the IMR (OCW1) */
    movzx eax, al
    CHECK_EQ("8259 master IMR reads back 0xff", 0xFF, rax)
    mov al, 0x30                    /* counter 0, mode 0: stops the square wave */
    out PIT_MODE, al

/* --- (b) local APIC timer, periodic ---------------------------------------------------------- */
    mov al, 0xFF                    /* mask both 8259s */
    out PIC1_DATA, al
    out PIC2_DATA, al
    mov edi, 0x40
    lea rsi, [rip + apic_irq]
    call idt_set_hook
    mov dword ptr [rbx + APIC_TMR_DIV], 0xB         /* divide by 1 (10.5.4, Figure 10-10) */
    mov dword ptr [rbx + APIC_LVT_TMR], 0x20040     /* periodic (bits 18:17 = 01), vector 0x40 */
    mov dword ptr [rbx + APIC_TMR_INIT], APIC_INITIAL
.Lapic_wait:
    sti
    hlt
.Lapic_after_hlt:
    cli
    cmp qword ptr [rip + apic_count], N_TICKS
    jb .Lapic_wait

    CHECK_EQ("APIC timer interrupts received", N_TICKS, qword ptr [rip + apic_count])
    CHECK_EQ("APIC timer delivered on vector 0x40", 0x40, qword ptr [rip + apic_vector])
    lea rax, [rip + .Lapic_after_hlt]
    CHECK_EQ("APIC timer saved rip is the instruction after hlt", rax, qword ptr [rip + apic_rip])
    mov eax, [rbx + APIC_ISR + 0x20]                /* ISR bits 64..95; vector 0x40 = bit 0 */
    and eax, 1
    CHECK_EQ("APIC ISR bit of vector 0x40 clear after EOI", 0, rax)
    mov eax, [rbx + APIC_TMR_CUR]
    CHECK_EQ("APIC current count 0 after initial count := 0", 0, rax)

/* Current count counts down from the initial count (10.5.4). One-shot, masked. */
    mov dword ptr [rbx + APIC_LVT_TMR], 0x10040     /* masked, one-shot */
    mov dword ptr [rbx + APIC_TMR_INIT], 0x7FFFFFFF
    mov r12d, [rbx + APIC_TMR_CUR]
    mov ecx, 1000
1:  dec ecx
    jnz 1b
    mov r13d, [rbx + APIC_TMR_CUR]
    xor eax, eax
    cmp r12d, 0x7FFFFFFF
    setbe al
    CHECK_EQ("APIC current count <= initial count", 1, rax)
    xor eax, eax
    cmp r13d, r12d
    setb al
    CHECK_EQ("APIC current count decreases", 1, rax)
    mov dword ptr [rbx + APIC_TMR_INIT], 0
    sti                             /* let a late periodic tick still in the IRR be taken now, */
    nop                             /* so that part (c) starts with nothing pending */
    nop
    cli

/* --- (c) STI interrupt shadow -----------------------------------------------------------------
 * With an interrupt pending and IF=0, "sti; inc r12": the processor recognizes the interrupt
 * only after the instruction following STI has executed (Vol 2B "STI"; Vol 3A 6.8.3), so the
 * saved RIP is the instruction after "inc r12" and the handler sees R12 = 1. */
    mov edi, 0x41
    lea rsi, [rip + shadow_irq]
    call idt_set_hook
    mov dword ptr [rbx + APIC_LVT_TMR], 0x00041     /* one-shot, unmasked, vector 0x41 */
    mov dword ptr [rbx + APIC_TMR_INIT], 100
    mov ecx, 10000000               /* wait (IF=0) until the timer has fired: IRR bit set */
2:  mov eax, [rbx + APIC_IRR + 0x20]                /* IRR bits 64..95; vector 0x41 = bit 1 */
    test eax, 2
    jnz 3f
    dec ecx
    jnz 2b
3:  mov eax, [rbx + APIC_IRR + 0x20]
    and eax, 2
    CHECK_EQ("APIC IRR holds vector 0x41 while IF=0", 2, rax)
    xor r12d, r12d
    sti
    inc r12
.Lshadow_after:
    nop
    cli
    CHECK_EQ("STI shadow: one interrupt delivered", 1, qword ptr [rip + shadow_count])
    lea rax, [rip + .Lshadow_after]
    CHECK_EQ("STI shadow: interrupt taken after the instruction following sti", rax, qword ptr [rip + shadow_rip])
    CHECK_EQ("STI shadow: that instruction completed first (r12 = 1)", 1, qword ptr [rip + shadow_r12])

    call check_summary
    pop r13
    pop r12
    pop rbx
    ret

/* IRQ0 (vector 0x20): count, remember where we interrupted; after N_TICKS mask IRQ0 and return
 * with IF=0 (cleared in the saved RFLAGS), so that no further tick is taken before the count is
 * checked; then non-specific EOI (OCW2 0x20). */
pit_irq:
    inc qword ptr [rip + pit_count]
    mov rax, [rdi + F_RIP]
    mov [rip + pit_rip], rax
    mov rax, [rdi + F_VECTOR]
    mov [rip + pit_vector], rax
    cmp qword ptr [rip + pit_count], N_TICKS
    jb 1f
    mov al, 0xFF
    out PIC1_DATA, al
    and qword ptr [rdi + F_RFLAGS], ~0x200
1:  mov al, 0x20
    out PIC1_CMD, al
    ret

/* APIC timer (vector 0x40): count; after N_TICKS mask the LVT entry, stop the timer (initial
 * count 0) and return with IF=0: a tick that fired meanwhile may still sit in the IRR (masking
 * does not clear it) and must not be taken before the count is checked; EOI by writing 0 to the
 * EOI register. */
apic_irq:
    inc qword ptr [rip + apic_count]
    mov rax, [rdi + F_RIP]
    mov [rip + apic_rip], rax
    mov rax, [rdi + F_VECTOR]
    mov [rip + apic_vector], rax
    mov rcx, LAPIC_BASE
    cmp qword ptr [rip + apic_count], N_TICKS
    jb 1f
    mov dword ptr [rcx + APIC_LVT_TMR], 0x30040     /* masked, periodic */
    mov dword ptr [rcx + APIC_TMR_INIT], 0
    and qword ptr [rdi + F_RFLAGS], ~0x200
1:  mov dword ptr [rcx + APIC_EOI], 0
    ret

/* STI-shadow probe (vector 0x41) */
shadow_irq:
    inc qword ptr [rip + shadow_count]
    mov rax, [rdi + F_RIP]
    mov [rip + shadow_rip], rax
    mov rax, [rdi + F_R12]
    mov [rip + shadow_r12], rax
    mov rcx, LAPIC_BASE
    mov dword ptr [rcx + APIC_EOI], 0
    ret

ignore_irq:
    ret

    .section .data
    .balign 8
pit_count:    .quad 0
pit_rip:      .quad -1
pit_vector:   .quad -1
apic_count:   .quad 0
apic_rip:     .quad -1
apic_vector:  .quad -1
shadow_count: .quad 0
shadow_rip:   .quad -1
shadow_r12:   .quad -1

    .section .note.GNU-stack, "", @progbits
