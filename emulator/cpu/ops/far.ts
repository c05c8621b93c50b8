// PLACEHOLDER (the system-instructions family replaces this file): far transfers raise #UD.
import type { Cpu } from '../state.ts';
import type { Insn } from '../insn.ts';
import { ud } from '../fault.ts';
export function jmpFar(c: Cpu, i: Insn, sel: number, offset: number): void { void i; void sel; void offset; ud(c); }
export function callFar(c: Cpu, i: Insn, sel: number, offset: number): void { void i; void sel; void offset; ud(c); }
