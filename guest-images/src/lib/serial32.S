/*
 * serial32.S - polled 16550 output and debug exit for 32-bit protected-mode code
 * (boot32to64 before it enters long mode). Preserves all registers but EFLAGS.
 */
.intel_syntax noprefix
#include "defs.h"

    .section .text
    .code32

    .globl putc32
/* putc32(AL = byte) */
putc32:
    push edx
    push eax
    mov edx, COM1_LSR
1:  in al, dx
    test al, LSR_THRE
    jz 1b
    pop eax
    mov edx, COM1_THR
    out dx, al
    pop edx
    ret

    .globl puts32
/* puts32(ESI = NUL-terminated string) */
puts32:
    push eax
    push esi
1:  mov al, [esi]
    test al, al
    jz 2f
    call putc32
    inc esi
    jmp 1b
2:  pop esi
    pop eax
    ret

    .globl print_hex32
/* print_hex32(EAX = value): "0x" and 8 lowercase hex digits */
print_hex32:
    push eax
    push ecx
    push edx
    mov edx, eax
    mov al, '0'
    call putc32
    mov al, 'x'
    call putc32
    mov ecx, 8
1:  rol edx, 4
    mov eax, edx
    and eax, 0xF
    mov al, [hex_digits32 + eax]
    call putc32
    dec ecx
    jnz 1b
    pop edx
    pop ecx
    pop eax
    ret

    .globl exit32
/* exit32(AL = status) - never returns */
exit32:
    out DEBUG_EXIT_PORT, al
1:  cli
    hlt
    jmp 1b

    .code64
    .section .rodata
hex_digits32:
    .ascii "0123456789abcdef"

    .section .note.GNU-stack, "", @progbits
