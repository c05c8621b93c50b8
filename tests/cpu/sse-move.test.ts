// SSE/SSE2 data movement (SDM Vol. 2A/2B MOVUPS, MOVAPS, MOVDQA, MOVDQU, MOVSS, MOVSD, MOVLPS,
// MOVHPS, MOVLPD, MOVHPD, MOVHLPS, MOVLHPS, MOVD/MOVQ, MOVNTDQ, MOVNTI, MASKMOVDQU, MOVMSKPS/PD,
// PMOVMSKB) and the exception conditions shared by every legacy SSE instruction (SDM Vol. 3A
// Table 13-1: CR0.EM / CR4.OSFXSR → #UD, CR0.TS → #NM; misaligned m128 → #GP(0)).
import { describe, it, expect } from 'vitest';
import { RAX } from '../../emulator/cpu/state.ts';
import { makeCpu } from '../helpers/cpu-harness.ts';
import { cpu, hx, getX, setX, getQ, setQ, getB, setB, runOne, DATA } from './sse-helpers.ts';

const RDI = 7, R9 = 9;
const P = [0x11223344, 0x55667788, 0x99aabbcc, 0xddeeff00];
const Q = [0x01020304, 0x05060708, 0x090a0b0c, 0x0d0e0f10];

function memDwords(h: ReturnType<typeof cpu>, a: number, n = 4): number[] {
  return [...Array(n).keys()].map((k) => h.mem.view.getUint32(a + 4 * k, true));
}
function putDwords(h: ReturnType<typeof cpu>, a: number, d: number[]): void {
  d.forEach((v, k) => h.mem.view.setUint32(a + 4 * k, v >>> 0, true));
}

describe('128-bit moves', () => {
  it('MOVDQU/MOVUPS load and store at any alignment; MOVDQA/MOVAPS/MOVAPD need 16', () => {
    const h = cpu();
    for (const off of [0, 1, 7, 8, 15]) {
      putDwords(h, DATA + off, Q);
      h.setReg(RDI, BigInt(DATA + off));
      h.exec(hx('f30f6f0f')); // movdqu xmm1, [rdi]
      expect(getX(h, 1)).toEqual(Q);
      setX(h, 1, P);
      h.exec(hx('0f110f')); // movups [rdi], xmm1
      expect(memDwords(h, DATA + off)).toEqual(P);
      h.exec(hx('0f100f')); // movups xmm1, [rdi]
      expect(getX(h, 1)).toEqual(P);
      const aligned = off === 0;
      setX(h, 1, Q);
      expect(runOne(h, hx('660f6f0f')).vector).toBe(aligned ? -1 : 13); // movdqa xmm1, [rdi]
      expect(getX(h, 1)).toEqual(aligned ? P : Q);
      expect(runOne(h, hx('0f290f')).vector).toBe(aligned ? -1 : 13); // movaps [rdi], xmm1
      expect(runOne(h, hx('660f280f')).vector).toBe(aligned ? -1 : 13); // movapd xmm1, [rdi]
      expect(runOne(h, hx('660f7f0f')).vector).toBe(aligned ? -1 : 13); // movdqa [rdi], xmm1
      expect(runOne(h, hx('660fe70f')).vector).toBe(aligned ? -1 : 13); // movntdq [rdi], xmm1
      expect(runOne(h, hx('0f2b0f')).vector).toBe(aligned ? -1 : 13); // movntps [rdi], xmm1
    }
  });
  it('register forms, including xmm8-15 (movaps xmm2, xmm11)', () => {
    const h = cpu();
    setX(h, 11, P);
    h.exec(hx('410f28d3'));
    expect(getX(h, 2)).toEqual(P);
    setX(h, 0, Q);
    h.exec(hx('f30f7fc1')); // movdqu xmm1, xmm0 (store form, register)
    expect(getX(h, 1)).toEqual(Q);
  });
  it('a MOVDQU crossing into a not-present page faults before writing or loading anything', () => {
    const h = cpu();
    // unmap the 2 MiB page at 4 MiB (PD entry 2 of the harness's identity map)
    h.mem.view.setUint32(0x3000 + 2 * 8, 0, true);
    h.cpu.tlb.flushAll();
    const a = 0x400000 - 8;
    putDwords(h, a, [0xaaaaaaaa, 0xbbbbbbbb]);
    h.setReg(RDI, BigInt(a));
    setX(h, 1, P);
    const st = runOne(h, hx('f30f7f0f')); // movdqu [rdi], xmm1
    expect(st).toEqual({ vector: 14, code: 2 }); // #PF, write to a not-present page
    expect(h.cpu.cr2).toBe(0x400000);
    expect(memDwords(h, a, 2)).toEqual([0xaaaaaaaa, 0xbbbbbbbb]);
    h.setReg(RDI, BigInt(a));
    const ld = runOne(h, hx('f30f6f0f')); // movdqu xmm1, [rdi]
    expect(ld).toEqual({ vector: 14, code: 0 });
    expect(getX(h, 1)).toEqual(P);
  });
  it('an unaligned MOVDQU across a page boundary reads and writes both pages', () => {
    const h = cpu();
    const a = 0x400000 - 4;
    putDwords(h, a, Q);
    h.setReg(RDI, BigInt(a));
    h.exec(hx('f30f6f0f'));
    expect(getX(h, 1)).toEqual(Q);
    setX(h, 1, P);
    h.exec(hx('f30f7f0f'));
    expect(memDwords(h, a)).toEqual(P);
  });
});

