/* run_stub: load the whole input state from the control block, jump to the instruction at
 * INSN_ADDR (which is followed by `jmp qword ptr [CTL_ADDR+CTL_JMPRET]`), and store the whole output
 * state back. Every load/store uses an absolute 32-bit address so no register is disturbed between
 * the state load and the instruction, nor between the instruction and the state store; MOV, MOVDQU,
 * JMP and LDMXCSR do not touch RFLAGS. RSP is part of the state (it points into the data page), so
 * the C stack pointer is kept in the control block. Signals run on an alternate stack. */
#include "layout.h"
        .intel_syntax noprefix
        .text
        .globl run_stub
        .type run_stub, @function
run_stub:
        push rbx
        push rbp
        push r12
        push r13
        push r14
        push r15
        mov qword ptr [CTL_ADDR + CTL_SAVESP], rsp
        ldmxcsr dword ptr [CTL_ADDR + CTL_IN + ST_MXCSR]
        .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        movdqu xmm\n, xmmword ptr [CTL_ADDR + CTL_IN + ST_XMM + 16*\n]
        .endr
        push qword ptr [CTL_ADDR + CTL_IN + ST_FLAGS]
        popfq
        mov rax, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*0]
        mov rcx, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*1]
        mov rdx, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*2]
        mov rbx, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*3]
        mov rsp, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*4]
        mov rbp, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*5]
        mov rsi, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*6]
        mov rdi, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*7]
        mov r8,  qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*8]
        mov r9,  qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*9]
        mov r10, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*10]
        mov r11, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*11]
        mov r12, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*12]
        mov r13, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*13]
        mov r14, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*14]
        mov r15, qword ptr [CTL_ADDR + CTL_IN + ST_GPR + 8*15]
        jmp qword ptr [CTL_ADDR + CTL_JMPINSN]

        .globl stub_return
stub_return:
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*0], rax
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*1], rcx
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*2], rdx
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*3], rbx
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*4], rsp
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*5], rbp
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*6], rsi
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*7], rdi
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*8], r8
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*9], r9
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*10], r10
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*11], r11
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*12], r12
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*13], r13
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*14], r14
        mov qword ptr [CTL_ADDR + CTL_OUT + ST_GPR + 8*15], r15
        mov rsp, qword ptr [CTL_ADDR + CTL_SAVESP]
        pushfq
        pop qword ptr [CTL_ADDR + CTL_OUT + ST_FLAGS]
        cld
        stmxcsr dword ptr [CTL_ADDR + CTL_OUT + ST_MXCSR]
        ldmxcsr dword ptr [CTL_ADDR + CTL_CMXCSR]
        .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        movdqu xmmword ptr [CTL_ADDR + CTL_OUT + ST_XMM + 16*\n], xmm\n
        .endr
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbp
        pop rbx
        ret
        .size run_stub, .-run_stub
        .section .note.GNU-stack,"",@progbits
