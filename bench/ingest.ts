/**
 * Ingest benchmark. On ~500 full-size 6000x4000 JPEGs (~10 MB each) it measures, in one run and on the same files:
 *   - floor A: one read + SHA-256 of every file (the I/O side of ingest),
 *   - floor B: the shrink-on-load decode to a 384 px preview on both cores (the CPU side),
 *   - ingest itself into a fresh database,
 * and prints ingest / max(A, B) (target <= 1.15: I/O and CPU overlap, no second read). Each phase runs in its own
 * process so its peak memory (max RSS) is its own. It also times building the database from the 400,000-row
 * metadata-only sample (target < 60 s).
 *
 *   npm run bench:ingest -- [--files 500] [--dir /tmp/flux-bench-ingest] [--metadata-photos 400000]
 *   (--phase make only writes the files, so they can be made ahead of a quiet measuring run)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { runIngest, runIngestMetadata } from '../lib/pipeline/stages.js';
import { makePreview } from '../lib/1-ingest/image.js';
import { generateMetadata } from '../lib/0-sample/metadata.js';
import { renderScene, sampleSceneParams, sampleSessionStyle } from '../lib/0-sample/render.js';
import { sha256 } from '../lib/util/fsutil.js';
import { Rng } from '../lib/util/rng.js';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '500' },
    dir: { type: 'string', default: join(tmpdir(), 'flux-bench-ingest') },
    phase: { type: 'string' },
    'metadata-photos': { type: 'string', default: '400000' },
  },
});
const N = Number(values.files);
const DIR = values.dir as string;
const ORIGINALS = join(DIR, 'ORIGINALS');

async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/**
 * Full-size camera-like JPEGs: a rendered scene upscaled, with sensor noise so they weigh ~10 MB like a GR III file.
 */
async function makeFiles(): Promise<string[]> {
  const day = join(ORIGINALS, '2024', '2024-05', '2024-05-17');
  mkdirSync(day, { recursive: true });
  const have = new Set(readdirSync(day));
  const names = Array.from({ length: N }, (_, i) => `R${String(1 + i).padStart(7, '0')}.JPG`);
  const todo = names.filter((n) => !have.has(n));
  const rng = new Rng(2024);
  let done = 0;
  await pool(todo, 2, async (name) => {
    const r = rng.fork(name);
    const p = sampleSceneParams(r, sampleSessionStyle(r), 10);
    const rgb = renderScene({ ...p, grain: 0.9 }, 1500, 1000);
    const big = await sharp(Buffer.from(rgb.buffer), { raw: { width: 1500, height: 1000, channels: 3 } })
      .resize(6000, 4000, { kernel: 'cubic' })
      .raw()
      .toBuffer();
    // per-pixel sensor noise, as a real 24 MP file has
    let s = r.uint32() | 1;
    for (let i = 0; i < big.length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const v = (big[i] as number) + ((s & 31) - 16);
      big[i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    await sharp(big, { raw: { width: 6000, height: 4000, channels: 3 } })
      .jpeg({ quality: 90 })
      .withExif({
        IFD0: { Make: 'RICOH IMAGING COMPANY, LTD.', Model: 'RICOH GR III' },
        IFD2: { DateTimeOriginal: '2024:05:17 12:00:00' },
      })
      .toFile(join(day, name));
    if (++done % 50 === 0) process.stderr.write(`made ${done}/${todo.length}\n`);
  });
  return names.map((n) => join(day, n));
}

function files(): string[] {
  const day = join(ORIGINALS, '2024', '2024-05', '2024-05-17');
  return readdirSync(day)
    .sort()
    .slice(0, N)
    .map((n) => join(day, n));
}

/** One phase, in this process; prints a JSON line with seconds and max RSS. */
async function phase(name: string): Promise<void> {
  const list = files();
  const t0 = performance.now();
  if (name === 'warm' || name === 'read-sha') {
    for (const f of list) sha256(await readFile(f));
  } else if (name === 'decode') {
    // decode alone: the bytes come from the page cache, one read each, then previews on both cores
    await pool(list, availableParallelism() + 1, async (f) => {
      await makePreview(await readFile(f));
    });
  } else if (name === 'ingest') {
    const db = join(DIR, 'work', 'flux.duckdb');
    rmSync(join(DIR, 'work'), { recursive: true, force: true });
    await runIngest({ originals: ORIGINALS, db });
  } else if (name === 'metadata') {
    const out = join(DIR, 'meta');
    rmSync(out, { recursive: true, force: true });
    const g0 = performance.now();
    const m = await generateMetadata({ out, photos: Number(values['metadata-photos']) });
    const g1 = performance.now();
    await runIngestMetadata({ dir: out, db: join(out, 'flux.duckdb') });
    console.log(
      JSON.stringify({
        phase: name,
        generateSeconds: (g1 - g0) / 1000,
        seconds: (performance.now() - g1) / 1000,
        rows: m.photos,
        maxRssMB: process.resourceUsage().maxRSS / 1024,
      }),
    );
    return;
  }
  console.log(
    JSON.stringify({
      phase: name,
      seconds: (performance.now() - t0) / 1000,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

function runPhase(name: string): Record<string, number> {
  const args = [
    fileURLToPath(import.meta.url),
    '--phase',
    name,
    '--files',
    String(N),
    '--dir',
    DIR,
    '--metadata-photos',
    String(values['metadata-photos']),
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`phase ${name} failed`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, number>;
}

async function main(): Promise<void> {
  if (values.phase === 'make') {
    await makeFiles();
    return;
  }
  if (values.phase) return phase(values.phase);
  const list = existsSync(ORIGINALS) && files().length >= N ? files() : await makeFiles();
  const mb = list.reduce((s, f) => s + readFileSync(f).length, 0) / 1e6;
  console.log(
    `ingest benchmark: ${list.length} files, ${mb.toFixed(0)} MB ` +
      `(${(mb / list.length).toFixed(1)} MB each), ` +
      `${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
  );
  runPhase('warm'); // every phase then reads from the same warm page cache
  const a = runPhase('read-sha');
  const b = runPhase('decode');
  const c = runPhase('ingest');
  const floor = Math.max(a.seconds as number, b.seconds as number);
  const row = (label: string, r: Record<string, number>): string =>
    `| ${label} | ${(r.seconds as number).toFixed(1)} | ${(list.length / (r.seconds as number)).toFixed(1)} | ` +
    `${(mb / (r.seconds as number)).toFixed(0)} | ${(r.maxRssMB as number).toFixed(0)} |`;
  console.log('\n| phase | seconds | files/s | MB/s | peak RSS MB |\n|---|---|---|---|---|');
  console.log(row('floor A: read + SHA-256', a));
  console.log(row('floor B: shrink-on-load decode, both cores', b));
  console.log(row('ingest (read once: SHA-256 + EXIF + preview + DuckDB)', c));
  console.log(
    `\ningest / max(floor A, floor B) = ${((c.seconds as number) / floor).toFixed(3)} (target <= 1.15); ` +
      `peak RSS ${(c.maxRssMB as number).toFixed(0)} MB (target < 2048)`,
  );
  const m = runPhase('metadata');
  console.log(
    `metadata-only: ${m.rows} photo rows generated in ${(m.generateSeconds as number).toFixed(1)} s; ` +
      `database built in ${(m.seconds as number).toFixed(1)} s (target < 60 s), peak RSS ` +
      `${(m.maxRssMB as number).toFixed(0)} MB`,
  );
}

await main();
