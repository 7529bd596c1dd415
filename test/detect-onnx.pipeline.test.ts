import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { renderScene, sampleSceneParams, sampleSessionStyle, type SceneParams } from '../lib/0-sample/render.js';
import { makePreview } from '../lib/1-ingest/image.js';
import { type Detector, loadDetector } from '../lib/2-detect/engine.js';
import { decodeRgb } from '../lib/2-detect/image.js';
import { detectorDir, loadGraph, presentDetectors } from '../lib/2-detect/models.js';
import { centernetRows, letterboxPixels, OnnxDetector } from '../lib/2-detect/onnx-run.js';
import { type Found, letterbox, type Rgb } from '../lib/2-detect/run.js';
import { initBackend, tf } from '../lib/tfjs/backend.js';
import { Rng } from '../lib/util/rng.js';
import { envSkip, noSharedPhotos, SHARED_PHOTOS } from './helpers.js';

/** A man walking past a lit wall, seen whole (portrait frame). */
const PERSON = 'mei_canon-eos-1000d.jpg';
const MODELS = ['centernet', 'nanodet', 'blazeface'] as const;
const skip = envSkip(
  MODELS.every((m) => presentDetectors().includes(m))
    ? false
    : 'needs the detector files in models/detect/ (flux detect --install)',
);
const skipReal = skip || envSkip(noSharedPhotos);

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

const loaded = new Map<string, Detector>();
before(async () => {
  if (skip) return;
  await initBackend();
  for (const m of MODELS)
    for (const rt of ['tfjs', 'onnx'] as const) loaded.set(`${m} ${rt}`, await loadDetector(m, rt, detectorDir()));
});
after(async () => {
  for (const d of loaded.values()) await d.dispose();
});

async function preview(file: string): Promise<Rgb> {
  return decodeRgb((await makePreview(readFileSync(join(SHARED_PHOTOS, file)), 384)).jpeg);
}

test(
  'the ONNX conversion computes the TF.js graphs: the same input, heads and detection rows',
  { skip: skipReal },
  async () => {
    const img = await preview(PERSON);
    // centernet: the input letterboxed as TF.js does it, the class heat map and the box sizes
    const lb = letterbox(img, 512);
    const pixels = letterboxPixels(img, 512);
    assert.ok(maxDiff(await lb.data(), pixels) < 1e-3);
    const graph = await loadGraph('centernet', detectorDir());
    const [heat, wh, rows] = graph.execute(lb, [
      'tower_0/keypoints',
      'tower_0/wh',
      'tower_0/detections',
    ]) as tf.Tensor[];
    const onnx = await OnnxDetector.load('centernet', detectorDir());
    const out = await onnx.run(pixels);
    const tfHeat = (await heat?.data()) as Float32Array;
    const tfWh = (await wh?.data()) as Float32Array;
    assert.ok(maxDiff(tfHeat, out['tower_0/keypoints'] as Float32Array) < 1e-4, 'heat map');
    // sizes are in input pixels (0..512): a hundredth of a pixel
    assert.ok(maxDiff(tfWh, out['tower_0/wh'] as Float32Array) < 0.02, 'sizes');
    // the post-processing cut from the graph, done in TypeScript on TF.js's own heads, gives TF.js's rows
    const want = (((await rows?.array()) as number[][][])[0] ?? []).filter((r) => (r[4] as number) >= 0.2);
    const got = centernetRows(tfHeat, tfWh, 128, 80, 0.2);
    assert.equal(got.length, want.length);
    assert.ok(want.length >= 1 && want[0]?.[5] === 0 && Math.abs((want[0]?.[4] as number) - 0.679) < 0.005);
    for (const [i, r] of want.entries()) assert.ok(maxDiff(r, got[i] as number[]) < 1e-3, `row ${i}`);
    tf.dispose([lb, heat, wh, rows] as tf.Tensor[]);
    graph.dispose();
    await onnx.dispose();
    // blazeface: its four outputs (logits and anchor regressions)
    const face = await loadGraph('blazeface', detectorDir());
    const bIn = tf.tidy(() => letterbox(img, 256).div(127.5).sub(0.5));
    const names = ['Identity', 'Identity_1', 'Identity_2', 'Identity_3'];
    const tfOut = face.execute(bIn, names) as tf.Tensor[];
    const bOnnx = await OnnxDetector.load('blazeface', detectorDir());
    const bOut = await bOnnx.run((await bIn.data()) as Float32Array);
    for (const [i, name] of names.entries())
      assert.ok(maxDiff((await tfOut[i]?.data()) as Float32Array, bOut[name] as Float32Array) < 0.01, name);
    tf.dispose([bIn, ...tfOut]);
    face.dispose();
    await bOnnx.dispose();
  },
);

