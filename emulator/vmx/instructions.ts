// The VMX instructions (SDM Vol. 3C chapter 30, "Operation" of each): VMXON, VMXOFF, VMCLEAR, VMPTRLD,
// VMPTRST, VMREAD, VMWRITE, VMLAUNCH, VMRESUME, VMCALL, INVEPT, INVVPID — every #UD, #GP,
// VMfailInvalid and VMfailValid path in the SDM's order — and their decoder entries:
//   0F 01 C1 VMCALL, C2 VMLAUNCH, C3 VMRESUME, C4 VMXOFF; 0F C7 /6 (memory) VMPTRLD, 66 → VMCLEAR,
//   F3 → VMXON; 0F C7 /7 (memory) VMPTRST; 0F 78 VMREAD; 0F 79 VMWRITE; 66 0F 38 80 INVEPT, 81 INVVPID.
// A register operand where the SDM requires memory, and a prefix the SDM does not list, is #UD at decode.
//
// Status conventions (SDM 30.2): VMsucceed clears CF PF AF ZF SF OF; VMfailInvalid sets CF (others 0);
// VMfailValid(n) sets ZF (others 0) and writes n to the VM-instruction error field of the current
// VMCS. VMfail(n) is VMfailInvalid when there is no current VMCS, else VMfailValid(n).
import { Cpu, CF, ZF, CR0_PE, CR4_VMXE, EFER_LMA, VM, MODE_LONG64 } from '../cpu/state.ts';
import type { Insn, Handler } from '../cpu/insn.ts';
import { def, Imm } from '../cpu/decoder.ts';
import { ud, gp0 } from '../cpu/fault.ts';
import { setArith } from '../cpu/flags.ts';
import { rd32, rd64, wr32, wr64 } from '../cpu/memaccess.ts';
import { MAXPHYADDR } from '../cpu/paging.ts';
import { setGroup7RegForm } from '../cpu/ops/system.ts';
import { registerGroup9 } from '../cpu/ops/atomic.ts';
import { fieldOffset, accessWidth, fieldType, T_EXIT_INFO } from './fields.ts';
import { readAt, writeAt, vmcsHi, launchState, setLaunchState, setInstructionError } from './vmcs.ts';
import {
  type Vmx, vmxOf, INVALID_PTR, ER_VMCALL, ER_VMCLEAR, ER_VMLAUNCH, ER_VMPTRLD, ER_VMPTRST, ER_VMREAD,
  ER_VMRESUME, ER_VMWRITE, ER_VMXOFF, ER_VMXON, ER_INVEPT, ER_INVVPID,
} from './state.ts';
import {
  VMCS_REVISION, CR0_FIXED0, CR0_FIXED1, CR4_FIXED0, cr4Fixed1, eptCapLo, vpidCapHi,
  EPT_CAP_INVEPT_SINGLE, EPT_CAP_INVEPT_ALL,
} from './capabilities.ts';
import { features } from './features.ts';
import { exitInsn } from './exit.ts';
import { vmEntry } from './entry.ts';
import { eptpValid } from './entry-checks.ts';

const TWO32 = 4294967296;
const CANON = 140737488355328;

/** Status of a VMX operation: OK, FAIL_INVALID, or a VM-instruction error number (SDM 30.4) for VMfail. */
export const OK = 0, FAIL_INVALID = -1;
export const ERR_VMCALL_ROOT = 1, ERR_VMCLEAR_ADDR = 2, ERR_VMCLEAR_VMXON = 3, ERR_VMLAUNCH_NONCLEAR = 4,
  ERR_VMRESUME_NONLAUNCHED = 5, ERR_VMPTRLD_ADDR = 9, ERR_VMPTRLD_VMXON = 10, ERR_VMPTRLD_REVISION = 11,
  ERR_UNSUPPORTED_FIELD = 12, ERR_READONLY_FIELD = 13, ERR_VMXON_ROOT = 15, ERR_MOVSS = 26, ERR_INVALID_OPERAND = 28;

/** Apply a status to RFLAGS (and the VM-instruction error field). */
export function finish(c: Cpu, v: Vmx, st: number): void {
  if (st === OK) setArith(c, 0);
  else if (st === FAIL_INVALID || v.current === INVALID_PTR) setArith(c, CF);
  else { setArith(c, ZF); setInstructionError(c, v.current, st); }
}

