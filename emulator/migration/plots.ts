// SVG charts of migration runs, specified in Vega-Lite and rendered by Vega in Node (no browser):
// bytes sent per round per method (the data still to transfer, the paper's Figs. 4-7) and total
// migration time per method (its Fig. 3).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { MigrationReport } from './pseudo.ts';

async function render(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

/** Bytes transferred in each round, one line per method (log scale: round 1 dwarfs the rest). */
export function roundsChart(title: string, runs: MigrationReport[]): Promise<string> {
  const values = runs.flatMap((r) => r.rounds.map((x) => ({ method: r.method, round: x.round, MiB: x.bytes / 1048576, phase: x.stopAndCopy ? 'stop-and-copy' : 'pre-copy' })));
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${title}: data transferred per round`, width: 420, height: 260, data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'round', type: 'quantitative', title: 'round', axis: { tickMinStep: 1 } },
      y: { field: 'MiB', type: 'quantitative', title: 'MiB sent in the round', scale: { type: 'symlog', constant: 0.01 } },
      color: { field: 'method', type: 'nominal' },
      shape: { field: 'phase', type: 'nominal' },
    },
  });
}

/** Total migration time per workload and method (non-converged runs marked). */
export function totalsChart(rows: { workload: string; method: string; seconds: number; converged: boolean }[]): Promise<string> {
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Total migration time (pseudo-migration)', width: 80, height: 220,
    data: { values: rows.map((r) => ({ ...r, status: r.converged ? 'converged' : 'did not converge' })) },
    mark: 'bar',
    encoding: {
      column: { field: 'workload', type: 'nominal', title: null },
      x: { field: 'method', type: 'nominal', title: null },
      y: { field: 'seconds', type: 'quantitative', title: 'seconds' },
      color: { field: 'method', type: 'nominal' },
      opacity: { field: 'status', type: 'ordinal', sort: ['converged', 'did not converge'], scale: { range: [1, 0.35] } },
    },
  });
}
