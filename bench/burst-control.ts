/**
 * The within-burst positive control (a taste of bench/controls.ts, and bench/near-misses.ts): synthetic walks of 60
 * frames shot as 12 bursts of 5, at the real feature width. A burst shares its scene (16 latent factors); its frames
 * differ a little (0.5 of the scene's spread). Which bursts hold a keeper follows an additive taste of the scene
 * (3.75% of frames are kept, one per kept burst); which frame of a kept burst is the keeper follows a planted
 * within-burst preference, the frame furthest along factor 3 from its burst's scene. Factor 3 says nothing about
 * which bursts are kept, so a ranker learns it only from a keeper set against its own burst: the right model learns
 * within-burst differences, and near misses of the burst (or the nearest frames) should help.
 *
 * The rule's comparison here: pairwise without near misses (the baseline) against pairwise with near misses of the
 * walk, the burst, the hour and the visually nearest frames.
 */
import { CONTEXT_NAMES } from '../lib/db/schema.js';
import { DESCRIPTOR_NAMES } from '../lib/2-embed/descriptor.js';
import type { Dataset, FeatureSet } from '../lib/4-dataset/rows.js';
import type { Contender } from '../lib/5-rank/decide.js';
import { averagePrecision } from '../lib/5-rank/metrics.js';
import { NEAR_KINDS } from '../lib/5-rank/weighting.js';
import { Rng } from '../lib/util/rng.js';

const FACTORS = 16;
const BURSTS = 12;
const BURST_FRAMES = 5;
const RATE = 0.0375;

/** The comparison of near-miss kinds: pairwise without near misses against pairwise with each kind. */
export function nearContenders(featureSet: FeatureSet): { baseline: Contender; contenders: Contender[] } {
  const named = (label: string, hyper: Contender['hyper']): Contender => ({
    name: `pairwise near=${label} · ${featureSet}`,
    arch: 'pairwise',
    featureSet,
    ...(hyper ? { hyper } : {}),
  });
  return {
    baseline: named('none', { nearRate: 0 }),
    contenders: NEAR_KINDS.map((near) => named(near, { near })),
  };
}

/** One frame's row: the vector (loading . factors + noise), then noise for the descriptor and context columns. */
function fillRow(
  x: Float32Array,
  row: number,
  dim: number,
  vec: number,
  loading: Float64Array,
  f: Float64Array,
  rng: Rng,
) {
  for (let v = 0; v < vec; v++) {
    let s = rng.normal();
    for (let j = 0; j < FACTORS; j++) s += (loading[v * FACTORS + j] as number) * (f[j] as number);
    x[row * dim + v] = s;
  }
  for (let j = vec; j < dim; j++) x[row * dim + j] = rng.normal();
}

/**
 * The context columns of the controls' synthetic rows: the rankers' (lib/db/vectors.ts) and the three of the walk's
 * extent and place they have left out since the controls were recorded. Every one is pure noise here; the rows keep
 * the width they were recorded at (1,331 columns in bench/controls.ts), so a run draws the rows that were recorded.
 */
export const CONTROL_CONTEXT_NAMES: readonly string[] = [
  ...CONTEXT_NAMES,
  'log_session_frames',
  'session_minutes',
  'session_position',
];

/**
 * A synthetic archive of bursts with about `keepers` keepers (vector width `vec`, 1,280 as MobileNetV2); `oracle` is
 * the AP of the planted taste itself (the kept bursts' scene taste plus the within-burst preference).
 */
export function burstArchive(keepers: number, seed: number, vec = 1280): { ds: Dataset; oracle: number } {
  const rng = new Rng(seed).fork(`controls:burst:${keepers}`);
  const frames = BURSTS * BURST_FRAMES;
  const walks = Math.ceil(keepers / RATE / frames);
  const n = walks * frames;
  const dim = vec + DESCRIPTOR_NAMES.length + CONTROL_CONTEXT_NAMES.length;
  const loading = Float64Array.from({ length: vec * FACTORS }, () => (rng.normal() / Math.sqrt(FACTORS)) * 3);
  const x = new Float32Array(n * dim);
  const session = new Int32Array(n);
  const time = new Float64Array(n);
  const scene: number[] = [];
  const within = new Float64Array(n);
  for (let w = 0, i = 0; w < walks; w++) {
    const walkMean = Float64Array.from({ length: FACTORS }, () => 0.5 * rng.normal());
    let t = w * 86_400 + 36_000;
    for (let b = 0; b < BURSTS; b++) {
      const fb = Float64Array.from(walkMean, (m) => m + Math.sqrt(0.75) * rng.normal());
      scene.push(1.2 * ((fb[0] as number) + (fb[1] as number) - (fb[2] as number)));
      for (let k = 0; k < BURST_FRAMES; k++, i++) {
        const d = Float64Array.from({ length: FACTORS }, () => 0.5 * rng.normal());
        session[i] = w;
        time[i] = t + 1.5 * k;
        within[i] = d[3] as number;
        fillRow(
          x,
          i,
          dim,
          vec,
          loading,
          Float64Array.from(fb, (m, j) => m + (d[j] as number)),
          rng,
        );
      }
      t += rng.uniform(240, 600);
    }
  }
  // the kept bursts: the top fifth-ish by scene taste plus logistic noise; in each, the frame furthest along factor 3
  const noisy = scene.map((s) => s + Math.log(1 / rng.uniform(1e-9, 1) - 1));
  const keptBursts = Math.round(n * RATE);
  const cut = [...noisy].sort((a, b) => b - a)[keptBursts - 1] as number;
  const y = new Uint8Array(n);
  noisy.forEach((v, b) => {
    if (v < cut) return;
    const first = b * BURST_FRAMES;
    let best = first;
    for (let i = first; i < first + BURST_FRAMES; i++) if ((within[i] as number) > (within[best] as number)) best = i;
    y[best] = 1;
  });
  const truth = Array.from(within, (d, i) => (scene[Math.floor(i / BURST_FRAMES)] as number) + 10 * d);
  const ds: Dataset = {
    featureSet: 'vector+descriptor+context',
    modelId: 'synthetic',
    ids: Array.from({ length: n }, (_, i) => i),
    views: new Array<number>(n).fill(0),
    dim,
    names: [...Array.from({ length: vec }, (_, j) => `v${j}`), ...DESCRIPTOR_NAMES, ...CONTROL_CONTEXT_NAMES],
    x,
    scheme: 'session',
    y,
    split: new Array(n).fill('train'),
    session,
    sessions: Array.from({ length: walks }, (_, w) => `w${w}`),
    time,
    missingVector: 0,
    splitSeed: seed,
    splitNote: null,
  };
  return { ds, oracle: averagePrecision(truth, y) };
}

/** The burst control as bench/controls.ts runs it: the archive, its oracle AP and the rule's contenders. */
export function burstControl(
  keepers: number,
  seed: number,
): { ds: Dataset; oracle: number; baseline: Contender; contenders: Contender[] } {
  return { ...burstArchive(keepers, seed), ...nearContenders('vector+descriptor+context') };
}
