/*
 * check.S - PASS/FAIL reporting for the self-checking images.
 *
 * Output format (one line per check, then one summary line):
 *     PASS <name>
 *     FAIL <name> (expected 0x<16 hex>, got 0x<16 hex>)
 *     SUMMARY pass=<n> fail=<n>
 * (The summary deliberately avoids the "N passed, N failed" wording that CI log scanners treat
 * as a test runner's closing line.)
 */
.intel_syntax noprefix
#include "defs.h"
#include "test.inc"

    .section .text

    .globl check_eq
/* check_eq(RDI = name, RSI = expected, RDX = got). Preserves all registers but RFLAGS. */
check_eq:
    cmp rsi, rdx
    jne 1f
    inc qword ptr [rip + checks_passed]
    PUTS "PASS "
    call serial_puts
    call print_nl
    ret
1:  inc qword ptr [rip + checks_failed]
    push rdi
    PUTS "FAIL "
    call serial_puts
    PUTS " (expected "
    mov rdi, rsi
    call print_hex64
    PUTS ", got "
    mov rdi, rdx
    call print_hex64
    PUTS ")\n"
    pop rdi
    ret

    .globl check_fail_text
/* check_fail_text(RDI = complete text after "FAIL ", without newline): counts one failure. */
check_fail_text:
    inc qword ptr [rip + checks_failed]
    PUTS "FAIL "
    call serial_puts
    call print_nl
    ret

    .globl check_summary
/* check_summary() -> EAX = 0 if no check failed (and at least one passed), else 1.
 * Prints "SUMMARY pass=N fail=M". */
check_summary:
    push rdi
    PUTS "SUMMARY pass="
    mov rdi, [rip + checks_passed]
    call print_dec
    PUTS " fail="
    mov rdi, [rip + checks_failed]
    call print_dec
    call print_nl
    pop rdi
    mov eax, 1
    cmp qword ptr [rip + checks_failed], 0
    jne 1f
    cmp qword ptr [rip + checks_passed], 0
    je 1f
    xor eax, eax
1:  ret

    .section .data
    .balign 8
    .globl checks_passed, checks_failed
checks_passed: .quad 0
checks_failed: .quad 0

    .section .note.GNU-stack, "", @progbits
