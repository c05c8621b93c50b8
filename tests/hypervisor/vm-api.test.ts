// The KVM-like API of emulator/hypervisor (README.md) with tiny hand-assembled 64-bit guests.
// Each guest runs from its own identity-mapping page tables, written here into guest RAM. Expected
// values come from the SDM (register merging of IN, MMIO load widths, VM-entry failure reasons),
// from the guest's own layout (pages it touches, instruction addresses and counts), from
// comparisons of guest memory before and after (dirty and sub-page logs), or from a bare run of the
// same code — never from the layer itself.
//
// Guest physical layout (all guests):
//   0x00500  GDT: null, 0x08 64-bit code, 0x10 data
//   0x01000  PML4   (PML4[0] → PDPT)
//   0x02000  PDPT   (PDPT[0] → PD0, PDPT[3] → PD3)
//   0x03000  PD0    (0..1 GiB in 2 MiB pages)
//   0x04000  PD3    (the 2 MiB page at 0xD0000000, outside every slot: MMIO)
//   0x10000  code
// Every paging-structure entry is written with A (and D for the 2 MiB leaves) already set, so the
// processor's page walks never write the tables (SDM Vol. 3A 4.8): the only guest writes are the
// guest's own stores.
import { describe, it, expect } from 'vitest';
import { createVm, type Vm } from '../../emulator/hypervisor/vm.ts';
import type { Vcpu, VcpuExit } from '../../emulator/hypervisor/vcpu.ts';
import type { Regs, Sregs, Segment } from '../../emulator/hypervisor/vcpu-state.ts';
import { dirtyPages } from '../../emulator/hypervisor/memory-slots.ts';
import type { DirtyTrackerKind } from '../../emulator/hypervisor/dirty-log.ts';
import { Machine, BufferedSerial } from '../../emulator/machine/machine.ts';
import { StopReason } from '../../emulator/cpu/state.ts';
import { Asm, RAX, RBX, RCX, RDX, RDI } from '../vmx/asm.ts';


const MIB = 1024 * 1024;
const GDT = 0x500, PML4 = 0x1000, PDPT = 0x2000, PD0 = 0x3000, PD3 = 0x4000;
const CODE = 0x10000;
const MMIO_BASE = 0xd0000000;
/** Guest page numbers of the paging structures a walk of a low (< 1 GiB) address reads. */
const PT_PAGES_LOW = [PML4 >> 12, PDPT >> 12, PD0 >> 12];
const SYNC_PORT = 0x10;

// ---------------------------------------------------------------- raw encodings (checked with GNU as)

/** out imm8, al (E6 ib): the guest's "end of phase" signal. */
const sync = (a: Asm): Asm => a.outImm8(SYNC_PORT);
/** in ax, dx (66 ED). */
const inDx16 = (a: Asm): Asm => a.raw(0x66, 0xed);
/** in eax, dx (ED). */
const inDx32 = (a: Asm): Asm => a.raw(0xed);
/** inc rax (48 FF C0). */
const incRax = (a: Asm): Asm => a.raw(0x48, 0xff, 0xc0);
/** jmp rel8 to `target` (EB cb). */
const jmpTo = (a: Asm, target: number): Asm => a.raw(0xeb, (target - (a.here + 2)) & 0xff);
/** jnz rel8 to `target` (75 cb). */
const jnzTo = (a: Asm, target: number): Asm => a.raw(0x75, (target - (a.here + 2)) & 0xff);
/** add rdi, imm32 (48 81 C7 id). */
const addRdiImm32 = (a: Asm, v: number): Asm => a.raw(0x48, 0x81, 0xc7, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
/** dec rcx (48 FF C9). */
const decRcx = (a: Asm): Asm => a.raw(0x48, 0xff, 0xc9);
/** mov [rdi], rax (48 89 07). */
const storeRdi = (a: Asm): Asm => a.raw(0x48, 0x89, 0x07);
/** mov rsi, [rdi] (48 8B 37). */
const loadRdi = (a: Asm): Asm => a.raw(0x48, 0x8b, 0x37);

// ---------------------------------------------------------------- guest set-up

function seg(selector: number, code: boolean): Segment {
  return { selector, base: 0n, limit: 0xffffffff, type: code ? 11 : 3, s: true, dpl: 0, present: true, avl: false, l: code, db: !code, g: true, unusable: false };
}

/** 64-bit mode with the tables above: CR0 = PE|ET|NE|PG, CR4 = PAE, EFER = LME|LMA. */
function sregs64(): Sregs {
  const data = seg(0x10, false);
  return {
    cs: seg(0x08, true), ds: { ...data }, es: { ...data }, ss: { ...data }, fs: { ...data }, gs: { ...data },
    tr: { selector: 0, base: 0n, limit: 0x67, type: 11, s: false, dpl: 0, present: true, avl: false, l: false, db: false, g: false, unusable: false },
    ldt: { selector: 0, base: 0n, limit: 0, type: 2, s: false, dpl: 0, present: false, avl: false, l: false, db: false, g: false, unusable: true },
    gdt: { base: BigInt(GDT), limit: 23 }, idt: { base: 0n, limit: 0 },
    cr0: 0x80000031n, cr2: 0n, cr3: BigInt(PML4), cr4: 0x20n, cr8: 0n, efer: 0x500n,
  };
}

function regs0(): Regs {
  return {
    rax: 0n, rcx: 0n, rdx: 0n, rbx: 0n, rsp: 0x8000n, rbp: 0n, rsi: 0n, rdi: 0n,
    r8: 0n, r9: 0n, r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n, rip: BigInt(CODE), rflags: 2n,
  };
}

/** GDT and paging structures (SDM Vol. 3A 4.5): P|RW|A on tables, P|RW|A|D|PS on 2 MiB leaves. */
function tablesImage(): Uint8Array {
  const b = new Uint8Array(0x5000);
  const v = new DataView(b.buffer);
  const q = (at: number, x: number): void => v.setBigUint64(at, BigInt(x), true);
  v.setBigUint64(GDT + 8, 0x00af9b000000ffffn, true);
  v.setBigUint64(GDT + 16, 0x00cf93000000ffffn, true);
  q(PML4, PDPT | 0x23);
  q(PDPT, PD0 | 0x23);
  q(PDPT + 3 * 8, PD3 | 0x23);
  for (let i = 0; i < 512; i++) q(PD0 + i * 8, i * 2 * MIB + 0xe3);
  q(PD3 + ((MMIO_BASE - 0xc0000000) / (2 * MIB)) * 8, MMIO_BASE + 0xe3);
  return b;
}

interface Guest { vm: Vm; vcpu: Vcpu }

function makeGuest(code: Asm, opts: { memoryMiB?: number; tracker?: DirtyTrackerKind; largePages?: boolean; log?: boolean; regs?: Partial<Regs> } = {}): Guest {
  const memoryMiB = opts.memoryMiB ?? 8;
  const vm = createVm({ memoryMiB, dirtyTracker: opts.tracker, largePages: opts.largePages });
  vm.setMemoryRegion({ slot: 0, guestPhysAddr: 0, size: memoryMiB * MIB, logDirtyPages: opts.log ?? false });
  vm.writeGuest(0, tablesImage());
  const bytes = code.bytes();
  if (code.origin !== CODE || bytes.length > 4096) throw new Error('test guest code must start at CODE and fit one page');
  vm.writeGuest(CODE, bytes);
  const vcpu = vm.createVcpu();
  vcpu.setSregs(sregs64());
  vcpu.setRegs({ ...regs0(), ...opts.regs });
  return { vm, vcpu };
}

function expectReason<R extends VcpuExit['reason']>(ex: VcpuExit, reason: R): Extract<VcpuExit, { reason: R }> {
  expect(ex.reason, JSON.stringify(ex, (_k, x) => typeof x === 'bigint' ? `0x${x.toString(16)}` : x)).toBe(reason);
  return ex as Extract<VcpuExit, { reason: R }>;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

// ================================================================= argument checking

describe('createVm and setMemoryRegion reject bad arguments', () => {
  it('memoryMiB must be a positive integer', () => {
    expect(() => createVm({ memoryMiB: 0 })).toThrow(/memoryMiB/);
    expect(() => createVm({ memoryMiB: 1.5 })).toThrow(/memoryMiB/);
    expect(() => createVm({ memoryMiB: -4 })).toThrow(/memoryMiB/);
    expect(() => createVm({ memoryMiB: 2 })).not.toThrow();
  });
  it('slots must be 4 KiB aligned, must not overlap and must fit in memoryMiB', () => {
    const vm = createVm({ memoryMiB: 4 });
    expect(() => vm.setMemoryRegion({ slot: 0, guestPhysAddr: 0x800, size: 0x1000 })).toThrow();
    expect(() => vm.setMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x1800 })).toThrow();
    expect(() => vm.setMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0 })).toThrow();
    expect(() => vm.setMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 8 * MIB })).toThrow(/fit/);
    vm.setMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 2 * MIB });
    expect(() => vm.setMemoryRegion({ slot: 1, guestPhysAddr: MIB, size: 2 * MIB })).toThrow(/overlap/);
    expect(() => vm.setMemoryRegion({ slot: 1, guestPhysAddr: 2 * MIB - 4096, size: 4096 })).toThrow(/overlap/);
    // 2 MiB used of 4: another 2 MiB fits, one more page does not.
    vm.setMemoryRegion({ slot: 1, guestPhysAddr: 0x10000000, size: 2 * MIB });
    expect(() => vm.setMemoryRegion({ slot: 2, guestPhysAddr: 0x20000000, size: 4096 })).toThrow(/fit/);
    // writeGuest/readGuest address the slots by guest-physical address.
    vm.writeGuest(0x10000000 + 4, Uint8Array.of(1, 2, 3));
    expect([...vm.readGuest(0x10000000 + 3, 5)]).toEqual([0, 1, 2, 3, 0]);
    expect(() => vm.readGuest(0x30000000, 1)).toThrow();
  });
  it('getDirtyLog needs a slot created with logDirtyPages', () => {
    const vm = createVm({ memoryMiB: 4 });
    vm.setMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 2 * MIB });
    vm.setMemoryRegion({ slot: 1, guestPhysAddr: 2 * MIB, size: 2 * MIB, logDirtyPages: true });
    expect(() => vm.getDirtyLog(0)).toThrow(/logDirtyPages|does not log/);
    expect(() => vm.getDirtyLog(7)).toThrow(/no slot/);
    const log = vm.getDirtyLog(1);
    expect(log.length).toBe(512 / 8);
    expect(dirtyPages(log)).toEqual([]);
  });
});

