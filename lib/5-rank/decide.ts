/**
 * The decision rule, fixed before the run: every contender is scored out of fold over all walks (stratified session
 * folds, repeated), on the same folds as the plain baseline (PCA to 32 dimensions, L2 logistic regression, C 0.01),
 * and its AP minus the baseline's gets a paired walk-bootstrap interval (walks drawn with replacement, the same
 * draws for every model; the AP averaged over the repeats): the difference +- z of its bootstrap standard errors.
 * The interval level is Bonferroni-corrected for the number of contenders. Then:
 *
 * - superiority: a contender whose interval lies above 0 beats the baseline. When several do, the best (the largest
 *   difference) is paired with the runner-up (the second largest) on the same folds and the same walk draws, at the
 *   same interval level: the best is chosen if superior to the runner-up; if the two are equivalent (the interval
 *   inside +-delta) the simpler of them (fewer trained parameters) is chosen; otherwise the rule is undecided
 *   between the two, and one of them is deployed by the one-standard-error rule: the best if it leads by more than
 *   one standard error of the paired difference (the bootstrap's spread), else the simpler (both beat the baseline,
 *   neither is shown the better);
 * - equivalence: no contender is superior and every interval lies inside +-delta (or below 0): the simpler model,
 *   the baseline, is chosen;
 * - otherwise undecided: the baseline is kept, and the evidence says so.
 *
 * Logistic regression can win like any other contender.
 */
import jstat from 'jstat';
import type { Dataset, FeatureSet } from '../4-dataset/rows.js';
import type { OnProgress } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { columnsFor, learnerWidth, reductionOf, selectColumns, vectorColumns } from './fit.js';
import { alignedOutOfFold } from './folds.js';
import { averagePrecision, ndcgPerSession, rankOrder } from './metrics.js';
import { DEFAULT_TUNE, mostChosen, settingText, tuningGrid, type TuneSettings } from './nested.js';
import { checkHyper, hyperFor, type Arch, type Hyper } from './scorers.js';

/** The rule's settings, stated with its outcome. */
export interface RuleSettings {
  /** The equivalence margin in AP. */
  delta: number;
  /** The family-wise confidence level (Bonferroni over the contenders). */
  level: number;
  folds: number;
  repeats: number;
  resamples: number;
  /**
   * Nested tuning: settings every learner tries inside each outer fold (the same budget for all; 1: none, each
   * learner at its defaults) and the inner session folds that judge them (see nested.ts).
   */
  tune: TuneSettings;
}

export const DEFAULT_RULE: RuleSettings = {
  delta: 0.01,
  level: 0.95,
  folds: 5,
  repeats: 1,
  resamples: 200,
  tune: { budget: 1, innerFolds: DEFAULT_TUNE.innerFolds },
};

export interface Contender {
  name: string;
  arch: Arch;
  featureSet: FeatureSet;
  /** Settings of this contender over the run's (a candidate setting such as near misses of a burst). */
  hyper?: Partial<Hyper>;
  /** With nested tuning, the setting chosen in most outer folds (the final model's). */
  setting?: Partial<Hyper>;
  /** The image vector's whitened principal components its learner trains on, when it reduces the vector. */
  vectorComponents?: number;
}

/** A contender's pooled out-of-fold AP and its mean per-walk NDCG (each walk's frames ranked alone). */
export interface Quality {
  ap: number;
  walkNdcg: number;
}

export type Outcome = 'superior' | 'equivalent' | 'inferior' | 'undecided';

/** A paired difference in AP and its interval. */
export interface Diff {
  value: number;
  lo: number;
  hi: number;
  /** Its standard error: the standard deviation of the resampled differences (absent in older reports). */
  se?: number;
}

