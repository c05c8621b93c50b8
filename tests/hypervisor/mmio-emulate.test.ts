// decodeMmio: instruction bytes written by hand (checked with GNU as/objdump); expected values follow
// the SDM (Vol. 2B MOV/MOVZX/MOVSX; Vol. 1 3.4.1.1 for register write widths), computed here with
// BigInt independently of the emulator's register helpers.
import { describe, it, expect } from 'vitest';
import { PhysicalMemory } from '../../emulator/memory/physical.ts';
import { IoBus } from '../../emulator/memory/iobus.ts';
import { Cpu, MODE_LONG64, MODE_PROT32, MODE_REAL } from '../../emulator/cpu/state.ts';
import { decodeMmio, type MmioOp } from '../../emulator/hypervisor/mmio-emulate.ts';

const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSI = 6, RDI = 7, R8 = 8, R9 = 9, R12 = 12, R15 = 15;
const cpu = new Cpu(new PhysicalMemory(1 << 16), new IoBus());

function setReg(r: number, v: bigint): void {
  cpu.rl[r] = Number(BigInt.asIntN(32, v));
  cpu.rh[r] = Number(BigInt.asIntN(32, v >> 32n));
}
function getReg(r: number): bigint {
  return (BigInt(cpu.rh[r] >>> 0) << 32n) | BigInt(cpu.rl[r] >>> 0);
}
/** Fixed, distinct initial values for all 16 registers. */
function resetRegs(): void {
  for (let r = 0; r < 16; r++) setReg(r, 0x1111222233334444n + BigInt(r) * 0x0101010101010101n);
}
function dec(bytes: number[], mode = MODE_LONG64): MmioOp { return decodeMmio(cpu, new Uint8Array(bytes), mode); }
function write(bytes: number[], mode = MODE_LONG64) {
  const op = dec(bytes, mode);
  if (op.kind !== 'write') throw new Error(`expected a write, got ${JSON.stringify(op)}`);
  return { size: op.size, lo: op.lo, hi: op.hi, len: op.len };
}
/** Decode a read, complete it with lo/hi, and return the register file afterwards. */
function read(bytes: number[], lo: number, hi: number, mode = MODE_LONG64): { size: number; len: number } {
  const op = dec(bytes, mode);
  if (op.kind !== 'read') throw new Error(`expected a read, got ${JSON.stringify(op)}`);
  op.complete(cpu, lo, hi);
  return { size: op.size, len: op.len };
}

