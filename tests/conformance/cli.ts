// `npm run conformance`: replays the recorded instruction vectors on the emulator and runs the
// decoder comparison, then prints forms, vectors, mismatches, decoder sequences and disagreements.
// `npm run conformance -- --json` prints one JSON object with exactly the keys forms, vectors,
// mismatches, decoderSequences, decoderDisagreements (notes go to stderr).
// Exit status 1 when anything disagrees.
import { replayAll } from './replay.ts';
import { runDecoderCheck, formatDecoderCheck } from './decoder-check.ts';

const json = process.argv.includes('--json');
const t0 = performance.now();
const r = replayAll(undefined, 10);
const replaySeconds = (performance.now() - t0) / 1000;
const d = await runDecoderCheck();
const out = {
  forms: r.forms, vectors: r.vectors, mismatches: r.mismatches,
  decoderSequences: d.sequences, decoderDisagreements: d.disagreements,
};

if (json) {
  console.log(JSON.stringify(out));
  if (!d.ran) console.error(`decoder comparison: ${d.note}`);
} else {
  const h = r.groups[0]?.header.fields ?? {};
  console.log(`Instruction vectors recorded on: ${h.cpu ?? '?'} (family/model/stepping ${h['cpu-family-model-stepping'] ?? '?'}, hypervisor ${h.hypervisor ?? '?'}), ${h.date ?? '?'}, ${h.recorder ?? '?'}`);
  console.log('');
  console.log('group        forms  vectors  faults  mismatches  file bytes');
  for (const g of r.groups) {
    console.log(`${g.group.padEnd(12)} ${String(g.forms).padStart(5)} ${String(g.vectors).padStart(8)} ${String(g.faults).padStart(7)} ${String(g.mismatches).padStart(11)} ${String(g.bytes).padStart(11)}`);
  }
  console.log('');
  console.log(`forms:                 ${out.forms}`);
  console.log(`vectors:               ${out.vectors} (${r.faults} of them fault) replayed in ${replaySeconds.toFixed(1)} s`);
  console.log(`mismatches:            ${out.mismatches}`);
  console.log(`decoder sequences:     ${out.decoderSequences}${d.ran ? '' : `  [${d.note}]`}`);
  console.log(`decoder disagreements: ${out.decoderDisagreements}${d.ran ? '' : '  [not yet run]'}`);
  for (const m of r.first) console.log('\n' + m.text);
  console.log('');
  for (const l of formatDecoderCheck(d)) console.log(l);
}
process.exitCode = out.mismatches > 0 || out.decoderDisagreements > 0 ? 1 : 0;
