// Control flow and the stack: Jcc, JMP, CALL, RET, LOOP/JrCXZ, PUSH/POP (all forms), ENTER/LEAVE,
// PUSHF/POPF, INT3/INT n/INTO, HLT, CLI/STI, flag instructions and group 5 (SDM Vol. 2A/2B).
import { Cpu, RSP, RBP, CS, SS, DS, ES, FS, GS, MODE_REAL, IF, DF, TF, AC, ID, IOPL, NT, RF, VM, VIF, VIP, CF } from '../state.ts';
import type { Insn, Handler } from '../insn.ts';
import { def, Imm } from '../decoder.ts';
import { cond, getArith, setArith, getRflags, setRflags } from '../flags.ts';
import { set16, set32 } from '../regs.ts';
import { rd16, rd32, rd64 } from '../memaccess.ts';
import { push16, push32, push64, pop16, pop32, pop64, pushSized, popSized, adjustSp, peekSized } from '../stack.ts';
import { gp0, BP, DB, OFV } from '../fault.ts';
import { loadDataSeg } from '../segments.ts';
import { deliverEvent, EV_SOFTWARE, EV_SOFT_EXCEPTION, EV_PRIV_SOFT_EXCEPTION } from '../interrupts.ts';
import { pickIncDec } from './alu.ts';
import { readE, writeE } from './operands.ts';
import { jmpFar, callFar } from './far.ts';
import { VI_HLT } from '../vmx-hooks.ts';

const TWO32 = 4294967296;

/** Set the branch target, truncated to the operand size outside 64-bit mode; #GP(0) if non-canonical. */
function branchTo(c: Cpu, i: Insn, target: number): void {
  if (i.opSize === 64) {
    if (target < -140737488355328 || target >= 140737488355328) gp0(c);
    c.nextRip = target;
  } else if (i.opSize === 32) {
    c.nextRip = ((target % TWO32) + TWO32) % TWO32;
  } else c.nextRip = target & 0xffff;
}

// ---- Jcc, JMP rel, CALL rel ----
const jcc: Handler = (c, i) => { if (cond(c, i.imm2)) branchTo(c, i, c.nextRip + i.imm); };
const jmpRel: Handler = (c, i) => branchTo(c, i, c.nextRip + i.imm);
const callRel: Handler = (c, i) => {
  const ret = c.nextRip;
  const target = c.nextRip + i.imm;
  if (i.opSize === 64 && (target < -140737488355328 || target >= 140737488355328)) gp0(c);
  pushRip(c, i.opSize, ret);
  branchTo(c, i, target);
};
function pushRip(c: Cpu, size: number, v: number): void {
  if (size === 64) push64(c, (v % TWO32) | 0, Math.floor(v / TWO32) | 0);
  else if (size === 32) push32(c, v | 0);
  else push16(c, v);
}
for (let cc = 0; cc < 16; cc++) {
  def(0x70 + cc, { name: 'jcc Jb', modrm: false, imm: Imm.Ib, f64: true, pick: (i) => { i.imm2 = cc; return i.lock ? undefined : jcc; } });
  def(0x180 + cc, { name: 'jcc Jz', modrm: false, imm: Imm.Iz, f64: true, pick: (i) => { i.imm2 = cc; return i.lock ? undefined : jcc; } });
}
def(0xe9, { name: 'jmp Jz', modrm: false, imm: Imm.Iz, f64: true, pick: (i) => (i.lock ? undefined : jmpRel) });
def(0xeb, { name: 'jmp Jb', modrm: false, imm: Imm.Ib, f64: true, pick: (i) => (i.lock ? undefined : jmpRel) });
def(0xe8, { name: 'call Jz', modrm: false, imm: Imm.Iz, f64: true, pick: (i) => (i.lock ? undefined : callRel) });

// ---- RET near ----
const retNear: Handler = (c, i) => {
  // Read, check, then release: a #GP for a non-canonical target leaves RSP unchanged (SDM Vol. 3A 6.5).
  const lo = peekSized(c, i.opSize, 0);
  const target = i.opSize === 64 ? c.tmpHi * TWO32 + (lo >>> 0) : lo >>> 0;
  if (i.opSize === 64 && (target < -140737488355328 || target >= 140737488355328)) gp0(c);
  adjustSp(c, (i.opSize >> 3) + i.imm);
  c.nextRip = target;
};
def(0xc3, { name: 'ret', modrm: false, imm: Imm.None, f64: true, pick: (i) => { i.imm = 0; return i.lock ? undefined : retNear; } });
def(0xc2, { name: 'ret Iw', modrm: false, imm: Imm.Iw, f64: true, pick: (i) => (i.lock ? undefined : retNear) });

