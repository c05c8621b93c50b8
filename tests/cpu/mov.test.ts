// Data movement (ops/mov.ts): MOV in all forms, LEA, MOVZX/MOVSX/MOVSXD, CBW..CQO, XCHG, CMOVcc, SETcc,
// SAHF/LAHF, XLAT, BSWAP, MOV Sreg. Expected values are worked by hand from the SDM (Vol. 2A/2B
// instruction pages, Vol. 1 3.4.1.1 "32-bit operands zero-extend in 64-bit mode"), computed with
// BigInt reference arithmetic in the test, or were checked on the host CPU with inline asm
// (noted "host CPU" below). Encodings come from `as --64 -msyntax=intel -mnaked-reg` + objdump.
import { describe, it, expect } from 'vitest';
import { makeCpu, DATA, CODE, type Harness } from '../helpers/cpu-harness.ts';
import { setupIdt64, runToHandler, stackQ, HANDLERS } from '../helpers/cpu-events.ts';
import { step } from '../../emulator/cpu/exec.ts';
import { RAX, RBX, RCX, RDX, RSP, RBP, RSI, RDI, DS, ES, SS, FS, CS } from '../../emulator/cpu/state.ts';
import { setArith } from '../../emulator/cpu/flags.ts';

const M64 = (1n << 64n) - 1n;
const CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
const R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R15 = 15;

function cpu64(regs: Record<number, bigint> = {}): Harness {
  const h = makeCpu('long64');
  for (const [r, v] of Object.entries(regs)) h.setReg(Number(r), BigInt.asUintN(64, v));
  return h;
}
const rd64 = (h: Harness, a: number) => h.mem.view.getBigUint64(a, true);
const wr64m = (h: Harness, a: number, v: bigint) => h.mem.view.setBigUint64(a, v, true);

describe('MOV 8-bit: AH..BH without REX, SPL..DIL with REX (SDM Vol. 2A 3.7.2.1, Table 3-2)', () => {
  it('88 dc: mov ah, bl writes bits 15:8 of RAX only', () => {
    const h = cpu64({ [RAX]: 0x1111111111111111n, [RBX]: 0x22334455667788a9n });
    h.exec([0x88, 0xdc]);
    expect(h.reg(RAX)).toBe(0x111111111111a911n);
  });
  it('88 ef: mov bh, ch reads bits 15:8 of RCX', () => {
    const h = cpu64({ [RBX]: 0x0n, [RCX]: 0xffffffffffffbbccn });
    h.exec([0x88, 0xef]);
    expect(h.reg(RBX)).toBe(0xbb00n);
  });
  it('88 e0 is mov al, ah; the same ModRM after a REX prefix (40 88 e0) is mov al, spl', () => {
    const h = cpu64({ [RAX]: 0xaabbn, [RSP]: 0x12345678n });
    h.exec([0x88, 0xe0]); // mov al, ah
    expect(h.reg(RAX)).toBe(0xaaaan);
    h.setReg(RAX, 0xaabbn);
    h.exec([0x40, 0x88, 0xe0]); // mov al, spl
    expect(h.reg(RAX)).toBe(0xaa78n);
    expect(h.reg(RSP)).toBe(0x12345678n);
  });
  it('40 88 fc: mov spl, dil; 40 88 ee: mov sil, bpl', () => {
    const h = cpu64({ [RSP]: 0x80000n, [RDI]: 0x1234n, [RSI]: 0xffffn, [RBP]: 0x77n });
    h.exec([0x40, 0x88, 0xfc, 0x40, 0x88, 0xee]);
    expect(h.reg(RSP)).toBe(0x80034n);
    expect(h.reg(RSI)).toBe(0xff77n);
  });
  it('B4 ib is mov ah, imm8; 40 B4 ib is mov spl, imm8; B7 is bh, 40 B7 dil, 41 B7 r15b', () => {
    const h = cpu64({ [RAX]: 0n, [RSP]: 0x80000n, [RBX]: 0n, [RDI]: 0xffffffffn, [R15]: 0x1000n });
    h.exec([0xb4, 0x7f, 0x40, 0xb4, 0x7f, 0xb7, 0x12, 0x40, 0xb7, 0x12, 0x41, 0xb7, 0x99]);
    expect(h.reg(RAX)).toBe(0x7f00n);
    expect(h.reg(RSP)).toBe(0x8007fn);
    expect(h.reg(RBX)).toBe(0x1200n);
    expect(h.reg(RDI)).toBe(0xffffff12n); // 8-bit writes leave bits 63:8 alone
    expect(h.reg(R15)).toBe(0x1099n);
  });
  it('8a 33: mov dh, [rbx]; 88 2b: mov [rbx], ch (only one byte of memory changes)', () => {
    const h = cpu64({ [RBX]: BigInt(DATA), [RDX]: 0xffffffffffffffffn, [RCX]: 0x5a00n });
    wr64m(h, DATA, 0x1122334455667788n);
    h.exec([0x8a, 0x33]);
    expect(h.reg(RDX)).toBe(0xffffffffffff88ffn);
    h.exec([0x88, 0x2b]);
    expect(rd64(h, DATA)).toBe(0x112233445566775an);
  });
  it('88 63 01: mov [rbx+1], ah', () => {
    const h = cpu64({ [RBX]: BigInt(DATA), [RAX]: 0xc3c4n });
    wr64m(h, DATA, 0n);
    h.exec([0x88, 0x63, 0x01]);
    expect(rd64(h, DATA)).toBe(0xc300n);
  });
});

describe('MOV 16/32/64 (SDM Vol. 1 3.4.1.1: 32-bit results zero-extend, 8/16-bit results merge)', () => {
  it('89 d8: mov eax, ebx clears RAX[63:32]', () => {
    const h = cpu64({ [RAX]: M64, [RBX]: 0x1234567890abcdefn });
    h.exec([0x89, 0xd8]);
    expect(h.reg(RAX)).toBe(0x90abcdefn);
  });
  it('66 89 d8: mov ax, bx keeps RAX[63:16]', () => {
    const h = cpu64({ [RAX]: M64, [RBX]: 0x1234567890abcdefn });
    h.exec([0x66, 0x89, 0xd8]);
    expect(h.reg(RAX)).toBe(0xffffffffffffcdefn);
  });
  it('48 89 d8: mov rax, rbx copies all 64 bits', () => {
    const h = cpu64({ [RAX]: 0n, [RBX]: 0xfedcba9876543210n });
    h.exec([0x48, 0x89, 0xd8]);
    expect(h.reg(RAX)).toBe(0xfedcba9876543210n);
  });
  it('REX.R/REX.B: mov r9, r10 / mov r9d, r10d / mov r9w, r10w', () => {
    const h = cpu64({ [R9]: M64, [R10]: 0x8877665544332211n });
    h.exec([0x66, 0x45, 0x89, 0xd1]);
    expect(h.reg(R9)).toBe(0xffffffffffff2211n);
    h.exec([0x45, 0x89, 0xd1]);
    expect(h.reg(R9)).toBe(0x44332211n);
    h.setReg(R9, 0n);
    h.exec([0x4d, 0x89, 0xd1]);
    expect(h.reg(R9)).toBe(0x8877665544332211n);
  });
  it('8b: loads of 16/32/64 bits from memory (32 zero-extends, 16 merges)', () => {
    const h = cpu64({ [RBX]: BigInt(DATA), [RAX]: M64 });
    wr64m(h, DATA, 0x8899aabbccddeeffn);
    h.exec([0x66, 0x8b, 0x03]);
    expect(h.reg(RAX)).toBe(0xffffffffffffeeffn);
    h.exec([0x8b, 0x03]);
    expect(h.reg(RAX)).toBe(0xccddeeffn);
    h.exec([0x48, 0x8b, 0x03]);
    expect(h.reg(RAX)).toBe(0x8899aabbccddeeffn);
  });
  it('89: stores of 16/32/64 bits write exactly that many bytes', () => {
    const h = cpu64({ [RBX]: BigInt(DATA), [RAX]: 0x0102030405060708n });
    wr64m(h, DATA, M64);
    h.exec([0x66, 0x89, 0x03]);
    expect(rd64(h, DATA)).toBe(0xffffffffffff0708n);
    h.exec([0x89, 0x03]);
    expect(rd64(h, DATA)).toBe(0xffffffff05060708n);
    h.exec([0x48, 0x89, 0x03]);
    expect(rd64(h, DATA)).toBe(0x0102030405060708n);
  });
  it('a misaligned 8-byte store that crosses a page boundary lands byte by byte', () => {
    const a = DATA + 0xffd;
    const h = cpu64({ [RBX]: BigInt(a), [RAX]: 0x0102030405060708n });
    h.exec([0x48, 0x89, 0x03]);
    expect(rd64(h, a)).toBe(0x0102030405060708n);
    h.exec([0x48, 0x8b, 0x0b]); // mov rcx, [rbx]
    expect(h.reg(RCX)).toBe(0x0102030405060708n);
  });
});

