/**
 * `flux serve`: the review portal, a local web app over one workspace (node:http, no framework). It opens the
 * database only while it answers a request, one request at a time, so `flux train`, `flux score` and the notebooks
 * can use the same file between requests; each decision is committed before the answer. Nothing from a request is
 * used as a path: previews are found by id in the database, static files by name in a fixed list.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { makePreview } from '../1-ingest/image.js';
import { hostname, networkInterfaces } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { Db } from '../db/duckdb.js';
import { DbBusyError, removePortalNote, runningPortal, writePortalNote } from '../db/busy.js';
import { ensureDecisionSchema, listDecisions, recordDecision, removeDecision } from '../db/decisions.js';
import { workspaceOf } from '../db/schema.js';
import { FluxError } from '../util/check.js';
import { projectRoot } from '../util/project.js';
import { inboxFilters, inboxPage, inboxPhotoFile, parseInboxQuery } from './inbox.js';
import { applyMatchDecision, checkMatchRequest, matchPageHtml, matchQueue } from './matching.js';
import {
  exportRun,
  markPhoto,
  motifCache,
  motifPoints,
  motifsPageHtml,
  runCurator,
  type RunRequest,
} from './curator.js';
import type { CurateResult } from '../7-curate/curate.js';
import { inboxPageHtml, NAV, thresholdPageHtml } from './pages.js';
import { refitSurfaceThreshold } from './threshold.js';

export const DEFAULT_PORT = 8737;
/** The threshold is refitted this long after the last decision. */
export const REFIT_AFTER_MS = 2000;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export interface PortalOptions {
  db: string;
  port?: number;
  host?: string;
  /** How long a request waits for a database another process holds before answering 503 (default 1.5 s). */
  busyWaitMs?: number;
  /** How long the database stays open after the last request (default 60 s; a flux process asks for it sooner). */
  idleMs?: number;
}

export interface Portal {
  url: string;
  port: number;
  host: string;
  db: string;
  /** Warnings to show (a host other than loopback). */
  warnings: string[];
  /** Closes the database until the next request (for work on the same file in this process). */
  release(): Promise<void>;
  close(): Promise<void>;
}