/** When several contenders are superior to the baseline: the best minus the runner-up, and what that says. */
export interface Pairing {
  best: string;
  runnerUp: string;
  diff: Diff;
  /** superior: the best is chosen; equivalent: the simpler of the two (or `simplest`); undecided: between the two. */
  outcome: 'superior' | 'equivalent' | 'undecided';
  /**
   * When undecided: which of the two is deployed, by the one-standard-error rule: the best when it leads by more
   * than one standard error of the paired difference, else the simpler.
   */
  deployed?: 'best' | 'simpler';
  /**
   * When equivalent: a superior contender below the runner-up that is simpler than both and equivalent to the best
   * too (the best minus it), chosen in their place.
   */
  simplest?: { name: string; diff: Diff };
}

export interface RuleEvidence {
  settings: RuleSettings;
  baseline: Contender & Quality;
  /** Each contender's mean out-of-fold AP and its paired difference from the baseline. */
  contenders: Array<Contender & Quality & { diff: Diff; outcome: Outcome }>;
  /**
   * What the rule decided, and the model it chose: `superior` (a contender beats the baseline, and the runner-up
   * when there is one, or is the simpler of two equivalent ones), `equivalent` (the baseline), `undecided` (the
   * baseline kept; or, with `pairing`, undecided between two superior contenders, one of them deployed by the
   * one-standard-error rule).
   */
  decision: 'superior' | 'equivalent' | 'undecided';
  chosen: Contender;
  /** The best superior contender against the runner-up, when more than one is superior. */
  pairing?: Pairing;
  /** Photos and keepers scored by every model in every repeat; walks; the folds trained. */
  photos: number;
  keepers: number;
  walks: number;
  /**
   * The gain of the people columns: for each contender with them, its AP minus the same learner's without them
   * (paired on the same folds and walk draws), at the unadjusted level. Absent without people contenders.
   */
  people?: PeopleGain[];
}

export interface PeopleGain {
  name: string;
  without: string;
  diff: Diff;
}

/** A contender's outcome against the baseline from its interval. */
export function outcomeOf(d: { lo: number; hi: number }, delta: number): Outcome {
  if (d.lo > 0) return 'superior';
  if (d.hi < 0) return 'inferior';
  if (d.lo >= -delta && d.hi <= delta) return 'equivalent';
  return 'undecided';
}

/**
 * Trained parameters of a contender's model on `dim` columns at its settings, the measure of "simpler" between two
 * contenders (the baseline's PCA, fitted without labels, is not counted; it is the simplest model by rule).
 */
export function trainedParameters(c: Contender, dim: number): number {
  const h = hyperFor(c.arch, { ...c.hyper, ...c.setting });
  const d = h.pca > 0 && c.arch !== 'logistic' && c.arch !== 'pca-logistic' ? Math.min(h.pca, dim) : dim;
  if (c.arch === 'chance') return 0;
  if (c.arch === 'pca-logistic') return h.pcaComponents + 1;
  if (c.arch === 'logistic' || c.arch === 'metadata') return dim + 1;
  if (c.arch === 'pairwise' || c.arch === 'listwise') return d * (1 + h.hidden) + 2 * h.hidden + 1;
  return (d + 1) * h.projection + h.centroids * h.projection;
}

/** How to judge two superior contenders: their paired difference (a minus b, by index) and each one's size. */
export interface PairJudge {
  delta: number;
  /** The paired difference of contender `a` minus contender `b` (indices into the contenders). */
  pair: (a: number, b: number) => Diff;
  /** A contender's trained parameters (the simpler has fewer). */
  size: (c: Contender) => number;
}

const bare = (c: Contender): Contender => {
  const chosen: Contender = { name: c.name, arch: c.arch, featureSet: c.featureSet };
  return c.setting ? { ...chosen, setting: c.setting } : chosen;
};

/**
 * Of `others` (superior contenders below the runner-up), the simplest that has fewer trained parameters than `than`
 * and is equivalent to the best (contender `best`), with the best minus it; tried from the simplest up.
 */
