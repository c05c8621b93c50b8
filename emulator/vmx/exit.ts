// VM exits (SDM Vol. 3C chapter 27) and VM-entry failures after the guest-state checks began (26.7):
// record the exit information, save the guest state, load the host state, continue in VMX root
// operation at host RIP — or, when the TypeScript hypervisor entered the guest (host-api.ts), stop
// the run loop with StopReason.VmExit so that control returns to TypeScript.
//
// Unwinding: an exit decided inside an instruction handler is taken before the handler changes any
// state; after the exit the handler is abandoned by throwing the FAULT sentinel with excVector = -1,
// which the run loop's catch hands to deliverException, which sees "nothing to deliver" and returns
// (cpu/vmx-hooks.ts). Exits decided where an event is about to be delivered (exception bitmap,
// external interrupts, timer, interrupt window, triple fault) return normally instead.
import {
  Cpu, ES, CS, SS, DS, FS, GS, LDTR, TR, RSP, CR0_ET, CR0_PG, CR4_PAE, EFER_LMA, EFER_LME, EFER_SCE, EFER_NXE,
  StopReason,
} from '../cpu/state.ts';
import type { Insn } from '../cpu/insn.ts';
import { FAULT } from '../cpu/fault.ts';
import { getRflags, setArith } from '../cpu/flags.ts';
import { updateMode } from '../cpu/segments.ts';
import { EV_EXTERNAL, EV_EXCEPTION, EV_SOFTWARE, EV_PRIV_SOFT_EXCEPTION } from '../cpu/interrupts.ts';
import { MAXPHYADDR } from '../cpu/paging.ts';
import * as F from './fields.ts';
import { OFF_ABORT } from './fields.ts';
import { vmcsRead, vmcsRead32, vmcsReadNum, vmcsWrite, vmcsWriteNum, vmcsHi } from './vmcs.ts';
import { type Vmx, ER_PREEMPT, ER_ENTRY_FAIL } from './state.ts';
import {
  EXIT_SAVE_DEBUG, EXIT_HOST_64, EXIT_SAVE_PAT, EXIT_LOAD_PAT, EXIT_SAVE_EFER, EXIT_LOAD_EFER, EXIT_SAVE_TIMER,
  ENTRY_IA32E, CR0_FIXED0, CR0_FIXED1, cr4Fixed1, TIMER_RATE_SHIFT,
} from './capabilities.ts';
import { features } from './features.ts';
import { arOf } from './access-rights.ts';
import { loadMsrList, storeMsrList } from './msr-lists.ts';

const TWO32 = 4294967296;
const HI_RSVD = (0xffffffff & ~((1 << (MAXPHYADDR - 32)) - 1)) | 0;

/** Interruption type of an event of cpu/interrupts.ts kind `kind` (SDM Vol. 3C Tables 24-15, 24-16). */
export function intrType(kind: number, vec: number): number {
  switch (kind) {
    case EV_EXTERNAL: return 0;
    case EV_EXCEPTION: return vec === 2 ? 2 : 3;
    case EV_SOFTWARE: return 4;
    case EV_PRIV_SOFT_EXCEPTION: return 5;
    default: return 6; // EV_SOFT_EXCEPTION: INT3, INTO
  }
}

/** Abandon the current instruction after a VM exit (see the header). */
export function unwind(c: Cpu): never {
  c.excVector = -1;
  throw FAULT;
}

/**
 * A fault-like VM exit caused by instruction `i` (SDM Vol. 3C 27.2.1, 27.2.4): exit qualification,
 * instruction length and (if given) instruction information and guest-linear address. Never returns.
 */
export function exitInsn(c: Cpu, v: Vmx, i: Insn, reason: number, qual: number, info = -1, linear = NaN): never {
  const x = v.x;
  x.reset();
  x.qual = qual; x.len = i.len; x.info = info; x.linear = linear;
  vmExit(c, v, reason);
  return unwind(c);
}

