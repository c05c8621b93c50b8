/*
 * exit.S - end the run through the debug-exit port 0xF4 (status = AL; 0 = success).
 *
 * On x86vmx (and QEMU with isa-debug-exit) the OUT to 0xF4 ends the run, so nothing after it
 * executes there. Where the port does nothing (Bochs, guest-images/tools/bochs/README.md), the
 * status is reported on COM2 (0x2F8) as the line "x86vmx-exit-status: 0xNN" (NN = status in two
 * lowercase hex digits), both UARTs are drained (LSR.TEMT), and a Bochs shutdown is requested by
 * writing "Shutdown" to port 0x8900. COM1, the images' output, is left alone. Then the CPU is
 * parked with interrupts off. Needs a usable stack (call/push).
 */
.intel_syntax noprefix
#include "defs.h"

#define COM2_THR      0x2F8
#define COM2_LSR      0x2FD
#define SHUTDOWN_PORT 0x8900

    .section .text
    .globl exit
/* void exit(uint8_t status in DIL) - never returns */
exit:
    mov eax, edi
    out DEBUG_EXIT_PORT, al
    /* only reached where port 0xF4 did not end the run */
    lea rsi, [rip + status_prefix]
    call com2_puts
    mov eax, edi
    shr eax, 4
    call com2_hexdigit
    mov eax, edi
    call com2_hexdigit
    mov eax, '\n'
    call com2_putc
    /* let both UARTs finish sending (LSR.TEMT, bit 6) before the shutdown, or Bochs loses the
     * byte still in the transmit shift register */
    mov edx, COM1_LSR
    call wait_temt
    mov edx, COM2_LSR
    call wait_temt
    lea rsi, [rip + shutdown_text]
    mov edx, SHUTDOWN_PORT
1:  lodsb
    test al, al
    jz 2f
    out dx, al
    jmp 1b
2:  cli
    hlt
    jmp 2b

/* com2_hexdigit(AL low nibble) */
com2_hexdigit:
    and eax, 0xF
    lea rdx, [rip + exit_hex_digits]
    movzx eax, byte ptr [rdx + rax]
    /* fall through */
/* com2_putc(AL): poll LSR.THRE (a missing port reads 0xFF: no wait), write THR. Clobbers EDX. */
com2_putc:
    push rax
    mov edx, COM2_LSR
1:  in al, dx
    test al, LSR_THRE
    jz 1b
    pop rax
    mov edx, COM2_THR
    out dx, al
    ret

/* wait_temt(DX = LSR port): poll until bit 6 is set (a missing port reads 0xFF). */
wait_temt:
1:  in al, dx
    test al, 0x40
    jz 1b
    ret

/* com2_puts(RSI = NUL-terminated string). Clobbers RAX, RDX, RSI. */
com2_puts:
    lodsb
    test al, al
    jz 1f
    call com2_putc
    jmp com2_puts
1:  ret

    .section .rodata
status_prefix:   .asciz "x86vmx-exit-status: 0x"
shutdown_text:   .asciz "Shutdown"
exit_hex_digits: .ascii "0123456789abcdef"

    .section .note.GNU-stack, "", @progbits
