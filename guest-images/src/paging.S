/*
 * paging.S - 4-level paging: accessed/dirty flags, NX, CR0.WP, 2 MiB and 1 GiB pages, INVLPG and
 * CR3 reload, and user/supervisor protection with a trip to ring 3 and back.
 *
 * Uses lib/pt.S (identity map 0..4 GiB with 2 MiB U=1 pages + a private test space at
 * TEST_VA = 0x80_0000_0000 whose entries the test writes), lib/gdt.S (user segments and a TSS
 * whose RSP0 is kstack_top) and lib/idt.S + lib/exc.S (recording handler).
 * Test-space layout (4 KiB slots through pt_pt_t[n], VA = TEST_VA + n * 0x1000):
 *   0 A/D page   1 NX code page   2 read-only page (U=0)   3 INVLPG page (A or B)
 *   4 supervisor-only page   5 user read-only page   6 user read/write page
 *   TEST_VA_2M: 2 MiB page -> physical 0 (pt_pd_t[1]); TEST_VA_1G: 1 GiB page -> physical 0
 *   (pt_pdpt_t[1]). Both alias the identity-mapped image, so VA = alias base + physical address.
 * Prints PASS/FAIL per check and "SUMMARY pass=N fail=M"; exit 0 iff all passed.
 * Expected PASS lines: 58.
 *
 * Intel SDM Vol 3A references (2016-2022 numbering): 4.5 "4-Level Paging" (entry formats,
 * 2 MiB / 1 GiB pages), 4.6 "Access Rights", 4.7 "Page-Fault Exceptions", 4.8 "Accessed and
 * Dirty Flags", 4.10.4.1 "Operations that Invalidate TLBs and Paging-Structure Caches",
 * 5.8/6.12.1 privilege checks, 6.14.2 "64-Bit Mode Stack Frame", 7.7 "Task Management in
 * 64-bit Mode" (RSP0).
 */
.intel_syntax noprefix
#include "lib/defs.h"
#include "lib/test.inc"

#define SLOT(n)   (TEST_VA + (n) * 0x1000)
#define PTE(n)    qword ptr [rip + pt_pt_t + (n) * 8]

    .section .text

/* flush_tlb(): MOV to CR3 invalidates all non-global TLB entries and paging-structure caches
 * (4.10.4.1). Clobbers RAX. */
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
    PUTS "paging: 4-level paging, A/D, NX, WP, large pages, INVLPG, U/S with ring 3\n"
    lea rdi, [rip + kstack_top]
    call gdt_init
    call idt_init
    call pt_init
    call exc_log_reset
    mov rax, cr0
    or rax, 0x10000                 /* CR0.WP = 1 */
    mov cr0, rax

/* --- Accessed / dirty, 4 KiB page ----------------------------------------------------------
 * 4.8: the processor sets the accessed flag in every paging-structure entry it uses to
 * translate a linear address, and the dirty flag of the entry that maps the page (here the
 * PTE) on the first write to that page. A read sets A but not D. */
    lea rax, [rip + page_ad]
    or rax, PTE_P | PTE_RW | PTE_US
    mov PTE(0), rax
    and qword ptr [rip + pt_pd_t], ~PTE_A
    and qword ptr [rip + pt_pdpt_t], ~PTE_A
    and qword ptr [rip + pt_pml4 + 8], ~PTE_A
    call flush_tlb
    mov rbx, SLOT(0)
    mov rax, [rbx]                  /* read */
    mov rax, PTE(0)
    and eax, PTE_A | PTE_D
    CHECK_EQ("4K read sets A (not D) in the PTE", PTE_A, rax)
    mov rax, [rip + pt_pd_t]
    and eax, PTE_A
    CHECK_EQ("4K read sets A in the PDE", PTE_A, rax)
    mov rax, [rip + pt_pdpt_t]
    and eax, PTE_A
    CHECK_EQ("4K read sets A in the PDPTE", PTE_A, rax)
    mov rax, [rip + pt_pml4 + 8]
    and eax, PTE_A
    CHECK_EQ("4K read sets A in the PML4E", PTE_A, rax)
    mov qword ptr [rbx], 1          /* write */
    mov rax, PTE(0)
    and eax, PTE_A | PTE_D
    CHECK_EQ("4K write sets D in the PTE", PTE_A | PTE_D, rax)

