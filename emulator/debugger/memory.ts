// Side-effect-free memory access for the debugger: linear addresses are translated by walking the
// guest's paging structures (no A/D updates, no TLB fill, no #PF); only RAM is read, never MMIO.
import type { Machine } from '../machine/machine.ts';
import { guestWalk } from '../hypervisor/guest-walk.ts';

export const TWO64 = 18446744073709551616;

/** Linear address → physical address, or an error message. */
export function linearToPhysical(m: Machine, lin: number): number | string {
  const c = m.cpu, mem = m.mem;
  const r = guestWalk({ cr0: c.cr0, cr3: c.cr3, cr4: c.cr4, efer: c.efer }, lin, (gpa, size) => {
    if (gpa < 0 || gpa + size > mem.ramSize) return null;
    return { lo: mem.view.getUint32(gpa, true), hi: size === 8 ? mem.view.getUint32(gpa + 4, true) : 0 };
  });
  return r.ok ? r.gpa : r.reason;
}

/** `n` bytes of RAM at physical `pa`, or an error message. */
export function readPhysical(m: Machine, pa: number, n: number): Uint8Array | string {
  if (pa < 0 || pa + n > m.mem.ramSize) return `cannot access physical address ${hexAddr(pa)}: not RAM (${m.mem.ramSize >> 20} MiB)`;
  return m.mem.u8.slice(pa, pa + n);
}

/** `n` bytes at linear `lin`, translated page by page, or an error message. */
export function readLinear(m: Machine, lin: number, n: number): Uint8Array | string {
  const out = new Uint8Array(n);
  let k = 0;
  while (k < n) {
    const a = lin + k;
    const pa = linearToPhysical(m, a);
    if (typeof pa === 'string') return `cannot access linear address ${hexAddr(a)}: ${pa}`;
    const inPage = Math.min(n - k, 4096 - (pa % 4096));
    const b = readPhysical(m, pa, inPage);
    if (typeof b === 'string') return `cannot access linear address ${hexAddr(a)}: ${b}`;
    out.set(b, k);
    k += inPage;
  }
  return out;
}

/** An address as 0x + 16 hex digits; negative (sign-extended) values are shown modulo 2^64. */
export function hexAddr(a: number): string {
  const v = a < 0 ? BigInt(a) + (1n << 64n) : BigInt(a);
  return '0x' + v.toString(16).padStart(16, '0');
}
