/**
 * What could not be indexed or embedded, for the user: the lines `flux ingest` prints after its table, and the
 * `flux errors` command that lists every file the index holds a problem against (with a CSV for a spreadsheet).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IngestReport } from '../1-ingest/ingest.js';
import { ingestProblems, type FileProblem } from '../db/corpus.js';
import { withDb, type Db } from '../db/duckdb.js';
import { archiveRoots } from '../db/schema.js';
import { embedFailures } from '../db/vectors.js';
import { csvCell } from '../util/csv.js';
import { assertOutsideArchive, checkOutFile, writeFileAtomic } from '../util/fsutil.js';
import { plural, printable } from '../util/text.js';
import { tableExists } from '../db/table.js';

/** How many failed files `flux ingest` names before it counts the rest. */
export const LISTED_FAILURES = 20;

/** One line per problem: where, and why. */
export function problemLine(p: FileProblem): string {
  const what = p.kind === 'error' ? 'not indexed' : p.kind === 'warning' ? 'indexed with a warning' : 'not embedded';
  return `${what}: ${p.root}/${printable(p.path)}: ${p.stage}: ${printable(p.message)}`;
}

/**
 * The lines `flux ingest` prints after its table: each root without any JPEG (and where it looked), the files not
 * indexed with their reasons (the first 20, then how many more), and where the previews are when there are any.
 */
export function ingestNotes(report: IngestReport, dbFile: string): string[] {
  const lines: string[] = [];
  for (const r of report.roots) {
    if (r.jpegs > 0) continue;
    const other = r.files > 0 ? `; ${plural(r.files, 'other file')} there, none of them a photo` : '';
    lines.push(`no JPEG found in --${r.root} ${r.dir} (looked in it and every folder below it)${other}`);
  }
  const failed = report.problems.filter((p) => p.kind === 'error');
  for (const p of failed.slice(0, LISTED_FAILURES)) lines.push(problemLine(p));
  const warned = report.problems.length - failed.length;
  const rest = failed.length - LISTED_FAILURES;
  if (rest > 0 || (failed.length > 0 && warned > 0)) {
    const more = [
      rest > 0 ? `${plural(rest, 'more file')} not indexed` : '',
      warned > 0 ? `${plural(warned, 'photo')} indexed with a warning` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    lines.push(`... ${more}: flux errors --db ${dbFile} lists them all`);
  } else if (warned > 0) {
    lines.push(`${plural(warned, 'photo')} indexed with a warning: flux errors --db ${dbFile} lists them`);
  }
  const previews = join(report.workspace, 'previews');
  lines.push(`database ${report.db}`);
  if (existsSync(previews)) lines.push(`previews ${previews}`);
  return lines;
}

const CSV_HEAD = ['kind', 'root', 'path', 'stage', 'message'] as const;

/** Every problem the index holds: files not indexed, photos indexed with a warning, images not embedded. */
export async function allProblems(db: Db): Promise<FileProblem[]> {
  const embed = (await tableExists(db, 'embed_errors'))
    ? (await embedFailures(db)).map((f): FileProblem => ({
        kind: 'embed',
        root: f.set,
        path: f.preview ?? '',
        stage: f.model_id,
        message: f.message,
      }))
    : [];
  return [...(await ingestProblems(db)), ...embed];
}

/** The problems as CSV (formula-safe cells). */
export function problemsCsv(problems: readonly FileProblem[]): string {
  const rows = [CSV_HEAD.join(','), ...problems.map((p) => CSV_HEAD.map((k) => csvCell(p[k])).join(','))];
  return `${rows.join('\n')}\n`;
}

/** `flux errors`: prints every problem and, with a CSV file, writes them there; returns the lines printed. */
export async function listErrors(dbFile: string, csv: string | undefined): Promise<string[]> {
  const csvFile = csv === undefined ? null : checkOutFile('--csv', csv, 'errors.csv');
  const problems = await withDb(
    dbFile,
    async (db) => {
      if (csvFile) assertOutsideArchive('--csv', csvFile, await archiveRoots(db));
      return allProblems(db);
    },
    { index: true, readOnly: true },
  );
  const count = (kind: FileProblem['kind']): number => problems.filter((p) => p.kind === kind).length;
  const lines = problems.map(problemLine);
  lines.push(
    `${plural(count('error'), 'file')} not indexed, ${plural(count('warning'), 'photo')} indexed with a ` +
      `warning, ${plural(count('embed'), 'image')} not embedded`,
  );
  if (csvFile) {
    writeFileAtomic(csvFile, problemsCsv(problems));
    lines.push(`written to ${csvFile}`);
  }
  return lines;
}
