import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { DESCRIPTOR_VERSION } from '../lib/db/vectors.js';
import { Db, withDb } from '../lib/db/duckdb.js';
import { initBackend } from '../lib/tfjs/backend.js';
import {
  applyCalibration,
  chooseCalibration,
  chooseThreshold,
  fitIsotonic,
  fitPlatt,
  tradeoff,
  type Calibration,
} from '../lib/5-rank/calibrate.js';
import {
  averagePrecision,
  ece,
  evaluate,
  ndcgPerSession,
  pairedApDifference,
  percentileInterval,
  precisionAt,
  rocAuc,
  withinSessionPairAccuracy,
} from '../lib/5-rank/metrics.js';
import { scorerGraph } from '../lib/5-rank/graph.js';
import { OnnxScorer } from '../lib/onnx/scorer.js';
import { DESCRIPTOR_NAMES, pixelDescriptor } from '../lib/2-embed/descriptor.js';
import { failureReason } from '../lib/6-score/failures.js';
import { NOT_CONFIRMED_MAX, SCORE_TOLERANCE, scoredRow, surfacedAt } from '../lib/6-score/scoring.js';
import { scoreText } from '../lib/6-score/inbox-page.js';
import { recordedModelDir, recordModelDir } from '../lib/db/models.js';
import { currentModelDir, loadKeeperModel, modelGraph, type KeeperModel } from '../lib/5-rank/model-file.js';
import { scoreRows, type ScorerParams } from '../lib/5-rank/scorers.js';
import { checkFiniteWeights } from '../lib/5-rank/fit.js';
import { foldSplits, outOfFold } from '../lib/5-rank/folds.js';
import { apWord, formatTrain, verdict } from '../lib/5-rank/verdict.js';
import type { TrainReport } from '../lib/5-rank/train.js';
import { scorePhotos, trainAndScore } from '../lib/pipeline/train-and-score.js';
import { scoreInbox } from '../lib/pipeline/inbox.js';
import type { Dataset } from '../lib/4-dataset/rows.js';
import type { SampleResult } from '../lib/0-sample/generate.js';
import { Rng } from '../lib/util/rng.js';
import { matchedSmallSample, snapshot, tempDir } from './helpers.js';

const work = tempDir('rank');
after(() => work.cleanup());

test('ranking metrics on a hand-checked example', () => {
  // ranked: k n k n n (scores descending)
  const s = [0.9, 0.8, 0.7, 0.6, 0.5];
  const y = [1, 0, 1, 0, 0];
  assert.ok(Math.abs(averagePrecision(s, y) - (1 + 2 / 3) / 2) < 1e-12);
  // keepers beat 3 + 2 of the 2 x 3 pairs
  assert.ok(Math.abs(rocAuc(s, y) - 5 / 6) < 1e-12);
  assert.equal(precisionAt(s, y, 2), 0.5);
  // sessions: A = rows 0,1,2 (k n k), B = rows 3,4 (n n, no keeper)
  const sess = [0, 0, 0, 1, 1];
  assert.equal(withinSessionPairAccuracy(s, y, sess), ((1 / 2) * 2) / 2);
  assert.ok(Math.abs(ndcgPerSession(s, y, sess) - (1 + 1 / Math.log2(4)) / (1 + 1 / Math.log2(3))) < 1e-12);
  // ties get no credit for AP, half credit for AUC
  assert.equal(averagePrecision([1, 1], [1, 0]), 0.5);
  assert.equal(rocAuc([1, 1], [1, 0]), 0.5);
  // a perfectly calibrated constant: ECE 0
  assert.equal(ece([0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0]), 0);
  assert.ok(Math.abs(ece([0.9, 0.9], [0, 0]) - 0.9) < 1e-12);
});

test('bootstrap intervals resample sessions and bracket the estimate', () => {
  // the 2.5% and 97.5% points of 200 draws 1..200 lie alike inside each end: 5.975 and 195.025
  const draws = Array.from({ length: 200 }, (_, i) => 200 - i);
  const pi = percentileInterval(draws);
  assert.ok(Math.abs(pi.lo - 5.975) < 1e-9 && Math.abs(pi.hi - 195.025) < 1e-9, JSON.stringify(pi));
  assert.ok(Number.isNaN(percentileInterval([]).lo));
  const rng = new Rng(5);
  const n = 2000;
  const y = Array.from({ length: n }, () => (rng.chance(0.1) ? 1 : 0));
  const s = y.map((v) => v + rng.normal(0, 1));
  const sess = y.map((_, i) => i % 40);
  const m = evaluate(s, y, sess, { resamples: 200, seed: 1 });
  assert.ok(m.ap.lo < m.ap.value && m.ap.value < m.ap.hi, `AP ${m.ap.value} in [${m.ap.lo}, ${m.ap.hi}]`);
  assert.ok(m.auc.value > 0.7 && m.auc.hi - m.auc.lo < 0.1);
  assert.deepEqual(
    evaluate(s, y, sess, { resamples: 50, seed: 1 }).ap,
    evaluate(s, y, sess, { resamples: 50, seed: 1 }).ap,
    'seeded',
  );
});

test('paired AP difference: zero for the same scores, positive with an interval above zero for a clearly better model', () => {
  const rng = new Rng(8);
  const n = 3000;
  const y = Array.from({ length: n }, () => (rng.chance(0.05) ? 1 : 0));
  const good = y.map((v) => 2 * v + rng.normal(0, 1));
  const weak = y.map((v) => 0.3 * v + rng.normal(0, 1));
  const sess = y.map((_, i) => i % 50);
  const same = pairedApDifference(good, good, y, sess, { resamples: 100, seed: 2 });
  assert.deepEqual(same, { value: 0, lo: 0, hi: 0 });
  const d = pairedApDifference(good, weak, y, sess, { resamples: 200, seed: 2 });
  assert.ok(Math.abs(d.value - (averagePrecision(good, y) - averagePrecision(weak, y))) < 1e-12);
  assert.ok(d.lo > 0 && d.lo < d.value && d.value < d.hi, `${d.lo} < ${d.value} < ${d.hi}`);
  const back = pairedApDifference(weak, good, y, sess, { resamples: 200, seed: 2 });
  assert.ok(Math.abs(back.value + d.value) < 1e-12 && back.hi < 0, 'antisymmetric');
  // the paired interval is narrower than the two separate intervals side by side
  const a = evaluate(good, y, sess, { resamples: 200, seed: 2 }).ap;
  const b = evaluate(weak, y, sess, { resamples: 200, seed: 2 }).ap;
  assert.ok(d.hi - d.lo < a.hi - a.lo + (b.hi - b.lo));
  assert.throws(() => pairedApDifference([1], [1, 2], [1], [0]), /same length/);
});

test('out-of-fold scores: every photo of the walks in scope held out exactly once, training views never scored', async () => {
  await initBackend();
  const rng = new Rng(31);
  const walks = 20;
  const dim = 6;
  const ids: number[] = [],
    views: number[] = [],
    session: number[] = [],
    y: number[] = [],
    split: Array<'train' | 'val' | 'test'> = [],
    x: number[] = [];
  for (let w = 0; w < walks; w++) {
    const part = w < 14 ? 'train' : w < 17 ? 'val' : 'test';
    for (let i = 0; i < 30; i++) {
      const keeper = i < 2 ? 1 : 0;
      for (let v = 0; v < (part === 'train' ? 2 : 1); v++) {
        ids.push(w * 100 + i);
        views.push(v);
        session.push(w);
        y.push(keeper);
        split.push(part);
        for (let j = 0; j < dim; j++) x.push((j === 0 ? 3 * keeper : 0) + rng.normal(0, 1));
      }
    }
  }
  const ds: Dataset = {
    featureSet: 'descriptor+context',
    modelId: null,
    ids,
    views,
    dim,
    names: Array.from({ length: dim }, (_, j) => `f${j}`),
    x: Float32Array.from(x),
    scheme: 'session',
    y: Uint8Array.from(y),
    split,
    session: Int32Array.from(session),
    sessions: Array.from({ length: walks }, (_, w) => `w${w}`),
    missingVector: 0,
    splitSeed: 7,
    splitNote: null,
  };
  const all = await outOfFold(ds, 'logistic', 7, 5, { epochs: 20, learningRate: 0.05 }, 'all');
  const originals = ids.flatMap((_, i) => (views[i] === 0 ? [i] : []));
  assert.equal(all.folds, 5);
  assert.deepEqual(
    [...all.rows].sort((a, b) => a - b),
    originals,
    'each original once, no augmented view',
  );
  assert.ok(all.scores.every(Number.isFinite));
  // the largest seed --seed accepts: each fold's own seed wraps rather than overflowing
  const top = await outOfFold(ds, 'logistic', 0xffffffff, 3, { epochs: 2 }, 'all');
  assert.ok(top.folds === 3 && top.scores.every(Number.isFinite));
  assert.ok(
    averagePrecision(
      all.scores,
      all.rows.map((r) => y[r] as number),
    ) > 0.5,
    `the planted signal is found out of fold (AP ${averagePrecision(
      all.scores,
      all.rows.map((r) => y[r] as number),
    )})`,
  );
  // every walk is held out in exactly one round, with all its rows (views too), and never trains or validates then
  const rounds = foldSplits(ds, 7, 5, 'all');
  assert.equal(rounds.length, 5);
  for (let w = 0; w < walks; w++) {
    const rowsOfWalk = session.flatMap((s2, i) => (s2 === w ? [i] : []));
    const heldIn = rounds.filter((sp) => rowsOfWalk.every((i) => sp[i] === 'test'));
    assert.equal(heldIn.length, 1, `walk ${w} held out once`);
    for (const sp of rounds)
      assert.ok(new Set(rowsOfWalk.map((i) => sp[i])).size === 1, `walk ${w}: all its rows follow it`);
  }
  for (const sp of rounds) assert.ok(sp.includes('val') && sp.includes('train'));
  // two folds: one trains, one is held out, nothing validates (and out-of-fold scoring still works)
  const two = foldSplits(ds, 7, 2, 'all');
  assert.ok(two.every((sp) => !sp.includes('val') && sp.includes('train') && sp.includes('test')));
  assert.equal((await outOfFold(ds, 'logistic', 7, 2, { epochs: 5, learningRate: 0.05 }, 'all')).folds, 2);
  const tv = await outOfFold(ds, 'logistic', 7, 5, { epochs: 20, learningRate: 0.05 }, 'trainval');
  assert.ok(
    tv.rows.every((r) => split[r] !== 'test'),
    'the test walks stay untouched',
  );
  assert.equal(tv.rows.length, originals.filter((r) => split[r] !== 'test').length);
});

