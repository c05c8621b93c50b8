// `x86vmx measure-ips [NAME[:ARGS]…]`: the pseudo-migration's clock (digest-000 §5). Each workload
// runs natively several times (median wall time, minus the median of an empty static program so
// process start-up is not counted) and once in the emulator, where the user-mode (CPL 3)
// instructions of the same run are counted. IPS = instructions / native seconds.
import { readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync, execFileSync } from 'node:child_process';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine, BufferedSerial } from '../machine/machine.ts';
import { StopReason } from '../cpu/state.ts';
import { loadForRun } from './run.ts';
import { parseArgs, intFlag, UsageError } from './args.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const APPS_DIR = join(ROOT, 'guest-images/build/apps');
export const IPS_TABLE = join(ROOT, 'guest-images/ips.json');
export const DEFAULT_WORKLOADS = ['idle', 'alloc-churn', 'stencil', 'event-sim', 'game-search', 'lz-compress', 'memclear'];
/**
 * Measurement sizes: long enough natively (~10+ ms) that process start-up is a small correction,
 * short enough to count in the emulator in seconds. idle sleeps, so its IPS is the rate of a mostly
 * sleeping guest, not a CPU speed.
 */
export const MEASURE_ARGS: Record<string, string[]> = {
  'idle': ['20', '10'],
  'alloc-churn': ['160'],
  'stencil': ['128', '24'],
  'event-sim': ['20000', '50000'],
  'game-search': ['4', '7', '6'],
  'lz-compress': ['128', '1'],
  'memclear': ['256', '40'],
};

export interface IpsEntry {
  program: string;
  args: string[];
  /** User-mode instructions of one run, counted in the emulator. */
  instructions: number;
  /** Median native wall time of one run, start-up excluded. */
  nativeSeconds: number;
  ips: number;
  /** The output both runs printed (they must agree). */
  checksum: string;
}

export interface IpsTable { cpu: string; date: string; runs: number; startupSeconds: number; entries: IpsEntry[] }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function timeNative(path: string, args: string[], runs: number): { seconds: number; stdout: string } {
  const times: number[] = [];
  let stdout = '';
  for (let k = 0; k < runs; k++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(path, args, { encoding: 'latin1' });
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`${path} ${args.join(' ')} exited with ${r.status ?? r.signal} natively: ${r.stderr}`);
    stdout = r.stdout;
    times.push(dt);
  }
  return { seconds: median(times), stdout };
}

/** Wall time of a static program that exits at once: process creation and teardown. */
function startupSeconds(runs: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'x86vmx-ips-'));
  try {
    const src = join(dir, 'empty.s'), obj = join(dir, 'empty.o'), exe = join(dir, 'empty');
    writeFileSync(src, '.globl _start\n_start: mov $60, %eax\n xor %edi, %edi\n syscall\n');
    execFileSync('as', ['-o', obj, src]);
    execFileSync('ld', ['-static', '-o', exe, obj]);
    return timeNative(exe, [], runs).seconds;
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

export function countEmulated(path: string, args: string[]): { instructions: number; stdout: string } {
  const serial = new BufferedSerial();
  const m = new Machine({ memoryMiB: 256, serial });
  loadForRun(m, path, readFileSync(path), args, {});
  const r = m.run();
  if (r.reason !== StopReason.Exit || r.exitStatus !== 0) throw new Error(`${path} did not exit 0 in the emulator: ${r.message}`);
  // The kernel may log to the same UART; the program's output is what both runs print.
  return { instructions: m.cpu.userInstructions(), stdout: serial.text() };
}

export function measureIpsCommand(argv: string[]): number {
  const p = parseArgs(argv, new Set(['runs', 'out']), new Set());
  const runs = intFlag(p, 'runs', 5, 1, 1000);
  const specs = p.positional.length ? p.positional : DEFAULT_WORKLOADS;
  const startup = startupSeconds(runs);
  const entries: IpsEntry[] = [];
  for (const spec of specs) {
    const [name, argStr] = spec.split(':', 2);
    const args = argStr !== undefined ? argStr.split(',').filter(Boolean) : (MEASURE_ARGS[name] ?? []);
    const path = join(APPS_DIR, `${name}.elf`);
    if (!existsSync(path)) throw new UsageError(`no workload ${name} (${path}); known: ${DEFAULT_WORKLOADS.join(', ')}`);
    const nat = timeNative(path, args, runs);
    const emu = countEmulated(path, args);
    if (!emu.stdout.endsWith(nat.stdout)) throw new Error(`${name}: emulator output differs from native output\nnative:   ${JSON.stringify(nat.stdout)}\nemulated: ${JSON.stringify(emu.stdout)}`);
    const seconds = Math.max(nat.seconds - startup, 1e-6);
    const e: IpsEntry = { program: name, args, instructions: emu.instructions, nativeSeconds: seconds, ips: emu.instructions / seconds, checksum: nat.stdout.trim().split('\n').pop() ?? '' };
    entries.push(e);
    process.stdout.write(`${name.padEnd(12)} ${args.join(' ').padEnd(10)} ${String(e.instructions).padStart(12)} insns  ${(seconds * 1e3).toFixed(3).padStart(9)} ms  ${(e.ips / 1e6).toFixed(0).padStart(6)} MIPS native\n`);
  }
  const table: IpsTable = { cpu: cpus()[0]?.model ?? 'unknown', date: new Date().toISOString(), runs, startupSeconds: startup, entries };
  const out = (p.flags.get('out') as string | undefined) ?? IPS_TABLE;
  writeFileSync(out, JSON.stringify(table, null, 2) + '\n');
  process.stdout.write(`wrote ${out} (startup ${(startup * 1e3).toFixed(3)} ms subtracted, median of ${runs} runs)\n`);
  return 0;
}
