/**
 * Shared test fixtures: where the shared data lives, temporary folders, and the small sample archive most
 * tests use (generated once per version of the compiled code into a folder the test processes share).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { generateSample, type SampleResult } from '../lib/0-sample/generate.js';
import { sha256, walk } from '../lib/util/fsutil.js';

/** The project root (tests run from `dist/test/`). */
export const PROJECT = resolve(fileURLToPath(import.meta.url), '../../..');
/** The shared data beside the project: real photos and a pretrained model. Absent on a user's clone. */
export const SHARED = resolve(PROJECT, '..', 'shared');
export const SHARED_PHOTOS = join(SHARED, 'photos');
/** Why a test that needs the shared photos is skipped, or false when they are here. */
export const noSharedPhotos: string | false = existsSync(join(SHARED_PHOTOS, 'MANIFEST.tsv'))
  ? false
  : `needs the real camera JPEGs in ${SHARED_PHOTOS} (present in CI, absent in a user's clone)`;

/** True in CI (`.ci/run` sets FLUX_CI=1), where everything the tests need is installed and nothing may be skipped. */
export const IN_CI = process.env.FLUX_CI === '1';

/**
 * The `skip` option of a test that needs something from the machine (shared photos, a model, Jupyter, Chromium,
 * root): `reason` when it is missing, else false. On a user's machine the test is skipped with that reason; in CI a
 * missing need is a failure: a failing test that names it is added beside the skipped one.
 */