// ================================================================= registers

describe('register state', () => {
  it('setRegs/getRegs round-trip every field', () => {
    const { vcpu } = makeGuest(new Asm(CODE).hlt());
    const r = {} as Regs;
    (['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const)
      .forEach((k, i) => { r[k] = BigInt.asUintN(64, 0x0123456789abcdefn ^ (BigInt(i + 1) * 0x1111000011110000n) ^ (BigInt(i) << 60n)); });
    r.rip = 0x7fff12345678n;
    r.rflags = 0x246n; // ZF PF IF and the fixed bit 1
    vcpu.setRegs(r);
    expect(vcpu.getRegs()).toEqual(r);
  });
  it('setSregs/getSregs round-trip segments, descriptor tables and control registers', () => {
    const { vcpu } = makeGuest(new Asm(CODE).hlt());
    const s = sregs64();
    s.fs = { ...s.fs, selector: 0x10, base: 0x7fff00001000n };
    s.gs = { ...s.gs, selector: 0x10, base: 0xffff800000002000n };
    s.tr = { ...s.tr, selector: 0x18, base: 0x9000n, limit: 0x2067 };
    s.gdt = { base: 0x500n, limit: 0x3f };
    s.idt = { base: 0xffff800000003000n, limit: 0xfff };
    s.cr2 = 0x123456789000n;
    s.cr3 = 0x5000n;
    s.cr4 = 0x6a0n; // PAE PGE OSFXSR OSXMMEXCPT
    s.cr8 = 5n;
    s.efer = 0xd01n; // SCE LME LMA NXE
    vcpu.setSregs(s);
    expect(vcpu.getSregs()).toEqual(s);
    // CR0.NE and CR4.VMXE are the host's (fixed to 1 in VMX operation): the guest sees its own values.
    const s2 = { ...sregs64(), cr0: 0x80000011n, cr4: 0x20n };
    vcpu.setSregs(s2);
    expect(vcpu.getSregs().cr0).toBe(0x80000011n);
    expect(vcpu.getSregs().cr4).toBe(0x20n);
  });
});

describe('several vCPUs', () => {
  it('keep their own registers and positions when run in turn', () => {
    const a = new Asm(CODE);
    const loop0 = a.here; incRax(a); jmpTo(a, loop0);                       // vCPU 0: inc rax; jmp
    const loop1 = a.here; a.raw(0x48, 0xff, 0xc3); sync(a); jmpTo(a, loop1); // vCPU 1: inc rbx; out; jmp
    const { vm, vcpu: v0 } = makeGuest(a, { regs: { rcx: 0x1234n } });
    const v1 = vm.createVcpu();
    v1.setSregs(sregs64());
    v1.setRegs({ ...regs0(), rip: BigInt(loop1), rcx: 0x9999n, rax: 0x55n });
    for (let i = 0; i < 3; i++) {
      expectReason(v0.run({ maxInstructions: 11 }), 'budget');
      expect(expectReason(v1.run({ maxInstructions: 100 }), 'io').port).toBe(SYNC_PORT); // its OUT is left pending
    }
    const r0 = v0.getRegs(), r1 = v1.getRegs();
    // vCPU 0: 33 instructions of inc/jmp → 17 increments, stopped after an inc.
    expect({ rax: r0.rax, rbx: r0.rbx, rcx: r0.rcx, rip: r0.rip }).toEqual({ rax: 17n, rbx: 0n, rcx: 0x1234n, rip: BigInt(loop0 + 3) });
    // vCPU 1: three rounds of inc, out (the third OUT pending at its RIP).
    expect({ rax: r1.rax, rbx: r1.rbx, rcx: r1.rcx, rip: r1.rip }).toEqual({ rax: 0x55n, rbx: 3n, rcx: 0x9999n, rip: BigInt(loop1 + 3) });
  });
});

// ================================================================= port I/O

describe('io exits', () => {
  it('OUT gives port, size and data; IN merges the answer into RAX as the SDM says', () => {
    const PORT = 0x5678;
    const a = new Asm(CODE);
    const at: number[] = [];
    const mark = (): void => { at.push(a.here); };
    mark(); a.outImm8(0xe9);   // out 0xe9, al
    mark(); a.outDx16();       // out dx, ax
    mark(); a.outDx32();       // out dx, eax
    mark(); a.inDx8();         // in al, dx
    mark(); a.outDx32();
    mark(); inDx16(a);         // in ax, dx
    mark(); a.outDx32();
    mark(); inDx32(a);         // in eax, dx
    mark(); a.outDx32();
    mark(); a.hlt();
    const end = a.here;
    const { vm, vcpu } = makeGuest(a, { regs: { rax: 0x1122334455667788n, rdx: BigInt(PORT) } });
    const i0 = vm.cpu.icount;

    let ex = expectReason(vcpu.run(), 'io');
    expect(ex).toEqual({ reason: 'io', direction: 'out', port: 0xe9, size: 1, data: 0x88 });
    expect(vcpu.getRegs().rip).toBe(BigInt(at[0])); // not retired until completed
    vcpu.completeIo();
    expect(vcpu.getRegs().rip).toBe(BigInt(at[1]));
    ex = expectReason(vcpu.run(), 'io');
    expect(ex).toEqual({ reason: 'io', direction: 'out', port: PORT, size: 2, data: 0x7788 });
    vcpu.completeIo();
    ex = expectReason(vcpu.run(), 'io');
    expect(ex).toEqual({ reason: 'io', direction: 'out', port: PORT, size: 4, data: 0x55667788 });
    // The next run completes a pending OUT by itself.
    ex = expectReason(vcpu.run(), 'io');
    expect(ex).toMatchObject({ direction: 'in', port: PORT, size: 1 });
    expect(vcpu.getRegs().rip).toBe(BigInt(at[3]));

    // IN AL: bits 63:8 of RAX are preserved (SDM Vol. 2A IN; Vol. 1 3.4.1.1).
    vcpu.completeIo(0x1234);
    expect(vcpu.getRegs().rax).toBe(0x1122334455667734n);
    ex = expectReason(vcpu.run(), 'io');
    expect(ex).toEqual({ reason: 'io', direction: 'out', port: PORT, size: 4, data: 0x55667734 });
    vcpu.completeIo();
    // IN AX: bits 63:16 preserved.
    ex = expectReason(vcpu.run(), 'io');
    expect(ex).toMatchObject({ direction: 'in', port: PORT, size: 2 });
    vcpu.completeIo(0xabcdef12);
    ex = expectReason(vcpu.run(), 'io');
    expect(ex).toEqual({ reason: 'io', direction: 'out', port: PORT, size: 4, data: 0x5566ef12 });
    expect(vcpu.getRegs().rax).toBe(0x112233445566ef12n);
    vcpu.completeIo();
    // IN EAX: a 32-bit destination zero-extends into RAX.
    ex = expectReason(vcpu.run(), 'io');
    expect(ex).toMatchObject({ direction: 'in', port: PORT, size: 4 });
    vcpu.completeIo(0x9abcdef0);
    ex = expectReason(vcpu.run(), 'io');
    expect(ex).toEqual({ reason: 'io', direction: 'out', port: PORT, size: 4, data: 0x9abcdef0 });
    expect(vcpu.getRegs().rax).toBe(0x9abcdef0n);
    vcpu.completeIo();
    expectReason(vcpu.run(), 'hlt');
    // Ten instructions retired, each once, and RIP is past the HLT.
    expect(vm.cpu.icount - i0).toBe(10);
    expect(vcpu.getRegs().rip).toBe(BigInt(end));
    expect(vm.exits.byReason.get(30)).toBe(9);
  });
});

// ================================================================= MMIO

describe('mmio exits', () => {
  it('loads and stores outside every slot exit with phys, size, isWrite and data; completeMmio fills the register', () => {
    const a = new Asm(CODE);
    a.movImm(RBX, MMIO_BASE);
    a.raw(0x48, 0x8b, 0x03);       // mov rax, [rbx]
    a.raw(0x8b, 0x43, 0x08);       // mov eax, [rbx+8]
    a.raw(0x66, 0x8b, 0x43, 0x20); // mov ax, [rbx+0x20]
    a.raw(0x48, 0x89, 0x4b, 0x10); // mov [rbx+0x10], rcx
    a.raw(0x88, 0x4b, 0x18);       // mov [rbx+0x18], cl
    a.load(RDX, RBX, 0x40);        // mov rdx, [rbx+0x40]
    a.hlt();
    const { vm, vcpu } = makeGuest(a, { regs: { rax: 0x5555555555555555n, rcx: 0x0123456789abcdefn, rdx: 0x7777n } });
    const i0 = vm.cpu.icount;

    let ex = expectReason(vcpu.run(), 'mmio');
    expect(ex).toEqual({ reason: 'mmio', phys: MMIO_BASE, size: 8, isWrite: false, data: 0n });
    vcpu.completeMmio(0x1122334455667788n);
    expect(vcpu.getRegs().rax).toBe(0x1122334455667788n);

    ex = expectReason(vcpu.run(), 'mmio');
    expect(ex).toEqual({ reason: 'mmio', phys: MMIO_BASE + 8, size: 4, isWrite: false, data: 0n });
    vcpu.completeMmio(0xdeadbeefcafef00dn); // bits above the access size are not loaded
    expect(vcpu.getRegs().rax).toBe(0xcafef00dn); // 32-bit destination: bits 63:32 cleared

    ex = expectReason(vcpu.run(), 'mmio');
    expect(ex).toEqual({ reason: 'mmio', phys: MMIO_BASE + 0x20, size: 2, isWrite: false, data: 0n });
    vcpu.completeMmio(0x4321);
    expect(vcpu.getRegs().rax).toBe(0xcafe4321n); // 16-bit destination: bits 63:16 kept

    ex = expectReason(vcpu.run(), 'mmio');
    expect(ex).toEqual({ reason: 'mmio', phys: MMIO_BASE + 0x10, size: 8, isWrite: true, data: 0x0123456789abcdefn });
    vcpu.completeMmio();
    ex = expectReason(vcpu.run(), 'mmio');
    expect(ex).toEqual({ reason: 'mmio', phys: MMIO_BASE + 0x18, size: 1, isWrite: true, data: 0xefn });
    // The next run completes a pending MMIO store by itself.
    ex = expectReason(vcpu.run(), 'mmio');
    expect(ex).toEqual({ reason: 'mmio', phys: MMIO_BASE + 0x40, size: 8, isWrite: false, data: 0n });
    vcpu.completeMmio(0xfedcba9876543210n);
    expect(vcpu.getRegs().rdx).toBe(0xfedcba9876543210n);
    expectReason(vcpu.run(), 'hlt');
    expect(vm.cpu.icount - i0).toBe(8);
    // The MMIO page has no RAM behind it: nothing was written to guest memory at its GPA, and the
    // first access (an EPT violation) made it an MMIO page; the later ones are misconfigurations.
    expect(vm.mmu.mmioPages.has(MMIO_BASE / 4096)).toBe(true);
    expect(vm.exits.byReason.get(49)).toBe(5);
  });
});

// ================================================================= guests without paging

describe('guests without paging (unrestricted guest)', () => {
  const bareSeg = (selector: number, base: number, limit: number, code: boolean, big: boolean): Segment =>
    ({ selector, base: BigInt(base), limit, type: code ? 11 : 3, s: true, dpl: 0, present: true, avl: false, l: false, db: big, g: big, unusable: false });
  function flatGuest(code: number[], at: number, s: Partial<Sregs>, regs: Partial<Regs>): Guest {
    const vm = createVm({ memoryMiB: 2 });
    vm.setMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 2 * MIB });
    vm.writeGuest(at, Uint8Array.from(code));
    const vcpu = vm.createVcpu();
    const base = sregs64();
    vcpu.setSregs({ ...base, gdt: { base: 0n, limit: 0xffff }, idt: { base: 0n, limit: 0x3ff }, cr3: 0n, cr4: 0n, efer: 0n, ...s });
    vcpu.setRegs({ ...regs0(), ...regs });
    return { vm, vcpu };
  }
  it('real mode: OUT sizes follow the 16-bit operand size, RIP is the offset in CS', () => {
    const code = [
      0xb0, 0x5a,       // mov al, 0x5a
      0xe6, 0xe9,       // out 0xe9, al
      0xb8, 0x34, 0x12, // mov ax, 0x1234
      0xef,             // out dx, ax (16-bit operand size)
      0x66, 0xef,       // out dx, eax (operand-size prefix)
      0xf4,             // hlt
    ];
    const data = bareSeg(0, 0, 0xffff, false, false);
    const { vcpu } = flatGuest(code, 0x1100, {
      cs: bareSeg(0x100, 0x1000, 0xffff, true, false), ds: data, es: data, ss: data, fs: data, gs: data, cr0: 0x10n,
    }, { rip: 0x100n, rdx: 0x5678n, rax: 0xaabbccdd0000n });
    expect(expectReason(vcpu.run(), 'io')).toEqual({ reason: 'io', direction: 'out', port: 0xe9, size: 1, data: 0x5a });
    expect(expectReason(vcpu.run(), 'io')).toEqual({ reason: 'io', direction: 'out', port: 0x5678, size: 2, data: 0x1234 });
    expect(expectReason(vcpu.run(), 'io')).toEqual({ reason: 'io', direction: 'out', port: 0x5678, size: 4, data: 0xccdd1234 });
    expectReason(vcpu.run(), 'hlt');
    expect(vcpu.getRegs().rip).toBe(BigInt(0x100 + code.length));
    expect(vcpu.getSregs().cs.base).toBe(0x1000n);
  });
  it('32-bit protected mode: OUT sizes follow the 32-bit operand size', () => {
    const code = [
      0xb8, 0xef, 0xbe, 0xad, 0xde, // mov eax, 0xdeadbeef
      0xef,                         // out dx, eax
      0x66, 0xef,                   // out dx, ax
      0xec,                         // in al, dx
      0xf4,                         // hlt
    ];
    const data = bareSeg(0x10, 0, 0xffffffff, false, true);
    const { vcpu } = flatGuest(code, 0x20000, {
      cs: bareSeg(0x08, 0, 0xffffffff, true, true), ds: data, es: data, ss: data, fs: data, gs: data, cr0: 0x11n,
    }, { rip: 0x20000n, rdx: 0x5678n });
    expect(expectReason(vcpu.run(), 'io')).toEqual({ reason: 'io', direction: 'out', port: 0x5678, size: 4, data: 0xdeadbeef });
    expect(expectReason(vcpu.run(), 'io')).toEqual({ reason: 'io', direction: 'out', port: 0x5678, size: 2, data: 0xbeef });
    expect(expectReason(vcpu.run(), 'io')).toMatchObject({ direction: 'in', port: 0x5678, size: 1 });
    vcpu.completeIo(0x77);
    expect(vcpu.getRegs().rax).toBe(0xdeadbe77n);
    expectReason(vcpu.run(), 'hlt');
    expect(vcpu.getRegs().rip).toBe(BigInt(0x20000 + code.length));
  });
});

