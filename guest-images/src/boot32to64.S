/*
 * boot32to64.S - a multiboot v1 kernel (ELF32) that switches itself from 32-bit protected mode
 * to 64-bit long mode.
 *
 * 32-bit part: check EAX = 0x2BADB002 (multiboot v1 spec, "Machine state"), check we are in
 * protected mode with paging off, print a line, check CPUID.80000001H:EDX.LM[29], build page
 * tables (identity map of the first 1 GiB with 2 MiB pages, and the same PDPT again at PML4
 * slot 256 = linear 0xFFFF800000000000), load our own GDT, and enter IA-32e mode in the order of
 * Intel SDM Vol 3A 9.8.5 "Initializing IA-32e Mode": CR4.PAE=1, CR3=PML4, IA32_EFER.LME=1,
 * CR0.PG=1 (-> EFER.LMA=1, compatibility mode), then a far jump to a code segment with L=1.
 * 64-bit part: print a line, check EFER.LMA, CS, 64-bit arithmetic (printing a 64-bit value), a
 * read through the high alias, the MBI mem_lower/mem_upper fields (flags bit 0) and the
 * fw_cfg signature ("QEMU" from selector 0 at ports 0x510/0x511). Prints PASS/FAIL lines and
 * "SUMMARY pass=N fail=M"; exit 0 iff all passed. Expected PASS lines: 11.
 *
 * Our GDT: 0x08 32-bit code, 0x10 data, 0x18 64-bit code.
 */
.intel_syntax noprefix
#include "lib/defs.h"
#include "lib/test.inc"

#define MB_HEADER_MAGIC 0x1BADB002
#define MB_HEADER_FLAGS 0x00000002  /* bit 1: provide mem_lower/mem_upper (no other flags) */
#define MB_BOOT_MAGIC   0x2BADB002
#define B_CODE32        0x08
#define B_DATA          0x10
#define B_CODE64        0x18
#define HIGH_ALIAS      0xFFFF800000000000
#define MARKER          0x4D41524B45523634  /* "46REKRAM" */

    .section .multiboot, "a"
    .balign 4
multiboot_header:
    .long MB_HEADER_MAGIC
    .long MB_HEADER_FLAGS
    .long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

    .section .text.entry, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    mov [mb_magic], eax
    mov [mb_info], ebx
    mov edi, offset __bss_start
    mov ecx, offset __bss_end
    sub ecx, edi
    xor eax, eax
    rep stosb
    mov esp, offset stack_top

    mov esi, offset msg_hello32
    call puts32

    /* multiboot v1: EAX must contain the magic value 0x2BADB002 */
    mov eax, [mb_magic]
    cmp eax, MB_BOOT_MAGIC
    je 1f
    mov esi, offset msg_fail_magic
    call puts32
    call print_hex32
    mov esi, offset msg_close_paren
    call puts32
    mov al, 1
    call exit32
1:  mov esi, offset msg_pass_magic
    call pass32

    /* protected mode, paging off: CR0.PE=1, CR0.PG=0 */
    mov eax, cr0
    and eax, 0x80000001
    cmp eax, 1
    je 2f
    mov esi, offset msg_fail_cr0
    call puts32
    mov al, 1
    call exit32
2:  mov esi, offset msg_pass_cr0
    call pass32

    /* CPUID.80000001H:EDX.LM (bit 29): long mode available */
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb 3f
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jnz 4f
3:  mov esi, offset msg_fail_lm
    call puts32
    mov al, 1
    call exit32
4:  mov esi, offset msg_pass_lm
    call pass32

    /* page tables (entry formats: SDM Vol 3A 4.5) */
    mov eax, offset pdpt
    or eax, PTE_P | PTE_RW
    mov [pml4], eax
    mov [pml4 + 256 * 8], eax
    mov eax, offset pd
    or eax, PTE_P | PTE_RW
    mov [pdpt], eax
    xor ecx, ecx
5:  mov eax, ecx
    shl eax, 21
    or eax, PTE_P | PTE_RW | PTE_PS
    mov [pd + ecx * 8], eax
    mov dword ptr [pd + ecx * 8 + 4], 0
    inc ecx
    cmp ecx, 512
    jb 5b

    /* our GDT; reload CS and the data segments from it */
    lgdt [gdtr]
    ljmp B_CODE32, offset 6f
6:  mov eax, B_DATA
    mov ds, eax
    mov es, eax
    mov ss, eax
    mov fs, eax
    mov gs, eax

    /* SDM Vol 3A 9.8.5, steps 2-5 (we are in protected mode with paging off: step 1) */
    mov eax, cr4
    or eax, 0x20                    /* CR4.PAE */
    mov cr4, eax
    mov eax, offset pml4
    mov cr3, eax
    mov ecx, 0xC0000080             /* IA32_EFER */
    rdmsr
    or eax, 0x100                   /* LME */
    wrmsr
    mov eax, cr0
    or eax, 0x80000000              /* PG: IA-32e mode becomes active (LMA=1) */
    mov cr0, eax
    ljmp B_CODE64, offset long_mode

