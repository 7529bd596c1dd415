/**
 * The schema document, generated from the code: a fresh in-memory database gets every group's tables through
 * `ensureSchema`, and its catalogue (tables, views, columns, keys and the notes written as comments) is listed as
 * Markdown. docs/SCHEMA.md is this text; a test checks it is up to date.
 */
import { Db } from './duckdb.js';
import { ensureSchema } from './schema.js';
import { ensureMatchSchema } from './matching.js';
import { ensureDatasetSchema } from './dataset.js';
import { ensureCuratorSchema } from './curator.js';
import { ensureDecisionSchema } from './decisions.js';
import { ensureDetectionSchema } from './detections.js';

/** The groups whose tables their stage makes on first use, after the ones every database has from ingest. */
const STAGE_GROUPS = [
  ensureMatchSchema,
  ensureDatasetSchema,
  ensureCuratorSchema,
  ensureDecisionSchema,
  ensureDetectionSchema,
];

interface CatalogColumn {
  table_name: string;
  column_name: string;
  data_type: string;
  is_nullable: boolean;
  column_default: string | null;
  comment: string | null;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The Markdown of one table or view: its note and a row per column. */
function relationText(
  kind: 'table' | 'view',
  name: string,
  note: string | null,
  columns: CatalogColumn[],
  key: ReadonlySet<string>,
): string {
  const lines = [`### ${name} (${kind})`, ''];
  if (note) lines.push(note, '');
  lines.push('| column | type | | note |', '|---|---|---|---|');
  for (const c of columns) {
    const flags = [
      key.has(c.column_name) ? 'key' : '',
      !c.is_nullable && !key.has(c.column_name) ? 'not null' : '',
      c.column_default !== null ? `default ${c.column_default}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(`| ${c.column_name} | ${c.data_type} | ${cell(flags)} | ${cell(c.comment ?? '')} |`);
  }
  return lines.join('\n');
}

/** The schema of a fresh database, as Markdown. */
export async function schemaMarkdown(): Promise<string> {
  const db = await Db.open(':memory:');
  try {
    await ensureSchema(db);
    for (const ensure of STAGE_GROUPS) await ensure(db);
    const tables = await db.all<{ name: string; comment: string | null }>(`SELECT table_name AS name, comment
      FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary ORDER BY table_name`);
    const views = await db.all<{ name: string; comment: string | null }>(`SELECT view_name AS name, comment
      FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal AND NOT temporary ORDER BY view_name`);
    const columns = await db.all<CatalogColumn>(`SELECT table_name, column_name, data_type, is_nullable, column_default,
      comment FROM duckdb_columns() WHERE schema_name = 'main' ORDER BY table_name, column_index`);
    const keys = await db.all<{ table_name: string; columns: string[] }>(`SELECT table_name,
      constraint_column_names AS columns FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'`);
    const keyOf = (t: string): Set<string> => new Set(keys.filter((k) => k.table_name === t).flatMap((k) => k.columns));
    const of = (t: string): CatalogColumn[] => columns.filter((c) => c.table_name === t);
    return [
      '# The workbench database',
      '',
      'Generated from the code by `npm run schema-doc` (lib/db/doc.ts): the tables and views `ensureSchema` makes in a',
      'fresh database and those the matching, dataset, curator, review-decision and detection groups make on first',
      'use, with the notes each table group in lib/db/ writes as comments. `ranker_comparison` and `inbox_scores`',
      '(lib/db/models.ts) are written whole by flux train and flux score, and scoring adds its columns to `photos`;',
      'the test `schema.unit.test` fails when this file is out of date.',
      '',
      `## Tables (${tables.length})`,
      '',
      ...tables.map((t) => `${relationText('table', t.name, t.comment, of(t.name), keyOf(t.name))}\n`),
      `## Views (${views.length})`,
      '',
      ...views.map((v) => `${relationText('view', v.name, v.comment, of(v.name), new Set())}\n`),
    ].join('\n');
  } finally {
    db.close();
  }
}