// ================================================================= hlt, shutdown, fail-entry

describe('terminal exits', () => {
  it('HLT with RFLAGS.IF = 0 gives hlt, with RIP past the HLT', () => {
    const a = new Asm(CODE).nop().hlt();
    const { vm, vcpu } = makeGuest(a);
    expectReason(vcpu.run(), 'hlt');
    expect(vcpu.getRegs().rip).toBe(BigInt(CODE + 2));
    expect(vm.cpu.icount).toBe(2);
  });
  it('an exception with an empty IDT triple-faults: shutdown (exit reason 2)', () => {
    const a = new Asm(CODE).nop().int3().hlt();
    const { vm, vcpu } = makeGuest(a); // IDTR limit 0
    expectReason(vcpu.run(), 'shutdown');
    expect(vm.exits.byReason.get(2)).toBe(1);
  });
  it('#UD with an IDT limit too small for vector 6 triple-faults too', () => {
    const a = new Asm(CODE).ud2().hlt();
    const { vcpu } = makeGuest(a);
    const s = sregs64();
    s.idt = { base: 0x8000n, limit: 0x3f }; // vectors 0-3 only (16-byte gates)
    vcpu.setSregs(s);
    expectReason(vcpu.run(), 'shutdown');
  });
  it('invalid guest state (CS type 0) fails VM entry with exit reason 0x80000021 (bit 31 | 33)', () => {
    const { vcpu } = makeGuest(new Asm(CODE).hlt());
    const s = sregs64();
    s.cs = { ...s.cs, type: 0 };
    vcpu.setSregs(s);
    const ex = expectReason(vcpu.run(), 'fail-entry');
    expect(ex.hardwareReason >>> 0).toBe(0x80000021);
  });
});

