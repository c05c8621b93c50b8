// Linear → physical translation (SDM Vol. 3A chapter 4): none, 32-bit, PAE and 4-level paging with
// U/S, R/W, NX, CR0.WP, SMEP, accessed/dirty updates, 4 MiB / 2 MiB / 1 GiB pages and global pages.
// A successful translation of a RAM page is cached in the TLB with precomputed permissions.
// Guest-physical addresses of paging-structure entries and of the final page go through
// `c.gpaToHpa` when EPT is active (the 2-D walk, SDM Vol. 3C 29.3); otherwise they are host-physical.
import {
  Cpu, CR0_PG, CR0_WP, CR4_PAE, CR4_PSE, CR4_PGE, CR4_SMEP, EFER_LMA, EFER_NXE,
} from './state.ts';
import { pf } from './fault.ts';
import {
  P_RS, P_WS, P_XS, P_RU, P_WU, P_XU, P_GLOBAL, P_LARGE, P_SPP, P_GW_S, P_GW_U, EPT_R, EPT_X, EPT_W_CACHE, EPT_SPP,
} from './tlb.ts';

export const ACC_READ = 0, ACC_WRITE = 1, ACC_EXEC = 2;
/** Supported physical-address width (CPUID.80000008H:EAX[7:0]). */
export const MAXPHYADDR = 40;
const TWO32 = 4294967296;
// Bits 51:MAXPHYADDR of an entry's high dword are reserved (SDM Vol. 3A 4.5, Table 4-14 etc.).
const HI_RSVD = 0x000fffff & ~((1 << (MAXPHYADDR - 32)) - 1);
const HI_ADDR = (1 << (MAXPHYADDR - 32)) - 1;

// #PF error code bits (SDM Vol. 3A 4.7).
export const PFEC_P = 1, PFEC_W = 2, PFEC_U = 4, PFEC_RSVD = 8, PFEC_ID = 16;

let entLo = 0, entHi = 0;

function readEntry64(c: Cpu, hpa: number): void {
  if (hpa + 8 <= c.ramSize) {
    entLo = c.ramView.getInt32(hpa, true);
    entHi = c.ramView.getInt32(hpa + 4, true);
  } else {
    entLo = c.mem.read(hpa, 4) | 0;
    entHi = c.mem.read(hpa + 4, 4) | 0;
  }
}

/** Set A/D bits of the entry at `hpa`; under EPT the update is a data write to `gpa` (SDM Vol. 3C 29.3.3.2). */
function setBits(c: Cpu, hpa: number, gpa: number, lin: number, bits: number): void {
  const v = c.mem.read(hpa, 4) | 0;
  if ((v & bits) === bits) return;
  if (c.gpaToHpa !== null) c.gpaToHpa(c, gpa, ACC_WRITE, lin, 0);
  c.mem.write(hpa, 4, (v | bits) >>> 0);
}

/** Host-physical address of a guest-physical one (identity unless EPT is active); size 0 = paging-structure entry. */
function g2h(c: Cpu, gpa: number, acc: number, lin: number, size: number): number {
  return c.gpaToHpa === null ? gpa : c.gpaToHpa(c, gpa, acc, lin, size);
}

/**
 * Cache a translation made under EPT: the guest's permissions ANDed with the EPT rights (SDM Vol. 3C
 * 29.4.2, "combined mappings"). Writes are cached only when EPT lets them through without a further
 * A/D or PML action; an SPP page caches its 32-bit sub-page write mask instead of write permission.
 */
function fillUnderEpt(c: Cpu, vpn: number, hpa: number, gpa: number, perm: number): void {
  const e = c.eptRights;
  let mask = 0;
  if (e & EPT_SPP) {
    perm |= P_SPP | (perm & P_WS ? P_GW_S : 0) | (perm & P_WU ? P_GW_U : 0);
    mask = c.eptSppMask;
  }
  if ((e & EPT_R) === 0) perm &= ~(P_RS | P_RU);
  if ((e & EPT_W_CACHE) === 0) perm &= ~(P_WS | P_WU);
  if ((e & EPT_X) === 0) perm &= ~(P_XS | P_XU);
  c.tlb.fill(vpn, hpa, perm, mask, gpa, e);
}

