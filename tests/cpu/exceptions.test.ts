// Exception and interrupt delivery (interrupts.ts, fault.ts, exec.ts): IA-32e IDT gates, error codes,
// saved RIP (fault vs trap), #DF / triple-fault classification, privilege change through TSS.RSP0,
// IST stacks, real-mode IVT and 32-bit protected-mode IDT delivery. Expected values from the SDM
// Vol. 3A chapter 6 (sections cited per test).
import { describe, it, expect } from 'vitest';
import { makeCpu, CODE, type Harness } from '../helpers/cpu-harness.ts';
import {
  setupIdt64, gate64, runToHandler, stackQ, rsp, enterUser, setupTss64, HANDLERS, IDT_BASE, TSS_BASE,
} from '../helpers/cpu-events.ts';
import { step } from '../../emulator/cpu/exec.ts';
import { RAX, RBX, RCX, RDX, RSP, RBP, CS, SS, DS, TR, StopReason } from '../../emulator/cpu/state.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';

const IF = 0x200;
const S = 0x7ff00;

function cpu64(regs: Record<number, bigint> = {}): Harness {
  const h = makeCpu('long64');
  for (const [r, v] of Object.entries(regs)) h.setReg(Number(r), BigInt.asUintN(64, v));
  setupIdt64(h);
  return h;
}
/** The 64-bit frame (SDM Vol. 3A 6.14.2, Figure 6-9): [error code], RIP, CS, RFLAGS, RSP, SS. */
function frame(h: Harness, withCode: boolean) {
  const k = withCode ? 1 : 0;
  return { code: withCode ? stackQ(h, 0) : undefined, rip: stackQ(h, k), cs: stackQ(h, k + 1), rflags: stackQ(h, k + 2), rsp: stackQ(h, k + 3), ss: stackQ(h, k + 4) };
}

