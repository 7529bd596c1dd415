import { test } from 'node:test';
import assert from 'node:assert/strict';
import { archive, motifDirections, nearestCosine, TASTES } from '../bench/controls.js';
import { averagePrecision, rocAuc } from '../lib/5-rank/metrics.js';
import { Rng } from '../lib/util/rng.js';

const VEC = 1280;

/** Each row's image vector (its first 1,280 columns) read through the loading: its factors up to a common scale. */
function readBack(x: Float32Array, dim: number, loading: Float64Array, row: number): Float64Array {
  const factors = loading.length / VEC;
  const f = new Float64Array(factors);
  for (let v = 0; v < VEC; v++) {
    const xv = x[row * dim + v] as number;
    for (let j = 0; j < factors; j++) f[j] = (f[j] as number) + (loading[v * factors + j] as number) * xv;
  }
  return f;
}

test('the motif directions are four unit vectors of a regular simplex: pairwise cosine -1/3, summing to zero', () => {
  const d = motifDirections(new Rng(3));
  assert.equal(d.length, 4);
  for (const [a, u] of d.entries()) {
    assert.equal(u.length, 16);
    assert.ok(Math.abs(Math.hypot(...u) - 1) < 1e-9);
    for (const w of d.slice(a + 1))
      assert.ok(Math.abs(u.reduce((s, v, j) => s + v * (w[j] as number), 0) + 1 / 3) < 1e-9);
  }
  for (let j = 0; j < 16; j++) assert.ok(Math.abs(d.reduce((s, u) => s + (u[j] as number), 0)) < 1e-9);
  // the cosine to the nearest direction ignores length: a direction scores 1, its double too, its opposite -1/3
  const first = d[0] as number[];
  assert.ok(Math.abs(nearestCosine(first, d) - 1) < 1e-9);
  assert.ok(
    Math.abs(
      nearestCosine(
        first.map((v) => 2 * v),
        d,
      ) - 1,
    ) < 1e-9,
  );
  assert.ok(
    Math.abs(
      nearestCosine(
        first.map((v) => -v),
        d,
      ) -
        1 / 3,
    ) < 1e-9,
  );
});

test('the motif taste: the direction of the image vector defines the keepers, its length carries none of it', () => {
  const { ds, oracle, planted } = archive('motifs', 300, 7);
  const n = ds.ids.length;
  assert.equal(n, 8000);
  assert.equal([...ds.y].filter(Boolean).length, 300);
  const cosine: number[] = [],
    dot: number[] = [],
    length: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = readBack(ds.x, ds.dim, planted.loading, i);
    cosine.push(nearestCosine(f, planted.shape));
    dot.push(Math.max(...planted.shape.map((u) => u.reduce((s, v, j) => s + v * (f[j] as number), 0))));
    let sq = 0;
    for (let v = 0; v < VEC; v++) sq += (ds.x[i * ds.dim + v] as number) ** 2;
    length.push(Math.sqrt(sq));
  }
  // the rows' own direction ranks the keepers almost as well as the planted taste itself
  const byDirection = averagePrecision(cosine, ds.y);
  assert.ok(oracle > 0.25 && oracle < 0.6, `oracle AP ${oracle}`);
  assert.ok(byDirection > oracle - 0.05, `AP by the rows' direction ${byDirection} against ${oracle}`);
  // the same projections without dividing by the length rank worse: the length is noise for this taste
  const byProjection = averagePrecision(dot, ds.y);
  assert.ok(byProjection < byDirection - 0.05, `AP by projection ${byProjection} against ${byDirection}`);
  // the lengths spread widely and say nothing of the keepers
  const sorted = [...length].sort((a, b) => a - b);
  const spread = (sorted[Math.floor(0.95 * n)] as number) / (sorted[Math.floor(0.05 * n)] as number);
  assert.ok(spread > 3.5, `95th / 5th percentile of the lengths ${spread}`);
  const auc = rocAuc(length, ds.y);
  assert.ok(Math.abs(auc - 0.5) < 0.05, `ROC AUC of the length ${auc}`);
  // the scale is drawn apart from the taste: the scale alone is unrelated to the keepers too
  assert.ok(Math.abs(rocAuc(planted.scale, ds.y) - 0.5) < 0.05);
  // the keepers' mean image vector points nowhere in particular: no single linear direction holds the motifs
  const mean = new Float64Array(16);
  const keepers = [...ds.y.keys()].filter((i) => ds.y[i]);
  for (const i of keepers) {
    const f = readBack(ds.x, ds.dim, planted.loading, i);
    const l = Math.hypot(...f);
    f.forEach((v, j) => (mean[j] = (mean[j] as number) + v / l / keepers.length));
  }
  assert.ok(Math.hypot(...mean) < 0.2, `length of the keepers' mean direction ${Math.hypot(...mean)}`);
});

test('the other tastes keep their vectors at their natural length', () => {
  assert.equal(TASTES.additive?.normSpread, undefined);
  assert.equal(TASTES.interaction?.normSpread, undefined);
  const { planted } = archive('interaction', 100, 7);
  assert.ok(planted.scale.every((s) => s === 1));
});
