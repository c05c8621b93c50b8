// SSE/SSE2 floating-point instructions (SDM Vol. 2A/2B): ADD/SUB/MUL/DIV/MIN/MAX/SQRT in the
// PS/PD/SS/SD forms, CMPccPS/PD/SS/SD, (U)COMISS/(U)COMISD, RCP/RSQRT PS/SS and the conversions
// CVTSI2SD/SS, CVT(T)SD2SI, CVT(T)SS2SI, CVTSD2SS, CVTSS2SD, CVTPS2PD, CVTPD2PS, CVTDQ2PS,
// CVT(T)PS2DQ, CVTDQ2PD, CVT(T)PD2DQ. The arithmetic itself lives in sse-fp.ts.
// Scalar memory operands (m32/m64) need no alignment; packed m128 operands must be aligned, except
// the m64 sources of CVTPS2PD and CVTDQ2PD.
import type { Cpu } from '../state.ts';
import type { Handler, Insn } from '../insn.ts';
import { Imm } from '../decoder.ts';
import { rd32, rd64 } from '../memaccess.ts';
import { setArith } from '../flags.ts';
import {
  chk, sse, NP, P66, PF3, PF2, eaAligned, ldB, ldB128, ldB64, ldB32, B32, T32,
} from './sse-common.ts';
import {
  fpBegin, fpCheck, opD, opF, cmpD, cmpF, comiD, comiF, f2d, d2f, i2d, i2f, toInt, rcpF, dbl, flt,
  K_ADD, K_MUL, K_SUB, K_MIN, K_DIV, K_MAX, K_SQRT,
} from './sse-fp.ts';
import * as fp from './sse-fp.ts';

/** Source operand into B: register, or memory of `bytes` (16 aligned, 8 or 4 unaligned). */
function srcB(c: Cpu, i: Insn, bytes: number): void {
  if (i.mod === 3) { ldB(c, i.rm); return; }
  if (bytes === 16) ldB128(c, eaAligned(c, i));
  else if (bytes === 8) ldB64(c, i.ea(c, i));
  else ldB32(c, i.ea(c, i));
}

// ---------------------------------------------------------------- arithmetic
// The scalar forms are the hot ones (gcc -O2 double code): their register forms read c.xmm directly.
const sdR: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, d = i.reg << 2, s = i.rm << 2;
  fpBegin(c);
  opD(i.imm2, x[d], x[d + 1], x[s], x[s + 1]);
  fpCheck(c);
  x[d] = fp.rLo; x[d + 1] = fp.rHi;
};
const sdM: Handler = (c, i) => {
  chk(c);
  const bLo = rd64(c, i.ea(c, i)), bHi = c.tmpHi;
  const x = c.xmm, d = i.reg << 2;
  fpBegin(c);
  opD(i.imm2, x[d], x[d + 1], bLo, bHi);
  fpCheck(c);
  x[d] = fp.rLo; x[d + 1] = fp.rHi;
};
const ssR: Handler = (c, i) => {
  chk(c);
  const x = c.xmm, d = i.reg << 2;
  fpBegin(c);
  const r = opF(i.imm2, x[d], x[i.rm << 2]);
  fpCheck(c);
  x[d] = r;
};
const ssM: Handler = (c, i) => {
  chk(c);
  const b = rd32(c, i.ea(c, i));
  const x = c.xmm, d = i.reg << 2;
  fpBegin(c);
  const r = opF(i.imm2, x[d], b);
  fpCheck(c);
  x[d] = r;
};
function pd(c: Cpu, i: Insn): void {
  const x = c.xmm, d = i.reg << 2, k = i.imm2;
  fpBegin(c);
  opD(k, x[d], x[d + 1], B32[0], B32[1]); T32[0] = fp.rLo; T32[1] = fp.rHi;
  opD(k, x[d + 2], x[d + 3], B32[2], B32[3]); T32[2] = fp.rLo; T32[3] = fp.rHi;
  fpCheck(c);
  x[d] = T32[0]; x[d + 1] = T32[1]; x[d + 2] = T32[2]; x[d + 3] = T32[3];
}
function ps(c: Cpu, i: Insn): void {
  const x = c.xmm, d = i.reg << 2, k = i.imm2;
  fpBegin(c);
  for (let j = 0; j < 4; j++) T32[j] = opF(k, x[d + j], B32[j]);
  fpCheck(c);
  x[d] = T32[0]; x[d + 1] = T32[1]; x[d + 2] = T32[2]; x[d + 3] = T32[3];
}
const pdH: Handler = (c, i) => { chk(c); srcB(c, i, 16); pd(c, i); };
const psH: Handler = (c, i) => { chk(c); srcB(c, i, 16); ps(c, i); };

