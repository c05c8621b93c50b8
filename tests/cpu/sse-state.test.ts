// 0F AE group: FXSAVE/FXRSTOR (SDM Vol. 2A FXSAVE Tables 3-48/3-51, Vol. 1 Table 10-2 and 11.6.6),
// LDMXCSR/STMXCSR, LFENCE/MFENCE/SFENCE, CLFLUSH, RDFSBASE/WRGSBASE (SDM Vol. 2A/2B).
import { describe, it, expect } from 'vitest';
import { RAX, RCX, FS, GS } from '../../emulator/cpu/state.ts';
import { makeCpu } from '../helpers/cpu-harness.ts';
import { cpu, hx, getX, setX, runOne, DATA } from './sse-helpers.ts';

const RDI = 7;
const AREA = DATA + 0x1000;
const xmmPattern = (r: number) => [0x01010101 * r, 0xa0000000 + r, 0x12345678 ^ r, 0xfedc0000 | r].map((v) => v >>> 0);

describe('FXSAVE', () => {
  for (const [label, enc] of [['FXSAVE64 (REX.W)', '480fae07'], ['FXSAVE (no REX.W)', '0fae07']]) {
    it(`${label} in 64-bit mode: layout of SDM Table 3-51 / Vol. 1 Table 10-2`, () => {
      const h = cpu();
      h.mem.u8.fill(0xcc, AREA, AREA + 512);
      for (let r = 0; r < 16; r++) setX(h, r, xmmPattern(r));
      h.cpu.mxcsr = 0x1f80 | 0x6000 | 0x21; // RC = toward zero, IE and PE flags
      h.setReg(RDI, BigInt(AREA));
      h.exec(hx(enc));
      const v = h.mem.view;
      expect(v.getUint16(AREA + 0, true)).toBe(0x037f); // FCW after FNINIT
      expect(v.getUint16(AREA + 2, true)).toBe(0);      // FSW
      expect(v.getUint8(AREA + 4)).toBe(0);             // abridged FTW: all empty
      expect(v.getUint16(AREA + 6, true)).toBe(0);      // FOP
      expect(v.getBigUint64(AREA + 8, true)).toBe(0n);  // FPU IP (CS)
      expect(v.getBigUint64(AREA + 16, true)).toBe(0n); // FPU DP (DS)
      expect(v.getUint32(AREA + 24, true)).toBe(0x7fa1); // MXCSR
      expect(v.getUint32(AREA + 28, true)).toBe(0xffbf); // MXCSR_MASK (no DAZ)
      for (let k = 32; k < 160; k++) expect(v.getUint8(AREA + k)).toBe(0); // ST0-ST7
      for (let r = 0; r < 16; r++) {
        const got = [0, 1, 2, 3].map((k) => v.getUint32(AREA + 160 + 16 * r + 4 * k, true));
        expect(got, `xmm${r}`).toEqual(xmmPattern(r));
      }
      for (let k = 416; k < 512; k++) expect(v.getUint8(AREA + k)).toBe(0xcc); // reserved / available: untouched
    });
  }
  it('outside 64-bit mode only XMM0-7 are saved (bytes 288-511 untouched)', () => {
    const h = makeCpu('prot32');
    h.mem.u8.fill(0xcc, AREA, AREA + 512);
    for (let r = 0; r < 8; r++) setX(h, r, xmmPattern(r));
    h.cpu.rl[RDI] = AREA;
    h.exec(hx('0fae07'));
    expect(h.mem.view.getUint32(AREA + 160 + 16 * 7 + 12, true)).toBe(xmmPattern(7)[3]);
    for (let k = 288; k < 512; k++) expect(h.mem.view.getUint8(AREA + k)).toBe(0xcc);
  });
  it('a misaligned area → #GP(0); CR0.TS → #NM; CR0.EM → #UD; CR4.OSFXSR is not required', () => {
    let h = cpu();
    h.setReg(RDI, BigInt(AREA + 8));
    expect(runOne(h, hx('480fae07'))).toEqual({ vector: 13, code: 0 });
    h = cpu(); h.setReg(RDI, BigInt(AREA)); h.cpu.cr0 |= 8;
    expect(runOne(h, hx('480fae07')).vector).toBe(7);
    h = cpu(); h.setReg(RDI, BigInt(AREA)); h.cpu.cr0 |= 4;
    expect(runOne(h, hx('480fae07')).vector).toBe(6);
    h = cpu(); h.setReg(RDI, BigInt(AREA)); h.cpu.cr4 &= ~0x200;
    expect(runOne(h, hx('480fae07')).vector).toBe(-1);
    expect(h.mem.view.getUint16(AREA, true)).toBe(0x037f);
  });
  it('an area running into a not-present page faults before anything is stored', () => {
    const h = cpu();
    h.mem.view.setUint32(0x3000 + 2 * 8, 0, true); // unmap 4 MiB..6 MiB
    h.cpu.tlb.flushAll();
    const a = 0x400000 - 256;
    h.mem.u8.fill(0xcc, a, a + 256);
    h.setReg(RDI, BigInt(a));
    expect(runOne(h, hx('480fae07'))).toEqual({ vector: 14, code: 2 });
    expect(h.cpu.cr2).toBe(0x400000);
    expect(h.mem.view.getUint32(a, true)).toBe(0xcccccccc);
  });
});

