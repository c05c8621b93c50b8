// #PF error codes and CR2 in each paging mode, accessed/dirty updates, and the NX / WP / U-S / SMEP
// access-rights rules (Intel SDM Vol. 3A chapter 4 "Paging": 4.3 32-bit paging, 4.4 PAE paging,
// 4.5 4-level paging, 4.6 "Access Rights", 4.7 "Page-Fault Exceptions", 4.8 "Accessed and Dirty
// Flags"; 6.15 "Interrupt 14—Page-Fault Exception (#PF)").
//
// The error-code matrices list, for each paging mode, each CPL, each access (read, write,
// instruction fetch) and each kind of page, the #PF error code worked out by hand from 4.6/4.7:
//   P (bit 0)    1 = protection violation or reserved bit, 0 = not present
//   W/R (bit 1)  1 = write access
//   U/S (bit 2)  1 = user-mode access (CPL 3; implicit supervisor accesses are 0)
//   RSVD (bit 3) 1 = a reserved bit was set in some paging-structure entry
//   I/D (bit 4)  1 = instruction fetch, only if CR4.SMEP = 1 or (CR4.PAE = 1 and IA32_EFER.NXE = 1)
// Complements tests/cpu/paging.test.ts (translation, TLB, page crossing, single-case error codes).
import { describe, it, expect } from 'vitest';
import { CODE, type Harness } from '../helpers/cpu-harness.ts';
import { runToHandler, enterUser, setupTss64, gate64 } from '../helpers/cpu-events.ts';
import { exec1 } from '../cpu/sys-helpers.ts';
import { RAX, RBX, RSP } from '../../emulator/cpu/state.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';
import { V, S, long64, prot32, user32, stackQ, rsp, q, wq, d, wd, cpuid, HANDLERS } from './helpers.ts';

// #PF error-code bits (Vol. 3A 4.7, Figure 4-12).
const P = 1, W = 2, U = 4, RSVD = 8, ID = 16;
// Entry bits (Vol. 3A Tables 4-6, 4-11, 4-14..4-20).
const E_P = 1n, E_RW = 2n, E_US = 4n, E_A = 0x20n, E_D = 0x40n, E_PS = 0x80n, E_XD = 1n << 63n, E_51 = 1n << 51n;
const CR0_WP = 0x10000, CR4_SMEP = 1 << 20;

type Acc = 'r' | 'w' | 'x';
/** [CPL, access, page index, expected #PF error code or null for "no fault"] */
type Row = [0 | 3, Acc, number, number | null];

const FRAMES = 0x300000; // page k of the test space maps frame FRAMES + k·4 KiB

// ------------------------------------------------------------------------------ 4-level paging
// PML4[1] → PDPT 0x20000 → PD 0x21000 → PT 0x22000: test page k at T + k·4 KiB.
const T = 2 ** 39;
const PDPT = 0x20000, PD = 0x21000, PT = 0x22000;
/** Page kinds of the 4-level and PAE matrices. */
const KINDS64: bigint[] = [
  0n, // 0: not present
  E_P | E_US, // 1: user, read-only
  E_P | E_RW, // 2: supervisor, read/write
  E_P | E_RW | E_US | E_XD, // 3: user, read/write, execute-disable
  E_P | E_RW | E_US | E_51, // 4: reserved bit 51 (MAXPHYADDR = 40)
  E_P | E_RW | E_US, // 5: user, read/write
  E_P | E_US | E_XD, // 6: user, read-only, execute-disable
  E_P, // 7: supervisor, read-only
];

function fourLevel(kinds: bigint[] = KINDS64): Harness {
  const h = long64();
  h.mem.u8.fill(0, PDPT, PT + 0x1000);
  wq(h, 0x1000 + 8, PDPT | 7); wq(h, PDPT, PD | 7); wq(h, PD, PT | 7);
  kinds.forEach((e, k) => { if (e !== 0n) wq(h, PT + 8 * k, BigInt(FRAMES + k * 0x1000) | e); });
  for (let k = 0; k < 8; k++) h.mem.load(FRAMES + k * 0x1000, Uint8Array.from([0xff, 0xe3])); // jmp rbx
  h.cpu.tlb.flushAll();
  return h;
}

