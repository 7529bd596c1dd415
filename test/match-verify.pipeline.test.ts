import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { Db } from '../lib/db/duckdb.js';
import { findModel } from '../lib/2-embed/models.js';
import { runEmbed, runIngest } from '../lib/pipeline/stages.js';
import type { MatchReport } from '../lib/3-match/match.js';
import type { SampleResult, TruthPhoto } from '../lib/0-sample/generate.js';
import { verifyBar } from '../lib/3-match/verification.js';
import { matchAt, smallSample, tempDir } from './helpers.js';

const hasModel = findModel('mobilenetv2-int8').path !== null;
const work = tempDir('match-verify');
after(() => work.cleanup());

/** Keepers planted beside the sample's bursts: how each was made, the frame it shows, and that frame's neighbour. */
interface Plant {
  path: string;
  kind: 'exif-edit' | 'stripped';
  original: string;
  sibling: string;
}
let sample: SampleResult;
let dbFile: string;
let report: MatchReport;
const plants: Plant[] = [];

/** Every burst of the sample, frames in time order. */
function bursts(s: SampleResult): TruthPhoto[][] {
  const by = new Map<number, TruthPhoto[]>();
  for (const p of s.truth.photos) if (p.burst !== null) by.set(p.burst, [...(by.get(p.burst) ?? []), p]);
  return [...by.values()]
    .filter((b) => b.length >= 2)
    .map((b) => b.sort((x, y) => x.capturedAt.localeCompare(y.capturedAt)));
}

before(async () => {
  sample = await smallSample();
  const keepers = join(work.dir, 'KEEPERS');
  for (const [i, frames] of bursts(sample).entries()) {
    const [a, b] = frames as [TruthPhoto, TruthPhoto];
    const day = a.path.split('/').slice(0, 3).join('/');
    mkdirSync(join(keepers, day), { recursive: true });
    const src = sharp(join(sample.originals, a.path));
    const meta = await src.metadata();
    const [w, h] = [meta.width as number, meta.height as number];
    const crop = {
      left: Math.round(w * 0.03),
      top: Math.round(h * 0.02),
      width: Math.round(w * 0.92),
      height: Math.round(h * 0.95),
    };
    if (i % 2 === 0) {
      // an edit that kept the camera's EXIF: linked by its time, it teaches verification what an edit leaves
      const path = `${day}/edit-${i}.jpg`;
      await src.extract(crop).linear(1.1, -6).jpeg({ quality: 85 }).keepExif().toFile(join(keepers, path));
      plants.push({ path, kind: 'exif-edit', original: a.path, sibling: b.path });
    } else {
      // exported again, stripped and renamed: only the pixels say which frame of the burst it is
      const path = `${day}/export_${String(i).padStart(4, '0')}.jpg`;
      await src.rotate().extract(crop).modulate({ brightness: 0.9 }).jpeg({ quality: 80 }).toFile(join(keepers, path));
      plants.push({ path, kind: 'stripped', original: a.path, sibling: b.path });
    }
  }
  dbFile = join(work.dir, 'flux.duckdb');
  await runIngest({ originals: sample.originals, keepers, db: dbFile });
  await runEmbed({ db: dbFile, model: hasModel ? 'mobilenetv2-int8' : 'none' });
  report = await matchAt(dbFile);
});

async function query<T extends object>(sql: string): Promise<T[]> {
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    return await db.all<T>(sql);
  } finally {
    db.close();
  }
}

