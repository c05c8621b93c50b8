// The vCPU register file as the hypervisor's callers see it, shaped after KVM's kvm_regs and
// kvm_sregs, and its conversions to and from the CPU's registers and the VMCS guest-state area
// (SDM Vol. 3C 24.4). 64-bit values are bigint: this is the cold API, never the hot path.
import { Cpu, LDTR, TR } from '../cpu/state.ts';
import { getRflags } from '../cpu/flags.ts';
import { hostVmread, hostVmwrite, fields as F } from '../vmx/index.ts';
import { arOf, AR_UNUSABLE } from '../vmx/access-rights.ts';
import { GUEST_SEL, GUEST_BASE, GUEST_LIMIT, GUEST_AR } from '../vmx/exit.ts';

export const REG_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;
export type RegName = typeof REG_NAMES[number];
export type Regs = Record<RegName | 'rip' | 'rflags', bigint>;

/** A segment register with its hidden part, in kvm_segment's terms. */
export interface Segment {
  selector: number; base: bigint; limit: number;
  type: number; s: boolean; dpl: number; present: boolean; avl: boolean; l: boolean; db: boolean; g: boolean;
  unusable: boolean;
}
export interface DescriptorTable { base: bigint; limit: number }
export interface Sregs {
  es: Segment; cs: Segment; ss: Segment; ds: Segment; fs: Segment; gs: Segment; ldt: Segment; tr: Segment;
  gdt: DescriptorTable; idt: DescriptorTable;
  cr0: bigint; cr2: bigint; cr3: bigint; cr4: bigint; cr8: bigint; efer: bigint;
}
export const SEG_KEYS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldt', 'tr'] as const; // ES..TR order of the CPU

const big = (x: number): bigint => BigInt.asUintN(64, BigInt(Math.trunc(x)));
/** A 64-bit address as a sign-extended double (the CPU's canonical form). */
const addr = (x: bigint): number => Number(BigInt.asIntN(64, x));

/** VMCS access rights (24.4.1, Table 24-2) → Segment. */
export function segmentFromAr(selector: number, base: bigint, limit: number, ar: number): Segment {
  return {
    selector, base, limit: limit >>> 0, type: ar & 15, s: (ar & 0x10) !== 0, dpl: (ar >> 5) & 3,
    present: (ar & 0x80) !== 0, avl: (ar & 0x1000) !== 0, l: (ar & 0x2000) !== 0, db: (ar & 0x4000) !== 0,
    g: (ar & 0x8000) !== 0, unusable: (ar & AR_UNUSABLE) !== 0,
  };
}
export function arFromSegment(s: Segment): number {
  return (s.type & 15) | (s.s ? 0x10 : 0) | ((s.dpl & 3) << 5) | (s.present ? 0x80 : 0) | (s.avl ? 0x1000 : 0) |
    (s.l ? 0x2000 : 0) | (s.db ? 0x4000 : 0) | (s.g ? 0x8000 : 0) | (s.unusable ? AR_UNUSABLE : 0);
}

// ---------------------------------------------------------------- the CPU's own registers

export function regsFromCpu(c: Cpu): Regs {
  const r = {} as Regs;
  REG_NAMES.forEach((n, i) => { r[n] = (BigInt(c.rh[i] >>> 0) << 32n) | BigInt(c.rl[i] >>> 0); });
  r.rip = big(c.rip);
  r.rflags = BigInt(getRflags(c) >>> 0);
  return r;
}

/** General registers only (RSP, RIP and RFLAGS of a VMX guest live in the VMCS). */
export function gprsToCpu(c: Cpu, r: Partial<Regs>): void {
  REG_NAMES.forEach((n, i) => {
    const v = r[n];
    if (v === undefined) return;
    const u = BigInt.asUintN(64, v);
    c.rl[i] = Number(u & 0xffffffffn) | 0; c.rh[i] = Number(u >> 32n) | 0;
  });
}


export function sregsFromCpu(c: Cpu): Sregs {
  const s = {} as Sregs;
  SEG_KEYS.forEach((k, i) => { s[k] = segmentFromAr(c.segSel[i], big(c.segBase[i]), c.segLimit[i], arOf(c, i)); });
  s.gdt = { base: big(c.gdtBase), limit: c.gdtLimit };
  s.idt = { base: big(c.idtBase), limit: c.idtLimit };
  s.cr0 = BigInt(c.cr0 >>> 0); s.cr2 = big(c.cr2); s.cr3 = big(c.cr3); s.cr4 = BigInt(c.cr4 >>> 0);
  s.cr8 = BigInt(c.readCr8()); s.efer = BigInt(c.efer >>> 0);
  return s;
}


// ---------------------------------------------------------------- the VMCS guest-state area

const rd = (c: Cpu, enc: number): bigint => hostVmread(c, enc);
function wr(c: Cpu, enc: number, v: bigint | number): void {
  const st = hostVmwrite(c, enc, v);
  if (st !== 0) throw new Error(`VMWRITE 0x${enc.toString(16)} failed (${st})`);
}

export function sregsFromVmcs(c: Cpu, cr0Shadow: { cr0: bigint; cr4: bigint }): Sregs {
  const s = {} as Sregs;
  SEG_KEYS.forEach((k, i) => {
    s[k] = segmentFromAr(Number(rd(c, GUEST_SEL[i])), rd(c, GUEST_BASE[i]), Number(rd(c, GUEST_LIMIT[i])), Number(rd(c, GUEST_AR[i])));
  });
  s.gdt = { base: rd(c, F.GUEST_GDTR_BASE), limit: Number(rd(c, F.GUEST_GDTR_LIMIT)) };
  s.idt = { base: rd(c, F.GUEST_IDTR_BASE), limit: Number(rd(c, F.GUEST_IDTR_LIMIT)) };
  s.cr0 = cr0Shadow.cr0; s.cr4 = cr0Shadow.cr4;
  s.cr2 = big(c.cr2); s.cr3 = rd(c, F.GUEST_CR3); s.cr8 = BigInt(c.readCr8()); s.efer = rd(c, F.GUEST_EFER);
  return s;
}

/**
 * Write segments, descriptor tables, CR3 and EFER into the VMCS. CR0 and CR4 go through the
 * vCPU (they need the guest/host masks); CR2 and CR8 are not in the VMCS and stay in the CPU.
 */
export function sregsToVmcs(c: Cpu, s: Sregs): void {
  SEG_KEYS.forEach((k, i) => {
    let g = s[k];
    // A TR that was never loaded (boot contracts without a TSS) must still be a busy TSS for VM entry (26.3.1.2).
    if (i === TR && (g.unusable || (g.type !== 3 && g.type !== 11))) g = { ...g, type: 11, s: false, present: true, unusable: false, limit: g.limit || 0x67 };
    if (i === LDTR && g.selector === 0) g = { ...g, unusable: true };
    wr(c, GUEST_SEL[i], g.selector); wr(c, GUEST_BASE[i], g.base); wr(c, GUEST_LIMIT[i], g.limit >>> 0); wr(c, GUEST_AR[i], arFromSegment(g));
  });
  wr(c, F.GUEST_GDTR_BASE, s.gdt.base); wr(c, F.GUEST_GDTR_LIMIT, s.gdt.limit);
  wr(c, F.GUEST_IDTR_BASE, s.idt.base); wr(c, F.GUEST_IDTR_LIMIT, s.idt.limit);
  wr(c, F.GUEST_CR3, s.cr3); wr(c, F.GUEST_EFER, s.efer);
  c.cr2 = addr(s.cr2);
  c.writeCr8(Number(s.cr8 & 15n));
}

