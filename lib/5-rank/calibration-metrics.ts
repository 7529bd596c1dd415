/**
 * Calibration measured at a low base rate, on held-out photos: log-loss and Brier score (with a constant at the base
 * rate for reference), the calibration slope and intercept (y regressed on the logit of the probability: 1 and 0
 * when calibrated), reliability in equal-mass bins, each band's keep rate, and the auto-surface threshold as
 * precision and review load per 1,000 new photos.
 */
import { bandOf } from './calibrate.js';
import { fitLogisticL2 } from './baseline.js';
import { logLoss } from './metrics.js';

export interface CalibrationMetrics {
  photos: number;
  keepers: number;
  baseRate: number;
  logLoss: number;
  /** Log-loss of the constant base rate; the share of it the model gains is 1 - logLoss / logLossConstant. */
  logLossConstant: number;
  brier: number;
  brierConstant: number;
  slope: number;
  intercept: number;
  /** Ten bins of (nearly) equal counts by probability: mean probability against the observed keep rate. */
  reliability: Array<{ count: number; meanScore: number; keeperRate: number }>;
  /** Per band (review >= 0.8, uncertain 0.5-0.8, unlikely < 0.5): photos, keepers, the observed keep rate. */
  bands: Array<{ band: string; photos: number; keepers: number; keepRate: number }>;
  /** At the threshold: photos surfaced per 1,000, the precision and recall among them. */
  threshold: { value: number; perThousand: number; precision: number | null; recall: number | null } | null;
}

/** The calibration metrics of probabilities `prob` of held-out photos with labels `y`. */
export function calibrationMetrics(
  prob: ArrayLike<number>,
  y: ArrayLike<number>,
  threshold: number | null,
  bins = 10,
): CalibrationMetrics {
  const n = prob.length;
  let keepers = 0;
  for (let i = 0; i < n; i++) keepers += y[i] as number;
  const rate = keepers / Math.max(1, n);
  let brier = 0;
  for (let i = 0; i < n; i++) brier += ((prob[i] as number) - (y[i] as number)) ** 2;
  const clamp = (p: number): number => Math.min(1 - 1e-6, Math.max(1e-6, p));
  const z = Float64Array.from(prob as ArrayLike<number>, (p) => Math.log(clamp(p) / (1 - clamp(p))));
  const recal = keepers && keepers < n ? fitLogisticL2(z, 1, y, 1e6) : { w: [NaN], b: NaN };
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (prob[a] as number) - (prob[b] as number));
  const reliability = Array.from({ length: Math.min(bins, n) }, (_, b) => {
    const part = order.slice(Math.floor((b * n) / Math.min(bins, n)), Math.floor(((b + 1) * n) / Math.min(bins, n)));
    const mean = (f: (i: number) => number): number => part.reduce((s, i) => s + f(i), 0) / Math.max(1, part.length);
    return { count: part.length, meanScore: mean((i) => prob[i] as number), keeperRate: mean((i) => y[i] as number) };
  });
  const bands = (['review', 'uncertain', 'unlikely'] as const).map((band) => {
    const rows = order.filter((i) => bandOf(prob[i] as number) === band);
    const k = rows.filter((i) => y[i]).length;
    return { band, photos: rows.length, keepers: k, keepRate: rows.length ? k / rows.length : NaN };
  });
  let surfaced = 0,
    hits = 0;
  if (threshold !== null)
    for (let i = 0; i < n; i++)
      if ((prob[i] as number) >= threshold) {
        surfaced++;
        hits += y[i] as number;
      }
  return {
    photos: n,
    keepers,
    baseRate: rate,
    logLoss: logLoss(prob, y),
    logLossConstant: logLoss(new Array<number>(n).fill(rate), y),
    brier: brier / Math.max(1, n),
    brierConstant: rate * (1 - rate),
    slope: recal.w[0] as number,
    intercept: recal.b,
    reliability,
    bands,
    threshold:
      threshold === null
        ? null
        : {
            value: threshold,
            perThousand: (1000 * surfaced) / Math.max(1, n),
            precision: surfaced ? hits / surfaced : null,
            recall: keepers ? hits / keepers : null,
          },
  };
}

/** The calibration metrics in two lines. */
export function calibrationText(c: CalibrationMetrics, where: string): string {
  const f = (v: number | null, d = 3): string => (v !== null && Number.isFinite(v) ? v.toFixed(d) : 'n/a');
  const gain = 1 - c.logLoss / c.logLossConstant;
  const t = c.threshold;
  return (
    `Calibration on ${where} (${c.keepers} keepers in ${c.photos} photos, ` +
    `base rate ${(100 * c.baseRate).toFixed(2)}%): ` +
    `log-loss ${f(c.logLoss)} (constant ${f(c.logLossConstant)}, gain ${(100 * gain).toFixed(0)}%), ` +
    `Brier ${f(c.brier, 4)} (constant ${f(c.brierConstant, 4)}), ` +
    `slope ${f(c.slope, 2)}, intercept ${f(c.intercept, 2)}; ` +
    `keep rate by band: ${c.bands.map((b) => `${b.band} ${b.keepers}/${b.photos}`).join(', ')}; ` +
    'equal-mass reliability (mean score : keep rate) ' +
    `${c.reliability.map((r) => `${f(r.meanScore, 2)}:${f(r.keeperRate, 2)}`).join(' ')}.\n` +
    (t
      ? `At the auto-surface threshold ${f(t.value)}: ${f(t.perThousand, 0)} photos to review per 1,000 new photos, ` +
        `precision ${f(t.precision, 2)}, recall ${f(t.recall, 2)}.`
      : 'No auto-surface threshold: nothing to review automatically.')
  );
}
