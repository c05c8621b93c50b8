// The recorder's form table: every instruction form the conformance vectors cover, with how its
// inputs are generated. `tsx forms.ts OUT.h` assembles every form with GNU as
// (`as --64 -msyntax=intel -mnaked-reg`), takes the bytes from the object file and writes the C table
// the recorder compiles in (forms.gen.h). The instruction bytes are exactly what gas produces.
//
// Each form: its assembly text (the form's name), a group (one vector file per group), attributes
// for the replayer (mn = mnemonic, osz = operand size, cnt = where a shift count comes from, src/dst
// = operand locations; tests/conformance/undefined-flags.ts reads them), the input kind of every
// general register, XMM register and the memory operand, the data-page window the instruction may
// read or write, a fix-up that correlates operands (DIV dividend vs divisor, CMPXCHG accumulator vs
// destination, string buffers), and the number of vectors.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// ---------------------------------------------------------------- registers
const R64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
const R8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b'];
const R8H = ['ah', 'ch', 'dh', 'bh'];
const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;

type RegKind = 'base' | 'ptr' | 'fix' | 'ptrj' | 'ptr32j' | 'v8' | 'v8h' | 'v16' | 'v32' | 'v64' | 'cnt' | 'small' | 'small32' | 'bitoff';
type XKind = 'base' | 'int' | 'f64' | 'f32' | 'cnt';
type MemKind = 'none' | 'rand' | 'v8' | 'v16' | 'v32' | 'v64' | 'x128' | 'f64' | 'f64x2' | 'f32' | 'f32x4' | 'xcnt';
type Post = 'none' | 'divu' | 'divs' | 'cmpxchg' | 'cx8b' | 'cx16b' | 'cmps' | 'scas' | 'zsrc';

interface Form {
  name: string; group: string; attrs: string;
  /** The gas source of the form when it differs from the name. */
  asm?: string;
  n: number; sse: boolean; df: boolean;
  rk: RegKind[]; rarg: number[]; xk: XKind[]; mxcsr: boolean;
  mk: MemKind; memOff: number; memLen: number; winOff: number; winLen: number;
  post: Post; parg: number; pw: number;
}

/** A register operand: size 8/16/32/64, number 0..15, or 16..19 for AH CH DH BH. */
interface Reg { t: 'r'; size: number; n: number; }
/** A memory operand: data-page offset `off` of the operand, base register, optional index. */
interface Mem { t: 'm'; size: number; base: number; disp: number; index?: number; scale?: number; ix?: number; addr32?: boolean; }
interface Xmm { t: 'x'; n: number; }
type Opnd = Reg | Mem | Xmm | number | string;

const r = (size: number, n: number): Reg => ({ t: 'r', size, n });
const ah = (n: number): Reg => ({ t: 'r', size: 8, n: 16 + n });
const x = (n: number): Xmm => ({ t: 'x', n });
/** Base register value DATA+BASE_OFF (RSP: its fixed value DATA+0x800). */
const BASE_OFF = 0x100;
const m = (size: number, base = RBX, disp = 0x40, index?: number, scale = 1, ix = 0): Mem => ({ t: 'm', size, base, disp, index, scale, ix });
function memOff(o: Mem): number {
  return (o.base === RSP ? 0x800 : BASE_OFF) + o.disp + (o.index !== undefined ? o.ix! * o.scale! : 0);
}
const PTR: Record<number, string> = { 8: 'byte ptr', 16: 'word ptr', 32: 'dword ptr', 64: 'qword ptr', 128: 'xmmword ptr' };
function regName(o: Reg): string {
  if (o.n >= 16) return R8H[o.n - 16];
  return ({ 8: R8, 16: R16, 32: R32, 64: R64 } as Record<number, string[]>)[o.size][o.n];
}
function text(o: Opnd): string {
  if (typeof o === 'number') return o < 0 ? `-0x${(-o).toString(16)}` : `0x${o.toString(16)}`;
  if (typeof o === 'string') return o;
  if (o.t === 'r') return regName(o);
  if (o.t === 'x') return `xmm${o.n}`;
  const regs = o.addr32 ? R32 : R64;
  let s = `${PTR[o.size]} [${regs[o.base]}`;
  if (o.index !== undefined) s += `+${regs[o.index]}*${o.scale}`;
  if (o.disp) s += o.disp < 0 ? `-0x${(-o.disp).toString(16)}` : `+0x${o.disp.toString(16)}`;
  return s + ']';
}
const vk = (size: number): RegKind => (size === 8 ? 'v8' : size === 16 ? 'v16' : size === 32 ? 'v32' : 'v64');
const mk = (size: number): MemKind => (size === 8 ? 'v8' : size === 16 ? 'v16' : size === 32 ? 'v32' : size === 64 ? 'v64' : 'x128');

interface Opts {
  group: string; mn?: string; osz?: number; n?: number; attrs?: Record<string, string | number>;
  /** Input kinds of registers not named as operands (implicit operands), or overrides. */
  regs?: Record<number, RegKind | [RegKind, number]>;
  xmm?: Record<number, XKind>;
  /** Register operands listed here keep their base value (e.g. an index) instead of a live kind. */
  mem?: MemKind; win?: [number, number];
  post?: Post; parg?: number; pw?: number;
  sse?: boolean; mxcsr?: boolean; df?: boolean; prefix?: string;
  /** A raw prefix byte gas will not emit itself (LOCK on an unlockable form: #UD), put before the instruction with .byte. */
  rawPrefix?: number;
  /** Kinds for operand positions (default: a value of the operand's size). */
  kinds?: (RegKind | XKind | MemKind | undefined)[];
}

