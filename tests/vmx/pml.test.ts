// Page-modification logging (SDM Vol. 3C 29.3.6; reference: /work/shared/reference/vmx-ept-spp.md):
// with EPT A/D (EPTP bit 6) and "enable PML" (secondary bit 17), each 0 → 1 transition of an EPT
// dirty flag writes the 4 KiB-aligned guest-physical address at PML address + 8 × index and
// decrements the 16-bit guest PML index (0812H); with the index outside 0-511 a needed A/D update
// is a "page-modification log full" VM exit (62) before the access, leaving the flag clear.
import { describe, it, expect } from 'vitest';
import { eptGuest, gcode, type EptGuest, DATA_PAGE, GUEST_PT, GUEST_PT_PT, PML_LOG, P2_PML, P2_SPP, EPT_A, EPT_D, EPT_SPP, R, X, RWX } from './ept-tables.ts';
import { F, GUEST_CODE } from './vmx-harness.ts';
import { RAX, RBX, RCX } from './asm.ts';

function pmlGuest(clean: number[] = []): EptGuest {
  const g = eptGuest({ ad: true, more2: P2_PML });
  // Everything already accessed and dirty (no logging from code, stack or guest tables) except `clean`.
  g.ept.markAccessedDirty();
  for (const p of clean) g.ept.cleanPage(p);
  return g;
}
const log = (g: EptGuest, i: number): bigint => g.u64(PML_LOG + 8 * i);
const index = (g: EptGuest): number => g.read(F.GUEST_PML_INDEX);
const page = (k: number): number => DATA_PAGE + k * 0x1000;

