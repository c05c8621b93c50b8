// SYSCALL/SYSRET and their MSRs: SDM Vol. 2B "SYSCALL—Fast System Call" and "SYSRET—Return From
// Fast System Call" (Operation and exception tables), Vol. 3A 5.8.8 "Fast System Calls in 64-Bit
// Mode" (IA32_STAR, IA32_LSTAR, IA32_CSTAR, IA32_FMASK), Vol. 4 Table 2-2 (MSR addresses).
// The segment attributes SYSCALL/SYSRET load are the fixed values of the Operation sections,
// compared with the emulator's descriptor cache (segAttr = descriptor bits 55:40 without the limit:
// type | S<<4 | DPL<<5 | P<<7 | L<<13 | D/B<<14 | G<<15).
// Complements tests/cpu/far.test.ts (round trip, SYSRET to compatibility mode, basic faults).
import { describe, it, expect } from 'vitest';
import { CODE, type Harness } from '../helpers/cpu-harness.ts';
import { exec1, userPaging } from '../cpu/sys-helpers.ts';
import { RAX, RCX, RDX, RSP, CS, SS, MODE_LONG64, MODE_COMPAT32 } from '../../emulator/cpu/state.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';
import { long64, prot32, rsp } from './helpers.ts';

const R11 = 11;
const UD = 6, GP = 13;
const STAR = 0xc0000081, LSTAR = 0xc0000082, CSTAR = 0xc0000083, FMASK = 0xc0000084, EFER = 0xc0000080;
// segAttr values from the Operation sections:
// SYSCALL CS: Type 11, S 1, DPL 0, P 1, L 1, D 0, G 1 → 0xA09B;  SS: Type 3, S 1, DPL 0, P 1, B 1, G 1 → 0xC093
// SYSRET  CS: Type 11, S 1, DPL 3, P 1, L 1 (64-bit) or D 1 (compat), G 1 → 0xA0FB / 0xC0FB;  SS: Type 3, DPL 3, B 1, G 1 → 0xC0F3
const CS_SYSCALL = 0xa09b, SS_SYSCALL = 0xc093, CS_SYSRET64 = 0xa0fb, CS_SYSRET32 = 0xc0fb, SS_SYSRET = 0xc0f3;

function wrmsr(h: Harness, idx: number, v: bigint): number {
  h.setReg(RCX, BigInt(idx)); h.setReg(RAX, v & 0xffffffffn); h.setReg(RDX, (v >> 32n) & 0xffffffffn);
  return exec1(h, [0x0f, 0x30]).vec;
}
function rdmsr(h: Harness, idx: number): bigint {
  h.setReg(RCX, BigInt(idx));
  expect(exec1(h, [0x0f, 0x32]).vec).toBe(-1);
  return (h.reg(RDX) << 32n) | h.reg(RAX);
}
/** CPL 3 in 64-bit mode on the harness (selectors need not be in the GDT: nothing reloads them). */
function ring3(h: Harness): void {
  userPaging(h);
  h.cpu.segSel[CS] = 0x33; h.cpu.segAttr[CS] = CS_SYSRET64;
  h.cpu.segSel[SS] = 0x2b; h.cpu.segAttr[SS] = SS_SYSRET;
  updateMode(h.cpu);
}
/** Linux's layout: STAR[47:32] = 10H (kernel CS), STAR[63:48] = 23H (user CS32; CS64 = 33H, SS = 2BH). */
function linuxMsrs(h: Harness): void {
  expect(wrmsr(h, STAR, 0x0023001000000000n)).toBe(-1);
  expect(wrmsr(h, LSTAR, 0xffffffff81000000n)).toBe(-1);
  expect(wrmsr(h, FMASK, 0x47700n)).toBe(-1); // TF DF IF IOPL NT AC
}

