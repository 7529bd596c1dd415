/**
 * Motifs: the kinds of picture this photographer keeps. Keeper vectors are reduced by PCA, clustered by k-means
 * (ml-kmeans, seeded; k given or chosen by the mean silhouette over 2..kMax on a seeded subsample) and mapped to 2-D
 * by UMAP (umap-js, seeded). Each motif lists the keepers nearest its centre; cluster sizes by year and the keeper
 * rate per year show how his keeps drift over time.
 */
import { kmeans } from 'ml-kmeans';
import type { Db } from '../db/duckdb.js';
import { loadPhotoVectors } from '../7-curate/curate.js';
import type { VectorMatrix } from '../util/vectors.js';
import { checkInt, FluxError } from '../util/check.js';
import { Rng } from '../util/rng.js';
import { pca } from './pca.js';
import { umap2d } from './umap.js';

export interface MotifOptions {
  /** Embedding model id (default: the best with vectors; the pixel descriptor without one). */
  model?: string;
  /** Number of motifs; default: chosen by silhouette. */
  k?: number;
  kMax?: number;
  seed?: number;
  /** PCA dimensions before clustering and UMAP (default 50). */
  dims?: number;
  /** Keepers listed per motif, nearest its centre first (default 6). */
  nearest?: number;
  /** Skip the UMAP (clustering only). */
  skipUmap?: boolean;
}

export interface MotifPhoto {
  photoId: number;
  path: string;
  preview: string | null;
  capturedAt: string | null;
  distance: number;
}

export interface MotifMap {
  modelId: string;
  seed: number;
  k: number;
  kChoice: { criterion: string; scores: Array<{ k: number; silhouette: number }> };
  ids: number[];
  cluster: number[];
  xy: Array<[number, number]>;
  paths: string[];
  previews: Array<string | null>;
  years: Array<number | null>;
  motifs: Array<{ cluster: number; size: number; nearest: MotifPhoto[] }>;
  byYear: Array<{ year: number; cluster: number; keepers: number }>;
  drift: Array<{ year: number; photos: number; keepers: number; rate: number }>;
  explained: number;
  seconds: { pca: number; kmeans: number; umap: number };
}

const rowsOf = (m: VectorMatrix, idx?: readonly number[]): number[][] =>
  (idx ?? Array.from({ length: m.rows }, (_, i) => i)).map((i) =>
    Array.from(m.data.subarray(i * m.dim, (i + 1) * m.dim)),
  );

const dist2 = (a: readonly number[], b: readonly number[]): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return s;
};

/** Mean silhouette of a clustering (euclidean). */
export function silhouette(points: readonly number[][], labels: readonly number[]): number {
  const k = Math.max(...labels) + 1;
  let total = 0;
  for (let i = 0; i < points.length; i++) {
    const sums = new Array<number>(k).fill(0);
    const counts = new Array<number>(k).fill(0);
    for (let j = 0; j < points.length; j++) {
      if (i === j) continue;
      sums[labels[j] as number] =
        (sums[labels[j] as number] as number) + Math.sqrt(dist2(points[i] as number[], points[j] as number[]));
      counts[labels[j] as number] = (counts[labels[j] as number] as number) + 1;
    }
    const own = labels[i] as number;
    if ((counts[own] as number) === 0) continue;
    const a = (sums[own] as number) / (counts[own] as number);
    let b = Infinity;
    for (let c = 0; c < k; c++)
      if (c !== own && (counts[c] as number) > 0) b = Math.min(b, (sums[c] as number) / (counts[c] as number));
    total += Number.isFinite(b) ? (b - a) / Math.max(a, b) : 0;
  }
  return total / points.length;
}

/** Clustering and map of a set of vectors: what `keeperMotifs` computes before it looks up the photos. */
export interface ClusterMap {
  k: number;
  kChoice: MotifMap['kChoice'];
  cluster: number[];
  centroids: number[][];
  /** PCA coordinates per row. */
  points: number[][];
  xy: Array<[number, number]>;
  explained: number;
  seconds: MotifMap['seconds'];
}

/**
 * How k was chosen, in words, with what the best silhouette says about the structure (Kaufman and Rousseeuw's
 * reading: below 0.25 no substantial structure, to 0.5 weak, to 0.7 reasonable, above strong).
 */
export function silhouetteCriterion(
  scores: ReadonlyArray<{ k: number; silhouette: number }>,
  kMax: number,
  n: number,
): string {
  const best = scores.reduce<{ k: number; silhouette: number } | null>(
    (a, b) => (!a || b.silhouette > a.silhouette ? b : a),
    null,
  );
  const base = `mean silhouette over k = 2..${kMax}${n > 1500 ? ' (1,500-point subsample)' : ''}`;
  if (!best) return base;
  const s = best.silhouette;
  const reading =
    s < 0.25
      ? 'no substantial structure: the motifs overlap, read them as tendencies, not separate kinds of picture'
      : s < 0.5
        ? 'weak structure'
        : s < 0.7
          ? 'reasonable structure'
          : 'strong structure';
  return `${base}; best ${s.toFixed(2)} at k = ${best.k}, ${reading}`;
}

