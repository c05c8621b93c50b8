// 8254 programmable interval timer (Intel 82C54 datasheet) at 0x40-0x43, plus port 0x61
// (PC system control port B: channel 2 gate and status bits).
//
// Time base: the PIT input clock is 1.193182 MHz. PIT clock edge n happens at virtual time
// n × 1e9 / 1193182 ticks = n × 500000000 / 596591 (the fraction in lowest terms), so every
// 596591 PIT clocks are exactly 500000000 ticks. Conversions split time at those blocks and stay
// exact integer arithmetic in doubles: no rounding error, no drift, however long the run.
//
// Each counter's state is analytic: the clock L at which its count was loaded into the counting
// element and the count N; OUT, the current count and the next OUT rising edge are computed from
// (clock - L). Channel 0's OUT rising edges pulse IRQ0 (raise then lower), as the PC's edge-
// triggered PIC input sees them. Gates of channels 0 and 1 are tied high; channel 2's gate is port
// 0x61 bit 0.
//
// Choices of ours (documented in devices/README.md):
// - A new count written in mode 2 or 3 while counting takes effect at the end of the current
//   period (the datasheet says end of the current half-cycle for mode 3).
// - Counts of 1 in modes 2 and 3 (illegal per the datasheet) behave as 2.
// - Port 0x61: bits 3:0 read back as written; bit 4 toggles every 18 PIT clocks (15.09 µs, the
//   refresh period a BIOS programs into channel 1); bit 5 is channel 2's OUT; bits 7:6 read 0.

import type { Clock, IrqLine, TimedDevice } from './types.ts';
import type { PortDevice } from '../emulator/memory/iobus.ts';

export const PIT_HZ = 1_193_182;
const BLOCK_TICKS = 500_000_000; // 1e9 / gcd(1e9, 1193182)
const BLOCK_CLOCKS = 596_591;    // 1193182 / gcd(1e9, 1193182)

/** Number of the last PIT clock edge at or before virtual tick t (edge 0 is at t = 0). */
export function pitClockAt(t: number): number {
  const q = Math.floor(t / BLOCK_TICKS);
  return q * BLOCK_CLOCKS + Math.floor(((t - q * BLOCK_TICKS) * BLOCK_CLOCKS) / BLOCK_TICKS);
}

/** First integer virtual tick at or after PIT clock edge n. */
export function tickOfPitClock(n: number): number {
  if (n === Infinity) return Infinity;
  const q = Math.floor(n / BLOCK_CLOCKS);
  return q * BLOCK_TICKS + Math.ceil(((n - q * BLOCK_CLOCKS) * BLOCK_TICKS) / BLOCK_CLOCKS);
}

function fromBcd(v: number): number {
  return ((v >>> 12) & 0xf) * 1000 + ((v >>> 8) & 0xf) * 100 + ((v >>> 4) & 0xf) * 10 + (v & 0xf);
}
function toBcd(v: number): number {
  return ((Math.floor(v / 1000) % 10) << 12) | ((Math.floor(v / 100) % 10) << 8) | ((Math.floor(v / 10) % 10) << 4) | (v % 10);
}
function mod(a: number, m: number): number { return ((a % m) + m) % m; }

const IDLE = 0, WAITING = 1, COUNTING = 2; // no count yet / count written, awaiting gate trigger / running

/** One counter (datasheet: "Operation", modes 0-5). Clocks are PIT clock edge numbers. */
class Counter {
  mode = 0;
  rw = 3;           // 1 = LSB only, 2 = MSB only, 3 = LSB then MSB
  bcd = false;
  state = IDLE;
  gate = true;
  initial = 0;      // programmed count (0 means the maximum)
  n = 0x10000;      // count in use, as a number of clocks
  l = 0;            // clock at which the count is loaded into the counting element
  pausedAt = -1;    // gate-low clock while suspended, else -1
  switchAt = Infinity; // mode 2/3: clock at which `initial` replaces n (end of the current period)
  hold = 0;         // count shown while idle
  nullCount = true;
  private writeMsb = false;  // rw = 3: next write is the MSB
  private lsb = 0;
  private readMsb = false;   // rw = 3: next unlatched read is the MSB
  private latched = -1;      // latched count (raw register value) or -1
  private latchReadMsb = false;
  private status = -1;       // latched status byte or -1

  private modulus(): number { return this.bcd ? 10000 : 0x10000; }

  /** Control word for this counter (RW != 0): reset the counter's control logic. */
  control(cw: number, c: number): void {
    this.hold = this.countAt(c);
    this.rw = (cw >>> 4) & 3;
    this.mode = (cw >>> 1) & 7;
    if (this.mode > 5) this.mode -= 4; // 110 and 111 are modes 2 and 3
    this.bcd = (cw & 1) !== 0;
    this.state = IDLE;
    this.pausedAt = -1;
    this.switchAt = Infinity;
    this.nullCount = true;
    this.writeMsb = false;
    this.readMsb = false;
    this.latched = -1;
    this.status = -1;
  }

