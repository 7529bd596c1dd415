/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import sharp from 'sharp';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Db, withDb } from '../lib/db/duckdb.js';
import {
  decisionLabels,
  DECISION_WEIGHTS,
  ensureDecisionSchema,
  readSurfaceCalibration,
  recordDecision,
} from '../lib/db/decisions.js';
import { portalNoteFile } from '../lib/db/busy.js';
import { startPortal, type Portal } from '../lib/portal/server.js';
import { fitSurfaceThreshold, writeSurfaceCalibration } from '../lib/portal/threshold.js';
import { ensureSchema } from '../lib/db/schema.js';
import type { SampleResult } from '../lib/0-sample/generate.js';
import { scoreText } from '../lib/6-score/inbox-page.js';
import { PROJECT, scoredSmallSample, snapshot, tempDir } from './helpers.js';

const work = tempDir('portal');
const EVIL = `new/<img id="evil" src=x onerror="document.title='owned'"> & 'q'.JPG`;
const FLUX = join(PROJECT, 'dist', 'lib', 'cli', 'flux.js');
let sample: SampleResult;
let dbFile: string;
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  work.cleanup();
});

before(async () => {
  ({ sample, dbFile } = await scoredSmallSample(work.dir));
  // a burst: the first three inbox frames one second apart
  const db = await Db.open(dbFile);
  try {
    await db.run(`UPDATE inbox_photos SET captured_at = (SELECT min(captured_at) FROM inbox_photos) + to_seconds(n - 1)
      FROM (SELECT inbox_id AS id, row_number() OVER (ORDER BY captured_at, inbox_id) AS n FROM inbox_photos) o
      WHERE o.id = inbox_photos.inbox_id AND o.n <= 3`);
    // a hostile file name in the inbox (the last frame): shown as text, never markup
    const last = await db.value<string>('SELECT max(path) FROM inbox_photos');
    for (const table of ['inbox_photos', 'inbox_scores']) {
      await db.run(`UPDATE ${table} SET path = ? WHERE path = ?`, [EVIL, last]);
    }
  } finally {
    db.close();
  }
});

/** Reads the database in this process (the portal holds it only per request). */
async function queryDb<T extends object>(sql: string, params: Array<string | number> = []): Promise<T[]> {
  const db = await Db.open(dbFile, { waitMs: 3000 });
  try {
    return await db.all<T>(sql, params);
  } finally {
    db.close();
  }
}

