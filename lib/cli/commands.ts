/**
 * The subcommands of `flux`, their options and how they print their results.
 */
import type { ParseArgsConfig } from 'node:util';
import { resolve } from 'node:path';
import { generateSample } from '../sample/generate.js';
import { generateMetadata } from '../sample/metadata.js';
import { ingest, ingestMetadata, type IngestReport } from '../ingest/ingest.js';
import { FluxError } from '../util/check.js';
import type { OnProgress } from '../util/progress.js';

type Values = Record<string, string | boolean | undefined>;

export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run: (values: Values, positionals: string[], onProgress: OnProgress) => Promise<void>;
}

const str = (v: Values, key: string): string | undefined => (typeof v[key] === 'string' ? v[key] as string : undefined);
const num = (v: Values, key: string): number | undefined => {
  const s = str(v, key);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n)) throw new FluxError(`--${key}: expected a number, received "${s}"`);
  return n;
};
const need = (v: Values, key: string, cmd: string): string => {
  const s = str(v, key);
  if (!s) throw new FluxError(`flux ${cmd}: --${key} is required`);
  return s;
};

/** Prints an ingest report as a small table. */
export function formatIngest(report: IngestReport): string {
  const head = ['root', 'files', 'unchanged', 'ok', 'duplicate', 'skipped', 'failed', 'vanished'];
  const rows = report.roots.map((r) => [r.root, r.files, r.unchanged, r.ok, r.duplicate, r.skipped, r.failed, r.vanished].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(head), ...rows.map(line), `database ${report.db}`, `previews ${report.workspace}/previews`, `${report.seconds.toFixed(1)} s`].join('\n');
}

export const COMMANDS: Record<string, Command> = {
  sample: {
    summary: 'write the built-in sample archive (ORIGINALS, KEEPERS, INBOX, truth.json)',
    usage: [
      'flux sample --out DIR [--seed 7] [--sessions 24] [--frames 60] [--width 768] [--height 512] [--quality 88]',
      'flux sample --metadata-only --out DIR [--seed 7] [--photos 400000] [--keepers 15000]',
      '',
      'The same seed always writes the same archive. --metadata-only writes Parquet rows (no pixels) for scale tests;',
      'load them with flux ingest --from-metadata DIR --db FILE.',
    ].join('\n'),
    options: {
      out: { type: 'string' }, seed: { type: 'string' }, sessions: { type: 'string' }, frames: { type: 'string' },
      width: { type: 'string' }, height: { type: 'string' }, quality: { type: 'string' }, 'keeper-rate': { type: 'string' },
      author: { type: 'string' }, 'metadata-only': { type: 'boolean' }, photos: { type: 'string' }, keepers: { type: 'string' },
    },
    async run(v, _p, onProgress) {
      const out = need(v, 'out', 'sample');
      if (v['metadata-only']) {
        const r = await generateMetadata({ out, seed: num(v, 'seed'), photos: num(v, 'photos'), keepers: num(v, 'keepers'), onProgress });
        console.log(`wrote ${r.photos} photo rows and ${r.keeperFiles} keeper rows to ${r.dir} in ${r.seconds.toFixed(1)} s`);
        return;
      }
      const r = await generateSample({
        out, seed: num(v, 'seed'), sessions: num(v, 'sessions'), frames: num(v, 'frames'), width: num(v, 'width'),
        height: num(v, 'height'), quality: num(v, 'quality'), keeperRate: num(v, 'keeper-rate'), author: str(v, 'author'), onProgress,
      });
      const c = r.truth.counts;
      console.log(`${r.reused ? 'already there' : 'wrote'}: ${c.corpusPhotos} originals (+${c.corpusDuplicates} duplicates), ` +
        `${c.keeperFiles} keeper files, ${c.inbox} inbox photos, ${c.bad} bad files, in ${r.seconds.toFixed(1)} s`);
      console.log(`originals ${r.originals}\nkeepers   ${r.keepers}\ninbox     ${r.inbox}\ntruth     ${r.truthFile}`);
    },
  },
  ingest: {
    summary: 'index originals, keepers and an inbox into DuckDB (read-only on the archive)',
    usage: [
      'flux ingest --originals DIR --keepers DIR [--inbox DIR] --db FILE [--workspace DIR] [--concurrency N]',
      'flux ingest --from-metadata DIR --db FILE',
      '',
      'Each file is read once: SHA-256, EXIF and a small preview in the workspace (default: the database folder).',
      'Unchanged files (same size and mtime) are skipped; an interrupted run resumes where it stopped.',
    ].join('\n'),
    options: {
      originals: { type: 'string' }, keepers: { type: 'string' }, inbox: { type: 'string' }, db: { type: 'string' },
      workspace: { type: 'string' }, concurrency: { type: 'string' }, 'from-metadata': { type: 'string' },
    },
    async run(v, _p, onProgress) {
      const db = resolve(need(v, 'db', 'ingest'));
      const meta = str(v, 'from-metadata');
      if (meta) {
        const r = await ingestMetadata({ dir: meta, db, onProgress });
        console.log(`loaded ${r.photos} photos and ${r.keeperFiles} keeper files into ${r.db} in ${r.seconds.toFixed(1)} s`);
        return;
      }
      const report = await ingest({
        originals: str(v, 'originals'), keepers: str(v, 'keepers'), inbox: str(v, 'inbox'), db, workspace: str(v, 'workspace'),
        concurrency: num(v, 'concurrency'), onProgress,
      });
      console.log(formatIngest(report));
    },
  },
};
