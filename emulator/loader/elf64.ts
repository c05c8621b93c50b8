// Direct ELF64 boot: an x86-64 ET_EXEC image (EM_X86_64, normally without a multiboot header) is
// loaded into RAM and entered in 64-bit long mode. Guest images rely on this contract; change it
// only together with them and with README.md.
//
// Memory written by the loader
//   0x0000–0x7FFF  reserved for loader structures (zeroed, then written as below). A PT_LOAD
//                  segment overlapping it is rejected.
//   0x0500–0x052F  GDT, GDTR.base = 0x500, GDTR.limit = 6*8-1 = 0x2F:
//                    [0] 0x00  null
//                    [1] 0x08  64-bit code, DPL0   0x00AF9A000000FFFF
//                    [2] 0x10  flat data, DPL0     0x00CF92000000FFFF
//                    [3] 0x18  flat 32-bit code    0x00CF9A000000FFFF
//                    [4] 0x20  flat data, DPL3     0x00CFF2000000FFFF
//                    [5] 0x28  64-bit code, DPL3   0x00AFFA000000FFFF
//   0x1000–0x1FFF  PML4; entry 0 -> 0x2000 (P|RW)
//   0x2000–0x2FFF  PDPT; entries 0..3 -> page directories 0x3000, 0x4000, 0x5000, 0x6000 (P|RW)
//   0x3000–0x6FFF  4 page directories, 2048 PDEs mapping 2 MiB pages 0..4 GiB identically,
//                  flags P|RW|PS (supervisor only, no NX, no G)
//   PT_LOAD        each segment's p_filesz file bytes copied to p_paddr, then zero-filled to
//                  p_memsz. p_vaddr is ignored: with the identity map, code linked with
//                  p_vaddr != p_paddr only runs once the guest installs its own page tables.
//
// CPU state at entry (BootState)
//   mode long64; CR0 = 0x80010033 (PE|MP|ET|NE|WP|PG), CR3 = 0x1000, CR4 = 0x620
//   (PAE|OSFXSR|OSXMMEXCPT), EFER = 0xD01 (SCE|LME|LMA|NXE).
//   CS = 0x08, base 0, limit 0xFFFFFFFF, attrs 0xA09B (type 0xB accessed execute/read, S, DPL0,
//   P, L, G); DS/ES/SS/FS/GS = 0x10, base 0, limit 0xFFFFFFFF, attrs 0xC093 (type 3, S, DPL0, P,
//   D/B, G). FS.base = GS.base = 0.
//   RIP = e_entry, RSP = 0x80000 (the stack grows down from 0x80000 into 0x8000–0x7FFFF; do not
//   load anything just below 0x80000), RFLAGS = 0x2 (IF clear), RDI = RAM size in bytes, every
//   other general register 0.
//   IDTR base 0, limit 0 (set by the machine): any exception before the guest loads its own IDT
//   escalates to a triple fault, which the emulator reports.
//
// Requirements (each failure is an ImageError naming the check; nothing is written to RAM unless
// every check passed)
//   ELF64, little-endian, EV_CURRENT, ET_EXEC, EM_X86_64; a program header table inside the file;
//   at least one PT_LOAD with p_memsz > 0; for each PT_LOAD: p_filesz <= p_memsz, file bytes
//   inside the file, [p_paddr, p_paddr + p_memsz) inside RAM, below 4 GiB, outside 0..0x7FFF and
//   not overlapping another segment; e_entry inside some segment's [p_paddr, p_paddr + p_memsz);
//   RAM of at least 2 MiB.

import type { PhysicalMemory } from '../memory/physical.ts';
import { ImageError, type BootState } from './types.ts';
import { checkPlacement, hex, requireRam, writeChunk } from './common.ts';
import { EM_X86_64, ET_EXEC, describeSegments, parseElf, type ElfImage } from './elf.ts';
import { LONG_MIN_RAM, LONG_STACK, longModeBootState, longPlacementRules, writeLongModeStructures } from './longmode.ts';

const WHAT = 'direct ELF64 boot';

/** Check an image for direct ELF64 boot without touching memory; returns the parsed image. */
export function checkElf64(image: Uint8Array, mem: PhysicalMemory): ElfImage {
  const elf = parseElf(image, { machines: { 64: [EM_X86_64] }, types: [ET_EXEC], what: WHAT });
  requireRam(mem, LONG_MIN_RAM, WHAT);
  checkPlacement(
    elf.segments.map((s) => ({ what: `PT_LOAD segment ${s.index}`, start: s.paddr, end: s.paddr + s.memsz })),
    longPlacementRules(mem.ramSize),
  );
  if (!elf.segments.some((s) => elf.entry >= BigInt(s.paddr) && elf.entry < BigInt(s.paddr + s.memsz))) {
    throw new ImageError(
      `entry point e_entry ${hex(elf.entry)} is not inside any PT_LOAD segment's physical range ` +
        `(the initial page tables identity-map 0..4 GiB, so e_entry must be a loaded physical address)`,
    );
  }
  return elf;
}

/** Load an x86-64 ELF executable for direct 64-bit boot. See the header comment for the contract. */
export function loadElf64(mem: PhysicalMemory, image: Uint8Array): BootState {
  const elf = checkElf64(image, mem);
  // Everything is validated: from here on nothing can fail.
  writeLongModeStructures(mem);
  for (const s of elf.segments) writeChunk(mem, s.paddr, s.data, s.memsz);
  const entry = Number(elf.entry);
  return longModeBootState(
    entry,
    mem.ramSize,
    `ELF64 direct boot: ${elf.segments.length} PT_LOAD segment(s) ${describeSegments(elf.segments)}; ` +
      `64-bit long mode, identity map 0..4 GiB, entry ${hex(entry)}, RSP ${hex(LONG_STACK)}, RDI = RAM size ${hex(mem.ramSize)}`,
  );
}
