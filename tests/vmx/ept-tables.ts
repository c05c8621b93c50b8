// Test helpers for EPT, SPP and PML: EPT paging structures (SDM Vol. 3C 29.3.2, Tables 29-1..29-6),
// SPP tables (29.3.4.2), a guest's own 4-level paging (Vol. 3A 4.5) and a TypeScript-host setup that
// runs a 64-bit guest under EPT through vmxEnterFromHost. Everything here is written from the SDM
// entry formats; nothing calls the EPT/SPP/PML code under test to compute a value.
//
// Physical memory (8 MiB, tests/helpers/cpu-harness.ts RAM):
//   0x000000-0x1FFFFF host: GDT 0x500, host paging 0x1000-0x3FFF, TSS 0x7000, stack, CODE 0x100000
//   0x200000-0x3FFFFF test data (guest 4 KiB pages through the guest page table GUEST_PT_PT)
//   0x400000-0x53FFFF VMX regions, guest code/stack/IDT/handlers (vmx-harness.ts)
//   0x540000-0x545FFF the guest's paging structures (GUEST_PT)
//   0x600000-0x77FFFF free: targets of non-identity EPT mappings
//   0x780000-0x7BFFFF EPT pool, 0x7C0000-0x7DFFFF SPP pool, 0x7E0000 PML log
import type { PhysicalMemory } from '../../emulator/memory/physical.ts';
import { hostVmxon, hostVmclear, hostVmptrld, hostVmwrite, hostVmread, vmxEnterFromHost, vmxContinue, VMX_OK } from '../../emulator/vmx/index.ts';
import type { VmExitInfo } from '../../emulator/vmx/host-api.ts';
import { type Vmx, vmxOf } from '../../emulator/vmx/state.ts';
import { makeVmxCpu, buildVmcs, guestIdt, execRaw, arith, F, VMXON_REGION, VMCS, GUEST_CODE, SCRATCH, CF, ZF, type VmxHarness, type GuestOpts } from './vmx-harness.ts';
import { Asm, RAX, RBX } from './asm.ts';
import { CODE, RAM } from '../helpers/cpu-harness.ts';

export const EPT_POOL = 0x780000, SPP_POOL = 0x7c0000, PML_LOG = 0x7e0000;
export const GUEST_PT = 0x540000;
/** The guest page table for linear 0x200000-0x3FFFFF (4 KiB pages). */
export const GUEST_PT_PT = GUEST_PT + 0x4000;
export const DATA_PAGE = 0x300000;

// EPT entry bits (SDM Vol. 3C Tables 29-1..29-6).
export const R = 1, W = 2, X = 4, RWX = 7;
export const MT_WB = 6 << 3;
export const PS = 0x80;
export const EPT_A = 0x100, EPT_D = 0x200;
export const EPT_SPP = 1n << 61n;
// Secondary processor-based controls (SDM Vol. 3C Table 25-7).
export const P2_EPT = 1 << 1, P2_PML = 1 << 17, P2_SPP = 1 << 23;
export const HLT_EXITING = 1 << 7;
/** EPT-violation exit qualification bits (SDM Vol. 3C Table 28-7). */
export const Q_READ = 1, Q_WRITE = 2, Q_FETCH = 4, Q_R = 8, Q_W = 16, Q_X = 32, Q_LIN = 0x80, Q_FINAL = 0x100;

const TWO32 = 4294967296;

/** Sequential zeroed 4 KiB pages from a pool. */
class Pool {
  constructor(private mem: PhysicalMemory, private next: number) {}
  alloc(): number {
    const a = this.next;
    this.next += 4096;
    this.mem.u8.fill(0, a, a + 4096);
    return a;
  }
}

function rd64(mem: PhysicalMemory, a: number): bigint { return mem.view.getBigUint64(a, true); }
function wr64(mem: PhysicalMemory, a: number, v: bigint): void { mem.view.setBigUint64(a, BigInt.asUintN(64, v), true); }
/** Index of `gpa` in the table of `level` (4 = PML4 … 1 = page table): bits 12+9(level-1) … +8. */
function index(gpa: number, level: number): number { return Math.floor(gpa / 2 ** (12 + 9 * (level - 1))) % 512; }

/** A 4-level EPT built in host memory. Non-leaf entries are RWX (bits 2:0 = 7), nothing else. */
export class Ept {
  readonly root: number;
  private pool: Pool;
  constructor(readonly mem: PhysicalMemory, base = EPT_POOL) {
    this.pool = new Pool(mem, base);
    this.root = this.pool.alloc();
  }

