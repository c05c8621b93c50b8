// Emulation of the instruction that caused an MMIO exit (an EPT violation or misconfiguration on a
// page with no RAM behind it), as KVM's instruction emulator does for MMIO: decode the guest's bytes,
// say what is stored (write) or how many bytes are loaded (read), and for a read apply the loaded
// value to the destination register. Only the plain moves compilers emit for device registers are
// handled; the memory access itself and RIP are the caller's.
import type { Cpu } from '../cpu/state.ts';
import '../cpu/opcodes.ts'; // registers the opcode tables that decodeBytes uses
import { decodeBytes } from '../cpu/decoder.ts';
import { get8, set8, set16, set32 } from '../cpu/regs.ts';

export type MmioSize = 1 | 2 | 4 | 8;

/**
 * `write`: store `size` bytes, value lo (bits 31:0) and hi (bits 63:32), both unsigned and with the
 * bits above `size` zero. `read`: load `size` bytes, then call `complete` with the value (bits above
 * `size` are ignored). `len` is the instruction length (0 when the buffer held no whole instruction).
 */
export type MmioOp =
  | { kind: 'write'; size: MmioSize; lo: number; hi: number; len: number }
  | { kind: 'read'; size: MmioSize; len: number; complete: (c: Cpu, lo: number, hi: number) => void }
  | { kind: 'unsupported'; len: number; name: string };

/**
 * Write `lo`/`hi` to general register `r` as a `size`-byte destination (SDM Vol. 1 3.4.1.1): 8- and
 * 16-bit writes leave the other bits alone, a 32-bit write zeroes bits 63:32. For size 1, `r` uses
 * the 8-bit encoding of regs.ts (20-23 = AH, CH, DH, BH).
 */
function writeReg(c: Cpu, r: number, size: MmioSize, lo: number, hi: number): void {
  switch (size) {
    case 1: set8(c, r, lo); return;
    case 2: set16(c, r, lo); return;
    case 4: set32(c, r, lo | 0); return;
    default: c.rl[r] = lo | 0; c.rh[r] = hi | 0;
  }
}

/** The low `size` bytes of a register as an unsigned lo/hi pair. */
function regValue(c: Cpu, r: number, size: MmioSize): { lo: number; hi: number } {
  switch (size) {
    case 1: return { lo: get8(c, r), hi: 0 };
    case 2: return { lo: c.rl[r] & 0xffff, hi: 0 };
    case 4: return { lo: c.rl[r] >>> 0, hi: 0 };
    default: return { lo: c.rl[r] >>> 0, hi: c.rh[r] >>> 0 };
  }
}

/**
 * Decode the instruction in `bytes` (decode mode `mode`, one of the MODE_* constants) and describe
 * its MMIO access. `c` holds the guest's general registers; only `complete` modifies them.
 * Supported: MOV 88/89/8A/8B (memory forms), A0-A3 (moffs), C6 /0, C7 /0, MOVZX 0F B6/B7 and
 * MOVSX 0F BE/BF (memory forms). Any other valid instruction is 'unsupported' with its mnemonic; an
 * invalid or truncated one is 'unsupported' named '(invalid)'.
 */
export function decodeMmio(c: Cpu, bytes: Uint8Array, mode: number): MmioOp {
  // The decoder records a #GP for an over-long (> 15 byte) instruction in the CPU's pending-exception
  // fields (fault.ts raise); keep the guest's CPU as it was.
  const sv = c.excVector, sc = c.excCode, sh = c.excHasCode;
  let r: ReturnType<typeof decodeBytes>;
  try { r = decodeBytes(c, bytes, mode); } finally { c.excVector = sv; c.excCode = sc; c.excHasCode = sh; }
  if (r === null) return { kind: 'unsupported', len: 0, name: '(invalid)' };
  const i = r.insn, len = i.len;
  if (!r.valid) return { kind: 'unsupported', len, name: '(invalid)' };
  const unsupported: MmioOp = { kind: 'unsupported', len, name: i.name };
  const opBytes = (i.opSize >> 3) as MmioSize; // 8-bit opcodes decode with opSize 8
  const reg = i.reg;
  const read = (size: MmioSize, apply: (c: Cpu, lo: number, hi: number) => void): MmioOp =>
    ({ kind: 'read', size, len, complete: apply });
  const write = (size: MmioSize, lo: number, hi: number): MmioOp => ({ kind: 'write', size, lo, hi, len });

  // A0-A3 have no ModRM byte; every other supported form must have a memory operand (mod != 3).
  const isMoffs = i.op >= 0xa0 && i.op <= 0xa3;
  if (!isMoffs && i.mod === 3) return unsupported;

  switch (i.op) {
    // MOV r/m, r and MOV moffs, AL/rAX: store the register (SDM Vol. 2B MOV).
    case 0x88: case 0x89: { const v = regValue(c, reg, opBytes); return write(opBytes, v.lo, v.hi); }
    case 0xa2: case 0xa3: { const v = regValue(c, 0, opBytes); return write(opBytes, v.lo, v.hi); }
    // MOV r/m, imm: the decoder sign-extends Ib/Iz into imm; with REX.W, imm32 is sign-extended to 64.
    case 0xc6: return write(1, i.imm & 0xff, 0);
    case 0xc7:
      if (opBytes === 2) return write(2, i.imm & 0xffff, 0);
      if (opBytes === 4) return write(4, i.imm >>> 0, 0);
      return write(8, i.imm >>> 0, (i.imm >> 31) >>> 0);
    // MOV r, r/m and MOV AL/rAX, moffs: load into the register.
    case 0x8a: case 0x8b: return read(opBytes, (cc, lo, hi) => writeReg(cc, reg, opBytes, lo, hi));
    case 0xa0: case 0xa1: return read(opBytes, (cc, lo, hi) => writeReg(cc, 0, opBytes, lo, hi));
    // MOVZX / MOVSX (SDM Vol. 2B): extend the byte or word to the operand size, then write it.
    case 0x1b6: return read(1, (cc, lo) => writeReg(cc, reg, opBytes, lo & 0xff, 0));
    case 0x1b7: return read(2, (cc, lo) => writeReg(cc, reg, opBytes, lo & 0xffff, 0));
    case 0x1be: return read(1, (cc, lo) => { const v = (lo << 24) >> 24; writeReg(cc, reg, opBytes, v, v >> 31); });
    case 0x1bf: return read(2, (cc, lo) => { const v = (lo << 16) >> 16; writeReg(cc, reg, opBytes, v, v >> 31); });
  }
  return unsupported;
}
