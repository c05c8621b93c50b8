// MUL / IMUL / DIV / IDIV (SDM Vol. 2A "MUL", "IMUL", "DIV", "IDIV").
// Expected values come from BigInt reference arithmetic written here from the SDM's definitions,
// never from the code under test. Flags the SDM leaves undefined follow what the Intel host
// (Ice Lake-class Xeon) was measured to do natively:
//   MUL/IMUL: SF = sign bit of the low half, PF = parity of its low byte, ZF = AF = 0.
//   DIV/IDIV: all arithmetic flags unchanged.
import { CF, PF, AF, ZF, SF, OF, ARITH, mulberry32, mask, parity } from '../helpers/ref.ts';
import { describe, it, expect } from 'vitest';
import { makeCpu, installIdt64, step, CODE, DATA, STACK_TOP, type Harness } from '../helpers/cpu-harness.ts';
import { RAX, RDX, RBX, RSP, RSI, RCX } from '../../emulator/cpu/state.ts';
import { setRflags } from '../../emulator/cpu/flags.ts';

const R9 = 9;
const HANDLER = CODE + 0x1000;
const IDT = 0x10000;

// ---------------------------------------------------------------- test utilities
function signed(v: bigint, bits: number): bigint { return BigInt.asIntN(bits, v); }
/** Random values biased towards edge cases, `bits` wide (unsigned). */
function makeRv(seed: number) {
  const r = mulberry32(seed);
  const r64 = () => (BigInt(r()) << 32n) | BigInt(r());
  return (bits: number): bigint => {
    const m = mask(bits), half = 1n << BigInt(bits - 1);
    switch (r() % 6) {
      case 0: return r64() & m;
      case 1: return [0n, 1n, m, half, half - 1n, half + 1n, 2n, m - 1n][r() % 8];
      case 2: return r64() & mask(1 + (r() % bits));
      case 3: return (m + 1n - (r64() & mask(1 + (r() % bits)))) & m;
      case 4: return (r64() >> BigInt(r() % 64)) & m;
      default: return r64() & m;
    }
  };
}
function setFlags(h: Harness, f: number): void { setRflags(h.cpu, f, ARITH); }
function run(h: Harness, bytes: number[]): void { h.exec(bytes); }
/** Run one instruction that must fault with `vec`; checks the frame points at it (a fault). */
function expectFault(h: Harness, bytes: number[], vec: number): void {
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
  expect(h.mem.view.getBigUint64(rsp, true)).toBe(BigInt(CODE)); // saved RIP = faulting instruction
}

// ---------------------------------------------------------------- encodings
type Form = 'reg' | 'mem' | 'high8' | 'r9';
const OPS = { mul: 4, imul: 5, div: 6, idiv: 7 } as const;
type Op = keyof typeof OPS;
/** Group 3 F6/F7 /op with the operand in RBX (BL/BX/EBX/RBX), BH, R9(B/W/D) or [RSI]. */
function grp3(op: Op, bits: number, form: Form): number[] {
  const out: number[] = [];
  if (bits === 16) out.push(0x66);
  let rex = bits === 64 ? 0x48 : 0;
  if (form === 'r9') rex |= 0x41;
  if (rex) out.push(rex);
  out.push(bits === 8 ? 0xf6 : 0xf7);
  const o = OPS[op] << 3;
  out.push(form === 'mem' ? o | 6 : form === 'high8' ? 0xc0 | o | 7 : form === 'r9' ? 0xc0 | o | 1 : 0xc0 | o | 3);
  return out;
}
/** Place operand value b where `form` says. */
function putOperand(h: Harness, bits: number, form: Form, b: bigint, filler: bigint): void {
  h.setReg(RSI, BigInt(DATA));
  const m = mask(bits);
  switch (form) {
    case 'reg': h.setReg(RBX, (filler & ~m) | b); break;
    case 'r9': h.setReg(R9, (filler & ~m) | b); break;
    case 'high8': h.setReg(RBX, (filler & ~0xff00n) | (b << 8n)); break;
    case 'mem': h.mem.view.setBigUint64(DATA, b | (filler & ~m), true); break;
  }
}

