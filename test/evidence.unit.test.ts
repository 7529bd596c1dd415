/**
 * Ranker evidence: splits and folds stratified by keeper count that change with the seed, the plain baseline, and
 * the decision rule's arithmetic. Fast unit tests on synthetic rows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planSplit, splitQuotas, stratifiedDeal, stratumSize } from '../lib/4-dataset/split.js';
import { foldSplits } from '../lib/5-rank/folds.js';
import { fitLogisticL2, fitPcaLogistic } from '../lib/5-rank/baseline.js';
import {
  applyRule,
  DEFAULT_RULE,
  judgeScores,
  outcomeOf,
  pairedDifferences,
  ruleText,
  trainedParameters,
  type Contender,
  type RuleEvidence,
} from '../lib/5-rank/decide.js';
import { chooseWinner } from '../lib/5-rank/compare.js';
import type { CandidateResult } from '../lib/5-rank/fit.js';
import type { Arch, Hyper } from '../lib/5-rank/scorers.js';
import { averagePrecision, evaluate } from '../lib/5-rank/metrics.js';
import { apWord, est } from '../lib/5-rank/verdict.js';
import { calibrationMetrics } from '../lib/5-rank/calibration-metrics.js';
import { timeForwardSplit } from '../lib/5-rank/time-forward.js';
import { Rng } from '../lib/util/rng.js';

/** Walk w holds `keepers(w)` keepers among 30 frames. */
function walks(
  n: number,
  keepers: (w: number) => number,
): Array<{ photo_id: number; session: string; keeper: boolean }> {
  const out: Array<{ photo_id: number; session: string; keeper: boolean }> = [];
  for (let w = 0; w < n; w++) {
    for (let i = 0; i < 30; i++)
      out.push({ photo_id: w * 100 + i, session: `2024-01-${String(w + 1).padStart(2, '0')}`, keeper: i < keepers(w) });
  }
  return out;
}

const walksIn = (plan: Map<number, string>, split: string): string =>
  [...new Set([...plan].filter(([, s]) => s === split).map(([id]) => Math.floor(id / 100)))]
    .sort((a, b) => a - b)
    .join(',');

test('the split by walk is stratified by keeper count and its validation and test walks change with the seed', () => {
  const photos = walks(40, (w) => w % 10);
  const tests = new Set<string>();
  for (let seed = 1; seed <= 6; seed++) {
    const plan = planSplit(photos, seed, 'session');
    tests.add(walksIn(plan, 'test'));
    const keep = (s: string): number => photos.filter((p) => p.keeper && plan.get(p.photo_id) === s).length;
    const total = photos.filter((p) => p.keeper).length;
    // 36 walks with keepers, strata of ten by keeper count: validation and test get one walk of each full stratum
    const keeperWalks = (s: string): number =>
      walksIn(plan, s)
        .split(',')
        .filter((w) => Number(w) % 10 !== 0).length;
    assert.ok(keeperWalks('val') >= 3 && keeperWalks('test') >= 3, `${keeperWalks('val')}, ${keeperWalks('test')}`);
    for (const s of ['val', 'test'])
      assert.ok(keep(s) / total > 0.04 && keep(s) / total < 0.2, `${s}: ${keep(s)} of ${total}`);
  }
  assert.ok(tests.size >= 5, `test walks over six seeds: ${[...tests].join(' | ')}`);
  // three walks with keepers: validation and test get one each, whichever the seed
  const few = walks(8, (w) => (w < 3 ? 2 : 0));
  const fewTests = new Set<string>();
  for (let seed = 1; seed <= 8; seed++) {
    const plan = planSplit(few, seed, 'session');
    for (const s of ['train', 'val', 'test'])
      assert.ok(
        few.some((p) => p.keeper && plan.get(p.photo_id) === s),
        `seed ${seed}: ${s}`,
      );
    fewTests.add(walksIn(plan, 'test'));
  }
  assert.ok(fewTests.size >= 2, 'which walk tests changes with the seed');
  assert.deepEqual(splitQuotas(10, [0.8, 0.1, 0.1], false), [8, 1, 1]);
  assert.deepEqual(splitQuotas(6, [0.8, 0.1, 0.1], true), [4, 1, 1]);
  assert.deepEqual(splitQuotas(2, [0.8, 0.1, 0.1], true), [2, 0, 0]);
});

