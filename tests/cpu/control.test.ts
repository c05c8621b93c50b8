// Control flow and the stack (ops/control.ts): Jcc, JMP/CALL/RET, LOOP family, PUSH/POP, ENTER/LEAVE,
// PUSHF/POPF, flag instructions, CLI/STI and the interrupt shadow, INT n / INT3, HLT. Expected values
// are worked by hand from the SDM (sections cited per test), computed with BigInt in the test, or were
// checked on the host CPU with inline asm ("host CPU"). Encodings from `as --64 -msyntax=intel` + objdump.
import { describe, it, expect } from 'vitest';
import { makeCpu, CODE, DATA, type Harness } from '../helpers/cpu-harness.ts';
import { setupIdt64, gate64, runToHandler, stackQ, rsp, q, wq, enterUser, setupTss64, HANDLERS } from '../helpers/cpu-events.ts';
import { step, run } from '../../emulator/cpu/exec.ts';
import { RAX, RBX, RCX, RSP, RBP, FS, StopReason } from '../../emulator/cpu/state.ts';
import { setArith } from '../../emulator/cpu/flags.ts';

const M64 = (1n << 64n) - 1n;
const CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, IF = 0x200, DF = 0x400, OF = 0x800;
const IOPL = 0x3000, NT = 0x4000, RF = 0x10000, AC = 0x40000, VIF = 0x80000, VIP = 0x100000, ID = 0x200000;
const R8 = 8, R11 = 11, R15 = 15;
const S = 0x7ff00; // a 256-byte aligned stack pointer used by most tests
const HOOKS = { onDeadline: () => Infinity };

function cpu64(regs: Record<number, bigint> = {}): Harness {
  const h = makeCpu('long64');
  for (const [r, v] of Object.entries(regs)) h.setReg(Number(r), BigInt.asUintN(64, v));
  return h;
}
function load(h: Harness, code: number[], at = CODE): void {
  h.mem.load(at, Uint8Array.from(code));
  h.cpu.flushDecodeCache();
  h.cpu.rip = at;
}
function steps(h: Harness, n: number): void { for (let k = 0; k < n; k++) step(h.cpu); }
function ccHolds(cc: number, f: number): boolean { // SDM Vol. 1 Appendix B, Table B-1
  const cf = !!(f & CF), zf = !!(f & ZF), sf = !!(f & SF), of = !!(f & OF), pf = !!(f & PF);
  const base = [of, cf, zf, cf || zf, sf, pf, sf !== of, zf || sf !== of][cc >> 1];
  return cc & 1 ? !base : base;
}
const FLAG_STATES = [0, CF, ZF, SF, OF, PF, CF | ZF, SF | OF, SF | ZF, OF | ZF, CF | SF | PF, AF, CF | PF | AF | ZF | SF | OF];
/** A one-shot interrupt source (the shape of Cpu.intr); `raise()` also sets checkEvents as a device would. */
function intrSource(h: Harness, vector: number) {
  const s = { pending: false, acks: 0, raise() { s.pending = true; h.cpu.checkEvents = true; } };
  h.cpu.intr = { hasInterrupt: () => s.pending, acknowledge: () => { s.pending = false; s.acks++; return vector; } };
  return s;
}

describe('Jcc (SDM Vol. 2A Jcc; target = next RIP + sign-extended displacement)', () => {
  it('70+cc rel8 and 0F 80+cc rel32, forwards and backwards, for all 16 conditions × 13 flag states', () => {
    const h = cpu64();
    for (const fl of FLAG_STATES) {
      for (let cc = 0; cc < 16; cc++) {
        const t = ccHolds(cc, fl);
        const cases: [number[], number, number][] = [
          [[0x70 + cc, 0x10], 2, 0x10],
          [[0x70 + cc, 0xe0], 2, -0x20],
          [[0x0f, 0x80 + cc, 0x00, 0x10, 0x00, 0x00], 6, 0x1000],
          [[0x0f, 0x80 + cc, 0x00, 0xf0, 0xff, 0xff], 6, -0x1000],
        ];
        for (const [code, len, rel] of cases) {
          setArith(h.cpu, fl);
          load(h, code);
          step(h.cpu);
          expect(h.cpu.rip, `cc=${cc} flags=${fl.toString(16)} ${code}`).toBe(CODE + len + (t ? rel : 0));
        }
      }
    }
  });
  it('jcc does not change the flags', () => {
    const h = cpu64();
    setArith(h.cpu, CF | ZF | OF);
    load(h, [0x74, 0x00]);
    step(h.cpu);
    expect(h.rflags() & (CF | ZF | OF | SF | PF | AF)).toBe(CF | ZF | OF);
  });
});

describe('JMP near (SDM Vol. 2A JMP)', () => {
  it('EB rel8 forwards, EB FE to itself, E9 rel32 backwards', () => {
    const h = cpu64();
    load(h, [0xeb, 0x10]); step(h.cpu);
    expect(h.cpu.rip).toBe(CODE + 0x12);
    load(h, [0xeb, 0xfe]); step(h.cpu);
    expect(h.cpu.rip).toBe(CODE);
    load(h, [0xe9, 0x00, 0xff, 0xff, 0xff]); step(h.cpu);
    expect(h.cpu.rip).toBe(CODE + 5 - 0x100);
  });
  it('FF E0 jmp rax; 41 FF E0 jmp r8 (64-bit targets)', () => {
    const h = cpu64({ [RAX]: 0x0000123456789abcn, [R8]: 0xffff800000001000n });
    load(h, [0xff, 0xe0]); step(h.cpu);
    expect(h.cpu.rip).toBe(0x123456789abc);
    load(h, [0x41, 0xff, 0xe0]); step(h.cpu);
    expect(BigInt.asUintN(64, BigInt(h.cpu.rip))).toBe(0xffff800000001000n);
  });
  it('FF 23 jmp [rbx]; FF 25 jmp [rip+0x10] reads the target from next-RIP + 0x10', () => {
    const h = cpu64({ [RBX]: BigInt(DATA) });
    wq(h, DATA, 0x00000000deadbeefn);
    load(h, [0xff, 0x23]); step(h.cpu);
    expect(h.cpu.rip).toBe(0xdeadbeef);
    wq(h, CODE + 6 + 0x10, 0x0000000000123450n);
    load(h, [0xff, 0x25, 0x10, 0x00, 0x00, 0x00]); step(h.cpu);
    expect(h.cpu.rip).toBe(0x123450);
  });
  it('jmp to a non-canonical address is #GP(0) reported on the JMP (SDM Vol. 2A JMP, 64-bit mode exceptions)', () => {
    const h = cpu64({ [RAX]: 0x0000800000000000n });
    setupIdt64(h);
    expect(runToHandler(h, [0xff, 0xe0])).toBe(13);
    expect(stackQ(h, 0)).toBe(0n);
    expect(stackQ(h, 1)).toBe(BigInt(CODE));
  });
});

