import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressBar } from '../lib/cli/progress-bar.js';

test('without a terminal a long stage writes a line at least every interval, besides its start and end', async () => {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const bar = progressBar({ quiet: true, everyMs: 30 });
    bar({ stage: 'ingest originals', done: 0, total: 400 });
    bar({ stage: 'ingest originals', done: 10, total: 400 });
    await new Promise((r) => setTimeout(r, 40));
    bar({ stage: 'ingest originals', done: 200, total: 400 });
    bar({ stage: 'ingest originals', done: 210, total: 400 });
    bar({ stage: 'ingest originals', done: 400, total: 400 });
    bar({ stage: 'embed', done: 0, total: 3 });
    bar.stop();
  } finally {
    process.stderr.write = write;
  }
  assert.deepEqual(lines, [
    'ingest originals: 0/400\n',
    'ingest originals: 200/400 (50%)\n',
    'ingest originals: 400/400\n',
    'embed: 0/3\n',
  ]);
});