export function envSkip(reason: string | false): string | false {
  if (reason && IN_CI) {
    test(`CI has what the tests need: ${reason}`, () => {
      throw new Error(`FLUX_CI=1 and a test would be skipped: ${reason}`);
    });
  }
  return reason;
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(label: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `flux-${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The small sample archive the tests share: 8 walks, small frames, more keepers than life so every case occurs. */
export const SMALL_SAMPLE = {
  seed: 11,
  sessions: 8,
  frames: 24,
  width: 240,
  height: 160,
  quality: 85,
  keeperRate: 0.08,
};

let cached: Promise<SampleResult> | null = null;
/** Generates the small sample once into a folder under the OS temp dir, shared by every test process and run. */
export function smallSample(): Promise<SampleResult> {
  cached ??= sharedSample();
  return cached;
}

/** The small sample in its shared folder ({@link sharedFolder}), generated there when missing. */
async function sharedSample(): Promise<SampleResult> {
  // keyed by the code, so a changed generator never reuses an old sample
  const out = await sharedFolder(`sample-${sha256(codeKey() + JSON.stringify(SMALL_SAMPLE))}`, async (staging) => {
    await generateSample({ out: staging, ...SMALL_SAMPLE });
  });
  return generateSample({ out, ...SMALL_SAMPLE }); // reuses the finished folder
}

let code: string | null = null;
/**
 * What a shared folder's content depends on besides its inputs: the compiled library, these helpers (the steps that
 * build it) and the installed dependencies' versions (package-lock.json).
 */
function codeKey(): string {
  if (code === null) {
    const lib = join(PROJECT, 'dist', 'lib');
    const files = walk(lib)
      .filter((f) => f.path.endsWith('.js'))
      .map((f) => join(lib, f.path))
      .sort();
    files.push(fileURLToPath(import.meta.url), join(PROJECT, 'package-lock.json'));
    code = sha256(files.map((f) => `${f}\n${readFileSync(f, 'utf8')}`).join('\n'));
  }
  return code;
}

/**
 * A folder under the OS temp dir named by `key`, made by `build` when missing and then shared by every test process
 * and run. `build` fills a folder of this process's own, which is renamed into place, so no process ever reads a
 * half-built one; the first rename wins and the others drop theirs.
 */
async function sharedFolder(key: string, build: (staging: string) => Promise<void>): Promise<string> {
  const out = join(tmpdir(), `flux-test-${key.slice(0, 24)}`);
  const done = join(out, '.built');
  if (!existsSync(done)) {
    const staging = mkdtempSync(`${out}.part-`);
    try {
      await build(staging);
      writeFileSync(join(staging, '.built'), key);
      if (!moveIntoPlace(staging, out, done)) {
        // a half-built folder, left by a run killed while building in place: moved aside in one step, then replaced
        const aside = `${out}.stale-${process.pid}`;
        try {
          renameSync(out, aside);
        } catch {
          // another process moved it first
        }
        rmSync(aside, { recursive: true, force: true });
        if (!moveIntoPlace(staging, out, done)) throw new Error(`${out}: no finished folder could be put in place`);
      }
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return out;
}

/** Renames `from` to `to`; true when it moved or `to` already holds a finished folder (`done` exists). */
function moveIntoPlace(from: string, to: string, done: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    return existsSync(done);
  }
}

/** Bytes and mtime of every file under a folder, for proving a folder was not touched. */
export function snapshot(dir: string): Map<string, string> {
  return new Map(walk(dir).map((f) => [f.path, `${f.bytes}:${statSync(join(dir, f.path)).mtimeMs}`]));
}

/** `flux match` on a database file: opens the index, runs the stage, closes it. */
export async function matchAt(
  file: string,
  options: import('../lib/3-match/types.js').MatchOptions = {},
): Promise<import('../lib/3-match/types.js').MatchReport> {
  const { match } = await import('../lib/3-match/match.js');
  const { withDb } = await import('../lib/db/duckdb.js');
  return withDb(file, (db) => match(db, options), { index: true });
}

/**
 * The small sample indexed, embedded (MobileNetV2 when present, else the pixel descriptor alone) and matched into
 * a database under `dir`: what the ranker, report and notebook tests start from. It is built once per version of
 * the compiled code (and of the model found) into a shared folder, and each caller gets a copy of its own.
 */
export async function matchedSmallSample(
  dir: string,
): Promise<{ sample: SampleResult; dbFile: string; hasModel: boolean }> {
  const { runEmbed, runIngest } = await import('../lib/pipeline/stages.js');
  const { findModel } = await import('../lib/2-embed/models.js');
  const model = findModel('mobilenetv2-int8').path;
  const hasModel = model !== null;
  const sample = await smallSample();
  const modelKey = model === null ? 'none' : `${model}:${statSync(model).size}:${statSync(model).mtimeMs}`;
  const provider = process.env.FLUX_ONNX_PROVIDER ?? '';
  const key = `matched-${sha256(codeKey() + JSON.stringify(SMALL_SAMPLE) + modelKey + provider + sample.originals)}`;
  const built = await sharedFolder(key, async (staging) => {
    const dbFile = join(staging, 'flux.duckdb');
    await runIngest({ originals: sample.originals, keepers: sample.keepers, db: dbFile });
    await runEmbed({ db: dbFile, model: hasModel ? 'mobilenetv2-int8' : 'none' });
    await matchAt(dbFile);
  });
  cpSync(built, dir, { recursive: true, filter: (from) => !from.endsWith('.built') });
  return { sample, dbFile: join(dir, 'flux.duckdb'), hasModel };
}

/**
 * {@link matchedSmallSample} with a quick logistic keeper model trained on it (2 epochs, the corpus not rescored)
 * and the sample's inbox scored: the state the inbox page and the portal read.
 */
export async function scoredSmallSample(dir: string): Promise<{ sample: SampleResult; dbFile: string }> {
  const { trainAndScore } = await import('../lib/pipeline/train-and-score.js');
  const { scoreInbox } = await import('../lib/pipeline/inbox.js');
  const { sample, dbFile } = await matchedSmallSample(dir);
  await trainAndScore({
    db: dbFile,
    arch: 'logistic',
    modelsDir: join(dir, 'models'),
    resamples: 10,
    hyper: { epochs: 2 },
    skipPhotoSplit: true,
    score: false,
  });
  await scoreInbox({ db: dbFile, inbox: sample.inbox });
  return { sample, dbFile };
}

/**
 * Runs `flux ARGS` in a child process and kills it (SIGKILL) as soon as `ready()` turns true (polled every 5 ms);
 * rejects when the command finishes first, naming `what`.
 */
export async function runCliAndKill(args: string[], ready: () => boolean, what: string): Promise<void> {
  const { spawn } = await import('node:child_process');
  await new Promise<void>((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(PROJECT, 'dist', 'lib', 'cli', 'flux.js'), ...args], {
      stdio: 'ignore',
    });
    const timer = setInterval(() => {
      if (ready()) {
        clearInterval(timer);
        child.kill('SIGKILL');
      }
    }, 5);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      if (signal === 'SIGKILL') resolvePromise();
      else
        reject(new Error(`${what} finished (code ${code}) before it could be killed; the test needs a larger sample`));
    });
  });
}

/** What a finished `flux` run left: its exit code and what it printed. */
export interface FluxRun {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `flux ARGS` in this process, through the same function as the `flux` program with the same exit codes, and
 * returns what it printed (console.log as stdout; console.error and the progress lines as stderr). A test that
 * checks a command's output or message saves a process start per call; `cwd` is the working folder for the call.
 */
export async function fluxHere(args: string[], options: { cwd?: string } = {}): Promise<FluxRun> {
  const { runFlux } = await import('../lib/cli/main.js');
  const out: string[] = [];
  const err: string[] = [];
  const saved = { log: console.log, error: console.error, write: process.stderr.write, cwd: process.cwd() };
  const line =
    (to: string[]) =>
    (...values: unknown[]): void => {
      to.push(`${format(...values)}\n`);
    };
  console.log = line(out);
  console.error = line(err);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stderr.write;
  if (options.cwd) process.chdir(options.cwd);
  try {
    const status = await runFlux(args);
    return { status, stdout: out.join(''), stderr: err.join('') };
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    process.stderr.write = saved.write;
    process.chdir(saved.cwd);
  }
}
