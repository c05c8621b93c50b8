// The VM-entry MSR-load, VM-exit MSR-store and VM-exit MSR-load areas (SDM Vol. 3C 24.7.2, 24.8.2,
// 26.4, 27.4, 27.6): arrays of 16-byte entries in physical memory — bits 31:0 MSR index, 63:32
// reserved (0), 127:64 data. Loading goes through the ordinary WRMSR path, storing through RDMSR,
// so an MSR that WRMSR/RDMSR would refuse (#GP) makes the operation fail.
import type { Cpu } from '../cpu/state.ts';
import { FAULT } from '../cpu/fault.ts';
import { readMsr, writeMsr, msrLo, msrHi } from '../cpu/msr.ts';

const FS_BASE = 0xc0000100, GS_BASE = 0xc0000101, SMM_MONITOR_CTL = 0x9b, SMBASE = 0x9e;

/** x2APIC MSRs 800H-8FFH may not be loaded or stored through these lists. */
function x2apic(index: number): boolean { return (index >>> 8) === 0x8; }

/**
 * Load `count` MSRs from the list at `addr`. Returns 0 on success, else the 1-based number of the
 * entry that failed (the exit qualification of a VM-entry failure due to MSR loading, SDM 26.4).
 */
export function loadMsrList(c: Cpu, addr: number, count: number): number {
  for (let k = 0; k < count; k++) {
    const e = addr + 16 * k;
    const index = c.mem.read(e, 4) >>> 0;
    const rsvd = c.mem.read(e + 4, 4);
    if (rsvd !== 0 || index === FS_BASE || index === GS_BASE || index === SMM_MONITOR_CTL || x2apic(index)) return k + 1;
    try {
      writeMsr(c, index, c.mem.read(e + 8, 4) | 0, c.mem.read(e + 12, 4) | 0);
    } catch (err) {
      if (err !== FAULT) throw err;
      c.excVector = -1;
      return k + 1;
    }
  }
  return 0;
}

/** Store `count` MSRs into the list at `addr` (data at +8). Returns false if an entry cannot be stored (VMX abort 1). */
export function storeMsrList(c: Cpu, addr: number, count: number): boolean {
  for (let k = 0; k < count; k++) {
    const e = addr + 16 * k;
    const index = c.mem.read(e, 4) >>> 0;
    if (c.mem.read(e + 4, 4) !== 0 || index === SMBASE || x2apic(index)) return false;
    try {
      readMsr(c, index);
    } catch (err) {
      if (err !== FAULT) throw err;
      c.excVector = -1;
      return false;
    }
    c.mem.write(e + 8, 4, msrLo >>> 0);
    c.mem.write(e + 12, 4, msrHi >>> 0);
  }
  return true;
}
