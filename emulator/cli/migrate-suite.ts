// `x86vmx migrate --suite quick|full`: every workload × every method, the comparison table, charts,
// JSON and (with --results FILE) the results document with the comparison against the paper.
// `npm start` runs the quick suite; `npm run results` the full one into docs/.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrateWorkload, resultsTable, writePlots, jsonOf, lookupIps, METHODS, type MigrateRun } from './migrate.ts';
import { UsageError } from './args.ts';
import type { MigrationConfig } from '../migration/pseudo.ts';
import { resultsDocument } from '../migration/results.ts';

const APPS = fileURLToPath(new URL('../../guest-images/build/apps/', import.meta.url));

export interface SuiteProfile {
  name: string;
  memoryMiB: number;
  downtimeMs: number;
  /** Multiplies each workload's measured IPS (ips.json). */
  ipsScale: number;
  workloads: { name: string; args: string[] }[];
}

// Guest RAM is 16 MiB, not the paper's 1 GiB. The downtime limit is scaled by the same 1/64
// (300 ms → 4.7 ms → 5 ms), so the stop threshold is the same fraction of guest memory.
export const PROFILES: Record<string, SuiteProfile> = {
  quick: {
    name: 'quick', memoryMiB: 16, downtimeMs: 5, ipsScale: 0.1,
    workloads: [
      { name: 'idle', args: ['20', '10'] }, { name: 'alloc-churn', args: ['40'] }, { name: 'stencil', args: ['64', '12'] },
      { name: 'event-sim', args: ['4000', '20000'] }, { name: 'game-search', args: ['4', '7', '6'] },
      { name: 'lz-compress', args: ['64', '1'] }, { name: 'memclear', args: ['128', '20'] },
    ],
  },
  full: {
    name: 'full', memoryMiB: 16, downtimeMs: 5, ipsScale: 1,
    workloads: [
      { name: 'idle', args: ['20', '10'] }, { name: 'alloc-churn', args: ['160'] }, { name: 'stencil', args: ['128', '24'] },
      { name: 'event-sim', args: ['20000', '50000'] }, { name: 'game-search', args: ['4', '10', '20'] },
      { name: 'lz-compress', args: ['256', '2'] }, { name: 'memclear', args: ['256', '40'] },
    ],
  },
};

export async function runSuite(profileName: string, opts: { plot?: string; json?: string; results?: string; bandwidth: number; maxRounds: number; tracker: MigrationConfig['tracker'] }): Promise<number> {
  const prof = PROFILES[profileName];
  if (!prof) throw new UsageError(`--suite must be one of ${Object.keys(PROFILES).join(', ')}`);
  const t0 = performance.now();
  const results: MigrateRun[] = [];
  for (const w of prof.workloads) {
    const found = lookupIps(w.name, w.args);
    if (!found) throw new UsageError(`no IPS for ${w.name} in guest-images/ips.json (npx x86vmx measure-ips)`);
    const config: Omit<MigrationConfig, 'method'> = {
      tracker: opts.tracker, bandwidth: opts.bandwidth, downtimeMs: prof.downtimeMs, maxRounds: opts.maxRounds,
      ips: found.ips * prof.ipsScale, startAfter: -0.25,
    };
    const note = `${found.note}${prof.ipsScale !== 1 ? ` × ${prof.ipsScale}` : ''}`;
    process.stderr.write(`${w.name} ${w.args.join(' ')}: IPS ${config.ips.toExponential(3)} (${note})\n`);
    const r = migrateWorkload(join(APPS, `${w.name}.elf`), w.args, METHODS, config, prof.memoryMiB, note, false);
    results.push(r);
    for (const x of r.runs) {
      const later = x.rounds.slice(1).filter((y) => !y.stopAndCopy);
      process.stderr.write(`  ${x.method.padEnd(9)} ${x.rounds.length} rounds, ${x.converged ? 'converged' : 'did NOT converge'}, ` +
        `${x.verified === null ? 'not verified' : x.verified ? 'verified' : 'VERIFICATION FAILED: ' + x.verifyMessage}, ` +
        `${(x.bytes / 1048576).toFixed(2)} MiB, ${x.totalSeconds.toFixed(3)} s${later.length ? `, ${(later.reduce((a, y) => a + y.bytes, 0) / later.length / 1048576).toFixed(3)} MiB/round after round 1` : ''}\n`);
    }
  }
  for (const r of results) process.stdout.write(`\n${r.workload} ${r.args.join(' ')}\n${resultsTable(r.runs)}\n`);
  const seconds = (performance.now() - t0) / 1000;
  process.stderr.write(`suite '${prof.name}' took ${seconds.toFixed(0)} s\n`);
  if (opts.json) { mkdirSync(dirname(opts.json), { recursive: true }); writeFileSync(opts.json, JSON.stringify({ profile: prof, ...jsonOf(results) as object }, null, 2) + '\n'); }
  if (opts.plot) for (const f of await writePlots(opts.plot, results)) process.stderr.write(`wrote ${f}\n`);
  if (opts.results) {
    mkdirSync(dirname(opts.results), { recursive: true });
    writeFileSync(opts.results, resultsDocument(prof, results, { bandwidth: opts.bandwidth, maxRounds: opts.maxRounds, tracker: opts.tracker, seconds, plotDir: opts.plot, resultsFile: opts.results }));
    process.stderr.write(`wrote ${opts.results}\n`);
  }
  return results.some((r) => r.runs.some((x) => x.verified === false)) ? 1 : 0;
}