describe('MMIO writes: the value stored', () => {
  it('MOV r/m, r in every size, including AH and REX byte registers (88, 89)', () => {
    resetRegs();
    setReg(RAX, 0xaaaabbbb87654321n);
    setReg(RDX, 0x7700n); setReg(RSI, 0x5an); setReg(R9, 0xffffffffffffff3cn); setReg(R12, 0x0123456789abcdefn);
    expect(write([0x89, 0x07])).toEqual({ size: 4, lo: 0x87654321, hi: 0, len: 2 }); // mov %eax,(%rdi)
    expect(write([0x88, 0x27])).toEqual({ size: 1, lo: 0x43, hi: 0, len: 2 }); // mov %ah,(%rdi)
    expect(write([0x88, 0x37])).toEqual({ size: 1, lo: 0x77, hi: 0, len: 2 }); // mov %dh,(%rdi)
    expect(write([0x40, 0x88, 0x37])).toEqual({ size: 1, lo: 0x5a, hi: 0, len: 3 }); // mov %sil,(%rdi)
    expect(write([0x44, 0x88, 0x4f, 0x10])).toEqual({ size: 1, lo: 0x3c, hi: 0, len: 4 }); // mov %r9b,0x10(%rdi)
    expect(write([0x66, 0x89, 0x07])).toEqual({ size: 2, lo: 0x4321, hi: 0, len: 3 }); // mov %ax,(%rdi)
    expect(write([0x48, 0x89, 0x07])).toEqual({ size: 8, lo: 0x87654321, hi: 0xaaaabbbb, len: 3 }); // mov %rax,(%rdi)
    expect(write([0x4c, 0x89, 0x24, 0x98])).toEqual({ size: 8, lo: 0x89abcdef, hi: 0x01234567, len: 4 }); // mov %r12,(%rax,%rbx,4)
    expect(write([0x89, 0x87, 0x78, 0x56, 0x34, 0x12])).toMatchObject({ size: 4, len: 6 }); // mov %eax,0x12345678(%rdi)
  });
  it('MOV r/m, imm: imm8, imm16, imm32, and imm32 sign-extended to 64 bits with REX.W (C6, C7)', () => {
    expect(write([0xc6, 0x07, 0xab])).toEqual({ size: 1, lo: 0xab, hi: 0, len: 3 }); // movb $0xab,(%rdi)
    expect(write([0x66, 0xc7, 0x07, 0x01, 0x80])).toEqual({ size: 2, lo: 0x8001, hi: 0, len: 5 }); // movw $0x8001,(%rdi)
    expect(write([0xc7, 0x07, 0x00, 0x00, 0x00, 0x80])).toEqual({ size: 4, lo: 0x80000000, hi: 0, len: 6 }); // movl $0x80000000,(%rdi)
    expect(write([0x48, 0xc7, 0x07, 0xfe, 0xff, 0xff, 0xff])).toEqual({ size: 8, lo: 0xfffffffe, hi: 0xffffffff, len: 7 }); // movq $-2,(%rdi)
    expect(write([0x48, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x80])).toEqual({ size: 8, lo: 0x80000000, hi: 0xffffffff, len: 7 }); // movq $-0x80000000,(%rdi)
    expect(write([0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0x7f])).toEqual({ size: 8, lo: 0x7fffffff, hi: 0, len: 7 }); // movq $0x7fffffff,(%rdi)
    // movl $0x12345678,0x1000(%rip): the immediate follows the displacement.
    expect(write([0xc7, 0x05, 0x00, 0x10, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12])).toEqual({ size: 4, lo: 0x12345678, hi: 0, len: 10 });
  });
  it('MOV moffs, AL/EAX/RAX (A2, A3)', () => {
    resetRegs();
    setReg(RAX, 0xfedcba9876543210n);
    const moffs = [0xb0, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00];
    expect(write([0xa3, ...moffs])).toEqual({ size: 4, lo: 0x76543210, hi: 0, len: 9 }); // movabs %eax,0xfee000b0
    expect(write([0xa2, ...moffs])).toEqual({ size: 1, lo: 0x10, hi: 0, len: 9 }); // movabs %al,0xfee000b0
    expect(write([0x48, 0xa3, ...moffs])).toEqual({ size: 8, lo: 0x76543210, hi: 0xfedcba98, len: 10 }); // movabs %rax,0xfee000b0
    expect(write([0xa3, 0xb0, 0x00, 0xe0, 0xfe], MODE_PROT32)).toEqual({ size: 4, lo: 0x76543210, hi: 0, len: 5 }); // mov %eax,0xfee000b0 (32-bit)
  });
  it('uses the mode\'s default operand size in 32-bit and real mode', () => {
    resetRegs();
    setReg(RAX, 0x9999aaaabbbbccccn); setReg(RBX, 0x5an);
    expect(write([0x66, 0x89, 0x07], MODE_PROT32)).toEqual({ size: 2, lo: 0xcccc, hi: 0, len: 3 }); // mov %ax,(%edi)
    expect(write([0xc7, 0x07, 0xfe, 0xff, 0xff, 0xff], MODE_PROT32)).toEqual({ size: 4, lo: 0xfffffffe, hi: 0, len: 6 }); // movl $-2,(%edi)
    expect(write([0xc7, 0x05, 0x34, 0x12], MODE_REAL)).toEqual({ size: 2, lo: 0x1234, hi: 0, len: 4 }); // movw $0x1234,(%di)
    expect(write([0x88, 0x18], MODE_REAL)).toEqual({ size: 1, lo: 0x5a, hi: 0, len: 2 }); // mov %bl,(%bx,%si)
  });
});

