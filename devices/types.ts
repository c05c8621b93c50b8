// Contracts between devices and the machine. Devices never see the CPU directly.

/** Virtual time: ticks of a 1 GHz virtual clock = retired instructions plus ticks skipped while halted. */
export interface Clock {
  now(): number;
}
export const TICKS_PER_SECOND = 1_000_000_000;

/** A device that wants to run at a virtual time (timers). */
export interface TimedDevice {
  /** Absolute tick at which `advance` must next be called, or Infinity. */
  nextEvent(): number;
  /** Bring the device up to `now` (fire expired timers). */
  advance(now: number): void;
}

/** An interrupt line into a controller (edge or level as the controller decides). */
export interface IrqLine {
  raise(): void;
  lower(): void;
}

/** What the CPU asks of the interrupt controllers at an instruction boundary. */
export interface InterruptSource {
  /** True when a maskable interrupt is ready for delivery (ignoring RFLAGS.IF). */
  hasInterrupt(): boolean;
  /** INTA: returns the vector and moves it to in-service. Only call after hasInterrupt(). */
  acknowledge(): number;
}

/** Sink for serial output bytes and the source of serial input. */
export interface SerialBackend {
  write(byte: number): void;
  /** Next input byte, or -1 if none is waiting. */
  read(): number;
}
