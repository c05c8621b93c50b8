// Linear-address memory access for instructions: a TLB hit goes straight to the RAM DataView;
// misses, page-crossing accesses and MMIO take the slow path through `translate`.
// Every RAM write checks the frame's decoded-instruction flag (self-modifying code).
import type { Cpu } from './state.ts';
import { TLB_MASK, P_SPP, P_GW_S, P_GW_U } from './tlb.ts';
import { translate, ACC_READ, ACC_WRITE } from './paging.ts';

// ---------------------------------------------------------------- reads
export function rd8(c: Cpu, lin: number): number {
  const off = lin & 0xfff;
  const vpn = (lin - off) / 4096;
  const i = vpn & TLB_MASK;
  const t = c.tlb;
  if (t.vpn[i] === vpn && (t.perm[i] & c.accR) !== 0) return c.ram[t.page[i] + off];
  return rdSlow(c, lin, 1, c.cpl === 3);
}

export function rd16(c: Cpu, lin: number): number {
  const off = lin & 0xfff;
  const vpn = (lin - off) / 4096;
  const i = vpn & TLB_MASK;
  const t = c.tlb;
  if (t.vpn[i] === vpn && (t.perm[i] & c.accR) !== 0 && off <= 0xffe) return c.ramView.getUint16(t.page[i] + off, true);
  return rdSlow(c, lin, 2, c.cpl === 3);
}

/** Returns the value as int32. */
export function rd32(c: Cpu, lin: number): number {
  const off = lin & 0xfff;
  const vpn = (lin - off) / 4096;
  const i = vpn & TLB_MASK;
  const t = c.tlb;
  if (t.vpn[i] === vpn && (t.perm[i] & c.accR) !== 0 && off <= 0xffc) return c.ramView.getInt32(t.page[i] + off, true);
  return rdSlow(c, lin, 4, c.cpl === 3) | 0;
}

/** Returns the low half (int32) and leaves the high half in c.tmpHi. */
export function rd64(c: Cpu, lin: number): number {
  const off = lin & 0xfff;
  const vpn = (lin - off) / 4096;
  const i = vpn & TLB_MASK;
  const t = c.tlb;
  if (t.vpn[i] === vpn && (t.perm[i] & c.accR) !== 0 && off <= 0xff8) {
    const pa = t.page[i] + off;
    c.tmpHi = c.ramView.getInt32(pa + 4, true);
    return c.ramView.getInt32(pa, true);
  }
  return rdSlow(c, lin, 8, c.cpl === 3) | 0;
}

/** Supervisor-mode (implicit) reads: descriptor tables, TSS, IDT (SDM Vol. 3A 4.6). */
export function rdSys32(c: Cpu, lin: number): number { return rdSlow(c, lin, 4, false) | 0; }
export function rdSys64(c: Cpu, lin: number): number { return rdSlow(c, lin, 8, false) | 0; }
export function rdSys16(c: Cpu, lin: number): number { return rdSlow(c, lin, 2, false); }

function physRead(c: Cpu, pa: number, size: number): number {
  if (pa + size <= c.ramSize) {
    switch (size) {
      case 1: return c.ram[pa];
      case 2: return c.ramView.getUint16(pa, true);
      case 4: return c.ramView.getInt32(pa, true);
      default:
        c.tmpHi = c.ramView.getInt32(pa + 4, true);
        return c.ramView.getInt32(pa, true);
    }
  }
  if (size === 8) {
    c.tmpHi = c.mem.read(pa + 4, 4) | 0;
    return c.mem.read(pa, 4) | 0;
  }
  return c.mem.read(pa, size);
}

export function rdSlow(c: Cpu, lin: number, size: number, user: boolean): number {
  const off = lin & 0xfff;
  if (off + size <= 4096) return physRead(c, translate(c, lin, ACC_READ, user), size);
  // Crosses a page boundary: translate both pages first, then assemble little-endian bytes.
  const first = 4096 - off;
  const pa1 = translate(c, lin, ACC_READ, user);
  const pa2 = translate(c, lin + first, ACC_READ, user);
  let lo = 0, hi = 0;
  for (let k = 0; k < size; k++) {
    const b = k < first ? physRead(c, pa1 + k, 1) : physRead(c, pa2 + k - first, 1);
    if (k < 4) lo |= b << (8 * k); else hi |= b << (8 * (k - 4));
  }
  if (size === 8) c.tmpHi = hi;
  return size === 4 || size === 8 ? lo : lo >>> 0;
}

