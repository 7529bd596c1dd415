/**
 * The comparison: which rankers are trained (the plan), training and judging each, choosing the candidate by
 * validation AP or out-of-fold AP, and holding the choice against logistic regression and the metadata-only model
 * out of fold over every walk, with paired differences.
 */
import { withPeople, type Dataset, type FeatureSet } from '../4-dataset/rows.js';
import type { OnProgress } from '../util/progress.js';
import { assess, fit, rowsOf, selectColumns, type CandidateResult, type Fitted } from './fit.js';
import { alignedOutOfFold, crossValidate } from './folds.js';
import { evaluate, pairedApDifference, type Estimate } from './metrics.js';
import { CANDIDATES, type Arch, type Hyper } from './scorers.js';
import type { Contender } from './decide.js';

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

export type Experiment = { arch: Arch; featureSet: FeatureSet };

/**
 * The experiments of a comparison: every candidate on each feature set, the baselines on theirs; with `people`
 * (the corpus has been through flux detect), the candidates and logistic regression on the fullest set once more
 * with the people columns.
 */
export function plan(hasVector: boolean, people = false): Experiment[] {
  const fullSet: FeatureSet = hasVector ? 'vector+descriptor+context' : 'descriptor+context';
  const peopleSet = people ? withPeople(fullSet) : null;
  const withPeopleRuns: Experiment[] = peopleSet
    ? [...CANDIDATES, 'logistic' as Arch].map((arch) => ({ arch, featureSet: peopleSet }))
    : [];
  return [...basePlan(hasVector), ...withPeopleRuns, ...withoutVector(hasVector && people)];
}

function basePlan(hasVector: boolean): Experiment[] {
  if (!hasVector) {
    return [
      ...CANDIDATES.map((arch) => ({ arch, featureSet: 'descriptor+context' as FeatureSet })),
      { arch: 'logistic', featureSet: 'descriptor+context' },
      { arch: 'pca-logistic', featureSet: 'descriptor+context' },
      { arch: 'metadata', featureSet: 'context' },
      { arch: 'chance', featureSet: 'context' },
    ];
  }
  const sets: FeatureSet[] = ['vector', 'vector+descriptor', 'vector+descriptor+context'];
  return [
    ...sets.map((featureSet) => ({ arch: 'pairwise' as Arch, featureSet })),
    ...sets.map((featureSet) => ({ arch: 'contrastive' as Arch, featureSet })),
    { arch: 'contrastive-multi', featureSet: 'vector+descriptor+context' },
    // logistic regression on every feature set a candidate uses: the winner is compared on its own features
    ...sets.map((featureSet) => ({ arch: 'logistic' as Arch, featureSet })),
    // the plain strong baseline of the decision rule: the vector alone, PCA to 32 dimensions, L2 logistic regression
    { arch: 'pca-logistic', featureSet: 'vector' },
    { arch: 'metadata', featureSet: 'context' },
    { arch: 'chance', featureSet: 'vector+descriptor+context' },
  ];
}

/**
 * Who the decision rule compares: the plain baseline (PCA logistic regression on the vector, or on the descriptor
 * and context without one) against every candidate and logistic regression on the fullest feature set, and with
 * `people` each of them again with the people columns (on the same folds, so each pair is compared directly), and
 * logistic regression on the descriptor and context without and with them.
 */
export function ruleContenders(
  hasVector: boolean,
  fullSet: FeatureSet,
  people = false,
): { baseline: Contender; contenders: Contender[] } {
  const named = (arch: Arch, featureSet: FeatureSet): Contender => ({
    name: `${arch} · ${featureSet}`,
    arch,
    featureSet,
  });
  return {
    baseline: named('pca-logistic', hasVector ? 'vector' : 'descriptor+context'),
    contenders: [fullSet, people ? withPeople(fullSet) : null]
      .filter((fs): fs is FeatureSet => fs !== null)
      .flatMap((fs) => [...CANDIDATES, 'logistic' as Arch].map((a) => named(a, fs)))
      .concat(withoutVector(hasVector && people).map((e) => named(e.arch, e.featureSet))),
  };
}

/**
 * With the people columns beside a vector: logistic regression on the descriptor and context alone, without and
 * with them (a few dozen columns that carry the taste's composition terms, against 1,300 that bury them).
 */
function withoutVector(on: boolean): Experiment[] {
  const sets: FeatureSet[] = ['descriptor+context', 'descriptor+context+people'];
  return on ? sets.map((featureSet) => ({ arch: 'logistic' as Arch, featureSet })) : [];
}

/** What the experiments gave: each one's figures, its fitted model, and how the winner is to be chosen. */
export interface Trained {
  results: CandidateResult[];
  fitted: Map<string, Fitted>;
}

