// Replays the instruction vectors recorded on real hardware (tests/conformance/vectors/, format in
// its README) on the emulator's CPU and compares the whole output state: RIP, all 16 general
// registers, RFLAGS, the data page (the recorded window, and every other byte unchanged), XMM0-15
// and MXCSR, and the exception vector (and error code) of faulting vectors. Only the state
// undefined-flags.ts lists as undefined by the SDM is left out of the comparison.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { makeCpu, type Harness } from '../helpers/cpu-harness.ts';
import type { Cpu } from '../../emulator/cpu/state.ts';
import { fetchDecode } from '../../emulator/cpu/decoder.ts';
import { FAULT, pushesErrorCode } from '../../emulator/cpu/fault.ts';
import { getRflags, setRflags } from '../../emulator/cpu/flags.ts';
import { undefinedRule, NONE, type FormInfo, type InputView, type Undefined } from './undefined-flags.ts';

export const VECTOR_DIR = join(dirname(fileURLToPath(import.meta.url)), 'vectors');
const MAGIC = 'X86VEC01';
const GPR = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const EXC = ['#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', '9', '#TS', '#NP', '#SS', '#GP', '#PF', '15', '#MF', '#AC', '#MC', '#XM'];

// ---------------------------------------------------------------- file format
export interface VectorFileHeader {
  /** key: value lines of the header text (cpu, date, recorder, insn-addr, data-addr, ...). */
  fields: Record<string, string>;
  insnAddr: number; dataAddr: number; dataSize: number;
}

/** One state: GPRs as int32 halves, RFLAGS, XMM as 64 int32 lanes, MXCSR. */
export class State {
  readonly lo = new Int32Array(16);
  readonly hi = new Int32Array(16);
  flags = 0;
  readonly xmm = new Int32Array(64);
  mxcsr = 0x1f80;
  copyFrom(s: State): void {
    this.lo.set(s.lo); this.hi.set(s.hi); this.flags = s.flags; this.xmm.set(s.xmm); this.mxcsr = s.mxcsr;
  }
}

export interface Form {
  group: string;
  name: string;
  attrs: Record<string, string>;
  info: FormInfo;
  bytes: Uint8Array;
  sse: boolean;
  winOff: number; winLen: number;
  live: number; xlive: number; mxcsrLive: boolean;
  base: State;
  count: number;
}

/** One vector, decoded into reusable buffers. */
export class Vector {
  index = 0;
  readonly input = new State();
  readonly output = new State();
  inWin = new Uint8Array(0);
  outWin = new Uint8Array(0);
  /** -1: completed; otherwise the exception vector. */
  fault = -1;
  errorCode = 0;
}

class Reader {
  off = 0;
  readonly dv: DataView;
  constructor(readonly buf: Uint8Array) { this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength); }
  u8(): number { return this.buf[this.off++]; }
  u16(): number { const v = this.dv.getUint16(this.off, true); this.off += 2; return v; }
  u32(): number { const v = this.dv.getUint32(this.off, true); this.off += 4; return v; }
  i32(): number { const v = this.dv.getInt32(this.off, true); this.off += 4; return v; }
  bytes(n: number): Uint8Array { const b = this.buf.subarray(this.off, this.off + n); this.off += n; return b; }
  str(): string { return new TextDecoder().decode(this.bytes(this.u16())); }
  into(dst: Uint8Array, n: number): void { dst.set(this.buf.subarray(this.off, this.off + n)); this.off += n; }
  xmm(dst: Int32Array, x: number): void { for (let k = 0; k < 4; k++) dst[x * 4 + k] = this.i32(); }
}

/** A parsed vector file: header, then forms, each followed by its vectors (decoded on iteration). */
export class VectorFile {
  readonly header: VectorFileHeader;
  readonly formCount: number;
  private readonly r: Reader;
  constructor(readonly group: string, gz: Uint8Array) {
    const r = (this.r = new Reader(new Uint8Array(gunzipSync(gz))));
    const magic = new TextDecoder().decode(r.bytes(8));
    if (magic !== MAGIC) throw new Error(`${group}: not a vector file (magic ${JSON.stringify(magic)})`);
    const text = new TextDecoder().decode(r.bytes(r.u32()));
    const fields: Record<string, string> = {};
    for (const line of text.split('\n')) {
      const k = line.indexOf(':');
      if (k > 0) fields[line.slice(0, k)] = line.slice(k + 1).trim();
    }
    this.header = {
      fields, insnAddr: Number(fields['insn-addr']), dataAddr: Number(fields['data-addr']), dataSize: Number(fields['data-size']),
    };
    this.formCount = r.u32();
  }

