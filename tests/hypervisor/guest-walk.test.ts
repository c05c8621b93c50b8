// guestWalk: the guest's own page tables, built by hand in a sparse fake guest memory. Every expected
// GPA below is worked out by hand from the entries written (SDM Vol. 3A 4.3-4.5 address formation).
import { describe, it, expect } from 'vitest';
import { guestWalk, type GuestPagingState, type GuestRead } from '../../emulator/hypervisor/guest-walk.ts';

/** Sparse guest-physical memory: 4 KiB pages created on first write; reads of absent pages are null. */
class FakeGuest {
  private pages = new Map<number, DataView>();
  private page(gpa: number): DataView {
    const n = Math.floor(gpa / 4096);
    let p = this.pages.get(n);
    if (p === undefined) { p = new DataView(new Uint8Array(4096).buffer); this.pages.set(n, p); }
    return p;
  }
  w32(gpa: number, v: number): void { this.page(gpa).setUint32(gpa % 4096, v >>> 0, true); }
  w64(gpa: number, lo: number, hi: number): void { this.w32(gpa, lo); this.w32(gpa + 4, hi); }
  read: GuestRead = (gpa, size) => {
    const p = this.pages.get(Math.floor(gpa / 4096));
    if (p === undefined) return null;
    const o = gpa % 4096;
    return { lo: p.getUint32(o, true), hi: size === 8 ? p.getUint32(o + 4, true) : 0 };
  };
}

const PG = 0x80000000, PE = 1, PSE = 0x10, PAE = 0x20, LME = 0x100, LMA = 0x400;
const legacy32 = (cr3: number, cr4 = 0): GuestPagingState => ({ cr0: PG | PE, cr3, cr4, efer: 0 });
const pae = (cr3: number): GuestPagingState => ({ cr0: PG | PE, cr3, cr4: PAE, efer: 0 });
const long4 = (cr3: number): GuestPagingState => ({ cr0: PG | PE, cr3, cr4: PAE, efer: LME | LMA });
const gpas = (r: ReturnType<typeof guestWalk>) => r.levels.map((l) => [l.level, l.entryGpa]);

describe('paging disabled (SDM Vol. 3A 4.1.1)', () => {
  it('gives the linear address itself, truncated to 32 bits', () => {
    const m = new FakeGuest();
    const st = { cr0: PE, cr3: 0, cr4: 0, efer: 0 };
    expect(guestWalk(st, 0x12345678, m.read)).toEqual({ ok: true, gpa: 0x12345678, pageSize: 4096, levels: [] });
    expect(guestWalk(st, 0x100001234, m.read)).toMatchObject({ ok: true, gpa: 0x1234 });
  });
});

describe('32-bit paging (CR4.PAE = 0, SDM Vol. 3A 4.3)', () => {
  // lin 0x00C01ABC: PDE index 3, PTE index 1, offset 0xABC. CR3 bits 11:0 (PWT/PCD) are ignored.
  const m = new FakeGuest();
  m.w32(0x300c, 0x5000 | 7); // PDE 3 → page table at 0x5000
  m.w32(0x5004, 0x12345000 | 1); // PTE 1 → frame 0x12345000
  m.w32(0x3084, 0x8c000000 | (3 << 13) | 0x80 | 1); // PDE 0x21: 4 MiB page, PSE-36 bits 39:32 = 3
  m.w32(0x3ffc, 0x6000 | 1); // PDE 1023 → 0x6000
  m.w32(0x6ffc, 0xfffff000 | 1); // PTE 1023 → frame 0xFFFFF000

  it('maps a 4 KiB page through PDE and PTE', () => {
    const r = guestWalk(legacy32(0x3018), 0x00c01abc, m.read);
    expect(r).toMatchObject({ ok: true, gpa: 0x12345abc, pageSize: 4096 });
    expect(gpas(r)).toEqual([[2, 0x300c], [1, 0x5004]]);
    expect(r.levels[0].lo).toBe(0x5007);
  });
  it('maps the top of the address space (a negative linear address is taken modulo 2^32)', () => {
    expect(guestWalk(legacy32(0x3000), 0xfffff123, m.read)).toMatchObject({ ok: true, gpa: 0xfffff123 });
    expect(guestWalk(legacy32(0x3000), -0xedd, m.read)).toMatchObject({ ok: true, gpa: 0xfffff123 });
  });
  it('maps a 4 MiB page with CR4.PSE, PSE-36 high bits included', () => {
    // lin 0x08765432: PDE index 0x21, offset 0x365432 → 3 * 2^32 + 0x8C000000 + 0x365432.
    const r = guestWalk(legacy32(0x3000, PSE), 0x08765432, m.read);
    expect(r).toMatchObject({ ok: true, gpa: 0x38c365432, pageSize: 0x400000 });
    expect(gpas(r)).toEqual([[2, 0x3084]]);
  });
  it('treats PDE.PS as a page-table pointer without CR4.PSE', () => {
    // PDE bits 31:12 = 0x8C006000; PTE index 0x365 → entry at 0x8C006D94, not in guest RAM.
    const r = guestWalk(legacy32(0x3000), 0x08765432, m.read);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/level 1 .*0x8c006d94.*not guest RAM/);
  });
  it('reports a not-present PDE and a not-present PTE', () => {
    const r2 = guestWalk(legacy32(0x3000), 0x00400000, m.read); // PDE 1: zero
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.reason).toMatch(/level 2 \(PDE\) not present/);
    const r1 = guestWalk(legacy32(0x3000), 0x00c02000, m.read); // PDE 3, PTE 2: zero
    expect(r1.ok).toBe(false);
    if (!r1.ok) expect(r1.reason).toMatch(/level 1 \(PTE\) not present at 0x5008/);
    expect(gpas(r1)).toEqual([[2, 0x300c], [1, 0x5008]]);
  });
});