describe('FXRSTOR', () => {
  it('restores MXCSR and XMM0-15 from an FXSAVE image', () => {
    const h = cpu();
    for (let r = 0; r < 16; r++) setX(h, r, xmmPattern(r));
    h.cpu.mxcsr = 0x9fbf & 0xffbf;
    h.setReg(RDI, BigInt(AREA));
    h.exec(hx('480fae07')); // fxsave64
    for (let r = 0; r < 16; r++) setX(h, r, [0, 0, 0, 0]);
    h.cpu.mxcsr = 0x1f80;
    h.exec(hx('480fae0f')); // fxrstor64
    expect(h.cpu.mxcsr).toBe(0x9fbf & 0xffbf);
    for (let r = 0; r < 16; r++) expect(getX(h, r)).toEqual(xmmPattern(r));
  });
  it('reserved MXCSR bits in the image (bit 6 DAZ, bit 16) → #GP(0), nothing restored', () => {
    for (const bad of [0x1f80 | 0x40, 0x11f80]) {
      const h = cpu();
      h.setReg(RDI, BigInt(AREA));
      setX(h, 3, [1, 2, 3, 4]);
      h.exec(hx('480fae07'));
      h.mem.view.setUint32(AREA + 24, bad, true);
      h.mem.view.setUint32(AREA + 160 + 48, 0xdddddddd, true);
      setX(h, 3, [9, 9, 9, 9]);
      expect(runOne(h, hx('480fae0f'))).toEqual({ vector: 13, code: 0 });
      expect(getX(h, 3)).toEqual([9, 9, 9, 9]);
      expect(h.cpu.mxcsr).toBe(0x1f80);
    }
  });
});

describe('LDMXCSR / STMXCSR', () => {
  it('round trip, reserved bits → #GP(0), availability checks', () => {
    const h = cpu();
    h.setReg(RDI, BigInt(DATA));
    h.mem.view.setUint32(DATA, 0x7f80 | 0x8000 | 0x3f, true);
    h.exec(hx('0fae17')); // ldmxcsr [rdi]
    expect(h.cpu.mxcsr).toBe(0xffbf);
    h.cpu.mxcsr = 0x1234 & 0xffbf;
    h.exec(hx('0fae1f')); // stmxcsr [rdi]
    expect(h.mem.view.getUint32(DATA, true)).toBe(0x1234 & 0xffbf);
    for (const bad of [0x1f80 | 0x40, 0x1f80 | 0x10000, 0x80000000]) {
      h.mem.view.setUint32(DATA, bad >>> 0, true);
      expect(runOne(h, hx('0fae17'))).toEqual({ vector: 13, code: 0 });
    }
    h.cpu.cr0 |= 8;
    expect(runOne(h, hx('0fae1f')).vector).toBe(7);
    h.cpu.cr0 &= ~8; h.cpu.cr4 &= ~0x200;
    expect(runOne(h, hx('0fae17')).vector).toBe(6);
  });
  it('setting an unmasked flag with LDMXCSR does not itself fault (SDM Vol. 1 10.2.3.1)', () => {
    const h = cpu();
    h.setReg(RDI, BigInt(DATA));
    h.mem.view.setUint32(DATA, 0x1f80 & ~0x200 | 0x04, true); // ZM clear, ZE set
    expect(runOne(h, hx('0fae17')).vector).toBe(-1);
    expect(runOne(h, hx('660fefc0')).vector).toBe(-1); // pxor: no FP condition
  });
});

describe('fences, CLFLUSH, FS/GS base', () => {
  it('LFENCE/MFENCE/SFENCE change nothing and ignore CR0.TS/EM', () => {
    const h = cpu();
    h.cpu.cr0 |= 8 | 4;
    h.exec(hx('0faee8', '0faef0', '0faef8'));
    expect(h.cpu.rip).toBe(0x100000 + 9);
    expect(runOne(h, hx('f00faef0')).vector).toBe(6); // LOCK MFENCE
  });
  it('CLFLUSH checks the address like a byte load (#PF on a not-present page), not CR0.TS', () => {
    const h = cpu();
    h.cpu.cr0 |= 8;
    h.setReg(RDI, BigInt(DATA));
    expect(runOne(h, hx('0fae3f')).vector).toBe(-1);
    h.mem.view.setUint32(0x3000 + 2 * 8, 0, true);
    h.cpu.tlb.flushAll();
    h.setReg(RDI, 0x400123n);
    expect(runOne(h, hx('0fae3f'))).toEqual({ vector: 14, code: 0 });
    expect(h.cpu.cr2).toBe(0x400123);
  });
  it('XSAVE family and CLFLUSHOPT are #UD', () => {
    const h = cpu();
    h.setReg(RDI, BigInt(AREA));
    expect(runOne(h, hx('0fae27')).vector).toBe(6);   // xsave
    expect(runOne(h, hx('660fae3f')).vector).toBe(6); // clflushopt
  });
  it('RDFSBASE/WRGSBASE need CR4.FSGSBASE; WR*BASE rejects non-canonical values', () => {
    const h = cpu();
    expect(runOne(h, hx('f3480faec0')).vector).toBe(6); // rdfsbase rax with CR4.FSGSBASE = 0
    h.cpu.cr4 |= 1 << 16;
    h.cpu.segBase[FS] = -0x1000;
    h.exec(hx('f3480faec0'));
    expect(h.reg(RAX)).toBe(0xfffffffffffff000n);
    h.setReg(RCX, 0x00007fffdeadb000n);
    h.exec(hx('f3480faed9')); // wrgsbase rcx
    expect(h.cpu.segBase[GS]).toBe(0x7fffdeadb000);
    h.exec(hx('f30faec8')); // rdgsbase eax (zero-extends)
    expect(h.reg(RAX)).toBe(0xdeadb000n);
    h.setReg(RCX, 0x0000800000000000n);
    expect(runOne(h, hx('f3480faed9'))).toEqual({ vector: 13, code: 0 });
  });
});