test('out-of-fold folds are stratified by keeper count; another repeat deals them again', () => {
  // 20 walks, the first 10 with 3 keepers each: five folds get two keeper walks each
  const session: number[] = [],
    y: number[] = [],
    split: Array<'train' | 'val' | 'test'> = [];
  for (let w = 0; w < 20; w++)
    for (let i = 0; i < 10; i++) {
      session.push(w);
      y.push(w < 10 && i < 3 ? 1 : 0);
      split.push('train');
    }
  const ds = { split, session: Int32Array.from(session), y: Uint8Array.from(y) };
  const held = (rounds: string[][]): string[] =>
    rounds.map((sp) => [...new Set(session.filter((_, i) => sp[i] === 'test'))].join(','));
  const a = foldSplits(ds, 7, 5, 'all');
  for (const sp of a) assert.equal(y.filter((v, i) => v && sp[i] === 'test').length, 6, 'two keeper walks per fold');
  const b = foldSplits(ds, 7, 5, 'all', 1);
  for (const sp of b) assert.equal(y.filter((v, i) => v && sp[i] === 'test').length, 6);
  assert.notDeepEqual(held(a), held(b), 'a repeat deals the walks again');
  assert.deepEqual(held(foldSplits(ds, 7, 5, 'all')), held(a), 'the same seed and repeat, the same folds');
});

test('out-of-fold strata count a keeper once, not once per augmented view of it', () => {
  // five walks of 5 keepers; three of 1 keeper with 9 augmented views of it; two of 1 keeper; ten of none. Counted
  // once, each of five folds holds one walk of 5 and one walk of 1: 6 keepers. Counted per view, the three walks of
  // views would share a stratum with two walks of 5, and the folds would hold 6, 10 or 11.
  const session: number[] = [],
    y: number[] = [],
    views: number[] = [],
    split: Array<'train' | 'val' | 'test'> = [];
  const add = (w: number, keepers: number, viewsOfKeeper: number): void => {
    for (let i = 0; i < 10; i++) {
      session.push(w);
      y.push(i < keepers ? 1 : 0);
      views.push(0);
      split.push('train');
    }
    for (let v = 1; v <= viewsOfKeeper; v++) {
      session.push(w);
      y.push(1);
      views.push(v);
      split.push('train');
    }
  };
  for (let w = 0; w < 20; w++) add(w, w < 5 ? 5 : w < 10 ? 1 : 0, w >= 5 && w < 8 ? 9 : 0);
  const ds = { split, session: Int32Array.from(session), y: Uint8Array.from(y), views };
  for (const seed of [1, 2, 3])
    for (const sp of foldSplits(ds, seed, 5, 'all'))
      assert.equal(y.filter((v, i) => v && !views[i] && sp[i] === 'test').length, 6, `seed ${seed}`);
});

