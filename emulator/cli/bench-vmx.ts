// `x86vmx bench` under VMX: the benchmark guest runs in VMX non-root operation, entered by the
// TypeScript hypervisor through the normal VM-entry path, with EPT identity-mapping guest RAM in
// 4 KiB pages, optionally with SPP on the pages of its writable segments (every sub-page writable:
// EPT W = 0, bit 61 set, SPP vector 5555...5555H). No VM exits happen until the guest's final port
// write; I/O goes straight to the devices (no I/O exiting).
import { readFileSync } from 'node:fs';
import { Machine, BufferedSerial } from '../machine/machine.ts';
import { StopReason } from '../cpu/state.ts';
import {
  hostVmxon, hostVmclear, hostVmptrld, hostVmwrite, vmxEnterFromHost, vmxContinue, capabilityMsr, fields as F,
} from '../vmx/index.ts';
import { PageAllocator, EptTables, SppTables, EPT_RWX, EPT_READ, EPT_EXEC } from '../hypervisor/ept-tables.ts';
import { prepareVmxon, guestStateFromCpu, hostStateForTs, mustBeOne } from '../hypervisor/guest-state.ts';
import {
  PROC_SECONDARY, PROC2_EPT, PROC2_SPP, EXIT_HOST_64, EXIT_SAVE_EFER, EXIT_LOAD_EFER, ENTRY_IA32E, ENTRY_LOAD_EFER,
} from '../vmx/capabilities.ts';
import { parseElf, EM_X86_64, ET_EXEC } from '../loader/elf.ts';
import type { BenchResult } from './bench.ts';

const MIB = 1024 * 1024;
const MEMORY_MIB = 64;
/** Guest RAM seen through EPT; the VMX structures live above it. */
const GUEST_RAM = 48 * MIB;

/** Writable PT_LOAD segments of an ELF64 image (loader/elf.ts): [start, end) page-aligned physical ranges. */
export function writableSegments(image: Uint8Array): [number, number][] {
  const elf = parseElf(image, { machines: { 64: [EM_X86_64] }, types: [ET_EXEC], what: 'benchmark image' });
  return elf.segments.filter((g) => g.perms[1] === 'w')
    .map((g) => [g.paddr - (g.paddr % 4096), Math.ceil((g.paddr + g.memsz) / 4096) * 4096]);
}

export function runVmxBenchmark(name: string, imagePath: string, spp: boolean, warmup: number): BenchResult {
  const image = readFileSync(imagePath);
  const m = new Machine({ memoryMiB: MEMORY_MIB, serial: new BufferedSerial() });
  m.load(image);
  const c = m.cpu;
  const pages = new PageAllocator(m.mem, GUEST_RAM, MEMORY_MIB * MIB);
  const vmxon = pages.alloc(), vmcs = pages.alloc(), tss = pages.alloc();
  const ept = new EptTables(m.mem, pages);
  ept.identity4k(0, GUEST_RAM, EPT_RWX);
  let sppTables: SppTables | null = null;
  if (spp) {
    sppTables = new SppTables(m.mem, pages);
    for (const [a, b] of writableSegments(image)) {
      for (let p = a; p < b; p += 4096) {
        ept.setRights4k(p, EPT_READ | EPT_EXEC, true);
        sppTables.setMask(p, -1);
      }
    }
  }
  prepareVmxon(c);
  const revision = capabilityMsr(0x480)![0] & 0x7fffffff; // IA32_VMX_BASIC[30:0]
  m.mem.view.setUint32(vmxon, revision, true);
  m.mem.view.setUint32(vmcs, revision, true);
  const ok = (what: string, st: number) => { if (st !== 0) throw new Error(`${name}: ${what} failed (${st})`); };
  ok('VMXON', hostVmxon(c, vmxon));
  ok('VMCLEAR', hostVmclear(c, vmcs));
  ok('VMPTRLD', hostVmptrld(c, vmcs));
  const w = (enc: number, v: number | bigint) => ok(`VMWRITE 0x${enc.toString(16)}`, hostVmwrite(c, enc, v));
  w(F.PIN_CTLS, mustBeOne(0x48d));
  w(F.PROC_CTLS, mustBeOne(0x48e) | PROC_SECONDARY);
  w(F.PROC_CTLS2, PROC2_EPT | (spp ? PROC2_SPP : 0));
  w(F.EXIT_CTLS, mustBeOne(0x48f) | EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER);
  w(F.ENTRY_CTLS, mustBeOne(0x490) | ENTRY_IA32E | ENTRY_LOAD_EFER);
  w(F.EPT_POINTER, ept.eptp(false));
  if (sppTables) w(F.SPPT_POINTER, sppTables.root);
  for (const enc of [F.EXCEPTION_BITMAP, F.PFEC_MASK, F.PFEC_MATCH, F.CR3_TARGET_COUNT, F.ENTRY_INTR_INFO,
    F.EXIT_MSR_STORE_COUNT, F.EXIT_MSR_LOAD_COUNT, F.ENTRY_MSR_LOAD_COUNT]) w(enc, 0);
  guestStateFromCpu(c, tss);
  hostStateForTs(c, tss);

  const devices = m.devices;
  const hooks = { onDeadline: () => { devices.advance(c.now()); return devices.nextEvent(); } };
  const warm = vmxEnterFromHost(c, hooks, c.icount + warmup);
  if (warm.kind !== 'stopped' || warm.stop !== StopReason.InsnLimit) {
    throw new Error(`${name}: did not reach the end of the warm-up in the guest: ${JSON.stringify(warm)}`);
  }
  const i0 = c.icount;
  const t0 = performance.now();
  const r = vmxContinue(c, hooks);
  const seconds = (performance.now() - t0) / 1000;
  if (r.kind !== 'stopped' || r.stop !== StopReason.Exit || m.exitStatus !== 0) {
    throw new Error(`${name}: the guest did not exit cleanly: ${JSON.stringify(r)} status ${m.exitStatus}`);
  }
  if (!c.vmxNonRoot) throw new Error(`${name}: the guest left VMX non-root operation`);
  const instructions = c.icount - i0;
  return { name, instructions, seconds, mips: instructions / seconds / 1e6 };
}
