// The interface through which the VMX layer (emulator/vmx/) hooks into instruction handlers in VMX
// non-root operation. cpu/ declares it and never imports vmx/; vmx/ implements it and installs the
// object in `Cpu.vmx`. A handler of an instruction that can cause a VM exit tests the one boolean
// `c.vmxNonRoot` and only then calls a method here — nothing is added to the generic run loop.
//
// A method that decides on a VM exit performs the whole exit (guest state saved, host state loaded)
// and then unwinds the handler by throwing FAULT with `c.excVector = -1` ("nothing to deliver"), so
// the instruction is never half-executed: every hook is called before the instruction changes any
// state. A method that returns means "no VM exit; execute the instruction normally".
import type { Cpu } from './state.ts';
import type { Insn } from './insn.ts';

/** Instructions that exit unconditionally or under one control bit (VmxHooks.insn `kind`). */
export const VI_CPUID = 0, VI_HLT = 1, VI_INVD = 2, VI_WBINVD = 3, VI_RDPMC = 4, VI_RDTSC = 5, VI_RDTSCP = 6;

/** I/O exit-qualification bits the handler supplies (SDM Vol. 3C 27.2.1, Table 27-5). */
export const IOQ_IN = 1 << 3, IOQ_STRING = 1 << 4, IOQ_REP = 1 << 5, IOQ_IMM = 1 << 6;

export interface VmxHooks {
  /** CPUID, INVD (unconditional), HLT, WBINVD, RDPMC, RDTSC, RDTSCP (by control; RDTSCP may #UD). */
  insn(c: Cpu, i: Insn, kind: number): void;
  /** INVLPG of linear address `lin`. */
  invlpg(c: Cpu, i: Insn, lin: number): void;
  /** IN/OUT/INS/OUTS: `q` holds the IOQ_* bits; size in bytes. Called after the TSS I/O-permission check. */
  io(c: Cpu, i: Insn, port: number, size: number, q: number): void;
  /** RDMSR (write = false) / WRMSR (write = true) of MSR ECX. */
  msr(c: Cpu, i: Insn, write: boolean): void;
  /** MOV to CR0/CR3/CR4/CR8 of value (lo, hi): exits, or returns the low half to write (CR0/CR4 host-owned bits kept). */
  movToCr(c: Cpu, i: Insn, cr: number, lo: number, hi: number): number;
  /** MOV from CR3/CR8: exits or returns. */
  movFromCr(c: Cpu, i: Insn, cr: number): void;
  /** The value a guest read of CR0 or CR4 returns (read shadow for host-owned bits). */
  shadowCr(c: Cpu, cr: number, value: number): number;
  /** CLTS: exits, or returns whether CR0.TS is to be cleared. */
  clts(c: Cpu, i: Insn): boolean;
  /** LMSW with source `src` (memory operand at `lin`, or -1 for a register): exits or returns the source to use. */
  lmsw(c: Cpu, i: Insn, src: number, lin: number): number;
  /** MOV to/from DR `dr` (general register `gpr`). */
  movDr(c: Cpu, i: Insn, dr: number, toDr: boolean): void;
  /**
   * At an instruction boundary where events are examined (acceptInterrupt): VMX-preemption timer,
   * external-interrupt exiting, interrupt-window exiting. True if a VM exit happened.
   */
  boundary(c: Cpu): boolean;
  /** A triple fault in VMX non-root operation: VM exit (reason 2) instead of shutdown. */
  tripleFault(c: Cpu): void;
  /**
   * A write to a sub-page the TLB's cached SPP mask denies (SDM Vol. 3C 29.3.4): the EPT violation
   * (reason 48) for guest-physical `gpa`, with `rights` the cached EPT_* rights. Never returns.
   */
  sppDenied(c: Cpu, lin: number, gpa: number, rights: number): never;
}