// ---------------------------------------------------------------- reference models
interface Acc { rax: bigint; rdx: bigint; flags: number }
/** One-operand MUL/IMUL: accumulator in rax (and rdx for the result). */
function mulRef(op: 'mul' | 'imul', bits: number, rax: bigint, rdx: bigint, b: bigint): Acc {
  const m = mask(bits), B = BigInt(bits);
  const a = rax & m;
  const p = op === 'mul' ? a * b : signed(a, bits) * signed(b, bits);
  const pu = p & mask(2 * bits);
  const lo = pu & m, hi = pu >> B;
  const ovf = op === 'mul' ? hi !== 0n : signed(lo, bits) !== p;
  const flags = (ovf ? CF | OF : 0) | ((lo >> (B - 1n)) & 1n ? SF : 0) | parity(lo);
  switch (bits) {
    case 8: return { rax: (rax & ~0xffffn) | pu, rdx, flags };
    case 16: return { rax: (rax & ~m) | lo, rdx: (rdx & ~m) | hi, flags };
    default: return { rax: lo, rdx: hi, flags }; // 32-bit results zero-extend
  }
}
/** DIV/IDIV: returns null for #DE. */
function divRef(op: 'div' | 'idiv', bits: number, rax: bigint, rdx: bigint, b: bigint): { rax: bigint; rdx: bigint } | null {
  const m = mask(bits), B = BigInt(bits);
  const n = bits === 8 ? rax & 0xffffn : ((rdx & m) << B) | (rax & m);
  if (b === 0n) return null;
  let q: bigint, r: bigint;
  if (op === 'div') {
    q = n / b; r = n % b;
    if (q > m) return null;
  } else {
    const sn = signed(n, 2 * bits), sd = signed(b, bits);
    q = sn / sd; r = sn % sd; // BigInt division truncates toward zero; r has the dividend's sign
    if (q < -(1n << (B - 1n)) || q >= 1n << (B - 1n)) return null;
    q &= m; r &= m;
  }
  switch (bits) {
    case 8: return { rax: (rax & ~0xffffn) | (r << 8n) | q, rdx };
    case 16: return { rax: (rax & ~m) | q, rdx: (rdx & ~m) | r };
    default: return { rax: q, rdx: r };
  }
}

// ---------------------------------------------------------------- tests
const SIZES = [8, 16, 32, 64];
const FORMS: Form[] = ['reg', 'mem', 'r9'];

