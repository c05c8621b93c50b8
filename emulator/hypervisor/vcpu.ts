// A vCPU (KVM_CREATE_VCPU): a VMCS in the VM's host-physical memory and the run loop that enters
// the guest and handles its VM exits (KVM_RUN). Exits the layer handles itself never reach the
// caller: lazy EPT faults, dirty-page and sub-page tracking faults, PML-full, the in-kernel PIC/PIT/
// LAPIC (port I/O and LAPIC MMIO), CPUID, HLT while a timer can wake the guest, interrupt delivery
// and windows, VMX instructions (#UD: nested VMX is not offered) and CR0.NE/CR4.VMXE writes.
// The caller gets `io` and `mmio` for its own devices, and `hlt`, `shutdown`, `fail-entry`,
// `internal-error`, `debug`, `spp`, `budget`.
import { StopReason, RAX } from '../cpu/state.ts';
import { cpuid, cpuidA, cpuidB, cpuidC, cpuidD } from '../cpu/cpuid.ts';
import { set32 } from '../cpu/regs.ts';
import { decodeBytes } from '../cpu/decoder.ts';
import { MODE_REAL, MODE_PROT16, MODE_PROT32, MODE_LONG64 } from '../cpu/state.ts';
import {
  hostVmclear, hostVmptrld, hostVmwrite, hostVmread, hostInvvpid, vmxEnterFromHost, vmxContinue, fields as F, type VmExitInfo,
} from '../vmx/index.ts';
import {
  PIN_EXT_INT, PROC_HLT, PROC_UNCOND_IO, PROC_MSR_BITMAPS, PROC_SECONDARY, PROC_INT_WINDOW, PROC_CR3_LOAD, PROC_CR3_STORE,
  PROC2_EPT, PROC2_VPID, PROC2_UNRESTRICTED, PROC2_RDTSCP, PROC2_PML, PROC2_SPP, EXIT_HOST_64, EXIT_SAVE_EFER, EXIT_LOAD_EFER,
  ENTRY_IA32E, ENTRY_LOAD_EFER,
} from '../vmx/capabilities.ts';
import { mustBeOne } from './guest-state.ts';
import type { Vmx } from '../vmx/state.ts';
import type { Vm } from './vm.ts';
import { type Regs, type Sregs, regsFromCpu, gprsToCpu, sregsFromVmcs, sregsToVmcs } from './vcpu-state.ts';
import { HOST_CS, HOST_DS, HOST_TR } from './host-mode.ts';
import { guestWalk } from './guest-walk.ts';
import { decodeMmio, type MmioOp } from './mmio-emulate.ts';
import type { StosInfo } from './subpage.ts';
import { LAPIC_BASE } from '../../devices/index.ts';
import { HI_SPP } from './mmu.ts';

/** What vcpu.run returns, shaped after KVM_RUN's exit reasons. */
export type VcpuExit =
  | { reason: 'io'; direction: 'in' | 'out'; port: number; size: 1 | 2 | 4; data: number }
  | { reason: 'mmio'; phys: number; size: 1 | 2 | 4 | 8; isWrite: boolean; data: bigint }
  | { reason: 'hlt' }
  | { reason: 'shutdown' }
  | { reason: 'fail-entry'; hardwareReason: number; qualification: number; instructionError: number; message: string }
  | { reason: 'internal-error'; message: string }
  | { reason: 'debug'; rip: bigint; kind: 'single-step' | 'breakpoint' }
  | { reason: 'spp'; gpa: number; linear: number }
  | { reason: 'budget' };

export interface GuestDebug { singleStep?: boolean; softwareBreakpoints?: boolean }

const TWO32 = 4294967296;
const CR0_PE = 1, CR0_NE = 0x20, CR0_PG = 0x80000000, CR4_PAE = 0x20, CR4_VMXE = 0x2000;
const EFER_LME = 0x100, EFER_LMA = 0x400;
const IF = 0x200, DF = 0x400;
const INTR_VALID = 0x80000000, TYPE_EXT = 0, TYPE_HW_EXC = 3 << 8, DELIVER_CODE = 1 << 11;
const GP = 13, UD = 6;
const VMX_INSN_EXITS = new Set([18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 50, 53]);

/** A completion the caller's answer (or the next run) finishes: the exit's instruction retires then. */
type Pending = { kind: 'out'; len: number } | { kind: 'in'; len: number; size: number } | { kind: 'mmio-write'; len: number } |
  { kind: 'mmio-read'; op: Extract<MmioOp, { kind: 'read' }> };