describe('PAE paging (CR4.PAE = 1, EFER.LMA = 0, SDM Vol. 3A 4.4)', () => {
  // CR3 0x7038 → PDPT at 0x7020 (bits 31:5). lin 0xC0403ABC: PDPTE 3, PDE 2, PTE 3, offset 0xABC.
  const m = new FakeGuest();
  m.w64(0x7038, 0x8000 | 1, 0); // PDPTE 3 → PD at 0x8000
  m.w64(0x8010, 0x9000 | 3, 0); // PDE 2 → PT at 0x9000
  m.w64(0x9018, 0xabcde000 | 1, 0x80000005); // PTE 3 → frame 0x5_ABCDE000 (XD set, ignored)
  m.w64(0x8018, 0x3fe00000 | 0x1000 | 0x83, 1); // PDE 3: 2 MiB page at 0x1_3FE00000 (PAT bit 12 set)
  m.w64(0x8020, 0xa000 | 1, 0); // PDE 4 → PT at 0xA000, whose entries are all zero
  m.w64(0xa000, 0, 0);

  it('maps a 4 KiB page (address bits 51:12 from the entry)', () => {
    const r = guestWalk(pae(0x7038), 0xc0403abc, m.read);
    expect(r).toMatchObject({ ok: true, gpa: 0x5abcdeabc, pageSize: 4096 });
    expect(gpas(r)).toEqual([[3, 0x7038], [2, 0x8010], [1, 0x9018]]);
    expect(r.levels[2]).toMatchObject({ lo: 0xabcde001, hi: 0x80000005 });
  });
  it('maps a 2 MiB page, ignoring bits 20:12 of the PDE', () => {
    // lin 0xC0612345: PDPTE 3, PDE 3, offset 0x12345 → 0x1_3FE00000 + 0x12345.
    const r = guestWalk(pae(0x7038), 0xc0612345, m.read);
    expect(r).toMatchObject({ ok: true, gpa: 0x13fe12345, pageSize: 0x200000 });
    expect(gpas(r)).toEqual([[3, 0x7038], [2, 0x8018]]);
  });
  it('reports a not-present PDPTE, PDE and PTE', () => {
    const cases: [number, RegExp][] = [
      [0x40000000, /level 3 \(PDPTE\) not present at 0x7028/], // PDPTE 1
      [0xc0a00000, /level 2 \(PDE\) not present at 0x8028/], // PDE 5
      [0xc0800000, /level 1 \(PTE\) not present at 0xa000/], // PDE 4, PTE 0
    ];
    for (const [lin, re] of cases) {
      const r = guestWalk(pae(0x7038), lin, m.read);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(re);
    }
  });
});

