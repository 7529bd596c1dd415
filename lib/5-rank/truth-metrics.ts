import { fitLogisticL2 } from './baseline.js';

/**
 * Scores judged against true keep probabilities (a planted archive knows them): the soft AUC of a ranking, the
 * expected log-loss of calibrated probabilities, and the share of the attainable log-loss gain over a constant that
 * they recover.
 */

/**
 * The soft AUC of scores `s` against probabilities `p`: over ordered pairs i != j, the weight p_i (1 - p_j) of "i
 * kept, j not", summed where s_i > s_j (ties 1/2), divided by the sum of all the weights. With 0/1 probabilities it
 * is the ROC AUC. O(n log n): one sort by score, then a running sum of the (1 - p) below each tie group. NaN when
 * no pair has weight (every p 0, or every p 1), or when a score is NaN.
 */
export function softAuc(s: ArrayLike<number>, p: ArrayLike<number>): number {
  const n = s.length;
  if (p.length !== n) throw new RangeError(`softAuc: ${n} scores but ${p.length} probabilities`);
  // a score that is not a number ranks nowhere: the AUC is undefined (and NaN would never equal itself below)
  for (let i = 0; i < n; i++) if (Number.isNaN(s[i] as number)) return NaN;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (s[a] as number) - (s[b] as number));
  let below = 0; // sum of (1 - p_j) over scores strictly below the current group
  let good = 0;
  let sumP = 0;
  let sumQ = 0;
  let self = 0; // sum of p_i (1 - p_i): the i = j terms left out
  for (let k = 0; k < n;) {
    const v = s[order[k] as number] as number;
    let gp = 0;
    let gq = 0;
    let gself = 0;
    for (; k < n && s[order[k] as number] === v; k++) {
      const pi = p[order[k] as number] as number;
      gp += pi;
      gq += 1 - pi;
      gself += pi * (1 - pi);
    }
    // pairs with a lower score count whole; pairs inside the tie group (i != j) count half
    good += gp * below + 0.5 * (gp * gq - gself);
    below += gq;
    sumP += gp;
    sumQ += gq;
    self += gself;
  }
  const all = sumP * sumQ - self;
  return all > 0 ? good / all : NaN;
}

const EPS = 1e-12;

/** The expected log-loss of probabilities `q` when the truth is kept with probability `p`: -mean(p log q + ...). */
export function expectedLogLoss(q: ArrayLike<number>, p: ArrayLike<number>): number {
  const n = q.length;
  if (p.length !== n) throw new RangeError(`expectedLogLoss: ${n} predictions but ${p.length} probabilities`);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const qi = Math.min(1 - EPS, Math.max(EPS, q[i] as number));
    const pi = p[i] as number;
    sum -= pi * Math.log(qi) + (1 - pi) * Math.log(1 - qi);
  }
  return sum / Math.max(1, n);
}

/**
 * The share of the attainable gain that `q` recovers: (LL(constant) - LL(q)) / (LL(constant) - LL(p)), the
 * log-losses expected under `p`; 1 for the true probabilities, 0 for the constant, below 0 when worse than it.
 */
export function gainShare(q: ArrayLike<number>, p: ArrayLike<number>, constant: number): number {
  const c = new Array<number>(p.length).fill(constant);
  const lc = expectedLogLoss(c, p);
  return (lc - expectedLogLoss(q, p)) / (lc - expectedLogLoss(p, p));
}

/** Both figures of a set of frames: the soft AUC ratio and the gain share (the constant given, and mean p). */
export interface TruthFigures {
  frames: number;
  /** Sum of p: the expected keepers. */
  expectedKeepers: number;
  softAuc: number;
  softAucTruth: number;
  /** softAuc / softAucTruth: the share of the true probabilities' ranking quality reached. */
  softAucRatio: number;
  logLoss: number;
  logLossTruth: number;
  logLossConstant: number;
  /** Gain share against the constant given (the training keeper rate). */
  gainShare: number;
  /** Gain share against a constant at the mean of p. */
  gainShareMeanP: number;
  /**
   * Gain share of the best logistic curve over the ranking scores, fitted to p itself on these frames: what a Platt
   * calibration of this ranking could recover at most, so the rest of the gap lies in the ranking.
   */
  gainShareBestPlatt: number;
}

/** The logistic curve sigmoid(a s + b) of the lowest expected log-loss against `p` (soft targets, Newton). */
export function bestPlatt(s: ArrayLike<number>, p: ArrayLike<number>): { a: number; b: number } {
  const fit = fitLogisticL2(Float64Array.from(s as ArrayLike<number>), 1, p, 1e9, 100);
  return { a: fit.w[0] as number, b: fit.b };
}

/**
 * The figures of ranking scores `s` and calibrated probabilities `q` of some frames with true probabilities `p`;
 * `constant` is the constant a model must beat (the training keeper rate).
 */
export function truthFigures(
  s: ArrayLike<number>,
  q: ArrayLike<number>,
  p: ArrayLike<number>,
  constant: number,
): TruthFigures {
  const n = p.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += (p[i] as number) / n;
  const soft = softAuc(s, p);
  const truth = softAuc(p, p);
  const best = bestPlatt(s, p);
  const bestQ = Array.from(s as ArrayLike<number>, (v) => 1 / (1 + Math.exp(-(best.a * v + best.b))));
  return {
    frames: n,
    expectedKeepers: mean * n,
    softAuc: soft,
    softAucTruth: truth,
    softAucRatio: soft / truth,
    logLoss: expectedLogLoss(q, p),
    logLossTruth: expectedLogLoss(p, p),
    logLossConstant: expectedLogLoss(new Array<number>(n).fill(constant), p),
    gainShare: gainShare(q, p, constant),
    gainShareMeanP: gainShare(q, p, mean),
    gainShareBestPlatt: gainShare(bestQ, p, constant),
  };
}
