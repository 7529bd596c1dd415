import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { Db, withDb } from '../lib/db/duckdb.js';
import { ingest, type IngestReport } from '../lib/1-ingest/ingest.js';
import { runEmbed, runIngest, runIngestMetadata } from '../lib/pipeline/stages.js';
import type { SampleResult } from '../lib/0-sample/generate.js';
import { FluxError } from '../lib/util/check.js';
import { envSkip, PROJECT, runCliAndKill, smallSample, snapshot, tempDir } from './helpers.js';

let sample: SampleResult;
let work: ReturnType<typeof tempDir>;
let dbFile: string;
let first: IngestReport;
let archiveBefore: Map<string, string>;

const roots = (): { originals: string; keepers: string; inbox: string } => ({
  originals: sample.originals,
  keepers: sample.keepers,
  inbox: sample.inbox,
});

async function query<T extends Record<string, unknown> = Record<string, unknown>>(
  file: string,
  sql: string,
): Promise<T[]> {
  const db = await Db.open(file, { readOnly: true });
  try {
    return await db.all<T>(sql);
  } finally {
    db.close();
  }
}

/** Every table of the data contract as sorted JSON, for comparing two databases. */
async function dumpTables(file: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [table, key] of [
    ['photos', 'photo_id'],
    ['corpus_duplicates', 'path'],
    ['keeper_files', 'path'],
    ['inbox_photos', 'path'],
    ['ingest_errors', 'root, path'],
    ['files', 'root, path'],
  ] as const) {
    out[table] = JSON.stringify(await query(file, `SELECT * FROM ${table} ORDER BY ${key}`), (_k, v) =>
      typeof v === 'bigint' ? String(v) : v,
    );
  }
  return out;
}

before(async () => {
  sample = await smallSample();
  work = tempDir('ingest');
  dbFile = join(work.dir, 'flux.duckdb');
  archiveBefore = snapshot(sample.out);
  first = await runIngest({ ...roots(), db: dbFile });
});
after(() => work.cleanup());

test('ingest counts equal the ground truth of the sample', async () => {
  const t = sample.truth;
  const byRoot = Object.fromEntries(first.roots.map((r) => [r.root, r]));
  assert.equal(byRoot.originals?.ok, t.photos.length + t.duplicates.length, 'every readable original decoded');
  assert.equal(byRoot.originals?.duplicate, t.duplicates.length);
  assert.equal(byRoot.originals?.failed, t.bad.filter((b) => b.root === 'ORIGINALS').length);
  assert.equal(byRoot.originals?.skipped, t.sidecars.filter((s) => s.startsWith('ORIGINALS/')).length);
  assert.equal(byRoot.keepers?.ok, t.keepers.filter((k) => k.kind !== 'bad').length);
  assert.equal(byRoot.keepers?.failed, t.bad.filter((b) => b.root === 'KEEPERS').length);
  assert.equal(byRoot.inbox?.ok, t.inbox.length);

  const [counts] = await query<Record<string, number>>(
    dbFile,
    `SELECT
    (SELECT count(*) FROM photos) AS photos, (SELECT count(*) FROM corpus_duplicates) AS dups,
    (SELECT count(*) FROM keeper_files) AS keepers, (SELECT count(*) FROM inbox_photos) AS inbox,
    (SELECT count(*) FROM photos WHERE orientation = 6) AS portrait`,
  );
  assert.equal(counts?.photos, t.photos.length);
  assert.equal(counts?.dups, t.duplicates.length);
  assert.equal(counts?.keepers, t.keepers.filter((k) => k.kind !== 'bad').length);
  assert.equal(counts?.inbox, t.inbox.length);
  assert.equal(counts?.portrait, t.counts.portrait);
});

