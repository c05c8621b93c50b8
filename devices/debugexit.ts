// Debug-exit port (our convention, not a hardware standard; default port 0xF4).
//
//   OUT to the port, any size, value V  →  the run ends with exit status (V & 0xFF).
//   IN from the port                    →  all ones (0xFF, 0xFFFF or 0xFFFFFFFF by size),
//                                          the same as an unclaimed port, so probing it is harmless.
//
// The device only reports: it calls onExit(status) once per write and records the status; stopping
// the CPU is the machine's job. Note the difference from QEMU's isa-debug-exit, which exits with
// (V << 1) | 1: here a guest writing 0 exits with status 0 (success).
// Only the one port is claimed; a wider OUT at 0xF4 is dispatched here by its first port.

import type { PortDevice } from '../emulator/memory/iobus.ts';

export const DEBUG_EXIT_PORT = 0xf4;

export class DebugExit implements PortDevice {
  /** Status of the last exit request, or -1 if the guest has not asked to exit. */
  exitStatus = -1;

  constructor(private readonly onExit: (status: number) => void, readonly port: number = DEBUG_EXIT_PORT) {}

  portIn(_port: number, size: number): number {
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  }

  portOut(_port: number, _size: number, value: number): void {
    this.exitStatus = value & 0xff;
    this.onExit(this.exitStatus);
  }
}
