// CMPXCHG (0F B0/B1), XADD (0F C0/C1), CMPXCHG8B/CMPXCHG16B (0F C7 /1) — SDM Vol. 2A "CMPXCHG",
// "CMPXCHG8B/CMPXCHG16B", Vol. 2B "XADD", "LOCK".
// Expected values come from BigInt models written here (flags as CMP / ADD per SDM Vol. 1 3.4.3.1).
// Register-destination CMPXCHG follows the Intel host, measured natively: the destination register
// is written only when the comparison succeeds, the accumulator only when it fails.
import { CF, PF, AF, ZF, SF, OF, ARITH, mulberry32, mask, parity } from '../helpers/ref.ts';
import { describe, it, expect } from 'vitest';
import { makeCpu, installIdt64, step, CODE, DATA, STACK_TOP, type Harness } from '../helpers/cpu-harness.ts';
import { RAX, RBX, RCX, RDX, RSP, RSI } from '../../emulator/cpu/state.ts';
import { setRflags } from '../../emulator/cpu/flags.ts';

const HANDLER = CODE + 0x1000;
const IDT = 0x10000;

function makeRv(seed: number) {
  const r = mulberry32(seed);
  const r64 = () => (BigInt(r()) << 32n) | BigInt(r());
  return (bits: number): bigint => {
    const m = mask(bits), half = 1n << BigInt(bits - 1);
    switch (r() % 4) {
      case 0: return [0n, 1n, m, half, half - 1n, 0x0fn, 0x10n][r() % 7] & m;
      case 1: return r64() & mask(1 + (r() % bits));
      default: return r64() & m;
    }
  };
}
function setFlags(h: Harness, f: number): void { setRflags(h.cpu, f, ARITH); }
function expectFault(h: Harness, bytes: number[], vec: number, code?: number): void {
  installIdt64(h, IDT, { [vec]: HANDLER });
  h.mem.load(CODE, Uint8Array.from(bytes));
  h.cpu.flushDecodeCache();
  h.cpu.rip = CODE;
  h.setReg(RSP, BigInt(STACK_TOP));
  const before = h.cpu.exceptionCounts[vec];
  step(h.cpu);
  expect(h.cpu.exceptionCounts[vec]).toBe(before + 1);
  expect(h.cpu.rip).toBe(HANDLER);
  const rsp = Number(h.reg(RSP));
  if (code !== undefined) expect(h.mem.view.getBigUint64(rsp, true)).toBe(BigInt(code));
  expect(h.mem.view.getBigUint64(rsp + (code !== undefined ? 8 : 0), true)).toBe(BigInt(CODE));
}

/** Flags of a - b (CMP/SUB). */
function subFlags(bits: number, a: bigint, b: bigint): number {
  const m = mask(bits), B = BigInt(bits - 1);
  const r = (a - b) & m;
  const sa = (a >> B) & 1n, sb = (b >> B) & 1n, sr = (r >> B) & 1n;
  return (a < b ? CF : 0) | parity(r) | ((a ^ b ^ r) & 0x10n ? AF : 0) | (r === 0n ? ZF : 0) | (sr ? SF : 0)
    | (sa !== sb && sr !== sa ? OF : 0);
}
/** Flags of a + b (ADD). */
function addFlags(bits: number, a: bigint, b: bigint): number {
  const m = mask(bits), B = BigInt(bits - 1);
  const full = a + b, r = full & m;
  const sa = (a >> B) & 1n, sb = (b >> B) & 1n, sr = (r >> B) & 1n;
  return (full > m ? CF : 0) | parity(r) | ((a ^ b ^ r) & 0x10n ? AF : 0) | (r === 0n ? ZF : 0) | (sr ? SF : 0)
    | (sa === sb && sr !== sa ? OF : 0);
}
const pre = (bits: number): number[] => (bits === 16 ? [0x66] : bits === 64 ? [0x48] : []);
/** Write the low `bits` of a register, as the CPU does for that operand size. */
function regWrite(bits: number, old: bigint, v: bigint): bigint {
  return bits === 32 ? v & mask(32) : (old & ~mask(bits)) | (v & mask(bits));
}

