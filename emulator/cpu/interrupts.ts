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

const TWO32 = 4294967296;

/** Contributory exceptions (SDM Vol. 3A Table 6-4). */
function contributory(v: number): boolean { return v === DE || (v >= 10 && v <= 13); }

/** Hook for VMX: called before delivering an event in VMX non-root operation; returns true if it caused a VM exit. */
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
  let chain = excName(vec, hasCode, code);
  for (let attempt = 0; ; attempt++) {
    if (vec >= 0 && vec < 32) c.exceptionCounts[vec]++;
    if (vec === PF) c.cr2 = c.pfAddr;
    try {
      deliverEvent(c, vec, EV_EXCEPTION, hasCode, code);
      return;
    } catch (e) {
      if (e !== FAULT) throw e;
      const second = c.excVector;
      c.excVector = -1;
      chain += ` -> ${excName(second, c.excHasCode, c.excCode)}`;
      if (vec === DF) {
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
  if (eventInterceptor !== null && eventInterceptor(c, vec, kind, hasCode, code)) return;
  const soft = kind === EV_SOFTWARE || kind === EV_SOFT_EXCEPTION;
  const retRip = soft ? c.nextRip : c.rip;
  const ext = kind === EV_EXTERNAL || kind === EV_EXCEPTION ? 1 : 0;
  if (kind === EV_EXTERNAL) c.interruptCount++;
  c.eventCount++;
  c.halted = false;
  if ((c.cr0 & CR0_PE) === 0) return deliverReal(c, vec, retRip);
  if (c.efer & EFER_LMA) return deliverLong(c, vec, soft, ext, hasCode, code, retRip);
  return deliverProtected(c, vec, soft, ext, hasCode, code, retRip);
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
  readDescriptor(c, sel, GP);
  const attr = descAttr(descHi);
  const dpl = (attr >> 5) & 3;
  if (!(attr & A_S) || !(attr & T_CODE) || dpl > c.cpl) raise(c, GP, (sel & 0xfffc) + ext);
  if (!(attr & A_P)) raise(c, NP, (sel & 0xfffc) + ext);
  const csLo = descLo, csHi = descHi;
  const flags = getRflags(c);
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
    if (8 * dpl + 11 > c.segLimit[TR]) raise(c, TS, (c.segSel[TR] & 0xfffc) + ext);
    const esp = rdSys32(c, tss + 4 + 8 * dpl) >>> 0;
    const ss = rdSys16(c, tss + 8 + 8 * dpl);
    if ((ss & 0xfffc) === 0) raise(c, TS, ext);
    readDescriptor(c, ss, TS);
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
  readDescriptor(c, sel, GP);
  const attr = descAttr(descHi);
  const dpl = (attr >> 5) & 3;
  if (!(attr & A_S) || !(attr & T_CODE) || dpl > c.cpl || !(attr & A_L) || (attr & A_DB)) raise(c, GP, (sel & 0xfffc) + ext);
  if (!(attr & A_P)) raise(c, NP, (sel & 0xfffc) + ext);
  if (target < -140737488355328 || target >= 140737488355328) raise(c, GP, ext);
  const csLo = descLo, csHi = descHi;
  const newCpl = attr & T_CONFORMING ? c.cpl : dpl;
  const flags = getRflags(c);
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


