// The debugger's command interpreter, separate from terminal I/O: exec(line) runs one command line
// against a bare Machine and returns its output. Errors come back as "error: …" and leave the guest
// untouched. Execution goes one instruction at a time through Machine.run (so devices, HLT and the
// debug-exit port behave as in a normal run) and checks RIP against the breakpoints in between.
import { STOP_NAMES, type Machine, type RunResult, type BufferedSerial } from '../machine/machine.ts';
import { StopReason, CS, MODE_LONG64, MODE_PROT32, MODE_COMPAT32 } from '../cpu/state.ts';
import type { SymbolTable } from './symbols.ts';
import { readLinear, readPhysical, hexAddr } from './memory.ts';
import { disassemble } from './disasm.ts';
import { formatRegs, setRegister, getRegister } from './regs.ts';
import { helpText, ALIASES } from './help.ts';

class DebugError extends Error {}
const fail = (msg: string): never => { throw new DebugError(msg); };

const MAX_UNITS = 4096;
const SIZES: Record<string, number> = { b: 1, h: 2, w: 4, g: 8 };

export class Debugger {
  /** Breakpoint number → RIP value. */
  private readonly breaks = new Map<number, number>();
  private nextBreak = 1;
  private serialSeen = 0;
  /** Why the guest stopped for good (exit, halt, triple fault, emulator error); null while it can run. */
  ended: RunResult | null = null;
  quit = false;

  constructor(readonly m: Machine, readonly syms: SymbolTable, private readonly serial: BufferedSerial | null = null) {
    this.serialSeen = serial?.out.length ?? 0;
  }

  /** Run one command line; returns its output (no trailing newline; '' for none). */
  exec(line: string): string {
    try {
      return this.dispatch(line.trim());
    } catch (e) {
      if (e instanceof DebugError) return `error: ${e.message}`;
      throw e;
    }
  }

  private dispatch(line: string): string {
    if (line === '' || line.startsWith('#')) return '';
    const [head, ...args] = line.split(/\s+/);
    const slash = head.indexOf('/');
    const word = slash >= 0 ? head.slice(0, slash) : head;
    const cmd = ALIASES[word] ?? word;
    if (slash >= 0 && cmd !== 'x' && cmd !== 'xp') fail(`"${word}" takes no /FMT`);
    const fmt = slash >= 0 ? head.slice(slash + 1) : '';
    const nargs = (min: number, max: number) => {
      if (args.length < min || args.length > max) fail(`wrong number of arguments to ${cmd}; usage: ${helpText(cmd)!.split('\n')[0]}`);
    };
    switch (cmd) {
      case 'step': nargs(0, 1); return this.step(args.length ? this.count(args[0]) : 1);
      case 'continue': nargs(0, 0); return this.resume(null);
      case 'until': nargs(1, 1); return this.resume(this.addr(args[0]));
      case 'break': nargs(1, 1); return this.addBreak(this.addr(args[0]));
      case 'delete': nargs(0, 1); return this.deleteBreak(args[0]);
      case 'info':
        nargs(1, 1);
        if (args[0] === 'break' || args[0] === 'b' || args[0] === 'breakpoints') return this.listBreaks();
        if (args[0] === 'regs' || args[0] === 'registers' || args[0] === 'r') return formatRegs(this.m.cpu);
        return fail(`info: expected "break" or "regs", got "${args[0]}"`);
      case 'regs': nargs(0, 0); return formatRegs(this.m.cpu);
      case 'set': {
        nargs(2, 2);
        const err = setRegister(this.m.cpu, args[0], this.value(args[1]));
        if (err) fail(err);
        return '';
      }
      case 'x': case 'xp': nargs(1, 1); return this.examine(fmt, this.addr(args[0]), cmd === 'xp');
      case 'disasm': {
        nargs(0, 2);
        const a = args.length ? this.addr(args[0]) : this.pc();
        return this.disasm(a, args.length > 1 ? this.count(args[1]) : 10);
      }
      case 'help': {
        nargs(0, 1);
        return helpText(args[0]) ?? fail(`no command "${args[0]}"; try help`);
      }
      case 'quit': nargs(0, 0); this.quit = true; return '';
      default: return fail(`unknown command "${word}"; try help`);
    }
  }

  // --- execution ---

  private checkRunnable(): void {
    if (this.ended) fail(`the guest is not running (${this.stopText(this.ended)})`);
  }

