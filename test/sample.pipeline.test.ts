import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateSample, planSample } from '../lib/0-sample/generate.js';
import { TASTE_TERMS, tasteScore, tasteTerms } from '../lib/0-sample/render.js';
import { generateMetadata } from '../lib/0-sample/metadata.js';
import { runIngestMetadata } from '../lib/pipeline/stages.js';
import { Db } from '../lib/db/duckdb.js';
import { sha256, walk } from '../lib/util/fsutil.js';
import { FluxError } from '../lib/util/check.js';
import { smallSample, SMALL_SAMPLE, tempDir } from './helpers.js';

const work = tempDir('sample');
after(() => work.cleanup());

test('the sample contains every hard case the issue names', async () => {
  const { truth } = await smallSample();
  const kinds = new Set(truth.keepers.map((k) => k.kind));
  for (const kind of [
    'copy',
    'reencode',
    'edit',
    'edit-stripped',
    'stripped-renamed',
    'shifted',
    'missing-original',
    'orphan',
    'bad',
  ] as const) {
    assert.ok(kinds.has(kind), `keeper kind ${kind} present`);
  }
  assert.ok(truth.counts.bursts! > 0, 'bursts');
  const seconds = new Map<string, number>();
  for (const p of truth.photos)
    seconds.set(p.capturedAt.slice(0, 19), (seconds.get(p.capturedAt.slice(0, 19)) ?? 0) + 1);
  assert.ok(
    [...seconds.values()].some((n) => n >= 2),
    'several frames in the same second',
  );
  assert.ok(truth.duplicates.length >= 3, 'corpus duplicates from a double import');
  assert.deepEqual(new Set(truth.bad.map((b) => b.kind)), new Set(['zero-byte', 'truncated', 'not-jpeg']));
  assert.ok(truth.sidecars.some((s) => s.endsWith('.xmp')) && truth.sidecars.some((s) => s.endsWith('.DS_Store')));
  assert.equal(truth.sessions.filter((s) => s.clockShiftHours !== 0).length, 1, 'one clock-shifted session');
  // a missing original always has a burst sibling in the corpus
  for (const k of truth.keepers.filter((x) => x.kind === 'missing-original')) {
    assert.equal(k.original, null);
    const session = truth.photos.filter((p) => p.session === k.session);
    assert.ok(session.length > 0, 'its session is in the corpus');
    assert.ok(!truth.photos.some((p) => p.sha256 === k.originalSha256), 'its original is not');
  }
  // keeper sessions differ in richness: some walks produce many more keepers than others
  const perSession = truth.sessions.map(
    (s) => truth.photos.filter((p) => p.session === s.id && p.keeper).length / s.frames,
  );
  assert.ok(
    Math.max(...perSession) > 2 * (perSession.reduce((a, b) => a + b, 0) / perSession.length),
    'uneven keeper density',
  );
});

test('keeper copies are byte-identical to their originals; re-encodes and edits are not', async () => {
  const s = await smallSample();
  const shaOf = (root: string, rel: string): string => sha256(readFileSync(join(root, rel)));
  for (const k of s.truth.keepers) {
    if (k.original === null || k.kind === 'bad') continue;
    const same = shaOf(s.keepers, k.path) === shaOf(s.originals, k.original);
    assert.equal(same, k.kind === 'copy' || k.kind === 'keeper-copy', `${k.path} (${k.kind})`);
  }
});

test('keepers follow a visible taste: kept frames score higher than the rest', async () => {
  const { truth } = await smallSample();
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const kept = truth.photos.filter((p) => p.keeper).map((p) => p.taste);
  const rest = truth.photos.filter((p) => !p.keeper && p.misfire === null).map((p) => p.taste);
  assert.ok(mean(kept) > mean(rest) + 0.5, `kept ${mean(kept).toFixed(2)} vs rest ${mean(rest).toFixed(2)}`);
});

