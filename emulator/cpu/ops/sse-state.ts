// Group 15 (0F AE): FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, CLFLUSH, LFENCE, MFENCE, SFENCE, and
// with F3 RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE (SDM Vol. 2A/2B; opcode map Table A-6).
// XSAVE/XRSTOR/XSAVEOPT, CLFLUSHOPT and CLWB are not implemented (#UD).
import { Cpu, CR0_EM, CR0_TS, CR4_FSGSBASE, FS, GS, MODE_LONG64 } from '../state.ts';
import type { Handler, Insn } from '../insn.ts';
import { rd32, rd64, wr32, wr64 } from '../memaccess.ts';
import { translate, ACC_READ } from '../paging.ts';
import { raise, UD, NM, GP } from '../fault.ts';
import { set32 } from '../regs.ts';
import { chk, sse, NP, PF3, eaAligned, probeWrite } from './sse-common.ts';

/** Writable MXCSR bits: DAZ (bit 6) is not supported (SDM Vol. 1 11.6.6 default mask). */
export const MXCSR_MASK = 0xffbf;
const FCW_RESET = 0x037f;

/** FXSAVE/FXRSTOR: #UD if CR0.EM, #NM if CR0.TS; CR4.OSFXSR is not checked (SDM Vol. 2A FXSAVE). */
function fxCheck(c: Cpu): void {
  if ((c.cr0 & CR0_EM) !== 0) raise(c, UD, 0);
  if ((c.cr0 & CR0_TS) !== 0) raise(c, NM, 0);
}

/**
 * FXSAVE m512 (SDM Vol. 2A FXSAVE, Vol. 1 Table 10-2). x87 is not implemented, so the x87 part is
 * the state after FNINIT: FCW 037FH, FSW 0, abridged FTW 0 (all empty), FOP/IP/DP 0, ST0-7 zero.
 * MXCSR at 24, MXCSR_MASK at 28, XMM0-15 at 160 (XMM0-7 outside 64-bit mode; bytes 288-511 then,
 * and bytes 416-511 always, are left untouched). With REX.W the IP/DP fields are 64-bit
 * offsets; without it selector + 32-bit offset: both are zero here, so the layouts coincide.
 */
const fxsave: Handler = (c, i) => {
  fxCheck(c);
  const a = eaAligned(c, i);
  const n = c.mode === MODE_LONG64 ? 16 : 8;
  const end = 160 + n * 16;
  probeWrite(c, a, end); // the whole area is checked for write before anything is stored
  wr32(c, a, FCW_RESET);        // FCW, FSW
  wr32(c, a + 4, 0);            // FTW, reserved, FOP
  wr64(c, a + 8, 0, 0);         // FPU IP (+ CS)
  wr64(c, a + 16, 0, 0);        // FPU DP (+ DS)
  wr32(c, a + 24, c.mxcsr);
  wr32(c, a + 28, MXCSR_MASK);
  for (let k = 32; k < 160; k += 8) wr64(c, a + k, 0, 0); // ST0-ST7 / MM0-MM7 with their reserved bytes
  const x = c.xmm;
  for (let r = 0; r < n; r++) {
    wr64(c, a + 160 + r * 16, x[r * 4], x[r * 4 + 1]);
    wr64(c, a + 168 + r * 16, x[r * 4 + 2], x[r * 4 + 3]);
  }
};

const fxImage = new Int32Array(64);
/** FXRSTOR m512: MXCSR (reserved bits set → #GP(0)) and XMM registers; the x87 image is ignored. */
const fxrstor: Handler = (c, i) => {
  fxCheck(c);
  const a = eaAligned(c, i);
  const n = c.mode === MODE_LONG64 ? 16 : 8;
  const m = rd32(c, a + 24);
  for (let k = 0; k < n * 4; k += 2) { fxImage[k] = rd64(c, a + 160 + k * 4); fxImage[k + 1] = c.tmpHi; }
  if ((m & ~MXCSR_MASK) !== 0) raise(c, GP, 0);
  c.mxcsr = m;
  for (let k = 0; k < n * 4; k++) c.xmm[k] = fxImage[k];
};

/** LDMXCSR m32: reserved bits → #GP(0) (SDM Vol. 2A LDMXCSR). */
const ldmxcsr: Handler = (c, i) => {
  chk(c);
  const v = rd32(c, i.ea(c, i));
  if ((v & ~MXCSR_MASK) !== 0) raise(c, GP, 0);
  c.mxcsr = v;
};
const stmxcsr: Handler = (c, i) => { chk(c); wr32(c, i.ea(c, i), c.mxcsr); };

/** CLFLUSH m8: caches are not modelled; the access is checked like a byte load (SDM Vol. 2A CLFLUSH). */
const clflush: Handler = (c, i) => { translate(c, i.ea(c, i), ACC_READ, c.cpl === 3); };
/** LFENCE/MFENCE/SFENCE: instructions execute in order here, so the fences have nothing to do. */
const fence: Handler = (c, i) => { void c; void i; };

// ---- RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE (F3 0F AE /0-/3, register form, 64-bit mode only) ----
const TWO32 = 4294967296;
function fsgsCheck(c: Cpu): void { if ((c.cr4 & CR4_FSGSBASE) === 0) raise(c, UD, 0); }
const rdbase: Handler = (c, i) => {
  fsgsCheck(c);
  const v = c.segBase[i.imm2];
  const hi = Math.floor(v / TWO32);
  const lo = (v - hi * TWO32) | 0;
  if ((i.rex & 8) !== 0) { c.rl[i.rm] = lo; c.rh[i.rm] = hi | 0; } else set32(c, i.rm, lo);
};
const wrbase: Handler = (c, i) => {
  fsgsCheck(c);
  const v = (i.rex & 8) !== 0 ? c.rh[i.rm] * TWO32 + (c.rl[i.rm] >>> 0) : c.rl[i.rm] >>> 0;
  if (v < -140737488355328 || v >= 140737488355328) raise(c, GP, 0); // non-canonical
  c.segBase[i.imm2] = v;
};

const GRP15_MEM = ['fxsave', 'fxrstor', 'ldmxcsr', 'stmxcsr', 'xsave', 'xrstor', 'xsaveopt', 'clflush'];
const GRP15_F3 = ['rdfsbase', 'rdgsbase', 'wrfsbase', 'wrgsbase'];
function group15(i: Insn): Handler | undefined {
  const r = i.reg & 7;
  if (i.mod !== 3) {
    i.name = GRP15_MEM[r];
    switch (r) {
      case 0: return fxsave;
      case 1: return fxrstor;
      case 2: return ldmxcsr;
      case 3: return stmxcsr;
      case 7: return clflush;
      default: return undefined;
    }
  }
  if (r < 5) return undefined;
  i.name = r === 5 ? 'lfence' : r === 6 ? 'mfence' : 'sfence';
  return fence;
}
function group15f3(i: Insn): Handler | undefined {
  const r = i.reg & 7;
  if (i.mod !== 3 || r > 3 || i.mode !== MODE_LONG64) return undefined;
  i.name = GRP15_F3[r];
  i.imm2 = (r & 1) === 0 ? FS : GS;
  return r < 2 ? rdbase : wrbase;
}
sse(0x1ae, NP, { name: 'grp15', pick: group15 });
sse(0x1ae, PF3, { name: 'grp15', pick: group15f3 });
