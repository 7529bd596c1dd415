import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  contrastiveLoss,
  scoreRows,
  trainScorer,
  type ScorerParams,
  type TrainData,
  type Weight,
} from '../lib/5-rank/scorers.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { plantedWalkRows } from './walk-rows.js';

/** Walks of 50 rows over 10 columns; keepers where x0 is high or x1 is high (two motifs), about 6% kept. */
function rows(): TrainData {
  const { ds } = plantedWalkRows({
    seed: 11,
    walks: 24,
    per: 50,
    dim: 10,
    logit: (r) => 2.5 * Math.max(r[0] as number, r[1] as number) - 5,
    trainEnd: 24,
    valEnd: 24,
    featureSet: 'descriptor+context',
    modelId: null,
    prefix: 'c',
  });
  const all = Array.from({ length: ds.y.length }, (_, i) => i);
  // no validation rows: every epoch runs and the last epoch's weights stand
  return { x: ds.x, dim: ds.dim, y: ds.y, session: ds.session, ids: ds.ids, train: all, val: [] };
}

/** The projection of row r onto the unit sphere, in plain arithmetic: normalise(x W + b). */
function project(params: ScorerParams, d: TrainData, r: number): number[] {
  const W = params.weights.W as Weight;
  const b = params.weights.b as Weight;
  const p = W.shape[1] as number;
  const z = Array.from({ length: p }, (_, k) => {
    let s = b.values[k] as number;
    for (let j = 0; j < d.dim; j++) s += (d.x[r * d.dim + j] as number) * (W.values[j * p + k] as number);
    return s;
  });
  const l = Math.hypot(...z);
  return z.map((v) => v / l);
}

const centroidRows = (params: ScorerParams): number[][] => {
  const C = params.weights.C as Weight;
  const p = C.shape[1] as number;
  return Array.from({ length: C.shape[0] as number }, (_, k) => C.values.slice(k * p, (k + 1) * p));
};
const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * (b[i] as number), 0);

/** The margin objective the contrastive learner minimises, evaluated with the scores the model is scored by. */
function objective(params: ScorerParams, d: TrainData, margin: number): number {
  const s = scoreRows(params, d.x, d.dim, d.train);
  let pull = 0,
    push = 0,
    nk = 0;
  d.train.forEach((r, i) => {
    if (d.y[r]) {
      pull += 1 - (s[i] as number);
      nk++;
    } else push += Math.max(0, (s[i] as number) - margin);
  });
  return pull / nk + push / (d.train.length - nk);
}

test('the contrastive scorer scores by the cosine to its keeper centroids, the centroids of the projected keepers', async () => {
  await initBackend();
  const d = rows();
  const keepers = d.train.filter((r) => d.y[r]);
  assert.ok(keepers.length >= 40 && keepers.length <= 160, `${keepers.length} keepers`);
  const { params } = await trainScorer('contrastive', d, { epochs: 4, projection: 8 }, 3);
  const C = centroidRows(params);
  assert.equal(C.length, 1);
  // the centroid is the normalised mean of the training keepers' projections under the final weights
  const mean = new Array<number>(8).fill(0);
  for (const r of keepers) project(params, d, r).forEach((v, k) => (mean[k] = (mean[k] as number) + v));
  const norm = Math.hypot(...mean);
  mean.forEach((v, k) => assert.ok(Math.abs(v / norm - (C[0]?.[k] as number)) < 1e-4, `centroid component ${k}`));
  // and the score is the cosine to it
  const s = scoreRows(params, d.x, d.dim);
  for (let r = 0; r < d.y.length; r += 7) {
    assert.ok(Math.abs((s[r] as number) - dot(project(params, d, r), C[0] as number[])) < 1e-4, `row ${r}`);
  }
});

test('training minimises the margin objective of the scores the model is scored by, one centroid or several', async () => {
  await initBackend();
  const d = rows();
  for (const [arch, centroids] of [
    ['contrastive', 1],
    ['contrastive-multi', 4],
  ] as const) {
    const early = await trainScorer(arch, d, { epochs: 1, projection: 8, centroids }, 3);
    const late = await trainScorer(arch, d, { epochs: 24, projection: 8, centroids }, 3);
    assert.equal(late.log.length, 24, 'no validation rows: every epoch runs');
    const C = centroidRows(late.params);
    assert.equal(C.length, centroids);
    // the score is the nearest centroid's cosine: the maximum over the centroids, not a smooth maximum above it
    const s = scoreRows(late.params, d.x, d.dim);
    for (let r = 0; r < d.y.length; r += 11) {
      const z = project(late.params, d, r);
      const best = Math.max(...C.map((c) => dot(z, c)));
      assert.ok(Math.abs((s[r] as number) - best) < 1e-4, `${arch} row ${r}: ${s[r]} against ${best}`);
    }
    const before = objective(early.params, d, 0.2);
    const after = objective(late.params, d, 0.2);
    // the loss a training step computes is that objective: training and scoring use one function
    const keepers = d.train.filter((r) => d.y[r]);
    const others = d.train.filter((r) => !d.y[r]);
    for (const [p, o] of [
      [early.params, before],
      [late.params, after],
    ] as const) {
      const loss = contrastiveLoss(p, d.x, d.dim, keepers, others, 0.2);
      assert.ok(Math.abs(loss - o) < 1e-4, `${arch}: training loss ${loss}, objective under the scores ${o}`);
    }
    assert.ok(after < before - 0.04, `${arch}: the objective under the scores went ${before} -> ${after}`);
  }
});
