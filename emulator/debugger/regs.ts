// Register display and modification for the debugger.
import type { Cpu } from '../cpu/state.ts';
import { ES, CS, SS, DS, FS, GS } from '../cpu/state.ts';
import { getRflags } from '../cpu/flags.ts';

/** General registers in encoding order (SDM Vol. 2A Table 2-2). */
export const GPR_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
/** RFLAGS bits shown by name (SDM Vol. 1 3.4.3). */
const FLAG_BITS: [string, number][] = [['CF', 0], ['PF', 2], ['AF', 4], ['ZF', 6], ['SF', 7], ['TF', 8], ['IF', 9], ['DF', 10], ['OF', 11]];
const SEGS: [string, number][] = [['CS', CS], ['DS', DS], ['ES', ES], ['FS', FS], ['GS', GS], ['SS', SS]];

const h16 = (hi: number, lo: number) => (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
/** A non-negative double below 2^64 or a sign-extended negative one, as 16 hex digits. */
export const hex64 = (v: number) => (v < 0 ? BigInt(v) + (1n << 64n) : BigInt(v)).toString(16).padStart(16, '0');

export function flagNames(rflags: number): string {
  return FLAG_BITS.filter(([, b]) => rflags & (1 << b)).map(([n]) => n).join(' ');
}

export function formatRegs(c: Cpu): string {
  const lines: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    const a = GPR_NAMES[i].toUpperCase().padEnd(3), b = GPR_NAMES[i + 1].toUpperCase().padEnd(3);
    lines.push(`${a}=${h16(c.rh[i], c.rl[i])}  ${b}=${h16(c.rh[i + 1], c.rl[i + 1])}`);
  }
  const fl = getRflags(c);
  lines.push(`RIP=${hex64(c.rip)}  RFLAGS=${hex64(fl)} [ ${flagNames(fl)} ]`);
  for (const [n, s] of SEGS) {
    lines.push(`${n}=${(c.segSel[s] & 0xffff).toString(16).padStart(4, '0')} base=${hex64(c.segBase[s])} limit=${(c.segLimit[s] >>> 0).toString(16).padStart(8, '0')} attr=${(c.segAttr[s] & 0xffff).toString(16).padStart(4, '0')}`);
  }
  lines.push(`CR0=${hex64(c.cr0 >>> 0)}  CR2=${hex64(c.cr2)}  CR3=${hex64(c.cr3)}`);
  lines.push(`CR4=${hex64(c.cr4 >>> 0)}  EFER=${hex64(c.efer >>> 0)}`);
  return lines.join('\n');
}

/**
 * Set a general register or RIP to a 64-bit value; returns an error message or null. RIP is kept
 * sign-extended (state.ts) and must be canonical.
 */
export function setRegister(c: Cpu, name: string, value: bigint): string | null {
  const n = name.toLowerCase().replace(/^\$/, '');
  if (value < 0n || value >= 1n << 64n) return `value out of range for ${n}: must fit in 64 bits`;
  if (n === 'rip') {
    const s = value >= 1n << 63n ? value - (1n << 64n) : value;
    if (s < -(1n << 47n) || s >= 1n << 47n) return `not a canonical address: 0x${value.toString(16)}`;
    c.rip = Number(s);
    return null;
  }
  const r = GPR_NAMES.indexOf(n);
  if (r < 0) return `unknown register "${name}" (rax…r15, rip)`;
  c.rl[r] = Number(value & 0xffffffffn) | 0;
  c.rh[r] = Number(value >> 32n) | 0;
  return null;
}

/** A register's value as an unsigned bigint (for addresses like $rsp), or undefined. */
export function getRegister(c: Cpu, name: string): bigint | undefined {
  const n = name.toLowerCase();
  if (n === 'rip') return BigInt(c.rip) & ((1n << 64n) - 1n);
  const r = GPR_NAMES.indexOf(n);
  if (r < 0) return undefined;
  return (BigInt(c.rh[r] >>> 0) << 32n) | BigInt(c.rl[r] >>> 0);
}
