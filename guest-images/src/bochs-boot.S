/*
 * bochs-boot.S - a BIOS boot loader that starts an x86vmx direct-boot ELF64 image (contract A,
 * guest-images/README.md and emulator/loader/README.md) on a PC with a real BIOS, such as Bochs.
 * Development aid, not part of the emulator: guest-images/tools/bochs/make-disk.sh puts it in
 * front of the image's PT_LOAD segments on a raw disk (guest-images/tools/bochs/README.md).
 *
 * Disk layout (512-byte sectors):
 *   LBA 0                      this loader's first sector (BIOS loads it at 0x7C00)
 *   LBA 1 .. N-1               the rest of this loader (N = size of bochs-boot.bin / 512 - 1)
 *   LBA N                      the image header, written by make-disk.sh (layout at `header`)
 *   LBA N+1 ...                each segment's file bytes, starting on a sector boundary
 *
 * Linked at 0x8000: the first sector copies itself from 0x7C00 to 0x8000 and reads the rest of
 * the loader and the header behind it, so that nothing of the loader is left in 0x0000-0x7FFF,
 * the area contract A defines (zero apart from the GDT and page tables).
 *
 * Steps: program COM1 and COM2 for 8N1 (stage 2, below); enable A20 (port 0x92 and INT 15h
 * AX=2401h); RAM size = the highest end of an E820 "usable" (1) or "ACPI reclaimable" (3) range;
 * for each segment, read its sectors with INT 13h AH=42h in chunks of 64 sectors into the bounce
 * buffer at 0x10000 and copy each chunk to its place in 32-bit protected mode (back to real mode
 * for the next BIOS call); zero-fill p_memsz beyond p_filesz; mask both 8259s (x86vmx's PICs
 * start with IMR = 0xFF); then build contract A as emulator/loader/longmode.ts and
 * emulator/machine (applyBoot) do, and jump to e_entry:
 *   0x0000-0x7FFF zeroed, GDT at 0x500 (null, 0x08 64-bit code, 0x10 data, 0x18 32-bit code,
 *   0x20 data DPL3, 0x28 64-bit code DPL3; GDTR limit 0x2F; the descriptors' accessed bits are
 *   clear in memory, as the x86vmx loader leaves them), PML4 0x1000 -> PDPT 0x2000 -> PDs
 *   0x3000-0x6FFF identity-mapping 0-4 GiB with 2 MiB pages (P|RW|PS); CR0 = 0x80010033,
 *   CR2 = 0, CR3 = 0x1000, CR4 = 0x620, EFER = 0xD01; CS = 0x08, DS/ES/SS/FS/GS = 0x10;
 *   IDTR base 0 limit 0; RFLAGS = 0x2; RSP = 0x80000 (the qword below it is 0); RDI = RAM size;
 *   every other GPR 0. (tools/bochs/compare-boot-state.sh checks this against x86vmx.)
 * What stays from the BIOS: TR/LDTR (selector 0, as on x86vmx), the APIC, PIT and the rest of
 * the chipset as the BIOS left them, MSRs the BIOS set, and 0x8000 and up: this loader (0x8000-
 * 0x87FF), the bounce buffer (0x10000-0x17FFF), BIOS data (EBDA, tables in 0xF0000-0xFFFFF and
 * at the top of RAM, which E820 reports). make-disk.sh accepts only segments in [1 MiB, 4 GiB).
 * Errors print "bochs-boot: <what>" on COM1 and request a Bochs shutdown (port 0x8900).
 *
 * Real -> protected mode and back: SDM Vol. 3A 9.9.1 and 9.9.2; IA-32e activation: 9.8.5
 * (10.9.1, 10.9.2, 10.8.5 in the editions from 2023 on).
 */
.intel_syntax noprefix

#define LOAD_ADDR    0x8000
#define BOUNCE_SEG   0x1000          /* bounce buffer 0x10000 */
#define BOUNCE       0x10000
#define CHUNK_SECT   64              /* 32 KiB per INT 13h read */
#define E820_BUF     0x7000
#define COM1         0x3F8
#define COM2         0x2F8
#define SHUTDOWN_PORT 0x8900

#define SEL_CODE64   0x08
#define SEL_DATA     0x10
#define SEL_CODE32   0x18
#define SEL_CODE16   0x20
#define SEL_DATA16   0x28

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
    cld
    mov si, 0x7C00                  /* move this sector to its link address */
    mov di, LOAD_ADDR
    mov cx, 256
    rep movsw
    ljmp 0, offset relocated