describe('MMIO reads: the destination register', () => {
  const init = (r: number) => 0x1111222233334444n + BigInt(r) * 0x0101010101010101n;
  it('MOV r, r/m: 32-bit zero-extends, 8/16-bit preserve the rest, AH/BH vs DIL/R15B (8A, 8B)', () => {
    resetRegs();
    expect(read([0x8b, 0x07], 0x89abcdef, 0)).toEqual({ size: 4, len: 2 }); // mov (%rdi),%eax
    expect(getReg(RAX)).toBe(0x0000000089abcdefn);
    resetRegs();
    expect(read([0x66, 0x8b, 0x07], 0x1234beef, 0)).toEqual({ size: 2, len: 3 }); // mov (%rdi),%ax
    expect(getReg(RAX)).toBe((init(RAX) & ~0xffffn) | 0xbeefn);
    resetRegs();
    expect(read([0x8a, 0x07], 0xef, 0)).toEqual({ size: 1, len: 2 }); // mov (%rdi),%al
    expect(getReg(RAX)).toBe((init(RAX) & ~0xffn) | 0xefn);
    resetRegs();
    read([0x8a, 0x27], 0xef, 0); // mov (%rdi),%ah
    expect(getReg(RAX)).toBe((init(RAX) & ~0xff00n) | 0xef00n);
    resetRegs();
    read([0x8a, 0x3f], 0xef, 0); // mov (%rdi),%bh
    expect(getReg(RBX)).toBe((init(RBX) & ~0xff00n) | 0xef00n);
    expect(getReg(RDI)).toBe(init(RDI));
    resetRegs();
    read([0x40, 0x8a, 0x3f], 0xef, 0); // mov (%rdi),%dil
    expect(getReg(RDI)).toBe((init(RDI) & ~0xffn) | 0xefn);
    expect(getReg(RBX)).toBe(init(RBX));
    resetRegs();
    read([0x44, 0x8a, 0x3f], 0xef, 0); // mov (%rdi),%r15b
    expect(getReg(R15)).toBe((init(R15) & ~0xffn) | 0xefn);
    resetRegs();
    expect(read([0x48, 0x8b, 0x17], 0x89abcdef, 0x01234567)).toEqual({ size: 8, len: 3 }); // mov (%rdi),%rdx
    expect(getReg(RDX)).toBe(0x0123456789abcdefn);
    resetRegs();
    read([0x44, 0x8b, 0x07], 0xfffffff0, 0); // mov (%rdi),%r8d
    expect(getReg(R8)).toBe(0xfffffff0n);
  });
  it('MOVZX and MOVSX from a byte or word (0F B6, B7, BE, BF)', () => {
    resetRegs();
    expect(read([0x0f, 0xb6, 0x07], 0xffffff80, 0)).toEqual({ size: 1, len: 3 }); // movzbl (%rdi),%eax
    expect(getReg(RAX)).toBe(0x80n);
    resetRegs();
    read([0x66, 0x0f, 0xb6, 0x07], 0x80, 0); // movzbw (%rdi),%ax
    expect(getReg(RAX)).toBe((init(RAX) & ~0xffffn) | 0x0080n);
    resetRegs();
    expect(read([0x48, 0x0f, 0xb7, 0x0f], 0xffff8001, 0)).toEqual({ size: 2, len: 4 }); // movzwq (%rdi),%rcx
    expect(getReg(RCX)).toBe(0x8001n);
    resetRegs();
    read([0x48, 0x0f, 0xbe, 0x07], 0x80, 0); // movsbq (%rdi),%rax
    expect(getReg(RAX)).toBe(0xffffffffffffff80n);
    resetRegs();
    read([0x0f, 0xbe, 0x07], 0x7f, 0); // movsbl (%rdi),%eax
    expect(getReg(RAX)).toBe(0x7fn);
    resetRegs();
    read([0x0f, 0xbf, 0x17], 0x8001, 0); // movswl (%rdi),%edx
    expect(getReg(RDX)).toBe(0xffff8001n);
    resetRegs();
    read([0x66, 0x0f, 0xbe, 0x07], 0x80, 0); // movsbw (%rdi),%ax
    expect(getReg(RAX)).toBe((init(RAX) & ~0xffffn) | 0xff80n);
  });
  it('MOV AL/EAX, moffs (A0, A1) and 16-bit code', () => {
    const moffs = [0x20, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00];
    resetRegs();
    expect(read([0xa1, ...moffs], 0xcafef00d, 0)).toEqual({ size: 4, len: 9 }); // movabs 0xfee00020,%eax
    expect(getReg(RAX)).toBe(0xcafef00dn);
    resetRegs();
    expect(read([0xa0, ...moffs], 0x0d, 0)).toEqual({ size: 1, len: 9 }); // movabs 0xfee00020,%al
    expect(getReg(RAX)).toBe((init(RAX) & ~0xffn) | 0x0dn);
    resetRegs();
    expect(read([0x8b, 0x05], 0xbeef, 0, MODE_REAL)).toEqual({ size: 2, len: 2 }); // mov (%di),%ax
    expect(getReg(RAX)).toBe((init(RAX) & ~0xffffn) | 0xbeefn);
    resetRegs();
    expect(read([0x66, 0x8b, 0x05], 0xcafef00d, 0, MODE_REAL)).toEqual({ size: 4, len: 3 }); // mov (%di),%eax
    expect(getReg(RAX) & 0xffffffffn).toBe(0xcafef00dn);
  });
  it('leaves the registers alone until complete is called', () => {
    resetRegs();
    const before = [...cpu.rl, ...cpu.rh];
    dec([0x48, 0x8b, 0x17]); dec([0x8a, 0x27]); dec([0x0f, 0xbe, 0x07]);
    expect([...cpu.rl, ...cpu.rh]).toEqual(before);
  });
});

