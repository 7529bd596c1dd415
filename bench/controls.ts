/**
 * Positive controls for the decision rule: synthetic rows at the real feature width (a 1,280-d vector, the 12-value
 * pixel descriptor, 12 context values) with a planted taste whose right answer is known, 3.75% keepers in walks of 60
 * frames. The vector is low-rank plus noise (16 latent factors with most of the variance, as an image model's
 * vectors), and the taste is a function of the factors:
 *
 * - additive: a linear taste; logistic regression (or the PCA baseline) should tie or win;
 * - interaction: the product of two factors; the pairwise scorer (its hidden layer) should win;
 * - motifs: closeness to the nearest of four centres; the multi-centroid contrastive scorer should win;
 * - burst: a within-burst preference (bench/burst-control.ts); near misses should help, pairwise without them is the
 *   baseline there.
 *
 * Each control runs the decision rule of `flux train` (lib/5-rank/decide.ts) and prints which family it picks; the
 * rule must pick the planted family or stay undecided, never the wrong one.
 *
 *   npm run build && node dist/bench/controls.js [--keepers 100,1000] [--tastes additive,interaction,motifs]
 *     [--repeats 3] [--folds 5] [--seed 7]
 */
import { parseArgs } from 'node:util';
import { CONTEXT_NAMES } from '../lib/db/schema.js';
import { DESCRIPTOR_NAMES } from '../lib/2-embed/descriptor.js';
import type { Dataset } from '../lib/4-dataset/rows.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { ruleContenders } from '../lib/5-rank/compare.js';
import { decide, DEFAULT_RULE, ruleText } from '../lib/5-rank/decide.js';
import { averagePrecision } from '../lib/5-rank/metrics.js';
import { Rng } from '../lib/util/rng.js';
import { burstControl } from './burst-control.js';

const { values } = parseArgs({
  options: {
    keepers: { type: 'string', default: '100,1000' },
    tastes: { type: 'string', default: 'additive,interaction,motifs' },
    repeats: { type: 'string', default: '3' },
    folds: { type: 'string', default: '5' },
    seed: { type: 'string', default: '7' },
  },
});

type Taste = 'additive' | 'interaction' | 'motifs' | 'burst';
const RIGHT: Record<Taste, string[]> = {
  burst: ['pairwise'],
  additive: ['logistic', 'pca-logistic'],
  interaction: ['pairwise'],
  motifs: ['contrastive-multi'],
};
const VEC = 1280;
const FACTORS = 16;
const FRAMES = 60;
const RATE = 0.0375;

/** The planted taste of one frame's factors (unit variance). */
function tasteOf(taste: Taste, f: Float64Array, centres: number[][]): number {
  if (taste === 'additive') return 1.2 * ((f[0] as number) + (f[1] as number) - (f[2] as number));
  if (taste === 'interaction') return 1.6 * (f[0] as number) * (f[1] as number);
  const d = centres.map((c) => Math.hypot(...c.map((v, j) => v - (f[j] as number))));
  return -2 * Math.min(...d);
}

