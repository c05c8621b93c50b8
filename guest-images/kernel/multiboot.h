/* multiboot.h - the multiboot v1 information structure (Multiboot Specification 0.6.96, 3.3). */
#ifndef MULTIBOOT_H
#define MULTIBOOT_H
#include "kernel.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
#define MBI_FLAG_MEM (1u << 0)
#define MBI_FLAG_CMDLINE (1u << 2)
#define MBI_FLAG_MODS (1u << 3)
#define MBI_FLAG_MMAP (1u << 6)

struct multiboot_info {
    u32 flags;
    u32 mem_lower, mem_upper;           /* KiB below 640 KiB, KiB above 1 MiB */
    u32 boot_device;
    u32 cmdline;                        /* physical address of a NUL-terminated string */
    u32 mods_count, mods_addr;
    u32 syms[4];
    u32 mmap_length, mmap_addr;
    /* drives, config table, loader name, APM, VBE, framebuffer: not used */
} __attribute__((packed));

struct multiboot_module {
    u32 mod_start, mod_end;             /* [start, end) physical */
    u32 string;                         /* command line */
    u32 reserved;
} __attribute__((packed));

struct multiboot_mmap_entry {
    u32 size;                           /* of the rest of the entry (20) */
    u64 base, length;
    u32 type;                           /* 1 = available RAM */
} __attribute__((packed));

#endif
