// Shifts and rotates: C0/C1/D0-D3 (ROL ROR RCL RCR SHL/SAL SHR SAR) and SHLD/SHRD (0F A4/A5/AC/AD),
// SDM Vol. 2B "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR", "SHLD", "SHRD".
// Expected values come from a BigInt model written here from the SDM pseudocode. Where the SDM says
// "undefined", the model follows what the Intel host (Ice Lake-class Xeon) was measured to do:
//  - OF for counts other than 1 is the count-1 formula applied to the ORIGINAL operand
//    (SHL/ROL/RCL: MSB^next bit, SHR: MSB, SAR: 0, ROR: MSB^LSB, RCR: MSB^CF, SHLD: MSB^next bit,
//    SHRD: MSB(dest)^LSB(src)) — except ROL/ROR of a register by an immediate other than 1,
//    which leave OF unchanged.
//  - AF is cleared by SHL/SHR/SAR/SHLD/SHRD with a non-zero count.
//  - 8/16-bit SHL/SHR/SAR with count >= size behave as on an unbounded value.
//  - 16-bit SHLD/SHRD with count > 16 shift the 48-bit value dest:src:dest.
import { CF, PF, AF, ZF, SF, OF, ARITH, mulberry32, mask, parity } from '../helpers/ref.ts';
import { describe, it, expect } from 'vitest';
import { makeCpu, installIdt64, step, CODE, DATA, STACK_TOP, type Harness } from '../helpers/cpu-harness.ts';
import { RAX, RBX, RCX, RDX, RSP, RSI } from '../../emulator/cpu/state.ts';
import { setRflags } from '../../emulator/cpu/flags.ts';

const HANDLER = CODE + 0x1000;
const IDT = 0x10000;

