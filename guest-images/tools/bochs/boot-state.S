/*
 * boot-state.S - development aid for compare-boot-state.sh: a contract-A image that records the
 * state it is entered with (every GPR, RFLAGS, the qword at 0x7FFF8 below the initial stack, CR0,
 * CR2, CR3, CR4, EFER, GDTR, IDTR, segment selectors, TR, LDTR, FS/GS base, the 8259 IMRs, a hash
 * and the count of non-zero qwords of 0x0000-0x7FFF (GDT, page tables, zeros), LAR of 0x08 and
 * 0x10) and prints it, one "name 0x<16 hex>" line each, then exits 0. Run on x86vmx and on Bochs
 * (bochs-boot.bin), the outputs must be identical. Linked with src/link64.ld, lib/serial.S and
 * lib/exit.S; not part of build.sh (its own _start: lib/start64.S would change the registers).
 */
.intel_syntax noprefix
#include "defs.h"
    .section .text.entry, "ax"
    .globl _start
_start:
    mov [rip + r_rax], rax
    mov [rip + r_rbx], rbx
    mov [rip + r_rcx], rcx
    mov [rip + r_rdx], rdx
    mov [rip + r_rsi], rsi
    mov [rip + r_rdi], rdi
    mov [rip + r_rbp], rbp
    mov [rip + r_rsp], rsp
    mov [rip + r_r8], r8
    mov [rip + r_r9], r9
    mov [rip + r_r10], r10
    mov [rip + r_r11], r11
    mov [rip + r_r12], r12
    mov [rip + r_r13], r13
    mov [rip + r_r14], r14
    mov [rip + r_r15], r15
    mov rax, [0x7fff8]
    mov [rip + r_stackslot], rax
    pushfq
    pop rax
    mov [rip + r_rflags], rax
    lea rsp, [rip + stack_top]
    cld
    lea rsi, [rip + names]
    lea rbx, [rip + r_rax]
    mov r13d, 18
1:  call pr_name
    mov rdi, [rbx]
    call print_hex64
    call print_nl
    add rbx, 8
    dec r13d
    jnz 1b
#define SHOW(expr) call pr_name; mov rdi, expr; call print_hex64; call print_nl
    mov rax, cr0
    SHOW(rax)
    mov rax, cr2
    SHOW(rax)
    mov rax, cr3
    SHOW(rax)
    mov rax, cr4
    SHOW(rax)
    mov ecx, 0xC0000080
    rdmsr
    shl rdx, 32
    or rax, rdx
    SHOW(rax)
    sgdt [rip + tmp]
    movzx eax, word ptr [rip + tmp]
    SHOW(rax)
    mov rax, [rip + tmp + 2]
    SHOW(rax)
    sidt [rip + tmp]
    movzx eax, word ptr [rip + tmp]
    SHOW(rax)
    mov rax, [rip + tmp + 2]
    SHOW(rax)
    mov ax, cs
    movzx eax, ax
    SHOW(rax)
    mov ax, ds
    movzx eax, ax
    SHOW(rax)
    mov ax, es
    movzx eax, ax
    SHOW(rax)
    mov ax, ss
    movzx eax, ax
    SHOW(rax)
    mov ax, fs
    movzx eax, ax
    SHOW(rax)
    mov ax, gs
    movzx eax, ax
    SHOW(rax)
    str ax
    movzx eax, ax
    SHOW(rax)
    sldt ax
    movzx eax, ax
    SHOW(rax)
    mov ecx, 0xC0000100
    rdmsr
    shl rdx, 32
    or rax, rdx
    SHOW(rax)
    mov ecx, 0xC0000101
    rdmsr
    shl rdx, 32
    or rax, rdx
    SHOW(rax)
    in al, 0x21
    movzx eax, al
    SHOW(rax)
    in al, 0xA1
    movzx eax, al
    SHOW(rax)
    /* FNV-1a-ish over 0..0x7FFF qwords, and number of nonzero qwords */
    xor ecx, ecx
    xor r8d, r8d
    mov r9, 0xcbf29ce484222325
    mov r10, 0x100000001b3
2:  mov rax, [rcx]
    test rax, rax
    jz 3f
    inc r8
3:  xor r9, rax
    imul r9, r10
    add ecx, 8
    cmp ecx, 0x8000
    jb 2b
    SHOW(r8)
    SHOW(r9)
    /* lar of CS (attributes) */
    mov eax, 0x08
    lar rax, rax
    and eax, 0xFFF0FFFF             /* bits 19:16 are undefined (SDM Vol. 2A LAR) */
    SHOW(rax)
    mov eax, 0x10
    lar rax, rax
    and eax, 0xFFF0FFFF             /* bits 19:16 are undefined (SDM Vol. 2A LAR) */
    SHOW(rax)
    xor edi, edi
    call exit

pr_name:
    push rax
    push rdi
    mov rdi, rsi
    call serial_puts
1:  lodsb
    test al, al
    jnz 1b
    mov edi, ' '
    call serial_putc
    pop rdi
    pop rax
    ret

    .section .rodata
names:
    .asciz "rax","rbx","rcx","rdx","rsi","rdi","rbp","rsp","r8","r9","r10","r11","r12","r13","r14","r15","rflags","stack.0x7fff8"
    .asciz "cr0","cr2","cr3","cr4","efer","gdtr.limit","gdtr.base","idtr.limit","idtr.base","cs","ds","es","ss","fs","gs","tr","ldtr","fsbase","gsbase","imr1","imr2","low.nonzero","low.hash","lar08","lar10"
    .section .data
    .balign 8
r_rax: .quad 0
r_rbx: .quad 0
r_rcx: .quad 0
r_rdx: .quad 0
r_rsi: .quad 0
r_rdi: .quad 0
r_rbp: .quad 0
r_rsp: .quad 0
r_r8: .quad 0
r_r9: .quad 0
r_r10: .quad 0
r_r11: .quad 0
r_r12: .quad 0
r_r13: .quad 0
r_r14: .quad 0
r_r15: .quad 0
r_rflags: .quad 0
r_stackslot: .quad 0
tmp: .quad 0, 0
    .balign 16
    .skip 8192
stack_top:
    .section .note.GNU-stack, "", @progbits
    .section .note.x86vmx, "a", @note
    .balign 4
    .long 7
    .long 4
    .long 1
    .asciz "x86vmx"
    .balign 4
    .long 1