  writeCount(v: number, c: number): void {
    if (this.rw === 3 && !this.writeMsb) {
      this.lsb = v;
      this.writeMsb = true;
      // Mode 0: writing the first byte stops the count and sets OUT low.
      if (this.mode === 0 && this.state !== IDLE) { this.hold = this.countAt(c); this.state = IDLE; }
      return;
    }
    this.writeMsb = false;
    const raw = this.rw === 1 ? v : this.rw === 2 ? v << 8 : this.lsb | (v << 8);
    this.initial = this.bcd ? fromBcd(raw) : raw;
    this.nullCount = true;
    this.load(c);
  }

  private load(c: number): void {
    const count = this.initial === 0 ? this.modulus() : this.initial;
    switch (this.mode) {
      case 1: case 5: // hardware-triggered: wait for a gate rising edge (a running one-shot continues)
        if (this.state === IDLE) this.state = WAITING;
        return;
      case 2: case 3:
        if (this.state === COUNTING && this.pausedAt < 0 && c >= this.l) {
          const period = this.n;
          this.switchAt = this.l + (Math.floor((c - this.l) / period) + 1) * period;
          return;
        }
        break;
    }
    this.n = (this.mode === 2 || this.mode === 3) && count < 2 ? 2 : count;
    this.start(c);
  }

  /** Count loaded on the next CLK pulse; with the gate low, modes 0/2/3/4 wait for it. */
  private start(c: number): void {
    this.state = COUNTING;
    this.l = c + 1;
    this.switchAt = Infinity;
    this.pausedAt = this.gate ? -1 : c + 1;
  }

  /** Apply a pending mode 2/3 count change once its period boundary has passed. */
  sync(c: number): void {
    if (c >= this.switchAt) {
      this.l = this.switchAt;
      this.n = this.initial === 0 ? this.modulus() : Math.max(2, this.initial);
      this.switchAt = Infinity;
    }
    if (this.state === COUNTING && c >= this.l && this.pausedAt < 0) this.nullCount = false;
  }

  setGate(high: boolean, c: number): void {
    if (high === this.gate) return;
    this.gate = high;
    if (this.state === IDLE) return;
    const m = this.mode;
    if (high) {
      if (m === 1 || m === 5 || ((m === 2 || m === 3) && this.pausedAt >= 0)) {
        this.n = this.initial === 0 ? this.modulus() : (m === 2 || m === 3) ? Math.max(2, this.initial) : this.initial;
        this.start(c); // trigger: (re)load on the next clock
      } else if (this.pausedAt >= 0) {
        this.l += c - this.pausedAt; // modes 0/4: resume where counting stopped
        this.pausedAt = -1;
      }
    } else if (this.state === COUNTING && m !== 1 && m !== 5) {
      this.pausedAt = Math.max(c, this.l);
    }
  }

  outAt(c: number): boolean {
    const m = this.mode;
    if (this.state !== COUNTING) return m !== 0;
    if ((m === 2 || m === 3) && this.pausedAt >= 0) return true; // gate low forces OUT high
    const e = this.pausedAt >= 0 ? Math.min(c, this.pausedAt) : c;
    const k = e - this.l;
    if (k < 0) return m !== 0; // not loaded yet: mode 0 OUT low, others high
    switch (m) {
      case 0: case 1: return k >= this.n;
      case 2: return k % this.n !== this.n - 1;
      case 3: return k % this.n < Math.ceil(this.n / 2);
      default: return k !== this.n; // modes 4, 5: one-clock strobe low at count 0
    }
  }

  /** Counting element value at clock c (binary, before BCD encoding). */
  countAt(c: number): number {
    if (this.state !== COUNTING) return this.hold;
    const e = this.pausedAt >= 0 ? Math.min(c, this.pausedAt) : c;
    const k = e - this.l;
    if (k < 0) return this.hold;
    const n = this.n, mm = this.modulus();
    switch (this.mode) {
      case 2: return (n - (k % n)) % mm;
      case 3: {
        const p = k % n, high = Math.ceil(n / 2);
        const q = p < high ? p : p - high;
        return ((n & 1) ? n - 1 - 2 * q : n - 2 * q) % mm; // decrements by two each clock
      }
      default: return mod(n - k, mm);
    }
  }

  /** First OUT rising edge at a clock > c, or Infinity. */
  nextRise(c: number): number {
    if (this.state !== COUNTING || this.pausedAt >= 0) return Infinity;
    const l = this.l, n = this.n;
    switch (this.mode) {
      case 0: case 1: return l + n > c ? l + n : Infinity;
      case 4: case 5: return l + n + 1 > c ? l + n + 1 : Infinity;
      default: { // 2, 3: rising edges at l + j·n, j >= 1
        const j = c < l ? 1 : Math.floor((c - l) / n) + 1;
        const e = l + j * n;
        return e > this.switchAt ? this.switchAt : e;
      }
    }
  }