function simplerEquivalent(
  best: number,
  others: ReadonlyArray<{ c: Contender; i: number }>,
  than: Contender,
  judge: PairJudge,
): { c: Contender; diff: Diff } | undefined {
  const smaller = others
    .filter((o) => judge.size(o.c) < judge.size(than))
    .sort((a, b) => judge.size(a.c) - judge.size(b.c));
  for (const o of smaller) {
    const diff = judge.pair(best, o.i);
    if (outcomeOf(diff, judge.delta) === 'equivalent') return { c: o.c, diff };
  }
  return undefined;
}

/** The decision from the contenders' outcomes (the baseline first in `models` is not among them). */
export function applyRule(
  baseline: Contender,
  contenders: ReadonlyArray<Contender & { diff: { value: number }; outcome: Outcome }>,
  judge: PairJudge,
): Pick<RuleEvidence, 'decision' | 'chosen' | 'pairing'> {
  const superior = contenders
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => c.outcome === 'superior')
    .sort((a, b) => b.c.diff.value - a.c.diff.value);
  const [best, runnerUp] = superior;
  if (best && !runnerUp) return { decision: 'superior', chosen: bare(best.c) };
  if (best && runnerUp) {
    const diff = judge.pair(best.i, runnerUp.i);
    const o = outcomeOf(diff, judge.delta);
    const outcome = o === 'superior' || o === 'equivalent' ? o : 'undecided';
    const pairing: Pairing = { best: best.c.name, runnerUp: runnerUp.c.name, diff, outcome };
    // on a tie in size the better of the two
    const simpler = judge.size(runnerUp.c) < judge.size(best.c) ? runnerUp.c : best.c;
    if (outcome === 'superior') return { decision: 'superior', chosen: bare(best.c), pairing };
    if (outcome === 'equivalent') {
      const simplest = simplerEquivalent(best.i, superior.slice(2), simpler, judge);
      if (!simplest) return { decision: 'superior', chosen: bare(simpler), pairing };
      const named = { name: simplest.c.name, diff: simplest.diff };
      return { decision: 'superior', chosen: bare(simplest.c), pairing: { ...pairing, simplest: named } };
    }
    // undecided: both beat the baseline; the simpler unless the best leads by more than one standard error (a
    // lead that is no evidence of equivalence: the simpler would give up what the evidence leans to)
    const lead = diff.se !== undefined && diff.value > diff.se;
    const deployed = lead ? best.c : simpler;
    return {
      decision: 'undecided',
      chosen: bare(deployed),
      pairing: { ...pairing, deployed: lead ? 'best' : 'simpler' },
    };
  }
  const settled = contenders.every((c) => c.outcome === 'equivalent' || c.outcome === 'inferior');
  return { decision: settled ? 'equivalent' : 'undecided', chosen: baseline };
}

/**
 * AP of rows in rank order (see `rankOrder`), each row counted `count(row)` times: the AP of a bootstrap resample
 * without sorting it again (copies of a row sit together in its order, so the resample's ranking is this order).
 */
function countedAp(order: readonly number[], y: readonly number[], count: (row: number) => number): number {
  let hits = 0;
  let rank = 0;
  let sum = 0;
  for (const i of order) {
    const c = count(i);
    if (!c) continue;
    if (!y[i]) {
      rank += c;
      continue;
    }
    for (let k = 0; k < c; k++) {
      hits++;
      rank++;
      sum += hits / rank;
    }
  }
  return hits ? sum / hits : NaN;
}

/** The level of each of the rule's intervals: the family-wise `level`, Bonferroni-corrected over `contenders`. */
const eachLevel = (level: number, contenders: number): number => 1 - (1 - level) / Math.max(1, contenders);

/** The z of a two-sided interval at `level`: the standard normal quantile at 1 - (1 - level) / 2. */
const intervalZ = (level: number): number => jstat.jStat.normal.inv(1 - (1 - level) / 2, 0, 1);