describe('segments in memory operands (SDM Vol. 1 3.3.7.1, 3.4.2.1)', () => {
  it('64-bit mode: ES/DS/SS/CS overrides and bases are ignored, GS adds GS.base', () => {
    const h = cpu64({ [RBX]: BigInt(DATA) });
    h.cpu.segBase[ES] = 0x1000; h.cpu.segBase[DS] = 0x3000; h.cpu.segBase[5] = 0x100; // GS
    wr64m(h, DATA, 0x1111n); wr64m(h, DATA + 0x100, 0x2222n);
    h.exec([0x26, 0x48, 0x8b, 0x03]); // mov rax, es:[rbx]
    expect(h.reg(RAX)).toBe(0x1111n);
    h.exec([0x48, 0x8b, 0x0b]); // mov rcx, [rbx] (DS)
    expect(h.reg(RCX)).toBe(0x1111n);
    h.exec([0x65, 0x48, 0x8b, 0x13]); // mov rdx, gs:[rbx]
    expect(h.reg(RDX)).toBe(0x2222n);
  });
  it('real mode: a0 34 12 mov al, [0x1234] reads DS.base + 0x1234', () => {
    const h = makeCpu('real16');
    h.cpu.segSel[DS] = 0x2000; h.cpu.segBase[DS] = 0x20000;
    h.mem.u8[0x21234] = 0xab;
    h.exec([0xa0, 0x34, 0x12]);
    expect(h.reg(RAX) & 0xffn).toBe(0xabn);
  });
  it('32-bit protected mode: DS.base + offset wraps at 4 GiB', () => {
    const h = makeCpu('prot32');
    h.cpu.segBase[DS] = 0xfffff000;
    h.setReg(RBX, 0x2010n);
    h.mem.view.setUint32(0x1010, 0x600dbeef, true);
    h.exec([0x8b, 0x03]); // mov eax, [ebx]
    expect(h.reg(RAX)).toBe(0x600dbeefn);
  });
});

describe('MOV immediates: B8+r, C7 (SDM Vol. 2A MOV: "C7 /0 id: MOV r/m64, imm32 sign-extended"; "REX.W B8+rd io")', () => {
  it('B8: mov eax, imm32 zero-extends', () => {
    const h = cpu64({ [RAX]: M64 });
    h.exec([0xb8, 0xef, 0xcd, 0xab, 0x89]);
    expect(h.reg(RAX)).toBe(0x89abcdefn);
  });
  it('66 B8: mov ax, imm16 merges', () => {
    const h = cpu64({ [RAX]: M64 });
    h.exec([0x66, 0xb8, 0x34, 0x12]);
    expect(h.reg(RAX)).toBe(0xffffffffffff1234n);
  });
  it('48 B8: movabs rax, imm64; 49 BC: movabs r12, imm64', () => {
    const h = cpu64();
    h.exec([0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
      0x49, 0xbc, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80]);
    expect(h.reg(RAX)).toBe(0x1122334455667788n);
    expect(h.reg(R12)).toBe(0x8000000000000001n);
  });
  it('41 BB: mov r11d, 0xffffffff is not sign-extended', () => {
    const h = cpu64({ [R11]: 0x5555555555555555n });
    h.exec([0x41, 0xbb, 0xff, 0xff, 0xff, 0xff]);
    expect(h.reg(R11)).toBe(0xffffffffn);
  });
  it('48 C7 C0: mov rax, imm32 sign-extends 0x80000000 to 0xffffffff80000000', () => {
    const h = cpu64();
    h.exec([0x48, 0xc7, 0xc0, 0x00, 0x00, 0x00, 0x80]);
    expect(h.reg(RAX)).toBe(0xffffffff80000000n);
  });
  it('49 C7 C3: mov r11, -1; C7 C0 with a 32-bit operand zero-extends', () => {
    const h = cpu64({ [RAX]: M64 });
    h.exec([0x49, 0xc7, 0xc3, 0xff, 0xff, 0xff, 0xff, 0xc7, 0xc0, 0x00, 0x00, 0x00, 0x80]);
    expect(h.reg(R11)).toBe(M64);
    expect(h.reg(RAX)).toBe(0x80000000n);
  });
  it('C7 to memory: qword sign-extended, dword, word; C6: byte', () => {
    const h = cpu64({ [RBX]: BigInt(DATA) });
    wr64m(h, DATA, 0n);
    h.exec([0x48, 0xc7, 0x03, 0xfe, 0xff, 0xff, 0xff]);
    expect(rd64(h, DATA)).toBe(0xfffffffffffffffen);
    h.exec([0xc7, 0x03, 0x00, 0x00, 0x00, 0x80]);
    expect(rd64(h, DATA)).toBe(0xffffffff80000000n);
    h.exec([0x66, 0xc7, 0x03, 0x01, 0x80]);
    expect(rd64(h, DATA)).toBe(0xffffffff80008001n);
    h.exec([0xc6, 0x03, 0xab]);
    expect(rd64(h, DATA)).toBe(0xffffffff800080abn);
  });
  it('C6 /1 and C7 /1 are invalid (#UD, SDM Vol. 2D Table A-6 group 11)', () => {
    const h = cpu64();
    setupIdt64(h);
    expect(runToHandler(h, [0xc6, 0xc8, 0x00])).toBe(6);
    expect(runToHandler(h, [0xc7, 0xc8, 0x00, 0x00, 0x00, 0x00])).toBe(6);
  });
});