// ---- LOOP / LOOPE / LOOPNE / JrCXZ: the count register follows the address size ----
function decCount(c: Cpu, i: Insn): boolean {
  if (i.addrSize === 64) {
    const lo = c.rl[1];
    c.rl[1] = lo - 1;
    if (lo === 0) c.rh[1] = c.rh[1] - 1;
    return (c.rl[1] | c.rh[1]) !== 0;
  }
  if (i.addrSize === 32) { c.rl[1] = c.rl[1] - 1; c.rh[1] = 0; return c.rl[1] !== 0; } // ECX write zero-extends (host CPU)
  set16(c, 1, c.rl[1] - 1); return (c.rl[1] & 0xffff) !== 0;
}
const loop: Handler = (c, i) => {
  const nz = decCount(c, i);
  let take = nz;
  if (i.imm2 === 0) take = nz && !cond(c, 4); // LOOPNE: ZF = 0
  else if (i.imm2 === 1) take = nz && cond(c, 4); // LOOPE: ZF = 1
  if (take) branchTo(c, i, c.nextRip + i.imm);
};
const jrcxz: Handler = (c, i) => {
  const z = i.addrSize === 64 ? (c.rl[1] | c.rh[1]) === 0 : i.addrSize === 32 ? c.rl[1] === 0 : (c.rl[1] & 0xffff) === 0;
  if (z) branchTo(c, i, c.nextRip + i.imm);
};
for (let k = 0; k < 3; k++) def(0xe0 + k, { name: ['loopne', 'loope', 'loop'][k] + ' Jb', modrm: false, imm: Imm.Ib, f64: true, pick: (i) => { i.imm2 = k; return i.lock ? undefined : loop; } });
def(0xe3, { name: 'jrcxz Jb', modrm: false, imm: Imm.Ib, f64: true, pick: (i) => (i.lock ? undefined : jrcxz) });

// ---- PUSH / POP general registers (50-5F), immediates (68, 6A), POP Ev (8F) ----
const pushR: Handler = (c, i) => {
  if (i.opSize === 64) push64(c, c.rl[i.rm], c.rh[i.rm]);
  else if (i.opSize === 32) push32(c, c.rl[i.rm]);
  else push16(c, c.rl[i.rm]);
};
const popR: Handler = (c, i) => {
  if (i.opSize === 64) { const lo = pop64(c); c.rl[i.rm] = lo; c.rh[i.rm] = c.tmpHi; }
  else if (i.opSize === 32) set32(c, i.rm, pop32(c));
  else set16(c, i.rm, pop16(c));
};
for (let r = 0; r < 8; r++) {
  def(0x50 + r, { name: 'push r', modrm: false, imm: Imm.None, d64: true, pick: (i) => { i.rm = r | ((i.rex & 1) << 3); return i.lock ? undefined : pushR; } });
  def(0x58 + r, { name: 'pop r', modrm: false, imm: Imm.None, d64: true, pick: (i) => { i.rm = r | ((i.rex & 1) << 3); return i.lock ? undefined : popR; } });
}
const pushI: Handler = (c, i) => pushSized(c, i.opSize, i.imm, i.imm >> 31);
def(0x68, { name: 'push Iz', modrm: false, imm: Imm.Iz, d64: true, pick: (i) => (i.lock ? undefined : pushI) });
def(0x6a, { name: 'push Ib', modrm: false, imm: Imm.Ib, d64: true, pick: (i) => (i.lock ? undefined : pushI) });
const popE: Handler = (c, i) => {
  // The value is popped first; a memory destination using RSP is computed after the increment (SDM POP).
  const save0 = c.rl[RSP], save1 = c.rh[RSP];
  const lo = popSized(c, i.opSize);
  const hi = c.tmpHi;
  try { writeE(c, i, i.opSize, lo, hi); } catch (e) { c.rl[RSP] = save0; c.rh[RSP] = save1; throw e; }
};
def(0x8f, { name: 'pop Ev', modrm: true, imm: Imm.None, d64: true, pick: (i) => ((i.reg & 7) !== 0 || i.lock ? undefined : popE) });