const FORMS: Form[] = [];
function F(mn: string, ops: Opnd[], o: Opts): Form {
  const insn = mn + (ops.length ? ' ' + ops.map(text).join(', ') : '');
  const name = (o.prefix ? o.prefix + ' ' : '') + (o.rawPrefix !== undefined ? `{.byte 0x${o.rawPrefix.toString(16)}} ` : '') + insn;
  const f: Form = {
    name, group: o.group, asm: o.rawPrefix !== undefined ? `.byte 0x${o.rawPrefix.toString(16)}; ${insn}` : undefined,
    attrs: '', n: o.n ?? 100, sse: o.sse ?? o.group.startsWith('sse'), df: o.df ?? false,
    rk: new Array(16).fill('base'), rarg: new Array(16).fill(0), xk: new Array(16).fill('base'), mxcsr: o.mxcsr ?? false,
    mk: 'none', memOff: 0, memLen: 0, winOff: 0, winLen: 0, post: o.post ?? 'none', parg: o.parg ?? 0, pw: o.pw ?? 0,
  };
  let osz = o.osz ?? 0;
  ops.forEach((op, k) => {
    const kind = o.kinds?.[k];
    if (typeof op === 'number' || typeof op === 'string') return;
    if (op.t === 'r') {
      if (!osz) osz = op.size;
      const n = op.n >= 16 ? op.n - 16 : op.n;
      if (n === RSP) throw new Error(`${name}: RSP is not an operand register`);
      f.rk[n] = (kind as RegKind) ?? (op.n >= 16 ? 'v8h' : vk(op.size));
    } else if (op.t === 'x') {
      f.sse = true;
      f.xk[op.n] = (kind as XKind) ?? 'int';
    } else {
      if (!osz && op.size <= 64) osz = op.size;
      const off = memOff(op);
      f.mk = (kind as MemKind) ?? o.mem ?? mk(op.size);
      f.memOff = off; f.memLen = op.size / 8;
      f.winOff = off; f.winLen = op.size / 8;
      if (ops.some((q) => typeof q === 'object' && q.t === 'r' && (q.n >= 16 ? q.n - 16 : q.n) === op.base)) throw new Error(`${name}: base register is also an operand`);
      if (op.base !== RSP) { f.rk[op.base] = 'ptr'; f.rarg[op.base] = BASE_OFF; }
      if (op.index !== undefined) { f.rk[op.index] = 'fix'; f.rarg[op.index] = op.ix!; }
    }
  });
  const addrRegs = new Set<number>();
  for (const op of ops) if (typeof op === 'object' && op.t === 'm') { addrRegs.add(op.base); if (op.index !== undefined) addrRegs.add(op.index); }
  for (const [k, v] of Object.entries(o.regs ?? {})) {
    const n = Number(k);
    if (addrRegs.has(n)) throw new Error(`${name}: register ${R64[n]} is both an address and a value`);
    if (Array.isArray(v)) { f.rk[n] = v[0]; f.rarg[n] = v[1]; } else f.rk[n] = v;
  }
  for (const [k, v] of Object.entries(o.xmm ?? {})) { f.xk[Number(k)] = v; f.sse = true; }
  if (o.win) {
    f.winOff = o.win[0]; f.winLen = o.win[1] - o.win[0];
    // no memory operand (implicit memory: stack, strings, XLAT): random window, or a value at its start
    if (f.mk === 'none') { f.mk = o.mem ?? 'rand'; f.memOff = f.winOff; }
  }
  if (o.mem && f.mk === 'none') f.mk = o.mem;
  const attrs: Record<string, string | number> = { mn: o.mn ?? mn, osz, ...(o.attrs ?? {}) };
  f.attrs = Object.entries(attrs).map(([k, v]) => `${k}=${v}`).join(' ');
  const dup = FORMS.find((q) => q.name === f.name);
  if (dup) return dup; // the table's loops generate a few forms twice: keep the first
  FORMS.push(f);
  return f;
}
/** Operand location for attrs: r<n> (n >= 16: high byte register), or mem. */
const loc = (o: Opnd): string => (typeof o === 'object' && o.t === 'r' ? `r${o.n}` : typeof o === 'object' && o.t === 'x' ? `x${o.n}` : 'mem');

// ---------------------------------------------------------------- ALU
const SIZES = [8, 16, 32, 64];
/** A few register pairs per size so that ModRM.reg/rm and REX.R/B vary. */
const PAIRS: Record<number, [Reg, Reg][]> = {
  8: [[r(8, RCX), r(8, RDX)], [ah(RAX), r(8, RBX)], [r(8, RSI), r(8, 9)], [ah(RBX), ah(RCX)], [r(8, 13), r(8, RDI)]],
  16: [[r(16, RCX), r(16, RDX)], [r(16, 10), r(16, RSI)], [r(16, RAX), r(16, 15)]],
  32: [[r(32, RCX), r(32, RDX)], [r(32, 11), r(32, RBX)], [r(32, RDI), r(32, 12)]],
  64: [[r(64, RCX), r(64, RDX)], [r(64, 9), r(64, 14)], [r(64, RBP), r(64, RAX)]],
};
const pair = (size: number, k: number): [Reg, Reg] => PAIRS[size][k % PAIRS[size].length];
const MBASES = [RBX, RSI, RBP, 12, 13, RSP, 15, RDI];

/** A memory operand whose base (from MBASES, starting at k) is none of the given registers. */
function mb(size: number, k: number, disp: number, ...avoid: Reg[]): Mem {
  for (let j = 0; ; j++) {
    const b = MBASES[(k + j) % MBASES.length];
    const high = avoid.some((q) => q.n >= 16); // AH..BH cannot be encoded with REX (r8-r15 bases)
    if (!avoid.some((q) => (q.n >= 16 ? q.n - 16 : q.n) === b) && !(high && b >= 8)) return m(size, b, disp);
  }
}

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
ALU.forEach((op, oi) => {
  for (const s of SIZES) {
    const k = oi + s;
    const [a, b] = pair(s, k);
    F(op, [a, b], { group: 'alu', n: 200 });
    F(op, [mb(s, k, 0x40 + (k % 3) * 8, pair(s, k + 1)[1]), pair(s, k + 1)[1]], { group: 'alu', n: 60 });
    F(op, [pair(s, k + 2)[0], mb(s, k + 3, -0x10 + (k % 5) * 4, pair(s, k + 2)[0])], { group: 'alu', n: 60 });
    const imm = s === 8 ? 0x5a : s === 16 ? 0x1234 : s === 32 ? -3 : -0x12345678;
    F(op, [pair(s, k + 1)[1], imm], { group: 'alu', n: 60 });
    const accImm = s === 8 ? 0x81 : s === 16 ? 0x8001 : s === 32 ? 0x7fffffff : -0x80000000;
    F(op, [r(s, RAX), accImm], { group: 'alu', n: 60 });
  }
  F(op, [m(32, RBX, 0x40), 0x7f], { group: 'alu', n: 60 });
  F(op, [m(8, 12, 0x20), 0x80], { group: 'alu', n: 60 });
  F(op, [m(64, RBX, 0x40, RCX, 8, 3), -2], { group: 'alu', n: 60 });
});
// same-register idioms
F('xor', [r(32, 10), r(32, 10)], { group: 'alu', n: 20 });
F('sub', [r(64, RCX), r(64, RCX)], { group: 'alu', n: 20 });
F('add', [r(16, RAX), r(16, RAX)], { group: 'alu', n: 40 });
F('adc', [r(8, RDX), r(8, RDX)], { group: 'alu', n: 40 });
F('sbb', [r(32, RAX), r(32, RAX)], { group: 'alu', n: 40 });
// LOCK forms
for (const [op, s] of [['add', 32], ['or', 8], ['adc', 64], ['sbb', 16], ['and', 64], ['sub', 32], ['xor', 8]] as [string, number][])
  F(op, [m(s, RBX, 0x40), r(s, RCX)], { group: 'alu', n: 40, prefix: 'lock', mn: op });
