/**
 * What the detection stage costs: milliseconds per photo for each detector on real camera photos shrunk as ingest
 * shrinks them (384 px preview), on both runtimes side by side in one run (TF.js on its best backend here, wasm with
 * one thread; ONNX Runtime's CPU kernels on the converted graph, one intra-op thread), rounds alternating which
 * runtime goes first; the preview decode; and the hours the default set takes over 400,000 photos on 2 cores. Wall
 * time and the process's CPU time are both printed: on a machine busy with other work the wall time grows, the CPU
 * time stays what an idle core would take, and the hours are computed from it (two processes, one photo at a time
 * each, one thread each). ONNX Runtime with 2 intra-op threads in one process is measured too (its hours from the
 * wall time, both cores serving one process; only meaningful on an idle machine). Also how closely the runtimes
 * agree (finds at score >= 0.25) and, with --install, the time and size of `flux detect --install`.
 *
 *   npm run build && nice -n 10 node dist/bench/detect.js [--photos ../shared/photos] [--sizes 384] [--rounds 2]
 *     [--models centernet,blazeface] [--install]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makePreview } from '../lib/1-ingest/image.js';
import { DEFAULT_DETECTORS } from '../lib/2-detect/detect.js';
import { type Detector, loadDetector, runtimeFor } from '../lib/2-detect/engine.js';
import { decodeRgb } from '../lib/2-detect/image.js';
import { DETECTORS, type DetectorName, detectorDir, installDetectors } from '../lib/2-detect/models.js';
import { ONNX_OUTPUTS, onnxFile } from '../lib/2-detect/onnx-run.js';
import type { Found, Rgb } from '../lib/2-detect/run.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { projectRoot } from '../lib/util/project.js';

const { values } = parseArgs({
  options: {
    photos: { type: 'string', default: join(projectRoot(), '..', 'shared', 'photos') },
    sizes: { type: 'string', default: '384' },
    rounds: { type: 'string', default: '2' },
    models: { type: 'string', default: DETECTORS.join(',') },
    install: { type: 'boolean', default: false },
  },
});

if (values.install) {
  // a fresh folder, so the install is timed whole (and removed after)
  const r = await installDetectors({ dir: mkdtempSync(join(tmpdir(), 'flux-detect-install-')) });
  const bytes = readdirSync(r.dir).reduce((s, f) => s + statSync(join(r.dir, f)).size, 0);
  console.log(
    `install: ${r.installed.length} detectors in ${r.seconds.toFixed(1)} s, ` +
      `${(bytes / 1e6).toFixed(1)} MB kept in ${r.dir}`,
  );
  rmSync(r.dir, { recursive: true, force: true });
}
const backend = await initBackend();
const wasm = backend.name === 'wasm' ? await import('@tensorflow/tfjs-backend-wasm') : null;
console.log(
  `TF.js backend ${backend.name}${wasm ? ` (${wasm.getThreadsCount()} threads)` : ''}; ` +
    `skipped ${backend.skipped.map((s) => s.name).join(', ') || 'none'}; ONNX Runtime CPU, 1 intra-op thread`,
);
const dir = String(values.photos);
const files = readdirSync(dir).filter((f) => /\.jpe?g$/i.test(f) && statSync(join(dir, f)).size > 100_000);
const rounds = Number(values.rounds);
const models = String(values.models).split(',') as DetectorName[];
console.log(`${files.length} real photos from ${dir}, ${rounds} rounds; load average ${loadavg()[0]?.toFixed(1)}`);

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};
const hours = (ms: number, cores = 2): number => (400_000 * ms) / cores / 3.6e6;

/** Runs a detector over the images; CPU and wall ms per photo, and what it found in each. */
async function time(d: Detector, images: readonly Rgb[]): Promise<{ cpu: number; wall: number; found: Found[][] }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const found: Found[][] = [];
  for (let i = 0; i < images.length; i += d.concurrency)
    found.push(...(await Promise.all(images.slice(i, i + d.concurrency).map((img) => d.detect(img)))));
  return { cpu: cpuMs(c0) / images.length, wall: (performance.now() - t0) / images.length, found };
}

/** The largest score and box differences of the finds at score >= 0.25 paired in score order, or null if unpaired. */
function agreement(a: Found[][], b: Found[][]): { n: number; score: number; box: number } | null {
  const r = { n: 0, score: 0, box: 0 };
  for (const [i, fa] of a.entries()) {
    const sure = (f: Found[]): Found[] => f.filter((x) => x.score >= 0.25).sort((x, y) => y.score - x.score);
    const [sa, sb] = [sure(fa), sure(b[i] ?? [])];
    if (sa.length !== sb.length) return null;
    for (const [k, x] of sa.entries()) {
      const y = sb[k] as Found;
      r.n += 1;
      r.score = Math.max(r.score, Math.abs(x.score - y.score));
      r.box = Math.max(r.box, Math.abs(x.x - y.x), Math.abs(x.y - y.y), Math.abs(x.w - y.w), Math.abs(x.h - y.h));
    }
  }
  return r;
}

type Mode = 'tfjs' | 'onnx' | 'onnx-2t' | 'onnx-2w';
const msAt384: Partial<Record<`${DetectorName} ${Mode}`, { cpu: number; wall: number }>> = {};
let decodeMs = 0;

