// Effective-address functions, one chosen per instruction at decode time (SDM Vol. 2A 2.1.5,
// Vol. 1 3.7.5). 64-bit forms compute in 32-bit halves, then check the canonical form
// (#GP(0), or #SS(0) for stack-segment references, SDM Vol. 1 3.3.7.1).
import { Cpu, SS, FS } from './state.ts';
import type { Insn } from './insn.ts';
import { raise, GP, SSV } from './fault.ts';

const TWO32 = 4294967296;

function nonCanonical(c: Cpu, i: Insn): never {
  return raise(c, i.seg === SS ? SSV : GP, 0);
}

/** Finish a 64-bit offset given as (hi, lo-as-double possibly outside uint32). */
function finish64(c: Cpu, i: Insn, lo: number, hi: number): number {
  const carry = Math.floor(lo / TWO32);
  hi = (hi + carry) | 0;
  lo = lo - carry * TWO32; // 0 <= lo < 2^32
  if (i.seg >= FS) {
    const lin = hi * TWO32 + lo + c.segBase[i.seg];
    if (lin < -140737488355328 || lin >= 140737488355328) nonCanonical(c, i);
    return lin;
  }
  if (((hi << 16) >> 16) !== hi) nonCanonical(c, i);
  return hi * TWO32 + lo;
}

/** [base + index*scale + disp] with 64-bit addressing. */
export function ea64(c: Cpu, i: Insn): number {
  let lo = i.disp, hi = 0; // a negative lo is folded into hi by finish64
  const b = i.base;
  if (b >= 0) { lo += c.rl[b] >>> 0; hi += c.rh[b]; }
  const x = i.index;
  if (x >= 0) {
    const s = i.scale;
    const xl = c.rl[x] >>> 0;
    lo += (xl << s) >>> 0; // low part of the shifted index
    hi += s === 0 ? c.rh[x] : (c.rh[x] << s) | (xl >>> (32 - s));
  }
  return finish64(c, i, lo, hi);
}

/** [base + disp] with 64-bit addressing (the common case). */
export function ea64Base(c: Cpu, i: Insn): number {
  const b = i.base;
  return finish64(c, i, (c.rl[b] >>> 0) + i.disp, c.rh[b]);
}

/** [rip + disp]: RIP of the next instruction (SDM Vol. 2A 2.2.1.6). */
export function eaRip(c: Cpu, i: Insn): number {
  const lin = c.nextRip + i.disp + (i.seg >= FS ? c.segBase[i.seg] : 0);
  if (lin < -140737488355328 || lin >= 140737488355328) nonCanonical(c, i);
  return lin;
}

/** [rip + disp] with a 32-bit address-size override: EIP-relative, zero-extended. */
export function eaRip32(c: Cpu, i: Insn): number {
  const off = (c.nextRip + i.disp) % TWO32;
  return (off < 0 ? off + TWO32 : off) + (i.seg >= FS ? c.segBase[i.seg] : 0);
}

/** 32-bit addressing in 64-bit mode (67 prefix): offset truncated to 32 bits, zero-extended. */
export function ea32in64(c: Cpu, i: Insn): number {
  let off = i.disp;
  if (i.base >= 0) off += c.rl[i.base];
  if (i.index >= 0) off += c.rl[i.index] << i.scale;
  const o = off >>> 0;
  return i.seg >= FS ? o + c.segBase[i.seg] : o;
}

/** 32-bit addressing outside 64-bit mode: segment base + offset, wrapped to 32 bits. */
export function ea32(c: Cpu, i: Insn): number {
  let off = i.disp;
  if (i.base >= 0) off += c.rl[i.base];
  if (i.index >= 0) off += c.rl[i.index] << i.scale;
  return ((off >>> 0) + c.segBase[i.seg]) % TWO32;
}

/** 16-bit addressing (SDM Vol. 2A Table 2-1): base/index are BX, BP, SI, DI combinations. */
export function ea16(c: Cpu, i: Insn): number {
  let off = i.disp;
  if (i.base >= 0) off += c.rl[i.base];
  if (i.index >= 0) off += c.rl[i.index];
  return ((off & 0xffff) + c.segBase[i.seg]) % TWO32;
}

export function eaNone(c: Cpu, i: Insn): number {
  void c; void i;
  return 0;
}
