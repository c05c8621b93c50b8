/*
 * pt.S - our own 4-level page tables (SDM Vol 3A 4.5, 4-level paging).
 *
 *   PML4[0] -> pt_pdpt_id -> pt_pd_id[0..3]: identity map of 0..4 GiB with 2 MiB pages,
 *              P=1 RW=1 U/S=1 at every level (so ring 3 may use any identity address unless a
 *              test says otherwise), A=D=0 initially, no XD.
 *   PML4[1] -> pt_pdpt_t (the "test space" at TEST_VA = 0x80_0000_0000, see defs.h):
 *              pt_pdpt_t[0] -> pt_pd_t, pt_pd_t[0] -> pt_pt_t (512 x 4 KiB, all not present),
 *              pt_pd_t[1] (2 MiB slot) and pt_pdpt_t[1] (1 GiB slot) not present.
 * Non-leaf entries are P|RW|US (0x7) so that only the leaf decides the access rights.
 */
.intel_syntax noprefix
#include "defs.h"

    .section .text

    .globl pt_init
/* pt_init(): build the tables and load CR3. Preserves all registers. */
pt_init:
    push rax
    push rcx
    push rdx
    push rdi
    /* zero the 9 table pages */
    lea rdi, [rip + pt_pml4]
    mov ecx, 9 * 4096 / 8
    xor eax, eax
    rep stosq

    lea rax, [rip + pt_pdpt_id]
    or rax, PTE_P | PTE_RW | PTE_US
    mov [rip + pt_pml4], rax
    lea rax, [rip + pt_pdpt_t]
    or rax, PTE_P | PTE_RW | PTE_US
    mov [rip + pt_pml4 + 8], rax

    /* PDPT identity: 4 entries -> the 4 PDs */
    xor ecx, ecx
1:  lea rax, [rip + pt_pd_id]
    mov rdx, rcx
    shl rdx, 12
    add rax, rdx
    or rax, PTE_P | PTE_RW | PTE_US
    lea rdx, [rip + pt_pdpt_id]
    mov [rdx + rcx * 8], rax
    inc ecx
    cmp ecx, 4
    jb 1b

    /* 2048 PDEs: 2 MiB pages 0..4 GiB */
    xor ecx, ecx
    lea rdi, [rip + pt_pd_id]
2:  mov rax, rcx
    shl rax, 21
    or rax, PTE_P | PTE_RW | PTE_US | PTE_PS
    mov [rdi + rcx * 8], rax
    inc ecx
    cmp ecx, 2048
    jb 2b

    /* test space */
    lea rax, [rip + pt_pd_t]
    or rax, PTE_P | PTE_RW | PTE_US
    mov [rip + pt_pdpt_t], rax
    lea rax, [rip + pt_pt_t]
    or rax, PTE_P | PTE_RW | PTE_US
    mov [rip + pt_pd_t], rax

    lea rax, [rip + pt_pml4]
    mov cr3, rax
    pop rdi
    pop rdx
    pop rcx
    pop rax
    ret

    .section .bss
    .balign 4096
    .globl pt_pml4, pt_pdpt_id, pt_pd_id, pt_pdpt_t, pt_pd_t, pt_pt_t
pt_pml4:    .skip 4096
pt_pdpt_id: .skip 4096
pt_pd_id:   .skip 4 * 4096
pt_pdpt_t:  .skip 4096
pt_pd_t:    .skip 4096
pt_pt_t:    .skip 4096

    .section .note.GNU-stack, "", @progbits
