import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateSample, type SampleTruth } from '../lib/0-sample/generate.js';
import { tempDir } from './helpers.js';

const work = tempDir('planted');
after(() => work.cleanup());

test('a planted archive records p for every original and inbox frame, and its bias, in truth.json', async () => {
  const options = { seed: 5, sessions: 30, frames: 12, width: 96, height: 64, planted: { scale: 2, inboxWalks: 2 } };
  const s = await generateSample({ out: join(work.dir, 'planted'), ...options });
  const truth = JSON.parse(readFileSync(s.truthFile, 'utf8')) as SampleTruth;
  assert.deepEqual(truth.config.planted, { scale: 2, rate: 0.0375, inboxWalks: 2 });
  const { bias, expectedKeepers } = truth.planted as NonNullable<SampleTruth['planted']>;
  assert.ok(Number.isFinite(bias) && bias < 0);
  const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
  for (const p of [...truth.photos, ...truth.inbox]) {
    assert.equal(typeof p.p, 'number', p.path);
    // the taste is stored to 4 decimals: p agrees with the curve to that precision
    assert.ok(Math.abs((p.p as number) - sigmoid(2 * p.taste + bias)) < 1e-3, p.path);
  }
  assert.equal(truth.inbox.length, 2 * 6);
  // every original planned counts in the expectation; those written are all but the missing originals
  const sumP = truth.photos.reduce((a, p) => a + (p.p as number), 0);
  assert.ok(sumP <= expectedKeepers + 1e-9 && sumP > 0.8 * expectedKeepers, `${sumP} of ${expectedKeepers}`);
  // keepers are still made into keeper files of the usual kinds, linked to their originals
  const kept = truth.photos.filter((p) => p.keeper).map((p) => p.path);
  const linked = new Set(truth.keepers.map((k) => k.original));
  for (const path of kept) assert.ok(linked.has(path), `${path} has a keeper file`);
  assert.ok(truth.keepers.some((k) => k.kind === 'copy'));
  // a draw that keeps nothing is refused with the reason
  await assert.rejects(
    generateSample({ out: join(work.dir, 'none'), ...options, sessions: 4, planted: { scale: 2, rate: 0.001 } }),
    /planted: the draw kept no frame/,
  );
  // the same settings reuse the folder; without the option the folder is refused as another sample
  const again = await generateSample({ out: join(work.dir, 'planted'), ...options });
  assert.equal(again.reused, true);
  await assert.rejects(
    generateSample({ out: join(work.dir, 'planted'), ...options, planted: undefined }),
    /made with other settings/,
  );
});
