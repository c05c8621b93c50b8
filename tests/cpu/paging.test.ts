// Paging (paging.ts, tlb.ts, memaccess.ts): 4-level, PAE and 32-bit translation with page tables built
// here; accessed/dirty bits; #PF error codes and CR2; TLB staleness, INVLPG, CR3 writes and global
// pages; page-crossing accesses; self-modifying code. Expected values from SDM Vol. 3A chapter 4
// (sections cited per test) or the host CPU ("host CPU": a SIGSEGV handler's si_addr is CR2).
import { describe, it, expect } from 'vitest';
import { makeCpu, CODE, type Harness } from '../helpers/cpu-harness.ts';
import { setupIdt64, runToHandler, stackQ, enterUser, setupTss64, HANDLERS } from '../helpers/cpu-events.ts';
import { RAX, RBX, RCX, RDX, RSP } from '../../emulator/cpu/state.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';

// #PF error code bits (SDM Vol. 3A 4.7, Figure 4-12).
const P = 1, W = 2, U = 4, RSVD = 8, ID = 16;
// Paging-structure entry bits (SDM Vol. 3A Tables 4-14..4-20).
const E_P = 1n, E_RW = 2n, E_US = 4n, E_A = 0x20n, E_D = 0x40n, E_PS = 0x80n, E_G = 0x100n, E_XD = 1n << 63n;

// 4-level tables built by `paged()`:
//   PML4[0] → PDPT_A → PD_A: 2 MiB identity pages for 0-8 MiB (code, stack, IDT, GDT, handlers)
//   PML4[1] → PDPT_T: [0] → PD_T, [1] = 1 GiB page at physical 0
//             PD_T: [0] → PT_T (4 KiB pages: PT_T[k] → 0x300000 + k × 4 KiB), [1] = 2 MiB page at 0x400000
//   PML4[511] → PDPT_K: [510] = 1 GiB page at physical 0 (the kernel half, linear 0xffffffff80000000)
const PML4 = 0x10000, PDPT_A = 0x11000, PD_A = 0x12000, PDPT_T = 0x15000, PD_T = 0x16000, PT_T = 0x17000, PDPT_K = 0x18000;
const T = 2 ** 39; // linear base of PML4[1]
const FRAME0 = 0x300000;
const pte = (k: number) => PT_T + 8 * k;

function ent(h: Harness, a: number): bigint { return h.mem.view.getBigUint64(a, true); }
function setEnt(h: Harness, a: number, v: bigint): void { h.mem.view.setBigUint64(a, v, true); }
function q(h: Harness, pa: number): bigint { return h.mem.view.getBigUint64(pa, true); }

function paged(): Harness {
  const h = makeCpu('long64');
  h.mem.u8.fill(0, 0x10000, 0x20000);
  const e = (a: number, v: number | bigint) => setEnt(h, a, BigInt(v));
  e(PML4, PDPT_A | 7); e(PML4 + 8, PDPT_T | 7); e(PML4 + 511 * 8, PDPT_K | 7);
  e(PDPT_A, PD_A | 7);
  for (let k = 0; k < 4; k++) e(PD_A + 8 * k, k * 0x200000 | 0x87);
  e(PDPT_T, PD_T | 7); e(PDPT_T + 8, 0x87);
  e(PD_T, PT_T | 7); e(PD_T + 8, 0x400000 | 0x87);
  for (let k = 0; k < 16; k++) e(pte(k), FRAME0 + k * 0x1000 | 7);
  e(PDPT_K + 510 * 8, 0x87);
  h.cpu.cr3 = PML4;
  h.cpu.tlb.flushAll();
  setupIdt64(h);
  return h;
}

/** mov rax, [rbx] at CODE with RBX = lin; returns the vector taken (-1 = none). */
function load64(h: Harness, lin: number): number {
  h.setReg(RBX, BigInt(lin)); h.setReg(RSP, 0x80000n);
  return runToHandler(h, [0x48, 0x8b, 0x03]);
}
/** mov [rbx], rax with RBX = lin, RAX = v. */
function store64(h: Harness, lin: number, v: bigint): number {
  h.setReg(RBX, BigInt(lin)); h.setReg(RAX, v); h.setReg(RSP, 0x80000n);
  return runToHandler(h, [0x48, 0x89, 0x03]);
}
/** Expect a #PF with error code `code` for linear address `cr2`, reported on the instruction at `rip`. */
function expectPf(h: Harness, vector: number, code: number, cr2: number, rip = CODE): void {
  expect(vector).toBe(14);
  expect(stackQ(h, 0)).toBe(BigInt(code));
  expect(stackQ(h, 1)).toBe(BigInt(rip));
  expect(h.cpu.cr2).toBe(cr2);
}

describe('4-level translation (SDM Vol. 3A 4.5)', () => {
  it('4 KiB pages: PT_T[k] maps T + k × 4 KiB to 0x300000 + k × 4 KiB', () => {
    const h = paged();
    h.mem.view.setBigUint64(FRAME0 + 0x123, 0x1111222233334444n, true);
    h.mem.view.setBigUint64(FRAME0 + 0x5008, 0x5555666677778888n, true);
    expect(load64(h, T + 0x123)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x1111222233334444n);
    expect(load64(h, T + 0x5008)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x5555666677778888n);
  });
  it('a 4 KiB PTE may point anywhere: remap T + 0x2000 to physical 0x7ff000', () => {
    const h = paged();
    setEnt(h, pte(2), 0x7ff000n | 7n);
    h.mem.view.setBigUint64(0x7ff010, 0xabcdn, true);
    expect(load64(h, T + 0x2010)).toBe(-1);
    expect(h.reg(RAX)).toBe(0xabcdn);
  });
  it('2 MiB page: T + 2 MiB + 0x12345 → 0x400000 + 0x12345', () => {
    const h = paged();
    h.mem.view.setBigUint64(0x412345, 0x0badc0ffeen, true);
    expect(load64(h, T + 0x200000 + 0x12345)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x0badc0ffeen);
  });
  it('1 GiB page: T + 1 GiB + 0x300010 → physical 0x300010', () => {
    const h = paged();
    h.mem.view.setBigUint64(0x300010, 0x600dn, true);
    expect(load64(h, T + 2 ** 30 + 0x300010)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x600dn);
  });
  it('the kernel half: 0xffffffff80300020 via PML4[511], PDPT[510] (1 GiB) → physical 0x300020', () => {
    const h = paged();
    h.mem.view.setBigUint64(0x300020, 0x4b4b4b4bn, true);
    expect(load64(h, -0x80000000 + 0x300020)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x4b4b4b4bn);
  });
  it('stores through 4 KiB, 2 MiB and 1 GiB mappings land at the translated physical address', () => {
    const h = paged();
    expect(store64(h, T + 0x3018, 0x01n)).toBe(-1);
    expect(store64(h, T + 0x200000 + 0x1f0, 0x02n)).toBe(-1);
    expect(store64(h, T + 2 ** 30 + 0x301f0, 0x03n)).toBe(-1);
    expect(q(h, FRAME0 + 0x3018)).toBe(1n);
    expect(q(h, 0x4001f0)).toBe(2n);
    expect(q(h, 0x301f0)).toBe(3n);
  });
});