describe('faults and traps: vector, saved RIP, error code (SDM Vol. 3A 6.5, 6.13, Table 6-1)', () => {
  it('#UD from ud2 (0f 0b): RIP of the UD2, no error code', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    expect(runToHandler(h, [0x90, 0x0f, 0x0b])).toBe(6);
    expect(rsp(h)).toBe(S - 40);
    expect(frame(h, false)).toMatchObject({ rip: BigInt(CODE + 1), cs: 0x08n, rsp: BigInt(S), ss: 0x10n });
  });
  it('#UD from an undefined opcode (0f ff) and from LOCK on a non-lockable instruction (f0 90)', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    expect(runToHandler(h, [0x0f, 0xff, 0x00])).toBe(6);
    expect(stackQ(h, 0)).toBe(BigInt(CODE));
    h.setReg(RSP, BigInt(S));
    expect(runToHandler(h, [0xf0, 0x90])).toBe(6);
    expect(stackQ(h, 0)).toBe(BigInt(CODE));
  });
  it('#GP(0) for a non-canonical data address (SDM Vol. 1 3.3.7.1)', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBX]: 0x0000800000000000n });
    expect(runToHandler(h, [0x90, 0x48, 0x8b, 0x03])).toBe(13); // nop; mov rax, [rbx]
    expect(rsp(h)).toBe(S - 48);
    expect(frame(h, true)).toMatchObject({ code: 0n, rip: BigInt(CODE + 1), cs: 0x08n, rsp: BigInt(S) });
  });
  it('#SS(0) for a non-canonical RBP-based address (default segment SS)', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBP]: 0xfffe000000000000n });
    expect(runToHandler(h, [0x48, 0x8b, 0x45, 0x00])).toBe(12); // mov rax, [rbp]
    expect(frame(h, true)).toMatchObject({ code: 0n, rip: BigInt(CODE) });
  });
  it('an FS override on an RBP-based non-canonical address gives #GP, not #SS (SDM Vol. 1 3.3.7.1)', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBP]: 0xfffe000000000000n });
    expect(runToHandler(h, [0x64, 0x48, 0x8b, 0x45, 0x00])).toBe(13);
  });
  it('#SS(0) for a push with a non-canonical RSP, delivered on the IST1 stack', () => {
    const h = cpu64({ [RSP]: 0x0000800000000008n });
    setupTss64(h, 0, [0x6fff8]);
    gate64(h, 12, HANDLERS + 12 * 16, { ist: 1 });
    expect(runToHandler(h, [0x50])).toBe(12);
    expect(rsp(h)).toBe(0x6fff0 - 48); // IST1 aligned down to 16
    expect(frame(h, true)).toMatchObject({ code: 0n, rip: BigInt(CODE), rsp: 0x0000800000000008n });
  });
  it('an instruction longer than 15 bytes is #GP(0) (SDM Vol. 2A 2.3.11); 15 bytes are fine', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    expect(runToHandler(h, [...new Array(14).fill(0x66), 0x90])).toBe(-1);
    expect(runToHandler(h, [...new Array(15).fill(0x66), 0x90])).toBe(13);
    expect(frame(h, true)).toMatchObject({ code: 0n, rip: BigInt(CODE) });
  });
  it('FS.base + offset beyond the canonical range is #GP(0)', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBX]: 0x2000n });
    h.cpu.segBase[4] = 0x00007ffffffff000; // FS
    expect(runToHandler(h, [0x64, 0x48, 0x8b, 0x03])).toBe(13); // mov rax, fs:[rbx]
    expect(stackQ(h, 0)).toBe(0n);
  });
  it('#PF: error code and CR2; not-present read 0, write W', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBX]: 0x40000123n }); // PDPT[1] of the harness tables is not present
    expect(runToHandler(h, [0x8b, 0x03])).toBe(14);
    expect(frame(h, true)).toMatchObject({ code: 0n, rip: BigInt(CODE) });
    expect(h.cpu.cr2).toBe(0x40000123);
    h.setReg(RSP, BigInt(S)); h.setReg(RBX, 0x40000ff8n);
    expect(runToHandler(h, [0x89, 0x03])).toBe(14);
    expect(stackQ(h, 0)).toBe(2n);
    expect(h.cpu.cr2).toBe(0x40000ff8);
  });
  it('#BP from int3 is a trap: saved RIP is the next instruction, no error code', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    expect(runToHandler(h, [0x90, 0xcc, 0x90])).toBe(3);
    expect(rsp(h)).toBe(S - 40);
    expect(stackQ(h, 0)).toBe(BigInt(CODE + 2));
  });
  it('#DE from div by zero and from an idiv quotient overflow: RIP of the DIV, no error code', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RAX]: 5n, [RDX]: 0n, [RCX]: 0n });
    expect(runToHandler(h, [0xf7, 0xf1])).toBe(0); // div ecx
    expect(rsp(h)).toBe(S - 40);
    expect(stackQ(h, 0)).toBe(BigInt(CODE));
    // idiv ecx: EDX:EAX = -2^31, ECX = -1 → quotient 2^31 does not fit in 32 bits
    h.setReg(RSP, BigInt(S)); h.setReg(RAX, 0x80000000n); h.setReg(RDX, 0xffffffffn); h.setReg(RCX, 0xffffffffn);
    expect(runToHandler(h, [0xf7, 0xf9])).toBe(0);
    expect(h.reg(RAX)).toBe(0x80000000n); // a fault leaves the destination unchanged
  });
  it('INT n to a not-present gate is #NP(vector × 8 + 2) (EXT = 0 for a software interrupt)', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    gate64(h, 0x40, HANDLERS + 0x40 * 16, { present: false });
    expect(runToHandler(h, [0xcd, 0x40])).toBe(11);
    expect(frame(h, true)).toMatchObject({ code: BigInt(0x40 * 8 + 2), rip: BigInt(CODE) });
  });
  it('a vector beyond the IDT limit is #GP(vector × 8 + 2)', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    h.cpu.idtLimit = 0x40 * 16 - 1; // vector 0x40 is just outside
    expect(runToHandler(h, [0xcd, 0x40])).toBe(13);
    expect(stackQ(h, 0)).toBe(BigInt(0x40 * 8 + 2));
  });
  it('a gate whose selector is not a 64-bit code segment is #GP(selector) (SDM Vol. 3A 6.14.1)', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    gate64(h, 0x42, HANDLERS + 0x42 * 16, { sel: 0x18 }); // harness GDT entry 3: 32-bit code
    expect(runToHandler(h, [0xcd, 0x42])).toBe(13);
    expect(stackQ(h, 0)).toBe(0x18n);
  });
  it('a gate with a null selector is #GP(0); a non-canonical target is #GP(0)', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    gate64(h, 0x43, HANDLERS, { sel: 0 });
    expect(runToHandler(h, [0xcd, 0x43])).toBe(13);
    expect(stackQ(h, 0)).toBe(0n);
    h.setReg(RSP, BigInt(S));
    gate64(h, 0x44, 0x0000800000000000);
    expect(runToHandler(h, [0xcd, 0x44])).toBe(13);
    expect(stackQ(h, 0)).toBe(0n);
  });
  it('a fault while delivering a benign exception (#UD through a bad gate type) is delivered normally: #GP(6 × 8 + 2 + EXT)', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    gate64(h, 6, HANDLERS + 6 * 16, { type: 0xc }); // a call-gate type in the IDT
    expect(runToHandler(h, [0x0f, 0x0b])).toBe(13);
    expect(frame(h, true)).toMatchObject({ code: BigInt(6 * 8 + 2 + 1), rip: BigInt(CODE) });
  });
});

