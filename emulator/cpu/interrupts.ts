// Event delivery through the IVT/IDT (SDM Vol. 3A chapter 6): real mode, 32-bit protected mode and
// IA-32e mode, with privilege change through the TSS, IST stacks in 64-bit mode, and double/triple
// fault classification (SDM Vol. 3A 6.15 "Interrupt 8", Table 6-5).
import { Cpu, CS, SS, TR, RSP, IF, TF, NT, RF, VM, AC, MODE_LONG64, CR0_PE, EFER_LMA, StopReason } from './state.ts';
import { getRflags } from './flags.ts';
import { rdSys16, rdSys32, rdSys64, wrSys16, wrSys32, wrSys64 } from './memaccess.ts';
import { FAULT, raise, GP, NP, SSV, TS, DF, PF, DE } from './fault.ts';
import { readDescriptor, descLo, descHi, descAttr, setSegment, loadSegReal, updateMode, markAccessed, A_P, A_L, A_DB, A_S, T_CODE, T_CONFORMING } from './segments.ts';
import { push16 } from './stack.ts';

export const EV_EXTERNAL = 0, EV_EXCEPTION = 1, EV_SOFTWARE = 2, EV_SOFT_EXCEPTION = 3;
/**
 * INT1 (F1, ICEBP): #DB delivered as a "privileged software exception" — the saved RIP is the next
 * instruction like INT3, but the gate DPL is not checked and EXT is set in an error code like a
 * hardware exception (SDM Vol. 2A INT n/INTO/INT3/INT1; Vol. 3A 6.12.1.1, 6.13).
 */
export const EV_PRIV_SOFT_EXCEPTION = 4;

const TWO32 = 4294967296;

/** Contributory exceptions (SDM Vol. 3A Table 6-4). */
function contributory(v: number): boolean { return v === DE || (v >= 10 && v <= 13); }

/**
 * Fault-class exceptions (SDM Vol. 3A Table 6-1): #DE #BR #UD #NM #TS #NP #SS #GP #PF #MF #AC #XM
 * #VE #CP. #DB is a fault only for instruction breakpoints, which are not implemented.
 */
const FAULT_CLASS = (1 << 0) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) |
  (1 << 14) | (1 << 16) | (1 << 17) | (1 << 19) | (1 << 20) | (1 << 21);
/**
 * RF forced into the RFLAGS image the frame pushes: "For any fault-class exception except a debug
 * exception generated in response to an instruction breakpoint, the value pushed for RF is 1"
 * (SDM Vol. 3B 18.3.1.1). Set only by deliverException (processor-detected exceptions); events
 * injected by VM entry do not set RF (the VMM does, SDM Vol. 3C 26.6.1).
 */
let rfImage = 0;

/**
 * Hook for VMX: called before delivering an event in VMX non-root operation (only when
 * c.vmxNonRoot); returns true if it caused a VM exit instead (exception bitmap, SDM Vol. 3C 25.2).
 */
export let eventInterceptor: ((c: Cpu, vector: number, kind: number, hasCode: boolean, code: number) => boolean) | null = null;
export function setEventInterceptor(f: typeof eventInterceptor): void { eventInterceptor = f; }

/**
 * Deliver the exception recorded in c.excVector (thrown as FAULT), handling faults during delivery:
 * a contributory or page fault while delivering a contributory/page fault becomes #DF, and any
 * fault while delivering #DF is a triple fault, which stops the CPU (SDM Vol. 3A 6.15).
 */
export function deliverException(c: Cpu): void {
  let vec = c.excVector, hasCode = c.excHasCode, code = c.excCode;
  c.excVector = -1;
  if (vec < 0) return; // a VM exit unwound the instruction (cpu/vmx-hooks.ts): nothing to deliver
  let chain = excName(vec, hasCode, code);
  for (let attempt = 0; ; attempt++) {
    if (vec >= 0 && vec < 32) c.exceptionCounts[vec]++;
    try {
      // In VMX non-root operation the exception may cause a VM exit instead; CR2 is then not
      // written (SDM Vol. 3C 27.1: a #PF that causes a VM exit does not load CR2).
      if (c.vmxNonRoot && eventInterceptor !== null && eventInterceptor(c, vec, EV_EXCEPTION, hasCode, code)) return;
      if (vec === PF) c.cr2 = c.pfAddr;
      rfImage = vec < 32 && ((FAULT_CLASS >>> vec) & 1) !== 0 ? RF : 0;
      deliverThroughIdt(c, vec, EV_EXCEPTION, hasCode, code);
      rfImage = 0;
      return;
    } catch (e) {
      rfImage = 0;
      if (e !== FAULT) throw e;
      const second = c.excVector;
      c.excVector = -1;
      if (second < 0) return; // a VM exit during delivery
      chain += ` -> ${excName(second, c.excHasCode, c.excCode)}`;
      if (vec === DF) {
        if (c.vmxNonRoot && c.vmx !== null) { c.vmx.tripleFault(c); return; } // exit reason 2
        c.stop = StopReason.TripleFault;
        c.stopMessage = `triple fault at RIP 0x${c.rip.toString(16)}: ${chain} while delivering #DF`;
        return;
      }
      if ((contributory(vec) && contributory(second)) || (vec === PF && (second === PF || contributory(second)))) {
        vec = DF; hasCode = true; code = 0;
        chain += ' => #DF';
      } else {
        vec = second; hasCode = c.excHasCode; code = c.excCode;
      }
      if (attempt > 8) {
        if (c.vmxNonRoot && c.vmx !== null) { c.vmx.tripleFault(c); return; }
        c.stop = StopReason.TripleFault;
        c.stopMessage = `triple fault: unrecoverable exception loop at RIP 0x${c.rip.toString(16)}: ${chain}`;
        return;
      }
    }
  }
}

