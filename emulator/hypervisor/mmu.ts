// The VM's EPT, built lazily as KVM's TDP MMU does: nothing is mapped at creation; an EPT violation
// on a guest-physical address inside a memory slot maps that page (4 KiB, or 2 MiB where allowed),
// and one outside every slot becomes an MMIO page: its leaf is written as a misconfiguration
// (write without read, SDM 29.3.3.1) so later accesses exit 49 straight to MMIO emulation.
import type { PhysicalMemory } from '../memory/physical.ts';
import { PageAllocator, EptTables, SppTables, EPT_WRITE } from './ept-tables.ts';
import type { MemorySlot } from './memory-slots.ts';

const TWO32 = 4294967296;
const MIB2 = 2 * 1024 * 1024;
/** EPT leaf bits (SDM 29.3.2): A (8), D (9), and SPP (61, bit 29 of the high half). */
export const EPT_A = 0x100, EPT_D = 0x200, HI_SPP = 1 << 29;

export class Mmu {
  readonly ept: EptTables;
  /** Created on first use of sub-page permissions. */
  spp: SppTables | null = null;
  /** Guest page numbers made MMIO pages. */
  readonly mmioPages = new Set<number>();
  mapped4k = 0;
  mapped2m = 0;

  constructor(private readonly mem: PhysicalMemory, readonly pages: PageAllocator, readonly largePages: boolean) {
    this.ept = new EptTables(mem, pages);
  }

  sppTables(): SppTables {
    if (this.spp === null) this.spp = new SppTables(this.mem, this.pages);
    return this.spp;
  }

  lo(at: number): number { return this.mem.view.getUint32(at, true); }
  hi(at: number): number { return this.mem.view.getUint32(at + 4, true); }
  write(at: number, lo: number, hi: number): void {
    this.mem.view.setUint32(at, lo >>> 0, true);
    this.mem.view.setUint32(at + 4, hi >>> 0, true);
  }

  /**
   * Map the page of `gpa` in slot `s`: a 2 MiB leaf when `allowLarge`, large pages are on and the
   * aligned 2 MiB range lies in the slot with a 2 MiB-aligned backing; else a 4 KiB leaf with
   * `rights` and the SPP bit. Returns the page size mapped.
   */
  map(s: MemorySlot, gpa: number, rights: number, spp: boolean, allowLarge: boolean): number {
    const base2m = gpa - (gpa % MIB2);
    const hpa2m = s.hpa + (base2m - s.gpa);
    if (allowLarge && this.largePages && base2m >= s.gpa && base2m + MIB2 <= s.gpa + s.size && hpa2m % MIB2 === 0 &&
      this.pdeFree(base2m)) {
      this.ept.mapLarge(base2m, hpa2m, rights, 2);
      s.largeMaps.add(base2m);
      this.mapped2m++;
      return MIB2;
    }
    const page = s.page(gpa);
    const at = this.ept.entryAddress(gpa - (gpa % 4096), 1);
    const hpa = s.hpa + page * 4096;
    this.write(at, ((hpa % TWO32) | (6 << 3) | rights) >>> 0, Math.floor(hpa / TWO32) | (spp ? HI_SPP : 0));
    s.leafAt[page] = at;
    this.mapped4k++;
    return 4096;
  }

  /** True when the PDE for this 2 MiB range is not present (no page table below it yet). */
  private pdeFree(base2m: number): boolean {
    const at = this.ept.entryAddress(base2m, 2);
    return (this.lo(at) & 7) === 0;
  }

  /** Remove the 2 MiB mappings of a slot (they refault as 4 KiB pages). The caller must INVEPT. */
  zapLarge(s: MemorySlot): number {
    const n = s.largeMaps.size;
    for (const base of s.largeMaps) this.write(this.ept.entryAddress(base, 2), 0, 0);
    s.largeMaps.clear();
    return n;
  }

  /** Set R/W/X and the SPP bit of a mapped 4 KiB leaf, keeping A and D. The caller must INVEPT. */
  setRights(at: number, rights: number, spp: boolean): void {
    const lo = this.lo(at), hi = this.hi(at);
    this.write(at, (lo & ~7) | rights, spp ? hi | HI_SPP : hi & ~HI_SPP);
  }

  /** Make the page of `gpa` an MMIO page: a leaf with W but not R, which is an EPT misconfiguration. */
  markMmio(gpa: number): void {
    const gfn = Math.floor(gpa / 4096);
    const at = this.ept.entryAddress(gfn * 4096, 1);
    this.write(at, EPT_WRITE, 0);
    this.mmioPages.add(gfn);
  }

  /** Host-physical bytes used by EPT and SPP tables (the allocator's pages). */
  tableBytes(base: number): number { return this.pages.used - base; }
}