/** Trains and judges every experiment; with `cv`, also its out-of-fold figures on the training and validation walks. */
export async function runExperiments(
  full: Dataset,
  experiments: readonly Experiment[],
  o: { seed: number; resamples: number; cv: boolean; folds: number; hyper?: Partial<Hyper>; onProgress?: OnProgress },
): Promise<Trained> {
  const results: CandidateResult[] = [];
  const fitted = new Map<string, Fitted>();
  let done = 0;
  for (const e of experiments) {
    o.onProgress?.({ stage: `train ${e.arch} · ${e.featureSet}`, done, total: experiments.length });
    const ds = selectColumns(full, e.featureSet);
    const f = await fit(ds, e.arch, o.seed, o.hyper);
    const r = assess(ds, f, o.seed, o.resamples);
    if (o.cv && e.arch !== 'chance') r.cv = await crossValidate(ds, e.arch, o.seed, o.folds, o.hyper);
    results.push(r);
    fitted.set(r.name, f);
    done++;
  }
  o.onProgress?.({ stage: 'train', done, total: experiments.length });
  return { results, fitted };
}

/**
 * The learners a comparison can deploy without the rule (it is off, or could score no keeper): the candidates,
 * logistic regression and the plain baseline, as under the rule; the metadata-only model and chance only measure.
 */
export const CHOOSABLE: readonly Arch[] = [...CANDIDATES, 'logistic', 'pca-logistic'];

/**
 * The winner: among the learners a comparison can deploy (`CHOOSABLE`; every result for a single architecture) the
 * best by out-of-fold AP (`cv`) or validation AP. Cross-validation that could not score any keeper (a handful of
 * walks) leaves validation AP to decide; the selection actually used is returned.
 */
export function chooseWinner(
  results: readonly CandidateResult[],
  compare: boolean,
  selection: 'cv' | 'validation',
): { winner: CandidateResult; selection: 'cv' | 'validation' } {
  const pool = results.filter((r) => !compare || CHOOSABLE.includes(r.arch));
  const used = selection === 'cv' && !pool.some((r) => Number.isFinite(r.cv?.ap)) ? 'validation' : selection;
  const key = (r: CandidateResult): number => {
    const v = used === 'cv' ? r.cv?.ap : r.valAp;
    return typeof v === 'number' && Number.isFinite(v) ? v : -1;
  };
  return { winner: pool.reduce((a, b) => (key(b) > key(a) ? b : a)), selection: used };
}

/** Keepers among the original views of a split. */
export const keepersIn = (ds: Dataset, split: 'train' | 'val' | 'test'): number =>
  rowsOf(ds, split).filter((r) => ds.y[r]).length;

/**
 * The chosen architecture against logistic regression (its feature set) and the metadata-only model, each scored out
 * of fold over every walk (the same folds for all three), so every keeper counts; with paired differences. Each
 * model trains with the setting nested tuning chose for it, when the rule tuned one of that name (`settings`).
 */
export async function compareOverAllWalks(
  full: Dataset,
  results: CandidateResult[],
  winner: CandidateResult,
  o: { seed: number; folds: number; resamples: number; hyper?: Partial<Hyper>; onProgress?: OnProgress },
  settings: ReadonlyMap<string, Partial<Hyper>> = new Map(),
): Promise<AllWalks | null> {
  const { seed, resamples } = o;
  // logistic regression on the chosen model's own features, and the metadata-only model on context
  const lr = { arch: 'logistic' as Arch, featureSet: winner.featureSet, name: `logistic · ${winner.featureSet}` };
  const hasMeta = results.some((c) => c.arch === 'metadata');
  const meta = hasMeta
    ? { arch: 'metadata' as Arch, featureSet: 'context' as FeatureSet, name: 'metadata · context' }
    : undefined;
  type Entry = { arch: Arch; featureSet: FeatureSet; name: string };
  const entries: Entry[] = [winner, lr, ...(meta ? [meta] : [])];
  const models = entries.map((c) => ({
    ds: selectColumns(full, c.featureSet),
    arch: c.arch,
    hyper: settings.get(c.name) ?? {},
  }));
  const oof = await alignedOutOfFold(models, seed, o.folds, o.hyper, 'all', (i) =>
    o.onProgress?.({ stage: `all walks ${entries[i]?.name}`, done: i, total: entries.length }),
  );
  o.onProgress?.({ stage: 'all walks', done: entries.length, total: entries.length });
  const y = oof.rows.map((r) => full.y[r] as number);
  if (!y.some(Boolean)) return null;
  const session = oof.rows.map((r) => full.session[r] as number);
  const figures = entries.map((c, i) => {
    const m = evaluate(oof.scores[i] as number[], y, session, { resamples, seed });
    return { name: c.name, arch: c.arch, featureSet: c.featureSet, ap: m.ap, auc: m.auc, pairAcc: m.session_pair_acc };
  });
  const diff = (c: Entry | undefined): Estimate | null => {
    const i = c ? entries.indexOf(c) : -1;
    return i > 0
      ? pairedApDifference(oof.scores[0] as number[], oof.scores[i] as number[], y, session, { resamples, seed })
      : null;
  };
  const photos = full.views.filter((v) => v === 0).length;
  return {
    folds: oof.folds,
    photos: oof.rows.length,
    unscored: photos - oof.rows.length,
    keepers: y.filter(Boolean).length,
    models: figures,
    vsLogistic: diff(lr),
    vsMetadata: diff(meta),
  };
}
