import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runDetect, runIngest } from '../lib/pipeline/stages.js';
import { formatDetect, meanLuma } from '../lib/2-detect/detect.js';
import { presentDetectors } from '../lib/2-detect/models.js';
import { suppress, type Found } from '../lib/2-detect/run.js';
import { Db } from '../lib/db/duckdb.js';
import { readDetections, readExamined } from '../lib/db/detections.js';
import { FluxError } from '../lib/util/check.js';
import { envSkip, noSharedPhotos, SHARED_PHOTOS, tempDir } from './helpers.js';

/** A man walking past a lit wall, seen whole (portrait frame), and a frame with nobody in it. */
const PERSON = 'mei_canon-eos-1000d.jpg';
const EMPTY = 'mei_canon-eos-450d.jpg';
const MODELS = ['centernet', 'movenet-multipose', 'nanodet', 'blazeface'] as const;
const skip = envSkip(
  noSharedPhotos ||
    (presentDetectors().length < MODELS.length
      ? 'needs the detector files in models/detect/ (flux detect --install)'
      : false),
);

let work: ReturnType<typeof tempDir>;
let dbFile: string;
const ids = new Map<string, number>();

before(async () => {
  if (skip) return;
  work = tempDir('detect');
  const originals = join(work.dir, 'originals');
  mkdirSync(originals);
  for (const f of [PERSON, EMPTY]) copyFileSync(join(SHARED_PHOTOS, f), join(originals, f));
  dbFile = join(work.dir, 'flux.duckdb');
  await runIngest({ originals, db: dbFile });
  const db = await Db.open(dbFile, { readOnly: true });
  for (const r of await db.all<{ photo_id: number; path: string }>('SELECT photo_id, path FROM photos'))
    ids.set(r.path, r.photo_id);
  db.close();
});

after(() => work?.cleanup());

test(
  'a real street photo: one person found by each person model where he walks, his face on his head',
  { skip },
  async () => {
    const events: string[] = [];
    const r = await runDetect({
      db: dbFile,
      models: MODELS,
      onProgress: (e) => events.push(`${e.stage} ${e.done}/${e.total}`),
    });
    // centernet, nanodet and blazeface on ONNX Runtime by default, movenet-multipose on TF.js (wasm here)
    assert.deepEqual(r.runtimes, {
      centernet: 'onnx',
      'movenet-multipose': 'tfjs',
      nanodet: 'onnx',
      blazeface: 'onnx',
    });
    assert.equal(r.backend === 'wasm' || r.backend?.startsWith('tensorflow'), true);
    assert.deepEqual(
      [...new Set(r.runs.map((x) => x.modelId))],
      [
        'centernet@human-models-3.0.4+onnx',
        'movenet-multipose@human-models-3.0.4',
        'nanodet@human-models-3.0.4+onnx',
        'blazeface@human-models-3.0.4+onnx',
      ],
    );
    for (const run of r.runs.filter((x) => x.set === 'photos')) {
      assert.equal(run.examined, 2, run.model);
      assert.equal(run.failed, 0);
    }
    assert.ok(events.includes('detect photos (centernet) 2/2'), events.join(', '));
    const db = await Db.open(dbFile, { readOnly: true });
    try {
      const rows = await readDetections(db, 'photos');
      const sure = (path: string, kind: string, model: string): typeof rows =>
        rows.filter(
          (d) => d.photo_id === ids.get(path) && d.kind === kind && d.model_id.startsWith(model) && d.score >= 0.4,
        );
      for (const model of ['centernet', 'movenet-multipose', 'nanodet']) {
        const people = sure(PERSON, 'person', model);
        assert.equal(people.length, 1, `${model}: ${JSON.stringify(people)}`);
        const p = people[0] as (typeof rows)[number];
        // he stands a little right of centre in the lower half, about a third of the frame tall
        assert.ok(Math.abs(p.x + p.w / 2 - 0.54) < 0.04, `${model} centre x ${p.x + p.w / 2}`);
        assert.ok(Math.abs(p.y - 0.475) < 0.03 && Math.abs(p.h - 0.355) < 0.04, `${model} y ${p.y} h ${p.h}`);
        assert.equal(p.preview_size, 384);
        assert.equal(sure(EMPTY, 'person', model).length, 0, `${model} sees nobody in the empty frame`);
      }
      const pose = sure(PERSON, 'person', 'movenet')[0]?.keypoints ?? [];
      assert.equal(pose.length, 51);
      // the ankles lie below the hips, the nose above the shoulders
      assert.ok(
        (pose[15 * 3 + 1] as number) > (pose[11 * 3 + 1] as number) &&
          (pose[1] as number) < (pose[5 * 3 + 1] as number),
      );
      const faces = sure(PERSON, 'face', 'blazeface');
      assert.equal(faces.length, 1);
      const f = faces[0] as (typeof rows)[number];
      assert.ok(f.x > 0.47 && f.x + f.w < 0.6 && f.y > 0.48 && f.y + f.h < 0.58, JSON.stringify(f));
      assert.equal(sure(EMPTY, 'face', 'blazeface').length, 0);
      // both photos are in the ledger for every model, the empty one with no person found
      const ledger = await readExamined(db, 'photos');
      assert.equal(ledger.length, 2 * MODELS.length);
      assert.ok(ledger.every((l) => l.frame_luma !== null && l.frame_luma > 0.05 && l.frame_luma < 0.95));
    } finally {
      db.close();
    }
  },
);

