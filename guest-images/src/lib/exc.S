/*
 * exc.S - the default exception handler of the self-checking images: it records what the CPU
 * delivered so the test can check it, and resumes where the test asked.
 *
 * Protocol: the test calls exc_arm (via EXPECT_EXC/EXPECT_TRAP in test.inc) right before the
 * instruction that must raise an exception. exc_arm sets every exc_* record to all-ones (so a
 * check against a missing exception fails visibly), stores the resume address and sets
 * exc_expected. When the exception arrives, exc_record copies vector, error code, RIP, CS,
 * RFLAGS, RSP, SS (all from the hardware frame), CR2 and the frame's address into the exc_*
 * variables and appends the same record to exc_log; then, if armed, disarms, sets the frame's
 * RIP to the resume address (unless that is 0) and returns, so IRETQ resumes there.
 * For vector 1 (#DB) it also clears RFLAGS.TF in the frame, ending single-stepping.
 *
 * An exception that was not armed for prints
 *   FAIL unexpected exception (vector 0x.., error 0x.., rip 0x.., cr2 0x..)
 * then the summary, and exits with status 1.
 */
.intel_syntax noprefix
#include "defs.h"
#include "test.inc"

    .section .text

    .globl exc_arm
/* exc_arm(RDI = resume address, or 0 to keep the saved RIP). Preserves all registers and
 * RFLAGS (uses only mov/lea/push/pop). */
exc_arm:
    push rax
    mov [rip + exc_resume], rdi
    mov rax, -1
    mov [rip + exc_vector], rax
    mov [rip + exc_error], rax
    mov [rip + exc_rip], rax
    mov [rip + exc_cs], rax
    mov [rip + exc_rflags], rax
    mov [rip + exc_rsp], rax
    mov [rip + exc_ss], rax
    mov [rip + exc_cr2], rax
    mov [rip + exc_frame], rax
    mov qword ptr [rip + exc_expected], 1
    pop rax
    ret

    .globl exc_log_reset
exc_log_reset:
    mov qword ptr [rip + exc_count], 0
    ret

    .globl exc_record
/* exc_record(RDI = frame), called from isr_common. May clobber RAX, RCX, RDX, RSI (isr_common
 * restores every register from the frame). */
exc_record:
    mov rax, [rdi + F_VECTOR]
    mov [rip + exc_vector], rax
    mov rax, [rdi + F_ERROR]
    mov [rip + exc_error], rax
    mov rax, [rdi + F_RIP]
    mov [rip + exc_rip], rax
    mov rax, [rdi + F_CS]
    mov [rip + exc_cs], rax
    mov rax, [rdi + F_RFLAGS]
    mov [rip + exc_rflags], rax
    mov rax, [rdi + F_RSP]
    mov [rip + exc_rsp], rax
    mov rax, [rdi + F_SS]
    mov [rip + exc_ss], rax
    mov rax, cr2
    mov [rip + exc_cr2], rax
    lea rax, [rdi + F_RIP]
    mov [rip + exc_frame], rax

    /* append to exc_log (first X_LOG_ENTRIES records are kept; exc_count keeps counting) */
    mov rcx, [rip + exc_count]
    cmp rcx, X_LOG_ENTRIES
    jae 2f
    shl rcx, 7                      /* X_SIZE = 128 */
    lea rdx, [rip + exc_log]
    add rdx, rcx
    mov rax, [rip + exc_vector]
    mov [rdx + X_VECTOR], rax
    mov rax, [rip + exc_error]
    mov [rdx + X_ERROR], rax
    mov rax, [rip + exc_rip]
    mov [rdx + X_RIP], rax
    mov rax, [rip + exc_cs]
    mov [rdx + X_CS], rax
    mov rax, [rip + exc_rflags]
    mov [rdx + X_RFLAGS], rax
    mov rax, [rip + exc_rsp]
    mov [rdx + X_RSP], rax
    mov rax, [rip + exc_ss]
    mov [rdx + X_SS], rax
    mov rax, [rip + exc_cr2]
    mov [rdx + X_CR2], rax
    mov rax, [rip + exc_frame]
    mov [rdx + X_FRAME], rax
2:  inc qword ptr [rip + exc_count]

    cmp qword ptr [rip + exc_expected], 0
    je .Lunexpected
    mov qword ptr [rip + exc_expected], 0
    mov rax, [rip + exc_resume]
    test rax, rax
    jz 3f
    mov [rdi + F_RIP], rax
3:  cmp qword ptr [rdi + F_VECTOR], VEC_DB
    jne 4f
    and qword ptr [rdi + F_RFLAGS], ~0x100      /* TF: stop single-stepping */
4:  ret

.Lunexpected:
    inc qword ptr [rip + checks_failed]
    PUTS "FAIL unexpected exception (vector "
    push rdi
    mov rdi, [rip + exc_vector]
    call print_hex64
    PUTS ", error "
    mov rdi, [rip + exc_error]
    call print_hex64
    PUTS ", rip "
    mov rdi, [rip + exc_rip]
    call print_hex64
    PUTS ", cr2 "
    mov rdi, [rip + exc_cr2]
    call print_hex64
    PUTS ")\n"
    pop rdi
    call check_summary
    mov edi, 1
    call exit

    .section .data
    .balign 8
    .globl exc_expected, exc_resume, exc_count
    .globl exc_vector, exc_error, exc_rip, exc_cs, exc_rflags, exc_rsp, exc_ss, exc_cr2, exc_frame
exc_expected: .quad 0
exc_resume:   .quad 0
exc_count:    .quad 0
exc_vector:   .quad -1
exc_error:    .quad -1
exc_rip:      .quad -1
exc_cs:       .quad -1
exc_rflags:   .quad -1
exc_rsp:      .quad -1
exc_ss:       .quad -1
exc_cr2:      .quad -1
exc_frame:    .quad -1

    .section .bss
    .balign 64
    .globl exc_log
exc_log:
    .skip X_LOG_ENTRIES * X_SIZE

    .section .note.GNU-stack, "", @progbits
