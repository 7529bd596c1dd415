/**
 * Ranking and calibration metrics, with session-level bootstrap intervals (frames of one walk are not independent,
 * so resampling is by session).
 */
import { Rng } from '../util/rng.js';

/**
 * Average precision: the mean of the precision at each keeper's rank (ties broken pessimistically). Chance = keeper
 * rate.
 */
export function averagePrecision(scores: ArrayLike<number>, y: ArrayLike<number>): number {
  const order = rankOrder(scores, y);
  let hits = 0;
  let sum = 0;
  order.forEach((i, r) => {
    if (y[i]) {
      hits++;
      sum += hits / (r + 1);
    }
  });
  return hits ? sum / hits : NaN;
}

/** Indices by score, highest first; among equal scores non-keepers first (no credit for ties). */
export function rankOrder(scores: ArrayLike<number>, y: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number) || (y[a] as number) - (y[b] as number),
  );
}

/** ROC AUC by the rank-sum statistic (ties count one half). */
export function rocAuc(scores: ArrayLike<number>, y: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  let rankSum = 0;
  let pos = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1] as number] === scores[idx[i] as number]) j++;
    const mid = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (y[idx[k] as number]) {
        rankSum += mid;
        pos++;
      }
    i = j + 1;
  }
  const neg = idx.length - pos;
  return pos && neg ? (rankSum - (pos * (pos + 1)) / 2) / (pos * neg) : NaN;
}

/** Precision among the k highest scores. */
export function precisionAt(scores: ArrayLike<number>, y: ArrayLike<number>, k: number): number {
  const order = rankOrder(scores, y);
  const n = Math.min(k, order.length);
  let hits = 0;
  for (let r = 0; r < n; r++) hits += y[order[r] as number] as number;
  return n ? hits / n : NaN;
}

/** Precision when the photographer reviews the top `fraction` of the photos (a review budget). */
export const precisionAtBudget = (scores: ArrayLike<number>, y: ArrayLike<number>, fraction: number): number =>
  precisionAt(scores, y, Math.max(1, Math.ceil(fraction * scores.length)));

/** Groups row indices by session. */
function bySession(session: ArrayLike<number>): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (let i = 0; i < session.length; i++) {
    const s = session[i] as number;
    const g = m.get(s);
    if (g) g.push(i);
    else m.set(s, [i]);
  }
  return m;
}

/** Share of (keeper, non-keeper of the same session) pairs the scores order right (ties one half). */
export function withinSessionPairAccuracy(
  scores: ArrayLike<number>,
  y: ArrayLike<number>,
  session: ArrayLike<number>,
): number {
  let right = 0;
  let pairs = 0;
  for (const rows of bySession(session).values()) {
    const pos = rows.filter((i) => y[i]);
    const neg = rows.filter((i) => !y[i]);
    for (const p of pos) {
      for (const n of neg) {
        const d = (scores[p] as number) - (scores[n] as number);
        right += d > 0 ? 1 : d === 0 ? 0.5 : 0;
        pairs++;
      }
    }
  }
  return pairs ? right / pairs : NaN;
}

/** Mean NDCG over the sessions that have a keeper, ranking each session's frames by score (binary gains). */
export function ndcgPerSession(scores: ArrayLike<number>, y: ArrayLike<number>, session: ArrayLike<number>): number {
  let sum = 0;
  let count = 0;
  for (const rows of bySession(session).values()) {
    const k = rows.filter((i) => y[i]).length;
    if (!k) continue;
    const order = rankOrder(
      rows.map((i) => scores[i] as number),
      rows.map((i) => y[i] as number),
    );
    let dcg = 0;
    order.forEach((o, r) => {
      if (y[rows[o] as number]) dcg += 1 / Math.log2(r + 2);
    });
    let ideal = 0;
    for (let r = 0; r < k; r++) ideal += 1 / Math.log2(r + 2);
    sum += dcg / ideal;
    count++;
  }
  return count ? sum / count : NaN;
}

/** One reliability bin: mean predicted probability against the observed keeper rate. */
export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  meanScore: number;
  keeperRate: number;
}

/** Equal-width reliability bins over [0, 1]. */
export function reliability(prob: ArrayLike<number>, y: ArrayLike<number>, bins = 10): ReliabilityBin[] {
  const out = Array.from({ length: bins }, (_, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: 0,
    meanScore: 0,
    keeperRate: 0,
  }));
  for (let i = 0; i < prob.length; i++) {
    const p = prob[i] as number;
    const bin = out[Math.min(bins - 1, Math.floor(p * bins))] as ReliabilityBin;
    bin.count++;
    bin.meanScore += p;
    bin.keeperRate += y[i] as number;
  }
  for (const b of out)
    if (b.count) {
      b.meanScore /= b.count;
      b.keeperRate /= b.count;
    }
  return out;
}

/** Expected calibration error: the count-weighted gap between mean score and keeper rate over the bins. */
export function ece(prob: ArrayLike<number>, y: ArrayLike<number>, bins = 10): number {
  const r = reliability(prob, y, bins);
  return r.reduce((s, b) => s + (b.count / prob.length) * Math.abs(b.meanScore - b.keeperRate), 0);
}

/** Mean negative log-likelihood of probabilities (clamped away from 0 and 1). */
export function logLoss(prob: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < prob.length; i++) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, prob[i] as number));
    s -= y[i] ? Math.log(p) : Math.log(1 - p);
  }
  return s / prob.length;
}

