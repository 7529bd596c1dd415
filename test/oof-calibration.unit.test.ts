import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dataset } from '../lib/4-dataset/rows.js';
import { applyCalibration, calibrateAll, chooseCalibration, onRawScale } from '../lib/5-rank/calibrate.js';
import { assess, fit, rowsOf } from '../lib/5-rank/fit.js';
import { averagePrecision } from '../lib/5-rank/metrics.js';
import { modelToSave, refitTest } from '../lib/5-rank/train.js';
import { calibrateOutOfFold, scoreScale } from '../lib/5-rank/oof-calibration.js';
import { scoreRows } from '../lib/5-rank/scorers.js';
import { standardize } from '../lib/4-dataset/rows.js';
import { expectedLogLoss } from '../lib/5-rank/truth-metrics.js';
import { Rng } from '../lib/util/rng.js';
import { plantedWalkRows } from './walk-rows.js';

test('a calibration moved onto the raw scale gives the same probability for every raw score', () => {
  const mean = 1.7;
  const sd = 0.4;
  const platt = { method: 'platt' as const, a: 1.3, b: -3.1 };
  const iso = { method: 'isotonic' as const, x: [-1, 0, 2], y: [0.01, 0.05, 0.4] };
  for (const c of [platt, iso]) {
    const moved = onRawScale(c, mean, sd);
    for (const raw of [-1, 0.3, 1.7, 2.05, 2.5, 4]) {
      const z = (raw - mean) / sd;
      assert.ok(Math.abs(applyCalibration(moved, raw) - applyCalibration(c, z)) < 1e-12, `${c.method} at ${raw}`);
    }
  }
});

test('isotonic calibration must win clearly when a margin is asked for', () => {
  // a logistic truth: Platt's curve is right, and isotonic's small edge (if any) is not clear
  const rng = new Rng(4);
  const n = 4000;
  const s = Array.from({ length: n }, () => rng.normal());
  const y = s.map((v) => (rng.next() < 1 / (1 + Math.exp(-(2 * v - 4))) ? 1 : 0));
  const session = s.map((_, i) => i % 40);
  const free = chooseCalibration(s, y, session, { seed: 1 });
  const strict = chooseCalibration(s, y, session, { seed: 1, isotonicMargin: 0.02 });
  assert.equal(strict.calibration.method, 'platt');
  assert.deepEqual(strict.cvLogLoss, free.cvLogLoss);
  // two plateaus (0.02 below 0, 0.25 above) that no logistic curve follows: isotonic wins by more than 2%
  const ys = s.map((v) => (rng.next() < (v > 0 ? 0.25 : 0.02) ? 1 : 0));
  assert.equal(chooseCalibration(s, ys, session, { seed: 1, isotonicMargin: 0.02 }).calibration.method, 'isotonic');
});

/** Rows of 40 walks with a keep probability along the first axis; walks 0-31 train, 32-35 validate, 36-39 test. */
function plantedDataset(): { ds: Dataset; p: Float64Array } {
  const { ds, logit } = plantedWalkRows({
    seed: 9,
    walks: 40,
    per: 80,
    dim: 12,
    draw: (j, rng) => rng.normal() * (j === 0 ? 2 : 1),
    logit: (row) => 1.5 * (row[0] as number) - 5,
    trainEnd: 32,
    valEnd: 36,
    featureSet: 'vector',
    modelId: 'test',
    prefix: 'v',
  });
  return { ds, p: logit.map((v) => 1 / (1 + Math.exp(-v))) };
}

