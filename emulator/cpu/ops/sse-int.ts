// SSE2 packed-integer instructions on XMM registers (SDM Vol. 2B: PADD*/PSUB* incl. saturating,
// PCMPEQ*/PCMPGT*, PMIN/PMAX, PAVG, PMUL*, PMADDWD, PSADBW, PUNPCK*, PACK*, PSHUF*, shifts,
// PINSRW/PEXTRW) and the FP-typed shuffles SHUFPS/SHUFPD/UNPCK{L,H}P{S,D}.
// Operands are staged in the scratch buffers of sse-common.ts: A = destination, B = source, T =
// result for operations that move lanes. Every m128 operand must be 16-byte aligned (#GP(0)).
import type { Cpu } from '../state.ts';
import type { Handler, Insn } from '../insn.ts';
import { Imm } from '../decoder.ts';
import { rd16 } from '../memaccess.ts';
import { set32 } from '../regs.ts';
import {
  chk, sse, NP, P66, PF3, PF2, eaAligned, ldA, ldB, stA, stT, ldB128, type Variant,
  A32, A16, AS16, A8, AS8, B32, B16, BS16, B8, BS8, T32, T16, TS16, T8, TS8,
} from './sse-common.ts';

/** Two-operand form: A ← f(A, B) with B from xmm[rm] or an aligned m128. */
function bin(name: string, f: () => void): Variant {
  return {
    name,
    r: (c: Cpu, i: Insn) => { chk(c); ldA(c, i.reg); ldB(c, i.rm); f(); stA(c, i.reg); },
    m: (c: Cpu, i: Insn) => { chk(c); ldB128(c, eaAligned(c, i)); ldA(c, i.reg); f(); stA(c, i.reg); },
  };
}
/** Same with the imm8 passed to f. */
function binI(name: string, f: (imm: number) => void): Variant {
  return {
    name,
    r: (c: Cpu, i: Insn) => { chk(c); ldA(c, i.reg); ldB(c, i.rm); f(i.imm & 0xff); stA(c, i.reg); },
    m: (c: Cpu, i: Insn) => { chk(c); ldB128(c, eaAligned(c, i)); ldA(c, i.reg); f(i.imm & 0xff); stA(c, i.reg); },
  };
}
function tToA(): void { A32[0] = T32[0]; A32[1] = T32[1]; A32[2] = T32[2]; A32[3] = T32[3]; }

function clamp(v: number, lo: number, hi: number): number { return v < lo ? lo : v > hi ? hi : v; }

// ---------------------------------------------------------------- add / subtract
function add64(): void {
  for (let k = 0; k < 4; k += 2) {
    const lo = (A32[k] >>> 0) + (B32[k] >>> 0);
    A32[k] = lo | 0;
    A32[k + 1] = (A32[k + 1] + B32[k + 1] + (lo > 0xffffffff ? 1 : 0)) | 0;
  }
}
function sub64(): void {
  for (let k = 0; k < 4; k += 2) {
    const lo = (A32[k] >>> 0) - (B32[k] >>> 0);
    A32[k] = lo | 0;
    A32[k + 1] = (A32[k + 1] - B32[k + 1] - (lo < 0 ? 1 : 0)) | 0;
  }
}
sse(0x1fc, P66, bin('paddb', () => { for (let k = 0; k < 16; k++) A8[k] = A8[k] + B8[k]; }));
sse(0x1fd, P66, bin('paddw', () => { for (let k = 0; k < 8; k++) A16[k] = A16[k] + B16[k]; }));
sse(0x1fe, P66, bin('paddd', () => { for (let k = 0; k < 4; k++) A32[k] = (A32[k] + B32[k]) | 0; }));
sse(0x1d4, P66, bin('paddq', add64));
sse(0x1f8, P66, bin('psubb', () => { for (let k = 0; k < 16; k++) A8[k] = A8[k] - B8[k]; }));
sse(0x1f9, P66, bin('psubw', () => { for (let k = 0; k < 8; k++) A16[k] = A16[k] - B16[k]; }));
sse(0x1fa, P66, bin('psubd', () => { for (let k = 0; k < 4; k++) A32[k] = (A32[k] - B32[k]) | 0; }));
sse(0x1fb, P66, bin('psubq', sub64));
sse(0x1dc, P66, bin('paddusb', () => { for (let k = 0; k < 16; k++) A8[k] = Math.min(A8[k] + B8[k], 0xff); }));
sse(0x1dd, P66, bin('paddusw', () => { for (let k = 0; k < 8; k++) A16[k] = Math.min(A16[k] + B16[k], 0xffff); }));
sse(0x1d8, P66, bin('psubusb', () => { for (let k = 0; k < 16; k++) A8[k] = Math.max(A8[k] - B8[k], 0); }));
sse(0x1d9, P66, bin('psubusw', () => { for (let k = 0; k < 8; k++) A16[k] = Math.max(A16[k] - B16[k], 0); }));
sse(0x1ec, P66, bin('paddsb', () => { for (let k = 0; k < 16; k++) AS8[k] = clamp(AS8[k] + BS8[k], -128, 127); }));
sse(0x1ed, P66, bin('paddsw', () => { for (let k = 0; k < 8; k++) AS16[k] = clamp(AS16[k] + BS16[k], -32768, 32767); }));
sse(0x1e8, P66, bin('psubsb', () => { for (let k = 0; k < 16; k++) AS8[k] = clamp(AS8[k] - BS8[k], -128, 127); }));
sse(0x1e9, P66, bin('psubsw', () => { for (let k = 0; k < 8; k++) AS16[k] = clamp(AS16[k] - BS16[k], -32768, 32767); }));