// TEST
for (const s of SIZES) {
  const [a, b] = pair(s, s);
  F('test', [a, b], { group: 'alu', n: 100 });
  F('test', [pair(s, 1)[1], s === 8 ? 0x81 : s === 16 ? 0x8000 : s === 32 ? 0x10000 : -0x100], { group: 'alu', n: 50 });
  F('test', [r(s, RAX), s === 8 ? 0x7f : s === 16 ? 0xff00 : s === 32 ? 0x80000001 : 1], { group: 'alu', n: 50 });
}
F('test', [m(32, RSI, 0x10), r(32, RDX)], { group: 'alu', n: 50 });
F('test', [m(8, RBX, 0x40), 0x11], { group: 'alu', n: 50 });
F('test', [m(64, 13, 0x08), r(64, 8)], { group: 'alu', n: 50 });
// INC DEC NEG NOT
for (const op of ['inc', 'dec', 'neg', 'not']) {
  for (const s of SIZES) F(op, [pair(s, op.length + s)[0]], { group: 'alu', n: 80 });
  F(op, [ah(RDX)], { group: 'alu', n: 40 });
  F(op, [m(8, RBX, 0x40)], { group: 'alu', n: 40 });
  F(op, [m(64, RSP, 0x18)], { group: 'alu', n: 40 });
  F(op, [m(16, RDI, 0x22)], { group: 'alu', n: 40 });
}

// ---------------------------------------------------------------- shifts and rotates
const SHIFTS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar'];
SHIFTS.forEach((op, oi) => {
  for (const s of SIZES) {
    const dst = pair(s, oi + s)[oi & 1];
    F(op, [dst, 1], { group: 'shift', n: 60, attrs: { cnt: 1 } });
    const dcl = dst.n === RCX ? pair(s, oi + s + 1)[1] : dst;
    F(op, [dcl.n === RCX ? r(s, RDX) : dcl, 'cl'], { group: 'shift', n: 300, attrs: { cnt: 'cl' }, regs: { [RCX]: 'cnt' } });
    const imms = [...new Set([0, 2, s - 1, s + 1, 31, 0xc5])];
    for (const i of imms) F(op, [pair(s, oi + i)[1], i], { group: 'shift', n: 40, attrs: { cnt: `imm:${i}` } });
  }
  F(op, [ah(RBX), 'cl'], { group: 'shift', n: 100, attrs: { cnt: 'cl' }, regs: { [RCX]: 'cnt' } });
  F(op, [m(32, RBX, 0x40), 'cl'], { group: 'shift', n: 150, attrs: { cnt: 'cl' }, regs: { [RCX]: 'cnt' } });
  F(op, [m(16, RSI, 0x3e), 5], { group: 'shift', n: 40, attrs: { cnt: 'imm:5' } });
  F(op, [m(64, RSP, 0x10), 1], { group: 'shift', n: 40, attrs: { cnt: 1 } });
  F(op, [m(8, 12, 0x01), 'cl'], { group: 'shift', n: 100, attrs: { cnt: 'cl' }, regs: { [RCX]: 'cnt' } });
});
for (const op of ['shld', 'shrd']) {
  for (const s of [16, 32, 64]) {
    const [a, b] = pair(s, s + op.length);
    F(op, [r(s, RDX), r(s, RBX), 'cl'], { group: 'shift', n: 300, attrs: { cnt: 'cl' }, regs: { [RCX]: 'cnt' } });
    for (const i of [...new Set([0, 1, 5, s - 1, s + 1, 31])]) F(op, [a, b, i], { group: 'shift', n: 50, attrs: { cnt: `imm:${i}` } });
  }
  F(op, [m(32, RBX, 0x40), r(32, RSI), 'cl'], { group: 'shift', n: 150, attrs: { cnt: 'cl' }, regs: { [RCX]: 'cnt' } });
  F(op, [m(16, RBX, 0x40), r(16, RDI), 'cl'], { group: 'shift', n: 150, attrs: { cnt: 'cl' }, regs: { [RCX]: 'cnt' } });
  F(op, [m(64, RBX, 0x40), r(64, 9), 7], { group: 'shift', n: 50, attrs: { cnt: 'imm:7' } });
}

// ---------------------------------------------------------------- MUL IMUL DIV IDIV
for (const op of ['mul', 'imul', 'div', 'idiv']) {
  const div = op.endsWith('div');
  const post: Post = op === 'div' ? 'divu' : op === 'idiv' ? 'divs' : 'none';
  const n = div ? 300 : 150;
  for (const s of SIZES) {
    const src = s === 8 ? (op === 'div' ? ah(RBX) : r(8, RCX)) : r(s, op.length === 3 ? RBX : 11);
    const regs: Record<number, RegKind> = { [RAX]: vk(s) };
    if (s > 8) regs[RDX] = vk(s);
    F(op, [src], { group: 'muldiv', n, regs, post, parg: src.n, pw: s });
  }
  for (const s of [8, 32, 64]) {
    const regs: Record<number, RegKind> = { [RAX]: vk(s) };
    if (s > 8) regs[RDX] = vk(s);
    F(op, [m(s, RSI, 0x18)], { group: 'muldiv', n: div ? 150 : 80, regs, post, parg: -1, pw: s });
  }
}
for (const s of [16, 32, 64]) {
  F('imul', [r(s, RCX), r(s, 10)], { group: 'muldiv', n: 150 });
  F('imul', [r(s, RDX), r(s, RSI), 7], { group: 'muldiv', n: 80 });
  F('imul', [r(s, 9), r(s, RBX), s === 16 ? 0x7fff : -100000], { group: 'muldiv', n: 80 });
  F('imul', [r(s, RAX), m(s, RBX, 0x40)], { group: 'muldiv', n: 60 });
}
F('imul', [r(32, RDI), m(32, RBX, 0x40), -128], { group: 'muldiv', n: 60 });
F('imul', [r(64, RDI), r(64, RDI)], { group: 'muldiv', n: 60 });

