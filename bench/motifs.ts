/**
 * Motif map benchmark: PCA to 50 dimensions, k-means with k chosen by silhouette (2..8) and a seeded UMAP, the same
 * code as `keeperMotifs`, on 15,000 synthetic keeper vectors of the real width (1,280-d unit vectors around 6 motif
 * centres). Target: k-means and UMAP together under 2 minutes on two cores.
 *
 *   npm run build && node dist/bench/motifs.js [--rows 15000] [--dim 1280]
 */
import { parseArgs } from 'node:util';
import { clusterAndMap } from '../lib/8-analysis/motifs.js';
import { unitRows } from '../lib/util/vectors.js';
import { Rng } from '../lib/util/rng.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '15000' }, dim: { type: 'string', default: '1280' } },
});
const N = Number(values.rows);
const D = Number(values.dim);
const rng = new Rng(11);
const centres = Array.from({ length: 6 }, () => Float32Array.from({ length: D }, () => rng.normal()));
const data = new Float32Array(N * D);
const truth: number[] = [];
for (let i = 0; i < N; i++) {
  const c = rng.int(0, 5);
  truth.push(c);
  const centre = centres[c] as Float32Array;
  for (let j = 0; j < D; j++) data[i * D + j] = (centre[j] as number) * 0.6 + rng.normal();
}
const matrix = unitRows({ data, rows: N, dim: D });
const t0 = performance.now();
const r = await clusterAndMap(matrix, { seed: 7 });
const total = (performance.now() - t0) / 1000;
// agreement with the planted motifs: the share of rows whose cluster's majority motif is their own
const majority = new Map<number, Map<number, number>>();
r.cluster.forEach((c, i) => {
  const m = majority.get(c) ?? new Map<number, number>();
  m.set(truth[i] as number, (m.get(truth[i] as number) ?? 0) + 1);
  majority.set(c, m);
});
let agree = 0;
for (const m of majority.values()) agree += Math.max(...m.values());
console.log(`motif benchmark: ${N} vectors of ${D} dimensions, 6 planted motifs`);
console.log('| step | seconds |');
console.log('|---|---|');
console.log(`| PCA to 50 dimensions | ${r.seconds.pca.toFixed(1)} |`);
console.log(`| k-means: k by silhouette over 2..8 on 1,500, then all rows | ${r.seconds.kmeans.toFixed(1)} |`);
console.log(`| UMAP (umap-js, seeded) | ${r.seconds.umap.toFixed(1)} |`);
console.log(`| **k-means + UMAP** | **${(r.seconds.kmeans + r.seconds.umap).toFixed(1)}** (target < 120) |`);
console.log(`| all, PCA included | ${total.toFixed(1)} |`);
console.log(
  `\nk chosen: ${r.k} (${r.kChoice.scores.map((s) => `${s.k}: ${s.silhouette.toFixed(3)}`).join(', ')}); purity against the planted motifs ${(agree / N).toFixed(3)}`,
);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