describe('CALL / RET near (SDM Vol. 2A CALL, Vol. 2B RET)', () => {
  it('E8 rel32 pushes the address of the next instruction and jumps', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    load(h, [0xe8, 0x00, 0x01, 0x00, 0x00]); step(h.cpu);
    expect(h.cpu.rip).toBe(CODE + 5 + 0x100);
    expect(rsp(h)).toBe(S - 8);
    expect(q(h, S - 8)).toBe(BigInt(CODE + 5));
  });
  it('FF D0 call rax and 41 FF D3 call r11 push next RIP', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RAX]: 0x5000n, [R11]: 0x6000n });
    load(h, [0xff, 0xd0]); step(h.cpu);
    expect(h.cpu.rip).toBe(0x5000);
    expect(q(h, S - 8)).toBe(BigInt(CODE + 2));
    load(h, [0x41, 0xff, 0xd3]); step(h.cpu);
    expect(h.cpu.rip).toBe(0x6000);
    expect(q(h, S - 16)).toBe(BigInt(CODE + 3));
    expect(rsp(h)).toBe(S - 16);
  });
  it('FF 13 call [rbx]; FF 14 24 call [rsp] reads the target before the push', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBX]: BigInt(DATA) });
    wq(h, DATA, 0x7000n);
    load(h, [0xff, 0x13]); step(h.cpu);
    expect(h.cpu.rip).toBe(0x7000);
    expect(rsp(h)).toBe(S - 8);
    // Now [rsp] holds CODE+2 (the return address just pushed): call [rsp] jumps there and pushes CODE+3.
    load(h, [0xff, 0x14, 0x24]); step(h.cpu);
    expect(h.cpu.rip).toBe(CODE + 2);
    expect(q(h, S - 16)).toBe(BigInt(CODE + 3));
  });
  it('FF 15 call [rip+0x10]', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    wq(h, CODE + 6 + 0x10, 0x4444n);
    load(h, [0xff, 0x15, 0x10, 0x00, 0x00, 0x00]); step(h.cpu);
    expect(h.cpu.rip).toBe(0x4444);
    expect(q(h, S - 8)).toBe(BigInt(CODE + 6));
  });
  it('C3 ret pops RIP; C2 10 00 ret 0x10 also releases 16 bytes', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    wq(h, S, 0x3000n);
    load(h, [0xc3]); step(h.cpu);
    expect(h.cpu.rip).toBe(0x3000);
    expect(rsp(h)).toBe(S + 8);
    h.setReg(RSP, BigInt(S));
    load(h, [0xc2, 0x10, 0x00]); step(h.cpu);
    expect(h.cpu.rip).toBe(0x3000);
    expect(rsp(h)).toBe(S + 8 + 0x10);
  });
  it('call then ret returns to the instruction after the call', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    // call +0x10 (to CODE+0x15); at CODE+0x15: ret. Then mov eax, 7 at CODE+5.
    const code = new Array(0x16).fill(0x90);
    code.splice(0, 10, 0xe8, 0x10, 0x00, 0x00, 0x00, 0xb8, 0x07, 0x00, 0x00, 0x00);
    code[0x15] = 0xc3;
    load(h, code); steps(h, 3);
    expect(h.cpu.rip).toBe(CODE + 10);
    expect(h.reg(RAX)).toBe(7n);
    expect(rsp(h)).toBe(S);
  });
  it('call rax to a non-canonical address: #GP(0) before anything is pushed', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RAX]: 0xfff0000000000000n });
    setupIdt64(h);
    expect(runToHandler(h, [0xff, 0xd0])).toBe(13);
    expect(stackQ(h, 1)).toBe(BigInt(CODE)); // RIP of the CALL
    expect(stackQ(h, 4)).toBe(BigInt(S)); // RSP in the frame: unchanged
  });
  it('ret to a non-canonical address is #GP(0) on the RET with RSP unchanged (SDM Vol. 3A 6.5: faults restore the state)', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    setupIdt64(h);
    wq(h, S, 0x0000800000000000n);
    expect(runToHandler(h, [0xc3])).toBe(13);
    expect(stackQ(h, 0)).toBe(0n);
    expect(stackQ(h, 1)).toBe(BigInt(CODE));
    expect(stackQ(h, 4)).toBe(BigInt(S)); // the RSP saved in the frame is the one before the RET
  });
});

