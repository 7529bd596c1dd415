/**
 * The curator on an index with nothing to spread its picks over says what is missing: no photo at all (the
 * originals held no JPEG), not a bare "run flux embed first".
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { curate } from '../lib/7-curate/curate.js';
import { withDb } from '../lib/db/duckdb.js';
import { runEmbed, runIngest } from '../lib/pipeline/stages.js';
import { tempDir } from './helpers.js';

const work = tempDir('curate-empty');
after(() => work.cleanup());

test('an archive without a JPEG: ingest, embed, then curate names the empty originals folder', async () => {
  const originals = join(work.dir, 'ORIGINALS');
  mkdirSync(join(originals, '2024'), { recursive: true });
  writeFileSync(join(originals, '2024', 'notes.txt'), 'not a photo');
  const db = join(work.dir, 'flux.duckdb');
  await runIngest({ originals, db });
  const embedded = await runEmbed({ db, model: 'none' });
  assert.equal(
    embedded.sets.reduce((n, s) => n + s.images, 0),
    0,
  );
  await assert.rejects(
    withDb(db, (d) => curate(d, { target: 5 }), { index: true }),
    (e: Error) => {
      assert.equal(
        e.message,
        `curate: the index holds no photos: flux ingest found no JPEG under ${originals}; ` +
          'ingest a folder of photos with flux ingest --originals DIR first',
      );
      return true;
    },
  );
});
