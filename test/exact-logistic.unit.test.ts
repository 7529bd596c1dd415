import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dataset } from '../lib/4-dataset/rows.js';
import { fitLogisticL2 } from '../lib/5-rank/baseline.js';
import jstat from 'jstat';
import { fit, learnerWidth, reductionOf, rowsOf, vectorColumns } from '../lib/5-rank/fit.js';
import { rocAuc } from '../lib/5-rank/metrics.js';
import { foldAxes, project, vectorAxes } from '../lib/5-rank/reduce.js';
import { Rng } from '../lib/util/rng.js';
import { tuningGrid } from '../lib/5-rank/nested.js';
import { calibrateOutOfFold } from '../lib/5-rank/oof-calibration.js';
import {
  checkHyper,
  EXACT_MAX_COLUMNS,
  hyperFor,
  LOGISTIC_VECTOR_PCA,
  scoreRows,
  solvedExactly,
  stopsEarly,
  type ScorerParams,
} from '../lib/5-rank/scorers.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { plantedWalkRows } from './walk-rows.js';

/**
 * Walks of 60 photos over `dim` columns; the true log-odds 1.2 x0 - 0.8 x1 - 4.5 (about 3% kept); walks 0-29 train,
 * 30-33 validate, 34-39 test.
 */
const planted = (dim: number): { ds: Dataset; logit: Float64Array } =>
  plantedWalkRows({
    seed: 5,
    walks: 40,
    per: 60,
    dim,
    logit: (row) => 1.2 * (row[0] as number) - 0.8 * (row[1] as number) - 4.5,
    trainEnd: 30,
    valEnd: 34,
    featureSet: 'descriptor+context',
    modelId: null,
    prefix: 'f',
  });

test('logistic regression on a narrow row is solved exactly: Newton on the standardised training rows, any seed', async () => {
  const { ds, logit } = planted(12);
  assert.ok(solvedExactly('logistic', ds.dim) && solvedExactly('metadata', ds.dim));
  const a = await fit(ds, 'logistic', 1);
  const b = await fit(ds, 'logistic', 99);
  assert.deepEqual(a.params.weights, b.params.weights, 'the solution does not depend on the seed');
  assert.equal(a.log.length, 1, 'no epochs: one entry with the validation figures');
  assert.ok(Number.isFinite(a.log[0]?.valAuc) && (a.log[0]?.valAuc as number) > 0.7, `val AUC ${a.log[0]?.valAuc}`);
  // the same solution as the solver called directly on the standardised training rows, C 0.03
  const train = rowsOf(ds, 'train');
  const z = new Float64Array(train.length * ds.dim);
  train.forEach((r, i) => {
    for (let j = 0; j < ds.dim; j++) z[i * ds.dim + j] = a.xs[r * ds.dim + j] as number;
  });
  const direct = fitLogisticL2(
    z,
    ds.dim,
    train.map((r) => ds.y[r] as number),
    0.03,
  );
  const w = a.params.weights.W?.values as number[];
  direct.w.forEach((v, j) => assert.ok(Math.abs(v - (w[j] as number)) < 1e-9, `w${j} ${w[j]} vs ${v}`));
  assert.ok(Math.abs(direct.b - (a.params.weights.b?.values[0] as number)) < 1e-9);
  // the planted directions, and no class weights: the scores are log-odds at the training rate
  const rest = Math.max(...w.slice(2).map(Math.abs));
  assert.ok((w[0] as number) > 2 * rest && (w[1] as number) < -2 * rest, `w0 ${w[0]}, w1 ${w[1]}, others ${rest}`);
  const test = rowsOf(ds, 'test');
  const raw = scoreRows(a.params, a.xs, ds.dim, test);
  const mean = (v: ArrayLike<number>): number => Array.from(v).reduce((s, u) => s + u, 0) / v.length;
  const predicted = mean(Array.from(raw, (s) => 1 / (1 + Math.exp(-s))));
  const truth = mean(test.map((r) => 1 / (1 + Math.exp(-(logit[r] as number)))));
  assert.ok(Math.abs(predicted - truth) < 0.015, `mean predicted ${predicted.toFixed(4)}, true ${truth.toFixed(4)}`);
  // a smaller C pulls the weights in
  const tight = await fit(ds, 'logistic', 1, { logisticC: 0.001 });
  const norm = (p: typeof a.params): number => Math.hypot(...(p.weights.W?.values as number[]));
  assert.ok(norm(tight.params) < 0.6 * norm(a.params), `|w| ${norm(tight.params)} vs ${norm(a.params)}`);
});

test('a row wider than the exact limit trains by epochs with early stopping, as before', async () => {
  await initBackend();
  const { ds } = planted(EXACT_MAX_COLUMNS + 1);
  assert.ok(!solvedExactly('logistic', ds.dim));
  const f = await fit(ds, 'logistic', 1, { epochs: 3 });
  assert.ok(f.log.length >= 2, `${f.log.length} epochs`);
  const other = await fit(ds, 'logistic', 2, { epochs: 3 });
  assert.notDeepEqual(f.params.weights, other.params.weights, 'a seeded start: another seed, other weights');
});

