/*
 * exec.c - start the program: check the ELF image (multiboot module 0), map its segments, build
 * the initial stack (x86-64 SysV ABI, 3.4.1) and enter it in ring 3.
 *
 * Accepted: ELF64, little-endian, version 1, ET_EXEC, EM_X86_64, program headers of 56 bytes
 * inside the file, no PT_INTERP, at least one PT_LOAD, every PT_LOAD with p_filesz <= p_memsz,
 * its file bytes inside the file, its memory inside [USER_MIN, STACK_BOTTOM), no two PT_LOADs
 * overlapping, and the entry point inside an executable PT_LOAD. Anything else:
 * "kernel: program is not a static x86-64 ELF executable: REASON" and exit status 127.
 *
 * Loading: each PT_LOAD becomes a VMA (VMA_ELF) with the segment's protections (a page shared by
 * two segments gets the union). The pages that hold file bytes are allocated now, zeroed by
 * clear_page and filled from the file; the rest of .bss is demand-zero like any anonymous memory.
 * The heap starts at the first page boundary after the highest segment. The stack VMA is
 * [STACK_BOTTOM, STACK_TOP), demand-paged.
 *
 * Initial stack, from STACK_TOP down: 8 zero bytes; the argument strings; "x86_64"; 16 bytes for
 * AT_RANDOM; then (16-byte aligned, RSP points here) argc, argv[0..argc-1], NULL, envp NULL,
 * auxv pairs, AT_NULL. Registers at entry: RSP as above, RDX = 0 (no exit handler), all other
 * general registers 0, RFLAGS = 0x202, MXCSR = 0x1F80, FS base = 0.
 */
#include "kernel.h"

#define PT_LOAD 1
#define PT_INTERP 3
#define PT_PHDR 6
#define PF_X 1
#define PF_W 2
#define PF_R 4

#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_PLATFORM 15
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_HWCAP2 26
#define AT_EXECFN 31

#define MAX_ARGS 256
#define MAX_CMDLINE 4096

