/**
 * `npm run demo`: the whole pipeline on the built-in sample archive, every stage that exists run for real.
 * Outputs go to `data/` (or FLUX_DATA); a second run reuses what is already there.
 */
import { join } from 'node:path';
import { generateSample } from '../sample/generate.js';
import { ingest } from '../ingest/ingest.js';
import { dataDir, sampleSettings } from '../workspace.js';
import { Db } from '../db/duckdb.js';
import { FluxError } from '../util/check.js';
import { formatIngest } from './commands.js';
import { progressBar } from './progress-bar.js';

async function demo(): Promise<void> {
  const data = dataDir();
  const bar = progressBar();
  const t0 = performance.now();
  try {
    console.log('1/2 sample archive (seed 7)');
    const sample = await generateSample({ out: join(data, 'sample'), ...sampleSettings(), onProgress: bar });
    bar.stop();
    const c = sample.truth.counts;
    console.log(`    ${sample.reused ? 'reused' : 'wrote'} ${c.corpusPhotos} originals, ${c.keeperFiles} keeper files, ${c.inbox} inbox photos in ${sample.seconds.toFixed(1)} s`);
    console.log('2/2 ingest');
    const dbFile = join(data, 'flux.duckdb');
    const report = await ingest({ originals: sample.originals, keepers: sample.keepers, inbox: sample.inbox, db: dbFile, onProgress: bar });
    bar.stop();
    console.log(formatIngest(report).replace(/^/gm, '    '));
    const db = await Db.open(dbFile, { readOnly: true });
    try {
      const rows = await db.all<{ year: number; photos: number }>('SELECT year(captured_at) AS year, count(*) AS photos FROM photos GROUP BY 1 ORDER BY 1');
      console.log(`    photos per year: ${rows.map((r) => `${r.year}: ${r.photos}`).join(', ')}`);
      const errors = await db.all<{ root: string; path: string; message: string }>('SELECT root, path, message FROM ingest_errors ORDER BY root, path');
      for (const e of errors) console.log(`    not indexed: ${e.root}/${e.path}: ${e.message}`);
    } finally {
      db.close();
    }
    console.log(`\ndone in ${((performance.now() - t0) / 1000).toFixed(1)} s. Outputs:`);
    console.log(`  sample archive  ${sample.out} (ground truth: ${sample.truthFile})`);
    console.log(`  database        ${dbFile}`);
    console.log(`  previews        ${join(report.workspace, 'previews')}`);
    console.log('  notebooks       notebooks/*.ipynb (open with Jupyter and the tslab kernel)');
  } finally {
    bar.stop();
  }
}

demo().catch((err: unknown) => {
  console.error(err instanceof FluxError ? `demo: ${err.message}` : err);
  process.exitCode = 1;
});