function compat(c: Cpu): boolean { return (c.efer & EFER_LMA) !== 0 && c.mode !== MODE_LONG64; }

/** The #UD conditions shared by all VMX instructions but VMXON and VMCALL. */
function common(c: Cpu): Vmx {
  const v = c.vmx as Vmx | null;
  if (v === null || !v.on || (c.cr0 & CR0_PE) === 0 || (c.flags & VM) !== 0 || compat(c)) ud(c);
  return v;
}

/** A 64-bit physical-address operand as a number; -1 if it sets bits beyond MAXPHYADDR. */
export function ptrOf(lo: number, hi: number): number {
  return (hi >>> 0) >= (1 << (MAXPHYADDR - 32)) ? -1 : hi * TWO32 + (lo >>> 0);
}
function readPtr(c: Cpu, i: Insn): number {
  const lo = rd64(c, i.ea(c, i));
  return ptrOf(lo, c.tmpHi);
}
function pageAligned(p: number): boolean { return p >= 0 && p % 4096 === 0; }

// ---- VM-exit instruction information (SDM 27.2.5, Tables 27-9, 27-13, 27-14)
function asCode(i: Insn): number { return i.addrSize === 16 ? 0 : i.addrSize === 32 ? 1 : 2; }
/** Memory-operand part: scaling, address size, segment, index and base registers (with invalid bits). */
function memInfo(i: Insn): number {
  let info = (i.scale & 3) | (asCode(i) << 7) | ((i.seg & 7) << 15);
  info |= i.index >= 0 ? (i.index & 15) << 18 : 1 << 22;
  info |= i.base >= 0 && i.base < 16 ? (i.base & 15) << 23 : 1 << 27;
  return info;
}
/** VMX instruction in non-root operation: exit qualification = displacement of a memory operand. */
function exitVmx(c: Cpu, v: Vmx, i: Insn, reason: number, info: number): never {
  return exitInsn(c, v, i, reason, i.mod === 3 ? 0 : i.disp, info >>> 0);
}
function exitVmxMem(c: Cpu, v: Vmx, i: Insn, reason: number): never { return exitVmx(c, v, i, reason, memInfo(i)); }
/** VMREAD/VMWRITE: Reg1 (6:3) and bit 10 for a register operand, Reg2 (31:28) = the encoding register. */
function rwInfo(i: Insn): number {
  return (i.mod === 3 ? ((i.rm & 15) << 3) | (1 << 10) | (asCode(i) << 7) : memInfo(i)) | ((i.reg & 15) << 28);
}

// ---------------------------------------------------------------- VMXON / VMXOFF

/** CR0 and CR4 hold values supported in VMX operation (SDM 23.8, A.7, A.8). */
function fixedBitsOk(c: Cpu): boolean {
  const cr0 = c.cr0 | 0, cr4 = c.cr4 | 0;
  return (cr0 & CR0_FIXED0) === (CR0_FIXED0 | 0) && (cr0 & ~CR0_FIXED1) === 0 &&
    (cr4 & CR4_FIXED0) === CR4_FIXED0 && (cr4 & ~cr4Fixed1()) === 0;
}

/** VMXON outside VMX operation after the #UD checks: #GP checks, then the VMXON pointer (SDM 30.3 VMXON). */
export function vmxonOutside(c: Cpu, v: Vmx, i: Insn | null, hostPtr: number): number {
  // IA32_FEATURE_CONTROL: lock (bit 0) and VMXON outside SMX (bit 2); there is no SMX operation here.
  if (c.cpl > 0 || !fixedBitsOk(c) || (c.featureControl & 1) === 0 || (c.featureControl & 4) === 0) gp0(c);
  const ptr = i !== null ? readPtr(c, i) : hostPtr;
  if (!pageAligned(ptr)) return FAIL_INVALID;
  // Revision identifier: bits 30:0 must match, bit 31 must be 0.
  if ((c.mem.read(ptr, 4) >>> 0) !== VMCS_REVISION) return FAIL_INVALID;
  v.on = true;
  v.vmxon = ptr;
  v.current = INVALID_PTR;
  c.cr0Fixed0 = CR0_FIXED0;
  c.cr4Fixed0 = CR4_FIXED0;
  return OK;
}

