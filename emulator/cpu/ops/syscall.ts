// Fast system calls: SYSCALL/SYSRET (SDM Vol. 2B SYSCALL, SYSRET; Vol. 3A 5.8.8) and
// SYSENTER/SYSEXIT (SDM Vol. 2B SYSENTER, SYSEXIT; Vol. 3A 5.8.7). These load CS and SS with fixed
// flat descriptors computed from the MSRs instead of reading the GDT.
import {
  Cpu, CS, SS, RCX, RDX, RSP, IF, RF, VM, EFER_SCE, EFER_LMA, CR0_PE, MODE_LONG64,
} from '../state.ts';
import type { Handler } from '../insn.ts';
import { getRflags, setRflags } from '../flags.ts';
import { gp0, ud } from '../fault.ts';
import { updateMode } from '../segments.ts';

const TWO32 = 4294967296;
// segAttr values: type | S | DPL | P | L | D/B | G (descriptor bits 40..55, see state.ts).
const CODE64_DPL0 = 0xa09b, CODE32_DPL0 = 0xc09b, DATA_DPL0 = 0xc093;
const CODE64_DPL3 = 0xa0fb, CODE32_DPL3 = 0xc0fb, DATA_DPL3 = 0xc0f3;

function flat(c: Cpu, seg: number, sel: number, attr: number): void {
  c.segSel[seg] = sel; c.segBase[seg] = 0; c.segLimit[seg] = 0xffffffff; c.segAttr[seg] = attr;
}

/** SYSCALL (0F 05), valid in 64-bit mode only (decoded o64) and only with IA32_EFER.SCE = 1. */
export const syscall: Handler = (c) => {
  if ((c.efer & EFER_SCE) === 0) ud(c);
  const ret = c.nextRip;
  const flags = getRflags(c);
  c.setReg64(RCX, ret);
  c.rl[11] = flags; c.rh[11] = 0; // R11 ← RFLAGS
  const sel = (c.starHi & 0xffff) & 0xfffc; // STAR[47:32]
  flat(c, CS, sel, CODE64_DPL0);
  flat(c, SS, ((c.starHi & 0xffff) + 8) & 0xffff, DATA_DPL0);
  setRflags(c, flags & ~c.sfmask & ~RF, 0xffffffff);
  updateMode(c);
  c.nextRip = c.lstar;
};

/**
 * SYSRET (0F 07): 64-bit mode (decoded o64), SCE = 1, CPL 0. REX.W returns to 64-bit mode at RCX
 * (which must be canonical: #GP(0) before any state changes, as on Intel processors), otherwise to
 * compatibility mode at ECX. RFLAGS ← (R11 AND 3C7FD7H) OR 2.
 */
export const sysret: Handler = (c, i) => {
  if ((c.efer & EFER_SCE) === 0) ud(c);
  if (c.cpl !== 0) gp0(c);
  const base = (c.starHi >>> 16) & 0xffff; // STAR[63:48]
  let rip: number;
  if (i.opSize === 64) {
    const hi = c.rh[RCX];
    if (((hi << 16) >> 16) !== hi) gp0(c);
    rip = hi * TWO32 + (c.rl[RCX] >>> 0);
    flat(c, CS, ((base + 16) & 0xffff) | 3, CODE64_DPL3);
  } else {
    rip = c.rl[RCX] >>> 0;
    flat(c, CS, base | 3, CODE32_DPL3);
  }
  // SS.Selector ← STAR[63:48] + 8 with RPL 3; the descriptor cache gets fixed flat values.
  flat(c, SS, ((base + 8) & 0xffff) | 3, DATA_DPL3);
  setRflags(c, (c.rl[11] & 0x3c7fd7) | 2, 0xffffffff);
  updateMode(c);
  c.nextRip = rip;
};

/** SYSENTER (0F 34): protected mode with IA32_SYSENTER_CS[15:2] ≠ 0, else #GP(0). */
export const sysenter: Handler = (c) => {
  if ((c.cr0 & CR0_PE) === 0 || (c.sysenterCs & 0xfffc) === 0) gp0(c);
  const long = (c.efer & EFER_LMA) !== 0;
  setRflags(c, getRflags(c) & ~(VM | IF | RF), 0xffffffff);
  const sel = c.sysenterCs & 0xfffc;
  flat(c, CS, sel, long ? CODE64_DPL0 : CODE32_DPL0);
  flat(c, SS, (sel + 8) & 0xffff, DATA_DPL0);
  if (long) c.setReg64(RSP, c.sysenterEsp);
  else { c.rl[RSP] = c.sysenterEsp | 0; c.rh[RSP] = 0; }
  updateMode(c);
  c.nextRip = long ? c.sysenterEip : (c.sysenterEip % TWO32 + TWO32) % TWO32;
};

/**
 * SYSEXIT (0F 35): CPL 0 in protected mode with IA32_SYSENTER_CS[15:2] ≠ 0. REX.W returns to
 * 64-bit mode (CS = SYSENTER_CS + 32, SS = + 40; RIP ← RDX, RSP ← RCX, both canonical), otherwise to
 * 32-bit code (CS = + 16, SS = + 24; EIP ← EDX, ESP ← ECX).
 */
export const sysexit: Handler = (c, i) => {
  if ((c.cr0 & CR0_PE) === 0 || (c.sysenterCs & 0xfffc) === 0 || c.cpl !== 0) gp0(c);
  const cs = c.sysenterCs & 0xffff;
  if (i.opSize === 64 && i.mode === MODE_LONG64) {
    const rh = c.rh[RDX], sh = c.rh[RCX];
    if (((rh << 16) >> 16) !== rh || ((sh << 16) >> 16) !== sh) gp0(c);
    flat(c, CS, ((cs + 32) & 0xfffc) | 3, CODE64_DPL3);
    flat(c, SS, ((cs + 40) & 0xfffc) | 3, DATA_DPL3);
    c.nextRip = c.getReg64(RDX);
    c.rl[RSP] = c.rl[RCX]; c.rh[RSP] = c.rh[RCX];
  } else {
    flat(c, CS, ((cs + 16) & 0xfffc) | 3, CODE32_DPL3);
    flat(c, SS, ((cs + 24) & 0xfffc) | 3, DATA_DPL3);
    c.nextRip = c.rl[RDX] >>> 0;
    c.rl[RSP] = c.rl[RCX]; c.rh[RSP] = 0;
  }
  updateMode(c);
};
