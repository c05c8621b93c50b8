/*
 * vm.c - the program's address space: the list of mapped regions (VMAs), the user page tables,
 * demand paging, and brk / mmap / munmap / mprotect.
 *
 * A VMA is a page-aligned range [start, end) with protections (PROT_READ/WRITE/EXEC) and a kind
 * (ELF segment, heap, stack, mmap). Nothing is mapped in the page tables when a VMA is created:
 * the first access to a page faults, and vm_handle_fault allocates a frame, zeroes it with
 * clear_page (REP STOSQ, RCX = 512) and maps it. Only the pages of ELF segments that hold file
 * bytes are populated up front, by exec.c. munmap, a shrinking brk and MAP_FIXED over existing
 * mappings return the frames to the free list (pmm.c). Page-table pages are taken from the same
 * allocator (also zeroed by clear_page) and are never freed.
 *
 * Leaf PTEs: P, U/S = 1 (0 for PROT_NONE, so that a PROT_NONE page keeps its frame but faults in
 * ring 3), R/W = PROT_WRITE, XD = !PROT_EXEC (when the CPU has NX). Upper levels: P | R/W | U/S.
 */
#include "kernel.h"

#define PTE_P 0x1UL
#define PTE_W 0x2UL
#define PTE_U 0x4UL
#define PTE_A 0x20UL
#define PTE_D 0x40UL
#define PTE_NX (1UL << 63)
#define PTE_ADDR 0x000FFFFFFFFFF000UL

#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_TYPE 0x0F
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_32BIT 0x40
#define MAP_GROWSDOWN 0x100
#define MAP_HUGETLB 0x40000
#define MAP_SYNC 0x80000
#define MAP_FIXED_NOREPLACE 0x100000

struct vma {
    u64 start, end;
    u32 prot, kind;
};

#define VMA_MAX 1024
static struct vma vmas[VMA_MAX];        /* sorted by start, never overlapping */
static int nvma;
static u64 *pml4;
static int have_nx;
static u64 brk_start, brk_cur;

void vm_init(u64 pml4_phys, int nx) {
    pml4 = phys_to_virt(pml4_phys);
    have_nx = nx;
}

/* ---- page tables ---- */

static u64 pte_flags(u32 prot) {
    u64 f = PTE_P;
    if (prot)
        f |= PTE_U;
    if (prot & PROT_WRITE)
        f |= PTE_W;
    if (have_nx && !(prot & PROT_EXEC))
        f |= PTE_NX;
    return f;
}

/* The PTE of user page va. create: allocate missing tables. Otherwise NULL if a table is missing,
 * with *hole = the size of the unmapped range at that level (to skip ahead). */
static u64 *pte_lookup(u64 va, int create, u64 *hole) {
    u64 *t = pml4;
    for (int shift = 39; shift >= 21; shift -= 9) {
        u64 *e = &t[(va >> shift) & 511];
        if (!(*e & PTE_P)) {
            if (!create) {
                *hole = 1UL << shift;
                return NULL;
            }
            *e = frame_alloc_zeroed() | PTE_P | PTE_W | PTE_U;
        }
        t = phys_to_virt(*e & PTE_ADDR);
    }
    return &t[(va >> 12) & 511];
}

/* Unmap every present page of [start, end) and free its frame. */
static void unmap_pages(u64 start, u64 end) {
    u64 va = start;
    while (va < end) {
        u64 hole;
        u64 *pte = pte_lookup(va, 0, &hole);
        if (!pte) {
            va = (va & ~(hole - 1)) + hole;
            continue;
        }
        if (*pte & PTE_P) {
            u64 frame = *pte & PTE_ADDR;
            *pte = 0;
            invlpg(va);
            frame_free(frame);
        }
        va += PAGE_SIZE;
    }
}

/* Re-protect the present pages of [start, end). */
static void protect_pages(u64 start, u64 end, u32 prot) {
    u64 va = start;
    while (va < end) {
        u64 hole;
        u64 *pte = pte_lookup(va, 0, &hole);
        if (!pte) {
            va = (va & ~(hole - 1)) + hole;
            continue;
        }
        if (*pte & PTE_P) {
            *pte = (*pte & (PTE_ADDR | PTE_A | PTE_D)) | pte_flags(prot);
            invlpg(va);
        }
        va += PAGE_SIZE;
    }
}

/* ---- VMAs ---- */

static int vma_index(u64 addr) {
    for (int i = 0; i < nvma; i++) {
        if (addr < vmas[i].start)
            return -1;
        if (addr < vmas[i].end)
            return i;
    }
    return -1;
}

