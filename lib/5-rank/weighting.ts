/**
 * What a training row weighs, and which non-keepers count as a keeper's near misses.
 *
 * Near misses are the frames the photographer saw beside a keeper and did not keep. Where they are depends on the
 * setting `near`:
 *
 * - `walk`: every non-keeper of the keeper's walk (its capture day);
 * - `burst`: the non-keepers of the walk shot within 30 s of the keeper (the same burst or scene);
 * - `hour`: the non-keepers of the walk shot within half an hour either side of the keeper;
 * - `visual`: the 5 non-keepers of the walk nearest the keeper by cosine on the vector columns (all columns when the
 *   row has no vector), whatever their time.
 *
 * A keeper without near misses of the kind (no capture time, a lone frame) draws its negatives from all rows.
 *
 * Recency: with a half-life of h years, a training row of a walk a years before the latest training walk weighs
 * 0.5^(a / h) (preference drifts; later keepers say more about today's taste).
 */
import { isDecisionSession } from '../4-dataset/rows.js';

export const NEAR_KINDS = ['walk', 'burst', 'hour', 'visual'] as const;
export type NearKind = (typeof NEAR_KINDS)[number];

/** Seconds either side of a keeper for a burst and for an hour; neighbours of the visual kind. */
export const NEAR_SPAN = { burst: 30, hour: 1800, visual: 5 } as const;

/** What finding near misses needs of the (standardised) training data. */
export interface NearData {
  x: Float32Array;
  dim: number;
  y: ArrayLike<number>;
  session: ArrayLike<number>;
  train: readonly number[];
  /** Capture time in seconds, NaN when unknown. */
  time?: ArrayLike<number>;
  /** Leading columns that hold the image vector (cosine of the visual kind); default every column. */
  vectorDim?: number;
}

/** Per training row, the training non-keepers of its walk (the `walk` kind, and the pool the others filter). */
function negativesByWalk(d: NearData): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const r of d.train) {
    if (d.y[r]) continue;
    const s = d.session[r] as number;
    const g = out.get(s);
    if (g) g.push(r);
    else out.set(s, [r]);
  }
  return out;
}

/** Cosine similarity of rows a and b over the first `cols` columns. */
function cosine(x: Float32Array, dim: number, cols: number, a: number, b: number): number {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let j = 0; j < cols; j++) {
    const u = x[a * dim + j] as number;
    const v = x[b * dim + j] as number;
    ab += u * v;
    aa += u * u;
    bb += v * v;
  }
  return ab / (Math.sqrt(aa * bb) || 1);
}

/**
 * Each training keeper's near misses of the kind (training rows, ascending); a keeper with none is left out of the
 * map. The `walk` kind is every non-keeper of the walk.
 */
export function nearMisses(d: NearData, kind: NearKind): Map<number, number[]> {
  const byWalk = negativesByWalk(d);
  const out = new Map<number, number[]>();
  const cols = Math.min(d.dim, d.vectorDim ?? d.dim);
  for (const k of d.train) {
    if (!d.y[k]) continue;
    const walk = byWalk.get(d.session[k] as number) ?? [];
    let pool: number[];
    if (kind === 'walk') pool = walk;
    else if (kind === 'visual') {
      pool = walk
        .map((r) => [r, cosine(d.x, d.dim, cols, k, r)] as const)
        .sort((a, b) => b[1] - a[1] || a[0] - b[0])
        .slice(0, NEAR_SPAN.visual)
        .map(([r]) => r)
        .sort((a, b) => a - b);
    } else {
      const tk = d.time ? (d.time[k] as number) : NaN;
      const span = NEAR_SPAN[kind];
      pool = Number.isFinite(tk) ? walk.filter((r) => Math.abs((d.time?.[r] as number) - tk) <= span) : [];
    }
    if (pool.length) out.set(k, pool);
  }
  return out;
}

/** The day of a walk name (`2024-05-01` or `inbox:2024-05-01`) in days since 1970, NaN when undated. */
function walkDay(name: string): number {
  const date = isDecisionSession(name) ? name.slice('inbox:'.length) : name;
  const t = Date.parse(`${date.slice(0, 10)}T00:00:00Z`);
  return Number.isFinite(t) ? t / 86_400_000 : NaN;
}

/**
 * Recency weights of the rows: 0.5^(age / halfLife), the age in years from the row's walk to the latest walk among
 * `train` (undated rows weigh 1); `base` (the review decisions' weights) is multiplied in. A half-life of 0: `base`.
 */
export function recencyWeights(
  d: { session: ArrayLike<number>; sessions: readonly string[]; weight?: Float32Array },
  train: readonly number[],
  halfLife: number,
): Float32Array | undefined {
  if (!(halfLife > 0)) return d.weight;
  const days = d.sessions.map(walkDay);
  let latest = -Infinity;
  for (const r of train) {
    const day = days[d.session[r] as number] as number;
    if (Number.isFinite(day)) latest = Math.max(latest, day);
  }
  const out = new Float32Array(d.session.length);
  for (let r = 0; r < out.length; r++) {
    const day = days[d.session[r] as number] as number;
    const age = Number.isFinite(day) && Number.isFinite(latest) ? Math.max(0, (latest - day) / 365.25) : 0;
    out[r] = Math.pow(0.5, age / halfLife) * (d.weight ? (d.weight[r] as number) : 1);
  }
  return out;
}