/** A reply with its status. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const STATIC: Record<string, string> = {
  'api.js': 'text/javascript; charset=utf-8',
  'inbox.js': 'text/javascript; charset=utf-8',
  'match.js': 'text/javascript; charset=utf-8',
  'motifs.js': 'text/javascript; charset=utf-8',
  'portal.css': 'text/css; charset=utf-8',
};

/** Where each kind of preview is looked up by id. */
const PREVIEWS: Record<string, { sql: string; what: string }> = {
  photos: { sql: 'SELECT preview FROM inbox_photos WHERE inbox_id = ?', what: 'inbox photo' },
  originals: { sql: 'SELECT preview FROM photos WHERE photo_id = ?', what: 'original' },
  keepers: { sql: 'SELECT preview FROM keeper_files WHERE keeper_id = ?', what: 'keeper' },
};

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; " +
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
};

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': String(Buffer.byteLength(body)),
    ...extra,
  });
  res.end(body);
}
const json = (res: ServerResponse, status: number, value: unknown): void =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = String(req.headers['content-type'] ?? '');
  if (!/^application\/json\b/i.test(type))
    throw new HttpError(415, `expected a JSON body (content-type application/json), received ${JSON.stringify(type)}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 65_536) throw new HttpError(413, 'request body over 64 KiB');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
}

/** Database work, one request at a time, on a file the portal keeps open only while requests keep coming. */
export interface SerialDb {
  <T>(work: (db: Db) => Promise<T>): Promise<T>;
  /** Closes the file after the work under way (another process asked for it, or the portal stops). */
  release(): Promise<void>;
  /** Runs work that opens the database itself, after closing the portal's own handle. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * Opens the database for the first request and keeps it open while requests follow each other (a review session),
 * closing it `idleMs` after the last one, or at once when a flux command or a notebook asks for it (`SIGUSR2`, sent
 * by `openWhenFree` when it meets the portal's lock).
 */
function serialDb(file: string, waitMs: number, idleMs: number): SerialDb {
  let tail: Promise<unknown> = Promise.resolve();
  let open: Db | null = null;
  let timer: NodeJS.Timeout | undefined;
  const enqueue = <T>(step: () => Promise<T>): Promise<T> => {
    const run = tail.then(step);
    tail = run.catch(() => undefined);
    return run;
  };
  const release = (): Promise<void> =>
    enqueue(async () => {
      clearTimeout(timer);
      open?.close();
      open = null;
    });
  const serial = (<T>(work: (db: Db) => Promise<T>): Promise<T> =>
    enqueue(async () => {
      clearTimeout(timer);
      open ??= await Db.open(file, { waitMs });
      try {
        return await work(open);
      } finally {
        timer = setTimeout(() => void release(), idleMs);
        timer.unref();
      }
    })) as SerialDb;
  serial.release = release;
  serial.exclusive = <T>(work: () => Promise<T>): Promise<T> =>
    enqueue(async () => {
      clearTimeout(timer);
      open?.close();
      open = null;
      return work();
    });
  return serial;
}

const photoIdOf = (text: string | undefined): number => {
  if (!text || !/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new HttpError(400, `photo_id: expected a number, received ${JSON.stringify(text)}`);
  return Number(text);
};

interface Context {
  db: SerialDb;
  workspace: string;
  file: string;
  /** Host headers the portal answers to (`host:port`): its own names and addresses, never another site's. */
  hosts: Set<string>;
  /** A refit of the threshold waiting for the decisions to pause. */
  refit?: NodeJS.Timeout;
  motifs: ReturnType<typeof motifCache>;
  /** The last curator run, for its export. */
  lastRun?: CurateResult;
}

/** The motif map and curator requests; false when the path is none of theirs. */
async function curatorRoute(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: Context,
  method: string,
  path: string,
): Promise<boolean> {
  if (method === 'GET' && path === '/motifs') {
    send(res, 200, 'text/html; charset=utf-8', motifsPageHtml(ctx.file, NAV));
  } else if (method === 'GET' && path === '/api/motifs') {
    json(res, 200, await ctx.db(async (db) => motifPoints(db, await ctx.motifs(db))));
  } else if (method === 'POST' && (path === '/api/curator/exclusions' || path === '/api/curator/favourites')) {
    const body = (await readJson(req)) as { photo_id?: unknown; on?: unknown } | null;
    const id = photoIdOf(String(body?.photo_id ?? ''));
    const mark = path.endsWith('exclusions') ? 'excluded' : 'favourite';
    await ctx.db((db) => markPhoto(db, id, mark, body?.on !== false));
    json(res, 200, { photo_id: id, [mark]: body?.on !== false });
  } else if (method === 'POST' && path === '/api/curator/run') {
    const body = ((await readJson(req)) ?? {}) as RunRequest;
    const r = await ctx.db((db) => runCurator(db, body));
    ctx.lastRun = r;
    json(res, 200, {
      method: r.method,
      target: r.target,
      iterations: r.iterations,
      seed: r.seed,
      model: r.model,
      selection: r.selection,
    });
  } else if (method === 'POST' && path === '/api/curator/export') {
    const run = ctx.lastRun;
    if (!run) throw new HttpError(409, 'no curator run in this session yet: run one first, then export it');
    const e = await ctx.db((db) => exportRun(db, ctx.workspace, run));
    json(res, 200, { dir: e.dir, csv: e.csv, copied: e.copied, already: e.already, skipped: e.skipped });
  } else {
    return false;
  }
  return true;
}

/** GET paths that do work beyond reading (a refit written to the database, a motif map computed). */
const WORKING_GETS = new Set(['/threshold', '/api/threshold', '/api/motifs']);

/**
 * Refuses requests from other sites: a Host the portal does not answer to (DNS rebinding), a foreign Origin, and a
 * page of another site making the browser write or work here (a POST, or one of the {@link WORKING_GETS}).
 */
function checkRequest(req: IncomingMessage, ctx: Context, path: string): void {
  const host = String(req.headers.host ?? '').toLowerCase();
  if (!ctx.hosts.has(host)) throw new HttpError(403, `host ${JSON.stringify(host)} is not this portal's`);
  const site = req.headers['sec-fetch-site'];
  if (req.method === 'GET' || req.method === 'HEAD') {
    if (WORKING_GETS.has(path) && (site === 'cross-site' || site === 'same-site'))
      throw new HttpError(403, `a ${site} request for ${path} is refused; open it from the portal`);
    return;
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${host}`)
    throw new HttpError(403, `origin ${JSON.stringify(origin)} is not this portal's`);
  if (origin === undefined && site !== undefined && site !== 'same-origin' && site !== 'none')
    throw new HttpError(403, `a ${site} request is refused`);
}

async function preview(ctx: Context, res: ServerResponse, kind: string, id: number): Promise<void> {
  const { sql, what } = PREVIEWS[kind] as { sql: string; what: string };
  const rel = await ctx.db((db) => db.value<string>(sql, [id]));
  if (!rel) throw new HttpError(404, `no preview for ${what} ${id}`);
  const file = resolve(ctx.workspace, rel);
  if (!file.startsWith(ctx.workspace + sep)) throw new HttpError(404, `no preview for ${what} ${id}`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new HttpError(
      404,
      `the preview of ${what} ${id} is missing; run flux ingest (or flux score --inbox) again to rebuild it`,
    );
  }
  send(res, 200, 'image/jpeg', bytes, { 'cache-control': 'private, max-age=3600' });
}

/** The long side of the larger view of an inbox photo: enough to judge focus, a fraction of a 24 MP file. */
export const LOUPE_PX = 2048;

/**
 * An inbox photo larger than its preview, to judge focus and detail: the file under the inbox folder the database
 * recorded (looked up by id, never by request text), upright, at most `LOUPE_PX` on its long side. Only read.
 */
async function loupe(ctx: Context, res: ServerResponse, id: number): Promise<void> {
  const file = await ctx.db((db) => inboxPhotoFile(db, id));
  if (!file) throw new HttpError(404, `no inbox photo ${id}`);
  let bytes: Buffer;
  try {
    bytes = (await makePreview(await readFile(file), LOUPE_PX)).jpeg;
  } catch (err) {
    throw new HttpError(404, `inbox photo ${id} cannot be read: ${(err as Error).message}`);
  }
  send(res, 200, 'image/jpeg', bytes, { 'cache-control': 'private, max-age=3600' });
}

/**
 * Refits the auto-surface threshold once the decisions pause (`REFIT_AFTER_MS` after the last one, and when the
 * portal stops), so a review session's decisions never wait behind it.
 */
function refitLater(ctx: Context): void {
  clearTimeout(ctx.refit);
  ctx.refit = setTimeout(() => void refitNow(ctx), REFIT_AFTER_MS);
  ctx.refit.unref();
}

async function refitNow(ctx: Context): Promise<void> {
  clearTimeout(ctx.refit);
  ctx.refit = undefined;
  await ctx.db((db) => refitSurfaceThreshold(db, ctx.workspace)).catch(() => undefined);
}

/** The request's URL; a 400 when it does not parse. */
function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://portal');
  } catch {
    throw new HttpError(400, `the request URL ${JSON.stringify(String(req.url).slice(0, 200))} does not parse`);
  }
}