test('the plain baseline: PCA logistic regression finds a signal in the leading components and folds into one linear scorer', async () => {
  const rng = new Rng(5);
  const n = 1200,
    dim = 60;
  const x = new Float32Array(n * dim);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) x[i * dim + j] = rng.normal() * (j < 8 ? 3 : 1);
    // the taste lies along the first, high-variance axes
    const s = (x[i * dim] as number) - (x[i * dim + 1] as number);
    y[i] = rng.next() < 1 / (1 + Math.exp(-(s - 5))) ? 1 : 0;
  }
  const train = Array.from({ length: 900 }, (_, i) => i);
  const test = Array.from({ length: 300 }, (_, i) => 900 + i);
  const { W, b } = await fitPcaLogistic(x, dim, y, train, 3);
  assert.equal(W.length, dim);
  const score = (r: number): number => W.reduce((s, w, j) => s + w * (x[r * dim + j] as number), b);
  const ap = averagePrecision(
    test.map(score),
    test.map((r) => y[r] as number),
  );
  const rate = test.filter((r) => y[r]).length / test.length;
  assert.ok(ap > rate + 0.3, `AP ${ap} against chance ${rate}`);
  // the same seed, the same model
  assert.deepEqual(await fitPcaLogistic(x, dim, y, train, 3), { W, b });
  // Newton's solution sets the penalised gradient to zero: sum (p - y) z + w / C = 0
  const z = Float64Array.from([1, 0, 0, 1, 1, 1, -1, 0, 0, -1, 0.5, 0.5]);
  const yy = [1, 1, 1, 0, 0, 1];
  const f = fitLogisticL2(z, 2, yy, 0.5);
  const grad = [0, 0, 0];
  yy.forEach((t, i) => {
    const p =
      1 /
      (1 +
        Math.exp(-((f.w[0] as number) * (z[2 * i] as number) + (f.w[1] as number) * (z[2 * i + 1] as number) + f.b)));
    grad[0] = (grad[0] as number) + (p - t) * (z[2 * i] as number);
    grad[1] = (grad[1] as number) + (p - t) * (z[2 * i + 1] as number);
    grad[2] = (grad[2] as number) + (p - t);
  });
  assert.ok(
    Math.abs((grad[0] as number) + (f.w[0] as number) / 0.5) < 1e-9 &&
      Math.abs((grad[1] as number) + (f.w[1] as number) / 0.5) < 1e-9,
  );
  assert.ok(Math.abs(grad[2] as number) < 1e-9, 'the intercept is not penalised');
});

