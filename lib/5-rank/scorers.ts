/**
 * The candidate rankers and the baselines, trained with TensorFlow.js on standardised feature rows.
 *
 * - pairwise: a small MLP scorer trained RankNet-style on (keeper, non-keeper) pairs; pairs with a near miss of the
 *   keeper (its walk, burst, hour or visual neighbours, `near`; weighting.ts) are drawn at `nearRate` and weighted
 *   `nearWeight`.
 * - listwise: the same scorer trained with a softmax over lists of a keeper and 15 non-keepers of its walk (near
 *   misses of the kind at `nearRate`, the rest of the walk otherwise): a per-walk ranking objective.
 * - contrastive: a learned projection onto the unit sphere that pulls keepers towards the keeper centroids and pushes
 *   non-keepers below a margin; the score is the cosine to the nearest keeper centroid (one, or one per motif, by
 *   k-means over the projected training keepers). Training and scoring use that one function: the centroids are
 *   recomputed after every epoch and the next epoch trains against them (they are not learned by gradient).
 * - logistic: L2 logistic regression on the same rows; `metadata` is the same on context alone. A row of at most
 *   {@link EXACT_MAX_COLUMNS} columns is solved exactly by Newton's method (no class weights, the penalty
 *   |w|^2 / 2C with C = `logisticC`; baseline.ts); a wider one by Adam on a class-balanced loss with early
 *   stopping, as the other learners, since its Hessian would cost columns^2 per row.
 * - pca-logistic: the plain baseline, PCA to 32 dimensions and L2 logistic regression with C = 0.01 (baseline.ts).
 * - chance: a seeded random score.
 *
 * Initialisation and sampling use the workbench's seeded generator, so a retrain with the same seed is identical.
 */
import { kmeans } from 'ml-kmeans';
import { BASELINE, fitLogisticL2, fitPcaLogistic } from './baseline.js';
import { tf } from '../tfjs/backend.js';
import { averagePrecision, logLoss, rocAuc } from './metrics.js';
import { Rng } from '../util/rng.js';
import { checkChoice, checkInt, checkNumber } from '../util/check.js';
import { nearMisses, NEAR_KINDS, type NearKind } from './weighting.js';

export const ARCHS = [
  'pairwise',
  'listwise',
  'contrastive',
  'contrastive-multi',
  'logistic',
  'pca-logistic',
  'metadata',
  'chance',
] as const;
export type Arch = (typeof ARCHS)[number];
export const CANDIDATES: readonly Arch[] = ['pairwise', 'contrastive', 'contrastive-multi'];

export interface Hyper {
  epochs: number;
  batch: number;
  learningRate: number;
  l2: number;
  /** Hidden units of the pairwise scorer next to its linear part (0: linear only). */
  hidden: number;
  /** Output size of the contrastive projection. */
  projection: number;
  /** Keeper centroids of the contrastive scorer. */
  centroids: number;
  /** Share of pairs (or negatives) drawn from the keeper's own session. */
  nearRate: number;
  /** Loss weight of a same-session pair. */
  nearWeight: number;
  /** Where near misses are found: the keeper's walk, burst (30 s), hour, or its visually nearest frames. */
  near: NearKind;
  /** Recency half-life in years of a training row's weight (0: no recency weight). */
  halfLife: number;
  /** Principal components of the standardised row the tfjs scorers train on (0: the full row). */
  pca: number;
  /**
   * Whitened principal components the image vector's columns are reduced to, the other columns kept beside them
   * (0: the vector as it is); logistic regression on the narrow row that leaves is solved exactly.
   */
  vectorPca: number;
  /** Train on the augmented views of training photos when there are any (false: original views only). */
  views: boolean;
  /** Cosine below which non-keepers stop being pushed. */
  margin: number;
  /** Epochs without a better validation AP before stopping. */
  patience: number;
  /** The plain baseline's principal components (pca-logistic). */
  pcaComponents: number;
  /** The plain baseline's inverse L2 strength C (pca-logistic, as scikit-learn's C). */
  baselineC: number;
  /** Inverse L2 strength C of logistic regression solved exactly (rows of at most EXACT_MAX_COLUMNS columns). */
  logisticC: number;
}