/**
 * Paired walk bootstrap of AP differences: `scores[m][r]` are model m's scores of the rows in repeat r; the value is
 * the mean over repeats of AP(m) - AP(0), its standard error the spread of the same over walk resamples, and the
 * interval the value +- z standard errors, z the normal quantile of `level`. Not the resamples' percentiles: at a
 * Bonferroni level such as 99.5% a tail holds 0.25% of the draws, which 200 resamples cannot resolve (the bound would
 * be the lowest draw, and the interval the range of the draws, about a 99% interval); the standard error is
 * resolved by a few hundred. Each model's ranking is sorted once; a resample counts every row as often as its walk
 * was drawn.
 */
export function pairedDifferences(
  scores: number[][][],
  y: readonly number[],
  walk: readonly number[],
  resamples: number,
  level: number,
  seed: number,
): Diff[] {
  const orders = scores.map((per) => per.map((s) => rankOrder(s, y)));
  const meanAp = (m: number, count: (row: number) => number): number => {
    const per = (orders[m] as number[][]).map((order) => countedAp(order, y, count));
    return per.reduce((a, b) => a + b, 0) / per.length;
  };
  const once = (): number => 1;
  const base = meanAp(0, once);
  const values = scores.slice(1).map((_, j) => meanAp(j + 1, once) - base);
  const groups = new Map<number, number>();
  const groupOf = walk.map((w) => {
    if (!groups.has(w)) groups.set(w, groups.size);
    return groups.get(w) as number;
  });
  const keepersOf = new Int32Array(groups.size);
  y.forEach((v, i) => (keepersOf[groupOf[i] as number] += v ? 1 : 0));
  const rng = new Rng(seed).fork('rule-bootstrap');
  const draws: number[][] = values.map(() => []);
  const drawn = new Int32Array(groups.size);
  const count = (row: number): number => drawn[groupOf[row] as number] as number;
  for (let b = 0; b < resamples; b++) {
    drawn.fill(0);
    let keepers = 0;
    for (let g = 0; g < groups.size; g++) {
      const pick = rng.int(0, groups.size - 1);
      drawn[pick] = (drawn[pick] as number) + 1;
      keepers += keepersOf[pick] as number;
    }
    if (!keepers) continue;
    const b0 = meanAp(0, count);
    values.forEach((_, j) => (draws[j] as number[]).push(meanAp(j + 1, count) - b0));
  }
  const z = intervalZ(level);
  return values.map((value, j) => {
    const d = draws[j] as number[];
    const mean = d.reduce((a, b) => a + b, 0) / Math.max(1, d.length);
    const se = d.length > 1 ? Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (d.length - 1)) : NaN;
    return { value, lo: value - z * se, hi: value + z * se, se };
  });
}

