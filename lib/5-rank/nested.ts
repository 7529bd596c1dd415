/**
 * Nested tuning with equal budgets: inside every outer fold of the rule's cross-validation, each learner tries the
 * same number of settings (`budget`, its own grid of what matters for it: L2, width, PCA size, near-miss weight,
 * centroids, margin), each judged by out-of-fold AP over `innerFolds` session folds of that outer fold's training
 * walks only; the best is refitted on the outer training walks and scores the held-out walk. The outer scores are
 * then the evidence for a learner *with its tuning*, and no learner gets more tries than another. A budget of 1 is
 * the untuned default for every learner.
 */
import type { Dataset } from '../4-dataset/rows.js';
import type { SplitName } from '../4-dataset/split.js';
import { checkInt } from '../util/check.js';
import { averagePrecision } from './metrics.js';
import { solvedExactly, type Arch, type Hyper } from './scorers.js';

/** Nested tuning: settings tried per learner and inner session folds. */
export interface TuneSettings {
  budget: number;
  innerFolds: number;
}

export const DEFAULT_TUNE: TuneSettings = { budget: 3, innerFolds: 3 };

/**
 * Each learner's grid, the default first and then outward along the settings that matter for it; a budget of b
 * tries the first b. Every grid holds at least `MAX_BUDGET` settings, so every learner gets the same budget.
 */
const GRIDS: Record<Arch, Array<Partial<Hyper>>> = {
  'pca-logistic': [
    {},
    { baselineC: 0.1 },
    { pcaComponents: 16 },
    { pcaComponents: 64 },
    { baselineC: 0.001 },
    { pcaComponents: 64, baselineC: 0.1 },
  ],
  logistic: [{}, { l2: 0.1 }, { l2: 0.01 }, { l2: 0.3 }, { l2: 0.003 }, { l2: 1 }],
  pairwise: [{}, { l2: 0.1 }, { nearWeight: 1 }, { hidden: 0 }, { hidden: 64, l2: 0.1 }, { nearRate: 0.2 }],
  listwise: [{}, { l2: 0.1 }, { hidden: 0 }, { l2: 0.01 }, { hidden: 64, l2: 0.1 }, { hidden: 8 }],
  contrastive: [{}, { l2: 0.1 }, { margin: 0 }, { projection: 64 }, { l2: 0.01 }, { nearRate: 0.2 }],
  'contrastive-multi': [{}, { centroids: 2 }, { centroids: 8 }, { l2: 0.1 }, { margin: 0 }, { nearRate: 0.2 }],
  metadata: [{}, { l2: 0.1 }, { l2: 0.01 }, { l2: 0.3 }, { l2: 0.003 }, { l2: 1 }],
  chance: [{}, {}, {}, {}, {}, {}],
};

/** Logistic regression solved exactly (a narrow row): its C, the default (0.03) first, then outward. */
const EXACT_GRID: Array<Partial<Hyper>> = [
  {},
  { logisticC: 0.01 },
  { logisticC: 0.1 },
  { logisticC: 0.003 },
  { logisticC: 0.3 },
  { logisticC: 0.001 },
];

export const MAX_BUDGET = Math.min(...[...Object.values(GRIDS), EXACT_GRID].map((g) => g.length));

/**
 * The settings a learner tries under a budget (checked: at least 1, at most {@link MAX_BUDGET}); logistic regression
 * on a row of `dim` columns that it solves exactly tries its C.
 */
export function tuningGrid(arch: Arch, budget: number, dim = Infinity): Array<Partial<Hyper>> {
  checkInt('--tune', budget, 1, MAX_BUDGET);
  return (solvedExactly(arch, dim) ? EXACT_GRID : GRIDS[arch]).slice(0, budget);
}

/** A setting in words, as the rule's evidence prints it. */
export function settingText(h: Partial<Hyper>): string {
  const parts = Object.entries(h).map(([k, v]) => `${k} ${String(v)}`);
  return parts.length ? parts.join(', ') : 'default';
}

/**
 * The training split of an outer fold as the inner cross-validation sees it: its validation walks train too (the
 * inner folds deal their own), the held-out walks are `test` and stay out of every inner fold.
 */
export function innerView(ds: Dataset, outer: readonly SplitName[]): Dataset {
  return { ...ds, split: outer.map((s) => (s === 'val' ? 'train' : s)) };
}

/** Index of the best inner AP; a setting that could not be judged (NaN) never wins; ties keep the earlier one. */
export function bestSetting(aps: readonly number[]): number {
  let best = 0;
  let bestAp = -Infinity;
  aps.forEach((ap, i) => {
    if (Number.isFinite(ap) && ap > bestAp) {
      best = i;
      bestAp = ap;
    }
  });
  return best;
}

/** The setting a learner's final model keeps: the one chosen in most outer folds (ties: the earlier in the grid). */
export function mostChosen(grid: ReadonlyArray<Partial<Hyper>>, chosen: readonly number[]): Partial<Hyper> {
  const count = grid.map((_, i) => chosen.filter((c) => c === i).length);
  return grid[bestSetting(count)] ?? {};
}

/** Pooled AP of inner out-of-fold scores (the held-out rows' labels); NaN without a keeper. */
export function pooledAp(scores: readonly number[], y: readonly number[]): number {
  return y.some(Boolean) ? averagePrecision(scores, y) : NaN;
}
