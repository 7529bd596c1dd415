/**
 * The CLI's progress display: one bar per stage on stderr, so stdout stays clean for results.
 */
import cliProgress from 'cli-progress';
import type { OnProgress } from '../util/progress.js';
import { printable } from '../util/text.js';

/** Without a terminal, a line at least this often while a stage runs. */
const QUIET_EVERY_MS = 60_000;

/**
 * A progress callback that draws a bar per stage; call `stop()` when the job ends. Without a terminal (or with
 * `quiet`) it writes lines instead, one at least every `everyMs` while a stage runs, timed by `now` (milliseconds).
 */
export function progressBar(
  options: { quiet?: boolean; everyMs?: number; now?: () => number } = {},
): OnProgress & { stop: () => void } {
  let bar: cliProgress.SingleBar | null = null;
  let stage = '';
  const quiet = options.quiet ?? (!process.stderr.isTTY && process.env.FLUX_PROGRESS !== '1');
  const every = options.everyMs ?? QUIET_EVERY_MS;
  const clock = options.now ?? ((): number => performance.now());
  const stop = (): void => {
    bar?.stop();
    bar = null;
  };
  let said = 0;
  const fn = ((event) => {
    if (quiet) {
      // no terminal (a log file, nohup): one line per stage start and end, and one a minute in between, so a long
      // stage shows it is moving
      const now = clock();
      const changed = event.stage !== stage;
      const due = !changed && now - said >= every && event.done < event.total;
      if (changed || event.done === event.total || due) {
        const pct = due && event.total > 0 ? ` (${((100 * event.done) / event.total).toFixed(0)}%)` : '';
        process.stderr.write(`${event.stage}: ${event.done}/${event.total}${pct}\n`);
        said = now;
      }
      stage = event.stage;
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
    bar?.update(event.done, { detail: printable(event.detail ?? '').slice(-40) });
  }) as OnProgress & { stop: () => void };
  fn.stop = stop;
  return fn;
}
