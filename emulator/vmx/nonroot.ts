// VMX non-root operation (SDM Vol. 3C chapter 25): which instructions and events cause VM exits,
// with their exit qualifications, and the changed behaviour of CR0/CR4 reads and writes under the
// guest/host masks. Called from cpu/ handlers through cpu/vmx-hooks.ts only when c.vmxNonRoot, and
// from cpu/interrupts.ts for exceptions (the exception bitmap) and at event boundaries.
import { Cpu, RCX, RSI, RDI, ES, DS, FS, IF, CR4_TSD, MODE_LONG64, CR0_TS } from '../cpu/state.ts';
import type { Insn } from '../cpu/insn.ts';
import { ud, gp0, PF, DB } from '../cpu/fault.ts';
import { VI_CPUID, VI_HLT, VI_INVD, VI_WBINVD, VI_RDPMC, VI_RDTSC, VI_RDTSCP, IOQ_STRING } from '../cpu/vmx-hooks.ts';
import { EV_EXTERNAL, EV_SOFTWARE, EV_EXCEPTION } from '../cpu/interrupts.ts';
import type { Vmx } from './state.ts';
import {
  ER_EXCEPTION, ER_EXT_INT, ER_TRIPLE_FAULT, ER_INT_WINDOW, ER_CPUID, ER_HLT, ER_INVD, ER_INVLPG, ER_RDPMC,
  ER_RDTSC, ER_CR_ACCESS, ER_MOV_DR, ER_IO, ER_RDMSR, ER_WRMSR, ER_PREEMPT, ER_RDTSCP, ER_WBINVD,
} from './state.ts';
import {
  PIN_EXT_INT, PIN_PREEMPT, PROC_INT_WINDOW, PROC_HLT, PROC_INVLPG, PROC_RDPMC, PROC_RDTSC, PROC_CR3_LOAD,
  PROC_CR3_STORE, PROC_CR8_LOAD, PROC_CR8_STORE, PROC_MOV_DR, PROC_UNCOND_IO, PROC_IO_BITMAPS,
  PROC_MSR_BITMAPS, PROC2_RDTSCP, PROC2_WBINVD, EXIT_ACK_INT,
} from './capabilities.ts';
import { exitInsn, vmExit, intrType } from './exit.ts';

const TWO32 = 4294967296;

// ---------------------------------------------------------------- instructions with one control

/** CPUID and INVD exit unconditionally (SDM 25.1.2); HLT, WBINVD, RDPMC, RDTSC, RDTSCP by control (25.1.3). */
export function insn(c: Cpu, v: Vmx, i: Insn, kind: number): void {
  switch (kind) {
    case VI_CPUID: exitInsn(c, v, i, ER_CPUID, 0);
    case VI_INVD: exitInsn(c, v, i, ER_INVD, 0);
    case VI_HLT: if (v.proc & PROC_HLT) exitInsn(c, v, i, ER_HLT, 0); return;
    case VI_WBINVD: if (v.proc2 & PROC2_WBINVD) exitInsn(c, v, i, ER_WBINVD, 0); return;
    case VI_RDPMC: if (v.proc & PROC_RDPMC) exitInsn(c, v, i, ER_RDPMC, 0); return;
    case VI_RDTSC: if (v.proc & PROC_RDTSC) exitInsn(c, v, i, ER_RDTSC, 0); return;
    case VI_RDTSCP:
      // "enable RDTSCP" = 0 makes RDTSCP #UD; then the CR4.TSD #GP; then "RDTSC exiting" (SDM 25.3).
      if (!(v.proc2 & PROC2_RDTSCP)) ud(c);
      if ((c.cr4 & CR4_TSD) && c.cpl > 0) gp0(c);
      if (v.proc & PROC_RDTSC) exitInsn(c, v, i, ER_RDTSCP, 0);
      return;
  }
}

/** INVLPG: exit qualification = the linear-address operand (SDM 27.2.1). */
export function invlpg(c: Cpu, v: Vmx, i: Insn, lin: number): void {
  if (v.proc & PROC_INVLPG) exitInsn(c, v, i, ER_INVLPG, lin);
}

