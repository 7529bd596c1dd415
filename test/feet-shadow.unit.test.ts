/**
 * A person's cast shadow read at the feet (lib/2-detect/shadow.ts), on drawn ground: a strip from the feet reads its
 * length over the box height either way, what is not a shadow at the feet reads 0; the people column takes the
 * longest and is unknown for a box found before it was measured; and a detections table from before the column gets
 * it, filled from the previews.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { feetShadow } from '../lib/2-detect/shadow.js';
import { fillShadows, formatDetect, type DetectReport } from '../lib/2-detect/detect.js';
import type { Rgb } from '../lib/2-detect/run.js';
import { Db } from '../lib/db/duckdb.js';
import { ensureDetectionSchema } from '../lib/db/detections.js';
import { PEOPLE_NAMES, peopleRow } from '../lib/4-dataset/people.js';
import { tempDir } from './helpers.js';

const W = 200;
const H = 120;
/** A person box 60 px tall standing at row 96, its centre at column 100. */
const BOX = { x: 0.45, y: 0.3, w: 0.1, h: 0.5 };
const FH = 60;

/** Lit ground of one grey, with the rows and columns given darkened to 35%. */
function ground(level: number, dark: Array<{ x0: number; x1: number; y0: number; y1: number }> = []): Rgb {
  const data = new Uint8Array(W * H * 3).fill(level);
  for (const d of dark)
    for (let y = d.y0; y < d.y1; y++)
      for (let x = d.x0; x < d.x1; x++) data.fill(Math.round(level * 0.35), (y * W + x) * 3, (y * W + x) * 3 + 3);
  return { data, width: W, height: H };
}

test('a strip from the feet reads its length over the box height, either way; nothing else at the feet does', () => {
  const right = feetShadow(ground(180, [{ x0: 100, x1: 140, y0: 96, y1: 99 }]), BOX);
  assert.ok(Math.abs(right * FH - 40) <= 1, `40 px to the right: ${right * FH} px`);
  const left = feetShadow(ground(180, [{ x0: 60, x1: 100, y0: 96, y1: 99 }]), BOX);
  assert.ok(Math.abs(left * FH - 40) <= 1, `40 px to the left: ${left * FH} px`);
  // a short one from the feet is a shadow too, as long as it is 3 px or more
  assert.ok(Math.abs(feetShadow(ground(180, [{ x0: 98, x1: 108, y0: 97, y1: 98 }]), BOX) * FH - 10) <= 1);
  assert.equal(feetShadow(ground(180, [{ x0: 99, x1: 101, y0: 97, y1: 98 }]), BOX), 0, 'two pixels are noise');
  assert.equal(feetShadow(ground(180), BOX), 0, 'flat lit ground');
  // a broad band of shade: the ground below the strip is as dark, so the person stands in shade
  assert.equal(feetShadow(ground(180, [{ x0: 0, x1: W, y0: 80, y1: H }]), BOX), 0, 'standing in shade');
  // a dark strip that does not reach the feet: someone else's shadow, or a kerb
  assert.equal(feetShadow(ground(180, [{ x0: 125, x1: 165, y0: 96, y1: 99 }]), BOX), 0, 'away from the feet');
  // a strip high above the feet
  assert.equal(feetShadow(ground(180, [{ x0: 100, x1: 140, y0: 60, y1: 63 }]), BOX), 0, 'at the waist');
  // a black street: nothing lit to cast a shadow on
  assert.equal(feetShadow(ground(20, [{ x0: 100, x1: 140, y0: 96, y1: 99 }]), BOX), 0, 'a night street');
  // a tiny box is not read
  assert.equal(feetShadow(ground(180, [{ x0: 100, x1: 140, y0: 96, y1: 99 }]), { ...BOX, h: 0.02 }), 0);
});

test('the people column is the longest shadow of the persons, 0 for nobody, unknown for a box not measured', () => {
  const col = PEOPLE_NAMES.indexOf('people_shadow');
  const person = (shadow: number | null) => ({ score: 0.9, ...BOX, luma: null, keypoints: null, shadow });
  assert.equal(peopleRow([person(0.2), person(0.5)], [], null)[col], 0.5);
  assert.equal(peopleRow([person(0)], [], null)[col], 0);
  assert.equal(peopleRow([], [], null)[col], 0);
  assert.ok(Number.isNaN(peopleRow([person(0.5), person(null)], [], null)[col]));
});

