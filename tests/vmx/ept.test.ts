// EPT (SDM Vol. 3C 29.3): translation of guest-physical addresses with 4 KiB, 2 MiB and 1 GiB
// leaves, EPT violations (exit 48) with the exit qualification of Table 28-7 and the guest-physical
// (2400H) / guest-linear (640AH) fields (27.2.1), misconfigurations (exit 49, 29.3.3.1), accessed and
// dirty flags (29.3.5), EPTP checks at VM entry (26.2.1.1) and INVEPT (30.3). Expected values come
// from the SDM and /work/shared/reference/vmx-ept-spp.md; the tables are built by ept-tables.ts.
import { describe, it, expect } from 'vitest';
import {
  eptGuest, gcode, jmpRax, guestPte, type EptGuest, DATA_PAGE, GUEST_PT, GUEST_PT_PT, R, W, X, RWX,
  EPT_A, EPT_D, P2_EPT, P2_PML, P2_SPP, Q_READ, Q_WRITE, Q_FETCH, Q_R, Q_W, Q_X, Q_LIN, Q_FINAL, GP_P, GP_RW, GP_US, GP_A, GP_D,
} from './ept-tables.ts';
import { F, GUEST_CODE } from './vmx-harness.ts';
import { RAX, RBX, RCX } from './asm.ts';
import { capabilityMsr } from '../../emulator/vmx/capabilities.ts';
import { vmxEnterFromHost, hostVmread } from '../../emulator/vmx/index.ts';

const hooks = { onDeadline: () => Infinity };
const GFLAGS = GP_P | GP_RW | GP_US | GP_A | GP_D;

interface Exit { reason: number; qual: number; gpa: number; lin: number; rip: number }
/** The exit as the VMCS reports it (VMREAD of the exit-information fields). */
function exitOf(g: EptGuest): Exit {
  return {
    reason: g.read(F.EXIT_REASON), qual: g.read(F.EXIT_QUALIFICATION), gpa: g.read(F.GUEST_PHYSICAL_ADDRESS),
    lin: g.read(F.GUEST_LINEAR_ADDRESS), rip: g.read(F.GUEST_RIP),
  };
}
/** A guest that loads [DATA_PAGE + off] into RAX and then VMCALLs; the load is at GUEST_CODE + 10. */
const readAt = (addr: number) => gcode().movImm(RBX, addr).load(RAX, RBX, 0).vmcall();
/** Store RCX (= 0x5a5a…) to [addr] then VMCALL; the store is at GUEST_CODE + 20. */
const writeAt = (addr: number) => gcode().movImm(RBX, addr).movImm(RCX, 0x5a5a5a5a5a5a5a5an).store(RBX, 0, RCX).vmcall();
const LOAD_RIP = GUEST_CODE + 10, STORE_RIP = GUEST_CODE + 20;

