import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { schemaMarkdown } from '../lib/db/doc.js';
import { Db } from '../lib/db/duckdb.js';
import { ensureSchema } from '../lib/db/schema.js';
import { PHOTO_COLUMNS } from '../lib/db/corpus.js';
import { PROJECT } from './helpers.js';

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
