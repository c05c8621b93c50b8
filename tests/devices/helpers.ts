// Test doubles shared by the device tests.
import type { Clock, IrqLine, SerialBackend } from '../../devices/types.ts';

export class FakeClock implements Clock {
  t = 0;
  now(): number { return this.t; }
}

/** Records raise/lower calls and the current level. */
export class RecordingLine implements IrqLine {
  level = false;
  rises = 0;
  raise(): void { if (!this.level) this.rises++; this.level = true; }
  lower(): void { this.level = false; }
}

export class QueueSerial implements SerialBackend {
  out: number[] = [];
  input: number[] = [];
  write(byte: number): void { this.out.push(byte); }
  read(): number { return this.input.length ? this.input.shift()! : -1; }
  send(s: string): void { for (const c of s) this.input.push(c.charCodeAt(0)); }
}