int vma_range_free(u64 start, u64 end) {
    for (int i = 0; i < nvma; i++)
        if (vmas[i].start < end && vmas[i].end > start)
            return 0;
    return 1;
}

/* Make addr a VMA boundary (split the VMA that contains it). */
static int vma_split(u64 addr) {
    int i = vma_index(addr);
    if (i < 0 || vmas[i].start == addr)
        return 0;
    if (nvma == VMA_MAX)
        return -ENOMEM;
    memmove(&vmas[i + 1], &vmas[i], (nvma - i) * sizeof(struct vma));
    nvma++;
    vmas[i].end = addr;
    vmas[i + 1].start = addr;
    return 0;
}

static void vma_remove(int i) {
    memmove(&vmas[i], &vmas[i + 1], (nvma - i - 1) * sizeof(struct vma));
    nvma--;
}

/* Merge neighbours that touch and have the same protections and kind. */
static void vma_merge(void) {
    for (int i = 1; i < nvma;) {
        if (vmas[i - 1].end == vmas[i].start && vmas[i - 1].prot == vmas[i].prot && vmas[i - 1].kind == vmas[i].kind) {
            vmas[i - 1].end = vmas[i].end;
            vma_remove(i);
        } else {
            i++;
        }
    }
}

/* Add a VMA over a free, page-aligned range. */
int vma_add(u64 start, u64 end, u32 prot, u32 kind) {
    if (nvma == VMA_MAX)
        return -ENOMEM;
    int i = 0;
    while (i < nvma && vmas[i].start < start)
        i++;
    memmove(&vmas[i + 1], &vmas[i], (nvma - i) * sizeof(struct vma));
    nvma++;
    vmas[i] = (struct vma){start, end, prot, kind};
    vma_merge();
    return 0;
}

/* Remove [start, end) from the address space, freeing its frames. */
static int vma_unmap(u64 start, u64 end) {
    if (vma_split(start) || vma_split(end)) {
        vma_merge();
        return -ENOMEM;
    }
    for (int i = 0; i < nvma;) {
        if (vmas[i].start >= start && vmas[i].end <= end)
            vma_remove(i);
        else
            i++;
    }
    unmap_pages(start, end);
    return 0;
}

/* Set (or, with or_in, add to) the protections of [start, end), which must be mapped. */
static int vma_protect(u64 start, u64 end, u32 prot, int or_in) {
    for (u64 a = start; a < end;) {
        int i = vma_index(a);
        if (i < 0)
            return -ENOMEM;
        a = vmas[i].end;
    }
    if (vma_split(start) || vma_split(end)) {
        vma_merge();
        return -ENOMEM;
    }
    for (int i = 0; i < nvma; i++) {
        if (vmas[i].start >= start && vmas[i].end <= end) {
            u32 p = or_in ? vmas[i].prot | prot : prot;
            vmas[i].prot = p;
            protect_pages(vmas[i].start, vmas[i].end, p);
        }
    }
    vma_merge();
    return 0;
}

int vma_prot_or(u64 start, u64 end, u32 prot) { return vma_protect(start, end, prot, 1); }

/* ---- demand paging ---- */

/* Resolve a page fault at a user address: 0 if a fresh zeroed page was mapped, -1 if the access
 * is not allowed (the caller reports a segmentation fault). error: the #PF error code. */
int vm_handle_fault(u64 addr, u64 error) {
    if (addr >= USER_TOP)
        return -1;
    int i = vma_index(addr);
    if (i < 0 || (error & 1))           /* unmapped, or a protection violation on a present page */
        return -1;
    u32 prot = vmas[i].prot;
    if (!prot || ((error & 2) && !(prot & PROT_WRITE)) || ((error & 16) && !(prot & PROT_EXEC)))
        return -1;
    u64 *pte = pte_lookup(PAGE_DOWN(addr), 1, NULL);
    if (*pte & PTE_P)                   /* already mapped (a stale TLB entry): just retry */
        return 0;
    *pte = frame_alloc_zeroed() | pte_flags(prot);
    return 0;
}

/* The frame behind user page va (which must lie in a VMA), populating it if needed. */
u64 vm_user_frame(u64 va, int create) {
    u64 hole;
    u64 *pte = pte_lookup(PAGE_DOWN(va), create, &hole);
    if (!pte)
        return 0;
    if (!(*pte & PTE_P)) {
        if (!create)
            return 0;
        int i = vma_index(va);
        *pte = frame_alloc_zeroed() | pte_flags(i >= 0 ? vmas[i].prot : PROT_READ);
    }
    return *pte & PTE_ADDR;
}