/** A value with its bootstrap 95% interval. */
export interface Estimate {
  value: number;
  lo: number;
  hi: number;
}

export const METRIC_NAMES = [
  'ap',
  'auc',
  'p_at_36',
  'p_at_1pct',
  'p_at_5pct',
  'session_pair_acc',
  'session_ndcg',
  'ece',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
export type Metrics = Record<MetricName, Estimate>;

/** Every metric on one set of rows. `prob` (calibrated scores) gives the ECE; without it the ECE is NaN. */
export function pointMetrics(
  scores: ArrayLike<number>,
  y: ArrayLike<number>,
  session: ArrayLike<number>,
  prob?: ArrayLike<number>,
): Record<MetricName, number> {
  return {
    ap: averagePrecision(scores, y),
    auc: rocAuc(scores, y),
    p_at_36: precisionAt(scores, y, 36),
    p_at_1pct: precisionAtBudget(scores, y, 0.01),
    p_at_5pct: precisionAtBudget(scores, y, 0.05),
    session_pair_acc: withinSessionPairAccuracy(scores, y, session),
    session_ndcg: ndcgPerSession(scores, y, session),
    ece: prob ? ece(prob, y) : NaN,
  };
}

/**
 * Metrics with percentile intervals from `resamples` session bootstrap draws (seeded): whole sessions are drawn with
 * replacement and renumbered, so a session drawn twice counts as two walks.
 */
export function evaluate(
  scores: ArrayLike<number>,
  y: ArrayLike<number>,
  session: ArrayLike<number>,
  options: { prob?: ArrayLike<number>; resamples?: number; seed?: number } = {},
): Metrics {
  const point = pointMetrics(scores, y, session, options.prob);
  const draws: Record<MetricName, number[]> = Object.fromEntries(METRIC_NAMES.map((m) => [m, []])) as unknown as Record<
    MetricName,
    number[]
  >;
  const pick = (src: ArrayLike<number>, rows: readonly number[]): number[] => rows.map((i) => src[i] as number);
  for (const { rows, walk } of sessionResamples(
    session,
    options.resamples ?? 200,
    new Rng(options.seed ?? 7).fork('bootstrap'),
  )) {
    const m = pointMetrics(
      pick(scores, rows),
      pick(y, rows),
      walk,
      options.prob ? pick(options.prob, rows) : undefined,
    );
    for (const k of METRIC_NAMES) if (Number.isFinite(m[k])) draws[k].push(m[k]);
  }
  const out = {} as Metrics;
  for (const k of METRIC_NAMES) out[k] = { value: point[k], ...percentileInterval(draws[k]) };
  return out;
}

/**
 * Session-bootstrap draws: each draw picks as many walks as there are, with replacement, and lists their rows;
 * `walk` numbers the picks, so a walk picked twice counts as two walks.
 */
function* sessionResamples(
  session: ArrayLike<number>,
  resamples: number,
  rng: Rng,
): Generator<{ rows: number[]; walk: number[] }> {
  const groups = [...bySession(session).values()];
  // one walk drawn again and again is that walk every time: no spread to read, so no draws and no interval
  if (groups.length < 2) return;
  for (let b = 0; b < resamples; b++) {
    const rows: number[] = [];
    const walk: number[] = [];
    for (let g = 0; g < groups.length; g++) {
      for (const i of groups[rng.int(0, groups.length - 1)] as number[]) {
        rows.push(i);
        walk.push(g);
      }
    }
    yield { rows, walk };
  }
}

/**
 * The 2.5% and 97.5% points of bootstrap draws (NaN without draws), interpolated between the sorted draws (the usual
 * definition, as R's and numpy's defaults): the two tails are alike, 5 of 200 draws beyond each end.
 */
export function percentileInterval(draws: readonly number[]): { lo: number; hi: number } {
  const d = [...draws].sort((a, b) => a - b);
  const q = (p: number): number => {
    if (!d.length) return NaN;
    const h = (d.length - 1) * p;
    const i = Math.floor(h);
    const a = d[i] as number;
    return i + 1 < d.length ? a + (h - i) * ((d[i + 1] as number) - a) : a;
  };
  return { lo: q(0.025), hi: q(0.975) };
}

/**
 * The AP of scores `a` minus the AP of scores `b` on the same photos, with a paired session-bootstrap 95% interval:
 * both models are scored on the same resampled walks, so the interval is about their difference, much narrower than
 * two separate intervals would suggest when the models agree on which walks are easy.
 */
export function pairedApDifference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  y: ArrayLike<number>,
  session: ArrayLike<number>,
  options: { resamples?: number; seed?: number } = {},
): Estimate {
  if (a.length !== b.length || a.length !== y.length)
    throw new RangeError('pairedApDifference: scores and labels must have the same length');
  const value = averagePrecision(a, y) - averagePrecision(b, y);
  const draws: number[] = [];
  for (const { rows } of sessionResamples(
    session,
    options.resamples ?? 200,
    new Rng(options.seed ?? 7).fork('paired-bootstrap'),
  )) {
    const yy = rows.map((i) => y[i] as number);
    if (!yy.some(Boolean)) continue;
    draws.push(
      averagePrecision(
        rows.map((i) => a[i] as number),
        yy,
      ) -
        averagePrecision(
          rows.map((i) => b[i] as number),
          yy,
        ),
    );
  }
  return { value, ...percentileInterval(draws) };
}