test('photo rows carry the EXIF, hash and path of the truth', async () => {
  type Row = {
    path: string;
    sha256: string;
    captured_at: string;
    model: string;
    original_filename: string;
    session_date: string;
    photo_id: number;
    width: number;
    height: number;
  };
  const rows = await query<Row>(
    dbFile,
    `SELECT path, sha256, strftime(captured_at, '%Y-%m-%d %H:%M:%S.%f') AS captured_at, model, original_filename,
     CAST(session_date AS VARCHAR) AS session_date, photo_id, width, height FROM photos`,
  );
  const byPath = new Map(rows.map((r) => [r.path, r]));
  for (const p of sample.truth.photos) {
    const row = byPath.get(p.path);
    assert.ok(row, `${p.path} indexed`);
    assert.equal(row.sha256, p.sha256, `${p.path} sha256`);
    assert.equal(row.captured_at.slice(0, 22), p.capturedAt, `${p.path} captured_at with sub-seconds`);
    assert.equal(row.original_filename, p.path.split('/').pop());
    assert.equal(row.session_date, p.path.split('/')[2]);
    assert.equal(row.photo_id, parseInt(p.sha256.slice(0, 13), 16));
    assert.match(row.model, /^RICOH GR IIIx?$/);
    // stored size: portrait frames are stored sideways with orientation 6
    assert.deepEqual([row.width, row.height], [sample.truth.config.width, sample.truth.config.height]);
  }
  const dups = await query<{ path: string; kept: string }>(
    dbFile,
    'SELECT d.path, p.path AS kept FROM corpus_duplicates d JOIN photos p USING (photo_id)',
  );
  assert.deepEqual(
    new Map(dups.map((d) => [d.path, d.kept])),
    new Map(sample.truth.duplicates.map((d) => [d.path, d.of])),
  );
  assert.ok(sample.truth.recurringNames > 0, 'the sample has camera names that recur in other folders');
});

test('keeper rows parse canonical names and keep EXIF only where the file has it', async () => {
  type Row = {
    path: string;
    has_exif: boolean;
    name_canonical: boolean;
    original_filename: string | null;
    name_author: string | null;
  };
  const rows = await query<Row>(
    dbFile,
    'SELECT path, has_exif, name_canonical, original_filename, name_author FROM keeper_files',
  );
  const byPath = new Map(rows.map((r) => [r.path, r]));
  for (const k of sample.truth.keepers.filter((x) => x.kind !== 'bad')) {
    const row = byPath.get(k.path);
    assert.ok(row, `${k.path} indexed`);
    const stripped = k.kind === 'edit-stripped' || k.kind === 'stripped-renamed';
    assert.equal(row.has_exif, !stripped, `${k.path} (${k.kind}) has_exif`);
    assert.equal(row.name_canonical, k.kind !== 'stripped-renamed', `${k.path} canonical name`);
    if (row.name_canonical) assert.equal(row.name_author, sample.truth.config.author);
    if (k.kind !== 'stripped-renamed') assert.match(row.original_filename ?? '', /^R\d{7}\.JPG$/);
  }
});

