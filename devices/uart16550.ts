// 16550A UART (National Semiconductor PC16550D datasheet, "Registers" section; register
// offsets below are from the base port, default COM1 = 0x3F8).
//
//   +0  RBR (read) / THR (write)        DLAB=1: DLL (divisor latch, low byte)
//   +1  IER                              DLAB=1: DLM (divisor latch, high byte)
//   +2  IIR (read) / FCR (write)
//   +3  LCR (bit 7 = DLAB)   +4 MCR   +5 LSR   +6 MSR   +7 SCR
//
// Choices of ours (documented in devices/README.md):
// - Transmission is immediate: a THR write goes straight to SerialBackend.write, so LSR.THRE
//   and LSR.TEMT always read 1 and the THR-empty interrupt re-arms at once after each write.
// - Receive: bytes are pulled from SerialBackend.read() into the receiver (16-byte FIFO when
//   FCR bit 0 is set, one holding byte otherwise) when the guest reads LSR/RBR/IIR and, if a
//   Clock was given, once per character time (10 bits at the programmed baud rate) while the
//   received-data interrupt is enabled, so interrupt-driven input works without polling.
// - As on the IBM PC, the interrupt output reaches the IRQ line only while MCR.OUT2 (bit 3) is set.
// - Outside loopback the modem inputs read CTS, DSR and DCD asserted (a connected terminal).
// - Only byte accesses are meaningful; wider accesses use the low byte (writes) / return it (reads).

import type { Clock, IrqLine, SerialBackend, TimedDevice } from './types.ts';
import type { PortDevice } from '../emulator/memory/iobus.ts';
import { TICKS_PER_SECOND } from './types.ts';

/** Reference crystal of the PC serial port: 1.8432 MHz, baud = 1843200 / (16 × divisor). */
const UART_CLOCK_HZ = 1_843_200;
const FIFO_SIZE = 16;

// IER bits (datasheet: Interrupt Enable Register)
const IER_RDA = 0x01;   // received data available (and character timeout in FIFO mode)
const IER_THRE = 0x02;  // transmitter holding register empty
const IER_RLS = 0x04;   // receiver line status
const IER_MS = 0x08;    // modem status

// LSR bits (datasheet: Line Status Register)
const LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const LSR_ERRORS = 0x1e; // OE | PE | FE | BI

// MCR bits
const MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10;

// IIR interrupt identification (bits 3:1 with bit 0 = 0 when pending), highest priority first
const IIR_NONE = 0x01, IIR_RLS = 0x06, IIR_RDA = 0x04, IIR_TIMEOUT = 0x0c, IIR_THRE = 0x02, IIR_MS = 0x00;

/** Receiver FIFO trigger levels selected by FCR bits 7:6. */
const TRIGGER_LEVELS = [1, 4, 8, 14];

export interface UartOptions {
  /** First of 8 ports; default 0x3F8 (COM1). */
  base?: number;
  /** Interrupt line (COM1 is IRQ4 on a PC). Without one, the UART works polled only. */
  irq?: IrqLine;
  /** Needed for timed receive polling (interrupt-driven input). */
  clock?: Clock;
}

export class Uart16550 implements PortDevice, TimedDevice {
  readonly base: number;
  private readonly irq: IrqLine | undefined;
  private readonly clock: Clock | undefined;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsrErrors = 0;     // OE/PE/FE/BI bits, cleared by reading LSR
  private scr = 0;
  private divisor = 12;      // 9600 baud until programmed (power-on value is undefined)
  private fifoEnabled = false;
  private triggerLevel = 1;