/**
 * Deliver vector `vec`. For EV_SOFTWARE / EV_SOFT_EXCEPTION the saved RIP is c.nextRip (the
 * instruction after INT n / INT3 / INTO); otherwise c.rip. On return c.rip and c.nextRip both hold the
 * handler address.
 */
export function deliverEvent(c: Cpu, vec: number, kind: number, hasCode: boolean, code: number): void {
  if (c.vmxNonRoot && eventInterceptor !== null && eventInterceptor(c, vec, kind, hasCode, code)) return;
  deliverThroughIdt(c, vec, kind, hasCode, code);
}

/**
 * Deliver through the IVT/IDT with no VMX interception (VM-entry event injection calls this
 * directly: an injected event is never subject to the exception bitmap, SDM Vol. 3C 26.5.1).
 * The event is recorded in c.deliv* while delivery is in progress, so that a VM exit raised during
 * delivery can report it as IDT-vectoring information (SDM Vol. 3C 27.2.3).
 */
export function deliverThroughIdt(c: Cpu, vec: number, kind: number, hasCode: boolean, code: number): void {
  c.delivVec = vec; c.delivKind = kind; c.delivHasCode = hasCode; c.delivCode = code; c.delivLen = c.nextRip - c.rip;
  const soft = kind === EV_SOFTWARE || kind === EV_SOFT_EXCEPTION;
  const retRip = soft || kind === EV_PRIV_SOFT_EXCEPTION ? c.nextRip : c.rip;
  const ext = kind === EV_SOFTWARE || kind === EV_SOFT_EXCEPTION ? 0 : 1;
  if (kind === EV_EXTERNAL) c.interruptCount++;
  c.eventCount++;
  c.halted = false;
  if ((c.cr0 & CR0_PE) === 0) deliverReal(c, vec, retRip);
  else if (c.efer & EFER_LMA) deliverLong(c, vec, soft, ext, hasCode, code, retRip);
  else deliverProtected(c, vec, soft, ext, hasCode, code, retRip);
  c.delivVec = -1;
}

function deliverReal(c: Cpu, vec: number, retRip: number): void {
  // IVT entry: offset then segment (SDM Vol. 3A 20.1.4).
  if (vec * 4 + 3 > c.idtLimit) raise(c, GP, 0);
  const ip = rdSys16(c, c.idtBase + vec * 4);
  const cs = rdSys16(c, c.idtBase + vec * 4 + 2);
  push16(c, getRflags(c));
  push16(c, c.segSel[CS]);
  push16(c, retRip);
  c.flags &= ~(IF | TF | AC | RF);
  loadSegReal(c, CS, cs);
  c.rip = c.nextRip = ip;
}

function idtError(vec: number, ext: number): number { return vec * 8 + 2 + ext; }

