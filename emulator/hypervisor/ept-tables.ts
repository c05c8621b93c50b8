// EPT and SPP tables built by the TypeScript hypervisor in emulated host-physical memory (the CPU's
// walker reads memory, not JavaScript objects: ARCHITECTURE.md). Formats: SDM Vol. 3C 29.3.2 (EPT
// entries), 29.3.4.2 (SPP table), reference/vmx-ept-spp.md.
import type { PhysicalMemory } from '../memory/physical.ts';

const TWO32 = 4294967296;
export const EPT_READ = 1, EPT_WRITE = 2, EPT_EXEC = 4, EPT_RWX = 7;
/** Memory type WB (6) in leaf bits 5:3. */
const MT_WB = 6 << 3;

/** Zeroed 4 KiB pages from a host-physical range the guest never sees. */
export class PageAllocator {
  private next: number;
  constructor(private readonly mem: PhysicalMemory, base: number, private readonly limit: number) {
    if (base % 4096 !== 0) throw new Error('PageAllocator: base must be 4 KiB aligned');
    this.next = base;
  }
  alloc(): number {
    if (this.next + 4096 > this.limit) throw new Error(`PageAllocator: out of table memory at 0x${this.next.toString(16)}`);
    const p = this.next;
    this.next += 4096;
    this.mem.u8.fill(0, p, p + 4096);
    return p;
  }
  get used(): number { return this.next; }
}

function rd64(mem: PhysicalMemory, pa: number): [number, number] {
  return [mem.view.getUint32(pa, true), mem.view.getUint32(pa + 4, true)];
}
function wr64(mem: PhysicalMemory, pa: number, lo: number, hi: number): void {
  mem.view.setUint32(pa, lo >>> 0, true);
  mem.view.setUint32(pa + 4, hi >>> 0, true);
}
const index = (gpa: number, level: number) => Math.floor(gpa / 2 ** (3 + 9 * level)) & 511;

/** A four-level EPT paging structure. */
export class EptTables {
  readonly root: number;
  constructor(private readonly mem: PhysicalMemory, private readonly pages: PageAllocator) {
    this.root = pages.alloc();
  }

  /** EPTP: WB, 4-level walk, A/D flags if `ad` (SDM 24.6.11). */
  eptp(ad = false): number { return this.root + 6 + (3 << 3) + (ad ? 0x40 : 0); }

  /** Host-physical address of the entry for `gpa` at `level` (1 = PTE), creating tables above it. */
  entryAddress(gpa: number, level: number): number {
    let table = this.root;
    for (let l = 4; l > level; l--) {
      const at = table + index(gpa, l) * 8;
      const [lo, hi] = rd64(this.mem, at);
      if ((lo & 7) === 0) {
        const next = this.pages.alloc();
        wr64(this.mem, at, next | EPT_RWX, Math.floor(next / TWO32));
        table = next;
      } else {
        if (lo & 0x80) throw new Error(`EPT: 0x${gpa.toString(16)} is inside a large page`);
        table = (hi & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
      }
    }
    return table + index(gpa, level) * 8;
  }

  /** Map the 4 KiB page at `gpa` to `hpa` with `rights`; `spp` sets bit 61 (SPP applies when W = 0). */
  map4k(gpa: number, hpa: number, rights: number, spp = false): void {
    const at = this.entryAddress(gpa, 1);
    wr64(this.mem, at, ((hpa % TWO32) | MT_WB | rights) >>> 0, Math.floor(hpa / TWO32) | (spp ? 1 << 29 : 0));
  }

  /** Map a 2 MiB (level 2) or 1 GiB (level 3) page. */
  mapLarge(gpa: number, hpa: number, rights: number, level: 2 | 3): void {
    const at = this.entryAddress(gpa, level);
    wr64(this.mem, at, ((hpa % TWO32) | MT_WB | 0x80 | rights) >>> 0, Math.floor(hpa / TWO32));
  }

  /** Identity-map [start, end) with 4 KiB pages. */
  identity4k(start: number, end: number, rights = EPT_RWX): void {
    for (let a = start; a < end; a += 4096) this.map4k(a, a, rights);
  }

  /** Change the rights (and SPP bit) of an existing 4 KiB mapping. The caller must INVEPT. */
  setRights4k(gpa: number, rights: number, spp: boolean): void {
    const at = this.entryAddress(gpa, 1);
    const [lo, hi] = rd64(this.mem, at);
    wr64(this.mem, at, (lo & ~7) | rights, spp ? hi | (1 << 29) : hi & ~(1 << 29));
  }

  /** The accessed (bit 8) and dirty (bit 9) flags of the 4 KiB mapping of `gpa`. */
  flags4k(gpa: number): { accessed: boolean; dirty: boolean } {
    const [lo] = rd64(this.mem, this.entryAddress(gpa, 1));
    return { accessed: (lo & 0x100) !== 0, dirty: (lo & 0x200) !== 0 };
  }

  clearDirty4k(gpa: number): void {
    const at = this.entryAddress(gpa, 1);
    const [lo, hi] = rd64(this.mem, at);
    wr64(this.mem, at, lo & ~0x200, hi);
  }
}

/** A four-level SPP table (SDM 29.3.4.2): non-leaf entries have bit 0 present; a leaf is a 64-bit vector. */
export class SppTables {
  readonly root: number;
  /** 4 KiB table pages allocated (the SPP bitmaps' memory overhead). */
  tablePages = 1;
  constructor(private readonly mem: PhysicalMemory, private readonly pages: PageAllocator) {
    this.root = pages.alloc();
  }

  private leafAddress(gpa: number): number {
    let table = this.root;
    for (let l = 4; l > 1; l--) {
      const at = table + index(gpa, l) * 8;
      const [lo, hi] = rd64(this.mem, at);
      if ((lo & 1) === 0) {
        const next = this.pages.alloc();
        this.tablePages++;
        wr64(this.mem, at, next | 1, Math.floor(next / TWO32));
        table = next;
      } else table = (hi & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
    }
    return table + index(gpa, 1) * 8;
  }

  /** Set the write permission of the 32 sub-pages of the page of `gpa`: bit i of `mask` → vector bit 2i. The caller must INVEPT. */
  setMask(gpa: number, mask: number): void {
    let lo = 0, hi = 0;
    for (let i = 0; i < 16; i++) {
      lo |= ((mask >>> i) & 1) << (2 * i);
      hi |= ((mask >>> (16 + i)) & 1) << (2 * i);
    }
    wr64(this.mem, this.leafAddress(gpa), lo, hi);
  }
}