describe('EPT translation', () => {
  it('identity EPT: guest reads and writes land at the same host-physical address', () => {
    const g = eptGuest();
    g.mem.view.setBigUint64(DATA_PAGE + 0x18, 0x0123456789abcdefn, true);
    const code = gcode().movImm(RBX, DATA_PAGE).load(RAX, RBX, 0x18).movImm(RCX, 0x1111222233334444n).store(RBX, 0x20, RCX).vmcall();
    expect(g.run(code).basicReason).toBe(18);
    expect(g.h.reg(RAX)).toBe(0x0123456789abcdefn);
    expect(g.u64(DATA_PAGE + 0x20)).toBe(0x1111222233334444n);
  });

  it('a non-identity 4 KiB mapping: GPA 0x301000 → HPA 0x612000 for reads and writes; the identity frame is untouched', () => {
    const g = eptGuest();
    const gpa = DATA_PAGE + 0x1000, hpa = 0x612000;
    g.ept.map4k(gpa, hpa, RWX);
    g.mem.view.setBigUint64(hpa + 0x40, 0xfeedfacecafebeefn, true);
    g.mem.view.setBigUint64(gpa + 0x40, 0x1n, true);
    const code = gcode().movImm(RBX, gpa).load(RAX, RBX, 0x40).movImm(RCX, 0x77n).store(RBX, 0x48, RCX).vmcall();
    expect(g.run(code).basicReason).toBe(18);
    expect(g.h.reg(RAX)).toBe(0xfeedfacecafebeefn);
    expect(g.u64(hpa + 0x48)).toBe(0x77n);
    expect(g.u64(gpa + 0x48)).toBe(0n);
  });

  it('2 MiB leaf: GPA 0x200000-0x3FFFFF → HPA 0x600000; the offset within the 2 MiB page is kept (bits 20:0)', () => {
    const g = eptGuest();
    g.ept.map2m(0x200000, 0x600000, RWX);
    g.mem.view.setBigUint64(0x600000 + 0xf1238, 0xabcdn, true);
    const code = gcode().movImm(RBX, 0x2f1238).load(RAX, RBX, 0).movImm(RCX, 0x99n).store(RBX, 0x10, RCX).vmcall();
    expect(g.run(code).basicReason).toBe(18);
    expect(g.h.reg(RAX)).toBe(0xabcdn);
    expect(g.u64(0x6f1248)).toBe(0x99n);
    expect(g.u64(0x2f1248)).toBe(0n);
  });

  it('1 GiB leaf: GPA 0x40000000-0x7FFFFFFF → HPA 0 translates bits 29:0 of the guest-physical address', () => {
    const g = eptGuest();
    g.ept.map1g(0x40000000, 0, RWX);
    g.mem.view.setBigUint64(0x601230, 0x1234567n, true);
    // Guest linear 0x40601230 → (guest PD1 identity) GPA 0x40601230 → HPA 0x601230.
    const code = gcode().movImm(RBX, 0x40601230).load(RAX, RBX, 0).movImm(RCX, 0x42n).store(RBX, 8, RCX).vmcall();
    expect(g.run(code).basicReason).toBe(18);
    expect(g.h.reg(RAX)).toBe(0x1234567n);
    expect(g.u64(0x601238)).toBe(0x42n);
  });

  it('the whole guest (code, stack, tables, data) runs under one identity 1 GiB leaf', () => {
    const g = eptGuest({ noIdentity: true });
    g.ept.map1g(0, 0, RWX);
    g.mem.view.setBigUint64(DATA_PAGE, 0x5151n, true);
    expect(g.run(readAt(DATA_PAGE)).basicReason).toBe(18);
    expect(g.h.reg(RAX)).toBe(0x5151n);
  });
});

