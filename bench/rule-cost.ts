/**
 * What one fold of the decision rule costs at a control's size, and the same with an earlier build of the library
 * (`--before DIR`, its dist/lib) in the same run: each model of the rule trained on the training walks of fold 1 of
 * the rule's session folds and scored on its held-out walks (seconds and held-out AP, before and now, alternating), and
 * the rule's paired walk bootstrap over all rows (scores drawn at random; 200 resamples, five models).
 *
 * `--epochs N` trains every model N epochs (without it, the epochs the rule trains: fewer as the rows grow, early
 * stopping on validation), for a quick per-epoch comparison.
 *
 *   npm run build && node dist/bench/rule-cost.js [--keepers 1000] [--taste interaction] [--before DIR] [--seed 7]
 *     [--epochs N]
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../lib/tfjs/backend.js';
import { ruleContenders } from '../lib/5-rank/compare.js';
import { DEFAULT_RULE } from '../lib/5-rank/decide.js';
import * as fitNow from '../lib/5-rank/fit.js';
import * as decideNow from '../lib/5-rank/decide.js';
import * as scorersNow from '../lib/5-rank/scorers.js';
import { foldSplits } from '../lib/5-rank/folds.js';
import { averagePrecision } from '../lib/5-rank/metrics.js';
import { Rng } from '../lib/util/rng.js';
import { archive } from './controls.js';

const { values } = parseArgs({
  options: {
    keepers: { type: 'string', default: '1000' },
    taste: { type: 'string', default: 'interaction' },
    before: { type: 'string' },
    seed: { type: 'string', default: '7' },
    epochs: { type: 'string' },
  },
});

/** The library functions the bench times, from this build or an earlier one. */
interface Lib {
  name: string;
  fit: typeof fitNow;
  decide: typeof decideNow;
  scorers: typeof scorersNow;
}

async function libAt(dir: string): Promise<Lib> {
  const at = async <T>(f: string): Promise<T> => (await import(pathToFileURL(join(dir, '5-rank', f)).href)) as T;
  return {
    name: 'before',
    fit: await at<typeof fitNow>('fit.js'),
    decide: await at<typeof decideNow>('decide.js'),
    scorers: await at<typeof scorersNow>('scorers.js'),
  };
}

await initBackend('wasm').catch(() => initBackend());
const seed = Number(values.seed);
const libs: Lib[] = [
  ...(values.before ? [await libAt(values.before)] : []),
  { name: 'now', fit: fitNow, decide: decideNow, scorers: scorersNow },
];
let t0 = performance.now();
const { ds } = archive(values.taste, Number(values.keepers), seed);
console.log(`archive: ${ds.ids.length} rows x ${ds.dim} columns in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const split = foldSplits(ds, seed, DEFAULT_RULE.folds, 'all', 0)[0] as typeof ds.split;
const held = split.flatMap((s, i) => (s === 'test' ? [i] : []));
console.log(
  `fold 1 of ${DEFAULT_RULE.folds}: ${split.filter((s) => s === 'train').length} training rows, ` +
    `${split.filter((s) => s === 'val').length} validation, ${held.length} held out`,
);
const { baseline, contenders } = ruleContenders(true, 'vector+descriptor+context');
const table: string[] = [];
const total = new Map<string, number>();
for (const c of [baseline, ...contenders]) {
  const cells: string[] = [];
  const secs: number[] = [];
  for (const lib of libs) {
    const fds = lib.fit.selectColumns({ ...ds, split }, c.featureSet);
    t0 = performance.now();
    const f = await lib.fit.fit(fds, c.arch, seed, values.epochs ? { epochs: Number(values.epochs) } : {});
    const s = (performance.now() - t0) / 1000;
    const scores = lib.scorers.scoreRows(f.params, f.xs, fds.dim, held, fds.ids);
    const ap = averagePrecision(
      scores,
      held.map((r) => ds.y[r] as number),
    );
    cells.push(`${s.toFixed(1)} s, ${f.log.length} epochs, AP ${ap.toFixed(3)}`);
    secs.push(s);
    total.set(lib.name, (total.get(lib.name) ?? 0) + s);
  }
  const ratio = secs.length === 2 ? ` | ${((secs[0] as number) / (secs[1] as number)).toFixed(1)}x` : '';
  table.push(`| ${c.name} | ${cells.join(' | ')}${ratio} |`);
}
// the bootstrap over every row, as the rule runs it after the folds (five models, one repeat)
const rng = new Rng(seed).fork('rule-cost');
const scores = Array.from({ length: 5 }, () => [Array.from({ length: ds.ids.length }, () => rng.normal())]);
const y = Array.from(ds.y);
const walk = Array.from(ds.session);
const boot: string[] = [];
const secs: number[] = [];
for (const lib of libs) {
  t0 = performance.now();
  lib.decide.pairedDifferences(scores, y, walk, DEFAULT_RULE.resamples, 0.9875, seed);
  const s = (performance.now() - t0) / 1000;
  boot.push(`${s.toFixed(1)} s`);
  secs.push(s);
}
const ratio = secs.length === 2 ? ` | ${((secs[0] as number) / (secs[1] as number)).toFixed(1)}x` : '';
table.push(`| paired walk bootstrap, all ${ds.ids.length} rows | ${boot.join(' | ')}${ratio} |`);
const head = libs.map((l) => l.name).join(' | ');
console.log(`\n| one fold of | ${head}${libs.length === 2 ? ' | ratio' : ''} |`);
console.log(`|---|${libs.map(() => '---|').join('')}${libs.length === 2 ? '---|' : ''}`);
for (const r of table) console.log(r);
console.log(
  `\nmodels, one fold: ${libs.map((l) => `${l.name} ${(total.get(l.name) ?? 0).toFixed(0)} s`).join(', ')}; ` +
    `times ${DEFAULT_RULE.folds} folds: ${libs.map((l) => `${l.name} ${((total.get(l.name) ?? 0) * 5).toFixed(0)} s`).join(', ')}`,
);
