/*
 * vmx-selftest-asm.S - the low-level half of vmx-selftest.elf (the C half is vmx-selftest.c):
 *
 *   vm_enter      VMLAUNCH/VMRESUME with the guest's general registers loaded from a struct, and
 *                 the host-RIP landing point that stores them back after a VM exit;
 *   try_call      run a function; a host exception inside it returns to the caller with the
 *                 vector instead of killing the run (nestable);
 *   host_stubs    256 host exception/interrupt stubs (used by the host IDT built in C);
 *   guest_stubs   256 guest interrupt stubs: report vector/error/RIP to the host with VMCALL;
 *   g_*           the guest code snippets, each a few instructions followed by VMCALL.
 *
 * All written for this project from the Intel SDM (Vol. 3C chapters 24-30); nothing is copied.
 */
.intel_syntax noprefix

#define VMCS_HOST_RSP 0x6C14
#define VMCS_HOST_RIP 0x6C16

/* struct gregs (vmx-selftest.c): the guest's general registers other than RSP. */
#define G_RAX 0
#define G_RBX 8
#define G_RCX 16
#define G_RDX 24
#define G_RSI 32
#define G_RDI 40
#define G_RBP 48
#define G_R8  56
#define G_R9  64
#define G_R10 72
#define G_R11 80
#define G_R12 88
#define G_R13 96
#define G_R14 104
#define G_R15 112

    .section .text

/*
 * uint64_t vm_enter(struct gregs *g /RDI/, int resume /ESI/)
 * Returns 0 after a VM exit (guest registers stored in *g), or, if VMLAUNCH/VMRESUME fell through
 * (VMfailInvalid / VMfailValid), RFLAGS after the instruction with bit 63 set.
 * Host RSP/RIP of the current VMCS are written here (SDM 27.5.3: RSP and RIP are loaded from
 * the host-state area on every VM exit).
 */
    .globl vm_enter
vm_enter:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    push rdi                        /* [rsp] = g at the VM exit */
    mov eax, VMCS_HOST_RSP
    vmwrite rax, rsp
    mov eax, VMCS_HOST_RIP
    lea rdx, [rip + vm_exit_landing]
    vmwrite rax, rdx
    test esi, esi                   /* flags survive the MOVs below */
    mov rax, [rdi + G_RAX]
    mov rbx, [rdi + G_RBX]
    mov rcx, [rdi + G_RCX]
    mov rdx, [rdi + G_RDX]
    mov rsi, [rdi + G_RSI]
    mov rbp, [rdi + G_RBP]
    mov r8,  [rdi + G_R8]
    mov r9,  [rdi + G_R9]
    mov r10, [rdi + G_R10]
    mov r11, [rdi + G_R11]
    mov r12, [rdi + G_R12]
    mov r13, [rdi + G_R13]
    mov r14, [rdi + G_R14]
    mov r15, [rdi + G_R15]
    mov rdi, [rdi + G_RDI]
    jnz 1f
    vmlaunch
    jmp 2f
1:  vmresume
2:  pushfq                          /* VM entry failed before loading the guest: report RFLAGS */
    pop rax
    bts rax, 63
    add rsp, 8
    jmp 3f

vm_exit_landing:
    push rdi                        /* guest RDI; [rsp + 8] = g */
    mov rdi, [rsp + 8]
    mov [rdi + G_RAX], rax
    mov [rdi + G_RBX], rbx
    mov [rdi + G_RCX], rcx
    mov [rdi + G_RDX], rdx
    mov [rdi + G_RSI], rsi
    mov [rdi + G_RBP], rbp
    mov [rdi + G_R8],  r8
    mov [rdi + G_R9],  r9
    mov [rdi + G_R10], r10
    mov [rdi + G_R11], r11
    mov [rdi + G_R12], r12
    mov [rdi + G_R13], r13
    mov [rdi + G_R14], r14
    mov [rdi + G_R15], r15
    pop rax
    mov [rdi + G_RDI], rax
    add rsp, 8
    xor eax, eax
3:  pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

/*
 * uint64_t vm_enter_movss(struct gregs *g, int resume): like vm_enter's failure path only: executes
 * MOV SS immediately before VMLAUNCH/VMRESUME, so that the entry happens with events blocked by
 * MOV SS (SDM 30.3 VMLAUNCH/VMRESUME: VMfailValid(26)). Returns RFLAGS | bit 63 on fall-through,
 * 0 if (wrongly) the entry succeeded (the exit lands at vm_exit_landing).
 */
    .globl vm_enter_movss
vm_enter_movss:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    push rdi
    mov eax, VMCS_HOST_RSP
    vmwrite rax, rsp
    mov eax, VMCS_HOST_RIP
    lea rdx, [rip + vm_exit_landing]
    vmwrite rax, rdx
    mov ax, ss
    test esi, esi
    jnz 1f
    mov ss, ax
    vmlaunch
    jmp 2b
1:  mov ss, ax
    vmresume
    jmp 2b

/*
 * int64_t try_call(void (*fn)(void *) /RDI/, void *arg /RSI/)
 * Calls fn(arg). Returns -1 if it returned normally, or the vector of the first host exception
 * raised inside it (details in caught_error / caught_rip / caught_cr2). Nestable.
 */
    .globl try_call
try_call:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    push qword ptr [rip + catch_rsp]    /* the enclosing try_call's landing, if any */
    mov [rip + catch_rsp], rsp
    mov rax, rdi
    mov rdi, rsi
    call rax
    mov rax, -1
try_landing:
    pop qword ptr [rip + catch_rsp]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

