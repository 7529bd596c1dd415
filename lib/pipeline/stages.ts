/**
 * The ingest and embed stages on a database file, for the CLI, the demo, the notebooks and the tests: each opens the
 * file once, runs the stage on the open database, and closes it. Settings that come from the environment
 * (FLUX_DECODE_WORKERS, FLUX_ONNX_PROVIDER) are filled in here, never in the stages.
 */
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Db, withDb } from '../db/duckdb.js';
import {
  ingest,
  ingestMetadata,
  metadataDir,
  ingestSettings,
  type IngestOptions,
  type IngestReport,
  type MetadataIngestOptions,
  type MetadataIngestReport,
} from '../1-ingest/ingest.js';
import { embed, embedSettings, type EmbedOptions, type EmbedReport } from '../2-embed/embed.js';
import { detect, type DetectOptions, type DetectReport } from '../2-detect/detect.js';
import { match } from '../3-match/match.js';
import { writeReport, type ReportOptions, type ReportResult } from '../9-report/report.js';
import type { MatchOptions, MatchReport } from '../3-match/types.js';
import { checkProvider, type ProviderChoice } from '../onnx/runtime.js';
import { checkInt, FluxError } from '../util/check.js';
import { tableExists } from '../db/table.js';
import { env } from './env.js';

/** The number of image decoding workers from FLUX_DECODE_WORKERS, or undefined (one per core) when unset. */
export function decodeWorkers(): number | undefined {
  const text = env('decodeWorkers');
  return text === undefined ? undefined : checkInt('FLUX_DECODE_WORKERS', text, 1, 64);
}

/**
 * The ONNX Runtime execution provider: the --provider option when given, else FLUX_ONNX_PROVIDER, else `auto` (the
 * best one that loads).
 */
export function onnxProvider(option?: string): ProviderChoice {
  if (option !== undefined) return checkProvider('--provider', option);
  return checkProvider('FLUX_ONNX_PROVIDER', env('onnxProvider'));
}

/**
 * Ingests into a database file (created when missing). The archive folders and the other options are checked before
 * the file is opened, so a database asked for inside the archive is refused before anything is written there, and a
 * wrong option leaves no new empty database behind.
 */
export async function runIngest(options: IngestOptions & { db: string }): Promise<IngestReport> {
  const file = resolve(options.db);
  ingestSettings(options, file);
  const fresh = !existsSync(file);
  const db = await Db.open(file);
  let open = true;
  try {
    return await ingest(db, options);
  } catch (err) {
    // a run refused before it indexed anything (a folder that overlaps the new workspace's own) leaves no new,
    // empty database behind
    if (fresh && err instanceof FluxError && !(await indexedAny(db))) {
      db.close();
      open = false;
      for (const f of [file, `${file}.wal`]) rmSync(f, { force: true });
    }
    throw err;
  } finally {
    if (open) db.close();
  }
}

/** Whether a database holds any indexed file (of any root), or an error of one. */
async function indexedAny(db: Db): Promise<boolean> {
  for (const table of ['files', 'ingest_errors'])
    if ((await tableExists(db, table)) && Number(await db.value<number>(`SELECT count(*) FROM ${table}`)) > 0)
      return true;
  return false;
}

/** Loads a metadata-only sample into a database file (created when missing). */
export async function runIngestMetadata(
  options: MetadataIngestOptions & { db: string },
): Promise<MetadataIngestReport> {
  metadataDir(options.dir); // a wrong folder is named before the database is opened (and made)
  return withDb(options.db, (db) => ingestMetadata(db, options));
}

/** Embeds into a database that `flux ingest` built (a wrong path gets a clear message, not a new database). */
export async function runEmbed(options: EmbedOptions & { db: string }): Promise<EmbedReport> {
  const settings = {
    decodeWorkers: options.decodeWorkers ?? decodeWorkers(),
    provider: options.provider ?? onnxProvider(),
  };
  embedSettings({ ...options, ...settings }); // bad options are named before the database is opened
  return withDb(options.db, (db) => embed(db, { ...options, ...settings }), { index: true });
}

/** Links the keepers of a database that `flux ingest` built to their originals. */
export async function runMatch(options: MatchOptions & { db: string }): Promise<MatchReport> {
  return withDb(options.db, (db) => match(db, options), { index: true });
}

/** Detects people and faces in the previews of a database that `flux ingest` built. */
export async function runDetect(options: DetectOptions & { db: string }): Promise<DetectReport> {
  return withDb(options.db, (db) => detect(db, options), { index: true });
}

/** Writes the HTML report of a database that `flux ingest` built (opened read-only). */
export async function runReport(options: ReportOptions & { db: string }): Promise<ReportResult> {
  return withDb(options.db, (db) => writeReport(db, options), { readOnly: true, index: true });
}
