/*
 * entry.S - every way into the kernel after boot, and the way out to ring 3.
 *
 * Interrupts and exceptions: 256 stubs of 16 bytes (isr_stubs + 16 * vector) push a dummy error
 * code where the CPU pushes none, then the vector, and join isr_common, which saves the general
 * registers into a struct trapframe (kernel.h) and calls trap_dispatch(frame). Returning pops the
 * frame (any field may have been changed) and IRETQs.
 *
 * SYSCALL: the CPU leaves RSP at the user stack, RCX = user RIP, R11 = user RFLAGS, and clears
 * the RFLAGS bits in SFMASK (IF among them), so nothing can interrupt the switch to the kernel
 * stack. syscall_entry builds the same trapframe (vector = VEC_SYSCALL, CS/SS the user selectors)
 * and calls syscall_dispatch(frame); it returns with SYSRETQ, restoring every register but RAX
 * (the result), RCX and R11 (which SYSCALL itself clobbers), as Linux does.
 *
 * One kernel stack (kernel_stack_top): TSS.RSP0 and the SYSCALL path both start at its top; the
 * kernel never runs two system calls at once. #DF uses its own stack (IST1, df_stack_top).
 */
.intel_syntax noprefix

#define VEC_SYSCALL 0x100
#define SEL_UCODE 0x33                  /* 0x30 | RPL 3 */
#define SEL_UDATA 0x2B                  /* 0x28 | RPL 3 */

    .section .text

    .balign 16
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    push 0
    .endif
    push vec
    jmp isr_common
    .set vec, vec + 1
    .endr

.macro SAVE_REGS
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
.endm

.macro RESTORE_REGS
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
.endm

isr_common:
    SAVE_REGS
    cld
    mov rdi, rsp
    call trap_dispatch
isr_return:
    RESTORE_REGS
    add rsp, 16                         /* vector, error code */
    iretq

    .globl syscall_entry
syscall_entry:
    mov [rip + syscall_user_rsp], rsp
    lea rsp, [rip + kernel_stack_top]
    push SEL_UDATA                      /* ss */
    push qword ptr [rip + syscall_user_rsp]     /* rsp */
    push r11                            /* rflags */
    push SEL_UCODE                      /* cs */
    push rcx                            /* rip */
    push 0                              /* error */
    push VEC_SYSCALL                    /* vector */
    SAVE_REGS
    cld
    mov rdi, rsp
    call syscall_dispatch
    RESTORE_REGS
    add rsp, 16
    mov rcx, [rsp]                      /* user rip */
    mov r11, [rsp + 16]                 /* user rflags */
    mov rsp, [rsp + 24]                 /* user rsp: IF is still 0 until SYSRET */
    sysretq

    .globl enter_user
/* enter_user(frame): load every register from the trapframe and IRETQ (to ring 3). */
enter_user:
    mov rsp, rdi
    jmp isr_return

    .section .bss
    .balign 16
syscall_user_rsp:
    .skip 8
    .balign 4096
    .skip 16384
    .globl kernel_stack_top
kernel_stack_top:
    .skip 4096
    .globl df_stack_top
df_stack_top:

    .section .note.GNU-stack, "", @progbits
