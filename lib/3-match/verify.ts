/**
 * Verification by alignment: is a candidate the keeper's own frame, re-encoded, cropped, lightly rotated or toned,
 * or another frame of the same burst? Vectors cannot tell (both score near 1); pixels can. The keeper is aligned to
 * the candidate by a coarse-to-fine search of scale, shift and small rotation (normalised cross-correlation on grey
 * pyramids), its tone is fitted per channel (a curve: the mean keeper value per band of candidate values), and the
 * residual is measured over the whole overlap and in its worst tile. The same frame leaves a small residual
 * everywhere; a sibling with a figure moved leaves a large one where the figure was and is.
 */
import type { VerificationRow } from '../db/matching.js';
import sharp from 'sharp';

/** An image as floats, `channels` values per pixel, row by row. */
export interface Planar {
  data: Float32Array;
  width: number;
  height: number;
  channels: number;
}

/** Maps a keeper pixel (x, y) to the candidate: scale * rotate(angle) * (x, y) + (dx, dy), both at the work size. */
export interface Transform {
  scale: number;
  angle: number;
  dx: number;
  dy: number;
}

/** What verification measured for one (keeper, candidate) pair. */
export interface Verification {
  transform: Transform;
  /** Share of the keeper's pixels that land inside the candidate. */
  overlap: number;
  /** Correlation of the aligned grey images (1: identical up to tone). */
  ncc: number;
  /** Mean absolute residual after the tone fit, in 0-255 grey levels, over the overlap. */
  residual: number;
  /**
   * The worst tile (an eighth of the long side): its residual over its texture, an apparent displacement in pixels
   * at the work size, where a moved figure shows.
   */
  worstTile: number;
  /**
   * The largest displacement, in pixels at the work size, that one tile's residual asks for: what a moved figure
   * leaves, where re-encoding, resampling and tone leave a fraction of a pixel.
   */
  shift: number;
  /** The residual per tile, row by row (`tilesX` across), for the review sheet. */
  tiles: { values: Float32Array; tilesX: number; tilesY: number };
}

/** Long side, in pixels, of the images verification works on: a 1% move is 2.5 px here. */
export const WORK_SIZE = 256;

/** Decodes an image (a path or JPEG bytes) to RGB floats with its long side `size`. */
export async function loadRgb(input: string | Buffer, size = WORK_SIZE): Promise<Planar> {
  const { data, info } = await sharp(input)
    .rotate()
    .resize(size, size, { fit: 'inside' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: Float32Array.from(data), width: info.width, height: info.height, channels: info.channels };
}

/** The grey image of an RGB one. */
export function grey(rgb: Planar): Planar {
  const n = rgb.width * rgb.height;
  const out = new Float32Array(n);
  const c = rgb.channels;
  for (let i = 0; i < n; i++) {
    out[i] =
      c >= 3
        ? 0.299 * (rgb.data[i * c] as number) +
          0.587 * (rgb.data[i * c + 1] as number) +
          0.114 * (rgb.data[i * c + 2] as number)
        : (rgb.data[i * c] as number);
  }
  return { data: out, width: rgb.width, height: rgb.height, channels: 1 };
}

/** Half the size, each pixel the mean of a 2x2 block. */
function halve(img: Planar): Planar {
  const w = Math.max(1, img.width >> 1);
  const h = Math.max(1, img.height >> 1);
  const out = new Float32Array(w * h);
  const src = img.data;
  const W = img.width;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 2 * y * W + 2 * x;
      out[y * w + x] =
        ((src[i] as number) + (src[i + 1] as number) + (src[i + W] as number) + (src[i + W + 1] as number)) / 4;
    }
  }
  return { data: out, width: w, height: h, channels: 1 };
}

/** A grey pyramid, finest first, down to a long side of about `coarsest` pixels. */
export function pyramid(img: Planar, coarsest = 32): Planar[] {
  const levels = [img];
  while (Math.max((levels.at(-1) as Planar).width, (levels.at(-1) as Planar).height) / 2 >= coarsest) {
    levels.push(halve(levels.at(-1) as Planar));
  }
  return levels;
}