test('a second run resumes: what was examined is skipped, a forgotten photo is examined again', { skip }, async () => {
  const again = await runDetect({ db: dbFile, models: ['centernet'] });
  assert.deepEqual(
    again.runs.filter((x) => x.set === 'photos').map((x) => [x.alreadyDone, x.examined]),
    [[2, 0]],
  );
  const db = await Db.open(dbFile);
  await db.run(`DELETE FROM detections_examined WHERE photo_id = ? AND model_id LIKE 'centernet%'`, [
    ids.get(EMPTY) as number,
  ]);
  db.close();
  const resumed = await runDetect({ db: dbFile, models: ['centernet'] });
  assert.deepEqual(
    resumed.runs.filter((x) => x.set === 'photos').map((x) => [x.alreadyDone, x.examined]),
    [[1, 1]],
  );
  // the other runtime records under its own model id, so it examines both photos again
  const tfjs = await runDetect({ db: dbFile, models: ['centernet'], runtime: 'tfjs' });
  assert.deepEqual(
    tfjs.runs.filter((x) => x.set === 'photos').map((x) => [x.modelId, x.alreadyDone, x.examined, x.withFinds]),
    [['centernet@human-models-3.0.4', 0, 2, 1]],
  );
});

test(
  'a preview that no longer decodes: recorded with why, named in the report, tried again by the next run',
  { skip },
  async () => {
    const dir = join(work.dir, 'broken');
    const originals = join(dir, 'originals');
    mkdirSync(originals, { recursive: true });
    for (const f of [PERSON, EMPTY]) copyFileSync(join(SHARED_PHOTOS, f), join(originals, f));
    const file = join(dir, 'flux.duckdb');
    await runIngest({ originals, db: file });
    const db = await Db.open(file, { readOnly: true });
    const preview = (await db.value<string>('SELECT preview FROM photos WHERE path = ?', [EMPTY])) as string;
    db.close();
    // the preview cache cut short (the workspace is the database's folder)
    const jpeg = join(dir, preview);
    writeFileSync(jpeg, readFileSync(jpeg).subarray(0, 300));
    const r = await runDetect({ db: file, models: ['centernet'], sets: ['photos'] });
    const run = r.runs[0];
    assert.deepEqual([run?.examined, run?.failed, run?.failures.map((f) => f.path)], [1, 1, [EMPTY]]);
    const text = formatDetect(r);
    assert.match(text, new RegExp(`not examined: photos ${EMPTY.replace('.', '\\.')}: \\S`), text);
    const after = await Db.open(file, { readOnly: true });
    const errors = await after.all<{ path: string; error: string }>(
      `SELECT p.path, e.error FROM detections_examined e JOIN photos p ON p.photo_id = e.photo_id
        WHERE e.error IS NOT NULL`,
    );
    after.close();
    assert.deepEqual(
      errors.map((e) => [e.path, e.error]),
      [[EMPTY, run?.failures[0]?.reason]],
    );
    // the next run tries the broken photo again, not the examined one
    const again = (await runDetect({ db: file, models: ['centernet'], sets: ['photos'] })).runs[0];
    assert.deepEqual([again?.alreadyDone, again?.examined, again?.failed], [1, 0, 1]);
  },
);

test('bad options get one clear line', { skip }, async () => {
  await assert.rejects(
    runDetect({ db: dbFile, models: ['yolo' as 'centernet'] }),
    (e: Error) => e instanceof FluxError && /--models: expected some of/.test(e.message),
  );
  await assert.rejects(runDetect({ db: dbFile, modelDir: join(work.dir, 'nowhere') }), /flux detect --install/);
  await assert.rejects(runDetect({ db: dbFile, workers: 0 }), /--workers: expected/);
  await assert.rejects(
    runDetect({ db: dbFile, models: ['movenet-multipose'], runtime: 'onnx' }),
    (e: Error) => e instanceof FluxError && /--runtime onnx: movenet-multipose has no ONNX conversion/.test(e.message),
  );
  await assert.rejects(runDetect({ db: join(work.dir, 'none.duckdb') }), /no database at/);
});

test('suppression keeps the best of overlapping boxes; luminance of a box', () => {
  const box = (score: number, x: number): Found => ({
    kind: 'person',
    score,
    x,
    y: 0,
    w: 0.2,
    h: 0.5,
    keypoints: null,
  });
  assert.deepEqual(
    suppress([box(0.5, 0.01), box(0.9, 0), box(0.7, 0.5)]).map((b) => b.score),
    [0.9, 0.7],
  );
  const data = new Uint8Array(4 * 2 * 3);
  data.fill(255, 0, 6); // the top-left two pixels white, the rest black
  const img = { data, width: 4, height: 2 };
  assert.equal(meanLuma(img, { x: 0, y: 0, w: 0.5, h: 0.5 }), 1);
  assert.ok(Math.abs(meanLuma(img) - 0.25) < 1e-9);
});