interface Reply {
  status: number;
  body: string;
  /** The body's bytes (an image's). */
  raw: Buffer;
  json: () => unknown;
  type: string;
}
/** A raw HTTP request (node:http sends the path as given, so encoded traversal reaches the server as typed). */
function http(
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<Reply> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request(
      { host: u.hostname, port: u.port, method: options.method ?? 'GET', path: options.path, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const body = raw.toString('utf8');
          ok({
            status: res.statusCode ?? 0,
            body,
            raw,
            json: () => JSON.parse(body),
            type: String(res.headers['content-type']),
          });
        });
      },
    );
    req.on('error', fail);
    req.end(options.body);
  });
}
const post = (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> =>
  http(url, {
    method: 'POST',
    path: '/api/decisions',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

type Item = {
  photo_id: number;
  path: string;
  keeper_score: number | null;
  band: string;
  burst: number;
  burst_size: number;
  burst_rank: number;
  stack?: Item[];
};

/** A portal in this process; `query` reads the file once the portal lets go (DuckDB does not lock in a process). */
async function inProcess(work: (portal: Portal, query: typeof queryDb) => Promise<void>): Promise<void> {
  const portal = await startPortal({ db: dbFile, port: 0 });
  const query = async <T extends object>(sql: string, params: Array<string | number> = []): Promise<T[]> => {
    await portal.release();
    return queryDb<T>(sql, params);
  };
  try {
    await work(portal, query);
  } finally {
    await portal.close();
  }
  assert.ok(!existsSync(portalNoteFile(dbFile)), 'the note is gone when the portal stops');
}

const inboxItems = async (
  portal: Portal,
  path = '/api/inbox?limit=1000',
): Promise<{ total: number; items: Item[] }> => {
  const r = await http(portal.url, { path });
  assert.equal(r.status, 200, r.body);
  return r.json() as { total: number; items: Item[] };
};

test('API: the inbox by keeper score with bands, paged, bursts stacked, filtered by day and band', () =>
  inProcess(async (portal, query) => {
    assert.match(portal.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(portal.warnings.length, 0);
    const first = await http(portal.url, { path: '/api/inbox?limit=1000' });
    assert.equal(first.status, 200, first.body);
    const inbox = first.json() as { total: number; items: Item[] };
    const expected = await query<{ n: number }>('SELECT count(*) AS n FROM inbox_photos');
    assert.equal(inbox.total, expected[0]?.n);
    assert.equal(inbox.items.length, inbox.total);
    const scores = inbox.items.map((i) => i.keeper_score ?? -1);
    assert.deepEqual(
      scores,
      [...scores].sort((a, b) => b - a),
      'by keeper score, highest first',
    );
    const db = await query<{ path: string; keeper_score: number | null; band: string }>(
      'SELECT path, keeper_score, band FROM inbox_scores',
    );
    for (const item of inbox.items) {
      const row = db.find((r) => r.path === item.path);
      assert.equal(item.keeper_score, row?.keeper_score ?? null, item.path);
      assert.equal(item.band, row?.band ?? 'unscored', item.path);
      if (item.keeper_score !== null) assert.ok(item.keeper_score >= 0 && item.keeper_score <= 1);
    }
    // paging: limit and offset cut the same order
    const second = (await http(portal.url, { path: '/api/inbox?limit=2&offset=2' })).json() as { items: Item[] };
    assert.deepEqual(
      second.items.map((i) => i.photo_id),
      inbox.items.slice(2, 4).map((i) => i.photo_id),
    );
    // the planted burst: three frames, listed once when stacked, its best-scored frame on top
    const burst = inbox.items.filter((i) => i.burst_size === 3);
    assert.equal(burst.length, 3);
    const best = [...burst].sort((a, b) => (b.keeper_score ?? -1) - (a.keeper_score ?? -1))[0] as Item;
    assert.ok(burst.every((i) => i.burst === best.photo_id));
    const stacked = (await http(portal.url, { path: '/api/inbox?limit=1000&stacks=1' })).json() as {
      total: number;
      items: Item[];
    };
    assert.equal(stacked.total, inbox.total - 2);
    const top = stacked.items.find((i) => i.photo_id === best.photo_id);
    assert.equal(top?.stack?.length, 2);
    // filters: a day, a band; junk refused
    const day = (
      await query<{ d: string }>('SELECT CAST(min(CAST(captured_at AS DATE)) AS VARCHAR) AS d FROM inbox_photos')
    )[0]?.d;
    const byDay = await inboxItems(portal, `/api/inbox?limit=1000&day=${day}`);
    assert.equal(byDay.total, inbox.items.filter((i) => (i as Item & { day: string }).day === day).length);
    const band = (inbox.items[0] as Item).band;
    const byBand = await inboxItems(portal, `/api/inbox?limit=1000&band=${band}`);
    assert.deepEqual(
      byBand.items.map((i) => i.photo_id),
      inbox.items.filter((i) => i.band === band).map((i) => i.photo_id),
    );
    // each score as the pages show it: a score just under 1 is not the 1.00 of a confirmed keeper
    for (const item of inbox.items)
      assert.equal(
        (item as Item & { score_text: string }).score_text,
        item.keeper_score === null ? '–' : scoreText(item.keeper_score),
        item.path,
      );
    for (const junk of [
      'day=yesterday',
      'day=2024-13-45',
      'day=2023-02-29',
      'band=%3Cb%3E',
      'limit=-1',
      'limit=100000',
    ]) {
      const r = await http(portal.url, { path: `/api/inbox?${junk}` });
      assert.equal(r.status, 400, junk);
    }
  }));

test('API: decisions checked, committed, one per photo; other sites refused; previews by id only', () =>
  inProcess(async (portal, query) => {
    const inbox = await inboxItems(portal);
    const target = inbox.items[0] as Item;
    const ok = await post(portal.url, { photo_id: target.photo_id, decision: 'keep' });
    assert.equal(ok.status, 200, ok.body);
    assert.equal((ok.json() as { previous: string | null }).previous, null, 'nothing replaced');
    assert.deepEqual(
      await query('SELECT decision FROM review_decisions WHERE photo_id = ?', [target.photo_id]),
      [{ decision: 'keep' }],
      'committed before the answer',
    );
    const unknownPhoto = await post(portal.url, { photo_id: 12345, decision: 'keep' });
    assert.equal(unknownPhoto.status, 400);
    assert.match(String((unknownPhoto.json() as { error: string }).error), /no inbox photo 12345/);
    const unknownDecision = await post(portal.url, { photo_id: target.photo_id, decision: 'maybe' });
    assert.equal(unknownDecision.status, 400);
    assert.match(
      String((unknownDecision.json() as { error: string }).error),
      /decision: expected one of keep, reject, received "maybe"/,
    );
    const foreign = await post(
      portal.url,
      { photo_id: target.photo_id, decision: 'reject' },
      { origin: 'http://evil.example' },
    );
    assert.equal(foreign.status, 403);
    const own = `localhost:${portal.port}`;
    const sameSite = await post(
      portal.url,
      { photo_id: target.photo_id, decision: 'reject' },
      { origin: `http://${own}`, host: own },
    );
    assert.equal(sameSite.status, 200, 'the portal under its other loopback name is itself');
    assert.equal((sameSite.json() as { previous: string }).previous, 'keep', 'the decision replaced, for an undo');
    const crossName = await post(
      portal.url,
      { photo_id: target.photo_id, decision: 'keep' },
      { origin: `http://${own}` },
    );
    assert.equal(crossName.status, 403, 'another origin than the page asked is refused');
    const rebinding = await http(portal.url, { path: '/api/inbox', headers: { host: `evil.example:${portal.port}` } });
    assert.equal(rebinding.status, 403);
    // a page of another site cannot make the portal refit or compute by an image or a link: only the portal can
    const refit = (site?: string): Promise<Reply> =>
      http(portal.url, { path: '/api/threshold', headers: site ? { 'sec-fetch-site': site } : {} });
    assert.deepEqual(
      [(await refit('cross-site')).status, (await refit('same-site')).status, (await refit('same-origin')).status],
      [403, 403, 200],
    );
    const junkUrl = await http(portal.url, { path: '//[' });
    assert.equal(junkUrl.status, 400, junkUrl.body);
    // double clicks and concurrent posts: one row per photo, the last one answered
    const other = inbox.items[1] as Item;
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        post(portal.url, { photo_id: other.photo_id, decision: i % 2 ? 'keep' : 'reject' }),
      ),
    );
    assert.ok(replies.every((r) => r.status === 200));
    const rows = await query<{ n: number }>('SELECT count(*) AS n FROM review_decisions WHERE photo_id = ?', [
      other.photo_id,
    ]);
    assert.equal(rows[0]?.n, 1);
    const listed = (await http(portal.url, { path: '/api/decisions' })).json() as {
      items: Array<{ photo_id: number; decision: string; decided_at: string }>;
    };
    assert.deepEqual(listed.items.map((d) => d.photo_id).sort(), [target.photo_id, other.photo_id].sort());
    assert.equal(listed.items.find((d) => d.photo_id === target.photo_id)?.decision, 'reject', 'the latest decision');
    assert.ok(listed.items.every((d) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(d.decided_at)));
    // previews: by id; traversal and junk are refused
    const pv = await http(portal.url, { path: `/api/photos/${target.photo_id}/preview` });
    assert.equal(pv.status, 200);
    assert.equal(pv.type, 'image/jpeg');
    for (const path of [
      '/api/photos/..%2F..%2Fflux.duckdb/preview',
      '/api/photos/../../etc/passwd/preview',
      '/api/photos/%2e%2e%2fetc/preview',
      `/api/photos/${target.photo_id}%2F..%2F..%2Fflux.duckdb/preview`,
      '/api/photos/1/preview',
      '/static/..%2Fserver.js',
      '/static/../../package.json',
    ]) {
      const r = await http(portal.url, { path });
      assert.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status}`);
      assert.ok(!r.type.startsWith('image/') && !r.body.includes('DuckDB'), path);
    }
    // the larger view: the photo's own file, read by id, upright, no larger than it is (the sample's are small)
    const large = await http(portal.url, { path: `/api/photos/${target.photo_id}/large` });
    assert.equal(large.type, 'image/jpeg');
    const file = join(sample.inbox, target.path);
    const [original, shown] = await Promise.all([sharp(file).metadata(), sharp(large.raw).metadata()]);
    assert.deepEqual([shown.width, shown.height], [original.width, original.height]);
    assert.equal((await http(portal.url, { path: '/api/photos/987654321/large' })).status, 404);
    // the icon every page is asked for: an empty answer, not an error in the browser's console
    const icon = await http(portal.url, { path: '/favicon.ico' });
    assert.deepEqual([icon.status, icon.body], [204, '']);
  }));

test('on every address the portal answers to its own names only; an empty --host is refused', async () => {
  await assert.rejects(startPortal({ db: dbFile, port: 0, host: ' ' }), /--host: empty/);
  const portal = await startPortal({ db: dbFile, port: 0, host: '0.0.0.0' });
  try {
    assert.match(portal.warnings.join(' '), /reachable from other machines/);
    const at = async (host: string): Promise<number> =>
      (await http(portal.url, { path: '/api/inbox?limit=0', headers: { host } })).status;
    // a name of another site pointed at this machine (DNS rebinding) is refused; this machine's own are answered
    assert.deepEqual(
      [
        await at(`evil.example:${portal.port}`),
        await at(`127.0.0.1:${portal.port}`),
        await at(`localhost:${portal.port}`),
      ],
      [403, 200, 200],
    );
    assert.equal(await at(`${hostname()}:${portal.port}`.toLowerCase()), 200, 'the machine by its name');
  } finally {
    await portal.close();
  }
});

/** Starts `flux serve` in a child process and resolves with its printed URL. */
async function serve(args: string[] = []): Promise<{ child: ChildProcess; url: string; out: () => string }> {
  const child = spawn(process.execPath, [FLUX, 'serve', '--db', dbFile, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const url = await new Promise<string>((ok, fail) => {
    const timer = setInterval(() => {
      const m = /FLUX review portal: (http:\/\/\S+\/) /.exec(out);
      if (m) {
        clearInterval(timer);
        ok(m[1] as string);
      }
      if (child.exitCode !== null) {
        clearInterval(timer);
        fail(new Error(`flux serve exited: ${out}`));
      }
    }, 20);
  });
  return { child, url, out: () => out };
}

const query = queryDb;

/** The photographer's decisions as stored: photo id -> keep | reject. */
const storedDecisions = async (): Promise<Record<number, string>> =>
  Object.fromEntries(
    (await query<{ id: number; d: string }>('SELECT photo_id AS id, decision AS d FROM review_decisions')).map((r) => [
      r.id,
      r.d,
    ]),
  );

/** No decision yet: the state each inbox page test in Chromium starts from. */
const clearDecisions = (): Promise<unknown> =>
  withDb(dbFile, async (d) => {
    await ensureDecisionSchema(d);
    await d.run('DELETE FROM review_decisions');
  });

/** The inbox page when no request is in flight (`ready`: and its first page is drawn). */
const inboxIdle = (page: import('playwright-core').Page, ready = false): Promise<unknown> =>
  page.waitForFunction(
    (r) => (!r || document.body.dataset.ready === '1') && document.body.dataset.pending === '0',
    ready,
  );
const stop = (child: ChildProcess, signal: NodeJS.Signals): Promise<void> =>
  new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok();
    child.once('exit', () => ok());
    child.kill(signal);
  });

test('flux serve beside flux score: the command waits for the portal; a foreign holder gets a message', async () => {
  const portal = await serve();
  try {
    // the portal holds the file through a session: a request opens it
    assert.equal((await http(portal.url, { path: '/api/inbox?limit=1' })).status, 200);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [FLUX, 'score', '--db', dbFile], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(performance.now() - t0 < 30_000);
    // and the portal goes on answering afterwards
    const after = await post(portal.url, {
      photo_id: (await query<{ id: number }>('SELECT min(inbox_id) AS id FROM inbox_photos'))[0]?.id,
      decision: 'keep',
    });
    assert.equal(after.status, 200, after.body);
    // another process holding the file: the portal answers 503 with a message, and flux score stops at once
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { Db } from ${JSON.stringify(join(PROJECT, 'dist', 'lib', 'db', 'duckdb.js'))};
       const db = await Db.open(${JSON.stringify(dbFile)}, { waitMs: 5000 }); console.log('open');
       process.stdin.resume(); process.stdin.on('end', () => { db.close(); process.exit(0); });`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    children.push(holder);
    await new Promise<void>((ok) => holder.stdout?.once('data', () => ok()));
    const busy = await post(portal.url, { photo_id: 1, decision: 'keep' });
    assert.equal(busy.status, 503);
    assert.match(
      String((busy.json() as { error: string }).error),
      new RegExp(`is open in another process \\(pid ${holder.pid}\\).*nothing was saved`),
    );
    const t1 = performance.now();
    const blocked = spawnSync(process.execPath, [FLUX, 'score', '--db', dbFile], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(blocked.status, 1);
    assert.match(
      blocked.stderr,
      new RegExp(
        `^flux: --db: .*flux\\.duckdb is open in another process \\(pid ${holder.pid}\\): ` +
          'another flux command or a notebook',
      ),
    );
    assert.ok(!/IO Error|Could not set lock/.test(blocked.stderr), 'no raw lock error');
    assert.ok(performance.now() - t1 < 10_000, 'stops at once');
    await new Promise<void>((ok) => {
      holder.once('exit', () => ok());
      holder.stdin?.end();
    });
    // a second portal on the same database is refused, naming the first
    const second = spawnSync(process.execPath, [FLUX, 'serve', '--db', dbFile, '--port', '0'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(second.status, 1);
    assert.ok(second.stderr.includes(`a review portal already serves ${dbFile} at ${portal.url}`), second.stderr);
  } finally {
    for (const c of children) if (c !== portal.child) await stop(c, 'SIGKILL');
    await stop(portal.child, 'SIGTERM');
  }
  assert.ok(!existsSync(portalNoteFile(dbFile)));
  // another host is warned about
  const open = await serve(['--host', '0.0.0.0']);
  try {
    assert.match(open.out(), /flux: warning: --host 0\.0\.0\.0: the portal is reachable from other machines/);
    assert.match(open.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  } finally {
    await stop(open.child, 'SIGTERM');
  }
});

const CHROMIUM = '/usr/bin/chromium';
const noBrowser: string | false = existsSync(CHROMIUM)
  ? false
  : `needs Debian's chromium at ${CHROMIUM} (CI installs it)`;

/** Headless Debian Chromium, as root and without a GPU. */
async function launchChromium(): Promise<import('playwright-core').Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Opens `url` in Chromium and runs `work` on the page; any script error on the page fails the test. */
async function inChromium(url: string, work: (page: import('playwright-core').Page) => Promise<void>): Promise<void> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url);
    await work(page);
    assert.deepEqual(errors, [], 'no script error on the page');
  } finally {
    await browser.close();
  }
}

test(
  'inbox page in Chromium: keys decide, undo, bursts open, filters; kill -9 loses nothing; other sites refused',
  { skip: noBrowser },
  async () => {
    await clearDecisions();
    let portal = await serve();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      const ready = (): Promise<unknown> => inboxIdle(page, true);
      const idle = (): Promise<unknown> => inboxIdle(page);
      await page.goto(portal.url);
      await ready();
      const cards = (): Promise<Array<{ id: number; decision: string; current: boolean; frame: boolean }>> =>
        page.$$eval('.card', (els) =>
          els.map((e) => ({
            id: Number((e as HTMLElement).dataset.photoId),
            decision: (e as HTMLElement).dataset.decision ?? '',
            current: e.classList.contains('current'),
            frame: e.classList.contains('frame'),
          })),
        );
      const decisions = storedDecisions;
      const shown = await cards();
      const stacked = (await http(portal.url, { path: '/api/inbox?limit=1000&stacks=1' })).json() as {
        total: number;
        items: Item[];
      };
      assert.deepEqual(
        shown.map((c) => c.id),
        stacked.items.map((i) => i.photo_id),
        'cards in score order, one per burst',
      );
      assert.ok(shown[0]?.current);
      // Thumbnails arrive after the cards; wait for the first to decode rather than race it.
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll('.card img')].some(
            (i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0,
          ),
        undefined,
        { timeout: 15_000 },
      );
      const [a, b, c] = shown as [(typeof shown)[0], (typeof shown)[0], (typeof shown)[0]];
      await page.keyboard.press('p');
      await page.keyboard.press('x');
      await page.keyboard.press('x');
      await idle();
      assert.deepEqual(await decisions(), { [a.id]: 'keep', [b.id]: 'reject', [c.id]: 'reject' });
      await page.keyboard.press('u');
      await idle();
      assert.deepEqual(await decisions(), { [a.id]: 'keep', [b.id]: 'reject' }, 'undo withdraws the last decision');
      assert.ok((await cards()).find((x) => x.id === c.id)?.current, 'undo returns to the photo');
      // a decision changed: keep over reject, then undo restores the reject
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('p');
      await idle();
      assert.equal((await decisions())[b.id], 'keep');
      await page.keyboard.press('u');
      await idle();
      assert.equal((await decisions())[b.id], 'reject');
      const left = stacked.items.reduce((s, i) => s + 1 + (i.stack?.length ?? 0), 0) - 2;
      assert.equal(await page.textContent('#counter'), `2 decided · ${left} left · ${left + 2} photos`);
      // the burst opens under its best frame
      const burstTop = stacked.items.findIndex((i) => i.burst_size === 3);
      const pos = (await cards()).findIndex((x) => x.current);
      for (let i = pos; i < burstTop; i++) await page.keyboard.press('ArrowRight');
      for (let i = pos; i > burstTop; i--) await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('e');
      const opened = await cards();
      assert.equal(opened.length, shown.length + 2);
      assert.deepEqual(
        opened.slice(burstTop + 1, burstTop + 3).map((x) => x.frame),
        [true, true],
      );
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('x');
      await idle();
      const frameId = opened[burstTop + 1]?.id as number;
      assert.equal((await decisions())[frameId], 'reject', 'a frame of a burst is decided on its own');
      // undone with its burst closed: the burst opens at the frame, whose card shows no decision any more
      await page.keyboard.press('e');
      await page.keyboard.press('u');
      await idle();
      assert.equal((await decisions())[frameId], undefined);
      const undone = (await cards()).find((x) => x.id === frameId);
      assert.deepEqual([undone?.decision, undone?.current], ['', true], 'the closed frame undone, and shown');
      await page.keyboard.press('x');
      await idle();
      // kill -9 right after the answer, restart: every decision is there, and the page shows them
      await stop(portal.child, 'SIGKILL');
      const before = await decisions();
      assert.equal(Object.keys(before).length, 3);
      portal = await serve();
      await page.goto(portal.url);
      await ready();
      const again = await cards();
      assert.equal(await page.locator('#evil').count(), 0, 'the hostile name is no markup');
      assert.ok((await page.textContent('#grid'))?.includes(EVIL), 'the hostile name is shown as text');
      assert.notEqual(await page.title(), 'owned');
      for (const x of again) assert.equal(x.decision, before[x.id] ?? '', `photo ${x.id} after the restart`);
      assert.equal(await page.textContent('#counter'), `3 decided · ${left - 1} left · ${left + 2} photos`);
      // filter by band: only that band's photos
      const band = (stacked.items.at(-1) as Item).band;
      await page.selectOption('#band', band);
      await ready();
      const bands = await page.$$eval('.card figcaption b', (els) => els.map((e) => e.className));
      assert.ok(bands.length >= 1 && bands.every((cl) => cl === `band-${band}`), `${band}: ${bands.join(' ')}`);
      // another site cannot decide: a page elsewhere on this machine posting to the portal changes nothing
      const undecided = stacked.items.find((i) => !before[i.photo_id]) as Item;
      const site = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<p>elsewhere</p>');
      });
      await new Promise<void>((ok) => site.listen(0, '127.0.0.1', () => ok()));
      try {
        const other = await browser.newPage();
        await other.goto(`http://127.0.0.1:${(site.address() as { port: number }).port}/`);
        const kinds = await other.evaluate(
          async ({ u, id }) => {
            const body = JSON.stringify({ photo_id: id, decision: 'keep' });
            const simple = await fetch(`${u}api/decisions`, {
              method: 'POST',
              mode: 'no-cors',
              headers: { 'content-type': 'text/plain' },
              body,
            });
            const json = await fetch(`${u}api/decisions`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body,
            }).then(
              (r) => r.type,
              (e) => String(e),
            );
            return [simple.type, json];
          },
          { u: portal.url, id: undecided.photo_id },
        );
        assert.deepEqual(kinds, ['opaque', 'TypeError: Failed to fetch'], 'sent, and refused');
      } finally {
        site.close();
      }
      assert.deepEqual(await decisions(), before, 'nothing changed');
      const traversal = await page.goto(`${portal.url}api/photos/..%2F..%2Fflux.duckdb/preview`);
      assert.equal(traversal?.status(), 400);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await stop(portal.child, 'SIGTERM');
    }
  },
);