describe('CMPXCHG', () => {
  for (const bits of [8, 16, 32, 64]) {
    it(`cmpxchg r/m${bits}, r${bits}: register destination, equal and not equal`, () => {
      const h = makeCpu();
      const rv = makeRv(bits);
      const r = mulberry32(bits * 3);
      for (let k = 0; k < 200; k++) {
        const rax = rv(64), dst = (k & 1) ? rax : rv(64), src = rv(64), fin = r() & ARITH;
        h.setReg(RAX, rax); h.setReg(RBX, dst); h.setReg(RCX, src);
        setFlags(h, fin);
        h.exec([...pre(bits), 0x0f, bits === 8 ? 0xb0 : 0xb1, 0xcb]); // cmpxchg bl/bx/ebx/rbx, cl/cx/ecx/rcx
        const a = rax & mask(bits), d = dst & mask(bits);
        const eq = a === d;
        expect(h.rflags() & ARITH).toBe(subFlags(bits, a, d));
        expect(h.reg(RBX)).toBe(eq ? regWrite(bits, dst, src) : dst);
        expect(h.reg(RAX)).toBe(eq ? rax : regWrite(bits, rax, d));
        expect(h.reg(RCX)).toBe(src);
      }
    });
    it(`cmpxchg m${bits}, r${bits}: memory is written either way`, () => {
      const h = makeCpu();
      const rv = makeRv(bits + 50);
      const r = mulberry32(bits * 5);
      for (let k = 0; k < 200; k++) {
        const rax = rv(64), mem = (k & 1) ? rax : rv(64), src = rv(64), fin = r() & ARITH;
        h.setReg(RAX, rax); h.setReg(RCX, src); h.setReg(RSI, BigInt(DATA));
        h.mem.view.setBigUint64(DATA, mem, true);
        setFlags(h, fin);
        const lock = (k & 2) ? [0xf0] : [];
        h.exec([...lock, ...pre(bits), 0x0f, bits === 8 ? 0xb0 : 0xb1, 0x0e]); // [lock] cmpxchg [rsi], ecx
        const a = rax & mask(bits), d = mem & mask(bits);
        const eq = a === d;
        expect(h.rflags() & ARITH).toBe(subFlags(bits, a, d));
        expect(h.mem.view.getBigUint64(DATA, true)).toBe(eq ? (mem & ~mask(bits)) | (src & mask(bits)) : mem);
        expect(h.reg(RAX)).toBe(eq ? rax : regWrite(bits, rax, d));
      }
    });
  }
  it('register form: a 32-bit destination keeps its upper half when the comparison fails', () => {
    const h = makeCpu();
    h.setReg(RAX, 0xaaaaaaaa_00000005n); h.setReg(RBX, 0xaaaaaaaa_00000006n); h.setReg(RCX, 7n);
    h.exec([0x0f, 0xb1, 0xcb]);
    expect(h.reg(RBX)).toBe(0xaaaaaaaa_00000006n);
    expect(h.reg(RAX)).toBe(6n); // accumulator load zero-extends
    expect(h.rflags() & ZF).toBe(0);
    h.setReg(RAX, 0xaaaaaaaa_00000006n);
    h.exec([0x0f, 0xb1, 0xcb]);
    expect(h.reg(RBX)).toBe(7n); // written, zero-extended
    expect(h.reg(RAX)).toBe(0xaaaaaaaa_00000006n); // not written
    expect(h.rflags() & ZF).toBe(ZF);
  });
  it('cmpxchg eax, ecx always succeeds; cmpxchg bh, ah uses the high-byte registers', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x1234n); h.setReg(RCX, 0x99n);
    h.exec([0x0f, 0xb1, 0xc8]);
    expect(h.reg(RAX)).toBe(0x99n);
    h.setReg(RAX, 0x4200n); h.setReg(RBX, 0x4200n);
    h.exec([0x0f, 0xb0, 0xe7]); // cmpxchg bh, ah: AL=0 vs BH=0x42 → AL = 0x42
    expect(h.reg(RAX)).toBe(0x4242n);
    expect(h.reg(RBX)).toBe(0x4200n);
  });
  it('SDM: the destination receives a write cycle even when the comparison fails (#PF on read-only page)', () => {
    const h = makeCpu();
    h.mem.view.setUint32(0x3008, DATA | 0x81, true); // 2 MiB page at DATA: present, read-only
    h.cpu.tlb.flushAll();
    h.mem.view.setUint32(DATA, 1, true);
    h.setReg(RSI, BigInt(DATA)); h.setReg(RAX, 2n);
    expectFault(h, [0x0f, 0xb1, 0x0e], 14, 3);
    expect(h.reg(RAX)).toBe(2n); // the accumulator was not loaded
  });
  it('LOCK on a register destination is #UD', () => {
    const h = makeCpu();
    expectFault(h, [0xf0, 0x0f, 0xb1, 0xcb], 6);
    expectFault(h, [0xf0, 0x0f, 0xb0, 0xcb], 6);
  });
});

describe('XADD', () => {
  for (const bits of [8, 16, 32, 64]) {
    it(`xadd r/m${bits}, r${bits}: register and memory destinations`, () => {
      const h = makeCpu();
      const rv = makeRv(bits + 100);
      const r = mulberry32(bits * 7);
      for (let k = 0; k < 200; k++) {
        const dst = rv(64), src = rv(64), fin = r() & ARITH, mem = (k & 1) === 1;
        h.setReg(RBX, dst); h.setReg(RCX, src); h.setReg(RSI, BigInt(DATA));
        h.mem.view.setBigUint64(DATA, dst, true);
        setFlags(h, fin);
        const lock = mem && (k & 2) ? [0xf0] : [];
        h.exec([...lock, ...pre(bits), 0x0f, bits === 8 ? 0xc0 : 0xc1, mem ? 0x0e : 0xcb]);
        const d = dst & mask(bits), s = src & mask(bits);
        const sum = (d + s) & mask(bits);
        expect(h.rflags() & ARITH).toBe(addFlags(bits, d, s));
        if (mem) expect(h.mem.view.getBigUint64(DATA, true)).toBe((dst & ~mask(bits)) | sum);
        else expect(h.reg(RBX)).toBe(regWrite(bits, dst, sum));
        expect(h.reg(RCX)).toBe(regWrite(bits, src, d));
      }
    });
  }
  it('xadd ebx, ebx leaves the sum (the destination is written last)', () => {
    const h = makeCpu();
    h.setReg(RBX, 0xaaaaaaaa_00000005n);
    h.exec([0x0f, 0xc1, 0xdb]);
    expect(h.reg(RBX)).toBe(10n);
  });
  it('LOCK on a register destination is #UD', () => {
    const h = makeCpu();
    expectFault(h, [0xf0, 0x0f, 0xc1, 0xcb], 6);
  });
});

