/**
 * The FLUX keeper workbench library: what the CLI and the notebooks call.
 */
export * from './util/check.js';
export * from './util/rng.js';
export * from './util/progress.js';
export * from './util/fsutil.js';
export * from './db/duckdb.js';
export * from './db/schema.js';
export * from './ingest/names.js';
export * from './ingest/exif.js';
export * from './ingest/image.js';
export * from './ingest/ingest.js';
export * from './sample/render.js';
export * from './sample/generate.js';
export * from './sample/metadata.js';
export * from './workspace.js';
export * from './plot/html.js';
export * from './analysis/corpus.js';