/** The two runtimes' finds on one image paired in score order; the largest score and box differences. */
function compare(a: Found[], b: Found[], label: string): { n: number; score: number; box: number } {
  const sure = (f: Found[]): Found[] => f.filter((x) => x.score >= 0.25).sort((x, y) => y.score - x.score);
  const [sa, sb] = [sure(a), sure(b)];
  assert.equal(sa.length, sb.length, `${label}: ${JSON.stringify(sa)} vs ${JSON.stringify(sb)}`);
  let score = 0;
  let box = 0;
  for (const [i, x] of sa.entries()) {
    const y = sb[i] as Found;
    score = Math.max(score, Math.abs(x.score - y.score));
    box = Math.max(box, Math.abs(x.x - y.x), Math.abs(x.y - y.y), Math.abs(x.w - y.w), Math.abs(x.h - y.h));
  }
  return { n: sa.length, score, box };
}

/** A clear afternoon scene with the given figures. */
function scene(seed: number, figures: SceneParams['figures']): SceneParams {
  const rng = new Rng(seed);
  const p = sampleSceneParams(rng, sampleSessionStyle(rng), 0);
  return { ...p, timeOfDay: 14, fog: 0, blur: 0, tilt: 0, exposure: 0, contrast: 1, saturation: 0.8, figures };
}

test(
  'ONNX Runtime finds what TF.js finds: the real photos and rendered figures, scores and boxes',
  { skip },
  async () => {
    const images: Array<[string, Rgb]> = [];
    if (!noSharedPhotos) {
      // the photo with a person and every third of the others (the runtimes' agreement, not the photos, is tested)
      const photos = readdirSync(SHARED_PHOTOS)
        .filter((x) => /\.jpe?g$/i.test(x) && x !== PERSON)
        .sort()
        .filter((_, i) => i % 3 === 0);
      for (const f of [PERSON, ...photos]) images.push([f, await preview(f)]);
    }
    for (let s = 0; s < 5; s++) {
      const figures = [
        { x: 0.2 + 0.1 * s, scale: 0.3 + 0.05 * s, lit: s % 2 === 0, pose: 0.5 },
        { x: 0.75, scale: 0.55, lit: s % 2 === 1, pose: 0.8 },
      ];
      images.push([`scene ${s}`, { data: renderScene(scene(10 + s, figures), 576, 384), width: 576, height: 384 }]);
    }
    // the worker threads flux detect runs the ONNX models in find exactly what a session in this thread finds
    const pool = await loadDetector('centernet', 'onnx', detectorDir(), { workers: 2 });
    assert.equal(pool.concurrency, 2);
    const pooled = await Promise.all(images.map(([, img]) => pool.detect(img)));
    await pool.dispose();
    const total = { centernet: 0, nanodet: 0, blazeface: 0, score: 0, box: 0 };
    for (const [label, img] of images) {
      for (const m of MODELS) {
        const a = await (loaded.get(`${m} tfjs`) as Detector).detect(img);
        const b = await (loaded.get(`${m} onnx`) as Detector).detect(img);
        const c = compare(a, b, `${m} ${label}`);
        if (m === 'centernet') assert.deepEqual(pooled[images.findIndex(([l]) => l === label)], b, label);
        total[m] += c.n;
        total.score = Math.max(total.score, c.score);
        total.box = Math.max(total.box, c.box);
        if (label === PERSON && m === 'centernet') {
          assert.equal(c.n, 1);
          const p = b.find((f) => f.score >= 0.25) as Found;
          assert.ok(Math.abs(p.score - 0.679) < 0.005 && Math.abs(p.y - 0.473) < 0.005, JSON.stringify(p));
        }
      }
    }
    // scores within a thousandth, boxes within a thousandth of the frame, over every find of both models
    assert.ok(total.score < 1e-3 && total.box < 1e-3, JSON.stringify(total));
    assert.ok(total.centernet >= 10 && total.nanodet >= 8, `people compared: ${total.centernet}, ${total.nanodet}`);
    if (!noSharedPhotos) assert.ok(total.blazeface >= 1, `faces compared: ${total.blazeface}`);
  },
);