test('verdict wording: the paired difference in words, and the figure behind the choice follows the selection', () => {
  assert.equal(apWord({ value: 0.05, lo: 0.01, hi: 0.09 }), 'ahead (+0.050 [0.010, 0.090])');
  assert.equal(apWord({ value: 0.01, lo: -0.02, hi: 0.04 }), 'ahead within the noise (+0.010 [-0.020, 0.040])');
  assert.equal(apWord({ value: -0.01, lo: -0.04, hi: 0.02 }), 'behind within the noise (-0.010 [-0.040, 0.020])');
  assert.equal(apWord({ value: -0.05, lo: -0.09, hi: -0.01 }), 'behind (-0.050 [-0.090, -0.010])');
  assert.equal(apWord({ value: 0, lo: -0.02, hi: 0.02 }), 'level (+0.000 [-0.020, 0.020])');
  assert.equal(apWord(null), 'n/a');
  const e = (value: number): { value: number; lo: number; hi: number } => ({
    value,
    lo: value / 2,
    hi: Math.min(1, value * 2),
  });
  const metrics = (ap: number): TrainReport['winner']['test'] =>
    ({
      ap: e(ap),
      auc: e(0.7),
      p_at_36: e(0.1),
      p_at_1pct: e(0.1),
      p_at_5pct: e(0.1),
      session_pair_acc: e(0.6),
      session_ndcg: e(0.4),
      ece: e(0.02),
    }) as TrainReport['winner']['test'];
  const cand = (name: string, arch: 'pairwise' | 'logistic' | 'metadata', ap: number): TrainReport['winner'] => ({
    name,
    arch,
    featureSet: 'descriptor+context',
    valAp: 0.3,
    cv: { ap: NaN, auc: NaN, folds: 0 },
    test: metrics(ap),
    calibration: null,
    epochs: 1,
    seconds: 0,
  });
  const w = cand('pairwise · descriptor+context', 'pairwise', 0.2);
  const base = {
    winner: w,
    results: [w, cand('logistic · descriptor+context', 'logistic', 0.1), cand('metadata · context', 'metadata', 0.05)],
    photoSplit: null,
    data: {
      rows: 100,
      photos: 100,
      keepers: 10,
      train: 80,
      val: 10,
      test: 10,
      testKeepers: 1,
      keeperRate: 0.1,
      missingVector: 0,
    },
  };
  // cross-validation scored nothing, so validation AP chose: the verdict shows the validation figure, not n/a
  const byVal = verdict({ ...base, selection: 'validation AP', allWalks: null } as unknown as TrainReport);
  assert.match(byVal, /^Chosen: pairwise · descriptor\+context, by validation AP \(0\.300\)\./);
  assert.match(
    byVal,
    /Beats logistic regression on test AP: (yes, with intervals apart|higher, but the intervals overlap); beats the metadata-only model: (yes|higher)/,
  );
  const withAll = verdict({
    ...base,
    selection: 'validation AP',
    allWalks: {
      folds: 4,
      photos: 90,
      unscored: 10,
      keepers: 9,
      vsLogistic: { value: 0.02, lo: -0.01, hi: 0.05 },
      vsMetadata: { value: 0.1, lo: 0.03, hi: 0.2 },
      models: [
        { name: w.name, arch: 'pairwise', featureSet: 'descriptor+context', ap: e(0.3), auc: e(0.7), pairAcc: e(0.6) },
      ],
    },
  } as unknown as TrainReport);
  assert.match(
    withAll,
    /each held out once in 4 session folds \(9 keepers in 90 photos; 10 photos in walks no fold could train on left out\)/,
  );
  assert.match(
    withAll,
    /against logistic regression ahead within the noise \(\+0\.020 \[-0\.010, 0\.050\]\); against the metadata-only model ahead \(\+0\.100/,
  );
  // a learner refitted on the training and validation walks: its test figure, and which model was saved
  const refit = { ...base, selection: 'validation AP', allWalks: null, savedTest: metrics(0.25) };
  const trainval = verdict({ ...refit, everyWalk: null } as unknown as TrainReport);
  assert.match(
    trainval,
    /refitted on the training and validation walks [^.]*has test AP 0\.250 [^;]*; it is the saved model\./,
  );
  assert.doesNotMatch(trainval, /every walk/);
  const source = 'out-of-fold scores of every walk (12 keepers in 9 walks); the model refitted on those walks together';
  const every = verdict({
    ...refit,
    everyWalk: { calibration: { method: 'platt', a: 1, b: 0 }, source },
  } as unknown as TrainReport);
  assert.match(
    every,
    /has test AP 0\.250 \[0\.125, 0\.500\]\.\nThe saved model is that learner refitted on every walk, the test walks too/,
  );
  assert.match(every, /its calibration is fitted on out-of-fold scores of every walk \(12 keepers in 9 walks\)/);
  assert.doesNotMatch(every, /it is the saved model/);
});

test('Platt recovers a logistic curve; isotonic is monotone; the choice is by cross-validated log-loss', () => {
  const rng = new Rng(9);
  const s = Array.from({ length: 4000 }, () => rng.normal(0, 2));
  const y = s.map((v) => (rng.chance(1 / (1 + Math.exp(-(1.5 * v - 3)))) ? 1 : 0));
  const platt = fitPlatt(s, y) as Extract<Calibration, { method: 'platt' }>;
  assert.ok(Math.abs(platt.a - 1.5) < 0.2 && Math.abs(platt.b + 3) < 0.3, `a ${platt.a} b ${platt.b}`);
  const iso = fitIsotonic(s, y) as Extract<Calibration, { method: 'isotonic' }>;
  for (let i = 1; i < iso.y.length; i++)
    assert.ok((iso.y[i] as number) >= (iso.y[i - 1] as number) && (iso.x[i] as number) > (iso.x[i - 1] as number));
  const choice = chooseCalibration(
    s,
    y,
    s.map((_, i) => i % 10),
  );
  assert.equal(choice.calibration.method, 'platt', 'the true curve is logistic');
  // a step to a plateau at 0.3: isotonic follows it, a logistic curve must climb towards 1
  const y2 = s.map((v) => (v > 0 ? (rng.chance(0.3) ? 1 : 0) : rng.chance(0.01) ? 1 : 0));
  assert.equal(
    chooseCalibration(
      s,
      y2,
      s.map((_, i) => i % 10),
    ).calibration.method,
    'isotonic',
  );
  const prob = s.map((v) => applyCalibration(platt, v));
  const curve = tradeoff(prob, y);
  assert.ok(curve.every((p, i) => i === 0 || p.surfaced > (curve[i - 1] as { surfaced: number }).surfaced));
  const t = chooseThreshold(prob, y, { targetPrecision: 0.8 });
  assert.ok(t && t.precision >= 0.8);
  const b = chooseThreshold(prob, y, { budget: 0.05 });
  assert.ok(b && b.budget <= 0.05 && b.budget > 0.04);
});

test('isotonic calibration depends on the (score, label) pairs, not on the order of tied rows', () => {
  const curve = (s: number[], y: number[]): [number[], number[]] => {
    const c = fitIsotonic(s, y) as Extract<Calibration, { method: 'isotonic' }>;
    return [c.x, c.y];
  };
  // two tied rows at 0.5, one kept: the tie is one block, whichever row comes first
  assert.deepEqual(curve([0.4, 0.5, 0.5, 0.6], [1, 0, 1, 1]), curve([0.4, 0.5, 0.5, 0.6], [1, 1, 0, 1]));
  const [x] = curve([0.4, 0.5, 0.5, 0.6], [1, 0, 1, 1]);
  // 0.4 (rate 1) is above the tie's rate 1/2, so the three pool at their mean score; 0.6 (rate 1) stays apart
  assert.equal(x.length, 2);
  assert.ok(Math.abs((x[0] as number) - 1.4 / 3) < 1e-12 && x[1] === 0.6, `knots ${x}`);
  // many ties (a metadata-like score with five values): the same curve forwards and backwards
  const rng = new Rng(3);
  const s = Array.from({ length: 200 }, () => rng.int(0, 4));
  const y = s.map((v) => (rng.chance(0.02 + 0.03 * v) ? 1 : 0));
  const rev = (a: number[]): number[] => [...a].reverse();
  assert.deepEqual(curve(s, y), curve(rev(s), rev(y)));
  const [kx] = curve(s, y);
  assert.ok(
    kx.every((v, i) => i === 0 || v > (kx[i - 1] as number)),
    'knots strictly increase',
  );
});

test('the chance baseline draws from its seed: the same seed the same scores in any row order, another seed others', async () => {
  const x = new Float32Array(500 * 2);
  const ids = Array.from({ length: 500 }, (_, i) => 1000 + 7 * i);
  const y = Uint8Array.from(ids, (_, i) => (i % 25 === 0 ? 1 : 0));
  const data = {
    x,
    dim: 2,
    y,
    session: Int32Array.from(ids, (_, i) => i % 5),
    ids,
    train: ids.map((_, i) => i),
    val: [],
  };
  const { trainScorer } = await import('../lib/5-rank/scorers.js');
  const a = (await trainScorer('chance', data, {}, 1)).params;
  const b = (await trainScorer('chance', data, {}, 2)).params;
  const sa = scoreRows(a, x, 2, undefined, ids);
  assert.deepEqual(scoreRows((await trainScorer('chance', data, {}, 1)).params, x, 2, undefined, ids), sa);
  const back = ids.map((_, i) => 499 - i);
  assert.deepEqual(
    [...scoreRows(a, x, 2, back, ids)].reverse(),
    [...sa],
    'a photo keeps its score wherever its row is',
  );
  const sb = scoreRows(b, x, 2, undefined, ids);
  assert.ok(
    sb.some((v, i) => v !== sa[i]),
    'another seed, another draw',
  );
  assert.ok(sa.every((v) => v >= 0 && v < 1));
});

function randomParams(kind: ScorerParams['kind'], dim: number, rng: Rng): ScorerParams {
  const w = (shape: number[]): { shape: number[]; values: number[] } => ({
    shape,
    values: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal(0, 0.3)),
  });
  if (kind === 'linear') return { kind, weights: { W: w([dim, 1]), b: w([1]) } };
  if (kind === 'mlp')
    return { kind, weights: { W0: w([dim, 1]), W1: w([dim, 16]), b1: w([16]), W2: w([16, 1]), b2: w([1]) } };
  const C = w([4, 8]);
  for (let i = 0; i < 4; i++) {
    const row = C.values.slice(i * 8, i * 8 + 8);
    const l = Math.hypot(...row);
    for (let j = 0; j < 8; j++) C.values[i * 8 + j] = (row[j] as number) / l;
  }
  return { kind, weights: { W: w([dim, 8]), b: w([8]), C } };
}

