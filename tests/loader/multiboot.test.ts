import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../emulator/memory/physical.ts';
import { findMultibootHeader, loadMultiboot } from '../../emulator/loader/multiboot.ts';
import { concat, elf32, elf64, mbHeader, pattern, readCString } from './build.ts';

const MiB = 1024 * 1024;

/** Multiboot information structure fields by offset (Multiboot 0.6.96 §3.3). */
function mbi(mem: PhysicalMemory, at: number) {
  const u32 = (o: number): number => mem.view.getUint32(at + o, true);
  return {
    flags: u32(0),
    memLower: u32(4),
    memUpper: u32(8),
    bootDevice: u32(12),
    cmdline: u32(16),
    modsCount: u32(20),
    modsAddr: u32(24),
    mmapLength: u32(44),
    mmapAddr: u32(48),
    bootLoaderName: u32(64),
  };
}

function mmapEntries(mem: PhysicalMemory, addr: number, length: number) {
  const out: { size: number; base: bigint; len: bigint; type: number }[] = [];
  for (let p = addr; p < addr + length; ) {
    const size = mem.view.getUint32(p, true);
    out.push({ size, base: mem.view.getBigUint64(p + 4, true), len: mem.view.getBigUint64(p + 12, true), type: mem.view.getUint32(p + 20, true) });
    p += size + 4; // the size field does not count itself
  }
  return out;
}

/** An ELF32 multiboot kernel: text at 1 MiB holding the header, data+bss at 0x101000. */
function kernel32(flags = 0x3): { image: Uint8Array; text: Uint8Array; data: Uint8Array } {
  const text = concat(mbHeader(flags), pattern(0x74, 1)); // 0x80 bytes, header at the start of .text
  const data = pattern(0x100, 2);
  const image = elf32({
    entry: 0x10000c,
    phdrs: [
      { paddr: 0x100000, data: text },
      { paddr: 0x101000, data, memsz: 0x2345, flags: 6 },
    ],
  });
  return { image, text, data };
}

