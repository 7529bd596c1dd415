/**
 * Time-forward evaluation: preference drifts, so the chosen model and the baseline are trained on the walks of the
 * earlier years (the latest tenth of them by date validates, for early stopping) and tested on the walks of the
 * latest year, on which neither trained. The decision rule's comparison over every walk saw them, so this describes
 * the chosen model rather than checks the choice. Reported beside the comparison; it chooses nothing.
 */
import { isDecisionSession, type Dataset } from '../4-dataset/rows.js';
import type { SplitName } from '../4-dataset/split.js';
import { fit, fittingRows, rowsOf, selectColumns } from './fit.js';
import { evaluate, pairedApDifference, type Estimate } from './metrics.js';
import { scoreRows, type Hyper } from './scorers.js';
import type { Contender } from './decide.js';

export interface TimeForward {
  /** The year tested on, and the years trained on. */
  testYear: string;
  trainYears: string[];
  testPhotos: number;
  testKeepers: number;
  models: Array<{ name: string; ap: Estimate; auc: Estimate }>;
  /** AP of the first model minus the second's on the latest year's photos (paired walk bootstrap). */
  difference: Estimate | null;
}

/** The time-forward split: earlier years train (their latest tenth of walks validates), the latest year tests. */
export function timeForwardSplit(
  ds: Pick<Dataset, 'session' | 'sessions'>,
): { split: SplitName[]; testYear: string; trainYears: string[] } | null {
  // the walks of review decisions (inbox:<day>) are newer than any corpus year: left out, they would leak the future
  const corpus = ds.sessions.filter((s) => !isDecisionSession(s));
  const years = [...new Set(corpus.map((s) => s.slice(0, 4)))].sort();
  if (years.length < 2) return null;
  const testYear = years[years.length - 1] as string;
  const earlier = ds.sessions
    .map((s, i) => [s, i] as const)
    .filter(([s]) => !isDecisionSession(s) && s.slice(0, 4) < testYear)
    .sort();
  const nVal = Math.max(1, Math.round(earlier.length / 10));
  const val = new Set(earlier.slice(earlier.length - nVal).map(([, i]) => i));
  const split = Array.from(ds.session, (w): SplitName => {
    const date = ds.sessions[w] as string;
    if (isDecisionSession(date)) return 'none' as SplitName;
    return date.slice(0, 4) === testYear ? 'test' : val.has(w) ? 'val' : 'train';
  });
  return { split, testYear, trainYears: years.slice(0, -1) };
}

/** Trains `models` on the earlier years and tests them on the latest; null with one year or no keeper on a side. */
export async function timeForward(
  full: Dataset,
  models: readonly Contender[],
  o: { seed: number; resamples: number; hyper?: Partial<Hyper> },
): Promise<TimeForward | null> {
  const plan = timeForwardSplit(full);
  if (!plan) return null;
  const ds: Dataset = { ...full, split: plan.split };
  const test = rowsOf(ds, 'test');
  const y = test.map((r) => ds.y[r] as number);
  const trainKeepers = rowsOf(ds, 'train').filter((r) => ds.y[r]).length;
  if (!y.some(Boolean) || !trainKeepers) return null;
  const session = test.map((r) => ds.session[r] as number);
  const scores: number[][] = [];
  const out: TimeForward['models'] = [];
  for (const m of models) {
    // a learner without early stopping trains on the validation walks too, as its final model does
    const h = { ...o.hyper, ...m.hyper };
    const mds = fittingRows(selectColumns(ds, m.featureSet), m.arch, h);
    const f = await fit(mds, m.arch, o.seed, h);
    const s = Array.from(scoreRows(f.params, f.xs, mds.dim, test, mds.ids));
    scores.push(s);
    const e = evaluate(s, y, session, { resamples: o.resamples, seed: o.seed });
    out.push({ name: m.name, ap: e.ap, auc: e.auc });
  }
  const difference =
    scores.length >= 2 && models[0]?.name !== models[1]?.name
      ? pairedApDifference(scores[0] as number[], scores[1] as number[], y, session, {
          resamples: o.resamples,
          seed: o.seed,
        })
      : null;
  return {
    testYear: plan.testYear,
    trainYears: plan.trainYears,
    testPhotos: test.length,
    testKeepers: y.filter(Boolean).length,
    models: out,
    difference,
  };
}