// ---------------------------------------------------------------- bit operations
for (const op of ['bt', 'bts', 'btr', 'btc']) {
  for (const s of [16, 32, 64]) {
    const [a, b] = pair(s, s + op.length);
    F(op, [a, b], { group: 'bitops', n: 100 });
    for (const i of [0, s - 1, 0xc5]) F(op, [pair(s, i)[0], i], { group: 'bitops', n: 40, attrs: { cnt: `imm:${i}` } });
    F(op, [m(s, RBX, 0x40), r(s, RCX)], { group: 'bitops', n: 150, kinds: [undefined, 'bitoff'], regs: { [RCX]: ['bitoff', s] }, win: [0x140 - s / 2, 0x140 + s / 2 + s / 8] });
    F(op, [m(s, RBX, 0x40), 37], { group: 'bitops', n: 40 });
  }
  if (op !== 'bt') F(op, [m(32, RBX, 0x40), r(32, RDX)], { group: 'bitops', n: 80, prefix: 'lock', mn: op, regs: { [RDX]: ['bitoff', 32] }, win: [0x140 - 16, 0x140 + 20] });
}
for (const op of ['bsf', 'bsr', 'tzcnt', 'lzcnt', 'popcnt']) {
  for (const s of [16, 32, 64]) {
    const [d, src] = pair(s, s + op.length);
    F(op, [d, src], { group: 'bitops', n: 150, post: 'zsrc', parg: src.n, pw: s, attrs: { src: loc(src), dst: loc(d) } });
  }
  const d = r(32, RAX), src = m(32, RBX, 0x40);
  F(op, [d, src], { group: 'bitops', n: 80, post: 'zsrc', parg: -1, pw: 32, attrs: { src: 'mem', dst: loc(d) } });
  F(op, [r(64, 13), m(64, RSI, 0x08)], { group: 'bitops', n: 60, post: 'zsrc', parg: -1, pw: 64, attrs: { src: 'mem', dst: 'r13' } });
}
for (const reg of [r(32, RAX), r(32, 9), r(64, RDX), r(64, 12)]) F('bswap', [reg], { group: 'bitops', n: 40 });

// ---------------------------------------------------------------- strings
const EL = { 8: 'b', 16: 'w', 32: 'd', 64: 'q' } as Record<number, string>;
const NSTR = 6; // recorder.c N_STR
const SRC_OFF = 0x100, DST_OFF = 0x168;
/** Window covering every element a string form may touch from SRC_OFF/DST_OFF + 0..7, both directions. */
function strWin(e: number, cnt: number, src: boolean, dst: boolean): [number, number] {
  const lo = (o: number) => o - (cnt - 1) * e, hi = (o: number) => o + 7 + cnt * e;
  const ranges: [number, number][] = [];
  if (src) ranges.push([lo(SRC_OFF), hi(SRC_OFF)]);
  if (dst) ranges.push([lo(DST_OFF), hi(DST_OFF)]);
  return [Math.min(...ranges.map((q) => q[0])), Math.max(...ranges.map((q) => q[1]))];
}
function str(op: string, s: number, rep: string | null, addr32 = false): void {
  const e = s / 8, cnt = rep ? NSTR : 1;
  const useSrc = op === 'movs' || op === 'lods' || op === 'cmps';
  const useDst = op === 'movs' || op === 'stos' || op === 'cmps' || op === 'scas';
  const regs: Record<number, RegKind | [RegKind, number]> = {};
  const pk: RegKind = addr32 ? 'ptr32j' : 'ptrj';
  if (useSrc) regs[RSI] = [pk, SRC_OFF];
  if (useDst) regs[RDI] = [pk, DST_OFF];
  if (op === 'stos' || op === 'scas' || op === 'lods') regs[RAX] = vk(s);
  if (rep) regs[RCX] = [addr32 ? 'small32' : 'small', NSTR];
  const post: Post = op === 'cmps' ? 'cmps' : op === 'scas' ? 'scas' : 'none';
  const prefix = [addr32 ? 'addr32' : '', rep ?? ''].filter(Boolean).join(' ');
  F(op + EL[s], [], {
    group: 'string', n: rep ? 150 : 80, osz: s, mn: op, regs, df: true, post, pw: s,
    win: strWin(e, cnt, useSrc, useDst), prefix: prefix || undefined,
    attrs: { rep: rep ?? 'none', asz: addr32 ? 32 : 64 },
  });
}
for (const s of SIZES) for (const op of ['movs', 'stos', 'lods', 'cmps', 'scas']) str(op, s, null);
for (const s of SIZES) { str('movs', s, 'rep'); str('stos', s, 'rep'); str('cmps', s, 'repe'); str('scas', s, 'repne'); }
str('lods', 8, 'rep'); str('lods', 64, 'rep');
str('cmps', 8, 'repne'); str('cmps', 32, 'repne');
str('scas', 8, 'repe'); str('scas', 64, 'repe');
str('movs', 8, 'rep', true); str('stos', 32, 'rep', true); str('scas', 8, 'repne', true); str('cmps', 64, null, true);
str('lods', 8, 'rep', true); str('cmps', 8, 'repe', true); str('scas', 32, 'repe', true); str('movs', 64, 'rep', true);
str('stos', 8, 'rep', true); str('cmps', 16, 'repne', true); str('lods', 32, null, true);

