// VM entry (SDM Vol. 3C chapter 26) after VMLAUNCH/VMRESUME's own checks: control and host-state
// checks (VMfailValid 7/8), guest-state checks (VM-entry failure, exit reason 33), loading the guest
// state, the VM-entry MSR-load area (failure: exit reason 34), and event injection through the
// ordinary IDT delivery path. Returns 0 when VM entry succeeded or failed with a VM-entry-failure
// exit (the CPU then runs the guest, or the host after the failure), else the VMfailValid number.
import {
  Cpu, ES, TR, RSP, CR0_ET, CR0_PE, CR0_PG, EFER_LMA, EFER_LME, EFER_SCE, EFER_NXE,
} from '../cpu/state.ts';
import { setRflags } from '../cpu/flags.ts';
import { updateMode } from '../cpu/segments.ts';
import {
  deliverThroughIdt, EV_EXTERNAL, EV_EXCEPTION, EV_SOFTWARE, EV_SOFT_EXCEPTION, EV_PRIV_SOFT_EXCEPTION,
} from '../cpu/interrupts.ts';
import * as F from './fields.ts';
import { vmcsRead, vmcsRead32, vmcsReadNum, vmcsHi, loadControls, setLaunchState } from './vmcs.ts';
import { type Vmx, ER_INVALID_GUEST, ER_MSR_LOADING } from './state.ts';
import {
  ENTRY_IA32E, ENTRY_LOAD_DEBUG, ENTRY_LOAD_PAT, ENTRY_LOAD_EFER, PIN_PREEMPT, PROC_TSC_OFFSET,
  CR0_FIXED1, cr4Fixed1, TIMER_RATE_SHIFT, PROC2_EPT, PROC2_PML, PROC2_SPP, PROC2_VPID, PROC2_UNRESTRICTED, CR0_FIXED0,
} from './capabilities.ts';
import { eptTranslate } from './ept.ts';
import { checkControls, checkHost, checkGuest } from './entry-checks.ts';
import { entryFailure, GUEST_SEL, GUEST_BASE, GUEST_LIMIT, GUEST_AR } from './exit.ts';
import { attrOf } from './access-rights.ts';
import { loadMsrList } from './msr-lists.ts';

/** VM-instruction error numbers of VM entry (SDM Vol. 3C 30.4). */
export const ERR_ENTRY_CONTROLS = 7, ERR_ENTRY_HOST = 8;

export function vmEntry(c: Cpu, v: Vmx, launch: boolean): number {
  const base = v.current;
  v.lastCheckFailure = '';
  loadControls(c, v, base);
  if (!checkControls(c, v, base)) return ERR_ENTRY_CONTROLS;
  if (!checkHost(c, v, base)) return ERR_ENTRY_HOST;
  const q = checkGuest(c, v, base);
  if (q >= 0) { entryFailure(c, v, ER_INVALID_GUEST, q); return 0; }
  loadGuestState(c, v, base);
  const n = vmcsRead32(c, base, F.ENTRY_MSR_LOAD_COUNT);
  if (n > 0) {
    const bad = loadMsrList(c, vmcsReadNum(c, base, F.ENTRY_MSR_LOAD_ADDR), n);
    if (bad !== 0) { entryFailure(c, v, ER_MSR_LOADING, bad); return 0; }
  }
  if (launch) setLaunchState(c, base, true);
  enterNonRoot(c, v, base);
  injectEvent(c, base); // may throw FAULT: a fault during delivery is handled as in the guest (SDM 26.5.1.2)
  return 0;
}

