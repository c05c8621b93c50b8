// Sub-page write permissions (SDM Vol. 3C 29.3.4): the SPP table walk and the SPP-related VM exit.
// The table has four levels indexed like EPT by guest-physical bits 47:39, 38:30, 29:21 and 20:12.
// A non-leaf entry has bit 0 = present and bits N-1:12 = the next table (bits 11:1, 51:N and 63:52
// reserved); a leaf entry is the 64-bit SPP vector of one 4 KiB page, in which bit 2i makes 128-byte
// sub-page i writable and every odd bit is reserved.
import type { Cpu } from '../cpu/state.ts';
import { MAXPHYADDR } from '../cpu/paging.ts';
import { type Vmx, ER_SPP } from './state.ts';
import { vmExit, unwind } from './exit.ts';

const TWO32 = 4294967296;
/** Reserved bits of a non-leaf entry's high dword: 51:MAXPHYADDR and 63:52. */
const HI_RSVD = (0xffffffff & ~((1 << (MAXPHYADDR - 32)) - 1)) | 0;
const HI_ADDR = (1 << (MAXPHYADDR - 32)) - 1;
/** Exit qualification bit 11 of exit 66: SPP miss (1) or SPP misconfiguration (0). */
export const SPP_QUAL_MISS = 1 << 11;

/** The 32 even bits of an SPP vector half, packed: bit 2i → bit i. */
function evenBits(w: number): number {
  let m = 0;
  for (let k = 0; k < 16; k++) m |= ((w >>> (2 * k)) & 1) << k;
  return m;
}

/** SPP vector (64 bits) → 32-bit sub-page write mask, bit i = sub-page i writable. */
export function sppMaskOfVector(lo: number, hi: number): number {
  return (evenBits(lo) | (evenBits(hi) << 16)) | 0;
}

/** Exit 66 (SDM Vol. 3C 28.2.1): miss or misconfiguration, with guest-physical and guest-linear addresses. */
function sppExit(c: Cpu, v: Vmx, miss: boolean, gpa: number, lin: number): never {
  const x = v.x;
  x.reset();
  x.qual = miss ? SPP_QUAL_MISS : 0;
  x.gpa = gpa;
  x.linear = lin;
  vmExit(c, v, ER_SPP);
  return unwind(c);
}

/**
 * Walk the SPP table for guest-physical `gpa` and return the 32-bit sub-page write mask of its page.
 * Every call is one walk (counted in `v.sppWalks`); a missing or malformed entry exits (66).
 */
export function sppWalk(c: Cpu, v: Vmx, gpa: number, lin: number): number {
  v.sppWalks++;
  let table = v.sppRoot;
  for (let level = 4; level >= 2; level--) {
    const idx = Math.floor(gpa / 2 ** (12 + 9 * (level - 1))) & 511;
    const lo = c.mem.read(table + idx * 8, 4) | 0, hi = c.mem.read(table + idx * 8 + 4, 4) | 0;
    if ((lo & 1) === 0) sppExit(c, v, true, gpa, lin);
    if ((lo & 0xffe) !== 0 || (hi & HI_RSVD) !== 0) sppExit(c, v, false, gpa, lin);
    table = (hi & HI_ADDR) * TWO32 + ((lo & 0xfffff000) >>> 0);
  }
  const at = table + (Math.floor(gpa / 4096) & 511) * 8;
  const lo = c.mem.read(at, 4) | 0, hi = c.mem.read(at + 4, 4) | 0;
  if (((lo | hi) & 0xaaaaaaaa) !== 0) sppExit(c, v, false, gpa, lin); // odd bits are reserved
  return sppMaskOfVector(lo, hi);
}