const vmxon: Handler = (c, i) => {
  if ((c.cr0 & CR0_PE) === 0 || (c.cr4 & CR4_VMXE) === 0 || (c.flags & VM) !== 0 || compat(c)) ud(c);
  const v = vmxOf(c);
  if (!v.on) { finish(c, v, vmxonOutside(c, v, i, 0)); return; }
  if (c.vmxNonRoot) exitVmxMem(c, v, i, ER_VMXON);
  if (c.cpl > 0) gp0(c);
  finish(c, v, ERR_VMXON_ROOT);
};

const vmxoff: Handler = (c, i) => {
  const v = common(c);
  if (c.vmxNonRoot) exitInsn(c, v, i, ER_VMXOFF, 0);
  if (c.cpl > 0) gp0(c);
  // No dual-monitor treatment of SMIs and SMM: leave VMX operation.
  v.on = false;
  c.cr0Fixed0 = 0;
  c.cr4Fixed0 = 0;
  finish(c, v, OK);
};

// ---------------------------------------------------------------- VMCLEAR / VMPTRLD / VMPTRST

export function vmclearOp(c: Cpu, v: Vmx, ptr: number): number {
  if (!pageAligned(ptr)) return ERR_VMCLEAR_ADDR;
  if (ptr === v.vmxon) return ERR_VMCLEAR_VMXON;
  // The VMCS data is always in memory here (writes go through); only the launch state changes.
  setLaunchState(c, ptr, false);
  if (ptr === v.current) v.current = INVALID_PTR;
  return OK;
}

export function vmptrldOp(c: Cpu, v: Vmx, ptr: number): number {
  if (!pageAligned(ptr)) return ERR_VMPTRLD_ADDR;
  if (ptr === v.vmxon) return ERR_VMPTRLD_VMXON;
  // Bit 31 set (a shadow VMCS) fails too: VMCS shadowing is not supported.
  if ((c.mem.read(ptr, 4) >>> 0) !== VMCS_REVISION) return ERR_VMPTRLD_REVISION;
  v.current = ptr;
  return OK;
}

const vmclear: Handler = (c, i) => {
  const v = common(c);
  if (c.vmxNonRoot) exitVmxMem(c, v, i, ER_VMCLEAR);
  if (c.cpl > 0) gp0(c);
  finish(c, v, vmclearOp(c, v, readPtr(c, i)));
};

const vmptrld: Handler = (c, i) => {
  const v = common(c);
  if (c.vmxNonRoot) exitVmxMem(c, v, i, ER_VMPTRLD);
  if (c.cpl > 0) gp0(c);
  finish(c, v, vmptrldOp(c, v, readPtr(c, i)));
};

const vmptrst: Handler = (c, i) => {
  const v = common(c);
  if (c.vmxNonRoot) exitVmxMem(c, v, i, ER_VMPTRST);
  if (c.cpl > 0) gp0(c);
  const a = i.ea(c, i);
  if (v.current === INVALID_PTR) wr64(c, a, -1, -1);
  else wr64(c, a, v.current | 0, Math.floor(v.current / TWO32));
  finish(c, v, OK);
};

// ---------------------------------------------------------------- VMREAD / VMWRITE

/** VMREAD of component (encLo, encHi) of the current VMCS: status; the value in readLo/readHi. */
export let readLo = 0, readHi = 0;
export function vmreadOp(c: Cpu, v: Vmx, encLo: number, encHi: number): number {
  if (v.current === INVALID_PTR) return FAIL_INVALID;
  const off = fieldOffset(encLo, encHi);
  if (off < 0) return ERR_UNSUPPORTED_FIELD;
  readLo = readAt(c, v.current + off, accessWidth(encLo));
  readHi = vmcsHi;
  return OK;
}

export function vmwriteOp(c: Cpu, v: Vmx, encLo: number, encHi: number, lo: number, hi: number): number {
  if (v.current === INVALID_PTR) return FAIL_INVALID;
  const off = fieldOffset(encLo, encHi);
  if (off < 0) return ERR_UNSUPPORTED_FIELD;
  // VM-exit information fields are read-only: IA32_VMX_MISC[29] ("VMWRITE to any field") is 0.
  if (fieldType(encLo) === T_EXIT_INFO) return ERR_READONLY_FIELD;
  writeAt(c, v.current + off, accessWidth(encLo), lo, hi);
  return OK;
}

