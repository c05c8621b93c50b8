// The TypeScript side of "one VMX engine, two kinds of root-mode software" (ARCHITECTURE.md): the
// KVM-like hypervisor layer runs in VMX root operation without x86 code. It uses the same operations
// as the instructions (VMXON, VMCLEAR, VMPTRLD, VMREAD, VMWRITE, VMLAUNCH/VMRESUME semantics with the
// same VMCS layout and entry checks) and, on a VM exit, gets control back in TypeScript with the exit
// information instead of continuing at host RIP.
//
// The CPU still needs a valid host-state area (VM entry checks it) and loads it on a VM exit, like
// any exit; for a TypeScript host that state is simply the CPU's idle root-mode state. Values cross
// this API as bigint (cold path: once per VMCS field or VM exit, never per guest instruction).
import { Cpu, StopReason } from '../cpu/state.ts';
import { FAULT } from '../cpu/fault.ts';
import { deliverException } from '../cpu/interrupts.ts';
import { run, type RunHooks } from '../cpu/exec.ts';
import { type Vmx, vmxOf, INVALID_PTR, ER_ENTRY_FAIL } from './state.ts';
import { launchState } from './vmcs.ts';
import {
  OK, FAIL_INVALID, vmxonOutside, vmclearOp, vmptrldOp, vmreadOp, vmwriteOp, launchOp, readLo, readHi, finish,
} from './instructions.ts';

/** 0 = VMsucceed, -1 = VMfailInvalid, n > 0 = VMfailValid with VM-instruction error n (SDM 30.4). */
export type VmxStatus = number;
export { OK as VMX_OK, FAIL_INVALID as VMX_FAIL_INVALID };

/** Exit information of one VM exit (SDM Vol. 3C 27.2), as the hypervisor sees it. */
export interface VmExitInfo {
  /** Full exit reason: basic reason in bits 15:0, bit 31 = VM-entry failure. */
  reason: number;
  basicReason: number;
  entryFailure: boolean;
  qualification: number;
  /** Guest-linear address (NaN when the exit does not write it). */
  guestLinear: number;
  /** Guest-physical address (NaN when the exit does not write it; EPT exits, next session). */
  guestPhysical: number;
  intrInfo: number;
  intrError: number;
  idtVectoringInfo: number;
  idtVectoringError: number;
  /** VM-exit instruction length (-1 when not written). */
  instructionLength: number;
  /** VM-exit instruction information (-1 when not written). */
  instructionInfo: number;
}

export type EnterResult =
  /** A VM exit (including a VM-entry failure with reason 33/34 | bit 31). */
  | { kind: 'exit'; exit: VmExitInfo }
  /** VMLAUNCH/VMRESUME failed before entering: VMfailInvalid (-1) or VMfailValid(error). */
  | { kind: 'vmfail'; status: VmxStatus; why: string }
  /** The run loop stopped for another reason (instruction limit, guest machine exit…) with the guest still in VMX non-root operation; resume with vmxContinue. */
  | { kind: 'stopped'; stop: StopReason; message: string };

function guard(c: Cpu, f: () => VmxStatus): VmxStatus {
  try {
    return f();
  } catch (e) {
    if (e !== FAULT) throw e;
    const vec = c.excVector;
    c.excVector = -1;
    throw new Error(`VMX operation raised exception ${vec} (code 0x${c.excCode.toString(16)})`);
  }
}

// BigInt only here: the host-side API takes 64-bit field values from TypeScript callers (cold path,
// never per guest instruction).
function split(v: bigint): [number, number] {
  const u = BigInt.asUintN(64, v);
  return [Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0];
}

/** VMXON with the given VMXON region (the CPU must be in a state where VMXON is allowed: CR4.VMXE, CR0 fixed bits, IA32_FEATURE_CONTROL). */
export function hostVmxon(c: Cpu, region: number): VmxStatus {
  return guard(c, () => {
    const v = vmxOf(c);
    const st = v.on ? 15 : vmxonOutside(c, v, null, region);
    finish(c, v, st);
    return st;
  });
}

export function hostVmclear(c: Cpu, vmcs: number): VmxStatus {
  const v = inRoot(c);
  const st = vmclearOp(c, v, vmcs);
  finish(c, v, st);
  return st;
}

export function hostVmptrld(c: Cpu, vmcs: number): VmxStatus {
  const v = inRoot(c);
  const st = vmptrldOp(c, v, vmcs);
  finish(c, v, st);
  return st;
}

