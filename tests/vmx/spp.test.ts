// Sub-page write permissions (SDM Vol. 3C 29.3.4; reference: /work/shared/reference/vmx-ept-spp.md):
// a write to a 4 KiB page whose EPT leaf has bit 61 set and R=1, W=0 is decided by the SPP vector of
// the page (bit 2i = 128-byte sub-page i writable); a denied sub-page is an EPT violation (48), a
// missing SPP-table entry an SPP miss (66, qualification bit 11 = 1), a reserved bit an SPP
// misconfiguration (66, bit 11 = 0). The processor may cache vectors with EPT translations; INVEPT
// drops them. Caching is checked through the Vmx statistic `sppWalks` (emulator/vmx/state.ts).
import { describe, it, expect } from 'vitest';
import {
  eptGuest, gcode, guestPte, sppVector, incMem64, repStosq, repMovsb, type EptGuest, DATA_PAGE, SPP_ALL,
  R, X, RWX, EPT_SPP, P2_SPP, Q_WRITE, Q_R, Q_X, Q_LIN, Q_FINAL, GP_P, GP_US, GP_A, GP_D, GP_RW,
} from './ept-tables.ts';
import { F, GUEST_CODE } from './vmx-harness.ts';
import { RAX, RBX, RCX, RDX, RSI, RDI } from './asm.ts';

const SPP_PAGE = DATA_PAGE + 0x4000;
const SRC = DATA_PAGE + 0x8000;
const MISS = 1 << 11;
/** Denied-by-SPP write: an EPT violation with the rights of the leaf (R, X), bits 7 and 8 (Table 28-7). */
const Q_SPP_DENIED = Q_WRITE | Q_R | Q_X | Q_LIN | Q_FINAL;
const PATTERN = 0x5a5a5a5a5a5a5a5an;

/** A guest with SPP on and SPP_PAGE as an SPP page (EPT R+X, bit 61) with the given vector. */
function sppGuest(vector: bigint | null, o: { ad?: boolean } = {}): EptGuest {
  const g = eptGuest({ more2: P2_SPP, ad: o.ad });
  g.ept.map4k(SPP_PAGE, SPP_PAGE, R | X, EPT_SPP);
  if (vector !== null) g.spp.setVector(SPP_PAGE, vector);
  return g;
}
const walks = (g: EptGuest): number => g.vmx.sppWalks;
const q9 = (g: EptGuest): number => g.read(F.EXIT_QUALIFICATION) & 0x1ff;
/** Guest: store PATTERN (RCX) to [addr], then VMCALL; the store is at GUEST_CODE + 20. */
const storeAt = (addr: number) => gcode().movImm(RCX, PATTERN).movImm(RBX, addr).store(RBX, 0, RCX).vmcall();

