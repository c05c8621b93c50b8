// The in-kernel interrupt controllers and timers (KVM_CREATE_IRQCHIP + KVM_CREATE_PIT2): the 8259
// PIC pair, the 8254 PIT and the local APIC, handled inside the hypervisor layer without exits to
// the caller. The guest never sees them directly: their interrupts are injected at VM entry
// (vcpu.ts), and a timer that fires while the guest runs "kicks" the vCPU out with an
// external-interrupt exit, the way a host timer interrupt does on real hardware.
import { IoBus } from '../memory/iobus.ts';
import { Pic8259, Pit8254, LocalApic, LAPIC_BASE, LAPIC_SIZE, type Clock, type TimedDevice, type IrqLine } from '../../devices/index.ts';

export class IrqChip {
  readonly pic = new Pic8259();
  readonly pit: Pit8254;
  readonly lapic: LocalApic;
  /** Ports the layer handles itself: PIC 20h-21h, A0h-A1h, ELCR 4D0h-4D1h, PIT 40h-43h, port B 61h. */
  readonly io = new IoBus();
  /** Timed devices: the PIT and LAPIC timer, plus user-space devices added with Vm.addTimedDevice. */
  readonly timed: TimedDevice[];

  constructor(clock: Clock) {
    this.pit = new Pit8254(clock, this.pic.line(0));
    this.lapic = new LocalApic(clock);
    this.timed = [this.pit, this.lapic];
    this.io.register(0x20, 2, this.pic);
    this.io.register(0xa0, 2, this.pic);
    this.io.register(0x4d0, 2, this.pic);
    this.io.register(0x40, 4, this.pit);
    this.io.register(0x61, 1, this.pit);
  }

  handlesPort(port: number): boolean {
    return (port >= 0x20 && port <= 0x21) || (port >= 0xa0 && port <= 0xa1) || (port >= 0x4d0 && port <= 0x4d1) ||
      (port >= 0x40 && port <= 0x43) || port === 0x61;
  }

  handlesMmio(gpa: number): boolean { return gpa >= LAPIC_BASE && gpa < LAPIC_BASE + LAPIC_SIZE; }

  /** An interrupt line of the PIC (KVM_IRQ_LINE): ISA IRQ 0-15. */
  line(irq: number): IrqLine { return this.pic.line(irq); }

  /** A maskable interrupt is ready (virtual-wire: the LAPIC's first, then the PIC's ExtINT). */
  hasInterrupt(): boolean { return this.lapic.hasInterrupt() || this.pic.hasInterrupt(); }
  acknowledge(): number { return this.lapic.hasInterrupt() ? this.lapic.acknowledge() : this.pic.acknowledge(); }

  nextEvent(): number {
    let t = Infinity;
    for (const d of this.timed) { const e = d.nextEvent(); if (e < t) t = e; }
    return t;
  }
  advance(now: number): void {
    for (const d of this.timed) if (d.nextEvent() <= now) d.advance(now);
  }
}