// ================================================================= budget and debug

describe('instruction budget', () => {
  it('stops after exactly maxInstructions retired instructions and continues where it stopped', () => {
    const a = new Asm(CODE);
    const top = a.here;
    incRax(a);       // CODE + 0: inc rax (3 bytes)
    jmpTo(a, top);   // CODE + 3: jmp top
    const { vm, vcpu } = makeGuest(a);
    let total = 0;
    for (const n of [1001, 1000, 1, 7, 50_000]) {
      const i0 = vm.cpu.icount;
      expectReason(vcpu.run({ maxInstructions: n }), 'budget');
      expect(vm.cpu.icount - i0).toBe(n);
      total += n;
      // The loop alternates inc, jmp: after `total` instructions, ceil(total / 2) increments.
      const r = vcpu.getRegs();
      expect(r.rax).toBe(BigInt(Math.ceil(total / 2)));
      expect(r.rip).toBe(BigInt(total % 2 === 1 ? CODE + 3 : CODE));
    }
  });
  it('counts instructions the layer completes (CPUID, in-kernel port I/O) and lazy EPT faults exactly', () => {
    const a = new Asm(CODE);
    const top = a.here;
    const offsets: number[] = [];
    offsets.push(a.here); a.cpuid();               // exit 10, retired by the layer
    offsets.push(a.here); a.raw(0xe4, 0x61);        // in al, 0x61: the in-kernel port 61h
    offsets.push(a.here); a.raw(0x48, 0xff, 0xc6);  // inc rsi
    offsets.push(a.here); storeRdi(a);              // mov [rdi], rax
    offsets.push(a.here); addRdiImm32(a, 0x1000);   // add rdi, 0x1000: a new page each time (a lazy EPT fault)
    offsets.push(a.here); jmpTo(a, top);
    const { vm, vcpu } = makeGuest(a, { regs: { rdi: 0x100000n } });
    let total = 0;
    for (const n of [1, 2, 3, 5, 7, 11, 13, 100, 997]) {
      const i0 = vm.cpu.icount;
      expectReason(vcpu.run({ maxInstructions: n }), 'budget');
      expect(vm.cpu.icount - i0, `run of ${n}`).toBe(n);
      total += n;
      // Position in the 6-instruction loop, and increments of RSI (index 2) so far.
      const r = vcpu.getRegs();
      expect(r.rip).toBe(BigInt(offsets[total % 6]));
      let incs = 0;
      for (let k = 0; k < total; k++) if (k % 6 === 2) incs++;
      expect(r.rsi).toBe(BigInt(incs));
    }
    expect(vm.exits.byReason.get(10)).toBe(Math.ceil(total / 6));
  });
});