export class Vcpu {
  readonly vmcs: number;
  readonly pmlLog: number;
  readonly vpid: number;
  private launched = false;
  private inGuest = false;
  private eptGeneration = -1;
  private pending: Pending | null = null;
  private windowArmed = false;
  private debug: GuestDebug = {};
  /** Saved general registers and SSE state while another vCPU owns the processor. */
  private saved: { rl: Int32Array; rh: Int32Array; xmm: Int32Array; mxcsr: number; cr2: number } | null = null;
  /** The decode of the instruction at the last SPP fault, keyed by RIP and retired-instruction count. */
  private stosKey = '';
  private stosInfo: (StosInfo & { addrSize: number }) | null = null;
  lastExit: VmExitInfo | null = null;
  instructionsRetiredByVmm = 0;

  constructor(private readonly vm: Vm, readonly index: number) {
    const pages = vm.pages;
    this.vmcs = pages.alloc();
    this.pmlLog = pages.alloc();
    this.vpid = index + 1;
    vm.mem.view.setUint32(this.vmcs, vm.revision, true);
    this.ok('VMCLEAR', hostVmclear(vm.cpu, this.vmcs));
    this.select();
    this.setupControls();
  }

  private ok(what: string, st: number): void { if (st !== 0) throw new Error(`vcpu ${this.index}: ${what} failed (${st})`); }
  private w(enc: number, v: number | bigint): void { this.ok(`VMWRITE 0x${enc.toString(16)}`, hostVmwrite(this.vm.cpu, enc, v)); }
  private r(enc: number): number { return Number(hostVmread(this.vm.cpu, enc)); }

  /** Make this vCPU's VMCS current and its registers the processor's (vcpu_load). */
  private select(): void {
    const vm = this.vm, c = vm.cpu;
    if (vm.loaded === this) return;
    const prev = vm.loaded;
    if (prev !== null) prev.saved = { rl: c.rl.slice(), rh: c.rh.slice(), xmm: c.xmm.slice(), mxcsr: c.mxcsr, cr2: c.cr2 };
    if (this.saved !== null) {
      c.rl.set(this.saved.rl); c.rh.set(this.saved.rh); c.xmm.set(this.saved.xmm); c.mxcsr = this.saved.mxcsr; c.cr2 = this.saved.cr2;
      this.saved = null;
    } else { c.rl.fill(0); c.rh.fill(0); c.xmm.fill(0); c.mxcsr = 0x1f80; c.cr2 = 0; }
    this.ok('VMPTRLD', hostVmptrld(c, this.vmcs));
    vm.loaded = this;
  }

  private setupControls(): void {
    const vm = this.vm;
    this.w(F.PIN_CTLS, mustBeOne(0x48d) | PIN_EXT_INT);
    this.w(F.PROC_CTLS, ((mustBeOne(0x48e) | PROC_HLT | PROC_UNCOND_IO | PROC_MSR_BITMAPS | PROC_SECONDARY) & ~(PROC_CR3_LOAD | PROC_CR3_STORE)) >>> 0);
    this.w(F.EXIT_CTLS, mustBeOne(0x48f) | EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER);
    this.w(F.ENTRY_CTLS, mustBeOne(0x490) | ENTRY_LOAD_EFER);
    this.w(F.VPID, this.vpid);
    this.w(F.MSR_BITMAP, vm.msrBitmap);
    this.w(F.PML_ADDRESS, this.pmlLog);
    this.w(F.GUEST_PML_INDEX, 511);
    for (const enc of [F.EXCEPTION_BITMAP, F.PFEC_MASK, F.PFEC_MATCH, F.CR3_TARGET_COUNT, F.ENTRY_INTR_INFO,
      F.EXIT_MSR_STORE_COUNT, F.EXIT_MSR_LOAD_COUNT, F.ENTRY_MSR_LOAD_COUNT]) this.w(enc, 0);
    // CR0.NE and CR4.VMXE are fixed to 1 in VMX operation (SDM 23.8): the host owns them, the guest sees its own value.
    this.w(F.CR0_GUEST_HOST_MASK, CR0_NE); this.w(F.CR4_GUEST_HOST_MASK, CR4_VMXE);
    this.w(F.VMCS_LINK_POINTER, -1n);
    // Host state (SDM 24.5): the layer's 64-bit root-mode state (host-mode.ts).
    const c = vm.cpu, h = vm.host;
    this.w(F.HOST_CR0, c.cr0); this.w(F.HOST_CR3, c.cr3); this.w(F.HOST_CR4, c.cr4);
    this.w(F.HOST_CS_SEL, HOST_CS); for (const e of [F.HOST_SS_SEL, F.HOST_DS_SEL, F.HOST_ES_SEL]) this.w(e, HOST_DS);
    this.w(F.HOST_FS_SEL, 0); this.w(F.HOST_GS_SEL, 0); this.w(F.HOST_TR_SEL, HOST_TR);
    this.w(F.HOST_FS_BASE, 0); this.w(F.HOST_GS_BASE, 0); this.w(F.HOST_TR_BASE, h.tss);
    this.w(F.HOST_GDTR_BASE, h.gdt); this.w(F.HOST_IDTR_BASE, 0);
    this.w(F.HOST_SYSENTER_CS, 0); this.w(F.HOST_SYSENTER_ESP, 0); this.w(F.HOST_SYSENTER_EIP, 0);
    this.w(F.HOST_RSP, 0); this.w(F.HOST_RIP, 0); this.w(F.HOST_EFER, c.efer);
    // Guest: the architectural reset state (SDM Vol. 3A 10.1.1) until setSregs/setRegs.
    this.w(F.GUEST_DR7, 0x400);
    for (const e of [F.GUEST_ACTIVITY, F.GUEST_INTERRUPTIBILITY, F.GUEST_PENDING_DBG, F.GUEST_SYSENTER_CS,
      F.GUEST_SYSENTER_ESP, F.GUEST_SYSENTER_EIP]) this.w(e, 0);
  }

