import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { planSample, plantedBias, sampleConfig } from '../lib/0-sample/generate.js';
import { FluxError } from '../lib/util/check.js';

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

test('the default sample is unchanged: no planted setting, no probability, the same plan as before', () => {
  const cfg = sampleConfig({ seed: 7 });
  assert.deepEqual(Object.keys(cfg), [
    'seed',
    'sessions',
    'frames',
    'width',
    'height',
    'quality',
    'keeperRate',
    'author',
  ]);
  const plan = planSample(cfg);
  assert.equal(plan.planted, undefined);
  assert.ok(plan.frames.every((f) => f.p === undefined) && plan.inbox.every((f) => f.p === undefined));
  // the deterministic rule: at most one keeper per burst, no misfire, and every keeper's latent taste above every
  // frame passed over that was free to be kept
  const keepers = plan.frames.filter((f) => f.keeper);
  assert.equal(keepers.length, 98);
  const bursts = keepers.filter((f) => f.burst !== null).map((f) => f.burst);
  assert.equal(new Set(bursts).size, bursts.length);
  const weakest = Math.min(...keepers.map((f) => f.latent));
  const keptBursts = new Set(bursts);
  for (const f of plan.frames.filter((x) => !x.keeper && x.misfire === null)) {
    if (f.burst === null || !keptBursts.has(f.burst)) assert.ok(f.latent <= weakest, `${f.name} passed over`);
  }
  // the whole plan behind the README's figures (names, keeper flags, tastes, the inbox), pinned
  const text =
    plan.frames.map((f) => `${f.folder}/${f.name}:${f.keeper ? 1 : 0}:${f.taste.toFixed(6)}`).join('\n') +
    plan.inbox.map((f) => f.name).join(',');
  assert.equal(
    createHash('sha256').update(text).digest('hex'),
    '1e363729e08b93257128acdfab9ecc6ebdb13166e981bdc3c33a19105f802998',
  );
});

test('the bias is solved so the mean probability equals the rate', () => {
  const tastes = [-2, -1, 0, 0.5, 1, 3];
  for (const [scale, rate] of [
    [1, 0.0375],
    [2, 0.0375],
    [3, 0.2],
  ] as const) {
    const b = plantedBias(tastes, scale, rate);
    const mean = tastes.reduce((a, t) => a + sigmoid(scale * t + b), 0) / tastes.length;
    assert.ok(Math.abs(mean - rate) < 1e-9, `scale ${scale}: mean ${mean}`);
  }
  // a single taste: the logit of the rate
  assert.ok(Math.abs(plantedBias([0], 2, 0.0375) - Math.log(0.0375 / 0.9625)) < 1e-9);
});

test('a planted plan: p = sigmoid(scale * taste + bias) for every frame and inbox frame, keepers drawn near 3.75%', () => {
  const cfg = sampleConfig({ seed: 3, sessions: 120, planted: { scale: 2, inboxWalks: 5 } });
  assert.deepEqual(cfg.planted, { scale: 2, rate: 0.0375, inboxWalks: 5 });
  const plan = planSample(cfg);
  const { bias, expectedKeepers } = plan.planted as { bias: number; expectedKeepers: number };
  for (const f of [...plan.frames, ...plan.inbox]) {
    assert.ok(Math.abs((f.p as number) - sigmoid(2 * f.taste + bias)) < 1e-12, f.name);
  }
  const n = plan.frames.length;
  assert.ok(Math.abs(expectedKeepers / n - 0.0375) < 1e-9, `expected rate ${expectedKeepers / n}`);
  // the draw: within 3.5 binomial standard deviations of the expectation
  const kept = plan.frames.filter((f) => f.keeper).length;
  const sd = Math.sqrt(plan.frames.reduce((a, f) => a + (f.p as number) * (1 - (f.p as number)), 0));
  assert.ok(Math.abs(kept - expectedKeepers) < 3.5 * sd, `${kept} kept, ${expectedKeepers.toFixed(1)} expected`);
  // keepers follow p: the kept frames' mean probability is far above the rest's
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const pk = mean(plan.frames.filter((f) => f.keeper).map((f) => f.p as number));
  const pr = mean(plan.frames.filter((f) => !f.keeper).map((f) => f.p as number));
  assert.ok(pk > 4 * pr, `kept ${pk}, rest ${pr}`);
  // five inbox walks of half a corpus walk each, on five days
  assert.equal(plan.inbox.length, 5 * 20);
  assert.equal(new Set(plan.inbox.map((f) => f.time.slice(0, 10))).size, 5);
  assert.equal(new Set(plan.inbox.map((f) => f.name)).size, plan.inbox.length);
  // seeded: the same draw again; another seed draws otherwise
  const again = planSample(cfg);
  assert.deepEqual(
    again.frames.map((f) => f.keeper),
    plan.frames.map((f) => f.keeper),
  );
  // the scene plan is the one without the option: only the keepers differ
  const plain = planSample(sampleConfig({ seed: 3, sessions: 120 }));
  assert.deepEqual(
    plain.frames.map((f) => f.name + f.taste),
    plan.frames.map((f) => f.name + f.taste),
  );
  assert.notDeepEqual(
    plain.frames.map((f) => f.keeper),
    plan.frames.map((f) => f.keeper),
  );
});

test('bad planted settings are refused naming the setting', () => {
  assert.throws(
    () => sampleConfig({ planted: { scale: 0 } }),
    (e: unknown) => {
      return e instanceof FluxError && /planted\.scale/.test(e.message);
    },
  );
  assert.throws(() => sampleConfig({ planted: { scale: 2, rate: 0.9 } }), /planted\.rate/);
  assert.throws(() => sampleConfig({ planted: { scale: 2, inboxWalks: 0 } }), /planted\.inboxWalks/);
  assert.throws(() => sampleConfig({ planted: 'x' as never }), /planted: expected settings/);
});