/* --- Accessed / dirty, 2 MiB page (PDE with PS=1 is the leaf: A and D live there) --------- */
    mov qword ptr [rip + pt_pd_t + 8], PTE_P | PTE_RW | PTE_US | PTE_PS      /* -> phys 0 */
    call flush_tlb
    lea rbx, [rip + page_ad]
    mov rax, TEST_VA_2M
    add rbx, rax                    /* 2 MiB alias of page_ad */
    mov rax, [rbx]
    mov rax, [rip + pt_pd_t + 8]
    and eax, PTE_A | PTE_D
    CHECK_EQ("2M read sets A (not D) in the PDE", PTE_A, rax)
    mov qword ptr [rbx + 8], 2
    mov rax, [rip + pt_pd_t + 8]
    and eax, PTE_A | PTE_D
    CHECK_EQ("2M write sets D in the PDE", PTE_A | PTE_D, rax)

/* --- 2 MiB alias: same physical memory through two linear addresses ------------------------ */
    mov rax, 0x2222333344445555
    mov [rip + page_ad + 16], rax           /* write via identity */
    mov rcx, [rbx + 16]                     /* read via 2 MiB alias */
    CHECK_EQ("2M alias reads what identity wrote", rax, rcx)
    mov rax, 0x6666777788889999
    mov [rbx + 24], rax                     /* write via alias */
    mov rcx, [rip + page_ad + 24]           /* read via identity */
    CHECK_EQ("identity reads what 2M alias wrote", rax, rcx)

/* --- 1 GiB page (PDPTE with PS=1, 4.5 Table 4-16) aliasing physical 0 ----------------------
 * Only if CPUID.80000001H:EDX.Page1GB[26] = 1. Without it, PS in a PDPTE is a reserved bit
 * (4.5, Table 4-16 note) and the access faults with #PF(P|RSVD) (4.7); that is checked instead,
 * with the same number of checks. */
    mov qword ptr [rip + pt_pdpt_t + 8], PTE_P | PTE_RW | PTE_US | PTE_PS    /* -> phys 0 */
    call flush_tlb
    mov eax, 0x80000001
    cpuid                                   /* (clobbers RBX) */
    lea rbx, [rip + page_ad]
    mov rax, TEST_VA_1G
    add rbx, rax                            /* 1 GiB alias of page_ad */
    bt edx, 26
    jnc .Lno_1g
    mov rcx, [rbx + 16]
    CHECK_EQ("1G alias reads what identity wrote", 0x2222333344445555, rcx)
    mov rax, [rip + pt_pdpt_t + 8]
    and eax, PTE_A | PTE_D
    CHECK_EQ("1G read sets A (not D) in the PDPTE", PTE_A, rax)
    mov rax, 0x0A0B0C0D0E0F1011
    mov [rbx + 32], rax
    mov rcx, [rip + page_ad + 32]
    CHECK_EQ("identity reads what 1G alias wrote", rax, rcx)
    mov rax, [rip + pt_pdpt_t + 8]
    and eax, PTE_A | PTE_D
    CHECK_EQ("1G write sets D in the PDPTE", PTE_A | PTE_D, rax)
    jmp .L1g_done
.Lno_1g:
    PUTS "INFO CPUID.80000001H:EDX.Page1GB = 0: a PDPTE with PS=1 must fault with RSVD\n"
    EXPECT_EXC .Lrsvd_after
.Lrsvd:
    mov rcx, [rbx + 16]
.Lrsvd_after:
    CHECK_EQ("1G PDPTE without Page1GB #PF vector", VEC_PF, qword ptr [rip + exc_vector])
    CHECK_EQ("1G PDPTE without Page1GB #PF error code P|RSVD", PF_P | PF_RSVD, qword ptr [rip + exc_error])
    lea rax, [rip + .Lrsvd]
    CHECK_EQ("1G PDPTE without Page1GB #PF rip", rax, qword ptr [rip + exc_rip])
    lea rax, [rbx + 16]
    CHECK_EQ("1G PDPTE without Page1GB #PF cr2", rax, qword ptr [rip + exc_cr2])
