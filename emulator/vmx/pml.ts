// Page-modification logging (SDM Vol. 3C 29.3.6): when EPT A/D flags are enabled and the CPU sets
// the dirty flag of an EPT leaf from 0 to 1, it writes the 4 KiB-aligned guest-physical address into
// the PML log entry selected by the guest PML index (16-bit VMCS field 0812H) and decrements the
// index. An index outside 0-511 means the log is full: any access that needs to set an EPT accessed
// or dirty flag causes a VM exit (reason 62) instead, with the flag left clear, so the access sets
// it (and logs) again after re-entry.
import type { Cpu } from '../cpu/state.ts';
import { type Vmx, ER_PML_FULL } from './state.ts';
import { vmcsRead, vmcsWrite } from './vmcs.ts';
import { GUEST_PML_INDEX } from './fields.ts';
import { vmExit, unwind } from './exit.ts';

const TWO32 = 4294967296;

/** Before an EPT A or D flag is set: a PML index outside 0-511 is a log-full event (exit 62, never returns). */
export function pmlCheckFull(c: Cpu, v: Vmx): void {
  if ((vmcsRead(c, v.current, GUEST_PML_INDEX) & 0xffff) <= 511) return;
  v.x.reset();
  vmExit(c, v, ER_PML_FULL); // exit qualification 0: no NMI unblocking (bit 12)
  unwind(c);
}

/** Log the page of `gpa` (the caller checked that the log is not full). */
export function pmlLog(c: Cpu, v: Vmx, gpa: number): void {
  const base = v.current;
  const index = vmcsRead(c, base, GUEST_PML_INDEX) & 0xffff;
  const page = gpa - (gpa % 4096);
  const at = v.pmlAddr + index * 8;
  c.mem.write(at, 4, (page % TWO32) >>> 0);
  c.mem.write(at + 4, 4, Math.floor(page / TWO32) >>> 0);
  vmcsWrite(c, base, GUEST_PML_INDEX, (index - 1) & 0xffff);
  v.pmlLogged++;
}
