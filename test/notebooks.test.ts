import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PROJECT, SMALL_SAMPLE, tempDir } from './helpers.js';

/** Why the notebooks cannot run here, or false when Jupyter and the tslab kernel are installed. */
function noJupyter(): string | false {
  const nb = spawnSync('jupyter', ['nbconvert', '--version'], { encoding: 'utf8' });
  if (nb.status !== 0) return 'Jupyter with nbconvert is not installed (CI installs it; see README "Notebooks")';
  const ks = spawnSync('jupyter', ['kernelspec', 'list', '--json'], { encoding: 'utf8' });
  if (ks.status !== 0 || !(JSON.parse(ks.stdout) as { kernelspecs: Record<string, unknown> }).kernelspecs.tslab) {
    return 'the tslab kernel is not installed: npx tslab install --python=python3 --binary=$PWD/node_modules/.bin/tslab';
  }
  return false;
}

const skip = noJupyter();
const work = tempDir('notebooks');
after(() => work.cleanup());
const notebooks = readdirSync(join(PROJECT, 'notebooks')).filter((f) => f.endsWith('.ipynb')).sort();

test('there are notebooks', () => {
  assert.ok(notebooks.length >= 1);
});

for (const name of notebooks) {
  test(`notebook ${name} runs top to bottom on a fresh kernel`, { skip }, () => {
    const r = spawnSync('jupyter', ['nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=1800',
      '--output-dir', work.dir, join(PROJECT, 'notebooks', name)], {
      encoding: 'utf8', cwd: join(PROJECT, 'notebooks'),
      env: { ...process.env, FLUX_DATA: join(work.dir, 'data'), FLUX_MODELS: join(work.dir, 'models'), FLUX_SAMPLE: JSON.stringify(SMALL_SAMPLE) },
    });
    assert.equal(r.status, 0, `nbconvert failed:\n${r.stderr.slice(-4000)}`);
    const out = JSON.parse(readFileSync(join(work.dir, name), 'utf8')) as { cells: Array<{ cell_type: string; outputs?: Array<{ output_type: string; ename?: string; data?: Record<string, unknown> }> }> };
    const outputs = out.cells.flatMap((c) => c.outputs ?? []);
    assert.deepEqual(outputs.filter((o) => o.output_type === 'error').map((o) => o.ename), [], 'no cell raised');
    const rich = outputs.filter((o) => o.data && ('text/html' in o.data || 'image/svg+xml' in o.data || 'application/vnd.plotly.v1+json' in o.data));
    assert.ok(rich.length >= 3, `${name} displays tables or figures (${rich.length})`);
    // figures: plotly divs drawn by the inlined bundle, or plain SVG
    const html = rich.map((o) => JSON.stringify(o.data)).join('');
    const figures = (html.match(/class=\\"flux-figure\\"/g) ?? []).length + (html.match(/<svg /g) ?? []).length;
    assert.ok(figures >= 1, `${name} shows figures (${figures})`);
    if (figures && html.includes('flux-figure')) assert.ok(html.includes('window.Plotly'), `${name} carries plotly.js for its figures`);
  });
}
