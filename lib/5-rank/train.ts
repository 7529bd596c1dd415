/**
 * `flux train`: the ranker comparison and the keeper model. Trains the candidates (pairwise, contrastive with one
 * or several centroids) and the baselines (logistic regression, metadata only, chance) on the session-grouped
 * split, picks the candidate with the best validation AP, calibrates it on validation, reports every model on the
 * test split with bootstrap intervals, shows how much the photo-level split flatters the winner, and writes
 * `models/keeper-<id>/`.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Db } from '../db/duckdb.js';
import { archiveRoots, CONTEXT_NAMES } from '../db/schema.js';
import { workspaceOf } from '../2-embed/embed.js';
import { defaultModel } from '../2-embed/models.js';
import { vectorGlob } from '../2-embed/store.js';
import { checkChoice, checkInt, checkNumber, FluxError } from '../util/check.js';
import { plural } from '../util/text.js';
import { assertOutsideArchive, checkWritableDir, sha256, writeFileAtomic } from '../util/fsutil.js';
import type { OnProgress } from '../util/progress.js';
import { projectRoot } from '../util/project.js';
import { Rng } from '../util/rng.js';
import type { SplitName } from '../4-dataset/split.js';
import { initBackend, type BackendName } from './backend.js';
import { calibrateAll, chooseCalibration, chooseThreshold, tradeoff, type CalibrationChoice, type TradeoffPoint } from './calibrate.js';
import { fitStandardizer, loadDataset, standardize, type Dataset, type FeatureSet, type Standardizer } from '../4-dataset/rows.js';
import { averagePrecision, evaluate, pairedApDifference, pointMetrics, reliability, rocAuc, type Estimate, type MetricName, type Metrics, type ReliabilityBin } from './metrics.js';
import { scorerGraph } from './graph.js';
import { recordModelDir, score } from '../6-score/score.js';
import { ARCHS, CANDIDATES, checkHyper, scoreRows, trainScorer, type Arch, type Hyper, type ScorerParams, type TrainLog } from './scorers.js';

export interface TrainOptions {
  db: string;
  /** One architecture, or `compare` (default): every candidate and baseline, the best candidate kept. */
  arch?: Arch | 'compare';
  /** Feature set for a single architecture (default: the fullest available). */
  featureSet?: FeatureSet;
  /** Embedding model id (default: the best model with vectors). */
  model?: string;
  /** Folder that receives `keeper-<id>/` (default FLUX_MODELS or `<project>/models`). */
  modelsDir?: string;
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
  /** Folds for cv and the all-walks comparison (default 5, at least 3). */
  folds?: number;
  /** Rescore every photo with the new model (default true). */
  score?: boolean;
  /** Skip the photo-level split comparison. */
  skipPhotoSplit?: boolean;
  /**
   * Also compare the chosen ranker with logistic regression and the metadata-only model over every walk, each held
   * out once in `folds` session folds (a comparison only; default: when the test walks hold fewer than 100 keepers,
   * where one split cannot separate close models).
   */
  allWalks?: boolean;
  onProgress?: OnProgress;
}

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

export interface TrainReport {
  id: string;
  dir: string;
  backend: string;
  seed: number;
  embeddingModel: string | null;
  winner: CandidateResult;
  results: CandidateResult[];
  /** How the winner was chosen. */
  selection: string;
  /**
   * The chosen architecture, logistic regression (same features) and the metadata-only model scored out of fold over
   * every walk, with session-bootstrap intervals, and the chosen one's AP minus each baseline's (paired bootstrap).
   */
  allWalks: AllWalks | null;
  /** The winner retrained on the photo-level split: its test AP there against the honest split's. */
  photoSplit: { ap: Metrics['ap']; sessionAp: Metrics['ap'] } | null;
  /**
   * The auto-surface threshold: chosen on the validation walks (`point`), and what it does on the test walks, which
   * had no say in it (`test`: the share surfaced, and the precision and recall there).
   */
  threshold: { rule: string; point: TradeoffPoint | null; test?: { surfaced: number; budget: number; precision: number | null; recall: number | null } | null };
  /** The winner's reliability on the test split (calibrated scores, 10 bins). */
  reliability: ReliabilityBin[];
  /** Its precision / recall / budget trade-off on validation (at most 200 thresholds). */
  tradeoff: TradeoffPoint[];
  data: { rows: number; photos: number; keepers: number; train: number; val: number; test: number; testKeepers: number; keeperRate: number; missingVector: number };
  /** The split by walk: the seed it was made with (a stored split keeps its own), and what was done to keep it current. */
  split: { seed: number; note: string | null };
  seconds: number;
  /** Photos per band after the rescore (null when not rescored). */
  scored: Record<string, number> | null;
}

export interface AllWalks {
  /** Folds trained (the fewest of the three models; fewer than asked when walks or keepers are few). */
  folds: number;
  /** Photos scored by all three models, and photos left unscored (walks of a fold that could not train). */
  photos: number;
  unscored: number;
  keepers: number;
  models: Array<{ name: string; arch: Arch; featureSet: FeatureSet; ap: Estimate; auc: Estimate; pairAcc: Estimate }>;
  /** AP of the chosen model minus logistic regression's, and minus the metadata-only model's. */
  vsLogistic: Estimate | null;
  vsMetadata: Estimate | null;
}

