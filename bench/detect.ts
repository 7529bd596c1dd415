/**
 * What the detection stage costs: milliseconds per photo for each detector on real camera photos shrunk as ingest
 * shrinks them (preview long side 384, and larger for comparison), the preview decode, and the hours the default
 * set would take over 400,000 photos on 2 cores (two processes, one photo at a time each; the per-photo time
 * measured in one process). Wall time and the process's CPU time are both printed: on a machine busy with other
 * work the wall time grows, the CPU time (the wasm backend runs one thread here) stays what an idle core would take,
 * and the hours are computed from it. Also the install: time and size of `flux detect --install`.
 *
 *   npm run build && node dist/bench/detect.js [--photos ../shared/photos] [--sizes 384,768] [--rounds 2] [--install]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makePreview } from '../lib/1-ingest/image.js';
import { DEFAULT_DETECTORS } from '../lib/2-detect/detect.js';
import { decodeRgb } from '../lib/2-detect/image.js';
import { DETECTORS, detectorDir, installDetectors, loadGraph } from '../lib/2-detect/models.js';
import { detectIn, type Rgb } from '../lib/2-detect/run.js';
import { initBackend, tf } from '../lib/tfjs/backend.js';
import { projectRoot } from '../lib/util/project.js';

const { values } = parseArgs({
  options: {
    photos: { type: 'string', default: join(projectRoot(), '..', 'shared', 'photos') },
    sizes: { type: 'string', default: '384,768' },
    rounds: { type: 'string', default: '2' },
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
  `backend ${backend.name}${wasm ? ` (${wasm.getThreadsCount()} threads)` : ''}; ` +
    `skipped ${backend.skipped.map((s) => s.name).join(', ') || 'none'}`,
);
const dir = String(values.photos);
const files = readdirSync(dir).filter((f) => /\.jpe?g$/i.test(f) && statSync(join(dir, f)).size > 100_000);
const rounds = Number(values.rounds);
const keptBytes = DETECTORS.map(
  (n) => statSync(join(detectorDir(), `${n}.bin`)).size + statSync(join(detectorDir(), `${n}.json`)).size,
);
console.log(
  `${files.length} real photos from ${dir}, ${rounds} rounds; ` +
    `detector files ${(keptBytes.reduce((a, b) => a + b, 0) / 1e6).toFixed(1)} MB`,
);

const msPer: Record<string, number> = {};
const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};
console.log(
  `load average ${(await import('node:os'))
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(', ')} on this 2-core machine`,
);
for (const size of String(values.sizes).split(',').map(Number)) {
  const previews: Buffer[] = [];
  for (const f of files) previews.push((await makePreview(readFileSync(join(dir, f)), size)).jpeg);
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  const images: Rgb[] = [];
  for (const p of previews) images.push(await decodeRgb(p));
  const decodeMs = cpuMs(c0) / previews.length;
  console.log(
    `preview ${size} px: decode ${((performance.now() - t0) / previews.length).toFixed(1)} ms wall, ` +
      `${decodeMs.toFixed(1)} ms CPU per photo`,
  );
  for (const name of DETECTORS) {
    const graph = await loadGraph(name);
    await detectIn(name, graph, images[0] as Rgb); // warm-up: the first run compiles the graph
    t0 = performance.now();
    c0 = process.cpuUsage();
    for (let r = 0; r < rounds; r++) for (const img of images) await detectIn(name, graph, img);
    const wall = (performance.now() - t0) / (rounds * images.length);
    const ms = cpuMs(c0) / (rounds * images.length);
    if (size === 384) msPer[name] = ms + decodeMs / DEFAULT_DETECTORS.length;
    console.log(
      `  ${name.padEnd(18)} ${wall.toFixed(0).padStart(5)} ms wall, ${ms.toFixed(0).padStart(4)} ms CPU per photo; ` +
        `400,000 photos on 2 cores: ${((400_000 * ms) / 2 / 3.6e6).toFixed(1)} h`,
    );
    graph.dispose();
  }
}
const hours = (names: readonly string[]): number =>
  (400_000 * names.reduce((s, n) => s + (msPer[n] ?? NaN), 0)) / 2 / 3.6e6;
console.log(
  `default (${DEFAULT_DETECTORS.join(' + ')}) at 384 px with the decode: ` +
    `${hours(DEFAULT_DETECTORS).toFixed(1)} h for 400,000 photos on 2 cores`,
);
console.log(
  `with centernet and movenet-multipose and blazeface: ` +
    `${hours(['centernet', 'movenet-multipose', 'blazeface']).toFixed(1)} h`,
);
console.log(`tensors still held: ${tf.memory().numTensors}`);