// ---------------------------------------------------------------- I/O

/** Is any port of [port, port + size) set in the I/O bitmaps, or does the access wrap past FFFFH? (SDM 25.1.3) */
function ioBitmapExit(c: Cpu, v: Vmx, port: number, size: number): boolean {
  if (port + size > 0x10000) return true;
  for (let p = port; p < port + size; p++) {
    const map = p < 0x8000 ? v.ioBitmapA : v.ioBitmapB;
    const bit = p & 0x7fff;
    if ((c.mem.read(map + (bit >>> 3), 1) >> (bit & 7)) & 1) return true;
  }
  return false;
}

/** Address-size code of VM-exit instruction information (0 16-bit, 1 32-bit, 2 64-bit). */
function asCode(i: Insn): number { return i.addrSize === 16 ? 0 : i.addrSize === 32 ? 1 : 2; }

/**
 * IN/OUT/INS/OUTS. Exit qualification (SDM 27.2.1, Table 27-5): size - 1 (bits 2:0), direction,
 * string, REP, immediate operand (bits 3-6, from the handler), port (31:16). INS/OUTS also report
 * the guest-linear address of the memory operand and, in the instruction information (IA32_VMX_BASIC
 * [54] = 1), the address size (9:7) and the segment register (17:15) (SDM 27.2.5).
 */
export function io(c: Cpu, v: Vmx, i: Insn, port: number, size: number, q: number): void {
  const exits = (v.proc & PROC_IO_BITMAPS) ? ioBitmapExit(c, v, port, size) : (v.proc & PROC_UNCOND_IO) !== 0;
  if (!exits) return;
  const qual = (size - 1) | q | (port << 16);
  if ((q & IOQ_STRING) === 0) exitInsn(c, v, i, ER_IO, qual >>> 0);
  const ins = (q & 8) !== 0;
  const seg = ins ? ES : (i.segOverride >= 0 ? i.segOverride : DS);
  const reg = ins ? RDI : RSI;
  let off: number;
  if (i.addrSize === 64) off = c.rh[reg] * TWO32 + (c.rl[reg] >>> 0);
  else off = i.addrSize === 32 ? c.rl[reg] >>> 0 : c.rl[reg] & 0xffff;
  const segBase = i.mode === MODE_LONG64 ? (seg >= FS ? c.segBase[seg] : 0) : c.segBase[seg];
  let lin = off + segBase;
  if (i.mode !== MODE_LONG64) lin %= TWO32;
  exitInsn(c, v, i, ER_IO, qual >>> 0, (asCode(i) << 7) | (seg << 15), lin);
}

// ---------------------------------------------------------------- MSRs

/**
 * RDMSR/WRMSR: without MSR bitmaps every execution exits; with them, MSRs 0-1FFFH and
 * C0000000H-C0001FFFH exit when their bit is set (read-low at +0, read-high +400H, write-low +800H,
 * write-high +C00H), all other MSRs always exit (SDM 24.6.9, 25.1.3).
 */
export function msrExits(c: Cpu, v: Vmx, index: number, write: boolean): boolean {
  if (!(v.proc & PROC_MSR_BITMAPS)) return true;
  let off: number;
  if (index <= 0x1fff) off = 0;
  else if (index >= 0xc0000000 && index <= 0xc0001fff) off = 0x400;
  else return true;
  if (write) off += 0x800;
  const bit = index & 0x1fff;
  return ((c.mem.read(v.msrBitmap + off + (bit >>> 3), 1) >> (bit & 7)) & 1) !== 0;
}

export function msr(c: Cpu, v: Vmx, i: Insn, write: boolean): void {
  if (msrExits(c, v, c.rl[RCX] >>> 0, write)) exitInsn(c, v, i, write ? ER_WRMSR : ER_RDMSR, 0);
}

// ---------------------------------------------------------------- control and debug registers