describe('MOV moffs A0-A3 (SDM Vol. 2A MOV: in 64-bit mode the offset is 64 bits, 32 with 67)', () => {
  it('A0/A1: loads of 8/16/32/64 bits with an 8-byte offset', () => {
    const h = cpu64({ [RAX]: M64 });
    wr64m(h, DATA + 0x10, 0x0123456789abcdefn);
    const off = [0x10, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00]; // 0x200010
    h.exec([0xa0, ...off]);
    expect(h.reg(RAX)).toBe(0xffffffffffffffefn);
    h.exec([0x66, 0xa1, ...off]);
    expect(h.reg(RAX)).toBe(0xffffffffffffcdefn);
    h.exec([0xa1, ...off]);
    expect(h.reg(RAX)).toBe(0x89abcdefn);
    h.setReg(RAX, 0n);
    h.exec([0x48, 0xa1, ...off]);
    expect(h.reg(RAX)).toBe(0x0123456789abcdefn);
  });
  it('A2/A3: stores of 8/16/32/64 bits', () => {
    const h = cpu64({ [RAX]: 0x1122334455667788n });
    const off = [0x10, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00];
    wr64m(h, DATA + 0x10, 0n);
    h.exec([0xa2, ...off]);
    expect(rd64(h, DATA + 0x10)).toBe(0x88n);
    h.exec([0x66, 0xa3, ...off]);
    expect(rd64(h, DATA + 0x10)).toBe(0x7788n);
    h.exec([0xa3, ...off]);
    expect(rd64(h, DATA + 0x10)).toBe(0x55667788n);
    h.exec([0x48, 0xa3, ...off]);
    expect(rd64(h, DATA + 0x10)).toBe(0x1122334455667788n);
  });
  it('the upper 4 offset bytes are used (a page mapped at 4 GiB + 0 → physical 0x400000)', () => {
    const h = cpu64();
    // PDPT entry 4 (linear 0x1_0000_0000) → PD at 0x4000 whose entry 0 is a 2 MiB page at 0x400000.
    h.mem.view.setUint32(0x2000 + 4 * 8, 0x4003, true);
    h.mem.view.setUint32(0x4000, 0x400083, true);
    wr64m(h, 0x400020, 0xcafef00dn);
    wr64m(h, 0x20, 0xbadn);
    h.exec([0xa1, 0x20, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]); // mov eax, [0x100000020]
    expect(h.reg(RAX)).toBe(0xcafef00dn);
  });
  it('67 A0: a 4-byte offset with the 32-bit address size', () => {
    const h = cpu64({ [RAX]: 0n });
    h.mem.u8[DATA + 0x10] = 0x5c;
    h.exec([0x67, 0xa0, 0x10, 0x00, 0x20, 0x00, 0x90]); // then a NOP: the instruction is 6 bytes long
    expect(h.reg(RAX)).toBe(0x5cn);
    expect(h.cpu.rip).toBe(CODE + 7);
  });
  it('64 48 A1: an FS override adds FS.base', () => {
    const h = cpu64();
    h.cpu.segBase[FS] = DATA;
    wr64m(h, DATA + 0x10, 0x7766554433221100n);
    h.exec([0x64, 0x48, 0xa1, 0x10, 0, 0, 0, 0, 0, 0, 0]);
    expect(h.reg(RAX)).toBe(0x7766554433221100n);
  });
  it('a non-canonical moffs raises #GP(0) (SDM MOV, 64-bit mode exceptions)', () => {
    const h = cpu64();
    setupIdt64(h);
    // mov al, [0x0000800000000000]
    expect(runToHandler(h, [0xa0, 0, 0, 0, 0, 0, 0x80, 0, 0])).toBe(13);
    expect(stackQ(h, 0)).toBe(0n); // error code
    expect(stackQ(h, 1)).toBe(BigInt(CODE)); // faulting instruction
  });
});

describe('LEA (SDM Vol. 2A LEA, Table 3-53: operand size vs address size)', () => {
  const lea = (code: number[], regs: Record<number, bigint>) => { const h = cpu64(regs); h.exec(code); return h; };
  it('48 8d 84 cb: lea rax, [rbx+rcx*8+0x12345678] with a carry out of bit 31', () => {
    const rbx = 0x7ffffffff0000000n, rcx = 0x0000000120000000n;
    const h = lea([0x48, 0x8d, 0x84, 0xcb, 0x78, 0x56, 0x34, 0x12], { [RBX]: rbx, [RCX]: rcx });
    expect(h.reg(RAX)).toBe((rbx + rcx * 8n + 0x12345678n) & M64); // 0x8000000902345678
  });
  it('48 8d 44 0b ff: lea rax, [rbx+rcx-1] with a negative disp8 borrowing across bit 32', () => {
    const h = lea([0x48, 0x8d, 0x44, 0x0b, 0xff], { [RBX]: 0x100000000n, [RCX]: 0n });
    expect(h.reg(RAX)).toBe(0xffffffffn);
  });
  it('64-bit wrap-around: lea rax, [rbx+rcx*1-1] with rbx = rcx = 0 gives all ones', () => {
    const h = lea([0x48, 0x8d, 0x44, 0x0b, 0xff], { [RBX]: 0n, [RCX]: 0n });
    expect(h.reg(RAX)).toBe(M64);
  });
  it('SIB without base: lea rax, [rcx*4+0] and [rcx*2+0x10]', () => {
    const rcx = 0x4000000000000001n;
    let h = lea([0x48, 0x8d, 0x04, 0x8d, 0, 0, 0, 0], { [RCX]: rcx });
    expect(h.reg(RAX)).toBe((rcx * 4n) & M64); // 4
    h = lea([0x48, 0x8d, 0x04, 0x4d, 0x10, 0, 0, 0], { [RCX]: rcx });
    expect(h.reg(RAX)).toBe((rcx * 2n + 0x10n) & M64);
  });
  it('SIB index 100b with REX.X is R12, not "no index": lea rax, [rbx+r12*2]', () => {
    const h = lea([0x4a, 0x8d, 0x04, 0x63], { [RBX]: 0x1000n, [R12]: 0x300n });
    expect(h.reg(RAX)).toBe(0x1600n);
  });
  it('REX.B/REX.X: lea rax, [r12+r13*4+0x80]; lea rax, [r8+r9*8]', () => {
    let h = lea([0x4b, 0x8d, 0x84, 0xac, 0x80, 0, 0, 0], { [R12]: 0x10000n, [R13]: 0x1111n });
    expect(h.reg(RAX)).toBe(0x10000n + 0x1111n * 4n + 0x80n);
    h = lea([0x4b, 0x8d, 0x04, 0xc8], { [R8]: 0xffffffffffffff00n, [R9]: 0x20n });
    expect(h.reg(RAX)).toBe(0n); // -0x100 + 0x100
  });
  it('special encodings: [rsp+8] (SIB), [rbp+0] and [r13+0] (mod 01 with disp8 0)', () => {
    let h = lea([0x48, 0x8d, 0x44, 0x24, 0x08], { [RSP]: 0x7fff0n });
    expect(h.reg(RAX)).toBe(0x7fff8n);
    h = lea([0x48, 0x8d, 0x45, 0x00], { [RBP]: 0x123456789n });
    expect(h.reg(RAX)).toBe(0x123456789n);
    h = lea([0x49, 0x8d, 0x45, 0x00], { [R13]: 0xabcdefn });
    expect(h.reg(RAX)).toBe(0xabcdefn);
  });
  it('absolute disp32 via SIB (no base, no index) and a negative disp32 sign-extended to 64 bits', () => {
    let h = lea([0x48, 0x8d, 0x04, 0x25, 0x45, 0x23, 0x01, 0x00], {});
    expect(h.reg(RAX)).toBe(0x12345n);
    h = lea([0x48, 0x8d, 0x83, 0x00, 0x00, 0x00, 0x80], { [RBX]: 0x100000000n });
    expect(h.reg(RAX)).toBe(0x100000000n - 0x80000000n);
  });
  it('RIP-relative uses the address of the next instruction (SDM Vol. 2A 2.2.1.6)', () => {
    // lea rax, [rip+0x100] is 7 bytes at CODE → CODE + 7 + 0x100; then lea rcx, [rip-0x10] at CODE+7.
    const h = lea([0x48, 0x8d, 0x05, 0x00, 0x01, 0x00, 0x00, 0x48, 0x8d, 0x0d, 0xf0, 0xff, 0xff, 0xff], {});
    expect(h.reg(RAX)).toBe(BigInt(CODE + 7 + 0x100));
    expect(h.reg(RCX)).toBe(BigInt(CODE + 14 - 0x10));
  });
  it('32-bit operand size: lea eax, [rbx+rcx*2+8] keeps the low 32 bits of the 64-bit sum, zero-extended', () => {
    // 0x1_fffffff0 + 0x10*2 + 8 = 0x2_00000018 → eax = 0x18
    const h = lea([0x8d, 0x44, 0x4b, 0x08], { [RAX]: M64, [RBX]: 0x1fffffff0n, [RCX]: 0x10n });
    expect(h.reg(RAX)).toBe(0x18n);
  });
  it('67 prefix: lea eax, [ebx+ecx*2+8] ignores the upper register halves and wraps at 2^32', () => {
    // ebx + ecx*2 + 8 = 0xfffffff0 + 8 + 8 = 0x1_00000000 → 0
    const h = lea([0x67, 0x8d, 0x44, 0x4b, 0x08], { [RAX]: M64, [RBX]: 0xdead0000fffffff0n, [RCX]: 0xbeef000000000004n });
    expect(h.reg(RAX)).toBe(0n);
  });
  it('67 48: lea rax, [ebx+ecx*2+8] zero-extends the 32-bit address to 64 bits', () => {
    const h = lea([0x67, 0x48, 0x8d, 0x44, 0x4b, 0x08], { [RBX]: 0xffff0000fffffff0n, [RCX]: 0n });
    expect(h.reg(RAX)).toBe(0xfffffff8n);
  });
  it('66: lea ax, [rbx+rcx+2] writes only AX', () => {
    const h = lea([0x66, 0x8d, 0x44, 0x0b, 0x02], { [RAX]: 0x1111222233334444n, [RBX]: 0xfffffn, [RCX]: 0x1n });
    expect(h.reg(RAX)).toBe(0x1111222233330002n); // 0x100002 truncated to 16 bits
  });
  it('67 8d 05: lea eax, [eip+0x10] is EIP-relative', () => {
    const h = lea([0x67, 0x8d, 0x05, 0x10, 0, 0, 0], { [RAX]: M64 });
    expect(h.reg(RAX)).toBe(BigInt(CODE + 7 + 0x10));
  });
  it('LEA with a register operand (mod = 11b) is #UD', () => {
    const h = cpu64();
    setupIdt64(h);
    expect(runToHandler(h, [0x48, 0x8d, 0xc0])).toBe(6);
  });
  it('16-bit addressing in real mode: lea ax, [bx+si+0x10] wraps at 64 KiB; 66 lea eax, [bp+di-2]', () => {
    const h = makeCpu('real16');
    h.setReg(RBX, 0xfff0n); h.setReg(RSI, 0x20n); h.setReg(RAX, 0xaaaa5555n);
    h.setReg(RBP, 0x1n); h.setReg(RDI, 0n); h.setReg(RCX, 0n);
    h.exec([0x8d, 0x40, 0x10]);
    expect(h.reg(RAX)).toBe(0xaaaa0020n); // (0xfff0 + 0x20 + 0x10) mod 2^16
    h.exec([0x66, 0x8d, 0x43, 0xfe]);
    expect(h.reg(RAX)).toBe(0xffffn); // (1 + 0 - 2) mod 2^16, zero-extended into EAX
  });
});