/** Perform a VM exit with basic reason `reason`; v.x holds the other exit information (the caller reset and filled it). */
export function vmExit(c: Cpu, v: Vmx, reason: number): void {
  const x = v.x, base = v.current;
  x.reason = reason;
  // IDT-vectoring information: the event whose delivery was in progress (SDM 27.2.3).
  if (c.delivVec >= 0) {
    const t = intrType(c.delivKind, c.delivVec);
    x.idtInfo = ((c.delivVec & 0xff) | (t << 8) | (c.delivHasCode ? 0x800 : 0) | 0x80000000) >>> 0;
    x.idtCode = c.delivCode;
    if (t >= 4 && x.len < 0) x.len = c.delivLen; // software interrupt/exception: its instruction length
  }
  writeExitInformation(c, base, v);
  // Every VM exit clears the valid bit of the VM-entry interruption-information field (SDM 24.8.3).
  vmcsWrite(c, base, F.ENTRY_INTR_INFO, vmcsRead(c, base, F.ENTRY_INTR_INFO) & 0x7fffffff);
  saveGuestState(c, v, base);
  const storeCount = vmcsRead32(c, base, F.EXIT_MSR_STORE_COUNT);
  if (storeCount > 0 && !storeMsrList(c, vmcsReadNum(c, base, F.EXIT_MSR_STORE_ADDR), storeCount)) {
    vmxAbort(c, v, 1); // failure saving guest MSRs (SDM 27.7)
    return;
  }
  finishExit(c, v, base);
}

/**
 * VM-entry failure during or after the guest-state checks (SDM 26.7): exit reason 33 or 34 with bit
 * 31 set and the exit qualification; no guest state is saved; the host state is loaded as on an exit.
 */
export function entryFailure(c: Cpu, v: Vmx, reason: number, qual: number): void {
  const x = v.x, base = v.current;
  x.reset();
  x.reason = (reason | ER_ENTRY_FAIL) >>> 0;
  x.qual = qual;
  vmcsWrite(c, base, F.EXIT_REASON, x.reason | 0);
  vmcsWriteNum(c, base, F.EXIT_QUALIFICATION, qual);
  finishExit(c, v, base);
}

function writeExitInformation(c: Cpu, base: number, v: Vmx): void {
  const x = v.x;
  vmcsWrite(c, base, F.EXIT_REASON, x.reason);
  vmcsWriteNum(c, base, F.EXIT_QUALIFICATION, x.qual);
  if (x.linear === x.linear) vmcsWriteNum(c, base, F.GUEST_LINEAR_ADDRESS, x.linear);
  if (x.gpa === x.gpa && features.ept) vmcsWriteNum(c, base, F.GUEST_PHYSICAL_ADDRESS, x.gpa);
  vmcsWrite(c, base, F.EXIT_INTR_INFO, x.intrInfo | 0);
  if ((x.intrInfo & 0x80000800) === (0x80000800 | 0)) vmcsWrite(c, base, F.EXIT_INTR_ERROR, x.intrCode);
  vmcsWrite(c, base, F.IDT_VECTORING_INFO, x.idtInfo | 0);
  if ((x.idtInfo & 0x80000800) === (0x80000800 | 0)) vmcsWrite(c, base, F.IDT_VECTORING_ERROR, x.idtCode);
  if (x.len >= 0) vmcsWrite(c, base, F.EXIT_INSN_LEN, x.len);
  if (x.info >= 0) vmcsWrite(c, base, F.EXIT_INSN_INFO, x.info);
}