describe('external interrupts (SDM Vol. 3A 6.12.1.1, 6.13)', () => {
  function withIntr(h: Harness, vec: number) {
    let pending = true;
    h.cpu.intr = { hasInterrupt: () => pending, acknowledge: () => { pending = false; return vec; } };
    h.cpu.flags |= IF; h.cpu.checkEvents = true;
  }
  it('are delivered before the next instruction with RIP of that instruction and no error code', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    withIntr(h, 0x30);
    expect(runToHandler(h, [0x90, 0x90])).toBe(0x30);
    expect(rsp(h)).toBe(S - 40);
    expect(stackQ(h, 0)).toBe(BigInt(CODE));
  });
  it('ignore the gate DPL: a DPL-0 gate accepts an interrupt that arrives at CPL 3', () => {
    const h = cpu64();
    enterUser(h);
    setupTss64(h, 0x70000);
    h.setReg(RSP, BigInt(S));
    withIntr(h, 0x31);
    expect(runToHandler(h, [0x90])).toBe(0x31);
    expect(frame(h, false)).toMatchObject({ rip: BigInt(CODE), cs: 0x2bn, rsp: BigInt(S), ss: 0x23n });
  });
  it('a not-present gate gives #NP(vector × 8 + 2 + EXT) with EXT = 1', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    gate64(h, 0x32, HANDLERS + 0x32 * 16, { present: false });
    withIntr(h, 0x32);
    expect(runToHandler(h, [0x90])).toBe(11);
    expect(frame(h, true)).toMatchObject({ code: BigInt(0x32 * 8 + 3), rip: BigInt(CODE) });
  });
  it('int3 at CPL 3 needs a DPL-3 gate: DPL 0 → #GP(3 × 8 + 2)', () => {
    const h = cpu64();
    enterUser(h);
    setupTss64(h, 0x70000);
    h.setReg(RSP, BigInt(S));
    expect(runToHandler(h, [0xcc])).toBe(13);
    expect(frame(h, true)).toMatchObject({ code: BigInt(3 * 8 + 2), rip: BigInt(CODE) });
    enterUser(h);
    gate64(h, 3, HANDLERS + 3 * 16, { dpl: 3 });
    h.setReg(RSP, BigInt(S));
    expect(runToHandler(h, [0xcc])).toBe(3);
    expect(stackQ(h, 0)).toBe(BigInt(CODE + 1));
  });
});