  // ---------------------------------------------------------------- registers

  getRegs(): Regs {
    this.select();
    const r = regsFromCpu(this.vm.cpu);
    r.rsp = BigInt.asUintN(64, hostVmread(this.vm.cpu, F.GUEST_RSP));
    r.rip = BigInt.asUintN(64, hostVmread(this.vm.cpu, F.GUEST_RIP));
    r.rflags = hostVmread(this.vm.cpu, F.GUEST_RFLAGS);
    return r;
  }

  setRegs(r: Regs): void {
    this.select();
    this.finishPending();
    gprsToCpu(this.vm.cpu, r);
    this.w(F.GUEST_RSP, r.rsp); this.w(F.GUEST_RIP, r.rip); this.w(F.GUEST_RFLAGS, r.rflags | 2n);
  }

  getSregs(): Sregs {
    this.select();
    return sregsFromVmcs(this.vm.cpu, { cr0: BigInt(this.guestCr0()), cr4: BigInt(this.guestCr4()) });
  }

  setSregs(s: Sregs): void {
    this.select();
    sregsToVmcs(this.vm.cpu, s);
    this.setCr0(Number(s.cr0 & 0xffffffffn));
    this.setCr4(Number(s.cr4 & 0xffffffffn));
    this.syncIa32e();
  }

  /** CR0 and CR4 as the guest sees them: host-owned bits from the read shadow, the rest from the processor (SDM 25.3). */
  guestCr0(): number { return ((this.r(F.GUEST_CR0) & ~CR0_NE) | (this.r(F.CR0_READ_SHADOW) & CR0_NE)) >>> 0; }
  guestCr4(): number { return ((this.r(F.GUEST_CR4) & ~CR4_VMXE) | (this.r(F.CR4_READ_SHADOW) & CR4_VMXE)) >>> 0; }

  /** Guest CR0 as the guest wrote it; the processor's copy has NE forced (the host owns NE). */
  private setCr0(v: number): void {
    this.w(F.CR0_READ_SHADOW, v >>> 0);
    this.w(F.GUEST_CR0, (v | CR0_NE) >>> 0);
  }
  private setCr4(v: number): void {
    this.w(F.CR4_READ_SHADOW, v >>> 0);
    this.w(F.GUEST_CR4, (v | CR4_VMXE) >>> 0);
  }
  /** The "IA-32e mode guest" entry control follows EFER.LMA (SDM 26.2.4: they must agree). */
  private syncIa32e(): void {
    const lma = (this.r(F.GUEST_EFER) & EFER_LMA) !== 0;
    const e = this.r(F.ENTRY_CTLS);
    this.w(F.ENTRY_CTLS, lma ? e | ENTRY_IA32E : e & ~ENTRY_IA32E);
  }

  /** After a migration destination loaded the VMCS guest state: re-derive the layer's own view. */
  afterRestore(intWindow: boolean): void {
    this.select();
    this.pending = null;
    this.inGuest = false;
    this.windowArmed = intWindow;
    this.eptGeneration = -1;
  }