/** Bilinear sample of channel `ch` at (x, y); NaN outside the image. */
function sample(img: Planar, x: number, y: number, ch = 0): number {
  if (x < 0 || y < 0 || x > img.width - 1 || y > img.height - 1) return NaN;
  const x0 = Math.min(Math.floor(x), img.width - 2 < 0 ? 0 : img.width - 2);
  const y0 = Math.min(Math.floor(y), img.height - 2 < 0 ? 0 : img.height - 2);
  const fx = x - x0;
  const fy = y - y0;
  const c = img.channels;
  const W = img.width;
  const i = (y0 * W + x0) * c + ch;
  const d = img.data;
  const x1 = img.width > 1 ? c : 0;
  const y1 = img.height > 1 ? W * c : 0;
  const top = (d[i] as number) * (1 - fx) + (d[i + x1] as number) * fx;
  const bottom = (d[i + y1] as number) * (1 - fx) + (d[i + y1 + x1] as number) * fx;
  return top * (1 - fy) + bottom * fy;
}

/** Normalised cross-correlation of the keeper and the candidate under a transform, and the overlap share. */
export function correlation(keeper: Planar, cand: Planar, t: Transform, stride = 1): { ncc: number; overlap: number } {
  const cos = t.scale * Math.cos(t.angle);
  const sin = t.scale * Math.sin(t.angle);
  let n = 0;
  let total = 0;
  let sa = 0;
  let sb = 0;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  for (let y = 0; y < keeper.height; y += stride) {
    for (let x = 0; x < keeper.width; x += stride) {
      total++;
      const b = sample(cand, cos * x - sin * y + t.dx, sin * x + cos * y + t.dy);
      if (Number.isNaN(b)) continue;
      const a = keeper.data[y * keeper.width + x] as number;
      n++;
      sa += a;
      sb += b;
      saa += a * a;
      sbb += b * b;
      sab += a * b;
    }
  }
  if (n < 16) return { ncc: -1, overlap: n / Math.max(1, total) };
  const va = saa - (sa * sa) / n;
  const vb = sbb - (sb * sb) / n;
  const ncc = va > 0 && vb > 0 ? (sab - (sa * sb) / n) / Math.sqrt(va * vb) : -1;
  return { ncc, overlap: n / total };
}

/** How far the search looks: the keeper shows between `minScale` and `maxScale` of the candidate's long side. */
export interface SearchRange {
  minScale: number;
  maxScale: number;
  maxAngle: number;
}
export const DEFAULT_RANGE: SearchRange = { minScale: 0.7, maxScale: 1.04, maxAngle: (4 * Math.PI) / 180 };

/** A transform's score: correlation, with crops that leave the candidate (borders) penalised. */
const objective = (k: Planar, c: Planar, t: Transform, stride = 1): number => {
  const r = correlation(k, c, t, stride);
  return r.ncc - 2 * Math.max(0, 0.97 - r.overlap);
};

/** The exhaustive search at the coarsest level: scales and shifts on a grid, no rotation. */
function coarseSearch(k: Planar, c: Planar, range: SearchRange): Transform {
  let best: Transform = { scale: 1, angle: 0, dx: 0, dy: 0 };
  let bestScore = -Infinity;
  // keeper and candidate share a long side at the work size: scale s maps it onto s of the candidate's
  const unit = Math.max(c.width, c.height) / Math.max(k.width, k.height);
  for (let s = range.minScale; s <= range.maxScale + 1e-9; s += 0.03) {
    const scale = s * unit;
    const spanX = c.width - scale * k.width;
    const spanY = c.height - scale * k.height;
    for (let dy = Math.min(0, spanY) - 1; dy <= Math.max(0, spanY) + 1; dy += 1) {
      for (let dx = Math.min(0, spanX) - 1; dx <= Math.max(0, spanX) + 1; dx += 1) {
        const t = { scale, angle: 0, dx, dy };
        const score = objective(k, c, t);
        if (score > bestScore) {
          bestScore = score;
          best = t;
        }
      }
    }
  }
  return best;
}

