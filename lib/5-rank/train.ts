/**
 * `flux train`: the ranker comparison and the keeper model. Trains the candidates (pairwise, contrastive with one
 * or several centroids) and the baselines (logistic regression, metadata only, chance) on the session-grouped
 * split, picks the candidate with the best validation AP (or out-of-fold AP), calibrates it on validation, reports
 * every model on the test split with bootstrap intervals, shows how much the photo-level split flatters the winner,
 * and writes `keeper-<id>/` in the models folder. Rescoring the photos with it is the pipeline's part
 * (lib/pipeline/train-and-score.ts).
 *
 * The parts: dataset rows (lib/4-dataset), learners (scorers.ts), one model trained and judged (fit.ts), out-of-fold
 * scoring (folds.ts), the comparison (compare.ts), calibration and threshold (calibrate.ts), the words (verdict.ts)
 * and the model file (model-file.ts). This file only runs them in order.
 */
import { join, resolve } from 'node:path';
import type { Db } from '../db/duckdb.js';
import { recordModelDir, writeRankerComparison, type ComparisonRow } from '../db/models.js';
import { archiveRoots, workspaceOf } from '../db/schema.js';
import { tableExists } from '../db/table.js';
import { defaultModel, findModel } from '../2-embed/models.js';
import { modelWithVectors, vectorGlob } from '../2-embed/store.js';
import {
  descriptorVersionOf,
  loadDataset,
  standardize,
  usesPeople,
  withPeople,
  type Dataset,
  type FeatureSet,
} from '../4-dataset/rows.js';
import { PERSON_MODEL_ORDER } from '../4-dataset/people.js';
import { examinedCount } from '../db/detections.js';
import { checkChoice, checkInt, checkNumber, FluxError } from '../util/check.js';
import { assertOutsideArchive, checkWritableDir, sha256 } from '../util/fsutil.js';
import type { OnProgress } from '../util/progress.js';
import { plural } from '../util/text.js';
import { initBackend, type BackendName } from '../tfjs/backend.js';
import { atThreshold, calibrateAll, chooseThreshold, tradeoff, type CalibrationChoice } from './calibrate.js';
import {
  chooseWinner,
  compareOverAllWalks,
  keepersIn,
  plan,
  ruleContenders,
  runExperiments,
  type Experiment,
} from './compare.js';
import { decide, DEFAULT_RULE, type Contender, type RuleEvidence } from './decide.js';
import { readControls } from './controls.js';
import { calibrationMetrics } from './calibration-metrics.js';
import { calibrateOutOfFold } from './oof-calibration.js';
import { timeForward, type TimeForward } from './time-forward.js';
import { tuningGrid } from './nested.js';
import {
  assess,
  fit,
  rowsOf,
  selectColumns,
  stopsEarlyOn,
  testMetrics,
  type CandidateResult,
  type Fitted,
} from './fit.js';
import { reliability, type MetricName, type Metrics } from './metrics.js';
import { saveModel, type KeeperModel } from './model-file.js';
import { ARCHS, checkHyper, learnerDefaults, scoreRows, type Arch, type Hyper } from './scorers.js';
import type { PeopleCoverage, TrainCounts, TrainReport } from './train-report.js';

export type { TrainReport } from './train-report.js';