test('out-of-fold calibration of the plain baseline: refitted, on its raw scale, better than a constant on held-out walks', async () => {
  const { ds, p } = plantedDataset();
  const wf = await fit(ds, 'pca-logistic', 3);
  const chosen = { arch: 'pca-logistic' as const, featureSet: 'vector' as const };
  const oof = await calibrateOutOfFold(ds, chosen, wf, { seed: 3, folds: 5 });
  assert.ok(oof, 'enough keepers');
  assert.match(
    oof.choice.source ?? '',
    /out-of-fold scores of the training and validation walks \(\d+ keepers in 36 walks\); the model refitted/,
  );
  // the held-out probabilities: one per training and validation photo, with its label
  const trainval = [...rowsOf(ds, 'train'), ...rowsOf(ds, 'val')];
  assert.equal(oof.heldOut.prob.length, trainval.length);
  assert.equal(
    oof.heldOut.y.reduce((a, b) => a + b, 0),
    trainval.filter((r) => ds.y[r]).length,
  );
  // the final model learnt from the validation walks too: other weights than the model fitted on training alone
  assert.notDeepEqual(oof.fitted.params.weights, wf.params.weights);
  // the raw scores of the test walks (never in a fold) through the curve
  const test = rowsOf(ds, 'test');
  const xs = standardize(ds.x, ds.dim, oof.fitted.standardizer);
  const raw = scoreRows(oof.fitted.params, xs, ds.dim, test, ds.ids);
  const q = calibrateAll(oof.choice.calibration, raw);
  const pt = test.map((r) => p[r] as number);
  const trainRate = rowsOf(ds, 'train').filter((r) => ds.y[r]).length / rowsOf(ds, 'train').length;
  const constant = expectedLogLoss(new Array<number>(pt.length).fill(trainRate), pt);
  const truth = expectedLogLoss(pt, pt);
  const share = (constant - expectedLogLoss(q, pt)) / (constant - truth);
  assert.ok(share > 0.5, `gain share ${share.toFixed(3)} (constant ${constant.toFixed(4)}, truth ${truth.toFixed(4)})`);
  // the scale is the model's own scores on the training and validation walks
  const { mean, sd } = scoreScale(ds, oof.fitted);
  const ref = scoreRows(oof.fitted.params, xs, ds.dim, trainval, ds.ids);
  const m = ref.reduce((a, v) => a + v, 0) / ref.length;
  assert.ok(Math.abs(mean - m) < 1e-4 && sd > 0);
  // the saved model is the refit, not the fit the comparison assessed: its own test figures, from its own scores
  const assessed = assess(ds, wf, 3, 20);
  const saved = refitTest(ds, assessed, oof, wf, { seed: 3, resamples: 20 });
  assert.ok(saved && oof.fitted !== wf);
  const held = rowsOf(ds, 'test');
  const own = scoreRows(oof.fitted.params, standardize(ds.x, ds.dim, oof.fitted.standardizer), ds.dim, held, ds.ids);
  const ap = averagePrecision(
    own,
    held.map((r) => ds.y[r] as number),
  );
  assert.ok(Math.abs(saved.ap.value - ap) < 1e-9 && saved.ap.value !== assessed.test.ap.value, `${saved.ap.value}`);
  assert.equal(refitTest(ds, assessed, { ...oof, fitted: wf }, wf, { seed: 3, resamples: 20 }), null);
  // too few keepers in the folds: the validation calibration stays (null)
  const few: Dataset = { ...ds, y: ds.y.map((v, i) => (v && i % 20 === 0 ? 1 : 0)) };
  assert.equal(await calibrateOutOfFold(few, chosen, wf, { seed: 3, folds: 5 }), null);
});

test('once the test walks have judged it, the saved model of a learner without early stopping learns every walk', async () => {
  const { ds } = plantedDataset();
  const chosen = { arch: 'pca-logistic' as const, featureSet: 'vector' as const };
  const wf = await fit(ds, 'pca-logistic', 3);
  const oof = await calibrateOutOfFold(ds, chosen, wf, { seed: 3, folds: 5 });
  assert.ok(oof);
  const judged = { fitted: oof.fitted, calibration: oof.choice, outOfFold: true };
  const o = { seed: 3, folds: 5, hyper: {} };
  const saved = await modelToSave(ds, chosen, judged, { ...o, refit: 'all' });
  assert.ok(saved.everyWalk);
  const keepers = ds.y.reduce((a, b) => a + b, 0);
  assert.match(saved.calibration.source ?? '', new RegExp(`every walk \\(${keepers} keepers in 40 walks\\)`));
  // its out-of-fold probabilities, which its threshold is chosen on, cover every photo of every walk
  assert.equal(saved.heldOut?.prob.length, ds.y.length);
  assert.equal(
    saved.heldOut?.y.reduce((a, b) => a + b, 0),
    keepers,
  );
  // the very fit of the rows with the test walks training: it learnt them
  const every: Dataset = { ...ds, split: ds.split.map((s) => (s === 'val' || s === 'test' ? 'train' : s)) };
  const direct = await fit(every, 'pca-logistic', 3);
  assert.deepEqual(saved.fitted.params.weights, direct.params.weights);
  assert.notDeepEqual(saved.fitted.params.weights, oof.fitted.params.weights);
  // asked for the model the test figures describe, without out-of-fold calibration, or for a learner that stops
  // early (it needs its validation walks): the judged model itself
  assert.equal((await modelToSave(ds, chosen, judged, { ...o, refit: 'trainval' })).fitted, oof.fitted);
  assert.equal(
    (await modelToSave(ds, chosen, { ...judged, outOfFold: false }, { ...o, refit: 'all' })).fitted,
    oof.fitted,
  );
  const early = { arch: 'pairwise' as const, featureSet: 'vector' as const };
  assert.equal((await modelToSave(ds, early, judged, { ...o, refit: 'all' })).everyWalk, false);
});
