import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { Db } from '../lib/db/duckdb.js';
import { farthestPointReference, farthestPointRuns, kmeansRun } from '../lib/7-curate/algorithms.js';
import { unitRows, type VectorMatrix } from '../lib/util/vectors.js';
import {
  curateVectors,
  exclude,
  exclusions,
  exportSelection,
  formatCurate,
  type CurateResult,
} from '../lib/7-curate/curate.js';
import { MatMul } from '../lib/onnx/matmul.js';
import { runEmbed, runIngest } from '../lib/pipeline/stages.js';
import { kmeansInThreads, kmeansThreads } from '../lib/7-curate/kmeans-threads.js';
import { availableParallelism } from 'node:os';
import { Rng } from '../lib/util/rng.js';
import { tempDir } from './helpers.js';

const work = tempDir('curate');
after(() => work.cleanup());

function randomUnit(rows: number, dim: number, seed: number): VectorMatrix {
  const rng = new Rng(seed);
  return unitRows({ data: Float32Array.from({ length: rows * dim }, () => rng.normal()), rows, dim });
}

test('FPS from the same start rows picks exactly what the straightforward computation picks', async () => {
  const m = randomUnit(400, 16, 1);
  const mm = await MatMul.create();
  try {
    const starts = [0, 17, 399, 200];
    const runs = await farthestPointRuns(m, 30, starts, mm);
    starts.forEach((s, i) => assert.deepEqual(runs[i], farthestPointReference(m, 30, s), `run from row ${s}`));
    for (const r of runs) assert.equal(new Set(r).size, r.length, 'no row picked twice');
  } finally {
    await mm.close();
  }
});

test('k-means representatives are members of their cluster, nearest its centre', async () => {
  const m = randomUnit(600, 8, 2);
  const mm = await MatMul.create();
  try {
    const r = await kmeansRun(m, 12, new Rng(3), mm, { batch: 128, steps: 40 });
    assert.ok(r.representatives.length <= 12 && r.representatives.length >= 10);
    const dist = (row: number, c: number): number => {
      let s = 0;
      for (let k = 0; k < m.dim; k++)
        s += ((m.data[row * m.dim + k] as number) - (r.centres[c * m.dim + k] as number)) ** 2;
      return s;
    };
    for (const rep of r.representatives) {
      const c = r.assignment[rep] as number;
      for (let i = 0; i < m.rows; i++)
        if (r.assignment[i] === c)
          assert.ok(dist(rep, c) <= dist(i, c) + 1e-5, `row ${i} is nearer centre ${c} than ${rep}`);
    }
  } finally {
    await mm.close();
  }
});

test('k-means finds planted clusters: one representative in almost every one, no cluster left empty', async () => {
  // 60 planted clusters of 100 rows in 32 dimensions (the helper-free check of k-means++ and reassignment)
  const k = 60,
    dim = 32,
    rows = 6000;
  const rng = new Rng(5);
  const centres = Array.from({ length: k }, () => Array.from({ length: dim }, () => rng.normal()));
  const data = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < dim; j++) data[i * dim + j] = (centres[i % k]?.[j] as number) + 0.35 * rng.normal();
  const m = unitRows({ data, rows, dim });
  const mm = await MatMul.create();
  try {
    for (const seed of [0, 1, 2]) {
      const r = await kmeansRun(m, k, new Rng(seed), mm);
      assert.equal(r.representatives.length, k, `seed ${seed}: every cluster has members`);
      const covered = new Set(r.representatives.map((row) => row % k)).size;
      assert.ok(covered >= 0.95 * k, `seed ${seed}: ${covered} of ${k} planted clusters represented`);
    }
  } finally {
    await mm.close();
  }
});

