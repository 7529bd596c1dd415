/**
 * Out-of-fold scoring over session folds: every walk in scope is held out once, its photos scored by a model that
 * never saw the walk, so every keeper counts in the comparison and no frame of a held-out walk trains.
 */
import { fitStandardizer, standardize, type Dataset } from '../4-dataset/rows.js';
import type { SplitName } from '../4-dataset/split.js';
import { Rng } from '../util/rng.js';
import { fit, fittingRows, rowsOf } from './fit.js';
import { averagePrecision, rocAuc } from './metrics.js';
import { bestSetting, innerView, pooledAp } from './nested.js';
import { scoreRows, type Arch, type Hyper } from './scorers.js';

/** Held-out scores of every photo in some walks, each walk held out once (see {@link outOfFold}). */
export interface OutOfFold {
  /** Dataset rows (original views) that were held out, with their standardised scores. */
  rows: number[];
  scores: number[];
  /** Folds that could be trained (a fold needs keepers and non-keepers in its training walks). */
  folds: number;
  /** With nested tuning, the grid index chosen in each trained fold. */
  chosen?: number[];
}

/** Nested tuning inside each fold: the settings to try (see nested.ts) and the inner session folds. */
export interface FoldTuning {
  grid: ReadonlyArray<Partial<Hyper>>;
  innerFolds: number;
}

/**
 * The splits of session-fold cross-validation: the walks in scope (`trainval`: those of the training and validation
 * splits, the test walks untouched; `all`: every walk) are dealt to `folds` folds (at least 2, at most one per walk)
 * stratified by keeper count: the walks, in a seeded order, sorted by their keepers (largest first), every `folds`
 * consecutive walks spread over the folds in a seeded random order, so each fold gets its share of keepers.
 * `repeat` draws another dealing (repeated cross-validation). In round k fold k is held out (`test`), the next fold
 * validates (early stopping; with two folds there is none) and the rest trains; rows out of scope are `none`. Every
 * row of a walk, augmented views included, follows its walk, so a held-out photo's views never train. Rows from
 * the photographer's review decisions (`decided`) are never dealt: they train in every round.
 */
export function foldSplits(
  ds: Pick<Dataset, 'split' | 'session' | 'decided'> & { y?: ArrayLike<number>; views?: ArrayLike<number> },
  seed: number,
  folds: number,
  scope: 'trainval' | 'all',
  repeat = 0,
): SplitName[][] {
  // rows from review decisions are never held out: they train in every round; rows an outer round left out
  // (`none`: the test walks of a `trainval` round, seen by nested tuning) stay out of every inner fold
  const inScope = (i: number): boolean =>
    !ds.decided?.[i] && (ds.split[i] as string) !== 'none' && (scope === 'all' || ds.split[i] !== 'test');
  const rows = ds.split.map((_, i) => i).filter(inScope);
  const keepers = new Map<number, number>();
  for (const i of rows) {
    const w = ds.session[i] as number;
    // a walk's keepers, each counted once: an augmented view of a keeper is not another keeper
    keepers.set(w, (keepers.get(w) ?? 0) + (ds.y?.[i] && !ds.views?.[i] ? 1 : 0));
  }
  const walks = [...keepers.keys()].sort((a, b) => a - b);
  const rng = new Rng(seed).fork(`${scope === 'all' ? 'oof-folds' : 'cv-folds'}${repeat ? `:${repeat}` : ''}`);
  const order = rng.shuffle(walks).sort((a, b) => (keepers.get(b) as number) - (keepers.get(a) as number));
  const n = Math.max(2, Math.min(folds, walks.length));
  const foldOf = new Map<number, number>();
  for (let b = 0; b * n < order.length; b++) {
    const ids = rng.fork(`stratum:${b}`).shuffle(Array.from({ length: n }, (_, f) => f));
    order.slice(b * n, (b + 1) * n).forEach((w, j) => foldOf.set(w, ids[j] as number));
  }
  return Array.from({ length: n }, (_, k) =>
    ds.split.map((_, i) => {
      if (ds.decided?.[i]) return 'train' as SplitName;
      if (!inScope(i)) return 'none' as SplitName;
      const f = foldOf.get(ds.session[i] as number) as number;
      return (f === k ? 'test' : n > 2 && f === (k + 1) % n ? 'val' : 'train') as SplitName;
    }),
  );
}

/**
 * Out-of-fold scores over the session folds of {@link foldSplits}. A learner without early stopping (the plain
 * baseline, logistic regression solved exactly) has no use for the validation fold: it trains on it, as its final
 * model does, so every learner learns from the walks a fold does not hold out. Every held-out score is standardised
 * by the fold model's scores on the photos it did not hold out, so scores of different folds can be ranked together.
 */
