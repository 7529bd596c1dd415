/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Db } from '../lib/db/duckdb.js';
import { decisionLabels, DECISION_WEIGHTS, recordDecision } from '../lib/db/decisions.js';
import { portalNoteFile } from '../lib/db/busy.js';
import { score } from '../lib/6-score/score.js';
import { train } from '../lib/5-rank/train.js';
import { startPortal, type Portal } from '../lib/portal/server.js';
import type { SampleResult } from '../lib/0-sample/generate.js';
import { matchedSmallSample, PROJECT, tempDir } from './helpers.js';

const work = tempDir('portal');
const FLUX = join(PROJECT, 'dist', 'lib', 'cli', 'flux.js');
let sample: SampleResult;
let dbFile: string;
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  work.cleanup();
});

before(async () => {
  ({ sample, dbFile } = await matchedSmallSample(work.dir));
  await train({ db: dbFile, arch: 'logistic', modelsDir: join(work.dir, 'models'), resamples: 10, hyper: { epochs: 2 }, skipPhotoSplit: true, score: false });
  await score({ db: dbFile, inbox: sample.inbox });
  // a burst: the first three inbox frames one second apart
  const db = await Db.open(dbFile);
  try {
    await db.run(`UPDATE inbox_photos SET captured_at = (SELECT min(captured_at) FROM inbox_photos) + to_seconds(n - 1)
      FROM (SELECT inbox_id AS id, row_number() OVER (ORDER BY captured_at, inbox_id) AS n FROM inbox_photos) o
      WHERE o.id = inbox_photos.inbox_id AND o.n <= 3`);
  } finally {
    db.close();
  }
});

/** Reads the database in this process (the portal holds it only per request). */
async function query<T extends object>(sql: string, params: Array<string | number> = []): Promise<T[]> {
  const db = await Db.open(dbFile, { waitMs: 3000 });
  try {
    return await db.all<T>(sql, params);
  } finally {
    db.close();
  }
}

