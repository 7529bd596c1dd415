import assert from 'node:assert/strict';
import { test } from 'node:test';
import { corpusNearest, cosine, normalise } from '../lib/3-match/vectors.js';
import { Rng } from '../lib/util/rng.js';

test('whole-corpus search: the brute-force top list per keeper is exactly the best cosines, across blocks', async () => {
  const rng = new Rng(5);
  const dim = 24;
  // more photos than one block of the product, so the running top list crosses blocks
  const n = 40_000;
  const data = new Float32Array(n * dim);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * (1 + (i % 7));
  const ids = Array.from({ length: n }, (_, i) => 1000 + i);
  const photos = { ids, views: ids.map(() => 0), dim, data };
  const row = (i: number): Float32Array => data.slice(i * dim, (i + 1) * dim);
  // a keeper that is photo 31,234 plus a little noise, and one that is random
  const near = row(31_234).map((x) => x + rng.normal() * 0.01);
  const far = Float32Array.from({ length: dim }, () => rng.normal());
  const got = await corpusNearest(
    new Map([
      [1, near],
      [2, far],
    ]),
    photos,
    3,
  );
  for (const [kid, v] of [
    [1, near],
    [2, far],
  ] as const) {
    const unit = normalise(Float32Array.from(v));
    const want = ids
      .map((id, i) => ({ id, s: cosine(unit, normalise(row(i))) }))
      .sort((a, b) => b.s - a.s)
      .slice(0, 3);
    const list = got.get(kid) ?? [];
    assert.deepEqual(
      list.map((x) => x.id),
      want.map((x) => x.id),
    );
    for (const [i, x] of list.entries()) assert.ok(Math.abs(x.s - (want[i] as { s: number }).s) < 1e-5);
  }
  assert.equal(got.get(1)?.[0]?.id, 32_234);
});