describe('MOVZX / MOVSX / MOVSXD (SDM Vol. 2B)', () => {
  it('0f b6: movzx eax, bl / bh (no REX) / dil (REX)', () => {
    const h = cpu64({ [RAX]: M64, [RBX]: 0x81f0n, [RDI]: 0x1ffn });
    h.exec([0x0f, 0xb6, 0xc3]);
    expect(h.reg(RAX)).toBe(0xf0n);
    h.exec([0x0f, 0xb6, 0xc7]);
    expect(h.reg(RAX)).toBe(0x81n);
    h.exec([0x40, 0x0f, 0xb6, 0xc7]);
    expect(h.reg(RAX)).toBe(0xffn);
  });
  it('45 0f b6 ca: movzx r9d, r10b', () => {
    const h = cpu64({ [R9]: M64, [R10]: 0xabcdn });
    h.exec([0x45, 0x0f, 0xb6, 0xca]);
    expect(h.reg(R9)).toBe(0xcdn);
  });
  it('66 0f b6 c7: movzx ax, bh merges into RAX', () => {
    const h = cpu64({ [RAX]: M64, [RBX]: 0x8000n });
    h.exec([0x66, 0x0f, 0xb6, 0xc7]);
    expect(h.reg(RAX)).toBe(0xffffffffffff0080n);
  });
  it('movzx from memory: byte and word to 64 bits', () => {
    const h = cpu64({ [RBX]: BigInt(DATA), [RAX]: M64 });
    wr64m(h, DATA, 0xfffffffffffff8f9n);
    h.exec([0x48, 0x0f, 0xb6, 0x03]);
    expect(h.reg(RAX)).toBe(0xf9n);
    h.exec([0x48, 0x0f, 0xb7, 0x03]);
    expect(h.reg(RAX)).toBe(0xf8f9n);
  });
  it('0f b7: movzx eax, cx', () => {
    const h = cpu64({ [RAX]: M64, [RCX]: 0xffff8001n });
    h.exec([0x0f, 0xb7, 0xc1]);
    expect(h.reg(RAX)).toBe(0x8001n);
  });
  it('0f be: movsx eax, bl / bh; 48 0f be: movsx rax, bl', () => {
    const h = cpu64({ [RAX]: 0n, [RBX]: 0x7f80n });
    h.exec([0x0f, 0xbe, 0xc3]);
    expect(h.reg(RAX)).toBe(0xffffff80n); // 32-bit destination: upper half zeroed
    h.exec([0x0f, 0xbe, 0xc7]);
    expect(h.reg(RAX)).toBe(0x7fn);
    h.exec([0x48, 0x0f, 0xbe, 0xc3]);
    expect(h.reg(RAX)).toBe(0xffffffffffffff80n);
  });
  it('66 0f be 03: movsx ax, byte [rbx]', () => {
    const h = cpu64({ [RBX]: BigInt(DATA), [RAX]: 0x1234567800000000n });
    h.mem.u8[DATA] = 0xfe;
    h.exec([0x66, 0x0f, 0xbe, 0x03]);
    expect(h.reg(RAX)).toBe(0x123456780000fffen);
  });
  it('0f bf: movsx eax, cx; 48 0f bf: movsx rax, word [rbx]', () => {
    const h = cpu64({ [RAX]: M64, [RCX]: 0x8000n, [RBX]: BigInt(DATA) });
    h.exec([0x0f, 0xbf, 0xc1]);
    expect(h.reg(RAX)).toBe(0xffff8000n);
    h.mem.view.setUint16(DATA, 0x9abc, true);
    h.exec([0x48, 0x0f, 0xbf, 0x03]);
    expect(h.reg(RAX)).toBe(0xffffffffffff9abcn);
  });
  it('48 63: movsxd rax, ecx / dword [rbx]; 4d 63: movsxd r8, r9d', () => {
    const h = cpu64({ [RCX]: 0x0000000180000000n, [RBX]: BigInt(DATA), [R9]: 0xffffffff7fffffffn });
    h.exec([0x48, 0x63, 0xc1]);
    expect(h.reg(RAX)).toBe(0xffffffff80000000n);
    h.mem.view.setUint32(DATA, 0x7fffffff, true);
    h.exec([0x48, 0x63, 0x03]);
    expect(h.reg(RAX)).toBe(0x7fffffffn);
    h.exec([0x4d, 0x63, 0xc1]);
    expect(h.reg(R8)).toBe(0x7fffffffn);
  });
});