interface Reply { status: number; body: string; json: () => unknown; type: string }
/** A raw HTTP request (node:http sends the path as given, so encoded traversal reaches the server as typed). */
function http(url: string, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, method: options.method ?? 'GET', path: options.path, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        ok({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body), type: String(res.headers['content-type']) });
      });
    });
    req.on('error', fail);
    req.end(options.body);
  });
}
const post = (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> =>
  http(url, { method: 'POST', path: '/api/decisions', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

type Item = { photo_id: number; path: string; keeper_score: number | null; band: string; burst: number; burst_size: number; burst_rank: number; stack?: Item[] };

test('API: the inbox by score with bands, decisions validated, committed and one per photo, previews by id only', async () => {
  const portal = await startPortal({ db: dbFile, port: 0 });
  try {
    assert.match(portal.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(portal.warnings.length, 0);
    const first = await http(portal.url, { path: '/api/inbox?limit=1000' });
    assert.equal(first.status, 200, first.body);
    const inbox = first.json() as { total: number; items: Item[] };
    const expected = await query<{ n: number }>('SELECT count(*) AS n FROM inbox_photos');
    assert.equal(inbox.total, expected[0]?.n);
    assert.equal(inbox.items.length, inbox.total);
    const scores = inbox.items.map((i) => i.keeper_score ?? -1);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'by keeper score, highest first');
    const db = await query<{ path: string; keeper_score: number | null; band: string }>('SELECT path, keeper_score, band FROM inbox_scores');
    for (const item of inbox.items) {
      const row = db.find((r) => r.path === item.path);
      assert.equal(item.keeper_score, row?.keeper_score ?? null, item.path);
      assert.equal(item.band, row?.band ?? 'unscored', item.path);
      if (item.keeper_score !== null) assert.ok(item.keeper_score >= 0 && item.keeper_score <= 1);
    }
    // paging: limit and offset cut the same order
    const second = (await http(portal.url, { path: '/api/inbox?limit=2&offset=2' })).json() as { items: Item[] };
    assert.deepEqual(second.items.map((i) => i.photo_id), inbox.items.slice(2, 4).map((i) => i.photo_id));
    // the planted burst: three frames, listed once when stacked, its best-scored frame on top
    const burst = inbox.items.filter((i) => i.burst_size === 3);
    assert.equal(burst.length, 3);
    const best = [...burst].sort((a, b) => (b.keeper_score ?? -1) - (a.keeper_score ?? -1))[0] as Item;
    assert.ok(burst.every((i) => i.burst === best.photo_id));
    const stacked = (await http(portal.url, { path: '/api/inbox?limit=1000&stacks=1' })).json() as { total: number; items: Item[] };
    assert.equal(stacked.total, inbox.total - 2);
    const top = stacked.items.find((i) => i.photo_id === best.photo_id);
    assert.equal(top?.stack?.length, 2);
    // decisions
    const target = inbox.items[0] as Item;
    const ok = await post(portal.url, { photo_id: target.photo_id, decision: 'keep' });
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(await query('SELECT decision FROM review_decisions WHERE photo_id = ?', [target.photo_id]), [{ decision: 'keep' }], 'committed before the answer');
    const unknownPhoto = await post(portal.url, { photo_id: 12345, decision: 'keep' });
    assert.equal(unknownPhoto.status, 400);
    assert.match(String((unknownPhoto.json() as { error: string }).error), /no inbox photo 12345/);
    const unknownDecision = await post(portal.url, { photo_id: target.photo_id, decision: 'maybe' });
    assert.equal(unknownDecision.status, 400);
    assert.match(String((unknownDecision.json() as { error: string }).error), /decision: expected one of keep, reject, received "maybe"/);
    const foreign = await post(portal.url, { photo_id: target.photo_id, decision: 'reject' }, { origin: 'http://evil.example' });
    assert.equal(foreign.status, 403);
    const own = `localhost:${portal.port}`;
    const sameSite = await post(portal.url, { photo_id: target.photo_id, decision: 'reject' }, { origin: `http://${own}`, host: own });
    assert.equal(sameSite.status, 200, 'the portal under its other loopback name is itself');
    const crossName = await post(portal.url, { photo_id: target.photo_id, decision: 'keep' }, { origin: `http://${own}` });
    assert.equal(crossName.status, 403, 'another origin than the page asked is refused');
    const rebinding = await http(portal.url, { path: '/api/inbox', headers: { host: `evil.example:${portal.port}` } });
    assert.equal(rebinding.status, 403);
    // double clicks and concurrent posts: one row per photo, the last one answered
    const other = inbox.items[1] as Item;
    let t0 = performance.now();
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => post(portal.url, { photo_id: other.photo_id, decision: i % 2 ? 'keep' : 'reject' })));
    assert.ok(replies.every((r) => r.status === 200));
    console.log(`12 posts ${(performance.now() - t0).toFixed(0)} ms`);
    t0 = performance.now();
    const rows = await query<{ n: number }>('SELECT count(*) AS n FROM review_decisions WHERE photo_id = ?', [other.photo_id]);
    assert.equal(rows[0]?.n, 1);
    const listed = (await http(portal.url, { path: '/api/decisions' })).json() as { items: Array<{ photo_id: number; decision: string; decided_at: string }> };
    assert.deepEqual(listed.items.map((d) => d.photo_id).sort(), [target.photo_id, other.photo_id].sort());
    assert.equal(listed.items.find((d) => d.photo_id === target.photo_id)?.decision, 'reject', 'the latest decision');
    assert.ok(listed.items.every((d) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(d.decided_at)));
    // previews: by id; traversal and junk are refused
    const pv = await http(portal.url, { path: `/api/photos/${target.photo_id}/preview` });
    assert.equal(pv.status, 200);
    assert.equal(pv.type, 'image/jpeg');
    for (const path of ['/api/photos/..%2F..%2Fflux.duckdb/preview', '/api/photos/../../etc/passwd/preview', '/api/photos/%2e%2e%2fetc/preview',
      `/api/photos/${target.photo_id}%2F..%2F..%2Fflux.duckdb/preview`, '/api/photos/1/preview', '/static/..%2Fserver.js', '/static/../../package.json']) {
      const r = await http(portal.url, { path });
      assert.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status}`);
      assert.ok(!r.type.startsWith('image/') && !r.body.includes('DuckDB'), path);
    }
  } finally {
    await portal.close();
  }
  assert.ok(!existsSync(portalNoteFile(dbFile)), 'the note is gone when the portal stops');
});