/** Horizontal and vertical central differences of a grey image. */
function gradients(img: Planar): { gx: Planar; gy: Planar } {
  const { width: W, height: H, data } = img;
  const gx = new Float32Array(W * H);
  const gy = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      gx[i] = ((data[x + 1 < W ? i + 1 : i] as number) - (data[x > 0 ? i - 1 : i] as number)) / 2;
      gy[i] = ((data[y + 1 < H ? i + W : i] as number) - (data[y > 0 ? i - W : i] as number)) / 2;
    }
  }
  return { gx: { data: gx, width: W, height: H, channels: 1 }, gy: { data: gy, width: W, height: H, channels: 1 } };
}

/** Solves a small dense system A x = b (Gaussian elimination with partial pivoting); null when singular. */
function solve(A: number[][], b: number[]): number[] | null {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i] as number]);
  for (let c = 0; c < n; c++) {
    let p = c;
    const at = (r: number): number => Math.abs((M[r] as number[])[c] as number);
    for (let r = c + 1; r < n; r++) if (at(r) > at(p)) p = r;
    if (Math.abs((M[p] as number[])[c] as number) < 1e-12) return null;
    [M[c], M[p]] = [M[p] as number[], M[c] as number[]];
    const pivot = M[c] as number[];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const row = M[r] as number[];
      const f = (row[c] as number) / (pivot[c] as number);
      for (let k = c; k <= n; k++) row[k] = (row[k] as number) - f * (pivot[k] as number);
    }
  }
  return M.map((row, i) => (row[n] as number) / (row[i] as number));
}

/**
 * Gauss-Newton steps (Lucas-Kanade) on the similarity transform u = a x - b y + dx, v = b x + a y + dy, with a grey
 * gain and offset, at one level: each step linearises the candidate around the current warp.
 */
function lucasKanade(k: Planar, c: Planar, start: Transform, iterations: number, stride: number): Transform {
  const { gx, gy } = gradients(c);
  let a = start.scale * Math.cos(start.angle);
  let b = start.scale * Math.sin(start.angle);
  let { dx, dy } = start;
  let gain = 1;
  let offset = 0;
  const W = c.width;
  const Hc = c.height;
  const [C, GX, GY] = [c.data, gx.data, gy.data];
  const J = new Float64Array(6);
  for (let it = 0; it < iterations; it++) {
    // the upper triangle of J'J row by row, and J'r: typed arrays, one bilinear weight set for three samples
    const acc = new Float64Array(36);
    const g = new Float64Array(6);
    for (let y = 0; y < k.height; y += stride) {
      for (let x = 0; x < k.width; x += stride) {
        const u = a * x - b * y + dx;
        const v = b * x + a * y + dy;
        if (u < 0 || v < 0 || u > W - 1 || v > Hc - 1) continue;
        const x0 = Math.min(Math.floor(u), W - 2 < 0 ? 0 : W - 2);
        const y0 = Math.min(Math.floor(v), Hc - 2 < 0 ? 0 : Hc - 2);
        const fx = u - x0;
        const fy = v - y0;
        const i = y0 * W + x0;
        const x1 = W > 1 ? 1 : 0;
        const y1 = Hc > 1 ? W : 0;
        const w00 = (1 - fx) * (1 - fy);
        const w01 = fx * (1 - fy);
        const w10 = (1 - fx) * fy;
        const w11 = fx * fy;
        const [i01, i10, i11] = [i + x1, i + y1, i + y1 + x1];
        const cv =
          (C[i] as number) * w00 + (C[i01] as number) * w01 + (C[i10] as number) * w10 + (C[i11] as number) * w11;
        const ix =
          gain *
          ((GX[i] as number) * w00 + (GX[i01] as number) * w01 + (GX[i10] as number) * w10 + (GX[i11] as number) * w11);
        const iy =
          gain *
          ((GY[i] as number) * w00 + (GY[i01] as number) * w01 + (GY[i10] as number) * w10 + (GY[i11] as number) * w11);
        const r = (k.data[y * k.width + x] as number) - (gain * cv + offset);
        J[0] = ix * x + iy * y;
        J[1] = -ix * y + iy * x;
        J[2] = ix;
        J[3] = iy;
        J[4] = cv;
        J[5] = 1;
        for (let p = 0; p < 6; p++) {
          const jp = J[p] as number;
          g[p] = (g[p] as number) + jp * r;
          for (let q = p; q < 6; q++) acc[p * 6 + q] = (acc[p * 6 + q] as number) + jp * (J[q] as number);
        }
      }
    }
    const H = Array.from({ length: 6 }, (_, p) => Array.from({ length: 6 }, (_, q) => acc[p * 6 + q] as number));
    for (let p = 0; p < 6; p++) for (let q = 0; q < p; q++) (H[p] as number[])[q] = (H[q] as number[])[p] as number;
    const step = solve(H, [...g]);
    if (!step) break;
    a += step[0] as number;
    b += step[1] as number;
    dx += step[2] as number;
    dy += step[3] as number;
    gain += step[4] as number;
    offset += step[5] as number;
    if (Math.abs(step[2] as number) + Math.abs(step[3] as number) < 0.01) break;
  }
  return { scale: Math.hypot(a, b), angle: Math.atan2(b, a), dx, dy };
}