/** The folder for keeper models. */
export function modelsRoot(dir?: string): string {
  return resolve(dir ?? process.env.FLUX_MODELS ?? join(projectRoot(), 'models'));
}

/** Columns of the full feature rows that make up a smaller feature set. */
function columnsFor(ds: Dataset, fs: FeatureSet): number[] {
  const isVec = (n: string): boolean => /^v\d+$/.test(n);
  const ctx = new Set(CONTEXT_NAMES);
  const want = (n: string): boolean => (isVec(n) ? fs.includes('vector') : ctx.has(n) ? fs.includes('context') : fs.includes('descriptor'));
  return ds.names.flatMap((n, i) => (want(n) ? [i] : []));
}

/** A view of the dataset restricted to some columns. */
export function selectColumns(ds: Dataset, fs: FeatureSet): Dataset {
  const cols = columnsFor(ds, fs);
  if (cols.length === ds.dim) return { ...ds, featureSet: fs };
  const n = ds.ids.length;
  const x = new Float32Array(n * cols.length);
  for (let r = 0; r < n; r++) for (let j = 0; j < cols.length; j++) x[r * cols.length + j] = ds.x[r * ds.dim + (cols[j] as number)] as number;
  return { ...ds, featureSet: fs, dim: cols.length, names: cols.map((c) => ds.names[c] as string), x };
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

const rowsOf = (ds: Dataset, split: string, originalsOnly = true): number[] =>
  ds.split.flatMap((s, i) => (s === split && (!originalsOnly || ds.views[i] === 0) ? [i] : []));

/** Trains one architecture on one dataset. */
export async function fit(ds: Dataset, arch: Arch, seed: number, hyper: Partial<Hyper> = {}, onEpoch?: (l: TrainLog) => void): Promise<Fitted & { xs: Float32Array }> {
  const t0 = performance.now();
  const train = rowsOf(ds, 'train', false);
  const standardizer = fitStandardizer(ds.x, ds.dim, train);
  const xs = standardize(ds.x, ds.dim, standardizer);
  const { params, log } = await trainScorer(arch, { x: xs, dim: ds.dim, y: ds.y, session: ds.session, ids: ds.ids, train, val: rowsOf(ds, 'val') }, hyper, seed, onEpoch);
  checkFiniteWeights(params, `${arch} · ${ds.featureSet}`, hyper);
  return { arch, featureSet: ds.featureSet, names: ds.names, standardizer, params, log, seconds: (performance.now() - t0) / 1000, xs };
}

/** A model whose weights ran away scores NaN: said when it is trained, not found later in its scores. */
export function checkFiniteWeights(params: ScorerParams, what: string, hyper: Partial<Hyper> = {}): void {
  const bad = Object.entries(params.weights).find(([, w]) => w.values.some((v) => !Number.isFinite(v)));
  if (bad) {
    throw new FluxError(`train ${what}: training diverged (weight ${bad[0]} is not finite); lower --learning-rate` +
      `${hyper.learningRate !== undefined ? ` (it is ${hyper.learningRate})` : ''} or --epochs`);
  }
}

/** Validation and test evaluation of a fitted model, with its calibration chosen on validation. */
function assess(ds: Dataset, f: Fitted & { xs: Float32Array }, seed: number, resamples: number): CandidateResult {
  const val = rowsOf(ds, 'val');
  const test = rowsOf(ds, 'test');
  const sv = scoreRows(f.params, f.xs, ds.dim, val, ds.ids);
  const st = scoreRows(f.params, f.xs, ds.dim, test, ds.ids);
  const yv = val.map((r) => ds.y[r] as number);
  const yt = test.map((r) => ds.y[r] as number);
  const calibration = chooseCalibration(sv, yv, val.map((r) => ds.session[r] as number), { seed });
  const prob = calibrateAll(calibration.calibration, st);
  return {
    name: `${f.arch} · ${f.featureSet}`, arch: f.arch, featureSet: f.featureSet,
    valAp: pointMetrics(sv, yv, val.map((r) => ds.session[r] as number)).ap, cv: null,
    test: evaluate(st, yt, test.map((r) => ds.session[r] as number), { prob, resamples, seed }),
    calibration, epochs: f.log.length, seconds: f.seconds,
  };
}

/** Held-out scores of every photo in some walks, each walk held out once (see {@link outOfFold}). */
export interface OutOfFold {
  /** Dataset rows (original views) that were held out, with their standardised scores. */
  rows: number[];
  scores: number[];
  /** Folds that could be trained (a fold needs keepers and non-keepers in its training walks). */
  folds: number;
}

/**
 * The splits of session-fold cross-validation: the walks in scope (`trainval`: those of the training and validation
 * splits, the test walks untouched; `all`: every walk) are dealt to `folds` folds (at least 2, at most one per walk)
 * by a seeded shuffle. In round k fold k is held out (`test`), the next fold validates (early stopping; with two
 * folds there is none) and the rest trains; rows out of scope are `none`. Every row of a walk, augmented views
 * included, follows its walk, so a held-out photo's views never train.
 */
export function foldSplits(ds: Pick<Dataset, 'split' | 'session'>, seed: number, folds: number, scope: 'trainval' | 'all'): SplitName[][] {
  const inScope = (i: number): boolean => scope === 'all' || ds.split[i] !== 'test';
  const walks = [...new Set(ds.split.map((_, i) => i).filter(inScope).map((i) => ds.session[i] as number))].sort((a, b) => a - b);
  const order = new Rng(seed).fork(scope === 'all' ? 'oof-folds' : 'cv-folds').shuffle(walks);
  const n = Math.max(2, Math.min(folds, walks.length));
  const foldOf = new Map(order.map((w, i) => [w, i % n]));
  return Array.from({ length: n }, (_, k) => ds.split.map((_, i) => {
    if (!inScope(i)) return 'none' as SplitName;
    const f = foldOf.get(ds.session[i] as number) as number;
    return (f === k ? 'test' : n > 2 && f === (k + 1) % n ? 'val' : 'train') as SplitName;
  }));
}

/**
 * Out-of-fold scores over the session folds of {@link foldSplits}. Every held-out score is standardised by the fold
 * model's scores on the photos it did not hold out, so scores of different folds can be ranked together.
 */
export async function outOfFold(ds: Dataset, arch: Arch, seed: number, folds: number, hyper: Partial<Hyper> = {}, scope: 'trainval' | 'all' = 'trainval'): Promise<OutOfFold> {
  const out: OutOfFold = { rows: [], scores: [], folds: 0 };
  const rounds = foldSplits(ds, seed, folds, scope);
  for (const [k, split] of rounds.entries()) {
    const fds: Dataset = { ...ds, split };
    const rows = rowsOf(fds, 'test');
    // a fold whose training walks have no keeper cannot train (tiny collections); without validation keepers it
    // trains every epoch and keeps the last weights
    const trainRows = rowsOf(fds, 'train');
    if (!rows.length || !trainRows.some((r) => ds.y[r]) || trainRows.every((r) => ds.y[r])) continue;
    // a fold's own seed; wraps at 2^32, so the largest --seed works too
    const f = await fit(fds, arch, (seed + k) >>> 0, hyper);
    // the reference is every photo the fold model did not hold out (training and validation walks): most of the
    // collection, so the offset is stable (a small validation fold alone carries its walks' luck into the pooled
    // ranking); overfitting lifts mainly the training keepers, a few percent of these rows
    const ref = scoreRows(f.params, f.xs, ds.dim, [...trainRows, ...rowsOf(fds, 'val')], ds.ids);
    const held = standardize(scoreRows(f.params, f.xs, ds.dim, rows, ds.ids), 1, fitStandardizer(ref, 1, [...ref.keys()]));
    held.forEach((v, j) => { out.rows.push(rows[j] as number); out.scores.push(v); });
    out.folds++;
  }
  return out;
}

/** Out-of-fold scores of several models, aligned on the photos every one of them scored. */
export interface AlignedOutOfFold {
  /** Dataset rows (original views) scored by every model, ascending. */
  rows: number[];
  /** Per model, its standardised scores of `rows`. */
  scores: number[][];
  /** Folds trained by the model that trained fewest. */
  folds: number;
}

/**
 * {@link outOfFold} for several models on the same session folds (their datasets hold the same rows, e.g. column
 * selections of one dataset), kept to the photos all of them scored (a fold that could not train leaves its walks
 * out), so their scores can be compared photo by photo.
 */
export async function alignedOutOfFold(models: ReadonlyArray<{ ds: Dataset; arch: Arch }>, seed: number, folds: number, hyper: Partial<Hyper> = {},
  scope: 'trainval' | 'all' = 'all', onModel?: (index: number) => void): Promise<AlignedOutOfFold> {
  const by: Array<Map<number, number>> = [];
  let trained = Infinity;
  for (const [i, m] of models.entries()) {
    onModel?.(i);
    const o = await outOfFold(m.ds, m.arch, seed, folds, hyper, scope);
    by.push(new Map(o.rows.map((r, j) => [r, o.scores[j] as number])));
    trained = Math.min(trained, o.folds);
  }
  const rows = [...(by[0]?.keys() ?? [])].filter((r) => by.every((b) => b.has(r))).sort((a, b) => a - b);
  return { rows, scores: by.map((b) => rows.map((r) => b.get(r) as number)), folds: models.length ? trained : 0 };
}

/**
 * Out-of-fold AP and ROC AUC over `folds` session folds of the training and validation walks (the test walks are
 * not used), computed once over all held-out photos together: with a few keepers per fold a per-fold AP is mostly
 * noise, the pooled one counts every keeper.
 */
export async function crossValidate(ds: Dataset, arch: Arch, seed: number, folds: number, hyper: Partial<Hyper> = {}): Promise<{ ap: number; auc: number; folds: number }> {
  const o = await outOfFold(ds, arch, seed, folds, hyper, 'trainval');
  const y = o.rows.map((r) => ds.y[r] as number);
  if (!y.some(Boolean)) return { ap: NaN, auc: NaN, folds: o.folds };
  return { ap: averagePrecision(o.scores, y), auc: rocAuc(o.scores, y), folds: o.folds };
}

/**
 * The chosen architecture against logistic regression (its feature set) and the metadata-only model, each scored
 * out of fold over every walk (the same folds for all three), so every keeper counts; with paired differences.
 */
async function compareOverAllWalks(full: Dataset, results: CandidateResult[], winner: CandidateResult, seed: number, folds: number, resamples: number,
  hyper: Partial<Hyper> | undefined, onProgress?: OnProgress): Promise<AllWalks | null> {
  // logistic regression on the chosen model's own features, and the metadata-only model on context
  const lr = { arch: 'logistic' as Arch, featureSet: winner.featureSet, name: `logistic · ${winner.featureSet}` };
  const meta = results.some((c) => c.arch === 'metadata') ? { arch: 'metadata' as Arch, featureSet: 'context' as FeatureSet, name: 'metadata · context' } : undefined;
  type Entry = { arch: Arch; featureSet: FeatureSet; name: string };
  const entries: Entry[] = [winner, lr, ...(meta ? [meta] : [])];
  const o = await alignedOutOfFold(entries.map((c) => ({ ds: selectColumns(full, c.featureSet), arch: c.arch })), seed, folds, hyper, 'all',
    (i) => onProgress?.({ stage: `all walks ${entries[i]?.name}`, done: i, total: entries.length }));
  onProgress?.({ stage: 'all walks', done: entries.length, total: entries.length });
  const y = o.rows.map((r) => full.y[r] as number);
  if (!y.some(Boolean)) return null;
  const session = o.rows.map((r) => full.session[r] as number);
  const models = entries.map((c, i) => {
    const m = evaluate(o.scores[i] as number[], y, session, { resamples, seed });
    return { name: c.name, arch: c.arch, featureSet: c.featureSet, ap: m.ap, auc: m.auc, pairAcc: m.session_pair_acc };
  });
  const diff = (c: Entry | undefined): Estimate | null => {
    const i = c ? entries.indexOf(c) : -1;
    return i > 0 ? pairedApDifference(o.scores[0] as number[], o.scores[i] as number[], y, session, { resamples, seed }) : null;
  };
  const photos = full.views.filter((v) => v === 0).length;
  return {
    folds: o.folds, photos: o.rows.length, unscored: photos - o.rows.length, keepers: y.filter(Boolean).length,
    models, vsLogistic: diff(lr), vsMetadata: diff(meta),
  };
}

/** The experiments of a comparison: every candidate on each feature set, the baselines on theirs. */
function plan(hasVector: boolean): Array<{ arch: Arch; featureSet: FeatureSet }> {
  if (!hasVector) {
    return [...CANDIDATES.map((arch) => ({ arch, featureSet: 'descriptor+context' as FeatureSet })), { arch: 'logistic', featureSet: 'descriptor+context' },
      { arch: 'metadata', featureSet: 'context' }, { arch: 'chance', featureSet: 'context' }];
  }
  const sets: FeatureSet[] = ['vector', 'vector+descriptor', 'vector+descriptor+context'];
  return [
    ...sets.map((featureSet) => ({ arch: 'pairwise' as Arch, featureSet })),
    ...sets.map((featureSet) => ({ arch: 'contrastive' as Arch, featureSet })),
    { arch: 'contrastive-multi', featureSet: 'vector+descriptor+context' },
    // logistic regression on every feature set a candidate uses: the winner is compared on its own features
    ...sets.map((featureSet) => ({ arch: 'logistic' as Arch, featureSet })),
    { arch: 'metadata', featureSet: 'context' },
    { arch: 'chance', featureSet: 'vector+descriptor+context' },
  ];
}

/** Saved keeper model: everything `flux score` and the ONNX export need. */
export interface KeeperModel {
  id: string;
  arch: Arch;
  featureSet: FeatureSet;
  embeddingModel: string | null;
  seed: number;
  /** The seed of the split by walk it was trained, calibrated and tested on (absent in models saved before it was recorded). */
  splitSeed?: number;
  hyper: Partial<Hyper>;
  backend: string;
  scheme: string;
  names: string[];
  dim: number;
  standardizer: { mean: number[]; std: number[] };
  params: ScorerParams;
  calibration: CalibrationChoice;
  threshold: { rule: string; value: number | null };
  createdAt: string;
}

/** Writes `keeper-<id>/`: config.json, weights.json, calibration.json, metrics.json, model.onnx. */
export function saveModel(dir: string, model: KeeperModel, metrics: unknown): void {
  mkdirSync(dir, { recursive: true });
  const { params, standardizer, calibration, ...config } = model;
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify({ ...config, names: undefined, columns: model.names.length, calibration: calibration.calibration.method }, null, 2));
  writeFileAtomic(join(dir, 'weights.json'), JSON.stringify({ names: model.names, standardizer, params }));
  writeFileAtomic(join(dir, 'calibration.json'), JSON.stringify(calibration, null, 2));
  writeFileAtomic(join(dir, 'metrics.json'), JSON.stringify(metrics, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2));
  writeFileAtomic(join(dir, 'model.onnx'), modelGraph(model));
}