// ---- PUSH / POP segment registers ----
const pushSeg: Handler = (c, i) => {
  const v = c.segSel[i.imm2];
  // A 32-bit push of a segment register writes 16 bits on recent processors; we write the zero-extended value (SDM permits either).
  pushSized(c, i.opSize, v, 0);
};
const popSeg: Handler = (c, i) => {
  const v = peekSized(c, i.opSize, 0) & 0xffff;
  loadDataSeg(c, i.imm2, v);
  adjustSp(c, i.opSize >> 3);
  if (i.imm2 === SS) { c.inhibitUntil = c.ssShadowUntil = c.icount + 2; c.checkEvents = true; }
};
const segPush = [[0x06, ES], [0x0e, CS], [0x16, SS], [0x1e, DS]];
for (const [op, s] of segPush) def(op, { name: 'push Sreg', modrm: false, imm: Imm.None, i64: true, pick: (i) => { i.imm2 = s; return i.lock ? undefined : pushSeg; } });
for (const [op, s] of [[0x07, ES], [0x17, SS], [0x1f, DS]]) def(op, { name: 'pop Sreg', modrm: false, imm: Imm.None, i64: true, pick: (i) => { i.imm2 = s; return i.lock ? undefined : popSeg; } });
def(0x1a0, { name: 'push fs', modrm: false, imm: Imm.None, d64: true, pick: (i) => { i.imm2 = FS; return i.lock ? undefined : pushSeg; } });
def(0x1a8, { name: 'push gs', modrm: false, imm: Imm.None, d64: true, pick: (i) => { i.imm2 = GS; return i.lock ? undefined : pushSeg; } });
def(0x1a1, { name: 'pop fs', modrm: false, imm: Imm.None, d64: true, pick: (i) => { i.imm2 = FS; return i.lock ? undefined : popSeg; } });
def(0x1a9, { name: 'pop gs', modrm: false, imm: Imm.None, d64: true, pick: (i) => { i.imm2 = GS; return i.lock ? undefined : popSeg; } });

// ---- ENTER / LEAVE ----
const enter: Handler = (c, i) => {
  const size = i.opSize;
  const bytes = size >> 3;
  const level = i.imm2 & 31;
  // Push rBP, then copy level-1 frame pointers, then push the new frame pointer (SDM ENTER).
  const saveSpL = c.rl[RSP], saveSpH = c.rh[RSP];
  try {
    pushSized(c, size, c.rl[RBP], c.rh[RBP]);
    const frameL = c.rl[RSP], frameH = c.rh[RSP];
    if (level > 0) {
      let bpL = c.rl[RBP], bpH = c.rh[RBP];
      for (let k = 1; k < level; k++) {
        const lo = (bpL >>> 0) - bytes;
        bpH = (bpH + (lo < 0 ? -1 : 0)) | 0; bpL = lo | 0;
        const addr = c.stackSize === 64 ? bpH * TWO32 + (bpL >>> 0) : ((c.stackSize === 32 ? bpL >>> 0 : bpL & 0xffff) + c.segBase[SS]) % TWO32;
        const v = size === 64 ? rd64(c, addr) : size === 32 ? rd32(c, addr) : rd16(c, addr);
        pushSized(c, size, v, c.tmpHi);
      }
      pushSized(c, size, frameL, frameH);
    }
    adjustSp(c, -i.imm);
    if (size === 64) { c.rl[RBP] = frameL; c.rh[RBP] = frameH; }
    else if (size === 32) c.rl[RBP] = frameL;
    else set16(c, RBP, frameL);
  } catch (e) { c.rl[RSP] = saveSpL; c.rh[RSP] = saveSpH; throw e; }
};
const leave: Handler = (c, i) => {
  // rSP = rBP (in the stack size), then pop rBP.
  const saveL = c.rl[RSP], saveH = c.rh[RSP];
  if (c.stackSize === 64) { c.rl[RSP] = c.rl[RBP]; c.rh[RSP] = c.rh[RBP]; }
  else if (c.stackSize === 32) c.rl[RSP] = c.rl[RBP];
  else set16(c, RSP, c.rl[RBP]);
  let lo: number;
  // A fault in the pop leaves RSP as it was before LEAVE (SDM Vol. 3A 6.5).
  try { lo = popSized(c, i.opSize); } catch (e) { c.rl[RSP] = saveL; c.rh[RSP] = saveH; throw e; }
  if (i.opSize === 64) { c.rl[RBP] = lo; c.rh[RBP] = c.tmpHi; }
  else if (i.opSize === 32) c.rl[RBP] = lo; // upper half of RBP is unchanged outside 64-bit operand size
  else set16(c, RBP, lo);
};
def(0xc8, { name: 'enter Iw,Ib', modrm: false, imm: Imm.IwIb, d64: true, pick: (i) => (i.lock ? undefined : enter) });
def(0xc9, { name: 'leave', modrm: false, imm: Imm.None, d64: true, pick: (i) => (i.lock ? undefined : leave) });