// ---------------------------------------------------------------- utilities
function makeRv(seed: number) {
  const r = mulberry32(seed);
  const r64 = () => (BigInt(r()) << 32n) | BigInt(r());
  return (bits: number): bigint => {
    const m = mask(bits), half = 1n << BigInt(bits - 1);
    switch (r() % 5) {
      case 0: return [0n, 1n, m, half, half - 1n, half + 1n, 3n << BigInt(bits - 2)][r() % 7];
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

// ---------------------------------------------------------------- reference model
const OPNUM = { rol: 0, ror: 1, rcl: 2, rcr: 3, shl: 4, shr: 5, sal: 6, sar: 7 } as const;
type Op = keyof typeof OPNUM;
type Src = 'imm' | 'one' | 'cl';

function shiftRef(op: Op, bits: number, v: bigint, count: number, fin: number, src: Src, isReg: boolean): { r: bigint; flags: number } {
  const mc = count & (bits === 64 ? 63 : 31);
  if (mc === 0) return { r: v, flags: fin };
  const B = BigInt(bits), m = mask(bits), n = BigInt(mc);
  const msb = (x: bigint) => Number((x >> (B - 1n)) & 1n);
  const msb2 = (x: bigint) => Number((x >> (B - 2n)) & 1n);
  const cfIn = BigInt(fin & CF);
  const szp = (r: bigint) => (r === 0n ? ZF : 0) | (msb(r) ? SF : 0) | parity(r);
  const keepOf = isReg && src === 'imm' && mc !== 1;
  switch (op) {
    case 'rol': case 'ror': {
      const t = n % B;
      const r = t === 0n ? v : op === 'rol' ? ((v << t) | (v >> (B - t))) & m : ((v >> t) | (v << (B - t))) & m;
      const cf = op === 'rol' ? Number(r & 1n) : msb(r);
      const of = keepOf ? fin & OF : (op === 'rol' ? msb(v) ^ msb2(v) : msb(v) ^ Number(v & 1n)) ? OF : 0;
      return { r, flags: (fin & (PF | AF | ZF | SF)) | cf | of };
    }
    case 'rcl': case 'rcr': {
      const t = bits < 32 ? n % (B + 1n) : n;
      if (t === 0n) return { r: v, flags: fin }; // rotate amount 0 (count a multiple of 9/17)
      const W = B + 1n, wm = mask(bits + 1);
      const x = (cfIn << B) | v;
      const y = op === 'rcl' ? ((x << t) | (x >> (W - t))) & wm : ((x >> t) | (x << (W - t))) & wm;
      const of = op === 'rcl' ? msb(v) ^ msb2(v) : msb(v) ^ Number(cfIn);
      return { r: y & m, flags: (fin & (PF | AF | ZF | SF)) | Number(y >> B) | (of ? OF : 0) };
    }
    case 'shl': case 'sal': {
      const w = v << n;
      const r = w & m;
      return { r, flags: Number((w >> B) & 1n) | (msb(v) ^ msb2(v) ? OF : 0) | szp(r) };
    }
    case 'shr': {
      const r = v >> n;
      return { r, flags: Number((v >> (n - 1n)) & 1n) | (msb(v) ? OF : 0) | szp(r) };
    }
    case 'sar': {
      const sv = BigInt.asIntN(bits, v);
      const r = (sv >> n) & m;
      return { r, flags: Number((sv >> (n - 1n)) & 1n) | szp(r) };
    }
  }
}

type Form = 'reg' | 'mem' | 'high8' | 'r12';
function grp2(op: Op, bits: number, form: Form, src: Src, imm: number): number[] {
  const out: number[] = [];
  if (bits === 16) out.push(0x66);
  const rex = (bits === 64 ? 0x48 : 0) | (form === 'r12' ? 0x41 : 0);
  if (rex) out.push(rex);
  const base = src === 'imm' ? 0xc0 : src === 'one' ? 0xd0 : 0xd2;
  out.push(base + (bits === 8 ? 0 : 1));
  const o = OPNUM[op] << 3;
  out.push(form === 'mem' ? o | 6 : form === 'high8' ? 0xc0 | o | 7 : form === 'r12' ? 0xc0 | o | 4 : 0xc0 | o | 3);
  if (src === 'imm') out.push(imm & 0xff);
  return out;
}
function regOf(form: Form): number { return form === 'r12' ? 12 : RBX; }
function place(h: Harness, bits: number, form: Form, v: bigint, filler: bigint): void {
  h.setReg(RSI, BigInt(DATA));
  const m = mask(bits);
  if (form === 'mem') h.mem.view.setBigUint64(DATA, (filler & ~m) | v, true);
  else if (form === 'high8') h.setReg(RBX, (filler & ~0xff00n) | (v << 8n));
  else h.setReg(regOf(form), (filler & ~m) | v);
}
/** What the destination location holds after the instruction, given the result r. */
function expected(bits: number, form: Form, r: bigint, filler: bigint): bigint {
  const m = mask(bits);
  if (form === 'high8') return (filler & ~0xff00n) | (r << 8n);
  if (form !== 'mem' && bits === 32) return r; // 32-bit register writes zero-extend
  return (filler & ~m) | r;
}
function readBack(h: Harness, form: Form): bigint {
  return form === 'mem' ? h.mem.view.getBigUint64(DATA, true) : h.reg(regOf(form));
}

// ---------------------------------------------------------------- group 2
const OPS: Op[] = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
const SIZES = [8, 16, 32, 64];

describe('group 2 shifts and rotates against the reference model', () => {
  for (const op of OPS) {
    for (const bits of SIZES) {
      it(`${op} ${bits}-bit: imm/1/CL counts, register and memory forms`, () => {
        const h = makeCpu();
        const rv = makeRv(OPNUM[op] * 100 + bits);
        const r = mulberry32(OPNUM[op] * 7 + bits);
        const forms: Form[] = bits === 8 ? ['reg', 'mem', 'high8', 'r12'] : ['reg', 'mem', 'r12'];
        const specials = [0, 1, 2, bits - 1, bits, bits + 1, 9, 16, 17, 31, 32, 33, 63, 64, 65, 0x80, 0xff];
        for (const src of ['imm', 'one', 'cl'] as Src[]) {
          for (const form of forms) {
            for (let k = 0; k < 40; k++) {
              const v = rv(bits), filler = rv(64);
              const count = src === 'one' ? 1 : k < specials.length ? specials[k] : r() & 0xff;
              const fin = r() & ARITH;
              place(h, bits, form, v, filler);
              h.setReg(RCX, (BigInt(r()) << 8n) | BigInt(count)); // only CL counts
              setFlags(h, fin);
              h.exec(grp2(op, bits, form, src, count));
              const e = shiftRef(op, bits, v, count, fin, src, form !== 'mem');
              const what = `${op} ${form} ${src} v=${v.toString(16)} count=${count} fin=${fin.toString(16)}`;
              expect(readBack(h, form), what).toBe(expected(bits, form, e.r, filler));
              expect(h.rflags() & ARITH, what).toBe(e.flags);
            }
          }
        }
      });
    }
  }
});

describe('group 2: SDM cases and edge cases', () => {
  it('shl al, 1 of 0x80: result 0, CF=1, OF=1 (MSB xor CF), ZF, PF', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x80n);
    h.exec([0xd0, 0xe0]);
    expect(h.reg(RAX)).toBe(0n);
    expect(h.rflags() & ARITH).toBe(CF | OF | ZF | PF);
  });
  it('shr with count 1: OF is the MSB of the original operand', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x80000001n);
    h.exec([0xd1, 0xe8]); // shr eax, 1
    expect(h.reg(RAX)).toBe(0x40000000n);
    expect(h.rflags() & (CF | OF)).toBe(CF | OF);
  });
  it('sar keeps the sign: -1 >> 31 is -1; sar with count 1 clears OF', () => {
    const h = makeCpu();
    h.setReg(RAX, 0xffffffffn);
    setFlags(h, OF);
    h.exec([0xc1, 0xf8, 31]);
    expect(h.reg(RAX)).toBe(0xffffffffn);
    expect(h.rflags() & (CF | OF | SF)).toBe(CF | SF);
  });
  it('counts are masked to 5 bits (6 for 64-bit): shl eax, 33 is shl eax, 1; shl rax, 65 is shl rax, 1', () => {
    const h = makeCpu();
    h.setReg(RAX, 3n);
    h.exec([0xc1, 0xe0, 33]);
    expect(h.reg(RAX)).toBe(6n);
    h.setReg(RAX, 3n);
    h.exec([0x48, 0xc1, 0xe0, 65]);
    expect(h.reg(RAX)).toBe(6n);
    h.setReg(RAX, 3n);
    h.exec([0x48, 0xc1, 0xe0, 33]);
    expect(h.reg(RAX)).toBe(6n << 32n);
  });
  it('masked count 0 changes no flag; a 32-bit register destination is still zero-extended', () => {
    const h = makeCpu();
    for (const fin of [0, ARITH, CF | ZF]) {
      h.setReg(RBX, 0xaaaaaaaa_00000005n);
      h.setReg(RCX, 32n);
      setFlags(h, fin);
      h.exec([0xd3, 0xe3]); // shl ebx, cl (cl=32 → 0)
      expect(h.reg(RBX)).toBe(5n);
      expect(h.rflags() & ARITH).toBe(fin);
      h.setReg(RBX, 0xaaaaaaaa_00000005n);
      h.exec([0x66, 0xc1, 0xe3, 0]); // shl bx, 0: upper bits kept
      expect(h.reg(RBX)).toBe(0xaaaaaaaa_00000005n);
      expect(h.rflags() & ARITH).toBe(fin);
    }
  });
  it('8-bit shifts by counts >= 8: SHL by 8 moves bit 0 into CF, SHR by 9 gives 0 and CF=0', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x01n);
    h.exec([0xc0, 0xe0, 8]);
    expect(h.reg(RAX) & 0xffn).toBe(0n);
    expect(h.rflags() & (CF | ZF)).toBe(CF | ZF);
    h.setReg(RAX, 0xffn);
    h.exec([0xc0, 0xe8, 9]);
    expect(h.reg(RAX) & 0xffn).toBe(0n);
    expect(h.rflags() & CF).toBe(0);
    h.setReg(RAX, 0x80n);
    h.exec([0xc0, 0xf8, 20]); // sar al, 20
    expect(h.reg(RAX) & 0xffn).toBe(0xffn);
    expect(h.rflags() & CF).toBe(CF);
  });
  it('RCL/RCR rotate through CF modulo 9 / 17 for 8/16-bit operands', () => {
    const h = makeCpu();
    // rcl al, 9 with CF=1: rotate amount 0 → nothing changes, CF included.
    h.setReg(RAX, 0x81n);
    setFlags(h, CF | OF);
    h.exec([0xc0, 0xd0, 9]);
    expect(h.reg(RAX)).toBe(0x81n);
    expect(h.rflags() & ARITH).toBe(CF | OF);
    // rcl al, 1 with CF=1: 0x81 → 0x03, CF=1
    h.setReg(RAX, 0x81n);
    setFlags(h, CF);
    h.exec([0xd0, 0xd0]);
    expect(h.reg(RAX)).toBe(0x03n);
    expect(h.rflags() & (CF | OF)).toBe(CF | OF); // OF = MSB(result) = 0 xor CF(after) = 1
  });
  it('RCR ax, 17 with CF: full circle through 17 bits leaves everything unchanged', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x1234n);
    setFlags(h, CF);
    h.exec([0x66, 0xc1, 0xd8, 17]);
    expect(h.reg(RAX)).toBe(0x1234n);
    expect(h.rflags() & CF).toBe(CF);
    h.exec([0x66, 0xc1, 0xd8, 1]); // rcr ax, 1: CF enters bit 15, bit 0 leaves into CF
    expect(h.reg(RAX)).toBe(0x891an);
    expect(h.rflags() & CF).toBe(0);
  });
  it('ROL/ROR of a register by an immediate other than 1 keep OF; by CL they compute it', () => {
    const h = makeCpu();
    h.setReg(RBX, 0x40000000n); // MSB^next = 1
    setFlags(h, 0);
    h.exec([0xc1, 0xc3, 2]); // rol ebx, 2
    expect(h.reg(RBX)).toBe(1n);
    expect(h.rflags() & (OF | CF)).toBe(CF);
    h.setReg(RBX, 0x40000000n); h.setReg(RCX, 2n);
    h.exec([0xd3, 0xc3]); // rol ebx, cl
    expect(h.rflags() & (OF | CF)).toBe(OF | CF);
    h.setReg(RSI, BigInt(DATA)); h.mem.view.setUint32(DATA, 0x40000000, true);
    h.exec([0xc1, 0x06, 2]); // rol dword [rsi], 2
    expect(h.mem.view.getUint32(DATA, true)).toBe(1);
    expect(h.rflags() & (OF | CF)).toBe(OF | CF);
  });
  it('SAL is ModRM.reg 4 and 6 alike', () => {
    const h = makeCpu();
    h.setReg(RBX, 0x1234n);
    h.exec([0xd1, 0xf3]); // /6
    expect(h.reg(RBX)).toBe(0x2468n);
  });
  it('64-bit forms cross the 32-bit halves', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x80000000n);
    h.exec([0x48, 0xd1, 0xe0]);
    expect(h.reg(RAX)).toBe(0x1_00000000n);
    h.exec([0x48, 0xc1, 0xc8, 33]); // ror rax, 33
    expect(h.reg(RAX)).toBe(1n << 63n);
    h.exec([0x48, 0xc1, 0xf8, 63]); // sar rax, 63
    expect(h.reg(RAX)).toBe(mask(64));
  });
  it('a memory destination is written even when the count is 0 (#PF on a read-only page)', () => {
    const h = makeCpu();
    h.mem.view.setUint32(0x3008, DATA | 0x81, true); // 2 MiB page at DATA: present, read-only
    h.cpu.tlb.flushAll();
    h.setReg(RSI, BigInt(DATA)); h.setReg(RCX, 0n);
    expectFault(h, [0xd3, 0x26], 14, 3); // shl dword [rsi], cl: #PF, error code P|W
    expect(h.cpu.cr2).toBe(DATA);
    expectFault(h, [0xc0, 0x16, 9], 14, 3); // rcl byte [rsi], 9 (rotate amount 0)
    expectFault(h, [0x0f, 0xa4, 0x16, 0], 14, 3); // shld [rsi], edx, 0
  });
  it('LOCK prefix is #UD', () => {
    const h = makeCpu();
    h.setReg(RSI, BigInt(DATA));
    expectFault(h, [0xf0, 0xd1, 0x26], 6);
    expectFault(h, [0xf0, 0x0f, 0xa5, 0x16], 6);
  });
});

