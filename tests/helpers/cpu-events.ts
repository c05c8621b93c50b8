// Helpers for tests that take exceptions and interrupts: a 64-bit IDT whose every vector has its own
// handler address (so the vector taken can be read off RIP), gate writers for IST / DPL / trap gates,
// a 64-bit TSS, and stepping until a handler is entered. State is set directly; nothing here computes
// an expected value.
import type { Harness } from './cpu-harness.ts';
import { CODE } from './cpu-harness.ts';
import { step } from '../../emulator/cpu/exec.ts';
import { StopReason, RSP, TR, CS, SS } from '../../emulator/cpu/state.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';

export const IDT_BASE = 0x8000;
/** Vector v's handler lives at HANDLERS + v * 16 (a HLT there; tests stop stepping on arrival). */
export const HANDLERS = 0x90000;
export const TSS_BASE = 0x7000;

export interface GateOpts { sel?: number; type?: number; dpl?: number; present?: boolean; ist?: number }

/** Write one 16-byte IA-32e gate (SDM Vol. 3A 6.14.1, Figure 6-8). */
export function gate64(h: Harness, vec: number, target: number, o: GateOpts = {}): void {
  const a = IDT_BASE + vec * 16;
  const sel = o.sel ?? 0x08, type = o.type ?? 0xe, dpl = o.dpl ?? 0, p = o.present ?? true, ist = o.ist ?? 0;
  const v = h.mem.view;
  v.setUint32(a, ((sel & 0xffff) << 16 | (target & 0xffff)) >>> 0, true);
  v.setUint32(a + 4, ((target & 0xffff0000) | (p ? 0x8000 : 0) | (dpl << 13) | (type << 8) | (ist & 7)) >>> 0, true);
  v.setUint32(a + 8, Math.floor(target / 2 ** 32) >>> 0, true);
  v.setUint32(a + 12, 0, true);
}

/** All 256 vectors → distinct handlers (interrupt gates, DPL 0, selector 0x08), each a HLT. */
export function setupIdt64(h: Harness): void {
  for (let v = 0; v < 256; v++) {
    gate64(h, v, HANDLERS + v * 16);
    h.mem.u8[HANDLERS + v * 16] = 0xf4;
  }
  h.cpu.idtBase = IDT_BASE; h.cpu.idtLimit = 256 * 16 - 1;
}

export function handlerVector(rip: number): number {
  const d = rip - HANDLERS;
  return d >= 0 && d < 256 * 16 && d % 16 === 0 ? d / 16 : -1;
}

/**
 * Load `code` at `at` (default CODE), set RIP there and step until a handler is entered, RIP
 * reaches the end of the code, the CPU stops, or `max` steps. Returns the vector entered or -1.
 */
export function runToHandler(h: Harness, code: number[], max = 100, at = CODE): number {
  h.mem.load(at, Uint8Array.from(code));
  h.cpu.flushDecodeCache();
  h.cpu.rip = at;
  const end = at + code.length;
  for (let n = 0; n < max; n++) {
    if (h.cpu.stop !== StopReason.None || h.cpu.rip === end) return -1;
    step(h.cpu);
    const v = handlerVector(h.cpu.rip);
    if (v >= 0) return v;
  }
  return -1;
}

/** Read a 64-bit little-endian value from physical memory. */
export function q(h: Harness, pa: number): bigint { return h.mem.view.getBigUint64(pa, true); }
export function wq(h: Harness, pa: number, v: bigint): void { h.mem.view.setBigUint64(pa, BigInt.asUintN(64, v), true); }

/** The 64-bit RSP as a number (the tests keep stacks in low memory). */
export function rsp(h: Harness): number { return Number(h.reg(RSP)); }

/** Qword k of the current stack (k = 0 is at RSP). */
export function stackQ(h: Harness, k: number): bigint { return q(h, rsp(h) + 8 * k); }

/** A 64-bit TSS at TSS_BASE (SDM Vol. 3A 8.7, Figure 8-11): RSP0..2 at 4, 12, 20; IST1..7 at 0x24 + 8(n-1). */
export function setupTss64(h: Harness, rsp0: number, ist: number[] = [], limit = 0x67): void {
  for (let k = 0; k < 0x68; k++) h.mem.u8[TSS_BASE + k] = 0;
  h.mem.view.setBigUint64(TSS_BASE + 4, BigInt(rsp0), true);
  ist.forEach((v, k) => h.mem.view.setBigUint64(TSS_BASE + 0x24 + 8 * k, BigInt(v), true));
  h.cpu.segSel[TR] = 0x40; h.cpu.segBase[TR] = TSS_BASE; h.cpu.segLimit[TR] = limit; h.cpu.segAttr[TR] = 0x8b;
}

/**
 * Switch to CPL 3 in 64-bit mode: DPL-3 data (0x20) and 64-bit code (0x28) descriptors appended to
 * the harness GDT, U/S = 1 on the harness identity map (PML4E, PDPTE, every PDE), CS = 0x2b, SS = 0x23.
 * CPL is CS.RPL (updateMode). The caller sets up a TSS (setupTss64) if events must reach CPL 0.
 */
export function enterUser(h: Harness): void {
  const v = h.mem.view;
  v.setUint32(0x500 + 0x20, 0x0000ffff, true); v.setUint32(0x500 + 0x24, 0x00cff200, true); // data, DPL 3
  v.setUint32(0x500 + 0x28, 0x0000ffff, true); v.setUint32(0x500 + 0x2c, 0x00affa00, true); // 64-bit code, DPL 3
  h.cpu.gdtLimit = 0x2f;
  v.setUint32(0x1000, v.getUint32(0x1000, true) | 4, true);
  v.setUint32(0x2000, v.getUint32(0x2000, true) | 4, true);
  for (let k = 0; k < 512; k++) v.setUint32(0x3000 + 8 * k, v.getUint32(0x3000 + 8 * k, true) | 4, true);
  const c = h.cpu;
  c.segSel[CS] = 0x2b; c.segAttr[CS] = 0xa0fb; c.segBase[CS] = 0; c.segLimit[CS] = 0xffffffff;
  c.segSel[SS] = 0x23; c.segAttr[SS] = 0xc0f3; c.segBase[SS] = 0; c.segLimit[SS] = 0xffffffff;
  updateMode(c);
  c.tlb.flushAll();
}
