/*
 * vmx-caps.S - information probe, not a self-checking image: prints what the processor reports
 * about VMX, one line each, so the capabilities of x86vmx and of other implementations (Bochs:
 * guest-images/tools/bochs/README.md) can be compared.
 *
 *   cpuid.1.ecx 0x<16 hex>              (bit 5 = VMX)
 *   msr 0x0000003a 0x<16 hex>           IA32_FEATURE_CONTROL
 *   msr 0x00000480 0x<16 hex>           IA32_VMX_BASIC ... 0x491 IA32_VMX_VMFUNC
 *   msr 0x00000491 #GP                  (an MSR whose RDMSR raises #GP)
 *   procbased2.allowed1 0x<16 hex>      IA32_VMX_PROCBASED_CTLS2[63:32] when readable
 *   secondary: ept=N vpid=N unrestricted=N pml=N spp=N
 * then exits 0. Capability MSR layout: SDM Vol. 3D Appendix A (A.1 basic, A.3.3 secondary
 * processor-based controls, A.10 EPT/VPID); secondary control bits: Vol. 3C 25.6.2 Table 25-7
 * (bit 1 enable EPT, 5 enable VPID, 7 unrestricted guest, 17 enable PML, 23 sub-page write
 * permissions for EPT).
 */
.intel_syntax noprefix
#include "lib/defs.h"
#include "lib/test.inc"

    .section .text

/* show_msr(ECX = MSR): "msr 0x<ecx> 0x<value>" or "msr 0x<ecx> #GP". Returns RAX = value,
 * or -1 after a #GP. */
show_msr:
    push rcx
    push rdx
    push rdi
    PUTS "msr "
    mov edi, ecx
    call print_hex64
    PUTS " "
    EXPECT_EXC 1f
    rdmsr
    mov qword ptr [rip + exc_expected], 0
    shl rdx, 32
    mov eax, eax
    or rax, rdx
    mov rdi, rax
    call print_hex64
    call print_nl
    jmp 2f
1:  PUTS "#GP\n"
    mov rax, -1
2:  pop rdi
    pop rdx
    pop rcx
    ret

/* show_bit(RDI = name, R12 = value, ESI = bit): " name=0|1" */
show_bit:
    push rdi
    push rax
    PUTS " "
    call serial_puts
    PUTS "="
    mov rax, r12
    mov ecx, esi
    shr rax, cl
    and eax, 1
    mov edi, eax
    call print_dec
    pop rax
    pop rdi
    ret

    .globl main
main:
    call idt_init
    push rbx
    mov eax, 1
    xor ecx, ecx
    cpuid
    pop rbx
    PUTS "cpuid.1.ecx "
    mov edi, ecx
    call print_hex64
    call print_nl

    mov ecx, 0x3A
    call show_msr
    mov ecx, 0x480
1:  call show_msr
    cmp ecx, 0x48B
    jne 2f
    mov r12, rax                        /* PROCBASED_CTLS2 */
2:  inc ecx
    cmp ecx, 0x491
    jbe 1b

    cmp r12, -1
    je 3f
    shr r12, 32
    PUTS "procbased2.allowed1 "
    mov rdi, r12
    call print_hex64
    call print_nl
    PUTS "secondary:"
    lea rdi, [rip + n_ept]
    mov esi, 1
    call show_bit
    lea rdi, [rip + n_vpid]
    mov esi, 5
    call show_bit
    lea rdi, [rip + n_ug]
    mov esi, 7
    call show_bit
    lea rdi, [rip + n_pml]
    mov esi, 17
    call show_bit
    lea rdi, [rip + n_spp]
    mov esi, 23
    call show_bit
    call print_nl
3:  xor eax, eax
    ret

    .section .rodata
n_ept:  .asciz "ept"
n_vpid: .asciz "vpid"
n_ug:   .asciz "unrestricted"
n_pml:  .asciz "pml"
n_spp:  .asciz "spp"

    .section .note.GNU-stack, "", @progbits
