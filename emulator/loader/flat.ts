// Flat (raw) binaries: the file's bytes are copied to one physical address and entered there.
//
// 'real16' (default; default address 0x7C00, a boot sector)
//   Writes nothing but the image (no BIOS, no IVT). The image must start below 1 MiB and lie in
//   RAM. CS:IP = 0000:addr when addr < 0x10000, else (addr >> 4):(addr & 0xF). CS base = CS << 4,
//   limit 0xFFFF, attrs 0x9B; DS/ES/SS/FS/GS = 0, base 0, limit 0xFFFF, attrs 0x93. CR0 = 0x10
//   (ET), CR3 = CR4 = EFER = 0, GDTR base 0 limit 0xFFFF, SP = 0x7C00, FLAGS = 0x2, other
//   registers 0. BootState.rip holds IP. (The machine sets IDTR to base 0 limit 0x3FF.)
//
// 'long64' (default address 0x100000)
//   Exactly the direct ELF64 entry state (see elf64.ts / longmode.ts): GDT at 0x500, identity
//   map 0..4 GiB at 0x1000-0x6FFF, reserved 0x0000-0x7FFF, RSP = 0x80000, RDI = RAM size,
//   RIP = addr. The image must lie in RAM, below 4 GiB, outside 0x0000-0x7FFF; RAM >= 2 MiB.

import type { PhysicalMemory } from '../memory/physical.ts';
import { ImageError, type BootState } from './types.ts';
import { checkPlacement, hex, requireRam } from './common.ts';
import { LONG_MIN_RAM, longModeBootState, longPlacementRules, writeLongModeStructures } from './longmode.ts';

export type FlatMode = 'real16' | 'long64';

export interface FlatOptions {
  /** Physical load address = entry point. Default: 0x7C00 for real16, 0x100000 for long64. */
  address?: number;
  mode?: FlatMode;
}

export const FLAT_DEFAULT_ADDRESS: Readonly<Record<FlatMode, number>> = { real16: 0x7c00, long64: 0x100000 };
export const REAL_STACK = 0x7c00;

/** CS:IP for a real-mode entry at physical `addr` (< 1 MiB). */
export function realModeCsIp(addr: number): { cs: number; ip: number } {
  return addr < 0x10000 ? { cs: 0, ip: addr } : { cs: addr >>> 4, ip: addr & 0xf };
}

export function loadFlat(mem: PhysicalMemory, image: Uint8Array, opts: FlatOptions = {}): BootState {
  const mode = opts.mode ?? 'real16';
  if (mode !== 'real16' && mode !== 'long64') throw new ImageError(`unknown flat mode ${JSON.stringify(mode)}: use real16 or long64`);
  const addr = opts.address ?? FLAT_DEFAULT_ADDRESS[mode];
  if (!Number.isSafeInteger(addr) || addr < 0) throw new ImageError(`flat load address must be a non-negative integer, got ${String(addr)}`);
  if (image.length === 0) throw new ImageError('empty image (0 bytes)');
  const range = { what: `flat image (${image.length} bytes)`, start: addr, end: addr + image.length };

  if (mode === 'real16') {
    if (addr >= 0x100000) throw new ImageError(`real16 flat image must start below 1 MiB (real mode reaches 0x0-0xfffff), got ${hex(addr)}`);
    checkPlacement([range], { ramSize: mem.ramSize, reserved: [], below4G: false, below4GReason: '' });
    mem.load(addr, image);
    const { cs, ip } = realModeCsIp(addr);
    const csip = `${cs.toString(16).padStart(4, '0')}:${ip.toString(16).padStart(4, '0')}`;
    return {
      mode: 'real16',
      rip: ip,
      regs: { rsp: REAL_STACK },
      rflags: 0x2,
      cr0: 0x10,
      cr3: 0,
      cr4: 0,
      efer: 0,
      gdtBase: 0,
      gdtLimit: 0xffff,
      cs: { selector: cs, base: cs * 16, limit: 0xffff, attrs: 0x9b },
      data: { selector: 0, base: 0, limit: 0xffff, attrs: 0x93 },
      description: `flat binary, ${image.length} bytes at ${hex(addr)}; real mode, CS:IP = ${csip}, SS:SP = 0000:7c00`,
    };
  }

  requireRam(mem, LONG_MIN_RAM, 'a long64 flat binary');
  checkPlacement([range], longPlacementRules(mem.ramSize));
  writeLongModeStructures(mem);
  mem.load(addr, image);
  return longModeBootState(
    addr,
    mem.ramSize,
    `flat binary, ${image.length} bytes at ${hex(addr)}; 64-bit long mode, identity map 0..4 GiB, entry ${hex(addr)}`,
  );
}