function fault(c: Cpu, lin: number, acc: number, user: boolean, present: boolean, rsvd: boolean): never {
  let code = (present ? PFEC_P : 0) | (acc === ACC_WRITE ? PFEC_W : 0) | (user ? PFEC_U : 0) | (rsvd ? PFEC_RSVD : 0);
  // I/D is reported only with SMEP, or with NXE under PAE/4-level paging (SDM Vol. 3A 4.7).
  if (acc === ACC_EXEC && (((c.efer & EFER_NXE) && (c.cr4 & CR4_PAE)) || (c.cr4 & CR4_SMEP))) code |= PFEC_ID;
  return pf(c, lin, code);
}

/**
 * Translate linear address `lin` for an access of kind `acc` (user = CPL 3 data/fetch access).
 * Returns the host-physical address and caches RAM pages in the TLB; raises #PF on failure.
 */
export function translate(c: Cpu, lin: number, acc: number, user: boolean, size = 1): number {
  const off = lin & 0xfff;
  const vpn = (lin - off) / 4096;
  if ((c.cr0 & CR0_PG) === 0) {
    const gpa = lin < 0 ? lin + TWO32 * 65536 : lin; // never negative outside long mode
    const hpa = g2h(c, gpa - off, acc, lin, size);
    if (hpa + 4096 <= c.ramSize) {
      const all = P_RS | P_WS | P_XS | P_RU | P_WU | P_XU;
      if (c.gpaToHpa === null) c.tlb.fill(vpn, hpa, all, 0);
      else fillUnderEpt(c, vpn, hpa, gpa - off, all);
    }
    return hpa + off;
  }
  const nxe = (c.efer & EFER_NXE) !== 0;
  let rw = 1, us = 1, nx = 0, global = 0, large = false;
  let frame: number; // guest-physical address of the 4 KiB frame
  // Addresses of the entries used, for A/D updates after the checks pass.
  let e1 = -1, e2 = -1, e3 = -1, e4 = -1;
  let leafAddr: number;
  // Their guest-physical addresses (under EPT an A/D update is a guest write that EPT must allow).
  let g1 = 0, g2 = 0, g3 = 0, g4 = 0, leafGpa = 0;
  let dirty: number;

  if (c.efer & EFER_LMA) {
    const u = lin < 0 ? lin + 281474976710656 : lin; // 48-bit unsigned
    let base = Math.floor(c.cr3 / 4096) * 4096 % (TWO32 * (1 << (MAXPHYADDR - 32)));
    // PML4E
    e4 = g2h(c, g4 = base + (Math.floor(u / 549755813888) & 511) * 8, ACC_READ, lin, 0);
    readEntry64(c, e4);
    if ((entLo & 1) === 0) fault(c, lin, acc, user, false, false);
    if ((entHi & HI_RSVD) || (entLo & 0x80) || (!nxe && entHi < 0)) fault(c, lin, acc, user, true, true);
    rw &= entLo >> 1; us &= entLo >> 2; if (nxe && entHi < 0) nx = 1;
    base = (entHi & HI_ADDR) * TWO32 + ((entLo & 0xfffff000) >>> 0);
    // PDPTE
    e3 = g2h(c, g3 = base + (Math.floor(u / 1073741824) & 511) * 8, ACC_READ, lin, 0);
    readEntry64(c, e3);
    if ((entLo & 1) === 0) fault(c, lin, acc, user, false, false);
    if ((entHi & HI_RSVD) || (!nxe && entHi < 0)) fault(c, lin, acc, user, true, true);
    rw &= entLo >> 1; us &= entLo >> 2; if (nxe && entHi < 0) nx = 1;
    if (entLo & 0x80) {
      // 1 GiB page: bits 29:13 reserved (SDM Table 4-16).
      if (entLo & 0x3fffe000) fault(c, lin, acc, user, true, true);
      large = true; global = (entLo >> 8) & 1; dirty = entLo & 0x40; leafAddr = e3; leafGpa = g3; e3 = -1;
      frame = (entHi & HI_ADDR) * TWO32 + ((entLo & 0xc0000000) >>> 0) + (u % 1073741824 - u % 4096);
    } else {
      base = (entHi & HI_ADDR) * TWO32 + ((entLo & 0xfffff000) >>> 0);
      // PDE
      e2 = g2h(c, g2 = base + (Math.floor(u / 2097152) & 511) * 8, ACC_READ, lin, 0);
      readEntry64(c, e2);
      if ((entLo & 1) === 0) fault(c, lin, acc, user, false, false);
      if ((entHi & HI_RSVD) || (!nxe && entHi < 0)) fault(c, lin, acc, user, true, true);
      rw &= entLo >> 1; us &= entLo >> 2; if (nxe && entHi < 0) nx = 1;
      if (entLo & 0x80) {
        if (entLo & 0x1fe000) fault(c, lin, acc, user, true, true); // bits 20:13 reserved
        large = true; global = (entLo >> 8) & 1; dirty = entLo & 0x40; leafAddr = e2; leafGpa = g2; e2 = -1;
        frame = (entHi & HI_ADDR) * TWO32 + ((entLo & 0xffe00000) >>> 0) + (u % 2097152 - u % 4096);
      } else {
        base = (entHi & HI_ADDR) * TWO32 + ((entLo & 0xfffff000) >>> 0);
        e1 = g2h(c, g1 = base + (Math.floor(u / 4096) & 511) * 8, ACC_READ, lin, 0);
        readEntry64(c, e1);
        if ((entLo & 1) === 0) fault(c, lin, acc, user, false, false);
        if ((entHi & HI_RSVD) || (!nxe && entHi < 0)) fault(c, lin, acc, user, true, true);
        rw &= entLo >> 1; us &= entLo >> 2; if (nxe && entHi < 0) nx = 1;
        global = (entLo >> 8) & 1; dirty = entLo & 0x40; leafAddr = e1; leafGpa = g1; e1 = -1;
        frame = (entHi & HI_ADDR) * TWO32 + ((entLo & 0xfffff000) >>> 0);
      }
    }
  } else if (c.cr4 & CR4_PAE) {
    // PAE paging (SDM Vol. 3A 4.4): PDPTEs have no R/W, U/S or XD bits.
    const l = lin >>> 0;
    e3 = g2h(c, g3 = ((c.cr3 & 0xffffffe0) >>> 0) + (l >>> 30) * 8, ACC_READ, lin, 0); // unsigned even with CR3 bit 31 set
    readEntry64(c, e3);
    if ((entLo & 1) === 0) fault(c, lin, acc, user, false, false);
    if ((entHi & HI_RSVD) || (entLo & 0x1e6) || entHi < 0) fault(c, lin, acc, user, true, true);
    let base = (entHi & HI_ADDR) * TWO32 + ((entLo & 0xfffff000) >>> 0);
    e3 = -1; // PDPTEs have no accessed flag update in PAE mode (loaded at CR3 write)
    e2 = g2h(c, g2 = base + ((l >>> 21) & 511) * 8, ACC_READ, lin, 0);
    readEntry64(c, e2);
    if ((entLo & 1) === 0) fault(c, lin, acc, user, false, false);
    if ((entHi & HI_RSVD) || (!nxe && entHi < 0)) fault(c, lin, acc, user, true, true);
    rw &= entLo >> 1; us &= entLo >> 2; if (nxe && entHi < 0) nx = 1;
    if (entLo & 0x80) {
      if (entLo & 0x1fe000) fault(c, lin, acc, user, true, true);
      large = true; global = (entLo >> 8) & 1; dirty = entLo & 0x40; leafAddr = e2; leafGpa = g2; e2 = -1;
      frame = (entHi & HI_ADDR) * TWO32 + ((entLo & 0xffe00000) >>> 0) + ((l & 0x1ff000) >>> 0);
    } else {
      base = (entHi & HI_ADDR) * TWO32 + ((entLo & 0xfffff000) >>> 0);
      e1 = g2h(c, g1 = base + ((l >>> 12) & 511) * 8, ACC_READ, lin, 0);
      readEntry64(c, e1);
      if ((entLo & 1) === 0) fault(c, lin, acc, user, false, false);
      if ((entHi & HI_RSVD) || (!nxe && entHi < 0)) fault(c, lin, acc, user, true, true);
      rw &= entLo >> 1; us &= entLo >> 2; if (nxe && entHi < 0) nx = 1;
      global = (entLo >> 8) & 1; dirty = entLo & 0x40; leafAddr = e1; leafGpa = g1; e1 = -1;
      frame = (entHi & HI_ADDR) * TWO32 + ((entLo & 0xfffff000) >>> 0);
    }
  } else {
    // 32-bit paging (SDM Vol. 3A 4.3).
    const l = lin >>> 0;
    e2 = g2h(c, g2 = ((c.cr3 & 0xfffff000) >>> 0) + (l >>> 22) * 4, ACC_READ, lin, 0); // unsigned even with CR3 bit 31 set
    let pde = c.mem.read(e2, 4) | 0;
    if ((pde & 1) === 0) fault(c, lin, acc, user, false, false);
    rw &= pde >> 1; us &= pde >> 2;
    if ((pde & 0x80) && (c.cr4 & CR4_PSE)) {
      // 4 MiB page; PSE-36 puts address bits 39:32 in PDE bits 20:13.
      if (pde & 0x200000) fault(c, lin, acc, user, true, true);
      large = true; global = (pde >> 8) & 1; dirty = pde & 0x40; leafAddr = e2; leafGpa = g2; e2 = -1;
      frame = ((pde >> 13) & 0xff) * TWO32 + ((pde & 0xffc00000) >>> 0) + (l & 0x3ff000);
    } else {
      const base = (pde & 0xfffff000) >>> 0;
      e1 = g2h(c, g1 = base + ((l >>> 12) & 1023) * 4, ACC_READ, lin, 0);
      pde = c.mem.read(e1, 4) | 0;
      if ((pde & 1) === 0) fault(c, lin, acc, user, false, false);
      rw &= pde >> 1; us &= pde >> 2;
      global = (pde >> 8) & 1; dirty = pde & 0x40; leafAddr = e1; leafGpa = g1; e1 = -1;
      frame = (pde & 0xfffff000) >>> 0;
    }
  }
  rw &= 1; us &= 1;

  // Permission checks (SDM Vol. 3A 4.6).
  const wp = (c.cr0 & CR0_WP) !== 0;
  if (user) {
    if (!us) fault(c, lin, acc, user, true, false);
    if (acc === ACC_WRITE && !rw) fault(c, lin, acc, user, true, false);
    if (acc === ACC_EXEC && nx) fault(c, lin, acc, user, true, false);
  } else {
    if (acc === ACC_WRITE && wp && !rw) fault(c, lin, acc, user, true, false);
    if (acc === ACC_EXEC && (nx || (us && (c.cr4 & CR4_SMEP)))) fault(c, lin, acc, user, true, false);
  }

  // Accessed flags on every entry used; dirty on the leaf for writes (SDM Vol. 3A 4.8).
  if (e4 >= 0) setBits(c, e4, g4, lin, 0x20);
  if (e3 >= 0) setBits(c, e3, g3, lin, 0x20);
  if (e2 >= 0) setBits(c, e2, g2, lin, 0x20);
  if (e1 >= 0) setBits(c, e1, g1, lin, 0x20);
  const isWrite = acc === ACC_WRITE;
  setBits(c, leafAddr, leafGpa, lin, isWrite ? 0x60 : 0x20);
  if (isWrite) dirty = 0x40;

  const hpa = g2h(c, frame, acc, lin, size);
  if (hpa + 4096 <= c.ramSize) {
    let perm = P_RS | P_RU * us;
    if (dirty) perm |= (wp ? P_WS * rw : P_WS) | P_WU * (us & rw);
    if (!nx) perm |= P_XU * us | ((c.cr4 & CR4_SMEP) && us ? 0 : P_XS);
    if (global && (c.cr4 & CR4_PGE)) perm |= P_GLOBAL;
    if (large) perm |= P_LARGE;
    if (c.gpaToHpa === null) c.tlb.fill(vpn, hpa, perm, 0);
    else fillUnderEpt(c, vpn, hpa, frame, perm);
  }
  return hpa + off;
}
