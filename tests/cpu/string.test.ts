// String instructions and port I/O. Expected values follow the SDM's definitions (Vol. 2B MOVS,
// STOS, LODS, CMPS, SCAS, INS, OUTS, REP/REPE/REPNE; Vol. 2A IN/OUT; Vol. 1 19.5 I/O permission),
// worked by hand or computed independently in the test (plain loops over bytes).
import { describe, it, expect } from 'vitest';
import { makeCpu, CODE, DATA, installIdt64, type Harness } from '../helpers/cpu-harness.ts';
import { RAX, RCX, RDX, RSI, RDI, DF, TR, CS, ES, FS } from '../../emulator/cpu/state.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';
import { step } from '../../emulator/cpu/exec.ts';
import type { PortDevice } from '../../emulator/memory/iobus.ts';
import { exec1, load, rd64 } from './sys-helpers.ts';

const ZF = 0x40, CF = 0x01, SF = 0x80;
const GP = 13, PF = 14;

function fillJunk(h: Harness, at: number, n: number): void {
  for (let k = 0; k < n; k++) h.mem.u8[at + k] = (k * 37 + 11) & 0xff;
}

/** Make the 2 MiB page at 0x400000 not present (PD entry 2 of the harness tables). */
function unmap4M(h: Harness): void {
  h.mem.view.setUint32(0x3000 + 2 * 8, 0, true);
  h.cpu.tlb.flushAll();
}