// ---- PUSHF / POPF (SDM Vol. 2B POPF: which bits are writable depends on CPL and IOPL) ----
const pushf: Handler = (c, i) => {
  if ((c.flags & VM) && ((c.flags & IOPL) >> 12) < 3) gp0(c);
  const v = getRflags(c) & ~(RF | VM); // RF and VM read as 0 in the pushed image
  pushSized(c, i.opSize, v, 0);
};
const popf: Handler = (c, i) => {
  if ((c.flags & VM) && ((c.flags & IOPL) >> 12) < 3) gp0(c);
  const v = popSized(c, i.opSize);
  const iopl = (c.flags & IOPL) >> 12;
  let writable = 0x7fd5 | AC | ID | DF | TF | NT; // arithmetic, TF, DF, OF, NT, AC, ID...
  writable &= ~(IF | IOPL);
  if (c.cpl === 0) writable |= IF | IOPL;
  else if (c.cpl <= iopl) writable |= IF;
  if (i.opSize === 16) writable &= 0xffff;
  writable &= ~(VM | RF | VIF | VIP);
  setRflags(c, v, writable);
  if (i.opSize !== 16) c.flags &= ~RF; // SDM POPF: "RF is cleared" for 32/64-bit operands
};
def(0x9c, { name: 'pushf', modrm: false, imm: Imm.None, d64: true, pick: (i) => (i.lock ? undefined : pushf) });
def(0x9d, { name: 'popf', modrm: false, imm: Imm.None, d64: true, pick: (i) => (i.lock ? undefined : popf) });

// ---- flag instructions ----
const clc: Handler = (c) => setArith(c, getArith(c) & ~CF);
const stc: Handler = (c) => setArith(c, getArith(c) | CF);
const cmc: Handler = (c) => setArith(c, getArith(c) ^ CF);
const cld: Handler = (c) => { c.flags &= ~DF; };
const std: Handler = (c) => { c.flags |= DF; };
// CLI/STI need CPL <= IOPL in protected mode (no VME/PVI support) (SDM Vol. 2A CLI).
function iopl(c: Cpu): boolean { return c.mode === MODE_REAL && !(c.flags & VM) ? true : c.cpl <= ((c.flags & IOPL) >> 12); }
const cli: Handler = (c) => { if (!iopl(c)) gp0(c); c.flags &= ~IF; };
const sti: Handler = (c) => {
  if (!iopl(c)) gp0(c);
  if (!(c.flags & IF)) { c.flags |= IF; c.inhibitUntil = c.icount + 2; } // one-instruction shadow (SDM Vol. 3A 6.8.3)
  c.checkEvents = true;
};
for (const [op, h, n] of [[0xf5, cmc, 'cmc'], [0xf8, clc, 'clc'], [0xf9, stc, 'stc'], [0xfa, cli, 'cli'], [0xfb, sti, 'sti'], [0xfc, cld, 'cld'], [0xfd, std, 'std']] as [number, Handler, string][]) {
  def(op, { name: n, modrm: false, imm: Imm.None, pick: (i) => (i.lock ? undefined : h) });
}

// ---- HLT: CPL 0 only; stops until an interrupt (or the next timer event) ----
const hlt: Handler = (c, i) => {
  if (c.cpl !== 0) gp0(c);
  if (c.vmxNonRoot) c.vmx!.insn(c, i, VI_HLT); // "HLT exiting" (SDM Vol. 3C 25.1.3)
  c.halted = true;
  c.checkEvents = true;
};
def(0xf4, { name: 'hlt', modrm: false, imm: Imm.None, pick: (i) => (i.lock ? undefined : hlt) });