/** The model's ONNX graph (features in, keeper score out). */
export function modelGraph(model: KeeperModel): Uint8Array {
  const std = { mean: Float32Array.from(model.standardizer.mean), std: Float32Array.from(model.standardizer.std) };
  return scorerGraph(model.dim, std, model.params, model.calibration.calibration, {
    keeper_model: model.id, arch: model.arch, feature_set: model.featureSet, embedding_model: model.embeddingModel ?? '', seed: String(model.seed),
    ...(model.splitSeed !== undefined ? { split_seed: String(model.splitSeed) } : {}),
    feature_names: model.names.filter((n) => !/^v\d+$/.test(n)).join(','),
  });
}

/**
 * Runs the comparison (or one architecture), saves the chosen model, and (unless `score: false`) rescores every
 * photo with it, so `photos.keeper_score` always comes from the current model.
 */
export async function train(options: TrainOptions): Promise<TrainReport> {
  const report = await trainOnly(options);
  if (options.score !== false) report.scored = (await score({ db: options.db, modelDir: report.dir })).counts;
  return report;
}

async function trainOnly(options: TrainOptions): Promise<TrainReport> {
  const t0 = performance.now();
  const seed = checkInt('--seed', options.seed ?? 7, 0, 0xffffffff);
  const arch = checkChoice('--arch', options.arch ?? 'compare', [...ARCHS, 'compare'] as const);
  if (arch === 'chance') throw new FluxError('--arch: chance is a baseline, not a model to keep; choose pairwise, contrastive, contrastive-multi, logistic or metadata');
  const resamples = checkInt('--resamples', options.resamples ?? 200, 10, 100000);
  // settings checked before any work, not when the first model trains
  checkHyper(options.hyper);
  if (options.targetPrecision !== undefined && options.budget !== undefined) {
    throw new FluxError('--target-precision and --budget: give one rule for the auto-surface threshold, not both');
  }
  if (options.targetPrecision !== undefined) checkNumber('--target-precision', options.targetPrecision, 0.01, 1);
  if (options.budget !== undefined) checkNumber('--budget', options.budget, 0.0001, 1);
  const backend = await initBackend(options.backend);
  const db = await Db.openIndex(options.db);
  try {
    const workspace = await workspaceOf(db);
    // refused before any training, not after it
    assertOutsideArchive('--models-dir', modelsRoot(options.modelsDir), await archiveRoots(db));
    checkWritableDir(options.modelsDir !== undefined ? '--models-dir' : 'the models folder', modelsRoot(options.modelsDir), 'choose another with --models-dir (or FLUX_MODELS)');
    const keepers = await db.value<number>('SELECT count(*) FROM photos WHERE keeper');
    if (!keepers) throw new FluxError(`${options.db}: no photo is marked as a keeper; run flux match first`);
    const modelId = options.model ?? defaultModel()?.spec.id ?? null;
    const hasVector = modelId !== null && vectorGlob(workspace, modelId, 'photos') !== null;
    if (options.model && !hasVector) throw new FluxError(`--model: no vectors of ${options.model} under ${workspace}/embeddings; run flux embed --model ${options.model} first`);
    const fullSet: FeatureSet = hasVector ? 'vector+descriptor+context' : 'descriptor+context';
    if (options.featureSet?.includes('vector') && !hasVector) throw new FluxError(`--features ${options.featureSet}: no embedding vectors; run flux embed with a model, or use descriptor+context`);
    const full = await loadDataset(db, workspace, { featureSet: fullSet, modelId: hasVector ? modelId : null, scheme: 'session', seed });
    // a model learns from the training walks' keepers, is calibrated on the validation walks' and judged on the test
    // walks': with none in one of them its metrics and its score would mean nothing
    const bySplit = (['train', 'val', 'test'] as const).map((s) => rowsOf(full, s).filter((r) => full.y[r]).length);
    if (bySplit.some((k) => k === 0)) {
      const walks = new Set(rowsOf(full, 'train').concat(rowsOf(full, 'val'), rowsOf(full, 'test')).filter((r) => full.y[r]).map((r) => full.session[r])).size;
      throw new FluxError(`${options.db}: ${plural(keepers, 'keeper')} in ${plural(walks, 'walk')}; the split by walk (80/10/10) left ${bySplit[0]} in the training, ` +
        `${bySplit[1]} in the validation and ${bySplit[2]} in the test walks, and training needs keepers in all three: link more keepers (flux match), ` +
        'from at least three walks, before training');
    }
    const experiments = arch === 'compare' ? plan(hasVector) : [{ arch, featureSet: arch === 'metadata' ? 'context' as FeatureSet : options.featureSet ?? fullSet }];
    const results: CandidateResult[] = [];
    const fitted = new Map<string, Fitted>();
    const valKeepers = rowsOf(full, 'val').filter((r) => full.y[r]).length;
    let selection = options.selection === undefined || options.selection === 'auto' ? (valKeepers < 30 && arch === 'compare' ? 'cv' : 'validation') : options.selection;
    const folds = checkInt('--folds', options.folds ?? 5, 3, 50);
    let done = 0;
    for (const e of experiments) {
      options.onProgress?.({ stage: `train ${e.arch} · ${e.featureSet}`, done, total: experiments.length });
      const ds = selectColumns(full, e.featureSet);
      const f = await fit(ds, e.arch, seed, options.hyper);
      const r = assess(ds, f, seed, resamples);
      if (selection === 'cv' && e.arch !== 'chance') r.cv = await crossValidate(ds, e.arch, seed, folds, options.hyper);
      results.push(r);
      fitted.set(r.name, f);
      done++;
    }
    options.onProgress?.({ stage: 'train', done, total: experiments.length });
    const pool = results.filter((r) => arch !== 'compare' || CANDIDATES.includes(r.arch));
    // cross-validation that could not score any keeper (a handful of walks) leaves validation AP to decide
    if (selection === 'cv' && !pool.some((r) => Number.isFinite(r.cv?.ap))) selection = 'validation';
    const key = (r: CandidateResult): number => {
      const v = selection === 'cv' ? r.cv?.ap : r.valAp;
      return typeof v === 'number' && Number.isFinite(v) ? v : -1;
    };
    const winner = pool.reduce((a, b) => (key(b) > key(a) ? b : a));
    const wf = fitted.get(winner.name) as Fitted;
    // the photo-level split: the same model on frames dealt independently (burst siblings straddle splits)
    let photoSplit: TrainReport['photoSplit'] = null;
    if (!options.skipPhotoSplit) {
      const pds = selectColumns(await loadDataset(db, workspace, { featureSet: fullSet, modelId: hasVector ? modelId : null, scheme: 'photo', seed }), winner.featureSet);
      const pr = assess(pds, await fit(pds, winner.arch, seed, options.hyper), seed, resamples);
      photoSplit = { ap: pr.test.ap, sessionAp: winner.test.ap };
    }
    // by default only when the test walks hold fewer than 100 keepers: beyond that the test split decides alone
    const testKeepers = rowsOf(full, 'test').filter((r) => full.y[r]).length;
    const allWalks = arch === 'compare' && (options.allWalks ?? testKeepers < 100)
      ? await compareOverAllWalks(full, results, winner, seed, folds, resamples, options.hyper, options.onProgress) : null;
    // the threshold on validation probabilities
    const ds = selectColumns(full, winner.featureSet);
    const val = rowsOf(ds, 'val');
    const xs = standardize(ds.x, ds.dim, wf.standardizer);
    const calibration = winner.calibration as CalibrationChoice;
    const vprob = calibrateAll(calibration.calibration, scoreRows(wf.params, xs, ds.dim, val, ds.ids));
    const rule = options.budget !== undefined ? { budget: options.budget } : { targetPrecision: options.targetPrecision ?? 0.8 };
    const point = chooseThreshold(vprob, val.map((r) => ds.y[r] as number), rule);
    const test = rowsOf(ds, 'test');
    const tprob = calibrateAll(calibration.calibration, scoreRows(wf.params, xs, ds.dim, test, ds.ids));
    const curve = tradeoff(vprob, val.map((r) => ds.y[r] as number));
    const thin = curve.filter((_, i) => curve.length <= 200 || i % Math.ceil(curve.length / 200) === 0 || i === curve.length - 1);
    const ruleText = 'budget' in rule ? `review budget ${rule.budget}` : `precision >= ${rule.targetPrecision} on validation`;
    const counts = {
      rows: full.ids.length, photos: rowsOf(full, 'train').length + rowsOf(full, 'val').length + rowsOf(full, 'test').length,
      keepers: [...full.y].filter((v, i) => v && full.views[i] === 0).length,
      train: rowsOf(full, 'train').length, val: val.length, test: rowsOf(full, 'test').length,
      testKeepers, keeperRate: 0, missingVector: full.missingVector,
    };
    counts.keeperRate = counts.keepers / Math.max(1, counts.photos);
    const hyper = options.hyper ?? {};
    const id = `${winner.arch}-${sha256(JSON.stringify({ a: winner.arch, f: winner.featureSet, m: modelId, seed, splitSeed: full.splitSeed, hyper, rule, n: counts, ids: sha256(full.ids.join(',')) })).slice(0, 10)}`;
    const dir = join(modelsRoot(options.modelsDir), `keeper-${id}`);
    const model: KeeperModel = {
      id, arch: winner.arch, featureSet: winner.featureSet, embeddingModel: winner.featureSet.includes('vector') ? modelId : null, seed, splitSeed: full.splitSeed, hyper,
      backend: backend.name, scheme: 'session', names: wf.names, dim: wf.names.length,
      standardizer: { mean: Array.from(wf.standardizer.mean), std: Array.from(wf.standardizer.std) }, params: wf.params, calibration,
      threshold: { rule: ruleText, value: point?.threshold ?? null }, createdAt: new Date().toISOString(),
    };
    const report: TrainReport = {
      id, dir, backend: backend.name, seed, embeddingModel: modelId, winner, results, selection: selection === 'cv' ? `out-of-fold AP over ${folds} session folds of the training and validation walks` : 'validation AP', allWalks, photoSplit, threshold: { rule: ruleText, point, test: point ? atThreshold(tprob, test.map((r) => ds.y[r] as number), point.threshold) : null }, data: counts,
      split: { seed: full.splitSeed, note: full.splitNote },
      reliability: reliability(tprob, test.map((r) => ds.y[r] as number)), tradeoff: thin, scored: null,
      seconds: (performance.now() - t0) / 1000,
    };
    saveModel(dir, model, { ...report, results: results.map((r) => ({ ...r })) });
    await recordModelDir(db, 'keeper_model', dir);
    await writeComparison(db, report);
    return report;
  } finally {
    db.close();
  }
}

