/** Row-major float32 matrices of vectors, shared by the curator, the motif analysis and matching. */

/** A set of unit vectors. */
export interface VectorMatrix {
  data: Float32Array;
  rows: number;
  dim: number;
}

/** Scales rows to unit length (in place) and returns the matrix. */
export function unitRows(m: VectorMatrix): VectorMatrix {
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let k = 0; k < m.dim; k++) s += (m.data[i * m.dim + k] as number) ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let k = 0; k < m.dim; k++) m.data[i * m.dim + k] = (m.data[i * m.dim + k] as number) * inv;
  }
  return m;
}

/** Orthonormalises the columns of a d x l matrix (row-major) in place, by modified Gram-Schmidt. */
export function orthonormalise(m: Float64Array, d: number, l: number): void {
  for (let j = 0; j < l; j++) {
    for (let i = 0; i < j; i++) {
      let dot = 0;
      for (let r = 0; r < d; r++) dot += (m[r * l + i] as number) * (m[r * l + j] as number);
      for (let r = 0; r < d; r++) m[r * l + j] = (m[r * l + j] as number) - dot * (m[r * l + i] as number);
    }
    let norm = 0;
    for (let r = 0; r < d; r++) norm += (m[r * l + j] as number) ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let r = 0; r < d; r++) m[r * l + j] = (m[r * l + j] as number) / norm;
  }
}