describe('4-level paging (EFER.LMA = 1, SDM Vol. 3A 4.5)', () => {
  const m = new FakeGuest();
  // Upper half: lin 0xFFFF8000_12345678 = -2^47 + 0x12345678. Indices: PML4 0x100, PDPT 0,
  // PD 0x91, PT 0x145, offset 0x678. CR3 0x2_00001005 (above 4 GiB; bits 11:0 ignored).
  m.w64(0x200001800, 0x2000 | 3, 0); // PML4E 0x100 → PDPT at 0x2000
  m.w64(0x2000, 0x3000 | 3, 1); // PDPTE 0 → PD at 0x1_00003000
  m.w64(0x100003488, 0x4000 | 3, 0); // PDE 0x91 → PT at 0x4000
  m.w64(0x4a28, 0xdeadb000 | 1, 0x80000000 | 0x7ff00000 | 0x12); // PTE 0x145 → frame 0x12_DEADB000 (XD, bits 62:52 ignored)
  // Lower half, CR3 0x10000. lin 0x40_20601234: PML4 0, PDPT 0x100, PD 0x103, offset 0x1234.
  m.w64(0x10000, 0x11000 | 7, 0); // PML4E 0 → PDPT at 0x11000
  m.w64(0x11800, 0x12000 | 3, 0); // PDPTE 0x100 → PD at 0x12000
  m.w64(0x12818, 0xc0200000 | 0x1000 | 0x83, 3); // PDE 0x103: 2 MiB page at 0x3_C0200000
  m.w64(0x12820, 0x14000 | 3, 0); // PDE 0x104 → PT at 0x14000 (empty)
  m.w64(0x14000, 0, 0);
  // lin 0xFFFFFFFF_C1234567 = -2^30 + 0x1234567: PML4 511, PDPT 511, offset 0x1234567.
  m.w64(0x10ff8, 0x13000 | 3, 0); // PML4E 511 → PDPT at 0x13000
  m.w64(0x13ff8, 0x40000000 | 0x2000 | 0x1000 | 0x83, 7); // PDPTE 511: 1 GiB page at 0x7_40000000

  it('maps a 4 KiB page in the upper half, with CR3 and tables above 4 GiB', () => {
    const r = guestWalk(long4(0x200001005), -0x800000000000 + 0x12345678, m.read);
    expect(r).toMatchObject({ ok: true, gpa: 0x12deadb678, pageSize: 4096 });
    expect(gpas(r)).toEqual([[4, 0x200001800], [3, 0x2000], [2, 0x100003488], [1, 0x4a28]]);
  });
  it('maps a 2 MiB page', () => {
    const r = guestWalk(long4(0x10000), 0x4020601234, m.read);
    expect(r).toMatchObject({ ok: true, gpa: 0x3c0201234, pageSize: 0x200000 });
    expect(gpas(r)).toEqual([[4, 0x10000], [3, 0x11800], [2, 0x12818]]);
  });
  it('maps a 1 GiB page, ignoring bits 29:12 of the PDPTE', () => {
    const r = guestWalk(long4(0x10000), -0x40000000 + 0x1234567, m.read);
    expect(r).toMatchObject({ ok: true, gpa: 0x741234567, pageSize: 0x40000000 });
    expect(gpas(r)).toEqual([[4, 0x10ff8], [3, 0x13ff8]]);
  });
  it('reports a not-present entry at each level', () => {
    const cases: [number, RegExp][] = [
      [0x8000000000, /level 4 \(PML4E\) not present at 0x10008/], // PML4 1
      [0x3fc0000000, /level 3 \(PDPTE\) not present at 0x117f8/], // PML4 0, PDPT 0xFF
      [0x4020a00000, /level 2 \(PDE\) not present at 0x12828/], // PDPT 0x100, PD 0x105
      [0x4020801000, /level 1 \(PTE\) not present at 0x14008/], // PD 0x104, PT 1
    ];
    for (const [lin, re] of cases) {
      const r = guestWalk(long4(0x10000), lin, m.read);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(re);
      expect(r.levels.length).toBe(5 - Number(/level (\d)/.exec(re.source)![1]));
    }
  });
  it('reports an entry outside guest RAM and a non-canonical address', () => {
    const r = guestWalk(long4(0x50000), 0x1000, m.read);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/level 4 \(PML4E\) at 0x50000 is not guest RAM/);
    expect(r.levels).toEqual([]);
    const n = guestWalk(long4(0x10000), 0x800000000000, m.read);
    expect(n.ok).toBe(false);
    if (!n.ok) expect(n.reason).toMatch(/canonical/);
  });
});