test(
  'inbox page in Chromium: a save that fails keeps its photo and message; nothing to undo; an undo the filters hide',
  { skip: noBrowser },
  async () => {
    await clearDecisions();
    // a second band, so that a filter can hide a photo: the lowest-scored one in another band for this test
    const [lowest] = await query<{ path: string; band: string }>(
      'SELECT path, band FROM inbox_scores ORDER BY keeper_score, path LIMIT 1',
    );
    const band = lowest?.band as string;
    const alone = band === 'unlikely' ? 'uncertain' : 'unlikely';
    const setBand = (to: string): Promise<unknown> =>
      withDb(dbFile, (d) => d.run('UPDATE inbox_scores SET band = ? WHERE path = ?', [to, lowest?.path]));
    await setBand(alone);
    const portal = await serve();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const idle = (): Promise<unknown> => inboxIdle(page);
      const ready = (): Promise<unknown> => inboxIdle(page, true);
      const current = (): Promise<number[]> =>
        page.$$eval('.card.current', (els) => els.map((e) => Number((e as HTMLElement).dataset.photoId)));
      const saved = storedDecisions;
      await page.goto(portal.url);
      await ready();
      await page.keyboard.press('u');
      await idle();
      assert.equal(await page.textContent('#status'), 'nothing to undo');
      // a save that fails (the database busy) keeps the cursor on its photo and its message up, and the presses
      // queued behind it (a decision, an undo) are dropped, not applied to that photo; the next press saves it
      const [first] = await current();
      const busyReply = { status: 503, contentType: 'application/json', body: '{"error":"busy: nothing was saved"}' };
      // the answer is held until the three keys are in, so all three were pressed before the failure was known
      let answer = (): void => undefined;
      const held = new Promise<void>((ok) => (answer = ok));
      await page.route('**/api/decisions', async (r) => {
        await held;
        await r.fulfill(busyReply);
      });
      await page.keyboard.press('p');
      await page.keyboard.press('x');
      await page.keyboard.press('u');
      answer();
      await idle();
      await page.unroute('**/api/decisions');
      assert.deepEqual(await current(), [first], 'the cursor stays on the photo not saved');
      assert.equal(await page.textContent('#status'), 'busy: nothing was saved');
      assert.deepEqual(await saved(), {}, 'nothing saved');
      await page.keyboard.press('x');
      await idle();
      assert.equal(await page.textContent('#status'), '');
      assert.deepEqual(await saved(), { [first as number]: 'reject' });
      assert.notDeepEqual(await current(), [first], 'saved, and on to the next photo');
      // Z: the photo under the cursor larger; the keys still move, and the view follows; Esc closes it
      const [second] = await current();
      await page.keyboard.press('z');
      await page.waitForFunction(() => {
        const img = document.getElementById('loupe-img') as HTMLImageElement;
        return !document.getElementById('loupe')?.hidden && img.complete && img.naturalWidth > 0;
      });
      assert.equal(await page.getAttribute('#loupe-img', 'src'), `/api/photos/${second}/large`);
      await page.keyboard.press('ArrowRight');
      const [third] = await current();
      assert.equal(await page.getAttribute('#loupe-img', 'src'), `/api/photos/${third}/large`);
      await page.keyboard.press('Escape');
      assert.equal(await page.isHidden('#loupe'), true);
      assert.equal(await page.getAttribute('.card.current', 'aria-selected'), 'true');
      assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('current')), true);
      await page.keyboard.press('ArrowLeft');
      // a decision undone under filters that hide its photo: undone, named, and the cursor on a shown card
      await page.selectOption('#band', alone);
      await ready();
      await page.keyboard.press('x');
      await idle();
      await page.selectOption('#band', band);
      await ready();
      await page.keyboard.press('u');
      await idle();
      assert.deepEqual(await saved(), { [first as number]: 'reject' }, 'undone');
      assert.match((await page.textContent('#status')) ?? '', /^undone: .* \(not shown under these filters\)$/);
      assert.equal((await current()).length, 1, 'a shown card under the cursor');
    } finally {
      await browser.close();
      await stop(portal.child, 'SIGTERM');
      await setBand(band);
    }
  },
);