/** Runs the rule: the baseline and the contenders out of fold on the same repeated folds, then the decision. */
export async function decide(
  full: Dataset,
  baseline: Contender,
  contenders: readonly Contender[],
  o: { seed: number; settings: RuleSettings; hyper?: Partial<Hyper>; onProgress?: OnProgress },
): Promise<RuleEvidence | null> {
  const { settings, seed } = o;
  const models = [baseline, ...contenders];
  const byRepeat: Array<Map<number, number[]>> = [];
  const total = models.length * settings.repeats;
  // each model's columns (a vector reduced by its setting) for its grid and its size, and the width its learner
  // trains on
  const cols = models.map((c) => columnsFor(full, c.featureSet).map((j) => full.names[j] as string));
  const hs = models.map((c) => hyperFor(c.arch, { ...o.hyper, ...c.hyper }));
  const width = (m: number, h: Hyper): number =>
    learnerWidth(models[m]?.arch as Arch, (cols[m] as string[]).length, h, vectorColumns(cols[m] as string[]).length);
  const dims = hs.map((h, m) => width(m, { ...h, pca: 0 }));
  const grids = models.map((c, m) => tuningGrid(c.arch, settings.tune.budget, width(m, hs[m] as Hyper)));
  const chosen: number[][] = models.map(() => []);
  for (let r = 0; r < settings.repeats; r++) {
    const oof = await alignedOutOfFold(
      models.map((c, m) => ({
        ds: selectColumns(full, c.featureSet),
        arch: c.arch,
        hyper: c.hyper,
        ...(settings.tune.budget > 1
          ? { tune: { grid: grids[m] as Array<Partial<Hyper>>, innerFolds: settings.tune.innerFolds } }
          : {}),
      })),
      seed,
      settings.folds,
      o.hyper,
      'all',
      (i) => o.onProgress?.({ stage: `rule: ${models[i]?.name}`, done: r * models.length + i, total }),
      r,
    );
    byRepeat.push(
      new Map(oof.rows.map((row, j) => [row, models.map((_, m) => (oof.scores[m] as number[])[j] as number)])),
    );
    oof.chosen.forEach((c, m) => (chosen[m] as number[]).push(...c));
  }
  const tuned = (m: number): { setting?: Partial<Hyper> } =>
    settings.tune.budget > 1 ? { setting: mostChosen(grids[m] as Array<Partial<Hyper>>, chosen[m] as number[]) } : {};
  o.onProgress?.({ stage: 'rule', done: total, total });
  const rows = [...(byRepeat[0]?.keys() ?? [])]
    .filter((row) => byRepeat.every((m) => m.has(row)))
    .sort((a, b) => a - b);
  const y = rows.map((r) => full.y[r] as number);
  if (!y.some(Boolean)) return null;
  const walk = rows.map((r) => full.session[r] as number);
  const scores = models.map((_, m) =>
    byRepeat.map((rep) => rows.map((row) => (rep.get(row) as number[])[m] as number)),
  );
  const base: Contender = { ...baseline, ...tuned(0) };
  const reduced = (m: number): { vectorComponents?: number } => {
    const names = cols[m] as string[];
    const h = hs[m] as Hyper;
    const r = reductionOf(models[m]?.arch as Arch, names.length, h, vectorColumns(names).length);
    return r === 'vector' ? { vectorComponents: h.vectorPca } : {};
  };
  const tunedContenders = contenders.map((c, j) => ({ ...c, ...tuned(j + 1), ...reduced(j + 1) }));
  const people = peopleGains(contenders, scores, y, walk, settings, seed);
  return {
    ...judgeScores(base, tunedContenders, scores, y, walk, {
      settings,
      seed,
      dims,
      ...(o.hyper ? { hyper: o.hyper } : {}),
    }),
    photos: rows.length,
    keepers: y.filter(Boolean).length,
    walks: new Set(walk).size,
    ...(people.length ? { people } : {}),
  };
}

/**
 * The rule on out-of-fold scores: `scores[m][r]` are model m's scores of the rows in repeat r (the baseline first,
 * then the contenders), `y` the rows' labels, `walk` their walks, `dims` each model's columns and `hyper` the run's
 * settings under each contender's own (for its size).
 */