  private readonly rx = new Uint8Array(FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;
  /** Character timeout indication (FIFO mode): data below trigger level and no new byte for a poll. */
  private rxTimeout = false;
  /** THR-empty interrupt latch: set when THR becomes empty, cleared by IIR read or THR write. */
  private thrEmptyPending = false;

  private msrInputs = 0;     // current CTS/DSR/RI/DCD in MSR bit positions 4..7
  private msrDeltas = 0;     // MSR bits 0..3
  private irqLevel = false;
  private nextPoll = Infinity;

  constructor(private readonly backend: SerialBackend, opts: UartOptions = {}) {
    this.base = opts.base ?? 0x3f8;
    this.irq = opts.irq;
    this.clock = opts.clock;
    this.msrInputs = this.modemInputs();
  }

  // ---- PortDevice ----

  portIn(port: number, _size: number): number {
    switch ((port - this.base) & 7) {
      case 0: return this.dlab() ? this.divisor & 0xff : this.readRbr();
      case 1: return this.dlab() ? this.divisor >>> 8 : this.ier;
      case 2: return this.readIir();
      case 3: return this.lcr;
      case 4: return this.mcr;
      case 5: return this.readLsr();
      case 6: return this.readMsr();
      default: return this.scr;
    }
  }

  portOut(port: number, _size: number, value: number): void {
    const v = value & 0xff;
    switch ((port - this.base) & 7) {
      case 0:
        if (this.dlab()) this.divisor = (this.divisor & 0xff00) | v;
        else this.writeThr(v);
        break;
      case 1:
        if (this.dlab()) this.divisor = (this.divisor & 0x00ff) | (v << 8);
        else this.writeIer(v);
        break;
      case 2: this.writeFcr(v); break;
      case 3: this.lcr = v; break;
      case 4: this.writeMcr(v); break;
      case 5: break; // LSR is read-only (factory test writes ignored)
      case 6: break; // MSR is read-only
      default: this.scr = v; break;
    }
    this.updateIrq();
  }

  // ---- TimedDevice: receive polling while the RDA interrupt is enabled ----

  nextEvent(): number { return this.nextPoll; }

  advance(now: number): void {
    if (now < this.nextPoll) return;
    const before = this.rxCount;
    this.fillRx();
    // Character timeout: data waiting below the trigger level and nothing new arrived.
    if (this.fifoEnabled && this.rxCount > 0 && this.rxCount === before) this.rxTimeout = true;
    this.nextPoll = now + this.charTicks();
    this.updateIrq();
  }

  // ---- registers ----

  private dlab(): boolean { return (this.lcr & 0x80) !== 0; }

  private readRbr(): number {
    this.fillRx();
    let v = 0;
    if (this.rxCount > 0) {
      v = this.rx[this.rxHead];
      this.rxHead = (this.rxHead + 1) % FIFO_SIZE;
      this.rxCount--;
    }
    this.rxTimeout = false;
    this.fillRx();
    this.updateIrq();
    return v;
  }

  private writeThr(v: number): void {
    if (this.mcr & MCR_LOOP) this.pushRx(v); // loopback: transmitter output feeds the receiver
    else this.backend.write(v);
    // Transmission completes at once: THR is empty again, so THRE interrupt is re-armed.
    this.thrEmptyPending = true;
  }

  private writeIer(v: number): void {
    const wasThre = (this.ier & IER_THRE) !== 0;
    this.ier = v & 0x0f;
    // Enabling ETBEI while THR is empty (always, here) raises a THRE interrupt.
    if (!wasThre && (this.ier & IER_THRE)) this.thrEmptyPending = true;
    this.schedulePoll();
  }

  private writeFcr(v: number): void {
    const enable = (v & 0x01) !== 0;
    if (enable !== this.fifoEnabled) this.clearRx(); // changing FIFO mode resets the FIFOs
    this.fifoEnabled = enable;
    if (v & 0x02) this.clearRx();                    // bit 1: reset receiver FIFO
    // bit 2 (reset transmitter FIFO): nothing is ever queued for transmission.
    this.triggerLevel = enable ? TRIGGER_LEVELS[v >>> 6] : 1;
  }

  private readIir(): number {
    this.fillRx();
    const id = this.interruptId();
    if (id === IIR_THRE) this.thrEmptyPending = false; // reading IIR clears a THRE indication
    this.updateIrq();
    return id | (this.fifoEnabled ? 0xc0 : 0);
  }

  private writeMcr(v: number): void {
    this.mcr = v & 0x1f;
    const inputs = this.modemInputs();
    const changed = inputs ^ this.msrInputs;
    // Delta bits: DCTS, DDSR, DDCD on any change; TERI when RI goes from 1 to 0.
    this.msrDeltas |= ((changed >>> 4) & 0x0b) | ((changed & this.msrInputs & 0x40) ? 0x04 : 0);
    this.msrInputs = inputs;
  }

  private readLsr(): number {
    this.fillRx();
    const v = (this.rxCount > 0 ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT;
    this.lsrErrors = 0;
    this.updateIrq();
    return v;
  }

  private readMsr(): number {
    const v = this.msrInputs | this.msrDeltas;
    this.msrDeltas = 0;
    this.updateIrq();
    return v;
  }

  /** Modem input lines in MSR positions: loopback maps DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD. */
  private modemInputs(): number {
    if (this.mcr & MCR_LOOP) {
      return ((this.mcr & MCR_RTS) ? 0x10 : 0) | ((this.mcr & MCR_DTR) ? 0x20 : 0)
        | ((this.mcr & MCR_OUT1) ? 0x40 : 0) | ((this.mcr & MCR_OUT2) ? 0x80 : 0);
    }
    return 0xb0; // CTS | DSR | DCD
  }

  // ---- receiver ----

  private capacity(): number { return this.fifoEnabled ? FIFO_SIZE : 1; }

  private fillRx(): void {
    if (this.mcr & MCR_LOOP) return; // in loopback the serial input is disconnected
    while (this.rxCount < this.capacity()) {
      const b = this.backend.read();
      if (b < 0) return;
      this.rx[(this.rxHead + this.rxCount) % FIFO_SIZE] = b & 0xff;
      this.rxCount++;
    }
  }

  private pushRx(v: number): void {
    if (this.rxCount >= this.capacity()) { this.lsrErrors |= LSR_OE; return; } // overrun
    this.rx[(this.rxHead + this.rxCount) % FIFO_SIZE] = v;
    this.rxCount++;
  }

  private clearRx(): void { this.rxHead = 0; this.rxCount = 0; this.rxTimeout = false; }

  // ---- interrupts ----

  /** IIR identification by the datasheet's priority order. */
  private interruptId(): number {
    if ((this.ier & IER_RLS) && this.lsrErrors) return IIR_RLS;
    if (this.ier & IER_RDA) {
      if (this.rxCount >= this.triggerLevel) return IIR_RDA;
      if (this.rxTimeout && this.rxCount > 0) return IIR_TIMEOUT;
    }
    if ((this.ier & IER_THRE) && this.thrEmptyPending) return IIR_THRE;
    if ((this.ier & IER_MS) && this.msrDeltas) return IIR_MS;
    return IIR_NONE;
  }

  private updateIrq(): void {
    if (!this.irq) return;
    const level = this.interruptId() !== IIR_NONE && (this.mcr & MCR_OUT2) !== 0;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    if (level) this.irq.raise(); else this.irq.lower();
  }

  /** One character (start + 8 data + stop = 10 bits) at the programmed baud rate, in ticks. */
  private charTicks(): number {
    const div = this.divisor === 0 ? 0x10000 : this.divisor;
    return Math.max(1, Math.round((10 * 16 * div * TICKS_PER_SECOND) / UART_CLOCK_HZ));
  }

  private schedulePoll(): void {
    if (this.clock && this.irq && (this.ier & IER_RDA)) {
      if (this.nextPoll === Infinity) this.nextPoll = this.clock.now() + this.charTicks();
    } else {
      this.nextPoll = Infinity;
    }
  }
}
