// SSE/SSE2 data movement, bitwise logic and mask extraction (SDM Vol. 2A/2B: MOVUPS, MOVAPS,
// MOVDQA, MOVDQU, MOVSS, MOVSD, MOVLPS/MOVHPS/MOVLPD/MOVHPD, MOVHLPS/MOVLHPS, MOVD/MOVQ, MOVNT*,
// MASKMOVDQU, MOVMSKPS/PD, PMOVMSKB, AND/ANDN/OR/XOR PS/PD, PAND/PANDN/POR/PXOR).
// These are the memcpy/memset/strlen hot paths, so each form has its own handler working on
// c.xmm directly (lane-wise, so a register used as both operands is fine).
import { Cpu, DS, FS, MODE_LONG64 } from '../state.ts';
import type { Handler, Insn } from '../insn.ts';
import { rd32, rd64, wr8, wr32, wr64 } from '../memaccess.ts';
import { set32 } from '../regs.ts';
import { raise, GP } from '../fault.ts';
import {
  chk, sse, NP, P66, PF3, PF2, B32, ldB128, eaAligned, ldXmm128, stXmm128,
} from './sse-common.ts';

// ---------------------------------------------------------------- full 128-bit moves
/** xmm[reg] ← xmm[rm] (load direction). */
const movLdRR: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, d = i.reg << 2, s = i.rm << 2;
  x[d] = x[s]; x[d + 1] = x[s + 1]; x[d + 2] = x[s + 2]; x[d + 3] = x[s + 3];
};
/** xmm[rm] ← xmm[reg] (store direction, register form). */
const movStRR: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, d = i.rm << 2, s = i.reg << 2;
  x[d] = x[s]; x[d + 1] = x[s + 1]; x[d + 2] = x[s + 2]; x[d + 3] = x[s + 3];
};
const movLdU: Handler = (c, i) => { chk(c); ldXmm128(c, i.ea(c, i), i.reg); };
const movLdA: Handler = (c, i) => { chk(c); ldXmm128(c, eaAligned(c, i), i.reg); };
const movStU: Handler = (c, i) => { chk(c); stXmm128(c, i.ea(c, i), i.reg); };
const movStA: Handler = (c, i) => { chk(c); stXmm128(c, eaAligned(c, i), i.reg); };

sse(0x110, NP, { name: 'movups', r: movLdRR, m: movLdU });
sse(0x110, P66, { name: 'movupd', r: movLdRR, m: movLdU });
sse(0x111, NP, { name: 'movups', r: movStRR, m: movStU });
sse(0x111, P66, { name: 'movupd', r: movStRR, m: movStU });
sse(0x128, NP, { name: 'movaps', r: movLdRR, m: movLdA });
sse(0x128, P66, { name: 'movapd', r: movLdRR, m: movLdA });
sse(0x129, NP, { name: 'movaps', r: movStRR, m: movStA });
sse(0x129, P66, { name: 'movapd', r: movStRR, m: movStA });
sse(0x16f, P66, { name: 'movdqa', r: movLdRR, m: movLdA });
sse(0x16f, PF3, { name: 'movdqu', r: movLdRR, m: movLdU });
sse(0x17f, P66, { name: 'movdqa', r: movStRR, m: movStA });
sse(0x17f, PF3, { name: 'movdqu', r: movStRR, m: movStU });
// Non-temporal stores: memory forms only, 16-byte alignment required; the hint is ignored.
sse(0x12b, NP, { name: 'movntps', m: movStA });
sse(0x12b, P66, { name: 'movntpd', m: movStA });
sse(0x1e7, P66, { name: 'movntdq', m: movStA });

