// `x86vmx bench`: MIPS of each benchmark guest, excluding start-up (image load and the first
// WARMUP instructions, during which decode caches fill and V8 optimises the handlers).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Machine, BufferedSerial } from '../machine/machine.ts';
import { StopReason } from '../cpu/state.ts';
import { parseArgs } from './args.ts';
import { runVmxBenchmark } from './bench-vmx.ts';

const WARMUP = 2_000_000;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface BenchResult { name: string; instructions: number; seconds: number; mips: number }

export const BENCHMARKS = [{ name: 'bench-xorshift', image: 'guest-images/build/bench-xorshift.elf' }];

export function runBenchmark(name: string, image: string): BenchResult {
  const m = new Machine({ memoryMiB: 64, serial: new BufferedSerial() });
  m.load(readFileSync(ROOT + image));
  const warm = m.run(WARMUP);
  if (warm.reason !== StopReason.InsnLimit) throw new Error(`${name}: stopped during warm-up: ${warm.message}`);
  const r = m.run();
  if (r.reason !== StopReason.Exit || r.exitStatus !== 0) throw new Error(`${name}: did not exit cleanly: ${r.message}`);
  return { name, instructions: r.instructions, seconds: r.seconds, mips: r.instructions / r.seconds / 1e6 };
}

export function benchCommand(argv: string[]): number {
  const p = parseArgs(argv, new Set(['json']), new Set());
  const results: BenchResult[] = [];
  const show = (r: BenchResult, note = '') => {
    results.push(r);
    process.stdout.write(`${r.name.padEnd(24)} ${String(r.instructions).padStart(12)} insns  ${r.seconds.toFixed(3).padStart(8)} s  ${r.mips.toFixed(2).padStart(8)} MIPS${note}\n`);
  };
  for (const b of BENCHMARKS) {
    const bare = runBenchmark(b.name, b.image);
    show(bare);
    // The same loop as a VMX guest (issue 5): EPT with 4 KiB pages, then EPT + SPP with every sub-page writable.
    const ept = runVmxBenchmark(`${b.name} [EPT]`, ROOT + b.image, false, WARMUP);
    show(ept, `  (${(100 * ept.mips / bare.mips).toFixed(0)}% of bare)`);
    const spp = runVmxBenchmark(`${b.name} [EPT+SPP]`, ROOT + b.image, true, WARMUP);
    show(spp, `  (${(100 * spp.mips / ept.mips).toFixed(0)}% of EPT)`);
  }
  const json = p.flags.get('json');
  if (typeof json === 'string') writeFileSync(json, JSON.stringify({ benchmarks: results }, null, 2) + '\n');
  return 0;
}
