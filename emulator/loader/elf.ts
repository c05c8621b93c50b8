// ELF parsing for the loaders: our own structural checks around the `elfy` parser.
//
// elfy (node_modules/elfy/lib) is a small, trusting parser. What it does with bad input, and what
// this file does about it:
//   - it needs a Node Buffer (it calls buf.readUInt16LE, buf.slice().toString()): we wrap the
//     bytes in a zero-copy Buffer;
//   - parse() resolves section names and dereferences sections[e_shstrndx] unconditionally, so a
//     file without section headers (common for hand-built or stripped images) dies with a raw
//     TypeError. We never call parse(); we use Parser#parseHeader and Parser#parsePrograms, and
//     the loaders need no sections;
//   - it throws RangeError when a program header is shorter than the fields it reads
//     (e_phentsize too small), and a plain Error when the table runs past the end of the file:
//     both are checked here first, and anything it throws anyway becomes an ImageError;
//   - `data` of a program header is buf.slice(offset, offset + filesz), silently clamped at the
//     end of the file: we check p_offset + p_filesz against the file size ourselves;
//   - 64-bit fields are read as doubles (lo + hi * 2^32), exact only below 2^53: every value we
//     use is checked to be a safe integer, and the two fields that can legitimately be huge in a
//     64-bit kernel (e_entry and p_vaddr of a higher-half kernel) are read exactly, as BigInt.

import { Buffer } from 'node:buffer';
import elfy from 'elfy';
import type { ElfyProgram } from 'elfy';
import { ImageError } from './types.ts';
import { hex } from './common.ts';

export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_386 = 3;
export const EM_X86_64 = 62;
export const PT_LOAD = 1;
export const PT_INTERP = 3;

const TYPE_NAMES: Record<number, string> = { 0: 'ET_NONE', 1: 'ET_REL', 2: 'ET_EXEC', 3: 'ET_DYN', 4: 'ET_CORE' };
const MACHINE_NAMES: Record<number, string> = { 3: 'EM_386', 8: 'EM_MIPS', 20: 'EM_PPC', 21: 'EM_PPC64', 40: 'EM_ARM', 62: 'EM_X86_64', 183: 'EM_AARCH64', 243: 'EM_RISCV' };

export function elfTypeName(t: number): string {
  return TYPE_NAMES[t] ?? `type ${t}`;
}
export function elfMachineName(m: number): string {
  return MACHINE_NAMES[m] ? `${MACHINE_NAMES[m]} (${m})` : `machine ${m}`;
}

export interface LoadSegment {
  /** Index of the program header. */
  index: number;
  offset: number;
  filesz: number;
  memsz: number;
  paddr: number;
  /** Exact p_vaddr (may be a higher-half address beyond 2^53). */
  vaddr: bigint;
  /** 'rwx' style, '-' for missing permissions. */
  perms: string;
  /** The segment's file bytes (length filesz), a view into the image. */
  data: Uint8Array;
}

export interface ElfImage {
  elfClass: 32 | 64;
  type: number;
  machine: number;
  /** Exact e_entry. */
  entry: bigint;
  /** PT_LOAD headers with p_memsz > 0, in program-header order. */
  segments: LoadSegment[];
  hasInterp: boolean;
  phnum: number;
}

export interface ElfExpectation {
  /** Accepted classes, each with its accepted machines. */
  machines: Partial<Record<32 | 64, readonly number[]>>;
  types: readonly number[];
  /** Who is asking, for messages: "direct ELF64 boot". */
  what: string;
}