describe('EPT violations (exit 48)', () => {
  it('read of a not-present GPA: bit 0, bits 5:3 = 0, bits 7 and 8; exact GPA and linear address (linear ≠ physical here)', () => {
    const g = eptGuest();
    // Guest PTE: linear 0x305000 → GPA 0x306000; EPT: 0x306000 not present.
    g.mem.view.setUint32(guestPte(0x305000), 0x306000 | GFLAGS, true);
    g.ept.set(0x306000, 1, 0n);
    const r = g.run(readAt(0x305abc));
    expect(r.basicReason).toBe(48);
    const x = exitOf(g);
    expect(x.reason).toBe(48);
    expect(x.qual).toBe(Q_READ | Q_LIN | Q_FINAL);
    expect(x.gpa).toBe(0x306abc);
    expect(x.lin).toBe(0x305abc);
    expect(x.rip).toBe(LOAD_RIP);
    expect(r.guestPhysical).toBe(0x306abc);
  });

  it('a not-present non-leaf EPT entry (PDE) also gives bits 5:3 = 0', () => {
    const g = eptGuest();
    g.ept.set(0x200000, 2, 0n); // EPT PDE for GPA 0x200000-0x3FFFFF
    g.run(readAt(DATA_PAGE + 0x7f8));
    const x = exitOf(g);
    expect(x.reason).toBe(48);
    expect(x.qual).toBe(Q_READ | Q_LIN | Q_FINAL);
    expect(x.gpa).toBe(DATA_PAGE + 0x7f8);
  });

  it('write to a read-only page: bit 1, bits 5:3 = R (+X); memory unchanged', () => {
    for (const [perm, rights] of [[R | X, Q_R | Q_X], [R, Q_R]] as const) {
      const g = eptGuest();
      g.ept.map4k(DATA_PAGE, DATA_PAGE, perm);
      g.run(writeAt(DATA_PAGE + 0x123));
      const x = exitOf(g);
      expect(x.reason).toBe(48);
      expect(x.qual).toBe(Q_WRITE | rights | Q_LIN | Q_FINAL);
      expect(x.gpa).toBe(DATA_PAGE + 0x123);
      expect(x.lin).toBe(DATA_PAGE + 0x123);
      expect(x.rip).toBe(STORE_RIP);
      expect(g.u64(DATA_PAGE + 0x123)).toBe(0n);
    }
  });

  it('a write crossing into a read-only page exits for the second page and writes neither part', () => {
    const g = eptGuest();
    g.ept.map4k(DATA_PAGE + 0x1000, DATA_PAGE + 0x1000, R | X);
    g.run(writeAt(DATA_PAGE + 0xffc));
    const x = exitOf(g);
    expect(x.reason).toBe(48);
    expect(x.qual).toBe(Q_WRITE | Q_R | Q_X | Q_LIN | Q_FINAL);
    expect(x.gpa).toBe(DATA_PAGE + 0x1000);
    expect(x.rip).toBe(STORE_RIP);
    expect(g.mem.view.getUint32(DATA_PAGE + 0xffc, true)).toBe(0);
    expect(g.mem.view.getUint32(DATA_PAGE + 0x1000, true)).toBe(0);
  });

  it('rights are ANDed over the walk: W clear in the EPT PDE denies a write through a RWX leaf', () => {
    const g = eptGuest();
    const pde = g.ept.get(DATA_PAGE, 2);
    g.ept.set(DATA_PAGE, 2, pde & ~BigInt(W));
    g.run(writeAt(DATA_PAGE + 8));
    const x = exitOf(g);
    expect(x.reason).toBe(48);
    expect(x.qual).toBe(Q_WRITE | Q_R | Q_X | Q_LIN | Q_FINAL);
  });

  it('fetch from a non-executable page: bit 2, bits 5:3 = RW, guest RIP = the target', () => {
    const g = eptGuest();
    const target = GUEST_CODE + 0x1000;
    g.mem.load(target, gcode(target).vmcall().bytes());
    g.ept.map4k(target, target, R | W);
    const x0 = g.run(jmpRax(gcode().movImm(RAX, target)));
    expect(x0.basicReason).toBe(48);
    const x = exitOf(g);
    expect(x.qual).toBe(Q_FETCH | Q_R | Q_W | Q_LIN | Q_FINAL);
    expect(x.gpa).toBe(target);
    expect(x.lin).toBe(target);
    expect(x.rip).toBe(target);
  });

  it('a guest paging-structure page not present in EPT: bit 0, bit 7 set, bit 8 clear; GPA = the guest PTE', () => {
    const g = eptGuest();
    g.ept.set(GUEST_PT_PT, 1, 0n);
    g.run(readAt(DATA_PAGE + 0x10));
    const x = exitOf(g);
    expect(x.reason).toBe(48);
    expect(x.qual).toBe(Q_READ | Q_LIN);
    expect(x.gpa).toBe(guestPte(DATA_PAGE)); // GUEST_PT_PT + 0x100 * 8
    expect(x.gpa).toBe(GUEST_PT_PT + 0x800);
    expect(x.lin).toBe(DATA_PAGE + 0x10);
    expect(x.rip).toBe(LOAD_RIP);
  });

  it('…with EPTP bit 6 (A/D) the guest paging-structure access is also a write: bits 0 and 1 set', () => {
    const g = eptGuest({ ad: true });
    g.ept.set(GUEST_PT_PT, 1, 0n);
    g.run(readAt(DATA_PAGE + 0x10));
    const x = exitOf(g);
    expect(x.reason).toBe(48);
    expect(x.qual).toBe(Q_READ | Q_WRITE | Q_LIN);
    expect(x.gpa).toBe(GUEST_PT_PT + 0x800);
  });

  it('with A/D, a guest page table in a read-only EPT page is a write violation (29.3.3.2); without A/D it is not', () => {
    const g = eptGuest({ ad: true });
    g.ept.map4k(GUEST_PT_PT, GUEST_PT_PT, R | X);
    g.run(readAt(DATA_PAGE + 0x10));
    const x = exitOf(g);
    expect(x.reason).toBe(48);
    expect(x.qual).toBe(Q_READ | Q_WRITE | Q_R | Q_X | Q_LIN);
    expect(x.gpa).toBe(GUEST_PT_PT + 0x800);
    const k = eptGuest();
    k.ept.map4k(GUEST_PT_PT, GUEST_PT_PT, R | X);
    k.mem.view.setBigUint64(DATA_PAGE + 0x10, 0x33n, true);
    expect(k.run(readAt(DATA_PAGE + 0x10)).basicReason).toBe(18);
    expect(k.h.reg(RAX)).toBe(0x33n);
  });

  it('the guest\'s own accessed-flag update is a data write (29.3.3.2): guest page table in a read-only EPT page, A/D off', () => {
    // "Writes by the logical processor to guest paging structures to update accessed and dirty flags
    // are considered to be data writes." The guest PTE of DATA_PAGE has A = 0.
    const g = eptGuest();
    const pte = guestPte(DATA_PAGE);
    g.mem.view.setUint32(pte, DATA_PAGE | GP_P | GP_RW | GP_US, true);
    g.ept.map4k(GUEST_PT_PT, GUEST_PT_PT, R | X);
    expect(g.run(readAt(DATA_PAGE + 0x10)).basicReason).toBe(48);
    const x = exitOf(g);
    expect(x.qual & (Q_WRITE | Q_R | Q_W | Q_X | Q_LIN | Q_FINAL)).toBe(Q_WRITE | Q_R | Q_X | Q_LIN);
    expect(x.gpa).toBe(pte);
    expect(x.lin).toBe(DATA_PAGE + 0x10);
    expect(x.rip).toBe(LOAD_RIP);
    expect(g.mem.view.getUint32(pte, true) & GP_A).toBe(0); // the update did not happen
  });

  it('…and the dirty-flag update of a write (guest PTE A = 1, D = 0)', () => {
    const g = eptGuest();
    const pte = guestPte(DATA_PAGE);
    g.mem.view.setUint32(pte, DATA_PAGE | GP_P | GP_RW | GP_US | GP_A, true);
    g.ept.map4k(GUEST_PT_PT, GUEST_PT_PT, R | X);
    expect(g.run(writeAt(DATA_PAGE + 0x10)).basicReason).toBe(48);
    const x = exitOf(g);
    expect(x.qual & (Q_WRITE | Q_FINAL | Q_LIN)).toBe(Q_WRITE | Q_LIN);
    expect(x.gpa).toBe(pte);
    expect(g.mem.view.getUint32(pte, true) & GP_D).toBe(0);
    expect(g.u64(DATA_PAGE + 0x10)).toBe(0n);
  });

  it('an instruction crossing into a non-executable page: exit 48 for the second page, guest RIP = the instruction', () => {
    const g = eptGuest();
    const next = GUEST_CODE + 0x2000;
    g.ept.map4k(next, next, R | W);
    const start = next - 5; // a 10-byte MOV r64, imm64 with 5 bytes in each page
    g.mem.load(start, gcode(start).movImm(RCX, 1).vmcall().bytes());
    const r = g.run(jmpRax(gcode().movImm(RAX, start)));
    expect(r.basicReason).toBe(48);
    const x = exitOf(g);
    expect(x.qual).toBe(Q_FETCH | Q_R | Q_W | Q_LIN | Q_FINAL);
    expect(x.gpa).toBe(next);
    expect(x.lin).toBe(next);
    expect(x.rip).toBe(start);
  });

  it('a violation during event delivery (IDT gate not present in EPT) records IDT-vectoring information', () => {
    const g = eptGuest();
    g.ept.set(0x520000, 1, 0n); // GUEST_IDT
    expect(g.run(gcode().nop().int3()).basicReason).toBe(48);
    const x = exitOf(g);
    expect(x.gpa).toBe(0x520000 + 3 * 16);
    expect(x.qual).toBe(Q_READ | Q_LIN | Q_FINAL);
    expect(g.read(F.IDT_VECTORING_INFO)).toBe(0x80000603); // valid, software exception (6), vector 3
    expect(g.read(F.EXIT_INSN_LEN)).toBe(1);
    expect(x.rip).toBe(GUEST_CODE + 1);
  });

  it('after resolving the violation the guest resumes at the faulting instruction and completes it', () => {
    const g = eptGuest();
    g.ept.map4k(DATA_PAGE, DATA_PAGE, R);
    expect(g.run(writeAt(DATA_PAGE)).basicReason).toBe(48);
    g.ept.map4k(DATA_PAGE, DATA_PAGE, RWX);
    g.invept(1);
    expect(g.resume().basicReason).toBe(18);
    expect(g.u64(DATA_PAGE)).toBe(0x5a5a5a5a5a5a5a5an);
  });
});