/** Aligns the keeper to the candidate, coarse to fine; the transform is at the finest level's size. */
export function align(keeper: Planar[], cand: Planar[], range: SearchRange = DEFAULT_RANGE): Transform {
  const levels = Math.min(keeper.length, cand.length);
  let t = coarseSearch(keeper[levels - 1] as Planar, cand[levels - 1] as Planar, range);
  for (let l = levels - 1; l >= 0; l--) {
    if (l < levels - 1) t = { ...t, dx: t.dx * 2, dy: t.dy * 2 };
    const refined = lucasKanade(keeper[l] as Planar, cand[l] as Planar, t, l === 0 ? 6 : 10, l === 0 ? 2 : 1);
    // a step that runs off (a flat picture, a wrong start) is not taken
    const inRange = refined.scale > range.minScale * 0.9 && refined.scale < range.maxScale * 1.1;
    if (Math.abs(refined.angle) <= range.maxAngle && inRange) t = refined;
  }
  return t;
}

const BANDS = 32;

/**
 * Per channel, the keeper's tone as a curve of the candidate's: the mean keeper value in each of 32 bands of
 * candidate values, read with linear interpolation (an exposure change, a contrast curve, clipping all fit).
 */
function toneCurves(keeper: Planar, warped: Float32Array, valid: Uint8Array): Float32Array[] {
  const ch = keeper.channels;
  const curves: Float32Array[] = [];
  for (let c = 0; c < ch; c++) {
    const sum = new Float64Array(BANDS);
    const count = new Float64Array(BANDS);
    for (let i = 0; i < valid.length; i++) {
      if (!valid[i]) continue;
      const b = Math.min(BANDS - 1, Math.floor(((warped[i * ch + c] as number) / 256) * BANDS));
      sum[b] = (sum[b] as number) + (keeper.data[i * ch + c] as number);
      count[b] = (count[b] as number) + 1;
    }
    const curve = new Float32Array(BANDS);
    // empty bands take the identity, so a curve never jumps through a band nobody uses
    for (let b = 0; b < BANDS; b++) {
      curve[b] = (count[b] as number) > 0 ? (sum[b] as number) / (count[b] as number) : ((b + 0.5) * 256) / BANDS;
    }
    curves.push(curve);
  }
  return curves;
}

const readCurve = (curve: Float32Array, v: number): number => {
  const pos = (v / 256) * BANDS - 0.5;
  const lo = Math.max(0, Math.min(BANDS - 1, Math.floor(pos)));
  const hi = Math.min(BANDS - 1, lo + 1);
  const f = Math.max(0, Math.min(1, pos - lo));
  return (curve[lo] as number) * (1 - f) + (curve[hi] as number) * f;
};

