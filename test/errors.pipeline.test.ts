import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseCsv } from '../lib/util/csv.js';
import { autoProviders } from '../lib/onnx/runtime.js';
import { findModel } from '../lib/2-embed/models.js';
import { fluxHere, type FluxRun, smallSample, tempDir } from './helpers.js';

let work: ReturnType<typeof tempDir>;
let originals: string;
let db: string;

const flux = (...args: string[]): Promise<FluxRun> => fluxHere(args);
const notIndexed = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('not indexed: '));
const bad = (i: number): string => `walk/R${String(i).padStart(7, '0')}.JPG`;

before(async () => {
  work = tempDir('errors');
  originals = join(work.dir, 'ORIGINALS');
  mkdirSync(join(originals, 'walk'), { recursive: true });
  // two good photos and 23 empty files: more failures than ingest names
  const sample = await smallSample();
  const first = sample.truth.photos.slice(0, 2);
  first.forEach((p, i) => copyFileSync(join(sample.originals, p.path), join(originals, 'walk', `good-${i}.JPG`)));
  for (let i = 0; i < 23; i++) writeFileSync(join(originals, bad(i)), '');
  db = join(work.dir, 'flux.duckdb');
});
after(() => work.cleanup());

test('flux ingest names the first 20 files it could not index, with their reasons, then counts the rest', async () => {
  const r = await flux('ingest', '--originals', originals, '--db', db);
  assert.equal(r.status, 0, r.stderr);
  const lines = notIndexed(r.stdout);
  assert.equal(lines.length, 20);
  assert.deepEqual(lines.slice(0, 2), [
    `not indexed: originals/${bad(0)}: read: empty file (0 bytes)`,
    `not indexed: originals/${bad(1)}: read: empty file (0 bytes)`,
  ]);
  assert.equal(lines.at(-1), `not indexed: originals/${bad(19)}: read: empty file (0 bytes)`);
  assert.ok(r.stdout.includes(`\n... 3 more files not indexed: flux errors --db ${db} lists them all\n`), r.stdout);
  assert.ok(r.stdout.includes(`\npreviews ${join(work.dir, 'previews')}\n`), r.stdout);
  assert.match(r.stdout, /^originals +25 +0 +2 +0 +0 +0 +23 +0 +0$/m);
});

test('flux errors lists every file not indexed and every image not embedded, and writes them as CSV', async () => {
  // a preview that went missing: flux embed records the photo it could not embed
  const previews = join(work.dir, 'previews');
  const victim = readdirSync(previews, { recursive: true })
    .map(String)
    .find((f) => f.endsWith('.jpg')) as string;
  rmSync(join(previews, victim));
  const e = await flux('embed', '--db', db, '--model', 'none');
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stdout, /^photos +2 images: 0 already done, 1 embedded, 1 failed$/m);
  const csv = join(work.dir, 'out', 'errors.csv');
  const r = await flux('errors', '--db', db, '--csv', csv);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(notIndexed(r.stdout).length, 23);
  assert.equal(lines[22], `not indexed: originals/${bad(22)}: read: empty file (0 bytes)`);
  const preview = `previews/${victim}`;
  assert.ok(lines[23]?.startsWith(`not embedded: photos/${preview}: descriptor: preview ${preview}: `), lines[23]);
  assert.equal(lines[24], '23 files not indexed, 0 photos indexed with a warning, 1 image not embedded');
  assert.equal(lines[25], `written to ${csv}`);
  const rows = parseCsv(readFileSync(csv, 'utf8'));
  assert.deepEqual(rows[0], ['kind', 'root', 'path', 'stage', 'message']);
  assert.equal(rows.length, 1 + 24);
  assert.deepEqual(rows[1], ['error', 'originals', bad(0), 'read', 'empty file (0 bytes)']);
  assert.deepEqual(rows[24]?.slice(0, 4), ['embed', 'photos', `previews/${victim}`, 'descriptor']);
  // a wrong database is named
  const missing = await flux('errors', '--db', join(work.dir, 'nope.duckdb'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^flux: --db: no database at .*nope\.duckdb; build it first with flux ingest/);
});

test('a folder without any JPEG says so and where it looked, and names no previews folder', async () => {
  const empty = join(work.dir, 'EMPTY');
  mkdirSync(join(empty, '2024', 'walk'), { recursive: true });
  writeFileSync(join(empty, '2024', 'walk', 'notes.txt'), 'no photos here\n');
  const file = join(work.dir, 'empty', 'flux.duckdb');
  const r = await flux('ingest', '--originals', empty, '--db', file);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.ok(
    lines.includes(
      `no JPEG found in --originals ${empty} (looked in it and every folder below it); ` +
        '1 other file there, none of them a photo',
    ),
    r.stdout,
  );
  assert.ok(lines.includes(`database ${file}`));
  assert.equal(lines.filter((l) => l.startsWith('previews ')).length, 0, 'no previews folder was made');
  const none = await flux('ingest', '--originals', join(work.dir, 'EMPTY', '2024', 'walk', 'x'), '--db', file);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /^flux: --originals: folder not found/);
});