test('the ONNX graph gives the TensorFlow.js scores on 1,000 rows within 1e-5, for every scorer and calibration', async () => {
  await initBackend();
  const rng = new Rng(21);
  const dim = 40;
  const n = 1000;
  const raw = Float32Array.from({ length: n * dim }, () => rng.normal(3, 2));
  raw[5] = NaN; // a missing context value
  const mean = Float32Array.from({ length: dim }, () => rng.normal(3, 0.5));
  const std = Float32Array.from({ length: dim }, () => rng.uniform(1, 3));
  const xs = Float32Array.from(raw, (v, i) =>
    Number.isNaN(v) ? 0 : (v - (mean[i % dim] as number)) / (std[i % dim] as number),
  );
  for (const kind of ['linear', 'mlp', 'proto'] as const) {
    const params = randomParams(kind, dim, rng);
    const tfScores = scoreRows(params, xs, dim);
    const sorted = [...tfScores].sort((a, b) => a - b);
    const cals: Calibration[] = [
      { method: 'platt', a: 1.7, b: -0.4 },
      {
        method: 'isotonic',
        x: [sorted[100] as number, sorted[500] as number, sorted[900] as number],
        y: [0.05, 0.3, 0.9],
      },
    ];
    for (const cal of cals) {
      const scorer = await OnnxScorer.load(scorerGraph(dim, { mean, std }, params, cal));
      const { prob, raw: onnxRaw } = await scorer.score(raw, dim);
      await scorer.close();
      let worst = 0;
      for (let i = 0; i < n; i++) {
        worst = Math.max(
          worst,
          Math.abs((onnxRaw[i] as number) - (tfScores[i] as number)),
          Math.abs((prob[i] as number) - applyCalibration(cal, tfScores[i] as number)),
        );
      }
      assert.ok(worst < 1e-5, `${kind}/${cal.method}: largest difference ${worst}`);
      // a threshold chosen on the double-precision scores surfaces the same photos through the single-precision graph;
      // with isotonic calibration the threshold at the top value surfaces the whole tied group above the last knot
      const t = cal.method === 'isotonic' ? 0.9 : applyCalibration(cal, sorted[950] as number);
      const exact = [...tfScores].map((v) => applyCalibration(cal, v));
      const got = [...prob].map((p) => surfacedAt(p, t));
      // none at or above the threshold is lost; none surfaced lies further below it than the two computations differ
      exact.forEach((e, i) => {
        if (e >= t) assert.ok(got[i], `${kind}/${cal.method}: photo ${i} at ${e} >= ${t} surfaced`);
        if (got[i]) assert.ok(e >= t - 2e-5, `${kind}/${cal.method}: photo ${i} at ${e} surfaced for ${t}`);
      });
      assert.ok(exact.filter((e) => e >= t).length >= 50, 'the top group is at or above the threshold');
    }
  }
  assert.deepEqual(
    [surfacedAt(Math.fround(0.7), 0.7), surfacedAt(0.69, 0.7), surfacedAt(0.99, null)],
    [true, false, false],
  );
});

test('a diverged model is said to be one; isotonic calibration passes over scores that are not numbers', async () => {
  const iso = fitIsotonic([NaN, 0.5, 0.7, Infinity, 0.2], [0, 1, 0, 1, 0]) as Extract<
    Calibration,
    { method: 'isotonic' }
  >;
  assert.ok(iso.x.every(Number.isFinite) && iso.x.length >= 1, JSON.stringify(iso));
  const w = (values: number[]): { shape: number[]; values: number[] } => ({ shape: [values.length], values });
  checkFiniteWeights({ kind: 'linear', weights: { W: w([0.1, -2]), b: w([0]) } }, 'logistic · vector');
  assert.throws(
    () =>
      checkFiniteWeights({ kind: 'linear', weights: { W: w([0.1, NaN]), b: w([0]) } }, 'logistic · vector', {
        learningRate: 5,
      }),
    /train logistic · vector: training diverged \(weight W is not finite\); lower --learning-rate \(it is 5\) or --epochs/,
  );
});