// ---------------------------------------------------------------- writes
/**
 * A write hit on an SPP page (SDM Vol. 3C 29.3.4): the guest allows the write (P_GW_*) and the cached
 * 32-bit sub-page mask has the bit of every 128-byte sub-page touched. Never walks; a clear bit
 * falls to wrSlow, which raises the EPT violation from the same cached mask.
 */
function sppHit(c: Cpu, i: number, off: number, size: number): boolean {
  const t = c.tlb;
  return (t.perm[i] & c.accGW) !== 0 && sppAllows(t.sppMask[i], off, size);
}

export function wr8(c: Cpu, lin: number, v: number): void {
  const off = lin & 0xfff;
  const vpn = (lin - off) / 4096;
  const i = vpn & TLB_MASK;
  const t = c.tlb;
  if (t.vpn[i] === vpn && ((t.perm[i] & c.accW) !== 0 || sppHit(c, i, off, 1))) {
    const pa = t.page[i] + off;
    if (c.mem.codeFrames[pa >>> 12] !== 0) c.invalidateCodeFrame(pa >>> 12);
    c.ram[pa] = v;
    return;
  }
  wrSlow(c, lin, 1, v, 0, c.cpl === 3);
}

export function wr16(c: Cpu, lin: number, v: number): void {
  const off = lin & 0xfff;
  const vpn = (lin - off) / 4096;
  const i = vpn & TLB_MASK;
  const t = c.tlb;
  if (t.vpn[i] === vpn && off <= 0xffe && ((t.perm[i] & c.accW) !== 0 || sppHit(c, i, off, 2))) {
    const pa = t.page[i] + off;
    if (c.mem.codeFrames[pa >>> 12] !== 0) c.invalidateCodeFrame(pa >>> 12);
    c.ramView.setUint16(pa, v, true);
    return;
  }
  wrSlow(c, lin, 2, v, 0, c.cpl === 3);
}

export function wr32(c: Cpu, lin: number, v: number): void {
  const off = lin & 0xfff;
  const vpn = (lin - off) / 4096;
  const i = vpn & TLB_MASK;
  const t = c.tlb;
  if (t.vpn[i] === vpn && off <= 0xffc && ((t.perm[i] & c.accW) !== 0 || sppHit(c, i, off, 4))) {
    const pa = t.page[i] + off;
    if (c.mem.codeFrames[pa >>> 12] !== 0) c.invalidateCodeFrame(pa >>> 12);
    c.ramView.setInt32(pa, v, true);
    return;
  }
  wrSlow(c, lin, 4, v, 0, c.cpl === 3);
}

export function wr64(c: Cpu, lin: number, lo: number, hi: number): void {
  const off = lin & 0xfff;
  const vpn = (lin - off) / 4096;
  const i = vpn & TLB_MASK;
  const t = c.tlb;
  if (t.vpn[i] === vpn && off <= 0xff8 && ((t.perm[i] & c.accW) !== 0 || sppHit(c, i, off, 8))) {
    const pa = t.page[i] + off;
    if (c.mem.codeFrames[pa >>> 12] !== 0) c.invalidateCodeFrame(pa >>> 12);
    c.ramView.setInt32(pa, lo, true);
    c.ramView.setInt32(pa + 4, hi, true);
    return;
  }
  wrSlow(c, lin, 8, lo, hi, c.cpl === 3);
}

export function wrSys32(c: Cpu, lin: number, v: number): void { wrSlow(c, lin, 4, v, 0, false); }
export function wrSys64(c: Cpu, lin: number, lo: number, hi: number): void { wrSlow(c, lin, 8, lo, hi, false); }
export function wrSys16(c: Cpu, lin: number, v: number): void { wrSlow(c, lin, 2, v, 0, false); }

function physWrite(c: Cpu, pa: number, size: number, lo: number, hi: number): void {
  if (pa + size > c.ramSize) c.checkEvents = true; // an MMIO write may re-arm a timer or raise an interrupt
  if (size === 8) {
    c.mem.write(pa, 4, lo >>> 0);
    c.mem.write(pa + 4, 4, hi >>> 0);
  } else {
    c.mem.write(pa, size, size === 4 ? lo >>> 0 : lo & (size === 1 ? 0xff : 0xffff));
  }
}