describe('LOOP / LOOPE / LOOPNE / JrCXZ (SDM Vol. 2A Jcc "JrCXZ", Vol. 2B LOOPcc; count size = address size)', () => {
  it('mov ecx, 5; xor eax, eax; L: inc eax; loop L → eax = 5, rcx = 0', () => {
    const h = cpu64();
    h.exec([0xb9, 0x05, 0x00, 0x00, 0x00, 0x31, 0xc0, 0xff, 0xc0, 0xe2, 0xfc]);
    expect(h.reg(RAX)).toBe(5n);
    expect(h.reg(RCX)).toBe(0n);
  });
  it('E2 uses all of RCX: 0x1_00000000 → 0xffffffff and the branch is taken', () => {
    const h = cpu64({ [RCX]: 0x100000000n });
    load(h, [0xe2, 0xfe]); step(h.cpu);
    expect(h.reg(RCX)).toBe(0xffffffffn);
    expect(h.cpu.rip).toBe(CODE);
  });
  it('E2 with RCX = 1 decrements to 0 and falls through; flags are not touched', () => {
    const h = cpu64({ [RCX]: 1n });
    setArith(h.cpu, ZF | CF);
    load(h, [0xe2, 0xfe]); step(h.cpu);
    expect(h.reg(RCX)).toBe(0n);
    expect(h.cpu.rip).toBe(CODE + 2);
    expect(h.rflags() & (ZF | CF | SF | OF | PF | AF)).toBe(ZF | CF);
  });
  it('67 E2 counts in ECX and writes ECX zero-extended (host CPU: 0x12345678_00000003 → 0)', () => {
    const h = cpu64({ [RCX]: 0x1234567800000003n });
    load(h, [0x67, 0xe2, 0xfd]); // addr32 loop $
    step(h.cpu);
    expect(h.reg(RCX)).toBe(2n);
    expect(h.cpu.rip).toBe(CODE);
    steps(h, 2);
    expect(h.reg(RCX)).toBe(0n);
    expect(h.cpu.rip).toBe(CODE + 3);
  });
  it('67 E2 with ECX = 0 wraps to 0xffffffff and branches (host CPU: RCX = 0x00000000ffffffff)', () => {
    const h = cpu64({ [RCX]: 0x1234567800000000n });
    load(h, [0x67, 0xe2, 0xfd]); step(h.cpu);
    expect(h.reg(RCX)).toBe(0xffffffffn);
    expect(h.cpu.rip).toBe(CODE);
  });
  it('E1 loope: taken only while ZF = 1 and the count is non-zero; RCX decrements either way', () => {
    const h = cpu64({ [RCX]: 3n });
    setArith(h.cpu, ZF);
    load(h, [0xe1, 0xfe]); step(h.cpu);
    expect([h.reg(RCX), h.cpu.rip]).toEqual([2n, CODE]);
    setArith(h.cpu, 0);
    load(h, [0xe1, 0xfe]); step(h.cpu);
    expect([h.reg(RCX), h.cpu.rip]).toEqual([1n, CODE + 2]);
    setArith(h.cpu, ZF);
    load(h, [0xe1, 0xfe]); step(h.cpu);
    expect([h.reg(RCX), h.cpu.rip]).toEqual([0n, CODE + 2]);
  });
  it('E0 loopne: taken only while ZF = 0 and the count is non-zero', () => {
    const h = cpu64({ [RCX]: 3n });
    setArith(h.cpu, 0);
    load(h, [0xe0, 0xfe]); step(h.cpu);
    expect([h.reg(RCX), h.cpu.rip]).toEqual([2n, CODE]);
    setArith(h.cpu, ZF);
    load(h, [0xe0, 0xfe]); step(h.cpu);
    expect([h.reg(RCX), h.cpu.rip]).toEqual([1n, CODE + 2]);
  });
  it('E3 jrcxz tests all 64 bits; 67 E3 jecxz tests ECX only; neither changes RCX', () => {
    const h = cpu64({ [RCX]: 0x100000000n });
    load(h, [0xe3, 0x10]); step(h.cpu);
    expect(h.cpu.rip).toBe(CODE + 2);
    load(h, [0x67, 0xe3, 0x10]); step(h.cpu);
    expect(h.cpu.rip).toBe(CODE + 3 + 0x10);
    expect(h.reg(RCX)).toBe(0x100000000n);
    h.setReg(RCX, 0n);
    load(h, [0xe3, 0xf0]); step(h.cpu);
    expect(h.cpu.rip).toBe(CODE + 2 - 0x10);
  });
});

