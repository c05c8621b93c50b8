/*
 * realmode.S - a boot sector (flat binary, loaded at 0x7C00 and entered in real-address mode, as a
 * BIOS would) that walks the boot path: 16-bit code with real-mode segments, a far jump that
 * reloads CS, protected mode (CR0.PE + far jump to a 32-bit code segment), then IA-32e mode
 * (CR4.PAE, EFER.LME, CR0.PG, far jump to a 64-bit code segment). Prints one line per stage and
 * exits 0 through the debug-exit port. Self-contained: no library, no BIOS calls.
 * Order of the switch to IA-32e mode: SDM Vol. 3A 10.8.5; real → protected: SDM Vol. 3A 10.9.1.
 */
.intel_syntax noprefix
#define COM1 0x3F8
#define PML4 0x9000
#define PDPT 0xA000
#define PD   0xB000

    .section .text
    .code16
    .globl _start
_start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    lea si, [msg_real]
    call puts16
    /* Far jump with a non-zero segment: CS = 0x07C0, IP = offset from 0x7C00 (base = CS × 16). */
    ljmp 0x07C0, offset (far_target - _start)
far_target:
    mov ax, cs
    cmp ax, 0x07C0
    jne fail16
    /* Real-mode addressing through DS = 0x07C0 reaches the same bytes as DS = 0. */
    mov ax, 0x07C0
    mov ds, ax
    mov al, byte ptr [magic - _start]
    xor bx, bx
    mov ds, bx
    cmp al, byte ptr [magic]
    jne fail16
    cmp al, 0x5A
    jne fail16
    lea si, [msg_far]
    call puts16
    /* Enter protected mode. */
    lgdt [gdt_desc]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    ljmp 0x08, offset prot32

fail16:
    mov al, 1
    out 0xF4, al
1:  hlt
    jmp 1b

puts16:                       /* DS:SI = NUL-terminated string */
    lodsb
    test al, al
    jz 2f
    mov dx, COM1 + 5
1:  mov ah, al
    in al, dx
    test al, 0x20
    mov al, ah
    jz 1b
    mov dx, COM1
    out dx, al
    jmp puts16
2:  ret

    .code32
prot32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7C00
    lea esi, [msg_prot]
    call puts32
    /* Identity-map the first 2 MiB with one 2 MiB page: PML4[0] → PDPT, PDPT[0] → PD, PD[0] = 2 MiB page. */
    mov edi, PML4
    xor eax, eax
    mov ecx, 3 * 4096 / 4
    rep stosd
    mov dword ptr [PML4], PDPT | 3
    mov dword ptr [PDPT], PD | 3
    mov dword ptr [PD], 0x83
    mov eax, PML4
    mov cr3, eax
    mov eax, cr4
    or eax, 1 << 5            /* PAE */
    mov cr4, eax
    mov ecx, 0xC0000080       /* IA32_EFER */
    rdmsr
    or eax, 1 << 8            /* LME */
    wrmsr
    mov eax, cr0
    or eax, 1 << 31           /* PG: activates IA-32e mode (LMA) */
    mov cr0, eax
    ljmp 0x18, offset long64

puts32:                       /* ESI = NUL-terminated string */
    lodsb
    test al, al
    jz 2f
    mov dx, COM1 + 5
1:  mov ah, al
    in al, dx
    test al, 0x20
    mov al, ah
    jz 1b
    mov dx, COM1
    out dx, al
    jmp puts32
2:  ret

    .code64
long64:
    mov ecx, 0xC0000080
    rdmsr
    test eax, 1 << 10         /* LMA must be set */
    jz fail64
    /* A 64-bit computation only long mode can do. */
    mov rax, 0x123456789
    shl rax, 4
    mov rbx, 0x1234567890
    cmp rax, rbx
    jne fail64
    lea rsi, [rip + msg_long]
1:  lodsb
    test al, al
    jz 3f
    mov dx, COM1 + 5
2:  mov ah, al
    in al, dx
    test al, 0x20
    mov al, ah
    jz 2b
    mov dx, COM1
    out dx, al
    jmp 1b
3:  xor eax, eax
    out 0xF4, al
fail64:
    mov al, 1
    out 0xF4, al
    hlt

    .balign 8
gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF  /* 0x08: 32-bit code */
    .quad 0x00CF92000000FFFF  /* 0x10: data */
    .quad 0x00AF9A000000FFFF  /* 0x18: 64-bit code */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt
magic:
    .byte 0x5A
msg_real: .asciz "realmode: 16-bit real mode\n"
msg_far:  .asciz "realmode: far jump to 07C0:xxxx\n"
msg_prot: .asciz "realmode: 32-bit protected mode\n"
msg_long: .asciz "realmode: 64-bit long mode\n"
    .org 510
    .byte 0x55, 0xAA