  /** Iterate forms; for each, `each(form, vectors)` must consume the vector iterator fully or not at all. */
  *forms(): Generator<[Form, () => Generator<Vector>]> {
    const r = this.r;
    r.off = 0;
    r.off = 8; r.off += 4 + r.dv.getUint32(8, true); r.off += 4;
    for (let k = 0; k < this.formCount; k++) {
      const name = r.str();
      const attrText = r.str();
      const attrs: Record<string, string> = {};
      for (const kv of attrText.split(' ')) { const e = kv.indexOf('='); if (e > 0) attrs[kv.slice(0, e)] = kv.slice(e + 1); }
      const bytes = r.bytes(r.u8()).slice();
      const flags = r.u32();
      const sse = (flags & 1) !== 0;
      const winOff = r.u16(), winLen = r.u16();
      const live = r.u16(), xlive = r.u16(), mxcsrLive = r.u8() !== 0;
      const base = new State();
      for (let g = 0; g < 16; g++) { base.lo[g] = r.i32(); base.hi[g] = r.i32(); }
      base.flags = 0x202;
      if (sse) { for (let x = 0; x < 16; x++) r.xmm(base.xmm, x); base.mxcsr = r.u32(); }
      const count = r.u32();
      const form: Form = {
        group: this.group, name, attrs, info: { mn: attrs.mn, osz: Number(attrs.osz), attrs }, bytes, sse,
        winOff, winLen, live, xlive, mxcsrLive, base, count,
      };
      let consumed = false;
      const vectors = function* (): Generator<Vector> {
        consumed = true;
        const v = new Vector();
        v.inWin = new Uint8Array(winLen); v.outWin = new Uint8Array(winLen);
        for (let i = 0; i < count; i++) {
          v.index = i;
          const inp = v.input, out = v.output;
          inp.copyFrom(base);
          inp.flags = r.u32();
          for (let g = 0; g < 16; g++) if ((live >> g) & 1) { inp.lo[g] = r.i32(); inp.hi[g] = r.i32(); }
          for (let x = 0; x < 16; x++) if ((xlive >> x) & 1) r.xmm(inp.xmm, x);
          if (mxcsrLive) inp.mxcsr = r.u32();
          if (winLen) r.into(v.inWin, winLen);
          const f = r.u8();
          v.fault = f === 0xff ? -1 : f;
          v.errorCode = v.fault >= 0 ? r.u32() : 0;
          out.copyFrom(inp);
          const ch = r.u16();
          for (let g = 0; g < 16; g++) if ((ch >> g) & 1) { out.lo[g] = r.i32(); out.hi[g] = r.i32(); }
          out.flags = r.u32();
          if (sse) {
            const xc = r.u16();
            for (let x = 0; x < 16; x++) if ((xc >> x) & 1) r.xmm(out.xmm, x);
            out.mxcsr = r.u32();
          }
          if (winLen) {
            v.outWin.set(v.inWin);
            const runs = r.u8();
            for (let q = 0; q < runs; q++) { const o = r.u16(), n = r.u16(); r.into(v.outWin.subarray(o), n); }
          }
          yield v;
        }
      };
      yield [form, vectors];
      if (!consumed) { for (const _ of vectors()) { /* skip */ } }
    }
  }
}

export function vectorFiles(dir = VECTOR_DIR): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.bin.gz')).sort();
}