describe('REP STOS', () => {
  it('rep stosq clears an aligned 4 KiB page (clear_page) and leaves its neighbours alone', () => {
    const h = makeCpu();
    fillJunk(h, DATA - 16, 4096 + 32);
    h.setReg(RDI, BigInt(DATA)); h.setReg(RCX, 512n); h.setReg(RAX, 0n);
    h.exec([0xf3, 0x48, 0xab]); // rep stosq
    for (let k = 0; k < 4096; k++) if (h.mem.u8[DATA + k] !== 0) throw new Error(`byte ${k} not cleared`);
    // bytes just outside the page keep their junk
    expect(h.mem.u8[DATA - 1]).toBe((15 * 37 + 11) & 0xff); // k = 15 of fillJunk
    expect(h.mem.u8[DATA + 4096]).toBe(((4096 + 16) * 37 + 11) & 0xff);
    expect(h.reg(RDI)).toBe(BigInt(DATA + 4096));
    expect(h.reg(RCX)).toBe(0n);
  });

  it('rep stosq with a non-uniform pattern equals an independent fill, across pages', () => {
    const h = makeCpu();
    const start = DATA + 4096 - 8 * 5; // 5 elements before a page boundary, 995 after
    const pat = 0x1122334455667788n;
    h.setReg(RDI, BigInt(start)); h.setReg(RCX, 1000n); h.setReg(RAX, pat);
    h.exec([0xf3, 0x48, 0xab]);
    const expected = new Uint8Array(8000);
    const dv = new DataView(expected.buffer);
    for (let k = 0; k < 1000; k++) dv.setBigUint64(k * 8, pat, true);
    expect(Buffer.from(h.mem.u8.subarray(start, start + 8000)).equals(Buffer.from(expected))).toBe(true);
    expect(h.reg(RDI)).toBe(BigInt(start + 8000));
    expect(h.reg(RCX)).toBe(0n);
  });

  it('count 0 does nothing; count 1 stores one element', () => {
    const h = makeCpu();
    fillJunk(h, DATA, 16);
    const before = h.mem.u8.slice(DATA, DATA + 16);
    h.setReg(RDI, BigInt(DATA)); h.setReg(RCX, 0n); h.setReg(RAX, 0xaan);
    h.exec([0xf3, 0xaa]); // rep stosb
    expect(Array.from(h.mem.u8.slice(DATA, DATA + 16))).toEqual(Array.from(before));
    expect(h.reg(RDI)).toBe(BigInt(DATA));
    h.setReg(RCX, 1n);
    h.exec([0xf3, 0xab]); // rep stosd
    expect(h.mem.view.getUint32(DATA, true)).toBe(0xaa);
    expect(h.reg(RDI)).toBe(BigInt(DATA + 4));
    expect(h.reg(RCX)).toBe(0n);
  });

  it('DF=1 stores downwards and decrements RDI', () => {
    const h = makeCpu();
    h.cpu.flags |= DF;
    h.setReg(RDI, BigInt(DATA + 6)); h.setReg(RCX, 3n); h.setReg(RAX, 0xbeefn);
    h.exec([0x66, 0xf3, 0xab]); // rep stosw
    // elements at DATA+6, +4, +2
    expect(h.mem.view.getUint16(DATA + 2, true)).toBe(0xbeef);
    expect(h.mem.view.getUint16(DATA + 4, true)).toBe(0xbeef);
    expect(h.mem.view.getUint16(DATA + 6, true)).toBe(0xbeef);
    expect(h.mem.view.getUint16(DATA, true)).toBe(0);
    expect(h.reg(RDI)).toBe(BigInt(DATA));
  });

  it('a long count runs in chunks with RIP kept at the instruction until done', () => {
    const h = makeCpu();
    h.setReg(RDI, BigInt(DATA)); h.setReg(RCX, 10000n); h.setReg(RAX, 0x5an);
    load(h, [0xf3, 0xaa]);
    step(h.cpu);
    expect(h.cpu.rip).toBe(CODE); // not finished: re-executed by the loop
    const left = h.reg(RCX);
    expect(left).toBeGreaterThan(0n);
    expect(h.reg(RDI)).toBe(BigInt(DATA) + 10000n - left);
    let n = 1;
    while (h.cpu.rip === CODE && n < 100) { step(h.cpu); n++; }
    expect(h.cpu.rip).toBe(CODE + 2);
    expect(h.reg(RCX)).toBe(0n);
    expect(n).toBeGreaterThan(1);
    for (let k = 0; k < 10000; k++) if (h.mem.u8[DATA + k] !== 0x5a) throw new Error(`byte ${k}`);
    expect(h.mem.u8[DATA + 10000]).toBe(0);
  });

  it('a page fault in the middle leaves RCX/RDI at the faulting element and RIP at the instruction', () => {
    const h = makeCpu();
    unmap4M(h);
    installIdt64(h, 0x8000, { [PF]: 0x9000 });
    h.setReg(RDI, 0x3fffe8n); h.setReg(RCX, 10n); h.setReg(RAX, 0x0102030405060708n);
    load(h, [0xf3, 0x48, 0xab]);
    step(h.cpu); // faults on the 4th element (0x400000) and delivers #PF
    expect(h.cpu.rip).toBe(0x9000);
    expect(h.cpu.cr2).toBe(0x400000);
    expect(h.reg(RDI)).toBe(0x400000n);
    expect(h.reg(RCX)).toBe(7n);
    // frame: error code, RIP, CS, RFLAGS, RSP, SS; the saved RIP is the REP instruction itself
    const rsp = Number(h.reg(4));
    expect(rd64(h, rsp)).toBe(2n); // #PF error code: not present, write, supervisor
    expect(rd64(h, rsp + 8)).toBe(BigInt(CODE));
    expect(rd64(h, 0x3fffe8)).toBe(0x0102030405060708n);
    expect(rd64(h, 0x3ffff8)).toBe(0x0102030405060708n);
  });

  it('a fault on the first element changes nothing', () => {
    const h = makeCpu();
    unmap4M(h);
    h.setReg(RDI, 0x400000n); h.setReg(RCX, 3n);
    const r = exec1(h, [0xf3, 0xaa]);
    expect(r.vec).toBe(PF);
    expect(h.reg(RDI)).toBe(0x400000n);
    expect(h.reg(RCX)).toBe(3n);
    expect(h.cpu.rip).toBe(CODE);
  });

  it('writing over decoded code invalidates it (self-modifying code)', () => {
    const h = makeCpu();
    // CODE: rep stosw (66 f3 ab) ; CODE+3: inc eax (ff c0) ; inc eax (ff c0)
    load(h, [0x66, 0xf3, 0xab, 0xff, 0xc0, 0xff, 0xc0]);
    h.cpu.rip = CODE + 3;
    step(h.cpu); step(h.cpu); // decode and cache both INC EAX
    expect(h.reg(RAX)).toBe(2n);
    h.setReg(RAX, 0xc1ffn); // "ff c1" = inc ecx
    h.setReg(RDI, BigInt(CODE + 3)); h.setReg(RCX, 2n);
    h.cpu.rip = CODE;
    step(h.cpu);
    expect(h.reg(RCX)).toBe(0n);
    h.setReg(RCX, 10n);
    step(h.cpu); step(h.cpu);
    expect(h.reg(RCX)).toBe(12n);
    expect(h.reg(RAX)).toBe(0xc1ffn);
  });
});

