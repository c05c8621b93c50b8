// Where capstone (5.0, the LLVM-derived x86 decoder in capstone-wasm) is wrong about a 64-bit
// encoding, and the SDM says what our decoder does — where the SDM only calls an encoding
// "reserved", the host CPU decides (every class is sampled on real hardware in hwlen/evidence.txt
// and decoder.test.ts checks that the CPU agrees with us). These are the only disagreements the
// decoder comparison (decoder-check.ts) excuses. Each class is narrow in two ways: it names the encodings
// it covers, and where it can it proves the cause by a second question to capstone on an
// equivalent encoding (the same bytes with the prefixes reordered, or without the one prefix the
// class is about) which capstone must then decode exactly as we do. A sequence that matches no
// class stays a disagreement.
import type { CsResult } from './capstone.ts';
import { type Parsed, Kind, parse, sdmLockable, modOf, regOf } from './x86-encoding.ts';

export interface Verdict { valid: boolean; len: number }

/** What a class sees: the sequence, both verdicts, and both decoders for transformed sequences. */
export interface Ctx {
  bytes: Uint8Array;
  p: Parsed;
  cs: CsResult | null;
  ours: Verdict;
  capstone(b: Uint8Array): CsResult | null;
  decode(b: Uint8Array): Verdict;
}

/** Which disagreement a class explains. */
export type Disagreement = 'capstone-valid-we-ud' | 'capstone-invalid-we-decode' | 'length';

export interface CapstoneException {
  id: string;
  kind: Disagreement;
  /** What capstone does wrong, for the report. */
  title: string;
  /** The SDM text that decides it. */
  sdm: string;
  test(x: Ctx): boolean;
}

// ---- transformations (all keep the instruction's meaning per the SDM) ----

/** The bytes with every byte at the given prefix positions removed. */
function without(b: Uint8Array, drop: (x: number, at: number) => boolean, prefixLen: number): Uint8Array {
  const out: number[] = [];
  for (let k = 0; k < b.length; k++) if (!(k < prefixLen && drop(b[k], k))) out.push(b[k]);
  while (out.length < b.length) out.push(0);
  return Uint8Array.from(out);
}

/**
 * The same instruction with its legacy prefixes in one canonical order and without repeats:
 * LOCK, segment (the last one given), 67, 66, then the REP prefix that counts (the last F2/F3), then
 * the REX prefix in effect (dropped if it was not in effect), then the rest. SDM Vol. 2A 2.1.1: the
 * prefix groups "may be placed in any order relative to each other"; 2.2.1: a REX prefix not
 * immediately before the opcode is ignored. Returns the bytes and how many bytes it removed.
 */
function canonical(b: Uint8Array, p: Parsed): { bytes: Uint8Array; removed: number } {
  const seg = [...p.legacy].reverse().find((x) => x === 0x26 || x === 0x2e || x === 0x36 || x === 0x3e || x === 0x64 || x === 0x65);
  const pre: number[] = [];
  if (p.lock && p.rep) pre.push(p.rep, 0xf0); // F2/F3 F0: the HLE order capstone reads (an F2/F3 after F0 makes it drop LOCK)
  else if (p.lock) pre.push(0xf0);
  if (seg !== undefined) pre.push(seg);
  if (p.p67) pre.push(0x67);
  if (p.p66) pre.push(0x66);
  if (p.rep && !p.lock) pre.push(p.rep);
  if (p.rex) pre.push(p.rex);
  const out = [...pre, ...b.subarray(p.prefixLen)];
  while (out.length < b.length) out.push(0);
  return { bytes: Uint8Array.from(out.slice(0, Math.max(b.length, 16))), removed: p.prefixLen - pre.length };
}

/** Capstone on `b2` (which has `delta` bytes fewer than the original) agrees with our verdict. */
function capstoneAgrees(x: Ctx, b2: Uint8Array, delta: number): boolean {
  const c = x.capstone(b2);
  if (!x.ours.valid) return c === null;
  return c !== null && c.size + delta === x.ours.len;
}

