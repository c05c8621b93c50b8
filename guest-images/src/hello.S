/*
 * hello.S - the first image to bring up: prints exactly "Hello from x86vmx\n" on COM1 and exits
 * with status 0 through port 0xF4.
 *
 * Deliberately self-contained and minimal (no stack, no calls, no string instructions): it uses
 * only LEA, MOV, MOVZX, TEST, Jcc, JMP, IN, OUT, INC, XOR, CLI, HLT, so it runs on a CPU
 * model that implements little more than that.
 */
.intel_syntax noprefix
#include "lib/defs.h"

    .section .text.entry, "ax"
    .globl _start
_start:
    lea rsi, [rip + message]
next_char:
    movzx ecx, byte ptr [rsi]
    test ecx, ecx
    jz done
wait_thre:
    mov edx, COM1_LSR
    in al, dx
    test al, LSR_THRE               /* 16550 LSR bit 5: transmit holding register empty */
    jz wait_thre
    mov edx, COM1_THR
    mov eax, ecx
    out dx, al
    inc rsi
    jmp next_char
done:
    xor eax, eax
    out DEBUG_EXIT_PORT, al         /* status 0 = success */
halt:
    cli
    hlt
    jmp halt

    .section .rodata
message:
    .asciz "Hello from x86vmx\n"

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
