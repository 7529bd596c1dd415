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
export * from './embed/models.js';
export * from './embed/preprocess.js';
export * from './embed/onnx.js';
export * from './embed/store.js';
export * from './embed/embed.js';
export * from './embed/descriptor.js';
export * from './embed/fetch.js';
export * from './match/match.js';
export * from './match/vectors.js';
export * from './match/review.js';
export * from './analysis/matching.js';
export * from './dataset/split.js';
export * from './embed/augment.js';
export * from './curate/algorithms.js';
export * from './curate/curate.js';
export * from './curate/matmul.js';
export * from './analysis/umap.js';
export * from './analysis/sessions.js';
