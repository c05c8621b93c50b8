// Translation lookaside buffer as typed arrays (ARCHITECTURE.md hot-path rules): direct-mapped on the
// linear page number. A hit is an index, a tag compare and a permission-bit test. Permission bits
// are precomputed at fill time for supervisor and user accesses, so a hit never re-reads paging
// structures. Write bits are only set once the leaf's dirty bit is set (SDM Vol. 3A 4.8), so the first
// write walks and sets D. SPP pages cache their 32-bit sub-page write mask (issue: VMX/SPP).

export const TLB_BITS = 12;
export const TLB_SIZE = 1 << TLB_BITS;
export const TLB_MASK = TLB_SIZE - 1;

// Permission bits; a CPU field (accR/accW/accX) holds the bit to test at the current CPL.
export const P_RS = 1, P_WS = 2, P_XS = 4, P_RU = 8, P_WU = 16, P_XU = 32;
export const P_GLOBAL = 64;
/** Entry came from a 2 MiB / 4 MiB / 1 GiB page (INVLPG must drop all of its 4 KiB pieces). */
export const P_LARGE = 128;
/** Entry is an SPP page: writes are checked against sppMask bit (offset >> 7). */
export const P_SPP = 256;
/** SPP entries only: the guest's paging structures allow a supervisor / user write (EPT denies it). */
export const P_GW_S = 512, P_GW_U = 1024;

// EPT rights of a translation under EPT (Cpu.eptRights, Tlb.ept): read, write, execute as the AND
// over the EPT walk (SDM Vol. 3C 29.3.3.2), plus "write may be cached" (W and, with EPT A/D, the
// dirty flag already set) and "the write is governed by SPP" (leaf bit 61, accumulated W = 0).
export const EPT_R = 1, EPT_W = 2, EPT_X = 4, EPT_W_CACHE = 8, EPT_SPP = 16;

export class Tlb {
  /** Linear page number (linear address / 4096, sign-extended); NaN = invalid (never equal). */
  readonly vpn = new Float64Array(TLB_SIZE).fill(NaN);
  /** Host-physical address of the 4 KiB frame. */
  readonly page = new Float64Array(TLB_SIZE);
  readonly perm = new Int32Array(TLB_SIZE);
  readonly sppMask = new Int32Array(TLB_SIZE);
  /** Guest-physical address of the frame (equals `page` without EPT); the SPP exit reports it. */
  readonly gpage = new Float64Array(TLB_SIZE);
  /** EPT_* rights of the translation (0 without EPT). */
  readonly ept = new Int32Array(TLB_SIZE);
  largeCached = false;
  flushes = 0;
  /** Called on every flush (the CPU drops its cached code-page translation). */
  onFlush: () => void = () => {};

  fill(vpn: number, page: number, perm: number, sppMask: number, gpage = page, ept = 0): void {
    const i = vpn & TLB_MASK;
    this.vpn[i] = vpn;
    this.page[i] = page;
    this.perm[i] = perm;
    this.sppMask[i] = sppMask;
    this.gpage[i] = gpage;
    this.ept[i] = ept;
    if (perm & P_LARGE) this.largeCached = true;
  }

  flushAll(): void {
    this.onFlush();
    this.vpn.fill(NaN);
    this.largeCached = false;
    this.flushes++;
  }

  /** MOV to CR3 without PCID: drop all but global entries (SDM Vol. 3A 4.10.4.1). */
  flushNonGlobal(): void {
    this.onFlush();
    const v = this.vpn, p = this.perm;
    for (let i = 0; i < TLB_SIZE; i++) if ((p[i] & P_GLOBAL) === 0) v[i] = NaN;
    this.flushes++;
  }

  /** INVLPG: entries for the page containing the address, including global ones. */
  flushPage(vpn: number): void {
    this.onFlush();
    const i = vpn & TLB_MASK;
    if (this.vpn[i] === vpn) this.vpn[i] = NaN;
    if (this.largeCached) {
      const v = this.vpn, p = this.perm;
      for (let j = 0; j < TLB_SIZE; j++) if (p[j] & P_LARGE) v[j] = NaN;
      this.largeCached = false;
    }
  }
}
