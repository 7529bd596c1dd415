/**
 * Embedding benchmark, in one run on the same previews:
 *   - decode alone: preview JPEG -> RGB -> descriptor -> model crop -> tensor, one image at a time (seconds/photo);
 *   - model alone: MobileNetV2 on prepared tensors in batches of 16, one thread (seconds/photo);
 *   - the pipeline (`embed`), at two sizes, each in a fresh process (photos/s and peak RSS).
 * Each of decode, model and pipeline runs three times, interleaved; the best of each counts.
 * Target: pipeline >= 0.85 x the ideal two-core rate 2 / (decode + inference seconds per photo), and peak memory
 * flat as the photo count grows.
 *
 *   npm run build && node dist/bench/embed.js [--dir /tmp/flux-bench-embed] [--small 500]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Db } from '../lib/db/duckdb.js';
import { findModel } from '../lib/2-embed/models.js';
import { OnnxImageModel } from '../lib/onnx/image-model.js';
import { prepareImage } from '../lib/2-embed/preprocess.js';
import { runEmbed, runIngest } from '../lib/pipeline/stages.js';
import { generateSample } from '../lib/0-sample/generate.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: join(tmpdir(), 'flux-bench-embed') },
    small: { type: 'string', default: '500' },
    phase: { type: 'string' },
    limit: { type: 'string' },
  },
});
const DIR = values.dir as string;
const DB = join(DIR, 'flux.duckdb');
const model = findModel('mobilenetv2-int8');

async function previews(): Promise<string[]> {
  const db = await Db.open(DB, { readOnly: true });
  try {
    const rows = await db.all<{ preview: string }>('SELECT preview FROM photos ORDER BY photo_id');
    return rows.map((r) => join(DIR, r.preview));
  } finally {
    db.close();
  }
}

async function phase(name: string): Promise<void> {
  const files = await previews();
  const spec = model.spec;
  const t0 = performance.now();
  let n = 0;
  if (name === 'decode') {
    // the worker threads' own decode path, one image at a time on this thread
    for (const f of files) {
      await prepareImage(readFileSync(f), spec.preprocessing);
      n++;
    }
  } else if (name === 'model') {
    const m = await OnnxImageModel.load(spec, model.path as string);
    const batch = new Float32Array(16 * 3 * 224 * 224).map((_, i) => Math.sin(i) * 2);
    await m.run(batch, 16);
    const t1 = performance.now();
    for (let i = 0; i < files.length; i += 16) {
      await m.run(batch, 16);
      n += 16;
    }
    await m.close();
    console.log(
      JSON.stringify({
        phase: name,
        perPhoto: (performance.now() - t1) / 1000 / n,
        n,
        maxRssMB: process.resourceUsage().maxRSS / 1024,
      }),
    );
    return;
  } else if (name === 'pipeline') {
    rmSync(join(DIR, 'embeddings'), { recursive: true, force: true });
    const db = await Db.open(DB);
    await db.run('DELETE FROM descriptors').catch(() => undefined);
    await db.run('DELETE FROM embed_errors').catch(() => undefined);
    db.close();
    const r = await runEmbed({ db: DB, model: spec.id, sets: ['photos'], limit: Number(values.limit) });
    n = r.sets[0]?.embedded ?? 0;
    const secs = (performance.now() - t0) / 1000;
    console.log(
      JSON.stringify({
        phase: name,
        perPhoto: r.embedSeconds / n,
        endToEnd: secs / n,
        n,
        seconds: secs,
        maxRssMB: process.resourceUsage().maxRSS / 1024,
      }),
    );
    return;
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      phase: name,
      perPhoto: secs / n,
      n,
      seconds: secs,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

function run(name: string, limit = 0): Record<string, number> {
  const r = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--phase', name, '--dir', DIR, '--limit', String(limit)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`phase ${name} failed`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, number>;
}

async function main(): Promise<void> {
  if (values.phase) return phase(values.phase);
  if (!model.path) throw new Error('the MobileNetV2 model is not present (models/ or ../shared/models)');
  if (!existsSync(DB)) {
    const s = await generateSample({ out: join(DIR, 'sample'), seed: 7 });
    await runIngest({ originals: s.originals, db: DB });
  }
  const files = await previews();
  console.log(
    `embedding benchmark: ${files.length} previews (384 px), model ${model.spec.id}, ${cpus().length} ` +
      `cores, node ${process.version}`,
  );
  // this machine's speed drifts from minute to minute: each phase runs three times, interleaved, and the best of
  // each counts (the least disturbed run)
  type Run = Record<string, number>;
  const best = (xs: Run[]): Run => xs.reduce((a, b) => ((a.perPhoto as number) <= (b.perPhoto as number) ? a : b));
  const ds: Array<Record<string, number>> = [];
  const ms: Array<Record<string, number>> = [];
  const fulls: Array<Record<string, number>> = [];
  for (let i = 0; i < 3; i++) {
    ds.push(run('decode'));
    ms.push(run('model'));
    fulls.push(run('pipeline', files.length));
  }
  const [d, m, full] = [best(ds), best(ms), best(fulls)];
  const ideal = 2 / ((d.perPhoto as number) + (m.perPhoto as number));
  const small = run('pipeline', Number(values.small));
  console.log(
    `runs (s/photo): decode ${ds.map((x) => (x.perPhoto as number).toFixed(4)).join(' ')}; model ` +
      `${ms.map((x) => (x.perPhoto as number).toFixed(4)).join(' ')}; pipeline ` +
      `${fulls.map((x) => (x.perPhoto as number).toFixed(4)).join(' ')}`,
  );
  console.log('\n| phase | photos | s/photo | photos/s | peak RSS MB |\n|---|---|---|---|---|');
  console.log(
    `| decode alone (one core) | ${d.n} | ${d.perPhoto.toFixed(4)} | ${(1 / d.perPhoto).toFixed(1)} | ` +
      `${d.maxRssMB.toFixed(0)} |`,
  );
  console.log(
    `| model alone, batch 16 (one thread) | ${m.n} | ${m.perPhoto.toFixed(4)} | ` +
      `${(1 / m.perPhoto).toFixed(1)} | ${m.maxRssMB.toFixed(0)} |`,
  );
  console.log(
    `| pipeline (embed) | ${small.n} | ${small.perPhoto.toFixed(4)} | ${(1 / small.perPhoto).toFixed(1)} ` +
      `| ${small.maxRssMB.toFixed(0)} |`,
  );
  console.log(
    `| pipeline (embed) | ${full.n} | ${full.perPhoto.toFixed(4)} | ${(1 / full.perPhoto).toFixed(1)} | ` +
      `${full.maxRssMB.toFixed(0)} |`,
  );
  console.log(
    `\nideal two-core rate 2 / (decode + inference) = ${ideal.toFixed(1)} photos/s; pipeline ` +
      `${(1 / full.perPhoto).toFixed(1)} photos/s = ${(1 / full.perPhoto / ideal).toFixed(3)} x ideal ` +
      '(target >= 0.85)',
  );
  console.log(
    `  (the pipeline's rate counts decoding, inference and writing; opening the database, loading the ` +
      `model and starting the workers took ` +
      `${((full.seconds as number) - (full.perPhoto as number) * (full.n as number)).toFixed(1)} s more,`,
  );
  console.log(
    `   a one-off cost: end to end ${(1 / (full.endToEnd as number)).toFixed(1)} photos/s = ` +
      `${(1 / (full.endToEnd as number) / ideal).toFixed(3)} x ideal here, the same as the steady rate over 400,000 ` +
      `photos)`,
  );
  console.log(
    `peak RSS ${small.maxRssMB.toFixed(0)} MB at ${small.n} photos, ${full.maxRssMB.toFixed(0)} MB at ` +
      `${full.n} photos`,
  );
  console.log(`extrapolated for 400,000 photos: ${((400_000 * full.perPhoto) / 3600).toFixed(1)} hours`);
}

await main();
