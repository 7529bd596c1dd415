import assert from 'node:assert/strict';
import test from 'node:test';
import { fitStandardizer, standardize, type Dataset } from '../lib/4-dataset/rows.js';
import type { SplitName } from '../lib/4-dataset/split.js';
import { decide, DEFAULT_RULE, ruleText } from '../lib/5-rank/decide.js';
import { foldSplits, outOfFold } from '../lib/5-rank/folds.js';
import { fit, rowsOf, valTrains, type CandidateResult } from '../lib/5-rank/fit.js';
import { compareOverAllWalks } from '../lib/5-rank/compare.js';
import { timeForward, timeForwardSplit } from '../lib/5-rank/time-forward.js';
import { scoreRows } from '../lib/5-rank/scorers.js';
import { averagePrecision } from '../lib/5-rank/metrics.js';
import { bestSetting, innerView, MAX_BUDGET, mostChosen, settingText, tuningGrid } from '../lib/5-rank/nested.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { Rng } from '../lib/util/rng.js';

/**
 * Walks whose keepers differ from the rest only along one column that varies on its own (eigenvalue about 1 after
 * standardising), beside 40 blocks of three strongly correlated columns (eigenvalue about 3): PCA to 16 or 32
 * components keeps the blocks and misses the signal, PCA to 64 keeps every column. The right setting is known.
 */
function plantedWidth(seed: number): Dataset {
  const rng = new Rng(seed);
  const blocks = 40;
  const dim = blocks * 3 + 20;
  const walks = 30;
  const ids: number[] = [];
  const session: number[] = [];
  const y: number[] = [];
  const x: number[] = [];
  for (let w = 0; w < walks; w++) {
    for (let i = 0; i < 40; i++) {
      const keeper = i < 2 ? 1 : 0;
      ids.push(w * 100 + i);
      session.push(w);
      y.push(keeper);
      for (let b = 0; b < blocks; b++) {
        const f = rng.normal(0, 1);
        for (let j = 0; j < 3; j++) x.push(f + rng.normal(0, 0.1));
      }
      // column 0 of the independent ones carries the taste
      for (let j = 0; j < 20; j++) x.push((j === 0 ? 2.5 * keeper : 0) + rng.normal(0, 1));
    }
  }
  const n = ids.length;
  return {
    featureSet: 'descriptor+context',
    modelId: null,
    ids,
    views: new Array<number>(n).fill(0),
    dim,
    names: Array.from({ length: dim }, (_, j) => `f${j}`),
    x: Float32Array.from(x),
    scheme: 'session',
    y: Uint8Array.from(y),
    split: new Array<'train'>(n).fill('train'),
    session: Int32Array.from(session),
    sessions: Array.from({ length: walks }, (_, w) => `w${w}`),
    missingVector: 0,
    splitSeed: 7,
    splitNote: null,
  };
}

test('nested tuning: equal budgets, the default first, a setting that cannot be judged never wins', () => {
  assert.ok(MAX_BUDGET >= 4);
  for (const arch of ['pca-logistic', 'logistic', 'pairwise', 'contrastive', 'contrastive-multi'] as const) {
    assert.equal(tuningGrid(arch, 3).length, 3, arch);
    assert.deepEqual(tuningGrid(arch, 1), [{}], `${arch}: a budget of 1 is the defaults`);
  }
  assert.throws(() => tuningGrid('pairwise', 0), /--tune/);
  assert.throws(() => tuningGrid('pairwise', MAX_BUDGET + 1), /--tune/);
  assert.equal(bestSetting([0.1, NaN, 0.3, 0.3]), 2, 'the earlier of a tie');
  assert.equal(bestSetting([NaN, NaN]), 0);
  assert.deepEqual(mostChosen([{}, { l2: 0.1 }, { l2: 0.01 }], [1, 2, 1, 0]), { l2: 0.1 });
  assert.deepEqual(mostChosen([{}, { l2: 0.1 }], [0, 1]), {}, 'a tie keeps the default');
  assert.equal(settingText({}), 'default');
  assert.equal(settingText({ pcaComponents: 64, baselineC: 0.1 }), 'pcaComponents 64, baselineC 0.1');
  const ds = plantedWidth(1);
  const outer = (foldSplits(ds, 7, 5, 'all')[0] as string[]).map((s) => s as 'train' | 'val' | 'test');
  const inner = innerView(ds, outer);
  assert.ok(!inner.split.includes('val'), 'the outer validation walks train in the inner folds');
  assert.deepEqual(
    inner.split.map((s) => s === 'test'),
    outer.map((s) => s === 'test'),
    'the held-out walks stay held out',
  );
});

