/**
 * A thread of the curator's k-means: runs the Monte Carlo iterations it is given on the shared matrix with a
 * single-threaded matrix product, and posts each run's representatives (row numbers) back. Iteration i draws from
 * `new Rng(seed).fork('kmeans:i')`, as in the main thread, so the picks do not depend on which thread ran it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MatMul } from '../onnx/matmul.js';
import { Rng } from '../util/rng.js';
import { kmeansRun } from './algorithms.js';

/** What a k-means thread is given. */
export interface KMeansWorkerData {
  /** Row-major unit rows in a SharedArrayBuffer. */
  data: Float32Array;
  rows: number;
  dim: number;
  target: number;
  seed: number;
  iterations: number[];
}

/** One finished iteration, or why the thread failed. */
export type KMeansReply = { iteration: number; representatives: number[] } | { error: string };

const job = workerData as KMeansWorkerData;
const mm = await MatMul.create(1, 'cpu');
try {
  const m = { data: job.data, rows: job.rows, dim: job.dim };
  const rng = new Rng(job.seed);
  for (const iteration of job.iterations) {
    const r = await kmeansRun(m, job.target, rng.fork(`kmeans:${iteration}`), mm);
    parentPort?.postMessage({ iteration, representatives: r.representatives } satisfies KMeansReply);
  }
} catch (err) {
  parentPort?.postMessage({ error: (err as Error).stack ?? String(err) } satisfies KMeansReply);
} finally {
  await mm.close();
}