relocated:
    mov [boot_drive], dl
    sti

    /* INT 13h extensions present? (AH=41h, BX=55AAh -> CF=0, BX=AA55h, CX bit 0 = AH=42h) */
    mov ah, 0x41
    mov bx, 0x55AA
    mov dl, [boot_drive]
    int 0x13
    jc no_ext
    cmp bx, 0xAA55
    jne no_ext
    test cl, 1
    jz no_ext

    /* the rest of the loader and the header: LBA 1 .. LOADER_SECTORS -> 0x8200 */
    mov eax, 1
    mov cx, [rest_sectors]
    mov di, LOAD_ADDR + 512
    xor dx, dx
    call disk_read
    jmp stage2

/* disk_read(EAX = LBA, CX = sector count, DX:DI = buffer segment:offset) - CF never returned:
 * a failing read is fatal. Clobbers AX, SI. */
disk_read:
    mov [dap_lba], eax
    mov [dap_count], cx
    mov [dap_off], di
    mov [dap_seg], dx
    mov si, offset dap
    mov dl, [boot_drive]
    mov ah, 0x42
    int 0x13
    jc read_error
    ret

no_ext:
    mov si, offset msg_no_ext
    jmp fatal
read_error:
    mov si, offset msg_read
/* fatal(SI = message): print "bochs-boot: <message>\n" on COM1, ask Bochs to shut down, halt. */
fatal:
    push si
    mov si, offset msg_prefix
    call puts16
    pop si
    call puts16
    mov si, offset msg_shutdown
    mov dx, SHUTDOWN_PORT
1:  lodsb
    test al, al
    jz 2f
    out dx, al
    jmp 1b
2:  cli
    hlt
    jmp 2b

/* puts16(SI = NUL-terminated string) on COM1, polling LSR.THRE */
puts16:
    lodsb
    test al, al
    jz 2f
    mov ah, al
    mov dx, COM1 + 5
1:  in al, dx
    test al, 0x20
    jz 1b
    mov al, ah
    mov dx, COM1
    out dx, al
    jmp puts16
2:  ret

    .balign 4
dap:
    .byte 16, 0
dap_count: .word 0
dap_off:   .word 0
dap_seg:   .word 0
dap_lba:   .long 0, 0
boot_drive: .byte 0
    .balign 2
rest_sectors: .word (header_end - _start) / 512 - 1

msg_prefix:   .asciz "bochs-boot: "
msg_no_ext:   .asciz "no INT 13h extensions\n"
msg_read:     .asciz "disk read error\n"
msg_shutdown: .asciz "Shutdown"

    .org 510
    .word 0xAA55

/* ---- second stage (sectors 1..) ---- */
stage2:
    /* header magic "X86VMXBT" */
    mov si, offset msg_header
    cmp dword ptr [header], 0x56363858          /* "X86V" */
    jne fatal
    cmp dword ptr [header + 4], 0x5442584D      /* "MXBT" */
    jne fatal

    /* COM1 and COM2: 8 data bits, no parity, 1 stop bit (LCR = 0x03), divisor 1 (115200 baud),
     * IER = 0. Bochs sends only LCR's word length of each byte (5 bits after reset); x86vmx's
     * UART ignores LCR, so this is the one register where the state differs from contract A on
     * x86vmx (LCR = 0 there). COM2 carries the exit status (guest-images/src/lib/exit.S). */
    mov bx, COM1
    call uart_init
    mov bx, COM2
    call uart_init

    /* A20: fast A20 gate (port 0x92 bit 1) and the BIOS call */
    in al, 0x92
    or al, 2
    and al, 0xFE                                /* never the reset bit */
    out 0x92, al
    mov ax, 0x2401
    int 0x15

    call e820_ram_size
    mov si, offset msg_e820
    mov eax, [ram_size]
    or eax, [ram_size + 4]
    jz fatal

    /* load the segments */
    mov si, offset header + 24
    mov cx, [header + 16]                       /* segment count */
    mov [seg_left], cx
seg_loop:
    cmp word ptr [seg_left], 0
    je segs_done
    mov eax, [si]                               /* paddr */
    mov [cur_dst], eax
    mov eax, [si + 4]                           /* filesz */
    mov [cur_left], eax
    mov eax, [si + 12]                          /* LBA */
    mov [cur_lba], eax
    push si
chunk_loop:
    mov eax, [cur_left]
    test eax, eax
    jz chunk_done
    cmp eax, CHUNK_SECT * 512
    jbe 1f
    mov eax, CHUNK_SECT * 512