  setGuestDebug(d: GuestDebug): void {
    this.select();
    this.debug = { ...d };
    this.w(F.EXCEPTION_BITMAP, d.softwareBreakpoints ? 1 << 3 : 0);
  }

  // ---------------------------------------------------------------- completing exits

  /** Answer an `in` exit (the value read) or an `mmio` read (the value loaded); the instruction then retires. */
  completeIo(value: number | bigint = 0): void {
    this.select();
    const p = this.pending;
    if (p === null) return;
    const c = this.vm.cpu;
    const big = BigInt.asUintN(64, BigInt(value));
    if (p.kind === 'in') {
      const v = Number(big & 0xffffffffn);
      if (p.size === 1) c.rl[RAX] = (c.rl[RAX] & ~0xff) | (v & 0xff);
      else if (p.size === 2) c.rl[RAX] = (c.rl[RAX] & ~0xffff) | (v & 0xffff);
      else { c.rl[RAX] = v | 0; c.rh[RAX] = 0; }
      this.retire(p.len);
    } else if (p.kind === 'mmio-read') {
      p.op.complete(c, Number(big & 0xffffffffn) | 0, Number(big >> 32n) | 0);
      this.retire(p.op.len);
    } else this.retire(p.len);
    this.pending = null;
  }
  completeMmio(value: bigint | number = 0): void { this.completeIo(value); }

  private finishPending(): void { if (this.pending !== null) this.completeIo(0); }

  /** The instruction at guest RIP retired on the guest's behalf: advance RIP, count it, end STI/MOV-SS blocking. */
  private retire(len: number): void {
    const c = this.vm.cpu;
    const rip = hostVmread(c, F.GUEST_RIP) + BigInt(len);
    this.w(F.GUEST_RIP, (this.r(F.GUEST_CS_AR) & 0x2000) && (this.r(F.GUEST_EFER) & EFER_LMA) ? rip : rip & 0xffffffffn);
    const intr = this.r(F.GUEST_INTERRUPTIBILITY);
    if (intr & 3) this.w(F.GUEST_INTERRUPTIBILITY, intr & ~3);
    c.icount++;
    this.instructionsRetiredByVmm++;
  }

  private inject(vector: number, type: number, code?: number): void {
    this.w(F.ENTRY_INTR_INFO, (INTR_VALID | type | vector | (code !== undefined ? DELIVER_CODE : 0)) >>> 0);
    if (code !== undefined) this.w(F.ENTRY_EXCEPTION_ERROR, code);
  }

  // ---------------------------------------------------------------- run

  /** KVM_RUN: run the guest until an exit the caller must see, or `maxInstructions` retire. */
  run(opts: { maxInstructions?: number } = {}): VcpuExit {
    const vm = this.vm, c = vm.cpu;
    this.select();
    // The instruction of an io/mmio exit the caller did not complete retires now, within the budget.
    const budget = this.debug.singleStep ? 1 : opts.maxInstructions ?? Infinity;
    const limit = c.icount + budget;
    this.finishPending();
    const hooks = { onDeadline: () => this.onDeadline() };
    for (;;) {
      if (c.icount >= limit) return this.debug.singleStep ? this.debugExit('single-step') : { reason: 'budget' };
      this.prepareEntry();
      c.checkEvents = true;
      let r = this.inGuest ? vmxContinue(c, hooks, limit) : vmxEnterFromHost(c, hooks, limit);
      this.inGuest = true;
      if (r.kind === 'vmfail') {
        this.inGuest = false;
        return { reason: 'fail-entry', hardwareReason: 0, qualification: 0, instructionError: r.status, message: `VM entry failed: VMfail ${r.status}: ${r.why}` };
      }
      let budgetHit = false;
      if (r.kind === 'stopped') {
        if (r.stop !== StopReason.InsnLimit) { this.inGuest = !!c.vmxNonRoot; return { reason: 'internal-error', message: r.message || `guest stopped (${r.stop})` }; }
        // The budget is spent: kick the vCPU out at this instruction boundary, as a signal does to KVM_RUN.
        budgetHit = true;
        vm.kick = true;
        c.checkEvents = true;
        r = vmxContinue(c, hooks);
      }
      this.inGuest = false;
      if (r.kind !== 'exit') return { reason: 'internal-error', message: `unexpected run result ${r.kind}` };
      const out = this.handleExit(r.exit);
      if (out !== null) return out;
      if (budgetHit) return this.debug.singleStep ? this.debugExit('single-step') : { reason: 'budget' };
    }
  }

