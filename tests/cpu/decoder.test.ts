// Decoder-level rules found by the capstone comparison (tests/conformance/decoder.test.ts), stated
// here from the SDM so they hold independently of capstone: the LOCK rule, the lengths of UD0/UD1,
// and instructions the decoder did not know (INT1, RSM, LSS/LFS/LGS).
import { describe, it, expect } from 'vitest';
import { PhysicalMemory } from '../../emulator/memory/physical.ts';
import { IoBus } from '../../emulator/memory/iobus.ts';
import { Cpu, MODE_LONG64 } from '../../emulator/cpu/state.ts';
import '../../emulator/cpu/opcodes.ts';
import { decodeBytes } from '../../emulator/cpu/decoder.ts';

const cpu = new Cpu(new PhysicalMemory(1 << 16), new IoBus());
function dec(...b: number[]): { valid: boolean; len: number; name: string } {
  const buf = new Uint8Array(16);
  buf.set(b);
  const r = decodeBytes(cpu, buf, MODE_LONG64)!;
  return { valid: r.valid, len: r.insn.len, name: r.insn.name };
}

describe('LOCK (SDM Vol. 2A LOCK: only ADD ADC AND BTC BTR BTS CMPXCHG CMPXCHG8B/16B DEC INC NEG NOT OR SBB SUB XOR XADD XCHG, memory destination; else #UD)', () => {
  it('is accepted on the listed instructions with a memory destination', () => {
    for (const b of [[0x01, 0x00], [0x00, 0x00], [0x29, 0x00], [0x31, 0x00], [0x80, 0x00, 1], [0x83, 0x30, 1], [0x86, 0x00], [0x87, 0x00],
      [0xf6, 0x10], [0xf7, 0x18], [0xfe, 0x00], [0xff, 0x08], [0x0f, 0xab, 0x00], [0x0f, 0xba, 0x28, 1], [0x0f, 0xb1, 0x00],
      [0x0f, 0xc1, 0x00], [0x0f, 0xc7, 0x08]]) {
      expect(dec(0xf0, ...b).valid, b.map((x) => x.toString(16)).join(' ')).toBe(true);
    }
  });
  it('is #UD on other instructions, register destinations, CMP/BT/TEST, and the other group members; the length is still the instruction\'s', () => {
    const cases: [number[], number][] = [
      [[0x0f, 0xa2], 3], [[0x90], 2], [[0xa4], 2], [[0xab], 2], [[0xe4, 0x10], 3], [[0x6c], 2],
      [[0xa8, 0x01], 3], [[0x88, 0x00], 3], [[0x03, 0x00], 3], [[0x01, 0xc0], 3], [[0x39, 0x00], 3], [[0x80, 0x38, 1], 4],
      [[0x0f, 0xa3, 0x00], 4], [[0x0f, 0xba, 0x20, 1], 5], [[0x86, 0xc0], 3], [[0xff, 0x10], 3], [[0xf7, 0x00, 1, 2, 3, 4], 7],
      [[0x0f, 0xc7, 0x30], 4], [[0x0f, 0x1f, 0x00], 4], [[0x0f, 0x01, 0x10], 4], [[0x0f, 0x20, 0xc0], 4], [[0xc3], 2],
    ];
    for (const [b, len] of cases) {
      const d = dec(0xf0, ...b);
      expect(d.valid, b.map((x) => x.toString(16)).join(' ')).toBe(false);
      expect(d.len, b.map((x) => x.toString(16)).join(' ')).toBe(len);
    }
  });
});

describe('instructions the comparison found missing or mis-sized', () => {
  it('UD0 (0F FF /r) and UD1 (0F B9 /r) take a ModR/M byte with its SIB/displacement (SDM Vol. 2B UD)', () => {
    expect(dec(0x0f, 0xff, 0xc0)).toMatchObject({ valid: true, len: 3, name: 'ud0' });
    expect(dec(0x0f, 0xb9, 0x84, 0x24, 1, 2, 3, 4)).toMatchObject({ valid: true, len: 8, name: 'ud1' });
    expect(dec(0x0f, 0x0b)).toMatchObject({ valid: true, len: 2, name: 'ud2' });
  });
  it('INT1 (F1) is one byte; RSM (0F AA) two; LSS/LFS/LGS take ModR/M (SDM Vol. 2A/2B)', () => {
    expect(dec(0xf1)).toMatchObject({ valid: true, len: 1 });
    expect(dec(0x0f, 0xaa)).toMatchObject({ valid: true, len: 2, name: 'rsm' });
    expect(dec(0x0f, 0xb2, 0x05, 1, 2, 3, 4)).toMatchObject({ valid: true, len: 7 });
    expect(dec(0x48, 0x0f, 0xb4, 0x03)).toMatchObject({ valid: true, len: 4 });
    expect(dec(0x66, 0x0f, 0xb5, 0x43, 0x10)).toMatchObject({ valid: true, len: 5 });
    expect(dec(0x0f, 0xb2, 0xc0).valid).toBe(false); // register operand: #UD
  });
  it('66 with near branches is ignored in 64-bit mode: rel32 stays 4 bytes (SDM Vol. 2A Jcc/JMP/CALL, Table A-1 f64)', () => {
    expect(dec(0x66, 0x0f, 0x80, 1, 2, 3, 4).len).toBe(7);
    expect(dec(0x66, 0xe8, 1, 2, 3, 4).len).toBe(6);
    expect(dec(0x66, 0x48, 0xc2, 1, 2).len).toBe(5); // RET imm16 is always 2 bytes of immediate
  });
  it('with 66 and F2/F3 both present, F2/F3 selects the SSE instruction whatever the order (SDM Vol. 2A POPCNT r16, CRC32 r/m16)', () => {
    expect(dec(0x66, 0xf3, 0x0f, 0xb8, 0xc0)).toMatchObject({ valid: true, len: 5 });
    expect(dec(0xf3, 0x26, 0x66, 0x4a, 0x0f, 0x73, 0xf6, 0xbc).valid).toBe(false); // F3 0F 73: no instruction
    expect(dec(0xf2, 0x66, 0x0f, 0x58, 0xc0).name).toBe('addsd');
  });
});
