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
 * its nearest earlier pick; the first maximum wins ties; a row is never picked twice, and copies of a pick are
 * picked (at distance 0) once the distinct rows are used up, so a run always makes `target` picks.
 */
export async function farthestPointRuns(
  m: VectorMatrix,
  target: number,
  starts: number[],
  mm: MatMul,
): Promise<number[][]> {
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
        // never below 0: an exact copy of a pick may come out a rounding below it, and -1 marks the picked rows; a
        // row that is not a number (a broken vector) is at distance 0 from everything, never the farthest
        const d0 = 1 - (dots[i * runs + r] as number);
        const d = d0 > 0 ? d0 : 0;
        const v = d < cur ? d : cur;
        md[i] = v;
        if (v > bestD) {
          bestD = v;
          best = i;
        }
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
      minDist[i] = Math.min(minDist[i] as number, 1 - dot > 0 ? 1 - dot : 0);
      if ((minDist[i] as number) > bestD) {
        bestD = minDist[i] as number;
        best = i;
      }
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
async function assign(
  centresT: Float32Array,
  half: Float32Array,
  k: number,
  dim: number,
  mm: MatMul,
  rows: Float32Array,
  count: number,
): Promise<{ label: Int32Array; score: Float32Array }> {
  const dots = await mm.run(rows, count, dim, centresT, k);
  const label = new Int32Array(count);
  const score = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    let bestS = -Infinity;
    const base = i * k;
    for (let c = 0; c < k; c++) {
      const s = (dots[base + c] as number) - (half[c] as number);
      if (s > bestS) {
        bestS = s;
        best = c;
      }
    }
    label[i] = best;
    score[i] = bestS;
  }
  return { label, score };
}

/** k centres of `dim` values, kept row-major and transposed ([dim, k], for the products) with half squared norms. */
class Centres {
  readonly rowMajor: Float32Array;
  readonly transposed: Float32Array;
  readonly half: Float32Array;

  constructor(
    readonly k: number,
    readonly dim: number,
  ) {
    this.rowMajor = new Float32Array(k * dim);
    this.transposed = new Float32Array(dim * k);
    this.half = new Float32Array(k);
  }

  /** Sets centre c to `dim` values read from `values` at `offset`. */
  set(c: number, values: ArrayLike<number>, offset: number): void {
    let sq = 0;
    for (let j = 0; j < this.dim; j++) {
      const v = values[offset + j] as number;
      this.rowMajor[c * this.dim + j] = v;
      this.transposed[j * this.k + c] = v;
      sq += v * v;
    }
    this.half[c] = sq / 2;
  }
}

/** Rows of a matrix gathered into one block, with their squared norms. */
interface Block {
  data: Float32Array;
  rows: number;
  norms: Float64Array;
}

function gatherRows(m: VectorMatrix, rows: readonly number[]): Block {
  const d = m.dim;
  const data = new Float32Array(rows.length * d);
  rows.forEach((row, i) => data.set(m.data.subarray(row * d, row * d + d), i * d));
  const norms = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++)
    for (let j = 0; j < d; j++) norms[i] = (norms[i] as number) + (data[i * d + j] as number) ** 2;
  return { data, rows: rows.length, norms };
}

/** Dot products of every row of a block with each of some of its rows, through one product ([rows, cands]). */
async function dotsWith(b: Block, d: number, cands: readonly number[], mm: MatMul): Promise<Float32Array> {
  const ct = new Float32Array(d * cands.length);
  cands.forEach((c, t) => {
    for (let j = 0; j < d; j++) ct[j * cands.length + t] = b.data[c * d + j] as number;
  });
  return mm.run(b.data, b.rows, d, ct, cands.length);
}

/** Squared distance of row i to candidate t from the products: |x - c|^2 = |x|^2 + |c|^2 - 2 x.c, at least 0. */
function sqFromDots(b: Block, dots: Float32Array, n: number, i: number, t: number, c: number): number {
  const v = (b.norms[i] as number) + (b.norms[c] as number) - 2 * (dots[i * n + t] as number);
  return v > 0 ? v : 0;
}

/** A row of the block drawn in proportion to its squared distance to the nearest centre so far. */
function drawByDistance(dist: Float64Array, total: number, rng: Rng): number {
  let u = rng.next() * total;
  for (let i = 0; i < dist.length; i++) {
    u -= dist[i] as number;
    if (u <= 0) return i;
  }
  return dist.length - 1;
}

/**
 * Greedy k-means++ (as scikit-learn) on a sample of the rows: each new centre is the best of 2 + ln k candidates
 * drawn in proportion to the squared distance, the one that lowers the sample's total squared distance most.
 */