  private stopText(r: RunResult): string {
    return r.reason === StopReason.Exit ? `guest exited with status ${r.exitStatus}` : `${STOP_NAMES[r.reason]}: ${r.message}`;
  }

  /** Execute one instruction; false when the guest stopped for good. */
  private stepOne(): boolean {
    const r = this.m.run(this.m.cpu.icount + 1);
    if (r.reason === StopReason.InsnLimit) return true;
    this.ended = r;
    return false;
  }

  private step(n: number): string {
    this.checkRunnable();
    for (let k = 0; k < n; k++) if (!this.stepOne()) return this.stopped();
    return this.serialText() + this.current();
  }

  private resume(until: number | null): string {
    this.checkRunnable();
    const c = this.m.cpu;
    for (;;) {
      if (!this.stepOne()) return this.stopped();
      for (const [n, a] of this.breaks) if (a === c.rip) return `${this.serialText()}Breakpoint ${n}, ${this.where(a)}\n${this.current()}`;
      if (c.rip === until) return `${this.serialText()}Stopped at ${this.where(until)}\n${this.current()}`;
    }
  }

  private stopped(): string {
    return `${this.serialText()}Guest stopped: ${this.stopText(this.ended!)} after ${this.m.cpu.icount} instructions`;
  }

  /** New guest serial output since the last command, ending in a newline. */
  private serialText(): string {
    if (!this.serial || this.serial.out.length === this.serialSeen) return '';
    const t = Buffer.from(this.serial.out.slice(this.serialSeen)).toString('latin1');
    this.serialSeen = this.serial.out.length;
    return t.endsWith('\n') ? t : t + '\n';
  }

  // --- breakpoints ---

  private addBreak(a: number): string {
    const n = this.nextBreak++;
    this.breaks.set(n, a);
    return `Breakpoint ${n} at ${this.where(a)}`;
  }

  private deleteBreak(arg: string | undefined): string {
    if (arg === undefined) { const k = this.breaks.size; this.breaks.clear(); return `Deleted ${k} breakpoint(s)`; }
    const n = this.count(arg);
    if (!this.breaks.delete(n)) fail(`no breakpoint number ${n}`);
    return `Deleted breakpoint ${n}`;
  }

  private listBreaks(): string {
    if (this.breaks.size === 0) return 'No breakpoints.';
    return ['Num  Address             Where', ...[...this.breaks].map(([n, a]) =>
      `${String(n).padEnd(4)} ${hexAddr(a)}  ${this.syms.describe(a)}`)].join('\n');
  }

  // --- memory and disassembly ---