// ---------------------------------------------------------------- SHLD / SHRD
function dshRef(right: boolean, bits: number, d: bigint, s: bigint, count: number, fin: number): { r: bigint; flags: number } {
  const mc = count & (bits === 64 ? 63 : 31);
  if (mc === 0) return { r: d, flags: fin };
  const B = BigInt(bits), m = mask(bits), n = BigInt(mc);
  let r: bigint, cf: bigint;
  if (bits === 16) {
    const X = (d << 32n) | (s << 16n) | d; // 48-bit dest:src:dest (host behaviour for counts > 16)
    if (!right) { const w = X << n; r = (w >> 32n) & m; cf = (w >> 48n) & 1n; }
    else { r = (X >> n) & m; cf = (X >> (n - 1n)) & 1n; }
  } else if (!right) {
    const w = ((d << B) | s) << n;
    r = (w >> B) & m; cf = (w >> (2n * B)) & 1n;
  } else {
    const W = (s << B) | d;
    r = (W >> n) & m; cf = (W >> (n - 1n)) & 1n;
  }
  const msb = (x: bigint) => (x >> (B - 1n)) & 1n;
  const of = right ? msb(d) ^ (s & 1n) : msb(d) ^ ((d >> (B - 2n)) & 1n);
  const flags = Number(cf) | (of ? OF : 0) | (r === 0n ? ZF : 0) | (msb(r) ? SF : 0) | parity(r);
  return { r, flags };
}

