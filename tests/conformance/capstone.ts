// capstone-wasm, typed. The package's "exports" map has no "types" condition, so TypeScript cannot
// find dist/index.d.ts through the package name; the runtime module is imported untyped and given the
// types of that file here. One disassembler handle for x86-64 is opened lazily and reused.
// @ts-ignore -- untyped through "exports"; typed by the cast below
import * as untyped from 'capstone-wasm';
import type * as Types from '../../node_modules/capstone-wasm/dist/index.d.ts';

const cs = untyped as unknown as typeof Types;

export interface CsResult { size: number; mnemonic: string; opStr: string }

let handle: InstanceType<typeof Types.Capstone> | null = null;

/** Load the wasm module and open a 64-bit x86 handle (idempotent). */
export async function openCapstone64(): Promise<void> {
  if (handle !== null) return;
  await cs.loadCapstone();
  handle = new cs.Capstone(cs.Const.CS_ARCH_X86, cs.Const.CS_MODE_64);
}

/** Capstone's decode of the first instruction in `bytes` (at address 0x1000), or null if invalid. */
export function capstoneDecode(bytes: Uint8Array): CsResult | null {
  if (handle === null) throw new Error('openCapstone64() first');
  let r: Types.Insn[];
  try {
    r = handle.disasm(bytes, { address: 0x1000, count: 1 });
  } catch {
    return null; // capstone throws when it cannot decode the first instruction
  }
  if (r.length === 0) return null;
  return { size: r[0].size, mnemonic: r[0].mnemonic, opStr: r[0].opStr };
}

export function capstoneVersion(): string {
  const v = cs.Capstone.version();
  return `${v.major}.${v.minor}`;
}
