// The IA-32e interrupt frame, stack switching through the 64-bit TSS (RSPn, IST) and IRETQ, with
// the null-SS rules of IA-32e mode: SDM Vol. 3A 6.14 "Exception and Interrupt Handling in 64-bit
// Mode" (6.14.2 64-bit mode stack frame, 6.14.3 IRET in IA-32e mode, 6.14.4 stack switching,
// 6.14.5 interrupt stack table), 8.7 "Task Management in 64-bit Mode" (TSS layout, Figure 8-11),
// Vol. 2A "IRET/IRETD/IRETQ" (Operation and "64-Bit Mode Exceptions") and "INT n" (Operation).
// Complements tests/cpu/exceptions.test.ts and tests/cpu/far.test.ts (RSP0/IST basics, IRETQ to
// ring 3 and back, IRETQ to compatibility mode at CPL 0).
import { describe, it, expect } from 'vitest';
import { CODE, type Harness } from '../helpers/cpu-harness.ts';
import { gate64, runToHandler, enterUser, setupTss64 } from '../helpers/cpu-events.ts';
import { exec1, userPaging } from '../cpu/sys-helpers.ts';
import { RSP, CS, SS, DS, ES, MODE_COMPAT32, MODE_LONG64 } from '../../emulator/cpu/state.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';
import { V, S, long64, frame64, gdtEntry, stackQ, rsp, wq, wd, HANDLERS, TSS_BASE } from './helpers.ts';

const IF = 0x200, RF = 0x10000;
const GP = 13, NP = 11, SSV = 12;

/** Write an IRETQ frame (RIP, CS, RFLAGS, RSP, SS) at `at` and point RSP there. */
function iretFrame(h: Harness, at: number, rip: number, cs: number, rflags: number, sp: number, ss: number): void {
  [rip, cs, rflags, sp, ss].forEach((v, k) => wq(h, at + 8 * k, v));
  h.setReg(RSP, BigInt(at));
}

/**
 * GDT for the IRETQ checks (harness GDT at 0x500 plus): 20H data DPL 3, 28H 64-bit code DPL 3,
 * 30H data DPL 3 not present, 38H 64-bit code DPL 3 not present, 40H DPL-3 code with L = D = 1,
 * 48H 32-bit code DPL 3. User-accessible paging.
 */
function iretGdt(h: Harness): void {
  gdtEntry(h, 0x20, 0xf2, 0xc);
  gdtEntry(h, 0x28, 0xfa, 0xa);
  gdtEntry(h, 0x30, 0x72, 0xc);
  gdtEntry(h, 0x38, 0x7a, 0xa);
  gdtEntry(h, 0x40, 0xfa, 0xe);
  gdtEntry(h, 0x48, 0xfa, 0xc);
  userPaging(h);
}

describe('privilege change through the 64-bit TSS (SDM Vol. 3A 6.14.4, 8.7; Vol. 2A INT n Operation)', () => {
  it('from CPL 3 to a DPL-1 handler: RSP1 from TSS+0CH, SS = null selector with RPL 1, CS RPL 1, frame SS:RSP = the user ones', () => {
    const h = long64();
    enterUser(h);
    setupTss64(h, 0x70000);
    wq(h, TSS_BASE + 0x0c, 0x68008); // RSP1, not 16-byte aligned: RSP := NewRSP AND ~0FH
    gdtEntry(h, 0x30, 0xba, 0xa); // 64-bit code, DPL 1
    gate64(h, V.UD, HANDLERS + V.UD * 16, { sel: 0x30 });
    h.setReg(RSP, BigInt(S));
    expect(runToHandler(h, [0x0f, 0x0b])).toBe(V.UD);
    expect(rsp(h)).toBe(0x68000 - 40);
    expect(frame64(h, false)).toMatchObject({ rip: BigInt(CODE), cs: 0x2bn, rsp: BigInt(S), ss: 0x23n });
    expect([h.cpu.cpl, h.cpu.segSel[CS], h.cpu.segSel[SS]]).toEqual([1, 0x31, 1]);
  });
  it('without a privilege change or IST the current RSP is used, still aligned down to 16 (6.14.2): RSP 7FF08H → frame at 7FF00H - 40', () => {
    const h = long64();
    h.setReg(RSP, 0x7ff08n);
    expect(runToHandler(h, [0x0f, 0x0b])).toBe(V.UD);
    expect(rsp(h)).toBe(0x7ff00 - 40);
    expect(frame64(h, false)).toMatchObject({ rsp: 0x7ff08n, ss: 0x10n });
  });
  it('an event at CPL 0 after a privilege change pushes the null SS (0) it runs with; IRETQ pops it back (null, RPL 0 = CPL, 64-bit target)', () => {
    const h = long64();
    h.cpu.segSel[SS] = 0; h.cpu.segAttr[SS] = 0x4000; h.cpu.segLimit[SS] = 0; // as after 6.14.4
    expect(runToHandler(h, [0xcd, 0x40])).toBe(0x40);
    expect(frame64(h, false)).toMatchObject({ rip: BigInt(CODE + 2), cs: 0x08n, rsp: BigInt(S), ss: 0n });
    expect(exec1(h, [0x48, 0xcf], HANDLERS + 0x40 * 16).vec).toBe(-1); // iretq in the handler
    expect([h.cpu.rip, rsp(h), h.cpu.segSel[SS]]).toEqual([CODE + 2, S, 0]);
  });
});

