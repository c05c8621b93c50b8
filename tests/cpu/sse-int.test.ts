// SSE2 packed-integer instructions. Each instruction runs on random operands and is compared with
// a plain JS loop written from the SDM's Operation section (Vol. 2B PADDB ... PUNPCKHQDQ), plus
// hand-worked vectors for the saturation, shift-count and shuffle corner cases.
import { describe, it, expect } from 'vitest';
import { RAX } from '../../emulator/cpu/state.ts';
import { cpu, hx, getB, setB, getX, setX, runOne, rng, DATA } from './sse-helpers.ts';

type Bytes = number[];
const u8 = (x: number) => x & 0xff;
const s8 = (x: number) => (x << 24) >> 24;
const w = (b: Bytes, k: number) => b[2 * k] | (b[2 * k + 1] << 8);
const sw = (b: Bytes, k: number) => (w(b, k) << 16) >> 16;
const d = (b: Bytes, k: number) => (b[4 * k] | (b[4 * k + 1] << 8) | (b[4 * k + 2] << 16) | (b[4 * k + 3] << 24)) >>> 0;
const sd = (b: Bytes, k: number) => d(b, k) | 0;
const q = (b: Bytes, k: number) => BigInt(d(b, 2 * k)) | (BigInt(d(b, 2 * k + 1)) << 32n);
function fromW(ws: number[]): Bytes { return ws.flatMap((x) => [x & 0xff, (x >> 8) & 0xff]); }
function fromD(ds: number[]): Bytes { return ds.flatMap((x) => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff]); }
function fromQ(qs: bigint[]): Bytes { return qs.flatMap((x) => fromD([Number(x & 0xffffffffn), Number((x >> 32n) & 0xffffffffn)])); }
const range = (n: number) => [...Array(n).keys()];
const sat = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** name, encoding (op xmm0, xmm1 from as/objdump), reference(a = xmm0 bytes, b = xmm1 bytes). */
const BIN: [string, string, (a: Bytes, b: Bytes) => Bytes][] = [
  ['paddb', '660ffcc1', (a, b) => range(16).map((k) => u8(a[k] + b[k]))],
  ['paddw', '660ffdc1', (a, b) => fromW(range(8).map((k) => w(a, k) + w(b, k)))],
  ['paddd', '660ffec1', (a, b) => fromD(range(4).map((k) => d(a, k) + d(b, k)))],
  ['paddq', '660fd4c1', (a, b) => fromQ(range(2).map((k) => BigInt.asUintN(64, q(a, k) + q(b, k))))],
  ['psubb', '660ff8c1', (a, b) => range(16).map((k) => u8(a[k] - b[k]))],
  ['psubw', '660ff9c1', (a, b) => fromW(range(8).map((k) => w(a, k) - w(b, k)))],
  ['psubd', '660ffac1', (a, b) => fromD(range(4).map((k) => d(a, k) - d(b, k)))],
  ['psubq', '660ffbc1', (a, b) => fromQ(range(2).map((k) => BigInt.asUintN(64, q(a, k) - q(b, k))))],
  ['paddusb', '660fdcc1', (a, b) => range(16).map((k) => Math.min(255, a[k] + b[k]))],
  ['paddusw', '660fddc1', (a, b) => fromW(range(8).map((k) => Math.min(0xffff, w(a, k) + w(b, k))))],
  ['psubusb', '660fd8c1', (a, b) => range(16).map((k) => Math.max(0, a[k] - b[k]))],
  ['psubusw', '660fd9c1', (a, b) => fromW(range(8).map((k) => Math.max(0, w(a, k) - w(b, k))))],
  ['paddsb', '660fecc1', (a, b) => range(16).map((k) => u8(sat(s8(a[k]) + s8(b[k]), -128, 127)))],
  ['paddsw', '660fedc1', (a, b) => fromW(range(8).map((k) => sat(sw(a, k) + sw(b, k), -32768, 32767)))],
  ['psubsb', '660fe8c1', (a, b) => range(16).map((k) => u8(sat(s8(a[k]) - s8(b[k]), -128, 127)))],
  ['psubsw', '660fe9c1', (a, b) => fromW(range(8).map((k) => sat(sw(a, k) - sw(b, k), -32768, 32767)))],
  ['pcmpeqb', '660f74c1', (a, b) => range(16).map((k) => (a[k] === b[k] ? 0xff : 0))],
  ['pcmpeqw', '660f75c1', (a, b) => fromW(range(8).map((k) => (w(a, k) === w(b, k) ? 0xffff : 0)))],
  ['pcmpeqd', '660f76c1', (a, b) => fromD(range(4).map((k) => (d(a, k) === d(b, k) ? 0xffffffff : 0)))],
  ['pcmpgtb', '660f64c1', (a, b) => range(16).map((k) => (s8(a[k]) > s8(b[k]) ? 0xff : 0))],
  ['pcmpgtw', '660f65c1', (a, b) => fromW(range(8).map((k) => (sw(a, k) > sw(b, k) ? 0xffff : 0)))],
  ['pcmpgtd', '660f66c1', (a, b) => fromD(range(4).map((k) => (sd(a, k) > sd(b, k) ? 0xffffffff : 0)))],
  ['pminub', '660fdac1', (a, b) => range(16).map((k) => Math.min(a[k], b[k]))],
  ['pmaxub', '660fdec1', (a, b) => range(16).map((k) => Math.max(a[k], b[k]))],
  ['pminsw', '660feac1', (a, b) => fromW(range(8).map((k) => Math.min(sw(a, k), sw(b, k))))],
  ['pmaxsw', '660feec1', (a, b) => fromW(range(8).map((k) => Math.max(sw(a, k), sw(b, k))))],
  ['pavgb', '660fe0c1', (a, b) => range(16).map((k) => (a[k] + b[k] + 1) >> 1)],
  ['pavgw', '660fe3c1', (a, b) => fromW(range(8).map((k) => (w(a, k) + w(b, k) + 1) >> 1))],
  ['pmullw', '660fd5c1', (a, b) => fromW(range(8).map((k) => Number(BigInt(sw(a, k)) * BigInt(sw(b, k)) & 0xffffn)))],
  ['pmulhw', '660fe5c1', (a, b) => fromW(range(8).map((k) => Number((BigInt(sw(a, k)) * BigInt(sw(b, k)) >> 16n) & 0xffffn)))],
  ['pmulhuw', '660fe4c1', (a, b) => fromW(range(8).map((k) => Number((BigInt(w(a, k)) * BigInt(w(b, k))) >> 16n)))],
  ['pmuludq', '660ff4c1', (a, b) => fromQ([BigInt(d(a, 0)) * BigInt(d(b, 0)), BigInt(d(a, 2)) * BigInt(d(b, 2))])],
  ['pmaddwd', '660ff5c1', (a, b) => fromD(range(4).map((k) => Number(BigInt.asUintN(32, BigInt(sw(a, 2 * k) * sw(b, 2 * k) + sw(a, 2 * k + 1) * sw(b, 2 * k + 1))))))],
  ['psadbw', '660ff6c1', (a, b) => fromQ(range(2).map((h) => BigInt(range(8).reduce((s, k) => s + Math.abs(a[8 * h + k] - b[8 * h + k]), 0))))],
  ['punpcklbw', '660f60c1', (a, b) => range(16).map((k) => (k % 2 ? b : a)[k >> 1])],
  ['punpcklwd', '660f61c1', (a, b) => fromW(range(8).map((k) => w(k % 2 ? b : a, k >> 1)))],
  ['punpckldq', '660f62c1', (a, b) => fromD(range(4).map((k) => d(k % 2 ? b : a, k >> 1)))],
  ['punpcklqdq', '660f6cc1', (a, b) => fromQ([q(a, 0), q(b, 0)])],
  ['punpckhbw', '660f68c1', (a, b) => range(16).map((k) => (k % 2 ? b : a)[8 + (k >> 1)])],
  ['punpckhwd', '660f69c1', (a, b) => fromW(range(8).map((k) => w(k % 2 ? b : a, 4 + (k >> 1))))],
  ['punpckhdq', '660f6ac1', (a, b) => fromD(range(4).map((k) => d(k % 2 ? b : a, 2 + (k >> 1))))],
  ['punpckhqdq', '660f6dc1', (a, b) => fromQ([q(a, 1), q(b, 1)])],
  ['unpcklps', '0f14c1', (a, b) => fromD([d(a, 0), d(b, 0), d(a, 1), d(b, 1)])],
  ['unpckhps', '0f15c1', (a, b) => fromD([d(a, 2), d(b, 2), d(a, 3), d(b, 3)])],
  ['unpcklpd', '660f14c1', (a, b) => fromQ([q(a, 0), q(b, 0)])],
  ['unpckhpd', '660f15c1', (a, b) => fromQ([q(a, 1), q(b, 1)])],
  ['packsswb', '660f63c1', (a, b) => [...range(8).map((k) => u8(sat(sw(a, k), -128, 127))), ...range(8).map((k) => u8(sat(sw(b, k), -128, 127)))]],
  ['packuswb', '660f67c1', (a, b) => [...range(8).map((k) => sat(sw(a, k), 0, 255)), ...range(8).map((k) => sat(sw(b, k), 0, 255))]],
  ['packssdw', '660f6bc1', (a, b) => fromW([...range(4).map((k) => sat(sd(a, k), -32768, 32767)), ...range(4).map((k) => sat(sd(b, k), -32768, 32767))])],
  ['pxor', '660fefc1', (a, b) => range(16).map((k) => a[k] ^ b[k])],
  ['por', '660febc1', (a, b) => range(16).map((k) => a[k] | b[k])],
  ['pand', '660fdbc1', (a, b) => range(16).map((k) => a[k] & b[k])],
  ['pandn', '660fdfc1', (a, b) => range(16).map((k) => ~a[k] & b[k] & 0xff)],
  ['xorps', '0f57c1', (a, b) => range(16).map((k) => a[k] ^ b[k])],
  ['andpd', '660f54c1', (a, b) => range(16).map((k) => a[k] & b[k])],
  ['andnps', '0f55c1', (a, b) => range(16).map((k) => ~a[k] & b[k] & 0xff)],
  ['orpd', '660f56c1', (a, b) => range(16).map((k) => a[k] | b[k])],
];