describe('guest debugging', () => {
  it('singleStep returns after one instruction with RIP at the next one', () => {
    const a = new Asm(CODE);
    const rips: number[] = [];
    a.movImm(RAX, 0x1234); rips.push(a.here);
    incRax(a); rips.push(a.here);
    a.nop(); rips.push(a.here);
    a.movImm(RCX, 7); rips.push(a.here);
    a.hlt();
    const { vm, vcpu } = makeGuest(a);
    vcpu.setGuestDebug({ singleStep: true });
    for (const rip of rips) {
      const i0 = vm.cpu.icount;
      const ex = expectReason(vcpu.run(), 'debug');
      expect(ex.kind).toBe('single-step');
      expect(ex.rip).toBe(BigInt(rip));
      expect(vm.cpu.icount - i0).toBe(1);
    }
    const r = vcpu.getRegs();
    expect(r.rax).toBe(0x1235n);
    expect(r.rcx).toBe(7n);
    vcpu.setGuestDebug({});
    expectReason(vcpu.run(), 'hlt');
  });
  it('singleStep over an OUT: the io exit, then a debug exit right after the OUT (completing it is the step)', () => {
    const a = new Asm(CODE).nop();
    const outAt = a.here;
    a.outImm8(0xe9);
    const next = a.here;
    a.nop();
    const next2 = a.here;
    a.nop().hlt();
    const { vm, vcpu } = makeGuest(a);
    vcpu.setGuestDebug({ singleStep: true });
    expect(expectReason(vcpu.run(), 'debug').rip).toBe(BigInt(outAt));
    let i0 = vm.cpu.icount;
    expect(expectReason(vcpu.run(), 'io')).toMatchObject({ port: 0xe9, direction: 'out' });
    expect(vm.cpu.icount - i0).toBe(0);
    // This run completes the OUT: that is one instruction, so it must stop at the next boundary
    // without executing the NOP after it (KVM completes the I/O on re-entry and then reports the step).
    i0 = vm.cpu.icount;
    const ex = expectReason(vcpu.run(), 'debug');
    expect({ rip: ex.rip, retired: vm.cpu.icount - i0 }).toEqual({ rip: BigInt(next), retired: 1 });
    expect(expectReason(vcpu.run(), 'debug').rip).toBe(BigInt(next2));
  });
  it('softwareBreakpoints: INT3 exits as a breakpoint at the INT3 (SDM 28.2: the exit saves the RIP of the instruction)', () => {
    const a = new Asm(CODE).nop().nop();
    const at = a.here;
    a.int3().hlt();
    const { vcpu } = makeGuest(a);
    vcpu.setGuestDebug({ softwareBreakpoints: true });
    const ex = expectReason(vcpu.run(), 'debug');
    expect(ex).toEqual({ reason: 'debug', kind: 'breakpoint', rip: BigInt(at) });
  });
});

// ================================================================= CPUID

describe('CPUID under the VM', () => {
  it('leaf 1 hides VMX (ECX bit 5) and otherwise answers as the bare processor does', () => {
    const code = (origin: number): Asm => new Asm(origin)
      .raw(0xb8, 0x01, 0x00, 0x00, 0x00) // mov eax, 1
      .raw(0x31, 0xc9)                   // xor ecx, ecx
      .cpuid().hlt();
    // Bare: the same code as a flat long-mode image on a bare Machine.
    const m = new Machine({ memoryMiB: 8, serial: new BufferedSerial() });
    m.load(code(0x100000).bytes(), { flatAddress: 0x100000, flatMode: 'long64' });
    const r = m.run(100);
    expect(r.reason).toBe(StopReason.Halted);
    const bare = { eax: m.cpu.rl[0] >>> 0, ebx: m.cpu.rl[3] >>> 0, ecx: m.cpu.rl[1] >>> 0, edx: m.cpu.rl[2] >>> 0 };
    expect(bare.ecx & 0x20).toBe(0x20);

    const { vm, vcpu } = makeGuest(code(CODE));
    expectReason(vcpu.run(), 'hlt');
    const g = vcpu.getRegs();
    expect(Number(g.rax)).toBe(bare.eax);
    expect(Number(g.rbx)).toBe(bare.ebx);
    expect(Number(g.rdx)).toBe(bare.edx);
    expect(Number(g.rcx) & 0x20).toBe(0);
    expect(Number(g.rcx)).toBe((bare.ecx & ~0x20) >>> 0);
    expect(vm.exits.byReason.get(10)).toBe(1);
  });
});

// ================================================================= lazy EPT

describe('lazy EPT', () => {
  // Reads and writes, two of them on the same pages.
  const touches: { addr: number; write: boolean }[] = [
    { addr: 0x100000, write: true }, { addr: 0x100ff8, write: false }, { addr: 0x101000, write: false },
    { addr: 0x180008, write: true }, { addr: 0x305000, write: true }, { addr: 0x305800, write: true },
    { addr: 0x7ff000, write: false },
  ];
  const guest = (): Asm => {
    const a = new Asm(CODE);
    for (const t of touches) { a.movImm(RDI, t.addr); (t.write ? storeRdi : loadRdi)(a); }
    return a.hlt();
  };
  const dataPages = new Set(touches.map((t) => t.addr >> 12));
  it('maps one 4 KiB page per distinct page touched: code, paging structures and data', () => {
    const { vm, vcpu } = makeGuest(guest());
    expect(vm.mmu.mapped4k).toBe(0);
    expectReason(vcpu.run(), 'hlt');
    const expected = new Set([CODE >> 12, ...PT_PAGES_LOW, ...dataPages]);
    expect(expected.size).toBe(9);
    expect(vm.mmu.mapped4k).toBe(expected.size);
    expect(vm.mmu.mapped2m).toBe(0);
    expect(vm.exits.byReason.get(48)).toBe(expected.size);
    // Each mapped page has a leaf, the others none.
    const slot = vm.slots.get(0)!;
    const mapped = [...slot.leafAt].map((x, i) => x !== 0 ? i : -1).filter((i) => i >= 0);
    expect(mapped).toEqual([...expected].sort((x, y) => x - y));
  });
  it('with largePages, one 2 MiB mapping per distinct 2 MiB region touched and no 4 KiB ones', () => {
    const { vm, vcpu } = makeGuest(guest(), { largePages: true });
    expectReason(vcpu.run(), 'hlt');
    const regions = new Set([CODE, ...PT_PAGES_LOW.map((p) => p << 12), ...touches.map((t) => t.addr)].map((x) => Math.floor(x / (2 * MIB))));
    expect(regions.size).toBe(3);
    expect(vm.mmu.mapped2m).toBe(regions.size);
    expect(vm.mmu.mapped4k).toBe(0);
    expect(vm.readGuest(0x305800, 8)).toEqual(new Uint8Array(8)); // RAX was 0: written, still zero
  });
});

