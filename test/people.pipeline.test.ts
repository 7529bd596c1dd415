import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import {
  figureBoxes,
  renderScene,
  sampleSceneParams,
  sampleSessionStyle,
  type SceneParams,
} from '../lib/0-sample/render.js';
import { runDetect, runIngest } from '../lib/pipeline/stages.js';
import { matchBoxes } from '../lib/2-detect/figures.js';
import { runtimeFor } from '../lib/2-detect/engine.js';
import { modelId, presentDetectors } from '../lib/2-detect/models.js';
import { PEOPLE_NAMES, peopleFeatures, peopleRow } from '../lib/4-dataset/people.js';
import { Db } from '../lib/db/duckdb.js';
import { readDetections } from '../lib/db/detections.js';
import { Rng } from '../lib/util/rng.js';
import { envSkip, tempDir } from './helpers.js';

const col = (name: (typeof PEOPLE_NAMES)[number]): number => PEOPLE_NAMES.indexOf(name);

test('a row of people features from boxes: sizes, thirds, depth, light, stride, faces', () => {
  // keypoints of a striding walker: hips at y 0.55, ankles at y 0.9 spread 0.14 apart
  const kp = new Array(51).fill(0);
  for (const [i, x, y] of [
    [11, 0.32, 0.55],
    [12, 0.34, 0.55],
    [15, 0.26, 0.9],
    [16, 0.4, 0.9],
  ] as const)
    kp.splice(3 * i, 3, x, y, 0.9);
  const near = { score: 0.8, x: 1 / 3 - 0.05, y: 0.4, w: 0.1, h: 0.5, luma: 0.7, keypoints: kp };
  const far = { score: 0.5, x: 0.8, y: 0.45, w: 0.03, h: 0.1, luma: 0.2, keypoints: null };
  const face = { score: 0.9, x: 0.31, y: 0.41, w: 0.03, h: 0.05, luma: null, keypoints: null };
  const row = peopleRow([near, far], [face], 0.4);
  assert.equal(row.length, PEOPLE_NAMES.length);
  assert.deepEqual(
    [row[col('people_count')], row[col('people_small')], row[col('people_medium')], row[col('people_large')]],
    [2, 1, 0, 1],
  );
  assert.equal(row[col('people_max_height')], 0.5);
  assert.ok(Math.abs((row[col('people_thirds_x')] as number) - 0) < 1e-9); // centred on the left third
  assert.ok(Math.abs((row[col('people_thirds_y')] as number) - (0.425 - 1 / 3)) < 1e-9);
  assert.equal(row[col('people_layers')], 2);
  assert.ok(Math.abs((row[col('people_depth_ratio')] as number) - Math.log2(5)) < 1e-9);
  assert.ok(Math.abs((row[col('people_light')] as number) - 0.3) < 1e-9);
  assert.ok(Math.abs((row[col('people_stride')] as number) - 0.14 / 0.35) < 1e-9);
  assert.deepEqual([row[col('face_count')], row[col('face_max_height')]], [1, 0.05]);
  const none = peopleRow([], [], 0.5);
  assert.deepEqual(
    [
      none[col('people_count')],
      none[col('people_max_height')],
      none[col('people_thirds_x')],
      none[col('people_light')],
    ],
    [0, 0, 1 / 3, 0],
  );
});

const MODELS = ['centernet', 'movenet-multipose', 'blazeface'] as const;
const skip = envSkip(
  presentDetectors().length < 4 ? 'needs the detector files in models/detect/ (flux detect --install)' : false,
);
let work: ReturnType<typeof tempDir>;
let dbFile: string;
const scenes = new Map<string, SceneParams>();

/** A clear afternoon scene with the given figures (no fog, blur, tilt or exposure error). */
function scene(seed: number, figures: SceneParams['figures'], light = 0.8): SceneParams {
  const rng = new Rng(seed);
  const p = sampleSceneParams(rng, sampleSessionStyle(rng), 0);
  return { ...p, timeOfDay: 14, fog: 0, blur: 0, tilt: 0, exposure: 0, contrast: 1, light, saturation: 0.8, figures };
}

before(async () => {
  if (skip) return;
  work = tempDir('people');
  const originals = join(work.dir, 'originals');
  mkdirSync(originals);
  scenes.set('empty.jpg', scene(1, [], 0.2));
  scenes.set('one-lit.jpg', scene(2, [{ x: 1 / 3, scale: 0.45, lit: true, pose: 0.8 }]));
  scenes.set(
    'two-deep.jpg',
    scene(3, [
      { x: 0.7, scale: 0.5, lit: false, pose: 0.5 },
      { x: 0.25, scale: 0.2, lit: false, pose: 0.9 },
    ]),
  );
  for (const [name, p] of scenes) {
    const rgb = renderScene(p, 768, 512);
    await sharp(Buffer.from(rgb.buffer), { raw: { width: 768, height: 512, channels: 3 } })
      .jpeg({ quality: 88 })
      .toFile(join(originals, name));
  }
  dbFile = join(work.dir, 'flux.duckdb');
  await runIngest({ originals, db: dbFile });
  await runDetect({ db: dbFile, models: MODELS });
});

after(() => work?.cleanup());

test('drawn figures are found where the sample put them, and become people features', { skip }, async () => {
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    const paths = new Map(
      (await db.all<{ photo_id: number; path: string }>('SELECT photo_id, path FROM photos')).map((r) => [
        r.path,
        Number(r.photo_id),
      ]),
    );
    const dets = await readDetections(db, 'photos');
    // centernet finds every figure; movenet-multipose, the pose model, the near ones
    for (const model of ['centernet', 'movenet-multipose']) {
      for (const [name, p] of scenes) {
        if (model !== 'centernet' && name === 'two-deep.jpg') continue;
        const found = dets.filter(
          (d) =>
            d.photo_id === paths.get(name) && d.model_id.startsWith(model) && d.kind === 'person' && d.score >= 0.3,
        );
        assert.equal(
          found.length,
          p.figures.length,
          `${model} ${name}: ${JSON.stringify(found.map((f) => [f.score, f.x, f.y, f.w, f.h]))}`,
        );
        // every figure's known box is matched one to one at IoU >= 0.5
        assert.ok(
          matchBoxes(figureBoxes(p, 768, 512), found, 0.5).every((m) => m !== -1),
          `${model} ${name} boxes`,
        );
      }
    }
    const f = await peopleFeatures(db, 'photos', { personModel: modelId('centernet', runtimeFor('centernet')) });
    assert.equal(f.notExamined, 0);
    const row = (name: string): number[] =>
      Array.from(f.x.subarray(f.ids.indexOf(paths.get(name) as number) * f.names.length).slice(0, f.names.length));
    assert.equal(row('empty.jpg')[col('people_count')], 0);
    const lit = row('one-lit.jpg');
    assert.equal(lit[col('people_count')], 1);
    assert.ok((lit[col('people_thirds_x')] as number) < 0.03, `on the third: ${lit[col('people_thirds_x')]}`);
    assert.ok((lit[col('people_light')] as number) > 0, `lit: ${lit[col('people_light')]}`);
    const deep = row('two-deep.jpg');
    assert.deepEqual([deep[col('people_count')], deep[col('people_layers')]], [2, 2]);
    assert.ok(
      Math.abs((deep[col('people_depth_ratio')] as number) - Math.log2(0.5 / 0.2)) < 0.5,
      `depth ${deep[col('people_depth_ratio')]}`,
    );
  } finally {
    db.close();
  }
});
