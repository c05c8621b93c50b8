// The devices layer: exports and the PC device set (see devices/README.md for the port map).

import type { Clock, InterruptSource, SerialBackend, TimedDevice } from './types.ts';
import type { IoBus } from '../emulator/memory/iobus.ts';
import type { PhysicalMemory } from '../emulator/memory/physical.ts';
import { Uart16550 } from './uart16550.ts';
import { DebugExit, DEBUG_EXIT_PORT } from './debugexit.ts';
import { Pic8259 } from './pic8259.ts';
import { Pit8254 } from './pit8254.ts';
import { LocalApic, LAPIC_BASE, LAPIC_SIZE } from './lapic.ts';
import { Cmos } from './cmos.ts';
import { FwCfg, FW_CFG_PORT_SEL } from './fwcfg.ts';

export * from './types.ts';
export { Uart16550, type UartOptions } from './uart16550.ts';
export { DebugExit, DEBUG_EXIT_PORT } from './debugexit.ts';
export { Pic8259 } from './pic8259.ts';
export { Pit8254, PIT_HZ, pitClockAt, tickOfPitClock } from './pit8254.ts';
export { LocalApic, LAPIC_BASE, LAPIC_SIZE, LAPIC_VERSION } from './lapic.ts';
export { Cmos, DEFAULT_RTC_START, type CmosOptions } from './cmos.ts';
export { FwCfg, FW_CFG_PORT_SEL, X86VMX_VERSION, type FwCfgOptions } from './fwcfg.ts';

export interface PcDeviceOptions {
  io: IoBus;
  mem: PhysicalMemory;
  clock: Clock;
  serial: SerialBackend;
  ramSize: number;
  onExit: (status: number) => void;
  /** RTC wall time at virtual tick 0 (default 2026-01-01 00:00:00 UTC). */
  rtcStart?: Date | number;
  /** CPUs reported by fw_cfg (default 1). */
  cpus?: number;
}

export interface PcDevices {
  uart: Uart16550;
  debugExit: DebugExit;
  pic: Pic8259;
  pit: Pit8254;
  lapic: LocalApic;
  cmos: Cmos;
  fwcfg: FwCfg;
  /** What the CPU polls at instruction boundaries: the LAPIC first, then the PIC (ExtINT). */
  interrupts: InterruptSource;
  timed: TimedDevice[];
  /** Earliest nextEvent() of all timed devices (Infinity if none). Re-query after any I/O. */
  nextEvent(): number;
  /** Advance every timed device whose event is due at or before `now`. */
  advance(now: number): void;
}

/**
 * Build the PC device set and claim its ports and MMIO window:
 * PIC 0x20-0x21, 0xA0-0xA1, ELCR 0x4D0-0x4D1; PIT 0x40-0x43, port B 0x61; CMOS 0x70-0x71;
 * debug-exit 0xF4; COM1 0x3F8-0x3FF on IRQ4; fw_cfg 0x510-0x511; LAPIC at 0xFEE00000 (4 KiB).
 */
export function createPcDevices(opts: PcDeviceOptions): PcDevices {
  const { io, mem, clock } = opts;
  const pic = new Pic8259();
  const pit = new Pit8254(clock, pic.line(0));
  const uart = new Uart16550(opts.serial, { base: 0x3f8, irq: pic.line(4), clock });
  const debugExit = new DebugExit(opts.onExit);
  const lapic = new LocalApic(clock);
  const cmos = new Cmos({ clock, ramSize: opts.ramSize, start: opts.rtcStart });
  const fwcfg = new FwCfg({ ramSize: opts.ramSize, cpus: opts.cpus });

  io.register(0x20, 2, pic);
  io.register(0xa0, 2, pic);
  io.register(0x4d0, 2, pic);
  io.register(0x40, 4, pit);
  io.register(0x61, 1, pit);
  io.register(0x70, 2, cmos);
  io.register(DEBUG_EXIT_PORT, 1, debugExit);
  io.register(uart.base, 8, uart);
  io.register(FW_CFG_PORT_SEL, 2, fwcfg);
  mem.mapMmio(LAPIC_BASE, LAPIC_SIZE, lapic);

  // Virtual-wire delivery, simplified: a deliverable LAPIC interrupt wins, else the PIC's
  // (ExtINT bypasses the LAPIC's TPR/PPR, so the PIC is not subject to them).
  const interrupts: InterruptSource = {
    hasInterrupt: () => lapic.hasInterrupt() || pic.hasInterrupt(),
    acknowledge: () => (lapic.hasInterrupt() ? lapic.acknowledge() : pic.acknowledge()),
  };

  const timed: TimedDevice[] = [pit, lapic, uart];
  const n = timed.length;

  return {
    uart, debugExit, pic, pit, lapic, cmos, fwcfg, interrupts, timed,
    nextEvent(): number {
      let t = Infinity;
      for (let i = 0; i < n; i++) {
        const e = timed[i].nextEvent();
        if (e < t) t = e;
      }
      return t;
    },
    advance(now: number): void {
      for (let i = 0; i < n; i++) {
        const d = timed[i];
        if (d.nextEvent() <= now) d.advance(now);
      }
    },
  };
}
