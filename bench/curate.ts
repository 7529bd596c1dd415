/**
 * Curator benchmark, side by side in one run: this workbench against a numpy / scikit-learn baseline written from
 * PhotoMapAI's description (bench/curate_baseline.py, Debian's python3-numpy and python3-sklearn), on the same
 * random unit vectors: 512-d, target 150, 20 Monte Carlo iterations, at 20,000 and 100,000 photos.
 * Targets: FPS at least 3x faster and k-means at least 2x faster than the baseline, at both sizes.
 *
 *   npm run build && node dist/bench/curate.js [--sizes 20000,100000]
 *   (installs python3-numpy and python3-sklearn with apt-get when they are missing and it runs as root)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { curateVectors, unitRows } from '../lib/curate/curate.js';
import { Rng } from '../lib/util/rng.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '20000,100000' } } });
const DIM = 512;
const TARGET = 150;
const ITER = 20;

// Debian's interpreter, where python3-numpy and python3-sklearn install (a pyenv python3 on PATH would not see them)
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function python(): void {
  const ok = spawnSync(PY, ['-c', 'import numpy, sklearn'], { stdio: 'ignore' }).status === 0;
  if (ok) return;
  if (process.getuid?.() !== 0) throw new Error('the baseline needs python3-numpy and python3-sklearn (apt-get install python3-numpy python3-sklearn)');
  spawnSync('apt-get', ['install', '-y', '-qq', 'python3-numpy', 'python3-sklearn'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

python();
console.log(`curator benchmark: ${DIM}-d, target ${TARGET}, ${ITER} iterations; baseline numpy/scikit-learn (bench/curate_baseline.py)\n`);
console.log('| photos | FPS workbench s | FPS baseline s | FPS speed-up | k-means workbench s | k-means baseline s | k-means speed-up |');
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
  const r = spawnSync(PY, [script, file, String(rows), String(DIM), String(TARGET), String(ITER)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`baseline failed: ${r.stderr}`);
  const base = JSON.parse(r.stdout) as { fps: number; kmeans: number };
  console.log(`| ${rows} | ${fps.toFixed(1)} | ${base.fps.toFixed(1)} | ${(base.fps / fps).toFixed(1)}x | ${km.toFixed(1)} | ${base.kmeans.toFixed(1)} | ${(base.kmeans / km).toFixed(1)}x |`);
}