describe('EPT misconfigurations (exit 49, SDM 29.3.3.1)', () => {
  /** Run a read of DATA_PAGE + 0x238 after `setup` and expect exit 49 with that GPA. */
  function misconfig(setup: (g: EptGuest) => void, addr = DATA_PAGE + 0x238): void {
    const g = eptGuest();
    setup(g);
    const r = g.run(readAt(addr));
    expect(r.basicReason).toBe(49);
    const x = exitOf(g);
    expect(x.reason).toBe(49);
    expect(x.gpa).toBe(addr);
    expect(x.rip).toBe(LOAD_RIP);
  }

  it('write without read (W=1, R=0) in a leaf and in a non-leaf entry', () => {
    misconfig((g) => g.ept.map4k(DATA_PAGE, DATA_PAGE, W));
    misconfig((g) => g.ept.map4k(DATA_PAGE, DATA_PAGE, W | X));
    misconfig((g) => g.ept.set(DATA_PAGE, 2, (g.ept.get(DATA_PAGE, 2) & ~7n) | BigInt(W)));
  });

  it('execute-only (R=W=0, X=1) when IA32_VMX_EPT_VPID_CAP bit 0 = 0', () => {
    expect(capabilityMsr(0x48c)![0] & 1).toBe(0);
    misconfig((g) => g.ept.map4k(DATA_PAGE, DATA_PAGE, X));
  });

  it('a reserved bit in 51:40 (MAXPHYADDR = 40): leaf bit 45, leaf bit 51, PDE bit 40', () => {
    misconfig((g) => g.ept.map4k(DATA_PAGE, DATA_PAGE, RWX, 1n << 45n));
    misconfig((g) => g.ept.map4k(DATA_PAGE, DATA_PAGE, RWX, 1n << 51n));
    misconfig((g) => g.ept.set(DATA_PAGE, 2, g.ept.get(DATA_PAGE, 2) | (1n << 40n)));
  });

  it('memory type 2, 3 or 7 in a 4 KiB, 2 MiB and 1 GiB leaf', () => {
    for (const mt of [2, 3, 7]) {
      misconfig((g) => g.ept.map4k(DATA_PAGE, DATA_PAGE, RWX, 0n, mt << 3));
      misconfig((g) => g.ept.map2m(0x200000, 0x200000, RWX, 0n, mt << 3));
      misconfig((g) => g.ept.map1g(0x40000000, 0, RWX, 0n, mt << 3), 0x40000000 + DATA_PAGE + 0x238);
    }
  });

  it('any of bits 6:3 in a non-leaf PDE', () => {
    for (const b of [3, 4, 5, 6]) misconfig((g) => g.ept.set(DATA_PAGE, 2, g.ept.get(DATA_PAGE, 2) | (1n << BigInt(b))));
  });

  it('bits 6:3 in the non-leaf PDPTE, bits 7:3 in the PML4E: the first guest-table access (fetch walk) exits with its GPA', () => {
    // Every guest access goes through EPT PML4E[0] and PDPTE[0]: the first is the walk of the guest
    // PML4E (GPA GUEST_PT + 0) for the instruction fetch at GUEST_CODE.
    for (const [level, b] of [[3, 3], [3, 6], [4, 3], [4, 7]]) {
      const g = eptGuest();
      g.ept.set(0, level, g.ept.get(0, level) | (1n << BigInt(b)));
      expect(g.run(readAt(DATA_PAGE)).basicReason).toBe(49);
      const x = exitOf(g);
      expect(x.gpa).toBe(GUEST_PT);
      expect(x.rip).toBe(GUEST_CODE);
    }
  });

  it('1 GiB leaf with any of bits 29:12 set', () => {
    for (const b of [12, 20, 29]) misconfig((g) => g.ept.map1g(0x40000000, 2 ** b, RWX), 0x40000000 + DATA_PAGE + 0x238);
  });

  it('2 MiB leaf with any of bits 20:12 set', () => {
    for (const b of [12, 20]) misconfig((g) => g.ept.map2m(0x200000, 0x600000 + 2 ** b, RWX));
  });
});

