/*
 * serial.S - polled output on the 16550 at 0x3F8 (64-bit code).
 * Every routine preserves all registers (RFLAGS excepted).
 */
.intel_syntax noprefix
#include "defs.h"

    .section .text

    .globl serial_putc
/* serial_putc(DIL = byte): wait for LSR.THRE (bit 5), then write THR. */
serial_putc:
    push rax
    push rdx
    mov edx, COM1_LSR
1:  in al, dx
    test al, LSR_THRE
    jz 1b
    mov edx, COM1_THR
    mov eax, edi
    out dx, al
    pop rdx
    pop rax
    ret

    .globl serial_puts
/* serial_puts(RDI = NUL-terminated string) */
serial_puts:
    push rdi
    push rsi
    mov rsi, rdi
1:  movzx edi, byte ptr [rsi]
    test edi, edi
    jz 2f
    call serial_putc
    inc rsi
    jmp 1b
2:  pop rsi
    pop rdi
    ret

    .globl print_hex64
/* print_hex64(RDI = value): "0x" followed by exactly 16 lowercase hex digits. */
print_hex64:
    push rax
    push rcx
    push rdi
    push rsi
    mov rsi, rdi
    mov edi, '0'
    call serial_putc
    mov edi, 'x'
    call serial_putc
    mov ecx, 16
1:  rol rsi, 4
    mov eax, esi
    and eax, 0xF
    lea rdi, [rip + hex_digits]
    movzx edi, byte ptr [rdi + rax]
    call serial_putc
    dec ecx
    jnz 1b
    pop rsi
    pop rdi
    pop rcx
    pop rax
    ret

    .globl print_dec
/* print_dec(RDI = unsigned value): decimal, no leading zeros. */
print_dec:
    push rax
    push rcx
    push rdx
    push rdi
    push rsi
    sub rsp, 32                     /* digit buffer: 20 digits at most */
    mov rax, rdi
    lea rsi, [rsp + 31]             /* fill backwards from the end */
    mov ecx, 10
1:  xor edx, edx
    div rcx                         /* RAX = quotient, RDX = remainder */
    add edx, '0'
    mov [rsi], dl
    dec rsi
    test rax, rax
    jnz 1b
2:  inc rsi
    lea rax, [rsp + 32]
    cmp rsi, rax
    jae 3f
    movzx edi, byte ptr [rsi]
    call serial_putc
    jmp 2b
3:  add rsp, 32
    pop rsi
    pop rdi
    pop rdx
    pop rcx
    pop rax
    ret

    .globl print_nl
print_nl:
    push rdi
    mov edi, '\n'
    call serial_putc
    pop rdi
    ret

    .section .rodata
hex_digits:
    .ascii "0123456789abcdef"

    .section .note.GNU-stack, "", @progbits
