/**
 * The curator's two selections over unit vectors (rows of a row-major Float32Array):
 * - diversity by farthest-point sampling with cosine distance 1 - v.w;
 * - representatives by mini-batch k-means (k = target, k-means++ init on a sample), one pick per non-empty cluster:
 *   the member nearest its centre.
 * Monte Carlo runs are computed together: each FPS step multiplies the matrix by the newest pick of every run at
 * once, so the matrix is read once per step instead of once per run and step.
 */
import { Rng } from '../util/rng.js';
import type { MatMul } from '../onnx/matmul.js';
import type { VectorMatrix } from '../util/vectors.js';

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

/** Nearest centre of every row (Euclidean; on unit rows that is the largest x.c - |c|^2 / 2) and that score. */
async function assign(centresT: Float32Array, half: Float32Array, k: number, dim: number, mm: MatMul, rows: Float32Array, count: number): Promise<{ label: Int32Array; score: Float32Array }> {
  const dots = await mm.run(rows, count, dim, centresT, k);
  const label = new Int32Array(count);
  const score = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    let bestS = -Infinity;
    const base = i * k;
    for (let c = 0; c < k; c++) {
      const s = (dots[base + c] as number) - (half[c] as number);
      if (s > bestS) { bestS = s; best = c; }
    }
    label[i] = best;
    score[i] = bestS;
  }
  return { label, score };
}

/**
 * Mini-batch k-means (Sculley): greedy k-means++ on a sample of 3 batches, then up to `steps` batches (default: three
 * passes over the data, at most 100) with per-centre learning rates, and starving centres moved to fresh rows; the
 * representative of each non-empty cluster is its member nearest the centre.
 */
