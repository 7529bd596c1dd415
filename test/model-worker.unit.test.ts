/**
 * Both ends of a model worker (lib/util/model-worker.ts) in a real worker thread: answers in order, a failing
 * request answers with its error's first line and the worker goes on, close waits for the request in progress, and a
 * request after the exit is refused with why.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { ModelWorker } from '../lib/util/model-worker.js';
import { PROJECT, tempDir } from './helpers.js';

const work = tempDir('model-worker');

test('a model worker answers in order, reports a failure and lives on, closes after the request in progress, then refuses', async () => {
  const module = pathToFileURL(join(PROJECT, 'dist', 'lib', 'util', 'model-worker.js')).href;
  const file = join(work.dir, 'echo-worker.mjs');
  writeFileSync(
    file,
    `import { serveInOrder } from '${module}';
    serveInOrder(
      async (req) => {
        // the first request takes longest: answers still come in the order asked
        await new Promise((r) => setTimeout(r, req.value === 10 ? 60 : 1));
        if (req.value === 20) throw new Error('no such photo\\nstack');
        return { twice: new Float32Array([req.value * 2]) };
      },
      async () => {},
      (r) => [r.twice.buffer],
    );`,
  );
  const worker = new ModelWorker<{ id: number; value: number }, { twice: Float32Array }>(
    pathToFileURL(file),
    null,
    'echo worker',
  );
  const asked = [1, 2, 3].map((id) =>
    worker.request({ value: id * 10 }).then(
      (r) => Array.from(r.twice),
      (e: Error) => e.message,
    ),
  );
  assert.equal(worker.inHand, 3);
  await worker.close();
  assert.deepEqual(await Promise.all(asked), [[20], 'no such photo', [60]], 'in order; the failure and the rest');
  assert.equal(worker.inHand, 0);
  await assert.rejects(worker.request({ value: 1 }), /^Error: echo worker exited \(code 0\)$/);
});
