/** Labelled rows in walks with a planted keep probability, for the rankers' unit tests. */
import type { Dataset, FeatureSet } from '../lib/4-dataset/rows.js';
import type { SplitName } from '../lib/4-dataset/split.js';
import { Rng } from '../lib/util/rng.js';

export interface WalkRowsOptions {
  seed: number;
  walks: number;
  /** Photos per walk. */
  per: number;
  dim: number;
  /** Column j's value (default a standard normal draw). */
  draw?: (j: number, rng: Rng) => number;
  /** The true log-odds of a row. */
  logit: (row: Float32Array) => number;
  /** Walks below this train, then the validation walks up to `valEnd`, the rest test. */
  trainEnd: number;
  valEnd: number;
  featureSet: FeatureSet;
  modelId: string | null;
  /** Column names: `prefix` and the index. */
  prefix: string;
}

/** Rows drawn walk by walk, each kept with probability sigmoid(logit), with the split by walk; and the log-odds. */
export function plantedWalkRows(o: WalkRowsOptions): { ds: Dataset; logit: Float64Array } {
  const rng = new Rng(o.seed);
  const { dim } = o;
  const n = o.walks * o.per;
  const x = new Float32Array(n * dim);
  const y = new Uint8Array(n);
  const logit = new Float64Array(n);
  const session = new Int32Array(n);
  const split: SplitName[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) x[i * dim + j] = o.draw ? o.draw(j, rng) : rng.normal();
    logit[i] = o.logit(x.subarray(i * dim, (i + 1) * dim));
    y[i] = rng.next() < 1 / (1 + Math.exp(-(logit[i] as number))) ? 1 : 0;
    const w = Math.floor(i / o.per);
    session[i] = w;
    split.push(w < o.trainEnd ? 'train' : w < o.valEnd ? 'val' : 'test');
  }
  const ds: Dataset = {
    featureSet: o.featureSet,
    modelId: o.modelId,
    ids: Array.from({ length: n }, (_, i) => i + 1),
    views: new Array<number>(n).fill(0),
    dim,
    names: Array.from({ length: dim }, (_, j) => `${o.prefix}${j}`),
    x,
    scheme: 'session',
    y,
    split,
    session,
    sessions: Array.from({ length: o.walks }, (_, w) => `walk ${w}`),
    missingVector: 0,
    splitSeed: 1,
    splitNote: null,
  };
  return { ds, logit };
}
