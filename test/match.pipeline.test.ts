import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { Db, withDb } from '../lib/db/duckdb.js';
import { findModel } from '../lib/2-embed/models.js';
import { runEmbed, runIngest } from '../lib/pipeline/stages.js';
import { calibrate, formatMatch, timeContradicts, type MatchReport } from '../lib/3-match/match.js';
import { applyDecisions as applyDecisionsTo, writeReview as writeReviewOf } from '../lib/3-match/review.js';
import { csvCell, parseCsv } from '../lib/util/csv.js';
import type { SampleResult } from '../lib/0-sample/generate.js';
import { envSkip, matchAt, noSharedPhotos, SHARED_PHOTOS, smallSample, tempDir } from './helpers.js';

const writeReview = (file: string, out: string): ReturnType<typeof writeReviewOf> =>
  withDb(file, (db) => writeReviewOf(db, out), { readOnly: true, index: true });
const applyDecisions = (file: string, csv: string): ReturnType<typeof applyDecisionsTo> =>
  withDb(file, (db) => applyDecisionsTo(db, csv), { index: true });
const hasModel = findModel('mobilenetv2-int8').path !== null;
const work = tempDir('match');
after(() => work.cleanup());
let sample: SampleResult;
let dbFile: string;
let report: MatchReport;

interface Row {
  path: string;
  match_status: string;
  matched: string | null;
  match_method: string | null;
  clock_offset_seconds: number;
  keeper_edited: boolean | null;
}
async function rows(file: string): Promise<Row[]> {
  const db = await Db.open(file, { readOnly: true });
  try {
    return await db.all<Row>(`SELECT k.path, k.match_status, CASE WHEN k.match_status = 'matched' THEN p.path END AS matched, k.match_method,
      k.clock_offset_seconds, p.keeper_edited FROM keeper_files k LEFT JOIN photos p ON p.photo_id = k.matched_photo_id ORDER BY k.path`);
  } finally {
    db.close();
  }
}

before(async () => {
  sample = await smallSample();
  dbFile = join(work.dir, 'flux.duckdb');
  await runIngest({ originals: sample.originals, keepers: sample.keepers, inbox: sample.inbox, db: dbFile });
  // with the model the similarity step uses its vectors; without it, thumbnails
  if (hasModel) await runEmbed({ db: dbFile, model: 'mobilenetv2-int8' });
  report = await matchAt(dbFile);
});

test('every keeper with an original links to exactly that original; none without one is linked', async () => {
  const got = new Map((await rows(dbFile)).map((r) => [r.path, r]));
  let withOriginal = 0;
  let linkedRight = 0;
  for (const k of sample.truth.keepers) {
    if (k.kind === 'bad') continue;
    const r = got.get(k.path);
    assert.ok(r, `${k.path} is in keeper_files`);
    if (r.match_status === 'matched')
      assert.equal(r.matched, k.original, `${k.path} (${k.kind}) linked to the true original`);
    if (k.original === null)
      assert.notEqual(r.match_status, 'matched', `${k.path} (${k.kind}) has no original and is not linked`);
    else {
      withOriginal++;
      if (r.matched === k.original) linkedRight++;
    }
  }
  assert.ok(linkedRight / withOriginal >= 0.995, `recall ${linkedRight}/${withOriginal}`);
});

test('the clock-shifted walk is detected with its offset and applied to its keepers', async () => {
  const shifted = sample.truth.sessions.find((s) => s.clockShiftHours !== 0);
  assert.ok(shifted);
  assert.ok(
    report.offsets.some((o) => o.seconds === shifted.clockShiftHours * 3600),
    `offsets found: ${JSON.stringify(report.offsets)}`,
  );
  const got = await rows(dbFile);
  for (const k of sample.truth.keepers.filter((x) => x.kind === 'shifted')) {
    const r = got.find((x) => x.path === k.path);
    assert.equal(r?.clock_offset_seconds, 3600, `${k.path} carries the offset`);
  }
  // only that walk: no other walk of the sample had its keeper clock off, whatever sub-seconds its keepers lost
  assert.deepEqual(
    report.offsets.map((o) => o.seconds),
    [shifted.clockShiftHours * 3600],
  );
});

