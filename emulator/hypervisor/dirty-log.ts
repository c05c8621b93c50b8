// Dirty-page logging (KVM_GET_DIRTY_LOG) three interchangeable ways:
// - write-protect: pages of a logging slot are mapped without EPT write permission; the first write
//   of a round is an EPT violation, which records the page and restores W. Collection re-protects
//   exactly the pages it reports (the others are still protected) and INVEPTs.
// - dirty-bits: EPT A/D flags on (EPTP bit 6); the CPU sets the leaf's D flag (SDM 29.3.5).
//   Collection scans and clears the D flags of the slot's leaves, then INVEPTs.
// - pml: EPT A/D plus page-modification logging (SDM 29.3.6): each D 0 → 1 logs the GPA; the log is
//   drained on the log-full exit (62) and at collection, which then clears the D flags it reported.
// With A/D on, the CPU treats guest paging-structure accesses as writes (SDM 29.3.5), so dirty-bits
// and pml also report pages that were only read as guest page tables; write-protect cannot see them.
import type { Vm } from './vm.ts';
import type { MemorySlot } from './memory-slots.ts';
import { EPT_RWX, EPT_READ, EPT_EXEC } from './ept-tables.ts';
import { EPT_D } from './mmu.ts';

export type DirtyTrackerKind = 'write-protect' | 'dirty-bits' | 'pml';
export const TRACKERS: DirtyTrackerKind[] = ['write-protect', 'dirty-bits', 'pml'];

export class DirtyLog {
  /** Number of logging slots: A/D (and PML) are enabled while it is > 0 for those trackers. */
  private logging = 0;

  constructor(private readonly vm: Vm, readonly kind: DirtyTrackerKind) {
    if (!TRACKERS.includes(kind)) throw new Error(`unknown dirty tracker '${kind}' (write-protect, dirty-bits or pml)`);
  }

  /** EPT A/D flags wanted in the EPTP. */
  get adEnabled(): boolean { return this.logging > 0 && this.kind !== 'write-protect'; }
  get pmlEnabled(): boolean { return this.logging > 0 && this.kind === 'pml'; }

  setLogging(s: MemorySlot, on: boolean): void {
    if (s.logDirty === on) return;
    const vm = this.vm;
    if (on) {
      // Dirty logging works on 4 KiB pages: drop the slot's 2 MiB mappings (they refault small).
      vm.mmu.zapLarge(s);
      s.dirty.fill(0);
      for (let p = 0; p < s.pages; p++) {
        const at = s.leafAt[p];
        if (at === 0) continue;
        if (this.kind !== 'write-protect') vm.mmu.write(at, vm.mmu.lo(at) & ~EPT_D, vm.mmu.hi(at));
        else if (vm.subpage.userMask(s.gpa / 4096 + p) === -1) vm.mmu.setRights(at, EPT_READ | EPT_EXEC, false);
      }
      this.logging++;
      s.logDirty = true;
      if (this.kind === 'write-protect') for (let p = 0; p < s.pages; p++) if (s.leafAt[p] !== 0) vm.subpage.syncVector(s.gpa / 4096 + p);
    } else {
      for (let p = 0; p < s.pages; p++) if (s.leafAt[p] !== 0 && this.kind === 'write-protect') vm.mmu.setRights(s.leafAt[p], EPT_RWX, false);
      this.logging--;
    }
    s.logDirty = on;
    vm.eptGeneration++;
    vm.invept();
  }

  /** Write-protect tracker: the EPT violation of a write to a protected page of a logging slot. */
  onWriteFault(s: MemorySlot, page: number): void {
    s.markDirty(page);
    this.vm.mmu.setRights(s.leafAt[page], EPT_RWX, false);
    this.vm.exits.count('dirty-fault');
    // No INVEPT: a translation is cached writable only when EPT allowed the write, and a write
    // without a cached W walks the tables again (cpu/memaccess.ts), as KVM relies on hardware doing.
  }

  /** PML tracker: copy the logged GPAs of one vCPU's log into the slots' bitmaps and reset the index. */
  drainPml(log: number, index: number): number {
    const vm = this.vm, view = vm.mem.view;
    const first = index > 511 ? 0 : index + 1; // index counts down from 511; above 511 the log is full
    let n = 0;
    for (let i = first; i <= 511; i++) {
      const gpa = view.getUint32(log + i * 8, true) + view.getUint32(log + i * 8 + 4, true) * 4294967296;
      const s = vm.slotOf(gpa);
      if (s !== null && s.logDirty) s.markDirty(s.page(gpa));
      n++;
    }
    return n;
  }

  /** Collect and clear one slot's bitmap, re-arming the tracker for the next round. */
  collect(s: MemorySlot): Uint8Array {
    const vm = this.vm, mmu = vm.mmu;
    if (this.kind === 'pml') for (const v of vm.vcpus) v.drainPml();
    if (this.kind === 'dirty-bits') {
      for (let p = 0; p < s.pages; p++) {
        const at = s.leafAt[p];
        if (at === 0) continue;
        const lo = mmu.lo(at);
        if (lo & EPT_D) { s.markDirty(p); mmu.write(at, lo & ~EPT_D, mmu.hi(at)); }
      }
      vm.exits.count('dirty-scan', s.pages);
    } else {
      for (let p = 0; p < s.pages; p++) {
        if (!s.isDirty(p)) continue;
        const at = s.leafAt[p];
        if (at === 0) continue;
        if (this.kind === 'write-protect') {
          // A page with sub-page permissions stays an SPP page; its vector goes to 0 instead of W.
          if (vm.subpage.userMask(s.gpa / 4096 + p) !== -1) continue;
          mmu.setRights(at, EPT_READ | EPT_EXEC, false);
        } else mmu.write(at, mmu.lo(at) & ~EPT_D, mmu.hi(at));
      }
    }
    const out = s.takeDirty();
    if (this.kind === 'write-protect') {
      for (let p = 0; p < s.pages; p++) if (s.leafAt[p] !== 0 && vm.subpage.userMask(s.gpa / 4096 + p) !== -1) vm.subpage.syncVector(s.gpa / 4096 + p);
    }
    vm.invept();
    return out;
  }
}
