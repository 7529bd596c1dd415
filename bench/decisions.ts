/**
 * Do a few hundred review decisions improve the ranking of the next inbox? On a planted archive whose hidden taste
 * is known (lib/0-sample/generate.ts), per seed:
 *
 * 1. the corpus (sample `seed`) is ingested, embedded, matched, and a model is trained (`flux train`);
 * 2. inbox A (the frames of another sample by the same photographer, seed + 1000, never in the corpus) is scored,
 *    and the photographer decides its top `--decisions` frames by score: keep when the frame's hidden taste reaches
 *    the weakest kept frame's of the corpus (the demo's "keeper-like"), else reject;
 * 3. the model is trained again with the same seed: the decisions are the only difference;
 * 4. inbox B (seed + 2000, unseen by both) is scored by both models, and their rankings are compared against its
 *    hidden truth: AP on keeper-like frames and the soft AUC (the share of frame pairs of different hidden taste
 *    the score orders as the taste does), paired on the same frames, with a paired bootstrap interval over B's
 *    frames per seed and a t interval over the seeds.
 *
 *   npm run build && node dist/bench/decisions.js [--seeds 3,4,5] [--sessions 12] [--frames 30] [--inbox-walks 8]
 *     [--decisions 250] [--arch pairwise|compare|logistic|...] [--width 160] [--height 107] [--dir DIR]
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSample, type SampleResult } from '../lib/0-sample/generate.js';
import { Db, withDb } from '../lib/db/duckdb.js';
import { recordDecision } from '../lib/db/decisions.js';
import { averagePrecision } from '../lib/5-rank/metrics.js';
import type { Arch } from '../lib/5-rank/scorers.js';
import { scoreInbox } from '../lib/pipeline/inbox.js';
import { runEmbed, runIngest, runMatch } from '../lib/pipeline/stages.js';
import { trainAndScore } from '../lib/pipeline/train-and-score.js';
import { Rng } from '../lib/util/rng.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3,4,5' },
    sessions: { type: 'string', default: '12' },
    frames: { type: 'string', default: '30' },
    'inbox-walks': { type: 'string', default: '8' },
    decisions: { type: 'string', default: '250' },
    arch: { type: 'string', default: 'pairwise' },
    width: { type: 'string', default: '160' },
    height: { type: 'string', default: '107' },
    dir: { type: 'string', default: join(tmpdir(), 'flux-bench-decisions') },
  },
});
const seeds = String(values.seeds).split(',').map(Number);
const size = { frames: Number(values.frames), width: Number(values.width), height: Number(values.height) };
const arch = values.arch as Arch | 'compare';
const nDecisions = Number(values.decisions);

interface Truth {
  photos: Array<{ path: string; taste: number; keeper: boolean; misfire: string | null }>;
}
const truthOf = (s: SampleResult): Truth => JSON.parse(readFileSync(s.truthFile, 'utf8')) as Truth;

/** The soft AUC: of the frame pairs whose hidden taste differs, the share the score orders as the taste (ties 1/2). */
function softAuc(score: readonly number[], taste: readonly number[]): number {
  let good = 0;
  let all = 0;
  for (let i = 0; i < score.length; i++) {
    for (let j = 0; j < score.length; j++) {
      if ((taste[i] as number) <= (taste[j] as number)) continue;
      all += 1;
      const d = (score[i] as number) - (score[j] as number);
      good += d > 0 ? 1 : d === 0 ? 0.5 : 0;
    }
  }
  return good / Math.max(1, all);
}

/** The inbox's raw model scores by path (the ranking; the calibrated score ties photos). */
async function inboxScores(dbFile: string): Promise<Map<string, number>> {
  const rows = await withDb(
    dbFile,
    (db) =>
      db.all<{ path: string; s: number }>('SELECT path, raw_score AS s FROM inbox_scores WHERE raw_score IS NOT NULL'),
    { readOnly: true },
  );
  return new Map(rows.map((r) => [r.path, r.s]));
}

