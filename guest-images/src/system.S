/*
 * system.S - system behaviour that a second implementation can adjudicate: the same checks as
 * tests/system (vitest) where a guest can observe them, run on x86vmx and on QEMU (TCG, or KVM on
 * the host CPU) by tests/system/second-opinion.sh. Expected PASS lines: 92.
 *
 *   A. RF in the RFLAGS image of fault-class exceptions vs traps (Vol 3B 18.3.1.1)
 *   C. IST stack switch and alignment (Vol 3A 6.14.2, 6.14.5)
 *   F. #PF error codes for a reserved bit at MAXPHYADDR from CPUID.80000008H (Vol 3A 4.7)
 *   E. IRETQ: to compatibility mode, null-SS rules, SS checks (Vol 2A IRET, Vol 3A 6.14.3)
 *   B. EXT/IDT bits of the error code of a fault during delivery (Vol 3A 6.13; Vol 2A INT n)
 *   G. CPUID: leaves above the maximum; brand string; each feature bit against its instruction
 *   D. SYSCALL/SYSRET: RCX/R11/RFLAGS, selectors from IA32_STAR, #UD/#GP cases (Vol 2B)
 * in this order: the sections where a second implementation is likeliest to derail come last.
 *
 * The features checked in G are hardware-neutral: "the probe executes iff CPUID reports the
 * feature", so the same check passes on any correct processor, whatever it reports. No INT n or
 * INT3 is used (nested KVM on the development VM cannot emulate them, guest-images/README.md).
 * Section numbers are those of the Intel SDM 2016-2022 editions; later editions renumber some
 * chapters but keep the section titles.
 */
.intel_syntax noprefix
#include "lib/defs.h"
#include "lib/test.inc"

#define RF_BIT      0x10000
#define SLOT(n)     (TEST_VA + (n) * 0x1000)
#define PTE(n)      qword ptr [rip + pt_pt_t + (n) * 8]
#define GATE_SEL(v) word ptr [rip + idt + (v) * 16 + 2]
#define GATE_IST(v) byte ptr [rip + idt + (v) * 16 + 4]
#define MSR_EFER    0xC0000080
#define MSR_STAR    0xC0000081
#define MSR_LSTAR   0xC0000082
#define MSR_CSTAR   0xC0000083
#define MSR_FMASK   0xC0000084
#define FMASK       0x47700             /* TF DF IF IOPL NT AC (as Linux) */
#define USER_R11    0xFFFFFFFFFFFFFCFF  /* every RFLAGS bit but TF and IF */
#define USER_FLAGS  0x3C7CD7            /* (USER_R11 AND 3C7FD7H) OR 2 */
#define KERN_FLAGS  0x3808D7            /* USER_FLAGS AND NOT FMASK */

/* r12 = CPUID.(leaf, 0).reg[bit] */
.macro FEATURE leaf, reg, bit
    push rbx
    mov eax, \leaf
    xor ecx, ecx
    cpuid
    mov r12, \reg
    shr r12, \bit
    and r12d, 1
    pop rbx
.endm

/* rax = the vector a probe must raise: -1 (none) if r12 = 1, else \vec; disarms exc.S */
.macro EXPECTED vec
    mov rax, -1
    mov rcx, \vec
    test r12, r12
    cmovz rax, rcx
    mov qword ptr [rip + exc_expected], 0
.endm

/* Push an IRETQ frame: RIP = label, CS, RFLAGS = 2, RSP = the RSP before the frame, SS. */
.macro IRET_FRAME label, cs, ss
    mov rax, rsp
    push \ss
    push rax
    push 0x2
    push \cs
    lea rax, [rip + \label]
    push rax
.endm

    .section .text

flush_tlb:
    mov rax, cr3
    mov cr3, rax
    ret

    .globl main
main:
    push rbx
    push r12
    push r13
    push r14
    push r15
    PUTS "system: RF, EXT error codes, IST, SYSCALL/SYSRET, IRETQ, RSVD at MAXPHYADDR, CPUID features\n"
    lea rdi, [rip + kstack_top]
    call gdt_init
    call idt_init
    call pt_init
    call exc_log_reset

/* --- A. RF in the saved RFLAGS (Vol 3B 18.3.1.1 "Instruction-Breakpoint Exception Condition":
 * "For any fault-class exception except a debug exception generated in response to an
 * instruction breakpoint, the value pushed for RF is 1. ... For other cases, the value pushed
 * for RF is the value that was in EFLAGS.RF at the time the event handler was called."). */
    EXPECT_EXC .Lrf_ud_after
    ud2
.Lrf_ud_after:
    CHECK_EQ("#UD vector", VEC_UD, qword ptr [rip + exc_vector])
    mov rax, [rip + exc_rflags]
    and eax, RF_BIT
    CHECK_EQ("#UD (fault) frame has RF=1", RF_BIT, rax)

    mov rcx, 0x8000000000000000
    EXPECT_EXC .Lrf_gp_after
    mov rax, [rcx]
.Lrf_gp_after:
    CHECK_EQ("#GP non-canonical read vector", VEC_GP, qword ptr [rip + exc_vector])
    mov rax, [rip + exc_rflags]
    and eax, RF_BIT
    CHECK_EQ("#GP (fault) frame has RF=1", RF_BIT, rax)

    mov rcx, SLOT(0)                        /* the test space is not present */
    EXPECT_EXC .Lrf_pf_after
    mov rax, [rcx]