describe('double and triple fault (SDM Vol. 3A 6.15 "Interrupt 8", Table 6-5)', () => {
  it('#GP whose gate is not present raises #NP (contributory + contributory) → #DF with error code 0', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBX]: 0x0000800000000000n });
    gate64(h, 13, HANDLERS + 13 * 16, { present: false });
    expect(runToHandler(h, [0x48, 0x8b, 0x03])).toBe(8);
    expect(rsp(h)).toBe(S - 48);
    expect(stackQ(h, 0)).toBe(0n); // the saved RIP of a #DF is undefined (SDM), so it is not checked
  });
  it('#PF whose IDT entry lies on a not-present page → second #PF → #DF', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBX]: 0x40000010n });
    // IDT placed so that entries 0-11 are below 0x40000000 (mapped to physical 0x600000 + ...) and
    // entries 13 up are above it (PDPT[1] not present).
    h.mem.view.setUint32(0x3000 + 511 * 8, 0x600000 | 0x83, true);
    const base = 0x40000000 - 200;
    h.cpu.tlb.flushAll();
    for (let v = 0; v < 12; v++) {
      const a = base - 0x3fe00000 + 0x600000 + v * 16; // physical address of gate v
      h.mem.view.setUint32(a, (0x08 << 16) | ((HANDLERS + v * 16) & 0xffff), true);
      h.mem.view.setUint32(a + 4, ((HANDLERS + v * 16) & 0xffff0000) | 0x8e00, true);
      h.mem.view.setBigUint64(a + 8, 0n, true);
    }
    h.cpu.idtBase = base;
    expect(runToHandler(h, [0x8b, 0x03])).toBe(8);
    expect(stackQ(h, 0)).toBe(0n);
  });
  it('#PF whose gate selector is outside the GDT: #GP while delivering #PF → #DF (page fault + contributory)', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBX]: 0x40000010n });
    gate64(h, 14, HANDLERS + 14 * 16, { sel: 0x48 });
    expect(runToHandler(h, [0x8b, 0x03])).toBe(8);
    expect(stackQ(h, 0)).toBe(0n);
  });
  it('#GP whose frame push hits a not-present stack page: the #PF is delivered serially (contributory + page fault), here via IST1', () => {
    const h = cpu64({ [RSP]: 0x40001000n, [RBX]: 0x0000800000000000n });
    setupTss64(h, 0, [0x6f000]);
    gate64(h, 14, HANDLERS + 14 * 16, { ist: 1 });
    expect(runToHandler(h, [0x48, 0x8b, 0x03])).toBe(14);
    expect(rsp(h)).toBe(0x6f000 - 48);
    expect(frame(h, true)).toMatchObject({ code: 2n, rip: BigInt(CODE), rsp: 0x40001000n }); // write, not present, CPL 0
    expect(h.cpu.cr2).toBeGreaterThanOrEqual(0x40001000 - 48);
    expect(h.cpu.cr2).toBeLessThan(0x40001000);
  });
  it('a #UD handler gate that is not present gives #NP, delivered normally (benign + contributory)', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    gate64(h, 6, HANDLERS + 6 * 16, { present: false });
    expect(runToHandler(h, [0x0f, 0x0b])).toBe(11);
    expect(stackQ(h, 0)).toBe(BigInt(6 * 8 + 2 + 1)); // IDT bit and EXT set
  });
  it('when the #DF gate is also not present the CPU triple-faults (shutdown)', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBX]: 0x0000800000000000n });
    gate64(h, 13, 0, { present: false });
    gate64(h, 8, 0, { present: false });
    expect(runToHandler(h, [0x48, 0x8b, 0x03])).toBe(-1);
    expect(h.cpu.stop).toBe(StopReason.TripleFault);
  });
  it('an IDT limit that covers nothing triple-faults on the first exception', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    h.cpu.idtLimit = 0;
    runToHandler(h, [0x0f, 0x0b]);
    expect(h.cpu.stop).toBe(StopReason.TripleFault);
  });
});