describe('accessed and dirty flags (SDM Vol. 3A 4.8)', () => {
  it('a read sets A in every entry used (PML4E, PDPTE, PDE, PTE) and D nowhere', () => {
    const h = paged();
    expect(load64(h, T + 0x10)).toBe(-1);
    for (const a of [PML4 + 8, PDPT_T, PD_T, pte(0)]) expect(ent(h, a) & (E_A | E_D), a.toString(16)).toBe(E_A);
    expect(ent(h, pte(1)) & E_A).toBe(0n); // an entry not used stays clear
  });
  it('a write sets D only in the leaf (the PTE), A everywhere', () => {
    const h = paged();
    expect(store64(h, T + 0x10, 5n)).toBe(-1);
    expect(ent(h, pte(0)) & (E_A | E_D)).toBe(E_A | E_D);
    for (const a of [PML4 + 8, PDPT_T, PD_T]) expect(ent(h, a) & (E_A | E_D), a.toString(16)).toBe(E_A);
  });
  it('2 MiB page: the PDE is the leaf and gets D; nothing below it is touched', () => {
    const h = paged();
    expect(store64(h, T + 0x200000, 5n)).toBe(-1);
    expect(ent(h, PD_T + 8) & (E_A | E_D)).toBe(E_A | E_D);
    expect(ent(h, PDPT_T) & (E_A | E_D)).toBe(E_A);
    expect(ent(h, pte(0)) & E_A).toBe(0n);
  });
  it('1 GiB page: the PDPTE is the leaf and gets D', () => {
    const h = paged();
    expect(store64(h, T + 2 ** 30 + 0x300000, 5n)).toBe(-1);
    expect(ent(h, PDPT_T + 8) & (E_A | E_D)).toBe(E_A | E_D);
    expect(ent(h, PML4 + 8) & (E_A | E_D)).toBe(E_A);
  });
  it('the first write after a read (a TLB hit without D) still sets D', () => {
    const h = paged();
    expect(load64(h, T + 0x40)).toBe(-1);
    expect(ent(h, pte(0)) & E_D).toBe(0n);
    expect(store64(h, T + 0x48, 9n)).toBe(-1);
    expect(ent(h, pte(0)) & E_D).toBe(E_D);
    expect(q(h, FRAME0 + 0x48)).toBe(9n);
  });
  it('a byte store, a push and a read-modify-write each set D', () => {
    const h = paged();
    h.setReg(RBX, BigInt(T + 0x1000)); h.setReg(RSP, BigInt(T + 0x3000));
    expect(runToHandler(h, [0x88, 0x03, 0x50, 0x48, 0x01, 0x83, 0x00, 0x10, 0x00, 0x00])).toBe(-1); // mov [rbx],al; push rax; add [rbx+0x1000],rax
    for (const k of [1, 2]) expect(ent(h, pte(k)) & E_D, `PT_T[${k}]`).toBe(E_D);
  });
  it('a faulting access sets no A/D bit in the leaf', () => {
    const h = paged();
    setEnt(h, pte(0), BigInt(FRAME0) | E_P | E_US); // read-only
    expect(store64(h, T, 1n)).toBe(14);
    expect(ent(h, pte(0)) & E_D).toBe(0n);
  });
});

