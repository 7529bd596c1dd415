/**
 * The curator's Monte Carlo k-means on every core: the iterations are dealt to one thread per core, each with a
 * single-threaded matrix product, so one thread's bookkeeping runs while another multiplies (a k-means run spends
 * a good part of its time outside the products, where a single thread leaves the other cores idle). The matrix is
 * shared, not copied per thread; the picks are the same as in one thread.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { OnProgress } from '../util/progress.js';
import type { VectorMatrix } from '../util/vectors.js';
import type { KMeansReply, KMeansWorkerData } from './kmeans-worker.js';

/** Threads worth starting for these runs: none (0) when there is one core, one run, or a small matrix. */
export function kmeansThreads(m: VectorMatrix, iterations: number): number {
  const cores = availableParallelism();
  return cores < 2 || iterations < 2 || m.rows * m.dim < 1_000_000 ? 0 : Math.min(cores, iterations);
}

/** Runs iterations 0..n-1 in `threads` threads; returns each iteration's representatives (row numbers), in order. */
export async function kmeansInThreads(
  m: VectorMatrix,
  target: number,
  iterations: number,
  seed: number,
  threads: number,
  onProgress?: OnProgress,
): Promise<number[][]> {
  const shared = new Float32Array(new SharedArrayBuffer(m.data.length * 4));
  shared.set(m.data);
  const runs: number[][] = new Array(iterations);
  let done = 0;
  const workers: Worker[] = [];
  const one = (t: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const data: KMeansWorkerData = {
        data: shared,
        rows: m.rows,
        dim: m.dim,
        target,
        seed,
        iterations: Array.from({ length: iterations }, (_, i) => i).filter((i) => i % threads === t),
      };
      const worker = new Worker(new URL('./kmeans-worker.js', import.meta.url), { workerData: data });
      workers.push(worker);
      worker.on('message', (reply: KMeansReply) => {
        if ('error' in reply) {
          reject(new Error(`k-means thread failed: ${reply.error}`));
          return;
        }
        runs[reply.iteration] = reply.representatives;
        onProgress?.({ stage: 'curate', done: ++done, total: iterations });
      });
      worker.on('error', reject);
      worker.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`k-means thread exited with code ${code}`)),
      );
    });
  try {
    await Promise.all(Array.from({ length: threads }, (_, t) => one(t)));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return runs;
}