export interface TrainOptions {
  /** One architecture, or `compare` (default): every candidate and baseline, the best candidate kept. */
  arch?: Arch | 'compare';
  /** Feature set for a single architecture (default: the fullest available). */
  featureSet?: FeatureSet;
  /** Embedding model id (default: the best model with vectors). */
  model?: string;
  /** Folder that receives `keeper-<id>/` (the pipeline fills it: --models-dir, FLUX_MODELS or `<project>/models`). */
  modelsDir: string;
  /** How the folder is named in messages (default `--models-dir`). */
  modelsDirOption?: string;
  seed?: number;
  hyper?: Partial<Hyper>;
  backend?: BackendName;
  /** Bootstrap resamples for the intervals (default 200). */
  resamples?: number;
  /** Surfacing rule for the threshold (default: precision 0.8 on validation). */
  targetPrecision?: number;
  budget?: number;
  /**
   * How the winner is chosen: `validation` AP, or `cv` (out-of-fold AP over session folds of the training and
   * validation walks; the test walks stay untouched). Default `auto`: cv when validation holds fewer than 30 keepers.
   */
  selection?: 'validation' | 'cv' | 'auto';
  /**
   * With `compare`, the decision rule chooses (default; see decide.ts); `false` falls back to `selection`.
   */
  rule?: boolean;
  /** The positive controls' record printed beside the rule's decision (default: the repo's bench/controls.json). */
  controlsFile?: string;
  /** Repeats of the rule's cross-validation (default 1). */
  repeats?: number;
  /** Nested tuning budget: settings each learner tries inside each of the rule's folds (default 1: none). */
  tune?: number;
  /** Folds for cv, the rule and the all-walks comparison (default 5, at least 3). */
  folds?: number;
  /** Skip the photo-level split comparison. */
  skipPhotoSplit?: boolean;
  /**
   * Also compare the chosen ranker with logistic regression and the metadata-only model over every walk, each held
   * out once in `folds` session folds (a comparison only; default: when the test walks hold fewer than 100 keepers,
   * where one split cannot separate close models).
   */
  allWalks?: boolean;
  /**
   * What the saved model of a learner without early stopping learns from once the test walks have judged it:
   * `trainval` (default) the training and validation walks, so the saved model is the one the test figures describe;
   * `all` every walk, the test walks too, calibrated on out-of-fold scores of every walk (on six planted archives of
   * about 220 keepers it moved the inbox figures by -0.003 to +0.004: bench/RESULTS.md).
   */
  refit?: 'all' | 'trainval';
  onProgress?: OnProgress;
}

/** The options checked before any work: the settings, the threshold rule, the folds. */
export function checkTrainOptions(options: TrainOptions): {
  seed: number;
  arch: Arch | 'compare';
  resamples: number;
  folds: number;
  rule: { targetPrecision: number } | { budget: number };
  refit: 'all' | 'trainval';
} {
  const seed = checkInt('--seed', options.seed ?? 7, 0, 0xffffffff);
  const refit = checkChoice('--refit', options.refit ?? 'trainval', ['trainval', 'all'] as const);
  const arch = checkChoice('--arch', options.arch ?? 'compare', [...ARCHS, 'compare'] as const);
  if (arch === 'chance') {
    throw new FluxError(
      '--arch: chance is a baseline, not a model to keep; ' +
        'choose pairwise, contrastive, contrastive-multi, logistic or metadata',
    );
  }
  const resamples = checkInt('--resamples', options.resamples ?? 200, 10, 100000);
  // settings checked before any work, not when the first model trains
  checkHyper(options.hyper);
  if (options.targetPrecision !== undefined && options.budget !== undefined) {
    throw new FluxError('--target-precision and --budget: give one rule for the auto-surface threshold, not both');
  }
  if (options.targetPrecision !== undefined) checkNumber('--target-precision', options.targetPrecision, 0.01, 1);
  if (options.budget !== undefined) checkNumber('--budget', options.budget, 0.0001, 1);
  const folds = checkInt('--folds', options.folds ?? 5, 3, 50);
  if (options.repeats !== undefined) checkInt('--repeats', options.repeats, 1, 20);
  if (options.tune !== undefined) tuningGrid('pairwise', options.tune);
  const rule =
    options.budget !== undefined ? { budget: options.budget } : { targetPrecision: options.targetPrecision ?? 0.8 };
  return { seed, arch, resamples, folds, rule, refit };
}

/** The share of corpus photos a person detector must have examined for the people columns to join the comparison. */
export const PEOPLE_COVERAGE = 0.5;

