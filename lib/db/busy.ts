/**
 * DuckDB lets one process at a time open a database file for writing. The review portal (`flux serve`) keeps the
 * file open only during a review session and leaves a note beside it (`<db>.portal.json`: its pid and URL), so a
 * flux command or a notebook that meets the portal asks it to let go, waits a moment and goes on; one that meets
 * another process stops at once with a message naming it instead of DuckDB's raw lock error.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { FluxError } from '../util/check.js';

/** A database another process holds. */
export class DbBusyError extends FluxError {
  constructor(
    message: string,
    readonly pid: number | null,
  ) {
    super(message);
    this.name = 'DbBusyError';
  }
}

/** The portal's note beside a database file. */
export const portalNoteFile = (dbFile: string): string => `${dbFile}.portal.json`;

export interface PortalNote {
  pid: number;
  url: string;
  started: string;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The portal serving a database, when one is running (a note left by a killed portal is ignored). */
export function runningPortal(dbFile: string): PortalNote | null {
  const file = portalNoteFile(dbFile);
  if (!existsSync(file)) return null;
  try {
    const note = JSON.parse(readFileSync(file, 'utf8')) as PortalNote;
    return Number.isInteger(note.pid) && alive(note.pid) ? note : null;
  } catch {
    return null;
  }
}

/** Leaves the portal's note beside the database. */
export function writePortalNote(dbFile: string, url: string): void {
  const note: PortalNote = { pid: process.pid, url, started: new Date().toISOString() };
  writeFileSync(portalNoteFile(dbFile), `${JSON.stringify(note)}\n`);
}

/** Removes the portal's note when it is this process's. */
export function removePortalNote(dbFile: string): void {
  const note = runningPortal(dbFile);
  if (note?.pid === process.pid) rmSync(portalNoteFile(dbFile), { force: true });
}

/** Whether an error is DuckDB's "another process holds this file" error. */
export const isLockError = (err: unknown): boolean =>
  /Could not set lock on file/i.test(String((err as Error)?.message ?? err));

/** The process DuckDB names as the holder of the lock, or NaN. */
const holderPid = (err: unknown): number =>
  Number(/\(PID (\d+)\)/.exec(String((err as Error)?.message ?? err))?.[1] ?? NaN);

/** The one-line message for a database another process holds. */
export function busyMessage(path: string, err: unknown): DbBusyError {
  const pid = holderPid(err);
  const portal = runningPortal(path);
  if (portal && (portal.pid === pid || Number.isNaN(pid))) {
    return new DbBusyError(
      `--db: ${path} is in use by the review portal (flux serve, pid ${portal.pid}, ${portal.url}) and stayed busy; ` +
        'try again in a moment, or stop the portal (Ctrl-C in its terminal) while this command runs',
      portal.pid,
    );
  }
  const who = Number.isNaN(pid) ? 'another process' : `another process (pid ${pid})`;
  return new DbBusyError(
    `--db: ${path} is open in ${who}: another flux command or a notebook is writing it; ` +
      'wait for it to finish (or close the notebook) and run this again',
    Number.isNaN(pid) ? null : pid,
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Asks the portal that holds a database to close it now (it keeps it open between the requests of a review
 * session): only when DuckDB names the portal's own process as the holder, so no other process is ever signalled.
 */
function askPortal(path: string, err: unknown): void {
  const holder = holderPid(err);
  const portal = runningPortal(path);
  if (!portal || portal.pid !== holder || portal.pid === process.pid) return;
  try {
    process.kill(portal.pid, 'SIGUSR2');
  } catch {
    // gone meanwhile: the next try opens the file
  }
}

/**
 * Opens a database with `open`, turning DuckDB's lock error into a DbBusyError. While a portal serves this file,
 * it is asked to let go and the open is retried for up to `waitMs` (default 5 s); another holder fails at once.
 */
export async function openWhenFree<T>(path: string, open: () => Promise<T>, waitMs?: number): Promise<T> {
  const started = Date.now();
  let asked = 0;
  for (;;) {
    try {
      return await open();
    } catch (err) {
      if (!isLockError(err)) throw err;
      // only the portal lets go on request: any other holder is said at once
      const portal = runningPortal(path);
      const byPortal = portal !== null && portal.pid !== process.pid && portal.pid === holderPid(err);
      if (Date.now() - started >= (waitMs ?? (byPortal ? 5000 : 0))) throw busyMessage(path, err);
      if (byPortal && Date.now() - asked > 500) {
        askPortal(path, err);
        asked = Date.now();
      }
      await sleep(20);
    }
  }
}