test('failure rules: black and blown-out featureless frames, not dark or foggy photographs', () => {
  const base = { brightness: 0.4, contrast: 0.2, dynamic_range: 0.6, clip_black: 0, clip_white: 0, sharpness: 3 };
  assert.equal(failureReason(base), null);
  assert.match(
    failureReason({ ...base, brightness: 0.1, contrast: 0.025, dynamic_range: 0.1 }) ?? '',
    /^black or badly underexposed frame/,
  );
  assert.match(failureReason({ ...base, brightness: 0.99, contrast: 0.02, dynamic_range: 0.1 }) ?? '', /^blown-out/);
  assert.match(
    failureReason({ ...base, brightness: 0.24, contrast: 0.024, dynamic_range: 0.098 }) ?? '',
    /^black or badly underexposed frame/,
  );
  assert.match(failureReason({ ...base, brightness: 0.92, clip_white: 0.75 }) ?? '', /^blown-out/);
  // bright but not blown out: a high-key photograph
  assert.equal(failureReason({ ...base, brightness: 0.85, contrast: 0.15, dynamic_range: 0.5, clip_white: 0.3 }), null);
  assert.match(failureReason({ ...base, clip_white: 0.95 }) ?? '', /^blown-out/);
  assert.match(failureReason({ ...base, sharpness: 0.1 }) ?? '', /^nothing in focus/);
  // a night scene: dark but with contrast; fog: flat but mid-grey
  assert.equal(failureReason({ ...base, brightness: 0.08, contrast: 0.06, dynamic_range: 0.25 }), null);
  assert.equal(failureReason({ ...base, brightness: 0.6, contrast: 0.03, dynamic_range: 0.12 }), null);
});

