import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../emulator/memory/physical.ts';
import { loadElf64 } from '../../emulator/loader/elf64.ts';
import { loadFlat } from '../../emulator/loader/flat.ts';
import { elf64, pattern } from './build.ts';

const MiB = 1024 * 1024;

// Descriptor values from the documented contract (emulator/loader/README.md).
const GDT = [0n, 0x00af9a000000ffffn, 0x00cf92000000ffffn, 0x00cf9a000000ffffn, 0x00cff2000000ffffn, 0x00affa000000ffffn];

/** Walk the 4-level tables by hand (SDM Vol. 3A §4.5) for a 2 MiB-page mapping. */
function walk(mem: PhysicalMemory, cr3: number, va: number): { pa: number; pde: bigint } | null {
  const v = mem.view;
  const idx = (shift: number): number => Math.floor(va / 2 ** shift) % 512;
  const pml4e = v.getBigUint64(cr3 + idx(39) * 8, true);
  if (!(pml4e & 1n)) return null;
  const pdpt = Number(pml4e & 0x000ffffffffff000n);
  const pdpte = v.getBigUint64(pdpt + idx(30) * 8, true);
  if (!(pdpte & 1n) || pdpte & 0x80n) return null;
  const pd = Number(pdpte & 0x000ffffffffff000n);
  const pde = v.getBigUint64(pd + idx(21) * 8, true);
  if (!(pde & 1n) || !(pde & 0x80n)) return null;
  return { pa: Number(pde & 0x000fffffffe00000n) + (va % (2 * MiB)), pde };
}

function checkLongModeStructures(mem: PhysicalMemory): void {
  for (let i = 0; i < GDT.length; i++) expect(mem.view.getBigUint64(0x500 + 8 * i, true)).toBe(GDT[i]);
  expect(mem.view.getBigUint64(0x1000, true)).toBe(0x2003n);
  for (let i = 1; i < 512; i++) expect(mem.view.getBigUint64(0x1000 + 8 * i, true)).toBe(0n);
  expect([0, 1, 2, 3, 4].map((i) => mem.view.getBigUint64(0x2000 + 8 * i, true))).toEqual([0x3003n, 0x4003n, 0x5003n, 0x6003n, 0n]);
  for (const va of [0, 0x7c00, 0x1fffff, 0x200000, 0x12345678, 0x80000000, 0xc0001234, 0xfee00000, 0xffffffff]) {
    const w = walk(mem, 0x1000, va);
    expect(w, `va ${va.toString(16)}`).not.toBeNull();
    expect(w!.pa).toBe(va);
    expect(w!.pde & 0xfffn).toBe(0x83n); // P | RW | PS, supervisor, no G
    expect(w!.pde >> 63n).toBe(0n); // executable
  }
  expect(walk(mem, 0x1000, 0x100000000)).toBeNull(); // nothing above 4 GiB
}