test('k-means Monte Carlo in one thread per core picks what one thread picks, run by run', async () => {
  // wide enough for the threads (1,000,000 values): 2,100 rows of 512
  const rows = 2100,
    dim = 512;
  const rng = new Rng(12);
  const m = unitRows({ data: Float32Array.from({ length: rows * dim }, () => rng.normal()), rows, dim });
  assert.equal(kmeansThreads(m, 3), Math.min(3, availableParallelism() >= 2 ? availableParallelism() : 0));
  assert.equal(kmeansThreads({ ...m, rows: 1000 }, 3), 0, 'a small matrix stays in one thread');
  const threaded = await kmeansInThreads(m, 20, 3, 4, 2);
  const mm = await MatMul.create();
  try {
    const one = new Rng(4);
    for (let i = 0; i < 3; i++) {
      const alone = await kmeansRun(m, 20, one.fork(`kmeans:${i}`), mm);
      assert.deepEqual(threaded[i], alone.representatives, `iteration ${i}`);
    }
  } finally {
    await mm.close();
  }
  const ids = Array.from({ length: rows }, (_, i) => 1000 + i);
  const r = await curateVectors({ ids, matrix: m }, { method: 'kmeans', target: 20, iterations: 3, seed: 4 });
  assert.deepEqual(
    r.runs,
    threaded.map((run) => run.map((row) => 1000 + row)),
  );
});

test('Monte Carlo: same seed same result; exclusions never picked; frequencies and bands; all at 100% when target covers everything', async () => {
  const m = randomUnit(300, 12, 4);
  const ids = Array.from({ length: 300 }, (_, i) => 1000 + i);
  for (const method of ['fps', 'kmeans'] as const) {
    const a = await curateVectors({ ids, matrix: m }, { method, target: 20, iterations: 5, seed: 9 });
    const b = await curateVectors({ ids, matrix: m }, { method, target: 20, iterations: 5, seed: 9 });
    assert.deepEqual(a.runs, b.runs, `${method}: reproducible`);
    assert.equal(a.selection.length, 20);
    assert.ok(
      a.selection.every((s, i) => i === 0 || s.votes <= (a.selection[i - 1] as { votes: number }).votes),
      'sorted by votes',
    );
    for (const s of a.selection)
      assert.equal(s.band, s.frequency >= 90 ? 'stable' : s.frequency >= 70 ? 'frequent' : 'occasional');
    const excluded = new Set(a.selection.slice(0, 5).map((s) => s.photoId));
    const c = await curateVectors({ ids, matrix: m }, { method, target: 20, iterations: 5, seed: 9, excluded });
    for (const run of c.runs) for (const id of run) assert.ok(!excluded.has(id), `${method}: excluded ${id} picked`);
  }
  const other = await curateVectors({ ids, matrix: m }, { method: 'fps', target: 20, iterations: 5, seed: 10 });
  assert.notDeepEqual(
    other.runs,
    (await curateVectors({ ids, matrix: m }, { method: 'fps', target: 20, iterations: 5, seed: 9 })).runs,
  );
  const all = await curateVectors(
    { ids: ids.slice(0, 10), matrix: { ...m, rows: 10, data: m.data.slice(0, 120) } },
    { method: 'fps', target: 50, iterations: 3, seed: 1 },
  );
  assert.deepEqual(
    all.selection.map((s) => s.frequency),
    Array(10).fill(100),
  );
  await assert.rejects(
    curateVectors({ ids, matrix: m }, { method: 'fps', target: 0, iterations: 3, seed: 1 }),
    /--target: expected an integer from 1 to 100000/,
  );
});