  latchCount(c: number): void {
    if (this.latched >= 0) return; // further latch commands ignored until read
    const v = this.countAt(c);
    this.latched = this.bcd ? toBcd(v) : v & 0xffff;
    this.latchReadMsb = false;
  }

  latchStatus(c: number): void {
    if (this.status >= 0) return;
    this.sync(c);
    this.status = (this.outAt(c) ? 0x80 : 0) | (this.nullCount ? 0x40 : 0) | (this.rw << 4) | (this.mode << 1) | (this.bcd ? 1 : 0);
  }

  read(c: number): number {
    if (this.status >= 0) { const s = this.status; this.status = -1; return s; }
    if (this.latched >= 0) {
      const v = this.latched;
      if (this.rw === 3 && !this.latchReadMsb) { this.latchReadMsb = true; return v & 0xff; }
      this.latched = -1;
      return this.rw === 1 ? v & 0xff : v >>> 8;
    }
    const cnt = this.countAt(c);
    const v = this.bcd ? toBcd(cnt) : cnt & 0xffff;
    if (this.rw === 1) return v & 0xff;
    if (this.rw === 2) return v >>> 8;
    this.readMsb = !this.readMsb;
    return this.readMsb ? v & 0xff : v >>> 8;
  }
}

export class Pit8254 implements PortDevice, TimedDevice {
  private readonly counters = [new Counter(), new Counter(), new Counter()];
  private portB = 0;          // port 0x61 bits 3:0
  private nextEdge = Infinity; // channel 0's next OUT rising edge (PIT clock)
  private nextTick = Infinity;

  constructor(private readonly clock: Clock, private readonly irq0?: IrqLine) {
    this.counters[2].gate = false; // port 0x61 bit 0 is 0 at reset
  }

  // ---- TimedDevice ----

  nextEvent(): number { return this.nextTick; }

  advance(now: number): void {
    if (now < this.nextTick) return;
    const c = pitClockAt(now);
    // Missed periods are coalesced into one pulse: the PIC latches a single edge anyway.
    if (this.irq0) { this.irq0.raise(); this.irq0.lower(); }
    this.counters[0].sync(c);
    this.schedule(c);
  }

  // ---- PortDevice ----

  portIn(port: number, _size: number): number {
    const now = this.clock.now();
    this.advance(now);
    const c = pitClockAt(now);
    if (port === 0x61) {
      const ch2 = this.counters[2];
      ch2.sync(c);
      const refresh = Math.floor(c / 18) & 1;
      return (this.portB & 0x0f) | (refresh << 4) | (ch2.outAt(c) ? 0x20 : 0);
    }
    if (port === 0x43) return 0xff; // control word register is write-only
    const ctr = this.counters[port - 0x40];
    ctr.sync(c);
    return ctr.read(c);
  }

  portOut(port: number, _size: number, value: number): void {
    const now = this.clock.now();
    this.advance(now);
    const c = pitClockAt(now);
    const v = value & 0xff;
    if (port === 0x61) {
      this.portB = v & 0x0f;
      this.counters[2].sync(c);
      this.counters[2].setGate((v & 1) !== 0, c);
      return;
    }
    if (port === 0x43) this.controlWord(v, c);
    else {
      const ctr = this.counters[port - 0x40];
      ctr.sync(c);
      ctr.writeCount(v, c);
    }
    this.counters[0].sync(c);
    this.schedule(c);
  }

  private controlWord(v: number, c: number): void {
    const sc = v >>> 6;
    if (sc === 3) { // read-back command: bit 5 = /COUNT, bit 4 = /STATUS, bits 3:1 select counters
      for (let i = 0; i < 3; i++) {
        if (!(v & (2 << i))) continue;
        const ctr = this.counters[i];
        ctr.sync(c);
        if (!(v & 0x10)) ctr.latchStatus(c);
        if (!(v & 0x20)) ctr.latchCount(c);
      }
      return;
    }
    const ctr = this.counters[sc];
    ctr.sync(c);
    if (((v >>> 4) & 3) === 0) ctr.latchCount(c); // counter latch command
    else ctr.control(v, c);
  }

  private schedule(c: number): void {
    this.nextEdge = this.counters[0].nextRise(c);
    this.nextTick = tickOfPitClock(this.nextEdge);
  }

  /** Channel state for the debugger and tests. */
  channel(i: 0 | 1 | 2): { mode: number; count: number; out: boolean } {
    const c = pitClockAt(this.clock.now());
    const ctr = this.counters[i];
    ctr.sync(c);
    return { mode: ctr.mode, count: ctr.countAt(c), out: ctr.outAt(c) };
  }
}