test('edited keepers mark their original keeper_edited; copies do not; keeper flags and scores are set', async () => {
  const got = await rows(dbFile);
  for (const k of sample.truth.keepers.filter((x) => x.kind === 'edit' || x.kind === 'copy')) {
    const r = got.find((x) => x.path === k.path);
    if (r?.match_status !== 'matched') continue;
    const editedElsewhere = sample.truth.keepers.some(
      (o) => o.original === k.original && o.kind !== 'copy' && o.kind !== 'keeper-copy',
    );
    if (k.kind === 'edit') assert.equal(r.keeper_edited, true, `${k.path} edited`);
    if (k.kind === 'copy' && !editedElsewhere) assert.equal(r.keeper_edited, false, `${k.path} copy`);
  }
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    const [c] = await db.all<{
      keepers: number;
      scored: number;
      linked: number;
    }>(`SELECT count(*) FILTER (WHERE keeper) AS keepers,
      count(*) FILTER (WHERE keeper_score = 1.0) AS scored, (SELECT count(DISTINCT matched_photo_id) FROM keeper_files WHERE match_status = 'matched') AS linked FROM photos`);
    assert.equal(c?.keepers, c?.linked);
    assert.equal(c?.scored, c?.linked);
  } finally {
    db.close();
  }
  const methods = new Set(Object.keys(report.byMethod));
  for (const m of ['exif', 'filename']) assert.ok(methods.has(m), `method ${m} used (${[...methods].join(', ')})`);
});

test('re-running is idempotent and decides only what is undecided', async () => {
  const before = await rows(dbFile);
  const again = await matchAt(dbFile);
  assert.equal(again.processed, before.filter((r) => r.match_status !== 'matched').length);
  assert.deepEqual(await rows(dbFile), before);
  // the walks' clock offsets are found again from the links already made, and kept in match_sessions
  assert.deepEqual(again.offsets, report.offsets);
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    assert.equal(Number(await db.value('SELECT count(*) FROM match_sessions')), report.offsets.length);
  } finally {
    db.close();
  }
});

