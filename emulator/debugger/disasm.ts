// Disassembly for the debugger through capstone-wasm (Intel syntax). The package's "exports" map has
// no "types" condition, so the module is imported untyped and given the types of its index.d.ts.
// @ts-ignore -- untyped through "exports"; typed by the cast below
import * as untyped from 'capstone-wasm';
import type * as Types from '../../node_modules/capstone-wasm/dist/index.d.ts';

const cs = untyped as unknown as typeof Types;
type Handle = InstanceType<typeof Types.Capstone>;

export interface Decoded { size: number; text: string }

let loaded: Promise<void> | null = null;
const handles = new Map<number, Handle>();

/** Load the wasm module once (idempotent); disassemble() needs it. */
export function loadDisassembler(): Promise<void> {
  loaded ??= cs.loadCapstone();
  return loaded;
}

/** Decode the first instruction of `bytes` at `address` for a 16-, 32- or 64-bit code segment; null if invalid. */
export function disassemble(bytes: Uint8Array, address: number, bits: 16 | 32 | 64): Decoded | null {
  let h = handles.get(bits);
  if (h === undefined) {
    const mode = bits === 64 ? cs.Const.CS_MODE_64 : bits === 32 ? cs.Const.CS_MODE_32 : cs.Const.CS_MODE_16;
    h = new cs.Capstone(cs.Const.CS_ARCH_X86, mode);
    handles.set(bits, h);
  }
  const addr = address < 0 ? BigInt(address) + (1n << 64n) : BigInt(address);
  let r: Types.Insn[];
  try {
    r = h.disasm(bytes, { address: addr, count: 1 });
  } catch {
    return null; // capstone throws when it cannot decode the first instruction
  }
  if (r.length === 0) return null;
  return { size: r[0].size, text: r[0].opStr ? `${r[0].mnemonic} ${r[0].opStr}` : r[0].mnemonic };
}