describe('scalar and half moves', () => {
  const h = cpu();
  it('MOVSS/MOVSD: register form merges, load zero-extends, store writes the element only', () => {
    setX(h, 0, P); setX(h, 1, Q);
    h.exec(hx('f30f10c1')); // movss xmm0, xmm1
    expect(getX(h, 0)).toEqual([Q[0], P[1], P[2], P[3]]);
    setX(h, 0, P);
    h.exec(hx('f20f10c1')); // movsd xmm0, xmm1
    expect(getX(h, 0)).toEqual([Q[0], Q[1], P[2], P[3]]);
    putDwords(h, DATA + 4, Q);
    h.setReg(RDI, BigInt(DATA + 4));
    setX(h, 0, P);
    h.exec(hx('f30f1007')); // movss xmm0, [rdi]
    expect(getX(h, 0)).toEqual([Q[0], 0, 0, 0]);
    setX(h, 0, P);
    h.exec(hx('f20f1007')); // movsd xmm0, [rdi]
    expect(getX(h, 0)).toEqual([Q[0], Q[1], 0, 0]);
    putDwords(h, DATA + 4, [7, 7, 7, 7]);
    setX(h, 0, P);
    h.exec(hx('f30f1107')); // movss [rdi], xmm0
    expect(memDwords(h, DATA + 4)).toEqual([P[0], 7, 7, 7]);
    h.exec(hx('f20f1107')); // movsd [rdi], xmm0
    expect(memDwords(h, DATA + 4)).toEqual([P[0], P[1], 7, 7]);
    setX(h, 1, Q);
    h.exec(hx('f20f11c8')); // movsd xmm0, xmm1 (store form: rm = xmm0 ← reg = xmm1)
    expect(getX(h, 0)).toEqual([Q[0], Q[1], P[2], P[3]]);
  });
  it('MOVLPS/MOVHPS/MOVLPD/MOVHPD load or store one quadword; MOVHLPS/MOVLHPS', () => {
    putDwords(h, DATA + 8, Q);
    h.setReg(RDI, BigInt(DATA + 8));
    for (const enc of ['0f1207', '660f1207']) { // movlps / movlpd xmm0, [rdi]
      setX(h, 0, P);
      h.exec(hx(enc));
      expect(getX(h, 0)).toEqual([Q[0], Q[1], P[2], P[3]]);
    }
    for (const enc of ['0f1607', '660f1607']) { // movhps / movhpd xmm0, [rdi]
      setX(h, 0, P);
      h.exec(hx(enc));
      expect(getX(h, 0)).toEqual([P[0], P[1], Q[0], Q[1]]);
    }
    setX(h, 0, P);
    h.exec(hx('0f1307')); // movlps [rdi], xmm0
    expect(memDwords(h, DATA + 8)).toEqual([P[0], P[1], Q[2], Q[3]]);
    h.exec(hx('0f1707')); // movhps [rdi], xmm0
    expect(memDwords(h, DATA + 8)).toEqual([P[2], P[3], Q[2], Q[3]]);
    setX(h, 0, P); setX(h, 1, Q);
    h.exec(hx('0f12c1')); // movhlps xmm0, xmm1
    expect(getX(h, 0)).toEqual([Q[2], Q[3], P[2], P[3]]);
    setX(h, 0, P);
    h.exec(hx('0f16c1')); // movlhps xmm0, xmm1
    expect(getX(h, 0)).toEqual([P[0], P[1], Q[0], Q[1]]);
    expect(runOne(h, hx('660f12c1')).vector).toBe(6); // MOVLPD has no register form
  });
  it('MOVD/MOVQ between GPRs, memory and XMM (REX.W selects 64 bits)', () => {
    h.setReg(RAX, 0x8877665544332211n);
    setX(h, 0, P);
    h.exec(hx('660f6ec0')); // movd xmm0, eax
    expect(getX(h, 0)).toEqual([0x44332211, 0, 0, 0]);
    setX(h, 0, P);
    h.exec(hx('66480f6ec0')); // movq xmm0, rax
    expect(getQ(h, 0)).toEqual([0x8877665544332211n, 0n]);
    setX(h, 0, P);
    h.exec(hx('660f7ec0')); // movd eax, xmm0 (zero-extends into rax)
    expect(h.reg(RAX)).toBe(BigInt(P[0]));
    h.exec(hx('66480f7ec0')); // movq rax, xmm0
    expect(h.reg(RAX)).toBe((BigInt(P[1]) << 32n) | BigInt(P[0]));
    putDwords(h, DATA, Q);
    h.setReg(RDI, BigInt(DATA));
    setX(h, 0, P);
    h.exec(hx('660f6e07')); // movd xmm0, [rdi]
    expect(getX(h, 0)).toEqual([Q[0], 0, 0, 0]);
    setX(h, 0, P);
    h.exec(hx('f30f7e07')); // movq xmm0, [rdi]
    expect(getX(h, 0)).toEqual([Q[0], Q[1], 0, 0]);
    setX(h, 0, P);
    h.exec(hx('660f7e07')); // movd [rdi], xmm0
    expect(memDwords(h, DATA)).toEqual([P[0], Q[1], Q[2], Q[3]]);
    h.exec(hx('660fd607')); // movq [rdi], xmm0
    expect(memDwords(h, DATA)).toEqual([P[0], P[1], Q[2], Q[3]]);
    setX(h, 0, P); setX(h, 1, Q);
    h.exec(hx('f30f7ec1')); // movq xmm0, xmm1
    expect(getX(h, 0)).toEqual([Q[0], Q[1], 0, 0]);
    setX(h, 0, P); setX(h, 1, Q);
    h.exec(hx('660fd6c1')); // movq xmm1, xmm0 (66 0F D6 register form)
    expect(getX(h, 1)).toEqual([P[0], P[1], 0, 0]);
    expect(runOne(h, hx('0f6ec0')).vector).toBe(6); // MMX MOVD: not implemented
  });
  it('MOVNTI stores a GPR and ignores CR0.TS (not an SSE-state instruction)', () => {
    h.setReg(RAX, 0x1122334455667788n);
    h.setReg(RDI, BigInt(DATA + 32));
    h.cpu.cr0 |= 8;
    expect(runOne(h, hx('0fc307')).vector).toBe(-1); // movnti [rdi], eax
    expect(memDwords(h, DATA + 32, 2)).toEqual([0x55667788, 0]);
    h.exec(hx('480fc307')); // movnti [rdi], rax
    expect(memDwords(h, DATA + 32, 2)).toEqual([0x55667788, 0x11223344]);
    h.cpu.cr0 &= ~8;
    expect(runOne(h, hx('0fc3c0')).vector).toBe(6); // register form does not exist
  });
  it('MASKMOVDQU stores the bytes selected by the mask to DS:RDI', () => {
    const data = [...Array(16).keys()].map((k) => 0xa0 + k);
    const mask = [0x80, 0, 0xff, 0x7f, 0, 0, 0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0];
    h.mem.load(DATA + 64, new Uint8Array(16));
    h.setReg(RDI, BigInt(DATA + 64));
    setB(h, 0, data); setB(h, 1, mask);
    h.exec(hx('660ff7c1'));
    const got = Array.from(h.mem.u8.slice(DATA + 64, DATA + 80));
    expect(got).toEqual(data.map((v, k) => (mask[k] & 0x80 ? v : 0)));
  });
});

