/*
 * smc.S - self-modifying code.
 *
 * x86 keeps instruction fetch coherent with stores: a store to a code location is seen by every
 * later fetch, including one of the instruction right after the store, even when it was already
 * prefetched or decoded, and the check is made on the physical address (Intel SDM Vol 3A,
 * 2016-2022 numbering: 11.6 "Self-Modifying Code" and 8.1.3 "Handling Self- and
 * Cross-Modifying Code"). An emulator that caches decoded instructions must invalidate them
 * on such stores (x86vmx: per physical page). The code patched here sits in .text, which the
 * page tables map writable (the ELF segment flags are not enforced by the loader).
 *
 * Checks: (a) patch a function's immediate and call again; the same in a loop; (b) patch the
 * very next instruction (immediate, then opcode) and a loop that patches its own immediate each
 * iteration; (c) copy a code blob to a buffer, run it, overwrite the buffer with another blob,
 * run again, and once more with the first; (d) patch code through a second linear address
 * (a 2 MiB alias of the same physical page) and run it through the identity address.
 * Prints PASS/FAIL per check, "SUMMARY pass=N fail=M"; exit 0 iff all passed.
 * Expected PASS lines: 12.
 */
.intel_syntax noprefix
#include "lib/defs.h"
#include "lib/test.inc"

#define BLOB_SIZE 16                /* bytes per code blob in (c), a multiple of 8 */

    .section .text

/* returns a constant; the constant is the imm32 at smc_func + 1 */
    .balign 16
smc_func:
    mov eax, 0x11111111
    ret

/* same shape, patched only through the alias in (d) */
    .balign 16
alias_func:
    mov eax, 0x0A11A500
    ret

    .globl main
main:
    push rbx
    push r12
    push r13
    PUTS "smc: self-modifying code\n"
    call idt_init                   /* an unexpected exception is reported, not a triple fault */

/* --- (a) patch a function, call again -------------------------------------------------------- */
    call smc_func
    CHECK_EQ("call before patch returns old immediate", 0x11111111, rax)
    mov dword ptr [rip + smc_func + 1], 0x22222222
    call smc_func
    CHECK_EQ("call after patch returns new immediate", 0x22222222, rax)

    xor r12d, r12d                  /* sum of returned values */
    mov ebx, 1
1:  mov [rip + smc_func + 1], ebx
    call smc_func
    add r12, rax
    inc ebx
    cmp ebx, 1000
    jbe 1b
    CHECK_EQ("patch+call 1000 times: sum of 1..1000", 500500, r12)

/* --- (b) patch the next instruction in the same basic block ------------------------------------ */
    xor eax, eax
    mov dword ptr [rip + .Lnext_imm + 1], 0x5A5A5A5A
.Lnext_imm:
    mov eax, 0x00000000             /* B8 imm32: the store above rewrites imm32 */
    CHECK_EQ("store into the immediate of the next instruction", 0x5A5A5A5A, rax)

    mov eax, 0x77
    mov ecx, 0x66
    mov byte ptr [rip + .Lnext_op], 0xB9
.Lnext_op:
    mov eax, 0x12345678             /* B8 -> B9: becomes mov ecx, 0x12345678 */
    CHECK_EQ("store into the opcode of the next instruction: eax kept", 0x77, rax)
    CHECK_EQ("store into the opcode of the next instruction: ecx loaded", 0x12345678, rcx)

    /* a loop whose body increments its own immediate: iteration k (0-based) sees k */
    xor r8d, r8d
    mov ecx, 100
.Lself_loop:
    mov eax, 0x00000000
    add r8, rax
    inc dword ptr [rip + .Lself_loop + 1]
    dec ecx
    jnz .Lself_loop
    CHECK_EQ("loop patching its own immediate: sum of 0..99", 4950, r8)

/* --- (c) code copied to a buffer, then overwritten with different code ------------------------ */
    lea rdi, [rip + exec_buf]
    lea rsi, [rip + blob1]
    mov ecx, BLOB_SIZE
    rep movsb                       /* copy with a string store */
    lea rbx, [rip + exec_buf]
    call rbx
    CHECK_EQ("run blob 1 copied by rep movsb", 0xB10B0001, rax)

    lea rsi, [rip + blob2]
    xor ecx, ecx
2:  mov rax, [rsi + rcx]            /* copy with ordinary 8-byte stores */
    mov [rbx + rcx], rax
    add ecx, 8
    cmp ecx, BLOB_SIZE
    jb 2b
    call rbx
    CHECK_EQ("run blob 2 copied over blob 1 by mov stores", 0x10000, rax)

    lea rdi, [rip + exec_buf]
    lea rsi, [rip + blob1]
    mov ecx, BLOB_SIZE / 8
    rep movsq
    call rbx
    CHECK_EQ("run blob 1 copied over blob 2 by rep movsq", 0xB10B0001, rax)

/* --- (d) store through an alias linear address ------------------------------------------------ */
    call pt_init                    /* own tables; TEST_VA_2M slot maps physical 0..2 MiB */
    mov qword ptr [rip + pt_pd_t + 8], PTE_P | PTE_RW | PTE_US | PTE_PS
    mov rax, cr3
    mov cr3, rax
    call alias_func
    CHECK_EQ("alias: before patch", 0x0A11A500, rax)
    lea rbx, [rip + alias_func + 1]
    mov rax, TEST_VA_2M
    add rbx, rax                    /* same physical bytes, another linear address */
    mov dword ptr [rbx], 0x0A11A5ED
    call alias_func
    CHECK_EQ("alias: store via 2 MiB alias seen by fetch via identity", 0x0A11A5ED, rax)

    call check_summary
    pop r13
    pop r12
    pop rbx
    ret

/* Position-independent blobs, padded with INT3 to BLOB_SIZE (a multiple of 8). They sit in
 * .rodata: they are data until copied. */
    .section .rodata
    .balign 16
blob1:
    mov eax, 0xB10B0001
    ret
    .fill BLOB_SIZE - 6, 1, 0xCC
blob2:
    mov eax, 0x1000
    shl eax, 4
    ret
    .fill BLOB_SIZE - 9, 1, 0xCC

    .section .bss
    .balign 4096
exec_buf:
    .skip 4096

    .section .note.GNU-stack, "", @progbits