describe('#PF error codes and CR2 (SDM Vol. 3A 4.7, 6.15 "Interrupt 14")', () => {
  it('not-present PTE: read → 0, write → W; CR2 = the linear address; RIP = the faulting instruction', () => {
    const h = paged();
    setEnt(h, pte(3), 0n);
    expectPf(h, load64(h, T + 0x3008), 0, T + 0x3008);
    expectPf(h, store64(h, T + 0x3ff8, 1n), W, T + 0x3ff8);
  });
  it('not present at the PML4 level', () => {
    const h = paged();
    expectPf(h, load64(h, 2 * T + 0x77), 0, 2 * T + 0x77);
  });
  it('not present at the PDE level, and a not-present entry with other bits set is still not present', () => {
    const h = paged();
    setEnt(h, PD_T + 16, 0xfffffffffffffffen); // P = 0, everything else set (no RSVD for P = 0)
    expectPf(h, store64(h, T + 0x400000, 1n), W, T + 0x400000);
  });
  it('instruction fetch from a not-present page: I/D set (NXE = 1); saved RIP and CR2 are the target', () => {
    const h = paged();
    setEnt(h, pte(4), 0n);
    h.setReg(RAX, BigInt(T + 0x4010));
    expectPf(h, runToHandler(h, [0xff, 0xe0]), ID, T + 0x4010, T + 0x4010); // jmp rax
  });
  it('supervisor write to a read-only page with CR0.WP = 1 → P|W', () => {
    const h = paged();
    setEnt(h, pte(0), BigInt(FRAME0) | E_P | E_US);
    expectPf(h, store64(h, T + 8, 1n), P | W, T + 8);
    expect(q(h, FRAME0 + 8)).toBe(0n);
  });
  it('supervisor write to a read-only page with CR0.WP = 0 succeeds and sets D', () => {
    const h = paged();
    h.cpu.cr0 &= ~0x10000;
    setEnt(h, pte(0), BigInt(FRAME0) | E_P | E_US);
    expect(store64(h, T + 8, 0x77n)).toBe(-1);
    expect(q(h, FRAME0 + 8)).toBe(0x77n);
    expect(ent(h, pte(0)) & E_D).toBe(E_D);
  });
  it('R/W = 0 in a non-leaf entry (the PDE) write-protects the pages below it (SDM 4.6.1)', () => {
    const h = paged();
    setEnt(h, PD_T, BigInt(PT_T) | E_P | E_US);
    expectPf(h, store64(h, T + 0x1000, 1n), P | W, T + 0x1000);
    expect(load64(h, T + 0x1000)).toBe(-1);
  });
  it('a write after a read of a read-only page faults (the TLB entry grants no write)', () => {
    const h = paged();
    setEnt(h, pte(0), BigInt(FRAME0) | E_P | E_US);
    expect(load64(h, T)).toBe(-1);
    expectPf(h, store64(h, T, 1n), P | W, T);
  });
  it('after a #PF the entry is re-walked: making the page writable lets the retried write succeed without INVLPG (SDM 4.10.4.1)', () => {
    const h = paged();
    setEnt(h, pte(0), BigInt(FRAME0) | E_P | E_US);
    expect(load64(h, T)).toBe(-1);
    expect(store64(h, T, 1n)).toBe(14);
    setEnt(h, pte(0), BigInt(FRAME0) | E_P | E_RW | E_US);
    expect(store64(h, T, 0x42n)).toBe(-1);
    expect(q(h, FRAME0)).toBe(0x42n);
  });
  it('a not-present translation is not cached: fixing the PTE makes the retry succeed', () => {
    const h = paged();
    setEnt(h, pte(5), 0n);
    expect(load64(h, T + 0x5000)).toBe(14);
    setEnt(h, pte(5), 0x305000n | 7n);
    h.mem.view.setBigUint64(0x305000, 0x5en, true);
    expect(load64(h, T + 0x5000)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x5en);
  });
  it('NX: a fetch from an XD page faults with P|I/D (EFER.NXE = 1); reading it is fine', () => {
    const h = paged();
    setEnt(h, pte(6), 0x306000n | 7n | E_XD);
    expect(load64(h, T + 0x6000)).toBe(-1);
    h.setReg(RAX, BigInt(T + 0x6000));
    expectPf(h, runToHandler(h, [0xff, 0xe0]), P | ID, T + 0x6000, T + 0x6000);
  });
  it('XD in a non-leaf entry (the PDE) forbids fetches from every page below it', () => {
    const h = paged();
    setEnt(h, PD_T, BigInt(PT_T) | 7n | E_XD);
    h.setReg(RAX, BigInt(T + 0x7000));
    expectPf(h, runToHandler(h, [0xff, 0xe0]), P | ID, T + 0x7000, T + 0x7000);
  });
  it('code runs from a mapped 4 KiB page (fetch translation), and from a 2 MiB page', () => {
    const h = paged();
    h.mem.load(FRAME0 + 0x7000, Uint8Array.from([0xb8, 0x2a, 0, 0, 0, 0xff, 0xe3])); // mov eax, 42; jmp rbx
    h.setReg(RAX, BigInt(T + 0x7000)); h.setReg(RBX, BigInt(CODE + 2));
    expect(runToHandler(h, [0xff, 0xe0, 0x90])).toBe(-1); // jmp rax ... comes back to the NOP
    expect(h.reg(RAX)).toBe(42n);
    h.mem.load(0x400100, Uint8Array.from([0xb8, 0x2b, 0, 0, 0, 0xff, 0xe3]));
    h.setReg(RAX, BigInt(T + 0x200100));
    expect(runToHandler(h, [0xff, 0xe0, 0x90])).toBe(-1);
    expect(h.reg(RAX)).toBe(43n);
  });
  it('supervisor accesses to a user page are allowed (no SMAP); with CR4.SMEP a supervisor fetch from it is #PF(P|I/D)', () => {
    const h = paged(); // every test page has U/S = 1
    h.mem.load(FRAME0 + 0x9000, Uint8Array.from([0xb8, 0x05, 0, 0, 0, 0xff, 0xe3]));
    h.setReg(RAX, BigInt(T + 0x9000)); h.setReg(RBX, BigInt(CODE + 2));
    expect(runToHandler(h, [0xff, 0xe0, 0x90])).toBe(-1);
    expect(h.reg(RAX)).toBe(5n);
    setEnt(h, PD_A, 0x83n); // the code, stack and IDT page becomes supervisor-only, so SMEP lets it run
    h.cpu.cr4 |= 1 << 20; h.cpu.tlb.flushAll();
    expect(store64(h, T + 0x9100, 1n)).toBe(-1);
    h.setReg(RAX, BigInt(T + 0x9000));
    expectPf(h, runToHandler(h, [0xff, 0xe0, 0x90]), P | ID, T + 0x9000, T + 0x9000);
  });
  it('reserved bit 51 in a PTE → P|RSVD on read, P|W|RSVD on write', () => {
    const h = paged();
    setEnt(h, pte(0), BigInt(FRAME0) | 7n | (1n << 51n));
    expectPf(h, load64(h, T), P | RSVD, T);
    expectPf(h, store64(h, T, 1n), P | W | RSVD, T);
  });
  it('bit 40 is reserved with a 40-bit physical address width (CPUID.80000008H:EAX[7:0] = 40)', () => {
    const h = paged();
    setEnt(h, pte(0), BigInt(FRAME0) | 7n | (1n << 40n));
    expectPf(h, load64(h, T), P | RSVD, T);
  });
  it('XD set with EFER.NXE = 0 is a reserved-bit violation (SDM 4.5, Table 4-19)', () => {
    const h = paged();
    h.cpu.efer &= ~0x800;
    setEnt(h, pte(0), BigInt(FRAME0) | 7n | E_XD);
    expectPf(h, load64(h, T), P | RSVD, T);
  });
  it('reserved bits in a non-leaf entry: bit 51 in the PDE, PS in the PML4E', () => {
    let h = paged();
    setEnt(h, PD_T, BigInt(PT_T) | 7n | (1n << 51n));
    expectPf(h, store64(h, T, 1n), P | W | RSVD, T);
    h = paged();
    setEnt(h, PML4 + 8, BigInt(PDPT_T) | 7n | E_PS);
    expectPf(h, load64(h, T), P | RSVD, T);
  });
  it('reserved bits of large pages: bit 13 of a 2 MiB PDE, bit 13 of a 1 GiB PDPTE', () => {
    let h = paged();
    setEnt(h, PD_T + 8, 0x400000n | 0x87n | (1n << 13n));
    expectPf(h, load64(h, T + 0x200000), P | RSVD, T + 0x200000);
    h = paged();
    setEnt(h, PDPT_T + 8, 0x87n | (1n << 13n));
    expectPf(h, load64(h, T + 2 ** 30), P | RSVD, T + 2 ** 30);
  });
  it('bit 12 (PAT) of a 2 MiB PDE is not reserved', () => {
    const h = paged();
    setEnt(h, PD_T + 8, 0x400000n | 0x87n | (1n << 12n));
    h.mem.view.setBigUint64(0x400008, 0x12n, true);
    expect(load64(h, T + 0x200008)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x12n);
  });
});

