// Lazy arithmetic flags (SDM Vol. 1 3.4.3.1): an instruction records its kind, size and operands;
// CF/PF/AF/ZF/SF/OF are computed only when read. lfOp = kind * 4 + size index (0:8 1:16 2:32 3:64).
// For 8/16-bit ops the recorded values are masked to the size; 32-bit values are int32;
// 64-bit values use the hi halves too.
import { Cpu, CF, PF, AF, ZF, SF, OF, ARITH_FLAGS } from './state.ts';

export const LF_EAGER = 0;
export const K_ADD = 1, K_ADC = 2, K_SUB = 3, K_SBB = 4, K_LOGIC = 5, K_INC = 6, K_DEC = 7;
export const S8 = 0, S16 = 1, S32 = 2, S64 = 3;

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i, p = 1;
  while (b) { p ^= b & 1; b >>= 1; }
  PARITY[i] = p ? PF : 0;
}

const SIGN = [0x80, 0x8000, 0x80000000 | 0, 0];

/** Unsigned a < b over 64-bit halves. */
function ltu64(aL: number, aH: number, bL: number, bH: number): boolean {
  return (aH >>> 0) < (bH >>> 0) || (aH === bH && (aL >>> 0) < (bL >>> 0));
}

export function getCF(c: Cpu): number {
  const op = c.lfOp;
  const k = op >> 2;
  if (k === 0) return c.lfEager & CF;
  const s = op & 3;
  switch (k) {
    case K_ADD:
      if (s === S64) return ltu64(c.lfRes, c.lfResH, c.lfA, c.lfAH) ? 1 : 0;
      return (c.lfRes >>> 0) < (c.lfA >>> 0) ? 1 : 0;
    case K_ADC:
      if (s === S64) {
        if (c.lfCf) return ltu64(c.lfA, c.lfAH, c.lfRes, c.lfResH) ? 0 : 1;
        return ltu64(c.lfRes, c.lfResH, c.lfA, c.lfAH) ? 1 : 0;
      }
      return c.lfCf ? ((c.lfRes >>> 0) <= (c.lfA >>> 0) ? 1 : 0) : ((c.lfRes >>> 0) < (c.lfA >>> 0) ? 1 : 0);
    case K_SUB:
      if (s === S64) return ltu64(c.lfA, c.lfAH, c.lfB, c.lfBH) ? 1 : 0;
      return (c.lfA >>> 0) < (c.lfB >>> 0) ? 1 : 0;
    case K_SBB:
      if (s === S64) {
        if (c.lfCf) return ltu64(c.lfB, c.lfBH, c.lfA, c.lfAH) ? 0 : 1;
        return ltu64(c.lfA, c.lfAH, c.lfB, c.lfBH) ? 1 : 0;
      }
      return c.lfCf ? ((c.lfA >>> 0) <= (c.lfB >>> 0) ? 1 : 0) : ((c.lfA >>> 0) < (c.lfB >>> 0) ? 1 : 0);
    case K_LOGIC: return 0;
    default: return c.lfCf; // INC, DEC preserve CF
  }
}

export function getZF(c: Cpu): number {
  const op = c.lfOp;
  if (op < 4) return c.lfEager & ZF;
  if ((op & 3) === S64) return (c.lfRes | c.lfResH) === 0 ? ZF : 0;
  return c.lfRes === 0 ? ZF : 0;
}

export function getSF(c: Cpu): number {
  const op = c.lfOp;
  if (op < 4) return c.lfEager & SF;
  const s = op & 3;
  if (s === S64) return c.lfResH < 0 ? SF : 0;
  return (c.lfRes & SIGN[s]) !== 0 ? SF : 0;
}

export function getPF(c: Cpu): number {
  if (c.lfOp < 4) return c.lfEager & PF;
  return PARITY[c.lfRes & 0xff];
}

export function getAF(c: Cpu): number {
  const op = c.lfOp;
  const k = op >> 2;
  if (k === 0) return c.lfEager & AF;
  if (k === K_LOGIC) return 0;
  return (c.lfA ^ c.lfB ^ c.lfRes) & 0x10 ? AF : 0;
}

export function getOF(c: Cpu): number {
  const op = c.lfOp;
  const k = op >> 2;
  if (k === 0) return c.lfEager & OF;
  const s = op & 3;
  let x: number;
  switch (k) {
    case K_ADD: case K_ADC: case K_INC:
      x = s === S64 ? (c.lfAH ^ c.lfResH) & (c.lfBH ^ c.lfResH) : (c.lfA ^ c.lfRes) & (c.lfB ^ c.lfRes);
      break;
    case K_SUB: case K_SBB: case K_DEC:
      x = s === S64 ? (c.lfAH ^ c.lfBH) & (c.lfAH ^ c.lfResH) : (c.lfA ^ c.lfB) & (c.lfA ^ c.lfRes);
      break;
    default: return 0;
  }
  return s === S64 ? (x < 0 ? OF : 0) : (x & SIGN[s]) !== 0 ? OF : 0;
}

/** The six arithmetic flags as RFLAGS bits. */
export function getArith(c: Cpu): number {
  if (c.lfOp < 4) return c.lfEager;
  return getCF(c) | getPF(c) | getAF(c) | getZF(c) | getSF(c) | getOF(c);
}

export function setArith(c: Cpu, bits: number): void {
  c.lfOp = LF_EAGER;
  c.lfEager = bits & ARITH_FLAGS;
}

/** Full RFLAGS value (low 32 bits; the upper half is always zero). */
export function getRflags(c: Cpu): number {
  return (c.flags & ~ARITH_FLAGS) | getArith(c) | 2;
}

/** Writes RFLAGS bits under a mask of writable bits; arithmetic flags become eager. */
export function setRflags(c: Cpu, value: number, writable: number): void {
  const cur = getRflags(c);
  const v = (cur & ~writable) | (value & writable);
  c.flags = (v & ~ARITH_FLAGS) | 2;
  setArith(c, v);
  c.checkEvents = true;
}

/** Evaluate condition code cc (0..15) as in Jcc/SETcc/CMOVcc (SDM Vol. 1 Appendix B). */
export function cond(c: Cpu, cc: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = getOF(c) !== 0; break;
    case 1: r = getCF(c) !== 0; break;
    case 2: r = getZF(c) !== 0; break;
    case 3: r = getCF(c) !== 0 || getZF(c) !== 0; break;
    case 4: r = getSF(c) !== 0; break;
    case 5: r = getPF(c) !== 0; break;
    case 6: r = (getSF(c) !== 0) !== (getOF(c) !== 0); break;
    default: r = getZF(c) !== 0 || (getSF(c) !== 0) !== (getOF(c) !== 0); break;
  }
  return (cc & 1) ? !r : r;
}
