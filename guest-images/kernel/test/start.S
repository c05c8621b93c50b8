/*
 * start.S - entry point and raw system calls for the kernel's test program (ktest.c).
 * _start records RSP and RDX exactly as the kernel left them, then calls ktest_main(initial RSP)
 * and exits (exit_group) with its return value.
 */
.intel_syntax noprefix

    .section .text
    .globl _start
_start:
    mov [rip + initial_rsp], rsp
    mov [rip + initial_rdx], rdx
    mov rdi, rsp
    call ktest_main
    mov edi, eax
    mov eax, 231                        /* exit_group */
    syscall
    ud2

    .globl sys6
/* long sys6(long nr, long a, long b, long c, long d, long e, long f) */
sys6:
    mov rax, rdi
    mov rdi, rsi
    mov rsi, rdx
    mov rdx, rcx
    mov r10, r8
    mov r8, r9
    mov r9, [rsp + 8]
    syscall
    ret

    .globl syscall_clobber_check
/* long syscall_clobber_check(void): getpid with known values in every register but RAX, RCX,
 * R11; returns 1 if the kernel preserved them all. */
syscall_clobber_check:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov rbx, 0x1111111111111111
    mov rbp, 0x2222222222222222
    mov rdi, 0x3333333333333333
    mov rsi, 0x4444444444444444
    mov rdx, 0x5555555555555555
    mov r8, 0x6666666666666666
    mov r9, 0x7777777777777777
    mov r10, 0x8888888888888888
    mov r12, 0x9999999999999999
    mov r13, 0xAAAAAAAAAAAAAAAA
    mov r14, 0xBBBBBBBBBBBBBBBB
    mov r15, 0xCCCCCCCCCCCCCCCC
    mov eax, 39
    syscall
    xor eax, eax
    mov rcx, 0x1111111111111111
    cmp rbx, rcx
    jne 1f
    mov rcx, 0x2222222222222222
    cmp rbp, rcx
    jne 1f
    mov rcx, 0x3333333333333333
    cmp rdi, rcx
    jne 1f
    mov rcx, 0x4444444444444444
    cmp rsi, rcx
    jne 1f
    mov rcx, 0x5555555555555555
    cmp rdx, rcx
    jne 1f
    mov rcx, 0x6666666666666666
    cmp r8, rcx
    jne 1f
    mov rcx, 0x7777777777777777
    cmp r9, rcx
    jne 1f
    mov rcx, 0x8888888888888888
    cmp r10, rcx
    jne 1f
    mov rcx, 0x9999999999999999
    cmp r12, rcx
    jne 1f
    mov rcx, 0xAAAAAAAAAAAAAAAA
    cmp r13, rcx
    jne 1f
    mov rcx, 0xBBBBBBBBBBBBBBBB
    cmp r14, rcx
    jne 1f
    mov rcx, 0xCCCCCCCCCCCCCCCC
    cmp r15, rcx
    jne 1f
    mov eax, 1
1:  pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

    .globl fs_load
/* u64 fs_load(u64 offset): the quadword at FS:offset */
fs_load:
    mov rax, fs:[rdi]
    ret

    .globl do_ud2, do_div0, do_cli, do_int3
do_ud2:
    ud2
do_div0:
    xor ecx, ecx
    mov eax, 1
    xor edx, edx
    div ecx
    ret
do_cli:
    cli
    ret
do_int3:
    int3
    ret

    .section .bss
    .balign 8
    .globl initial_rsp, initial_rdx
initial_rsp: .skip 8
initial_rdx: .skip 8

    .section .note.GNU-stack, "", @progbits