const GUEST_SEL = [F.GUEST_ES_SEL, F.GUEST_CS_SEL, F.GUEST_SS_SEL, F.GUEST_DS_SEL, F.GUEST_FS_SEL, F.GUEST_GS_SEL, F.GUEST_LDTR_SEL, F.GUEST_TR_SEL];
const GUEST_BASE = [F.GUEST_ES_BASE, F.GUEST_CS_BASE, F.GUEST_SS_BASE, F.GUEST_DS_BASE, F.GUEST_FS_BASE, F.GUEST_GS_BASE, F.GUEST_LDTR_BASE, F.GUEST_TR_BASE];
const GUEST_LIMIT = [F.GUEST_ES_LIMIT, F.GUEST_CS_LIMIT, F.GUEST_SS_LIMIT, F.GUEST_DS_LIMIT, F.GUEST_FS_LIMIT, F.GUEST_GS_LIMIT, F.GUEST_LDTR_LIMIT, F.GUEST_TR_LIMIT];
const GUEST_AR = [F.GUEST_ES_AR, F.GUEST_CS_AR, F.GUEST_SS_AR, F.GUEST_DS_AR, F.GUEST_FS_AR, F.GUEST_GS_AR, F.GUEST_LDTR_AR, F.GUEST_TR_AR];
export { GUEST_SEL, GUEST_BASE, GUEST_LIMIT, GUEST_AR };

/** Remaining VMX-preemption timer value (SDM 25.5.1: one decrement each time TSC bit X changes). */
export function timerRemaining(c: Cpu, v: Vmx): number {
  const elapsed = Math.floor((c.now() + c.tscOffset) / (1 << TIMER_RATE_SHIFT)) - v.timerBase;
  return Math.max(0, v.timerValue - elapsed);
}

/** Save the guest state into the VMCS (SDM 27.3). */
function saveGuestState(c: Cpu, v: Vmx, base: number): void {
  vmcsWriteNum(c, base, F.GUEST_CR0, c.cr0 >>> 0);
  vmcsWriteNum(c, base, F.GUEST_CR3, c.cr3);
  vmcsWriteNum(c, base, F.GUEST_CR4, c.cr4 >>> 0);
  if (v.exitCtls & EXIT_SAVE_DEBUG) {
    vmcsWriteNum(c, base, F.GUEST_DR7, c.dr[7]);
    vmcsWrite(c, base, F.GUEST_DEBUGCTL, 0, 0); // IA32_DEBUGCTL is not implemented: always 0
  }
  vmcsWrite(c, base, F.GUEST_RSP, c.rl[RSP], c.rh[RSP]);
  vmcsWriteNum(c, base, F.GUEST_RIP, c.rip);
  vmcsWrite(c, base, F.GUEST_RFLAGS, getRflags(c), 0);
  for (let s = ES; s <= TR; s++) {
    vmcsWrite(c, base, GUEST_SEL[s], c.segSel[s]);
    vmcsWriteNum(c, base, GUEST_BASE[s], c.segBase[s]);
    vmcsWrite(c, base, GUEST_LIMIT[s], c.segLimit[s] | 0);
    vmcsWrite(c, base, GUEST_AR[s], arOf(c, s));
  }
  vmcsWriteNum(c, base, F.GUEST_GDTR_BASE, c.gdtBase);
  vmcsWrite(c, base, F.GUEST_GDTR_LIMIT, c.gdtLimit);
  vmcsWriteNum(c, base, F.GUEST_IDTR_BASE, c.idtBase);
  vmcsWrite(c, base, F.GUEST_IDTR_LIMIT, c.idtLimit);
  vmcsWrite(c, base, F.GUEST_SYSENTER_CS, c.sysenterCs);
  vmcsWriteNum(c, base, F.GUEST_SYSENTER_ESP, c.sysenterEsp);
  vmcsWriteNum(c, base, F.GUEST_SYSENTER_EIP, c.sysenterEip);
  if (v.exitCtls & EXIT_SAVE_PAT) vmcsWrite(c, base, F.GUEST_PAT, c.patLo, c.patHi);
  if (v.exitCtls & EXIT_SAVE_EFER) vmcsWrite(c, base, F.GUEST_EFER, c.efer, 0);
  // "IA-32e mode guest" receives IA32_EFER.LMA (SDM 27.2, IA32_VMX_MISC[5]).
  const entry = vmcsRead(c, base, F.ENTRY_CTLS);
  vmcsWrite(c, base, F.ENTRY_CTLS, (c.efer & EFER_LMA) ? entry | ENTRY_IA32E : entry & ~ENTRY_IA32E);
  vmcsWrite(c, base, F.GUEST_ACTIVITY, c.halted ? 1 : 0);
  let intr = 0;
  if (c.icount < c.inhibitUntil) intr = c.icount < c.ssShadowUntil ? 2 : 1; // blocking by MOV SS / by STI
  vmcsWrite(c, base, F.GUEST_INTERRUPTIBILITY, intr);
  vmcsWrite(c, base, F.GUEST_PENDING_DBG, 0, 0);
  if (v.exitCtls & EXIT_SAVE_TIMER) vmcsWrite(c, base, F.PREEMPTION_TIMER, v.x.reason === ER_PREEMPT ? 0 : timerRemaining(c, v));
}