describe('user-mode accesses at CPL 3 (SDM Vol. 3A 4.6)', () => {
  function user(): Harness {
    const h = paged();
    enterUser(h); // CS = 0x2b, SS = 0x23, CPL 3; the identity map already has U/S = 1
    setupTss64(h, 0x70000);
    return h;
  }
  it('user read of a supervisor page → P|U; user write → P|W|U; the handler runs at CPL 0 on RSP0', () => {
    let h = user();
    setEnt(h, pte(0), BigInt(FRAME0) | E_P | E_RW);
    expectPf(h, load64(h, T + 0x20), P | U, T + 0x20);
    expect(h.cpu.cpl).toBe(0);
    expect(stackQ(h, 2)).toBe(0x2bn);
    h = user();
    setEnt(h, pte(0), BigInt(FRAME0) | E_P | E_RW);
    expectPf(h, store64(h, T + 0x20, 1n), P | W | U, T + 0x20);
  });
  it('U/S = 0 in the PDPTE makes everything below it supervisor-only', () => {
    const h = user();
    setEnt(h, PDPT_T, BigInt(PD_T) | E_P | E_RW);
    expectPf(h, load64(h, T + 0x20), P | U, T + 0x20);
  });
  it('user write to a read-only user page faults whatever CR0.WP is', () => {
    const h = user();
    h.cpu.cr0 &= ~0x10000;
    setEnt(h, pte(0), BigInt(FRAME0) | E_P | E_US);
    expectPf(h, store64(h, T, 1n), P | W | U, T);
  });
  it('user read and write of a user page work', () => {
    const h = user();
    expect(store64(h, T + 0x100, 0x99n)).toBe(-1);
    expect(load64(h, T + 0x100)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x99n);
  });
  it('a page touched first at CPL 0 is still protected at CPL 3 (the TLB keeps both permissions apart)', () => {
    const h = paged();
    setEnt(h, pte(0), BigInt(FRAME0) | E_P | E_RW); // supervisor page
    expect(load64(h, T)).toBe(-1);
    expect(store64(h, T, 3n)).toBe(-1);
    enterUser(h); setupTss64(h, 0x70000);
    expectPf(h, load64(h, T), P | U, T);
  });
  it('user fetch from a supervisor page → P|U|I/D; user fetch from an XD user page → P|U|I/D', () => {
    let h = user();
    setEnt(h, pte(7), 0x307000n | E_P | E_RW);
    h.setReg(RAX, BigInt(T + 0x7000));
    expectPf(h, runToHandler(h, [0xff, 0xe0]), P | U | ID, T + 0x7000, T + 0x7000);
    h = user();
    setEnt(h, pte(7), 0x307000n | 7n | E_XD);
    h.setReg(RAX, BigInt(T + 0x7000));
    expectPf(h, runToHandler(h, [0xff, 0xe0]), P | U | ID, T + 0x7000, T + 0x7000);
  });
});