/** Random bytes biased towards the interesting values 00, 01, 7F, 80, FF. */
function randBytes(r: () => number): Bytes {
  const special = [0, 1, 0x7f, 0x80, 0xff];
  return range(16).map(() => (r() % 4 === 0 ? special[r() % 5] : r() & 0xff));
}

describe('packed integer operations against JS references (register and aligned memory forms)', () => {
  const h = cpu();
  for (const [name, enc, ref] of BIN) {
    it(name, () => {
      const r = rng(name.length * 1000 + name.charCodeAt(1) * 7 + name.charCodeAt(name.length - 1));
      for (let n = 0; n < 200; n++) {
        const a = randBytes(r), b = n % 10 === 0 ? a.slice() : randBytes(r);
        setB(h, 0, a); setB(h, 1, b);
        h.exec(hx(enc));
        expect(getB(h, 0), `${name} ${a} ${b}`).toEqual(ref(a, b));
        expect(getB(h, 1)).toEqual(b);
      }
      // memory form: op xmm0, [rdi] is the register encoding with ModRM 07 instead of C1
      const a = randBytes(r), b = randBytes(r);
      h.mem.load(DATA, Uint8Array.from(b));
      h.setReg(7, BigInt(DATA));
      setB(h, 0, a);
      h.exec(hx(enc.slice(0, -2), '07'));
      expect(getB(h, 0)).toEqual(ref(a, b));
      // misaligned m128: #GP(0), destination unchanged
      h.setReg(7, BigInt(DATA + 4));
      setB(h, 0, a);
      expect(runOne(h, hx(enc.slice(0, -2), '07'))).toEqual({ vector: 13, code: 0 });
      expect(getB(h, 0)).toEqual(a);
    });
  }
  it('a register used as both operands (punpcklbw xmm0, xmm0; pxor xmm0, xmm0)', () => {
    const a = range(16).map((k) => k + 0x10);
    setB(h, 0, a);
    h.exec(hx('660f60c0'));
    expect(getB(h, 0)).toEqual(range(16).map((k) => a[k >> 1]));
    h.exec(hx('660fefc0'));
    expect(getB(h, 0)).toEqual(Array(16).fill(0));
  });
  it('hand-worked vectors: saturation and PMADDWD overflow', () => {
    setX(h, 0, [0x7f80ff01, 0, 0, 0]); setX(h, 1, [0x01800101, 0, 0, 0]);
    h.exec(hx('660fecc1')); // paddsb: 01+01=02, ff+01=00, 80+80→80 (sat), 7f+01→7f (sat)
    expect(getX(h, 0)[0]).toBe(0x7f800002);
    setX(h, 0, [0x80008000, 0, 0, 0]); setX(h, 1, [0x80008000, 0, 0, 0]);
    h.exec(hx('660ff5c1')); // pmaddwd: (-32768)^2 * 2 = 2^31 wraps to 80000000H
    expect(getX(h, 0)[0]).toBe(0x80000000);
    setX(h, 0, [0xffffffff, 0, 0xfffffffe, 0]); setX(h, 1, [0xffffffff, 7, 3, 9]);
    h.exec(hx('660ff4c1')); // pmuludq
    expect(getX(h, 0)).toEqual([1, 0xfffffffe, 0xfffffffa, 2]);
  });
});

