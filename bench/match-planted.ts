/**
 * Matching on the planted archive (lib/0-sample/planted.ts): a rendered sample with every keeper kind matching must
 * handle (stripped and renamed re-encodes, crops, exposure, contrast curves, rotations, EXIF-kept edits, each beside
 * a burst sibling with a figure moved 1% of the width; keepers whose original is missing; +9 h and -11 h clock
 * offsets across midnight). Ingest, embed (MobileNetV2 when present), match, then against the truth: recall of the
 * keepers whose original exists, the share in review, wrong links (any link to a photo that is not the keeper's
 * frame), recorded clock offsets, and the verification time per candidate.
 *
 *   npm run build && node dist/bench/match-planted.js [--sessions 30] [--frames 40] [--per-kind 20] [--seed 7]
 *   (--plain: the generated sample alone; --sessions 60 --plain is the demo's sample)
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Db } from '../lib/db/duckdb.js';
import { generateSample } from '../lib/0-sample/generate.js';
import { plantMatchingArchive, type PlantedKeeper } from '../lib/0-sample/planted.js';
import { findModel } from '../lib/2-embed/models.js';
import { runEmbed, runIngest, runMatch } from '../lib/pipeline/stages.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '30' },
    frames: { type: 'string', default: '40' },
    'per-kind': { type: 'string', default: '20' },
    seed: { type: 'string', default: '7' },
    dir: { type: 'string', default: join(tmpdir(), 'flux-bench-match-planted') },
    keep: { type: 'boolean', default: false },
    // the sample as it is (the demo's with the defaults), nothing planted
    plain: { type: 'boolean', default: false },
  },
});
const dir = values.dir as string;
if (!values.keep) rmSync(dir, { recursive: true, force: true });
const t0 = performance.now();
const sample = await generateSample({
  out: join(dir, 'sample'),
  seed: Number(values.seed),
  sessions: Number(values.sessions),
  frames: Number(values.frames),
});
const planted = values.plain
  ? { keepers: [], file: '' }
  : sample.reused
    ? null
    : await plantMatchingArchive(sample, { seed: Number(values.seed), perKind: Number(values['per-kind']) });
const truthOf = new Map<string, { kind: string; original: string | null; offset: number | null }>();
for (const k of sample.truth.keepers) {
  if (k.kind !== 'bad') truthOf.set(k.path, { kind: k.kind, original: k.original, offset: null });
}
const plantedKeepers: PlantedKeeper[] =
  planted?.keepers ?? (JSON.parse(readFileSync(join(dir, 'sample', 'planted.json'), 'utf8')) as PlantedKeeper[]);
for (const k of plantedKeepers) {
  truthOf.set(k.path, { kind: k.kind, original: k.original, offset: k.offsetSeconds });
}
const tGen = (performance.now() - t0) / 1000;
const dbFile = join(dir, 'flux.duckdb');
rmSync(dbFile, { force: true });
await runIngest({ originals: sample.originals, keepers: sample.keepers, db: dbFile });
const model = findModel('mobilenetv2-int8').path !== null ? 'mobilenetv2-int8' : 'none';
await runEmbed({ db: dbFile, model });
const tPrep = (performance.now() - t0) / 1000 - tGen;
const report = await runMatch({ db: dbFile });

const db = await Db.open(dbFile, { readOnly: true });
const rows = await db.all<{
  path: string;
  status: string | null;
  photo: string | null;
  offset: number | null;
  reason: string | null;
}>(`SELECT k.path, k.match_status AS status, p.path AS photo, k.clock_offset_seconds AS offset,
  k.review_reason AS reason FROM keeper_files k LEFT JOIN photos p ON p.photo_id = k.matched_photo_id`);
db.close();
// a double-imported original is one photo: either of its paths names it
const same = new Map(sample.truth.duplicates.map((d) => [d.path, d.of]));
const byKind = new Map<string, { n: number; withOriginal: number; right: number; wrong: number; review: number }>();
let offsetsRight = 0;
let offsetsPlanted = 0;
const problems: string[] = [];
for (const r of rows) {
  const t = truthOf.get(r.path);
  if (!t) continue;
  const c = byKind.get(t.kind) ?? { n: 0, withOriginal: 0, right: 0, wrong: 0, review: 0 };
  byKind.set(t.kind, c);
  c.n++;
  if (t.original !== null) c.withOriginal++;
  const linked = r.status === 'matched' && r.photo !== null ? (same.get(r.photo) ?? r.photo) : null;
  if (linked !== null && linked === t.original) c.right++;
  else if (linked !== null) c.wrong++;
  if (r.status === 'review') c.review++;
  if ((linked !== null && linked !== t.original) || (t.original !== null && linked === null)) {
    problems.push(`  ${t.kind} ${r.path}: ${r.status}${linked ? ` -> ${linked}` : ''}; ${r.reason ?? ''}`);
  }
  if (t.offset !== null) {
    offsetsPlanted++;
    if (r.offset === t.offset) offsetsRight++;
    else problems.push(`  offset ${r.path}: recorded ${r.offset}, planted ${t.offset}`);
  }
}
const sum = (f: (c: { n: number; withOriginal: number; right: number; wrong: number; review: number }) => number) =>
  [...byKind.values()].reduce((s, c) => s + f(c), 0);
const pct = (a: number, b: number): string => `${((100 * a) / Math.max(1, b)).toFixed(2)}%`;
console.log(
  `planted archive: ${sample.truth.counts.corpusPhotos} sample photos, ${rows.length} keeper files ` +
    `(${plantedKeepers.length} planted); generated in ${tGen.toFixed(1)} s, ingest and embed (${model}) ` +
    `${tPrep.toFixed(1)} s, match ${report.seconds.toFixed(1)} s`,
);
console.log('| kind | keepers | with original | linked right | wrong links | in review |');
console.log('|---|---|---|---|---|---|');
for (const [kind, c] of [...byKind.entries()].sort()) {
  console.log(`| ${kind} | ${c.n} | ${c.withOriginal} | ${c.right} | ${c.wrong} | ${c.review} |`);
}
const n = sum((c) => c.n);
console.log(
  `| all | ${n} | ${sum((c) => c.withOriginal)} | ${sum((c) => c.right)} | ${sum((c) => c.wrong)} | ` +
    `${sum((c) => c.review)} |`,
);
console.log(
  `recall ${pct(
    sum((c) => c.right),
    sum((c) => c.withOriginal),
  )} (target 99.5%), review ` +
    `${pct(
      sum((c) => c.review),
      n,
    )} (target at most 2%), wrong links ${sum((c) => c.wrong)} (target 0), ` +
    `clock offsets recorded exactly ${offsetsRight}/${offsetsPlanted}`,
);
const v = report.timings;
console.log(
  `verification: ${v.verifiedPairs ?? 0} pairs in ${(v.verification ?? 0).toFixed(1)} s = ` +
    `${((1000 * (v.verification ?? 0)) / Math.max(1, v.verifiedPairs ?? 0)).toFixed(1)} ms per verified candidate ` +
    `(with the thresholds' own pairs); thresholds ${report.thresholds.calibrated ? 'learnt' : 'not learnt'}`,
);
if (problems.length) console.log(`not linked right:\n${problems.join('\n')}`);