/** The labelled dataset, refused before training when it cannot give a model, a calibration and a test. */
async function trainingData(
  db: Db,
  options: TrainOptions,
  seed: number,
): Promise<{
  full: Dataset;
  modelId: string | null;
  hasVector: boolean;
  fullSet: FeatureSet;
  loadedSet: FeatureSet;
  /** The detector's coverage of the corpus; `compared`: the people columns join the comparison. */
  coverage: PeopleCoverage;
}> {
  const workspace = await workspaceOf(db);
  // refused before any training, not after it
  const modelsDir = resolve(options.modelsDir);
  assertOutsideArchive('--models-dir', modelsDir, await archiveRoots(db));
  const label = options.modelsDirOption ?? '--models-dir';
  checkWritableDir(label, modelsDir, 'choose another with --models-dir (or FLUX_MODELS)');
  const keepers = Number(await db.value<number>('SELECT count(*) FROM photos WHERE keeper'));
  if (!keepers) throw new FluxError(`${db.file}: no photo is marked as a keeper; run flux match first`);
  // the model with vectors here (not only the best present on this machine); without any, the best present
  const preferred = defaultModel()?.spec.id ?? null;
  const modelId = options.model ?? modelWithVectors(workspace, preferred) ?? preferred;
  const hasVector = modelId !== null && vectorGlob(workspace, modelId, 'photos') !== null;
  if (options.model && !hasVector) {
    throw new FluxError(
      `--model: no vectors of ${options.model} under ${workspace}/embeddings; ` +
        `run flux embed --model ${options.model} first`,
    );
  }
  // without vectors the rows are the pixel descriptors and context: a corpus not embedded at all has no descriptors
  // either, and a model of the camera settings alone would be trained and saved without a word
  const described = async (): Promise<boolean> =>
    (await tableExists(db, 'descriptors')) &&
    Number(await db.value(`SELECT count(*) FROM descriptors WHERE "set" = 'photos'`)) > 0;
  if (!hasVector && !(await described())) {
    throw new FluxError(
      `${db.file}: no photo has been embedded yet (no vectors, no pixel descriptors); run flux embed first`,
    );
  }
  const fullSet: FeatureSet = hasVector ? 'vector+descriptor+context' : 'descriptor+context';
  if (options.featureSet?.includes('vector') && !hasVector) {
    throw new FluxError(
      `--features ${options.featureSet}: no embedding vectors; run flux embed with a model, or use descriptor+context`,
    );
  }
  // the people columns join the comparison once a person detector has examined at least half of the corpus photos
  // (flux detect): below that they are mostly imputed, and would only cost time and widen the rule's intervals
  const examined = await examinedCount(db, 'photos', PERSON_MODEL_ORDER);
  const corpus = Number(await db.value<number>('SELECT count(*) FROM photos'));
  const people = examined > 0 && (examined >= PEOPLE_COVERAGE * corpus || usesPeople(options.featureSet ?? 'context'));
  if (options.featureSet && usesPeople(options.featureSet) && !people) {
    throw new FluxError(
      `--features ${options.featureSet}: no corpus photo has been through a person detector; run flux detect first`,
    );
  }
  const loadedSet = (people && withPeople(fullSet)) || fullSet;
  const full = await loadDataset(db, workspace, {
    featureSet: loadedSet,
    modelId: hasVector ? modelId : null,
    scheme: 'session',
    seed,
  });
  // a model learns from the training walks' keepers, is calibrated on the validation walks' and judged on the test
  // walks': with none in one of them its metrics and its score would mean nothing
  const bySplit = (['train', 'val', 'test'] as const).map((s) => keepersIn(full, s));
  if (bySplit.some((k) => k === 0)) {
    const held = rowsOf(full, 'train')
      .concat(rowsOf(full, 'val'), rowsOf(full, 'test'))
      .filter((r) => full.y[r]);
    const walks = new Set(held.map((r) => full.session[r])).size;
    throw new FluxError(
      `${db.file}: ${plural(keepers, 'keeper')} in ${plural(walks, 'walk')}; the split by walk (80/10/10) left ` +
        `${bySplit[0]} in the training, ${bySplit[1]} in the validation and ${bySplit[2]} in the test walks, ` +
        'and training needs ' +
        'keepers in all three: link more keepers (flux match), from at least three walks, before training',
    );
  }
  return { full, modelId, hasVector, fullSet, loadedSet, coverage: { examined, corpus, compared: people } };
}

/**
 * The threshold on held-out probabilities (the out-of-fold ones of the training and validation walks when the
 * calibration was fitted on them, else the validation walks'), what it does on the test walks, the reliability and
 * trade-off there.
 */