export async function kmeansRun(m: VectorMatrix, k: number, rng: Rng, mm: MatMul, options: { batch?: number; steps?: number } = {}): Promise<KMeansRun> {
  const batch = Math.min(options.batch ?? 1024, m.rows);
  // at most three passes over the data and at most 100 batches; fewer when the smoothed inertia stops improving
  const steps = options.steps ?? Math.min(100, Math.max(20, Math.ceil((3 * m.rows) / batch)));
  const kk = Math.min(k, m.rows);
  const d = m.dim;
  // k-means++ on a sample
  const sampleSize = Math.min(m.rows, Math.max(3 * batch, kk));
  const sample = rng.shuffle(Array.from({ length: m.rows }, (_, i) => i)).slice(0, sampleSize);
  const centres = new Float32Array(kk * d);
  const dist = new Float64Array(sampleSize).fill(Infinity);
  const sampleData = new Float32Array(sampleSize * d);
  sample.forEach((row, i) => sampleData.set(m.data.subarray(row * d, row * d + d), i * d));
  const norms = new Float64Array(sampleSize);
  for (let i = 0; i < sampleSize; i++) for (let j = 0; j < d; j++) norms[i] = (norms[i] as number) + (sampleData[i * d + j] as number) ** 2;
  const rowNorm = (i: number): number => norms[i] as number;
  // greedy k-means++ (as scikit-learn): each new centre is the best of 2 + ln k candidates drawn in proportion to
  // the squared distance, the one that lowers the sample's total squared distance most
  const trials = 2 + Math.floor(Math.log(kk));
  const first = rng.int(0, sampleSize - 1);
  const sqTo = async (cands: number[]): Promise<Float64Array[]> => {
    // squared distances of the sample to each candidate through one product: |x - c|^2 = |x|^2 + |c|^2 - 2 x.c
    const ct = new Float32Array(d * cands.length);
    cands.forEach((c, t) => { for (let j = 0; j < d; j++) ct[j * cands.length + t] = sampleData[c * d + j] as number; });
    const dots = await mm.run(sampleData, sampleSize, d, ct, cands.length);
    return cands.map((c, t) => {
      const out = new Float64Array(sampleSize);
      for (let s2 = 0; s2 < sampleSize; s2++) out[s2] = Math.max(0, rowNorm(s2) + rowNorm(c) - 2 * (dots[s2 * cands.length + t] as number));
      return out;
    });
  };
  centres.set(sampleData.subarray(first * d, first * d + d), 0);
  dist.set((await sqTo([first]))[0] as Float64Array);
  for (let c = 1; c < kk; c++) {
    let total = 0;
    for (let s2 = 0; s2 < sampleSize; s2++) total += dist[s2] as number;
    const cands: number[] = [];
    for (let t = 0; t < trials; t++) {
      let u = rng.next() * total;
      let chosen = sampleSize - 1;
      for (let s2 = 0; s2 < sampleSize; s2++) {
        u -= dist[s2] as number;
        if (u <= 0) { chosen = s2; break; }
      }
      cands.push(chosen);
    }
    const dd = await sqTo(cands);
    let best = 0;
    let bestTotal = Infinity;
    dd.forEach((cd, t) => {
      let tot = 0;
      for (let s2 = 0; s2 < sampleSize; s2++) tot += Math.min(dist[s2] as number, cd[s2] as number);
      if (tot < bestTotal) { bestTotal = tot; best = t; }
    });
    const pick = cands[best] as number;
    centres.set(sampleData.subarray(pick * d, pick * d + d), c * d);
    const cd = dd[best] as Float64Array;
    for (let s2 = 0; s2 < sampleSize; s2++) if ((cd[s2] as number) < (dist[s2] as number)) dist[s2] = cd[s2] as number;
  }
  // the centres live transposed ([dim, k]) for the products, with their half squared norms
  const centresT = new Float32Array(d * kk);
  const half = new Float32Array(kk);
  for (let c = 0; c < kk; c++) {
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const v = centres[c * d + j] as number;
      centresT[j * kk + c] = v;
      sq += v * v;
    }
    half[c] = sq / 2;
  }
  const counts = new Float64Array(kk);
  const rows = new Float32Array(batch * d);
  const sums = new Float32Array(kk * d);
  const batchCounts = new Int32Array(kk);
  // early stop as scikit-learn's MiniBatchKMeans does: when the smoothed batch inertia has not improved for 10 steps
  let ewa = Infinity;
  let bestEwa = Infinity;
  let stale = 0;
  const setCentre = (c: number, values: ArrayLike<number>, offset: number): void => {
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const v = values[offset + j] as number;
      centres[c * d + j] = v;
      centresT[j * kk + c] = v;
      sq += v * v;
    }
    half[c] = sq / 2;
  };
  // centres that starve (fewer than 1% of the busiest one's rows) move to rows of a batch, as scikit-learn's
  // reassignment does; checked once 10 k rows have passed since the last time
  let sinceReassign = 0;
  for (let step = 0; step < steps && stale < 10; step++) {
    for (let i = 0; i < batch; i++) {
      const row = rng.int(0, m.rows - 1);
      rows.set(m.data.subarray(row * d, row * d + d), i * d);
    }
    const { label, score } = await assign(centresT, half, kk, d, mm, rows, batch);
    let inertia = 0;
    for (let i = 0; i < batch; i++) inertia += 1 - 2 * (score[i] as number);
    inertia /= batch;
    ewa = ewa === Infinity ? inertia : ewa * (1 - batch / m.rows * 2 > 0 ? 1 - Math.min(1, (2 * batch) / m.rows) : 0) + inertia * Math.min(1, (2 * batch) / m.rows);
    if (ewa < bestEwa) { bestEwa = ewa; stale = 0; } else stale++;
    // per-cluster sums of the batch (contiguous adds), then one update per touched centre, as scikit-learn does
    sums.fill(0);
    batchCounts.fill(0);
    for (let i = 0; i < batch; i++) {
      const c = label[i] as number;
      batchCounts[c] = (batchCounts[c] as number) + 1;
      const o = c * d;
      const r = i * d;
      for (let j = 0; j < d; j++) sums[o + j] = (sums[o + j] as number) + (rows[r + j] as number);
    }
    for (let c = 0; c < kk; c++) {
      const n = batchCounts[c] as number;
      if (n === 0) continue;
      counts[c] = (counts[c] as number) + n;
      const eta = n / (counts[c] as number);
      let sq = 0;
      for (let j = 0; j < d; j++) {
        const v = (1 - eta) * (centres[c * d + j] as number) + (eta * (sums[c * d + j] as number)) / n;
        centres[c * d + j] = v;
        centresT[j * kk + c] = v;
        sq += v * v;
      }
      half[c] = sq / 2;
    }
    sinceReassign += batch;
    if (sinceReassign >= 10 * kk && step < steps - 1) {
      sinceReassign = 0;
      let most = 0;
      for (let c = 0; c < kk; c++) most = Math.max(most, counts[c] as number);
      const starving: number[] = [];
      for (let c = 0; c < kk && starving.length < batch; c++) if ((counts[c] as number) < 0.01 * most) starving.push(c);
      if (starving.length && starving.length < kk) {
        let fed = Infinity;
        for (let c = 0; c < kk; c++) if ((counts[c] as number) >= 0.01 * most) fed = Math.min(fed, counts[c] as number);
        const rowsPicked = rng.shuffle(Array.from({ length: batch }, (_, i) => i)).slice(0, starving.length);
        starving.forEach((c, i) => {
          setCentre(c, rows, (rowsPicked[i] as number) * d);
          counts[c] = fed;
        });
      }
    }
  }
  const { label, score } = await assign(centresT, half, kk, d, mm, m.data, m.rows);
  const bestRow = new Int32Array(kk).fill(-1);
  const bestScore = new Float32Array(kk).fill(-Infinity);
  for (let i = 0; i < m.rows; i++) {
    const c = label[i] as number;
    if ((score[i] as number) > (bestScore[c] as number)) { bestScore[c] = score[i] as number; bestRow[c] = i; }
  }
  return { representatives: Array.from(bestRow).filter((r) => r >= 0), assignment: label, centres };
}