test('decisions are labels: kept is a keeper of its day (weight 1), rejected a near-miss weighted most', async () => {
  const db = await Db.open(dbFile, { waitMs: 3000 });
  try {
    await ensureDecisionSchema(db);
    await db.run('DELETE FROM review_decisions');
    const [p, q] = await db.all<{ id: number; day: string }>(
      `SELECT inbox_id AS id, CAST(CAST(captured_at AS DATE) AS VARCHAR) AS day FROM inbox_photos
        ORDER BY inbox_id LIMIT 2`,
    );
    await recordDecision(db, (p as { id: number }).id, 'keep');
    await recordDecision(db, (q as { id: number }).id, 'reject');
    const labels = await decisionLabels(db);
    assert.deepEqual(
      [...labels.entries()].sort((x, y) => x[0] - y[0]),
      [
        [p?.id, { label: 1, weight: 1, decision: 'keep', day: p?.day }],
        [q?.id, { label: 0, weight: DECISION_WEIGHTS.reject, decision: 'reject', day: q?.day }],
      ],
    );
    assert.ok(DECISION_WEIGHTS.reject > DECISION_WEIGHTS.keep);
    await assert.rejects(recordDecision(db, 42, 'keep'), /photo_id: no inbox photo 42 in this database/);
  } finally {
    db.close();
  }
});

