// Two cascaded 8259A PICs as on the PC/AT (Intel 8259A datasheet, "Programming the 8259A"):
// master at 0x20/0x21 (IRQ0-7), slave at 0xA0/0xA1 (IRQ8-15) with its INT on master IR2,
// plus the PIIX-style edge/level control registers (ELCR) at 0x4D0/0x4D1.
//
// Port A0=0 (0x20/0xA0): write ICW1 (bit 4 = 1), OCW3 (bits 4:3 = 01) or OCW2 (bits 4:3 = 00);
//                        read IRR or ISR as selected by OCW3, or the poll word after an OCW3 poll.
// Port A0=1 (0x21/0xA1): write ICW2/ICW3/ICW4 during initialisation, OCW1 (IMR) otherwise; read IMR.
//
// Choices of ours (documented in devices/README.md):
// - Power-on state is what a PC BIOS leaves: vectors 08h/70h, slave on IR2, edge-triggered, all
//   IRQs masked. The datasheet leaves it undefined; guests reinitialise with ICW1-ICW4 anyway.
// - An edge-triggered request stays latched in IRR until acknowledged even if the line drops
//   first (the datasheet asks the line to stay high until INTA); devices pulse raise()/lower().
// - ICW1 also clears IRR and ISR (the datasheet only says the edge sense circuit is reset).
// - Always 8086 mode: ICW4 bit 0 (µPM) and the 8080 call format are ignored. Buffered-mode bits ignored.
// - line(2) is the ISA bus IRQ2 pin, which the AT wires to slave IR1, i.e. the same as line(9).

import type { InterruptSource, IrqLine } from './types.ts';
import type { PortDevice } from '../emulator/memory/iobus.ts';

/** One 8259A. */
class Chip {
  irrEdge = 0;     // requests latched by rising edges (edge-triggered inputs)
  level = 0;       // current input line levels
  isr = 0;
  imr = 0xff;
  elcr = 0;        // ELCR level-trigger bits (used when ICW1.LTIM = 0)
  ltim = false;    // ICW1 bit 3: all inputs level-triggered
  vectorBase: number;
  icw3: number;    // master: bit mask of IRs with slaves; slave: its ID
  single = false;  // ICW1 bit 1
  needIcw4 = false;
  initStep = 0;    // 0 = operational; 2, 3, 4 = expecting ICW2, ICW3, ICW4
  autoEoi = false;
  rotateOnAutoEoi = false;
  sfnm = false;    // ICW4 bit 4: special fully nested mode
  specialMask = false;
  readIsr = false;
  poll = false;
  lowest = 7;      // IR with the lowest priority; IR (lowest+1)&7 has the highest

  constructor(readonly isMaster: boolean, vectorBase: number, icw3: number) {
    this.vectorBase = vectorBase;
    this.icw3 = icw3;
  }

  private levelMask(): number { return this.ltim ? 0xff : this.elcr; }

  irr(): number {
    const lm = this.levelMask();
    return ((this.irrEdge & ~lm) | (this.level & lm)) & 0xff;
  }

  /** Input line level change; a rising edge latches an edge-triggered request. */
  setLevel(irq: number, high: boolean): void {
    const bit = 1 << irq;
    if (high) {
      if (!(this.level & bit)) this.irrEdge |= bit;
      this.level |= bit;
    } else {
      this.level &= ~bit;
    }
  }

  /** IR inputs that have a slave behind them (master only). */
  cascadeMask(): number { return this.isMaster && !this.single ? this.icw3 : 0; }

  /** Priority resolver: the IR to signal on INT, or -1 (datasheet: "Interrupt Sequence", priority modes). */
  highest(): number {
    const pending = this.irr() & ~this.imr & 0xff;
    if (pending === 0) return -1;
    // Special mask mode: only IMR inhibits, the ISR does not block other levels.
    const blocking = this.specialMask ? 0 : this.isr;
    for (let i = 1; i <= 8; i++) {
      const irq = (this.lowest + i) & 7;
      const bit = 1 << irq;
      if (pending & bit) {
        // Special fully nested: a slave input in service may interrupt again (higher slave IR).
        if (!(blocking & bit) || (this.sfnm && (this.cascadeMask() & bit))) return irq;
        return -1;
      }
      if (blocking & bit) return -1; // a higher-priority level is in service
    }
    return -1;
  }