  /** Host address of the entry of `level` for `gpa`, creating the tables above it. */
  addr(gpa: number, level: number): number {
    let table = this.root;
    for (let l = 4; l > level; l--) {
      const a = table + index(gpa, l) * 8;
      let e = rd64(this.mem, a);
      if ((e & 7n) === 0n || (e & BigInt(PS)) !== 0n) {
        e = BigInt(this.pool.alloc()) | 7n;
        wr64(this.mem, a, e);
      }
      table = Number(e & 0xffffffffff000n);
    }
    return table + index(gpa, level) * 8;
  }
  get(gpa: number, level: number): bigint { return rd64(this.mem, this.addr(gpa, level)); }
  set(gpa: number, level: number, v: bigint): void { wr64(this.mem, this.addr(gpa, level), v); }
  /** Bits 31:0 of an entry (the flags tests look at). */
  lo(gpa: number, level: number): number { return Number(this.get(gpa, level) & 0xffffffffn); }

  map4k(gpa: number, hpa: number, perm = RWX, extra = 0n, mt = MT_WB): void {
    this.set(gpa, 1, BigInt(hpa) | BigInt(perm | mt) | extra);
  }
  map2m(gpa: number, hpa: number, perm = RWX, extra = 0n, mt = MT_WB): void {
    this.set(gpa, 2, BigInt(hpa) | BigInt(perm | mt | PS) | extra);
  }
  map1g(gpa: number, hpa: number, perm = RWX, extra = 0n, mt = MT_WB): void {
    this.set(gpa, 3, BigInt(hpa) | BigInt(perm | mt | PS) | extra);
  }
  /** Identity-map [from, to) with 4 KiB leaves. */
  identity(from = 0, to = RAM, perm = RWX): void {
    for (let a = from; a < to; a += 4096) this.map4k(a, a, perm);
  }
  /** Host addresses of the entries that translate `gpa`, from the PML4E down to the leaf. */
  path(gpa: number): number[] {
    const out: number[] = [];
    for (let l = 4; l >= 1; l--) {
      const a = this.addr(gpa, l);
      out.push(a);
      if (l > 1 && (rd64(this.mem, a) & BigInt(PS)) !== 0n) break;
    }
    return out;
  }
  /** Apply `f` to every present entry reachable from the root (leaf = maps a page). */
  private each(f: (e: bigint, leaf: boolean) => bigint): void {
    const walk = (table: number, level: number): void => {
      for (let k = 0; k < 512; k++) {
        const a = table + k * 8;
        const e = rd64(this.mem, a);
        if ((e & 7n) === 0n) continue;
        const leaf = level === 1 || (e & BigInt(PS)) !== 0n;
        wr64(this.mem, a, f(e, leaf));
        if (!leaf) walk(Number(e & 0xffffffffff000n), level - 1);
      }
    };
    walk(this.root, 4);
  }
  /** Clear A and D in every entry. */
  clearAccessedDirty(): void { this.each((e) => e & ~BigInt(EPT_A | EPT_D)); }
  /** Set A in every entry and D in every leaf (as after the guest touched everything). */
  markAccessedDirty(): void { this.each((e, leaf) => e | BigInt(leaf ? EPT_A | EPT_D : EPT_A)); }
  /** Clear A and D in the leaf that maps `gpa` (4 KiB). */
  cleanPage(gpa: number): void { this.set(gpa, 1, this.get(gpa, 1) & ~BigInt(EPT_A | EPT_D)); }
  /** EPTP (SDM Vol. 3C Table 25-9): WB (6), walk length 4 (bits 5:3 = 3), bit 6 = A/D. */
  eptp(ad = false): bigint { return BigInt(this.root | 6 | (3 << 3) | (ad ? 0x40 : 0)); }
}

/** The SPP vector that makes the listed 128-byte sub-pages writable: bit 2i per sub-page i. */
export function sppVector(allowed: number[]): bigint {
  let v = 0n;
  for (const i of allowed) v |= 1n << BigInt(2 * i);
  return v;
}
export const SPP_ALL = sppVector(Array.from({ length: 32 }, (_, i) => i));

