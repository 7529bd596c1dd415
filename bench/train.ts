/**
 * Ranker benchmark: training throughput per TensorFlow.js backend present, the time to train the keeper model on
 * 400,000 examples of the real feature width (extrapolated from a measured run), and scoring 400,000 rows through
 * the exported ONNX graph (measured whole). Synthetic rows at the real width: a 1,280-d MobileNetV2 vector, the
 * 12-value pixel descriptor and 12 context features, 3.75% keepers in walks of 40 frames.
 * Targets: training 400,000 examples under 10 minutes on two cores with wasm; scoring 400,000 rows under 30 s.
 *
 *   npm run build && node dist/bench/train.js [--rows 20000] [--arch pairwise] [--epochs 2]
 */
import { parseArgs } from 'node:util';
import { BACKENDS, initBackend } from '../lib/tfjs/backend.js';
import { scorerGraph } from '../lib/5-rank/graph.js';
import { OnnxScorer } from '../lib/onnx/scorer.js';
import { DEFAULT_HYPER, trainingEpochs, trainScorer, type Arch, type ScorerParams } from '../lib/5-rank/scorers.js';
import { Rng } from '../lib/util/rng.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '20000' },
    arch: { type: 'string', default: 'pairwise' },
    epochs: { type: 'string', default: '2' },
  },
});
const N = Number(values.rows);
const DIM = 1280 + 12 + 12;
const ARCH = values.arch as Arch;
const EPOCHS = Number(values.epochs);
const FULL = 400_000;

function synthetic(n: number, seed: number): { x: Float32Array; y: Uint8Array; session: Int32Array } {
  const rng = new Rng(seed);
  const x = new Float32Array(n * DIM);
  const y = new Uint8Array(n);
  const session = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.chance(0.0375) ? 1 : 0;
    session[i] = Math.floor(i / 40);
    for (let j = 0; j < DIM; j++) x[i * DIM + j] = rng.normal() + (j < 16 && y[i] ? 0.5 : 0);
  }
  return { x, y, session };
}

const data = synthetic(N, 1);
const idx = Array.from({ length: N }, (_, i) => i);
const train = idx.filter((i) => i % 10 < 8);
const val = idx.filter((i) => i % 10 === 8);
console.log(
  `ranker benchmark: ${ARCH}, ${DIM} features, ${N} rows (${train.length} training), ${EPOCHS} epochs per backend, batch ${DEFAULT_HYPER.batch}\n`,
);
console.log(
  '| backend | examples/s | seconds measured | epochs for 400k rows | examples per epoch (400k) | extrapolated minutes, 400k |',
);
console.log('|---|---|---|---|---|---|');
// a pairwise or contrastive step visits two rows per drawn keeper; logistic one
const rowsPerDraw = ARCH === 'pairwise' ? 2 : 1;
for (const name of BACKENDS) {
  try {
    await initBackend(name);
  } catch (err) {
    console.log(`| ${name} | not available: ${(err as Error).message.split('\n')[0]?.slice(0, 90)} | | | | |`);
    continue;
  }
  const t0 = performance.now();
  const { log } = await trainScorer(
    ARCH,
    { ...data, dim: DIM, ids: idx, train, val },
    { epochs: EPOCHS, patience: 1000 },
    7,
  );
  const seconds = (performance.now() - t0) / 1000;
  const steps = Math.ceil(train.length / DEFAULT_HYPER.batch);
  const examples = log.length * steps * DEFAULT_HYPER.batch * rowsPerDraw;
  const rate = examples / seconds;
  const epochs400k = trainingEpochs(FULL * 0.8, DEFAULT_HYPER.epochs);
  const perEpoch = Math.ceil((FULL * 0.8) / DEFAULT_HYPER.batch) * DEFAULT_HYPER.batch * rowsPerDraw;
  console.log(
    `| ${name} | ${rate.toFixed(0)} | ${seconds.toFixed(1)} | ${epochs400k} | ${perEpoch} | ${((epochs400k * perEpoch) / rate / 60).toFixed(1)} |`,
  );
}

// scoring 400,000 rows through the ONNX graph of a model of this shape
const rng = new Rng(3);
const w = (shape: number[]): { shape: number[]; values: number[] } => ({
  shape,
  values: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal(0, 0.05)),
});
const params: ScorerParams =
  ARCH === 'pairwise'
    ? {
        kind: 'mlp' as const,
        weights: {
          W0: w([DIM, 1]),
          W1: w([DIM, DEFAULT_HYPER.hidden]),
          b1: w([DEFAULT_HYPER.hidden]),
          W2: w([DEFAULT_HYPER.hidden, 1]),
          b2: w([1]),
        },
      }
    : { kind: 'linear' as const, weights: { W: w([DIM, 1]), b: w([1]) } };
const scorer = await OnnxScorer.load(
  scorerGraph(DIM, { mean: new Float32Array(DIM), std: new Float32Array(DIM).fill(1) }, params, {
    method: 'platt',
    a: 1,
    b: 0,
  }),
);
const chunk = 50_000;
const block = synthetic(chunk, 5).x;
let scoring = 0;
for (let done = 0; done < FULL; done += chunk) {
  const t = performance.now();
  await scorer.score(block, DIM);
  scoring += performance.now() - t;
}
await scorer.close();
console.log(
  `\nscoring ${FULL} rows through the ONNX graph (${DIM} features): ${(scoring / 1000).toFixed(1)} s (${(FULL / (scoring / 1000)).toFixed(0)} rows/s); target < 30 s`,
);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
