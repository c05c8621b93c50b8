// Segment access rights in the VMCS format (SDM Vol. 3C 24.4.1, Table 24-2): bits 3:0 type, 4 S,
// 6:5 DPL, 7 P, 11:8 reserved, 12 AVL, 13 L, 14 D/B, 15 G, 16 segment unusable, 31:17 reserved.
// cpu/ keeps bits 15:0 of the same layout in Cpu.segAttr (descriptor bits 40-55, with the limit
// nibble 11:8 cleared) and marks an unusable (null-selector) data segment by P = 0.
import { Cpu, CS, TR } from '../cpu/state.ts';

export const AR_UNUSABLE = 0x10000;
const A_P = 0x80;

/** Access rights of segment register `seg` as a VM exit saves them. */
export function arOf(c: Cpu, seg: number): number {
  const a = c.segAttr[seg] & 0xf0ff;
  if (seg === CS || seg === TR) return a; // always usable in VMX (SDM Vol. 3C 26.3.1.2)
  return (a & A_P) === 0 ? a | AR_UNUSABLE : a;
}

/** Cpu.segAttr value for VMCS access rights `ar` (an unusable segment keeps its bits with P = 0). */
export function attrOf(ar: number): number {
  return (ar & AR_UNUSABLE) !== 0 ? ar & 0xf07f : ar & 0xf0ff;
}