.L1g_done:
    mov qword ptr [rip + pt_pdpt_t + 8], 0
    call flush_tlb

/* --- NX ---------------------------------------------------------------------------------------
 * With EFER.NXE=1 and XD=1 in the PTE, an instruction fetch faults: #PF with P=1 and I/D
 * (bit 4) set, CR2 = saved RIP = the fetch address (4.6.1, 4.7). Without XD the same page
 * executes. The code page holds "mov eax, 0x4E58; ret". */
    lea rdi, [rip + page_code]
    mov dword ptr [rdi], 0x004E58B8         /* B8 58 4E 00 00 = mov eax, 0x4E58 */
    mov byte ptr [rdi + 4], 0x00
    mov byte ptr [rdi + 5], 0xC3            /* ret */
    mov rax, rdi
    or rax, PTE_P | PTE_RW | PTE_US
    mov PTE(1), rax
    mov rbx, SLOT(1)
    invlpg [rbx]
    xor eax, eax
    call rbx
    CHECK_EQ("execute from page with XD=0", 0x4E58, rax)
    mov rax, PTE_XD
    or PTE(1), rax
    invlpg [rbx]
    EXPECT_EXC .Lnx_after
    jmp rbx
.Lnx_after:
    CHECK_EQ("NX fetch #PF vector", VEC_PF, qword ptr [rip + exc_vector])
    CHECK_EQ("NX fetch #PF error code P|I/D", PF_P | PF_ID, qword ptr [rip + exc_error])
    CHECK_EQ("NX fetch #PF rip", rbx, qword ptr [rip + exc_rip])
    CHECK_EQ("NX fetch #PF cr2", rbx, qword ptr [rip + exc_cr2])

/* --- CR0.WP -----------------------------------------------------------------------------------
 * Supervisor write to a read-only supervisor page: with WP=1 -> #PF(P|W), with WP=0 the write
 * succeeds (4.6.1: "If CR0.WP = 0, data may be written to any supervisor-mode address"). */
    lea rax, [rip + page_ro]
    or rax, PTE_P                           /* R/W=0, U/S=0 */
    mov PTE(2), rax
    mov rbx, SLOT(2)
    invlpg [rbx]
    EXPECT_EXC .Lwp1_after
.Lwp1:
    mov dword ptr [rbx], 0xC0FFEE
.Lwp1_after:
    CHECK_EQ("WP=1 write read-only #PF vector", VEC_PF, qword ptr [rip + exc_vector])
    CHECK_EQ("WP=1 write read-only #PF error code P|W", PF_P | PF_W, qword ptr [rip + exc_error])
    lea rax, [rip + .Lwp1]
    CHECK_EQ("WP=1 write read-only #PF rip", rax, qword ptr [rip + exc_rip])
    CHECK_EQ("WP=1 write read-only #PF cr2", rbx, qword ptr [rip + exc_cr2])
    mov eax, [rip + page_ro]
    CHECK_EQ("WP=1 faulting write left memory unchanged", 0, rax)
    mov rax, cr0
    and rax, ~0x10000                       /* CR0.WP = 0 */
    mov cr0, rax
    mov dword ptr [rbx], 0xC0FFEE           /* must not fault */
    mov rax, cr0
    or rax, 0x10000                         /* CR0.WP = 1 again */
    mov cr0, rax
    mov eax, [rip + page_ro]
    CHECK_EQ("WP=0 supervisor write to read-only page succeeds", 0xC0FFEE, rax)

