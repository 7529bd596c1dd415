import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fetchFile } from '../lib/2-embed/fetch.js';
import { FluxError } from '../lib/util/check.js';
import { tempDir } from './helpers.js';

// a deterministic 3 MB "model" served on loopback, with and without HTTP range support
const BODY = Buffer.alloc(3 * 1024 * 1024);
for (let i = 0; i < BODY.length; i++) BODY[i] = (i * 2654435761) >>> 24;
const SHA = createHash('sha256').update(BODY).digest('hex');
const work = tempDir('fetch');
let server: Server;
let base = '';
const requests: Array<{ url: string; range: string | undefined }> = [];

before(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    if (req.url === '/missing') {
      res.writeHead(404);
      res.end();
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && req.url === '/model.onnx') {
      const start = Number(m[1]);
      res.writeHead(206, {
        'Content-Length': BODY.length - start,
        'Content-Range': `bytes ${start}-${BODY.length - 1}/${BODY.length}`,
      });
      res.end(BODY.subarray(start));
      return;
    }
    res.writeHead(200, { 'Content-Length': BODY.length });
    res.end(BODY);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  work.cleanup();
});

test('downloads, verifies the sha256 and reports rising progress', async () => {
  const events: number[] = [];
  const dest = join(work.dir, 'a', 'model.onnx');
  const r = await fetchFile({ url: `${base}/model.onnx`, dest, sha256: SHA, onProgress: (e) => events.push(e.done) });
  assert.deepEqual([r.sha256, r.bytes, r.resumed, r.alreadyPresent], [SHA, BODY.length, false, false]);
  assert.ok(readFileSync(dest).equals(BODY));
  assert.equal(existsSync(`${dest}.part`), false);
  assert.ok(
    events.every((v, i) => i === 0 || v >= (events[i - 1] as number)),
    'monotonic',
  );
  assert.equal(events.at(-1), BODY.length);
});

test('a present file with the right hash makes no request', async () => {
  const dest = join(work.dir, 'a', 'model.onnx');
  const n = requests.length;
  const r = await fetchFile({ url: `${base}/model.onnx`, dest, sha256: SHA });
  assert.equal(r.alreadyPresent, true);
  assert.equal(requests.length, n);
});

test('resumes a partial download with a Range request', async () => {
  const dest = join(work.dir, 'b', 'model.onnx');
  await fetchFile({ url: `${base}/missing`, dest, sha256: SHA }).catch(() => undefined);
  writeFileSync(`${dest}.part`, BODY.subarray(0, 1024 * 1024));
  const r = await fetchFile({ url: `${base}/model.onnx`, dest, sha256: SHA });
  assert.equal(requests.at(-1)?.range, 'bytes=1048576-');
  assert.equal(r.resumed, true);
  assert.ok(readFileSync(dest).equals(BODY));
});

test('a server that ignores ranges still yields the right file', async () => {
  const dest = join(work.dir, 'c', 'model.onnx');
  await fetchFile({ url: `${base}/missing`, dest, sha256: SHA }).catch(() => undefined);
  writeFileSync(`${dest}.part`, BODY.subarray(0, 5000));
  const r = await fetchFile({ url: `${base}/norange/model.onnx`, dest, sha256: SHA });
  assert.equal(r.resumed, false);
  assert.equal(r.sha256, SHA);
});

test('a hash mismatch deletes the download and names both hashes', async () => {
  const dest = join(work.dir, 'd', 'model.onnx');
  const wrong = '0'.repeat(64);
  await assert.rejects(
    fetchFile({ url: `${base}/model.onnx`, dest, sha256: wrong }),
    (e: Error) => e instanceof FluxError && e.message.includes(wrong) && e.message.includes(SHA),
  );
  assert.equal(existsSync(dest), false);
  assert.equal(existsSync(`${dest}.part`), false);
});

test('offline and HTTP errors say what failed', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  closed.close();
  await assert.rejects(
    fetchFile({ url: `http://127.0.0.1:${port}/m.onnx`, dest: join(work.dir, 'e', 'm.onnx'), sha256: SHA }),
    (e: Error) => e instanceof FluxError && /offline/.test(e.message) && e.message.includes(`127.0.0.1:${port}/m.onnx`),
  );
  await assert.rejects(
    fetchFile({ url: `${base}/missing`, dest: join(work.dir, 'f', 'm.onnx'), sha256: SHA }),
    /HTTP 404/,
  );
});
