// `x86vmx debug IMAGE [--memory MiB] [-- ARGS]`: load an image on a bare machine and read debugger
// commands line by line from stdin (a terminal or a pipe), writing their output to stdout.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Machine, BufferedSerial } from '../machine/machine.ts';
import { ImageError } from '../loader/index.ts';
import { parseArgs, intFlag, UsageError } from '../cli/args.ts';
import { loadForRun, EXIT_BAD_IMAGE } from '../cli/run.ts';
import { parseElfSymbols } from './symbols.ts';
import { loadDisassembler } from './disasm.ts';
import { Debugger } from './debugger.ts';

export const DEBUG_USAGE = 'usage: x86vmx debug IMAGE [--memory MiB] [-- PROGRAM-ARGS…]';
export const PROMPT = '(x86vmx) ';

/** Load IMAGE on a bare machine with guest serial output collected for the debugger; null + message on failure. */
export async function createDebugger(path: string, args: string[] = [], memoryMiB = 64): Promise<Debugger | string> {
  let bytes: Uint8Array;
  try { bytes = readFileSync(path); } catch (e) {
    return `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  const serial = new BufferedSerial();
  const m = new Machine({ memoryMiB, serial });
  try {
    // A static Linux program runs under the guest kernel; end of input is ^D, as with `run`.
    if (loadForRun(m, path, bytes, args, {}) === 'program') serial.feed(new Uint8Array([4]));
  } catch (e) {
    if (e instanceof ImageError) return `${path}: ${e.message}`;
    throw e;
  }
  await loadDisassembler();
  return new Debugger(m, parseElfSymbols(bytes), serial);
}

export async function debugCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, new Set(['memory']), new Set());
  if (p.positional.length !== 1) throw new UsageError(DEBUG_USAGE);
  const d = await createDebugger(p.positional[0], p.rest, intFlag(p, 'memory', 64, 2, 3072));
  if (typeof d === 'string') { process.stderr.write(`x86vmx: ${d}\n`); return EXIT_BAD_IMAGE; }
  const out = (s: string) => { if (s) process.stdout.write(s + '\n'); };
  out(`x86vmx debugger: ${p.positional[0]} (${d.syms.size} symbols); type help for the commands`);
  out(d.exec('disasm $rip 1'));
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true, prompt: PROMPT });
  rl.prompt();
  for await (const line of rl) {
    out(d.exec(line));
    if (d.quit) break;
    rl.prompt();
  }
  rl.close();
  if (!d.quit) process.stdout.write('\n');
  return 0;
}