describe('sign-mask extraction', () => {
  const h = cpu();
  it('PMOVMSKB, MOVMSKPS, MOVMSKPD zero-extend into the GPR', () => {
    const b = [0x80, 0, 0xff, 0x7f, 0x81, 0, 0, 0, 0x90, 1, 2, 3, 0xf0, 0, 0, 0x80];
    setB(h, 1, b);
    h.setReg(RAX, 0xffffffffffffffffn);
    h.exec(hx('660fd7c1')); // pmovmskb eax, xmm1
    expect(h.reg(RAX)).toBe(BigInt(b.reduce((m, v, k) => m | ((v >> 7) << k), 0)));
    setB(h, 12, b);
    h.exec(hx('66450fd7cc')); // pmovmskb r9d, xmm12
    expect(h.reg(R9)).toBe(0x9115n);
    setX(h, 1, [0x80000000, 1, 0xffffffff, 0x7fffffff]);
    h.exec(hx('0f50c1')); // movmskps eax, xmm1
    expect(h.reg(RAX)).toBe(0b0101n);
    setX(h, 1, [0, 0x80000000, 0xffffffff, 0x7fffffff]);
    h.exec(hx('660f50c1')); // movmskpd eax, xmm1
    expect(h.reg(RAX)).toBe(0b01n);
    expect(runOne(h, hx('660fd707')).vector).toBe(6); // memory form: #UD
  });
});