function leaveNonRoot(c: Cpu): void {
  c.vmxNonRoot = false;
  c.gpaToHpa = null;
  c.cr0Fixed0 = CR0_FIXED0;
  c.vmxTscOffset = 0;
  c.vmxTimerDeadline = Infinity;
  c.delivVec = -1;
}

function finishExit(c: Cpu, v: Vmx, base: number): void {
  leaveNonRoot(c);
  if (!loadHostState(c, v, base)) return;
  const loadCount = vmcsRead32(c, base, F.EXIT_MSR_LOAD_COUNT);
  if (loadCount > 0 && loadMsrList(c, vmcsReadNum(c, base, F.EXIT_MSR_LOAD_ADDR), loadCount) !== 0) {
    vmxAbort(c, v, 4); // failure loading host MSRs (SDM 27.7)
    return;
  }
  c.eventCount++; // an exit is a control transfer: no single-step trap for the abandoned instruction
  c.checkEvents = true;
  c.nextRip = c.rip;
  v.exits++;
  v.exitCounts[v.x.reason & 0x7f]++;
  if (v.tsHost) {
    v.tsHost = false;
    c.stop = StopReason.VmExit;
    c.stopMessage = `VM exit, reason ${v.x.reason & 0xffff}${v.x.reason & ER_ENTRY_FAIL ? ' (VM-entry failure)' : ''}`;
  }
}

/** VMX abort (SDM 27.7): write the indicator into the VMCS region and shut down. */
export function vmxAbort(c: Cpu, v: Vmx, indicator: number): void {
  leaveNonRoot(c);
  c.mem.write(v.current + OFF_ABORT, 4, indicator);
  c.halted = true;
  c.stop = StopReason.TripleFault;
  c.stopMessage = `VMX abort, indicator ${indicator} (SDM Vol. 3C 27.7)`;
}