/** PCA, k-means (k given or by silhouette) and UMAP of the rows of a matrix, all seeded. */
export async function clusterAndMap(
  matrix: VectorMatrix,
  options: Omit<MotifOptions, 'model' | 'nearest'> = {},
): Promise<ClusterMap> {
  const seed = checkInt('--seed', options.seed ?? 7, 0, 0xffffffff);
  const kMax = checkInt('--k-max', options.kMax ?? 8, 2, 50);
  const n = matrix.rows;
  const rng = new Rng(seed).fork('motifs');
  let t = performance.now();
  const reduced = await pca(matrix, Math.min(options.dims ?? 50, matrix.dim, n), seed);
  const pcaSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const points = rowsOf(reduced.projected);
  const scores: Array<{ k: number; silhouette: number }> = [];
  let k: number;
  if (options.k !== undefined) {
    k = checkInt('--k', options.k, 1, n);
  } else {
    const sub = rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, 1500);
    const subPoints = sub.map((i) => points[i] as number[]);
    for (let c = 2; c <= Math.min(kMax, n - 1); c++) {
      const r = kmeans(subPoints, c, { seed: seed + c, initialization: 'kmeans++', maxIterations: 100 });
      scores.push({ k: c, silhouette: silhouette(subPoints, r.clusters) });
    }
    k = scores.reduce((a, b) => (b.silhouette > a.silhouette ? b : a)).k;
  }
  const km = kmeans(points, k, { seed, initialization: 'kmeans++', maxIterations: 100 });
  const kmSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const xy = options.skipUmap
    ? points.map((p) => [p[0] ?? 0, p[1] ?? 0] as [number, number])
    : umap2d(reduced.projected, seed);
  return {
    k,
    kChoice:
      options.k !== undefined
        ? { criterion: 'given', scores }
        : { criterion: silhouetteCriterion(scores, kMax, n), scores },
    cluster: km.clusters,
    centroids: km.centroids,
    points,
    xy,
    explained: reduced.explained.reduce((x, y) => x + y, 0),
    seconds: { pca: pcaSeconds, kmeans: kmSeconds, umap: (performance.now() - t) / 1000 },
  };
}

/** Clusters, maps and describes the keepers' motifs. */
export async function keeperMotifs(db: Db, options: MotifOptions = {}): Promise<MotifMap> {
  const seed = checkInt('--seed', options.seed ?? 7, 0, 0xffffffff);
  const input = await loadPhotoVectors(db, { model: options.model, keepersOnly: true });
  const n = input.ids.length;
  if (n < 4)
    throw new FluxError(`motifs: ${n} keepers with vectors; at least 4 are needed (run flux match and flux embed)`);
  const cm = await clusterAndMap(input.matrix, { ...options, seed });
  const { k, points } = cm;
  const km = { clusters: cm.cluster, centroids: cm.centroids };
  const info = new Map(
    (
      await db.all<{
        id: number;
        path: string;
        preview: string | null;
        captured: string | null;
        year: number | null;
      }>(`SELECT photo_id AS id, path, preview,
    CAST(captured_at AS VARCHAR) AS captured, year(captured_at) AS year FROM photos WHERE keeper`)
    ).map((r) => [r.id, r]),
  );
  const nearestN = options.nearest ?? 6;
  const motifs = Array.from({ length: k }, (_, c) => {
    const members = km.clusters.flatMap((cl, i) => (cl === c ? [i] : []));
    const centre = km.centroids[c] as number[];
    const nearest = members
      .map((i) => ({ i, d: Math.sqrt(dist2(points[i] as number[], centre)) }))
      .sort((a, b) => a.d - b.d)
      .slice(0, nearestN)
      .map(({ i, d }) => {
        const p = info.get(input.ids[i] as number);
        return {
          photoId: input.ids[i] as number,
          path: p?.path ?? '',
          preview: p?.preview ?? null,
          capturedAt: p?.captured ?? null,
          distance: d,
        };
      });
    return { cluster: c, size: members.length, nearest };
  });
  const years = input.ids.map((id) => info.get(id)?.year ?? null);
  const counts = new Map<string, number>();
  years.forEach((y, i) => {
    if (y !== null) counts.set(`${y}:${km.clusters[i]}`, (counts.get(`${y}:${km.clusters[i]}`) ?? 0) + 1);
  });
  const byYear = [...counts.entries()]
    .map(([key, keepers]) => ({ year: Number(key.split(':')[0]), cluster: Number(key.split(':')[1]), keepers }))
    .sort((a, b) => a.year - b.year || a.cluster - b.cluster);
  const drift = await db.all<{
    year: number;
    photos: number;
    keepers: number;
    rate: number;
  }>(`SELECT year(captured_at) AS year, count(*) AS photos,
    count(*) FILTER (WHERE keeper) AS keepers, count(*) FILTER (WHERE keeper) / count(*) AS rate FROM photos WHERE
    captured_at IS NOT NULL GROUP BY 1 ORDER BY 1`);
  return {
    modelId: input.modelId,
    seed,
    k,
    kChoice: cm.kChoice,
    ids: input.ids,
    cluster: km.clusters,
    xy: cm.xy,
    paths: input.ids.map((id) => info.get(id)?.path ?? ''),
    previews: input.ids.map((id) => info.get(id)?.preview ?? null),
    years,
    motifs,
    byYear,
    drift,
    explained: cm.explained,
    seconds: cm.seconds,
  };
}
