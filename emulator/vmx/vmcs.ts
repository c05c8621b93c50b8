// VMCS access: read and write a component of a VMCS region in emulated physical memory (the layout
// is fields.ts), and the cache of hot control fields refreshed at VM entry. VMREAD/VMWRITE, VM entry,
// VM exit and the TypeScript hypervisor all go through these functions; nothing else knows offsets.
//
// Values travel as 32-bit halves (lo, and vmcsHi for the upper half of 64-bit/natural-width fields),
// or as numbers for address-like fields: a 64-bit value whose high half is read as signed becomes a
// sign-extended double, exact for canonical addresses and physical addresses (ARCHITECTURE.md).
import type { Cpu } from '../cpu/state.ts';
import {
  fieldOffset, fieldWidth, accessWidth, W16, W32, OFF_LAUNCH,
  PIN_CTLS, PROC_CTLS, PROC_CTLS2, EXIT_CTLS, ENTRY_CTLS, EXCEPTION_BITMAP, PFEC_MASK, PFEC_MATCH,
  CR0_GUEST_HOST_MASK, CR4_GUEST_HOST_MASK, CR0_READ_SHADOW, CR4_READ_SHADOW, CR3_TARGET_COUNT, CR3_TARGET0,
  IO_BITMAP_A, IO_BITMAP_B, MSR_BITMAP, TSC_OFFSET, VPID, VM_INSTRUCTION_ERROR,
} from './fields.ts';
import type { Vmx } from './state.ts';
import { PROC_SECONDARY } from './capabilities.ts';
import { features } from './features.ts';

const TWO32 = 4294967296;

/** High half of the last 64-bit/natural-width read. */
export let vmcsHi = 0;

function rd32p(c: Cpu, pa: number): number { return c.mem.read(pa, 4) | 0; }
function wr32p(c: Cpu, pa: number, v: number): void { c.mem.write(pa, 4, v >>> 0); }

/** Read the component `enc` (known to be supported) of the VMCS at `base`: low half returned, high in vmcsHi. */
export function vmcsRead(c: Cpu, base: number, enc: number): number {
  const off = fieldOffset(enc);
  if (off < 0) throw new Error(`VMCS component 0x${enc.toString(16)} is not supported`);
  return readAt(c, base + off, accessWidth(enc));
}

/** Read by offset and access width (W16/W32/W64/WNAT). */
export function readAt(c: Cpu, pa: number, width: number): number {
  if (width === W16) { vmcsHi = 0; return c.mem.read(pa, 2); }
  if (width === W32) { vmcsHi = 0; return rd32p(c, pa); }
  vmcsHi = rd32p(c, pa + 4);
  return rd32p(c, pa);
}

/** Write by offset and access width; a narrower field keeps only its bits. */
export function writeAt(c: Cpu, pa: number, width: number, lo: number, hi: number): void {
  if (width === W16) { c.mem.write(pa, 2, lo & 0xffff); return; }
  wr32p(c, pa, lo);
  if (width !== W32) wr32p(c, pa + 4, hi);
}

export function vmcsWrite(c: Cpu, base: number, enc: number, lo: number, hi = 0): void {
  const off = fieldOffset(enc);
  if (off < 0) throw new Error(`VMCS component 0x${enc.toString(16)} is not supported`);
  writeAt(c, base + off, accessWidth(enc), lo, hi);
}

/** A 16/32-bit component as an unsigned number. */
export function vmcsRead32(c: Cpu, base: number, enc: number): number { return vmcsRead(c, base, enc) >>> 0; }

/** A 64-bit/natural-width component as a number (high half signed: sign-extended double). */
export function vmcsReadNum(c: Cpu, base: number, enc: number): number {
  const lo = vmcsRead(c, base, enc);
  return vmcsHi * TWO32 + (lo >>> 0);
}

/** Write a number (an integer with |v| < 2^53, negative = two's complement) to a component. */
export function vmcsWriteNum(c: Cpu, base: number, enc: number, v: number): void {
  const hi = Math.floor(v / TWO32);
  vmcsWrite(c, base, enc, (v - hi * TWO32) | 0, hi | 0);
}

/** Does the component exist for width purposes (used by VMREAD/VMWRITE)? Re-exported for callers. */
export { fieldOffset, fieldWidth };

// ---- launch state and the VM-instruction error field

export function launchState(c: Cpu, base: number): number { return rd32p(c, base + OFF_LAUNCH); }
export function setLaunchState(c: Cpu, base: number, launched: boolean): void { wr32p(c, base + OFF_LAUNCH, launched ? 1 : 0); }

export function setInstructionError(c: Cpu, base: number, err: number): void {
  vmcsWrite(c, base, VM_INSTRUCTION_ERROR, err);
}

/**
 * Refresh the cached controls from the current VMCS (at VM entry, before the checks). The cache is
 * what non-root operation consults; the guest cannot change the VMCS while it runs (VMWRITE exits).
 */
export function loadControls(c: Cpu, v: Vmx, base: number): void {
  v.pin = vmcsRead(c, base, PIN_CTLS);
  v.proc = vmcsRead(c, base, PROC_CTLS);
  v.proc2 = (v.proc & PROC_SECONDARY) !== 0 ? vmcsRead(c, base, PROC_CTLS2) : 0;
  v.exitCtls = vmcsRead(c, base, EXIT_CTLS);
  v.entryCtls = vmcsRead(c, base, ENTRY_CTLS);
  v.excBitmap = vmcsRead(c, base, EXCEPTION_BITMAP);
  v.pfecMask = vmcsRead(c, base, PFEC_MASK);
  v.pfecMatch = vmcsRead(c, base, PFEC_MATCH);
  v.cr0Mask = vmcsRead(c, base, CR0_GUEST_HOST_MASK); v.cr0MaskHi = vmcsHi;
  v.cr4Mask = vmcsRead(c, base, CR4_GUEST_HOST_MASK); v.cr4MaskHi = vmcsHi;
  v.cr0Shadow = vmcsRead(c, base, CR0_READ_SHADOW); v.cr0ShadowHi = vmcsHi;
  v.cr4Shadow = vmcsRead(c, base, CR4_READ_SHADOW); v.cr4ShadowHi = vmcsHi;
  v.cr3Count = vmcsRead32(c, base, CR3_TARGET_COUNT);
  for (let k = 0; k < 4; k++) v.cr3Targets[k] = vmcsReadNum(c, base, CR3_TARGET0 + 2 * k);
  v.ioBitmapA = vmcsReadNum(c, base, IO_BITMAP_A);
  v.ioBitmapB = vmcsReadNum(c, base, IO_BITMAP_B);
  v.msrBitmap = vmcsReadNum(c, base, MSR_BITMAP);
  v.tscOffset = vmcsReadNum(c, base, TSC_OFFSET);
  v.vpid = features.vpid ? vmcsRead(c, base, VPID) : 0;
}