export function hasElfMagic(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

function segName(i: number): string {
  return `PT_LOAD segment ${i}`;
}

/**
 * Parse and check an ELF file's header and program headers. Checks only what the file says about
 * itself (placement in RAM is the caller's job). Throws ImageError naming the failed check.
 */
export function parseElf(bytes: Uint8Array, expect: ElfExpectation): ElfImage {
  const n = bytes.length;
  if (n === 0) throw new ImageError('empty image (0 bytes)');
  if (n < 16) throw new ImageError(`truncated ELF identification: the file is ${n} bytes, e_ident needs 16`);
  if (!hasElfMagic(bytes)) {
    const got = Array.from(bytes.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
    throw new ImageError(`bad ELF magic: expected 7f 45 4c 46, found ${got}`);
  }
  const cls = bytes[4];
  if (cls !== 1 && cls !== 2) throw new ImageError(`bad ELF class ${cls}: EI_CLASS must be 1 (ELF32) or 2 (ELF64)`);
  const elfClass: 32 | 64 = cls === 1 ? 32 : 64;
  const machines = expect.machines[elfClass];
  if (!machines) {
    const ok = ([32, 64] as const).filter((c) => expect.machines[c]).map((c) => `ELF${c}`).join(' or ');
    throw new ImageError(`wrong ELF class: ELF${elfClass}, ${expect.what} needs ${ok}`);
  }
  if (bytes[5] !== 1) throw new ImageError(`wrong ELF data encoding ${bytes[5]}: only little-endian (EI_DATA = 1) is supported`);
  if (bytes[6] !== 1) throw new ImageError(`bad ELF identification version ${bytes[6]}: EI_VERSION must be 1`);
  const ehsize = elfClass === 64 ? 64 : 52;
  if (n < ehsize) throw new ImageError(`truncated ELF header: the file is ${n} bytes, the ELF${elfClass} header needs ${ehsize}`);

  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  const version = dv.getUint32(20, true);
  if (!expect.types.includes(type)) {
    throw new ImageError(`wrong ELF type ${elfTypeName(type)}: ${expect.what} needs ${expect.types.map(elfTypeName).join(' or ')}`);
  }
  if (!machines.includes(machine)) {
    throw new ImageError(`wrong ELF machine ${elfMachineName(machine)}: ${expect.what} needs ${machines.map(elfMachineName).join(' or ')} for ELF${elfClass}`);
  }
  if (version !== 1) throw new ImageError(`bad ELF version: e_version is ${version}, must be 1`);

  const entry = elfClass === 64 ? dv.getBigUint64(24, true) : BigInt(dv.getUint32(24, true));
  const phoff = elfClass === 64 ? dv.getBigUint64(32, true) : BigInt(dv.getUint32(28, true));
  const phentsize = dv.getUint16(elfClass === 64 ? 54 : 42, true);
  const phnum = dv.getUint16(elfClass === 64 ? 56 : 44, true);
  if (phnum === 0) throw new ImageError('no program headers: e_phnum is 0');
  if (phnum === 0xffff) throw new ImageError('e_phnum is 0xffff (PN_XNUM extended numbering), not supported');
  if (phoff === 0n) throw new ImageError('program header table offset e_phoff is 0');
  const want = elfClass === 64 ? 56 : 32;
  if (phentsize !== want) throw new ImageError(`bad e_phentsize ${phentsize}: ELF${elfClass} program headers are ${want} bytes`);
  const tableEnd = phoff + BigInt(phnum * phentsize);
  if (tableEnd > BigInt(n)) {
    throw new ImageError(`program header table [${hex(phoff)}, ${hex(tableEnd)}) extends beyond the end of the file (${n} bytes)`);
  }

  // The header and table are sane: let elfy parse the program headers.
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let programs: ElfyProgram[];
  try {
    const parser = new elfy.Parser();
    const header = parser.parseHeader(buf);
    programs = parser.parsePrograms(buf, header);
  } catch (e) {
    throw new ImageError(`ELF parser (elfy) failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (programs.length !== phnum) {
    throw new ImageError(`ELF parser (elfy) returned ${programs.length} program headers, e_phnum says ${phnum}`);
  }

  const segments: LoadSegment[] = [];
  let hasInterp = false;
  const tableStart = Number(phoff);
  for (let i = 0; i < phnum; i++) {
    const base = tableStart + i * phentsize;
    const ptype = dv.getUint32(base, true);
    if (ptype === PT_INTERP) hasInterp = true;
    if (ptype !== PT_LOAD) continue;
    const p = programs[i];
    for (const field of ['offset', 'filesz', 'memsz', 'paddr'] as const) {
      if (!Number.isSafeInteger(p[field]) || p[field] < 0) {
        throw new ImageError(`${segName(i)}: p_${field} ${hex(exactField(dv, base, elfClass, field))} is too large`);
      }
    }
    if (p.filesz > p.memsz) {
      throw new ImageError(`${segName(i)}: p_filesz ${hex(p.filesz)} is larger than p_memsz ${hex(p.memsz)}`);
    }
    if (p.offset + p.filesz > n) {
      throw new ImageError(`${segName(i)}: file bytes [${hex(p.offset)}, ${hex(p.offset + p.filesz)}) extend beyond the end of the file (${n} bytes)`);
    }
    if (p.memsz === 0) continue;
    if (p.data.length !== p.filesz) {
      throw new ImageError(`${segName(i)}: ELF parser (elfy) returned ${p.data.length} file bytes, p_filesz says ${p.filesz}`);
    }
    const perms = (p.flags.r ? 'r' : '-') + (p.flags.w ? 'w' : '-') + (p.flags.x ? 'x' : '-');
    segments.push({
      index: i,
      offset: p.offset,
      filesz: p.filesz,
      memsz: p.memsz,
      paddr: p.paddr,
      vaddr: exactField(dv, base, elfClass, 'vaddr'),
      perms,
      data: new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.length),
    });
  }
  if (segments.length === 0) throw new ImageError('no loadable segments: no PT_LOAD program header with p_memsz > 0');
  return { elfClass, type, machine, entry, segments, hasInterp, phnum };
}

const OFF64 = { offset: 8, vaddr: 16, paddr: 24, filesz: 32, memsz: 40 } as const;
const OFF32 = { offset: 4, vaddr: 8, paddr: 12, filesz: 16, memsz: 20 } as const;

function exactField(dv: DataView, base: number, elfClass: 32 | 64, f: keyof typeof OFF64): bigint {
  return elfClass === 64 ? dv.getBigUint64(base + OFF64[f], true) : BigInt(dv.getUint32(base + OFF32[f], true));
}

/** '[0x100000, 0x101000) r-x, ...' for descriptions. */
export function describeSegments(segments: readonly LoadSegment[]): string {
  return segments
    .map((s) => `[${hex(s.paddr)}, ${hex(s.paddr + s.memsz)}) ${s.perms}${s.filesz < s.memsz ? ` (file ${hex(s.filesz)})` : ''}`)
    .join(', ');
}

/** Never throws: the parsed image or the ImageError message. */
export function tryParseElf(bytes: Uint8Array, expect: ElfExpectation): ElfImage | string {
  try {
    return parseElf(bytes, expect);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