describe('REP MOVS / LODS', () => {
  it('rep movsq copies across page boundaries like an element loop', () => {
    const h = makeCpu();
    const src = DATA + 4096 - 24, dst = DATA + 0x10000 + 4096 - 40;
    fillJunk(h, src, 8 * 700);
    const expected = h.mem.u8.slice(src, src + 8 * 700);
    h.setReg(RSI, BigInt(src)); h.setReg(RDI, BigInt(dst)); h.setReg(RCX, 700n);
    h.exec([0xf3, 0x48, 0xa5]);
    expect(Buffer.from(h.mem.u8.subarray(dst, dst + 5600)).equals(Buffer.from(expected))).toBe(true);
    expect(h.reg(RSI)).toBe(BigInt(src + 5600));
    expect(h.reg(RDI)).toBe(BigInt(dst + 5600));
    expect(h.reg(RCX)).toBe(0n);
  });

  it('overlapping forward rep movsb replicates the pattern (element semantics, not memmove)', () => {
    const h = makeCpu();
    h.mem.u8.set([1, 2, 3], DATA);
    h.setReg(RSI, BigInt(DATA)); h.setReg(RDI, BigInt(DATA + 3)); h.setReg(RCX, 12n);
    h.exec([0xf3, 0xa4]);
    expect(Array.from(h.mem.u8.slice(DATA, DATA + 15))).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
  });

  it('DF=1 rep movsd copies downwards', () => {
    const h = makeCpu();
    h.cpu.flags |= DF;
    for (let k = 0; k < 4; k++) h.mem.view.setUint32(DATA + 4 * k, 0x100 + k, true);
    h.setReg(RSI, BigInt(DATA + 12)); h.setReg(RDI, BigInt(DATA + 0x100 + 12)); h.setReg(RCX, 4n);
    h.exec([0xf3, 0xa5]);
    for (let k = 0; k < 4; k++) expect(h.mem.view.getUint32(DATA + 0x100 + 4 * k, true)).toBe(0x100 + k);
    expect(h.reg(RSI)).toBe(BigInt(DATA - 4));
    expect(h.reg(RDI)).toBe(BigInt(DATA + 0x100 - 4));
  });

  it('a fault reading the source leaves RSI/RDI/RCX at the faulting element', () => {
    const h = makeCpu();
    unmap4M(h);
    h.setReg(RSI, 0x3ffffen); h.setReg(RDI, BigInt(DATA)); h.setReg(RCX, 5n);
    h.mem.u8[0x3ffffe] = 0x11; h.mem.u8[0x3fffff] = 0x22;
    const r = exec1(h, [0xf3, 0xa4]);
    expect(r.vec).toBe(PF);
    expect(h.reg(RSI)).toBe(0x400000n);
    expect(h.reg(RDI)).toBe(BigInt(DATA + 2));
    expect(h.reg(RCX)).toBe(3n);
    expect(h.mem.u8[DATA]).toBe(0x11);
    expect(h.mem.u8[DATA + 1]).toBe(0x22);
  });

  it('segment override applies to the source only (FS base), ES:RDI stays the destination', () => {
    const h = makeCpu();
    h.cpu.segBase[FS] = 0x1000;
    h.cpu.segBase[ES] = 0x7777; // ignored in 64-bit mode
    h.mem.view.setUint32(DATA + 0x1000, 0xcafef00d, true);
    h.setReg(RSI, BigInt(DATA)); h.setReg(RDI, BigInt(DATA + 0x40));
    h.exec([0x64, 0xa5]); // movs dword [rdi], fs:[rsi]
    expect(h.mem.view.getUint32(DATA + 0x40, true)).toBe(0xcafef00d);
    expect(h.reg(RSI)).toBe(BigInt(DATA + 4));
  });

  it('lodsq/lodsb load the accumulator; 8-bit leaves the rest of RAX', () => {
    const h = makeCpu();
    h.mem.view.setBigUint64(DATA, 0x8877665544332211n, true);
    h.setReg(RSI, BigInt(DATA)); h.setReg(RAX, 0xffffffffffffffffn);
    h.exec([0xac]); // lodsb
    expect(h.reg(RAX)).toBe(0xffffffffffffff11n);
    h.exec([0xad]); // lodsd: reads 0x55443322, zero-extends
    expect(h.reg(RAX)).toBe(0x55443322n);
    expect(h.reg(RSI)).toBe(BigInt(DATA + 5));
    h.setReg(RSI, BigInt(DATA));
    h.exec([0x48, 0xad]);
    expect(h.reg(RAX)).toBe(0x8877665544332211n);
  });

  it('32-bit address size in 64-bit mode uses ESI/EDI/ECX and zero-extends them', () => {
    const h = makeCpu();
    h.mem.u8.set([9, 8, 7], DATA);
    h.setReg(RSI, 0xdead0000_00000000n | BigInt(DATA));
    h.setReg(RDI, 0xbeef0000_00000000n | BigInt(DATA + 0x20));
    h.setReg(RCX, 0x12345678_00000003n);
    h.exec([0x67, 0xf3, 0xa4]); // rep movsb with ESI/EDI/ECX
    expect(Array.from(h.mem.u8.slice(DATA + 0x20, DATA + 0x23))).toEqual([9, 8, 7]);
    expect(h.reg(RSI)).toBe(BigInt(DATA + 3));
    expect(h.reg(RDI)).toBe(BigInt(DATA + 0x23));
    expect(h.reg(RCX)).toBe(0n);
  });

  it('16-bit address size wraps SI/DI at 64 KiB and keeps the upper bits (real mode)', () => {
    const h = makeCpu('real16');
    h.mem.u8[0xfffe] = 0xa1; h.mem.u8[0xffff] = 0xa2; h.mem.u8[0] = 0xa3;
    h.setReg(RSI, 0x0001fffen); h.setReg(RDI, 0x00005000n); h.setReg(RCX, 0x00070003n);
    h.exec([0xf3, 0xa4]); // rep movsb, SI wraps from FFFF to 0
    expect(Array.from(h.mem.u8.slice(0x5000, 0x5003))).toEqual([0xa1, 0xa2, 0xa3]);
    expect(h.reg(RSI)).toBe(0x00010001n);
    expect(h.reg(RDI)).toBe(0x00005003n);
    expect(h.reg(RCX)).toBe(0x00070000n);
  });

  it('real mode uses DS:SI → ES:DI with segment bases', () => {
    const h = makeCpu('real16');
    h.cpu.segSel[3] = 0x200; h.cpu.segBase[3] = 0x2000; // DS
    h.cpu.segSel[ES] = 0x300; h.cpu.segBase[ES] = 0x3000;
    h.mem.view.setUint16(0x2010, 0x4321, true);
    h.setReg(RSI, 0x10n); h.setReg(RDI, 0x20n);
    h.exec([0xa5]); // movsw
    expect(h.mem.view.getUint16(0x3020, true)).toBe(0x4321);
  });
});