/** Do one access in 64-bit mode; returns the vector (-1: completed). */
function access64(h: Harness, acc: Acc, lin: number): number {
  h.setReg(RSP, BigInt(S));
  if (acc === 'x') { h.setReg(RAX, BigInt(lin)); h.setReg(RBX, BigInt(CODE + 2)); return runToHandler(h, [0xff, 0xe0, 0x90]); }
  h.setReg(RBX, BigInt(lin));
  return runToHandler(h, acc === 'r' ? [0x48, 0x8b, 0x03] : [0x48, 0x89, 0x03]);
}

function check64(h: Harness, vec: number, acc: Acc, lin: number, code: number | null, what: string): void {
  if (code === null) { expect(vec, what).toBe(-1); return; }
  expect(vec, what).toBe(V.PF);
  expect(Number(stackQ(h, 0)), what).toBe(code);
  expect(stackQ(h, 1), what).toBe(BigInt(acc === 'x' ? lin : CODE)); // a fault: RIP of the access (or the fetch target)
  expect(h.cpu.cr2, what).toBe(lin);
}

function runMatrix64(rows: Row[], setup: (h: Harness) => void = () => {}): void {
  for (const [cpl, acc, k, code] of rows) {
    const h = fourLevel();
    setup(h);
    if (cpl === 3) { enterUser(h); setupTss64(h, 0x70000); }
    const lin = T + k * 0x1000;
    check64(h, access64(h, acc, lin), acc, lin, code, `CPL ${cpl} ${acc} page ${k}`);
  }
}

// The matrix for 4-level and PAE paging with CR0.WP = 1, IA32_EFER.NXE = 1, CR4.SMEP = 0.
const MATRIX_PAE_NX: Row[] = [
  [0, 'r', 0, 0], [0, 'w', 0, W], [0, 'x', 0, ID],
  [0, 'r', 1, null], [0, 'w', 1, P | W], [0, 'x', 1, null],
  [0, 'r', 2, null], [0, 'w', 2, null], [0, 'x', 2, null],
  [0, 'r', 3, null], [0, 'w', 3, null], [0, 'x', 3, P | ID],
  [0, 'r', 4, P | RSVD], [0, 'w', 4, P | W | RSVD], [0, 'x', 4, P | RSVD | ID],
  [0, 'r', 5, null], [0, 'w', 5, null], [0, 'x', 5, null],
  [0, 'r', 6, null], [0, 'w', 6, P | W], [0, 'x', 6, P | ID],
  [0, 'r', 7, null], [0, 'w', 7, P | W], [0, 'x', 7, null],
  [3, 'r', 0, U], [3, 'w', 0, W | U], [3, 'x', 0, U | ID],
  [3, 'r', 1, null], [3, 'w', 1, P | W | U], [3, 'x', 1, null],
  [3, 'r', 2, P | U], [3, 'w', 2, P | W | U], [3, 'x', 2, P | U | ID],
  [3, 'r', 3, null], [3, 'w', 3, null], [3, 'x', 3, P | U | ID],
  [3, 'r', 4, P | U | RSVD], [3, 'w', 4, P | W | U | RSVD], [3, 'x', 4, P | U | RSVD | ID],
  [3, 'r', 5, null], [3, 'w', 5, null], [3, 'x', 5, null],
  [3, 'r', 6, null], [3, 'w', 6, P | W | U], [3, 'x', 6, P | U | ID],
  [3, 'r', 7, P | U], [3, 'w', 7, P | W | U], [3, 'x', 7, P | U | ID],
];

