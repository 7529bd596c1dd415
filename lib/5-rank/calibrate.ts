/**
 * From raw ranker scores to a keeper probability: Platt scaling (a logistic curve) or isotonic regression
 * (monotone, piecewise linear between the pooled blocks), fitted on the validation split at the natural keeper
 * rate. The method is chosen by cross-validated log-loss over validation sessions, so the more flexible isotonic
 * curve does not win by memorising the validation photos.
 */
import { logLoss } from './metrics.js';
import { Rng } from '../util/rng.js';

export type Calibration =
  | { method: 'platt'; a: number; b: number }
  /** Knots sorted by x; the probability is linear between knots and flat outside. */
  | { method: 'isotonic'; x: number[]; y: number[] };

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Platt scaling by Newton's method with step halving, on Platt's smoothed targets. */
export function fitPlatt(s: ArrayLike<number>, y: ArrayLike<number>): Calibration {
  const n = s.length;
  let pos = 0;
  for (let i = 0; i < n; i++) pos += y[i] as number;
  const tPos = (pos + 1) / (pos + 2);
  const tNeg = 1 / (n - pos + 2);
  const loss = (a: number, b: number): number => {
    let l = 0;
    for (let i = 0; i < n; i++) {
      const z = a * (s[i] as number) + b;
      const t = y[i] ? tPos : tNeg;
      // log(1 + e^z) - t z, computed stably
      l += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - t * z;
    }
    return l;
  };
  let a = 1;
  let b = 0;
  let current = loss(a, b);
  for (let it = 0; it < 100; it++) {
    let ga = 0,
      gb = 0,
      haa = 1e-9,
      hab = 0,
      hbb = 1e-9;
    for (let i = 0; i < n; i++) {
      const x = s[i] as number;
      const p = sigmoid(a * x + b);
      const t = y[i] ? tPos : tNeg;
      const w = p * (1 - p);
      ga += (p - t) * x;
      gb += p - t;
      haa += w * x * x;
      hab += w * x;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (Math.abs(det) < 1e-18) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    let step = 1;
    let next = loss(a - da, b - db);
    while (next > current && step > 1e-6) {
      step /= 2;
      next = loss(a - step * da, b - step * db);
    }
    if (next > current) break;
    a -= step * da;
    b -= step * db;
    const gain = current - next;
    current = next;
    if (gain < 1e-12 * Math.max(1, Math.abs(current))) break;
  }
  return { method: 'platt', a, b };
}

/**
 * Isotonic regression by pool-adjacent-violators; knots at the blocks' mean scores, rates lightly smoothed. Tied
 * scores start as one block, so the curve depends on the (score, label) pairs alone, never on their order.
 */
export function fitIsotonic(s: ArrayLike<number>, y: ArrayLike<number>): Calibration {
  // a score that is not a number has no place on the curve
  const idx = Array.from({ length: s.length }, (_, i) => i)
    .filter((i) => Number.isFinite(s[i]))
    .sort((i, j) => (s[i] as number) - (s[j] as number));
  const blocks: Array<{ sx: number; sy: number; n: number }> = [];
  for (let k = 0; k < idx.length;) {
    // every row tied at this score enters together
    const v = s[idx[k] as number] as number;
    const b = { sx: 0, sy: 0, n: 0 };
    for (; k < idx.length && s[idx[k] as number] === v; k++) {
      b.sx += v;
      b.sy += y[idx[k] as number] as number;
      b.n++;
    }
    blocks.push(b);
    while (blocks.length > 1) {
      const last = blocks[blocks.length - 1] as { sx: number; sy: number; n: number };
      const prev = blocks[blocks.length - 2] as { sx: number; sy: number; n: number };
      if (prev.sy / prev.n < last.sy / last.n) break;
      blocks.pop();
      prev.sx += last.sx;
      prev.sy += last.sy;
      prev.n += last.n;
    }
  }
  const x = blocks.map((b) => b.sx / b.n);
  const yy = blocks.map((b) => b.sy / b.n);
  const n = blocks.map((b) => b.n);
  // each block's rate is shrunk by one pseudo-photo at the overall keeper rate, so no probability is exactly 0 or 1
  // (a block of 30 non-keepers does not prove the next photo there can never be kept); then kept non-decreasing
  const total = n.reduce((a, b) => a + b, 0);
  const rate = yy.reduce((a, v, i) => a + v * (n[i] as number), 0) / Math.max(1, total);
  let floor = 0;
  const smoothed = yy.map((v, i) => (floor = Math.max(floor, (v * (n[i] as number) + rate) / ((n[i] as number) + 1))));
  return { method: 'isotonic', x, y: smoothed };
}

/** The probability for one raw score. */
export function applyCalibration(c: Calibration, s: number): number {
  if (c.method === 'platt') return sigmoid(c.a * s + c.b);
  const { x, y } = c;
  if (s <= (x[0] as number)) return y[0] as number;
  if (s >= (x[x.length - 1] as number)) return y[y.length - 1] as number;
  let lo = 0;
  let hi = x.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((x[mid] as number) <= s) lo = mid;
    else hi = mid;
  }
  const x0 = x[lo] as number,
    x1 = x[hi] as number;
  return (y[lo] as number) + ((y[hi] as number) - (y[lo] as number)) * (x1 > x0 ? (s - x0) / (x1 - x0) : 0);
}

export const calibrateAll = (c: Calibration, s: ArrayLike<number>): Float64Array =>
  Float64Array.from(s as ArrayLike<number>, (v) => applyCalibration(c, v));

export interface CalibrationChoice {
  calibration: Calibration;
  /** Cross-validated log-loss of each method on the scores it was fitted on. */
  cvLogLoss: { platt: number; isotonic: number };
  folds: number;
  /** What it was fitted on, in words (absent: the validation walks' scores). */
  source?: string;
}

