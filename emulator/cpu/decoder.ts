// Instruction decoder: prefixes, opcode maps, ModRM/SIB/displacement and immediates
// (SDM Vol. 2A chapter 2). The opcode tables (opcodes.ts and the ops/ families) are declarative:
// each entry says whether a ModRM byte follows, which immediate follows, how 64-bit mode sizes the
// operand, and picks the handler for the decoded operand size and form. A missing entry or a
// pick that returns undefined decodes to a #UD handler.
import { Cpu, MODE_LONG64, MODE_REAL, MODE_PROT16, MODE_COMPAT16, RSP, RBP, RBX, RSI, RDI, SS, DS, CS, FS, GS } from './state.ts';
import { Insn, type Handler } from './insn.ts';
import { ea16, ea32, ea32in64, ea64, ea64Base, eaRip, eaRip32, eaNone } from './ea.ts';
import { reg8 } from './regs.ts';
import { raise, GP, UD, FAULT } from './fault.ts';
import { translate, ACC_EXEC } from './paging.ts';
import { TLB_MASK } from './tlb.ts';

export const enum Imm {
  None = 0, Ib, Iw, Iz, Iv, IwIb, Ap, Moffs,
  /** F6/F7 group 3: TEST (reg 0 and 1) has an immediate (Ib or Iz by operand size). */
  Grp3,
}

export interface OpDef {
  name: string;
  modrm: boolean;
  imm: Imm;
  /** Byte operation: operand size 8, register numbers use the 8-bit encoding. */
  byte?: boolean;
  /** 64-bit mode: default operand size is 64 (PUSH/POP, near indirect branches, ...). */
  d64?: boolean;
  /** 64-bit mode: operand size is always 64 (Jcc, near CALL/JMP rel, RET). */
  f64?: boolean;
  /** Invalid in 64-bit mode (#UD). */
  i64?: boolean;
  /** Valid only in 64-bit mode. */
  o64?: boolean;
  /** ModRM.mod is ignored and treated as 11b: rm is always a register (MOV CR/DR, SDM Vol. 2B). */
  regOnly?: boolean;
  /**
   * The opcode has forms that accept LOCK (SDM Vol. 2A "LOCK": ADD ADC AND BTC BTR BTS CMPXCHG
   * CMPXCHG8B/16B DEC INC NEG NOT OR SBB SUB XOR XADD XCHG); `pick` then rejects the forms that do
   * not (register destination, CMP, BT, other group members). Without it a LOCK prefix is #UD.
   */
  lockable?: boolean;
  /** Choose the handler for the decoded instruction; undefined means #UD. */
  pick: (i: Insn) => Handler | undefined;
}

export const MAP1: (OpDef | undefined)[] = new Array(256);
export const MAP0F: (OpDef | undefined)[] = new Array(256);
export const MAP0F38: (OpDef | undefined)[] = new Array(256);
export const MAP0F3A: (OpDef | undefined)[] = new Array(256);
const MAPS = [MAP1, MAP0F, MAP0F38, MAP0F3A];

/** Register an opcode (op: 0x00-0xFF, 0x1xx for 0F xx, 0x2xx for 0F 38 xx, 0x3xx for 0F 3A xx). */
export function def(op: number, d: OpDef): void {
  const map = MAPS[op >> 8];
  if (map[op & 0xff]) throw new Error(`opcode 0x${op.toString(16)} defined twice (${map[op & 0xff]!.name}, ${d.name})`);
  map[op & 0xff] = d;
}

/** Handler for encodings that are invalid or not implemented: #UD, counted per opcode for --stats. */
export function invalidOpcode(c: Cpu, i: Insn): void {
  const key = i.name;
  c.udCounts.set(key, (c.udCounts.get(key) ?? 0) + 1);
  raise(c, UD, 0);
}

// ---- byte source: guest memory (lazy, page by page) or a test buffer ----
let srcBuf: Uint8Array | null = null;
let dCpu: Cpu;
let dLin = 0;
let dPa = 0;
let dCount = 0;
let dCrossed = false;