async function measure(name: DetectorName, images: readonly Rgb[], size: number): Promise<void> {
  const modes: Mode[] = ONNX_OUTPUTS[name] ? ['tfjs', 'onnx', 'onnx-2t', 'onnx-2w'] : ['tfjs'];
  const loaded = new Map<Mode, Detector>();
  for (const m of modes) {
    const t0 = performance.now();
    const threads = m === 'onnx-2t' ? 2 : 1;
    const workers = m === 'onnx-2w' ? 2 : 1;
    loaded.set(m, await loadDetector(name, m === 'tfjs' ? 'tfjs' : 'onnx', detectorDir(), { threads, workers }));
    if (m === 'onnx')
      console.log(
        `  ${name}: ONNX file ${onnxFile(name, detectorDir())} opened in ${(performance.now() - t0).toFixed(0)} ms`,
      );
    await loaded.get(m)?.detect(images[0] as Rgb); // warm-up: the first run compiles or allocates
  }
  const sum = new Map<Mode, { cpu: number; wall: number; found: Found[][] }>();
  for (let r = 0; r < rounds; r++) {
    for (const m of r % 2 ? [...modes].reverse() : modes) {
      const t = await time(loaded.get(m) as Detector, images);
      const s = sum.get(m) ?? { cpu: 0, wall: 0, found: t.found };
      sum.set(m, { cpu: s.cpu + t.cpu / rounds, wall: s.wall + t.wall / rounds, found: s.found });
    }
  }
  for (const m of modes) {
    const s = sum.get(m) as { cpu: number; wall: number };
    if (size === 384) msAt384[`${name} ${m}`] = s;
    const h = m === 'onnx-2t' || m === 'onnx-2w' ? hours(s.wall, 1) : hours(s.cpu);
    console.log(
      `  ${name.padEnd(18)} ${m.padEnd(8)} ${s.wall.toFixed(0).padStart(5)} ms wall, ` +
        `${s.cpu.toFixed(0).padStart(4)} ms CPU per photo; 400,000 photos on 2 cores: ${h.toFixed(1)} h` +
        (m === 'onnx-2t' ? ' (one session of 2 threads: from the wall time)' : '') +
        (m === 'onnx-2w' ? ' (2 worker threads of 1, as flux detect runs: from the wall time)' : ''),
    );
  }
  const tf = sum.get('tfjs');
  const ox = sum.get('onnx');
  if (tf && ox) {
    const a = agreement(tf.found, ox.found);
    console.log(
      `  ${name.padEnd(18)} TF.js / ONNX Runtime CPU time: ${(tf.cpu / ox.cpu).toFixed(2)}x; agreement: ` +
        (a
          ? `${a.n} finds paired, scores within ${a.score.toExponential(1)}, boxes within ${a.box.toExponential(1)} of the frame`
          : 'the runtimes found different numbers of things'),
    );
  }
  for (const d of loaded.values()) await d.dispose();
}

for (const size of String(values.sizes).split(',').map(Number)) {
  const previews: Buffer[] = [];
  for (const f of files) previews.push((await makePreview(readFileSync(join(dir, f)), size)).jpeg);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const images: Rgb[] = [];
  for (const p of previews) images.push(await decodeRgb(p));
  if (size === 384) decodeMs = cpuMs(c0) / previews.length;
  console.log(
    `preview ${size} px: decode ${((performance.now() - t0) / previews.length).toFixed(1)} ms wall, ` +
      `${(cpuMs(c0) / previews.length).toFixed(1)} ms CPU per photo`,
  );
  for (const name of models) await measure(name, images, size);
}

/** Hours for a set of detectors on one mode (each on its default runtime under `auto`), with the decode. */
function total(names: readonly DetectorName[], mode: 'tfjs' | 'auto'): number {
  const ms = names.reduce((s, n) => {
    const m: Mode = mode === 'tfjs' ? 'tfjs' : runtimeFor(n, 'auto');
    return s + (msAt384[`${n} ${m}`]?.cpu ?? NaN);
  }, decodeMs);
  return hours(ms);
}
if (DEFAULT_DETECTORS.every((n) => models.includes(n))) {
  const tfjs = total(DEFAULT_DETECTORS, 'tfjs');
  const auto = total(DEFAULT_DETECTORS, 'auto');
  console.log(
    `default (${DEFAULT_DETECTORS.join(' + ')}) at 384 px with the decode, 400,000 photos on 2 cores (2 processes ` +
      `x 1 thread): TF.js ${tfjs.toFixed(1)} h, ONNX Runtime ${auto.toFixed(1)} h (${(tfjs / auto).toFixed(2)}x)`,
  );
  for (const [m, what] of [
    ['onnx-2t', 'one session of 2 threads'],
    ['onnx-2w', '2 worker threads of 1 session each (flux detect)'],
  ] as const) {
    const ms = DEFAULT_DETECTORS.reduce((s, n) => s + (msAt384[`${n} ${m}`]?.wall ?? NaN), decodeMs);
    const cpu = DEFAULT_DETECTORS.reduce((s, n) => s + (msAt384[`${n} ${m}`]?.cpu ?? NaN), decodeMs);
    console.log(
      `  ONNX Runtime, ${what}: ${hours(ms, 1).toFixed(1)} h from the wall time, ${cpu.toFixed(0)} ms CPU a photo`,
    );
  }
}
if (models.includes('movenet-multipose') && DEFAULT_DETECTORS.every((n) => models.includes(n))) {
  const all = [...DEFAULT_DETECTORS, 'movenet-multipose'] as DetectorName[];
  console.log(`with movenet-multipose (TF.js) too: ${total(all, 'auto').toFixed(1)} h`);
}