describe('direct ELF64 boot', () => {
  const text = pattern(0x40, 1);
  const data = pattern(0x30, 2);
  const image = elf64({
    entry: 0x100010,
    phdrs: [
      { paddr: 0x100000, data: text, flags: 5 },
      { paddr: 0x200000, data, memsz: 0x1000, flags: 6 },
      { type: 4, paddr: 0, data: pattern(8, 3) }, // PT_NOTE: not loaded
    ],
  });

  it('copies PT_LOAD file bytes to p_paddr and zero-fills to p_memsz', () => {
    const mem = new PhysicalMemory(4 * MiB);
    mem.u8.fill(0xaa, 0x200000, 0x202000); // stale bytes must be cleared by the bss fill
    loadElf64(mem, image);
    expect(mem.u8.subarray(0x100000, 0x100040)).toEqual(text);
    expect(mem.u8.subarray(0x200000, 0x200030)).toEqual(data);
    expect(mem.u8.subarray(0x200030, 0x201000).every((b) => b === 0)).toBe(true);
    expect(mem.u8[0x201000]).toBe(0xaa); // beyond p_memsz: untouched
  });

  it('returns the documented long-mode entry state', () => {
    const mem = new PhysicalMemory(4 * MiB);
    const s = loadElf64(mem, image);
    expect(s.mode).toBe('long64');
    expect(s.rip).toBe(0x100010);
    expect(s.regs).toEqual({ rsp: 0x80000, rdi: 4 * MiB });
    expect(s.rflags).toBe(0x2);
    expect(s.cr0).toBe(0x80010033);
    expect(s.cr3).toBe(0x1000);
    expect(s.cr4).toBe(0x620);
    expect(s.efer).toBe(0xd01);
    expect(s.gdtBase).toBe(0x500);
    expect(s.gdtLimit).toBe(6 * 8 - 1);
    expect(s.cs).toEqual({ selector: 0x08, base: 0, limit: 0xffffffff, attrs: 0xa09b });
    expect(s.data).toEqual({ selector: 0x10, base: 0, limit: 0xffffffff, attrs: 0xc093 });
    // attrs = descriptor bits 40..55: check against the GDT entry the selector names.
    const csDesc = GDT[s.cs.selector >> 3];
    expect(Number((csDesc >> 40n) & 0xf0ffn) | 0x01).toBe(s.cs.attrs); // + accessed bit
    const dsDesc = GDT[s.data.selector >> 3];
    expect(Number((dsDesc >> 40n) & 0xf0ffn) | 0x01).toBe(s.data.attrs);
    expect(s.description).toMatch(/ELF64 direct boot/);
  });

  it('writes the GDT and identity-mapping page tables in the reserved low area', () => {
    const mem = new PhysicalMemory(4 * MiB);
    mem.u8.fill(0x55, 0, 0x8000); // the reserved area is rewritten from scratch
    loadElf64(mem, image);
    checkLongModeStructures(mem);
    expect(mem.u8.subarray(0x7000, 0x8000).every((b) => b === 0)).toBe(true);
    expect(mem.u8.subarray(0, 0x500).every((b) => b === 0)).toBe(true);
  });

  it('loads at p_paddr, not p_vaddr, and accepts section headers', () => {
    const mem = new PhysicalMemory(4 * MiB);
    const img = elf64({ entry: 0x180000, sections: true, phdrs: [{ paddr: 0x180000, vaddr: 0xffffffff80000000n, data: text }] });
    const s = loadElf64(mem, img);
    expect(s.rip).toBe(0x180000);
    expect(mem.u8.subarray(0x180000, 0x180040)).toEqual(text);
  });

  it('ignores PT_LOAD entries with p_memsz = 0 and accepts an image ending exactly at the end of RAM', () => {
    const mem = new PhysicalMemory(2 * MiB);
    const img = elf64({
      entry: 0x1ff000,
      phdrs: [
        { paddr: 0x7000, filesz: 0, memsz: 0 }, // empty: no placement check
        { paddr: 0x1ff000, data: pattern(0x1000, 4) },
      ],
    });
    loadElf64(mem, img);
    expect(mem.u8.subarray(0x1ff000)).toEqual(pattern(0x1000, 4));
  });
});

describe('flat binaries', () => {
  it('real16 at the default 0x7c00: CS:IP = 0000:7c00 and nothing else written', () => {
    const mem = new PhysicalMemory(2 * MiB);
    const sector = pattern(512, 9);
    const s = loadFlat(mem, sector);
    expect(mem.u8.subarray(0x7c00, 0x7e00)).toEqual(sector);
    let nonzero = 0;
    for (let i = 0; i < mem.ramSize; i++) if (mem.u8[i] !== 0 && (i < 0x7c00 || i >= 0x7e00)) nonzero++;
    expect(nonzero).toBe(0);
    expect(s.mode).toBe('real16');
    expect(s.rip).toBe(0x7c00);
    expect(s.cs).toEqual({ selector: 0, base: 0, limit: 0xffff, attrs: 0x9b });
    expect(s.data).toEqual({ selector: 0, base: 0, limit: 0xffff, attrs: 0x93 });
    expect(s.cr0).toBe(0x10);
    expect(s.regs).toEqual({ rsp: 0x7c00 });
    expect(s.rflags).toBe(2);
    expect([s.cr3, s.cr4, s.efer]).toEqual([0, 0, 0]);
  });

  it('real16 above 64 KiB: CS = addr >> 4, IP = addr & 0xf', () => {
    const mem = new PhysicalMemory(2 * MiB);
    const s = loadFlat(mem, pattern(16, 1), { address: 0x12345, mode: 'real16' });
    expect(s.cs.selector).toBe(0x1234);
    expect(s.cs.base).toBe(0x12340);
    expect(s.rip).toBe(0x5);
    expect(s.cs.base + s.rip).toBe(0x12345);
    expect(mem.u8.subarray(0x12345, 0x12355)).toEqual(pattern(16, 1));
  });

  it('long64 shares the ELF64 entry state', () => {
    const mem = new PhysicalMemory(4 * MiB);
    const s = loadFlat(mem, pattern(100, 2), { address: 0x100000, mode: 'long64' });
    checkLongModeStructures(mem);
    expect(mem.u8.subarray(0x100000, 0x100064)).toEqual(pattern(100, 2));
    expect(s.mode).toBe('long64');
    expect(s.rip).toBe(0x100000);
    expect(s.regs).toEqual({ rsp: 0x80000, rdi: 4 * MiB });
    expect([s.cr0, s.cr3, s.cr4, s.efer]).toEqual([0x80010033, 0x1000, 0x620, 0xd01]);
    const t = loadFlat(new PhysicalMemory(4 * MiB), pattern(4, 2), { mode: 'long64' });
    expect(t.rip).toBe(0x100000); // default long64 address
  });
});