test(
  'the plan behind a sample gives every corpus photo its scene, taste and keeper flag; the taste is the sum of ' +
    'its terms',
  async () => {
    const { truth } = await smallSample();
    const plan = planSample(truth.config);
    const byPath = new Map(plan.frames.map((f) => [`${f.folder}/${f.name}`, f]));
    for (const p of truth.photos) {
      const f = byPath.get(p.path);
      assert.ok(f, `${p.path} planned`);
      assert.equal(Math.round(f.taste * 1e4) / 1e4, p.taste, p.path);
      assert.equal(f.keeper, p.keeper, p.path);
    }
    // the score is one increasing affine function of the term sum, the same for every frame
    const scored = plan.frames.map((f) => ({ terms: tasteTerms(f.params), score: tasteScore(f.params) }));
    const pairs = scored.map(({ terms, score }) => [TASTE_TERMS.reduce((s, k) => s + terms[k], 0), score] as const);
    const lo = pairs.reduce((m, p) => (p[0] < m[0] ? p : m));
    const hi = pairs.reduce((m, p) => (p[0] > m[0] ? p : m));
    const slope = (hi[1] - lo[1]) / (hi[0] - lo[0]);
    assert.ok(slope > 0, `slope ${slope}`);
    for (const [sum, score] of pairs)
      assert.ok(Math.abs(score - (lo[1] + slope * (sum - lo[0]))) < 1e-9, `score ${score} off the line at sum ${sum}`);
    const seen = new Set(scored.flatMap(({ terms }) => TASTE_TERMS.filter((k) => terms[k] !== 0)));
    for (const t of ['fog_depth', 'lit_figure', 'thirds', 'figure_size', 'golden_hour', 'blur', 'exposure'] as const)
      assert.ok(seen.has(t), `term ${t} occurs`);
  },
);

test('the same seed writes the same archive, byte for byte; another seed does not', async () => {
  const small = { ...SMALL_SAMPLE, sessions: 4, frames: 8, keeperRate: 0.2 };
  const a = await generateSample({ out: join(work.dir, 'a'), ...small });
  const b = await generateSample({ out: join(work.dir, 'b'), ...small });
  const c = await generateSample({ out: join(work.dir, 'c'), ...small, seed: small.seed + 1 });
  const digest = (dir: string): string[] =>
    walk(dir)
      .filter((f) => f.path !== 'truth.json' && !f.path.startsWith('.flux'))
      .map((f) => `${f.path}:${sha256(readFileSync(join(dir, f.path)))}`);
  assert.deepEqual(digest(a.out), digest(b.out));
  assert.notDeepEqual(digest(a.out), digest(c.out));
  // a folder with the same sample is reused; other settings or a foreign folder are refused
  const again = await generateSample({ out: join(work.dir, 'a'), ...small });
  assert.equal(again.reused, true);
  await assert.rejects(
    generateSample({ out: join(work.dir, 'a'), ...small, frames: 9 }),
    (e: Error) => e instanceof FluxError && /other settings/.test(e.message),
  );
  await assert.rejects(
    generateSample({ out: join(work.dir, 'a', 'ORIGINALS'), ...small }),
    /not empty and is not a sample archive/,
  );
  await assert.rejects(
    generateSample({ out: join(work.dir, 'd'), ...small, sessions: 2 }),
    /--sessions: expected an integer from 4/,
  );
});

test('metadata-only sample: realistic rows that load into the data contract', async () => {
  const r = await generateMetadata({ out: join(work.dir, 'meta'), seed: 3, photos: 30_000, keepers: 1200 });
  assert.equal(r.keeperFiles, 1200);
  const dbFile = join(work.dir, 'meta.duckdb');
  const loaded = await runIngestMetadata({ dir: join(work.dir, 'meta'), db: dbFile });
  assert.equal(loaded.photos, r.photos);
  assert.ok(r.photos < 30_000 && r.photos > 29_900, 'orphans removed their originals');
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    const [row] = await db.all<Record<string, number>>(`SELECT count(DISTINCT original_filename) AS names,
      count(DISTINCT path) AS paths, count(DISTINCT session_date) AS days, max(iso) AS max_iso,
      min(year(captured_at)) AS y0, max(year(captured_at)) AS y1 FROM photos`);
    assert.equal(row?.paths, r.photos, 'paths unique');
    assert.equal(row?.names, 9999, 'the counter wraps: every Ricoh name is used, several times');
    assert.ok((row?.days ?? 0) >= 190 && (row?.y1 ?? 0) - (row?.y0 ?? 0) >= 14);
    const truth = await db.all<{ kind: string; n: number; linked: number }>(`SELECT kind, count(*) AS n,
      count(p.photo_id) AS linked FROM read_parquet('${join(work.dir, 'meta', 'metadata', 'keeper_truth.parquet')}') t
      LEFT JOIN photos p ON p.photo_id = t.true_photo_id GROUP BY kind ORDER BY kind`);
    const byKind = Object.fromEntries(truth.map((t) => [t.kind, t]));
    for (const kind of ['exif', 'copy', 'stripped', 'shifted', 'stripped-renamed', 'orphan'])
      assert.ok((byKind[kind]?.n ?? 0) > 0, `kind ${kind}`);
    assert.equal(byKind.orphan?.linked, 0, 'orphans have no original');
    assert.equal(byKind.exif?.linked, byKind.exif?.n, 'every other keeper has its original in the corpus');
  } finally {
    db.close();
  }
});