describe('EPT accessed and dirty flags (SDM 29.3.5)', () => {
  const GUEST_TABLES = [GUEST_PT, GUEST_PT + 0x1000, GUEST_PT + 0x2000, GUEST_PT_PT];

  it('EPTP bit 6: a read sets A in every entry of the path and not D in the leaf; the code page gets A, not D', () => {
    const g = eptGuest({ ad: true });
    for (const a of g.ept.path(DATA_PAGE)) expect(g.mem.view.getUint32(a, true) & (EPT_A | EPT_D)).toBe(0);
    expect(g.run(readAt(DATA_PAGE + 0x40)).basicReason).toBe(18);
    const path = g.ept.path(DATA_PAGE);
    expect(path).toHaveLength(4);
    for (const a of path) expect(g.mem.view.getUint32(a, true) & EPT_A).toBe(EPT_A);
    expect(g.ept.lo(DATA_PAGE, 1) & EPT_D).toBe(0);
    expect(g.ept.lo(GUEST_CODE, 1) & (EPT_A | EPT_D)).toBe(EPT_A);
    // Untouched pages keep both flags clear.
    expect(g.ept.lo(DATA_PAGE + 0x1000, 1) & (EPT_A | EPT_D)).toBe(0);
  });

  it('a write sets D (bit 9) and A in the leaf', () => {
    const g = eptGuest({ ad: true });
    expect(g.run(writeAt(DATA_PAGE + 0x1008)).basicReason).toBe(18);
    expect(g.ept.lo(DATA_PAGE + 0x1000, 1) & (EPT_A | EPT_D)).toBe(EPT_A | EPT_D);
    expect(g.ept.lo(DATA_PAGE + 0x1000, 2) & EPT_A).toBe(EPT_A);
  });

  it('a write through a 2 MiB leaf sets D in the PDE (the entry that maps the page)', () => {
    const g = eptGuest({ ad: true });
    g.ept.map2m(0x200000, 0x600000, RWX);
    expect(g.run(writeAt(DATA_PAGE + 8)).basicReason).toBe(18);
    expect(g.ept.lo(0x200000, 2) & (EPT_A | EPT_D)).toBe(EPT_A | EPT_D);
    expect(g.u64(0x700008)).toBe(0x5a5a5a5a5a5a5a5an);
  });

  it('a read then a write of the same page in one run sets D (the read\'s TLB entry must not let the write skip the flag)', () => {
    const g = eptGuest({ ad: true });
    const code = gcode().movImm(RBX, DATA_PAGE).load(RAX, RBX, 0).load(RAX, RBX, 8).store(RBX, 0x10, RAX).vmcall();
    expect(g.run(code).basicReason).toBe(18);
    expect(g.ept.lo(DATA_PAGE, 1) & (EPT_A | EPT_D)).toBe(EPT_A | EPT_D);
  });

  it('guest paging-structure pages get D set too (their accesses are treated as writes), though the guest writes none', () => {
    const g = eptGuest({ ad: true });
    const entries = [GUEST_PT, GUEST_PT + 0x1000, GUEST_PT + 0x2008, guestPte(DATA_PAGE)]; // the guest walk of DATA_PAGE
    const before = entries.map((a) => g.u64(a));
    expect(g.run(readAt(DATA_PAGE)).basicReason).toBe(18);
    for (const t of GUEST_TABLES) expect(g.ept.lo(t, 1) & (EPT_A | EPT_D)).toBe(EPT_A | EPT_D);
    // The guest's own entries were already A/D: the guest wrote nothing to its tables.
    expect(entries.map((a) => g.u64(a))).toEqual(before);
  });

  it('without EPTP bit 6 no EPT entry changes', () => {
    const g = eptGuest();
    const snap = (): bigint[] => [...g.ept.path(DATA_PAGE), ...GUEST_TABLES.map((t) => g.ept.addr(t, 1)), g.ept.addr(GUEST_CODE, 1)].map((a) => g.u64(a));
    const before = snap();
    expect(g.run(gcode().movImm(RBX, DATA_PAGE).load(RAX, RBX, 0).store(RBX, 8, RAX).vmcall()).basicReason).toBe(18);
    expect(snap()).toEqual(before);
    for (const v of before) expect(v & BigInt(EPT_A | EPT_D)).toBe(0n);
  });
});

