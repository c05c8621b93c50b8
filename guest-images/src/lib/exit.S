/*
 * exit.S - end the run through the debug-exit port 0xF4 (status = AL; 0 = success).
 * If the port does nothing (e.g. a machine without it), park the CPU with interrupts off.
 */
.intel_syntax noprefix
#include "defs.h"

    .section .text
    .globl exit
/* void exit(uint8_t status in DIL) - never returns */
exit:
    mov eax, edi
    out DEBUG_EXIT_PORT, al
1:  cli
    hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
