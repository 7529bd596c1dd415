import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Db } from '../lib/db/duckdb.js';
import { writeInboxScores, type InboxScore } from '../lib/db/models.js';

const row = (path: string, score: number): InboxScore => ({
  path,
  score,
  band: 'unlikely',
  surfaced: false,
  reason: null,
  raw: score,
});

test('inbox scores are replaced whole or not at all: a write that fails half way leaves the last scores', async () => {
  const db = await Db.open(':memory:');
  try {
    const model = { id: 'keeper-a', trainedAt: '2026-12-07T10:00:00.000Z' };
    await writeInboxScores(db, [row('a.JPG', 0.2), row('b.JPG', 0.4)], model, '2026-12-07 11:00:00');
    // the second write fails after the table was replaced (two rows for one path break its key)
    await assert.rejects(
      writeInboxScores(db, [row('c.JPG', 0.1), row('c.JPG', 0.3)], { id: 'keeper-b', trainedAt: null }, 'now'),
    );
    const left = await db.all<{ path: string; keeper_model: string; t: string }>(
      `SELECT path, keeper_model, CAST(model_trained_at AS VARCHAR) AS t FROM inbox_scores ORDER BY path`,
    );
    assert.deepEqual(
      left.map((r) => [r.path, r.keeper_model, r.t]),
      [
        ['a.JPG', 'keeper-a', '2026-12-07 10:00:00'],
        ['b.JPG', 'keeper-a', '2026-12-07 10:00:00'],
      ],
    );
  } finally {
    db.close();
  }
});