// ---------------------------------------------------------------- compare, min/max, average
// PCMPEQB/W/D are the inner loop of the SSE2 string functions (strlen, memchr, strcmp): they work
// on whole dwords of c.xmm (SWAR). For x = a ^ b, ((x & 0x7f..) + 0x7f..) | x has the top bit of
// each lane set iff the lane is nonzero; the complement's top bits, times the lane mask, are the result.
function eqLanes(x: number, w: number): number {
  if (w === 8) {
    const z = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x) & 0x80808080;
    return ((z >>> 7) * 0xff) | 0;
  }
  if (w === 16) {
    const z = ~(((x & 0x7fff7fff) + 0x7fff7fff) | x) & 0x80008000;
    return ((z >>> 15) * 0xffff) | 0;
  }
  return x === 0 ? -1 : 0;
}
function pcmpeq(c: Cpu, w: number, d: number, s: Int32Array, o: number): void {
  const x = c.xmm;
  x[d] = eqLanes(x[d] ^ s[o], w); x[d + 1] = eqLanes(x[d + 1] ^ s[o + 1], w);
  x[d + 2] = eqLanes(x[d + 2] ^ s[o + 2], w); x[d + 3] = eqLanes(x[d + 3] ^ s[o + 3], w);
}
const pcmpeqR: Handler = (c, i) => { chk(c); pcmpeq(c, i.imm2, i.reg << 2, c.xmm, i.rm << 2); };
const pcmpeqM: Handler = (c, i) => { chk(c); ldB128(c, eaAligned(c, i)); pcmpeq(c, i.imm2, i.reg << 2, B32, 0); };
sse(0x174, P66, { name: 'pcmpeqb', k: 8, r: pcmpeqR, m: pcmpeqM });
sse(0x175, P66, { name: 'pcmpeqw', k: 16, r: pcmpeqR, m: pcmpeqM });
sse(0x176, P66, { name: 'pcmpeqd', k: 32, r: pcmpeqR, m: pcmpeqM });
sse(0x164, P66, bin('pcmpgtb', () => { for (let k = 0; k < 16; k++) AS8[k] = AS8[k] > BS8[k] ? -1 : 0; }));
sse(0x165, P66, bin('pcmpgtw', () => { for (let k = 0; k < 8; k++) AS16[k] = AS16[k] > BS16[k] ? -1 : 0; }));
sse(0x166, P66, bin('pcmpgtd', () => { for (let k = 0; k < 4; k++) A32[k] = A32[k] > B32[k] ? -1 : 0; }));
sse(0x1da, P66, bin('pminub', () => { for (let k = 0; k < 16; k++) A8[k] = Math.min(A8[k], B8[k]); }));
sse(0x1de, P66, bin('pmaxub', () => { for (let k = 0; k < 16; k++) A8[k] = Math.max(A8[k], B8[k]); }));
sse(0x1ea, P66, bin('pminsw', () => { for (let k = 0; k < 8; k++) AS16[k] = Math.min(AS16[k], BS16[k]); }));
sse(0x1ee, P66, bin('pmaxsw', () => { for (let k = 0; k < 8; k++) AS16[k] = Math.max(AS16[k], BS16[k]); }));
sse(0x1e0, P66, bin('pavgb', () => { for (let k = 0; k < 16; k++) A8[k] = (A8[k] + B8[k] + 1) >> 1; }));
sse(0x1e3, P66, bin('pavgw', () => { for (let k = 0; k < 8; k++) A16[k] = (A16[k] + B16[k] + 1) >> 1; }));