/** VMWRITE to the current VMCS. */
export function hostVmwrite(c: Cpu, encoding: number, value: bigint | number): VmxStatus {
  const v = inRoot(c);
  const [lo, hi] = split(BigInt(value));
  const st = vmwriteOp(c, v, encoding, 0, lo, hi);
  finish(c, v, st);
  return st;
}

/** VMREAD from the current VMCS; throws on VMfail (a programming error of the hypervisor). */
export function hostVmread(c: Cpu, encoding: number): bigint {
  const v = inRoot(c);
  const st = vmreadOp(c, v, encoding, 0);
  if (st !== OK) throw new Error(`VMREAD 0x${encoding.toString(16)} failed with status ${st}`);
  return (BigInt(readHi >>> 0) << 32n) | BigInt(readLo >>> 0);
}

function inRoot(c: Cpu): Vmx {
  const v = c.vmx as Vmx | null;
  if (v === null || !v.on) throw new Error('not in VMX operation (hostVmxon first)');
  if (c.vmxNonRoot) throw new Error('the CPU is in VMX non-root operation (a guest is running)');
  return v;
}

function exitInfo(v: Vmx): VmExitInfo {
  const x = v.x;
  return {
    reason: x.reason >>> 0, basicReason: x.reason & 0xffff, entryFailure: (x.reason & ER_ENTRY_FAIL) !== 0,
    qualification: x.qual, guestLinear: x.linear, guestPhysical: x.gpa, intrInfo: x.intrInfo >>> 0,
    intrError: x.intrCode >>> 0, idtVectoringInfo: x.idtInfo >>> 0, idtVectoringError: x.idtCode >>> 0,
    instructionLength: x.len, instructionInfo: x.info,
  };
}

/**
 * Enter the guest of the current VMCS with VMLAUNCH semantics if its launch state is clear, else
 * VMRESUME semantics — the same checks, the same entry and exit paths as the instructions — then run
 * it with the normal run loop until a VM exit, and return the exit information. `limit` bounds the
 * total instruction count (Cpu.icount) as run() does.
 */
export function vmxEnterFromHost(c: Cpu, hooks: RunHooks, limit = Infinity): EnterResult {
  const v = inRoot(c);
  if (v.current === INVALID_PTR) return { kind: 'vmfail', status: FAIL_INVALID, why: 'no current VMCS' };
  const launch = launchState(c, v.current) === 0;
  const exits = v.exits;
  v.tsHost = true;
  c.stop = StopReason.None;
  let st: VmxStatus;
  try {
    st = launchOp(c, v, launch);
  } catch (e) {
    // A fault while delivering an injected event: handled as in the guest (it may exit).
    if (e !== FAULT) { v.tsHost = false; throw e; }
    st = OK;
    deliverException(c);
  }
  if (st !== OK) {
    v.tsHost = false;
    finish(c, v, st);
    return { kind: 'vmfail', status: st, why: v.lastCheckFailure };
  }
  if (v.exits !== exits) return { kind: 'exit', exit: exitInfo(v) }; // VM-entry failure, or an exit during injection
  return vmxContinue(c, hooks, limit);
}

/** Continue running a guest that is still in VMX non-root operation (after a 'stopped' result). */
export function vmxContinue(c: Cpu, hooks: RunHooks, limit = Infinity): EnterResult {
  const v = c.vmx as Vmx | null;
  if (v === null || !c.vmxNonRoot) throw new Error('no guest is running');
  const stop = run(c, hooks, limit);
  if (stop === StopReason.VmExit) return { kind: 'exit', exit: exitInfo(v) };
  return { kind: 'stopped', stop, message: c.stopMessage };
}

/**
 * INVEPT from the TypeScript hypervisor (SDM 30.3): type 1 drops the cached mappings (combined and
 * guest-physical, SPP masks included) derived from the EPT root of `eptp`, type 2 those of every root.
 */
export function hostInvept(c: Cpu, type: 1 | 2, eptp: number): void {
  const v = inRoot(c);
  v.tlbs.invept(type, eptp - (eptp % 4096));
}

/** INVVPID from the TypeScript hypervisor (SDM 30.3): type 0 one linear address, 1 one VPID, 2 all, 3 one VPID but globals. */
export function hostInvvpid(c: Cpu, type: 0 | 1 | 2 | 3, vpid: number, linear = 0): void {
  const v = inRoot(c);
  v.tlbs.invvpid(type, vpid, Math.floor(linear / 4096));
}
