/**
 * One ranker trained and judged: the columns of a feature set, standardisation on the training rows, the learner,
 * and its validation and test figures with a calibration chosen on validation.
 */
import {
  fitStandardizer,
  standardize,
  usesWalk,
  type Dataset,
  type FeatureSet,
  type Standardizer,
} from '../4-dataset/rows.js';
import { WALK_NAMES } from '../db/vectors.js';
import type { SplitName } from '../4-dataset/split.js';
import { columnGroup } from '../4-dataset/derived.js';
import { FluxError } from '../util/check.js';
import { calibrateAll, chooseCalibration, type CalibrationChoice } from './calibrate.js';
import { evaluate, pointMetrics, type Metrics } from './metrics.js';
import {
  checkHyper,
  hyperFor,
  scoreRows,
  stopsEarly,
  trainScorer,
  type Arch,
  type Hyper,
  type ScorerParams,
  type TrainLog,
} from './scorers.js';
import { foldAxes, project, trainingAxes, vectorAxes } from './reduce.js';
import { recencyWeights } from './weighting.js';

const WALK = new Set(WALK_NAMES);

/**
 * Columns of the full feature rows that make up a smaller feature set. The walk's columns are means of the pixel
 * descriptor: only the sets whose rows scoring loads them for take them (`usesWalk`), so a context-only model
 * (`metadata`) reads the camera's metadata alone.
 */
export function columnsFor(ds: Pick<Dataset, 'names'>, fs: FeatureSet): number[] {
  const want = (n: string): boolean => fs.includes(columnGroup(n)) && (!WALK.has(n) || usesWalk(fs));
  return ds.names.flatMap((n, i) => (want(n) ? [i] : []));
}

/** A view of the dataset restricted to some columns. */
export function selectColumns(ds: Dataset, fs: FeatureSet): Dataset {
  const cols = columnsFor(ds, fs);
  if (cols.length === ds.dim) return { ...ds, featureSet: fs };
  return { ...takeColumns(ds, cols), featureSet: fs };
}

/** The dataset with only the columns at `cols` (in that order). */
export function takeColumns(ds: Dataset, cols: readonly number[]): Dataset {
  const n = ds.ids.length;
  const x = new Float32Array(n * cols.length);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < cols.length; j++) x[r * cols.length + j] = ds.x[r * ds.dim + (cols[j] as number)] as number;
  }
  return { ...ds, dim: cols.length, names: cols.map((c) => ds.names[c] as string), x };
}

/** What one trained model needs to score and to be saved. */
export interface Fitted {
  arch: Arch;
  featureSet: FeatureSet;
  names: string[];
  standardizer: Standardizer;
  params: ScorerParams;
  log: TrainLog[];
  seconds: number;
}

/** Rows of a split (original views only, unless `originalsOnly` is false). */
export const rowsOf = (
  ds: Pick<Dataset, 'split' | 'views'>,
  split: SplitName | 'none',
  originalsOnly = true,
): number[] => ds.split.flatMap((s, i) => (s === split && (!originalsOnly || ds.views[i] === 0) ? [i] : []));

/** The columns of the image vector among a row's names. */
export const vectorColumns = (names: readonly string[]): number[] =>
  names.flatMap((n, i) => (/^v\d+$/.test(n) ? [i] : []));

/**
 * How a learner's row is reduced: `row`, to `pca` principal components of the whole row when the setting asks for
 * fewer than the row has; else `vector`, the row's `vectorDim` vector columns to `vectorPca` components, the other
 * columns beside them; else not at all (null). The plain baseline reduces by its own setting, chance not at all.
 */
export function reductionOf(
  arch: Arch,
  dim: number,
  h: Pick<Hyper, 'pca' | 'vectorPca'>,
  vectorDim = 0,
): 'row' | 'vector' | null {
  if (arch === 'pca-logistic' || arch === 'chance') return null;
  if (h.pca > 0 && h.pca < dim) return 'row';
  return h.vectorPca > 0 && h.vectorPca < vectorDim ? 'vector' : null;
}

/** The width of the row a learner trains on, after its reduction ({@link reductionOf}). */
export function learnerWidth(arch: Arch, dim: number, h: Pick<Hyper, 'pca' | 'vectorPca'>, vectorDim = 0): number {
  const r = reductionOf(arch, dim, h, vectorDim);
  return r === 'row' ? h.pca : r === 'vector' ? dim - vectorDim + h.vectorPca : dim;
}

/** Whether a learner stops early on the validation walks at these settings, on these columns. */
export const stopsEarlyOn = (ds: Pick<Dataset, 'dim' | 'names'>, arch: Arch, hyper: Partial<Hyper> = {}): boolean =>
  stopsEarly(arch, learnerWidth(arch, ds.dim, hyperFor(arch, hyper), vectorColumns(ds.names).length));

/** The split with the validation walks training, for a learner that does not stop early. */
export const valTrains = (split: readonly SplitName[], early: boolean): SplitName[] =>
  split.map((s) => (!early && s === 'val' ? 'train' : s));

/**
 * The rows as a learner fits them: one without early stopping (the plain baseline, logistic regression solved
 * exactly) has no use for the validation walks, so it trains on them too, as its final model does.
 */
export const fittingRows = (ds: Dataset, arch: Arch, hyper: Partial<Hyper> = {}): Dataset =>
  stopsEarlyOn(ds, arch, hyper) ? ds : { ...ds, split: valTrains(ds.split, false) };

