// Helpers for the system-behaviour suite (tests/system): machines in each mode with an IDT whose
// vectors each have their own handler (so the vector taken can be read off RIP), ring-3 set-ups
// through a TSS, frame readers and CPUID. State is set directly; nothing here computes an
// expected value — the tests hold those, worked by hand from the SDM.
import { makeCpu, type Harness } from '../helpers/cpu-harness.ts';
import { setupIdt64, stackQ, rsp, HANDLERS, IDT_BASE, TSS_BASE } from '../helpers/cpu-events.ts';
import { exec1 } from '../cpu/sys-helpers.ts';
import { RAX, RBX, RCX, RDX, RSP, CS, SS, TR } from '../../emulator/cpu/state.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';

export { HANDLERS, IDT_BASE, TSS_BASE, stackQ, rsp };

/** Vectors (SDM Vol. 3A 6.3.1, Table 6-1). */
export const V = { DE: 0, DB: 1, BP: 3, OF: 4, BR: 5, UD: 6, NM: 7, DF: 8, TS: 10, NP: 11, SS: 12, GP: 13, PF: 14, XM: 19 } as const;

/** A stack well inside the identity-mapped RAM, 16-byte aligned. */
export const S = 0x7ff00;

/** 64-bit mode, CPL 0, every vector to its own HLT handler (interrupt gates, selector 0x08), RSP = S. */
export function long64(): Harness {
  const h = makeCpu('long64');
  setupIdt64(h);
  h.setReg(RSP, BigInt(S));
  return h;
}

/** The 64-bit interrupt frame at RSP (SDM Vol. 3A 6.14.2, Figure 6-9). */
export function frame64(h: Harness, withCode: boolean) {
  const k = withCode ? 1 : 0;
  return {
    code: withCode ? stackQ(h, 0) : undefined,
    rip: stackQ(h, k), cs: stackQ(h, k + 1), rflags: stackQ(h, k + 2), rsp: stackQ(h, k + 3), ss: stackQ(h, k + 4),
  };
}

/** Raw 64-bit value in physical memory. */
export function q(h: Harness, pa: number): bigint { return h.mem.view.getBigUint64(pa, true); }
export function wq(h: Harness, pa: number, v: bigint | number): void { h.mem.view.setBigUint64(pa, BigInt.asUintN(64, BigInt(v)), true); }
export function d(h: Harness, pa: number): number { return h.mem.view.getUint32(pa, true); }
export function wd(h: Harness, pa: number, v: number): void { h.mem.view.setUint32(pa, v >>> 0, true); }

/** 8-byte code/data descriptor (SDM Vol. 3A 3.4.5, Figure 3-8) in the harness GDT at 0x500. */
export function gdtEntry(h: Harness, sel: number, access: number, flags: number, base = 0, limit = 0xfffff): void {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  wd(h, 0x500 + (sel & 0xfff8), lo);
  wd(h, 0x500 + (sel & 0xfff8) + 4, hi);
  if ((sel | 7) > h.cpu.gdtLimit) h.cpu.gdtLimit = sel | 7;
}

// ------------------------------------------------------------------------- 32-bit protected mode

/** 8-byte 32-bit gate (SDM Vol. 3A 6.11, Figure 6-2): type 0xE interrupt, 0xF trap. */
export function gate32(h: Harness, vec: number, target: number, o: { sel?: number; type?: number; dpl?: number; present?: boolean } = {}): void {
  const sel = o.sel ?? 0x18, type = o.type ?? 0xe, dpl = o.dpl ?? 0, p = o.present ?? true;
  wd(h, IDT_BASE + vec * 8, (sel << 16) | (target & 0xffff));
  wd(h, IDT_BASE + vec * 8 + 4, (target & 0xffff0000) | (p ? 0x8000 : 0) | (dpl << 13) | (type << 8));
}

/**
 * 32-bit protected mode (harness 'prot32': CS 0x18 32-bit code, data 0x10), IDT of 256 32-bit
 * interrupt gates to the per-vector HLT handlers, ESP = S. GDT additions: 0x20 data DPL 3,
 * 0x28 32-bit code DPL 3. A 32-bit TSS at TSS_BASE (selector 0x40) with ESP0 = 0x60000, SS0 = 0x10.
 */
export function prot32(): Harness {
  const h = makeCpu('prot32');
  for (let v = 0; v < 256; v++) { gate32(h, v, HANDLERS + v * 16); h.mem.u8[HANDLERS + v * 16] = 0xf4; }
  h.cpu.idtBase = IDT_BASE; h.cpu.idtLimit = 256 * 8 - 1;
  gdtEntry(h, 0x20, 0xf2, 0xc);
  gdtEntry(h, 0x28, 0xfa, 0xc);
  for (let k = 0; k < 0x68; k++) h.mem.u8[TSS_BASE + k] = 0;
  wd(h, TSS_BASE + 4, 0x60000); wd(h, TSS_BASE + 8, 0x10);
  const c = h.cpu;
  c.segSel[TR] = 0x40; c.segBase[TR] = TSS_BASE; c.segLimit[TR] = 0x67; c.segAttr[TR] = 0x8b;
  h.setReg(RSP, BigInt(S));
  return h;
}

/** Switch a prot32() machine to CPL 3 (CS 0x2b, SS 0x23). */
export function user32(h: Harness): void {
  const c = h.cpu;
  c.segSel[CS] = 0x2b; c.segAttr[CS] = 0xc0fb; c.segBase[CS] = 0; c.segLimit[CS] = 0xffffffff;
  c.segSel[SS] = 0x23; c.segAttr[SS] = 0xc0f3; c.segBase[SS] = 0; c.segLimit[SS] = 0xffffffff;
  updateMode(c);
}

// ------------------------------------------------------------------------- CPUID

/** CPUID as the instruction (in 64-bit mode): [EAX, EBX, ECX, EDX] unsigned. */
export function cpuid(h: Harness, leaf: number, sub = 0): [number, number, number, number] {
  h.setReg(RAX, BigInt(leaf >>> 0)); h.setReg(RCX, BigInt(sub));
  const r = exec1(h, [0x0f, 0xa2]);
  if (r.vec !== -1) throw new Error(`CPUID raised vector ${r.vec}`);
  return [Number(h.reg(RAX)), Number(h.reg(RBX)), Number(h.reg(RCX)), Number(h.reg(RDX))];
}

/** Four little-endian ASCII characters of a register value. */
export function chars(...regs: number[]): string {
  return regs.map((r) => String.fromCharCode(r & 0xff, (r >>> 8) & 0xff, (r >>> 16) & 0xff, r >>> 24)).join('');
}

export { RAX, RBX, RCX, RDX, RSP };