test('the decision rule: superiority, equivalence within delta, otherwise undecided; paired intervals on the same walks', () => {
  assert.equal(outcomeOf({ lo: 0.01, hi: 0.05 }, 0.01), 'superior');
  assert.equal(outcomeOf({ lo: -0.05, hi: -0.01 }, 0.01), 'inferior');
  assert.equal(outcomeOf({ lo: -0.008, hi: 0.009 }, 0.01), 'equivalent');
  assert.equal(outcomeOf({ lo: -0.03, hi: 0.02 }, 0.01), 'undecided');
  const base: Contender = { name: 'pca-logistic · vector', arch: 'pca-logistic', featureSet: 'vector' };
  const c = (name: string, value: number, outcome: 'superior' | 'equivalent' | 'inferior' | 'undecided') => ({
    name,
    arch: 'pairwise' as const,
    featureSet: 'vector' as const,
    ap: 0,
    diff: { value, lo: 0, hi: 0 },
    outcome,
  });
  // two superior: the best is paired with the runner-up (indices into the contenders; best minus runner-up)
  const asked: number[][] = [];
  const judge = (d: { lo: number; hi: number; se?: number }) => ({
    delta: 0.01,
    pair: (a: number, b: number) => (asked.push([a, b]), { value: 0.01, ...d }),
    size: (x: Contender) => (x.name === 'a' ? 10 : 100),
  });
  const three = [c('a', 0.02, 'superior'), c('b', 0.05, 'superior'), c('l', 0, 'undecided')];
  const clear = applyRule(base, three, judge({ lo: 0.01, hi: 0.05 }));
  assert.deepEqual(asked, [[1, 0]], 'b (the larger difference) minus a');
  assert.equal(clear.decision, 'superior');
  assert.equal(clear.chosen.name, 'b');
  assert.equal(clear.pairing?.outcome, 'superior');
  // equivalent to each other: the simpler (a, fewer parameters), though b's difference is larger
  const tie = applyRule(base, three, judge({ lo: -0.005, hi: 0.008 }));
  assert.deepEqual([tie.decision, tie.chosen.name, tie.pairing?.outcome], ['superior', 'a', 'equivalent']);
  // equivalent to each other, and a third superior contender, simpler than both, equivalent to the best too: the
  // third; one simpler still but not equivalent to the best is passed over, and none is tried on any other outcome
  const sized = (sizes: Record<string, number>, diffs: Record<string, { lo: number; hi: number }>) => ({
    delta: 0.01,
    pair: (a: number, b: number) => (
      asked.push([a, b]),
      { value: 0.005, ...(diffs[`${a}-${b}`] ?? { lo: -1, hi: 1 }) }
    ),
    size: (x: Contender) => sizes[x.name] as number,
  });
  const four = [
    c('p', 0.05, 'superior'),
    c('q', 0.049, 'superior'),
    c('l', 0.048, 'superior'),
    c('s', 0.03, 'superior'),
  ];
  const eq = { lo: -0.008, hi: 0.009 };
  asked.length = 0;
  const third = applyRule(base, four, sized({ p: 100, q: 90, l: 20, s: 5 }, { '0-1': eq, '0-2': eq }));
  assert.deepEqual(
    asked,
    [
      [0, 1],
      [0, 3],
      [0, 2],
    ],
    'the best with the runner-up, then the smaller ones, smallest first',
  );
  assert.deepEqual([third.decision, third.chosen.name, third.pairing?.simplest?.name], ['superior', 'l', 'l']);
  const thirdText = ruleText({
    ...third,
    settings: DEFAULT_RULE,
    baseline: { ...base, ap: 0, walkNdcg: 0 },
    contenders: four.map((x) => ({ ...x, walkNdcg: 0 })),
    photos: 400,
    keepers: 40,
    walks: 20,
  } as RuleEvidence);
  assert.match(
    thirdText,
    /\n {2}best minus a simpler superior contender: p minus l: \+0\.005 \[-0\.008, \+0\.009\]: equiv/,
  );
  assert.match(
    thirdText,
    /Rule decision: p and q are .*; l, also superior to the baseline, simpler than both and equiv/,
  );
  const none = applyRule(base, four, sized({ p: 100, q: 90, l: 20, s: 5 }, { '0-1': eq }));
  assert.deepEqual([none.chosen.name, none.pairing?.simplest], ['q', undefined]);
  asked.length = 0;
  applyRule(base, four, sized({ p: 100, q: 90, l: 20, s: 5 }, { '0-1': { lo: 0.001, hi: 0.02 } }));
  assert.deepEqual(asked, [[0, 1]], 'the best superior to the runner-up: no other pairing');
  asked.length = 0;
  // neither ordered nor equivalent: undecided between b and a, the simpler deployed
  const open = applyRule(base, three, judge({ lo: -0.005, hi: 0.03 }));
  assert.deepEqual([open.decision, open.chosen.name], ['undecided', 'a']);
  assert.deepEqual(open.pairing, {
    best: 'b',
    runnerUp: 'a',
    diff: { value: 0.01, lo: -0.005, hi: 0.03 },
    outcome: 'undecided',
    deployed: 'simpler',
  });
  // the one-standard-error rule: the best is deployed when it leads by more than one standard error, else the simpler
  const ahead = applyRule(base, three, judge({ lo: -0.005, hi: 0.03, se: 0.008 }));
  assert.deepEqual([ahead.decision, ahead.chosen.name, ahead.pairing?.deployed], ['undecided', 'b', 'best']);
  const within = applyRule(base, three, judge({ lo: -0.005, hi: 0.03, se: 0.012 }));
  assert.deepEqual([within.decision, within.chosen.name, within.pairing?.deployed], ['undecided', 'a', 'simpler']);
  // one superior: no pairing asked
  asked.length = 0;
  const one = applyRule(base, [c('a', 0.02, 'superior'), c('b', 0.05, 'undecided')], judge({ lo: 0, hi: 0 }));
  assert.deepEqual([one.decision, one.chosen.name, one.pairing, asked.length], ['superior', 'a', undefined, 0]);
  assert.deepEqual(applyRule(base, [c('a', 0.001, 'equivalent'), c('b', -0.05, 'inferior')], judge({ lo: 0, hi: 0 })), {
    decision: 'equivalent',
    chosen: base,
  });
  assert.deepEqual(applyRule(base, [c('a', 0.001, 'equivalent'), c('b', 0.01, 'undecided')], judge({ lo: 0, hi: 0 })), {
    decision: 'undecided',
    chosen: base,
  });
  // a model that ranks every keeper of every walk first against one that does not: superior, paired by walk
  const rng = new Rng(9);
  const y: number[] = [],
    walk: number[] = [],
    good: number[] = [],
    noisy: number[] = [],
    same: number[] = [];
  for (let w = 0; w < 40; w++) {
    for (let i = 0; i < 25; i++) {
      const k = i < 2 ? 1 : 0;
      y.push(k);
      walk.push(w);
      const s = rng.normal();
      same.push(s + 2 * k);
      good.push(s + 4 * k);
      noisy.push(rng.normal() + 0.5 * k);
    }
  }
  const [better, worse, identical] = pairedDifferences([[same], [good], [noisy], [same]], y, walk, 200, 0.95, 7);
  assert.ok(better && better.lo > 0 && better.value > 0, JSON.stringify(better));
  assert.ok(worse && worse.hi < 0, JSON.stringify(worse));
  assert.deepEqual(identical, { value: 0, lo: 0, hi: 0, se: 0 }, 'a model against itself differs by exactly nothing');
  // the standard error is the spread of the resampled differences: a 95% interval spans about four of them
  for (const d of [better, worse]) {
    const span = (d.hi - d.lo) / (d.se as number);
    assert.ok(span > 3 && span < 5, JSON.stringify(d));
  }
});

