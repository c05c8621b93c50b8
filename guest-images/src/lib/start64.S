/*
 * start64.S - entry point of the ELF64 (direct boot, contract A) images.
 *
 * The loader enters _start in 64-bit mode, CPL0, RDI = RAM size in bytes, interrupts off.
 * We zero .bss (the loader zero-fills PT_LOAD p_memsz beyond p_filesz, but an image should not
 * depend on RAM contents it did not write), switch to our own stack, remember the RAM size and
 * call main(). main returns the exit status in EAX, which goes to the debug-exit port.
 */
.intel_syntax noprefix
#include "defs.h"

    .section .text.entry, "ax"
    .globl _start
_start:
    cli
    cld
    mov r12, rdi                    /* RAM size, survives the rep stosb below */
    lea rdi, [rip + __bss_start]
    lea rcx, [rip + __bss_end]
    sub rcx, rdi
    xor eax, eax
    rep stosb
    mov [rip + ram_size], r12
    lea rsp, [rip + boot_stack_top]
    call main
    mov edi, eax
    call exit
    /* exit does not return */

    .section .bss
    .balign 16
boot_stack:
    .skip 16384
    .globl boot_stack_top
boot_stack_top:
    .globl ram_size
ram_size:
    .skip 8

    .section .note.GNU-stack, "", @progbits

/* x86vmx direct-boot note (emulator/loader/note.ts): this ELF is entered directly per contract A,
 * not run as a Linux program under the guest kernel. */
    .section .note.x86vmx, "a", @note
    .balign 4
    .long 7                         /* namesz: "x86vmx" + NUL */
    .long 4                         /* descsz */
    .long 1                         /* type: direct boot */
    .asciz "x86vmx"
    .balign 4
    .long 1                         /* contract A, version 1 */