/** Trains one architecture on one dataset. */
export async function fit(
  ds: Dataset,
  arch: Arch,
  seed: number,
  hyper: Partial<Hyper> = {},
  onEpoch?: (l: TrainLog) => void,
): Promise<Fitted & { xs: Float32Array }> {
  const t0 = performance.now();
  const h = hyperFor(arch, hyper);
  // augmented views train unless the setting leaves them out
  const train = rowsOf(ds, 'train', !h.views);
  const standardizer = fitStandardizer(ds.x, ds.dim, train);
  const xs = standardize(ds.x, ds.dim, standardizer);
  const weight = recencyWeights(ds, train, h.halfLife);
  const vectorCols = vectorColumns(ds.names);
  const vectorDim = vectorCols.length;
  const data = {
    ...{ x: xs, dim: ds.dim, y: ds.y, session: ds.session, ids: ds.ids, train, val: rowsOf(ds, 'val') },
    ...(weight ? { weight } : {}),
    ...(ds.time ? { time: ds.time } : {}),
    ...(vectorDim > 0 ? { vectorDim } : {}),
  };
  const reduction = reductionOf(arch, ds.dim, h, vectorDim);
  const axes =
    reduction === 'row'
      ? await trainingAxes(xs, ds.dim, train, h.pca, seed)
      : reduction === 'vector'
        ? await vectorAxes(xs, ds.dim, train, vectorCols, h.vectorPca, seed)
        : null;
  const trained = axes
    ? await trainScorer(
        arch,
        {
          ...data,
          x: project(xs, ds.dim, axes),
          dim: axes.k,
          // the vector's part of the reduced row: all of it after a PCA of the whole row, else its components,
          // which come first, the other columns after them
          vectorDim: reduction === 'row' ? axes.k : axes.k - (ds.dim - vectorDim),
        },
        hyper,
        seed,
        onEpoch,
      )
    : await trainScorer(arch, data, hyper, seed, onEpoch);
  const params = axes ? foldAxes(trained.params, axes, ds.dim) : trained.params;
  const log = trained.log;
  checkFiniteWeights(params, `${arch} · ${ds.featureSet}`, hyper);
  const seconds = (performance.now() - t0) / 1000;
  return { arch, featureSet: ds.featureSet, names: ds.names, standardizer, params, log, seconds, xs };
}

/** A model whose weights ran away scores NaN: said when it is trained, not found later in its scores. */
export function checkFiniteWeights(params: ScorerParams, what: string, hyper: Partial<Hyper> = {}): void {
  const bad = Object.entries(params.weights).find(([, w]) => w.values.some((v) => !Number.isFinite(v)));
  if (bad) {
    throw new FluxError(
      `train ${what}: training diverged (weight ${bad[0]} is not finite); lower --learning-rate` +
        `${hyper.learningRate !== undefined ? ` (it is ${hyper.learningRate})` : ''} or --epochs`,
    );
  }
}

/** One ranker of the comparison with its figures. */
export interface CandidateResult {
  name: string;
  arch: Arch;
  featureSet: FeatureSet;
  valAp: number;
  /** Out-of-fold AP and ROC AUC over session folds of the training and validation walks (when cross-validated). */
  cv: { ap: number; auc: number; folds: number } | null;
  /** Test metrics (ranking on raw scores; ECE on the calibrated probability), with bootstrap 95% intervals. */
  test: Metrics;
  calibration: CalibrationChoice | null;
  epochs: number;
  seconds: number;
}

/**
 * The test metrics of a fitted model (raw scores for the ranking, `calibration` for the probabilities): the
 * figures of a model as saved, when it is not the fit the comparison assessed.
 */
export function testMetrics(
  ds: Dataset,
  f: Pick<Fitted, 'params' | 'standardizer'>,
  calibration: CalibrationChoice,
  seed: number,
  resamples: number,
): Metrics {
  const test = rowsOf(ds, 'test');
  const st = scoreRows(f.params, standardize(ds.x, ds.dim, f.standardizer), ds.dim, test, ds.ids);
  return evaluate(
    st,
    test.map((r) => ds.y[r] as number),
    test.map((r) => ds.session[r] as number),
    { prob: calibrateAll(calibration.calibration, st), resamples, seed },
  );
}

/** Validation and test evaluation of a fitted model, with its calibration chosen on validation. */
export function assess(
  ds: Dataset,
  f: Fitted & { xs: Float32Array },
  seed: number,
  resamples: number,
): CandidateResult {
  const val = rowsOf(ds, 'val');
  const test = rowsOf(ds, 'test');
  const sv = scoreRows(f.params, f.xs, ds.dim, val, ds.ids);
  const st = scoreRows(f.params, f.xs, ds.dim, test, ds.ids);
  const yv = val.map((r) => ds.y[r] as number);
  const yt = test.map((r) => ds.y[r] as number);
  const calibration = chooseCalibration(
    sv,
    yv,
    val.map((r) => ds.session[r] as number),
    { seed },
  );
  const prob = calibrateAll(calibration.calibration, st);
  return {
    name: `${f.arch} · ${f.featureSet}`,
    arch: f.arch,
    featureSet: f.featureSet,
    valAp: pointMetrics(
      sv,
      yv,
      val.map((r) => ds.session[r] as number),
    ).ap,
    cv: null,
    test: evaluate(
      st,
      yt,
      test.map((r) => ds.session[r] as number),
      { prob, resamples, seed },
    ),
    calibration,
    epochs: f.log.length,
    seconds: f.seconds,
  };
}