describe('VM entry checks on the EPT controls (SDM 26.2.1.1) → VMfailValid(7)', () => {
  function entry(setup: (g: EptGuest) => void): { kind: string; status?: number } {
    const g = eptGuest();
    setup(g);
    g.mem.load(GUEST_CODE, gcode().vmcall().bytes());
    const r = vmxEnterFromHost(g.h.cpu, hooks, g.h.cpu.icount + 1000);
    if (r.kind === 'vmfail') expect(Number(hostVmread(g.h.cpu, F.VM_INSTRUCTION_ERROR))).toBe(r.status);
    return r.kind === 'vmfail' ? { kind: r.kind, status: r.status } : r.kind === 'exit' ? { kind: 'exit', status: r.exit.basicReason } : { kind: r.kind };
  }
  const eptp = (g: EptGuest, v: bigint) => g.write(F.EPT_POINTER, v);

  it('a valid EPTP (WB, UC) enters', () => {
    expect(entry(() => {})).toEqual({ kind: 'exit', status: 18 });
    expect(entry((g) => eptp(g, BigInt(g.ept.root | (3 << 3))))).toEqual({ kind: 'exit', status: 18 });
  });

  it('EPTP memory type 1 (and 2, 7) fails', () => {
    for (const t of [1, 2, 7]) expect(entry((g) => eptp(g, BigInt(g.ept.root | t | (3 << 3))))).toEqual({ kind: 'vmfail', status: 7 });
  });

  it('EPTP page-walk length other than 4 (bits 5:3 ≠ 3) fails', () => {
    for (const l of [0, 1, 2, 4, 7]) expect(entry((g) => eptp(g, BigInt(g.ept.root | 6 | (l << 3))))).toEqual({ kind: 'vmfail', status: 7 });
  });

  it('EPTP bits 11:7 set fail', () => {
    for (const b of [7, 9, 11]) expect(entry((g) => eptp(g, BigInt(g.ept.root | 6 | (3 << 3) | (1 << b))))).toEqual({ kind: 'vmfail', status: 7 });
  });

  it('EPTP address beyond MAXPHYADDR fails', () => {
    expect(entry((g) => eptp(g, (1n << 40n) | BigInt(g.ept.root | 6 | (3 << 3))))).toEqual({ kind: 'vmfail', status: 7 });
  });

  it('PML without EPT fails; SPP without EPT fails', () => {
    expect(entry((g) => { g.write(F.PML_ADDRESS, 0x7e0000); g.write(F.PROC_CTLS2, P2_PML); })).toEqual({ kind: 'vmfail', status: 7 });
    expect(entry((g) => { g.write(F.SPPT_POINTER, 0x7c0000); g.write(F.PROC_CTLS2, P2_SPP); })).toEqual({ kind: 'vmfail', status: 7 });
    // The same controls with EPT enter.
    expect(entry((g) => { g.write(F.PML_ADDRESS, 0x7e0000); g.write(F.PROC_CTLS2, P2_EPT | P2_PML); })).toEqual({ kind: 'exit', status: 18 });
  });
});