function surfacing(
  full: Dataset,
  winner: CandidateResult,
  wf: Fitted,
  rule: { targetPrecision: number } | { budget: number },
  heldOut?: { prob: number[]; y: number[] },
): Pick<TrainReport, 'threshold' | 'reliability' | 'tradeoff' | 'calibrationTest' | 'testScores'> {
  const ds = selectColumns(full, winner.featureSet);
  const val = rowsOf(ds, 'val');
  const test = rowsOf(ds, 'test');
  const xs = standardize(ds.x, ds.dim, wf.standardizer);
  const calibration = winner.calibration as CalibrationChoice;
  const vprob = heldOut?.prob ?? calibrateAll(calibration.calibration, scoreRows(wf.params, xs, ds.dim, val, ds.ids));
  const vy = heldOut?.y ?? val.map((r) => ds.y[r] as number);
  const ty = test.map((r) => ds.y[r] as number);
  const point = chooseThreshold(vprob, vy, rule);
  const traw = scoreRows(wf.params, xs, ds.dim, test, ds.ids);
  const tprob = calibrateAll(calibration.calibration, traw);
  const curve = tradeoff(vprob, vy);
  const step = Math.ceil(curve.length / 200);
  const thin = curve.filter((_, i) => curve.length <= 200 || i % step === 0 || i === curve.length - 1);
  const ruleText =
    'budget' in rule
      ? `review budget ${rule.budget}`
      : `precision >= ${rule.targetPrecision} on ${heldOut ? 'the out-of-fold scores' : 'validation'}`;
  return {
    testScores: { ids: test.map((r) => ds.ids[r] as number), raw: Array.from(traw), prob: Array.from(tprob) },
    threshold: { rule: ruleText, point, test: point ? atThreshold(tprob, ty, point.threshold) : null },
    reliability: reliability(tprob, ty),
    tradeoff: thin,
    calibrationTest: calibrationMetrics(tprob, ty, point?.threshold ?? null),
  };
}

/** Counts of the data the comparison rests on. */
function countData(full: Dataset, people: PeopleCoverage): TrainCounts {
  const n = (s: 'train' | 'val' | 'test'): number => rowsOf(full, s).length;
  const photos = n('train') + n('val') + n('test');
  const keepers = [...full.y].filter((v, i) => v && full.views[i] === 0).length;
  return {
    rows: full.ids.length,
    photos,
    keepers,
    train: n('train'),
    val: n('val'),
    test: n('test'),
    testKeepers: keepersIn(full, 'test'),
    keeperRate: keepers / Math.max(1, photos),
    missingVector: full.missingVector,
    people,
    ...(full.decisions ? { decisions: full.decisions } : {}),
  };
}

/** The comparison as rows of `ranker_comparison`: test metrics, and out-of-fold figures over all walks. */
function comparisonRows(r: TrainReport): ComparisonRow[] {
  const fin = (v: number): number | null => (Number.isFinite(v) ? v : null);
  const row = (
    c: { name: string; arch: string; featureSet: string },
    valAp: number,
    metric: string,
    e: { value: number; lo: number; hi: number },
    calibration: string | null,
  ): ComparisonRow => ({
    keeperModel: r.id,
    model: c.name,
    arch: c.arch,
    featureSet: c.featureSet,
    winner: c.name === r.winner.name,
    valAp: fin(valAp),
    metric,
    value: fin(e.value),
    lo: fin(e.lo),
    hi: fin(e.hi),
    calibration,
  });
  const rows = r.results.flatMap((c) =>
    (Object.entries(c.test) as Array<[MetricName, Metrics[MetricName]]>).map(([m, e]) =>
      row(c, c.valAp, m, e, c.calibration?.calibration.method ?? null),
    ),
  );
  // the all-walks comparison: metrics all_walks_ap and all_walks_auc (out of fold over every walk)
  for (const m of r.allWalks?.models ?? []) {
    const c = r.results.find((x) => x.name === m.name);
    for (const [metric, e] of [
      ['all_walks_ap', m.ap],
      ['all_walks_auc', m.auc],
    ] as const) {
      rows.push(row(m, c?.valAp ?? NaN, metric, e, c?.calibration?.calibration.method ?? null));
    }
  }
  return rows;
}

