// Multiboot v1 (specification 0.6.96) kernels: ELF32/ELF64 images or images using the a.out
// kludge (header flag bit 16), with a command line and boot modules. Guest images rely on this
// contract; change it only together with them and with README.md.
//
// Header: magic 0x1BADB002 at a 4-byte-aligned offset, the 12-byte magic/flags/checksum triple
// inside the first 8192 bytes, magic + flags + checksum = 0 (mod 2^32). The first such header
// wins. Required flags (bits 0-15) other than 0 (page-align modules: always done), 1 (memory
// information: always given) and 2 (video mode: accepted but ignored, no framebuffer information is
// given, as QEMU does) are refused. Bit 16 (address fields) loads
// file[header_offset - (header_addr - load_addr) ...] to load_addr up to load_end_addr (0 = to the
// end of the file), zeroes up to bss_end_addr (0 = no bss), and enters at entry_addr. Without bit
// 16 the image must be ELF32/EM_386 or ELF64/EM_X86_64 (ET_EXEC or ET_DYN, not relocated):
// PT_LOAD segments go to p_paddr and are zero-filled to p_memsz. The entry point is e_entry
// translated to a physical address through the PT_LOAD segment whose [p_vaddr, p_vaddr + p_memsz)
// holds it (e_entry - p_vaddr + p_paddr, as GRUB does, so a higher-half kernel works); failing
// that, e_entry itself if it lies in a segment's physical range. It must be below 4 GiB.
//   (QEMU's -kernel refuses ELF64 multiboot images outright - "Cannot load x86-64 image, give a
//   32bit one." - while GRUB loads them with the rules above; this loader follows GRUB.)
//
// Memory written by the loader
//   0x0000–0xFFFF  reserved (zeroed, then written as below). Kernel and modules may not land here.
//                  (0x9FC00–0xFFFFF is reported reserved in the memory map, as on a PC, but the
//                  emulator has RAM there and a kernel segment may load there: `ld -Ttext=0x100000`
//                  typically puts the ELF headers' segment at 0xFF000.)
//   0x0500–0x0517  GDT: [0] null, [1] 0x08 flat 32-bit code 0x00CF9A000000FFFF,
//                  [2] 0x10 flat data 0x00CF92000000FFFF; GDTR = 0x500 / limit 0x17.
//   below 0x7FF0   initial stack (ESP = 0x7FF0; the spec leaves ESP undefined, the OS must set up
//                  its own stack - this one is a courtesy).
//   0x8000         multiboot information (MBI), flags 0x24D: bit 0 mem_lower = 639 (KiB below
//                  0x9FC00), mem_upper = (RAM size - 1 MiB) / 1 KiB; bit 2 cmdline; bit 3 mods;
//                  bit 6 mmap; bit 9 boot_loader_name = "x86vmx". All other fields 0.
//   0x8100         memory map, mmap_length = 96: four entries {size = 20, base_addr u64,
//                  length u64, type u32}: [0, 0x9FC00) type 1, [0x9FC00, 0xA0000) type 2,
//                  [0xF0000, 0x100000) type 2, [0x100000, RAM size) type 1.
//   0x8200         module list, 16 bytes each {mod_start, mod_end (exclusive), string, reserved 0}.
//   after it       (16-byte aligned) NUL-terminated strings: boot loader name, kernel command
//                  line, module command lines; everything must end by 0x10000.
//   kernel         as described above.
//   modules        each at the next 4 KiB boundary after the highest kernel byte (p_paddr +
//                  p_memsz, or bss_end_addr) and after the previous module.
//
// CPU state at entry: mode protected32, CR0 = 0x11 (PE|ET), CR3 = CR4 = EFER = 0; CS = 0x08
// (base 0, limit 0xFFFFFFFF, attrs 0xC09B), DS/ES/SS/FS/GS = 0x10 (base 0, limit 0xFFFFFFFF,
// attrs 0xC093); EAX = 0x2BADB002, EBX = 0x8000, ESP = 0x7FF0, EFLAGS = 0x2, other registers 0;
// EIP = entry. IDTR base 0 limit 0 (set by the machine).
//
// Every check runs before anything is written; a failure is an ImageError naming the check.