/** SPP table (SDM Vol. 3C 29.3.4.2): non-leaf entries are next-table address | 1; the leaf is the vector. */
export class Spp {
  readonly root: number;
  private pool: Pool;
  constructor(readonly mem: PhysicalMemory, base = SPP_POOL) {
    this.pool = new Pool(mem, base);
    this.root = this.pool.alloc();
  }
  /** Host address of the entry of `level` (4 … 1 = the vector) for `gpa`, creating the levels above it. */
  addr(gpa: number, level: number): number {
    let table = this.root;
    for (let l = 4; l > level; l--) {
      const a = table + index(gpa, l) * 8;
      let e = rd64(this.mem, a);
      if ((e & 1n) === 0n) { e = BigInt(this.pool.alloc()) | 1n; wr64(this.mem, a, e); }
      table = Number(e & 0xffffffffff000n);
    }
    return table + index(gpa, level) * 8;
  }
  setVector(gpa: number, v: bigint): void { wr64(this.mem, this.addr(gpa, 1), v); }
  get(gpa: number, level: number): bigint { return rd64(this.mem, this.addr(gpa, level)); }
  set(gpa: number, level: number, v: bigint): void { wr64(this.mem, this.addr(gpa, level), v); }
}

// Guest paging-entry bits (SDM Vol. 3A Table 4-14 ff.): P, R/W, U/S, A, D, PS.
export const GP_P = 1, GP_RW = 2, GP_US = 4, GP_A = 0x20, GP_D = 0x40, GP_PS = 0x80;
const GFLAGS = GP_P | GP_RW | GP_US | GP_A | GP_D;

/**
 * The guest's own identity paging at GUEST_PT: PML4 → PDPT; PDPT[0] → PD0 (0-1 GiB), PDPT[1] → PD1
 * (1-2 GiB), both of 2 MiB pages, except linear 0x200000-0x3FFFFF, mapped by 4 KiB pages through
 * GUEST_PT_PT. Every entry is user, writable, accessed and dirty, so the guest never writes its tables.
 */
export function buildGuestPaging(mem: PhysicalMemory): void {
  const v = mem.view;
  mem.u8.fill(0, GUEST_PT, GUEST_PT + 0x5000);
  const pml4 = GUEST_PT, pdpt = GUEST_PT + 0x1000, pd0 = GUEST_PT + 0x2000, pd1 = GUEST_PT + 0x3000;
  v.setUint32(pml4, pdpt | GFLAGS, true);
  v.setUint32(pdpt, pd0 | GFLAGS, true);
  v.setUint32(pdpt + 8, pd1 | GFLAGS, true);
  for (let k = 0; k < 512; k++) {
    v.setUint32(pd0 + k * 8, (k * 0x200000) | GFLAGS | GP_PS, true);
    v.setUint32(pd1 + k * 8, (0x40000000 + k * 0x200000) | GFLAGS | GP_PS, true);
  }
  v.setUint32(pd0 + 8, GUEST_PT_PT | GFLAGS, true);
  for (let k = 0; k < 512; k++) v.setUint32(GUEST_PT_PT + k * 8, (0x200000 + k * 4096) | GFLAGS, true);
}
/** Guest-physical (= host-physical, identity) address of the guest PTE for linear `lin` in 0x200000-0x3FFFFF. */
export function guestPte(lin: number): number { return GUEST_PT_PT + ((lin - 0x200000) >>> 12) * 8; }

export const hooks = { onDeadline: () => Infinity };

export interface EptGuest {
  h: VmxHarness;
  ept: Ept;
  spp: Spp;
  vmx: Vmx;
  mem: PhysicalMemory;
  /** Load `code` at its origin, point guest RIP at it and enter; returns the exit. */
  run(code: Asm): VmExitInfo;
  /** VMRESUME (guest RIP as saved). */
  resume(): VmExitInfo;
  read(enc: number): number;
  write(enc: number, v: number | bigint): void;
  /** INVEPT in VMX root operation (type 1 single-context with this EPTP, or type 2 all-context). */
  invept(type?: 1 | 2): void;
  u64(hpa: number): bigint;
}

export interface EptGuestOpts extends GuestOpts {
  ad?: boolean;
  /** Secondary controls besides "enable EPT" (which is always on). */
  more2?: number;
  /** Leave the EPT empty (the test maps what it needs). */
  noIdentity?: boolean;
}

/**
 * A 64-bit guest (harness guest state, CR3 = GUEST_PT) under EPT, driven by the TypeScript host API.
 * The EPT identity-maps all RAM with 4 KiB RWX WB leaves; SPPTP and the PML address point at the
 * pools (used only when the test enables SPP/PML).
 */
