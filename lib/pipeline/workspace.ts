/**
 * The workbench's own folders and the sample workspace the demo and the notebooks share: `data/` (or the folder
 * in FLUX_DATA) holds the sample archive, the database and the preview cache.
 */
import { join, resolve } from 'node:path';
import type { IngestReport } from '../1-ingest/ingest.js';
import { generateSample, type SampleOptions, type SampleResult } from '../0-sample/generate.js';
import { FluxError } from '../util/check.js';
import { projectRoot } from '../util/project.js';
import { env } from './env.js';
import { runIngest } from './stages.js';
import type { OnProgress, ProgressEvent } from '../util/progress.js';

/** The data folder: FLUX_DATA when set, else `<project>/data`. */
export function dataDir(): string {
  return resolve(env('data') ?? join(projectRoot(), 'data'));
}

/** Sample settings: the defaults, overridden by the JSON in FLUX_SAMPLE (tests use a smaller sample). */
export function sampleSettings(): Omit<SampleOptions, 'out' | 'onProgress'> {
  const text = env('sample');
  if (!text) return { seed: 7 };
  try {
    return { seed: 7, ...(JSON.parse(text) as Omit<SampleOptions, 'out' | 'onProgress'>) };
  } catch {
    throw new FluxError(
      'FLUX_SAMPLE: expected JSON sample options such as {"sessions":8}, ' + `received ${JSON.stringify(text)}`,
    );
  }
}

/** The sample workspace after generation and ingest. */
export interface SampleWorkspace {
  data: string;
  db: string;
  sample: SampleResult;
  ingest: IngestReport;
}

/** Generates the sample archive (reused when present) and ingests it (incremental) into `<data>/flux.duckdb`. */
export async function sampleWorkspace(onProgress?: OnProgress): Promise<SampleWorkspace> {
  const data = dataDir();
  const sample = await generateSample({ out: join(data, 'sample'), ...sampleSettings(), onProgress });
  const db = join(data, 'flux.duckdb');
  const { originals, keepers, inbox } = sample;
  const report = await runIngest({ originals, keepers, inbox, db, onProgress });
  return { data, db, sample, ingest: report };
}

/** A small HTML progress bar for notebooks (show it with an updating display). */
export function progressHtml(event: ProgressEvent): string {
  const pct = event.total > 0 ? Math.round((100 * event.done) / event.total) : 100;
  const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return (
    `<div style="font:12px monospace">${esc(event.stage)} ${event.done}/${event.total} ` +
    '<span style="display:inline-block;width:200px;height:8px;background:#ddd">' +
    `<span style="display:inline-block;width:${pct * 2}px;height:8px;background:#4a7"></span></span> ${pct}%</div>`
  );
}