describe('REPE/REPNE CMPS and SCAS', () => {
  it('repe cmpsb stops at the first difference with flags of that comparison', () => {
    const h = makeCpu();
    h.mem.u8.set([0x61, 0x62, 0x63, 0x58, 0x65], DATA);       // "abcXe"
    h.mem.u8.set([0x61, 0x62, 0x63, 0x59, 0x65], DATA + 0x80); // "abcYe"
    h.setReg(RSI, BigInt(DATA)); h.setReg(RDI, BigInt(DATA + 0x80)); h.setReg(RCX, 10n);
    h.exec([0xf3, 0xa6]);
    expect(h.reg(RCX)).toBe(6n);
    expect(h.reg(RSI)).toBe(BigInt(DATA + 4));
    expect(h.reg(RDI)).toBe(BigInt(DATA + 0x84));
    // 0x58 - 0x59 = 0xff: ZF=0, CF=1, SF=1
    expect(h.rflags() & (ZF | CF | SF)).toBe(CF | SF);
  });

  it('repe cmpsd running out of count with equal data ends with ZF=1', () => {
    const h = makeCpu();
    h.setReg(RSI, BigInt(DATA)); h.setReg(RDI, BigInt(DATA + 0x100)); h.setReg(RCX, 4n);
    h.exec([0xf3, 0xa7]);
    expect(h.reg(RCX)).toBe(0n);
    expect(h.rflags() & ZF).toBe(ZF);
  });

  it('repne scasb finds the first zero byte (strlen idiom)', () => {
    const h = makeCpu();
    h.mem.u8.set([1, 2, 3, 4, 5, 0, 7], DATA);
    h.setReg(RDI, BigInt(DATA)); h.setReg(RCX, 100n); h.setReg(RAX, 0n);
    h.exec([0xf2, 0xae]);
    expect(h.reg(RCX)).toBe(94n);
    expect(h.reg(RDI)).toBe(BigInt(DATA + 6));
    expect(h.rflags() & ZF).toBe(ZF);
  });

  it('scasq compares RAX with [RDI] in 64 bits', () => {
    const h = makeCpu();
    h.mem.view.setBigUint64(DATA, 0x0000000100000000n, true);
    h.setReg(RDI, BigInt(DATA)); h.setReg(RAX, 0x00000000ffffffffn);
    h.exec([0x48, 0xaf]);
    // 0xffffffff - 0x100000000 borrows: CF=1, result 0xffffffffffffffff: SF=1
    expect(h.rflags() & (ZF | CF | SF)).toBe(CF | SF);
    expect(h.reg(RDI)).toBe(BigInt(DATA + 8));
  });

  it('repne scasb finds a byte in a later page; repe scasb stops at the first different byte', () => {
    const h = makeCpu();
    const start = DATA + 0x123;
    h.mem.u8.fill(0x20, start, start + 6000);
    h.mem.u8[start + 5000] = 0x0a;
    h.setReg(RDI, BigInt(start)); h.setReg(RCX, 6000n); h.setReg(RAX, 0x0an);
    h.exec([0xf2, 0xae]);
    expect(h.reg(RCX)).toBe(BigInt(6000 - 5001));
    expect(h.reg(RDI)).toBe(BigInt(start + 5001));
    expect(h.rflags() & ZF).toBe(ZF);
    h.setReg(RDI, BigInt(start)); h.setReg(RCX, 6000n); h.setReg(RAX, 0x20n);
    h.exec([0xf3, 0xae]);
    expect(h.reg(RCX)).toBe(BigInt(6000 - 5001));
    expect(h.reg(RDI)).toBe(BigInt(start + 5001));
    // 0x20 - 0x0a = 0x16: ZF=0, CF=0, SF=0
    expect(h.rflags() & (ZF | CF | SF)).toBe(0);
  });

  it('repe cmpsb across differently aligned pages stops after the first difference', () => {
    const h = makeCpu();
    const a = DATA + 0x10, b = DATA + 0x20000 + 0xf00;
    for (let k = 0; k < 8000; k++) { h.mem.u8[a + k] = k & 0xff; h.mem.u8[b + k] = k & 0xff; }
    h.mem.u8[b + 4500] = 0xff; // a[4500] = 4500 & 0xff = 0x94
    h.setReg(RSI, BigInt(a)); h.setReg(RDI, BigInt(b)); h.setReg(RCX, 8000n);
    h.exec([0xf3, 0xa6]);
    expect(h.reg(RCX)).toBe(BigInt(8000 - 4501));
    expect(h.reg(RSI)).toBe(BigInt(a + 4501));
    expect(h.reg(RDI)).toBe(BigInt(b + 4501));
    // 0x94 - 0xff borrows: CF=1, result 0x95: SF=1
    expect(h.rflags() & (ZF | CF | SF)).toBe(CF | SF);
    // repne cmpsb stops at the first equal pair
    h.mem.u8.fill(1, DATA + 0x3000, DATA + 0x3010);
    h.mem.u8.fill(2, DATA + 0x4000, DATA + 0x4010);
    h.mem.u8[DATA + 0x3007] = 2;
    h.setReg(RSI, BigInt(DATA + 0x3000)); h.setReg(RDI, BigInt(DATA + 0x4000)); h.setReg(RCX, 16n);
    h.exec([0xf2, 0xa6]);
    expect(h.reg(RCX)).toBe(8n);
    expect(h.rflags() & ZF).toBe(ZF);
  });

  it('count 0 leaves flags and registers unchanged', () => {
    const h = makeCpu();
    h.exec([0x31, 0xc0]); // xor eax,eax → ZF=1
    h.setReg(RDI, BigInt(DATA)); h.setReg(RCX, 0n); h.setReg(RAX, 5n);
    h.exec([0xf2, 0xae]);
    expect(h.rflags() & ZF).toBe(ZF);
    expect(h.reg(RDI)).toBe(BigInt(DATA));
  });
});

