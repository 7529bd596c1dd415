/**
 * A seeded 2-D UMAP of unit vectors (umap-js), for motif maps and the curator's overlay.
 */
import { UMAP } from 'umap-js';
import { Rng } from '../util/rng.js';
import type { VectorMatrix } from '../util/vectors.js';

/** 2-D coordinates of every row; the same seed gives the same map. */
export function umap2d(m: VectorMatrix, seed: number, nNeighbors = 15): Array<[number, number]> {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  for (let i = 0; i < m.rows; i++) rows.push(Array.from(m.data.subarray(i * m.dim, (i + 1) * m.dim)));
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.max(2, Math.min(nNeighbors, m.rows - 1)),
    minDist: 0.1,
    random: () => rng.next(),
  });
  return umap.fit(rows).map((p) => [p[0] as number, p[1] as number]);
}