export function loadVectorFile(path: string): VectorFile {
  const group = path.replace(/^.*\//, '').replace(/\.bin\.gz$/, '');
  return new VectorFile(group, readFileSync(path));
}

// ---------------------------------------------------------------- replay
export interface Mismatch { form: Form; index: number; text: string }
export interface ReplayResult { forms: number; vectors: number; mismatches: number; faults: number; first: Mismatch[] }

const hex = (lo: number, hi: number) => '0x' + (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
const hex32 = (v: number) => '0x' + (v >>> 0).toString(16);
const excName = (v: number) => (v < 0 ? 'none' : EXC[v] ?? `#${v}`);
const FLAG_NAMES: [number, string][] = [[1, 'CF'], [4, 'PF'], [0x10, 'AF'], [0x40, 'ZF'], [0x80, 'SF'], [0x400, 'DF'], [0x800, 'OF']];
const flagText = (v: number) => FLAG_NAMES.filter(([b]) => v & b).map(([, n]) => n).join(' ') || '-';

/** Replays vector files on one emulator CPU. */
export class Replayer {
  readonly h: Harness;
  readonly c: Cpu;
  private readonly page: Uint8Array;
  private readonly expectPage: Uint8Array;
  private readonly pattern: Uint8Array;
  private insnAddr = 0;
  private dataAddr = 0;

  constructor(readonly maxReported = 10) {
    this.h = makeCpu('long64');
    this.c = this.h.cpu;
    this.page = new Uint8Array(0);
    this.expectPage = new Uint8Array(0);
    this.pattern = new Uint8Array(0);
  }

  private layout(hd: VectorFileHeader): void {
    const ram = this.c.ram;
    if (hd.insnAddr + 0x1000 > ram.length || hd.dataAddr + hd.dataSize > ram.length) throw new Error('vector layout outside the harness RAM');
    this.insnAddr = hd.insnAddr; this.dataAddr = hd.dataAddr;
    const self = this as unknown as { page: Uint8Array; expectPage: Uint8Array; pattern: Uint8Array };
    self.page = ram.subarray(hd.dataAddr, hd.dataAddr + hd.dataSize);
    self.pattern = new Uint8Array(hd.dataSize);
    for (let k = 0; k < hd.dataSize; k++) self.pattern[k] = (k * 167 + 0x5b) & 0xff;
    self.expectPage = this.pattern.slice();
    this.page.set(this.pattern);
  }

  /** Execute one instruction at RIP (a REP string instruction until it completes). Returns -1 or the exception vector. */
  private execOne(): number {
    const c = this.c, start = c.rip;
    for (let k = 0; k < 1 << 20; k++) {
      try {
        const ins = fetchDecode(c);
        c.nextRip = c.rip + ins.len;
        ins.exec(c, ins);
        c.rip = c.nextRip;
      } catch (e) {
        if (e !== FAULT) throw e;
        return c.excVector;
      }
      if (c.rip !== start) return -1;
    }
    throw new Error('instruction did not complete');
  }

  replayFile(file: VectorFile, result: ReplayResult, filter?: (f: Form) => boolean): void {
    this.layout(file.header);
    const c = this.c;
    for (const [form, vectors] of file.forms()) {
      if (filter && !filter(form)) continue;
      result.forms++;
      c.ram.set(form.bytes, this.insnAddr);
      c.ram.fill(0xcc, this.insnAddr + form.bytes.length, this.insnAddr + form.bytes.length + 16);
      c.flushDecodeCache();
      c.tlb.flushAll();
      const rule = undefinedRule(form.info);
      for (const v of vectors()) {
        result.vectors++;
        if (v.fault >= 0) result.faults++;
        const text = this.replayOne(form, v, rule);
        if (text !== null) {
          result.mismatches++;
          if (result.first.length < this.maxReported) result.first.push({ form, index: v.index, text });
        }
      }
    }
  }

  /** Replay one vector; returns null when the state matches, else a description of the differences. */
  replayOne(form: Form, v: Vector, rule: ((v: InputView) => Undefined) | null): string | null {
    const c = this.c, inp = v.input, exp = v.output;
    // input state
    c.rl.set(inp.lo); c.rh.set(inp.hi);
    c.xmm.set(inp.xmm); c.mxcsr = inp.mxcsr;
    setRflags(c, inp.flags, 0x3f7fd5);
    c.rip = this.insnAddr;
    c.halted = false;
    if (form.winLen) this.page.set(v.inWin, form.winOff);
    // run
    const fault = this.execOne();
    // expected
    const faulted = v.fault >= 0;
    const und = faulted || rule === null ? NONE : rule({ lo: (n) => inp.lo[n], hi: (n) => inp.hi[n], win: v.inWin });
    const expRip = faulted ? this.insnAddr : this.insnAddr + form.bytes.length;
    let diff: string[] | null = null;
    const add = (s: string) => { (diff ??= []).push(s); };
    if (fault !== v.fault) add(`exception: expected ${excName(v.fault)} got ${excName(fault)}`);
    else if (faulted && pushesErrorCode(v.fault) && c.excCode !== v.errorCode) add(`error code: expected ${hex32(v.errorCode)} got ${hex32(c.excCode)}`);
    if (c.rip !== expRip) add(`rip: expected ${hex32(expRip)} got ${hex32(c.rip)}`);
    for (let g = 0; g < 16; g++) {
      let mLo = -1, mHi = -1;
      if (g === und.reg) {
        if (und.regBits >= 64) { mLo = 0; mHi = 0; } else if (und.regBits === 32) mLo = 0; else mLo = ~((1 << und.regBits) - 1);
      }
      if (((c.rl[g] ^ exp.lo[g]) & mLo) !== 0 || ((c.rh[g] ^ exp.hi[g]) & mHi) !== 0)
        add(`${GPR[g]}: expected ${hex(exp.lo[g], exp.hi[g])} got ${hex(c.rl[g], c.rh[g])}`);
    }
    const fl = getRflags(c), fm = ~und.flags;
    if (((fl ^ exp.flags) & fm) !== 0) {
      add(`rflags: expected ${hex32(exp.flags)} [${flagText(exp.flags)}] got ${hex32(fl)} [${flagText(fl)}]`
        + (und.flags ? ` (undefined, not compared: ${flagText(und.flags)})` : ''));
    }
    for (let x = 0; x < 64; x += 4) {
      if (c.xmm[x] !== exp.xmm[x] || c.xmm[x + 1] !== exp.xmm[x + 1] || c.xmm[x + 2] !== exp.xmm[x + 2] || c.xmm[x + 3] !== exp.xmm[x + 3])
        add(`xmm${x / 4}: expected ${hex(exp.xmm[x + 2], exp.xmm[x + 3])}_${hex(exp.xmm[x], exp.xmm[x + 1]).slice(2)} got ${hex(c.xmm[x + 2], c.xmm[x + 3])}_${hex(c.xmm[x], c.xmm[x + 1]).slice(2)}`);
    }
    if (c.mxcsr !== exp.mxcsr) add(`mxcsr: expected ${hex32(exp.mxcsr)} got ${hex32(c.mxcsr)}`);
    // memory: the window as recorded, everything else untouched
    const ep = this.expectPage;
    if (form.winLen) ep.set(und.mem ? this.page.subarray(form.winOff, form.winOff + form.winLen) : v.outWin, form.winOff);
    if (!Buffer.from(ep.buffer, ep.byteOffset, ep.length).equals(Buffer.from(this.page.buffer, this.page.byteOffset, this.page.length))) {
      for (let k = 0, shown = 0; k < ep.length && shown < 4; k++) {
        if (ep[k] === this.page[k]) continue;
        let e = k; while (e < ep.length && e < k + 16 && ep[e] !== this.page[e]) e++;
        const bytes = (b: Uint8Array) => Array.from(b.subarray(k, e), (q) => q.toString(16).padStart(2, '0')).join(' ');
        add(`mem ${hex32(this.dataAddr + k)}: expected ${bytes(ep)} got ${bytes(this.page)}`);
        k = e; shown++;
      }
      this.page.set(this.pattern);
    }
    if (form.winLen) {
      const pat = this.pattern.subarray(form.winOff, form.winOff + form.winLen);
      ep.set(pat, form.winOff);
      this.page.set(pat, form.winOff);
    }
    if (diff === null) return null;
    return describe(form, v) + '\n    ' + (diff as string[]).join('\n    ');
  }
}

/** The vector's input state, compactly: the live registers, RFLAGS, the window. */
function describe(form: Form, v: Vector): string {
  const inp = v.input;
  const parts: string[] = [];
  for (let g = 0; g < 16; g++) if ((form.live >> g) & 1) parts.push(`${GPR[g]}=${hex(inp.lo[g], inp.hi[g])}`);
  parts.push(`rflags=${hex32(inp.flags)}`);
  for (let x = 0; x < 16; x++) if ((form.xlive >> x) & 1) parts.push(`xmm${x}=${hex(inp.xmm[4 * x + 2], inp.xmm[4 * x + 3])}_${hex(inp.xmm[4 * x], inp.xmm[4 * x + 1]).slice(2)}`);
  if (form.mxcsrLive) parts.push(`mxcsr=${hex32(inp.mxcsr)}`);
  if (form.winLen) parts.push(`mem[+${hex32(form.winOff)}]=${Array.from(v.inWin.subarray(0, 32), (q) => q.toString(16).padStart(2, '0')).join('')}${form.winLen > 32 ? '…' : ''}`);
  const bytes = Array.from(form.bytes, (q) => q.toString(16).padStart(2, '0')).join(' ');
  return `[${form.group}] ${form.name} (${bytes}) vector #${v.index}\n    in: ${parts.join(' ')}`;
}

export function emptyResult(): ReplayResult { return { forms: 0, vectors: 0, mismatches: 0, faults: 0, first: [] }; }

export interface GroupResult extends ReplayResult { group: string; header: VectorFileHeader; bytes: number }

/** Replay every vector file in `dir`: totals, and one result per file (group). */
export function replayAll(dir = VECTOR_DIR, maxReported = 10): ReplayResult & { groups: GroupResult[] } {
  const total = { ...emptyResult(), groups: [] as GroupResult[] };
  const rp = new Replayer(maxReported);
  for (const f of vectorFiles(dir)) {
    const path = join(dir, f);
    const file = loadVectorFile(path);
    const g: GroupResult = { ...emptyResult(), group: file.group, header: file.header, bytes: statSync(path).size };
    rp.replayFile(file, g);
    total.groups.push(g);
    total.forms += g.forms; total.vectors += g.vectors; total.mismatches += g.mismatches; total.faults += g.faults;
    for (const m of g.first) if (total.first.length < maxReported) total.first.push(m);
  }
  return total;
}