test('the rule on planted scores: the best of two superior contenders is chosen, the simpler when equivalent, else undecided between them', () => {
  const rng = new Rng(11);
  const y: number[] = [],
    walk: number[] = [];
  const noise = (): number => rng.normal();
  // the baseline barely ranks; "strong" ranks the keepers far better than "medium"; "twin" is "strong" again;
  // "rival" is as good as "strong" in expectation but with noise of its own
  const s = { base: [] as number[], strong: [] as number[], medium: [] as number[], rival: [] as number[] };
  for (let w = 0; w < 40; w++) {
    for (let i = 0; i < 25; i++) {
      const k = i < 2 ? 1 : 0;
      y.push(k);
      walk.push(w);
      s.base.push(noise());
      s.strong.push(noise() + 3 * k);
      s.medium.push(noise() + 1.6 * k);
      s.rival.push(noise() + 3 * k);
    }
  }
  const named = (name: string, arch: Contender['arch']): Contender => ({ name, arch, featureSet: 'vector' });
  const base = named('base', 'pca-logistic');
  const settings = { ...DEFAULT_RULE, resamples: 300 };
  const run = (cs: Array<[Contender, number[]]>, hyper?: Partial<Hyper>) => {
    const scores = [[s.base], ...cs.map(([, v]) => [v])];
    return judgeScores(
      base,
      cs.map(([c]) => c),
      scores,
      y,
      walk,
      { settings, seed: 3, dims: scores.map(() => 100), ...(hyper ? { hyper } : {}) },
    );
  };
  const ordered = run([
    [named('medium', 'logistic'), s.medium],
    [named('strong', 'contrastive-multi'), s.strong],
  ]);
  assert.deepEqual(
    ordered.contenders.map((c) => c.outcome),
    ['superior', 'superior'],
  );
  assert.equal(ordered.pairing?.best, 'strong');
  assert.equal(ordered.pairing?.runnerUp, 'medium');
  assert.ok((ordered.pairing?.diff.lo as number) > 0, JSON.stringify(ordered.pairing));
  assert.deepEqual([ordered.decision, ordered.chosen.name], ['superior', 'strong']);
  // the same scores under two models: equivalent (a difference of exactly 0), the one with fewer parameters chosen
  const twins = run([
    [named('strong pairwise', 'pairwise'), s.strong],
    [named('strong logistic', 'logistic'), s.strong],
  ]);
  assert.deepEqual(twins.pairing?.diff, { value: 0, lo: 0, hi: 0, se: 0 });
  assert.deepEqual(
    [twins.decision, twins.chosen.name, twins.pairing?.outcome],
    ['superior', 'strong logistic', 'equivalent'],
  );
  // sizes at the run's settings: pairwise on 2 principal components (2 x 17 + 33 = 67) is smaller than logistic
  // regression on the 100 columns (101)
  const reduced = run(
    [
      [named('strong pairwise', 'pairwise'), s.strong],
      [named('strong logistic', 'logistic'), s.strong],
    ],
    { pca: 2 },
  );
  assert.equal(reduced.chosen.name, 'strong pairwise');
  // two as good as each other in expectation, each with its own noise: neither ordered nor inside +-0.01
  const open = run([
    [named('rival', 'contrastive-multi'), s.rival],
    [named('strong', 'pairwise'), s.strong],
  ]);
  const d = open.pairing?.diff as { value: number; lo: number; hi: number; se: number };
  assert.ok(d.lo < 0 && d.hi > 0 && d.hi - d.lo > 0.02, JSON.stringify(d));
  assert.deepEqual([open.decision, open.pairing?.outcome], ['undecided', 'undecided']);
  // the one-standard-error rule: the best (here rival, by chance) leads by more than one standard error
  assert.ok(d.se > 0.005 && d.value > d.se, JSON.stringify(d));
  assert.deepEqual([open.pairing?.best, open.chosen.name, open.pairing?.deployed], ['rival', 'rival', 'best']);
  const text = ruleText({ ...open, photos: y.length, keepers: 80, walks: 40 } as RuleEvidence);
  assert.match(
    text,
    /\n {2}best minus runner-up: (rival minus strong|strong minus rival): [+-]0\.\d{3} \[-0\.\d{3}, \+0\.\d{3}\] .*: undecided\n/,
  );
  assert.match(
    text,
    /Rule decision: undecided between rival and strong: both are superior to the baseline.*; rival leads by \+0\.\d{3} AP, more than one standard error of the difference \(0\.\d{3}\), so it is deployed\.$/,
  );
});