export function eptGuest(o: EptGuestOpts = {}): EptGuest {
  const h = makeVmxCpu();
  const c = h.cpu;
  if (hostVmxon(c, VMXON_REGION) !== VMX_OK || hostVmclear(c, VMCS) !== VMX_OK || hostVmptrld(c, VMCS) !== VMX_OK) {
    throw new Error('VMXON/VMCLEAR/VMPTRLD failed');
  }
  buildVmcs(h, { ...o, proc2: P2_EPT | (o.more2 ?? 0) });
  guestIdt(h);
  buildGuestPaging(h.mem);
  const ept = new Ept(h.mem);
  if (!o.noIdentity) ept.identity();
  const spp = new Spp(h.mem);
  h.mem.u8.fill(0, PML_LOG, PML_LOG + 4096);
  const set = (enc: number, v: number | bigint): void => {
    const st = hostVmwrite(c, enc, BigInt(v));
    if (st !== VMX_OK) throw new Error(`VMWRITE 0x${enc.toString(16)} failed: ${st}`);
  };
  set(F.GUEST_CR3, GUEST_PT);
  set(F.EPT_POINTER, ept.eptp(o.ad ?? false));
  if ((o.more2 ?? 0) & P2_SPP) set(F.SPPT_POINTER, spp.root);
  if ((o.more2 ?? 0) & P2_PML) { set(F.PML_ADDRESS, PML_LOG); set(F.GUEST_PML_INDEX, 511); }
  const enter = (): VmExitInfo => {
    const r = vmxEnterFromHost(c, hooks, c.icount + 200_000);
    if (r.kind === 'stopped') {
      const s = vmxContinue(c, hooks, c.icount + 1);
      throw new Error(`guest did not exit: ${r.message} (${s.kind})`);
    }
    if (r.kind !== 'exit') throw new Error(`VM entry failed: ${r.status} ${r.why}`);
    return r.exit;
  };
  return {
    h, ept, spp, mem: h.mem, vmx: vmxOf(c),
    run(code) {
      h.mem.load(code.origin, code.bytes());
      c.flushDecodeCache();
      set(F.GUEST_RIP, code.origin);
      return enter();
    },
    resume: enter,
    read: (enc) => Number(hostVmread(c, enc)),
    write: set,
    invept(type = 1) {
      const eptp = hostVmread(c, F.EPT_POINTER);
      h.mem.view.setBigUint64(SCRATCH, eptp, true);
      h.mem.view.setBigUint64(SCRATCH + 8, 0n, true);
      // The host shares the GPRs with the guest (VM exits do not save them): keep RAX/RBX.
      const saved = [c.rl[RAX], c.rh[RAX], c.rl[RBX], c.rh[RBX]];
      const a = new Asm(CODE + 0x700).movImm(RAX, type).movImm(RBX, SCRATCH).invept(RAX, RBX);
      const r = execRaw(h, a, 3);
      [c.rl[RAX], c.rh[RAX], c.rl[RBX], c.rh[RBX]] = saved;
      if (r.vec >= 0 || (arith(h) & (CF | ZF)) !== 0) throw new Error(`INVEPT failed: vec ${r.vec}, flags ${arith(h)}`);
    },
    u64: (hpa) => h.mem.view.getBigUint64(hpa, true),
  };
}

/** Guest code at GUEST_CODE. */
export const gcode = (origin = GUEST_CODE): Asm => new Asm(origin);

// Instruction forms beyond asm.ts, encoded from the SDM Vol. 2 opcode tables.
/** mov qword [base], imm32 sign-extended (REX.W C7 /0 id); base must be RAX..RBX/RSI/RDI. */
export function movMemImm32(a: Asm, base: number, imm: number): Asm {
  return a.raw(0x48, 0xc7, base & 7, imm & 0xff, (imm >>> 8) & 0xff, (imm >>> 16) & 0xff, (imm >>> 24) & 0xff);
}
/** mov byte [base], imm8 (C6 /0 ib). */
export function movMemImm8(a: Asm, base: number, imm: number): Asm { return a.raw(0xc6, base & 7, imm & 0xff); }
/** inc qword [base] (REX.W FF /0). */
export function incMem64(a: Asm, base: number): Asm { return a.raw(0x48, 0xff, base & 7); }
/** rep stosq (F3 REX.W AB). */
export function repStosq(a: Asm): Asm { return a.raw(0xf3, 0x48, 0xab); }
/** rep movsb (F3 A4). */
export function repMovsb(a: Asm): Asm { return a.raw(0xf3, 0xa4); }
/** jmp rax (FF /4). */
export function jmpRax(a: Asm): Asm { return a.raw(0xff, 0xe0); }

export { TWO32 };
