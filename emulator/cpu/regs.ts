// Register-file accessors for 8/16/32/64-bit operands. 8-bit register numbers: 0-15 are the low
// bytes (AL..R15B); 20-23 are AH, CH, DH, BH (only encodable without REX, SDM Vol. 2A 2.2.1.2).
// 20-23 keep the ModRM field in bits 2:0, so group opcodes can read the extension as reg & 7.
import type { Cpu } from './state.ts';

export function get8(c: Cpu, r: number): number {
  return r < 16 ? c.rl[r] & 0xff : (c.rl[r - 20] >> 8) & 0xff;
}
export function set8(c: Cpu, r: number, v: number): void {
  if (r < 16) c.rl[r] = (c.rl[r] & ~0xff) | (v & 0xff);
  else c.rl[r - 20] = (c.rl[r - 20] & ~0xff00) | ((v & 0xff) << 8);
}
export function get16(c: Cpu, r: number): number { return c.rl[r] & 0xffff; }
export function set16(c: Cpu, r: number, v: number): void { c.rl[r] = (c.rl[r] & ~0xffff) | (v & 0xffff); }
/** 32-bit writes zero the upper half in 64-bit mode (SDM Vol. 1 3.4.1.1); harmless elsewhere. */
export function set32(c: Cpu, r: number, v: number): void { c.rl[r] = v; c.rh[r] = 0; }
export function set64(c: Cpu, r: number, lo: number, hi: number): void { c.rl[r] = lo; c.rh[r] = hi; }

/** Map a decoded 8-bit register field to the register-file encoding above. */
export function reg8(n: number, rex: number): number {
  return rex === 0 && n >= 4 && n < 8 ? n + 16 : n;
}

export const REG64_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