test('review sheet and CSV list the doubtful keepers; decisions survive a full re-run', async () => {
  const out = join(work.dir, 'review');
  const r = await writeReview(dbFile, out);
  const csv = parseCsv(readFileSync(r.csv, 'utf8'));
  assert.deepEqual(csv[0], [
    'keeper_id',
    'keeper_path',
    'candidate_rank',
    'photo_id',
    'photo_path',
    'similarity',
    'reason',
    'decision',
  ]);
  const html = readFileSync(r.html, 'utf8');
  const doubtful = (await rows(dbFile)).filter((x) => x.match_status !== 'matched');
  assert.equal(r.keepers, doubtful.length);
  for (const d of doubtful) assert.ok(html.includes(d.path), `${d.path} on the sheet`);
  await assert.rejects(writeReview(dbFile, join(sample.originals, 'review')), /inside the archive/);
  // the photographer rejects a link the cascade made, and accepts nothing else: it must stay unlinked after --all
  const linked = (await rows(dbFile)).find((x) => x.match_status === 'matched' && x.match_method === 'exif') as Row;
  const db = await Db.open(dbFile, { readOnly: true });
  const [ids] = await db.all<{ keeper_id: number; photo_id: number }>(
    `SELECT keeper_id, matched_photo_id AS photo_id FROM keeper_files WHERE path = ?`,
    [linked.path],
  );
  db.close();
  const decisions = join(work.dir, 'decisions.csv');
  writeFileSync(decisions, `keeper_id,photo_id,decision\n${ids?.keeper_id},${ids?.photo_id},reject\n`);
  assert.deepEqual(await applyDecisions(dbFile, decisions), { accepted: 0, rejected: 1, none: 0, ignored: 0 });
  await matchAt(dbFile, { all: true });
  const after1 = (await rows(dbFile)).find((x) => x.path === linked.path);
  assert.notEqual(after1?.matched, linked.matched, 'a rejected link is not made again');
  writeFileSync(decisions, `keeper_id,photo_id,decision\n${ids?.keeper_id},${ids?.photo_id},accept\n`);
  await applyDecisions(dbFile, decisions);
  await matchAt(dbFile, { all: true });
  assert.equal(
    (await rows(dbFile)).find((x) => x.path === linked.path)?.matched,
    linked.matched,
    'an accepted link is made',
  );
  writeFileSync(decisions, `keeper_id,photo_id,decision\n${ids?.keeper_id},${ids?.photo_id},maybe\n`);
  await assert.rejects(
    applyDecisions(dbFile, decisions),
    /decision: expected accept, reject, none \(no original in the archive\) or empty, received "maybe"/,
  );
  // a doubtful keeper the photographer says has no original: unlinked, with the reason, and out of the queue
  const gone = doubtful[0] as Row;
  const db2 = await Db.open(dbFile, { readOnly: true });
  const goneId = await db2.value<number>('SELECT keeper_id FROM keeper_files WHERE path = ?', [gone.path]);
  db2.close();
  writeFileSync(decisions, `keeper_id,photo_id,decision\n${goneId},,none\n`);
  assert.deepEqual(await applyDecisions(dbFile, decisions), { accepted: 0, rejected: 0, none: 1, ignored: 0 });
  await matchAt(dbFile, { all: true });
  const db3 = await Db.open(dbFile, { readOnly: true });
  const [g] = await db3.all<{ match_status: string; matched_photo_id: number | null; review_reason: string }>(
    'SELECT match_status, matched_photo_id, review_reason FROM keeper_files WHERE path = ?',
    [gone.path],
  );
  db3.close();
  assert.deepEqual(g, {
    match_status: 'unmatched',
    matched_photo_id: null,
    review_reason: 'no original in the archive, as the photographer decided',
  });
  const r2 = await writeReview(dbFile, join(work.dir, 'review2'));
  assert.equal(r2.keepers, doubtful.length - 1);
  assert.ok(!readFileSync(r2.html, 'utf8').includes(gone.path), 'it leaves the review queue');
  // one keeper, two answers in one sheet: refused, nothing stored
  writeFileSync(decisions, `keeper_id,photo_id,decision\n${goneId},,none\n${goneId},${ids?.photo_id},accept\n`);
  const esc = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await assert.rejects(
    applyDecisions(dbFile, decisions),
    new RegExp(`line 3: keeper ${esc(gone.path)} is marked accept here and none on line 2; give it one answer`),
  );
  // two accepts for one keeper: refused too
  const otherPhoto = await (async () => {
    const d = await Db.open(dbFile, { readOnly: true });
    try {
      return await d.value<number>('SELECT min(photo_id) FROM photos WHERE photo_id <> ?', [ids?.photo_id as number]);
    } finally {
      d.close();
    }
  })();
  writeFileSync(
    decisions,
    `keeper_id,photo_id,decision\n${ids?.keeper_id},${ids?.photo_id},accept\n${ids?.keeper_id},${otherPhoto},accept\n`,
  );
  await assert.rejects(
    applyDecisions(dbFile, decisions),
    /line 3: keeper .* is marked accept here and accept on line 2 for another photo; give it one answer/,
  );
  // none on every row of a keeper is one answer
  writeFileSync(decisions, `keeper_id,photo_id,decision\n${goneId},,none\n${goneId},${ids?.photo_id},none\n`);
  assert.deepEqual(await applyDecisions(dbFile, decisions), { accepted: 0, rejected: 0, none: 1, ignored: 0 });
  // a sheet saved by a spreadsheet: a byte-order mark, and 16-digit ids rounded to 15 digits; the paths still say which
  const rounded = (id: number | undefined): string =>
    Number(String(id).slice(0, 15) + '0'.repeat(Math.max(0, String(id).length - 15))).toString();
  const linkedPhoto = await (async () => {
    const d = await Db.open(dbFile, { readOnly: true });
    try {
      return await d.value<string>('SELECT path FROM photos WHERE photo_id = ?', [ids?.photo_id as number]);
    } finally {
      d.close();
    }
  })();
  writeFileSync(
    decisions,
    `\uFEFFkeeper_id,keeper_path,candidate_rank,photo_id,photo_path,similarity,reason,decision\r\n${rounded(ids?.keeper_id)},${linked.path},1,${rounded(ids?.photo_id)},${linkedPhoto},,,reject\r\n`,
  );
  assert.deepEqual(await applyDecisions(dbFile, decisions), { accepted: 0, rejected: 1, none: 0, ignored: 0 });
  // a reject of a link already made takes effect on the next plain run (no --all)
  await matchAt(dbFile);
  assert.notEqual(
    (await rows(dbFile)).find((x) => x.path === linked.path)?.matched,
    linked.matched,
    'the rejected link is undone',
  );
  // a decision naming no photo of the index is refused, not stored
  writeFileSync(decisions, `keeper_id,photo_id,decision\n${ids?.keeper_id},123,accept\n`);
  await assert.rejects(
    applyDecisions(dbFile, decisions),
    /line 2: accept names no photo of the index \(photo_id "123"\)/,
  );
});

