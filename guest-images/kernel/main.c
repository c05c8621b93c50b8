/*
 * main.c - kmain: from the multiboot information to the program in ring 3.
 *
 * Order: console, drop the boot identity map (user space is PML4[0..255]), GDT/TSS/IDT, page
 * frames (everything above the kernel image and the modules), tick and clocks, SYSCALL, then
 * exec of module 0 with the module's command line as argv. The kernel command line may contain
 * the word "verbose" (a few lines about memory and the program at start); nothing else is printed
 * unless something goes wrong, so the console carries exactly the program's output.
 */
#include "kernel.h"
#include "multiboot.h"

int kverbose;

noreturn void kexit(int status) {
    outb(0xF4, (u8)status);             /* debug-exit device: ends the run with this status */
    for (;;)                            /* no such device (another machine): stop here */
        __asm__ volatile("cli; hlt");
}

noreturn void panic(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    kprintf("kernel: panic: ");
    kvprintf(fmt, ap);
    kprintf("\n");
    va_end(ap);
    kexit(255);
}

static int has_word(const char *s, const char *w) {
    size_t n = strlen(w);
    while (*s) {
        while (*s == ' ')
            s++;
        const char *e = s;
        while (*e && *e != ' ')
            e++;
        if ((size_t)(e - s) == n && !memcmp(s, w, n))
            return 1;
        s = e;
    }
    return 0;
}

extern char boot_page_tables[];

void kmain(u32 mbi_phys) {
    uart_init();
    u64 pml4_phys = kimg_to_phys(boot_page_tables);
    u64 *pml4 = phys_to_virt(pml4_phys);
    pml4[0] = 0;                        /* the identity map was for boot.S only */
    write_cr3(pml4_phys);
    desc_init();

    const struct multiboot_info *mbi = phys_to_virt(mbi_phys);
    if ((mbi->flags & MBI_FLAG_CMDLINE) && mbi->cmdline)
        kverbose = has_word(phys_to_virt(mbi->cmdline), "verbose");

    /* reserved: 0 .. end of the kernel image, and the modules */
    u64 reserved_end = kimg_to_phys(__kernel_end);
    const struct multiboot_module *mods = phys_to_virt(mbi->mods_addr);
    u32 nmods = (mbi->flags & MBI_FLAG_MODS) ? mbi->mods_count : 0;
    for (u32 i = 0; i < nmods; i++)
        if (mods[i].mod_end > reserved_end)
            reserved_end = mods[i].mod_end;
    pmm_init(mbi, reserved_end);

    u32 a, b, c, d;
    cpuid(0x80000001, &a, &b, &c, &d);
    vm_init(pml4_phys, (d >> 20) & 1);
    timer_init();
    syscall_init();

    if (kverbose)
        kprintf("kernel: x86vmx guest kernel; %u module(s); %lu KiB free for the program\n", nmods,
                pmm_free_count() * 4);
    if (nmods == 0) {
        kprintf("kernel: no program: the boot loader passed no multiboot module (module 0 must be a static x86-64 ELF executable)\n");
        kexit(127);
    }
    const char *cmdline = mods[0].string ? (const char *)phys_to_virt(mods[0].string) : "";
    exec_module(mods[0].mod_start, mods[0].mod_end - mods[0].mod_start, cmdline);
}
