// BT/BTS/BTR/BTC, BSF/BSR, TZCNT/LZCNT, POPCNT (SDM Vol. 2A "BT", "BTC", "BTR", "BTS", "BSF", "BSR",
// "LZCNT", "POPCNT", Vol. 2B "TZCNT"; bit strings: Vol. 1 3.4.3 and figure 3-2).
// Expected values come from BigInt models written here; flags the SDM leaves undefined follow the
// Intel host (Ice Lake-class Xeon), measured natively:
//   BT*: only CF changes.  BSF/BSR: ZF, PF = parity of the index (source 0: ZF=PF=1), others 0,
//   destination untouched for a zero source.  TZCNT/LZCNT: only CF and ZF can be set.
import { CF, PF, AF, ZF, SF, OF, ARITH, mulberry32, mask, parity } from '../helpers/ref.ts';
import { describe, it, expect } from 'vitest';
import { makeCpu, installIdt64, step, CODE, DATA, STACK_TOP, type Harness } from '../helpers/cpu-harness.ts';
import { RAX, RBX, RDX, RSP, RSI, RCX } from '../../emulator/cpu/state.ts';
import { setRflags } from '../../emulator/cpu/flags.ts';

const HANDLER = CODE + 0x1000;
const IDT = 0x10000;

function makeRv(seed: number) {
  const r = mulberry32(seed);
  const r64 = () => (BigInt(r()) << 32n) | BigInt(r());
  return (bits: number): bigint => {
    const m = mask(bits);
    switch (r() % 6) {
      case 0: return [0n, 1n, m, 1n << BigInt(bits - 1), 0x8000n & m, 0x10000n & m][r() % 6];
      case 1: return r64() & mask(r() % (bits + 1));
      case 2: return (r64() << BigInt(r() % bits)) & m;
      case 3: return 1n << BigInt(r() % bits);
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
const pre = (bits: number): number[] => (bits === 16 ? [0x66] : bits === 64 ? [0x48] : []);

// ---------------------------------------------------------------- BT family
const BTOPS = ['bt', 'bts', 'btr', 'btc'] as const;
type BtOp = typeof BTOPS[number];
const BT_OPC: Record<BtOp, number> = { bt: 0xa3, bts: 0xab, btr: 0xb3, btc: 0xbb };
function btApply(op: BtOp, v: bigint, bit: bigint): bigint {
  const m = 1n << bit;
  return op === 'bts' ? v | m : op === 'btr' ? v & ~m : op === 'btc' ? v ^ m : v;
}

describe('BT/BTS/BTR/BTC with register operands', () => {
  for (const op of BTOPS) {
    for (const bits of [16, 32, 64]) {
      it(`${op} r${bits}, r${bits} and ${op} r${bits}, imm8 (offset modulo ${bits}); only CF changes`, () => {
        const h = makeCpu();
        const rv = makeRv(bits + BT_OPC[op]);
        const r = mulberry32(bits * 5 + BT_OPC[op]);
        for (let k = 0; k < 150; k++) {
          const v = rv(64), off = rv(64), fin = r() & ARITH, imm = k & 1;
          const ib = r() & 0xff;
          h.setReg(RBX, v); h.setReg(RDX, off);
          setFlags(h, fin);
          // bt ebx, edx = 0F A3 D3; grp8: 0F BA /4+op ebx, ib
          h.exec(imm ? [...pre(bits), 0x0f, 0xba, 0xc0 | ((4 + BTOPS.indexOf(op)) << 3) | 3, ib]
            : [...pre(bits), 0x0f, BT_OPC[op], 0xd3]);
          const bit = BigInt(imm ? ib : Number(off & 0xffn)) % BigInt(bits);
          const lowv = v & mask(bits);
          const res = btApply(op, lowv, bit);
          let exp: bigint;
          if (op === 'bt') exp = v;
          else exp = bits === 32 ? res : (v & ~mask(bits)) | res; // 32-bit writes zero-extend
          expect(h.reg(RBX), `${op} v=${v.toString(16)} bit=${bit}`).toBe(exp);
          expect(h.rflags() & ARITH).toBe((fin & ~CF) | Number((lowv >> bit) & 1n));
        }
      });
    }
  }
});

describe('BT/BTS/BTR/BTC with memory operands (bit-string addressing)', () => {
  const REGION = 256; // bytes at DATA; RSI points to its middle
  for (const op of BTOPS) {
    for (const bits of [16, 32, 64]) {
      it(`${op} m${bits}, r${bits}: signed bit offsets reach below and above the operand`, () => {
        const h = makeCpu();
        const r = mulberry32(bits * 11 + BT_OPC[op]);
        for (let k = 0; k < 150; k++) {
          const bytes = new Uint8Array(REGION);
          for (let j = 0; j < REGION; j++) bytes[j] = r() & 0xff;
          h.mem.load(DATA, bytes);
          let region = 0n;
          for (let j = REGION - 1; j >= 0; j--) region = (region << 8n) | BigInt(bytes[j]);
          const off = BigInt((r() % 2048) - 1024); // bits, relative to [rsi]
          const fin = r() & ARITH;
          h.setReg(RSI, BigInt(DATA + REGION / 2));
          // Upper register bits beyond the operand size are ignored for 16/32-bit offsets.
          h.setReg(RDX, (BigInt(r()) << 32n | BigInt(r())) & ~mask(bits) | (off & mask(bits)));
          if (bits === 64) h.setReg(RDX, off & mask(64));
          setFlags(h, fin);
          h.exec([...pre(bits), 0x0f, BT_OPC[op], 0x16]); // op [rsi], edx
          const pos = BigInt(REGION / 2 * 8) + off;
          const after = btApply(op, region, pos);
          let got = 0n;
          for (let j = REGION - 1; j >= 0; j--) got = (got << 8n) | BigInt(h.mem.u8[DATA + j]);
          expect(got === after, `${op} offset ${off}`).toBe(true);
          expect(h.rflags() & ARITH).toBe((fin & ~CF) | Number((region >> pos) & 1n));
        }
      });
      it(`${op} m${bits}, imm8: the immediate is taken modulo ${bits}, no displacement`, () => {
        const h = makeCpu();
        const r = mulberry32(bits * 13 + BT_OPC[op]);
        for (let k = 0; k < 60; k++) {
          const v = (BigInt(r()) << 32n) | BigInt(r());
          const ib = r() & 0xff, fin = r() & ARITH;
          h.mem.view.setBigUint64(DATA, v, true);
          h.mem.view.setBigUint64(DATA + 8, 0x5555555555555555n, true);
          h.setReg(RSI, BigInt(DATA));
          setFlags(h, fin);
          h.exec([...pre(bits), 0x0f, 0xba, ((4 + BTOPS.indexOf(op)) << 3) | 6, ib]);
          const bit = BigInt(ib % bits);
          const res = btApply(op, v & mask(bits), bit);
          expect(h.mem.view.getBigUint64(DATA, true)).toBe((v & ~mask(bits)) | res);
          expect(h.mem.view.getBigUint64(DATA + 8, true)).toBe(0x5555555555555555n);
          expect(h.rflags() & ARITH).toBe((fin & ~CF) | Number((v >> bit) & 1n));
        }
      });
    }
  }
  it('SDM figure 3-2: bit offset -13 is bit 3 of the byte two below the base (16-bit unit at -2)', () => {
    const h = makeCpu();
    h.mem.view.setUint16(DATA + 14, 0x0008, true); // word at base-2 holds bit 3 set
    h.setReg(RSI, BigInt(DATA + 16)); h.setReg(RDX, BigInt(-13 & 0xffff));
    h.exec([0x66, 0x0f, 0xa3, 0x16]); // bt word [rsi], dx
    expect(h.rflags() & CF).toBe(CF);
  });
  it('64-bit offsets: far negative offset faults at the exact address; huge offset is non-canonical', () => {
    const h = makeCpu();
    h.setReg(RSI, BigInt(DATA));
    h.setReg(RDX, (-(1n << 40n)) & mask(64)); // bit offset -2^40 → byte offset -2^37
    expectFault(h, [0x48, 0x0f, 0xa3, 0x16], 14, 0); // #PF, not present, read
    expect(h.cpu.cr2).toBe(DATA - 2 ** 37);
    h.setReg(RDX, 1n << 62n); // byte offset 2^59: far outside the canonical range
    expectFault(h, [0x48, 0x0f, 0xab, 0x16], 13, 0);
  });
  it('64-bit offset with [base+index*scale+disp] addressing', () => {
    const h = makeCpu();
    h.mem.view.setBigUint64(DATA + 0x40 - 16, 1n << 5n, true);
    h.setReg(RSI, BigInt(DATA)); h.setReg(RCX, 8n); h.setReg(RDX, (-128n + 5n) & mask(64));
    h.exec([0x48, 0x0f, 0xa3, 0x54, 0xce, 0x00]); // bt [rsi+rcx*8+0], rdx → unit at DATA+0x40-16
    expect(h.rflags() & CF).toBe(CF);
  });
  it('16-bit addressing wraps the bit-string address at 64 KiB (real mode)', () => {
    const h = makeCpu('real16');
    h.mem.view.setUint16(0xfffe, 0x0001, true);
    h.setReg(RBX, 2n); h.setReg(RAX, BigInt(-32 & 0xffff)); // −32 bits → −4 bytes → offset 0xfffe
    h.exec([0x0f, 0xa3, 0x07]); // bt [bx], ax
    expect(h.rflags() & CF).toBe(CF);
    h.exec([0x0f, 0xbb, 0x07]); // btc [bx], ax
    expect(h.mem.view.getUint16(0xfffe, true)).toBe(0);
  });
  it('32-bit protected mode: negative offsets below ESI', () => {
    const h = makeCpu('prot32');
    h.mem.view.setUint32(DATA + 0x100 - 8, 0x80000000, true);
    h.setReg(RSI, BigInt(DATA + 0x100)); h.setReg(RDX, BigInt(-33 & 0xffffffff)); // unit at -8, bit 31
    h.exec([0x0f, 0xb3, 0x16]); // btr [esi], edx
    expect(h.rflags() & CF).toBe(CF);
    expect(h.mem.view.getUint32(DATA + 0x100 - 8, true)).toBe(0);
  });
  it('LOCK: accepted on memory BTS/BTR/BTC, #UD on BT and on register forms; 0F BA /0-/3 #UD', () => {
    const h = makeCpu();
    h.mem.view.setUint32(DATA, 0, true);
    h.setReg(RSI, BigInt(DATA)); h.setReg(RDX, 33n);
    h.exec([0xf0, 0x0f, 0xab, 0x16]); // lock bts [rsi], edx
    expect(h.mem.view.getUint32(DATA + 4, true)).toBe(2);
    h.exec([0xf0, 0x0f, 0xba, 0x36, 3]); // lock btr dword [rsi], 3
    expectFault(h, [0xf0, 0x0f, 0xa3, 0x16], 6); // lock bt [rsi], edx
    expectFault(h, [0xf0, 0x0f, 0xab, 0xd3], 6); // lock bts ebx, edx
    expectFault(h, [0xf0, 0x0f, 0xba, 0x26, 1], 6); // lock bt dword [rsi], 1
    for (let r = 0; r < 4; r++) expectFault(h, [0x0f, 0xba, 0xc3 | (r << 3), 1], 6);
  });
});

// ---------------------------------------------------------------- scans and counts
type ScanOp = 'bsf' | 'bsr' | 'tzcnt' | 'lzcnt' | 'popcnt';
const SCAN: Record<ScanOp, number[]> = {
  bsf: [0x0f, 0xbc], bsr: [0x0f, 0xbd], tzcnt: [0xf3, 0x0f, 0xbc], lzcnt: [0xf3, 0x0f, 0xbd], popcnt: [0xf3, 0x0f, 0xb8],
};
function scanRef(op: ScanOp, bits: number, s: bigint): { r: bigint | null; flags: number } {
  let lowest = -1, highest = -1, pop = 0;
  for (let k = 0; k < bits; k++) if ((s >> BigInt(k)) & 1n) { if (lowest < 0) lowest = k; highest = k; pop++; }
  switch (op) {
    case 'bsf': return s === 0n ? { r: null, flags: ZF | PF } : { r: BigInt(lowest), flags: parity(BigInt(lowest)) };
    case 'bsr': return s === 0n ? { r: null, flags: ZF | PF } : { r: BigInt(highest), flags: parity(BigInt(highest)) };
    case 'tzcnt': { const r = s === 0n ? bits : lowest; return { r: BigInt(r), flags: (s === 0n ? CF : 0) | (r === 0 ? ZF : 0) }; }
    case 'lzcnt': { const r = bits - 1 - highest; return { r: BigInt(r), flags: (s === 0n ? CF : 0) | (r === 0 ? ZF : 0) }; }
    case 'popcnt': return { r: BigInt(pop), flags: s === 0n ? ZF : 0 };
  }
}
function scanCode(op: ScanOp, bits: number, mem: boolean): number[] {
  const enc = SCAN[op];
  const mand = enc.length === 3 ? [enc[0]] : [];
  const opc = enc.slice(enc.length - 2);
  // Order: 66, F3, REX, 0F xx (the REX prefix must come last).
  return [...(bits === 16 ? [0x66] : []), ...mand, ...(bits === 64 ? [0x48] : []), ...opc, mem ? 0x1e : 0xda];
}

describe('BSF/BSR/TZCNT/LZCNT/POPCNT', () => {
  for (const op of ['bsf', 'bsr', 'tzcnt', 'lzcnt', 'popcnt'] as ScanOp[]) {
    for (const bits of [16, 32, 64]) {
      it(`${op} r${bits}, r/m${bits} (register and memory source)`, () => {
        const h = makeCpu();
        const rv = makeRv(bits * 7 + op.length);
        const r = mulberry32(bits + op.length * 3);
        for (let k = 0; k < 200; k++) {
          const s = rv(bits), dst = (BigInt(r()) << 32n) | BigInt(r()), fin = r() & ARITH, mem = (k & 1) === 1;
          const sFull = (BigInt(r()) << 32n | BigInt(r())) & ~mask(bits) | s; // junk above the operand
          h.setReg(RBX, dst); h.setReg(RDX, sFull); h.setReg(RSI, BigInt(DATA));
          h.mem.view.setBigUint64(DATA, sFull, true);
          setFlags(h, fin);
          h.exec(scanCode(op, bits, mem)); // op ebx, edx / op ebx, [rsi]
          const e = scanRef(op, bits, s);
          const exp = e.r === null ? dst : bits === 16 ? (dst & ~0xffffn) | e.r : e.r;
          expect(h.reg(RBX), `${op} ${s.toString(16)}`).toBe(exp);
          expect(h.rflags() & ARITH, `${op} ${s.toString(16)}`).toBe(e.flags);
        }
      });
    }
  }
  it('BSF/BSR with a zero source leave a 32-bit destination whole (upper half kept)', () => {
    const h = makeCpu();
    h.setReg(RBX, 0xaaaaaaaa_55555555n); h.setReg(RDX, 0xffffffff_00000000n);
    h.exec([0x0f, 0xbc, 0xda]);
    expect(h.reg(RBX)).toBe(0xaaaaaaaa_55555555n);
    expect(h.rflags() & ZF).toBe(ZF);
    h.exec([0x0f, 0xbd, 0xda]);
    expect(h.reg(RBX)).toBe(0xaaaaaaaa_55555555n);
  });
  it('TZCNT/LZCNT of zero return the operand size and set CF', () => {
    const h = makeCpu();
    h.setReg(RDX, 0n);
    h.exec([0xf3, 0x48, 0x0f, 0xbc, 0xda]);
    expect(h.reg(RBX)).toBe(64n);
    expect(h.rflags() & (CF | ZF)).toBe(CF);
    h.exec([0x66, 0xf3, 0x0f, 0xbd, 0xda]);
    expect(h.reg(RBX) & 0xffffn).toBe(16n);
    h.setReg(RDX, 1n << 31n);
    h.exec([0xf3, 0x0f, 0xbd, 0xda]);
    expect(h.reg(RBX)).toBe(0n);
    expect(h.rflags() & (CF | ZF)).toBe(ZF);
  });
  it('F2 is ignored on 0F BC (BSF); 0F B8 without F3 is #UD; LOCK is #UD', () => {
    const h = makeCpu();
    h.setReg(RDX, 0x100n);
    h.exec([0xf2, 0x0f, 0xbc, 0xda]);
    expect(h.reg(RBX)).toBe(8n);
    expectFault(h, [0x0f, 0xb8, 0xda], 6);
    expectFault(h, [0xf0, 0x0f, 0xbc, 0xda], 6);
    expectFault(h, [0xf0, 0xf3, 0x0f, 0xb8, 0xda], 6);
  });
  it('POPCNT of all ones, 64-bit', () => {
    const h = makeCpu();
    h.setReg(RDX, mask(64)); setFlags(h, ARITH);
    h.exec([0xf3, 0x48, 0x0f, 0xb8, 0xda]);
    expect(h.reg(RBX)).toBe(64n);
    expect(h.rflags() & ARITH).toBe(0);
  });
});