/* May the kernel access [addr, addr + len) on the program's behalf? */
int user_ok(u64 addr, u64 len, int write) {
    if (len == 0)
        return 1;
    u64 end = addr + len;
    if (end < addr || end > USER_TOP)
        return 0;
    while (addr < end) {
        int i = vma_index(addr);
        if (i < 0 || !vmas[i].prot || (write && !(vmas[i].prot & PROT_WRITE)))
            return 0;
        addr = vmas[i].end;
    }
    return 1;
}

/* ---- system calls ---- */

void vm_set_brk_start(u64 start) { brk_start = brk_cur = start; }

/* brk(addr): Linux semantics. The heap is [brk_start, brk); asking for less than brk_start (or
 * for 0) returns the current break; failure leaves the break unchanged and returns it. */
long sys_brk(u64 addr) {
    if (addr < brk_start || addr > MMAP_TOP)
        return brk_cur;
    u64 old_end = PAGE_ALIGN(brk_cur), new_end = PAGE_ALIGN(addr);
    if (new_end > old_end) {
        if (!vma_range_free(old_end, new_end) || vma_add(old_end, new_end, PROT_READ | PROT_WRITE, VMA_HEAP))
            return brk_cur;
    } else if (new_end < old_end) {
        if (vma_unmap(new_end, old_end))
            return brk_cur;
    }
    brk_cur = addr;
    return brk_cur;
}

/* Highest free range of len bytes below MMAP_TOP (0 if none), as Linux's top-down allocator. */
static u64 find_free_top_down(u64 len) {
    u64 end = MMAP_TOP;
    for (int i = nvma - 1; i >= 0; i--) {
        if (vmas[i].start >= end)
            continue;
        if (vmas[i].end <= end && end - vmas[i].end >= len)
            return end - len;
        end = vmas[i].start;
    }
    return end >= USER_MIN + len ? end - len : 0;
}

long sys_mmap(u64 addr, u64 len, u64 prot, u64 flags, u64 fd, u64 off) {
    if (!(flags & MAP_ANONYMOUS))
        return (int)fd >= 0 && (int)fd <= 2 ? -ENODEV : -EBADF;   /* no files: only the console */
    if ((flags & MAP_TYPE) != MAP_PRIVATE)
        return -EINVAL;                 /* shared (or unknown) mapping types are not supported */
    if (flags & (MAP_32BIT | MAP_GROWSDOWN | MAP_HUGETLB | MAP_SYNC))
        return -EINVAL;
    if (len == 0 || (prot & ~7UL) || (off & (PAGE_SIZE - 1)))
        return -EINVAL;
    if (len > USER_TOP)
        return -ENOMEM;
    len = PAGE_ALIGN(len);
    u32 p = prot & 7;
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if (addr & (PAGE_SIZE - 1))
            return -EINVAL;
        if (addr + len > USER_TOP || addr + len < addr)
            return -ENOMEM;
        if (addr < USER_MIN)
            return -EPERM;
        if (!vma_range_free(addr, addr + len)) {
            if (!(flags & MAP_FIXED))
                return -EEXIST;
            long r = vma_unmap(addr, addr + len);
            if (r)
                return r;
        }
    } else {
        addr = PAGE_DOWN(addr);
        if (addr < USER_MIN || addr + len > MMAP_TOP || !vma_range_free(addr, addr + len))
            addr = find_free_top_down(len);
        if (!addr)
            return -ENOMEM;
    }
    long r = vma_add(addr, addr + len, p, VMA_MMAP);
    return r ? r : (long)addr;
}

long sys_munmap(u64 addr, u64 len) {
    if ((addr & (PAGE_SIZE - 1)) || len == 0)
        return -EINVAL;
    len = PAGE_ALIGN(len);
    if (addr + len > USER_TOP || addr + len < addr)
        return -EINVAL;
    return vma_unmap(addr, addr + len);
}

long sys_mprotect(u64 addr, u64 len, u64 prot) {
    if ((addr & (PAGE_SIZE - 1)) || (prot & ~7UL))
        return -EINVAL;
    len = PAGE_ALIGN(len);
    if (addr + len > USER_TOP || addr + len < addr)
        return -ENOMEM;
    if (len == 0)
        return 0;
    return vma_protect(addr, addr + len, prot, 0);
}