/** The comparison as a table in the database, for the notebooks and the report. */
async function writeComparison(db: Db, r: TrainReport): Promise<void> {
  await db.run(`CREATE OR REPLACE TABLE ranker_comparison (keeper_model VARCHAR, model VARCHAR, arch VARCHAR, feature_set VARCHAR, winner BOOLEAN,
    val_ap DOUBLE, metric VARCHAR, value DOUBLE, lo DOUBLE, hi DOUBLE, calibration VARCHAR)`);
  const rows = r.results.flatMap((c) => (Object.entries(c.test) as Array<[MetricName, Metrics[MetricName]]>).map(([m, e]) => [
    r.id, c.name, c.arch, c.featureSet, c.name === r.winner.name, fin(c.valAp), m, fin(e.value), fin(e.lo), fin(e.hi), c.calibration?.calibration.method ?? null,
  ]));
  // the all-walks comparison: metrics all_walks_ap and all_walks_auc (out of fold over every walk)
  for (const m of r.allWalks?.models ?? []) {
    const c = r.results.find((x) => x.name === m.name);
    for (const [metric, e] of [['all_walks_ap', m.ap], ['all_walks_auc', m.auc]] as const) {
      rows.push([r.id, m.name, m.arch, m.featureSet, m.name === r.winner.name, fin(c?.valAp ?? NaN), metric, fin(e.value), fin(e.lo), fin(e.hi), c?.calibration?.calibration.method ?? null]);
    }
  }
  await db.insert('ranker_comparison', ['keeper_model', 'model', 'arch', 'feature_set', 'winner', 'val_ap', 'metric', 'value', 'lo', 'hi', 'calibration'], rows);
}

