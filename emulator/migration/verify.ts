// Verification after stop-and-copy (nothing lost): the destination's guest RAM and its CPU and
// device state must equal the source's. The first difference is named: a page and its first
// differing 128-byte sub-page, or the path of the first differing state field.
import type { VmxMachine } from '../vmm/vmx-machine.ts';
import { captureVmState } from './vm-state.ts';
import { PAGE, SUBPAGE } from './stream.ts';
import { createHash } from 'node:crypto';

/** SHA-256 of guest RAM (slot 0), as a hex string. */
export function ramHash(m: VmxMachine): string {
  return createHash('sha256').update(m.vm.mem.u8.subarray(0, m.ramBytes)).digest('hex');
}

function firstDiff(a: unknown, b: unknown, path: string): string | null {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return a === b ? null : `${path}: source ${JSON.stringify(a)}, destination ${JSON.stringify(b)}`;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = firstDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    if (d !== null) return d;
  }
  return null;
}

/** null when equal; else a message naming the first differing page/sub-page or state field. */
export function compareMachines(src: VmxMachine, dst: VmxMachine): string | null {
  if (src.ramBytes !== dst.ramBytes) return `RAM sizes differ (${src.ramBytes} vs ${dst.ramBytes})`;
  if (ramHash(src) !== ramHash(dst)) {
    const a = src.vm.mem.u8, b = dst.vm.mem.u8;
    for (let p = 0; p < src.ramBytes; p += PAGE) {
      if (a.subarray(p, p + PAGE).every((x, i) => x === b[p + i])) continue;
      let s = 0;
      while (a.subarray(p + s * SUBPAGE, p + (s + 1) * SUBPAGE).every((x, i) => x === b[p + s * SUBPAGE + i])) s++;
      return `guest memory differs: first at page 0x${(p / PAGE).toString(16)} (GPA 0x${p.toString(16)}), sub-page ${s}`;
    }
  }
  const d = firstDiff(JSON.parse(JSON.stringify(captureVmState(src))), JSON.parse(JSON.stringify(captureVmState(dst))), '');
  return d === null ? null : `CPU/device state differs: ${d}`;
}