test('simpler means fewer trained parameters: logistic < pairwise < contrastive < contrastive-multi on the same columns', () => {
  const p = (arch: Contender['arch']): number => trainedParameters({ name: arch, arch, featureSet: 'vector' }, 1304);
  assert.equal(p('logistic'), 1305);
  assert.equal(p('pairwise'), 1304 * 17 + 33);
  assert.equal(p('contrastive'), 1305 * 32 + 32);
  assert.equal(p('contrastive-multi'), 1305 * 32 + 4 * 32);
  assert.ok(p('pca-logistic') < p('logistic'));
});

test('the rule bootstrap counts rows as often as their walk is drawn: the same differences and standard errors as sorting each resample, and intervals of +- z of them', () => {
  const rng = new Rng(21);
  const y: number[] = [],
    walk: number[] = [];
  // scores rounded to whole numbers, so keepers and non-keepers tie often (non-keepers rank first among ties)
  const scores = [0, 1, 2].map(() => [[] as number[], [] as number[]]);
  for (let w = 0; w < 30; w++) {
    for (let i = 0; i < 20; i++) {
      const k = rng.chance(0.06) ? 1 : 0;
      y.push(k);
      walk.push(w % 7 === 3 ? 100 + w : w);
      for (const per of scores) for (const s of per) s.push(Math.round(rng.normal() * 2 + k * 1.5));
    }
  }
  // the reference: every resample's rows written out and ranked again
  const groups = new Map<number, number[]>();
  walk.forEach((w, i) => groups.set(w, [...(groups.get(w) ?? []), i]));
  const list = [...groups.values()];
  const draw = new Rng(5).fork('rule-bootstrap');
  const ap = (m: number, rows: number[]): number =>
    (scores[m] as number[][]).reduce(
      (a, s) =>
        a +
        averagePrecision(
          rows.map((i) => s[i] as number),
          rows.map((i) => y[i] as number),
        ),
      0,
    ) / 2;
  const diffs: number[][] = [[], []];
  for (let b = 0; b < 100; b++) {
    const rows = list.flatMap(() => list[draw.int(0, list.length - 1)] as number[]);
    if (!rows.some((i) => y[i])) continue;
    for (const m of [1, 2]) (diffs[m - 1] as number[]).push(ap(m, rows) - ap(0, rows));
  }
  const all = y.map((_, i) => i);
  // the interval: the difference +- 1.96 standard errors of the resampled differences (the 97.5% normal quantile)
  const expected = diffs.map((d, j) => {
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const se = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (d.length - 1));
    const value = ap(j + 1, all) - ap(0, all);
    return { value, lo: value - 1.959963984540054 * se, hi: value + 1.959963984540054 * se, se };
  });
  const got = pairedDifferences(scores, y, walk, 100, 0.95, 5);
  got.forEach((g, j) => {
    const e = expected[j] as (typeof expected)[number];
    assert.equal(g.value, e.value);
    assert.equal(g.se, e.se);
    for (const k of ['lo', 'hi'] as const) assert.ok(Math.abs(g[k] - e[k]) < 1e-12, `${k} ${g[k]} against ${e[k]}`);
  });
  // at a Bonferroni level the interval widens by the normal quantile, not to the range of the draws
  const wide = pairedDifferences(scores, y, walk, 100, 0.995, 5);
  wide.forEach((w, j) => {
    const e = expected[j] as (typeof expected)[number];
    assert.ok(Math.abs((w.hi - w.lo) / (2 * (e.se as number)) - 2.807033768343811) < 1e-9, JSON.stringify(w));
  });
});