function deliverProtected(c: Cpu, vec: number, soft: boolean, ext: number, hasCode: boolean, code: number, retRip: number): void {
  if (vec * 8 + 7 > c.idtLimit) raise(c, GP, idtError(vec, ext));
  const lo = rdSys32(c, c.idtBase + vec * 8);
  const hi = rdSys32(c, c.idtBase + vec * 8 + 4);
  const type = (hi >> 8) & 0x1f;
  const gateDpl = (hi >> 13) & 3;
  // 0x0E/0x0F 32-bit interrupt/trap gates, 0x06/0x07 16-bit gates. Task gates are not supported.
  if (type !== 0x0e && type !== 0x0f && type !== 0x06 && type !== 0x07) raise(c, GP, idtError(vec, ext));
  if (soft && gateDpl < c.cpl) raise(c, GP, idtError(vec, 0));
  if (!(hi & 0x8000)) raise(c, NP, idtError(vec, ext));
  const gate32 = (type & 8) !== 0;
  const trap = (type & 1) !== 0;
  const sel = lo >>> 16;
  const offset = gate32 ? ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0 : lo & 0xffff;
  if ((sel & 0xfffc) === 0) raise(c, GP, ext);
  readDescriptor(c, sel, GP, ext);
  const attr = descAttr(descHi);
  const dpl = (attr >> 5) & 3;
  if (!(attr & A_S) || !(attr & T_CODE) || dpl > c.cpl) raise(c, GP, (sel & 0xfffc) + ext);
  if (!(attr & A_P)) raise(c, NP, (sel & 0xfffc) + ext);
  markAccessed(c); // loading CS sets the descriptor's accessed bit (SDM Vol. 3A 3.4.5.1), cached as type 9/11/13/15
  const csLo = descLo, csHi = descHi;
  const flags = getRflags(c) | rfImage;
  const oldCs = c.segSel[CS], oldSs = c.segSel[SS], oldEsp = c.rl[RSP];
  const size = gate32 ? 4 : 2;
  let newCpl = c.cpl;
  let ssBase = c.segBase[SS];
  let sp = c.rl[RSP] >>> 0;
  let spMask = c.stackSize === 32 ? 0xffffffff : 0xffff;
  let newSsSel = -1, ssLo = 0, ssHi = 0;
  if (!(attr & T_CONFORMING) && dpl < c.cpl) {
    // Inter-privilege: new stack from the 32-bit TSS (SDM Vol. 3A 7.2.1, Figure 7-2).
    newCpl = dpl;
    const tss = c.segBase[TR];
    // ESP0..2 at 4 + 8·DPL, SS at +4: "IF (TSSstackAddress + 5) > current TSS limit THEN #TS" (Vol. 2A INT n).
    if (8 * dpl + 9 > c.segLimit[TR]) raise(c, TS, (c.segSel[TR] & 0xfffc) + ext);
    const esp = rdSys32(c, tss + 4 + 8 * dpl) >>> 0;
    const ss = rdSys16(c, tss + 8 + 8 * dpl);
    if ((ss & 0xfffc) === 0) raise(c, TS, ext);
    readDescriptor(c, ss, TS, ext);
    const sa = descAttr(descHi);
    if ((ss & 3) !== dpl || ((sa >> 5) & 3) !== dpl || !(sa & A_S) || (sa & T_CODE) || !(sa & 2)) raise(c, TS, (ss & 0xfffc) + ext);
    if (!(sa & A_P)) raise(c, SSV, (ss & 0xfffc) + ext);
    markAccessed(c);
    newSsSel = ss; ssLo = descLo; ssHi = descHi;
    ssBase = ((descLo >>> 16) | ((descHi & 0xff) << 16) | (descHi & 0xff000000)) >>> 0;
    sp = esp;
    spMask = sa & A_DB ? 0xffffffff : 0xffff;
  }
  const put = (v: number) => {
    sp = (sp - size) & spMask; sp >>>= 0;
    const a = (ssBase + sp) % TWO32;
    if (size === 4) wrSys32(c, a, v); else wrSys16(c, a, v);
  };
  if (newSsSel >= 0) { put(oldSs); put(oldEsp); }
  put(flags); put(oldCs); put(retRip >>> 0);
  if (hasCode) put(code);
  // Commit.
  if (newSsSel >= 0) setSegment(c, SS, newSsSel, ssLo, ssHi);
  c.rl[RSP] = spMask === 0xffff ? (c.rl[RSP] & ~0xffff) | sp : sp | 0;
  setSegment(c, CS, (sel & 0xfffc) | newCpl, csLo, csHi);
  c.flags &= ~(TF | NT | RF | VM);
  if (!trap) c.flags &= ~IF;
  updateMode(c);
  c.rip = c.nextRip = offset;
}