import type { PhysicalMemory } from '../memory/physical.ts';
import { ImageError, type BootState } from './types.ts';
import {
  FOUR_GIB,
  KiB,
  MiB,
  alignUp,
  checkPlacement,
  describeRam,
  hex,
  requireRam,
  writeChunk,
  writeU64,
  writeU64n,
  type PlacedRange,
  type PlacementRules,
} from './common.ts';
import { EM_386, EM_X86_64, ET_DYN, ET_EXEC, describeSegments, parseElf, type ElfImage } from './elf.ts';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
export const MULTIBOOT_SEARCH = 8192;
export const MB_FLAG_PAGE_ALIGN = 1 << 0;
export const MB_FLAG_MEMORY_INFO = 1 << 1;
export const MB_FLAG_VIDEO_MODE = 1 << 2;
export const MB_FLAG_ADDRESS = 1 << 16;
const SUPPORTED_REQUIRED = MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO | MB_FLAG_VIDEO_MODE;

export const MB_GDT_BASE = 0x500;
export const MB_GDT: readonly (readonly [number, number])[] = [
  [0x00000000, 0x00000000], // null
  [0x00cf9a00, 0x0000ffff], // 0x08 flat 32-bit code
  [0x00cf9200, 0x0000ffff], // 0x10 flat data
];
export const MB_STACK = 0x7ff0;
export const MBI_ADDR = 0x8000;
export const MMAP_ADDR = 0x8100;
export const MODS_ADDR = 0x8200;
export const BOOT_AREA_END = 0x10000;
export const BOOTLOADER_NAME = 'x86vmx';
export const LOWER_MEMORY_END = 0x9fc00;
export const MBI_FLAGS = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9);
const MIN_RAM = 2 * MiB;
const PAGE = 4096;

export const MULTIBOOT_RESERVED = [
  { start: 0, end: BOOT_AREA_END, name: 'GDT at 0x500, stack below 0x7ff0, multiboot information at 0x8000-0xffff' },
] as const;

export interface MultibootAddressFields {
  headerAddr: number;
  loadAddr: number;
  loadEndAddr: number;
  bssEndAddr: number;
  entryAddr: number;
}

export interface MultibootVideoFields {
  modeType: number;
  width: number;
  height: number;
  depth: number;
}

export interface MultibootHeader {
  /** File offset of the magic. */
  offset: number;
  flags: number;
  checksum: number;
  /** Flags bit 16 set and the fields (offset + 12 .. + 32) inside the file and the first 8192 bytes. */
  address?: MultibootAddressFields;
  /** Flags bit 2 set and the fields (offset + 32 .. + 48) inside the file and the first 8192 bytes. */
  video?: MultibootVideoFields;
}

export interface MultibootModule {
  data: Uint8Array;
  cmdline: string;
}

export interface MultibootOptions {
  cmdline?: string;
  modules?: readonly MultibootModule[];
}

interface Scan {
  header: MultibootHeader | null;
  /** Offset of the first magic whose checksum is wrong (when no valid header exists). */
  badOffset: number;
  badSum: number;
}

