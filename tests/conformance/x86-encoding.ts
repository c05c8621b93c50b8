// An independent, table-free reading of an x86-64 instruction's prefixes and opcode (SDM Vol. 2A
// 2.1-2.2, 2.3.5 VEX, 2.6 EVEX), used to classify decoder disagreements without asking either
// decoder. It finds where the opcode is and which prefixes apply; it does not know instruction
// lengths. Also the SDM's LOCK rule (Vol. 2A "LOCK") stated from the SDM's list, not from our tables.

export const enum Kind { Legacy = 0, Vex2, Vex3, Evex, Xop }

export interface Parsed {
  /** Legacy prefix bytes (66 67 F0 F2 F3 26 2E 36 3E 64 65) in order, without REX. */
  legacy: number[];
  /** Number of bytes before the opcode (or before the VEX/EVEX/XOP escape): legacy + REX bytes. */
  prefixLen: number;
  lock: boolean;
  p66: boolean;
  p67: boolean;
  /** The last of F2/F3 (the one that counts), or 0. */
  rep: number;
  /** The REX byte in effect: only one immediately before the opcode counts (SDM Vol. 2A 2.2.1). */
  rex: number;
  /** A REX byte was followed by another prefix (it is then ignored). */
  rexIgnored: boolean;
  kind: Kind;
  /** 0 one-byte map, 1 = 0F, 2 = 0F 38, 3 = 0F 3A (legacy encodings; VEX/EVEX/XOP: the m-mmmm map). */
  map: number;
  /** The opcode byte (for VEX/EVEX/XOP: the byte after the escape). */
  op: number;
  /** Offset of the opcode byte. */
  opAt: number;
  /** The byte after the opcode (the ModR/M byte if the opcode takes one). */
  modrm: number;
  /** SSE mandatory prefix per the SDM: F2/F3 (last one) over 66 (Vol. 2A 2.1.2, 2.2.1 "REX + mandatory"). */
  mandatory: number;
}

const LEGACY = new Set([0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]);

export function isLegacyPrefix(b: number): boolean { return LEGACY.has(b); }

/** Read prefixes and the opcode of the instruction at the start of `b` (64-bit mode). */
export function parse(b: Uint8Array): Parsed {
  const legacy: number[] = [];
  let k = 0, rex = 0, rexIgnored = false;
  for (; k < b.length; k++) {
    const x = b[k];
    if (LEGACY.has(x)) { legacy.push(x); if (rex) rexIgnored = true; rex = 0; continue; }
    if ((x & 0xf0) === 0x40) { if (rex) rexIgnored = true; rex = x; continue; }
    break;
  }
  const prefixLen = k;
  let rep = 0;
  for (const x of legacy) if (x === 0xf2 || x === 0xf3) rep = x;
  const p66 = legacy.includes(0x66);
  const p = {
    legacy, prefixLen, lock: legacy.includes(0xf0), p66, p67: legacy.includes(0x67), rep, rex, rexIgnored,
    kind: Kind.Legacy, map: 0, op: b[k], opAt: k, modrm: b[k + 1], mandatory: rep !== 0 ? rep : p66 ? 0x66 : 0,
  };
  const x = b[k];
  if (x === 0xc5) { p.kind = Kind.Vex2; p.map = 1; p.opAt = k + 2; }
  else if (x === 0xc4) { p.kind = Kind.Vex3; p.map = b[k + 1] & 0x1f; p.opAt = k + 3; }
  else if (x === 0x62) { p.kind = Kind.Evex; p.map = b[k + 1] & 0x07; p.opAt = k + 4; }
  else if (x === 0x8f && (b[k + 1] & 0x1f) >= 8) { p.kind = Kind.Xop; p.map = b[k + 1] & 0x1f; p.opAt = k + 3; }
  else if (x === 0x0f) {
    if (b[k + 1] === 0x38) { p.map = 2; p.opAt = k + 2; }
    else if (b[k + 1] === 0x3a) { p.map = 3; p.opAt = k + 2; }
    else { p.map = 1; p.opAt = k + 1; }
  }
  p.op = b[p.opAt];
  p.modrm = b[p.opAt + 1];
  return p;
}

export const modOf = (p: Parsed): number => p.modrm >> 6;
export const regOf = (p: Parsed): number => (p.modrm >> 3) & 7;

/**
 * The SDM's LOCK rule (Vol. 2A "LOCK—Assert LOCK# Signal Prefix"): LOCK is allowed only with ADD,
 * ADC, AND, BTC, BTR, BTS, CMPXCHG, CMPXCHG8B, CMPXCHG16B, DEC, INC, NEG, NOT, OR, SBB, SUB, XOR,
 * XADD and XCHG, and only in the forms whose destination is a memory operand; otherwise #UD.
 */
export function sdmLockable(p: Parsed): boolean {
  if (p.kind !== Kind.Legacy) return false;
  const mem = modOf(p) !== 3, reg = regOf(p);
  if (!mem) return false;
  if (p.map === 0) {
    const op = p.op;
    // 00/01 ADD, 08/09 OR, 10/11 ADC, 18/19 SBB, 20/21 AND, 28/29 SUB, 30/31 XOR (Eb,Gb / Ev,Gv)
    if (op < 0x38 && (op & 7) <= 1) return true;
    if (op >= 0x80 && op <= 0x83) return op !== 0x82 && reg !== 7; // group 1 but CMP (82 is i64)
    if (op === 0x86 || op === 0x87) return true; // XCHG
    if (op === 0xf6 || op === 0xf7) return reg === 2 || reg === 3; // NOT, NEG
    if (op === 0xfe || op === 0xff) return reg === 0 || reg === 1; // INC, DEC
    return false;
  }
  if (p.map === 1) {
    const op = p.op;
    if (op === 0xab || op === 0xb3 || op === 0xbb) return true; // BTS, BTR, BTC Ev,Gv
    if (op === 0xba) return reg >= 5; // BTS, BTR, BTC Ev,Ib
    if (op === 0xb0 || op === 0xb1 || op === 0xc0 || op === 0xc1) return true; // CMPXCHG, XADD
    if (op === 0xc7) return reg === 1; // CMPXCHG8B/16B
  }
  return false;
}

export function hex(b: Uint8Array | number[], n = b.length): string {
  return Array.from(b.slice(0, n), (x) => x.toString(16).padStart(2, '0')).join(' ');
}
