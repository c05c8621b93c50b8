// Decoder lengths against capstone (issue 3, "Decoder lengths against capstone"), used by
// `npm run conformance` (cli.ts) and by decoder.test.ts.
//
// Every sequence of decoder-gen.ts (≥ 200,000, 64-bit mode) is decoded by our decoder
// (emulator/cpu/decoder.ts decodeBytes) and by capstone-wasm. The rule:
//
//   both valid                 the lengths must be equal;
//   both invalid               agreement (an invalid encoding has no architectural length);
//   capstone valid, we #UD     accepted only when the instruction belongs to an extension this
//                              CPU does not implement AND our CPUID (emulator/cpu/cpuid.ts, asked
//                              here) reports that extension absent — counted per extension
//                              (decoder-features.ts), never silently;
//   any other difference       a disagreement, unless it is one of the listed capstone errors
//                              (capstone-exceptions.ts, each with its SDM citation), counted per class.
//
// "Valid" for us means the decoder found an instruction (its handler is not the #UD stub): UD0/UD1/UD2
// and RSM are valid instructions that raise #UD when executed, as for capstone.
import { PhysicalMemory } from '../../emulator/memory/physical.ts';
import { IoBus } from '../../emulator/memory/iobus.ts';
import { Cpu, MODE_LONG64 } from '../../emulator/cpu/state.ts';
import '../../emulator/cpu/opcodes.ts';
import { decodeBytes } from '../../emulator/cpu/decoder.ts';
import { cpuid, cpuidA, cpuidB, cpuidC, cpuidD } from '../../emulator/cpu/cpuid.ts';
import { generate, SEQ_LEN } from './decoder-gen.ts';
import { openCapstone64, capstoneDecode, capstoneVersion, type CsResult } from './capstone.ts';
import { parse, hex } from './x86-encoding.ts';
import { featureOf, type Feature } from './decoder-features.ts';
import { CAPSTONE_EXCEPTIONS, type Ctx, type Verdict, type Disagreement } from './capstone-exceptions.ts';

export interface DecoderCheckResult {
  /** False only if capstone-wasm could not be loaded (then the counts are 0). */
  ran: boolean;
  sequences: number;
  /** Unexplained disagreements: must be 0. */
  disagreements: number;
  /** First few disagreements, one line each. */
  examples: string[];
  note: string;
  bothValid: number;
  bothInvalid: number;
  /** Capstone valid, we #UD, extension not implemented and absent from CPUID: per extension. */
  notImplemented: { feature: string; cpuid: string; count: number; example: string }[];
  /** Listed capstone errors: per class. */
  excepted: { id: string; kind: Disagreement; count: number; example: string }[];
  /** Unexplained disagreements per kind. */
  byKind: Record<Disagreement, number>;
  /** Generator parts: [name, count]. */
  parts: [string, number][];
  capstone: string;
  seconds: number;
}

/** Whether our CPUID reports `f` (the leaf must be within the reported maximum of its range). */
function cpuidHas(c: Cpu, f: Feature): boolean {
  const base = f.leaf >= 0xc0000000 ? 0xc0000000 : f.leaf >= 0x80000000 ? 0x80000000 : 0;
  cpuid(c, base, 0);
  const max = cpuidA >>> 0;
  if (max < f.leaf || (base !== 0 && (max & 0xf0000000) !== (base & 0xf0000000))) return false;
  cpuid(c, f.leaf, f.sub);
  const r = [cpuidA, cpuidB, cpuidC, cpuidD][f.reg];
  return ((r >>> f.bit) & 1) === 1;
}

function csText(c: CsResult | null): string { return c === null ? 'invalid' : `${c.size} bytes "${c.mnemonic}${c.opStr ? ' ' + c.opStr : ''}"`; }

/** How one sequence came out: 'valid' / 'invalid' (agreement), 'feature:<id>', 'exception:<id>' or 'disagreement'. */
export type Outcome = string;