test('every bad file lands in ingest_errors with a reason while the run completes', async () => {
  const errors = await query<{ root: string; path: string; stage: string; message: string }>(
    dbFile,
    'SELECT * FROM ingest_errors ORDER BY root, path',
  );
  assert.equal(errors.length, sample.truth.bad.length);
  for (const bad of sample.truth.bad) {
    const e = errors.find((x) => x.path === bad.path && x.root === bad.root.toLowerCase());
    assert.ok(e, `${bad.root}/${bad.path} (${bad.kind}) recorded`);
    const expected = {
      'zero-byte': /empty file \(0 bytes\)/,
      truncated: /cannot decode JPEG: truncated \(no end-of-image marker/,
      'not-jpeg': /not a JPEG: PNG content/,
    }[bad.kind];
    assert.match(e.message, expected, `${bad.kind}: ${e.message}`);
  }
  const skipped = await query<{ path: string; reason: string }>(
    dbFile,
    `SELECT path, reason FROM files WHERE status = 'skipped'`,
  );
  assert.equal(skipped.length, sample.truth.sidecars.length);
  for (const s of skipped) assert.match(s.reason, /^not a photo: /);
});

test('previews exist for every photo, upright, about 384 px', async () => {
  const rows = await query<{ preview: string; orientation: number }>(dbFile, 'SELECT preview, orientation FROM photos');
  const sharp = (await import('sharp')).default;
  for (const r of rows) {
    const file = join(work.dir, r.preview);
    assert.ok(existsSync(file), `${r.preview} exists`);
  }
  const portrait = rows.find((r) => r.orientation === 6);
  if (portrait) {
    const meta = await sharp(join(work.dir, portrait.preview)).metadata();
    assert.ok((meta.height as number) > (meta.width as number), 'a portrait preview is upright');
  }
});

test('a second run rewrites nothing', async () => {
  const before = await dumpTables(dbFile);
  const second = await runIngest({ ...roots(), db: dbFile });
  for (const r of second.roots) {
    assert.equal(r.unchanged, r.files, `${r.root}: every file unchanged`);
    assert.equal(r.ok + r.failed + r.skipped, 0, `${r.root}: nothing re-read`);
  }
  assert.deepEqual(await dumpTables(dbFile), before);
});

test('a run killed half way and re-run ends with exactly the tables of an uninterrupted run', async () => {
  const killedDb = join(work.dir, 'killed', 'flux.duckdb');
  const total = sample.truth.photos.length;
  const previews = join(work.dir, 'killed', 'previews');
  await runCliAndKill(
    [
      'ingest',
      '--originals',
      sample.originals,
      '--keepers',
      sample.keepers,
      '--inbox',
      sample.inbox,
      '--db',
      killedDb,
      '--concurrency',
      '1',
    ],
    () =>
      (existsSync(previews)
        ? readdirSync(previews).reduce((n, d) => n + readdirSync(join(previews, d)).length, 0)
        : 0) >=
      total / 3,
    'flux ingest',
  );
  const resumed = await runIngest({ ...roots(), db: killedDb });
  const originals = resumed.roots.find((r) => r.root === 'originals');
  assert.ok(originals && originals.unchanged > 0, 'the resumed run skipped what the killed run had committed');
  assert.ok(originals.unchanged < originals.files, 'the killed run had not finished');
  const a = await dumpTables(killedDb);
  const b = await dumpTables(dbFile);
  for (const table of Object.keys(b)) assert.equal(a[table], b[table], `table ${table} equal after resume`);
});

test('the archive is untouched: same files, bytes and mtimes', () => {
  assert.deepEqual(snapshot(sample.out), archiveBefore);
});

test('bad arguments name the option and never write into the archive', async () => {
  await assert.rejects(
    runIngest({ originals: join(work.dir, 'nope'), db: dbFile }),
    (e: Error) => e instanceof FluxError && /--originals: folder not found/.test(e.message),
  );
  await assert.rejects(
    runIngest({ originals: sample.originals, db: join(sample.originals, 'x.duckdb') }),
    /--db: .* is inside the archive folder --originals/,
  );
  await assert.rejects(
    runIngest({
      originals: sample.originals,
      db: dbFile,
      workspace: join(sample.keepers, 'cache'),
      keepers: sample.keepers,
    }),
    /--workspace: .*inside the archive/,
  );
  await assert.rejects(runIngest({ db: dbFile }), /at least one of --originals/);
  assert.equal(existsSync(join(sample.originals, 'x.duckdb')), false);
  // a database holds one archive: another originals folder is refused (its photos' paths would be read against
  // it, and the folder indexed before would lose its protection); the recorded folder stays
  const other = join(work.dir, 'other-originals');
  mkdirSync(other, { recursive: true });
  await assert.rejects(
    runIngest({ originals: other, db: dbFile }),
    (e: Error) =>
      e instanceof FluxError &&
      /^--originals: this database indexed the originals at .*, not .*other-originals; a database holds one archive: give another --db/.test(
        e.message,
      ),
  );
  await withDb(dbFile, async (d) =>
    assert.equal(await d.value(`SELECT value FROM meta WHERE key = 'root.originals'`), sample.originals),
  );
  // a wrong option is named before the database is opened: no new database file (nor its folder) is left behind
  const fresh = join(work.dir, 'never', 'flux.duckdb');
  await assert.rejects(runIngest({ originals: sample.originals, db: fresh, concurrency: 0 }), {
    message: '--concurrency: expected an integer from 1 to 64, received 0',
  });
  const blocker = join(work.dir, 'a-file');
  writeFileSync(blocker, 'in the way');
  await assert.rejects(runIngest({ originals: sample.originals, db: fresh, workspace: join(blocker, 'ws') }), {
    message: `--workspace: ${blocker}, on the way to ${blocker}/ws, is a file, not a folder`,
  });
  await assert.rejects(runIngestMetadata({ dir: join(work.dir, 'nope'), db: fresh }), {
    message: `--from-metadata: folder not found: ${join(work.dir, 'nope')}`,
  });
  assert.equal(existsSync(join(work.dir, 'never')), false);
  // one refused once the new database is open (the archive is the new workspace's previews folder) leaves none either
  const ownPreviews = join(work.dir, 'later', 'previews');
  mkdirSync(ownPreviews, { recursive: true });
  const later = join(work.dir, 'later', 'flux.duckdb');
  await assert.rejects(runIngest({ originals: ownPreviews, db: later }), {
    message:
      `--originals: ${ownPreviews} is the workspace folder ${ownPreviews}, where the workbench writes its previews; ` +
      "choose a folder outside the workspace's own folders",
  });
  assert.deepEqual(readdirSync(join(work.dir, 'later')), ['previews']);
});

test('scripts end on a bad input with its message and exit code 1, not a stack trace; other errors still propagate', async () => {
  const check = pathToFileURL(join(PROJECT, 'dist', 'lib', 'util', 'check.js')).href;
  const run = (body: string): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `import { orExit, FluxError } from '${check}';\n${body}`],
      { encoding: 'utf8' },
    );
  const ok = run(`console.log(await orExit('tool', async () => 41 + 1));`);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), '42');
  const bad = run(
    `await orExit('tool', () => { throw new FluxError('--db: no database at /x'); }); ` + `console.log('went on');`,
  );
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr.trim(), 'tool: --db: no database at /x');
  assert.equal(bad.stdout, '', 'nothing after the bad input runs');
  const bug = run(`await orExit('tool', () => { throw new TypeError('a bug'); });`);
  assert.notEqual(bug.status, 0);
  assert.match(bug.stderr, /TypeError: a bug\n\s+at /, 'a bug keeps its stack trace');
});