describe('CBW/CWDE/CDQE and CWD/CDQ/CQO (SDM Vol. 2A)', () => {
  it('66 98 cbw: AX = sign-extended AL, bits 63:16 kept', () => {
    const h = cpu64({ [RAX]: 0x1234567812345680n });
    h.exec([0x66, 0x98]);
    expect(h.reg(RAX)).toBe(0x123456781234ff80n);
  });
  it('98 cwde: EAX = sign-extended AX, RAX[63:32] cleared', () => {
    const h = cpu64({ [RAX]: 0x1234567812348000n });
    h.exec([0x98]);
    expect(h.reg(RAX)).toBe(0xffff8000n);
    h.setReg(RAX, 0xffffffffffff7fffn);
    h.exec([0x98]);
    expect(h.reg(RAX)).toBe(0x7fffn);
  });
  it('48 98 cdqe: RAX = sign-extended EAX', () => {
    const h = cpu64({ [RAX]: 0x0000000080000000n });
    h.exec([0x48, 0x98]);
    expect(h.reg(RAX)).toBe(0xffffffff80000000n);
    h.setReg(RAX, 0xffffffff7fffffffn);
    h.exec([0x48, 0x98]);
    expect(h.reg(RAX)).toBe(0x7fffffffn);
  });
  it('66 99 cwd: DX = sign of AX, RDX[63:16] kept', () => {
    const h = cpu64({ [RAX]: 0x8000n, [RDX]: 0x1111111111111111n });
    h.exec([0x66, 0x99]);
    expect(h.reg(RDX)).toBe(0x111111111111ffffn);
    h.setReg(RAX, 0x7fffn);
    h.exec([0x66, 0x99]);
    expect(h.reg(RDX)).toBe(0x1111111111110000n);
  });
  it('99 cdq: EDX = sign of EAX, RDX[63:32] cleared', () => {
    const h = cpu64({ [RAX]: 0x80000000n, [RDX]: 0x1111111111111111n });
    h.exec([0x99]);
    expect(h.reg(RDX)).toBe(0xffffffffn);
    h.setReg(RAX, 0xffffffff7fffffffn);
    h.exec([0x99]);
    expect(h.reg(RDX)).toBe(0n);
  });
  it('48 99 cqo: RDX = sign of RAX', () => {
    const h = cpu64({ [RAX]: 0x8000000000000000n, [RDX]: 0n });
    h.exec([0x48, 0x99]);
    expect(h.reg(RDX)).toBe(M64);
    h.setReg(RAX, 0x7fffffffffffffffn);
    h.exec([0x48, 0x99]);
    expect(h.reg(RDX)).toBe(0n);
  });
});

describe('XCHG (SDM Vol. 2B XCHG, NOP)', () => {
  it('93: xchg ebx, eax zero-extends both; 48 93: xchg rbx, rax; 66 93: xchg bx, ax', () => {
    let h = cpu64({ [RAX]: 0xaaaaaaaa11111111n, [RBX]: 0xbbbbbbbb22222222n });
    h.exec([0x93]);
    expect(h.reg(RAX)).toBe(0x22222222n);
    expect(h.reg(RBX)).toBe(0x11111111n);
    h = cpu64({ [RAX]: 0xaaaaaaaa11111111n, [RBX]: 0xbbbbbbbb22222222n });
    h.exec([0x48, 0x93]);
    expect(h.reg(RAX)).toBe(0xbbbbbbbb22222222n);
    expect(h.reg(RBX)).toBe(0xaaaaaaaa11111111n);
    h = cpu64({ [RAX]: 0xaaaaaaaa11111111n, [RBX]: 0xbbbbbbbb22222222n });
    h.exec([0x66, 0x93]);
    expect(h.reg(RAX)).toBe(0xaaaaaaaa11112222n);
    expect(h.reg(RBX)).toBe(0xbbbbbbbb22221111n);
  });
  it('90 is NOP: RAX[63:32] is not cleared (host CPU: 0xffffffff12345678 stays)', () => {
    const h = cpu64({ [RAX]: 0xffffffff12345678n });
    h.exec([0x90]);
    expect(h.reg(RAX)).toBe(0xffffffff12345678n);
    h.exec([0x48, 0x90]);
    expect(h.reg(RAX)).toBe(0xffffffff12345678n);
    h.exec([0xf3, 0x90]); // PAUSE
    expect(h.reg(RAX)).toBe(0xffffffff12345678n);
  });
  it('87 c0 (xchg eax, eax via ModRM) does zero-extend RAX (host CPU: 0x12345678)', () => {
    const h = cpu64({ [RAX]: 0xffffffff12345678n });
    h.exec([0x87, 0xc0]);
    expect(h.reg(RAX)).toBe(0x12345678n);
  });
  it('41 90 is xchg r8d, eax (zero-extends both); 49 90 is xchg r8, rax (host CPU)', () => {
    let h = cpu64({ [RAX]: 0xaaaaaaaa11111111n, [R8]: 0xbbbbbbbb22222222n });
    h.exec([0x41, 0x90]);
    expect(h.reg(RAX)).toBe(0x22222222n);
    expect(h.reg(R8)).toBe(0x11111111n);
    h = cpu64({ [RAX]: 0xaaaaaaaa11111111n, [R8]: 0xbbbbbbbb22222222n });
    h.exec([0x49, 0x90]);
    expect(h.reg(RAX)).toBe(0xbbbbbbbb22222222n);
    expect(h.reg(R8)).toBe(0xaaaaaaaa11111111n);
  });
  it('86 e0: xchg al, ah; 40 86 c4: xchg spl, al', () => {
    const h = cpu64({ [RAX]: 0x1234n, [RSP]: 0x800ffn });
    h.exec([0x86, 0xe0]);
    expect(h.reg(RAX)).toBe(0x3412n);
    h.exec([0x40, 0x86, 0xc4]);
    expect(h.reg(RAX)).toBe(0x34ffn);
    expect(h.reg(RSP)).toBe(0x80012n);
  });
  it('xchg with memory: dword (register zero-extended), qword, byte with DH', () => {
    const h = cpu64({ [RBX]: BigInt(DATA), [RCX]: 0x9999999988888888n, [RDX]: 0x5a00n });
    wr64m(h, DATA, 0x7777777766666666n);
    h.exec([0x87, 0x0b]);
    expect(h.reg(RCX)).toBe(0x66666666n);
    expect(rd64(h, DATA)).toBe(0x7777777788888888n);
    h.setReg(RCX, 0x0102030405060708n);
    h.exec([0x48, 0x87, 0x0b]);
    expect(h.reg(RCX)).toBe(0x7777777788888888n);
    expect(rd64(h, DATA)).toBe(0x0102030405060708n);
    h.exec([0x86, 0x33]);
    expect(h.reg(RDX)).toBe(0x0800n);
    expect(rd64(h, DATA)).toBe(0x010203040506075an);
  });
});