describe('INVEPT and the combined TLB', () => {
  it('after INVEPT (single-context, then all-context) the new EPT rights apply', () => {
    const g = eptGuest();
    // Guest: write, VMCALL, write again, VMCALL.
    const code = gcode().movImm(RBX, DATA_PAGE).movImm(RCX, 1).store(RBX, 0, RCX).vmcall()
      .movImm(RCX, 2).store(RBX, 0, RCX).vmcall();
    expect(g.run(code).basicReason).toBe(18);
    expect(g.u64(DATA_PAGE)).toBe(1n);
    const second = g.read(F.GUEST_RIP) + 3;
    g.write(F.GUEST_RIP, second);
    g.ept.map4k(DATA_PAGE, DATA_PAGE, R | X);
    g.invept(1);
    expect(g.resume().basicReason).toBe(48);
    expect(exitOf(g)).toMatchObject({ qual: Q_WRITE | Q_R | Q_X | Q_LIN | Q_FINAL, gpa: DATA_PAGE, rip: second + 10 });
    expect(g.u64(DATA_PAGE)).toBe(1n);
    g.ept.map4k(DATA_PAGE, DATA_PAGE, RWX);
    g.invept(2);
    expect(g.resume().basicReason).toBe(18);
    expect(g.u64(DATA_PAGE)).toBe(2n);
  });

  it('after INVEPT a remapped GPA reads from its new host frame', () => {
    const g = eptGuest();
    g.mem.view.setBigUint64(DATA_PAGE, 0xaan, true);
    g.mem.view.setBigUint64(0x650000, 0xbbn, true);
    const code = gcode().movImm(RBX, DATA_PAGE).load(RAX, RBX, 0).vmcall().load(RCX, RBX, 0).vmcall();
    expect(g.run(code).basicReason).toBe(18);
    expect(g.h.reg(RAX)).toBe(0xaan);
    g.write(F.GUEST_RIP, g.read(F.GUEST_RIP) + 3);
    g.ept.map4k(DATA_PAGE, 0x650000, RWX);
    g.invept(1);
    expect(g.resume().basicReason).toBe(18);
    expect(g.h.reg(RCX)).toBe(0xbbn);
  });
});