/**
 * Logistic regression reduces the image vector to this many whitened principal components (the plain baseline's 32),
 * the other columns beside them, unless told otherwise (`vectorPca` 0 keeps the vector whole).
 */
export const LOGISTIC_VECTOR_PCA = BASELINE.components;

/** What a learner takes unless told otherwise: the multi-centroid scorer's 4 centroids, logistic's reduced vector. */
export function learnerDefaults(arch: Arch): Partial<Hyper> {
  if (arch === 'contrastive-multi') return { centroids: 4 };
  return arch === 'logistic' ? { vectorPca: LOGISTIC_VECTOR_PCA } : {};
}

/** A learner's settings: its own defaults, then the caller's overrides, checked. */
export const hyperFor = (arch: Arch, over: Partial<Hyper> = {}): Hyper =>
  checkHyper({ ...learnerDefaults(arch), ...over });

/** The settings with the caller's overrides, each checked (names as the command-line options where there is one). */
export function checkHyper(over: Partial<Hyper> = {}): Hyper {
  const h = { ...DEFAULT_HYPER, ...over };
  checkInt('--epochs', h.epochs, 1, 10_000);
  checkInt('batch', h.batch, 1, 1_000_000);
  checkNumber('learningRate', h.learningRate, 1e-9, 10);
  checkNumber('l2', h.l2, 0, 1e6);
  checkInt('hidden', h.hidden, 0, 4096);
  checkInt('projection', h.projection, 1, 4096);
  checkInt('centroids', h.centroids, 1, 64);
  checkNumber('--near-rate', h.nearRate, 0, 1);
  checkNumber('--near-weight', h.nearWeight, 0, 1000);
  checkChoice('--near', h.near, NEAR_KINDS);
  checkNumber('--half-life', h.halfLife, 0, 1000);
  checkInt('--pca', h.pca, 0, 4096);
  checkInt('--vector-pca', h.vectorPca, 0, 4096);
  checkNumber('margin', h.margin, -1, 1);
  checkInt('patience', h.patience, 1, 10_000);
  checkInt('pcaComponents', h.pcaComponents, 1, 4096);
  checkNumber('baselineC', h.baselineC, 1e-9, 1e9);
  checkNumber('logisticC', h.logisticC, 1e-9, 1e9);
  return h;
}

export const DEFAULT_HYPER: Hyper = {
  epochs: 30,
  batch: 128,
  learningRate: 1e-3,
  l2: 0.03,
  hidden: 16,
  projection: 32,
  centroids: 1,
  nearRate: 0.5,
  nearWeight: 2,
  near: 'walk',
  halfLife: 0,
  pca: 0,
  vectorPca: 0,
  views: true,
  margin: 0.2,
  patience: 6,
  pcaComponents: BASELINE.components,
  baselineC: BASELINE.c,
  logisticC: 0.03,
};

/** Logistic regression on rows of at most this many columns is solved exactly (Newton's method), not by epochs. */
export const EXACT_MAX_COLUMNS = 256;

/** Whether `arch` on rows of `dim` columns is solved exactly: logistic regression on a narrow row. */
export const solvedExactly = (arch: Arch, dim: number): boolean =>
  (arch === 'logistic' || arch === 'metadata') && dim <= EXACT_MAX_COLUMNS;

/**
 * Whether a learner stops early on the validation walks. One that does not (the plain baseline, logistic regression
 * solved exactly) has no use for them and may train on them.
 */
export const stopsEarly = (arch: Arch, dim: number): boolean => arch !== 'pca-logistic' && !solvedExactly(arch, dim);

/**
 * Epochs for a training split of `n` rows when none are given: small collections need many passes, large ones few
 * (about 300,000 row visits in all, between 3 and `max` epochs); early stopping ends sooner when validation stalls.
 */
export function trainingEpochs(n: number, max = DEFAULT_HYPER.epochs): number {
  return Math.max(3, Math.min(max, Math.ceil(300_000 / Math.max(1, n))));
}

/** A tensor as plain numbers (JSON-able). */
export interface Weight {
  shape: number[];
  values: number[];
}
export type ScorerKind = 'linear' | 'mlp' | 'proto' | 'random';

export interface ScorerParams {
  kind: ScorerKind;
  weights: Record<string, Weight>;
  /** The chance baseline's seed: its random score is drawn from it and the photo id. */
  seed?: number;
}

