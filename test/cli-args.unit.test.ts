import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MODELS } from '../lib/2-embed/models.js';
import { checkInt, checkNumber, parseDecimal } from '../lib/util/check.js';
import { fluxHere, type FluxRun, tempDir } from './helpers.js';

const work = tempDir('cli-args');
after(() => work.cleanup());
const flux = (...args: string[]): Promise<FluxRun> => fluxHere(args, { cwd: work.dir });
/** A database path that does not exist: a command that gets past its arguments stops on it. */
const NONE = join(work.dir, 'none.duckdb');
const noDb = `flux: --db: no database at ${NONE}; build it first with flux ingest --originals DIR --keepers DIR --db ${NONE}\n`;

/** The one line a refused command printed; its exit code must be 1 and it must have printed nothing else. */
async function refused(...args: string[]): Promise<string> {
  const r = await flux(...args);
  assert.equal(r.status, 1, `flux ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
  return r.stderr;
}

test('an option given twice is refused, naming it and both values, and nothing runs', async () => {
  mkdirSync(join(work.dir, 'A'), { recursive: true });
  mkdirSync(join(work.dir, 'B'), { recursive: true });
  const db = join(work.dir, 'twice', 'x.duckdb');
  assert.equal(
    await refused('ingest', '--originals', 'A', '--originals', 'B', '--db', db),
    'flux ingest: --originals is given twice ("A" and "B"); give it once\n',
  );
  assert.equal(existsSync(join(work.dir, 'twice')), false, 'nothing was indexed');
  assert.equal(
    await refused('errors', '--db', NONE, '--db=real.duckdb'),
    `flux errors: --db is given twice (${JSON.stringify(NONE)} and "real.duckdb"); give it once\n`,
  );
  assert.equal(
    await refused('embed', '--db', NONE, '--views', '2', '--views', '-3'),
    'flux embed: --views is given twice ("2" and "-3"); give it once\n',
  );
  assert.equal(
    await refused('curate', '--db', NONE, '--keepers', '--keepers'),
    'flux curate: --keepers is given twice; give it once\n',
  );
  // --help may repeat; once each, the options still reach the command
  assert.equal((await flux('errors', '--help', '-h')).status, 0);
  assert.equal(await refused('errors', '--db', NONE, '--csv', 'x.csv'), noDb);
});

test('a word a command does not take is refused, naming it; the words a command takes still reach it', async () => {
  const db = join(work.dir, 'stray', 'x.duckdb');
  assert.equal(
    await refused('ingest', '--originals', 'A', '--db', db, 'B'),
    'flux ingest: unexpected argument "B" (flux ingest takes no arguments besides its options; flux ingest --help)\n',
  );
  assert.equal(existsSync(join(work.dir, 'stray')), false, 'nothing was indexed');
  assert.equal(
    await refused('embed', '--db', NONE, 'extra', 'more'),
    'flux embed: unexpected arguments "extra", "more" (flux embed takes no arguments besides its options; ' +
      'flux embed --help)\n',
  );
  assert.equal(
    await refused('models', 'list', 'extra'),
    'flux models list: unexpected argument "extra" (flux models list takes no arguments; flux models --help)\n',
  );
  assert.equal(
    await refused('models', 'fetch', 'clip-vit-b32', 'x'),
    'flux models fetch: unexpected argument "x" (flux models fetch takes one model ID; flux models --help)\n',
  );
  assert.equal(await refused('models', 'extra'), 'flux models: expected "list" or "fetch ID", received "extra"\n');
  assert.equal(
    await refused('match', 'review', '--db', NONE, '--out', 'R', 'extra'),
    'flux match review: unexpected argument "extra" (flux match review takes no arguments besides its options; ' +
      'flux match --help)\n',
  );
  assert.equal(
    await refused('match', 'apply', '--db', NONE, 'a.csv', 'b.csv'),
    'flux match apply: unexpected argument "b.csv" (flux match apply takes one decisions CSV file; flux match --help)\n',
  );
  assert.equal(
    await refused('curate', 'clear', '--db', NONE, '12'),
    'flux curate clear: unexpected argument "12" (flux curate clear takes no arguments besides its options; ' +
      'flux curate --help)\n',
  );
  // the documented forms with words get past their arguments to the database
  assert.equal(await refused('match', 'apply', '--db', NONE, 'decisions.csv'), noDb);
  assert.equal(await refused('curate', 'exclude', '--db', NONE, '12', '2024/R0001.JPG'), noDb);
  assert.equal(await refused('curate', 'exclude', '--db', NONE, '--', '-walk/R0001.JPG'), noDb);
  const list = await flux('models', 'list');
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(
    list.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]),
    MODELS.map((m) => m.id),
  );
  assert.deepEqual((await flux('models')).stdout, list.stdout, 'list is the default');
});

test('numbers on the command line: plain decimal digits; a fraction or exponent only where a real number goes', async () => {
  for (const text of ['7', '007', '-3', '+12', '4294967295'])
    assert.equal(parseDecimal('--seed', text, 'integer'), Number(text));
  for (const text of ['0.5', '.5', '5.', '-1e-3', '2E2', '+0.25'])
    assert.equal(parseDecimal('--rate', text, 'real'), Number(text));
  for (const text of [
    '',
    ' ',
    ' 7',
    '7 ',
    '0x10',
    '0b1',
    '0o7',
    '1_000',
    '1e3',
    '2.5',
    'Infinity',
    'NaN',
    '--1',
    '1,5',
  ]) {
    assert.throws(
      () => parseDecimal('--seed', text, 'integer'),
      { name: 'FluxError', message: `--seed: expected an integer (decimal digits), received ${JSON.stringify(text)}` },
      text,
    );
  }
  for (const text of ['', ' ', '0x10', '1e', '.', '-.e1', 'Infinity', '1_0.5', '0.5 ']) {
    assert.throws(
      () => parseDecimal('--rate', text, 'real'),
      { name: 'FluxError', message: `--rate: expected a decimal number, received ${JSON.stringify(text)}` },
      text,
    );
  }
  // the range checks read a string the same way, and keep their range in the message
  assert.equal(checkInt('--folds', '5', 3, 50), 5);
  assert.throws(
    () => checkInt('--folds', '0x10', 3, 50),
    /^FluxError: --folds: expected an integer from 3 to 50, received "0x10"$/,
  );
  assert.throws(() => checkInt('--folds', ' ', 3, 50), /received " "$/);
  assert.equal(checkNumber('--above', '90.5', 0, 100), 90.5);
  assert.throws(
    () => checkNumber('--above', '0x10', 0, 100),
    /^FluxError: --above: expected a number from 0 to 100, received "0x10"$/,
  );
  // through the command line: the option is named, before the database is looked for
  for (const seed of ['', ' ', '0x10', '1e1', '2.5']) {
    assert.equal(
      await refused('dataset', '--db', NONE, '--seed', seed),
      `flux: --seed: expected an integer (decimal digits), received ${JSON.stringify(seed)}\n`,
    );
  }
  assert.equal(
    await refused('train', '--db', NONE, '--near-rate', '0x1'),
    'flux: --near-rate: expected a decimal number, received "0x1"\n',
  );
  assert.equal(
    await refused('curate', '--db', NONE, '--target', '1e2'),
    'flux: --target: expected an integer (decimal digits), received "1e2"\n',
  );
  assert.equal(await refused('dataset', '--db', NONE, '--seed', '7'), noDb);
  assert.equal(await refused('train', '--db', NONE, '--near-rate', '.5', '--half-life', '2e0', '--epochs', '3'), noDb);
});

test('an option the chosen form of a command does not read is refused, naming it and the form it goes with', async () => {
  assert.equal(
    await refused('curate', '--db', NONE, '--above', '90'),
    'flux curate: --above does not apply here; it goes with flux curate exclude\n',
  );
  assert.equal(
    await refused('curate', '--db', NONE, 'clear', '--method', 'kmeans'),
    'flux curate clear: --method does not apply here; it goes with flux curate\n',
  );
  assert.equal(
    await refused('curate', 'exclude', '--db', NONE, '--target', '5', '12'),
    'flux curate exclude: --target does not apply here; it goes with flux curate\n',
  );
  assert.equal(
    await refused('match', '--db', NONE, '--out', 'R'),
    'flux match: --out does not apply here; it goes with flux match review\n',
  );
  assert.equal(
    await refused('match', 'apply', '--db', NONE, '--all', 'd.csv'),
    'flux match apply: --all does not apply here; it goes with flux match\n',
  );
  assert.equal(
    await refused('sample', '--metadata-only', '--out', 'm', '--keeper-rate', '0.1'),
    'flux sample --metadata-only: --keeper-rate does not apply here; it goes with flux sample without --metadata-only\n',
  );
  assert.equal(
    await refused('sample', '--out', 'm', '--photos', '1000'),
    'flux sample: --photos does not apply here; it goes with flux sample --metadata-only\n',
  );
  assert.equal(
    await refused('ingest', '--from-metadata', 'm', '--originals', 'A', '--db', NONE),
    'flux ingest --from-metadata: --originals does not apply here; it goes with flux ingest without --from-metadata\n',
  );
  assert.equal(existsSync(join(work.dir, 'm')), false, 'no sample was written');
  assert.equal(
    await refused('curate', '--db', NONE, 'bogus'),
    'flux curate: expected exclude, clear or no action, received "bogus"\n',
  );
  // each form with its own options gets past its arguments
  assert.equal(await refused('curate', 'exclude', '--db', NONE, '--above', '90'), noDb);
  assert.equal(await refused('curate', 'clear', '--db', NONE), noDb);
  assert.equal(
    await refused('curate', '--db', NONE, '--method', 'kmeans', '--target', '9', '--keepers', '--keep-failures'),
    noDb,
  );
  assert.equal(await refused('match', 'review', '--db', NONE, '--out', 'R'), noDb);
  assert.equal(await refused('match', '--db', NONE, '--all', '--model', 'none'), noDb);
});