async function route(req: IncomingMessage, res: ServerResponse, ctx: Context): Promise<void> {
  const url = requestUrl(req);
  const path = url.pathname;
  checkRequest(req, ctx, path);
  const method = req.method ?? 'GET';
  const get = method === 'GET' || method === 'HEAD';
  if (get && (path === '/' || path === '/inbox'))
    return send(res, 200, 'text/html; charset=utf-8', inboxPageHtml(ctx.file));
  const stat = /^\/static\/([a-z]+\.(?:js|css))$/.exec(path);
  if (get && stat && STATIC[stat[1] as string]) {
    return send(
      res,
      200,
      STATIC[stat[1] as string] as string,
      readFileSync(join(projectRoot(), 'lib', 'portal', 'static', stat[1] as string)),
    );
  }
  if (get && path === '/api/inbox') {
    const q = parseInboxQuery(url.searchParams);
    return json(res, 200, await ctx.db((db) => inboxPage(db, q)));
  }
  if (get && (path === '/threshold' || path === '/api/threshold')) {
    clearTimeout(ctx.refit);
    const fit = await ctx.db((db) => refitSurfaceThreshold(db, ctx.workspace));
    if (path === '/api/threshold') return json(res, 200, fit);
    return send(
      res,
      200,
      'text/html; charset=utf-8',
      thresholdPageHtml(ctx.file, fit, join(ctx.workspace, 'calibration', 'surface-threshold.json')),
    );
  }
  if (get && path === '/api/inbox/filters') return json(res, 200, await ctx.db(inboxFilters));
  if (get && path === '/api/decisions') return json(res, 200, { items: await ctx.db(listDecisions) });
  if (method === 'POST' && path === '/api/decisions') {
    const body = (await readJson(req)) as { photo_id?: unknown; decision?: unknown } | null;
    const id =
      typeof body?.photo_id === 'number'
        ? body.photo_id
        : typeof body?.photo_id === 'string'
          ? photoIdOf(body.photo_id)
          : NaN;
    if (!Number.isSafeInteger(id))
      throw new HttpError(
        400,
        `photo_id: expected an inbox photo id, received ${JSON.stringify(body?.photo_id ?? null)}`,
      );
    json(res, 200, await ctx.db((db) => recordDecision(db, id, String(body?.decision ?? ''))));
    return refitLater(ctx);
  }
  const undo = /^\/api\/decisions\/([^/]+)$/.exec(path);
  if (method === 'DELETE' && undo) {
    const id = photoIdOf(undo[1]);
    json(res, 200, { photo_id: id, removed: await ctx.db((db) => removeDecision(db, id)) });
    return refitLater(ctx);
  }
  const pv = /^\/api\/(photos|originals|keepers)\/([^/]+)\/preview$/.exec(path);
  if (get && pv) return preview(ctx, res, pv[1] as string, photoIdOf(pv[2]));
  const large = /^\/api\/photos\/([^/]+)\/large$/.exec(path);
  if (get && large) return loupe(ctx, res, photoIdOf(large[1]));
  if (await curatorRoute(req, res, ctx, method, path)) return;
  if (get && path === '/match')
    return send(res, 200, 'text/html; charset=utf-8', matchPageHtml(ctx.file, await ctx.db(matchQueue), NAV));
  if (method === 'POST' && path === '/api/match-decisions') {
    const body = (await readJson(req)) as Parameters<typeof checkMatchRequest>[1];
    const ask = await ctx.db((db) => checkMatchRequest(db, body));
    const stored = await ctx.db((db) => applyMatchDecision(db, ask.keeper, ask.photo, ask.decision));
    return json(res, 200, {
      ...stored,
      keeper_id: ask.keeper.keeper_id,
      photo_id: ask.photo?.photo_id ?? null,
      decision: ask.decision,
    });
  }
  // the icon a browser asks every page for: none, and no error in its console
  if (get && path === '/favicon.ico') return send(res, 204, 'image/x-icon', '');
  throw new HttpError(404, `no such page: ${method} ${path}`);
}