describe('PUSH / POP (SDM Vol. 2B PUSH, POP; Vol. 1 6.2.3 stack in 64-bit mode)', () => {
  it('50 push rax / 41 50 push r8 / 41 5f pop r15 move RSP by 8', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RAX]: 0x1122334455667788n, [R8]: 0x99n });
    load(h, [0x50, 0x41, 0x50, 0x41, 0x5f]); steps(h, 3);
    expect(q(h, S - 8)).toBe(0x1122334455667788n);
    expect(q(h, S - 16)).toBe(0x99n);
    expect(h.reg(R15)).toBe(0x99n);
    expect(rsp(h)).toBe(S - 8);
  });
  it('66 50 push ax moves RSP by 2 and writes 2 bytes; 66 58 pop ax keeps RAX[63:16]', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RAX]: 0xaaaaaaaaaaaa1234n });
    wq(h, S - 8, M64);
    load(h, [0x66, 0x50]); step(h.cpu);
    expect(rsp(h)).toBe(S - 2);
    expect(q(h, S - 8)).toBe(0x1234ffffffffffffn);
    h.mem.view.setUint16(S - 2, 0xbeef, true);
    load(h, [0x66, 0x58]); step(h.cpu);
    expect(rsp(h)).toBe(S);
    expect(h.reg(RAX)).toBe(0xaaaaaaaaaaaabeefn);
  });
  it('6A ib push imm8 and 68 id push imm32 are sign-extended to 64 bits', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    load(h, [0x6a, 0x80, 0x68, 0x00, 0x00, 0x00, 0x80, 0x6a, 0x7f]); steps(h, 3);
    expect(q(h, S - 8)).toBe(0xffffffffffffff80n);
    expect(q(h, S - 16)).toBe(0xffffffff80000000n);
    expect(q(h, S - 24)).toBe(0x7fn);
    expect(rsp(h)).toBe(S - 24);
  });
  it('66 68 iw and 66 6A ib push 2 bytes (the imm8 sign-extended to 16 bits)', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    wq(h, S - 8, 0n);
    load(h, [0x66, 0x68, 0x34, 0x12, 0x66, 0x6a, 0x80]); steps(h, 2);
    expect(rsp(h)).toBe(S - 4);
    expect(q(h, S - 8)).toBe(0x1234ff8000000000n);
  });
  it('8F 03 pop [rbx]; FF 33 push [rbx]; 66 8F / 66 FF with 16-bit operands', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBX]: BigInt(DATA) });
    wq(h, S, 0x0123456789abcdefn);
    wq(h, DATA, 0n);
    load(h, [0x8f, 0x03]); step(h.cpu);
    expect(q(h, DATA)).toBe(0x0123456789abcdefn);
    expect(rsp(h)).toBe(S + 8);
    wq(h, DATA, 0xfedcba9876543210n);
    load(h, [0xff, 0x33]); step(h.cpu);
    expect(q(h, S)).toBe(0xfedcba9876543210n);
    expect(rsp(h)).toBe(S);
    load(h, [0x66, 0xff, 0x33]); step(h.cpu); // push word [rbx]
    expect(rsp(h)).toBe(S - 2);
    expect(h.mem.view.getUint16(S - 2, true)).toBe(0x3210);
    wq(h, DATA, 0n);
    load(h, [0x66, 0x8f, 0x03]); step(h.cpu); // pop word [rbx]
    expect(rsp(h)).toBe(S);
    expect(q(h, DATA)).toBe(0x3210n);
  });
  it('8F 44 24 08 pop [rsp+8] computes the address with the incremented RSP (SDM POP; host CPU)', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    wq(h, S, 0x11n); wq(h, S + 8, 0x22n); wq(h, S + 16, 0x33n);
    load(h, [0x8f, 0x44, 0x24, 0x08]); step(h.cpu);
    expect(rsp(h)).toBe(S + 8);
    expect(q(h, S + 8)).toBe(0x22n);
    expect(q(h, S + 16)).toBe(0x11n); // new RSP + 8
  });
  it('pop [rbx] to a non-canonical address faults with RSP unchanged (SDM Vol. 3A 6.5)', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBX]: 0x8000000000000000n });
    setupIdt64(h);
    expect(runToHandler(h, [0x8f, 0x03])).toBe(13);
    expect(stackQ(h, 4)).toBe(BigInt(S));
  });
  it('54 push rsp pushes the value before the push; 5c pop rsp loads the popped value', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    load(h, [0x54]); step(h.cpu);
    expect(q(h, S - 8)).toBe(BigInt(S));
    expect(rsp(h)).toBe(S - 8);
    wq(h, S - 8, 0x12340n);
    load(h, [0x5c]); step(h.cpu);
    expect(rsp(h)).toBe(0x12340);
  });
  it('0F A0 push fs writes 8 bytes, selector zero-extended (host CPU); 66 0F A0 writes 2; 0F A1 pop fs', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    h.cpu.segSel[FS] = 0x10;
    wq(h, S - 8, M64);
    load(h, [0x0f, 0xa0]); step(h.cpu);
    expect(rsp(h)).toBe(S - 8);
    expect(q(h, S - 8)).toBe(0x10n);
    load(h, [0x66, 0x0f, 0xa0]); step(h.cpu);
    expect(rsp(h)).toBe(S - 10);
    expect(h.mem.view.getUint16(S - 10, true)).toBe(0x10);
    h.setReg(RSP, BigInt(S - 8));
    h.cpu.segSel[FS] = 0;
    load(h, [0x0f, 0xa1]); step(h.cpu);
    expect(h.cpu.segSel[FS]).toBe(0x10);
    expect(rsp(h)).toBe(S);
  });
  it('06 push es, 07 pop es, 1e push ds, 1f pop ds are invalid in 64-bit mode (#UD)', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    setupIdt64(h);
    for (const op of [0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f]) {
      h.setReg(RSP, BigInt(S));
      expect(runToHandler(h, [op]), `opcode ${op.toString(16)}`).toBe(6);
    }
  });
});

describe('the stack at the top of the lower canonical half (SDM Vol. 1 3.3.7.1: only the accessed bytes must be canonical)', () => {
  // Harness PML4[255] → PDPT 0x4000 → [511] PD 0x5000 → [511] 2 MiB page at 0x600000:
  // linear 0x7fffffe00000-0x7fffffffffff → physical 0x600000-0x7fffff.
  function top(): Harness {
    const h = cpu64();
    h.mem.view.setUint32(0x1000 + 255 * 8, 0x4003, true);
    h.mem.view.setUint32(0x4000 + 511 * 8, 0x5003, true);
    h.mem.view.setUint32(0x5000 + 511 * 8, 0x600000 | 0x83, true);
    h.cpu.tlb.flushAll();
    return h;
  }
  const TOP = 0x800000000000n; // 2^47, the first non-canonical address
  it('pop rax from RSP = 2^47 - 8 reads the last canonical qword and leaves RSP = 2^47', () => {
    const h = top();
    h.setReg(RSP, TOP - 8n);
    h.mem.view.setBigUint64(0x7ffff8, 0x1234n, true);
    load(h, [0x58]); step(h.cpu);
    expect(h.reg(RAX)).toBe(0x1234n);
    expect(h.reg(RSP)).toBe(TOP);
  });
  it('ret from RSP = 2^47 - 8', () => {
    const h = top();
    h.setReg(RSP, TOP - 8n);
    h.mem.view.setBigUint64(0x7ffff8, BigInt(CODE + 0x40), true);
    load(h, [0xc3]); step(h.cpu);
    expect(h.cpu.rip).toBe(CODE + 0x40);
    expect(h.reg(RSP)).toBe(TOP);
  });
  it('push rax from RSP = 2^47 writes the last canonical qword', () => {
    const h = top();
    h.setReg(RSP, TOP); h.setReg(RAX, 0x77n);
    load(h, [0x50]); step(h.cpu);
    expect(h.reg(RSP)).toBe(TOP - 8n);
    expect(h.mem.view.getBigUint64(0x7ffff8, true)).toBe(0x77n);
  });
});