/** The candidate's colour pixels under the transform, in the keeper's frame, and which of them land inside. */
function warp(keeper: Planar, cand: Planar, t: Transform): { warped: Float32Array; valid: Uint8Array } {
  const ch = keeper.channels;
  const warped = new Float32Array(keeper.width * keeper.height * ch);
  const valid = new Uint8Array(keeper.width * keeper.height);
  const cos = t.scale * Math.cos(t.angle);
  const sin = t.scale * Math.sin(t.angle);
  const { width: W, height: H, data: d, channels: cc } = cand;
  const x1 = W > 1 ? cc : 0;
  const y1 = H > 1 ? W * cc : 0;
  for (let y = 0; y < keeper.height; y++) {
    for (let x = 0; x < keeper.width; x++) {
      const u = cos * x - sin * y + t.dx;
      const v = sin * x + cos * y + t.dy;
      const i = y * keeper.width + x;
      if (u < 0 || v < 0 || u > W - 1 || v > H - 1) continue;
      valid[i] = 1;
      // one set of bilinear weights for every channel (sample() would find them once per channel)
      const x0 = Math.min(Math.floor(u), W - 2 < 0 ? 0 : W - 2);
      const y0 = Math.min(Math.floor(v), H - 2 < 0 ? 0 : H - 2);
      const fx = u - x0;
      const fy = v - y0;
      const j = (y0 * W + x0) * cc;
      const [w00, w01, w10, w11] = [(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy];
      for (let c = 0; c < ch; c++) {
        const a = j + c;
        warped[i * ch + c] =
          (d[a] as number) * w00 +
          (d[a + x1] as number) * w01 +
          (d[a + y1] as number) * w10 +
          (d[a + y1 + x1] as number) * w11;
      }
    }
  }
  return { warped, valid };
}

/** The mean of each pixel's 3-neighbourhood along one axis (`step` 1: rows, `W`: columns), clipped at the edges. */
function boxPass(src: Float32Array, W: number, H: number, along: 'x' | 'y'): Float32Array {
  const out = new Float32Array(W * H);
  const step = along === 'x' ? 1 : W;
  const len = along === 'x' ? W : H;
  for (let i = 0; i < W * H; i++) {
    const p = along === 'x' ? i % W : Math.floor(i / W);
    let s = src[i] as number;
    let n = 1;
    if (p > 0) {
      s += src[i - step] as number;
      n++;
    }
    if (p < len - 1) {
      s += src[i + step] as number;
      n++;
    }
    out[i] = s / n;
  }
  return out;
}

/** A 3x3 box blur (clipped at the edges, done as two 3-tap passes), twice: close to a Gaussian of 1 px. */
function soften(img: Planar): Planar {
  let cur = img.data;
  const { width: W, height: H } = img;
  for (let pass = 0; pass < 2; pass++) cur = boxPass(boxPass(cur, W, H, 'x'), W, H, 'y');
  return { data: cur, width: W, height: H, channels: 1 };
}

/**
 * The sums of a per-cell accumulator (`stride` values a cell, `cx` x `cy` cells) over the tile of 2 x 2 cells whose
 * top-left cell is (tx, ty); cells outside the grid add nothing.
 */
function tileSums(acc: Float64Array, stride: number, cx: number, cy: number, tx: number, ty: number): number[] {
  const m = new Array<number>(stride).fill(0);
  for (let oy = 0; oy < 2; oy++) {
    for (let ox = 0; ox < 2; ox++) {
      if (tx + ox >= cx || ty + oy >= cy) continue;
      const o = ((ty + oy) * cx + tx + ox) * stride;
      for (let j = 0; j < stride; j++) m[j] = (m[j] as number) + (acc[o + j] as number);
    }
  }
  return m;
}

/**
 * Per tile, the displacement that would explain what is left between the keeper and the toned candidate (one
 * Lucas-Kanade step on softened grey images, damped where the tile is flat): near 0 for the same frame, the move of
 * the figure (2.5 px for 1% of the width) where a burst sibling differs. Returns the largest, in pixels.
 */
function worstShift(
  keeperGrey: Planar,
  toned: Planar,
  valid: Uint8Array,
  cell: number,
  cx: number,
  cy: number,
): number {
  const K = soften(keeperGrey).data;
  const T = soften(toned).data;
  const W = keeperGrey.width;
  const H = keeperGrey.height;
  const acc = new Float64Array(cx * cy * 6);
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const i = y * W + x;
      if (!valid[i] || !valid[i - 1] || !valid[i + 1] || !valid[i - W] || !valid[i + W]) continue;
      const gx = ((T[i + 1] as number) - (T[i - 1] as number) + (K[i + 1] as number) - (K[i - 1] as number)) / 4;
      const gy = ((T[i + W] as number) - (T[i - W] as number) + (K[i + W] as number) - (K[i - W] as number)) / 4;
      const r = (K[i] as number) - (T[i] as number);
      const o = (Math.floor(y / cell) * cx + Math.floor(x / cell)) * 6;
      acc[o] = (acc[o] as number) + gx * gx;
      acc[o + 1] = (acc[o + 1] as number) + gx * gy;
      acc[o + 2] = (acc[o + 2] as number) + gy * gy;
      acc[o + 3] = (acc[o + 3] as number) + gx * r;
      acc[o + 4] = (acc[o + 4] as number) + gy * r;
      acc[o + 5] = (acc[o + 5] as number) + 1;
    }
  }
  let worst = 0;
  for (let ty = 0; ty + 1 < Math.max(2, cy); ty++) {
    for (let tx = 0; tx + 1 < Math.max(2, cx); tx++) {
      const m = tileSums(acc, 6, cx, cy, tx, ty);
      const n = m[5] as number;
      if (n < 2 * cell * cell) continue;
      const damp = FLAT * FLAT * n;
      const a = (m[0] as number) + damp;
      const b = m[1] as number;
      const d = (m[2] as number) + damp;
      const det = a * d - b * b;
      const u = (d * (m[3] as number) - b * (m[4] as number)) / det;
      const v = (a * (m[4] as number) - b * (m[3] as number)) / det;
      worst = Math.max(worst, Math.hypot(u, v));
    }
  }
  return worst;
}