/** The experiments, then the winner: by the decision rule (compare), else by validation or out-of-fold AP. */
async function compareAndChoose(
  full: Dataset,
  arch: Arch | 'compare',
  hasVector: boolean,
  fullSet: FeatureSet,
  people: boolean,
  options: TrainOptions,
  common: { seed: number; resamples: number; folds: number; hyper?: Partial<Hyper>; onProgress?: OnProgress },
): Promise<{
  results: CandidateResult[];
  fitted: Map<string, Fitted>;
  winner: CandidateResult;
  selection: string;
  rule: RuleEvidence | null;
}> {
  const experiments: Experiment[] =
    arch === 'compare'
      ? plan(hasVector, people)
      : [{ arch, featureSet: arch === 'metadata' ? 'context' : (options.featureSet ?? fullSet) }];
  const useRule = arch === 'compare' && options.rule !== false;
  const auto = options.selection === undefined || options.selection === 'auto';
  const asked = auto
    ? keepersIn(full, 'val') < 30 && arch === 'compare'
      ? 'cv'
      : 'validation'
    : (options.selection as 'cv' | 'validation');
  const { results, fitted } = await runExperiments(full, experiments, { ...common, cv: !useRule && asked === 'cv' });
  if (useRule) {
    const { baseline, contenders } = ruleContenders(hasVector, fullSet, people);
    const settings = {
      ...DEFAULT_RULE,
      folds: common.folds,
      resamples: common.resamples,
      repeats: options.repeats ?? DEFAULT_RULE.repeats,
      tune: { ...DEFAULT_RULE.tune, budget: options.tune ?? DEFAULT_RULE.tune.budget },
    };
    const rule = await decide(full, baseline, contenders, {
      seed: common.seed,
      settings,
      hyper: common.hyper,
      onProgress: common.onProgress,
    });
    const winner = rule && (await tunedWinner(full, results, fitted, rule.chosen, common));
    if (rule && winner) return { results, fitted, winner, selection: `the decision rule (${rule.decision})`, rule };
  }
  // a rule that could score no keeper (a handful of walks) leaves the choice to validation or out-of-fold AP, over
  // the same learners (logistic regression and the baseline among them)
  const chosen = chooseWinner(results, arch === 'compare', useRule ? 'validation' : asked);
  const selection =
    chosen.selection === 'cv'
      ? `out-of-fold AP over ${common.folds} session folds of the training and validation walks`
      : 'validation AP';
  return { results, fitted, winner: chosen.winner, selection, rule: null };
}

/**
 * The rule's choice as a trained result. Tuned to another setting than the defaults the comparison trained with, it
 * is trained again with that setting (the one its nested tuning chose most), and replaces its untuned entry.
 */
async function tunedWinner(
  full: Dataset,
  results: CandidateResult[],
  fitted: Map<string, Fitted>,
  chosen: Contender,
  common: { seed: number; resamples: number; hyper?: Partial<Hyper> },
): Promise<CandidateResult | undefined> {
  const at = results.findIndex((r) => r.name === chosen.name);
  if (at < 0 || !chosen.setting || !Object.keys(chosen.setting).length) return results[at];
  const ds = selectColumns(full, chosen.featureSet);
  const f = await fit(ds, chosen.arch, common.seed, { ...common.hyper, ...chosen.setting });
  const r = assess(ds, f, common.seed, common.resamples);
  results[at] = r;
  fitted.set(r.name, f);
  return r;
}

/** What to say when the vectors trained on are of a model whose file is not on this machine (null otherwise). */
export function embeddingNote(modelId: string | null): string | null {
  let here: string | null = null;
  try {
    here = modelId ? findModel(modelId).path : null;
  } catch {
    return null; // a model this build does not know by name: nothing to say about its file
  }
  return modelId && !here
    ? `the vectors are of ${modelId}, whose model file is not on this machine: flux score --inbox embeds new photos ` +
        `with it, so fetch it first (flux models fetch ${modelId})`
    : null;
}

/** The setting nested tuning chose for each model of the rule, by name (none without tuning). */
function tunedSettings(rule: RuleEvidence | null): Map<string, Partial<Hyper>> {
  const all = rule ? [rule.baseline, ...rule.contenders] : [];
  return new Map(all.flatMap((c) => (c.setting ? [[c.name, c.setting] as [string, Partial<Hyper>]] : [])));
}

/**
 * Time-forward figures of the chosen model against the baseline (logistic regression when it is the baseline), each
 * with the setting nested tuning chose for it (`rule`).
 */
async function laterYear(
  full: Dataset,
  winner: CandidateResult,
  hasVector: boolean,
  fullSet: FeatureSet,
  common: { seed: number; resamples: number; hyper?: Partial<Hyper>; onProgress?: OnProgress },
  rule: RuleEvidence | null,
): Promise<TimeForward | null> {
  const { baseline, contenders } = ruleContenders(hasVector, fullSet);
  const settings = tunedSettings(rule);
  const against =
    winner.name === baseline.name ? (contenders.find((c) => c.arch === 'logistic') as Contender) : baseline;
  const other: Contender = { ...against, hyper: { ...against.hyper, ...settings.get(against.name) } };
  const chosen = {
    name: winner.name,
    arch: winner.arch,
    featureSet: winner.featureSet,
    hyper: settings.get(winner.name),
  };
  common.onProgress?.({ stage: 'time-forward', done: 0, total: 1 });
  return timeForward(full, [chosen, other], common);
}