const ARITH: [number, number, string][] = [
  [0x58, K_ADD, 'add'], [0x59, K_MUL, 'mul'], [0x5c, K_SUB, 'sub'], [0x5d, K_MIN, 'min'],
  [0x5e, K_DIV, 'div'], [0x5f, K_MAX, 'max'], [0x51, K_SQRT, 'sqrt'],
];
for (const [op, k, n] of ARITH) {
  sse(0x100 | op, NP, { name: n + 'ps', k, r: psH, m: psH });
  sse(0x100 | op, P66, { name: n + 'pd', k, r: pdH, m: pdH });
  sse(0x100 | op, PF3, { name: n + 'ss', k, r: ssR, m: ssM });
  sse(0x100 | op, PF2, { name: n + 'sd', k, r: sdR, m: sdM });
}

// ---------------------------------------------------------------- compares
// CMPccPS/PD/SS/SD xmm1, xmm2/m, imm8: predicate imm8[2:0]; all-ones or zero per element.
const cmpSd: Handler = (c, i) => {
  chk(c); srcB(c, i, 8);
  const x = c.xmm, d = i.reg << 2;
  fpBegin(c);
  const r = cmpD(i.imm & 7, x[d], x[d + 1], B32[0], B32[1]) ? -1 : 0;
  fpCheck(c);
  x[d] = r; x[d + 1] = r;
};
const cmpSs: Handler = (c, i) => {
  chk(c); srcB(c, i, 4);
  const x = c.xmm, d = i.reg << 2;
  fpBegin(c);
  const r = cmpF(i.imm & 7, x[d], B32[0]) ? -1 : 0;
  fpCheck(c);
  x[d] = r;
};
const cmpPd: Handler = (c, i) => {
  chk(c); srcB(c, i, 16);
  const x = c.xmm, d = i.reg << 2, p = i.imm & 7;
  fpBegin(c);
  const r0 = cmpD(p, x[d], x[d + 1], B32[0], B32[1]) ? -1 : 0;
  const r1 = cmpD(p, x[d + 2], x[d + 3], B32[2], B32[3]) ? -1 : 0;
  fpCheck(c);
  x[d] = r0; x[d + 1] = r0; x[d + 2] = r1; x[d + 3] = r1;
};
const cmpPs: Handler = (c, i) => {
  chk(c); srcB(c, i, 16);
  const x = c.xmm, d = i.reg << 2, p = i.imm & 7;
  fpBegin(c);
  for (let j = 0; j < 4; j++) T32[j] = cmpF(p, x[d + j], B32[j]) ? -1 : 0;
  fpCheck(c);
  x[d] = T32[0]; x[d + 1] = T32[1]; x[d + 2] = T32[2]; x[d + 3] = T32[3];
};
sse(0x1c2, NP, { name: 'cmpps', r: cmpPs, m: cmpPs }, Imm.Ib);
sse(0x1c2, P66, { name: 'cmppd', r: cmpPd, m: cmpPd }, Imm.Ib);
sse(0x1c2, PF3, { name: 'cmpss', r: cmpSs, m: cmpSs }, Imm.Ib);
sse(0x1c2, PF2, { name: 'cmpsd', r: cmpSd, m: cmpSd }, Imm.Ib);

// (U)COMISD / (U)COMISS: ZF PF CF from the compare, OF SF AF cleared; EFLAGS untouched when an
// unmasked exception is raised. imm2 = 1 for COMIS* (IE on QNaN as well as SNaN).
const comisd: Handler = (c, i) => {
  chk(c); srcB(c, i, 8);
  const x = c.xmm, d = i.reg << 2;
  fpBegin(c);
  const f = comiD(x[d], x[d + 1], B32[0], B32[1], i.imm2 === 1);
  fpCheck(c);
  setArith(c, f);
};
const comiss: Handler = (c, i) => {
  chk(c); srcB(c, i, 4);
  fpBegin(c);
  const f = comiF(c.xmm[i.reg << 2], B32[0], i.imm2 === 1);
  fpCheck(c);
  setArith(c, f);
};
sse(0x12e, NP, { name: 'ucomiss', k: 0, r: comiss, m: comiss });
sse(0x12e, P66, { name: 'ucomisd', k: 0, r: comisd, m: comisd });
sse(0x12f, NP, { name: 'comiss', k: 1, r: comiss, m: comiss });
sse(0x12f, P66, { name: 'comisd', k: 1, r: comisd, m: comisd });