describe('SHLD / SHRD', () => {
  for (const right of [false, true]) {
    for (const bits of [16, 32, 64]) {
      it(`${right ? 'shrd' : 'shld'} ${bits}-bit: imm and CL, register and memory`, () => {
        const h = makeCpu();
        const rv = makeRv(bits * 3 + (right ? 1 : 0));
        const r = mulberry32(bits + (right ? 99 : 0));
        const specials = [0, 1, 2, 15, 16, 17, 20, 31, 32, 33, 63, 64, 0xff];
        for (const byCl of [false, true]) {
          for (const mem of [false, true]) {
            for (let k = 0; k < 60; k++) {
              const d = rv(bits), s = rv(64), filler = rv(64);
              const count = k < specials.length ? specials[k] : r() & 0xff;
              const fin = r() & ARITH;
              h.setReg(RSI, BigInt(DATA)); h.setReg(RDX, s);
              if (mem) h.mem.view.setBigUint64(DATA, (filler & ~mask(bits)) | d, true);
              else h.setReg(RBX, (filler & ~mask(bits)) | d);
              h.setReg(RCX, BigInt(count));
              setFlags(h, fin);
              const code = [...(bits === 16 ? [0x66] : bits === 64 ? [0x48] : []), 0x0f,
                (right ? 0xac : 0xa4) + (byCl ? 1 : 0), mem ? 0x16 : 0xd3, ...(byCl ? [] : [count])];
              h.exec(code);
              const e = dshRef(right, bits, d, s & mask(bits), count, fin);
              const got = mem ? h.mem.view.getBigUint64(DATA, true) : h.reg(RBX);
              const exp = !mem && bits === 32 ? e.r : (filler & ~mask(bits)) | e.r;
              const what = `d=${d.toString(16)} s=${s.toString(16)} count=${count}`;
              expect(got, what).toBe(exp);
              expect(h.rflags() & ARITH, what).toBe(e.flags);
            }
          }
        }
      });
    }
  }
  it('SDM example: shld eax, ebx, 4 shifts in the top bits of EBX', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x12345678n); h.setReg(RBX, 0x9abcdef0n);
    h.exec([0x0f, 0xa4, 0xd8, 4]);
    expect(h.reg(RAX)).toBe(0x23456789n);
    expect(h.rflags() & CF).toBe(1);
    h.exec([0x0f, 0xac, 0xd8, 8]); // shrd eax, ebx, 8
    expect(h.reg(RAX)).toBe(0xf0234567n);
  });
  it('shrd rax, rdx, 64 is count 0: no change at all', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x1122334455667788n); h.setReg(RDX, 5n);
    setFlags(h, ZF | CF);
    h.exec([0x48, 0x0f, 0xac, 0xd0, 64]);
    expect(h.reg(RAX)).toBe(0x1122334455667788n);
    expect(h.rflags() & ARITH).toBe(ZF | CF);
  });
});