  private debugExit(kind: 'single-step' | 'breakpoint'): VcpuExit {
    return { reason: 'debug', kind, rip: BigInt.asUintN(64, hostVmread(this.vm.cpu, F.GUEST_RIP)) };
  }

  /** Timers fire while the guest runs; a new interrupt the guest can take kicks it out (exit 1). */
  private onDeadline(): number {
    const chip = this.vm.irqchip;
    chip.advance(this.vm.cpu.now());
    if (!this.windowArmed && chip.hasInterrupt()) this.vm.kick = true;
    return chip.nextEvent();
  }

  /** Before VM entry: EPT/SPP/PML controls, then event injection (re-injection first, SDM 27.2.4). */
  private prepareEntry(): void {
    const vm = this.vm;
    if (this.eptGeneration !== vm.eptGeneration) {
      const dl = vm.dirtyLog, spp = vm.subpage.inUse;
      this.w(F.EPT_POINTER, vm.mmu.ept.eptp(dl.adEnabled));
      this.w(F.PROC_CTLS2, PROC2_EPT | PROC2_VPID | PROC2_UNRESTRICTED | PROC2_RDTSCP | (dl.pmlEnabled ? PROC2_PML : 0) | (spp ? PROC2_SPP : 0));
      if (spp) this.w(F.SPPT_POINTER, vm.mmu.sppTables().root);
      this.eptGeneration = vm.eptGeneration;
    }
    if (this.r(F.ENTRY_INTR_INFO) & INTR_VALID) return; // an event is already queued (re-injection, #UD, #GP)
    const chip = vm.irqchip;
    let proc = this.r(F.PROC_CTLS);
    if (chip.hasInterrupt()) {
      const canTake = (this.r(F.GUEST_RFLAGS) & IF) !== 0 && (this.r(F.GUEST_INTERRUPTIBILITY) & 3) === 0;
      if (canTake) {
        this.inject(chip.acknowledge(), TYPE_EXT);
        this.setWindow(proc, false);
        return;
      }
      proc = this.setWindow(proc, true);
    } else this.setWindow(proc, false);
  }

  private setWindow(proc: number, on: boolean): number {
    this.windowArmed = on;
    const want = on ? proc | PROC_INT_WINDOW : proc & ~PROC_INT_WINDOW;
    if (want !== proc) this.w(F.PROC_CTLS, want >>> 0);
    return want;
  }

  // ---------------------------------------------------------------- exits

  private handleExit(e: VmExitInfo): VcpuExit | null {
    const vm = this.vm;
    this.lastExit = e;
    vm.exits.reason(e.basicReason);
    if (e.entryFailure) {
      return { reason: 'fail-entry', hardwareReason: e.reason, qualification: e.qualification, instructionError: 0,
        message: `VM entry failed with exit reason ${e.basicReason} (qualification ${e.qualification}): ${(vm.cpu.vmx as Vmx).lastCheckFailure}` };
    }
    // An event whose delivery the exit interrupted is delivered again at the next entry (SDM 27.2.4, 31.7.1.1).
    if (e.idtVectoringInfo & INTR_VALID) {
      const info = e.idtVectoringInfo & ~0x1000 & 0x80000fff;
      this.w(F.ENTRY_INTR_INFO, info >>> 0);
      if (info & DELIVER_CODE) this.w(F.ENTRY_EXCEPTION_ERROR, e.idtVectoringError);
      const type = (info >> 8) & 7;
      if (type === 4 || type === 5 || type === 6) this.w(F.ENTRY_INSN_LEN, e.instructionLength);
    }
    switch (e.basicReason) {
      case 1: vm.kick = false; vm.exits.count('ext-int'); return null;
      case 7: this.windowArmed = false; vm.exits.count('int-window'); return null;
      case 2: return { reason: 'shutdown' };
      case 0: {
        vm.exits.count('exception');
        const vec = e.intrInfo & 0xff;
        if (vec === 3 && this.debug.softwareBreakpoints) return this.debugExit('breakpoint');
        return { reason: 'internal-error', message: `unexpected exception exit, vector ${vec}` };
      }
      case 10: return this.onCpuid(e);
      case 12: return this.onHlt(e);
      case 13: case 54: vm.exits.count('other-exit'); this.retire(e.instructionLength); return null;
      case 28: return this.onCrAccess(e);
      case 30: return this.onIo(e);
      case 31: case 32: vm.exits.count('msr'); this.inject(GP, TYPE_HW_EXC, 0); return null;
      case 48: return this.onEptViolation(e);
      case 49: return this.onMisconfig(e);
      case 62: vm.exits.count('pml-full'); this.drainPml(); return null;
      case 66: {
        if (e.qualification & 0x800) { vm.subpage.onMiss(e.guestPhysical); return null; }
        return { reason: 'internal-error', message: `SPP misconfiguration at GPA 0x${e.guestPhysical.toString(16)}` };
      }
      default:
        if (VMX_INSN_EXITS.has(e.basicReason)) { vm.exits.count('vmx-insn'); this.inject(UD, TYPE_HW_EXC); return null; }
        vm.exits.count('other-exit');
        return { reason: 'internal-error', message: `unhandled VM exit reason ${e.basicReason} (qualification 0x${e.qualification.toString(16)})` };
    }
  }

