import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { argumentMessage, errorLine, negativeValues, type ParseOptions } from '../lib/cli/args.js';
import { Db, withDb } from '../lib/db/duckdb.js';
import { runIngest } from '../lib/pipeline/stages.js';
import { applyDecisions } from '../lib/3-match/review.js';
import { exportSelection, photoRefs, type CurateResult } from '../lib/7-curate/curate.js';
import { csvCell, parseCsv, plainCsvValue } from '../lib/util/csv.js';
import { htmlTable } from '../lib/util/html.js';
import { fluxHere, type FluxRun, tempDir } from './helpers.js';

const work = tempDir('leaves');
after(() => work.cleanup());
const flux = (...args: string[]): Promise<FluxRun> => fluxHere(args, { cwd: work.dir });

test('tables print whole numbers as whole numbers, in a column whose other values need decimals', () => {
  const settings = [
    { setting: 'ISO', median: 400, p10: 200, p90: 1600 },
    { setting: 'f-number', median: 5.6, p10: 2.8, p90: 11 },
    { setting: 'exposure (s)', median: 0.004, p10: 0.002, p90: 1 / 60 },
  ];
  const cells = [...htmlTable(settings).matchAll(/<td style="text-align:(\w+);[^"]*">([^<]*)<\/td>/g)].map((m) => m[2]);
  assert.deepEqual(cells, [
    'ISO',
    '400',
    '200',
    '1600',
    'f-number',
    '5.600',
    '2.800',
    '11',
    'exposure (s)',
    '0.004',
    '0.002',
    '0.017',
  ]);
});

test('CSV: every value reads back exactly, and no written cell starts like a formula', () => {
  const values = [
    '=HYPERLINK("http://x")',
    "'=already guarded",
    "''+1",
    '-walk',
    '@sum',
    '\tlead',
    '+',
    'plain',
    "it's",
    "'quoted'",
    'a,b',
    'two\nlines',
    '',
  ];
  const text = `${values.map(csvCell).join(',')}\n`;
  assert.deepEqual(parseCsv(text), [values]);
  for (const cell of text.split(',')) assert.doesNotMatch(cell.replace(/^"/, ''), /^[=+\-@\t]/, cell);
  assert.equal(plainCsvValue("'=HYPERLINK(1)"), '=HYPERLINK(1)');
  assert.equal(plainCsvValue("'plain"), "'plain", 'an apostrophe before anything else is the value');
});

test('command-line messages: one prefix, the option named with --, negative numbers as values', async () => {
  const options: ParseOptions = { db: { type: 'string' }, 'batch-size': { type: 'string' }, all: { type: 'boolean' } };
  assert.deepEqual(negativeValues(['--batch-size', '-3', '--db', 'x', '--all', '-1'], options), [
    '--batch-size=-3',
    '--db',
    'x',
    '--all',
    '-1',
  ]);
  assert.deepEqual(negativeValues(['--db', '--all'], options), ['--db', '--all'], 'an option is not a value');
  assert.equal(errorLine('flux ingest: unknown option'), 'flux ingest: unknown option');
  assert.equal(errorLine('--db: no database'), 'flux: --db: no database');
  const unknown = await flux('ingest', '--foo', '--db', 'x.duckdb');
  assert.equal(unknown.status, 1);
  assert.equal(
    unknown.stderr,
    "flux ingest: unknown option '--foo'; the options are --originals, --keepers, --inbox, " +
      '--db, --workspace, --concurrency, --from-metadata, --help (flux ingest --help)\n',
  );
  assert.equal(
    argumentMessage(
      'embed',
      Object.assign(new Error("Unknown option '-x'. To specify"), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }),
      options,
    ),
    "flux embed: unknown option '-x'; the options are --db, --batch-size, --all (flux embed --help)",
  );
  const negative = await flux('embed', '--db', join(work.dir, 'none.duckdb'), '--batch-size', '-3');
  assert.equal(negative.stderr, 'flux: --batch-size: expected an integer from 1 to 1024, received -3\n');
  assert.equal((await flux('embed', '--db')).stderr, 'flux embed: --db needs a value (flux embed --help)\n');
  assert.equal((await flux('curate', '--keepers=yes', '--db', 'x')).stderr, 'flux curate: --keepers takes no value\n');
  mkdirSync(join(work.dir, 'EMPTY'), { recursive: true });
  const concurrency = await flux(
    'ingest',
    '--originals',
    join(work.dir, 'EMPTY'),
    '--db',
    join(work.dir, 'c', 'x.duckdb'),
    '--concurrency',
    '0',
  );
  assert.equal(concurrency.stderr, 'flux: --concurrency: expected an integer from 1 to 64, received 0\n');
  const seed = await flux('dataset', '--db', join(work.dir, 'none.duckdb'), '--seed', '-1');
  assert.doesNotMatch(seed.stderr, /ambiguous|flux: flux/);
});

test('a formula-like name: selection.csv names the copy as written; exclude and apply take it back', async () => {
  const originals = join(work.dir, 'ORIGINALS');
  const keepers = join(work.dir, 'KEEPERS');
  const odd = '=HYPERLINK(1).JPG';
  mkdirSync(join(originals, '-walk'), { recursive: true });
  mkdirSync(keepers, { recursive: true });
  const jpeg = (file: string, r: number): Promise<unknown> =>
    sharp({ create: { width: 32, height: 24, channels: 3, background: { r, g: 30, b: 90 } } })
      .jpeg()
      .toFile(file);
  await jpeg(join(originals, '-walk', odd), 200);
  await jpeg(join(originals, '-walk', 'R0000002.JPG'), 20);
  await jpeg(join(keepers, '+kept.JPG'), 120);
  // a name that itself starts with an apostrophe before a formula character: read back once, not stripped twice
  await jpeg(join(keepers, "'-quoted.JPG"), 60);
  const dbFile = join(work.dir, 'odd', 'flux.duckdb');
  await runIngest({ originals, keepers, db: dbFile });
  const db = await Db.open(dbFile);
  let oddId: number;
  try {
    const photos = await db.all<{ photo_id: number; path: string }>('SELECT photo_id, path FROM photos ORDER BY path');
    oddId = (photos.find((p) => p.path === `-walk/${odd}`) as { photo_id: number }).photo_id;
    const r: CurateResult = {
      method: 'fps',
      target: 2,
      iterations: 1,
      seed: 1,
      runs: [],
      votes: new Map(photos.map((p) => [p.photo_id, 1])),
      selection: photos.map((p) => ({ photoId: p.photo_id, votes: 1, frequency: 100, band: 'stable' as const })),
    };
    const rep = await exportSelection(db, r, join(work.dir, 'export'));
    const raw = readFileSync(rep.csv, 'utf8');
    assert.ok(raw.includes(`'${odd}`) && raw.includes("'-walk"), 'written behind an apostrophe, safe in a spreadsheet');
    const [head, ...rows] = parseCsv(raw);
    const col = (name: string): number => (head as string[]).indexOf(name);
    const row = rows.find((x) => x[col('photo_id')] === String(oddId)) as string[];
    assert.deepEqual([row[col('Filename')], row[col('Subfolder')], row[col('exported_as')]], [odd, '-walk', odd]);
    assert.ok(
      existsSync(join(rep.dir, row[col('exported_as')] as string)),
      'exported_as names the file as it was written',
    );
    // the Subfolder/Filename cells as the file holds them name the photo
    const cells = raw
      .split('\n')
      .find((l) => l.includes(String(oddId)))
      ?.split(',') as string[];
    assert.deepEqual(await photoRefs(db, [`${cells[1]}/${cells[0]}`]), [oddId]);
  } finally {
    db.close();
  }
  const excluded = await flux('curate', 'exclude', '--db', dbFile, `'-walk/'${odd}`);
  assert.equal(excluded.stderr, '');
  assert.match(excluded.stdout, /^1 photo excluded/);
  // match apply: keeper and photo named by the formula-safe cells of a review sheet
  const csv = join(work.dir, 'decisions.csv');
  writeFileSync(
    csv,
    [
      'keeper_id,photo_id,decision,keeper_path,photo_path',
      ['', '', 'accept', '+kept.JPG', `-walk/${odd}`].map(csvCell).join(','),
    ].join('\n'),
  );
  assert.ok(readFileSync(csv, 'utf8').includes("'+kept.JPG,'-walk/"));
  const applied = await withDb(dbFile, (d) => applyDecisions(d, csv), { index: true });
  assert.equal(applied.accepted, 1);
  const check = await Db.open(dbFile, { readOnly: true });
  try {
    assert.deepEqual(await check.all('SELECT keeper_path, photo_id, decision FROM match_decisions'), [
      { keeper_path: '+kept.JPG', photo_id: oddId, decision: 'accept' },
    ]);
  } finally {
    check.close();
  }
  const quoted = join(work.dir, 'quoted.csv');
  writeFileSync(
    quoted,
    [
      'keeper_id,photo_id,decision,keeper_path,photo_path',
      ['', '', 'none', "'-quoted.JPG", ''].map(csvCell).join(','),
    ].join('\n'),
  );
  assert.ok(readFileSync(quoted, 'utf8').includes("''-quoted.JPG"));
  assert.equal((await withDb(dbFile, (d) => applyDecisions(d, quoted), { index: true })).none, 1);
  const after = await Db.open(dbFile, { readOnly: true });
  try {
    assert.deepEqual(
      await after.all(`SELECT keeper_path, decision FROM match_decisions WHERE keeper_path LIKE '''%' ORDER BY 1`),
      [{ keeper_path: "'-quoted.JPG", decision: 'none' }],
    );
  } finally {
    after.close();
  }
});
