/**
 * The chosen model's calibration from out-of-fold scores: every training and validation walk held out once (session
 * folds stratified by keeper count, folds.ts; the test walks untouched), so the curve is fitted on all their keepers
 * rather than on the few of the validation walks. Each fold's held-out scores are standardised by that fold model's
 * scores on the photos it trained and validated on; the final model's raw scores are put on the same scale by its
 * own scores on the photos it trained and validated on, and the curve is moved onto its raw scale, so the saved
 * model (and its ONNX graph) applies it to raw scores as before.
 *
 * A learner without early stopping (the plain baseline, logistic regression solved exactly) has no use for a
 * validation fold: its fold models train on it, and the final model is refitted on the training and validation walks
 * together, so the fold models and the final model learn from nearly as many walks and their scores spread alike.
 */
import { fitStandardizer, standardize, type Dataset, type FeatureSet } from '../4-dataset/rows.js';
import type { OnProgress } from '../util/progress.js';
import { applyCalibration, chooseCalibration, onRawScale, type CalibrationChoice } from './calibrate.js';
import { fit, fittingRows, rowsOf, selectColumns, stopsEarlyOn, type Fitted } from './fit.js';
import { foldSplits } from './folds.js';
import { checkHyper, scoreRows, type Arch, type Hyper } from './scorers.js';

/** Isotonic regression must beat Platt scaling's cross-validated log-loss by this share to be chosen. */
export const ISOTONIC_MARGIN = 0.02;

/** Fewer out-of-fold keepers than this: the validation calibration stays. */
export const MIN_OOF_KEEPERS = 20;

/** The mean and spread of a model's scores on the photos it trained and validated on: the scale of its scores. */
export function scoreScale(ds: Dataset, f: Pick<Fitted, 'params' | 'standardizer'>): { mean: number; sd: number } {
  const xs = standardize(ds.x, ds.dim, f.standardizer);
  const ref = scoreRows(f.params, xs, ds.dim, [...rowsOf(ds, 'train'), ...rowsOf(ds, 'val')], ds.ids);
  const st = fitStandardizer(ref, 1, [...ref.keys()]);
  return { mean: st.mean[0] as number, sd: st.std[0] as number };
}

/** Held-out scores of the training and validation walks, each standardised by its fold model's own scale. */
async function heldOutScores(
  ds: Dataset,
  arch: Arch,
  o: { seed: number; folds: number; hyper?: Partial<Hyper> },
): Promise<{ rows: number[]; scores: number[] }> {
  const rows: number[] = [];
  const scores: number[] = [];
  for (const [k, dealt] of foldSplits(ds, o.seed, o.folds, 'trainval').entries()) {
    const fds = fittingRows({ ...ds, split: dealt }, arch, o.hyper);
    const held = rowsOf(fds, 'test');
    const trainRows = rowsOf(fds, 'train');
    if (!held.length || !trainRows.some((r) => ds.y[r]) || trainRows.every((r) => ds.y[r])) continue;
    const f = await fit(fds, arch, (o.seed + 2003 + k) >>> 0, o.hyper);
    const { mean, sd } = scoreScale(fds, f);
    scoreRows(f.params, f.xs, ds.dim, held, ds.ids).forEach((v, j) => {
      rows.push(held[j] as number);
      scores.push((v - mean) / sd);
    });
  }
  return { rows, scores };
}

/** The out-of-fold calibration, the final model it applies to, and the held-out probabilities it gives. */
export interface OutOfFoldCalibration {
  choice: CalibrationChoice;
  /** The final model: refitted on the training and validation walks for a learner without early stopping. */
  fitted: Fitted;
  /** Calibrated out-of-fold probabilities of the training and validation walks, with their labels. */
  heldOut: { prob: number[]; y: number[] };
}

/**
 * The calibration of the chosen model `wf` (arch and feature set as `chosen`) fitted on out-of-fold scores of the
 * training and validation walks, on the final model's raw scale; null when the folds hold too few keepers. With
 * `scope` `all` the test walks join them: the folds deal every walk, and a learner without early stopping is
 * refitted on every walk (the model to deploy once the test walks have judged the recipe).
 */
export async function calibrateOutOfFold(
  full: Dataset,
  chosen: { arch: Arch; featureSet: FeatureSet },
  wf: Fitted,
  o: { seed: number; folds: number; hyper?: Partial<Hyper>; onProgress?: OnProgress; scope?: 'trainval' | 'all' },
): Promise<OutOfFoldCalibration | null> {
  const picked = selectColumns(full, chosen.featureSet);
  const every = o.scope === 'all';
  const ds: Dataset = every ? { ...picked, split: picked.split.map((s) => (s === 'test' ? 'train' : s)) } : picked;
  const stage = every ? 'calibration out of fold (every walk)' : 'calibration out of fold';
  // decided before any fold trains: too few keepers leave the validation calibration in place
  const trainval = [...rowsOf(ds, 'train'), ...rowsOf(ds, 'val')];
  if (trainval.filter((r) => ds.y[r] && !ds.decided?.[r]).length < MIN_OOF_KEEPERS) return null;
  o.onProgress?.({ stage, done: 0, total: 1 });
  const oof = await heldOutScores(ds, chosen.arch, o);
  const y = oof.rows.map((r) => ds.y[r] as number);
  const keepers = y.reduce((a, b) => a + b, 0);
  if (keepers < MIN_OOF_KEEPERS) return null;
  const session = oof.rows.map((r) => ds.session[r] as number);
  const choice = chooseCalibration(oof.scores, y, session, { seed: o.seed, isotonicMargin: ISOTONIC_MARGIN });
  const refit = !stopsEarlyOn(ds, chosen.arch, o.hyper);
  const fitted = refit ? await fit(fittingRows(ds, chosen.arch, o.hyper), chosen.arch, o.seed, o.hyper) : wf;
  o.onProgress?.({ stage, done: 1, total: 1 });
  const { mean, sd } = scoreScale(ds, fitted);
  const walks = new Set(session).size;
  return {
    choice: {
      ...choice,
      calibration: onRawScale(choice.calibration, mean, sd),
      source:
        `out-of-fold scores of ${every ? 'every walk' : 'the training and validation walks'} ` +
        `(${keepers} keepers in ${walks} walks)` +
        (refit ? '; the model refitted on those walks together' : ''),
    },
    fitted,
    heldOut: { prob: oof.scores.map((v) => applyCalibration(choice.calibration, v)), y },
  };
}
