import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  checkWritableDir,
  fileInTheWay,
  makeDir,
  walk,
  writeFileAtomic,
  type WalkProblem,
} from '../lib/util/fsutil.js';
import { FluxError } from '../lib/util/check.js';
import { problemLine } from '../lib/cli/errors.js';
import { printable } from '../lib/util/text.js';
import { progressBar } from '../lib/cli/progress-bar.js';

test('without a terminal a long stage writes a line at least every interval, besides its start and end', () => {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    // a clock of our own: the interval passes when the test says so, not when a loaded machine pauses
    let t = 1_000;
    const bar = progressBar({ quiet: true, everyMs: 30, now: () => t });
    bar({ stage: 'ingest originals', done: 0, total: 400 });
    t += 29;
    bar({ stage: 'ingest originals', done: 10, total: 400 });
    t += 11;
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

test('file and folder names that are not UTF-8 are each named as a problem, not merged or lost as unreadable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flux-names-'));
  try {
    const bytes = (s: string, b: number): Buffer => Buffer.concat([Buffer.from(join(dir, s)), Buffer.from([b])]);
    writeFileSync(Buffer.concat([bytes('bad', 0xff), Buffer.from('.JPG')]), 'x');
    writeFileSync(Buffer.concat([bytes('bad', 0xfe), Buffer.from('.JPG')]), 'x');
    mkdirSync(bytes('day', 0xe9));
    writeFileSync(join(dir, 'café.JPG'), 'x');
    const problems: WalkProblem[] = [];
    const files = walk(dir, problems);
    assert.deepEqual(
      files.map((f) => f.path),
      ['café.JPG'],
    );
    assert.deepEqual(
      problems.map((p) => [p.path, p.kind]),
      [
        ['bad\\xfe.JPG', 'bad name'],
        ['bad\\xff.JPG', 'bad name'],
        ['day\\xe9/', 'bad name'],
      ],
    );
    assert.match(problems[2]?.reason ?? '', /folder name is not valid UTF-8, so it is not indexed, nor anything in it/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a walk reports each folder it lists, and the root's folders walked of all of them", () => {
  const dir = mkdtempSync(join(tmpdir(), 'flux-walk-'));
  try {
    for (const [day, n] of [
      ['2022/2022-01/2022-01-15', 3],
      ['2022/2022-02/2022-02-01', 2],
      ['2023/2023-05/2023-05-09', 4],
    ] as const) {
      mkdirSync(join(dir, day), { recursive: true });
      for (let i = 0; i < n; i++) writeFileSync(join(dir, day, `R000${i}.JPG`), 'x');
    }
    writeFileSync(join(dir, 'notes.txt'), 'x');
    // a top folder whose name is not UTF-8 is passed over: no unit of progress, so the walk still ends at 2 of 2
    mkdirSync(Buffer.concat([Buffer.from(join(dir, 'year')), Buffer.from([0xe9])]));
    const seen: Array<[number, number, number, string]> = [];
    const files = walk(dir, [], (p) => seen.push([p.done, p.total, p.files, p.folder]));
    assert.equal(files.length, 10);
    assert.deepEqual(seen, [
      [0, 2, 0, ''],
      [0, 2, 0, '2022'],
      [0, 2, 0, '2022/2022-01'],
      [0, 2, 0, '2022/2022-01/2022-01-15'],
      [0, 2, 3, '2022/2022-02'],
      [0, 2, 3, '2022/2022-02/2022-02-01'],
      [1, 2, 5, '2022'],
      [1, 2, 5, '2023'],
      [1, 2, 5, '2023/2023-05'],
      [1, 2, 5, '2023/2023-05/2023-05-09'],
      [2, 2, 9, '2023'],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a write the system refuses is a FluxError naming the path and why in words, and leaves no file behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flux-write-'));
  try {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'in the way');
    const refused = (work: () => void, message: string): void =>
      assert.throws(work, (e: Error) => e instanceof FluxError && e.message === message);
    refused(
      () => writeFileAtomic(join(file, 'sub', 'x.csv'), 'a'),
      `cannot write ${file}/sub/x.csv: ${file} is a file, not a folder`,
    );
    refused(
      () => writeFileAtomic(join(file, 'x.csv'), 'a'),
      `cannot write ${file}/x.csv: ${file} is a file, not a folder`,
    );
    // a folder where the file goes: the rename fails after the temporary file was written, and that is removed
    mkdirSync(join(dir, 'folder', 'inside'), { recursive: true });
    refused(
      () => writeFileAtomic(join(dir, 'folder'), 'a', { durable: true }),
      `cannot write ${dir}/folder: it is a folder`,
    );
    assert.deepEqual(readdirSync(dir).sort(), ['a-file', 'folder']);
    assert.equal(readFileSync(file, 'utf8'), 'in the way');
    refused(() => writeFileAtomic('/sys/flux-x.csv', 'a'), 'cannot write /sys/flux-x.csv: permission denied');
    refused(
      () => makeDir('--out', join(file, 'sub')),
      `--out: cannot make the folder ${file}/sub: ${file} is a file, not a folder`,
    );
    refused(() => makeDir('--out', file), `--out: cannot make the folder ${file}: it is a file, not a folder`);
    refused(() => makeDir('--db', '/sys/flux-x'), '--db: cannot make the folder /sys/flux-x: operation not permitted');
    // an output folder checked before a long job says why in the same words, then what to do
    refused(
      () => checkWritableDir('--models-dir', join(file, 'models'), 'choose another'),
      `--models-dir: cannot make the folder ${file}/models: ${file} is a file, not a folder; choose another`,
    );
    refused(
      () => checkWritableDir('--models-dir', '/sys/flux-x', 'choose another'),
      '--models-dir: cannot make the folder /sys/flux-x: operation not permitted; choose another',
    );
    assert.equal(checkWritableDir('--models-dir', join(dir, 'models')), join(dir, 'models'));
    // the file in the way of a path, wherever on the way it stands, and none where a folder or nothing stands
    assert.equal(fileInTheWay(join(file, 'a', 'b')), file);
    assert.equal(fileInTheWay(file), file);
    assert.equal(fileInTheWay(join(dir, 'not-yet', 'b')), null);
    // a write that works still works, through a folder it makes
    writeFileAtomic(join(dir, 'new', 'ok.txt'), 'fine');
    assert.equal(readFileSync(join(dir, 'new', 'ok.txt'), 'utf8'), 'fine');
    assert.deepEqual(readdirSync(join(dir, 'new')), ['ok.txt']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