describe('shifts', () => {
  const h = cpu();
  const a = [0x80017ffe, 0xf00f1234, 0x00000001, 0x80000000];
  const ref = {
    w: (f: (x: number) => number) => {
      const b = fromD(a); return fromW(range(8).map((k) => f(w(b, k)) & 0xffff));
    },
    d: (f: (x: number) => number) => fromD(a.map((x) => f(x) >>> 0)),
    q: (f: (x: bigint) => bigint) => { const b = fromD(a); return fromQ([0, 1].map((k) => BigInt.asUintN(64, f(q(b, k))))); },
  };
  const cases: [string, string, number, Bytes][] = [];
  for (const n of [0, 1, 3, 15, 16, 31, 32, 63, 64, 200]) {
    const nn = BigInt(n);
    cases.push(
      ['psllw', '660ff1c1', n, ref.w((x) => (n > 15 ? 0 : x << n))],
      ['psrlw', '660fd1c1', n, ref.w((x) => (n > 15 ? 0 : x >>> n))],
      ['psraw', '660fe1c1', n, ref.w((x) => ((x << 16) >> 16) >> Math.min(n, 15))],
      ['pslld', '660ff2c1', n, ref.d((x) => (n > 31 ? 0 : x << n))],
      ['psrld', '660fd2c1', n, ref.d((x) => (n > 31 ? 0 : x >>> n))],
      ['psrad', '660fe2c1', n, ref.d((x) => (x | 0) >> Math.min(n, 31))],
      ['psllq', '660ff3c1', n, ref.q((x) => (n > 63 ? 0n : x << nn))],
      ['psrlq', '660fd3c1', n, ref.q((x) => (n > 63 ? 0n : x >> nn))],
    );
  }
  it('by an xmm count (low quadword; counts past the lane width zero or sign-fill)', () => {
    for (const [name, enc, n, want] of cases) {
      setX(h, 0, a); setX(h, 1, [n, 0, 0xdead, 0xbeef]);
      h.exec(hx(enc));
      expect(getB(h, 0), `${name} ${n}`).toEqual(want);
    }
    setX(h, 0, a); setX(h, 1, [1, 1, 0, 0]); // count 2^32 + 1: everything shifts out
    h.exec(hx('660fd2c1'));
    expect(getX(h, 0)).toEqual([0, 0, 0, 0]);
  });
  it('by an immediate (66 0F 71/72/73 groups)', () => {
    const imm: Record<string, string> = {
      psrlw: '660f71d0', psraw: '660f71e0', psllw: '660f71f0', psrld: '660f72d0', psrad: '660f72e0',
      pslld: '660f72f0', psrlq: '660f73d0', psllq: '660f73f0',
    };
    for (const [name, , n, want] of cases) {
      if (n > 255) continue;
      setX(h, 0, a);
      h.exec(hx(imm[name], n.toString(16).padStart(2, '0')));
      expect(getB(h, 0), `${name} ${n}`).toEqual(want);
    }
  });
  it('PSRLDQ/PSLLDQ shift whole bytes; xmm9 via REX.B', () => {
    const b = range(16).map((k) => k + 1);
    for (const n of [0, 1, 5, 15, 16, 255]) {
      setB(h, 9, b);
      h.exec(hx('66410f73d9', n.toString(16).padStart(2, '0'))); // psrldq xmm9, n
      expect(getB(h, 9)).toEqual(range(16).map((k) => (k + n < 16 ? b[k + n] : 0)));
      setB(h, 0, b);
      h.exec(hx('660f73f8', n.toString(16).padStart(2, '0'))); // pslldq xmm0, n
      expect(getB(h, 0)).toEqual(range(16).map((k) => (k - n >= 0 ? b[k - n] : 0)));
    }
  });
  it('undefined group members and memory forms are #UD', () => {
    expect(runOne(h, hx('660f71c803')).vector).toBe(6); // 66 0F 71 /1
    expect(runOne(h, hx('660f72d803')).vector).toBe(6); // 66 0F 72 /3
    expect(runOne(h, hx('660f731003')).vector).toBe(6); // memory form
    expect(runOne(h, hx('0f71d003')).vector).toBe(6);   // MMX form (no 66): not implemented
  });
});