// ---------------------------------------------------------------- multiplies, PSADBW
sse(0x1d5, P66, bin('pmullw', () => { for (let k = 0; k < 8; k++) A16[k] = Math.imul(A16[k], B16[k]); }));
sse(0x1e5, P66, bin('pmulhw', () => { for (let k = 0; k < 8; k++) AS16[k] = (AS16[k] * BS16[k]) >> 16; }));
sse(0x1e4, P66, bin('pmulhuw', () => { for (let k = 0; k < 8; k++) A16[k] = (A16[k] * B16[k]) >>> 16; }));
sse(0x1f5, P66, bin('pmaddwd', () => {
  for (let k = 0; k < 4; k++) A32[k] = (AS16[2 * k] * BS16[2 * k] + AS16[2 * k + 1] * BS16[2 * k + 1]) | 0;
}));
sse(0x1f4, P66, bin('pmuludq', () => {
  // Unsigned 32×32 → 64 of dwords 0 and 2: the low half exactly by Math.imul, the high half by
  // rounding the (at most 2^11-off) double product after removing the low half.
  for (let k = 0; k < 4; k += 2) {
    const a = A32[k] >>> 0, b = B32[k] >>> 0;
    const lo = Math.imul(a, b);
    A32[k + 1] = Math.round((a * b - (lo >>> 0)) / 4294967296) | 0;
    A32[k] = lo;
  }
}));
sse(0x1f6, P66, bin('psadbw', () => {
  for (let q = 0; q < 2; q++) {
    let s = 0;
    for (let k = 0; k < 8; k++) s += Math.abs(A8[q * 8 + k] - B8[q * 8 + k]);
    A32[q * 2] = s; A32[q * 2 + 1] = 0;
  }
}));

// ---------------------------------------------------------------- unpack / pack
sse(0x160, P66, bin('punpcklbw', () => { for (let k = 0; k < 8; k++) { T8[2 * k] = A8[k]; T8[2 * k + 1] = B8[k]; } tToA(); }));
sse(0x161, P66, bin('punpcklwd', () => { for (let k = 0; k < 4; k++) { T16[2 * k] = A16[k]; T16[2 * k + 1] = B16[k]; } tToA(); }));
function unpckLdq(): void { T32[0] = A32[0]; T32[1] = B32[0]; T32[2] = A32[1]; T32[3] = B32[1]; tToA(); }
function unpckHdq(): void { T32[0] = A32[2]; T32[1] = B32[2]; T32[2] = A32[3]; T32[3] = B32[3]; tToA(); }
function unpckLqdq(): void { A32[2] = B32[0]; A32[3] = B32[1]; }
function unpckHqdq(): void { A32[0] = A32[2]; A32[1] = A32[3]; A32[2] = B32[2]; A32[3] = B32[3]; }
sse(0x162, P66, bin('punpckldq', unpckLdq));
sse(0x168, P66, bin('punpckhbw', () => { for (let k = 0; k < 8; k++) { T8[2 * k] = A8[8 + k]; T8[2 * k + 1] = B8[8 + k]; } tToA(); }));
sse(0x169, P66, bin('punpckhwd', () => { for (let k = 0; k < 4; k++) { T16[2 * k] = A16[4 + k]; T16[2 * k + 1] = B16[4 + k]; } tToA(); }));
sse(0x16a, P66, bin('punpckhdq', unpckHdq));
sse(0x16c, P66, bin('punpcklqdq', unpckLqdq));
sse(0x16d, P66, bin('punpckhqdq', unpckHqdq));
sse(0x114, NP, bin('unpcklps', unpckLdq));
sse(0x115, NP, bin('unpckhps', unpckHdq));
sse(0x114, P66, bin('unpcklpd', unpckLqdq));
sse(0x115, P66, bin('unpckhpd', unpckHqdq));
sse(0x163, P66, bin('packsswb', () => {
  for (let k = 0; k < 8; k++) { TS8[k] = clamp(AS16[k], -128, 127); TS8[8 + k] = clamp(BS16[k], -128, 127); }
  tToA();
}));
sse(0x167, P66, bin('packuswb', () => {
  for (let k = 0; k < 8; k++) { T8[k] = clamp(AS16[k], 0, 255); T8[8 + k] = clamp(BS16[k], 0, 255); }
  tToA();
}));
sse(0x16b, P66, bin('packssdw', () => {
  for (let k = 0; k < 4; k++) { TS16[k] = clamp(A32[k], -32768, 32767); TS16[4 + k] = clamp(B32[k], -32768, 32767); }
  tToA();
}));

