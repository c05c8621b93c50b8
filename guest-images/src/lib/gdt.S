/*
 * gdt.S - our own GDT with a 64-bit TSS, for the images that need ring 3 (TSS.RSP0) or a GDT
 * whose limit and contents they know exactly.
 *
 *   0x00 null
 *   0x08 64-bit code, DPL0   0x00AF9A000000FFFF (P, S, type 0xA execute/read, L=1, G=1)
 *   0x10 data, DPL0          0x00CF92000000FFFF (P, S, type 0x2 read/write, D/B=1, G=1)
 *   0x18 32-bit code, DPL0   0x00CF9A000000FFFF
 *   0x20 data, DPL3          0x00CFF2000000FFFF
 *   0x28 64-bit code, DPL3   0x00AFFA000000FFFF
 *   0x30 64-bit TSS (16 bytes, available type 0x9), base = tss, limit 103
 *   0x40 data, DPL0, P=0     0x00CF12000000FFFF
 *   limit 0x47 (GDT_LIMIT)
 * Descriptor formats: SDM Vol 3A 3.4.5 (segment descriptors), 7.2.3 (TSS descriptor in 64-bit
 * mode), 7.7 (64-bit TSS: RSP0 at offset 4, I/O map base at offset 102).
 */
.intel_syntax noprefix
#include "defs.h"

    .section .text

    .globl gdt_init
/* gdt_init(RDI = RSP0 for the TSS): LGDT, reload CS/DS/ES/SS/FS/GS, LTR. Preserves all
 * registers. Must be called at CPL0. */
gdt_init:
    push rax
    push rcx
    push rdx
    mov [rip + tss + 4], rdi            /* RSP0 */
    mov word ptr [rip + tss + 102], 104 /* I/O map base beyond the limit: no I/O bitmap */

    /* TSS descriptor: limit 15:0 | base 23:0 << 16 | type 0x89 (P, DPL0, 64-bit TSS available)
     * << 40 | limit 19:16 << 48 | base 31:24 << 56 ; second qword = base 63:32 */
    lea rax, [rip + tss]
    mov rdx, rax
    and edx, 0xFFFFFF
    shl rdx, 16
    or rdx, 103
    mov rcx, 0x89
    shl rcx, 40
    or rdx, rcx
    mov rcx, rax
    shr rcx, 24
    and ecx, 0xFF
    shl rcx, 56
    or rdx, rcx
    mov [rip + gdt + SEL_TSS], rdx
    shr rax, 32
    mov [rip + gdt + SEL_TSS + 8], rax

    lgdt [rip + gdtr]
    /* reload CS with a far return: push CS, push RIP, RETFQ */
    push SEL_KCODE64
    lea rax, [rip + 1f]
    push rax
    retfq
1:  mov eax, SEL_KDATA
    mov ds, eax
    mov es, eax
    mov ss, eax
    mov fs, eax
    mov gs, eax
    mov eax, SEL_TSS
    ltr ax
    pop rdx
    pop rcx
    pop rax
    ret

    .globl tss_set_rsp0
/* tss_set_rsp0(RDI = new RSP0) */
tss_set_rsp0:
    mov [rip + tss + 4], rdi
    ret

    .section .data
    .balign 16
    .globl gdt
gdt:
    .quad 0x0000000000000000
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
    .quad 0x00CF9A000000FFFF
    .quad 0x00CFF2000000FFFF
    .quad 0x00AFFA000000FFFF
    .quad 0, 0                          /* TSS, filled by gdt_init */
    .quad 0x00CF12000000FFFF
gdt_end:
    .balign 16
gdtr:
    .word GDT_LIMIT
    .quad gdt

    .section .bss
    .balign 16
    .globl tss
tss:
    .skip 104

    .section .note.GNU-stack, "", @progbits
