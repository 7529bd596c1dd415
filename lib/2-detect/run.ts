/**
 * Runs the detectors on one decoded image and returns what they found as boxes in fractions of the frame. Every
 * model sees the image letterboxed into its square input (the frame at the top left, the rest black), so its
 * proportions are kept; boxes are mapped back and clipped to the frame.
 */
import { tf } from '../tfjs/backend.js';
import type { OverlayBox } from '../util/html.js';
import { DETECTOR_SPECS, type DetectorName } from './models.js';

/** Raw RGB pixels, 3 bytes a pixel, rows top to bottom. */
export interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

/** One thing found: a person or a face, its box as fractions of the frame (x, y the top left). */
export interface Found extends OverlayBox {
  /** For a pose: 17 COCO keypoints as (x, y, score) triples, x and y fractions of the frame; else null. */
  keypoints: number[] | null;
}

/** The COCO keypoint names, in the order of `Found.keypoints`. */
export const KEYPOINTS = [
  'nose',
  'leftEye',
  'rightEye',
  'leftEar',
  'rightEar',
  'leftShoulder',
  'rightShoulder',
  'leftElbow',
  'rightElbow',
  'leftWrist',
  'rightWrist',
  'leftHip',
  'rightHip',
  'leftKnee',
  'rightKnee',
  'leftAnkle',
  'rightAnkle',
] as const;

/** Scores below this are not kept (the features and the benches pick their own, higher thresholds). */
export const KEEP_SCORE = 0.2;
const IOU = 0.5;

/** The image letterboxed into a `size` square, as float pixels 0..255, shape [1, size, size, 3]. */
export function letterbox(img: Rgb, size: number): tf.Tensor4D {
  return tf.tidy(() => {
    const side = Math.max(img.width, img.height);
    const t = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32').toFloat();
    const padded = tf.pad(t, [
      [0, side - img.height],
      [0, side - img.width],
      [0, 0],
    ]);
    return tf.image.resizeBilinear(padded as tf.Tensor3D, [size, size]).expandDims(0) as tf.Tensor4D;
  });
}

function iou(a: Found, b: Found): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  return inter / Math.max(1e-9, a.w * a.h + b.w * b.h - inter);
}

/** Greedy non-maximum suppression: the best box of each overlapping group. */
export function suppress(found: Found[], threshold = IOU): Found[] {
  const kept: Found[] = [];
  for (const f of [...found].sort((a, b) => b.score - a.score))
    if (kept.every((k) => iou(k, f) < threshold)) kept.push(f);
  return kept;
}

/** A box given in letterbox-square fractions, mapped to frame fractions and clipped; null when nothing is left. */
function toFrame(
  img: Rgb,
  kind: Found['kind'],
  score: number,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  keypoints: number[] | null = null,
): Found | null {
  const side = Math.max(img.width, img.height);
  const sx = side / img.width;
  const sy = side / img.height;
  const fx1 = Math.max(0, Math.min(1, x1 * sx));
  const fx2 = Math.max(0, Math.min(1, x2 * sx));
  const fy1 = Math.max(0, Math.min(1, y1 * sy));
  const fy2 = Math.max(0, Math.min(1, y2 * sy));
  if (fx2 - fx1 <= 0 || fy2 - fy1 <= 0) return null;
  const kp = keypoints?.map((v, i) => (i % 3 === 0 ? v * sx : i % 3 === 1 ? v * sy : v)) ?? null;
  return { kind, score, x: fx1, y: fy1, w: fx2 - fx1, h: fy2 - fy1, keypoints: kp };
}

/** Centernet's detection rows ([x1, y1, x2, y2, score, class] in input pixels) as the people found. */
export function centernetFound(img: Rgb, rows: readonly number[][]): Found[] {
  const size = DETECTOR_SPECS.centernet.input;
  const found: Found[] = [];
  for (const [x1, y1, x2, y2, score, cls] of rows as Array<[number, number, number, number, number, number]>) {
    if (cls !== 0 || !(score >= KEEP_SCORE)) continue; // COCO class 0: person
    const f = toFrame(img, 'person', score, x1 / size, y1 / size, x2 / size, y2 / size);
    if (f) found.push(f);
  }
  return suppress(found);
}

async function centernet(model: tf.GraphModel, img: Rgb): Promise<Found[]> {
  const input = letterbox(img, DETECTOR_SPECS.centernet.input);
  const out = model.execute(input, 'tower_0/detections') as tf.Tensor;
  const rows = ((await out.array()) as number[][][])[0] ?? [];
  tf.dispose([input, out]);
  return centernetFound(img, rows);
}

const NANODET_STRIDES = [8, 16, 32];

