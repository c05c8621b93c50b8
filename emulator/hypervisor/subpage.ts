// Sub-page write permissions, the interface of the SPP patch series for KVM, and the sub-page dirty
// tracking of the SPP live-migration paper (digest-000 §3.4-3.5).
// - setPermissions(gfn, mask): bit i of the 32-bit mask lets the guest write bytes 128i..128i+127 of
//   the page. A page with a partial mask is mapped R+X with EPT bit 61, its SPP vector holding the
//   mask (bit i → vector bit 2i, SDM 29.3.4.2); INVEPT makes the change take effect.
// - Tracking: every sub-page of guest memory starts a round write-protected. An SPP-induced EPT
//   violation records the sub-page, unprotects it and resumes; protection comes back only at the
//   start of the next round (once per sub-page per round). SPP tables are built lazily: a page whose
//   SPP table path is missing causes an SPP miss (exit 66, qualification bit 11), answered by
//   building it. With prediction, the first fault of a `rep stos` unprotects in advance the
//   sub-pages that RCX says it will still write, up to the end of the page.
import type { Vm } from './vm.ts';
import type { Vcpu } from './vcpu.ts';
import type { MemorySlot } from './memory-slots.ts';
import { EPT_RWX, EPT_READ, EPT_EXEC } from './ept-tables.ts';

export interface SubpageStats {
  /** SPP-induced EPT violations handled by tracking. */
  sppViolations: number;
  /** SPP misses (exit 66 with qualification bit 11). */
  sppMisses: number;
  /** Faults at which a page-clearing string store was recognised and sub-pages unprotected ahead. */
  predictions: number;
  /** Sub-pages unprotected by prediction (beyond the one that faulted). */
  predictedSubpages: number;
  /** EPT violations for the guest's own paging-structure writes (A/D updates) on tracked pages. */
  pageWalkWrites: number;
  rounds: number;
}

/** What the first fault of an instruction learned by decoding it (rep stos only). */
export interface StosInfo { rdi: number; rcx: number; size: number; down: boolean }

const ALL = 0xffffffff;
/** Number of set bits of a 32-bit sub-page mask. */
export function popcount(x: number): number { let n = 0; for (x >>>= 0; x; x &= x - 1) n++; return n; }

export class SubpageTracker {
  active = false;
  prediction = true;
  readonly stats: SubpageStats = { sppViolations: 0, sppMisses: 0, predictions: 0, predictedSubpages: 0, pageWalkWrites: 0, rounds: 0 };
  /** Permissions set through setPermissions (not tracking): gfn → mask. */
  private readonly user = new Map<number, number>();
  /** Tracking: sub-pages unprotected this round, gfn → mask. */
  private open = new Map<number, number>();
  /** Tracking: sub-pages recorded as written this round (faulted or predicted), gfn → mask. */
  private written = new Map<number, number>();
  /** Tracking: sub-pages unprotected by prediction this round, gfn → mask. */
  private predicted = new Map<number, number>();
  /** Tracking: pages made fully writable this round because the guest's page walk wrote them. */
  private whole = new Set<number>();

  constructor(private readonly vm: Vm) {}

  /** SPP must be enabled in the VMCS (secondary control 23 and the SPPTP). */
  get inUse(): boolean { return this.active || this.user.size > 0; }
  covers(_s: MemorySlot): boolean { return this.active; }
  userMask(gfn: number): number { return this.user.get(gfn) ?? -1; }
  /** Sub-pages that prediction unprotected this round (for reports: the possible extra sub-pages). */
  predictedThisRound(): Map<number, number> { return new Map(this.predicted); }

  private leaf(gfn: number): number {
    const s = this.vm.slotOf(gfn * 4096);
    return s === null ? 0 : s.leafAt[s.page(gfn * 4096)];
  }

