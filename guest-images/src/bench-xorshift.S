/*
 * bench-xorshift.S - the x86vmx benchmark loop: xorshift64 plus a scattered read-modify-write.
 *
 * Exactly 14 instructions per iteration (bench_loop .. bench_loop_end):
 *   mov rdx,rax; shl rdx,13; xor rax,rdx; mov rdx,rax; shr rdx,7; xor rax,rdx;
 *   mov rdx,rax; shl rdx,17; xor rax,rdx;                 (xorshift64, Marsaglia 13/7/17)
 *   mov edx,eax; and edx,0xfff8; add [rbx+rdx],rax;       (qword at buffer + (EAX & 0xFFF8))
 *   dec ecx; jnz bench_loop
 * Seed RAX = 0x123456789ABCDEF1, BENCH_ITERATIONS = 5,000,000 (both also exported as absolute
 * symbols bench_seed / bench_iterations), 64 KiB buffer zeroed first (rep stosq).
 * Afterwards it prints (src/bench-xorshift-ref.c prints the same bytes, computed independently):
 *   bench-xorshift: iterations=5000000 seed=0x123456789abcdef1
 *   rax=0x<final RAX, 16 hex digits>
 *   checksum=0x<sum of the 8192 buffer qwords mod 2^64, 16 hex digits>
 * and exits with status 0. So the run executes 14 * 5,000,000 = 70,000,000 loop instructions
 * plus a small, fixed overhead.
 */
.intel_syntax noprefix
#include "lib/defs.h"
#include "lib/test.inc"

#define BENCH_ITERATIONS 5000000
#define BENCH_SEED       0x123456789ABCDEF1
#define BUF_BYTES        65536

    .globl bench_iterations, bench_seed
    .set bench_iterations, BENCH_ITERATIONS
    .set bench_seed, BENCH_SEED

    .section .text
    .globl main
main:
    push rbx
    push r12
    push r13
    lea rdi, [rip + bench_buf]
    mov ecx, BUF_BYTES / 8
    xor eax, eax
    rep stosq

    lea rbx, [rip + bench_buf]
    mov rax, BENCH_SEED
    mov ecx, BENCH_ITERATIONS
    .balign 16
    .globl bench_loop, bench_loop_end
bench_loop:
    mov rdx, rax
    shl rdx, 13
    xor rax, rdx
    mov rdx, rax
    shr rdx, 7
    xor rax, rdx
    mov rdx, rax
    shl rdx, 17
    xor rax, rdx
    mov edx, eax
    and edx, 0xfff8
    add [rbx + rdx], rax
    dec ecx
    jnz bench_loop
bench_loop_end:
    mov r12, rax

    xor r13d, r13d                  /* checksum: sum of all 8192 qwords, mod 2^64 */
    xor ecx, ecx
1:  add r13, [rbx + rcx * 8]
    inc ecx
    cmp ecx, BUF_BYTES / 8
    jb 1b

    PUTS "bench-xorshift: iterations="
    mov edi, BENCH_ITERATIONS
    call print_dec
    PUTS " seed="
    mov rdi, BENCH_SEED
    call print_hex64
    PUTS "\nrax="
    mov rdi, r12
    call print_hex64
    PUTS "\nchecksum="
    mov rdi, r13
    call print_hex64
    call print_nl
    xor eax, eax
    pop r13
    pop r12
    pop rbx
    ret

    .section .bss
    .balign 4096
    .globl bench_buf
bench_buf:
    .skip BUF_BYTES

    .section .note.GNU-stack, "", @progbits