/**
 * A write to a page the TLB holds as an SPP page (SDM Vol. 3C 29.3.4): the cached 32-bit sub-page
 * mask decides without walking the SPP table. Returns the host-physical address when every touched
 * sub-page is writable, -1 when the entry is not an SPP page of this mode (walk instead); a denied
 * sub-page ends in the EPT violation (a VM exit).
 */
function sppCached(c: Cpu, lin: number, size: number, user: boolean): number {
  const off = lin & 0xfff;
  const vpn = (lin - off) / 4096;
  const i = vpn & TLB_MASK;
  const t = c.tlb;
  if (t.vpn[i] !== vpn || (t.perm[i] & P_SPP) === 0) return -1;
  // The guest's own write permission still applies (the entry's write bits are only EPT-cleared).
  if ((t.perm[i] & (user ? P_GW_U : P_GW_S)) === 0) return -1;
  if (sppAllows(t.sppMask[i], off, size)) return t.page[i] + off;
  return c.vmx!.sppDenied(c, lin, t.gpage[i] + off, t.ept[i]);
}

export function wrSlow(c: Cpu, lin: number, size: number, lo: number, hi: number, user: boolean): void {
  const off = lin & 0xfff;
  if (off + size <= 4096) {
    const pa = c.gpaToHpa === null ? -1 : sppCached(c, lin, size, user);
    physWrite(c, pa >= 0 ? pa : translate(c, lin, ACC_WRITE, user, size), size, lo, hi);
    return;
  }
  const first = 4096 - off;
  const pa1 = translate(c, lin, ACC_WRITE, user, first);
  const pa2 = translate(c, lin + first, ACC_WRITE, user, size - first);
  for (let k = 0; k < size; k++) {
    const b = k < 4 ? (lo >>> (8 * k)) & 0xff : (hi >>> (8 * (k - 4))) & 0xff;
    if (k < first) physWrite(c, pa1 + k, 1, b, 0); else physWrite(c, pa2 + k - first, 1, b, 0);
  }
}

/** Sub-page i = offset >> 7 (128-byte sub-pages); a write needs every sub-page it touches. */
export function sppAllows(mask: number, off: number, size: number): boolean {
  const a = off >> 7, b = (off + size - 1) >> 7;
  return ((mask >>> a) & 1) !== 0 && ((mask >>> b) & 1) !== 0;
}

// ---------------------------------------------------------------- read-modify-write
// The read of a read-modify-write instruction is a write-intent access: a fault on it reports W=1
// in the #PF error code (observed on Intel hardware; the SDM describes such operands as both source
// and destination), and the translation is checked and dirtied for writing before anything changes.
/** Translate for writing (faulting as a write) so the following read and write both hit the TLB. */
function rmwSlow(c: Cpu, lin: number, size: number): void {
  const user = c.cpl === 3;
  const off = lin & 0xfff;
  if (off + size <= 4096) {
    if (c.gpaToHpa === null || sppCached(c, lin, size, user) < 0) translate(c, lin, ACC_WRITE, user, size);
    return;
  }
  translate(c, lin, ACC_WRITE, user, 4096 - off);
  translate(c, lin + (4096 - off), ACC_WRITE, user, size - (4096 - off));
}

function rmwHit(c: Cpu, lin: number, size: number): boolean {
  const off = lin & 0xfff;
  const vpn = (lin - off) / 4096;
  const i = vpn & TLB_MASK;
  return c.tlb.vpn[i] === vpn && ((c.tlb.perm[i] & c.accW) !== 0 || (off + size <= 4096 && sppHit(c, i, off, size)));
}

export function rdRmw8(c: Cpu, lin: number): number { if (!rmwHit(c, lin, 1)) rmwSlow(c, lin, 1); return rd8(c, lin); }
export function rdRmw16(c: Cpu, lin: number): number { if (!rmwHit(c, lin, 2)) rmwSlow(c, lin, 2); return rd16(c, lin); }
export function rdRmw32(c: Cpu, lin: number): number { if (!rmwHit(c, lin, 4)) rmwSlow(c, lin, 4); return rd32(c, lin); }
export function rdRmw64(c: Cpu, lin: number): number { if (!rmwHit(c, lin, 8)) rmwSlow(c, lin, 8); return rd64(c, lin); }