describe('shuffles and word insert/extract', () => {
  const h = cpu();
  const src = [0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c];
  it('PSHUFD/PSHUFLW/PSHUFHW with imm8 1BH (reverse)', () => {
    setX(h, 1, src);
    h.exec(hx('660f70c11b'));
    expect(getX(h, 0)).toEqual([src[3], src[2], src[1], src[0]]);
    h.exec(hx('f20f70c11b'));
    expect(getX(h, 0)).toEqual([0x05040706, 0x01000302, src[2], src[3]]);
    h.exec(hx('f30f70c11b'));
    expect(getX(h, 0)).toEqual([src[0], src[1], 0x0d0c0f0e, 0x09080b0a]);
    for (const imm of [0x00, 0xe4, 0x4e, 0xb1, 0x93]) {
      h.exec(hx('660f70c1', imm.toString(16).padStart(2, '0')));
      expect(getX(h, 0)).toEqual(range(4).map((k) => src[(imm >> (2 * k)) & 3]));
    }
    h.mem.load(DATA, Uint8Array.from(fromD(src)));
    h.setReg(7, BigInt(DATA));
    h.exec(hx('660f70071b')); // pshufd xmm0, [rdi], 1BH
    expect(getX(h, 0)).toEqual([src[3], src[2], src[1], src[0]]);
  });
  it('SHUFPS/SHUFPD pick from destination (low half) and source (high half)', () => {
    const dst = [0xa0, 0xa1, 0xa2, 0xa3];
    setX(h, 0, dst); setX(h, 1, src);
    h.exec(hx('0fc6c11b')); // shufps xmm0, xmm1, 1BH
    expect(getX(h, 0)).toEqual([dst[3], dst[2], src[1], src[0]]);
    setX(h, 0, dst);
    h.exec(hx('660fc6c102')); // shufpd imm 2: dst low, src high
    expect(getX(h, 0)).toEqual([dst[0], dst[1], src[2], src[3]]);
  });
  it('PINSRW/PEXTRW', () => {
    setX(h, 0, src);
    h.setReg(RAX, 0xffffffffffffabcdn);
    h.exec(hx('660fc4c005')); // pinsrw xmm0, eax, 5
    expect(getX(h, 0)).toEqual([src[0], src[1], 0xabcd0908, src[3]]);
    h.mem.view.setUint16(DATA, 0x1234, true);
    h.setReg(7, BigInt(DATA));
    h.exec(hx('660fc40702')); // pinsrw xmm0, [rdi], 2
    expect(getX(h, 0)[1]).toBe(0x07061234);
    setX(h, 1, src);
    h.setReg(RAX, 0xffffffffffffffffn);
    h.exec(hx('660fc5c107')); // pextrw eax, xmm1, 7
    expect(h.reg(RAX)).toBe(0x0f0en);
  });
});
