/*
 * exceptions.S - exception delivery in 64-bit mode.
 *
 * Loads its own GDT (lib/gdt.S: known limit 0x47, a not-present descriptor at 0x40), its own IDT
 * (lib/idt.S) and its own page tables (lib/pt.S), then provokes one exception at a time. The
 * recording handler (lib/exc.S) stores vector, error code, saved RIP, CR2, ... and resumes at
 * the label the test names (after the faulting instruction for a fault; unchanged for a trap).
 * Each check prints PASS/FAIL; the run ends with "SUMMARY pass=N fail=M" and exit status 0 if
 * everything passed, 1 otherwise. Expected PASS lines: 58.
 *
 * Section numbers are those of the Intel SDM (Vol 3A: "System Programming Guide, Part 1";
 * Vol 2: instruction reference) in the 2016-2022 editions (chapter 6 "Interrupt and Exception
 * Handling"); later editions renumber some chapters but keep the titles.
 */
.intel_syntax noprefix
#include "lib/defs.h"
#include "lib/test.inc"

    .section .text
    .globl main
main:
    push rbx
    push r12
    push r13
    PUTS "exceptions: 64-bit IDT, exception and interrupt delivery\n"
    lea rdi, [rip + kstack_top]
    call gdt_init
    call idt_init
    call pt_init
    call exc_log_reset

/* --- #UD ------------------------------------------------------------------------------------
 * UD2 raises #UD (SDM Vol 2B "UD"); #UD is a fault with no error code and the saved RIP is the
 * faulting instruction (Vol 3A 6.15 "Interrupt 6-Invalid Opcode Exception (#UD)"). */
    EXPECT_EXC .Lud2_after
.Lud2:
    ud2
.Lud2_after:
    CHECK_EQ("#UD ud2 vector", VEC_UD, qword ptr [rip + exc_vector])
    lea rax, [rip + .Lud2]
    CHECK_EQ("#UD ud2 rip", rax, qword ptr [rip + exc_rip])

/* LOCK with a register destination: #UD (Vol 2A "LOCK": "An undefined opcode exception will
 * also be generated if the LOCK prefix is used with any instruction not in the above list or
 * ... the destination operand is not a memory operand"). Encoding F0 01 D8 = lock add eax, ebx. */
    EXPECT_EXC .Llock_after
.Llock:
    .byte 0xF0, 0x01, 0xD8
.Llock_after:
    CHECK_EQ("#UD lock add reg,reg vector", VEC_UD, qword ptr [rip + exc_vector])
    lea rax, [rip + .Llock]
    CHECK_EQ("#UD lock add reg,reg rip", rax, qword ptr [rip + exc_rip])

/* INTO (opcode CE) is invalid in 64-bit mode: #UD (Vol 2A "INT n/INTO/INT3/INT1",
 * Protected Mode/64-Bit Mode Exceptions: "#UD If in 64-bit mode" for INTO). */
    EXPECT_EXC .Linto_after
.Linto:
    .byte 0xCE
.Linto_after:
    CHECK_EQ("#UD into in 64-bit mode vector", VEC_UD, qword ptr [rip + exc_vector])
    lea rax, [rip + .Linto]
    CHECK_EQ("#UD into in 64-bit mode rip", rax, qword ptr [rip + exc_rip])

/* --- #GP ------------------------------------------------------------------------------------
 * A data access to a non-canonical address: #GP(0) (Vol 3A 3.3.7.1 "Canonical Addressing";
 * 6.15 "Interrupt 13-General Protection Exception (#GP)": error code 0 when not related to a
 * segment). The access uses DS (base register RCX), so it is #GP, not #SS. */
    mov rcx, 0x8000000000000000
    EXPECT_EXC .Lnoncanon_after
.Lnoncanon:
    mov rax, [rcx]
.Lnoncanon_after:
    CHECK_EQ("#GP non-canonical read vector", VEC_GP, qword ptr [rip + exc_vector])
    CHECK_EQ("#GP non-canonical read error code", 0, qword ptr [rip + exc_error])
    lea rax, [rip + .Lnoncanon]
    CHECK_EQ("#GP non-canonical read rip", rax, qword ptr [rip + exc_rip])

/* MOV DS with a selector whose index lies beyond the GDT limit: #GP(selector) (Vol 2B "MOV",
 * Operation: "IF segment selector index is outside descriptor table limits THEN
 * #GP(selector)"). The error code has the selector format of Vol 3A 6.13 "Error Code":
 * index in bits 15:3, TI bit 2, IDT bit 1, EXT bit 0 -> 0x48. */
    mov eax, 0x48
    EXPECT_EXC .Lmovds_after
.Lmovds:
    mov ds, ax
