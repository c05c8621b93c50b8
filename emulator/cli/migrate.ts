// `x86vmx migrate PROGRAM.elf [-- ARGS]`: pseudo-migration of a workload with one or all methods,
// verified at the destination; a progress line per round, a results table, JSON and SVG charts.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { SingleBar, Presets } from 'cli-progress';
import { connect, type Socket } from 'node:net';
import type { IncomingResult } from './incoming.ts';
import { Machine, BufferedSerial } from '../machine/machine.ts';
import { VmxMachine } from '../vmm/vmx-machine.ts';
import { TRACKERS, type DirtyTrackerKind } from '../hypervisor/dirty-log.ts';
import { ImageError } from '../loader/index.ts';
import { pseudoMigrate, defaultCacheBytes, type MigrationReport, type MigrationConfig } from '../migration/pseudo.ts';
import { roundsChart, totalsChart } from '../migration/plots.ts';
import { METHOD_CODES, type Method } from '../migration/stream.ts';
import { loadForRun, EXIT_BAD_IMAGE } from './run.ts';
import { parseArgs, intFlag, UsageError, type ParsedArgs } from './args.ts';
import { runSuite } from './migrate-suite.ts';

export const MIGRATE_USAGE = `usage: x86vmx migrate PROGRAM.elf [-- ARGS] [--method 4k|xbzrle|spp|spp-naive|all]
                  [--tracker write-protect|dirty-bits|pml] [--bandwidth 1g] [--downtime 300ms]
                  [--max-rounds 20] [--ips N | --ips-scale F] [--memory MiB] [--start-after N|P%] [--xbzrle-cache SIZE]
                  [--json FILE] [--plot DIR] [--to tcp://127.0.0.1:PORT]
       x86vmx migrate --suite quick|full [--results FILE.md] [--plot DIR] [--json FILE] [--tracker T]`;

export const IPS_FILE = fileURLToPath(new URL('../../guest-images/ips.json', import.meta.url));
export const METHODS = Object.keys(METHOD_CODES) as Method[];

/** "1g", "100m", "2.5G" → bits per second; also used for byte sizes with `unit` 1024. */
export function parseSize(v: string, what: string, unit: 1000 | 1024): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kmgt]?)(?:bit\/s|bps|b|ib)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`${what}: cannot read "${v}" (e.g. 1g, 500m, 10000000)`);
  const k = ' kmgt'.indexOf(m[2].toLowerCase() || ' ');
  const n = Number(m[1]) * unit ** k;
  if (!(n > 0)) throw new UsageError(`${what} must be positive`);
  return n;
}

