import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Db, withDb } from '../lib/db/duckdb.js';
import { buildSplit, ensureSplit, planSplit } from '../lib/4-dataset/split.js';
import { findModel } from '../lib/2-embed/models.js';
import { vectorGlob } from '../lib/2-embed/store.js';
import { runEmbed, runIngest, runIngestMetadata } from '../lib/pipeline/stages.js';
import { generateMetadata } from '../lib/0-sample/metadata.js';
import { envSkip, matchAt, PROJECT, smallSample, tempDir } from './helpers.js';
import { lit } from '../lib/db/duckdb.js';

const work = tempDir('dataset');
after(() => work.cleanup());
let dbFile: string;

before(async () => {
  // rows only: 20,000 photos, 800 keepers marked as keepers directly
  await generateMetadata({ out: work.dir, seed: 4, photos: 20_000, keepers: 800 });
  dbFile = join(work.dir, 'meta.duckdb');
  await runIngestMetadata({ dir: work.dir, db: dbFile });
  const db = await Db.open(dbFile);
  await db.run(
    `UPDATE photos SET keeper = true WHERE photo_id IN (SELECT true_photo_id FROM read_parquet(${lit(join(work.dir, 'metadata', 'keeper_truth.parquet'))}))`,
  );
  db.close();
});

test('session split: no walk straddles two splits, shares and keeper rates are kept, same seed same split', async () => {
  const db = await Db.open(dbFile);
  try {
    const a = await buildSplit(db, { seed: 3 });
    const straddle = Number(
      await db.value(`SELECT count(*) FROM (SELECT session_date FROM dataset_split JOIN photos USING (photo_id)
      WHERE scheme = 'session' GROUP BY session_date HAVING count(DISTINCT split) > 1)`),
    );
    assert.equal(straddle, 0);
    const total = a.rows.reduce((s, r) => s + r.photos, 0);
    const rate = a.rows.reduce((s, r) => s + r.keepers, 0) / total;
    for (const [r, share] of a.rows.map((x, i) => [x, [0.8, 0.1, 0.1][i] as number] as const)) {
      assert.ok(Math.abs(r.photos / total - share) < 0.03, `${r.split}: ${r.photos}/${total}`);
      assert.ok(Math.abs(r.keeperRate - rate) < rate * 0.35, `${r.split}: keeper rate ${r.keeperRate} vs ${rate}`);
    }
    const before1 = await db.all(
      "SELECT photo_id, split FROM dataset_split WHERE scheme = 'session' ORDER BY photo_id",
    );
    await buildSplit(db, { seed: 3 });
    assert.deepEqual(
      await db.all("SELECT photo_id, split FROM dataset_split WHERE scheme = 'session' ORDER BY photo_id"),
      before1,
    );
    await buildSplit(db, { seed: 4 });
    assert.notDeepEqual(
      await db.all("SELECT photo_id, split FROM dataset_split WHERE scheme = 'session' ORDER BY photo_id"),
      before1,
    );
    const p = await buildSplit(db, { seed: 3, scheme: 'photo' });
    const straddlePhoto = Number(
      await db.value(`SELECT count(*) FROM (SELECT session_date FROM dataset_split JOIN photos USING (photo_id)
      WHERE scheme = 'photo' GROUP BY session_date HAVING count(DISTINCT split) > 1)`),
    );
    assert.ok(straddlePhoto > 100, 'the photo-level split mixes walks across splits (the leak it exists to show)');
    assert.equal(p.rows.length, 3);
  } finally {
    db.close();
  }
});

