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
