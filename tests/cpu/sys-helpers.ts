// Helpers shared by the string/system tests: run one instruction and report a fault without
// delivering it (so no IDT is needed), build descriptors and page tables by hand.
import type { Harness } from '../helpers/cpu-harness.ts';
import { CODE } from '../helpers/cpu-harness.ts';
import { fetchDecode } from '../../emulator/cpu/decoder.ts';
import { FAULT } from '../../emulator/cpu/fault.ts';

export interface Outcome { vec: number; code: number }

/** Execute the instruction at RIP once; a fault is returned instead of delivered. */
export function stepRaw(h: Harness): Outcome {
  const c = h.cpu;
  try {
    const ins = fetchDecode(c);
    c.nextRip = c.rip + ins.len;
    ins.exec(c, ins);
    c.rip = c.nextRip;
    c.icount++;
    return { vec: -1, code: 0 };
  } catch (e) {
    if (e !== FAULT) throw e;
    const r = { vec: c.excVector, code: c.excCode };
    c.excVector = -1;
    return r;
  }
}

/** Load `bytes` at `at` (default CODE), point RIP there and execute one instruction raw. */
export function exec1(h: Harness, bytes: number[], at = CODE): Outcome {
  h.mem.load(at, Uint8Array.from(bytes));
  h.cpu.flushDecodeCache();
  h.cpu.rip = at;
  return stepRaw(h);
}

/** Load code at `at` and set RIP, without executing. */
export function load(h: Harness, bytes: number[], at = CODE): void {
  h.mem.load(at, Uint8Array.from(bytes));
  h.cpu.flushDecodeCache();
  h.cpu.rip = at;
}

/** Run raw steps until RIP == end or a fault; returns the fault (vec -1 if none). */
export function runTo(h: Harness, end: number, max = 100000): Outcome {
  for (let n = 0; n < max; n++) {
    if (h.cpu.rip === end) return { vec: -1, code: 0 };
    const r = stepRaw(h);
    if (r.vec >= 0) return r;
  }
  throw new Error(`did not reach 0x${end.toString(16)}; rip=0x${h.cpu.rip.toString(16)}`);
}

/** Write an 8-byte segment descriptor (SDM Vol. 3A 3.4.5, Figure 3-8). */
export function putDescriptor(h: Harness, addr: number, base: number, limit: number, access: number, flags: number): void {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  h.mem.view.setUint32(addr, lo >>> 0, true);
  h.mem.view.setUint32(addr + 4, hi >>> 0, true);
}

export function rd64(h: Harness, addr: number): bigint { return h.mem.view.getBigUint64(addr, true); }
export function wr64(h: Harness, addr: number, v: bigint): void { h.mem.view.setBigUint64(addr, BigInt.asUintN(64, v), true); }

/** GDT used by the system tests (at 0x600). Selectors: */
export const GDT = 0x600;
export const K_CODE64 = 0x08, K_DATA = 0x10, K_CODE32 = 0x18, U_DATA = 0x20, U_CODE64 = 0x28, U_CODE32 = 0x30,
  TSS_SEL = 0x38, LDT_SEL = 0x68, NP_CODE = 0x50, GATE_SEL = 0x58, SMALL_CODE = 0x60;
export const TSS = 0x7000;

/**
 * Flat descriptors (SDM Vol. 3A 3.4.5): kernel 64/32-bit code and data (DPL 0), user 64/32-bit code
 * and data (DPL 3), an available TSS (16 bytes in IA-32e form; its upper half is zero), an LDT, a
 * not-present code segment and a code segment with a 4 KiB byte-granular limit.
 */
export function setupGdt(h: Harness): void {
  h.mem.u8.fill(0, GDT, GDT + 0x80);
  const d = (sel: number, base: number, limit: number, access: number, flags: number): void =>
    putDescriptor(h, GDT + sel, base, limit, access, flags);
  d(K_CODE64, 0, 0xfffff, 0x9a, 0xa);
  d(K_DATA, 0, 0xfffff, 0x92, 0xc);
  d(K_CODE32, 0, 0xfffff, 0x9a, 0xc);
  d(U_DATA, 0, 0xfffff, 0xf2, 0xc);
  d(U_CODE64, 0, 0xfffff, 0xfa, 0xa);
  d(U_CODE32, 0, 0xfffff, 0xfa, 0xc);
  d(TSS_SEL, TSS, 0x67, 0x89, 0);
  d(LDT_SEL, 0x6800, 0xff, 0x82, 0);
  d(NP_CODE, 0, 0xfffff, 0x1a, 0xc);
  d(SMALL_CODE, 0, 0xfff, 0x9a, 0x4);
  h.cpu.gdtBase = GDT; h.cpu.gdtLimit = 0x7f;
}

/** Identity-map 0..1 GiB with 2 MiB user-accessible pages (the harness tables, with U/S set). */
export function userPaging(h: Harness): void {
  const v = h.mem.view;
  v.setUint32(0x1000, 0x2007, true);
  v.setUint32(0x2000, 0x3007, true);
  for (let k = 0; k < 512; k++) v.setUint32(0x3000 + k * 8, (k * 0x200000) | 0x87, true);
  h.cpu.tlb.flushAll();
}
