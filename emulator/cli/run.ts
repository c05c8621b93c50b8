// `x86vmx run IMAGE`: boot an image, stream its serial output to stdout, exit with its status.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine, BufferedSerial, STOP_NAMES, type RunResult } from '../machine/machine.ts';
import { StopReason } from '../cpu/state.ts';
import { ImageError, describeImage, isStaticLinuxElf, hasDirectBootNote, findMultibootHeader } from '../loader/index.ts';
import { parseArgs, intFlag, UsageError } from './args.ts';
import { runVmx, VMX_VALUE_FLAGS, VMX_BOOL_FLAGS } from './run-vmx.ts';

/** Process exit codes for runs that did not end through the debug-exit port. */
export const EXIT_USAGE = 2, EXIT_TRIPLE_FAULT = 120, EXIT_INSN_LIMIT = 121, EXIT_HALTED = 122, EXIT_EMULATOR_ERROR = 123, EXIT_BAD_IMAGE = 124;

export const RUN_USAGE = `usage: x86vmx run IMAGE [--memory MiB] [--max-insns N] [--stats] [--json FILE]
                  [--vmx [--large-pages] [--tracker write-protect|dirty-bits|pml | --subpages [--no-predict]] [--round N]]
                  [--flat ADDR [--mode real16|long64]] [--cmdline STRING] [--input FILE|-]
                  [-- PROGRAM-ARGS…]`;

/** The guest kernel that runs static Linux programs (guest-images/kernel). */
export const KERNEL_IMAGE = fileURLToPath(new URL('../../guest-images/build/kernel.elf', import.meta.url));

/**
 * Load IMAGE into the machine: a static x86-64 Linux executable (no direct-boot note, no multiboot
 * header) boots under the guest kernel as multiboot module 0 with its arguments; anything else goes
 * to the loaders as it is.
 */
export function loadForRun(m: Machine, path: string, bytes: Uint8Array, args: string[], opts: { flatAddress?: number; flatMode?: 'real16' | 'long64'; cmdline?: string }): 'program' | 'image' {
  if (opts.flatAddress === undefined && isStaticLinuxElf(bytes)) {
    let kernel: Uint8Array;
    try { kernel = readFileSync(KERNEL_IMAGE); } catch {
      throw new ImageError(`${basename(path)} is a static Linux executable, but the guest kernel ${KERNEL_IMAGE} is missing (npm run build:guests)`);
    }
    const cmd = [basename(path), ...args].join(' ');
    m.load(kernel, { cmdline: opts.cmdline ?? 'x86vmx-kernel', modules: [{ data: bytes, cmdline: cmd }] });
    return 'program';
  }
  // An x86-64 ELF64 that is neither a direct-boot image nor a multiboot kernel is a Linux program;
  // if it is not static (PT_INTERP, ET_DYN) it cannot run here: say so instead of booting it bare.
  const elf64x86 = bytes.length >= 20 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46 &&
    bytes[4] === 2 && (bytes[18] | (bytes[19] << 8)) === 62;
  if (opts.flatAddress === undefined && elf64x86 && !hasDirectBootNote(bytes) && !findMultibootHeader(bytes)) {
    throw new ImageError(`not a static x86-64 Linux executable (${describeImage(bytes)}); x86vmx runs static programs only: link with -static`);
  }
  if (args.length) throw new UsageError('arguments after -- are only for static Linux programs run under the guest kernel');
  m.load(bytes, opts);
  return 'image';
}