.Lmovds_after:
    CHECK_EQ("#GP mov ds beyond gdt limit vector", VEC_GP, qword ptr [rip + exc_vector])
    CHECK_EQ("#GP mov ds beyond gdt limit error code", 0x48, qword ptr [rip + exc_error])
    lea rax, [rip + .Lmovds]
    CHECK_EQ("#GP mov ds beyond gdt limit rip", rax, qword ptr [rip + exc_rip])

/* MOV SS with a code-segment selector: #GP(selector) (Vol 2B "MOV", Operation: "IF SS is
 * loaded ... segment is not a writable data segment ... THEN #GP(selector)"). */
    mov eax, SEL_KCODE64
    EXPECT_EXC .Lmovss_code_after
.Lmovss_code:
    mov ss, ax
.Lmovss_code_after:
    CHECK_EQ("#GP mov ss code segment vector", VEC_GP, qword ptr [rip + exc_vector])
    CHECK_EQ("#GP mov ss code segment error code", SEL_KCODE64, qword ptr [rip + exc_error])
    lea rax, [rip + .Lmovss_code]
    CHECK_EQ("#GP mov ss code segment rip", rax, qword ptr [rip + exc_rip])

/* MOV SS with selector 0x23 at CPL0: RPL (3) != CPL (0) -> #GP(selector) (Vol 2B "MOV"). The
 * error code carries the selector's index and TI; bits 1:0 are the IDT and EXT flags, not the
 * RPL (Vol 3A 6.13), so the error code is 0x20. */
    mov eax, SEL_UDATA | 3
    EXPECT_EXC .Lmovss_rpl_after
.Lmovss_rpl:
    mov ss, ax
.Lmovss_rpl_after:
    CHECK_EQ("#GP mov ss rpl!=cpl vector", VEC_GP, qword ptr [rip + exc_vector])
    CHECK_EQ("#GP mov ss rpl!=cpl error code", SEL_UDATA, qword ptr [rip + exc_error])
    lea rax, [rip + .Lmovss_rpl]
    CHECK_EQ("#GP mov ss rpl!=cpl rip", rax, qword ptr [rip + exc_rip])

/* --- #NP / #SS for a not-present descriptor ------------------------------------------------
 * MOV DS with a not-present data descriptor: #NP(selector); MOV SS with it: #SS(selector)
 * (Vol 2B "MOV", Operation; Vol 3A 6.15 "Interrupt 11-Segment Not Present (#NP)" and
 * "Interrupt 12-Stack Fault Exception (#SS)"). */
    mov eax, SEL_NOTPRESENT
    EXPECT_EXC .Lnpds_after
.Lnpds:
    mov ds, ax
.Lnpds_after:
    CHECK_EQ("#NP mov ds not-present vector", VEC_NP, qword ptr [rip + exc_vector])
    CHECK_EQ("#NP mov ds not-present error code", SEL_NOTPRESENT, qword ptr [rip + exc_error])
    lea rax, [rip + .Lnpds]
    CHECK_EQ("#NP mov ds not-present rip", rax, qword ptr [rip + exc_rip])

    mov eax, SEL_NOTPRESENT
    EXPECT_EXC .Lnpss_after
.Lnpss:
    mov ss, ax
.Lnpss_after:
    CHECK_EQ("#SS mov ss not-present vector", VEC_SS, qword ptr [rip + exc_vector])
    CHECK_EQ("#SS mov ss not-present error code", SEL_NOTPRESENT, qword ptr [rip + exc_error])
    lea rax, [rip + .Lnpss]
    CHECK_EQ("#SS mov ss not-present rip", rax, qword ptr [rip + exc_rip])

/* --- #PF ------------------------------------------------------------------------------------
 * Read of a not-present page (test-space PTE 0 is 0): #PF, error code P=0 W/R=0 U/S=0 -> 0,
 * CR2 = the linear address (Vol 3A 4.7 "Page-Fault Exceptions"; 6.15 "Interrupt 14"). */
    mov qword ptr [rip + pt_pt_t], 0
    mov rbx, TEST_VA
    invlpg [rbx]
    EXPECT_EXC .Lpfnp_after
.Lpfnp:
    mov rax, [rbx]
.Lpfnp_after:
    CHECK_EQ("#PF read not-present vector", VEC_PF, qword ptr [rip + exc_vector])
    CHECK_EQ("#PF read not-present error code", 0, qword ptr [rip + exc_error])
    lea rax, [rip + .Lpfnp]
    CHECK_EQ("#PF read not-present rip", rax, qword ptr [rip + exc_rip])
    CHECK_EQ("#PF read not-present cr2", rbx, qword ptr [rip + exc_cr2])