describe('CMOVcc (SDM Vol. 2A CMOVcc)', () => {
  it('32-bit destination is zero-extended even when the condition is false (host CPU: 0x12345678)', () => {
    const h = cpu64({ [RAX]: 0xffffffff12345678n, [RBX]: 0x1111111111111111n });
    h.exec([0x39, 0xc0, 0x0f, 0x45, 0xc3]); // cmp eax, eax; cmovne eax, ebx
    expect(h.reg(RAX)).toBe(0x12345678n);
  });
  it('true condition moves 32 (zero-extended), 64 and 16 bits', () => {
    const h = cpu64({ [RAX]: M64, [RBX]: 0x1122334455667788n });
    h.exec([0x39, 0xc0, 0x66, 0x0f, 0x44, 0xc3]); // cmp; cmove ax, bx
    expect(h.reg(RAX)).toBe(0xffffffffffff7788n);
    h.exec([0x39, 0xc0, 0x0f, 0x44, 0xc3]); // cmove eax, ebx
    expect(h.reg(RAX)).toBe(0x55667788n);
    h.exec([0x39, 0xc0, 0x48, 0x0f, 0x44, 0xc3]); // cmove rax, rbx
    expect(h.reg(RAX)).toBe(0x1122334455667788n);
  });
  it('false condition leaves 64- and 16-bit destinations alone', () => {
    const h = cpu64({ [RAX]: 0xaaaaaaaaaaaaaaaan, [RBX]: 0x1122334455667788n });
    h.exec([0x39, 0xc0, 0x66, 0x0f, 0x45, 0xc3, 0x48, 0x0f, 0x45, 0xc3]);
    expect(h.reg(RAX)).toBe(0xaaaaaaaaaaaaaaaan);
  });
  it('memory source: cmovb rax, [rbx] with CF=1 loads 8 bytes', () => {
    const h = cpu64({ [RBX]: BigInt(DATA), [RAX]: 0n });
    wr64m(h, DATA, 0x8000000000000001n);
    h.exec([0xf9, 0x48, 0x0f, 0x42, 0x03]); // stc; cmovb rax, [rbx]
    expect(h.reg(RAX)).toBe(0x8000000000000001n);
  });
  it('the memory source is read even when the condition is false: #PF on a not-present page', () => {
    const h = cpu64({ [RBX]: 0x40000010n }); // linear 1 GiB+: PDPT entry 1 is not present in the harness tables
    setupIdt64(h);
    expect(runToHandler(h, [0x39, 0xc0, 0x0f, 0x45, 0x03])).toBe(14); // cmp eax,eax; cmovne eax,[rbx]
    expect(h.cpu.cr2).toBe(0x40000010);
    expect(stackQ(h, 0)).toBe(0n); // not present, read, supervisor
    expect(stackQ(h, 1)).toBe(BigInt(CODE + 2));
  });
  it('... and #GP(0) for a non-canonical source address when the condition is false', () => {
    const h = cpu64({ [RBX]: 0x0000800000000000n });
    setupIdt64(h);
    expect(runToHandler(h, [0x39, 0xc0, 0x0f, 0x45, 0x03])).toBe(13);
    expect(stackQ(h, 0)).toBe(0n);
  });
  it('all 16 conditions with a 32-bit register destination', () => {
    const h = cpu64();
    for (const fl of FLAG_STATES) {
      for (let cc = 0; cc < 16; cc++) {
        h.setReg(RAX, 0xffffffff00000001n); h.setReg(RBX, 0x22n);
        setArith(h.cpu, fl);
        h.exec([0x0f, 0x40 + cc, 0xc3]);
        expect(h.reg(RAX), `cc=${cc} flags=${fl.toString(16)}`).toBe(ccHolds(cc, fl) ? 0x22n : 1n);
      }
    }
  });
});

/** The condition codes as the SDM defines them (Vol. 1 Appendix B, Table B-1). */
function ccHolds(cc: number, f: number): boolean {
  const cf = !!(f & CF), zf = !!(f & ZF), sf = !!(f & SF), of = !!(f & OF), pf = !!(f & PF);
  const base = [of, cf, zf, cf || zf, sf, pf, sf !== of, zf || sf !== of][cc >> 1];
  return cc & 1 ? !base : base;
}
/** Hand-picked flag states covering every combination that distinguishes the 16 conditions. */
const FLAG_STATES = [0, CF, ZF, SF, OF, PF, CF | ZF, SF | OF, SF | ZF, OF | ZF, CF | SF | PF, AF, CF | PF | AF | ZF | SF | OF];

describe('SETcc (SDM Vol. 2B SETcc)', () => {
  it('all 16 conditions × 13 hand-chosen flag states (eager flags)', () => {
    const h = cpu64();
    for (const fl of FLAG_STATES) {
      for (let cc = 0; cc < 16; cc++) {
        h.setReg(RCX, 0xffffffffffffff55n);
        setArith(h.cpu, fl);
        h.exec([0x0f, 0x90 + cc, 0xc1]); // setcc cl
        expect(h.reg(RCX), `cc=${cc} flags=${fl.toString(16)}`).toBe(0xffffffffffffff00n | (ccHolds(cc, fl) ? 1n : 0n));
      }
    }
  });
  // Flags produced by CMP (lazy flags): a, b as signed 32-bit values; expected relations computed here.
  const pairs: [number, number][] = [[1, 2], [2, 1], [5, 5], [-1, 1], [1, -1], [0x7fffffff, -1], [-0x80000000, 1], [0, 0]];
  it.each(pairs)('after cmp %d, %d every condition matches the signed/unsigned relation', (a, b) => {
    const ua = a >>> 0, ub = b >>> 0;
    const diff = BigInt.asIntN(32, BigInt(a) - BigInt(b));
    const of = BigInt(a) - BigInt(b) !== diff; // signed overflow of the 32-bit subtraction
    const sf = diff < 0n;
    const par = (() => { let x = Number(BigInt.asUintN(8, diff)), p = 1; while (x) { p ^= x & 1; x >>= 1; } return p === 1; })();
    const expectCc = [of, !of, ua < ub, ua >= ub, a === b, a !== b, ua <= ub, ua > ub, sf, !sf, par, !par, a < b, a >= b, a <= b, a > b];
    const h = cpu64();
    for (let cc = 0; cc < 16; cc++) {
      h.setReg(RAX, BigInt(ua)); h.setReg(RBX, BigInt(ub)); h.setReg(RCX, 0n);
      h.exec([0x39, 0xd8, 0x0f, 0x90 + cc, 0xc1]); // cmp eax, ebx; setcc cl
      expect(h.reg(RCX), `cc=${cc}`).toBe(expectCc[cc] ? 1n : 0n);
    }
  });
  it('8-bit and 64-bit CMP feed the conditions too (cmp al, bl / cmp rax, rbx)', () => {
    const h = cpu64();
    const rel = (a: bigint, b: bigint, bits: number) => {
      const sa = BigInt.asIntN(bits, a), sb = BigInt.asIntN(bits, b), ua = BigInt.asUintN(bits, a), ub = BigInt.asUintN(bits, b);
      const d = sa - sb, of = d !== BigInt.asIntN(bits, d);
      const sf = BigInt.asIntN(bits, d) < 0n;
      let x = Number(BigInt.asUintN(8, d)), p = 1; while (x) { p ^= x & 1; x >>= 1; }
      return [of, !of, ua < ub, ua >= ub, ua === ub, ua !== ub, ua <= ub, ua > ub, sf, !sf, p === 1, p !== 1, sa < sb, sa >= sb, sa <= sb, sa > sb];
    };
    const cases: [bigint, bigint][] = [[0x80n, 0x7fn], [0x7fn, 0x80n], [0x8000000000000000n, 1n], [1n, 0x8000000000000000n], [0xffn, 0xffn], [0n, 0xffffffffffffffffn]];
    for (const [a, b] of cases) {
      const e8 = rel(a & 0xffn, b & 0xffn, 8), e64 = rel(a, b, 64);
      for (let cc = 0; cc < 16; cc++) {
        h.setReg(RAX, a); h.setReg(RBX, b); h.setReg(RCX, 0n);
        h.exec([0x38, 0xd8, 0x0f, 0x90 + cc, 0xc1]); // cmp al, bl; setcc cl
        expect(h.reg(RCX), `8-bit ${a} ${b} cc=${cc}`).toBe(e8[cc] ? 1n : 0n);
        h.setReg(RCX, 0n);
        h.exec([0x48, 0x39, 0xd8, 0x0f, 0x90 + cc, 0xc1]); // cmp rax, rbx; setcc cl
        expect(h.reg(RCX), `64-bit ${a} ${b} cc=${cc}`).toBe(e64[cc] ? 1n : 0n);
      }
    }
  });
  it('sete ah (no REX) vs sete sil (REX); sete byte [rbx]', () => {
    const h = cpu64({ [RAX]: 0xff00n, [RSI]: 0xffn, [RBX]: BigInt(DATA) });
    h.mem.u8[DATA] = 0x77; h.mem.u8[DATA + 1] = 0x66;
    setArith(h.cpu, 0);
    h.exec([0x0f, 0x94, 0xc4, 0x40, 0x0f, 0x94, 0xc6, 0x0f, 0x94, 0x03]);
    expect(h.reg(RAX)).toBe(0x0000n);
    expect(h.reg(RSI)).toBe(0x00n);
    expect(h.mem.u8[DATA]).toBe(0);
    expect(h.mem.u8[DATA + 1]).toBe(0x66);
  });
});

