// EPT translation (SDM Vol. 3C 29.3): the four-level walk of a guest-physical address with the
// R/W/X rights ANDed over the walk, 2 MiB and 1 GiB leaves, misconfiguration checks (29.3.3.1),
// violations (29.3.3.2) with their exit qualification (28.2.1, Table 28-7), accessed/dirty flags
// when EPTP bit 6 is set (29.3.5), page-modification logging (pml.ts) and sub-page write
// permissions (spp.ts). Installed as `Cpu.gpaToHpa` while a guest with "enable EPT" runs; the CPU's
// paging code calls it for every guest paging-structure entry and for the final address (the 2-D
// walk) and caches the combined result in its TLB (cpu/paging.ts fillUnderEpt).
import type { Cpu } from '../cpu/state.ts';
import { ACC_READ, ACC_WRITE, ACC_EXEC, MAXPHYADDR } from '../cpu/paging.ts';
import { EPT_R, EPT_W, EPT_X, EPT_W_CACHE, EPT_SPP } from '../cpu/tlb.ts';
import { sppAllows } from '../cpu/memaccess.ts';
import { type Vmx, ER_EPT_VIOLATION, ER_EPT_MISCONFIG } from './state.ts';
import { vmExit, unwind } from './exit.ts';
import { sppWalk } from './spp.ts';
import { pmlLog, pmlCheckFull } from './pml.ts';

const TWO32 = 4294967296;
/** Bits 51:MAXPHYADDR of an entry's high dword are reserved; 63:52 are ignored (61 = SPP, 63 = suppress #VE). */
const HI_RSVD = 0x000fffff & ~((1 << (MAXPHYADDR - 32)) - 1);
const HI_ADDR = (1 << (MAXPHYADDR - 32)) - 1;
/** EPT leaf bit 61 ("SPP") as a bit of the high dword. */
const HI_SPP = 1 << 29;
const A_FLAG = 1 << 8, D_FLAG = 1 << 9;

// Exit-qualification bits of an EPT violation (SDM Vol. 3C Table 28-7).
export const EQ_READ = 1, EQ_WRITE = 2, EQ_FETCH = 4, EQ_READABLE = 8, EQ_WRITABLE = 16, EQ_EXECUTABLE = 32,
  EQ_LINEAR_VALID = 1 << 7, EQ_FINAL = 1 << 8;

/** Host-physical addresses of the entries used by the walk in progress (for A/D updates). */
const walked = new Float64Array(4);

function read32(c: Cpu, pa: number): number {
  return pa + 4 <= c.ramSize ? c.ramView.getInt32(pa, true) : c.mem.read(pa, 4) | 0;
}

function setFlag(c: Cpu, pa: number, flag: number): void {
  const v = read32(c, pa);
  if ((v & flag) !== flag) c.mem.write(pa, 4, (v | flag) >>> 0);
}

/** EPT violation (exit 48). `rights` = R/W/X ANDed over the entries walked so far (0 at a not-present entry). */
export function eptViolation(c: Cpu, v: Vmx, gpa: number, lin: number, acc: number, final: boolean, rights: number): never {
  let q = rights * EQ_READABLE; // bits 5:3
  if (final) q |= acc === ACC_READ ? EQ_READ : acc === ACC_WRITE ? EQ_WRITE : EQ_FETCH;
  // A guest paging-structure access is a read, or a write when it updates a guest A/D flag; with
  // EPT A/D enabled every such access is also treated as a write, and then bits 0 and 1 are both
  // set (SDM 28.2.1, 29.3.3.2).
  else q |= acc === ACC_WRITE ? EQ_WRITE : v.eptAd ? EQ_READ | EQ_WRITE : EQ_READ;
  if (lin === lin) q |= EQ_LINEAR_VALID | (final ? EQ_FINAL : 0);
  const x = v.x;
  x.reset();
  x.qual = q;
  x.gpa = gpa;
  if (lin === lin) x.linear = lin;
  v.eptViolations++;
  vmExit(c, v, ER_EPT_VIOLATION);
  return unwind(c);
}

/** EPT misconfiguration (exit 49): the guest-physical address is reported, the qualification is 0. */
function eptMisconfig(c: Cpu, v: Vmx, gpa: number): never {
  const x = v.x;
  x.reset();
  x.gpa = gpa;
  vmExit(c, v, ER_EPT_MISCONFIG);
  return unwind(c);
}

/** Memory types 2, 3 and 7 are reserved in an EPT leaf (SDM 29.3.7). */
function badMemoryType(lo: number): boolean {
  const t = (lo >>> 3) & 7;
  return t === 2 || t === 3 || t === 7;
}

/**
 * Cpu.gpaToHpa while EPT is on. `gpa` is the guest-physical address of a paging-structure entry
 * (size 0) or of the 4 KiB frame being accessed (size > 0, the offset comes from `lin`).
 */
