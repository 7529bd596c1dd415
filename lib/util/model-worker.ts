/**
 * Both ends of a worker thread that holds one model. In the worker, `serveInOrder`: requests are answered one at a
 * time in the order they came, a failed request answers with its error's first line (the worker lives on), and
 * `close` releases the model after whatever is in progress, never in the middle of it. In the main thread,
 * `ModelWorker`: each request a promise of its answer; when the worker fails or exits, every request in hand and
 * every later one is refused with why.
 */
import { parentPort, Worker } from 'node:worker_threads';

/** A request's answer: its id and either the result's fields or the message of what failed. */
export type WorkerAnswer<T> = ({ id: number; ok: true } & T) | { id: number; ok: false; message: string };

/** The worker's side: answers each request with `handle`, in order; on `close`, `release` and exit. */
export function serveInOrder<Req extends { id: number }, T extends object>(
  handle: (req: Req) => Promise<T>,
  release: () => Promise<void>,
  transfer: (result: T) => ArrayBuffer[] = () => [],
): void {
  let chain: Promise<void> = Promise.resolve();
  parentPort?.on('message', (req: Req | { close: true }) => {
    if ('close' in req) {
      chain = chain.then(async () => {
        await release();
        parentPort?.close();
      });
      return;
    }
    chain = chain.then(async () => {
      try {
        const result = await handle(req);
        parentPort?.postMessage({ id: req.id, ok: true, ...result } as WorkerAnswer<T>, transfer(result));
      } catch (err) {
        const message = (err as Error).message.split('\n')[0] || 'the worker failed';
        parentPort?.postMessage({ id: req.id, ok: false, message } as WorkerAnswer<T>);
      }
    });
  });
}

/** The main thread's side: a worker started from `url` with `workerData`; `label` names it in failures. */
export class ModelWorker<Req extends { id: number }, T extends object> {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (r: T) => void; reject: (e: Error) => void }>();
  private next = 0;
  /** Why the worker cannot answer any more, or null. */
  private failed: string | null = null;
  private exited = false;

  constructor(url: URL, workerData: unknown, label: string) {
    this.worker = new Worker(url, { workerData });
    this.worker.on('message', (res: WorkerAnswer<T>) => {
      const entry = this.waiting.get(res.id);
      if (!entry) return;
      this.waiting.delete(res.id);
      if (res.ok) entry.resolve(res);
      else entry.reject(new Error(res.message));
    });
    const fail = (message: string): void => {
      this.failed ??= message;
      for (const [id, entry] of this.waiting) {
        this.waiting.delete(id);
        entry.reject(new Error(message));
      }
    };
    this.worker.on('error', (err) => fail(`${label} failed: ${err.message}`));
    this.worker.on('exit', (code) => {
      this.exited = true;
      fail(`${label} exited (code ${code})`);
    });
  }

  /** Requests not yet answered. */
  get inHand(): number {
    return this.waiting.size;
  }

  /** Sends one request (its id given here); its answer, or the worker's failure. */
  request(body: Omit<Req, 'id'>): Promise<T> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(new Error(this.failed));
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id });
    });
  }

  /** Lets the worker finish what it holds and release its model, then waits for it to exit. */
  async close(): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ close: true });
    });
  }
}