.Lrf_pf_after:
    CHECK_EQ("#PF not-present read vector", VEC_PF, qword ptr [rip + exc_vector])
    mov rax, [rip + exc_rflags]
    and eax, RF_BIT
    CHECK_EQ("#PF (fault) frame has RF=1", RF_BIT, rax)

    xor edx, edx
    xor ecx, ecx
    mov eax, 1
    EXPECT_EXC .Lrf_de_after
    div ecx
.Lrf_de_after:
    CHECK_EQ("#DE vector", VEC_DE, qword ptr [rip + exc_vector])
    mov rax, [rip + exc_rflags]
    and eax, RF_BIT
    CHECK_EQ("#DE (fault) frame has RF=1", RF_BIT, rax)

    EXPECT_TRAP
    push 0x102                              /* TF */
    popfq
    nop                                     /* single-step trap after this one */
    CHECK_EQ("single-step #DB vector", VEC_DB, qword ptr [rip + exc_vector])
    mov rax, [rip + exc_rflags]
    and eax, RF_BIT
    CHECK_EQ("single-step #DB (trap) frame has RF=0", 0, rax)

/* --- C. IST (Vol 3A 6.14.5 "Interrupt Stack Table"; 7.7 Figure 7-11: IST1 at TSS offset 24H):
 * a gate with IST = 1 switches to TSS.IST1 even without a privilege change; the new RSP is
 * aligned down to 16 (6.14.2); SS:RSP of the interrupted code are pushed. */
    lea rax, [rip + istack_top]
    add rax, 8                              /* misaligned on purpose */
    mov [rip + tss + 0x24], rax
    mov GATE_IST(VEC_UD), 1
    EXPECT_EXC .List_after
    ud2
.List_after:
    mov GATE_IST(VEC_UD), 0
    lea rax, [rip + istack_top]
    sub rax, 40                             /* RIP CS RFLAGS RSP SS below the aligned IST1 */
    CHECK_EQ("IST1: frame at (IST1 AND NOT 0FH) - 40", rax, qword ptr [rip + exc_frame])
    mov rax, rsp
    CHECK_EQ("IST1: saved RSP is the interrupted RSP", rax, qword ptr [rip + exc_rsp])
    CHECK_EQ("IST1: saved SS 0x10", SEL_KDATA, qword ptr [rip + exc_ss])

/* --- F. #PF error code for a reserved bit (Vol 3A 4.5 Table 4-19: bits 51:MAXPHYADDR of a PTE
 * are reserved; 4.7: P = 1, RSVD = 1, W/R and I/D as the access; I/D with NXE = 1). MAXPHYADDR
 * is CPUID.80000008H:EAX[7:0]. Bit MAXPHYADDR-1 is an address bit: no fault there. */
    push rbx
    mov eax, 0x80000008
    cpuid
    pop rbx
    movzx r13d, al
    PUTS "INFO MAXPHYADDR "
    mov rdi, r13
    call print_dec
    call print_nl
    mov ecx, r13d
    mov rax, 1
    shl rax, cl
    lea rdx, [rip + page_a]
    or rax, rdx
    or rax, PTE_P | PTE_RW
    mov PTE(1), rax
    call flush_tlb
    mov rbx, SLOT(1)
    EXPECT_EXC .Lrsvd_r_after
    mov rax, [rbx]
.Lrsvd_r_after:
    CHECK_EQ("PTE bit MAXPHYADDR set, read: #PF", VEC_PF, qword ptr [rip + exc_vector])
    CHECK_EQ("... error code P|RSVD", PF_P | PF_RSVD, qword ptr [rip + exc_error])
    CHECK_EQ("... cr2", rbx, qword ptr [rip + exc_cr2])
    EXPECT_EXC .Lrsvd_w_after
    mov [rbx], rax
.Lrsvd_w_after:
    CHECK_EQ("PTE bit MAXPHYADDR set, write: #PF(P|W|RSVD)", PF_P | PF_W | PF_RSVD, qword ptr [rip + exc_error])
    EXPECT_EXC .Lrsvd_x_after
    jmp rbx
.Lrsvd_x_after:
    CHECK_EQ("PTE bit MAXPHYADDR set, fetch: #PF(P|RSVD|I/D)", PF_P | PF_RSVD | PF_ID, qword ptr [rip + exc_error])
    CHECK_EQ("... saved RIP = the fetch address", rbx, qword ptr [rip + exc_rip])
    lea ecx, [r13 - 1]
    mov rax, 1
    shl rax, cl
    or rax, PTE_P | PTE_RW
    mov PTE(2), rax
    call flush_tlb
    mov rbx, SLOT(2)
    EXPECT_EXC .Laddrbit_after
    mov rax, [rbx]
.Laddrbit_after:
    mov qword ptr [rip + exc_expected], 0
    CHECK_EQ("PTE bit MAXPHYADDR-1 is an address bit: no #PF", -1, qword ptr [rip + exc_vector])
    mov PTE(3), 0
    call flush_tlb
    mov rbx, SLOT(3)
    EXPECT_EXC .Lnp_x_after
    jmp rbx
.Lnp_x_after:
    CHECK_EQ("fetch from a not-present page with NXE = 1: #PF(I/D)", PF_ID, qword ptr [rip + exc_error])