  /** CPUID (always exits, SDM 25.1.2): the processor's answer without VMX (nested VMX is not offered). */
  private onCpuid(e: VmExitInfo): null {
    const c = this.vm.cpu;
    const leaf = c.rl[RAX] >>> 0, sub = c.rl[1] >>> 0;
    cpuid(c, leaf, sub);
    set32(c, RAX, cpuidA); set32(c, 3, cpuidB); set32(c, 1, leaf === 1 ? cpuidC & ~(1 << 5) : cpuidC); set32(c, 2, cpuidD); // ECX.VMX cleared
    this.vm.exits.count('cpuid');
    this.retire(e.instructionLength);
    return null;
  }

  /** HLT: retire it, then wait in the layer (virtual time skips ahead) for an interrupt the guest can take. */
  private onHlt(e: VmExitInfo): VcpuExit | null {
    const vm = this.vm, c = vm.cpu, chip = vm.irqchip;
    vm.exits.count('hlt');
    this.retire(e.instructionLength);
    const ifSet = (this.r(F.GUEST_RFLAGS) & IF) !== 0;
    for (;;) {
      chip.advance(c.now());
      if (ifSet && chip.hasInterrupt()) return null;
      const next = chip.nextEvent();
      if (!ifSet || next === Infinity) return { reason: 'hlt' };
      if (next > c.now()) c.haltTicks += next - c.now();
    }
  }

  /** MOV to CR0/CR4 that changes a host-owned bit (NE, VMXE) relative to the read shadow. */
  private onCrAccess(e: VmExitInfo): VcpuExit | null {
    const c = this.vm.cpu, q = e.qualification;
    this.vm.exits.count('cr-access');
    const cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
    if (type !== 0) return { reason: 'internal-error', message: `CR access type ${type} on CR${cr} is not emulated` };
    const value = reg === 4 ? this.r(F.GUEST_RSP) >>> 0 : c.rl[reg] >>> 0;
    if (cr === 4) {
      if (value & CR4_VMXE) { this.inject(GP, TYPE_HW_EXC, 0); return null; } // no VMX for the guest
      this.setCr4(value);
    } else if (cr === 0) {
      if ((value & CR0_PG) && !(value & CR0_PE)) { this.inject(GP, TYPE_HW_EXC, 0); return null; }
      const efer = this.r(F.GUEST_EFER);
      const wasPg = (this.guestCr0() & CR0_PG) !== 0, pg = (value & CR0_PG) !== 0;
      if (!wasPg && pg && (efer & EFER_LME)) {
        if (!(this.guestCr4() & CR4_PAE)) { this.inject(GP, TYPE_HW_EXC, 0); return null; }
        this.w(F.GUEST_EFER, efer | EFER_LMA);
      } else if (wasPg && !pg && (efer & EFER_LMA)) this.w(F.GUEST_EFER, efer & ~EFER_LMA);
      this.setCr0(value);
      this.syncIa32e();
      hostInvvpid(c, 1, this.vpid); // a MOV to CR0 flushes the guest's TLB (SDM Vol. 3A 4.10.4.1)
    } else return { reason: 'internal-error', message: `MOV to CR${cr} exit is not emulated` };
    this.retire(e.instructionLength);
    return null;
  }