function fb(): number {
  if (dCount >= 15) raise(dCpu, GP, 0); // SDM Vol. 2A 2.3.11: instructions are at most 15 bytes
  if (srcBuf !== null) {
    if (dCount >= srcBuf.length) throw TRUNCATED;
    return srcBuf[dCount++];
  }
  if (dCount > 0 && (dLin & 0xfff) === 0) {
    dPa = translate(dCpu, dLin, ACC_EXEC, dCpu.cpl === 3);
    dCrossed = true;
  }
  const b = dPa < dCpu.ramSize ? dCpu.ram[dPa] : dCpu.mem.read(dPa, 1);
  dPa++; dLin++; dCount++;
  return b;
}
const TRUNCATED = { tag: 'truncated' };

const EA16_BASE = [RBX, RBX, RBP, RBP, RSI, RDI, RBP, RBX];
const EA16_INDEX = [RSI, RDI, RSI, RDI, -1, -1, -1, -1];


/** Decode one instruction for `mode` (Cpu.mode) using the current byte source. */
function decodeOne(c: Cpu, mode: number): Insn {
  const i = new Insn(invalidOpcode, eaNone);
  i.mode = mode;
  const long = mode === MODE_LONG64;
  const code16 = mode === MODE_REAL || mode === MODE_PROT16 || mode === MODE_COMPAT16;
  let p66 = false, p67 = false, rex = 0, seg = -1, rep = 0, lock = false, mand = 0;
  let b: number;
  for (;;) {
    b = fb();
    switch (b) {
      case 0x66: p66 = true; rex = 0; if (mand === 0) mand = 0x66; continue;
      case 0x67: p67 = true; rex = 0; continue;
      case 0xf0: lock = true; rex = 0; continue;
      case 0xf2: case 0xf3: rep = b; mand = b; rex = 0; continue;
      case 0x26: case 0x2e: case 0x36: case 0x3e:
        // ES/CS/SS/DS overrides are ignored in 64-bit mode (SDM Vol. 1 3.3.7.1).
        if (!long) seg = (b >> 3) & 3;
        rex = 0; continue;
      case 0x64: seg = FS; rex = 0; continue;
      case 0x65: seg = GS; rex = 0; continue;
    }
    if (long && (b & 0xf0) === 0x40) { rex = b; continue; }
    break;
  }
  // If both 66 and F2/F3 are present, F2/F3 select the SSE instruction (SDM Vol. 2A 2.1.2).
  if (rep !== 0) mand = rep;
  let op = b;
  if (b === 0x0f) {
    const b2 = fb();
    if (b2 === 0x38) op = 0x200 | fb();
    else if (b2 === 0x3a) op = 0x300 | fb();
    else op = 0x100 | b2;
  }
  i.op = op;
  i.rex = rex;
  i.rep = rep;
  i.lock = lock;
  i.mandatory = mand;
  i.segOverride = seg;
  const d = MAPS[op >> 8][op & 0xff];

  // Operand and address sizes (SDM Vol. 1 3.6, Vol. 2A 2.2.1.2).
  let opSize: number;
  if (long) {
    if (rex & 8) opSize = 64;
    else if (d && d.f64) opSize = 64;
    else if (p66) opSize = 16;
    else opSize = d && d.d64 ? 64 : 32;
  } else opSize = (code16 !== p66) ? 16 : 32;
  const addrSize = long ? (p67 ? 32 : 64) : (code16 !== p67 ? 16 : 32);
  i.opSize = d && d.byte ? 8 : opSize;
  i.addrSize = addrSize;

  if (d === undefined) {
    // Unknown opcode: it still needs a length for the cache and for diagnostics. Without a table
    // entry we cannot know it; decode as one opcode unit with no operands.
    i.name = `#UD ${opName(op)}`;
    return i;
  }
  i.name = d.name;

  if (d.modrm) {
    const m = fb();
    const mod = d.regOnly ? 3 : m >> 6;
    i.mod = mod;
    const regf = ((m >> 3) & 7) | ((rex & 4) << 1);
    const rmf = (m & 7) | ((rex & 1) << 3);
    i.reg = d.byte ? reg8(regf, rex) : regf;
    if (mod === 3) {
      i.rm = d.byte ? reg8(rmf, rex) : rmf;
    } else if (addrSize === 16) {
      const rm = m & 7;
      if (mod === 0 && rm === 6) { i.base = -1; i.disp = (fb() | (fb() << 8)) << 16 >> 16; }
      else {
        i.base = EA16_BASE[rm]; i.index = EA16_INDEX[rm];
        if (mod === 1) i.disp = fb() << 24 >> 24;
        else if (mod === 2) i.disp = (fb() | (fb() << 8)) << 16 >> 16;
      }
      i.seg = seg >= 0 ? seg : (i.base === RBP ? SS : DS);
      i.ea = ea16;
    } else {
      let base = -1, index = -1, scale = 0;
      const rm = m & 7;
      if (rm === 4) {
        const sib = fb();
        scale = sib >> 6;
        const idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
        if (idx !== 4) index = idx; // index 100b without REX.X means none
        const bs = sib & 7;
        if (bs === 5 && mod === 0) { base = -1; i.disp = fb() | (fb() << 8) | (fb() << 16) | (fb() << 24); }
        else base = bs | ((rex & 1) << 3);
      } else if (rm === 5 && mod === 0) {
        base = long ? 16 : -1; // RIP-relative in 64-bit mode
        i.disp = fb() | (fb() << 8) | (fb() << 16) | (fb() << 24);
      } else base = rmf;
      if (mod === 1) i.disp = fb() << 24 >> 24;
      else if (mod === 2) i.disp = fb() | (fb() << 8) | (fb() << 16) | (fb() << 24);
      i.base = base; i.index = index; i.scale = scale;
      // Default segment is SS for RSP/RBP-based addressing (SDM Vol. 1 3.7.4.1).
      i.seg = seg >= 0 ? seg : (base === RSP || base === RBP) ? SS : DS;
      if (long) {
        if (base === 16) i.ea = addrSize === 64 ? eaRip : eaRip32;
        else if (addrSize === 32) i.ea = ea32in64;
        else i.ea = index < 0 && base >= 0 ? ea64Base : ea64;
      } else i.ea = ea32;
    }
  }

  // Immediates (sizes per SDM Vol. 2A Appendix A operand codes).
  switch (d.imm) {
    case Imm.Ib: i.imm = fb() << 24 >> 24; break;
    case Imm.Iw: i.imm = fb() | (fb() << 8); break;
    case Imm.Iz:
      if (i.opSize === 16) i.imm = (fb() | (fb() << 8)) << 16 >> 16;
      else i.imm = fb() | (fb() << 8) | (fb() << 16) | (fb() << 24);
      break;
    case Imm.Iv:
      if (i.opSize === 16) i.imm = (fb() | (fb() << 8)) << 16 >> 16;
      else {
        i.imm = fb() | (fb() << 8) | (fb() << 16) | (fb() << 24);
        if (i.opSize === 64) i.immHi = fb() | (fb() << 8) | (fb() << 16) | (fb() << 24);
      }
      break;
    case Imm.IwIb: i.imm = fb() | (fb() << 8); i.imm2 = fb(); break;
    case Imm.Ap:
      i.imm = opSize === 16 ? fb() | (fb() << 8) : (fb() | (fb() << 8) | (fb() << 16) | (fb() << 24)) >>> 0;
      i.imm2 = fb() | (fb() << 8);
      break;
    case Imm.Moffs:
      if (addrSize === 16) i.imm = fb() | (fb() << 8);
      else {
        i.imm = (fb() | (fb() << 8) | (fb() << 16) | (fb() << 24)) >>> 0;
        if (addrSize === 64) i.immHi = fb() | (fb() << 8) | (fb() << 16) | (fb() << 24);
      }
      i.seg = seg >= 0 ? seg : DS;
      break;
    case Imm.Grp3:
      if (((i.reg & 7) >> 1) === 0) {
        if (d.byte) i.imm = fb() << 24 >> 24;
        else if (i.opSize === 16) i.imm = (fb() | (fb() << 8)) << 16 >> 16;
        else i.imm = fb() | (fb() << 8) | (fb() << 16) | (fb() << 24);
      }
      break;
  }
  // Invalid in this mode, or LOCK on an instruction that cannot be locked: #UD (the length above
  // is still the full instruction's).
  if ((long && d.i64) || (!long && d.o64) || (lock && !d.lockable)) return i;
  const h = d.pick(i);
  if (h !== undefined) i.exec = h;
  return i;
}

