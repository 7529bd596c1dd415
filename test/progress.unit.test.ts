import assert from 'node:assert/strict';
import { test } from 'node:test';
import { printable, problemLine } from '../lib/cli/errors.js';
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

test('a file name with a newline or a terminal escape in it is listed on one line, the characters as escapes', () => {
  const line = problemLine({
    kind: 'error',
    root: 'originals',
    path: '2024/a\nb\u001b[2J.JPG',
    stage: 'decode',
    message: 'cannot decode JPEG: truncated',
  });
  assert.equal(line, 'not indexed: originals/2024/a\\u000ab\\u001b[2J.JPG: decode: cannot decode JPEG: truncated');
  assert.equal(printable('Zoë – café'), 'Zoë – café', 'other text as it is');
});
