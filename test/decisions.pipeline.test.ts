/**
 * The photographer's review decisions as training labels: appended to the training rows by loadDataset, weighted in
 * every learner, never dealt to validation, test or a cross-validation fold; without decisions nothing changes. And
 * the inbox's rows as its walk arrives: a photo's row does not change when more of its walk comes in.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Db, withDb } from '../lib/db/duckdb.js';
import { DECISION_WEIGHTS, recordDecision } from '../lib/db/decisions.js';
import { loadDataset, loadFeatures, standardize, fitStandardizer, type Dataset } from '../lib/4-dataset/rows.js';
import { fitLogisticL2 } from '../lib/5-rank/baseline.js';
import { foldSplits } from '../lib/5-rank/folds.js';
import { timeForwardSplit } from '../lib/5-rank/time-forward.js';
import { trainScorer, type TrainData } from '../lib/5-rank/scorers.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { rowsOf } from '../lib/5-rank/fit.js';
import { runEmbed, runIngest } from '../lib/pipeline/stages.js';
import { trainAndScore } from '../lib/pipeline/train-and-score.js';
import { score, scoreInboxSet } from '../lib/6-score/score.js';
import { SCORE_TOLERANCE } from '../lib/6-score/scoring.js';
import { loadKeeperModel } from '../lib/5-rank/model-file.js';
import { SURFACE_THRESHOLD_KEY } from '../lib/db/decisions.js';
import { formatTrain } from '../lib/5-rank/verdict.js';
import { matchAt, smallSample, tempDir } from './helpers.js';

const work = tempDir('decisions');
after(() => work.cleanup());
let dbFile: string;
let plain: Dataset;
let decided: Dataset;
const FS = 'descriptor+context' as const;

before(async () => {
  const sample = await smallSample();
  dbFile = join(work.dir, 'flux.duckdb');
  await runIngest({ originals: sample.originals, keepers: sample.keepers, inbox: sample.inbox, db: dbFile });
  await runEmbed({ db: dbFile, model: 'none' });
  await matchAt(dbFile);
  const db = await Db.open(dbFile);
  try {
    plain = await loadDataset(db, work.dir, { featureSet: FS, modelId: null, seed: 5 });
    const inbox = await db.all<{ id: number }>('SELECT inbox_id AS id FROM inbox_photos ORDER BY inbox_id');
    assert.ok(inbox.length >= 8, `the small sample's inbox holds ${inbox.length} photos`);
    const ids = inbox.map((r) => r.id);
    for (const id of ids.slice(0, 3)) await recordDecision(db, id, 'keep');
    for (const id of ids.slice(3, 7)) await recordDecision(db, id, 'reject');
    // an inbox photo whose bytes the archive already holds: the corpus labels it, the decision is left out
    await recordDecision(db, ids[7] as number, 'keep');
    await db.run('UPDATE inbox_photos SET sha256 = (SELECT min(sha256) FROM photos) WHERE inbox_id = ?', [ids[7]]);
    decided = await loadDataset(db, work.dir, { featureSet: FS, modelId: null, seed: 5 });
  } finally {
    db.close();
  }
});

test('decided inbox photos become weighted training rows of their own walk; corpus rows stay as they were', async () => {
  assert.equal(plain.weight, undefined);
  assert.equal(plain.decisions, undefined);
  const n = plain.ids.length;
  assert.equal(decided.ids.length, n + 7);
  assert.deepEqual(decided.decisions, { keep: 3, reject: 4, inArchive: 1, noFeatures: 0 });
  assert.deepEqual([...decided.x.subarray(0, n * plain.dim)], [...plain.x]);
  assert.deepEqual([...decided.y.subarray(0, n)], [...plain.y]);
  assert.deepEqual(decided.split.slice(0, n), plain.split);
  assert.deepEqual([...decided.y.subarray(n)], [1, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual(decided.split.slice(n), Array(7).fill('train'));
  assert.deepEqual([...(decided.weight as Float32Array).subarray(n)], [1, 1, 1, 3, 3, 3, 3]);
  assert.deepEqual([...(decided.weight as Float32Array).subarray(0, n)], Array(n).fill(1));
  assert.deepEqual([...(decided.decided as Uint8Array)].filter(Boolean).length, 7);
  assert.deepEqual(DECISION_WEIGHTS, { keep: 1, reject: 3 });
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    const day = String(await db.value('SELECT CAST(CAST(min(captured_at) AS DATE) AS VARCHAR) FROM inbox_photos'));
    const walks = [...decided.session.subarray(n)].map((s) => decided.sessions[s]);
    assert.deepEqual(walks, Array(7).fill(`inbox:${day}`));
    // a corpus row keeps its walk's name although the session indices were renumbered
    assert.deepEqual(
      [...decided.session.subarray(0, n)].map((s) => decided.sessions[s]),
      [...plain.session].map((s) => plain.sessions[s]),
    );
    const feats = await loadFeatures(db, work.dir, { set: 'inbox', featureSet: FS, modelId: null });
    const first = feats.ids.indexOf(decided.ids[n] as number);
    assert.deepEqual(
      [...decided.x.subarray(n * decided.dim, (n + 1) * decided.dim)],
      [...feats.x.subarray(first * feats.dim, (first + 1) * feats.dim)],
    );
  } finally {
    db.close();
  }
});

test("an inbox photo's row is the same however much of its walk has arrived (the walk's means aside)", async () => {
  const db = await Db.open(dbFile);
  try {
    const whole = await loadFeatures(db, work.dir, { set: 'inbox', featureSet: FS, modelId: null });
    const ids = (
      await db.all<{ id: number }>('SELECT inbox_id AS id FROM inbox_photos ORDER BY captured_at, inbox_id')
    ).map((r) => Number(r.id));
    const later = ids.slice(Math.ceil(ids.length / 2));
    const frames = async (): Promise<number> =>
      Number(await db.value('SELECT session_frames FROM inbox_context WHERE inbox_id = ?', [ids[0]]));
    const all = await frames();
    // the later half has not arrived yet: moved to a day of its own, the first half's walk is half as long
    await db.run('BEGIN TRANSACTION');
    let part: Awaited<ReturnType<typeof loadFeatures>>;
    let arrived: number;
    try {
      await db.run(
        'UPDATE inbox_photos SET captured_at = captured_at + INTERVAL 40 DAY WHERE inbox_id IN (SELECT unnest(?::BIGINT[]))',
        [JSON.stringify(later)],
      );
      arrived = await frames();
      part = await loadFeatures(db, work.dir, { set: 'inbox', featureSet: FS, modelId: null });
    } finally {
      await db.run('ROLLBACK');
    }
    assert.equal(all, ids.length);
    assert.equal(arrived, ids.length - later.length, "the view's walk is the part that has arrived");
    const own = whole.names.flatMap((n, j) => (n.startsWith('walk_') ? [] : [j]));
    assert.ok(own.length >= 30 && own.length < whole.dim, `${own.length} of ${whole.dim} columns are the photo's own`);
    for (const id of ids.slice(0, ids.length - later.length)) {
      const a = whole.ids.indexOf(id);
      const b = part.ids.indexOf(id);
      const cols = (f: typeof whole, r: number): number[] => own.map((j) => f.x[r * f.dim + j] as number);
      assert.deepEqual(cols(part, b), cols(whole, a), `inbox photo ${id}`);
    }
  } finally {
    db.close();
  }
});

test('decision rows train in every cross-validation round and stay out of the time-forward split', () => {
  const n = plain.ids.length;
  for (const split of foldSplits(decided, 3, 4, 'all')) {
    assert.deepEqual(split.slice(n), Array(7).fill('train'));
    assert.ok(split.slice(0, n).includes('test'));
  }
  const plainFolds = foldSplits(plain, 3, 4, 'trainval');
  assert.deepEqual(
    foldSplits(decided, 3, 4, 'trainval').map((s) => s.slice(0, n)),
    plainFolds,
  );
  const tf = timeForwardSplit(decided);
  const tp = timeForwardSplit(plain);
  assert.ok(tf && tp);
  assert.equal(tf.testYear, tp.testYear);
  assert.deepEqual(tf.split.slice(n), Array(7).fill('none'));
  assert.deepEqual(tf.split.slice(0, n), tp.split);
});

test('a row of weight 2 in the L2 logistic regression is the row counted twice', () => {
  const z = Float64Array.from([0.5, -1, 1.2, 0.3, -0.7, 2, 0.1, -0.2, 1.5, 1, -1.1, 0.4]);
  const y = [1, 0, 1, 0, 0, 1];
  const weighted = fitLogisticL2(z, 2, y, 1, 50, [1, 2, 1, 1, 1, 1]);
  const twice = fitLogisticL2(Float64Array.from([...z, 1.2, 0.3]), 2, [...y, 0], 1, 50);
  weighted.w.forEach((v, j) => assert.ok(Math.abs(v - (twice.w[j] as number)) < 1e-9, `w${j}: ${v}`));
  assert.ok(Math.abs(weighted.b - twice.b) < 1e-9);
  const unweighted = fitLogisticL2(z, 2, y, 1, 50);
  assert.deepEqual(fitLogisticL2(z, 2, y, 1, 50, [1, 1, 1, 1, 1, 1]), unweighted);
  assert.ok(Math.abs((unweighted.w[0] as number) - (weighted.w[0] as number)) > 1e-3);
});

test("learners: weights of 1 train exactly as no weights; the decisions' weights change the model", async () => {
  await initBackend('cpu');
  const ds = decided;
  const train = rowsOf(ds, 'train', false);
  const x = standardize(ds.x, ds.dim, fitStandardizer(ds.x, ds.dim, train));
  const data: TrainData = { x, dim: ds.dim, y: ds.y, session: ds.session, ids: ds.ids, train, val: rowsOf(ds, 'val') };
  const ones = new Float32Array(ds.ids.length).fill(1);
  const hyper = { epochs: 3, batch: 32 };
  for (const arch of ['pairwise', 'logistic', 'contrastive', 'pca-logistic'] as const) {
    const a = await trainScorer(arch, data, hyper, 9);
    const b = await trainScorer(arch, { ...data, weight: ones }, hyper, 9);
    const c = await trainScorer(arch, { ...data, weight: ds.weight }, hyper, 9);
    const flat = (p: typeof a.params): number[] => Object.values(p.weights).flatMap((w) => w.values);
    const fa = flat(a.params);
    const fb = flat(b.params);
    const fc = flat(c.params);
    if (arch === 'contrastive') {
      // a weighted mean of ones is the mean up to float rounding
      fa.forEach((v, i) => assert.ok(Math.abs(v - (fb[i] as number)) < 1e-5, `${arch} ${i}: ${v} ${fb[i]}`));
    } else assert.deepEqual(fb, fa, arch);
    const moved = Math.max(...fa.map((v, i) => Math.abs(v - (fc[i] as number))));
    assert.ok(moved > 1e-4, `${arch}: the decisions' weights moved the weights by ${moved}`);
  }
});

test("flux train reports the decisions it learned from; flux score surfaces by the portal's refitted threshold", async () => {
  // a decision on a photo of an inbox scored before this one: it does not train, and the report says so
  await withDb(dbFile, (d) =>
    d.run(
      `INSERT INTO review_decisions VALUES (987654321, 'R0000001.JPG', 'keep', 0.5, TIMESTAMP '2026-01-02 10:00:00')`,
    ),
  );
  const r = await trainAndScore({
    db: dbFile,
    arch: 'logistic',
    modelsDir: join(work.dir, 'models'),
    seed: 3,
    resamples: 20,
    hyper: { epochs: 3 },
    skipPhotoSplit: true,
    allWalks: false,
  });
  assert.deepEqual(r.data.decisions, { keep: 3, reject: 4, inArchive: 1, noFeatures: 0, notInInbox: 1 });
  assert.ok(
    formatTrain(r).includes(
      'review decisions: 3 kept (label 1, weight 1) and 4 rejected (label 0, ' +
        'weight 3) inbox photos added to the training rows; left out: 1 already in the archive, 1 of photos no ' +
        'longer in the inbox (filed in the archive, they are labelled there)',
    ),
    formatTrain(r),
  );
  assert.equal(r.data.train, rowsOf(decided, 'train').length);
  const db = await Db.open(dbFile);
  try {
    const own = await score(db, { modelDir: r.dir });
    assert.equal(own.thresholdSource.source, 'model');
    assert.equal(own.threshold, r.threshold.point?.threshold ?? null);
    const scores = await db.all<{ s: number }>(`SELECT keeper_score AS s FROM photos
      WHERE keeper_score IS NOT NULL AND keeper_band NOT IN ('keeper', 'failure') ORDER BY keeper_score DESC`);
    const cut = (scores[9] as { s: number }).s;
    const write = (model: string | null, threshold: number | null): Promise<void> =>
      db.run('INSERT OR REPLACE INTO meta VALUES (?, ?)', [
        SURFACE_THRESHOLD_KEY,
        JSON.stringify({
          threshold,
          rule: "lowest threshold with precision >= 0.8 against the photographer's decisions",
          precision: 0.8,
          recall: 0.5,
          reviewPer1000: 40,
          decisions: 212,
          keeps: 30,
          rejects: 182,
          inboxPhotos: 500,
          model,
          fittedAt: '2026-12-06T00:00:00.000Z',
          note: null,
        }),
      ]);
    await write(r.id, cut);
    const refit = await score(db, { modelDir: r.dir });
    assert.equal(refit.threshold, cut);
    assert.equal(refit.thresholdSource.source, 'decisions');
    assert.match(refit.thresholdSource.text, /refitted on 212 review decisions \(30 kept\)/);
    assert.equal(refit.counts.surfaced, scores.filter((x) => x.s >= cut - SCORE_TOLERANCE).length);
    assert.ok((refit.counts.surfaced as number) >= 10);
    const inbox = await scoreInboxSet(db, loadKeeperModel(r.dir), r.dir);
    assert.equal(inbox.threshold.value, cut);
    assert.equal(
      inbox.scored.filter((x) => x.surfaced).length,
      inbox.scored.filter((x) => x.band !== 'failure' && x.score !== null && x.score >= cut - SCORE_TOLERANCE).length,
    );
    // another model's threshold, or none yet: the model's own
    await write('keeper-other', cut);
    const other = await score(db, { modelDir: r.dir });
    assert.equal(other.thresholdSource.source, 'model');
    assert.equal(other.threshold, own.threshold);
    assert.match(other.thresholdSource.text, /is for keeper-other, not this one/);
    await write(r.id, null);
    const none = await score(db, { modelDir: r.dir });
    assert.equal(none.threshold, own.threshold);
    assert.equal(none.counts.surfaced, own.counts.surfaced);
  } finally {
    db.close();
  }
});