async function handle(req: IncomingMessage, res: ServerResponse, ctx: Context): Promise<void> {
  try {
    await route(req, res, ctx);
  } catch (err) {
    if (res.headersSent) return void res.destroy();
    if (err instanceof HttpError) return json(res, err.status, { error: err.message });
    if (err instanceof DbBusyError)
      return json(res, 503, { error: `${err.message}; nothing was saved by this request` });
    if (err instanceof FluxError) return json(res, 400, { error: err.message });
    json(res, 500, { error: `internal error: ${(err as Error).message}` });
  }
}

const hostPort = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/** Starts the portal; resolves once it listens. */
export async function startPortal(options: PortalOptions): Promise<Portal> {
  const file = resolve(options.db);
  const host = options.host ?? '127.0.0.1';
  if (!host.trim()) throw new FluxError('--host: empty; give an address to listen on (the default is 127.0.0.1)');
  const other = runningPortal(file);
  if (other)
    throw new FluxError(
      `--db: a review portal already serves ${file} at ${other.url} (pid ${other.pid}); open that one or stop it first`,
    );
  const db0 = await Db.openIndex(file);
  let workspace: string;
  try {
    await ensureDecisionSchema(db0);
    workspace = await workspaceOf(db0);
  } finally {
    db0.close();
  }
  const warnings = LOOPBACK.has(host)
    ? []
    : [
        `--host ${host}: the portal is reachable from other machines on this network and has no login; ` +
          'anyone who can reach it can see the inbox and record decisions',
      ];
  const wildcard = host === '0.0.0.0' || host === '::';
  const ctx: Context = {
    db: serialDb(file, options.busyWaitMs ?? 1500, options.idleMs ?? 60_000),
    workspace: resolve(workspace),
    file,
    hosts: new Set(),
    motifs: motifCache(),
  };
  const server: Server = createServer((req, res) => void handle(req, res, ctx));
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        new FluxError(
          err.code === 'EADDRINUSE'
            ? `--port ${options.port ?? DEFAULT_PORT}: the port is in use; choose another with --port N`
            : `--host ${host}: ${err.message}`,
        ),
      ),
    );
    server.listen(options.port ?? DEFAULT_PORT, host, () => ok());
  });
  const port = (server.address() as { port: number }).port;
  // on every address: this machine's own names and addresses, so a page of another site whose name was pointed here
  // (DNS rebinding) is still refused
  const names = wildcard
    ? [
        hostname(),
        ...Object.values(networkInterfaces())
          .flatMap((l) => l ?? [])
          .map((i) => i.address),
      ]
    : [];
  for (const h of [host, '127.0.0.1', 'localhost', ...names]) ctx.hosts.add(hostPort(h, port).toLowerCase());
  const url = `http://${hostPort(wildcard ? '127.0.0.1' : host, port)}/`;
  writePortalNote(file, url);
  const handOver = (): void => void ctx.db.release();
  process.on('SIGUSR2', handOver);
  return {
    url,
    port,
    host,
    db: file,
    warnings,
    release: () => ctx.db.release(),
    close: async () => {
      process.off('SIGUSR2', handOver);
      removePortalNote(file);
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      if (ctx.refit) await refitNow(ctx);
      await ctx.db.release();
    },
  };
}
