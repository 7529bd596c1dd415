/**
 * A small pool of decoding workers (one per core). Requests go to the least busy worker; results come back in
 * whatever order they finish, matched by id.
 */
import { Worker } from 'node:worker_threads';
import type { Preprocessing } from './models.js';
import type { PrepareRequest, PrepareResponse } from './prepare-worker.js';

export class PreparePool {
  private readonly workers: Worker[];
  private readonly busy: number[];
  private readonly waiting = new Map<number, { resolve: (r: PrepareResponse) => void; worker: number }>();
  private next = 0;

  constructor(size: number) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => new Worker(new URL('./prepare-worker.js', import.meta.url)));
    this.busy = this.workers.map(() => 0);
    this.workers.forEach((w, i) => {
      w.on('message', (res: PrepareResponse) => {
        const entry = this.waiting.get(res.id);
        if (!entry) return;
        this.waiting.delete(res.id);
        this.busy[i] = (this.busy[i] as number) - 1;
        entry.resolve(res);
      });
      w.on('error', (err) => {
        // a crashed worker fails its pending requests; the caller records them and goes on
        for (const [id, entry] of this.waiting) {
          if (entry.worker === i) {
            this.waiting.delete(id);
            entry.resolve({ id, ok: false, message: `decoding worker failed: ${err.message}` });
          }
        }
      });
    });
  }

  /** Decodes a preview file into its descriptor and (with preprocessing) the model tensor, or an augmented view's tensor. */
  prepare(file: string, preprocessing: Preprocessing | null, view?: PrepareRequest['view']): Promise<PrepareResponse> {
    const id = this.next++;
    let worker = 0;
    for (let i = 1; i < this.workers.length; i++) if ((this.busy[i] as number) < (this.busy[worker] as number)) worker = i;
    this.busy[worker] = (this.busy[worker] as number) + 1;
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve, worker });
      this.workers[worker]?.postMessage({ id, file, preprocessing, view } satisfies PrepareRequest);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
