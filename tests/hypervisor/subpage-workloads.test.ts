// Sub-page tracking on the workloads (digest-000 §3.4-3.5). Nothing is lost: every 128-byte
// sub-page whose contents changed in a round (hashes of guest memory before and after, computed
// here, not by the layer) is in that round's sub-page log. Must-show 4: with `rep stos`
// prediction, memclear takes at least 10× fewer SPP violations, and the recorded sets are the same
// or a superset whose extra sub-pages are exactly ones that prediction unprotected.
import { describe, it, expect } from 'vitest';
import { StopReason } from '../../emulator/cpu/state.ts';
import { APPS } from '../apps/apps.ts';
import { bootWorkload, subpageHashes, changedSubpages, popcount } from './workload.ts';

const ROUND = 100_000;

interface SubpageRun { output: string; rounds: Map<number, number>[]; changed: Map<number, number>[]; predicted: Map<number, number>[]; stats: { sppViolations: number; predictions: number; predictedSubpages: number } }

function runSubpages(name: string, args: string[], prediction: boolean): SubpageRun {
  const { m, serial } = bootWorkload(name, args);
  m.vm.enableSubpageTracking({ prediction });
  const rounds: Map<number, number>[] = [], changed: Map<number, number>[] = [], predicted: Map<number, number>[] = [];
  let before = subpageHashes(m);
  for (;;) {
    const r = m.run(ROUND);
    predicted.push(m.vm.subpage.predictedThisRound());
    rounds.push(m.vm.getSubpageDirtyLog());
    const after = subpageHashes(m);
    changed.push(changedSubpages(before, after));
    before = after;
    if (r.reason !== StopReason.InsnLimit) {
      expect(r.reason, r.message).toBe(StopReason.Exit);
      return { output: serial.text(), rounds, changed, predicted, stats: { ...m.vm.subpage.stats } };
    }
  }
}

function expectCovers(run: SubpageRun): void {
  run.changed.forEach((ch, i) => {
    for (const [gfn, mask] of ch) {
      const got = run.rounds[i].get(gfn) ?? 0;
      expect((mask & ~got) >>> 0, `round ${i}: gfn 0x${gfn.toString(16)} changed sub-pages 0x${mask.toString(16)}, recorded 0x${got.toString(16)}`).toBe(0);
    }
  });
}

describe('sub-page tracking loses no write on any workload', () => {
  for (const app of APPS) {
    it(`${app.name} ${app.smallArgs.join(' ')}`, () => {
      const plain = bootWorkload(app.name, app.smallArgs);
      plain.m.run();
      const run = runSubpages(app.name, app.smallArgs, false);
      expect(run.output).toBe(plain.serial.text());
      expect(run.rounds.length).toBeGreaterThanOrEqual(2);
      expect(run.stats.sppViolations).toBeGreaterThan(0);
      expectCovers(run);
    }, 120_000);
  }
});

describe('rep stos prediction on memclear', () => {
  it('takes at least 10× fewer SPP violations and records the same sub-pages or a superset of predicted ones', () => {
    const args = ['64', '16'];
    const naive = runSubpages('memclear', args, false);
    const pred = runSubpages('memclear', args, true);
    expect(pred.output).toBe(naive.output);
    expectCovers(pred);
    expect(pred.stats.predictions).toBeGreaterThan(0);
    expect(pred.stats.sppViolations * 10).toBeLessThanOrEqual(naive.stats.sppViolations);
    expect(pred.rounds.length).toBe(naive.rounds.length);
    const extras: string[] = [];
    pred.rounds.forEach((r, i) => {
      const n = naive.rounds[i];
      for (const [gfn, mask] of n) expect(((mask & ~(r.get(gfn) ?? 0)) >>> 0), `round ${i} gfn 0x${gfn.toString(16)} lost`).toBe(0);
      for (const [gfn, mask] of r) {
        const extra = (mask & ~(n.get(gfn) ?? 0)) >>> 0;
        if (!extra) continue;
        extras.push(`round ${i} gfn 0x${gfn.toString(16)} sub-pages 0x${extra.toString(16)} (${popcount(extra)})`);
        expect((extra & ~(pred.predicted[i].get(gfn) ?? 0)) >>> 0, `extra sub-pages must come from prediction`).toBe(0);
      }
    });
    // The extra sub-pages (if any) are listed in the test output.
    if (extras.length) console.log(`prediction recorded ${extras.length} page(s) with extra sub-pages:\n${extras.join('\n')}`);
    console.log(`memclear ${args.join(' ')}: SPP violations ${naive.stats.sppViolations} without prediction, ${pred.stats.sppViolations} with (${(naive.stats.sppViolations / pred.stats.sppViolations).toFixed(1)}×), ${pred.stats.predictions} predictions unprotecting ${pred.stats.predictedSubpages} sub-pages`);
  }, 120_000);
});