describe('MUL / IMUL (one operand)', () => {
  for (const op of ['mul', 'imul'] as const) {
    for (const bits of SIZES) {
      const forms: Form[] = bits === 8 ? [...FORMS, 'high8'] : FORMS;
      for (const form of forms) {
        it(`${op} r/m${bits} (${form}) against BigInt reference`, () => {
          const h = makeCpu();
          const rv = makeRv(bits * 31 + OPS[op] * 7 + form.length);
          const code = grp3(op, bits, form);
          for (let n = 0; n < 150; n++) {
            const rax = rv(64), rdx = rv(64), b = rv(bits), filler = rv(64);
            const fin = n & 1 ? ARITH : 0;
            // high8 reads BH from RBX, so keep RAX distinct: the operand is not the accumulator.
            h.setReg(RAX, rax); h.setReg(RDX, rdx);
            putOperand(h, bits, form, b, filler);
            setFlags(h, fin);
            run(h, code);
            const e = mulRef(op, bits, rax, rdx, b);
            expect(h.reg(RAX), `rax ${rax.toString(16)} * ${b.toString(16)}`).toBe(e.rax);
            expect(h.reg(RDX)).toBe(e.rdx);
            expect(h.rflags() & ARITH).toBe(e.flags);
          }
        });
      }
    }
  }
  it('SDM examples: MUL AL=0x80 by 2 sets CF/OF; IMUL -1*-1 clears them', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x80n); h.setReg(RBX, 2n);
    run(h, [0xf6, 0xe3]); // mul bl
    expect(h.reg(RAX)).toBe(0x100n);
    expect(h.rflags() & (CF | OF)).toBe(CF | OF);
    h.setReg(RAX, 0xffn); h.setReg(RBX, 0xffn);
    run(h, [0xf6, 0xeb]); // imul bl
    expect(h.reg(RAX)).toBe(1n);
    expect(h.rflags() & (CF | OF)).toBe(0);
  });
  it('mul ebx zero-extends into RAX and RDX; mul bx keeps their upper bits', () => {
    const h = makeCpu();
    h.setReg(RAX, 0xaaaaaaaa_ffffffffn); h.setReg(RDX, 0x5555555555555555n); h.setReg(RBX, 0xffffffffn);
    run(h, [0xf7, 0xe3]);
    expect(h.reg(RAX)).toBe(1n);
    expect(h.reg(RDX)).toBe(0xfffffffen);
    h.setReg(RAX, 0xaaaaaaaa_aaaaffffn); h.setReg(RDX, 0x55555555_55555555n); h.setReg(RBX, 0xffffn);
    run(h, [0x66, 0xf7, 0xe3]);
    expect(h.reg(RAX)).toBe(0xaaaaaaaa_aaaa0001n);
    expect(h.reg(RDX)).toBe(0x55555555_5555fffen);
  });
  it('mul rbx: full 128-bit product of the largest operands', () => {
    const h = makeCpu();
    h.setReg(RAX, 0xffffffffffffffffn); h.setReg(RBX, 0xffffffffffffffffn);
    run(h, [0x48, 0xf7, 0xe3]);
    expect(h.reg(RAX)).toBe(1n);
    expect(h.reg(RDX)).toBe(0xfffffffffffffffen);
    expect(h.rflags() & (CF | OF | ZF)).toBe(CF | OF);
  });
  it('imul rbx: most negative squared is 2^126', () => {
    const h = makeCpu();
    h.setReg(RAX, 1n << 63n); h.setReg(RBX, 1n << 63n);
    run(h, [0x48, 0xf7, 0xeb]);
    expect(h.reg(RAX)).toBe(0n);
    expect(h.reg(RDX)).toBe(1n << 62n);
    expect(h.rflags() & (CF | OF)).toBe(CF | OF);
  });
});

