// The run loop: fetch (decoded-instruction cache), execute, retire; events (timers, interrupts,
// HLT) are handled only at instruction boundaries when `checkEvents` is set or a deadline passes.
// Time is instructions: each retired instruction is one tick of the 1 GHz virtual clock.
import { Cpu, StopReason, TF, RF } from './state.ts';
import { fetchDecode, fetchSlow } from './decoder.ts';
import type { Insn } from './insn.ts';
import { FAULT } from './fault.ts';
import { deliverException, acceptInterrupt, deliverEvent, EV_EXCEPTION } from './interrupts.ts';
import { DB } from './fault.ts';

/** How many instructions run between checks of the stop flag when nothing else is pending. */
const SLICE = 65536;
const LONG64 = 3; // MODE_LONG64, local so the JIT folds it

export interface RunHooks {
  /** Bring timers up to c.now() and return the next deadline (absolute ticks, or Infinity). */
  onDeadline(c: Cpu): number;
}

/** Execute exactly one instruction (or deliver one pending event). Used by the debugger and tests. */
export function step(c: Cpu): void {
  if (c.checkEvents || c.halted) {
    c.checkEvents = false;
    if (acceptInterrupt(c)) return;
    c.flags &= ~RF; // RF (from IRET) lasts until the next instruction starts (SDM Vol. 3B 18.3.1.1)
    if (c.icount < c.inhibitUntil) c.checkEvents = true; // re-check once the STI / MOV SS shadow ends (as run does)
    if (c.halted) return; // HLT: nothing executes until an interrupt is accepted
  }
  const tf = (c.flags & TF) !== 0, ev = c.eventCount;
  try {
    const ins = fetchDecode(c);
    c.nextRip = c.rip + ins.len;
    ins.exec(c, ins);
    c.rip = c.nextRip;
    c.icount++;
    if (tf && c.eventCount === ev) singleStepTrap(c);
  } catch (e) {
    if (e !== FAULT) throw e;
    deliverException(c);
  }
}

/**
 * Single-step trap: an instruction that began with RFLAGS.TF = 1 and completed without delivering
 * an event is followed by #DB with DR6.BS set (SDM Vol. 3A 18.3.1.4). RIP is already the next one.
 */
function singleStepTrap(c: Cpu): void {
  c.dr[6] = (c.dr[6] | 0x4000) >>> 0;
  c.nextRip = c.rip;
  try {
    deliverEvent(c, DB, EV_EXCEPTION, false, 0);
  } catch (e) {
    if (e !== FAULT) throw e;
    deliverException(c);
  }
}

/**
 * Run until something stops the CPU (c.stop), or `limit` instructions have retired in total.
 * Returns the stop reason; the CPU can be resumed by calling run again after clearing c.stop.
 */
export function run(c: Cpu, hooks: RunHooks, limit = Infinity): StopReason {
  c.stop = StopReason.None;
  while (c.stop === StopReason.None) {
    if (c.checkEvents || c.halted || c.now() >= c.deadline) {
      // Devices may have been re-programmed by I/O: bring them up to date and re-read the deadline.
      c.deadline = hooks.onDeadline(c);
      if (c.vmxTimerDeadline < c.deadline) c.deadline = c.vmxTimerDeadline; // VMX-preemption timer (vmx/)
      c.checkEvents = false;
      acceptInterrupt(c);
      // RFLAGS.RF (loaded by IRET, which also sets checkEvents) "is cleared at the start of the
      // instruction after the check for instruction breakpoints" (SDM Vol. 3B 18.3.1.1); an
      // interrupt taken right here still pushes it as 1.
      c.flags &= ~RF;
      if (c.stop !== StopReason.None) break;
      if (c.icount < c.inhibitUntil) c.checkEvents = true; // re-check after the shadow ends
      if (c.halted) {
        // Nothing to do until the next timer event: skip virtual time forward (HLT).
        if (c.deadline === Infinity) {
          c.stop = StopReason.Halted;
          c.stopMessage = `HLT with no timer armed${(c.flags & 0x200) ? '' : ' and interrupts disabled'} at RIP 0x${c.rip.toString(16)}`;
          break;
        }
        if (c.deadline > c.now()) c.haltTicks += c.deadline - c.now();
        c.checkEvents = true;
        continue;
      }
    }
    if (c.icount >= limit) { c.stop = StopReason.InsnLimit; break; }
    let n = Math.min(SLICE, c.deadline - c.now(), limit - c.icount);
    const tf = (c.flags & TF) !== 0;
    if (c.checkEvents || tf) n = 1;
    const ev = c.eventCount, i0 = c.icount;
    try {
      while (n-- > 0) {
        // Fetch fast path (fetchDecode, inlined by hand: the call alone costs more than a handler).
        const rip = c.rip;
        const off = (c.mode === LONG64 ? rip : rip + c.segBase[1]) - c.fetchLin;
        let ins: Insn | undefined;
        if (off >= 0 && off < 4096) {
          ins = c.fetchPage[off | 0];
          if (ins === undefined || ins.mode !== c.mode) ins = fetchSlow(c);
        } else ins = fetchSlow(c);
        c.nextRip = rip + ins.len;
        ins.exec(c, ins);
        c.rip = c.nextRip;
        c.icount++;
        if (c.checkEvents) break;
      }
      if (tf && c.eventCount === ev && c.icount !== i0) singleStepTrap(c);
    } catch (e) {
      if (e !== FAULT) throw e;
      deliverException(c);
    }
  }
  return c.stop;
}