test('export copies picks with their sidecars, never overwrites, refuses the archive, and writes a safe CSV', async () => {
  const originals = join(work.dir, 'ORIGINALS', '2024', '2024-05', '2024-05-17');
  mkdirSync(originals, { recursive: true });
  for (let i = 1; i <= 3; i++) {
    await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 40 * i, g: 20, b: 90 } } })
      .jpeg()
      .toFile(join(originals, `R000000${i}.JPG`));
  }
  writeFileSync(join(originals, 'R0000001.txt'), 'a caption');
  writeFileSync(join(originals, '=cmd.json'), '{}');
  const dbFile = join(work.dir, 'flux.duckdb');
  await runIngest({ originals: join(work.dir, 'ORIGINALS'), db: dbFile });
  const db = await Db.open(dbFile);
  try {
    const photos = await db.all<{ photo_id: number; path: string }>('SELECT photo_id, path FROM photos ORDER BY path');
    const r: CurateResult = {
      method: 'fps',
      target: 3,
      iterations: 2,
      seed: 1,
      runs: [],
      votes: new Map(photos.map((p) => [p.photo_id, 2])),
      selection: photos.map((p) => ({ photoId: p.photo_id, votes: 2, frequency: 100, band: 'stable' as const })),
    };
    const out = join(work.dir, 'export');
    mkdirSync(out);
    // an earlier export left R0000001.JPG and a sidecar named like the second choice
    writeFileSync(join(out, 'R0000001.JPG'), 'old');
    writeFileSync(join(out, '2024-05-17_R0000001.txt'), 'old caption');
    await assert.rejects(
      exclude(db, [photos[2]?.photo_id as number, 424242], 'typo'),
      /no photo has the photo_id 424242; .*nothing was excluded/,
    );
    assert.equal((await exclusions(db)).size, 0, 'a typo excludes nothing');
    await exclude(db, [photos[2]?.photo_id as number], 'junk');
    const rep = await exportSelection(db, r, out);
    assert.equal(readFileSync(join(out, 'R0000001.JPG'), 'utf8'), 'old', 'never overwritten');
    assert.equal(
      readFileSync(join(out, '2024-05-17_R0000001.txt'), 'utf8'),
      'old caption',
      'sidecar never overwritten',
    );
    const first = rep.copied.find((c) => c.from.endsWith('R0000001.JPG'));
    assert.ok(first?.to.endsWith('2024-05-17_R0000001_1.JPG'), `image renamed past both collisions: ${first?.to}`);
    assert.equal(
      readFileSync(join(out, '2024-05-17_R0000001_1.txt'), 'utf8'),
      'a caption',
      'the sidecar follows its image',
    );
    assert.ok(existsSync(join(out, 'R0000002.JPG')));
    assert.deepEqual(
      rep.skipped.map((s) => s.reason),
      ['excluded'],
    );
    const csv = readFileSync(rep.csv, 'utf8').trim().split('\n');
    assert.equal(csv[0], 'Filename,Subfolder,Count,Frequency(%),Index,Status,photo_id,exported_as');
    assert.equal(csv.length, 4);
    assert.match(csv[3] as string, /,excluded,\d+,$/, 'an excluded photo is not exported');
    // the CSV names the file each photo was copied to, the renamed one included
    assert.ok(
      csv.slice(1).some((l) => l.startsWith('R0000001.JPG,') && l.endsWith(',2024-05-17_R0000001_1.JPG')),
      csv.join('\n'),
    );
    // the modification times of the photo and its sidecar are kept
    const { statSync, symlinkSync, utimesSync } = await import('node:fs');
    assert.ok(
      Math.abs(statSync(first?.to as string).mtimeMs - statSync(join(originals, 'R0000001.JPG')).mtimeMs) < 0.01,
    );
    assert.ok(
      Math.abs(
        statSync(join(out, '2024-05-17_R0000001_1.txt')).mtimeMs - statSync(join(originals, 'R0000001.txt')).mtimeMs,
      ) < 0.01,
    );
    // a second export beside the first: the photos it already holds byte for byte are not copied again, the first
    // CSV is kept
    const firstCsv = readFileSync(rep.csv, 'utf8');
    const again = await exportSelection(db, r, out);
    assert.equal(basename(again.csv), 'selection_2.csv');
    assert.equal(readFileSync(rep.csv, 'utf8'), firstCsv, 'the first CSV is not overwritten');
    assert.deepEqual(
      [again.copied.length, again.already.map((c) => basename(c.to)).sort()],
      [0, rep.copied.map((c) => basename(c.to)).sort()],
    );
    const names = new Set(
      readFileSync(again.csv, 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',').at(-1))
        .filter(Boolean),
    );
    assert.deepEqual(names, new Set(rep.copied.map((c) => basename(c.to))));
    for (const n of names) assert.ok(existsSync(join(out, n as string)), `${n} exists`);
    // a photo replaced by a link to a file outside the archive, and a sidecar that is a link: neither is followed
    const secret = join(work.dir, 'secret.txt');
    writeFileSync(secret, 'secret');
    symlinkSync(secret, join(originals, 'R0000002.txt'));
    const moved = join(work.dir, 'R0000001.moved');
    const { renameSync } = await import('node:fs');
    renameSync(join(originals, 'R0000001.JPG'), moved);
    symlinkSync(join(work.dir, 'outside.jpg'), join(originals, 'R0000001.JPG'));
    writeFileSync(join(work.dir, 'outside.jpg'), 'not from the archive');
    const out3 = join(work.dir, 'export-links');
    const third = await exportSelection(db, r, out3);
    assert.deepEqual(
      third.copied.map((c) => basename(c.to)),
      ['R0000002.JPG'],
      'the linked photo is not copied',
    );
    assert.deepEqual(third.copied[0]?.sidecars, [], 'the linked sidecar is not copied');
    assert.ok(third.skipped.some((x) => x.path.endsWith('R0000001.JPG') && /symbolic link/.test(x.reason)));
    assert.ok(
      third.skipped.some((x) => x.path.endsWith('R0000002.txt') && /sidecar that is a symbolic link/.test(x.reason)),
    );
    assert.ok(!existsSync(join(out3, 'R0000002.txt')) && !existsSync(join(out3, 'R0000001.JPG')));
    const { rmSync } = await import('node:fs');
    rmSync(join(originals, 'R0000001.JPG'));
    rmSync(join(originals, 'R0000002.txt'));
    renameSync(moved, join(originals, 'R0000001.JPG'));
    utimesSync(join(originals, 'R0000001.JPG'), new Date(), statSync(join(originals, 'R0000001.JPG')).mtime);
    // an export folder that is a file, or lies under one: refused with the option's name
    await assert.rejects(exportSelection(db, r, secret), /--export: .*secret\.txt is a file; name a folder/);
    await assert.rejects(
      exportSelection(db, r, join(secret, 'sub')),
      /--export: .*secret\.txt is a file \(on the way to .*sub\)/,
    );
    assert.deepEqual([...(await exclusions(db))], [photos[2]?.photo_id]);
    await assert.rejects(
      exportSelection(db, r, join(work.dir, 'ORIGINALS', 'picks')),
      /--export: .* is inside the archive folder originals/,
    );
  } finally {
    db.close();
  }
});

