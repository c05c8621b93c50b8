// Record the host CPU's own verdict (hwlen.c) on a sample of the decoder-comparison sequences:
// every class of listed capstone errors (so each class is checked against real hardware, not only
// against the SDM text) and a sample of the sequences where capstone and we agree. Sequences of
// extensions this emulator does not implement are left out (the host implements them).
// Usage: npx tsx record.ts OUT  (from this directory, after `make`); decoder.test.ts replays OUT.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { runDecoderCheck } from '../decoder-check.ts';
import { hex, parse } from '../x86-encoding.ts';
import { unimplementedArea } from '../decoder-features.ts';

const out = process.argv[2] ?? 'evidence.txt';
const PER_EXCEPTION = 40, PER_AGREEMENT = 400;

const pools = new Map<string, string[]>();
await runDecoderCheck({
  onSequence: (b, outcome) => {
    // the host implements x87, MMX, SSE3+, AVX...: only encodings this emulator implements are asked
    if (outcome.startsWith('feature:') || unimplementedArea(parse(b))) return;
    let pool = pools.get(outcome);
    if (pool === undefined) { pool = []; pools.set(outcome, pool); }
    pool.push(hex(b, 15)); // an instruction is at most 15 bytes
  },
});
// An even spread over each pool (the generator's parts come in order, so a prefix would be biased).
const chosen: [string, string][] = [];
for (const [outcome, pool] of pools) {
  const want = outcome === 'valid' || outcome === 'invalid' ? PER_AGREEMENT : PER_EXCEPTION;
  const step = Math.max(1, pool.length / want);
  for (let k = 0; k < pool.length && chosen.length < 1e6; k += step) chosen.push([pool[Math.floor(k)], outcome]);
}
const input = chosen.map(([h]) => h).join('\n') + '\n';
const verdicts = execFileSync('./hwlen', { input, encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n').map((l) => l.split('\t')[1]);
if (verdicts.length !== chosen.length) throw new Error(`hwlen answered ${verdicts.length} of ${chosen.length}`);

const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
const field = (k: string) => (cpuinfo.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm')) ?? [])[1] ?? '?';
const lines = [
  '# Instruction length and #UD verdicts of the host CPU (tests/conformance/hwlen/hwlen.c, user mode),',
  '# replayed against our decoder by tests/conformance/decoder.test.ts. Format: hex bytes <TAB> outcome of',
  '# the capstone comparison <TAB> hardware verdict (len N | gp N | ud N | skip).',
  `# cpu: ${field('model name')}`,
  `# cpu-family-model-stepping: ${field('cpu family')}/${field('model')}/${field('stepping')}`,
  `# hypervisor: ${/\bhypervisor\b/.test(field('flags')) ? 'yes' : 'no'}`,
  `# date: ${new Date().toISOString().slice(0, 10)}`,
  ...chosen.map(([h, o], k) => `${h}\t${o}\t${verdicts[k]}`),
];
writeFileSync(out, lines.join('\n') + '\n');
const summary = new Map<string, Map<string, number>>();
for (let k = 0; k < chosen.length; k++) {
  const m = summary.get(chosen[k][1]) ?? new Map<string, number>();
  const v = verdicts[k].split(' ')[0];
  m.set(v, (m.get(v) ?? 0) + 1);
  summary.set(chosen[k][1], m);
}
for (const [o, m] of summary) console.log(o.padEnd(36), [...m].map(([v, c]) => `${v} ${c}`).join(', '));
console.log(`${chosen.length} sequences -> ${out}`);