/* Supervisor write to a read-only page with CR0.WP=1: #PF, error code P=1 W/R=1 -> 3
 * (Vol 3A 4.6.1 "Determination of Access Rights": with WP=1 supervisor writes need R/W=1 at
 * every level; 4.7). The page is readable: a read through it sees what was written via the
 * identity map. */
    mov rax, cr0
    or rax, 0x10000                 /* CR0.WP */
    mov cr0, rax
    lea rax, [rip + pf_page]
    mov rcx, 0x0123456789ABCDEF
    mov [rax], rcx
    or rax, PTE_P | PTE_US          /* R/W = 0 */
    mov [rip + pt_pt_t + 8], rax
    mov rbx, TEST_VA + 0x1000
    invlpg [rbx]
    mov rax, [rbx]
    CHECK_EQ("read-only page is readable", 0x0123456789ABCDEF, rax)
    EXPECT_EXC .Lpfro_after
.Lpfro:
    mov dword ptr [rbx], 0x11223344
.Lpfro_after:
    CHECK_EQ("#PF write read-only (WP=1) vector", VEC_PF, qword ptr [rip + exc_vector])
    CHECK_EQ("#PF write read-only (WP=1) error code", PF_P | PF_W, qword ptr [rip + exc_error])
    lea rax, [rip + .Lpfro]
    CHECK_EQ("#PF write read-only (WP=1) rip", rax, qword ptr [rip + exc_rip])
    CHECK_EQ("#PF write read-only (WP=1) cr2", rbx, qword ptr [rip + exc_cr2])
    mov rax, [rip + pf_page]
    CHECK_EQ("#PF write read-only left memory unchanged", 0x0123456789ABCDEF, rax)

/* --- #DE ------------------------------------------------------------------------------------
 * DIV by zero and IDIV of INT64_MIN by -1 (quotient 2^63 does not fit): #DE, a fault (Vol 2A
 * "DIV", "IDIV": "#DE If the source operand (divisor) is 0. If the quotient is too large for
 * the designated register"; Vol 3A 6.15 "Interrupt 0-Divide Error Exception (#DE)"). */
    mov eax, 1
    xor edx, edx
    xor ecx, ecx
    EXPECT_EXC .Ldiv_after
.Ldiv:
    div rcx
.Ldiv_after:
    CHECK_EQ("#DE div by zero vector", VEC_DE, qword ptr [rip + exc_vector])
    lea rax, [rip + .Ldiv]
    CHECK_EQ("#DE div by zero rip", rax, qword ptr [rip + exc_rip])

    mov rax, 0x8000000000000000
    cqo                             /* RDX:RAX = -2^63 */
    mov rcx, -1
    EXPECT_EXC .Lidiv_after
.Lidiv:
    idiv rcx
.Lidiv_after:
    CHECK_EQ("#DE idiv INT64_MIN/-1 vector", VEC_DE, qword ptr [rip + exc_vector])
    lea rax, [rip + .Lidiv]
    CHECK_EQ("#DE idiv INT64_MIN/-1 rip", rax, qword ptr [rip + exc_rip])

/* --- #BP ------------------------------------------------------------------------------------
 * INT3 (CC) is a trap: the saved RIP points to the instruction following INT3 (Vol 3A 6.15
 * "Interrupt 3-Breakpoint Exception (#BP)"). */
    EXPECT_TRAP
    int3
.Lint3_after:
    CHECK_EQ("#BP int3 vector", VEC_BP, qword ptr [rip + exc_vector])
    lea rax, [rip + .Lint3_after]
    CHECK_EQ("#BP int3 rip after int3", rax, qword ptr [rip + exc_rip])

/* --- #DB single step --------------------------------------------------------------------------
 * POPF setting TF: the single-step trap comes after the instruction following POPF, not after
 * POPF itself; it is a trap, so the saved RIP is the next instruction; DR6.BS (bit 14) is set
 * (Vol 3A 17.3.1.4 "Single-Step Exception Condition", 17.2.3 "Debug Status Register (DR6)").
 * The handler clears TF in the saved RFLAGS. */
    xor eax, eax
    mov dr6, rax
    EXPECT_TRAP
    pushfq
    or qword ptr [rsp], 0x100
    popfq
    nop
.Ldb_after:
    CHECK_EQ("#DB single-step vector", VEC_DB, qword ptr [rip + exc_vector])
    lea rax, [rip + .Ldb_after]
    CHECK_EQ("#DB single-step rip after the instruction following popf", rax, qword ptr [rip + exc_rip])
    mov rax, dr6
    and eax, 0x4000
    CHECK_EQ("#DB single-step dr6.bs", 0x4000, rax)