describe('multiboot v1', () => {
  it('finds the header: 4-byte aligned, valid checksum, within the first 8192 bytes', () => {
    const { image } = kernel32(0x3);
    const h = findMultibootHeader(image);
    expect(h).not.toBeNull();
    expect(h!.offset).toBe(0x80); // 52 + 2*32 = 116 -> 16-aligned data start 0x80
    expect(h!.flags).toBe(0x3);
    expect(findMultibootHeader(new Uint8Array(100))).toBeNull();
    expect(findMultibootHeader(concat(new Uint8Array(8), mbHeader(0, undefined, 1)))).toBeNull(); // bad checksum
    expect(findMultibootHeader(concat(new Uint8Array(2), mbHeader(0)))).toBeNull(); // misaligned
    expect(findMultibootHeader(concat(new Uint8Array(8184), mbHeader(0)))).toBeNull(); // ends past 8192
    expect(findMultibootHeader(concat(new Uint8Array(8192 - 12), mbHeader(0)))!.offset).toBe(8180);
  });

  it('loads an ELF32 kernel with modules and builds the MBI, memory map and module list', () => {
    const ram = 8 * MiB;
    const mem = new PhysicalMemory(ram);
    const { image, text, data } = kernel32();
    const mod0 = pattern(5000, 5);
    const mod1 = pattern(3, 6);
    const s = loadMultiboot(mem, image, {
      cmdline: 'console=ttyS0 debug',
      modules: [
        { data: mod0, cmdline: 'initrd' },
        { data: mod1, cmdline: 'mod2 arg' },
      ],
    });
    // Kernel bytes.
    expect(mem.u8.subarray(0x100000, 0x100080)).toEqual(text);
    expect(mem.u8.subarray(0x101000, 0x101100)).toEqual(data);
    expect(mem.u8.subarray(0x101100, 0x103345).every((b) => b === 0)).toBe(true);

    // Entry state.
    expect(s.mode).toBe('protected32');
    expect(s.rip).toBe(0x10000c);
    expect(s.regs).toEqual({ rax: 0x2badb002, rbx: 0x8000, rsp: 0x7ff0 });
    expect([s.cr0, s.cr3, s.cr4, s.efer, s.rflags]).toEqual([0x11, 0, 0, 0, 2]);
    expect(s.gdtBase).toBe(0x500);
    expect(s.gdtLimit).toBe(23);
    expect(s.cs).toEqual({ selector: 0x08, base: 0, limit: 0xffffffff, attrs: 0xc09b });
    expect(s.data).toEqual({ selector: 0x10, base: 0, limit: 0xffffffff, attrs: 0xc093 });
    expect(mem.view.getBigUint64(0x500, true)).toBe(0n);
    expect(mem.view.getBigUint64(0x508, true)).toBe(0x00cf9a000000ffffn);
    expect(mem.view.getBigUint64(0x510, true)).toBe(0x00cf92000000ffffn);

    // MBI at EBX.
    const m = mbi(mem, s.regs.rbx!);
    expect(m.flags).toBe((1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9));
    expect(m.memLower).toBe(639); // 0x9fc00 / 1024
    expect(m.memUpper).toBe((8 * 1024) - 1024); // KiB from 1 MiB to the end of 8 MiB RAM
    expect(m.bootDevice).toBe(0);
    expect(readCString(mem.u8, m.cmdline)).toBe('console=ttyS0 debug');
    expect(readCString(mem.u8, m.bootLoaderName)).toBe('x86vmx');

    // Memory map.
    expect(m.mmapLength).toBe(4 * 24);
    expect(mmapEntries(mem, m.mmapAddr, m.mmapLength)).toEqual([
      { size: 20, base: 0n, len: 0x9fc00n, type: 1 },
      { size: 20, base: 0x9fc00n, len: 0x400n, type: 2 },
      { size: 20, base: 0xf0000n, len: 0x10000n, type: 2 },
      { size: 20, base: 0x100000n, len: BigInt(ram - 0x100000), type: 1 },
    ]);

    // Modules: the kernel ends at 0x101000 + 0x2345 = 0x103345, so module 0 starts at the next page.
    expect(m.modsCount).toBe(2);
    const mod = (i: number) => [0, 4, 8, 12].map((o) => mem.view.getUint32(m.modsAddr + 16 * i + o, true));
    const [s0, e0, c0, r0] = mod(0);
    const [s1, e1, c1, r1] = mod(1);
    expect([s0, e0, r0]).toEqual([0x104000, 0x104000 + 5000, 0]);
    expect([s1, e1, r1]).toEqual([0x106000, 0x106003, 0]); // 0x105388 rounded up to a page
    expect(readCString(mem.u8, c0)).toBe('initrd');
    expect(readCString(mem.u8, c1)).toBe('mod2 arg');
    expect(mem.u8.subarray(s0, e0)).toEqual(mod0);
    expect(mem.u8.subarray(s1, e1)).toEqual(mod1);
    // All boot information lies in the boot area 0x8000-0xffff.
    for (const p of [m.cmdline, m.bootLoaderName, m.mmapAddr, m.modsAddr, c0, c1]) {
      expect(p).toBeGreaterThanOrEqual(0x8000);
      expect(p).toBeLessThan(0x10000);
    }
    expect(s.description).toMatch(/multiboot v1/);
  });

  it('without modules or command line: mods_count 0 and an empty command line', () => {
    const mem = new PhysicalMemory(2 * MiB);
    loadMultiboot(mem, kernel32().image);
    const m = mbi(mem, 0x8000);
    expect(m.modsCount).toBe(0);
    expect(readCString(mem.u8, m.cmdline)).toBe('');
    expect(m.memUpper).toBe(1024);
  });

  it('accepts an ELF64 kernel and translates a higher-half e_entry through p_vaddr -> p_paddr', () => {
    const mem = new PhysicalMemory(4 * MiB);
    const text = concat(mbHeader(0x2), pattern(0x40, 7));
    const img = elf64({
      entry: 0xffffffff8010000cn,
      phdrs: [{ paddr: 0x100000, vaddr: 0xffffffff80100000n, data: text, memsz: 0x1000 }],
    });
    const s = loadMultiboot(mem, img);
    expect(s.rip).toBe(0x10000c);
    expect(s.mode).toBe('protected32');
    expect(mem.u8.subarray(0x100000, 0x100000 + text.length)).toEqual(text);
  });

  it('accepts a physical e_entry that is in no p_vaddr range (as QEMU would use it)', () => {
    const mem = new PhysicalMemory(4 * MiB);
    const text = concat(mbHeader(0), pattern(0x40, 7));
    const img = elf32({ entry: 0x100020, phdrs: [{ paddr: 0x100000, vaddr: 0xc0100000, data: text }] });
    expect(loadMultiboot(mem, img).rip).toBe(0x100020);
  });

  it('loads an a.out-kludge image with the address fields (flags bit 16)', () => {
    const mem = new PhysicalMemory(4 * MiB);
    mem.u8.fill(0xee, 0x100000, 0x103000);
    // File: 0x20 bytes of code, the header at offset 0x20, more code; loaded at 0x100000.
    const pre = pattern(0x20, 1);
    const hdr = mbHeader(0x10003, { header: 0x100020, load: 0x100000, loadEnd: 0, bssEnd: 0x102000, entry: 0x100040 });
    const post = pattern(0x60, 2);
    const img = concat(pre, hdr, post);
    const s = loadMultiboot(mem, img);
    expect(s.rip).toBe(0x100040);
    expect(mem.u8.subarray(0x100000, 0x100000 + img.length)).toEqual(img);
    expect(mem.u8.subarray(0x100000 + img.length, 0x102000).every((b) => b === 0)).toBe(true);
    expect(mem.u8[0x102000]).toBe(0xee);
  });

  it('a.out kludge with load_end_addr short of the end of the file and a header_addr offset', () => {
    const mem = new PhysicalMemory(4 * MiB);
    // 0x40 bytes of junk that are not loaded, then the text starting with the header.
    const junk = pattern(0x40, 3);
    const hdr = mbHeader(0x10000, { header: 0x200000, load: 0x200000, loadEnd: 0x200030, bssEnd: 0, entry: 0x200020 });
    const img = concat(junk, hdr, pattern(0x100, 4));
    loadMultiboot(mem, img);
    expect(mem.u8.subarray(0x200000, 0x200030)).toEqual(img.subarray(0x40, 0x70));
    expect(mem.u8[0x200030]).toBe(0); // not loaded
  });

  it('accepts a segment in 0x9fc00-0xfffff (reported reserved, but RAM here), like the ELF-header segment ld puts at 0xff000', () => {
    const mem = new PhysicalMemory(2 * MiB);
    const hdrs = pattern(0xb4, 8);
    const text = concat(mbHeader(0x3), pattern(0x10, 9));
    const s = loadMultiboot(mem, elf32({ entry: 0x100000, phdrs: [{ paddr: 0xff000, data: hdrs, flags: 4 }, { paddr: 0x100000, data: text }] }));
    expect(s.rip).toBe(0x100000);
    expect(mem.u8.subarray(0xff000, 0xff0b4)).toEqual(hdrs);
  });

  it('accepts the video-mode flag (bit 2) and ignores it', () => {
    const mem = new PhysicalMemory(2 * MiB);
    const s = loadMultiboot(mem, kernel32(0x7).image);
    expect(s.description).toMatch(/video mode request ignored/);
    expect(mbi(mem, 0x8000).flags & ((1 << 11) | (1 << 12))).toBe(0);
  });
});