test('calibration at a low base rate: a calibrated model has slope 1 and intercept 0, a flattened one a slope above 1', () => {
  const rng = new Rng(11);
  const p: number[] = [],
    y: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const z = rng.normal() * 1.5 - 4;
    const q = 1 / (1 + Math.exp(-z));
    p.push(q);
    y.push(rng.next() < q ? 1 : 0);
  }
  const c = calibrationMetrics(p, y, 0.5);
  assert.ok(Math.abs(c.slope - 1) < 0.1 && Math.abs(c.intercept) < 0.4, `slope ${c.slope}, intercept ${c.intercept}`);
  assert.ok(c.logLoss < c.logLossConstant && c.brier < c.brierConstant);
  assert.equal(c.reliability.length, 10);
  assert.ok(
    c.reliability.every((b) => b.count === 2000),
    'equal-mass bins',
  );
  for (const b of c.reliability) assert.ok(Math.abs(b.meanScore - b.keeperRate) < 0.03, JSON.stringify(b));
  const surfaced = p.filter((q) => q >= 0.5).length;
  assert.equal(c.threshold?.perThousand, (1000 * surfaced) / p.length);
  assert.equal(
    c.bands.reduce((s, b) => s + b.photos, 0),
    p.length,
  );
  // probabilities pulled towards the base rate: under-confident, slope above 1
  const flat = calibrationMetrics(
    p.map((q) => 0.5 * q + 0.5 * c.baseRate),
    y,
    null,
  );
  assert.ok(flat.slope > 1.5 && flat.threshold === null, `slope ${flat.slope}`);
});