// ================================================================= sub-page write permissions

describe('setSubpagePermissions', () => {
  it('denies writes to sub-pages outside the mask with an spp exit at the exact GPA', () => {
    const PAGE_A = 0x200000; // touched before the permissions are set
    const PAGE_B = 0x240000; // first touched after
    const a = new Asm(CODE);
    a.movImm(RAX, 0x1111111111111111n);
    a.movImm(RDI, PAGE_A + 5 * 128 + 8); storeRdi(a);          // sub-page 5 of A, before any permission
    sync(a);                                                   // → the test sets the permissions
    a.movImm(RAX, 0x2222222222222222n);
    a.movImm(RDI, PAGE_A + 0x10); storeRdi(a);                 // sub-page 0 of A: allowed
    a.movImm(RDI, PAGE_A + 5 * 128 + 8);
    const denyA = a.here; storeRdi(a);                         // sub-page 5 of A: denied
    a.movImm(RDI, PAGE_B + 0x78); storeRdi(a);                 // sub-page 0 of B: allowed
    a.movImm(RDI, PAGE_B + 31 * 128 + 0x40);
    const denyB = a.here; storeRdi(a);                         // sub-page 31 of B: denied
    a.hlt();
    const { vm, vcpu } = makeGuest(a);
    expectReason(vcpu.run(), 'io');
    expect(vm.readGuest(PAGE_A + 5 * 128 + 8, 8)).toEqual(new Uint8Array(8).fill(0x11));
    vm.setSubpagePermissions(PAGE_A >> 12, 0x1);
    vm.setSubpagePermissions(PAGE_B >> 12, 0x1);
    expect(vm.getSubpagePermissions(PAGE_A >> 12)).toBe(1);
    expect(vm.getSubpagePermissions(PAGE_B >> 12)).toBe(1);
    expect(vm.getSubpagePermissions(0x300)).toBe(0xffffffff); // untouched pages: all writable

    let ex = expectReason(vcpu.run(), 'spp');
    expect(ex).toEqual({ reason: 'spp', gpa: PAGE_A + 5 * 128 + 8, linear: PAGE_A + 5 * 128 + 8 });
    expect(vcpu.getRegs().rip).toBe(BigInt(denyA)); // the store did not happen and will be retried
    expect(vm.readGuest(PAGE_A + 0x10, 8)).toEqual(new Uint8Array(8).fill(0x22));
    expect(vm.readGuest(PAGE_A + 5 * 128 + 8, 8)).toEqual(new Uint8Array(8).fill(0x11));
    vm.setSubpagePermissions(PAGE_A >> 12, 0xffffffff);
    expect(vm.getSubpagePermissions(PAGE_A >> 12)).toBe(0xffffffff);

    ex = expectReason(vcpu.run(), 'spp');
    expect(ex).toEqual({ reason: 'spp', gpa: PAGE_B + 31 * 128 + 0x40, linear: PAGE_B + 31 * 128 + 0x40 });
    expect(vcpu.getRegs().rip).toBe(BigInt(denyB));
    expect(vm.readGuest(PAGE_A + 5 * 128 + 8, 8)).toEqual(new Uint8Array(8).fill(0x22));
    expect(vm.readGuest(PAGE_B + 0x78, 8)).toEqual(new Uint8Array(8).fill(0x22));
    vm.setSubpagePermissions(PAGE_B >> 12, 0x80000001);
    expectReason(vcpu.run(), 'hlt');
    expect(vm.readGuest(PAGE_B + 31 * 128 + 0x40, 8)).toEqual(new Uint8Array(8).fill(0x22));
    expect(vm.exits.get('spp-user')).toBe(2);
  });
});

describe('setSubpagePermissions with largePages', () => {
  it('splits a 2 MiB EPT mapping: the denied write exits, the allowed one does not', () => {
    const PAGE = 0x200000;
    const a = new Asm(CODE);
    a.movImm(RAX, 0x3333333333333333n);
    a.movImm(RDI, PAGE + 0x10); storeRdi(a);
    sync(a);
    a.movImm(RAX, 0x4444444444444444n);
    a.movImm(RDI, PAGE + 0x10); storeRdi(a);     // sub-page 0: allowed
    a.movImm(RDI, PAGE + 0x1008); storeRdi(a);   // the next page: no permissions set
    a.movImm(RDI, PAGE + 0x290); storeRdi(a);    // sub-page 5: denied
    a.hlt();
    const { vm, vcpu } = makeGuest(a, { largePages: true });
    expectReason(vcpu.run(), 'io');
    expect(vm.mmu.mapped2m).toBe(2); // the region of code and tables, and the one of PAGE
    expect(vm.mmu.mapped4k).toBe(0);
    vm.setSubpagePermissions(PAGE >> 12, 1);
    expect(expectReason(vcpu.run(), 'spp')).toEqual({ reason: 'spp', gpa: PAGE + 0x290, linear: PAGE + 0x290 });
    expect(vm.readGuest(PAGE + 0x10, 8)).toEqual(new Uint8Array(8).fill(0x44));
    expect(vm.readGuest(PAGE + 0x1008, 8)).toEqual(new Uint8Array(8).fill(0x44));
    expect(vm.readGuest(PAGE + 0x290, 8)).toEqual(new Uint8Array(8));
  });
});

// ================================================================= dirty logging

/** Straight-line guest: store RAX to each address of each phase, OUT to sync after each phase, HLT. */
function phasesGuest(phases: number[][]): Asm {
  const a = new Asm(CODE);
  a.movImm(RAX, 0x0123456789abcdefn);
  for (const ph of phases) {
    for (const addr of ph) { a.movImm(RDI, addr); storeRdi(a); }
    sync(a);
  }
  return a.hlt();
}

interface PhaseLogs { logs: number[][]; byReason: Map<number, number> }

function runPhases(tracker: DirtyTrackerKind, phases: number[][]): PhaseLogs {
  const { vm, vcpu } = makeGuest(phasesGuest(phases), { tracker, log: true });
  const logs: number[][] = [];
  for (let i = 0; i < phases.length; i++) {
    const ex = expectReason(vcpu.run(), 'io');
    expect(ex.port).toBe(SYNC_PORT);
    logs.push(dirtyPages(vm.getDirtyLog(0)));
  }
  expectReason(vcpu.run(), 'hlt');
  logs.push(dirtyPages(vm.getDirtyLog(0)));
  return { logs, byReason: vm.exits.byReason };
}

