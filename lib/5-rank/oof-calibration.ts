/**
 * The chosen model's calibration from out-of-fold scores: every training and validation walk held out once (session
 * folds stratified by keeper count; the test walks untouched), so the curve is fitted on all their keepers rather
 * than on the few of the validation walks. Each fold's held-out scores are standardised by that fold model's scores
 * on the photos it trained and validated on (folds.ts); the final model's raw scores are put on the same scale by
 * its own scores on the photos it trained and validated on, and the curve is moved onto its raw scale, so the saved
 * model (and its ONNX graph) applies it to raw scores as before.
 */
import { fitStandardizer, standardize, type Dataset, type FeatureSet } from '../4-dataset/rows.js';
import type { OnProgress } from '../util/progress.js';
import { chooseCalibration, onRawScale, type CalibrationChoice } from './calibrate.js';
import { rowsOf, selectColumns, type Fitted } from './fit.js';
import { outOfFold } from './folds.js';
import { scoreRows, type Arch, type Hyper } from './scorers.js';

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

/**
 * The calibration of the chosen model `wf` (arch and feature set as `chosen`) fitted on out-of-fold scores of the
 * training and validation walks, on the model's raw scale; null when the folds hold too few keepers.
 */
export async function calibrateOutOfFold(
  full: Dataset,
  chosen: { arch: Arch; featureSet: FeatureSet },
  wf: Pick<Fitted, 'params' | 'standardizer'>,
  o: { seed: number; folds: number; hyper?: Partial<Hyper>; onProgress?: OnProgress },
): Promise<CalibrationChoice | null> {
  o.onProgress?.({ stage: 'calibration out of fold', done: 0, total: 1 });
  const ds = selectColumns(full, chosen.featureSet);
  const oof = await outOfFold(ds, chosen.arch, o.seed, o.folds, o.hyper, 'trainval');
  o.onProgress?.({ stage: 'calibration out of fold', done: 1, total: 1 });
  const y = oof.rows.map((r) => ds.y[r] as number);
  const keepers = y.reduce((a, b) => a + b, 0);
  if (keepers < MIN_OOF_KEEPERS) return null;
  const session = oof.rows.map((r) => ds.session[r] as number);
  const choice = chooseCalibration(oof.scores, y, session, { seed: o.seed, isotonicMargin: ISOTONIC_MARGIN });
  const { mean, sd } = scoreScale(ds, wf);
  const walks = new Set(session).size;
  return {
    ...choice,
    calibration: onRawScale(choice.calibration, mean, sd),
    source: `out-of-fold scores of the training and validation walks (${keepers} keepers in ${walks} walks)`,
  };
}
