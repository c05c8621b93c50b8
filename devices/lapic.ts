// Local APIC in xAPIC mode (Intel SDM Vol. 3A, chapter 10 "Advanced Programmable Interrupt
// Controller"; register map: Table 10-1), a 4 KiB MMIO window at 0xFEE00000.
//
// Time base (ours): the APIC timer's bus clock is the 1 GHz virtual clock, so the current-count
// register decrements once every `divide` virtual ticks and one timer period is
// initialCount × divide ticks (SDM 10.5.4: the timer counts down at bus clock / divide value).
//
// Choices of ours (documented in devices/README.md):
// - Version register 0x00050014: version 14h, max LVT entry 5 (timer, thermal, perf, LINT0,
//   LINT1, error). There is no CMCI LVT; offset 2F0h reads 0. Timer modes: one-shot and
//   periodic; TSC-deadline (not advertised) behaves as one-shot.
// - Only fixed delivery is modelled. ICR writes deliver fixed self-IPIs (shorthand self / all
//   including self, or a destination that matches this APIC); INIT, SIPI, NMI, SMI are ignored.
// - LINT0/LINT1 are not wired: the PC machine consults the PIC directly (see devices/index.ts).
// - IA32_APIC_BASE writes may move the base in the MSR value but the MMIO window stays at
//   0xFEE00000. Clearing the global enable bit resets the APIC state (except its ID); while
//   globally disabled, MMIO reads return all ones and writes are dropped.
// - Register accesses that are not 32-bit at offset 0 of a 16-byte slot: reads return the
//   addressed bytes of the register, writes are treated as a zero-extended 32-bit write.

import type { Clock, InterruptSource, TimedDevice } from './types.ts';
import type { MmioDevice } from '../emulator/memory/physical.ts';

export const LAPIC_BASE = 0xfee00000;
export const LAPIC_SIZE = 0x1000;
export const LAPIC_VERSION = 0x00050014;

// LVT entries in register order 320h..370h: timer, thermal, perf, LINT0, LINT1, error;
// the writable bits of each (SDM Figure 10-8)
const LVT_TIMER = 0, LVT_ERROR = 5;
const LVT_WRITABLE = [0x000700ff, 0x000107ff, 0x000107ff, 0x0001a7ff, 0x0001a7ff, 0x000100ff];
const LVT_MASK = 0x00010000;

// ESR bits (SDM 10.5.3)
const ESR_SEND_ILLEGAL_VECTOR = 0x20, ESR_RECV_ILLEGAL_VECTOR = 0x40;

function highestBit(a: Uint32Array): number {
  for (let i = 7; i >= 0; i--) if (a[i] !== 0) return i * 32 + 31 - Math.clz32(a[i]);
  return -1;
}

export class LocalApic implements MmioDevice, InterruptSource, TimedDevice {
  private id: number;
  private tpr = 0;
  private ldr = 0;
  private dfr = 0xffffffff;
  private svr = 0xff;
  private esr = 0;
  private errPending = 0;
  private icrLo = 0;
  private icrHi = 0;
  private readonly irr = new Uint32Array(8);
  private irrCount = 0; // set IRR bits: a cheap hasInterrupt() when nothing is pending
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  private readonly lvt = new Uint32Array(6);
  private initialCount = 0;
  private divideConfig = 0;
  // Timer: the count was `timerCount` at tick `timerBase`; it reaches 0 at `deadline`.
  private timerBase = 0;
  private timerCount = 0;
  private deadline = Infinity;
  // IA32_APIC_BASE (SDM 10.4.4)
  private base = LAPIC_BASE;
  private globalEnable = true;
  private readonly bsp: boolean;

  constructor(private readonly clock: Clock, opts: { id?: number; bsp?: boolean } = {}) {
    this.id = (opts.id ?? 0) & 0xff;
    this.bsp = opts.bsp ?? true;
    this.reset();
  }

  /** Power-up state (SDM 10.4.7.1). */
  private reset(): void {
    this.tpr = 0; this.ldr = 0; this.dfr = 0xffffffff; this.svr = 0xff;
    this.esr = 0; this.errPending = 0; this.icrLo = 0; this.icrHi = 0;
    this.irr.fill(0); this.isr.fill(0); this.tmr.fill(0); this.irrCount = 0;
    this.lvt.fill(LVT_MASK);
    this.initialCount = 0; this.divideConfig = 0; this.deadline = Infinity; this.timerCount = 0;
  }

  private swEnabled(): boolean { return (this.svr & 0x100) !== 0; }

  // ---- interrupt acceptance and priority (SDM 10.8) ----