describe('unsupported and invalid instructions', () => {
  it('names a valid instruction it does not emulate, with its length', () => {
    expect(dec([0x01, 0x07])).toEqual({ kind: 'unsupported', len: 2, name: 'add Ev,Gv' }); // add %eax,(%rdi)
    expect(dec([0x87, 0x07])).toEqual({ kind: 'unsupported', len: 2, name: 'xchg Ev,Gv' }); // xchg %eax,(%rdi)
    expect(dec([0xa5])).toEqual({ kind: 'unsupported', len: 1, name: 'movs' }); // movsl
    expect(dec([0x89, 0xc3])).toEqual({ kind: 'unsupported', len: 2, name: 'mov Ev,Gv' }); // mov %eax,%ebx: no memory operand
  });
  it('reports truncated, #UD and over-long encodings as (invalid) without touching the CPU', () => {
    expect(dec([0x89])).toEqual({ kind: 'unsupported', len: 0, name: '(invalid)' });
    expect(dec([0xc7, 0x07, 0x01, 0x02])).toEqual({ kind: 'unsupported', len: 0, name: '(invalid)' }); // imm32 cut short
    expect(dec([0xf0, 0x89, 0x07])).toEqual({ kind: 'unsupported', len: 3, name: '(invalid)' }); // LOCK MOV: #UD
    expect(dec([0xc6, 0x0f, 0x00])).toEqual({ kind: 'unsupported', len: 3, name: '(invalid)' }); // C6 /1: #UD
    expect(cpu.excVector).toBe(-1);
    expect(dec([...new Array(15).fill(0x66), 0x89, 0x07])).toMatchObject({ kind: 'unsupported', name: '(invalid)' }); // > 15 bytes: #GP
    expect(cpu.excVector).toBe(-1);
  });
});