function deliverLong(c: Cpu, vec: number, soft: boolean, ext: number, hasCode: boolean, code: number, retRip: number): void {
  // 16-byte IDT gates (SDM Vol. 3A 6.14.1, Figure 6-8).
  if (vec * 16 + 15 > c.idtLimit) raise(c, GP, idtError(vec, ext));
  const g = c.idtBase + vec * 16;
  const lo = rdSys32(c, g);
  const hi = rdSys32(c, g + 4);
  const upper = rdSys32(c, g + 8);
  const type = (hi >> 8) & 0x1f;
  const gateDpl = (hi >> 13) & 3;
  if (type !== 0x0e && type !== 0x0f) raise(c, GP, idtError(vec, ext));
  if (soft && gateDpl < c.cpl) raise(c, GP, idtError(vec, 0));
  if (!(hi & 0x8000)) raise(c, NP, idtError(vec, ext));
  const ist = hi & 7;
  const sel = lo >>> 16;
  const target = upper * TWO32 + (((lo & 0xffff) | (hi & 0xffff0000)) >>> 0);
  if ((sel & 0xfffc) === 0) raise(c, GP, ext);
  readDescriptor(c, sel, GP, ext);
  const attr = descAttr(descHi);
  const dpl = (attr >> 5) & 3;
  if (!(attr & A_S) || !(attr & T_CODE) || dpl > c.cpl || !(attr & A_L) || (attr & A_DB)) raise(c, GP, (sel & 0xfffc) + ext);
  if (!(attr & A_P)) raise(c, NP, (sel & 0xfffc) + ext);
  if (target < -140737488355328 || target >= 140737488355328) raise(c, GP, ext);
  markAccessed(c); // loading CS sets the descriptor's accessed bit (SDM Vol. 3A 3.4.5.1), cached as type 9/11/13/15
  const csLo = descLo, csHi = descHi;
  const newCpl = attr & T_CONFORMING ? c.cpl : dpl;
  const flags = getRflags(c) | rfImage;
  const oldCs = c.segSel[CS], oldSs = c.segSel[SS];
  const oldRspLo = c.rl[RSP], oldRspHi = c.rh[RSP];
  let rsp: number;
  const tss = c.segBase[TR];
  if (ist !== 0) {
    rsp = tssRead64(c, tss + 0x24 + (ist - 1) * 8, ext);
  } else if (newCpl < c.cpl) {
    rsp = tssRead64(c, tss + 4 + newCpl * 8, ext);
  } else {
    rsp = c.getReg64(RSP);
  }
  rsp = rsp - (((rsp % 16) + 16) % 16); // aligned to 16 bytes (SDM Vol. 3A 6.14.2)
  // The whole frame [rsp - size, rsp) must be canonical, else #SS(EXT).
  if (rsp - (hasCode ? 48 : 40) < -140737488355328 || rsp > 140737488355328) raise(c, SSV, ext);
  let sp = rsp;
  const put = (vlo: number, vhi: number) => { sp -= 8; wrSys64(c, sp, vlo, vhi); };
  put(oldSs, 0);
  put(oldRspLo, oldRspHi);
  put(flags, 0);
  put(oldCs, 0);
  put(lo64(retRip), hi64(retRip));
  if (hasCode) put(code, 0);
  // Commit.
  if (newCpl !== c.cpl) {
    // New SS is a null selector with RPL = new CPL (SDM Vol. 3A 6.14.4).
    c.segSel[SS] = newCpl; c.segBase[SS] = 0; c.segLimit[SS] = 0; c.segAttr[SS] = (newCpl << 5) | A_DB;
  }
  c.setReg64(RSP, sp);
  setSegment(c, CS, (sel & 0xfffc) | newCpl, csLo, csHi);
  c.flags &= ~(TF | NT | RF | VM);
  if ((type & 1) === 0) c.flags &= ~IF;
  updateMode(c);
  c.rip = c.nextRip = target;
  if (c.mode !== MODE_LONG64) raise(c, GP, 0);
}

function tssRead64(c: Cpu, a: number, ext: number): number {
  // #TS(error_code(current TSS selector, 0, EXT)) (SDM Vol. 2A INT n, IA-32e mode).
  if (a + 7 > c.segBase[TR] + c.segLimit[TR]) raise(c, TS, (c.segSel[TR] & 0xfffc) + ext);
  const lo = rdSys64(c, a);
  return c.tmpHi * TWO32 + (lo >>> 0);
}

const EXC_NAMES = ['#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', '#9', '#TS', '#NP', '#SS', '#GP', '#PF', '#15', '#MF', '#AC', '#MC', '#XM'];
function excName(v: number, hasCode: boolean, code: number): string {
  const n = v >= 0 && v < EXC_NAMES.length ? EXC_NAMES[v] : `vector ${v}`;
  return hasCode ? `${n}(0x${code.toString(16)})` : n;
}

export function lo64(v: number): number { return (v % TWO32) | 0; }
export function hi64(v: number): number { return Math.floor(v / TWO32) | 0; }

/** Acknowledge and deliver a pending external interrupt if RFLAGS.IF allows and no shadow is active. */
export function acceptInterrupt(c: Cpu): boolean {
  // VMX non-root: the preemption timer, external-interrupt exiting (which ignores RFLAGS.IF) and
  // interrupt-window exiting are examined first (cpu/vmx-hooks.ts).
  if (c.vmxNonRoot && c.vmx !== null && c.vmx.boundary(c)) return true;
  if (!(c.flags & IF) || c.intr === null || c.icount < c.inhibitUntil) return false;
  if (!c.intr.hasInterrupt()) return false;
  const vec = c.intr.acknowledge();
  c.nextRip = c.rip;
  try {
    deliverEvent(c, vec, EV_EXTERNAL, false, 0);
  } catch (e) {
    if (e !== FAULT) throw e;
    deliverException(c);
  }
  return true;
}