describe('SPP decisions', () => {
  it('a write to an allowed sub-page succeeds without an exit; one SPP walk', () => {
    const g = sppGuest(sppVector([0, 2, 3, 31]));
    expect(g.run(storeAt(SPP_PAGE + 0x108)).basicReason).toBe(18);
    expect(g.u64(SPP_PAGE + 0x108)).toBe(PATTERN);
    expect(g.u64(SPP_PAGE + 0xff8)).toBe(0n);
    expect(walks(g)).toBe(1);
  });

  it('a write to a denied sub-page: exit 48, bit 1, exact guest-physical and guest-linear addresses, memory unchanged', () => {
    const g = sppGuest(sppVector([0, 2, 3, 31]));
    // Guest linear 0x305000 → GPA SPP_PAGE (0x304000), so the two addresses differ.
    g.mem.view.setUint32(guestPte(0x305000), SPP_PAGE | GP_P | GP_RW | GP_US | GP_A | GP_D, true);
    const x = g.run(storeAt(0x305000 + 0x4a8)); // sub-page 9
    expect(x.basicReason).toBe(48);
    expect(q9(g)).toBe(Q_SPP_DENIED);
    expect(g.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(SPP_PAGE + 0x4a8);
    expect(g.read(F.GUEST_LINEAR_ADDRESS)).toBe(0x3054a8);
    expect(g.read(F.GUEST_RIP)).toBe(GUEST_CODE + 20);
    expect(g.u64(SPP_PAGE + 0x4a8)).toBe(0n);
  });

  it('an 8-byte write straddling an allowed and a denied sub-page exits; neither half is written', () => {
    const g = sppGuest(sppVector([0, 2, 3, 31]));
    g.mem.view.setBigUint64(SPP_PAGE + 0x78, 0x1111111111111111n, true);
    g.mem.view.setBigUint64(SPP_PAGE + 0x80, 0x2222222222222222n, true);
    expect(g.run(storeAt(SPP_PAGE + 0x7c)).basicReason).toBe(48);
    expect(q9(g)).toBe(Q_SPP_DENIED);
    expect(g.u64(SPP_PAGE + 0x78)).toBe(0x1111111111111111n);
    expect(g.u64(SPP_PAGE + 0x80)).toBe(0x2222222222222222n);
  });

  it('…and the same straddling write denied from a cached vector (after a write filled the TLB)', () => {
    const g = sppGuest(sppVector([0, 2, 3, 31]));
    const code = gcode().movImm(RCX, PATTERN).movImm(RBX, SPP_PAGE).store(RBX, 0, RCX).store(RBX, 0x7c, RCX).vmcall();
    expect(g.run(code).basicReason).toBe(48);
    expect(g.u64(SPP_PAGE)).toBe(PATTERN);
    expect(g.u64(SPP_PAGE + 0x80)).toBe(0n);
    expect(g.u64(SPP_PAGE + 0x78) & 0xffffffffn).toBe(0n);
    expect(walks(g)).toBe(1);
  });

  it('a write crossing from an ordinary page into a denied first sub-page of an SPP page exits; nothing is written', () => {
    const g = sppGuest(sppVector([1]));
    expect(g.run(storeAt(SPP_PAGE - 4)).basicReason).toBe(48);
    expect(q9(g)).toBe(Q_SPP_DENIED);
    expect(g.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(SPP_PAGE);
    expect(g.mem.view.getUint32(SPP_PAGE - 4, true)).toBe(0);
    expect(g.mem.view.getUint32(SPP_PAGE, true)).toBe(0);
  });

  it('a write straddling two allowed sub-pages succeeds', () => {
    const g = sppGuest(sppVector([0, 2, 3, 31]));
    expect(g.run(storeAt(SPP_PAGE + 0x17c)).basicReason).toBe(18);
    expect(g.mem.view.getBigUint64(SPP_PAGE + 0x17c, true)).toBe(PATTERN);
  });

  it('a read-modify-write (INC m64) obeys the vector', () => {
    const g = sppGuest(sppVector([0]));
    g.mem.view.setBigUint64(SPP_PAGE + 0x10, 41n, true);
    g.mem.view.setBigUint64(SPP_PAGE + 0x90, 41n, true);
    const code = incMem64(gcode().movImm(RBX, SPP_PAGE + 0x10), RBX);
    incMem64(code.movImm(RBX, SPP_PAGE + 0x90), RBX).vmcall();
    expect(g.run(code).basicReason).toBe(48);
    expect(g.u64(SPP_PAGE + 0x10)).toBe(42n);
    expect(g.u64(SPP_PAGE + 0x90)).toBe(41n);
    expect(g.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(SPP_PAGE + 0x90);
    expect(g.read(F.GUEST_RIP)).toBe(GUEST_CODE + 13 + 10);
  });

  it('SPP does not apply when the accumulated W is 1: a writable page with bit 61 writes freely, no walk', () => {
    const g = eptGuest({ more2: P2_SPP });
    g.ept.map4k(SPP_PAGE, SPP_PAGE, RWX, EPT_SPP); // no SPP table entry exists at all
    expect(g.run(storeAt(SPP_PAGE + 0x80)).basicReason).toBe(18);
    expect(g.u64(SPP_PAGE + 0x80)).toBe(PATTERN);
    expect(walks(g)).toBe(0);
  });

  it('SPP does not apply to a 2 MiB leaf: bit 61 with W=0 is a plain EPT violation, no walk', () => {
    const g = eptGuest({ more2: P2_SPP });
    g.ept.map2m(0x200000, 0x200000, R | X, EPT_SPP);
    g.spp.setVector(SPP_PAGE, SPP_ALL); // would allow the write if SPP applied
    expect(g.run(storeAt(SPP_PAGE)).basicReason).toBe(48);
    expect(q9(g)).toBe(Q_SPP_DENIED);
    expect(g.u64(SPP_PAGE)).toBe(0n);
    expect(walks(g)).toBe(0);
  });

  it('SPP does not apply without "sub-page write permissions" (bit 61 alone is ignored)', () => {
    const g = eptGuest();
    g.ept.map4k(SPP_PAGE, SPP_PAGE, R | X, EPT_SPP);
    expect(g.run(storeAt(SPP_PAGE)).basicReason).toBe(48);
    expect(walks(g)).toBe(0);
  });

  it('a read of an SPP page is an ordinary read (no walk)', () => {
    const g = sppGuest(null);
    g.mem.view.setBigUint64(SPP_PAGE + 0x88, 9n, true);
    expect(g.run(gcode().movImm(RBX, SPP_PAGE + 0x88).load(RAX, RBX, 0).vmcall()).basicReason).toBe(18);
    expect(g.h.reg(RAX)).toBe(9n);
    expect(walks(g)).toBe(0);
  });
});

describe('SPP-related exits (66)', () => {
  it('a missing SPP level: exit 66 with qualification bit 11 set, guest-physical and guest-linear addresses', () => {
    const g = sppGuest(null); // SPP root empty: the level-4 entry is not present
    expect(g.run(storeAt(SPP_PAGE + 0x234)).basicReason).toBe(66);
    expect(g.read(F.EXIT_REASON)).toBe(66);
    expect(g.read(F.EXIT_QUALIFICATION) & MISS).toBe(MISS);
    expect(g.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(SPP_PAGE + 0x234);
    expect(g.read(F.GUEST_LINEAR_ADDRESS)).toBe(SPP_PAGE + 0x234);
    expect(g.u64(SPP_PAGE + 0x234)).toBe(0n);
    // A missing level 2 entry (levels 4 and 3 present) is a miss too.
    const k = sppGuest(SPP_ALL);
    k.spp.set(SPP_PAGE, 2, 0n);
    expect(k.run(storeAt(SPP_PAGE)).basicReason).toBe(66);
    expect(k.read(F.EXIT_QUALIFICATION) & MISS).toBe(MISS);
  });

  it('an odd bit set in the vector: exit 66 with bit 11 clear (misconfiguration), even for an allowed sub-page', () => {
    for (const odd of [1n << 1n, 1n << 63n, 1n << 33n]) {
      const g = sppGuest(SPP_ALL | odd);
      expect(g.run(storeAt(SPP_PAGE)).basicReason).toBe(66);
      expect(g.read(F.EXIT_QUALIFICATION) & MISS).toBe(0);
      expect(g.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(SPP_PAGE);
      expect(g.u64(SPP_PAGE)).toBe(0n);
    }
  });

  it('a reserved bit in a non-leaf SPP entry (bits 11:1, 51:40, 63:52): exit 66 with bit 11 clear', () => {
    for (const [level, bit] of [[4, 1n], [3, 5n], [2, 11n], [3, 45n], [4, 63n]] as const) {
      const g = sppGuest(SPP_ALL);
      g.spp.set(SPP_PAGE, level, g.spp.get(SPP_PAGE, level) | (1n << bit));
      expect(g.run(storeAt(SPP_PAGE)).basicReason).toBe(66);
      expect(g.read(F.EXIT_QUALIFICATION) & MISS).toBe(0);
    }
  });
});

describe('string instructions across sub-pages', () => {
  it('rep stosq from an allowed into a denied sub-page exits 48 at the first denied element; grant + INVEPT completes it', () => {
    const g = sppGuest(sppVector([0]));
    g.h.setReg(RAX, 0x0102030405060708n);
    g.h.setReg(RDI, BigInt(SPP_PAGE));
    g.h.setReg(RCX, 32n);
    const code = repStosq(gcode()).vmcall();
    expect(g.run(code).basicReason).toBe(48);
    expect(q9(g)).toBe(Q_SPP_DENIED);
    expect(g.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(SPP_PAGE + 0x80);
    expect(g.read(F.GUEST_RIP)).toBe(GUEST_CODE);
    expect(g.h.reg(RCX)).toBe(16n);
    expect(g.h.reg(RDI)).toBe(BigInt(SPP_PAGE + 0x80));
    for (let k = 0; k < 16; k++) expect(g.u64(SPP_PAGE + 8 * k)).toBe(0x0102030405060708n);
    for (let k = 16; k < 32; k++) expect(g.u64(SPP_PAGE + 8 * k)).toBe(0n);
    g.spp.setVector(SPP_PAGE, sppVector([0, 1]));
    g.invept(1);
    expect(g.resume().basicReason).toBe(18);
    expect(g.h.reg(RCX)).toBe(0n);
    expect(g.h.reg(RDI)).toBe(BigInt(SPP_PAGE + 0x100));
    for (let k = 0; k < 32; k++) expect(g.u64(SPP_PAGE + 8 * k)).toBe(0x0102030405060708n);
    expect(g.u64(SPP_PAGE + 0x100)).toBe(0n);
  });

  it('rep movsb crossing into a denied sub-page exits 48 with RSI/RDI/RCX at the first denied byte; grant + INVEPT completes it', () => {
    const g = sppGuest(sppVector([0, 2]));
    for (let k = 0; k < 0x40; k++) g.mem.u8[SRC + k] = 0x80 + k;
    g.h.setReg(RSI, BigInt(SRC));
    g.h.setReg(RDI, BigInt(SPP_PAGE + 0x70));
    g.h.setReg(RCX, 0x20n);
    expect(g.run(repMovsb(gcode()).vmcall()).basicReason).toBe(48);
    expect(q9(g)).toBe(Q_SPP_DENIED);
    expect(g.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(SPP_PAGE + 0x80);
    expect(g.read(F.GUEST_RIP)).toBe(GUEST_CODE);
    expect(g.h.reg(RCX)).toBe(0x10n);
    expect(g.h.reg(RDI)).toBe(BigInt(SPP_PAGE + 0x80));
    expect(g.h.reg(RSI)).toBe(BigInt(SRC + 0x10));
    for (let k = 0; k < 0x10; k++) expect(g.mem.u8[SPP_PAGE + 0x70 + k]).toBe(0x80 + k);
    for (let k = 0x10; k < 0x20; k++) expect(g.mem.u8[SPP_PAGE + 0x70 + k]).toBe(0);
    g.spp.setVector(SPP_PAGE, sppVector([0, 1, 2]));
    g.invept(2);
    expect(g.resume().basicReason).toBe(18);
    expect(g.h.reg(RCX)).toBe(0n);
    for (let k = 0; k < 0x20; k++) expect(g.mem.u8[SPP_PAGE + 0x70 + k]).toBe(0x80 + k);
    expect(g.mem.u8[SPP_PAGE + 0x90]).toBe(0);
  });
});

describe('SPP vectors cached with the translation', () => {
  it('one walk for the first write, none for 100 more; a denied sub-page of the cached page still exits 48 without walking', () => {
    const g = sppGuest(sppVector([0, 3]));
    const code = gcode().movImm(RCX, PATTERN).movImm(RBX, SPP_PAGE).movImm(RDX, SPP_PAGE + 0x180);
    code.store(RBX, 0, RCX); // first write: walks
    for (let k = 0; k < 100; k++) code.store(k % 2 ? RDX : RBX, (k % 16) * 8, RCX);
    code.movImm(RSI, SPP_PAGE + 0x80);
    const denied = code.here;
    code.store(RSI, 0x40, RCX); // sub-page 1: denied (the Bochs 2.7 bug let this through)
    code.vmcall();
    expect(g.run(code).basicReason).toBe(48);
    expect(walks(g)).toBe(1);
    expect(q9(g)).toBe(Q_SPP_DENIED);
    expect(g.read(F.GUEST_RIP)).toBe(denied);
    expect(g.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(SPP_PAGE + 0xc0);
    expect(g.u64(SPP_PAGE + 0xc0)).toBe(0n);
    expect(g.u64(SPP_PAGE + 0x70)).toBe(PATTERN); // the last RBX store (k = 14 → +0x70)
    expect(g.u64(SPP_PAGE + 0x1f8)).toBe(PATTERN); // RDX + 0x78 (k = 15)
  });

  it('INVEPT drops the cached vector: a sub-page denied after INVEPT exits (and is walked again); granting it lets the write through', () => {
    const g = sppGuest(sppVector([0, 1]));
    const code = gcode().movImm(RCX, PATTERN).movImm(RBX, SPP_PAGE).store(RBX, 0, RCX).store(RBX, 8, RCX).vmcall();
    const second = code.here;
    code.movImm(RCX, 0x77).store(RBX, 0x10, RCX).vmcall();
    expect(g.run(code).basicReason).toBe(18);
    expect(walks(g)).toBe(1);
    g.write(F.GUEST_RIP, second);
    g.spp.setVector(SPP_PAGE, sppVector([1]));
    g.invept(1);
    expect(g.resume().basicReason).toBe(48);
    expect(walks(g)).toBe(2);
    expect(g.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(SPP_PAGE + 0x10);
    expect(g.u64(SPP_PAGE + 0x10)).toBe(0n);
    g.spp.setVector(SPP_PAGE, sppVector([0]));
    g.invept(2);
    expect(g.resume().basicReason).toBe(18);
    expect(g.u64(SPP_PAGE + 0x10)).toBe(0x77n);
    expect(walks(g)).toBe(3);
  });

  it('the cached vector is per page: another SPP page walks its own vector', () => {
    const g = sppGuest(sppVector([0]));
    const other = SPP_PAGE + 0x1000;
    g.ept.map4k(other, other, R | X, EPT_SPP);
    g.spp.setVector(other, sppVector([1]));
    const code = gcode().movImm(RCX, 1).movImm(RBX, SPP_PAGE).store(RBX, 0, RCX).movImm(RBX, other).store(RBX, 0, RCX).vmcall();
    expect(g.run(code).basicReason).toBe(48);
    expect(walks(g)).toBe(2);
    expect(g.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(other);
  });
});

describe('SPP and the guest\'s own paging', () => {
  /** Guest state for CPL 3: 64-bit user code (selector 2BH, DPL 3) and stack (23H). */
  function toUser(g: EptGuest): void {
    g.write(F.GUEST_CS_SEL, 0x2b); g.write(F.GUEST_CS_AR, 0xa0fb);
    g.write(F.GUEST_SS_SEL, 0x23); g.write(F.GUEST_SS_AR, 0xc0f3);
    g.write(F.EXCEPTION_BITMAP, 1 << 14);
  }

  it('CPL 3 write to a guest-read-only page that is an SPP page: guest #PF (exit 0, vector 14, error code P|W|U), no SPP walk', () => {
    const g = sppGuest(SPP_ALL);
    toUser(g);
    g.mem.view.setUint32(guestPte(SPP_PAGE), SPP_PAGE | GP_P | GP_US | GP_A | GP_D, true); // R/W = 0
    const x = g.run(storeAt(SPP_PAGE + 0x40));
    expect(x.basicReason).toBe(0);
    expect(g.read(F.EXIT_INTR_INFO)).toBe(0x80000b0e); // valid, hardware exception, error code, vector 14
    expect(g.read(F.EXIT_INTR_ERROR)).toBe(7);
    expect(g.read(F.EXIT_QUALIFICATION)).toBe(SPP_PAGE + 0x40); // the #PF linear address (CR2)
    expect(walks(g)).toBe(0);
    expect(g.u64(SPP_PAGE + 0x40)).toBe(0n);
  });

  it('CPL 0 with CR0.WP = 0: a write to a guest-read-only SPP page is allowed by paging, so SPP decides it', () => {
    const g = sppGuest(SPP_ALL);
    g.write(F.EXCEPTION_BITMAP, 1 << 14);
    // CR0.WP = 0: a supervisor write to a read-only guest page is allowed by paging, so SPP decides it.
    g.write(F.GUEST_CR0, 0x80000021);
    g.mem.view.setUint32(guestPte(SPP_PAGE), SPP_PAGE | GP_P | GP_US | GP_A | GP_D, true);
    expect(g.run(storeAt(SPP_PAGE + 0x40)).basicReason).toBe(18);
    expect(g.u64(SPP_PAGE + 0x40)).toBe(PATTERN);
    expect(walks(g)).toBe(1);
  });

  it('CPL 3 writes with a writable guest PTE: allowed sub-page written, denied one exits 48', () => {
    const g = sppGuest(sppVector([0]));
    toUser(g);
    const code = gcode().movImm(RCX, PATTERN).movImm(RBX, SPP_PAGE).store(RBX, 0, RCX).store(RBX, 0x48, RCX).movImm(RBX, SPP_PAGE + 0x80).store(RBX, 0, RCX).vmcall();
    expect(g.run(code).basicReason).toBe(48);
    expect(g.u64(SPP_PAGE)).toBe(PATTERN);
    expect(g.u64(SPP_PAGE + 0x48)).toBe(PATTERN);
    expect(g.u64(SPP_PAGE + 0x80)).toBe(0n);
    expect(g.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(SPP_PAGE + 0x80);
    expect(walks(g)).toBe(1);
  });
});