  /** INTA for `irq`: IRR bit → ISR bit (or straight through with auto-EOI). */
  ack(irq: number): void {
    const bit = 1 << irq;
    this.irrEdge &= ~bit;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.lowest = irq;
    } else {
      this.isr |= bit;
    }
  }

  /** Highest-priority bit set in ISR, or -1. */
  highestInService(): number {
    for (let i = 1; i <= 8; i++) {
      const irq = (this.lowest + i) & 7;
      if (this.isr & (1 << irq)) return irq;
    }
    return -1;
  }

  writeCommand(v: number): void {
    if (v & 0x10) { this.icw1(v); return; }
    if (v & 0x08) { // OCW3
      if (v & 0x04) this.poll = true;
      if (v & 0x02) this.readIsr = (v & 0x01) !== 0;
      if (v & 0x40) this.specialMask = (v & 0x20) !== 0;
      return;
    }
    // OCW2: R SL EOI in bits 7:5, level in bits 2:0
    const level = v & 7;
    switch (v >>> 5) {
      case 0b001: this.nonSpecificEoi(false); break;
      case 0b101: this.nonSpecificEoi(true); break;
      case 0b011: this.isr &= ~(1 << level); break;
      case 0b111: this.isr &= ~(1 << level); this.lowest = level; break;
      case 0b100: this.rotateOnAutoEoi = true; break;
      case 0b000: this.rotateOnAutoEoi = false; break;
      case 0b110: this.lowest = level; break; // set priority command
      default: break;                          // 010: no operation
    }
  }

  private nonSpecificEoi(rotate: boolean): void {
    const irq = this.highestInService();
    if (irq < 0) return;
    this.isr &= ~(1 << irq);
    if (rotate) this.lowest = irq;
  }

  private icw1(v: number): void {
    this.ltim = (v & 0x08) !== 0;
    this.single = (v & 0x02) !== 0;
    this.needIcw4 = (v & 0x01) !== 0;
    this.initStep = 2;
    this.imr = 0;
    this.irrEdge = 0;
    this.isr = 0;
    this.lowest = 7;
    this.specialMask = false;
    this.readIsr = false;
    this.poll = false;
    this.rotateOnAutoEoi = false;
    if (!this.needIcw4) { this.autoEoi = false; this.sfnm = false; }
  }

  writeData(v: number): void {
    switch (this.initStep) {
      case 2:
        this.vectorBase = v & 0xf8;
        this.initStep = !this.single ? 3 : this.needIcw4 ? 4 : 0;
        return;
      case 3:
        this.icw3 = v;
        this.initStep = this.needIcw4 ? 4 : 0;
        return;
      case 4:
        this.autoEoi = (v & 0x02) !== 0;
        this.sfnm = (v & 0x10) !== 0;
        this.initStep = 0;
        return;
      default:
        this.imr = v;
    }
  }

  readCommand(): number {
    if (this.poll) {
      // Poll command: the read acts as INTA; bit 7 = interrupt present, bits 2:0 = level.
      this.poll = false;
      const irq = this.highest();
      if (irq < 0) return 0;
      this.ack(irq);
      return 0x80 | irq;
    }
    return this.readIsr ? this.isr : this.irr();
  }
}

export class Pic8259 implements PortDevice, InterruptSource {
  private readonly master = new Chip(true, 0x08, 0x04);
  private readonly slave = new Chip(false, 0x70, 0x02);
  private slaveOut = false;
  private readonly lines: IrqLine[] = [];

  constructor() {
    for (let n = 0; n < 16; n++) {
      const irq = n === 2 ? 9 : n;
      this.lines.push({ raise: () => this.setIrq(irq, true), lower: () => this.setIrq(irq, false) });
    }
  }

  /** The input line for ISA IRQ n (0..15). */
  line(n: number): IrqLine {
    if (!(n >= 0 && n < 16)) throw new Error(`PIC has no IRQ ${n}`);
    return this.lines[n];
  }

  setIrq(irq: number, high: boolean): void {
    if (irq < 8) this.master.setLevel(irq, high);
    else this.slave.setLevel(irq - 8, high);
    this.update();
  }

  // ---- InterruptSource ----

  hasInterrupt(): boolean { return this.master.highest() >= 0; }

  acknowledge(): number {
    const m = this.master.highest();
    // Spurious IRQ7: nothing to acknowledge; no ISR bit is set (datasheet: "Interrupt Sequence").
    if (m < 0) return this.master.vectorBase + 7;
    this.master.ack(m);
    let vector: number;
    if (m === 2 && (this.master.cascadeMask() & 0x04)) { // slave answers INTA via CAS lines
      const s = this.slave.highest();
      if (s < 0) {
        // Spurious IRQ15 (defensive: update() withdraws IR2 when the slave's INT drops):
        // the master's IR2 stays in service and needs its EOI.
        vector = this.slave.vectorBase + 7;
      } else {
        this.slave.ack(s);
        vector = this.slave.vectorBase + s;
      }
    } else {
      vector = this.master.vectorBase + m;
    }
    this.update();
    return vector;
  }

  // ---- PortDevice ----

  portIn(port: number, _size: number): number {
    let v: number;
    switch (port) {
      case 0x20: v = this.master.readCommand(); break;
      case 0x21: v = this.master.imr; break;
      case 0xa0: v = this.slave.readCommand(); break;
      case 0xa1: v = this.slave.imr; break;
      case 0x4d0: return this.master.elcr;
      case 0x4d1: return this.slave.elcr;
      default: return 0xff;
    }
    this.update(); // a poll read acknowledges
    return v;
  }

  portOut(port: number, _size: number, value: number): void {
    const v = value & 0xff;
    switch (port) {
      case 0x20: this.master.writeCommand(v); break;
      case 0x21: this.master.writeData(v); break;
      case 0xa0: this.slave.writeCommand(v); break;
      case 0xa1: this.slave.writeData(v); break;
      // ELCR: IRQ0, 1, 2, 8 and 13 are always edge-triggered (reserved bits read 0).
      case 0x4d0: this.master.elcr = v & 0xf8; break;
      case 0x4d1: this.slave.elcr = v & 0xde; break;
      default: return;
    }
    this.update();
  }

  /** Register snapshot for the debugger and tests: chip 0 = master, 1 = slave. */
  registers(chip: 0 | 1): { irr: number; isr: number; imr: number; vectorBase: number } {
    const c = chip === 0 ? this.master : this.slave;
    return { irr: c.irr(), isr: c.isr, imr: c.imr, vectorBase: c.vectorBase };
  }

  /** Propagate the slave's INT output to master IR2. */
  private update(): void {
    const out = this.slave.highest() >= 0;
    if (out !== this.slaveOut) {
      this.slaveOut = out;
      this.master.setLevel(2, out);
      // INT is a true level: an IR2 request whose input dropped before INTA is withdrawn
      // (datasheet: the IR input must remain high until the first INTA).
      if (!out) this.master.irrEdge &= ~0x04;
    }
  }
}