/* --- #NM ------------------------------------------------------------------------------------
 * CR0.TS=1 and an SSE instruction: #NM, a fault with no error code (Vol 3A 2.5 "Control
 * Registers" (TS); 6.15 "Interrupt 7-Device Not Available Exception (#NM)"). After CLTS the
 * same instruction runs (an exception there would be reported as unexpected). */
    mov rax, cr0
    or rax, 8                       /* CR0.TS */
    mov cr0, rax
    EXPECT_EXC .Lnm_after
.Lnm:
    addps xmm0, xmm1
.Lnm_after:
    clts
    addps xmm0, xmm1
    CHECK_EQ("#NM sse with cr0.ts vector", VEC_NM, qword ptr [rip + exc_vector])
    lea rax, [rip + .Lnm]
    CHECK_EQ("#NM sse with cr0.ts rip", rax, qword ptr [rip + exc_rip])

/* --- INT n --------------------------------------------------------------------------------------
 * INT 0x41 through a DPL0 interrupt gate at CPL0: vector 0x41, saved RIP = next instruction,
 * no privilege change so CS=0x08 SS=0x10 are pushed with the old RSP; in 64-bit mode the new
 * RSP is first aligned down to 16 bytes, so the 5-qword frame ends at (old RSP & ~0xF)
 * (Vol 3A 6.14.2 "64-Bit Mode Stack Frame"). RSP is made 8 mod 16 to see the alignment. */
    mov r12, rsp
    and rsp, -16
    sub rsp, 8
    mov r13, rsp
    EXPECT_TRAP
    int 0x41
.Lint41_after:
    mov rsp, r12
    CHECK_EQ("int 0x41 vector", 0x41, qword ptr [rip + exc_vector])
    lea rax, [rip + .Lint41_after]
    CHECK_EQ("int 0x41 rip after int", rax, qword ptr [rip + exc_rip])
    CHECK_EQ("int 0x41 saved cs", SEL_KCODE64, qword ptr [rip + exc_cs])
    CHECK_EQ("int 0x41 saved ss", SEL_KDATA, qword ptr [rip + exc_ss])
    CHECK_EQ("int 0x41 saved rsp", r13, qword ptr [rip + exc_rsp])
    mov rax, r13
    and rax, -16
    mov rcx, [rip + exc_frame]
    add rcx, 40
    CHECK_EQ("int 0x41 frame ends at rsp aligned down to 16", rax, rcx)

/* --- bad IDT entries ------------------------------------------------------------------------
 * INT n to a not-present gate: #NP with error code vector*8+2 (IDT flag set, EXT=0); the fault
 * is reported on the INT instruction (Vol 2A "INT n" Operation: "IF gate not present THEN
 * #NP((vector_number * 8) + 2 + EXT)"; Vol 3A 6.13). */
    mov edi, 0x90
    xor esi, esi
    call idt_set_present
    EXPECT_EXC .Lint90_after
.Lint90:
    int 0x90
.Lint90_after:
    CHECK_EQ("int to not-present gate: #NP vector", VEC_NP, qword ptr [rip + exc_vector])
    CHECK_EQ("int to not-present gate: error code 0x90*8+2", 0x90 * 8 + 2, qword ptr [rip + exc_error])
    lea rax, [rip + .Lint90]
    CHECK_EQ("int to not-present gate: rip", rax, qword ptr [rip + exc_rip])

/* INT n to an IDT entry that is not an interrupt or trap gate (here a 64-bit call gate, type
 * 0xC) in IA-32e mode: #GP(vector*8+2) (Vol 2A "INT n" Operation, IA-32e mode: "IF descriptor
 * type is not a 64-bit interrupt gate or 64-bit trap gate THEN #GP(error_code(vector_number,1,
 * EXT))"; Vol 3A 6.14.1: only interrupt and trap gates are allowed in the IDT in IA-32e mode). */
    lea rax, [rip + idt]
    mov byte ptr [rax + 0x91 * 16 + 5], 0x8C
    EXPECT_EXC .Lint91_after
.Lint91:
    int 0x91
.Lint91_after:
    CHECK_EQ("int to call-gate idt entry: #GP vector", VEC_GP, qword ptr [rip + exc_vector])
    CHECK_EQ("int to call-gate idt entry: error code 0x91*8+2", 0x91 * 8 + 2, qword ptr [rip + exc_error])
    lea rax, [rip + .Lint91]
    CHECK_EQ("int to call-gate idt entry: rip", rax, qword ptr [rip + exc_rip])

/* Every exception above was delivered exactly once. */
    CHECK_EQ("exception count", 19, qword ptr [rip + exc_count])

    call check_summary
    pop r13
    pop r12
    pop rbx
    ret

    .section .bss
    .balign 4096
pf_page:
    .skip 4096
    .balign 16
kstack:
    .skip 8192
kstack_top:

    .section .note.GNU-stack, "", @progbits