  /** Accept a fixed interrupt into IRR (from an LVT, an IPI or, later, an I/O APIC / MSI). */
  deliver(vector: number, level = false): void {
    vector &= 0xff;
    if (vector < 16) { this.signalError(ESR_RECV_ILLEGAL_VECTOR); return; }
    const w = vector >>> 5, bit = 1 << (vector & 31);
    if (!(this.irr[w] & bit)) this.irrCount++;
    this.irr[w] |= bit;
    if (level) this.tmr[w] |= bit; else this.tmr[w] &= ~bit;
  }

  private signalError(bits: number): void {
    this.errPending |= bits;
    const e = this.lvt[LVT_ERROR];
    if (!(e & LVT_MASK) && (e & 0xff) >= 16) this.deliver(e & 0xff);
  }

  /** Processor priority (SDM 10.8.3.1). */
  ppr(): number {
    const isrv = highestBit(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr & 0xff : isrClass;
  }

  hasInterrupt(): boolean {
    if (this.irrCount === 0 || !this.globalEnable) return false;
    const v = highestBit(this.irr);
    return v >= 0 && (v & 0xf0) > (this.ppr() & 0xf0);
  }

  acknowledge(): number {
    // Nothing deliverable any more: spurious-interrupt vector, no ISR bit (SDM 10.9).
    if (!this.hasInterrupt()) return this.svr & 0xff;
    const v = highestBit(this.irr);
    this.irr[v >>> 5] &= ~(1 << (v & 31));
    this.irrCount--;
    this.isr[v >>> 5] |= 1 << (v & 31);
    return v;
  }

  /** EOI: clears the highest-priority ISR bit (SDM 10.8.5). */
  private eoi(): void {
    const v = highestBit(this.isr);
    if (v < 0) return;
    this.isr[v >>> 5] &= ~(1 << (v & 31));
    this.tmr[v >>> 5] &= ~(1 << (v & 31));
  }

  /** MOV to CR8: TPR[7:4] = CR8[3:0], TPR[3:0] = 0 (SDM 10.8.6.1). */
  setCr8(v: number): void { this.tpr = (v & 0xf) << 4; }
  /** MOV from CR8: TPR[7:4]. */
  getCr8(): number { return (this.tpr >>> 4) & 0xf; }

  // ---- IA32_APIC_BASE MSR (0x1B): bit 8 BSP, bit 11 global enable, bits 12+ base ----

  /** The MSR value (below 2^52, exact as a double). */
  readApicBaseMsr(): number {
    return this.base + (this.globalEnable ? 0x800 : 0) + (this.bsp ? 0x100 : 0);
  }

  /** Returns false if reserved bits are set (the caller raises #GP(0)); bit 10 (x2APIC) is reserved here. */
  writeApicBaseMsr(lo: number, hi: number): boolean {
    lo >>>= 0; hi >>>= 0;
    if ((lo & 0x6ff) !== 0 || (hi & 0xfff00000) !== 0) return false;
    this.base = hi * 0x100000000 + ((lo & 0xfffff000) >>> 0);
    const enable = (lo & 0x800) !== 0;
    if (this.globalEnable && !enable) this.reset();
    this.globalEnable = enable;
    return true;
  }

  // ---- timer (SDM 10.5.4) ----

  private divide(): number {
    const v = ((this.divideConfig >>> 1) & 4) | (this.divideConfig & 3);
    return v === 7 ? 1 : 2 << v;
  }

  private periodic(): boolean { return ((this.lvt[LVT_TIMER] >>> 17) & 3) === 1; }

  private currentCount(now: number): number {
    if (this.deadline === Infinity) return 0;
    return Math.max(0, this.timerCount - Math.floor((now - this.timerBase) / this.divide()));
  }

  /** Fire an expired timer (once, coalescing missed periods) and re-arm a periodic one. */
  private syncTimer(now: number): void {
    if (now < this.deadline) return;
    const t = this.lvt[LVT_TIMER];
    if (!(t & LVT_MASK)) this.deliver(t & 0xff);
    if (this.periodic() && this.initialCount !== 0) {
      const period = this.initialCount * this.divide();
      this.timerBase = this.deadline + Math.floor((now - this.deadline) / period) * period;
      this.timerCount = this.initialCount;
      this.deadline = this.timerBase + period;
    } else {
      this.deadline = Infinity;
    }
  }

  nextEvent(): number {
    return (this.lvt[LVT_TIMER] & LVT_MASK) ? Infinity : this.deadline;
  }

  advance(now: number): void { this.syncTimer(now); }

  // ---- MMIO (SDM Table 10-1) ----

  mmioRead(offset: number, size: number): number {
    if (!this.globalEnable) return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
    const byte = offset & 0xf;
    if (byte >= 4) return 0;
    const v = this.readReg(offset & 0xff0) >>> (byte * 8);
    return size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v >>> 0;
  }

  mmioWrite(offset: number, _size: number, value: number): void {
    if (!this.globalEnable || (offset & 0xf) !== 0) return;
    this.writeReg(offset & 0xff0, value >>> 0);
  }

  private readReg(reg: number): number {
    const now = this.clock.now();
    this.syncTimer(now);
    switch (reg) {
      case 0x020: return this.id << 24;
      case 0x030: return LAPIC_VERSION;
      case 0x080: return this.tpr;
      case 0x0a0: return this.ppr();
      case 0x0d0: return this.ldr;
      case 0x0e0: return this.dfr;
      case 0x0f0: return this.svr;
      case 0x280: return this.esr;
      case 0x300: return this.icrLo & ~0x1000; // delivery status: always idle
      case 0x310: return this.icrHi;
      case 0x380: return this.initialCount;
      case 0x390: return this.currentCount(now);
      case 0x3e0: return this.divideConfig;
    }
    if (reg >= 0x100 && reg < 0x180) return this.isr[(reg - 0x100) >>> 4];
    if (reg >= 0x180 && reg < 0x200) return this.tmr[(reg - 0x180) >>> 4];
    if (reg >= 0x200 && reg < 0x280) return this.irr[(reg - 0x200) >>> 4];
    if (reg >= 0x320 && reg <= 0x370) return this.lvt[(reg - 0x320) >>> 4];
    return 0; // APR (0x090), RRD (0x0C0), reserved
  }

  private writeReg(reg: number, v: number): void {
    const now = this.clock.now();
    this.syncTimer(now);
    switch (reg) {
      case 0x020: this.id = v >>> 24; return;
      case 0x080: this.tpr = v & 0xff; return;
      case 0x0b0: this.eoi(); return;
      case 0x0d0: this.ldr = (v & 0xff000000) >>> 0; return;
      case 0x0e0: this.dfr = (v | 0x0fffffff) >>> 0; return;
      case 0x0f0:
        this.svr = v & 0x3ff;
        if (!this.swEnabled()) for (let i = 0; i < 6; i++) this.lvt[i] |= LVT_MASK; // SDM 10.4.7.2
        return;
      case 0x280: this.esr = this.errPending; this.errPending = 0; return; // write latches errors
      case 0x300: this.icrLo = v & 0x000ccfff; this.sendIpi(); return;
      case 0x310: this.icrHi = (v & 0xff000000) >>> 0; return;
      case 0x380: this.writeInitialCount(v, now); return;
      case 0x3e0: this.writeDivide(v, now); return;
    }
    if (reg >= 0x320 && reg <= 0x370) {
      const i = (reg - 0x320) >>> 4;
      let e = v & LVT_WRITABLE[i];
      if (!this.swEnabled()) e |= LVT_MASK; // cannot unmask while software-disabled
      this.lvt[i] = (this.lvt[i] & ~LVT_WRITABLE[i]) | e;
    }
    // read-only or reserved: ignored
  }

  private writeInitialCount(v: number, now: number): void {
    this.initialCount = v;
    if (v === 0) { this.deadline = Infinity; return; } // a zero count stops the timer
    this.timerBase = now;
    this.timerCount = v;
    this.deadline = now + v * this.divide();
  }

  private writeDivide(v: number, now: number): void {
    const remaining = this.currentCount(now);
    this.divideConfig = v & 0xb;
    if (this.deadline === Infinity) return;
    this.timerBase = now; // keep the remaining count, run it at the new rate
    this.timerCount = remaining;
    this.deadline = now + remaining * this.divide();
  }

  /** Fixed-delivery IPIs that target this APIC (SDM 10.6.1). */
  private sendIpi(): void {
    const lo = this.icrLo;
    if (((lo >>> 8) & 7) !== 0) return; // only fixed delivery
    const vector = lo & 0xff;
    let toSelf: boolean;
    switch ((lo >>> 18) & 3) {
      case 1: case 2: toSelf = true; break;   // self, all including self
      case 3: toSelf = false; break;          // all excluding self
      default: {
        const dest = this.icrHi >>> 24;
        toSelf = (lo & 0x800)
          ? ((this.ldr >>> 24) & dest) !== 0   // logical, flat model
          : dest === this.id || dest === 0xff; // physical or broadcast
      }
    }
    if (vector < 16) { this.signalError(ESR_SEND_ILLEGAL_VECTOR); return; }
    if (toSelf) this.deliver(vector);
  }

  /** Register snapshot for the debugger and tests. */
  state(): { tpr: number; ppr: number; irrHighest: number; isrHighest: number; timerDeadline: number } {
    return { tpr: this.tpr, ppr: this.ppr(), irrHighest: highestBit(this.irr), isrHighest: highestBit(this.isr), timerDeadline: this.deadline };
  }
}
