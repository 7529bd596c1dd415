import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Db } from '../lib/db/duckdb.js';
import { sessionStats } from '../lib/8-analysis/sessions.js';
import { runIngest } from '../lib/pipeline/stages.js';
import { matchAt, smallSample, tempDir } from './helpers.js';

const work = tempDir('sessions');
after(() => work.cleanup());
let dbFile: string;

before(async () => {
  const sample = await smallSample();
  dbFile = join(work.dir, 'flux.duckdb');
  await runIngest({ originals: sample.originals, keepers: sample.keepers, db: dbFile });
  await matchAt(dbFile);
});

test('keeper density per walk adds up and agrees with the ground truth', async () => {
  const { truth } = await smallSample();
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    const s = await sessionStats(db, 3);
    const photos = s.sessions.reduce((n, r) => n + r.photos, 0);
    const keepers = s.sessions.reduce((n, r) => n + r.keepers, 0);
    assert.equal(photos, truth.photos.length);
    assert.equal(keepers, Number(await db.value('SELECT count(*) FROM photos WHERE keeper')));
    for (const group of [s.byHour, s.byWeekday, s.bySeason] as Array<Array<{ photos: number; keepers: number }>>) {
      assert.equal(
        group.reduce((n, r) => n + r.photos, 0),
        photos,
      );
      assert.equal(
        group.reduce((n, r) => n + r.keepers, 0),
        keepers,
      );
    }
    assert.equal(
      s.byLength.reduce((n, r) => n + r.sessions, 0),
      s.sessions.length,
    );
    for (const r of s.sessions) assert.ok(Math.abs(r.density - r.keepers / r.photos) < 1e-12);
    // the walk with the most keepers in the index is the one the truth says
    const perWalk = new Map<string, number>();
    for (const p of truth.photos) {
      const walk = p.path.split('/')[2] as string;
      if (p.keeper) perWalk.set(walk, (perWalk.get(walk) ?? 0) + 1);
    }
    const most = Math.max(...perWalk.values());
    assert.equal(s.top[0]?.keepers, most);
    assert.ok(s.top.length === 3 && (s.top[0]?.keepers ?? 0) >= (s.top[2]?.keepers ?? 0));
  } finally {
    db.close();
  }
});