describe('dirty logging with each tracker', () => {
  // Pages in several 2 MiB regions; phase 2 rewrites one page of phase 1.
  const phases = [
    [0x100000, 0x101008, 0x1ff000, 0x250ff8, 0x400000, 0x7ff800],
    [0x101000, 0x300000, 0x5ff000, 0x12000, 0x700040, 0x700080],
    [], // a phase with no writes at all
  ];
  const written = phases.map((ph) => [...new Set(ph.map((x) => x >> 12))].sort((x, y) => x - y));
  const ptPages = new Set(PT_PAGES_LOW);
  const results = new Map<DirtyTrackerKind, PhaseLogs>();
  for (const t of ['write-protect', 'dirty-bits', 'pml'] as const) {
    it(`${t}: every written page, and nothing but written pages${t === 'write-protect' ? '' : ' and paging structures'}`, () => {
      const r = runPhases(t, phases);
      results.set(t, r);
      r.logs.forEach((log, i) => {
        const want = written[i] ?? [];
        for (const p of want) expect(log, `phase ${i}: page ${hex(p)}`).toContain(p);
        if (t === 'write-protect') expect(log, `phase ${i}`).toEqual(want);
        else for (const p of log) expect(want.includes(p) || ptPages.has(p), `phase ${i}: page ${hex(p)} is neither written nor a paging structure`).toBe(true);
      });
      if (t === 'write-protect') expect(r.byReason.get(48)).toBeGreaterThanOrEqual(written[0].length + written[1].length);
    });
  }
  it('dirty-bits and pml report the same pages in every phase', () => {
    const d = results.get('dirty-bits') ?? runPhases('dirty-bits', phases);
    const p = results.get('pml') ?? runPhases('pml', phases);
    expect(p.logs).toEqual(d.logs);
  });
  for (const t of ['write-protect', 'dirty-bits', 'pml'] as const) {
    it(`${t}: writes that sub-page permissions allow are logged too`, () => {
      // A: first touched after its permissions are set; B: touched before, then given a mask;
      // C: touched before, given a mask, then all sub-pages writable again.
      const A = 0x200000, B = 0x201000, C = 0x202000;
      const a = new Asm(CODE);
      a.movImm(RAX, 0x1111111111111111n);
      for (const page of [B, C]) { a.movImm(RDI, page + 0x400); storeRdi(a); }
      sync(a);
      a.movImm(RAX, 0x2222222222222222n);
      for (const page of [A, B, C]) { a.movImm(RDI, page + 0x10); storeRdi(a); } // sub-page 0: allowed
      sync(a).hlt();
      const { vm, vcpu } = makeGuest(a, { tracker: t, log: true });
      expectReason(vcpu.run(), 'io');
      const first = dirtyPages(vm.getDirtyLog(0));
      for (const page of [B, C]) expect(first).toContain(page >> 12);
      vm.setSubpagePermissions(A >> 12, 1);
      vm.setSubpagePermissions(B >> 12, 1);
      vm.setSubpagePermissions(C >> 12, 1);
      vm.setSubpagePermissions(C >> 12, 0xffffffff);
      expectReason(vcpu.run(), 'io');
      // The stores happened (no spp exit: they are allowed)...
      for (const page of [A, B, C]) expect(vm.readGuest(page + 0x10, 8)).toEqual(new Uint8Array(8).fill(0x22));
      // ...so the pages are dirty.
      const second = dirtyPages(vm.getDirtyLog(0));
      const missing = [A, B, C].map((x) => x >> 12).filter((p) => !second.includes(p)).map(hex);
      expect(missing, `written pages missing from the ${t} log`).toEqual([]);
      for (const p of second) expect([A, B, C].map((x) => x >> 12).includes(p) || ptPages.has(p), `extra page ${hex(p)}`).toBe(true);
    });
  }
  it('pml: more than 512 pages in one phase fill the log (exit 62) and every page is still reported', () => {
    const N = 600, BASE = 0x100000;
    const a = new Asm(CODE);
    a.movImm(RAX, 0xa5a5a5a5a5a5a5a5n).movImm(RDI, BASE).movImm(RCX, N);
    const top = a.here;
    storeRdi(a); addRdiImm32(a, 0x1000); decRcx(a); jnzTo(a, top);
    sync(a).hlt();
    const { vm, vcpu } = makeGuest(a, { tracker: 'pml', log: true });
    expectReason(vcpu.run(), 'io');
    const log = new Set(dirtyPages(vm.getDirtyLog(0)));
    for (let i = 0; i < N; i++) expect(log.has((BASE >> 12) + i), `page ${hex((BASE >> 12) + i)}`).toBe(true);
    for (const p of log) expect(p >= BASE >> 12 && p < (BASE >> 12) + N || ptPages.has(p), `extra page ${hex(p)}`).toBe(true);
    expect(vm.exits.byReason.get(62) ?? 0).toBeGreaterThan(0);
    expect(vm.exits.get('pml-entry')).toBeGreaterThanOrEqual(N);
    expectReason(vcpu.run(), 'hlt');
    expect(vm.readGuest(BASE + (N - 1) * 4096, 8)).toEqual(new Uint8Array(8).fill(0xa5));
  });
});

// ================================================================= sub-page tracking

const SUB = 128;
const DATA = 0x200000; // four data pages P0..P3
const P = (i: number): number => DATA + i * 4096;

interface Round { r8: number; r9: number; r10: number; r11: number; rdi: number; rcx: number }

/**
 * The tracking guest uses registers only (no stack): per round a byte store at R8, a qword at R9,
 * a dword at R10, a word at R11, `rep stosb` of RCX bytes at RDI, all of the pattern in RAX; then
 * OUT to sync and back to the top. The test sets the registers of each round.
 */
function trackingGuest(): Asm {
  const a = new Asm(CODE);
  const top = a.here;
  a.raw(0x41, 0x88, 0x00);       // mov [r8], al
  a.raw(0x49, 0x89, 0x01);       // mov [r9], rax
  a.raw(0x41, 0x89, 0x02);       // mov [r10], eax
  a.raw(0x66, 0x41, 0x89, 0x03); // mov [r11], ax
  a.raw(0xf3, 0xaa);             // rep stosb
  sync(a);
  jmpTo(a, top);
  return a;
}

/** Sub-pages (gfn → mask) of the byte ranges [start, start + len). */
function subpagesOf(ranges: [number, number][]): Map<number, number> {
  const out = new Map<number, number>();
  for (const [start, len] of ranges) {
    for (let x = start; x < start + len; x++) {
      const gfn = Math.floor(x / 4096);
      out.set(gfn, ((out.get(gfn) ?? 0) | (1 << ((x % 4096) >> 7))) >>> 0);
    }
  }
  return out;
}

/** Sub-pages whose bytes differ between two snapshots of guest memory from GPA 0. */
function diffSubpages(before: Uint8Array, after: Uint8Array): Map<number, number> {
  const out = new Map<number, number>();
  for (let s = 0; s < before.length / SUB; s++) {
    for (let k = s * SUB; k < (s + 1) * SUB; k++) {
      if (before[k] !== after[k]) {
        const gfn = s >> 5;
        out.set(gfn, ((out.get(gfn) ?? 0) | (1 << (s & 31))) >>> 0);
        break;
      }
    }
  }
  return out;
}

const sorted = (m: Map<number, number>): [number, number][] => [...m].sort((x, y) => x[0] - y[0]);
const pattern = (round: number): bigint => 0x0101010101010101n * BigInt(round + 1);