// ---------------------------------------------------------------- MOVSS / MOVSD
// Register form merges into the low element; the load zeroes the rest; the store writes the element.
const movssRR: Handler = (c, i) => { chk(c); c.xmm[i.reg << 2] = c.xmm[i.rm << 2]; };
const movssStRR: Handler = (c, i) => { chk(c); c.xmm[i.rm << 2] = c.xmm[i.reg << 2]; };
const movssLd: Handler = (c, i) => {
  chk(c);
  const v = rd32(c, i.ea(c, i));
  const x = c.xmm, d = i.reg << 2;
  x[d] = v; x[d + 1] = 0; x[d + 2] = 0; x[d + 3] = 0;
};
const movssSt: Handler = (c, i) => { chk(c); wr32(c, i.ea(c, i), c.xmm[i.reg << 2]); };
const movsdRR: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, d = i.reg << 2, s = i.rm << 2;
  x[d] = x[s]; x[d + 1] = x[s + 1];
};
const movsdStRR: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, d = i.rm << 2, s = i.reg << 2;
  x[d] = x[s]; x[d + 1] = x[s + 1];
};
/** xmm[reg] ← m64 zero-extended (MOVSD load, MOVQ xmm, m64). */
const ldQZx: Handler = (c, i) => {
  chk(c);
  const lo = rd64(c, i.ea(c, i));
  const x = c.xmm, d = i.reg << 2;
  x[d] = lo; x[d + 1] = c.tmpHi; x[d + 2] = 0; x[d + 3] = 0;
};
/** m64 ← low quadword of xmm[reg] (MOVSD/MOVLPS/MOVLPD/MOVQ stores). */
const stQLo: Handler = (c, i) => { chk(c); const x = c.xmm, s = i.reg << 2; wr64(c, i.ea(c, i), x[s], x[s + 1]); };
/** m64 ← high quadword of xmm[reg] (MOVHPS/MOVHPD stores). */
const stQHi: Handler = (c, i) => { chk(c); const x = c.xmm, s = i.reg << 2; wr64(c, i.ea(c, i), x[s + 2], x[s + 3]); };
/** low quadword of xmm[reg] ← m64, high kept (MOVLPS/MOVLPD loads). */
const ldQLo: Handler = (c, i) => {
  chk(c);
  const lo = rd64(c, i.ea(c, i));
  const x = c.xmm, d = i.reg << 2;
  x[d] = lo; x[d + 1] = c.tmpHi;
};
/** high quadword of xmm[reg] ← m64, low kept (MOVHPS/MOVHPD loads). */
const ldQHi: Handler = (c, i) => {
  chk(c);
  const lo = rd64(c, i.ea(c, i));
  const x = c.xmm, d = i.reg << 2;
  x[d + 2] = lo; x[d + 3] = c.tmpHi;
};
/** MOVHLPS: low quadword of xmm[reg] ← high quadword of xmm[rm]. */
const movhlps: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, d = i.reg << 2, s = i.rm << 2;
  x[d] = x[s + 2]; x[d + 1] = x[s + 3];
};
/** MOVLHPS: high quadword of xmm[reg] ← low quadword of xmm[rm]. */
const movlhps: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, d = i.reg << 2, s = i.rm << 2;
  x[d + 2] = x[s]; x[d + 3] = x[s + 1];
};

sse(0x110, PF3, { name: 'movss', r: movssRR, m: movssLd });
sse(0x110, PF2, { name: 'movsd', r: movsdRR, m: ldQZx });
sse(0x111, PF3, { name: 'movss', r: movssStRR, m: movssSt });
sse(0x111, PF2, { name: 'movsd', r: movsdStRR, m: stQLo });
sse(0x112, NP, { name: 'movlps', r: movhlps, m: ldQLo }); // register form is MOVHLPS
sse(0x112, P66, { name: 'movlpd', m: ldQLo });
sse(0x113, NP, { name: 'movlps', m: stQLo });
sse(0x113, P66, { name: 'movlpd', m: stQLo });
sse(0x116, NP, { name: 'movhps', r: movlhps, m: ldQHi }); // register form is MOVLHPS
sse(0x116, P66, { name: 'movhpd', m: ldQHi });
sse(0x117, NP, { name: 'movhps', m: stQHi });
sse(0x117, P66, { name: 'movhpd', m: stQHi });