  setPermissions(gfn: number, mask32: number): void {
    if (this.active) throw new Error('setSubpagePermissions: sub-page dirty tracking is active and owns the permissions');
    if (!Number.isInteger(gfn) || gfn < 0 || this.vm.slotOf(gfn * 4096) === null) throw new Error(`setSubpagePermissions: gfn 0x${gfn.toString(16)} is not guest memory`);
    const mask = mask32 >>> 0;
    const mmu = this.vm.mmu;
    const s = this.vm.slotOf(gfn * 4096)!;
    mmu.zapLarge(s);
    const at = this.leaf(gfn);
    if (mask === ALL) {
      this.user.delete(gfn);
      if (at !== 0) mmu.setRights(at, this.vm.wpClean(gfn) ? EPT_READ | EPT_EXEC : EPT_RWX, false);
    } else {
      this.user.set(gfn, mask);
      this.syncVector(gfn);
      if (at !== 0) mmu.setRights(at, EPT_READ | EPT_EXEC, true);
    }
    this.vm.eptGeneration++;
    this.vm.invept();
  }

  /**
   * Write the SPP vector of a page with permissions set by the caller: its mask, except while the
   * write-protect dirty tracker has not seen the page written this round (then 0, so the first
   * write faults and is logged; vcpu.ts then restores the mask). The caller must INVEPT.
   */
  syncVector(gfn: number): void {
    const mask = this.user.get(gfn);
    if (mask === undefined) return;
    this.vm.mmu.sppTables().setMask(gfn * 4096, this.vm.wpClean(gfn) ? 0 : mask);
  }

  getPermissions(gfn: number): number {
    if (this.active) return (this.open.get(gfn) ?? 0) >>> 0;
    return (this.user.get(gfn) ?? ALL) >>> 0;
  }

  enable(prediction: boolean): void {
    const vm = this.vm, mmu = vm.mmu, spp = mmu.sppTables();
    this.prediction = prediction;
    for (const gfn of this.user.keys()) spp.setMask(gfn * 4096, 0);
    this.user.clear();
    for (const s of vm.slots.values()) {
      mmu.zapLarge(s);
      for (let p = 0; p < s.pages; p++) if (s.leafAt[p] !== 0) mmu.setRights(s.leafAt[p], EPT_READ | EPT_EXEC, true);
    }
    this.active = true;
    this.open = new Map(); this.written = new Map(); this.predicted = new Map();
    vm.eptGeneration++;
    vm.invept();
  }

  private reprotectWhole(): void {
    for (const gfn of this.whole) {
      const at = this.leaf(gfn);
      if (at !== 0) this.vm.mmu.setRights(at, EPT_READ | EPT_EXEC, true);
    }
    this.whole.clear();
  }

  disable(): void {
    if (!this.active) return;
    this.whole.clear();
    const vm = this.vm, mmu = vm.mmu, spp = mmu.sppTables();
    for (const gfn of this.open.keys()) spp.setMask(gfn * 4096, 0);
    for (const s of vm.slots.values()) {
      for (let p = 0; p < s.pages; p++) if (s.leafAt[p] !== 0) mmu.setRights(s.leafAt[p], EPT_RWX, false);
    }
    this.active = false;
    this.open = new Map(); this.written = new Map(); this.predicted = new Map();
    vm.eptGeneration++;
    vm.invept();
  }

  /** SPP miss: build the SPP table path for the page with its current vector. */
  onMiss(gpa: number): void {
    const gfn = Math.floor(gpa / 4096);
    if (this.active) this.vm.mmu.sppTables().setMask(gfn * 4096, this.open.get(gfn) ?? 0);
    else if (this.user.has(gfn)) this.syncVector(gfn);
    else this.vm.mmu.sppTables().setMask(gfn * 4096, 0);
    this.stats.sppMisses++;
    this.vm.exits.count('spp-miss');
  }