test(
  'a keeper whose EXIF time points at the wrong frame of a burst is never linked to that frame',
  { skip: envSkip(hasModel ? false : 'needs the MobileNetV2 model') },
  async () => {
    const { cpSync } = await import('node:fs');
    const exifr = (await import('exifr')).default;
    // a burst of the sample, its frames a quarter of a second apart
    const bursts = new Map<number, typeof sample.truth.photos>();
    for (const p of sample.truth.photos) if (p.burst !== null) bursts.set(p.burst, [...(bursts.get(p.burst) ?? []), p]);
    const frames = [...bursts.values()]
      .find((b) => b.length >= 2)
      ?.sort((x, y) => x.capturedAt.localeCompare(y.capturedAt));
    assert.ok(frames, 'the sample has a burst');
    // A is the burst's second frame (its sub-second is not zero, so its time names it alone), B the first
    const [b, a] = frames as [(typeof frames)[number], (typeof frames)[number]];
    const root = join(work.dir, 'burst');
    const keepers = join(root, 'KEEPERS');
    cpSync(sample.keepers, keepers, { recursive: true, preserveTimestamps: true });
    const day = b.path.split('/').slice(0, 3).join('/');
    mkdirSync(join(keepers, day), { recursive: true });
    const exifOf = async (path: string): Promise<Record<string, string>> =>
      (await exifr.parse(join(sample.originals, path), {
        pick: ['DateTimeOriginal', 'SubSecTimeOriginal', 'Make', 'Model'],
        reviveValues: false,
      })) as Record<string, string>;
    const ea = await exifOf(a.path);
    const eb = await exifOf(b.path);
    const stamp = (e: Record<string, string>): string =>
      String(e.DateTimeOriginal).replace(/-/g, ':').replace('T', ' ').slice(0, 19);
    // 1: B re-encoded by an editor that dropped the sub-second; 2: B re-encoded under A's whole time (copied EXIF)
    const date = day.split('/')[2] as string;
    await sharp(join(sample.originals, b.path))
      .jpeg({ quality: 80 })
      .withExif({ IFD0: { Make: String(eb.Make), Model: String(eb.Model) }, IFD2: { DateTimeOriginal: stamp(eb) } })
      .toFile(join(keepers, day, `${date}_DanteSisofo_print-b1.jpg`));
    await sharp(join(sample.originals, b.path))
      .jpeg({ quality: 80 })
      .withExif({
        IFD0: { Make: String(ea.Make), Model: String(ea.Model) },
        IFD2: { DateTimeOriginal: stamp(ea), SubSecTimeOriginal: String(ea.SubSecTimeOriginal ?? '00') },
      })
      .toFile(join(keepers, day, `${date}_DanteSisofo_print-b2.jpg`));
    // 3: B brightened, keeping B's time and its sub-second (.00), renamed: an exact time names B, never A
    await sharp(join(sample.originals, b.path))
      .linear(1.15, 0)
      .jpeg({ quality: 80 })
      .withExif({
        IFD0: { Make: String(eb.Make), Model: String(eb.Model) },
        IFD2: { DateTimeOriginal: stamp(eb), SubSecTimeOriginal: String(eb.SubSecTimeOriginal ?? '00') },
      })
      .toFile(join(keepers, day, `${date}_DanteSisofo_print-b3.jpg`));
    const db2 = join(root, 'flux.duckdb');
    await runIngest({ originals: sample.originals, keepers, db: db2 });
    await runEmbed({ db: db2, model: 'mobilenetv2-int8' });
    await matchAt(db2);
    const got = new Map((await rows(db2)).map((r) => [r.path.split('/').pop(), r]));
    for (const name of [
      `${date}_DanteSisofo_print-b1.jpg`,
      `${date}_DanteSisofo_print-b2.jpg`,
      `${date}_DanteSisofo_print-b3.jpg`,
    ]) {
      const r = got.get(name);
      assert.ok(r, `${name} indexed`);
      assert.notEqual(
        r.matched,
        a.path,
        `${name}: never linked to the other frame of the burst (${r.match_status}, ${r.matched})`,
      );
      if (r.match_status === 'matched') assert.equal(r.matched, b.path, `${name}: linked, then to its own frame`);
    }
  },
);