test('links into the archive and overlapping trees are refused; links inside a tree are listed, not followed', async () => {
  const { cpSync, mkdirSync, symlinkSync, readdirSync: ls } = await import('node:fs');
  const root = join(work.dir, 'links');
  const originals = join(root, 'ORIGINALS');
  cpSync(sample.originals, originals, { recursive: true });
  const lnk = join(root, 'lnk');
  symlinkSync(originals, lnk);
  // the database and workspace through a link into the archive, and the archive through a link
  await assert.rejects(
    runIngest({ originals, db: join(lnk, 'x.duckdb') }),
    /--db: .*lnk\/x\.duckdb is inside the archive folder --originals/,
  );
  await assert.rejects(
    runIngest({ originals: lnk, db: join(originals, 'y.duckdb') }),
    /--db: .* is inside the archive folder --originals/,
  );
  for (const f of ['x.duckdb', 'y.duckdb', 'previews']) assert.ok(!existsSync(join(originals, f)), f);
  // one tree inside another, or the same tree twice
  await assert.rejects(
    runIngest({ originals: root, keepers: originals, db: join(work.dir, 'o.duckdb') }),
    /--keepers: .* lies inside --originals .*must be separate folders/,
  );
  await assert.rejects(
    runIngest({ originals, keepers: lnk, db: join(work.dir, 'o.duckdb') }),
    /--originals: .* is the same folder as --keepers/,
  );
  // an inbox inside the workspace (here the previews beside the database) would take in the workbench's own files
  const wsDb = join(root, 'ws', 'flux.duckdb');
  await runIngest({ originals, db: wsDb });
  const previews = join(root, 'ws', 'previews');
  const before = ls(previews, { recursive: true }).length;
  await assert.rejects(
    runIngest({ inbox: previews, db: wsDb }),
    /--inbox: .*ws\/previews is the workspace folder .*ws\/previews, where the workbench writes its previews/,
  );
  assert.equal(ls(previews, { recursive: true }).length, before, 'nothing written there');
  // a linked photo and a linked day folder inside the tree: listed with the reason, the rest indexed
  const year = ls(originals)[0] as string;
  const day = join(originals, year);
  const month = ls(join(originals, year))[0] as string;
  const dayName = ls(join(originals, year, month))[0] as string;
  const photo = ls(join(originals, year, month, dayName)).find((f) => f.endsWith('.JPG')) as string;
  mkdirSync(join(day, 'linked'), { recursive: true });
  symlinkSync(join(originals, year, month, dayName, photo), join(day, 'linked', 'R9999999.JPG'));
  symlinkSync(join(originals, year, month, dayName), join(day, 'linked', 'a-day'));
  const db = join(work.dir, 'links.duckdb');
  const r = await runIngest({ originals, db });
  const errors = await query<{ path: string; stage: string; message: string }>(
    db,
    `SELECT path, stage, message FROM ingest_errors WHERE stage = 'walk' ORDER BY path`,
  );
  assert.deepEqual(
    errors.map((e) => e.path),
    [`${year}/linked/R9999999.JPG`, `${year}/linked/a-day`],
  );
  for (const e of errors) assert.match(e.message, /symbolic link, not followed/);
  assert.equal(r.roots[0]?.passedOver, 2);
  const photos = Number((await query<{ n: bigint }>(db, 'SELECT count(*) AS n FROM photos'))[0]?.n);
  assert.equal(
    photos,
    Number((await query<{ n: bigint }>(dbFile, 'SELECT count(*) AS n FROM photos'))[0]?.n),
    'the same photos as the plain archive',
  );
  // a file that failed before becomes a link: listed as passed over, no clash with its old error
  const { rmSync } = await import('node:fs');
  const bad = (
    await query<{ path: string }>(db, `SELECT min(path) AS path FROM ingest_errors WHERE stage <> 'walk'`)
  )[0]?.path as string;
  rmSync(join(originals, bad));
  symlinkSync(join(originals, year, month, dayName, photo), join(originals, bad));
  const r2 = await runIngest({ originals, db });
  assert.equal(r2.roots[0]?.passedOver, 3);
  assert.deepEqual(
    (await query<{ stage: string }>(db, `SELECT stage FROM ingest_errors WHERE path = '${bad}'`)).map((e) => e.stage),
    ['walk'],
  );
  // a keepers folder inside the originals this database indexed before is refused, given alone too
  await assert.rejects(
    runIngest({ keepers: join(originals, year), db }),
    /--keepers: .* overlaps the originals folder .* this database indexed before/,
  );
});