/* --- INVLPG and CR3 reload ------------------------------------------------------------------
 * After changing a PTE, the old translation may still be cached in the TLB (4.10.2), so the
 * read right after the change is not checked. After INVLPG of that address (4.10.4.1) the new
 * translation must be used; after MOV to CR3 likewise for all non-global entries. */
    mov rax, 0xAAAAAAAAAAAAAAAA
    mov [rip + page_a], rax
    mov rax, 0xBBBBBBBBBBBBBBBB
    mov [rip + page_b], rax
    lea rax, [rip + page_a]
    or rax, PTE_P | PTE_RW | PTE_US
    mov PTE(3), rax
    mov rbx, SLOT(3)
    invlpg [rbx]
    mov rax, [rbx]
    CHECK_EQ("slot maps page A", 0xAAAAAAAAAAAAAAAA, rax)
    lea rax, [rip + page_b]
    or rax, PTE_P | PTE_RW | PTE_US
    mov PTE(3), rax
    mov rax, [rbx]                          /* A (stale TLB entry) or B: both allowed */
    invlpg [rbx]
    mov rax, [rbx]
    mov rcx, 0xBBBBBBBBBBBBBBBB
    CHECK_EQ("after PTE change + INVLPG the new page B is seen", rcx, rax)
    lea rax, [rip + page_a]
    or rax, PTE_P | PTE_RW | PTE_US
    mov PTE(3), rax
    mov rax, [rbx]                          /* B (stale) or A: both allowed */
    mov rax, cr3
    mov cr3, rax
    mov rax, [rbx]
    mov rcx, 0xAAAAAAAAAAAAAAAA
    CHECK_EQ("after PTE change + CR3 reload page A is seen", rcx, rax)
    mov PTE(3), 0
    invlpg [rbx]
    EXPECT_EXC .Linvnp_after
.Linvnp:
    mov rax, [rbx]
.Linvnp_after:
    CHECK_EQ("after PTE cleared + INVLPG #PF vector", VEC_PF, qword ptr [rip + exc_vector])
    CHECK_EQ("after PTE cleared + INVLPG #PF error code 0", 0, qword ptr [rip + exc_error])
    CHECK_EQ("after PTE cleared + INVLPG #PF cr2", rbx, qword ptr [rip + exc_cr2])

/* --- User / supervisor: a trip to ring 3 ----------------------------------------------------
 * IRETQ to CS=0x2B/SS=0x23 (CPL3). In ring 3: a read of a U=1 page works; a read of a U=0
 * page -> #PF(P|U) (4.6.1, 4.7); a write to a U=1 read-only page -> #PF(P|W|U) whatever WP;
 * INT 0x81 through a DPL0 gate -> #GP(0x81*8+2) (6.12.1.1 "Protection of Exception- and
 * Interrupt-Handler Procedures": for INT n, gate DPL < CPL -> #GP with the IDT flag set);
 * CLI with IOPL=0 < CPL -> #GP(0) (Vol 2A "CLI"). Every ring-3 exception switches to the TSS
 * RSP0 stack and pushes SS=0x23 and the user RSP (6.12.1, 6.14.2, 7.7). IRETQ to CPL3 loads a
 * null selector into DS and ES, whose descriptors have DPL0 < CPL (Vol 2A "IRET" Operation,
 * RETURN-TO-OUTER-PRIVILEGE-LEVEL). INT 0x80 (a DPL3 gate) brings us back: its hook rewrites
 * the frame to return to CPL0. The ring-3 results are checked back in ring 0 (ring 3 cannot do
 * port I/O, so it cannot print). */
    mov rax, 0x5355504552564953             /* "SIVREPUS" */
    mov [rip + page_sup], rax
    lea rax, [rip + page_sup]
    or rax, PTE_P | PTE_RW                  /* U/S = 0 */
    mov PTE(4), rax
    lea rax, [rip + page_uro]
    or rax, PTE_P | PTE_US                  /* R/W = 0 */
    mov PTE(5), rax
    mov rax, 0x5553455244415441             /* "ATADRESU" */
    mov [rip + page_user], rax
    lea rax, [rip + page_user]
    or rax, PTE_P | PTE_RW | PTE_US
    mov PTE(6), rax
    call flush_tlb
    mov rbx, SLOT(4)
    mov rax, [rbx]
    CHECK_EQ("ring 0 reads a U=0 page", 0x5355504552564953, rax)

    mov edi, 0x80
    mov esi, 3
    call idt_set_dpl
    mov edi, 0x80
    lea rsi, [rip + back_to_ring0]
    call idt_set_hook
    call exc_log_reset
    mov [rip + saved_ksp], rsp
    push SEL_UDATA | 3                      /* SS */
    lea rax, [rip + user_stack_top]
    push rax                                /* RSP */
    push 0x2                                /* RFLAGS: IF=0, IOPL=0 */
    push SEL_UCODE64 | 3                    /* CS */
    lea rax, [rip + user_entry]
    push rax                                /* RIP */
    iretq

