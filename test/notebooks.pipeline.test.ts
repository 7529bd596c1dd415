import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { after, test } from 'node:test';
import { envSkip, PROJECT, SMALL_SAMPLE, tempDir } from './helpers.js';

const TSLAB = join(PROJECT, 'node_modules', '.bin', 'tslab');

/** Why the notebooks cannot run here, or false when Jupyter (with nbconvert) and this clone's tslab are present. */
function noJupyter(): string | false {
  const nb = spawnSync('jupyter', ['nbconvert', '--version'], { encoding: 'utf8' });
  if (nb.status !== 0) return 'Jupyter with nbconvert is not installed (CI installs it; see README "Notebooks")';
  if (!existsSync(TSLAB)) return `tslab is not installed in this clone (${TSLAB}); run npm ci`;
  return false;
}

const skip = envSkip(noJupyter());
const work = tempDir('notebooks');
after(() => work.cleanup());
// the notebooks run on this clone's tslab whatever kernel is installed on the machine (an installed kernelspec may
// point to another clone, or to one that is gone): a kernelspec of our own, found first through JUPYTER_PATH
const jupyterPath = join(work.dir, 'jupyter');
mkdirSync(join(jupyterPath, 'kernels', 'tslab'), { recursive: true });
writeFileSync(
  join(jupyterPath, 'kernels', 'tslab', 'kernel.json'),
  JSON.stringify({
    argv: [TSLAB, 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript',
    language: 'typescript',
  }),
);
const notebooks = readdirSync(join(PROJECT, 'notebooks'))
  .filter((f) => f.endsWith('.ipynb'))
  .sort();

for (const name of notebooks) {
  test(`notebook ${name} runs top to bottom on a fresh kernel`, { skip }, () => {
    const r = spawnSync(
      'jupyter',
      [
        'nbconvert',
        '--to',
        'notebook',
        '--execute',
        '--ExecutePreprocessor.timeout=1800',
        '--output-dir',
        work.dir,
        join(PROJECT, 'notebooks', name),
      ],
      {
        encoding: 'utf8',
        cwd: join(PROJECT, 'notebooks'),
        env: {
          ...process.env,
          JUPYTER_PATH: [jupyterPath, process.env.JUPYTER_PATH].filter(Boolean).join(delimiter),
          FLUX_DATA: join(work.dir, 'data'),
          FLUX_MODELS: join(work.dir, 'models'),
          FLUX_SAMPLE: JSON.stringify(SMALL_SAMPLE),
        },
      },
    );
    assert.equal(r.status, 0, `nbconvert failed:\n${r.stderr.slice(-4000)}`);
    const out = JSON.parse(readFileSync(join(work.dir, name), 'utf8')) as {
      cells: Array<{
        cell_type: string;
        outputs?: Array<{ output_type: string; ename?: string; data?: Record<string, unknown> }>;
      }>;
    };
    const outputs = out.cells.flatMap((c) => c.outputs ?? []);
    assert.deepEqual(
      outputs.filter((o) => o.output_type === 'error').map((o) => o.ename),
      [],
      'no cell raised',
    );
    const rich = outputs.filter(
      (o) =>
        o.data && ('text/html' in o.data || 'image/svg+xml' in o.data || 'application/vnd.plotly.v1+json' in o.data),
    );
    assert.ok(rich.length >= 3, `${name} displays tables or figures (${rich.length})`);
    // figures: plotly divs drawn by the inlined bundle, or plain SVG
    const html = rich.map((o) => JSON.stringify(o.data)).join('');
    const figures = (html.match(/class=\\"flux-figure\\"/g) ?? []).length + (html.match(/<svg /g) ?? []).length;
    assert.ok(figures >= 1, `${name} shows figures (${figures})`);
    if (figures && html.includes('flux-figure'))
      assert.ok(html.includes('window.Plotly'), `${name} carries plotly.js for its figures`);
  });
}