describe('#PF error code and CR2: 4-level paging (SDM Vol. 3A 4.5, 4.6, 4.7)', () => {
  it('CPL 0 and 3 × read/write/fetch × {not present, user RO, supervisor RW, user XD, reserved bit 51, user RW, user RO XD, supervisor RO}; WP = 1, NXE = 1', () => {
    runMatrix64(MATRIX_PAE_NX);
  });
  it('CR0.WP = 0: supervisor writes to read-only pages succeed; user writes still fault (4.6.1)', () => {
    runMatrix64([[0, 'w', 1, null], [0, 'w', 6, null], [0, 'w', 7, null], [3, 'w', 1, P | W | U], [3, 'w', 7, P | W | U]],
      (h) => { h.cpu.cr0 &= ~CR0_WP; });
  });
  it('CR4.SMEP = 1: supervisor fetches from user pages fault with P|I/D; supervisor pages and data accesses are unaffected (4.6.1)', () => {
    runMatrix64([[0, 'x', 1, P | ID], [0, 'x', 5, P | ID], [0, 'x', 3, P | ID], [0, 'x', 2, null], [0, 'x', 7, null],
      [0, 'r', 5, null], [0, 'w', 5, null], [0, 'x', 0, ID], [3, 'x', 5, null]],
    (h) => { h.cpu.cr4 |= CR4_SMEP; });
  });
  it('CR2 holds the full 64-bit linear address: a not-present kernel-half address 0xffff800000001234', () => {
    const h = long64();
    wq(h, 0x1000 + 256 * 8, 0); // PML4[256] not present
    expect(access64(h, 'r', -0x800000000000 + 0x1234)).toBe(V.PF);
    expect(stackQ(h, 0)).toBe(0n);
    expect(exec1(h, [0x0f, 0x20, 0xd0]).vec).toBe(-1); // mov rax, cr2
    expect(h.reg(RAX)).toBe(0xffff800000001234n);
  });
  it('U/S and R/W combine over all levels: U/S = 0 in the PDE makes a U/S = 1 PTE supervisor-only; R/W = 0 in the PDPTE makes it read-only (4.6)', () => {
    let h = fourLevel();
    wq(h, PD, PT | 3); // P | RW, U/S = 0
    enterUser(h); setupTss64(h, 0x70000);
    check64(h, access64(h, 'r', T + 0x5000), 'r', T + 0x5000, P | U, 'user read');
    h = fourLevel();
    wq(h, PD, PT | 3);
    h.cpu.cr4 |= CR4_SMEP; // a page is a user-mode page only if U/S = 1 at every level, so SMEP allows this fetch
    check64(h, access64(h, 'x', T + 0x5000), 'x', T + 0x5000, null, 'supervisor fetch, SMEP');
    h = fourLevel();
    wq(h, PDPT, PD | 5); // P | U/S, R/W = 0
    check64(h, access64(h, 'w', T + 0x5000), 'w', T + 0x5000, P | W, 'supervisor write, WP = 1');
    h.cpu.cr0 &= ~CR0_WP; h.cpu.tlb.flushAll();
    check64(h, access64(h, 'w', T + 0x5000), 'w', T + 0x5000, null, 'supervisor write, WP = 0');
  });
  it('XD in the PML4E forbids fetches from everything below it; reads are unaffected (4.6)', () => {
    const h = fourLevel();
    wq(h, 0x1008, BigInt(PDPT | 7) | E_XD);
    check64(h, access64(h, 'r', T + 0x5000), 'r', T + 0x5000, null, 'read');
    check64(h, access64(h, 'x', T + 0x5000), 'x', T + 0x5000, P | ID, 'fetch');
  });
  it('implicit supervisor accesses at CPL 3 report U/S = 0: pushing the interrupt frame onto a not-present RSP0 page is #PF(W), delivered on IST1', () => {
    const h = fourLevel();
    enterUser(h);
    setupTss64(h, T + 0x1000, [0x6f000]); // RSP0 = top of page 0 (not present): the frame goes to T + 0xFD8..0xFFF
    gate64(h, V.PF, HANDLERS + V.PF * 16, { ist: 1 });
    h.setReg(RSP, BigInt(S));
    expect(runToHandler(h, [0x0f, 0x0b])).toBe(V.PF); // #UD at CPL 3 → frame push faults
    expect(rsp(h)).toBe(0x6f000 - 48);
    expect(stackQ(h, 0)).toBe(BigInt(W));
    expect(stackQ(h, 1)).toBe(BigInt(CODE));
    expect(h.cpu.cr2).toBeGreaterThanOrEqual(T + 0x1000 - 40);
    expect(h.cpu.cr2).toBeLessThan(T + 0x1000);
  });
});