describe('SYSCALL (SDM Vol. 2B SYSCALL Operation; Vol. 3A 5.8.8)', () => {
  it('RCX ← RIP of the next instruction, R11 ← RFLAGS, RFLAGS ← RFLAGS AND NOT IA32_FMASK, RIP ← IA32_LSTAR (a kernel-half address); RSP unchanged', () => {
    const h = long64();
    linuxMsrs(h);
    ring3(h);
    h.setReg(RCX, 0xdeadbeefcafef00dn); h.setReg(R11, 0xdeadbeefcafef00dn); h.setReg(RSP, 0x7ff00n);
    h.cpu.flags = 0x2 | 0x100 | 0x200 | 0x400 | 0x3000 | 0x40000 | 0x200000; // TF IF DF IOPL=3 AC ID
    expect(exec1(h, [0x0f, 0x05]).vec).toBe(-1);
    expect(h.reg(RCX)).toBe(BigInt(CODE + 2));
    expect(h.reg(R11)).toBe(0x243702n); // the whole RFLAGS, upper half zero
    expect(h.rflags()).toBe(0x200002); // 243702H AND NOT 47700H
    expect(h.cpu.rip).toBe(-0x7f000000); // 0xffffffff81000000 as a sign-extended double
    expect(rsp(h)).toBe(0x7ff00);
  });
  it('CS ← STAR[47:32] AND FFFCH, SS ← STAR[47:32] + 8 (RPL not masked), fixed flat attributes, CPL 0; the GDT is not read', () => {
    const h = long64();
    expect(wrmsr(h, STAR, 0x0023000b00000000n)).toBe(-1); // STAR[47:32] = 0BH
    ring3(h);
    h.cpu.gdtLimit = 0; // would fault on any descriptor load
    expect(exec1(h, [0x0f, 0x05]).vec).toBe(-1);
    expect([h.cpu.segSel[CS], h.cpu.segAttr[CS], h.cpu.segBase[CS], h.cpu.segLimit[CS]]).toEqual([0x08, CS_SYSCALL, 0, 0xffffffff]);
    expect([h.cpu.segSel[SS], h.cpu.segAttr[SS], h.cpu.segBase[SS], h.cpu.segLimit[SS]]).toEqual([0x13, SS_SYSCALL, 0, 0xffffffff]);
    expect([h.cpu.cpl, h.cpu.mode]).toEqual([0, MODE_LONG64]);
  });
  it('#UD when IA32_EFER.SCE = 0, in compatibility mode (CS.L = 0), and outside IA-32e mode; IA32_CSTAR is never used (Intel)', () => {
    let h = long64();
    expect(wrmsr(h, EFER, 0xd00n)).toBe(-1); // SCE cleared, LME/LMA/NXE kept
    expect(exec1(h, [0x0f, 0x05]).vec).toBe(UD);
    ring3(h);
    expect(exec1(h, [0x0f, 0x05]).vec).toBe(UD);
    h = long64();
    expect(wrmsr(h, CSTAR, 0x200000n)).toBe(-1);
    h.cpu.segSel[CS] = 0x18; h.cpu.segAttr[CS] = 0xc09b; updateMode(h.cpu);
    expect(h.cpu.mode).toBe(MODE_COMPAT32);
    expect(exec1(h, [0x0f, 0x05]).vec).toBe(UD);
    expect(exec1(prot32(), [0x0f, 0x05]).vec).toBe(UD);
  });
});