struct elf64_ehdr {
    u8 e_ident[16];
    u16 e_type, e_machine;
    u32 e_version;
    u64 e_entry, e_phoff, e_shoff;
    u32 e_flags;
    u16 e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf64_phdr {
    u32 p_type, p_flags;
    u64 p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

static noreturn void reject(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    kprintf("kernel: program is not a static x86-64 ELF executable: ");
    kvprintf(fmt, ap);
    kprintf("\n");
    va_end(ap);
    kexit(127);
}

static void check_elf(const u8 *img, u64 size) {
    if (size == 0)
        reject("the module is empty (0 bytes)");
    if (size < 4 || memcmp(img, "\177ELF", 4)) {
        char first[13] = {0};           /* up to 4 bytes in hex: "xx xx xx xx" */
        for (u64 i = 0; i < 4 && i < size; i++) {
            first[3 * i] = "0123456789abcdef"[img[i] >> 4];
            first[3 * i + 1] = "0123456789abcdef"[img[i] & 15];
            first[3 * i + 2] = i + 1 < 4 && i + 1 < size ? ' ' : 0;
        }
        reject("no ELF magic (the file starts with %s)", first);
    }
    if (size < sizeof(struct elf64_ehdr))
        reject("%lu bytes is too short for an ELF header (64 bytes)", size);
    const struct elf64_ehdr *eh = (const void *)img;
    if (eh->e_ident[4] != 2)
        reject("ELF class %u is not ELFCLASS64 (2)%s", eh->e_ident[4], eh->e_ident[4] == 1 ? ": a 32-bit program" : "");
    if (eh->e_ident[5] != 1)
        reject("ELF data encoding %u is not little-endian (1)", eh->e_ident[5]);
    if (eh->e_ident[6] != 1 || eh->e_version != 1)
        reject("ELF version %u is not 1", eh->e_version);
    if (eh->e_machine != 62)
        reject("machine %u is not EM_X86_64 (62)", eh->e_machine);
    if (eh->e_type == 3)
        reject("type ET_DYN (a position-independent executable or a shared library); only ET_EXEC is supported");
    if (eh->e_type != 2)
        reject("type %u is not ET_EXEC (2)", eh->e_type);
    if (eh->e_phnum == 0)
        reject("no program headers");
    if (eh->e_phentsize != sizeof(struct elf64_phdr))
        reject("program header size %u is not 56", eh->e_phentsize);
    if (eh->e_phoff > size || (size - eh->e_phoff) / sizeof(struct elf64_phdr) < eh->e_phnum)
        reject("the program header table (offset 0x%lx, %u entries) extends beyond the end of the file (%lu bytes)",
               eh->e_phoff, eh->e_phnum, size);
    const struct elf64_phdr *ph = (const void *)(img + eh->e_phoff);
    int loads = 0, entry_ok = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        const struct elf64_phdr *p = &ph[i];
        if (p->p_type == PT_INTERP)
            reject("it has a PT_INTERP segment: a dynamically linked program (link it with -static)");
        if (p->p_type != PT_LOAD || p->p_memsz == 0)
            continue;
        loads++;
        if (p->p_filesz > p->p_memsz)
            reject("PT_LOAD segment %d: p_filesz 0x%lx is larger than p_memsz 0x%lx", i, p->p_filesz, p->p_memsz);
        if (p->p_offset > size || size - p->p_offset < p->p_filesz)
            reject("PT_LOAD segment %d: file bytes [0x%lx, 0x%lx) extend beyond the end of the file (%lu bytes)", i,
                   p->p_offset, p->p_offset + p->p_filesz, size);
        u64 end = p->p_vaddr + p->p_memsz;
        if (p->p_vaddr < USER_MIN || end < p->p_vaddr || end > STACK_BOTTOM)
            reject("PT_LOAD segment %d [0x%lx, 0x%lx) is outside the user range [0x%lx, 0x%lx)", i, p->p_vaddr, end,
                   USER_MIN, STACK_BOTTOM);
        for (int j = 0; j < i; j++) {
            const struct elf64_phdr *q = &ph[j];
            if (q->p_type == PT_LOAD && q->p_memsz && q->p_vaddr < end && p->p_vaddr < q->p_vaddr + q->p_memsz)
                reject("PT_LOAD segments %d and %d overlap", j, i);
        }
        if ((p->p_flags & PF_X) && eh->e_entry >= p->p_vaddr && eh->e_entry < end)
            entry_ok = 1;
    }
    if (!loads)
        reject("no PT_LOAD segments");
    if (!entry_ok)
        reject("the entry point 0x%lx is not inside an executable PT_LOAD segment", eh->e_entry);
}

static u32 prot_of(u32 pflags) {
    return (pflags & PF_R ? PROT_READ : 0) | (pflags & PF_W ? PROT_WRITE : 0) | (pflags & PF_X ? PROT_EXEC : 0);
}

/* Map the PT_LOADs; returns the end of the highest one. */
static u64 load_segments(const u8 *img, const struct elf64_ehdr *eh) {
    const struct elf64_phdr *ph = (const void *)(img + eh->e_phoff);
    u64 top = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        const struct elf64_phdr *p = &ph[i];
        if (p->p_type != PT_LOAD || p->p_memsz == 0)
            continue;
        u64 lo = PAGE_DOWN(p->p_vaddr), hi = PAGE_ALIGN(p->p_vaddr + p->p_memsz);
        u32 prot = prot_of(p->p_flags);
        /* segments do not overlap, so only their first and last pages can be shared */
        if (!vma_range_free(lo, lo + PAGE_SIZE)) {
            vma_prot_or(lo, lo + PAGE_SIZE, prot);
            lo += PAGE_SIZE;
        }
        if (hi > lo && !vma_range_free(hi - PAGE_SIZE, hi)) {
            vma_prot_or(hi - PAGE_SIZE, hi, prot);
            hi -= PAGE_SIZE;
        }
        if (hi > lo && vma_add(lo, hi, prot, VMA_ELF))
            panic("too many memory regions");
        if (p->p_vaddr + p->p_memsz > top)
            top = p->p_vaddr + p->p_memsz;
    }
    /* copy the file bytes through the direct map (the pages may be read-only for the program) */
    for (int i = 0; i < eh->e_phnum; i++) {
        const struct elf64_phdr *p = &ph[i];
        if (p->p_type != PT_LOAD || p->p_memsz == 0)
            continue;
        u64 va = p->p_vaddr, end = p->p_vaddr + p->p_filesz;
        const u8 *src = img + p->p_offset;
        while (va < end) {
            u64 n = PAGE_SIZE - (va & (PAGE_SIZE - 1));
            if (n > end - va)
                n = end - va;
            u8 *dst = (u8 *)phys_to_virt(vm_user_frame(va, 1)) + (va & (PAGE_SIZE - 1));
            memcpy(dst, src, n);
            src += n;
            va += n;
        }
    }
    return top;
}

/* Address of the program headers in the program's memory, or 0 if no segment holds them. */
static u64 phdr_address(const struct elf64_ehdr *eh, const struct elf64_phdr *ph) {
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_PHDR)
            return ph[i].p_vaddr;
    u64 len = (u64)eh->e_phnum * sizeof(struct elf64_phdr);
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && eh->e_phoff >= ph[i].p_offset &&
            eh->e_phoff + len <= ph[i].p_offset + ph[i].p_filesz)
            return ph[i].p_vaddr + (eh->e_phoff - ph[i].p_offset);
    return 0;
}