describe('SAHF / LAHF (SDM Vol. 2B; valid in 64-bit mode with CPUID.80000001H:ECX.LAHF-SAHF)', () => {
  it('sahf loads SF ZF AF PF CF from AH and leaves OF', () => {
    const h = cpu64({ [RAX]: 0xd500n });
    setArith(h.cpu, OF);
    h.exec([0x9e]);
    expect(h.rflags() & 0xfff).toBe(OF | SF | ZF | AF | PF | CF | 2);
  });
  it('sahf ignores AH bits 1, 3, 5 and clears the five flags for AH = 0x2a', () => {
    const h = cpu64({ [RAX]: 0x2a00n });
    setArith(h.cpu, SF | ZF | AF | PF | CF);
    h.exec([0x9e]);
    expect(h.rflags() & 0xfff).toBe(2);
  });
  it('lahf: AH = SF:ZF:0:AF:0:PF:1:CF (host CPU: flags 0x8d7 → 0xd7, flags 0 → 0x02)', () => {
    const h = cpu64({ [RAX]: 0xffffffffn });
    setArith(h.cpu, 0x8d7 & (CF | PF | AF | ZF | SF | OF));
    h.exec([0x9f]);
    expect(h.reg(RAX)).toBe(0xffffd7ffn);
    setArith(h.cpu, 0);
    h.exec([0x9f]);
    expect(h.reg(RAX)).toBe(0xffff02ffn);
  });
  it('lahf reads lazily computed flags: after cmp al, 1 with al = 0 (CF SF AF PF set)', () => {
    const h = cpu64({ [RAX]: 0n });
    h.exec([0x3c, 0x01, 0x9f]); // cmp al, 1; lahf
    // 0 - 1 = 0xff: CF=1 (borrow), SF=1, ZF=0, AF=1 (borrow from bit 4), PF=1 (eight 1 bits)
    expect(h.reg(RAX)).toBe(BigInt((SF | AF | PF | CF | 2) << 8));
  });
});

describe('XLAT (SDM Vol. 2B XLAT: AL = [rBX + unsigned AL])', () => {
  it('d7: AL indexes unsigned (0x80 → +128, host CPU)', () => {
    const h = cpu64({ [RBX]: BigInt(DATA), [RAX]: 0x1234567880n });
    for (let k = 0; k < 256; k++) h.mem.u8[DATA + k] = k ^ 0x5a;
    h.exec([0xd7]);
    expect(h.reg(RAX)).toBe(0x12345678dan);
  });
  it('67 d7: the 32-bit address size uses EBX (upper half ignored)', () => {
    const h = cpu64({ [RBX]: 0x12345678n << 32n | BigInt(DATA), [RAX]: 0x10n });
    h.mem.u8[DATA + 0x10] = 0xee;
    h.exec([0x67, 0xd7]);
    expect(h.reg(RAX)).toBe(0xeen);
  });
  it('a non-canonical rBX + AL is #GP(0)', () => {
    const h = cpu64({ [RBX]: 0x00007ffffffffff0n, [RAX]: 0x20n }); // 0x7ffffffffff0 + 0x20 = 2^47 + 0x10
    setupIdt64(h);
    expect(runToHandler(h, [0xd7])).toBe(13);
    expect(stackQ(h, 0)).toBe(0n);
  });
  it('64 d7: FS override adds FS.base', () => {
    const h = cpu64({ [RBX]: 0x100n, [RAX]: 0x3n });
    h.cpu.segBase[FS] = DATA;
    h.mem.u8[DATA + 0x103] = 0x42;
    h.exec([0x64, 0xd7]);
    expect(h.reg(RAX)).toBe(0x42n);
  });
});

describe('BSWAP (SDM Vol. 2A BSWAP)', () => {
  it('0f c8: bswap eax zero-extends; 48 0f c8: bswap rax', () => {
    const h = cpu64({ [RAX]: 0xffffffff11223344n });
    h.exec([0x0f, 0xc8]);
    expect(h.reg(RAX)).toBe(0x44332211n);
    h.setReg(RAX, 0x0102030405060708n);
    h.exec([0x48, 0x0f, 0xc8]);
    expect(h.reg(RAX)).toBe(0x0807060504030201n);
  });
  it('41 0f c9: bswap r9d; 49 0f ca: bswap r10', () => {
    const h = cpu64({ [R9]: 0xaaaaaaaa80000001n, [R10]: 0x8000000000000001n });
    h.exec([0x41, 0x0f, 0xc9, 0x49, 0x0f, 0xca]);
    expect(h.reg(R9)).toBe(0x01000080n);
    expect(h.reg(R10)).toBe(0x0100000000000080n);
  });
});

