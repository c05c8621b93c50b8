// Image format detection: which loader an image goes to, a one-line description for --stats, and
// the test for plain static Linux executables.
//
// loadImage order:
//   1. opts.flatAddress given          -> flat binary (opts.flatMode, default real16)
//   2. valid multiboot v1 header       -> multiboot (32-bit protected mode entry)
//   3. a 0x1BADB002 magic with a bad checksum, and the file is not an ELF64 x86-64 image
//                                      -> ImageError naming the bad checksum
//   4. ELF magic                       -> direct ELF64 boot (long mode entry)
//   5. otherwise                       -> ImageError "not an ELF file and no multiboot header; ..."
// A command line or modules are only meaningful for multiboot kernels; passing a non-empty one
// with another kind of image is refused rather than silently dropped.

import { hasDirectBootNote } from './note.ts';
import type { PhysicalMemory } from '../memory/physical.ts';
import { ImageError, type BootState } from './types.ts';
import { hex } from './common.ts';
import { EM_386, EM_X86_64, ET_DYN, ET_EXEC, describeSegments, elfMachineName, elfTypeName, hasElfMagic, tryParseElf } from './elf.ts';
import { loadElf64 } from './elf64.ts';
import { loadFlat, type FlatMode } from './flat.ts';
import { findBadMultibootChecksum, findMultibootHeader, loadMultiboot, MB_FLAG_ADDRESS, type MultibootModule } from './multiboot.ts';

export interface LoadImageOptions {
  /** Load as a flat binary at this physical address. */
  flatAddress?: number;
  /** Mode for a flat binary (default real16); ignored unless flatAddress is given. */
  flatMode?: FlatMode;
  /** Multiboot kernel command line. */
  cmdline?: string;
  /** Multiboot boot modules. */
  modules?: readonly MultibootModule[];
}

export type ImageKind = 'multiboot' | 'elf' | 'raw' | 'empty';

export function detectImageKind(bytes: Uint8Array): ImageKind {
  if (bytes.length === 0) return 'empty';
  if (findMultibootHeader(bytes)) return 'multiboot';
  if (hasElfMagic(bytes)) return 'elf';
  return 'raw';
}

function isElf64X86(bytes: Uint8Array): boolean {
  return hasElfMagic(bytes) && bytes.length >= 20 && bytes[4] === 2 && bytes[5] === 1 && bytes[18] === EM_X86_64 && bytes[19] === 0;
}

export function loadImage(mem: PhysicalMemory, bytes: Uint8Array, opts: LoadImageOptions = {}): BootState {
  const kind = detectImageKind(bytes);
  const extras = (opts.modules?.length ?? 0) > 0 || (opts.cmdline ?? '') !== '';
  const refuseExtras = (what: string): void => {
    if (extras) throw new ImageError(`a command line and boot modules are only passed to multiboot kernels, not to ${what}`);
  };
  if (opts.flatAddress !== undefined) {
    refuseExtras('flat binaries');
    return loadFlat(mem, bytes, { address: opts.flatAddress, mode: opts.flatMode });
  }
  if (kind === 'empty') throw new ImageError('empty image (0 bytes)');
  if (kind === 'multiboot') return loadMultiboot(mem, bytes, { cmdline: opts.cmdline, modules: opts.modules });
  const bad = findBadMultibootChecksum(bytes);
  if (bad >= 0 && !isElf64X86(bytes)) {
    // The user clearly meant a multiboot kernel: say why it is not one.
    return loadMultiboot(mem, bytes, { cmdline: opts.cmdline, modules: opts.modules });
  }
  if (kind === 'elf') {
    refuseExtras('direct ELF64 boot');
    return loadElf64(mem, bytes);
  }
  throw new ImageError('not an ELF file and no multiboot header; use --flat ADDR for raw binaries');
}

/**
 * ELF64 x86-64 ET_EXEC, structurally valid, without PT_INTERP, without a multiboot header and
 * without the x86vmx direct-boot note (note.ts): a Linux program for the guest kernel. Never throws.
 */
export function isStaticLinuxElf(bytes: Uint8Array): boolean {
  if (findMultibootHeader(bytes) || hasDirectBootNote(bytes)) return false;
  const elf = tryParseElf(bytes, { machines: { 64: [EM_X86_64] }, types: [ET_EXEC], what: 'a static Linux executable' });
  return typeof elf !== 'string' && !elf.hasInterp;
}

function describeElf(bytes: Uint8Array): string {
  const elf = tryParseElf(bytes, { machines: { 32: [EM_386], 64: [EM_X86_64] }, types: [ET_EXEC, ET_DYN], what: 'this loader' });
  if (typeof elf === 'string') return `ELF file, not loadable: ${elf}`;
  return (
    `ELF${elf.elfClass} ${elfMachineName(elf.machine)} ${elfTypeName(elf.type)}, entry ${hex(elf.entry)}, ` +
    `${elf.segments.length} PT_LOAD segment(s) ${describeSegments(elf.segments)}` +
    (elf.hasInterp ? ', dynamically linked (PT_INTERP)' : ', no PT_INTERP')
  );
}

/** One line saying what the image is, for --stats and the debugger. Never throws. */
export function describeImage(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'empty image (0 bytes)';
  const mb = findMultibootHeader(bytes);
  if (mb) {
    const head = `multiboot v1 kernel (header at offset ${hex(mb.offset)}, flags ${hex(mb.flags >>> 0)})`;
    if (mb.flags & MB_FLAG_ADDRESS) {
      const a = mb.address;
      return a
        ? `${head}: address fields load_addr ${hex(a.loadAddr)}, load_end_addr ${hex(a.loadEndAddr)}, bss_end_addr ${hex(a.bssEndAddr)}, entry_addr ${hex(a.entryAddr)}`
        : `${head}: address fields truncated`;
    }
    return hasElfMagic(bytes) ? `${head}: ${describeElf(bytes)}` : `${head}: not an ELF file and no address fields`;
  }
  if (hasElfMagic(bytes)) {
    const d = describeElf(bytes);
    return isStaticLinuxElf(bytes) ? `${d}; static x86-64 Linux-style executable` : d;
  }
  const bad = findBadMultibootChecksum(bytes);
  const note = bad >= 0 ? `, multiboot magic with a bad checksum at offset ${hex(bad)}` : '';
  return `raw binary, ${bytes.length} bytes (no ELF magic, no multiboot header${note}; load with --flat ADDR)`;
}