describe('CMPXCHG8B / CMPXCHG16B', () => {
  it('cmpxchg8b m64: success stores ECX:EBX, failure loads EDX:EAX (zero-extended); only ZF changes', () => {
    const h = makeCpu();
    const rv = makeRv(8);
    const r = mulberry32(88);
    for (let k = 0; k < 200; k++) {
      const m = rv(64);
      const rax = (k & 1) ? (rv(64) & ~mask(32)) | (m & mask(32)) : rv(64);
      const rdx = (k & 1) && (k & 2) ? (rv(64) & ~mask(32)) | (m >> 32n) : rv(64);
      const rbx = rv(64), rcx = rv(64), fin = r() & ARITH;
      h.setReg(RAX, rax); h.setReg(RDX, rdx); h.setReg(RBX, rbx); h.setReg(RCX, rcx); h.setReg(RSI, BigInt(DATA + 3));
      h.mem.view.setBigUint64(DATA + 3, m, true); // unaligned is fine for CMPXCHG8B
      setFlags(h, fin);
      h.exec([...((k & 4) ? [0xf0] : []), 0x0f, 0xc7, 0x0e]);
      const eq = (rax & mask(32)) === (m & mask(32)) && (rdx & mask(32)) === (m >> 32n);
      expect(h.rflags() & ARITH).toBe((fin & ~ZF) | (eq ? ZF : 0));
      expect(h.mem.view.getBigUint64(DATA + 3, true)).toBe(eq ? ((rcx & mask(32)) << 32n) | (rbx & mask(32)) : m);
      expect(h.reg(RAX)).toBe(eq ? rax : m & mask(32));
      expect(h.reg(RDX)).toBe(eq ? rdx : m >> 32n);
    }
  });
  it('cmpxchg16b m128: success stores RCX:RBX, failure loads RDX:RAX; only ZF changes', () => {
    const h = makeCpu();
    const rv = makeRv(16);
    const r = mulberry32(1616);
    for (let k = 0; k < 200; k++) {
      const lo = rv(64), hi = rv(64);
      const rax = (k & 1) ? lo : rv(64);
      const rdx = (k & 1) && (k & 2) ? hi : rv(64);
      const rbx = rv(64), rcx = rv(64), fin = r() & ARITH;
      h.setReg(RAX, rax); h.setReg(RDX, rdx); h.setReg(RBX, rbx); h.setReg(RCX, rcx); h.setReg(RSI, BigInt(DATA + 0x10));
      h.mem.view.setBigUint64(DATA + 0x10, lo, true); h.mem.view.setBigUint64(DATA + 0x18, hi, true);
      setFlags(h, fin);
      h.exec([...((k & 4) ? [0xf0] : []), 0x48, 0x0f, 0xc7, 0x0e]);
      const eq = rax === lo && rdx === hi;
      expect(h.rflags() & ARITH).toBe((fin & ~ZF) | (eq ? ZF : 0));
      expect(h.mem.view.getBigUint64(DATA + 0x10, true)).toBe(eq ? rbx : lo);
      expect(h.mem.view.getBigUint64(DATA + 0x18, true)).toBe(eq ? rcx : hi);
      expect(h.reg(RAX)).toBe(eq ? rax : lo);
      expect(h.reg(RDX)).toBe(eq ? rdx : hi);
    }
  });
  it('cmpxchg16b on an operand not 16-byte aligned is #GP(0), before any access', () => {
    const h = makeCpu();
    h.setReg(RSI, BigInt(DATA + 8)); h.setReg(RAX, 1n);
    h.mem.view.setBigUint64(DATA + 8, 1n, true);
    expectFault(h, [0x48, 0x0f, 0xc7, 0x0e], 13, 0);
    expect(h.mem.view.getBigUint64(DATA + 8, true)).toBe(1n);
  });
  it('register operands are #UD; other 0F C7 members are #UD unless registered', () => {
    const h = makeCpu();
    expectFault(h, [0x0f, 0xc7, 0xcb], 6);
    expectFault(h, [0x48, 0x0f, 0xc7, 0xcb], 6);
    h.setReg(RSI, BigInt(DATA));
    expectFault(h, [0x0f, 0xc7, 0x06], 6); // 0F C7 /0
  });
});
