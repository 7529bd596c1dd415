/**
 * Dimension reduction for the tfjs scorers (the setting `pca`): the standardised rows are projected onto the leading
 * principal axes of the training rows, whitened (PCA fitted on the training rows only, as the plain baseline does;
 * each projection scaled to unit variance there), the scorer
 * trains on the projections, and its first layer is folded back onto the full row, so the model file, its ONNX graph
 * and scoring stay as they are: a first layer W (k x m) with bias b over z = P (x - mean) is the layer P'W over x
 * with bias b - mean . P'W.
 */
import { pcaAxes, type PcaAxes } from './baseline.js';
import type { ScorerParams, Weight } from './scorers.js';

/** Every row of `x` (n x dim) projected onto the axes: n x k. */
export function project(x: Float32Array, dim: number, axes: PcaAxes): Float32Array {
  const n = x.length / dim;
  const { k, components: p, mean } = axes;
  const out = new Float32Array(n * k);
  const centred = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < dim; j++) centred[j] = (x[r * dim + j] as number) - (mean[j] as number);
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (centred[j] as number) * (p[c * dim + j] as number);
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
