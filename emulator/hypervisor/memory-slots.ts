// Memory slots (KVM_SET_USER_MEMORY_REGION): a guest-physical range backed by a range of the VM's
// host-physical RAM, with the EPT leaf of each 4 KiB page remembered once it has been built (the
// lazy EPT of mmu.ts) and the slot's dirty bitmap.
export interface MemoryRegion {
  slot: number;
  guestPhysAddr: number;
  /** Bytes, a multiple of 4 KiB. */
  size: number;
  /** Log writes to this slot (KVM_MEM_LOG_DIRTY_PAGES): vm.getDirtyLog(slot) then works. */
  logDirtyPages?: boolean;
}

export class MemorySlot {
  readonly pages: number;
  /** Host-physical address of each page's EPT leaf entry (4 KiB mappings only), 0 while unmapped. */
  readonly leafAt: Float64Array;
  /** Pages written since the last collection (bit i = page i), for getDirtyLog. */
  readonly dirty: Uint32Array;
  /** 2 MiB mappings made for this slot (guest-physical bases), zapped when tracking needs 4 KiB pages. */
  readonly largeMaps = new Set<number>();
  logDirty: boolean;

  constructor(readonly id: number, readonly gpa: number, readonly size: number, readonly hpa: number, logDirty: boolean) {
    this.pages = size / 4096;
    this.leafAt = new Float64Array(this.pages);
    this.dirty = new Uint32Array((this.pages + 31) >>> 5);
    this.logDirty = logDirty;
  }

  contains(gpa: number): boolean { return gpa >= this.gpa && gpa < this.gpa + this.size; }
  page(gpa: number): number { return Math.floor((gpa - this.gpa) / 4096); }
  markDirty(page: number): void { this.dirty[page >>> 5] |= 1 << (page & 31); }
  isDirty(page: number): boolean { return (this.dirty[page >>> 5] & (1 << (page & 31))) !== 0; }

  /** The bitmap as bytes (bit i of byte i >> 3 = page i, as KVM_GET_DIRTY_LOG's little-endian longs), then cleared. */
  takeDirty(): Uint8Array {
    const out = new Uint8Array((this.pages + 7) >>> 3);
    for (let i = 0; i < out.length; i++) out[i] = (this.dirty[i >>> 2] >>> ((i & 3) * 8)) & 0xff;
    this.dirty.fill(0);
    return out;
  }
}

/** Page indices set in a dirty bitmap. */
export function dirtyPages(bitmap: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < bitmap.length; i++) {
    const b = bitmap[i];
    if (b === 0) continue;
    for (let k = 0; k < 8; k++) if (b & (1 << k)) out.push(i * 8 + k);
  }
  return out;
}