export async function outOfFold(
  ds: Dataset,
  arch: Arch,
  seed: number,
  folds: number,
  hyper: Partial<Hyper> = {},
  scope: 'trainval' | 'all' = 'trainval',
  repeat = 0,
  tune?: FoldTuning,
): Promise<OutOfFold> {
  const out: OutOfFold = { rows: [], scores: [], folds: 0, ...(tune ? { chosen: [] } : {}) };
  const rounds = foldSplits(ds, seed, folds, scope, repeat);
  for (const [k, split] of rounds.entries()) {
    const fds: Dataset = { ...ds, split };
    const rows = rowsOf(fds, 'test');
    // a fold whose training walks have no keeper cannot train (tiny collections); without validation keepers it
    // trains every epoch and keeps the last weights
    const trainRows = rowsOf(fds, 'train');
    if (!rows.length || !trainRows.some((r) => ds.y[r]) || trainRows.every((r) => ds.y[r])) continue;
    // a fold's own seed; wraps at 2^32, so the largest --seed works too
    const foldSeed = (seed + 1009 * repeat + k) >>> 0;
    const setting = tune ? await tuneFold(fds, arch, foldSeed, hyper, tune) : 0;
    out.chosen?.push(setting);
    const h = { ...hyper, ...tune?.grid[setting] };
    const f = await fit(fittingRows(fds, arch, h), arch, foldSeed, h);
    // the reference is every photo the fold model did not hold out (training and validation walks): most of the
    // collection, so the offset is stable (a small validation fold alone carries its walks' luck into the pooled
    // ranking); overfitting lifts mainly the training keepers, a few percent of these rows
    const ref = scoreRows(f.params, f.xs, ds.dim, [...trainRows, ...rowsOf(fds, 'val')], ds.ids);
    const held = standardize(
      scoreRows(f.params, f.xs, ds.dim, rows, ds.ids),
      1,
      fitStandardizer(ref, 1, [...ref.keys()]),
    );
    held.forEach((v, j) => {
      out.rows.push(rows[j] as number);
      out.scores.push(v);
    });
    out.folds++;
  }
  return out;
}

/**
 * The setting of `tune.grid` with the best pooled out-of-fold AP over inner session folds of the outer fold's
 * training and validation walks (its held-out walks never enter). One setting is not tuned.
 */
async function tuneFold(
  fds: Dataset,
  arch: Arch,
  seed: number,
  hyper: Partial<Hyper>,
  tune: FoldTuning,
): Promise<number> {
  if (tune.grid.length <= 1) return 0;
  const inner = innerView(fds, fds.split);
  const aps: number[] = [];
  for (const g of tune.grid) {
    const o = await outOfFold(inner, arch, (seed ^ 0x5bd1e995) >>> 0, tune.innerFolds, { ...hyper, ...g });
    aps.push(
      pooledAp(
        o.scores,
        o.rows.map((r) => inner.y[r] as number),
      ),
    );
  }
  return bestSetting(aps);
}

/** Out-of-fold scores of several models, aligned on the photos every one of them scored. */
export interface AlignedOutOfFold {
  /** Dataset rows (original views) scored by every model, ascending. */
  rows: number[];
  /** Per model, its standardised scores of `rows`. */
  scores: number[][];
  /** Folds trained by the model that trained fewest. */
  folds: number;
  /** With nested tuning, per model the grid index chosen in each of its trained folds. */
  chosen: number[][];
}

/**
 * {@link outOfFold} for several models on the same session folds (their datasets hold the same rows, e.g. column
 * selections of one dataset), kept to the photos all of them scored (a fold that could not train leaves its walks
 * out), so their scores can be compared photo by photo.
 */
export async function alignedOutOfFold(
  models: ReadonlyArray<{ ds: Dataset; arch: Arch; hyper?: Partial<Hyper>; tune?: FoldTuning }>,
  seed: number,
  folds: number,
  hyper: Partial<Hyper> = {},
  scope: 'trainval' | 'all' = 'all',
  onModel?: (index: number) => void,
  repeat = 0,
): Promise<AlignedOutOfFold> {
  const by: Array<Map<number, number>> = [];
  const chosen: number[][] = [];
  let trained = Infinity;
  for (const [i, m] of models.entries()) {
    onModel?.(i);
    const o = await outOfFold(m.ds, m.arch, seed, folds, { ...hyper, ...m.hyper }, scope, repeat, m.tune);
    by.push(new Map(o.rows.map((r, j) => [r, o.scores[j] as number])));
    chosen.push(o.chosen ?? []);
    trained = Math.min(trained, o.folds);
  }
  const rows = [...(by[0]?.keys() ?? [])].filter((r) => by.every((b) => b.has(r))).sort((a, b) => a - b);
  const scores = by.map((b) => rows.map((r) => b.get(r) as number));
  return { rows, scores, folds: models.length ? trained : 0, chosen };
}

/**
 * Out-of-fold AP and ROC AUC over `folds` session folds of the training and validation walks (the test walks are
 * not used), computed once over all held-out photos together: with a few keepers per fold a per-fold AP is mostly
 * noise, the pooled one counts every keeper.
 */
export async function crossValidate(
  ds: Dataset,
  arch: Arch,
  seed: number,
  folds: number,
  hyper: Partial<Hyper> = {},
): Promise<{ ap: number; auc: number; folds: number }> {
  const o = await outOfFold(ds, arch, seed, folds, hyper, 'trainval');
  const y = o.rows.map((r) => ds.y[r] as number);
  if (!y.some(Boolean)) return { ap: NaN, auc: NaN, folds: o.folds };
  return { ap: averagePrecision(o.scores, y), auc: rocAuc(o.scores, y), folds: o.folds };
}
