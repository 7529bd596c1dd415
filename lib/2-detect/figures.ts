/**
 * How well a detector sees the sample's figures: a scene is rendered as the sample renders it, stored as a JPEG,
 * shrunk to a preview as ingest shrinks it, and run through the detector; each figure's known box is matched
 * one-to-one to the person boxes found.
 */
import sharp from 'sharp';
import { makePreview } from '../1-ingest/image.js';
import { blurSigma, figureBoxes, renderScene, type SceneParams } from '../0-sample/render.js';
import { tf } from '../tfjs/backend.js';
import { decodeRgb } from './image.js';
import type { DetectorName } from './models.js';
import { detectIn, type Found } from './run.js';

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Intersection over union of two boxes. */
export function boxIou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  return inter / Math.max(1e-12, a.w * a.h + b.w * b.h - inter);
}

/**
 * Matches known boxes to found ones, best overlaps first, each used once: for each known box the index of its
 * find (IoU at least `minIou`), or -1.
 */
export function matchBoxes(known: readonly Box[], found: readonly Box[], minIou = 0.3): number[] {
  const pairs: Array<[number, number, number]> = [];
  known.forEach((k, i) =>
    found.forEach((f, j) => {
      const v = boxIou(k, f);
      if (v >= minIou) pairs.push([v, i, j]);
    }),
  );
  pairs.sort((a, b) => b[0] - a[0]);
  const out = known.map(() => -1);
  const used = new Set<number>();
  for (const [, i, j] of pairs) {
    if (out[i] !== -1 || used.has(j)) continue;
    out[i] = j;
    used.add(j);
  }
  return out;
}

/**
 * For each figure, the largest share of its box that the box of one nearer (larger) figure covers: a figure more
 * than 40% behind another cannot be told apart by any detector, and is reported apart.
 */
export function hiddenShare(p: SceneParams, known: readonly Box[]): number[] {
  return known.map((k, i) =>
    known.reduce((most, o, j) => {
      if (j === i || (p.figures[j]?.scale ?? 0) <= (p.figures[i]?.scale ?? 0)) return most;
      const ix = Math.max(0, Math.min(k.x + k.w, o.x + o.w) - Math.max(k.x, o.x));
      const iy = Math.max(0, Math.min(k.y + k.h, o.y + o.h) - Math.max(k.y, o.y));
      return Math.max(most, (ix * iy) / Math.max(1e-12, k.w * k.h));
    }, 0),
  );
}

export interface SceneFinds {
  /** The figures' known boxes, in the order of the scene's figures. */
  known: Box[];
  /** The person boxes found at or above the score. */
  found: Found[];
  /** For each known box, the index of its find or -1. */
  match: number[];
  /** For each known box, the share of it behind a nearer figure (see hiddenShare). */
  hidden: number[];
  previewSize: number;
}

/** Renders a scene, makes its preview (long side `previewSize`; 0 for the full frame) and looks for its people. */
export async function findInScene(
  name: DetectorName,
  graph: tf.GraphModel,
  p: SceneParams,
  width: number,
  height: number,
  previewSize: number,
  minScore: number,
): Promise<SceneFinds> {
  const rgb = renderScene(p, width, height);
  let frame = sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels: 3 } });
  const sigma = blurSigma(p, width);
  if (sigma > 0) frame = frame.blur(sigma);
  const jpeg = await frame.jpeg({ quality: 88 }).toBuffer();
  const small = previewSize > 0 ? (await makePreview(jpeg, previewSize)).jpeg : jpeg;
  const img = await decodeRgb(small);
  const found = (await detectIn(name, graph, img)).filter((f) => f.kind === 'person' && f.score >= minScore);
  const known = figureBoxes(p, width, height);
  return {
    known,
    found,
    match: matchBoxes(known, found),
    hidden: hiddenShare(p, known),
    previewSize: Math.max(img.width, img.height),
  };
}
