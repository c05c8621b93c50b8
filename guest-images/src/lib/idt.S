/*
 * idt.S - a 256-entry 64-bit IDT whose every vector enters isr_common through a 16-byte stub.
 *
 * Stub: for vectors where the CPU pushes no error code, push a dummy 0; then push the vector;
 * jmp isr_common. isr_common pushes the general registers (layout in defs.h, F_*), and calls
 * isr_hooks[vector](frame) if set, else exc_record(frame) (lib/exc.S); then restores registers
 * and returns with IRETQ. Hooks may change any frame field (RIP, CS, RFLAGS, RSP, SS, registers).
 *
 * Vectors with an error code (SDM Vol 3A 6.3.1 Table 6-1 and 6.13): 8 #DF, 10 #TS, 11 #NP,
 * 12 #SS, 13 #GP, 14 #PF, 17 #AC, 21 #CP, 29 #VC, 30 #SX. (Only when raised as exceptions: an
 * INT n to one of these vectors pushes no error code, so the frame of `int 14` would be off by
 * one slot; the tests never do that.)
 *
 * Gates are 64-bit interrupt gates (type 0xE, so IF is cleared on entry), selector 0x08,
 * IST 0, DPL 0, present. Gate format: SDM Vol 3A 6.14.1, Figure 6-8.
 */
.intel_syntax noprefix
#include "defs.h"

    .section .text

    .balign 16
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    push 0
    .endif
    push vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    cld
    mov rdi, rsp
    mov rax, [rsp + F_VECTOR]
    lea rcx, [rip + isr_hooks]
    mov rax, [rcx + rax * 8]
    test rax, rax
    jnz 1f
    lea rax, [rip + exc_record]
1:  call rax
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                     /* vector and error code */
    iretq

    .globl idt_init
/* idt_init(): fill all 256 gates and LIDT. Clears all hooks. Preserves all registers. */
idt_init:
    push rax
    push rcx
    push rdx
    push rdi
    xor ecx, ecx
1:  lea rax, [rip + isr_stubs]
    mov rdx, rcx
    shl rdx, 4
    add rax, rdx                    /* handler = isr_stubs + 16 * vector */
    lea rdi, [rip + idt]
    mov rdx, rcx
    shl rdx, 4
    add rdi, rdx                    /* gate = idt + 16 * vector */
    mov [rdi], ax                   /* offset 15:0 */
    mov word ptr [rdi + 2], SEL_KCODE64
    mov byte ptr [rdi + 4], 0       /* IST = 0 */
    mov byte ptr [rdi + 5], 0x8E    /* P=1, DPL=0, type=0xE 64-bit interrupt gate */
    shr rax, 16
    mov [rdi + 6], ax               /* offset 31:16 */
    shr rax, 16
    mov [rdi + 8], eax              /* offset 63:32 */
    mov dword ptr [rdi + 12], 0
    lea rdi, [rip + isr_hooks]
    mov qword ptr [rdi + rcx * 8], 0
    inc ecx
    cmp ecx, 256
    jb 1b
    lidt [rip + idtr]
    pop rdi
    pop rdx
    pop rcx
    pop rax
    ret

    .globl idt_set_dpl
/* idt_set_dpl(EDI = vector, ESI = DPL 0..3) */
idt_set_dpl:
    push rax
    push rdi
    and edi, 0xFF
    shl edi, 4
    lea rax, [rip + idt]
    and byte ptr [rax + rdi + 5], 0x9F
    push rsi
    and esi, 3
    shl esi, 5
    or [rax + rdi + 5], sil
    pop rsi
    pop rdi
    pop rax
    ret

    .globl idt_set_present
/* idt_set_present(EDI = vector, ESI = 0 or 1): the gate's P bit */
idt_set_present:
    push rax
    push rdi
    and edi, 0xFF
    shl edi, 4
    lea rax, [rip + idt]
    and byte ptr [rax + rdi + 5], 0x7F
    test esi, esi
    jz 1f
    or byte ptr [rax + rdi + 5], 0x80
1:  pop rdi
    pop rax
    ret

    .globl idt_set_hook
/* idt_set_hook(EDI = vector, RSI = handler(RDI = frame) or 0 for exc_record) */
idt_set_hook:
    push rax
    push rdi
    and edi, 0xFF
    lea rax, [rip + isr_hooks]
    mov [rax + rdi * 8], rsi
    pop rdi
    pop rax
    ret

    .section .data
    .balign 16
idtr:
    .word 256 * 16 - 1
    .quad idt

    .section .bss
    .balign 4096
    .globl idt
idt:
    .skip 256 * 16
    .globl isr_hooks
isr_hooks:
    .skip 256 * 8

    .section .note.GNU-stack, "", @progbits