test('which learners stop early, and the tuning grid of the exact solver', () => {
  assert.equal(stopsEarly('pca-logistic', 2000), false);
  assert.equal(stopsEarly('logistic', 84), false);
  assert.equal(stopsEarly('logistic', EXACT_MAX_COLUMNS + 1), true);
  assert.equal(stopsEarly('pairwise', 84), true);
  assert.equal(stopsEarly('contrastive-multi', 84), true);
  assert.deepEqual(tuningGrid('logistic', 3, 84), [{}, { logisticC: 0.01 }, { logisticC: 0.1 }]);
  assert.deepEqual(tuningGrid('metadata', 2, 20), [{}, { logisticC: 0.01 }]);
  assert.deepEqual(tuningGrid('logistic', 3, 1304), [{}, { l2: 0.1 }, { l2: 0.01 }]);
  assert.deepEqual(tuningGrid('logistic', 3), [{}, { l2: 0.1 }, { l2: 0.01 }], 'no width: the epochs grid');
  assert.deepEqual(tuningGrid('pairwise', 2, 84), [{}, { l2: 0.1 }]);
  // the width the learner trains on: a PCA setting narrows a wide row, so its C is what tuning tries
  assert.equal(learnerWidth('logistic', 1304, { pca: 32, vectorPca: 0 }), 32);
  assert.equal(
    learnerWidth('pca-logistic', 1304, { pca: 32, vectorPca: 0 }),
    1304,
    'the baseline reduces by its own setting',
  );
  assert.equal(learnerWidth('logistic', 84, { pca: 0, vectorPca: 0 }), 84);
  assert.deepEqual(tuningGrid('logistic', 2, learnerWidth('logistic', 1304, { pca: 32, vectorPca: 0 })), [
    {},
    { logisticC: 0.01 },
  ]);
  assert.equal(checkHyper().logisticC, 0.03);
  assert.throws(() => checkHyper({ logisticC: 0 }), /logisticC/);
  assert.throws(() => checkHyper({ logisticC: Number.NaN }), /logisticC/);
});

test('out-of-fold calibration of exact logistic regression: its folds and its final model train on validation too', async () => {
  const { ds } = planted(12);
  const wf = await fit(ds, 'logistic', 3);
  const oof = await calibrateOutOfFold(ds, { arch: 'logistic', featureSet: 'descriptor+context' }, wf, {
    seed: 3,
    folds: 5,
  });
  assert.ok(oof, 'enough keepers');
  assert.match(oof.choice.source ?? '', /the model refitted on those walks together/);
  assert.notDeepEqual(oof.fitted.params.weights, wf.params.weights, 'the validation walks changed the solution');
  // the held-out probabilities keep the keep rate of the walks they come from
  const kept = oof.heldOut.y.reduce((a, b) => a + b, 0) / oof.heldOut.y.length;
  const mean = oof.heldOut.prob.reduce((a, b) => a + b, 0) / oof.heldOut.prob.length;
  assert.ok(Math.abs(mean - kept) < 0.2 * kept, `mean probability ${mean.toFixed(4)}, keep rate ${kept.toFixed(4)}`);
});

/**
 * Walks of 60 photos: 300 vector columns that share one latent factor (as an image vector's leading direction does)
 * beside 10 other columns; the true log-odds 1.2 x the vector's mean + 1.0 f0 - 4.5.
 */
function vectorRows(): { ds: Dataset; logit: Float64Array } {
  let latent = 0;
  const planted = plantedWalkRows({
    seed: 11,
    walks: 40,
    per: 60,
    dim: 310,
    draw: (j, rng) => {
      if (j === 0) latent = rng.normal();
      return j < 300 ? latent * (0.5 + (j % 7) / 6) + rng.normal() : rng.normal();
    },
    logit: (row) => (1.2 * row.subarray(0, 300).reduce((a, b) => a + b, 0)) / 300 + (row[300] as number) - 4.5,
    trainEnd: 30,
    valEnd: 34,
    featureSet: 'vector+descriptor',
    modelId: 'm',
    prefix: 'v',
  });
  const names = planted.ds.names.map((n, j) => (j < 300 ? n : `f${j - 300}`));
  return { ds: { ...planted.ds, names }, logit: planted.logit };
}