// ---------------------------------------------------------------- CMPXCHG XADD XCHG
for (const s of SIZES) {
  const [d, src] = pair(s, s + 1);
  const dd = d.n === RAX ? r(s, 9) : d, ss = src.n === RAX ? r(s, RDX) : src;
  F('cmpxchg', [dd, ss], { group: 'atomic', n: 120, regs: { [RAX]: vk(s) }, post: 'cmpxchg', parg: dd.n, pw: s });
  F('cmpxchg', [m(s, RBX, 0x40), r(s, RCX)], { group: 'atomic', n: 100, regs: { [RAX]: vk(s) }, post: 'cmpxchg', parg: -1, pw: s });
  F('xadd', [pair(s, s)[0], pair(s, s)[1]], { group: 'atomic', n: 100 });
  F('xadd', [m(s, RSI, 0x20), r(s, RDX)], { group: 'atomic', n: 60 });
}
F('cmpxchg', [r(32, RAX), r(32, RCX)], { group: 'atomic', n: 60, post: 'cmpxchg', parg: RAX, pw: 32 });
F('cmpxchg', [m(32, RBX, 0x40), r(32, RDX)], { group: 'atomic', n: 80, prefix: 'lock', mn: 'cmpxchg', regs: { [RAX]: 'v32' }, post: 'cmpxchg', parg: -1, pw: 32 });
F('cmpxchg', [m(64, RBX, 0x40), r(64, RDX)], { group: 'atomic', n: 80, prefix: 'lock', mn: 'cmpxchg', regs: { [RAX]: 'v64' }, post: 'cmpxchg', parg: -1, pw: 64 });
F('xadd', [m(64, RBX, 0x40), r(64, 8)], { group: 'atomic', n: 60, prefix: 'lock', mn: 'xadd' });
F('xadd', [m(16, RBX, 0x40), r(16, 8)], { group: 'atomic', n: 60, prefix: 'lock', mn: 'xadd' });
const cx8 = { [RAX]: 'v64', [RDX]: 'v64', [RBX]: 'v64', [RCX]: 'v64' } as Record<number, RegKind>;
F('cmpxchg8b', [m(64, RSI, 0x40)], { group: 'atomic', n: 120, regs: cx8, post: 'cx8b', mn: 'cmpxchg8b' });
F('cmpxchg8b', [m(64, RSI, 0x44)], { group: 'atomic', n: 60, regs: cx8, post: 'cx8b', prefix: 'lock', mn: 'cmpxchg8b' });
F('cmpxchg16b', [m(128, RSI, 0x40)], { group: 'atomic', n: 120, regs: cx8, post: 'cx16b', mn: 'cmpxchg16b', osz: 64 });
F('cmpxchg16b', [m(128, RSI, 0x40)], { group: 'atomic', n: 60, regs: cx8, post: 'cx16b', prefix: 'lock', mn: 'cmpxchg16b', osz: 64 });
F('cmpxchg16b', [m(128, RSI, 0x48)], { group: 'atomic', n: 10, regs: cx8, post: 'cx16b', mn: 'cmpxchg16b', osz: 64 }); // misaligned: #GP(0)
for (const s of SIZES) F('xchg', [pair(s, s + 2)[0], pair(s, s + 2)[1]], { group: 'atomic', n: 40 });
F('xchg', [r(32, RAX), r(32, RCX)], { group: 'atomic', n: 40 });
F('xchg', [r(64, RAX), r(64, 10)], { group: 'atomic', n: 40 });
F('xchg', [m(32, RBX, 0x40), r(32, RSI)], { group: 'atomic', n: 40 });
F('xchg', [m(8, RBX, 0x40), ah(RDX)], { group: 'atomic', n: 40 });

// ---------------------------------------------------------------- SETcc CMOVcc MOVSX MOVZX CBW LEA MOV
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const S8 = [r(8, RAX), ah(RCX), r(8, RSI), r(8, 10), r(8, RDX), ah(RBX), r(8, 15), r(8, RBX)];
CC.forEach((cc, k) => {
  F('set' + cc, [S8[k % 8]], { group: 'mov', n: 64, mn: 'setcc' });
  F('cmov' + cc, [r(32, (k + 1) % 4 === 0 ? 9 : RCX), r(32, k % 2 ? RDX : 12)], { group: 'mov', n: 64, mn: 'cmovcc' });
});
F('setl', [m(8, RBX, 0x40)], { group: 'mov', n: 40, mn: 'setcc' });
F('setbe', [m(8, RSP, 0x7)], { group: 'mov', n: 40, mn: 'setcc' });
for (const cc of ['e', 'b', 'le', 'np']) F('cmov' + cc, [r(64, RAX), r(64, 11)], { group: 'mov', n: 60, mn: 'cmovcc' });
for (const cc of ['ne', 'g']) F('cmov' + cc, [r(16, RSI), r(16, RDI)], { group: 'mov', n: 60, mn: 'cmovcc' });
F('cmovs', [r(32, RAX), m(32, RBX, 0x40)], { group: 'mov', n: 60, mn: 'cmovcc' });
F('cmova', [r(64, RDX), m(64, RBX, 0x40)], { group: 'mov', n: 60, mn: 'cmovcc' });
for (const [d, s] of [[16, 8], [32, 8], [64, 8], [32, 16], [64, 16]]) {
  F('movsx', [r(d, RCX), r(s, d === 32 && s === 8 ? RSI : RDX)], { group: 'mov', n: 60 });
  F('movzx', [r(d, 9), r(s, 10)], { group: 'mov', n: 60 });
}
F('movsx', [r(32, RAX), ah(RBX)], { group: 'mov', n: 40 });
F('movzx', [r(32, RAX), ah(RDX)], { group: 'mov', n: 40 });
F('movsxd', [r(64, RCX), r(32, RDX)], { group: 'mov', n: 60 });
F('movsxd', [r(64, 14), r(32, 14)], { group: 'mov', n: 40 });
F('movsx', [r(64, RAX), m(16, RBX, 0x40)], { group: 'mov', n: 40 });
F('movzx', [r(32, RAX), m(8, RBX, 0x40)], { group: 'mov', n: 40 });
F('movsxd', [r(64, RAX), m(32, RBX, 0x40)], { group: 'mov', n: 40 });
for (const [mn, s] of [['cbw', 16], ['cwde', 32], ['cdqe', 64], ['cwd', 16], ['cdq', 32], ['cqo', 64]] as [string, number][])
  F(mn, [], { group: 'mov', n: 60, osz: s, regs: { [RAX]: vk(s), [RDX]: 'v64' } });
const lea = (d: Reg, addr: string, regs: Record<number, RegKind>, prefix?: string) =>
  F('lea', [d, addr], { group: 'mov', n: 60, regs, prefix });