export function eptTranslate(c: Cpu, gpa: number, acc: number, lin: number, size: number): number {
  const v = c.vmx as Vmx;
  const final = size > 0;
  const full = final ? gpa + (lin & 0xfff) : gpa;
  const asWrite = acc === ACC_WRITE || (!final && v.eptAd);
  v.eptWalks++;
  let table = v.eptRoot;
  let rights = 7, n = 0, level = 4, lo = 0, hi = 0, at = 0, needA = false;
  for (;; level--) {
    at = table + (Math.floor(gpa / 2 ** (3 + 9 * level)) & 511) * 8;
    lo = read32(c, at); hi = read32(c, at + 4);
    const rwx = lo & 7;
    if (rwx === 0) eptViolation(c, v, full, lin, acc, final, 0); // not present
    // Misconfigurations (SDM 29.3.3.1): write without read, execute-only (not supported: IA32_VMX_EPT_VPID_CAP[0] = 0), reserved bits.
    if ((rwx & 3) === 2 || rwx === 4 || (hi & HI_RSVD) !== 0) eptMisconfig(c, v, full);
    rights &= rwx;
    walked[n++] = at;
    if ((lo & A_FLAG) === 0) needA = true;
    const leaf = level === 1 || ((level === 2 || level === 3) && (lo & 0x80) !== 0);
    if (leaf) {
      if (badMemoryType(lo)) eptMisconfig(c, v, full);
      if (level === 3 && (lo & 0x3ffff000) !== 0) eptMisconfig(c, v, full); // 1 GiB: bits 29:12 reserved
      if (level === 2 && (lo & 0x001ff000) !== 0) eptMisconfig(c, v, full); // 2 MiB: bits 20:12 reserved
      break;
    }
    // Non-leaf: bits 7:3 (PML4E) or 6:3 (PDPTE/PDE, bit 7 = 0 here) are reserved.
    if ((lo & 0x78) !== 0 || (level === 4 && (lo & 0x80) !== 0)) eptMisconfig(c, v, full);
    table = (hi & HI_ADDR) * TWO32 + ((lo & 0xfffff000) >>> 0);
  }

  // Access rights (SDM 29.3.3.2). SPP decides a write that the accumulated W bit alone would deny,
  // on a readable 4 KiB page whose leaf has bit 61 set, for the final address only (29.3.4.1).
  let spp = false;
  if ((rights & EPT_R) === 0 && !(acc === ACC_EXEC && final)) eptViolation(c, v, full, lin, acc, final, rights);
  if (acc === ACC_EXEC && final && (rights & EPT_X) === 0) eptViolation(c, v, full, lin, acc, final, rights);
  if (asWrite && (rights & EPT_W) === 0) {
    if (final && acc === ACC_WRITE && v.sppOn && level === 1 && (hi & HI_SPP) !== 0) {
      const mask = sppWalk(c, v, full, lin);
      if (!sppAllows(mask, lin & 0xfff, size)) eptViolation(c, v, full, lin, acc, final, rights);
      c.eptSppMask = mask;
      spp = true;
    } else eptViolation(c, v, full, lin, acc, final, rights);
  }

  // Accessed flags on every entry used, the dirty flag on the leaf for a write (SDM 29.3.5). With
  // PML on, a full log stops any access that needs to set an A or D flag (exit 62, flags left
  // clear), and a 0 → 1 dirty transition is logged first (29.3.6).
  let dirty = (lo & D_FLAG) !== 0;
  if (v.eptAd) {
    const setD = asWrite && !dirty;
    if (v.pmlOn && (needA || setD)) pmlCheckFull(c, v);
    if (setD) {
      if (v.pmlOn) pmlLog(c, v, full);
      dirty = true;
    }
    for (let k = 0; k < n - 1; k++) setFlag(c, walked[k], A_FLAG);
    setFlag(c, at, asWrite ? A_FLAG | D_FLAG : A_FLAG);
  }

  let out = rights;
  if ((rights & EPT_W) !== 0 && (dirty || !v.eptAd)) out |= EPT_W_CACHE;
  if (spp) out |= EPT_SPP;
  c.eptRights = out;
  const pageSize = 2 ** (3 + 9 * level);
  const frame = (hi & HI_ADDR) * TWO32 + ((lo & 0xfffff000) >>> 0);
  const base = frame - (frame % pageSize);
  return base + (gpa % pageSize);
}

/** The EPT violation for a write that the TLB's cached SPP mask denies (cpu/vmx-hooks.ts sppDenied). */
export function sppDeniedCached(c: Cpu, v: Vmx, lin: number, gpa: number, rights: number): never {
  return eptViolation(c, v, gpa, lin, ACC_WRITE, true, rights & 7);
}