test('a re-export or edit of a burst frame is never linked to its sibling; verified, it links to its own frame', async () => {
  const rows = new Map(
    (
      await query<{ path: string; status: string; photo: string | null; reason: string | null }>(
        `SELECT k.path, k.match_status AS status, p.path AS photo, k.review_reason AS reason
     FROM keeper_files k LEFT JOIN photos p ON p.photo_id = k.matched_photo_id`,
      )
    ).map((r) => [r.path, r]),
  );
  const [cal] = await query<{ calibrated: boolean; worst_tile: number; positives: number[]; negatives: number[] }>(
    'SELECT calibrated, worst_tile, positives, negatives FROM match_verify_calibration',
  );
  assert.ok(
    plants.some((p) => p.kind === 'stripped') && plants.some((p) => p.kind === 'exif-edit'),
    'both kinds planted',
  );
  for (const p of plants) {
    const r = rows.get(p.path);
    assert.ok(r, `${p.path} indexed`);
    // never the sibling: linked to its own frame, or waiting in review, or unmatched
    if (r.status === 'matched') assert.equal(r.photo, p.original, `${p.path} (${p.kind}): linked to its own frame`);
    // with thresholds learnt from the exif edits, every stripped export links to exactly its frame
    if (p.kind === 'stripped' && cal?.calibrated) {
      assert.equal(r.status, 'matched', `${p.path}: ${r.reason} (verify bar ${cal.worst_tile})`);
    }
  }
  assert.ok(cal, 'verification thresholds recorded');
  // the archive's own evidence: one positive and one negative per exif edit with a neighbour in its burst
  const edits = plants.filter((p) => p.kind === 'exif-edit').length;
  assert.equal(cal.positives.length, edits);
  assert.equal(cal.negatives.length, edits);
  // calibrated when the edits' high end stays below the neighbours' low end; the bar lies between the two
  const bar = verifyBar(cal.positives, cal.negatives);
  assert.equal(cal.calibrated, edits >= 5 && bar !== null);
  if (cal.calibrated) assert.ok(Math.abs(cal.worst_tile - (bar as number)) < 1e-9);
});

test('every verified pair is recorded with its transform, overlap and residuals', async () => {
  const v = await query<{
    path: string;
    photo: string;
    scale: number;
    overlap: number;
    residual: number;
    worst: number;
    verified: boolean;
  }>(
    `SELECT k.path, p.path AS photo, v.scale, v.overlap, v.residual, v.worst_tile AS worst, v.verified
     FROM match_verifications v JOIN keeper_files k USING (keeper_id) JOIN photos p ON p.photo_id = v.photo_id`,
  );
  for (const p of plants.filter((x) => x.kind === 'stripped')) {
    const own = v.find((x) => x.path === p.path && x.photo === p.original);
    assert.ok(own, `${p.path} verified against its own frame`);
    // the export shows 92% of the frame's width: its pixels are 0.92 of the frame's
    assert.ok(Math.abs(own.scale - 0.92) < 0.01 && own.overlap > 0.95, JSON.stringify(own));
    const sib = v.find((x) => x.path === p.path && x.photo === p.sibling);
    if (sib) assert.ok(sib.worst > own.worst, `${p.path}: sibling ${sib.worst} vs own ${own.worst}`);
  }
  assert.equal(report.timings.verifiedPairs, v.length);
});

test('the review sheet shows each verified candidate with its residual map and alignment numbers', async () => {
  const { withDb } = await import('../lib/db/duckdb.js');
  const { writeReview } = await import('../lib/3-match/review.js');
  const r = await withDb(dbFile, (db) => writeReview(db, join(work.dir, 'review')), { readOnly: true, index: true });
  const html = readFileSync(r.html, 'utf8');
  const [one] = await query<{ path: string; n: number }>(`SELECT k.path, count(*) AS n FROM keeper_files k
    JOIN match_candidates c USING (keeper_id) JOIN match_verifications v ON v.keeper_id = k.keeper_id
    AND v.photo_id = c.photo_id WHERE k.match_status = 'review' GROUP BY k.path ORDER BY k.path LIMIT 1`);
  assert.ok(one, 'a keeper in review has verified candidates');
  // its card carries one map per verified candidate, in the shared page shell
  const start = html.indexOf(`<h3>${one.path}</h3>`);
  const card = html.slice(start, html.indexOf('</section>', start));
  assert.equal((card.match(/aria-label="residual map"/g) ?? []).length, Number(one.n));
  assert.match(
    card,
    /alignment: scale 0\.92\d, rotation -?0\.\d\d deg, overlap \d\.\d\d, residual \d+\.\d\d, worst tile \d\.\d{3}/,
  );
  assert.match(html, /<html lang="en">/);
});
