/**
 * The plain strong baseline every ranker must beat: the standardised row reduced by PCA to 32 dimensions (fitted on
 * the training rows only), then L2 logistic regression with C = 0.01 (the penalty |w|^2 / 2C, as scikit-learn's C;
 * the intercept unpenalised, no class weights), fitted by Newton's method. Nothing is tuned. Both steps are linear,
 * so the model folds into one linear scorer over the standardised row (the same graph and file as logistic
 * regression).
 */
import { orthonormalise } from '../util/vectors.js';
import { EigenvalueDecomposition, Matrix, solve } from 'ml-matrix';
import { MatMul } from '../onnx/matmul.js';
import { Rng } from '../util/rng.js';

/** The baseline's settings. */
export const BASELINE = { components: 32, c: 0.01 };

/** Principal axes: the training mean and `k` unit components (k x d, by decreasing variance). */
export interface PcaAxes {
  mean: Float64Array;
  components: Float64Array;
  k: number;
}

/** The centred rows (n x d) and their transpose (d x n), in single precision for the matrix products. */
function centred(
  x: Float32Array,
  dim: number,
  rows: readonly number[],
): { xc: Float32Array; t: Float32Array; mean: Float64Array } {
  const n = rows.length;
  const mean = new Float64Array(dim);
  for (const r of rows) for (let j = 0; j < dim; j++) mean[j] = (mean[j] as number) + (x[r * dim + j] as number) / n;
  const xc = new Float32Array(n * dim);
  const t = new Float32Array(dim * n);
  rows.forEach((r, i) => {
    for (let j = 0; j < dim; j++) {
      const v = (x[r * dim + j] as number) - (mean[j] as number);
      xc[i * dim + j] = v;
      t[j * n + i] = v;
    }
  });
  return { xc, t, mean };
}

/**
 * The leading `k` principal axes of the rows: the covariance by one matrix product (ONNX Runtime's kernels), its
 * leading subspace by seeded subspace iteration, the axes within it by a Rayleigh-Ritz step.
 */
export async function pcaAxes(
  x: Float32Array,
  dim: number,
  rows: readonly number[],
  k: number,
  seed: number,
  iterations = 10,
): Promise<PcaAxes & { projected: Float32Array }> {
  const n = rows.length;
  k = Math.max(1, Math.min(k, dim, n));
  const l = Math.min(dim, k + 8);
  const { xc, t, mean } = centred(x, dim, rows);
  const mm = await MatMul.create();
  try {
    const cov = await mm.run(t, dim, n, xc, dim);
    const rng = new Rng(seed).fork('pca-baseline');
    let v = Float64Array.from({ length: dim * l }, () => rng.normal());
    orthonormalise(v, dim, l);
    const mul = async (m: Float64Array): Promise<Float64Array> =>
      Float64Array.from(await mm.run(cov, dim, dim, Float32Array.from(m), l));
    for (let it = 0; it < iterations; it++) {
      v = await mul(v);
      orthonormalise(v, dim, l);
    }
    const cv = await mul(v);
    const small = new Matrix(l, l);
    for (let a = 0; a < l; a++) {
      for (let b = 0; b < l; b++) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += (v[j * l + a] as number) * (cv[j * l + b] as number);
        small.set(a, b, s);
      }
    }
    const sym = small.add(small.transpose()).mul(0.5);
    const eig = new EigenvalueDecomposition(sym, { assumeSymmetric: true });
    const order = eig.realEigenvalues.map((e, i) => [e, i] as const).sort((a, b) => b[0] - a[0]);
    const u = eig.eigenvectorMatrix;
    const components = new Float64Array(k * dim);
    const pt = new Float32Array(dim * k);
    for (let c = 0; c < k; c++) {
      const col = (order[c] as readonly [number, number])[1];
      for (let j = 0; j < dim; j++) {
        let s = 0;
        for (let a = 0; a < l; a++) s += (v[j * l + a] as number) * u.get(a, col);
        components[c * dim + j] = s;
        pt[j * k + c] = s;
      }
    }
    const projected = await mm.run(xc, n, dim, pt, k);
    return { mean, components, k, projected };
  } finally {
    await mm.close();
  }
}

