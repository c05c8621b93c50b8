// VMX test harness: a 64-bit CPU (tests/helpers/cpu-harness.ts) with VMX enabled (CR4.VMXE,
// IA32_FEATURE_CONTROL locked with VMXON outside SMX), fixed physical regions for the VMXON region,
// VMCSs, bitmaps and guest code, and a VMCS builder that fills a valid 64-bit guest and host state
// the way a hypervisor would. Nothing here computes an expected value.
import { makeCpu, type Harness, CODE } from '../helpers/cpu-harness.ts';
import '../../emulator/vmx/index.ts';
import { Cpu, StopReason, RSP, TR } from '../../emulator/cpu/state.ts';
import { step, run } from '../../emulator/cpu/exec.ts';
import { FAULT } from '../../emulator/cpu/fault.ts';
import { fetchDecode } from '../../emulator/cpu/decoder.ts';
import { getRflags } from '../../emulator/cpu/flags.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';
import * as F from '../../emulator/vmx/fields.ts';
import { vmcsRead, vmcsReadNum, vmcsWrite, vmcsWriteNum, vmcsHi } from '../../emulator/vmx/vmcs.ts';
import { VMCS_REVISION, capabilityMsr } from '../../emulator/vmx/capabilities.ts';
import type { Vmx } from '../../emulator/vmx/state.ts';
import { Asm } from './asm.ts';

export const VMXON_REGION = 0x400000;
export const VMCS = 0x401000;
export const VMCS2 = 0x402000;
export const IO_BITMAP_A = 0x403000;
export const IO_BITMAP_B = 0x404000;
export const MSR_BITMAP = 0x405000;
export const MSR_AREA = 0x406000;
export const SCRATCH = 0x407000;
/** Where enterRoot keeps the VMXON and VMCS pointers. */
export const PTRS = 0x408000;
export const GUEST_CODE = 0x500000;
export const GUEST_STACK = 0x510000;
export const GUEST_IDT = 0x520000;
export const GUEST_HANDLERS = 0x530000;
export const HOST_EXIT = CODE + 0x800;
export const HOST_STACK = 0x70000;
export const TSS_BASE = 0x7000;

// RFLAGS arithmetic bits the VMX status conventions use.
export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
export const ARITH = CF | PF | AF | ZF | SF | OF;

export interface VmxHarness extends Harness {
  /** The Vmx state (after the first VMX instruction). */
  vmx(): Vmx;
}

/** 64-bit CPU, CR4.VMXE = 1, IA32_FEATURE_CONTROL = lock | VMXON outside SMX, revision ids written. */
export function makeVmxCpu(): VmxHarness {
  const h = makeCpu('long64') as VmxHarness;
  h.cpu.cr4 |= 0x2000;
  h.cpu.featureControl = 5;
  h.vmx = () => h.cpu.vmx as Vmx;
  for (const a of [VMXON_REGION, VMCS, VMCS2]) h.mem.view.setUint32(a, VMCS_REVISION, true);
  // A 64-bit TSS descriptor at GDT+0x20 (the harness GDT is at 0x500) for the guest's TR.
  const v = h.mem.view;
  v.setUint32(0x520, (TSS_BASE << 16) | 0x67, true);
  v.setUint32(0x524, 0x00008b00 | ((TSS_BASE >>> 16) & 0xff), true);
  v.setUint32(0x528, 0, true); v.setUint32(0x52c, 0, true);
  h.cpu.gdtLimit = 0x2f;
  h.cpu.segSel[TR] = 0x20; h.cpu.segBase[TR] = TSS_BASE; h.cpu.segLimit[TR] = 0x67; h.cpu.segAttr[TR] = 0x8b;
  h.cpu.rl[RSP] = HOST_STACK;
  return h;
}

export interface Outcome { vec: number; code: number }