/** Nanodet's six outputs (scores of 80 classes and 4 x 11 distance bins, at strides 8, 16, 32) as people. */
export function nanodetFound(
  img: Rgb,
  arrays: ReadonlyArray<{ shape: readonly number[]; data: Float32Array }>,
): Found[] {
  const size = DETECTOR_SPECS.nanodet.input;
  const found: Found[] = [];
  for (const stride of NANODET_STRIDES) {
    const grid = Math.ceil(size / stride);
    const cells = grid * grid;
    const scores = arrays.find((a) => a.shape[1] === cells && a.shape[2] === 80);
    const regs = arrays.find((a) => a.shape[1] === cells && a.shape[2] === 44);
    if (!scores || !regs) continue;
    for (let i = 0; i < cells; i++) {
      const score = scores.data[i * 80] as number; // class 0: person
      if (!(score >= KEEP_SCORE)) continue;
      // four sides, each a softmax over 11 distance bins: the expected bin times the stride
      const dist = [0, 1, 2, 3].map((side) => {
        const bins = Array.from(regs.data.subarray(i * 44 + side * 11, i * 44 + side * 11 + 11));
        const top = Math.max(...bins);
        const e = bins.map((b) => Math.exp(b - top));
        const sum = e.reduce((s, v) => s + v, 0);
        return (e.reduce((s, v, k) => s + v * k, 0) / sum) * stride;
      }) as [number, number, number, number];
      const cx = ((i % grid) + 0.5) * stride;
      const cy = (Math.floor(i / grid) + 0.5) * stride;
      const f = toFrame(
        img,
        'person',
        score,
        (cx - dist[0]) / size,
        (cy - dist[1]) / size,
        (cx + dist[2]) / size,
        (cy + dist[3]) / size,
      );
      if (f) found.push(f);
    }
  }
  return suppress(found);
}

async function nanodet(model: tf.GraphModel, img: Rgb): Promise<Found[]> {
  const input = tf.tidy(() => letterbox(img, DETECTOR_SPECS.nanodet.input).div(255).transpose([0, 3, 1, 2]));
  const outs = model.execute(input) as tf.Tensor[];
  const arrays = await Promise.all(outs.map(async (t) => ({ shape: t.shape, data: (await t.data()) as Float32Array })));
  tf.dispose([input, ...outs]);
  return nanodetFound(img, arrays);
}

async function movenet(model: tf.GraphModel, img: Rgb): Promise<Found[]> {
  const size = DETECTOR_SPECS['movenet-multipose'].input;
  const input = tf.tidy(() => letterbox(img, size).toInt());
  const out = model.execute(input) as tf.Tensor;
  const people = ((await out.array()) as number[][][])[0] ?? [];
  tf.dispose([input, out]);
  const found: Found[] = [];
  for (const p of people) {
    const score = p[55] as number;
    if (!(score >= KEEP_SCORE)) continue;
    // 17 keypoints as (y, x, score), then the box as (ymin, xmin, ymax, xmax, score), all fractions of the input
    const kp: number[] = [];
    for (let k = 0; k < 17; k++) kp.push(p[3 * k + 1] as number, p[3 * k] as number, p[3 * k + 2] as number);
    const f = toFrame(img, 'person', score, p[52] as number, p[51] as number, p[54] as number, p[53] as number, kp);
    if (f) found.push(f);
  }
  return suppress(found);
}

function blazefaceAnchors(size: number): Array<[number, number]> {
  const anchors: Array<[number, number]> = [];
  for (const [stride, count] of [
    [size / 16, 2],
    [size / 8, 6],
  ] as const) {
    const grid = Math.ceil(size / stride);
    for (let y = 0; y < grid; y++) {
      for (let x = 0; x < grid; x++)
        for (let n = 0; n < count; n++) anchors.push([stride * (x + 0.5), stride * (y + 0.5)]);
    }
  }
  return anchors;
}

/**
 * Blazeface's four outputs as faces: scores (logits) and regressions of 512 anchors (16 x 16 cells, 2 each), then
 * of 384 (8 x 8, 6 each); `outs` in any order (told apart by size).
 */
export function blazefaceFound(img: Rgb, outs: readonly Float32Array[]): Found[] {
  const size = DETECTOR_SPECS.blazeface.input;
  const anchors = blazefaceAnchors(size);
  const [s384, s512, r384, r512] = [...outs].sort((a, b) => a.length - b.length); // 384x1, 512x1, 384x16, 512x16
  const found: Found[] = [];
  const heads = [
    [s512, r512, 0],
    [s384, r384, 512],
  ] as const;
  for (const [scores, regs, offset] of heads) {
    if (!scores || !regs) continue;
    for (let i = 0; i < scores.length; i++) {
      const score = 1 / (1 + Math.exp(-(scores[i] as number)));
      if (!(score >= KEEP_SCORE)) continue;
      const [ax, ay] = anchors[offset + i] as [number, number];
      const cx = ax + (regs[i * 16] as number);
      const cy = ay + (regs[i * 16 + 1] as number);
      const w = regs[i * 16 + 2] as number;
      const h = regs[i * 16 + 3] as number;
      const f = toFrame(
        img,
        'face',
        score,
        (cx - w / 2) / size,
        (cy - h / 2) / size,
        (cx + w / 2) / size,
        (cy + h / 2) / size,
      );
      if (f) found.push(f);
    }
  }
  return suppress(found, 0.3);
}

async function blazeface(model: tf.GraphModel, img: Rgb): Promise<Found[]> {
  const input = tf.tidy(() => letterbox(img, DETECTOR_SPECS.blazeface.input).div(127.5).sub(0.5));
  const outs = model.execute(input) as tf.Tensor[];
  const data = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([input, ...outs]);
  return blazefaceFound(img, data);
}

const RUNNERS: Record<DetectorName, (model: tf.GraphModel, img: Rgb) => Promise<Found[]>> = {
  centernet,
  nanodet,
  'movenet-multipose': movenet,
  blazeface,
};

/** Runs one detector on one image. */
export function detectIn(name: DetectorName, model: tf.GraphModel, img: Rgb): Promise<Found[]> {
  return RUNNERS[name](model, img);
}