// ---- INT3, INT n, INTO: software interrupts return to the next instruction ----
const int3: Handler = (c) => { deliverEvent(c, BP, EV_SOFT_EXCEPTION, false, 0); };
const intn: Handler = (c, i) => {
  if ((c.flags & VM) && ((c.flags & IOPL) >> 12) < 3) gp0(c);
  deliverEvent(c, i.imm & 0xff, EV_SOFTWARE, false, 0);
};
const into: Handler = (c) => { if (cond(c, 0)) deliverEvent(c, OFV, EV_SOFT_EXCEPTION, false, 0); };
def(0xcc, { name: 'int3', modrm: false, imm: Imm.None, pick: (i) => (i.lock ? undefined : int3) });
def(0xcd, { name: 'int Ib', modrm: false, imm: Imm.Ib, pick: (i) => (i.lock ? undefined : intn) });
def(0xce, { name: 'into', modrm: false, imm: Imm.None, i64: true, pick: (i) => (i.lock ? undefined : into) });
// INT1 (F1, ICEBP): #DB as a privileged software exception (no gate-DPL check, RIP of the next
// instruction; SDM Vol. 2A INT n/INTO/INT3/INT1). DR6 is left as it is.
const int1: Handler = (c) => { deliverEvent(c, DB, EV_PRIV_SOFT_EXCEPTION, false, 0); };
def(0xf1, { name: 'int1', modrm: false, imm: Imm.None, pick: () => int1 });

// ---- group 5 (FF): INC, DEC, CALL Ev, CALL Mp, JMP Ev, JMP Mp, PUSH Ev ----
const callE: Handler = (c, i) => {
  const lo = readE(c, i, i.opSize);
  const target = i.opSize === 64 ? c.tmpHi * TWO32 + (lo >>> 0) : lo >>> 0;
  if (i.opSize === 64 && (target < -140737488355328 || target >= 140737488355328)) gp0(c);
  pushRip(c, i.opSize, c.nextRip);
  c.nextRip = i.opSize === 16 ? target & 0xffff : target;
};
const jmpE: Handler = (c, i) => {
  const lo = readE(c, i, i.opSize);
  const target = i.opSize === 64 ? c.tmpHi * TWO32 + (lo >>> 0) : lo >>> 0;
  if (i.opSize === 64 && (target < -140737488355328 || target >= 140737488355328)) gp0(c);
  c.nextRip = i.opSize === 16 ? target & 0xffff : target;
};
const pushE: Handler = (c, i) => {
  const lo = readE(c, i, i.opSize);
  pushSized(c, i.opSize, lo, c.tmpHi);
};
/** Far pointer in memory: offset (16/32/64 bits by operand size) followed by a 16-bit selector. */
const farE: Handler = (c, i) => {
  const a = i.ea(c, i);
  let off: number, selAddr: number;
  if (i.opSize === 64) { const lo = rd64(c, a); off = c.tmpHi * TWO32 + (lo >>> 0); selAddr = a + 8; }
  else if (i.opSize === 32) { off = rd32(c, a) >>> 0; selAddr = a + 4; }
  else { off = rd16(c, a); selAddr = a + 2; }
  const sel = rd16(c, selAddr);
  if (i.imm2 === 3) callFar(c, i, sel, off); else jmpFar(c, i, sel, off);
};
def(0xff, {
  name: 'grp5 Ev', modrm: true, imm: Imm.None, lockable: true,
  pick: (i) => {
    const r = i.reg & 7;
    // Near CALL/JMP are 64-bit in 64-bit mode regardless of 66 on Intel; PUSH defaults to 64.
    if (i.mode === 3 && (r === 2 || r === 4)) i.opSize = 64;
    if (i.mode === 3 && r === 6 && i.opSize === 32) i.opSize = 64;
    switch (r) {
      case 0: case 1: i.name = r === 0 ? 'inc Ev' : 'dec Ev'; return pickIncDec(i);
      case 2: i.name = 'call Ev'; return i.lock ? undefined : callE;
      case 3: case 5: i.name = r === 3 ? 'call Mp' : 'jmp Mp'; i.imm2 = r; return i.lock || i.mod === 3 ? undefined : farE;
      case 4: i.name = 'jmp Ev'; return i.lock ? undefined : jmpE;
      case 6: i.name = 'push Ev'; return i.lock ? undefined : pushE;
      default: return undefined;
    }
  },
});