static u64 splitmix64(u64 *s) {
    u64 z = (*s += 0x9E3779B97F4A7C15UL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

static char cmdbuf[MAX_CMDLINE];
static char *argv_k[MAX_ARGS];
static struct trapframe user_frame;

noreturn void exec_module(u64 image_phys, u64 size, const char *cmdline) {
    const u8 *img = phys_to_virt(image_phys);
    check_elf(img, size);
    const struct elf64_ehdr *eh = (const void *)img;
    const struct elf64_phdr *ph = (const void *)(img + eh->e_phoff);

    /* argv: the module command line split on spaces and tabs */
    u64 n = strlen(cmdline);
    if (n >= MAX_CMDLINE)
        n = MAX_CMDLINE - 1;
    memcpy(cmdbuf, cmdline, n);
    cmdbuf[n] = 0;
    int argc = 0;
    for (char *s = cmdbuf; *s;) {
        while (*s == ' ' || *s == '\t')
            *s++ = 0;
        if (!*s)
            break;
        if (argc == MAX_ARGS) {
            kprintf("kernel: more than %d arguments; ignoring the rest\n", MAX_ARGS);
            break;
        }
        argv_k[argc++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
    }
    if (argc == 0)
        argv_k[argc++] = (char *)"program";     /* no command line: argv[0] = "program" */

    u64 top = load_segments(img, eh);
    vm_set_brk_start(PAGE_ALIGN(top));
    if (vma_add(STACK_BOTTOM, STACK_TOP, PROT_READ | PROT_WRITE, VMA_STACK))
        panic("cannot map the stack");

    /* strings at the top of the stack (written through the program's addresses: demand paging) */
    u64 sp = STACK_TOP - 8;
    *(u64 *)sp = 0;
    u64 strings = 0;
    for (int i = 0; i < argc; i++)
        strings += strlen(argv_k[i]) + 1;
    sp -= strings;
    u64 argv_u[MAX_ARGS];
    char *dst = (char *)sp;
    for (int i = 0; i < argc; i++) {
        u64 len = strlen(argv_k[i]) + 1;
        memcpy(dst, argv_k[i], len);
        argv_u[i] = (u64)dst;
        dst += len;
    }
    sp -= 7;
    memcpy((void *)sp, "x86_64", 7);
    u64 platform = sp;
    sp = (sp & ~15UL) - 16;
    u64 random = sp;
    u64 seed = rdtsc();                 /* deterministic under x86vmx: virtual time */
    ((u64 *)random)[0] = splitmix64(&seed);
    ((u64 *)random)[1] = splitmix64(&seed);

    u32 a, b, c, d;
    cpuid(1, &a, &b, &c, &d);
    u64 phdr = phdr_address(eh, ph);
    u64 auxv[][2] = {
        {AT_PHDR, phdr}, {AT_PHENT, sizeof(struct elf64_phdr)}, {AT_PHNUM, eh->e_phnum},
        {AT_PAGESZ, PAGE_SIZE}, {AT_BASE, 0}, {AT_FLAGS, 0}, {AT_ENTRY, eh->e_entry},
        {AT_UID, 0}, {AT_EUID, 0}, {AT_GID, 0}, {AT_EGID, 0}, {AT_PLATFORM, platform},
        {AT_HWCAP, d}, {AT_CLKTCK, 100}, {AT_SECURE, 0}, {AT_RANDOM, random}, {AT_HWCAP2, 0},
        {AT_EXECFN, argv_u[0]}, {AT_NULL, 0},
    };
    int nauxv = sizeof(auxv) / sizeof(auxv[0]);
    int first = phdr ? 0 : 1;           /* leave AT_PHDR out if no segment holds the headers */
    u64 words = 1 + argc + 1 + 1 + 2 * (nauxv - first);
    sp = (sp - words * 8) & ~15UL;
    u64 *w = (u64 *)sp;
    *w++ = argc;
    for (int i = 0; i < argc; i++)
        *w++ = argv_u[i];
    *w++ = 0;                           /* end of argv */
    *w++ = 0;                           /* envp: empty */
    for (int i = first; i < nauxv; i++) {
        *w++ = auxv[i][0];
        *w++ = auxv[i][1];
    }

    if (kverbose) {
        kprintf("kernel: program: %lu bytes, entry 0x%lx, %d argument(s), brk 0x%lx, sp 0x%lx\n", size,
                eh->e_entry, argc, PAGE_ALIGN(top), sp);
        kprintf("kernel: %lu free page frames\n", pmm_free_count());
    }

    u32 mxcsr = 0x1F80;
    __asm__ volatile("ldmxcsr %0" ::"m"(mxcsr));
    wrmsr(MSR_FS_BASE, 0);
    user_frame.rip = eh->e_entry;
    user_frame.cs = SEL_UCODE | 3;
    user_frame.rflags = 0x202;
    user_frame.rsp = sp;
    user_frame.ss = SEL_UDATA | 3;
    enter_user(&user_frame);
}