/** The simulated review of inbox A: its top frames by score, kept when keeper-like. */
async function decide(dbFile: string, truth: Map<string, number>, bar: number): Promise<{ keep: number; n: number }> {
  const scores = await inboxScores(dbFile);
  const order = [...scores.entries()].filter(([p]) => truth.has(p)).sort((a, b) => b[1] - a[1]);
  const db = await Db.openIndex(dbFile);
  let keep = 0;
  try {
    const ids = new Map(
      (await db.all<{ id: number; path: string }>('SELECT inbox_id AS id, path FROM inbox_photos')).map((r) => [
        r.path,
        r.id,
      ]),
    );
    for (const [path] of order.slice(0, nDecisions)) {
      const kept = (truth.get(path) as number) >= bar;
      keep += kept ? 1 : 0;
      await recordDecision(db, ids.get(path) as number, kept ? 'keep' : 'reject');
    }
  } finally {
    db.close();
  }
  return { keep, n: Math.min(nDecisions, order.length) };
}

interface Figures {
  ap: number;
  soft: number;
}

/** AP on keeper-like frames and soft AUC of a ranking of inbox B over `paths`. */
function figures(scores: Map<string, number>, paths: string[], taste: Map<string, number>, bar: number): Figures {
  const s = paths.map((p) => scores.get(p) as number);
  const t = paths.map((p) => taste.get(p) as number);
  return {
    ap: averagePrecision(
      s,
      t.map((v) => (v >= bar ? 1 : 0)),
    ),
    soft: softAuc(s, t),
  };
}

/** A paired bootstrap 95% interval over B's frames of the difference with minus without decisions. */
function pairedBootstrap(
  seed: number,
  paths: string[],
  a: Map<string, number>,
  b: Map<string, number>,
  taste: Map<string, number>,
  bar: number,
): { ap: [number, number]; soft: [number, number] } {
  const rng = new Rng(seed).fork('bootstrap');
  const ap: number[] = [];
  const soft: number[] = [];
  for (let r = 0; r < 200; r++) {
    const pick = paths.map(() => paths[rng.int(0, paths.length - 1)] as string);
    const sa = pick.map((p) => a.get(p) as number);
    const sb = pick.map((p) => b.get(p) as number);
    const t = pick.map((p) => taste.get(p) as number);
    const y = t.map((v) => (v >= bar ? 1 : 0));
    if (!y.some(Boolean)) continue;
    ap.push(averagePrecision(sb, y) - averagePrecision(sa, y));
    soft.push(softAuc(sb, t) - softAuc(sa, t));
  }
  const q = (xs: number[], p: number): number =>
    [...xs].sort((x, y) => x - y)[Math.floor(p * (xs.length - 1))] as number;
  return { ap: [q(ap, 0.025), q(ap, 0.975)], soft: [q(soft, 0.025), q(soft, 0.975)] };
}

async function sample(seed: number, label: string, sessions: number): Promise<SampleResult> {
  return generateSample({
    out: join(String(values.dir), `${label}-${seed}-${sessions}-${size.frames}-${size.width}`),
    seed,
    sessions,
    ...size,
  });
}

