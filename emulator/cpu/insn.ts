// A decoded instruction. Created once at decode time and cached by physical address (decode.ts);
// the handler was chosen at decode time for its operand size and register/memory form.
import type { Cpu } from './state.ts';

export type Handler = (c: Cpu, i: Insn) => void;
/** Computes the linear address of the memory operand (segment base included, canonical-checked). */
export type EaFn = (c: Cpu, i: Insn) => number;

export class Insn {
  exec: Handler;
  ea: EaFn;
  /** Length in bytes. */
  len = 0;
  /** Decode mode the instruction was decoded in (Cpu.mode). */
  mode = 0;
  /** Opcode: 0x000-0x0FF one-byte map, 0x100-0x1FF 0F map, 0x200-0x2FF 0F38, 0x300-0x3FF 0F3A. */
  op = 0;
  /** Operand size in bits: 8, 16, 32 or 64. */
  opSize = 32;
  /** Address size in bits: 16, 32 or 64. */
  addrSize = 32;
  mod = 0;
  /** ModRM.reg with REX.R; for 8-bit operands see reg8 encoding (regs.ts). */
  reg = 0;
  /** ModRM.rm with REX.B (a register number when mod == 3). */
  rm = 0;
  /** Base register (0-15), 16 for RIP-relative, -1 for none. */
  base = -1;
  /** Index register (0-15) or -1. */
  index = -1;
  scale = 0;
  /** Displacement, sign-extended. */
  disp = 0;
  /** Effective segment of the memory operand (ES..GS). */
  seg = 3;
  /** Segment override prefix given (-1 none). */
  segOverride = -1;
  imm = 0;
  immHi = 0;
  imm2 = 0;
  /** 0, 0xF3 (REP/REPE) or 0xF2 (REPNE) as last given. */
  rep = 0;
  lock = false;
  rex = 0;
  /** Mandatory-prefix selector for SSE: 0 none, 0x66, 0xF3, 0xF2. */
  mandatory = 0;
  /** Mnemonic for statistics and errors. */
  name = '';

  constructor(exec: Handler, ea: EaFn) {
    this.exec = exec;
    this.ea = ea;
  }
}