// VMREAD r/m64, r64 (32-bit operands outside 64-bit mode): the encoding is ModRM.reg, the destination ModRM.rm.
const vmread: Handler = (c, i) => {
  const v = common(c);
  if (c.vmxNonRoot) exitVmx(c, v, i, ER_VMREAD, rwInfo(i)); // no VMCS shadowing: VMREAD always exits
  if (c.cpl > 0) gp0(c);
  const long = i.mode === MODE_LONG64;
  const st = vmreadOp(c, v, c.rl[i.reg], long ? c.rh[i.reg] : 0);
  if (st === OK) {
    // A narrower field is zero-extended; outside 64-bit mode only the low 32 bits are stored.
    if (i.mod === 3) { c.rl[i.rm] = readLo; c.rh[i.rm] = long ? readHi : 0; }
    else {
      const a = i.ea(c, i);
      if (long) wr64(c, a, readLo, readHi); else wr32(c, a, readLo);
    }
  }
  finish(c, v, st);
};

// VMWRITE r64, r/m64: the encoding is ModRM.reg, the value ModRM.rm (register or memory).
const vmwrite: Handler = (c, i) => {
  const v = common(c);
  if (c.vmxNonRoot) exitVmx(c, v, i, ER_VMWRITE, rwInfo(i));
  if (c.cpl > 0) gp0(c);
  const long = i.mode === MODE_LONG64;
  let lo: number, hi: number;
  if (i.mod === 3) { lo = c.rl[i.rm]; hi = long ? c.rh[i.rm] : 0; }
  else {
    const a = i.ea(c, i);
    if (long) { lo = rd64(c, a); hi = c.tmpHi; } else { lo = rd32(c, a); hi = 0; }
  }
  finish(c, v, vmwriteOp(c, v, c.rl[i.reg], long ? c.rh[i.reg] : 0, lo, hi));
};

// ---------------------------------------------------------------- VMLAUNCH / VMRESUME / VMCALL

/** VMLAUNCH/VMRESUME after the #UD, exit and #GP checks (SDM 30.3): status, or OK once VM entry ran. */
export function launchOp(c: Cpu, v: Vmx, launch: boolean): number {
  if (v.current === INVALID_PTR) return FAIL_INVALID;
  if (c.icount < c.ssShadowUntil) return ERR_MOVSS;
  const ls = launchState(c, v.current);
  if (launch && ls !== 0) return ERR_VMLAUNCH_NONCLEAR;
  if (!launch && ls !== 1) return ERR_VMRESUME_NONLAUNCHED;
  return vmEntry(c, v, launch);
}

function launchOrResume(c: Cpu, i: Insn, launch: boolean): void {
  const v = common(c);
  if (c.vmxNonRoot) exitInsn(c, v, i, launch ? ER_VMLAUNCH : ER_VMRESUME, 0);
  if (c.cpl > 0) gp0(c);
  const st = launchOp(c, v, launch);
  if (st !== OK) finish(c, v, st); // else the guest (or, after a VM-entry failure, the host) continues
}
const vmlaunch: Handler = (c, i) => launchOrResume(c, i, true);
const vmresume: Handler = (c, i) => launchOrResume(c, i, false);

const vmcall: Handler = (c, i) => {
  const v = c.vmx as Vmx | null;
  if (v === null || !v.on) ud(c);
  if (c.vmxNonRoot) exitInsn(c, v, i, ER_VMCALL, 0);
  if ((c.flags & VM) !== 0 || compat(c)) ud(c);
  if (c.cpl > 0) gp0(c);
  // No dual-monitor treatment of SMIs and SMM (IA32_VMX_BASIC[49] = 0): "VMCALL executed in VMX root operation".
  finish(c, v, ERR_VMCALL_ROOT);
};

// ---------------------------------------------------------------- INVEPT / INVVPID

/** The register operand of INVEPT/INVVPID: 64 bits in 64-bit mode, else 32. */
function typeOperand(c: Cpu, i: Insn): [number, number] {
  return [c.rl[i.reg] >>> 0, i.mode === MODE_LONG64 ? c.rh[i.reg] : 0];
}