// the archive as another user sees it: a folder it cannot list, a file it cannot read (root reads everything)
const NOBODY = 65534;
const asNobody = (args: string[]): { status: number | null; stderr: string } =>
  spawnSync(process.execPath, [join(PROJECT, 'dist', 'lib', 'cli', 'flux.js'), ...args], {
    uid: NOBODY,
    gid: NOBODY,
    encoding: 'utf8',
  });
const noOtherUser = envSkip(
  process.getuid?.() !== 0
    ? 'needs root, to run ingest as another user (CI runs as root)'
    : asNobody(['--help']).status !== 0
      ? `the clone at ${PROJECT} is not readable by uid ${NOBODY}`
      : false,
);

test(
  'a folder that cannot be listed and a file that cannot be read are reported, the run completes, and both are ' +
    'picked up once readable',
  { skip: noOtherUser },
  async () => {
    const { chownSync, cpSync, readdirSync: ls } = await import('node:fs');
    const root = join(work.dir, 'perm');
    const originals = join(root, 'ORIGINALS');
    chmodSync(work.dir, 0o755); // a fresh temporary folder is private to its owner
    cpSync(sample.originals, originals, { recursive: true });
    const out = join(root, 'out');
    mkdirSync(out);
    chownSync(out, NOBODY, NOBODY);
    const days = ls(originals).flatMap((y) =>
      ls(join(originals, y)).flatMap((m) => ls(join(originals, y, m)).map((d) => join(originals, y, m, d))),
    );
    const [hidden, other] = days as [string, string];
    const locked = ls(other).find((f) => f.endsWith('.JPG')) as string;
    chmodSync(hidden, 0o000);
    chmodSync(join(other, locked), 0o000);
    const db = join(out, 'flux.duckdb');
    const baseline = (
      await query<{ path: string; stage: string }>(
        dbFile,
        `SELECT path, stage FROM ingest_errors WHERE root = 'originals'`,
      )
    )
      .filter((e) => !e.path.startsWith(`${hidden.slice(originals.length + 1)}/`))
      .map((e) => `${e.path}|${e.stage}`);
    try {
      const r1 = asNobody(['ingest', '--originals', originals, '--db', db]);
      assert.equal(r1.status, 0, r1.stderr);
      // beyond the sample's own bad files (outside the two folders), exactly the folder and the file
      const errors = (
        await query<{ path: string; stage: string; message: string }>(
          db,
          'SELECT path, stage, message FROM ingest_errors ORDER BY path',
        )
      ).filter((e) => !baseline.includes(`${e.path}|${e.stage}`));
      const rel = (p: string): string => p.slice(originals.length + 1);
      assert.deepEqual(
        errors.map((e) => [e.path, e.stage]),
        [
          [`${rel(hidden)}/`, 'walk'],
          [`${rel(other)}/${locked}`, 'read'],
        ].sort(),
      );
      assert.match(errors.find((e) => e.stage === 'walk')?.message ?? '', /cannot list the folder: EACCES/);
      assert.match(errors.find((e) => e.stage === 'read')?.message ?? '', /cannot read: .*EACCES/);
    } finally {
      chmodSync(hidden, 0o755);
      chmodSync(join(other, locked), 0o644);
    }
    const r2 = asNobody(['ingest', '--originals', originals, '--db', db]);
    assert.equal(r2.status, 0, r2.stderr);
    assert.deepEqual(
      (await query<{ path: string; stage: string }>(db, 'SELECT path, stage FROM ingest_errors ORDER BY path')).map(
        (e) => `${e.path}|${e.stage}`,
      ),
      (
        await query<{ path: string; stage: string }>(
          dbFile,
          `SELECT path, stage FROM ingest_errors WHERE root = 'originals' ORDER BY path`,
        )
      ).map((e) => `${e.path}|${e.stage}`),
      'both picked up once readable',
    );
    const photos = (await query<{ path: string }>(db, 'SELECT path FROM photos')).map((p) => p.path);
    assert.deepEqual(
      new Set(photos),
      new Set((await query<{ path: string }>(dbFile, 'SELECT path FROM photos')).map((p) => p.path)),
    );
  },
);