// Control-register access exit qualification (SDM 27.2.1, Table 27-3): CR number (3:0), access
// type (5:4: 0 MOV to CR, 1 MOV from CR, 2 CLTS, 3 LMSW), LMSW operand type (6), GPR (11:8),
// LMSW source data (31:16).
const CRQ_TO = 0, CRQ_FROM = 1 << 4, CRQ_CLTS = 2 << 4, CRQ_LMSW = 3 << 4, CRQ_LMSW_MEM = 1 << 6;

/** MOV to CR: exit, or the value to write (host-owned CR0/CR4 bits keep their current values). */
export function movToCr(c: Cpu, v: Vmx, i: Insn, cr: number, lo: number, hi: number): number {
  const gpr = i.rm << 8;
  switch (cr) {
    case 0:
      // Exit if any host-owned bit would differ from the read shadow (SDM 25.1.3).
      if (((lo ^ v.cr0Shadow) & v.cr0Mask) !== 0 || ((hi ^ v.cr0ShadowHi) & v.cr0MaskHi) !== 0) exitInsn(c, v, i, ER_CR_ACCESS, 0 | CRQ_TO | gpr);
      return (lo & ~v.cr0Mask) | (c.cr0 & v.cr0Mask);
    case 4:
      if (((lo ^ v.cr4Shadow) & v.cr4Mask) !== 0 || ((hi ^ v.cr4ShadowHi) & v.cr4MaskHi) !== 0) exitInsn(c, v, i, ER_CR_ACCESS, 4 | CRQ_TO | gpr);
      return (lo & ~v.cr4Mask) | (c.cr4 & v.cr4Mask);
    case 3:
      if (v.proc & PROC_CR3_LOAD) {
        // No exit for one of the first CR3-target-count target values (SDM 24.6.7).
        const val = i.mode === MODE_LONG64 ? hi * TWO32 + (lo >>> 0) : lo >>> 0;
        let hit = false;
        for (let k = 0; k < v.cr3Count && k < 4; k++) if (v.cr3Targets[k] === val) hit = true;
        if (!hit) exitInsn(c, v, i, ER_CR_ACCESS, 3 | CRQ_TO | gpr);
      }
      return lo;
    case 8:
      if (v.proc & PROC_CR8_LOAD) exitInsn(c, v, i, ER_CR_ACCESS, 8 | CRQ_TO | gpr);
      return lo;
    default:
      return lo;
  }
}

export function movFromCr(c: Cpu, v: Vmx, i: Insn, cr: number): void {
  if (cr === 3 && (v.proc & PROC_CR3_STORE)) exitInsn(c, v, i, ER_CR_ACCESS, 3 | CRQ_FROM | (i.rm << 8));
  if (cr === 8 && (v.proc & PROC_CR8_STORE)) exitInsn(c, v, i, ER_CR_ACCESS, 8 | CRQ_FROM | (i.rm << 8));
}

/** Guest view of CR0/CR4: host-owned bits read from the read shadow (SDM 25.3). */
export function shadowCr(v: Vmx, cr: number, value: number): number {
  return cr === 0 ? (value & ~v.cr0Mask) | (v.cr0Shadow & v.cr0Mask) : (value & ~v.cr4Mask) | (v.cr4Shadow & v.cr4Mask);
}

/** CLTS: exits if TS is host-owned and set in the shadow; if host-owned and clear there, TS is left alone (SDM 25.1.3, 25.3). */
export function clts(c: Cpu, v: Vmx, i: Insn): boolean {
  if ((v.cr0Mask & CR0_TS) === 0) return true;
  if (v.cr0Shadow & CR0_TS) exitInsn(c, v, i, ER_CR_ACCESS, 0 | CRQ_CLTS);
  return false;
}

/**
 * LMSW: exits if a host-owned bit among 3:0 would change from its shadow value (PE only when
 * being set: LMSW cannot clear it); otherwise host-owned bits are not modified (SDM 25.1.3, 25.3).
 * A memory operand's linear address goes to the guest-linear-address field.
 */