describe('sub-page tracking is exact', () => {
  const rounds: Round[] = [
    // a byte at the start of P0, a qword straddling the 0x280 boundary, a dword, a word ending the page, stosb over 5 sub-pages
    { r8: P(0), r9: P(0) + 0x27c, r10: P(1) + 0x100, r11: P(1) + 0xffe, rdi: P(2) + 0x50, rcx: 0x200 },
    // the same sub-page of P0 again, a qword ending P0, a dword straddling 0x80, stosb 0xff..0x200 of P1
    { r8: P(0), r9: P(0) + 0xff8, r10: P(2) + 0x7e, r11: P(3) + 0x10, rdi: P(1) + 0xff, rcx: 0x102 },
    // the byte opens sub-page 31 of P0 first; the qword then straddles into P1; a word straddling 0x180; no stosb
    { r8: P(0) + 0xfff, r9: P(0) + 0xffc, r10: P(3) + 0x80, r11: P(0) + 0x17f, rdi: P(3) + 0x400, rcx: 0 },
    // the same addresses again (protection is back after the collection), and a whole page by stosb
    { r8: P(0) + 0xfff, r9: P(0) + 0xffc, r10: P(3) + 0x80, r11: P(0) + 0x17f, rdi: P(2), rcx: 4096 },
    // everything inside one sub-page
    { r8: P(1) + 0x300, r9: P(1) + 0x308, r10: P(1) + 0x310, r11: P(1) + 0x37e, rdi: P(1) + 0x320, rcx: 0x40 },
    // a qword straddling P2 → P3 with nothing open yet, stosb across the P2/P3 boundary
    { r8: P(3) + 0x7ff, r9: P(2) + 0xffd, r10: P(0) + 0x400, r11: P(0) + 0x402, rdi: P(2) + 0xf00, rcx: 0x300 },
  ];
  it('with prediction off, each round logs exactly the sub-pages whose bytes changed', () => {
    const { vm, vcpu } = makeGuest(trackingGuest(), { memoryMiB: 4 });
    const RAM = 4 * MIB;
    vm.enableSubpageTracking({ prediction: false });
    let before = vm.readGuest(0, RAM);
    rounds.forEach((rd, i) => {
      const r = vcpu.getRegs();
      vcpu.setRegs({ ...r, rax: pattern(i), r8: BigInt(rd.r8), r9: BigInt(rd.r9), r10: BigInt(rd.r10), r11: BigInt(rd.r11), rdi: BigInt(rd.rdi), rcx: BigInt(rd.rcx) });
      const ex = expectReason(vcpu.run({ maxInstructions: 1_000_000 }), 'io');
      expect(ex.port).toBe(SYNC_PORT);
      const after = vm.readGuest(0, RAM);
      const changed = diffSubpages(before, after);
      // The test's own check: every byte written changed (the pattern differs from every earlier one).
      expect(sorted(changed)).toEqual(sorted(subpagesOf([[rd.r8, 1], [rd.r9, 8], [rd.r10, 4], [rd.r11, 2], [rd.rdi, rd.rcx]])));
      const log = vm.getSubpageDirtyLog();
      expect(sorted(log), `round ${i}`).toEqual(sorted(changed));
      vcpu.completeIo();
      before = after;
    });
    expect(vm.subpage.stats.pageWalkWrites).toBe(0);
    expect(vm.subpage.stats.predictions).toBe(0);
    expect(vm.subpage.stats.rounds).toBe(rounds.length);
  });

  it('rep stosq over whole pages: prediction takes far fewer SPP violations and logs the same sub-pages', () => {
    const PAGES = 4;
    const a = new Asm(CODE);
    a.movImm(RAX, 0x5a5a5a5a5a5a5a5an).movImm(RDI, DATA).movImm(RCX, PAGES * 512);
    a.raw(0xf3, 0x48, 0xab); // rep stosq
    sync(a);
    a.movImm(RAX, 0xc3c3c3c3c3c3c3c3n).movImm(RDI, DATA + 0x1000 + 0x100).movImm(RCX, 0x100);
    a.raw(0xf3, 0x48, 0xab); // rep stosq: 2 KiB from offset 0x100 of P1 (sub-pages 2..17)
    sync(a).hlt();
    const run = (prediction: boolean) => {
      const { vm, vcpu } = makeGuest(a, { memoryMiB: 4 });
      vm.enableSubpageTracking({ prediction });
      const logs: [number, number][][] = [], diffs: [number, number][][] = [];
      let before = vm.readGuest(0, 4 * MIB);
      for (let i = 0; i < 2; i++) {
        expectReason(vcpu.run({ maxInstructions: 1_000_000 }), 'io');
        const after = vm.readGuest(0, 4 * MIB);
        diffs.push(sorted(diffSubpages(before, after)));
        logs.push(sorted(vm.getSubpageDirtyLog()));
        before = after;
      }
      expectReason(vcpu.run(), 'hlt');
      return { logs, diffs, stats: { ...vm.subpage.stats } };
    };
    const off = run(false), on = run(true);
    const whole: [number, number][] = Array.from({ length: PAGES }, (_, i) => [(DATA >> 12) + i, 0xffffffff]);
    for (const r of [off, on]) {
      expect(r.diffs[0]).toEqual(whole);
      expect(r.diffs[1]).toEqual(sorted(subpagesOf([[DATA + 0x1100, 0x800]])));
      expect(r.logs).toEqual(r.diffs);
    }
    expect(on.logs).toEqual(off.logs);
    // Without prediction every sub-page faults once: 32 per page, then 16.
    expect(off.stats.sppViolations).toBe(PAGES * 32 + 16);
    expect(on.stats.predictions).toBeGreaterThanOrEqual(1);
    expect(on.stats.sppViolations * 10).toBeLessThan(off.stats.sppViolations);
  });

  it('prediction stays exact for rep stos downwards (DF = 1), across pages and with straddling elements', () => {
    // Each round: a `rep stos` of the given element size from RDI with RCX elements, DF as given.
    const rounds = [
      { size: 1, rdi: P(3) + 0x7ff, rcx: 0x900, down: true },  // bytes P2+0xf00 .. P3+0x7ff
      { size: 2, rdi: P(0) + 0x7f, rcx: 0x81, down: false },   // words from an odd offset: 0x7f .. 0x180
      { size: 8, rdi: P(1) + 0x1f8, rcx: 0x40, down: true },   // qwords P1+0x000 .. P1+0x1ff
      { size: 4, rdi: P(0) + 0xffe, rcx: 3, down: false },     // the first dword straddles P0/P1
      { size: 8, rdi: P(2) + 0x404, rcx: 0x20, down: false },  // misaligned qwords: 0x404 .. 0x503
    ];
    const stos: Record<number, number[]> = { 1: [0xf3, 0xaa], 2: [0xf3, 0x66, 0xab], 4: [0xf3, 0xab], 8: [0xf3, 0x48, 0xab] };
    const a = new Asm(CODE);
    rounds.forEach((r, i) => {
      a.movImm(RAX, pattern(i)).movImm(RDI, r.rdi).movImm(RCX, r.rcx);
      if (r.down) a.raw(0xfd); // std
      a.raw(...stos[r.size]);  // rep stos{b,w,d,q}
      a.raw(0xfc);             // cld
      sync(a);
    });
    a.hlt();
    const expected = rounds.map((r) => sorted(subpagesOf([[r.down ? r.rdi - (r.rcx - 1) * r.size : r.rdi, r.rcx * r.size]])));
    for (const prediction of [false, true]) {
      const { vm, vcpu } = makeGuest(a, { memoryMiB: 4 });
      vm.enableSubpageTracking({ prediction });
      let before = vm.readGuest(0, 4 * MIB);
      rounds.forEach((_, i) => {
        expectReason(vcpu.run({ maxInstructions: 1_000_000 }), 'io');
        const after = vm.readGuest(0, 4 * MIB);
        const diff = sorted(diffSubpages(before, after));
        expect(diff, `round ${i}`).toEqual(expected[i]);
        expect(sorted(vm.getSubpageDirtyLog()), `prediction ${prediction}, round ${i}`).toEqual(diff);
        before = after;
      });
      expectReason(vcpu.run(), 'hlt');
      if (prediction) expect(vm.subpage.stats.predictions).toBeGreaterThanOrEqual(3);
    }
  });
});