describe('ENTER / LEAVE (SDM Vol. 2A ENTER, Vol. 2B LEAVE)', () => {
  const B = 0x60040;
  it('enter 0x20, 0: push rbp; rbp = frame; rsp -= 0x20', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBP]: BigInt(B) });
    load(h, [0xc8, 0x20, 0x00, 0x00]); step(h.cpu);
    expect(q(h, S - 8)).toBe(BigInt(B));
    expect(h.reg(RBP)).toBe(BigInt(S - 8));
    expect(rsp(h)).toBe(S - 8 - 0x20);
  });
  it('enter 0x10, 1: also pushes the new frame pointer', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBP]: BigInt(B) });
    load(h, [0xc8, 0x10, 0x00, 0x01]); step(h.cpu);
    expect(q(h, S - 8)).toBe(BigInt(B));
    expect(q(h, S - 16)).toBe(BigInt(S - 8));
    expect(h.reg(RBP)).toBe(BigInt(S - 8));
    expect(rsp(h)).toBe(S - 16 - 0x10);
  });
  it('enter 0x20, 3: copies two frame pointers from [rbp-8], [rbp-16] (host CPU layout)', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBP]: BigInt(B) });
    wq(h, B - 8, 0xaaaan); wq(h, B - 16, 0xbbbbn);
    load(h, [0xc8, 0x20, 0x00, 0x03]); step(h.cpu);
    expect([q(h, S - 8), q(h, S - 16), q(h, S - 24), q(h, S - 32)]).toEqual([BigInt(B), 0xaaaan, 0xbbbbn, BigInt(S - 8)]);
    expect(h.reg(RBP)).toBe(BigInt(S - 8));
    expect(rsp(h)).toBe(S - 64);
  });
  it('the nesting level is taken mod 32: enter 0x10, 33 behaves as level 1', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBP]: BigInt(B) });
    load(h, [0xc8, 0x10, 0x00, 0x21]); step(h.cpu);
    expect(q(h, S - 16)).toBe(BigInt(S - 8));
    expect(rsp(h)).toBe(S - 32);
  });
  it('c9 leave after enter restores RSP and RBP', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBP]: BigInt(B) });
    wq(h, B - 8, 0xaaaan); wq(h, B - 16, 0xbbbbn);
    load(h, [0xc8, 0x20, 0x00, 0x03, 0xc9]); steps(h, 2);
    expect(h.reg(RBP)).toBe(BigInt(B));
    expect(rsp(h)).toBe(S);
  });
  it('leave whose pop faults (RBP on a not-present page) leaves RSP and RBP unchanged (SDM Vol. 3A 6.5)', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBP]: 0x40000100n }); // harness PDPT[1] is not present
    setupIdt64(h);
    expect(runToHandler(h, [0xc9])).toBe(14);
    expect(stackQ(h, 1)).toBe(BigInt(CODE));
    expect(stackQ(h, 4)).toBe(BigInt(S)); // RSP saved in the #PF frame
    expect(h.reg(RBP)).toBe(0x40000100n);
    expect(h.cpu.cr2).toBe(0x40000100);
  });
  it('66 enter 4, 0 in 64-bit mode pushes BP and replaces only BP (host CPU: RBP[63:16] kept)', () => {
    const h = cpu64({ [RSP]: BigInt(S), [RBP]: 0xaaaaaaaaaaaa1234n });
    load(h, [0x66, 0xc8, 0x04, 0x00, 0x00]); step(h.cpu);
    expect(h.mem.view.getUint16(S - 2, true)).toBe(0x1234);
    expect(h.reg(RBP)).toBe(0xaaaaaaaaaaaa0000n | BigInt((S - 2) & 0xffff));
    expect(rsp(h)).toBe(S - 6);
  });
  it('66 c9 leave with a 16-bit operand: RSP = RBP, then BP = pop16 (RBP[63:16] kept)', () => {
    const h = cpu64({ [RSP]: 0n, [RBP]: BigInt(S) });
    h.mem.view.setUint16(S, 0x4321, true);
    load(h, [0x66, 0xc9]); step(h.cpu);
    expect(rsp(h)).toBe(S + 2);
    expect(h.reg(RBP)).toBe(BigInt((S & ~0xffff) | 0x4321));
  });
  it('32-bit protected mode: enter 8, 2 with a 32-bit stack', () => {
    const h = makeCpu('prot32');
    h.setReg(RSP, BigInt(S)); h.setReg(RBP, BigInt(B));
    h.mem.view.setUint32(B - 4, 0xcccc, true);
    h.exec([0xc8, 0x08, 0x00, 0x02]);
    const d = (a: number) => h.mem.view.getUint32(a, true);
    expect([d(S - 4), d(S - 8), d(S - 12)]).toEqual([B, 0xcccc, S - 4]);
    expect(h.reg(RBP)).toBe(BigInt(S - 4));
    expect(h.reg(RSP)).toBe(BigInt(S - 20));
  });
});

describe('PUSHF / POPF (SDM Vol. 2B PUSHF, POPF)', () => {
  it('9c pushfq: RF and VM read as 0 in the image', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    h.cpu.flags = 2 | IF | DF | RF | IOPL;
    setArith(h.cpu, CF | ZF);
    load(h, [0x9c]); step(h.cpu);
    expect(rsp(h)).toBe(S - 8);
    expect(q(h, S - 8)).toBe(BigInt(2 | IF | DF | IOPL | CF | ZF));
  });
  it('66 9c pushes the low 16 bits of RFLAGS', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    h.cpu.flags = 2 | IF | AC;
    setArith(h.cpu, SF);
    wq(h, S - 8, 0n);
    load(h, [0x66, 0x9c]); step(h.cpu);
    expect(rsp(h)).toBe(S - 2);
    expect(q(h, S - 8)).toBe(BigInt(2 | IF | SF) << 48n);
  });
  it('popfq at CPL 0: every non-reserved flag but RF/VM/VIF/VIP is written; RF is cleared', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    h.cpu.flags = 2 | RF;
    // mov rax, ~TF (all ones except TF, so no single-step trap follows); push rax; popfq
    load(h, [0x48, 0xc7, 0xc0, 0xff, 0xfe, 0xff, 0xff, 0x50, 0x9d]); steps(h, 3);
    const expected = CF | 2 | PF | AF | ZF | SF | IF | DF | OF | IOPL | NT | AC | ID; // 0x247ed7
    expect(h.rflags()).toBe(expected);
    expect(expected).toBe(0x247ed7);
  });
  it('popfq leaves VIF and VIP alone', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    h.cpu.flags = 2 | VIF | VIP;
    load(h, [0x6a, 0x00, 0x9d]); steps(h, 2);
    expect(h.rflags()).toBe(2 | VIF | VIP);
  });
  it('66 9d popf with a 16-bit operand changes only bits 15:0 (AC and ID kept)', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    h.cpu.flags = 2 | IF | AC | ID | IOPL;
    load(h, [0x66, 0x6a, 0x01, 0x66, 0x9d]); steps(h, 2);
    expect(h.rflags()).toBe(2 | CF | AC | ID);
    expect(rsp(h)).toBe(S);
  });
  it('popf at CPL 3 with IOPL 0: IF and IOPL are not changed, the arithmetic flags are', () => {
    const h = cpu64();
    enterUser(h);
    h.setReg(RSP, BigInt(S));
    h.cpu.flags = 2 | IF;
    load(h, [0x68, 0x01, 0x38, 0x00, 0x00, 0x9d]); steps(h, 2); // push 0x3801 (IOPL=3, OF, CF; IF=0); popfq
    expect(h.rflags()).toBe(2 | IF | OF | CF);
  });
  it('popf at CPL 3 with IOPL 3: IF is written, IOPL still not', () => {
    const h = cpu64();
    enterUser(h);
    h.setReg(RSP, BigInt(S));
    h.cpu.flags = 2 | IF | IOPL;
    load(h, [0x6a, 0x01, 0x9d]); steps(h, 2); // push 1; popfq
    expect(h.rflags()).toBe(2 | IOPL | CF);
  });
});