describe('IRETQ (SDM Vol. 2A IRET Operation "IA-32e-MODE", 64-Bit Mode Exceptions; Vol. 3A 6.14.3)', () => {
  it('to CPL 3: SS:RSP popped, CPL 3, DS and ES holding DPL-0 data become null ("FOR each SegReg in (ES, FS, GS, and DS)")', () => {
    const h = long64();
    iretGdt(h);
    iretFrame(h, S, CODE + 0x40, 0x2b, 0x202, 0x60000, 0x23);
    expect(exec1(h, [0x48, 0xcf]).vec).toBe(-1);
    expect([h.cpu.cpl, h.cpu.mode, h.cpu.rip, rsp(h)]).toEqual([3, MODE_LONG64, CODE + 0x40, 0x60000]);
    expect([h.cpu.segSel[CS], h.cpu.segSel[SS], h.cpu.segSel[DS], h.cpu.segSel[ES]]).toEqual([0x2b, 0x23, 0, 0]);
    expect(h.rflags() & IF).toBe(IF);
  });
  it('to compatibility mode at CPL 3 (32-bit code segment 48H): SS:RSP popped with the 64-bit operand size', () => {
    const h = long64();
    iretGdt(h);
    iretFrame(h, S, CODE + 0x40, 0x4b, 0x2, 0x60000, 0x23);
    expect(exec1(h, [0x48, 0xcf]).vec).toBe(-1);
    expect([h.cpu.cpl, h.cpu.mode, h.cpu.rip, rsp(h), h.cpu.segSel[SS]]).toEqual([3, MODE_COMPAT32, CODE + 0x40, 0x60000, 0x23]);
  });
  // The exception table lists "#GP(0) If the stack segment selector is NULL going back to
  // compatibility mode"; the Operation section's RETURN-TO-SAME-PRIVILEGE-LEVEL checks nothing
  // about SS, and hardware (QEMU/KVM on the host CPU, guest-images/src/system.S) completes an IRETQ
  // from CPL 0 to a CPL-0 compatibility-mode segment with SS = 0. x86vmx follows the hardware for
  // that same-privilege case and the table for returns to an outer level.
  it('null SS: allowed at the same privilege (CPL 0, RPL 0) to 64-bit or compatibility mode; #GP(0) with RPL ≠ CPL and to CPL 3 (64-bit or compatibility mode)', () => {
    const cases: [number, number, number][] = [
      // [CS, SS, expected vector (-1 = completes)]
      [0x08, 0x00, -1], [0x08, 0x01, GP], [0x18, 0x00, -1], [0x2b, 0x03, GP], [0x4b, 0x03, GP],
    ];
    for (const [cs, ss, vec] of cases) {
      const h = long64();
      iretGdt(h);
      iretFrame(h, S, CODE + 0x40, cs, 0x2, 0x60000, ss);
      const r = exec1(h, [0x48, 0xcf]);
      expect(r, `CS ${cs.toString(16)} SS ${ss.toString(16)}`).toEqual(vec < 0 ? { vec: -1, code: 0 } : { vec, code: 0 });
      if (vec >= 0) expect([h.cpu.segSel[CS], rsp(h)]).toEqual([0x08, S]); // nothing changed
    }
  });
  it('selector checks, each before any state changes: error codes carry the selector without RPL', () => {
    const cases: [string, number, number, number, { vec: number; code: number }][] = [
      // [what, RIP, CS, SS, expected]
      ['SS DPL 0 ≠ RPL 3', CODE, 0x2b, 0x13, { vec: GP, code: 0x10 }],
      ['SS RPL 2 ≠ CS RPL 3', CODE, 0x2b, 0x22, { vec: GP, code: 0x20 }],
      ['SS a code segment', CODE, 0x2b, 0x2b, { vec: GP, code: 0x28 }],
      ['SS not present', CODE, 0x2b, 0x33, { vec: SSV, code: 0x30 }],
      ['CS not present', CODE, 0x3b, 0x23, { vec: NP, code: 0x38 }],
      ['CS with L = 1 and D = 1', CODE, 0x43, 0x23, { vec: GP, code: 0x40 }],
      ['CS a data segment', CODE, 0x23, 0x23, { vec: GP, code: 0x20 }],
      ['CS beyond the GDT limit', CODE, 0x53, 0x23, { vec: GP, code: 0x50 }],
      ['CS null', CODE, 0x00, 0x23, { vec: GP, code: 0 }],
      ['RIP not canonical', 0x800000000000, 0x2b, 0x23, { vec: GP, code: 0 }],
    ];
    for (const [what, rip, cs, ss, want] of cases) {
      const h = long64();
      iretGdt(h);
      iretFrame(h, S, rip, cs, 0x2, 0x60000, ss);
      expect(exec1(h, [0x48, 0xcf]), what).toEqual(want);
      expect([h.cpu.cpl, h.cpu.segSel[CS], h.cpu.segSel[SS], rsp(h)], what).toEqual([0, 0x08, 0x10, S]);
    }
  });
  it('RFLAGS from CPL 0: CF PF AF ZF SF DF OF NT, RF AC ID, IF, IOPL, VIF VIP are loaded; VM is not (no virtual-8086 mode in IA-32e mode)', () => {
    const h = long64();
    iretGdt(h);
    iretFrame(h, S, CODE + 0x40, 0x2b, 0x3f7ed5, 0x60000, 0x23); // every flag but TF (and bit 1)
    expect(exec1(h, [0x48, 0xcf]).vec).toBe(-1);
    expect(h.rflags()).toBe(0x3d7ed7);
  });
  it('RFLAGS at CPL 3 with IOPL 0 (same privilege): IF, IOPL, VIF and VIP keep their values', () => {
    const h = long64();
    iretGdt(h);
    h.cpu.segSel[CS] = 0x2b; h.cpu.segAttr[CS] = 0xa0fb; h.cpu.segSel[SS] = 0x23; h.cpu.segAttr[SS] = 0xc0f3;
    updateMode(h.cpu);
    h.cpu.flags = 2;
    iretFrame(h, S, CODE + 0x40, 0x2b, 0x3f7ed5, 0x60000, 0x23);
    expect(exec1(h, [0x48, 0xcf]).vec).toBe(-1);
    // image bits CF PF AF ZF SF DF OF NT (0x4cd5) and RF AC ID (0x250000) only
    expect(h.rflags()).toBe(0x254cd7);
  });
  it('IRET with a 32-bit operand size in 64-bit mode (CF without REX.W) pops EIP, CS, EFLAGS, ESP, SS as dwords', () => {
    const h = long64();
    [CODE + 0x40, 0x08, 0x202, 0x60000, 0x10].forEach((v, k) => wd(h, S + 4 * k, v));
    h.setReg(RSP, BigInt(S));
    expect(exec1(h, [0xcf]).vec).toBe(-1);
    expect([h.cpu.rip, rsp(h), h.cpu.segSel[SS], h.rflags() & IF]).toEqual([CODE + 0x40, 0x60000, 0x10, IF]);
  });
  it('round trip: #UD at CPL 3 → handler on RSP0 → IRETQ with the same frame restarts the instruction at CPL 3 on the user stack', () => {
    const h = long64();
    enterUser(h); setupTss64(h, 0x70000);
    h.setReg(RSP, BigInt(S));
    expect(runToHandler(h, [0x0f, 0x0b])).toBe(V.UD);
    expect(exec1(h, [0x48, 0xcf], HANDLERS + V.UD * 16).vec).toBe(-1);
    expect([h.cpu.cpl, h.cpu.rip, rsp(h), h.cpu.segSel[CS], h.cpu.segSel[SS]]).toEqual([3, CODE, S, 0x2b, 0x23]);
    expect(h.rflags() & RF).toBe(RF); // from the fault frame; cleared when the restarted instruction starts
  });
});