/* --- E. IRETQ (Vol 2A IRET/IRETD/IRETQ, Operation IA-32e-MODE and "64-Bit Mode Exceptions";
 * Vol 3A 6.14.3 "IRET in IA-32e Mode": IRETQ pops SS:RSP unconditionally in 64-bit mode). */
    /* To compatibility mode at CPL 0: 32-bit code runs, then a far jump comes back. */
    mov [rip + saved_ksp], rsp
    IRET_FRAME compat_k, SEL_KCODE32, SEL_KDATA
    iretq
.Liret_compat_back:
    mov rsp, [rip + saved_ksp]
    CHECK_EQ("IRETQ to a 32-bit code segment: compatibility-mode code ran", 0xC0DE0018, qword ptr [rip + compat_k_eax])

    /* Same privilege, 64-bit, SS = 0 (null, RPL 0 = CPL): allowed; RSP and SS are popped. */
    mov [rip + saved_ksp], rsp
    IRET_FRAME .Liret_nullss, SEL_KCODE64, 0
    iretq
.Liret_nullss:
    mov rax, ss
    CHECK_EQ("IRETQ to CPL 0 with a null SS (RPL 0): SS = 0", 0, rax)
    mov rax, rsp
    CHECK_EQ("... RSP popped", qword ptr [rip + saved_ksp], rax)
    mov eax, SEL_KDATA
    mov ss, eax

    /* Faulting cases: the #GP comes before anything changes. A hook on #GP and #UD brings the
     * CPU back to ring 0 in 64-bit mode whatever happened, so that an implementation that
     * wrongly completes the IRETQ (and lands on the UD2 at .Liret_bad) does not derail the run. */
    mov edi, VEC_GP
    lea rsi, [rip + to_ring0]
    call idt_set_hook
    mov edi, VEC_UD
    lea rsi, [rip + to_ring0]
    call idt_set_hook
    /* Same privilege (CPL 0) to a 32-bit code segment with SS = 0: the Operation section's
     * RETURN-TO-SAME-PRIVILEGE-LEVEL makes no SS check, the exception table lists "#GP(0) If the
     * stack segment selector is NULL going back to compatibility mode"; hardware (KVM) and QEMU
     * TCG both complete the IRETQ (landing on the UD2 at .Liret_bad), and so does x86vmx. */
    mov qword ptr [rip + hook_vector], -1
    mov qword ptr [rip + hook_error], -1
    lea rax, [rip + .Lir0_after]
    mov [rip + hook_resume], rax
    mov [rip + saved_ksp], rsp
    IRET_FRAME .Liret_bad, SEL_KCODE32, 0
    iretq
.Lir0_after:
    CHECK_EQ("IRETQ at CPL 0 to CPL-0 compatibility mode with a null SS completes (#UD from the UD2 there)", VEC_UD, qword ptr [rip + hook_vector])
    CHECK_EQ("... in compatibility mode: saved CS 0x18", SEL_KCODE32, qword ptr [rip + hook_cs])
    mov qword ptr [rip + hook_vector], -1
    mov qword ptr [rip + hook_error], -1
    lea rax, [rip + .Lir1_after]
    mov [rip + hook_resume], rax
    mov [rip + saved_ksp], rsp
    IRET_FRAME .Liret_bad, SEL_KCODE64, 1
    iretq
.Lir1_after:
    CHECK_EQ("IRETQ to CPL 0 with a null SS of RPL 1: #GP(0)", VEC_GP, qword ptr [rip + hook_vector])
    CHECK_EQ("... error code", 0, qword ptr [rip + hook_error])
    mov qword ptr [rip + hook_vector], -1
    mov qword ptr [rip + hook_error], -1
    lea rax, [rip + .Lir2_after]
    mov [rip + hook_resume], rax
    mov [rip + saved_ksp], rsp
    IRET_FRAME .Liret_bad, SEL_UCODE64 | 3, 3
    iretq
.Lir2_after:
    CHECK_EQ("IRETQ to CPL 3 with a null SS: #GP(0)", VEC_GP, qword ptr [rip + hook_vector])
    CHECK_EQ("... error code", 0, qword ptr [rip + hook_error])
    mov qword ptr [rip + hook_vector], -1
    mov qword ptr [rip + hook_error], -1
    lea rax, [rip + .Lir3_after]
    mov [rip + hook_resume], rax
    mov [rip + saved_ksp], rsp
    IRET_FRAME .Liret_bad, SEL_UCODE64 | 3, SEL_UDATA | 2
    iretq
.Lir3_after:
    CHECK_EQ("IRETQ with SS RPL 2 != CS RPL 3: #GP(0x20)", VEC_GP, qword ptr [rip + hook_vector])
    CHECK_EQ("... error code", SEL_UDATA, qword ptr [rip + hook_error])
    mov qword ptr [rip + hook_vector], -1
    mov qword ptr [rip + hook_error], -1
    lea rax, [rip + .Lir4_after]
    mov [rip + hook_resume], rax
    mov [rip + saved_ksp], rsp
    IRET_FRAME .Liret_bad, SEL_UCODE64 | 3, SEL_KDATA | 3
    iretq
.Lir4_after:
    CHECK_EQ("IRETQ with SS DPL 0 != RPL 3: #GP(0x10)", VEC_GP, qword ptr [rip + hook_vector])
    CHECK_EQ("... error code", SEL_KDATA, qword ptr [rip + hook_error])
    mov edi, VEC_GP
    xor esi, esi
    call idt_set_hook
    mov edi, VEC_UD
    xor esi, esi
    call idt_set_hook