describe('flag instructions (SDM Vol. 2A CLC/STC/CMC/CLD/STD)', () => {
  it('cmc, clc, stc change only CF of lazily computed flags', () => {
    const h = cpu64({ [RAX]: 1n });
    // add al, 0xff: 1 + 0xff = 0x100 → AL = 0, CF ZF AF PF set (AF: carry out of bit 3)
    load(h, [0x04, 0xff, 0xf5, 0xf9, 0xf8]);
    step(h.cpu);
    expect(h.rflags() & 0xfff).toBe(2 | CF | ZF | AF | PF);
    step(h.cpu); // cmc
    expect(h.rflags() & 0xfff).toBe(2 | ZF | AF | PF);
    step(h.cpu); // stc
    expect(h.rflags() & 0xfff).toBe(2 | CF | ZF | AF | PF);
    step(h.cpu); // clc
    expect(h.rflags() & 0xfff).toBe(2 | ZF | AF | PF);
  });
  it('std / cld set and clear DF only', () => {
    const h = cpu64();
    setArith(h.cpu, SF);
    load(h, [0xfd]); step(h.cpu);
    expect(h.rflags() & 0xfff).toBe(2 | DF | SF);
    load(h, [0xfc]); step(h.cpu);
    expect(h.rflags() & 0xfff).toBe(2 | SF);
  });
});

describe('CLI / STI and the interrupt shadow (SDM Vol. 2A CLI, Vol. 2B STI, Vol. 3A 6.8.3)', () => {
  it('cli clears IF and sti sets it at CPL 0', () => {
    const h = cpu64();
    h.cpu.flags = 2 | IF;
    load(h, [0xfa]); step(h.cpu);
    expect(h.rflags() & IF).toBe(0);
    load(h, [0xfb]); step(h.cpu);
    expect(h.rflags() & IF).toBe(IF);
  });
  it('step(): an interrupt pending at STI is taken after the next instruction, not before', () => {
    const h = cpu64();
    setupIdt64(h);
    const src = intrSource(h, 0x20);
    src.raise();
    load(h, [0xfb, 0x90, 0x90, 0x90]); // sti; nop; nop; nop
    step(h.cpu);
    expect(h.cpu.rip).toBe(CODE + 1); // IF was 0: nothing delivered before STI
    step(h.cpu);
    expect(h.cpu.rip).toBe(CODE + 2); // the shadow: the NOP after STI runs first
    expect(src.acks).toBe(0);
    step(h.cpu);
    expect(h.cpu.rip).toBe(HANDLERS + 0x20 * 16);
    expect(src.acks).toBe(1);
    expect(stackQ(h, 0)).toBe(BigInt(CODE + 2)); // saved RIP: the instruction not yet executed
  });
  it('run(): the same STI shadow', () => {
    const h = cpu64();
    setupIdt64(h);
    const src = intrSource(h, 0x21);
    src.raise();
    load(h, [0xfb, 0x90, 0x90, 0x90]);
    expect(run(h.cpu, HOOKS, 1000)).toBe(StopReason.Halted); // the handler is a HLT
    expect(h.cpu.rip).toBe(HANDLERS + 0x21 * 16 + 1);
    expect(stackQ(h, 0)).toBe(BigInt(CODE + 2));
    expect(stackQ(h, 2) & BigInt(IF)).toBe(BigInt(IF)); // pushed RFLAGS has IF set
    expect(h.rflags() & IF).toBe(0); // an interrupt gate clears IF
  });
  it('STI with IF already 1 opens no shadow: the interrupt is taken at the next boundary', () => {
    const h = cpu64();
    setupIdt64(h);
    h.cpu.flags = 2 | IF;
    const src = intrSource(h, 0x22);
    load(h, [0xfb, 0x90, 0x90]);
    step(h.cpu);
    src.raise();
    step(h.cpu);
    expect(h.cpu.rip).toBe(HANDLERS + 0x22 * 16);
    expect(stackQ(h, 0)).toBe(BigInt(CODE + 1));
  });
  it('sti; cli: the shadow covers CLI, so the interrupt is never taken', () => {
    const h = cpu64();
    setupIdt64(h);
    const src = intrSource(h, 0x23);
    src.raise();
    load(h, [0xfb, 0xfa, 0x90]);
    steps(h, 3);
    expect(h.cpu.rip).toBe(CODE + 3);
    expect(src.acks).toBe(0);
  });
  it('popf that sets IF opens no shadow: a pending interrupt is taken right after it', () => {
    const h = cpu64({ [RSP]: BigInt(S) });
    setupIdt64(h);
    const src = intrSource(h, 0x25);
    src.raise();
    load(h, [0x68, 0x02, 0x02, 0x00, 0x00, 0x9d, 0x90, 0x90]); // push 0x202; popfq; nop; nop
    steps(h, 3);
    expect(h.cpu.rip).toBe(HANDLERS + 0x25 * 16);
    expect(stackQ(h, 0)).toBe(BigInt(CODE + 6));
  });
  it('cli and sti at CPL 3 with IOPL 0 are #GP(0); allowed with IOPL 3', () => {
    const h = cpu64();
    setupIdt64(h);
    enterUser(h);
    setupTss64(h, 0x70000);
    h.setReg(RSP, BigInt(S));
    h.cpu.flags = 2 | IF;
    expect(runToHandler(h, [0xfa])).toBe(13);
    expect(stackQ(h, 0)).toBe(0n);
    enterUser(h);
    h.setReg(RSP, BigInt(S));
    h.cpu.flags = 2;
    expect(runToHandler(h, [0xfb])).toBe(13);
    enterUser(h);
    h.cpu.flags = 2 | IOPL | IF;
    expect(runToHandler(h, [0xfa])).toBe(-1);
    expect(h.rflags() & IF).toBe(0);
  });
});

