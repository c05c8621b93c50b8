// Exceptions unwind with one preallocated sentinel (ARCHITECTURE.md): the raiser records vector and
// error code in the CPU, throws FAULT, and the run loop catches it and delivers the exception.
import type { Cpu } from './state.ts';

export const FAULT: { readonly tag: 'x86vmx-fault' } = Object.freeze({ tag: 'x86vmx-fault' as const });

// Exception vectors (SDM Vol. 3A 6.3.1, Table 6-1).
export const DE = 0, DB = 1, NMI = 2, BP = 3, OFV = 4, BR = 5, UD = 6, NM = 7, DF = 8, TS = 10, NP = 11,
  SSV = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19;

/** Vectors that push an error code (SDM Vol. 3A 6.13). */
export function pushesErrorCode(v: number): boolean {
  return v === DF || v === TS || v === NP || v === SSV || v === GP || v === PF || v === AC;
}

export function raise(c: Cpu, vector: number, code: number): never {
  c.excVector = vector;
  c.excCode = code;
  c.excHasCode = pushesErrorCode(vector);
  throw FAULT;
}

export function ud(c: Cpu): never { return raise(c, UD, 0); }
export function gp(c: Cpu, code: number): never { return raise(c, GP, code); }
export function gp0(c: Cpu): never { return raise(c, GP, 0); }
export function ss0(c: Cpu): never { return raise(c, SSV, 0); }
export function nm(c: Cpu): never { return raise(c, NM, 0); }
export function de(c: Cpu): never { return raise(c, DE, 0); }

/** #PF: CR2 is written when the exception is delivered (pfAddr holds it until then). */
export function pf(c: Cpu, lin: number, code: number): never {
  c.pfAddr = lin;
  return raise(c, PF, code);
}
