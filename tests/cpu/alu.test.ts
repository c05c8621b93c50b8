// ALU family: expected values worked by hand from the SDM's definitions of each operation
// (SDM Vol. 2A ADD/ADC/SUB/SBB/AND/OR/XOR/CMP/INC/DEC/NEG/NOT, Vol. 1 3.4.3.1 status flags).
import { describe, it, expect } from 'vitest';
import { makeCpu } from '../helpers/cpu-harness.ts';
import { RAX, RBX, RCX } from '../../emulator/cpu/state.ts';

const CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
const ARITH = CF | PF | AF | ZF | SF | OF;

describe('ALU', () => {
  it('add eax, ebx: 0x7fffffff + 1 overflows into the sign bit', () => {
    const h = makeCpu();
    h.setReg(RAX, 0xffffffff_7fffffffn); h.setReg(RBX, 1n);
    h.exec([0x01, 0xd8]); // add eax, ebx
    expect(h.reg(RAX)).toBe(0x80000000n); // 32-bit write zero-extends
    // 0x7fffffff+1 = 0x80000000: SF=1 OF=1 AF=1 (bit 3 carry) CF=0 ZF=0 PF (low byte 0x00) = 1
    expect(h.rflags() & ARITH).toBe(SF | OF | AF | PF);
  });
  it('sub rax, rbx with borrow across the 64-bit boundary', () => {
    const h = makeCpu();
    h.setReg(RAX, 0n); h.setReg(RBX, 1n);
    h.exec([0x48, 0x29, 0xd8]); // sub rax, rbx
    expect(h.reg(RAX)).toBe(0xffffffffffffffffn);
    expect(h.rflags() & ARITH).toBe(CF | SF | AF | PF);
  });
  it('adc al, 0xff with CF=1 wraps to the same value and sets CF', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x10n);
    h.exec([0xf9, 0x14, 0xff]); // stc; adc al, 0xff
    expect(h.reg(RAX)).toBe(0x10n);
    expect(h.rflags() & CF).toBe(CF);
  });
  it('cmp and 64-bit immediates sign-extend (83 /7 ib)', () => {
    const h = makeCpu();
    h.setReg(RCX, 0xffffffffffffffffn);
    h.exec([0x48, 0x83, 0xf9, 0xff]); // cmp rcx, -1
    expect(h.rflags() & (ZF | CF)).toBe(ZF);
  });
  it('inc preserves CF; dec to zero sets ZF', () => {
    const h = makeCpu();
    h.setReg(RAX, 1n);
    h.exec([0xf9, 0xff, 0xc8]); // stc; dec eax
    expect(h.reg(RAX)).toBe(0n);
    expect(h.rflags() & (ZF | CF)).toBe(ZF | CF);
  });
  it('neg of 0x80 in 8 bits overflows', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x80n);
    h.exec([0xf6, 0xd8]); // neg al
    expect(h.reg(RAX)).toBe(0x80n);
    expect(h.rflags() & (OF | CF | SF)).toBe(OF | CF | SF);
  });
  it('xor with itself clears and sets ZF PF', () => {
    const h = makeCpu();
    h.setReg(RBX, 0x1234_5678_9abc_def0n);
    h.exec([0x48, 0x31, 0xdb]);
    expect(h.reg(RBX)).toBe(0n);
    expect(h.rflags() & ARITH).toBe(ZF | PF);
  });
  it('16-bit add leaves the upper bits; ah is register 4 without REX', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x11112222_3333ffffn);
    h.exec([0x66, 0x83, 0xc0, 0x01, 0x80, 0xc4, 0x01]); // add ax,1 ; add ah,1
    expect(h.reg(RAX)).toBe(0x11112222_33330100n);
  });
});