test('threshold: fitted on the decisions, the review load per 1,000, written for flux score', async () => {
  const db = await Db.open(':memory:');
  try {
    await ensureSchema(db);
    await ensureDecisionSchema(db);
    // 400 scored inbox photos, scores i/400; the photographer reviewed 100 of them (every fourth) and kept the
    // ones above 0.7, but not all, and a few below
    await db.run(
      `INSERT INTO inbox_photos (inbox_id, path, sha256, bytes) SELECT i, 'p' || i, '', 1 FROM range(400) t(i)`,
    );
    await db.run(`CREATE TABLE inbox_scores (path VARCHAR PRIMARY KEY, keeper_score DOUBLE, band VARCHAR,
      surfaced BOOLEAN, reason VARCHAR, raw_score DOUBLE, keeper_model VARCHAR, scored_at TIMESTAMP)`);
    await db.run(
      `INSERT INTO inbox_scores SELECT 'p' || i, i / 400, 'unlikely', false, NULL, i / 400, 'keeper-x', NULL
        FROM range(400) t(i)`,
    );
    const kept = (i: number): boolean => (i >= 280 && i % 40 !== 0) || i === 100 || i === 200;
    for (let i = 0; i < 400; i += 4) await recordDecision(db, i, kept(i) ? 'keep' : 'reject');
    const fit = await fitSurfaceThreshold(db);
    // by hand: the lowest decided score whose decided photos at or above it are kept at least 80% of the time
    const decided = Array.from({ length: 100 }, (_, k) => 4 * k);
    const keeps = decided.filter(kept).length;
    let best: number | null = null;
    for (const t of decided) {
      const above = decided.filter((i) => i >= t);
      if (above.filter(kept).length / above.length >= 0.8) {
        best = t;
        break;
      }
    }
    if (best === null) throw new Error('the planted decisions reach precision 0.8 somewhere');
    const t = best;
    const c = fit.calibration;
    assert.equal(c.threshold, best / 400);
    assert.equal(c.decisions, 100);
    assert.equal(c.keeps, keeps);
    const above = decided.filter((i) => i >= t);
    assert.equal(c.precision, above.filter(kept).length / above.length);
    assert.equal(c.recall, above.filter(kept).length / keeps);
    assert.equal(c.reviewPer1000, (1000 * (400 - best)) / 400);
    // decisions made before the scoring model trained were its training rows: left out, the fit is held out
    await db.run('ALTER TABLE inbox_scores ADD COLUMN model_trained_at TIMESTAMP');
    // UTC, as decisions and models record their times
    const hourFromNow = (h: number): string => new Date(Date.now() + h * 3_600_000).toISOString().replace('Z', '');
    await db.run('UPDATE inbox_scores SET model_trained_at = CAST(? AS TIMESTAMP)', [hourFromNow(1)]);
    const trainedOn = (await fitSurfaceThreshold(db)).calibration;
    assert.deepEqual([trainedOn.decisions, trainedOn.trainedOn, trainedOn.threshold], [0, 100, null]);
    assert.match(trainedOn.note ?? '', /^0 decisions .* since the model trained on 100 earlier ones/);
    await db.run('UPDATE inbox_scores SET model_trained_at = CAST(? AS TIMESTAMP)', [hourFromNow(-1)]);
    assert.equal((await fitSurfaceThreshold(db)).calibration.threshold, c.threshold, 'decided since: all count');
    await writeSurfaceCalibration(db, work.dir, c);
    assert.deepEqual(await readSurfaceCalibration(db), c);
    assert.deepEqual(JSON.parse(readFileSync(join(work.dir, 'calibration', 'surface-threshold.json'), 'utf8')), c);
    // too few decisions: no threshold, and the page says why
    await db.run('DELETE FROM review_decisions WHERE photo_id >= 40');
    const few = await fitSurfaceThreshold(db);
    assert.equal(few.calibration.threshold, null);
    assert.match(few.calibration.note ?? '', /^10 decisions on scored photos \(0 kept\) so far/);
  } finally {
    db.close();
  }
  const sample = await Db.open(dbFile);
  try {
    await ensureDecisionSchema(sample);
    await sample.run('DELETE FROM review_decisions');
    const two = await sample.all<{
      id: number;
    }>(`SELECT p.inbox_id AS id FROM inbox_photos p JOIN inbox_scores s USING (path)
      WHERE s.keeper_score IS NOT NULL AND s.band <> 'failure' ORDER BY s.keeper_score DESC LIMIT 2`);
    await recordDecision(sample, (two[0] as { id: number }).id, 'keep');
    await recordDecision(sample, (two[1] as { id: number }).id, 'reject');
  } finally {
    sample.close();
  }
  const portal = await startPortal({ db: dbFile, port: 0 });
  try {
    const page = await http(portal.url, { path: '/threshold' });
    assert.equal(page.status, 200);
    assert.match(page.body, /No auto-surface threshold yet\.<\/b> 2 decisions on scored photos \(1 kept\)/);
  } finally {
    await portal.close();
  }
});