/** One seed: the corpus, inbox A decided, inbox B ranked with and without the decisions. */
async function runSeed(
  seed: number,
): Promise<{ without: Figures; with: Figures; ci: ReturnType<typeof pairedBootstrap> }> {
  const t0 = performance.now();
  const corpus = await sample(seed, 'corpus', Number(values.sessions));
  const inboxA = await sample(seed + 1000, 'inbox-a', Number(values['inbox-walks']));
  const inboxB = await sample(seed + 2000, 'inbox-b', Number(values['inbox-walks']));
  const work = join(String(values.dir), `work-${seed}-${Date.now()}`);
  const dbFile = join(work, 'flux.duckdb');
  await runIngest({ originals: corpus.originals, keepers: corpus.keepers, db: dbFile });
  await runEmbed({ db: dbFile });
  await runMatch({ db: dbFile });
  // the photographer's bar: the weakest frame he kept in the corpus
  const bar = Math.min(
    ...truthOf(corpus)
      .photos.filter((p) => p.keeper)
      .map((p) => p.taste),
  );
  const tasteOf = (s: SampleResult): Map<string, number> =>
    new Map(
      truthOf(s)
        .photos.filter((p) => p.misfire === null)
        .map((p) => [p.path, p.taste]),
    );
  const common = { db: dbFile, arch, seed, resamples: 20, skipPhotoSplit: true, allWalks: false, score: false };
  const m0 = await trainAndScore({ ...common, modelsDir: join(work, 'models-0') });
  await scoreInbox({ db: dbFile, inbox: inboxA.originals, modelDir: m0.dir, out: join(work, 'inbox-a.html') });
  const d = await decide(dbFile, tasteOf(inboxA), bar);
  const m1 = await trainAndScore({ ...common, modelsDir: join(work, 'models-1') });
  await scoreInbox({ db: dbFile, inbox: inboxB.originals, modelDir: m0.dir, out: join(work, 'inbox-b0.html') });
  const s0 = await inboxScores(dbFile);
  await scoreInbox({ db: dbFile, inbox: inboxB.originals, modelDir: m1.dir, out: join(work, 'inbox-b1.html') });
  const s1 = await inboxScores(dbFile);
  const taste = tasteOf(inboxB);
  const paths = [...taste.keys()].filter((p) => s0.has(p) && s1.has(p));
  const without = figures(s0, paths, taste, bar);
  const withD = figures(s1, paths, taste, bar);
  const like = paths.filter((p) => (taste.get(p) as number) >= bar).length;
  const dec = m1.data.decisions;
  console.log(
    `seed ${seed}: corpus ${m0.data.photos} photos (${m0.data.keepers} keepers); inbox A decided ${d.n} ` +
      `(${d.keep} kept; training used ${dec?.keep ?? 0} kept + ${dec?.reject ?? 0} rejected); inbox B ` +
      `${paths.length} frames, ${like} keeper-like; models ${m0.winner.name} / ${m1.winner.name}; ` +
      `${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  const ci = pairedBootstrap(seed, paths, s0, s1, taste, bar);
  console.log(
    `  AP ${without.ap.toFixed(3)} -> ${withD.ap.toFixed(3)} (diff ${(withD.ap - without.ap).toFixed(3)}, ` +
      `frames bootstrap 95% [${ci.ap[0].toFixed(3)}, ${ci.ap[1].toFixed(3)}]); ` +
      `soft AUC ${without.soft.toFixed(3)} -> ${withD.soft.toFixed(3)} ` +
      `(diff ${(withD.soft - without.soft).toFixed(3)}, [${ci.soft[0].toFixed(3)}, ${ci.soft[1].toFixed(3)}])`,
  );
  return { without, with: withD, ci };
}

/** Mean and t 95% interval of paired differences over the seeds. */
function tInterval(d: number[]): string {
  const n = d.length;
  const m = d.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return `${m.toFixed(3)} (one seed: no interval)`;
  const sd = Math.sqrt(d.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
  const T = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262][n - 2] ?? 1.96;
  const h = (T * sd) / Math.sqrt(n);
  return `${m.toFixed(3)} [${(m - h).toFixed(3)}, ${(m + h).toFixed(3)}]`;
}

const t0 = performance.now();
const runs = [];
for (const seed of seeds) runs.push(await runSeed(seed));
console.log(
  `over ${runs.length} seeds (arch ${arch}, ${nDecisions} decisions): AP diff ` +
    `${tInterval(runs.map((r) => r.with.ap - r.without.ap))}, soft AUC diff ` +
    `${tInterval(runs.map((r) => r.with.soft - r.without.soft))} (mean, t 95% interval); ` +
    `${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