/**
 * L2 logistic regression by Newton's method: minimises the summed log-loss (each row's times its `weight`, when
 * given) plus |w|^2 / 2C (intercept free).
 */
export function fitLogisticL2(
  z: Float64Array,
  k: number,
  y: ArrayLike<number>,
  c: number,
  iterations = 50,
  weight?: ArrayLike<number>,
): { w: number[]; b: number } {
  const n = y.length;
  const K = k + 1;
  const w = new Array<number>(K).fill(0); // the last entry is the intercept
  const za = new Float64Array(K);
  for (let it = 0; it < iterations; it++) {
    const g = new Array<number>(K).fill(0);
    // the Hessian's upper triangle in a flat array (row a, column b at a * K + b)
    const hf = new Float64Array(K * K);
    for (let i = 0; i < n; i++) {
      let s = w[k] as number;
      for (let j = 0; j < k; j++) s += (w[j] as number) * (z[i * k + j] as number);
      const p = 1 / (1 + Math.exp(-s));
      const wi = weight ? (weight[i] as number) : 1;
      const e = weight ? wi * (p - (y[i] as number)) : p - (y[i] as number);
      const q = weight ? wi * p * (1 - p) : p * (1 - p);
      for (let a = 0; a < k; a++) za[a] = z[i * k + a] as number;
      za[k] = 1;
      for (let a = 0; a <= k; a++) {
        const va = za[a] as number;
        g[a] = (g[a] as number) + e * va;
        const qa = q * va;
        for (let b = a; b <= k; b++) hf[a * K + b] = (hf[a * K + b] as number) + qa * (za[b] as number);
      }
    }
    const h = new Matrix(K, K);
    for (let a = 0; a <= k; a++) for (let b = a; b <= k; b++) h.set(a, b, hf[a * K + b] as number);
    for (let a = 0; a < k; a++) {
      g[a] = (g[a] as number) + (w[a] as number) / c;
      h.set(a, a, h.get(a, a) + 1 / c);
    }
    for (let a = 0; a <= k; a++) for (let b = 0; b < a; b++) h.set(a, b, h.get(b, a));
    h.set(k, k, h.get(k, k) + 1e-9);
    const step = solve(h, Matrix.columnVector(g)).to1DArray();
    let change = 0;
    for (let a = 0; a <= k; a++) {
      w[a] = (w[a] as number) - (step[a] as number);
      change = Math.max(change, Math.abs(step[a] as number));
    }
    if (change < 1e-8) break;
  }
  return { w: w.slice(0, k), b: w[k] as number };
}

/**
 * The baseline fitted on the training rows of standardised data, folded into one linear scorer over the row:
 * score = b + w . P (x - mean) = (b - w . P mean) + (P' w) . x.
 */
export async function fitPcaLogistic(
  x: Float32Array,
  dim: number,
  y: ArrayLike<number>,
  train: readonly number[],
  seed: number,
  settings: { components: number; c: number } = BASELINE,
  weight?: ArrayLike<number>,
): Promise<{ W: number[]; b: number }> {
  const { k, components: p, mean, projected } = await pcaAxes(x, dim, train, settings.components, seed);
  const fit = fitLogisticL2(
    Float64Array.from(projected),
    k,
    train.map((r) => y[r] as number),
    settings.c,
    50,
    weight ? train.map((r) => weight[r] as number) : undefined,
  );
  const W = new Array<number>(dim).fill(0);
  let b = fit.b;
  for (let c = 0; c < k; c++) {
    const wc = fit.w[c] as number;
    for (let j = 0; j < dim; j++) {
      W[j] = (W[j] as number) + wc * (p[c * dim + j] as number);
      b -= wc * (p[c * dim + j] as number) * (mean[j] as number);
    }
  }
  return { W, b };
}
