/*
 * pmm.c - physical page frames: a LIFO free list of 4 KiB frames, published for introspection,
 * and clear_page, the page-zeroing routine.
 *
 * The free list is a stack of page frame numbers (u32, PFN = physical address >> 12) in an array
 * placed right after the kernel and the multiboot modules, described by a header at the fixed
 * physical address 0x101000 (section .kinfo, see link.ld). frames[0 .. count) are exactly the
 * free frames; frames[count - 1] is the next one frame_alloc hands out; frame_free pushes on top
 * (so a freed frame is the first to be reused, like Linux's per-CPU page lists). Updates keep the
 * invariant at every instruction boundary: a push writes the entry, then count; a pop writes count
 * first. Layout: README.md, "Free-list header".
 *
 * Managed frames: every 4 KiB frame of the multiboot memory map's available (type 1) regions below
 * 4 GiB that lies above the kernel image, the modules and the array itself. Memory below 1 MiB is
 * never managed.
 */
#include "kernel.h"
#include "multiboot.h"

struct freelist_header {
    char magic[8];                      /* 0x00 "X86VMXFL" (written last by pmm_init) */
    u32 version;                        /* 0x08 1 */
    u32 page_size;                      /* 0x0C 4096 */
    volatile u64 count;                 /* 0x10 free frames: valid entries of frames[] */
    u64 capacity;                       /* 0x18 entries frames[] has room for */
    u64 frames_phys;                    /* 0x20 physical address of u32 frames[capacity] */
    u64 managed;                        /* 0x28 frames given to the allocator at boot */
    volatile u64 allocs;                /* 0x30 frames handed out since boot */
    volatile u64 frees;                 /* 0x38 frames returned since boot */
    volatile u64 cleared;               /* 0x40 pages zeroed by clear_page since boot */
    u64 clear_page_addr;                /* 0x48 virtual address of clear_page */
    u64 reserved_end;                   /* 0x50 first physical address after kernel + modules */
};

__attribute__((section(".kinfo"), aligned(4096))) struct freelist_header freelist;
static u32 *frames;                     /* direct-map view of the array */

/*
 * clear_page(page): zero one 4 KiB page with a single REP STOSQ of 512 quadwords: RDI = page,
 * RCX = 512, RAX = 0. This is the body of Linux's clear_page_rep (arch/x86/lib/clear_page_64.S:
 * movl $4096/8,%ecx; xorl %eax,%eax; rep stosq) and the instruction the migration experiments
 * look for. Every page the kernel hands to the program (and every page-table page) goes through
 * here. noinline: one copy of the instruction, at a known address (freelist.clear_page_addr).
 */
__attribute__((noinline, aligned(16))) void clear_page(void *page) {
    u64 count = 512;
    __asm__ volatile("rep stosq" : "+D"(page), "+c"(count) : "a"(0UL) : "memory");
}

static void add_range(u64 start, u64 end, u64 floor, int push) {
    start = PAGE_ALIGN(start);
    end = PAGE_DOWN(end);
    if (start < floor)
        start = floor;
    if (end > (4UL << 30))
        end = 4UL << 30;
    if (end <= start)
        return;
    if (!push) {                        /* counting pass */
        freelist.capacity += (end - start) / PAGE_SIZE;
        return;
    }
    /* push from the top down so that the lowest frame ends up on top of the stack */
    u64 n = freelist.count;
    for (u64 p = end; p > start;) {
        p -= PAGE_SIZE;
        frames[n++] = (u32)(p >> 12);
    }
    freelist.count = n;
}

static void scan_memory(const struct multiboot_info *mbi, u64 floor, int push) {
    if (mbi->flags & MBI_FLAG_MMAP) {
        /* highest regions first, to push top-down: walk the map backwards (it is short) */
        u64 at[64];
        int n = 0;
        u64 p = mbi->mmap_addr, end = p + mbi->mmap_length;
        while (p < end && n < 64) {
            const struct multiboot_mmap_entry *e = phys_to_virt(p);
            at[n++] = p;
            p += e->size + 4;
        }
        while (n--) {
            const struct multiboot_mmap_entry *e = phys_to_virt(at[n]);
            if (e->type == 1)
                add_range(e->base, e->base + e->length, floor, push);
        }
    } else if (mbi->flags & MBI_FLAG_MEM) {
        add_range(1UL << 20, (1UL << 20) + ((u64)mbi->mem_upper << 10), floor, push);
    }
}

void pmm_init(const struct multiboot_info *mbi, u64 reserved_end) {
    reserved_end = PAGE_ALIGN(reserved_end);
    if (reserved_end < (1UL << 20))
        reserved_end = 1UL << 20;
    freelist.capacity = 0;
    scan_memory(mbi, reserved_end, 0);  /* count the candidate frames: the array size */
    u64 array_end = PAGE_ALIGN(reserved_end + 4 * freelist.capacity);
    freelist.frames_phys = reserved_end;
    frames = phys_to_virt(reserved_end);
    freelist.count = 0;
    scan_memory(mbi, array_end, 1);
    freelist.managed = freelist.count;
    freelist.version = 1;
    freelist.page_size = PAGE_SIZE;
    freelist.clear_page_addr = (u64)clear_page;
    freelist.reserved_end = reserved_end;
    barrier();
    memcpy(freelist.magic, "X86VMXFL", 8);
}

u64 frame_alloc(void) {
    if (freelist.count == 0)
        return 0;
    u64 n = freelist.count - 1;
    freelist.count = n;                 /* pop: count first */
    barrier();
    freelist.allocs++;
    return (u64)frames[n] << 12;
}

void frame_free(u64 phys) {
    u64 n = freelist.count;
    frames[n] = (u32)(phys >> 12);      /* push: entry first, then count */
    barrier();
    freelist.count = n + 1;
    freelist.frees++;
}

u64 frame_alloc_zeroed(void) {
    u64 p = frame_alloc();
    if (!p) {
        kprintf("kernel: out of memory (no free page frames left); killing the program (SIGKILL)\n");
        kexit(128 + 9);
    }
    clear_page(phys_to_virt(p));
    freelist.cleared++;
    return p;
}

u64 pmm_free_count(void) { return freelist.count; }