test('an output that cannot be written is named with why on one line, where a stack trace was; nothing is made', async () => {
  const file = join(work.dir, 'a-file');
  writeFileSync(file, 'in the way');
  const refused = async (args: string[], message: string): Promise<void> => {
    const r = await flux(...args);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(
      r.stderr
        .split('\n')
        .filter((l) => l.startsWith('flux: '))
        .join('\n'),
      `flux: ${message}`,
      r.stderr,
    );
    assert.doesNotMatch(r.stderr, /\n +at /, 'no stack trace');
  };
  const notFolder = `${file} is a file, not a folder`;
  await refused(
    ['errors', '--db', db, '--csv', '/sys/flux-errors.csv'],
    'cannot write /sys/flux-errors.csv: permission denied',
  );
  await refused(['sample', '--out', join(file, 'sub')], `--out: cannot make the folder ${file}/sub: ${notFolder}`);
  await refused(['sample', '--out', file], `--out: ${file} is a file; name a new or empty folder for the sample`);
  await refused(
    ['sample', '--metadata-only', '--out', join(file, 'sub')],
    `--out: cannot make the folder ${file}/sub/metadata: ${notFolder}`,
  );
  await refused(
    ['ingest', '--originals', originals, '--db', '/sys/flux-x/f.duckdb'],
    '--db: cannot make the folder /sys/flux-x: operation not permitted',
  );
  await refused(
    ['ingest', '--originals', originals, '--db', join(file, 'f.duckdb')],
    `--db: cannot make the folder ${file}: it is a file, not a folder`,
  );
  // before flux match there is nothing to review (it was a Catalog Error); then the folder is named
  const review = ['match', 'review', '--db', db, '--out', join(file, 'sub')];
  await refused(review, `${db}: no keeper is matched yet; run flux match --db ${db} first`);
  assert.equal((await flux('match', '--db', db)).status, 0);
  await refused(review, `--out: cannot make the folder ${file}/sub/thumbs: ${notFolder}`);
  assert.equal(readFileSync(file, 'utf8'), 'in the way');
});

test('flux match apply on a photo or another file that is no decisions CSV says so, without its raw bytes', async () => {
  const apply = async (file: string): Promise<string> => {
    const r = await flux('match', '--db', db, 'apply', file);
    assert.equal(r.status, 1, r.stderr);
    return r.stderr;
  };
  const photo = join(originals, 'walk', 'good-0.JPG');
  assert.equal(
    await apply(photo),
    `flux: ${photo}: not a CSV file (it holds binary data: a JPEG image); ` +
      'give the review.csv flux match review wrote, with its decision column filled\n',
  );
  // a text file with a terminal escape in its first line: the escape is shown, not sent to the terminal
  const other = join(work.dir, 'other.csv');
  writeFileSync(other, 'name,\u001b[2Jnote\nx,y\n');
  assert.equal(
    await apply(other),
    `flux: ${other}: not a decisions CSV file: expected a "keeper_id" column (columns: name, \\u001b[2Jnote); ` +
      'give the review.csv flux match review wrote\n',
  );
  const utf16 = join(work.dir, 'unicode.csv');
  writeFileSync(utf16, Buffer.from('\ufeffkeeper_id\tdecision\n', 'utf16le'));
  assert.equal(
    await apply(utf16),
    `flux: ${utf16}: not a CSV file (it is UTF-16 text); save it as CSV UTF-8 and apply that\n`,
  );
});

test(
  'flux embed says which execution provider ran the model, and a missing one says how to install it',
  {
    skip: autoProviders().some((p) => p !== 'cpu')
      ? 'a GPU provider is set up here'
      : !findModel('mobilenetv2-int8').path
        ? 'needs the MobileNetV2 model in models/ or ../shared/models/'
        : false,
  },
  async () => {
    const cuda = await flux('embed', '--db', db, '--provider', 'cuda');
    assert.equal(cuda.status, 1);
    assert.match(
      cuda.stderr,
      /^flux: --provider cuda: not available in this installation of onnxruntime-node .*ONNXRUNTIME_NODE_INSTALL=cuda12/,
    );
    const r = await flux('embed', '--db', db);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^model mobilenetv2-int8 from .* on cpu \(ONNX Runtime execution provider\); vectors in /m);
  },
);