describe('privilege change and stacks in IA-32e mode (SDM Vol. 3A 6.14.4, 6.14.5)', () => {
  it('an exception at CPL 3 switches to TSS.RSP0 (aligned to 16), pushes the user SS:RSP, loads a null SS', () => {
    const h = cpu64();
    enterUser(h);
    setupTss64(h, 0x70008);
    h.setReg(RSP, 0x7fff8n);
    h.cpu.flags = 2 | IF;
    expect(runToHandler(h, [0x0f, 0x0b])).toBe(6);
    expect(rsp(h)).toBe(0x70000 - 40);
    // RF = 1 in the image: #UD is a fault (SDM Vol. 3B 18.3.1.1; tests/system/exceptions.test.ts)
    expect(frame(h, false)).toMatchObject({ rip: BigInt(CODE), cs: 0x2bn, rflags: BigInt(2 | IF | 0x10000), rsp: 0x7fff8n, ss: 0x23n });
    expect(h.cpu.cpl).toBe(0);
    expect(h.cpu.segSel[CS]).toBe(0x08);
    expect(h.cpu.segSel[SS]).toBe(0); // NULL selector with RPL = new CPL = 0
  });
  it('an exception with an error code at CPL 3: six qwords on the RSP0 stack', () => {
    const h = cpu64();
    enterUser(h);
    setupTss64(h, 0x70000);
    h.setReg(RSP, 0x7ff00n); h.setReg(RBX, 0x0000800000000000n);
    expect(runToHandler(h, [0x8b, 0x03])).toBe(13);
    expect(rsp(h)).toBe(0x70000 - 48);
    expect(frame(h, true)).toMatchObject({ code: 0n, rip: BigInt(CODE), cs: 0x2bn, rsp: 0x7ff00n, ss: 0x23n });
  });
  it('IST: a gate with IST = 1 takes RSP from TSS.IST1 even without a privilege change', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    setupTss64(h, 0x70000, [0x6f000]);
    gate64(h, 6, HANDLERS + 6 * 16, { ist: 1 });
    expect(runToHandler(h, [0x0f, 0x0b])).toBe(6);
    expect(rsp(h)).toBe(0x6f000 - 40);
    expect(frame(h, false)).toMatchObject({ rip: BigInt(CODE), rsp: BigInt(S), ss: 0x10n });
  });
  it('IST at CPL 3 takes precedence over RSP0; IST3 is read from TSS offset 0x34', () => {
    const h = cpu64();
    enterUser(h);
    setupTss64(h, 0x70000, [0x6f000, 0x6e000, 0x6d008]);
    gate64(h, 6, HANDLERS + 6 * 16, { ist: 3 });
    h.setReg(RSP, BigInt(S));
    expect(runToHandler(h, [0x0f, 0x0b])).toBe(6);
    expect(rsp(h)).toBe(0x6d000 - 40);
    expect(frame(h, false)).toMatchObject({ cs: 0x2bn, rsp: BigInt(S), ss: 0x23n });
  });
  it('a non-canonical IST pointer gives #SS (SDM Vol. 3A 6.14.5; INT n: EXT = 0 in the error code)', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    setupTss64(h, 0x70000, [0x0000900000000000]);
    gate64(h, 0x41, HANDLERS + 0x41 * 16, { ist: 1 });
    expect(runToHandler(h, [0xcd, 0x41])).toBe(12);
    expect(frame(h, true)).toMatchObject({ code: 0n, rip: BigInt(CODE) });
  });
  it('... also one just above the canonical boundary (0x0000800000000010): the frame would not be canonical', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    setupTss64(h, 0x70000, [0x0000800000000010]);
    gate64(h, 0x41, HANDLERS + 0x41 * 16, { ist: 1 });
    expect(runToHandler(h, [0xcd, 0x41])).toBe(12);
    expect(stackQ(h, 0)).toBe(0n);
  });
  it('a TSS too short to hold RSP0 is #TS(TR selector + EXT) (SDM Vol. 3A 6.14.4; Vol. 2A INT n)', () => {
    // The #TS handler uses a conforming 64-bit code segment (GDT 0x30), so it runs at CPL 3 on the
    // user stack without needing the broken TSS.
    const h = cpu64();
    enterUser(h);
    h.mem.view.setUint32(0x500 + 0x30, 0x0000ffff, true); h.mem.view.setUint32(0x500 + 0x34, 0x00af9e00, true);
    h.cpu.gdtLimit = 0x37;
    gate64(h, 10, HANDLERS + 10 * 16, { sel: 0x30 });
    setupTss64(h, 0x70000, [], 0x0b); // RSP0 occupies bytes 4-11 of the TSS: limit 0x0b would cover it, 0x0a not
    h.cpu.segLimit[TR] = 0x0a;
    h.setReg(RSP, BigInt(S));
    expect(runToHandler(h, [0x0f, 0x0b])).toBe(10); // #UD at CPL 3 → needs RSP0 → #TS
    expect(frame(h, true)).toMatchObject({ code: BigInt(0x40 + 1), rip: BigInt(CODE), cs: 0x2bn });
    expect(h.cpu.segSel[CS]).toBe(0x33); // conforming: CPL stays 3
    // A software INT n reports EXT = 0.
    gate64(h, 0x80, HANDLERS + 0x80 * 16, { dpl: 3 });
    h.setReg(RSP, BigInt(S));
    h.cpu.segSel[CS] = 0x2b; updateMode(h.cpu);
    expect(runToHandler(h, [0xcd, 0x80])).toBe(10);
    expect(stackQ(h, 0)).toBe(0x40n);
  });
  it('error-code presence by vector: #DE #BP #UD none; #TS #NP #SS #GP #PF #DF one', () => {
    // Checked through the stack depth: 40 bytes without an error code, 48 with one.
    const cases: [number[], Record<number, bigint>, number, number][] = [
      [[0xf7, 0xf1], { [RCX]: 0n }, 0, 40], // #DE
      [[0xcc], {}, 3, 40], // #BP
      [[0x0f, 0x0b], {}, 6, 40], // #UD
      [[0x48, 0x8b, 0x45, 0x00], { [RBP]: 0x8000000000000000n }, 12, 48], // #SS
      [[0x48, 0x8b, 0x03], { [RBX]: 0x8000000000000000n }, 13, 48], // #GP
      [[0x48, 0x8b, 0x03], { [RBX]: 0x40000000n }, 14, 48], // #PF
    ];
    for (const [code, regs, vec, depth] of cases) {
      const h = cpu64({ ...regs, [RSP]: BigInt(S) });
      expect(runToHandler(h, code), `vector ${vec}`).toBe(vec);
      expect(S - rsp(h), `vector ${vec}`).toBe(depth);
    }
  });
});