// ------------------------------------------------------------------------------ legacy modes
const L32 = 0x800000; // test page k at L32 + k·4 KiB

/** 32-bit protected mode with PAE paging: PDPT 0x20000 → PD 0x21000: [0] 2 MiB identity (U, RW), [4] → PT 0x22000. */
function pae(kinds: bigint[] = KINDS64, nxe = true): Harness {
  const h = prot32();
  h.mem.u8.fill(0, 0x20000, 0x23000);
  wq(h, 0x20000, 0x21000 | 1);
  wq(h, 0x21000, 0x87);
  wq(h, 0x21000 + 8 * 4, 0x22000 | 7);
  kinds.forEach((e, k) => { if (e !== 0n) wq(h, 0x22000 + 8 * k, BigInt(FRAMES + k * 0x1000) | e); });
  for (let k = 0; k < 8; k++) h.mem.load(FRAMES + k * 0x1000, Uint8Array.from([0xff, 0xe3]));
  h.cpu.efer = nxe ? 0x800 : 0;
  enable(h, 0x20000, 0x620);
  return h;
}

/** 32-bit paging: PD 0x20000: [0] 4 MiB identity page (U, RW), [2] → PT 0x22000. */
const KINDS32 = [0, 5, 3, 7, 7, 7, 7, 1]; // 0 np, 1 user RO, 2 supervisor RW, 3.. user RW, 7 supervisor RO
function paging32(): Harness {
  const h = prot32();
  h.mem.u8.fill(0, 0x20000, 0x23000);
  wd(h, 0x20000, 0x87);
  wd(h, 0x20000 + 4 * 2, 0x22000 | 7);
  KINDS32.forEach((e, k) => { if (e !== 0) wd(h, 0x22000 + 4 * k, (FRAMES + k * 0x1000) | e); });
  for (let k = 0; k < 8; k++) h.mem.load(FRAMES + k * 0x1000, Uint8Array.from([0xff, 0xe3]));
  enable(h, 0x20000, 0x610);
  return h;
}

function enable(h: Harness, cr3: number, cr4: number): void {
  h.cpu.cr3 = cr3; h.cpu.cr4 = cr4; h.cpu.cr0 = 0x80010011; // PG | WP | ET | PE
  updateMode(h.cpu); h.cpu.tlb.flushAll(); h.cpu.flushDecodeCache();
}

function access32(h: Harness, acc: Acc, lin: number): number {
  h.setReg(RSP, BigInt(S));
  if (acc === 'x') { h.setReg(RAX, BigInt(lin)); h.setReg(RBX, BigInt(CODE + 2)); return runToHandler(h, [0xff, 0xe0, 0x90]); }
  h.setReg(RBX, BigInt(lin));
  return runToHandler(h, acc === 'r' ? [0x8b, 0x03] : [0x89, 0x03]);
}

/** 32-bit frame of a #PF: [ESP] error code, [ESP+4] EIP. */
function check32(h: Harness, vec: number, acc: Acc, lin: number, code: number | null, what: string): void {
  if (code === null) { expect(vec, what).toBe(-1); return; }
  expect(vec, what).toBe(V.PF);
  const esp = Number(h.reg(RSP));
  expect(d(h, esp), what).toBe(code);
  expect(d(h, esp + 4), what).toBe(acc === 'x' ? lin : CODE);
  expect(h.cpu.cr2, what).toBe(lin);
}