// ---------------------------------------------------------------- MOVD / MOVQ
// 66 0F 6E: MOVD xmm, r/m32 (REX.W: MOVQ xmm, r/m64), zero-extended to 128 bits.
const movdXR: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, d = i.reg << 2;
  x[d] = c.rl[i.rm]; x[d + 1] = 0; x[d + 2] = 0; x[d + 3] = 0;
};
const movqXR: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, d = i.reg << 2;
  x[d] = c.rl[i.rm]; x[d + 1] = c.rh[i.rm]; x[d + 2] = 0; x[d + 3] = 0;
};
const movdXM: Handler = (c, i) => {
  chk(c);
  const v = rd32(c, i.ea(c, i));
  const x = c.xmm, d = i.reg << 2;
  x[d] = v; x[d + 1] = 0; x[d + 2] = 0; x[d + 3] = 0;
};
// 66 0F 7E: MOVD r/m32, xmm (REX.W: MOVQ r/m64, xmm). A 32-bit register write zero-extends.
const movdRX: Handler = (c, i) => { chk(c); set32(c, i.rm, c.xmm[i.reg << 2]); };
const movqRX: Handler = (c, i) => { chk(c); const s = i.reg << 2; c.rl[i.rm] = c.xmm[s]; c.rh[i.rm] = c.xmm[s + 1]; };
const movdMX: Handler = (c, i) => { chk(c); wr32(c, i.ea(c, i), c.xmm[i.reg << 2]); };
const rexW = (i: Insn): boolean => (i.rex & 8) !== 0;
sse(0x16e, P66, { name: 'movd', pick: (i) => rexW(i) ? (i.mod === 3 ? movqXR : ldQZx) : (i.mod === 3 ? movdXR : movdXM) });
sse(0x17e, P66, { name: 'movd', pick: (i) => rexW(i) ? (i.mod === 3 ? movqRX : stQLo) : (i.mod === 3 ? movdRX : movdMX) });
// F3 0F 7E: MOVQ xmm1, xmm2/m64 (zero-extends); 66 0F D6: MOVQ xmm2/m64, xmm1 (register form zero-extends too).
const movqXX: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, d = i.reg << 2, s = i.rm << 2;
  x[d] = x[s]; x[d + 1] = x[s + 1]; x[d + 2] = 0; x[d + 3] = 0;
};
const movqXXst: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, d = i.rm << 2, s = i.reg << 2;
  x[d] = x[s]; x[d + 1] = x[s + 1]; x[d + 2] = 0; x[d + 3] = 0;
};
sse(0x17e, PF3, { name: 'movq', r: movqXX, m: ldQZx });
sse(0x1d6, P66, { name: 'movq', r: movqXXst, m: stQLo });

// MOVNTI m32/m64, r32/r64 (0F C3): a plain GPR store; not subject to the CR0/CR4 SSE checks
// (SDM Vol. 3A Table 13-1 note 1).
const movnti: Handler = (c, i) => {
  const a = i.ea(c, i);
  if ((i.rex & 8) !== 0) wr64(c, a, c.rl[i.reg], c.rh[i.reg]);
  else wr32(c, a, c.rl[i.reg]);
};
sse(0x1c3, NP, { name: 'movnti', m: movnti });

// MASKMOVDQU xmm1, xmm2 (66 0F F7, register form only): bytes of xmm1 whose mask byte in xmm2 has
// its top bit set are stored to DS:rDI (segment override allowed). Byte stores in ascending
// order; a fault part-way leaves the earlier bytes written (the SDM leaves this unspecified).
const TWO32 = 4294967296;
function rdiAddress(c: Cpu, i: Insn): number {
  const seg = i.segOverride >= 0 ? i.segOverride : DS;
  if (c.mode === MODE_LONG64) {
    let lin = i.addrSize === 64 ? c.rh[7] * TWO32 + (c.rl[7] >>> 0) : c.rl[7] >>> 0;
    if (seg >= FS) lin += c.segBase[seg];
    if (lin < -140737488355328 || lin >= 140737488355328) raise(c, GP, 0);
    return lin;
  }
  const off = i.addrSize === 16 ? c.rl[7] & 0xffff : c.rl[7] >>> 0;
  return (off + c.segBase[seg]) % TWO32;
}
const maskmovdqu: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, d = i.reg << 2, m = i.rm << 2;
  const base = rdiAddress(c, i);
  for (let k = 0; k < 16; k++) {
    if (((x[m + (k >> 2)] >>> (8 * (k & 3) + 7)) & 1) !== 0) wr8(c, base + k, (x[d + (k >> 2)] >>> (8 * (k & 3))) & 0xff);
  }
};
sse(0x1f7, P66, { name: 'maskmovdqu', r: maskmovdqu });

