// Boot a workload (guest-images/build/apps, under the guest kernel) as a VMX guest of the
// hypervisor layer, and look at guest memory independently of the layer: per-page and
// per-sub-page content hashes for diffs between rounds, and the guest's own paging structures.
import { readFileSync } from 'node:fs';
import { Machine, BufferedSerial } from '../../emulator/machine/machine.ts';
import { loadForRun } from '../../emulator/cli/run.ts';
import { VmxMachine, type VmxMachineOptions } from '../../emulator/vmm/vmx-machine.ts';
import { elfPath } from '../apps/apps.ts';

export const MEMORY_MIB = 32;

export function bootWorkload(name: string, args: string[], opts: Omit<VmxMachineOptions, 'serial' | 'memoryMiB'> = {}): { m: VmxMachine; serial: BufferedSerial } {
  const path = elfPath(name);
  const staging = new Machine({ memoryMiB: MEMORY_MIB, serial: new BufferedSerial() });
  loadForRun(staging, path, readFileSync(path), args, {});
  const serial = new BufferedSerial();
  serial.feed(new Uint8Array([4])); // end of input, as `x86vmx run` gives programs
  const m = new VmxMachine({ memoryMiB: MEMORY_MIB, serial, ...opts });
  m.adopt(staging);
  return { m, serial };
}

/** FNV-1a over each 128-byte sub-page of guest RAM (slot 0 at GPA 0): 32 hashes per page. */
export function subpageHashes(m: VmxMachine): Uint32Array {
  const u32 = new Uint32Array(m.vm.mem.buffer, 0, m.ramBytes / 4);
  const out = new Uint32Array(m.ramBytes / 128);
  for (let s = 0; s < out.length; s++) {
    let h = 0x811c9dc5;
    for (let k = s * 32, e = k + 32; k < e; k++) h = Math.imul(h ^ u32[k], 16777619);
    out[s] = h >>> 0;
  }
  return out;
}

/** Sub-pages whose hash changed, as gfn → 32-bit mask. */
export function changedSubpages(before: Uint32Array, after: Uint32Array): Map<number, number> {
  const out = new Map<number, number>();
  for (let s = 0; s < before.length; s++) {
    if (before[s] === after[s]) continue;
    const gfn = s >>> 5;
    out.set(gfn, ((out.get(gfn) ?? 0) | (1 << (s & 31))) >>> 0);
  }
  return out;
}

/**
 * The pages of the guest's current 4-level paging structures (PML4, PDPTs, PDs, PTs reachable from
 * CR3), read straight from guest memory (SDM Vol. 3A 4.5).
 */
export function pagingStructurePages(m: VmxMachine): Set<number> {
  const view = m.vm.mem.view;
  const cr3 = Number(m.vcpu.getSregs().cr3) & ~0xfff;
  const out = new Set<number>();
  const visit = (table: number, level: number): void => {
    if (table >= m.ramBytes || out.has(table / 4096) && level === 4) return;
    out.add(table / 4096);
    if (level === 1) return;
    for (let i = 0; i < 512; i++) {
      const lo = view.getUint32(table + i * 8, true), hi = view.getUint32(table + i * 8 + 4, true);
      if (!(lo & 1)) continue;
      if (level < 4 && (lo & 0x80)) continue; // 1 GiB / 2 MiB leaf
      visit((hi & 0xfffff) * 4294967296 + ((lo & 0xfffff000) >>> 0), level - 1);
    }
  };
  visit(cr3, 4);
  return out;
}

export function popcount(x: number): number { let n = 0; for (x >>>= 0; x; x &= x - 1) n++; return n; }
