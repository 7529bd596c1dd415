/**
 * Tables described as data: each column once, with its type and what it holds. The DDL and the column comments
 * (which docs/SCHEMA.md is generated from) both come from the description.
 */
import { lit, type Db, type SqlValue } from './duckdb.js';

/** Whether the database has a table of this name (a stage not run yet has not made its tables). */
export async function tableExists(db: Db, name: string): Promise<boolean> {
  return Number(await db.value('SELECT count(*) FROM information_schema.tables WHERE table_name = ?', [name])) > 0;
}

/** One column: its name, its DuckDB type (with NOT NULL, DEFAULT ... when it has them) and what it holds. */
export interface ColumnSpec {
  readonly name: string;
  readonly type: string;
  readonly note?: string;
}

/** One table: its columns in order, its primary key and what it is for. */
export interface TableSpec {
  readonly name: string;
  readonly note: string;
  readonly columns: readonly ColumnSpec[];
  readonly key?: readonly string[];
}

/** A column description. */
export function col(name: string, type: string, note?: string): ColumnSpec {
  return note === undefined ? { name, type } : { name, type, note };
}

/** The `CREATE TABLE IF NOT EXISTS` statement of a table. */
export function tableDdl(spec: TableSpec): string {
  const lines = spec.columns.map((c) => `  ${c.name} ${c.type}`);
  if (spec.key) lines.push(`  PRIMARY KEY (${spec.key.join(', ')})`);
  return `CREATE TABLE IF NOT EXISTS ${spec.name} (\n${lines.join(',\n')}\n)`;
}

/**
 * Creates the tables that do not exist yet, with their notes as table and column comments. Tables that exist are
 * left as they are (their columns and rows stay; comments are written only when a table is made).
 */
export async function createTables(db: Db, specs: readonly TableSpec[]): Promise<void> {
  const existing = new Set(
    (
      await db.all<{ name: string }>(
        `SELECT table_name AS name FROM duckdb_tables()
    WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary`,
      )
    ).map((r) => r.name),
  );
  for (const spec of specs) {
    if (existing.has(spec.name)) continue;
    const comments = [
      `COMMENT ON TABLE ${spec.name} IS ${lit(spec.note)}`,
      ...spec.columns
        .filter((c) => c.note)
        .map((c) => `COMMENT ON COLUMN ${spec.name}.${c.name} IS ${lit(c.note as string)}`),
    ];
    await db.run([tableDdl(spec), ...comments].join(';\n'));
  }
}

/** The names of a table's columns, in order. */
export function columnNames(spec: TableSpec): string[] {
  return spec.columns.map((c) => c.name);
}

/** The column names of a table of the database's main schema, in order; empty when there is no such table. */
export async function tableColumns(db: Db, table: string): Promise<string[]> {
  const rows = await db.all<{ name: string }>(
    `SELECT column_name AS name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ?
    ORDER BY column_index`,
    [table],
  );
  return rows.map((r) => r.name);
}

/** A row to write, by column name; columns it does not name are written as NULL. */
export type Values = Readonly<Record<string, SqlValue>>;

/** The values of `rows` in the order of `columns`. */
export function valuesOf(columns: readonly string[], rows: readonly Values[]): SqlValue[][] {
  return rows.map((r) => columns.map((c) => r[c] ?? null));
}

/** `?, ?, ...` for an IN list of n values. */
export function inList(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}
