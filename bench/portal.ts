/**
 * The review portal at the photographer's scale: the 400,000-photo metadata-only database with an inbox of new
 * photos scored into `inbox_scores` (synthetic scores, bursts of a few frames), served by `startPortal` as
 * `flux serve` does. Targets: the first inbox page under 1 s, a decision under 200 ms.
 *
 *   npm run build && node dist/bench/portal.js [--photos 400000] [--inbox 5000] [--runs 20]
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Db } from '../lib/db/duckdb.js';
import { runIngestMetadata } from '../lib/pipeline/stages.js';
import { generateMetadata } from '../lib/0-sample/metadata.js';
import { startPortal } from '../lib/portal/server.js';

const { values } = parseArgs({
  options: {
    photos: { type: 'string', default: '400000' },
    inbox: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '20' },
    keep: { type: 'boolean' },
    dir: { type: 'string', default: join(tmpdir(), 'flux-bench-portal') },
  },
});
const dir = values.dir as string;
const inboxSize = Number(values.inbox);
const runs = Number(values.runs);
rmSync(dir, { recursive: true, force: true });
const meta = await generateMetadata({ out: dir, photos: Number(values.photos) });
const dbFile = join(dir, 'flux.duckdb');
await runIngestMetadata({ dir, db: dbFile });

// an inbox: walks of frames 1-40 s apart, every fifth frame followed by a burst, scores from a hash
const db = await Db.open(dbFile);
await db.run(`INSERT INTO inbox_photos (inbox_id, path, sha256, bytes, captured_at, preview)
  SELECT 1000000 + i, printf('2026/12/new/R%07d.JPG', i), md5(i::VARCHAR), 4000000,
    TIMESTAMP '2026-12-01 09:00:00'
      + to_seconds(i // 500 * 86400 + sum(CASE WHEN i % 5 = 0 THEN 20 ELSE 1 END) OVER (ORDER BY i)),
    NULL FROM range(${inboxSize}) t(i)`);
await db.run(`CREATE OR REPLACE TABLE inbox_scores (path VARCHAR PRIMARY KEY, keeper_score DOUBLE, band VARCHAR,
  surfaced BOOLEAN,
  reason VARCHAR, raw_score DOUBLE, keeper_model VARCHAR, scored_at TIMESTAMP)`);
await db.run(`INSERT INTO inbox_scores SELECT path, s,
  CASE WHEN s >= 0.8 THEN 'review' WHEN s >= 0.5 THEN 'uncertain' ELSE 'unlikely' END,
  s >= 0.9, NULL, s, 'bench', now() FROM (SELECT path, (hash(inbox_id) % 100000) / 100000.0 AS s FROM inbox_photos)`);
const ids = (
  await db.all<{ id: number }>(`SELECT inbox_id AS id FROM inbox_photos ORDER BY inbox_id LIMIT ${Math.max(1, runs)}`)
).map((r) => r.id);
db.close();

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const timed = async (work: () => Promise<Response>): Promise<number> => {
  const t0 = performance.now();
  const res = await work();
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${res.status} ${res.url}`);
  return performance.now() - t0;
};

const portal = await startPortal({ db: dbFile, port: 0 });
try {
  const page = `${portal.url}api/inbox?limit=60&stacks=1`;
  const first = await timed(() => fetch(page));
  const pages = [];
  for (let i = 0; i < runs; i++) pages.push(await timed(() => fetch(`${page}&offset=${60 * i}`)));
  const flat = [];
  for (let i = 0; i < runs; i++)
    flat.push(await timed(() => fetch(`${portal.url}api/inbox?limit=100&offset=${100 * i}`)));
  const decisions = [];
  for (const id of ids) {
    decisions.push(
      await timed(() =>
        fetch(`${portal.url}api/decisions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ photo_id: id, decision: id % 2 ? 'keep' : 'reject' }),
        }),
      ),
    );
  }
  const html = await timed(() => fetch(portal.url));
  // a decision after a pause: the portal has let go of the database and opens it again
  await portal.release();
  const cold = await timed(() =>
    fetch(`${portal.url}api/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ photo_id: ids[0], decision: 'reject' }),
    }),
  );
  console.log(`portal benchmark: ${meta.photos} photos in the database, an inbox of ${inboxSize}, ${runs} runs each`);
  console.log(`  first inbox page (60 bursts, stacked): ${first.toFixed(0)} ms (target < 1000)`);
  console.log(`  inbox page, stacked, median ${median(pages).toFixed(0)} ms, max ${Math.max(...pages).toFixed(0)} ms`);
  console.log(
    `  inbox page, flat (100 photos), median ${median(flat).toFixed(0)} ms, max ${Math.max(...flat).toFixed(0)} ms`,
  );
  console.log(
    `  decision (POST, committed): median ${median(decisions).toFixed(0)} ms, ` +
      `max ${Math.max(...decisions).toFixed(0)} ms (target < 200)`,
  );
  console.log(`  decision after a pause (database opened again): ${cold.toFixed(0)} ms`);
  console.log(`  page HTML ${html.toFixed(0)} ms`);
} finally {
  await portal.close();
}
if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