describe('real-address mode: IVT delivery (SDM Vol. 3A 20.1.4)', () => {
  function real(): Harness {
    const h = makeCpu('real16');
    h.setReg(RSP, 0x7000n);
    // IVT entry 0x10 → 2000:0100; entry 6 → 3000:0200
    h.mem.view.setUint16(0x10 * 4, 0x0100, true); h.mem.view.setUint16(0x10 * 4 + 2, 0x2000, true);
    h.mem.view.setUint16(6 * 4, 0x0200, true); h.mem.view.setUint16(6 * 4 + 2, 0x3000, true);
    return h;
  }
  const w16 = (h: Harness, a: number) => h.mem.view.getUint16(a, true);
  it('int 0x10 pushes FLAGS, CS, IP (of the next instruction), clears IF and TF, loads CS:IP from the IVT', () => {
    const h = real();
    h.cpu.flags = 2 | IF | 0x100;
    h.mem.load(0x1000, Uint8Array.from([0xcd, 0x10]));
    h.cpu.flushDecodeCache(); h.cpu.rip = 0x1000;
    step(h.cpu);
    expect(h.cpu.segSel[CS]).toBe(0x2000);
    expect(h.cpu.segBase[CS]).toBe(0x20000);
    expect(h.cpu.rip).toBe(0x100);
    expect(Number(h.reg(RSP))).toBe(0x7000 - 6);
    expect([w16(h, 0x6ffe), w16(h, 0x6ffc), w16(h, 0x6ffa)]).toEqual([2 | IF | 0x100, 0, 0x1002]);
    expect(h.rflags() & (IF | 0x100)).toBe(0);
  });
  it('the handler runs at CS.base + IP: code at 2000:0100 executes', () => {
    const h = real();
    h.mem.load(0x20100, Uint8Array.from([0xb0, 0x77])); // mov al, 0x77
    h.mem.load(0x1000, Uint8Array.from([0xcd, 0x10]));
    h.cpu.flushDecodeCache(); h.cpu.rip = 0x1000;
    step(h.cpu); step(h.cpu);
    expect(h.reg(RAX) & 0xffn).toBe(0x77n);
    expect(h.cpu.rip).toBe(0x102);
  });
  it('#UD in real mode pushes the IP of the faulting instruction', () => {
    const h = real();
    h.cpu.segSel[CS] = 0x0100; h.cpu.segBase[CS] = 0x1000;
    h.mem.load(0x1000 + 0x20, Uint8Array.from([0x0f, 0x0b]));
    h.cpu.flushDecodeCache(); h.cpu.rip = 0x20;
    step(h.cpu);
    expect([h.cpu.segSel[CS], h.cpu.rip]).toEqual([0x3000, 0x200]);
    expect([w16(h, 0x6ffc), w16(h, 0x6ffa)]).toEqual([0x0100, 0x20]);
  });
});

