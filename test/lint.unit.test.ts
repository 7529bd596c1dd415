import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { ESLint } from 'eslint';
import { PROJECT, tempDir } from './helpers.js';

const work = tempDir('lint');
after(() => work.cleanup());

/** Lints a small tree of files under the project's eslint.config.js; answers "file: rule" for every problem. */
async function lintTree(files: Record<string, string>): Promise<string[]> {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(work.dir, path)), { recursive: true });
    writeFileSync(join(work.dir, path), text);
  }
  const eslint = new ESLint({ cwd: work.dir, overrideConfigFile: join(PROJECT, 'eslint.config.js') });
  const results = await eslint.lintFiles(Object.keys(files));
  return results.flatMap((r) => r.messages.map((m) => `${r.filePath.slice(work.dir.length + 1)}: ${m.ruleId}`)).sort();
}

test('DuckDB only under lib/db/, ONNX Runtime only under lib/onnx/, the layers never imported from below, new stages too', async () => {
  const problems = await lintTree({
    'lib/db/duckdb.ts': "import { DuckDBInstance } from '@duckdb/node-api';\nexport const a = DuckDBInstance;\n",
    'lib/onnx/runtime.ts': "import * as ort from 'onnxruntime-node';\nexport const b = ort;\n",
    'lib/onnx/bad.ts': "import type { DuckDBValue } from '@duckdb/node-api';\nexport type C = DuckDBValue;\n",
    'lib/3-match/bad.ts': [
      "import { DuckDBInstance } from '@duckdb/node-api';",
      "import { dataDir } from '../pipeline/env.js';",
      "export const d = [DuckDBInstance, dataDir, await import('onnxruntime-node')];",
    ].join('\n'),
    'lib/pipeline/env.ts': 'export const dataDir = 1;\n',
    'lib/pipeline/ok.ts': "import { dataDir } from './env.js';\nexport const e = dataDir;\n",
    'lib/cli/ok.ts': "import { dataDir } from '../pipeline/env.js';\nexport const f = dataDir;\n",
    'lib/portal/ok.ts': "import { dataDir } from '../pipeline/env.js';\nexport const g = dataDir;\n",
    'lib/2-detect/bad.ts': "import { InferenceSession } from 'onnxruntime-node';\nexport const h = InferenceSession;\n",
    'lib/util/bad.ts': "import { g } from '../portal/ok.js';\nexport const i = g;\n",
  });
  assert.deepEqual(problems, [
    'lib/2-detect/bad.ts: no-restricted-imports',
    'lib/3-match/bad.ts: no-restricted-imports',
    'lib/3-match/bad.ts: no-restricted-imports',
    'lib/3-match/bad.ts: no-restricted-syntax',
    'lib/onnx/bad.ts: no-restricted-imports',
    'lib/util/bad.ts: no-restricted-imports',
  ]);
});

test('an import cycle, a line over 120 characters and a function over 100 lines are reported', async () => {
  const body = Array.from({ length: 101 }, (_, i) => `  total += ${i};`).join('\n');
  const problems = await lintTree({
    'lib/util/a.ts': "import { b } from './b.js';\nexport const a = (): number => b() + 1;\n",
    'lib/util/b.ts': "import { a } from './a.js';\nexport const b = (): number => a() - 1;\n",
    'lib/util/long.ts': `export const long = [${'1, '.repeat(40)}1];\n`,
    'lib/util/fn.ts': `export function big(): number {\n  let total = 0;\n\n  // blank lines and comments do not count\n${body}\n  return total;\n}\n`,
    'lib/util/short.ts': `export function ok(): number {\n  let total = 0;\n\n  // a comment\n${body.split('\n').slice(5).join('\n')}\n  return total;\n}\n`,
  });
  assert.deepEqual(problems, [
    'lib/util/a.ts: import-x/no-cycle',
    'lib/util/b.ts: import-x/no-cycle',
    'lib/util/fn.ts: max-lines-per-function',
    'lib/util/long.ts: max-len',
  ]);
});