const fin = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** A number as text with 3 decimals, or n/a (NaN is stored as null in metrics.json). */
const n3 = (v: number | null | undefined): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : 'n/a');
const est = (e: { value: number; lo: number; hi: number }): string => (Number.isFinite(e.value) ? `${n3(e.value)} [${n3(e.lo)}, ${n3(e.hi)}]` : 'n/a');

/** A paired AP difference in words: ahead or behind, and whether its interval leaves zero. */
export function apWord(e: Estimate | null): string {
  if (!e || !Number.isFinite(e.value)) return 'n/a';
  const sign = `${e.value >= 0 ? '+' : ''}${n3(e.value)} [${n3(e.lo)}, ${n3(e.hi)}]`;
  const word = e.value > 0 ? (e.lo > 0 ? 'ahead' : 'ahead within the noise') : e.value < 0 ? (e.hi < 0 ? 'behind' : 'behind within the noise') : 'level';
  return `${word} (${sign})`;
}

/** Which ranker won and why, in words (the CLI and the comparison notebook print it). */
export function verdict(r: TrainReport): string {
  // a baseline of several variants is named by the figure the winner was chosen by, never by its test AP
  const chosenBy = (c: CandidateResult): number => {
    const v = r.selection === 'validation AP' ? c.valAp : c.cv?.ap ?? c.valAp;
    return typeof v === 'number' && Number.isFinite(v) ? v : -1;
  };
  const by = (arch: Arch): CandidateResult | undefined => r.results.filter((c) => c.arch === arch).sort((a, b) => chosenBy(b) - chosenBy(a))[0];
  const w = r.winner;
  const lr = r.results.find((c) => c.arch === 'logistic' && c.featureSet === w.featureSet) ?? by('logistic');
  const meta = by('metadata');
  const chance = by('chance');
  const byCv = r.selection !== 'validation AP' && w.cv;
  const lines = [`Chosen: ${w.name}, by ${r.selection}${byCv ? ` (${n3(w.cv?.ap)}, ROC AUC ${n3(w.cv?.auc)})` : ` (${n3(w.valAp)})`}.`];
  // by name: a report read back from metrics.json holds copies, not the winner itself
  const others = r.results.filter((c) => CANDIDATES.includes(c.arch) && c.name !== w.name);
  if (others.length) {
    const runner = others.sort((a, b) => (r.selection === 'validation AP' ? b.valAp - a.valAp : (b.cv?.ap ?? 0) - (a.cv?.ap ?? 0)))[0] as CandidateResult;
    lines.push(`Runner-up: ${runner.name} (${n3(r.selection === 'validation AP' ? runner.valAp : runner.cv?.ap)}).`);
  }
  lines.push(`On the held-out test walks its AP is ${est(w.test.ap)}` +
    (lr ? `, against ${est(lr.test.ap)} for ${lr.name}` : '') + (meta ? `, ${est(meta.test.ap)} for the metadata-only model` : '') +
    (chance ? ` and ${est(chance.test.ap)} for chance` : '') + ` (chance AP is about the test keeper rate, ${((r.data.testKeepers / Math.max(1, r.data.test)) * 100).toFixed(1)}%: ${plural(r.data.testKeepers, 'keeper')} in ${r.data.test} photos).`);
  const beats = (o?: CandidateResult): string => (!o ? 'n/a' : w.test.ap.value > o.test.ap.value ? (w.test.ap.lo > o.test.ap.hi ? 'yes, with intervals apart' : 'higher, but the intervals overlap') : 'no');
  lines.push(`Beats logistic regression on test AP: ${beats(lr)}; beats the metadata-only model: ${beats(meta)}.`);
  const a = r.allWalks;
  if (a) {
    const [cw, ...base] = a.models;
    lines.push(`Over all walks, each held out once in ${a.folds} session folds (${a.keepers} keepers in ${a.photos} photos${a.unscored ? `; ${a.unscored} photos in walks no fold could train on left out` : ''}), its out-of-fold AP is ${cw ? est(cw.ap) : 'n/a'}` +
      base.map((m) => `, ${est(m.ap)} for ${m.arch === 'metadata' ? 'the metadata-only model' : m.name}`).join('') + '.');
    lines.push(`Difference in AP over all walks (paired session bootstrap): against logistic regression ${apWord(a.vsLogistic)}; against the metadata-only model ${apWord(a.vsMetadata)}. ` +
      'The architecture was chosen on the training and validation walks, which make up most of these folds, so this comparison leans its way a little.');
  }
  const pairAcc = w.test.session_pair_acc.value;
  lines.push(`Within a walk it orders a keeper above a non-keeper ${pairAcc !== null && Number.isFinite(pairAcc) ? `${(100 * pairAcc).toFixed(0)}% of the time` : 'an unknown share of the time (no test walk has both)'}; calibrated by ${w.calibration?.calibration.method}, its test ECE is ${est(w.test.ece)}.`);
  if (r.photoSplit) {
    const gain = r.photoSplit.ap.value - r.photoSplit.sessionAp.value;
    lines.push(`Dealing frames to splits one by one instead of whole walks ${gain > 0 ? 'flatters' : 'changes'} the test AP by ${gain >= 0 ? '+' : ''}${gain.toFixed(3)} (${est(r.photoSplit.ap)} against ${est(r.photoSplit.sessionAp)}).`);
  }
  if (r.data.keepers < 300) lines.push(`With ${r.data.keepers} keepers the intervals are wide: treat the order of close models as unsettled.`);
  return lines.join('\n');
}