/** Cells across the long side of the residual map; a tile is 2x2 cells (tiles overlap by half). */
const CELLS = 16;
/** Texture below which a tile counts as flat (grey levels per pixel): noise there is not a displacement. */
const FLAT = 3;

/**
 * The residual after the tone fit: per pixel, then per tile of an eighth of the long side. A tile's residual is
 * divided by its texture (mean grey gradient, at least FLAT): a misalignment or a moved figure leaves a residual in
 * proportion to the texture it moves, so the quotient reads as an apparent displacement in pixels, comparable
 * between a smooth sky and a busy facade.
 */
export function residuals(keeper: Planar, cand: Planar, t: Transform): Omit<Verification, 'transform' | 'ncc'> {
  const { warped, valid } = warp(keeper, cand, t);
  const curves = toneCurves(keeper, warped, valid);
  const g = grey(keeper);
  const ch = keeper.channels;
  const W = keeper.width;
  const cell = Math.ceil(Math.max(W, keeper.height) / CELLS);
  const cx = Math.ceil(W / cell);
  const cy = Math.ceil(keeper.height / cell);
  // per cell: the summed difference, the summed gradient and the pixel count
  const cells = new Float64Array(cx * cy * 3);
  let total = 0;
  let n = 0;
  const toned = new Float32Array(W * keeper.height);
  for (let y = 0; y < keeper.height; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (!valid[i]) continue;
      let d = 0;
      let clipped = false;
      const tone = [0, 0, 0];
      for (let c = 0; c < ch; c++) {
        const kv = keeper.data[i * ch + c] as number;
        tone[c] = readCurve(curves[c] as Float32Array, warped[i * ch + c] as number);
        d += Math.abs(kv - (tone[c] as number));
        if (kv >= 252) clipped = true;
      }
      toned[i] =
        ch >= 3
          ? 0.299 * (tone[0] as number) + 0.587 * (tone[1] as number) + 0.114 * (tone[2] as number)
          : (tone[0] as number);
      // a keeper pixel clipped white carries no evidence of what lay under it
      if (clipped) continue;
      d /= ch;
      const gx = x + 1 < W ? Math.abs((g.data[i + 1] as number) - (g.data[i] as number)) : 0;
      const gy = y + 1 < keeper.height ? Math.abs((g.data[i + W] as number) - (g.data[i] as number)) : 0;
      const ci = Math.floor(y / cell) * cx + Math.floor(x / cell);
      cells[ci * 3] = (cells[ci * 3] as number) + d;
      cells[ci * 3 + 1] = (cells[ci * 3 + 1] as number) + gx + gy;
      cells[ci * 3 + 2] = (cells[ci * 3 + 2] as number) + 1;
      total += d;
      n++;
    }
  }
  const tilesX = Math.max(1, cx - 1);
  const tilesY = Math.max(1, cy - 1);
  const values = new Float32Array(tilesX * tilesY);
  let worst = 0;
  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) {
      const [d, gr, m] = tileSums(cells, 3, cx, cy, tx, ty) as [number, number, number];
      // a tile barely inside the overlap says little: it counts when at least half of it is
      const v = m > 0 ? d / Math.max(gr, FLAT * m) : NaN;
      values[ty * tilesX + tx] = v;
      if (m >= 2 * cell * cell) worst = Math.max(worst, v);
    }
  }
  const shift = worstShift(g, { data: toned, width: W, height: keeper.height, channels: 1 }, valid, cell, cx, cy);
  let inside = 0;
  for (const x of valid) inside += x;
  return {
    overlap: inside / valid.length,
    residual: n ? total / n : NaN,
    worstTile: worst,
    shift,
    tiles: { values, tilesX, tilesY },
  };
}