describe('INT n / INT3 through a 64-bit IDT (SDM Vol. 3A 6.12, 6.14; Vol. 2A INT n)', () => {
  it('int 0x40: frame SS, RSP, RFLAGS, CS, RIP(next) at the new RSP; IF cleared by an interrupt gate', () => {
    const h = cpu64({ [RSP]: 0x80000n });
    setupIdt64(h);
    h.cpu.flags = 2 | IF;
    setArith(h.cpu, CF);
    expect(runToHandler(h, [0xcd, 0x40])).toBe(0x40);
    expect(rsp(h)).toBe(0x80000 - 40);
    expect([stackQ(h, 0), stackQ(h, 1), stackQ(h, 2), stackQ(h, 3), stackQ(h, 4)])
      .toEqual([BigInt(CODE + 2), 0x08n, BigInt(2 | IF | CF), 0x80000n, 0x10n]);
    expect(h.rflags() & IF).toBe(0);
    expect(h.rflags() & CF).toBe(CF);
  });
  it('the frame is pushed at RSP aligned down to 16 bytes (SDM Vol. 3A 6.14.2)', () => {
    const h = cpu64({ [RSP]: 0x7fff8n });
    setupIdt64(h);
    expect(runToHandler(h, [0xcd, 0x40])).toBe(0x40);
    expect(rsp(h)).toBe(0x7fff0 - 40);
    expect(stackQ(h, 3)).toBe(0x7fff8n); // the saved RSP is the unaligned original
  });
  it('a trap gate (type 0xF) leaves IF set', () => {
    const h = cpu64({ [RSP]: 0x80000n });
    setupIdt64(h);
    gate64(h, 0x41, HANDLERS + 0x41 * 16, { type: 0xf });
    h.cpu.flags = 2 | IF;
    expect(runToHandler(h, [0xcd, 0x41])).toBe(0x41);
    expect(h.rflags() & IF).toBe(IF);
  });
  it('CC int3 and CD 03 both reach vector 3 with RIP of the next instruction', () => {
    const h = cpu64({ [RSP]: 0x80000n });
    setupIdt64(h);
    expect(runToHandler(h, [0xcc])).toBe(3);
    expect(stackQ(h, 0)).toBe(BigInt(CODE + 1));
    h.setReg(RSP, 0x80000n);
    expect(runToHandler(h, [0xcd, 0x03])).toBe(3);
    expect(stackQ(h, 0)).toBe(BigInt(CODE + 2));
  });
  it('F1 int1 reaches vector 1 with RIP of the next instruction, even through a DPL-0 gate at CPL 3 (SDM Vol. 2A INT1: no DPL check)', () => {
    const h = cpu64({ [RSP]: 0x80000n });
    setupIdt64(h);
    expect(runToHandler(h, [0xf1])).toBe(1);
    expect(stackQ(h, 0)).toBe(BigInt(CODE + 1));
    expect(rsp(h)).toBe(0x80000 - 40); // no error code
    const u = cpu64();
    setupIdt64(u); // every gate DPL 0: INT n would be #GP, INT1 is not
    enterUser(u);
    setupTss64(u, 0x70000);
    u.setReg(RSP, BigInt(S));
    expect(runToHandler(u, [0xf1])).toBe(1);
    expect(stackQ(u, 0)).toBe(BigInt(CODE + 1));
  });
  it('int 0x0d pushes no error code even though #GP does (SDM Vol. 3A 6.13)', () => {
    const h = cpu64({ [RSP]: 0x80000n });
    setupIdt64(h);
    expect(runToHandler(h, [0xcd, 0x0d])).toBe(13);
    expect(rsp(h)).toBe(0x80000 - 40);
    expect(stackQ(h, 0)).toBe(BigInt(CODE + 2));
  });
  it('INT n at CPL 3 through a DPL-0 gate is #GP(vector × 8 + 2), reported on the INT (SDM Vol. 3A 6.12.1.1)', () => {
    const h = cpu64();
    setupIdt64(h);
    enterUser(h);
    setupTss64(h, 0x70000);
    h.setReg(RSP, BigInt(S));
    expect(runToHandler(h, [0xcd, 0x40])).toBe(13);
    expect(stackQ(h, 0)).toBe(BigInt(0x40 * 8 + 2));
    expect(stackQ(h, 1)).toBe(BigInt(CODE));
  });
  it('INT n at CPL 3 through a DPL-3 gate switches to TSS.RSP0 and pushes the user SS:RSP', () => {
    const h = cpu64();
    setupIdt64(h);
    gate64(h, 0x80, HANDLERS + 0x80 * 16, { dpl: 3 });
    enterUser(h);
    setupTss64(h, 0x70000);
    h.setReg(RSP, BigInt(S + 8));
    expect(runToHandler(h, [0xcd, 0x80])).toBe(0x80);
    expect(rsp(h)).toBe(0x70000 - 40);
    expect([stackQ(h, 0), stackQ(h, 1), stackQ(h, 3), stackQ(h, 4)]).toEqual([BigInt(CODE + 2), 0x2bn, BigInt(S + 8), 0x23n]);
    expect(h.cpu.cpl).toBe(0);
  });
});