// ---------------------------------------------------------------- shuffles
// PSHUFD/PSHUFLW/PSHUFHW xmm1, xmm2/m128, imm8: destination from the source only.
function shuf(name: string, f: (imm: number) => void): Variant {
  return {
    name,
    r: (c: Cpu, i: Insn) => { chk(c); ldB(c, i.rm); f(i.imm & 0xff); stT(c, i.reg); },
    m: (c: Cpu, i: Insn) => { chk(c); ldB128(c, eaAligned(c, i)); f(i.imm & 0xff); stT(c, i.reg); },
  };
}
sse(0x170, P66, shuf('pshufd', (n) => { for (let k = 0; k < 4; k++) T32[k] = B32[(n >> (2 * k)) & 3]; }), Imm.Ib);
sse(0x170, PF2, shuf('pshuflw', (n) => {
  for (let k = 0; k < 4; k++) T16[k] = B16[(n >> (2 * k)) & 3];
  T32[2] = B32[2]; T32[3] = B32[3];
}), Imm.Ib);
sse(0x170, PF3, shuf('pshufhw', (n) => {
  T32[0] = B32[0]; T32[1] = B32[1];
  for (let k = 0; k < 4; k++) T16[4 + k] = B16[4 + ((n >> (2 * k)) & 3)];
}), Imm.Ib);
sse(0x1c6, NP, binI('shufps', (n) => {
  T32[0] = A32[n & 3]; T32[1] = A32[(n >> 2) & 3]; T32[2] = B32[(n >> 4) & 3]; T32[3] = B32[(n >> 6) & 3];
  tToA();
}), Imm.Ib);
sse(0x1c6, P66, binI('shufpd', (n) => {
  const a = (n & 1) * 2, b = ((n >> 1) & 1) * 2;
  T32[0] = A32[a]; T32[1] = A32[a + 1]; T32[2] = B32[b]; T32[3] = B32[b + 1];
  tToA();
}), Imm.Ib);

// ---------------------------------------------------------------- shifts
// Count n >= 0 (already saturated to at most 64); logical shifts past the lane width give zero,
// arithmetic ones fill with the sign (SDM Vol. 2B PSLLW/PSRAW/PSRLW).
function sllW(n: number): void { if (n > 15) A32.fill(0); else for (let k = 0; k < 8; k++) A16[k] = A16[k] << n; }
function srlW(n: number): void { if (n > 15) A32.fill(0); else for (let k = 0; k < 8; k++) A16[k] = A16[k] >>> n; }
function sraW(n: number): void { if (n > 15) n = 15; for (let k = 0; k < 8; k++) AS16[k] = AS16[k] >> n; }
function sllD(n: number): void { if (n > 31) A32.fill(0); else for (let k = 0; k < 4; k++) A32[k] = A32[k] << n; }
function srlD(n: number): void { if (n > 31) A32.fill(0); else for (let k = 0; k < 4; k++) A32[k] = A32[k] >>> n; }
function sraD(n: number): void { if (n > 31) n = 31; for (let k = 0; k < 4; k++) A32[k] = A32[k] >> n; }
function sllQ(n: number): void {
  if (n > 63) { A32.fill(0); return; }
  if (n === 0) return;
  for (let k = 0; k < 4; k += 2) {
    const lo = A32[k], hi = A32[k + 1];
    if (n < 32) { A32[k + 1] = (hi << n) | (lo >>> (32 - n)); A32[k] = lo << n; }
    else { A32[k + 1] = lo << (n - 32); A32[k] = 0; }
  }
}
function srlQ(n: number): void {
  if (n > 63) { A32.fill(0); return; }
  if (n === 0) return;
  for (let k = 0; k < 4; k += 2) {
    const lo = A32[k], hi = A32[k + 1];
    if (n < 32) { A32[k] = (lo >>> n) | (hi << (32 - n)); A32[k + 1] = hi >>> n; }
    else { A32[k] = hi >>> (n - 32); A32[k + 1] = 0; }
  }
}
function srlDQ(n: number): void { for (let k = 0; k < 16; k++) T8[k] = k + n < 16 ? A8[k + n] : 0; tToA(); }
function sllDQ(n: number): void { for (let k = 0; k < 16; k++) T8[k] = k - n >= 0 ? A8[k - n] : 0; tToA(); }