/** The candidate's grey image under the transform, toned to the keeper, in the keeper's frame; NaN outside. */
function tonedGrey(keeper: Planar, cand: Planar, t: Transform): Float32Array {
  const { warped, valid } = warp(keeper, cand, t);
  const curves = toneCurves(keeper, warped, valid);
  const ch = keeper.channels;
  const out = new Float32Array(valid.length).fill(NaN);
  const w = ch >= 3 ? [0.299, 0.587, 0.114] : [1];
  for (let i = 0; i < valid.length; i++) {
    if (!valid[i]) continue;
    let g = 0;
    for (let c = 0; c < w.length; c++) {
      g += (w[c] as number) * readCurve(curves[c] as Float32Array, warped[i * ch + c] as number);
    }
    out[i] = g;
  }
  return out;
}

/**
 * Two candidates that verify alike (a frame and its burst sibling, the keeper toned and cropped) are told apart
 * where they differ from each other: the 2% of pixels where the two, aligned and toned to the keeper, differ most
 * (by at least 8 grey levels). There the keeper's own frame matches it and the other does not. Returns the keeper's
 * mean residual against each over those pixels, or null when the candidates do not differ anywhere.
 */
export function tieBreak(
  keeper: Planar,
  a: { image: Planar; transform: Transform },
  b: { image: Planar; transform: Transform },
): { a: number; b: number; pixels: number } | null {
  const A = tonedGrey(keeper, a.image, a.transform);
  const B = tonedGrey(keeper, b.image, b.transform);
  const K = grey(keeper).data;
  const diffs: number[] = [];
  for (let i = 0; i < K.length; i++) {
    const d = Math.abs((A[i] as number) - (B[i] as number));
    if (!Number.isNaN(d)) diffs.push(d);
  }
  if (diffs.length === 0) return null;
  diffs.sort((x, y) => x - y);
  const bar = Math.max(8, diffs[Math.floor(0.98 * (diffs.length - 1))] as number);
  let ea = 0;
  let eb = 0;
  let n = 0;
  for (let i = 0; i < K.length; i++) {
    const d = Math.abs((A[i] as number) - (B[i] as number));
    if (!(d >= bar)) continue;
    ea += Math.abs((K[i] as number) - (A[i] as number));
    eb += Math.abs((K[i] as number) - (B[i] as number));
    n++;
  }
  return n >= 20 ? { a: ea / n, b: eb / n, pixels: n } : null;
}

/** Aligns and measures one pair of decoded images (RGB at the work size). */
export function verifyImages(keeper: Planar, cand: Planar, range: SearchRange = DEFAULT_RANGE): Verification {
  const transform = align(pyramid(grey(keeper)), pyramid(grey(cand)), range);
  const { ncc } = correlation(grey(keeper), grey(cand), transform);
  return { transform, ncc, ...residuals(keeper, cand, transform) };
}

