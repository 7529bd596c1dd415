import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { PROJECT, tempDir } from './helpers.js';

const work = tempDir('ci-skips');
after(() => work.cleanup());
const fixture = join(work.dir, 'needs.test.mjs');
writeFileSync(
  fixture,
  [
    "import { test } from 'node:test';",
    `import { envSkip } from '${pathToFileURL(join(PROJECT, 'dist', 'test', 'helpers.js')).href}';`,
    "test('needs a unicorn', { skip: envSkip('needs a unicorn in /nowhere') }, () => {});",
    "test('needs nothing', { skip: envSkip(false) }, () => {});",
  ].join('\n'),
);

/** Runs the fixture under node's test runner (TAP), as a user's machine (no FLUX_CI) or CI (FLUX_CI=1). */
function runFixture(ci: boolean): { status: number | null; out: string } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.FLUX_CI;
  delete env.NODE_TEST_CONTEXT; // else the child reports to this runner instead of printing TAP
  if (ci) env.FLUX_CI = '1';
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', fixture], { encoding: 'utf8', env });
  return { status: r.status, out: r.stdout + r.stderr };
}

test("on a user's machine a missing need skips its test with the reason, and the run passes", () => {
  const { status, out } = runFixture(false);
  assert.equal(status, 0, out);
  assert.match(out, /ok \d+ - needs a unicorn # SKIP needs a unicorn in \/nowhere/);
  assert.match(out, /^# skipped 1$/m);
  assert.match(out, /^# fail 0$/m);
});

test('in CI (FLUX_CI=1) the same missing need fails the run and names what is missing', () => {
  const { status, out } = runFixture(true);
  assert.equal(status, 1, out);
  assert.match(out, /not ok \d+ - CI has what the tests need: needs a unicorn in \/nowhere/);
  assert.match(out, /FLUX_CI=1 and a test would be skipped: needs a unicorn in \/nowhere/);
  assert.match(out, /^# fail 1$/m);
  assert.match(out, /ok \d+ - needs nothing\n/, 'a test with nothing missing runs as before');
});
