/**
 * Curator benchmark, side by side in one run: this workbench against a numpy / scikit-learn baseline written from
 * PhotoMapAI's description (bench/curate_baseline.py, Debian's python3-numpy and python3-sklearn), on the same
 * random unit vectors: 512-d, target 150, 20 Monte Carlo iterations, at 20,000 and 100,000 photos.
 * Targets: FPS and k-means at least 3x faster than the baseline, at both sizes. Then k-means
 * quality beside scikit-learn's MiniBatchKMeans (one init, as PhotoMapAI runs it) on planted clusters: the mean squared
 * distance to the centres and how many planted clusters get a representative.
 *
 *   npm run build && node dist/bench/curate.js [--sizes 20000,100000] [--skip-quality]
 *   (installs python3-numpy and python3-sklearn with apt-get when they are missing and it runs as root)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { kmeansRun } from '../lib/7-curate/algorithms.js';
import { curateVectors } from '../lib/7-curate/curate.js';
import { unitRows } from '../lib/util/vectors.js';
import { MatMul } from '../lib/onnx/matmul.js';
import { Rng } from '../lib/util/rng.js';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '20000,100000' }, 'skip-quality': { type: 'boolean', default: false } },
});
const DIM = 512;
const TARGET = 150;
const ITER = 20;

// Debian's interpreter, where python3-numpy and python3-sklearn install (a pyenv python3 on PATH would not see them)
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function python(): void {
  const ok = spawnSync(PY, ['-c', 'import numpy, sklearn'], { stdio: 'ignore' }).status === 0;
  if (ok) return;
  if (process.getuid?.() !== 0)
    throw new Error(
      'the baseline needs python3-numpy and python3-sklearn (apt-get install python3-numpy python3-sklearn)',
    );
  spawnSync('apt-get', ['install', '-y', '-qq', 'python3-numpy', 'python3-sklearn'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

python();
console.log(
  `curator benchmark: ${DIM}-d, target ${TARGET}, ${ITER} iterations; baseline numpy/scikit-learn (bench/curate_baseline.py)\n`,
);
console.log(
  '| photos | FPS workbench s | FPS baseline s | FPS speed-up | k-means workbench s | k-means baseline s | k-means speed-up |',
);
console.log('|---|---|---|---|---|---|---|');
for (const rows of (values.sizes as string).split(',').map(Number)) {
  const rng = new Rng(rows);
  const data = Float32Array.from({ length: rows * DIM }, () => rng.normal());
  const file = join(tmpdir(), `flux-curate-${rows}.f32`);
  writeFileSync(file, Buffer.from(data.buffer));
  const matrix = unitRows({ data: Float32Array.from(data), rows, dim: DIM });
  const ids = Array.from({ length: rows }, (_, i) => i);
  let t = performance.now();
  await curateVectors({ ids, matrix }, { method: 'fps', target: TARGET, iterations: ITER, seed: 1 });
  const fps = (performance.now() - t) / 1000;
  t = performance.now();
  await curateVectors({ ids, matrix }, { method: 'kmeans', target: TARGET, iterations: ITER, seed: 1 });
  const km = (performance.now() - t) / 1000;
  const script = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bench', 'curate_baseline.py');
  const r = spawnSync(PY, [script, file, String(rows), String(DIM), String(TARGET), String(ITER)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`baseline failed: ${r.stderr}`);
  const base = JSON.parse(r.stdout) as { fps: number; kmeans: number };
  console.log(
    `| ${rows} | ${fps.toFixed(1)} | ${base.fps.toFixed(1)} | ${(base.fps / fps).toFixed(1)}x | ${km.toFixed(1)} | ${base.kmeans.toFixed(1)} | ${(base.kmeans / km).toFixed(1)}x |`,
  );
}

if (!values['skip-quality']) {
  // planted clusters: 150 centres in 64 dimensions, 50,000 rows around them (noise 0.35), as unit rows
  const K = 150,
    QDIM = 64,
    QROWS = 50_000,
    SEEDS = 3;
  const rng = new Rng(5);
  const centres = Array.from({ length: K }, () => Float32Array.from({ length: QDIM }, () => rng.normal()));
  const raw = new Float32Array(QROWS * QDIM);
  for (let i = 0; i < QROWS; i++)
    for (let j = 0; j < QDIM; j++)
      raw[i * QDIM + j] = ((centres[i % K] as Float32Array)[j] as number) + 0.35 * rng.normal();
  const m = unitRows({ data: raw, rows: QROWS, dim: QDIM });
  const file = join(tmpdir(), 'flux-curate-planted.f32');
  writeFileSync(file, Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
  const inertia = (assignment: Int32Array, c: Float32Array): number => {
    let s = 0;
    for (let i = 0; i < QROWS; i++)
      for (let j = 0; j < QDIM; j++)
        s += ((m.data[i * QDIM + j] as number) - (c[(assignment[i] as number) * QDIM + j] as number)) ** 2;
    return s / QROWS;
  };
  const mm = await MatMul.create();
  const ours: Array<{ inertia: number; picks: number; covered: number }> = [];
  for (let seed = 0; seed < SEEDS; seed++) {
    const r = await kmeansRun(m, K, new Rng(seed), mm);
    ours.push({
      inertia: inertia(r.assignment, r.centres),
      picks: r.representatives.length,
      covered: new Set(r.representatives.map((row) => row % K)).size,
    });
  }
  await mm.close();
  const script = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bench', 'curate_baseline.py');
  const r = spawnSync(PY, [script, file, String(QROWS), String(QDIM), String(K), String(SEEDS), 'quality'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`baseline failed: ${r.stderr}`);
  const base = (JSON.parse(r.stdout) as Array<{ inertia: number; reps: number[] }>).map((b) => ({
    inertia: b.inertia,
    picks: b.reps.length,
    covered: new Set(b.reps.map((row) => row % K)).size,
  }));
  const range = (xs: number[], digits: number): string =>
    `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;
  console.log(
    `\nk-means quality on planted clusters (${QROWS} rows, ${QDIM}-d, ${K} clusters, seeds 0-${SEEDS - 1}):\n`,
  );
  console.log('| k-means | mean squared distance | picks | planted clusters represented |');
  console.log('|---|---|---|---|');
  for (const [name, xs] of [
    ['workbench', ours],
    ['scikit-learn MiniBatchKMeans, n_init 1', base],
  ] as const) {
    console.log(
      `| ${name} | ${range(
        xs.map((x) => x.inertia),
        4,
      )} | ${range(
        xs.map((x) => x.picks),
        0,
      )} | ${range(
        xs.map((x) => x.covered),
        0,
      )} |`,
    );
  }
}