describe('SYSRET (SDM Vol. 2B SYSRET Operation)', () => {
  it('REX.W: RIP ← RCX, RFLAGS ← (R11 AND 3C7FD7H) OR 2, CS ← (STAR[63:48] + 16) OR 3 with a 64-bit DPL-3 cache, SS ← (STAR[63:48] + 8) OR 3, CPL 3', () => {
    const h = long64();
    linuxMsrs(h);
    h.setReg(RCX, 0x00007fffffffe000n); h.setReg(R11, 0xffffffffffffffffn);
    expect(exec1(h, [0x48, 0x0f, 0x07]).vec).toBe(-1);
    expect(h.cpu.rip).toBe(0x7fffffffe000);
    expect(h.rflags()).toBe(0x3c7fd7); // RF (bit 16), VM (17) and the reserved bits are not loaded
    expect([h.cpu.segSel[CS], h.cpu.segAttr[CS], h.cpu.segSel[SS], h.cpu.segAttr[SS]]).toEqual([0x33, CS_SYSRET64, 0x2b, SS_SYSRET]);
    expect([h.cpu.cpl, h.cpu.mode]).toEqual([3, MODE_LONG64]);
  });
  it('without REX.W: compatibility mode, RIP ← ECX (RCX[63:32] ignored), CS ← STAR[63:48] OR 3 with D = 1, L = 0', () => {
    const h = long64();
    linuxMsrs(h);
    h.setReg(RCX, 0x12345678_00401000n); h.setReg(R11, 0x202n);
    expect(exec1(h, [0x0f, 0x07]).vec).toBe(-1);
    expect(h.cpu.rip).toBe(0x401000);
    expect([h.cpu.segSel[CS], h.cpu.segAttr[CS], h.cpu.segSel[SS], h.cpu.segAttr[SS]]).toEqual([0x23, CS_SYSRET32, 0x2b, SS_SYSRET]);
    expect([h.cpu.cpl, h.cpu.mode, h.rflags()]).toEqual([3, MODE_COMPAT32, 0x202]);
  });
  it('faults: #UD with SCE = 0 (before the CPL check), #GP(0) at CPL 3, #GP(0) for a non-canonical RCX with nothing changed, #UD in compatibility mode', () => {
    let h = long64();
    linuxMsrs(h);
    ring3(h);
    expect(exec1(h, [0x48, 0x0f, 0x07])).toEqual({ vec: GP, code: 0 });
    h.cpu.efer &= ~1;
    expect(exec1(h, [0x48, 0x0f, 0x07]).vec).toBe(UD);
    h = long64();
    linuxMsrs(h);
    h.setReg(RCX, 0x0000800000000000n); h.setReg(R11, 0x202n);
    const flags = h.rflags();
    expect(exec1(h, [0x48, 0x0f, 0x07])).toEqual({ vec: GP, code: 0 });
    expect([h.cpu.cpl, h.cpu.segSel[CS], h.cpu.segSel[SS], h.rflags()]).toEqual([0, 0x08, 0x10, flags]);
    h.cpu.segSel[CS] = 0x18; h.cpu.segAttr[CS] = 0xc09b; updateMode(h.cpu);
    expect(exec1(h, [0x0f, 0x07]).vec).toBe(UD);
  });
});

describe('the SYSCALL MSRs (SDM Vol. 3A 5.8.8; Vol. 4 Table 2-2; Vol. 2B WRMSR)', () => {
  it('IA32_STAR takes any 64-bit value; LSTAR and CSTAR must be canonical (#GP(0)); IA32_FMASK bits 63:32 are reserved', () => {
    const h = long64();
    expect(wrmsr(h, STAR, 0xffffffffffffffffn)).toBe(-1);
    expect(rdmsr(h, STAR)).toBe(0xffffffffffffffffn);
    for (const m of [LSTAR, CSTAR]) {
      expect(wrmsr(h, m, 0xffff800000000000n)).toBe(-1);
      expect(rdmsr(h, m)).toBe(0xffff800000000000n);
      expect(wrmsr(h, m, 0xfff0800000000000n)).toBe(GP);
    }
    expect(wrmsr(h, FMASK, 0xffffffffn)).toBe(-1);
    expect(rdmsr(h, FMASK)).toBe(0xffffffffn);
    expect(wrmsr(h, FMASK, 0x1_00000000n)).toBe(GP);
  });
  it('IA32_EFER.SCE is bit 0 and can be set and cleared in IA-32e mode', () => {
    const h = long64();
    expect(wrmsr(h, EFER, 0xd00n)).toBe(-1);
    expect(rdmsr(h, EFER)).toBe(0xd00n);
    expect(wrmsr(h, EFER, 0xd01n)).toBe(-1);
    expect(rdmsr(h, EFER)).toBe(0xd01n);
  });
});