test('capture times: a keeper with a sub-second names one frame of a burst, one without names the second', () => {
  const t0 = Date.parse('2024-05-17T10:00:00Z') / 1000;
  // the keeper at .25: its original is at .25, not the burst frame at .00 or .50
  assert.equal(timeContradicts('2024-05-17 10:00:00.250000', t0 + 0.25, t0 + 0.25), false);
  assert.equal(timeContradicts('2024-05-17 10:00:00.250000', t0 + 0.25, t0), true);
  assert.equal(timeContradicts('2024-05-17 10:00:00.250000', t0 + 0.25, t0 + 0.5), true);
  // without a sub-second (an editor dropped it): any frame within that second, none outside it
  assert.equal(timeContradicts('2024-05-17 10:00:00.000000', t0, t0 + 0.75), false);
  assert.equal(timeContradicts('2024-05-17 10:00:00.000000', t0, t0 + 1.2), true);
  assert.equal(timeContradicts('2024-05-17 10:00:00.000000', t0, t0 - 0.5), true);
});

test('CSV cells are safe against formula injection', () => {
  assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvCell('+1'), "'+1");
  assert.equal(csvCell('a,b'), '"a,b"');
  assert.deepEqual(parseCsv('a,"b,""c"""\n1,2\n'), [
    ['a', 'b,"c"'],
    ['1', '2'],
  ]);
});

test('calibration: thresholds sit above every sibling; too little evidence falls back to review', () => {
  const t = calibrate('model:x', [0.97, 0.99, 0.995, 0.999], [0.8, 0.85, 0.9, 0.93, 0.95, 0.91]);
  assert.ok(t.calibrated && t.link > 0.95 && t.review > t.link && t.review < 1);
  const u = calibrate('model:x', [0.99], [0.9]);
  assert.equal(u.calibrated, false);
  assert.ok(u.review > 1, 'uncalibrated similarity links always go to review');
  assert.equal(calibrate('model:clip-vit-b32', [], []).link, 0.98);
  // the summary says so in words, not with a threshold above the largest possible similarity
  const summary = (th: typeof t): string =>
    formatMatch({
      keepers: 1,
      processed: 1,
      byMethod: {},
      byStatus: {},
      offsets: [],
      thresholds: th,
      unmatched: [],
      review: [],
      unreadable: [],
      seconds: 0,
      timings: { metadata: 0, similarity: 0, keepersBySimilarity: 0 },
    });
  assert.match(summary(u), /similarity \(model:x\): not calibrated .* go to review/);
  assert.doesNotMatch(summary(u), /sure >=/);
  assert.match(summary(t), new RegExp(`sure >= ${t.review.toFixed(4)}`));
});

