// Test harness: a bare CPU in 64-bit mode (or another mode) with identity-mapped RAM, code placed at
// CODE, data at DATA and a stack below STACK_TOP. Sets state directly, independent of the loaders.
import { PhysicalMemory } from '../../emulator/memory/physical.ts';
import { IoBus } from '../../emulator/memory/iobus.ts';
import { Cpu, CS, SS, DS, ES, FS, GS, TR, RSP, StopReason } from '../../emulator/cpu/state.ts';
import '../../emulator/cpu/opcodes.ts';
import { resetCpu } from '../../emulator/cpu/reset.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';
import { step, run } from '../../emulator/cpu/exec.ts';
import { getRflags } from '../../emulator/cpu/flags.ts';

export const CODE = 0x100000;
export const DATA = 0x200000;
export const STACK_TOP = 0x80000;
export const RAM = 8 << 20;

export interface Harness {
  cpu: Cpu;
  mem: PhysicalMemory;
  io: IoBus;
  /** Write code at CODE, set RIP there and run until RIP reaches the end of the code (or `max` steps). */
  exec(code: number[] | Uint8Array, max?: number): void;
  rflags(): number;
  reg(n: number): bigint;
  setReg(n: number, v: bigint): void;
}

/** Build 4-level identity page tables for 0..1 GiB with 2 MiB pages at 0x1000 (PML4), 0x2000, 0x3000. */
function buildPageTables(mem: PhysicalMemory): void {
  const v = mem.view;
  v.setUint32(0x1000, 0x2003, true);
  v.setUint32(0x2000, 0x3003, true);
  for (let k = 0; k < 512; k++) v.setUint32(0x3000 + k * 8, (k * 0x200000) | 0x83, true);
}

export function makeCpu(mode: 'long64' | 'prot32' | 'real16' = 'long64'): Harness {
  const mem = new PhysicalMemory(RAM);
  const io = new IoBus();
  const cpu = new Cpu(mem, io);
  resetCpu(cpu);
  for (const s of [ES, SS, DS, FS, GS]) { cpu.segSel[s] = 0x10; cpu.segBase[s] = 0; cpu.segLimit[s] = 0xffffffff; cpu.segAttr[s] = 0xc093; }
  // GDT at 0x500: null, 64-bit code, data, 32-bit code.
  const gdt = [0, 0, 0x0000ffff, 0x00af9a00, 0x0000ffff, 0x00cf9200, 0x0000ffff, 0x00cf9a00];
  gdt.forEach((w, k) => mem.view.setUint32(0x500 + k * 4, w >>> 0, true));
  cpu.gdtBase = 0x500; cpu.gdtLimit = 31;
  cpu.segSel[TR] = 0; cpu.segAttr[TR] = 0x8b;
  if (mode === 'long64') {
    buildPageTables(mem);
    cpu.cr0 = 0x80010033; cpu.cr3 = 0x1000; cpu.cr4 = 0x620; cpu.efer = 0xd01;
    cpu.segSel[CS] = 0x08; cpu.segBase[CS] = 0; cpu.segLimit[CS] = 0xffffffff; cpu.segAttr[CS] = 0xa09b;
  } else if (mode === 'prot32') {
    cpu.cr0 = 0x11; cpu.cr4 = 0x600;
    cpu.segSel[CS] = 0x18; cpu.segBase[CS] = 0; cpu.segLimit[CS] = 0xffffffff; cpu.segAttr[CS] = 0xc09b;
  } else {
    for (const s of [CS, ES, SS, DS, FS, GS]) { cpu.segSel[s] = 0; cpu.segBase[s] = 0; cpu.segLimit[s] = 0xffff; cpu.segAttr[s] = s === CS ? 0x9b : 0x93; }
  }
  cpu.rl[RSP] = STACK_TOP;
  updateMode(cpu);
  cpu.tlb.flushAll();
  const h: Harness = {
    cpu, mem, io,
    exec(code, max = 10000) {
      const bytes = code instanceof Uint8Array ? code : Uint8Array.from(code);
      const start = mode === 'real16' ? 0x1000 : CODE;
      mem.load(start, bytes);
      cpu.flushDecodeCache();
      cpu.rip = start;
      const end = start + bytes.length;
      for (let n = 0; n < max && cpu.rip !== end && cpu.stop === StopReason.None; n++) step(cpu);
    },
    rflags: () => getRflags(cpu),
    reg: (n) => (BigInt(cpu.rh[n] >>> 0) << 32n) | BigInt(cpu.rl[n] >>> 0),
    setReg: (n, v) => { cpu.rl[n] = Number(v & 0xffffffffn) | 0; cpu.rh[n] = Number((v >> 32n) & 0xffffffffn) | 0; },
  };
  return h;
}

/** Install a 64-bit IDT whose every vector points at `handlerAddr` (a HLT-free stub the test provides). */
export function installIdt64(h: Harness, base: number, handlers: Record<number, number>): void {
  for (const [vec, addr] of Object.entries(handlers)) {
    const a = base + Number(vec) * 16;
    h.mem.view.setUint32(a, (0x08 << 16) | (addr & 0xffff), true);
    h.mem.view.setUint32(a + 4, ((addr >>> 16) << 16) | 0x8e00, true);
    h.mem.view.setUint32(a + 8, 0, true);
    h.mem.view.setUint32(a + 12, 0, true);
  }
  h.cpu.idtBase = base; h.cpu.idtLimit = 256 * 16 - 1;
}

export { run, step };