export function judgeScores(
  baseline: Contender,
  contenders: readonly Contender[],
  scores: number[][][],
  y: readonly number[],
  walk: readonly number[],
  o: { settings: RuleSettings; seed: number; dims: readonly number[]; hyper?: Partial<Hyper> },
): Pick<RuleEvidence, 'settings' | 'baseline' | 'contenders' | 'decision' | 'chosen' | 'pairing'> {
  const { settings, seed } = o;
  const level = eachLevel(settings.level, contenders.length);
  const diffs = pairedDifferences(scores, y, walk, settings.resamples, level, seed);
  const mean = (m: number, f: (s: number[]) => number): number =>
    (scores[m] as number[][]).reduce((a, s) => a + f(s), 0) / (scores[m] as number[][]).length;
  const quality = (m: number): Quality => ({
    ap: mean(m, (s) => averagePrecision(s, y)),
    walkNdcg: mean(m, (s) => ndcgPerSession(s, y, walk)),
  });
  const judged = contenders.map((c, j) => {
    const diff = diffs[j] as Diff;
    return { ...c, ...quality(j + 1), diff, outcome: outcomeOf(diff, settings.delta) };
  });
  // the best minus the runner-up: the same rows, walk draws (the same seed) and interval level as against the baseline
  const pair = (a: number, b: number): Diff =>
    pairedDifferences(
      [scores[b + 1] as number[][], scores[a + 1] as number[][]],
      y,
      walk,
      settings.resamples,
      level,
      seed,
    )[0] as Diff;
  // a contender's size at the settings it trained with: the run's (--pca, --hidden ...) under its own
  const size = (c: Contender): number =>
    trainedParameters(
      { ...c, hyper: { ...o.hyper, ...c.hyper } },
      o.dims[contenders.findIndex((x) => x.name === c.name) + 1] ?? 0,
    );
  return {
    settings,
    baseline: { ...baseline, ...quality(0) },
    contenders: judged,
    ...applyRule(baseline, judged, { delta: settings.delta, pair, size }),
  };
}

const tunedText = (c: Contender): string => (c.setting ? ` (tuned: ${settingText(c.setting)})` : '');
const reducedText = (c: Contender): string =>
  c.vectorComponents ? ` (the vector reduced to ${c.vectorComponents} components)` : '';

/** Each people contender against its twin without the people columns (scores[0] is the baseline's). */
function peopleGains(
  contenders: readonly Contender[],
  scores: number[][][],
  y: readonly number[],
  walk: readonly number[],
  settings: RuleSettings,
  seed: number,
): PeopleGain[] {
  return contenders.flatMap((c, j) => {
    if (!c.featureSet.endsWith('+people')) return [];
    const bare = c.featureSet.slice(0, -'+people'.length);
    const k = contenders.findIndex((t) => t.arch === c.arch && t.featureSet === bare);
    if (k < 0) return [];
    const pair = [scores[k + 1] as number[][], scores[j + 1] as number[][]];
    const diff = pairedDifferences(pair, y, walk, settings.resamples, settings.level, seed)[0] as PeopleGain['diff'];
    return [{ name: c.name, without: (contenders[k] as Contender).name, diff }];
  });
}

/** What the rule decided, in words. */
function decisionText(e: RuleEvidence): string {
  const p = e.pairing;
  if (p?.outcome === 'superior')
    return `${p.best} is superior to the baseline and to the runner-up, ${p.runnerUp}; it is chosen`;
  if (p?.outcome === 'equivalent')
    return (
      `${p.best} and ${p.runnerUp} are superior to the baseline and equivalent to each other ` +
      `(inside +-${e.settings.delta} AP); ` +
      (p.simplest
        ? `${e.chosen.name}, also superior to the baseline, simpler than both and equivalent to ${p.best}, is chosen`
        : `the simpler, ${e.chosen.name}, is chosen`)
    );
  if (p) {
    const se = p.diff.se !== undefined && Number.isFinite(p.diff.se) ? p.diff.se.toFixed(3) : 'n/a';
    const lead = `${p.diff.value >= 0 ? '+' : ''}${p.diff.value.toFixed(3)} AP`;
    const why =
      p.deployed === 'best'
        ? `${p.best} leads by ${lead}, more than one standard error of the difference (${se}), so it is deployed`
        : `the lead of ${lead} is within one standard error of the difference (${se}), so the simpler, ` +
          `${e.chosen.name}, is deployed`;
    return (
      `undecided between ${p.best} and ${p.runnerUp}: both are superior to the baseline, and the evidence can ` +
      `neither order them nor call them equivalent; ${why}`
    );
  }
  if (e.decision === 'superior') return `${e.chosen.name} is superior to the baseline; it is chosen`;
  if (e.decision === 'equivalent')
    return `no contender is better than the baseline by more than ${e.settings.delta} AP; the baseline is chosen`;
  return 'undecided: the evidence cannot separate the contenders from the baseline; the baseline is kept';
}