/** Our decoder on `b2` gives the same verdict and length (less `delta`) as on the original. */
function weAgree(x: Ctx, b2: Uint8Array, delta: number): boolean {
  const o = x.decode(b2);
  return o.valid === x.ours.valid && (!o.valid || o.len + delta === x.ours.len);
}

const count = (p: Parsed, pred: (b: number) => boolean) => p.legacy.filter(pred).length;

// ---- opcode facts from the SDM used by the classes ----

/**
 * SSE/SSE2/FXSR instructions whose opcode column says NP (SDM Vol. 2A 3.1.1.1: "NP — Indicates the
 * use of 66/F2/F3 prefixes (beyond those already part of the instructions opcode) are not allowed
 * with the instruction. Such use will either cause an invalid-opcode exception (#UD) or result in
 * the encoding for a different instruction"), with the mandatory prefixes that DO select another
 * instruction in the SDM for the same opcode (those are not this class's business).
 * Key: 0F opcode; value: prefixes (66, F3, F2) defining a different instruction.
 */
const NP_SSE: Record<number, number[]> = {
  0x10: [0x66, 0xf3, 0xf2], 0x11: [0x66, 0xf3, 0xf2], 0x12: [0x66, 0xf3, 0xf2], 0x13: [0x66],
  0x14: [0x66], 0x15: [0x66], 0x16: [0x66, 0xf3], 0x17: [0x66], 0x28: [0x66], 0x29: [0x66],
  0x2b: [0x66, 0xf3, 0xf2], 0x2e: [0x66], 0x2f: [0x66], 0x50: [0x66], 0x51: [0x66, 0xf3, 0xf2],
  0x52: [0xf3], 0x53: [0xf3], 0x54: [0x66], 0x55: [0x66], 0x56: [0x66], 0x57: [0x66],
  0x58: [0x66, 0xf3, 0xf2], 0x59: [0x66, 0xf3, 0xf2], 0x5a: [0x66, 0xf3, 0xf2], 0x5b: [0x66, 0xf3],
  0x5c: [0x66, 0xf3, 0xf2], 0x5d: [0x66, 0xf3, 0xf2], 0x5e: [0x66, 0xf3, 0xf2], 0x5f: [0x66, 0xf3, 0xf2],
  0xc2: [0x66, 0xf3, 0xf2], 0xc3: [], 0xc6: [0x66],
};
/**
 * 0F AE forms that are NP (FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, CLFLUSH; LFENCE, MFENCE, SFENCE),
 * with the prefixes that select another instruction for the same ModRM (CLWB 66 /6 m, CLFLUSHOPT
 * 66 /7 m, CLRSSBSY F3 /6 m, RDFSBASE..WRGSBASE F3 /0-/3 r, INCSSP F3 /5 r, TPAUSE 66 /6 r,
 * UMONITOR F3 /6 r, UMWAIT F2 /6 r).
 */
function npGroup15(p: Parsed): number[] | null {
  const mem = modOf(p) !== 3, r = regOf(p);
  if (mem) {
    if (r <= 3) return [];
    if (r === 7) return [0x66];
    return null; // /4-/6 memory: XSAVE family, CLWB (features of their own)
  }
  if (r === 5) return [0xf3];
  if (r === 6) return [0x66, 0xf3, 0xf2];
  if (r === 7) return [];
  return null;
}

/**
 * Whether the F2/F3 prefix in effect selects an instruction for this opcode in the SDM (SSE/SSE2
 * mandatory prefixes, POPCNT/TZCNT/LZCNT, PAUSE, the F3 0F AE/0F C7/0F 01/0F 1E groups, the 0F 38
 * and 0F 3A maps); elsewhere it is a REP prefix on an instruction without a REP form.
 */
function repSignificant(p: Parsed): boolean {
  if (p.map >= 2) return true;
  if (p.map === 0) return p.op === 0x90 && p.rep === 0xf3; // F3 90 PAUSE
  const op = p.op;
  if (op === 0xb8 || op === 0xbc || op === 0xbd) return p.rep === 0xf3; // POPCNT, TZCNT, LZCNT
  return (op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) || (op >= 0x50 && op <= 0x7f) ||
    op === 0xae || op === 0xc2 || op === 0xc3 || op === 0xc6 || op === 0xc7 || (op >= 0xd0 && op <= 0xfe) ||
    op === 0x1e || op === 0x01 || op === 0x78 || op === 0x79;
}