1:  mov [cur_bytes], eax
    add eax, 511
    shr eax, 9
    mov cx, ax
    mov eax, [cur_lba]
    xor di, di
    mov dx, BOUNCE_SEG
    call disk_read
    mov esi, BOUNCE
    mov edi, [cur_dst]
    mov ecx, [cur_bytes]
    xor bl, bl                                  /* copy */
    call pm_op
    mov eax, [cur_bytes]
    add [cur_dst], eax
    sub [cur_left], eax
    add eax, 511
    shr eax, 9
    add [cur_lba], eax
    jmp chunk_loop
chunk_done:
    pop si
    /* zero [paddr + filesz, paddr + memsz) */
    mov edi, [si]
    add edi, [si + 4]
    mov ecx, [si + 8]
    sub ecx, [si + 4]
    mov bl, 1
    call pm_op
    add si, 16
    dec word ptr [seg_left]
    jmp seg_loop

segs_done:
    /* 8259s: mask every IRQ (the x86vmx PICs start with IMR = 0xFF) */
    mov al, 0xFF
    out 0xA1, al
    out 0x21, al

    cli
    lgdt [loader_gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    ljmp SEL_CODE32, offset final32

/* uart_init(BX = 16550 base port). Clobbers AX, DX. */
uart_init:
    lea dx, [bx + 3]
    mov al, 0x80                                /* DLAB */
    out dx, al
    mov dx, bx
    mov al, 1                                   /* DLL */
    out dx, al
    inc dx
    xor al, al                                  /* DLM */
    out dx, al
    lea dx, [bx + 3]
    mov al, 3                                   /* 8N1, DLAB = 0 */
    out dx, al
    lea dx, [bx + 1]
    xor al, al                                  /* IER */
    out dx, al
    ret

/* e820_ram_size(): [ram_size] = highest end of an E820 type 1 or 3 range (0 if E820 fails). */
e820_ram_size:
    xor ebx, ebx
1:  mov eax, 0xE820
    mov edx, 0x534D4150                         /* "SMAP" */
    mov ecx, 24
    mov di, E820_BUF
    mov dword ptr [di + 20], 1
    int 0x15
    jc 9f
    cmp eax, 0x534D4150
    jne 9f
    mov eax, [di + 16]
    cmp eax, 1
    je 2f
    cmp eax, 3
    jne 3f
2:  mov eax, [di]                               /* end = base + length (64-bit) */
    mov edx, [di + 4]
    add eax, [di + 8]
    adc edx, [di + 12]
    cmp edx, [ram_size + 4]
    jb 3f
    ja 4f
    cmp eax, [ram_size]
    jbe 3f
4:  mov [ram_size], eax
    mov [ram_size + 4], edx
3:  test ebx, ebx
    jnz 1b
9:  ret

/* pm_op(ESI = source, EDI = destination, ECX = byte count, BL = 0 copy / 1 zero-fill) in 32-bit
 * protected mode with flat segments, then back to real mode with DS = ES = 0. Clobbers EAX,
 * ECX, ESI, EDI. Interrupts are off while in protected mode. */
pm_op:
    pushf
    cli
    lgdt [loader_gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    ljmp SEL_CODE32, offset pm_op32
    .code32
pm_op32:
    mov ax, SEL_DATA
    mov ds, ax
    mov es, ax
    test bl, bl
    jnz 1f
    rep movsb
    jmp 2f
1:  xor eax, eax
    rep stosb
2:  ljmp SEL_CODE16, offset pm_op16
    .code16
pm_op16:
    mov ax, SEL_DATA16                          /* real-mode compatible limits (64 KiB) */
    mov ds, ax
    mov es, ax
    mov eax, cr0
    and al, 0xFE
    mov cr0, eax
    ljmp 0, offset pm_op_rm
pm_op_rm:
    xor ax, ax
    mov ds, ax
    mov es, ax
    popf
    ret

/* ---- final stage: contract A ---- */
    .code32
final32:
    mov ax, SEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    cld
    /* 0x0000-0x7FFF: zero */
    xor eax, eax
    xor edi, edi
    mov ecx, 0x8000 / 4
    rep stosd
    /* GDT at 0x500 */
    mov esi, offset contract_gdt
    mov edi, 0x500
    mov ecx, 6 * 8 / 4
    rep movsd
    /* PML4[0] -> PDPT, PDPT[0..3] -> the 4 PDs, 2048 PDEs of 2 MiB pages (P|RW|PS) */
    mov dword ptr [0x1000], 0x2000 | 3
    mov dword ptr [0x2000], 0x3000 | 3
    mov dword ptr [0x2008], 0x4000 | 3
    mov dword ptr [0x2010], 0x5000 | 3
    mov dword ptr [0x2018], 0x6000 | 3
    xor ecx, ecx
1:  mov eax, ecx
    shl eax, 21
    or eax, 0x83
    mov [0x3000 + ecx * 8], eax                 /* high dwords stay 0: below 4 GiB */
    inc ecx
    cmp ecx, 2048
    jb 1b
    /* CR4 = PAE|OSFXSR|OSXMMEXCPT, CR3, EFER = SCE|LME|NXE (LMA follows), CR0 = PE|MP|ET|NE|WP|PG */
    mov eax, 0x620
    mov cr4, eax
    mov eax, 0x1000
    mov cr3, eax
    mov ecx, 0xC0000080
    xor edx, edx
    mov eax, 0x901
    wrmsr
    mov eax, 0x80010033
    mov cr0, eax
    ljmp SEL_CODE64, offset final64

    .code64
final64:
    lgdt [rip + contract_gdtr]
    jmp fword ptr [rip + far_cs]                /* CS = 0x08 from the GDT at 0x500 */
final64_cs:
    mov eax, SEL_DATA
    mov ds, eax
    mov es, eax
    mov ss, eax
    mov fs, eax
    mov gs, eax
    /* loading the selectors set the accessed bits in the GDT: write it again (accessed = 0, as
     * the x86vmx loader leaves it; the descriptor caches keep A = 1 either way) */
    lea rsi, [rip + contract_gdt]
    mov edi, 0x500
    mov ecx, 6 * 8 / 4
    rep movsd
    lidt [rip + null_idtr]
    xor eax, eax
    mov cr2, rax
    /* RFLAGS = 0x2 through a stack slot that is cleared again afterwards */
    mov rsp, 0x80000 - 8
    mov qword ptr [rsp], 2
    popfq                                       /* RSP = 0x80000 */
    mov qword ptr [0x80000 - 8], 0              /* MOV leaves RFLAGS alone from here on */
    mov rdi, [rip + ram_size]
    mov eax, 0
    mov ebx, 0
    mov ecx, 0
    mov edx, 0
    mov esi, 0
    mov ebp, 0
    mov r8d, 0
    mov r9d, 0
    mov r10d, 0
    mov r11d, 0
    mov r12d, 0
    mov r13d, 0
    mov r14d, 0
    mov r15d, 0
    jmp qword ptr [rip + header + 8]            /* e_entry */

/* ---- data ---- */
    .balign 8
loader_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF                    /* 0x08 64-bit code */
    .quad 0x00CF92000000FFFF                    /* 0x10 flat data */
    .quad 0x00CF9A000000FFFF                    /* 0x18 flat 32-bit code */
    .quad 0x00009A000000FFFF                    /* 0x20 16-bit code, base 0, limit 0xFFFF */
    .quad 0x000092000000FFFF                    /* 0x28 16-bit data, base 0, limit 0xFFFF */
loader_gdt_end:
contract_gdt:                                   /* emulator/loader/longmode.ts LONG_GDT */
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
    .quad 0x00CF9A000000FFFF
    .quad 0x00CFF2000000FFFF
    .quad 0x00AFFA000000FFFF
    .balign 8
    .word 0, 0, 0
loader_gdtr:
    .word loader_gdt_end - loader_gdt - 1
    .quad loader_gdt
    .balign 8
    .word 0, 0, 0
contract_gdtr:
    .word 6 * 8 - 1
    .quad 0x500
    .balign 8
    .word 0, 0, 0
null_idtr:
    .word 0
    .quad 0
    .balign 8
far_cs:
    .long final64_cs
    .word SEL_CODE64
    .balign 8
ram_size:  .quad 0
cur_dst:   .long 0
cur_left:  .long 0
cur_lba:   .long 0
cur_bytes: .long 0
seg_left:  .word 0
msg_header: .asciz "bad image header\n"
msg_e820:   .asciz "no RAM size from E820\n"

/* The header sector, filled in by make-disk.sh (all fields little-endian):
 *   +0  "X86VMXBT"   +8 u64 e_entry   +16 u32 segment count (<= 30)   +20 u32 0
 *   +24 segments, 16 bytes each: u32 p_paddr, u32 p_filesz, u32 p_memsz, u32 first LBA */
    .balign 512
    .globl header
header:
    .skip 512
header_end:

    .section .note.GNU-stack, "", @progbits
