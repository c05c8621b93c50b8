// MC146818 RTC + CMOS RAM at 0x70 (index) / 0x71 (data) (Motorola MC146818A datasheet,
// "Address Map" and "Registers"; PC/AT CMOS layout for the memory-size bytes).
//
// Index port 0x70: bits 6:0 select one of 128 bytes, bit 7 = 1 disables NMI (kept in `nmiDisabled`
// for the machine; reading 0x70 returns the last value written).
// Time is deterministic: wall time = start date (constructor; default 2026-01-01 00:00:00 UTC)
// + whole virtual seconds (Clock ticks / 1e9) + any adjustment the guest made by writing the clock.
// Time registers are BCD or binary per register B bit 2 (DM), 24- or 12-hour per bit 1.
//
// Memory-size bytes, computed from the RAM size at construction (PC/AT and BIOS conventions):
//   0x15/0x16  base memory in KiB (640, or less if RAM is smaller), low byte first
//   0x17/0x18  extended memory above 1 MiB in KiB, capped at 0xFFFF (same value at 0x30/0x31)
//   0x34/0x35  memory above 16 MiB in 64 KiB units, capped at 0xFFFF (as SeaBIOS/Bochs read it)
//   0x2E/0x2F  checksum of bytes 0x10..0x2D, high byte first (PC/AT)
//
// Choices of ours (documented in devices/README.md): register A's UIP bit always reads 0 (an update
// never appears in progress); no RTC interrupts (register C reads 0, no IRQ8); register D reads 0x80
// (valid RAM and time); writing a time register moves the clock immediately, whatever the SET bit;
// the day-of-week register (0x06) is derived from the date and ignores writes.

import type { Clock } from './types.ts';
import type { PortDevice } from '../emulator/memory/iobus.ts';
import { TICKS_PER_SECOND } from './types.ts';

export const DEFAULT_RTC_START = Date.UTC(2026, 0, 1, 0, 0, 0);

const REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d, CENTURY = 0x32;
const B_SET = 0x80, B_UIE = 0x10, B_BINARY = 0x04, B_24H = 0x02;

function toBcd(v: number): number { return ((Math.floor(v / 10) % 10) << 4) | (v % 10); }
function fromBcd(v: number): number { return (v >>> 4) * 10 + (v & 0xf); }

export interface CmosOptions {
  clock: Clock;
  /** Guest RAM size in bytes, for the memory-size bytes. */
  ramSize: number;
  /** Wall time at virtual tick 0: a Date or milliseconds since the Unix epoch (UTC). */
  start?: Date | number;
}

export class Cmos implements PortDevice {
  private readonly clock: Clock;
  private readonly ram = new Uint8Array(128);
  private index = 0;
  /** Index port bit 7: NMI masked. */
  nmiDisabled = false;
  private readonly startSeconds: number;
  private adjustSeconds = 0;

  constructor(opts: CmosOptions) {
    this.clock = opts.clock;
    const start = opts.start === undefined ? DEFAULT_RTC_START : typeof opts.start === 'number' ? opts.start : opts.start.getTime();
    this.startSeconds = Math.floor(start / 1000);
    this.ram[REG_A] = 0x26;          // 32.768 kHz time base, 1024 Hz rate
    this.ram[REG_B] = B_24H;         // BCD, 24-hour
    this.setMemorySize(opts.ramSize);
  }

  private setMemorySize(ramSize: number): void {
    const base = Math.min(640, Math.floor(ramSize / 1024));
    const ext = Math.min(0xffff, Math.max(0, Math.floor((ramSize - 0x100000) / 1024)));
    const above16 = Math.min(0xffff, Math.max(0, Math.floor((ramSize - 0x1000000) / 0x10000)));
    this.ram[0x15] = base & 0xff; this.ram[0x16] = base >>> 8;
    this.ram[0x17] = ext & 0xff; this.ram[0x18] = ext >>> 8;
    this.ram[0x30] = ext & 0xff; this.ram[0x31] = ext >>> 8;
    this.ram[0x34] = above16 & 0xff; this.ram[0x35] = above16 >>> 8;
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += this.ram[i];
    this.ram[0x2e] = (sum >>> 8) & 0xff; this.ram[0x2f] = sum & 0xff;
  }