  /**
   * An SPP-induced EPT violation while tracking. The exit reports the address where the write
   * starts; if that sub-page is already open, the write straddles into the next one, which is the
   * denied one (a write touches at most two sub-pages, SDM 29.3.4.3 checks each).
   */
  onViolation(vcpu: Vcpu, gpa: number): void {
    const gfn = Math.floor(gpa / 4096), off = gpa % 4096;
    const mask = this.open.get(gfn) ?? 0;
    let sub = off >> 7;
    if (mask & (1 << sub)) sub++;
    if (sub > 31) throw new Error(`SPP violation at 0x${gpa.toString(16)} on an open sub-page at the end of its page`);
    let add = 1 << sub;
    if (this.prediction) {
      const st = vcpu.repStosAtFault();
      if (st !== null) {
        const range = stosRange(st, off);
        if (range !== 0 && (range & (1 << sub))) {
          const extra = range & ~mask & ~add;
          this.stats.predictions++;
          this.stats.predictedSubpages += popcount(extra);
          if (extra) this.predicted.set(gfn, (this.predicted.get(gfn) ?? 0) | extra);
          add |= range;
        }
      }
    }
    const now = (mask | add) >>> 0;
    this.open.set(gfn, now);
    this.written.set(gfn, ((this.written.get(gfn) ?? 0) | add) >>> 0);
    this.vm.mmu.sppTables().setMask(gfn * 4096, now);
    this.stats.sppViolations++;
    this.vm.exits.count('spp-violation');
    this.vm.invept();
  }

  /**
   * The guest's page walk writes an A/D flag into a tracked page. SPP does not apply to
   * paging-structure accesses (SDM 29.3.4.1), so only EPT write permission can let it through:
   * the page becomes writable for the rest of the round and is recorded as wholly written (a
   * superset: later writes to it in this round are not seen one by one).
   */
  onPageWalkWrite(gpa: number): void {
    const gfn = Math.floor(gpa / 4096);
    const s = this.vm.slotOf(gpa)!;
    this.vm.mmu.setRights(s.leafAt[s.page(gpa)], EPT_RWX, false);
    this.whole.add(gfn);
    this.written.set(gfn, ALL >>> 0);
    this.stats.pageWalkWrites++;
    this.vm.exits.count('spp-violation');
    this.vm.invept(); // the TLB may hold the page's sub-page mask
  }

  /** The written sub-pages of the round just ended; re-protect what was opened and start the next. */
  collect(): Map<number, number> {
    if (!this.active) throw new Error('getSubpageDirtyLog: sub-page tracking is not enabled (enableSubpageTracking)');
    const out = this.written;
    const spp = this.vm.mmu.sppTables();
    for (const gfn of this.open.keys()) spp.setMask(gfn * 4096, 0);
    this.reprotectWhole();
    this.vm.exits.count('spp-reprotect', this.open.size);
    this.open = new Map(); this.written = new Map(); this.predicted = new Map();
    this.stats.rounds++;
    this.vm.invept();
    return out;
  }
}

/**
 * Sub-pages of the page that a `rep stos` still writes from its current element: RCX elements of
 * `size` bytes from RDI, upwards (DF = 0) or downwards (DF = 1), clipped to the page. `off` is the
 * fault's page offset; the element at RDI must be on this page.
 */
export function stosRange(st: StosInfo, off: number): number {
  const rdiOff = ((st.rdi % 4096) + 4096) % 4096;
  if (st.rcx <= 0 || Math.abs(rdiOff - off) >= st.size) return 0;
  let lo: number, hi: number; // byte offsets [lo, hi] inside the page
  if (!st.down) { lo = rdiOff; hi = Math.min(4095, rdiOff + st.rcx * st.size - 1); } else { hi = Math.min(4095, rdiOff + st.size - 1); lo = Math.max(0, rdiOff - (st.rcx - 1) * st.size); }
  let m = 0;
  for (let i = lo >> 7; i <= hi >> 7; i++) m |= 1 << i;
  return m >>> 0;
}