lea(r(64, RAX), '[rbx+rcx*4+0x12]', { [RBX]: 'v64', [RCX]: 'v64' });
lea(r(32, RDX), '[rsi+rdi*8-0x80]', { [RSI]: 'v64', [RDI]: 'v64' });
lea(r(16, RCX), '[r8+r9*2+0x7fff]', { 8: 'v64', 9: 'v64' });
lea(r(64, 12), '[r13+r14*1]', { 13: 'v64', 14: 'v64' });
lea(r(64, RBX), '[rip+0x1234]', {});
lea(r(64, RBP), '[rsp+rax*2+0x10]', { [RAX]: 'v64' });
lea(r(32, RAX), '[ebx+ecx*2-0x8]', { [RBX]: 'v64', [RCX]: 'v64' });
lea(r(64, RAX), '[ebx+0x7fffffff]', { [RBX]: 'v64' });
lea(r(64, RSI), '[rdi*8+0x40]', { [RDI]: 'v64' });
lea(r(64, RDI), '[rbp-0x80000000]', { [RBP]: 'v64' });
F('mov', [r(32, RAX), r(32, RCX)], { group: 'mov', n: 40 });
F('mov', [r(16, RDX), r(16, 9)], { group: 'mov', n: 40 });
F('mov', [ah(RBX), r(8, RCX)], { group: 'mov', n: 40 });
F('mov', [r(32, 11), -1], { group: 'mov', n: 20 });
F('mov', [r(64, 11), -0x80000000], { group: 'mov', n: 20 });
F('movabs', [r(64, RCX), '0x123456789abcdef0'], { group: 'mov', n: 20, mn: 'mov' });
F('mov', [r(8, RDI), 0x99], { group: 'mov', n: 20 });

// flags and the stack (RSP = DATA+0x800, so pushes and pops stay in the data page)
for (const mn of ['cmc', 'clc', 'stc', 'lahf', 'sahf']) F(mn, [], { group: 'mov', n: 30, osz: 8, regs: { [RAX]: 'v64' } });
F('xlatb', [], { group: 'mov', n: 40, osz: 8, regs: { [RAX]: 'v64', [RBX]: ['ptr', 0x100] }, win: [0x100, 0x200] });
F('push', [r(64, RCX)], { group: 'mov', n: 20, win: [0x7f0, 0x800] });
F('push', [r(64, 13)], { group: 'mov', n: 20, win: [0x7f0, 0x800] });
F('push', [r(16, RDX)], { group: 'mov', n: 20, win: [0x7f0, 0x800] });
F('push', [m(64, RSP, 0x8)], { group: 'mov', n: 20, win: [0x7f8, 0x810] });
F('push', [0x12], { group: 'mov', n: 10, osz: 64, win: [0x7f0, 0x800] });
F('push', [-0x80000000], { group: 'mov', n: 10, osz: 64, win: [0x7f0, 0x800] });
F('pushfq', [], { group: 'mov', n: 20, osz: 64, win: [0x7f0, 0x800] });
F('pop', [r(64, RDX)], { group: 'mov', n: 20, mem: 'v64', win: [0x800, 0x808] });
F('pop', [r(64, 9)], { group: 'mov', n: 20, mem: 'v64', win: [0x800, 0x808] });
F('pop', [r(16, RSI)], { group: 'mov', n: 20, mem: 'v16', win: [0x800, 0x802] });
F('leave', [], { group: 'mov', n: 20, osz: 64, regs: { [RBP]: ['ptr', 0x900] }, mem: 'v64', win: [0x900, 0x908] });

// ---------------------------------------------------------------- SSE2 integer
const SI = { group: 'sse-int', n: 60 };
const P_BIN = ['paddb', 'paddw', 'paddd', 'paddq', 'psubb', 'psubw', 'psubd', 'psubq', 'paddsb', 'paddsw', 'paddusb', 'paddusw',
  'psubsb', 'psubsw', 'psubusb', 'psubusw', 'pcmpeqb', 'pcmpeqw', 'pcmpeqd', 'pcmpgtb', 'pcmpgtw', 'pcmpgtd', 'pminub', 'pmaxub',
  'pminsw', 'pmaxsw', 'pavgb', 'pavgw', 'pmullw', 'pmulhw', 'pmulhuw', 'pmaddwd', 'pmuludq', 'psadbw', 'punpcklbw', 'punpcklwd',
  'punpckldq', 'punpcklqdq', 'punpckhbw', 'punpckhwd', 'punpckhdq', 'punpckhqdq', 'packsswb', 'packuswb', 'packssdw', 'pand',
  'pandn', 'por', 'pxor', 'unpcklps', 'unpckhps', 'unpcklpd', 'unpckhpd', 'andps', 'andnpd', 'orps', 'xorpd'];
P_BIN.forEach((op, k) => F(op, [x(k % 8), x(8 + (k * 3) % 8)], SI));
F('pcmpeqb', [x(3), x(3)], SI);
F('psubq', [x(5), x(5)], SI);
for (const op of ['paddd', 'pcmpeqb', 'pxor', 'psubusw', 'punpcklbw', 'pmaddwd', 'pmuludq', 'packsswb'])
  F(op, [x(2), m(128, RBX, 0x40)], SI);
for (const i of [0x1b, 0x00, 0xe4, 0x93]) F('pshufd', [x(1), x(14), i], SI);
F('pshufd', [x(7), m(128, RBX, 0x40), 0x4e], SI);
for (const i of [0x1b, 0xd8]) { F('pshuflw', [x(4), x(9), i], SI); F('pshufhw', [x(12), x(2), i], SI); }
for (const i of [0x00, 0x1b, 0x4e]) F('shufps', [x(0), x(1), i], SI);
for (const i of [0, 1, 2, 3]) F('shufpd', [x(6), x(13), i], SI);
for (const op of ['psllw', 'pslld', 'psllq', 'psrlw', 'psrld', 'psrlq', 'psraw', 'psrad']) {
  F(op, [x(3), x(10)], { ...SI, n: 100, kinds: ['int', 'cnt'] });
  F(op, [x(11), m(128, RBX, 0x40)], { ...SI, n: 60, mem: 'xcnt' });
}
for (const [ops, imms] of [[['psrlw', 'psraw', 'psllw'], [0, 3, 15, 16, 200]], [['psrld', 'psrad', 'pslld'], [1, 31, 32]],
  [['psrlq', 'psllq'], [1, 33, 63, 64]], [['psrldq', 'pslldq'], [1, 8, 15, 16, 200]]] as [string[], number[]][])
  for (const op of ops) for (const i of imms) F(op, [x(op.length * 2 % 16), i], SI);