describe('DIV / IDIV', () => {
  for (const op of ['div', 'idiv'] as const) {
    for (const bits of SIZES) {
      for (const form of (bits === 8 ? [...FORMS, 'high8'] : FORMS) as Form[]) {
        it(`${op} r/m${bits} (${form}) against BigInt reference, #DE included`, () => {
          const h = makeCpu();
          installIdt64(h, IDT, { 0: HANDLER });
          const rv = makeRv(bits * 17 + OPS[op] * 3 + form.length);
          const r = mulberry32(bits + form.length);
          const code = grp3(op, bits, form);
          let faults = 0, ok = 0;
          for (let n = 0; n < 200; n++) {
            let rax = rv(64), rdx = rv(64);
            let b = rv(bits);
            if (r() % 3 !== 0 && b === 0n) b = 1n;
            // Mostly keep the quotient in range: high part below the divisor (unsigned case), or a
            // small sign-extended dividend (signed case).
            const k = r() % 4;
            if (k < 2 && b !== 0n) {
              const hi = rv(bits) % b;
              if (bits === 8) rax = (rax & ~0xff00n) | (hi << 8n); else rdx = (rdx & ~mask(bits)) | hi;
            } else if (k === 2) {
              const v = signed(rv(bits), bits) & mask(2 * bits);
              if (bits === 8) rax = (rax & ~0xffffn) | v;
              else { rax = (rax & ~mask(bits)) | (v & mask(bits)); rdx = (rdx & ~mask(bits)) | (v >> BigInt(bits)); }
            }
            const fin = r() & ARITH;
            h.setReg(RAX, rax); h.setReg(RDX, rdx);
            putOperand(h, bits, form, b, rv(64));
            setFlags(h, fin);
            const e = divRef(op, bits, rax, rdx, b);
            if (e === null) {
              const before = h.cpu.exceptionCounts[0];
              h.mem.load(CODE, Uint8Array.from(code));
              h.cpu.flushDecodeCache();
              h.cpu.rip = CODE; h.setReg(RSP, BigInt(STACK_TOP));
              step(h.cpu);
              expect(h.cpu.exceptionCounts[0], `#DE for ${rdx.toString(16)}:${rax.toString(16)} / ${b.toString(16)}`).toBe(before + 1);
              expect(h.cpu.rip).toBe(HANDLER);
              expect(h.reg(RAX)).toBe(rax); // nothing written
              expect(h.reg(RDX)).toBe(rdx);
              faults++;
            } else {
              run(h, code);
              expect(h.reg(RAX), `${rdx.toString(16)}:${rax.toString(16)} / ${b.toString(16)}`).toBe(e.rax);
              expect(h.reg(RDX)).toBe(e.rdx);
              expect(h.rflags() & ARITH).toBe(fin); // flags unchanged (host behaviour)
              ok++;
            }
          }
          expect(faults).toBeGreaterThan(0);
          expect(ok).toBeGreaterThan(50);
        });
      }
    }
  }

  it('div rbx: structured 128/64 divisions exercise every long-division path', () => {
    // Dividend and divisor limbs drawn from values that provoke quotient-digit corrections.
    const h = makeCpu();
    const r = mulberry32(12345);
    const LIMBS = [0n, 1n, 0x7fffn, 0x8000n, 0xffffn, 0xfffen];
    const limbs = (k: number): bigint => {
      let v = 0n;
      for (let j = 0; j < k; j++) v |= (r() % 3 === 0 ? BigInt(r() & 0xffff) : LIMBS[r() % LIMBS.length]) << BigInt(16 * j);
      return v;
    };
    for (let n = 0; n < 3000; n++) {
      let d = limbs(4);
      if (d === 0n) d = 1n;
      const hi = limbs(4) % d, lo = limbs(4);
      h.setReg(RAX, lo); h.setReg(RDX, hi); h.setReg(RBX, d);
      run(h, [0x48, 0xf7, 0xf3]); // div rbx
      const num = (hi << 64n) | lo;
      expect(h.reg(RAX), `${num.toString(16)} / ${d.toString(16)}`).toBe(num / d);
      expect(h.reg(RDX)).toBe(num % d);
    }
  });

  it('divide by zero raises #DE at the instruction, all sizes', () => {
    const h = makeCpu();
    for (const bits of SIZES) for (const op of ['div', 'idiv'] as const) {
      h.setReg(RAX, 123n); h.setReg(RDX, 0n); h.setReg(RBX, 0n);
      expectFault(h, grp3(op, bits, 'reg'), 0);
      expect(h.reg(RAX)).toBe(123n);
    }
  });
  it('quotient overflow raises #DE (DIV: high half >= divisor)', () => {
    const h = makeCpu();
    h.setReg(RAX, 0n); h.setReg(RDX, 5n); h.setReg(RBX, 5n);
    expectFault(h, [0xf7, 0xf3], 0); // div ebx
    h.setReg(RAX, 0x1000n); h.setReg(RBX, 0x10n);
    expectFault(h, [0xf6, 0xf3], 0); // div bl: 0x1000/0x10 = 0x100 > 0xff
  });
  it('IDIV of the most negative value by -1 raises #DE, every size', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x8000n); h.setReg(RBX, 0xffn);
    expectFault(h, [0xf6, 0xfb], 0); // idiv bl: -32768 / -1
    h.setReg(RAX, 0x8000n); h.setReg(RDX, 0xffffn); h.setReg(RBX, 0xffffn);
    expectFault(h, [0x66, 0xf7, 0xfb], 0);
    h.setReg(RAX, 0x80000000n); h.setReg(RDX, 0xffffffffn); h.setReg(RBX, 0xffffffffn);
    expectFault(h, [0xf7, 0xfb], 0);
    h.setReg(RAX, 1n << 63n); h.setReg(RDX, (1n << 64n) - 1n); h.setReg(RBX, (1n << 64n) - 1n);
    expectFault(h, [0x48, 0xf7, 0xfb], 0);
  });
  it('IDIV may produce the most negative quotient (SDM: temp < 80H is the overflow test)', () => {
    const h = makeCpu();
    h.setReg(RAX, 0xff80n); h.setReg(RBX, 1n);
    run(h, [0xf6, 0xfb]); // -128 / 1
    expect(h.reg(RAX)).toBe(0x0080n);
    h.setReg(RAX, 0x0080n); h.setReg(RBX, 0xffn);
    run(h, [0xf6, 0xfb]); // 128 / -1 = -128
    expect(h.reg(RAX)).toBe(0x0080n);
    h.setReg(RAX, 1n << 63n); h.setReg(RDX, 0n); h.setReg(RBX, (1n << 64n) - 1n);
    run(h, [0x48, 0xf7, 0xfb]); // 2^63 / -1 = -2^63
    expect(h.reg(RAX)).toBe(1n << 63n);
    expect(h.reg(RDX)).toBe(0n);
  });
  it('IDIV remainder takes the sign of the dividend: -7 / 2 = -3 rem -1', () => {
    const h = makeCpu();
    h.setReg(RAX, 0xfff9n); h.setReg(RBX, 2n);
    run(h, [0xf6, 0xfb]);
    expect(h.reg(RAX)).toBe(0xfffdn); // AH = -1, AL = -3
    h.setReg(RAX, (-7n) & mask(64)); h.setReg(RDX, mask(64)); h.setReg(RBX, 2n);
    run(h, [0x48, 0xf7, 0xfb]);
    expect(h.reg(RAX)).toBe((-3n) & mask(64));
    expect(h.reg(RDX)).toBe(mask(64));
  });
  it('#DE with a memory operand leaves memory and registers untouched', () => {
    const h = makeCpu();
    h.setReg(RSI, BigInt(DATA)); h.mem.view.setBigUint64(DATA, 0n, true);
    h.setReg(RAX, 77n); h.setReg(RDX, 0n);
    expectFault(h, [0x48, 0xf7, 0x36], 0); // div qword [rsi]
    expect(h.reg(RAX)).toBe(77n);
  });
});