// ---------------------------------------------------------------- RCP / RSQRT (approximations)
const rcpSs: Handler = (c, i) => { chk(c); srcB(c, i, 4); c.xmm[i.reg << 2] = rcpF(B32[0], i.imm2 === 1); };
const rcpPs: Handler = (c, i) => {
  chk(c); srcB(c, i, 16);
  const x = c.xmm, d = i.reg << 2, rs = i.imm2 === 1;
  for (let j = 0; j < 4; j++) x[d + j] = rcpF(B32[j], rs);
};
sse(0x152, NP, { name: 'rsqrtps', k: 1, r: rcpPs, m: rcpPs });
sse(0x152, PF3, { name: 'rsqrtss', k: 1, r: rcpSs, m: rcpSs });
sse(0x153, NP, { name: 'rcpps', k: 0, r: rcpPs, m: rcpPs });
sse(0x153, PF3, { name: 'rcpss', k: 0, r: rcpSs, m: rcpSs });

// ---------------------------------------------------------------- integer → FP
// CVTSI2SD/CVTSI2SS xmm, r/m32 (REX.W: r/m64). Only the low element of the destination changes.
function intSrc(c: Cpu, i: Insn): void {
  const w = (i.rex & 8) !== 0;
  if (i.mod === 3) { B32[0] = c.rl[i.rm]; B32[1] = w ? c.rh[i.rm] : c.rl[i.rm] >> 31; return; }
  const a = i.ea(c, i);
  if (w) { B32[0] = rd64(c, a); B32[1] = c.tmpHi; } else { B32[0] = rd32(c, a); B32[1] = B32[0] >> 31; }
}
const cvtsi2sd: Handler = (c, i) => {
  chk(c); intSrc(c, i);
  fpBegin(c);
  i2d(B32[0], B32[1]);
  fpCheck(c);
  const d = i.reg << 2;
  c.xmm[d] = fp.rLo; c.xmm[d + 1] = fp.rHi;
};
const cvtsi2ss: Handler = (c, i) => {
  chk(c); intSrc(c, i);
  fpBegin(c);
  const r = i2f(B32[0], B32[1]);
  fpCheck(c);
  c.xmm[i.reg << 2] = r;
};
sse(0x12a, PF2, { name: 'cvtsi2sd', r: cvtsi2sd, m: cvtsi2sd });
sse(0x12a, PF3, { name: 'cvtsi2ss', r: cvtsi2ss, m: cvtsi2ss });

// ---------------------------------------------------------------- FP → integer
// CVT(T)SD2SI / CVT(T)SS2SI r32/r64, xmm/m: imm2 = 1 truncates. The destination is a GPR.
function intDst(c: Cpu, i: Insn): void {
  if ((i.rex & 8) !== 0) { c.rl[i.reg] = fp.rLo; c.rh[i.reg] = fp.rHi; } else { c.rl[i.reg] = fp.rLo; c.rh[i.reg] = 0; }
}
const cvtsd2si: Handler = (c, i) => {
  chk(c); srcB(c, i, 8);
  fpBegin(c);
  toInt(dbl(B32[0], B32[1]), i.imm2 === 1, (i.rex & 8) !== 0);
  fpCheck(c);
  intDst(c, i);
};
const cvtss2si: Handler = (c, i) => {
  chk(c); srcB(c, i, 4);
  fpBegin(c);
  toInt(flt(B32[0]), i.imm2 === 1, (i.rex & 8) !== 0);
  fpCheck(c);
  intDst(c, i);
};
sse(0x12c, PF2, { name: 'cvttsd2si', k: 1, r: cvtsd2si, m: cvtsd2si });
sse(0x12d, PF2, { name: 'cvtsd2si', k: 0, r: cvtsd2si, m: cvtsd2si });
sse(0x12c, PF3, { name: 'cvttss2si', k: 1, r: cvtss2si, m: cvtss2si });
sse(0x12d, PF3, { name: 'cvtss2si', k: 0, r: cvtss2si, m: cvtss2si });

