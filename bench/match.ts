/**
 * Matching at the photographer's scale: the 400,000-row metadata-only set with 15,000 keepers.
 *   - metadata steps (EXIF time, filename with clock offsets, SHA-256) on every keeper: target < 30 s;
 *   - the similarity step for 1,000 keepers whose names and EXIF were stripped, against synthetic 512-d corpus
 *     vectors in Parquet (each keeper's vector is its original's plus noise): time per keeper. A tenth of them have
 *     no day folder either and a tenth sit 400 days off: the whole-corpus search finds those.
 *   - verification by alignment, per verified candidate: planted keeper edits of the real photos in ../shared/photos
 *     (re-encodes, crops, tone, rotation) against their frame and a sibling with a figure moved 1% of the width,
 *     from previews as ingest makes them (384 px JPEG): decode of both previews, alignment and residuals.
 * Precision and recall against the generator's truth are printed too.
 *
 *   npm run build && node dist/bench/match.js [--photos 400000] [--keepers 15000] [--similarity 1000]
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Db, lit, withDb } from '../lib/db/duckdb.js';
import { vectorDir } from '../lib/2-embed/store.js';
import { runIngestMetadata } from '../lib/pipeline/stages.js';
import { match } from '../lib/3-match/match.js';
import { generateMetadata } from '../lib/0-sample/metadata.js';
import { existsSync, readdirSync } from 'node:fs';
import sharp from 'sharp';
import { loadRgb, verifyImages } from '../lib/3-match/verify.js';
import { movedFigure, plantEdits } from '../lib/0-sample/edits.js';
import { SHARED_PHOTOS } from '../test/helpers.js';

const { values } = parseArgs({
  options: {
    photos: { type: 'string', default: '400000' },
    keepers: { type: 'string', default: '15000' },
    similarity: { type: 'string', default: '1000' },
    dir: { type: 'string', default: join(tmpdir(), 'flux-bench-match') },
  },
});
const dir = values.dir as string;
rmSync(dir, { recursive: true, force: true });
const meta = await generateMetadata({ out: dir, photos: Number(values.photos), keepers: Number(values.keepers) });
const dbFile = join(dir, 'flux.duckdb');
await runIngestMetadata({ dir, db: dbFile });
const truthFile = join(dir, 'metadata', 'keeper_truth.parquet');

async function score(label: string, r: Awaited<ReturnType<typeof match>>): Promise<void> {
  const db = await Db.open(dbFile, { readOnly: true });
  const [q] = await db.all<{
    withOriginal: number;
    right: number;
    wrong: number;
  }>(`SELECT count(*) FILTER (WHERE t.true_photo_id IS NOT NULL) AS withOriginal,
    count(*) FILTER (WHERE k.match_status = 'matched' AND k.matched_photo_id = t.true_photo_id) AS right,
    count(*) FILTER (WHERE k.match_status = 'matched' AND k.matched_photo_id IS DISTINCT FROM t.true_photo_id) AS wrong
    FROM keeper_files k JOIN read_parquet(${lit(truthFile)}) t USING (path)`);
  db.close();
  console.log(
    `${label}: ${r.keepers} keepers in ${r.seconds.toFixed(1)} s (metadata steps ${r.timings.metadata.toFixed(1)} s, similarity ${r.timings.similarity.toFixed(1)} s for ${r.timings.keepersBySimilarity} keepers)`,
  );
  console.log(
    `  status ${JSON.stringify(r.byStatus)}, methods ${JSON.stringify(r.byMethod)}, offsets found ${r.offsets.length}`,
  );
  console.log(
    `  against the truth: ${q?.right}/${q?.withOriginal} keepers with an original linked right (recall ${((100 * (q?.right ?? 0)) / (q?.withOriginal ?? 1)).toFixed(2)}%), ${q?.wrong} wrong links`,
  );
}

console.log(`matching benchmark: ${meta.photos} photos, ${meta.keeperFiles} keeper files (metadata-only, no pixels)`);
const first = await withDb(dbFile, (d) => match(d), { index: true });
await score('metadata steps, every keeper', first);

// similarity at scale: synthetic corpus vectors, and stripped keepers whose vector is their original's plus noise
const n = Number(values.similarity);
const db = await Db.open(dbFile);
const photosDir = vectorDir(dir, 'synthetic-512', 'photos');
const keepersDir = vectorDir(dir, 'synthetic-512', 'keepers');
mkdirSync(photosDir, { recursive: true });
mkdirSync(keepersDir, { recursive: true });
let t = performance.now();
await db.run(`COPY (SELECT photo_id, 'synthetic-512' AS model_id, 0 AS view,
  list_transform(range(512), i -> (((hash(photo_id, i) % 2001)::DOUBLE - 1000) / 1000)::FLOAT) AS vector FROM photos)
  TO ${lit(join(photosDir, 'part-00000.parquet'))} (FORMAT parquet)`);
console.log(`\nsynthetic corpus vectors written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
await db.run(`CREATE TEMP TABLE chosen AS SELECT k.keeper_id, t.true_photo_id FROM keeper_files k JOIN read_parquet(${lit(truthFile)}) t USING (path)
  WHERE t.kind = 'exif' ORDER BY hash(k.keeper_id) LIMIT ${n}`);
// every keeper file gets a vector: its original's plus noise (an edit), or a random one when it has no original
await db.run(`COPY (SELECT k.keeper_id, 'synthetic-512' AS model_id, 0 AS view,
  list_transform(range(512), i -> (((hash(coalesce(t.true_photo_id, k.keeper_id + 7), i) % 2001)::DOUBLE - 1000) / 1000 + ((hash(k.keeper_id, i) % 201)::DOUBLE - 100) / 1000)::FLOAT) AS vector
  FROM keeper_files k JOIN read_parquet(${lit(truthFile)}) t USING (path)) TO ${lit(join(keepersDir, 'part-00000.parquet'))} (FORMAT parquet)`);
// strip them: no EXIF, no camera name, a new hash; only the day folder is left
await db.run(`UPDATE keeper_files SET captured_at = NULL, original_filename = NULL, name_canonical = false, name_captured_at = NULL,
  sha256 = sha256('stripped' || keeper_id), match_status = NULL WHERE keeper_id IN (SELECT keeper_id FROM chosen)`);
// a tenth lose their day folder too (a flat export folder) and a tenth sit in a folder 400 days off: above 50,000
// photos both are found by the whole-corpus search on the vectors (brute force on the matrix kernels)
await db.run(`UPDATE keeper_files SET folder_date = CASE WHEN hash(keeper_id) % 10 = 0 THEN NULL
  ELSE folder_date + INTERVAL 400 DAY END WHERE keeper_id IN (SELECT keeper_id FROM chosen) AND hash(keeper_id) % 10 < 2`);
db.close();
t = performance.now();
const second = await withDb(dbFile, (d) => match(d, { model: 'synthetic-512' }), { index: true });
await score('similarity step', second);
console.log(
  `  similarity: ${((1000 * second.timings.similarity) / Math.max(1, second.timings.keepersBySimilarity)).toFixed(1)} ms per keeper ` +
    `(${second.timings.keepersBySimilarity} keepers, thresholds link ${second.thresholds.link.toFixed(4)} sure ${second.thresholds.review.toFixed(4)})`,
);

// verification by alignment on real photos: previews as ingest writes them (long side 384, JPEG q85)
if (existsSync(SHARED_PHOTOS)) {
  const preview = (jpeg: Buffer): Promise<Buffer> =>
    sharp(jpeg).rotate().resize(384, 384, { fit: 'inside' }).jpeg({ quality: 85 }).toBuffer();
  const files = readdirSync(SHARED_PHOTOS)
    .filter((f) => f.endsWith('.jpg') && !f.includes('exif-only'))
    .slice(0, 6);
  const jobs: Array<{ keeper: Buffer; frames: Buffer[] }> = [];
  for (const f of files) {
    const file = join(SHARED_PHOTOS, f);
    const frames = [await preview(await movedFigure(file, 0)), await preview(await movedFigure(file, 0.01))];
    for (const e of await plantEdits(file)) jobs.push({ keeper: await preview(e.jpeg), frames });
  }
  // one warm-up pair, then every keeper against both frames: decode both previews, align, measure
  verifyImages(await loadRgb(jobs[0]?.keeper as Buffer), await loadRgb(jobs[0]?.frames[0] as Buffer));
  let pairs = 0;
  let computeMs = 0;
  const tv = performance.now();
  for (const j of jobs) {
    for (const frame of j.frames) {
      const [k, c] = await Promise.all([loadRgb(j.keeper), loadRgb(frame)]);
      const t1 = performance.now();
      verifyImages(k, c);
      computeMs += performance.now() - t1;
      pairs++;
    }
  }
  const total = performance.now() - tv;
  console.log(
    `\nverification by alignment: ${pairs} pairs (${jobs.length} planted keepers x frame and sibling, ` +
      `${files.length} photos): ${(total / pairs).toFixed(1)} ms per verified candidate with both previews decoded, ` +
      `${(computeMs / pairs).toFixed(1)} ms aligning and measuring (target 50 ms on 2 cores)`,
  );
}