class FakePorts implements PortDevice {
  readonly writes: [number, number, number][] = [];
  next = 0x10;
  portIn(port: number, size: number): number {
    void port;
    const v = this.next; this.next += 0x11;
    return size === 1 ? v & 0xff : size === 2 ? (v * 0x101) & 0xffff : (v * 0x01010101) >>> 0;
  }
  portOut(port: number, size: number, value: number): void { this.writes.push([port, size, value]); }
}

describe('port I/O', () => {
  it('IN/OUT with imm8 and DX ports in all sizes; OUT requests an event check', () => {
    const h = makeCpu();
    const dev = new FakePorts();
    h.io.register(0x3f8, 8, dev);
    h.io.register(0x80, 1, dev);
    h.setReg(RAX, 0x11223344_aabbccddn); h.setReg(RDX, 0x3f8n);
    h.cpu.checkEvents = false;
    let r = exec1(h, [0xee]); // out dx, al
    expect(r.vec).toBe(-1);
    expect(h.cpu.checkEvents).toBe(true);
    exec1(h, [0x66, 0xef]); // out dx, ax
    exec1(h, [0xef]); // out dx, eax
    exec1(h, [0xe6, 0x80]); // out 0x80, al
    expect(dev.writes).toEqual([[0x3f8, 1, 0xdd], [0x3f8, 2, 0xccdd], [0x3f8, 4, 0xaabbccdd], [0x80, 1, 0xdd]]);
    r = exec1(h, [0xec]); // in al, dx → 0x10
    expect(h.reg(RAX)).toBe(0x11223344_aabbcc10n);
    exec1(h, [0x66, 0xed]); // in ax, dx → 0x21 * 0x101
    expect(h.reg(RAX)).toBe(0x11223344_aabb2121n);
    exec1(h, [0xe5, 0x80]); // in eax, 0x80 → 0x32323232, zero-extended
    expect(h.reg(RAX)).toBe(0x32323232n);
    exec1(h, [0xe4, 0x81]); // unclaimed port reads all ones
    expect(h.reg(RAX)).toBe(0x323232ffn);
  });

  it('rep outsb and rep insw move buffers through a port', () => {
    const h = makeCpu();
    const dev = new FakePorts();
    h.io.register(0x60, 2, dev);
    h.mem.u8.set([5, 6, 7], DATA);
    h.setReg(RSI, BigInt(DATA)); h.setReg(RCX, 3n); h.setReg(RDX, 0x60n);
    h.exec([0xf3, 0x6e]);
    expect(dev.writes).toEqual([[0x60, 1, 5], [0x60, 1, 6], [0x60, 1, 7]]);
    expect(h.reg(RSI)).toBe(BigInt(DATA + 3));
    h.setReg(RDI, BigInt(DATA + 0x10)); h.setReg(RCX, 2n);
    h.exec([0x66, 0xf3, 0x6d]); // rep insw
    expect(h.mem.view.getUint16(DATA + 0x10, true)).toBe(0x1010);
    expect(h.mem.view.getUint16(DATA + 0x12, true)).toBe(0x2121);
    expect(h.reg(RDI)).toBe(BigInt(DATA + 0x14));
    expect(h.reg(RCX)).toBe(0n);
  });

  it('INS probes the destination first: a #PF does not consume port data', () => {
    const h = makeCpu();
    const dev = new FakePorts();
    h.io.register(0x60, 1, dev);
    unmap4M(h);
    h.setReg(RDI, 0x400000n); h.setReg(RDX, 0x60n);
    expect(exec1(h, [0x6c]).vec).toBe(PF);
    expect(dev.next).toBe(0x10);
  });

  it('CPL > IOPL consults the TSS I/O permission bitmap (SDM Vol. 1 19.5.2)', () => {
    const h = makeCpu('prot32');
    const dev = new FakePorts();
    h.io.register(0x7f, 3, dev);
    // 32-bit TSS at 0x7000, I/O map base 0x68; bitmap: port 0x7f denied, 0x80 allowed, 0x81 denied.
    const tss = 0x7000;
    h.mem.view.setUint16(tss + 0x66, 0x68, true);
    h.mem.u8[tss + 0x68 + 0x0f] = 0x80; // port 0x7f = bit 7 of byte 0x0f
    h.mem.u8[tss + 0x68 + 0x10] = 0x02; // port 0x81 = bit 1 of byte 0x10
    const c = h.cpu;
    c.segBase[TR] = tss; c.segLimit[TR] = 0x68 + 0x20; c.segAttr[TR] = 0x8b;
    // CPL 3 with IOPL 0: a DPL-3 CS (RPL 3); paging is off so memory is accessible.
    c.segSel[CS] = 0x1b; c.segAttr[CS] = 0xc0fb;
    c.flags &= ~0x3000;
    updateMode(c); // derives CPL 3 from CS.RPL
    {
      expect(c.cpl).toBe(3);
      expect(exec1(h, [0xe4, 0x80]).vec).toBe(-1); // allowed
      expect(h.reg(RAX) & 0xffn).toBe(0x10n);
      expect(exec1(h, [0xe4, 0x81])).toEqual({ vec: GP, code: 0 });
      expect(exec1(h, [0xe4, 0x7f])).toEqual({ vec: GP, code: 0 });
      expect(exec1(h, [0x66, 0xe5, 0x80])).toEqual({ vec: GP, code: 0 }); // word 0x80-0x81: 0x81 denied
      h.setReg(RDX, 0x80n);
      expect(exec1(h, [0xee]).vec).toBe(-1);
      // Port 0x100 needs byte 0x20 of the bitmap, beyond the TSS limit → #GP(0)
      h.setReg(RDX, 0x100n);
      expect(exec1(h, [0xee])).toEqual({ vec: GP, code: 0 });
      // With IOPL = 3 the bitmap is not consulted
      c.flags |= 0x3000;
      h.setReg(RDX, 0x81n);
      expect(exec1(h, [0xee]).vec).toBe(-1);
    }
  });
});
