// Guest-linear → guest-physical translation by walking the guest's own paging structures (SDM Vol. 3A
// chapter 4), as a VMM or debugger does: read-only (no A/D updates), no permission or reserved-bit
// checks, no TLB. Paging-structure entries are read through a callback in guest-physical space; EPT
// is not involved (the caller maps GPAs to its own memory). No BigInt: bits above 31 use arithmetic.

/** The guest's paging controls (CR3 may exceed 2^32 in IA-32e mode; a plain number). */
export interface GuestPagingState { cr0: number; cr3: number; cr4: number; efer: number; }

/**
 * Reads a paging-structure entry of `size` bytes at guest-physical `gpa` as two 32-bit halves (hi is
 * ignored for 4-byte entries and may be 0); null when `gpa` is not guest RAM.
 */
export type GuestRead = (gpa: number, size: 4 | 8) => { lo: number; hi: number } | null;

/** One paging-structure entry used by the walk: level 4 = PML4E … 1 = PTE; lo/hi unsigned. */
export interface WalkLevel { level: number; entryGpa: number; lo: number; hi: number }

export type WalkResult =
  | { ok: true; gpa: number; pageSize: number; levels: WalkLevel[] }
  | { ok: false; reason: string; levels: WalkLevel[] };

const TWO32 = 4294967296;
const CR0_PG = 0x80000000, CR4_PSE = 0x10, CR4_PAE = 0x20, EFER_LMA = 0x400;
const P = 1, PS = 0x80;
const KIB4 = 4096, MIB2 = 0x200000, MIB4 = 0x400000, GIB1 = 0x40000000;

const NAMES_64 = ['', 'PTE', 'PDE', 'PDPTE', 'PML4E'];
const NAMES_32 = ['', 'PTE', 'PDE'];

/** Address bits 51:12 of a 64-bit entry, low bits cleared down to `align` (4 KiB, 2 MiB or 1 GiB). */
function addr64(lo: number, hi: number, align: number): number {
  return (hi & 0xfffff) * TWO32 + ((lo & ~(align - 1)) >>> 0);
}

function hex(n: number): string { return '0x' + n.toString(16); }

/**
 * Translate `lin` (a sign-extended double in IA-32e mode, else taken modulo 2^32) to a guest-physical
 * address. `pageSize` is the size of the page that maps it (4096 when paging is off).
 */
export function guestWalk(st: GuestPagingState, lin: number, read: GuestRead): WalkResult {
  const levels: WalkLevel[] = [];
  const lin32 = lin >>> 0; // ToUint32: lin modulo 2^32, also for negative lin
  const names = st.efer & EFER_LMA || st.cr4 & CR4_PAE ? NAMES_64 : NAMES_32;
  const fail = (reason: string): WalkResult => ({ ok: false, reason, levels });

  // Read the entry at `gpa` for `level`; returns undefined after recording a failure reason.
  let why = '';
  const entry = (level: number, gpa: number, size: 4 | 8): WalkLevel | undefined => {
    const v = read(gpa, size);
    if (v === null) { why = `level ${level} (${names[level]}) at ${hex(gpa)} is not guest RAM`; return undefined; }
    const e = { level, entryGpa: gpa, lo: v.lo >>> 0, hi: size === 8 ? v.hi >>> 0 : 0 };
    levels.push(e);
    if ((e.lo & P) === 0) { why = `level ${level} (${names[level]}) not present at ${hex(gpa)}`; return undefined; }
    return e;
  };

  // Paging disabled: linear = physical (SDM Vol. 3A 4.1.1). IA-32e mode requires paging (9.8.5).
  if ((st.cr0 & CR0_PG) === 0) return { ok: true, gpa: lin32, pageSize: KIB4, levels };

  if (st.efer & EFER_LMA) {
    // 4-level paging (SDM Vol. 3A 4.5): 9-bit indices from bits 47:39, 38:30, 29:21, 20:12.
    if (lin < -140737488355328 || lin >= 140737488355328) return fail(`linear address ${hex(lin)} is not canonical`);
    const u = lin < 0 ? lin + 281474976710656 : lin; // the 48-bit address as an unsigned number
    const cr3Base = Math.floor((st.cr3 % 4503599627370496) / KIB4) * KIB4; // CR3 bits 51:12
    const l4 = entry(4, cr3Base + (Math.floor(u / 549755813888) & 0x1ff) * 8, 8);
    if (l4 === undefined) return fail(why);
    const l3 = entry(3, addr64(l4.lo, l4.hi, KIB4) + (Math.floor(u / GIB1) & 0x1ff) * 8, 8);
    if (l3 === undefined) return fail(why);
    if (l3.lo & PS) return { ok: true, gpa: addr64(l3.lo, l3.hi, GIB1) + (lin32 & (GIB1 - 1)), pageSize: GIB1, levels };
    return walkPdPt(addr64(l3.lo, l3.hi, KIB4));
  }

  if (st.cr4 & CR4_PAE) {
    // PAE paging (SDM Vol. 3A 4.4): four PDPTEs at CR3 bits 31:5, indexed by bits 31:30. The CPU
    // loads them at MOV CR3; this walk reads them from memory, as a debugger would.
    const cr3Base = ((st.cr3 >>> 0) & ~0x1f) >>> 0;
    const l3 = entry(3, cr3Base + (lin32 >>> 30) * 8, 8);
    if (l3 === undefined) return fail(why);
    return walkPdPt(addr64(l3.lo, l3.hi, KIB4));
  }

  // 32-bit paging (SDM Vol. 3A 4.3): PDE indexed by bits 31:22, PTE by bits 21:12.
  const pde = entry(2, ((st.cr3 >>> 0) & 0xfffff000) + (lin32 >>> 22) * 4, 4);
  if (pde === undefined) return fail(why);
  if ((pde.lo & PS) && (st.cr4 & CR4_PSE)) {
    // 4 MiB page; PSE-36 gives address bits 39:32 in PDE bits 20:13 (Table 4-5, MAXPHYADDR 40).
    const base = ((pde.lo >>> 13) & 0xff) * TWO32 + ((pde.lo & 0xffc00000) >>> 0);
    return { ok: true, gpa: base + (lin32 & (MIB4 - 1)), pageSize: MIB4, levels };
  }
  const pte = entry(1, ((pde.lo & 0xfffff000) >>> 0) + ((lin32 >>> 12) & 0x3ff) * 4, 4);
  if (pte === undefined) return fail(why);
  return { ok: true, gpa: ((pte.lo & 0xfffff000) >>> 0) + (lin32 & 0xfff), pageSize: KIB4, levels };

  // The PD and PT levels shared by PAE and 4-level paging (64-bit entries, 9-bit indices).
  function walkPdPt(pdBase: number): WalkResult {
    const l2 = entry(2, pdBase + ((lin32 >>> 21) & 0x1ff) * 8, 8);
    if (l2 === undefined) return fail(why);
    if (l2.lo & PS) return { ok: true, gpa: addr64(l2.lo, l2.hi, MIB2) + (lin32 & (MIB2 - 1)), pageSize: MIB2, levels };
    const l1 = entry(1, addr64(l2.lo, l2.hi, KIB4) + ((lin32 >>> 12) & 0x1ff) * 8, 8);
    if (l1 === undefined) return fail(why);
    return { ok: true, gpa: addr64(l1.lo, l1.hi, KIB4) + (lin32 & 0xfff), pageSize: KIB4, levels };
  }
}