test('nested tuning finds the planted setting inside every fold, and its held-out scores show it', async () => {
  await initBackend();
  const ds = plantedWidth(3);
  const grid = tuningGrid('pca-logistic', 4);
  assert.deepEqual(grid[3], { pcaComponents: 64 });
  const tuned = await outOfFold(ds, 'pca-logistic', 7, 5, {}, 'all', 0, { grid, innerFolds: 3 });
  assert.deepEqual(tuned.chosen, [3, 3, 3, 3, 3], 'PCA 64, the only setting that keeps the signal column');
  const plain = await outOfFold(ds, 'pca-logistic', 7, 5, {}, 'all');
  assert.equal(plain.chosen, undefined);
  const ap = (o: { rows: number[]; scores: number[] }): number =>
    averagePrecision(
      o.scores,
      o.rows.map((r) => ds.y[r] as number),
    );
  assert.ok(ap(tuned) > 0.3 && ap(plain) < 0.15, `tuned AP ${ap(tuned)}, untuned ${ap(plain)}`);
  // the rule with the same budget for both: the tuned baseline carries its setting into the evidence
  const rule = await decide(
    ds,
    { name: 'pca-logistic · base', arch: 'pca-logistic', featureSet: 'descriptor+context' },
    [{ name: 'pca-logistic · same', arch: 'pca-logistic', featureSet: 'descriptor+context' }],
    { seed: 7, settings: { ...DEFAULT_RULE, resamples: 50, tune: { budget: 4, innerFolds: 3 } } },
  );
  assert.ok(rule);
  assert.deepEqual(rule.baseline.setting, { pcaComponents: 64 });
  assert.deepEqual(rule.chosen.setting, { pcaComponents: 64 });
  assert.ok(rule.baseline.ap > 0.3);
  assert.match(ruleText(rule), /tries 4 settings inside each outer fold/);
  assert.match(
    ruleText(rule),
    /baseline pca-logistic · base: AP [0-9.]+, per-walk NDCG [0-9.]+ \(tuned: pcaComponents 64\)/,
  );
});

test('a learner without early stopping trains on the validation fold in the folds, as its final model does', async () => {
  await initBackend();
  const ds = plantedWidth(5);
  const oof = await outOfFold(ds, 'pca-logistic', 7, 5, {}, 'all');
  // round 0 by hand: fold 0 held out, the other four folds train (fold 1 validated before, and was unused)
  const split = valTrains(foldSplits(ds, 7, 5, 'all')[0] as SplitName[], false);
  assert.ok(!split.includes('val'));
  const fds = { ...ds, split };
  const f = await fit(fds, 'pca-logistic', 7);
  const held = rowsOf(fds, 'test');
  const ref = scoreRows(f.params, f.xs, ds.dim, rowsOf(fds, 'train'), ds.ids);
  const st = fitStandardizer(ref, 1, [...ref.keys()]);
  const mine = standardize(scoreRows(f.params, f.xs, ds.dim, held, ds.ids), 1, st);
  const got = new Map(oof.rows.map((r, i) => [r, oof.scores[i] as number]));
  held.forEach((r, j) => assert.ok(Math.abs((got.get(r) as number) - (mine[j] as number)) < 1e-5, `row ${r}`));
  // a learner that stops early keeps its validation fold for stopping
  assert.deepEqual(valTrains(['train', 'val', 'test'], true), ['train', 'val', 'test']);
});

test('walks an outer round left out (none) stay out of every inner fold', () => {
  const ds = plantedWidth(2);
  // the outer round of a train-and-validation scope: the test walks (here walks 0-5) are none
  const outer = ds.split.map((_, i) => ((ds.session[i] as number) < 6 ? 'none' : 'train')) as SplitName[];
  const inner = innerView(ds, outer);
  for (const split of foldSplits(inner, 3, 4, 'trainval'))
    split.forEach((s, i) => {
      if ((ds.session[i] as number) < 6) assert.equal(s, 'none', `row ${i} of a left-out walk dealt as ${s}`);
    });
});

test('the all-walks figures score each model with the setting nested tuning chose for it', async () => {
  await initBackend();
  const ds = plantedWidth(3);
  const winner = {
    name: 'pca-logistic · descriptor+context',
    arch: 'pca-logistic',
    featureSet: 'descriptor+context',
  } as CandidateResult;
  const o = { seed: 7, folds: 5, resamples: 20 };
  const plain = await compareOverAllWalks(ds, [winner], winner, o);
  const tuned = await compareOverAllWalks(ds, [winner], winner, o, new Map([[winner.name, { pcaComponents: 64 }]]));
  const ap = (a: typeof plain): number => a?.models[0]?.ap.value ?? NaN;
  // PCA 64 keeps the signal column, the default 32 misses it (the test above)
  assert.ok(ap(tuned) > 0.3 && ap(plain) < 0.15, `tuned ${ap(tuned)}, default ${ap(plain)}`);
});

test('time-forward trains a learner without early stopping on the validation walks of the earlier years too', async () => {
  await initBackend();
  const base = plantedWidth(4);
  // walks 0-23 in 2024, 24-29 in 2025: 2025 is tested
  const ds = {
    ...base,
    sessions: base.sessions.map((_, w) => (w < 24 ? `2024-05-${10 + (w % 18)}` : `2025-06-0${w - 23}`)),
  };
  const tf = await timeForward(ds, [{ name: 'b', arch: 'pca-logistic', featureSet: 'descriptor+context' }], {
    seed: 7,
    resamples: 20,
  });
  const plan = timeForwardSplit(ds);
  assert.ok(tf && plan && plan.split.includes('val'));
  const fds = { ...ds, split: valTrains(plan.split, false) };
  const f = await fit(fds, 'pca-logistic', 7);
  const held = rowsOf(fds, 'test');
  const ap = averagePrecision(
    scoreRows(f.params, f.xs, ds.dim, held, ds.ids),
    held.map((r) => ds.y[r] as number),
  );
  assert.ok(Math.abs((tf.models[0]?.ap.value as number) - ap) < 1e-9, `${tf.models[0]?.ap.value} against ${ap}`);
});