.Lback_in_ring0:
    mov eax, SEL_KDATA
    mov ds, eax
    mov es, eax
    mov rax, cs
    CHECK_EQ("back in ring 0: cs", SEL_KCODE64, rax)
    CHECK_EQ("ring 3 ran with cs 0x2b", SEL_UCODE64 | 3, qword ptr [rip + user_cs_seen])
    CHECK_EQ("ring 3 ran with ss 0x23", SEL_UDATA | 3, qword ptr [rip + user_ss_seen])
    CHECK_EQ("iretq to ring 3 nulled ds (dpl 0 < cpl 3)", 0, qword ptr [rip + user_ds_seen])
    CHECK_EQ("ring 3 reads a U=1 page", 0x5553455244415441, qword ptr [rip + user_read_val])

    lea rbx, [rip + exc_log]
    /* log[0]: read of the U=0 page */
    CHECK_EQ("ring 3 read U=0 page #PF vector", VEC_PF, qword ptr [rbx + X_VECTOR])
    CHECK_EQ("ring 3 read U=0 page #PF error code P|U", PF_P | PF_U, qword ptr [rbx + X_ERROR])
    mov rax, SLOT(4)
    CHECK_EQ("ring 3 read U=0 page #PF cr2", rax, qword ptr [rbx + X_CR2])
    lea rax, [rip + .Lu_read_sup]
    CHECK_EQ("ring 3 read U=0 page #PF rip", rax, qword ptr [rbx + X_RIP])
    CHECK_EQ("ring 3 #PF saved cs 0x2b", SEL_UCODE64 | 3, qword ptr [rbx + X_CS])
    CHECK_EQ("ring 3 #PF saved ss 0x23", SEL_UDATA | 3, qword ptr [rbx + X_SS])
    lea rax, [rip + user_stack_top]
    CHECK_EQ("ring 3 #PF saved rsp = user rsp", rax, qword ptr [rbx + X_RSP])
    mov rax, [rbx + X_FRAME]
    add rax, 40
    lea rcx, [rip + kstack_top]
    CHECK_EQ("ring 3 #PF frame is on the TSS.RSP0 stack", rcx, rax)
    /* log[1]: write to the user read-only page */
    CHECK_EQ("ring 3 write read-only page #PF vector", VEC_PF, qword ptr [rbx + X_SIZE + X_VECTOR])
    CHECK_EQ("ring 3 write read-only page #PF error code P|W|U", PF_P | PF_W | PF_U, qword ptr [rbx + X_SIZE + X_ERROR])
    mov rax, SLOT(5)
    CHECK_EQ("ring 3 write read-only page #PF cr2", rax, qword ptr [rbx + X_SIZE + X_CR2])
    lea rax, [rip + .Lu_write_ro]
    CHECK_EQ("ring 3 write read-only page #PF rip", rax, qword ptr [rbx + X_SIZE + X_RIP])
    /* log[2]: INT 0x81 through a DPL0 gate */
    CHECK_EQ("ring 3 int 0x81 (gate dpl 0) #GP vector", VEC_GP, qword ptr [rbx + 2 * X_SIZE + X_VECTOR])
    CHECK_EQ("ring 3 int 0x81 (gate dpl 0) #GP error code 0x81*8+2", 0x81 * 8 + 2, qword ptr [rbx + 2 * X_SIZE + X_ERROR])
    lea rax, [rip + .Lu_int81]
    CHECK_EQ("ring 3 int 0x81 (gate dpl 0) #GP rip", rax, qword ptr [rbx + 2 * X_SIZE + X_RIP])
    /* log[3]: CLI at CPL3 with IOPL 0 */
    CHECK_EQ("ring 3 cli #GP vector", VEC_GP, qword ptr [rbx + 3 * X_SIZE + X_VECTOR])
    CHECK_EQ("ring 3 cli #GP error code 0", 0, qword ptr [rbx + 3 * X_SIZE + X_ERROR])
    lea rax, [rip + .Lu_cli]
    CHECK_EQ("ring 3 cli #GP rip", rax, qword ptr [rbx + 3 * X_SIZE + X_RIP])
    CHECK_EQ("ring 3 exceptions recorded", 4, qword ptr [rip + exc_count])
    /* INT 0x80 itself (hook) */
    CHECK_EQ("ring 3 int 0x80 (gate dpl 3) saved cs 0x2b", SEL_UCODE64 | 3, qword ptr [rip + int80_cs])
    lea rax, [rip + .Lu_int80_after]
    CHECK_EQ("ring 3 int 0x80 saved rip after int", rax, qword ptr [rip + int80_rip])
    lea rcx, [rip + kstack_top]
    CHECK_EQ("ring 3 int 0x80 frame is on the TSS.RSP0 stack", rcx, qword ptr [rip + int80_frame_end])

    call check_summary
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    ret