test('matching review: accept, reject and none store what flux match apply stores', async () => {
  // two keepers put in review with candidates: one answered in the portal, the other through a review CSV
  const db = await Db.open(dbFile, { waitMs: 3000 });
  let keepers: Array<{ id: number; path: string; sha: string; photo: number; other: number }>;
  try {
    keepers = await db.all(`SELECT k.keeper_id AS id, k.path, k.sha256 AS sha, k.matched_photo_id AS photo,
      (SELECT min(photo_id) FROM photos WHERE photo_id <> k.matched_photo_id) AS other
      FROM keeper_files k WHERE k.matched_photo_id IS NOT NULL ORDER BY k.keeper_id LIMIT 3`);
    assert.equal(keepers.length, 3);
    await db.run('DELETE FROM match_decisions');
    for (const k of keepers) {
      await db.run(
        `UPDATE keeper_files SET match_status = 'review', review_reason = 'two frames <b>alike</b>'
          WHERE keeper_id = ?`,
        [k.id],
      );
      await db.run('DELETE FROM match_candidates WHERE keeper_id = ?', [k.id]);
      await db.run(`INSERT INTO match_candidates VALUES (?, 1, ?, 0.97, 'same second'), (?, 2, ?, 0.95, NULL)`, [
        k.id,
        k.photo,
        k.id,
        k.other,
      ]);
    }
  } finally {
    db.close();
  }
  const [a, b, c] = keepers as [(typeof keepers)[0], (typeof keepers)[0], (typeof keepers)[0]];
  const portal = await startPortal({ db: dbFile, port: 0 });
  try {
    const page = await http(portal.url, { path: '/match' });
    assert.equal(page.status, 200);
    for (const k of keepers) assert.ok(page.body.includes(`data-keeper-id="${k.id}"`), k.path);
    assert.ok(
      page.body.includes('two frames &lt;b&gt;alike&lt;/b&gt;') && !page.body.includes('<b>alike'),
      'evidence escaped',
    );
    const send = (body: unknown): Promise<Reply> =>
      http(portal.url, {
        method: 'POST',
        path: '/api/match-decisions',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await send({ keeper_id: a.id, photo_id: a.photo, decision: 'accept' })).status, 200);
    assert.equal((await send({ keeper_id: a.id, photo_id: a.other, decision: 'reject' })).status, 200);
    // read again, the page words the answers as its buttons did
    const again = (await http(portal.url, { path: '/match' })).body;
    assert.match(
      again.slice(again.indexOf(`data-keeper-id="${a.id}"`)),
      /^[^]*?<span class="state">accepted<\/span>[^]*?<span class="state">rejected<\/span>/,
    );
    if (noBrowser) assert.equal((await send({ keeper_id: b.id, decision: 'none' })).status, 200);
    else {
      // the page's own button stores the answer (static/match.js)
      await inChromium(new URL('match', portal.url).href, async (p) => {
        await p.click(`section[data-keeper-id="${b.id}"] button[data-decision="none"]`);
        await p.waitForSelector(`section[data-keeper-id="${b.id}"][data-decision="none"]`);
        // the answer can be taken back: a candidate can still be accepted
        assert.ok(await p.isDisabled(`section[data-keeper-id="${b.id}"] button[data-decision="none"]`));
        assert.ok(!(await p.isDisabled(`section[data-keeper-id="${b.id}"] button[data-decision="accept"]`)));
      });
    }
    const bad = await send({ keeper_id: a.id, photo_id: 7, decision: 'accept' });
    assert.equal(bad.status, 400);
    assert.match(String((bad.json() as { error: string }).error), /photo_id: no original 7/);
    assert.equal((await send({ keeper_id: a.id, photo_id: a.photo, decision: 'maybe' })).status, 400);
    const keeperPreview = await http(portal.url, { path: `/api/keepers/${a.id}/preview` });
    assert.equal(keeperPreview.type, 'image/jpeg');
    await portal.release();
    // the same answers for keeper c through the CSV route: the stored rows have the same shape
    const { applyDecisions } = await import('../lib/3-match/review.js');
    const csv = join(work.dir, 'review.csv');
    writeFileSync(
      csv,
      'keeper_id,keeper_path,photo_id,photo_path,decision\n' +
        `${c.id},${c.path},${c.photo},,accept\n${c.id},${c.path},${c.other},,reject\n`,
    );
    await withDb(dbFile, (d) => applyDecisions(d, csv), { index: true });
    const rows = await query<{ keeper_path: string; keeper_sha256: string; photo_id: number; decision: string }>(
      'SELECT keeper_path, keeper_sha256, photo_id, decision FROM match_decisions ORDER BY keeper_path, decision',
    );
    const shape = (k: typeof a): unknown =>
      rows
        .filter((r) => r.keeper_path === k.path)
        .map((r) => [
          r.keeper_sha256 === k.sha,
          r.photo_id === k.photo ? 'match' : r.photo_id === k.other ? 'other' : r.photo_id,
          r.decision,
        ]);
    assert.deepEqual(shape(a), [
      [true, 'match', 'accept'],
      [true, 'other', 'reject'],
    ]);
    assert.deepEqual(shape(a), shape(c), 'the portal stores what flux match apply stores');
    assert.deepEqual(
      rows.filter((r) => r.keeper_path === b.path).map((r) => r.decision),
      ['none'],
    );
    // answered "no original", the keeper moves to the end of the page, marked, and an accept takes the answer back
    const after = (await http(portal.url, { path: '/match' })).body;
    assert.match(after, /<h1>Keepers to review \(\d+, and 1 answered "no original" at the end\)/);
    assert.match(
      after,
      new RegExp(`data-keeper-id="${b.id}" data-decision="none">\\s*<h3>[^<]*<span class="nonemark"> — no original`),
    );
    assert.ok(
      after.lastIndexOf('<section') === after.indexOf(`<section class="item" data-keeper-id="${b.id}"`),
      'last',
    );
    assert.equal((await send({ keeper_id: b.id, photo_id: b.photo, decision: 'accept' })).status, 200);
    assert.deepEqual(
      (await query<{ d: string }>(`SELECT decision AS d FROM match_decisions WHERE keeper_path = ?`, [b.path])).map(
        (r) => r.d,
      ),
      ['accept'],
    );
  } finally {
    await portal.close();
  }
});

