// Shared plumbing of the SSE/SSE2 family: the availability checks every legacy-SSE instruction
// makes (SDM Vol. 3A 13.1, Table 13-1), 128-bit operand access, scratch operand buffers and the
// per-opcode table of mandatory-prefix variants (SDM Vol. 2A 2.1.2: 66/F3/F2 select the instruction).
//
// Handlers never allocate: operands are staged in the module-level scratch buffers below
// (A = destination value, B = source value, T = result when lanes move), which also makes
// register aliasing (PUNPCKLBW xmm0, xmm0) harmless.
import { Cpu, CR0_EM, CR0_TS, CR4_OSFXSR, CR4_OSXMMEXCPT } from '../state.ts';
import type { Insn, Handler } from '../insn.ts';
import { def, Imm } from '../decoder.ts';
import { raise, UD, NM, XM, gp0 } from '../fault.ts';
import { rd32, rd64, wr64 } from '../memaccess.ts';
import { translate, ACC_WRITE } from '../paging.ts';

// Typed-array views over one buffer assume a little-endian host (x86 lanes are little-endian).
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('x86vmx SSE lanes need a little-endian host');

// ---------------------------------------------------------------- availability checks
/** #UD if CR0.EM=1 or CR4.OSFXSR=0, else #NM (CR0.TS=1): SDM Vol. 3A Table 13-1. */
export function sseUnavailable(c: Cpu): never {
  if ((c.cr0 & CR0_EM) !== 0 || (c.cr4 & CR4_OSFXSR) === 0) raise(c, UD, 0);
  return raise(c, NM, 0);
}
/** The check every SSE/SSE2 instruction makes before anything else (not fences, MOVNTI, CLFLUSH). */
export function chk(c: Cpu): void {
  if ((c.cr0 & (CR0_EM | CR0_TS)) !== 0 || (c.cr4 & CR4_OSFXSR) === 0) sseUnavailable(c);
}
/** An unmasked SIMD floating-point exception: #XM if CR4.OSXMMEXCPT=1, else #UD (SDM Vol. 3A 13.1.5). */
export function simdFault(c: Cpu): never {
  return raise(c, (c.cr4 & CR4_OSXMMEXCPT) !== 0 ? XM : UD, 0);
}

// ---------------------------------------------------------------- scratch operands
function views(buf: ArrayBuffer) {
  return {
    i32: new Int32Array(buf), u16: new Uint16Array(buf), i16: new Int16Array(buf),
    u8: new Uint8Array(buf), i8: new Int8Array(buf),
  };
}
const a = views(new ArrayBuffer(16)), b = views(new ArrayBuffer(16)), t = views(new ArrayBuffer(16));
export const A32 = a.i32, A16 = a.u16, AS16 = a.i16, A8 = a.u8, AS8 = a.i8;
export const B32 = b.i32, B16 = b.u16, BS16 = b.i16, B8 = b.u8, BS8 = b.i8;
export const T32 = t.i32, T16 = t.u16, TS16 = t.i16, T8 = t.u8, TS8 = t.i8;

/** A ← xmm[r]. */
export function ldA(c: Cpu, r: number): void {
  const x = c.xmm; r <<= 2;
  A32[0] = x[r]; A32[1] = x[r + 1]; A32[2] = x[r + 2]; A32[3] = x[r + 3];
}
/** B ← xmm[r]. */
export function ldB(c: Cpu, r: number): void {
  const x = c.xmm; r <<= 2;
  B32[0] = x[r]; B32[1] = x[r + 1]; B32[2] = x[r + 2]; B32[3] = x[r + 3];
}
/** xmm[r] ← A. */
export function stA(c: Cpu, r: number): void {
  const x = c.xmm; r <<= 2;
  x[r] = A32[0]; x[r + 1] = A32[1]; x[r + 2] = A32[2]; x[r + 3] = A32[3];
}
/** xmm[r] ← T. */
export function stT(c: Cpu, r: number): void {
  const x = c.xmm; r <<= 2;
  x[r] = T32[0]; x[r + 1] = T32[1]; x[r + 2] = T32[2]; x[r + 3] = T32[3];
}

// ---------------------------------------------------------------- memory operands
/**
 * Linear address of an m128 operand that must be 16-byte aligned: legacy SSE raises #GP(0)
 * otherwise (SDM Vol. 2A 2.4 / Vol. 3A 13.1.4 "unless stated", e.g. MOVUPS, MOVDQU).
 */