export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v.trim());
  if (!m) throw new UsageError(`--downtime: cannot read "${v}" (e.g. 300ms, 0.3s)`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

/** The workload's measured IPS from guest-images/ips.json: same program and arguments, else same program. */
export function lookupIps(program: string, args: string[]): { ips: number; note: string } | null {
  let doc: { entries: { program: string; args: string[]; ips: number }[] };
  try { doc = JSON.parse(readFileSync(IPS_FILE, 'utf8')); } catch { return null; }
  const exact = doc.entries.find((e) => e.program === program && e.args.join(' ') === args.join(' '));
  if (exact) return { ips: exact.ips, note: `ips.json: ${program} ${args.join(' ')}` };
  const same = doc.entries.find((e) => e.program === program);
  if (same) return { ips: same.ips, note: `ips.json: ${program} ${same.args.join(' ')} (measured with other arguments)` };
  return null;
}

export interface MigrateRun { workload: string; args: string[]; ipsNote: string; config: Omit<MigrationConfig, 'onRound' | 'sink'>; runs: MigrationReport[]; reference: string }

/** Boot PROGRAM as a VMX guest (the function the pseudo-migration calls for its source). */
export function bootFor(path: string, bytes: Uint8Array, args: string[], memoryMiB: number) {
  return (o: { dirtyTracker?: DirtyTrackerKind }): VmxMachine => {
    const staging = new Machine({ memoryMiB, serial: new BufferedSerial() });
    loadForRun(staging, path, bytes, args, {});
    const serial = new BufferedSerial();
    serial.feed(new Uint8Array([4])); // end of input, as `run` gives programs
    const m = new VmxMachine({ memoryMiB, serial, dirtyTracker: o.dirtyTracker });
    m.adopt(staging);
    return m;
  };
}

export function migrationOptions(p: ParsedArgs, program: string, args: string[]): { config: Omit<MigrationConfig, 'method'>; methods: Method[]; memoryMiB: number; ipsNote: string } {
  const method = (p.flags.get('method') ?? 'all') as string;
  if (method !== 'all' && !(METHODS as string[]).includes(method)) throw new UsageError(`--method must be one of ${METHODS.join(', ')} or all`);
  const tracker = (p.flags.get('tracker') ?? 'pml') as string;
  if (!(TRACKERS as string[]).includes(tracker)) throw new UsageError(`--tracker must be one of ${TRACKERS.join(', ')}`);
  let ips: number, ipsNote: string;
  if (p.flags.has('ips')) { ips = parseSize(String(p.flags.get('ips')), '--ips', 1000); ipsNote = '--ips'; } else {
    const found = lookupIps(program, args);
    if (!found) throw new UsageError(`no IPS for ${program} in guest-images/ips.json: give --ips N (instructions per second)`);
    ({ ips, note: ipsNote } = found);
    if (p.flags.has('ips-scale')) {
      const f = Number(p.flags.get('ips-scale'));
      if (!(f > 0)) throw new UsageError('--ips-scale must be a positive number');
      ips *= f;
      ipsNote += ` × ${f}`;
    }
  }
  if (p.flags.has('ips') && p.flags.has('ips-scale')) throw new UsageError('--ips and --ips-scale are alternatives');
  const memoryMiB = intFlag(p, 'memory', 64, 8, 1024);
  return {
    methods: method === 'all' ? METHODS : [method as Method], memoryMiB, ipsNote,
    config: {
      tracker: tracker as DirtyTrackerKind,
      bandwidth: parseSize(String(p.flags.get('bandwidth') ?? '1g'), '--bandwidth', 1000),
      downtimeMs: parseDuration(String(p.flags.get('downtime') ?? '300ms')),
      maxRounds: intFlag(p, 'max-rounds', 20, 1, 1000),
      ips,
      startAfter: startAfterFlag(p),
      xbzrleCacheBytes: p.flags.has('xbzrle-cache') ? parseSize(String(p.flags.get('xbzrle-cache')), '--xbzrle-cache', 1024) : undefined,
    },
  };
}

const mib = (b: number) => (b / 1048576).toFixed(2);

/** --start-after N (instructions) or P% (of a run that never migrated; default 25%), as MigrationConfig.startAfter. */
function startAfterFlag(p: ParsedArgs): number {
  const v = p.flags.get('start-after');
  if (v === undefined) return -0.25;
  const m = /^(\d+(?:\.\d+)?)%$/.exec(String(v));
  if (m) { const f = Number(m[1]) / 100; if (f > 1) throw new UsageError('--start-after: at most 100%'); return -f; }
  return intFlag(p, 'start-after', 0, 0);
}

export function printRound(method: Method, r: MigrationReport['rounds'][number]): void {
  const unit = method.startsWith('spp') ? 'units' : 'pages';
  process.stderr.write(`  ${method.padEnd(9)} round ${String(r.round).padStart(2)}${r.stopAndCopy ? ' (stop-and-copy)' : '                '} ${mib(r.bytes).padStart(9)} MiB  ${String(r.units).padStart(7)} ${unit}  zero ${String(r.zeroPages).padStart(6)}  xbzrle ${r.xbzrlePages}/${r.xbzrleHits}h/${r.xbzrleMisses}m  sub-pages ${r.subpages}  SPP faults ${r.sppFaults}  guest ${r.guestInstructions} insns\n`);
}

export function resultsTable(runs: MigrationReport[]): string {
  const t = new Table({ head: ['method', 'rounds', 'converged', 'verified', 'total s', 'downtime ms', 'MiB sent', 'MiB/round after 1', 'SPP faults', 'ns/page', 'mem overhead MiB', 'VMM overhead'] });
  for (const r of runs) {
    const later = r.rounds.slice(1).filter((x) => !x.stopAndCopy);
    t.push([
      r.method + (r.tracker ? ` (${r.tracker})` : ''), r.rounds.length, r.converged ? 'yes' : 'NO', r.verified === null ? '-' : r.verified ? 'yes' : 'FAILED',
      r.totalSeconds.toFixed(3), Number.isNaN(r.downtimeMs) ? '-' : r.downtimeMs.toFixed(1), mib(r.bytes),
      later.length ? mib(later.reduce((a, x) => a + x.bytes, 0) / later.length) : '-',
      r.rounds.reduce((a, x) => a + x.sppFaults, 0), r.formatNsPerPage.toFixed(0),
      mib(r.memoryOverhead.xbzrleCacheBytes + r.memoryOverhead.sppTableBytes), `${(100 * r.runtimeOverhead.ratio).toFixed(2)}%`,
    ]);
  }
  return t.toString();
}

/** Migrate one workload with the given methods; the never-migrated run gives the reference output. */
export function migrateWorkload(path: string, args: string[], methods: Method[], config: Omit<MigrationConfig, 'method'>, memoryMiB: number, ipsNote: string, progress: boolean): MigrateRun {
  const bytes = readFileSync(path);
  const boot = bootFor(path, bytes, args, memoryMiB);
  const ref = boot({});
  const refRun = ref.run();
  const reference = (ref.serial as BufferedSerial).text();
  const runs: MigrationReport[] = [];
  for (const method of methods) {
    // On a terminal, one cli-progress bar per method advancing by round; elsewhere (logs, CI) a line per round.
    const bar = progress && process.stderr.isTTY
      ? new SingleBar({ format: `  ${method.padEnd(9)} {bar} round {value}/{total}  {mib} MiB this round  {units} units  {faults} SPP faults`, stream: process.stderr, hideCursor: true }, Presets.shades_classic)
      : null;
    bar?.start(config.maxRounds, 0, { mib: '0', units: 0, faults: 0 });
    const onRound = !progress ? undefined : bar === null ? (r: MigrationReport['rounds'][number]) => printRound(method, r)
      : (r: MigrationReport['rounds'][number]) => bar.update(r.round, { mib: (r.bytes / 1048576).toFixed(2), units: r.units, faults: r.sppFaults });
    runs.push(pseudoMigrate(boot, { ...config, method, onRound }, reference, refRun.instructions));
    if (bar) { bar.setTotal(runs[runs.length - 1].rounds.length); bar.stop(); }
  }
  return { workload: basename(path, '.elf'), args, ipsNote, config: { ...config, method: methods[0] }, runs, reference };
}

export async function writePlots(dir: string, results: MigrateRun[]): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const r of results) {
    const f = join(dir, `${r.workload}-rounds.svg`);
    writeFileSync(f, await roundsChart(`${r.workload} ${r.args.join(' ')}`, r.runs));
    files.push(f);
  }
  const f = join(dir, 'totals.svg');
  writeFileSync(f, await totalsChart(results.flatMap((r) => r.runs.map((x) => ({ workload: r.workload, method: x.method, seconds: x.totalSeconds, converged: x.converged })))));
  files.push(f);
  return files;
}

