import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { schemaMarkdown } from '../lib/db/doc.js';
import { Db } from '../lib/db/duckdb.js';
import { ensureSchema } from '../lib/db/schema.js';
import { PHOTO_COLUMNS } from '../lib/db/corpus.js';
import { runIngest } from '../lib/pipeline/stages.js';
import { PROJECT, tempDir } from './helpers.js';

test('docs/SCHEMA.md is the schema the code makes (regenerate it with npm run schema-doc)', async () => {
  const written = readFileSync(join(PROJECT, 'docs', 'SCHEMA.md'), 'utf8');
  const fresh = await schemaMarkdown();
  assert.equal(written, fresh, 'docs/SCHEMA.md is out of date: run npm run schema-doc');
  // the document names every table and its columns, with the notes of the table groups
  for (const table of ['meta', 'files', 'photos', 'keeper_files', 'inbox_photos', 'ingest_errors', 'descriptors']) {
    assert.match(fresh, new RegExp(`### ${table} \\(table\\)`));
  }
  assert.match(fresh, /### photo_context \(view\)/);
  assert.match(fresh, /\| photo_id \| BIGINT \| key \| from the SHA-256 of the bytes/);
  assert.match(fresh, /\| keeper \| BOOLEAN \| default (CAST\()?'?f(alse)?/);
});

test('the photo columns are declared once: the table, the metadata sample and the insert agree', async () => {
  const db = await Db.open(':memory:');
  try {
    await ensureSchema(db);
    await ensureSchema(db); // a second call changes nothing
    const cols = await db.all<{ name: string }>(
      `SELECT column_name AS name FROM duckdb_columns() WHERE table_name = 'photos' ORDER BY column_index`,
    );
    assert.deepEqual(
      cols.map((c) => c.name),
      [...PHOTO_COLUMNS],
    );
    assert.equal(PHOTO_COLUMNS.length, 24);
    assert.equal(await db.value(`SELECT value FROM meta WHERE key = 'schema_version'`), '1');
  } finally {
    db.close();
  }
});

test("another program's DuckDB file is refused by name, by ingest and the commands alike, and nothing is added", async () => {
  const t = tempDir('foreign-db');
  const make = async (name: string, sql: string): Promise<string> => {
    const file = join(t.dir, name);
    const db = await Db.open(file);
    await db.run(sql);
    db.close();
    return file;
  };
  const tablesOf = async (file: string): Promise<unknown[]> => {
    const db = await Db.open(file, { readOnly: true });
    try {
      return (await db.all<{ n: string }>(`SELECT table_name AS n FROM information_schema.tables ORDER BY n`)).map(
        (r) => r.n,
      );
    } finally {
      db.close();
    }
  };
  try {
    const originals = join(t.dir, 'ORIGINALS');
    mkdirSync(originals);
    // it has a photos table, which was all the check looked for
    const photos = await make(
      'photos.duckdb',
      `CREATE TABLE photos (id INT, name VARCHAR); INSERT INTO photos VALUES (1, 'a')`,
    );
    const shop = await make('shop.duckdb', 'CREATE TABLE customers (id INT); CREATE TABLE orders (id INT)');
    // a meta table of its own, without the workbench's schema version
    const meta = await make(
      'meta.duckdb',
      `CREATE TABLE meta (key VARCHAR, value VARCHAR); CREATE TABLE photos (id INT)`,
    );
    for (const [file, tables] of [
      [photos, 'photos'],
      [shop, 'customers, orders'],
      [meta, 'meta, photos'],
    ] as const) {
      await assert.rejects(Db.openIndex(file), {
        message:
          `--db: ${file} is not a workbench database (it has no workbench meta table; its tables: ${tables}); ` +
          'give the database flux ingest built',
      });
      await assert.rejects(runIngest({ originals, db: file }), {
        message:
          `--db: ${file} is not a workbench database (it has no workbench meta table; its tables: ${tables}); ` +
          'flux ingest adds its tables only to a new file or a database it built: give another --db',
      });
      assert.deepEqual(await tablesOf(file), tables.split(', '), 'no table added');
    }
    const empty = await make('empty.duckdb', 'SELECT 1');
    await assert.rejects(Db.openIndex(empty), {
      message:
        `--db: ${empty} is an empty database, not a workbench index yet; ` +
        `build it with flux ingest --originals DIR --keepers DIR --db ${empty}`,
    });
    // an empty file is ingested into; the index is then known by its meta table
    await runIngest({ originals, db: empty });
    const db = await Db.openIndex(empty);
    try {
      assert.equal((await db.contents()).kind, 'workbench');
      assert.equal(await db.value(`SELECT value FROM meta WHERE key = 'schema_version'`), '1');
    } finally {
      db.close();
    }
  } finally {
    t.cleanup();
  }
});

test('a SQLite file as the database is named as one; DuckDB never fetches or loads an extension by itself', async () => {
  const t = tempDir('sqlite-db');
  try {
    // the header every SQLite database starts with, then a page of nothing
    const file = join(t.dir, 'photos.sqlite');
    writeFileSync(file, Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(4080)]));
    const message = `--db: ${file} is a SQLite database, not a workbench (DuckDB) database; give the file flux ingest built`;
    await assert.rejects(Db.open(file), { message });
    await assert.rejects(Db.openIndex(file), { message });
    mkdirSync(join(t.dir, 'ORIGINALS'));
    await assert.rejects(runIngest({ originals: join(t.dir, 'ORIGINALS'), db: file }), { message });
    // a file that is no database at all: DuckDB's first line only
    const text = join(t.dir, 'notes.txt');
    writeFileSync(text, 'not a database\n');
    await assert.rejects(Db.open(text), {
      message: `--db: cannot open database ${text}: IO Error: The file "${text}" exists, but it is not a valid DuckDB database file!`,
    });
    const db = await Db.open(join(t.dir, 'flux.duckdb'));
    try {
      const settings = await db.all(
        `SELECT current_setting('autoinstall_known_extensions') AS install, current_setting('autoload_known_extensions') AS load`,
      );
      assert.deepEqual(settings, [{ install: false, load: false }]);
      // what the workbench uses is built in: Parquet written and read back
      const parquet = join(t.dir, 'x.parquet');
      await db.run(`COPY (SELECT 42 AS a) TO '${parquet}' (FORMAT parquet)`);
      assert.equal(await db.value(`SELECT a FROM read_parquet('${parquet}')`), 42);
    } finally {
      db.close();
    }
  } finally {
    t.cleanup();
  }
});