  private examine(fmt: string, addr: number, physical: boolean): string {
    const f = /^(\d*)([a-z]?)(x?)$/.exec(fmt);
    if (!f) fail(`bad format "${fmt}": COUNT then size b, h, w or g`);
    const count = f![1] ? Number(f![1]) : 1;
    const size = SIZES[f![2] || 'w'];
    if (size === undefined) fail(`bad size "${f![2]}" in format "${fmt}": use b, h, w or g`);
    if (count < 1 || count > MAX_UNITS) fail(`bad count ${f![1]}: 1 to ${MAX_UNITS}`);
    const bytes = physical ? readPhysical(this.m, addr, count * size) : readLinear(this.m, addr, count * size);
    if (typeof bytes === 'string') fail(bytes);
    const b = bytes as Uint8Array, lines: string[] = [];
    for (let o = 0; o < b.length; o += 16) {
      const row = b.subarray(o, Math.min(o + 16, b.length));
      const units: string[] = [];
      for (let u = 0; u < row.length; u += size) {
        let v = 0n;
        for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(row[u + k]);
        units.push((size === 1 ? '' : '0x') + v.toString(16).padStart(size * 2, '0'));
      }
      const sym = physical ? '' : this.syms.describe(addr + o);
      let text = `${hexAddr(addr + o)}${sym ? ' ' + sym : ''}: ${units.join(' ')}`;
      if (size === 1) text += ' '.repeat((16 - row.length) * 3 + 1) + ' ' + [...row].map((x) => x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.').join('');
      lines.push(text);
    }
    return lines.join('\n');
  }

  /** The linear address of the current instruction. */
  private pc(): number {
    const c = this.m.cpu;
    return c.mode === MODE_LONG64 ? c.rip : (c.segBase[CS] + c.rip) % 4294967296;
  }

  private bits(): 16 | 32 | 64 {
    const mode = this.m.cpu.mode;
    return mode === MODE_LONG64 ? 64 : mode === MODE_PROT32 || mode === MODE_COMPAT32 ? 32 : 16;
  }

  /** One disassembled instruction at linear `a`: its line and size (null at an unreadable address). */
  private insnLine(a: number): { text: string; size: number } | null {
    let bytes = readLinear(this.m, a, 15);
    if (typeof bytes === 'string') {
      // Near the end of mapped memory: decode what there is.
      let n = 14;
      while (n > 0 && typeof (bytes = readLinear(this.m, a, n)) === 'string') n--;
      if (typeof bytes === 'string') return null;
    }
    const d = disassemble(bytes, a, this.bits());
    const size = d ? d.size : 1, text = d ? this.annotate(d.text, a + size) : '(bad)';
    const hexBytes = [...bytes.subarray(0, size)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    const mark = a === this.pc() ? '=> ' : '   ';
    const sym = this.syms.describe(a);
    return { text: `${mark}${hexAddr(a)}${sym ? ' ' + sym : ''}: ${hexBytes.padEnd(30)} ${text}`, size };
  }

  /** Name the target of a direct branch or a RIP-relative operand. */
  private annotate(text: string, next: number): string {
    const rel = /\[rip ([+-]) 0x([0-9a-f]+)\]/.exec(text);
    const target = rel ? next + (rel[1] === '+' ? 1 : -1) * parseInt(rel[2], 16)
      : /^(j\w+|call|loop\w*) 0x([0-9a-f]+)$/.test(text) ? parseInt(text.split('0x')[1], 16) : NaN;
    if (Number.isNaN(target)) return text;
    const s = this.syms.describe(target);
    return rel ? `${text}  # 0x${target.toString(16)}${s ? ' ' + s : ''}` : s ? `${text} ${s}` : text;
  }

  private disasm(a: number, n: number): string {
    if (n > 1000) fail(`too many instructions: ${n} (at most 1000)`);
    const lines: string[] = [];
    for (let k = 0; k < n; k++) {
      const l = this.insnLine(a);
      if (l === null) {
        if (k === 0) { const e = readLinear(this.m, a, 1); fail(typeof e === 'string' ? e : `cannot read ${hexAddr(a)}`); }
        break;
      }
      lines.push(l.text);
      a += l.size;
    }
    return lines.join('\n');
  }

  private current(): string {
    return this.insnLine(this.pc())?.text ?? `=> ${hexAddr(this.pc())}: (cannot read the instruction: ${readLinear(this.m, this.pc(), 1)})`;
  }

  private where(a: number): string {
    const s = this.syms.describe(a);
    return s ? `${hexAddr(a)} ${s}` : hexAddr(a);
  }

  // --- argument parsing ---

  private count(s: string): number {
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(s)) fail(`bad number "${s}"`);
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 1) fail(`bad number "${s}": expected a positive integer`);
    return n;
  }

  /** NUMBER, -NUMBER, SYMBOL, $REG, optionally +/-NUMBER: an unsigned 64-bit value. */
  private value(s: string): bigint {
    const m = /^(-?)([^+-]+)(?:([+-])(0x[0-9a-f]+|\d+))?$/i.exec(s);
    if (!m) return fail(`bad address or value "${s}"`);
    let v: bigint;
    if (/^(0x[0-9a-f]+|\d+)$/i.test(m[2])) v = BigInt(m[2]);
    else if (m[2].startsWith('$')) v = getRegister(this.m.cpu, m[2].slice(1)) ?? fail(`unknown register "${m[2]}"`);
    else if (/^[A-Za-z_.][\w.@]*$/.test(m[2])) {
      const sym = this.syms.lookup(m[2]) ?? fail(`unknown symbol "${m[2]}"`);
      v = BigInt(sym.addr);
    } else return fail(`bad address or value "${s}"`);
    if (m[1]) v = -v;
    if (m[3]) v += (m[3] === '+' ? 1n : -1n) * BigInt(m[4]);
    const mod = 1n << 64n;
    if (v <= -mod || v >= mod) fail(`value out of range: "${s}"`);
    return ((v % mod) + mod) % mod;
  }

  /** An address as the emulator keeps it: a double, sign-extended above 2^63. */
  private addr(s: string): number {
    const v = this.value(s);
    return Number(v >= 1n << 63n ? v - (1n << 64n) : v);
  }
}
