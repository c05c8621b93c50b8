/*
 * trap.c - what happens on an interrupt or exception.
 *
 * IRQs (PIC vectors 0x20-0x2F): IRQ0 counts a tick, IRQ4 (COM1 received data) only wakes the CPU
 * (the blocked read polls the UART); both are acknowledged with a non-specific EOI.
 * Page faults at user addresses (from ring 3, or from the kernel touching the program's memory in
 * a system call or while building the initial stack) go to the demand pager (vm.c).
 * Any other exception in ring 3 ends the program the way a fatal signal would on Linux: one line
 * on COM1 and exit status 128 + signal number. An exception in the kernel is a kernel bug: panic.
 */
#include "kernel.h"

#define SIGTRAP 5
#define SIGILL 4
#define SIGBUS 7
#define SIGFPE 8
#define SIGSEGV 11

static const char *const exc_names[32] = {
    "divide error (#DE)", "debug (#DB)", "NMI", "breakpoint (#BP)", "overflow (#OF)", "bound range (#BR)",
    "invalid opcode (#UD)", "device not available (#NM)", "double fault (#DF)", "coprocessor segment overrun",
    "invalid TSS (#TS)", "segment not present (#NP)", "stack fault (#SS)", "general protection (#GP)",
    "page fault (#PF)", "reserved 15", "x87 floating-point error (#MF)", "alignment check (#AC)",
    "machine check (#MC)", "SIMD floating-point exception (#XM)", "virtualization exception (#VE)",
    "control protection (#CP)", "reserved 22", "reserved 23", "reserved 24", "reserved 25", "reserved 26",
    "reserved 27", "hypervisor injection (#HV)", "VMM communication (#VC)", "security exception (#SX)", "reserved 31",
};

static void irq(unsigned n) {
    if (n == 7 || n == 15) {            /* spurious? then the in-service bit is clear: no EOI */
        u16 cmd = n == 7 ? 0x20 : 0xA0;
        outb(cmd, 0x0B);
        if (!(inb(cmd) & 0x80)) {
            if (n == 15)
                outb(0x20, 0x20);
            return;
        }
    }
    if (n == 0)
        timer_tick();
    if (n >= 8)
        outb(0xA0, 0x20);
    outb(0x20, 0x20);
}

static noreturn void user_fault(struct trapframe *f, u64 cr2) {
    unsigned v = (unsigned)f->vector;
    int sig;
    const char *what;
    u64 addr = f->rip;
    switch (v) {
    case 0: sig = SIGFPE; what = "floating point exception (SIGFPE): integer divide error"; break;
    case 16: sig = SIGFPE; what = "floating point exception (SIGFPE): x87 floating-point error"; break;
    case 19: sig = SIGFPE; what = "floating point exception (SIGFPE): SIMD floating-point exception"; break;
    case 1: case 3: sig = SIGTRAP; what = "trace/breakpoint trap (SIGTRAP)"; break;
    case 6: sig = SIGILL; what = "illegal instruction (SIGILL)"; break;
    case 7: sig = SIGILL; what = "illegal instruction (SIGILL): device not available"; break;
    case 11: case 12: sig = SIGBUS; what = v == 11 ? "bus error (SIGBUS): segment not present" : "bus error (SIGBUS): stack segment fault"; break;
    case 17: sig = SIGBUS; what = "bus error (SIGBUS): alignment check"; break;
    case 13: sig = SIGSEGV; what = "segmentation fault (SIGSEGV): general protection fault"; addr = 0; break;
    case 14:
        sig = SIGSEGV;
        addr = cr2;
        if (cr2 >= DIRECT_MAP)
            what = "segmentation fault (SIGSEGV): access to a kernel address";
        else if (f->error & 1)
            what = f->error & 16 ? "segmentation fault (SIGSEGV): instruction fetch from a non-executable page"
                 : f->error & 2 ? "segmentation fault (SIGSEGV): write to a read-only page"
                                : "segmentation fault (SIGSEGV): access to a protected page";
        else
            what = f->error & 16 ? "segmentation fault (SIGSEGV): instruction fetch from an unmapped address"
                 : f->error & 2 ? "segmentation fault (SIGSEGV): write to an unmapped address"
                                : "segmentation fault (SIGSEGV): read from an unmapped address";
        break;
    default: sig = SIGSEGV; what = "segmentation fault (SIGSEGV)"; break;
    }
    kprintf("kernel: %s at rip=0x%lx addr=0x%lx (exception %u, %s, error code 0x%lx)\n", what, f->rip, addr, v,
            v < 32 ? exc_names[v] : "?", f->error);
    kexit(128 + sig);
}

void trap_dispatch(struct trapframe *f) {
    u64 v = f->vector;
    if (v >= 0x20 && v < 0x30) {
        irq((unsigned)(v - 0x20));
        return;
    }
    if (v >= 32) {
        kprintf("kernel: unexpected interrupt vector %lu at rip=0x%lx\n", v, f->rip);
        return;
    }
    u64 cr2 = v == 14 ? read_cr2() : 0;
    if (v == 14 && cr2 < USER_TOP && vm_handle_fault(cr2, f->error) == 0)
        return;
    if ((f->cs & 3) == 3)
        user_fault(f, cr2);
    panic("%s (vector %lu) in the kernel at rip=0x%lx error=0x%lx cr2=0x%lx rsp=0x%lx", exc_names[v], v, f->rip,
          f->error, cr2, f->rsp);
}
