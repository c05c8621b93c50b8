// The source side: turns what a round must send into stream records, per method (QEMU's
// ram_save_page / save_xbzrle_page, and the paper's sub-page migrator). Every method detects zero
// pages first, as QEMU does. The time spent formatting is measured (the paper's Fig. 8 analogue).
import type { Vm } from '../hypervisor/vm.ts';
import { type SectionWriter, type Method, PAGE, SUBPAGE, RECORD_BYTES } from './stream.ts';
import { XbzrleCache, xbzrleEncode } from './xbzrle.ts';
import { popcount } from '../hypervisor/subpage.ts';

export interface RoundCounts {
  /** Pages or sub-pages sent (the unit of the method). */
  units: number;
  zeroPages: number;
  fullPages: number;
  subpages: number;
  xbzrlePages: number;
  xbzrleHits: number;
  xbzrleMisses: number;
  /** Pages the method looked at (for the per-page formatting cost). */
  pagesFormatted: number;
  formatNs: number;
}

export function emptyCounts(): RoundCounts {
  return { units: 0, zeroPages: 0, fullPages: 0, subpages: 0, xbzrlePages: 0, xbzrleHits: 0, xbzrleMisses: 0, pagesFormatted: 0, formatNs: 0 };
}

function isZero(p: Uint8Array): boolean {
  const w = new Uint32Array(p.buffer, p.byteOffset, p.length >>> 2);
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
  return true;
}

export class RamSender {
  readonly cache: XbzrleCache | null;
  private readonly scratch = new Uint8Array(PAGE);

  constructor(readonly method: Method, private readonly vm: Vm, cacheBytes: number) {
    this.cache = method === 'xbzrle' ? new XbzrleCache(cacheBytes) : null;
  }

  private page(gfn: number): Uint8Array {
    const h = this.vm.hpaOf(gfn * PAGE);
    return this.vm.mem.u8.subarray(h, h + PAGE);
  }

  /** One page, QEMU's way: zero page, else XBZRLE against the cached copy (xbzrle), else the whole page. */
  private sendPage(sec: SectionWriter, gfn: number, n: RoundCounts, firstRound: boolean): void {
    const data = this.page(gfn), gpa = gfn * PAGE;
    n.units++;
    n.pagesFormatted++;
    if (isZero(data)) {
      sec.zero(gpa);
      n.zeroPages++;
      if (!firstRound) this.cache?.insert(gfn, data); // so a later write encodes against the zeros
      return;
    }
    if (this.cache !== null && !firstRound) {
      const old = this.cache.lookup(gfn);
      if (old !== null) {
        n.xbzrleHits++;
        // QEMU abandons an encoding that would not save anything over a whole page.
        const len = xbzrleEncode(old, data, this.scratch, PAGE - RECORD_BYTES.xbzrleOverhead);
        if (len === 0) { n.units--; return; } // unchanged since last sent: nothing to send
        if (len > 0) {
          sec.xbzrle(gpa, this.scratch.subarray(0, len));
          old.set(data);
          n.xbzrlePages++;
          return;
        }
      } else n.xbzrleMisses++;
    }
    sec.page(gpa, data);
    n.fullPages++;
    // As QEMU, the cache starts after the first pass (bulk stage): round 1 would only fill it with
    // pages that never change, evicting the working set of a direct-mapped cache.
    if (!firstRound) this.cache?.insert(gfn, data);
  }

  /** Round 1: all of guest memory (slot by slot). */
  allPages(sec: SectionWriter): RoundCounts {
    const n = emptyCounts(), t0 = performance.now();
    for (const s of this.vm.slots.values()) for (let p = 0; p < s.pages; p++) this.sendPage(sec, s.gpa / PAGE + p, n, true);
    n.formatNs = (performance.now() - t0) * 1e6;
    return n;
  }

  /** A later round of a page method: the dirty pages. */
  pages(sec: SectionWriter, gfns: Iterable<number>): RoundCounts {
    const n = emptyCounts(), t0 = performance.now();
    for (const gfn of gfns) this.sendPage(sec, gfn, n, false);
    n.formatNs = (performance.now() - t0) * 1e6;
    return n;
  }

  /**
   * A later round of the sub-page method: the written sub-pages of each page, 128 bytes each with
   * the sub-page byte; a page whose written sub-pages are all zero now goes as a zero page, and a
   * page so written that its sub-page records would outweigh a page record goes whole.
   */
  subpages(sec: SectionWriter, written: Map<number, number>): RoundCounts {
    const n = emptyCounts(), t0 = performance.now();
    const wholeAt = Math.ceil((RECORD_BYTES.page) / RECORD_BYTES.subpage);
    for (const [gfn, mask] of written) {
      const data = this.page(gfn), gpa = gfn * PAGE;
      n.pagesFormatted++;
      const k = popcount(mask);
      if (isZero(data)) { sec.zero(gpa); n.zeroPages++; n.units++; continue; }
      if (k >= wholeAt) { sec.page(gpa, data); n.fullPages++; n.units += 32; continue; }
      for (let i = 0; i < 32; i++) {
        if (!((mask >>> i) & 1)) continue;
        sec.subpage(gpa, i, data.subarray(i * SUBPAGE, (i + 1) * SUBPAGE));
        n.subpages++; n.units++;
      }
    }
    n.formatNs = (performance.now() - t0) * 1e6;
    return n;
  }
}