describe('TLB behaviour (SDM Vol. 3A 4.10)', () => {
  it('a changed PTE is not seen until INVLPG (0f 01 3b: invlpg [rbx])', () => {
    const h = paged();
    h.mem.view.setBigUint64(FRAME0, 0xaaaan, true);
    h.mem.view.setBigUint64(0x30a000, 0xbbbbn, true);
    expect(load64(h, T)).toBe(-1);
    expect(h.reg(RAX)).toBe(0xaaaan);
    setEnt(h, pte(0), 0x30a000n | 7n);
    expect(load64(h, T)).toBe(-1);
    expect(h.reg(RAX)).toBe(0xaaaan); // stale translation still used (SDM 4.10.2.3 permits this)
    h.setReg(RBX, BigInt(T));
    expect(runToHandler(h, [0x0f, 0x01, 0x3b])).toBe(-1);
    expect(load64(h, T)).toBe(-1);
    expect(h.reg(RAX)).toBe(0xbbbbn);
  });
  it('INVLPG of one page leaves the translations of other pages cached', () => {
    const h = paged();
    h.mem.view.setBigUint64(FRAME0 + 0x1000, 0x1n, true);
    h.mem.view.setBigUint64(0x30a000, 0x2n, true);
    expect(load64(h, T + 0x1000)).toBe(-1);
    setEnt(h, pte(1), 0x30a000n | 7n);
    h.setReg(RBX, BigInt(T));
    expect(runToHandler(h, [0x0f, 0x01, 0x3b])).toBe(-1);
    expect(load64(h, T + 0x1000)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x1n);
  });
  it('a CR3 write (0f 22 d8: mov cr3, rax) drops non-global translations', () => {
    const h = paged();
    h.mem.view.setBigUint64(FRAME0, 0xaaaan, true);
    h.mem.view.setBigUint64(0x30a000, 0xbbbbn, true);
    expect(load64(h, T)).toBe(-1);
    setEnt(h, pte(0), 0x30a000n | 7n);
    h.setReg(RAX, BigInt(PML4));
    expect(runToHandler(h, [0x0f, 0x22, 0xd8])).toBe(-1);
    expect(load64(h, T)).toBe(-1);
    expect(h.reg(RAX)).toBe(0xbbbbn);
  });
  it('global pages (G = 1, CR4.PGE = 1) survive a CR3 write but not INVLPG (SDM 4.10.2.4, 4.10.4.1)', () => {
    const h = paged();
    h.cpu.cr4 |= 0x80;
    h.cpu.tlb.flushAll();
    setEnt(h, pte(0), BigInt(FRAME0) | 7n | E_G);
    h.mem.view.setBigUint64(FRAME0, 0xaaaan, true);
    h.mem.view.setBigUint64(0x30a000, 0xbbbbn, true);
    expect(load64(h, T)).toBe(-1);
    setEnt(h, pte(0), 0x30a000n | 7n | E_G);
    h.setReg(RAX, BigInt(PML4));
    expect(runToHandler(h, [0x0f, 0x22, 0xd8])).toBe(-1);
    expect(load64(h, T)).toBe(-1);
    expect(h.reg(RAX)).toBe(0xaaaan); // still the global translation
    h.setReg(RBX, BigInt(T));
    expect(runToHandler(h, [0x0f, 0x01, 0x3b])).toBe(-1);
    expect(load64(h, T)).toBe(-1);
    expect(h.reg(RAX)).toBe(0xbbbbn);
  });
  it('with CR4.PGE = 0 the G bit is ignored and a CR3 write flushes the page', () => {
    const h = paged();
    setEnt(h, pte(0), BigInt(FRAME0) | 7n | E_G);
    h.mem.view.setBigUint64(FRAME0, 0xaaaan, true);
    h.mem.view.setBigUint64(0x30a000, 0xbbbbn, true);
    expect(load64(h, T)).toBe(-1);
    setEnt(h, pte(0), 0x30a000n | 7n | E_G);
    h.setReg(RAX, BigInt(PML4));
    expect(runToHandler(h, [0x0f, 0x22, 0xd8])).toBe(-1);
    expect(load64(h, T)).toBe(-1);
    expect(h.reg(RAX)).toBe(0xbbbbn);
  });
  it('INVLPG of any address in a 2 MiB page drops the whole 2 MiB translation', () => {
    const h = paged();
    h.mem.view.setBigUint64(0x405000, 0x1n, true);
    h.mem.view.setBigUint64(0x605000, 0x2n, true);
    expect(load64(h, T + 0x205000)).toBe(-1);
    expect(h.reg(RAX)).toBe(1n);
    setEnt(h, PD_T + 8, 0x600000n | 0x87n);
    h.setReg(RBX, BigInt(T + 0x201000));
    expect(runToHandler(h, [0x0f, 0x01, 0x3b])).toBe(-1);
    expect(load64(h, T + 0x205000)).toBe(-1);
    expect(h.reg(RAX)).toBe(2n);
  });
  it('code fetches go through the TLB too: a remapped code page runs the old code until INVLPG', () => {
    const h = paged();
    h.mem.load(FRAME0 + 0x8000, Uint8Array.from([0xb8, 0x01, 0, 0, 0, 0xff, 0xe3])); // mov eax, 1; jmp rbx
    h.mem.load(0x30b000, Uint8Array.from([0xb8, 0x02, 0, 0, 0, 0xff, 0xe3])); // mov eax, 2; jmp rbx
    const go = () => { h.setReg(RAX, BigInt(T + 0x8000)); h.setReg(RBX, BigInt(CODE + 2)); return runToHandler(h, [0xff, 0xe0, 0x90]); };
    expect(go()).toBe(-1);
    expect(h.reg(RAX)).toBe(1n);
    setEnt(h, pte(8), 0x30b000n | 7n);
    expect(go()).toBe(-1);
    expect(h.reg(RAX)).toBe(1n);
    h.setReg(RBX, BigInt(T + 0x8000));
    expect(runToHandler(h, [0x0f, 0x01, 0x3b])).toBe(-1);
    expect(go()).toBe(-1);
    expect(h.reg(RAX)).toBe(2n);
  });
});

describe('page-crossing accesses', () => {
  it('an 8-byte read across two pages mapped to non-adjacent frames assembles both halves', () => {
    const h = paged();
    setEnt(h, pte(1), 0x305000n | 7n);
    h.mem.view.setUint32(FRAME0 + 0xffc, 0x44332211, true);
    h.mem.view.setUint32(0x305000, 0x88776655, true);
    expect(load64(h, T + 0xffc)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x8877665544332211n);
  });
  it('an 8-byte write across two pages splits at the boundary', () => {
    const h = paged();
    setEnt(h, pte(1), 0x305000n | 7n);
    expect(store64(h, T + 0xffa, 0x0807060504030201n)).toBe(-1);
    // bytes 01..06 at 0xffa..0xfff of the first frame, 07 08 at offset 0 of the second
    expect(h.mem.view.getBigUint64(FRAME0 + 0xff8, true)).toBe(0x0605040302010000n);
    expect(h.mem.view.getUint16(0x305000, true)).toBe(0x0807);
  });
  it('a write straddling into a not-present page faults with CR2 at the boundary and leaves the first page unchanged (host CPU)', () => {
    const h = paged();
    setEnt(h, pte(1), 0n);
    h.mem.view.setUint32(FRAME0 + 0xffc, 0x11111111, true);
    expectPf(h, store64(h, T + 0xffc, 0x2222222222222222n), W, T + 0x1000);
    expect(h.mem.view.getUint32(FRAME0 + 0xffc, true)).toBe(0x11111111);
  });
  it('... also when the first page is already in the TLB with write permission', () => {
    const h = paged();
    expect(store64(h, T + 0xff0, 0x33n)).toBe(-1); // TLB now holds a writable, dirty entry for page 0
    setEnt(h, pte(1), 0n);
    h.mem.view.setUint32(FRAME0 + 0xffe, 0x11111111, true);
    expectPf(h, store64(h, T + 0xffe, 0x2222222222222222n), W, T + 0x1000);
    expect(h.mem.view.getUint16(FRAME0 + 0xffe, true)).toBe(0x1111);
  });
  it('a read straddling into a read-protected (supervisor) page at CPL 3 faults with P|U and CR2 at the boundary', () => {
    const h = paged();
    enterUser(h); setupTss64(h, 0x70000);
    setEnt(h, pte(1), 0x301000n | E_P | E_RW);
    expectPf(h, load64(h, T + 0xffd), P | U, T + 0x1000);
  });
});