/* --- B. Error codes of a fault during delivery (Vol 3A 6.13 "Error Code": EXT "indicates that
 * the exception occurred during delivery of an event external to the program, such as an
 * interrupt or an earlier exception"; IDT = the index names an IDT gate. Vol 2A INT n Operation,
 * TRAP-OR-INTERRUPT-GATE: #GP(error_code(new code-segment selector,0,EXT)); PROTECTED-MODE and
 * IA-32e-MODE: #NP(error_code(vector_number,1,EXT))). The first event is the single-step #DB
 * after a NOP (a benign exception, so the second is delivered normally, Table 6-5; the saved RIP
 * is the one the trap would have pushed, after the NOP). (#DB rather than #UD or #NM: KVM
 * intercepts #UD and the nested KVM of the development VM fails on #NM; it leaves #DB alone.)
 * #DB, #GP, #NP and #DF go through the to_ring0 hook, which records whatever arrives and resumes
 * at CPL 0 with RFLAGS = 2 (TF clear). */
    mov edi, VEC_DB
    lea rsi, [rip + to_ring0]
    call idt_set_hook
    mov edi, VEC_GP
    lea rsi, [rip + to_ring0]
    call idt_set_hook
    mov edi, VEC_NP
    lea rsi, [rip + to_ring0]
    call idt_set_hook
    mov edi, VEC_DF
    lea rsi, [rip + to_ring0]
    call idt_set_hook
    mov GATE_SEL(VEC_DB), 0x48   /* beyond GDT_LIMIT (0x47) */
    mov qword ptr [rip + hook_vector], -1
    mov qword ptr [rip + hook_error], -1
    lea rax, [rip + .Lext0_after]
    mov [rip + hook_resume], rax
    mov [rip + saved_ksp], rsp
    push 0x102                              /* TF */
    popfq
    nop                                     /* single-step trap after this one */
.Lext0_after:
    CHECK_EQ("#DB through a gate whose selector is beyond the GDT limit: #GP", VEC_GP, qword ptr [rip + hook_vector])
    CHECK_EQ("... error code 0x48 + EXT = 0x49", 0x49, qword ptr [rip + hook_error])
    lea rax, [rip + .Lext0_after]
    CHECK_EQ("... saved RIP = after the NOP, as the trap would have pushed", rax, qword ptr [rip + hook_rip])
    mov GATE_SEL(VEC_DB), SEL_NOTPRESENT   /* 0x40, a data segment */
    mov qword ptr [rip + hook_vector], -1
    mov qword ptr [rip + hook_error], -1
    lea rax, [rip + .Lext1_after]
    mov [rip + hook_resume], rax
    mov [rip + saved_ksp], rsp
    push 0x102                              /* TF */
    popfq
    nop                                     /* single-step trap after this one */
.Lext1_after:
    CHECK_EQ("#DB through a gate naming a data segment: #GP", VEC_GP, qword ptr [rip + hook_vector])
    CHECK_EQ("... error code 0x40 + EXT = 0x41", 0x41, qword ptr [rip + hook_error])
    mov GATE_SEL(VEC_DB), SEL_UCODE64   /* 0x28: DPL 3 > CPL 0 */
    mov qword ptr [rip + hook_vector], -1
    mov qword ptr [rip + hook_error], -1
    lea rax, [rip + .Lext2_after]
    mov [rip + hook_resume], rax
    mov [rip + saved_ksp], rsp
    push 0x102                              /* TF */
    popfq
    nop                                     /* single-step trap after this one */
.Lext2_after:
    CHECK_EQ("#DB through a gate naming DPL-3 code at CPL 0: #GP", VEC_GP, qword ptr [rip + hook_vector])
    CHECK_EQ("... error code 0x28 + EXT = 0x29", 0x29, qword ptr [rip + hook_error])
    mov GATE_SEL(VEC_DB), SEL_KCODE64
    mov edi, VEC_DB
    xor esi, esi
    call idt_set_present
    mov qword ptr [rip + hook_vector], -1
    mov qword ptr [rip + hook_error], -1
    lea rax, [rip + .Lext3_after]
    mov [rip + hook_resume], rax
    mov [rip + saved_ksp], rsp
    push 0x102                              /* TF */
    popfq
    nop                                     /* single-step trap after this one */
.Lext3_after:
    CHECK_EQ("#DB through a not-present gate: #NP", VEC_NP, qword ptr [rip + hook_vector])
    CHECK_EQ("... error code 1*8 + IDT + EXT = 0x0b", 0x0b, qword ptr [rip + hook_error])
    mov edi, VEC_DB
    mov esi, 1
    call idt_set_present
    mov qword ptr [rip + hook_vector], -1
    lea rax, [rip + .Lext_ok_after]
    mov [rip + hook_resume], rax
    mov [rip + saved_ksp], rsp
    push 0x102
    popfq
    nop
.Lext_ok_after:
    CHECK_EQ("#DB with the gate restored", VEC_DB, qword ptr [rip + hook_vector])
    mov edi, VEC_DB
    xor esi, esi
    call idt_set_hook
    mov edi, VEC_GP
    xor esi, esi
    call idt_set_hook
    mov edi, VEC_NP
    xor esi, esi
    call idt_set_hook
    mov edi, VEC_DF
    xor esi, esi
    call idt_set_hook