describe('HLT (SDM Vol. 2A HLT)', () => {
  it('run(): HLT with IF = 0 and no timer stops with StopReason.Halted, RIP after the HLT', () => {
    const h = cpu64();
    load(h, [0xf4, 0x90]);
    expect(run(h.cpu, HOOKS, 1000)).toBe(StopReason.Halted);
    expect(h.cpu.rip).toBe(CODE + 1);
  });
  it('run(): an interrupt wakes the CPU; the saved RIP is the instruction after HLT', () => {
    const h = cpu64();
    setupIdt64(h);
    h.cpu.flags = 2 | IF;
    let acked = false;
    h.cpu.intr = { hasInterrupt: () => !acked && h.cpu.icount >= 1, acknowledge: () => { acked = true; return 0x30; } };
    load(h, [0xf4, 0x90]);
    expect(run(h.cpu, HOOKS, 1000)).toBe(StopReason.Halted); // halted again in the handler
    expect(acked).toBe(true);
    expect(h.cpu.rip).toBe(HANDLERS + 0x30 * 16 + 1);
    expect(stackQ(h, 0)).toBe(BigInt(CODE + 1));
  });
  it('step(): a halted CPU executes nothing until an interrupt arrives', () => {
    const h = cpu64({ [RAX]: 0n });
    setupIdt64(h);
    h.cpu.flags = 2 | IF;
    const src = intrSource(h, 0x31);
    load(h, [0xf4, 0xb8, 0x01, 0x00, 0x00, 0x00]); // hlt; mov eax, 1
    steps(h, 3);
    expect(h.cpu.rip).toBe(CODE + 1);
    expect(h.reg(RAX)).toBe(0n);
    src.raise();
    step(h.cpu);
    expect(h.cpu.rip).toBe(HANDLERS + 0x31 * 16);
    expect(stackQ(h, 0)).toBe(BigInt(CODE + 1));
  });
  it('HLT at CPL 3 is #GP(0)', () => {
    const h = cpu64();
    setupIdt64(h);
    enterUser(h);
    setupTss64(h, 0x70000);
    expect(runToHandler(h, [0xf4])).toBe(13);
    expect(stackQ(h, 1)).toBe(BigInt(CODE));
    expect(h.cpu.halted).toBe(false);
  });
});

describe('legacy modes: 16- and 32-bit branch and stack widths (SDM Vol. 2A CALL/JMP "Operation", Vol. 1 6.2)', () => {
  it('real mode: a jump past 0xffff wraps IP to 16 bits', () => {
    const h = makeCpu('real16');
    load(h, [0xeb, 0x10], 0xfffe);
    step(h.cpu);
    expect(h.cpu.rip).toBe(0x10);
  });
  it('real mode: e8 rel16 pushes a 2-byte IP; c2 04 00 pops it and releases 4 more bytes', () => {
    const h = makeCpu('real16');
    h.setReg(RSP, 0x7000n);
    load(h, [0xe8, 0x00, 0x01], 0x1000);
    step(h.cpu);
    expect(h.cpu.rip).toBe(0x1103);
    expect(Number(h.reg(RSP))).toBe(0x6ffe);
    expect(h.mem.view.getUint16(0x6ffe, true)).toBe(0x1003);
    load(h, [0xc2, 0x04, 0x00], 0x1103);
    step(h.cpu);
    expect(h.cpu.rip).toBe(0x1003);
    expect(Number(h.reg(RSP))).toBe(0x7004);
  });
  it('real mode: loop counts in CX only (ECX[31:16] kept)', () => {
    const h = makeCpu('real16');
    h.setReg(RCX, 0x00010001n);
    load(h, [0xe2, 0xfe], 0x1000);
    step(h.cpu);
    expect(h.reg(RCX)).toBe(0x00010000n);
    expect(h.cpu.rip).toBe(0x1002);
  });
  it('real mode: a push with SP = 0 wraps SP to 0xfffe (SS.base + 0xfffe)', () => {
    const h = makeCpu('real16');
    h.setReg(RSP, 0n); h.setReg(RAX, 0xbeefn);
    h.cpu.segBase[2] = 0x20000; h.cpu.segSel[2] = 0x2000; // SS
    load(h, [0x50], 0x1000);
    step(h.cpu);
    expect(h.reg(RSP)).toBe(0xfffen);
    expect(h.mem.view.getUint16(0x2fffe, true)).toBe(0xbeef);
  });
  it('32-bit mode: e8 rel32 pushes 4 bytes, c3 pops 4', () => {
    const h = makeCpu('prot32');
    h.setReg(RSP, BigInt(S));
    load(h, [0xe8, 0x1b, 0x00, 0x00, 0x00]);
    step(h.cpu);
    expect(h.cpu.rip).toBe(CODE + 5 + 0x1b);
    expect(Number(h.reg(RSP))).toBe(S - 4);
    expect(h.mem.view.getUint32(S - 4, true)).toBe(CODE + 5);
    load(h, [0xc3], CODE + 0x20);
    step(h.cpu);
    expect(h.cpu.rip).toBe(CODE + 5);
    expect(Number(h.reg(RSP))).toBe(S);
  });
  it('32-bit mode: 66 e9 rel16 truncates EIP to 16 bits', () => {
    const h = makeCpu('prot32');
    load(h, [0x66, 0xe9, 0x10, 0x00]);
    step(h.cpu);
    expect(h.cpu.rip).toBe((CODE + 4 + 0x10) & 0xffff);
  });
});

describe('sti; hlt (SDM Vol. 2B STI: the interrupt is recognised after HLT, returning past it)', () => {
  for (const how of ['step', 'run'] as const) {
    it(`${how}(): an interrupt pending at STI wakes the HLT that follows; saved RIP is after the HLT`, () => {
      const h = cpu64();
      setupIdt64(h);
      const src = intrSource(h, 0x24);
      src.raise();
      load(h, [0xfb, 0xf4, 0x90]);
      if (how === 'step') steps(h, 3);
      else expect(run(h.cpu, HOOKS, 1000)).toBe(StopReason.Halted);
      expect(src.acks).toBe(1);
      expect(stackQ(h, 0)).toBe(BigInt(CODE + 2));
    });
  }
});