describe('instruction fetch across a page boundary', () => {
  it('an instruction split over two pages mapped to non-adjacent frames decodes from both', () => {
    const h = paged();
    setEnt(h, pte(1), 0x30c000n | 7n);
    // mov eax, 0x11223344 (b8 44 33 22 11) with its first two bytes at the end of page 0
    h.mem.load(FRAME0 + 0xffe, Uint8Array.from([0xb8, 0x44]));
    h.mem.load(0x30c000, Uint8Array.from([0x33, 0x22, 0x11, 0xff, 0xe3])); // ...; jmp rbx
    h.setReg(RAX, BigInt(T + 0xffe)); h.setReg(RBX, BigInt(CODE + 2));
    expect(runToHandler(h, [0xff, 0xe0, 0x90])).toBe(-1);
    expect(h.reg(RAX)).toBe(0x11223344n);
  });
  it('an instruction running into a not-present page: #PF(I/D) with CR2 at the boundary, RIP at the instruction', () => {
    const h = paged();
    setEnt(h, pte(1), 0n);
    h.mem.load(FRAME0 + 0xffd, Uint8Array.from([0xb8, 0x44, 0x33]));
    h.setReg(RAX, BigInt(T + 0xffd));
    expectPf(h, runToHandler(h, [0xff, 0xe0]), ID, T + 0x1000, T + 0xffd);
  });
});

describe('self-modifying code (SDM Vol. 3A 11.6)', () => {
  it('a store into the immediate of the very next instruction takes effect, also once that instruction is cached', () => {
    const h = paged();
    // L: mov [rip+1], dl   ; patches the imm8 of the next instruction
    //    mov al, 0          ; imm8 replaced by DL
    //    add bl, al
    //    add dl, 10
    //    loop L
    const code = [0x88, 0x15, 0x01, 0x00, 0x00, 0x00, 0xb0, 0x00, 0x00, 0xc3, 0x80, 0xc2, 0x0a, 0xe2, 0xf1];
    h.setReg(RCX, 2n); h.setReg(RDX, 10n); h.setReg(RBX, 0n);
    expect(runToHandler(h, code)).toBe(-1);
    expect(h.reg(RBX) & 0xffn).toBe(30n); // 10 (first pass) + 20 (second pass, decoded copy invalidated)
  });
  it('patching an instruction executed earlier in a loop changes its next execution', () => {
    const h = paged();
    // L: mov al, 1 ; add bl, al ; mov byte [rip-10], 7 (the imm8 of mov al) ; loop L
    const code = [0xb0, 0x01, 0x00, 0xc3, 0xc6, 0x05, 0xf6, 0xff, 0xff, 0xff, 0x07, 0xe2, 0xf3]; // disp = 1 - 11 = -10
    h.setReg(RCX, 3n); h.setReg(RBX, 0n);
    expect(runToHandler(h, code)).toBe(-1);
    expect(h.reg(RBX) & 0xffn).toBe(1n + 7n + 7n);
  });
  it('a store through a second linear mapping of the code page (alias) is seen by the decoder', () => {
    const h = paged();
    setEnt(h, pte(0), BigInt(CODE) | 7n); // T → the physical code page
    // L: mov al, 1 ; add bl, al ; mov byte [rbx_alias+1], 5 via rsi ; loop L
    //    b0 01 / 00 c3 / c6 46 01 05 (mov byte [rsi+1], 5) / e2 f6
    const code = [0xb0, 0x01, 0x00, 0xc3, 0xc6, 0x46, 0x01, 0x05, 0xe2, 0xf6];
    h.setReg(RCX, 2n); h.setReg(RBX, 0n); h.setReg(6, BigInt(T)); // RSI = T, which aliases CODE
    expect(runToHandler(h, code)).toBe(-1);
    expect(h.reg(RBX) & 0xffn).toBe(1n + 5n);
  });
  it('rep-free string of stores: a qword store overwriting the next two instructions replaces both', () => {
    const h = paged();
    // mov rax, imm (the new bytes: "mov dl, 9; nop ..." ) ; mov [rip+0], rax ; <8 bytes replaced>
    // new bytes: b2 09 (mov dl, 9), 90 x6
    const newBytes = 0x90909090909009b2n;
    const code = [0x48, 0xb8, ...le64(newBytes), 0x48, 0x89, 0x05, 0x00, 0x00, 0x00, 0x00,
      0xb2, 0x01, 0xb2, 0x02, 0x90, 0x90, 0x90, 0x90];
    h.setReg(RDX, 0n);
    expect(runToHandler(h, code)).toBe(-1);
    expect(h.reg(RDX)).toBe(9n);
  });
});

function le64(v: bigint): number[] { const a: number[] = []; for (let k = 0; k < 8; k++) a.push(Number((v >> BigInt(8 * k)) & 0xffn)); return a; }

// ------------------------------------------------------------------------------------------------
// Legacy paging modes in 32-bit protected mode ('prot32' harness, CR0/CR4 set directly).