test('failure rules on real pixels: a black frame is named black, a dark frame of one colour is not, a night street with lit windows is no failure', () => {
  const w = 96,
    h = 64;
  const frame = (r: number, g: number, b: number, seed: number): Record<string, number> => {
    const rng = new Rng(seed);
    const px = new Uint8Array(w * h * 3);
    // a little sensor noise, as in a real capped-lens or pocket frame
    for (let i = 0; i < w * h; i++) {
      const n = rng.int(-2, 2);
      px.set(
        [r + n, g + n, b + n].map((v) => Math.max(0, Math.min(255, v))),
        i * 3,
      );
    }
    const d = pixelDescriptor(px, w, h);
    return Object.fromEntries(DESCRIPTOR_NAMES.map((name, i) => [name, d[i] as number]));
  };
  assert.match(failureReason(frame(6, 6, 7, 1)) ?? '', /^black or badly underexposed frame \(brightness 0\.0/);
  // a capped lens: each channel's own noise near zero is "saturated" in HSV terms, yet still black
  const capped = new Uint8Array(w * h * 3).map((_, i) => (i * 2654435761) >>> 29);
  const cappedD = pixelDescriptor(capped, w, h);
  assert.ok((cappedD[DESCRIPTOR_NAMES.indexOf('saturation')] as number) > 0.5, 'near-black noise reads as saturated');
  assert.match(
    failureReason(Object.fromEntries(DESCRIPTOR_NAMES.map((name, i) => [name, cappedD[i] as number]))) ?? '',
    /^black or badly underexposed frame/,
  );
  // a night street: dark, flat, but with lit windows (2% of the frame) it is a photograph
  const night = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      // 5% of the frame: dim lit windows in a row of buildings
      const window = y >= 16 && y < 48 && x % 8 < 3 && (y - 16) % 8 < 3 && x < 80;
      night.fill(window ? 40 : 2, (y * w + x) * 3, (y * w + x) * 3 + 3);
    }
  const nightD = pixelDescriptor(night, w, h);
  const nightM = Object.fromEntries(DESCRIPTOR_NAMES.map((name, i) => [name, nightD[i] as number]));
  // as flat and dark as a black frame by the featureless limits; its lights are what set it apart
  assert.ok(
    (nightM.brightness as number) < 0.05 &&
      (nightM.contrast as number) < 0.04 &&
      (nightM.dynamic_range as number) < 0.16,
    `a dark flat frame: ${JSON.stringify(nightM)}`,
  );
  assert.equal(failureReason(nightM), null, 'lights in the dark: not a failure');
  const blue = failureReason(frame(20, 45, 150, 2)) ?? '';
  assert.match(blue, /^dark featureless frame of one colour \(saturation 0\.8\d/);
  assert.doesNotMatch(blue, /black/);
});

// ---- on the small sample: train, retrain, score, export, inbox
let sample: SampleResult;
let dbFile: string;
let first: TrainReport;
/** A model whose auto-surface threshold comes from a review budget (so it has one on the small sample). */
let budgetModel: TrainReport | undefined;
let hasModel = false;

before(async () => {
  ({ sample, dbFile, hasModel } = await matchedSmallSample(work.dir));
  first = await trainAndScore({
    db: dbFile,
    arch: 'pairwise',
    modelsDir: join(work.dir, 'models-a'),
    seed: 3,
    resamples: 20,
    hyper: { epochs: 4 },
    skipPhotoSplit: true,
  });
});

test('flux train writes the keeper model folder with config, seed, features, embedding model, metrics and calibration', () => {
  for (const f of ['config.json', 'weights.json', 'calibration.json', 'metrics.json', 'model.onnx'])
    assert.ok(existsSync(join(first.dir, f)), f);
  const config = JSON.parse(readFileSync(join(first.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(config.seed, 3);
  assert.equal(config.arch, 'pairwise');
  assert.equal(config.featureSet, hasModel ? 'vector+descriptor+context' : 'descriptor+context');
  assert.equal(config.embeddingModel, hasModel ? 'mobilenetv2-int8' : null);
  assert.equal(config.descriptorVersion, DESCRIPTOR_VERSION, 'the pixel descriptor version of its rows');
  assert.ok(['platt', 'isotonic'].includes(config.calibration as string));
  assert.ok(first.data.keepers > 5 && first.data.test > 0 && first.data.val > 0);
  assert.ok(first.winner.test.ap.value > 0 && first.winner.test.ap.value <= 1);
});

test('flux train refuses, before training, keepers that do not reach the training, validation and test walks', async () => {
  // a copy beside the original (same workspace, so the same vectors) whose keepers all come from one walk
  const few = join(dirname(dbFile), 'one-walk.duckdb');
  copyFileSync(dbFile, few);
  const db = await Db.open(few);
  try {
    await db.run(
      `UPDATE photos SET keeper = false WHERE keeper AND session_date <> (SELECT min(session_date) FROM photos WHERE keeper)`,
    );
    assert.ok(Number(await db.value('SELECT count(*) FROM photos WHERE keeper')) >= 1);
  } finally {
    db.close();
  }
  const modelsDir = join(work.dir, 'models-few');
  await assert.rejects(
    trainAndScore({ db: few, arch: 'pairwise', modelsDir, resamples: 20, hyper: { epochs: 1 }, skipPhotoSplit: true }),
    /one-walk\.duckdb: \d+ keepers? in 1 walk; .* training needs keepers in all three/,
  );
  assert.ok(!existsSync(modelsDir) || readdirSync(modelsDir).length === 0, 'no model written');
  // matched but never embedded (a workspace of its own, without vectors; no pixel descriptors): run flux embed
  const bare = join(work.dir, 'not-embedded', 'flux.duckdb');
  mkdirSync(dirname(bare), { recursive: true });
  copyFileSync(dbFile, bare);
  await withDb(bare, (d) => d.run('DELETE FROM descriptors'));
  await assert.rejects(
    trainAndScore({ db: bare, arch: 'logistic', modelsDir, resamples: 20, skipPhotoSplit: true }),
    /not-embedded\/flux\.duckdb: no photo has been embedded yet \(no vectors, no pixel descriptors\); run flux embed first/,
  );
  // a models folder that cannot be made is refused before training too
  const blocked = join(work.dir, 'a-file');
  writeFileSync(blocked, 'not a folder');
  await assert.rejects(
    trainAndScore({
      db: dbFile,
      arch: 'pairwise',
      modelsDir: join(blocked, 'models'),
      resamples: 20,
      hyper: { epochs: 1 },
      skipPhotoSplit: true,
    }),
    (err: Error) =>
      err.message ===
      `--models-dir: cannot make the folder ${join(blocked, 'models')}: ${blocked} is a file, not a folder; ` +
        'choose another with --models-dir (or FLUX_MODELS)',
  );
  // settings out of range, named as the options
  const base = { db: dbFile, arch: 'pairwise' as const, modelsDir, resamples: 20, skipPhotoSplit: true };
  await assert.rejects(
    trainAndScore({ ...base, hyper: { epochs: 0 } }),
    /--epochs: expected an integer from 1 to 10000, received 0/,
  );
  await assert.rejects(
    trainAndScore({ ...base, hyper: { nearRate: -3 } }),
    /--near-rate: expected a number from 0 to 1, received -3/,
  );
  await assert.rejects(
    trainAndScore({ ...base, targetPrecision: 2 }),
    /--target-precision: expected a number from 0.01 to 1, received 2/,
  );
  await assert.rejects(
    trainAndScore({ ...base, budget: -1 }),
    /--budget: expected a number from 0.0001 to 1, received -1/,
  );
  await assert.rejects(
    trainAndScore({ ...base, budget: 0.05, targetPrecision: 0.9 }),
    /--target-precision and --budget: give one rule/,
  );
  assert.ok(!existsSync(modelsDir) || readdirSync(modelsDir).length === 0, 'no model written');
});

test('the metadata-only model reads the camera metadata alone, not the walk means of pixels, and scores', async () => {
  // a copy beside the original (the same workspace and vectors), so the shared database keeps its recorded model
  const meta = join(dirname(dbFile), 'metadata.duckdb');
  copyFileSync(dbFile, meta);
  const r = await trainAndScore({
    db: meta,
    arch: 'metadata',
    modelsDir: join(work.dir, 'models-metadata'),
    resamples: 20,
    skipPhotoSplit: true,
  });
  const model = loadKeeperModel(r.dir);
  assert.equal(model.featureSet, 'context');
  assert.ok(model.names.includes('hour_sin'), model.names.join());
  assert.deepEqual(
    model.names.filter((n) => n.startsWith('walk_') || (DESCRIPTOR_NAMES as readonly string[]).includes(n)),
    [],
  );
  // scored with the columns scoring loads: before, the training rows held 16 walk columns more than it loads
  const total = r.scored?.total ?? 0;
  assert.ok(total > 0 && (r.scored?.unscored ?? 0) < total, JSON.stringify(r.scored));
});

test("a model folder is recorded relative to the database: a project copied whole uses its own model, not the old place's", async () => {
  const a = join(work.dir, 'moved-a');
  mkdirSync(join(a, 'data'), { recursive: true });
  mkdirSync(join(a, 'models', 'keeper-x'), { recursive: true });
  writeFileSync(join(a, 'models', 'keeper-x', 'config.json'), '{}');
  const dbA = join(a, 'data', 'flux.duckdb');
  let db = await Db.open(dbA);
  try {
    await db.run('CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)');
    await recordModelDir(db, 'keeper_model', join(a, 'models', 'keeper-x'));
    assert.deepEqual(
      JSON.parse((await db.value<string>("SELECT value FROM meta WHERE key = 'keeper_model'")) as string),
      { rel: join('..', 'models', 'keeper-x'), abs: join(a, 'models', 'keeper-x') },
    );
  } finally {
    db.close();
  }
  const b = join(work.dir, 'moved-b');
  cpSync(a, b, { recursive: true });
  db = await Db.open(join(b, 'data', 'flux.duckdb'));
  try {
    assert.equal(await currentModelDir(db), join(b, 'models', 'keeper-x'));
    assert.equal(await recordedModelDir(db, 'keeper_scored_dir'), null);
    // an absolute path recorded by an older version is used as it is
    await db.run(`INSERT INTO meta VALUES ('keeper_scored_dir', ?)`, [join(a, 'models', 'keeper-x')]);
    assert.equal(await recordedModelDir(db, 'keeper_scored_dir'), join(a, 'models', 'keeper-x'));
  } finally {
    db.close();
  }
  // the database moved on its own, away from any models folder: the model is found where it was trained
  const alone = join(work.dir, 'moved-alone', 'deep', 'flux.duckdb');
  mkdirSync(dirname(alone), { recursive: true });
  copyFileSync(dbA, alone);
  db = await Db.open(alone, { readOnly: true });
  try {
    assert.equal(await currentModelDir(db), join(a, 'models', 'keeper-x'));
  } finally {
    db.close();
  }
});

test('flux score names the recorded model folder when it has gone, not an option never given', async () => {
  const moved = join(dirname(dbFile), 'model-gone.duckdb');
  copyFileSync(dbFile, moved);
  const db = await Db.open(moved);
  try {
    await db.run(`UPDATE meta SET value = ? WHERE key = 'keeper_model'`, [join(work.dir, 'deleted-model')]);
  } finally {
    db.close();
  }
  await assert.rejects(
    scorePhotos({ db: moved }),
    (e: Error) =>
      /model-gone\.duckdb: the keeper model .*deleted-model, is gone; run flux train/.test(e.message) &&
      !e.message.includes('--model-dir:'),
  );
});

test('a damaged model folder is named with what is wrong in it, not a parse error', async () => {
  const broken = (file: string, text: string): string => {
    const dir = join(work.dir, 'damaged', file.replace('.json', ''));
    cpSync(first.dir, dir, { recursive: true });
    writeFileSync(join(dir, file), text);
    return dir;
  };
  const cases: Array<[string, string, RegExp]> = [
    ['config.json', '{ not json', /config\.json: not a keeper model file \(.*JSON.*\); train again with flux train/],
    ['weights.json', '{}', /weights\.json: no list of column names; train again with flux train/],
    ['calibration.json', '{"calibration":{"method":"magic"}}', /calibration\.json: no calibration curve; train again/],
  ];
  for (const [file, text, message] of cases) {
    const dir = broken(file, text);
    assert.throws(() => loadKeeperModel(dir), message, file);
    await assert.rejects(scorePhotos({ db: dbFile, modelDir: dir }), message, file);
  }
  const weights = JSON.parse(readFileSync(join(first.dir, 'weights.json'), 'utf8')) as {
    standardizer: { mean: number[] };
  };
  weights.standardizer.mean.pop();
  assert.throws(
    () => loadKeeperModel(broken('weights.json', JSON.stringify(weights))),
    /weights\.json: no standardisation of its \d+ columns/,
  );
  assert.equal(loadKeeperModel(first.dir).id, first.id, 'the model as saved loads');
});

test('a retrain with the same seed gives the same model and scores; another seed does not', async () => {
  const scores = async (): Promise<Array<{ photo_id: number; keeper_score: number }>> => {
    const db = await Db.open(dbFile, { readOnly: true });
    try {
      return await db.all('SELECT photo_id, keeper_score FROM photos ORDER BY photo_id');
    } finally {
      db.close();
    }
  };
  const before = await scores();
  assert.ok(
    before.every((r) => r.keeper_score !== null),
    'training rescored every photo',
  );
  const again = await trainAndScore({
    db: dbFile,
    arch: 'pairwise',
    modelsDir: join(work.dir, 'models-b'),
    seed: 3,
    resamples: 20,
    hyper: { epochs: 4 },
    skipPhotoSplit: true,
  });
  assert.equal(again.id, first.id);
  assert.equal(
    readFileSync(join(again.dir, 'weights.json'), 'utf8'),
    readFileSync(join(first.dir, 'weights.json'), 'utf8'),
  );
  assert.deepEqual(await scores(), before, 'the same keeper scores');
  // the same weights under another surfacing rule are another model, in a folder of its own
  const budget = await trainAndScore({
    db: dbFile,
    arch: 'pairwise',
    modelsDir: join(work.dir, 'models-b'),
    seed: 3,
    resamples: 20,
    hyper: { epochs: 4 },
    skipPhotoSplit: true,
    budget: 0.05,
    score: false,
  });
  budgetModel = budget;
  assert.notEqual(budget.id, first.id);
  assert.match(readFileSync(join(budget.dir, 'config.json'), 'utf8'), /"rule": "review budget 0.05"/);
  assert.match(readFileSync(join(again.dir, 'config.json'), 'utf8'), /"rule": "precision >= 0.8 on validation"/);
  const other = await trainAndScore({
    db: dbFile,
    arch: 'pairwise',
    modelsDir: join(work.dir, 'models-c'),
    seed: 4,
    resamples: 20,
    hyper: { epochs: 4 },
    skipPhotoSplit: true,
  });
  assert.notEqual(
    readFileSync(join(other.dir, 'weights.json'), 'utf8'),
    readFileSync(join(first.dir, 'weights.json'), 'utf8'),
  );
  assert.notDeepEqual(await scores(), before, 'a retrain rescored the photos');
  // other labels (a keeper unlinked by review) or other out-of-fold folds are another model: the threshold the
  // portal refits for a model never follows its id to one it was not fitted on
  const relabelled = join(work.dir, 'relabelled.duckdb');
  copyFileSync(dbFile, relabelled);
  const db = await Db.open(relabelled);
  try {
    // one keeper's link moved to another photo of its walk: every count the same
    const [k] = await db.all<{ id: number; day: string }>(
      'SELECT photo_id AS id, CAST(session_date AS VARCHAR) AS day FROM photos WHERE keeper ORDER BY photo_id LIMIT 1',
    );
    await db.run(
      `UPDATE photos SET keeper = true WHERE photo_id = (SELECT min(photo_id) FROM photos
        WHERE NOT coalesce(keeper, false) AND CAST(session_date AS VARCHAR) = ?)`,
      [k?.day],
    );
    await db.run('UPDATE photos SET keeper = false WHERE photo_id = ?', [k?.id]);
  } finally {
    db.close();
  }
  const same = { arch: 'pairwise' as const, seed: 3, resamples: 20, hyper: { epochs: 4 }, skipPhotoSplit: true };
  const unlinked = await trainAndScore({
    ...same,
    db: relabelled,
    modelsDir: join(work.dir, 'models-d'),
    score: false,
  });
  assert.notEqual(unlinked.id, first.id, 'a keeper link moved within its walk');
  const folds = await trainAndScore({
    ...same,
    db: dbFile,
    modelsDir: join(work.dir, 'models-d'),
    folds: 4,
    score: false,
  });
  assert.notEqual(folds.id, first.id, 'four folds');
});

test('flux score: every photo scored in [0, 1], confirmed keepers 1.0, black and white misfires 0.0 with the reason', async () => {
  const r = await scorePhotos({ db: dbFile, modelDir: first.dir });
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    const rows = await db.all<{
      path: string;
      keeper: boolean;
      keeper_score: number | null;
      keeper_band: string;
      score_reason: string | null;
    }>('SELECT path, keeper, keeper_score, keeper_band, score_reason FROM photos');
    assert.equal(r.counts.total, rows.length);
    for (const row of rows) {
      assert.ok(
        row.keeper_score !== null && row.keeper_score >= 0 && row.keeper_score <= 1,
        `${row.path}: ${row.keeper_score}`,
      );
      if (row.keeper) assert.equal(row.keeper_score, 1);
      const expected = row.keeper
        ? 'keeper'
        : row.score_reason && row.keeper_band === 'failure'
          ? 'failure'
          : row.keeper_score >= 0.8
            ? 'review'
            : row.keeper_score >= 0.5
              ? 'uncertain'
              : 'unlikely';
      assert.equal(row.keeper_band, expected, row.path);
    }
    const byPath = new Map(rows.map((x) => [x.path, x]));
    const misfires = sample.truth.photos.filter((p) => p.misfire === 'black' || p.misfire === 'white');
    assert.ok(misfires.length > 0, 'the sample has black or white misfires');
    for (const m of misfires) {
      const row = byPath.get(m.path);
      assert.equal(row?.keeper_score, 0, m.path);
      assert.match(row?.score_reason ?? '', m.misfire === 'black' ? /black or badly underexposed frame/ : /blown-out/);
    }
    // a failure is a misfire of the sample, or a frame that is black or white to the eye (mean luma within 2% of 0
    // or 1)
    const misfire = new Set(sample.truth.photos.filter((p) => p.misfire !== null).map((p) => p.path));
    const extreme = new Set(
      (
        await db.all<{
          path: string;
        }>(`SELECT p.path FROM photos p JOIN descriptors d ON d."set" = 'photos' AND d.id = p.photo_id
      WHERE d.brightness < 0.02 OR d.brightness > 0.98`)
      ).map((x) => x.path),
    );
    for (const x of rows.filter((r) => r.keeper_band === 'failure'))
      assert.ok(misfire.has(x.path) || extreme.has(x.path), `${x.path}: ${x.score_reason}`);
  } finally {
    db.close();
  }
});

test('the exported graph equals the TensorFlow.js model with its calibration on the sample rows', async () => {
  const model = loadKeeperModel(first.dir);
  const { loadFeatures, standardize } = await import('../lib/4-dataset/rows.js');
  const { workspaceOf } = await import('../lib/2-embed/embed.js');
  const db = await Db.open(dbFile, { readOnly: true });
  const rows = await loadFeatures(db, await workspaceOf(db), {
    set: 'photos',
    featureSet: model.featureSet,
    modelId: model.embeddingModel,
  });
  db.close();
  const xs = standardize(rows.x, rows.dim, {
    mean: Float32Array.from(model.standardizer.mean),
    std: Float32Array.from(model.standardizer.std),
  });
  const tfProb = scoreRows(model.params, xs, rows.dim).map((v) => applyCalibration(model.calibration.calibration, v));
  const scorer = await OnnxScorer.load(modelGraph(model));
  const { prob } = await scorer.score(rows.x, rows.dim);
  await scorer.close();
  let worst = 0;
  for (let i = 0; i < prob.length; i++) worst = Math.max(worst, Math.abs((prob[i] as number) - (tfProb[i] as number)));
  assert.ok(worst < 1e-5, `largest difference ${worst} over ${prob.length} rows`);
});

test('inbox scoring: scores and a report outside the inbox; bad files reported and skipped; nothing written in inbox or archive', async () => {
  // a first inbox of nothing readable: its files named as skipped, no photo scored (not "run flux embed first")
  const unreadable = join(work.dir, 'inbox-unreadable');
  mkdirSync(unreadable, { recursive: true });
  writeFileSync(join(unreadable, 'R0099997.JPG'), 'not a JPEG');
  const none = await scoreInbox({
    db: dbFile,
    modelDir: first.dir,
    inbox: unreadable,
    out: join(work.dir, 'none.html'),
  });
  assert.deepEqual([none.skipped.map((s) => s.path), none.counts.total], [['R0099997.JPG'], 0]);
  const inbox = join(work.dir, 'inbox');
  mkdirSync(inbox, { recursive: true });
  for (const f of readdirSync(sample.inbox)) copyFileSync(join(sample.inbox, f), join(inbox, f));
  const good = readdirSync(inbox).filter((f) => /\.jpe?g$/i.test(f));
  writeFileSync(join(inbox, 'R0099998.JPG'), readFileSync(join(inbox, good[0] as string)).subarray(0, 300));
  writeFileSync(join(inbox, 'R0099999.JPG'), '');
  const before = { inbox: snapshot(inbox), originals: snapshot(sample.originals), keepers: snapshot(sample.keepers) };
  const out = join(work.dir, 'reports', 'inbox.html');
  const r = await scoreInbox({ db: dbFile, modelDir: first.dir, inbox, out });
  assert.deepEqual(snapshot(inbox), before.inbox);
  assert.deepEqual(snapshot(sample.originals), before.originals);
  assert.deepEqual(snapshot(sample.keepers), before.keepers);
  assert.deepEqual(r.skipped.map((s) => s.path).sort(), ['R0099998.JPG', 'R0099999.JPG']);
  const db = await Db.open(dbFile, { readOnly: true });
  const rows = await db.all<{ path: string; keeper_score: number; band: string }>(
    'SELECT path, keeper_score, band FROM inbox_scores ORDER BY path',
  );
  db.close();
  assert.deepEqual(rows.map((x) => x.path).sort(), good.sort());
  for (const x of rows)
    assert.ok(
      x.keeper_score >= 0 && x.keeper_score <= 1 && ['review', 'uncertain', 'unlikely', 'failure'].includes(x.band),
    );
  const html = readFileSync(out, 'utf8');
  assert.equal((html.match(/<figure/g) ?? []).length, good.length);
  assert.ok(html.includes('R0099998.JPG') && html.includes('data:image/jpeg;base64,'));
  // sorted by score: the first card is the best photo
  const best = rows.reduce((a, b) => (b.keeper_score > a.keeper_score ? b : a));
  assert.ok(
    html.indexOf(best.path) < html.indexOf((rows.find((x) => x !== best) as { path: string }).path) ||
      rows.length === 1,
  );
  await assert.rejects(
    scoreInbox({ db: dbFile, modelDir: first.dir, inbox, out: join(inbox, 'report.html') }),
    /--out: .* inside the archive folder inbox/,
  );
  await assert.rejects(
    scoreInbox({ db: dbFile, modelDir: first.dir, inbox, out: work.dir }),
    /--out: .* is a folder; name the file to write, e.g. .*inbox\.html/,
  );
  // a folder not there yet, named with a trailing slash: refused, not written as a file of that name
  await assert.rejects(
    scoreInbox({ db: dbFile, modelDir: first.dir, inbox, out: join(work.dir, 'not-yet') + '/' }),
    /--out: .*not-yet\/ names a folder; name the file to write, e.g. .*not-yet\/inbox\.html/,
  );
  assert.ok(!existsSync(join(work.dir, 'not-yet')));
  // the next inbox replaces the last: its scores list only its own photos
  const inbox2 = join(work.dir, 'inbox2');
  mkdirSync(inbox2, { recursive: true });
  for (const f of good.slice(0, 2)) copyFileSync(join(inbox, f), join(inbox2, f));
  // and a copy of a confirmed keeper's original, under another name: it is said to be in the archive already
  const db1 = await Db.open(dbFile, { readOnly: true });
  const kept = await db1.value<string>('SELECT min(path) FROM photos WHERE keeper');
  db1.close();
  copyFileSync(join(sample.originals, kept as string), join(inbox2, 'zz-copy.JPG'));
  await scoreInbox({ db: dbFile, modelDir: first.dir, inbox: inbox2, out: join(work.dir, 'reports', 'inbox2.html') });
  const db2 = await Db.open(dbFile, { readOnly: true });
  const rows2 = await db2.all<{ path: string; reason: string | null }>(
    'SELECT path, reason FROM inbox_scores ORDER BY path',
  );
  db2.close();
  assert.deepEqual(
    rows2.map((x) => x.path),
    [...good.slice(0, 2).sort(), 'zz-copy.JPG'],
  );
  assert.match(
    rows2.at(-1)?.reason ?? '',
    new RegExp(
      `already in the originals as ${(kept as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, a confirmed keeper`,
    ),
  );
  assert.ok(
    rows2.slice(0, 2).every((x) => !/already/.test(x.reason ?? '')),
    'new photos are not said to be known',
  );
  // a new card reuses a file name for another photo: it is a new photo, embedded afresh, not the old one's vector
  const inbox3 = join(work.dir, 'inbox3');
  mkdirSync(inbox3, { recursive: true });
  copyFileSync(join(inbox, good[2] as string), join(inbox3, good[0] as string));
  await scoreInbox({ db: dbFile, modelDir: first.dir, inbox: inbox3, out: join(work.dir, 'reports', 'inbox3.html') });
  const { idFromSha, sha256 } = await import('../lib/util/fsutil.js');
  const sha2 = sha256(readFileSync(join(inbox, good[2] as string)));
  const db3 = await Db.open(dbFile, { readOnly: true });
  const desc = async (sql: string, arg: string | number): Promise<Array<Record<string, number>>> =>
    db3.all(`SELECT d.* EXCLUDE ("set", id) FROM descriptors d WHERE d."set" = 'inbox' AND d.id = (${sql})`, [arg]);
  const now = await desc('SELECT inbox_id FROM inbox_photos WHERE path = ?', good[0] as string);
  const before2 = await desc('SELECT ?', idFromSha(sha256(`inbox:${good[2]}:${sha2}`)));
  db3.close();
  assert.equal(now.length, 1);
  assert.deepEqual(
    now,
    before2,
    'the descriptor of the photo now under that name, as computed when it had its own name',
  );
  await assert.rejects(
    scoreInbox({ db: dbFile, modelDir: first.dir, inbox: join(work.dir, 'no-such-inbox') }),
    /--inbox/,
  );
  // a folder without photos (a wrong path, an empty card) is refused: the inbox scored before stays
  const empty = join(work.dir, 'inbox-empty');
  mkdirSync(join(empty, 'sub'), { recursive: true });
  writeFileSync(join(empty, 'sub', 'notes.txt'), 'no photos here');
  await assert.rejects(
    scoreInbox({ db: dbFile, modelDir: first.dir, inbox: empty }),
    /--inbox: no JPEG found in .*inbox-empty \(looked in it and every folder below it\); the 1 file indexed as the inbox before is kept$/,
  );
  const db4 = await Db.open(dbFile, { readOnly: true });
  const kept3 = await db4.all<{ path: string }>('SELECT path FROM inbox_photos ORDER BY path');
  db4.close();
  assert.deepEqual(
    kept3.map((x) => x.path),
    [good[0]],
  );
});

test("the auto-surface threshold surfaces photos whatever their band; ties of the calibration keep the model's order", async () => {
  assert.ok(budgetModel, 'the budget model was trained');
  const m = budgetModel as TrainReport;
  const t = m.threshold.point?.threshold;
  assert.ok(typeof t === 'number', 'a 5% review budget always gives a threshold');
  // what the threshold does on the test walks, which had no say in it
  const tt = m.threshold.test;
  assert.ok(
    tt &&
      tt.surfaced >= 0 &&
      Math.abs(tt.budget - tt.surfaced / m.data.test) < 1e-12 &&
      (tt.precision === null || (tt.precision >= 0 && tt.precision <= 1)),
    JSON.stringify(tt),
  );
  assert.match(formatTrain(m), new RegExp(`on the test walks it surfaces ${tt?.surfaced} photos`));
  const inbox = join(work.dir, 'inbox-surface');
  mkdirSync(inbox, { recursive: true });
  for (const f of readdirSync(sample.inbox)) copyFileSync(join(sample.inbox, f), join(inbox, f));
  const out = join(work.dir, 'reports', 'inbox-surface.html');
  const r = await scoreInbox({ db: dbFile, modelDir: m.dir, inbox, out });
  assert.equal(r.threshold, t);
  const db = await Db.open(dbFile, { readOnly: true });
  const rows = await db.all<{
    path: string;
    keeper_score: number | null;
    raw_score: number | null;
    band: string;
    surfaced: boolean;
  }>('SELECT path, keeper_score, raw_score, band, surfaced FROM inbox_scores');
  db.close();
  for (const x of rows) {
    const should: boolean =
      x.keeper_score !== null && !['failure', 'keeper'].includes(x.band) && x.keeper_score >= (t as number);
    assert.equal(x.surfaced, should, `${x.path}: ${x.keeper_score} against ${t}`);
  }
  assert.equal(r.counts.surfaced, rows.filter((x) => x.surfaced).length);
  const html = readFileSync(out, 'utf8');
  assert.equal((html.match(/class="card surfaced"/g) ?? []).length, r.counts.surfaced);
  assert.match(html, new RegExp(`surfaced automatically: ${r.counts.surfaced}`));
  // cards by score, then by the raw score among equal scores
  const order = [...html.matchAll(/<img src="data:[^"]*" alt="([^"]+)">/g)].map((x) => x[1]);
  const byPath = new Map(rows.map((x) => [x.path, x]));
  const listed = order.map((p) => byPath.get(p as string)).filter((x) => x && x.keeper_score !== null) as typeof rows;
  for (let i = 1; i < listed.length; i++) {
    const a = listed[i - 1] as (typeof rows)[number],
      b = listed[i] as (typeof rows)[number];
    assert.ok(
      (a.keeper_score as number) > (b.keeper_score as number) ||
        (a.keeper_score === b.keeper_score && (a.raw_score as number) >= (b.raw_score as number)),
      `${a.path} before ${b.path}`,
    );
  }
  // the corpus too: scored with this model, the photos at or above the threshold are marked
  await scorePhotos({ db: dbFile, modelDir: m.dir });
  const d2 = await Db.open(dbFile, { readOnly: true });
  const [c] = await d2.all<{ wrong: number; surfaced: number }>(
    // the same tolerance as surfacedAt: a photo a rounding below the threshold is surfaced
    `SELECT count(*) FILTER (WHERE surfaced <> (keeper_band NOT IN ('keeper', 'failure', 'unscored')
      AND keeper_score >= ? - ${SCORE_TOLERANCE})) AS wrong,
    count(*) FILTER (WHERE surfaced) AS surfaced FROM photos`,
    [t],
  );
  d2.close();
  assert.equal(c?.wrong, 0);
  assert.ok((c?.surfaced ?? 0) > 0, 'a 5% budget surfaces some photos');
  assert.deepEqual(
    [0, 0.0004, 0.126, 0.994, 0.996, 1].map(scoreText),
    ['0.00', '<0.01', '0.13', '0.99', '>0.99', '1.00'],
    'a score just under 1 is not shown as the 1.00 of a confirmed keeper',
  );
  // a model probability that rounds to 1 is no confirmed keeper: its score stays below 1.0, its model figure as it is
  const model = { embeddingModel: 'm' } as KeeperModel;
  const top = scoredRow(5, 1, 30, false, undefined, model, 0.9);
  assert.deepEqual([top.score, top.model, top.band, top.surfaced], [NOT_CONFIRMED_MAX, 1, 'review', true]);
  assert.equal(scoreText(top.score as number), '>0.99');
  assert.deepEqual(
    [scoredRow(6, 0.3, 0, true, undefined, model, 0.9)].map((r) => [r.score, r.band]),
    [[1, 'keeper']],
  );
});

test('flux train compares every ranker with intervals and a verdict; flux export-onnx writes a graph that loads', async () => {
  const { spawnSync } = await import('node:child_process');
  const { PROJECT } = await import('./helpers.js');
  const flux = join(PROJECT, 'dist', 'lib', 'cli', 'flux.js');
  const models = join(work.dir, 'models-cli');
  const r = spawnSync(
    process.execPath,
    [flux, 'train', '--db', dbFile, '--models-dir', models, '--epochs', '3', '--resamples', '20'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  for (const name of [
    'pairwise · ',
    'contrastive · ',
    'contrastive-multi · ',
    'logistic · ',
    'pca-logistic · ',
    'metadata · context',
    'chance · ',
  ])
    assert.ok(r.stdout.includes(name), name);
  assert.match(r.stdout, /test AP \[95% CI\]/);
  // no person detector has been run on this database: said, with what brings the people columns in
  assert.match(
    r.stdout,
    /\npeople columns: not compared, no corpus photo has been through a person detector; flux detect/,
  );
  assert.match(
    r.stdout,
    /Chosen: (pairwise|contrastive|contrastive-multi|logistic|pca-logistic) · \S+, by the decision rule \((superior|equivalent|undecided)\)/,
  );
  // the rule is stated before its evidence, and its decision printed
  assert.match(r.stdout, /Decision rule \(fixed before the run\): .* equivalent if inside \+-0\.01 AP/);
  assert.match(r.stdout, /baseline pca-logistic · \S+: AP 0\.\d{3}/);
  // logistic regression beside the vector trains on its 32 leading components, and says so; pairwise on it whole
  assert.match(
    r.stdout,
    /\n {2}logistic · vector\+descriptor\+context \(the vector reduced to 32 components\): AP 0\.\d{3}/,
  );
  assert.match(r.stdout, /\n {2}pairwise · vector\+descriptor\+context: AP 0\.\d{3}/);
  assert.match(r.stdout, /Rule decision: /);
  // beside its decision, the positive controls recorded by the controls bench (the repository's bench/controls.json)
  assert.match(
    r.stdout,
    /Rule decision: [^\n]*\nPositive controls \(planted tastes at the real feature width, recorded by the controls bench, \S*bench\/controls\.json; \d+ outcomes, (none wrong|\d+ WRONG)\):\n  additive taste, \d+ keepers/,
  );
  // the chosen model is held against logistic regression on its own features, on the test walks too
  // a final model refitted on the training and validation walks (no early stopping) gets its own test figure, in
  // metrics.json and in words (this sample's 15 keepers are too few for the out-of-fold calibration that refits)
  const chosenArch = /Chosen: ([\w-]+) · /.exec(r.stdout)?.[1] as string;
  // never logistic regression against itself
  assert.match(
    r.stdout,
    chosenArch === 'logistic'
      ? /Beats logistic regression on test AP: it is logistic regression;/
      : /Beats logistic regression on test AP: (yes|no|higher)/,
  );
  const savedDir = /\nsaved: (\S+)/.exec(r.stdout)?.[1] ?? readdirSync(models).map((d) => join(models, d))[0];
  const written = JSON.parse(readFileSync(join(savedDir as string, 'metrics.json'), 'utf8')) as TrainReport;
  const saved = written.savedTest;
  // the test walks' scores stay in memory; the saved model is the one the test figures describe
  assert.ok(!('testScores' in written) && written.everyWalk === null, 'no test scores, no refit on every walk');
  assert.ok(saved === null, `no refit here: ${JSON.stringify(saved)?.slice(0, 80)}`);
  assert.doesNotMatch(r.stdout, /refitted on the training and validation walks|refitted on every walk/);
  assert.ok(chosenArch);
  const chosenSet = /Chosen: [\w-]+ · ([\w+]+),/.exec(r.stdout)?.[1];
  assert.ok(
    chosenSet && r.stdout.includes(`for logistic · ${chosenSet},`),
    `the verdict compares with logistic · ${chosenSet}`,
  );
  const db = await Db.open(dbFile, { readOnly: true });
  // test metrics per model (the all-walks rows aside) and which model won
  const models2 = await db.all<{
    model: string;
    metrics: number;
    winners: number;
  }>(`SELECT model, count(*) FILTER (WHERE metric NOT LIKE 'all_walks_%') AS metrics,
    count(*) FILTER (WHERE winner) AS winners FROM ranker_comparison GROUP BY model`);
  const all = await db.all<{ model: string; winner: boolean; metric: string; value: number; lo: number; hi: number }>(
    `SELECT model, winner, metric, value, lo, hi FROM ranker_comparison WHERE metric LIKE 'all_walks_%' ORDER BY model, metric`,
  );
  const recorded = await db.value<string>(`SELECT value FROM meta WHERE key = 'keeper_model'`);
  db.close();
  // with an embedding model: three feature sets for each candidate; without one, descriptor and context only
  assert.equal(models2.length, hasModel ? 13 : 7);
  assert.ok(
    models2.every((m) => m.metrics === 8),
    JSON.stringify(models2),
  );
  assert.equal(models2.filter((m) => m.winners > 0).length, 1);
  // every walk held out once: the chosen model, logistic regression on its features and the metadata-only model
  assert.match(r.stdout, /Over all walks, each held out once in [3-5] session folds \(\d+ keepers in \d+ photos/);
  assert.match(
    r.stdout,
    /Difference in AP over all walks \(paired session bootstrap\): against logistic regression (ahead|behind)/,
  );
  assert.equal(all.length, 6);
  assert.equal(new Set(all.filter((a) => a.winner).map((a) => a.model)).size, 1);
  assert.ok(all.some((a) => a.model.startsWith('logistic · ')) && all.some((a) => a.model === 'metadata · context'));
  assert.ok(
    all.every((a) => a.value > 0 && a.value <= 1 && a.lo <= a.hi && a.lo >= 0 && a.hi <= 1),
    JSON.stringify(all),
  );
  const rec = JSON.parse(recorded as string) as { rel: string; abs: string };
  assert.ok(
    !isAbsolute(rec.rel) && resolve(dirname(dbFile), rec.rel).startsWith(models) && rec.abs.startsWith(models),
    `recorded relative to the database and absolute: ${recorded}`,
  );
  const out = join(work.dir, 'export', 'keeper.onnx');
  const e = spawnSync(process.execPath, [flux, 'export-onnx', '--db', dbFile, '--out', out], { encoding: 'utf8' });
  assert.equal(e.status, 0, e.stderr);
  const scorer = await OnnxScorer.load(out);
  const model = loadKeeperModel(rec.abs);
  const { prob } = await scorer.score(new Float32Array(model.dim * 2).fill(NaN), model.dim);
  await scorer.close();
  assert.ok(
    prob.every((p) => p >= 0 && p <= 1),
    'an all-missing row still scores (imputed to the training mean)',
  );
  // bad input, in-process through the command line's own function: refused by name, nothing written
  const { fluxHere } = await import('./helpers.js');
  const bad = await fluxHere(['train', '--db', dbFile, '--arch', 'forest']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--arch: expected one of/);
  const badFolds = await fluxHere(['train', '--db', dbFile, '--folds', '2']);
  assert.equal(badFolds.status, 1);
  assert.match(badFolds.stderr, /--folds/);
  const badAll = await fluxHere(['train', '--db', dbFile, '--all-walks', 'maybe']);
  assert.equal(badAll.status, 1);
  assert.match(badAll.stderr, /--all-walks: expected one of/);
  const badReduce = await fluxHere(['train', '--db', dbFile, '--vector-pca', '-3']);
  assert.equal(badReduce.status, 1);
  assert.match(badReduce.stderr, /--vector-pca/);
  // the folder flux train writes into, given where one model's folder is wanted: the newest model there is named
  const modelsRoot = await fluxHere(['score', '--db', dbFile, '--model-dir', models]);
  assert.equal(modelsRoot.status, 1);
  assert.ok(
    modelsRoot.stderr.includes(
      `--model-dir: ${models} is a folder flux train writes models into (1 model there); name one model's folder, ` +
        `such as ${rec.abs} (the newest), or leave --model-dir out for the current model`,
    ),
    modelsRoot.stderr,
  );
  // a wrong --db path is named and nothing is created there
  const missing = join(work.dir, 'no-such', 'flux.duckdb');
  for (const cmd of [
    ['train'],
    ['score'],
    ['embed'],
    ['match'],
    ['report', '--out', join(work.dir, 'r.html')],
    ['export-onnx', '--out', join(work.dir, 'x.onnx')],
  ]) {
    const r2 = await fluxHere([cmd[0] as string, '--db', missing, ...cmd.slice(1)]);
    assert.equal(r2.status, 1, cmd.join(' '));
    assert.match(r2.stderr, /--db: no database at .*no-such.*flux ingest/, cmd.join(' '));
  }
  assert.equal(existsSync(join(work.dir, 'no-such')), false);
});

test('the archive guard: a folder inside the archive whose name starts with two dots is inside; a sibling is not', async () => {
  const { isInside, assertOutsideArchive } = await import('../lib/util/fsutil.js');
  assert.equal(isInside('/a/archive/x/y.html', '/a/archive'), true);
  assert.equal(isInside('/a/archive', '/a/archive'), true);
  assert.equal(isInside('/a/archive/..thumbs/r.html', '/a/archive'), true);
  assert.equal(isInside('/a/archive2/r.html', '/a/archive'), false);
  assert.equal(isInside('/a/r.html', '/a/archive'), false);
  assert.throws(
    () => assertOutsideArchive('--models-dir', '/a/archive/models', { originals: '/a/archive' }),
    /--models-dir: .* inside the archive folder originals/,
  );
});