/** Load the guest state (SDM 26.3.2). Checks have passed, so values are consistent. */
function loadGuestState(c: Cpu, v: Vmx, base: number): void {
  const ia32e = (v.entryCtls & ENTRY_IA32E) !== 0;
  c.cr0 = ((vmcsRead(c, base, F.GUEST_CR0) & CR0_FIXED1) | CR0_ET) >>> 0;
  c.cr3 = vmcsReadNum(c, base, F.GUEST_CR3);
  c.cr4 = (vmcsRead(c, base, F.GUEST_CR4) & cr4Fixed1()) >>> 0;
  if (v.entryCtls & ENTRY_LOAD_DEBUG) c.dr[7] = vmcsRead32(c, base, F.GUEST_DR7);
  c.sysenterCs = vmcsRead(c, base, F.GUEST_SYSENTER_CS);
  c.sysenterEsp = vmcsReadNum(c, base, F.GUEST_SYSENTER_ESP);
  c.sysenterEip = vmcsReadNum(c, base, F.GUEST_SYSENTER_EIP);
  if (v.entryCtls & ENTRY_LOAD_PAT) { c.patLo = vmcsRead(c, base, F.GUEST_PAT); c.patHi = vmcsHi; }
  if (v.entryCtls & ENTRY_LOAD_EFER) c.efer = vmcsRead(c, base, F.GUEST_EFER) & (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
  else {
    // LMA from "IA-32e mode guest"; LME too when the guest has paging on (SDM 26.3.2.1).
    c.efer = ia32e ? c.efer | EFER_LMA : c.efer & ~EFER_LMA;
    if (c.cr0 & CR0_PG) c.efer = ia32e ? c.efer | EFER_LME : c.efer & ~EFER_LME;
  }
  for (let s = ES; s <= TR; s++) {
    c.segSel[s] = vmcsRead(c, base, GUEST_SEL[s]);
    c.segBase[s] = vmcsReadNum(c, base, GUEST_BASE[s]);
    c.segLimit[s] = vmcsRead32(c, base, GUEST_LIMIT[s]);
    c.segAttr[s] = attrOf(vmcsRead(c, base, GUEST_AR[s]) >>> 0);
  }
  c.gdtBase = vmcsReadNum(c, base, F.GUEST_GDTR_BASE); c.gdtLimit = vmcsRead32(c, base, F.GUEST_GDTR_LIMIT);
  c.idtBase = vmcsReadNum(c, base, F.GUEST_IDTR_BASE); c.idtLimit = vmcsRead32(c, base, F.GUEST_IDTR_LIMIT);
  c.rl[RSP] = vmcsRead(c, base, F.GUEST_RSP); c.rh[RSP] = vmcsHi;
  c.rip = c.nextRip = vmcsReadNum(c, base, F.GUEST_RIP);
  setRflags(c, vmcsRead(c, base, F.GUEST_RFLAGS), ~0);
  // Activity and interruptibility (SDM 26.6.1, 26.6.2). A vectoring entry has no STI/MOV-SS blocking.
  c.halted = vmcsRead32(c, base, F.GUEST_ACTIVITY) === 1;
  const vectoring = vmcsRead(c, base, F.ENTRY_INTR_INFO) < 0;
  const intr = vectoring ? 0 : vmcsRead32(c, base, F.GUEST_INTERRUPTIBILITY);
  c.inhibitUntil = intr & 3 ? c.icount + 1 : -1;
  c.ssShadowUntil = intr & 2 ? c.icount + 1 : -1;
  updateMode(c);
}

/** Switch the CPU to VMX non-root operation with the cached controls. */
function enterNonRoot(c: Cpu, v: Vmx, base: number): void {
  c.vmxNonRoot = true;
  // EPT (SDM 29.3), PML (29.3.6) and SPP (29.3.4): the checks passed, the pointers are valid.
  if (v.proc2 & PROC2_EPT) {
    const eptp = vmcsReadNum(c, base, F.EPT_POINTER);
    v.eptRoot = eptp - (eptp % 4096);
    v.eptAd = (eptp & 0x40) !== 0;
    v.pmlOn = (v.proc2 & PROC2_PML) !== 0;
    v.pmlAddr = v.pmlOn ? vmcsReadNum(c, base, F.PML_ADDRESS) : 0;
    v.sppOn = (v.proc2 & PROC2_SPP) !== 0;
    v.sppRoot = v.sppOn ? vmcsReadNum(c, base, F.SPPT_POINTER) : 0;
    c.gpaToHpa = eptTranslate;
  } else { c.gpaToHpa = null; v.eptRoot = 0; }
  v.tlbs.enter(c, (v.proc2 & PROC2_VPID) !== 0, v.vpid, v.eptRoot);
  // An unrestricted guest may clear CR0.PE and CR0.PG (SDM Vol. 3C 23.8, 25.3).
  c.cr0Fixed0 = (v.proc2 & PROC2_UNRESTRICTED) ? CR0_FIXED0 & ~(CR0_PE | CR0_PG) : CR0_FIXED0;
  c.vmxTscOffset = (v.proc & PROC_TSC_OFFSET) ? v.tscOffset : 0;
  c.delivVec = -1;
  if (v.pin & PIN_PREEMPT) {
    // The timer counts down each time TSC bit X changes, X = IA32_VMX_MISC[4:0] (SDM 25.5.1);
    // a value of 0 exits before the first guest instruction (SDM 26.6.4).
    // The TSC is now() + the IA32_TSC write offset (cpu/msr.ts), without the VMCS TSC offset.
    v.timerValue = vmcsRead32(c, base, F.PREEMPTION_TIMER);
    v.timerBase = Math.floor((c.now() + c.tscOffset) / (1 << TIMER_RATE_SHIFT));
    c.vmxTimerDeadline = (v.timerBase + v.timerValue) * (1 << TIMER_RATE_SHIFT) - c.tscOffset;
    if (v.timerValue === 0) c.vmxTimerDeadline = c.now();
  } else c.vmxTimerDeadline = Infinity;
  v.entries++;
  c.checkEvents = true; // timer, interrupt window and external interrupts are examined before the first instruction
}

/** Event injection (SDM 26.5.1): deliver the event as if it occurred now, through the guest IDT. */
function injectEvent(c: Cpu, base: number): void {
  const info = vmcsRead(c, base, F.ENTRY_INTR_INFO);
  if (info >= 0) return;
  const vec = info & 0xff, type = (info >>> 8) & 7, hasCode = (info & 0x800) !== 0;
  const code = hasCode ? vmcsRead32(c, base, F.ENTRY_EXCEPTION_ERROR) : 0;
  let kind: number;
  switch (type) {
    case 0: kind = EV_EXTERNAL; break;
    case 2: case 3: kind = EV_EXCEPTION; break;
    case 4: kind = EV_SOFTWARE; break;
    case 5: kind = EV_PRIV_SOFT_EXCEPTION; break;
    default: kind = EV_SOFT_EXCEPTION; break;
  }
  // Software events push RIP + VM-entry instruction length (SDM 26.5.1.1).
  const soft = kind === EV_SOFTWARE || kind === EV_SOFT_EXCEPTION || kind === EV_PRIV_SOFT_EXCEPTION;
  c.nextRip = soft ? c.rip + vmcsRead32(c, base, F.ENTRY_INSN_LEN) : c.rip;
  deliverThroughIdt(c, vec, kind, hasCode, code);
  // A delivered software event stands for the INT n / INT3 / INTO / INT1 of that length: it retires,
  // so virtual time (ARCHITECTURE.md) counts it as the bare CPU counts the instruction.
  if (soft) c.icount++;
}