/** 8-byte 32-bit interrupt gate (SDM Vol. 3A 6.11, Figure 6-2) to selector 0x18 (harness 32-bit code). */
function gate32(h: Harness, base: number, vec: number, target: number): void {
  h.mem.view.setUint32(base + vec * 8, (0x18 << 16) | (target & 0xffff), true);
  h.mem.view.setUint32(base + vec * 8 + 4, ((target & 0xffff0000) | 0x8e00) >>> 0, true);
}
function prot32(): Harness {
  const h = makeCpu('prot32');
  for (let v = 0; v < 32; v++) { gate32(h, 0x8000, v, HANDLERS + v * 16); h.mem.u8[HANDLERS + v * 16] = 0xf4; }
  h.cpu.idtBase = 0x8000; h.cpu.idtLimit = 32 * 8 - 1;
  return h;
}
function enablePaging(h: Harness, cr3: number, cr4: number): void {
  h.cpu.cr3 = cr3; h.cpu.cr4 = cr4; h.cpu.cr0 = 0x80010011; // PG | WP | ET | PE
  updateMode(h.cpu); h.cpu.tlb.flushAll(); h.cpu.flushDecodeCache();
}
const d32 = (h: Harness, a: number) => h.mem.view.getUint32(a, true);
/** mov eax, [ebx] in 32-bit code. */
function load32(h: Harness, lin: number): number { h.setReg(RBX, BigInt(lin)); h.setReg(RSP, 0x80000n); return runToHandler(h, [0x8b, 0x03]); }
function store32(h: Harness, lin: number, v: number): number { h.setReg(RBX, BigInt(lin)); h.setReg(RAX, BigInt(v >>> 0)); h.setReg(RSP, 0x80000n); return runToHandler(h, [0x89, 0x03]); }
/** 32-bit frame after an exception with an error code: [esp] = code, [esp+4] = EIP, CS, EFLAGS. */
function expectPf32(h: Harness, vector: number, code: number, cr2: number, eip = CODE): void {
  expect(vector).toBe(14);
  const esp = Number(h.reg(RSP));
  expect(d32(h, esp)).toBe(code);
  expect(d32(h, esp + 4)).toBe(eip);
  expect(d32(h, esp + 8)).toBe(0x18);
  expect(h.cpu.cr2).toBe(cr2);
}

describe('32-bit paging (SDM Vol. 3A 4.3)', () => {
  // PD at 0x20000: [0] → PT 0x21000 (identity 0-4 MiB), [2] → PT 0x22000 ([1] → 0x305000), [3] = 4 MiB page at 0x400000
  function build(pse: boolean): Harness {
    const h = prot32();
    const w = (a: number, v: number) => h.mem.view.setUint32(a, v >>> 0, true);
    for (let k = 0; k < 1024; k++) w(0x21000 + 4 * k, k * 0x1000 | 3);
    w(0x20000, 0x21000 | 3);
    w(0x20000 + 8, 0x22000 | 7);
    w(0x22000 + 4, 0x305000 | 7);
    w(0x20000 + 12, 0x400000 | 0x87);
    enablePaging(h, 0x20000, 0x600 | (pse ? 0x10 : 0));
    return h;
  }
  it('4 KiB page: 0x801010 → 0x305010; A set in PDE and PTE, D in the PTE after a write', () => {
    const h = build(true);
    h.mem.view.setUint32(0x305010, 0xfeedface, true);
    expect(load32(h, 0x801010)).toBe(-1);
    expect(h.reg(RAX)).toBe(0xfeedfacen);
    expect(d32(h, 0x20008) & 0x60).toBe(0x20);
    expect(d32(h, 0x22004) & 0x60).toBe(0x20);
    expect(store32(h, 0x801014, 0x1234)).toBe(-1);
    expect(d32(h, 0x305014)).toBe(0x1234);
    expect(d32(h, 0x22004) & 0x60).toBe(0x60);
    expect(d32(h, 0x20008) & 0x40).toBe(0); // no D in the PDE that references a page table
  });
  it('4 MiB page with CR4.PSE = 1: 0xc12345 → 0x412345; D in the PDE', () => {
    const h = build(true);
    h.mem.view.setUint32(0x412344, 0x0a0b0c0d, true);
    expect(load32(h, 0xc12344)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x0a0b0c0dn);
    expect(store32(h, 0xc12348, 7)).toBe(-1);
    expect(d32(h, 0x2000c) & 0x60).toBe(0x60);
  });
  it('with CR4.PSE = 0 the PS bit is ignored: the PDE references a page table (SDM Table 4-5)', () => {
    const h = build(false);
    h.mem.view.setUint32(0x20000 + 12, 0x21000 | 0x83, true); // PS set, but points at the identity page table
    h.mem.view.setUint32(0x1234, 0x5555aaaa, true);
    expect(load32(h, 0xc01234)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x5555aaaan); // PT 0x21000 entry 1 → frame 0x1000
  });
  it('not-present PTE: #PF(W) through a 32-bit interrupt gate, CR2 = address', () => {
    const h = build(true);
    h.mem.view.setUint32(0x22008, 0, true);
    expectPf32(h, store32(h, 0x802abc, 1), W, 0x802abc);
  });
  it('write to a read-only page with CR0.WP = 1 → P|W', () => {
    const h = build(true);
    h.mem.view.setUint32(0x22004, 0x305000 | 5, true);
    expectPf32(h, store32(h, 0x801000, 1), P | W, 0x801000);
  });
  it('a fetch fault under 32-bit paging has I/D = 0 even with EFER.NXE = 1 (SDM 4.7: I/D needs CR4.PAE = 1 and NXE = 1, or SMEP)', () => {
    const h = build(true);
    h.cpu.efer = 0x800; // NXE, no LME/LMA
    h.mem.view.setUint32(0x22008, 0, true);
    h.setReg(RAX, 0x802000n); h.setReg(RSP, 0x80000n);
    expectPf32(h, runToHandler(h, [0xff, 0xe0]), 0, 0x802000, 0x802000); // jmp eax
  });
});