/* Host exception stubs: vector in the frame, dummy error code where the CPU pushes none
 * (SDM Vol. 3A 6.13: error codes for 8, 10-14, 17, 21, 29, 30). 16 bytes each. */
    .balign 16
    .globl host_stubs
host_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    push 0
    .endif
    push vec
    jmp host_exc_common
    .set vec, vec + 1
    .endr

/* stack: vector, error, RIP, CS, RFLAGS, RSP, SS */
host_exc_common:
    push rax
    mov rax, cr2
    mov [rip + caught_cr2], rax
    mov rax, [rsp + 16]
    mov [rip + caught_error], rax
    mov rax, [rsp + 24]
    mov [rip + caught_rip], rax
    mov rax, [rsp + 8]
    mov [rip + caught_vector], rax
    cmp qword ptr [rip + catch_rsp], 0
    je 1f
    mov rsp, [rip + catch_rsp]       /* abandon the callee: back into try_call */
    jmp try_landing
1:  and rsp, -16                    /* unexpected: report and end the run (does not return) */
    call host_unexpected
    ud2

/* Guest interrupt stubs (the guest IDT built in C points here): report to the host with VMCALL:
 * RAX = vector, RBX = error code (0 if none), RCX = saved RIP, RDX = GUEST_HANDLER_MARK. */
    .balign 16
    .globl guest_stubs
guest_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    push 0
    .endif
    push vec
    jmp guest_exc_common
    .set vec, vec + 1
    .endr
guest_exc_common:
    pop rax
    pop rbx
    mov rcx, [rsp]
    mov edx, 0x6A7E                 /* GUEST_HANDLER_MARK */
    vmcall
    ud2

/* ---- guest snippets (64-bit, CPL0). Each ends in VMCALL then UD2 (if resumed by mistake, the
 * UD2 exits through the exception bitmap, or at worst faults into the guest IDT). */
.macro GUEST name
    .balign 16
    .globl \name
\name:
.endm

GUEST g_vmcall
    vmcall
    ud2
GUEST g_cpuid
    cpuid
    vmcall
    ud2
GUEST g_hlt
    hlt
    vmcall
    ud2
GUEST g_invlpg
    invlpg [rax]
    vmcall
    ud2
GUEST g_rdtsc
    rdtsc
    vmcall
    ud2
GUEST g_vmread
    vmread rbx, rax
    vmcall
    ud2
GUEST g_vmptrst
    vmptrst [rax]
    vmcall
    ud2
GUEST g_vmxon
    vmxon [rax]
    vmcall
    ud2
GUEST g_vmlaunch
    vmlaunch
    vmcall
    ud2
GUEST g_invept
    invept rax, [rbx]
    vmcall
    ud2
GUEST g_invvpid
    invvpid rax, [rbx]
    vmcall
    ud2
GUEST g_mov_to_cr0
    mov cr0, rax
    vmcall
    ud2
GUEST g_mov_from_cr0
    mov rax, cr0
    vmcall
    ud2
GUEST g_mov_from_cr4
    mov rax, cr4
    vmcall
    ud2
GUEST g_mov_from_cr3
    mov rbx, cr3
    vmcall
    ud2
GUEST g_mov_to_cr3
    mov cr3, rax
    vmcall
    ud2
GUEST g_mov_to_cr8
    mov cr8, rdx
    vmcall
    ud2
GUEST g_mov_from_cr8
    mov rsi, cr8
    vmcall
    ud2
GUEST g_clts
    clts
    vmcall
    ud2
GUEST g_lmsw
    lmsw ax
    vmcall
    ud2
GUEST g_out_imm
    out 0x80, al
    vmcall
    ud2
GUEST g_in_imm
    in al, 0x80
    vmcall
    ud2
GUEST g_in_dx_word
    in ax, dx
    vmcall
    ud2
GUEST g_in_dx_dword
    in eax, dx
    vmcall
    ud2
GUEST g_rep_outsb
    rep outsb
    vmcall
    ud2
GUEST g_rdmsr
    rdmsr
    vmcall
    ud2
GUEST g_wrmsr
    wrmsr
    vmcall
    ud2
GUEST g_ud2
    ud2
    vmcall
    ud2
GUEST g_int3
    int3
    vmcall
    ud2
GUEST g_read_rbx
    mov rax, [rbx]
    vmcall
    ud2
GUEST g_write_rbx
    mov [rbx], rax
    vmcall
    ud2
GUEST g_write_rbx_rcx
    mov [rbx], rax
    .globl g_write_rbx_rcx_2nd
g_write_rbx_rcx_2nd:
    mov [rcx], rax
    vmcall
    ud2
GUEST g_write4
    mov [rbx], rax
    .globl g_write4_2nd
g_write4_2nd:
    mov [rcx], rax
    .globl g_write4_3rd
g_write4_3rd:
    mov [rdx], rax
    .globl g_write4_4th
g_write4_4th:
    mov [rbx + 8], rax
    vmcall
    ud2
GUEST g_rep_stosq
    rep stosq
    vmcall
    ud2
GUEST g_jmp_rbx
    jmp rbx
GUEST g_sti_nop
    sti
    nop
    vmcall
    ud2
GUEST g_loop
    nop
    jmp g_loop
/* 16-bit real-address-mode snippet (unrestricted guest): CS.base = g_real16, IP = 0 */
GUEST g_real16
    .code16
    mov ax, 0x1234
    mov ebx, cr0
    vmcall
    ud2
    .code64

    .section .bss
    .balign 8
    .globl catch_rsp, caught_vector, caught_error, caught_rip, caught_cr2
catch_rsp:      .skip 8
caught_vector:  .skip 8
caught_error:   .skip 8
caught_rip:     .skip 8
caught_cr2:     .skip 8

    .section .note.GNU-stack, "", @progbits