export function lmsw(c: Cpu, v: Vmx, i: Insn, src: number, lin: number): number {
  const m = v.cr0Mask & 0xf, sh = v.cr0Shadow & 0xf;
  const peExit = (m & 1) !== 0 && (sh & 1) === 0 && (src & 1) !== 0;
  if (peExit || ((src ^ sh) & m & 0xe) !== 0) {
    const qual = 0 | CRQ_LMSW | (lin >= 0 ? CRQ_LMSW_MEM : 0) | ((src & 0xffff) << 16);
    exitInsn(c, v, i, ER_CR_ACCESS, qual >>> 0, -1, lin >= 0 ? lin : NaN);
  }
  return (src & ~m) | (c.cr0 & m);
}

/** MOV DR: exit qualification DR number (2:0), direction (4: 1 = MOV from DR), GPR (11:8) (SDM Table 27-4). */
export function movDr(c: Cpu, v: Vmx, i: Insn, dr: number, toDr: boolean): void {
  if (v.proc & PROC_MOV_DR) exitInsn(c, v, i, ER_MOV_DR, (dr & 7) | (toDr ? 0 : 1 << 4) | (i.rm << 8));
}

// ---------------------------------------------------------------- events

/**
 * Exception bitmap (SDM 24.6.3, 25.2): an exception (hardware, or INT3/INTO/INT1) with its bit set
 * exits instead of being delivered; #PF exits when (error code AND mask) = match with bit 14 set,
 * or ≠ match with it clear. The exit qualification is the #PF linear address or the #DB DR6 bits
 * (SDM 27.2.1). Returns true if it exited.
 */
export function interceptException(c: Cpu, v: Vmx, vec: number, kind: number, hasCode: boolean, code: number): boolean {
  if (kind === EV_EXTERNAL || kind === EV_SOFTWARE || vec > 31) return false;
  let exits: boolean;
  if (vec === PF) exits = ((code & v.pfecMask) === v.pfecMatch) === ((v.excBitmap & (1 << PF)) !== 0);
  else exits = ((v.excBitmap >>> vec) & 1) !== 0;
  if (!exits) return false;
  const x = v.x;
  x.reset();
  const type = intrType(kind, vec);
  x.intrInfo = ((vec & 0xff) | (type << 8) | (hasCode ? 0x800 : 0) | 0x80000000) >>> 0;
  x.intrCode = code;
  x.qual = vec === PF ? c.pfAddr : vec === DB ? c.dr[6] & 0x600f : 0;
  if (kind !== EV_EXCEPTION) x.len = c.nextRip - c.rip; // INT3/INTO/INT1: the instruction's length
  vmExit(c, v, ER_EXCEPTION);
  return true;
}

/**
 * At an instruction boundary, in priority order (SDM 6.9 and 25.2): VMX-preemption timer expired,
 * interrupt window (RFLAGS.IF = 1, no STI/MOV-SS blocking), then a pending external interrupt with
 * "external-interrupt exiting" (regardless of RFLAGS.IF, SDM 25.3; we treat STI/MOV-SS blocking
 * as blocking it, which the SDM leaves implementation-specific). With "acknowledge interrupt on
 * exit" the controller is acknowledged and the vector reported (SDM 27.2.2).
 */
export function boundary(c: Cpu, v: Vmx): boolean {
  const x = v.x;
  if ((v.pin & PIN_PREEMPT) && c.now() >= c.vmxTimerDeadline) {
    x.reset();
    vmExit(c, v, ER_PREEMPT);
    return true;
  }
  const blocked = c.icount < c.inhibitUntil;
  if ((v.proc & PROC_INT_WINDOW) && (c.flags & IF) && !blocked) {
    x.reset();
    vmExit(c, v, ER_INT_WINDOW);
    return true;
  }
  if ((v.pin & PIN_EXT_INT) && !blocked && c.intr !== null && c.intr.hasInterrupt()) {
    x.reset();
    if (v.exitCtls & EXIT_ACK_INT) x.intrInfo = ((c.intr.acknowledge() & 0xff) | 0x80000000) >>> 0;
    vmExit(c, v, ER_EXT_INT);
    return true;
  }
  return false;
}

export function tripleFault(c: Cpu, v: Vmx): void {
  v.x.reset();
  vmExit(c, v, ER_TRIPLE_FAULT);
}