test('logistic regression reduces the vector to 32 whitened components beside the other columns, and is solved exactly', async () => {
  const { ds, logit } = vectorRows();
  assert.deepEqual(vectorColumns(ds.names), [...Array(300).keys()]);
  assert.equal(learnerWidth('logistic', 310, hyperFor('logistic'), 300), 10 + LOGISTIC_VECTOR_PCA);
  assert.equal(learnerWidth('logistic', 310, hyperFor('logistic', { vectorPca: 0 }), 300), 310, 'the vector whole');
  assert.equal(learnerWidth('logistic', 310, hyperFor('logistic', { pca: 8 }), 300), 8, 'a PCA of the row first');
  assert.equal(learnerWidth('pairwise', 310, hyperFor('pairwise'), 300), 310, 'only logistic regression by default');
  assert.equal(reductionOf('logistic', 310, hyperFor('logistic'), 300), 'vector');
  assert.equal(reductionOf('logistic', 310, hyperFor('logistic', { pca: 8 }), 300), 'row');
  assert.equal(reductionOf('logistic', 310, hyperFor('logistic', { pca: 400 }), 300), 'vector', 'no fewer: no row PCA');
  assert.equal(reductionOf('pca-logistic', 310, hyperFor('pca-logistic', { vectorPca: 8 }), 300), null);
  assert.equal(stopsEarly('logistic', learnerWidth('logistic', 310, hyperFor('logistic'), 300)), false);
  const f = await fit(ds, 'logistic', 1);
  assert.equal(f.log.length, 1, 'solved exactly: no epochs');
  assert.deepEqual(f.params.weights.W?.shape, [310, 1], 'folded back onto the full row: the model file is unchanged');
  const w = f.params.weights.W?.values as number[];
  const others = Math.max(...w.slice(301).map(Math.abs));
  assert.ok((w[300] as number) > 3 * others, `f0 ${w[300]} against the other columns' ${others}`);
  const test = rowsOf(ds, 'test');
  const y = test.map((r) => ds.y[r] as number);
  const auc = rocAuc(scoreRows(f.params, f.xs, ds.dim, test), y);
  const oracle = rocAuc(
    test.map((r) => logit[r] as number),
    y,
  );
  assert.ok(auc > 0.93 * oracle, `test AUC ${auc.toFixed(3)} against the true log-odds' ${oracle.toFixed(3)}`);
});

test('the vector axes: whitened leading components of the vector columns, every other column passed as it is', async () => {
  const { ds } = vectorRows();
  const train = rowsOf(ds, 'train');
  const axes = await vectorAxes(ds.x, ds.dim, train, vectorColumns(ds.names), 4, 3);
  assert.equal(axes.k, 4 + 10);
  const z = project(ds.x, ds.dim, axes);
  for (const r of [0, 7, 2399]) {
    for (let j = 0; j < 10; j++) assert.equal(z[r * axes.k + 4 + j], ds.x[r * ds.dim + 300 + j], `row ${r}, f${j}`);
  }
  for (let c = 0; c < 4; c++) {
    const v = train.map((r) => z[r * axes.k + c] as number);
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
    assert.ok(Math.abs(m) < 1e-4 && Math.abs(sd - 1) < 1e-3, `component ${c}: mean ${m}, spread ${sd}`);
  }
  // a scorer trained on the reduced row, folded back onto the full row, scores every row the same
  const rng = new Rng(4);
  const params: ScorerParams = {
    kind: 'mlp',
    weights: Object.fromEntries(
      (
        [
          ['W0', [axes.k, 1]],
          ['W1', [axes.k, 3]],
          ['b1', [3]],
          ['W2', [3, 1]],
          ['b2', [1]],
        ] as Array<[string, number[]]>
      ).map(([k, shape]) => [
        k,
        { shape, values: Array.from({ length: shape[0]! * (shape[1] ?? 1) }, () => rng.normal()) },
      ]),
    ),
  };
  const reduced = scoreRows(params, z, axes.k);
  const full = scoreRows(foldAxes(params, axes, ds.dim), ds.x, ds.dim);
  const worst = Math.max(...Array.from(full, (v, i) => Math.abs(v - (reduced[i] as number))));
  assert.ok(worst < 1e-3, `scores differ by ${worst}`);
  // the first component is the shared factor: it follows the vector's mean
  const mean = train.map((r) => ds.x.subarray(r * ds.dim, r * ds.dim + 300).reduce((a, b) => a + b, 0) / 300);
  const first = train.map((r) => z[r * axes.k] as number);
  assert.ok(Math.abs(jstat.jStat.corrcoeff(first, mean)) > 0.98, `correlation ${jstat.jStat.corrcoeff(first, mean)}`);
});

test("a learner's own defaults give way to the caller's settings: a tuned centroid count is the one trained", async () => {
  await initBackend();
  const { ds } = planted(12);
  assert.equal(hyperFor('contrastive-multi').centroids, 4, 'four centroids unless told otherwise');
  assert.equal(hyperFor('contrastive-multi', { centroids: 2 }).centroids, 2);
  for (const centroids of [2, 8]) {
    const f = await fit(ds, 'contrastive-multi', 1, { centroids, epochs: 1 });
    assert.equal(f.params.weights.C?.shape[0], centroids, `centroids ${centroids}`);
  }
  const untold = await fit(ds, 'contrastive-multi', 1, { epochs: 1 });
  assert.equal(untold.params.weights.C?.shape[0], 4);
});