/**
 * The comparison's figures are of the fit on the training walks; a final model refitted on the training and
 * validation walks gets its own test figures (null when the saved model is the fit assessed).
 */
export function refitTest(
  full: Dataset,
  winner: CandidateResult,
  oof: { fitted: Fitted; choice: CalibrationChoice } | null,
  assessed: Fitted | undefined,
  common: { seed: number; resamples: number },
): TrainReport['savedTest'] {
  if (!oof || oof.fitted === assessed) return null;
  return testMetrics(selectColumns(full, winner.featureSet), oof.fitted, oof.choice, common.seed, common.resamples);
}

/**
 * The model to save: with `refit` all, once the test walks have judged the recipe, a learner without early stopping
 * is refitted on every walk, the test walks too, and calibrated on out-of-fold scores of every walk; otherwise, or
 * when the folds hold too few keepers, the model the test figures describe.
 */
export async function modelToSave(
  full: Dataset,
  chosen: { arch: Arch; featureSet: FeatureSet },
  judged: { fitted: Fitted; calibration: CalibrationChoice; outOfFold: boolean },
  o: { seed: number; folds: number; hyper: Partial<Hyper>; onProgress?: OnProgress; refit: 'all' | 'trainval' },
): Promise<{
  fitted: Fitted;
  calibration: CalibrationChoice;
  everyWalk: boolean;
  heldOut?: { prob: number[]; y: number[] };
}> {
  const asJudged = { fitted: judged.fitted, calibration: judged.calibration, everyWalk: false };
  if (
    o.refit !== 'all' ||
    !judged.outOfFold ||
    stopsEarlyOn(selectColumns(full, chosen.featureSet), chosen.arch, o.hyper)
  )
    return asJudged;
  const every = await calibrateOutOfFold(full, chosen, judged.fitted, { ...o, scope: 'all' });
  return every
    ? { fitted: every.fitted, calibration: every.choice, everyWalk: true, heldOut: every.heldOut }
    : asJudged;
}

/** The photo-level split: the winner on frames dealt independently (burst siblings straddle splits). */
async function photoSplitCheck(
  db: Db,
  data: { loadedSet: FeatureSet; modelId: string | null },
  winner: CandidateResult,
  hyper: Partial<Hyper>,
  o: { seed: number; resamples: number },
): Promise<TrainReport['photoSplit']> {
  const loaded = await loadDataset(db, await workspaceOf(db), {
    featureSet: data.loadedSet,
    modelId: data.modelId,
    scheme: 'photo',
    seed: o.seed,
  });
  const pds = selectColumns(loaded, winner.featureSet);
  const pr = assess(pds, await fit(pds, winner.arch, o.seed, hyper), o.seed, o.resamples);
  return { ap: pr.test.ap, sessionAp: winner.test.ap };
}

/**
 * A model's id: its learner and a hash of everything it was made from. The labels and the out-of-fold folds are in
 * it (they make the calibration and threshold): a keeper link moved by review, or other folds, is another model, and
 * nothing fitted on the old one (the portal's surface threshold) follows its id.
 */
function modelIdOf(winner: CandidateResult, full: Dataset, settings: Record<string, unknown>): string {
  const key = {
    a: winner.arch,
    f: winner.featureSet,
    ...settings,
    splitSeed: full.splitSeed,
    ids: sha256(full.ids.join(',')),
    y: sha256(Array.from(full.y).join('')),
  };
  return `${winner.arch}-${sha256(JSON.stringify(key)).slice(0, 10)}`;
}

