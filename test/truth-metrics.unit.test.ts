import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestPlatt, expectedLogLoss, gainShare, softAuc, truthFigures } from '../lib/5-rank/truth-metrics.js';
import { rocAuc } from '../lib/5-rank/metrics.js';
import { Rng } from '../lib/util/rng.js';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

/** The definition, pair by pair (O(n^2)). */
function bruteSoftAuc(s: number[], p: number[]): number {
  let good = 0;
  let all = 0;
  for (let i = 0; i < s.length; i++) {
    for (let j = 0; j < s.length; j++) {
      if (i === j) continue;
      const w = (p[i] as number) * (1 - (p[j] as number));
      all += w;
      good += s[i]! > s[j]! ? w : s[i] === s[j] ? w / 2 : 0;
    }
  }
  return good / all;
}

test('soft AUC with 0/1 probabilities is the ROC AUC: 3 of 4 keeper/non-keeper pairs in order', () => {
  const s = [0.1, 0.4, 0.35, 0.8];
  const p = [0, 0, 1, 1];
  close(softAuc(s, p), 0.75);
  close(softAuc(s, p), rocAuc(s, p));
  // a score that is not a number: undefined, at once (it had never left its tie group)
  assert.ok(Number.isNaN(softAuc([NaN, 0.9, 0.5], [0.2, 0.8, 0.5])));
});

test('soft AUC by hand: three frames, pair weights p_i (1 - p_j)', () => {
  // weights: (0,1) .4, (0,2) .1, (1,0) .1, (1,2) .04, (2,0) .4, (2,1) .64; total 1.68
  // in score order 1 < 2 < 3 the pairs (1,0), (2,0), (2,1) are right: .1 + .4 + .64 = 1.14
  close(softAuc([1, 2, 3], [0.5, 0.2, 0.8]), 1.14 / 1.68);
  // frames 0 and 1 tied: (2,0) and (2,1) right (1.04), (0,1) and (1,0) half (.25)
  close(softAuc([1, 1, 2], [0.5, 0.2, 0.8]), 1.29 / 1.68);
  // the true probabilities themselves: (0,1) .4, (2,0) .4, (2,1) .64 right, 1.44 / 1.68 = 6/7
  close(softAuc([0.5, 0.2, 0.8], [0.5, 0.2, 0.8]), 6 / 7);
  // reversed order: the complement
  close(softAuc([3, 2, 1], [0.5, 0.2, 0.8]), 1 - 1.14 / 1.68);
  // every score tied: one half
  close(softAuc([4, 4, 4], [0.5, 0.2, 0.8]), 0.5);
});

test('soft AUC by sorting equals the pair-by-pair definition on random data with ties', () => {
  const rng = new Rng(11);
  for (let rep = 0; rep < 20; rep++) {
    const n = rng.int(2, 60);
    const s = Array.from({ length: n }, () => rng.int(0, 8)); // many ties
    const p = Array.from({ length: n }, () => rng.next());
    close(softAuc(s, p), bruteSoftAuc(s, p), 1e-9);
  }
  assert.ok(Number.isNaN(softAuc([1, 2], [0, 0])), 'no weighted pair: NaN');
  assert.throws(() => softAuc([1, 2], [0.5]), /2 scores but 1 probabilities/);
});

test('expected log-loss against probabilities, by hand', () => {
  // q = 0.5: ln 2 whatever p
  close(expectedLogLoss([0.5], [0.3]), Math.LN2);
  // 0/1 truth: the ordinary log-loss, -(ln 0.8 + ln 0.9) / 2
  close(expectedLogLoss([0.2, 0.9], [0, 1]), -(Math.log(0.8) + Math.log(0.9)) / 2);
  close(expectedLogLoss([0.2, 0.9], [0, 1]), 0.164252033486018, 1e-15);
  // a certain wrong answer is large but finite
  assert.ok(Number.isFinite(expectedLogLoss([0], [1])) && expectedLogLoss([0], [1]) > 20);
});

test('gain share: 1 for the truth, 0 for the constant, a hand-computed value between', () => {
  const p = [0.1, 0.5];
  const q = [0.2, 0.4];
  // LL(0.3) = 0.61086, LL(q) = 0.53767, LL(p) = 0.50912 under p: (0.61086 - 0.53767) / (0.61086 - 0.50912)
  close(gainShare(q, p, 0.3), 0.7194032128970348, 1e-12);
  // against 0.1: LL(0.1) = 0.76453
  close(gainShare(q, p, 0.1), 0.8882181929835293, 1e-12);
  close(gainShare(p, p, 0.1), 1);
  close(gainShare([0.1, 0.1], p, 0.1), 0);
  // worse than the constant: below 0
  assert.ok(gainShare([0.6, 0.01], p, 0.3) < 0);
  const f = truthFigures([1, 2], q, p, 0.1);
  close(f.gainShare, 0.8882181929835293, 1e-12);
  close(f.gainShareMeanP, 0.7194032128970348, 1e-12); // mean p is 0.3
  close(f.expectedKeepers, 0.6);
  close(f.softAucRatio, f.softAuc / f.softAucTruth);
  close(f.softAucRatio, 1); // the scores order the frames as p does
});

test('the best logistic curve against p recovers p when p is logistic in the score, and bounds any Platt curve', () => {
  const s = [-3, -2, -1, 0, 1, 2, 3, 4];
  const p = s.map((v) => 1 / (1 + Math.exp(-(0.8 * v - 2))));
  const best = bestPlatt(s, p);
  close(best.a, 0.8, 1e-6);
  close(best.b, -2, 1e-6);
  const f = truthFigures(s, p, p, 0.2);
  close(f.gainShareBestPlatt, 1, 1e-9);
  // a ranking that is off: the best curve over it recovers less, and no other curve more
  const off = [-3, 1, -1, 0, -2, 2, 4, 3];
  const g = truthFigures(off, p, p, 0.2);
  assert.ok(g.gainShareBestPlatt < 1);
  for (const [a, b] of [
    [0.5, -2],
    [1, -2.5],
    [0.8, -2],
  ] as const) {
    const q = off.map((v) => 1 / (1 + Math.exp(-(a * v + b))));
    assert.ok(gainShare(q, p, 0.2) <= g.gainShareBestPlatt + 1e-12, `curve ${a}, ${b}`);
  }
});