export function runCommand(argv: string[]): number {
  const p = parseArgs(argv, new Set(['memory', 'max-insns', 'json', 'flat', 'mode', 'cmdline', 'input', ...VMX_VALUE_FLAGS]), new Set(['stats', ...VMX_BOOL_FLAGS]));
  if (p.positional.length !== 1) throw new UsageError(RUN_USAGE);
  const path = p.positional[0];
  const memoryMiB = intFlag(p, 'memory', 64, 2, 3072);
  const maxInsns = p.flags.has('max-insns') ? intFlag(p, 'max-insns', 0, 1) : Infinity;
  let bytes: Uint8Array;
  try { bytes = readFileSync(path); } catch (e) {
    process.stderr.write(`x86vmx: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return EXIT_BAD_IMAGE;
  }
  // COM1 input: --input FILE (or - for the host's stdin) is fed before the run starts.
  let input: Uint8Array = new Uint8Array(0);
  const inputFlag = p.flags.get('input');
  if (typeof inputFlag === 'string') {
    try { input = readFileSync(inputFlag === '-' ? 0 : inputFlag); } catch (e) {
      process.stderr.write(`x86vmx: cannot read input ${inputFlag}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      return EXIT_BAD_IMAGE;
    }
  }
  const serial = new BufferedSerial((b) => process.stdout.write(String.fromCharCode(b)));
  const vmx = p.flags.has('vmx');
  for (const f of [...VMX_VALUE_FLAGS, ...VMX_BOOL_FLAGS]) if (f !== 'vmx' && p.flags.has(f) && !vmx) throw new UsageError(`--${f} needs --vmx`);
  // With --vmx the loaders fill a staging bare machine whose memory and CPU state the VM then adopts.
  const m = new Machine({ memoryMiB, serial: vmx ? new BufferedSerial() : serial });
  let kind: 'program' | 'image';
  try {
    const mode = p.flags.get('mode');
    if (mode !== undefined && mode !== 'real16' && mode !== 'long64') throw new UsageError('--mode must be real16 or long64');
    kind = loadForRun(m, path, bytes, p.rest, {
      flatAddress: p.flags.has('flat') ? intFlag(p, 'flat', 0, 0) : undefined,
      flatMode: mode as 'real16' | 'long64' | undefined,
      cmdline: p.flags.get('cmdline') as string | undefined,
    });
  } catch (e) {
    if (e instanceof ImageError) {
      process.stderr.write(`x86vmx: ${path}: ${e.message}\n`);
      return EXIT_BAD_IMAGE;
    }
    throw e;
  }
  serial.feed(input);
  // A program under the guest kernel sees end of input as ^D (the kernel's EOF), so read(0) never hangs.
  if (kind === 'program') serial.feed(new Uint8Array([4]));
  let r: RunResult;
  if (vmx) r = runVmx(m, serial, p, maxInsns, path, bytes);
  else {
    r = m.run(maxInsns);
    if (p.flags.has('stats')) printStats(m, r, path, bytes);
  }
  const json = p.flags.get('json');
  if (typeof json === 'string') {
    writeFileSync(json, JSON.stringify({
      instructions: r.instructions, seconds: r.seconds, mips: r.instructions / r.seconds / 1e6,
      exit: { reason: STOP_NAMES[r.reason], status: r.exitStatus, message: r.message },
    }, null, 2) + '\n');
  }
  return exitCodeOf(r);
}

export function exitCodeOf(r: RunResult): number {
  switch (r.reason) {
    case StopReason.Exit: return r.exitStatus;
    case StopReason.TripleFault: process.stderr.write(`x86vmx: ${r.message}\n`); return EXIT_TRIPLE_FAULT;
    case StopReason.InsnLimit: process.stderr.write(`x86vmx: instruction limit reached after ${r.instructions} instructions\n`); return EXIT_INSN_LIMIT;
    case StopReason.Halted: process.stderr.write(`x86vmx: guest halted forever: ${r.message}\n`); return EXIT_HALTED;
    default: process.stderr.write(`x86vmx: ${r.message || STOP_NAMES[r.reason]}\n`); return EXIT_EMULATOR_ERROR;
  }
}

function printStats(m: Machine, r: RunResult, path: string, bytes: Uint8Array): void {
  const c = m.cpu;
  const lines = [
    `--- x86vmx run statistics: ${path} (${describeImage(bytes)})`,
    `stop:          ${STOP_NAMES[r.reason]}${r.exitStatus >= 0 ? ` (status ${r.exitStatus})` : ''}`,
    `instructions:  ${r.instructions} (user mode: ${c.userInstructions()})`,
    `virtual time:  ${(r.ticks / 1e6).toFixed(3)} ms (${r.ticks} ticks)`,
    `host time:     ${r.seconds.toFixed(3)} s`,
    `speed:         ${(r.instructions / r.seconds / 1e6).toFixed(2)} MIPS`,
    `decodes:       ${c.decodeCount}`,
    `interrupts:    ${c.interruptCount}`,
    `TLB flushes:   ${c.tlb.flushes}`,
  ];
  const exc = [...c.exceptionCounts].map((n, v) => [v, n] as const).filter(([, n]) => n > 0);
  lines.push(`exceptions:    ${exc.length ? exc.map(([v, n]) => `#${v}:${n}`).join(' ') : 'none'}`);
  const uds = [...c.udCounts.entries()].sort((a, b) => b[1] - a[1]);
  lines.push(`#UD by opcode: ${uds.length ? uds.map(([k, n]) => `${k}:${n}`).join(', ') : 'none'}`);
  if (m.io.unclaimedAccesses) lines.push(`unclaimed I/O: ${m.io.unclaimedAccesses}`);
  process.stderr.write(lines.join('\n') + '\n');
}