test('motifs and curator: the keeper map (also drawn in Chromium), exclusions, a run saved as flux curate saves it, an export', () =>
  inProcess(async (portal, query) => {
    const call = (path: string, body: unknown): Promise<Reply> =>
      http(portal.url, {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await call('/api/curator/export', {})).status, 409, 'no run to export yet');
    const map = await http(portal.url, { path: '/api/motifs' });
    assert.equal(map.status, 200, map.body);
    const m = map.json() as { k: number; points: Array<{ photo_id: number; cluster: number; excluded: boolean }> };
    const keepers = await query<{ id: number }>('SELECT photo_id AS id FROM photos WHERE keeper ORDER BY photo_id');
    assert.deepEqual(
      m.points.map((p) => p.photo_id).sort((a, b) => a - b),
      keepers.map((k) => k.id),
    );
    assert.ok(m.points.every((p) => p.cluster >= 0 && p.cluster < m.k));
    const out = (m.points[0] as { photo_id: number }).photo_id;
    assert.equal((await call('/api/curator/exclusions', { photo_id: out, on: true })).status, 200);
    assert.equal((await call('/api/curator/favourites', { photo_id: out, on: true })).status, 200);
    assert.deepEqual(await query('SELECT photo_id FROM curator_exclusions'), [{ photo_id: out }]);
    assert.deepEqual(await query('SELECT photo_id FROM favourites'), [{ photo_id: out }]);
    assert.equal((await call('/api/curator/exclusions', { photo_id: 99, on: true })).status, 400);
    assert.equal((await call('/api/curator/run', { method: 'best' })).status, 400);
    // the page's own limit on iterations is the curator's: more is a 400 that names the field, not a command flag
    const many = await call('/api/curator/run', { method: 'fps', target: 5, iterations: 50 });
    assert.deepEqual(
      [many.status, many.json()],
      [400, { error: 'iterations: expected an integer from 1 to 30, received 50' }],
    );
    const run = await call('/api/curator/run', { method: 'fps', target: 5, iterations: 4 });
    assert.equal(run.status, 200, run.body);
    const sel = (run.json() as { selection: Array<{ photoId: number; band: string }> }).selection;
    assert.equal(new Set(sel.map((s) => s.photoId)).size, 5);
    assert.ok(!sel.some((s) => s.photoId === out), 'the excluded keeper is left out');
    assert.ok(sel.every((s) => keepers.some((k) => k.id === s.photoId)));
    const saved = await query<{ id: number }>(
      'SELECT photo_id AS id FROM curator_selection WHERE selected ORDER BY photo_id',
    );
    assert.deepEqual(
      saved.map((s) => s.id),
      sel.map((s) => s.photoId).sort((a, b) => a - b),
    );
    const before = snapshot(sample.originals);
    const exp = await call('/api/curator/export', { dir: '/tmp/not-used' });
    assert.equal(exp.status, 200, exp.body);
    const e = exp.json() as { dir: string; copied: unknown[]; csv: string };
    assert.ok(e.dir.startsWith(join(work.dir, 'exports', 'curator-')), e.dir);
    assert.equal(e.copied.length, 5);
    assert.ok(existsSync(e.csv));
    assert.deepEqual(snapshot(sample.originals), before, 'the archive is untouched');
    assert.equal((await call('/api/curator/exclusions', { photo_id: out, on: false })).status, 200);
    assert.deepEqual(await query('SELECT photo_id FROM curator_exclusions'), []);
    if (noBrowser) return;
    // the motif page in Chromium draws every keeper; a click excludes one, a second click brings it back
    await inChromium(new URL('motifs', portal.url).href, async (p) => {
      const idle = (): Promise<unknown> =>
        p.waitForFunction(() => document.body.dataset.ready === '1' && document.body.dataset.pending === '0');
      await idle();
      assert.equal(await p.locator('#map svg circle').count(), keepers.length);
      const dot = p.locator('#map svg circle').first();
      await dot.click();
      await idle();
      assert.equal((await query<{ n: number }>('SELECT count(*)::INT AS n FROM curator_exclusions'))[0]?.n, 1);
      await dot.click();
      await idle();
      assert.deepEqual(await query('SELECT photo_id FROM curator_exclusions'), []);
      // from the keyboard: focus shows the keeper's preview, Enter excludes it, and its name says so
      await dot.focus();
      assert.match((await p.textContent('#hover figcaption')) ?? '', / · motif \d+$/);
      await p.keyboard.press('Enter');
      await idle();
      assert.equal((await query<{ n: number }>('SELECT count(*)::INT AS n FROM curator_exclusions'))[0]?.n, 1);
      assert.match((await dot.getAttribute('aria-label')) ?? '', /, motif \d+, excluded/);
      await p.keyboard.press('Enter');
      await idle();
      assert.deepEqual(await query('SELECT photo_id FROM curator_exclusions'), []);
    });
  }));