/** What surfacing every photo scoring at least `t` does on held-out rows. */
function atThreshold(prob: ArrayLike<number>, y: ArrayLike<number>, t: number): { surfaced: number; budget: number; precision: number | null; recall: number | null } {
  let surfaced = 0, hits = 0, keepers = 0;
  for (let i = 0; i < prob.length; i++) {
    keepers += y[i] as number;
    if ((prob[i] as number) >= t) {
      surfaced++;
      hits += y[i] as number;
    }
  }
  return { surfaced, budget: surfaced / Math.max(1, prob.length), precision: surfaced ? hits / surfaced : null, recall: keepers ? hits / keepers : null };
}

/** The comparison as a text table (what the CLI prints). */
export function formatTrain(r: TrainReport): string {
  const cvCol = r.results.some((c) => c.cv);
  const lines = [
    `backend ${r.backend}; seed ${r.seed}; embedding ${r.embeddingModel ?? 'none (pixel descriptor and context only)'}`,
    `data: ${r.data.photos} photos, ${r.data.keepers} keepers (rate ${r.data.keeperRate.toFixed(4)}); train ${r.data.train}, val ${r.data.val}, test ${r.data.test} (split by walk, seed ${r.split.seed})`,
    ...(r.split.note ? [`note: ${r.split.note}`] : []),
    '',
    `${'model'.padEnd(46)} ${'val AP'.padStart(6)} ${cvCol ? `${'cv AP'.padStart(6)} ` : ''} ${'test AP [95% CI]'.padEnd(22)} ${'ROC AUC'.padEnd(22)} ${'P@36'.padStart(5)} ${'P@5%'.padStart(5)} ${'in-walk pairs'.padEnd(22)} ${'NDCG/walk'.padStart(9)} ECE`,
  ];
  for (const c of [...r.results].sort((a, b) => b.test.ap.value - a.test.ap.value)) {
    lines.push(`${(c.name + (c.name === r.winner.name ? ' *' : '')).padEnd(46)} ${n3(c.valAp).padStart(6)} ${cvCol ? `${(c.cv ? n3(c.cv.ap) : '').padStart(6)} ` : ''} ${est(c.test.ap).padEnd(22)} ${est(c.test.auc).padEnd(22)} ` +
      `${n3(c.test.p_at_36.value).padStart(5)} ${n3(c.test.p_at_5pct.value).padStart(5)} ${est(c.test.session_pair_acc).padEnd(22)} ${n3(c.test.session_ndcg.value).padStart(9)} ${n3(c.test.ece.value)}`);
  }
  lines.push('', `${r.results.length > 1 ? `* chosen among the candidates (pairwise, contrastive) by ${r.selection}` : '* the one model asked for (--arch)'}. Intervals: session bootstrap, 95%.`);
  lines.push(verdict(r));
  const tt = r.threshold.test;
  lines.push(`Auto-surface threshold (${r.threshold.rule}): ${r.threshold.point ? `${r.threshold.point.threshold.toFixed(3)} (validation precision ${r.threshold.point.precision.toFixed(2)}, recall ${r.threshold.point.recall.toFixed(2)}, ${(100 * r.threshold.point.budget).toFixed(1)}% of photos surfaced)` +
    (tt ? `; on the test walks it surfaces ${tt.surfaced} photos (${(100 * tt.budget).toFixed(1)}%), precision ${tt.precision === null ? 'n/a' : tt.precision.toFixed(2)}, recall ${tt.recall === null ? 'n/a' : tt.recall.toFixed(2)}` : '')
    : 'no threshold reaches the target on validation; nothing is surfaced automatically'}`);
  lines.push(`model written to ${r.dir}`);
  if (r.scored) lines.push(`photos rescored: ${Object.entries(r.scored).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return lines.join('\n');
}