describe('availability checks (SDM Vol. 3A Table 13-1) and invalid encodings', () => {
  const encs = ['f30f6f0f', '660fefc1', 'f20f58c1', '0f28c1', '660f70c11b', '0f50c1'];
  it('CR0.TS = 1 → #NM', () => {
    for (const e of encs) {
      const h = cpu();
      h.setReg(RDI, BigInt(DATA));
      setX(h, 0, P);
      h.cpu.cr0 |= 8;
      expect(runOne(h, hx(e)).vector, e).toBe(7);
      expect(getX(h, 0)).toEqual(P);
    }
  });
  it('CR0.EM = 1 → #UD, even with CR0.TS = 1', () => {
    for (const e of encs) {
      const h = cpu();
      h.setReg(RDI, BigInt(DATA));
      h.cpu.cr0 |= 4 | 8;
      expect(runOne(h, hx(e)).vector, e).toBe(6);
    }
  });
  it('CR4.OSFXSR = 0 → #UD', () => {
    for (const e of encs) {
      const h = cpu();
      h.setReg(RDI, BigInt(DATA));
      h.cpu.cr4 &= ~0x200;
      expect(runOne(h, hx(e)).vector, e).toBe(6);
    }
  });
  it('the check comes before the memory access (#NM rather than #GP for a misaligned MOVDQA)', () => {
    const h = cpu();
    h.setReg(RDI, BigInt(DATA + 1));
    h.cpu.cr0 |= 8;
    expect(runOne(h, hx('660f6f0f')).vector).toBe(7);
  });
  it('LOCK prefix, MMX forms, F2/F3 where undefined → #UD', () => {
    const h = cpu();
    h.setReg(RDI, BigInt(DATA));
    expect(runOne(h, hx('f0660fef07')).vector).toBe(6); // lock pxor xmm0, [rdi]
    expect(runOne(h, hx('0fefc1')).vector).toBe(6);     // pxor mm0, mm1 (MMX)
    expect(runOne(h, hx('f30f28c1')).vector).toBe(6);   // F3 0F 28
    expect(runOne(h, hx('f20fefc1')).vector).toBe(6);   // F2 0F EF
    expect(runOne(h, hx('660f3800c1')).vector).toBe(6); // SSSE3 PSHUFB: not implemented
  });
  it('works in 32-bit protected mode (no REX: 0x41 is INC ECX there)', () => {
    const h = makeCpu('prot32');
    h.mem.view.setUint32(DATA, 0xcafef00d, true);
    h.cpu.rl[RDI] = DATA;
    h.exec(hx('660f6e07', '660f7ec0')); // movd xmm0, [edi]; movd eax, xmm0
    expect(h.cpu.rl[RAX] >>> 0).toBe(0xcafef00d);
    setX(h, 1, P);
    h.exec(hx('f30f7f0f')); // movdqu [edi], xmm1
    expect(memDwords(h as ReturnType<typeof cpu>, DATA)).toEqual(P);
  });
});

describe('logic ops on FP-typed registers keep all bits', () => {
  it('XORPS/ANDNPD/ORPS', () => {
    const h = cpu();
    setX(h, 0, P); setX(h, 1, Q);
    h.exec(hx('0f57c1'));
    expect(getX(h, 0)).toEqual(P.map((v, k) => (v ^ Q[k]) >>> 0));
    setX(h, 0, P);
    h.exec(hx('660f55c1')); // andnpd
    expect(getX(h, 0)).toEqual(P.map((v, k) => (~v & Q[k]) >>> 0));
    setQ(h, 0, 0x8000000000000000n, 0n); setQ(h, 1, 0x3ff0000000000000n, 0n);
    h.exec(hx('0f56c1')); // orps: sets the sign of 1.0
    expect(getQ(h, 0)[0]).toBe(0xbff0000000000000n);
    expect(getB(h, 0).length).toBe(16);
  });
});