describe('32-bit protected mode: IDT delivery (SDM Vol. 3A 6.12)', () => {
  function prot(): Harness {
    const h = makeCpu('prot32');
    for (let v = 0; v < 64; v++) {
      h.mem.view.setUint32(IDT_BASE + v * 8, (0x18 << 16) | ((HANDLERS + v * 16) & 0xffff), true);
      h.mem.view.setUint32(IDT_BASE + v * 8 + 4, (((HANDLERS + v * 16) & 0xffff0000) | 0x8e00) >>> 0, true);
    }
    h.cpu.idtBase = IDT_BASE; h.cpu.idtLimit = 64 * 8 - 1;
    h.setReg(RSP, BigInt(S));
    return h;
  }
  const d32 = (h: Harness, a: number) => h.mem.view.getUint32(a, true);
  it('int 0x21 through a 32-bit interrupt gate: EFLAGS, CS, EIP(next) on the stack, IF cleared', () => {
    const h = prot();
    h.cpu.flags = 2 | IF;
    expect(runToHandler(h, [0xcd, 0x21])).toBe(0x21);
    expect(Number(h.reg(RSP))).toBe(S - 12);
    expect([d32(h, S - 12), d32(h, S - 8), d32(h, S - 4)]).toEqual([CODE + 2, 0x18, 2 | IF]);
    expect(h.rflags() & IF).toBe(0);
  });
  it('#GP(selector) from mov ds with a selector beyond the GDT limit: error code, EIP, CS, EFLAGS', () => {
    const h = prot();
    h.setReg(RAX, 0x48n);
    expect(runToHandler(h, [0x8e, 0xd8])).toBe(13);
    expect(Number(h.reg(RSP))).toBe(S - 16);
    expect([d32(h, S - 16), d32(h, S - 12), d32(h, S - 8)]).toEqual([0x48, CODE, 0x18]);
    expect(h.cpu.segSel[DS]).toBe(0x10);
  });
  it('a 32-bit trap gate (type 0xF) leaves IF set', () => {
    const h = prot();
    h.mem.view.setUint32(IDT_BASE + 0x22 * 8 + 4, (((HANDLERS + 0x22 * 16) & 0xffff0000) | 0x8f00) >>> 0, true);
    h.cpu.flags = 2 | IF;
    expect(runToHandler(h, [0xcd, 0x22])).toBe(0x22);
    expect(h.rflags() & IF).toBe(IF);
  });
  it('from CPL 3: SS:ESP from the 32-bit TSS (ESP0 at +4, SS0 at +8), frame SS, ESP, EFLAGS, CS, EIP', () => {
    const h = prot();
    const v = h.mem.view;
    v.setUint32(0x500 + 0x20, 0x0000ffff, true); v.setUint32(0x500 + 0x24, 0x00cff200, true); // data DPL 3
    v.setUint32(0x500 + 0x28, 0x0000ffff, true); v.setUint32(0x500 + 0x2c, 0x00cffa00, true); // 32-bit code DPL 3
    h.cpu.gdtLimit = 0x2f;
    v.setUint32(TSS_BASE + 4, 0x60000, true); v.setUint32(TSS_BASE + 8, 0x10, true);
    const c = h.cpu;
    c.segSel[TR] = 0x40; c.segBase[TR] = TSS_BASE; c.segLimit[TR] = 0x67; c.segAttr[TR] = 0x8b;
    c.segSel[CS] = 0x2b; c.segAttr[CS] = 0xc0fb; c.segSel[SS] = 0x23; c.segAttr[SS] = 0xc0f3;
    updateMode(c);
    expect(c.cpl).toBe(3);
    expect(runToHandler(h, [0x0f, 0x0b])).toBe(6);
    expect(Number(h.reg(RSP))).toBe(0x60000 - 20);
    expect([d32(h, 0x60000 - 20), d32(h, 0x60000 - 16), d32(h, 0x60000 - 8), d32(h, 0x60000 - 4)]).toEqual([CODE, 0x2b, S, 0x23]);
    expect([c.segSel[CS], c.segSel[SS], c.cpl]).toEqual([0x18, 0x10, 0]);
  });
});