describe('MOV Sreg (SDM Vol. 2B MOV "Move to/from Segment Registers")', () => {
  it('8c d8: mov eax, ds zero-extends; 66 8c d0: mov ax, ss merges (host CPU)', () => {
    const h = cpu64({ [RAX]: M64 });
    h.cpu.segSel[DS] = 0x2b; h.cpu.segSel[SS] = 0x10;
    h.exec([0x8c, 0xd8]);
    expect(h.reg(RAX)).toBe(0x2bn);
    h.setReg(RAX, M64);
    h.exec([0x66, 0x8c, 0xd0]);
    expect(h.reg(RAX)).toBe(0xffffffffffff0010n);
  });
  it('48 8c e0: mov rax, fs; 8c 03: mov [rbx], es stores 16 bits only', () => {
    const h = cpu64({ [RAX]: M64, [RBX]: BigInt(DATA) });
    h.cpu.segSel[FS] = 0x33; h.cpu.segSel[ES] = 0x1234;
    wr64m(h, DATA, M64);
    h.exec([0x48, 0x8c, 0xe0, 0x8c, 0x03]);
    expect(h.reg(RAX)).toBe(0x33n);
    expect(rd64(h, DATA)).toBe(0xffffffffffff1234n);
  });
  it('8e d8: mov ds, ax loads the descriptor and sets its accessed bit (SDM Vol. 3A 3.4.5.1)', () => {
    const h = cpu64({ [RAX]: 0x10n });
    h.cpu.segSel[DS] = 0;
    h.exec([0x8e, 0xd8]);
    expect(h.cpu.segSel[DS]).toBe(0x10);
    // GDT entry 2 at 0x500 + 16: access byte 0x92 becomes 0x93.
    expect(h.mem.view.getUint32(0x500 + 0x14, true)).toBe(0x00cf9300);
  });
  it('8e 03: mov es, [rbx]; a null selector is allowed for ES in 64-bit mode', () => {
    const h = cpu64({ [RBX]: BigInt(DATA) });
    h.mem.view.setUint16(DATA, 0x0010, true);
    h.exec([0x8e, 0x03]);
    expect(h.cpu.segSel[ES]).toBe(0x10);
    h.mem.view.setUint16(DATA, 0, true);
    h.exec([0x8e, 0x03]);
    expect(h.cpu.segSel[ES]).toBe(0);
  });
  it('mov ds, ax with a selector beyond the GDT limit is #GP(selector)', () => {
    const h = cpu64({ [RAX]: 0x48n });
    setupIdt64(h);
    expect(runToHandler(h, [0x8e, 0xd8])).toBe(13);
    expect(stackQ(h, 0)).toBe(0x48n);
  });
  it('segment-load checks: mov ss with a code selector → #GP(sel); not-present data segment → #NP(sel); DPL 3 data into SS at CPL 0 → #GP(sel) (SDM Vol. 2B MOV)', () => {
    const h = cpu64({ [RAX]: 0x08n });
    setupIdt64(h);
    expect(runToHandler(h, [0x8e, 0xd0])).toBe(13);
    expect(stackQ(h, 0)).toBe(0x08n);
    // GDT entry 4 (0x20): data, not present; entry 5 (0x28): data, DPL 3
    h.mem.view.setUint32(0x500 + 0x20, 0x0000ffff, true); h.mem.view.setUint32(0x500 + 0x24, 0x00cf1200, true);
    h.mem.view.setUint32(0x500 + 0x28, 0x0000ffff, true); h.mem.view.setUint32(0x500 + 0x2c, 0x00cff200, true);
    h.cpu.gdtLimit = 0x2f;
    h.setReg(RAX, 0x20n); h.setReg(RSP, 0x80000n);
    expect(runToHandler(h, [0x8e, 0xd8])).toBe(11);
    expect(stackQ(h, 0)).toBe(0x20n);
    h.setReg(RAX, 0x2bn); h.setReg(RSP, 0x80000n);
    expect(runToHandler(h, [0x8e, 0xd0])).toBe(13);
    expect(stackQ(h, 0)).toBe(0x28n);
    h.setReg(RAX, 0x2bn); h.setReg(RSP, 0x80000n);
    expect(runToHandler(h, [0x8e, 0xd8])).toBe(-1); // DS may hold a DPL-3 data segment at CPL 0
    expect(h.cpu.segSel[DS]).toBe(0x2b);
  });
  it('0f b4 / 0f b5 / 0f b2: lfs, lgs, lss load offset then selector (m16:32, 66: m16:16, REX.W: m16:64) (SDM Vol. 2A LDS/LES/LFS/LGS/LSS)', () => {
    const h = cpu64({ [RBX]: BigInt(DATA), [RAX]: M64 });
    h.mem.view.setUint32(DATA, 0x12345678, true); h.mem.view.setUint16(DATA + 4, 0x10, true);
    h.cpu.segSel[FS] = 0;
    h.exec([0x0f, 0xb4, 0x03]); // lfs eax, [rbx]
    expect(h.cpu.segSel[FS]).toBe(0x10);
    expect(h.reg(RAX)).toBe(0x12345678n); // 32-bit destination zero-extends
    h.setReg(RCX, M64);
    h.mem.view.setUint16(DATA, 0xbeef, true); h.mem.view.setUint16(DATA + 2, 0x10, true);
    h.exec([0x66, 0x0f, 0xb5, 0x0b]); // lgs cx, [rbx]
    expect(h.reg(RCX)).toBe(0xffffffffffffbeefn);
    expect(h.cpu.segSel[5]).toBe(0x10); // GS
    wr64m(h, DATA, 0x1122334455667788n); h.mem.view.setUint16(DATA + 8, 0x10, true);
    h.cpu.segSel[SS] = 0x10;
    h.exec([0x48, 0x0f, 0xb2, 0x13]); // lss rdx, [rbx]
    expect(h.reg(RDX)).toBe(0x1122334455667788n);
    expect(h.cpu.segSel[SS]).toBe(0x10);
    expect(h.cpu.rip).toBe(CODE + 4);
  });
  it('lss with a code selector is #GP(selector) and leaves the register; the register form is #UD', () => {
    const h = cpu64({ [RBX]: BigInt(DATA), [RDX]: 0x77n });
    setupIdt64(h);
    h.mem.view.setUint32(DATA, 0x1000, true); h.mem.view.setUint16(DATA + 4, 0x08, true);
    expect(runToHandler(h, [0x0f, 0xb2, 0x13])).toBe(13);
    expect(stackQ(h, 0)).toBe(0x08n);
    expect(h.reg(RDX)).toBe(0x77n);
    h.setReg(RSP, 0x80000n);
    expect(runToHandler(h, [0x0f, 0xb4, 0xc0])).toBe(6);
  });
  it('8e c8 (mov cs, ax) is #UD', () => {
    const h = cpu64({ [RAX]: 0x08n });
    setupIdt64(h);
    expect(runToHandler(h, [0x8e, 0xc8])).toBe(6);
    expect(h.cpu.segSel[CS]).toBe(0x08);
  });
  it('8e d0: mov ss, ax loads SS and holds off an interrupt until after the next instruction (SDM Vol. 3A 6.8.3)', () => {
    const h = cpu64({ [RAX]: 0x10n });
    setupIdt64(h);
    h.cpu.segSel[SS] = 0;
    h.cpu.flags |= 0x200; // IF
    let pending = false;
    h.cpu.intr = { hasInterrupt: () => pending, acknowledge: () => { pending = false; return 0x30; } };
    h.mem.load(CODE, Uint8Array.from([0x8e, 0xd0, 0x90, 0x90, 0x90])); // mov ss, ax; nop; nop; nop
    h.cpu.flushDecodeCache();
    h.cpu.rip = CODE;
    step(h.cpu);
    expect(h.cpu.segSel[SS]).toBe(0x10);
    pending = true; h.cpu.checkEvents = true; // the interrupt line rises right after MOV SS
    step(h.cpu);
    expect(h.cpu.rip).toBe(CODE + 3); // the NOP after MOV SS ran inside the shadow
    step(h.cpu);
    expect(h.cpu.rip).toBe(HANDLERS + 0x30 * 16); // then the interrupt is taken
    expect(stackQ(h, 0)).toBe(BigInt(CODE + 3));
  });
  it('real mode: mov ds, ax sets DS.base = selector × 16 and later loads use it', () => {
    const h = makeCpu('real16');
    h.setReg(RAX, 0x2000n); h.setReg(RBX, 0x10n);
    h.mem.u8[0x20010] = 0x99;
    h.exec([0x8e, 0xd8, 0x8a, 0x07]); // mov ds, ax; mov al, [bx]
    expect(h.cpu.segBase[DS]).toBe(0x20000);
    expect(h.reg(RAX) & 0xffn).toBe(0x99n);
  });
});
