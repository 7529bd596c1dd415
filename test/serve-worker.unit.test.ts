/**
 * A model worker's message loop (lib/util/serve-worker.ts) in a real worker thread: answers in order, a failing
 * request answers with its error's first line and the worker goes on, close waits for the request in progress.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { PROJECT, tempDir } from './helpers.js';

const work = tempDir('serve-worker');

test('a worker answers in order, reports a failure and lives on, and closes after the request in progress', async () => {
  const module = pathToFileURL(join(PROJECT, 'dist', 'lib', 'util', 'serve-worker.js')).href;
  const file = join(work.dir, 'echo-worker.mjs');
  writeFileSync(
    file,
    `import { serveInOrder } from '${module}';
    const closed = [];
    serveInOrder(
      async (req) => {
        // the first request takes longest: answers still come in the order asked
        await new Promise((r) => setTimeout(r, req.id === 1 ? 60 : 1));
        if (req.id === 2) throw new Error('no such photo\\nstack');
        return { twice: new Float32Array([req.value * 2]) };
      },
      async () => { closed.push(1); },
      (r) => [r.twice.buffer],
    );`,
  );
  const worker = new Worker(file);
  const answers: Array<{ id: number; ok: boolean; twice?: Float32Array; message?: string }> = [];
  const done = new Promise<void>((resolve) => worker.on('exit', () => resolve()));
  worker.on('message', (m) => answers.push(m));
  for (const id of [1, 2, 3]) worker.postMessage({ id, value: id * 10 });
  worker.postMessage({ close: true });
  await done;
  assert.deepEqual(
    answers.map((a) => [a.id, a.ok, a.twice ? Array.from(a.twice) : a.message]),
    [
      [1, true, [20]],
      [2, false, 'no such photo'],
      [3, true, [60]],
    ],
  );
});