/** A synthetic archive with `keepers` keepers: walks of 60 frames, the top 3.75% by taste plus noise kept. */
function archive(taste: Taste, keepers: number, seed: number): { ds: Dataset; oracle: number } {
  const rng = new Rng(seed).fork(`controls:${taste}:${keepers}`);
  const n = Math.round(keepers / RATE);
  const walks = Math.ceil(n / FRAMES);
  const dim = VEC + DESCRIPTOR_NAMES.length + CONTEXT_NAMES.length;
  const loading = Float64Array.from({ length: VEC * FACTORS }, () => (rng.normal() / Math.sqrt(FACTORS)) * 3);
  const centres = Array.from({ length: 4 }, () =>
    Array.from({ length: FACTORS }, (_, j) => (j < 4 ? 1.6 * rng.normal() : 0)),
  );
  const x = new Float32Array(n * dim);
  const t = new Float64Array(n);
  const session = new Int32Array(n);
  for (let w = 0, i = 0; w < walks; w++) {
    // frames of a walk share part of their scene
    const walkMean = Float64Array.from({ length: FACTORS }, () => 0.5 * rng.normal());
    for (let k = 0; k < FRAMES && i < n; k++, i++) {
      const f = Float64Array.from(walkMean, (m) => m + Math.sqrt(0.75) * rng.normal());
      session[i] = w;
      for (let v = 0; v < VEC; v++) {
        let s = rng.normal();
        for (let j = 0; j < FACTORS; j++) s += (loading[v * FACTORS + j] as number) * (f[j] as number);
        x[i * dim + v] = s;
      }
      for (let j = VEC; j < dim; j++) x[i * dim + j] = rng.normal();
      t[i] = tasteOf(taste, f, centres);
    }
  }
  const noisy = Array.from(t, (v) => v + Math.log(1 / rng.uniform(1e-9, 1) - 1));
  const cut = [...noisy].sort((a, b) => b - a)[keepers - 1] as number;
  const y = Uint8Array.from(noisy, (v) => (v >= cut ? 1 : 0));
  const names = [...Array.from({ length: VEC }, (_, j) => `v${j}`), ...DESCRIPTOR_NAMES, ...CONTEXT_NAMES];
  const ds: Dataset = {
    featureSet: 'vector+descriptor+context',
    modelId: 'synthetic',
    ids: Array.from({ length: n }, (_, i) => i),
    views: new Array<number>(n).fill(0),
    dim,
    names,
    x,
    scheme: 'session',
    y,
    split: new Array(n).fill('train'),
    session,
    sessions: Array.from({ length: walks }, (_, w) => `w${w}`),
    missingVector: 0,
    splitSeed: seed,
    splitNote: null,
  };
  return { ds, oracle: averagePrecision(t, y) };
}

await initBackend('wasm').catch(() => initBackend());
const seed = Number(values.seed);
const settings = { ...DEFAULT_RULE, repeats: Number(values.repeats), folds: Number(values.folds) };
const rows: string[] = [];
for (const keepers of values.keepers.split(',').map(Number)) {
  for (const taste of values.tastes.split(',') as Taste[]) {
    const t0 = performance.now();
    const { ds, oracle, baseline, contenders } =
      taste === 'burst'
        ? burstControl(keepers, seed)
        : { ...archive(taste, keepers, seed), ...ruleContenders(true, 'vector+descriptor+context') };
    const e = await decide(ds, baseline, contenders, { seed, settings });
    const seconds = (performance.now() - t0) / 1000;
    if (!e) continue;
    const family = e.chosen.arch;
    const verdict =
      e.decision === 'superior'
        ? RIGHT[taste].includes(family)
          ? 'right'
          : 'WRONG'
        : RIGHT[taste].some((a) => a === 'pca-logistic')
          ? 'right (baseline)'
          : 'undecided, not wrong';
    console.log(
      `\n## ${taste}, ${keepers} keepers (${ds.ids.length} rows, ${ds.sessions.length} walks; ` +
        `the planted taste itself ranks at AP ${oracle.toFixed(3)}), ${seconds.toFixed(0)} s\n${ruleText(e)}`,
    );
    const best = [...e.contenders].sort((a, b) => b.diff.value - a.diff.value)[0];
    rows.push(
      `| ${taste} | ${keepers} | ${oracle.toFixed(3)} | ${e.baseline.ap.toFixed(3)} | ` +
        `${best ? `${best.arch} ${best.diff.value >= 0 ? '+' : ''}${best.diff.value.toFixed(3)} [${best.diff.lo.toFixed(3)}, ${best.diff.hi.toFixed(3)}]` : ''} | ` +
        `${e.decision}: ${e.chosen.arch} | ${verdict} | ${seconds.toFixed(0)} |`,
    );
  }
}
console.log(
  '\n| planted taste | keepers | oracle AP | baseline AP | best contender - baseline [interval] | decision | right family? | seconds |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