F('pmovmskb', [r(32, RAX), x(5)], SI);
F('pmovmskb', [r(32, 10), x(13)], SI);
F('movmskpd', [r(32, RCX), x(2)], SI);
F('movmskps', [r(32, RDX), x(9)], SI);
for (const i of [0, 5, 7]) F('pextrw', [r(32, RDX), x(3), i], SI);
F('pinsrw', [x(2), r(32, RCX), 5], SI);
F('pinsrw', [x(10), m(16, RBX, 0x3f), 0], SI);
F('movd', [x(1), r(32, RAX)], SI);
F('movd', [r(32, RCX), x(4)], SI);
F('movq', [x(9), r(64, 11)], SI);
F('movq', [r(64, RSI), x(15)], SI);
F('movq', [x(6), x(7)], SI);
F('movq', [x(0), m(64, RBX, 0x41)], SI);
F('movq', [m(64, RBX, 0x43), x(8)], SI);
F('movd', [m(32, RBX, 0x40), x(2)], SI);
F('movd', [x(12), m(32, RBX, 0x40)], SI);
F('movdqa', [x(1), x(2)], SI);
F('movdqa', [x(3), m(128, RBX, 0x40)], SI);
F('movdqu', [x(3), m(128, RBX, 0x47)], SI);
F('movdqa', [m(128, RBX, 0x40), x(4)], SI);
F('movdqu', [m(128, RBX, 0x3d), x(5)], SI);
F('movdqa', [x(6), m(128, RBX, 0x48)], { ...SI, n: 10 }); // misaligned: #GP(0)
F('movaps', [x(9), x(8)], SI);
F('movups', [m(128, RBX, 0x41), x(12)], SI);

// ---------------------------------------------------------------- SSE2 double (and a few single)
const SD = { group: 'sse-fp', n: 300, mxcsr: true };
const f64 = ['f64', 'f64'] as XKind[];
for (const op of ['addsd', 'subsd', 'mulsd', 'divsd', 'minsd', 'maxsd', 'sqrtsd']) {
  F(op, [x(1), x(2)], { ...SD, n: 600, kinds: f64 });
  F(op, [x(4), m(64, RBX, 0x40)], { ...SD, n: 80, kinds: ['f64', 'f64'] });
}
F('addsd', [x(3), x(3)], { ...SD, n: 60, kinds: f64 });
for (const op of ['ucomisd', 'comisd']) {
  F(op, [x(0), x(1)], { ...SD, kinds: f64 });
  F(op, [x(7), m(64, RSI, 0x40)], { ...SD, n: 80, kinds: ['f64', 'f64'] });
}
for (let p = 0; p < 8; p++) F('cmpsd', [x(2), x(5), p], { ...SD, n: 80, kinds: f64 });
F('cvtsi2sd', [x(1), r(32, RAX)], { ...SD, n: 150 });
F('cvtsi2sd', [x(2), r(64, RCX)], { ...SD, n: 150 });
F('cvtsi2sd', [x(3), m(64, RBX, 0x40)], { ...SD, n: 80 });
F('cvtsi2sd', [x(4), m(32, RBX, 0x40)], { ...SD, n: 60 });
for (const op of ['cvttsd2si', 'cvtsd2si']) {
  F(op, [r(32, RAX), x(1)], { ...SD, kinds: [undefined, 'f64'] });
  F(op, [r(64, 9), x(6)], { ...SD, kinds: [undefined, 'f64'] });
  F(op, [r(64, RDX), m(64, RBX, 0x40)], { ...SD, n: 80, kinds: [undefined, 'f64'] });
}
F('cvtsd2ss', [x(1), x(2)], { ...SD, n: 500, kinds: f64 });
F('cvtss2sd', [x(3), x(4)], { ...SD, kinds: ['f64', 'f32'] });
F('cvtsi2ss', [x(5), r(32, RDX)], { ...SD, n: 100 });
F('cvttss2si', [r(32, RSI), x(6)], { ...SD, n: 150, kinds: [undefined, 'f32'] });
for (const op of ['addss', 'subss', 'mulss', 'divss', 'sqrtss', 'minss', 'maxss', 'ucomiss', 'comiss']) F(op, [x(8), x(9)], { ...SD, n: 200, kinds: ['f32', 'f32'] });
F('cvtss2si', [r(64, RAX), x(6)], { ...SD, n: 150, kinds: [undefined, 'f32'] });
F('cvtsi2ss', [x(7), r(64, 12)], { ...SD, n: 100 });
for (const op of ['addps', 'mulps', 'divps', 'sqrtps']) F(op, [x(2), x(3)], { ...SD, n: 100, kinds: ['f32', 'f32'] });
F('cvtdq2ps', [x(4), x(5)], { ...SD, n: 100 });
F('cvttps2dq', [x(6), x(7)], { ...SD, n: 100, kinds: ['f32', 'f32'] });
F('cvtps2dq', [x(8), x(9)], { ...SD, n: 100, kinds: ['f32', 'f32'] });
for (const op of ['addpd', 'subpd', 'mulpd', 'divpd', 'minpd', 'maxpd', 'sqrtpd']) F(op, [x(10), x(11)], { ...SD, n: 100, kinds: f64 });
F('mulpd', [x(12), m(128, RBX, 0x40)], { ...SD, n: 60, kinds: ['f64', 'f64x2'] });
for (const p of [0, 1, 3, 4]) F('cmppd', [x(13), x(14), p], { ...SD, n: 60, kinds: f64 });
for (const op of ['cvtdq2pd', 'cvttpd2dq', 'cvtpd2dq', 'cvtpd2ps', 'cvtps2pd']) F(op, [x(15), x(0)], { ...SD, n: 100, kinds: ['f64', op === 'cvtdq2pd' ? 'int' : op === 'cvtps2pd' ? 'f32' : 'f64'] });
F('movsd', [x(1), x(2)], { ...SD, n: 40, mxcsr: false });
F('movsd', [x(3), m(64, RBX, 0x40)], { ...SD, n: 40, mxcsr: false });
F('movsd', [m(64, RBX, 0x40), x(4)], { ...SD, n: 40, mxcsr: false });
F('movapd', [x(5), x(6)], { ...SD, n: 20, mxcsr: false });
F('andpd', [x(7), x(8)], { ...SD, n: 40, kinds: f64, mxcsr: false });
F('xorpd', [x(9), x(9)], { ...SD, n: 20, kinds: f64, mxcsr: false });