describe('PAE paging (SDM Vol. 3A 4.4)', () => {
  // PDPT at 0x23000: [0] → PD 0x24000: [0] = 2 MiB identity, [4] → PT 0x25000 ([2] → 0x306000), [5] = 2 MiB at 0x400000
  function build(): Harness {
    const h = prot32();
    const w = (a: number, v: bigint) => h.mem.view.setBigUint64(a, v, true);
    w(0x23000, 0x24000n | 1n);
    w(0x24000, 0x83n);
    w(0x24000 + 32, 0x25000n | 7n);
    w(0x25000 + 16, 0x306000n | 7n);
    w(0x24000 + 40, 0x400000n | 0x87n);
    h.cpu.efer = 0x800; // NXE
    enablePaging(h, 0x23000, 0x620);
    return h;
  }
  it('4 KiB page: 0x802010 → 0x306010; 2 MiB page: 0xa00010 → 0x400010', () => {
    const h = build();
    h.mem.view.setUint32(0x306010, 0x11223344, true);
    h.mem.view.setUint32(0x400010, 0x55667788, true);
    expect(load32(h, 0x802010)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x11223344n);
    expect(load32(h, 0xa00010)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x55667788n);
  });
  it('A/D: A in PDE and PTE, D in the PTE on a write; the 2 MiB PDE gets D', () => {
    const h = build();
    expect(store32(h, 0x802000, 1)).toBe(-1);
    expect(Number(h.mem.view.getBigUint64(0x24020, true) & 0x60n)).toBe(0x20);
    expect(Number(h.mem.view.getBigUint64(0x25010, true) & 0x60n)).toBe(0x60);
    expect(store32(h, 0xa00000, 1)).toBe(-1);
    expect(Number(h.mem.view.getBigUint64(0x24028, true) & 0x60n)).toBe(0x60);
  });
  it('XD with NXE = 1: a fetch faults with P|I/D (0x11); the bit is reserved when NXE = 0 (P|RSVD)', () => {
    let h = build();
    h.mem.view.setBigUint64(0x25010, 0x306000n | 7n | (1n << 63n), true);
    h.setReg(RAX, 0x802000n); h.setReg(RSP, 0x80000n);
    expectPf32(h, runToHandler(h, [0xff, 0xe0]), P | ID, 0x802000, 0x802000);
    h = build();
    h.cpu.efer = 0;
    h.mem.view.setBigUint64(0x25010, 0x306000n | 7n | (1n << 63n), true);
    expectPf32(h, load32(h, 0x802000), P | RSVD, 0x802000);
  });
  it('not-present PTE → #PF(0) with CR2', () => {
    const h = build();
    h.mem.view.setBigUint64(0x25018, 0n, true);
    expectPf32(h, load32(h, 0x803004), 0, 0x803004);
  });
});

describe('paging structures above 2 GiB physical (CR3 bit 31 set; backed by an MMIO window here)', () => {
  /** A 4 KiB MMIO window at 0x80000000 that behaves like RAM. */
  function highTables(h: Harness): DataView {
    const buf = new DataView(new ArrayBuffer(4096));
    h.mem.mapMmio(0x80000000, 4096, {
      mmioRead: (o, size) => (size === 1 ? buf.getUint8(o) : size === 2 ? buf.getUint16(o, true) : buf.getUint32(o, true)),
      mmioWrite: (o, size, v) => { if (size === 1) buf.setUint8(o, v); else if (size === 2) buf.setUint16(o, v, true); else buf.setUint32(o, v >>> 0, true); },
    });
    return buf;
  }
  it('32-bit paging with the page directory at 0x80000000', () => {
    const h = prot32();
    const pd = highTables(h);
    for (let k = 0; k < 1024; k++) h.mem.view.setUint32(0x21000 + 4 * k, k * 0x1000 | 3, true);
    pd.setUint32(0, 0x21000 | 3, true);
    pd.setUint32(8, 0x22000 | 7, true);
    h.mem.view.setUint32(0x22004, 0x305000 | 7, true);
    h.mem.view.setUint32(0x305010, 0xc0dec0de, true);
    enablePaging(h, 0x80000000, 0x610);
    expect(load32(h, 0x801010)).toBe(-1);
    expect(h.reg(RAX)).toBe(0xc0dec0den);
    expect(pd.getUint32(8, true) & 0x20).toBe(0x20); // accessed flag written back through the window
  });
  it('PAE paging with the PDPT at 0x80000000', () => {
    const h = prot32();
    const pdpt = highTables(h);
    pdpt.setUint32(0, 0x24000 | 1, true);
    h.mem.view.setBigUint64(0x24000, 0x83n, true);
    h.mem.view.setBigUint64(0x24000 + 40, 0x400000n | 0x87n, true);
    h.mem.view.setUint32(0x400010, 0x5a5a5a5a, true);
    enablePaging(h, 0x80000000, 0x620);
    expect(load32(h, 0xa00010)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x5a5a5a5an);
  });
});


// Read-modify-write operands are write-intent accesses: a not-present page reports W=1 in the #PF
// error code (checked on the host CPU: `add dword [m], 1` on an unmapped page gives error code 6 in
// user mode, i.e. U|W; a plain load gives 4).
import { describe as describeRmw, it as itRmw, expect as expectRmw } from 'vitest';
import { makeCpu as makeRmwCpu, installIdt64 as installRmwIdt } from '../helpers/cpu-harness.ts';
describeRmw('read-modify-write faults', () => {
  itRmw('add [mem], imm on a not-present page faults with W=1; cmp [mem], imm with W=0', () => {
    for (const [code, w] of [[[0x83, 0x00, 0x01], 2], [[0x83, 0x38, 0x01], 0], [[0xff, 0x00], 2], [[0xf7, 0x18], 2]] as [number[], number][]) {
      const h = makeRmwCpu();
      installRmwIdt(h, 0x8000, { 14: 0x90000 });
      h.mem.u8[0x90000] = 0xf4;
      // Unmap 2 MiB page 3 (0x600000) in the harness's PD.
      h.mem.view.setUint32(0x3000 + 3 * 8, 0, true);
      h.cpu.tlb.flushAll();
      h.cpu.rl[0] = 0x600010; h.cpu.rh[0] = 0;
      h.exec(code, 2);
      expectRmw(h.cpu.exceptionCounts[14]).toBe(1);
      expectRmw(h.cpu.cr2).toBe(0x600010);
      // Error code on the stack: RSP points at it after delivery.
      const ec = h.mem.view.getUint32(h.cpu.rl[4] >>> 0, true);
      expectRmw(ec).toBe(w);
    }
  });
});
