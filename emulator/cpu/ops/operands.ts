// Operand access shared by instruction families. Hot families pick separate register- and
// memory-form handlers at decode time; these helpers serve the rest, and the memory forms.
import type { Cpu } from '../state.ts';
import type { Insn } from '../insn.ts';
import { get8, set8, set16, set32 } from '../regs.ts';
import { rd8, rd16, rd32, rd64, wr8, wr16, wr32, wr64 } from '../memaccess.ts';

/** Read the r/m operand of `size` bits (8/16/32/64). For 64, the high half is left in c.tmpHi. */
export function readE(c: Cpu, i: Insn, size: number): number {
  if (i.mod === 3) {
    switch (size) {
      case 8: return get8(c, i.rm);
      case 16: return c.rl[i.rm] & 0xffff;
      case 32: return c.rl[i.rm];
      default: c.tmpHi = c.rh[i.rm]; return c.rl[i.rm];
    }
  }
  const a = i.ea(c, i);
  switch (size) {
    case 8: return rd8(c, a);
    case 16: return rd16(c, a);
    case 32: return rd32(c, a);
    default: return rd64(c, a);
  }
}

/** Write the r/m operand; for a memory operand pass the address computed by the read (RMW) or -1 to compute it. */
export function writeE(c: Cpu, i: Insn, size: number, lo: number, hi: number, addr = NaN): void {
  if (i.mod === 3) {
    switch (size) {
      case 8: set8(c, i.rm, lo); return;
      case 16: set16(c, i.rm, lo); return;
      case 32: set32(c, i.rm, lo); return;
      default: c.rl[i.rm] = lo; c.rh[i.rm] = hi; return;
    }
  }
  const a = addr === addr ? addr : i.ea(c, i);
  switch (size) {
    case 8: wr8(c, a, lo); return;
    case 16: wr16(c, a, lo); return;
    case 32: wr32(c, a, lo); return;
    default: wr64(c, a, lo, hi); return;
  }
}

/** Read a general register operand of `size` (reg number in the 8-bit encoding for size 8). */
export function readReg(c: Cpu, r: number, size: number): number {
  switch (size) {
    case 8: return get8(c, r);
    case 16: return c.rl[r] & 0xffff;
    case 32: return c.rl[r];
    default: c.tmpHi = c.rh[r]; return c.rl[r];
  }
}

export function writeReg(c: Cpu, r: number, size: number, lo: number, hi: number): void {
  switch (size) {
    case 8: set8(c, r, lo); return;
    case 16: set16(c, r, lo); return;
    case 32: set32(c, r, lo); return;
    default: c.rl[r] = lo; c.rh[r] = hi; return;
  }
}

/** Size index for lazy flags: 8→0, 16→1, 32→2, 64→3. */
export function sizeIndex(size: number): number { return size === 8 ? 0 : size === 16 ? 1 : size === 32 ? 2 : 3; }
/** Mask a value to `size` bits (≤ 32), as an unsigned number for 8/16 and int32 for 32. */
export function maskTo(size: number, v: number): number { return size === 8 ? v & 0xff : size === 16 ? v & 0xffff : v | 0; }