// ---------------------------------------------------------------- sign masks
function byteSigns(v: number): number {
  return ((v >>> 7) & 1) | ((v >>> 14) & 2) | ((v >>> 21) & 4) | ((v >>> 28) & 8);
}
const pmovmskb: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, s = i.rm << 2;
  set32(c, i.reg, byteSigns(x[s]) | (byteSigns(x[s + 1]) << 4) | (byteSigns(x[s + 2]) << 8) | (byteSigns(x[s + 3]) << 12));
};
const movmskps: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, s = i.rm << 2;
  set32(c, i.reg, (x[s] >>> 31) | ((x[s + 1] >>> 31) << 1) | ((x[s + 2] >>> 31) << 2) | ((x[s + 3] >>> 31) << 3));
};
const movmskpd: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, s = i.rm << 2;
  set32(c, i.reg, (x[s + 1] >>> 31) | ((x[s + 3] >>> 31) << 1));
};
sse(0x1d7, P66, { name: 'pmovmskb', r: pmovmskb });
sse(0x150, NP, { name: 'movmskps', r: movmskps });
sse(0x150, P66, { name: 'movmskpd', r: movmskpd });

// ---------------------------------------------------------------- bitwise logic
const L_AND = 0, L_ANDN = 1, L_OR = 2, L_XOR = 3;
function logic(c: Cpu, k: number, d: number, s: Int32Array, o: number): void {
  const x = c.xmm;
  switch (k) {
    case L_AND: x[d] &= s[o]; x[d + 1] &= s[o + 1]; x[d + 2] &= s[o + 2]; x[d + 3] &= s[o + 3]; return;
    case L_ANDN:
      for (let j = 0; j < 4; j++) { const v = s[o + j]; x[d + j] = ~x[d + j] & v; }
      return;
    case L_OR: x[d] |= s[o]; x[d + 1] |= s[o + 1]; x[d + 2] |= s[o + 2]; x[d + 3] |= s[o + 3]; return;
    default: x[d] ^= s[o]; x[d + 1] ^= s[o + 1]; x[d + 2] ^= s[o + 2]; x[d + 3] ^= s[o + 3];
  }
}
const logicR: Handler = (c, i) => { chk(c); logic(c, i.imm2, i.reg << 2, c.xmm, i.rm << 2); };
const logicM: Handler = (c, i) => { chk(c); ldB128(c, eaAligned(c, i)); logic(c, i.imm2, i.reg << 2, B32, 0); };
const LOGIC: [number, number, number, string, string, string][] = [
  [0x54, 0xdb, L_AND, 'andps', 'andpd', 'pand'],
  [0x55, 0xdf, L_ANDN, 'andnps', 'andnpd', 'pandn'],
  [0x56, 0xeb, L_OR, 'orps', 'orpd', 'por'],
  [0x57, 0xef, L_XOR, 'xorps', 'xorpd', 'pxor'],
];
for (const [fp, int, k, ps, pd, p] of LOGIC) {
  sse(0x100 | fp, NP, { name: ps, k, r: logicR, m: logicM });
  sse(0x100 | fp, P66, { name: pd, k, r: logicR, m: logicM });
  sse(0x100 | int, P66, { name: p, k, r: logicR, m: logicM });
}