/** Shift count from the low quadword of the source (anything >= 2^32 counts as 64). */
function countB(): number { return B32[1] !== 0 ? 64 : Math.min(B32[0] >>> 0, 64); }
const byXmm = (name: string, f: (n: number) => void): Variant => bin(name, () => f(countB()));
sse(0x1f1, P66, byXmm('psllw', sllW));
sse(0x1f2, P66, byXmm('pslld', sllD));
sse(0x1f3, P66, byXmm('psllq', sllQ));
sse(0x1d1, P66, byXmm('psrlw', srlW));
sse(0x1d2, P66, byXmm('psrld', srlD));
sse(0x1d3, P66, byXmm('psrlq', srlQ));
sse(0x1e1, P66, byXmm('psraw', sraW));
sse(0x1e2, P66, byXmm('psrad', sraD));

// 66 0F 71/72/73 /r ib: shift xmm (ModRM.rm, register form only) by imm8. imm2 selects the shift.
const SHIFT_FNS = [srlW, sraW, sllW, srlD, sraD, sllD, srlQ, srlDQ, sllQ, sllDQ];
const SHIFT_NAMES = ['psrlw', 'psraw', 'psllw', 'psrld', 'psrad', 'pslld', 'psrlq', 'psrldq', 'psllq', 'pslldq'];
const shiftImm: Handler = (c, i) => {
  chk(c);
  ldA(c, i.rm);
  const n = i.imm & 0xff;
  SHIFT_FNS[i.imm2](i.imm2 === 7 || i.imm2 === 9 ? Math.min(n, 16) : Math.min(n, 64));
  stA(c, i.rm);
};
/** ModRM.reg → index into SHIFT_FNS for each group (-1: #UD). */
const GROUPS: Record<number, number[]> = {
  0x171: [-1, -1, 0, -1, 1, -1, 2, -1],
  0x172: [-1, -1, 3, -1, 4, -1, 5, -1],
  0x173: [-1, -1, 6, 7, -1, -1, 8, 9],
};
for (const op of [0x171, 0x172, 0x173]) {
  const g = GROUPS[op];
  sse(op, P66, {
    name: 'pshift',
    pick: (i) => {
      const k = g[i.reg & 7];
      if (i.mod !== 3 || k < 0) return undefined;
      i.imm2 = k; i.name = SHIFT_NAMES[k];
      return shiftImm;
    },
  }, Imm.Ib);
}

// ---------------------------------------------------------------- PINSRW / PEXTRW
function insertWord(c: Cpu, r: number, idx: number, w: number): void {
  const x = c.xmm, d = (r << 2) + (idx >> 1);
  x[d] = (idx & 1) !== 0 ? (x[d] & 0xffff) | (w << 16) : (x[d] & ~0xffff) | (w & 0xffff);
}
sse(0x1c4, P66, {
  name: 'pinsrw',
  r: (c, i) => { chk(c); insertWord(c, i.reg, i.imm & 7, c.rl[i.rm] & 0xffff); },
  m: (c, i) => { chk(c); insertWord(c, i.reg, i.imm & 7, rd16(c, i.ea(c, i))); },
}, Imm.Ib);
sse(0x1c5, P66, {
  name: 'pextrw',
  r: (c, i) => {
    chk(c);
    const idx = i.imm & 7;
    set32(c, i.reg, (c.xmm[(i.rm << 2) + (idx >> 1)] >>> ((idx & 1) * 16)) & 0xffff);
  },
}, Imm.Ib);
