/**
 * Model downloads: streamed to `<dest>.part`, resumed with an HTTP Range request after an interruption, verified
 * against the registry's SHA-256, then renamed into place. Never holds the file in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FluxError } from '../util/check.js';
import type { OnProgress } from '../util/progress.js';

export interface FetchOptions {
  url: string;
  dest: string;
  sha256: string | null;
  bytes?: number | null;
  onProgress?: OnProgress;
  fetchImpl?: typeof fetch;
}

export interface FetchResult {
  file: string;
  sha256: string;
  bytes: number;
  resumed: boolean;
  alreadyPresent: boolean;
}

async function hashFile(file: string): Promise<{ hash: ReturnType<typeof createHash>; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { hash, bytes };
}

/** Downloads `url` to `dest`, resuming a `.part` left by an earlier attempt, and verifies its SHA-256. */
export async function fetchFile(o: FetchOptions): Promise<FetchResult> {
  const doFetch = o.fetchImpl ?? fetch;
  if (existsSync(o.dest)) {
    const { hash, bytes } = await hashFile(o.dest);
    const digest = hash.digest('hex');
    if (!o.sha256 || digest === o.sha256)
      return { file: o.dest, sha256: digest, bytes, resumed: false, alreadyPresent: true };
  }
  mkdirSync(dirname(o.dest), { recursive: true });
  const part = `${o.dest}.part`;
  let offset = existsSync(part) ? statSync(part).size : 0;
  let response: Response;
  try {
    response = await doFetch(o.url, { headers: offset > 0 ? { Range: `bytes=${offset}-` } : {}, redirect: 'follow' });
  } catch (err) {
    throw new FluxError(
      `download of ${o.url} failed (${(err as Error).cause ? String((err as { cause: unknown }).cause) : (err as Error).message}); ` +
        `the machine may be offline. ${offset > 0 ? `The partial file ${part} is kept; run again to resume.` : 'Run again when online.'}`,
    );
  }
  if (response.status === 416 && offset > 0) {
    // the part is already complete (or bigger than the file): start over
    rmSync(part, { force: true });
    offset = 0;
    response = await doFetch(o.url, { redirect: 'follow' });
  }
  if (!response.ok) throw new FluxError(`download of ${o.url} failed: HTTP ${response.status} ${response.statusText}`);
  const resumed = offset > 0 && response.status === 206;
  if (offset > 0 && !resumed) offset = 0; // the server ignored the range: the body is the whole file
  const { hash } = resumed ? await hashFile(part) : { hash: createHash('sha256') };
  const length = Number(response.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(length) ? offset + length : (o.bytes ?? 0);
  let done = offset;
  o.onProgress?.({ stage: 'download', done, total });
  if (!response.body) throw new FluxError(`download of ${o.url} failed: empty response`);
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    done += chunk.length;
    o.onProgress?.({ stage: 'download', done, total: Math.max(total, done) });
  });
  try {
    await pipeline(body, createWriteStream(part, { flags: resumed ? 'a' : 'w' }));
  } catch (err) {
    throw new FluxError(
      `download of ${o.url} was interrupted (${(err as Error).message}); the partial file ${part} is kept: run again to resume`,
    );
  }
  const digest = hash.digest('hex');
  if (o.sha256 && digest !== o.sha256) {
    rmSync(part, { force: true });
    throw new FluxError(
      `download of ${o.url} to ${o.dest}: SHA-256 mismatch: expected ${o.sha256}, received ${digest}; the file was deleted`,
    );
  }
  renameSync(part, o.dest);
  o.onProgress?.({ stage: 'download', done, total: done });
  return { file: o.dest, sha256: digest, bytes: done, resumed, alreadyPresent: false };
}
