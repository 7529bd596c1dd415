/**
 * Dimension reduction for the learners (the settings `pca`, the whole row, and `vectorPca`, the image vector's
 * columns only, the others kept beside them; logistic regression reduces the vector by default): the standardised
 * rows are projected onto the leading principal axes of the training rows, whitened (PCA fitted on the training rows
 * only, as the plain baseline does; each projection scaled to unit variance there), the scorer trains on the
 * projections, and its first layer is folded back onto the full row, so the model file, its ONNX graph and scoring
 * stay as they are: a first layer W (k x m) with bias b over z = P (x - mean) is the layer P'W over x with bias
 * b - mean . P'W.
 */
import { pcaAxes, type PcaAxes } from './baseline.js';
import type { ScorerParams, Weight } from './scorers.js';

/** Every row of `x` (n x dim) projected onto the axes: n x k (each axis over its non-zero entries only). */
export function project(x: Float32Array, dim: number, axes: PcaAxes): Float32Array {
  const n = x.length / dim;
  const { k, components: p, mean } = axes;
  const support = Array.from({ length: k }, (_, c) => {
    const js: number[] = [];
    for (let j = 0; j < dim; j++) if (p[c * dim + j] !== 0) js.push(j);
    return Int32Array.from(js);
  });
  const out = new Float32Array(n * k);
  const centred = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < dim; j++) centred[j] = (x[r * dim + j] as number) - (mean[j] as number);
    for (let c = 0; c < k; c++) {
      const js = support[c] as Int32Array;
      let s = 0;
      for (let t = 0; t < js.length; t++)
        s += (centred[js[t] as number] as number) * (p[c * dim + (js[t] as number)] as number);
      out[r * k + c] = s;
    }
  }
  return out;
}

/** The first-layer weights of each scorer kind and the bias that goes with each. */
const FIRST_LAYERS: Record<string, Array<[string, string]>> = {
  linear: [['W', 'b']],
  mlp: [
    ['W0', 'b2'],
    ['W1', 'b1'],
  ],
  proto: [['W', 'b']],
};

/** Scorer parameters trained on the projections, as parameters over the full row (see the module comment). */
export function foldAxes(params: ScorerParams, axes: PcaAxes, dim: number): ScorerParams {
  const { k, components: p, mean } = axes;
  const weights: Record<string, Weight> = { ...params.weights };
  for (const [wName, bName] of FIRST_LAYERS[params.kind] ?? []) {
    const w = weights[wName];
    const b = weights[bName];
    if (!w || !b) continue;
    const m = w.shape[1] as number;
    const full = new Array<number>(dim * m).fill(0);
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < dim; j++) {
        const pj = p[c * dim + j] as number;
        for (let o = 0; o < m; o++)
          full[j * m + o] = (full[j * m + o] as number) + pj * (w.values[c * m + o] as number);
      }
    }
    const bias = b.values.map((v, o) => {
      let s = v;
      for (let j = 0; j < dim; j++) s -= (mean[j] as number) * (full[j * m + o] as number);
      return s;
    });
    weights[wName] = { shape: [dim, m], values: full };
    weights[bName] = { shape: b.shape, values: bias };
  }
  return { ...params, weights };
}

/**
 * The whitened axes of the training rows (seeded), for `pca` components: each axis divided by the spread of the
 * training rows along it, so every projection has unit variance on the training rows (the scorers' learning rate
 * and L2 mean what they mean on standardised columns).
 */
export async function trainingAxes(
  x: Float32Array,
  dim: number,
  train: readonly number[],
  components: number,
  seed: number,
): Promise<PcaAxes> {
  const { mean, components: p, k, projected } = await pcaAxes(x, dim, train, components, seed);
  const n = train.length;
  for (let c = 0; c < k; c++) {
    let sq = 0;
    for (let i = 0; i < n; i++) sq += (projected[i * k + c] as number) ** 2;
    const sd = Math.sqrt(sq / Math.max(1, n));
    const scale = sd > 1e-9 ? 1 / sd : 1;
    for (let j = 0; j < dim; j++) p[c * dim + j] = (p[c * dim + j] as number) * scale;
  }
  return { mean, components: p, k };
}

/**
 * Axes that reduce only the image vector's columns (`vectorCols`) to `components` whitened principal axes of the
 * training rows, and keep every other column as it is (an axis of its own, after them): a row of the vector's
 * leading directions beside the descriptor, context and people columns, each of unit spread on the training rows.
 */
export async function vectorAxes(
  x: Float32Array,
  dim: number,
  train: readonly number[],
  vectorCols: readonly number[],
  components: number,
  seed: number,
): Promise<PcaAxes> {
  const vd = vectorCols.length;
  const sub = new Float32Array(train.length * vd);
  train.forEach((r, i) => vectorCols.forEach((j, c) => (sub[i * vd + c] = x[r * dim + j] as number)));
  const v = await trainingAxes(
    sub,
    vd,
    Array.from(train, (_, i) => i),
    components,
    seed,
  );
  const inVector = new Set(vectorCols);
  const rest = Array.from({ length: dim }, (_, j) => j).filter((j) => !inVector.has(j));
  const k = v.k + rest.length;
  const p = new Float64Array(k * dim);
  const mean = new Float64Array(dim);
  vectorCols.forEach((j, c) => (mean[j] = v.mean[c] as number));
  for (let a = 0; a < v.k; a++) vectorCols.forEach((j, c) => (p[a * dim + j] = v.components[a * vd + c] as number));
  rest.forEach((j, i) => (p[(v.k + i) * dim + j] = 1));
  return { mean, components: p, k };
}