/** Execute the instruction at RIP once; a fault is returned (not delivered). A VM exit unwinds with vec -1. */
export function stepRaw(c: Cpu): Outcome {
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

/** Load `a`'s code at its origin, set RIP there, and execute `n` instructions raw; the last outcome. */
export function execRaw(h: Harness, a: Asm, n = 1): Outcome {
  h.mem.load(a.origin, a.bytes());
  h.cpu.flushDecodeCache();
  h.cpu.rip = a.origin;
  let r: Outcome = { vec: -1, code: 0 };
  for (let k = 0; k < n; k++) { r = stepRaw(h.cpu); if (r.vec >= 0) break; }
  return r;
}

/** The six arithmetic flags after an instruction. */
export function arith(h: Harness): number { return getRflags(h.cpu) & ARITH; }

/** Make the CPU execute at CPL 3 (user-accessible identity paging, CS/SS RPL 3). */
export function toCpl3(h: Harness): void {
  const v = h.mem.view;
  v.setUint32(0x1000, 0x2007, true);
  v.setUint32(0x2000, 0x3007, true);
  for (let k = 0; k < 512; k++) v.setUint32(0x3000 + k * 8, (k * 0x200000) | 0x87, true);
  h.cpu.segSel[1] = 0x2b; h.cpu.segAttr[1] = 0xa0fb;
  h.cpu.segSel[2] = 0x23; h.cpu.segAttr[2] = 0xc0f3;
  updateMode(h.cpu);
  h.cpu.tlb.flushAll();
}

/** Do VMXON + VMCLEAR + VMPTRLD through the instructions (the usual start of every test). */
export function enterRoot(h: VmxHarness, vmcs = VMCS): void {
  // The operands are memory locations holding the physical addresses (SDM 30.3).
  h.mem.view.setBigUint64(PTRS, BigInt(VMXON_REGION), true);
  h.mem.view.setBigUint64(PTRS + 8, BigInt(vmcs), true);
  const a = new Asm(CODE + 0x700).movImm(0, PTRS).vmxon(0).movImm(0, PTRS + 8).vmclear(0).vmptrld(0);
  const r = execRaw(h, a, 5);
  if (r.vec >= 0 || (arith(h) & (CF | ZF))) throw new Error(`enterRoot failed: vec ${r.vec}, flags 0x${arith(h).toString(16)}`);
}

// ---- VMCS helpers (direct access through vmx/vmcs.ts, as the TypeScript hypervisor does)
export function wr(h: Harness, enc: number, v: number | bigint, vmcs = VMCS): void {
  if (typeof v === 'bigint') {
    const u = BigInt.asUintN(64, v);
    vmcsWrite(h.cpu, vmcs, enc, Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0);
  } else if (F.fieldWidth(enc) === F.W64 || F.fieldWidth(enc) === F.WNAT) vmcsWriteNum(h.cpu, vmcs, enc, v);
  else vmcsWrite(h.cpu, vmcs, enc, v | 0);
}
export function rd(h: Harness, enc: number, vmcs = VMCS): number {
  const w = F.fieldWidth(enc);
  if (w === F.W64 || w === F.WNAT) return vmcsReadNum(h.cpu, vmcs, enc);
  return vmcsRead(h.cpu, vmcs, enc) >>> 0;
}
export function rd64(h: Harness, enc: number, vmcs = VMCS): bigint {
  const lo = vmcsRead(h.cpu, vmcs, enc);
  return (BigInt(vmcsHi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** must-1 bits of a capability MSR (allowed-0 settings). */
export function must1(msr: number): number { return capabilityMsr(msr)![0] >>> 0; }

export interface GuestOpts {
  pin?: number; proc?: number; proc2?: number; exit?: number; entry?: number;
  rip?: number; rflags?: number;
}

/**
 * Fill `vmcs` with a valid 64-bit guest (identity paging of the harness, flat segments, RIP at
 * GUEST_CODE) and the host state of the current CPU with host RIP = HOST_EXIT. Controls are the
 * must-1 settings of the TRUE capability MSRs plus what `o` adds.
 */
export function buildVmcs(h: Harness, o: GuestOpts = {}, vmcs = VMCS): void {
  const c = h.cpu;
  const w = (enc: number, v: number | bigint) => wr(h, enc, v, vmcs);
  w(F.PIN_CTLS, must1(0x48d) | (o.pin ?? 0));
  w(F.PROC_CTLS, must1(0x48e) | (o.proc ?? 0) | (o.proc2 !== undefined ? 0x80000000 : 0));
  if (o.proc2 !== undefined) w(F.PROC_CTLS2, o.proc2);
  w(F.EXIT_CTLS, must1(0x48f) | 0x200 | (o.exit ?? 0)); // host address-space size
  w(F.ENTRY_CTLS, must1(0x490) | 0x200 | (o.entry ?? 0)); // IA-32e mode guest
  w(F.EXCEPTION_BITMAP, 0); w(F.PFEC_MASK, 0); w(F.PFEC_MATCH, 0); w(F.CR3_TARGET_COUNT, 0);
  w(F.ENTRY_INTR_INFO, 0); w(F.EXIT_MSR_STORE_COUNT, 0); w(F.EXIT_MSR_LOAD_COUNT, 0); w(F.ENTRY_MSR_LOAD_COUNT, 0);
  w(F.VMCS_LINK_POINTER, -1n);
  w(F.IO_BITMAP_A, IO_BITMAP_A); w(F.IO_BITMAP_B, IO_BITMAP_B); w(F.MSR_BITMAP, MSR_BITMAP);
  // Host state = the CPU as it is now (64-bit, CPL 0).
  w(F.HOST_CR0, c.cr0 >>> 0); w(F.HOST_CR3, c.cr3); w(F.HOST_CR4, c.cr4 >>> 0);
  w(F.HOST_CS_SEL, 0x08); w(F.HOST_SS_SEL, 0x10); w(F.HOST_DS_SEL, 0x10); w(F.HOST_ES_SEL, 0x10);
  w(F.HOST_FS_SEL, 0); w(F.HOST_GS_SEL, 0); w(F.HOST_TR_SEL, 0x20);
  w(F.HOST_FS_BASE, 0); w(F.HOST_GS_BASE, 0); w(F.HOST_TR_BASE, TSS_BASE);
  w(F.HOST_GDTR_BASE, c.gdtBase); w(F.HOST_IDTR_BASE, c.idtBase);
  w(F.HOST_SYSENTER_CS, 0); w(F.HOST_SYSENTER_ESP, 0); w(F.HOST_SYSENTER_EIP, 0);
  w(F.HOST_RSP, HOST_STACK); w(F.HOST_RIP, HOST_EXIT);
  // Guest state: 64-bit mode, the harness page tables, flat segments.
  w(F.GUEST_CR0, 0x80000031); w(F.GUEST_CR3, 0x1000); w(F.GUEST_CR4, 0x2020);
  w(F.GUEST_DR7, 0x400);
  const seg = (sel: number, base: number, limit: number, ar: number, k: number) => {
    w(F.GUEST_ES_SEL + 2 * k, sel); w(F.GUEST_ES_BASE + 2 * k, base); w(F.GUEST_ES_LIMIT + 2 * k, limit); w(F.GUEST_ES_AR + 2 * k, ar);
  };
  seg(0x10, 0, 0xffffffff, 0xc093, 0); // ES
  seg(0x08, 0, 0xffffffff, 0xa09b, 1); // CS: 64-bit code
  seg(0x10, 0, 0xffffffff, 0xc093, 2); // SS
  seg(0x10, 0, 0xffffffff, 0xc093, 3); // DS
  seg(0, 0, 0, 0x10000, 4); // FS unusable
  seg(0, 0, 0, 0x10000, 5); // GS unusable
  seg(0, 0, 0, 0x10000, 6); // LDTR unusable
  seg(0x20, TSS_BASE, 0x67, 0x8b, 7); // TR: busy 64-bit TSS
  w(F.GUEST_GDTR_BASE, 0x500); w(F.GUEST_GDTR_LIMIT, 0x2f);
  w(F.GUEST_IDTR_BASE, GUEST_IDT); w(F.GUEST_IDTR_LIMIT, 0xfff);
  w(F.GUEST_RSP, GUEST_STACK); w(F.GUEST_RIP, o.rip ?? GUEST_CODE); w(F.GUEST_RFLAGS, o.rflags ?? 2);
  w(F.GUEST_ACTIVITY, 0); w(F.GUEST_INTERRUPTIBILITY, 0); w(F.GUEST_PENDING_DBG, 0);
  w(F.GUEST_SYSENTER_CS, 0); w(F.GUEST_SYSENTER_ESP, 0); w(F.GUEST_SYSENTER_EIP, 0);
}

/** Guest IDT: every vector → its own handler at GUEST_HANDLERS + 16 * vector, each a HLT. */
export function guestIdt(h: Harness): void {
  for (let vec = 0; vec < 256; vec++) {
    const a = GUEST_IDT + vec * 16, t = GUEST_HANDLERS + vec * 16;
    h.mem.view.setUint32(a, (0x08 << 16) | (t & 0xffff), true);
    h.mem.view.setUint32(a + 4, ((t >>> 16) << 16) | 0x8e00, true);
    h.mem.view.setUint32(a + 8, 0, true);
    h.mem.view.setUint32(a + 12, 0, true);
    h.mem.u8[t] = 0xf4;
  }
}

/**
 * Put `guest` at GUEST_CODE (or its origin), a VMLAUNCH (or VMRESUME) at CODE and a HLT at HOST_EXIT,
 * and step until the host reaches HOST_EXIT (a VM exit or VM-entry failure), the CPU stops, or
 * `max` steps. Returns the outcome of the VMLAUNCH step if it did not enter (VMfail or fault).
 */
export function launch(h: VmxHarness, guest: Asm | null, resume = false, max = 10000): { entered: boolean; vec: number } {
  if (guest !== null) h.mem.load(guest.origin, guest.bytes());
  const host = new Asm(CODE);
  if (resume) host.vmresume(); else host.vmlaunch();
  h.mem.load(CODE, host.bytes());
  h.mem.u8[HOST_EXIT] = 0xf4;
  h.cpu.flushDecodeCache();
  h.cpu.rip = CODE;
  // step (not stepRaw): a fault while delivering an injected event is handled as in the guest.
  const ev = h.cpu.exceptionCounts.reduce((x, y) => x + y, 0);
  step(h.cpu);
  if (!h.cpu.vmxNonRoot && h.cpu.rip === CODE + host.b.length) return { entered: false, vec: -1 }; // VMfail
  if (!h.cpu.vmxNonRoot && h.cpu.rip !== HOST_EXIT && h.cpu.exceptionCounts.reduce((x, y) => x + y, 0) !== ev) {
    return { entered: false, vec: h.cpu.exceptionCounts.findIndex((n) => n > 0) }; // VMLAUNCH itself faulted
  }
  for (let n = 0; n < max && h.cpu.rip !== HOST_EXIT && h.cpu.stop === StopReason.None; n++) step(h.cpu);
  return { entered: true, vec: -1 };
}

/** Like launch, but with the real run loop (deadlines, the preemption timer). */
export function launchRun(h: VmxHarness, guest: Asm, limit = 1_000_000): StopReason {
  h.mem.load(guest.origin, guest.bytes());
  const host = new Asm(CODE).vmlaunch();
  h.mem.load(CODE, host.bytes());
  h.mem.u8[HOST_EXIT] = 0xf4;
  h.cpu.flushDecodeCache();
  h.cpu.rip = CODE;
  const hooks = { onDeadline: () => Infinity };
  // Run until the host's HLT at HOST_EXIT (HLT with no timer stops the loop) or the limit.
  return run(h.cpu, hooks, h.cpu.icount + limit);
}

export { F, step, run };
