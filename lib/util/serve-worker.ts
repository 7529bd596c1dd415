/**
 * The message loop of a worker thread that holds one model: requests are answered one at a time in the order they
 * came, a failed request answers with its error's first line (the worker lives on), and `close` releases the model
 * after whatever is in progress, never in the middle of it.
 */
import { parentPort } from 'node:worker_threads';

/** A request's answer: its id and either the result's fields or the message of what failed. */
export type WorkerAnswer<T> = ({ id: number; ok: true } & T) | { id: number; ok: false; message: string };

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