/**
 * A calibration fitted on standardised scores z = (raw - mean) / sd, moved onto the raw scale: the same
 * probability for every raw score.
 */
export function onRawScale(c: Calibration, mean: number, sd: number): Calibration {
  if (c.method === 'platt') return { method: 'platt', a: c.a / sd, b: c.b - (c.a * mean) / sd };
  return { method: 'isotonic', x: c.x.map((v) => v * sd + mean), y: [...c.y] };
}

/**
 * Fits both methods; keeps the one with the lower log-loss over `folds` session folds of the rows (fit on the other
 * folds, score the held-out one), then refits it on all rows. With `isotonicMargin` isotonic must win clearly: its
 * log-loss must lie below Platt's by that share (0.02: 2%), else the two-parameter curve is kept.
 */
export function chooseCalibration(
  s: ArrayLike<number>,
  y: ArrayLike<number>,
  session: ArrayLike<number>,
  options: { folds?: number; seed?: number; isotonicMargin?: number } = {},
): CalibrationChoice {
  const sessions = [...new Set(Array.from(session as ArrayLike<number>))];
  const folds = Math.max(2, Math.min(options.folds ?? 5, sessions.length));
  const order = new Rng(options.seed ?? 7).fork('calibration-folds').shuffle(sessions);
  const foldOf = new Map(order.map((sess, i) => [sess, i % folds]));
  const held: Record<'platt' | 'isotonic', number[]> = { platt: [], isotonic: [] };
  const heldY: number[] = [];
  for (let f = 0; f < folds; f++) {
    const tr: number[] = [];
    const te: number[] = [];
    for (let i = 0; i < s.length; i++) (foldOf.get(session[i] as number) === f ? te : tr).push(i);
    if (!te.length || !tr.length) continue;
    const ts = tr.map((i) => s[i] as number),
      ty = tr.map((i) => y[i] as number);
    const platt = fitPlatt(ts, ty),
      iso = fitIsotonic(ts, ty);
    for (const i of te) {
      held.platt.push(applyCalibration(platt, s[i] as number));
      held.isotonic.push(applyCalibration(iso, s[i] as number));
      heldY.push(y[i] as number);
    }
  }
  const cvLogLoss = { platt: logLoss(held.platt, heldY), isotonic: logLoss(held.isotonic, heldY) };
  const margin = options.isotonicMargin ?? 0;
  const calibration = cvLogLoss.isotonic < cvLogLoss.platt * (1 - margin) ? fitIsotonic(s, y) : fitPlatt(s, y);
  return { calibration, cvLogLoss, folds };
}

/** Score bands the photographer sees. */
export type Band = 'keeper' | 'review' | 'uncertain' | 'unlikely' | 'failure';

export const BAND_LABELS: Record<Band, string> = {
  keeper: 'confirmed keeper',
  review: 'review recommended (>= 0.8)',
  uncertain: 'uncertain (0.5-0.8)',
  unlikely: 'probable non-keeper (< 0.5)',
  failure: 'technical failure',
};

export function bandOf(score: number): Band {
  return score >= 0.8 ? 'review' : score >= 0.5 ? 'uncertain' : 'unlikely';
}

/** One point of the surfacing trade-off: surface every photo scoring at least `threshold`. */
export interface TradeoffPoint {
  threshold: number;
  surfaced: number;
  budget: number;
  precision: number;
  recall: number;
}

/** Precision, recall and review budget for every distinct threshold (highest first). */
export function tradeoff(prob: ArrayLike<number>, y: ArrayLike<number>): TradeoffPoint[] {
  const idx = Array.from({ length: prob.length }, (_, i) => i).sort(
    (a, b) => (prob[b] as number) - (prob[a] as number),
  );
  let total = 0;
  for (let i = 0; i < y.length; i++) total += y[i] as number;
  const out: TradeoffPoint[] = [];
  let hits = 0;
  idx.forEach((i, r) => {
    hits += y[i] as number;
    const next = idx[r + 1];
    if (next !== undefined && prob[next] === prob[i]) return;
    out.push({
      threshold: prob[i] as number,
      surfaced: r + 1,
      budget: (r + 1) / prob.length,
      precision: hits / (r + 1),
      recall: total ? hits / total : NaN,
    });
  });
  return out;
}

/**
 * The auto-surface threshold: the lowest threshold whose precision still reaches `targetPrecision` (most keepers
 * found at that precision), or the threshold that fills a review budget (a share of the photos).
 */
export function chooseThreshold(
  prob: ArrayLike<number>,
  y: ArrayLike<number>,
  rule: { targetPrecision: number } | { budget: number },
): TradeoffPoint | null {
  const curve = tradeoff(prob, y);
  if ('budget' in rule) return [...curve].reverse().find((p) => p.budget <= rule.budget) ?? null;
  let best: TradeoffPoint | null = null;
  for (const p of curve) if (p.precision >= rule.targetPrecision) best = p;
  return best;
}

/** What surfacing every photo scoring at least `t` does on held-out rows. */
export function atThreshold(
  prob: ArrayLike<number>,
  y: ArrayLike<number>,
  t: number,
): { surfaced: number; budget: number; precision: number | null; recall: number | null } {
  let surfaced = 0,
    hits = 0,
    keepers = 0;
  for (let i = 0; i < prob.length; i++) {
    keepers += y[i] as number;
    if ((prob[i] as number) >= t) {
      surfaced++;
      hits += y[i] as number;
    }
  }
  return {
    surfaced,
    budget: surfaced / Math.max(1, prob.length),
    precision: surfaced ? hits / surfaced : null,
    recall: keepers ? hits / keepers : null,
  };
}
