/**
 * Worker threads of the embedder: a pool of decoding workers (one per core; each image goes to the worker with the
 * fewest in flight, results come back matched by id) and the image model in a thread of its own, so the main thread
 * only hands out work and writes results.
 */
import { Worker } from 'node:worker_threads';
import type { ModelSpec, Preprocessing } from './models.js';
import type { InferenceRequest, InferenceResult, InferenceSetup } from './inference-worker.js';
import { ModelWorker } from '../util/model-worker.js';
import type { Provider } from '../onnx/runtime.js';
import type { PrepareRequest, PrepareResponse } from './prepare-worker.js';

export class PreparePool {
  private readonly workers: Worker[];
  /** Images each worker has been handed and not yet returned. */
  private readonly inFlight: number[];
  private readonly pending: Array<{ id: number; request: PrepareRequest }> = [];
  private readonly waiting = new Map<number, { resolve: (r: PrepareResponse) => void; worker: number }>();
  private next = 0;
  /** Most images in flight per worker (the embedder's prefetch bounds the total anyway). */
  private static readonly DEPTH = 32;

  constructor(size: number) {
    const script = new URL('./prepare-worker.js', import.meta.url);
    this.workers = Array.from({ length: Math.max(1, size) }, () => new Worker(script));
    this.inFlight = this.workers.map(() => 0);
    this.workers.forEach((w, i) => {
      w.on('message', (res: PrepareResponse) => {
        const entry = this.waiting.get(res.id);
        if (!entry) return;
        this.waiting.delete(res.id);
        this.inFlight[i] = (this.inFlight[i] as number) - 1;
        entry.resolve(res);
        this.pump();
      });
      w.on('error', (err) => {
        // a crashed worker fails its pending requests; the caller records them and goes on
        for (const [id, entry] of this.waiting) {
          if (entry.worker === i) {
            this.waiting.delete(id);
            entry.resolve({ id, ok: false, message: `decoding worker failed: ${err.message}` });
          }
        }
        this.inFlight[i] = Number.POSITIVE_INFINITY;
        this.pump();
      });
    });
  }

  /** Hands queued images to workers that have room: work goes to whoever is free, never queued behind a busy one. */
  private pump(): void {
    // every worker gone: what waits fails (recorded by the caller) rather than waiting forever
    if (this.inFlight.every((n) => n === Number.POSITIVE_INFINITY)) {
      for (const job of this.pending.splice(0)) {
        const entry = this.waiting.get(job.id);
        this.waiting.delete(job.id);
        entry?.resolve({ id: job.id, ok: false, message: 'no decoding worker is left' });
      }
      return;
    }
    for (;;) {
      if (this.pending.length === 0) return;
      let best = -1;
      for (let i = 0; i < this.workers.length; i++) {
        if ((this.inFlight[i] as number) >= PreparePool.DEPTH) continue;
        if (best < 0 || (this.inFlight[i] as number) < (this.inFlight[best] as number)) best = i;
      }
      if (best < 0) return;
      const job = this.pending.shift() as { id: number; request: PrepareRequest };
      (this.waiting.get(job.id) as { worker: number }).worker = best;
      this.inFlight[best] = (this.inFlight[best] as number) + 1;
      this.workers[best]?.postMessage(job.request);
    }
  }

  /**
   * Decodes a preview file into its descriptor and (with preprocessing) the model tensor, or an augmented view's
   * tensor.
   */
  prepare(
    file: string,
    preprocessing: Preprocessing | null,
    view?: PrepareRequest['view'],
    target?: PrepareRequest['target'],
  ): Promise<PrepareResponse> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve, worker: -1 });
      this.pending.push({ id, request: { id, file, preprocessing, view, target } });
      this.pump();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The image model in a worker thread (see inference-worker.ts). */
export class InferenceWorker {
  private readonly worker: ModelWorker<InferenceRequest, InferenceResult>;

  /** `provider` is the one the main thread's check chose: the worker loads the model on it, without choosing again. */
  constructor(spec: ModelSpec, path: string, provider: Provider) {
    const workerData: InferenceSetup = { spec, path, provider };
    this.worker = new ModelWorker(new URL('./inference-worker.js', import.meta.url), workerData, 'inference worker');
  }

  /** Runs `n` images (NCHW floats) from a shared batch buffer, which the worker copies before it resolves. */
  async run(tensor: Float32Array, n: number): Promise<InferenceResult> {
    const { embedding, logits } = await this.worker.request({ tensor, n });
    return { embedding, logits };
  }

  /** Lets the worker finish what it is doing and release the model, then waits for it to exit. */
  close(): Promise<void> {
    return this.worker.close();
  }
}