/** Load the host state (SDM 27.5). False if the PDPTEs of a PAE host are invalid (VMX abort 2). */
function loadHostState(c: Cpu, v: Vmx, base: number): boolean {
  const host64 = (v.exitCtls & EXIT_HOST_64) !== 0;
  c.cr0 = ((vmcsRead(c, base, F.HOST_CR0) & CR0_FIXED1) | CR0_ET) >>> 0;
  c.cr3 = vmcsReadNum(c, base, F.HOST_CR3);
  c.cr4 = (vmcsRead(c, base, F.HOST_CR4) & cr4Fixed1()) >>> 0;
  c.dr[7] = 0x400;
  c.sysenterCs = vmcsRead(c, base, F.HOST_SYSENTER_CS);
  c.sysenterEsp = vmcsReadNum(c, base, F.HOST_SYSENTER_ESP);
  c.sysenterEip = vmcsReadNum(c, base, F.HOST_SYSENTER_EIP);
  if (v.exitCtls & EXIT_LOAD_PAT) { c.patLo = vmcsRead(c, base, F.HOST_PAT); c.patHi = vmcsHi; }
  if (v.exitCtls & EXIT_LOAD_EFER) c.efer = vmcsRead(c, base, F.HOST_EFER) & (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
  else c.efer = host64 ? c.efer | EFER_LMA | EFER_LME : c.efer & ~(EFER_LMA | EFER_LME);
  // Segment registers (SDM 27.5.2).
  c.segSel[CS] = vmcsRead(c, base, F.HOST_CS_SEL);
  c.segBase[CS] = 0; c.segLimit[CS] = 0xffffffff;
  c.segAttr[CS] = 0x809b | (host64 ? 0x2000 : 0x4000); // type 11, S, P, G; L or D/B
  const dataSel = [F.HOST_ES_SEL, 0, F.HOST_SS_SEL, F.HOST_DS_SEL, F.HOST_FS_SEL, F.HOST_GS_SEL];
  for (const s of [ES, SS, DS, FS, GS]) {
    const sel = vmcsRead(c, base, dataSel[s]);
    c.segSel[s] = sel;
    c.segBase[s] = 0;
    c.segLimit[s] = 0xffffffff;
    // A null selector makes the register unusable (SS keeps D/B for the stack size).
    c.segAttr[s] = sel === 0 ? (s === SS ? 0x4000 : 0) : 0xc093;
  }
  c.segBase[FS] = vmcsReadNum(c, base, F.HOST_FS_BASE);
  c.segBase[GS] = vmcsReadNum(c, base, F.HOST_GS_BASE);
  c.segSel[TR] = vmcsRead(c, base, F.HOST_TR_SEL);
  c.segBase[TR] = vmcsReadNum(c, base, F.HOST_TR_BASE);
  c.segLimit[TR] = 0x67; c.segAttr[TR] = 0x8b;
  c.segSel[LDTR] = 0; c.segBase[LDTR] = 0; c.segLimit[LDTR] = 0; c.segAttr[LDTR] = 0;
  c.gdtBase = vmcsReadNum(c, base, F.HOST_GDTR_BASE); c.gdtLimit = 0xffff;
  c.idtBase = vmcsReadNum(c, base, F.HOST_IDTR_BASE); c.idtLimit = 0xffff;
  c.rl[RSP] = vmcsRead(c, base, F.HOST_RSP); c.rh[RSP] = host64 ? vmcsHi : 0;
  c.rip = c.nextRip = host64 ? vmcsReadNum(c, base, F.HOST_RIP) : vmcsRead32(c, base, F.HOST_RIP);
  c.flags = 2; setArith(c, 0); // RFLAGS = 2 (SDM 27.5.3)
  c.halted = false;
  c.inhibitUntil = -1; c.ssShadowUntil = -1;
  updateMode(c);
  v.tlbs.exit(c); // host TLB back; invalidated unless the guest ran with its own VPID (SDM 29.4.3.3)
  // PAE paging host: the PDPTEs are loaded and checked (SDM 27.5.4).
  if ((c.cr0 & CR0_PG) && (c.cr4 & CR4_PAE) && !(c.efer & EFER_LMA) && !pdptesValid(c, c.cr3)) {
    vmxAbort(c, v, 2);
    return false;
  }
  return true;
}

/** The four PAE PDPTEs at CR3 have no reserved bit set in a present entry (SDM Vol. 3A 4.4.1). */
export function pdptesValid(c: Cpu, cr3: number): boolean {
  const at = (cr3 % TWO32) & 0xffffffe0;
  for (let k = 0; k < 4; k++) {
    const lo = c.mem.read((at >>> 0) + 8 * k, 4) | 0, hi = c.mem.read((at >>> 0) + 8 * k + 4, 4) | 0;
    if ((lo & 1) && ((lo & 0x1e6) || (hi & HI_RSVD))) return false;
  }
  return true;
}
