/**
 * The curator's two selections over unit vectors (rows of a row-major Float32Array):
 * - diversity by farthest-point sampling with cosine distance 1 - v.w;
 * - representatives by mini-batch k-means (k = target, k-means++ init on a sample), one pick per non-empty cluster:
 *   the member nearest its centre.
 * Monte Carlo runs are computed together: each FPS step multiplies the matrix by the newest pick of every run at
 * once, so the matrix is read once per step instead of once per run and step.
 */
import { Rng } from '../util/rng.js';
import type { MatMul } from './matmul.js';

/** A set of unit vectors. */
export interface VectorMatrix {
  data: Float32Array;
  rows: number;
  dim: number;
}

function gatherTransposed(m: VectorMatrix, rows: number[]): Float32Array {
  // B [dim, R]: column r is row rows[r] of the matrix
  const r = rows.length;
  const out = new Float32Array(m.dim * r);
  rows.forEach((row, j) => {
    for (let k = 0; k < m.dim; k++) out[k * r + j] = m.data[row * m.dim + k] as number;
  });
  return out;
}

/**
 * Farthest-point sampling, one run per start row: picks `target` rows, each the one farthest (cosine distance) from
 * its nearest earlier pick; the first maximum wins ties; a row is never picked twice.
 */
export async function farthestPointRuns(m: VectorMatrix, target: number, starts: number[], mm: MatMul): Promise<number[][]> {
  const runs = starts.length;
  const t = Math.min(target, m.rows);
  const minDist = starts.map(() => new Float32Array(m.rows).fill(Infinity));
  const picks = starts.map((s) => [s]);
  for (let step = 1; step <= t; step++) {
    const newest = picks.map((p) => p[p.length - 1] as number);
    const dots = await mm.run(m.data, m.rows, m.dim, gatherTransposed(m, newest), runs);
    for (let r = 0; r < runs; r++) {
      const md = minDist[r] as Float32Array;
      const picked = picks[r] as number[];
      md[newest[r] as number] = -1;
      let best = -1;
      let bestD = -Infinity;
      for (let i = 0; i < m.rows; i++) {
        const cur = md[i] as number;
        if (cur < 0) continue;
        const d = 1 - (dots[i * runs + r] as number);
        const v = d < cur ? d : cur;
        md[i] = v;
        if (v > bestD) { bestD = v; best = i; }
      }
      if (step < t && best >= 0) picked.push(best);
    }
  }
  return picks;
}

/** The straightforward computation FPS must agree with: one run, distances in double precision. */
export function farthestPointReference(m: VectorMatrix, target: number, start: number): number[] {
  const minDist = new Float64Array(m.rows).fill(Infinity);
  const picks = [start];
  while (picks.length < Math.min(target, m.rows)) {
    const p = picks[picks.length - 1] as number;
    minDist[p] = -1;
    let best = -1;
    let bestD = -Infinity;
    for (let i = 0; i < m.rows; i++) {
      if ((minDist[i] as number) < 0) continue;
      let dot = 0;
      for (let k = 0; k < m.dim; k++) dot += (m.data[i * m.dim + k] as number) * (m.data[p * m.dim + k] as number);
      minDist[i] = Math.min(minDist[i] as number, 1 - dot);
      if ((minDist[i] as number) > bestD) { bestD = minDist[i] as number; best = i; }
    }
    picks.push(best);
  }
  return picks;
}

/** Result of one k-means run: the representative rows and each row's cluster. */
export interface KMeansRun {
  representatives: number[];
  assignment: Int32Array;
  centres: Float32Array;
}

/** Nearest centre of every row (Euclidean; on unit rows that is the largest x.c - |c|^2 / 2) and its score. */
async function assign(m: VectorMatrix, centres: Float32Array, k: number, mm: MatMul, rows?: Float32Array, n?: number): Promise<{ label: Int32Array; score: Float32Array }> {
  const data = rows ?? m.data;
  const count = n ?? m.rows;
  const bt = new Float32Array(m.dim * k);
  const half = new Float32Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < m.dim; j++) {
      const v = centres[c * m.dim + j] as number;
      bt[j * k + c] = v;
      s += v * v;
    }
    half[c] = s / 2;
  }
  const dots = await mm.run(data, count, m.dim, bt, k);
  const label = new Int32Array(count);
  const score = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    let bestS = -Infinity;
    for (let c = 0; c < k; c++) {
      const s = (dots[i * k + c] as number) - (half[c] as number);
      if (s > bestS) { bestS = s; best = c; }
    }
    label[i] = best;
    score[i] = bestS;
  }
  return { label, score };
}

/**
 * Mini-batch k-means (Sculley): k-means++ on a sample of 3 batches, then `steps` batches with per-centre learning
 * rates; the representative of each non-empty cluster is its member nearest the centre.
 */
export async function kmeansRun(m: VectorMatrix, k: number, rng: Rng, mm: MatMul, options: { batch?: number; steps?: number } = {}): Promise<KMeansRun> {
  const batch = Math.min(options.batch ?? 1024, m.rows);
  const steps = options.steps ?? 100;
  const kk = Math.min(k, m.rows);
  const d = m.dim;
  // k-means++ on a sample
  const sampleSize = Math.min(m.rows, Math.max(3 * batch, kk));
  const sample = rng.shuffle(Array.from({ length: m.rows }, (_, i) => i)).slice(0, sampleSize);
  const centres = new Float32Array(kk * d);
  const dist = new Float64Array(sampleSize).fill(Infinity);
  let pick = sample[rng.int(0, sampleSize - 1)] as number;
  for (let c = 0; c < kk; c++) {
    centres.set(m.data.subarray(pick * d, pick * d + d), c * d);
    let total = 0;
    for (let s = 0; s < sampleSize; s++) {
      const row = sample[s] as number;
      let dd = 0;
      for (let j = 0; j < d; j++) {
        const diff = (m.data[row * d + j] as number) - (centres[c * d + j] as number);
        dd += diff * diff;
      }
      if (dd < (dist[s] as number)) dist[s] = dd;
      total += dist[s] as number;
    }
    // next centre with probability proportional to the squared distance
    let u = rng.next() * total;
    let chosen = sample[sampleSize - 1] as number;
    for (let s = 0; s < sampleSize; s++) {
      u -= dist[s] as number;
      if (u <= 0) { chosen = sample[s] as number; break; }
    }
    pick = chosen;
  }
  const counts = new Float64Array(kk);
  const rows = new Float32Array(batch * d);
  for (let step = 0; step < steps; step++) {
    const idx = Array.from({ length: batch }, () => rng.int(0, m.rows - 1));
    idx.forEach((row, i) => rows.set(m.data.subarray(row * d, row * d + d), i * d));
    const { label } = await assign(m, centres, kk, mm, rows, batch);
    for (let i = 0; i < batch; i++) {
      const c = label[i] as number;
      counts[c] = (counts[c] as number) + 1;
      const eta = 1 / (counts[c] as number);
      for (let j = 0; j < d; j++) centres[c * d + j] = (1 - eta) * (centres[c * d + j] as number) + eta * (rows[i * d + j] as number);
    }
  }
  const { label, score } = await assign(m, centres, kk, mm);
  const bestRow = new Int32Array(kk).fill(-1);
  const bestScore = new Float32Array(kk).fill(-Infinity);
  for (let i = 0; i < m.rows; i++) {
    const c = label[i] as number;
    if ((score[i] as number) > (bestScore[c] as number)) { bestScore[c] = score[i] as number; bestRow[c] = i; }
  }
  return { representatives: Array.from(bestRow).filter((r) => r >= 0), assignment: label, centres };
}
