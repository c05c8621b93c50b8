// The 64-bit long-mode entry state shared by the direct ELF64 loader and the 'long64' flat loader:
// the GDT and the identity-mapping page tables in the reserved low area, and the register state.
// The contract is written out in elf64.ts's header comment and in README.md.

import type { PhysicalMemory } from '../memory/physical.ts';
import type { BootState, SegmentSetup } from './types.ts';
import { MiB, type ReservedRange, type PlacementRules, writeU64 } from './common.ts';

/** 0x0000–0x7FFF belongs to the loader; no image byte may land there. */
export const LONG_RESERVED_END = 0x8000;
export const LONG_RESERVED: ReservedRange = {
  start: 0,
  end: LONG_RESERVED_END,
  name: 'GDT at 0x500, page tables at 0x1000-0x6fff',
};
export const LONG_MIN_RAM = 2 * MiB;

export const GDT_BASE = 0x500;
/** [high 32 bits, low 32 bits] of each descriptor, index = selector >> 3. */
export const LONG_GDT: readonly (readonly [number, number])[] = [
  [0x00000000, 0x00000000], // 0x00 null
  [0x00af9a00, 0x0000ffff], // 0x08 64-bit code, DPL0
  [0x00cf9200, 0x0000ffff], // 0x10 flat data, DPL0
  [0x00cf9a00, 0x0000ffff], // 0x18 flat 32-bit code, DPL0
  [0x00cff200, 0x0000ffff], // 0x20 flat data, DPL3
  [0x00affa00, 0x0000ffff], // 0x28 64-bit code, DPL3
];
export const LONG_GDT_LIMIT = LONG_GDT.length * 8 - 1;

export const PML4_BASE = 0x1000;
export const PDPT_BASE = 0x2000;
export const PD_BASE = 0x3000; // four page directories: 0x3000, 0x4000, 0x5000, 0x6000
const PTE_P = 0x1;
const PTE_RW = 0x2;
const PTE_PS = 0x80;

export const LONG_CR0 = 0x80010033; // PE|MP|ET|NE|WP|PG
export const LONG_CR4 = 0x620; // PAE|OSFXSR|OSXMMEXCPT
export const LONG_EFER = 0xd01; // SCE|LME|LMA|NXE
export const LONG_STACK = 0x80000;

export const LONG_CS: Readonly<SegmentSetup> = { selector: 0x08, base: 0, limit: 0xffffffff, attrs: 0xa09b };
export const LONG_DATA: Readonly<SegmentSetup> = { selector: 0x10, base: 0, limit: 0xffffffff, attrs: 0xc093 };

export function longPlacementRules(ramSize: number): PlacementRules {
  return { ramSize, reserved: [LONG_RESERVED], below4G: true, below4GReason: 'the initial page tables identity-map only 0..4 GiB' };
}

/** Zero the reserved area and write the GDT and the page tables. Call only after validation. */
export function writeLongModeStructures(mem: PhysicalMemory): void {
  mem.u8.fill(0, 0, LONG_RESERVED_END);
  for (let i = 0; i < LONG_GDT.length; i++) writeU64(mem, GDT_BASE + i * 8, LONG_GDT[i][0], LONG_GDT[i][1]);
  writeU64(mem, PML4_BASE, 0, PDPT_BASE | PTE_P | PTE_RW);
  for (let d = 0; d < 4; d++) {
    const pd = PD_BASE + d * 0x1000;
    writeU64(mem, PDPT_BASE + d * 8, 0, pd | PTE_P | PTE_RW);
    for (let e = 0; e < 512; e++) {
      const pa = (d * 512 + e) * 2 * MiB; // below 4 GiB: fits the low half
      writeU64(mem, pd + e * 8, 0, pa + (PTE_P | PTE_RW | PTE_PS));
    }
  }
}

export function longModeBootState(entry: number, ramSize: number, description: string): BootState {
  return {
    mode: 'long64',
    rip: entry,
    regs: { rsp: LONG_STACK, rdi: ramSize },
    rflags: 0x2,
    cr0: LONG_CR0,
    cr3: PML4_BASE,
    cr4: LONG_CR4,
    efer: LONG_EFER,
    gdtBase: GDT_BASE,
    gdtLimit: LONG_GDT_LIMIT,
    cs: { ...LONG_CS },
    data: { ...LONG_DATA },
    description,
  };
}