test('the stored split keeps its seed when training asks for another; as the corpus changes its walks keep their split and new walks are dealt', async () => {
  const db = await Db.open(dbFile);
  const rows = (): Promise<unknown[]> =>
    db.all(`SELECT photo_id, split, seed FROM dataset_split WHERE scheme = 'session' ORDER BY photo_id`);
  let unlinked: number | null = null;
  try {
    await buildSplit(db, { seed: 3 });
    const made = await rows();
    assert.deepEqual(await ensureSplit(db, { scheme: 'session', seed: 9 }), { seed: 3, note: null });
    assert.deepEqual(await rows(), made, 'untouched');
    // 20 photos the split has not seen (ingested after it was made, into walks it placed) and one keeper unlinked
    await db.run(
      `DELETE FROM dataset_split WHERE scheme = 'session' AND photo_id IN (SELECT photo_id FROM photos WHERE NOT keeper ORDER BY photo_id LIMIT 20)`,
    );
    unlinked = Number(await db.value('SELECT min(photo_id) FROM photos WHERE keeper'));
    await db.run('UPDATE photos SET keeper = false WHERE photo_id = ?', [unlinked]);
    const again = await ensureSplit(db, { scheme: 'session', seed: 9 });
    assert.deepEqual(again, {
      seed: 3,
      note: 'the corpus changed since the session-level split was made (20 photos added); walks it had placed keep their split (seed 3)',
    });
    assert.deepEqual(
      await rows(),
      made,
      "the new photos joined their walks' splits; the unlinked keeper moved nothing",
    );
    // a walk it has never seen: dealt by need, every other photo where it was
    const walk = await db.value<string>(`SELECT CAST(min(session_date) AS VARCHAR) FROM photos`);
    const inWalk = Number(await db.value('SELECT count(*) FROM photos WHERE session_date = CAST(? AS DATE)', [walk]));
    await db.run(
      `DELETE FROM dataset_split WHERE scheme = 'session' AND photo_id IN (SELECT photo_id FROM photos WHERE session_date = CAST(? AS DATE))`,
      [walk],
    );
    const third = await ensureSplit(db, { scheme: 'session', seed: 9 });
    assert.equal(
      third.note,
      `the corpus changed since the session-level split was made (${inWalk} photos added, 1 new walk dealt by need); walks it had placed keep their split (seed 3)`,
    );
    const after = await db.all<{ photo_id: number; split: string; seed: number }>(
      `SELECT photo_id, split, seed FROM dataset_split WHERE scheme = 'session' ORDER BY photo_id`,
    );
    assert.equal(after.length, made.length);
    const walkIds = new Set(
      (
        await db.all<{ id: number }>('SELECT photo_id AS id FROM photos WHERE session_date = CAST(? AS DATE)', [walk])
      ).map((x) => Number(x.id)),
    );
    const madeById = new Map(
      (made as Array<{ photo_id: number; split: string }>).map((x) => [Number(x.photo_id), x.split]),
    );
    assert.ok(
      after.every((x) => walkIds.has(Number(x.photo_id)) || madeById.get(Number(x.photo_id)) === x.split),
      'every other walk kept its split',
    );
    assert.equal(
      new Set(after.filter((x) => walkIds.has(Number(x.photo_id))).map((x) => x.split)).size,
      1,
      'the new walk lies in one split',
    );
    // the largest seed is stored whole
    await buildSplit(db, { seed: 0xffffffff });
    assert.equal(Number(await db.value(`SELECT max(seed) FROM dataset_split WHERE scheme = 'session'`)), 0xffffffff);
    await buildSplit(db, { seed: 3 });
  } finally {
    if (unlinked !== null) await db.run('UPDATE photos SET keeper = true WHERE photo_id = ?', [unlinked]);
    db.close();
  }
  assert.throws(
    () => planSplit([], 1, 'session', [0.5, 0.5, 0]),
    /three positive shares .* received \[0\.5, 0\.5, 0\]/,
  );
  assert.throws(() => planSplit([], 1, 'session', [0.8, 0.1, 0.2]), /adding up to 1/);
});

test('context features: hour, season, session size and position from EXIF and the walk', async () => {
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    const [r] = await db.all<{
      n: number;
      maxpos: number;
      minpos: number;
      frames: number;
      bad: number;
    }>(`SELECT count(*) AS n, max(session_position) AS maxpos,
      min(session_position) AS minpos, max(session_frames) AS frames, count(*) FILTER (WHERE abs(hour_sin * hour_sin + hour_cos * hour_cos - 1) > 1e-9) AS bad FROM photo_context`);
    assert.deepEqual([r?.maxpos, r?.minpos, r?.frames, r?.bad], [1, 0, 150, 0]);
  } finally {
    db.close();
  }
  // photos without a day are no walk: their walk features are missing, not those of one walk of all such photos
  const rw = await Db.open(dbFile);
  try {
    const ids = (await rw.all<{ id: number }>('SELECT photo_id AS id FROM photos ORDER BY photo_id LIMIT 3')).map((x) =>
      Number(x.id),
    );
    const saved = await rw.all<{ photo_id: number; session_date: string }>(
      'SELECT photo_id, CAST(session_date AS VARCHAR) AS session_date FROM photos WHERE photo_id IN (SELECT unnest(?::BIGINT[]))',
      [JSON.stringify(ids)],
    );
    try {
      await rw.run('UPDATE photos SET session_date = NULL WHERE photo_id IN (SELECT unnest(?::BIGINT[]))', [
        JSON.stringify(ids),
      ]);
      const rows = await rw.all<{ f: number | null; p: number | null; h: number | null }>(
        `SELECT session_frames AS f, session_position AS p, hour_sin AS h FROM photo_context WHERE photo_id IN (SELECT unnest(?::BIGINT[]))`,
        [JSON.stringify(ids)],
      );
      assert.deepEqual(
        rows.map((x) => [x.f, x.p]),
        [
          [null, null],
          [null, null],
          [null, null],
        ],
      );
      assert.ok(
        rows.every((x) => x.h !== null),
        'their hour is still known',
      );
    } finally {
      for (const row of saved)
        await rw.run('UPDATE photos SET session_date = ? WHERE photo_id = ?', [row.session_date, Number(row.photo_id)]);
    }
  } finally {
    rw.close();
  }
});