/** Standardised training data. */
export interface TrainData {
  x: Float32Array;
  dim: number;
  y: Uint8Array;
  session: Int32Array;
  ids: number[];
  train: number[];
  /** Validation rows (original views) for early stopping. */
  val: number[];
  /**
   * Loss weight per row (the photographer's review decisions weigh more); absent: every row weighs 1. A pair's
   * weight is multiplied by both rows' weights, a row's logistic or contrastive loss by its own.
   */
  weight?: Float32Array;
  /** Capture time in seconds per row (NaN unknown), for near misses of a burst or an hour. */
  time?: ArrayLike<number>;
  /** Leading columns holding the image vector (visual near misses); default every column. */
  vectorDim?: number;
}

export interface TrainLog {
  epoch: number;
  loss: number;
  valAp: number;
  valAuc: number;
  seconds: number;
}

export const kindOf = (arch: Arch): ScorerKind =>
  arch === 'pairwise' || arch === 'listwise'
    ? 'mlp'
    : arch.startsWith('contrastive')
      ? 'proto'
      : arch === 'chance'
        ? 'random'
        : 'linear';

function glorot(rng: Rng, fanIn: number, fanOut: number): number[] {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return Array.from({ length: fanIn * fanOut }, () => rng.uniform(-limit, limit));
}

function initParams(kind: ScorerKind, dim: number, h: Hyper, rng: Rng): ScorerParams {
  const w = (shape: number[], values: number[]): Weight => ({ shape, values });
  const zeros = (n: number): number[] => new Array<number>(n).fill(0);
  if (kind === 'linear') return { kind, weights: { W: w([dim, 1], zeros(dim)), b: w([1], [0]) } };
  if (kind === 'mlp') {
    // wide and deep: a linear part (the logistic model as a special case) plus a small hidden layer
    const deep: Record<string, Weight> =
      h.hidden > 0
        ? {
            W1: w([dim, h.hidden], glorot(rng, dim, h.hidden)),
            b1: w([h.hidden], zeros(h.hidden)),
            W2: w([h.hidden, 1], glorot(rng, h.hidden, 1)),
          }
        : {};
    return { kind, weights: { W0: w([dim, 1], zeros(dim)), ...deep, b2: w([1], [0]) } };
  }
  if (kind === 'proto') {
    return {
      kind,
      weights: {
        W: w([dim, h.projection], glorot(rng, dim, h.projection)),
        b: w([h.projection], zeros(h.projection)),
        C: w([h.centroids, h.projection], glorot(rng, h.centroids, h.projection)),
      },
    };
  }
  return { kind, weights: {} };
}

type Vars = Record<string, tf.Variable>;

const l2norm = (t: tf.Tensor): tf.Tensor => tf.div(t, tf.add(tf.norm(t, 'euclidean', -1, true), 1e-12));

/**
 * A batch of rows, with its transpose when it is trained on: the gradient of a weight that multiplies the rows is
 * then the plain product `xt dy` (the WebAssembly backend has a fast kernel for that, but none for a transposed left
 * operand, which took most of a training step at the real feature width).
 */
interface Batch {
  x: tf.Tensor2D;
  xt?: tf.Tensor2D;
}

/** The rows times a weight matrix (the one product with the wide input). */
function inputProduct(b: Batch, w: tf.Tensor2D): tf.Tensor2D {
  const { x, xt } = b;
  if (!xt) return tf.matMul(x, w);
  const product = tf.customGrad((wi) => ({
    value: tf.matMul(x, wi as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor) => tf.matMul(xt, dy as tf.Tensor2D),
  }));
  return product(w as tf.Tensor) as tf.Tensor2D;
}

