/**
 * The curator's Monte Carlo vote: diverse (farthest-point) or representative (k-means) subsets over unit vectors,
 * repeated with seeded starts; a photo's votes are how many runs picked it. Excluded photo_ids are removed first.
 */
import { checkChoice, checkInt } from '../util/check.js';
import { Rng } from '../util/rng.js';
import type { OnProgress } from '../util/progress.js';
import type { Provider, ProviderChoice } from '../onnx/runtime.js';
import type { VectorMatrix } from '../util/vectors.js';
import { MatMul } from '../onnx/matmul.js';
import { farthestPointRuns, kmeansRun } from './algorithms.js';
import { kmeansInThreads, kmeansThreads } from './kmeans-threads.js';

export type CurateMethod = 'fps' | 'kmeans';

export interface CurateInput {
  ids: number[];
  matrix: VectorMatrix;
}

export interface CurateOptions {
  method: CurateMethod;
  target: number;
  iterations: number;
  seed: number;
  /** photo_ids removed before the computation. */
  excluded?: ReadonlySet<number>;
  onProgress?: OnProgress;
  /** The ONNX Runtime execution provider of the matrix kernels; default `auto`, the best that loads. */
  provider?: ProviderChoice;
}

export interface CurateResult {
  method: CurateMethod;
  target: number;
  iterations: number;
  seed: number;
  /** The photo_ids every iteration picked, in pick order. */
  runs: number[][];
  votes: Map<number, number>;
  /** Top `target` by votes (ties: the earlier first pick), with frequency in percent. */
  /** The execution provider the matrix kernels ran on (none when the target took every photo). */
  provider?: Provider;
  selection: Array<{ photoId: number; votes: number; frequency: number; band: VoteBand }>;
}

/** The most Monte Carlo iterations a run makes (as the reference curator clamps them). */
export const MAX_ITERATIONS = 30;

/** How often a photo was picked: stable (at least 90% of the iterations), frequent (70%) or occasional. */
export type VoteBand = 'stable' | 'frequent' | 'occasional';

/** A photo's share of the iterations that picked it, in percent (one decimal), and its heat-map band. */
export function frequencyOf(votes: number, iterations: number): { frequency: number; band: VoteBand } {
  const frequency = Math.round((1000 * votes) / iterations) / 10;
  return { frequency, band: frequency >= 90 ? 'stable' : frequency >= 70 ? 'frequent' : 'occasional' };
}

/** The rows of a matrix whose ids are not excluded, with their ids. */
function withoutExcluded(input: CurateInput, excluded: ReadonlySet<number>): { ids: number[]; matrix: VectorMatrix } {
  const keep = input.ids.map((id, i) => [id, i] as const).filter(([id]) => !excluded.has(id));
  const d = input.matrix.dim;
  const data = new Float32Array(keep.length * d);
  keep.forEach(([, i], j) => data.set(input.matrix.data.subarray(i * d, i * d + d), j * d));
  return { ids: keep.map(([id]) => id), matrix: { data, rows: keep.length, dim: d } };
}

/** The rows every iteration picks (row numbers of the matrix), by farthest points or k-means. */
async function pickRuns(
  m: VectorMatrix,
  method: CurateMethod,
  target: number,
  iterations: number,
  rng: Rng,
  onProgress: OnProgress | undefined,
  provider: ProviderChoice,
): Promise<{ runs: number[][]; provider: Provider }> {
  // k-means runs go one per core, each on a single-threaded CPU kernel; another provider runs them in turn here
  const threads = method === 'kmeans' && (provider === 'auto' || provider === 'cpu') ? kmeansThreads(m, iterations) : 0;
  if (threads) {
    return { runs: await kmeansInThreads(m, target, iterations, rng.seed, threads, onProgress), provider: 'cpu' };
  }
  const mm = await MatMul.create(0, provider);
  try {
    if (method === 'fps') {
      const starts = Array.from({ length: iterations }, (_, i) => rng.fork(`fps:${i}`).int(0, m.rows - 1));
      return { runs: await farthestPointRuns(m, target, starts, mm), provider: mm.provider };
    }
    const runs: number[][] = [];
    for (let i = 0; i < iterations; i++) {
      const r = await kmeansRun(m, target, rng.fork(`kmeans:${i}`), mm);
      runs.push(r.representatives);
      onProgress?.({ stage: 'curate', done: i + 1, total: iterations });
    }
    return { runs, provider: mm.provider };
  } finally {
    await mm.close();
  }
}

/** Runs the Monte Carlo selection; excluded photos are removed before anything is computed. */
export async function curateVectors(input: CurateInput, options: CurateOptions): Promise<CurateResult> {
  const method = checkChoice('--method', options.method, ['fps', 'kmeans'] as const);
  const target = checkInt('--target', options.target, 1, 100_000);
  const iterations = checkInt('--iterations', options.iterations, 1, MAX_ITERATIONS);
  const seed = checkInt('--seed', options.seed, 0, 0xffffffff);
  const { ids, matrix: m } = withoutExcluded(input, options.excluded ?? new Set<number>());
  const rng = new Rng(seed);
  const picked =
    target >= m.rows
      ? null
      : await pickRuns(m, method, target, iterations, rng, options.onProgress, options.provider ?? 'auto');
  const runs = picked
    ? picked.runs.map((r) => r.map((row) => ids[row] as number))
    : Array.from({ length: iterations }, () => [...ids]);
  const votes = new Map<number, number>();
  const firstSeen = new Map<number, number>();
  runs.forEach((run, r) =>
    run.forEach((id, j) => {
      votes.set(id, (votes.get(id) ?? 0) + 1);
      if (!firstSeen.has(id)) firstSeen.set(id, r * 1e6 + j);
    }),
  );
  const selection = [...votes.entries()]
    .sort((a, b) => b[1] - a[1] || (firstSeen.get(a[0]) as number) - (firstSeen.get(b[0]) as number))
    .slice(0, target)
    .map(([photoId, v]) => ({ photoId, votes: v, ...frequencyOf(v, iterations) }));
  return { method, target, iterations, seed, runs, votes, selection, ...(picked ? { provider: picked.provider } : {}) };
}