test('an output file in a folder the user cannot write is named before any work', { skip: noOtherUser }, () => {
  const fsutil = pathToFileURL(join(PROJECT, 'dist', 'lib', 'util', 'fsutil.js')).href;
  const shut = join(work.dir, 'shut');
  chmodSync(work.dir, 0o755); // a fresh temporary folder is private to its owner
  mkdirSync(shut, { recursive: true, mode: 0o755 }); // root's: another user may enter it, not write in it
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { checkOutFile } from '${fsutil}';\n` +
        `try { checkOutFile('--out', '${shut}/new/report.html', 'report.html'); } catch (e) { console.log(e.message); }`,
    ],
    { uid: NOBODY, gid: NOBODY, encoding: 'utf8' },
  );
  assert.equal(r.stdout.trim(), `--out: cannot write ${shut}/new/report.html: ${shut}: permission denied`);
});

test('a preview the workspace cannot take stops the run with what to do; the photo is not called damaged', async () => {
  const { mkdirSync, rmSync, writeFileSync } = await import('node:fs');
  const ws = join(work.dir, 'blocked-ws');
  const db = join(work.dir, 'blocked', 'flux.duckdb');
  // a file where the folder of one photo's preview goes: writing there fails as a full or read-only disk would
  const { sha256: sha, path } = sample.truth.photos[0] as { sha256: string; path: string };
  mkdirSync(join(ws, 'previews'), { recursive: true });
  writeFileSync(join(ws, 'previews', sha.slice(0, 2)), 'in the way');
  await assert.rejects(
    runIngest({ originals: sample.originals, db, workspace: ws }),
    (e: Error) =>
      e instanceof FluxError &&
      /^cannot write the preview of .*\.JPG to .*blocked-ws\/previews\/.* run flux ingest again: it resumes/.test(
        e.message,
      ),
  );
  rmSync(join(ws, 'previews', sha.slice(0, 2)));
  await runIngest({ originals: sample.originals, db, workspace: ws });
  const rows = await query<{ n: number }>(db, `SELECT count(*) AS n FROM photos WHERE sha256 = '${sha}'`);
  assert.equal(Number(rows[0]?.n), 1, 'indexed once the workspace takes it');
  const errors = await query(db, `SELECT * FROM ingest_errors WHERE path = '${path}' OR message LIKE '%ENOTDIR%'`);
  assert.deepEqual(errors, [], 'no error of the workspace is recorded against a photo');
});

test('an original moved to another folder keeps its photo row, now at the new place, and is no duplicate', async () => {
  const { cpSync, mkdirSync, renameSync } = await import('node:fs');
  const { dirname } = await import('node:path');
  // an archive of our own: one day of the sample's
  const { path } = sample.truth.photos[0] as { path: string };
  const day = dirname(path);
  const archive = join(work.dir, 'moving-archive');
  cpSync(join(sample.originals, day), join(archive, day), { recursive: true });
  const db = join(work.dir, 'moving', 'flux.duckdb');
  await runIngest({ originals: archive, db });
  const before = await query<{ id: bigint }>(db, `SELECT photo_id AS id FROM photos WHERE path = '${path}'`);
  assert.equal(before.length, 1);
  // sorted into a subfolder: a longer path, which would lose to the old one were the old one still there
  const moved = `${day}/sorted/${path.split('/').pop() as string}`;
  mkdirSync(join(archive, day, 'sorted'));
  renameSync(join(archive, path), join(archive, moved));
  await runIngest({ originals: archive, db });
  const after = await query<{ path: string }>(db, `SELECT path FROM photos WHERE photo_id = ${before[0]?.id}`);
  assert.deepEqual(after, [{ path: moved }]);
  assert.deepEqual(await query(db, `SELECT * FROM corpus_duplicates WHERE path IN ('${path}', '${moved}')`), []);
});

test('a keeper exported again under its name is another picture: a new id, and its own descriptor', async () => {
  const { copyFileSync, cpSync, utimesSync } = await import('node:fs');
  const keepers = join(work.dir, 'reexport-keepers');
  cpSync(sample.keepers, keepers, { recursive: true });
  const db = join(work.dir, 'reexport', 'flux.duckdb');
  await runIngest({ keepers, db });
  await runEmbed({ db, model: 'none' });
  type Row = { id: bigint; sha: string; b: number };
  const sql = `SELECT k.keeper_id AS id, k.sha256 AS sha, d.brightness AS b FROM keeper_files k
    LEFT JOIN descriptors d ON d."set" = 'keepers' AND d.id = k.keeper_id WHERE k.path = `;
  const rows = await query<{ path: string }>(db, 'SELECT path FROM keeper_files ORDER BY path LIMIT 2');
  const [a, b] = rows.map((r) => r.path) as [string, string];
  const before = (await query<Row>(db, `${sql}'${a}'`))[0] as Row;
  // the photographer edits it again and exports it over the old file: here, another keeper's picture
  copyFileSync(join(keepers, b), join(keepers, a));
  utimesSync(join(keepers, a), new Date(), new Date(Date.now() + 5000));
  await runIngest({ keepers, db });
  await runEmbed({ db, model: 'none' });
  const after = await query<Row>(db, `${sql}'${a}'`);
  const other = (await query<Row>(db, `${sql}'${b}'`))[0] as Row;
  assert.equal(after.length, 1, 'one row for the path');
  assert.notEqual(after[0]?.id, before.id, 'a new id');
  assert.equal(after[0]?.sha, other.sha);
  assert.equal(after[0]?.b, other.b, 'its descriptor is of the new picture');
  assert.notEqual(before.b, other.b, 'the two pictures differ');
});

test('a database moved with its workspace finds its previews; a missing workspace is named, not read as empty', async () => {
  const { cpSync, rmSync } = await import('node:fs');
  const { workspaceOf } = await import('../lib/2-embed/embed.js');
  const a = join(work.dir, 'move-a');
  await runIngest({ originals: sample.originals, db: join(a, 'flux.duckdb') });
  const b = join(work.dir, 'move-b');
  cpSync(a, b, { recursive: true });
  rmSync(a, { recursive: true });
  const db = await Db.open(join(b, 'flux.duckdb'), { readOnly: true });
  try {
    assert.equal(await workspaceOf(db), b);
    const previews = await db.all<{ preview: string }>('SELECT preview FROM photos');
    assert.ok(previews.length > 0 && previews.every((p) => existsSync(join(b, p.preview))));
  } finally {
    db.close();
  }
  // a workspace of its own elsewhere is recorded as it is, and kept by a later run that does not name one
  const ws = join(work.dir, 'elsewhere');
  const cDb = join(work.dir, 'move-c', 'flux.duckdb');
  await runIngest({ originals: sample.originals, db: cDb, workspace: ws });
  const later = await runIngest({ keepers: sample.keepers, db: cDb });
  assert.equal(later.workspace, ws);
  assert.ok(!existsSync(join(work.dir, 'move-c', 'previews')), 'no second preview cache beside the database');
  // gone, it is named with what to do; doing it rebuilds the previews of unchanged files in the new workspace
  rmSync(ws, { recursive: true });
  const c = await Db.open(cDb, { readOnly: true });
  try {
    await assert.rejects(
      workspaceOf(c),
      /its workspace \(previews, embeddings\) .*elsewhere is not there; was it moved\? .*--workspace NEW_FOLDER/,
    );
  } finally {
    c.close();
  }
  const ws2 = join(work.dir, 'elsewhere-2');
  await runIngest({ originals: sample.originals, keepers: sample.keepers, db: cDb, workspace: ws2 });
  const rows = await query<{ preview: string }>(
    cDb,
    'SELECT preview FROM photos UNION ALL SELECT preview FROM keeper_files',
  );
  assert.ok(
    rows.length > 0 && rows.every((p) => existsSync(join(ws2, p.preview))),
    'every preview rebuilt in the new workspace',
  );
});

test(
  'a photo that decodes only past damaged data is indexed with a warning; copies and re-reads keep it; a ' +
    'repaired file clears it',
  async () => {
    const { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
    const [good] = await query<{ path: string }>(dbFile, `SELECT path FROM photos ORDER BY bytes DESC LIMIT 1`);
    const originals = join(work.dir, 'damaged', 'ORIGINALS');
    const day = join(originals, '2024', '2024-05', '2024-05-17');
    mkdirSync(day, { recursive: true });
    const bytes = readFileSync(join(sample.originals, good?.path as string));
    copyFileSync(join(sample.originals, good?.path as string), join(day, 'R0000001.JPG'));
    // 400 bytes of the entropy-coded data overwritten: it still decodes, with libjpeg's warning
    const damaged = Buffer.from(bytes);
    for (let i = 0; i < 400; i++) damaged[Math.floor(damaged.length * 0.6) + i] = (i * 37) & 0xff;
    writeFileSync(join(day, 'R0000002.JPG'), damaged);
    const db = join(work.dir, 'damaged', 'flux.duckdb');
    const r = await runIngest({ originals, db });
    assert.deepEqual([r.roots[0]?.ok, r.roots[0]?.warned, r.roots[0]?.failed], [2, 1, 0]);
    const warnings = await query<{ path: string; message: string }>(db, 'SELECT path, message FROM ingest_warnings');
    assert.deepEqual(
      warnings.map((w) => w.path),
      ['2024/2024-05/2024-05-17/R0000002.JPG'],
    );
    assert.match(
      warnings[0]?.message ?? '',
      new RegExp(
        '^decoded past damaged image data, the picture may be partly grey or garbled: ' +
          '(Corrupt JPEG data|libjpeg reported damaged data)',
      ),
    );
    // the same file read again (touched), and a copy of its bytes under another name, from the preview cache
    const { utimesSync } = await import('node:fs');
    utimesSync(join(day, 'R0000002.JPG'), new Date(), new Date(Date.now() + 5000));
    writeFileSync(join(day, 'R0000003.JPG'), damaged);
    const again = await runIngest({ originals, db });
    assert.equal(again.roots[0]?.warned, 2);
    assert.deepEqual(
      await query<{ path: string; message: string }>(db, 'SELECT path, message FROM ingest_warnings ORDER BY path'),
      ['R0000002.JPG', 'R0000003.JPG'].map((n) => ({
        path: `2024/2024-05/2024-05-17/${n}`,
        message: warnings[0]?.message,
      })),
    );
    rmSync(join(day, 'R0000003.JPG'));
    writeFileSync(join(day, 'R0000002.JPG'), bytes);
    await runIngest({ originals, db });
    assert.deepEqual(await query(db, 'SELECT * FROM ingest_warnings'), []);
    // a damaged EXIF block: indexed as without EXIF, and said to be damaged rather than stripped
    const badExif = Buffer.from(bytes);
    const tiff = badExif.indexOf(Buffer.from('Exif\0\0')) + 6;
    badExif.fill(0, tiff, tiff + 64);
    writeFileSync(join(day, 'R0000004.JPG'), badExif);
    const withBadExif = await runIngest({ originals, db });
    assert.deepEqual([withBadExif.roots[0]?.ok, withBadExif.roots[0]?.warned], [1, 1]);
    assert.deepEqual(await query(db, `SELECT captured_at, make FROM photos WHERE path LIKE '%R0000004.JPG'`), [
      { captured_at: null, make: null },
    ]);
    assert.deepEqual(await query(db, 'SELECT path, message FROM ingest_warnings'), [
      {
        path: '2024/2024-05/2024-05-17/R0000004.JPG',
        message:
          'damaged EXIF block (Malformed EXIF data): indexed as without EXIF (no capture time, camera or ' +
          'orientation)',
      },
    ]);
  },
);

test('stage contract: ingest runs on an open database, reports progress and leaves the database open', async () => {
  const db = await Db.open(':memory:');
  try {
    const events: Array<{ stage: string; done: number; total: number }> = [];
    const r = await ingest(db, {
      keepers: sample.keepers,
      workspace: join(work.dir, 'ws-contract'),
      onProgress: (e) => {
        events.push(e);
      },
    });
    assert.equal(r.db, ':memory:');
    const keepers = r.roots[0] as IngestReport['roots'][number];
    assert.equal(keepers.root, 'keepers');
    assert.equal(keepers.ok, sample.truth.counts.keeperFilesReadable);
    // the last event says every file of the root is done
    const last = events.filter((e) => e.stage === 'keepers').at(-1);
    assert.deepEqual([last?.done, last?.total], [keepers.files - keepers.unchanged, keepers.files - keepers.unchanged]);
    // before it, the walk of the root: its year folders, all of them walked at the end
    const listing = events.filter((e) => e.stage === 'listing keepers');
    assert.ok(listing.length >= 2 && events.indexOf(listing.at(-1) as (typeof events)[number]) < events.indexOf(last!));
    assert.deepEqual([listing[0]?.done, listing.at(-1)?.done], [0, listing.at(-1)?.total]);
    assert.ok((listing.at(-1)?.total as number) >= 1);
    // still open: the caller reads what the stage wrote, in the same connection
    assert.equal(Number(await db.value('SELECT count(*) FROM keeper_files')), keepers.ok);
  } finally {
    db.close();
  }
});