/** Scores of a batch (for `proto`, the cosine to the nearest centroid `C`: the same at training and scoring). */
function forward(kind: ScorerKind, v: Record<string, tf.Tensor>, b: Batch): tf.Tensor1D {
  if (kind === 'linear') return tf.reshape(tf.add(inputProduct(b, v.W as tf.Tensor2D), v.b as tf.Tensor), [-1]);
  if (kind === 'mlp') {
    // the linear part and the hidden layer in one product with the input, [W0 | W1]
    const hidden = v.W1 ? (v.W1.shape[1] as number) : 0;
    const w = hidden ? tf.concat([v.W0 as tf.Tensor2D, v.W1 as tf.Tensor2D], 1) : (v.W0 as tf.Tensor2D);
    const both = inputProduct(b, w);
    let s = tf.add(hidden ? tf.slice(both, [0, 0], [-1, 1]) : both, v.b2 as tf.Tensor);
    if (hidden) {
      const h = tf.relu(tf.add(tf.slice(both, [0, 1], [-1, hidden]), v.b1 as tf.Tensor)) as tf.Tensor2D;
      s = tf.add(s, tf.matMul(h, v.W2 as tf.Tensor2D));
    }
    return tf.reshape(s, [-1]);
  }
  const z = l2norm(tf.add(inputProduct(b, v.W as tf.Tensor2D), v.b as tf.Tensor));
  const cos = tf.matMul(z as tf.Tensor2D, l2norm(v.C as tf.Tensor) as tf.Tensor2D, false, true);
  return tf.max(cos, -1) as tf.Tensor1D;
}

/** A model's weights as tensors, by name (the caller disposes of them, or runs inside `tf.tidy`). */
const weightTensors = (params: ScorerParams): Record<string, tf.Tensor> =>
  Object.fromEntries(Object.entries(params.weights).map(([k, w]) => [k, tf.tensor(w.values, w.shape)]));