  private onIo(e: VmExitInfo): VcpuExit | null {
    const vm = this.vm, c = vm.cpu, q = e.qualification;
    const size = ((q & 7) + 1) as 1 | 2 | 4, isIn = (q & 8) !== 0, port = q >>> 16;
    if (q & 16) return { reason: 'internal-error', message: `string I/O (INS/OUTS) on port 0x${port.toString(16)} is not emulated` };
    const mask = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    if (vm.irqchip.handlesPort(port)) {
      vm.exits.count('io-kernel');
      if (isIn) { this.pending = { kind: 'in', len: e.instructionLength, size }; this.completeIo(vm.irqchip.io.in(port, size)); } else {
        vm.irqchip.io.out(port, size, (c.rl[RAX] & mask) >>> 0);
        this.retire(e.instructionLength);
      }
      return null;
    }
    vm.exits.count('io-user');
    if (isIn) { this.pending = { kind: 'in', len: e.instructionLength, size }; return { reason: 'io', direction: 'in', port, size, data: 0 }; }
    this.pending = { kind: 'out', len: e.instructionLength };
    return { reason: 'io', direction: 'out', port, size, data: (c.rl[RAX] & mask) >>> 0 };
  }

  private onEptViolation(e: VmExitInfo): VcpuExit | null {
    const vm = this.vm, gpa = e.guestPhysical, q = e.qualification;
    const s = vm.slotOf(gpa);
    if (s === null) { vm.mmu.markMmio(gpa); vm.invept(); return this.onMmio(gpa); }
    const page = s.page(gpa), at = s.leafAt[page];
    const write = (q & 2) !== 0;
    if (at === 0) {
      vm.exits.count('ept-map');
      const r = vm.initialRights(s, page, write);
      vm.mmu.map(s, gpa, r.rights, r.spp, r.large);
      return null;
    }
    const lo = vm.mmu.lo(at), hi = vm.mmu.hi(at);
    if (write && (lo & 2) === 0) {
      const final = (q & 0x100) !== 0;
      if ((hi & HI_SPP) && vm.subpage.active) {
        if (final) vm.subpage.onViolation(this, gpa); else vm.subpage.onPageWalkWrite(gpa);
        return null;
      }
      const gfn = Math.floor(gpa / 4096);
      if ((hi & HI_SPP) && final && vm.subpage.userMask(gfn) !== -1 && vm.wpClean(gfn)) {
        // The write-protect tracker's first write of the round to a page with sub-page permissions:
        // log it, give the page its mask back, and let the write retry against the mask.
        s.markDirty(page);
        vm.subpage.syncVector(gfn);
        vm.exits.count('dirty-fault');
        vm.invept();
        return null;
      }
      if ((hi & HI_SPP) && final && vm.subpage.userMask(gfn) !== -1) {
        vm.exits.count('spp-user');
        return { reason: 'spp', gpa, linear: e.guestLinear };
      }
      if (s.logDirty && vm.dirtyLog.kind === 'write-protect' && !(hi & HI_SPP)) { vm.dirtyLog.onWriteFault(s, page); return null; }
    }
    // A translation cached before the leaf changed (the fault raced a permission change): drop it and retry.
    if ((lo & 7) === 7 || (!write && (lo & 1))) { vm.invept(); return null; }
    return { reason: 'internal-error', message: `unexpected EPT violation at GPA 0x${gpa.toString(16)}, qualification 0x${q.toString(16)}, leaf 0x${hi.toString(16)}_${lo.toString(16).padStart(8, '0')}` };
  }

  private onMisconfig(e: VmExitInfo): VcpuExit | null {
    const gfn = Math.floor(e.guestPhysical / 4096);
    if (this.vm.mmu.mmioPages.has(gfn)) return this.onMmio(e.guestPhysical);
    return { reason: 'internal-error', message: `EPT misconfiguration at GPA 0x${e.guestPhysical.toString(16)}` };
  }

  /** Emulate the instruction that touched an MMIO page: the LAPIC in the layer, the rest by the caller. */
  private onMmio(gpa: number): VcpuExit | null {
    const vm = this.vm, c = vm.cpu;
    vm.exits.count('mmio');
    const fetched = this.fetchGuestInstruction();
    if (typeof fetched === 'string') return { reason: 'internal-error', message: `MMIO at 0x${gpa.toString(16)}: ${fetched}` };
    const op = decodeMmio(c, fetched.bytes, fetched.mode);
    if (op.kind === 'unsupported') return { reason: 'internal-error', message: `MMIO at 0x${gpa.toString(16)}: instruction ${op.name} is not emulated` };
    if (vm.irqchip.handlesMmio(gpa)) {
      const off = gpa - LAPIC_BASE;
      if (op.kind === 'write') vm.irqchip.lapic.mmioWrite(off, Math.min(op.size, 4), op.lo >>> 0);
      else op.complete(c, vm.irqchip.lapic.mmioRead(off, Math.min(op.size, 4)), 0);
      this.retire(op.len);
      return null;
    }
    if (op.kind === 'write') {
      this.pending = { kind: 'mmio-write', len: op.len };
      return { reason: 'mmio', phys: gpa, size: op.size, isWrite: true, data: (BigInt(op.hi >>> 0) << 32n) | BigInt(op.lo >>> 0) };
    }
    this.pending = { kind: 'mmio-read', op };
    return { reason: 'mmio', phys: gpa, size: op.size, isWrite: false, data: 0n };
  }