export function eaAligned(c: Cpu, i: Insn): number {
  const lin = i.ea(c, i);
  if ((lin & 15) !== 0) gp0(c);
  return lin;
}
/** B ← m128 (both halves read before anything is written). */
export function ldB128(c: Cpu, lin: number): void {
  B32[0] = rd64(c, lin); B32[1] = c.tmpHi;
  B32[2] = rd64(c, lin + 8); B32[3] = c.tmpHi;
}
/** B ← m64 in the low quadword, zero above. */
export function ldB64(c: Cpu, lin: number): void {
  B32[0] = rd64(c, lin); B32[1] = c.tmpHi; B32[2] = 0; B32[3] = 0;
}
/** B ← m32 in the low dword, zero above. */
export function ldB32(c: Cpu, lin: number): void {
  B32[0] = rd32(c, lin); B32[1] = 0; B32[2] = 0; B32[3] = 0;
}

/**
 * Store 16 bytes (d0..d3 little-endian dwords). An unaligned store that straddles a 128-byte
 * sub-page (and therefore possibly a page) is translated for write in both parts first, so a
 * fault on the second part (#PF, or an SPP write-protected sub-page) leaves memory untouched.
 */
export function wr128(c: Cpu, lin: number, d0: number, d1: number, d2: number, d3: number): void {
  if ((lin & 0x7f) > 0x70) probeWrite(c, lin, 16);
  wr64(c, lin, d0, d1);
  wr64(c, lin + 8, d2, d3);
}

/**
 * Translate [lin, lin+len) for write without storing anything: the first byte, then the start of
 * every further 128-byte sub-page it touches (a page start is one, and is what a split store
 * reports in CR2), so a later #PF or SPP-induced EPT violation cannot follow a partial store.
 */
export function probeWrite(c: Cpu, lin: number, len: number): void {
  const user = c.cpl === 3;
  const last = lin + len - 1;
  translate(c, lin, ACC_WRITE, user);
  for (let p = lin - (lin & 0x7f) + 128; p <= last; p += 128) translate(c, p, ACC_WRITE, user);
}
/** m128 ← xmm[r]. */
export function stXmm128(c: Cpu, lin: number, r: number): void {
  const x = c.xmm; r <<= 2;
  wr128(c, lin, x[r], x[r + 1], x[r + 2], x[r + 3]);
}
/** xmm[r] ← m128. */
export function ldXmm128(c: Cpu, lin: number, r: number): void {
  const lo = rd64(c, lin), hi = c.tmpHi;
  const lo2 = rd64(c, lin + 8);
  const x = c.xmm; r <<= 2;
  x[r] = lo; x[r + 1] = hi; x[r + 2] = lo2; x[r + 3] = c.tmpHi;
}

// ---------------------------------------------------------------- opcode table
/** Mandatory prefix of a variant: none, 66, F3, F2. */
export const NP = 0, P66 = 1, PF3 = 2, PF2 = 3;

export interface Variant {
  name: string;
  /** Register form (ModRM.mod = 3); undefined: #UD. */
  r?: Handler;
  /** Memory form; undefined: #UD. */
  m?: Handler;
  /** Decode-time sub-operation stored in i.imm2. */
  k?: number;
  /** Custom decode-time choice (groups selected by ModRM.reg); overrides r/m. */
  pick?: (i: Insn) => Handler | undefined;
}

interface Entry { imm: Imm; v: (Variant | undefined)[] }
const table = new Map<number, Entry>();

/** Add the variant selected by mandatory prefix `p` (NP/P66/PF3/PF2) of opcode `op` (0x1xx = 0F xx). */
export function sse(op: number, p: number, v: Variant, imm: Imm = Imm.None): void {
  let e = table.get(op);
  if (e === undefined) { e = { imm, v: [undefined, undefined, undefined, undefined] }; table.set(op, e); }
  if (e.imm !== imm) throw new Error(`sse: opcode 0x${op.toString(16)} immediate kinds differ`);
  if (e.v[p] !== undefined) throw new Error(`sse: opcode 0x${op.toString(16)} prefix ${p} defined twice`);
  e.v[p] = v;
}

function prefixIndex(m: number): number {
  return m === 0x66 ? P66 : m === 0xf3 ? PF3 : m === 0xf2 ? PF2 : NP;
}

/** Register every collected opcode with the decoder (called once by sse.ts after all parts loaded). */
export function registerSseTable(): void {
  for (const [op, e] of table) {
    const vs = e.v;
    const names = vs.filter((v) => v !== undefined).map((v) => v!.name).join('/');
    def(op, {
      name: names, modrm: true, imm: e.imm,
      pick: (i: Insn) => {
        if (i.lock) return undefined; // LOCK with any SSE instruction: #UD
        const v = vs[prefixIndex(i.mandatory)];
        if (v === undefined) return undefined;
        i.name = v.name;
        if (v.k !== undefined) i.imm2 = v.k;
        if (v.pick !== undefined) return v.pick(i);
        return i.mod === 3 ? v.r : v.m;
      },
    });
  }
}