/** Rows `idx` of `x` as a [n, dim] tensor. */
function gather(x: Float32Array, dim: number, idx: readonly number[]): tf.Tensor2D {
  const out = new Float32Array(idx.length * dim);
  idx.forEach((r, i) => out.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  return tf.tensor2d(out, [idx.length, dim]);
}

/** Rows `idx` of `x` as a training batch: the rows and their transpose. */
function trainingBatch(x: Float32Array, dim: number, idx: readonly number[]): Batch & { xt: tf.Tensor2D } {
  const rows = gather(x, dim, idx);
  return { x: rows, xt: tf.transpose(rows) };
}

/** Scores of rows of `x` (all rows when `rows` is omitted), in batches. */
export function scoreRows(
  params: ScorerParams,
  x: Float32Array,
  dim: number,
  rows?: readonly number[],
  ids?: readonly number[],
): Float32Array {
  const n = rows ? rows.length : x.length / dim;
  const out = new Float32Array(n);
  if (params.kind === 'random') {
    // a pseudo-random score per photo id and seed (chance), independent of row order
    const base = new Rng(params.seed ?? 0);
    for (let i = 0; i < n; i++) out[i] = base.fork(`chance:${ids?.[rows ? (rows[i] as number) : i] ?? i}`).next();
    return out;
  }
  const v = weightTensors(params);
  try {
    const step = 4096;
    for (let s = 0; s < n; s += step) {
      const idx = Array.from({ length: Math.min(step, n - s) }, (_, i) => (rows ? (rows[s + i] as number) : s + i));
      const scores = tf.tidy(() => forward(params.kind, v, { x: gather(x, dim, idx) }));
      out.set(scores.dataSync(), s);
      scores.dispose();
    }
  } finally {
    for (const t of Object.values(v)) t.dispose();
  }
  return out;
}

/** Centroids of the projected training keepers: their normalised mean, or k-means (seeded) for several. */
function keeperCentroids(params: ScorerParams, data: TrainData, k: number, rng: Rng): Weight {
  const pos = data.train.filter((r) => data.y[r]);
  const p = (params.weights.W as Weight).shape[1] as number;
  const z = tf.tidy(() => {
    const v = {
      W: tf.tensor(params.weights.W!.values, params.weights.W!.shape),
      b: tf.tensor(params.weights.b!.values, params.weights.b!.shape),
    };
    return l2norm(tf.add(tf.matMul(gather(data.x, data.dim, pos), v.W as tf.Tensor2D), v.b));
  });
  const rows = z.arraySync() as number[][];
  z.dispose();
  let centres: number[][];
  if (k <= 1 || rows.length <= k) {
    const m = new Array<number>(p).fill(0);
    for (const r of rows)
      r.forEach((v, j) => {
        m[j] = (m[j] as number) + v;
      });
    centres = [m];
  } else {
    centres = kmeans(rows, k, { seed: rng.uint32(), initialization: 'kmeans++', maxIterations: 100 }).centroids;
  }
  const norm = centres.map((c) => {
    const l = Math.hypot(...c) || 1;
    return c.map((v) => v / l);
  });
  return { shape: [norm.length, p], values: norm.flat() };
}

/** What one training step needs: the variables, the optimiser, the rows and how to draw a negative for a keeper. */
interface StepContext {
  arch: Arch;
  kind: ScorerKind;
  h: Hyper;
  data: TrainData;
  vars: Vars;
  optimizer: tf.Optimizer;
  pos: number[];
  posWeight: number;
  sampleNeg: (r: Rng, keeper: number) => [number, number];
  l2: () => tf.Scalar;
}

/** One batch of (keeper, non-keeper) pairs, RankNet loss weighted by near-miss pairs. */
function pairwiseStep(c: StepContext, er: Rng): tf.Scalar | null {
  const ks: number[] = [],
    ns: number[] = [],
    ws: number[] = [];
  for (let b = 0; b < c.h.batch; b++) {
    const k = er.pick(c.pos);
    const [n, w] = c.sampleNeg(er, k);
    ks.push(k);
    ns.push(n);
    ws.push(c.data.weight ? w * (c.data.weight[k] as number) * (c.data.weight[n] as number) : w);
  }
  // keepers and non-keepers scored in one batch: the first half are the keepers
  const xb = trainingBatch(c.data.x, c.data.dim, [...ks, ...ns]),
    w = tf.tensor1d(ws);
  const m = ks.length;
  const lossT = c.optimizer.minimize(() => {
    const s = forward(c.kind, c.vars, xb);
    const diff = tf.sub(tf.slice(s, 0, m), tf.slice(s, m, m));
    return tf.add(tf.div(tf.sum(tf.mul(w, tf.softplus(tf.neg(diff)))), tf.sum(w)), c.l2()) as tf.Scalar;
  }, true);
  tf.dispose([xb.x, xb.xt, w]);
  return lossT;
}

/** One batch of keepers pulled towards the prototypes and non-keepers pushed below the margin. */
function protoStep(c: StepContext, er: Rng): tf.Scalar | null {
  const half = Math.max(1, c.h.batch >> 1);
  const ks: number[] = [],
    ns: number[] = [];
  for (let b = 0; b < half; b++) {
    const k = er.pick(c.pos);
    ks.push(k);
    ns.push(c.sampleNeg(er, k)[0]);
  }
  const xb = trainingBatch(c.data.x, c.data.dim, [...ks, ...ns]);
  const m = ks.length;
  const rw = c.data.weight;
  // weighted means when rows carry weights; the plain mean otherwise (the same numbers as before weights existed)
  const wk = rw ? tf.tensor1d(ks.map((r) => rw[r] as number)) : null;
  const wn = rw ? tf.tensor1d(ns.map((r) => rw[r] as number)) : null;
  const lossT = c.optimizer.minimize(
    () => tf.add(protoLoss(c.kind, c.vars, xb, m, c.h.margin, wk, wn), c.l2()) as tf.Scalar,
    true,
  );
  tf.dispose([xb.x, xb.xt, ...(wk && wn ? [wk, wn] : [])]);
  return lossT;
}

/**
 * The contrastive loss of a batch whose first `m` rows are keepers and the rest non-keepers, L2 aside: keepers
 * pulled towards a score of 1, non-keepers pushed below the margin, through the scores {@link forward} gives, which
 * are the scores the model is scored by. Weighted means when rows carry weights, plain means otherwise.
 */
function protoLoss(
  kind: ScorerKind,
  v: Record<string, tf.Tensor>,
  b: Batch,
  m: number,
  margin: number,
  wk: tf.Tensor1D | null,
  wn: tf.Tensor1D | null,
): tf.Scalar {
  const mean = (t: tf.Tensor, w: tf.Tensor1D | null): tf.Tensor =>
    w ? tf.div(tf.sum(tf.mul(w, t)), tf.sum(w)) : tf.mean(t);
  const s = forward(kind, v, b);
  const pull = mean(tf.sub(1, tf.slice(s, 0, m)), wk);
  const push = mean(tf.relu(tf.sub(tf.slice(s, m, s.shape[0] - m), margin)), wn);
  return tf.add(pull, push) as tf.Scalar;
}

/**
 * The loss the contrastive learner minimises (L2 aside), for trained parameters on keepers `keepers` and
 * non-keepers `others` of `x`: what a training step computes, for tests that hold it to the scores.
 */
export function contrastiveLoss(
  params: ScorerParams,
  x: Float32Array,
  dim: number,
  keepers: readonly number[],
  others: readonly number[],
  margin: number,
): number {
  return tf.tidy(() => {
    const v = weightTensors(params);
    const b = trainingBatch(x, dim, [...keepers, ...others]);
    return protoLoss(params.kind, v, b, keepers.length, margin, null, null).dataSync()[0] as number;
  });
}

/** One batch of rows, class-balanced logistic loss. */
function logisticStep(c: StepContext, er: Rng): tf.Scalar | null {
  const rows = Array.from({ length: c.h.batch }, () => er.pick(c.data.train));
  const xb = trainingBatch(c.data.x, c.data.dim, rows);
  const yb = tf.tensor1d(rows.map((r) => c.data.y[r] as number));
  const rw = c.data.weight;
  const wb = tf.tensor1d(rows.map((r) => (c.data.y[r] ? c.posWeight : 1) * (rw ? (rw[r] as number) : 1)));
  const lossT = c.optimizer.minimize(() => {
    const logits = forward(c.kind, c.vars, xb);
    const bce = tf.add(tf.relu(logits), tf.sub(tf.softplus(tf.neg(tf.abs(logits))), tf.mul(logits, yb)));
    return tf.add(tf.div(tf.sum(tf.mul(wb, bce)), tf.sum(wb)), c.l2()) as tf.Scalar;
  }, true);
  tf.dispose([xb.x, xb.xt, yb, wb]);
  return lossT;
}

/** Non-keepers in each list of the listwise objective, beside its keeper. */
export const LIST_NEGATIVES = 15;

/**
 * One batch of lists, each a keeper and {@link LIST_NEGATIVES} non-keepers of its walk: the softmax cross-entropy of
 * the keeper among them (weighted by the keeper's row weight), a per-walk ranking loss.
 */
function listwiseStep(c: StepContext, er: Rng): tf.Scalar | null {
  const size = LIST_NEGATIVES + 1;
  const lists = Math.max(1, Math.floor(c.h.batch / size));
  const rows: number[] = [];
  const ws: number[] = [];
  for (let l = 0; l < lists; l++) {
    const k = er.pick(c.pos);
    rows.push(k);
    for (let j = 0; j < LIST_NEGATIVES; j++) rows.push(c.sampleNeg(er, k)[0]);
    ws.push(c.data.weight ? (c.data.weight[k] as number) : 1);
  }
  const xb = trainingBatch(c.data.x, c.data.dim, rows);
  const w = tf.tensor1d(ws);
  const lossT = c.optimizer.minimize(() => {
    const s = tf.reshape(forward(c.kind, c.vars, xb), [lists, size]);
    const first = tf.reshape(tf.slice(s, [0, 0], [lists, 1]), [lists]);
    const nll = tf.sub(tf.logSumExp(s, 1), first);
    return tf.add(tf.div(tf.sum(tf.mul(w, nll)), tf.sum(w)), c.l2()) as tf.Scalar;
  }, true);
  tf.dispose([xb.x, xb.xt, w]);
  return lossT;
}

/** The step of an architecture. */
const stepOf = (c: StepContext): ((c: StepContext, er: Rng) => tf.Scalar | null) =>
  c.arch === 'pairwise'
    ? pairwiseStep
    : c.arch === 'listwise'
      ? listwiseStep
      : c.kind === 'proto'
        ? protoStep
        : logisticStep;

/**
 * A negative sampler: a near miss of the keeper (of the kind `h.near`, weighting.ts) at `nearRate`, weighted
 * `nearWeight`; otherwise any non-keeper, or with `rest` = 'walk' any non-keeper of the keeper's walk (any at all
 * when the walk has none).
 */
function negativeSampler(
  data: TrainData,
  neg: number[],
  h: Hyper,
  rest: 'any' | 'walk' = 'any',
): (r: Rng, keeper: number) => [number, number] {
  const near = nearMisses(data, h.near);
  const walk = rest === 'any' ? null : h.near === 'walk' ? near : nearMisses(data, 'walk');
  return (r: Rng, keeper: number): [number, number] => {
    const pool = near.get(keeper);
    if (pool && r.chance(h.nearRate)) return [r.pick(pool), h.nearWeight];
    return [r.pick(walk?.get(keeper) ?? neg), 1];
  };
}

/**
 * Logistic regression solved exactly: Newton's method on the training rows (each weighted by its row weight when
 * there are any), no class weights, so the scores are log-odds at the training rate. One log entry: the training
 * log-loss and the validation figures, as an epoch's.
 */
function exactLogistic(data: TrainData, h: Hyper): { params: ScorerParams; log: TrainLog[] } {
  const t0 = performance.now();
  const { dim, train } = data;
  const z = new Float64Array(train.length * dim);
  train.forEach((r, i) => {
    for (let j = 0; j < dim; j++) z[i * dim + j] = data.x[r * dim + j] as number;
  });
  const y = train.map((r) => data.y[r] as number);
  const weight = data.weight ? train.map((r) => (data.weight as Float32Array)[r] as number) : undefined;
  const { w, b } = fitLogisticL2(z, dim, y, h.logisticC, 50, weight);
  const params: ScorerParams = {
    kind: 'linear',
    weights: { W: { shape: [dim, 1], values: w }, b: { shape: [1], values: [b] } },
  };
  const loss = logLoss(
    Array.from(scoreRows(params, data.x, dim, train), (s) => 1 / (1 + Math.exp(-s))),
    y,
  );
  const vs = data.val.length ? scoreRows(params, data.x, dim, data.val) : new Float32Array(0);
  const vy = data.val.map((r) => data.y[r] as number);
  const entry: TrainLog = {
    epoch: 1,
    loss,
    valAp: data.val.length ? averagePrecision(vs, vy) : NaN,
    valAuc: data.val.length ? rocAuc(vs, vy) : NaN,
    seconds: (performance.now() - t0) / 1000,
  };
  return { params, log: [entry] };
}

/** The epoch's model judged on validation (AP and ROC AUC; NaN without validation rows). */
function epochLog(c: StepContext, current: ScorerParams, epoch: number, loss: number, t0: number): TrainLog {
  const { data } = c;
  const vs = data.val.length ? scoreRows(current, data.x, data.dim, data.val) : new Float32Array(0);
  const vy = data.val.map((r) => data.y[r] as number);
  const valAp = data.val.length ? averagePrecision(vs, vy) : NaN;
  const valAuc = data.val.length ? rocAuc(vs, vy) : NaN;
  return { epoch, loss, valAp, valAuc, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Trains one ranker; returns its parameters (the best epoch by validation ROC AUC) and the per-epoch log.
 * `onEpoch` reports progress.
 */
export async function trainScorer(
  arch: Arch,
  data: TrainData,
  hyper: Partial<Hyper>,
  seed: number,
  onEpoch?: (log: TrainLog) => void,
): Promise<{ params: ScorerParams; log: TrainLog[] }> {
  const h: Hyper = checkHyper({
    epochs: trainingEpochs(data.train.length),
    ...learnerDefaults(arch),
    ...hyper,
  });
  const rng = new Rng(seed).fork(`train:${arch}`);
  const kind = kindOf(arch);
  const params = initParams(kind, data.dim, h, rng.fork('init'));
  if (kind === 'random') return { params: { ...params, seed }, log: [] };
  if (arch === 'pca-logistic') {
    // the plain baseline: no epochs; PCA 32 and C 0.01 unless nested tuning tries another (see baseline.ts)
    const settings = { components: h.pcaComponents, c: h.baselineC };
    const { W, b } = await fitPcaLogistic(data.x, data.dim, data.y, data.train, seed, settings, data.weight);
    return {
      params: { kind, weights: { W: { shape: [data.dim, 1], values: W }, b: { shape: [1], values: [b] } } },
      log: [],
    };
  }
  const pos = data.train.filter((r) => data.y[r]);
  const neg = data.train.filter((r) => !data.y[r]);
  if (!pos.length || !neg.length) {
    throw new RangeError(
      `train ${arch}: the training split needs keepers and non-keepers (has ${pos.length} and ${neg.length})`,
    );
  }
  if (solvedExactly(arch, data.dim)) return exactLogistic(data, h);
  const vars: Vars = Object.fromEntries(
    Object.entries(params.weights).map(([k, w]) => [
      k,
      // the centroids are set from the keepers, not learned
      tf.variable(tf.tensor(w.values, w.shape), k !== 'C', `${arch}_${k}_${seed}`),
    ]),
  );
  const optimizer = tf.train.adam(h.learningRate);
  const l2 = (): tf.Scalar =>
    tf.mul(
      h.l2,
      tf.addN(
        Object.entries(vars)
          .filter(([k]) => k.startsWith('W'))
          .map(([, v]) => tf.sum(tf.square(v))),
      ),
    ) as tf.Scalar;
  const c: StepContext = {
    arch,
    kind,
    h,
    data,
    vars,
    optimizer,
    pos,
    posWeight: neg.length / pos.length,
    sampleNeg: negativeSampler(data, neg, h, arch === 'listwise' ? 'walk' : 'any'),
    l2,
  };
  try {
    return await epochs(c, rng, onEpoch);
  } finally {
    for (const v of Object.values(vars)) v.dispose();
    optimizer.dispose();
  }
}

/** Sets the centroids variable `C` (its row count follows the centroids: one when the keepers are too few). */
function setCentroids(vars: Vars, c: Weight): void {
  const old = vars.C as tf.Variable;
  const value = tf.tensor(c.values, c.shape);
  if (old.shape.join() === c.shape.join()) {
    old.assign(value);
    value.dispose();
    return;
  }
  vars.C = tf.variable(value, false, `${old.name}_${c.shape[0]}`);
  old.dispose();
}

/** The epochs with early stopping on the validation ROC AUC; the best epoch's weights. */
async function epochs(
  c: StepContext,
  rng: Rng,
  onEpoch?: (log: TrainLog) => void,
): Promise<{ params: ScorerParams; log: TrainLog[] }> {
  const { h, data, kind, vars } = c;
  const steps = Math.max(1, Math.ceil(data.train.length / h.batch));
  const step = stepOf(c);
  const log: TrainLog[] = [];
  let best: { ap: number; weights: Record<string, Weight> } | null = null;
  let since = 0;
  const snapshot = (): Record<string, Weight> =>
    Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { shape: v.shape, values: Array.from(v.dataSync()) }]));
  // the centroids the first epoch trains against: those of the keepers under the initial projection
  if (kind === 'proto')
    setCentroids(vars, keeperCentroids({ kind, weights: snapshot() }, data, h.centroids, rng.fork('centroids:0')));
  for (let epoch = 1; epoch <= h.epochs; epoch++) {
    const t0 = performance.now();
    const er = rng.fork(`epoch:${epoch}`);
    let lossSum = 0;
    for (let s = 0; s < steps; s++) {
      const lossT = step(c, er);
      lossSum += (lossT as tf.Scalar).dataSync()[0] as number;
      (lossT as tf.Scalar).dispose();
    }
    const current: ScorerParams = { kind, weights: snapshot() };
    if (kind === 'proto') {
      // scored against the keepers' centroids under this epoch's projection, and the next epoch trains against them
      current.weights.C = keeperCentroids(current, data, h.centroids, rng.fork(`centroids:${epoch}`));
      setCentroids(vars, current.weights.C);
    }
    const entry = epochLog(c, current, epoch, lossSum / steps, t0);
    // early stopping follows the validation ROC AUC: with few validation keepers it is far steadier than AP
    const stopMetric = entry.valAuc;
    log.push(entry);
    onEpoch?.(entry);
    if (Number.isNaN(stopMetric)) {
      // no validation keepers: nothing to stop on, so the latest weights stand and every epoch runs
      best = { ap: NaN, weights: current.weights };
    } else if (!best || Number.isNaN(best.ap) || stopMetric > best.ap) {
      best = { ap: stopMetric, weights: current.weights };
      since = 0;
    } else if (++since >= h.patience) break;
    await new Promise((r) => setImmediate(r));
  }
  return { params: { kind, weights: (best as { weights: Record<string, Weight> }).weights }, log };
}