test("walk columns: each photo carries its walk's mean of the weather measures; a photo without a day its own", async () => {
  const { loadFeatures } = await import('../lib/4-dataset/rows.js');
  const { DESCRIPTOR_NAMES } = await import('../lib/2-embed/descriptor.js');
  const { DESCRIPTOR_VERSION, WALK_MEASURES } = await import('../lib/db/vectors.js');
  const copy = join(work.dir, 'walk.duckdb');
  copyFileSync(dbFile, copy);
  const db = await Db.open(copy);
  try {
    // two walks of three photos and one photo whose day is unknown, each with a descriptor of its own values
    const days = await db.all<{ d: string }>(
      'SELECT DISTINCT CAST(session_date AS VARCHAR) AS d FROM photos ORDER BY d LIMIT 2',
    );
    const pick = async (day: string): Promise<number[]> =>
      (
        await db.all<{ id: number }>(
          'SELECT photo_id AS id FROM photos WHERE CAST(session_date AS VARCHAR) = ? ORDER BY photo_id LIMIT 3',
          [day],
        )
      ).map((r) => Number(r.id));
    const walkA = await pick(days[0]?.d as string);
    const walkB = await pick(days[1]?.d as string);
    const alone = Number(await db.value('SELECT max(photo_id) FROM photos'));
    await db.run('UPDATE photos SET session_date = NULL WHERE photo_id = ?', [alone]);
    // every photo of the two walks has a descriptor: the three picked with known haze, the rest with haze 0.5
    const rest = await db.all<{ id: number }>(
      `SELECT photo_id AS id FROM photos WHERE CAST(session_date AS VARCHAR) IN (?, ?)
       AND photo_id NOT IN (SELECT unnest(?::BIGINT[]))`,
      [days[0]?.d as string, days[1]?.d as string, JSON.stringify([...walkA, ...walkB])],
    );
    const haze = new Map<number, number>([
      ...walkA.map((id, i): [number, number] => [id, 0.1 * (i + 1)]),
      ...walkB.map((id, i): [number, number] => [id, 0.7 + 0.05 * i]),
      [alone, 0.9],
      ...rest.map((r): [number, number] => [Number(r.id), 0.5]),
    ]);
    for (const [id, h] of haze) {
      const values = DESCRIPTOR_NAMES.map((n) => (n === 'haze' ? h : 0.25));
      await db.run(`INSERT INTO descriptors VALUES ('photos', ?, ${DESCRIPTOR_NAMES.map(() => '?').join(', ')}, ?)`, [
        id,
        ...values,
        DESCRIPTOR_VERSION,
      ]);
    }
    const rows = await loadFeatures(db, work.dir, { set: 'photos', featureSet: 'descriptor+context', modelId: null });
    const col = (name: string): number => rows.names.indexOf(name);
    assert.deepEqual(
      rows.names.filter((n) => n.startsWith('walk_')),
      WALK_MEASURES.map((n) => `walk_${n}`),
    );

    const at = new Map(rows.ids.map((id, i) => [id, i]));
    const value = (id: number, name: string): number => rows.x[(at.get(id) as number) * rows.dim + col(name)] as number;
    for (const [walk, day] of [
      [walkA, days[0]?.d],
      [walkB, days[1]?.d],
    ] as const) {
      const members = Number(
        await db.value('SELECT count(*) FROM photos WHERE CAST(session_date AS VARCHAR) = ?', [day as string]),
      );
      const sum = walk.reduce((s, id) => s + (haze.get(id) as number), 0) + 0.5 * (members - walk.length);
      for (const id of walk) {
        assert.ok(Math.abs(value(id, 'walk_haze') - sum / members) < 1e-6, `photo ${id}: ${value(id, 'walk_haze')}`);
        assert.ok(Math.abs(value(id, 'haze') - (haze.get(id) as number)) < 1e-6, 'its own haze is unchanged');
        assert.ok(Math.abs(value(id, 'walk_contrast') - 0.25) < 1e-6);
      }
    }
    assert.notEqual(value(walkA[0] as number, 'walk_haze'), value(walkB[0] as number, 'walk_haze'));
    assert.ok(Math.abs(value(alone, 'walk_haze') - 0.9) < 1e-6, 'a photo without a day is a walk of its own');
    // a photo without a descriptor has no walk measure of its own; the context alone has no walk columns
    const other = Number(
      await db.value('SELECT min(photo_id) FROM photos WHERE photo_id NOT IN (SELECT id FROM descriptors)'),
    );
    assert.ok(Number.isNaN(value(other, 'haze')));
    const ctx = await loadFeatures(db, work.dir, { set: 'photos', featureSet: 'context', modelId: null });
    assert.equal(ctx.names.filter((n) => n.startsWith('walk_')).length, 0);
  } finally {
    db.close();
  }
});