describe('IMUL two- and three-operand forms (0F AF, 69, 6B)', () => {
  /** Reference: truncated signed product, CF=OF when it does not fit (SDM "IMUL"). */
  function imulRef(bits: number, a: bigint, b: bigint): { r: bigint; flags: number } {
    const p = signed(a, bits) * signed(b, bits);
    const r = p & mask(bits);
    const ovf = signed(r, bits) !== p;
    return { r, flags: (ovf ? CF | OF : 0) | ((r >> BigInt(bits - 1)) & 1n ? SF : 0) | parity(r) };
  }
  const pre = (bits: number, rex = 0): number[] => (bits === 16 ? [0x66] : []).concat(bits === 64 || rex ? [0x40 | (bits === 64 ? 8 : 0) | rex] : []);
  for (const bits of [16, 32, 64]) {
    it(`imul r${bits}, r/m${bits} (0F AF), register and memory`, () => {
      const h = makeCpu();
      const rv = makeRv(bits + 1000);
      for (let n = 0; n < 200; n++) {
        const a = rv(64), b = rv(64), mem = n & 1;
        h.setReg(RCX, a); h.setReg(RBX, b); h.setReg(RSI, BigInt(DATA));
        h.mem.view.setBigUint64(DATA, b, true);
        setFlags(h, n & 2 ? ARITH : 0);
        run(h, [...pre(bits), 0x0f, 0xaf, mem ? 0x0e : 0xcb]); // imul ecx, ebx / imul ecx, [rsi]
        const e = imulRef(bits, a & mask(bits), b & mask(bits));
        const exp = bits === 16 ? (a & ~0xffffn) | e.r : e.r;
        expect(h.reg(RCX), `${a.toString(16)} * ${b.toString(16)}`).toBe(exp);
        expect(h.rflags() & ARITH).toBe(e.flags);
      }
    });
    it(`imul r${bits}, r/m${bits}, imm (69 Iz and 6B Ib sign-extended)`, () => {
      const h = makeCpu();
      const rv = makeRv(bits + 2000);
      const r = mulberry32(bits);
      for (let n = 0; n < 200; n++) {
        const src = rv(64), dst = rv(64), mem = n & 1, byteImm = n & 2;
        const imm = byteImm ? BigInt(r() & 0xff) : BigInt(bits === 16 ? r() & 0xffff : r());
        const immBytes = byteImm ? [Number(imm)] : bits === 16 ? [Number(imm & 0xffn), Number(imm >> 8n)]
          : [0, 8, 16, 24].map((s) => Number((imm >> BigInt(s)) & 0xffn));
        const simm = byteImm ? signed(imm, 8) : signed(imm, bits === 16 ? 16 : 32);
        h.setReg(RBX, src); h.setReg(RDX, dst); h.setReg(RSI, BigInt(DATA));
        h.mem.view.setBigUint64(DATA, src, true);
        run(h, [...pre(bits), byteImm ? 0x6b : 0x69, mem ? 0x16 : 0xd3, ...immBytes]); // imul edx, ebx/[rsi], imm
        const e = imulRef(bits, src & mask(bits), simm & mask(bits));
        const exp = bits === 16 ? (dst & ~0xffffn) | e.r : e.r;
        expect(h.reg(RDX), `${src.toString(16)} * ${simm}`).toBe(exp);
        expect(h.rflags() & ARITH).toBe(e.flags);
      }
    });
  }
  it('imul r10, r11, 100 with REX.R/REX.B', () => {
    const h = makeCpu();
    h.setReg(11, (-5n) & mask(64));
    run(h, [0x4d, 0x6b, 0xd3, 100]);
    expect(h.reg(10)).toBe((-500n) & mask(64));
    expect(h.rflags() & (CF | OF | SF)).toBe(SF);
  });
  it('imul rax, rbx overflow detection at the 64-bit boundary', () => {
    const h = makeCpu();
    h.setReg(RAX, 1n << 62n); h.setReg(RBX, 2n);
    run(h, [0x48, 0x0f, 0xaf, 0xc3]);
    expect(h.reg(RAX)).toBe(1n << 63n);
    expect(h.rflags() & (CF | OF)).toBe(CF | OF); // +2^63 does not fit
    h.setReg(RAX, (-(1n << 62n)) & mask(64)); h.setReg(RBX, 2n);
    run(h, [0x48, 0x0f, 0xaf, 0xc3]);
    expect(h.reg(RAX)).toBe(1n << 63n);
    expect(h.rflags() & (CF | OF)).toBe(0); // -2^63 fits
  });
});

describe('invalid encodings', () => {
  it('LOCK on MUL/DIV/IMUL is #UD', () => {
    const h = makeCpu();
    h.setReg(RSI, BigInt(DATA));
    expectFault(h, [0xf0, 0xf7, 0x26], 6); // lock mul dword [rsi]
    expectFault(h, [0xf0, 0xf7, 0xf3], 6); // lock div ebx
    expectFault(h, [0xf0, 0x0f, 0xaf, 0x06], 6); // lock imul eax, [rsi]
    expectFault(h, [0xf0, 0x6b, 0x06, 0x03], 6);
  });
});
