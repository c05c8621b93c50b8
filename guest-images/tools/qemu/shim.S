/*
 * shim.S - development aid, not part of the emulator: boots an x86vmx direct-boot ELF64 image
 * (contract A) on QEMU, so the images' expectations can be checked against QEMU/TCG or KVM
 * (real hardware). QEMU loads this multiboot v1 kernel and the ELF64 image as module 0
 * (-kernel shim.elf -initrd image.elf); the shim then recreates contract A exactly:
 *   PT_LOAD segments copied to p_paddr (p_memsz - p_filesz zeroed); GDT at 0x500 = null,
 *   0x08 64-bit code, 0x10 data, 0x18 32-bit code, 0x20 data DPL3, 0x28 64-bit code DPL3;
 *   PML4 0x1000, PDPT 0x2000, PDs 0x3000-0x6FFF identity-mapping 0..4 GiB with 2 MiB pages
 *   (supervisor, RW); CR0=0x80010033, CR4=0x620, EFER=0xD01; CS=0x08, data segments 0x10;
 *   RSP=0x80000, RFLAGS=0x2, RDI = RAM size, IDTR base 0 limit 0; jump to e_entry.
 * Linked at 16 MiB so that it stays clear of the images (1 MiB and up).
 */
.intel_syntax noprefix

#define GDT_ADDR 0x500
#define PML4     0x1000
#define PDPT     0x2000
#define PD0      0x3000

    .section .multiboot, "a"
    .balign 4
    .long 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)

    .section .text
    .code32
    .globl _start
_start:
    cli
    cld
    mov esp, offset shim_stack_top
    cmp eax, 0x2BADB002
    jne fail
    mov [mbi], ebx
    test dword ptr [ebx], 1 << 3    /* mods_* valid */
    jz fail
    cmp dword ptr [ebx + 20], 1     /* mods_count */
    jb fail
    mov esi, [ebx + 24]             /* mods_addr */
    mov esi, [esi]                  /* mod_start: the ELF64 image */
    mov [image], esi
    cmp dword ptr [esi], 0x464C457F /* "\x7fELF" */
    jne fail
    cmp byte ptr [esi + 4], 2       /* ELFCLASS64 */
    jne fail

    /* copy PT_LOAD segments */
    mov ebp, [esi + 32]             /* e_phoff (low 32 bits) */
    add ebp, esi
    movzx ecx, word ptr [esi + 56]  /* e_phnum */
1:  test ecx, ecx
    jz 3f
    cmp dword ptr [ebp], 1          /* PT_LOAD */
    jne 2f
    push ecx
    push esi
    mov edi, [ebp + 24]             /* p_paddr */
    mov ebx, [ebp + 40]             /* p_memsz */
    mov ecx, [ebp + 32]             /* p_filesz */
    sub ebx, ecx
    add esi, [ebp + 8]              /* p_offset */
    rep movsb
    mov ecx, ebx
    xor eax, eax
    rep stosb
    pop esi
    pop ecx
2:  movzx eax, word ptr [esi + 54]  /* e_phentsize */
    add ebp, eax
    dec ecx
    jmp 1b
3:
    /* GDT at 0x500 */
    mov edi, GDT_ADDR
    mov esi, offset gdt_template
    mov ecx, 6 * 8
    rep movsb
    /* page tables */
    mov edi, PML4
    mov ecx, 6 * 4096 / 4
    xor eax, eax
    rep stosd
    mov dword ptr [PML4], PDPT | 3
    mov dword ptr [PDPT + 0], PD0 + 0x0000 | 3
    mov dword ptr [PDPT + 8], PD0 + 0x1000 | 3
    mov dword ptr [PDPT + 16], PD0 + 0x2000 | 3
    mov dword ptr [PDPT + 24], PD0 + 0x3000 | 3
    xor ecx, ecx
4:  mov eax, ecx
    shl eax, 21
    or eax, 0x83
    mov [PD0 + ecx * 8], eax
    mov eax, ecx
    shr eax, 11
    mov [PD0 + ecx * 8 + 4], eax
    inc ecx
    cmp ecx, 2048
    jb 4b

    /* RAM size = (mem_upper + 1024) KiB */
    mov ebx, [mbi]
    mov eax, [ebx + 8]
    add eax, 1024
    shl eax, 10
    mov [ram_size], eax

    lgdt [gdtr]
    mov eax, 0x620
    mov cr4, eax
    mov eax, PML4
    mov cr3, eax
    mov ecx, 0xC0000080
    xor edx, edx
    mov eax, 0x901                  /* SCE | LME | NXE; LMA follows from CR0.PG */
    wrmsr
    mov eax, 0x80010033
    mov cr0, eax
    ljmp 0x08, offset long_mode

fail:
    mov al, 0x7F
    out 0xF4, al
5:  hlt
    jmp 5b

    .code64
long_mode:
    mov eax, 0x10
    mov ds, eax
    mov es, eax
    mov ss, eax
    mov fs, eax
    mov gs, eax
    lidt [rip + idtr_zero]
    mov esi, [rip + image]
    mov rax, [rsi + 24]             /* e_entry */
    mov edi, [rip + ram_size]
    mov esp, 0x80000
    push 2
    popfq
    xor ebx, ebx
    xor ecx, ecx
    xor edx, edx
    xor esi, esi
    xor ebp, ebp
    jmp rax

    .section .data
    .balign 8
gdt_template:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
    .quad 0x00CF9A000000FFFF
    .quad 0x00CFF2000000FFFF
    .quad 0x00AFFA000000FFFF
    .balign 8
    .word 0
gdtr:
    .word 6 * 8 - 1
    .long GDT_ADDR
    .balign 8
    .word 0, 0, 0
idtr_zero:
    .word 0
    .quad 0
mbi:      .long 0
image:    .long 0
ram_size: .long 0

    .section .bss
    .balign 16
    .skip 8192
shim_stack_top:

    .section .note.GNU-stack, "", @progbits