export function opName(op: number): string {
  const h = (n: number) => n.toString(16).padStart(2, '0');
  switch (op >> 8) {
    case 0: return h(op);
    case 1: return '0f ' + h(op & 0xff);
    case 2: return '0f 38 ' + h(op & 0xff);
    default: return '0f 3a ' + h(op & 0xff);
  }
}

/**
 * Fetch and decode the instruction at CS:RIP. Fast path: RIP is in the current code page (whose
 * translation is kept until a TLB flush, a mode/CPL change or a write to the frame) and the
 * instruction there is already decoded for this mode.
 */
export function fetchDecode(c: Cpu): Insn {
  const lin = c.mode === MODE_LONG64 ? c.rip : c.rip + c.segBase[CS];
  const off = lin - c.fetchLin;
  if (off >= 0 && off < 4096) {
    const ins = c.fetchPage[off | 0];
    if (ins !== undefined && ins.mode === c.mode) return ins;
  }
  return fetchSlow(c);
}

/** Translate CS:RIP, look the instruction up in the per-frame cache, or decode and cache it. */
export function fetchSlow(c: Cpu): Insn {
  const lin = c.mode === MODE_LONG64 ? c.rip : (c.segBase[CS] + c.rip) % 4294967296;
  const off = lin & 0xfff;
  const vpn = (lin - off) / 4096;
  const ti = vpn & TLB_MASK;
  const t = c.tlb;
  let pa: number;
  if (t.vpn[ti] === vpn && (t.perm[ti] & c.accX) !== 0) pa = t.page[ti] + off;
  else pa = translate(c, lin, ACC_EXEC, c.cpl === 3);
  let page: (Insn | undefined)[] | undefined;
  const frame = pa < c.ramSize ? Math.floor(pa / 4096) : -1;
  if (frame >= 0) {
    page = c.icache[frame];
    if (page !== undefined) {
      c.fetchLin = lin - off; c.fetchFrame = frame; c.fetchPage = page;
      const hit = page[off];
      if (hit !== undefined && hit.mode === c.mode) return hit;
    }
  }
  srcBuf = null;
  dCpu = c; dLin = lin; dPa = pa; dCount = 0; dCrossed = false;
  const ins = decodeOne(c, c.mode);
  ins.len = dCount;
  c.decodeCount++;
  if (!dCrossed && frame >= 0) {
    page = c.icache[frame];
    if (page === undefined) {
      page = new Array(4096);
      (c.icache as (Insn | undefined)[][])[frame] = page;
      c.mem.codeFrames[frame] = 1;
    }
    page[off] = ins;
    c.fetchLin = lin - off; c.fetchFrame = frame; c.fetchPage = page;
  }
  return ins;
}

/**
 * Decode from a byte buffer (tests, disassembly, the capstone comparison). Returns null when the
 * buffer ends before the instruction does. Faults other than length/#UD cannot happen here.
 */
export function decodeBytes(c: Cpu, bytes: Uint8Array, mode: number): { insn: Insn; valid: boolean } | null {
  srcBuf = bytes;
  dCpu = c; dCount = 0;
  try {
    const insn = decodeOne(c, mode);
    insn.len = dCount;
    return { insn, valid: insn.exec !== invalidOpcode };
  } catch (e) {
    if (e === TRUNCATED) return null;
    if (e === FAULT) return { insn: new Insn(invalidOpcode, eaNone), valid: false }; // longer than 15 bytes
    throw e;
  } finally {
    srcBuf = null;
  }
}

