import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
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