test('flux curate: run, exclude the stable picks, run again without them, clear', async () => {
  const { fluxHere, smallSample, PROJECT } = await import('./helpers.js');
  const { spawnSync } = await import('node:child_process');
  const sample = await smallSample();
  const dbFile = join(work.dir, 'cli', 'flux.duckdb');
  await runIngest({ originals: sample.originals, db: dbFile });
  await runEmbed({ db: dbFile, sets: ['photos'] });
  // the first run and the last two failures as the program itself; the rest in-process, through the same code
  const program = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, [join(PROJECT, 'dist', 'lib', 'cli', 'flux.js'), 'curate', '--db', dbFile, ...args], {
      encoding: 'utf8',
    });
  const flux = async (...args: string[]): Promise<string> => {
    const r = await fluxHere(['curate', '--db', dbFile, ...args]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const first = program('--target', '6', '--iterations', '4', '--seed', '3', '--favourites');
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /fps: 6 of \d+ photos .* 4 iterations, seed 3: .*favourites replaced/);
  const db1 = await Db.open(dbFile, { readOnly: true });
  const stable = (
    await db1.all<{ photo_id: number }>('SELECT photo_id FROM curator_selection WHERE frequency >= 90')
  ).map((r) => r.photo_id);
  const fav = Number(await db1.value('SELECT count(*) FROM favourites'));
  db1.close();
  assert.equal(fav, 6);
  const fails = async (...args: string[]): Promise<string> => {
    const r = await fluxHere(['curate', '--db', dbFile, ...args]);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}`);
    return r.stderr;
  };
  // every photo the run voted for is kept, not only the selection: --above sees them all
  const db0 = await Db.open(dbFile, { readOnly: true });
  const voted = Number(await db0.value('SELECT count(*) FROM curator_selection'));
  const selected = Number(await db0.value('SELECT count(*) FROM curator_selection WHERE selected'));
  const path0 = await db0.value<string>('SELECT path FROM photos ORDER BY path LIMIT 1');
  db0.close();
  assert.ok(selected === 6 && voted > 6, `${voted} photos voted for, ${selected} selected`);
  // bad exclusions are refused with the reason, and exclude nothing
  assert.match(
    await fails('exclude'),
    /name the photos to exclude \(photo_ids or paths under the originals\), or --above PERCENT/,
  );
  assert.match(await fails('exclude', '--above', '150'), /--above: expected a number from 0 to 100, received "150"/);
  assert.match(await fails('exclude', '--above', ''), /--above: expected a number from 0 to 100, received ""/);
  assert.match(await fails('exclude', '--above', '90', '123'), /give photos or --above, not both/);
  assert.match(
    await fails('exclude', 'no/such/photo.JPG'),
    /"no\/such\/photo\.JPG" is neither a photo_id nor a path under the originals/,
  );
  // a path (what survives a spreadsheet) excludes its photo
  assert.match(await flux('exclude', path0 as string), /^1 photo excluded/);
  assert.match(await flux('clear'), /all exclusions removed/);
  // an export folder the run cannot use is refused before anything is saved: the favourites stay
  assert.match(
    await fails('--target', '3', '--favourites', '--export', join(sample.originals, 'picks')),
    /--export: .* is inside the archive folder originals/,
  );
  const dbf = await Db.open(dbFile, { readOnly: true });
  assert.equal(Number(await dbf.value('SELECT count(*) FROM favourites')), 6, 'favourites untouched');
  assert.equal(
    Number(await dbf.value('SELECT count(*) FROM curator_selection WHERE selected')),
    6,
    'selection untouched',
  );
  dbf.close();
  // the selection as a CSV, without copying anything; never into the archive
  const selCsv = join(work.dir, 'cli', 'sel.csv');
  assert.match(
    await flux('--target', '6', '--iterations', '4', '--seed', '3', '--csv', selCsv),
    /selection written to .*sel\.csv/,
  );
  const selRows = readFileSync(selCsv, 'utf8').trim().split('\n');
  assert.equal(selRows[0], 'Filename,Subfolder,Count,Frequency(%),Index,Status,photo_id,exported_as');
  assert.equal(selRows.filter((l) => l.includes(',included,')).length, 6);
  assert.match(
    await fails('--target', '6', '--csv', join(sample.originals, 'sel.csv')),
    /--csv: .* is inside the archive folder originals/,
  );
  // a path below a file: refused before anything is computed or saved
  assert.match(
    await fails('--target', '6', '--csv', join(selCsv, 'under.csv')),
    /--csv: .*sel\.csv is a file, so .*under\.csv cannot be written/,
  );
  assert.match(await flux('exclude', '--above', '90'), new RegExp(`^${stable.length} photos? excluded`));
  assert.match(
    await flux('--target', '6', '--iterations', '4', '--seed', '3'),
    new RegExp(`^${stable.length} excluded photos? left out \\(flux curate clear to bring them back\\)`),
  );
  const db2 = await Db.open(dbFile, { readOnly: true });
  const again = (await db2.all<{ photo_id: number }>('SELECT photo_id FROM curator_selection')).map((r) => r.photo_id);
  db2.close();
  for (const id of stable) assert.ok(!again.includes(id), `excluded ${id} picked again`);
  assert.match(await flux('clear'), /all exclusions removed/);
  // photos scored as technical failures are left out unless asked for
  const picks = async (): Promise<number[]> => {
    const d = await Db.open(dbFile, { readOnly: true });
    try {
      return (
        await d.all<{ photo_id: number }>('SELECT photo_id FROM curator_selection WHERE selected ORDER BY photo_id')
      ).map((r) => Number(r.photo_id));
    } finally {
      d.close();
    }
  };
  assert.doesNotMatch(await flux('--target', '6', '--iterations', '4', '--seed', '3'), /technical failure/);
  const plain = await picks();
  const d3 = await Db.open(dbFile);
  await d3.run('ALTER TABLE photos ADD COLUMN IF NOT EXISTS keeper_band VARCHAR');
  await d3.run(`UPDATE photos SET keeper_band = 'failure' WHERE photo_id IN (?, ?)`, [
    plain[0] as number,
    plain[1] as number,
  ]);
  d3.close();
  assert.match(
    await flux('--target', '6', '--iterations', '4', '--seed', '3'),
    /^2 technical failures left out \(--keep-failures to include them\)/,
  );
  const without = await picks();
  assert.ok(!without.includes(plain[0] as number) && !without.includes(plain[1] as number), 'failures not picked');
  assert.equal(without.length, 6);
  await flux('--target', '6', '--iterations', '4', '--seed', '3', '--keep-failures');
  assert.deepEqual(await picks(), plain, 'kept when asked');
  // a photo he kept is never left out as a failure, whatever its band says
  const d4 = await Db.open(dbFile);
  await d4.run('UPDATE photos SET keeper = true WHERE photo_id = ?', [plain[0] as number]);
  d4.close();
  assert.match(await flux('--target', '6', '--iterations', '4', '--seed', '3'), /^1 technical failure left out/);
  const bad = program('--where', 'nonsense ===');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--where: the condition "nonsense ===" is not valid SQL/);
  const none = program('--where', 'year(captured_at) = 1999');
  assert.equal(none.status, 1);
  assert.match(none.stderr, /--where: no photo meets "year\(captured_at\) = 1999"; nothing to curate/);
});

test('FPS makes every pick asked for when rows repeat, and a vector that is not a number is never the farthest', async () => {
  const base = randomUnit(200, 64, 4);
  // 200 distinct rows, then one of them copied 50 times, then a row of NaN
  const rows = 251;
  const data = new Float32Array(rows * 64);
  data.set(base.data);
  for (let c = 0; c < 50; c++) data.set(base.data.subarray(7 * 64, 8 * 64), (200 + c) * 64);
  data.fill(NaN, 250 * 64);
  const m = { data, rows, dim: 64 };
  const mm = await MatMul.create();
  try {
    for (const seed of [0, 1, 2, 3]) {
      const runs = await farthestPointRuns(m, 220, [seed, 100 + seed], mm);
      for (const r of runs) {
        assert.equal(r.length, 220, `start ${r[0]}: ${r.length} picks`);
        assert.equal(new Set(r).size, 220, 'no row picked twice');
        assert.ok(!r.slice(0, 200).includes(250), 'the NaN row comes only after every distinct row');
      }
    }
  } finally {
    await mm.close();
  }
});

test('k-means over photos that share five vectors picks fewer than asked, and the printed run says so', async () => {
  const base = randomUnit(5, 16, 6);
  const data = new Float32Array(100 * 16);
  for (let i = 0; i < 100; i++) data.set(base.data.subarray((i % 5) * 16, ((i % 5) + 1) * 16), i * 16);
  const ids = Array.from({ length: 100 }, (_, i) => 1000 + i);
  const result = await curateVectors(
    { ids, matrix: { data, rows: 100, dim: 16 } },
    { method: 'kmeans', target: 30, iterations: 3, seed: 2 },
  );
  assert.ok(result.selection.length < 30, `${result.selection.length} picked`);
  const text = formatCurate({
    result,
    source: { modelId: 'test', withoutVector: 0, fallback: null },
    photos: 100,
    excludedLeftOut: 0,
    failuresLeftOut: 0,
    bands: { stable: 0, frequent: 0, occasional: 0 },
    favourites: false,
    csv: null,
    exported: null,
  });
  assert.match(
    text,
    new RegExp(`\\n${result.selection.length} picked of the 30 asked for: the runs found no more distinct`),
  );
});