function runMatrix32(make: () => Harness, rows: Row[], setup: (h: Harness) => void = () => {}): void {
  for (const [cpl, acc, k, code] of rows) {
    const h = make();
    setup(h);
    if (cpl === 3) user32(h);
    const lin = L32 + k * 0x1000;
    check32(h, access32(h, acc, lin), acc, lin, code, `CPL ${cpl} ${acc} page ${k}`);
  }
}

describe('#PF error code and CR2: PAE paging (SDM Vol. 3A 4.4, 4.6, 4.7)', () => {
  it('the same matrix as 4-level paging (XD and reserved bit 51 exist in PAE entries; I/D needs NXE = 1)', () => {
    runMatrix32(() => pae(), MATRIX_PAE_NX);
  });
  it('IA32_EFER.NXE = 0: XD (bit 63) is a reserved bit, and a fetch fault has I/D = 0', () => {
    runMatrix32(() => pae(KINDS64, false), [[0, 'r', 3, P | RSVD], [0, 'x', 0, 0], [3, 'x', 0, U], [3, 'x', 2, P | U], [0, 'x', 5, null]]);
  });
});

describe('#PF error code and CR2: 32-bit paging (SDM Vol. 3A 4.3, 4.6, 4.7)', () => {
  it('CPL 0 and 3 × read/write/fetch: no XD, so I/D = 0 on every fetch fault (CR4.PAE = 0, SMEP = 0)', () => {
    runMatrix32(paging32, [
      [0, 'r', 0, 0], [0, 'w', 0, W], [0, 'x', 0, 0],
      [0, 'w', 1, P | W], [0, 'x', 1, null], [0, 'w', 2, null], [0, 'x', 2, null], [0, 'w', 7, P | W], [0, 'r', 7, null],
      [3, 'r', 0, U], [3, 'w', 0, W | U], [3, 'x', 0, U],
      [3, 'r', 1, null], [3, 'w', 1, P | W | U], [3, 'x', 1, null],
      [3, 'r', 2, P | U], [3, 'w', 2, P | W | U], [3, 'x', 2, P | U],
      [3, 'r', 3, null], [3, 'w', 3, null], [3, 'x', 3, null],
      [3, 'r', 7, P | U], [3, 'w', 7, P | W | U],
    ]);
  });
  it('CR4.SMEP = 1 makes I/D report fetches even under 32-bit paging: a supervisor fetch from a user page is P|I/D, a not-present fetch I/D', () => {
    // The identity 4-MiB page holding the code and the handlers becomes supervisor-only, or SMEP would stop them too.
    runMatrix32(paging32, [[0, 'x', 3, P | ID], [0, 'x', 0, ID], [0, 'x', 2, null], [0, 'r', 3, null]],
      (h) => { wd(h, 0x20000, 0x83); h.cpu.cr4 |= CR4_SMEP; h.cpu.tlb.flushAll(); });
  });
  it('a 4-MiB PDE with bit 21 set (reserved: bits 21:(M-19) with MAXPHYADDR = 40, PSE-36) is P|RSVD', () => {
    const h = paging32();
    wd(h, 0x20000 + 4 * 3, 0x400000 | 0x200000 | 0x87); // linear 0xC00000
    check32(h, access32(h, 'r', 0xc00010), 'r', 0xc00010, P | RSVD, '4 MiB page, bit 21');
  });
});