async function seedCentres(m: VectorMatrix, kk: number, sampleSize: number, rng: Rng, mm: MatMul): Promise<Centres> {
  const d = m.dim;
  const sample = gatherRows(m, rng.shuffle(Array.from({ length: m.rows }, (_, i) => i)).slice(0, sampleSize));
  const centres = new Centres(kk, d);
  const trials = 2 + Math.floor(Math.log(kk));
  const first = rng.int(0, sampleSize - 1);
  centres.set(0, sample.data, first * d);
  const dist = new Float64Array(sampleSize);
  const firstDots = await dotsWith(sample, d, [first], mm);
  for (let i = 0; i < sampleSize; i++) dist[i] = sqFromDots(sample, firstDots, 1, i, 0, first);
  for (let c = 1; c < kk; c++) {
    let total = 0;
    for (let i = 0; i < sampleSize; i++) total += dist[i] as number;
    const cands = Array.from({ length: trials }, () => drawByDistance(dist, total, rng));
    const dots = await dotsWith(sample, d, cands, mm);
    // the candidate that lowers the sample's total squared distance most (the first of equals)
    const totals = new Float64Array(trials);
    for (let i = 0; i < sampleSize; i++) {
      const cur = dist[i] as number;
      for (let t = 0; t < trials; t++) {
        const v = sqFromDots(sample, dots, trials, i, t, cands[t] as number);
        totals[t] = (totals[t] as number) + (v < cur ? v : cur);
      }
    }
    let best = 0;
    for (let t = 1; t < trials; t++) if ((totals[t] as number) < (totals[best] as number)) best = t;
    const pick = cands[best] as number;
    centres.set(c, sample.data, pick * d);
    for (let i = 0; i < sampleSize; i++) {
      const v = sqFromDots(sample, dots, trials, i, best, pick);
      if (v < (dist[i] as number)) dist[i] = v;
    }
  }
  return centres;
}

/** The running state of mini-batch k-means: centres, rows seen per centre, and the early-stop bookkeeping. */
interface MiniBatchState {
  centres: Centres;
  counts: Float64Array;
  rows: Float32Array;
  batch: number;
  sums: Float32Array;
  batchCounts: Int32Array;
  ewa: number;
  bestEwa: number;
  stale: number;
  sinceReassign: number;
}

/** Moves each centre towards the mean of its batch rows, with a per-centre learning rate (as scikit-learn does). */
function updateCentres(st: MiniBatchState, label: Int32Array): void {
  const { centres, rows, sums, batchCounts, counts } = st;
  const { k: kk, dim: d } = centres;
  // per-cluster sums of the batch (contiguous adds), then one update per touched centre
  sums.fill(0);
  batchCounts.fill(0);
  for (let i = 0; i < st.batch; i++) {
    const c = label[i] as number;
    batchCounts[c] = (batchCounts[c] as number) + 1;
    const o = c * d;
    const r = i * d;
    for (let j = 0; j < d; j++) sums[o + j] = (sums[o + j] as number) + (rows[r + j] as number);
  }
  const next = new Float64Array(d);
  for (let c = 0; c < kk; c++) {
    const n = batchCounts[c] as number;
    if (n === 0) continue;
    counts[c] = (counts[c] as number) + n;
    const eta = n / (counts[c] as number);
    for (let j = 0; j < d; j++)
      next[j] = (1 - eta) * (centres.rowMajor[c * d + j] as number) + (eta * (sums[c * d + j] as number)) / n;
    centres.set(c, next, 0);
  }
}

/**
 * Centres that starve (fewer than 1% of the busiest one's rows) move to rows of the batch, as scikit-learn's
 * reassignment does.
 */
function reassignStarving(st: MiniBatchState, rng: Rng): void {
  const { centres, counts } = st;
  const kk = centres.k;
  let most = 0;
  for (let c = 0; c < kk; c++) most = Math.max(most, counts[c] as number);
  const starving: number[] = [];
  for (let c = 0; c < kk && starving.length < st.batch; c++) if ((counts[c] as number) < 0.01 * most) starving.push(c);
  if (!starving.length || starving.length >= kk) return;
  let fed = Infinity;
  for (let c = 0; c < kk; c++) if ((counts[c] as number) >= 0.01 * most) fed = Math.min(fed, counts[c] as number);
  const rowsPicked = rng.shuffle(Array.from({ length: st.batch }, (_, i) => i)).slice(0, starving.length);
  starving.forEach((c, i) => {
    centres.set(c, st.rows, (rowsPicked[i] as number) * centres.dim);
    counts[c] = fed;
  });
}