const invept: Handler = (c, i) => {
  if (!features.ept) ud(c); // "#UD if the logical processor does not support EPT" (SDM 30.3 INVEPT)
  const v = common(c);
  if (c.vmxNonRoot) exitVmx(c, v, i, ER_INVEPT, memInfo(i) | ((i.reg & 15) << 28));
  if (c.cpl > 0) gp0(c);
  const [type, typeHi] = typeOperand(c, i);
  const caps = eptCapLo();
  if (typeHi !== 0 || !((type === 1 && (caps & EPT_CAP_INVEPT_SINGLE)) || (type === 2 && (caps & EPT_CAP_INVEPT_ALL)))) {
    finish(c, v, ERR_INVALID_OPERAND);
    return;
  }
  const a = i.ea(c, i);
  const eptpLo = rd64(c, a), eptpHi = c.tmpHi;
  rd64(c, a + 8); // the descriptor is 128 bits
  if (type === 1 && !eptpValid(eptpLo, eptpHi)) { finish(c, v, ERR_INVALID_OPERAND); return; }
  v.tlbs.invept(type, type === 1 ? eptpHi * TWO32 + ((eptpLo & 0xfffff000) >>> 0) : 0); // that EPTP (1) or all (2)
  finish(c, v, OK);
};

const invvpid: Handler = (c, i) => {
  if (!features.vpid) ud(c);
  const v = common(c);
  if (c.vmxNonRoot) exitVmx(c, v, i, ER_INVVPID, memInfo(i) | ((i.reg & 15) << 28));
  if (c.cpl > 0) gp0(c);
  const [type, typeHi] = typeOperand(c, i);
  // Types 0 individual-address, 1 single-context, 2 all-context, 3 single-context-retaining-globals
  // are supported when IA32_VMX_EPT_VPID_CAP bits 40-43 say so.
  if (typeHi !== 0 || type > 3 || ((vpidCapHi() >>> (8 + type)) & 1) === 0) { finish(c, v, ERR_INVALID_OPERAND); return; }
  const a = i.ea(c, i);
  const d0 = rd64(c, a), d1 = c.tmpHi;
  const linLo = rd64(c, a + 8), linHi = c.tmpHi;
  if ((d0 & 0xffff0000) !== 0 || d1 !== 0) { finish(c, v, ERR_INVALID_OPERAND); return; } // bits 63:16 reserved
  const vpid = d0 & 0xffff;
  if (type !== 2 && vpid === 0) { finish(c, v, ERR_INVALID_OPERAND); return; }
  if (type === 0) {
    const lin = linHi * TWO32 + (linLo >>> 0);
    if (lin < -CANON || lin >= CANON) { finish(c, v, ERR_INVALID_OPERAND); return; }
    const off = lin & 0xfff;
    v.tlbs.invvpid(0, vpid, (lin - off) / 4096);
  } else v.tlbs.invvpid(type, vpid, 0);
  finish(c, v, OK);
};

// ---------------------------------------------------------------- decoder entries

let registered = false;
export function registerVmxInstructions(): void {
  if (registered) return;
  registered = true;
  setGroup7RegForm(0xc1, vmcall);
  setGroup7RegForm(0xc2, vmlaunch);
  setGroup7RegForm(0xc3, vmresume);
  setGroup7RegForm(0xc4, vmxoff);
  // 0F C7 /6 and /7 with a memory operand; the register forms (RDRAND, RDSEED, RDPID) are not implemented.
  registerGroup9(6, (i) => {
    if (i.mod === 3) return undefined;
    return i.mandatory === 0 ? vmptrld : i.mandatory === 0x66 ? vmclear : i.mandatory === 0xf3 ? vmxon : undefined;
  });
  registerGroup9(7, (i) => (i.mod === 3 || i.mandatory !== 0 ? undefined : vmptrst));
  // 64-bit operands in 64-bit mode whatever REX.W says (f64); 66/F2/F3 select other instructions (#UD here).
  def(0x178, { name: 'vmread', modrm: true, imm: Imm.None, f64: true, pick: (i) => (i.mandatory !== 0 ? undefined : vmread) });
  def(0x179, { name: 'vmwrite', modrm: true, imm: Imm.None, f64: true, pick: (i) => (i.mandatory !== 0 ? undefined : vmwrite) });
  def(0x280, { name: 'invept', modrm: true, imm: Imm.None, f64: true, pick: (i) => (i.mandatory === 0x66 && i.mod !== 3 ? invept : undefined) });
  def(0x281, { name: 'invvpid', modrm: true, imm: Imm.None, f64: true, pick: (i) => (i.mandatory === 0x66 && i.mod !== 3 ? invvpid : undefined) });
}