/** Runs the comparison (or one architecture), saves the chosen model and records it in the database. */
export async function train(db: Db, options: TrainOptions): Promise<TrainReport> {
  const t0 = performance.now();
  const { seed, arch, resamples, folds, rule, refit } = checkTrainOptions(options);
  const backend = await initBackend(options.backend);
  const { full, modelId, hasVector, fullSet, loadedSet, coverage } = await trainingData(db, options, seed);
  const common = { seed, resamples, folds, hyper: options.hyper, onProgress: options.onProgress };
  const {
    results,
    fitted,
    winner: chosen,
    selection,
    rule: evidence,
  } = await compareAndChoose(full, arch, hasVector, fullSet, coverage.compared, options, common);
  // the winner's settings: its learner's own, the caller's, with what nested tuning chose for it
  const hyper: Partial<Hyper> = { ...learnerDefaults(chosen.arch), ...options.hyper, ...evidence?.chosen.setting };
  // the chosen model's calibration from out-of-fold scores of every training and validation walk (more keepers than
  // the validation walks hold), and its threshold from them; the validation calibration stays when they hold too few
  const oof = await calibrateOutOfFold(full, chosen, fitted.get(chosen.name) as Fitted, { ...common, hyper });
  const wf = oof?.fitted ?? (fitted.get(chosen.name) as Fitted);
  const winner: CandidateResult = oof ? { ...chosen, calibration: oof.choice } : chosen;
  const savedTest = refitTest(full, winner, oof, fitted.get(chosen.name), common);
  const photoSplit = options.skipPhotoSplit
    ? null
    : await photoSplitCheck(db, { loadedSet, modelId: hasVector ? modelId : null }, winner, hyper, common);
  // by default only when the test walks hold fewer than 100 keepers: beyond that the test split decides alone
  const testKeepers = keepersIn(full, 'test');
  const allWalks =
    arch === 'compare' && (options.allWalks ?? testKeepers < 100)
      ? await compareOverAllWalks(full, results, winner, common, tunedSettings(evidence))
      : null;
  const surfaced = surfacing(full, winner, wf, rule, oof?.heldOut);
  // preference drifts: the chosen model and the baseline trained on the earlier years, tested on the latest
  const later = arch === 'compare' ? await laterYear(full, winner, hasVector, fullSet, common, evidence) : null;
  const judged = { fitted: wf, calibration: winner.calibration as CalibrationChoice, outOfFold: oof !== null };
  const saved = await modelToSave(full, chosen, judged, { ...common, hyper, refit });
  const counts = countData(full, coverage);
  const descriptorVersion = descriptorVersionOf(winner.featureSet);
  const id = modelIdOf(winner, full, {
    m: modelId,
    seed,
    descriptorVersion,
    hyper,
    rule,
    ...(saved.everyWalk ? { everyWalk: true } : {}),
    n: counts,
    folds,
  });
  const dir = join(resolve(options.modelsDir), `keeper-${id}`);
  const model: KeeperModel = {
    id,
    arch: winner.arch,
    featureSet: winner.featureSet,
    embeddingModel: winner.featureSet.includes('vector') ? modelId : null,
    seed,
    splitSeed: full.splitSeed,
    descriptorVersion,
    hyper,
    backend: backend.name,
    scheme: 'session',
    names: saved.fitted.names,
    dim: saved.fitted.names.length,
    standardizer: { mean: Array.from(saved.fitted.standardizer.mean), std: Array.from(saved.fitted.standardizer.std) },
    params: saved.fitted.params,
    calibration: saved.calibration,
    // refitted on every walk, the threshold follows its rule on that model's out-of-fold probabilities
    threshold: {
      rule: surfaced.threshold.rule,
      value: saved.heldOut
        ? (chooseThreshold(saved.heldOut.prob, saved.heldOut.y, rule)?.threshold ?? null)
        : (surfaced.threshold.point?.threshold ?? null),
    },
    createdAt: new Date().toISOString(),
    ...(usesPeople(winner.featureSet) && full.people ? { people: full.people } : {}),
  };
  const report: TrainReport = {
    id,
    dir,
    backend: backend.name,
    seed,
    embeddingModel: modelId,
    winner,
    results,
    selection,
    rule: evidence,
    controls: evidence ? readControls(options.controlsFile) : null,
    timeForward: later,
    allWalks,
    photoSplit,
    savedTest,
    everyWalk: saved.everyWalk ? saved.calibration : null,
    ...surfaced,
    data: counts,
    split: { seed: full.splitSeed, note: full.splitNote },
    embeddingNote: hasVector ? embeddingNote(modelId) : null,
    scored: null,
    seconds: (performance.now() - t0) / 1000,
  };
  // the test walks' scores stay in memory: metrics.json keeps the figures made of them
  saveModel(dir, model, { ...report, testScores: undefined, results: results.map((r) => ({ ...r })) });
  await recordModelDir(db, 'keeper_model', dir);
  await writeRankerComparison(db, comparisonRows(report));
  return report;
}