test('time-forward: the latest year tests, the latest tenth of the earlier walks validates, the rest trains', () => {
  const sessions = [
    '2022-03-01',
    '2022-05-01',
    '2023-01-02',
    '2023-06-01',
    '2024-02-01',
    '2024-07-01',
    '2025-01-01',
    '2025-03-01',
    '2025-05-01',
    '2025-09-09',
    '2026-01-01',
    '2026-02-01',
  ];
  const session = Int32Array.from(sessions.flatMap((_, w) => [w, w, w]));
  const plan = timeForwardSplit({ session, sessions });
  assert.ok(plan);
  assert.equal(plan.testYear, '2026');
  assert.deepEqual(plan.trainYears, ['2022', '2023', '2024', '2025']);
  const walkSplit = sessions.map((_, w) => plan.split[3 * w]);
  assert.deepEqual(walkSplit, [
    'train',
    'train',
    'train',
    'train',
    'train',
    'train',
    'train',
    'train',
    'train',
    'val',
    'test',
    'test',
  ]);
  assert.equal(
    timeForwardSplit({ session, sessions: sessions.map(() => '2024-01-01') }),
    null,
    'one year: nothing to go forward to',
  );
});

test('a stratified deal gives every split its share, for shares other than 80/10/10 too', () => {
  assert.deepEqual(
    [stratumSize([0.8, 0.1, 0.1]), stratumSize([0.75, 0.15, 0.1]), stratumSize([0.5, 0.3, 0.2])],
    [10, 20, 10],
  );
  const groups = Array.from({ length: 100 }, (_, i) => i % 7);
  for (const share of [
    [0.8, 0.1, 0.1],
    [0.75, 0.15, 0.1],
    [0.5, 0.3, 0.2],
  ]) {
    const dealt = stratifiedDeal(groups, (g) => g, share, new Rng(3), true);
    const count = (s: string): number => dealt.filter((d) => d === s).length;
    assert.deepEqual(
      [count('train'), count('val'), count('test')],
      share.map((x) => Math.round(100 * x)),
      `shares ${share.join('/')}`,
    );
  }
});

test('a session bootstrap over a single test walk gives no interval, and the words say so', () => {
  const scores = [0.9, 0.1, 0.8, 0.3, 0.2, 0.7];
  const y = [1, 0, 1, 0, 0, 0];
  const one = evaluate(scores, y, [0, 0, 0, 0, 0, 0], { resamples: 50 });
  assert.equal(one.ap.value, 1);
  assert.ok(Number.isNaN(one.ap.lo) && Number.isNaN(one.ap.hi), JSON.stringify(one.ap));
  assert.equal(est(one.ap), '1.000 (no interval)');
  assert.equal(apWord({ value: 0.02, lo: NaN, hi: NaN }), 'ahead (+0.020 (no interval))');
  const two = evaluate(scores, y, [0, 0, 0, 1, 1, 1], { resamples: 50 });
  assert.ok(two.ap.lo <= two.ap.value && two.ap.value <= two.ap.hi, JSON.stringify(two.ap));
  assert.match(est(two.ap), /^1\.000 \[\d\.\d{3}, 1\.000\]$/);
});

test('without the rule, logistic regression and the plain baseline can be chosen like the candidates; metadata and chance cannot', () => {
  const r = (arch: Arch, valAp: number): CandidateResult =>
    ({ name: `${arch} · descriptor+context`, arch, featureSet: 'descriptor+context', valAp }) as CandidateResult;
  const results = [
    r('pairwise', 0.2),
    r('logistic', 0.3),
    r('pca-logistic', 0.25),
    r('metadata', 0.4),
    r('chance', 0.5),
  ];
  assert.equal(chooseWinner(results, true, 'validation').winner.arch, 'logistic');
  assert.equal(chooseWinner(results.slice(2), true, 'validation').winner.arch, 'pca-logistic');
  // a single architecture asked for: its own results, whatever they are
  assert.equal(chooseWinner([r('metadata', 0.4)], false, 'validation').winner.arch, 'metadata');
});
