/*
 * boot.S - multiboot v1 entry (32-bit protected mode) and the switch to long mode.
 *
 * The loader (GRUB-style, see emulator/loader/README.md) enters _start32 with paging off,
 * EAX = 0x2BADB002, EBX = physical address of the multiboot information, flat 32-bit segments and
 * interrupts off. This code runs at its physical address (section .boot, linked VMA = LMA); it
 * builds the kernel page tables (in .bss of the higher-half image, reached by physical address =
 * symbol - KERNEL_VMA), enables PAE, long mode, SYSCALL, NX and paging, and jumps to the
 * higher-half kernel, which calls kmain(mbi_phys).
 *
 * Page tables (the kernel's for good; only PML4[0] is dropped again by kmain):
 *   PML4[0]   -> pdpt_direct   temporary identity map of 0..4 GiB (this code keeps running there)
 *   PML4[256] -> pdpt_direct   direct map: 0xFFFF800000000000 + phys, phys 0..4 GiB
 *   PML4[511] -> pdpt_kernel   pdpt_kernel[510] -> pd[0]: 0xFFFFFFFF80000000 + phys, phys 0..1 GiB
 *   pdpt_direct[0..3] -> pd[0..3]: 2048 2 MiB pages, P|RW|PS, supervisor; the 4th GiB (MMIO:
 *   local APIC at 0xFEE00000) also PCD|PWT.
 */
.intel_syntax noprefix

#define KERNEL_VMA 0xFFFFFFFF80000000
#define MB_HEADER_MAGIC 0x1BADB002
#define MB_HEADER_FLAGS 0x00000003      /* bit 0: page-aligned modules, bit 1: memory information */
#define PHYS(sym) (sym - KERNEL_VMA)
#define SEL_BOOT_CODE64 0x10
#define SEL_BOOT_DATA 0x18

    .section .multiboot, "a"
    .balign 4
    .long MB_HEADER_MAGIC, MB_HEADER_FLAGS, -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

    .section .boot.text, "ax"
    .code32
    .globl _start32
_start32:
    cli
    cld
    mov esp, offset PHYS(kernel_stack_top)
    cmp eax, 0x2BADB002
    jne .Lno_multiboot
    mov ebp, ebx                        /* multiboot information, kept in EBP */

    /* long mode available? CPUID 80000001H:EDX bit 29 (LM) */
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .Lno_long_mode
    mov eax, 0x80000001
    cpuid
    bt edx, 29
    jnc .Lno_long_mode
    xor esi, esi                        /* ESI = EFER.NXE if CPUID reports XD (bit 20) */
    bt edx, 20
    jnc 1f
    mov esi, 0x800
1:
    /* zero the 7 table pages: pml4, pdpt_direct, pd[4], pdpt_kernel */
    mov edi, offset PHYS(boot_page_tables)
    mov ecx, 7 * 4096 / 4
    xor eax, eax
    rep stosd

    mov ebx, offset PHYS(boot_page_tables)
    lea eax, [ebx + 0x1000 + 3]         /* pdpt_direct | P | RW */
    mov [ebx + 0 * 8], eax
    mov [ebx + 256 * 8], eax
    lea eax, [ebx + 0x6000 + 3]         /* pdpt_kernel | P | RW */
    mov [ebx + 511 * 8], eax
    lea eax, [ebx + 0x2000 + 3]         /* pd[0] | P | RW */
    mov [ebx + 0x1000 + 0 * 8], eax
    mov [ebx + 0x6000 + 510 * 8], eax
    add eax, 0x1000
    mov [ebx + 0x1000 + 1 * 8], eax
    add eax, 0x1000
    mov [ebx + 0x1000 + 2 * 8], eax
    add eax, 0x1000
    mov [ebx + 0x1000 + 3 * 8], eax

    /* 2048 PDEs: entry j maps j * 2 MiB; P | RW | PS, plus PCD | PWT in the 4th GiB */
    lea edi, [ebx + 0x2000]
    xor ecx, ecx
2:  mov eax, ecx
    shl eax, 21
    or eax, 0x83
    cmp ecx, 1536
    jb 3f
    or eax, 0x18
3:  mov [edi + ecx * 8], eax
    mov dword ptr [edi + ecx * 8 + 4], 0
    inc ecx
    cmp ecx, 2048
    jb 2b

    mov eax, 0x620                      /* CR4: PAE | OSFXSR | OSXMMEXCPT */
    mov cr4, eax
    mov cr3, ebx
    mov ecx, 0xC0000080                 /* IA32_EFER: SCE | LME | (NXE) */
    rdmsr
    or eax, 0x101
    or eax, esi
    wrmsr
    mov eax, 0x80010033                 /* CR0: PG | WP | NE | ET | MP | PE (EM = TS = 0) */
    mov cr0, eax
    lgdt [boot_gdtr]
    ljmp SEL_BOOT_CODE64, offset .Llong_low

.Lno_multiboot:
    mov esi, offset msg_no_multiboot
    jmp .Lfail32
.Lno_long_mode:
    mov esi, offset msg_no_long_mode
.Lfail32:                               /* print ESI on COM1, exit with status 255 */
    mov dx, 0x3FD
4:  in al, dx
    test al, 0x20
    jz 4b
    lodsb
    test al, al
    jz 5f
    mov dx, 0x3F8
    out dx, al
    jmp .Lfail32
5:  mov al, 255
    out 0xF4, al
6:  hlt
    jmp 6b

    .code64
.Llong_low:
    mov eax, SEL_BOOT_DATA
    mov ds, eax
    mov es, eax
    mov ss, eax
    movabs rax, offset long_entry_high
    jmp rax

    .section .boot.rodata, "a"
    .balign 8
boot_gdt:                               /* same selectors as the kernel's own GDT (desc.c) */
    .quad 0
    .quad 0x00CF9A000000FFFF            /* 0x08 32-bit code */
    .quad 0x00AF9A000000FFFF            /* 0x10 64-bit code */
    .quad 0x00CF92000000FFFF            /* 0x18 data */
boot_gdtr:
    .word 4 * 8 - 1
    .long boot_gdt
msg_no_multiboot:
    .asciz "kernel: not started by a multiboot loader (EAX is not 0x2BADB002)\n"
msg_no_long_mode:
    .asciz "kernel: this CPU has no long mode (CPUID 80000001H:EDX.LM = 0)\n"

    .section .text
    .code64
long_entry_high:                        /* now running in the higher half */
    lea rsp, [rip + kernel_stack_top]
    mov edi, ebp                        /* kmain(mbi_phys) */
    xor ebp, ebp
    call kmain
7:  cli
    hlt
    jmp 7b

    .section .bss
    .balign 4096
    .globl boot_page_tables
boot_page_tables:                       /* pml4, pdpt_direct, pd[0..3], pdpt_kernel */
    .skip 7 * 4096

    .section .note.GNU-stack, "", @progbits