  /** The guest's decode mode from its CS and EFER.LMA (VMCS guest state). */
  guestMode(): number {
    const ar = this.r(F.GUEST_CS_AR);
    if (!(this.r(F.GUEST_CR0) & CR0_PE)) return MODE_REAL;
    if ((this.r(F.GUEST_EFER) & EFER_LMA) && (ar & 0x2000)) return MODE_LONG64;
    return (ar & 0x4000) ? MODE_PROT32 : MODE_PROT16;
  }

  /** Up to 15 bytes at guest CS:RIP, through the guest's page tables and the memory slots. */
  fetchGuestInstruction(): { bytes: Uint8Array; mode: number } | string {
    const vm = this.vm;
    const mode = this.guestMode();
    const ripLo = hostVmread(vm.cpu, F.GUEST_RIP);
    const lin0 = Number(BigInt.asIntN(64, ripLo)) + (mode === MODE_LONG64 ? 0 : this.r(F.GUEST_CS_BASE));
    const st = { cr0: this.r(F.GUEST_CR0), cr3: this.r(F.GUEST_CR3), cr4: this.r(F.GUEST_CR4), efer: this.r(F.GUEST_EFER) };
    const read = (gpa: number) => {
      const h = vm.hpaOf(gpa);
      return h < 0 ? null : { lo: vm.mem.view.getUint32(h, true), hi: vm.mem.view.getUint32(h + 4, true) };
    };
    const bytes = new Uint8Array(15);
    for (let i = 0; i < 15; i++) {
      const lin = mode === MODE_LONG64 ? lin0 + i : (lin0 + i) % TWO32;
      const w = guestWalk(st, lin, read);
      if (!w.ok) { if (i === 0) return `cannot fetch the instruction at RIP: ${w.reason}`; return { bytes: bytes.subarray(0, i), mode }; }
      const h = vm.hpaOf(w.gpa);
      if (h < 0) return `instruction at RIP is not in guest RAM (GPA 0x${w.gpa.toString(16)})`;
      bytes[i] = vm.mem.u8[h];
    }
    return { bytes, mode };
  }

  /** Prediction (subpage.ts): the `rep stos` at the faulting RIP with its RDI, RCX and direction, or null. */
  repStosAtFault(): StosInfo | null {
    const c = this.vm.cpu;
    const key = `${hostVmread(c, F.GUEST_RIP)}:${c.icount}`;
    if (key === this.stosKey) return this.refreshStos();
    this.stosKey = key;
    this.stosInfo = null;
    const f = this.fetchGuestInstruction();
    if (typeof f === 'string') return null;
    const d = decodeBytes(c, f.bytes, f.mode);
    if (d === null || !d.valid) return null;
    const i = d.insn;
    if ((i.op !== 0xaa && i.op !== 0xab) || i.rep === 0) return null;
    this.stosInfo = { rdi: 0, rcx: 0, size: i.op === 0xaa ? 1 : i.opSize / 8, down: false, addrSize: i.addrSize };
    return this.refreshStos();
  }

  private refreshStos(): StosInfo | null {
    const st = this.stosInfo;
    if (st === null) return null;
    const c = this.vm.cpu;
    const reg = (n: number) => st.addrSize === 64 ? c.rh[n] * TWO32 + (c.rl[n] >>> 0) : st.addrSize === 32 ? c.rl[n] >>> 0 : c.rl[n] & 0xffff;
    st.rcx = reg(1);
    st.rdi = reg(7) + (this.guestMode() === MODE_LONG64 ? 0 : this.r(F.GUEST_ES_BASE));
    st.down = (this.r(F.GUEST_RFLAGS) & DF) !== 0;
    return st;
  }

  /** PML: move this vCPU's logged GPAs into the slots' bitmaps (vm.dirtyLog) and reset the index. */
  drainPml(): void {
    this.select();
    const index = this.r(F.GUEST_PML_INDEX) & 0xffff;
    const n = this.vm.dirtyLog.drainPml(this.pmlLog, index);
    this.vm.exits.count('pml-entry', n);
    this.w(F.GUEST_PML_INDEX, 511);
  }
}