/* pass32(ESI = line text including "PASS ..." and newline): print, count a passed check */
pass32:
    call puts32
    inc dword ptr [checks_passed]
    ret

    .code64
long_mode:
    mov eax, B_DATA
    mov ds, eax
    mov es, eax
    mov ss, eax
    mov fs, eax
    mov gs, eax
    lea rsp, [rip + stack_top]
    PUTS "boot32to64: hello from 64-bit long mode\n"

    mov ecx, 0xC0000080
    rdmsr
    and eax, 0x500
    CHECK_EQ("IA32_EFER.LME and LMA set", 0x500, rax)
    mov rax, cs
    CHECK_EQ("running on 64-bit code segment 0x18", B_CODE64, rax)

    mov rax, 0x0123456789ABCDEF
    rol rax, 16
    PUTS "64-bit value: "
    mov rdi, rax
    call print_hex64
    call print_nl
    CHECK_EQ("64-bit rol of 0x0123456789abcdef by 16", 0x456789ABCDEF0123, rax)
    mov eax, 0xFFFFFFFF
    mul rax
    CHECK_EQ("64-bit mul 0xffffffff * 0xffffffff", 0xFFFFFFFE00000001, rax)

    mov rax, HIGH_ALIAS
    lea rcx, [rip + marker]
    add rax, rcx
    mov rax, [rax]
    CHECK_EQ("read through the 0xffff800000000000 alias", MARKER, rax)

    /* multiboot information structure: flags at +0, mem_lower at +4, mem_upper at +8 (KiB) */
    mov esi, [rip + mb_info]
    mov eax, [rsi]
    and eax, 1
    CHECK_EQ("MBI flags bit 0 (mem_lower/mem_upper valid)", 1, rax)
    PUTS "MBI mem_lower="
    mov edi, [rsi + 4]
    call print_dec
    PUTS " KiB mem_upper="
    mov edi, [rsi + 8]
    call print_dec
    PUTS " KiB\n"
    xor eax, eax
    cmp dword ptr [rsi + 8], 0
    setne al
    CHECK_EQ("MBI mem_upper nonzero", 1, rax)

    /* fw_cfg: write selector 0 (signature) to 0x510 (16-bit), read 4 bytes from 0x511 */
    mov edx, FWCFG_SEL_PORT
    xor eax, eax
    out dx, ax
    mov edx, FWCFG_DATA_PORT
    xor ebx, ebx
    mov ecx, 4
7:  in al, dx
    movzx eax, al
    shl ebx, 8
    or ebx, eax
    dec ecx
    jnz 7b
    bswap ebx                       /* first byte read is the lowest byte: "QEMU" = 0x554D4551 */
    PUTS "fw_cfg signature: "
    mov ecx, 4
    mov eax, ebx
8:  movzx edi, al
    call serial_putc
    shr eax, 8
    dec ecx
    jnz 8b
    call print_nl
    CHECK_EQ("fw_cfg signature QEMU", 0x554D4551, rbx)

    call check_summary
    mov edi, eax
    call exit

    .section .rodata
msg_hello32:     .asciz "boot32to64: hello from 32-bit protected mode\n"
msg_pass_magic:  .asciz "PASS multiboot magic in EAX\n"
msg_fail_magic:  .asciz "FAIL multiboot magic in EAX (expected 0x2badb002, got "
msg_close_paren: .asciz ")\n"
msg_pass_cr0:    .asciz "PASS entered in protected mode with paging off\n"
msg_fail_cr0:    .asciz "FAIL entered in protected mode with paging off\n"
msg_pass_lm:     .asciz "PASS CPUID reports long mode\n"
msg_fail_lm:     .asciz "FAIL CPUID reports long mode\n"

    .section .data
    .balign 16
gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF        /* 0x08: 32-bit code, DPL0 */
    .quad 0x00CF92000000FFFF        /* 0x10: data, DPL0 */
    .quad 0x00AF9A000000FFFF        /* 0x18: 64-bit code (L=1), DPL0 */
gdt_end:
    .balign 8
    .word 0
gdtr:
    .word gdt_end - gdt - 1
    .long gdt                       /* 32-bit LGDT reads a 32-bit base */
    .balign 8
marker:
    .quad MARKER
mb_magic: .long 0
mb_info:  .long 0

    .section .bss
    .balign 4096
pml4: .skip 4096
pdpt: .skip 4096
pd:   .skip 4096
    .balign 16
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