test(
  'augmented views are made for training photos only, reproducibly',
  { skip: envSkip(findModel('mobilenetv2-int8').path ? false : 'needs the MobileNetV2 model') },
  async () => {
    const sample = await smallSample();
    const db2 = join(work.dir, 'views.duckdb');
    await runIngest({ originals: sample.originals, keepers: sample.keepers, db: db2, workspace: join(work.dir, 'ws') });
    await runEmbed({ db: db2, model: 'mobilenetv2-int8', views: 2 }).then(
      () => assert.fail('views need a split first'),
      (e: Error) => assert.match(e.message, /run flux dataset/),
    );
    await matchAt(db2);
    const db = await Db.open(db2);
    await buildSplit(db, { seed: 1 });
    const [broken] = await db.all<{ id: number; preview: string }>(`SELECT p.photo_id AS id, p.preview FROM photos p
      JOIN dataset_split s USING (photo_id) WHERE s.scheme = 'session' AND s.split = 'train' ORDER BY 1 LIMIT 1`);
    db.close();
    // a training photo's preview unreadable when its views are made: both views named, the others made
    const previewFile = join(work.dir, 'ws', broken?.preview as string);
    const bytes = readFileSync(previewFile);
    writeFileSync(previewFile, 'not a JPEG');
    const first = await runEmbed({ db: db2, model: 'mobilenetv2-int8', views: 2, seed: 5 });
    writeFileSync(previewFile, bytes);
    assert.deepEqual(
      first.viewFailures.map((f) => [f.id, f.view, f.preview]),
      [1, 2].map((v) => [broken?.id, v, broken?.preview]),
    );
    assert.match(first.viewFailures[0]?.message ?? '', new RegExp(`preview ${broken?.preview}: `));
    // the next run makes the two it lacks
    const again = await runEmbed({ db: db2, model: 'mobilenetv2-int8', views: 2, seed: 5 });
    assert.deepEqual([again.views, again.viewFailures.length], [2, 0]);
    const r = { views: first.views + again.views };
    const d = await Db.open(db2, { readOnly: true });
    try {
      const glob = vectorGlob(join(work.dir, 'ws'), 'mobilenetv2-int8', 'photos') as string;
      const [c] = await d.all<{
        bad: number;
        train: number;
        views: number;
      }>(`SELECT count(*) FILTER (WHERE s.split <> 'train') AS bad,
      count(DISTINCT v.photo_id) AS train, count(*) AS views FROM read_parquet(${lit(glob)}) v JOIN dataset_split s ON s.photo_id = v.photo_id AND s.scheme = 'session' WHERE v.view > 0`);
      const trainPhotos = Number(
        await d.value(`SELECT count(*) FROM dataset_split WHERE scheme = 'session' AND split = 'train'`),
      );
      assert.deepEqual([c?.bad, c?.train, c?.views, r.views], [0, trainPhotos, 2 * trainPhotos, 2 * trainPhotos]);
      const [diff] = await d.all<{
        same: number;
      }>(`SELECT count(*) FILTER (WHERE a.vector = b.vector) AS same FROM read_parquet(${lit(glob)}) a
      JOIN read_parquet(${lit(glob)}) b ON a.photo_id = b.photo_id AND a.view = 0 AND b.view = 1
      JOIN descriptors x ON x."set" = 'photos' AND x.id = a.photo_id WHERE x.contrast > 0.02`);
      assert.equal(diff?.same, 0, 'a view differs from the original (flat misfires aside, where nothing can change)');
    } finally {
      d.close();
    }
  },
);

test('flux dataset names the photos without a capture day it leaves out, and a corpus without keepers', async () => {
  const copy = join(work.dir, 'undated.duckdb');
  copyFileSync(dbFile, copy);
  await withDb(copy, async (d) => {
    await d.run(
      'UPDATE photos SET session_date = NULL WHERE photo_id IN (SELECT photo_id FROM photos ORDER BY photo_id LIMIT 3)',
    );
    await d.run('UPDATE photos SET keeper = false');
  });
  const r = spawnSync(process.execPath, [join(PROJECT, 'dist', 'lib', 'cli', 'flux.js'), 'dataset', '--db', copy], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /\n {2}left out: 3 photos without a capture day \(no EXIF time, not in a YYYY-MM-DD folder\): no walk to go with\n {2}no keepers yet: run flux match first\n/,
  );
});