describe('page-modification logging', () => {
  it('writes to N distinct clean pages log their 4 KiB-aligned GPAs from entry 511 down; the index drops by N', () => {
    const order = [3, 0, 7, 1, 5];
    const g = pmlGuest(order.map(page));
    const code = gcode().movImm(RCX, 0x1234);
    // Unaligned offsets: the log holds bits 11:0 = 0.
    for (const k of order) code.movImm(RBX, page(k) + 0x10 * k + 8).store(RBX, 0, RCX);
    expect(g.run(code.vmcall()).basicReason).toBe(18);
    order.forEach((k, j) => expect(log(g, 511 - j)).toBe(BigInt(page(k))));
    expect(index(g)).toBe(511 - order.length);
    expect(log(g, 511 - order.length)).toBe(0n);
    for (const k of order) expect(g.ept.lo(page(k), 1) & EPT_D).toBe(EPT_D);
    expect(g.vmx.pmlLogged).toBe(order.length);
  });

  it('a second write to a logged page does not log again (D already set); reads log nothing', () => {
    const g = pmlGuest([page(0), page(1), page(2)]);
    const code = gcode().movImm(RCX, 7).movImm(RBX, page(0)).store(RBX, 0, RCX).store(RBX, 0x40, RCX)
      .movImm(RBX, page(1)).load(RAX, RBX, 0).load(RAX, RBX, 8) // reads of a clean page
      .movImm(RBX, page(0) + 0x800).store(RBX, 0, RCX) // the logged page again
      .movImm(RBX, page(2)).store(RBX, 0, RCX).vmcall();
    expect(g.run(code).basicReason).toBe(18);
    expect(log(g, 511)).toBe(BigInt(page(0)));
    expect(log(g, 510)).toBe(BigInt(page(2)));
    expect(index(g)).toBe(509);
    expect(g.ept.lo(page(1), 1) & (EPT_A | EPT_D)).toBe(EPT_A);
    // A later run writing page 0 again still logs nothing (D stays set across entries).
    g.write(F.GUEST_RIP, GUEST_CODE);
    expect(g.resume().basicReason).toBe(18);
    expect(index(g)).toBe(509); // pages 0 and 2 are dirty already, page 1 was only read
  });

  it('a write crossing a page boundary logs both clean pages', () => {
    const g = pmlGuest([page(10), page(11)]);
    const code = gcode().movImm(RCX, -1).movImm(RBX, page(11) - 4).store(RBX, 0, RCX).vmcall();
    expect(g.run(code).basicReason).toBe(18);
    expect([Number(log(g, 511)), Number(log(g, 510))].sort((a, b) => a - b)).toEqual([page(10), page(11)]);
    expect(index(g)).toBe(509);
  });

  it('a write through a 2 MiB leaf logs the 4 KiB-aligned GPA of the access', () => {
    const g = eptGuest({ ad: true, more2: P2_PML });
    g.ept.map2m(0x200000, 0x600000, RWX);
    g.ept.markAccessedDirty();
    g.ept.set(0x200000, 2, g.ept.get(0x200000, 2) & ~BigInt(EPT_D));
    const code = gcode().movImm(RCX, 1).movImm(RBX, 0x2f1238).store(RBX, 0, RCX).vmcall();
    expect(g.run(code).basicReason).toBe(18);
    expect(log(g, 511)).toBe(0x2f1000n);
    expect(index(g)).toBe(510);
  });

  it('guest paging-structure pages are logged (their accesses are EPT writes with A/D on)', () => {
    const g = eptGuest({ ad: true, more2: P2_PML });
    g.ept.markAccessedDirty();
    const tables = [GUEST_PT, GUEST_PT + 0x1000, GUEST_PT + 0x2000, GUEST_PT_PT];
    for (const t of tables) g.ept.cleanPage(t);
    g.ept.cleanPage(DATA_PAGE);
    expect(g.run(gcode().movImm(RBX, DATA_PAGE).load(RAX, RBX, 0).vmcall()).basicReason).toBe(18);
    const logged = [511, 510, 509, 508].map((i) => Number(log(g, i))).sort((a, b) => a - b);
    expect(logged).toEqual(tables);
    expect(index(g)).toBe(507); // the data read logged nothing
  });

  it('a page first read, then written in the same run, is logged at the write', () => {
    const g = pmlGuest([page(6)]);
    const code = gcode().movImm(RBX, page(6)).load(RAX, RBX, 0).load(RAX, RBX, 0x20).vmcall().store(RBX, 0x28, RAX).vmcall();
    expect(g.run(code).basicReason).toBe(18);
    expect(index(g)).toBe(511);
    g.write(F.GUEST_RIP, g.read(F.GUEST_RIP) + 3);
    expect(g.resume().basicReason).toBe(18);
    expect(log(g, 511)).toBe(BigInt(page(6)));
    expect(index(g)).toBe(510);
    // D is now set (A was already set by the reads): writing the page again in a new run logs nothing.
    expect(g.ept.lo(page(6), 1) & (EPT_A | EPT_D)).toBe(EPT_A | EPT_D);
    g.write(F.GUEST_RIP, g.read(F.GUEST_RIP) - 4);
    expect(g.resume().basicReason).toBe(18);
    expect(index(g)).toBe(510);
    expect(log(g, 510)).toBe(0n);
  });

  it('with SPP: an allowed sub-page write to a clean SPP page is logged; a denied one exits 48 and logs nothing', () => {
    const g = eptGuest({ ad: true, more2: P2_PML | P2_SPP });
    g.ept.map4k(page(8), page(8), R | X, EPT_SPP);
    g.ept.markAccessedDirty();
    g.ept.cleanPage(page(8));
    g.spp.setVector(page(8), 1n); // sub-page 0 only
    const denied = gcode().movImm(RCX, 3).movImm(RBX, page(8) + 0x80).store(RBX, 0, RCX).vmcall();
    expect(g.run(denied).basicReason).toBe(48);
    expect(index(g)).toBe(511);
    expect(g.ept.lo(page(8), 1) & EPT_D).toBe(0);
    const allowed = gcode().movImm(RCX, 3).movImm(RBX, page(8) + 0x40).store(RBX, 0, RCX).vmcall();
    expect(g.run(allowed).basicReason).toBe(18);
    expect(g.u64(page(8) + 0x40)).toBe(3n);
    expect(log(g, 511)).toBe(BigInt(page(8)));
    expect(index(g)).toBe(510);
  });

  it('index 0: one write logs at entry 0 and the index becomes 0xFFFF; the next write to a clean page exits 62', () => {
    const g = pmlGuest([page(0), page(1)]);
    g.write(F.GUEST_PML_INDEX, 0);
    g.mem.view.setBigUint64(page(1) + 0x18, 0xdeadn, true);
    // store to page 0 at GUEST_CODE + 20, store to page 1 at GUEST_CODE + 34.
    const code = gcode().movImm(RCX, 0x77).movImm(RBX, page(0)).store(RBX, 0, RCX).movImm(RBX, page(1) + 0x18).store(RBX, 0, RCX).vmcall();
    const x = g.run(code);
    expect(x.basicReason).toBe(62);
    expect(g.read(F.EXIT_REASON)).toBe(62);
    expect(g.read(F.EXIT_QUALIFICATION)).toBe(0); // no NMI unblocking (bit 12)
    expect(log(g, 0)).toBe(BigInt(page(0)));
    expect(index(g)).toBe(0xffff);
    expect(g.u64(page(0))).toBe(0x77n);
    // The write that needed logging did not happen and its dirty flag stays clear.
    expect(g.u64(page(1) + 0x18)).toBe(0xdeadn);
    expect(g.ept.lo(page(1), 1) & EPT_D).toBe(0);
    expect(g.read(F.GUEST_RIP)).toBe(GUEST_CODE + 34);
    // The hypervisor drains the log and resets the index: the write completes and is logged.
    g.write(F.GUEST_PML_INDEX, 511);
    expect(g.resume().basicReason).toBe(18);
    expect(g.u64(page(1) + 0x18)).toBe(0x77n);
    expect(log(g, 511)).toBe(BigInt(page(1)));
    expect(index(g)).toBe(510);
    expect(g.ept.lo(page(1), 1) & EPT_D).toBe(EPT_D);
  });

  it('with the log full, writes to pages already dirty proceed without exiting', () => {
    const g = pmlGuest();
    g.write(F.GUEST_PML_INDEX, 0xffff);
    const code = gcode().movImm(RCX, 5).movImm(RBX, page(2)).store(RBX, 0, RCX).vmcall();
    expect(g.run(code).basicReason).toBe(18);
    expect(g.u64(page(2))).toBe(5n);
    expect(index(g)).toBe(0xffff);
  });

  it('SDM 29.3.6: with the log full, an access that needs to set an EPT accessed flag also exits 62 and the flag stays clear', () => {
    // "Before allowing a guest-physical access, the processor may determine that it first needs to
    // set an accessed or dirty flag for EPT … If the PML index is not in the range 0-511, there is a
    // page-modification log-full event and a VM exit occurs. In this case, the accessed or dirty flag
    // is not set, and the guest-physical access that triggered the event does not occur."
    const g = pmlGuest([page(4)]);
    g.write(F.GUEST_PML_INDEX, 0xffff);
    const x = g.run(gcode().movImm(RBX, page(4)).load(RAX, RBX, 0).vmcall());
    expect(x.basicReason).toBe(62);
    expect(g.ept.lo(page(4), 1) & EPT_A).toBe(0);
    expect(g.read(F.GUEST_RIP)).toBe(GUEST_CODE + 10);
  });
});