test(
  'real photos: re-encoded, cropped, exposure-shifted, stripped and renamed copies link to the right original',
  { skip: envSkip(noSharedPhotos || (hasModel ? false : 'needs the MobileNetV2 model')) },
  async () => {
    const root = join(work.dir, 'real');
    const originals = join(root, 'ORIGINALS');
    const keepers = join(root, 'KEEPERS');
    const files = readFileSync(join(SHARED_PHOTOS, 'MANIFEST.tsv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t'))
      .filter((c) => Number(c[8]) >= 1000)
      .map((c) => ({ file: c[0] as string, date: (c[7] as string).slice(0, 10).replace(/:/g, '-') }));
    for (const f of files) {
      const dir = join(originals, f.date.slice(0, 4), f.date.slice(0, 7), f.date);
      mkdirSync(dir, { recursive: true });
      copyFileSync(join(SHARED_PHOTOS, f.file), join(dir, f.file));
    }
    const expected = new Map<string, { original: string; exif: boolean }>();
    const variants: Array<[string, (s: Sharp, m: Metadata) => Sharp, boolean]> = [
      ['reencode', (s) => s.jpeg({ quality: 70 }), true],
      [
        'crop10',
        (s, m) =>
          s
            .extract({
              left: Math.round((m.width as number) * 0.05),
              top: Math.round((m.height as number) * 0.05),
              width: Math.round((m.width as number) * 0.9),
              height: Math.round((m.height as number) * 0.9),
            })
            .jpeg(),
        true,
      ],
      ['plus03ev', (s) => s.linear(2 ** (0.3 / 2.2), 0).jpeg(), true],
      ['minus03ev', (s) => s.linear(2 ** (-0.3 / 2.2), 0).jpeg(), true],
      ['stripped', (s) => s.jpeg({ quality: 90 }), false],
      [
        'crop-stripped',
        (s, m) =>
          s
            .extract({
              left: Math.round((m.width as number) * 0.04),
              top: 0,
              width: Math.round((m.width as number) * 0.92),
              height: m.height as number,
            })
            .jpeg(),
        false,
      ],
    ];
    let n = 0;
    for (const f of files.slice(0, 8)) {
      const buf = readFileSync(join(SHARED_PHOTOS, f.file));
      const meta = await sharp(buf).metadata();
      const dir = join(keepers, f.date.slice(0, 4), f.date.slice(0, 7), f.date);
      mkdirSync(dir, { recursive: true });
      for (const [label, make, keepExif] of variants) {
        let s = sharp(buf);
        s = keepExif
          ? make(s, meta).keepExif()
          : make(s.rotate(), {
              ...meta,
              ...(meta.orientation && meta.orientation >= 5 ? { width: meta.height, height: meta.width } : {}),
            });
        // stripped files are also renamed: nothing in the name points at the original
        const name = keepExif
          ? `${f.file.replace('.jpg', '')}_${label}.jpg`
          : `print-${String(++n).padStart(3, '0')}.jpg`;
        await s.toFile(join(dir, name));
        expected.set(`${f.date.slice(0, 4)}/${f.date.slice(0, 7)}/${f.date}/${name}`, {
          original: `${f.date.slice(0, 4)}/${f.date.slice(0, 7)}/${f.date}/${f.file}`,
          exif: keepExif,
        });
      }
    }
    const db = join(root, 'flux.duckdb');
    await runIngest({ originals, keepers, db });
    await runEmbed({ db, model: 'mobilenetv2-int8' });
    const r = await matchAt(db);
    const got = await rows(db);
    for (const [path, { original, exif }] of expected) {
      const row = got.find((x) => x.path === path);
      assert.equal(
        row?.match_status,
        'matched',
        `${path}: ${JSON.stringify(r.review.find((x) => x.path === path) ?? r.unmatched.find((x) => x === path))}`,
      );
      assert.equal(row?.matched, original, `${path} linked to its own original`);
      // a keeper that kept its EXIF links by its capture time, to the microsecond where the camera writes six
      // sub-second digits (the Pixel's .935476)
      if (exif) assert.equal(row?.match_method, 'exif', `${path} linked by its EXIF time`);
    }
  },
);