/* Hook for INT 0x80 from ring 3: record, then return to .Lback_in_ring0 at CPL0 on the saved
 * kernel stack. An IRETQ at CPL0 to CPL0 pops SS:RSP too in 64-bit mode (Vol 2A "IRET"). */
back_to_ring0:
    mov rax, [rdi + F_CS]
    mov [rip + int80_cs], rax
    mov rax, [rdi + F_RIP]
    mov [rip + int80_rip], rax
    lea rax, [rdi + F_SS + 8]
    mov [rip + int80_frame_end], rax
    lea rax, [rip + .Lback_in_ring0]
    mov [rdi + F_RIP], rax
    mov qword ptr [rdi + F_CS], SEL_KCODE64
    mov qword ptr [rdi + F_RFLAGS], 0x2
    mov rax, [rip + saved_ksp]
    mov [rdi + F_RSP], rax
    mov qword ptr [rdi + F_SS], SEL_KDATA
    ret

/* Ring-3 code (identity-mapped .text, U=1). It may touch only U=1 pages: its stack, the
 * variables below (in .bss/.data of the identity map) and the test-space user slots. */
user_entry:
    mov rax, cs
    mov [rip + user_cs_seen], rax
    mov rax, ss
    mov [rip + user_ss_seen], rax
    mov rax, ds
    mov [rip + user_ds_seen], rax
    mov rbx, TEST_VA
    mov rax, [rbx + 0x6000]
    mov [rip + user_read_val], rax
    EXPECT_EXC .Lu_read_sup_after
.Lu_read_sup:
    mov rax, [rbx + 0x4000]
.Lu_read_sup_after:
    EXPECT_EXC .Lu_write_ro_after
.Lu_write_ro:
    mov dword ptr [rbx + 0x5000], 1
.Lu_write_ro_after:
    EXPECT_EXC .Lu_int81_after
.Lu_int81:
    int 0x81
.Lu_int81_after:
    EXPECT_EXC .Lu_cli_after
.Lu_cli:
    cli
.Lu_cli_after:
    int 0x80
.Lu_int80_after:
    ud2                                     /* not reached: INT 0x80 returns to ring 0 */

    .section .data
    .balign 8
saved_ksp:       .quad 0
int80_cs:        .quad -1
int80_rip:       .quad -1
int80_frame_end: .quad -1
user_cs_seen:    .quad -1
user_ss_seen:    .quad -1
user_ds_seen:    .quad -1
user_read_val:   .quad -1

    .section .bss
    .balign 4096
page_ad:   .skip 4096
page_code: .skip 4096
page_ro:   .skip 4096
page_a:    .skip 4096
page_b:    .skip 4096
page_sup:  .skip 4096
page_uro:  .skip 4096
page_user: .skip 4096
    .balign 16
kstack:    .skip 8192
kstack_top:
user_stack: .skip 4096
user_stack_top:

    .section .note.GNU-stack, "", @progbits