/* --- G. CPUID (Vol 2A CPUID). (INFO: the vendor string, EBX EDX ECX of leaf 0.) */
    xor edi, edi
    lea rsi, [rip + cpuid_tmp]
    call cpuid_store
    PUTS "INFO vendor "
    mov ecx, 4
    lea rsi, [rip + cpuid_tmp + 4]
    call put_chars
    mov ecx, 4
    lea rsi, [rip + cpuid_tmp + 12]
    call put_chars
    mov ecx, 4
    lea rsi, [rip + cpuid_tmp + 8]
    call put_chars
    call print_nl
/* "If a value entered for CPUID.EAX is higher than the maximum
 * input value for basic or extended function for that processor then the data for the highest
 * basic information leaf is returned." The brand string is null-terminated. */
    push rbx
    xor eax, eax
    cpuid
    pop rbx
    mov r14d, eax                           /* maximum basic leaf */
    mov edi, r14d
    lea rsi, [rip + cpuid_top]
    call cpuid_store
    lea edi, [r14 + 1]
    lea rsi, [rip + cpuid_tmp]
    call cpuid_store
    CHECK_EQ("CPUID(max basic + 1) = CPUID(max basic): EAX EBX", qword ptr [rip + cpuid_top], qword ptr [rip + cpuid_tmp])
    CHECK_EQ("CPUID(max basic + 1) = CPUID(max basic): ECX EDX", qword ptr [rip + cpuid_top + 8], qword ptr [rip + cpuid_tmp + 8])
    push rbx
    mov eax, 0x80000000
    cpuid
    pop rbx
    mov r15d, eax                           /* maximum extended leaf */
    lea edi, [r15 + 1]
    lea rsi, [rip + cpuid_tmp]
    call cpuid_store
    CHECK_EQ("CPUID(max extended + 1) = CPUID(max basic): EAX EBX", qword ptr [rip + cpuid_top], qword ptr [rip + cpuid_tmp])
    CHECK_EQ("CPUID(max extended + 1) = CPUID(max basic): ECX EDX", qword ptr [rip + cpuid_top + 8], qword ptr [rip + cpuid_tmp + 8])
    mov edi, 0x80000004
    lea rsi, [rip + cpuid_tmp]
    call cpuid_store
    movzx eax, byte ptr [rip + cpuid_tmp + 15]
    CHECK_EQ("brand string byte 47 is NUL", 0, rax)

    /* Each feature: the probe raises the given vector iff the feature bit is 0. */
    lea rsi, [rip + probe_buf]
    FEATURE 1, rdx, 0
    EXPECT_EXC 1f
    fninit