export async function runDecoderCheck(opts: {
  seed?: number; maxExamples?: number;
  /** Called for every sequence (hwlen/record.ts uses it to pick sequences for the hardware check). */
  onSequence?: (bytes: Uint8Array, outcome: Outcome) => void;
} = {}): Promise<DecoderCheckResult> {
  const t0 = performance.now();
  const empty = (note: string): DecoderCheckResult => ({
    ran: false, sequences: 0, disagreements: 0, examples: [], note, bothValid: 0, bothInvalid: 0, notImplemented: [],
    excepted: [], byKind: { 'capstone-valid-we-ud': 0, 'capstone-invalid-we-decode': 0, length: 0 }, parts: [], capstone: '', seconds: 0,
  });
  try { await openCapstone64(); } catch (e) { return empty(`capstone-wasm could not be loaded: ${String(e)}`); }
  const res = empty('');
  res.ran = true;
  res.capstone = capstoneVersion();
  const maxExamples = opts.maxExamples ?? 20;

  const cpu = new Cpu(new PhysicalMemory(1 << 16), new IoBus());
  const decode = (b: Uint8Array): Verdict => {
    const r = decodeBytes(cpu, b, MODE_LONG64);
    return r === null ? { valid: false, len: 0 } : { valid: r.valid, len: r.insn.len };
  };
  const featureSeen = new Map<Feature, { count: number; example: string }>();
  const featureOk = new Map<Feature, boolean>();
  const excepted = new Map<string, { count: number; example: string }>();

  const seqs = generate(opts.seed);
  res.sequences = seqs.count;
  res.parts = seqs.parts.map(([n, a, b]) => [n, b - a]);
  for (let n = 0; n < seqs.count; n++) {
    const bytes = seqs.bytes.subarray(n * SEQ_LEN, (n + 1) * SEQ_LEN);
    const cs = capstoneDecode(bytes);
    const r = decodeBytes(cpu, bytes, MODE_LONG64);
    const ours: Verdict = r === null ? { valid: false, len: 0 } : { valid: r.valid, len: r.insn.len };
    const on = opts.onSequence;
    if (cs !== null && ours.valid) { if (cs.size === ours.len) { res.bothValid++; on?.(bytes, 'valid'); continue; } }
    else if (cs === null && !ours.valid) { res.bothInvalid++; on?.(bytes, 'invalid'); continue; }

    const kind: Disagreement = cs !== null && ours.valid ? 'length' : cs !== null ? 'capstone-valid-we-ud' : 'capstone-invalid-we-decode';
    const p = parse(bytes);
    const line = () => `#${n} ${hex(bytes)}: capstone ${csText(cs)}, ours ${ours.valid ? `${ours.len} bytes "${r!.insn.name}"` : `#UD ("${r?.insn.name ?? ''}")`}`;
    let note = '';
    if (kind === 'capstone-valid-we-ud') {
      const f = featureOf(p, cs!.mnemonic, cs!.opStr);
      if (f !== null) {
        let ok = featureOk.get(f);
        if (ok === undefined) { ok = !cpuidHas(cpu, f); featureOk.set(f, ok); }
        if (ok) {
          const e = featureSeen.get(f) ?? { count: 0, example: line() };
          e.count++; featureSeen.set(f, e);
          on?.(bytes, `feature:${f.id}`);
          continue;
        }
        note = ` [CPUID reports ${f.id} (${f.cite}) but the decoder rejects it]`;
      }
    }
    if (note === '') {
      const x: Ctx = { bytes, p, cs, ours, capstone: capstoneDecode, decode };
      const ex = CAPSTONE_EXCEPTIONS.find((e) => e.kind === kind && e.test(x));
      if (ex !== undefined) {
        const e = excepted.get(ex.id) ?? { count: 0, example: line() };
        e.count++; excepted.set(ex.id, e);
        on?.(bytes, `exception:${ex.id}`);
        continue;
      }
    }
    res.disagreements++;
    res.byKind[kind]++;
    on?.(bytes, 'disagreement');
    if (res.examples.length < maxExamples) res.examples.push(`${kind}: ${line()}${note}`);
  }
  res.notImplemented = [...featureSeen].map(([f, e]) => ({ feature: f.id, cpuid: f.cite, count: e.count, example: e.example }))
    .sort((a, b) => b.count - a.count);
  res.excepted = CAPSTONE_EXCEPTIONS.filter((e) => excepted.has(e.id))
    .map((e) => ({ id: e.id, kind: e.kind, count: excepted.get(e.id)!.count, example: excepted.get(e.id)!.example }));
  res.seconds = (performance.now() - t0) / 1000;
  res.note = `capstone ${res.capstone}, ${res.sequences} sequences in ${res.seconds.toFixed(1)} s`;
  return res;
}

/** Human-readable summary lines (cli.ts prints them; the test prints them on failure). */
export function formatDecoderCheck(d: DecoderCheckResult): string[] {
  const out: string[] = [];
  if (!d.ran) return [`decoder comparison did not run: ${d.note}`];
  out.push(`Decoder vs capstone ${d.capstone}: ${d.sequences} sequences (${d.parts.map(([n, c]) => `${n} ${c}`).join(', ')}) in ${d.seconds.toFixed(1)} s`);
  out.push(`  agree: ${d.bothValid} both valid with equal length, ${d.bothInvalid} both invalid`);
  const ni = d.notImplemented.reduce((s, f) => s + f.count, 0);
  out.push(`  capstone valid, #UD here, extension not implemented and absent from our CPUID: ${ni}`);
  for (const f of d.notImplemented) out.push(`    ${String(f.count).padStart(7)}  ${f.feature.padEnd(20)} ${f.cpuid}`);
  const ex = d.excepted.reduce((s, e) => s + e.count, 0);
  out.push(`  listed capstone errors (tests/conformance/capstone-exceptions.ts, SDM-cited): ${ex}`);
  for (const e of d.excepted) out.push(`    ${String(e.count).padStart(7)}  ${e.id.padEnd(22)} e.g. ${e.example}`);
  out.push(`  unexplained disagreements: ${d.disagreements} (length ${d.byKind.length}, capstone valid/we #UD ${d.byKind['capstone-valid-we-ud']}, capstone invalid/we decode ${d.byKind['capstone-invalid-we-decode']})`);
  for (const e of d.examples) out.push(`    ${e}`);
  return out;
}