function scan(bytes: Uint8Array): Scan {
  const limit = Math.min(bytes.length, MULTIBOOT_SEARCH);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let badOffset = -1;
  let badSum = 0;
  for (let off = 0; off + 12 <= limit; off += 4) {
    if (dv.getUint32(off, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = dv.getUint32(off + 4, true);
    const checksum = dv.getUint32(off + 8, true);
    const sum = (MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0;
    if (sum !== 0) {
      if (badOffset < 0) {
        badOffset = off;
        badSum = sum;
      }
      continue;
    }
    const header: MultibootHeader = { offset: off, flags, checksum };
    if (flags & MB_FLAG_ADDRESS && off + 32 <= limit) {
      header.address = {
        headerAddr: dv.getUint32(off + 12, true),
        loadAddr: dv.getUint32(off + 16, true),
        loadEndAddr: dv.getUint32(off + 20, true),
        bssEndAddr: dv.getUint32(off + 24, true),
        entryAddr: dv.getUint32(off + 28, true),
      };
    }
    if (flags & MB_FLAG_VIDEO_MODE && off + 48 <= limit) {
      header.video = {
        modeType: dv.getUint32(off + 32, true),
        width: dv.getUint32(off + 36, true),
        height: dv.getUint32(off + 40, true),
        depth: dv.getUint32(off + 44, true),
      };
    }
    return { header, badOffset: -1, badSum: 0 };
  }
  return { header: null, badOffset, badSum };
}

/** The first valid multiboot v1 header in the first 8192 bytes, or null. Never throws. */
export function findMultibootHeader(bytes: Uint8Array): MultibootHeader | null {
  return scan(bytes).header;
}

/** Offset of a 0x1BADB002 magic with a wrong checksum when there is no valid header, else -1. */
export function findBadMultibootChecksum(bytes: Uint8Array): number {
  const s = scan(bytes);
  return s.header ? -1 : s.badOffset;
}

/** A piece of the kernel to write: file bytes at `start`, zero-filled up to `memsz`. */
interface KernelChunk {
  what: string;
  start: number;
  data: Uint8Array;
  memsz: number;
}

interface KernelPlan {
  kind: string;
  chunks: KernelChunk[];
  entry: number;
}

function planAout(bytes: Uint8Array, h: MultibootHeader): KernelPlan {
  const at = `multiboot header at offset ${hex(h.offset)}`;
  const a = h.address;
  if (!a) {
    throw new ImageError(
      `${at} sets flags bit 16 (address fields) but the fields [${hex(h.offset + 12)}, ${hex(h.offset + 32)}) ` +
        `lie beyond the end of the file or the first 8192 bytes`,
    );
  }
  if (a.loadAddr > a.headerAddr) throw new ImageError(`${at}: load_addr ${hex(a.loadAddr)} is above header_addr ${hex(a.headerAddr)}`);
  const textOffset = h.offset - (a.headerAddr - a.loadAddr);
  if (textOffset < 0) {
    throw new ImageError(
      `${at}: header_addr - load_addr = ${hex(a.headerAddr - a.loadAddr)} puts the start of the text before the beginning of the file`,
    );
  }
  let loadEnd: number;
  if (a.loadEndAddr === 0) {
    loadEnd = a.loadAddr + (bytes.length - textOffset);
  } else {
    if (a.loadEndAddr < a.loadAddr) throw new ImageError(`${at}: load_end_addr ${hex(a.loadEndAddr)} is below load_addr ${hex(a.loadAddr)}`);
    loadEnd = a.loadEndAddr;
    if (textOffset + (loadEnd - a.loadAddr) > bytes.length) {
      throw new ImageError(
        `${at}: load_end_addr ${hex(loadEnd)} needs file bytes [${hex(textOffset)}, ${hex(textOffset + loadEnd - a.loadAddr)}) ` +
          `beyond the end of the file (${bytes.length} bytes)`,
      );
    }
  }
  let bssEnd = loadEnd;
  if (a.bssEndAddr !== 0) {
    if (a.bssEndAddr < loadEnd) throw new ImageError(`${at}: bss_end_addr ${hex(a.bssEndAddr)} is below the end of the loaded data ${hex(loadEnd)}`);
    bssEnd = a.bssEndAddr;
  }
  if (a.entryAddr < a.loadAddr || a.entryAddr >= bssEnd) {
    throw new ImageError(`${at}: entry_addr ${hex(a.entryAddr)} is outside the loaded image [${hex(a.loadAddr)}, ${hex(bssEnd)})`);
  }
  return {
    kind: `a.out-kludge kernel [${hex(a.loadAddr)}, ${hex(bssEnd)}) from file offset ${hex(textOffset)}`,
    chunks: [
      {
        what: 'multiboot kernel image (address fields)',
        start: a.loadAddr,
        data: bytes.subarray(textOffset, textOffset + (loadEnd - a.loadAddr)),
        memsz: bssEnd - a.loadAddr,
      },
    ],
    entry: a.entryAddr,
  };
}

/** Physical entry address of a multiboot ELF kernel (see the header comment), or an ImageError. */
function elfEntry(elf: ElfImage): number {
  const e = elf.entry;
  let phys = -1n;
  for (const s of elf.segments) {
    if (e >= s.vaddr && e < s.vaddr + BigInt(s.memsz)) {
      phys = e - s.vaddr + BigInt(s.paddr);
      break;
    }
  }
  if (phys < 0n) {
    for (const s of elf.segments) {
      if (e >= BigInt(s.paddr) && e < BigInt(s.paddr + s.memsz)) {
        phys = e;
        break;
      }
    }
  }
  if (phys < 0n) {
    throw new ImageError(`entry point e_entry ${hex(e)} is not inside any PT_LOAD segment (neither its p_vaddr nor its p_paddr range)`);
  }
  if (phys >= BigInt(FOUR_GIB)) {
    throw new ImageError(`entry point e_entry ${hex(e)} is at physical ${hex(phys)}, above 4 GiB (a multiboot kernel is entered in 32-bit mode)`);
  }
  return Number(phys);
}

function planElf(bytes: Uint8Array): KernelPlan {
  const elf = parseElf(bytes, {
    machines: { 32: [EM_386], 64: [EM_X86_64] },
    types: [ET_EXEC, ET_DYN],
    what: 'a multiboot kernel without address fields (flags bit 16)',
  });
  return {
    kind: `ELF${elf.elfClass} kernel, ${elf.segments.length} PT_LOAD segment(s) ${describeSegments(elf.segments)}`,
    chunks: elf.segments.map((s) => ({ what: `PT_LOAD segment ${s.index}`, start: s.paddr, data: s.data, memsz: s.memsz })),
    entry: elfEntry(elf),
  };
}

function placementRules(ramSize: number): PlacementRules {
  return {
    ramSize,
    reserved: MULTIBOOT_RESERVED,
    below4G: true,
    below4GReason: 'a multiboot kernel runs in 32-bit mode with paging off',
  };
}

const encoder = new TextEncoder();
function cstring(s: string): Uint8Array {
  const b = encoder.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** Check a multiboot image, write it with its modules and boot information, return the entry state. */
export function loadMultiboot(mem: PhysicalMemory, image: Uint8Array, opts: MultibootOptions = {}): BootState {
  if (image.length === 0) throw new ImageError('empty image (0 bytes)');
  const found = scan(image);
  const h = found.header;
  if (!h) {
    if (found.badOffset >= 0) {
      throw new ImageError(
        `multiboot header at offset ${hex(found.badOffset)} has a bad checksum: magic + flags + checksum = ${hex(found.badSum)}, must be 0 mod 2^32`,
      );
    }
    throw new ImageError(`no multiboot header: no 4-byte-aligned magic ${hex(MULTIBOOT_HEADER_MAGIC)} with a valid checksum in the first ${MULTIBOOT_SEARCH} bytes`);
  }
  const unsupported = h.flags & 0xffff & ~SUPPORTED_REQUIRED;
  if (unsupported !== 0) {
    const bits: number[] = [];
    for (let b = 0; b < 16; b++) if (unsupported & (1 << b)) bits.push(b);
    throw new ImageError(
      `multiboot header flags ${hex(h.flags >>> 0)} request unsupported required feature bit(s) ${bits.join(', ')} ` +
        `(this loader supports bits 0, 1 and 2 of the required bits 0-15)`,
    );
  }
  const plan = h.flags & MB_FLAG_ADDRESS ? planAout(image, h) : planElf(image);
  requireRam(mem, MIN_RAM, 'multiboot boot');
  const rules = placementRules(mem.ramSize);
  checkPlacement(
    plan.chunks.map((c): PlacedRange => ({ what: c.what, start: c.start, end: c.start + c.memsz })),
    rules,
  );

  // Modules, each page-aligned after the kernel and the previous module.
  const modules = opts.modules ?? [];
  const kernelEnd = Math.max(...plan.chunks.map((c) => c.start + c.memsz));
  const modPlaces: { start: number; end: number }[] = [];
  let cur = alignUp(kernelEnd, PAGE);
  modules.forEach((m, i) => {
    const start = cur;
    const end = start + m.data.length;
    if (end > mem.ramSize || end > FOUR_GIB) {
      throw new ImageError(
        `module ${i} (${m.data.length} bytes) does not fit: it would occupy [${hex(start)}, ${hex(end)}), ` +
          `RAM is ${describeRam(mem.ramSize)}${end > FOUR_GIB ? ' and modules must lie below 4 GiB' : ''}`,
      );
    }
    modPlaces.push({ start, end });
    cur = alignUp(end, PAGE);
  });

  // Boot information layout: strings after the module list.
  const loaderName = cstring(BOOTLOADER_NAME);
  const kernelCmdline = cstring(opts.cmdline ?? '');
  const modCmdlines = modules.map((m) => cstring(m.cmdline));
  const stringsStart = alignUp(MODS_ADDR + 16 * modules.length, 16);
  const stringsSize = loaderName.length + kernelCmdline.length + modCmdlines.reduce((n, s) => n + s.length, 0);
  if (stringsStart + stringsSize > BOOT_AREA_END) {
    throw new ImageError(
      `boot information does not fit in the boot area [${hex(MBI_ADDR)}, ${hex(BOOT_AREA_END)}): ` +
        `${modules.length} module entries and ${stringsSize} bytes of strings need up to ${hex(stringsStart + stringsSize)}; ` +
        `shorten the command lines or pass fewer modules`,
    );
  }

  // ---- Everything is validated: write memory. ----
  mem.u8.fill(0, 0, BOOT_AREA_END);
  for (let i = 0; i < MB_GDT.length; i++) writeU64(mem, MB_GDT_BASE + i * 8, MB_GDT[i][0], MB_GDT[i][1]);
  for (const c of plan.chunks) writeChunk(mem, c.start, c.data, c.memsz);
  modules.forEach((m, i) => {
    const p = modPlaces[i];
    mem.load(p.start, m.data);
    // The gap to the next page boundary (module alignment padding) is zeroed.
    mem.u8.fill(0, p.end, Math.min(alignUp(p.end, PAGE), mem.ramSize));
  });

  let sp = stringsStart;
  const putString = (s: Uint8Array): number => {
    const at = sp;
    mem.load(at, s);
    sp += s.length;
    return at;
  };
  const loaderNameAddr = putString(loaderName);
  const cmdlineAddr = putString(kernelCmdline);
  const v = mem.view;
  modules.forEach((_m, i) => {
    const e = MODS_ADDR + 16 * i;
    v.setUint32(e + 0, modPlaces[i].start, true);
    v.setUint32(e + 4, modPlaces[i].end, true);
    v.setUint32(e + 8, putString(modCmdlines[i]), true);
    v.setUint32(e + 12, 0, true);
  });

  const mmap: [number, number, number][] = [
    [0, LOWER_MEMORY_END, 1],
    [LOWER_MEMORY_END, 0xa0000 - LOWER_MEMORY_END, 2],
    [0xf0000, 0x10000, 2],
    [0x100000, mem.ramSize - 0x100000, 1],
  ];
  mmap.forEach(([base, length, type], i) => {
    const e = MMAP_ADDR + 24 * i;
    v.setUint32(e, 20, true);
    writeU64n(mem, e + 4, base);
    writeU64n(mem, e + 12, length);
    v.setUint32(e + 20, type, true);
  });

  v.setUint32(MBI_ADDR + 0, MBI_FLAGS, true);
  v.setUint32(MBI_ADDR + 4, LOWER_MEMORY_END / KiB, true);
  v.setUint32(MBI_ADDR + 8, (mem.ramSize - MiB) / KiB, true);
  v.setUint32(MBI_ADDR + 16, cmdlineAddr, true);
  v.setUint32(MBI_ADDR + 20, modules.length, true);
  v.setUint32(MBI_ADDR + 24, MODS_ADDR, true);
  v.setUint32(MBI_ADDR + 44, 24 * mmap.length, true);
  v.setUint32(MBI_ADDR + 48, MMAP_ADDR, true);
  v.setUint32(MBI_ADDR + 64, loaderNameAddr, true);

  const modText = modPlaces.length
    ? `; ${modPlaces.length} module(s) ${modPlaces.map((p) => `[${hex(p.start)}, ${hex(p.end)})`).join(', ')}`
    : '';
  const video = h.flags & MB_FLAG_VIDEO_MODE ? '; video mode request ignored (no framebuffer)' : '';
  return {
    mode: 'protected32',
    rip: plan.entry,
    regs: { rax: MULTIBOOT_BOOTLOADER_MAGIC, rbx: MBI_ADDR, rsp: MB_STACK },
    rflags: 0x2,
    cr0: 0x11,
    cr3: 0,
    cr4: 0,
    efer: 0,
    gdtBase: MB_GDT_BASE,
    gdtLimit: MB_GDT.length * 8 - 1,
    cs: { selector: 0x08, base: 0, limit: 0xffffffff, attrs: 0xc09b },
    data: { selector: 0x10, base: 0, limit: 0xffffffff, attrs: 0xc093 },
    description:
      `multiboot v1 (header at offset ${hex(h.offset)}, flags ${hex(h.flags >>> 0)}): ${plan.kind}; entry ${hex(plan.entry)}` +
      `${modText}; cmdline ${JSON.stringify(opts.cmdline ?? '')}${video}; 32-bit protected mode, paging off, ` +
      `EAX = 0x2badb002, EBX = MBI at ${hex(MBI_ADDR)}`,
  };
}
