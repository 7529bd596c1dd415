/**
 * ONNX Runtime detectors in worker threads, one session of one thread each: a photo goes to the worker with the
 * fewest in hand, so `flux detect` keeps as many cores busy as it has workers (two processes of one thread cost less
 * CPU a photo than one of two threads; bench/detect.ts).
 */
import { ModelWorker } from '../util/model-worker.js';
import type { DetectorName } from './models.js';
import { onnxBytes } from './onnx-run.js';
import type { DetectRequest, DetectSetup } from './onnx-worker.js';
import type { Found, Rgb } from './run.js';

export class OnnxPool {
  private readonly slots: Array<ModelWorker<DetectRequest, { found: Found[] }>> = [];

  /** Starts `workers` threads for a detector (its ONNX file is made here first, so the workers only read it). */
  constructor(
    readonly name: DetectorName,
    dir: string,
    readonly workers: number,
  ) {
    onnxBytes(name, dir);
    const workerData: DetectSetup = { name, dir };
    for (let i = 0; i < workers; i++)
      this.slots.push(new ModelWorker(new URL('./onnx-worker.js', import.meta.url), workerData, 'detection worker'));
  }

  /** What the detector finds in one image, from the least busy worker. */
  async detect(img: Rgb): Promise<Found[]> {
    const slot = this.slots.reduce((a, b) => (b.inHand < a.inHand ? b : a));
    return (await slot.request({ img })).found;
  }

  /** Lets the workers finish what they hold and release their sessions, then waits for them to exit. */
  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.close()));
  }
}
