/**
 * Principal components of a set of vectors, for motif maps: the covariance by one matrix product (ONNX Runtime's
 * kernels), its leading eigenvectors by seeded subspace iteration, the small eigenproblem by ml-matrix.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { MatMul } from '../onnx/matmul.js';
import { orthonormalise, type VectorMatrix } from '../util/vectors.js';
import { Rng } from '../util/rng.js';

export interface Pca {
  mean: Float32Array;
  /** k x dim, row-major, unit rows, by decreasing variance. */
  components: Float32Array;
  k: number;
  /** Share of the total variance each component explains. */
  explained: number[];
  /** rows x k coordinates. */
  projected: VectorMatrix;
}

/** The first `k` principal components (seeded; deterministic for a seed). */
export async function pca(m: VectorMatrix, k: number, seed = 7, iterations = 12): Promise<Pca> {
  const { rows: n, dim: d } = m;
  k = Math.max(1, Math.min(k, d, n));
  const mean = new Float32Array(d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (m.data[i * d + j] as number) / n;
  const centred = new Float32Array(n * d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) centred[i * d + j] = (m.data[i * d + j] as number) - (mean[j] as number);
  const t = new Float32Array(d * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) t[j * n + i] = centred[i * d + j] as number;
  const mm = await MatMul.create();
  try {
    const cov = await mm.run(t, d, n, centred, d); // d x d (unscaled)
    const l = Math.min(d, k + 10);
    const rng = new Rng(seed).fork('pca');
    let v = Float64Array.from({ length: d * l }, () => rng.normal());
    orthonormalise(v, d, l);
    const mul = async (x: Float64Array): Promise<Float64Array> =>
      Float64Array.from(await mm.run(cov, d, d, Float32Array.from(x), l));
    for (let it = 0; it < iterations; it++) {
      v = await mul(v);
      orthonormalise(v, d, l);
    }
    // Rayleigh-Ritz: the small l x l problem V' C V
    const cv = await mul(v);
    const small = new Matrix(l, l);
    for (let a = 0; a < l; a++)
      for (let b = 0; b < l; b++) {
        let s = 0;
        for (let r = 0; r < d; r++) s += (v[r * l + a] as number) * (cv[r * l + b] as number);
        small.set(a, b, s);
      }
    const evd = new EigenvalueDecomposition(small, { assumeSymmetric: true });
    const values = evd.realEigenvalues;
    const vectors = evd.eigenvectorMatrix;
    const order = values
      .map((_, i) => i)
      .sort((a, b) => (values[b] as number) - (values[a] as number))
      .slice(0, k);
    let total = 0;
    for (let j = 0; j < d; j++) total += cov[j * d + j] as number;
    const components = new Float32Array(k * d);
    order.forEach((e, c) => {
      for (let r = 0; r < d; r++) {
        let s = 0;
        for (let j = 0; j < l; j++) s += (v[r * l + j] as number) * vectors.get(j, e);
        components[c * d + r] = s;
      }
    });
    const ct = new Float32Array(d * k);
    for (let c = 0; c < k; c++) for (let r = 0; r < d; r++) ct[r * k + c] = components[c * d + r] as number;
    const projected = await mm.run(centred, n, d, ct, k);
    return {
      mean,
      components,
      k,
      explained: order.map((e) => (total > 0 ? (values[e] as number) / total : 0)),
      projected: { data: projected, rows: n, dim: k },
    };
  } finally {
    await mm.close();
  }
}