/** One mini-batch step: draw a batch, assign it, track the smoothed inertia, move the centres. */
async function miniBatchStep(m: VectorMatrix, st: MiniBatchState, rng: Rng, mm: MatMul): Promise<void> {
  const { centres, batch } = st;
  const d = m.dim;
  for (let i = 0; i < batch; i++) {
    const row = rng.int(0, m.rows - 1);
    st.rows.set(m.data.subarray(row * d, row * d + d), i * d);
  }
  const { label, score } = await assign(centres.transposed, centres.half, centres.k, d, mm, st.rows, batch);
  let inertia = 0;
  for (let i = 0; i < batch; i++) inertia += 1 - 2 * (score[i] as number);
  inertia /= batch;
  // early stop as scikit-learn's MiniBatchKMeans does: when the smoothed batch inertia has not improved for 10 steps
  const alpha = Math.min(1, (2 * batch) / m.rows);
  st.ewa = st.ewa === Infinity ? inertia : st.ewa * (1 - (batch / m.rows) * 2 > 0 ? 1 - alpha : 0) + inertia * alpha;
  if (st.ewa < st.bestEwa) {
    st.bestEwa = st.ewa;
    st.stale = 0;
  } else st.stale++;
  updateCentres(st, label);
}

/**
 * Nearest centre of every row of the matrix and its score. Rows in shared memory (which ONNX Runtime does not read)
 * go through a private buffer in chunks.
 */
async function assignAll(
  m: VectorMatrix,
  centres: Centres,
  mm: MatMul,
): Promise<{ label: Int32Array; score: Float32Array }> {
  const { transposed, half, k } = centres;
  if (!(m.data.buffer instanceof SharedArrayBuffer)) return assign(transposed, half, k, m.dim, mm, m.data, m.rows);
  const label = new Int32Array(m.rows);
  const score = new Float32Array(m.rows);
  const chunk = 8192;
  for (let start = 0; start < m.rows; start += chunk) {
    const count = Math.min(chunk, m.rows - start);
    const rows = m.data.slice(start * m.dim, (start + count) * m.dim);
    const part = await assign(transposed, half, k, m.dim, mm, rows, count);
    label.set(part.label, start);
    score.set(part.score, start);
  }
  return { label, score };
}

/** Each non-empty cluster's member nearest its centre, after assigning every row. */
async function representativesOf(m: VectorMatrix, centres: Centres, mm: MatMul): Promise<KMeansRun> {
  const kk = centres.k;
  const { label, score } = await assignAll(m, centres, mm);
  const bestRow = new Int32Array(kk).fill(-1);
  const bestScore = new Float32Array(kk).fill(-Infinity);
  for (let i = 0; i < m.rows; i++) {
    const c = label[i] as number;
    if ((score[i] as number) > (bestScore[c] as number)) {
      bestScore[c] = score[i] as number;
      bestRow[c] = i;
    }
  }
  return { representatives: Array.from(bestRow).filter((r) => r >= 0), assignment: label, centres: centres.rowMajor };
}

/**
 * Mini-batch k-means (Sculley): greedy k-means++ on a sample of 3 batches, then up to `steps` batches (default: three
 * passes over the data, at most 100) with per-centre learning rates, and starving centres moved to fresh rows; the
 * representative of each non-empty cluster is its member nearest the centre.
 */
export async function kmeansRun(
  m: VectorMatrix,
  k: number,
  rng: Rng,
  mm: MatMul,
  options: { batch?: number; steps?: number } = {},
): Promise<KMeansRun> {
  const batch = Math.min(options.batch ?? 1024, m.rows);
  // at most three passes over the data and at most 100 batches; fewer when the smoothed inertia stops improving
  const steps = options.steps ?? Math.min(100, Math.max(20, Math.ceil((3 * m.rows) / batch)));
  const kk = Math.min(k, m.rows);
  const d = m.dim;
  const sampleSize = Math.min(m.rows, Math.max(3 * batch, kk));
  const st: MiniBatchState = {
    centres: await seedCentres(m, kk, sampleSize, rng, mm),
    counts: new Float64Array(kk),
    rows: new Float32Array(batch * d),
    batch,
    sums: new Float32Array(kk * d),
    batchCounts: new Int32Array(kk),
    ewa: Infinity,
    bestEwa: Infinity,
    stale: 0,
    sinceReassign: 0,
  };
  for (let step = 0; step < steps && st.stale < 10; step++) {
    await miniBatchStep(m, st, rng, mm);
    // starving centres are checked once 10 k rows have passed since the last time
    st.sinceReassign += batch;
    if (st.sinceReassign >= 10 * kk && step < steps - 1) {
      st.sinceReassign = 0;
      reassignStarving(st, rng);
    }
  }
  return representativesOf(m, st.centres, mm);
}
