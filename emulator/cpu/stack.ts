// Stack pushes and pops for the current stack size (SDM Vol. 1 6.2): 64-bit RSP in 64-bit mode,
// ESP when SS.B = 1, SP otherwise. The stack pointer is updated only after the memory access
// succeeded, so a faulting push leaves RSP unchanged.
import { Cpu, RSP, SS } from './state.ts';
import { rd16, rd32, rd64, wr16, wr32, wr64 } from './memaccess.ts';
import { raise, SSV } from './fault.ts';

const TWO32 = 4294967296;

/**
 * Linear address of RSP + delta for the current stack size; also leaves the new SP in spNew.
 * `access`: the address is about to be accessed and must be canonical (#SS(0)); a new RSP value
 * itself may be non-canonical (e.g. 2^47 after popping the last canonical qword).
 */
let spNewLo = 0, spNewHi = 0;

function stackAddr(c: Cpu, delta: number, access: boolean): number {
  if (c.stackSize === 64) {
    const lo = (c.rl[RSP] >>> 0) + delta;
    const carry = Math.floor(lo / TWO32);
    const hi = (c.rh[RSP] + carry) | 0;
    spNewLo = lo | 0; spNewHi = hi;
    if (access && ((hi << 16) >> 16) !== hi) raise(c, SSV, 0);
    return hi * TWO32 + (lo - carry * TWO32);
  }
  if (c.stackSize === 32) {
    const sp = (c.rl[RSP] + delta) | 0;
    spNewLo = sp; spNewHi = c.rh[RSP];
    return ((sp >>> 0) + c.segBase[SS]) % TWO32;
  }
  const sp = (c.rl[RSP] + delta) & 0xffff;
  spNewLo = (c.rl[RSP] & ~0xffff) | sp; spNewHi = c.rh[RSP];
  return (sp + c.segBase[SS]) % TWO32;
}

function commit(c: Cpu): void { c.rl[RSP] = spNewLo; c.rh[RSP] = spNewHi; }

export function push16(c: Cpu, v: number): void { const a = stackAddr(c, -2, true); wr16(c, a, v); commit(c); }
export function push32(c: Cpu, v: number): void { const a = stackAddr(c, -4, true); wr32(c, a, v); commit(c); }
export function push64(c: Cpu, lo: number, hi: number): void { const a = stackAddr(c, -8, true); wr64(c, a, lo, hi); commit(c); }
/** Push a value of `size` bits (16/32/64); hi is used for 64. */
export function pushSized(c: Cpu, size: number, lo: number, hi: number): void {
  if (size === 64) push64(c, lo, hi); else if (size === 32) push32(c, lo); else push16(c, lo);
}

export function pop16(c: Cpu): number { const a = stackAddr(c, 0, true); const v = rd16(c, a); stackAddr(c, 2, false); commit(c); return v; }
export function pop32(c: Cpu): number { const a = stackAddr(c, 0, true); const v = rd32(c, a); stackAddr(c, 4, false); commit(c); return v; }
/** Returns lo; hi in c.tmpHi. */
export function pop64(c: Cpu): number {
  const a = stackAddr(c, 0, true);
  const v = rd64(c, a); const hi = c.tmpHi;
  stackAddr(c, 8, false); commit(c);
  c.tmpHi = hi;
  return v;
}
/** Pop `size` bits; 64-bit hi in c.tmpHi. */
export function popSized(c: Cpu, size: number): number {
  if (size === 64) return pop64(c);
  c.tmpHi = 0;
  return size === 32 ? pop32(c) : pop16(c);
}

/** Read (without popping) the value at RSP + offset bytes. */
export function peekSized(c: Cpu, size: number, offset: number): number {
  const a = stackAddr(c, offset, true);
  if (size === 64) return rd64(c, a);
  c.tmpHi = 0;
  return size === 32 ? rd32(c, a) : rd16(c, a);
}

/** Add to the stack pointer in the current stack size (RET imm16, LEAVE adjustments). */
export function adjustSp(c: Cpu, delta: number): void { stackAddr(c, delta, false); commit(c); }