/** The rule and its evidence in words. */
export function ruleText(e: RuleEvidence): string {
  const s = e.settings;
  const n3 = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
  const sign = (v: number): string => `${v >= 0 ? '+' : ''}${n3(v)}`;
  const each = eachLevel(s.level, e.contenders.length);
  const level = `${(100 * each).toFixed(1)}%`;
  const lines = [
    "Decision rule (fixed before the run): each contender's out-of-fold AP minus the baseline's " +
      `(${e.baseline.name}), ` +
      `${s.folds} stratified session folds x ${s.repeats} repeat${s.repeats === 1 ? '' : 's'} over all walks ` +
      `(${e.keepers} keepers in ${e.photos} photos, ${e.walks} walks), paired walk bootstrap, ` +
      `${level} intervals (the difference +- ${intervalZ(each).toFixed(2)} of its ` +
      'bootstrap standard errors) ' +
      `(${(100 * s.level).toFixed(0)}% Bonferroni over ${e.contenders.length}); superior if above 0, ` +
      `equivalent if inside +-${s.delta} AP (then the simpler baseline), else undecided (the baseline is kept); ` +
      'of several superior, the best is paired with the runner-up: chosen if superior to it, the simpler of the ' +
      'two (fewer trained parameters) if equivalent (or a simpler superior contender still, if equivalent to the ' +
      'best too), else undecided between them (deployed: the best if it leads by more than one standard error of ' +
      'the paired difference, else the simpler).',
    ...(s.tune.budget > 1
      ? [
          `  Nested tuning: every learner tries ${s.tune.budget} settings inside each outer fold, judged over ` +
            `${s.tune.innerFolds} inner session folds of its training walks; "tuned" is the setting chosen most.`,
        ]
      : []),
    `  baseline ${e.baseline.name}: AP ${n3(e.baseline.ap)}, per-walk NDCG ${n3(e.baseline.walkNdcg)}` +
      tunedText(e.baseline),
    ...e.contenders.map(
      (c) =>
        `  ${c.name}${reducedText(c)}: AP ${n3(c.ap)}, per-walk NDCG ${n3(c.walkNdcg)}, difference ${sign(c.diff.value)} ` +
        `[${sign(c.diff.lo)}, ${sign(c.diff.hi)}]: ${c.outcome}${tunedText(c)}`,
    ),
    ...(e.pairing
      ? [
          `  best minus runner-up: ${e.pairing.best} minus ${e.pairing.runnerUp}: ` +
            `${sign(e.pairing.diff.value)} [${sign(e.pairing.diff.lo)}, ${sign(e.pairing.diff.hi)}] ` +
            `(${level}, paired on the same folds and walk draws): ${e.pairing.outcome}`,
          ...(e.pairing.simplest
            ? [
                `  best minus a simpler superior contender: ${e.pairing.best} minus ${e.pairing.simplest.name}: ` +
                  `${sign(e.pairing.simplest.diff.value)} [${sign(e.pairing.simplest.diff.lo)}, ` +
                  `${sign(e.pairing.simplest.diff.hi)}]: equivalent`,
              ]
            : []),
        ]
      : []),
  ];
  lines.push(`Rule decision: ${decisionText(e)}.`);
  for (const p of e.people ?? []) {
    lines.push(
      `  people columns: ${p.name} minus ${p.without}: AP ${sign(p.diff.value)} ` +
        `[${sign(p.diff.lo)}, ${sign(p.diff.hi)}] (${(100 * s.level).toFixed(0)}%, paired on the same folds)`,
    );
  }
  return lines.join('\n');
}
