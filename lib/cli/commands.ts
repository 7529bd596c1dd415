/**
 * The subcommands of `flux`, their options and how they print their results.
 */
import type { ParseArgsConfig } from 'node:util';
import { resolve } from 'node:path';
import { generateSample } from '../0-sample/generate.js';
import { generateMetadata } from '../0-sample/metadata.js';
import { ingest, ingestMetadata, type IngestReport } from '../1-ingest/ingest.js';
import { FluxError } from '../util/check.js';
import { buildSplit } from '../4-dataset/split.js';
import { checkExportDir, curatorCsv, curateVectors, ensureCuratorSchema, exclude, exclusions, exportSelection, loadPhotoVectors, photoPaths, photoRefs, saveSelection, technicalFailures } from '../7-curate/curate.js';
import { withDb } from '../db/duckdb.js';
import { archiveRoots } from '../db/schema.js';
import { embed } from '../2-embed/embed.js';
import { fetchFile } from '../2-embed/fetch.js';
import { findModel, MODELS, modelDirs } from '../2-embed/models.js';
import { join } from 'node:path';
import { formatMatch, match } from '../3-match/match.js';
import { applyDecisions, writeReview } from '../3-match/review.js';
import type { OnProgress } from '../util/progress.js';
import { formatTrain } from '../5-rank/verdict.js';
import { currentModelDir, loadKeeperModel, modelGraph } from '../5-rank/model-file.js';
import { scorePhotos, trainAndScore } from '../pipeline/train-and-score.js';
import { scoreInbox } from '../pipeline/inbox.js';
import { FEATURE_SETS, type FeatureSet } from '../4-dataset/rows.js';
import { ARCHS, type Arch, type Hyper } from '../5-rank/scorers.js';
import type { BackendName } from '../5-rank/backend.js';
import { assertOutsideArchive, checkOutFile, writeFileAtomic } from '../util/fsutil.js';
import { checkChoice, checkNumber } from '../util/check.js';
import { plural } from '../util/text.js';
import { writeReport } from '../9-report/report.js';

type Values = Record<string, string | boolean | undefined>;

export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run: (values: Values, positionals: string[], onProgress: OnProgress) => Promise<void>;
}

const str = (v: Values, key: string): string | undefined => (typeof v[key] === 'string' ? v[key] as string : undefined);
const num = (v: Values, key: string): number | undefined => {
  const s = str(v, key);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n)) throw new FluxError(`--${key}: expected a number, received "${s}"`);
  return n;
};
const need = (v: Values, key: string, cmd: string): string => {
  const s = str(v, key);
  if (!s) throw new FluxError(`flux ${cmd}: --${key} is required`);
  return s;
};