  /** Current wall time in seconds since the Unix epoch. */
  seconds(): number {
    return this.startSeconds + Math.floor(this.clock.now() / TICKS_PER_SECOND) + this.adjustSeconds;
  }

  // ---- PortDevice ----

  portIn(port: number, _size: number): number {
    if (port === 0x70) return this.index | (this.nmiDisabled ? 0x80 : 0);
    return this.readReg(this.index);
  }

  portOut(port: number, _size: number, value: number): void {
    const v = value & 0xff;
    if (port === 0x70) {
      this.index = v & 0x7f;
      this.nmiDisabled = (v & 0x80) !== 0;
    } else {
      this.writeReg(this.index, v);
    }
  }

  // ---- registers ----

  private binary(): boolean { return (this.ram[REG_B] & B_BINARY) !== 0; }
  private enc(v: number): number { return this.binary() ? v : toBcd(v); }
  private dec(v: number): number { return this.binary() ? v : fromBcd(v); }

  private readReg(i: number): number {
    switch (i) {
      case 0x00: case 0x02: case 0x04: case 0x06: case 0x07: case 0x08: case 0x09: case CENTURY:
        return this.readTime(i);
      case REG_A: return this.ram[REG_A] & 0x7f; // UIP = 0
      case REG_C: return 0;                      // no interrupt flags ever set
      case REG_D: return 0x80;                   // VRT: valid RAM and time
      default: return this.ram[i];
    }
  }

  private readTime(i: number): number {
    const d = new Date(this.seconds() * 1000);
    switch (i) {
      case 0x00: return this.enc(d.getUTCSeconds());
      case 0x02: return this.enc(d.getUTCMinutes());
      case 0x04: {
        const h = d.getUTCHours();
        if (this.ram[REG_B] & B_24H) return this.enc(h);
        return this.enc(h % 12 === 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0); // bit 7 = PM
      }
      case 0x06: return this.enc(d.getUTCDay() + 1); // 1 = Sunday
      case 0x07: return this.enc(d.getUTCDate());
      case 0x08: return this.enc(d.getUTCMonth() + 1);
      case 0x09: return this.enc(d.getUTCFullYear() % 100);
      default: return this.enc(Math.floor(d.getUTCFullYear() / 100)); // century
    }
  }

  private writeReg(i: number, v: number): void {
    switch (i) {
      case 0x00: case 0x02: case 0x04: case 0x07: case 0x08: case 0x09: case CENTURY:
        this.writeTime(i, v); return;
      case 0x06: return;
      case REG_A: this.ram[REG_A] = v & 0x7f; return;
      case REG_B: this.ram[REG_B] = (v & B_SET) ? v & ~B_UIE : v; return; // SET clears UIE
      case REG_C: case REG_D: return; // read-only
      default: this.ram[i] = v;
    }
  }

  private writeTime(i: number, v: number): void {
    const now = this.seconds();
    const d = new Date(now * 1000);
    let year = d.getUTCFullYear(), month = d.getUTCMonth(), day = d.getUTCDate();
    let h = d.getUTCHours(), m = d.getUTCMinutes(), s = d.getUTCSeconds();
    switch (i) {
      case 0x00: s = this.dec(v); break;
      case 0x02: m = this.dec(v); break;
      case 0x04:
        if (this.ram[REG_B] & B_24H) h = this.dec(v);
        else h = (this.dec(v & 0x7f) % 12) + ((v & 0x80) ? 12 : 0);
        break;
      case 0x07: day = this.dec(v); break;
      case 0x08: month = this.dec(v) - 1; break;
      case 0x09: year = Math.floor(year / 100) * 100 + this.dec(v); break;
      default: year = this.dec(v) * 100 + (year % 100); break;
    }
    const t = new Date(0); // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 19xx
    t.setUTCFullYear(year, month, day);
    t.setUTCHours(h, m, s, 0);
    const target = Math.floor(t.getTime() / 1000);
    this.adjustSeconds += target - now;
  }

  /** Raw CMOS byte (debugger and tests). */
  peek(i: number): number { return this.readReg(i & 0x7f); }
}