1:  EXPECTED VEC_UD
    CHECK_EQ("FPU (CPUID.01H:EDX[0]): FNINIT #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 1, rdx, 23
    EXPECT_EXC 1f
    .byte 0x0F, 0x6F, 0xC1                  /* movq mm0, mm1 */
1:  EXPECTED VEC_UD
    CHECK_EQ("MMX (CPUID.01H:EDX[23]): MOVQ mm #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 1, rdx, 19
    EXPECT_EXC 1f
    .byte 0x0F, 0xAE, 0x3E                  /* clflush [rsi] */
1:  EXPECTED VEC_UD
    CHECK_EQ("CLFSH (CPUID.01H:EDX[19]): CLFLUSH #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 1, rcx, 0
    EXPECT_EXC 1f
    .byte 0xF2, 0x0F, 0x12, 0xC1            /* movddup xmm0, xmm1 */
1:  EXPECTED VEC_UD
    CHECK_EQ("SSE3 (CPUID.01H:ECX[0]): MOVDDUP #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 1, rcx, 9
    EXPECT_EXC 1f
    .byte 0x66, 0x0F, 0x38, 0x00, 0xC1      /* pshufb xmm0, xmm1 */
1:  EXPECTED VEC_UD
    CHECK_EQ("SSSE3 (CPUID.01H:ECX[9]): PSHUFB #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 1, rcx, 13
    EXPECT_EXC 1f
    .byte 0x48, 0x0F, 0xC7, 0x0E            /* cmpxchg16b [rsi] */
1:  EXPECTED VEC_UD
    CHECK_EQ("CX16 (CPUID.01H:ECX[13]): CMPXCHG16B #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 1, rcx, 22
    EXPECT_EXC 1f
    .byte 0x0F, 0x38, 0xF0, 0x06            /* movbe eax, [rsi] */
1:  EXPECTED VEC_UD
    CHECK_EQ("MOVBE (CPUID.01H:ECX[22]): MOVBE #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 1, rcx, 23
    EXPECT_EXC 1f
    .byte 0xF3, 0x0F, 0xB8, 0xC1            /* popcnt eax, ecx */
1:  EXPECTED VEC_UD
    CHECK_EQ("POPCNT (CPUID.01H:ECX[23]): POPCNT #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 1, rcx, 30
    EXPECT_EXC 1f
    .byte 0x0F, 0xC7, 0xF0                  /* rdrand eax */
1:  EXPECTED VEC_UD
    CHECK_EQ("RDRAND (CPUID.01H:ECX[30]): RDRAND #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 7, rbx, 3
    EXPECT_EXC 1f
    .byte 0xC4, 0xE2, 0x70, 0xF2, 0xC2      /* andn eax, ecx, edx */
1:  EXPECTED VEC_UD
    CHECK_EQ("BMI1 (CPUID.(7,0):EBX[3]): ANDN #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 7, rbx, 19
    EXPECT_EXC 1f
    .byte 0x66, 0x0F, 0x38, 0xF6, 0xC1      /* adcx eax, ecx */
1:  EXPECTED VEC_UD
    CHECK_EQ("ADX (CPUID.(7,0):EBX[19]): ADCX #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 7, rbx, 18
    EXPECT_EXC 1f
    .byte 0x0F, 0xC7, 0xF8                  /* rdseed eax */
1:  EXPECTED VEC_UD
    CHECK_EQ("RDSEED (CPUID.(7,0):EBX[18]): RDSEED #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 0x80000001, rcx, 0
    EXPECT_EXC 1f
    lahf
1:  EXPECTED VEC_UD
    CHECK_EQ("LAHF-SAHF (CPUID.80000001H:ECX[0]): LAHF in 64-bit mode #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 0x80000001, rdx, 27
    EXPECT_EXC 1f
    rdtscp
1:  EXPECTED VEC_UD
    CHECK_EQ("RDTSCP (CPUID.80000001H:EDX[27]): RDTSCP #UD iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 0x80000001, rdx, 11
    CHECK_EQ("SYSCALL (CPUID.80000001H:EDX[11]) reported: section D executed SYSCALL in 64-bit mode", 1, r12)
    FEATURE 0x80000001, rcx, 5
    mov eax, 0x1234
    xor ecx, ecx
    .byte 0xF3, 0x0F, 0xBD, 0xC1            /* lzcnt eax, ecx */
    mov r8, rax                             /* without LZCNT this is BSR of 0 (destination undefined): accepted */
    mov ecx, 32
    test r12, r12
    cmovnz r8, rcx
    CHECK_EQ("LZCNT (CPUID.80000001H:ECX[5]): F3 0F BD of 0 gives 32 iff reported", r8, rax)
    /* CR4 bits of features the processor lacks are reserved: MOV to CR4 is #GP(0) (Vol 3A 2.5) */
    /* (not SMEP: every page here is a user page, so CR4.SMEP = 1 would stop the very next fetch) */
    FEATURE 7, rcx, 2
    mov r13, cr4
    mov rax, r13
    bts rax, 11
    EXPECT_EXC 1f
    mov cr4, rax
    mov cr4, r13
1:  EXPECTED VEC_GP
    CHECK_EQ("UMIP (CPUID.(7,0):ECX[2]): setting CR4.UMIP #GP iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 7, rbx, 0
    mov r13, cr4
    mov rax, r13
    bts rax, 16
    EXPECT_EXC 1f
    mov cr4, rax
    mov cr4, r13
1:  EXPECTED VEC_GP
    CHECK_EQ("FSGSBASE (CPUID.(7,0):EBX[0]): setting CR4.FSGSBASE #GP iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 1, rcx, 26
    mov r13, cr4
    mov rax, r13
    bts rax, 18
    EXPECT_EXC 1f
    mov cr4, rax
    mov cr4, r13
1:  EXPECTED VEC_GP
    CHECK_EQ("XSAVE (CPUID.01H:ECX[26]): setting CR4.OSXSAVE #GP iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 7, rbx, 20
    mov r13, cr4
    mov rax, r13
    bts rax, 21
    EXPECT_EXC 1f
    mov cr4, rax
    mov cr4, r13
1:  EXPECTED VEC_GP
    CHECK_EQ("SMAP (CPUID.(7,0):EBX[20]): setting CR4.SMAP #GP iff absent", rax, qword ptr [rip + exc_vector])
    /* MSRs of features the processor lacks do not exist: RDMSR is #GP(0) (Vol 2B RDMSR) */
    FEATURE 1, rdx, 16
    EXPECT_EXC 1f
    mov ecx, 0x277
    rdmsr
1:  EXPECTED VEC_GP
    CHECK_EQ("PAT (CPUID.01H:EDX[16]): RDMSR IA32_PAT #GP iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 1, rdx, 12
    EXPECT_EXC 1f
    mov ecx, 0x200
    rdmsr
1:  EXPECTED VEC_GP
    CHECK_EQ("MTRR (CPUID.01H:EDX[12]): RDMSR IA32_MTRR_PHYSBASE0 #GP iff absent", rax, qword ptr [rip + exc_vector])
    FEATURE 1, rdx, 14
    EXPECT_EXC 1f
    mov ecx, 0x179
    rdmsr
1:  EXPECTED VEC_GP
    CHECK_EQ("MCA (CPUID.01H:EDX[14]): RDMSR IA32_MCG_CAP #GP iff absent", rax, qword ptr [rip + exc_vector])

/* --- D. (last: the nested KVM of the development VM derails here) SYSCALL / SYSRET (Vol 2B SYSCALL and SYSRET, Operation; Vol 3A 5.8.8). STAR[47:32] =
 * 08H (SYSCALL: CS 08H, SS 10H), STAR[63:48] = 18H (SYSRET: 64-bit CS (18H+16)|3 = 2BH, SS
 * (18H+8)|3 = 23H; 32-bit CS 18H|3 = 1BH). SYSRET loads RFLAGS = (R11 AND 3C7FD7H) OR 2; the
 * ring-3 code reads RFLAGS, CS and SS, tries SYSRET (#GP(0): CPL 3) and executes SYSCALL, which
 * sets RCX = RIP of the next instruction, R11 = RFLAGS, RFLAGS = RFLAGS AND NOT IA32_FMASK,
 * RIP = IA32_LSTAR, without touching RSP. */
    mov ecx, MSR_STAR
    xor eax, eax
    mov edx, 0x00180008
    wrmsr
    mov ecx, MSR_LSTAR
    lea rax, [rip + syscall_entry]
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov ecx, MSR_FMASK
    mov eax, FMASK
    xor edx, edx
    wrmsr
    mov ecx, MSR_CSTAR                      /* not used by Intel processors; a #UD landing if it is */
    lea rax, [rip + .Liret_bad]
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov [rip + saved_ksp], rsp
    lea rcx, [rip + sys_user]
    mov r11, USER_R11
    .byte 0x48, 0x0F, 0x07                  /* sysretq */
.Lsys_back:                                 /* syscall_entry continues here at CPL 0 */
    mov rsp, [rip + saved_ksp]
    CHECK_EQ("SYSRET: ring-3 CS (STAR[63:48]+16)|3 = 0x2b", SEL_UCODE64 | 3, qword ptr [rip + u_cs])
    CHECK_EQ("SYSRET: ring-3 SS (STAR[63:48]+8)|3 = 0x23", SEL_UDATA | 3, qword ptr [rip + u_ss])
    CHECK_EQ("SYSRET: RFLAGS = (R11 AND 3C7FD7H) OR 2", USER_FLAGS, qword ptr [rip + u_rflags])
    CHECK_EQ("SYSRET at CPL 3: #GP", VEC_GP, qword ptr [rip + u_exc_vector])
    CHECK_EQ("SYSRET at CPL 3: error code 0", 0, qword ptr [rip + u_exc_error])
    lea rax, [rip + .Lu_after_syscall]
    CHECK_EQ("SYSCALL: RCX = RIP of the next instruction", rax, qword ptr [rip + k_rcx])
    CHECK_EQ("SYSCALL: R11 = RFLAGS", USER_FLAGS, qword ptr [rip + k_r11])
    CHECK_EQ("SYSCALL: RFLAGS = RFLAGS AND NOT IA32_FMASK", KERN_FLAGS, qword ptr [rip + k_rflags])
    CHECK_EQ("SYSCALL: CS = STAR[47:32] = 0x08", SEL_KCODE64, qword ptr [rip + k_cs])
    CHECK_EQ("SYSCALL: SS = STAR[47:32]+8 = 0x10", SEL_KDATA, qword ptr [rip + k_ss])
    CHECK_EQ("SYSCALL: RSP unchanged", qword ptr [rip + saved_ksp], qword ptr [rip + k_rsp])
    push 0x2
    popfq

    /* SYSRET with a non-canonical RCX: #GP(0) at CPL 0, nothing changed ("#GP(0) If the return
     * is to 64-bit mode and RCX contains a non-canonical address").
     * The #GP goes through a hook that always resumes at CPL 0, so that an implementation which
     * returns to ring 3 and faults there does not derail the rest of the run. */
    mov edi, VEC_GP
    lea rsi, [rip + to_ring0]
    call idt_set_hook
    lea rax, [rip + .Lsr_nc_after]
    mov [rip + hook_resume], rax
    mov [rip + saved_ksp], rsp
    mov rcx, 0x0000800000000000
    mov r11, 0x2
.Lsr_nc:
    .byte 0x48, 0x0F, 0x07
.Lsr_nc_after:
    mov rsp, [rip + saved_ksp]
    mov edi, VEC_GP
    xor esi, esi
    call idt_set_hook
    CHECK_EQ("SYSRET non-canonical RCX: #GP", VEC_GP, qword ptr [rip + hook_vector])
    CHECK_EQ("... error code 0", 0, qword ptr [rip + hook_error])
    CHECK_EQ("... delivered at CPL 0 (saved CS 0x08)", SEL_KCODE64, qword ptr [rip + hook_cs])
    lea rax, [rip + .Lsr_nc]
    CHECK_EQ("... saved RIP = the SYSRET", rax, qword ptr [rip + hook_rip])

    /* IA32_EFER.SCE = 0: SYSCALL is #UD */
    mov ecx, MSR_EFER
    rdmsr
    and eax, ~1
    wrmsr
    EXPECT_EXC .Lsce_after
    syscall
.Lsce_after:
    CHECK_EQ("SYSCALL with EFER.SCE = 0: #UD", VEC_UD, qword ptr [rip + exc_vector])
    mov ecx, MSR_EFER
    rdmsr
    or eax, 1
    wrmsr

    /* SYSRET without REX.W: compatibility mode at ECX with CS = STAR[63:48]|3; there SYSCALL is #UD
     * ("IF (CS.L != 1) or (IA32_EFER.LMA != 1) or (IA32_EFER.SCE != 1) THEN #UD"); the #UD hook
     * returns to ring 0. */
    mov edi, VEC_UD
    lea rsi, [rip + to_ring0]
    call idt_set_hook
    lea rax, [rip + .Lcompat_back]
    mov [rip + hook_resume], rax
    mov [rip + saved_ksp], rsp
    lea rcx, [rip + compat_user]
    mov r11, 0x2
    .byte 0x0F, 0x07                        /* sysret (32-bit) */
.Lcompat_back:
    mov rsp, [rip + saved_ksp]
    mov edi, VEC_UD
    xor esi, esi
    call idt_set_hook
    CHECK_EQ("SYSRET (32-bit operand size) then compat-mode SYSCALL: #UD", VEC_UD, qword ptr [rip + hook_vector])
    CHECK_EQ("... saved CS = STAR[63:48]|3 = 0x1b", SEL_KCODE32 | 3, qword ptr [rip + hook_cs])
    lea rax, [rip + compat_syscall]
    CHECK_EQ("... saved RIP = the SYSCALL (RIP was ECX)", rax, qword ptr [rip + hook_rip])
    CHECK_EQ("... the 32-bit code ran (EAX)", 0xC0DE0032, qword ptr [rip + hook_rax])

    call check_summary
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    ret

/* put_chars(RSI = bytes, ECX = count): print them on the serial port. */
put_chars:
    push rdi
1:  movzx edi, byte ptr [rsi]
    call serial_putc
    inc rsi
    dec ecx
    jnz 1b
    pop rdi
    ret

/* cpuid_store(EDI = leaf, RSI = 16-byte buffer): EAX EBX ECX EDX of CPUID(leaf, 0). */
cpuid_store:
    push rbx
    mov eax, edi
    xor ecx, ecx
    cpuid
    mov [rsi], eax
    mov [rsi + 4], ebx
    mov [rsi + 8], ecx
    mov [rsi + 12], edx
    pop rbx
    ret

/* Exception hook: record vector, error code, CS, RIP and EAX, then return to [hook_resume] at
 * CPL 0 in 64-bit mode with RSP = saved_ksp. */
to_ring0:
    mov rax, [rdi + F_VECTOR]
    mov [rip + hook_vector], rax
    mov rax, [rdi + F_ERROR]
    mov [rip + hook_error], rax
    mov rax, [rdi + F_CS]
    mov [rip + hook_cs], rax
    mov rax, [rdi + F_RIP]
    mov [rip + hook_rip], rax
    mov eax, [rdi + F_RAX]                  /* the 32-bit code set EAX only */
    mov [rip + hook_rax], rax
    mov rax, [rip + hook_resume]
    mov [rdi + F_RIP], rax
    mov qword ptr [rdi + F_CS], SEL_KCODE64
    mov qword ptr [rdi + F_RFLAGS], 0x2
    mov rax, [rip + saved_ksp]
    mov [rdi + F_RSP], rax
    mov qword ptr [rdi + F_SS], SEL_KDATA
    ret

/* IA32_LSTAR target at CPL 0 (section D): record and continue in main. */
syscall_entry:
    mov [rip + k_rsp], rsp
    mov [rip + k_rcx], rcx
    mov [rip + k_r11], r11
    pushfq
    pop rax
    mov [rip + k_rflags], rax
    mov rax, cs
    mov [rip + k_cs], rax
    mov rax, ss
    mov [rip + k_ss], rax
    jmp .Lsys_back

/* Ring-3 code of section D (identity-mapped .text, U=1). */
sys_user:
    pushfq
    pop rax
    mov [rip + u_rflags], rax
    mov rax, cs
    mov [rip + u_cs], rax
    mov rax, ss
    mov [rip + u_ss], rax
    EXPECT_EXC .Lu_sysret_after
    .byte 0x48, 0x0F, 0x07                  /* sysretq at CPL 3: #GP(0) */
.Lu_sysret_after:
    mov rax, [rip + exc_vector]
    mov [rip + u_exc_vector], rax
    mov rax, [rip + exc_error]
    mov [rip + u_exc_error], rax
    syscall
.Lu_after_syscall:
    ud2                                     /* not reached: SYSCALL goes to syscall_entry */

    .code32
/* Compatibility mode at CPL 3, entered by the 32-bit SYSRET of section D. */
compat_user:
    mov eax, 0xC0DE0032
compat_syscall:
    syscall                                 /* #UD on Intel: SYSCALL needs 64-bit mode */
    ud2

/* Compatibility mode at CPL 0, entered by IRETQ (section E); far jump back to 64-bit code. */
compat_k:
    mov dword ptr [compat_k_eax], 0xC0DE0018
    .byte 0xEA                              /* jmp far 08H:.Liret_compat_back */
    .long .Liret_compat_back
    .word SEL_KCODE64
    .code64

.Liret_bad:
    ud2                                     /* an IRETQ that should have faulted did not; IA32_CSTAR */

    .section .data
    .balign 8
saved_ksp:        .quad 0
u_cs:             .quad -1
u_ss:             .quad -1
u_rflags:         .quad -1
u_exc_vector:     .quad -1
u_exc_error:      .quad -1
k_rcx:            .quad -1
k_r11:            .quad -1
k_rflags:         .quad -1
k_cs:             .quad -1
k_ss:             .quad -1
k_rsp:            .quad -1
hook_vector:      .quad -1
hook_error:       .quad -1
hook_resume:      .quad 0
hook_cs:          .quad -1
hook_rip:         .quad -1
hook_rax:         .quad -1
compat_k_eax:     .quad 0
    .balign 16
cpuid_top:        .quad 0, 0
cpuid_tmp:        .quad 0, 0
probe_buf:        .quad 0, 0

    .section .bss
    .balign 4096
page_a:
    .skip 4096
    .balign 16
istack:
    .skip 4096
istack_top:
kstack:
    .skip 8192
kstack_top:

    .section .note.GNU-stack, "", @progbits
