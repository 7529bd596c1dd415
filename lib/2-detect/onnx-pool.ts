/**
 * ONNX Runtime detectors in worker threads, one session of one thread each: a photo goes to the worker with the
 * fewest in hand, so `flux detect` keeps as many cores busy as it has workers (two processes of one thread cost less
 * CPU a photo than one of two threads; bench/detect.ts).
 */
import { Worker } from 'node:worker_threads';
import type { DetectorName } from './models.js';
import { onnxBytes } from './onnx-run.js';
import type { DetectRequest, DetectResponse, DetectSetup } from './onnx-worker.js';
import type { Found, Rgb } from './run.js';

interface Slot {
  worker: Worker;
  waiting: Map<number, { resolve: (f: Found[]) => void; reject: (e: Error) => void }>;
  failed: string | null;
  exited: boolean;
}

export class OnnxPool {
  private readonly slots: Slot[] = [];
  private next = 0;

  /** Starts `workers` threads for a detector (its ONNX file is made here first, so the workers only read it). */
  constructor(
    readonly name: DetectorName,
    dir: string,
    readonly workers: number,
  ) {
    onnxBytes(name, dir);
    for (let i = 0; i < workers; i++) {
      const workerData: DetectSetup = { name, dir };
      const worker = new Worker(new URL('./onnx-worker.js', import.meta.url), { workerData });
      const slot: Slot = { worker, waiting: new Map(), failed: null, exited: false };
      worker.on('message', (res: DetectResponse) => {
        const entry = slot.waiting.get(res.id);
        if (!entry) return;
        slot.waiting.delete(res.id);
        if (res.ok) entry.resolve(res.found);
        else entry.reject(new Error(res.message));
      });
      const fail = (message: string): void => {
        slot.failed ??= message;
        for (const [id, entry] of slot.waiting) {
          slot.waiting.delete(id);
          entry.reject(new Error(message));
        }
      };
      worker.on('error', (err) => fail(`detection worker failed: ${err.message}`));
      worker.on('exit', (code) => {
        slot.exited = true;
        fail(`detection worker exited (code ${code})`);
      });
      this.slots.push(slot);
    }
  }

  /** What the detector finds in one image, from the least busy worker. */
  detect(img: Rgb): Promise<Found[]> {
    const slot = this.slots.reduce((a, b) => (b.waiting.size < a.waiting.size ? b : a));
    const id = this.next++;
    return new Promise((resolve, reject) => {
      if (slot.failed) return reject(new Error(slot.failed));
      slot.waiting.set(id, { resolve, reject });
      slot.worker.postMessage({ id, img } satisfies DetectRequest);
    });
  }

  /** Lets the workers finish what they hold and release their sessions, then waits for them to exit. */
  async close(): Promise<void> {
    await Promise.all(
      this.slots
        .filter((s) => !s.exited)
        .map(
          (s) =>
            new Promise<void>((resolve) => {
              s.worker.once('exit', () => resolve());
              s.worker.postMessage({ close: true });
            }),
        ),
    );
  }
}