export function jsonOf(results: MigrateRun[]): unknown {
  return {
    workloads: results.map((r) => ({ workload: r.workload, args: r.args, ips: r.config.ips, ipsSource: r.ipsNote })),
    runs: results.flatMap((r) => r.runs.map((x) => ({
      workload: r.workload, args: r.args, method: x.method, tracker: x.tracker, converged: x.converged, verified: x.verified,
      verifyMessage: x.verifyMessage, totalSeconds: x.totalSeconds, downtimeMs: Number.isNaN(x.downtimeMs) ? null : x.downtimeMs,
      bytes: x.bytes, formatNsPerPage: x.formatNsPerPage, memoryOverhead: x.memoryOverhead, runtimeOverhead: x.runtimeOverhead,
      xbzrleCacheBytes: x.xbzrleCacheBytes, guestFinishedInRound: x.guestFinishedInRound,
      rounds: x.rounds.map((y) => ({ ...y })),
    }))),
  };
}

export async function migrateCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, new Set(['method', 'tracker', 'bandwidth', 'downtime', 'max-rounds', 'ips', 'ips-scale', 'memory', 'start-after', 'xbzrle-cache', 'json', 'plot', 'suite', 'results', 'to']), new Set());
  if (p.flags.has('suite')) {
    if (p.positional.length || p.rest.length) throw new UsageError('--suite runs its own workloads: no PROGRAM or arguments');
    for (const f of ['method', 'downtime', 'ips', 'ips-scale', 'memory', 'start-after', 'xbzrle-cache']) if (p.flags.has(f)) throw new UsageError(`--${f} is set by the suite profile`);
    const tracker = String(p.flags.get('tracker') ?? 'pml');
    if (!(TRACKERS as string[]).includes(tracker)) throw new UsageError(`--tracker must be one of ${TRACKERS.join(', ')}`);
    const str = (k: string) => { const v = p.flags.get(k); return typeof v === 'string' ? v : undefined; };
    return runSuite(String(p.flags.get('suite')), {
      plot: str('plot'), json: str('json'), results: str('results'), tracker: tracker as DirtyTrackerKind,
      bandwidth: parseSize(String(p.flags.get('bandwidth') ?? '1g'), '--bandwidth', 1000), maxRounds: intFlag(p, 'max-rounds', 20, 1, 1000),
    });
  }
  if (p.flags.has('results')) throw new UsageError('--results goes with --suite');
  if (p.positional.length !== 1) throw new UsageError(MIGRATE_USAGE);
  const path = p.positional[0];
  const program = basename(path, '.elf');
  try { readFileSync(path); } catch (e) {
    process.stderr.write(`x86vmx: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return EXIT_BAD_IMAGE;
  }
  const { config, methods, memoryMiB, ipsNote } = migrationOptions(p, program, p.rest);
  process.stderr.write(`migrating ${program} ${p.rest.join(' ')}: ${memoryMiB} MiB guest, ${config.bandwidth / 1e9} Gbit/s, downtime ${config.downtimeMs} ms, ` +
    `max ${config.maxRounds} rounds, IPS ${config.ips.toExponential(3)} (${ipsNote}), XBZRLE cache ${mib(config.xbzrleCacheBytes ?? defaultCacheBytes(memoryMiB << 20))} MiB\n`);
  const to = p.flags.get('to');
  let remote: Promise<IncomingResult> | null = null;
  if (typeof to === 'string') {
    if (methods.length !== 1) throw new UsageError('--to sends one migration: choose one --method');
    const m = /^tcp:\/\/([^:/]+):(\d+)$/.exec(to);
    if (!m) throw new UsageError(`--to: expected tcp://HOST:PORT, got "${to}"`);
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: m[1], port: Number(m[2]), allowHalfOpen: true }, () => resolve(s));
      s.on('error', reject);
    }).catch((e: Error) => { throw new UsageError(`--to ${to}: ${e.message}`); });
    let reply = '';
    remote = new Promise((resolve) => {
      sock.on('data', (d) => { reply += d.toString('utf8'); });
      sock.on('end', () => { try { resolve(JSON.parse(reply)); } catch { resolve({ ok: false, error: `bad reply from the destination: ${reply.slice(0, 200)}` }); } });
      sock.on('error', (e) => resolve({ ok: false, error: e.message }));
    });
    config.sink = (b) => { sock.write(b); };
    config.onFinish = () => sock.end();
  }
  let result: MigrateRun;
  try { result = migrateWorkload(path, p.rest, methods, config, memoryMiB, ipsNote, true); } catch (e) {
    if (e instanceof ImageError) { process.stderr.write(`x86vmx: ${path}: ${e.message}\n`); return EXIT_BAD_IMAGE; }
    throw e;
  }
  process.stdout.write(resultsTable(result.runs) + '\n');
  if (remote !== null) {
    const r = await remote, run = result.runs[0];
    if (!r.ok) { process.stderr.write(`x86vmx: the TCP destination refused the stream: ${r.error}\n`); return 1; }
    const same = run.outputBeforeStop + (r.output ?? '') === result.reference;
    process.stderr.write(`TCP destination: RAM hash ${r.ramVerified ? 'matches' : 'NOT checked'}, resumed and ran to ${r.stop} (status ${r.exitStatus}, ${r.instructions} instructions); ` +
      `output ${same ? 'equals' : 'DIFFERS from'} the never-migrated run\n`);
    if (!same || !r.ramVerified) return 1;
  }
  for (const r of result.runs) if (r.verified === false) process.stderr.write(`x86vmx: ${r.method}: verification FAILED: ${r.verifyMessage}\n`);
  const json = p.flags.get('json');
  if (typeof json === 'string') writeFileSync(json, JSON.stringify(jsonOf([result]), null, 2) + '\n');
  const plot = p.flags.get('plot');
  if (typeof plot === 'string') for (const f of await writePlots(plot, [result])) process.stderr.write(`wrote ${f}\n`);
  return result.runs.some((r) => r.verified === false) ? 1 : 0;
}