// ---------------------------------------------------------------- FP ↔ FP and packed conversions
const cvtsd2ss: Handler = (c, i) => {
  chk(c); srcB(c, i, 8);
  fpBegin(c);
  const r = d2f(B32[0], B32[1]);
  fpCheck(c);
  c.xmm[i.reg << 2] = r;
};
const cvtss2sd: Handler = (c, i) => {
  chk(c); srcB(c, i, 4);
  fpBegin(c);
  f2d(B32[0]);
  fpCheck(c);
  const d = i.reg << 2;
  c.xmm[d] = fp.rLo; c.xmm[d + 1] = fp.rHi;
};
/** Write T to xmm[reg]. */
function putT(c: Cpu, i: Insn): void {
  const x = c.xmm, d = i.reg << 2;
  x[d] = T32[0]; x[d + 1] = T32[1]; x[d + 2] = T32[2]; x[d + 3] = T32[3];
}
const cvtps2pd: Handler = (c, i) => {
  chk(c); srcB(c, i, 8);
  fpBegin(c);
  f2d(B32[0]); T32[0] = fp.rLo; T32[1] = fp.rHi;
  f2d(B32[1]); T32[2] = fp.rLo; T32[3] = fp.rHi;
  fpCheck(c); putT(c, i);
};
const cvtpd2ps: Handler = (c, i) => {
  chk(c); srcB(c, i, 16);
  fpBegin(c);
  T32[0] = d2f(B32[0], B32[1]); T32[1] = d2f(B32[2], B32[3]); T32[2] = 0; T32[3] = 0;
  fpCheck(c); putT(c, i);
};
const cvtdq2ps: Handler = (c, i) => {
  chk(c); srcB(c, i, 16);
  fpBegin(c);
  for (let j = 0; j < 4; j++) T32[j] = i2f(B32[j], B32[j] >> 31);
  fpCheck(c); putT(c, i);
};
const cvtps2dq: Handler = (c, i) => {
  chk(c); srcB(c, i, 16);
  fpBegin(c);
  for (let j = 0; j < 4; j++) { toInt(flt(B32[j]), i.imm2 === 1, false); T32[j] = fp.rLo; }
  fpCheck(c); putT(c, i);
};
const cvtdq2pd: Handler = (c, i) => {
  chk(c); srcB(c, i, 8);
  fpBegin(c);
  i2d(B32[0], B32[0] >> 31); T32[0] = fp.rLo; T32[1] = fp.rHi;
  i2d(B32[1], B32[1] >> 31); T32[2] = fp.rLo; T32[3] = fp.rHi;
  fpCheck(c); putT(c, i);
};
const cvtpd2dq: Handler = (c, i) => {
  chk(c); srcB(c, i, 16);
  fpBegin(c);
  toInt(dbl(B32[0], B32[1]), i.imm2 === 1, false); T32[0] = fp.rLo;
  toInt(dbl(B32[2], B32[3]), i.imm2 === 1, false); T32[1] = fp.rLo;
  T32[2] = 0; T32[3] = 0;
  fpCheck(c); putT(c, i);
};
sse(0x15a, PF2, { name: 'cvtsd2ss', r: cvtsd2ss, m: cvtsd2ss });
sse(0x15a, PF3, { name: 'cvtss2sd', r: cvtss2sd, m: cvtss2sd });
sse(0x15a, NP, { name: 'cvtps2pd', r: cvtps2pd, m: cvtps2pd });
sse(0x15a, P66, { name: 'cvtpd2ps', r: cvtpd2ps, m: cvtpd2ps });
sse(0x15b, NP, { name: 'cvtdq2ps', r: cvtdq2ps, m: cvtdq2ps });
sse(0x15b, P66, { name: 'cvtps2dq', k: 0, r: cvtps2dq, m: cvtps2dq });
sse(0x15b, PF3, { name: 'cvttps2dq', k: 1, r: cvtps2dq, m: cvtps2dq });
sse(0x1e6, PF3, { name: 'cvtdq2pd', r: cvtdq2pd, m: cvtdq2pd });
sse(0x1e6, P66, { name: 'cvttpd2dq', k: 1, r: cvtpd2dq, m: cvtpd2dq });
sse(0x1e6, PF2, { name: 'cvtpd2dq', k: 0, r: cvtpd2dq, m: cvtpd2dq });
