/**
 * The CLI's progress display: one bar per stage on stderr, so stdout stays clean for results.
 */
import cliProgress from 'cli-progress';
import type { OnProgress } from '../util/progress.js';

/** A progress callback that draws a bar per stage; call `stop()` when the job ends. */
export function progressBar(): OnProgress & { stop: () => void } {
  let bar: cliProgress.SingleBar | null = null;
  let stage = '';
  const quiet = !process.stderr.isTTY && process.env.FLUX_PROGRESS !== '1';
  const stop = (): void => {
    bar?.stop();
    bar = null;
  };
  const fn = ((event) => {
    if (quiet) {
      // no terminal: one line per stage start and end
      if (event.stage !== stage || event.done >= event.total) {
        if (event.stage !== stage || event.done === event.total)
          process.stderr.write(`${event.stage}: ${event.done}/${event.total}\n`);
        stage = event.stage;
      }
      return;
    }
    if (event.stage !== stage) {
      stop();
      stage = event.stage;
      bar = new cliProgress.SingleBar(
        {
          format: `${event.stage.padEnd(10)} [{bar}] {percentage}% {value}/{total} eta {eta_formatted} {detail}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(event.total, event.done, { detail: '' });
    }
    bar?.setTotal(event.total);
    bar?.update(event.done, { detail: (event.detail ?? '').slice(-40) });
  }) as OnProgress & { stop: () => void };
  fn.stop = stop;
  return fn;
}
