/**
 * The one module that touches DuckDB. The rest of the workbench calls `run`, `all` and `transaction` with SQL
 * and plain values; BIGINTs come back as numbers when they are safe integers.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ARRAY, DuckDBInstance, FLOAT, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { FluxError } from '../util/check.js';
import { makeDir } from '../util/fsutil.js';
import { someOf } from '../util/text.js';
import { DbBusyError, openWhenFree } from './busy.js';

/** A value bound to a `?` placeholder. */
export type SqlValue = string | number | bigint | boolean | null;
/** A row as plain JavaScript values. */
export type Row = Record<string, unknown>;

function plain(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  return value;
}

/** The first bytes of every SQLite database file. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** True when `path` is a file that starts as a SQLite database does (a missing or unreadable one is not). */
function isSqlite(path: string): boolean {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(SQLITE_HEADER.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(SQLITE_HEADER);
  } catch {
    return false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** An open workbench database. */
export class Db {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    /** Absolute path of the database file (`:memory:` for an in-memory one). */
    readonly file: string,
  ) {}

  /**
   * Opens a workbench database that `flux ingest` has built: a wrong path or a file that is not one gets a clear
   * message instead of a new empty database.
   */
  static async openIndex(file: string, options: { readOnly?: boolean; waitMs?: number } = {}): Promise<Db> {
    const path = resolve(file);
    if (!existsSync(path)) {
      throw new FluxError(
        `--db: no database at ${path}; build it first with ` + `flux ingest --originals DIR --keepers DIR --db ${file}`,
      );
    }
    const db = await Db.open(path, options);
    let problem: string | null;
    try {
      problem = await notAnIndex(db, file);
    } catch (err) {
      db.close();
      throw err;
    }
    if (problem) {
      db.close();
      throw new FluxError(`--db: ${path} ${problem}`);
    }
    return db;
  }

  /**
   * What the file holds: `workbench` when its `meta` table has the schema version (ingest writes it before its other
   * tables), `empty` when it has no table or view at all, else `other` (another program's database); with the names
   * of its tables and views, `schema.name` outside the main schema.
   */
  async contents(): Promise<{ kind: 'workbench' | 'empty' | 'other'; tables: string[] }> {
    const tables = (
      await this.all<{ name: string }>(
        `SELECT CASE WHEN table_schema = 'main' THEN table_name ELSE table_schema || '.' || table_name END AS name
        FROM information_schema.tables WHERE table_catalog = current_database() ORDER BY name`,
      )
    ).map((r) => r.name);
    if (tables.length === 0) return { kind: 'empty', tables };
    if (!tables.includes('meta')) return { kind: 'other', tables };
    const version = await this.value(`SELECT value FROM meta WHERE key = 'schema_version'`).catch(() => null);
    return { kind: version === null ? 'other' : 'workbench', tables };
  }

  /**
   * Opens (creating when needed) a database file. DuckDB is kept from fetching or loading extensions on its own (the
   * workbench needs only those built in): a SQLite file, which DuckDB would try to open by downloading its sqlite
   * extension, is named as one instead.
   */
  static async open(file: string, options: { readOnly?: boolean; waitMs?: number } = {}): Promise<Db> {
    const path = file === ':memory:' ? file : resolve(file);
    // a folder that cannot be made (a file in the way, no permission) is named, with why
    if (path !== ':memory:' && !options.readOnly) makeDir('--db', dirname(path));
    try {
      // another process holding the file (the review portal, mid-request) gets a wait or a message naming it
      const instance = await openWhenFree(
        path,
        () =>
          DuckDBInstance.create(path, {
            autoinstall_known_extensions: 'false',
            autoload_known_extensions: 'false',
            ...(options.readOnly ? { access_mode: 'READ_ONLY' } : {}),
          }),
        options.waitMs,
      );
      const connection = await instance.connect();
      return new Db(instance, connection, path);
    } catch (err) {
      if (err instanceof DbBusyError) throw err;
      // a SQLite file, which DuckDB cannot open without the extension it is kept from fetching: named as one (read
      // only when the open failed, not on every open)
      if (path !== ':memory:' && isSqlite(path)) {
        throw new FluxError(
          `--db: ${path} is a SQLite database, not a workbench (DuckDB) database; give the file flux ingest built`,
        );
      }
      // DuckDB's first line says what is wrong; the lines after it are hints for DuckDB's own users
      throw new FluxError(`--db: cannot open database ${path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  /** Runs one or more statements. */
  async run(sql: string, params: SqlValue[] = []): Promise<void> {
    await this.connection.run(sql, params.length ? (params as DuckDBValue[]) : undefined);
  }

  /** Runs a query and returns its rows as plain objects. */
  async all<T extends object = Row>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, params.length ? (params as DuckDBValue[]) : undefined);
    return reader.getRowObjectsJS().map((row) => {
      const out: Row = {};
      for (const [k, v] of Object.entries(row)) out[k] = plain(v);
      return out as unknown as T;
    });
  }

  /** The first column of the first row, or null. */
  async value<T = unknown>(sql: string, params: SqlValue[] = []): Promise<T | null> {
    const rows = await this.all(sql, params);
    const first = rows[0];
    return first ? (Object.values(first)[0] as T) : null;
  }

  /** Runs `work` inside a transaction: all of it lands, or none of it. */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    await this.connection.run('BEGIN TRANSACTION');
    try {
      const out = await work();
      await this.connection.run('COMMIT');
      return out;
    } catch (err) {
      await this.connection.run('ROLLBACK');
      throw err;
    }
  }

  /** Makes (or remakes) a temporary table from a query: scratch work of this connection, gone when it closes. */
  async tempTable(name: string, query: string): Promise<void> {
    await this.run(`CREATE OR REPLACE TEMP TABLE ${name} AS ${query}`);
  }

  /** Inserts rows with one multi-row statement per chunk. Columns are named once; values keep their order. */
  async insert(table: string, columns: readonly string[], rows: readonly SqlValue[][], verb = 'INSERT'): Promise<void> {
    const chunk = Math.max(1, Math.floor(2000 / Math.max(1, columns.length)));
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    for (let i = 0; i < rows.length; i += chunk) {
      const part = rows.slice(i, i + chunk);
      const sql = `${verb} INTO ${table} (${columns.join(', ')}) VALUES ${part.map(() => tuple).join(', ')}`;
      await this.run(sql, part.flat());
    }
  }

  /**
   * Appends rows of (BIGINT id, INTEGER view, FLOAT[dim] vector, ...VARCHAR extras) to a table, quickly
   * (the appender skips SQL parsing).
   */
  async appendVectors(
    table: string,
    dim: number,
    rows: ReadonlyArray<{ id: number; view: number; vector: Float32Array }>,
  ): Promise<void> {
    const appender = await this.connection.createAppender(table);
    const type = ARRAY(FLOAT, dim);
    try {
      for (const r of rows) {
        appender.appendBigInt(BigInt(r.id));
        appender.appendInteger(r.view);
        appender.appendArray(Array.from(r.vector), type);
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  /** Appends rows of two BIGINT columns (id pairs) to a table. */
  async appendPairs(table: string, rows: ReadonlyArray<readonly [number, number]>): Promise<void> {
    const appender = await this.connection.createAppender(table);
    try {
      for (const [a, b] of rows) {
        appender.appendBigInt(BigInt(a));
        appender.appendBigInt(BigInt(b));
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  /**
   * Appends plain rows through the appender (no SQL parsing: fast for hundreds of thousands of rows). `kinds`
   * gives each column's type; null appends NULL.
   */
  async append(
    table: string,
    kinds: ReadonlyArray<'bigint' | 'integer' | 'double' | 'varchar' | 'boolean'>,
    rows: ReadonlyArray<readonly SqlValue[]>,
  ): Promise<void> {
    const appender = await this.connection.createAppender(table);
    try {
      for (const row of rows) {
        kinds.forEach((k, i) => {
          const v = row[i];
          if (v === null || v === undefined) appender.appendNull();
          else if (k === 'bigint') appender.appendBigInt(BigInt(v as number));
          else if (k === 'integer') appender.appendInteger(Number(v));
          else if (k === 'double') appender.appendDouble(Number(v));
          else if (k === 'boolean') appender.appendBoolean(Boolean(v));
          else appender.appendVarchar(String(v));
        });
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  /** Closes the connection and the database. */
  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** Another program's database in words, with what it holds. */
export const notWorkbench = (tables: readonly string[]): string =>
  `is not a workbench database (it has no workbench meta table; its tables: ${someOf(tables)})`;

/**
 * Why an open database is no index `flux ingest` built (with what to do, naming `file` as the user gave it), or
 * null when it is one.
 */
async function notAnIndex(db: Db, file: string): Promise<string | null> {
  const { kind, tables } = await db.contents();
  const build = `build it with flux ingest --originals DIR --keepers DIR --db ${file}`;
  if (kind === 'empty') return `is an empty database, not a workbench index yet; ${build}`;
  if (kind === 'other') {
    return `${notWorkbench(tables)}; give the database flux ingest built`;
  }
  if (!tables.includes('photos')) return `holds no index yet (flux ingest stopped before it made it); ${build}`;
  return null;
}

/** Opens a database, runs `work`, and closes it whatever happens. */
export async function withDb<T>(
  file: string,
  work: (db: Db) => Promise<T>,
  options: { readOnly?: boolean; index?: boolean } = {},
): Promise<T> {
  const db = options.index ? await Db.openIndex(file, options) : await Db.open(file, options);
  try {
    return await work(db);
  } finally {
    db.close();
  }
}

/** A SQL string literal, for the places DuckDB takes no parameter (file names in COPY and read_parquet). */
export function lit(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