/** Prints an ingest report as a small table. */
export function formatIngest(report: IngestReport): string {
  const head = ['root', 'files', 'unchanged', 'indexed', 'duplicate', 'damaged', 'skipped', 'failed', 'vanished', 'passed over'];
  const rows = report.roots.map((r) => [r.root, r.files, r.unchanged, r.ok, r.duplicate, r.warned, r.skipped, r.failed, r.vanished, r.passedOver].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  const legend = [
    'indexed: read as photos this run (copies included); duplicate: originals that copy another original, all runs (corpus_duplicates)',
    'damaged: indexed past damaged image data or EXIF (ingest_warnings); failed, passed over: see ingest_errors',
  ];
  return [line(head), ...rows.map(line), ...legend, `database ${report.db}`, `previews ${report.workspace}/previews`, `${report.seconds.toFixed(1)} s`].join('\n');
}

export const COMMANDS: Record<string, Command> = {
  sample: {
    summary: 'write the built-in sample archive (ORIGINALS, KEEPERS, INBOX, truth.json)',
    usage: [
      'flux sample --out DIR [--seed 7] [--sessions 24] [--frames 60] [--width 768] [--height 512] [--quality 88]',
      'flux sample --metadata-only --out DIR [--seed 7] [--photos 400000] [--keepers 15000]',
      '',
      'The same seed always writes the same archive. --metadata-only writes Parquet rows (no pixels) for scale tests;',
      'load them with flux ingest --from-metadata DIR --db FILE.',
    ].join('\n'),
    options: {
      out: { type: 'string' }, seed: { type: 'string' }, sessions: { type: 'string' }, frames: { type: 'string' },
      width: { type: 'string' }, height: { type: 'string' }, quality: { type: 'string' }, 'keeper-rate': { type: 'string' },
      author: { type: 'string' }, 'metadata-only': { type: 'boolean' }, photos: { type: 'string' }, keepers: { type: 'string' },
    },
    async run(v, _p, onProgress) {
      const out = need(v, 'out', 'sample');
      if (v['metadata-only']) {
        const r = await generateMetadata({ out, seed: num(v, 'seed'), photos: num(v, 'photos'), keepers: num(v, 'keepers'), onProgress });
        console.log(`wrote ${r.photos} photo rows and ${r.keeperFiles} keeper rows to ${r.dir} in ${r.seconds.toFixed(1)} s`);
        return;
      }
      const r = await generateSample({
        out, seed: num(v, 'seed'), sessions: num(v, 'sessions'), frames: num(v, 'frames'), width: num(v, 'width'),
        height: num(v, 'height'), quality: num(v, 'quality'), keeperRate: num(v, 'keeper-rate'), author: str(v, 'author'), onProgress,
      });
      const c = r.truth.counts;
      console.log(`${r.reused ? 'already there' : 'wrote'}: ${c.corpusPhotos} originals (+${c.corpusDuplicates} duplicates), ` +
        `${c.keeperFiles} keeper files, ${c.inbox} inbox photos, ${c.bad} bad files, in ${r.seconds.toFixed(1)} s`);
      console.log(`originals ${r.originals}\nkeepers   ${r.keepers}\ninbox     ${r.inbox}\ntruth     ${r.truthFile}`);
    },
  },
  ingest: {
    summary: 'index originals, keepers and an inbox into DuckDB (read-only on the archive)',
    usage: [
      'flux ingest --originals DIR --keepers DIR [--inbox DIR] --db FILE [--workspace DIR] [--concurrency N]',
      'flux ingest --from-metadata DIR --db FILE',
      '',
      'Each file is read once: SHA-256, EXIF and a small preview in the workspace (default: the database folder).',
      'Unchanged files (same size and mtime) are skipped; an interrupted run resumes where it stopped.',
      'Any of the three trees may be given alone (the keepers later, or a new inbox); they must be separate folders.',
    ].join('\n'),
    options: {
      originals: { type: 'string' }, keepers: { type: 'string' }, inbox: { type: 'string' }, db: { type: 'string' },
      workspace: { type: 'string' }, concurrency: { type: 'string' }, 'from-metadata': { type: 'string' },
    },
    async run(v, _p, onProgress) {
      const db = resolve(need(v, 'db', 'ingest'));
      const meta = str(v, 'from-metadata');
      if (meta) {
        const r = await ingestMetadata({ dir: meta, db, onProgress });
        console.log(`loaded ${r.photos} photos and ${r.keeperFiles} keeper files into ${r.db} in ${r.seconds.toFixed(1)} s`);
        return;
      }
      const report = await ingest({
        originals: str(v, 'originals'), keepers: str(v, 'keepers'), inbox: str(v, 'inbox'), db, workspace: str(v, 'workspace'),
        concurrency: num(v, 'concurrency'), onProgress,
      });
      console.log(formatIngest(report));
    },
  },
  embed: {
    summary: 'embed photos, keepers and inbox from the preview cache with an ONNX image model (Parquet)',
    usage: [
      'flux embed --db FILE [--model ID|MODEL.json|none] [--batch-size 16] [--part-size 1024] [--views N --seed S]',
      '',
      `Models: ${MODELS.map((m) => m.id).join(', ')} (default: the first one present), or a .json description of another`,
      'ONNX image model. --model none computes only the pixel descriptor. Resumable: what has a vector is skipped.',
      '--views N adds N augmented views of each training photo (after flux dataset); validation and test are never augmented.',
    ].join('\n'),
    options: { db: { type: 'string' }, model: { type: 'string' }, 'batch-size': { type: 'string' }, 'part-size': { type: 'string' }, views: { type: 'string' }, seed: { type: 'string' } },
    async run(v, _p, onProgress) {
      const r = await embed({ db: need(v, 'db', 'embed'), model: str(v, 'model'), batchSize: num(v, 'batch-size'), partSize: num(v, 'part-size'), views: num(v, 'views'), seed: num(v, 'seed'), onProgress });
      if (r.views) console.log(`${r.views} augmented training views embedded`);
      for (const s of r.sets) console.log(`${s.set.padEnd(8)} ${s.images} images: ${s.alreadyDone} already done, ${s.embedded} embedded, ${s.failed} failed`);
      console.log(`model ${r.model ?? '(none)'}${r.modelPath ? ` from ${r.modelPath}` : ''}; vectors in ${join(r.workspace, 'embeddings')}; ${r.seconds.toFixed(1)} s`);
      if (r.note) console.log(r.note);
    },
  },
  models: {
    summary: 'list the registered image models, or fetch one: flux models fetch ID',
    usage: 'flux models [list]\nflux models fetch ID   (downloads to models/, resumable, verifies the sha256)',
    options: {},
    async run(_v, positionals, onProgress) {
      const [action = 'list', id] = positionals;
      if (action === 'list') {
        for (const m of MODELS) {
          const { path } = findModel(m.id);
          console.log(`${m.id.padEnd(18)} ${String(m.dim).padStart(5)}-d  ${path ? `present: ${path}` : m.url ? 'not present (flux models fetch ' + m.id + ')' : 'not present'}  ${m.licence}`);
        }
        return;
      }
      if (action !== 'fetch' || !id) throw new FluxError('flux models: expected "list" or "fetch ID"');
      const { spec } = findModel(id);
      if (!spec.url) throw new FluxError(`flux models fetch: ${spec.id} has no download URL; it ships with the project's shared models (${modelDirs().join(', ')})`);
      const dest = join(modelDirs()[0] as string, spec.file);
      const r = await fetchFile({ url: spec.url, dest, sha256: spec.sha256, bytes: spec.bytes, onProgress });
      console.log(`${r.alreadyPresent ? 'already present' : r.resumed ? 'resumed and verified' : 'downloaded and verified'}: ${r.file} (${(r.bytes / 1e6).toFixed(1)} MB, sha256 ${r.sha256})`);
    },
  },
  match: {
    summary: 'link keepers to their originals (EXIF time, filename, SHA-256, similarity); review and apply decisions',
    usage: [
      'flux match --db FILE [--model ID] [--all]     run the cascade on new or undecided keepers (--all: every keeper)',
      'flux match review --db FILE --out DIR         contact sheet (review.html) and review.csv of the doubtful ones',
      'flux match apply --db FILE DECISIONS.csv      store accept/reject/none decisions (none: no original in the archive); they survive later runs',
    ].join('\n'),
    options: { db: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' }, all: { type: 'boolean' } },
    async run(v, positionals, onProgress) {
      const db = need(v, 'db', 'match');
      const [action, file] = positionals;
      if (action === 'review') {
        const r = await writeReview(db, need(v, 'out', 'match review'));
        console.log(`${plural(r.keepers, 'keeper')} to review: ${r.html}\nedit the decision column of ${r.csv}, then: flux match apply --db ${db} ${r.csv}` +
          (r.unreadable ? `\n${plural(r.unreadable, 'keeper file')} that could not be read as a photo, listed on the sheet (not matched)` : ''));
        return;
      }
      if (action === 'apply') {
        if (!file) throw new FluxError('flux match apply: expected the decisions CSV file after the options');
        const r = await applyDecisions(db, file);
        console.log(`stored ${r.accepted} accepted and ${r.rejected} rejected links and ${plural(r.none, 'keeper')} without an original (${r.ignored} rows without a decision); run flux match --db ${db} to apply them`);
        return;
      }
      if (action !== undefined) throw new FluxError(`flux match: expected review, apply or no action, received "${action}"`);
      console.log(formatMatch(await match({ db, model: str(v, 'model'), all: Boolean(v.all), onProgress })));
    },
  },
  dataset: {
    summary: 'split the corpus into train/val/test (grouped by session, stratified by keeper rate; also the photo-level split)',
    usage: 'flux dataset --db FILE [--seed 7]',
    options: { db: { type: 'string' }, seed: { type: 'string' } },
    async run(v) {
      const file = need(v, 'db', 'dataset');
      await withDb(file, async (db) => {
        for (const scheme of ['session', 'photo'] as const) {
          const r = await buildSplit(db, { seed: num(v, 'seed'), scheme });
          console.log(`${scheme}-level split (seed ${r.seed}):`);
          for (const row of r.rows) console.log(`  ${row.split.padEnd(5)} ${String(row.photos).padStart(7)} photos ${String(row.keepers).padStart(6)} keepers (${(100 * row.keeperRate).toFixed(2)}%) in ${row.sessions} sessions`);
        }
      }, { index: true });
    },
  },
  curate: {
    summary: 'diverse (fps) or representative (kmeans) subsets with Monte Carlo stability; exclusions; export',
    usage: [
      'flux curate --db FILE [--method fps|kmeans] [--target 150] [--iterations 20] [--seed 7] [--keepers] [--where SQL]',
      '            [--model ID] [--export DIR] [--csv FILE] [--favourites] [--keep-failures]',
      'flux curate exclude --db FILE PHOTO...         exclude photos, by photo_id or path under the originals',
      '                                               (Subfolder/Filename in selection.csv); removed before every later run',
      'flux curate exclude --db FILE --above 90       exclude every photo the last run picked at least 90% of the time',
      '                                               (selected or not: every vote of the last run is kept)',
      'flux curate clear --db FILE                    remove all exclusions',
      '',
      'Photos flux score marked as technical failures (black or badly underexposed, dark and of one colour, blown-out, nothing in focus) are left out unless',
      '--keep-failures is given: farthest-point sampling would otherwise pick them first.',
    ].join('\n'),
    options: {
      db: { type: 'string' }, method: { type: 'string' }, target: { type: 'string' }, iterations: { type: 'string' }, seed: { type: 'string' },
      keepers: { type: 'boolean' }, where: { type: 'string' }, model: { type: 'string' }, export: { type: 'string' }, favourites: { type: 'boolean' },
      above: { type: 'string' }, 'keep-failures': { type: 'boolean' }, csv: { type: 'string' },
    },
    async run(v, positionals, onProgress) {
      const file = need(v, 'db', 'curate');
      const [action, ...rest] = positionals;
      await withDb(file, async (db) => {
        await ensureCuratorSchema(db);
        if (action === 'clear') {
          await db.run('DELETE FROM curator_exclusions');
          console.log('all exclusions removed');
          return;
        }
        if (action === 'exclude') {
          const above = v.above === undefined ? undefined : checkNumber('--above', v.above, 0, 100);
          if (above !== undefined && rest.length) throw new FluxError(`flux curate exclude: give photos or --above, not both (received --above ${above} and ${rest.join(' ')})`);
          if (above === undefined && !rest.length) throw new FluxError('flux curate exclude: name the photos to exclude (photo_ids or paths under the originals), or --above PERCENT');
          const ids = above !== undefined
            // every photo the last run voted for at or above the frequency, selected or not
            ? (await db.all<{ photo_id: number }>('SELECT photo_id FROM curator_selection WHERE frequency >= ?', [above])).map((r) => Number(r.photo_id))
            : await photoRefs(db, rest);
          if (above !== undefined && !(await db.value<number>('SELECT count(*) FROM curator_selection'))) throw new FluxError('flux curate exclude --above: no curator run yet to take the frequencies from; run flux curate first');
          console.log(`${plural(await exclude(db, ids, above !== undefined ? `picked >= ${above}%` : 'by hand'), 'photo')} excluded`);
          return;
        }
        if (action !== undefined) throw new FluxError(`flux curate: expected exclude, clear or no action, received "${action}"`);
        // the export folder is checked before anything is computed or saved
        const out = str(v, 'export');
        if (out) await checkExportDir(db, out);
        // the selection as a CSV without copying any photo
        const csvOut = str(v, 'csv');
        const csvFile = csvOut ? checkOutFile('--csv', csvOut, 'selection.csv') : null;
        if (csvFile) assertOutsideArchive('--csv', csvFile, await archiveRoots(db));
        const input = await loadPhotoVectors(db, { model: str(v, 'model'), keepersOnly: Boolean(v.keepers), where: str(v, 'where') });
        if (input.fallback) console.log(`note: ${input.fallback}`);
        if (input.withoutVector) console.log(`${plural(input.withoutVector, 'photo')} in scope without a ${input.modelId} vector left out (flux embed makes them)`);
        const excluded = await exclusions(db);
        const failures = v['keep-failures'] ? new Set<number>() : await technicalFailures(db);
        const inRun = new Set(input.ids);
        const leftOut = [...failures].filter((id) => inRun.has(id) && !excluded.has(id)).length;
        const excludedHere = [...excluded].filter((id) => inRun.has(id)).length;
        const r = await curateVectors(input, {
          method: (str(v, 'method') ?? 'fps') as 'fps' | 'kmeans', target: num(v, 'target') ?? 150, iterations: num(v, 'iterations') ?? 20,
          seed: num(v, 'seed') ?? 7, excluded: new Set([...excluded, ...failures]), onProgress,
        });
        if (excludedHere) console.log(`${plural(excludedHere, 'excluded photo')} left out (flux curate clear to bring them back)`);
        if (leftOut) console.log(`${plural(leftOut, 'technical failure')} left out (--keep-failures to include them)`);
        await saveSelection(db, r, input.modelId, Boolean(v.favourites));
        const bands = { stable: 0, frequent: 0, occasional: 0 };
        for (const s of r.selection) bands[s.band]++;
        console.log(`${r.method}: ${r.selection.length} of ${input.ids.length - excludedHere - leftOut} photos (${input.modelId}), ${r.iterations} iterations, seed ${r.seed}: ` +
          `${bands.stable} picked >= 90%, ${bands.frequent} >= 70%, ${bands.occasional} less often${v.favourites ? '; favourites replaced' : ''}`);
        if (csvFile) {
          writeFileAtomic(csvFile, curatorCsv(r, await photoPaths(db), await exclusions(db)));
          console.log(`selection written to ${csvFile}`);
        }
        if (out) {
          const e = await exportSelection(db, r, out);
          console.log(`exported ${e.copied.length} photos to ${e.dir}${e.already.length ? `; ${e.already.length} already there from an earlier export` : ''} (CSV ${e.csv})`);
          for (const s of e.skipped) console.log(`skipped ${s.path || s.photoId}: ${s.reason}`);
        }
      }, { index: true });
    },
  },
  train: {
    summary: 'train and compare the keeper rankers (pairwise, contrastive, baselines); keep, calibrate and save the best',
    usage: [
      'flux train --db FILE [--arch compare|pairwise|contrastive|contrastive-multi|logistic|pca-logistic|metadata]',
      '           [--features SET]',
      '           [--model EMBEDDING_ID] [--models-dir DIR] [--seed 7] [--epochs N] [--near-rate 0.5] [--near-weight 2]',
      '           [--target-precision 0.8 | --budget 0.05] [--backend tensorflow-gpu|tensorflow|wasm|cpu] [--resamples 200]',
      '           [--selection auto|validation|cv] [--folds 5] [--repeats 1] [--all-walks auto|yes|no]',
      '',
      `--arch compare (default) trains every candidate and baseline, prints the test comparison with bootstrap 95%`,
      `intervals, and keeps the model the decision rule chooses: each contender's out-of-fold AP minus the plain`,
      `baseline's (PCA 32 + L2 logistic regression) over --folds stratified session folds x --repeats, paired walk`,
      `bootstrap; superior wins, else the baseline (equivalent within 0.01 AP, or undecided). --selection applies when`,
      `the rule cannot score a keeper. With fewer than 100 test keepers (--all-walks auto) every walk is also held out`,
      `once for the chosen model and the baselines.`,
      `Feature sets: ${FEATURE_SETS.join(', ')}.`,
      'Writes DIR/keeper-<id>/ (config, weights, calibration, metrics, model.onnx); DIR defaults to FLUX_MODELS or models/.',
    ].join('\n'),
    options: {
      db: { type: 'string' }, arch: { type: 'string' }, features: { type: 'string' }, model: { type: 'string' }, 'models-dir': { type: 'string' },
      seed: { type: 'string' }, epochs: { type: 'string' }, 'near-rate': { type: 'string' }, 'near-weight': { type: 'string' },
      'target-precision': { type: 'string' }, budget: { type: 'string' }, backend: { type: 'string' }, resamples: { type: 'string' },
      selection: { type: 'string' }, folds: { type: 'string' }, 'all-walks': { type: 'string' }, repeats: { type: 'string' },
    },
    async run(v, _p, onProgress) {
      const hyper: Partial<Hyper> = {};
      const allWalks = checkChoice('--all-walks', str(v, 'all-walks') ?? 'auto', ['auto', 'yes', 'no'] as const);
      if (num(v, 'epochs') !== undefined) hyper.epochs = num(v, 'epochs') as number;
      if (num(v, 'near-rate') !== undefined) hyper.nearRate = num(v, 'near-rate') as number;
      if (num(v, 'near-weight') !== undefined) hyper.nearWeight = num(v, 'near-weight') as number;
      const arch = str(v, 'arch');
      const features = str(v, 'features');
      const r = await trainAndScore({
        db: need(v, 'db', 'train'), arch: arch === undefined ? undefined : checkChoice('--arch', arch, [...ARCHS, 'compare'] as const) as Arch | 'compare',
        featureSet: features === undefined ? undefined : checkChoice('--features', features, FEATURE_SETS) as FeatureSet,
        model: str(v, 'model'), modelsDir: str(v, 'models-dir'), seed: num(v, 'seed'), hyper, backend: str(v, 'backend') as BackendName | undefined,
        resamples: num(v, 'resamples'), targetPrecision: num(v, 'target-precision'), budget: num(v, 'budget'), onProgress,
        selection: checkChoice('--selection', str(v, 'selection') ?? 'auto', ['auto', 'validation', 'cv'] as const), folds: num(v, 'folds'), repeats: num(v, 'repeats'),
        allWalks: allWalks === 'auto' ? undefined : allWalks === 'yes',
      });
      console.log(formatTrain(r));
    },
  },
  score: {
    summary: 'write keeper_score for every photo, or score the photos of an inbox folder (table inbox_scores + HTML)',
    usage: [
      'flux score --db FILE [--model-dir DIR]',
      'flux score --db FILE --inbox DIR [--out REPORT.html] [--model-dir DIR]',
      '',
      'Scores: 1.0 confirmed keeper; >= 0.8 review recommended; 0.5-0.8 uncertain; < 0.5 probable non-keeper;',
      '0.0 technical failure (black or badly underexposed, dark and of one colour, blown-out, or nothing in focus) with the reason.',
      'The inbox is only read.',
    ].join('\n'),
    options: { db: { type: 'string' }, 'model-dir': { type: 'string' }, inbox: { type: 'string' }, out: { type: 'string' } },
    async run(v, _p, onProgress) {
      const db = need(v, 'db', 'score');
      const inbox = str(v, 'inbox');
      const r = inbox !== undefined ? await scoreInbox({ db, modelDir: str(v, 'model-dir'), inbox, out: str(v, 'out'), onProgress })
        : await scorePhotos({ db, modelDir: str(v, 'model-dir'), onProgress });
      const c = r.counts;
      console.log(`${r.set === 'inbox' ? 'inbox' : 'corpus'}: ${c.total} photos scored by ${r.model}: ${c.keeper ?? 0} confirmed keepers, ${c.review ?? 0} review recommended, ` +
        `${c.uncertain ?? 0} uncertain, ${c.unlikely ?? 0} probable non-keepers, ${c.failure ?? 0} technical failures, ${c.unscored ?? 0} not scored; ` +
        `${c.surfaced ?? 0} surfaced at the model's auto-surface threshold (${r.threshold === null ? 'none: no threshold reached its rule' : r.threshold.toFixed(3)}) (${r.seconds.toFixed(1)} s)`);
      for (const s of r.skipped) console.log(`skipped ${s.path}: ${s.reason}`);
      if (r.html) console.log(`report ${r.html}`);
    },
  },
  'export-onnx': {
    summary: 'write the keeper model (standardisation, scorer, calibration) as one ONNX graph',
    usage: 'flux export-onnx --db FILE --out FILE.onnx [--model-dir DIR]',
    options: { db: { type: 'string' }, out: { type: 'string' }, 'model-dir': { type: 'string' } },
    async run(v) {
      const out = checkOutFile('--out', need(v, 'out', 'export-onnx'), 'keeper.onnx');
      const { dir, roots } = await withDb(need(v, 'db', 'export-onnx'), async (db) => ({
        dir: await currentModelDir(db, str(v, 'model-dir')),
        roots: await archiveRoots(db),
      }), { readOnly: true, index: true });
      assertOutsideArchive('--out', out, roots);
      const model = loadKeeperModel(dir);
      const bytes = modelGraph(model);
      writeFileAtomic(out, bytes);
      console.log(`wrote ${out} (${(bytes.length / 1024).toFixed(0)} KiB): input "features" [n, ${model.dim}] (${model.featureSet}${model.embeddingModel ? `, ${model.embeddingModel}` : ''}), outputs "keeper_score" and "raw_score"`);
    },
  },
  report: {
    summary: 'one standalone HTML page (plotly inlined, thumbnails embedded) with the notebooks\' figures and tables',
    usage: 'flux report --db FILE --out FILE.html [--seed 7] [--model EMBEDDING_ID]',
    options: { db: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, model: { type: 'string' } },
    async run(v, _p, onProgress) {
      const r = await writeReport({ db: need(v, 'db', 'report'), out: need(v, 'out', 'report'), seed: num(v, 'seed'), model: str(v, 'model'), onProgress });
      console.log(`wrote ${r.out} (${(r.bytes / 1e6).toFixed(1)} MB): ${r.figures} figures in sections ${r.sections.join(', ')} (${r.seconds.toFixed(1)} s)`);
    },
  },
};