// ---------------------------------------------------------------- invalid encodings (#UD)
F('ud2', [], { group: 'mov', n: 10 });
F('add', [r(32, RAX), r(32, RCX)], { group: 'alu', n: 10, rawPrefix: 0xf0 }); // LOCK, register destination
F('bt', [m(32, RBX, 0x40), r(32, RCX)], { group: 'bitops', n: 10, rawPrefix: 0xf0 }); // LOCK BT
F('paddb', [x(0), x(1)], { group: 'sse-int', n: 10, rawPrefix: 0xf0 }); // LOCK with SSE
F('cmpxchg', [r(32, RDX), r(32, RCX)], { group: 'atomic', n: 10, rawPrefix: 0xf0, regs: { [RAX]: 'v32' } });

// ---------------------------------------------------------------- generation
const KIND_C: Record<string, string> = {
  base: 'RK_BASE', ptr: 'RK_PTR', fix: 'RK_FIX', ptrj: 'RK_PTRJ', ptr32j: 'RK_PTR32J', v8: 'RK_V8', v8h: 'RK_V8H', v16: 'RK_V16',
  v32: 'RK_V32', v64: 'RK_V64', cnt: 'RK_CNT', small: 'RK_SMALL', small32: 'RK_SMALL32', bitoff: 'RK_BITOFF',
};
const X_C: Record<XKind, string> = { base: 'XK_BASE', int: 'XK_INT', f64: 'XK_F64', f32: 'XK_F32', cnt: 'XK_CNT' };
const M_C: Record<MemKind, string> = {
  none: 'MK_NONE', rand: 'MK_RAND', v8: 'MK_V8', v16: 'MK_V16', v32: 'MK_V32', v64: 'MK_V64', x128: 'MK_X128', f64: 'MK_F64',
  f64x2: 'MK_F64X2', f32: 'MK_F32', f32x4: 'MK_F32X4', xcnt: 'MK_XCNT',
};
const P_C: Record<Post, string> = {
  none: 'P_NONE', divu: 'P_DIVU', divs: 'P_DIVS', cmpxchg: 'P_CMPXCHG', cx8b: 'P_CX8B', cx16b: 'P_CX16B', cmps: 'P_CMPS', scas: 'P_SCAS', zsrc: 'P_ZSRC',
};

/** Assemble every form with gas and return its bytes. */
function assemble(forms: Form[]): Uint8Array[] {
  const dir = mkdtempSync(join(tmpdir(), 'x86vmx-forms-'));
  try {
    const src = ['.intel_syntax noprefix', '.text'];
    forms.forEach((f, k) => { src.push(`f_${k}:`, `  ${f.asm ?? f.name}`); });
    src.push(`f_${forms.length}:`, '');
    writeFileSync(join(dir, 'f.s'), src.join('\n'));
    try {
      execFileSync('as', ['--64', '-msyntax=intel', '-mnaked-reg', '-o', join(dir, 'f.o'), join(dir, 'f.s')], { stdio: 'pipe' });
    } catch (e) {
      const err = String((e as { stderr?: Buffer }).stderr ?? e);
      for (const mm of err.matchAll(/f\.s:(\d+): (.*)/g)) console.error(`${src[Number(mm[1]) - 1].trim()}: ${mm[2]}`);
      throw new Error('gas rejected some forms');
    }
    execFileSync('objcopy', ['-O', 'binary', '-j', '.text', join(dir, 'f.o'), join(dir, 'f.bin')]);
    const text = readFileSync(join(dir, 'f.bin'));
    const syms = new Map<string, number>();
    for (const line of execFileSync('nm', [join(dir, 'f.o')]).toString().split('\n')) {
      const mm = /^([0-9a-f]+) \w (f_\d+)$/.exec(line.trim());
      if (mm) syms.set(mm[2], parseInt(mm[1], 16));
    }
    return forms.map((f, k) => {
      const a = syms.get(`f_${k}`), b = syms.get(`f_${k + 1}`);
      if (a === undefined || b === undefined || b <= a) throw new Error(`no bytes for ${f.name}`);
      return new Uint8Array(text.subarray(a, b));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const out = process.argv[2] ?? 'forms.gen.h';
  const names = new Set<string>();
  for (const f of FORMS) {
    if (names.has(f.name)) throw new Error(`duplicate form ${f.name}`);
    names.add(f.name);
    if (f.winOff < 0 || f.winOff + f.winLen > 0x1000) throw new Error(`${f.name}: window outside the data page`);
  }
  const bytes = assemble(FORMS);
  const c = (s: string) => JSON.stringify(s);
  const lines = ['/* Generated by forms.ts from GNU as output: do not edit. */'];
  bytes.forEach((b, k) => lines.push(`static const uint8_t fb_${k}[] = { ${[...b].map((v) => '0x' + v.toString(16)).join(', ')} };`));
  lines.push('static const struct form FORMS[] = {');
  FORMS.forEach((f, k) => {
    lines.push(`  { ${c(f.name)}, ${c(f.group)}, ${c(f.attrs)}, fb_${k}, ${bytes[k].length}, ${f.n}, ${f.sse ? 1 : 0}, ${f.df ? 1 : 0},`
      + ` { ${f.rk.map((q) => KIND_C[q]).join(', ')} }, { ${f.rarg.join(', ')} }, { ${f.xk.map((q) => X_C[q]).join(', ')} }, ${f.mxcsr ? 1 : 0},`
      + ` ${M_C[f.mk]}, ${f.memOff}, ${f.memLen}, ${f.winOff}, ${f.winLen}, ${P_C[f.post]}, ${f.parg}, ${f.pw} },`);
  });
  lines.push('};', '');
  writeFileSync(out, lines.join('\n'));
  const total = FORMS.reduce((a, f) => a + f.n, 0);
  console.log(`${FORMS.length} forms, ${total} vectors → ${out}`);
}

main();