test('a detections table from before the cast shadow gets the column, filled from the previews', async () => {
  const t = tempDir('feet-shadow');
  try {
    mkdirSync(join(t.dir, 'previews'));
    const img = ground(180, [{ x0: 100, x1: 140, y0: 96, y1: 99 }]);
    await sharp(img.data, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toFile(join(t.dir, 'previews', '1.png'));
    // a preview cut short: its first bytes only
    const whole = await sharp(img.data, { raw: { width: W, height: H, channels: 3 } })
      .jpeg()
      .toBuffer();
    writeFileSync(join(t.dir, 'previews', 'cut.jpg'), whole.subarray(0, 200));
    const db = await Db.open(join(t.dir, 'flux.duckdb'));
    try {
      await db.run('CREATE TABLE photos (photo_id BIGINT, path VARCHAR, preview VARCHAR)');
      await db.run(`INSERT INTO photos VALUES (1, 'a.jpg', 'previews/1.png'), (2, 'b.jpg', 'previews/gone.png'),
        (3, 'c.jpg', 'previews/cut.jpg')`);
      // the table as it was before the column
      await db.run(`CREATE TABLE detections ("set" VARCHAR NOT NULL, photo_id BIGINT NOT NULL,
        model_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, score DOUBLE NOT NULL, x DOUBLE NOT NULL,
        y DOUBLE NOT NULL, w DOUBLE NOT NULL, h DOUBLE NOT NULL, luma DOUBLE, keypoints DOUBLE[],
        preview_size INTEGER NOT NULL)`);
      for (const [id, kind] of [
        [1, 'person'],
        [1, 'face'],
        [2, 'person'],
        [3, 'person'],
      ] as const)
        await db.run(
          `INSERT INTO detections VALUES ('photos', ?, 'm@1', ?, 0.9, 0.45, 0.3, 0.1, 0.5, 0.5, NULL, 200)`,
          [id, kind],
        );
      await ensureDetectionSchema(db);
      assert.deepEqual(
        await fillShadows(db, t.dir, ['photos']),
        { filled: 1, unmeasured: 2 },
        'the box whose preview is there is measured, those whose preview is gone or cut short are counted',
      );
      const rows = await db.all<{ id: number; kind: string; shadow: number | null }>(
        `SELECT photo_id AS id, kind, shadow FROM detections ORDER BY 1, 2 DESC`,
      );
      assert.equal(rows.length, 4);
      assert.ok(Math.abs((rows[0]?.shadow as number) * FH - 40) <= 1, JSON.stringify(rows[0]));
      assert.equal(rows[1]?.shadow, null, 'a face has no shadow');
      assert.equal(rows[2]?.shadow, null, 'a preview that is gone leaves the box unmeasured');
      assert.equal(rows[3]?.shadow, null, 'a preview cut short leaves the box unmeasured');
      assert.deepEqual(
        await fillShadows(db, t.dir, ['photos']),
        { filled: 0, unmeasured: 2 },
        'a second run finds nothing new to read',
      );
    } finally {
      db.close();
    }
  } finally {
    t.cleanup();
  }
});

test('the detect report says how many earlier boxes got a shadow and how many could not, and why', () => {
  const report: DetectReport = {
    db: 'flux.duckdb',
    backend: null,
    runtimes: {},
    modelDir: 'models/detect',
    runs: [],
    msPerPhoto: {},
    shadowsFilled: 7,
    shadowsUnmeasured: 2,
    seconds: 1,
  };
  const text = formatDetect(report);
  assert.match(text, /cast shadows measured for 7 person boxes found before the column existed/);
  assert.match(text, /2 person boxes left without a cast shadow: their previews are gone or do not decode \(run flux/);
  assert.doesNotMatch(formatDetect({ ...report, shadowsFilled: 0, shadowsUnmeasured: 0 }), /shadow/);
});