/** Aligns and measures a keeper against a candidate (paths or JPEG bytes). */
export async function verifyPair(
  keeper: string | Buffer,
  cand: string | Buffer,
  range?: SearchRange,
): Promise<Verification> {
  const [k, c] = await Promise.all([loadRgb(keeper), loadRgb(cand)]);
  return verifyImages(k, c, range);
}

/** Where a candidate counts as the keeper's own frame, and how clearly it must beat another verified one. */
export interface VerifyThresholds {
  /** Largest worst-tile residual (apparent displacement, px) of a verified candidate. */
  worstTile: number;
  /**
   * Largest per-tile shift (px) a verified candidate may ask for when it is the only one: a lone candidate beyond it
   * (a burst sibling of a missing original can look that close) goes to review. Infinity: no such bar.
   */
  shift: number;
  /**
   * What the edits measured here leave at their worst: the largest worst tile and the lowest correlation. A verified
   * candidate beyond both, though within the bar, is not linked: it goes to review (a burst sibling of a missing
   * original whose moved figure is small and dim leaves that little, and its moved block lowers the correlation,
   * where a heavier edit of the keeper's own frame keeps it). Infinity and -Infinity: no such bar.
   */
  edits: { worstTile: number; ncc: number };
  /** A second verified candidate within this factor of the best one's worst tile sends the keeper to review. */
  ratio: number;
  /** Whether the thresholds were learnt from the archive (false: the defaults). */
  calibrated: boolean;
}

/** Defaults from the planted cases on real photos (re-encodes, crops, tone, rotation against a moved figure). */
export const DEFAULT_VERIFY: VerifyThresholds = {
  worstTile: 0.7,
  shift: Infinity,
  edits: { worstTile: Infinity, ncc: -Infinity },
  ratio: 1.25,
  calibrated: false,
};

/** Whether one measurement verifies: aligned over most of the keeper, correlated, no tile left unexplained. */
export const verified = (v: Verification, t: VerifyThresholds): boolean =>
  v.overlap >= 0.5 && v.ncc >= 0.9 && v.worstTile <= t.worstTile;

/**
 * The verdict over a keeper's candidates: the index of the one to link (a unique verified candidate, or the best
 * verified one clearly ahead of every other verified one), `review` when two verified ones are close, else none.
 */
export function verdict(
  vs: readonly Verification[],
  t: VerifyThresholds,
): { link: number | null; review: boolean; doubt?: 'shift' | 'tile' } {
  const ok = vs
    .map((v, i) => ({ v, i }))
    .filter((x) => verified(x.v, t))
    .sort((a, b) => a.v.worstTile - b.v.worstTile);
  const [best, second] = ok;
  if (!best) return { link: null, review: false };
  if (second && second.v.worstTile < t.ratio * Math.max(best.v.worstTile, 0.05)) return { link: null, review: true };
  // a lone verified candidate whose worst tile asks for a shift beyond what edits leave here: doubtful; so is the
  // best one, alone or clearly ahead, when it is beyond every edit measured here (the original may be missing, and
  // the frames beside it verify)
  if (!second && best.v.shift > t.shift) return { link: null, review: false, doubt: 'shift' };
  if (beyondEdits(best.v, t)) return { link: null, review: false, doubt: 'tile' };
  return { link: best.i, review: false };
}

/** Whether a verified candidate is beyond every edit measured here: a larger worst tile and a lower correlation. */
export const beyondEdits = (v: Verification, t: VerifyThresholds): boolean =>
  v.worstTile > t.edits.worstTile && v.ncc < t.edits.ncc;

/** A verification as the matching tables store it (lib/db/matching.ts `writeVerifications`). */
export function verificationRow(
  keeperId: number,
  photoId: number,
  v: Verification,
  t: VerifyThresholds,
): VerificationRow {
  return {
    keeperId,
    photoId,
    scale: v.transform.scale,
    angleDegrees: (v.transform.angle * 180) / Math.PI,
    dx: v.transform.dx,
    dy: v.transform.dy,
    overlap: v.overlap,
    ncc: v.ncc,
    residual: v.residual,
    worstTile: v.worstTile,
    shift: v.shift,
    verified: verified(v, t),
    tilesX: v.tiles.tilesX,
    tileResiduals: [...v.tiles.values],
  };
}