/** SSE opcodes of the 0F map (where 66/F2/F3 can be mandatory prefixes). */
function sseOpcode(p: Parsed): boolean {
  const op = p.op;
  return p.map === 1 && ((op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) || (op >= 0x50 && op <= 0x7f) ||
    op === 0xc2 || op === 0xc3 || (op >= 0xc4 && op <= 0xc6) || (op >= 0xd0 && op <= 0xfe));
}

/** The disagreement on `b2` (our verdict vs capstone) is nil or itself one of the listed length classes. */
function agreesOrListed(x: Ctx, b2: Uint8Array, delta: number): boolean {
  const o = x.decode(b2);
  if (o.valid !== x.ours.valid || (o.valid && o.len + delta !== x.ours.len)) return false;
  const c = x.capstone(b2);
  if (!o.valid) return c === null;
  if (c === null) return false;
  if (c.size === o.len) return true;
  const y: Ctx = { ...x, bytes: b2, p: parse(b2), cs: c, ours: o };
  return CAPSTONE_EXCEPTIONS.some((e) => e.kind === 'length' && e.test(y));
}

export const CAPSTONE_EXCEPTIONS: CapstoneException[] = [
  {
    id: 'prefix-order',
    kind: 'capstone-invalid-we-decode',
    title: 'capstone takes 66/F2/F3 as the mandatory prefix only when it stands right before the 0F escape (or a REX byte), so the same instruction with its prefixes in another order or repeated decodes differently or not at all; with the prefixes in canonical order capstone agrees with us',
    sdm: 'SDM Vol. 2A 2.1.1 "Groups 1 through 4 may be placed in any order relative to each other"; 2.2.1 (a REX prefix not immediately before the opcode is ignored)',
    test: (x) => { const c = canonical(x.bytes, x.p); return c.removed >= 0 && capstoneAgrees(x, c.bytes, c.removed) && weAgree(x, c.bytes, c.removed); },
  },
  {
    id: 'lock-not-lockable',
    kind: 'capstone-valid-we-ud',
    title: 'capstone accepts LOCK on instructions or forms the SDM does not allow: register-destination ALU forms (02/03/0A/... G,E), XCHG with a register operand, NOP, and anything at all when an F2/F3 prefix follows the F0 (capstone then forgets the LOCK); without the F0 bytes capstone and we agree',
    sdm: 'SDM Vol. 2A LOCK: "#UD ... if the LOCK prefix is used with an instruction not listed" (ADD ADC AND BTC BTR BTS CMPXCHG CMPXCH8B CMPXCHG16B DEC INC NEG NOT OR SBB SUB XOR XADD XCHG) "or the destination operand is not a memory operand"',
    test: (x) => {
      if (!x.p.lock || sdmLockable(x.p)) return false;
      const n = count(x.p, (b) => b === 0xf0);
      const b2 = without(x.bytes, (b) => b === 0xf0, x.p.prefixLen);
      const o = x.decode(b2), c = x.capstone(b2);
      return o.valid && c !== null && o.len + n === x.cs!.size && c.size + n === x.cs!.size;
    },
  },
  {
    id: 'movsxd-without-rex-w',
    kind: 'capstone-invalid-we-decode',
    title: 'capstone rejects MOVSXD (63 /r) without REX.W; with REX.W set it decodes the same bytes with our length',
    sdm: 'SDM Vol. 2B MOVSX/MOVSXD: "63 /r MOVSXD r16, r/m16" and "63 /r MOVSXD r32, r/m32", 64-bit mode: Valid',
    test: (x) => {
      if (x.p.kind !== Kind.Legacy || x.p.map !== 0 || x.p.op !== 0x63 || (x.p.rex & 8) !== 0) return false;
      const b = Array.from(x.bytes);
      let delta = 0;
      if (x.p.rex) b[x.p.opAt - 1] |= 8; else { b.splice(x.p.opAt, 0, 0x48); delta = -1; }
      return capstoneAgrees(x, Uint8Array.from(b), delta);
    },
  },
  {
    id: 'mov-to-cs',
    kind: 'capstone-valid-we-ud',
    title: 'capstone accepts MOV CS, r/m16 (8E /1)',
    sdm: 'SDM Vol. 2B MOV: "If an attempt is made to load the CS register, the #UD exception is generated"; 64-Bit Mode Exceptions: "#UD If attempt is made to load the CS register"',
    test: (x) => x.p.kind === Kind.Legacy && x.p.map === 0 && x.p.op === 0x8e && regOf(x.p) === 1,
  },
  {
    id: 'mov-cr-reserved',
    kind: 'capstone-valid-we-ud',
    title: 'capstone accepts MOV to/from CR1, CR5-CR7 and CR9-CR15 (0F 20/0F 22 with those reg/REX.R values)',
    sdm: 'SDM Vol. 2B MOV—Move to/from Control Registers: "Attempts to reference CR1, CR5, CR6, CR7, and CR9–CR15 result in undefined opcode (#UD) exceptions"',
    test: (x) => {
      if (x.p.kind !== Kind.Legacy || x.p.map !== 1 || (x.p.op !== 0x20 && x.p.op !== 0x22)) return false;
      const n = regOf(x.p) | ((x.p.rex & 4) << 1);
      return n === 1 || (n >= 5 && n <= 7) || n >= 9;
    },
  },
  {
    id: 'mov-dr-rex-r',
    kind: 'capstone-valid-we-ud',
    title: 'capstone accepts MOV to/from DR8-DR15 (0F 21/0F 23 with REX.R)',
    sdm: 'SDM Vol. 2B MOV—Move to/from Debug Registers: "Use of the REX.R prefix causes an invalid-opcode exception"',
    test: (x) => x.p.kind === Kind.Legacy && x.p.map === 1 && (x.p.op === 0x21 || x.p.op === 0x23) && (x.p.rex & 4) !== 0,
  },
  {
    id: 'np-with-prefix',
    kind: 'capstone-valid-we-ud',
    title: 'capstone accepts an NP SSE/SSE2/FXSR instruction with a 66/F2/F3 prefix that selects no other instruction, decoding it as if the prefix were absent (e.g. F3 0F 28 as MOVAPS, 66 0F AE /2 as LDMXCSR)',
    sdm: 'SDM Vol. 2A 3.1.1.1 Opcode column: "NP — Indicates the use of 66/F2/F3 prefixes ... are not allowed with the instruction. Such use will either cause an invalid-opcode exception (#UD) or result in the encoding for a different instruction"; the instruction pages list those opcodes as NP 0F xx',
    test: (x) => {
      if (x.p.kind !== Kind.Legacy || x.p.map !== 1 || x.p.mandatory === 0) return false;
      let other = x.p.op === 0xae ? npGroup15(x.p) : NP_SSE[x.p.op];
      if (other === undefined || other === null) return false;
      // MOVLPD/MOVHPD (66 0F 12/13/16/17) have memory forms only
      if (modOf(x.p) === 3 && x.p.op >= 0x12 && x.p.op <= 0x17 && x.p.op !== 0x14 && x.p.op !== 0x15) other = other.filter((m) => m !== 0x66);
      if (other.includes(x.p.mandatory)) return false;
      // capstone really ignored the prefix: without 66/F2/F3 it names the same instruction, same length
      const n = count(x.p, (b) => b === 0x66 || b === 0xf2 || b === 0xf3);
      const b2 = without(x.bytes, (b) => b === 0x66 || b === 0xf2 || b === 0xf3, x.p.prefixLen);
      const c2 = x.capstone(b2), o2 = x.decode(b2);
      return c2 !== null && c2.mnemonic === x.cs!.mnemonic && c2.size + n === x.cs!.size && o2.valid && o2.len + n === x.cs!.size;
    },
  },
  {
    id: 'prefix-order-valid',
    kind: 'capstone-valid-we-ud',
    title: 'capstone accepts an encoding that, with the same prefixes in canonical order, it rejects as we do: LOCK followed by F2/F3 (capstone lets the later F2/F3 cancel the LOCK) and F2/F3 not adjacent to the opcode on an SSE form (capstone then takes a 66 or no prefix as the mandatory one)',
    sdm: 'SDM Vol. 2A 2.1.1 (prefixes in any order); LOCK: #UD on non-lockable instructions; 3.1.1.1 NP / undefined mandatory-prefix forms: #UD',
    test: (x) => { const c = canonical(x.bytes, x.p); return c.removed >= 0 && capstoneAgrees(x, c.bytes, c.removed) && weAgree(x, c.bytes, c.removed); },
  },
  {
    id: 'rep-ignored',
    kind: 'capstone-invalid-we-decode',
    title: 'capstone rejects an F2/F3 prefix in a context its tables have no entry for: F2 on BSF/BSR (0F BC/BD), F2/F3 together with 66 on Jcc (0F 8x) and on 90 (66 F3 90 is PAUSE), ...; without the F2/F3 bytes capstone and we agree on the length',
    sdm: 'SDM Vol. 2A 2.1.1 Group 1: a repeat prefix with an instruction that has no repeat form is reserved, not #UD (the instruction pages list no #UD for it) and processors ignore it; PAUSE is "F3 90" with 66 only an operand-size prefix',
    test: (x) => {
      if (x.p.kind !== Kind.Legacy || x.p.rep === 0 || (repSignificant(x.p) && !(x.p.map === 0 && x.p.op === 0x90))) return false;
      const n = count(x.p, (b) => b === 0xf2 || b === 0xf3);
      const b2 = without(x.bytes, (b) => b === 0xf2 || b === 0xf3, x.p.prefixLen);
      return agreesOrListed(x, b2, n);
    },
  },
  {
    id: 'f2f3-over-66',
    kind: 'capstone-valid-we-ud',
    title: 'with both 66 and F2/F3 on an SSE opcode, capstone takes the 66 as the mandatory prefix when it stands next to the opcode and decodes the 66 form, ignoring the F2/F3; the SDM makes F2/F3 the mandatory prefix (66 then only sizes operands), and F2/F3 with this opcode is no instruction (#UD). Without the F2/F3 bytes capstone names the same 66 instruction',
    sdm: 'SDM Vol. 2A 2.1.1 (prefixes in any order) and the 16-bit forms "F3 0F B8 /r POPCNT r16, r/m16" (POPCNT), "F2 0F 38 F1 /r CRC32 r32, r/m16" (CRC32): with 66 and F2/F3 together F2/F3 selects the instruction; NP/undefined F2/F3 forms are #UD (Vol. 2A 3.1.1.1)',
    test: (x) => {
      if (x.p.kind !== Kind.Legacy || !x.p.p66 || x.p.rep === 0 || !sseOpcode(x.p)) return false;
      const n = count(x.p, (b) => b === 0xf2 || b === 0xf3);
      const b2 = without(x.bytes, (b) => b === 0xf2 || b === 0xf3, x.p.prefixLen);
      const c2 = x.capstone(b2), o2 = x.decode(b2);
      return c2 !== null && c2.mnemonic === x.cs!.mnemonic && c2.size + n === x.cs!.size && o2.valid && o2.len + n === x.cs!.size;
    },
  },
  {
    id: 'opsize-with-f2f3',
    kind: 'capstone-invalid-we-decode',
    title: 'capstone rejects a 66 prefix next to the F2/F3 mandatory prefix of an instruction that has no 16-bit form (e.g. 66 F3 0F AE /3 WRGSBASE); without the 66 bytes capstone and we agree',
    sdm: 'SDM Vol. 2A 2.1.1 Group 3: other use of 66H with these instructions is reserved, not #UD (the instruction pages list no #UD for it); processors ignore it and so do we',
    test: (x) => {
      if (x.p.kind !== Kind.Legacy || !x.p.p66 || x.p.rep === 0 || !repSignificant(x.p)) return false;
      const n = count(x.p, (b) => b === 0x66);
      const b2 = without(x.bytes, (b) => b === 0x66, x.p.prefixLen);
      return agreesOrListed(x, b2, n);
    },
  },
  {
    id: 'prefetch-0f0d',
    kind: 'capstone-invalid-we-decode',
    title: 'capstone accepts only 0F 0D /0 /1 /2 (PREFETCH, PREFETCHW, PREFETCHWT1) and rejects the other memory forms and prefixed forms, which processors execute as prefetch hints',
    sdm: 'SDM Vol. 2D Table A-3: 0F 0D "prefetchw(/1) Ev" is a ModR/M opcode whose other reg values the SDM leaves unassigned (not #UD); AMD APM Vol. 3 PREFETCH/PREFETCHW: 0F 0D /2-/7 are reserved aliases executing as PREFETCH; we decode every memory form as the hint (a NOP here) and the register form as #UD (PREFETCHW m8)',
    test: (x) => x.p.kind === Kind.Legacy && x.p.map === 1 && x.p.op === 0x0d && modOf(x.p) !== 3,
  },
  {
    id: 'reserved-nop',
    kind: 'capstone-invalid-we-decode',
    title: 'capstone rejects forms in the hint-NOP space 0F 18-0F 1E (register forms of 0F 18, 0F 1A, 0F 1B; 0F 1C-0F 1E forms it does not name) that processors execute as NOP with a ModR/M operand',
    sdm: 'SDM Vol. 2D A.1/Table A-3 and Table A-6 (group 16): cells marked "Reserved-NOP" are reserved but "may behave as NOP" — not #UD; 0F 1F /0 NOP r/m (Vol. 2B NOP) is the documented form of the same space',
    test: (x) => x.p.kind === Kind.Legacy && x.p.map === 1 && x.p.op >= 0x18 && x.p.op <= 0x1e,
  },
  {
    id: 'fence-rm',
    kind: 'capstone-invalid-we-decode',
    title: 'capstone accepts LFENCE/MFENCE/SFENCE only with ModR/M.rm = 000 (0F AE E8/F0/F8) and rejects 0F AE E9-EF, F1-F7, F9-FF',
    sdm: 'SDM Vol. 2D Table A-6 (group 15, mod = 11B): reg 101 LFENCE, 110 MFENCE, 111 SFENCE — the r/m field is not part of the opcode',
    test: (x) => x.p.kind === Kind.Legacy && x.p.map === 1 && x.p.op === 0xae && x.p.mandatory === 0 && modOf(x.p) === 3 && regOf(x.p) >= 5,
  },
  {
    id: 'ud0-ud1-modrm',
    kind: 'length',
    title: 'capstone decodes UD1 (0F B9) and UD0 (0F FF) without their ModR/M byte (and SIB/displacement)',
    sdm: 'SDM Vol. 2B UD: "0F FF /r UD0 r32, r/m32", "0F B9 /r UD1 r32, r/m32" (the note: only some older processors decode UD0 without a ModR/M byte)',
    test: (x) => x.p.kind === Kind.Legacy && x.p.map === 1 && (x.p.op === 0xb9 || x.p.op === 0xff) && x.cs!.size === x.p.opAt + 1,
  },
  {
    id: 'jcc-66-rel16',
    kind: 'length',
    title: 'capstone decodes 66-prefixed 0F 80 (JO) and 0F 81 (JNO) with a 16-bit displacement (2 bytes short); it gets the other 0F 8x right',
    sdm: 'SDM Vol. 2A Jcc: the rel16 forms "0F 8x cw" are N.S. in 64-bit mode ("In 64-bit mode, operand size is fixed at 64 bits", rel32); Vol. 2D Table A-3 marks Jcc f64 (operand-size prefixes ignored)',
    test: (x) => x.p.kind === Kind.Legacy && x.p.map === 1 && (x.p.op === 0x80 || x.p.op === 0x81) && x.p.p66 && x.cs!.size + 2 === x.ours.len,
  },
  {
    id: 'ret-imm16-rexw',
    kind: 'length',
    title: 'capstone adds 2 bytes to RET imm16 (C2 iw) when both 66 and REX.W are present',
    sdm: 'SDM Vol. 2B RET: "C2 iw RET imm16" — the immediate is 16 bits in every mode and operand size',
    test: (x) => x.p.kind === Kind.Legacy && x.p.map === 0 && x.p.op === 0xc2 && x.p.p66 && (x.p.rex & 8) !== 0 && x.cs!.size === x.ours.len + 2,
  },
];

