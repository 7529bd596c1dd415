/**
 * The data contract. DuckDB is the single store; each table group in lib/db/ holds its own tables (DDL, typed
 * writes and lookups), and `ensureSchema` makes every group's tables. docs/SCHEMA.md is generated from them
 * (`npm run schema-doc`).
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FluxError } from '../util/check.js';
import { notWorkbench, type Db } from './duckdb.js';
import { ensureCorpusSchema, ensureMetaTable, setMeta } from './corpus.js';
import { ensureVectorSchema } from './vectors.js';

export { CONTEXT_NAMES, WALK_NAMES } from './vectors.js';

/** Bumped when a table changes shape; recorded in `meta`. */
export const SCHEMA_VERSION = 1;

/**
 * Creates the tables of every group that do not exist yet and records the schema version, first: a run stopped
 * before the other tables leaves a database still known as the workbench's. Another program's database (tables,
 * but no workbench meta) is refused, naming the file, before anything is added to it.
 */
export async function ensureSchema(db: Db): Promise<void> {
  const { kind, tables } = await db.contents();
  if (kind === 'other') {
    throw new FluxError(
      `--db: ${db.file} ${notWorkbench(tables)}; flux ingest adds its tables only to a new file or a database it ` +
        'built: give another --db',
    );
  }
  await ensureMetaTable(db);
  await setMeta(db, 'schema_version', String(SCHEMA_VERSION));
  // one line per table group, corpus first (the others refer to its tables)
  await ensureCorpusSchema(db);
  await ensureVectorSchema(db);
}

/**
 * The archive folders ingest recorded (`originals`, `keepers`, `inbox` -> path): places the workbench never writes.
 */
export async function archiveRoots(db: Db): Promise<Record<string, string>> {
  const rows = await db.all<{ key: string; value: string }>(`SELECT key, value FROM meta WHERE key LIKE 'root.%'`);
  return Object.fromEntries(rows.map((r) => [r.key.slice('root.'.length), r.value]));
}

/** The workspace recorded by ingest (where the previews are), else the database's folder. */
export async function workspaceOf(db: Db): Promise<string> {
  const ws = await db.value<string>(`SELECT value FROM meta WHERE key = 'workspace'`).catch(() => null);
  if (ws === null) return dirname(db.file);
  // recorded relative to the database's folder when it lies there (the default), so the two can move together
  const abs = resolve(dirname(db.file), ws);
  if (!existsSync(abs)) {
    throw new FluxError(
      `${db.file}: its workspace (previews, embeddings) ${abs} is not there; was it moved? ` +
        `Move it back, or run flux ingest --db ${db.file} --workspace NEW_FOLDER with the same archive folders ` +
        'to rebuild the previews there',
    );
  }
  return abs;
}
