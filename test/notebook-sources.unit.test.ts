import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { envSkip, PROJECT, tempDir } from './helpers.js';

const SOURCES = join(PROJECT, 'tools', 'notebooks');
const NOTEBOOKS = join(PROJECT, 'notebooks');
const noPython: string | false =
  spawnSync('python3', ['--version']).status === 0 ? false : 'needs python3 to run tools/nb.py';
const work = tempDir('nb-sources');
after(() => work.cleanup());

const stems = (dir: string, ext: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .map((f) => f.slice(0, -ext.length))
    .sort();

test('every notebook has a source in tools/notebooks and every source a notebook', () => {
  const notebooks = stems(NOTEBOOKS, '.ipynb');
  assert.ok(notebooks.length >= 6, `notebooks/ holds the six notebooks (${notebooks.length})`);
  assert.deepEqual(stems(SOURCES, '.nb.txt'), notebooks);
});

test(
  'each notebook is what tools/nb.py writes from its source (no edit made in the .ipynb alone)',
  { skip: envSkip(noPython) },
  () => {
    for (const stem of stems(SOURCES, '.nb.txt')) {
      const out = join(work.dir, `${stem}.ipynb`);
      const r = spawnSync('python3', [join(PROJECT, 'tools', 'nb.py'), join(SOURCES, `${stem}.nb.txt`), out], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `tools/nb.py ${stem}.nb.txt failed: ${r.stderr}`);
      const want = readFileSync(out, 'utf8');
      const have = readFileSync(join(NOTEBOOKS, `${stem}.ipynb`), 'utf8');
      assert.ok(
        have === want,
        `notebooks/${stem}.ipynb differs from tools/notebooks/${stem}.nb.txt: run python3 tools/nb.py`,
      );
    }
  },
);

test('notebooks are stored without outputs, so a figure seen in one was made by the run that shows it', () => {
  for (const stem of stems(NOTEBOOKS, '.ipynb')) {
    const nb = JSON.parse(readFileSync(join(NOTEBOOKS, `${stem}.ipynb`), 'utf8')) as {
      cells: Array<{ cell_type: string; outputs?: unknown[] }>;
      metadata: { kernelspec?: { name?: string } };
    };
    assert.equal(nb.metadata.kernelspec?.name, 'tslab', `${stem} runs on the tslab kernel`);
    assert.ok(nb.cells.filter((c) => c.cell_type === 'code').length >= 3, `${stem} has code cells`);
    assert.deepEqual(
      nb.cells.flatMap((c) => c.outputs ?? []),
      [],
      `${stem} is stored without outputs`,
    );
  }
});