// ------------------------------------------------------------------------------ A/D flags
describe('accessed and dirty flags (SDM Vol. 3A 4.8)', () => {
  const ad = (v: bigint) => v & (E_A | E_D);
  it('4-level: an instruction fetch sets A in every entry used but never D', () => {
    const h = fourLevel();
    expect(access64(h, 'x', T + 0x5000)).toBe(-1);
    expect([ad(q(h, 0x1008)), ad(q(h, PDPT)), ad(q(h, PD)), ad(q(h, PT + 5 * 8))]).toEqual([E_A, E_A, E_A, E_A]);
  });
  it('4-level: a write that faults for lack of write permission sets no D; a read of the same page then sets A only', () => {
    const h = fourLevel();
    expect(access64(h, 'w', T + 0x1000)).toBe(V.PF);
    expect(q(h, PT + 8) & E_D).toBe(0n);
    expect(access64(h, 'r', T + 0x1000)).toBe(-1);
    expect(ad(q(h, PT + 8))).toBe(E_A);
  });
  it('4-level: delivering an exception onto a stack page sets A and D in its PTE (implicit supervisor write)', () => {
    const h = fourLevel();
    h.setReg(RSP, BigInt(T + 0x6000)); // page 5 (user RW): accessible to the supervisor
    expect(runToHandler(h, [0x0f, 0x0b])).toBe(V.UD);
    expect(rsp(h)).toBe(T + 0x6000 - 40);
    expect(ad(q(h, PT + 5 * 8))).toBe(E_A | E_D);
  });
  it('PAE: A and D are set in the PDE and PTE; the PDPTE (bits 8:5 reserved in PAE paging) is never written', () => {
    const h = pae();
    const before = q(h, 0x20000);
    expect(access32(h, 'w', L32 + 0x5008)).toBe(-1);
    expect(ad(q(h, 0x21000 + 32))).toBe(E_A);
    expect(ad(q(h, 0x22000 + 5 * 8))).toBe(E_A | E_D);
    expect(q(h, 0x20000)).toBe(before);
    expect(access32(h, 'x', L32 + 0x1000)).toBe(-1);
    expect(ad(q(h, 0x22000 + 8))).toBe(E_A); // fetch: A only
  });
  it('32-bit paging: read of a 4-MiB page sets A in the PDE; a write sets D; a write through a PTE sets D in the PTE and only A in the PDE', () => {
    const h = paging32();
    wd(h, 0x20000 + 4 * 3, 0x400000 | 0x87);
    expect(access32(h, 'r', 0xc00000)).toBe(-1);
    expect(d(h, 0x2000c) & 0x60).toBe(0x20);
    expect(access32(h, 'w', 0xc00000)).toBe(-1);
    expect(d(h, 0x2000c) & 0x60).toBe(0x60);
    expect(access32(h, 'w', L32 + 0x3000)).toBe(-1);
    expect(d(h, 0x22000 + 12) & 0x60).toBe(0x60);
    expect(d(h, 0x20008) & 0x60).toBe(0x20);
  });
});

// ------------------------------------------------------------------------------ features behind the checks
describe('the paging features CPUID reports are the ones enforced (SDM Vol. 2A CPUID; Vol. 3A 4.1.4)', () => {
  it('NX (CPUID.80000001H:EDX[20]) → IA32_EFER.NXE is writable and XD takes effect; SMEP (CPUID.(7,0):EBX[7]) → CR4.SMEP is writable', () => {
    const h = long64();
    expect((cpuid(h, 0x80000001)[3] >>> 20) & 1).toBe(1);
    expect((cpuid(h, 7)[1] >>> 7) & 1).toBe(1);
    h.setReg(RAX, BigInt(h.cpu.cr4 | CR4_SMEP));
    expect(exec1(h, [0x0f, 0x22, 0xe0]).vec).toBe(-1); // mov cr4, rax
    expect(h.cpu.cr4 & CR4_SMEP).toBe(CR4_SMEP);
  });
  it('1-GByte pages (CPUID.80000001H:EDX[26]) → a PDPTE with PS = 1 maps 1 GiB instead of being a reserved-bit fault', () => {
    const h = fourLevel();
    expect((cpuid(h, 0x80000001)[3] >>> 26) & 1).toBe(1);
    wq(h, PDPT + 8, E_P | E_RW | E_PS); // T + 1 GiB → physical 0
    h.mem.view.setBigUint64(0x300100, 0x1badn, true);
    expect(access64(h, 'r', T + 2 ** 30 + 0x300100)).toBe(-1);
    expect(h.reg(RAX)).toBe(0x1badn);
  });
});
